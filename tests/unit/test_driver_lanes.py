"""hotmesh_postgres.driver.Lanes: how many pooled connections a driver keeps aside.

A statement takes the first free lane (sequential statements keep the first one); a pool
too small keeps none, and at least three connections always stay in the pool.
"""

from __future__ import annotations

import asyncio

import pytest

from hotmesh_postgres.driver import LANE_MIN_POOL, MAX_LANES, Lanes


def _lanes(max_size: int, opened: list[object]) -> Lanes[object]:
    async def acquire() -> object:
        conn = object()
        opened.append(conn)
        return conn

    async def release(conn: object) -> None:
        opened.remove(conn)

    async def discard(conn: object) -> None:
        opened.remove(conn)

    return Lanes(
        max_size, acquire=acquire, release=release, usable=lambda conn: True,
        discard=discard, classify=lambda err: None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("max_size", "count"), [(1, 0), (LANE_MIN_POOL - 1, 0), (LANE_MIN_POOL, 1), (5, 2), (20, 3)]
)
async def test_lanes_run_as_many_statements_at_once_as_the_pool_spares(
    max_size: int, count: int
) -> None:
    opened: list[object] = []
    lanes = _lanes(max_size, opened)
    started = asyncio.Event()
    release = asyncio.Event()

    async def hold(conn: object) -> object:
        started.set()
        await release.wait()
        return conn

    running = []
    while (lane := lanes.free()) is not None:
        started.clear()
        running.append(asyncio.create_task(lane.run(hold)))
        await started.wait()  # the statement holds its lane
    assert len(running) == count <= MAX_LANES
    assert max_size - count >= min(max_size, 3)  # the pool keeps three for the rest
    release.set()
    conns = await asyncio.gather(*running)
    assert len(set(map(id, conns))) == count
    # Sequential statements keep using the first lane's connection.
    if count:
        first = lanes.free()
        assert first is not None
        assert await first.run(lambda conn: _same(conn)) is conns[0]
    await lanes.close()
    assert opened == []  # every connection went back to the pool


async def _same(conn: object) -> object:
    return conn
