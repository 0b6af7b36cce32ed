"""``bitwise.*`` and ``unary.*`` functions (spec §3.6)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotmesh.engine.pipe import FUNCTIONS


def call(name: str, *args: Any) -> Any:
    return FUNCTIONS[name](*args)


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("bitwise.and", (2**32 + 5, 1), 1),
        ("bitwise.and", (6, 3), 2),
        ("bitwise.or", (4, 1), 5),
        ("bitwise.xor", (6, 3), 5),
        ("bitwise.leftShift", (1, 31), -(2**31)),
        ("bitwise.leftShift", (1, 32), 1),
        ("bitwise.rightShift", (-8, 1), -4),
        ("bitwise.unsignedRightShift", (-1, 28), 15),
        ("bitwise.unsignedRightShift", (-1, 0), 2**32 - 1),
        ("bitwise.and", ("7", 3.9), 3),
        ("bitwise.or", (math.nan, 1), 1),
        ("unary.not", (0,), True),
        ("unary.not", ([],), False),
        ("unary.positive", ("5",), 5),
        ("unary.positive", (None,), 0),
        ("unary.negative", ("5",), -5),
        ("unary.negative", (2.5,), -2.5),
        ("unary.bitwise_not", (5,), -6),
        ("unary.bitwise_not", (2**32,), -1),
    ],
)
def test_bitwise_and_unary(name: str, args: tuple[Any, ...], expected: Any) -> None:
    assert call(name, *args) == expected


def test_positive_of_text_is_nan() -> None:
    assert math.isnan(call("unary.positive", "abc"))


int32 = st.integers(-(2**31), 2**31 - 1)


@given(int32, int32)
def test_bitwise_agrees_with_python_on_int32(left: int, right: int) -> None:
    assert call("bitwise.and", left, right) == left & right
    assert call("bitwise.or", left, right) == left | right
    assert call("bitwise.xor", left, right) == left ^ right
    assert call("bitwise.rightShift", left, right) == left >> (right & 31)
    assert call("unary.bitwise_not", left) == ~left
