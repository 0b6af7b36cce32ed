"""``json.*`` functions (spec §3.6 json)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotmesh.engine.pipe import FUNCTIONS, UNDEFINED
from hotmesh.errors import PipeError


def call(name: str, *args: Any) -> Any:
    return FUNCTIONS[name](*args)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": [1, 2.0, math.nan, math.inf]}, '{"a":[1,2,null,null]}'),
        ({"skip": UNDEFINED, "keep": None}, '{"keep":null}'),
        ([UNDEFINED], "[null]"),
        ("héllo", '"héllo"'),
        (1e-7, "1e-7"),
        (True, "true"),
        (datetime(1970, 1, 1, tzinfo=UTC), '"1970-01-01T00:00:00.000Z"'),
        ({}, "{}"),
        ([], "[]"),
    ],
)
def test_stringify(value: Any, expected: str) -> None:
    assert call("json.stringify", value) == expected


def test_stringify_undefined_is_undefined() -> None:
    assert call("json.stringify", UNDEFINED) is UNDEFINED


def test_stringify_with_replacer_keys_and_space() -> None:
    assert (
        call("json.stringify", {"a": 1, "b": {"a": 2, "c": 3}}, ["a", "b"]) == '{"a":1,"b":{"a":2}}'
    )
    assert call("json.stringify", {"a": [1]}, None, 2) == '{\n  "a": [\n    1\n  ]\n}'
    assert call("json.stringify", {"a": 1}, None, "\t") == '{\n\t"a": 1\n}'


def test_parse() -> None:
    assert call("json.parse", '["ke", "bab", "case"]') == ["ke", "bab", "case"]
    assert call("json.parse", 5) == 5
    assert call("json.parse", None) is None


@pytest.mark.parametrize("text", ["{bad", "NaN", ""])
def test_parse_invalid(text: str) -> None:
    with pytest.raises(PipeError, match=r"json\.parse"):
        call("json.parse", text)


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=8)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=15,
)


@given(_json)
def test_round_trip_and_agreement_with_the_json_module(value: Any) -> None:
    text = call("json.stringify", value)
    assert call("json.parse", text) == value
    assert json.loads(text) == value
    assert text == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
