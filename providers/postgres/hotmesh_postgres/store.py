"""``Store`` on Postgres: app versions, settings and jobs in the app's schema."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hotmesh.errors import ConfigError, PayloadError
from hotmesh.serializer import (
    decode_state,
    decode_value,
    encode_state,
    encode_value,
    is_clear_key,
    json_text,
    json_value,
)
from hotmesh.spi import JobRecord, OutgoingMessage, StatsUpdate, StepResult, StreamMessage
from hotmesh_postgres.driver import Driver
from hotmesh_postgres.escalations import EscalationStore
from hotmesh_postgres.housekeeping import Vacuumer
from hotmesh_postgres.schema import Queries
from hotmesh_postgres.stream import message_arrays

__all__ = ["PostgresStore"]


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


class PostgresStore(EscalationStore):
    """Durable state for one app schema. See :class:`hotmesh.spi.Store`."""

    def __init__(self, driver: Driver, queries: Queries, vacuumer: Vacuumer) -> None:
        self._driver = driver
        self._q = queries
        self._vacuumer = vacuumer

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
    ) -> bool:
        """Insert a job with its first messages (and its stats); False if it exists.

        Safe to re-run after a lost connection: a job holding the id with this state's
        ``meta.gid`` is this call's own insert (committed before the connection dropped),
        and counts as created.
        """
        fields = {} if stats is None else stats.fields
        row = await self._driver.fetchrow(
            self._q.create_job,
            job_id,
            _json(encode_state(state), "job state"),
            semaphore,
            *message_arrays(messages),
            None if stats is None else stats.key,
            None if stats is None else stats.bucket,
            list(fields),
            [float(v) for v in fields.values()],
            [] if stats is None else list(dict.fromkeys(stats.facets)),
        )
        if row is None:
            return False
        gid = state.get("meta", {}).get("gid") if isinstance(state.get("meta"), Mapping) else None
        return bool(row[0]) or (gid is not None and row[2] == gid)

    async def get_job(self, job_id: str) -> JobRecord | None:
        """The job's state and semaphore, or None."""
        row = await self._driver.fetchrow(self._q.get_job, job_id)
        if row is None:
            return None
        state = decode_state(json_value(row[0]), job_id=job_id)
        return JobRecord(job_id=job_id, state=state, semaphore=int(row[1]))

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
    ) -> StepResult:
        """Commit one step atomically, in one statement (guard, fence, write, publish)."""
        kept = encode_state({k: v for k, v in state.items() if v is not None})
        removed = [k for k, v in state.items() if v is None]
        # Fenced by a delivery, or changing only state and expiry: safe to re-run.
        replay = fence is not None or not (semaphore_delta or messages or on_close)
        row = await self._driver.fetchrow(
            self._q.apply_step,
            job_id,
            _json(kept, "job state"),
            semaphore_delta,
            *message_arrays(messages),
            None if fence is None else fence.id,
            None if fence is None else fence.attempt,
            removed,
            None if expire is None else float(expire),
            *message_arrays(on_close),
            *_guard(expect),
            replay=replay,
        )
        if row is None or row[0] is None:
            return StepResult(applied=False, conflict=row is None or not row[3])
        if fence is not None:
            self._vacuumer.note_deleted(1)
        final = None if row[2] is None else decode_state(json_value(row[2]), job_id=job_id)
        return StepResult(
            applied=True,
            semaphore=int(row[0]),
            message_ids=[int(i) for i in row[1]],
            state=final,
        )

    async def purge_job_messages(self, job_id: str) -> int:
        """Delete every pending stream message of the job (timers, queued steps)."""
        count = await self._driver.execute(self._q.purge_job_messages, job_id)
        self._vacuumer.note_deleted(count)
        return count

    async def register_hook(
        self, key: str, target: Mapping[str, Any], *, ttl: float
    ) -> dict[str, Any] | None:
        """Register a waiting hook under ``key``; return a signal that was parked there."""
        async with self._driver.transaction() as tx:
            await tx.fetchval(self._q.hook_lock, key)
            row = await tx.fetchrow(self._q.hook_get, key)
            await tx.execute(self._q.hook_put, key, "hook", _json(dict(target), "hook"), float(ttl))
        if row is not None and row[0] == "pending":
            return dict(decode_value(json.loads(row[1]), field=f"signal {key}"))
        return None

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
