"""The in-memory provider's own promises (its SPI behaviour is the conformance suite's).

These tests touch no Postgres on purpose: they are about what only the memory provider
does (databases named in the options, shared by the HotMesh instances of one process).
"""

from __future__ import annotations

import uuid

import pytest

from hotmesh import HotMesh
from hotmesh.errors import ConfigError, JobNotFound
from hotmesh.plugins import provider_for
from hotmesh.spi import OutgoingMessage
from hotmesh_memory import MemoryProvider
from tests.engine.conftest import app_yaml
from tests.engine.test_seed import SEED, process


def memory(name: str) -> dict[str, object]:
    return {"class": "memory", "options": {"name": name}}


async def test_instances_naming_one_database_work_together() -> None:
    app_id, db = f"m{uuid.uuid4().hex[:10]}", f"db-{uuid.uuid4().hex[:8]}"
    engine = await HotMesh.init(app_id=app_id, engine={"connection": memory(db)})
    worker = await HotMesh.init(
        app_id=app_id,
        workers=[{"topic": "order.process", "connection": memory(db), "callback": process}],
    )
    client = await HotMesh.init(app_id=app_id, engine={"connection": memory(db), "readonly": True})
    stranger = await HotMesh.init(app_id=app_id, engine={"connection": memory(db + "-other")})
    try:
        await engine.deploy(app_yaml(SEED, app_id))
        await engine.activate("1")
        result = await client.pubsub("order.placed", {"id": "M-1"}, timeout=10)
        assert result.data == {"orderId": "M-1", "status": "fulfilled"}
        assert await engine.get_status("M-1") == 0
        with pytest.raises(JobNotFound):
            await stranger.get_status("M-1")  # another database shares nothing
    finally:
        for hm in (client, worker, engine, stranger):
            await hm.stop()


async def test_data_outlives_backends_until_dropped() -> None:
    db = f"db-{uuid.uuid4().hex[:8]}"
    first = await MemoryProvider.connect({"name": db}, app_id="a1")
    await first.stream.publish([OutgoingMessage("s", {"n": 1})])
    await first.close()
    again = await MemoryProvider.connect({"name": db}, app_id="a1")
    assert len(await again.stream.claim("s")) == 1, "a closed backend's data stays"
    assert MemoryProvider.drop(db) and not MemoryProvider.drop(db)
    fresh = await MemoryProvider.connect({"name": db}, app_id="a1")
    assert (await fresh.stream.depth(["s"]))["s"].total == 0
    await again.close()
    await fresh.close()


async def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="dsn"):
        await MemoryProvider.connect({"dsn": "postgresql:///x"}, app_id="a1")
    with pytest.raises(ConfigError, match="name"):
        await MemoryProvider.connect({"name": ""}, app_id="a1")
    with pytest.raises(ConfigError, match="app id"):
        await MemoryProvider.connect({}, app_id="")


def test_selected_by_name_module_or_class() -> None:
    import hotmesh_memory

    for selector in ("memory", hotmesh_memory, MemoryProvider):
        assert provider_for(selector) is MemoryProvider
    assert not MemoryProvider.accepts("asyncpg")
