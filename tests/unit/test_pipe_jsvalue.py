"""The JS value model the catalog shares (coercions, equality, number text)."""

from __future__ import annotations

import copy
import math
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotmesh.engine.pipe import UNDEFINED, Undefined
from hotmesh.engine.pipe._jsvalue import (
    get_property,
    less_than,
    loose_eq,
    to_int32,
    to_number,
    to_string,
    truthy,
)


def test_undefined_is_a_falsy_singleton() -> None:
    assert Undefined() is UNDEFINED
    assert not UNDEFINED
    assert copy.deepcopy({"a": UNDEFINED})["a"] is UNDEFINED
    assert pickle.loads(pickle.dumps(UNDEFINED)) is UNDEFINED


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5.0, "5"),
        (1e-7, "1e-7"),
        (1e21, "1e+21"),
        (123e18, "123000000000000000000"),
        (0.000001, "0.000001"),
        (-2.5, "-2.5"),
        (math.inf, "Infinity"),
        (math.nan, "NaN"),
        ([1, None, [2, 3]], "1,,2,3"),
        ({}, "[object Object]"),
        (None, "null"),
        (UNDEFINED, "undefined"),
        (False, "false"),
        (2**70, "1.1805916207174113e+21"),
    ],
)
def test_to_string(value: Any, expected: str) -> None:
    assert to_string(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (" 42 ", 42),
        ("", 0),
        ("0x1f", 31),
        ("1e3", 1000),
        ("Infinity", math.inf),
        (True, 1),
        (None, 0),
        ([7], 7),
        ([], 0),
    ],
)
def test_to_number(value: Any, expected: float) -> None:
    assert to_number(value) == expected


@pytest.mark.parametrize("value", ["4px", "inf", "1_000", UNDEFINED, {}, [1, 2]])
def test_to_number_nan(value: Any) -> None:
    assert math.isnan(to_number(value))


@pytest.mark.parametrize("value", [0, 0.0, math.nan, "", None, UNDEFINED, False])
def test_falsy(value: Any) -> None:
    assert not truthy(value)


def test_misc_coercions() -> None:
    assert truthy([]) and truthy({}) and truthy("0")
    assert loose_eq("", 0) and not loose_eq("", None)
    assert less_than("a", "b") is True and less_than(1, math.nan) is None
    assert to_int32(2**31) == -(2**31)
    assert get_property("abc", "1") == "b" and get_property([1], "01") is UNDEFINED


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_text_round_trips(value: float) -> None:
    assert float(to_string(value)) == value
    assert to_number(to_string(value)) == value
