"""``Inspector`` on Postgres: the dashboard's read-only queries (``inspect_*`` in queries.sql)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from hotmesh.serializer import decode_state
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
from hotmesh_postgres.driver import Driver, Row
from hotmesh_postgres.schema import Queries
from hotmesh_postgres.stream import PostgresStream

__all__ = ["PostgresInspector", "list_apps"]

_FIRST = dt.datetime.max.replace(tzinfo=dt.UTC)
#: How many jobs created after a parent are examined to find its children.
CHILDREN_SCAN = 20_000
_NEVER_BEFORE = dt.datetime.min.replace(tzinfo=dt.UTC)

# Not per schema, so not in queries.sql (whose queries are rendered for one app schema).
_APP_SCHEMAS = """
SELECT n.nspname
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relname = 'app_versions' AND c.relkind = 'r'
   AND EXISTS (SELECT 1 FROM pg_catalog.pg_class m
                WHERE m.relnamespace = n.oid AND m.relname = 'hotmesh_migrations')
   AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')
 ORDER BY n.nspname
"""


def _status(semaphore: int, err: Any) -> str:
    """The same labels as ``inspect_jobs`` computes in SQL."""
    if semaphore > 0:
        return "running"
    if semaphore <= -1_000_000:  # the engine subtracts 10**9 to interrupt
        return "interrupted"
    if semaphore < 0:
        return "pending"
    return "failed" if err else "completed"


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


class PostgresInspector:
    """Read-only views of one app schema. See :class:`hotmesh.spi.Inspector`."""

    def __init__(self, driver: Driver, queries: Queries, stream: PostgresStream) -> None:
        self._driver = driver
        self._q = queries
        self._stream = stream

    async def versions(self) -> list[VersionInfo]:
        """Every deployed version, newest first."""
        rows = await self._driver.fetch(self._q.inspect_versions)
        out = []
        for version, created, activated, manifest, active in rows:
            data = json.loads(manifest)
            out.append(
                VersionInfo(
                    version=version,
                    created_at=_utc(created),
                    activated_at=None if activated is None else _utc(activated),
                    active=bool(active),
                    manifest=dict(data.get("manifest", data)),
                )
            )
        return out

    async def list_jobs(self, query: JobFilter) -> JobPage:
        """One page of jobs, newest first; see :class:`hotmesh.spi.JobFilter`."""
        before, before_id = query.after if query.after is not None else (_FIRST, "")
        name, value = query.search if query.search is not None else (None, None)
        since, until = query.since or _NEVER_BEFORE, query.until or _FIRST
        scan = max(1, query.scan)
        if query.job_id is not None:  # one job: go straight to where it sits in the index
            created = await self._driver.fetchval(self._q.inspect_job_created, query.job_id)
            if created is None:
                return JobPage(jobs=[], next_cursor=None, scanned=0)
            since = max(since, _utc(created))
            until = min(until, _utc(created) + dt.timedelta(microseconds=1))
        elif query.topic is None and query.status is None and query.search is None:
            scan = min(scan, max(1, query.limit))  # nothing to skip: read just the page
        rows = await self._driver.fetch(
            self._q.inspect_jobs,
            since,
            until,
            before,
            before_id,
            scan,
            query.topic,
            query.status,
            name,
            value,
            query.job_id,
            max(1, query.limit),
        )
        jobs = [self._summary(r) for r in rows if r[0] == "job"]
        summary = next(r for r in rows if r[0] == "scan")
        scanned = int(summary[4] or 0)
        cursor: tuple[dt.datetime, str] | None = None
        if len(jobs) >= query.limit:
            cursor = (jobs[-1].created_at, jobs[-1].job_id)
        elif scanned >= scan and summary[1] is not None:
            cursor = (_utc(summary[2]), str(summary[1]))
        return JobPage(jobs=jobs, next_cursor=cursor, scanned=scanned)

    @staticmethod
    def _summary(row: Row) -> JobSummary:
        _, job_id, created, updated, semaphore, meta, cancelled, status = row
        return JobSummary(
            job_id=job_id,
            status=status,
            semaphore=int(semaphore),
            created_at=_utc(created),
            updated_at=_utc(updated),
            metadata=dict(json.loads(meta or "{}") or {}),
            cancelled=bool(cancelled),
        )

    async def job(self, job_id: str) -> JobDetail | None:
        """The job with its decoded state, or None."""
        row = await self._driver.fetchrow(self._q.inspect_job, job_id)
        if row is None:
            return None
        raw = json.loads(row[4])
        meta = raw.get("meta") if isinstance(raw.get("meta"), dict) else {}
        summary = JobSummary(
            job_id=row[0],
            status=_status(int(row[3]), meta.get("err")),
            semaphore=int(row[3]),
            created_at=_utc(row[1]),
            updated_at=_utc(row[2]),
            metadata=dict(meta),
            cancelled="-cancelled-" in raw,
        )
        state = decode_state(raw, job_id=job_id)
        expires = None if row[5] is None else _utc(row[5])
        return JobDetail(summary=summary, state=state, expires_at=expires)

    async def children(self, job: JobSummary, *, limit: int = 100) -> list[JobSummary]:
        """Jobs whose parent is ``job``, created while it ran."""
        until = job.updated_at if job.semaphore <= 0 else dt.datetime.now(dt.UTC)
        rows = await self._driver.fetch(
            self._q.inspect_children,
            job.job_id,
            job.created_at,
            until + dt.timedelta(seconds=1),
            limit,
            CHILDREN_SCAN,
        )
        return [
            JobSummary(
                job_id=r[0],
                status=_status(int(r[3]), r[4]),
                semaphore=int(r[3]),
                created_at=_utc(r[1]),
                updated_at=_utc(r[2]),
                metadata=dict(json.loads(r[5] or "{}") or {}),
                cancelled=bool(r[6]),
            )
            for r in rows
        ]

    async def streams(self) -> list[StreamInfo]:
        """Every stream with messages or dead letters."""
        rows = await self._driver.fetch(self._q.inspect_streams)
        return [StreamInfo(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]

    async def throughput(self, minutes: int) -> list[tuple[dt.datetime, int, int]]:
        """Jobs started (and of those, closed) per minute over the last ``minutes``."""
        rows = await self._driver.fetch(self._q.inspect_throughput, int(minutes))
        return [(_utc(r[0]), int(r[1]), int(r[2])) for r in rows]

    async def approximate_jobs(self) -> int:
        """The planner's row estimate of the jobs table."""
        return int(await self._driver.fetchval(self._q.inspect_job_count) or 0)

    async def watch(self, streams: Sequence[str], timeout: float, *, consumer: str) -> None:
        """Return when one of ``streams`` is notified (the backend's LISTEN), or at timeout."""
        await wait_any(self._stream, streams, timeout, consumer=consumer)


async def list_apps(driver: Driver) -> list[AppInfo]:
    """The apps stored in the database that the connected role may read."""
    out = []
    for (schema,) in await driver.fetch(_APP_SCHEMAS):
        row = await driver.fetchrow(Queries(schema).inspect_app_summary)
        if row is None or not row[0]:
            continue  # migrated, never deployed
        app_id, active, activated, versions, jobs, topics = row
        out.append(
            AppInfo(
                app_id=str(app_id),
                schema=schema,
                active_version=active,
                activated_at=None if activated is None else _utc(activated),
                versions=int(versions),
                jobs=int(jobs or 0),
                topics=tuple(str(t) for t in json.loads(topics or "[]")),
            )
        )
    return out
