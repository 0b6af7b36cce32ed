"""The state of one workflow turn, shared by every task the workflow spawns.

A turn runs the workflow function from the top with the job's recorded markers. One
mutable :class:`TurnContext` lives in a ``ContextVar``; tasks created by ``asyncio.gather``
get a *copy* of the context, but the copy points at the same object, so the counter and
the registry of pending calls are shared (durable.md §10.3).
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import time
from collections.abc import Generator
from typing import Any

import attrs

from hotmesh.durable._types import WorkflowInfo
from hotmesh.durable.errors import CancelledFailure, DurableSuspend, NondeterminismError

__all__ = [
    "Recorded",
    "TurnContext",
    "current",
    "now_ms",
    "parse_markers",
    "parse_patches",
    "signal_key",
]

_MARKER = re.compile(r"^-([a-z]+)(\$\d+)?-(\d+)-$")
#: Loop turns a suspended call waits so that its gathered siblings register too.
SIBLING_YIELDS = 5


@attrs.frozen
class Recorded:
    """One recorded durable call: its kind, what was asked (``op``) and the outcome."""

    kind: str
    op: str
    out: Any
    #: The whole recorded field (``cancelled`` of a woken sleep...).
    record: dict[str, Any] = attrs.field(factory=dict)


def parse_patches(data: dict[str, Any], dimension: str) -> set[str]:
    """The ``wf.patched`` ids recorded in one generation (keys ``-patch{dim}-{id}-``)."""
    prefix = f"-patch{dimension}-"
    return {k[len(prefix) : -1] for k in data if k.startswith(prefix) and k.endswith("-")}


def parse_markers(data: dict[str, Any], dimension: str) -> dict[int, Recorded]:
    """The markers of one generation (``dimension`` ``""`` or ``"$N"``) by call index."""
    found: dict[int, Recorded] = {}
    for key, value in data.items():
        match = _MARKER.match(key)
        if match is None or (match.group(2) or "") != dimension:
            continue
        if isinstance(value, dict):
            found[int(match.group(3))] = Recorded(
                match.group(1), str(value.get("op", "")), value.get("out", value), value
            )
    return found


@attrs.define(eq=False)
class TurnContext:
    """Everything a durable call needs during one turn of one workflow."""

    workflow_id: str
    workflow_name: str
    task_queue: str
    namespace: str
    generation: int
    arguments: list[Any]
    start: dict[str, Any]
    replay: dict[int, Recorded]
    cancelled: bool = False
    can_retry: bool = True
    counter: int = 0
    registry: list[dict[str, Any]] = attrs.field(factory=list)
    non_cancellable: int = 0
    #: ``wf.patched`` ids recorded in this generation.
    patches: set[str] = attrs.field(factory=set)
    #: Markers this turn adds without suspending (patches, emits), sent with its answer.
    new_markers: dict[str, Any] = attrs.field(factory=dict)
    #: The job data as the turn began (search fields ``_name``, ``entity``...).
    data: dict[str, Any] = attrs.field(factory=dict)
    #: Publishes a quorum message for ``wf.emit`` (set by the worker that runs the turn).
    publish: Any = None
    suspended: set[asyncio.Task[Any]] = attrs.field(factory=set)

    @property
    def dimension(self) -> str:
        """``""`` for the first generation, ``"$N"`` after N ``continue_as_new``."""
        return f"${self.generation}" if self.generation else ""

    def info(self) -> WorkflowInfo:
        """What ``wf.workflow_info()`` returns."""
        return WorkflowInfo(
            self.workflow_id,
            self.workflow_name,
            self.task_queue,
            self.namespace,
            self.dimension,
            self.can_retry,
        )

    def key(self, kind: str, index: int) -> str:
        """The marker key of the call ``index`` of ``kind`` in this generation."""
        return f"-{kind}{self.dimension}-{index}-"

    def claim(self, kind: str, op: str) -> tuple[int, Recorded | None]:
        """Take the next call index; return it with its recorded outcome, if any.

        Raises:
            NondeterminismError: the history holds a different call at this index.
        """
        index = self.counter
        self.counter += 1
        recorded = self.replay.get(index)
        if recorded is not None and (recorded.kind != kind or recorded.op != op):
            raise NondeterminismError(
                self.workflow_id,
                index,
                f"{recorded.kind}:{recorded.op}" if recorded.op else recorded.kind,
                f"{kind}:{op}" if op else kind,
            )
        return index, recorded

    def field(self, name: str) -> Any:
        """A job data field as this turn sees it (including what it wrote itself)."""
        if name in self.new_markers:
            return self.new_markers[name]
        return self.data.get(name)

    def check_cancelled(self) -> None:
        """Raise :class:`CancelledFailure` if the workflow was cancelled (outside a
        ``non_cancellable`` scope)."""
        if self.cancelled and not self.non_cancellable:
            raise CancelledFailure()

    def suspend(self, item: dict[str, Any]) -> Pending:
        """Register ``item`` for the engine and return an awaitable that suspends."""
        item["at"] = now_ms()
        self.registry.append(item)
        return Pending(self)


def signal_key(workflow_id: str, signal_id: str) -> str:
    """The key a wait also registers under, so that ``handle.signal`` reaches only its
    own workflow (D5); the id's length keeps it unambiguous.

    Example:
        >>> signal_key("order-1", "approve")
        'wf:7:order-1:approve'
    """
    return f"wf:{len(workflow_id)}:{workflow_id}:{signal_id}"


def now_ms() -> int:
    """The time in epoch milliseconds (the history's timestamps; never read by replay)."""
    return int(time.time() * 1000)


_CURRENT: contextvars.ContextVar[TurnContext] = contextvars.ContextVar("hotmesh_durable_turn")


def current(what: str = "this function") -> TurnContext:
    """The running turn's context.

    Raises:
        RuntimeError: called outside a workflow function.
    """
    try:
        return _CURRENT.get()
    except LookupError:
        raise RuntimeError(
            f"{what} can only be called inside a workflow function run by a durable Worker"
        ) from None


def bind(context: TurnContext) -> contextvars.Token[TurnContext]:
    """Make ``context`` the current turn (the runner calls it)."""
    return _CURRENT.set(context)


def unbind(token: contextvars.Token[TurnContext]) -> None:
    """Undo :func:`bind`."""
    _CURRENT.reset(token)


class Pending:
    """The awaitable of a durable call not yet in the history: it suspends the turn.

    Before raising it yields to the loop a few times so that gathered siblings run up to
    their own durable calls and register them in the same turn.
    """

    def __init__(self, context: TurnContext) -> None:
        self._context = context

    def __await__(self) -> Generator[Any, None, Any]:
        task = asyncio.current_task()
        if task is not None:
            self._context.suspended.add(task)
        for _ in range(SIBLING_YIELDS):
            yield from asyncio.sleep(0).__await__()
        raise DurableSuspend()


class Done:
    """The awaitable of a recorded call: its value (or error) after one loop turn.

    The loop turn keeps gathered siblings advancing breadth-first, so call indices are the
    same on every replay whichever calls are recorded.
    """

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self._value = value
        self._error = error

    def __await__(self) -> Generator[Any, None, Any]:
        yield from asyncio.sleep(0).__await__()
        if self._error is not None:
            raise self._error
        return self._value
