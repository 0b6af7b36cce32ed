"""``wf.search()`` and ``wf.entity()``: job fields a workflow reads and writes durably.

Each operation takes a place in the history; its result is recorded with the turn's
answer, together with the fields it changed, so replays return the recorded result and
never apply an operation twice. Search fields are job fields ``_<name>`` (what
``start(search=...)`` seeds and ``handle.query`` reads); the entity is one JSON document
(the job field ``entity``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from typing import Any

from hotmesh import HotMesh
from hotmesh.durable._context import TurnContext, current, now_ms
from hotmesh.durable._payload import check_json
from hotmesh.errors import ConfigError

__all__ = ["Entity", "Search"]


class _Session:
    kind = ""

    def __init__(self, ctx: TurnContext) -> None:
        self._ctx = ctx
        #: In a hook, the workflow the hook runs for: the session reads and writes its data.
        target = ctx.start.get("hookTarget")
        self._target = target if isinstance(target, str) and target else None
        #: The target's data while an operation runs on it.
        self._source: dict[str, Any] | None = None

    def _get(self, name: str) -> Any:
        """A job data field of the session's workflow."""
        if self._source is not None:
            return self._source.get(name)
        return self._ctx.field(name)

    async def _op(
        self, op: str, apply: Callable[[], tuple[Any, dict[str, Any]]], *, read: bool = False
    ) -> Any:
        """Replay ``op``'s recorded result, or run ``apply`` -> (result, changed fields)
        and record both (in a hook: write the fields into the target workflow, once)."""
        index, recorded = self._ctx.claim(self.kind, op)
        if recorded is not None:
            return copy.deepcopy(recorded.out)
        key = self._ctx.key(self.kind, index)
        if self._target is not None:
            result = await self._on_target(key, apply, read)
        else:
            result, changes = apply()
            check_json(result, f"result of {self.kind}.{op}")
            self._ctx.new_markers.update(changes)
        self._ctx.new_markers[key] = {"op": op, "out": result, "au": now_ms()}
        return copy.deepcopy(result)

    async def _on_target(
        self, key: str, apply: Callable[[], tuple[Any, dict[str, Any]]], read: bool
    ) -> Any:
        engine = _engine(self._ctx, self.kind)
        target = str(self._target)
        if read:
            output = await engine.get_state(f"{self._ctx.namespace}.execute", target)
            self._source = dict(output.data)
            try:
                return apply()[0]
            finally:
                self._source = None

        def change(data: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
            self._source = data
            try:
                result, changes = apply()
            finally:
                self._source = None
            check_json(result, f"result of {self.kind} in a hook")
            return result, changes

        # `once`: a replay after a crash between this write and the turn's answer gets the
        # recorded result instead of applying the operation again.
        return await engine.update_job_data(target, change, once=f"{self._ctx.workflow_id}{key}")


def _engine(ctx: TurnContext, what: str) -> HotMesh:
    """The engine running this turn (a hook's session writes through it)."""
    owner = getattr(ctx.publish, "__self__", None)
    if not isinstance(owner, HotMesh):
        raise ConfigError(
            f"wf.{what}() in a hook needs table access; a secured worker has none",
            value=ctx.workflow_id,
        )
    return owner


def _field(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise ConfigError("a search field name must be a non-empty string", value=name)
    return f"_{name}"


class Search(_Session):
    """Search fields of the running workflow (``await wf.search()``)."""

    kind = "search"

    async def set(self, fields: Mapping[str, Any]) -> int:
        """Set fields (values stored as text); return how many were new."""

        def apply() -> tuple[int, dict[str, Any]]:
            changes = {_field(k): _text(v) for k, v in fields.items()}
            new = sum(1 for k in changes if self._get(k) is None)
            return new, changes

        return int(await self._op("set", apply))

    async def get(self, name: str) -> str:
        """A field's value ('' when unset)."""
        return str(await self._op("get", lambda: (self._get(_field(name)) or "", {}), read=True))

    async def mget(self, *names: str) -> list[str]:
        """Several fields' values ('' when unset)."""
        return list(
            await self._op(
                "mget", lambda: ([self._get(_field(n)) or "" for n in names], {}), read=True
            )
        )

    async def delete(self, *names: str) -> int:
        """Clear fields; return how many were set."""

        def apply() -> tuple[int, dict[str, Any]]:
            present = [n for n in names if self._get(_field(n)) not in (None, "")]
            return len(present), {_field(n): "" for n in present}

        return int(await self._op("delete", apply))

    async def incr(self, name: str, amount: float) -> float:
        """Add ``amount`` to a numeric field; return the new value."""
        return float(await self._op("incr", lambda: self._numeric(name, lambda v: v + amount)))

    async def mult(self, name: str, factor: float) -> float:
        """Multiply a numeric field by ``factor`` (unset counts as 1); return the new value."""
        result = await self._op("mult", lambda: self._numeric(name, lambda v: v * factor, 1.0))
        return float(result)

    def _numeric(
        self, name: str, change: Callable[[float], float], start: float = 0.0
    ) -> tuple[float, dict[str, Any]]:
        raw = self._get(_field(name))
        try:
            value = change(float(raw) if raw not in (None, "") else start)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"search field {name!r} is not a number: {raw!r}") from err
        return value, {_field(name): _text(value)}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    return str(value)


_MISSING = object()


def _walk(doc: Any, path: str) -> tuple[Any, str]:
    """The container holding the last segment of a dotted ``path`` (created as needed)."""
    parts = path.split(".")
    node = doc
    for part in parts[:-1]:
        child = node.get(part) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    return node, parts[-1]


def _merge(into: dict[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in other.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


class Entity(_Session):
    """The workflow's JSON document (``await wf.entity()``)."""

    kind = "entity"

    def _doc(self) -> dict[str, Any]:
        doc = self._get("entity")
        return copy.deepcopy(doc) if isinstance(doc, dict) else {}

    async def _write(self, op: str, change: Callable[[dict[str, Any]], Any]) -> Any:
        def apply() -> tuple[Any, dict[str, Any]]:
            doc = self._doc()
            result = change(doc)
            check_json(doc, "entity document")
            return result, {"entity": doc}

        return await self._op(op, apply)

    async def set(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the document; return it."""

        def change(current_doc: dict[str, Any]) -> dict[str, Any]:
            current_doc.clear()
            current_doc.update(copy.deepcopy(dict(doc)))
            return current_doc

        return dict(await self._write("set", change))

    async def merge(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Deep-merge ``doc`` into the document (objects merge, the rest replaces)."""
        return dict(await self._write("merge", lambda d: _merge(d, doc)))

    async def get(self, path: str | None = None) -> Any:
        """The document, or the value at a dotted ``path`` (None when absent)."""

        def apply() -> tuple[Any, dict[str, Any]]:
            doc = self._doc()
            if path is None:
                return doc, {}
            node, last = _walk(copy.deepcopy(doc), path)
            return node.get(last), {}

        return await self._op("get", apply, read=True)

    async def delete(self, path: str) -> dict[str, Any]:
        """Remove the value at ``path``; return the document."""

        def change(doc: dict[str, Any]) -> dict[str, Any]:
            node, last = _walk(doc, path)
            node.pop(last, None)
            return doc

        return dict(await self._write("delete", change))

    async def append(self, path: str, value: Any) -> list[Any]:
        """Append to the list at ``path`` (created when absent); return the list."""
        result = await self._write(
            "append", lambda d: self._list(d, path, lambda a: a.append(value))
        )
        return list(result)

    async def prepend(self, path: str, value: Any) -> list[Any]:
        """Prepend to the list at ``path``; return the list."""
        result = await self._write(
            "prepend", lambda d: self._list(d, path, lambda a: a.insert(0, value))
        )
        return list(result)

    async def remove(self, path: str, index: int) -> list[Any]:
        """Remove item ``index`` of the list at ``path``; return the list."""
        result = await self._write("remove", lambda d: self._list(d, path, lambda a: a.pop(index)))
        return list(result)

    async def increment(self, path: str, n: float = 1) -> float:
        """Add ``n`` to the number at ``path`` (absent counts as 0); return it."""

        def change(doc: dict[str, Any]) -> float:
            node, last = _walk(doc, path)
            node[last] = (node.get(last) or 0) + n
            return float(node[last])

        return float(await self._write("increment", change))

    async def toggle(self, path: str) -> bool:
        """Flip the boolean at ``path``; return it."""

        def change(doc: dict[str, Any]) -> bool:
            node, last = _walk(doc, path)
            node[last] = not node.get(last)
            return bool(node[last])

        return bool(await self._write("toggle", change))

    async def set_if_not_exists(self, path: str, value: Any) -> Any:
        """Set ``path`` unless it has a value; return the value at ``path``."""

        def change(doc: dict[str, Any]) -> Any:
            node, last = _walk(doc, path)
            if node.get(last, _MISSING) is _MISSING:
                node[last] = copy.deepcopy(value)
            return node[last]

        return await self._write("set_if_not_exists", change)

    @staticmethod
    def _list(doc: dict[str, Any], path: str, change: Callable[[list[Any]], Any]) -> list[Any]:
        node, last = _walk(doc, path)
        items = node.get(last)
        if not isinstance(items, list):
            items = []
            node[last] = items
        change(items)
        return items


async def search() -> Search:
    """The running workflow's search fields."""
    return Search(current("wf.search"))


async def entity() -> Entity:
    """The running workflow's JSON document."""
    return Entity(current("wf.entity"))


async def enrich(fields: Mapping[str, Any]) -> bool:
    """Set search fields (``(await wf.search()).set(fields)``); return True."""
    await (await search()).set(fields)
    return True
