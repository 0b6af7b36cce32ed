"""No blind retries: after a lost connection a statement runs again only when that is safe.

Seen before (issue 13, item 4): psycopg re-ran any statement once after an
``OperationalError``, asyncpg assumed a failed statement never reached the server; during
Postgres restarts ``pub`` raised ``DuplicateJob`` for new ids whose jobs had in fact been
created, and asyncpg reused connections whose protocol was broken ("cannot switch to state
12; another operation is in progress").
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fix_cut_proxy import CutProxy, cut_proxy

from hotmesh import HotMesh
from hotmesh.errors import DatabaseUnavailable
from hotmesh.spi import Backend, OutgoingMessage
from hotmesh_conformance.harness import BackendFactory, assert_eventually
from tests.fix_echo_app import echo_app


@pytest.fixture
async def proxy(hotmesh_dsn: str) -> AsyncIterator[CutProxy]:
    async with cut_proxy(hotmesh_dsn) as started:
        yield started


@pytest.fixture
async def proxied_mesh(hotmesh_provider: str, proxy: CutProxy) -> AsyncIterator[HotMesh]:
    """An engine connected through the proxy, with the echo app active (no worker)."""
    app_id = f"lost{uuid.uuid4().hex[:10]}"
    connection = {"class": hotmesh_provider, "options": {"dsn": proxy.dsn}}
    hm = await HotMesh.init(app_id=app_id, engine={"connection": connection})
    try:
        await hm.deploy(echo_app(app_id, "lost.test", "lost.work"))
        assert await hm.activate("1")
        yield hm
    finally:
        await hm.stop()


async def test_pub_whose_insert_committed_before_the_drop_returns_its_id(
    proxied_mesh: HotMesh, proxy: CutProxy
) -> None:
    job_id = f"lost-{uuid.uuid4().hex}"
    proxy.arm(job_id)
    assert await proxied_mesh.pub("lost.test", {"id": job_id}) == job_id
    assert proxy.cuts == 1, "the connection was not cut after the commit"
    assert await proxied_mesh.get_status(job_id) == 1
    state = await proxied_mesh.get_state("lost.test", job_id)
    assert state.metadata["jid"] == job_id


async def test_a_statement_not_safe_to_repeat_runs_once(
    backends: BackendFactory, proxy: CutProxy
) -> None:
    app_id = backends.new_app_id("lost")
    proxied = await backends.open(app_id=app_id, dsn=proxy.dsn)
    direct = await backends.open(app_id=app_id)
    marker = f"once-{uuid.uuid4().hex}"
    proxy.arm(marker)
    # No guid: nothing would drop a second copy, so it must not be published twice.
    with pytest.raises(DatabaseUnavailable) as info:
        await proxied.stream.publish([OutgoingMessage("s", {"marker": marker})])
    assert "may or may not have been applied" in str(info.value)
    assert proxy.cuts == 1
    claimed = await direct.stream.claim("s", limit=10)
    assert [m.payload for m in claimed] == [{"marker": marker}]
    # The proxied backend works again at once.
    await proxied.stream.publish([OutgoingMessage("s", {"after": True})])
    assert [m.payload for m in await direct.stream.claim("s", limit=10)] == [{"after": True}]


async def test_keyed_publish_is_retried(backends: BackendFactory, proxy: CutProxy) -> None:
    app_id = backends.new_app_id("lost")
    proxied = await backends.open(app_id=app_id, dsn=proxy.dsn)
    marker = f"keyed-{uuid.uuid4().hex}"
    proxy.arm(marker)
    ids = await proxied.stream.publish([OutgoingMessage("s", {"guid": marker})])
    assert len(ids) == 1
    assert proxy.cuts == 1


ALIVE = """
SELECT count(*) FROM pg_stat_activity
 WHERE pid = ANY($1::int[])
"""


async def _pool_pids(backend: Backend) -> list[int]:
    driver: Any = getattr(backend, "driver", None)
    assert driver is not None
    return [int(await driver.fetchval("SELECT pg_backend_pid()"))]


async def test_idle_connections_ended_by_the_server_are_replaced_without_a_false_outage(
    backends: BackendFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The server ends every idle pooled connection; the next statement — even one that is
    not safe to repeat — runs once on a new connection, with no broken protocol reused."""
    app_id = backends.new_app_id("lost")
    backend = await backends.open(app_id=app_id)
    await backend.stream.publish([OutgoingMessage("s", {"n": 0})])
    pids = await _pool_pids(backend)
    killer = await backends.open(app_id=app_id)
    killer_driver: Any = getattr(killer, "driver", None)
    assert killer_driver is not None
    await killer_driver.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM unnest($1::int[]) AS t(pid)", pids
    )
    await assert_eventually(
        lambda: killer_driver.fetchval(ALIVE, pids), lambda alive: alive == 0, timeout=10
    )
    caplog.set_level(logging.WARNING)
    for n in range(1, 4):
        await backend.stream.publish([OutgoingMessage("s", {"n": n})])
    claimed = await killer.stream.claim("s", limit=10)
    assert sorted(int(m.payload["n"]) for m in claimed) == [0, 1, 2, 3]
    broken = [r for r in caplog.records if "another operation" in r.getMessage()]
    assert broken == []
