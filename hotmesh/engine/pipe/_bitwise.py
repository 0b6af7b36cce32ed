"""``bitwise``: the JS operators on 32-bit integers."""

from __future__ import annotations

from typing import Any

from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._jsvalue import UNDEFINED, to_int32, to_uint32

__all__: list[str] = []


def _signed(value: int) -> int:
    value %= 2**32
    return value - 2**32 if value >= 2**31 else value


@register("bitwise")
def and_(left: Any = UNDEFINED, right: Any = UNDEFINED) -> int:
    """``left & right``.

    Example:
        >>> and_(2**32 + 5, 1)
        1
    """
    return to_int32(left) & to_int32(right)


@register("bitwise")
def or_(left: Any = UNDEFINED, right: Any = UNDEFINED) -> int:
    """``left | right``.

    Example:
        >>> or_(4, 1)
        5
    """
    return to_int32(left) | to_int32(right)


@register("bitwise")
def xor(left: Any = UNDEFINED, right: Any = UNDEFINED) -> int:
    """``left ^ right``.

    Example:
        >>> xor(6, 3)
        5
    """
    return to_int32(left) ^ to_int32(right)


@register("bitwise")
def leftShift(value: Any = UNDEFINED, count: Any = UNDEFINED) -> int:
    """``value << count`` (wraps at 32 bits).

    Example:
        >>> leftShift(1, 31)
        -2147483648
    """
    return _signed(to_int32(value) << (to_uint32(count) & 31))


@register("bitwise")
def rightShift(value: Any = UNDEFINED, count: Any = UNDEFINED) -> int:
    """``value >> count`` (sign-propagating).

    Example:
        >>> rightShift(-8, 1)
        -4
    """
    return to_int32(value) >> (to_uint32(count) & 31)


@register("bitwise")
def unsignedRightShift(value: Any = UNDEFINED, count: Any = UNDEFINED) -> int:
    """``value >>> count`` (zero-filling).

    Example:
        >>> unsignedRightShift(-1, 28)
        15
    """
    return to_uint32(value) >> (to_uint32(count) & 31)
