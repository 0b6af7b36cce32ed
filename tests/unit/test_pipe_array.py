"""``array.*`` functions (spec §3.6 array)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotmesh.engine.pipe import FUNCTIONS, UNDEFINED
from hotmesh.errors import PipeError


def call(name: str, *args: Any) -> Any:
    return FUNCTIONS[name](*args)


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("array.get", (["Luke", "Birdeau"], 1), "Birdeau"),
        ("array.get", (["Luke", "Birdeau"],), "Luke"),
        ("array.get", (["Luke"], "0"), "Luke"),
        ("array.get", (["Luke"], 5), UNDEFINED),
        ("array.get", (["Luke"], -1), UNDEFINED),
        ("array.get", (None, 0), UNDEFINED),
        ("array.get", ({"k": 1}, "k"), 1),
        ("array.length", ([1, 2, 3],), 3),
        ("array.length", ("abcd",), 4),
        ("array.length", (None,), UNDEFINED),
        ("array.concat", ([1], [2, [3]], 4), [1, 2, [3], 4]),
        ("array.indexOf", (["a", "b", "a"], "a"), 0),
        ("array.indexOf", (["a", "b", "a"], "a", 1), 2),
        ("array.indexOf", ([1], "1"), -1),
        ("array.lastIndexOf", (["a", "b", "a"], "a"), 2),
        ("array.lastIndexOf", (["a", "b", "a"], "a", -2), 0),
        ("array.lastIndexOf", (["a"], "z"), -1),
        ("array.join", (["Luke", "Birdeau"], " "), "Luke Birdeau"),
        ("array.join", ([1, None, 2.5, [3, 4]],), "1,,2.5,3,4"),
        ("array.join", ([],), ""),
        ("array.slice", ([1, 2, 3, 4], 1, -1), [2, 3]),
        ("array.slice", ([1, 2, 3, 4], -2), [3, 4]),
        ("array.sort", ([3, None, 1, 2],), [None, 1, 2, 3]),
        ("array.sort", ([3, None, 1], "DESCENDING"), [3, 1, None]),
        ("array.sort", (["b", "A", "a", "é"],), ["a", "A", "b", "é"]),
        ("array.sort", ([10, 9, 1],), [1, 9, 10]),
    ],
)
def test_array_function(name: str, args: tuple[Any, ...], expected: Any) -> None:
    assert call(name, *args) == expected


def test_pop_and_shift_mutate() -> None:
    items = [1, 2, 3]
    assert call("array.pop", items) == 3
    assert call("array.shift", items) == 1
    assert items == [2]
    assert call("array.pop", []) is UNDEFINED
    assert call("array.shift", []) is UNDEFINED


def test_push_returns_the_same_array() -> None:
    items = [1]
    assert call("array.push", items, 2, 3) is items
    assert items == [1, 2, 3]


def test_reverse_in_place() -> None:
    items = [1, 2, 3]
    assert call("array.reverse", items) is items
    assert items == [3, 2, 1]


def test_splice_removes_and_inserts() -> None:
    letters = ["a", "b", "c", "d"]
    assert call("array.splice", letters, 1, 2, "x", "y") == ["b", "c"]
    assert letters == ["a", "x", "y", "d"]
    assert call("array.splice", letters, -1) == ["d"]
    assert letters == ["a", "x", "y"]


def test_unshift_returns_new_length() -> None:
    items = [3]
    assert call("array.unshift", items, 1, 2) == 3
    assert items == [1, 2, 3]


def test_concat_leaves_its_inputs_alone() -> None:
    first = [1]
    assert call("array.concat", first, [2]) == [1, 2]
    assert first == [1]


def test_non_array_is_an_error() -> None:
    with pytest.raises(PipeError, match=r"array\.join needs an array"):
        call("array.join", "abc", "-")


@given(st.lists(st.integers(), max_size=10))
def test_sort_matches_sorted(values: list[int]) -> None:
    assert call("array.sort", list(values)) == sorted(values)
    assert call("array.sort", list(values), "DESCENDING") == sorted(values, reverse=True)


@given(st.lists(st.integers(0, 5), max_size=10), st.integers(0, 5))
def test_index_of_matches_python(values: list[int], target: int) -> None:
    expected = values.index(target) if target in values else -1
    assert call("array.indexOf", values, target) == expected
