"""The ``await`` activity: starts a child job and (unless detached) waits for its result
(a :class:`~hotmesh.engine.messages.StartChild`, then a
:class:`~hotmesh.engine.messages.ChildResult`). The module is ``await_`` because
``await`` is a Python keyword; the type is registered as ``await``."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, ClassVar

from attrs import define

from hotmesh.engine._model_activities import Activity, ActivityType
from hotmesh.engine._reader import Reader, static_topic
from hotmesh.engine.activities._kind import ActivityKind, register
from hotmesh.engine.activities.worker import trace_of
from hotmesh.engine.mapper import resolve
from hotmesh.engine.messages import StartChild, guid
from hotmesh.engine.steps import number, record

if TYPE_CHECKING:
    from hotmesh.engine.messages import Address
    from hotmesh.engine.model import Graph
    from hotmesh.engine.planner import Planner, StepContext
    from hotmesh.engine.steps import Step

__all__ = ["AwaitActivity"]


@define(frozen=True, kw_only=True)
class AwaitActivity(Activity):
    """Starts a child job of the graph subscribed to ``topic``.

    Attributes:
        topic: the child graph's ``subscribes`` (static or expression).
        subtype: the topic when it is static, else ``None``.
        await_result: ``True`` (default) or an expression; only a value resolving to
            strictly ``False`` detaches the child.

    Example:
        >>> AwaitActivity(id="a1", graph="abc.test", topic="tests.b").await_result
        True
    """

    type: ClassVar[ActivityType] = "await"

    topic: Any = None
    subtype: str | None = None
    await_result: Any = True
    #: Seconds the finished child job is kept (an expression); ``None``: its graph's.
    expire: Any = None


@register
class Await(ActivityKind):
    """Leg 1 asks an engine to start the child; leg 2 (the shared one) takes its result."""

    model = AwaitActivity
    keys = frozenset({"topic", "await", "timeout", "expire"})
    retries = True

    def read(self, reader: Reader) -> dict[str, Any]:
        topic = reader.expression("topic", required=True)
        if "timeout" in reader.data:
            reader.warn("timeout", "await timeouts are not supported; use a hook with sleep")
        return {
            "topic": topic,
            "subtype": reader.data.get("subtype") or static_topic(topic),
            "await_result": reader.expression("await") if "await" in reader.data else True,
            "expire": reader.expression("expire"),
        }

    def check_topics(
        self, activity_id: str, fields: dict[str, Any], reader: Reader,
        graphs: Collection[str], hooks: Collection[str],
    ) -> None:  # fmt: skip
        if fields["subtype"] and fields["subtype"] not in graphs:
            reader.error(
                "topic",
                f"await {activity_id!r}: no graph of this app subscribes to {fields['subtype']!r}",
            )

    def leg1(
        self,
        planner: Planner,
        graph: Graph,
        activity: AwaitActivity,
        context: dict[str, Any],
        ctl: StepContext,
        at: Address,
        step: Step,
    ) -> None:
        payload = planner.map_input(activity, context)
        topic = str(resolve(activity.topic, context) or activity.subtype or "")
        detached = resolve(activity.await_result, context) is False
        parent = {"pj": at.jid, "pg": at.gid, "pd": at.dad, "pa": activity.id, **trace_of(context)}
        if detached:
            parent["px"] = True
        keep = number(resolve(activity.expire, context)) if activity.expire else None
        if keep is not None:  # how long the finished child is kept
            parent["expire"] = keep
        child = StartChild(topic=topic, data=payload, parent=parent, child=guid())
        step.messages.append(child.outgoing())
        record(step, context, activity.id, at.dad, l1=True, n2=0, seen=[])
