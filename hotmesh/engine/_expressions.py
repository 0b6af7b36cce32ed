"""Finding the ``{...}`` cells of a manifest and reading what they refer to.

A cell is a whole string that starts with ``{`` and ends with ``}``:

* ``{@ns.fn}`` names a ``@pipe`` function;
* ``{$item}``, ``{$key}``, ``{$index}``, ``{$input}``, ``{$output}`` (and dotted paths below
  them) are ``@reduce`` context variables;
* anything else is a reference: a dotted path whose first segment (the *root*) is an activity
  id or one of ``$self``, ``$job``, ``$hook``, ``$app``, ``$graph``.

Strings such as ``'hello {x}'`` are literals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Literal

from attrs import define

from hotmesh.engine._source import SourceLocation

__all__ = [
    "CONTEXT_VARIABLES",
    "SPECIAL_ROOTS",
    "Cell",
    "cell_kind",
    "dependency",
    "function_name",
    "is_unclosed_reference",
    "iter_cells",
    "reference_path",
]

#: Variables bound while a ``@reduce`` body runs.
CONTEXT_VARIABLES = ("$item", "$key", "$index", "$input", "$output")

#: Reference roots that are not activity ids.
SPECIAL_ROOTS = frozenset({"$self", "$job", "$hook", "$app", "$graph"})

# Roots that are accepted but never hold persisted activity state.
_UNSTORED_ROOTS = frozenset({"$hook", "$app", "$graph"})

# A reference that never closes: '{', '{@math.add', '{a1.output.data' (see _checks.py).
_UNCLOSED = re.compile(r"\{[@$]?[A-Za-z0-9_.$@-]*")

CellKind = Literal["function", "context", "reference", "literal"]

Locator = Callable[[Any, Any], SourceLocation | None]


@define(frozen=True)
class Cell:
    """A ``{...}`` string found in a manifest, with the YAML path it was found at."""

    text: str
    node: str
    location: SourceLocation | None


def cell_kind(value: Any) -> CellKind:
    """Classify a cell the way the mapper does.

    Example:
        >>> [cell_kind(v) for v in ("{@math.add}", "{$item.x}", "{a1.output.data}", "a {b}")]
        ['function', 'context', 'reference', 'literal']
    """
    if not isinstance(value, str) or not value.endswith("}"):
        return "literal"
    if value.startswith("{@"):
        return "function"
    if any(value.startswith("{" + var) for var in CONTEXT_VARIABLES):
        return "context"
    if value.startswith("{"):
        return "reference"
    return "literal"


def function_name(cell: str) -> str:
    """``'{@math.add}'`` -> ``'math.add'``."""
    return cell[2:-1]


def reference_path(cell: str) -> list[str]:
    """``'{a1.output.data.x}'`` -> ``['a1', 'output', 'data', 'x']``."""
    return cell[1:-1].split(".")


def dependency(cell: str, self_id: str) -> tuple[str, str] | None:
    """The state a reference reads, as ``(owner, path)``; ``None`` when it reads no stored state.

    ``$self`` is replaced by ``self_id``. Activity inputs (``{a1.input...}``), the signal
    payload (``$hook``) and the never-populated ``$app``/``$graph`` roots are not state.

    Example:
        >>> dependency("{$self.output.data.y}", "a1")
        ('a1', 'output/data/y')
        >>> dependency("{$job.metadata.jid}", "a1")
        ('$job', 'metadata/jid')
        >>> dependency("{t1.input.data.x}", "a1") is None
        True
    """
    parts = reference_path(cell)
    root = parts[0]
    if root in _UNSTORED_ROOTS or (len(parts) > 1 and parts[1] == "input"):
        return None
    owner = self_id if root == "$self" else root
    return owner, "/".join(parts[1:])


def iter_cells(
    value: Any,
    node: str,
    locate: Locator,
    *,
    skip: frozenset[str],
    location: SourceLocation | None = None,
) -> Iterator[Cell]:
    """Yield every non-literal cell below ``value`` (map keys are names, never cells).

    Keys named in ``skip`` are not entered (used for JSON Schemas, which are documentation);
    ``location`` is where ``value`` itself is declared.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if key in skip:
                continue
            child = f"{node}.{key}"
            if isinstance(item, str):
                if _is_cell(item):
                    yield Cell(item, child, locate(value, key))
            else:
                yield from iter_cells(item, child, locate, skip=skip)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            child = f"{node}[{index}]"
            if isinstance(item, str):
                if _is_cell(item):
                    yield Cell(item, child, locate(value, index))
            else:
                yield from iter_cells(item, child, locate, skip=skip)
    elif isinstance(value, str) and _is_cell(value):
        yield Cell(value, node, location)


def _is_cell(text: str) -> bool:
    # Unclosed references ('{@math.add') are yielded too, so the compiler reports them.
    return cell_kind(text) != "literal" or is_unclosed_reference(text)


def is_unclosed_reference(value: Any) -> bool:
    """True for a string that opens a reference and never closes it.

    ``{`` followed only by name characters (letters, digits, ``_ . $ @ -``): ``'{'``,
    ``'{@math.add'``, ``'{$job.data.x'``. The reference keeps these as literal text; here
    they are deploy errors. Other unclosed text (``'{ not a ref'``, ``'{"a": 1'``) stays a
    literal, as in the reference.

    Example:
        >>> [is_unclosed_reference(v) for v in ("{", "{@math.add", "{a.b}", "{ hi", "x{")]
        [True, True, False, False, False]
    """
    return isinstance(value, str) and _UNCLOSED.fullmatch(value) is not None
