"""Job completion: publishing what a job produced, and waiting for it.

When a job completes (or an ``emit`` activity publishes an interim state), the engine
calls :meth:`Completions.notify`:

* a job started by ``pubsub`` carries the waiting engine's guid (``metadata.ngn``): the
  output is delivered to the local waiter, or published on ``$ngn.<guid>`` for the member
  that waits;
* a graph that ``publishes`` a topic gets the output on ``<publishes>.<job id>`` (what
  ``sub``/``psub`` hear; :func:`result_relay` turns those messages back into outputs).

Publications are not durable (pub/sub is at most once), so :meth:`Completions.wait` also
re-reads the stored job while it waits.

Example:
    >>> completions = Completions(backend, "H1", manifest=engine.manifest)  # doctest: +SKIP
    >>> engine = Engine(backend, app_id="shop", guid="H1",
    ...                 notify=completions.notify)  # doctest: +SKIP
    >>> await completions.start()  # doctest: +SKIP
    >>> future = completions.expect(job_id)  # doctest: +SKIP
    >>> output = await completions.wait(job_id, future, deadline)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hotmesh.alarms import Alarms
from hotmesh.engine.ending import job_output
from hotmesh.engine.model import AppManifest
from hotmesh.errors import ProviderError
from hotmesh.loopref import LoopRef
from hotmesh.spi import Backend, SubCallback
from hotmesh.types import JobOutput

__all__ = ["RECHECK", "Completions", "JobCallback", "result_channel", "result_relay"]

JobCallback = Callable[[str, JobOutput], Awaitable[None] | None]
"""A ``sub``/``psub`` callback: called with ``(publishes topic, JobOutput)``."""

#: A waiter that hears nothing for this long re-reads its job's state as often.
RECHECK = 1.0
#: Results published before anyone waited are kept this long (seconds).
_EARLY_TTL = 30.0


#: What a waiter's future is resolved with when it is time to read the job's state.
_RECHECK = JobOutput(metadata={}, data={})


def _recheck(future: asyncio.Future[JobOutput]) -> None:
    if not future.done():
        future.set_result(_RECHECK)


class Completions:
    """One engine's job results: published when jobs finish, handed to local waiters."""

    def __init__(
        self, backend: Backend, guid: str, *, manifest: Callable[[], Awaitable[AppManifest]]
    ) -> None:
        self._backend = backend
        self._guid = guid
        self._manifest = manifest
        self._waiters: dict[str, asyncio.Future[JobOutput]] = {}
        self._early: dict[str, tuple[float, JobOutput]] = {}
        self._closed = False
        self._alarms = Alarms()
        self._loop = LoopRef()

    async def start(self) -> None:
        """Hear the results published for this engine's waiters (``$ngn.<guid>``)."""
        await self._backend.sub.subscribe(f"$ngn.{self._guid}", self._on_result)

    def close(self) -> None:
        """Cancel every waiter (the member is stopping), and every later one."""
        self._closed = True
        for future in self._waiters.values():
            future.cancel()

    # -- publishing (the engine's notify callback) ----------------------------------------

    async def notify(self, output: JobOutput, final: bool) -> None:
        """Called by the engine when a job completes (or emits)."""
        metadata = output.metadata
        ngn = metadata.get("ngn")
        if ngn:  # a pubsub resolves with the first state published: interim or final
            if ngn == self._guid:
                self._deliver(output)
            else:
                await self._backend.sub.publish(f"$ngn.{ngn}", output.to_dict())
        publishes = await self._publishes(str(metadata.get("tpc", "")))
        if publishes:
            await self._backend.sub.publish(
                f"{publishes}.{metadata.get('jid')}", {"topic": publishes, **output.to_dict()}
            )

    async def _publishes(self, topic: str) -> str | None:
        if not topic:
            return None
        try:
            manifest = await self._manifest()
            return manifest.graph_for_topic(topic).publishes
        except Exception:
            return None

    # -- waiting --------------------------------------------------------------------------

    def expect(self, job_id: str) -> asyncio.Future[JobOutput]:
        """A future for ``job_id``'s result (already set when it was published early)."""
        future: asyncio.Future[JobOutput] = self._loop.get().create_future()
        early = self._early.pop(job_id, None)
        if self._closed:  # a waiter between two reads when the member stopped
            future.cancel()
        elif early is not None:
            future.set_result(early[1])
        else:
            self._waiters[job_id] = future
        return future

    async def wait(
        self, job_id: str, future: asyncio.Future[JobOutput], deadline: float
    ) -> JobOutput:
        """The job's result as published; after :data:`RECHECK` seconds without it, also
        read from the store every :data:`RECHECK` seconds (and once at the deadline).

        Publications are not durable: one sent while a restart had cut the listener, or
        one the engine died before sending, is never heard. The stored state of a
        completed job gives the same result.

        Raises:
            TimeoutError: ``deadline`` (``time.monotonic()``) passed without a result.
        """
        try:
            while True:
                if not future.done():
                    # The future itself is awaited; an alarm resolves it with _RECHECK when
                    # the wait is up (no asyncio.wait: a future, a callback and a loop
                    # iteration fewer per job; no loop timer of its own either).
                    remaining = deadline - time.monotonic()
                    delay = max(min(remaining, RECHECK), 0.001)
                    alarm = self._alarms.later(delay, _recheck, future)
                    try:
                        await future
                    finally:
                        self._alarms.cancel(alarm)
                if future.result() is not _RECHECK:  # CancelledError when the member stopped
                    return future.result()
                future = self.expect(job_id)  # waiting again (or published meanwhile)
                if future.done():
                    return future.result()
                try:
                    job = await self._backend.store.get_job(job_id)
                except ProviderError:
                    job = None  # the database is unreachable: keep waiting for either
                if job is not None and job.semaphore <= 0:
                    return job_output(job.state, job.semaphore)
                if time.monotonic() >= deadline:
                    future.cancel()
                    raise TimeoutError
        finally:
            self._waiters.pop(job_id, None)

    def _on_result(self, _topic: str, message: dict[str, Any]) -> None:
        self._deliver(JobOutput(metadata=message.get("metadata", {}), data=message.get("data", {})))

    def _deliver(self, output: JobOutput) -> None:
        future = self._waiters.pop(output.job_id, None)
        if future is not None and not future.done():
            future.set_result(output)
            return
        now = time.monotonic()
        self._early[output.job_id] = (now, output)
        for jid, (at, _) in list(self._early.items()):
            if now - at > _EARLY_TTL:
                del self._early[jid]


def result_channel(topic: str, *, pattern: bool) -> str:
    """The glob a ``sub(topic)`` (channel ``topic`` and every ``topic.<job id>``) or a
    ``psub(pattern)`` listens on.

    Example:
        >>> result_channel("order.done", pattern=False)
        'order.done*'
        >>> result_channel("a*b", pattern=False)
        'a[*]b*'
    """
    if pattern:
        return topic
    return "".join(f"[{c}]" if c in "*?[" else c for c in topic) + "*"


def result_relay(topic: str, callback: JobCallback, *, pattern: bool) -> SubCallback:
    """A pub/sub callback that hands the published job outputs to ``callback``.

    ``sub(topic)`` ignores longer topics that merely start with ``topic``.
    """

    async def relay(channel: str, message: dict[str, Any]) -> None:
        published = str(message.get("topic") or channel)
        if not pattern and topic not in (channel, published):
            return  # a longer topic that merely starts with ``topic``
        output = JobOutput(metadata=message.get("metadata", {}), data=message.get("data", {}))
        result = callback(published, output)
        if result is not None:
            await result

    return relay
