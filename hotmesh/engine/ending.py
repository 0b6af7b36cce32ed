"""How jobs end besides their last step: failure, interrupts, dead letters, the final publication.

:class:`JobEnding` is held by :class:`hotmesh.engine.runtime.Engine` (``engine.ending``)
and needs only the store and the completion callback: every close here is a guarded
``apply_step`` (the job must still be open), so however many processes try, a job
completes once and its completion is published once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from hotmesh.engine.messages import JobComplete, StartChild, decode
from hotmesh.engine.state import META, job_data
from hotmesh.engine.steps import error_text
from hotmesh.errors import JobNotFound, ProviderError, StepError
from hotmesh.spi import OutgoingMessage, Store, StreamMessage
from hotmesh.types import JobOutput

__all__ = ["INTERRUPTED", "JobEnding", "close_messages", "job_output"]

log = logging.getLogger(__name__)

Notify = Callable[[JobOutput, bool], Awaitable[None]]
#: How often a step (or a job's close) is decided again after its guard failed before
#: giving up (each conflict means another step applied meanwhile).
MAX_CONFLICTS = 20
#: Attempts at publishing a committed completion while the database is unreachable.
PUBLISH_ATTEMPTS = 8
#: The semaphore change that closes an interrupted job (whatever its open branches).
INTERRUPTED = -1_000_000_000


def job_output(state: Mapping[str, Any], semaphore: int) -> JobOutput:
    """The public view of a stored job."""
    metadata = {k: v for k, v in dict(state.get(META, {})).items() if k != "expire"}
    metadata["js"] = semaphore
    return JobOutput(metadata=metadata, data=job_data(state))


def close_messages(metadata: Mapping[str, Any]) -> list[OutgoingMessage]:
    """What a job's close enqueues: an awaited child tells its parent it completed."""
    if metadata.get("pj") and not metadata.get("px"):
        jid = str(metadata["jid"])
        return [JobComplete(jid=jid, gid=metadata["gid"]).outgoing()]
    return []


