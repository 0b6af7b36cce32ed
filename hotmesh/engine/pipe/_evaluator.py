"""Cell classification and the ``@pipe`` / ``@reduce`` evaluator (spec §3.3–§3.5).

A pipe is a list of rows evaluated left to right. A standard row (a list of cells)
either seeds the operands or, once there are operands, names in its first cell the
function that consumes all of them; nested ``{'@pipe': rows}`` rows are evaluated on
their own and queued, and the next row that consumes operands takes the queue instead;
``{'@reduce': rows}`` folds a collection with a body pipe.
"""

from __future__ import annotations

import copy
import enum
import logging
from collections.abc import Callable, Mapping
from typing import Any

from hotmesh.engine.pipe._catalog import FUNCTIONS
from hotmesh.engine.pipe._jsvalue import UNDEFINED, copy_value, get_property, is_nullish
from hotmesh.errors import PipeError

__all__ = [
    "CONTEXT_VARIABLES",
    "CellKind",
    "call_function",
    "classify_cell",
    "lookup_function",
    "resolve_cell",
    "resolve_pipe",
]

logger = logging.getLogger(__name__)

#: The names a ``@reduce`` body can read: ``{$item}``, ``{$key}``, ``{$index}``,
#: ``{$input}`` (the collection) and ``{$output}`` (the accumulator).
CONTEXT_VARIABLES = frozenset({"$item", "$key", "$index", "$input", "$output"})

# Characters that cannot occur in a reference path; a braced string containing one is a
# literal (so JSON text such as '{"a":1}' stays text).
_NOT_IN_PATH = frozenset('{}"')

# Python errors a catalog function may raise on bad input; reported as PipeError.
_FUNCTION_FAILURES = (
    TypeError,
    ValueError,
    AttributeError,
    KeyError,
    IndexError,
    OverflowError,
    ZeroDivisionError,
    RecursionError,
)


class CellKind(enum.Enum):
    """What a pipe cell is (spec §3.3), checked in this order."""

    FUNCTION = "function"
    """``'{@ns.fn}'``: a catalog function."""
    VARIABLE = "variable"
    """``'{$item.x}'`` and friends: a ``@reduce`` context variable."""
    REFERENCE = "reference"
    """``'{a1.output.data.x}'``: a dot path into the job context."""
    LITERAL = "literal"
    """Anything else, used as it is."""


def _braced(cell: Any) -> str | None:
    if isinstance(cell, str) and len(cell) > 2 and cell[0] == "{" and cell[-1] == "}":
        inner = cell[1:-1]
        if not _NOT_IN_PATH.intersection(inner):
            return inner
    return None


def classify_cell(cell: Any) -> CellKind:
    """Classify one cell.

    Example:
        >>> [classify_cell(c).value for c in ["{@date.now}", "{$item.x}", "{a.b}", "a {b}"]]
        ['function', 'variable', 'reference', 'literal']
        >>> classify_cell('{"a": 1}').value
        'literal'
    """
    inner = _braced(cell)
    if inner is None:
        return CellKind.LITERAL
    if inner.startswith("@"):
        return CellKind.FUNCTION
    if inner.split(".", 1)[0] in CONTEXT_VARIABLES:
        return CellKind.VARIABLE
    return CellKind.REFERENCE


def lookup_function(cell: str) -> tuple[str, Callable[..., Any]]:
    """Return ``(qualified name, callable)`` for a ``'{@ns.fn}'`` cell.

    Raises:
        PipeError: the namespace or the function is not in the catalog.

    Example:
        >>> lookup_function("{@math.add}")[0]
        'math.add'
    """
    qualified = cell[2:-1] if cell.startswith("{@") and cell.endswith("}") else cell
    function = FUNCTIONS.get(qualified)
    if function is not None:
        return qualified, function
    namespace = qualified.split(".", 1)[0]
    if not any(name.startswith(namespace + ".") for name in FUNCTIONS):
        raise PipeError(
            f"unknown @pipe namespace {namespace!r} in {cell!r}",
            value=qualified,
        )
    raise PipeError(f"unknown @pipe function {qualified!r} in {cell!r}", value=qualified)


def call_function(cell: str, arguments: list[Any]) -> Any:
    """Call the catalog function a ``'{@ns.fn}'`` cell names with ``arguments``.

    Raises:
        PipeError: unknown function, or the function rejected its arguments.
    """
    qualified, function = lookup_function(cell)
    try:
        return function(*arguments)
    except PipeError:
        raise
    except _FUNCTION_FAILURES as error:
        raise PipeError(f"@pipe function {qualified} failed: {error}", value=qualified) from error


def _walk(value: Any, segments: list[str]) -> Any:
    for segment in segments:
        if type(value) is dict:  # the usual step: what get_property does for a str key
            value = value.get(segment, UNDEFINED)
            continue
        if value is UNDEFINED:
            break
        value = get_property(value, segment)
    return value


def _fresh(value: Any) -> Any:
    # Functions such as array.push mutate their operand; hand them copies so neither the
    # job context nor the compiled rules change behind the caller's back.
    return copy_value(value) if isinstance(value, list | dict) else value


