"""The ``cycle`` activity: re-enters one of its ancestors in a new dimension (inline in
the same step when it can, else with a :class:`~hotmesh.engine.messages.Response`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from attrs import define

from hotmesh.engine._model_activities import Activity, ActivityType
from hotmesh.engine._reader import Reader
from hotmesh.engine.activities._kind import ActivityKind, register
from hotmesh.engine.messages import Response, guid
from hotmesh.engine.state import dad_at_depth
from hotmesh.engine.steps import record

if TYPE_CHECKING:
    from hotmesh.engine.messages import Address
    from hotmesh.engine.model import Graph
    from hotmesh.engine.planner import Planner, StepContext
    from hotmesh.engine.steps import Step

__all__ = ["CycleActivity"]


@define(frozen=True, kw_only=True)
class CycleActivity(Activity):
    """Re-enters ``ancestor`` (one of its ancestors) in a new dimension.

    Example:
        >>> CycleActivity(id="c1", graph="cycle.test", ancestor="a1").ancestor
        'a1'
    """

    type: ClassVar[ActivityType] = "cycle"

    ancestor: str


@register
class Cycle(ActivityKind):
    """Leg 1 closes the cycle activity and re-enters its ancestor."""

    model = CycleActivity
    keys = frozenset({"ancestor"})

    def read(self, reader: Reader) -> dict[str, Any]:
        ancestor = reader.data.get("ancestor")
        if not isinstance(ancestor, str) or not ancestor:
            reader.node_error("a cycle activity needs an 'ancestor' id")
            ancestor = ""
        return {"ancestor": ancestor}

    def reenters(self, fields: dict[str, Any]) -> str | None:
        return str(fields["ancestor"]) or None

    def leg1(
        self,
        planner: Planner,
        graph: Graph,
        activity: CycleActivity,
        context: dict[str, Any],
        ctl: StepContext,
        at: Address,
        step: Step,
    ) -> None:
        payload = planner.map_input(activity, context) if activity.input_maps else context["data"]
        ancestor = graph.activity(activity.ancestor)
        target = dad_at_depth(at.dad, ancestor.depth)
        record(step, context, activity.id, at.dad, l1=True, done=True)
        if planner.reenter(graph, ancestor, ctl, at, target, payload, step):
            return
        again = Response(jid=at.jid, gid=at.gid, aid=ancestor.id, dad=target, data=payload,
                         guid=guid(), cycle=True)  # fmt: skip
        step.messages.append(again.outgoing())
