"""``Store`` on Postgres: app versions, settings and jobs in the app's schema."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import define

from hotmesh.errors import ConfigError, DatabaseUnavailable, PayloadError
from hotmesh.serializer import (
    decode_state,
    decode_value,
    encode_state,
    encode_value,
    is_clear_key,
    json_text,
    json_value,
)
from hotmesh.spi import (
    JobCreated,
    JobRecord,
    OutgoingMessage,
    StatsUpdate,
    StepResult,
    StreamMessage,
)
from hotmesh_postgres.driver import Driver
from hotmesh_postgres.escalations import EscalationStore
from hotmesh_postgres.grouping import GroupCommit
from hotmesh_postgres.housekeeping import Vacuumer
from hotmesh_postgres.schema import Queries
from hotmesh_postgres.stream import message_arrays
from hotmesh_postgres.written import Written

__all__ = ["PostgresStore"]

log = logging.getLogger(__name__)


#: How many times :meth:`PostgresStore.register_hook` tries after lost connections.
HOOK_ATTEMPTS = 5


def _parked(value: Any, key: str) -> dict[str, Any]:
    return dict(decode_value(value, field=f"signal {key}"))


def _json(value: Any, what: str) -> str:
    try:
        return json_text(value)
    except (TypeError, ValueError) as err:
        raise PayloadError(f"{what} is not JSON-serialisable: {err}", value=what) from err


def _guard(expect: Mapping[str, Any] | None) -> tuple[str, list[str], bool]:
    """apply_step's guard parameters: keys that must hold a value (as a containment
    object), keys that must be absent, and whether there is a guard at all."""
    if expect is None:
        return "{}", [], False
    for key in expect:
        if not is_clear_key(key):
            raise ConfigError(f"an expect key must be a clear state key, got {key!r}", value=key)
    present = {k: v for k, v in expect.items() if v is not None}
    return _json(present, "expect"), [k for k, v in expect.items() if v is None], True


@define(frozen=True)
class _Step:
    """One ``apply_step`` call, encoded (``guard`` None: no guard)."""

    job_id: str
    state: str
    delta: int
    fence_id: int | None
    fence_attempt: int | None
    expire: float | None
    removed: list[str]
    guard: str | None
    absent: list[str]
    messages: Sequence[OutgoingMessage]
    on_close: Sequence[OutgoingMessage]
    version: str | None = None  # the job's version the step was planned from

    def columns(self) -> tuple[Any, ...]:
        """The step's values of the ten per-step arrays of ``apply_steps``, in order."""
        return (
            self.job_id, self.state, self.delta, self.fence_id, self.fence_attempt,
            self.expire, json_text(self.removed) if self.removed else None, self.guard,
            json_text(self.absent) if self.absent else None, self.version,
        )  # fmt: skip

    def alone(self, q: Queries) -> tuple[str, list[Any]]:
        """The lean statement for this step on its own, and its parameters."""
        guard = (self.guard or "{}", self.absent, self.guard is not None, self.version)
        if self.messages or self.on_close:
            return q.apply_step, [
                self.job_id, self.state, self.delta, *message_arrays(self.messages),
                self.fence_id, self.fence_attempt, self.removed, self.expire,
                *message_arrays(self.on_close), *guard,
            ]  # fmt: skip
        return q.apply_step_bare, [
            self.job_id, self.state, self.delta, self.fence_id, self.fence_attempt,
            self.removed, self.expire, *guard,
        ]  # fmt: skip


@define(frozen=True)
class _NewJob:
    """One ``create_job`` call without stats, encoded for ``create_jobs`` (queries.sql)."""

    job_id: str
    state: str
    semaphore: int
    messages: Sequence[OutgoingMessage]


_Created = tuple[bool, str | None, list[int]]
"""One job of ``create_jobs``: created here, gid of the job holding the id, message ids."""


def _gid(state: Mapping[str, Any]) -> Any:
    """The job's generation id (``meta.gid``): tells a re-run its own earlier insert."""
    meta = state.get("meta")
    return meta.get("gid") if isinstance(meta, Mapping) else None