def resolve_cell(
    cell: Any,
    context: Mapping[str, Any],
    scope: Mapping[str, Any] | None = None,
) -> Any:
    """Resolve one cell in a value position (functions are called with no arguments).

    Args:
        cell: the cell as written in YAML.
        context: the job context references walk.
        scope: the ``@reduce`` variables, ``None`` outside a reduce.

    Returns:
        The value; ``UNDEFINED`` for a path that does not exist.

    Example:
        >>> resolve_cell("{a.output.data.x}", {"a": {"output": {"data": {"x": 3}}}})
        3
    """
    parsed = _PARSED.get(cell) if type(cell) is str else None
    if parsed is None:
        parsed = _parse(cell)
    kind, segments = parsed
    if kind is CellKind.LITERAL:
        return _fresh(cell)
    if kind is CellKind.FUNCTION:
        return call_function(cell, [])
    if kind is CellKind.VARIABLE:
        if scope is None:
            return UNDEFINED
        return _walk(scope.get(segments[0], UNDEFINED), segments[1:])
    return _fresh(_walk(context, segments))


#: Cells of the deployed rules, parsed once: a graph's few cells are resolved on every step.
_PARSED: dict[str, tuple[CellKind, list[str]]] = {}
_PARSED_MAX = 4096


def _parse(cell: Any) -> tuple[CellKind, list[str]]:
    kind = classify_cell(cell)
    parsed = (kind, [] if kind is CellKind.LITERAL else cell[1:-1].split("."))
    if type(cell) is str:
        if len(_PARSED) >= _PARSED_MAX:  # cells made at run time (a @pipe's output…)
            _PARSED.clear()
        _PARSED[cell] = parsed
    return parsed


def _is_subpipe(row: Any) -> bool:
    return isinstance(row, dict) and "@pipe" in row


def _is_reduce(row: Any) -> bool:
    return isinstance(row, dict) and "@reduce" in row


class _Evaluation:
    """One evaluation of a pipe against one context (and, inside a reduce, one scope)."""

    def __init__(self, context: Mapping[str, Any], scope: Mapping[str, Any] | None) -> None:
        self.context = context
        self.scope = scope

    def values(self, row: list[Any]) -> list[Any]:
        return [resolve_cell(cell, self.context, self.scope) for cell in row]

    def apply(self, row: list[Any], operands: list[Any]) -> list[Any]:
        if not row:
            raise PipeError("an operator row of a @pipe is empty", value=row)
        operator = row[0]
        kind = classify_cell(operator)
        if kind is CellKind.FUNCTION:
            result = call_function(operator, operands)
        elif kind is CellKind.VARIABLE:
            result = resolve_cell(operator, self.context, self.scope)
        else:
            raise PipeError(
                f"the first cell of an operator row must be a {{@function}}, got {operator!r}",
                value=operator,
            )
        return [result, *self.values(row[1:])]

    def run(self, rows: Any, *, seed: list[Any] | None, inherited: list[Any] | None) -> Any:
        if not isinstance(rows, list) or not rows:
            raise PipeError(f"a @pipe must be a non-empty list of rows, got {rows!r}", value=rows)
        resolved = seed
        queue: list[Any] = []
        first = rows[0]
        start = 0
        if seed is None and isinstance(first, list):
            start = 1
            if inherited is not None and first and classify_cell(first[0]) is CellKind.FUNCTION:
                # A sub-pipe that opens with a function works on the outer operands.
                resolved = self.apply(first, inherited)
            else:
                resolved = self.values(first)
        for row in rows[start:]:
            if isinstance(row, list):
                if queue:
                    resolved, queue = queue, []
                resolved = self.values(row) if resolved is None else self.apply(row, resolved)
            elif _is_subpipe(row):
                queue.append(self.run(row["@pipe"], seed=None, inherited=resolved))
            elif _is_reduce(row):
                if queue:
                    resolved, queue = queue, []
                if resolved is not None:
                    resolved = [self.reduce(row["@reduce"], resolved)]
            else:
                raise PipeError(
                    f"a @pipe row must be a list, {{'@pipe': …}} or {{'@reduce': …}}, got {row!r}",
                    value=row,
                )
        if queue:
            resolved = queue
        return resolved[0] if resolved else UNDEFINED

    def reduce(self, body: Any, operands: list[Any]) -> Any:
        collection = operands[0]
        initial = operands[1] if len(operands) > 1 else None
        accumulator = None if is_nullish(initial) else copy.deepcopy(initial)
        if is_nullish(collection):
            return accumulator
        if isinstance(collection, list):
            items: list[tuple[str, Any]] = [(str(i), v) for i, v in enumerate(collection)]
        elif isinstance(collection, dict):
            items = [(str(k), v) for k, v in collection.items()]
        else:
            raise PipeError(
                f"@reduce needs an array or an object, got {collection!r}", value=collection
            )
        for index, (key, item) in enumerate(items):
            scope = {
                "$input": collection,
                "$output": accumulator,
                "$item": item,
                "$key": key,
                "$index": index,
            }
            accumulator = _Evaluation(self.context, scope).run(
                body, seed=[accumulator], inherited=None
            )
        return accumulator


def resolve_pipe(
    rows: Any,
    context: Mapping[str, Any],
    scope: Mapping[str, Any] | None = None,
) -> Any:
    """Evaluate the rows of a ``{'@pipe': rows}`` expression.

    Args:
        rows: the list of rows.
        context: the job context references walk.
        scope: ``@reduce`` variables, when called from inside a reduce.

    Returns:
        The pipe's value (``UNDEFINED`` when it produced nothing).

    Raises:
        PipeError: a malformed row, an unknown function, or a function that failed.

    Example:
        >>> resolve_pipe([[2, 3], ["{@math.add}", 10], ["{@math.multiply}"]], {})
        50
    """
    return _Evaluation(context, scope).run(rows, seed=None, inherited=None)
