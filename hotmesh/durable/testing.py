"""Replay testing: check a workflow code change against recorded histories, in CI.

:func:`replay` runs a workflow function over a history saved from
``handle.export_execution()`` (as JSON), with no database and no worker: every durable
call takes its recorded outcome, and the first call that differs from the history raises
:class:`~hotmesh.durable.NondeterminismError`, as a running execution would on its next
turn after the deploy.

Example:
    >>> import json, asyncio  # doctest: +SKIP
    >>> history = json.loads(Path("tests/histories/order-1.json").read_text())
    >>> asyncio.run(replay(history, order))  # the recorded result, or NondeterminismError
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from hotmesh.durable._context import Recorded, TurnContext, bind, parse_markers, parse_patches
from hotmesh.durable._context import unbind as _unbind
from hotmesh.durable._history import MARKER_EVENT
from hotmesh.durable._turn import drain
from hotmesh.durable.errors import DurableSuspend, NondeterminismError
from hotmesh.errors import ConfigError

__all__ = ["replay"]


@attrs.define(eq=False)
class _ReplayContext(TurnContext):
    """A turn context that remembers which recorded calls the code asked for."""

    claimed: set[int] = attrs.field(factory=set)

    def claim(self, kind: str, op: str) -> tuple[int, Recorded | None]:
        index, recorded = super().claim(kind, op)
        self.claimed.add(index)
        return index, recorded


def _load(history: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    if isinstance(history, Path):
        history = history.read_text()
    if isinstance(history, str):
        try:
            history = json.loads(history)
        except ValueError as err:
            raise ConfigError(f"the history is not JSON: {err}", value=None) from err
    if not isinstance(history, Mapping) or not isinstance(history.get("events"), list):
        raise ConfigError(
            "a history is what handle.export_execution() returns (a dict with 'events')",
            value=type(history).__name__,
        )
    return history


def _markers(events: list[Mapping[str, Any]]) -> tuple[dict[str, Any], list[Any]]:
    """The job's marker fields rebuilt from the events, and the workflow's arguments."""
    data: dict[str, dict[str, Any]] = {}
    patches: dict[str, Any] = {}
    arguments: list[Any] = []
    for event in events:
        kind, attrs_ = event.get("event_type"), dict(event.get("attributes") or {})
        if kind == "workflow_execution_started":
            arguments = list(attrs_.get("input") or [])
            continue
        key = attrs_.get("timeline_key")
        if not isinstance(key, str):
            continue
        entry = data.setdefault(key, {})
        if kind == "activity_task_scheduled":
            entry["op"] = attrs_.get("activity_type", "")
        elif kind == "activity_task_completed":
            entry["out"] = {"response": _needs(attrs_, "result", event)}
        elif kind == "activity_task_failed":
            entry["out"] = {"error": _needs(attrs_, "failure", event)}
        elif kind == "child_workflow_execution_started":
            entry.update(
                op=attrs_.get("child_workflow_type", ""), job_id=attrs_.get("child_workflow_id")
            )
        elif kind == "child_workflow_execution_completed":
            entry["response"] = _needs(attrs_, "result", event)
        elif kind == "child_workflow_execution_failed":
            entry["error"] = _needs(attrs_, "failure", event)
        elif kind == "signal_wait_started":
            entry.update(op=attrs_.get("signal_name", ""), out={})
        elif kind == "workflow_execution_signaled":
            entry["out"] = {"id": attrs_.get("signal_name"), "data": _needs(attrs_, "input", event)}
        elif kind == "timer_started":
            entry.update(op="", out=(attrs_.get("duration_ms") or 0) / 1000)
        elif kind == "timer_fired" and attrs_.get("cancelled"):
            entry["cancelled"] = True
        elif kind == "signal_wait_cancelled":
            entry["out"] = {"id": attrs_.get("signal_name"), "cancel": True}
        elif kind == "signal_sent":
            entry.update(op=attrs_.get("signal_name", ""), out=attrs_.get("signal_name"))
        elif kind == MARKER_EVENT and attrs_.get("marker_kind") == "patch":
            patches[key] = "1"
        elif kind == MARKER_EVENT:
            entry.update(op=attrs_.get("op", ""), out=_needs(attrs_, "result", event))
    return {**{k: v for k, v in data.items() if v}, **patches}, arguments


def _needs(attributes: Mapping[str, Any], name: str, event: Mapping[str, Any]) -> Any:
    if name not in attributes:
        raise ConfigError(
            f"event {event.get('event_id')} ({event.get('event_type')}) has no {name!r}: "
            "replay needs a history exported without omit_results",
            value=event.get("event_id"),
        )
    return attributes[name]


async def replay(history: Mapping[str, Any] | str | Path, workflow: Callable[..., Any]) -> Any:
    """Replay ``workflow`` over a recorded ``history``; return what the workflow returns.

    ``history`` is ``handle.export_execution()``'s dict, its JSON text or a path to it
    (exported without ``omit_results``; ``exclude_system`` loses search/entity/patch
    records the replay may need). A history of a workflow still running replays up to
    its last recorded call and returns None. Only the first generation of a workflow
    that continued as new is replayed.

    Raises:
        NondeterminismError: the code asks for a different durable call than the history
            holds at some position, makes a call after the history completed, or
            completes without making calls the history recorded.
        ConfigError: ``history`` is not an exported execution history.
        Exception: whatever the workflow function raises.
    """
    loaded = _load(history)
    events = list(loaded["events"])
    data, arguments = _markers(events)
    workflow_id = str(loaded.get("workflow_id") or "replay")
    ctx = _ReplayContext(
        workflow_id=workflow_id,
        workflow_name=getattr(workflow, "__name__", "workflow"),
        task_queue=str(loaded.get("task_queue") or ""),
        namespace="replay",
        generation=0,
        arguments=arguments,
        start={"workflowId": workflow_id},
        replay=parse_markers(data, ""),
    )
    ctx.patches = parse_patches(data, "")
    ctx.data = data
    token = bind(ctx)
    try:
        task = asyncio.ensure_future(workflow(*arguments))
    finally:
        _unbind(token)
    suspended = False
    try:
        result = await task
    except DurableSuspend:
        suspended, result = True, None
    finally:
        await drain(ctx)
    ended = loaded.get("status") in ("completed", "failed")
    new = [item for item in ctx.registry if item.get("code") != 592]
    if new and ended:
        first = min(new, key=lambda item: int(item["index"]))
        asked = first["key"].split("-")[1].split("$")[0]
        asked = f"{asked}:{first['op']}" if first.get("op") else asked
        raise NondeterminismError(workflow_id, int(first["index"]), "the end of the history", asked)
    unasked = sorted(set(ctx.replay) - ctx.claimed)
    if unasked and not suspended:
        missing = ctx.replay[unasked[0]]
        recorded = f"{missing.kind}:{missing.op}" if missing.op else missing.kind
        raise NondeterminismError(workflow_id, unasked[0], recorded, "the end of the workflow")
    return result
