"""§6.6 signal, §6.7 hook (and the signal race), §6.14 hook-timeout.

Sleeps in the app files are shortened (the timing relations are kept).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import HotMesh
from hotmesh.errors import JobNotFound
from hotmesh_conformance.harness import assert_eventually
from tests.engine._apps import Collector, app_text
from tests.engine.conftest import MeshFactory


async def started(mesh: MeshFactory, text: str, version: str = "1") -> HotMesh:
    hm = await mesh()
    await hm.deploy(text)
    assert await hm.activate(version)
    return hm


# -- §6.6 signal ------------------------------------------------------------------------------


async def test_signal_toggle_threshold_closes_job(mesh: MeshFactory, app_id: str) -> None:
    """Scenario 1: with statusThreshold 1 the hook declines to wait and the job closes."""
    hm = await started(mesh, app_text("signal-v1", app_id))
    seen = await Collector().attach(hm, "signal.toggled.xyz123")
    assert await hm.pub("signal.toggle", {"jobId": "xyz123", "statusThreshold": 1}) == "xyz123"
    [out] = await seen.wait_for(lambda outs: len(outs) >= 1, timeout=2)
    assert out.data["done"] is False and out.job_id == "xyz123"
    assert await hm.get_status("xyz123") == 0


async def test_signal_toggle_resumed_by_signal(mesh: MeshFactory, app_id: str) -> None:
    """Scenario 2: without a threshold the hook waits for doPleaseResume."""
    hm = await started(mesh, app_text("signal-v1", app_id))
    seen = await Collector().attach(hm, "signal.toggled.pdq123")
    await hm.pub("signal.toggle", {"jobId": "pdq123"})
    assert await hm.get_status("pdq123") == 1
    assert await hm.signal(
        "waitForSignaler.doPleaseResume", {"id": "pdq123", "done": True, "howdy": "pardner"}
    )
    await seen.wait_for(lambda outs: bool(seen.final()), timeout=5)
    [final] = seen.final()
    assert final.data == {"done": True, "howdy": "pardner"}
    assert final.job_id == "pdq123"


async def test_signal_one_pending_then_success(mesh: MeshFactory, app_id: str) -> None:
    """Scenario 4: a 202 signal keeps the child's hook open; the 200 closes it."""
    text = app_text("signal-v1", app_id, {"sleep: 5": "sleep: 0.3"})
    hm = await started(mesh, text)
    parent = await Collector().attach(hm, "signal.one.tested.signalone123")
    child = await Collector().attach(hm, "hook.tested.xyz456")
    await hm.pub("signal.one.test", {"job_id": "signalone123", "child_flow_id": "xyz456"})
    await parent.wait_for(lambda outs: bool(parent.final()), timeout=10)
    await child.wait_for(lambda outs: bool(child.final()))
    assert child.outputs and all(o.data["parent_job_id"] == "signalone123" for o in child.outputs)
    assert child.final()[-1].data["done"] is True
    # Both signals leave one step together, so either may arrive first; the 200 closes
    # the hook. A 202 taken before it runs hook202 in its own dimension.
    exported = await hm.export("xyz456")
    dims = {a["name"]: a["dimension"] for a in exported.activities}
    runs = [a["name"] for a in exported.activities]
    assert runs.count("hook200") == 1 and runs.count("hook202") <= 1
    if "hook202" in dims:
        assert dims["hook202"] != dims["hook200"]
    assert await hm.get_status("signalone123") == 0


async def test_signal_all(mesh: MeshFactory, app_id: str) -> None:
    """Scenario 3: signal all via the stats index of the child jobs."""
    text = app_text("signal-v1", app_id, {"sleep: 5": "sleep: 0.3"})
    hm = await started(mesh, text)
    parent = await Collector().attach(hm, "signal.tested.signalall123")
    await hm.pub("signal.test", {"job_id": "signalall123", "child_flow_id": "abc123"})
    await parent.wait_for(lambda outs: bool(parent.final()), timeout=2)
    assert await hm.get_status("abc123") == 0
    child = await hm.get_state("hook.test", "abc123")
    assert child.data["parent_job_id"] == "signalall123" and child.data["done"] is True
    # scrub: true removed the index entries the fan-out used.
    query = {"data": {"parent_job_id": "signalall123"}}
    ids = await hm.get_ids("hook.test", query)
    assert ids["counts"] == [{"facet": "parent_job_id:signalall123", "count": 0}]


# -- §6.7 hook and the signal race -------------------------------------------------------------


async def test_hook_deploy_and_activate_concurrently(mesh: MeshFactory, app_id: str) -> None:
    """Two instances deploy and activate the same version at once; both succeed."""
    one, two = await mesh(), await mesh()
    text = app_text("hook-v1", app_id)
    manifests = await asyncio.gather(one.deploy(text), two.deploy(text))
    assert [m.version for m in manifests] == ["1", "1"]
    assert await asyncio.gather(one.activate("1"), two.activate("1")) == [True, True]
    seen = await Collector().attach(one, "hook.tested.h1")
    await two.pub("hook.test", {"job_id": "h1", "parent_job_id": "p1"})
    await assert_eventually(lambda: one.get_status("h1"), lambda s: s == 1)
    await asyncio.sleep(0)
    assert await one.signal("hook.resume", {"id": "h1", "done": True})
    await seen.wait_for(lambda outs: bool(seen.final()))
    assert seen.final()[-1].data == {"job_id": "h1", "parent_job_id": "p1", "done": True}


