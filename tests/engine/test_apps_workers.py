"""§6.2 ``abc`` hot deploy and §6.3 ``tree`` fan-out/sequence apps, on both providers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import WorkerMessage
from hotmesh.errors import ConfigError
from hotmesh.types import JobOutput
from tests.engine._app_files import eventually, load_app
from tests.engine.conftest import MeshFactory

BRANCHES = ("shine", "graft", "prune", "water", "fertilize")


async def work_do(message: WorkerMessage) -> dict[str, Any]:
    return {"data": {"y": f"{message.data.get('x')} world"}}


async def work_do_more(message: WorkerMessage) -> dict[str, Any]:
    return {"data": {"o": f"{message.data.get('i')} world"}}


ABC_WORKERS = [("work.do", work_do), ("work.do.more", work_do_more)]


async def summer(message: WorkerMessage) -> dict[str, Any]:
    return {"code": 200, "status": "success", "data": {"result": f"h{message.data['height']}"}}


# -- §6.2 abc: hot deploy -------------------------------------------------------------------


async def test_abc_hot_deploy_v1_to_v9(mesh: MeshFactory, app_id: str) -> None:
    """Each version is deployed, activated, then used by the next job."""
    hm = await mesh(ABC_WORKERS)

    async def run(version: int, payload: dict[str, Any]) -> JobOutput:
        await hm.deploy(load_app(f"abc-v{version}", app_id))
        assert await hm.activate(str(version)) is True
        out = await hm.pubsub("abc.test", payload, timeout=10)
        assert out.metadata["jid"] and out.metadata["vrs"] == str(version)
        assert out.metadata["js"] == 0 and "err" not in out.metadata
        return out

    for version in (1, 2, 3, 4):  # trigger only, hook, await a trigger-only child, worker
        assert (await run(version, {})).data == {}
    assert (await run(5, {"a": "hello"})).data == {"b": "hello world"}
    assert (await run(6, {"a": "hello"})).data == {"b": "hello world", "c": "hello world"}
    assert (await run(7, {"a": "hello"})).data == {"b": "hello world", "c": "hello world world"}
    assert (await run(8, {"a": "hello"})).data == {"b": "hello world"}
    assert (await run(9, {"a": "hello"})).data == {"b": "hello world", "c": "hello world world"}
    # v9's conditions: no branch for 'goodbye'; a2 only when a1 said 'hello world'
    goodbye = await hm.pubsub("abc.test", {"a": "goodbye"}, timeout=10)
    assert goodbye.data == {} and goodbye.metadata["js"] == 0
    help_ = await hm.pubsub("abc.test", {"a": "help"}, timeout=10)
    assert help_.data == {"b": "help world"}


async def test_abc_activation_switches_graph_for_later_jobs(mesh: MeshFactory, app_id: str) -> None:
    hm = await mesh(ABC_WORKERS)
    await hm.deploy(load_app("abc-v5", app_id))
    await hm.activate("5")
    await hm.deploy(load_app("abc-v7", app_id))
    # Deploying does not repoint the app: jobs still run v5 until v7 is activated.
    before = await hm.pubsub("abc.test", {"a": "x"}, timeout=10)
    assert before.metadata["vrs"] == "5" and before.data == {"b": "x world"}
    await hm.activate("7")
    after = await hm.pubsub("abc.test", {"a": "x"}, timeout=10)
    assert after.metadata["vrs"] == "7" and after.data == {"b": "x world", "c": "x world world"}
    await hm.activate("5")  # and back again
    again = await hm.pubsub("abc.test", {"a": "x"}, timeout=10)
    assert again.metadata["vrs"] == "5" and again.data == {"b": "x world"}
    with pytest.raises(ConfigError):
        await hm.activate("42")  # never deployed


async def test_abc_activation_reaches_other_engines(mesh: MeshFactory, app_id: str) -> None:
    """An engine that cached v5 runs v6 once another instance activates it."""
    first = await mesh(ABC_WORKERS)
    second = await mesh()
    await first.deploy(load_app("abc-v5", app_id))
    await first.activate("5")
    assert (await second.pubsub("abc.test", {"a": "q"}, timeout=10)).metadata["vrs"] == "5"
    await first.deploy(load_app("abc-v6", app_id))
    await first.activate("6")

    async def switched() -> JobOutput | None:
        out = await second.pubsub("abc.test", {"a": "q"}, timeout=10)
        return out if out.metadata["vrs"] == "6" else None

    out = await eventually(switched)
    assert out.data == {"b": "q world", "c": "q world"}


# -- §6.3 tree: fan-out, sequences, semaphore --------------------------------------------


async def test_tree_v1_parallel_hooks(mesh: MeshFactory, app_id: str) -> None:
    hm = await mesh()
    await hm.deploy(load_app("tree-v1", app_id))
    await hm.activate("1")
    published: list[tuple[str, JobOutput]] = []
    arrived = asyncio.Event()

    def on_fall(topic: str, output: JobOutput) -> None:
        published.append((topic, output))
        arrived.set()

    await hm.psub("fall.*", on_fall)
    out = await hm.pubsub("spring", {"seed": 2, "speed": 3}, timeout=10)
    assert (out.data["seed"], out.data["speed"], out.data["height"]) == (2, 3, 6)
    assert set(out.data) == {"seed", "speed", "height", *BRANCHES}
    assert all(isinstance(out.data[b], str) and out.data[b] for b in BRANCHES)
    export = await hm.export(out.job_id)
    assert export.status == "0"
    assert sorted(a["name"] for a in export.activities) == sorted(["tree", *BRANCHES])
    # all five branches are siblings: children of the trigger at the same depth
    assert {a["dimension"] for a in export.activities if a["name"] != "tree"} == {"0/0"}
    await asyncio.wait_for(arrived.wait(), 5)
    topic, final = published[0]
    assert topic == "fall" and final.job_id == out.job_id and final.metadata["js"] == 0
    assert final.data["height"] == 6


@pytest.mark.parametrize(
    ("version", "payload", "height", "branches"),
    [
        (2, {"seed": 5, "speed": 7}, 35, BRANCHES),
        (3, {"seed": 4, "speed": 9}, 36, (*BRANCHES, "pollinate")),
        (4, {"seed": 5, "speed": 2}, 10, ()),
    ],
)
async def test_tree_sequence_and_branching(
    mesh: MeshFactory,
    app_id: str,
    version: int,
    payload: dict[str, int],
    height: int,
    branches: tuple[str, ...],
) -> None:
    hm = await mesh()
    await hm.deploy(load_app(f"tree-v{version}", app_id))
    await hm.activate(str(version))
    out = await hm.pubsub("spring", payload, timeout=10)
    assert out.data["height"] == height and out.metadata["js"] == 0
    assert set(out.data) == {"seed", "speed", "height", *branches}
    export = await hm.export(out.job_id)
    assert export.status == "0"
    depth = {a["name"]: a["dimension"].count("/") for a in export.activities}
    assert set(depth) == {"tree", *branches}
    if version == 2:  # a chain: each hook one level below the previous one
        assert [depth[b] for b in BRANCHES] == [1, 2, 3, 4, 5]
    if version == 3:
        assert depth["pollinate"] == depth["fertilize"] == 3 and depth["shine"] == 1


async def test_tree_v5_parallel_workers_semaphore(mesh: MeshFactory, app_id: str) -> None:
    """Five parallel workers: js is 5 while all run and drops by one per answer."""
    started: list[str] = []
    jobs: set[str] = set()
    all_started = asyncio.Event()
    gates = {b: asyncio.Event() for b in BRANCHES}

    async def gated(message: WorkerMessage) -> dict[str, Any]:
        aid = str(message.metadata["aid"])
        started.append(aid)
        jobs.add(str(message.metadata["jid"]))
        if len(started) == len(BRANCHES):
            all_started.set()
        await gates[aid].wait()
        return await summer(message)

    hm = await mesh([("summer", gated)])
    await hm.deploy(load_app("tree-v5", app_id))
    await hm.activate("5")
    waiting = asyncio.create_task(hm.pubsub("spring", {"seed": 55, "speed": 20}, timeout=15))
    await asyncio.wait_for(all_started.wait(), 10)
    assert sorted(started) == sorted(BRANCHES)
    [jid] = jobs
    assert await hm.get_status(jid) == 5
    for left, branch in zip(range(4, 0, -1), BRANCHES[:4], strict=True):
        gates[branch].set()

        async def dropped(expected: int = left) -> bool:
            return await hm.get_status(jid) == expected

        await eventually(dropped)
        state = await hm.get_state("spring", jid)
        assert state.data[branch] == "h1100"
    assert not waiting.done()
    gates[BRANCHES[4]].set()
    out = await waiting
    assert out.data["height"] == 1100 and out.metadata["js"] == 0
    assert {out.data[b] for b in BRANCHES} == {"h1100"}
    assert await hm.get_status(jid) == 0


async def test_tree_redeploy_v6_to_v8(mesh: MeshFactory, app_id: str) -> None:
    hm = await mesh()
    for version in (6, 7, 8):
        await hm.deploy(load_app(f"tree-v{version}", app_id))
        assert await hm.activate(str(version)) is True
        out = await hm.pubsub("spring", {}, timeout=10)
        meta = out.metadata
        assert (meta["js"], meta["tpc"], meta["vrs"]) == (0, "spring", str(version))
        assert meta["gid"] and meta["gid"] != meta["jid"]
