"""The facade's mesh calls: version activation, quorum messages, roll calls, throttles
(mixed into :class:`hotmesh.HotMesh`; the work is done by :mod:`hotmesh.mesh.quorum`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotmesh.engine.runtime import Engine
from hotmesh.errors import ConfigError
from hotmesh.mesh.quorum import Quorum, QuorumCallback, QuorumProfile

__all__ = ["MeshCalls"]


class MeshCalls:
    """The quorum's calls; needs ``_quorum``, ``_stopped``, ``app_id`` and ``_require_engine()``."""

    app_id: str
    _quorum: Quorum | None
    _stopped: bool

    def _require_engine(self) -> Engine:
        raise NotImplementedError

    async def activate(self, version: str, *, timeout: float = 10.0) -> bool:
        """Make ``version`` the active one for every engine of every process of the app.

        Two phases over the quorum (see :mod:`hotmesh.mesh.quorum`): every engine found by a
        roll call stops claiming, finishes its in-flight messages and confirms; then the
        store switches and every engine re-reads the version and resumes. No message is
        processed while the mesh is half-switched; jobs in flight continue on the new
        version (jobs are not pinned to versions).

        Example:
            >>> await hm.deploy(yaml_v2)  # doctest: +SKIP
            >>> await hm.activate("2", timeout=5)  # doctest: +SKIP
            True

        Raises:
            ConfigError: the version was never deployed.
            ActivationError: an engine did not confirm within ``timeout`` seconds; its guid
                is in the message and in ``value``. The previous version stays active.
        """
        self._require_engine()
        if timeout <= 0:
            raise ConfigError("timeout must be > 0 seconds", value=timeout)
        await self._require_quorum().activate(str(version), timeout)
        return True

    def _require_quorum(self) -> Quorum:
        if self._quorum is None or self._stopped:
            raise ConfigError("this HotMesh is stopped", value=self.app_id)
        return self._quorum

    async def pub_quorum(self, message: Mapping[str, Any]) -> bool:
        """Broadcast ``message`` to every member's quorum callbacks (or to one: ``guid``).

        The message gets ``type: "user"`` unless it names a type.

        Example:
            >>> await hm.pub_quorum({"greeting": "hello"})  # doctest: +SKIP
            True
        """
        await self._require_quorum().pub(message)
        return True

    async def sub_quorum(self, callback: QuorumCallback) -> None:
        """Call ``callback(topic, message)`` for every quorum message this member receives:
        user messages and system ones (roll calls, throttles, activations).

        Example:
            >>> await hm.sub_quorum(lambda topic, msg: print(msg["type"]))  # doctest: +SKIP
        """
        self._require_quorum().sub(callback)

    async def unsub_quorum(self, callback: QuorumCallback) -> None:
        """Stop a ``sub_quorum`` callback (idempotent)."""
        if self._quorum is not None:
            self._quorum.unsub(callback)

    async def roll_call(self, delay: float | None = None) -> list[QuorumProfile]:
        """The profiles of every live engine and worker of the app, in every process.

        ``delay`` is how long (seconds) to collect answers; by default the call returns
        once answers stop arriving for 0.1 s (at most 2 s). Each profile has the role,
        guid, worker topic, message counts, errors, stream depth, throttle and host stats.

        Example:
            >>> for profile in await hm.roll_call():  # doctest: +SKIP
            ...     print(profile)
            QuorumProfile(engine v1 guid=H... pid=4242 ... throttle=0)
            QuorumProfile(worker 'order.process' guid=H... pid=4242 ... throttle=0)
        """
        return await self._require_quorum().roll_call(delay)

    async def throttle(
        self, delay: float, guid: str | None = None, topic: str | None = None
    ) -> bool:
        """Slow down, pause or resume consumption across the mesh.

        ``delay`` is seconds between messages: 0 full speed, -1 pause until told
        otherwise. Scope: every router of every process (default), the engine and
        workers of one member (``guid``), or the workers of one ``topic`` (both: that
        member's workers of that topic). The setting is persisted, so routers that start
        later apply it too.

        Example:
            >>> await hm.throttle(-1)  # doctest: +SKIP
            >>> await hm.throttle(0.5, topic="order.process")  # doctest: +SKIP
            >>> await hm.throttle(0)  # doctest: +SKIP

        Raises:
            ConfigError: ``delay`` is negative (other than -1) or not a number.
        """
        await self._require_quorum().throttle(delay, guid, topic)
        return True
