"""Router lifecycle in the mesh: a clean stop leaves nothing behind; backpressure."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from hotmesh import HotMesh, WorkerMessage
from hotmesh.engine.steps import ENGINE_STREAM
from hotmesh.mesh.router import Router
from hotmesh.mesh.worker import ENGINE_BACKPRESSURE_DEPTH
from hotmesh.spi import Backend, OutgoingMessage, StreamMessage
from hotmesh_conformance.harness import BackendFactory, assert_eventually
from tests.mesh._cluster import app_version


def with_app_name(dsn: str, name: str) -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}application_name={name}"


async def connections(backend: Backend, name: str) -> int:
    driver: Any = backend.driver  # type: ignore[attr-defined]
    return int(
        await driver.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name
        )
    )


async def test_stop_waits_for_callbacks_leaves_quorum_and_releases_everything(
    backends: BackendFactory, hotmesh_provider: str, hotmesh_dsn: str, app_id: str
) -> None:
    admin = await backends.open(app_id=app_id)
    name = f"hm-stop-{uuid.uuid4().hex[:8]}"
    connection = {"class": hotmesh_provider, "options": {"dsn": with_app_name(hotmesh_dsn, name)}}
    entered, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def slow(message: WorkerMessage) -> dict[str, Any]:
        entered.set()
        await release.wait()
        finished.append(str(message.data["id"]))
        return {"data": {"pid": 1}}

    other = await HotMesh.init(
        app_id=app_id, engine={"connection": {"class": hotmesh_provider,
                                              "options": {"dsn": hotmesh_dsn}}, "readonly": True}
    )  # fmt: skip
    before = asyncio.all_tasks()
    hm = await HotMesh.init(
        app_id=app_id,
        engine={"connection": connection},
        workers=[{"topic": "mesh.work", "callback": slow, "connection": connection}],
    )
    try:
        assert await connections(admin, name) > 0
        assert hm.workers[0].router.backpressure == (ENGINE_STREAM, ENGINE_BACKPRESSURE_DEPTH)
        await hm.deploy(app_version(app_id, "1"))
        await hm.activate("1")
        assert hm.guid in {p.guid for p in await other.roll_call()}
        await hm.pub("mesh.start", {"id": "s1"})
        await asyncio.wait_for(entered.wait(), 10)

        stopping = asyncio.create_task(hm.stop(timeout=10))
        await asyncio.sleep(0.3)  # stop is waiting for the callback (nothing to poll here)
        assert not stopping.done()
        release.set()
        await asyncio.wait_for(stopping, 10)
        assert finished == ["s1"]  # the in-flight callback finished, it was not cancelled

        left = asyncio.all_tasks() - before - {asyncio.current_task()}
        assert not left, left
        await assert_eventually(lambda: connections(admin, name), lambda n: n == 0, timeout=5)
        assert hm.guid not in {p.guid for p in await other.roll_call()}
    finally:
        await hm.stop()
        await other.stop()


async def test_stop_cancels_callbacks_after_the_timeout(backend: Backend) -> None:
    entered = asyncio.Event()

    async def forever(_message: StreamMessage) -> None:
        entered.set()
        await asyncio.Event().wait()

    router = Router(backend.stream, "w", forever, lease=5, poll_interval=0.2)
    await router.start()
    await backend.stream.publish([OutgoingMessage("w", {"n": 1})])
    await asyncio.wait_for(entered.wait(), 10)
    started = time.monotonic()
    await router.stop(timeout=0.3)
    assert time.monotonic() - started < 2
    depth = (await backend.stream.depth(["w"]))["w"]
    assert depth.in_flight == 1  # not acked: its lease lapses and another consumer takes it


async def test_backpressure_stops_claiming_while_the_engine_stream_is_deep(
    backend: Backend,
) -> None:
    got: list[int] = []
    arrived = asyncio.Event()

    async def handle(message: StreamMessage) -> None:
        got.append(int(message.payload["n"]))
        arrived.set()

    await backend.stream.publish([OutgoingMessage("deep", {"n": i}) for i in range(20)])
    await backend.stream.publish([OutgoingMessage("w", {"n": i}) for i in range(3)])
    router = Router(backend.stream, "w", handle, poll_interval=0.2, backpressure=("deep", 10))
    async with router:
        await assert_eventually(lambda: _true(router.pressured), timeout=5)
        with contextlib.suppress(TimeoutError):  # several checks: nothing is claimed
            await asyncio.wait_for(arrived.wait(), 0.8)
        assert got == []
        await backend.stream.purge("deep")
        await assert_eventually(lambda: _value(sorted(got)), lambda g: g == [0, 1, 2], timeout=5)
        assert not router.pressured


async def _true(value: bool) -> bool:
    return value


async def _value(value: list[int]) -> list[int]:
    return value
