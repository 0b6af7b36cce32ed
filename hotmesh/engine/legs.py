"""What an activity does when it starts (leg 1) or hears back (leg 2), computed in memory.

These are pure: from the job's context and the message that caused the step they build a
:class:`~hotmesh.engine.steps.Step` (state delta, semaphore change, messages, after-commit
actions) without touching the database; :class:`hotmesh.engine.runtime.Engine` commits
it in one statement. A step also starts its children here (their leg 1 joins the step).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from hotmesh.engine.escalations import escalation_row
from hotmesh.engine.mapper import map_rules, resolve
from hotmesh.engine.model import (
    Activity,
    ActivityRetry,
    AwaitActivity,
    CycleActivity,
    Graph,
    HookActivity,
    InterruptActivity,
    SignalActivity,
    TriggerActivity,
    WorkerActivity,
)
from hotmesh.engine.state import activity_key, build_context, dad_at_depth, fence_key
from hotmesh.engine.steps import (
    Step,
    apply_job_maps,
    engine_message,
    error_text,
    next_transitions,
    record,
    set_job_error,
)
from hotmesh.errors import ConfigError
from hotmesh.spi import OutgoingMessage, RetryPolicy

__all__ = ["StepPlanner", "guid"]

#: Context key: the job's semaphore as the step being computed sees it (before its delta).
_JS = "__js__"
#: Context key: cycles already re-entered inline by the step being computed.
_CYCLES = "__cycles__"
#: Inline re-entries per step before a cycle goes through the stream (bounds a loop that
#: never waits for anything, as the stream round trip used to).
MAX_INLINE_CYCLES = 16
SIGNAL_TTL = 3600.0
MAX_SEEN = 64
#: Worker messages may be delivered this often (crash loops); the worker's own retry
#: policy decides how often a failing callback is retried.
WORKER_DELIVERY = RetryPolicy(maximum_attempts=50)


def guid(size: int = 22) -> str:
    """A new id: ``"H"`` and ``size`` random URL-safe characters (``[A-Za-z0-9_-]``)."""
    return "H" + secrets.token_urlsafe(size)[:size]


def _retry_policies(policy: ActivityRetry) -> dict[str, Any]:
    """An activity ``retry`` block as workers receive it (``{"500": [3], ...}``)."""
    out: dict[str, Any] = {code: [count] for code, count in policy.per_code.items()}
    if policy.backoff is not None:
        out.update(policy.backoff.to_camel())
    return out


def _trace(context: Mapping[str, Any]) -> dict[str, Any]:
    """The job's trace ids (``trc``, ``spn``), which its worker calls and children share."""
    metadata = context["metadata"]
    return {key: metadata[key] for key in ("trc", "spn") if metadata.get(key)}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class StepPlanner:
    """The in-memory half of the engine: legs of every activity type."""

    def _expand(
        self,
        graph: Graph,
        context: dict[str, Any],
        step: Step,
        children: list[str],
        child_dad: str,
    ) -> None:
        """Start ``children`` inside this step: their leg 1 runs now, in memory, and its
        effects join this step's single commit (no transition message, no extra hop)."""
        meta = context["metadata"]
        base = context.get("__state__", {})
        for child in children:
            activity = graph.activity(child)
            merged = {**base, **step.state}
            child_context = build_context(graph, merged, child, child_dad)
            child_context["__state__"] = merged
            # The semaphore as this child sees it: the step's base plus its deltas so far.
            child_context[_JS] = int(context.get(_JS, 0)) + step.semaphore
            child_context[_CYCLES] = context.get(_CYCLES, 0)
            body = {"jid": meta["jid"], "gid": meta["gid"], "aid": child, "dad": child_dad}
            child_step = self._leg1(graph, activity, child_context, body)
            step.state.update(child_step.state)
            step.semaphore += child_step.semaphore
            step.messages.extend(child_step.messages)
            step.after.extend(child_step.after)
            step.emit = step.emit or child_step.emit
            step.expect.update(child_step.expect)
            if child_step.error is not None:
                step.error = child_step.error

    def _reenter(
        self,
        graph: Graph,
        ancestor: Activity,
        context: dict[str, Any],
        body: Mapping[str, Any],
        target: str,
        payload: Any,
        step: Step,
    ) -> bool:
        """A cycle re-enters its ancestor inside this step (its leg 2 runs in memory), so
        the loop costs no engine message; False when it must go through the stream (the
        ancestor's leg 1 is not recorded, or this step already re-entered too often)."""
        depth = int(context.get(_CYCLES, 0))
        merged = {**context.get("__state__", {}), **step.state}
        own = merged.get(activity_key(ancestor.id, target), {})
        if depth >= MAX_INLINE_CYCLES or not own.get("l1") or own.get("done"):
            return False
        ancestor_context = build_context(graph, merged, ancestor.id, target)
        ancestor_context["__state__"] = merged
        ancestor_context[_JS] = int(context.get(_JS, 0)) + step.semaphore
        ancestor_context[_CYCLES] = depth + 1
        event = guid()
        message = {"jid": body["jid"], "gid": body["gid"], "aid": ancestor.id, "dad": target,
                   "data": payload, "guid": event, "cycle": True}  # fmt: skip
        inner = self._leg2(graph, ancestor, ancestor_context, message, own, event)
        # The ancestor's record takes an event here: guard its step counter as a message
        # to it would have been (two branches cycling back at once re-enter one by one).
        counter = fence_key(ancestor.id, target)
        seen = merged.get(counter)
        step.expect.setdefault(counter, seen)
        inner.state[counter] = (seen if isinstance(seen, int) else 0) + 1
        step.expect.update(inner.expect)
        step.state.update(inner.state)
        step.semaphore += inner.semaphore
        step.messages.extend(inner.messages)
        step.after.extend(inner.after)
        step.emit = step.emit or inner.emit
        if inner.error is not None:
            step.error = inner.error
        return True

    # -- leg 1: an activity starts ------------------------------------------------------------

    def _leg1(
        self, graph: Graph, activity: Activity, context: dict[str, Any], body: Mapping[str, Any]
    ) -> Step:
        jid, gid, dad = body["jid"], body["gid"], str(body["dad"])
        step = Step()
        if self._declines(activity, context, step):
            return step
        if isinstance(activity, WorkerActivity):
            payload = self._input(activity, context)
            topic = str(resolve(activity.topic, context) or activity.subtype or "")
            metadata = {
                "jid": jid, "gid": gid, "aid": activity.id, "dad": dad, "topic": topic,
                "guid": guid(), "try": 0,
            }  # fmt: skip
            metadata.update(_trace(context))  # the job's trace continues in the worker
            request: dict[str, Any] = {"metadata": metadata, "data": payload}
            if activity.retry is not None:  # the worker applies the activity's policy
                request["policies"] = {"retry": _retry_policies(activity.retry)}
            if activity.timeout is not None:  # ... and its per-attempt timeout
                request.setdefault("policies", {})["timeout"] = activity.timeout
            step.messages.append(
                OutgoingMessage(topic, request, priority=1, job_id=jid, retry=WORKER_DELIVERY)
            )
            record(step, context, activity.id, dad, l1=True, n2=0, seen=[])
        elif isinstance(activity, AwaitActivity):
            payload = self._input(activity, context)
            topic = str(resolve(activity.topic, context) or activity.subtype or "")
            detached = resolve(activity.await_result, context) is False
            parent = {"pj": jid, "pg": gid, "pd": dad, "pa": activity.id, **_trace(context)}
            if detached:
                parent["px"] = True
            keep = _number(resolve(activity.expire, context)) if activity.expire else None
            if keep is not None:  # how long the finished child is kept
                parent["expire"] = keep
            step.messages.append(
                engine_message(
                    "await", jid,
                    {"topic": topic, "data": payload, "parent": parent, "child": guid()},
                )
            )  # fmt: skip
            record(step, context, activity.id, dad, l1=True, n2=0, seen=[])
        elif isinstance(activity, HookActivity):
            self._hook_leg1(graph, activity, context, body, step)
        elif isinstance(activity, CycleActivity):
            payload = self._input(activity, context) if activity.input_maps else context["data"]
            ancestor = graph.activity(activity.ancestor)
            target = dad_at_depth(dad, ancestor.depth)
            record(step, context, activity.id, dad, l1=True, done=True)
            if self._reenter(graph, ancestor, context, body, target, payload, step):
                return step
            step.messages.append(
                engine_message(
                    "response", jid,
                    {"jid": jid, "gid": gid, "aid": ancestor.id, "dad": target,
                     "data": payload, "guid": guid(), "cycle": True},
                )
            )  # fmt: skip
        elif isinstance(activity, SignalActivity):
            self._passthrough(graph, activity, context, dad, step, code=200)
            topic = str(resolve(activity.topic, context) or "")
            signal = map_rules(dict(activity.signal_maps or {}), context) or {}
            status = resolve(activity.status, context) or "success"
            code = resolve(activity.code, context) or 200
            if activity.subtype == "all":
                step.messages.append(self._signal_all_message(activity, context, topic, signal))
            else:
                step.messages.append(self._signal_message(topic, signal, str(status), int(code)))
        elif isinstance(activity, InterruptActivity):
            self._interrupt_leg1(graph, activity, context, dad, step)
        elif isinstance(activity, TriggerActivity):
            pass
        else:  # pragma: no cover - the compiler only produces the types above
            raise ConfigError(f"unknown activity type for {activity.id!r}", value=activity.id)
        return step

    def _declines(self, activity: Activity, context: Mapping[str, Any], step: Step) -> bool:
        """``statusThreshold`` (2.9.3): whether ``activity`` declines to start.

        With T = the resolved threshold (non-numeric or absent: 0), an activity whose job
        has at most T open obligations left (its own included) does not run: the job
        gives them up (its semaphore drops to 0, which completes it) and nothing of the
        activity is recorded. Every activity type behaves so (the reference lets
        workers, awaits, cycles and self-interrupts run anyway, quirk 17).
        """
        if activity.status_threshold is None or isinstance(activity, TriggerActivity):
            return False
        threshold = _number(resolve(activity.status_threshold, context)) or 0.0
        if threshold <= 0:
            return False
        current = int(context.get(_JS, 0))
        if current > threshold:
            return False
        step.semaphore -= max(current, 0)
        return True

    def _input(self, activity: Activity, context: dict[str, Any]) -> dict[str, Any]:
        mapped = map_rules(dict(activity.input_maps or {}), context) or {}
        mapped = mapped if isinstance(mapped, dict) else {"value": mapped}
        context[activity.id]["input"] = {"data": mapped}
        return mapped

    def _passthrough(
        self,
        graph: Graph,
        activity: Activity,
        context: dict[str, Any],
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
        self._expand(graph, context, step, children, f"{dad},0")

    def _hook_leg1(
        self,
        graph: Graph,
        activity: HookActivity,
        context: dict[str, Any],
        body: Mapping[str, Any],
        step: Step,
    ) -> None:
        jid, gid, dad = body["jid"], body["gid"], str(body["dad"])
        sleep = resolve(activity.sleep, context) if activity.sleep is not None else None
        seconds = _number(sleep)
        waits = bool(activity.hook_topic) or (seconds is not None and seconds > 0)
        if not waits:  # passthrough (a cycle pivot's first pass too)
            self._passthrough(graph, activity, context, dad, step, code=200)
            return
        if activity.output_maps:
            mapped = map_rules(dict(activity.output_maps), context) or {}
            context[activity.id].setdefault("output", {})["data"] = mapped
        apply_job_maps(activity, context, step)
        if seconds is not None and seconds > 0:
            step.messages.append(
                engine_message(
                    "timehook", jid, {"jid": jid, "gid": gid, "aid": activity.id, "dad": dad,
                                      "guid": guid()}, delay=seconds,
                )
            )  # fmt: skip
        key = None
        also: list[str] = []
        if activity.hook_topic:
            manifest_rules = graph.hooks.get(activity.hook_topic) or ()
            rules = [r for r in manifest_rules if r.to == activity.id]
            expected = resolve(rules[0].expected, context) if rules else jid
            key = f"{activity.hook_topic}:{expected}"
            # Further rules to this activity register it under more keys (a wait that
            # a signal reaches by its id or by its workflow): the first signal wins.
            for rule in rules[1:]:
                more = resolve(rule.expected, context)
                if more not in (None, "") and f"{activity.hook_topic}:{more}" != key:
                    also.append(f"{activity.hook_topic}:{more}")
            target: dict[str, Any] = {"jid": jid, "gid": gid, "aid": activity.id, "dad": dad}
            if also:
                target["many"] = True  # see Engine._ended_wait
            registration: dict[str, Any] = {
                "key": key,
                "target": target,
                "ttl": max(float(graph.expire), SIGNAL_TTL),
            }
            if also:
                registration["also"] = also
            step.after.append(("register_hook", registration))
            if activity.escalation:
                row = escalation_row(
                    activity.escalation, context, signal_key=str(expected),
                    topic=activity.hook_topic, job_id=jid, app_id=context["metadata"]["app"],
                )  # fmt: skip
                if row is not None:
                    step.after.append(("escalate", row))
        extra = {"hook_keys": also} if also else {}
        record(step, context, activity.id, dad, l1=True, n2=0, seen=[], hook_key=key, **extra)

    def _interrupt_leg1(
        self,
        graph: Graph,
        activity: InterruptActivity,
        context: dict[str, Any],
        dad: str,
        step: Step,
    ) -> None:
        meta = context["metadata"]
        target = resolve(activity.target, context) if activity.target is not None else None
        options = {
            "reason": resolve(activity.reason, context),
            "throw": resolve(activity.throw, context) is not False,
            "code": _number(resolve(activity.code, context)) or 410,
            "stack": resolve(activity.stack, context),
        }
        keep = _number(resolve(activity.expire, context)) if activity.expire else None
        if keep is not None:  # how long the interrupted job is kept
            options["expire"] = keep
        if target in (None, "", meta["jid"]):
            apply_job_maps(activity, context, step)
            record(step, context, activity.id, dad, l1=True, done=True)
            step.semaphore -= 1
            step.after.append(("interrupt", {"jid": meta["jid"], **options}))
            return
        step.after.append(("interrupt", {"jid": str(target), **options}))
        self._passthrough(graph, activity, context, dad, step, code=200)

    # -- leg 2: an activity hears back ---------------------------------------------------------

    def _leg2(
        self,
        graph: Graph,
        activity: Activity,
        context: dict[str, Any],
        body: Mapping[str, Any],
        own: Mapping[str, Any],
        event: str,
    ) -> Step:
        kind = body.get("type")
        dad = str(body["dad"])
        status = str(body.get("status") or "success")
        code = int(body.get("code") or 200)
        data = body.get("data") or {}
        step = Step()
        this = context[activity.id]
        if kind in ("timehook", "webhook"):
            this["hook"] = {"data": data}
            if kind == "timehook" and own.get("hook_key"):
                step.after.append(("forget_hook_key", {"key": own["hook_key"]}))
                if isinstance(activity, HookActivity) and activity.escalation:
                    waited = str(own["hook_key"])[len(activity.hook_topic or "") + 1 :]
                    step.after.append(("expire_escalation", {"signal_key": waited}))
            if own.get("hook_keys") and (kind == "timehook" or code == 200):
                # The other keys of a many-key wait, unless another wait took them over.
                used = own.get("hook_key") if kind == "timehook" else body.get("key")
                target = {"jid": body.get("jid"), "gid": body.get("gid"),
                          "aid": activity.id, "dad": dad, "many": True}  # fmt: skip
                for other in (own.get("hook_key"), *own["hook_keys"]):
                    if other != used:
                        step.after.append(("forget_hook_key", {"key": other, "target": target}))
        elif status == "error":
            output = this.setdefault("output", {})
            output["metadata"] = {**output.get("metadata", {}), "err": error_text(data, code)}
            this["output"]["data"] = data
        else:
            this["output"] = {"data": data, "metadata": this.get("output", {}).get("metadata", {})}
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
        seen = [*list(own.get("seen", ()))[-MAX_SEEN + 1 :], event]
        final = not pending and not activity.cycle
        keys = {"hook_keys": own["hook_keys"]} if own.get("hook_keys") else {}
        record(
            step, context, activity.id, dad,
            l1=True, n2=index + 1, seen=seen, done=final, hook_key=own.get("hook_key"), **keys,
        )  # fmt: skip
        step.emit = step.emit or resolve(activity.emit, context) is True
        self._expand(graph, context, step, children, f"{dad},{index}")
        if kind == "webhook" and code == 200 and isinstance(activity, HookActivity):
            step.after.append(("forget_hook_key", {"key": body.get("key")}))
        return step

    def _signal_message(
        self, topic: str, data: Mapping[str, Any], status: str, code: int
    ) -> OutgoingMessage:
        body = {"topic": topic, "data": dict(data), "status": status, "code": code, "guid": guid()}
        return engine_message("webhook", "", body)

    def _signal_all_message(
        self,
        activity: SignalActivity,
        context: Mapping[str, Any],
        topic: str,
        signal: Mapping[str, Any],
    ) -> OutgoingMessage:
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
        body = {
            "topic": topic,
            "data": dict(signal),
            "query": resolver,
            "facets": facets,
            "scrub": scrub is True,
        }
        return engine_message("signal_all", "", body)
