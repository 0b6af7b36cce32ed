"""``Stream`` on Postgres: one table per app, claimed with ``FOR UPDATE SKIP LOCKED``."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from attrs import define

from hotmesh.errors import CodecError, PayloadError, StreamError
from hotmesh.serializer import (
    codec_failure,
    decode_state,
    dumps_payload,
    json_value,
    loads_payload,
)
from hotmesh.spi import (
    DEFAULT_RETRY,
    DeadLetter,
    JobRecord,
    OutgoingMessage,
    RetryPolicy,
    StreamDepth,
    StreamMessage,
)
from hotmesh.spi.support import (
    DeadLetterCallback,
    check_claim,
    report_unanswered,
    unanswered,
)
from hotmesh_postgres.driver import Driver, Row
from hotmesh_postgres.grouping import GroupCommit
from hotmesh_postgres.housekeeping import Vacuumer
from hotmesh_postgres.schema import Queries

__all__ = [
    "PostgresStream",
    "StreamStatements",
    "guard",
    "is_access_denied",
    "message_arrays",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


def message_arrays(messages: Sequence[OutgoingMessage]) -> list[list[Any]]:
    """The nine parallel arrays the publish statements unnest, in column order.

    A handed-off message's lease travels as a negative delay (``enqueue_v1``, migration
    0012): the two never go together.
    """
    cols: list[list[Any]] = [[] for _ in range(9)]
    for m in messages:
        retry = m.retry or DEFAULT_RETRY
        cols[0].append(m.stream)
        cols[1].append(m.priority)
        cols[2].append(-float(m.lease) if m.lease > 0 else float(m.delay))
        cols[3].append(retry.maximum_attempts)
        cols[4].append(float(retry.initial_interval))
        cols[5].append(float(retry.backoff_coefficient))
        cols[6].append(float(retry.maximum_interval))
        cols[7].append(m.job_id)
        cols[8].append(dumps_payload(m.payload))
    return cols


@functools.lru_cache(maxsize=256)
def _policy(max_attempts: int, initial: float, coefficient: float, cap: float) -> RetryPolicy:
    """Policies repeat across messages; build (and validate) each one once."""
    return RetryPolicy(
        maximum_attempts=max_attempts,
        initial_interval=initial,
        backoff_coefficient=coefficient,
        maximum_interval=cap,
    )


class _Wakeups:
    """Per-stream, per-consumer wake flags, set by notifications and local timers."""

    def __init__(self) -> None:
        self._events: dict[str, dict[str, asyncio.Event]] = defaultdict(dict)
        self._timers: dict[str, dict[int, asyncio.TimerHandle]] = defaultdict(dict)

    def event(self, stream: str, consumer: str) -> asyncio.Event:
        events = self._events[stream]
        ev = events.get(consumer)
        if ev is None:
            ev = events[consumer] = asyncio.Event()
        return ev

    def wake(self, stream: str) -> None:
        for ev in self._events.get(stream, {}).values():
            ev.set()

    def wake_all(self) -> None:
        for stream in list(self._events):
            self.wake(stream)

    def wake_at(self, stream: str, epoch: float) -> None:
        """Arm a local timer for a message that becomes visible at ``epoch``."""
        if stream not in self._events:
            return  # nobody here consumes it
        slot = int(epoch * 100)  # 10 ms resolution keeps the timer count bounded
        timers = self._timers[stream]
        if slot in timers:
            return
        loop = asyncio.get_running_loop()
        delay = max(epoch - time.time(), 0.0) + 0.005

        def fire() -> None:
            timers.pop(slot, None)
            self.wake(stream)

        timers[slot] = loop.call_later(delay, fire)

    def close(self) -> None:
        for timers in self._timers.values():
            for handle in timers.values():
                handle.cancel()
        self._timers.clear()
        self.wake_all()

    def on_notify(self, payload: str) -> None:
        try:
            body = json_value(payload)
        except ValueError:
            log.warning("ignoring malformed wake-up payload %r", payload[:80])
            return
        if body == "*":
            self.wake_all()
            return
        if not isinstance(body, dict):
            return
        for stream, when in body.items():
            for moment in when if isinstance(when, list) else [when]:
                if not moment:
                    self.wake(stream)
                else:
                    self.wake_at(stream, float(moment))


#: SQLSTATE insufficient_privilege: what a secured role's refused call raises.
ACCESS_DENIED = "42501"


def is_access_denied(err: BaseException) -> bool:
    """True when ``err`` is the database refusing a privilege (either driver)."""
    return getattr(err, "sqlstate", None) == ACCESS_DENIED


async def guard(what: str, call: Awaitable[T]) -> T:
    """Await ``call``; a refused privilege becomes a :class:`StreamError` naming ``what``."""
    try:
        return await call
    except Exception as err:
        if is_access_denied(err):
            message = str(getattr(err, "message", None) or err).splitlines()[0]
            raise StreamError(message, value=what) from err
        raise


@define(frozen=True)
class _Answer:
    """One acked publish (a worker's answer to a delivery), waiting for its batch."""

    messages: Sequence[OutgoingMessage]
    ack: StreamMessage


@define(frozen=True)
class StreamStatements:
    """The statements a :class:`PostgresStream` runs: the schema owner's, or a secured role's.

    A secured worker role (docs/security.md) reaches the tables only through the
    SECURITY DEFINER ``worker_*`` functions, and may not read or change jobs: it has no
    ``claim_with_job`` and no ``fail_jobs``.

    Example:
        >>> from hotmesh_postgres.schema import Queries
        >>> StreamStatements.secured(Queries("orders")).claim_with_job is None
        True
    """

    publish: str
    publish_acked: str
    claim: str
    claim_with_job: str | None
    ack: str
    extend: str
    retry: str
    dead_letter: str
    depth: str
    fail_jobs: str | None
    #: Several deliveries acked and answered in one statement (None: one at a time).
    publish_acked_many: str | None = None

    @classmethod
    def owner(cls, q: Queries) -> StreamStatements:
        """Direct table access, as the schema owner (every process but secured workers)."""
        return cls(
            q.publish, q.publish_acked, q.claim, q.claim_with_job, q.ack, q.extend, q.retry,
            q.dead_letter, q.depth, q.fail_jobs, q.publish_acked_many,
        )  # fmt: skip

    @classmethod
    def secured(cls, q: Queries) -> StreamStatements:
        """Through the ``worker_*`` functions, which check the login role's streams."""
        return cls(
            q.secured_publish, q.secured_publish_acked, q.secured_claim, None, q.secured_ack,
            q.secured_extend, q.secured_retry, q.secured_dead_letter, q.secured_depth, None,
        )  # fmt: skip


class PostgresStream:
    """Durable work queues for one app schema. See :class:`hotmesh.spi.Stream`.

    ``statements`` chooses the owner's SQL (the default) or a secured worker role's
    (:meth:`StreamStatements.secured`); a call the role may not make raises
    :class:`StreamError` (its message says "access denied").
    """

    def __init__(
        self,
        driver: Driver,
        queries: Queries,
        vacuumer: Vacuumer,
        statements: StreamStatements | None = None,
    ) -> None:
        self._driver = driver
        self._q = queries
        self._sql = statements or StreamStatements.owner(queries)
        self._vacuumer = vacuumer
        self.wakeups = _Wakeups()
        self._answers: GroupCommit[_Answer, list[int]] | None = None
        if self._sql.publish_acked_many is not None:
            self._answers = GroupCommit(self._publish_acked_many)

    async def publish(
        self, messages: Sequence[OutgoingMessage], *, ack: StreamMessage | None = None
    ) -> list[int]:
        """Store ``messages`` in one statement; return their ids in order.

        With ``ack``, that delivery is acked in the same statement, and nothing is stored
        (the answer is ``[]``) when the delivery is no longer held.
        """
        if ack is not None and self._answers is not None:
            # Group commit: answers that arrive while one is in flight go together.
            return await self._answers.submit(_Answer(messages, ack))
        if ack is not None:
            call = self._driver.fetch(
                self._sql.publish_acked, *message_arrays(messages), ack.id, ack.attempt
            )
            rows = await guard(messages[0].stream if messages else ack.stream, call)
            self._vacuumer.note_deleted(1)
            return [int(r[0]) for r in rows]
        if not messages:
            return []
        # Re-run after a lost connection only when every message carries the key its
        # consumer deduplicates on (the engine's signals and results carry a guid).
        keyed = all(isinstance(m.payload.get("guid"), str) for m in messages)
        call = self._driver.fetch(self._sql.publish, *message_arrays(messages), replay=keyed)
        rows = await guard(messages[0].stream, call)
        return [int(r[0]) for r in rows]

    async def _publish_acked_many(self, answers: list[_Answer]) -> list[list[int] | Exception]:
        """Ack ``answers``' deliveries and publish their messages, in one statement."""
        assert self._sql.publish_acked_many is not None
        if len(answers) == 1:  # alone: the lean publish_acked statement
            answer = answers[0]
            call = self._driver.fetch(
                self._sql.publish_acked,
                *message_arrays(answer.messages),
                answer.ack.id,
                answer.ack.attempt,
            )
            rows = await guard(answer.ack.stream, call)
            self._vacuumer.note_deleted(1)
            return [[int(r[0]) for r in rows]]
        steps: list[int] = []
        picked: list[OutgoingMessage] = []
        for n, answer in enumerate(answers, start=1):
            picked += answer.messages
            steps += [n] * len(answer.messages)
        call = self._driver.fetch(
            self._sql.publish_acked_many,
            [a.ack.id for a in answers],
            [a.ack.attempt for a in answers],
            steps,
            *message_arrays(picked),
        )
        rows = await guard(answers[0].ack.stream, call)
        self._vacuumer.note_deleted(sum(r[1] is not None for r in rows))
        out: list[list[int] | Exception] = [[] for _ in answers]
        for row in rows:
            out[int(row[0]) - 1] = [] if row[1] is None else [int(i) for i in row[1]]
        return out

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
        query = self._sql.claim_with_job if with_job else self._sql.claim
        if query is None:
            raise StreamError("a secured worker cannot read job state", value=stream)
        self.wakeups.event(stream, consumer)  # from now on, wake-ups for it are kept
        call = self._driver.fetch(query, stream, limit, float(lease), consumer)
        return await self._deliver(stream, await guard(stream, call), on_dead_letter)

    async def _deliver(
        self, stream: str, rows: Sequence[Row], on_dead_letter: DeadLetterCallback | None
    ) -> list[StreamMessage]:
        """Claimed rows as messages, best first; dead-letter those that cannot be run."""
        if not rows:
            return []
        rows = sorted(rows, key=lambda r: (-r[1], r[2], r[0]))
        out: list[StreamMessage] = []
        exhausted: list[tuple[StreamMessage, str]] = []
        undecodable: dict[str, str] = {}
        for row in rows:
            msg, problem, codec_error = self._to_message(stream, row)
            if problem is not None:
                exhausted.append((msg, problem))
                if codec_error is not None and msg.job_id:
                    undecodable.setdefault(msg.job_id, codec_failure(msg.job_id, codec_error))
            else:
                out.append(msg)
        lapsed: list[tuple[StreamMessage, str]] = []
        for msg, problem in exhausted:
            log.warning(
                "dead-lettering message", extra={"stream": stream, "id": msg.id, "why": problem}
            )
            moved = await self.dead_letter([msg], problem)
            if moved and problem == unanswered(msg.id, stream, msg.retry.maximum_attempts):
                lapsed.append((msg, problem))
        if undecodable:
            await self._fail_jobs(undecodable)
        # Their jobs wait for an answer that will never come: the consumer ends them.
        await report_unanswered(on_dead_letter, lapsed)
        return out

    async def _fail_jobs(self, errors: dict[str, str]) -> None:
        """Close the running jobs whose stored values cannot be decoded, as errored.

        Retrying cannot help (the key is missing or wrong in this process), so the job is
        not left to retry forever: its metadata gets the error, its pending messages are
        dropped, and other jobs keep flowing.
        """
        if self._sql.fail_jobs is None:
            log.error(
                "undecodable messages dead-lettered; their jobs stay open (a secured worker"
                " cannot touch jobs)",
                extra={"jobs": len(errors)},
            )
            return
        rows = await self._driver.fetch(self._sql.fail_jobs, list(errors), list(errors.values()))
        for r in rows:
            log.error("job failed: stored values cannot be decoded", extra={"jid": r[0]})

    def _to_message(
        self, stream: str, row: Row
    ) -> tuple[StreamMessage, str | None, CodecError | None]:
        msg_id, priority, _visible, attempts, max_attempts = row[0], row[1], row[2], row[3], row[4]
        retry = _policy(max_attempts, row[5], row[6], row[7])
        problem: str | None = None
        codec_error: CodecError | None = None
        try:
            payload = loads_payload(row[9], job_id=row[8])
        except CodecError as err:
            payload, problem, codec_error = {}, f"payload cannot be decoded: {err}", err
        except (PayloadError, ValueError) as err:
            payload, problem = {}, f"payload cannot be decoded: {err}"
        job = None
        if len(row) > 10 and row[10] is not None:
            try:
                state = decode_state(json_value(row[10]), job_id=row[8])
            except CodecError as err:
                problem = problem or f"job state cannot be decoded: {err}"
                codec_error = codec_error or err
            else:
                job = JobRecord(job_id=row[8], state=state, semaphore=int(row[11]))
        msg = StreamMessage(
            id=int(msg_id),
            stream=stream,
            payload=payload,
            attempt=int(attempts),
            priority=int(priority),
            retry=retry,
            job_id=row[8],
            job=job,
        )
        if problem is None and attempts > max_attempts:
            problem = unanswered(msg.id, stream, int(max_attempts))
        return msg, problem, codec_error

    async def ack(self, messages: Sequence[StreamMessage]) -> set[int]:
        """Remove delivered messages; return the ids removed (lease-fenced)."""
        if not messages:
            return set()
        call = self._driver.fetch(
            self._sql.ack, [m.id for m in messages], [m.attempt for m in messages]
        )
        rows = await guard(messages[0].stream, call)
        self._vacuumer.note_deleted(len(rows))
        return {int(r[0]) for r in rows}

    async def extend(self, messages: Sequence[StreamMessage], lease: float) -> set[int]:
        """Renew leases still held; return the ids still held (see
        :meth:`hotmesh.spi.Stream.extend`: one another statement holds is not waited for)."""
        if not messages:
            return set()
        call = self._driver.fetch(
            self._sql.extend, [m.id for m in messages], [m.attempt for m in messages], float(lease)
        )
        rows = await guard(messages[0].stream, call)
        return {int(r[0]) for r in rows}

    async def retry(self, message: StreamMessage, error: str | None = None) -> float | None:
        """Redeliver after backoff (returns the delay) or dead-letter (returns ``None``)."""
        if message.attempt >= message.retry.maximum_attempts:
            await self.dead_letter([message], error)
            return None
        delay = message.retry.delay(message.attempt)
        call = self._driver.fetchval(self._sql.retry, message.id, message.attempt, delay, error)
        moved = await guard(message.stream, call)
        if moved is not None:
            self.wakeups.wake_at(message.stream, time.time() + delay)
        return delay

    async def dead_letter(self, messages: Sequence[StreamMessage], error: str | None) -> int:
        """Move delivered messages to the dead-letter table; return how many moved."""
        if not messages:
            return 0
        call = self._driver.fetch(
            self._sql.dead_letter, [m.id for m in messages], [m.attempt for m in messages], error
        )
        rows = await guard(messages[0].stream, call)
        self._vacuumer.note_deleted(len(rows))
        return len(rows)

    async def dead_letters(self, stream: str, *, limit: int = 100) -> list[DeadLetter]:
        """The dead letters of ``stream``, oldest first."""
        rows = await guard(stream, self._driver.fetch(self._q.dead_letters, stream, limit))
        out = []
        for r in rows:
            try:
                payload = loads_payload(r[5], job_id=r[4])
            except (CodecError, PayloadError, ValueError):
                payload = {}
            out.append(DeadLetter(int(r[0]), r[1], payload, int(r[2]), r[3], r[4]))
        return out

    async def depth(self, streams: Sequence[str]) -> dict[str, StreamDepth]:
        """Message counts per stream (every requested stream is in the answer)."""
        out = {s: StreamDepth(s) for s in streams}
        rows = await guard(",".join(streams), self._driver.fetch(self._sql.depth, list(streams)))
        for r in rows:
            out[r[0]] = StreamDepth(r[0], int(r[1]), int(r[2]), int(r[3]))
        return out

    async def purge(self, stream: str) -> int:
        """Delete every message of ``stream``; return how many were deleted."""
        return await guard(stream, self._driver.execute(self._q.purge, stream))

    async def wait(self, stream: str, timeout: float, *, consumer: str = "") -> None:
        """Block until ``stream`` may have claimable messages, or ``timeout`` seconds."""
        ev = self.wakeups.event(stream, consumer)
        if not ev.is_set():
            try:
                await asyncio.wait_for(ev.wait(), timeout)
            except TimeoutError:
                return
        ev.clear()
