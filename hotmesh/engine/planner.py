"""The planner: what a step of a job does, computed in memory.

From the job's state and the message that caused a step, :class:`Planner` builds a
:class:`~hotmesh.engine.steps.Step` (state delta, semaphore change, messages,
after-commit :mod:`~hotmesh.engine.effects`) without any I/O; the engine commits it in
one statement (``Store.apply_step``) and then runs its effects. A step also starts the
activities its transitions reach: their leg 1 joins the same step. What each activity
type does is its own module's business (:mod:`hotmesh.engine.activities`); the planner
holds what every type shares.

Example:
    >>> from hotmesh.engine.compiler import compile_app
    >>> app = compile_app('''
    ... app:
    ...   id: abc
    ...   version: '1'
    ...   graphs:
    ...     - subscribes: abc.test
    ...       activities:
    ...         t1: {type: trigger}
    ...         w1: {type: worker, topic: work.do}
    ...       transitions:
    ...         t1: [{to: w1}]
    ... ''')
    >>> start = Planner().plan_start(app, app.graph_for_topic("abc.test"), {"n": 1}, {}, "j1")
    >>> [m.stream for m in start.step.messages], start.semaphore
    (['work.do'], 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import define, field

from hotmesh.engine._extension import _Extension
from hotmesh.engine.activities import kind_of
from hotmesh.engine.mapper import map_rules, resolve
from hotmesh.engine.messages import Address, Response, guid
from hotmesh.engine.model import Activity, AppManifest, Graph
from hotmesh.engine.pipe import copy_value
from hotmesh.engine.state import (
    META,
    activity_key,
    build_context,
    fence_key,
    now_stamp,
)
from hotmesh.engine.steps import (
    Step,
    apply_job_maps,
    error_text,
    failed_step,
    next_transitions,
    number,
    record,
    set_job_error,
)
from hotmesh.spi import JobRecord
from hotmesh.validation import check_name

__all__ = ["MAX_INLINE_CYCLES", "MAX_SEEN", "Planned", "Planner", "Start", "StepContext"]

#: Inline re-entries per step before a cycle goes through the stream (bounds a loop that
#: never waits for anything, as the stream round trip used to).
MAX_INLINE_CYCLES = 16
#: Event ids an activity record remembers (to drop a duplicate answer).
MAX_SEEN = 64


@define
class StepContext:
    """What a step knows besides the mapping context: the job's stored ``state`` (before
    this step), its ``semaphore`` as the step sees it (before its own delta), and how many
    ``cycles`` it has already re-entered inline.

    Example:
        >>> StepContext(state={}, semaphore=1).cycles
        0
    """

    state: Mapping[str, Any] = field(factory=dict)
    semaphore: int = 0
    cycles: int = 0


@define
class Planned:
    """A step planned for an event: the step, the mapping context it was computed in, and
    the guard to commit it under (step counters as read)."""

    step: Step
    context: dict[str, Any]
    expect: dict[str, Any]


@define
class Start:
    """A new job, planned: its id, the step that creates it, its first semaphore, and
    the trigger's mapping context."""

    job_id: str
    step: Step
    semaphore: int
    context: dict[str, Any]


