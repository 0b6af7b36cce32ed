"""§6.11 ``pending``, ``pub``'s ``extended`` argument (§1.4) and ``statusThreshold`` (2.9.3).

The pending job expires after 1 s here (the spec's test uses 2 s).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import HotMesh, WorkerMessage
from hotmesh.errors import ConfigError, JobNotFound
from hotmesh_conformance.harness import assert_eventually
from tests.engine._apps import Collector, app_text
from tests.engine.conftest import MeshFactory, app_yaml

THRESHOLD_APP = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: threshold.test
      publishes: threshold.tested
      expire: 120
      activities:
        t1:
          type: trigger
          entity: '{$self.input.data.kind}'
          job:
            maps:
              done: false
        w1:
          type: worker
          topic: threshold.work
          statusThreshold: '{t1.output.data.threshold}'
          job:
            maps:
              done: true
      transitions:
        t1:
          - to: w1
    - subscribes: threshold.chain
      publishes: threshold.chained
      expire: 120
      activities:
        c1:
          type: trigger
        c2:
          type: worker
          topic: threshold.work
          job:
            maps:
              first: true
        c3:
          type: worker
          topic: threshold.work
          statusThreshold: '{c1.output.data.threshold}'
          job:
            maps:
              second: true
      transitions:
        c1:
          - to: c2
        c2:
          - to: c3
"""


async def started(mesh: MeshFactory, text: str, workers: Any = ()) -> HotMesh:
    hm = await mesh(workers)
    await hm.deploy(text)
    assert await hm.activate("1")
    return hm


def recorder(calls: list[dict[str, Any]]) -> Any:
    async def work(message: WorkerMessage) -> dict[str, Any]:
        calls.append(dict(message.data))
        return {"data": {}}

    return work


async def stored(hm: HotMesh, job_id: str) -> dict[str, Any]:
    job = await hm._store().get_job(job_id)
    assert job is not None
    return dict(job.state)


# -- §6.11 pending ------------------------------------------------------------------------------


async def test_pending_job_never_starts_and_expires(mesh: MeshFactory, app_id: str) -> None:
    calls: list[dict[str, Any]] = []
    hm = await started(
        mesh, app_text("pending-v1", app_id), [("pending.test.worker", recorder(calls))]
    )
    jid = await hm.pub("pending.test", {}, None, {"pending": 1})
    assert jid
    seen = await Collector().attach(hm, f"pending.tested.{jid}")
    assert await hm.get_status(jid) == -1
    state = await hm.get_state("pending.test", jid)
    assert state.data == {"done": False} and state.metadata["js"] == -1
    await asyncio.sleep(0.3)
    assert await hm.get_status(jid) == -1  # still pending: nothing ran, nothing expired
    assert calls == [] and seen.outputs == []

    async def gone() -> bool:
        try:
            await hm.get_status(jid)
        except JobNotFound:
            return True
        return False

    await assert_eventually(gone, timeout=5, interval=0.1)
    assert calls == [] and seen.outputs == []  # expired silently: no completion published


async def test_pending_rejects_bad_seconds(mesh: MeshFactory, app_id: str) -> None:
    hm = await started(mesh, app_text("pending-v1", app_id))
    for bad in (0, -1, "soon"):
        with pytest.raises(ConfigError):
            await hm.pub("pending.test", {}, None, {"pending": bad})
    with pytest.raises(ConfigError):
        await hm.pub("pending.test", {}, None, {"resume": True})


# -- §1.4 search, marker, entity -------------------------------------------------------------


async def test_search_and_marker_fields(mesh: MeshFactory, app_id: str) -> None:
    hm = await started(mesh, app_text("pending-v1", app_id))
    jid = await hm.pub(
        "pending.test",
        {},
        None,
        {
            "search": {"region": "eu", "count": 5, "vip": True},
            "marker": {"-flagged-": 1, "plain": "dropped"},
            "pending": 60,
        },
    )
    state = await stored(hm, jid)
    assert state["_region"] == "eu" and state["_count"] == "5" and state["_vip"] == "true"
    assert state["-flagged-"] == "1"
    assert "plain" not in state and "_plain" not in state and "-plain" not in state
    # search fields and markers are not job data
    output = await hm.get_state("pending.test", jid)
    assert output.data == {"done": False}


async def test_entity_from_trigger_and_override(mesh: MeshFactory, app_id: str) -> None:
    hm = await started(mesh, app_yaml(THRESHOLD_APP, app_id), [("threshold.work", recorder([]))])
    out = await hm.pubsub("threshold.test", {"kind": "order"}, timeout=10)
    assert out.metadata["entity"] == "order"
    jid = await hm.pub("threshold.test", {"kind": "order"}, None, {"entity": "invoice"})
    state = await hm.get_state("threshold.test", jid)
    assert state.metadata["entity"] == "invoice"
    plain = await hm.pubsub("threshold.test", {}, timeout=10)
    assert "entity" not in plain.metadata


# -- 2.9.3 statusThreshold -------------------------------------------------------------------


async def test_threshold_declined_worker_closes_job(mesh: MeshFactory, app_id: str) -> None:
    """The job's one obligation is w1 itself: with threshold 1 it never dispatches."""
    calls: list[dict[str, Any]] = []
    hm = await started(mesh, app_yaml(THRESHOLD_APP, app_id), [("threshold.work", recorder(calls))])
    out = await hm.pubsub("threshold.test", {"threshold": 1}, timeout=10)
    assert out.data == {"done": False} and out.metadata["js"] == 0
    exported = await hm.export(out.job_id)
    assert [a["name"] for a in exported.activities] == ["t1"]  # w1 left no record
    await asyncio.sleep(0.2)
    assert calls == []


@pytest.mark.parametrize("threshold", [0, "not a number", None])
async def test_threshold_not_positive_runs(mesh: MeshFactory, app_id: str, threshold: Any) -> None:
    calls: list[dict[str, Any]] = []
    hm = await started(mesh, app_yaml(THRESHOLD_APP, app_id), [("threshold.work", recorder(calls))])
    out = await hm.pubsub("threshold.test", {"threshold": threshold}, timeout=10)
    assert out.data == {"done": True} and out.metadata["js"] == 0
    assert len(calls) == 1


async def test_threshold_above_semaphore_waits(mesh: MeshFactory, app_id: str) -> None:
    """signal.toggle with statusThreshold 0 behaves as without one: the hook waits."""
    hm = await started(mesh, app_text("signal-v1", app_id))
    seen = await Collector().attach(hm, "signal.toggled.abc789")
    await hm.pub("signal.toggle", {"jobId": "abc789", "statusThreshold": 0})
    assert await hm.get_status("abc789") == 1
    await hm.signal("waitForSignaler.doPleaseResume", {"id": "abc789", "done": True})
    await seen.wait_for(lambda outs: bool(seen.final()), timeout=5)
    assert seen.final()[-1].data["done"] is True
    assert await hm.get_status("abc789") == 0


async def test_threshold_after_a_response(mesh: MeshFactory, app_id: str) -> None:
    """c3 starts inside c2's response step: it sees the job's semaphore after that step."""
    calls: list[dict[str, Any]] = []
    hm = await started(mesh, app_yaml(THRESHOLD_APP, app_id), [("threshold.work", recorder(calls))])
    out = await hm.pubsub("threshold.chain", {"threshold": 1}, timeout=10)
    assert out.data == {"first": True} and out.metadata["js"] == 0
    assert len(calls) == 1
    out = await hm.pubsub("threshold.chain", {"threshold": 0}, timeout=10)
    assert out.data == {"first": True, "second": True}
    assert len(calls) == 3
