"""``symbol``: nullary constants (``{@symbol.null}``, ``{@symbol.array}``...)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._jsvalue import UNDEFINED, Undefined

__all__: list[str] = []

# Every constant ignores operands: as an operator it simply replaces them.


@register("symbol", "null")
def null(*_: Any) -> None:
    """``None``.

    Example:
        >>> null() is None
        True
    """
    return None


@register("symbol", "undefined")
def undefined(*_: Any) -> Undefined:
    """UNDEFINED: keys mapped to it are left out of the mapped result.

    Example:
        >>> undefined()
        UNDEFINED
    """
    return UNDEFINED


@register("symbol")
def whitespace(*_: Any) -> str:
    """A single space.

    Example:
        >>> whitespace()
        ' '
    """
    return " "


@register("symbol", "object")
def object_(*_: Any) -> dict[str, Any]:
    """A new empty object.

    Example:
        >>> object_()
        {}
    """
    return {}


@register("symbol")
def array(*_: Any) -> list[Any]:
    """A new empty array.

    Example:
        >>> array()
        []
    """
    return []


@register("symbol")
def posInfinity(*_: Any) -> float:
    """``+inf``.

    Example:
        >>> posInfinity()
        inf
    """
    return math.inf


@register("symbol")
def negInfinity(*_: Any) -> float:
    """``-inf``.

    Example:
        >>> negInfinity()
        -inf
    """
    return -math.inf


@register("symbol", "NaN")
def nan(*_: Any) -> float:
    """``nan``.

    Example:
        >>> nan()
        nan
    """
    return math.nan


@register("symbol")
def date(*_: Any) -> datetime:
    """The current time as a timezone-aware UTC ``datetime``.

    Example:
        >>> date().tzinfo is UTC
        True
    """
    return datetime.now(UTC)
