"""``input.schema`` is checked at deploy and enforced by ``validate_input``."""

from __future__ import annotations

from typing import Any

import pytest
from fix_compiler import APPS, app_doc, graph

from hotmesh.engine.compiler import compile_app, validate_input
from hotmesh.engine.model import Graph
from hotmesh.errors import HotMeshError, ValidationError

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "seed": {"type": "integer"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
            },
        },
    },
    "required": ["seed"],
}


@pytest.fixture
def spring() -> Graph:
    return compile_app(app_doc(graph("spring", input={"schema": SCHEMA}))).graph_for_topic("spring")


def test_valid_input_passes(spring: Graph) -> None:
    validate_input(spring, {"seed": 2, "items": [{"name": "a"}]})


def test_wrong_type_names_the_field(spring: Graph) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_input(spring, {"seed": "two"})
    assert caught.value.value == "$.seed"
    assert "$.seed" in str(caught.value)
    assert "spring" in str(caught.value)


def test_missing_required_field_names_it(spring: Graph) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_input(spring, {})
    assert caught.value.value == "$.seed"


def test_nested_path_uses_indexes(spring: Graph) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_input(spring, {"seed": 1, "items": [{"name": "a"}, {}]})
    assert caught.value.value == "$.items[1].name"


def test_whole_input_of_the_wrong_type(spring: Graph) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_input(spring, ["not", "an", "object"])
    assert caught.value.value == "$"
    assert isinstance(caught.value, HotMeshError)
    assert caught.value.code == 1201


def test_graph_without_schema_accepts_anything() -> None:
    g = compile_app(app_doc()).graphs[0]
    assert g.input_validator is None
    validate_input(g, object())


def test_schema_from_a_ref_is_enforced() -> None:
    app = compile_app(str(APPS / "test-app.yaml"))
    scheduled = app.graph_for_topic("order.scheduled")
    validate_input(scheduled, {"id": "ord_1", "size": "lg"})
    with pytest.raises(ValidationError) as caught:
        validate_input(scheduled, {"id": "ord_1", "size": "xxl"})
    assert caught.value.value == "$.size"


def test_schema_draft_is_taken_from_dollar_schema() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "required": ["a"],
    }
    g = compile_app(app_doc(graph(input={"schema": schema}))).graphs[0]
    assert type(g.input_validator).__name__ == "Draft4Validator"
    with pytest.raises(ValidationError):
        validate_input(g, {})
