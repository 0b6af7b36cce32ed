"""The ``hook`` activity: waits for a signal (its graph's ``hooks`` rule), a timer
(``sleep``), both, or neither (a passthrough), and may file an escalation while it waits.

Leg 1 publishes the :class:`~hotmesh.engine.messages.Timer` and, after the commit,
registers the signal key (:class:`~hotmesh.engine.effects.RegisterHook`); leg 2 (the
shared one) hears the timer or the :class:`~hotmesh.engine.messages.Signal`, and the hook
forgets the key it no longer waits on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from attrs import define

from hotmesh.engine._checks import sleep_problem
from hotmesh.engine._model_activities import Activity, ActivityType
from hotmesh.engine._reader import Reader
from hotmesh.engine.activities._kind import ActivityKind, register
from hotmesh.engine.effects import Escalate, ExpireEscalation, ForgetHook, RegisterHook
from hotmesh.engine.escalations import escalation_row
from hotmesh.engine.mapper import map_rules, resolve
from hotmesh.engine.messages import Timer, guid
from hotmesh.engine.steps import apply_job_maps, number, record

if TYPE_CHECKING:
    from hotmesh.engine.messages import Address
    from hotmesh.engine.model import Graph
    from hotmesh.engine.planner import Planner, StepContext
    from hotmesh.engine.steps import Step

__all__ = ["SIGNAL_TTL", "HookActivity"]

#: Seconds a registered signal key lives at least (the job's ``expire`` when longer).
SIGNAL_TTL = 3600.0


@define(frozen=True, kw_only=True)
class HookActivity(Activity):
    """Waits for a signal (``hook_topic``), a timer (``sleep``), both, or neither.

    Attributes:
        sleep: seconds (number or expression), ``None`` when absent.
        hook_topic: the graph ``hooks`` topic whose signals wake this activity.
        hook_schema: the ``hook`` schema object as written (documentation).
        escalation: raw escalation rules, or ``None``.

    Example:
        >>> HookActivity(id="a1", graph="abc.test", sleep=5).sleep
        5
    """

    type: ClassVar[ActivityType] = "hook"

    sleep: Any = None
    hook_topic: str | None = None
    hook_schema: Mapping[str, Any] | None = None
    escalation: Mapping[str, Any] | None = None


@register
class Hook(ActivityKind):
    """Waits, or passes through when it has nothing to wait for."""

    model = HookActivity
    keys = frozenset({"sleep", "escalation"})
    wakes_on_signals = True

    def read(self, reader: Reader) -> dict[str, Any]:
        sleep = reader.expression("sleep")
        if (problem := sleep_problem(sleep)) is not None:
            reader.error("sleep", problem)
        return {
            "sleep": sleep,
            "hook_schema": reader.mapping("hook"),
            "escalation": reader.mapping("escalation"),
        }

    def leg1(
        self,
        planner: Planner,
        graph: Graph,
        activity: HookActivity,
        context: dict[str, Any],
        ctl: StepContext,
        at: Address,
        step: Step,
    ) -> None:
        jid, gid, dad = at.jid, at.gid, at.dad
        sleep = resolve(activity.sleep, context) if activity.sleep is not None else None
        seconds = number(sleep)
        waits = bool(activity.hook_topic) or (seconds is not None and seconds > 0)
        if not waits:  # passthrough (a cycle pivot's first pass too)
            planner.passthrough(graph, activity, context, ctl, dad, step, code=200)
            return
        if activity.output_maps:
            mapped = map_rules(dict(activity.output_maps), context) or {}
            context[activity.id].setdefault("output", {})["data"] = mapped
        apply_job_maps(activity, context, step)
        if seconds is not None and seconds > 0:
            timer = Timer(jid=jid, gid=gid, aid=activity.id, dad=dad, guid=guid(), delay=seconds)
            step.messages.append(timer.outgoing())
        key = None
        also: list[str] = []
        if activity.hook_topic:
            rules = [r for r in graph.hooks.get(activity.hook_topic) or () if r.to == activity.id]
            expected = resolve(rules[0].expected, context) if rules else jid
            key = f"{activity.hook_topic}:{expected}"
            # Further rules to this activity register it under more keys (a wait that a
            # signal reaches by its id or by its workflow): the first signal wins.
            for rule in rules[1:]:
                more = resolve(rule.expected, context)
                if more not in (None, "") and f"{activity.hook_topic}:{more}" != key:
                    also.append(f"{activity.hook_topic}:{more}")
            target: dict[str, Any] = {"jid": jid, "gid": gid, "aid": activity.id, "dad": dad}
            if also:
                target["many"] = True  # see Engine._ended_wait
            ttl = max(float(graph.expire), SIGNAL_TTL)
            step.after.append(RegisterHook(key, target, ttl, tuple(also)))
            if activity.escalation:
                row = escalation_row(
                    activity.escalation, context, signal_key=str(expected),
                    topic=activity.hook_topic, job_id=jid, app_id=context["metadata"]["app"],
                )  # fmt: skip
                if row is not None:
                    step.after.append(Escalate(row))
        extra = {"hook_keys": also} if also else {}
        record(step, context, activity.id, dad, l1=True, n2=0, seen=[], hook_key=key, **extra)

    def heard(
        self, activity: HookActivity, kind: str, event: Any, own: Mapping[str, Any], step: Step
    ) -> None:
        if kind == "timehook" and own.get("hook_key"):  # the timer won: stop waiting
            step.after.append(ForgetHook(own["hook_key"]))
            if activity.escalation:
                waited = str(own["hook_key"])[len(activity.hook_topic or "") + 1 :]
                step.after.append(ExpireEscalation(waited))
        if own.get("hook_keys") and (kind == "timehook" or event.code == 200):
            # The other keys of a many-key wait, unless another wait took them over.
            used = own.get("hook_key") if kind == "timehook" else event.key
            target = {"jid": event.jid, "gid": event.gid, "aid": activity.id,
                      "dad": event.dad, "many": True}  # fmt: skip
            for other in (own.get("hook_key"), *own["hook_keys"]):
                if other != used:
                    step.after.append(ForgetHook(other, target))

    def settled(self, activity: HookActivity, kind: str, event: Any, step: Step) -> None:
        if kind == "webhook" and event.code == 200:  # a final signal: the key is spent
            step.after.append(ForgetHook(event.key))
