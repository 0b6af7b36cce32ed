"""The @pipe evaluator: cell classification, postfix rows, sub-pipes, @reduce (spec §3.3–§3.5)."""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh.engine.pipe import (
    CONTEXT_VARIABLES,
    UNDEFINED,
    CellKind,
    classify_cell,
    lookup_function,
    resolve_cell,
    resolve_pipe,
)
from hotmesh.errors import MapperError, PipeError

PERSON = {"a": {"output": {"data": {"full_name": "Luke Birdeau"}}}}


def pipe(*rows: Any) -> dict[str, Any]:
    return {"@pipe": list(rows)}


@pytest.mark.parametrize(
    ("cell", "kind"),
    [
        ("{@date.now}", CellKind.FUNCTION),
        ("{$item}", CellKind.VARIABLE),
        ("{$output.total}", CellKind.VARIABLE),
        ("{$index}", CellKind.VARIABLE),
        ("{a1.output.data.x}", CellKind.REFERENCE),
        ("{$job.metadata.jid}", CellKind.REFERENCE),
        ("{$items}", CellKind.REFERENCE),
        ("hello {x}", CellKind.LITERAL),
        ('{"a":1}', CellKind.LITERAL),
        ("{}", CellKind.LITERAL),
        (5, CellKind.LITERAL),
        (None, CellKind.LITERAL),
        (["a"], CellKind.LITERAL),
        ({"@pipe": [["{a}"]]}, CellKind.LITERAL),
    ],
)
def test_classify_cell(cell: Any, kind: CellKind) -> None:
    assert classify_cell(cell) is kind


def test_context_variables_are_the_five_reduce_names() -> None:
    assert frozenset({"$item", "$key", "$index", "$input", "$output"}) == CONTEXT_VARIABLES


def test_reference_walks_dicts_and_list_indexes() -> None:
    context = {"a": {"output": {"data": {"items": ["x", "y"]}}}}
    assert resolve_cell("{a.output.data.items.1}", context) == "y"
    assert resolve_cell("{a.output.data.items.length}", context) == 2
    assert resolve_cell("{a.output.data.items.2}", context) is UNDEFINED
    assert resolve_cell("{a.output.nothing.deeper}", context) is UNDEFINED


def test_reference_returns_a_copy_so_the_context_cannot_be_mutated() -> None:
    context = {"a": {"list": [1, 2]}}
    assert resolve_pipe([["{a.list}", 3], ["{@array.push}"]], context) == [1, 2, 3]
    assert context == {"a": {"list": [1, 2]}}


def test_literal_containers_in_rules_are_not_mutated() -> None:
    rows: list[list[Any]] = [[[1], 2], ["{@array.push}"]]
    assert resolve_pipe(rows, {}) == [1, 2]
    assert resolve_pipe(rows, {}) == [1, 2]
    assert rows[0][0] == [1]


def test_function_cell_in_value_position_is_called_without_arguments() -> None:
    assert resolve_pipe([["{@symbol.whitespace}", "x"]], {}) == " "
    assert resolve_pipe([["a", "{@symbol.whitespace}", "b"], ["{@string.concat}"]], {}) == "a b"


def test_context_variable_outside_reduce_is_undefined() -> None:
    assert resolve_cell("{$item}", {"$item": 1}) is UNDEFINED


def test_lookup_function_names_namespace_and_function() -> None:
    assert lookup_function("{@math.add}")[0] == "math.add"
    with pytest.raises(PipeError, match="namespace 'nope'") as namespace_error:
        lookup_function("{@nope.add}")
    assert namespace_error.value.value == "nope.add"
    with pytest.raises(PipeError, match=r"function 'math\.nope'"):
        lookup_function("{@math.nope}")


def test_pipe_error_is_a_mapper_error() -> None:
    with pytest.raises(MapperError):
        resolve_pipe([["{@math.nope}"]], {})


# -- the postfix algorithm ---------------------------------------------------------------


