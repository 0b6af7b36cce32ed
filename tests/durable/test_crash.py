"""A worker process SIGKILLed mid-activity or mid-sleep: the workflow completes and no
recorded activity runs twice (side effects counted in a table)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

import asyncpg
import pytest

from hotmesh.durable import Client, Worker
from hotmesh.durable import workflow as wf

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _exists(path: str) -> bool:
    return os.path.exists(path)


def _remove(path: str) -> None:
    if os.path.exists(path):
        os.remove(path)


async def _wait_file(path: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not _exists(path):
        assert proc.poll() is None, "the worker process died on its own"
        assert time.monotonic() < deadline, f"{path} never appeared"
        await asyncio.sleep(0.05)


async def _wait_recorded(
    client: Client, workflow_id: str, key: str, proc: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    hm = await client.get_hotmesh_client()
    deadline = time.monotonic() + timeout
    while key not in (await hm.get_state("", workflow_id)).data:
        assert proc.poll() is None, "the worker process died on its own"
        assert time.monotonic() < deadline, f"{key} never recorded"
        await asyncio.sleep(0.05)


def _spawn(dsn: str, provider: str, queue: str, hang: int, *mode: str) -> subprocess.Popen[bytes]:
    module = "tests.durable._crash_worker"
    return subprocess.Popen(
        [sys.executable, "-m", module, dsn, provider, queue, str(hang), *mode], cwd=ROOT
    )


async def _counts(dsn: str, queue: str) -> dict[int, int]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT step, count(*) AS n FROM durable_side_effects WHERE queue = $1 GROUP BY step",
            queue,
        )
    finally:
        await connection.close()
    return {int(r["step"]): int(r["n"]) for r in rows}


@pytest.fixture
async def effects_table(hotmesh_dsn: str) -> None:
    connection = await asyncpg.connect(hotmesh_dsn)
    try:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS durable_side_effects (queue text, step int)"
        )
    finally:
        await connection.close()


@pytest.mark.parametrize("mode", ["activity", "sleep"])
async def test_worker_killed_and_restarted(
    client: Client, hotmesh_dsn: str, hotmesh_provider: str, effects_table: None, mode: str
) -> None:
    queue = f"crash{uuid.uuid4().hex[:8]}"
    marker = os.path.join(
        tempfile.gettempdir(), f"{queue}.{'hang' if mode == 'activity' else 'sleeping'}"
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        # The first process hangs in step 3 (activity mode); never hangs in sleep mode.
        procs.append(_spawn(hotmesh_dsn, hotmesh_provider, queue, 3 if mode == "activity" else 0))
        workflow = "four_steps" if mode == "activity" else "sleepy_steps"
        handle = await client.workflow.start(workflow, task_queue=queue)
        await _wait_file(marker, procs[0])
        if mode == "sleep":
            # Killed *during* the sleep: once the turn that asked for it has answered
            # (the workflow code touches the file a moment before the turn's answer
            # records step 2 and arms the timer).
            await _wait_recorded(client, handle.workflow_id, "-proxy-1-", procs[0])
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(timeout=30)
        procs.append(_spawn(hotmesh_dsn, hotmesh_provider, queue, 0))
        result: Any = await handle.result(timeout=90)
        assert result == [1, 2, 3, 4]
        counts = await _counts(hotmesh_dsn, queue)
        assert counts[1] == 1 and counts[2] == 1 and counts[4] == 1
        assert counts[3] == (2 if mode == "activity" else 1)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        _remove(marker)


async def test_continue_as_new_generations_survive_a_crash_in_a_later_generation(
    client: Client, hotmesh_dsn: str, hotmesh_provider: str, effects_table: None
) -> None:
    """Four generations, each with activities and a sleep; the worker dies inside the
    third generation's second activity: the replay after the restart runs the third
    generation on, and the result is the last generation's (the same workflow id)."""
    queue = f"gens{uuid.uuid4().hex[:8]}"
    marker = os.path.join(tempfile.gettempdir(), f"{queue}.hang")
    procs = [_spawn(hotmesh_dsn, hotmesh_provider, queue, 22)]
    try:
        handle = await client.workflow.start("generations", args=[0, []], task_queue=queue)
        await _wait_file(marker, procs[0])
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(timeout=30)
        procs.append(_spawn(hotmesh_dsn, hotmesh_provider, queue, 0))
        assert await handle.result(timeout=90) == [1, 2, 11, 12, 21, 22, 31, 32]
        counts = await _counts(hotmesh_dsn, queue)
        assert counts.pop(22) == 2, "the activity the worker died in ran again"
        assert counts == {1: 1, 2: 1, 11: 1, 12: 1, 21: 1, 31: 1, 32: 1}
        state = await handle.state()
        assert state["done"] is True
        assert any(k.startswith("-sleep$3-") for k in state), "the 4th generation's history"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        _remove(marker)


async def remote_steps(queue: str) -> list[Any]:
    acts = wf.proxy_activities(task_queue=queue)
    return [await acts.step(1), await acts.step(2)]


async def test_activities_served_by_another_process(
    client: Client,
    connection: dict[str, Any],
    hotmesh_dsn: str,
    hotmesh_provider: str,
    effects_table: None,
) -> None:
    """A lone activity whose queue this process does not serve goes to the activity
    worker of another process (not inline)."""
    remote = f"remote{uuid.uuid4().hex[:8]}"
    proc = _spawn(hotmesh_dsn, hotmesh_provider, remote, 0, "activities")
    try:
        queue = f"local{uuid.uuid4().hex[:8]}"
        await Worker.create(connection=connection, task_queue=queue, workflow=remote_steps)
        result = await client.workflow.execute(
            remote_steps, args=[remote], task_queue=queue, timeout=60
        )
        assert result == [1, 2]
        assert await _counts(hotmesh_dsn, remote) == {1: 1, 2: 1}
    finally:
        proc.kill()
        proc.wait(timeout=30)
