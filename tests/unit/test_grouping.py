"""GroupCommit (hotmesh_postgres.grouping): no batching delay at low load, batches under
load, and one failing call never fails the others."""

from __future__ import annotations

import asyncio

import pytest

from hotmesh.errors import DatabaseUnavailable
from hotmesh_postgres.grouping import GroupCommit


class Recorder:
    """A batch runner that records its batches and can be held open or made to fail."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.tasks: list[asyncio.Task[object] | None] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_batches: type[Exception] | None = None
        self.want = 1
        self.started = asyncio.Event()  # set once ``want`` batches have started

    async def run(self, items: list[int]) -> list[int | Exception]:
        self.batches.append(list(items))
        self.tasks.append(asyncio.current_task())
        if len(self.batches) >= self.want:
            self.started.set()
        await self.gate.wait()
        if self.fail_batches is not None and len(items) > 1:
            raise self.fail_batches("the batch failed")
        return [ValueError(f"item {i} refused") if i < 0 else i * 10 for i in items]


async def test_a_lone_call_runs_at_once_in_the_callers_task() -> None:
    rec = Recorder()
    group: GroupCommit[int, int] = GroupCommit(rec.run)
    assert await group.submit(1) == 10
    assert await group.submit(2) == 20
    assert rec.batches == [[1], [2]]
    # No task was spawned and nothing waited: the caller ran its own statement.
    assert rec.tasks == [asyncio.current_task()] * 2


async def test_calls_arriving_while_one_is_in_flight_go_in_one_batch() -> None:
    rec = Recorder()
    rec.gate.clear()
    group: GroupCommit[int, int] = GroupCommit(rec.run)
    calls = [asyncio.ensure_future(group.submit(i)) for i in range(1, 6)]
    await rec.started.wait()
    rec.gate.set()
    assert await asyncio.gather(*calls) == [10, 20, 30, 40, 50]
    assert rec.batches == [[1], [2, 3, 4, 5]]
    assert (group.batches, group.items) == (2, 5)


async def test_a_batch_is_cut_at_max_batch() -> None:
    rec = Recorder()
    rec.gate.clear()
    group: GroupCommit[int, int] = GroupCommit(rec.run, max_batch=2)
    calls = [asyncio.ensure_future(group.submit(i)) for i in range(1, 6)]
    await rec.started.wait()
    rec.gate.set()
    await asyncio.gather(*calls)
    assert rec.batches == [[1], [2, 3], [4, 5]]


async def test_an_items_own_error_is_raised_to_its_caller_only() -> None:
    rec = Recorder()
    rec.gate.clear()
    group: GroupCommit[int, int] = GroupCommit(rec.run)
    calls = [asyncio.ensure_future(group.submit(i)) for i in (1, 2, -3, 4)]
    await rec.started.wait()
    rec.gate.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert results[:2] == [10, 20] and results[3] == 40
    assert isinstance(results[2], ValueError)
    assert rec.batches == [[1], [2, -3, 4]]  # not re-run: the batch itself succeeded


async def test_a_failed_batch_is_run_again_one_call_at_a_time() -> None:
    rec = Recorder()
    rec.gate.clear()
    rec.fail_batches = RuntimeError
    group: GroupCommit[int, int] = GroupCommit(rec.run)
    calls = [asyncio.ensure_future(group.submit(i)) for i in (1, 2, -3, 4)]
    await rec.started.wait()
    rec.gate.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert results[:2] == [10, 20] and results[3] == 40
    assert isinstance(results[2], ValueError)
    assert rec.batches == [[1], [2, -3, 4], [2], [-3], [4]]


async def test_a_lost_database_is_every_callers_error_and_nothing_is_rerun() -> None:
    rec = Recorder()
    rec.gate.clear()
    rec.fail_batches = DatabaseUnavailable
    group: GroupCommit[int, int] = GroupCommit(rec.run)
    calls = [asyncio.ensure_future(group.submit(i)) for i in (1, 2, 3)]
    await rec.started.wait()
    rec.gate.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert results[0] == 10
    assert all(isinstance(r, DatabaseUnavailable) for r in results[1:])
    assert rec.batches == [[1], [2, 3]]


@pytest.mark.parametrize("in_flight", [1, 2])
async def test_at_most_max_in_flight_batches_run_at_once(in_flight: int) -> None:
    rec = Recorder()
    rec.gate.clear()
    rec.want = in_flight
    group: GroupCommit[int, int] = GroupCommit(rec.run, max_in_flight=in_flight)
    calls = [asyncio.ensure_future(group.submit(i)) for i in range(1, 6)]
    await rec.started.wait()
    # Every call has been made (tasks start in order): the rest wait for a batch to finish.
    assert len(rec.batches) == in_flight
    assert len(group._queue) == 5 - in_flight
    rec.gate.set()
    assert await asyncio.gather(*calls) == [10, 20, 30, 40, 50]
