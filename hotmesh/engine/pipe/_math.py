"""``math``: arithmetic over any number of operands and the JS ``Math`` functions.

Operands are coerced to numbers (``'5'`` → 5); arrays among the operands of the
variadic functions are flattened, so ``add([1, 2], 3)`` is 6. Results that JS would make
``NaN``/``±Infinity`` are ``nan``/``±inf`` floats; integral results are ``int``.
"""

from __future__ import annotations

import math
import random as _random
import struct
from collections.abc import Callable, Iterable
from typing import Any

from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._jsvalue import (
    UNDEFINED,
    normalize_number,
    to_int32,
    to_number,
    to_uint32,
)
from hotmesh.errors import PipeError

__all__ = ["flatten_numbers", "js_pow", "js_round"]

Number = int | float


def flatten_numbers(operands: Iterable[Any]) -> list[Number]:
    """Coerce operands to numbers, flattening (nested) arrays.

    Example:
        >>> flatten_numbers([1, [2, ["3"]], True])
        [1, 2, 3, 1]
    """
    numbers: list[Number] = []
    for operand in operands:
        if isinstance(operand, list | tuple):
            numbers.extend(flatten_numbers(operand))
        else:
            numbers.append(to_number(operand))
    return numbers


def _require(name: str, numbers: list[Number]) -> list[Number]:
    if not numbers:
        raise PipeError(f"math.{name}: at least one operand is required", value=f"math.{name}")
    return numbers


@register("math")
def add(*operands: Any) -> Number:
    """Sum of the operands (0 for none).

    Example:
        >>> add(1, 2, [3, 4]), add()
        (10, 0)
    """
    total: Number = 0
    for number in flatten_numbers(operands):
        total = total + number
    return normalize_number(total)


@register("math")
def subtract(*operands: Any) -> Number:
    """First operand minus each following one.

    Raises:
        PipeError: no operands.

    Example:
        >>> subtract([5, 4, 3, 2, 1])
        -5
    """
    first, *rest = _require("subtract", flatten_numbers(operands))
    for number in rest:
        first -= number
    return normalize_number(first)


@register("math")
def multiply(*operands: Any) -> Number:
    """Product of the operands.

    Raises:
        PipeError: no operands.

    Example:
        >>> multiply(5, 3), multiply([5, 4, 3, 2, 1])
        (15, 120)
    """
    product: Number = 1
    for number in _require("multiply", flatten_numbers(operands)):
        product = product * number
        if isinstance(product, int) and abs(product) > 2**63:
            product = float(product)
    return normalize_number(product)


@register("math")
def divide(*operands: Any) -> Number:
    """First operand divided by each following one; a zero divisor gives ``nan``.

    Raises:
        PipeError: no operands.

    Example:
        >>> divide([100, 4, 5]), divide(1, 0)
        (5, nan)
    """
    first, *rest = _require("divide", flatten_numbers(operands))
    quotient = float(first)
    for number in rest:
        if number == 0:
            return math.nan
        quotient /= number
    return normalize_number(quotient)


def _unary(name: str, function: Callable[[float], float], doc: str) -> None:
    def apply(value: Any = UNDEFINED, *_: Any) -> Number:
        number = to_number(value)
        if math.isnan(number):
            return math.nan
        try:
            return normalize_number(function(number))
        except OverflowError:
            return math.copysign(math.inf, number)
        except ValueError:
            return math.nan

    apply.__name__ = name
    apply.__doc__ = doc
    register("math", name)(apply)


def _log(function: Callable[[float], float]) -> Callable[[float], float]:
    def apply(x: float) -> float:
        if x == 0:
            return -math.inf
        return function(x)

    return apply


def _atanh(x: float) -> float:
    if abs(x) == 1:
        return math.copysign(math.inf, x)
    return math.atanh(x)


def _sinh(x: float) -> float:
    try:
        return math.sinh(x)
    except OverflowError:
        return math.copysign(math.inf, x)


def _cosh(x: float) -> float:
    try:
        return math.cosh(x)
    except OverflowError:
        return math.inf


def _cbrt(x: float) -> float:
    # libm's cbrt may miss exact cubes by one ulp (cbrt(27) = 3.0000000000000004).
    root = math.cbrt(x)
    if math.isfinite(root) and round(root) ** 3 == x:
        return round(root)
    return root


def _log1p(x: float) -> float:
    return -math.inf if x == -1 else math.log1p(x)


def _sign(x: float) -> float:
    return 0 if x == 0 else math.copysign(1, x)


def _fround(x: float) -> float:
    try:
        return float(struct.unpack("f", struct.pack("f", x))[0])
    except OverflowError:
        return math.copysign(math.inf, x)


def _clz32(x: float) -> float:
    return 32 - to_uint32(x).bit_length()


def js_round(x: float) -> Number:
    """JS ``Math.round``: halves round toward +∞ (``-2.5`` → ``-2``).

    Example:
        >>> js_round(2.5), js_round(-2.5), js_round(0.49999999999999994)
        (3, -2, 0)
    """
    if not math.isfinite(x):
        return x
    floor = math.floor(x)
    return floor + 1 if x - floor >= 0.5 else floor


