"""The ``signal`` activity: signals one hook (subtype ``one``, a
:class:`~hotmesh.engine.messages.Signal`) or every job a stats query finds (``all``, a
:class:`~hotmesh.engine.messages.SignalAll`), then moves on."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from attrs import define

from hotmesh.engine._model_activities import Activity, ActivityType
from hotmesh.engine._reader import Reader, read_section
from hotmesh.engine.activities._kind import ActivityKind, register
from hotmesh.engine.mapper import map_rules, resolve
from hotmesh.engine.messages import Signal, SignalAll

if TYPE_CHECKING:
    from hotmesh.engine.messages import Address
    from hotmesh.engine.model import Graph
    from hotmesh.engine.planner import Planner, StepContext
    from hotmesh.engine.steps import Step

__all__ = ["SignalActivity"]


@define(frozen=True, kw_only=True)
class SignalActivity(Activity):
    """Sends a signal to one hook (``subtype="one"``) or to every indexed job (``"all"``).

    Example:
        >>> SignalActivity(id="s1", graph="g", topic="hook.resume").code
        200
    """

    type: ClassVar[ActivityType] = "signal"

    subtype: Literal["one", "all"] = "one"
    topic: Any = None
    signal_maps: Mapping[str, Any] | None = None
    status: Any = "success"
    code: Any = 200
    key_name: Any = None
    key_value: Any = None
    resolver_maps: Mapping[str, Any] | None = None
    scrub: Any = False


@register
class SignalKind(ActivityKind):
    """Leg 1 is a passthrough that also sends the signal."""

    model = SignalActivity
    keys = frozenset(
        {"topic", "signal", "resolver", "status", "code", "key_name", "key_value", "scrub"}
    )

    def read(self, reader: Reader) -> dict[str, Any]:
        subtype = reader.data.get("subtype", "one")
        if subtype not in ("one", "all"):
            reader.error("subtype", "a signal subtype must be 'one' or 'all'")
            subtype = "one"
        signal_maps, _ = read_section(reader, "signal")
        resolver_maps, _ = read_section(reader, "resolver")
        has = reader.data.__contains__
        return {
            "subtype": subtype,
            "topic": reader.expression("topic", required=True),
            "signal_maps": signal_maps,
            "resolver_maps": resolver_maps,
            "status": reader.expression("status") if has("status") else "success",
            "code": reader.expression("code") if has("code") else 200,
            "key_name": reader.expression("key_name"),
            "key_value": reader.expression("key_value"),
            "scrub": reader.expression("scrub") if has("scrub") else False,
        }

    def check_topics(
        self, activity_id: str, fields: dict[str, Any], reader: Reader,
        graphs: Collection[str], hooks: Collection[str],
    ) -> None:  # fmt: skip
        target = fields.get("topic")
        if isinstance(target, str) and "{" not in target and target not in hooks:
            # Hook rules outlive versions, so an older version may still declare it.
            reader.warn("topic", f"signal {activity_id!r}: no graph of this app hooks {target!r}")

    def leg1(
        self,
        planner: Planner,
        graph: Graph,
        activity: SignalActivity,
        context: dict[str, Any],
        ctl: StepContext,
        at: Address,
        step: Step,
    ) -> None:
        planner.passthrough(graph, activity, context, ctl, at.dad, step, code=200)
        topic = str(resolve(activity.topic, context) or "")
        signal = map_rules(dict(activity.signal_maps or {}), context) or {}
        status = resolve(activity.status, context) or "success"
        code = resolve(activity.code, context) or 200
        if activity.subtype == "all":
            step.messages.append(_signal_all(activity, context, topic, signal).outgoing())
        else:
            step.messages.append(Signal.new(topic, signal, str(status), int(code)).outgoing())


def _signal_all(
    activity: SignalActivity, context: Mapping[str, Any], topic: str, signal: Mapping[str, Any]
) -> SignalAll:
    """Signal subtype ``all`` (2.8.4): the fan-out runs when this message is processed.

    The resolver maps give the stats query (``data``, ``range``...; ``scrub``), and the
    facet is ``<key_name>:<key_value>`` (every index facet of the query without them).
    """
    resolver = map_rules(dict(activity.resolver_maps or {}), context) or {}
    name, value = resolve(activity.key_name, context), resolve(activity.key_value, context)
    facets = None if name in (None, "") else [f"{name}:{'' if value is None else value}"]
    scrub = resolver.pop("scrub", None)
    if scrub is None:
        scrub = resolve(activity.scrub, context)
    return SignalAll(
        topic=topic, data=dict(signal), query=resolver, facets=facets, scrub=scrub is True
    )
