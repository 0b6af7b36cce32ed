"""What the compiler derives: tree, dimensions, consumes/produces, lookups, warnings."""

from __future__ import annotations

import logging

import pytest
from fix_compiler import APPS, app_doc, compile_yaml, graph, register_catalog

from hotmesh.engine.compiler import compile_app
from hotmesh.engine.model import ActivityRetry, Conditions, HookActivity, Transition
from hotmesh.errors import TopicNotFound
from hotmesh.spi import RetryPolicy


@pytest.fixture(autouse=True)
def _catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    register_catalog(monkeypatch)


LOOP = """
app:
  id: loop
  version: '1'
  graphs:
    - subscribes: loop.go
      activities:
        t1: {type: trigger}
        a1: {type: hook}
        w1:
          type: worker
          topic: count
          job: {maps: {counter: '{$self.output.data.counter}'}}
        c1: {type: cycle, ancestor: a1}
      transitions:
        t1: [{to: a1}]
        a1: [{to: w1}]
        w1: [{to: c1}]
"""


def test_tree_parents_ancestors_children() -> None:
    app = compile_yaml(LOOP)
    g = app.graph_for_topic("loop.go")
    assert g.trigger == "t1"
    assert [(a.id, a.parent, a.ancestors, a.children) for a in g.activities.values()] == [
        ("t1", None, (), ("a1",)),
        ("a1", "t1", ("t1",), ("w1",)),
        ("w1", "a1", ("t1", "a1"), ("c1",)),
        ("c1", "w1", ("t1", "a1", "w1"), ()),
    ]
    assert [a.depth for a in g.activities.values()] == [1, 2, 3, 4]


def test_cycle_target_is_marked_as_pivot() -> None:
    app = compile_yaml(LOOP)
    assert [a.id for a in app.graphs[0].activities.values() if a.cycle] == ["a1"]


def test_dimension_map_reads_ancestors_one_segment_up() -> None:
    g = compile_yaml(LOOP).graph_for_topic("loop.go")
    assert g.dimension_map("w1", ",0,3,0") == {
        "w1": ",0,3,0",
        "a1": ",0,3",
        "t1": ",0",
        "$ADJACENT": ",0,3,0,0",
    }
    assert g.dimension_map("t1", ",0") == {"t1": ",0", "$ADJACENT": ",0,0"}
    with pytest.raises(ValueError, match="depth 3"):
        g.dimension_map("w1", ",0,0")


def test_cycle_reentry_address() -> None:
    g = compile_yaml(LOOP).graph_for_topic("loop.go")
    # spec §2.6.6: a cycle at ,0,1,0,0 targeting a depth-2 ancestor re-enters at ,0,0
    assert g.reentry_dad("c1", ",0,1,0,0") == ",0,0"
    with pytest.raises(ValueError, match="not a cycle"):
        g.reentry_dad("w1", ",0,0,0")


def test_consumes_and_produces() -> None:
    app = compile_app(str(APPS / "abc-v7.yaml"))
    a2 = app.activity("a2")
    assert a2.consumes == {"a1": ("output/data/y",), "a2": ("output/data/o",)}
    # a1's y is read by a1 itself (job maps) and by a2 (input maps): stored once
    assert app.activity("a1").produces == ("output/data/y",)
    assert app.activity("a2").produces == ("output/data/o",)
    assert app.activity("t1").produces == ("output/data/a",)


def test_references_that_store_nothing() -> None:
    text = """
    app:
      id: x
      version: '1'
      graphs:
        - subscribes: x.go
          activities:
            t1:
              type: trigger
              stats: {id: '{t1.input.data.id}'}
              job: {maps: {jid: '{$job.metadata.jid}', item: '{$item.name}', g: '{$graph.x}'}}
    """
    t1 = compile_yaml(text).activity("t1")
    assert t1.consumes == {"$job": ("metadata/jid",)}
    assert t1.produces == ()


