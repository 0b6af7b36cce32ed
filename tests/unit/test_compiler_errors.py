"""Every deploy error: its class, and that the message and ``value`` name the bad node."""

from __future__ import annotations

from typing import Any

import pytest
from fix_compiler import app_doc, chain, deploy_errors, graph, messages, register_catalog

from hotmesh.engine.compiler import ManifestError
from hotmesh.errors import DeployError, HotMeshError


@pytest.fixture(autouse=True)
def _catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    register_catalog(monkeypatch)


def test_error_is_a_deploy_error_with_a_code() -> None:
    err = deploy_errors({"app": {"version": "1", "graphs": [graph()]}})
    assert isinstance(err, DeployError)
    assert isinstance(err, HotMeshError)
    assert err.code == DeployError.code


def test_bad_yaml_names_line_and_column() -> None:
    err = deploy_errors("app:\n  id: x\n  version: [1, 2\n  graphs: []\n")
    assert err.value.startswith("<yaml>:")
    line, column = (int(part) for part in err.value.split(":")[1:3])
    assert line == 4
    assert column >= 1
    assert "invalid YAML" in str(err)
    assert err.errors[0].location is not None
    assert err.errors[0].location.line == 4


def test_missing_app_id() -> None:
    err = deploy_errors({"app": {"version": "1", "graphs": [graph()]}})
    assert err.value == "app.id"
    assert "app.id" in str(err)


def test_missing_app_version() -> None:
    err = deploy_errors({"app": {"id": "x", "graphs": [graph()]}})
    assert err.value == "app.version"


def test_numeric_version_is_accepted_as_text() -> None:
    from hotmesh.engine.compiler import compile_app

    assert compile_app({"app": {"id": "x", "version": 7, "graphs": [graph()]}}).version == "7"


@pytest.mark.parametrize("graphs", [None, [], "nope"])
def test_missing_or_empty_graphs(graphs: Any) -> None:
    doc: dict[str, Any] = {"app": {"id": "x", "version": "1"}}
    if graphs is not None:
        doc["app"]["graphs"] = graphs
    err = deploy_errors(doc)
    assert err.value == "app.graphs"


def test_manifest_without_app_block() -> None:
    err = deploy_errors("graphs: []\n")
    assert err.value == "app"


def test_graph_without_trigger() -> None:
    err = deploy_errors(app_doc(graph("no.trigger", activities={"a1": {"type": "hook"}})))
    assert err.value == "app.graphs[0]"
    assert "'no.trigger' has no activity of type 'trigger'" in str(err)


def test_graph_with_two_triggers_names_both() -> None:
    doc = app_doc(graph(activities={"t1": {"type": "trigger"}, "t2": {"type": "trigger"}}))
    err = deploy_errors(doc)
    assert err.value == "app.graphs[0]"
    assert "'t1'" in str(err)
    assert "'t2'" in str(err)


def test_duplicate_activity_id_across_graphs() -> None:
    doc = app_doc(graph("g.one"), graph("g.two"))
    err = deploy_errors(doc)
    assert err.value == "app.graphs[1].activities.t1"
    assert "duplicate activity id 't1'" in str(err)


def test_duplicate_activity_id_inside_one_graph_yaml() -> None:
    text = (
        "app:\n  id: x\n  version: '1'\n  graphs:\n    - subscribes: g\n      activities:\n"
        "        t1: {type: trigger}\n        a1: {type: hook}\n        a1: {type: hook}\n"
    )
    err = deploy_errors(text)
    assert err.value == "a1"
    assert "duplicate key 'a1'" in str(err)
    assert err.errors[0].location is not None
    assert err.errors[0].location.line == 9


@pytest.mark.parametrize("kind", ["emit", "activityy", "Trigger"])
def test_unknown_activity_type(kind: str) -> None:
    err = deploy_errors(
        app_doc(graph(activities={"t1": {"type": "trigger"}, "a1": {"type": kind}}))
    )
    assert err.value == "app.graphs[0].activities.a1.type"
    assert f"unknown activity type {kind!r}" in str(err)


def test_activity_without_type() -> None:
    err = deploy_errors(app_doc(graph(activities={"t1": {"type": "trigger"}, "a1": {}})))
    assert err.value == "app.graphs[0].activities.a1"
    assert "has no 'type'" in str(err)


