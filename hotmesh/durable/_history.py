"""``handle.export_execution()``: a workflow's history as a Temporal-like event list.

Every durable call leaves a marker field in the workflow's job (``-proxy-3-`` ...) with
what was asked (``op``), its outcome (``out``) and when it was asked (``ac``) and
answered (``au``, epoch milliseconds). This module turns those fields into events
(durable.md §6.2); :mod:`hotmesh.durable.testing` turns the events back into markers to
replay a history without a database.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from hotmesh import HotMesh
from hotmesh.errors import ConfigError, JobNotFound

__all__ = ["MARKER_EVENT", "build_execution", "export_execution", "iso_time"]

_KEY = re.compile(r"^-([a-z]+)(\$\d+)?-(\d+)-$")
_PATCH = re.compile(r"^-patch(\$\d+)?-(.+)-$")
#: The event of a recorded call with no Temporal counterpart (search, entity, emit...).
MARKER_EVENT = "marker_recorded"
_MODES = ("sparse", "verbose")
_CLOSING = ("workflow_execution_completed", "workflow_execution_failed")


def iso_time(stamp: Any) -> str | None:
    """An ISO 8601 UTC time (ms) from epoch ms, a ``YYYYMMDDHHmmss[.fff]`` stamp or ISO.

    Example:
        >>> iso_time(0), iso_time("20260102030405.678"), iso_time("x")
        ('1970-01-01T00:00:00.000Z', '2026-01-02T03:04:05.678Z', None)
    """
    moment: dt.datetime | None = None
    if isinstance(stamp, bool):
        return None
    if isinstance(stamp, int | float):
        moment = dt.datetime.fromtimestamp(stamp / 1000, tz=dt.UTC)
    elif isinstance(stamp, str):
        for form in ("%Y%m%d%H%M%S.%f", "%Y%m%d%H%M%S"):
            try:
                moment = dt.datetime.strptime(stamp, form).replace(tzinfo=dt.UTC)
                break
            except ValueError:
                continue
        else:
            try:
                moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            except ValueError:
                return None
    if moment is None:
        return None
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _ms(stamp: Any) -> float | None:
    text = iso_time(stamp)
    if text is None:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def _duration(start: Any, end: Any) -> int | None:
    a, b = _ms(start), _ms(end)
    return None if a is None or b is None else round(b - a)


class _Events:
    """Collects events; numbering and back-references happen in :meth:`finish`."""

    def __init__(self, omit_results: bool, exclude_system: bool) -> None:
        self.items: list[dict[str, Any]] = []
        self.omit = omit_results
        self.exclude_system = exclude_system

    def add(
        self,
        kind: str,
        category: str,
        when: Any,
        attributes: dict[str, Any],
        *,
        duration: int | None = None,
        system: bool = False,
    ) -> None:
        if system and self.exclude_system:
            return
        if self.omit:
            for name in ("input", "result", "failure"):
                attributes.pop(name, None)
        self.items.append(
            {
                "event_type": kind,
                "category": category,
                "event_time": iso_time(when),
                "duration_ms": duration,
                "is_system": system,
                "attributes": {"kind": kind, **attributes},
            }
        )

    def finish(self) -> list[dict[str, Any]]:
        def rank(pair: tuple[int, dict[str, Any]]) -> tuple[int, str, int]:
            kind = pair[1]["event_type"]
            first, last = kind == "workflow_execution_started", kind in _CLOSING
            return (0 if first else 2 if last else 1, pair[1]["event_time"] or "", pair[0])

        order = sorted(enumerate(self.items), key=rank)
        events = [event for _, event in order]
        opened: dict[str, int] = {}
        for number, event in enumerate(events, start=1):
            event["event_id"] = number
            attrs = event["attributes"]
            key = attrs.get("timeline_key")
            if key is None:
                continue
            if key not in opened:
                opened[key] = number
            elif event["category"] == "activity":
                attrs["scheduled_event_id"] = opened[key]
            elif event["category"] == "child_workflow":
                attrs["initiated_event_id"] = opened[key]
        return [{"event_id": e.pop("event_id"), **e} for e in events]


def _marker_events(
    events: _Events, key: str, kind: str, index: int, value: Any, generation: int
) -> None:
    record = value if isinstance(value, Mapping) else {"out": value}
    op = str(record.get("op", ""))
    out = record.get("out", record)
    ac, au = record.get("ac"), record.get("au")
    base: dict[str, Any] = {"timeline_key": key, "execution_index": index}
    if generation:
        base["generation"] = generation
    took = _duration(ac, au)
    if kind == "proxy":
        outcome = out if isinstance(out, Mapping) else {}
        events.add("activity_task_scheduled", "activity", ac, {**base, "activity_type": op})
        if outcome.get("error"):
            failed = {**base, "activity_type": op, "failure": outcome["error"]}
            events.add("activity_task_failed", "activity", au, failed, duration=took)
        else:
            done = {**base, "activity_type": op, "result": outcome.get("response")}
            events.add("activity_task_completed", "activity", au, done, duration=took)
    elif kind in ("child", "exechook", "start", "hook"):
        awaited = kind in ("child", "exechook")
        child = {
            **base,
            "child_workflow_type": op,
            "child_workflow_id": record.get("job_id"),
            "awaited": awaited,
            "hook": kind in ("hook", "exechook"),
        }
        events.add("child_workflow_execution_started", "child_workflow", ac or au, child)
        if awaited and record.get("error"):
            failed = {**child, "failure": record["error"]}
            events.add(
                "child_workflow_execution_failed", "child_workflow", au, failed, duration=took
            )
        elif awaited:
            done = {**child, "result": record.get("response")}
            events.add(
                "child_workflow_execution_completed", "child_workflow", au, done, duration=took
            )
    elif kind == "wait":
        payload = out if isinstance(out, Mapping) else {}
        events.add("signal_wait_started", "signal", ac, {**base, "signal_name": op})
        if payload.get("cancel") is True and "data" not in payload:
            woken = {**base, "signal_name": op, "cancelled": True}
            events.add("signal_wait_cancelled", "signal", au, woken, duration=took)
        elif "id" in payload:
            heard = {**base, "signal_name": op, "input": payload.get("data")}
            events.add("workflow_execution_signaled", "signal", au, heard, duration=took)
        else:
            events.add(
                "signal_wait_timed_out", "signal", au, {**base, "signal_name": op}, duration=took
            )
    elif kind == "sleep":
        seconds = out if isinstance(out, int | float) else None
        length = None if seconds is None else round(seconds * 1000)
        events.add("timer_started", "timer", ac, {**base, "duration_ms": length})
        fired = {**base, "cancelled": True} if record.get("cancelled") else dict(base)
        events.add("timer_fired", "timer", au, fired, duration=took)
    elif kind == "signal":
        events.add("signal_sent", "signal", au, {**base, "signal_name": op})
    else:  # search, entity, emit, trace, interrupt...: recorded outcomes replay needs
        recorded = {**base, "marker_kind": kind, "op": op, "result": out}
        events.add(MARKER_EVENT, "workflow", au or ac, recorded, system=True)


def build_execution(
    workflow_id: str,
    data: Mapping[str, Any],
    metadata: Mapping[str, Any],
    start: Mapping[str, Any],
    *,
    mode: str = "sparse",
    exclude_system: bool = False,
    omit_results: bool = False,
    include_lineage: bool = False,
) -> dict[str, Any]:
    """The execution history of one workflow job from its data, metadata and start input.

    Example:
        >>> run = build_execution("w1", {"done": True, "response": 3,
        ...     "-proxy-0-": {"op": "add", "out": {"response": 3}, "ac": 0, "au": 5}},
        ...     {"jc": 0}, {"workflowName": "sum", "taskQueue": "q", "arguments": [1, 2]})
        >>> [e["event_type"] for e in run["events"]]  # doctest: +NORMALIZE_WHITESPACE
        ['workflow_execution_started', 'activity_task_scheduled', 'activity_task_completed',
         'workflow_execution_completed']
    """
    if mode not in _MODES:
        raise ConfigError(f"mode must be one of {', '.join(_MODES)}", value=mode)
    events = _Events(omit_results, exclude_system)
    topic = str(start.get("workflowTopic") or "")
    started_at = metadata.get("jc")
    started = {
        "workflow_type": topic,
        "task_queue": topic,
        "workflow_name": start.get("workflowName"),
        "input": start.get("arguments"),
    }
    events.add("workflow_execution_started", "workflow", started_at, started)
    latest: Any = None
    for key, value in data.items():
        patch = _PATCH.match(key)
        match = _KEY.match(key)
        if match is None and patch is not None:
            generation = int((patch.group(1) or "$0")[1:])
            attrs = {"timeline_key": key, "marker_kind": "patch", "op": patch.group(2)}
            if generation:
                attrs["generation"] = generation
            events.add(MARKER_EVENT, "workflow", started_at, attrs, system=True)
            continue
        if match is None:
            continue
        generation = int((match.group(2) or "$0")[1:])
        _marker_events(events, key, match.group(1), int(match.group(3)), value, generation)
        if isinstance(value, Mapping) and (_ms(value.get("au")) or 0) > (_ms(latest) or 0):
            latest = value.get("au")
    error = data.get("error")
    status = int(metadata.get("js") or 0) if metadata.get("js") is not None else 1
    finished = data.get("done") is True or status <= 0
    state = "failed" if error or status < 0 else "completed" if finished else "running"
    stamps = [s for s in (metadata.get("ju"), latest) if _ms(s) is not None]
    close = max(stamps, key=lambda s: _ms(s) or 0) if finished and stamps else None
    if state == "completed":
        events.add(
            "workflow_execution_completed", "workflow", close, {"result": data.get("response")}
        )
    elif state == "failed":
        events.add("workflow_execution_failed", "workflow", close, {"failure": error})
    listed = events.finish()
    activities = [
        e for e in listed if e["category"] == "activity" and "scheduled_event_id" in e["attributes"]
    ]
    children = [
        e
        for e in listed
        if e["event_type"].startswith("child_workflow_execution_")
        and e["event_type"] != "child_workflow_execution_started"
    ]
    execution: dict[str, Any] = {
        "workflow_id": workflow_id,
        "workflow_type": topic,
        "task_queue": topic,
        "status": state,
        "start_time": iso_time(started_at),
        "close_time": iso_time(close),
        "duration_ms": _duration(started_at, close),
        "result": None if omit_results else data.get("response"),
        "events": listed,
        "summary": {
            "total_events": len(listed),
            "activities": {
                "total": len(activities),
                "completed": sum(e["event_type"] == "activity_task_completed" for e in listed),
                "failed": sum(e["event_type"] == "activity_task_failed" for e in listed),
                "system": 0,
                "user": len(activities),
            },
            "child_workflows": {
                "total": sum(e["event_type"] == "child_workflow_execution_started" for e in listed),
                "completed": sum(e["event_type"].endswith("_completed") for e in children),
                "failed": sum(e["event_type"].endswith("_failed") for e in children),
            },
            "timers": sum(e["event_type"] == "timer_started" for e in listed),
            "signals": sum(e["event_type"] == "workflow_execution_signaled" for e in listed),
        },
    }
    if include_lineage:
        parent = start.get("parentWorkflowId")
        execution["parent_workflow_id"] = parent or None
        execution["origin_id"] = (start.get("originJobId") or parent) or None
    return execution


async def export_execution(
    hm: HotMesh,
    namespace: str,
    workflow_id: str,
    *,
    mode: str = "sparse",
    exclude_system: bool = False,
    omit_results: bool = False,
    enrich_inputs: bool = False,
    include_lineage: bool = False,
    max_depth: int = 5,
) -> dict[str, Any]:
    """Read the workflow's job and build its history (see ``handle.export_execution``)."""
    raw = await hm.export(workflow_id)
    output = await hm.get_state(f"{namespace}.execute", workflow_id)
    start: Mapping[str, Any] = {}
    for activity in raw.activities:
        if activity["name"] == "trigger" and isinstance(activity["output"], Mapping):
            start = activity["output"]
    execution = build_execution(
        workflow_id, output.data, output.metadata, start, mode=mode,
        exclude_system=exclude_system, omit_results=omit_results,
        include_lineage=include_lineage,
    )  # fmt: skip
    if enrich_inputs and not omit_results:
        for event in execution["events"]:
            key = event["attributes"].get("timeline_key")
            value = output.data.get(key) if key else None
            if event["event_type"] == "activity_task_scheduled" and isinstance(value, Mapping):
                event["attributes"]["input"] = value.get("in")
    if mode == "verbose" and max_depth > 1:
        execution["children"] = []
        for event in execution["events"]:
            child_id = event["attributes"].get("child_workflow_id")
            if event["event_type"] != "child_workflow_execution_started" or not child_id:
                continue
            try:
                child = await export_execution(
                    hm, namespace, child_id, mode=mode, exclude_system=exclude_system,
                    omit_results=omit_results, enrich_inputs=enrich_inputs,
                    include_lineage=include_lineage, max_depth=max_depth - 1,
                )  # fmt: skip
            except JobNotFound:  # expired: its parent's events still tell its outcome
                continue
            execution["children"].append(child)
    return execution