def test_operator_rows_chain() -> None:
    assert resolve_pipe([[2, 3], ["{@math.add}", 10], ["{@math.multiply}"]], {}) == 50


def test_split_then_get() -> None:
    rows = [["{a.output.data.full_name}", " "], ["{@string.split}", 0], ["{@array.get}"]]
    assert resolve_pipe(rows, PERSON) == "Luke"


def test_json_parse_then_join() -> None:
    rows = [['["ke", "bab", "case"]'], ["{@json.parse}", "-"], ["{@array.join}"]]
    assert resolve_pipe(rows, {}) == "ke-bab-case"


def test_queued_subpipe_replaces_previous_operands() -> None:
    rows = [["{a}", 2], pipe(["{b}"]), ["{@math.add}"]]
    assert resolve_pipe(rows, {"a": 1, "b": 5}) == 5


def test_fan_out_fan_in() -> None:
    rows = [pipe(["{a}"]), pipe(["{b}"]), ["{@math.add}"]]
    assert resolve_pipe(rows, {"a": 1, "b": 5}) == 6


def test_subpipes_build_an_object() -> None:
    context = {"d": ",0,0,1", "i": 13, "duration": 1000}
    rows = [
        pipe(["-sleep", "{d}", "-", "{i}", "-"], ["{@string.concat}"]),
        pipe(["{duration}"]),
        ["{@object.create}"],
    ]
    assert resolve_pipe(rows, context) == {"-sleep,0,0,1-13-": 1000}


def test_extra_operator_cells_after_the_first_are_values() -> None:
    assert resolve_pipe([[1, 2], ["{@math.add}", "{@symbol.null}"]], {}) == 3


def test_context_variable_as_operator_takes_its_value() -> None:
    body = [["{$output}", "{$item}"], ["{@math.add}"]]
    assert resolve_pipe([[[1, 2, 3], 10], {"@reduce": body}], {}) == 16


def test_retry_formula_from_nested_subpipes() -> None:
    def nullish(ref: str, default: Any) -> dict[str, Any]:
        return pipe(["{" + ref + "}", default], ["{@conditional.nullish}"])

    rows = [
        pipe(
            pipe(
                nullish("initial", 1),
                pipe(nullish("backoff", 5), nullish("count", 0), ["{@math.pow}"]),
                ["{@math.multiply}"],
            )
        ),
        pipe(["{max}", 120], ["{@logical.or}"]),
        ["{@math.min}"],
    ]
    assert resolve_pipe(rows, {"backoff": 2, "initial": 3, "count": 2, "max": 120}) == 12
    assert resolve_pipe(rows, {"backoff": 2, "count": 1, "max": 120}) == 2


def test_subpipe_starting_with_a_function_receives_outer_operands() -> None:
    """The docs' "initials" style: the reference calls split() with no input and throws."""
    rows = [
        ["{a.output.data.full_name}", " "],
        pipe(["{@string.split}", 0], ["{@array.get}"], ["{@string.charAt}", 0]),
        pipe(["{@string.split}", 1], ["{@array.get}"], ["{@string.charAt}", 0]),
        ["{@string.concat}"],
    ]
    assert resolve_pipe(rows, PERSON) == "LB"


def test_trailing_subpipe_result_is_kept() -> None:
    assert resolve_pipe([["{a}"], pipe(["{b}"])], {"a": 1, "b": 2}) == 2


def test_pipe_of_only_a_subpipe_returns_its_value() -> None:
    assert resolve_pipe([pipe(["{a}"])], {"a": 7}) == 7


def test_first_row_of_nothing_gives_undefined() -> None:
    assert resolve_pipe([[]], {}) is UNDEFINED


@pytest.mark.parametrize(
    "rows",
    [[], "not rows", [["{a}"], "row"], [["{a}"], []], [[1], ["literal operator"]], [[1], [5]]],
)
def test_malformed_pipes_raise_pipe_error(rows: Any) -> None:
    with pytest.raises(PipeError):
        resolve_pipe(rows, {"a": 1})