def test_transition_to_missing_activity() -> None:
    doc = app_doc(graph(transitions={"t1": [{"to": "ghost"}]}))
    err = deploy_errors(doc)
    assert err.value == "app.graphs[0].transitions.t1[0].to"
    assert "'ghost'" in str(err)


def test_transition_from_missing_activity() -> None:
    doc = app_doc(graph(transitions={"ghost": [{"to": "t1"}]}))
    err = deploy_errors(doc)
    assert err.value == "app.graphs[0].transitions.ghost[0]"
    assert "missing activity 'ghost'" in str(err)


def test_transition_entry_without_to() -> None:
    err = deploy_errors(app_doc(graph(transitions={"t1": [{"conditions": {}}]})))
    assert err.value == "app.graphs[0].transitions.t1[0]"


def test_transition_back_to_the_trigger() -> None:
    doc = chain("a1")
    doc["transitions"]["a1"] = [{"to": "t1"}]
    err = deploy_errors(app_doc(doc))
    assert err.value == "app.graphs[0].transitions.a1[0].to"
    assert "trigger 't1' cannot be a transition target" in str(err)


def test_activity_with_two_parents() -> None:
    doc = chain("a1", "a2")
    doc["transitions"]["t1"].append({"to": "a2"})
    err = deploy_errors(app_doc(doc))
    # t1's edges are read first, so a1 -> a2 is the second claim on a2
    assert err.value == "app.graphs[0].transitions.a1[0].to"
    assert "'a2' has two parents ('t1' and 'a1')" in str(err)


def test_same_transition_declared_twice() -> None:
    doc = chain("a1")
    doc["transitions"]["t1"].append({"to": "a1"})
    err = deploy_errors(app_doc(doc))
    assert "declared twice" in str(err)


def test_transition_loop_needs_a_cycle_activity() -> None:
    doc = chain("a1")
    doc["activities"].update({"b1": {"type": "hook"}, "b2": {"type": "hook"}})
    doc["transitions"].update({"b1": [{"to": "b2"}], "b2": [{"to": "b1"}]})
    err = deploy_errors(app_doc(doc))
    assert err.value == "app.graphs[0].activities.b1"
    assert "loop" in str(err)


def test_hook_naming_missing_activity() -> None:
    rule = {"to": "ghost", "conditions": {"match": [{"expected": "x", "actual": "y"}]}}
    err = deploy_errors(app_doc(graph(hooks={"h.topic": [rule]})))
    assert err.value == "app.graphs[0].hooks.h.topic[0].to"
    assert "'ghost'" in str(err)


def test_hook_targeting_a_non_hook_activity() -> None:
    rule = {"to": "t1", "conditions": {"match": [{"expected": "x", "actual": "y"}]}}
    err = deploy_errors(app_doc(graph(hooks={"h.topic": [rule]})))
    assert "not a hook activity" in str(err)


def test_hook_rule_without_match() -> None:
    doc = chain("a1")
    doc["hooks"] = {"h.topic": [{"to": "a1"}]}
    err = deploy_errors(app_doc(doc))
    assert err.value == "app.graphs[0].hooks.h.topic[0]"
    assert "conditions.match" in str(err)


def test_hook_topic_declared_by_two_graphs() -> None:
    rule = {
        "to": "a1",
        "conditions": {"match": [{"expected": "x", "actual": "{$self.hook.data.id}"}]},
    }
    first = chain("a1")
    first["hooks"] = {"h.topic": [rule]}
    second = graph("g.two", activities={"t2": {"type": "trigger"}, "b1": {"type": "hook"}})
    second["transitions"] = {"t2": [{"to": "b1"}]}
    second["hooks"] = {"h.topic": [{**rule, "to": "b1"}]}
    err = deploy_errors(app_doc(first, second))
    assert err.value == "app.graphs[1].hooks"
    assert "'h.topic' is already declared by app.graphs[0]" in str(err)


def test_duplicate_subscribes_across_graphs() -> None:
    second = graph("t.go", activities={"t2": {"type": "trigger"}})
    err = deploy_errors(app_doc(graph(), second))
    assert err.value == "app.graphs[1].subscribes"
    assert "'t.go' is already subscribed by app.graphs[0]" in str(err)


def test_graph_without_subscribes() -> None:
    err = deploy_errors(app_doc({"activities": {"t1": {"type": "trigger"}}}))
    assert err.value == "app.graphs[0]"
    assert "'subscribes'" in str(err)