def test_job_produces_handles_indexed_and_nested_keys() -> None:
    doc = graph(
        activities={
            "t1": {
                "type": "trigger",
                "job": {
                    "maps": {
                        "a": {"b": 1, "c": {"@pipe": [[1]]}},
                        "list[3]": "{t1.output.data.x}",
                        "marks[-]": {"x": 1},
                        "search[_]": {"y": 1},
                    }
                },
            }
        }
    )
    g = compile_app(app_doc(doc)).graphs[0]
    assert g.job_produces == ("data/a/b", "data/a/c", "data/list/0", "data/list/1", "data/list/2")


def test_legacy_activity_type_is_a_hook() -> None:
    doc = graph(activities={"t1": {"type": "trigger"}, "a1": {"type": "activity"}})
    doc["transitions"] = {"t1": [{"to": "a1"}]}
    a1 = compile_app(app_doc(doc)).activity("a1")
    assert isinstance(a1, HookActivity)
    assert a1.type == "hook"


def test_conditions_are_normalised() -> None:
    doc = graph(
        activities={"t1": {"type": "trigger"}, "a1": {"type": "hook"}, "a2": {"type": "hook"}}
    )
    doc["transitions"] = {
        "t1": [
            {"to": "a1", "conditions": {"code": [202, "500"], "gate": "or"}},
            {"to": "a2"},
        ]
    }
    edges = compile_app(app_doc(doc)).graphs[0].transitions["t1"]
    assert edges[0] == Transition("a1", Conditions(codes=("202", "500"), gate="or"))
    assert edges[0].conditions is not None
    assert edges[0].conditions.accepts_code(500)
    assert not edges[0].conditions.accepts_code(None)
    assert edges[1].unconditional


def test_retry_backoff_durations() -> None:
    retry = {"maximumAttempts": 4, "maximumInterval": "2m", "initialInterval": "500ms"}
    doc = graph(
        activities={
            "t1": {"type": "trigger"},
            "w": {"type": "worker", "topic": "w", "retry": retry},
        }
    )
    doc["transitions"] = {"t1": [{"to": "w"}]}
    policy = compile_app(app_doc(doc)).activity("w").retry
    wanted = RetryPolicy(maximum_attempts=4, maximum_interval=120.0, initial_interval=0.5)
    assert policy == ActivityRetry(backoff=wanted)
    assert policy.has_backoff


def test_lookups() -> None:
    app = compile_app(str(APPS / "abc-v8.yaml"))
    assert app.graph_of("a2").subscribes == "some.other.topic"
    assert app.activity("a2").graph == "some.other.topic"
    with pytest.raises(TopicNotFound) as caught:
        app.graph_for_topic("nope")
    assert caught.value.value == "nope"
    with pytest.raises(TopicNotFound):
        app.hook_target("nope")
    with pytest.raises(KeyError):
        app.activity("nope")


def test_compiled_model_is_immutable() -> None:
    import attrs

    app = compile_app(str(APPS / "abc-v5.yaml"))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        app.graphs[0].activity("a1").parent = "x"  # type: ignore[misc]


def test_same_source_compiles_to_equal_manifests() -> None:
    first = compile_app(str(APPS / "signal-v1.yaml"))
    second = compile_app(str(APPS / "signal-v1.yaml"))
    assert first == second
    assert first != compile_app(str(APPS / "hook-v1.yaml"))


# -- warnings -----------------------------------------------------------------------------


def warned(text: str) -> dict[str, str]:
    return {w.node: w.message for w in compile_yaml(text).warnings}


SIBLINGS = """
app:
  id: w
  version: '1'
  graphs:
    - subscribes: w.go
      activities:
        t1: {type: trigger}
        a1: {type: hook}
        a2:
          type: hook
          job: {maps: {x: '{a1.output.data.x}', y: '{t1.input.data.y}', z: '{$job.data.nope}'}}
      transitions:
        t1: [{to: a1}, {to: a2}]
"""


def test_warns_on_reference_to_a_non_ancestor() -> None:
    found = warned(SIBLINGS)
    assert "not an ancestor of 'a2'" in found["app.graphs[0].activities.a2.job.maps.x"]


