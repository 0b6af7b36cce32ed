"""The driver's lane: one pooled connection kept between statements (hotmesh_postgres.driver.Lane).

A statement that finds the lane free runs on its connection, the others on pooled ones;
a statement cancelled mid-flight, or a lane connection the server ended, never breaks the
statements after it; a small pool keeps no connection aside.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from hotmesh_conformance.harness import BackendFactory, assert_eventually

PID = "SELECT pg_backend_pid()"


def _driver(backend: Any) -> Any:
    driver = getattr(backend, "driver", None)
    assert driver is not None
    return driver


async def test_sequential_statements_share_one_connection_and_concurrent_ones_do_not(
    backends: BackendFactory,
) -> None:
    driver = _driver(await backends.open())
    first = await driver.fetchval(PID)
    assert [await driver.fetchval(PID) for _ in range(5)] == [first] * 5
    # Held on the lane by a sleeping statement, the others run on pooled connections.
    slow = asyncio.create_task(driver.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.3)"))
    await asyncio.sleep(0)  # the slow statement takes the lane
    others = await asyncio.gather(*(driver.fetchval(PID) for _ in range(3)))
    assert first not in others
    assert await slow == first
    assert await driver.fetchval(PID) == first


async def test_a_cancelled_statement_on_the_lane_leaves_the_next_one_working(
    backends: BackendFactory,
) -> None:
    driver = _driver(await backends.open())
    first = await driver.fetchval(PID)
    slow = asyncio.create_task(driver.fetchval("SELECT pg_sleep(5)"))
    await asyncio.sleep(0)  # the slow statement takes the lane (its first step)
    running = "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'"
    # The statement is on the server (read on a pooled connection: the lane is busy).
    await assert_eventually(lambda: driver.fetchval(running, first), lambda n: n == 1)
    slow.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await slow
    assert await driver.fetchval("SELECT 41 + 1") == 42
    assert await driver.fetchval(PID) != first, "the interrupted connection was not reused"


async def test_a_lane_connection_ended_by_the_server_is_replaced(
    backends: BackendFactory,
) -> None:
    driver = _driver(await backends.open())
    killer = _driver(await backends.open())
    first = await driver.fetchval(PID)
    assert await killer.fetchval("SELECT pg_terminate_backend($1::int)", first)
    await assert_eventually(
        lambda: killer.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", first),
        lambda alive: alive == 0,
    )
    # Not safe to repeat, yet it runs once: the dead connection is noticed before use.
    assert await driver.fetchval("SELECT 7", replay=False) == 7
    assert await driver.fetchval(PID) != first


async def test_a_small_pool_keeps_no_connection_aside(backends: BackendFactory) -> None:
    driver = _driver(await backends.open(max_size=1, min_size=1))
    slow = asyncio.create_task(driver.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.2)"))
    await asyncio.sleep(0)
    # A lane would hold the pool's only connection for good and this statement would wait
    # forever: it gets that connection when the slow statement gives it back.
    waiting = await asyncio.wait_for(driver.fetchval(PID), 10)
    assert waiting == await slow
