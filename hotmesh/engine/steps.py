"""What one activity step decides: state to write, messages to send, semaphore change.

Steps are computed in memory from the job's state and the message that caused them; the
runtime then commits each step in one statement (``Store.apply_step``), fenced by the
delivery that caused it, so a redelivered message never applies a step twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from attrs import define, field

from hotmesh.engine.effects import Effect
from hotmesh.engine.mapper import map_rules, resolve
from hotmesh.engine.messages import ENGINE_STREAM, PRIORITY, engine_message
from hotmesh.engine.state import META, activity_key, data_leaves, now_stamp
from hotmesh.errors import StepError
from hotmesh.spi import OutgoingMessage

if TYPE_CHECKING:
    from hotmesh.engine.model import Activity, Graph, Transition

__all__ = [
    "ENGINE_STREAM",
    "PRIORITY",
    "Step",
    "apply_job_maps",
    "engine_message",
    "failed_step",
    "merge_data",
    "next_transitions",
]

_INDEXED = re.compile(r"^(.*)\[(\d+|-|_)\]$")


@define
class Step:
    """The effects of one activity step, before they are committed."""

    state: dict[str, Any] = field(factory=dict)
    semaphore: int = 0
    messages: list[OutgoingMessage] = field(factory=list)
    #: the job failed with this error and nothing handles it: complete it now
    error: dict[str, Any] | None = None
    emit: bool = False
    #: work to do once the step has committed (hook registration, interrupts…)
    after: list[Effect] = field(factory=list)
    #: step counters of other activity records this step consumed an event of (a cycle
    #: re-entering its ancestor inline): the values read, checked at commit
    expect: dict[str, Any] = field(factory=dict)


def number(value: Any) -> float | None:
    """``value`` as a float, or ``None`` (booleans and non-numbers).

    Example:
        >>> number("2.5"), number(True), number("x")
        (2.5, None, None)
    """
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def next_transitions(
    graph: Graph, activity: Activity, context: Mapping[str, Any], code: int | str
) -> list[str]:
    """Ids of the activities whose transition from ``activity`` fires for ``code``."""
    chosen = []
    for edge in graph.transitions.get(activity.id, ()):
        if _fires(edge, context, code):
            chosen.append(edge.to)
    return chosen


def _fires(edge: Transition, context: Mapping[str, Any], code: int | str) -> bool:
    conditions = edge.conditions
    if conditions is None:
        return True
    if not conditions.accepts_code(code):
        return False
    if not conditions.match:
        return True
    results = [resolve(m.actual, context) == m.expected for m in conditions.match]
    return any(results) if conditions.gate == "or" else all(results)


def apply_job_maps(activity: Activity, context: dict[str, Any], step: Step) -> dict[str, Any]:
    """Evaluate ``job.maps``; merge into the context's job data and the step's state."""
    if not activity.job_maps:
        return {}
    mapped = map_rules(dict(activity.job_maps), context)
    if not isinstance(mapped, dict):
        return {}
    updates: dict[str, Any] = {}
    for key, value in mapped.items():
        match = _INDEXED.match(key)
        if match and match.group(2) in "-_" and isinstance(value, dict):
            updates.update(value)  # k[-] / k[_]: spread the object's entries
        elif match:
            updates[match.group(1)] = value
        else:
            updates[key] = value
    for key, value in updates.items():
        merge_data(step, context["data"], str(key), value)
    return updates


def merge_data(step: Step, data: dict[str, Any], key: str, value: Any) -> None:
    """Merge ``value`` into the job data's ``key`` (objects deeply) in ``data`` and in the
    step's state.

    Only the leaves ``value`` sets are written, so parallel branches that set other leaves
    of the same object keep theirs; the leaves it replaces (those the old value had that
    the merge dropped, e.g. a plain value an object replaced) are removed.

    Example:
        >>> step, data = Step(), {"r": {"a": 1, "b": 2}}
        >>> merge_data(step, data, "r", {"b": {"c": 3}})
        >>> data, step.state
        ({'r': {'a': 1, 'b': {'c': 3}}}, {'d/r/b/c': 3, 'd/r/b': None})
    """
    current = data.get(key)
    merged = _deep_merge(current, value) if isinstance(current, dict) else value
    data[key] = merged
    path = (key,)
    before = data_leaves(path, current) if current is not None else {}
    after = data_leaves(path, merged)
    for leaf in data_leaves(path, value):
        if leaf in after:
            step.state[leaf] = after[leaf]
    for leaf in before.keys() - after.keys():
        step.state[leaf] = None


def _deep_merge(base: dict[str, Any], update: Any) -> Any:
    if not isinstance(update, dict):
        return update
    out = dict(base)
    for key, value in update.items():
        out[key] = _deep_merge(out[key], value) if isinstance(out.get(key), dict) else value
    return out


def record(
    step: Step, context: Mapping[str, Any], activity_id: str, dad: str, **extra: Any
) -> dict[str, Any]:
    """Write the activity's record (from the context) into the step's state.

    ``output.metadata`` gets the reference's timestamps: ``ac`` when the activity was first
    recorded (leg 1), ``au`` when it was last (``YYYYMMDDHHmmss.mmm``, UTC).
    """
    own = context[activity_id]
    output = dict(own.get("output", {}))
    stamp = now_stamp()
    output["metadata"] = {"ac": stamp, **dict(output.get("metadata") or {}), "au": stamp}
    value = {
        "input": own.get("input", {}),
        "output": output,
        "hook": own.get("hook", {}),
        **extra,
    }
    step.state[activity_key(activity_id, dad)] = value
    return value


def error_text(error: Mapping[str, Any], code: int | None = None) -> str:
    """An error as the JSON text the reference stores (the job's and an activity's ``err``).

    Keys come in the reference's order: ``message``, ``code``, then the rest as given;
    ``code`` (the response's code) fills in a missing ``code``.

    Example:
        >>> error_text({"reason": "no account", "message": "invalid"}, 402)
        '{"message":"invalid","code":402,"reason":"no account"}'
    """
    fields = dict(error)
    if code is not None:
        fields.setdefault("code", code)
    ordered: dict[str, Any] = {k: fields[k] for k in ("message", "code") if k in fields}
    ordered.update(fields)  # the rest keep their order; message and code keep their place
    return json.dumps(ordered, separators=(",", ":"), default=str)


def set_job_error(step: Step, metadata: dict[str, Any], error: Mapping[str, Any]) -> None:
    """Record a job-level error in the metadata."""
    metadata["err"] = error_text(error)
    step.state[META] = metadata


def step_failure(err: BaseException, activity_id: str, dad: str, job_id: str) -> dict[str, Any]:
    """The job error for ``err`` raised while applying a step of ``activity_id``: message,
    code (the error's own :class:`~hotmesh.errors.HotMeshError` code, else
    :class:`~hotmesh.errors.StepError`'s), then where it happened."""
    code = getattr(err, "code", None)
    return {
        "message": f"activity {activity_id} failed: {err}",
        "code": code if isinstance(code, int) and not isinstance(code, bool) else StepError.code,
        "activity_id": activity_id,
        "dad": dad,
        "job_id": job_id,
        "error": type(err).__name__,
    }


def failed_step(context: dict[str, Any], activity_id: str, dad: str, err: BaseException) -> Step:
    """The step that ends an activity whose own step raised ``err``: the job fails.

    The activity is closed (its record marked done and failed); the job error goes into
    ``metadata.err`` and the runtime completes the job, giving up its other branches.

    Example:
        >>> ctx = {"metadata": {"jid": "j1"}, "a1": {"input": {}, "output": {}}}
        >>> failed_step(ctx, "a1", ",0", ZeroDivisionError("division by zero")).semaphore
        -1
    """
    step = Step(semaphore=-1)
    error = step_failure(err, activity_id, dad, str(context["metadata"].get("jid")))
    metadata = dict(context["metadata"])
    set_job_error(step, metadata, error)
    step.error = error
    context.setdefault(activity_id, {"input": {}, "output": {}, "hook": {}})
    record(step, context, activity_id, dad, l1=True, done=True, failed=True)
    return step
