"""``conditional.*`` and ``logical.*`` functions (spec §3.6)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hotmesh.engine.pipe import FUNCTIONS, UNDEFINED, resolve_pipe


def call(name: str, *args: Any) -> Any:
    return FUNCTIONS[name](*args)


SAME = [1]


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("conditional.ternary", (True, "yes", "no"), "yes"),
        ("conditional.ternary", ([], "yes", "no"), "yes"),
        ("conditional.ternary", ("", "yes", "no"), "no"),
        ("conditional.ternary", (math.nan, "yes", "no"), "no"),
        ("conditional.equality", ("1", 1), True),
        ("conditional.equality", (None, UNDEFINED), True),
        ("conditional.equality", (0, None), False),
        ("conditional.equality", (True, "1"), True),
        ("conditional.equality", ([2], "2"), True),
        ("conditional.equality", (math.nan, math.nan), False),
        ("conditional.inequality", ("1", 1), False),
        ("conditional.inequality", ("a", "b"), True),
        ("conditional.strict_equality", ("1", 1), False),
        ("conditional.strict_equality", (1, 1.0), True),
        ("conditional.strict_equality", (1, True), False),
        ("conditional.strict_equality", ([1], [1]), False),
        ("conditional.strict_equality", (SAME, SAME), True),
        ("conditional.strict_inequality", ("1", 1), True),
        ("conditional.strict_inequality", ("a", "a"), False),
        ("conditional.greater_than", (3, "2"), True),
        ("conditional.greater_than", ("b", "a"), True),
        ("conditional.greater_than", (1, "x"), False),
        ("conditional.less_than", (4, 5), True),
        ("conditional.less_than", ("10", "9"), True),
        ("conditional.less_than", (None, 1), True),
        ("conditional.greater_than_or_equal", (5, 5), True),
        ("conditional.greater_than_or_equal", (math.nan, 5), False),
        ("conditional.less_than_or_equal", ("a", "b"), True),
        ("conditional.less_than_or_equal", (UNDEFINED, 0), False),
        ("conditional.nullish", (0, "d"), 0),
        ("conditional.nullish", (None, "d"), "d"),
        ("conditional.nullish", (UNDEFINED, False), False),
        ("logical.and", (1, "x"), "x"),
        ("logical.and", (0, "x"), 0),
        ("logical.and", ([], {}), {}),
        ("logical.or", (UNDEFINED, 120), 120),
        ("logical.or", ([], 5), []),
        ("logical.or", ("", 0), 0),
    ],
)
def test_conditional_function(name: str, args: tuple[Any, ...], expected: Any) -> None:
    result = call(name, *args)
    assert result == expected
    assert type(result) is type(expected)


def test_transition_condition_from_test_app() -> None:
    rows = [["{t1.output.data.a}", "goodbye"], ["{@conditional.equality}"]]
    assert resolve_pipe(rows, {"t1": {"output": {"data": {"a": "goodbye"}}}}) is True
    assert resolve_pipe(rows, {"t1": {"output": {"data": {"a": "hello"}}}}) is False


def test_nullish_with_missing_hook_data() -> None:
    rows = [["{$self.hook.data.done}", False], ["{@conditional.nullish}"]]
    assert resolve_pipe(rows, {"$self": {"hook": {}}}) is False
    assert resolve_pipe(rows, {"$self": {"hook": {"data": {"done": True}}}}) is True
