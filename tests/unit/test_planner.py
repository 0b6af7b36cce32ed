"""The planner without a database: steps planned from an in-memory job record."""

from __future__ import annotations

from typing import Any

from hotmesh.engine.compiler import compile_app
from hotmesh.engine.effects import ExpireEscalation, ForgetHook, Interrupt, RegisterHook
from hotmesh.engine.messages import (
    ENGINE_STREAM,
    Response,
    Signal,
    StartChild,
    Timer,
    WorkerRequest,
    decode,
)
from hotmesh.engine.model import AppManifest
from hotmesh.engine.planner import MAX_INLINE_CYCLES, Planner, Start
from hotmesh.engine.state import META, activity_key
from hotmesh.engine.steps import Step
from hotmesh.spi import JobRecord


def app(activities: str, transitions: str, hooks: str = "") -> AppManifest:
    """A one-graph app (topic ``p.test``) from indented YAML snippets."""
    return compile_app(
        f"""
app:
  id: plan
  version: '1'
  graphs:
    - subscribes: p.test
      activities:
{activities}
      transitions:
{transitions}
{hooks}
"""
    )


WORKER_APP = app(
    """        t1: {type: trigger}
        w1:
          type: worker
          topic: work.do
          input: {maps: {x: '{t1.output.data.x}'}}
          output: {maps: {y: '{$self.output.data.y}'}}
          job: {maps: {y: '{$self.output.data.y}'}}
          retry: {'500': [2]}""",
    "        t1: [{to: w1}]",
)


def start(manifest: AppManifest, payload: dict[str, Any], job_id: str = "j1") -> Start:
    graph = manifest.graph_for_topic("p.test")
    return Planner().plan_start(manifest, graph, payload, {}, job_id)


def stored(begun: Start) -> JobRecord:
    """The job as the store would hold it after the start committed."""
    return JobRecord(begun.job_id, dict(begun.step.state), begun.semaphore)


def test_start_plans_the_trigger_and_the_first_worker_request() -> None:
    begun = start(WORKER_APP, {"x": 7})
    assert begun.job_id == "j1" and begun.semaphore == 1
    [message] = begun.step.messages
    assert message.stream == "work.do" and message.priority == 1
    request = WorkerRequest.decode(message.payload)
    assert request.data == {"x": 7} and request.aid == "w1" and request.dad == ",0,0"
    assert request.retry_rules == {"500": [2]}
    assert begun.step.state[META]["jid"] == "j1"
    assert begun.step.state[activity_key("w1", ",0,0")]["l1"] is True


def test_a_worker_answer_closes_the_activity_and_maps_job_data() -> None:
    begun = start(WORKER_APP, {"x": 1})
    job = stored(begun)
    request = WorkerRequest.decode(begun.step.messages[0].payload)
    answer = request.answer("success", 200, {"y": 2}, "m1")
    graph = WORKER_APP.graph_for_topic("p.test")
    planned = Planner().plan_event(graph, graph.activity("w1"), job, answer, str(answer.guid))
    assert planned is not None
    step, expect = planned.step, planned.expect
    assert step.semaphore == -1 and step.messages == [] and step.after == []
    assert step.state["d/y"] == 2
    record = step.state[activity_key("w1", ",0,0")]
    assert record["done"] is True and record["seen"] == [request.guid]
    assert list(expect.values()) == [None]  # the record's step counter, first bumped here


def test_a_duplicate_answer_plans_nothing() -> None:
    begun = start(WORKER_APP, {"x": 1})
    graph = WORKER_APP.graph_for_topic("p.test")
    answer = WorkerRequest.decode(begun.step.messages[0].payload).answer("success", 200, {}, "m")
    planned = Planner().plan_event(graph, graph.activity("w1"), stored(begun), answer, "e1")
    assert planned is not None
    step = planned.step
    after = JobRecord("j1", {**begun.step.state, **step.state}, 1)
    again = Planner().plan_event(graph, graph.activity("w1"), after, answer, "e1")
    assert again is None


def test_an_unhandled_error_answer_fails_the_job() -> None:
    begun = start(WORKER_APP, {"x": 1})
    graph = WORKER_APP.graph_for_topic("p.test")
    answer = Response(jid="j1", gid=None, aid="w1", dad=",0,0", guid="e", status="error",
                      code=500, data={"message": "boom"})  # fmt: skip
    planned = Planner().plan_event(graph, graph.activity("w1"), stored(begun), answer, "e")
    assert planned is not None
    step = planned.step
    assert step.error == {"message": "boom"}
    assert '"code":500' in step.state[META]["err"]


