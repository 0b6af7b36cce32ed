"""Deploy-time checks of shapes the mapper would otherwise meet only at run time.

* ``@pipe`` shapes: a pipe is a non-empty list of rows; a row is a non-empty list of cells,
  ``{'@pipe': rows}`` or ``{'@reduce': rows}``; every list row after the first (unless the
  pipe opens with a ``@reduce``) is an operator row whose first cell is a ``{@function}``
  or a ``{$item}``-style context variable. Cells are not entered: an object inside a row is
  a literal.
* Unclosed references: a string that starts like a reference and has no closing brace —
  ``'{'``, ``'{@math.add'``, ``'{$job.data.x'``, ``'{a1.output.data'`` — i.e. ``{``
  followed only by name characters (letters, digits, ``_ . $ @ -``). The reference keeps
  these as literal text; here they are deploy errors. Anything else that does not close
  (``'{ not a ref'``, ``'{"a": 1'``) stays a literal, as in the reference.
* ``sleep``: a literal sleep must be a number of seconds >= 0 (or a numeric string).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hotmesh.engine._expressions import cell_kind

__all__ = ["pipe_problems", "sleep_problem"]


def pipe_problems(value: Any, node: str) -> Iterator[tuple[str, str]]:
    """``(node, message)`` for every malformed ``@pipe`` below ``value``.

    Example:
        >>> list(pipe_problems({"x": {"@pipe": [[]]}}, "maps"))
        [('maps.x.@pipe[0]', 'a @pipe row must not be empty')]
    """
    if isinstance(value, dict):
        if "@pipe" in value:
            yield from _rows(value["@pipe"], f"{node}.@pipe")
            return
        for key, item in value.items():
            if key != "schema":  # JSON Schemas are documentation
                yield from pipe_problems(item, f"{node}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from pipe_problems(item, f"{node}[{index}]")


def _rows(rows: Any, node: str) -> Iterator[tuple[str, str]]:
    if not isinstance(rows, list) or not rows:
        yield node, f"a @pipe must be a non-empty list of rows, not {rows!r}"
        return
    opens_with_reduce = isinstance(rows[0], dict) and "@reduce" in rows[0]
    for index, row in enumerate(rows):
        where = f"{node}[{index}]"
        if isinstance(row, list):
            if not row:
                yield where, "a @pipe row must not be empty"
            elif index > 0 and not opens_with_reduce:
                operator = row[0]
                if cell_kind(operator) not in ("function", "context"):
                    yield (
                        where,
                        "an operator row must start with a {@function} or a context "
                        f"variable, not {operator!r}",
                    )
        elif isinstance(row, dict) and len(row) == 1 and ("@pipe" in row or "@reduce" in row):
            key = next(iter(row))
            yield from _rows(row[key], f"{where}.{key}")
        else:
            yield (
                where,
                f"a @pipe row must be a list, {{'@pipe': …}} or {{'@reduce': …}}, not {row!r}",
            )


def sleep_problem(value: Any) -> str | None:
    """Why a literal ``sleep`` is unusable, or None (expressions are checked elsewhere).

    Example:
        >>> sleep_problem("soon"), sleep_problem(5), sleep_problem("{$job.data.s}")
        ("must be a number of seconds or an expression, not 'soon'", None, None)
    """
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return f"must be a number of seconds, not {value!r}"
    if isinstance(value, str):
        if cell_kind(value) != "literal":
            return None
        try:
            seconds = float(value)
        except ValueError:
            return f"must be a number of seconds or an expression, not {value!r}"
    elif isinstance(value, int | float):
        seconds = float(value)
    else:
        return f"must be a number of seconds, not {value!r}"
    if not seconds >= 0:  # also NaN
        return f"must be >= 0 seconds, not {value!r}"
    return None
