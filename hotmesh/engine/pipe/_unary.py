"""``unary``: ``!x``, ``+x``, ``-x`` and ``~x`` with JS coercion."""

from __future__ import annotations

from typing import Any

from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._jsvalue import UNDEFINED, to_int32, to_number, truthy

__all__: list[str] = []


@register("unary")
def not_(value: Any = UNDEFINED) -> bool:
    """``!value``.

    Example:
        >>> not_(0), not_([])
        (True, False)
    """
    return not truthy(value)


@register("unary")
def positive(value: Any = UNDEFINED) -> int | float:
    """``+value`` (number coercion).

    Example:
        >>> positive("5")
        5
    """
    return to_number(value)


@register("unary")
def negative(value: Any = UNDEFINED) -> int | float:
    """``-value`` (number coercion).

    Example:
        >>> negative("5")
        -5
    """
    return -to_number(value)


@register("unary")
def bitwise_not(value: Any = UNDEFINED) -> int:
    """``~value`` on a 32-bit integer.

    Example:
        >>> bitwise_not(5)
        -6
    """
    return ~to_int32(value)
