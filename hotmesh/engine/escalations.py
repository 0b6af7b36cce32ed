"""A hook's ``escalation:`` block (spec 2.6.4, durable.md §7): the row it files on suspending.

When a hook with a webhook topic and an ``escalation:`` block suspends, the engine files
one escalation row: a claimable work item for a person (role, type, priority, metadata…)
whose ``signal_key`` is the value the hook waits for. Resolving the row through
:class:`hotmesh.facade.escalations.Escalations` signals the hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotmesh.engine.mapper import map_rules, resolve

__all__ = ["ESCALATION_FIELDS", "escalation_row"]

#: The block's keys, mapped to their row columns.
ESCALATION_FIELDS = {
    "type": "type",
    "subtype": "subtype",
    "entity": "entity",
    "description": "description",
    "role": "role",
    "priority": "priority",
    "originId": "origin_id",
    "parentId": "parent_id",
    "initiatedBy": "initiated_by",
    "traceId": "trace_id",
    "spanId": "span_id",
    "taskQueue": "task_queue",
    "workflowType": "workflow_type",
    "metadata": "metadata",
    "envelope": "envelope",
}


def escalation_row(
    block: Mapping[str, Any],
    context: Mapping[str, Any],
    *,
    signal_key: str,
    topic: str,
    job_id: str,
    app_id: str,
) -> dict[str, Any] | None:
    """The escalation row a suspending hook files, or None when the block names none of
    ``role``, ``type``, ``priority`` and ``metadata`` (the reference skips such blocks).

    Every value is resolved against the job (strings may be ``{...}`` references or
    ``@pipe``s); ``metadata`` and ``envelope`` are mapped key by key.

    Example:
        >>> block = {"role": "approver", "metadata": {"id": "{t1.output.data.id}"}}
        >>> context = {"t1": {"output": {"data": {"id": 7}}}}
        >>> row = escalation_row(block, context, signal_key="j1", topic="approve",
        ...                      job_id="j1", app_id="shop")
        >>> (row["role"], row["metadata"], row["status"])
        ('approver', {'id': 7}, 'pending')
    """
    row: dict[str, Any] = {}
    for key, column in ESCALATION_FIELDS.items():
        if key not in block:
            continue
        value = block[key]
        if column in ("metadata", "envelope"):
            value = (
                map_rules(dict(value), dict(context))
                if isinstance(value, Mapping)
                else (resolve(value, context))
            )
        else:
            value = resolve(value, context)
        if value is not None:
            row[column] = value
    if not any(row.get(k) is not None for k in ("role", "type", "priority", "metadata")):
        return None
    priority = row.get("priority")
    row["priority"] = _priority(priority)
    for column in ("metadata", "envelope"):
        if column in row and not isinstance(row[column], Mapping):
            row[column] = {"value": row[column]}
    for column, value in list(row.items()):
        if column not in ("priority", "metadata", "envelope"):
            row[column] = str(value)
    return {
        **row,
        "app_id": app_id,
        "signal_key": signal_key,
        "topic": topic,
        "workflow_id": job_id,
        "status": "pending",
    }


def _priority(value: Any) -> int:
    """An integer priority (lower is more urgent); 5 when absent or not a number."""
    if isinstance(value, bool):
        return 5
    try:
        return int(value)
    except (TypeError, ValueError):
        return 5
