"""``conditional``: the ternary, JS equality and comparison operators, ``??``."""

from __future__ import annotations

from typing import Any

from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._jsvalue import (
    UNDEFINED,
    is_nullish,
    less_than,
    loose_eq,
    strict_eq,
    truthy,
)

__all__: list[str] = []


@register("conditional")
def ternary(condition: Any = UNDEFINED, if_true: Any = UNDEFINED, if_false: Any = UNDEFINED) -> Any:
    """``condition ? if_true : if_false`` with JS truthiness.

    Example:
        >>> ternary([], "yes", "no"), ternary("", "yes", "no")
        ('yes', 'no')
    """
    return if_true if truthy(condition) else if_false


@register("conditional")
def equality(left: Any = UNDEFINED, right: Any = UNDEFINED) -> bool:
    """``left == right`` (loose).

    Example:
        >>> equality("1", 1)
        True
    """
    return loose_eq(left, right)


@register("conditional")
def inequality(left: Any = UNDEFINED, right: Any = UNDEFINED) -> bool:
    """``left != right`` (loose).

    Example:
        >>> inequality("1", 1)
        False
    """
    return not loose_eq(left, right)


@register("conditional")
def strict_equality(left: Any = UNDEFINED, right: Any = UNDEFINED) -> bool:
    """``left === right``.

    Example:
        >>> strict_equality("1", 1)
        False
    """
    return strict_eq(left, right)


@register("conditional")
def strict_inequality(left: Any = UNDEFINED, right: Any = UNDEFINED) -> bool:
    """``left !== right``.

    Example:
        >>> strict_inequality("1", 1)
        True
    """
    return not strict_eq(left, right)


@register("conditional")
def greater_than(left: Any = UNDEFINED, right: Any = UNDEFINED) -> bool:
    """``left > right``.

    Example:
        >>> greater_than(3, "2")
        True
    """
    return less_than(right, left) is True


@register("conditional")
def less_than_(left: Any = UNDEFINED, right: Any = UNDEFINED) -> bool:
    """``left < right``.

    Example:
        >>> less_than_(4, 5)
        True
    """
    return less_than(left, right) is True


@register("conditional")
def greater_than_or_equal(left: Any = UNDEFINED, right: Any = UNDEFINED) -> bool:
    """``left >= right`` (``False`` when either side is NaN).

    Example:
        >>> greater_than_or_equal(5, 5)
        True
    """
    return less_than(left, right) is False


@register("conditional")
def less_than_or_equal(left: Any = UNDEFINED, right: Any = UNDEFINED) -> bool:
    """``left <= right`` (``False`` when either side is NaN).

    Example:
        >>> less_than_or_equal("a", "b")
        True
    """
    return less_than(right, left) is False


@register("conditional")
def nullish(value: Any = UNDEFINED, fallback: Any = UNDEFINED) -> Any:
    """``value ?? fallback``: only ``None``/UNDEFINED fall back.

    Example:
        >>> nullish(0, "d"), nullish(None, "d")
        (0, 'd')
    """
    return fallback if is_nullish(value) else value
