"""``Inspector`` in memory: the dashboard's read-only views over one app's tables.

The same answers the Postgres inspector computes in SQL (``inspect_*`` in its
queries.sql), in plain Python over the rows of :class:`~hotmesh_memory.space.AppSpace`:
newest-first job pages with a bounded scan and a keyset cursor, statuses from the
semaphore, per-minute throughput, stream counts.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from hotmesh.spi.inspect import (
    AppInfo,
    JobDetail,
    JobFilter,
    JobPage,
    JobSummary,
    StreamInfo,
    VersionInfo,
)
from hotmesh.spi.support import wait_any
from hotmesh_memory.jobs import read_state
from hotmesh_memory.space import AppSpace, JobRow, now, round_trip
from hotmesh_memory.stream import MemoryStream

__all__ = ["MemoryInspector", "list_apps"]

#: How many jobs created after a parent are examined to find its children (as Postgres).
CHILDREN_SCAN = 20_000
_LAST = (dt.datetime.max.replace(tzinfo=dt.UTC), "")
_FIRST = dt.datetime.min.replace(tzinfo=dt.UTC)


def _when(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _meta(row: JobRow) -> dict[str, Any]:
    value = json.loads(row.state.get("meta", "null"))
    return dict(value) if isinstance(value, dict) else {}


def _status(semaphore: int, err: Any) -> str:
    """The labels of :data:`hotmesh.spi.inspect.JOB_STATUSES`."""
    if semaphore > 0:
        return "running"
    if semaphore <= -1_000_000:  # the engine subtracts 10**9 to interrupt
        return "interrupted"
    if semaphore < 0:
        return "pending"
    return "failed" if err else "completed"


def _summary(job_id: str, row: JobRow) -> JobSummary:
    meta = _meta(row)
    return JobSummary(
        job_id=job_id,
        status=_status(row.semaphore, meta.get("err")),
        semaphore=row.semaphore,
        created_at=_when(row.created_at),
        updated_at=_when(row.updated_at),
        metadata=meta,
        cancelled="-cancelled-" in row.state,
    )


def _search_value(row: JobRow, name: str) -> str | None:
    """``state->>('_' || name)``: a string as is, another JSON value as its text."""
    text = row.state.get(f"_{name}")
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, str) else (None if value is None else text)


class MemoryInspector:
    """Read-only views of one in-memory app. See :class:`hotmesh.spi.Inspector`.

    Example:
        >>> async def failed(inspector: MemoryInspector) -> list[str]:  # doctest: +SKIP
        ...     page = await inspector.list_jobs(JobFilter(status="failed"))
        ...     return [job.job_id for job in page.jobs]
    """

    def __init__(self, space: AppSpace, stream: MemoryStream) -> None:
        self._space = space
        self._stream = stream

    async def versions(self) -> list[VersionInfo]:
        """Every deployed version, newest first, with its manifest."""
        await round_trip()
        active = self._space.settings.get("active_version")
        current = None if active is None else json.loads(active)
        rows = sorted(
            self._space.versions.items(), key=lambda kv: (kv[1].created_at, kv[0]), reverse=True
        )
        out = []
        for version, row in rows:
            data = json.loads(row.manifest)
            out.append(
                VersionInfo(
                    version=version,
                    created_at=_when(row.created_at),
                    activated_at=None if row.activated_at is None else _when(row.activated_at),
                    active=version == current,
                    manifest=dict(data.get("manifest", data)),
                )
            )
        return out

    def _newest_first(self) -> list[tuple[tuple[dt.datetime, str], JobRow]]:
        at = now()
        rows = [
            ((_when(row.created_at), job_id), row)
            for job_id, row in self._space.jobs.items()
            if row.live(at)
        ]
        rows.sort(key=lambda item: item[0], reverse=True)
        return rows

    async def list_jobs(self, query: JobFilter) -> JobPage:
        """One page of jobs matching ``query``, newest first (at most ``scan`` examined)."""
        await round_trip()
        cursor = query.after if query.after is not None else _LAST
        since, until = query.since or _FIRST, query.until or _LAST[0]
        scan = max(1, query.scan)
        unfiltered = query.topic is None and query.status is None and query.search is None
        if unfiltered and query.job_id is None:  # nothing to skip: read just the page
            scan = min(scan, max(1, query.limit))
        if query.job_id is not None:  # one job: straight to it, as the index would
            row = self._space.live_job(query.job_id)
            window = [] if row is None else [((_when(row.created_at), query.job_id), row)]
        else:
            window = self._newest_first()
        scanned = [(key, row) for key, row in window if key < cursor and since <= key[0] < until][
            :scan
        ]
        limit = max(1, query.limit)
        jobs: list[JobSummary] = []
        for (_, job_id), row in scanned:
            summary = _summary(job_id, row)
            if query.topic is not None and summary.topic != query.topic:
                continue
            if query.status is not None and summary.status != query.status:
                continue
            if query.search is not None and _search_value(row, query.search[0]) != str(
                query.search[1]
            ):
                continue
            jobs.append(summary)
            if len(jobs) >= limit:
                break
        next_cursor: tuple[dt.datetime, str] | None = None
        if len(jobs) >= query.limit:
            next_cursor = (jobs[-1].created_at, jobs[-1].job_id)
        elif len(scanned) >= scan and scanned:
            next_cursor = scanned[-1][0]
        return JobPage(jobs=jobs, next_cursor=next_cursor, scanned=len(scanned))

    async def job(self, job_id: str) -> JobDetail | None:
        """The job with its decoded state, or None.

        Raises:
            CodecError: a value was stored through a codec this process lacks.
        """
        await round_trip()
        row = self._space.live_job(job_id)
        if row is None:
            return None
        expires = None
        if row.expires_at is not None:  # the database clock is monotonic: as wall time
            expires = _when(time.time() + row.expires_at - now())
        return JobDetail(
            summary=_summary(job_id, row), state=read_state(row, job_id), expires_at=expires
        )

    async def children(self, job: JobSummary, *, limit: int = 100) -> list[JobSummary]:
        """Jobs started by ``job`` while it ran (at most :data:`CHILDREN_SCAN` examined)."""
        await round_trip()
        until = job.updated_at if job.semaphore <= 0 else dt.datetime.now(dt.UTC)
        until += dt.timedelta(seconds=1)
        stretch = [
            (key, row)
            for key, row in reversed(self._newest_first())
            if job.created_at <= key[0] <= until
        ][:CHILDREN_SCAN]
        found = [_summary(key[1], row) for key, row in stretch]
        return [c for c in found if c.metadata.get("pj") == job.job_id][:limit]

    async def streams(self) -> list[StreamInfo]:
        """Every stream holding messages or dead letters, by name."""
        await round_trip()
        at = now()
        counts: dict[str, list[int]] = {}
        for name, rows in self._space.streams.items():
            for row in rows.values():
                tally = counts.setdefault(name, [0, 0, 0, 0])
                if row.held(at):
                    tally[2] += 1
                elif row.visible_at <= at:
                    tally[0] += 1
                else:
                    tally[1] += 1
        for dead in self._space.dead:
            counts.setdefault(dead.stream, [0, 0, 0, 0])[3] += 1
        return [StreamInfo(name, *tally) for name, tally in sorted(counts.items())]

    async def throughput(self, minutes: int) -> list[tuple[dt.datetime, int, int]]:
        """``(minute, jobs started, jobs of those finished)`` for the last ``minutes``."""
        await round_trip()
        start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        start -= dt.timedelta(minutes=int(minutes))
        per_minute: dict[dt.datetime, list[int]] = {}
        for row in self._space.jobs.values():
            created = _when(row.created_at)
            if created < start:
                continue
            per_minute.setdefault(created.replace(second=0, microsecond=0), [0, 0])[0] += 1
            if row.semaphore <= 0:
                closed = _when(row.updated_at).replace(second=0, microsecond=0)
                per_minute.setdefault(closed, [0, 0])[1] += 1
        return [(m, per_minute[m][0], per_minute[m][1]) for m in sorted(per_minute)]

    async def approximate_jobs(self) -> int:
        """The number of live jobs (counted: there is no planner to ask)."""
        await round_trip()
        at = now()
        return sum(1 for row in self._space.jobs.values() if row.live(at))

    async def watch(self, streams: Sequence[str], timeout: float, *, consumer: str) -> None:
        """Return when one of ``streams`` has claimable messages, or after ``timeout``."""
        await wait_any(self._stream, streams, timeout, consumer=consumer)


def list_apps(apps: Mapping[str, AppSpace]) -> list[AppInfo]:
    """The apps of one in-memory database that have a deployed version, by id."""
    out = []
    for app_id, space in sorted(apps.items()):
        if not space.versions:
            continue
        active = space.settings.get("active_version")
        version = None if active is None else str(json.loads(active))
        row = space.versions.get(version) if version is not None else None
        topics: tuple[str, ...] = ()
        if row is not None:
            data = json.loads(row.manifest)
            graphs = dict(data.get("manifest", data)).get("app", {}).get("graphs", [])
            topics = tuple(str(g["subscribes"]) for g in graphs if g.get("subscribes"))
        at = now()
        out.append(
            AppInfo(
                app_id=app_id,
                schema=app_id,
                active_version=version,
                activated_at=None if row is None or row.activated_at is None
                else _when(row.activated_at),
                versions=len(space.versions),
                jobs=sum(1 for job in space.jobs.values() if job.live(at)),
                topics=topics,
            )
        )  # fmt: skip
    return out
