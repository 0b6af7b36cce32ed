"""``Stream`` in memory: the queue semantics of the SPI, one Python dict per app.

Read this module as the executable statement of :class:`hotmesh.spi.Stream`: every rule
of the contract (priority order, leases fenced by the delivery number, backoff, dead
letters, delayed visibility, per-consumer wake-ups) is a few plain lines here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hotmesh.errors import CodecError, PayloadError
from hotmesh.serializer import codec_failure, loads_payload
from hotmesh.spi import DeadLetter, JobRecord, OutgoingMessage, StreamDepth, StreamMessage
from hotmesh.spi.support import (
    DeadLetterCallback,
    check_claim,
    report_unanswered,
    unanswered,
)
from hotmesh_memory.jobs import fail_jobs, read_state
from hotmesh_memory.space import AppSpace, MessageRow, now, round_trip
from hotmesh_memory.wakeups import Wakeups

__all__ = ["MemoryStream"]


class MemoryStream:
    """Durable (for the life of the process) work queues of one app.

    See :class:`hotmesh.spi.Stream`.

    Example:
        >>> async def demo(stream: MemoryStream) -> None:  # doctest: +SKIP
        ...     await stream.publish([OutgoingMessage("s", {"n": 1})])
        ...     [msg] = await stream.claim("s")
        ...     await stream.ack([msg])
    """

    def __init__(self, space: AppSpace, wakeups: Wakeups) -> None:
        self._space = space
        self.wakeups = wakeups

    async def publish(
        self, messages: Sequence[OutgoingMessage], *, ack: StreamMessage | None = None
    ) -> list[int]:
        """Store ``messages`` atomically; return their ids in order.

        With ``ack``, that delivery is acked too, and nothing is stored (the answer is
        ``[]``) when the delivery is no longer held.
        """
        await round_trip()
        space = self._space
        encoded = space.encode(messages)
        if ack is not None and space.take(ack.id, ack.attempt) is None:
            return []
        return space.insert(encoded)

    async def claim(
        self,
        stream: str,
        *,
        limit: int = 1,
        lease: float = 30.0,
        consumer: str = "",
        with_job: bool = False,
        on_dead_letter: DeadLetterCallback | None = None,
    ) -> list[StreamMessage]:
        """Claim up to ``limit`` claimable messages of ``stream``, leased for ``lease`` s.

        ``on_dead_letter`` is told of each message dead-lettered because its deliveries
        were used up (see :meth:`hotmesh.spi.Stream.claim`).
        """
        check_claim(limit=limit, lease=lease)
        self.wakeups.flag(stream, consumer)  # from now on, wake-ups for it are kept
        await round_trip()
        at = now()
        rows = [r for r in self._space.streams.get(stream, {}).values() if r.claimable(at)]
        rows.sort(key=lambda r: (-r.priority, r.visible_at, r.id))
        out: list[StreamMessage] = []
        failed: dict[str, str] = {}
        lapsed: list[tuple[StreamMessage, str]] = []
        for row in rows[:limit]:
            row.attempts += 1
            row.lease_until = at + float(lease)
            row.leased_by = consumer
            self._space.wake(stream, row.lease_until)  # claimable again if never acked
            msg, problem = self._deliver(row, with_job, failed)
            if problem is None:
                out.append(msg)
            else:
                self._space.remove(row)
                self._space.bury(row, problem)
                if problem == unanswered(row.id, stream, row.retry.maximum_attempts):
                    lapsed.append((msg, problem))
        if failed:
            fail_jobs(self._space, failed)
        # Their jobs wait for an answer that will never come: the consumer ends them.
        await report_unanswered(on_dead_letter, lapsed)
        return out

    def _deliver(
        self, row: MessageRow, with_job: bool, failed: dict[str, str]
    ) -> tuple[StreamMessage, str | None]:
        """The message of a just-claimed row, and why it cannot be run (None if it can).

        A message whose stored values cannot be decoded is dead-lettered, and its job is
        closed as failed (recorded in ``failed``): retrying cannot bring a key back.
        """
        problem: str | None = None
        codec_error: CodecError | None = None
        payload: dict[str, object] = {}
        try:
            payload = loads_payload(row.payload, job_id=row.job_id)
        except CodecError as err:
            problem, codec_error = f"payload cannot be decoded: {err}", err
        except (PayloadError, ValueError) as err:
            problem = f"payload cannot be decoded: {err}"
        job = None
        job_row = self._space.live_job(row.job_id) if with_job and row.job_id else None
        if job_row is not None and row.job_id is not None:
            try:
                state = read_state(job_row, row.job_id)
            except CodecError as err:
                problem = problem or f"job state cannot be decoded: {err}"
                codec_error = codec_error or err
            else:
                job = JobRecord(row.job_id, state, job_row.semaphore)
        if codec_error is not None and row.job_id:
            failed.setdefault(row.job_id, codec_failure(row.job_id, codec_error))
        if problem is None and row.attempts > row.retry.maximum_attempts:
            problem = unanswered(row.id, row.stream, row.retry.maximum_attempts)
        msg = StreamMessage(
            id=row.id,
            stream=row.stream,
            payload=payload,
            attempt=row.attempts,
            priority=row.priority,
            retry=row.retry,
            job_id=row.job_id,
            job=job,
        )
        return msg, problem

    async def ack(self, messages: Sequence[StreamMessage]) -> set[int]:
        """Remove delivered messages; return the ids removed (lease-fenced)."""
        await round_trip()
        return {m.id for m in messages if self._space.take(m.id, m.attempt) is not None}

    async def extend(self, messages: Sequence[StreamMessage], lease: float) -> set[int]:
        """Renew leases still held by these deliveries; return the ids renewed."""
        await round_trip()
        renewed = set()
        until = now() + float(lease)
        for m in messages:
            row = self._space.messages.get(m.id)
            if row is not None and row.attempts == m.attempt and row.lease_until is not None:
                row.lease_until = until
                renewed.add(m.id)
        return renewed

    async def retry(self, message: StreamMessage, error: str | None = None) -> float | None:
        """Redeliver after backoff (returns the delay) or dead-letter (returns ``None``)."""
        if message.attempt >= message.retry.maximum_attempts:
            await self.dead_letter([message], error)
            return None
        await round_trip()
        delay = message.retry.delay(message.attempt)
        row = self._space.messages.get(message.id)
        if row is not None and row.attempts == message.attempt:
            row.visible_at = now() + delay
            row.lease_until = row.leased_by = None
            row.last_error = error
            self._space.wake(row.stream, row.visible_at)
        return delay

    async def dead_letter(self, messages: Sequence[StreamMessage], error: str | None) -> int:
        """Move delivered messages to the dead letters; return how many moved."""
        await round_trip()
        moved = 0
        for m in messages:
            row = self._space.take(m.id, m.attempt)
            if row is not None:
                self._space.bury(row, error)
                moved += 1
        return moved

    async def dead_letters(self, stream: str, *, limit: int = 100) -> list[DeadLetter]:
        """The dead letters of ``stream``, oldest first."""
        await round_trip()
        rows = [d for d in self._space.dead if d.stream == stream][:limit]
        out = []
        for d in rows:
            try:
                payload = loads_payload(d.payload, job_id=d.job_id)
            except (CodecError, PayloadError, ValueError):
                payload = {}
            out.append(DeadLetter(d.id, d.stream, payload, d.attempts, d.error, d.job_id))
        return out

    async def depth(self, streams: Sequence[str]) -> dict[str, StreamDepth]:
        """Message counts per stream (every requested stream is in the answer)."""
        await round_trip()
        at = now()
        out = {}
        for name in streams:
            ready = delayed = in_flight = 0
            for row in self._space.streams.get(name, {}).values():
                if row.held(at):
                    in_flight += 1
                elif row.visible_at <= at:
                    ready += 1
                else:
                    delayed += 1
            out[name] = StreamDepth(name, ready, delayed, in_flight)
        return out

    async def purge(self, stream: str) -> int:
        """Delete every message of ``stream``; return how many were deleted."""
        await round_trip()
        return self._space.drop_messages(stream=stream)

    async def wait(self, stream: str, timeout: float, *, consumer: str = "") -> None:
        """Block until ``stream`` may have claimable messages, or ``timeout`` seconds."""
        flag = self.wakeups.flag(stream, consumer)
        if not flag.is_set():
            try:
                async with asyncio.timeout(timeout):
                    await flag.wait()
            except TimeoutError:
                return
        flag.clear()
