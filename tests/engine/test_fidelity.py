"""Issue 14: behaviours matched to the reference (emit, error codes, sub topics, JobNotFound),
on both providers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import HotMesh, WorkerMessage
from hotmesh.errors import ConfigError, JobNotFound
from hotmesh.types import JobOutput
from tests.engine._app_files import eventually
from tests.engine.conftest import MeshFactory, app_yaml
from tests.engine.test_seed import SEED as ORDER_SEED
from tests.engine.test_seed import process

# A child that emits its interim state after w1, then waits for a signal; a parent that
# awaits it and routes the pending (202) and final (200) results to different activities.
EMIT = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: child.start
      publishes: child.done
      expire: 60
      activities:
        ct:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
        w1:
          type: worker
          topic: child.work
          emit: true
          job:
            maps:
              progress: '{w1.output.data.progress}'
        h1:
          type: hook
          job:
            maps:
              done: true
      transitions:
        ct:
          - to: w1
        w1:
          - to: h1
      hooks:
        child.finish:
          - to: h1
            conditions:
              match:
                - expected: '{$job.metadata.jid}'
                  actual: '{$self.hook.data.id}'
    - subscribes: parent.start
      expire: 60
      activities:
        pt:
          type: trigger
        c1:
          type: await
          topic: child.start
          input:
            maps:
              id: '{pt.output.data.child}'
        p202:
          type: hook
          job:
            maps:
              interim: '{c1.output.data.progress}'
              interim_done: '{c1.output.data.done}'
        p200:
          type: hook
          job:
            maps:
              final: '{c1.output.data.done}'
      transitions:
        pt:
          - to: c1
        c1:
          - to: p202
            conditions:
              code: 202
          - to: p200
            conditions:
              code: 200
"""


async def work(message: WorkerMessage) -> dict[str, Any]:
    return {"data": {"progress": 50}}


async def emit_mesh(mesh: MeshFactory, app_id: str) -> HotMesh:
    hm = await mesh([("child.work", work)])
    await hm.deploy(app_yaml(EMIT, app_id))
    await hm.activate("1")
    return hm


async def test_emit_resolves_pubsub_with_the_interim_state(mesh: MeshFactory, app_id: str) -> None:
    hm = await emit_mesh(mesh, app_id)
    interim = await hm.pubsub("child.start", {"id": f"c-{app_id}"}, timeout=10)
    assert interim.job_id == f"c-{app_id}"
    assert interim.metadata["js"] > 0  # the job still runs (h1 waits)
    assert interim.data == {"progress": 50}  # h1's `done` is not there yet
    assert await hm.get_status(interim.job_id) > 0
    await hm.signal("child.finish", {"id": interim.job_id})

    async def done() -> bool:
        return await hm.get_status(interim.job_id) == 0

    await eventually(done, timeout=10)
    state = await hm.get_state("child.start", interim.job_id)
    assert state.data == {"progress": 50, "done": True}


async def test_emit_reaches_an_awaiting_parent_as_pending(mesh: MeshFactory, app_id: str) -> None:
    hm = await emit_mesh(mesh, app_id)
    child = f"c-{app_id}"
    parent = await hm.pub("parent.start", {"child": child})

    async def pending_seen() -> JobOutput | None:
        state = await hm.get_state("parent.start", parent)
        return state if "interim" in state.data else None

    state = await eventually(pending_seen, timeout=10)
    # the 202 transition fired with the child's data so far; the 200 one has not
    assert state.data == {"interim": 50}
    assert await hm.get_status(parent) > 0
    await hm.signal("child.finish", {"id": child})

    async def final_seen() -> JobOutput | None:
        state = await hm.get_state("parent.start", parent)
        return state if "final" in state.data else None

    state = await eventually(final_seen, timeout=10)
    assert state.data == {"interim": 50, "final": True}
    assert await hm.get_status(parent) == 0


# -- error responses carry their code ---------------------------------------------------------

CODES = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: pay.start
      expire: 60
      activities:
        t1:
          type: trigger
        a1:
          type: worker
          topic: pay.charge
        a402:
          type: hook
          job:
            maps:
              err: '{a1.output.metadata.err}'
              code:
                '@pipe':
                  - ['{a1.output.metadata.err}']
                  - ['{@json.parse}', 'code']
                  - ['{@object.get}']
              message:
                '@pipe':
                  - ['{a1.output.metadata.err}']
                  - ['{@json.parse}', 'message']
                  - ['{@object.get}']
      transitions:
        t1:
          - to: a1
        a1:
          - to: a402
            conditions:
              code: 402
