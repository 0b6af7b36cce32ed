"""``virtual.exec``: calls, the cache (hit, miss, ttl, flush), failures."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import virtual
from hotmesh.errors import DuplicateJob, JobFailed


async def test_exec_calls_the_connected_function(connection: dict[str, Any], namespace: str) -> None:
    async def hello(payload: dict[str, Any]) -> dict[str, Any]:
        return {"hello": payload}

    await virtual.connect(topic="my.function", connection=connection, callback=hello,
                          namespace=namespace)
    result = await virtual.exec(topic="my.function", connection=connection,
                                args=[{"payload": "HotMesh"}], namespace=namespace)
    assert result == {"hello": {"payload": "HotMesh"}}
