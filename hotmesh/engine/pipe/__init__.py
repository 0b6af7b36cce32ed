"""The ``@pipe`` function catalog and its evaluator.

:data:`FUNCTIONS` holds every catalog function by qualified name (``"math.add"``,
``"date.now"``, ...); one private module per namespace fills it on import. Values follow
the JSON model with :data:`UNDEFINED` for "absent"; see spec §3.4–§3.6.

Example:
    >>> from hotmesh.engine.pipe import has_function, resolve_pipe
    >>> has_function("string.concat"), has_function("string.nope")
    (True, False)
    >>> resolve_pipe([["{a}", " world"], ["{@string.concat}"]], {"a": "hello"})
    'hello world'
"""

from __future__ import annotations

# Importing a namespace module registers its functions in FUNCTIONS.
import hotmesh.engine.pipe._array
import hotmesh.engine.pipe._bitwise
import hotmesh.engine.pipe._conditional
import hotmesh.engine.pipe._cron
import hotmesh.engine.pipe._date
import hotmesh.engine.pipe._json
import hotmesh.engine.pipe._logical
import hotmesh.engine.pipe._math
import hotmesh.engine.pipe._number
import hotmesh.engine.pipe._object
import hotmesh.engine.pipe._string
import hotmesh.engine.pipe._symbol
import hotmesh.engine.pipe._unary  # noqa: F401
from hotmesh.engine.pipe._catalog import FUNCTIONS
from hotmesh.engine.pipe._evaluator import (
    CONTEXT_VARIABLES,
    CellKind,
    call_function,
    classify_cell,
    lookup_function,
    resolve_cell,
    resolve_pipe,
)
from hotmesh.engine.pipe._jsvalue import UNDEFINED, Undefined, copy_value

__all__ = [
    "CONTEXT_VARIABLES",
    "FUNCTIONS",
    "NAMESPACES",
    "UNDEFINED",
    "CellKind",
    "Undefined",
    "call_function",
    "classify_cell",
    "copy_value",
    "has_function",
    "lookup_function",
    "resolve_cell",
    "resolve_pipe",
]

#: The catalog's namespaces (``"array"``, ``"bitwise"``, ... ``"unary"``).
NAMESPACES: frozenset[str] = frozenset(name.split(".", 1)[0] for name in FUNCTIONS)


def has_function(name: str) -> bool:
    """Tell whether ``name`` (``"namespace.function"``) is in the catalog.

    Example:
        >>> has_function("math.add"), has_function("{@math.add}")
        (True, False)
    """
    return name in FUNCTIONS
