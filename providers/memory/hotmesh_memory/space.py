"""The data of one app in one in-memory database: the tables a Postgres schema would hold.

Everything is plain Python: dicts of rows, a clock, and the wake-up hubs of the backends
connected to the app. Values are stored as they would be at rest (JSON text or JSON
values already passed through the codec), so reads return fresh copies and the codec
behaves exactly as it does on a real database.

Operations are synchronous functions that run between two ``await`` points of the
backend's methods, so each one is atomic, as one SQL statement is.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from attrs import define, field

from hotmesh.errors import PayloadError
from hotmesh.serializer import dumps_payload
from hotmesh.spi import DEFAULT_RETRY, OutgoingMessage, RetryPolicy

if TYPE_CHECKING:
    from hotmesh_memory.sub import MemorySub
    from hotmesh_memory.wakeups import Wakeups

__all__ = ["AppSpace", "DeadRow", "JobRow", "MessageRow", "now", "round_trip", "to_json"]


def now() -> float:
    """The database clock (seconds, monotonic): visibility, leases and expiry use it."""
    return time.monotonic()


async def round_trip() -> None:
    """Let other tasks run, as a database round trip would (each operation stays atomic)."""
    await asyncio.sleep(0)


def to_json(value: Any, what: str) -> str:
    """``value`` as compact JSON text, or a :class:`PayloadError` naming ``what``."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise PayloadError(f"{what} is not JSON-serialisable: {err}", value=what) from err


@define
class MessageRow:
    """A pending stream message (a row of ``stream_messages``)."""

    id: int
    stream: str
    priority: int
    visible_at: float
    retry: RetryPolicy
    job_id: str | None
    payload: str
    created_at: float
    attempts: int = 0
    lease_until: float | None = None
    leased_by: str | None = None
    last_error: str | None = None

    def claimable(self, at: float) -> bool:
        """Visible, and not leased (or its lease has run out)."""
        return self.visible_at <= at and (self.lease_until is None or self.lease_until <= at)

    def held(self, at: float) -> bool:
        """Leased, with the lease still running."""
        return self.lease_until is not None and self.lease_until > at


@define
class DeadRow:
    """A dead-lettered message."""

    id: int
    stream: str
    priority: int
    attempts: int
    error: str | None
    job_id: str | None
    payload: str
    dead_at: float


@define
class JobRow:
    """A job: its stored state (key -> JSON text of the value at rest), semaphore, expiry."""

    state: dict[str, str]
    semaphore: int
    expires_at: float | None = None
    #: Wall-clock times (``time.time()``), for the inspector: created, last written.
    created_at: float = field(factory=time.time)
    updated_at: float = field(factory=time.time)

    def live(self, at: float) -> bool:
        """Not expired (an expired job is invisible to every read)."""
        return self.expires_at is None or self.expires_at > at


@define
class VersionRow:
    """A stored app version."""

    manifest: str
    active: bool = False
    #: Wall-clock times (``time.time()``), for the inspector.
    created_at: float = field(factory=time.time)
    activated_at: float | None = None


@define
class HookRow:
    """A registered hook (``kind="hook"``) or a parked signal (``kind="pending"``)."""

    kind: str
    value: str
    expires_at: float


@define
class AppSpace:
    """Every table of one app, plus who is connected to it (for wake-ups and pub/sub)."""

    versions: dict[str, VersionRow] = field(factory=dict)
    settings: dict[str, str] = field(factory=dict)
    jobs: dict[str, JobRow] = field(factory=dict)
    messages: dict[int, MessageRow] = field(factory=dict)
    streams: dict[str, dict[int, MessageRow]] = field(factory=dict)
    dead: list[DeadRow] = field(factory=list)
    hooks: dict[str, HookRow] = field(factory=dict)
    stats: dict[tuple[str, str], dict[str, float]] = field(factory=dict)
    stats_index: dict[tuple[str, str, str], dict[str, None]] = field(factory=dict)
    escalations: dict[str, dict[str, Any]] = field(factory=dict)
    wakeups: list[Wakeups] = field(factory=list)
    subs: list[MemorySub] = field(factory=list)
    _ids: Iterator[int] = field(factory=lambda: itertools.count(1))

    # -- messages ----------------------------------------------------------------------

    @staticmethod
    def encode(messages: Sequence[OutgoingMessage]) -> list[tuple[OutgoingMessage, str]]:
        """Messages with their payloads encoded as at rest (raises before anything is stored).

        Raises:
            PayloadError: a payload is not a JSON object, not serialisable, or too large.
        """
        return [(m, dumps_payload(m.payload)) for m in messages]

    def insert(self, encoded: Sequence[tuple[OutgoingMessage, str]]) -> list[int]:
        """Insert encoded messages in order; wake their consumers; return the ids.

        A handed-off message (``lease`` > 0) is stored as its first delivery, leased.
        """
        at = now()
        ids = []
        for m, payload in encoded:
            row = MessageRow(
                id=next(self._ids),
                stream=m.stream,
                priority=m.priority,
                visible_at=at + float(m.delay),
                retry=m.retry or DEFAULT_RETRY,
                job_id=m.job_id,
                payload=payload,
                created_at=at,
            )
            if m.lease > 0:  # handed off: delivered already, no one to wake until it lapses
                row.attempts, row.lease_until, row.leased_by = 1, at + m.lease, "handoff"
            self.messages[row.id] = row
            self.streams.setdefault(row.stream, {})[row.id] = row
            ids.append(row.id)
            self.wake(row.stream, row.visible_at if row.lease_until is None else row.lease_until)
        return ids

    def take(self, message_id: int, attempt: int) -> MessageRow | None:
        """Remove and return the message for that delivery (the lease fence), or None."""
        row = self.messages.get(message_id)
        if row is None or row.attempts != attempt:
            return None
        self.remove(row)
        return row

    def remove(self, row: MessageRow) -> None:
        """Delete a message."""
        del self.messages[row.id]
        del self.streams[row.stream][row.id]

    def drop_messages(self, *, job_id: str | None = None, stream: str | None = None) -> int:
        """Delete every pending message of ``job_id`` or of ``stream``; return how many."""
        if stream is not None:
            doomed = list(self.streams.get(stream, {}).values())
        else:
            doomed = [row for row in self.messages.values() if row.job_id == job_id]
        for row in doomed:
            self.remove(row)
        return len(doomed)

    def bury(self, row: MessageRow, error: str | None) -> None:
        """File a removed message among the dead letters."""
        self.dead.append(
            DeadRow(
                id=row.id,
                stream=row.stream,
                priority=row.priority,
                attempts=row.attempts,
                error=error,
                job_id=row.job_id,
                payload=row.payload,
                dead_at=now(),
            )
        )

    def wake(self, stream: str, visible_at: float) -> None:
        """Tell every connected backend that ``stream`` has work from ``visible_at`` on."""
        for hub in self.wakeups:
            hub.wake_at(stream, visible_at)

    # -- jobs --------------------------------------------------------------------------

    def live_job(self, job_id: str) -> JobRow | None:
        """The job if it exists and has not expired."""
        row = self.jobs.get(job_id)
        return row if row is not None and row.live(now()) else None

    def sweep_expired(self) -> None:
        """Forget expired jobs (they are invisible already; this frees the memory)."""
        at = now()
        for job_id in [k for k, row in self.jobs.items() if not row.live(at)]:
            del self.jobs[job_id]
