"""``math.*`` functions (spec §3.6 math)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotmesh.engine.pipe import FUNCTIONS, resolve_pipe
from hotmesh.errors import PipeError

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)


def call(name: str, *args: Any) -> Any:
    return FUNCTIONS[name](*args)


def same(actual: Any, expected: float) -> bool:
    if math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return bool(actual == expected)


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("math.add", (1, 2, 3), 6),
        ("math.add", ([1, 2, 3, 4, 5],), 15),
        ("math.add", (), 0),
        ("math.add", ("2", 3), 5),
        ("math.subtract", ([5, 4, 3, 2, 1],), -5),
        ("math.subtract", (10, 4), 6),
        ("math.multiply", (5, 3), 15),
        ("math.multiply", (5, 1), 5),
        ("math.multiply", ([5, 4, 3, 2, 1],), 120),
        ("math.multiply", ([10, 10, 10],), 1000),
        ("math.divide", ([100, 4, 5],), 5),
        ("math.divide", ([200, 4, 5],), 10),
        ("math.divide", (1, 4), 0.25),
        ("math.divide", (1, 0), math.nan),
        ("math.abs", (-42,), 42),
        ("math.acos", (1,), 0),
        ("math.acos", (2,), math.nan),
        ("math.acosh", (1,), 0),
        ("math.asin", (0,), 0),
        ("math.asinh", (0,), 0),
        ("math.atan", (0,), 0),
        ("math.atanh", (0,), 0),
        ("math.atanh", (1,), math.inf),
        ("math.cbrt", (27,), 3),
        ("math.ceil", (4.1,), 5),
        ("math.ceil", (-math.inf,), -math.inf),
        ("math.clz32", (1,), 31),
        ("math.clz32", (0,), 32),
        ("math.cos", (0,), 1),
        ("math.cosh", (0,), 1),
        ("math.cosh", (-1000,), math.inf),
        ("math.exp", (0,), 1),
        ("math.exp", (1000,), math.inf),
        ("math.expm1", (0,), 0),
        ("math.floor", (-4.1,), -5),
        ("math.fround", (5.5,), 5.5),
        ("math.fround", (5.05,), 5.050000190734863),
        ("math.log", (1,), 0),
        ("math.log", (0,), -math.inf),
        ("math.log", (-1,), math.nan),
        ("math.log10", (1000,), 3),
        ("math.log1p", (0,), 0),
        ("math.log1p", (-1,), -math.inf),
        ("math.log2", (8,), 3),
        ("math.round", (2.5,), 3),
        ("math.round", (-2.5,), -2),
        ("math.round", (-2.6,), -3),
        ("math.sign", (-3,), -1),
        ("math.sign", (0,), 0),
        ("math.sin", (0,), 0),
        ("math.sinh", (0,), 0),
        ("math.sinh", (-1000,), -math.inf),
        ("math.sqrt", (16,), 4),
        ("math.sqrt", (-1,), math.nan),
        ("math.tan", (0,), 0),
        ("math.tanh", (0,), 0),
        ("math.trunc", (36,), 36),
        ("math.trunc", (-4.7,), -4),
        ("math.atan2", (0, 1), 0),
        ("math.hypot", (3, 4), 5),
        ("math.max", (5, 7, 3), 7),
        ("math.max", (), -math.inf),
        ("math.max", (1, "x"), math.nan),
        ("math.max", ([1, 9], 3), 9),
        ("math.min", (5, 7, 3), 3),
        ("math.min", (), math.inf),
        ("math.imul", (3, 4), 12),
        ("math.imul", (0xFFFFFFFF, 5), -5),
        ("math.pow", (2, 10), 1024),
        ("math.pow", (2, -1), 0.5),
        ("math.pow", (-8, 1 / 3), math.nan),
        ("math.pow", (1, math.inf), math.nan),
        ("math.pow", (math.nan, 0), 1),
        ("math.pow", (10, 400), math.inf),
        ("math.pow", (-10.0, 401), -math.inf),
    ],
)
def test_math_function(name: str, args: tuple[Any, ...], expected: float) -> None:
    assert same(call(name, *args), expected)


def test_integral_results_are_ints() -> None:
    assert isinstance(call("math.divide", 10, 2), int)
    assert isinstance(call("math.sqrt", 16), int)
    assert isinstance(call("math.divide", 10, 4), float)


def test_atan2_quadrant() -> None:
    assert call("math.atan2", 1, 1) == pytest.approx(math.pi / 4)
    assert call("math.atan2", -1, -1) == pytest.approx(-3 * math.pi / 4)


def test_random_is_in_unit_interval() -> None:
    values = {call("math.random") for _ in range(20)}
    assert all(0 <= value < 1 for value in values)
    assert len(values) > 1


@pytest.mark.parametrize("name", ["math.subtract", "math.multiply", "math.divide"])
def test_operand_required(name: str) -> None:
    with pytest.raises(PipeError, match="at least one operand"):
        call(name)


def test_math_on_array_operands_from_a_pipe() -> None:
    """The reference throws for add/multiply with an array operand inside a pipe."""
    assert resolve_pipe([["{v}"], ["{@math.add}"]], {"v": [1, 2, 3, 4, 5]}) == 15
    assert resolve_pipe([["{v}"], ["{@math.multiply}"]], {"v": [5, 4, 3, 2, 1]}) == 120


@given(finite, finite)
def test_binary_arithmetic_agrees_with_python(left: float, right: float) -> None:
    assert call("math.add", left, right) == left + right
    assert call("math.subtract", left, right) == left - right
    assert call("math.multiply", left, right) == left * right
    if right != 0:
        assert call("math.divide", left, right) == left / right


@given(finite)
def test_unary_functions_agree_with_python(value: float) -> None:
    assert call("math.abs", value) == abs(value)
    assert call("math.floor", value) == math.floor(value)
    assert call("math.ceil", value) == math.ceil(value)
    assert call("math.trunc", value) == math.trunc(value)
    assert call("math.round", value) == math.floor(value + 0.5) or value % 1 == 0.5
    if value >= 0:
        assert call("math.sqrt", value) == pytest.approx(math.sqrt(value))


@given(st.lists(finite, max_size=6))
def test_max_min_agree_with_python(values: list[float]) -> None:
    assert call("math.max", *values) == max(values, default=-math.inf)
    assert call("math.min", *values) == min(values, default=math.inf)
    assert call("math.hypot", *values) == pytest.approx(math.hypot(*values))
