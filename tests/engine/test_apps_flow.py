"""§6.9 cycle, §6.10 awaiter, §6.4 tree v9/v10 interrupts, and interrupt/scrub/cancel (§2.13)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from hotmesh import HotMesh, WorkerMessage
from hotmesh.errors import JobFailed, JobNotFound
from hotmesh_conformance.harness import assert_eventually
from tests.engine._apps import Collector, app_text
from tests.engine.conftest import MeshFactory

INTERRUPTED = -100_000_000


async def started(hm: HotMesh, text: str, version: str) -> HotMesh:
    await hm.deploy(text)
    assert await hm.activate(version)
    return hm


# -- §6.9 cycle -----------------------------------------------------------------------------


async def test_cycle_v1_counts_to_five(mesh: MeshFactory, app_id: str) -> None:
    """c1 re-enters a1 while counter < 5; each pass runs in its own dimension."""
    calls: list[int] = []

    async def count(message: WorkerMessage) -> dict[str, Any]:
        calls.append(len(calls) + 1)
        return {"data": {"counter": calls[-1]}}

    hm = await started(await mesh([("cycle.count", count)]), app_text("cycle-v1", app_id), "1")
    out = await hm.pubsub("cycle.test", {})
    assert out.data == {"counter": 5}
    assert calls == [1, 2, 3, 4, 5]
    exported = await hm.export(out.job_id)
    assert exported.status == "0"
    runs = sorted((a["dimension"], a["output"]["counter"]) for a in exported.activities
                  if a["name"] == "w1")  # fmt: skip
    assert [counter for _, counter in runs] == [1, 2, 3, 4, 5]
    assert len({dimension for dimension, _ in runs}) == 5
    assert sum(a["name"] == "c1" for a in exported.activities) == 4


async def test_cycle_v2_loops_on_error_code(mesh: MeshFactory, app_id: str) -> None:
    """The worker answers code 500 until its fifth call; only 500 routes to the cycle."""
    calls: list[int] = []

    async def flaky(message: WorkerMessage) -> dict[str, Any]:
        calls.append(len(calls) + 1)
        return {"code": 200 if len(calls) == 5 else 500, "data": {"counter": len(calls)}}

    hm = await started(await mesh([("cycle.err", flaky)]), app_text("cycle-v2", app_id), "2")
    out = await hm.pubsub("cycle.test", {})
    assert out.data == {"counter": 5} and "err" not in out.metadata
    assert len(calls) == 5
    assert (await hm.export(out.job_id)).status == "0"


# -- §6.10 awaiter --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "detached"),
    [({}, False), ({"do_await": True}, False), ({"do_await": False}, True)],
    ids=["default", "await-true", "detached"],
)
async def test_awaiter(
    mesh: MeshFactory, app_id: str, payload: dict[str, Any], detached: bool
) -> None:
    """An awaited child's data lands in a1's output; a detached one only reports its id."""
    text = app_text("awaiter-v1", app_id, {"sleep: 1": "sleep: 0.2"})
    hm = await started(await mesh(), text, "1")
    out = await hm.pubsub("awaiter.test", payload)
    if detached:
        child_id = out.data["child_job_id"]
        assert child_id and "child_some_data" not in out.data
        child = await hm.get_state("awaiter.target", child_id)
        assert child.metadata["pj"] == out.job_id and child.metadata.get("px") is True
        assert child.data == {"some_data": True, "do_await": True}
    else:
        assert "child_job_id" not in out.data
        assert out.data["child_some_data"] is True
    exported = await hm.export(out.job_id)
    [a1] = [a for a in exported.activities if a["name"] == "a1"]
    if detached:
        assert set(a1["output"]) >= {"job_id"} and "some_data" not in a1["output"]
    else:
        assert a1["output"] == {"some_data": True, "do_await": True}


# -- §6.4 tree v9/v10: interrupts ---------------------------------------------------------------


async def test_tree_v9_self_interrupt(mesh: MeshFactory, app_id: str) -> None:
    """shine interrupts its own job; throw false resolves with the state at that moment."""
    hm = await started(await mesh(), app_text("tree-v9", app_id), "9")
    out = await hm.pubsub("spring", {"seed": 2, "speed": 3, "throw": False}, timeout=5)
    assert {k: out.data[k] for k in ("seed", "speed", "throw", "height")} == {
        "seed": 2, "speed": 3, "throw": False, "height": 6,
    }  # fmt: skip
    assert "graft" not in out.data  # sleeper's branch never ran
    assert await hm.get_status(out.job_id) < INTERRUPTED

    with pytest.raises(JobFailed) as failed:
        await hm.pubsub("spring", {"seed": 2, "speed": 3, "throw": True}, timeout=5)
    assert failed.value.error["code"] == 410
    assert await hm.get_status(failed.value.job_id) < INTERRUPTED


SLEEPY = "sleepy:\n          type: hook\n          sleep: 1"


async def fast_polling(provider: str, options: dict[str, Any], app_id: str) -> HotMesh:
    """A mesh whose engine polls every 50 ms (see test_timer_beside_immediate_message)."""
    connection = {"class": provider, "options": options}
    engine = {"connection": connection, "poll_interval": 0.05}
    return await HotMesh.init(app_id=app_id, engine=engine)


async def test_tree_v10_interrupts_child(
    hotmesh_provider: str, hotmesh_options: dict[str, Any], app_id: str
) -> None:
    """stoppy interrupts the awaited child; its partial state (or 410) reaches the parent."""
    text = app_text("tree-v10", app_id, {SLEEPY: SLEEPY.replace("sleep: 1", "sleep: 0.3")})
    hm = await fast_polling(hotmesh_provider, hotmesh_options, app_id)
    try:
        await started(hm, text, "10")
        payload = {"seed": 4, "speed": 6, "throw": False, "workflowId": "abcSuccess"}
        out = await hm.pubsub("winter", payload, timeout=10)
        assert {k: out.data[k] for k in ("seed", "speed", "throw", "height")} == {
            "seed": 4, "speed": 6, "throw": False, "height": 24,
        }  # fmt: skip
        assert out.data["sheer"] == "sheered" and "shave" not in out.data
        assert await hm.get_status("abcSuccess") < INTERRUPTED

        payload = {"seed": 6, "speed": 9, "throw": True, "workflowId": "abcFail"}
        with pytest.raises(JobFailed) as failed:
            await hm.pubsub("winter", payload, timeout=10)
        assert failed.value.error["code"] == 410
        assert await hm.get_status("abcFail") < INTERRUPTED
    finally:
        await hm.stop()


async def test_timer_beside_immediate_message(mesh: MeshFactory, app_id: str) -> None:
    """winter's trigger commits sleepy's 0.3 s timer with waity's await message."""
    text = app_text("tree-v10", app_id, {SLEEPY: SLEEPY.replace("sleep: 1", "sleep: 0.3")})
    hm = await started(await mesh(), text, "10")
    started_at = time.monotonic()
    job_id = await hm.pub("winter", {"seed": 1, "speed": 1, "workflowId": "tm1"})

    async def stopped() -> bool:
        job = await hm.engine.store.get_job(job_id) if hm.engine else None
        return job is not None and any(k.startswith("a/stoppy") for k in job.state)

    await assert_eventually(stopped, timeout=5, interval=0.01)
    assert time.monotonic() - started_at < 0.8


