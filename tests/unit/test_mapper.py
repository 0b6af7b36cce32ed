"""The rule-tree mapper (spec §3.2) and its deliberate fixes, plus property tests."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotmesh.engine.mapper import iter_functions, iter_references, map_rules, resolve, to_plain
from hotmesh.engine.pipe import UNDEFINED, resolve_pipe
from hotmesh.errors import MapperError, PipeError

CONTEXT: dict[str, Any] = {
    "metadata": {"jid": "job-1"},
    "data": {"duration": 5},
    "t1": {"output": {"data": {"a": "hello", "n": [1, 2, 3], "price": 49.99}}},
    "a1": {"output": {"data": {"y": "hello world", "ok": True}}, "hook": {}},
}
CONTEXT["$job"] = CONTEXT
CONTEXT["$self"] = CONTEXT["a1"]


def test_map_rules_resolves_references_and_keeps_literals() -> None:
    rules = {
        "x": "{t1.output.data.a}",
        "y": "{$self.output.data.y}",
        "jid": "{$job.metadata.jid}",
        "nested": {"price": "{t1.output.data.price}", "flag": True, "text": "hello {x}"},
        "count": 3,
    }
    assert map_rules(rules, CONTEXT) == {
        "x": "hello",
        "y": "hello world",
        "jid": "job-1",
        "nested": {"price": 49.99, "flag": True, "text": "hello {x}"},
        "count": 3,
    }


def test_map_rules_evaluates_pipes_anywhere_in_the_tree() -> None:
    rules = {"deep": {"sum": {"@pipe": [["{t1.output.data.n}"], ["{@math.add}"]]}}}
    assert map_rules(rules, CONTEXT) == {"deep": {"sum": 6}}


def test_arrays_in_maps_stay_lists() -> None:
    """The reference returns {"0": 1, "1": 3} for e: [1, '{x.y}']."""
    assert map_rules({"e": [1, "{x.y}"]}, {"x": {"y": 3}}) == {"e": [1, 3]}


def test_yaml_null_in_a_map_is_null() -> None:
    """The reference throws a TypeError on a null value in a map."""
    assert map_rules({"a": None, "b": {"c": None}}, {}) == {"a": None, "b": {"c": None}}


def test_empty_strings_survive_mapping() -> None:
    rules = {"blank": "", "joined": {"@pipe": [["", ""], ["{@string.concat}"]]}}
    assert map_rules(rules, {}) == {"blank": "", "joined": ""}


def test_undefined_values_are_left_out_of_objects_and_null_in_arrays() -> None:
    rules = {"missing": "{nowhere.x}", "kept": 1, "list": ["{nowhere}", 2]}
    assert map_rules(rules, {}) == {"kept": 1, "list": [None, 2]}


def test_undefined_inside_function_results_is_scrubbed() -> None:
    rules = {"obj": {"@pipe": [["k", "v", "odd"], ["{@object.create}"]]}}
    assert map_rules(rules, {}) == {"obj": {"k": "v"}}


def test_json_object_string_is_a_literal() -> None:
    """The reference mistakes '{"a":1}' for a reference and yields undefined."""
    assert map_rules({"raw": '{"a":1}'}, {}) == {"raw": '{"a":1}'}
    assert resolve({"@pipe": [['{"a": 1}'], ["{@json.parse}"]]}, {}) == {"a": 1}


def test_mapping_does_not_mutate_the_context() -> None:
    context = {"a": {"list": [1]}}
    rules = {"pushed": {"@pipe": [["{a.list}", 2], ["{@array.push}"]]}, "list": "{a.list}"}
    assert map_rules(rules, context) == {"pushed": [1, 2], "list": [1]}
    assert context == {"a": {"list": [1]}}


def test_resolve_single_expressions() -> None:
    assert resolve("{$job.data.duration}", CONTEXT) == 5
    assert resolve(120, CONTEXT) == 120
    assert resolve("{missing.path}", CONTEXT) is None
    assert resolve(
        {"@pipe": [["{a1.output.data.y}", "hello world"], ["{@conditional.equality}"]]}, CONTEXT
    )


def test_resolve_returns_plain_objects_unchanged() -> None:
    obj = {"a": "{t1.output.data.a}"}
    assert resolve(obj, CONTEXT) == {"a": "{t1.output.data.a}"}
    assert resolve(["{t1.output.data.a}"], CONTEXT) == ["{t1.output.data.a}"]


def test_resolve_function_cell() -> None:
    assert resolve("{@symbol.whitespace}", {}) == " "
    assert resolve("{@symbol.undefined}", {}) is None


def test_unknown_function_in_map_raises_pipe_error() -> None:
    with pytest.raises(PipeError, match=r"string\.nope"):
        map_rules({"x": {"@pipe": [["a"], ["{@string.nope}"]]}}, {})
    with pytest.raises(PipeError, match="nope"):
        map_rules({"x": "{@nope.fn}"}, {})


def test_too_deep_rules_raise_mapper_error() -> None:
    rules: dict[str, Any] = {}
    node = rules
    for _ in range(5000):
        node["n"] = {}
        node = node["n"]
    with pytest.raises(MapperError, match="deeply"):
        map_rules(rules, {})


def test_to_plain() -> None:
    assert to_plain(UNDEFINED) is None
    assert to_plain({"a": UNDEFINED, "b": {"c": [UNDEFINED]}}) == {"b": {"c": [None]}}


def test_iter_references_and_functions() -> None:
    rules = {
        "a": "{t1.output.data.a}",
        "b": {"@pipe": [["{$job.data.x}", "{$item}"], ["{@string.concat}"]]},
        "c": ["{a1.output.data.y}", "lit"],
        "d": {"@pipe": [["{q}", 0], {"@reduce": [["{$output}", "{r.s}"], ["{@math.add}"]]}]},
    }
    assert list(iter_references(rules)) == [
        "t1.output.data.a",
        "$job.data.x",
        "a1.output.data.y",
        "q",
        "r.s",
    ]
    assert list(iter_functions(rules)) == ["string.concat", "math.add"]
    with pytest.raises(PipeError):
        list(iter_functions({"x": "{@no.such}"}))


# -- properties --------------------------------------------------------------------------

_keys = st.text(min_size=1, max_size=8).filter(lambda key: key != "@pipe")
_literal_text = st.text(max_size=12).filter(
    lambda text: not (text.startswith("{") and text.endswith("}"))
)
_literals = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    _literal_text,
)
_trees = st.recursive(
    _literals,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=4)
    ),
    max_leaves=20,
)
_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(alphabet="abcxyz", min_size=1, max_size=3), children, max_size=4),
    ),
    max_leaves=20,
)


@given(_trees)
def test_mapping_a_tree_of_literals_is_identity(tree: Any) -> None:
    assert map_rules(tree, {}) == tree


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(prefix, value)] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, str(index))))
    return found


@given(st.dictionaries(st.text(alphabet="abcxyz", min_size=1, max_size=3), _json, max_size=4))
def test_references_resolve_to_the_dict_walk(context: dict[str, Any]) -> None:
    for path, expected in _paths(context):
        reference = "{" + ".".join(path) + "}"
        assert resolve(reference, context) == expected
        assert map_rules({"v": reference}, context) == {"v": expected}


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=1, max_size=6))
def test_math_add_pipe_matches_python(numbers: list[float]) -> None:
    context = {"n": numbers}
    total = 0.0
    for number in numbers:
        total += number
    result = resolve({"@pipe": [["{n}"], ["{@math.add}"]]}, context)
    assert result == total or (math.isinf(total) and result == total)


@given(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6))
def test_operator_rows_compose_like_python(left: int, right: int) -> None:
    rows = [["{l}", "{r}"], ["{@math.subtract}", "{r}"], ["{@math.multiply}"]]
    assert resolve_pipe(rows, {"l": left, "r": right}) == (left - right) * right
