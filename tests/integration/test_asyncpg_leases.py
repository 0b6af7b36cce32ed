"""The asyncpg driver keeps connections between statements without starving anyone."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from hotmesh.errors import PayloadError
from hotmesh_asyncpg._driver import AsyncpgDriver
from hotmesh_conformance.harness import assert_eventually


async def test_a_connection_is_reused_and_a_failed_one_goes_back(hotmesh_dsn: str) -> None:
    driver = await AsyncpgDriver.connect({"dsn": hotmesh_dsn, "max_size": 2})
    try:
        first = await driver.fetchval("SELECT pg_backend_pid()")
        assert await driver.fetchval("SELECT pg_backend_pid()") == first
        with pytest.raises(PayloadError, match="division by zero"):
            await driver.fetchval("SELECT 1 / 0")
        # The failed connection went back to the pool, which hands it out again intact.
        assert await driver.fetchval("SELECT 41 + 1") == 42
        async with driver.transaction() as tx:
            await tx.execute("SELECT 1")
        assert await driver.fetchval("SELECT 2") == 2
    finally:
        await driver.close()


async def test_a_full_pool_does_not_starve_waiters(hotmesh_dsn: str) -> None:
    driver = await AsyncpgDriver.connect({"dsn": hotmesh_dsn, "min_size": 1, "max_size": 1})
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(driver.fetchval("SELECT $1::int", i) for i in range(20))), 60
        )
        assert results == list(range(20))
    finally:
        await driver.close()


async def test_expired_connections_are_replaced(hotmesh_dsn: str) -> None:
    driver = await AsyncpgDriver.connect({"dsn": hotmesh_dsn, "max_size": 2})
    admin = await asyncpg.connect(hotmesh_dsn)
    try:
        pid = await driver.fetchval("SELECT pg_backend_pid()")
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        await assert_eventually(
            lambda: admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid),
            lambda alive: alive == 0,
            timeout=10,
        )
        # The kept connection was ended by the server: a new one answers, nothing is lost.
        assert await driver.fetchval("SELECT 7") == 7
        assert await driver.fetchval("SELECT pg_backend_pid()") != pid
    finally:
        await admin.close()
        await driver.close()