HOOK_APP = app(
    """        t1: {type: trigger}
        h1:
          type: hook
          sleep: 30
          escalation: {role: ops, type: approval}
        d1: {type: hook}""",
    "        t1: [{to: h1}]\n        h1: [{to: d1}]",
    """      hooks:
        p.resume: [{to: h1, conditions: {match: [{expected: '{t1.output.data.id}',
                                                  actual: '{$self.hook.data.id}'}]}}]""",
)


def test_a_hook_waits_on_a_timer_and_registers_its_key_after_commit() -> None:
    begun = start(HOOK_APP, {"id": "o1"})
    [message] = begun.step.messages
    timer = decode(message.payload)
    assert isinstance(timer, Timer) and message.delay == 30 and message.stream == ENGINE_STREAM
    kinds = [type(effect) for effect in begun.step.after]
    assert RegisterHook in kinds
    [register] = [e for e in begun.step.after if isinstance(e, RegisterHook)]
    assert register.key == "p.resume:o1" and register.target["aid"] == "h1"


def test_the_timer_winning_forgets_the_key_and_expires_the_escalation() -> None:
    begun = start(HOOK_APP, {"id": "o1"})
    graph = HOOK_APP.graph_for_topic("p.test")
    timer = decode(begun.step.messages[0].payload)
    planned = Planner().plan_event(graph, graph.activity("h1"), stored(begun), timer, "t")
    assert planned is not None
    after = planned.step.after
    assert after[:2] == [ForgetHook("p.resume:o1"), ExpireEscalation("o1")]


def test_a_final_signal_spends_the_key() -> None:
    begun = start(HOOK_APP, {"id": "o1"})
    graph = HOOK_APP.graph_for_topic("p.test")
    target = {"jid": "j1", "gid": begun.step.state[META]["gid"], "aid": "h1", "dad": ",0,0"}
    signal = Signal.new("p.resume", {"id": "o1"}).delivered(target, "p.resume:o1")
    planned = Planner().plan_event(graph, graph.activity("h1"), stored(begun), signal, "s")
    assert planned is not None
    step = planned.step
    assert step.after[-1] == ForgetHook("p.resume:o1")
    assert step.state[activity_key("h1", ",0,0")]["hook"] == {"data": {"id": "o1"}}


def test_an_interrupt_of_another_job_is_an_effect() -> None:
    manifest = app(
        """        t1: {type: trigger}
        i1: {type: interrupt, target: '{t1.output.data.other}', reason: stop}""",
        "        t1: [{to: i1}]",
    )
    begun = start(manifest, {"other": "j9"})
    assert begun.step.after == [
        Interrupt("j9", {"reason": "stop", "throw": True, "code": 410, "stack": None})
    ]


def test_an_await_asks_an_engine_to_start_the_child() -> None:
    manifest = compile_app(
        """
app:
  id: plan
  version: '1'
  graphs:
    - subscribes: p.test
      activities:
        t1: {type: trigger}
        a1: {type: await, topic: p.child, input: {maps: {n: 1}}}
      transitions:
        t1: [{to: a1}]
    - subscribes: p.child
      activities:
        c1: {type: trigger}
"""
    )
    begun = start(manifest, {})
    [message] = begun.step.messages
    child = decode(message.payload)
    assert isinstance(child, StartChild) and child.topic == "p.child" and child.data == {"n": 1}
    assert child.parent["pj"] == "j1" and child.parent["pa"] == "a1"
    assert message.job_id == "j1" and message.priority == 1


def test_a_status_threshold_declines_and_gives_up_the_job() -> None:
    manifest = app(
        """        t1: {type: trigger}
        w1: {type: worker, topic: work.do, statusThreshold: 1}""",
        "        t1: [{to: w1}]",
    )
    begun = start(manifest, {})
    assert begun.semaphore == 0 and begun.step.messages == []


def test_a_cycle_reenters_its_ancestor_inline_up_to_the_bound() -> None:
    manifest = app(
        """        t1: {type: trigger}
        h1: {type: hook, cycle: true}
        c1: {type: cycle, ancestor: h1}""",
        "        t1: [{to: h1}]\n        h1: [{to: c1}]",
    )
    begun = start(manifest, {})
    # A loop that never waits re-enters inline MAX_INLINE_CYCLES times, then once
    # through the stream (a cycle response to the ancestor).
    [message] = begun.step.messages
    again = decode(message.payload)
    assert isinstance(again, Response) and again.cycle and again.aid == "h1"
    passes = [k for k in begun.step.state if k.startswith("a/c1,")]
    assert len(passes) == MAX_INLINE_CYCLES + 1


def test_planning_needs_no_backend() -> None:
    """The planner holds no store, stream or loop: it is a plain object."""
    planner = Planner()
    assert vars(planner) == {}
    assert isinstance(start(WORKER_APP, {}).step, Step)
