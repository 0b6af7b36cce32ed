"""The §6 test apps compile, and compile into the plan their tests rely on."""

from __future__ import annotations

import pytest
from fix_compiler import APPS, register_catalog

from hotmesh.engine._diagnostics import ManifestError
from hotmesh.engine.compiler import compile_app
from hotmesh.engine.model import (
    AppManifest,
    AwaitActivity,
    CycleActivity,
    HookActivity,
    InterruptActivity,
    SignalActivity,
    TriggerActivity,
    WorkerActivity,
)

APP_FILES = sorted(path.name for path in APPS.glob("*.yaml"))


@pytest.fixture(autouse=True)
def _catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    register_catalog(monkeypatch)


def load(name: str) -> AppManifest:
    return compile_app(str(APPS / name))


def test_every_section_6_app_is_present() -> None:
    expected = {
        "test-app.yaml",
        *(f"abc-v{n}.yaml" for n in range(1, 10)),
        *(f"tree-v{n}.yaml" for n in range(1, 11)),
        *(f"def-v{n}.yaml" for n in range(1, 4)),
        "signal-v1.yaml",
        "hook-v1.yaml",
        "emit-v1.yaml",
        "cycle-v1.yaml",
        "cycle-v2.yaml",
        "awaiter-v1.yaml",
        "pending-v1.yaml",
        "calc-v1.yaml",
        "codec-test.yaml",
        "hook-timeout-v1.yaml",
        "hook-escalation-v1.yaml",
        "hook-escalation-v2.yaml",
        "retry-worker-test.yaml",
        "retry-backoff-test.yaml",
        "durable-v1.yaml",
    }
    assert expected <= set(APP_FILES)


@pytest.mark.parametrize("name", APP_FILES)
def test_app_compiles(name: str) -> None:
    app = load(name)
    stem = name.removesuffix(".yaml")
    assert app.id and app.version
    assert stem.startswith(app.id) or stem == f"{app.id}-v{app.version}"
    assert app.source == str(APPS / name)
    for graph in app.graphs:
        assert isinstance(graph.trigger_activity, TriggerActivity)
        assert app.subscriptions[graph.subscribes] == graph.trigger
        for activity in graph.activities.values():
            assert app.activity_graphs[activity.id] == graph.subscribes
            assert activity.location is not None


def test_test_app_resolves_refs_across_files() -> None:
    app = load("test-app.yaml")
    assert app.settings["some_boolean"] is True
    assert [g.subscribes for g in app.graphs] == [
        "order.approval.requested",
        "order.approval.price.requested",
        "order.scheduled",
        "order.finalize",
        "sleep.do",
    ]
    a2 = app.activity("a2")
    assert isinstance(a2, AwaitActivity)
    assert a2.input_maps == {
        "id": "{a1.output.data.id}",
        "price": "{a1.output.data.price}",
        "object_type": "{a1.output.data.object_type}",
    }
    # a JSON pointer into a shared schema file, itself a $ref two files deep
    scheduled = app.graph_for_topic("order.scheduled").input_schema
    assert scheduled is not None
    assert scheduled["properties"]["size"]["enum"] == ["sm", "md", "lg"]
    # locations name the file each node came from
    assert a2.location is not None
    assert a2.location.file is not None
    assert a2.location.file.endswith("order.approval.requested.yaml")


