"""``object.*`` functions (spec §3.6 object)."""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh.engine.pipe import FUNCTIONS, UNDEFINED
from hotmesh.errors import PipeError


def call(name: str, *args: Any) -> Any:
    return FUNCTIONS[name](*args)


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("object.get", ({"a": 1}, "a"), 1),
        ("object.get", ({"a": 1}, "b"), UNDEFINED),
        ("object.get", (None, "a"), UNDEFINED),
        ("object.get", ([5, 6], 1), 6),
        (
            "object.create",
            ("first", "Luke", "last", "Birdeau"),
            {"first": "Luke", "last": "Birdeau"},
        ),
        ("object.create", (1, "one"), {"1": "one"}),
        ("object.create", ("odd",), {"odd": UNDEFINED}),
        ("object.keys", ({"a": 1, "b": 2},), ["a", "b"]),
        ("object.keys", (["x", "y"],), ["0", "1"]),
        ("object.keys", (None,), []),
        ("object.values", ({"a": 1, "b": 2},), [1, 2]),
        ("object.values", (None,), []),
        ("object.entries", ({"a": 1},), [["a", 1]]),
        ("object.fromEntries", ([["a", 1], ["b", 2]],), {"a": 1, "b": 2}),
        ("object.getOwnPropertyNames", ({"a": 1},), ["a"]),
        ("object.getOwnPropertyNames", (["x"],), ["0", "length"]),
        ("object.getOwnPropertySymbols", ({"a": 1},), []),
        ("object.getOwnPropertyDescriptor", ({"a": 1}, "b"), UNDEFINED),
        ("object.freeze", ({"a": 1},), {"a": 1}),
        ("object.seal", ([1],), [1]),
        ("object.preventExtensions", ({},), {}),
        ("object.isFrozen", (5,), True),
        ("object.isFrozen", ({},), False),
        ("object.isSealed", ("x",), True),
        ("object.isSealed", ([],), False),
        ("object.isExtensible", ({},), True),
        ("object.isExtensible", (1,), False),
        ("object.hasOwnProperty", ({"a": None}, "a"), True),
        ("object.hasOwnProperty", ({}, "a"), False),
        ("object.hasOwnProperty", ([1], 0), True),
        ("object.hasOwnProperty", ([1], "length"), True),
        ("object.isPrototypeOf", ({}, {}), False),
        ("object.propertyIsEnumerable", (["a"], 0), True),
        ("object.propertyIsEnumerable", (["a"], "length"), False),
    ],
)
def test_object_function(name: str, args: tuple[Any, ...], expected: Any) -> None:
    assert call(name, *args) == expected


def test_set_mutates_and_returns_the_object() -> None:
    target = {"a": 1}
    assert call("object.set", target, "b", 2) is target
    assert target == {"a": 1, "b": 2}
    assert call("object.set", None, "x", 0) == {"x": 0}


def test_assign_merges_into_target() -> None:
    target = {"a": 1}
    assert call("object.assign", target, {"b": 2}, None, {"a": 3}) is target
    assert target == {"a": 3, "b": 2}
    assert call("object.assign", None, {"c": 1}) == {"c": 1}


def test_define_property_and_properties() -> None:
    target: dict[str, Any] = {}
    assert call("object.defineProperty", target, "a", {"value": 1}) == {"a": 1}
    assert call("object.defineProperties", target, {"b": {"value": 2}}) == {"a": 1, "b": 2}
    with pytest.raises(PipeError, match="defineProperty"):
        call("object.defineProperty", 5, "a", {"value": 1})


def test_own_property_descriptor() -> None:
    descriptor = call("object.getOwnPropertyDescriptor", {"a": 1}, "a")
    assert descriptor == {"value": 1, "writable": True, "enumerable": True, "configurable": True}


@pytest.mark.parametrize("pairs", ["ab", [1, 2]])
def test_from_entries_needs_pairs(pairs: Any) -> None:
    with pytest.raises(PipeError, match="fromEntries"):
        call("object.fromEntries", pairs)


def test_set_on_a_non_object_is_an_error() -> None:
    with pytest.raises(PipeError, match=r"object\.set needs an object"):
        call("object.set", [1], "a", 2)
