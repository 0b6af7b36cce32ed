"""The fast JSON path (orjson) writes and reads exactly what the json module would."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotmesh.errors import PayloadError
from hotmesh.serializer import dumps_payload, json_text, json_value, loads_payload


def _reference(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Point:
    x: int


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([2**63, 2**64 + 1, -(2**63) - 1, 10**30])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_json_values)
def test_json_text_reads_back_as_the_json_module_reads_its_own_text(value: Any) -> None:
    assert json.loads(json_text(value)) == json.loads(_reference(value))
    assert json_value(_reference(value)) == json.loads(_reference(value))


@pytest.mark.parametrize(
    "value",
    [
        {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
        {"big": 2**64 + 1, "neg": -(2**63) - 1},
        {"subclass": Colour.RED, "int subclass": Level.HIGH},
        OrderedDict([("b", 1), ("a", 2)]),
        {"tuple": (1, 2), "nested": [{"é": "ü"}]},
        {"text": "null, not a null"},
    ],
)
def test_json_text_equals_the_json_module_text(value: Any) -> None:
    assert json_text(value) == _reference(value)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_json_text_refuses_nan_and_infinities_like_json(bad: float) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        json_text({"x": [1, None, bad]})
    with pytest.raises(PayloadError, match="JSON cannot carry"):
        dumps_payload({"x": bad})


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        datetime.date(2026, 1, 1),
        Point(1),
        {1, 2},
        object(),
    ],
)
def test_json_text_refuses_what_json_refuses(value: Any) -> None:
    with pytest.raises(TypeError):
        json_text({"v": value})
    with pytest.raises(PayloadError, match=r"payload\.v .*JSON cannot carry"):
        dumps_payload({"v": value})


def test_json_value_refuses_the_nan_constants() -> None:
    for text in ('{"x": NaN}', '{"x": Infinity}', "[-Infinity]"):
        with pytest.raises(PayloadError, match="not valid JSON"):
            json_value(text)


def test_json_value_keeps_what_only_the_json_module_reads() -> None:
    assert json_value('{"n": 123456789012345678901234567890}') == {
        "n": 123456789012345678901234567890
    }
    assert json_value('"\\ud800"') == "\ud800"
    with pytest.raises(ValueError):
        json_value("{not json")


def test_payload_size_limit_counts_utf8_bytes_on_both_paths() -> None:
    with pytest.raises(PayloadError, match="limit is 10 bytes"):
        dumps_payload({"é": "é"}, limit=10)  # 13 bytes, 9 characters
    with pytest.raises(PayloadError, match="limit is 10 bytes"):
        dumps_payload({"é": None}, limit=10)  # json module path (null)
    assert loads_payload(dumps_payload({"é": None, 1: 2})) == {"é": None, "1": 2}