def test_test_app_graph_details() -> None:
    app = load("test-app.yaml")
    requested = app.graph_for_topic("order.approval.requested")
    assert (requested.publishes, requested.expire) == ("order.approval.responded", 120)
    # Finished jobs are kept a week unless the graph or the app says otherwise (issue 17).
    assert app.graph_for_topic("order.finalize").expire == 7 * 24 * 3600
    a1 = requested.trigger_activity
    assert a1.stats is not None
    assert a1.stats.id == {"@pipe": [["{a1.input.data.id}", "_caller"], ["{@string.concat}"]]}
    a3_condition = requested.transitions["a2"][0].conditions
    assert a3_condition is not None
    assert a3_condition.match[0].expected is True
    assert requested.job_produces == (
        "data/id",
        "data/price",
        "data/pricier",
        "data/priciest",
        "data/approvals/price",
        "data/approved",
    )
    a5 = app.graph_for_topic("order.approval.price.requested").trigger_activity
    assert a5.stats is not None
    assert [(m.measure, m.target) for m in a5.stats.measures][:2] == [
        ("sum", "{a5.input.data.price}"),
        ("avg", "{a5.input.data.price}"),
    ]
    assert a5.stats.key == "{a5.input.data.object_type}"


def test_test_app_hooks() -> None:
    app = load("test-app.yaml")
    route = app.hook_target("order.routed")
    assert route.id == "route"
    assert route.hook_topic == "order.routed"
    rule = app.hook_rules["order.routed"][0]
    assert (rule.expected, rule.actual) == ("{schedule.output.data.id}", "{$self.hook.data.id}")
    # the rule's expected side reads schedule's output, so schedule must store it
    assert "output/data/id" in app.activity("schedule").produces
    assert route.produces == ("hook/data/actual_release_series", "hook/data/facility")
    fulfill = app.activity("fulfill")
    assert isinstance(fulfill, HookActivity)
    assert fulfill.hook_topic is None
    assert fulfill.ancestors == ("schedule", "route")
    sleeper = app.activity("mysleeper")
    assert isinstance(sleeper, HookActivity)
    assert sleeper.sleep == "{$job.data.duration}"
    assert sleeper.consumes == {"$job": ("data/duration",)}


def test_abc_versions_shapes() -> None:
    shapes = {
        1: {},
        2: {"t1": ("a1",)},
        4: {"t1": ("a1",)},
        6: {"t1": ("a1", "a2")},
        7: {"t1": ("a1",), "a1": ("a2",)},
    }
    for version, edges in shapes.items():
        graph = load(f"abc-v{version}.yaml").graph_for_topic("abc.test")
        assert {src: graph.children_of(src) for src in graph.transitions} == edges
    assert isinstance(load("abc-v4.yaml").activity("a1"), WorkerActivity)
    v3 = load("abc-v3.yaml")
    assert v3.graph_for_topic("tests.b").trigger == "t2"
    assert load("abc-v8.yaml").activity("a2").consumes == {
        "a2": ("output/data/y",),
        "t2": ("output/data/awaitInput1",),
    }


def test_abc_v5_matches_the_trace() -> None:
    app = load("abc-v5.yaml")
    graph = app.graph_for_topic("abc.test")
    assert graph.expire == 7 * 24 * 3600  # the default retention (issue 17)
    assert app.activity("t1").produces == ("output/data/a",)
    assert app.activity("a1").produces == ("output/data/y",)
    assert graph.job_produces == ("data/b",)
    a1 = app.activity("a1")
    assert isinstance(a1, WorkerActivity)
    assert (a1.topic, a1.subtype) == ("work.do", "work.do")


def test_abc_v9_conditions() -> None:
    graph = load("abc-v9.yaml").graph_for_topic("abc.test")
    assert graph.expire == 120
    (edge,) = graph.transitions["t1"]
    assert edge.conditions is not None
    assert edge.conditions.gate == "and"
    assert len(edge.conditions.match) == 2
    assert [m.expected for m in edge.conditions.match] == [False, False]


def test_tree_shapes() -> None:
    v3 = load("tree-v3.yaml").graph_for_topic("spring")
    assert v3.activity("pollinate").ancestors == ("tree", "graft", "water")
    v2 = load("tree-v2.yaml").graph_for_topic("spring")
    assert v2.activity("fertilize").depth == 6
    v5 = load("tree-v5.yaml")
    assert all(isinstance(v5.activity(n), WorkerActivity) for n in ("shine", "prune"))
    assert load("tree-v4.yaml").graph_for_topic("spring").job_produces == (
        "data/seed",
        "data/speed",
        "data/height",
    )
    assert load("tree-v8.yaml").graph_for_topic("fall").trigger == "t2"
    # the YAML anchor `&now` is shared by all five hooks
    v1 = load("tree-v1.yaml")
    now = {"@pipe": [["{@date.now}", "en-US"], ["{@date.toLocaleString}"]]}
    assert v1.activity("shine").job_maps == {"shine": now}
    assert v1.activity("water").job_maps == {"water": now}