def test_expire_must_be_whole_seconds() -> None:
    err = deploy_errors(app_doc(graph(expire="1h")))
    assert err.value == "app.graphs[0].expire"


def test_cycle_ancestor_must_be_an_ancestor() -> None:
    doc = chain("a1", "a2")
    doc["activities"]["c1"] = {"type": "cycle", "ancestor": "a2"}
    doc["transitions"]["a1"].append({"to": "c1"})
    err = deploy_errors(app_doc(doc))
    assert err.value == "app.graphs[0].activities.c1.ancestor"
    assert "'a2' is not one of its ancestors" in str(err)


def test_cycle_without_ancestor() -> None:
    doc = chain("a1")
    doc["activities"]["c1"] = {"type": "cycle"}
    doc["transitions"]["a1"] = [{"to": "c1"}]
    err = deploy_errors(app_doc(doc))
    assert err.value == "app.graphs[0].activities.c1"


def test_cycle_activity_cannot_have_transitions() -> None:
    doc = chain("a1", "a2")
    doc["activities"]["c1"] = {"type": "cycle", "ancestor": "a1"}
    doc["transitions"]["a2"] = [{"to": "c1"}]
    doc["activities"]["a3"] = {"type": "hook"}
    doc["transitions"]["c1"] = [{"to": "a3"}]
    err = deploy_errors(app_doc(doc))
    assert "cycle activity 'c1' cannot have transitions" in str(err)


@pytest.mark.parametrize("kind", ["worker", "await"])
def test_worker_and_await_need_a_topic(kind: str) -> None:
    err = deploy_errors(app_doc(chain("a1", a1={"type": kind})))
    assert err.value == "app.graphs[0].activities.a1"
    assert "'topic' is required" in str(err)


def test_await_static_topic_must_name_a_graph() -> None:
    err = deploy_errors(app_doc(chain("a1", a1={"type": "await", "topic": "nowhere"})))
    assert err.value == "app.graphs[0].activities.a1.topic"
    assert "'nowhere'" in str(err)


@pytest.mark.parametrize(
    ("conditions", "node"),
    [
        ({"code": "abc"}, "code"),
        ({"gate": "xor"}, "gate"),
        ({"match": [{"expected": 1}]}, "match[0]"),
    ],
)
def test_malformed_conditions(conditions: dict[str, Any], node: str) -> None:
    doc = chain("a1")
    doc["transitions"]["t1"] = [{"to": "a1", "conditions": conditions}]
    err = deploy_errors(app_doc(doc))
    assert err.value == f"app.graphs[0].transitions.t1[0].conditions.{node}"


@pytest.mark.parametrize(
    ("retry", "node"),
    [
        ({"500": "x"}, "500"),
        ({"maximumInterval": "soon"}, "maximumInterval"),
        ({"often": 1}, "often"),
    ],
)
def test_malformed_retry(retry: dict[str, Any], node: str) -> None:
    doc = chain("a1", a1={"type": "worker", "topic": "w", "retry": retry})
    err = deploy_errors(app_doc(doc))
    assert err.value == f"app.graphs[0].activities.a1.retry.{node}"


def test_signal_subtype_must_be_one_or_all() -> None:
    doc = chain("a1", a1={"type": "signal", "topic": "h", "subtype": "some"})
    assert deploy_errors(app_doc(doc)).value == "app.graphs[0].activities.a1.subtype"


def test_all_errors_are_reported_at_once() -> None:
    doc = chain("a1", a1={"type": "emit"})
    doc["transitions"]["t1"].append({"to": "ghost"})
    err = deploy_errors({"app": {"id": "x", "graphs": [doc]}})
    nodes = [problem.node for problem in err.errors]
    assert "app.version" in nodes
    assert "app.graphs[0].activities.a1.type" in nodes
    assert "app.graphs[0].transitions.t1[1].to" in nodes
    assert err.value == nodes[0]
    assert f"{len(nodes)} problems" in str(err)
    assert all(text in str(err) for text in messages(err))


def test_message_names_the_app() -> None:
    err = deploy_errors({"app": {"id": "my-app", "version": "1", "graphs": [{"activities": {}}]}})
    assert isinstance(err, ManifestError)
    assert "app 'my-app'" in str(err)


def test_bad_yaml_location_is_printed_once() -> None:
    err = deploy_errors("app:\n  id: x\n  version: [1, 2\n  graphs: []\n")
    assert str(err).count("<yaml>:4:") == 1, str(err)