async def status(hm: HotMesh, job_id: str) -> int | None:
    try:
        return await hm.get_status(job_id)
    except JobNotFound:
        return None


def delay_registration(hm: HotMesh, delay: float) -> asyncio.Event:
    """Hold every hook registration back by ``delay`` s; the event marks the first one done."""
    assert hm.engine is not None
    store = hm.engine.store
    original = store.register_hook
    registered = asyncio.Event()

    async def slow(key: str, target: Any, *, ttl: float) -> Any:
        await asyncio.sleep(delay)
        try:
            return await original(key, target, ttl=ttl)
        finally:
            registered.set()

    hm.engine.store = _Wrapped(store, register_hook=slow)
    return registered


class _Wrapped:
    def __init__(self, inner: Any, **overrides: Any) -> None:
        self._inner = inner
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize("early", [True, False], ids=["signal-before-register", "after"])
async def test_signal_race_delivers_once(mesh: MeshFactory, app_id: str, early: bool) -> None:
    """A signal sent before the hook registers is parked and delivered exactly once."""
    hm = await started(mesh, app_text("hook-v1", app_id))
    registered = delay_registration(hm, 0.6)
    seen = await Collector().attach(hm, "hook.tested.race1")
    # pub may register the hook itself (inline), so it runs beside the signal
    pub = asyncio.create_task(hm.pub("hook.test", {"job_id": "race1", "parent_job_id": "p"}))
    if early:
        await assert_eventually(lambda: status(hm, "race1"), lambda s: s == 1)
        assert not registered.is_set()
    else:
        await asyncio.wait_for(registered.wait(), 5)
    await hm.signal("hook.resume", {"id": "race1", "done": True})
    assert await pub == "race1"
    await seen.wait_for(lambda outs: bool(seen.final()), timeout=10)
    assert registered.is_set()
    # a second signal finds the hook closed: parked, never delivered
    await hm.signal("hook.resume", {"id": "race1", "done": "again"})
    await asyncio.sleep(0.3)
    finals = seen.final()
    assert len(finals) == 1, finals
    assert finals[0].data["done"] is True
    assert (await hm.get_state("hook.test", "race1")).data["done"] is True
    exported = await hm.export("race1")
    assert [a["dimension"] for a in exported.activities if a["name"] == "a1"] == ["0/0"]


# -- §6.14 hook-timeout: signal vs timer, the first wins --------------------------------------


SHORT = {"sleep: 10": "sleep: 1", "sleep: 5": "sleep: 0.4"}


async def run_timeout(
    hm: HotMesh, graph: str, job_id: str, payload: dict[str, Any], signal: Any = None
) -> Collector:
    seen = await Collector().attach(hm, f"{graph}.tested.{job_id}")
    await hm.pub(f"{graph}.test", {"job_id": job_id, **payload})
    if signal is not None:
        delay, topic, data = signal
        await asyncio.sleep(delay)
        await hm.signal(topic, {"id": job_id, **data})
    await seen.wait_for(lambda outs: bool(seen.final()), timeout=10)
    return seen


async def test_hook_timeout_signal_wins(mesh: MeshFactory, app_id: str) -> None:
    """Scenarios 1 and 3: the signal beats a 1 s timer; the timer then does nothing."""
    hm = await started(mesh, app_text("hook-timeout-v1", app_id, SHORT))
    data = {"done": True, "payload": "race-signal"}
    seen = await run_timeout(hm, "hook.timeout", "ht1", {}, (0.2, "hook.timeout.resume", data))
    assert seen.final()[0].data == {"signaled": True, "signal_data": "race-signal"}
    await asyncio.sleep(1.2)  # past the timer
    assert len(seen.final()) == 1
    assert (await hm.get_state("hook.timeout.test", "ht1")).data["signaled"] is True


async def test_hook_timeout_timer_wins(mesh: MeshFactory, app_id: str) -> None:
    """Scenario 2: no signal: the timer fires; a late signal changes nothing."""
    hm = await started(mesh, app_text("hook-timeout-v1", app_id, SHORT))
    seen = await run_timeout(hm, "hook.expire", "he1", {})
    assert seen.final()[0].data == {"signaled": False}
    await hm.signal("hook.expire.resume", {"id": "he1", "done": True})
    await asyncio.sleep(0.3)
    assert len(seen.final()) == 1
    assert (await hm.get_state("hook.expire.test", "he1")).data == {"signaled": False}


@pytest.mark.parametrize(
    ("payload", "signal", "expected"),
    [
        ({}, {"done": True, "payload": "no-timeout-signal"}, (True, "no-timeout-signal")),
        ({"timeout": 0.4}, None, (False, "timeout")),
        ({"timeout": 1}, {"done": True, "payload": "beat-the-clock"}, (True, "beat-the-clock")),
    ],
    ids=["webhook-only", "timer", "signal-first"],
)
async def test_hook_timeout_dynamic(
    mesh: MeshFactory,
    app_id: str,
    payload: dict[str, Any],
    signal: dict[str, Any] | None,
    expected: tuple[bool, str],
) -> None:
    """Scenarios 4-6: the sleep comes from the payload (absent = wait for the signal only)."""
    hm = await started(mesh, app_text("hook-timeout-v1", app_id, SHORT))
    sent = (0.2, "hook.dynamic.resume", signal) if signal is not None else None
    seen = await run_timeout(hm, "hook.dynamic", "hd1", payload, sent)
    final = seen.final()[0].data
    assert (final["signaled"], final["signal_data"]) == expected
