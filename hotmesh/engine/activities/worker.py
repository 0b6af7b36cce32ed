"""The ``worker`` activity: sends its mapped input to a worker topic and waits for the
answer (a :class:`~hotmesh.engine.messages.WorkerRequest`, then a
:class:`~hotmesh.engine.messages.Response`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from attrs import define

from hotmesh.engine._model_activities import Activity, ActivityRetry, ActivityType
from hotmesh.engine._reader import Reader, static_topic, worker_timeout
from hotmesh.engine.activities._kind import ActivityKind, register
from hotmesh.engine.mapper import resolve
from hotmesh.engine.messages import WorkerRequest, guid
from hotmesh.engine.steps import record

if TYPE_CHECKING:
    from hotmesh.engine.messages import Address
    from hotmesh.engine.model import Graph
    from hotmesh.engine.planner import Planner, StepContext
    from hotmesh.engine.steps import Step

__all__ = ["WorkerActivity", "trace_of"]


@define(frozen=True, kw_only=True)
class WorkerActivity(Activity):
    """Sends ``input.maps`` to the worker stream ``topic`` and waits for the response.

    Attributes:
        topic: static topic or an expression.
        subtype: the topic when it is static (no ``{...}``), else ``None``.
        timeout: seconds one callback attempt may run before it is cancelled and counts
            as a failed attempt (``None``: the worker's own ``timeout``, if any).

    Example:
        >>> WorkerActivity(id="a1", graph="abc.test", topic="work.do").topic
        'work.do'
    """

    type: ClassVar[ActivityType] = "worker"

    topic: Any = None
    subtype: str | None = None
    timeout: float | None = None


def trace_of(context: Mapping[str, Any]) -> dict[str, Any]:
    """The job's trace ids (``trc``, ``spn``), which its worker calls and children share."""
    metadata = context["metadata"]
    return {key: metadata[key] for key in ("trc", "spn") if metadata.get(key)}


def retry_rules(policy: ActivityRetry) -> dict[str, Any]:
    """An activity ``retry`` block as workers receive it (``{"500": [3], ...}``)."""
    out: dict[str, Any] = {code: [count] for code, count in policy.per_code.items()}
    if policy.backoff is not None:
        out.update(policy.backoff.to_camel())
    return out


@register
class Worker(ActivityKind):
    """Leg 1 publishes the request; leg 2 (the shared one) takes the answer."""

    model = WorkerActivity
    keys = frozenset({"topic", "timeout"})
    retries = True

    def read(self, reader: Reader) -> dict[str, Any]:
        topic = reader.expression("topic", required=True)
        return {
            "topic": topic,
            "subtype": reader.data.get("subtype") or static_topic(topic),
            "timeout": worker_timeout(reader),
        }

    def leg1(
        self,
        planner: Planner,
        graph: Graph,
        activity: WorkerActivity,
        context: dict[str, Any],
        ctl: StepContext,
        at: Address,
        step: Step,
    ) -> None:
        payload = planner.map_input(activity, context)
        topic = str(resolve(activity.topic, context) or activity.subtype or "")
        policies: dict[str, Any] | None = None
        if activity.retry is not None:  # the worker applies the activity's policy
            policies = {"retry": retry_rules(activity.retry)}
        if activity.timeout is not None:  # ... and its per-attempt timeout
            policies = {**(policies or {}), "timeout": activity.timeout}
        request = WorkerRequest(
            jid=at.jid, gid=at.gid, aid=activity.id, dad=at.dad, topic=topic, guid=guid(),
            data=payload, policies=policies, trace=trace_of(context),  # the trace continues
        )  # fmt: skip
        step.messages.append(request.outgoing())
        record(step, context, activity.id, at.dad, l1=True, n2=0, seen=[])
