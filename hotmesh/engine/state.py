"""How a job lives in the store, and the mapping context built from it.

A job's stored state is a flat map, so parallel branches merge their writes key by key
in one statement without reading each other's:

* ``meta`` – job metadata (``jid``, ``gid``, ``app``, ``vrs``, ``tpc``, ``err``…);
* ``d/<path>`` – one leaf of the job data: nested objects are stored path by path
  (``d/results/alpha``; ``~`` and ``/`` in a key are escaped as ``~0``/``~1``), so steps
  of parallel branches that write different leaves of one object all keep theirs (the
  store merges key by key). A leaf is a non-object value or an empty object;
* ``a/<activity><dad>`` – one activity's record at one dimensional address: its
  ``input``, ``output`` and ``hook`` data, and ``n2`` (how many leg-2 events it took);
* ``f/<activity><dad>`` – that record's step counter, kept clear (never encoded) so that
  ``apply_step`` can check it: the fence against racing events.

A dimensional address (``dad``) is ``,0`` for the trigger; children of an activity at
``D`` run at ``D + ",k"`` where ``k`` counts the parent's leg-2 events (0 first), so each
cycle iteration writes its own records.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hotmesh.engine.pipe import copy_value

if TYPE_CHECKING:
    from hotmesh.engine.model import Graph


__all__ = [
    "META",
    "activity_key",
    "build_context",
    "data_key",
    "data_leaves",
    "data_state",
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


def data_key(*path: str) -> str:
    """The state key of the job data leaf at ``path`` (top-level key first).

    Example:
        >>> data_key("results", "alpha"), data_key("a/b")
        ('d/results/alpha', 'd/a~1b')
    """
    if len(path) == 1 and "~" not in path[0] and "/" not in path[0]:
        return "d/" + path[0]  # the usual top-level key: nothing to escape
    return "d/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)


#: How a JSON null leaf is stored (a None value in a step's state removes the key). A
#: non-empty object is never stored as a leaf otherwise, so this cannot be mistaken.
NULL_LEAF: dict[str, Any] = {"$hm": "null"}


def data_leaves(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """``value`` at ``path`` as state keys: one per leaf (objects are walked into).

    Example:
        >>> data_leaves(("r",), {"a": 1, "b": {"c": None}, "e": {}})
        {'d/r/a': 1, 'd/r/b/c': {'$hm': 'null'}, 'd/r/e': {}}
    """
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(data_leaves((*path, str(key)), item))
        return out
    return {data_key(*path): NULL_LEAF if value is None else value}


def data_state(data: Mapping[str, Any]) -> dict[str, Any]:
    """Job data as state keys (the inverse of :func:`job_data`)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(data_leaves((str(key),), value))
    return out


def job_data(state: Mapping[str, Any]) -> dict[str, Any]:
    """The job data (every ``d/`` leaf) as one nested dict.

    A leaf and deeper leaves under the same path (two branches wrote an object and a
    plain value there at the same moment) resolve to the object.

    Example:
        >>> job_data({"d/r/a": 1, "d/r/b": {"$hm": "null"}, "d/n": 2, "meta": {}})
        {'n': 2, 'r': {'a': 1, 'b': None}}
    """
    data: dict[str, Any] = {}
    for key in sorted(k for k in state if k.startswith("d/")):
        value = state[key]
        if value is None:
            continue  # removed in a pending step
        path = key[2:].split("/")
        if "~" in key:
            path = [p.replace("~1", "/").replace("~0", "~") for p in path]
        node = data
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        leaf = path[-1]
        if value == NULL_LEAF:
            value = None
        current = node.get(leaf)
        if isinstance(current, dict) and current:
            if isinstance(value, dict):
                node[leaf] = {**value, **current}
            continue
        # (a non-empty object leaf was written before data was stored path by path)
        node[leaf] = copy_value(value) if isinstance(value, dict) and value else value
    return data


def parent_dad(dad: str) -> str:
    """The address one level up (``,0,1`` → ``,0``)."""
    return dad.rsplit(",", 1)[0] or ","


@functools.lru_cache(maxsize=4096)
def dad_at_depth(dad: str, depth: int) -> str:
    """``dad`` cut or padded (with ``0``) to ``depth`` segments (a job's few addresses
    recur on every step: cached)."""
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


_second: tuple[int, str] = (-1, "")  # the last whole second stamped, and its text
_milli: tuple[int, str] = (-1, "")  # the last millisecond stamped, and its stamp


def now_stamp() -> str:
    """UTC time as ``YYYYMMDDHHmmss.mmm`` (the reference's ``jc``/``ju`` format).

    The seconds' text is formatted once per second (strftime was a visible share of a
    step's time), the whole stamp once per millisecond (a job takes several). Each cache
    is one tuple, replaced whole: a thread never reads half of another's update.
    """
    global _second, _milli
    milli = int(time.time() * 1000)
    last = _milli
    if milli == last[0]:
        return last[1]
    second, rest = divmod(milli, 1000)
    seconds = _second
    if second != seconds[0]:
        seconds = _second = (second, time.strftime("%Y%m%d%H%M%S.", time.gmtime(second)))
    text = f"{seconds[1]}{rest:03d}"
    _milli = (milli, text)
    return text
