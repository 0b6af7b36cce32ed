"""The ``Inspector`` provider interface: read-only queries for dashboards and tools.

The engine never calls these; the dashboard (:mod:`hotmesh.dashboard`) does, through
:meth:`hotmesh.HotMesh.inspector`. Every method only reads, so a database role with
nothing but ``SELECT`` on the app's tables can serve them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

from attrs import define, field

__all__ = [
    "JOB_STATUSES",
    "AppDirectory",
    "AppInfo",
    "Inspector",
    "JobDetail",
    "JobFilter",
    "JobPage",
    "JobSummary",
    "StreamInfo",
    "VersionInfo",
]

#: The statuses a job list can be filtered by. ``failed`` is a closed job (semaphore 0)
#: whose ``metadata.err`` is set; ``interrupted`` a semaphore at or below -10**6 (the
#: engine subtracts 10**9); ``pending`` any other negative one (``pub(extended={"pending":
#: seconds})`` creates the job at -1).
JOB_STATUSES = ("running", "completed", "failed", "interrupted", "pending")


@define(frozen=True)
class AppInfo:
    """An app found in the database: its id, its schema, and a summary read without joining.

    ``jobs`` is the planner's estimate; ``topics`` those of the active version's graphs.
    """

    app_id: str
    schema: str
    active_version: str | None = None
    activated_at: dt.datetime | None = None
    versions: int = 0
    jobs: int = 0
    topics: tuple[str, ...] = ()


@define(frozen=True)
class VersionInfo:
    """One deployed version of an app.

    ``manifest`` is the deployed YAML as data (``{"app": {"id", "version", "graphs"}}``).
    """

    version: str
    created_at: dt.datetime
    activated_at: dt.datetime | None
    active: bool
    manifest: dict[str, Any] = field(factory=dict)


@define(frozen=True)
class JobFilter:
    """What a job list shows: newest first, one page at a time (keyset pagination).

    Attributes:
        topic: only jobs of this topic (``metadata.tpc``).
        status: one of :data:`JOB_STATUSES`.
        since, until: ``created_at`` range (``since`` inclusive, ``until`` exclusive).
        search: ``(name, value)``: the search field ``name`` (``pub(extended={"search":
            {name: value}})``) equals ``value`` (as stored: with a codec registered,
            search values are encoded and do not match).
        job_id: only the job with this id.
        after: the cursor a previous :class:`JobPage` returned (``next_cursor``).
        limit: jobs per page.
        scan: at most this many jobs are examined per page, whatever the filters, so a
            page costs the same at a million rows; a page may then hold fewer than
            ``limit`` jobs while ``next_cursor`` still points further back.
    """

    topic: str | None = None
    status: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    search: tuple[str, str] | None = None
    job_id: str | None = None
    after: tuple[dt.datetime, str] | None = None
    limit: int = 50
    scan: int = 20000


@define(frozen=True)
class JobSummary:
    """One row of a job list. ``metadata`` is the job's clear metadata (``meta``)."""

    job_id: str
    status: str
    semaphore: int
    created_at: dt.datetime
    updated_at: dt.datetime
    metadata: dict[str, Any] = field(factory=dict)
    cancelled: bool = False

    @property
    def topic(self) -> str:
        """The topic the job was started on."""
        return str(self.metadata.get("tpc", ""))


@define(frozen=True)
class JobPage:
    """A page of jobs, and where the next (older) page starts (None: no more).

    ``scanned`` is how many jobs were examined to fill it.
    """

    jobs: list[JobSummary]
    next_cursor: tuple[dt.datetime, str] | None
    scanned: int


@define(frozen=True)
class JobDetail:
    """A job's whole decoded state with its row's times (``expires_at`` None: kept)."""

    summary: JobSummary
    state: dict[str, Any]
    expires_at: dt.datetime | None


@define(frozen=True)
class StreamInfo:
    """A stream's messages by state, and how many it dead-lettered."""

    stream: str
    ready: int = 0
    delayed: int = 0
    leased: int = 0
    dead: int = 0


@runtime_checkable
class Inspector(Protocol):
    """Read-only views over one app's stored versions, jobs and streams.

    Contract: nothing here writes; every value is a bound parameter; a job list never
    examines more than ``JobFilter.scan`` jobs; expired jobs are invisible.

    Example:
        >>> async def latest_failures(inspector: Inspector) -> list[str]:
        ...     page = await inspector.list_jobs(JobFilter(status="failed", limit=10))
        ...     return [job.job_id for job in page.jobs]
    """

    async def versions(self) -> list[VersionInfo]:
        """Every deployed version, newest first, with its manifest."""
        ...

    async def list_jobs(self, query: JobFilter) -> JobPage:
        """One page of jobs matching ``query``, newest first."""
        ...

    async def job(self, job_id: str) -> JobDetail | None:
        """The job with its decoded state, or None.

        Raises:
            CodecError: a value was stored through a codec this process lacks.
        """
        ...

    async def children(self, job: JobSummary, *, limit: int = 100) -> list[JobSummary]:
        """Jobs started by ``job`` (their ``metadata.pj``), oldest first.

        Only jobs created while ``job`` ran are examined, and a provider may bound how
        many (Postgres: the first 20,000), so the call costs the same in a busy app.
        """
        ...

    async def streams(self) -> list[StreamInfo]:
        """Every stream holding messages or dead letters, by name."""
        ...

    async def throughput(self, minutes: int) -> list[tuple[dt.datetime, int, int]]:
        """``(minute, jobs started, jobs of those finished)`` for the last ``minutes``."""
        ...

    async def approximate_jobs(self) -> int:
        """The planner's estimate of the number of stored jobs (no scan)."""
        ...

    async def watch(self, streams: Sequence[str], timeout: float, *, consumer: str) -> None:
        """Return when one of ``streams`` received messages, or after ``timeout`` seconds.

        Fed by the provider's own notifications (on Postgres: the LISTEN connection the
        backend already holds); ``consumer`` keeps this watcher's wake-ups apart from the
        routers' so it never takes a wake-up from them.
        """
        ...


@runtime_checkable
class AppDirectory(Protocol):
    """A provider that can list the apps stored in a database without joining one."""

    name: ClassVar[str]

    @classmethod
    async def list_apps(cls, options: Mapping[str, Any]) -> list[AppInfo]:
        """Every app with a deployed version that the connecting role may read."""
        ...
