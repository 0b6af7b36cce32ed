"""Deploy errors in expressions and schemas: unknown functions, bad references, bad schemas."""

from __future__ import annotations

import pytest
from fix_compiler import app_doc, chain, deploy_errors, graph, register_catalog


@pytest.fixture(autouse=True)
def _catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    register_catalog(monkeypatch)


def test_unknown_pipe_function_in_maps() -> None:
    doc = chain("a1", a1={"job": {"maps": {"x": {"@pipe": [["{@math.nope}", 1]]}}}})
    err = deploy_errors(app_doc(doc))
    assert err.value == "app.graphs[0].activities.a1.job.maps.x.@pipe[0][0]"
    assert "unknown @pipe function 'math.nope'" in str(err)


def test_unknown_pipe_function_in_a_transition_condition() -> None:
    doc = chain("a1")
    actual = {"@pipe": [["{t1.output.data.a}"], ["{@string.nope}"]]}
    condition = {"match": [{"expected": True, "actual": actual}]}
    doc["transitions"]["t1"] = [{"to": "a1", "conditions": condition}]
    err = deploy_errors(app_doc(doc))
    assert "transitions.t1[0].conditions.match[0].actual" in err.value
    assert "'string.nope'" in str(err)


def test_pipe_function_without_namespace() -> None:
    err = deploy_errors(app_doc(chain("a1", a1={"sleep": "{@now}"})))
    assert err.value == "app.graphs[0].activities.a1.sleep"


def test_known_function_passes_when_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    from hotmesh.engine import pipe
    from hotmesh.engine.compiler import compile_app

    doc = app_doc(chain("a1", a1={"sleep": "{@custom.fn}"}))
    assert "custom.fn" in deploy_errors(doc).message
    monkeypatch.setitem(pipe.FUNCTIONS, "custom.fn", lambda: 1)
    assert compile_app(doc).activity("a1").config["sleep"] == "{@custom.fn}"


def test_reference_to_unknown_activity() -> None:
    doc = chain("a1", a1={"job": {"maps": {"x": "{ghost.output.data.x}"}}})
    err = deploy_errors(app_doc(doc))
    assert err.value == "app.graphs[0].activities.a1.job.maps.x"
    assert "unknown activity 'ghost'" in str(err)


def test_reference_to_activity_of_another_graph() -> None:
    other = graph("g.two", activities={"t2": {"type": "trigger"}})
    doc = chain("a1", a1={"job": {"maps": {"x": "{t2.output.data.x}"}}})
    err = deploy_errors(app_doc(doc, other))
    assert "'t2', an activity of another graph (app.graphs[1])" in str(err)


@pytest.mark.parametrize("cell", ["{}", "{a1..x}", "{a1.output.}"])
def test_malformed_reference(cell: str) -> None:
    err = deploy_errors(app_doc(chain("a1", a1={"job": {"maps": {"x": cell}}})))
    assert err.value == "app.graphs[0].activities.a1.job.maps.x"
    assert "malformed reference" in str(err)


def test_hook_rule_actual_must_read_the_signal() -> None:
    doc = chain("a1")
    match = [{"expected": "{$job.metadata.jid}", "actual": "{t1.output.data.id}"}]
    doc["hooks"] = {"h.topic": [{"to": "a1", "conditions": {"match": match}}]}
    err = deploy_errors(app_doc(doc))
    assert err.value == "app.graphs[0].hooks.h.topic[0].actual"
    assert "signal payload" in str(err)


def test_maps_must_be_a_mapping() -> None:
    err = deploy_errors(app_doc(chain("a1", a1={"job": {"maps": ["a", "b"]}})))
    assert err.value == "app.graphs[0].activities.a1.job.maps"


def test_bad_input_schema() -> None:
    err = deploy_errors(app_doc(graph(input={"schema": {"type": "objekt"}})))
    assert err.value.startswith("app.graphs[0].input.schema")
    assert "not a valid JSON Schema" in str(err)


def test_bad_activity_output_schema() -> None:
    doc = chain("a1", a1={"output": {"schema": {"properties": {"x": {"type": 5}}}}})
    err = deploy_errors(app_doc(doc))
    assert err.value.startswith("app.graphs[0].activities.a1.output.schema")


def test_json_object_literal_is_reported_not_silently_undefined() -> None:
    err = deploy_errors(app_doc(chain("a1", a1={"job": {"maps": {"x": '{"a": 1}'}}})))
    assert err.value == "app.graphs[0].activities.a1.job.maps.x"
    assert "refers to unknown activity" in str(err)


def test_strings_with_braces_inside_are_literals() -> None:
    from hotmesh.engine.compiler import compile_app

    doc = app_doc(chain("a1", a1={"job": {"maps": {"x": "hello {ghost}", "y": "{@ not a cell"}}}))
    assert compile_app(doc).activity("a1").job_maps == {"x": "hello {ghost}", "y": "{@ not a cell"}


def test_reference_to_a_broken_activity_is_not_reported_twice() -> None:
    doc = chain("a1", a1={"type": "emit"})
    doc["activities"]["a2"] = {"type": "hook", "job": {"maps": {"x": "{a1.output.data.x}"}}}
    doc["transitions"]["a1"] = [{"to": "a2"}]
    err = deploy_errors(app_doc(doc))
    assert [problem.node for problem in err.errors] == ["app.graphs[0].activities.a1.type"]