# -- the API: interrupt, scrub, cancel --------------------------------------------------------


async def status(hm: HotMesh, job_id: str) -> int | None:
    try:
        return await hm.get_status(job_id)
    except JobNotFound:
        return None


async def waiting_hook(mesh: MeshFactory, app_id: str) -> HotMesh:
    return await started(await mesh(), app_text("hook-v1", app_id), "1")


async def test_api_interrupt_throws_410(mesh: MeshFactory, app_id: str) -> None:
    hm = await waiting_hook(mesh, app_id)
    seen = await Collector().attach(hm, "hook.tested.int1")
    # (a pubsub would resolve with the trigger's interim `emit`, as in the reference)
    await hm.pub("hook.test", {"job_id": "int1", "parent_job_id": "p"})
    await assert_eventually(lambda: status(hm, "int1"), lambda s: s == 1)
    await hm.interrupt("hook.test", "int1", reason="stop now", expire=30)
    await seen.wait_for(lambda outs: bool(seen.final()))
    error = json.loads(seen.final()[0].metadata["err"])
    assert error["code"] == 410
    assert error["message"] == "stop now"
    assert error["job_id"] == "int1"
    assert await hm.get_status("int1") < INTERRUPTED
    state = await hm.get_state("hook.test", "int1")
    assert json.loads(state.metadata["err"])["code"] == 410
    # a signal for the interrupted job is not delivered
    await hm.signal("hook.resume", {"id": "int1", "done": True})
    await asyncio.sleep(0.3)
    assert (await hm.get_state("hook.test", "int1")).data["done"] is False
    # interrupting again: not running
    with pytest.raises(JobNotFound):
        await hm.interrupt("hook.test", "int1")
    await hm.interrupt("hook.test", "int1", suppress=True)


