"""A durable worker process for the crash tests (run with ``python -m``).

Usage: python -m tests.durable._crash_worker DSN PROVIDER QUEUE HANG_STEP [activities]

With ``activities`` the process serves only the activity queue QUEUE (no workflow).

Activity ``step(n)`` records a side effect row in ``durable_side_effects``; when
``n == HANG_STEP`` it first creates the file ``<QUEUE>.hang`` (in the temp dir) and then
hangs, so the test can SIGKILL the process in the middle of that activity.
"""

from __future__ import annotations

import asyncio
import pathlib
import sys
import tempfile
from typing import Any

import asyncpg

from hotmesh.durable import Worker, register_activity_worker
from hotmesh.durable import workflow as wf

DSN, PROVIDER, QUEUE, HANG = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


def _touch(suffix: str) -> None:
    """Tell the test where this process is (a file the test polls for)."""
    pathlib.Path(tempfile.gettempdir(), f"{QUEUE}.{suffix}").touch()


async def step(n: int) -> int:
    connection = await asyncpg.connect(DSN)
    try:
        await connection.execute(
            "INSERT INTO durable_side_effects (queue, step) VALUES ($1, $2)", QUEUE, n
        )
    finally:
        await connection.close()
    if n == HANG:
        _touch("hang")
        await asyncio.sleep(3600)
    return n


async def four_steps() -> list[Any]:
    acts = wf.proxy_activities()
    return [await acts.step(1), await acts.step(2), await acts.step(3), await acts.step(4)]


async def sleepy_steps() -> list[Any]:
    acts = wf.proxy_activities()
    first = [await acts.step(1), await acts.step(2)]
    _touch("sleeping")
    await wf.sleep(3)
    return [*first, await acts.step(3), await acts.step(4)]


async def generations(gen: int, done: list[int]) -> list[int]:
    """Four generations (continue_as_new), each with two activities and a sleep."""
    acts = wf.proxy_activities()
    first = await acts.step(10 * gen + 1)
    await wf.sleep(1)
    done = [*done, first, await acts.step(10 * gen + 2)]
    if gen < 3:
        await wf.continue_as_new(gen + 1, done)
    return done


async def main() -> None:
    connection = {"class": PROVIDER, "options": {"dsn": DSN}}
    if sys.argv[5:] == ["activities"]:
        await register_activity_worker(connection=connection, activities=[step], task_queue=QUEUE)
        print("ready", flush=True)
        await asyncio.Event().wait()
    for fn in (four_steps, sleepy_steps, generations):
        await Worker.create(
            connection=connection, task_queue=QUEUE, workflow=fn, activities=[step], lease=2.0
        )
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
