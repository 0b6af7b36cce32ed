"""``number.*`` functions (spec §3.6 number)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotmesh.engine.pipe import FUNCTIONS, resolve_pipe
from hotmesh.errors import PipeError


def call(name: str, *args: Any) -> Any:
    return FUNCTIONS[name](*args)


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("number.isFinite", (5,), True),
        ("number.isFinite", ("5",), False),
        ("number.isFinite", (math.inf,), False),
        ("number.isInteger", (5.0,), True),
        ("number.isInteger", (5.5,), False),
        ("number.isInteger", (True,), False),
        ("number.isNaN", (math.nan,), True),
        ("number.isNaN", ("abc",), False),
        ("number.isEven", (42,), True),
        ("number.isEven", ("4",), True),
        ("number.isEven", (3,), False),
        ("number.isEven", (math.nan,), False),
        ("number.isOdd", (55,), True),
        ("number.isOdd", (-3,), True),
        ("number.isOdd", (4,), False),
        ("number.isOdd", ("x",), False),
        ("number.parseFloat", ("12.5px",), 12.5),
        ("number.parseFloat", ("  -1e3",), -1000),
        ("number.parseFloat", ("-Infinity!",), -math.inf),
        ("number.parseInt", ("12px",), 12),
        ("number.parseInt", ("ff", 16), 255),
        ("number.parseInt", ("0x1A",), 26),
        ("number.parseInt", ("-101", 2), -5),
        ("number.parseInt", ("7", 99), math.nan),
        ("number.toFixed", (2.5,), "3"),
        ("number.toFixed", (1.005, 2), "1.00"),
        ("number.toFixed", (3.14159, 2), "3.14"),
        ("number.toFixed", (-1.5, 1), "-1.5"),
        ("number.toFixed", (1e21, 2), "1e+21"),
        ("number.toExponential", (123456, 2), "1.23e+5"),
        ("number.toExponential", (0.00015,), "1.5e-4"),
        ("number.toExponential", (-5,), "-5e+0"),
        ("number.toPrecision", (123.456, 4), "123.5"),
        ("number.toPrecision", (0.000123, 2), "0.00012"),
        ("number.toPrecision", (123456, 2), "1.2e+5"),
        ("number.toPrecision", (1.5,), "1.5"),
        ("number.gte", (149.99, 100), True),
        ("number.gte", (5, 5), True),
        ("number.gte", (1, "x"), False),
        ("number.gt", (2, 1), True),
        ("number.gt", (1, 1), False),
        ("number.lte", (2, 2), True),
        ("number.lte", (3, 2), False),
        ("number.lt", (49.99, 100), True),
        ("number.lt", ("10", "9"), True),
        ("number.max", (1, 9, 4), 9),
        ("number.min", (1, 9, 4), 1),
        ("number.pow", (3, 2), 9),
        ("number.round", (-2.5,), -2),
        ("number.round", ("2.5",), 3),
    ],
)
def test_number_function(name: str, args: tuple[Any, ...], expected: Any) -> None:
    result = call(name, *args)
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(result)
    else:
        assert result == expected
        assert type(result) is type(expected) or isinstance(expected, int | float)


def test_parse_failures_are_nan() -> None:
    assert math.isnan(call("number.parseFloat", "px"))
    assert math.isnan(call("number.parseInt", "z"))


@pytest.mark.parametrize("name", ["number.toFixed", "number.toPrecision"])
def test_digits_out_of_range(name: str) -> None:
    with pytest.raises(PipeError, match="digits"):
        call(name, 1, 101)


def test_price_condition_from_test_app() -> None:
    rows = [["{a5.output.data.price}", 100], ["{@number.lt}"]]
    assert resolve_pipe(rows, {"a5": {"output": {"data": {"price": 49.99}}}}) is True
    assert resolve_pipe(rows, {"a5": {"output": {"data": {"price": 149.99}}}}) is False


@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(0, 20))
def test_to_fixed_round_trips_within_half_a_unit(value: float, digits: int) -> None:
    text = call("number.toFixed", value, digits)
    if abs(value) < 1e21:
        assert abs(float(text) - value) <= 0.5 * 10**-digits + abs(value) * 1e-15


@given(st.integers(-(10**12), 10**12))
def test_parse_int_of_str_is_identity(value: int) -> None:
    assert call("number.parseInt", str(value)) == value
    assert call("number.isEven", value) is (value % 2 == 0)
    assert call("number.isOdd", value) is (value % 2 != 0)