def test_function_failure_is_reported_with_its_name() -> None:
    with pytest.raises(PipeError, match=r"math\.subtract") as caught:
        resolve_pipe([["{@math.subtract}"]], {})
    assert caught.value.value == "math.subtract"


def test_python_error_inside_a_function_becomes_pipe_error() -> None:
    with pytest.raises(PipeError, match=r"array\.push"):
        resolve_pipe([["not an array", 1], ["{@array.push}"]], {})


# -- @reduce -----------------------------------------------------------------------------


def test_reduce_array_into_objects() -> None:
    def part(index: int) -> dict[str, Any]:
        return pipe(["{$item.full_name}", " "], ["{@string.split}", index], ["{@array.get}"])

    body = [
        pipe(["{$output}"]),
        pipe(pipe(["first"]), part(0), pipe(["last"]), part(1), ["{@object.create}"]),
        ["{@array.push}"],
    ]
    people = [{"full_name": "Luke Birdeau"}, {"full_name": "John Doe"}]
    result = resolve_pipe([["{people}", []], {"@reduce": body}], {"people": people})
    assert result == [{"first": "Luke", "last": "Birdeau"}, {"first": "John", "last": "Doe"}]


def test_reduce_object_with_index_and_key() -> None:
    markers = {
        "0": {"type": "wait", "data": {"first": "Luke", "last": "Birdeau"}},
        "1": {"type": "sleep", "data": {"first": "John", "last": "Doe"}},
    }
    key = pipe(
        pipe(["-", "{$item.type}", ",0,0,1", "-"], ["{@string.concat}"]),
        pipe(["{$index}", 5], ["{@math.add}"]),
        pipe(["-"]),
        ["{@string.concat}"],
    )
    body = [pipe(["{$output}"]), key, pipe(["{$item.data}"]), ["{@object.set}"]]
    result = resolve_pipe([["{markers}", {}], {"@reduce": body}], {"markers": markers})
    assert result == {
        "-wait,0,0,1-5-": {"first": "Luke", "last": "Birdeau"},
        "-sleep,0,0,1-6-": {"first": "John", "last": "Doe"},
    }


def test_reduce_exposes_key_input_and_output() -> None:
    body = [pipe(["{$output}"]), pipe(["{$key}"]), pipe(["{$input.length}"]), ["{@array.push}"]]
    assert resolve_pipe([[["a", "b"], []], {"@reduce": body}], {}) == ["0", 2, "1", 2]


def test_reduce_empty_or_missing_collection_returns_initial() -> None:
    body = [["{@math.add}", 1]]
    assert resolve_pipe([[[], 42], {"@reduce": body}], {}) == 42
    assert resolve_pipe([["{missing}", 42], {"@reduce": body}], {}) == 42
    assert resolve_pipe([["{missing}"], {"@reduce": body}], {}) is None


def test_reduce_initial_value_is_deep_copied() -> None:
    initial: list[Any] = []
    rows = [[[1, 2], initial], {"@reduce": [["{$output}", "x"], ["{@array.push}"]]}]
    assert resolve_pipe(rows, {}) == ["x", "x"]
    assert initial == []


def test_reduce_over_a_string_is_an_error() -> None:
    with pytest.raises(PipeError, match="@reduce"):
        resolve_pipe([["abc", 0], {"@reduce": [["{@math.add}"]]}], {})


def test_nested_reduce_sees_only_its_own_scope() -> None:
    inner = {"@reduce": [["{$output}", "{$item}"], ["{@math.add}"]]}
    outer_body = [pipe(["{$output}"]), pipe(["{$item}", 0], inner), ["{@math.add}"]]
    rows = [[[[1, 2], [3, 4]], 0], {"@reduce": outer_body}]
    assert resolve_pipe(rows, {}) == 10


def test_reduce_at_pipe_start_is_skipped() -> None:
    assert resolve_pipe([{"@reduce": [["{@math.add}"]]}, [1, 2]], {}) == 1
