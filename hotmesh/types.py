"""Values the public API hands to users: job outputs, exports, worker messages."""

from __future__ import annotations

from typing import Any

from attrs import define, field

__all__ = ["JobExport", "JobOutput", "WorkerMessage"]


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

    def to_dict(self) -> dict[str, Any]:
        """``{"metadata": ..., "data": ...}``, as the reference shapes it."""
        return {"metadata": dict(self.metadata), "data": dict(self.data)}


@define(frozen=True)
class JobExport:
    """A job's full record: status, job fields and every activity's state by dimension.

    Attributes:
        status: the semaphore, as a string (``"0"`` when complete).
        process: ``{"metadata", "data", <dimension path>: {<activity>: {...}}}``.
        activities: one entry per activity run, by start time: ``name``, ``type``,
            ``dimension``, ``output``, ``started_at``, ``completed_at`` (ISO 8601 UTC),
            ``duration_ms``, ``cycle_iteration``, ``error``; ``input`` with
            ``enrich_inputs``.
        dependencies: always empty (as in the reference).
        sections: the sections exported (``allow``/``block``); the others are empty.
    """

    status: str
    process: dict[str, Any]
    activities: list[dict[str, Any]] = field(factory=list)
    dependencies: list[Any] = field(factory=list)
    sections: tuple[str, ...] = ("dependencies", "status", "process", "activities")

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

    Example:
        >>> async def process(message: WorkerMessage) -> dict:
        ...     return {"data": {"orderId": message.data["id"], "status": "fulfilled"}}
    """

    metadata: dict[str, Any]
    data: dict[str, Any]
    policies: dict[str, Any] | None = None
