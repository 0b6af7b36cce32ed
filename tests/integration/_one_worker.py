"""Meshes of one app with its engine and one worker in this process (asyncpg)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from hotmesh import HotMesh
from hotmesh.types import WorkerMessage

Callback = Callable[[WorkerMessage], Awaitable[dict[str, Any]]]


@asynccontextmanager
async def one_worker_meshes(
    dsn: str, app_yaml: str, topic: str
) -> AsyncIterator[Callable[[Callback], Awaitable[HotMesh]]]:
    """A starter of meshes running ``app_yaml`` (its ``{APP}`` a fresh app id) with a
    worker on ``topic`` calling the callback given; all stopped on exit."""
    started: list[HotMesh] = []

    async def start(callback: Callback) -> HotMesh:
        app_id = f"{topic.split('.')[0]}-{uuid.uuid4().hex[:8]}"
        connection = {"class": "asyncpg", "options": {"dsn": dsn}}
        hm = await HotMesh.init(
            app_id=app_id,
            engine={"connection": connection},
            workers=[{"topic": topic, "connection": connection, "callback": callback}],
        )
        started.append(hm)
        await hm.deploy(app_yaml.replace("{APP}", app_id))
        await hm.activate("1")
        return hm

    try:
        yield start
    finally:
        for hm in started:
            await hm.stop()