"""


async def test_error_output_carries_its_code(mesh: MeshFactory, app_id: str) -> None:
    async def charge(message: WorkerMessage) -> dict[str, Any]:
        # no `code` in the data: the response's code fills it in
        return {"status": "error", "code": 402, "data": {"reason": "card", "message": "declined"}}

    hm = await mesh([("pay.charge", charge)])
    await hm.deploy(app_yaml(CODES, app_id))
    await hm.activate("1")
    out = await hm.pubsub("pay.start", {}, timeout=10)
    assert out.data["code"] == 402 and out.data["message"] == "declined"
    # the reference's key order: message, code, then the rest
    assert out.data["err"] == '{"message":"declined","code":402,"reason":"card"}'
    assert "err" not in out.metadata  # a402 handled it


async def test_job_error_keys_in_reference_order(mesh: MeshFactory, app_id: str) -> None:
    async def charge(message: WorkerMessage) -> dict[str, Any]:
        return {"status": "error", "code": 403, "data": {"code": 403, "message": "no"}}

    hm = await mesh([("pay.charge", charge)])
    await hm.deploy(app_yaml(CODES.replace("code: 402", "code: 499"), app_id))
    await hm.activate("1")
    jid = await hm.pub("pay.start", {})

    async def failed() -> str | None:
        state = await hm.get_state("pay.start", jid)
        return state.metadata.get("err")  # type: ignore[no-any-return]

    err = await eventually(failed, timeout=10)
    assert err == '{"message":"no","code":403,"is_stream_error":true}'


# -- sub/psub topics --------------------------------------------------------------------------

# the seed app publishing `order.fulfilled`, and a second graph whose topic extends it
SEED = (
    ORDER_SEED.replace("order.done", "order.fulfilled")
    + """
    - subscribes: order.placed.express
      publishes: order.fulfilled.express
      expire: 60
      activities:
        x1:
          type: trigger
      transitions: {}
"""
)


async def test_sub_topic_receives_every_job_of_the_graph(mesh: MeshFactory, app_id: str) -> None:
    hm = await mesh([("order.process", process)])
    await hm.deploy(app_yaml(SEED, app_id))
    await hm.activate("1")
    every: list[tuple[str, str]] = []
    one: list[tuple[str, str]] = []
    pattern: list[tuple[str, str]] = []
    both = asyncio.Event()

    def on_every(topic: str, output: JobOutput) -> None:
        every.append((topic, output.job_id))
        if len(every) == 2:
            both.set()

    await hm.sub("order.fulfilled", on_every)
    await hm.sub("order.fulfilled.O-2", lambda t, o: one.append((t, o.job_id)))
    await hm.psub("order.fulfilled.*", lambda t, o: pattern.append((t, o.job_id)))
    express = await hm.pubsub("order.placed.express", {}, timeout=10)  # another graph
    await hm.pub("order.placed", {"id": "O-1"})
    await hm.pub("order.placed", {"id": "O-2"})
    await asyncio.wait_for(both.wait(), 10)
    # the callback's first argument is the graph's `publishes` topic, not the channel
    assert sorted(every) == [("order.fulfilled", "O-1"), ("order.fulfilled", "O-2")]

    async def delivered() -> bool:
        return len(one) == 1 and len(pattern) == 3

    await eventually(delivered, timeout=10)
    assert one == [("order.fulfilled", "O-2")]
    assert sorted(pattern) == sorted(
        [*every, ("order.fulfilled.express", express.job_id)]
    )  # a glob hears every channel it matches, each with its publishes topic
    await hm.unsub("order.fulfilled")
    await hm.pubsub("order.placed", {"id": "O-3"}, timeout=10)
    assert len(every) == 2


# -- JobNotFound --------------------------------------------------------------------------------


async def test_job_not_found_messages_start_with_job(mesh: MeshFactory, app_id: str) -> None:
    hm = await mesh([("order.process", process)])
    await hm.deploy(app_yaml(SEED, app_id))
    await hm.activate("1")
    calls = [
        hm.get_status("nope"),
        hm.get_state("order.placed", "nope"),
        hm.export("nope"),
        hm.interrupt("order.placed", "nope"),
    ]
    for call in calls:
        with pytest.raises(JobNotFound) as caught:
            await call
        assert str(caught.value).startswith("Job nope ")
        assert caught.value.value == "nope"
    done = await hm.pubsub("order.placed", {"id": "O-9"}, timeout=10)
    with pytest.raises(JobNotFound, match=r"^Job O-9 is not running"):
        await hm.interrupt("order.placed", done.job_id)


def test_job_not_found_default_message() -> None:
    assert str(JobNotFound(value="H1")) == "Job H1 not found"


# -- export options, get_raw, get_query_state, add, mdn -------------------------------------


async def test_export_options_and_started_at(mesh: MeshFactory, app_id: str) -> None:
    hm = await mesh([("order.process", process)])
    await hm.deploy(app_yaml(SEED, app_id))
    await hm.activate("1")
    out = await hm.pubsub("order.placed", {"id": "E-1"}, timeout=10)
    plain = await hm.export(out.job_id)
    assert [a["name"] for a in plain.activities] == ["t1", "w1"]  # by start time
    for entry in plain.activities:
        assert entry["started_at"].endswith("Z") and entry["completed_at"] >= entry["started_at"]
        assert entry["duration_ms"] >= 0 and entry["error"] is None and "input" not in entry
    assert plain.activities[1]["output"] == {"orderId": "E-1", "status": "fulfilled"}
    enriched = await hm.export(out.job_id, enrich_inputs=True)
    assert enriched.activities[1]["input"] == {"id": "E-1"}
    allowed = await hm.export(out.job_id, allow=["status", "activities"], block=["activities"])
    assert allowed.to_dict() == {"status": "0"}
    assert allowed.process == {} and allowed.activities == []
    shape = await hm.export(out.job_id, values=False)
    assert shape.process["data"] == {} and shape.process["metadata"]["jid"] == "E-1"
    assert shape.process["0"]["0"]["w1"]["output"]["data"] == {}
    assert all(a["output"] == {} for a in shape.activities)
    with pytest.raises(ConfigError, match="'timeline'"):
        await hm.export(out.job_id, allow=["timeline"])


async def test_get_raw_and_get_query_state(mesh: MeshFactory, app_id: str) -> None:
    hm = await mesh([("order.process", process)])
    await hm.deploy(app_yaml(SEED, app_id))
    await hm.activate("1")
    extended = {"search": {"color": "red", "size": 3}, "marker": {"-vip-": True}}
    jid = await hm.pub("order.placed", {"id": "Q-1"}, extended=extended)

    async def done() -> bool:
        return await hm.get_status(jid) == 0

    await eventually(done, timeout=10)
    raw = await hm.get_raw(jid)
    assert raw[":"] == 0 and raw["_color"] == "red" and raw["-vip-"] == "true"
    assert raw["meta"]["jid"] == "Q-1"
    fields = await hm.get_query_state(jid, ["color", "size", '"-vip-"', "nope"])
    assert fields == {"color": "red", "size": "3", "-vip-": "true", "nope": None}
    with pytest.raises(JobNotFound, match=r"^Job nope not found"):
        await hm.get_raw("nope")


DEF_V3 = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: def.test
      expire: 120
      activities:
        t1:
          type: trigger
        a1:
          type: worker
          topic: work.do
          job:
            maps:
              percentage: '{$self.output.data.percentage}'
        a202:
          type: hook
          job:
            maps:
              interim: '{a1.output.data.percentage}'
        a200:
          type: hook
          job:
            maps:
              final: '{a1.output.data.percentage}'
      transitions:
        t1:
          - to: a1
        a1:
          - to: a202
            conditions:
              code: 202
          - to: a200
            conditions:
              code: 200
"""