async def test_api_interrupt_without_throw(mesh: MeshFactory, app_id: str) -> None:
    hm = await waiting_hook(mesh, app_id)
    seen = await Collector().attach(hm, "hook.tested.int2")
    await hm.pub("hook.test", {"job_id": "int2", "parent_job_id": "p"})
    await assert_eventually(lambda: status(hm, "int2"), lambda s: s == 1)
    await hm.interrupt("hook.test", "int2", throw=False, code=499)
    await seen.wait_for(lambda outs: bool(seen.final()))
    out = seen.final()[0]
    assert out.data == {"job_id": "int2", "parent_job_id": "p", "done": False}
    assert "err" not in out.metadata
    assert await hm.get_status("int2") < INTERRUPTED
    with pytest.raises(JobNotFound):
        await hm.interrupt("hook.test", "nope")


async def test_api_scrub_removes_job_and_timer(mesh: MeshFactory, app_id: str) -> None:
    text = app_text("hook-timeout-v1", app_id, {"sleep: 5": "sleep: 0.3"})
    hm = await started(await mesh(), text, "1")
    seen = await Collector().attach(hm, "hook.expire.tested.sc1")
    await hm.pub("hook.expire.test", {"job_id": "sc1"})
    assert await hm.get_status("sc1") == 1
    await hm.scrub("sc1")
    with pytest.raises(JobNotFound):
        await hm.get_status("sc1")
    with pytest.raises(JobNotFound):
        await hm.get_state("hook.expire.test", "sc1")
    await asyncio.sleep(0.6)  # past the timer: it was removed with the job
    assert seen.outputs == []
    # the id is free again
    assert await hm.pub("hook.expire.test", {"job_id": "sc1"}) == "sc1"
    await seen.wait_for(lambda outs: bool(seen.final()))
    assert seen.final()[0].data == {"signaled": False}


async def test_api_cancel_only_flags(mesh: MeshFactory, app_id: str) -> None:
    hm = await waiting_hook(mesh, app_id)
    await hm.pub("hook.test", {"job_id": "cx1", "parent_job_id": "p"})
    await hm.cancel("cx1")
    assert hm.engine is not None
    job = await hm.engine.store.get_job("cx1")
    assert job is not None and job.state["-cancelled-"] == "1"
    assert await hm.get_status("cx1") == 1  # cooperative: the engine itself goes on
    await assert_eventually(lambda: hm.get_status("cx1"), lambda s: s == 1)
    await hm.signal("hook.resume", {"id": "cx1", "done": True})
    await assert_eventually(lambda: hm.get_status("cx1"), lambda s: s == 0)
    assert (await hm.get_state("hook.test", "cx1")).data["done"] is True