_UNARY: dict[str, tuple[Callable[[float], float], str]] = {
    "abs": (abs, "Absolute value: ``abs(-42)`` is 42."),
    "acos": (math.acos, "Arc cosine (radians); ``nan`` outside [-1, 1]."),
    "acosh": (math.acosh, "Inverse hyperbolic cosine."),
    "asin": (math.asin, "Arc sine (radians)."),
    "asinh": (math.asinh, "Inverse hyperbolic sine."),
    "atan": (math.atan, "Arc tangent (radians)."),
    "atanh": (_atanh, "Inverse hyperbolic tangent; ±1 gives ±inf."),
    "cbrt": (_cbrt, "Cube root: ``cbrt(27)`` is 3."),
    "ceil": (math.ceil, "Smallest integer not below x."),
    "clz32": (_clz32, "Leading zero bits of the 32-bit unsigned x."),
    "cos": (math.cos, "Cosine."),
    "cosh": (_cosh, "Hyperbolic cosine."),
    "exp": (math.exp, "e**x."),
    "expm1": (math.expm1, "e**x - 1."),
    "floor": (math.floor, "Largest integer not above x."),
    "fround": (_fround, "Nearest 32-bit float."),
    "log": (_log(math.log), "Natural logarithm; 0 gives -inf, negatives nan."),
    "log10": (_log(math.log10), "Base-10 logarithm."),
    "log1p": (_log1p, "log(1 + x)."),
    "log2": (_log(math.log2), "Base-2 logarithm."),
    "round": (js_round, "JS rounding: halves toward +inf (``round(-2.5)`` is -2)."),
    "sign": (_sign, "-1, 0 or 1."),
    "sin": (math.sin, "Sine."),
    "sinh": (_sinh, "Hyperbolic sine."),
    "sqrt": (math.sqrt, "Square root; negatives give nan."),
    "tan": (math.tan, "Tangent."),
    "tanh": (math.tanh, "Hyperbolic tangent."),
    "trunc": (math.trunc, "Integer part: ``trunc(-4.7)`` is -4."),
}

for _name, (_function, _doc) in _UNARY.items():
    _unary(_name, _function, _doc)


@register("math")
def atan2(y: Any = UNDEFINED, x: Any = UNDEFINED) -> Number:
    """Angle of the point (x, y).

    Example:
        >>> round(atan2(1, 1), 4)
        0.7854
    """
    return normalize_number(math.atan2(to_number(y), to_number(x)))


@register("math")
def hypot(*operands: Any) -> Number:
    """Square root of the sum of squares.

    Example:
        >>> hypot(3, 4)
        5
    """
    return normalize_number(math.hypot(*flatten_numbers(operands)))


@register("math", "max")
def max_(*operands: Any) -> Number:
    """Largest operand (``-inf`` for none, ``nan`` if any is NaN).

    Example:
        >>> max_(5, 7, 3), max_()
        (7, -inf)
    """
    numbers = flatten_numbers(operands)
    if any(math.isnan(n) for n in numbers):
        return math.nan
    return max(numbers, default=-math.inf)


@register("math", "min")
def min_(*operands: Any) -> Number:
    """Smallest operand (``inf`` for none, ``nan`` if any is NaN).

    Example:
        >>> min_(5, 7, 3)
        3
    """
    numbers = flatten_numbers(operands)
    if any(math.isnan(n) for n in numbers):
        return math.nan
    return min(numbers, default=math.inf)


@register("math")
def imul(x: Any = UNDEFINED, y: Any = UNDEFINED) -> int:
    """32-bit integer multiplication.

    Example:
        >>> imul(0xFFFFFFFF, 5)
        -5
    """
    product = (to_int32(x) * to_int32(y)) % 2**32
    return product - 2**32 if product >= 2**31 else product


def js_pow(base: Number, exponent: Number) -> Number:
    """JS ``**``: like :func:`math.pow` but NaN/overflow give ``nan``/``±inf``.

    Example:
        >>> js_pow(2, 10), js_pow(-8, 1 / 3), js_pow(1, math.inf)
        (1024, nan, nan)
    """
    if math.isnan(exponent):
        return math.nan
    if exponent == 0:
        return 1
    if math.isnan(base) or (abs(base) == 1 and math.isinf(exponent)):
        return math.nan
    try:
        if isinstance(base, int) and isinstance(exponent, int) and 0 < exponent <= 64:
            result = base**exponent
            return result if abs(result) < 2**63 else float(result)
        return normalize_number(math.pow(base, exponent))
    except OverflowError:
        odd = float(exponent).is_integer() and int(exponent) % 2 == 1
        return -math.inf if base < 0 and odd else math.inf
    except (ValueError, ZeroDivisionError):
        return math.nan


@register("math")
def pow(base: Any = UNDEFINED, exponent: Any = UNDEFINED) -> Number:
    """``base ** exponent``.

    Example:
        >>> pow(2, 3)
        8
    """
    return js_pow(to_number(base), to_number(exponent))


@register("math")
def random(*_: Any) -> float:
    """A float in [0, 1).

    Example:
        >>> 0 <= random() < 1
        True
    """
    return _random.random()