class JobEnding:
    """Failing and interrupting jobs, and publishing completions (held by the engine).

    Example:
        >>> ending = JobEnding(backend.store, notify)  # doctest: +SKIP
        >>> await ending.fail_job(jid, {"message": "gave up", "code": 500})  # doctest: +SKIP
    """

    def __init__(self, store: Store, notify: Notify) -> None:
        self.store = store
        self._notify = notify
        self._stopping = False
        #: Set when the engine stops: wakes the retries waiting (made on their loop).
        self._wake: asyncio.Future[None] | None = None

    def close(self) -> None:
        """The engine is stopping: a completion whose publication fails is no longer retried,
        and a retry waiting now gives up.

        Retries would hold the handlers the stop waits for, and cannot outlast it anyway;
        a ``pubsub`` waiter that hears nothing reads the stored job instead.
        """
        self._stopping = True
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def finish(self, state: Mapping[str, Any] | None, semaphore: int) -> None:
        """Publish a job's completion (its step has committed: never raise for an outage).

        A publication lost to an outage is retried a few times (not once the engine is
        stopping: :meth:`close`); pub/sub is at most once, so a ``pubsub`` waiter also
        re-reads the stored state when nothing arrives.
        """
        if state is None:
            return
        output = job_output(state, semaphore)
        for attempt in range(PUBLISH_ATTEMPTS):
            try:
                await self._notify(output, True)
                return
            except ProviderError:
                if self._stopping:
                    log.info("completion not published: the engine is stopping",
                             extra={"jid": output.job_id})  # fmt: skip
                    return
                if attempt + 1 == PUBLISH_ATTEMPTS:
                    break
                log.warning("could not publish a completion; retrying",
                            extra={"jid": output.job_id, "attempt": attempt + 1})  # fmt: skip
                await self._pause(min(0.1 * 2**attempt, 2.0))
        log.error("completion not published", extra={"jid": output.job_id})

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` before the next attempt, or until the engine stops."""
        loop = asyncio.get_running_loop()
        wake = self._wake
        if wake is None or wake.done() or wake.get_loop() is not loop:
            wake = self._wake = loop.create_future()
        await asyncio.wait((wake,), timeout=seconds)  # never cancels the shared future

    async def fail_job(self, jid: str, error: Mapping[str, Any] | None = None) -> None:
        """Complete a running job as failed (its open branches are given up).

        ``error`` (when the job has none yet) becomes ``metadata.err``. Its pending
        messages are dropped first (the close enqueues the parent's "complete" message);
        the close is guarded (the job must still be open), so it happens once however
        many processes try, and repeats only if a concurrent step moved the semaphore.
        """
        for _ in range(MAX_CONFLICTS):
            job = await self.store.get_job(jid)
            if job is None or job.semaphore <= 0:
                return
            metadata = dict(job.state.get(META, {}))
            state: dict[str, Any] = {}
            if error is not None and not metadata.get("err"):
                metadata["err"] = error_text(error)
                state[META] = metadata
            await self.store.purge_job_messages(jid)
            result = await self.store.apply_step(
                jid,
                state,
                semaphore_delta=-job.semaphore,
                expire=float(metadata.get("expire", 1)),
                on_close=close_messages(metadata),
                expect={},
            )
            if result.applied and result.state is not None:
                await self.finish(result.state, result.semaphore or 0)
                return

    async def interrupt(
        self,
        job_id: str,
        *,
        reason: str | None = None,
        throw: bool = True,
        code: int = 410,
        stack: str | None = None,
        expire: float | None = None,
    ) -> None:
        """Stop a running job: mark it interrupted, drop its pending messages, notify."""
        job = await self.store.get_job(job_id)
        if job is None or job.semaphore <= 0:
            raise JobNotFound(f"Job {job_id} is not running", value=job_id)
        metadata = dict(job.state.get(META, {}))
        state: dict[str, Any] = {}
        if throw:
            metadata["err"] = error_text(
                {"code": code, "message": reason or f"job [{job_id}] interrupted",
                 "stack": stack or "", "job_id": job_id}
            )  # fmt: skip
            state[META] = metadata
        # Purge first: the close below enqueues the parent's "complete" message.
        await self.store.purge_job_messages(job_id)
        result = await self.store.apply_step(
            job_id,
            state,
            semaphore_delta=INTERRUPTED,
            expire=float(expire if expire is not None else metadata.get("expire", 1)),
            on_close=close_messages(metadata),
            expect={},  # a job that completed meanwhile stays completed
        )
        if result.applied and result.state is not None:
            await self.finish(result.state, result.semaphore or 0)

    async def on_dead_letter(self, message: StreamMessage, error: str | None) -> None:
        """An engine message of a job was dead-lettered: that job fails (it cannot go on).

        A child's lost "complete" (or a parent's lost "await") fails the awaiting parent,
        which would otherwise wait forever; signals belong to no job until delivered.
        """
        body = message.payload
        jid, aid, dad = body.get("jid") or message.job_id, body.get("aid"), body.get("dad")
        decoded = decode(body)
        if isinstance(decoded, StartChild):
            parent = decoded.parent
            jid, aid, dad = parent.get("pj"), parent.get("pa"), parent.get("pd")
        elif isinstance(decoded, JobComplete) and jid:
            child = await self.store.get_job(str(jid))
            meta = dict(child.state.get(META, {})) if child is not None else {}
            jid, aid, dad = meta.get("pj"), meta.get("pa"), meta.get("pd")
        if not jid:
            return
        failure = {
            "message": f"an engine message of job {jid} could not be processed: {error}",
            "code": StepError.code,
            "activity_id": aid,
            "dad": dad,
            "job_id": jid,
            "dead_letter": message.id,
        }
        await self.fail_job(str(jid), failure)
