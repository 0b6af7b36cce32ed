"""A worker's answer is planned on the job as this process left it, guarded by its version.

The engine remembers the state it wrote (a job it created, each step it applied on that
state) and plans the step of a worker's direct answer from it, without reading the job.
The step carries the job's version (its row's xmin) and applies only while the row still
has it: a write since, by anyone, makes the engine read the job and decide again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from hotmesh import HotMesh
from hotmesh.types import WorkerMessage
from hotmesh_postgres.naming import schema_name
from tests.integration._one_worker import Callback, one_worker_meshes

APP = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: versions.start
      activities:
        t1:
          type: trigger
        w1:
          type: worker
          topic: versions.work
          input:
            maps:
              n: '{t1.output.data.n}'
          job:
            maps:
              doubled: '{w1.output.data.doubled}'
              seen: '{$job.data.other}'
      transitions:
        t1:
          - to: w1
"""


@pytest.fixture
async def mesh(hotmesh_dsn: str) -> AsyncIterator[Callable[[Callback], Awaitable[HotMesh]]]:
    async with one_worker_meshes(hotmesh_dsn, APP, "versions.work") as start:
        yield start


def _reads(hm: HotMesh) -> list[str]:
    """The job ids the engine's store reads from Postgres from now on (a spy)."""
    reads: Any = hm._any_backend().store._reads  # type: ignore[attr-defined]
    seen: list[str] = []
    submit = reads.submit

    async def spy(job_id: str) -> Any:
        seen.append(job_id)
        return await submit(job_id)

    reads.submit = spy
    return seen


async def _double(message: WorkerMessage) -> dict[str, Any]:
    return {"data": {"doubled": message.data["n"] * 2}}


async def test_the_answer_is_planned_without_reading_the_job(
    mesh: Callable[[Callback], Awaitable[HotMesh]],
) -> None:
    hm = await mesh(_double)
    reads = _reads(hm)
    output = await hm.pubsub("versions.start", {"n": 21})
    assert output.data["doubled"] == 42
    assert output.job_id not in reads
    store: Any = hm._any_backend().store
    assert store.written.record(output.job_id) is None, "a closed job is not remembered"


async def test_a_write_since_the_remembered_version_is_read_before_the_step(
    mesh: Callable[[Callback], Awaitable[HotMesh]], hotmesh_dsn: str
) -> None:
    holder: dict[str, HotMesh] = {}

    async def written_meanwhile(message: WorkerMessage) -> dict[str, Any]:
        # Another process writes the job while the worker runs: the state the engine
        # remembers is no longer the job's.
        conn = await asyncpg.connect(hotmesh_dsn)
        try:
            await conn.execute(
                f'UPDATE "{schema_name(holder["hm"].app_id)}".jobs'
                " SET state = state || jsonb_build_object('d/other', 'elsewhere')"
                " WHERE id = $1",
                message.metadata["jid"],
            )
        finally:
            await conn.close()
        return await _double(message)

    hm = holder["hm"] = await mesh(written_meanwhile)
    reads = _reads(hm)
    output = await hm.pubsub("versions.start", {"n": 4})
    assert output.data["doubled"] == 8
    assert output.data["seen"] == "elsewhere", "the step was planned on a stale state"
    assert output.data["other"] == "elsewhere"
    assert reads.count(output.job_id) == 1
