"""``number``: ``Number.*`` predicates, JS parsing and formatting, comparisons."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from hotmesh.engine.pipe import _math
from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._jsvalue import (
    UNDEFINED,
    is_number,
    less_than,
    normalize_number,
    to_int32,
    to_integer,
    to_number,
    to_string,
)
from hotmesh.errors import PipeError

__all__: list[str] = []

_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"  # noqa: E501
_FLOAT_PREFIX = re.compile(r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
Number = int | float


def _digits_argument(name: str, value: Any, low: int, default: int | None) -> int | None:
    if value is UNDEFINED:
        return default
    digits = to_integer(value)
    if not low <= digits <= 100:
        raise PipeError(f"number.{name}: digits must be between {low} and 100", value=value)
    return int(digits)


@register("number")
def isFinite(value: Any = UNDEFINED) -> bool:
    """``Number.isFinite`` (no coercion: ``'5'`` is not finite).

    Example:
        >>> isFinite(5), isFinite("5"), isFinite(math.inf)
        (True, False, False)
    """
    return is_number(value) and math.isfinite(value)


@register("number")
def isInteger(value: Any = UNDEFINED) -> bool:
    """``Number.isInteger`` (no coercion).

    Example:
        >>> isInteger(5.0), isInteger(5.5), isInteger("5")
        (True, False, False)
    """
    return is_number(value) and math.isfinite(value) and float(value).is_integer()


@register("number")
def isNaN(value: Any = UNDEFINED) -> bool:
    """``Number.isNaN`` (no coercion: ``'x'`` is not NaN).

    Example:
        >>> isNaN(math.nan), isNaN("x")
        (True, False)
    """
    return is_number(value) and math.isnan(value)


def _remainder(value: Any) -> float | None:
    number = to_number(value)
    if not math.isfinite(number):
        return None
    return math.fmod(number, 2)


@register("number")
def isEven(value: Any = UNDEFINED) -> bool:
    """Whether ``value % 2 == 0`` after number coercion; NaN is neither even nor odd.

    Example:
        >>> isEven(42), isEven("4"), isEven(math.nan)
        (True, True, False)
    """
    remainder = _remainder(value)
    return remainder is not None and remainder == 0


@register("number")
def isOdd(value: Any = UNDEFINED) -> bool:
    """Whether ``value % 2 != 0`` after number coercion; NaN is neither even nor odd.

    Example:
        >>> isOdd(55), isOdd(-3), isOdd(math.nan)
        (True, True, False)
    """
    remainder = _remainder(value)
    return remainder is not None and remainder != 0


@register("number")
def parseFloat(text: Any = UNDEFINED) -> Number:
    """JS ``parseFloat``: the longest numeric prefix, else ``nan``.

    Example:
        >>> parseFloat("12.5px"), parseFloat("  -1e3x"), parseFloat("px")
        (12.5, -1000, nan)
    """
    match = _FLOAT_PREFIX.match(to_string(text).lstrip(_JS_SPACE))
    if match is None:
        return math.nan
    found = match.group()
    if found.lstrip("+-") == "Infinity":
        return -math.inf if found.startswith("-") else math.inf
    return normalize_number(float(found))


@register("number")
def parseInt(text: Any = UNDEFINED, radix: Any = UNDEFINED) -> Number:
    """JS ``parseInt``: the leading digits in ``radix`` (2–36, default 10 or 16 for ``0x``).

    Example:
        >>> parseInt("12px"), parseInt("ff", 16), parseInt("0x1A"), parseInt("z")
        (12, 255, 26, nan)
    """
    source = to_string(text).strip(_JS_SPACE)
    sign = -1 if source.startswith("-") else 1
    if source[:1] in "+-" and source:
        source = source[1:]
    base = to_int32(radix)
    if base == 0:
        base = 10
        if source[:2].lower() == "0x":
            base, source = 16, source[2:]
    elif base == 16 and source[:2].lower() == "0x":
        source = source[2:]
    if not 2 <= base <= 36:
        return math.nan
    valid = _DIGITS[:base]
    end = 0
    while end < len(source) and source[end].lower() in valid:
        end += 1
    if end == 0:
        return math.nan
    result = sign * int(source[:end], base)
    return result if abs(result) < 2**63 else float(result)


@register("number")
def toFixed(value: Any = UNDEFINED, digits: Any = UNDEFINED) -> str:
    """``value.toFixed(digits)``: fixed-point text, halves rounded away from zero.

    Example:
        >>> toFixed(2.5), toFixed(1.005, 2), toFixed(3.14159, 2)
        ('3', '1.00', '3.14')
    """
    places = _digits_argument("toFixed", digits, 0, 0) or 0
    number = to_number(value)
    if not math.isfinite(number) or abs(number) >= 1e21:
        return to_string(number)
    if number == 0:
        number = 0
    with localcontext() as context:
        context.prec = 500
        quantum = Decimal(1).scaleb(-places)
        return str(Decimal(number).quantize(quantum, rounding=ROUND_HALF_UP))


def _exponential(mantissa_and_exponent: str) -> str:
    mantissa, exponent = mantissa_and_exponent.lower().split("e")
    value = int(exponent)
    return f"{mantissa}e{'+' if value >= 0 else '-'}{abs(value)}"


@register("number")
def toExponential(value: Any = UNDEFINED, digits: Any = UNDEFINED) -> str:
    """``value.toExponential(digits)``; without digits, as many as needed.

    Example:
        >>> toExponential(123456, 2), toExponential(0.00015), toExponential(5)
        ('1.23e+5', '1.5e-4', '5e+0')
    """
    places = _digits_argument("toExponential", digits, 0, None)
    number = to_number(value)
    if not math.isfinite(number):
        return to_string(number)
    if places is None:
        decimal = Decimal(repr(float(number))).normalize()
        _, digit_tuple, exponent = decimal.as_tuple()
        assert isinstance(exponent, int)
        text = "".join(map(str, digit_tuple))
        mantissa = text if len(text) == 1 else text[0] + "." + text[1:]
        sign = "-" if number < 0 else ""
        return _exponential(f"{sign}{mantissa}e{exponent + len(text) - 1}")
    with localcontext() as context:
        context.rounding = ROUND_HALF_UP
        return _exponential(format(Decimal(number), f".{places}e"))


@register("number")
def toPrecision(value: Any = UNDEFINED, precision: Any = UNDEFINED) -> str:
    """``value.toPrecision(precision)``: ``precision`` significant digits.

    Example:
        >>> toPrecision(123.456, 4), toPrecision(0.000123, 2), toPrecision(123456, 2)
        ('123.5', '0.00012', '1.2e+5')
    """
    significant = _digits_argument("toPrecision", precision, 1, None)
    number = to_number(value)
    if significant is None or not math.isfinite(number):
        return to_string(number)
    with localcontext() as context:
        context.rounding = ROUND_HALF_UP
        scientific = format(Decimal(number), f".{significant - 1}e")
        exponent = int(scientific.lower().split("e")[1])
        if exponent < -6 or exponent >= significant:
            return _exponential(scientific)
        return format(Decimal(number), f".{significant - 1 - exponent}f")


@register("number")
def gte(left: Any = UNDEFINED, right: Any = UNDEFINED) -> bool:
    """``left >= right``.

    Example:
        >>> gte(149.99, 100)
        True
    """
    return less_than(left, right) is False


@register("number")
def gt(left: Any = UNDEFINED, right: Any = UNDEFINED) -> bool:
    """``left > right``.

    Example:
        >>> gt(1, 2)
        False
    """
    return less_than(right, left) is True


@register("number")
def lte(left: Any = UNDEFINED, right: Any = UNDEFINED) -> bool:
    """``left <= right``.

    Example:
        >>> lte(2, 2)
        True
    """
    return less_than(right, left) is False


@register("number")
def lt(left: Any = UNDEFINED, right: Any = UNDEFINED) -> bool:
    """``left < right``.

    Example:
        >>> lt(49.99, 100)
        True
    """
    return less_than(left, right) is True


@register("number", "max")
def max_(*operands: Any) -> Number:
    """Largest operand (see ``math.max``).

    Example:
        >>> max_(1, 9, 4)
        9
    """
    return _math.max_(*operands)


@register("number", "min")
def min_(*operands: Any) -> Number:
    """Smallest operand (see ``math.min``).

    Example:
        >>> min_(1, 9, 4)
        1
    """
    return _math.min_(*operands)


@register("number", "pow")
def pow_(base: Any = UNDEFINED, exponent: Any = UNDEFINED) -> Number:
    """``base ** exponent``.

    Example:
        >>> pow_(2, 0.5) == math.sqrt(2)
        True
    """
    return _math.js_pow(to_number(base), to_number(exponent))


@register("number", "round")
def round_(value: Any = UNDEFINED) -> Number:
    """JS ``Math.round``.

    Example:
        >>> round_(-2.5), round_("2.5")
        (-2, 3)
    """
    return _math.js_round(to_number(value))
