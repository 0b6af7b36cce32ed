"""The rule-tree mapper: turns ``maps:`` sections and single expressions into values.

A rule tree is YAML: objects, arrays and cells. Objects and arrays are rebuilt with each
value mapped; an object with an ``@pipe`` key is a pipe; every other value is one cell —
a ``{reference}``, a ``{@function}`` or a literal (spec §3.2–§3.3).

Results are plain JSON-like values. A value that resolves to nothing (a reference that
walks off the data) is left out of the object that would hold it, and becomes ``None``
inside an array, as it would be once serialised.

Example:
    >>> context = {"t1": {"output": {"data": {"a": "hello", "n": [1, 2]}}}}
    >>> map_rules({"x": "{t1.output.data.a}", "ys": ["{t1.output.data.n.1}", 7]}, context)
    {'x': 'hello', 'ys': [2, 7]}
    >>> resolve({"@pipe": [["{t1.output.data.a}", "!"], ["{@string.concat}"]]}, context)
    'hello!'
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from hotmesh.engine.pipe import (
    UNDEFINED,
    CellKind,
    classify_cell,
    lookup_function,
    resolve_cell,
    resolve_pipe,
)
from hotmesh.errors import MapperError, PipeError

__all__ = ["iter_functions", "iter_references", "map_rules", "resolve", "to_plain"]

logger = logging.getLogger(__name__)

_PIPE = "@pipe"
_REDUCE = "@reduce"


def to_plain(value: Any) -> Any:
    """Drop ``UNDEFINED`` the way JSON does: absent in objects, ``None`` elsewhere.

    Example:
        >>> from hotmesh.engine.pipe import UNDEFINED
        >>> to_plain({"a": UNDEFINED, "b": [UNDEFINED, 1]})
        {'b': [None, 1]}
    """
    if value is UNDEFINED:
        return None
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items() if item is not UNDEFINED}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    return value


def _evaluate(expression: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(expression, dict) and _PIPE in expression:
        return resolve_pipe(expression[_PIPE], context)
    return resolve_cell(expression, context)


def _plain(value: Any) -> Any:
    """``to_plain`` below the top: an ``UNDEFINED`` result stays one (its key is dropped)."""
    return value if value is UNDEFINED else to_plain(value)


def _map(rules: Any, context: Mapping[str, Any]) -> Any:
    """The rule tree mapped, plain (:func:`to_plain`) but for a top-level ``UNDEFINED``.

    Each part is made plain where it is produced (a pipe's or a cell's container), so
    the common result of a reference, a scalar, is not walked again.
    """
    if isinstance(rules, dict):
        if _PIPE in rules:
            return _plain(_evaluate(rules, context))
        mapped = {}
        for key, rule in rules.items():
            value = _map(rule, context)
            if value is not UNDEFINED:
                mapped[key] = value
        return mapped
    if isinstance(rules, list):
        return [None if (value := _map(rule, context)) is UNDEFINED else value for rule in rules]
    if rules is None:
        return None
    value = resolve_cell(rules, context)
    return to_plain(value) if isinstance(value, dict | list) else value


def map_rules(rules: Any, context: Mapping[str, Any]) -> Any:
    """Map a rule tree against a job context.

    Args:
        rules: a ``maps:`` section (usually a dict) as loaded from YAML.
        context: the job context, ``{"metadata": …, "data": …, "<aid>": {"input": …,
            "output": …, "hook": …}, "$self": …, "$job": …}``.

    Returns:
        A new tree of the same shape with every cell resolved.

    Raises:
        PipeError: a pipe is malformed or names an unknown function.
        MapperError: a value in the tree cannot be mapped.

    Example:
        >>> map_rules({"total": {"@pipe": [["{a}", "{b}"], ["{@math.add}"]]}}, {"a": 1, "b": 2})
        {'total': 3}
    """
    try:
        mapped = _map(rules, context)
        return None if mapped is UNDEFINED else mapped
    except PipeError:
        raise
    except RecursionError as error:
        raise MapperError("the mapping rules nest too deeply", value=rules) from error


def resolve(expression: Any, context: Mapping[str, Any]) -> Any:
    """Resolve a single expression (``sleep:``, ``topic:``, a transition's ``actual``…).

    A ``{'@pipe': rows}`` dict is evaluated; anything else is one cell, so a plain dict or
    list is returned as written (it is not walked). An unresolved reference gives ``None``.

    Example:
        >>> resolve("{$job.metadata.jid}", {"$job": {"metadata": {"jid": "j1"}}})
        'j1'
        >>> resolve("{nowhere}", {}) is None
        True
    """
    if expression is None:  # most optional expressions (``emit:``...) are absent
        return None
    return to_plain(_evaluate(expression, context))


def _cells(rules: Any) -> Iterator[Any]:
    if isinstance(rules, dict):
        for key, value in rules.items():
            if key in (_PIPE, _REDUCE):
                yield from _pipe_cells(value)
            else:
                yield from _cells(value)
    elif isinstance(rules, list):
        for value in rules:
            yield from _cells(value)
    else:
        yield rules


def _pipe_cells(rows: Any) -> Iterator[Any]:
    if not isinstance(rows, list):
        return
    for row in rows:
        if isinstance(row, list):
            yield from row
        else:
            yield from _cells(row)


def iter_references(rules: Any) -> Iterator[str]:
    """Yield the dot path of every ``{reference}`` in a rule tree or expression.

    Context variables (``{$item…}``) and functions are not references.

    Example:
        >>> list(iter_references({"a": "{t1.output.data.x}", "b": {"@pipe": [["{$job.data.y}"]]}}))
        ['t1.output.data.x', '$job.data.y']
    """
    for cell in _cells(rules):
        if classify_cell(cell) is CellKind.REFERENCE:
            yield cell[1:-1]


def iter_functions(rules: Any) -> Iterator[str]:
    """Yield the qualified name of every ``{@function}`` cell in a rule tree.

    Raises:
        PipeError: a function cell names something the catalog does not have.

    Example:
        >>> list(iter_functions({"x": {"@pipe": [["{a}"], ["{@string.trim}"]]}}))
        ['string.trim']
    """
    for cell in _cells(rules):
        if classify_cell(cell) is CellKind.FUNCTION:
            yield lookup_function(cell)[0]