async def test_add_sends_a_later_answer_after_a_pending_one(mesh: MeshFactory, app_id: str) -> None:
    """§6.5 def v3: the worker answers 202; its 200 answer comes later through ``add``."""
    asked: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def work(message: WorkerMessage) -> dict[str, Any]:
        asked.put_nowait(dict(message.metadata))
        return {"status": "pending", "code": 202, "data": {"percentage": 49}}

    hm = await mesh([("work.do", work)])
    await hm.deploy(app_yaml(DEF_V3, app_id))
    await hm.activate("1")
    waiting = asyncio.create_task(hm.pubsub("def.test", {}, timeout=10))
    metadata = await asyncio.wait_for(asked.get(), 10)
    jid = str(metadata["jid"])

    async def interim() -> bool:
        return "interim" in (await hm.get_state("def.test", jid)).data

    await eventually(interim, timeout=10)
    answer = {"metadata": metadata, "status": "success", "data": {"percentage": 99}}
    assert isinstance(await hm.add(answer), int)
    out = await waiting
    assert out.data == {"percentage": 99, "interim": 49, "final": 99}
    assert out.metadata["js"] == 0
    with pytest.raises(ConfigError, match="jid"):
        await hm.add({"metadata": {}, "data": {}})


async def test_mdn_stats_report_the_median(mesh: MeshFactory, app_id: str) -> None:
    app = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: sale.made
      activities:
        t1:
          type: trigger
          stats:
            key: shop
            measures:
              - measure: mdn
                target: '{t1.input.data.price}'
"""
    hm = await mesh()
    await hm.deploy(app_yaml(app, app_id))
    await hm.activate("1")
    for price in (8, 1, 4, 1, "n/a"):  # a value that is no number is not counted
        await hm.pub("sale.made", {"price": price})
    stats = await hm.get_stats("sale.made", {"range": "1h", "end": "NOW"})
    assert stats["count"] == 5
    assert stats["measures"] == [{"target": "mdn:price", "type": "mdn", "value": 2.5}]
    [busy] = [seg for seg in stats["segments"] if seg["count"]]
    assert busy["measures"] == stats["measures"]
