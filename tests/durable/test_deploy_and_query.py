"""Version drift (durable.md §1.4), search fields through handle.query (D8), export."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from hotmesh import HotMesh
from hotmesh.durable import Client, Worker
from hotmesh.durable import workflow as wf
from hotmesh.durable._graph import APP_VERSION, graph_yaml
from hotmesh.errors import JobNotFound


async def noop() -> str:
    await wf.sleep(0.1)
    return "ok"


async def test_an_older_deployed_version_is_replaced(connection: dict[str, Any]) -> None:
    namespace = f"drift-{uuid.uuid4().hex[:8]}"
    old = str(int(APP_VERSION) - 1)
    raw = await HotMesh.init(app_id=namespace, engine={"connection": connection})
    try:
        await raw.deploy(
            graph_yaml(namespace).replace(f"version: '{APP_VERSION}'", f"version: '{old}'")
        )
        await raw.activate(old)
        assert await raw.active_version() == old
        client = Client(connection, namespace=namespace)
        await Worker.create(
            connection=connection, task_queue="drift", workflow=noop, namespace=namespace
        )
        assert await raw.active_version() == APP_VERSION
        assert await client.workflow.execute(noop, task_queue="drift", timeout=30) == "ok"
    finally:
        await raw.stop()
        from hotmesh import durable

        await durable.shutdown()


async def test_query_reads_search_fields_and_export_lists_the_history(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await Worker.create(connection=connection, task_queue=queue, workflow=noop)
    handle = await client.workflow.start(
        noop, task_queue=queue, search={"fred": "flintstone", "barney": "rubble"}
    )
    assert await handle.result(timeout=30) == "ok"
    assert await handle.query("fred", "barney", "wilma") == {
        "fred": "flintstone",
        "barney": "rubble",
        "wilma": None,
    }
    exported = await handle.export()
    assert exported["data"] == {"fred": "flintstone", "barney": "rubble"}
    assert [entry["key"] for entry in exported["timeline"]] == ["-sleep-0-"]
    assert exported["state"]["data"]["done"] is True and exported["status"] == "0"
    # Finished workflows stay inspectable (retention is days, not a second).
    assert (await handle.state())["response"] == "ok" and await handle.status() == 0


async def test_expire_sets_how_long_a_finished_workflow_stays(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await Worker.create(connection=connection, task_queue=queue, workflow=noop)
    handle = await client.workflow.start(noop, task_queue=queue, expire=1)
    assert await handle.result(timeout=30) == "ok"
    for _ in range(600):
        try:
            await handle.state()
        except JobNotFound:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the finished workflow never expired")


async def documents() -> dict[str, Any]:
    s = await wf.search()
    new = await s.set({"custom1": "durable", "custom2": 55})
    await wf.sleep(0.1)  # the next turn replays every operation above from the history
    counter = await s.incr("counter", 11)
    multer = await s.mult("multer", 12)
    multer = await s.mult("multer", 10)
    await wf.enrich({"jimbo": "jones"})
    values = await s.mget("custom1", "custom2", "jimbo", "nope")
    e = await wf.entity()
    await e.set({"user": {"name": "Ada"}, "tags": []})
    await e.merge({"user": {"age": 36}})
    await e.append("tags", "b")
    await e.prepend("tags", "a")
    await e.increment("metrics.count", 2)
    await wf.sleep(0.1)
    flag = await e.toggle("metrics.flag")
    kept = await e.set_if_not_exists("user.name", "Bob")
    await e.delete("user.age")
    return {
        "new": new,
        "counter": counter,
        "multer": multer,
        "values": values,
        "flag": flag,
        "kept": kept,
        "entity": await e.get(),
        "name": await e.get("user.name"),
    }


async def test_search_fields_and_entity_document(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await Worker.create(connection=connection, task_queue=queue, workflow=documents)
    handle = await client.workflow.start(documents, task_queue=queue, search={"fred": "flint"})
    result = await handle.result(timeout=30)
    assert result == {
        "new": 2,
        "counter": 11.0,
        "multer": 120.0,
        "values": ["durable", "55", "jones", ""],
        "flag": True,
        "kept": "Ada",
        "entity": {
            "user": {"name": "Ada"},
            "tags": ["a", "b"],
            "metrics": {"count": 2, "flag": True},
        },
        "name": "Ada",
    }
    assert await handle.query("fred", "custom2", "counter", "multer") == {
        "fred": "flint",
        "custom2": "55",
        "counter": "11",
        "multer": "120",
    }
    assert (await handle.state())["entity"]["metrics"] == {"count": 2, "flag": True}
