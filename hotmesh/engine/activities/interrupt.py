"""The ``interrupt`` activity: interrupts its own job (no ``target``) or another one,
after the step commits (an :class:`~hotmesh.engine.effects.Interrupt` effect)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from attrs import define

from hotmesh.engine._model_activities import Activity, ActivityType
from hotmesh.engine._reader import Reader
from hotmesh.engine.activities._kind import ActivityKind, register
from hotmesh.engine.effects import Interrupt as InterruptJob
from hotmesh.engine.mapper import resolve
from hotmesh.engine.steps import apply_job_maps, number, record

if TYPE_CHECKING:
    from hotmesh.engine.messages import Address
    from hotmesh.engine.model import Graph
    from hotmesh.engine.planner import Planner, StepContext
    from hotmesh.engine.steps import Step

__all__ = ["InterruptActivity"]


@define(frozen=True, kw_only=True)
class InterruptActivity(Activity):
    """Interrupts its own job (no ``target``) or the job ``target`` of graph ``topic``.

    Example:
        >>> InterruptActivity(id="i1", graph="g").code
        410
    """

    type: ClassVar[ActivityType] = "interrupt"

    target: Any = None
    topic: Any = None
    reason: Any = None
    throw: Any = True
    descend: Any = False
    code: Any = 410
    stack: Any = None
    #: Seconds the interrupted job is kept (an expression); ``None``: its own setting.
    expire: Any = None


@register
class Interrupt(ActivityKind):
    """Leg 1 closes the activity (its own job) or passes through (another job)."""

    model = InterruptActivity
    keys = frozenset({"target", "topic", "reason", "throw", "descend", "code", "stack", "expire"})

    def read(self, reader: Reader) -> dict[str, Any]:
        if "descend" in reader.data:
            reader.warn("descend", "'descend' is accepted but has no effect")
        has = reader.data.__contains__
        return {
            "target": reader.expression("target"),
            "topic": reader.expression("topic"),
            "reason": reader.expression("reason"),
            "throw": reader.expression("throw") if has("throw") else True,
            "descend": reader.data.get("descend", False),
            "code": reader.expression("code") if has("code") else 410,
            "stack": reader.expression("stack"),
            "expire": reader.expression("expire"),
        }

    def leg1(
        self,
        planner: Planner,
        graph: Graph,
        activity: InterruptActivity,
        context: dict[str, Any],
        ctl: StepContext,
        at: Address,
        step: Step,
    ) -> None:
        meta = context["metadata"]
        target = resolve(activity.target, context) if activity.target is not None else None
        options = {
            "reason": resolve(activity.reason, context),
            "throw": resolve(activity.throw, context) is not False,
            "code": number(resolve(activity.code, context)) or 410,
            "stack": resolve(activity.stack, context),
        }
        keep = number(resolve(activity.expire, context)) if activity.expire else None
        if keep is not None:  # how long the interrupted job is kept
            options["expire"] = keep
        if target in (None, "", meta["jid"]):
            apply_job_maps(activity, context, step)
            record(step, context, activity.id, at.dad, l1=True, done=True)
            step.semaphore -= 1
            step.after.append(InterruptJob(str(meta["jid"]), options))
            return
        step.after.append(InterruptJob(str(target), options))
        planner.passthrough(graph, activity, context, ctl, at.dad, step, code=200)