def test_tree_v9_v10_interrupts() -> None:
    v9 = load("tree-v9.yaml")
    shine = v9.activity("shine")
    assert isinstance(shine, InterruptActivity)
    assert (shine.target, shine.throw, shine.code) == (None, "{tree.output.data.throw}", 410)
    v10 = load("tree-v10.yaml")
    stoppy = v10.activity("stoppy")
    assert isinstance(stoppy, InterruptActivity)
    assert (stoppy.topic, stoppy.target) == ("morning", "{starty.output.data.workflowId}")
    assert v10.graph_of("bush").publishes == "night"
    assert [g.subscribes for g in v10.graphs] == ["spring", "winter", "morning"]


def test_def_status_codes() -> None:
    v1 = load("def-v1.yaml").graph_for_topic("def.test")
    assert v1.transitions["a1"][0].unconditional
    v2 = load("def-v2.yaml")
    # `code: 422` beside `to:` is ignored: the transition keeps the default code 200
    a422 = v2.graph_for_topic("def.test").transitions["a1"][1]
    assert a422.conditions is not None
    assert a422.conditions.codes == ("200",)
    assert {w.node for w in v2.warnings} >= {
        "app.graphs[0].transitions.a1[1].code",
        "app.graphs[0].activities.a1.job.422",
    }
    v3 = load("def-v3.yaml").graph_for_topic("def.test")
    codes = {e.to: e.conditions.codes for e in v3.transitions["a1"] if e.conditions}
    assert codes == {"a200": ("200",), "a202": ("202",), "a422": ("422",)}


def test_signal_app() -> None:
    app = load("signal-v1.yaml")
    assert len(app.graphs) == 4
    signaler = app.activity("signaler")
    assert isinstance(signaler, SignalActivity)
    assert (signaler.subtype, signaler.topic, signaler.key_name) == (
        "all",
        "hook.resume",
        "parent_job_id",
    )
    assert signaler.resolver_maps == {
        "data": {"parent_job_id": "{$job.metadata.jid}"},
        "scrub": True,
    }
    assert signaler.signal_maps == {"done": True}
    one = app.activity("onesignaler")
    assert isinstance(one, SignalActivity)
    assert (one.subtype, one.status, one.code) == ("one", "pending", 202)
    assert app.activity("hookTrigger").emit is True
    assert app.activity("hook202").emit is True
    waiting = app.hook_target("waitForSignaler.doPleaseResume")
    assert waiting.status_threshold == "{toggleTrigger.output.data.statusThreshold}"
    assert app.hook_target("hook.resume").id == "hookSignaler"
    stats = app.graph_of("hookTrigger").trigger_activity.stats
    assert stats is not None
    assert stats.granularity == "infinity"


def test_hook_and_emit_apps() -> None:
    hook = load("hook-v1.yaml")
    assert hook.hook_target("hook.resume").produces == ("hook/data/done",)
    emit = load("emit-v1.yaml")
    assert emit.activity("w1").emit is True
    a1 = emit.activity("a1")
    assert isinstance(a1, HookActivity)
    assert a1.sleep == 5


@pytest.mark.parametrize("version", [1, 2])
def test_cycle_apps_mark_the_pivot(version: int) -> None:
    app = load(f"cycle-v{version}.yaml")
    c1 = app.activity("c1")
    assert isinstance(c1, CycleActivity)
    assert c1.ancestor == "a1"
    assert app.activity("a1").cycle is True  # declared in v1, derived in v2
    assert app.activity("t1").cycle is False


