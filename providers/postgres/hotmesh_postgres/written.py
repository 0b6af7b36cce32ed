"""The jobs a store wrote, kept to plan their next step without reading them back.

An engine creates a job and hands its worker request to a worker of the same process; the
worker's answer then needs the job's state to plan the engine's step. The state is what
this store just wrote: :class:`Written` keeps it (as the JSON text sent, decoded only when
asked for) with the job's *version*, its row's ``xmin`` (the transaction that last wrote
it). A record served from here carries that version, and the step planned from it applies
only while the row still has it (migration 0015_job_versions): any write since, from any
process or statement, fails the step's guard, and the engine reads the job and decides
again. A step applied on a cached version extends the entry (the keys it set and removed,
the version it left); any other outcome forgets the job.

Bounded: the oldest entries are dropped past ``capacity``; a closed job is dropped at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from attrs import define, field

from hotmesh.serializer import decode_state, json_value
from hotmesh.spi import JobRecord

__all__ = ["Written"]

#: Jobs remembered per store (their state texts; a seed job's is ~1 KB).
CAPACITY = 4096


@define
class _Entry:
    text: str  # the state as created (JSON, encoded at rest)
    semaphore: int
    version: str
    steps: list[tuple[str, Sequence[str]]] = field(factory=list)  # (keys set, keys removed)
    state: dict[str, object] | None = None  # decoded on first use


class Written:
    """The state each recently written job was left in, by job id (see the module)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._entries: dict[str, _Entry] = {}
        self._capacity = capacity

    def __len__(self) -> int:
        return len(self._entries)

    def created(self, job_id: str, text: str, semaphore: int, version: str | None) -> None:
        """``job_id`` was created with the state ``text`` and left at ``version``."""
        if version is None or semaphore <= 0:
            self._entries.pop(job_id, None)
            return
        entries = self._entries
        entries.pop(job_id, None)
        entries[job_id] = _Entry(text, semaphore, version)
        if len(entries) > self._capacity:
            del entries[next(iter(entries))]

    def stepped(
        self,
        job_id: str,
        planned_from: str | None,
        keys_set: str,
        removed: Sequence[str],
        semaphore: int | None,
        version: str | None,
    ) -> None:
        """A step of ``job_id`` committed (``semaphore`` None: it did not apply).

        The entry is extended only when the step was planned from its version; otherwise
        the job is forgotten (its state here is no longer the row's)."""
        entry = self._entries.get(job_id)
        if entry is None:
            return
        if (
            planned_from is None
            or planned_from != entry.version
            or semaphore is None
            or semaphore <= 0
            or version is None
        ):
            del self._entries[job_id]
            return
        entry.steps.append((keys_set, removed))
        entry.semaphore = semaphore
        entry.version = version

    def forget(self, job_id: str) -> None:
        """``job_id`` was written some other way: its next read goes to Postgres."""
        self._entries.pop(job_id, None)

    def record(self, job_id: str) -> JobRecord | None:
        """The job as this store left it, with its version; None when not kept.

        Raises:
            Exception: the kept state cannot be decoded (as reading it would).
        """
        entry = self._entries.get(job_id)
        if entry is None:
            return None
        state = entry.state
        if state is None:
            state = decode_state(json_value(entry.text), job_id=job_id)
        for keys_set, removed in entry.steps:
            state = {**state, **decode_state(json_value(keys_set), job_id=job_id)}
            for key in removed:
                state.pop(key, None)
        entry.state, entry.steps = state, []
        # A copy: the caller may build on the record; the entry stays as written.
        return JobRecord(job_id=job_id, state=dict(state), semaphore=entry.semaphore,
                         version=entry.version)  # fmt: skip
