"""``wf.emit`` and ``wf.trace``: messages and spans a workflow sends out, once per
execution (replays do not repeat them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotmesh.durable._context import current
from hotmesh.durable._payload import check_json
from hotmesh.durable._telemetry import emit_span

__all__ = ["emit", "trace"]


async def emit(events: Mapping[str, Any], *, once: bool = True) -> bool:
    """Publish each ``{topic: message}`` as a quorum message ``{"type": "user", "topic",
    "message"}`` (``sub_quorum`` subscribers hear it; not durable).

    With ``once`` (default) it takes a place in the history and is not repeated by later
    turns (at-least-once if the process dies before the turn's answer is recorded).
    """
    ctx = current("wf.emit")
    check_json(dict(events), "events of wf.emit")
    if once:
        index, recorded = ctx.claim("emit", "")
        if recorded is not None:
            return True
        ctx.new_markers[ctx.key("emit", index)] = {"op": "", "out": True}
    if ctx.publish is not None:
        for topic, message in events.items():
            await ctx.publish({"type": "user", "topic": topic, "message": message})
    return True


async def trace(attributes: Mapping[str, Any], *, once: bool = True) -> bool:
    """Record an OpenTelemetry span ``durable.trace`` with ``attributes`` (plus
    ``durable.workflow_id``, ``durable.workflow_name`` and ``durable.index``).

    With ``once`` (default) it takes a place in the history and replays do not repeat it.
    Returns whether a span was recorded: False when ``opentelemetry-api`` is not installed
    (spans go wherever the application's OpenTelemetry SDK sends them).

    Example:
        >>> async def order():  # doctest: +SKIP
        ...     await wf.trace({"step": "charged", "amount": 42})
    """
    ctx = current("wf.trace")
    check_json(dict(attributes), "attributes of wf.trace")
    index = ctx.counter
    if once:
        index, recorded = ctx.claim("trace", "")
        if recorded is not None:
            return bool(recorded.out)
    emitted = emit_span(
        "durable.trace",
        {
            **attributes,
            "durable.workflow_id": ctx.workflow_id,
            "durable.workflow_name": ctx.workflow_name,
            "durable.index": index,
        },
    )
    if once:
        ctx.new_markers[ctx.key("trace", index)] = {"op": "", "out": emitted}
    return emitted