def test_awaiter_and_pending() -> None:
    app = load("awaiter-v1.yaml")
    a1 = app.activity("a1")
    assert isinstance(a1, AwaitActivity)
    assert a1.await_result == "{t1.output.data.do_await}"
    assert a1.produces == ("output/data/job_id", "output/data/some_data")
    pending = load("pending-v1.yaml")
    assert pending.graph_for_topic("pending.test").children_of("t1") == ("w1",)


def test_calc_retry_policy() -> None:
    app = load("calc-v1.yaml")
    executor = app.activity("executor")
    assert isinstance(executor, WorkerActivity)
    assert executor.retry is not None
    assert dict(executor.retry.per_code) == {"404": 2, "500": 3}
    assert executor.retry.retries_for(500) == 3
    assert executor.retry.has_backoff is False
    # a graph topic and a worker topic may be equal: different namespaces
    assert executor.topic == app.graph_of("receiver").subscribes == "calculation.execute"


def test_retry_policy_apps() -> None:
    worker = load("retry-worker-test.yaml").activity("a1")
    assert worker.retry is not None
    assert worker.retry.retries_for("500") == 5
    backoff = load("retry-backoff-test.yaml").activity("a1").retry
    assert backoff is not None
    assert backoff.backoff is not None
    assert (backoff.backoff.maximum_attempts, backoff.backoff.backoff_coefficient) == (5, 2.0)
    assert backoff.backoff.maximum_interval == 30.0


def test_hook_timeout_and_escalation() -> None:
    app = load("hook-timeout-v1.yaml")
    assert app.hook_target("hook.timeout.resume").sleep == 10
    assert app.hook_target("hook.dynamic.resume").sleep == {
        "@pipe": [["{dynamic_trigger.output.data.timeout}"]]
    }
    escalated = load("hook-escalation-v1.yaml").hook_target("hook-escalation.approve")
    assert escalated.escalation is not None
    assert escalated.escalation["metadata"] == {
        "orderId": "{t1.output.data.orderId}",
        "region": "{t1.output.data.region}",
    }
    assert load("hook-escalation-v2.yaml").hook_target("hook-escalation.approve").escalation is None


def test_durable_app() -> None:
    app = load("durable-v1.yaml")
    worker = app.activity("worker")
    assert isinstance(worker, WorkerActivity)
    assert worker.subtype is None  # dynamic topic
    assert worker.emit == "{$job.data.done}"
    assert app.activity("cycle_hook").cycle is True
    # `name[-]` job keys produce no job data path
    assert not any("idempotentcy" in path for path in app.graph_of("worker").job_produces)
    waiter = app.hook_target("durable.wfs.signal")
    assert waiter.consumes["worker"] == ("output/data/signalId",)
    assert app.activity("childer").config["await"] == "{worker.output.data.await}"


def test_codec_app() -> None:
    app = load("codec-test.yaml")
    assert (app.id, app.graphs[0].publishes, app.graphs[0].expire) == (
        "codec-test",
        "codec.done",
        60,
    )


def test_app_expire_is_the_default_retention_of_its_graphs() -> None:
    text = """
app:
  id: r
  version: '1'
  expire: 3600
  graphs:
    - subscribes: r.a
      activities: {t: {type: trigger}}
    - subscribes: r.b
      expire: 60
      activities: {u: {type: trigger}}
"""
    app = compile_app(text)
    assert app.graph_for_topic("r.a").expire == 3600
    assert app.graph_for_topic("r.b").expire == 60


def test_app_expire_must_be_whole_seconds() -> None:
    graphs = "[{subscribes: r.a, activities: {t: {type: trigger}}}]"
    text = f"app: {{id: r, version: '1', expire: soon, graphs: {graphs}}}"
    with pytest.raises(ManifestError, match=r"app\.expire: must be a whole number of seconds"):
        compile_app(text)
