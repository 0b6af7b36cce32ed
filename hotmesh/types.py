"""Values the public API hands to users: job outputs, exports, worker messages."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any

from attrs import define, field

__all__ = [
    "JobExport",
    "JobOutput",
    "JobState",
    "JobStatus",
    "WorkerMessage",
    "job_error",
    "job_status",
]

#: Semaphores at or below this mark an interrupted job (the engine subtracts 10⁹).
_INTERRUPTED_BELOW = -1_000_000


class JobStatus(enum.StrEnum):
    """What a job is doing, as a user tests it (the semaphore says it for the engine).

    Example:
        >>> job_status(0, {"err": '{"message": "boom", "code": 500}'})
        <JobStatus.FAILED: 'failed'>
        >>> job_status(2, {})
        <JobStatus.RUNNING: 'running'>
    """

    #: Created with ``extended={"pending": s}``: nothing runs until it is resumed.
    PENDING = "pending"
    #: Activities are open (semaphore > 0).
    RUNNING = "running"
    #: Finished without an error (semaphore 0, no ``metadata.err``).
    COMPLETED = "completed"
    #: Finished with an error (``metadata.err`` is set): see :func:`job_error`.
    FAILED = "failed"
    #: Stopped by ``interrupt``.
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        """True for a job that will not run again (completed, failed or interrupted)."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.INTERRUPTED)


def job_error(metadata: Mapping[str, Any]) -> dict[str, Any] | None:
    """The job's error (``message``, ``code``…) parsed from ``metadata.err``, or None.

    Example:
        >>> job_error({"err": '{"message": "boom", "code": 500}'})
        {'message': 'boom', 'code': 500}
    """
    err = metadata.get("err")
    if not err:
        return None
    try:
        value = json.loads(err) if isinstance(err, str) else err
    except ValueError:
        return {"message": str(err)}
    return dict(value) if isinstance(value, Mapping) else {"message": str(value)}


def job_status(semaphore: int, metadata: Mapping[str, Any]) -> JobStatus:
    """The :class:`JobStatus` of a job with this semaphore and metadata."""
    if semaphore <= _INTERRUPTED_BELOW:
        return JobStatus.INTERRUPTED
    if semaphore < 0:
        return JobStatus.PENDING
    if semaphore > 0:
        return JobStatus.RUNNING
    return JobStatus.FAILED if metadata.get("err") else JobStatus.COMPLETED


@define(frozen=True)
class JobState:
    """A job's status in its richer form (``get_status(job_id, detail=True)``).

    Attributes:
        job_id: the job.
        status: a :class:`JobStatus`.
        semaphore: the reference's integer (0 done, > 0 running, < 0 interrupted/pending).
        error: the job's error when it failed or was interrupted with one, else None.

    Example:
        >>> JobState("j1", JobStatus.FAILED, 0, {"message": "boom"}).failed
        True
    """

    job_id: str
    status: JobStatus
    semaphore: int
    error: dict[str, Any] | None = None

    @property
    def failed(self) -> bool:
        """True when the job finished with an error."""
        return self.status is JobStatus.FAILED


@define(frozen=True)
class JobOutput:
    """A job's state as ``get_state`` and ``pubsub`` return it.

    Attributes:
        metadata: job metadata: ``jid``, ``gid``, ``app``, ``vrs``, ``tpc``, ``aid``,
            ``jc`` (created), ``ju`` (updated), ``js`` (semaphore), ``err`` (a JSON string,
            when the job failed), parent linkage (``pj``, ``pa``…), ``ngn``…
        data: the job data its ``job.maps`` wrote.

    Example:
        >>> JobOutput({"jid": "j1", "js": 0}, {"status": "fulfilled"}).data["status"]
        'fulfilled'
    """

    metadata: dict[str, Any] = field(factory=dict)
    data: dict[str, Any] = field(factory=dict)

    @property
    def job_id(self) -> str:
        """The job id (``metadata["jid"]``)."""
        return str(self.metadata.get("jid", ""))

    @property
    def status(self) -> JobStatus:
        """The job's :class:`JobStatus` (from ``js`` and ``err``)."""
        return job_status(int(self.metadata.get("js", 0)), self.metadata)

    @property
    def error(self) -> dict[str, Any] | None:
        """The job's error, parsed from ``metadata.err``; None when it has none."""
        return job_error(self.metadata)

    def to_dict(self) -> dict[str, Any]:
        """``{"metadata": ..., "data": ...}``, as the reference shapes it."""
        return {"metadata": dict(self.metadata), "data": dict(self.data)}


@define(frozen=True)
class JobExport:
    """A job's full record: status, job fields and every activity's state by dimension.

    Attributes:
        status: the semaphore, as a string (``"0"`` when finished), as the reference has it.
        process: ``{"metadata", "data", <dimension path>: {<activity>: {...}}}``.
        activities: one entry per activity run, by start time: ``name``, ``type``,
            ``dimension``, ``output``, ``started_at``, ``completed_at`` (ISO 8601 UTC),
            ``duration_ms``, ``cycle_iteration``, ``error``; ``input`` with
            ``enrich_inputs``.
        dependencies: always empty (as in the reference).
        sections: the sections exported (``allow``/``block``); the others are empty.
        job_status: the :class:`JobStatus` (``FAILED`` for a job that ended in an error).
        error: the job's error (``message``, ``code``…) when it has one, else None.
    """

    status: str
    process: dict[str, Any]
    activities: list[dict[str, Any]] = field(factory=list)
    dependencies: list[Any] = field(factory=list)
    sections: tuple[str, ...] = ("dependencies", "status", "process", "activities")
    job_status: JobStatus = JobStatus.COMPLETED
    error: dict[str, Any] | None = None

    @property
    def failed(self) -> bool:
        """True when the job finished with an error."""
        return self.job_status is JobStatus.FAILED

    def to_dict(self) -> dict[str, Any]:
        """The exported sections as a plain dict (the reference's ``JobExport`` shape)."""
        return {name: getattr(self, name) for name in self.sections}


@define(frozen=True)
class WorkerMessage:
    """What a worker callback receives.

    Attributes:
        metadata: routing fields: ``jid``, ``gid``, ``aid``, ``dad``, ``topic``, ``guid``,
            ``try`` (0 on the first delivery).
        data: the activity's mapped input.
        policies: the activity's retry policies, if any.
        history: the job's recorded state (every activity's input, output and hook data
            so far, keyed as stored), for a worker registered with
            ``WorkerConfig(history=True)``; ``None`` otherwise.
        delivery: the stream delivery being run (opaque; the fence of
            :meth:`hotmesh.HotMesh.checkpoint`), None when the message was built by hand.

    Example:
        >>> async def process(message: WorkerMessage) -> dict:
        ...     return {"data": {"orderId": message.data["id"], "status": "fulfilled"}}
    """

    metadata: dict[str, Any]
    data: dict[str, Any]
    policies: dict[str, Any] | None = None
    history: Mapping[str, Any] | None = None
    delivery: Any = field(default=None, eq=False, repr=False)