class Planner:
    """Plans steps; pure (no I/O), so it is tested without a database."""

    # -- a job starts ---------------------------------------------------------------------

    def plan_start(
        self,
        manifest: AppManifest,
        graph: Graph,
        payload: dict[str, Any],
        extra: Mapping[str, Any],
        job_id: str | None,
        extension: _Extension | None = None,
    ) -> Start:
        """The trigger's step: the job's metadata, data and first activities.

        ``extra`` holds metadata fields given by the caller (a parent's ``p*``, trace
        ids, ``expire``); with ``extension.pending`` no child starts.
        """
        ext = extension or _Extension()
        trigger = graph.trigger_activity
        io = {"data": payload}
        seed = {trigger.id: {"input": io, "output": io}, "$self": {"input": io, "output": io}}
        stats = trigger.stats
        jid = resolve(stats.id, seed) if stats is not None and stats.id is not None else None
        jid = str(jid) if jid not in (None, "") else (job_id or guid())
        check_name(jid, "job id")  # an id derived from the payload (stats.id) is input too
        key = resolve(stats.key, seed) if stats is not None and stats.key is not None else None
        stamp = now_stamp()
        metadata: dict[str, Any] = {
            "jid": jid, "gid": guid(), "aid": trigger.id, "app": manifest.id,
            "vrs": manifest.version, "tpc": graph.subscribes, "jc": stamp, "ju": stamp,
            "expire": graph.expire,
        }  # fmt: skip
        if key not in (None, ""):
            metadata["key"] = str(key)
        for name in ("ngn", "pj", "pg", "pd", "pa", "px", "trc", "spn", "expire"):
            if extra.get(name) is not None:
                metadata[name] = extra[name]
        activity_io = {
            "data": copy_value(payload),
            "metadata": {"aid": trigger.id, "atp": "trigger", "dad": ",0", "jid": jid},
        }
        context: dict[str, Any] = {"metadata": metadata, "data": {}}
        context["$job"] = {"metadata": metadata, "data": context["data"]}
        context[trigger.id] = {"input": activity_io, "output": activity_io, "hook": {}}
        context["$self"] = context[trigger.id]
        entity = ext.entity
        if entity is None and trigger.entity is not None:
            entity = resolve(trigger.entity, context)
        if entity not in (None, ""):
            metadata["entity"] = str(entity)
        step = Step(state={META: metadata})
        apply_job_maps(trigger, context, step)
        record(step, context, trigger.id, ",0", n2=0, done=True)
        children = next_transitions(graph, trigger, context, 200)
        step.state.update(ext.fields)
        if ext.pending is not None:  # created, never started: no children run
            return Start(jid, step, 0, context)
        self.expand(graph, context, StepContext({}, len(children)), step, children, ",0,0")
        return Start(jid, step, len(children) + step.semaphore, context)

    # -- an event for an activity record --------------------------------------------------

    def plan_event(
        self,
        graph: Graph,
        activity: Activity,
        job: JobRecord,
        event: Any,
        event_id: str,
    ) -> Planned | None:
        """The step ``event`` (a :mod:`~hotmesh.engine.messages` event) causes on its
        activity record in ``job``; ``None`` when the record has already taken it (leg 1
        ran, a duplicate event).

        The step bumps the record's step counter from the value it read, so a second
        event computed from the same state cannot also apply (exactly once). A map or an
        answer that raises fails the job (the step says so).
        """
        dad = event.dad
        context = build_context(graph, job.state, activity.id, dad)
        ctl = StepContext(job.state, job.semaphore)
        own = job.state.get(activity_key(activity.id, dad), {})
        leg1 = event.kind == "transition"
        if own.get("l1") if leg1 else own.get("done") or event_id in own.get("seen", ()):
            return None
        try:
            if leg1:
                step = self.plan_leg1(graph, activity, context, ctl, event.at)
            else:
                step = self.plan_leg2(graph, activity, context, ctl, event, own, event_id)
        except Exception as err:  # bad data in a map or an answer: the job fails
            step = failed_step(context, activity.id, dad, err)
        counter = fence_key(activity.id, dad)
        seen = job.state.get(counter)
        step.state[counter] = (seen if isinstance(seen, int) else 0) + 1
        return Planned(step, context, {**step.expect, counter: seen})

    def plan_failure(
        self, context: dict[str, Any], activity: Activity, dad: str, state: Mapping[str, Any],
        err: BaseException,
    ) -> tuple[Step, dict[str, Any]]:  # fmt: skip
        """The step that fails the job instead (the planned one could not be stored)."""
        step = failed_step(context, activity.id, dad, err)
        counter = fence_key(activity.id, dad)
        seen = state.get(counter)
        step.state[counter] = (seen if isinstance(seen, int) else 0) + 1
        return step, {counter: seen}

    # -- leg 1: an activity starts --------------------------------------------------------

    def plan_leg1(
        self,
        graph: Graph,
        activity: Activity,
        context: dict[str, Any],
        ctl: StepContext,
        at: Address,
    ) -> Step:
        """``activity`` starts at ``at.dad``: its type decides what it does."""
        step = Step()
        behaviour = kind_of(activity)
        if behaviour.thresholds and self._declines(activity, context, ctl, step):
            return step
        behaviour.leg1(self, graph, activity, context, ctl, at, step)
        return step

    def _declines(
        self, activity: Activity, context: Mapping[str, Any], ctl: StepContext, step: Step
    ) -> bool:
        """``statusThreshold`` (2.9.3): whether ``activity`` declines to start.

        With T = the resolved threshold (non-numeric or absent: 0), an activity whose job
        has at most T open obligations left (its own included) does not run: the job
        gives them up (its semaphore drops to 0, which completes it) and nothing of the
        activity is recorded. Every activity type behaves so (the reference lets
        workers, awaits, cycles and self-interrupts run anyway, quirk 17).
        """
        if activity.status_threshold is None:
            return False
        threshold = number(resolve(activity.status_threshold, context)) or 0.0
        if threshold <= 0:
            return False
        current = ctl.semaphore
        if current > threshold:
            return False
        step.semaphore -= max(current, 0)
        return True

    # -- leg 2: an activity hears back ----------------------------------------------------

    def plan_leg2(
        self,
        graph: Graph,
        activity: Activity,
        context: dict[str, Any],
        ctl: StepContext,
        event: Any,
        own: Mapping[str, Any],
        event_id: str,
    ) -> Step:
        """``activity`` hears ``event`` (a response, a child's result, a timer, a signal):
        its output or hook data, then the transitions that fire."""
        kind, dad = event.kind, event.dad
        status, code, data = event.status, event.code, event.data
        step = Step()
        this = context[activity.id]
        behaviour = kind_of(activity)
        if kind in ("timehook", "webhook"):
            this["hook"] = {"data": data}
        elif status == "error":
            output = this.setdefault("output", {})
            output["metadata"] = {**output.get("metadata", {}), "err": error_text(data, code)}
            this["output"]["data"] = data
        else:
            this["output"] = {"data": data, "metadata": this.get("output", {}).get("metadata", {})}
        behaviour.heard(activity, kind, event, own, step)
        index = int(own.get("n2", 0))
        children = next_transitions(graph, activity, context, code)
        if status == "error" and not children:
            set_job_error(
                step, context["metadata"], {"code": code, **data, "is_stream_error": True}
            )
            step.error = data
        apply_job_maps(activity, context, step)
        pending = status == "pending"
        step.semaphore += len(children) - (0 if pending else 1)
        seen = [*list(own.get("seen", ()))[-MAX_SEEN + 1 :], event_id]
        final = not pending and not activity.cycle
        # Hook fields only where the activity waits on a hook (a null is a walk for
        # json_text's NaN check on every later write of the state).
        keys = {k: own[k] for k in ("hook_key", "hook_keys") if own.get(k)}
        record(step, context, activity.id, dad, l1=True, n2=index + 1, seen=seen, done=final,
               **keys)  # fmt: skip
        step.emit = step.emit or resolve(activity.emit, context) is True
        self.expand(graph, context, ctl, step, children, f"{dad},{index}")
        behaviour.settled(activity, kind, event, step)
        return step

    # -- shared by the activity types -----------------------------------------------------

    def expand(
        self,
        graph: Graph,
        context: dict[str, Any],
        ctl: StepContext,
        step: Step,
        children: list[str],
        child_dad: str,
    ) -> None:
        """Start ``children`` inside this step: their leg 1 runs now, in memory, and its
        effects join this step's single commit (no transition message, no extra hop)."""
        meta = context["metadata"]
        for child in children:
            activity = graph.activity(child)
            merged = {**ctl.state, **step.state}
            child_context = build_context(graph, merged, child, child_dad)
            # The semaphore as this child sees it: the step's base plus its deltas so far.
            child_ctl = StepContext(merged, ctl.semaphore + step.semaphore, ctl.cycles)
            at = Address(meta["jid"], meta["gid"], child, child_dad)
            _join(step, self.plan_leg1(graph, activity, child_context, child_ctl, at))

    def reenter(
        self,
        graph: Graph,
        ancestor: Activity,
        ctl: StepContext,
        at: Address,
        target: str,
        payload: Any,
        step: Step,
    ) -> bool:
        """A cycle re-enters its ancestor inside this step (its leg 2 runs in memory), so
        the loop costs no engine message; False when it must go through the stream (the
        ancestor's leg 1 is not recorded, or this step already re-entered too often)."""
        depth = ctl.cycles
        merged = {**ctl.state, **step.state}
        own = merged.get(activity_key(ancestor.id, target), {})
        if depth >= MAX_INLINE_CYCLES or not own.get("l1") or own.get("done"):
            return False
        ancestor_context = build_context(graph, merged, ancestor.id, target)
        ancestor_ctl = StepContext(merged, ctl.semaphore + step.semaphore, depth + 1)
        event = guid()
        message = Response(jid=at.jid, gid=at.gid, aid=ancestor.id, dad=target, data=payload,
                           guid=event, cycle=True)  # fmt: skip
        inner = self.plan_leg2(graph, ancestor, ancestor_context, ancestor_ctl, message, own, event)
        # The ancestor's record takes an event here: guard its step counter as a message
        # to it would have been (two branches cycling back at once re-enter one by one).
        counter = fence_key(ancestor.id, target)
        seen = merged.get(counter)
        step.expect.setdefault(counter, seen)
        inner.state[counter] = (seen if isinstance(seen, int) else 0) + 1
        _join(step, inner)
        return True

    def map_input(self, activity: Activity, context: dict[str, Any]) -> dict[str, Any]:
        """The activity's ``input.maps`` (a non-object result is ``{"value": ...}``),
        recorded as its input."""
        mapped = map_rules(dict(activity.input_maps or {}), context) or {}
        mapped = mapped if isinstance(mapped, dict) else {"value": mapped}
        context[activity.id]["input"] = {"data": mapped}
        return mapped

    def passthrough(
        self,
        graph: Graph,
        activity: Activity,
        context: dict[str, Any],
        ctl: StepContext,
        dad: str,
        step: Step,
        *,
        code: int,
    ) -> None:
        """A single-leg activity: transitions, output and job maps, children, done."""
        children = next_transitions(graph, activity, context, code)
        if activity.output_maps:
            mapped = map_rules(dict(activity.output_maps), context) or {}
            output = context[activity.id].setdefault("output", {})
            output["data"] = {**output.get("data", {}), **mapped}
        apply_job_maps(activity, context, step)
        step.semaphore += len(children) - 1
        step.emit = step.emit or resolve(activity.emit, context) is True
        # A cycle pivot stays open for re-entry; its first pass used index 0.
        record(step, context, activity.id, dad, l1=True, n2=1, seen=[], done=not activity.cycle)
        self.expand(graph, context, ctl, step, children, f"{dad},0")


def _join(step: Step, inner: Step) -> None:
    """Fold ``inner`` (a child's or a re-entered ancestor's step) into ``step``."""
    step.expect.update(inner.expect)
    step.state.update(inner.state)
    step.semaphore += inner.semaphore
    step.messages.extend(inner.messages)
    step.after.extend(inner.after)
    step.emit = step.emit or inner.emit
    if inner.error is not None:
        step.error = inner.error
