"""The seed's order workflow: init → deploy → activate → pub → pubsub → stop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import WorkerMessage
from hotmesh.errors import DuplicateJob, JobNotFound, PubSubTimeout, TopicNotFound
from hotmesh.types import JobOutput
from hotmesh_conformance.profiles import DSN
from tests.engine.conftest import MeshFactory, app_yaml

SEED = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: order.placed
      publishes: order.done
      expire: 60
      activities:
        t1:
          type: trigger
          stats:
            id: '{t1.input.data.id}'
        w1:
          type: worker
          topic: order.process
          input:
            maps:
              id: '{t1.output.data.id}'
          job:
            maps:
              orderId: '{w1.output.data.orderId}'
              status: '{w1.output.data.status}'
      transitions:
        t1:
          - to: w1
"""


async def process(message: WorkerMessage) -> dict[str, Any]:
    return {
        "metadata": message.metadata,
        "data": {"orderId": message.data["id"], "status": "fulfilled"},
    }


async def test_seed_flow(mesh: MeshFactory, app_id: str) -> None:
    hm = await mesh([("order.process", process)])
    manifest = await hm.deploy(app_yaml(SEED, app_id))
    assert manifest.version == "1"
    assert await hm.activate("1") is True
    result = await hm.pubsub("order.placed", {"id": "ORD-456"}, timeout=10)
    assert result.data == {"orderId": "ORD-456", "status": "fulfilled"}
    assert result.metadata["jid"] == "ORD-456" and result.metadata["js"] == 0
    finished: dict[str, Any] = {}
    both = asyncio.Event()

    def on_done(topic: str, output: JobOutput) -> None:
        assert topic == "order.done"  # the graph's publishes topic, as the reference passes it
        if output.job_id in ("ORD-123", "ORD-789"):
            finished[output.job_id] = output
        if len(finished) == 2:
            both.set()

    await hm.psub("order.done.*", on_done)
    job_id = await hm.pub("order.placed", {"id": "ORD-123"})
    assert job_id == "ORD-123"
    await hm.pub("order.placed", {"id": "ORD-789"})
    await asyncio.wait_for(both.wait(), 10)
    assert set(finished) == {"ORD-123", "ORD-789"}
    assert finished["ORD-789"].data["status"] == "fulfilled"
    state = await hm.get_state("order.placed", "ORD-123")
    assert state.data == {"orderId": "ORD-123", "status": "fulfilled"}
    assert await hm.get_status("ORD-123") == 0
    export = await hm.export("ORD-123")
    assert export.status == "0"
    assert {a["name"] for a in export.activities} == {"t1", "w1"}


async def test_many_concurrent_jobs_complete_once(mesh: MeshFactory, app_id: str) -> None:
    calls: list[str] = []

    async def counted(message: WorkerMessage) -> dict[str, Any]:
        calls.append(message.data["id"])
        return await process(message)

    hm = await mesh([("order.process", counted)])
    await hm.deploy(app_yaml(SEED, app_id))
    await hm.activate("1")
    outputs = await asyncio.gather(
        *(hm.pubsub("order.placed", {"id": f"O{i}"}, timeout=30) for i in range(100))
    )
    assert sorted(o.data["orderId"] for o in outputs) == sorted(f"O{i}" for i in range(100))
    assert sorted(calls) == sorted(f"O{i}" for i in range(100)), "each callback ran once"


async def test_bad_input_is_a_typed_error(mesh: MeshFactory, app_id: str) -> None:
    hm = await mesh([("order.process", process)])
    await hm.deploy(app_yaml(SEED, app_id))
    await hm.activate("1")
    with pytest.raises(TopicNotFound):
        await hm.pub("no.such.topic", {})
    await hm.pub("order.placed", {"id": "dup"})
    with pytest.raises(DuplicateJob):
        await hm.pub("order.placed", {"id": "dup"})
    with pytest.raises(JobNotFound):
        await hm.get_status("never-created")


async def test_pubsub_timeout_leaves_the_job_running(mesh: MeshFactory, app_id: str) -> None:
    release = asyncio.Event()

    async def slow(message: WorkerMessage) -> dict[str, Any]:
        await release.wait()
        return await process(message)

    hm = await mesh([("order.process", slow)])
    await hm.deploy(app_yaml(SEED, app_id))
    await hm.activate("1")
    with pytest.raises(PubSubTimeout) as caught:
        await hm.pubsub("order.placed", {"id": "slow-1"}, timeout=0.3)
    assert isinstance(caught.value, TimeoutError) and caught.value.value == "slow-1"
    assert await hm.get_status("slow-1") == 1
    release.set()


async def test_workers_and_engine_in_separate_instances(mesh: MeshFactory, app_id: str) -> None:
    await mesh([("order.process", process)], engine=False)
    hm = await mesh()
    await hm.deploy(app_yaml(SEED, app_id))
    await hm.activate("1")
    result = await hm.pubsub("order.placed", {"id": "split-1"}, timeout=10)
    assert result.data["status"] == "fulfilled"


@pytest.mark.hotmesh_requires(DSN)  # mixes the two Postgres drivers on one database
async def test_per_role_connections(hotmesh_provider: str, hotmesh_dsn: str, app_id: str) -> None:
    from hotmesh import HotMesh

    other = "psycopg" if hotmesh_provider == "asyncpg" else "asyncpg"
    connection = {
        "store": {"class": hotmesh_provider, "options": {"dsn": hotmesh_dsn}},
        "stream": {"class": hotmesh_provider, "options": {"dsn": hotmesh_dsn, "max_size": 4}},
        "sub": {"class": other, "options": {"dsn": hotmesh_dsn}},
    }
    hm = await HotMesh.init(
        app_id=app_id,
        engine={"connection": connection},
        workers=[{"topic": "order.process", "connection": connection, "callback": process}],
    )
    try:
        await hm.deploy(app_yaml(SEED, app_id))
        await hm.activate("1")
        result = await hm.pubsub("order.placed", {"id": "roles-1"}, timeout=10)
        assert result.data["status"] == "fulfilled"
    finally:
        await hm.stop()


async def test_unsub_and_punsub_stop_delivery(mesh: MeshFactory, app_id: str) -> None:
    hm = await mesh([("order.process", process)])
    await hm.deploy(app_yaml(SEED, app_id))
    await hm.activate("1")
    dropped: list[str] = []
    kept: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    await hm.sub("order.done.U-1", lambda topic, out: dropped.append(topic))
    await hm.psub("order.done.*", lambda topic, out: dropped.append(topic))
    await hm.unsub("order.done.U-1")
    await hm.punsub("order.done.*")
    await hm.psub("order.*.U-1", lambda topic, out: kept.done() or kept.set_result(topic))
    await hm.pub("order.placed", {"id": "U-1"})
    assert await asyncio.wait_for(kept, 10) == "order.done"
    assert dropped == [], "unsubscribed callbacks must not be called"