class PostgresStore(EscalationStore):
    """Durable state for one app schema. See :class:`hotmesh.spi.Store`."""

    def __init__(self, driver: Driver, queries: Queries, vacuumer: Vacuumer) -> None:
        self._driver = driver
        self._q = queries
        self._vacuumer = vacuumer
        self._steps: GroupCommit[_Step, StepResult] = GroupCommit(self._apply_steps)
        self._creates: GroupCommit[_NewJob, _Created] = GroupCommit(self._create_jobs)
        self._reads: GroupCommit[str, JobRecord | None] = GroupCommit(self._get_jobs)
        #: The jobs this store created or stepped, to plan their next step without a read.
        self.written = Written()

    async def put_version(self, version: str, manifest: Mapping[str, Any]) -> None:
        """Store the compiled manifest of ``version``.

        Raises:
            ConfigError: the version is active and ``manifest`` differs from it (an active
                plan is immutable; storing the same manifest again is a no-op).
        """
        stored = await self._driver.fetchval(
            self._q.put_version, version, _json(dict(manifest), "manifest")
        )
        if stored is None:
            raise ConfigError(
                f"version {version!r} is active and cannot be replaced: give the changed "
                "app a new app.version, then activate it",
                value=version,
            )

    async def get_version(self, version: str) -> dict[str, Any] | None:
        """The manifest of ``version``, or None."""
        text = await self._driver.fetchval(self._q.get_version, version)
        return None if text is None else dict(json.loads(text))

    async def list_versions(self) -> list[str]:
        """Every stored version, oldest first."""
        return [r[0] for r in await self._driver.fetch(self._q.list_versions)]

    async def activate(self, version: str) -> None:
        """Make ``version`` the active one.

        Raises:
            ConfigError: the version was never stored.
        """
        if await self._driver.fetchval(self._q.activate, version) is None:
            raise ConfigError(f"version {version!r} has not been deployed", value=version)

    async def active_version(self) -> str | None:
        """The active version, or None."""
        value = await self.get_setting("active_version")
        return None if value is None else str(value)

    async def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key``."""
        await self._driver.execute(self._q.set_setting, key, _json(value, f"setting {key!r}"))

    async def get_setting(self, key: str) -> Any | None:
        """The JSON value under ``key``, or None."""
        text = await self._driver.fetchval(self._q.get_setting, key)
        return None if text is None else json.loads(text)

    async def create_job(
        self,
        job_id: str,
        state: Mapping[str, Any],
        *,
        semaphore: int = 0,
        messages: Sequence[OutgoingMessage] = (),
        stats: StatsUpdate | None = None,
    ) -> JobCreated:
        """Insert a job with its first messages (and its stats); false if it exists.

        Safe to re-run after a lost connection: a job holding the id with this state's
        ``meta.gid`` is this call's own insert (committed before the connection dropped),
        and counts as created (without message ids: that run's are unknown). Jobs without
        stats are group-committed as steps are (see :meth:`apply_step`): alone at once
        when no batch is in flight, else together.
        """
        if stats is None:
            # Group commit: jobs created while a batch is in flight go together.
            job = _NewJob(job_id, _json(encode_state(state), "job state"), semaphore, messages)
            created, holder, ids = await self._creates.submit(job)
            if created:
                return JobCreated(True, ids)
            return JobCreated(holder is not None and holder == _gid(state))
        fields = stats.fields
        text = _json(encode_state(state), "job state")
        row = await self._driver.fetchrow(
            self._q.create_job,
            job_id,
            text,
            semaphore,
            *message_arrays(messages),
            stats.key,
            stats.bucket,
            list(fields),
            [float(v) for v in fields.values()],
            list(dict.fromkeys(stats.facets)),
        )
        if row is None:
            return JobCreated(False)
        if row[0]:
            self.written.created(job_id, text, semaphore, row[3])
            return JobCreated(True, [int(x) for x in row[1]])
        gid = _gid(state)
        return JobCreated(gid is not None and row[2] == gid)

    async def _create_jobs(self, jobs: list[_NewJob]) -> list[_Created | Exception]:
        """Create ``jobs`` in one statement: (created here, gid of the job holding the id,
        ids of its messages)."""
        if len(jobs) == 1:  # alone: the lean create_job statement, without stats
            job = jobs[0]
            row = await self._driver.fetchrow(
                self._q.create_job, job.job_id, job.state, job.semaphore,
                *message_arrays(job.messages), None, None, [], [], [],
            )  # fmt: skip
            if row is None:
                return [(False, None, [])]
            if row[0]:
                self.written.created(job.job_id, job.state, job.semaphore, row[3])
            return [(bool(row[0]), row[2], [int(x) for x in row[1]])]
        # Insert in one order in every batch, so two batches never deadlock on an id.
        order = sorted(range(len(jobs)), key=lambda i: jobs[i].job_id)
        steps: list[int] = []
        picked: list[OutgoingMessage] = []
        for n, i in enumerate(order, start=1):
            picked += jobs[i].messages
            steps += [n] * len(jobs[i].messages)
        rows = await self._driver.fetch(
            self._q.create_jobs,
            [jobs[i].job_id for i in order],
            [jobs[i].state for i in order],
            [jobs[i].semaphore for i in order],
            steps,
            *message_arrays(picked),
        )
        out: list[_Created | Exception] = [(False, None, [])] * len(jobs)
        for row in rows:
            i = order[int(row[0]) - 1]
            job = jobs[i]
            ids = [] if row[3] is None else [int(x) for x in row[3]]
            out[i] = (bool(row[1]), row[2], ids)
            if row[1]:
                self.written.created(job.job_id, job.state, job.semaphore, row[4])
        return out

    async def get_job(self, job_id: str, *, written: bool = False) -> JobRecord | None:
        """The job's state and semaphore, or None.

        ``written``: a job this store created or stepped is answered as it left it, with
        its version (:mod:`hotmesh_postgres.written`; a step planned from it applies only
        while the job is still at that version). Reads made while one is in flight go
        together, in one statement (the engine reads the job of each message handed to it
        without a claim).
        """
        if written:
            try:
                kept = self.written.record(job_id)
            except Exception:  # undecodable: let the read say so
                kept = None
                self.written.forget(job_id)
            if kept is not None:
                return kept
        return await self._reads.submit(job_id)

    async def _get_jobs(self, ids: list[str]) -> list[JobRecord | Exception | None]:
        """Read ``ids`` in one statement: a record, None or its decoding error for each."""
        found: dict[str, tuple[str, int]] = {}
        if len(ids) == 1:
            row = await self._driver.fetchrow(self._q.get_job, ids[0])
            if row is not None:
                found[ids[0]] = (row[0], int(row[1]))
        else:
            for row in await self._driver.fetch(self._q.get_jobs, list(dict.fromkeys(ids))):
                found[row[0]] = (row[1], int(row[2]))
        out: list[JobRecord | Exception | None] = []
        for job_id in ids:
            if job_id not in found:
                out.append(None)
                continue
            text, semaphore = found[job_id]
            try:
                state = decode_state(json_value(text), job_id=job_id)
            except Exception as err:  # this job's alone
                out.append(err)
                continue
            out.append(JobRecord(job_id=job_id, state=state, semaphore=semaphore))
        return out

    async def get_status(self, job_id: str) -> int | None:
        """The live job's semaphore, or None (no state is read, so no codec is needed)."""
        value = await self._driver.fetchval(self._q.get_status, job_id)
        return None if value is None else int(value)

    async def apply_step(
        self,
        job_id: str,
        state: Mapping[str, Any],
        *,
        semaphore_delta: int = 0,
        messages: Sequence[OutgoingMessage] = (),
        fence: StreamMessage | None = None,
        expire: float | None = None,
        on_close: Sequence[OutgoingMessage] = (),
        expect: Mapping[str, Any] | None = None,
        version: str | None = None,
    ) -> StepResult:
        """Commit one step atomically (guard, fence, write, publish).

        Steps that are safe to re-run (fenced by a delivery, or changing only state and
        expiry) are group-committed: sent at once when no batch is in flight, else together
        with the other steps that arrived meanwhile, in one statement (each step still
        guarded, fenced and applied on its own: see ``apply_steps`` in queries.sql).
        """
        kept = encode_state({k: v for k, v in state.items() if v is not None})
        removed = [k for k, v in state.items() if v is None]
        guard_has, guard_absent, guarded = _guard(expect)
        step = _Step(
            job_id=job_id,
            state=_json(kept, "job state"),
            delta=semaphore_delta,
            fence_id=None if fence is None else fence.id,
            fence_attempt=None if fence is None else fence.attempt,
            expire=None if expire is None else float(expire),
            removed=removed,
            guard=guard_has if guarded else None,
            absent=guard_absent,
            messages=messages,
            on_close=on_close,
            version=version,
        )
        # Fenced by a delivery, or changing only state and expiry: safe to re-run.
        if fence is not None or not (semaphore_delta or messages or on_close):
            return await self._steps.submit(step)
        result = (await self._apply_steps([step], replay=False))[0]
        if isinstance(result, Exception):
            raise result
        return result

    async def _apply_steps(
        self, steps: list[_Step], *, replay: bool = True
    ) -> list[StepResult | Exception]:
        """Run ``steps`` in one statement; one result per step, in order.

        Once the statement has returned, its steps are committed: a step whose final state
        cannot be decoded gets its error as its result, and the others are unaffected.
        """
        if len(steps) == 1:  # alone: one of the two lean statements
            sql, args = steps[0].alone(self._q)
            row = await self._driver.fetchrow(sql, *args, replay=replay)
            order = [0]
            rows: Sequence[Sequence[Any]] = [
                (1, None, None, None, False, None) if row is None else (1, *row)
            ]
        else:
            order, rows = await self._apply_batch(steps)
        out: list[StepResult | Exception] = [StepResult(applied=False, conflict=True)] * len(steps)
        fenced = 0
        for row in rows:
            i = order[int(row[0]) - 1]
            step = steps[i]
            self.written.stepped(
                step.job_id, step.version, step.state, step.removed, row[1], row[5]
            )
            if row[1] is None:
                out[i] = StepResult(applied=False, conflict=not row[4])
                continue
            fenced += steps[i].fence_id is not None
            final = None
            if row[3] is not None:
                try:
                    final = decode_state(json_value(row[3]), job_id=steps[i].job_id)
                except Exception as err:  # committed: the error is this step's alone
                    out[i] = err
                    continue
            out[i] = StepResult(
                applied=True,
                semaphore=int(row[1]),
                message_ids=[int(x) for x in row[2]],
                state=final,
            )
        if fenced:
            self._vacuumer.note_deleted(fenced)
        return out

    async def _apply_batch(self, steps: list[_Step]) -> tuple[list[int], list[Any]]:
        """Run several steps as one ``apply_steps``; the order sent, and its rows."""
        # Lock job rows in one order in every batch, so two batches never deadlock.
        order = sorted(range(len(steps)), key=lambda i: steps[i].job_id)
        cols: list[list[Any]] = [[] for _ in range(10)]
        m_steps: list[int] = []
        m_closing: list[bool] = []
        picked: list[OutgoingMessage] = []
        for n, i in enumerate(order, start=1):
            s = steps[i]
            for col, value in zip(cols, s.columns(), strict=True):
                col.append(value)
            for closing, batch in ((False, s.messages), (True, s.on_close)):
                picked += batch
                m_steps += [n] * len(batch)
                m_closing += [closing] * len(batch)
        rows = await self._driver.fetch(
            self._q.apply_steps, *cols, m_steps, m_closing, *message_arrays(picked), replay=True
        )
        return order, rows

    async def checkpoint(
        self,
        job_id: str,
        state: Mapping[str, Any],
        *,
        fence: StreamMessage,
        read: Sequence[str] = (),
    ) -> dict[str, Any] | None:
        """Merge ``state`` into the open job while ``fence`` is held (one statement)."""
        for key in read:
            if not is_clear_key(key):
                raise ConfigError(f"a read key must be a clear state key, got {key!r}", value=key)
        kept = encode_state({k: v for k, v in state.items() if v is not None})
        removed = [k for k, v in state.items() if v is None]
        self.written.forget(job_id)  # its next step reads the job
        text = await self._driver.fetchval(
            self._q.checkpoint,
            job_id,
            _json(kept, "job state"),
            fence.id,
            fence.attempt,
            removed,
            list(read),
        )
        return None if text is None else dict(json.loads(text))

    async def purge_job_messages(self, job_id: str) -> int:
        """Delete every pending stream message of the job (timers, queued steps)."""
        count = await self._driver.execute(self._q.purge_job_messages, job_id)
        self._vacuumer.note_deleted(count)
        return count

    async def register_hook(
        self, key: str, target: Mapping[str, Any], *, ttl: float
    ) -> dict[str, Any] | None:
        """Register a waiting hook under ``key``; return a signal that was parked there.

        A registration cut off by a lost connection is run again (it is safe to repeat:
        see :meth:`_register_hook`), so a job never waits on a hook that is not there
        because of a dropped statement; :class:`DatabaseUnavailable` only after
        :data:`HOOK_ATTEMPTS` tries.
        """
        taken: list[Any] = []  # the parked signal a try read under the key's lock
        for attempt in range(1, HOOK_ATTEMPTS + 1):
            try:
                return await self._register_hook(key, dict(target), float(ttl), taken)
            except DatabaseUnavailable:
                if attempt == HOOK_ATTEMPTS:
                    raise
                log.warning("hook registration lost its connection; registering again",
                            extra={"key": key, "attempt": attempt})  # fmt: skip
                await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _register_hook(
        self, key: str, target: dict[str, Any], ttl: float, taken: list[Any]
    ) -> dict[str, Any] | None:
        """One try, in one transaction. ``taken`` holds the parked signal an earlier try
        read: when that try committed (its answer lost with the connection), this one
        finds its own hook row and returns that signal instead of losing it."""
        async with self._driver.transaction() as tx:
            await tx.fetchval(self._q.hook_lock, key)
            row = await tx.fetchrow(self._q.hook_get, key)
            if row is not None and row[0] == "hook" and json.loads(row[1]) == target:
                return _parked(taken[0], key) if taken else None  # committed already
            taken[:] = [json.loads(row[1])] if row is not None and row[0] == "pending" else []
            await tx.execute(self._q.hook_put, key, "hook", _json(target, "hook"), ttl)
        return _parked(taken[0], key) if taken else None

    async def signal_hook(
        self, key: str, signal: Mapping[str, Any], *, ttl: float
    ) -> dict[str, Any] | None:
        """The hook registered under ``key``; without one, park ``signal`` and return None."""
        async with self._driver.transaction() as tx:
            await tx.fetchval(self._q.hook_lock, key)
            row = await tx.fetchrow(self._q.hook_get, key)
            if row is not None and row[0] == "hook":
                return dict(json.loads(row[1]))
            parked = _json(encode_value(dict(signal)), "signal")  # user data: through the codec
            await tx.execute(self._q.hook_put, key, "pending", parked, float(ttl))
        return None

    async def delete_hook(self, key: str, *, target: Mapping[str, Any] | None = None) -> None:
        """Remove the registration (or parked signal) under ``key``; with ``target``,
        only a hook registered for that target."""
        if target is not None:
            await self._driver.execute(self._q.hook_delete_if, key, _json(dict(target), "hook"))
            return
        await self._driver.execute(self._q.hook_delete, key)

    async def delete_job(self, job_id: str) -> bool:
        """Remove the job and its pending messages; True if it existed."""
        self.written.forget(job_id)
        return bool(await self._driver.fetchval(self._q.delete_job, job_id))

    async def get_stats(self, key: str, buckets: Sequence[str]) -> dict[str, dict[str, float]]:
        """The counters of ``key`` per bucket (buckets without any are left out)."""
        out: dict[str, dict[str, float]] = {}
        for bucket, name, value in await self._driver.fetch(self._q.get_stats, key, list(buckets)):
            out.setdefault(bucket, {})[name] = float(value)
        return out

    async def get_ids(
        self, key: str, buckets: Sequence[str], facets: Sequence[str]
    ) -> dict[str, dict[str, list[str]]]:
        """bucket -> facet -> the job ids filed there, oldest first."""
        rows = await self._driver.fetch(self._q.get_ids, key, list(buckets), list(facets))
        out: dict[str, dict[str, list[str]]] = {}
        for bucket, facet, job_id in rows:
            out.setdefault(bucket, {}).setdefault(facet, []).append(job_id)
        return out

    async def delete_stats(self, key: str, buckets: Sequence[str], facets: Sequence[str]) -> None:
        """Remove the counters of those buckets and the ids filed under ``facets`` there."""
        await self._driver.execute(self._q.delete_stats, key, list(buckets), list(facets))
