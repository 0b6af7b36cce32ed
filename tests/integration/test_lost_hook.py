"""A hook registration cut off by a lost connection is registered again, never lost.

The engine registers a hook *after* the step that entered it committed (that step's
delivery is consumed), so a registration that died with its connection would leave the
job waiting forever on a hook nobody can find. The store tries again; a repeat is safe:
a try that finds its own hook row (an earlier try committed, its answer lost) returns
the parked signal the earlier try read, so that signal is not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fix_cut_proxy import CutProxy, cut_proxy

from hotmesh import HotMesh
from hotmesh_conformance.harness import BackendFactory, assert_eventually
from hotmesh_postgres.store import HOOK_ATTEMPTS
from tests.fix_echo_app import echo, echo_app


@pytest.fixture
async def proxy(hotmesh_dsn: str) -> AsyncIterator[CutProxy]:
    async with cut_proxy(hotmesh_dsn) as started:
        yield started


def target(job_id: str) -> dict[str, str]:
    return {"jid": job_id, "gid": f"g-{job_id}", "aid": "h1", "dad": ",0,1,0"}


async def test_a_registration_cut_mid_transaction_is_registered_again(
    backends: BackendFactory, proxy: CutProxy
) -> None:
    app_id = backends.new_app_id("lost")
    proxied = await backends.open(app_id=app_id, dsn=proxy.dsn)
    direct = await backends.open(app_id=app_id)
    key = f"sig:{uuid.uuid4().hex}"
    job_id = f"hooked-{uuid.uuid4().hex}"  # only the registration's row carries it
    signal = {"data": {"id": "early", "n": 1}}
    assert await direct.store.signal_hook(key, signal, ttl=60) is None  # parked first
    proxy.arm(job_id)
    parked = await proxied.store.register_hook(key, target(job_id), ttl=60)
    assert proxy.cuts == 1, "the registration's connection was not cut"
    assert parked == signal  # the parked signal survived the lost attempt
    # The hook is registered: a later signal finds it.
    assert await direct.store.signal_hook(key, {"data": {}}, ttl=60) == target(job_id)


async def test_a_try_repeated_after_its_commit_returns_the_signal_it_took(
    backends: BackendFactory,
) -> None:
    """The case a commit whose answer was lost creates: the repeat finds its own row and
    returns the signal the first try read (the store keeps it between its tries)."""
    app_id = backends.new_app_id("lost")
    backend = await backends.open(app_id=app_id)
    store: Any = backend.store
    key = f"sig:{uuid.uuid4().hex}"
    signal = {"data": {"id": "early", "n": 2}}
    assert await store.signal_hook(key, signal, ttl=60) is None
    taken: list[Any] = []
    assert await store._register_hook(key, target("j1"), 60.0, taken) == signal
    assert await store._register_hook(key, target("j1"), 60.0, taken) == signal  # the repeat
    assert await store.signal_hook(key, {"data": {}}, ttl=60) == target("j1")
    # Another registration under the key (a new cycle) took no signal.
    assert await store.register_hook(key, target("j2"), ttl=60) is None
    assert await store.signal_hook(key, {"data": {}}, ttl=60) == target("j2")


async def test_a_job_whose_hook_registration_lost_its_connection_still_completes(
    hotmesh_provider: str, hotmesh_dsn: str, proxy: CutProxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hotmesh_postgres.store")
    app_id = f"lost{uuid.uuid4().hex[:10]}"
    proxied = {"class": hotmesh_provider, "options": {"dsn": proxy.dsn}}
    direct = {"class": hotmesh_provider, "options": {"dsn": hotmesh_dsn}}
    engine = await HotMesh.init(app_id=app_id, engine={"connection": proxied})
    worker = await HotMesh.init(
        app_id=app_id, workers=[{"topic": "lost.work", "connection": direct, "callback": echo}]
    )
    try:
        await engine.deploy(echo_app(app_id, "lost.test", "lost.work", hook_signal="lost.sig"))
        assert await engine.activate("1")
        job_id = f"lost-{uuid.uuid4().hex}"
        proxy.arm('"aid":"h1","dad"')  # in the hook row's target: only the registration
        assert await engine.pub("lost.test", {"id": job_id, "value": "v"}) == job_id
        await asyncio.wait_for(proxy.cut_done.wait(), 60)
        await engine.signal("lost.sig", {"id": job_id})
        await assert_eventually(
            lambda: engine.get_status(job_id), lambda status: status == 0, timeout=60
        )
        state = await engine.get_state("lost.test", job_id)
        assert state.data["echoed"] == "v"
        assert not state.metadata.get("err")
        assert proxy.cuts == 1
        assert "hook registration lost its connection" in caplog.text
    finally:
        await worker.stop()
        await engine.stop()


async def test_a_registration_that_keeps_failing_fails_the_job_instead_of_stranding_it(
    hotmesh_provider: str, hotmesh_dsn: str, proxy: CutProxy
) -> None:
    """Every try of the registration loses its connection: the job fails, cleanly."""
    app_id = f"lost{uuid.uuid4().hex[:10]}"
    proxied = {"class": hotmesh_provider, "options": {"dsn": proxy.dsn}}
    direct = {"class": hotmesh_provider, "options": {"dsn": hotmesh_dsn}}
    engine = await HotMesh.init(app_id=app_id, engine={"connection": proxied})
    worker = await HotMesh.init(
        app_id=app_id, workers=[{"topic": "lost.work", "connection": direct, "callback": echo}]
    )
    marker = '"aid":"h1","dad"'

    async def cut_every_try() -> None:
        while True:
            await proxy.cut_done.wait()
            proxy.arm(marker)  # before the store's next try (it backs off first)

    rearm = asyncio.create_task(cut_every_try())
    try:
        await engine.deploy(echo_app(app_id, "lost.test", "lost.work", hook_signal="lost.sig"))
        assert await engine.activate("1")
        job_id = f"lost-{uuid.uuid4().hex}"
        proxy.arm(marker)
        assert await engine.pub("lost.test", {"id": job_id, "value": "v"}) == job_id
        await assert_eventually(
            lambda: engine.get_status(job_id), lambda status: status == 0, timeout=60
        )
        state = await engine.get_state("lost.test", job_id)
        assert "could not register hook" in str(state.metadata.get("err"))
        assert proxy.cuts == HOOK_ATTEMPTS
    finally:
        rearm.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rearm
        await worker.stop()
        await engine.stop()
