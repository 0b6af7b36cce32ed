"""How a job lives in the store, and the mapping context built from it.

A job's stored state is a flat map, so parallel branches merge their writes key by key
in one statement without reading each other's:

* ``meta`` – job metadata (``jid``, ``gid``, ``app``, ``vrs``, ``tpc``, ``err``…);
* ``d/<key>`` – one top-level key of the job data;
* ``a/<activity><dad>`` – one activity's record at one dimensional address: its
  ``input``, ``output`` and ``hook`` data, and ``n2`` (how many leg-2 events it took);
* ``f/<activity><dad>`` – that record's step counter, kept clear (never encoded) so that
  ``apply_step`` can check it: the fence against racing events.

A dimensional address (``dad``) is ``,0`` for the trigger; children of an activity at
``D`` run at ``D + ",k"`` where ``k`` counts the parent's leg-2 events (0 first), so each
cycle iteration writes its own records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from hotmesh.engine.model import Graph

__all__ = [
    "META",
    "activity_key",
    "build_context",
    "fence_key",
    "job_data",
    "now_stamp",
    "parent_dad",
]

META = "meta"


def activity_key(activity_id: str, dad: str) -> str:
    """The state key of one activity's record at ``dad``."""
    return f"a/{activity_id}{dad}"


def fence_key(activity_id: str, dad: str) -> str:
    """The clear state key counting the steps taken by one activity record at ``dad``.

    Every step that consumes an event of the activity expects the count it read and
    writes one more, inside its single statement (``Store.apply_step(expect=...)``): of
    two events racing for the same record, one applies and the other is decided again
    against the new state (usually: a duplicate, dropped).
    """
    return f"f/{activity_id}{dad}"


def data_key(name: str) -> str:
    """The state key of one top-level job data field."""
    return f"d/{name}"


def job_data(state: Mapping[str, Any]) -> dict[str, Any]:
    """The job data (every ``d/`` key) as one dict."""
    return {k[2:]: v for k, v in state.items() if k.startswith("d/")}


def parent_dad(dad: str) -> str:
    """The address one level up (``,0,1`` → ``,0``)."""
    return dad.rsplit(",", 1)[0] or ","


def dad_at_depth(dad: str, depth: int) -> str:
    """``dad`` cut or padded (with ``0``) to ``depth`` segments."""
    segments = dad.split(",")[1:]
    segments = segments[:depth] + ["0"] * max(0, depth - len(segments))
    return "," + ",".join(segments)


def build_context(
    graph: Graph, state: Mapping[str, Any], activity_id: str, dad: str
) -> dict[str, Any]:
    """The mapping context for ``activity_id`` running at ``dad``.

    Every activity of the graph appears under its id with the record found at its own
    depth of this address; ``$self`` is the current activity, ``$job`` the job.
    """
    metadata = dict(state.get(META, {}))
    data = job_data(state)
    context: dict[str, Any] = {"metadata": metadata, "data": data}
    context["$job"] = {"metadata": metadata, "data": data}
    for aid, activity in graph.activities.items():
        record = state.get(activity_key(aid, dad_at_depth(dad, activity.depth)))
        if record is not None:
            # No copy: the mapper copies whatever a reference returns, and steps write new
            # records rather than mutating these.
            context[aid] = _view(record)
    own = context.get(activity_id)
    if own is None:
        own = context[activity_id] = {"input": {}, "output": {}, "hook": {}}
    context["$self"] = own
    return context


def _view(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "input": record.get("input", {}),
        "output": dict(record.get("output", {})),
        "hook": record.get("hook", {}),
    }


def now_stamp() -> str:
    """UTC time as ``YYYYMMDDHHmmss.mmm`` (the reference's ``jc``/``ju`` format)."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%d%H%M%S.") + f"{now.microsecond // 1000:03d}"