def test_warns_on_reference_to_another_activity_input() -> None:
    found = warned(SIBLINGS)
    assert "inputs are not stored" in found["app.graphs[0].activities.a2.job.maps.y"]


def test_warns_on_job_data_no_map_writes() -> None:
    found = warned(SIBLINGS)
    assert "'data/nope'" in found["app.graphs[0].activities.a2.job.maps.z"]


def test_warns_on_unreachable_activity_and_unknown_keys() -> None:
    text = """
    app:
      id: w
      version: '1'
      colour: blue
      graphs:
        - subscribes: w.go
          activities:
            t1: {type: trigger, flavour: x}
            lonely: {type: hook}
    """
    found = warned(text)
    assert "unreachable" in found["app.graphs[0].activities.lonely"]
    assert "unknown key 'flavour'" in found["app.graphs[0].activities.t1.flavour"]
    assert "unknown app key" in found["app.colour"]


def test_warns_on_ignored_activity_keys() -> None:
    text = """
    app:
      id: w
      version: '1'
      graphs:
        - subscribes: w.go
          activities:
            t1: {type: trigger, expire: 5}
            w1: {type: worker, topic: w, timeout: 30}
            i1: {type: interrupt, descend: true}
          transitions:
            t1: [{to: w1}]
            w1: [{to: i1}]
    """
    found = warned(text)
    assert "set by the compiler" in found["app.graphs[0].activities.t1.expire"]
    # A worker's timeout is honoured now (issue 17): no warning.
    assert "app.graphs[0].activities.w1.timeout" not in found
    assert "no effect" in found["app.graphs[0].activities.i1.descend"]


def test_warns_on_second_hook_rule_and_unhooked_signal_topic() -> None:
    text = """
    app:
      id: w
      version: '1'
      graphs:
        - subscribes: w.go
          activities:
            t1: {type: trigger}
            h1: {type: hook}
            h2: {type: hook}
            s1: {type: signal, topic: nobody.listens}
          transitions:
            t1: [{to: h1}, {to: h2}, {to: s1}]
          hooks:
            w.resume:
              - {to: h1, conditions: {match: [&id {expected: '{$job.metadata.jid}', actual: x}]}}
              - {to: h2, conditions: {match: [*id]}}
    """
    found = warned(text)
    assert "only the first rule" in found["app.graphs[0].hooks.w.resume[1].to"]
    assert "'nobody.listens'" in found["app.graphs[0].activities.s1.topic"]


MANY_KEYS = """
app:
  id: w
  version: '1'
  graphs:
    - subscribes: w.go
      activities:
        t1: {type: trigger}
        h1: {type: hook}
      transitions:
        t1: [{to: h1}]
      hooks:
        w.resume:
          - to: h1
            conditions: {match: [{expected: '{t1.output.data.id}', actual: '{$self.hook.data.id}'}]}
          - to: h1
            conditions: {match: [{expected: '{t1.output.data.wf}', actual: ACTUAL}]}
"""


def test_a_second_key_for_the_same_wait_is_not_warned_about() -> None:
    # One wait reachable under two keys (its id, its workflow): both rules do something.
    assert warned(MANY_KEYS.replace("ACTUAL", "'{$self.hook.data.id}'")) == {}


def test_a_further_rule_with_its_own_actual_is_warned_about() -> None:
    found = warned(MANY_KEYS.replace("ACTUAL", "'{$self.hook.data.other}'"))
    message = found["app.graphs[0].hooks.w.resume[1].to"]
    assert "only the first rule" in message and "is ignored" in message


def test_the_durable_graph_deploys_without_warnings() -> None:
    from hotmesh.durable._graph import graph_yaml

    assert warned(graph_yaml("durable")) == {}


def test_warnings_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hotmesh.engine.compiler"):
        compile_yaml(SIBLINGS)
    nodes = [getattr(record, "node", None) for record in caplog.records]
    assert "app.graphs[0].activities.a2.job.maps.x" in nodes
    assert all(getattr(record, "app_id", None) == "w" for record in caplog.records)


def test_clean_app_has_no_warnings() -> None:
    assert compile_app(str(APPS / "abc-v9.yaml")).warnings == ()
