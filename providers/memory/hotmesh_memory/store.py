"""``Store`` in memory: versions, settings, jobs, hooks and stats of one app.

Each method is one atomic step between two awaits, which is what one SQL statement (or
one transaction) is on Postgres; read it as the executable form of
:class:`hotmesh.spi.Store`'s contract.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from hotmesh.errors import ConfigError
from hotmesh.serializer import decode_value, encode_value, is_clear_key
from hotmesh.spi import (
    JobCreated,
    JobRecord,
    OutgoingMessage,
    StatsUpdate,
    StepResult,
    StreamMessage,
)
from hotmesh_memory.escalations import EscalationStore
from hotmesh_memory.jobs import (
    check_expect,
    close_job,
    holds,
    merge_state,
    read_state,
    stored_state,
)
from hotmesh_memory.space import (
    AppSpace,
    HookRow,
    JobRow,
    VersionRow,
    now,
    round_trip,
    to_json,
)

__all__ = ["MemoryStore"]

#: Expired jobs are forgotten after this many job creations (they are invisible at once).
SWEEP_EVERY = 1000


class MemoryStore(EscalationStore):
    """Durable (for the life of the process) state of one app. See :class:`hotmesh.spi.Store`.

    Example:
        >>> async def demo(store: MemoryStore) -> None:  # doctest: +SKIP
        ...     await store.create_job("j1", {"status": "new"}, semaphore=1)
        ...     await store.apply_step("j1", {"status": "done"}, semaphore_delta=-1)
    """

    def __init__(self, space: AppSpace) -> None:
        self._space = space
        self._created = 0

    # -- versions and settings ---------------------------------------------------------

    async def put_version(self, version: str, manifest: Mapping[str, Any]) -> None:
        """Store the compiled manifest of ``version``.

        Raises:
            ConfigError: the version is active and ``manifest`` differs from it.
        """
        text = to_json(dict(manifest), "manifest")
        await round_trip()
        row = self._space.versions.get(version)
        if row is None:
            self._space.versions[version] = VersionRow(text)
        elif not row.active or json.loads(row.manifest) == json.loads(text):
            row.manifest = text
        else:
            raise ConfigError(
                f"version {version!r} is active and cannot be replaced", value=version
            )

    async def get_version(self, version: str) -> dict[str, Any] | None:
        """The manifest of ``version``, or None."""
        await round_trip()
        row = self._space.versions.get(version)
        return None if row is None else dict(json.loads(row.manifest))

    async def list_versions(self) -> list[str]:
        """Every stored version, oldest first."""
        await round_trip()
        return list(self._space.versions)

    async def activate(self, version: str) -> None:
        """Make ``version`` the active one.

        Raises:
            ConfigError: the version was never stored.
        """
        await round_trip()
        row = self._space.versions.get(version)
        if row is None:
            raise ConfigError(f"version {version!r} has not been deployed", value=version)
        row.active = True
        row.activated_at = time.time()
        self._space.settings["active_version"] = to_json(version, "version")

    async def active_version(self) -> str | None:
        """The active version, or None."""
        value = await self.get_setting("active_version")
        return None if value is None else str(value)

    async def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key``."""
        text = to_json(value, f"setting {key!r}")
        await round_trip()
        self._space.settings[key] = text

    async def get_setting(self, key: str) -> Any | None:
        """The JSON value under ``key``, or None."""
        await round_trip()
        text = self._space.settings.get(key)
        return None if text is None else json.loads(text)

    # -- jobs --------------------------------------------------------------------------

    async def create_job(
        self,
        job_id: str,
        state: Mapping[str, Any],
        *,
        semaphore: int = 0,
        messages: Sequence[OutgoingMessage] = (),
        stats: StatsUpdate | None = None,
    ) -> JobCreated:
        """Insert a job with its first messages (and its stats); false if a live one exists."""
        stored = stored_state(state)
        encoded = self._space.encode(messages)
        await round_trip()
        space = self._space
        if space.live_job(job_id) is not None:
            return JobCreated(False)
        space.jobs[job_id] = JobRow(stored, int(semaphore))  # an expired one is replaced
        ids = space.insert(encoded)
        if stats is not None:
            counters = space.stats.setdefault((stats.key, stats.bucket), {})
            for name, value in stats.fields.items():
                counters[name] = counters.get(name, 0.0) + float(value)
            for facet in stats.facets:
                space.stats_index.setdefault((stats.key, stats.bucket, facet), {})[job_id] = None
        self._created += 1
        if self._created % SWEEP_EVERY == 0:
            space.sweep_expired()
        return JobCreated(True, ids)

    async def get_job(self, job_id: str, *, written: bool = False) -> JobRecord | None:
        """The live job's state and semaphore, or None (always read: ``written`` is moot)."""
        await round_trip()
        row = self._space.live_job(job_id)
        if row is None:
            return None
        return JobRecord(job_id=job_id, state=read_state(row, job_id), semaphore=row.semaphore)

    async def get_status(self, job_id: str) -> int | None:
        """The live job's semaphore, or None (no state is decoded)."""
        await round_trip()
        row = self._space.live_job(job_id)
        return None if row is None else row.semaphore

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
        version: str | None = None,  # unused: its records carry no version
    ) -> StepResult:
        """Commit one step atomically (see :class:`hotmesh.spi.Store`).

        The job must be live, and hold what ``expect`` names; otherwise nothing happens
        and the result is a conflict (the fence is not consumed). Then the fence is acked;
        when it is no longer held nothing else happens (the step already did).
        """
        check_expect(expect)
        probe = JobRow({}, 0)
        merge_state(probe, state)  # encodes (and validates) every value before any write
        encoded = self._space.encode(messages)
        closing = self._space.encode(on_close)
        await round_trip()
        space = self._space
        row = space.live_job(job_id)
        if row is None or (expect is not None and not holds(row, expect)):
            return StepResult(applied=False, conflict=True)
        if fence is not None and space.take(fence.id, fence.attempt) is None:
            return StepResult(applied=False)
        merge_state(row, state)
        row.semaphore += int(semaphore_delta)
        ids = space.insert(encoded)
        final = None
        if row.semaphore <= 0:
            close_job(row, expire)
            ids += space.insert(closing)
            final = read_state(row, job_id)
        return StepResult(applied=True, semaphore=row.semaphore, message_ids=ids, state=final)

    async def checkpoint(
        self,
        job_id: str,
        state: Mapping[str, Any],
        *,
        fence: StreamMessage,
        read: Sequence[str] = (),
    ) -> dict[str, Any] | None:
        """Merge ``state`` into the open job while ``fence`` is held (see
        :class:`hotmesh.spi.Store`); the delivery stays held."""
        for key in read:
            if not is_clear_key(key):
                raise ConfigError(f"a read key must be a clear state key, got {key!r}", value=key)
        probe = JobRow({}, 0)
        merge_state(probe, state)  # encodes (and validates) every value before any write
        await round_trip()
        row = self._space.live_job(job_id)
        held = self._space.messages.get(fence.id)
        if row is None or row.semaphore <= 0:
            return None
        if held is None or held.attempts != fence.attempt or held.lease_until is None:
            return None
        merge_state(row, state)
        return {k: json.loads(row.state[k]) for k in read if k in row.state}

    async def purge_job_messages(self, job_id: str) -> int:
        """Delete every pending stream message of the job; return how many."""
        await round_trip()
        return self._space.drop_messages(job_id=job_id)

    async def delete_job(self, job_id: str) -> bool:
        """Remove the job and its pending messages; True if it existed."""
        await round_trip()
        self._space.drop_messages(job_id=job_id)
        return self._space.jobs.pop(job_id, None) is not None

    # -- hooks -------------------------------------------------------------------------

    def _hook(self, key: str) -> HookRow | None:
        row = self._space.hooks.get(key)
        return row if row is not None and row.expires_at > now() else None

    async def register_hook(
        self, key: str, target: Mapping[str, Any], *, ttl: float
    ) -> dict[str, Any] | None:
        """Register a waiting hook under ``key``; return a signal parked there before it."""
        text = to_json(dict(target), "hook")
        await round_trip()
        parked = self._hook(key)
        self._space.hooks[key] = HookRow("hook", text, now() + float(ttl))
        if parked is not None and parked.kind == "pending":
            return dict(decode_value(json.loads(parked.value), field=f"signal {key}"))
        return None

    async def signal_hook(
        self, key: str, signal: Mapping[str, Any], *, ttl: float
    ) -> dict[str, Any] | None:
        """The hook registered under ``key``; without one, park ``signal`` and return None."""
        text = to_json(encode_value(dict(signal)), "signal")  # user data: through the codec
        await round_trip()
        found = self._hook(key)
        if found is not None and found.kind == "hook":
            return dict(json.loads(found.value))
        self._space.hooks[key] = HookRow("pending", text, now() + float(ttl))
        return None

    async def delete_hook(self, key: str, *, target: Mapping[str, Any] | None = None) -> None:
        """Remove the registration (or parked signal) under ``key``; with ``target``,
        only a hook registered for that target."""
        await round_trip()
        if target is not None:
            row = self._space.hooks.get(key)
            if row is None or row.kind != "hook" or json.loads(row.value) != dict(target):
                return
        self._space.hooks.pop(key, None)

    # -- stats -------------------------------------------------------------------------

    async def get_stats(self, key: str, buckets: Sequence[str]) -> dict[str, dict[str, float]]:
        """The counters of ``key`` per bucket (buckets without any are left out)."""
        await round_trip()
        out = {}
        for bucket in dict.fromkeys(buckets):
            counters = self._space.stats.get((key, bucket))
            if counters:
                out[bucket] = dict(counters)
        return out

    async def get_ids(
        self, key: str, buckets: Sequence[str], facets: Sequence[str]
    ) -> dict[str, dict[str, list[str]]]:
        """bucket -> facet -> the job ids filed there, oldest first."""
        await round_trip()
        out: dict[str, dict[str, list[str]]] = {}
        for bucket in sorted(set(buckets)):
            for facet in sorted(set(facets)):
                ids = self._space.stats_index.get((key, bucket, facet))
                if ids:
                    out.setdefault(bucket, {})[facet] = list(ids)
        return out

    async def delete_stats(self, key: str, buckets: Sequence[str], facets: Sequence[str]) -> None:
        """Remove the counters of those buckets and the ids filed under ``facets`` there."""
        await round_trip()
        for bucket in buckets:
            self._space.stats.pop((key, bucket), None)
            for facet in facets:
                self._space.stats_index.pop((key, bucket, facet), None)
