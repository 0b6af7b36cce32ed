"""The quorum: how the processes of one app talk to each other through the ``Sub`` provider.

Every :class:`~hotmesh.HotMesh` instance (one *member*, identified by its guid; its engine
and workers share it) subscribes to two topics:

* ``$q``: the whole app (roll calls, throttles, version activation, user broadcasts);
* ``$q.<guid>``: this member only (roll-call answers, activation confirmations, messages
  sent to one member).

Messages are JSON objects with a ``type``:

========== ============================================ =====================================
type       fields                                       effect
========== ============================================ =====================================
rollcall   id, originator                               every member answers with a ``pong``
pong       id, guid, profiles                           (to the originator) its profiles
throttle   delay, guid?, topic?, at                     routers in scope apply ``delay``
activate   phase (prepare|commit|abort), id, version,   the version switch (below)
           originator, hold, drain
ack        phase (prepared|committed), id, guid, ok     (to the originator) a confirmation
user       anything                                     only user callbacks (``sub_quorum``)
========== ============================================ =====================================

Every message a member receives also goes to its user callbacks (``sub_quorum``).

**Throttle.** A throttle is persisted (store settings ``throttle:*``, ``throttle:g:<guid>``,
``throttle:t:<topic>``, ``throttle:g:<guid>:t:<topic>``, each ``{"delay", "at"}``) before
it is broadcast, so routers that start later apply it too: a starting router applies the
most recent setting among the scopes that include it. A router applies a message only when
it is newer (``at``) than the last throttle it applied.

**Activation** (two phases, all engines of every process):

1. The activator roll-calls the engines, then broadcasts ``prepare``. Each engine holds its
   router (claims nothing new), waits for its in-flight engine messages to finish, closes
   its version gate (``pub`` waits) and confirms ``prepared``. Nothing is processed with
   either version while the mesh is held, so no job runs on a half-switched mesh.
2. When every engine confirmed within ``timeout``, the activator switches the active
   version in the store and broadcasts ``commit``: each engine forgets its cached version
   (re-reads the store), releases its router and gate, and confirms ``committed``.
   Otherwise it broadcasts ``abort`` (every engine releases and keeps the old version) and
   raises :class:`~hotmesh.errors.ActivationError` naming the engines that did not confirm.

A held engine that hears neither ``commit`` nor ``abort`` (its activator died) releases
itself after ``hold`` seconds and re-reads the active version from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import psutil
from attrs import define, field

from hotmesh.engine.messages import ENGINE_STREAM
from hotmesh.errors import ActivationError, ConfigError
from hotmesh.mesh.member import Member
from hotmesh.mesh.profile import QuorumProfile, host_stats, router_stats, stamp
from hotmesh.mesh.router import Router
from hotmesh.spi import Subscription

__all__ = [
    "QUORUM",
    "Quorum",
    "QuorumCallback",
    "QuorumProfile",
    "host_stats",
    "member_topic",
]

log = logging.getLogger(__name__)

#: The app-wide quorum topic.
QUORUM = "$q"
#: A roll call without ``delay`` returns once no answer came for this long...
ROLL_CALL_QUIET = 0.1
#: ...or after this long at most.
ROLL_CALL_MAX = 2.0
#: Activation ids remembered as finished (late messages about them are ignored).
_FINISHED_KEEP = 256

QuorumCallback = Callable[[str, dict[str, Any]], Awaitable[None] | None]
"""A ``sub_quorum`` callback: called with ``(topic, message)`` for each quorum message."""


def member_topic(guid: str) -> str:
    """The quorum topic of one member (a HotMesh instance and its workers)."""
    return f"{QUORUM}.{guid}"


@define
class _Call:
    """A roll call or activation phase waiting for answers."""

    answers: dict[str, Any] = field(factory=dict)
    arrived: asyncio.Event = field(factory=asyncio.Event)


class Quorum:
    """The quorum role of one member (created and driven by :class:`~hotmesh.HotMesh`).

    It sees its member only through the narrow :class:`~hotmesh.mesh.member.Member`.
    """

    def __init__(self, member: Member) -> None:
        self._member = member
        self.guid = member.guid
        self._subs: list[Subscription] = []
        self._callbacks: list[QuorumCallback] = []
        self._calls: dict[str, _Call] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._throttle_at: dict[int, float] = {}
        self._holds: dict[str, asyncio.Task[None]] = {}
        self._finished: OrderedDict[str, bool] = OrderedDict()
        self._inited = stamp()
        self._closed = False
        psutil.cpu_percent(interval=None)  # prime: the first reading is meaningless

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Join: subscribe, then apply the persisted throttles to routers not yet started."""
        sub = self._member.connection().sub
        self._subs.append(await sub.subscribe(QUORUM, self._on_message))
        self._subs.append(await sub.subscribe(member_topic(self.guid), self._on_message))
        await self._apply_persisted_throttles()

    async def close(self) -> None:
        """Leave: unsubscribe, release holds, cancel running quorum tasks."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            sub = self._member.connection().sub
            for handle in self._subs:
                await sub.unsubscribe(handle)
        self._subs.clear()
        for aid in list(self._holds):
            self._release(aid, forget=False)
        for call in self._calls.values():
            call.arrived.set()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("quorum task %s failed", task.get_name(), exc_info=task.exception())

    async def _publish(self, topic: str, message: dict[str, Any]) -> None:
        await self._member.connection().sub.publish(topic, message)

    # -- user messages --------------------------------------------------------------------

    async def pub(self, message: Mapping[str, Any]) -> None:
        """Broadcast ``message`` (to one member when it has a ``guid``)."""
        if not isinstance(message, Mapping):
            raise ConfigError("a quorum message must be a mapping", value=type(message).__name__)
        body = {"type": "user", **dict(message)}
        target = body.get("guid")
        await self._publish(member_topic(str(target)) if target else QUORUM, body)

    def sub(self, callback: QuorumCallback) -> None:
        """Call ``callback(topic, message)`` for every quorum message this member receives."""
        if not callable(callback):
            raise ConfigError("a quorum callback must be callable", value=repr(callback))
        self._callbacks.append(callback)

    def unsub(self, callback: QuorumCallback) -> None:
        """Stop a ``sub`` (idempotent)."""
        self._callbacks = [c for c in self._callbacks if c is not callback]

    # -- dispatch -------------------------------------------------------------------------

    def _on_message(self, topic: str, message: dict[str, Any]) -> None:
        if self._closed or not isinstance(message, dict):
            return
        kind = message.get("type")
        try:
            if kind == "rollcall":
                self._spawn(self._answer_roll_call(message), "quorum-pong")
            elif kind in ("pong", "ack"):
                self._collect(message)
            elif kind == "throttle":
                self._on_throttle(message)
            elif kind == "activate":
                self._on_activate(message)
        except Exception:
            log.exception("bad quorum message", extra={"type": kind})
        for callback in list(self._callbacks):
            try:
                result = callback(topic, message)
                if result is not None:
                    self._spawn(result, "quorum-user-callback")
            except Exception:
                log.exception("quorum callback failed", extra={"type": kind})

    def _collect(self, message: dict[str, Any]) -> None:
        call = self._calls.get(str(message.get("id")))
        if call is not None:
            call.answers[str(message.get("guid"))] = message
            call.arrived.set()

    async def _gather(
        self, call: _Call, *, until: Callable[[], bool] | None, quiet: float, limit: float
    ) -> None:
        """Wait for answers: until ``until()`` holds, or ``quiet`` s pass without one (after
        the first), or ``limit`` s in all."""
        deadline = time.monotonic() + limit
        while not self._closed:
            if until is not None and until():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            wait = remaining if (until is not None or not call.answers) else quiet
            call.arrived.clear()
            try:
                await asyncio.wait_for(call.arrived.wait(), min(wait, remaining))
            except TimeoutError:
                if until is None and call.answers:
                    return

    # -- roll call ------------------------------------------------------------------------

    def profiles(self) -> list[QuorumProfile]:
        """This member's profiles: its engine (if any) and each worker."""
        member = self._member
        common: dict[str, Any] = {
            "guid": self.guid,
            "app_id": member.app_id,
            "namespace": member.namespace,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "inited": self._inited,
            "timestamp": stamp(),
            "system": host_stats(),
        }
        out: list[QuorumProfile] = []
        if member.engine is not None:
            out.append(
                QuorumProfile(
                    role="engine",
                    stream=ENGINE_STREAM,
                    version=member.engine.cached_version,
                    readonly=member.engine_router is None,
                    **router_stats(member.engine_router),
                    **common,
                )
            )
        for worker in member.workers:
            out.append(
                QuorumProfile(
                    role="worker",
                    stream=worker.config.topic,
                    worker_topic=worker.config.topic,
                    **router_stats(worker.router),
                    **common,
                )
            )
        return out

    async def _answer_roll_call(self, message: dict[str, Any]) -> None:
        originator = message.get("originator")
        if not originator:
            return
        await self._publish(
            member_topic(str(originator)),
            {
                "type": "pong",
                "id": message.get("id"),
                "guid": self.guid,
                "profiles": [p.to_dict() for p in self.profiles()],
            },
        )

    async def roll_call(self, delay: float | None = None) -> list[QuorumProfile]:
        """Ask every member for its profiles; see :meth:`hotmesh.HotMesh.roll_call`."""
        if delay is not None and delay < 0:
            raise ConfigError("delay must be >= 0 seconds", value=delay)
        rid = self._member.new_guid()
        call = self._calls[rid] = _Call()
        try:
            await self._publish(QUORUM, {"type": "rollcall", "id": rid, "originator": self.guid})
            if delay is None:
                await self._gather(call, until=None, quiet=ROLL_CALL_QUIET, limit=ROLL_CALL_MAX)
            else:
                await asyncio.sleep(delay)
        finally:
            self._calls.pop(rid, None)
        profiles = [
            QuorumProfile.from_dict(p)
            for answer in call.answers.values()
            for p in answer.get("profiles") or ()
        ]
        streams = sorted({p.stream for p in profiles})
        if streams:
            depths = await self._member.connection().stream.depth(streams)
            for profile in profiles:
                depth = depths.get(profile.stream)
                profile.stream_depth = depth.total if depth is not None else 0
        profiles.sort(key=lambda p: (p.role, p.guid, p.worker_topic or ""))
        return profiles

    # -- throttle -------------------------------------------------------------------------

    async def throttle(self, delay: float, guid: str | None, topic: str | None) -> None:
        """Persist and broadcast a throttle; see :meth:`hotmesh.HotMesh.throttle`."""
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise ConfigError("throttle delay must be a number of seconds", value=delay)
        if delay < 0 and delay != -1:
            raise ConfigError("throttle delay must be >= 0, or -1 to pause", value=delay)
        at = time.time()
        setting = {"delay": float(delay), "at": at}
        await self._member.connection().store.set_setting(_throttle_key(guid, topic), setting)
        message = {
            "type": "throttle",
            "delay": float(delay),
            "guid": guid,
            "topic": topic,
            "at": at,
        }
        await self._publish(QUORUM, message)
        # This member's own routers apply it before the call returns (work this process
        # publishes next is handed to its own consumers without waiting for the broadcast).
        self._on_throttle(message)

    def _routers(self) -> list[tuple[Router, str | None]]:
        """This member's routers with their worker topic (None for the engine's)."""
        out: list[tuple[Router, str | None]] = []
        if self._member.engine_router is not None:
            out.append((self._member.engine_router, None))
        out.extend((w.router, w.config.topic) for w in self._member.workers)
        return out

    def _apply(self, router: Router, delay: float, at: float) -> None:
        if at < self._throttle_at.get(id(router), float("-inf")):
            return  # an older setting than the one in force
        self._throttle_at[id(router)] = at
        router.throttle(delay)

    def _on_throttle(self, message: dict[str, Any]) -> None:
        delay, at = float(message["delay"]), float(message.get("at") or time.time())
        guid, topic = message.get("guid"), message.get("topic")
        if guid and guid != self.guid:
            return
        for router, router_topic in self._routers():
            if topic is None or topic == router_topic:
                self._apply(router, delay, at)

    async def _apply_persisted_throttles(self) -> None:
        store = self._member.connection().store
        cache: dict[str, Any] = {}
        for router, topic in self._routers():
            keys = [_throttle_key(None, None), _throttle_key(self.guid, None)]
            if topic is not None:
                keys += [_throttle_key(None, topic), _throttle_key(self.guid, topic)]
            found = []
            for key in keys:
                if key not in cache:
                    cache[key] = await store.get_setting(key)
                value = cache[key]
                if isinstance(value, dict) and "delay" in value:
                    found.append((float(value.get("at") or 0.0), float(value["delay"])))
            if found:
                at, delay = max(found)
                self._apply(router, delay, at)

    # -- activation -----------------------------------------------------------------------

    async def activate(self, version: str, timeout: float) -> None:
        """Switch every engine of the mesh to ``version``; see :meth:`HotMesh.activate`."""
        engine = self._member.engine
        if engine is None:
            raise ConfigError(
                "this HotMesh has no engine; give engine={...} to init", value="engine"
            )
        if await self._member.connection().store.get_version(version) is None:
            raise ConfigError(f"version {version!r} has not been deployed", value=version)
        members = {p.guid for p in await self.roll_call() if p.role == "engine"} | {self.guid}
        aid = self._member.new_guid()
        hold = 2 * timeout + 1.0
        message = {
            "type": "activate",
            "id": aid,
            "version": version,
            "originator": self.guid,
            "hold": hold,
            "drain": timeout,
        }
        prepared = self._calls[f"prepared:{aid}"] = _Call()
        committed = self._calls[f"committed:{aid}"] = _Call()
        try:
            await self._publish(QUORUM, {**message, "phase": "prepare"})

            def settled() -> bool:
                answers = prepared.answers
                return members <= set(answers) or any(not a.get("ok") for a in answers.values())

            await self._gather(
                prepared,
                until=settled,
                quiet=timeout,
                limit=timeout,
            )
            missing = sorted(members - set(prepared.answers))
            failed = sorted(g for g, a in prepared.answers.items() if not a.get("ok"))
            if missing or failed:
                await self._publish(QUORUM, {**message, "phase": "abort"})
                who = missing + failed
                raise ActivationError(
                    f"version {version} not activated: {', '.join(who)} did not confirm "
                    f"within {timeout:g}s (the previous version stays active)",
                    value=who,
                )
            await engine.activate(version)
            await self._publish(QUORUM, {**message, "phase": "commit"})
            await self._gather(
                committed,
                until=lambda: set(prepared.answers) <= set(committed.answers),
                quiet=timeout,
                limit=timeout,
            )
            late = sorted(set(prepared.answers) - set(committed.answers))
            if late:
                log.warning(
                    "version %s is active; %s did not confirm the switch (they re-read it "
                    "within %gs)", version, ", ".join(late), hold,
                )  # fmt: skip
        finally:
            self._calls.pop(f"prepared:{aid}", None)
            self._calls.pop(f"committed:{aid}", None)

    def _on_activate(self, message: dict[str, Any]) -> None:
        aid, phase = str(message.get("id")), message.get("phase")
        if self._member.engine is None:
            return  # workers do not depend on the version
        if phase == "prepare":
            if aid not in self._finished:
                self._spawn(self._prepare(message), f"quorum-prepare:{aid}")
        elif phase in ("commit", "abort"):
            self._finish(aid)
            self._release(aid, forget=phase == "commit")
            if phase == "commit":
                self._spawn(self._committed(message), f"quorum-ack:{aid}")

    async def _prepare(self, message: dict[str, Any]) -> None:
        aid = str(message["id"])
        engine = self._member.engine
        assert engine is not None
        hold = float(message.get("hold") or 10.0)
        self._hold(aid, hold)
        router = self._member.engine_router
        drained = True
        if router is not None:
            drained = await router.quiesce(float(message.get("drain") or hold / 2))
        if aid in self._finished:
            return  # committed or aborted while we drained
        engine.version_gate.clear()
        await self._ack(message, "prepared", drained)

    async def _committed(self, message: dict[str, Any]) -> None:
        """Load the new version now (not on the next message), then confirm."""
        ok = True
        engine = self._member.engine
        if engine is not None:
            try:
                await engine.manifest()
            except Exception:
                ok = False
                log.exception("could not load the activated version")
        await self._ack(message, "committed", ok)

    async def _ack(self, message: dict[str, Any], phase: str, ok: bool) -> None:
        await self._publish(
            member_topic(str(message.get("originator"))),
            {"type": "ack", "phase": phase, "id": f"{phase}:{message.get('id')}",
             "guid": self.guid, "ok": ok},
        )  # fmt: skip

    def _hold(self, aid: str, hold: float) -> None:
        if self._member.engine_router is not None:
            self._member.engine_router.hold(f"activate:{aid}")

        async def expire() -> None:
            await asyncio.sleep(hold)
            log.warning("activation %s neither committed nor aborted; releasing", aid)
            self._holds.pop(aid, None)
            self._finish(aid)
            self._release(aid, forget=True)

        task = asyncio.ensure_future(expire())
        self._holds[aid] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _release(self, aid: str, *, forget: bool) -> None:
        task = self._holds.pop(aid, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        engine = self._member.engine
        if engine is not None and forget:
            engine.forget_active()
        if self._member.engine_router is not None:
            self._member.engine_router.release(f"activate:{aid}")
        if engine is not None and not self._holds:
            engine.version_gate.set()

    def _finish(self, aid: str) -> None:
        self._finished[aid] = True
        while len(self._finished) > _FINISHED_KEEP:
            self._finished.popitem(last=False)


def _throttle_key(guid: str | None, topic: str | None) -> str:
    key = "throttle:"
    if guid:
        key += f"g:{guid}"
    if topic:
        key += (":" if guid else "") + f"t:{topic}"
    return key if (guid or topic) else "throttle:*"
