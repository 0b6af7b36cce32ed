"""Roll call, quorum messages and throttle across real OS processes sharing one Postgres."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from hotmesh import HotMesh
from hotmesh.errors import ConfigError
from hotmesh.mesh.quorum import QuorumProfile
from hotmesh_conformance.harness import assert_eventually
from tests.mesh._cluster import Cluster, app_version


def by_guid(profiles: list[QuorumProfile]) -> dict[tuple[str, str], QuorumProfile]:
    return {(p.guid, p.role): p for p in profiles}


async def test_roll_call_sees_every_process(cluster: Cluster, hm: HotMesh) -> None:
    members = await cluster.start(3)
    pongs: dict[str, float] = {}
    all_in = asyncio.Event()

    def on_quorum(_topic: str, message: dict[str, Any]) -> None:
        if message.get("type") == "pong":
            pongs[message["guid"]] = time.monotonic()
            if {m.guid for m in members} <= set(pongs):
                all_in.set()

    await hm.sub_quorum(on_quorum)
    started = time.monotonic()
    profiles = await hm.roll_call()
    elapsed = time.monotonic() - started
    await asyncio.wait_for(all_in.wait(), 1)
    answers = max(pongs[m.guid] for m in members) - started
    print(f"\nroll call, 3 processes: last answer after {answers * 1e3:.1f} ms, "
          f"roll_call() returned after {elapsed * 1e3:.1f} ms")  # fmt: skip

    found = by_guid(profiles)
    for member in members:
        engine, worker = found[(member.guid, "engine")], found[(member.guid, "worker")]
        assert engine.pid == worker.pid == member.pid
        assert worker.worker_topic == "mesh.work" and engine.worker_topic is None
        assert engine.app_id == hm.app_id and engine.throttle == 0 and not engine.readonly
        assert worker.system["total_memory_gb"] > 0 and "cpu_percent" in worker.system
        assert "'mesh.work'" in repr(worker)
    assert found[(hm.guid, "engine")].readonly
    assert len(profiles) == 7  # 3 x (engine + worker) + the test's own engine
    assert answers < 1.0

    # Counts and depth: run a job, the workers' counts add up and the streams are empty.
    await hm.deploy(app_version(hm.app_id, "1"))
    await hm.activate("1")
    result = await hm.pubsub("mesh.start", {"id": "count-1"}, timeout=20)
    assert result.data["s1"] == result.data["s2"] == "v1"
    # A worker counts a message once its handler returns; with direct answers the job
    # completes (and pubsub returns) inside that handler, a moment before it does.
    profiles = await assert_eventually(
        lambda: hm.roll_call(delay=0.3),
        lambda found: sum(p.processed for p in found if p.role == "worker") == 2,
    )
    assert all(p.stream_depth == 0 and p.failed == 0 for p in profiles)
    await hm.unsub_quorum(on_quorum)


async def test_quorum_user_messages(cluster: Cluster, hm: HotMesh) -> None:
    [member] = await cluster.start(1)
    connection = {"class": cluster.provider, "options": {"dsn": cluster.dsn}}
    other = await HotMesh.init(app_id=hm.app_id, workers=[
        {"topic": "side", "callback": _noop, "connection": connection}])  # fmt: skip
    try:
        heard: list[dict[str, Any]] = []
        arrived = asyncio.Event()

        def listen(_topic: str, message: dict[str, Any]) -> None:
            if message.get("type") == "user":
                heard.append(message)
                arrived.set()

        await other.sub_quorum(listen)
        assert await hm.pub_quorum({"hello": "mesh"}) is True
        await asyncio.wait_for(arrived.wait(), 5)
        assert heard == [{"type": "user", "hello": "mesh"}]
        arrived.clear()
        await hm.pub_quorum({"only": "you", "guid": other.guid})
        await asyncio.wait_for(arrived.wait(), 5)
        assert heard[-1]["only"] == "you"
        await other.unsub_quorum(listen)
        await hm.pub_quorum({"after": "unsub"})
        await hm.roll_call()  # a round trip: the message above was delivered by now
        assert len(heard) == 2
        with pytest.raises(ConfigError):
            await hm.pub_quorum("not a mapping")  # type: ignore[arg-type]
        assert (member.guid, "worker") in by_guid(await hm.roll_call())
    finally:
        await other.stop()


async def _noop(_message: Any) -> None:
    return None


async def test_throttle_pauses_and_resumes_every_process(cluster: Cluster, hm: HotMesh) -> None:
    members = await cluster.start(3)
    await hm.deploy(app_version(hm.app_id, "1"))
    await hm.activate("1")

    assert await hm.throttle(-1) is True
    profiles = await hm.roll_call()
    assert len(profiles) == 7  # 3 x (engine + worker) + the test's own read-only engine
    assert {p.throttle for p in profiles if not p.readonly} == {-1}

    # A member joining later applies the persisted pause before its first claim.
    [late] = await cluster.start(1)
    late_profiles = [p for p in await hm.roll_call() if p.guid == late.guid]
    assert [p.throttle for p in late_profiles] == [-1, -1]

    jobs = [await hm.pub("mesh.start", {"id": f"paused-{i}"}) for i in range(6)]
    everyone = [*members, late]
    started = [asyncio.create_task(m.wait_for(lambda ev: bool(ev) and ev[-1]["event"] == "start"))
               for m in everyone]  # fmt: skip
    done, _ = await asyncio.wait(started, timeout=1.5)  # a few poll intervals: nothing moves
    for task in started:
        task.cancel()
    await asyncio.gather(*started, return_exceptions=True)
    assert not done, "a paused member consumed a message"
    depths = await hm._any_backend().stream.depth(["$engine", "mesh.work"])
    assert sum(d.ready for d in depths.values()) == 6
    assert sum(d.in_flight for d in depths.values()) == 0
    assert all(status > 0 for status in await _statuses(hm, jobs))

    await hm.throttle(0)
    await assert_eventually(
        lambda: _statuses(hm, jobs), lambda s: s == [0] * 6, timeout=20, interval=0.1
    )
    profiles = await assert_eventually(
        hm.roll_call, lambda ps: sum(p.processed for p in ps if p.role == "worker") == 12
    )
    assert {p.throttle for p in profiles} == {0}


async def _statuses(hm: HotMesh, jobs: list[str]) -> list[int]:
    return [await hm.get_status(j) for j in jobs]


async def test_throttle_scopes_topic_and_guid(cluster: Cluster, hm: HotMesh) -> None:
    first, second = await cluster.start(2)
    await hm.throttle(0.25, topic="mesh.work")
    found = by_guid(await hm.roll_call())
    for member in (first, second):
        assert found[(member.guid, "worker")].throttle == 0.25
        assert found[(member.guid, "engine")].throttle == 0
    assert "throttle=0.25" in repr(found[(first.guid, "worker")])

    await hm.throttle(-1, guid=second.guid)
    found = by_guid(await hm.roll_call())
    assert found[(second.guid, "worker")].throttle == -1
    assert found[(second.guid, "engine")].throttle == -1
    assert found[(first.guid, "worker")].throttle == 0.25
    assert found[(first.guid, "engine")].throttle == 0

    # The most recent setting wins, live and for routers that start later.
    await hm.throttle(0)
    [late] = await cluster.start(1)
    found = by_guid(await hm.roll_call())
    assert {p.throttle for p in found.values()} == {0}
    assert (late.guid, "worker") in found

    with pytest.raises(ConfigError):
        await hm.throttle(-2)
    with pytest.raises(ConfigError):
        await hm.throttle("fast")  # type: ignore[arg-type]
