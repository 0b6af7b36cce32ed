"""Wake-ups: one NOTIFY per publishing statement (sent by enqueue_v1), naming its streams."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from hotmesh.spi import Backend, OutgoingMessage
from hotmesh_conformance.harness import BackendFactory
from hotmesh_postgres.naming import channel_name, schema_name


class Listener:
    """A raw asyncpg LISTEN on one channel, plus a sentinel channel to fence on."""

    def __init__(self, conn: asyncpg.Connection[Any], channel: str) -> None:
        self.conn = conn
        self.channel = channel
        self.sentinel = f"hm_test_sentinel_{uuid.uuid4().hex[:12]}"
        self.received: list[str] = []
        self._fenced = asyncio.Event()

    async def start(self) -> None:
        await self.conn.add_listener(self.channel, self._on_wake)
        await self.conn.add_listener(self.sentinel, self._on_sentinel)

    def _on_wake(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.received.append(payload)

    def _on_sentinel(self, _conn: Any, _pid: int, _channel: str, _payload: str) -> None:
        self._fenced.set()

    async def drain(self, backend: Backend) -> list[Any]:
        """Every wake-up committed before now: NOTIFYs arrive in commit order."""
        self._fenced.clear()
        await backend.driver.execute("SELECT pg_notify($1, 'fence')", self.sentinel)  # type: ignore[attr-defined]
        await asyncio.wait_for(self._fenced.wait(), timeout=10)
        got, self.received = self.received, []
        return [json.loads(p) for p in got]


@pytest.fixture
async def listener(backend: Backend, hotmesh_dsn: str) -> AsyncIterator[Listener]:
    conn = await asyncpg.connect(hotmesh_dsn)
    watcher = Listener(conn, channel_name("w", schema_name(backend.app_id)))
    try:
        await watcher.start()
        yield watcher
    finally:
        await conn.close()


async def test_one_notify_for_a_hundred_messages_on_three_streams(
    backend: Backend, listener: Listener
) -> None:
    streams = ["alpha", "beta", "gamma"]
    ids = await backend.stream.publish(
        [OutgoingMessage(streams[i % 3], {"i": i}) for i in range(100)]
    )
    assert len(ids) == 100
    notes = await listener.drain(backend)
    assert notes == [dict.fromkeys(streams, 0)]


async def test_each_publish_statement_notifies_once(backend: Backend, listener: Listener) -> None:
    for i in range(3):
        await backend.stream.publish([OutgoingMessage("s", {"i": i}), OutgoingMessage("t", {})])
    assert await listener.drain(backend) == [{"s": 0, "t": 0}] * 3


async def test_delayed_streams_carry_when_they_become_visible(
    backend: Backend, listener: Listener
) -> None:
    before = time.time()
    await backend.stream.publish(
        [
            OutgoingMessage("later", {}, delay=60),
            OutgoingMessage("later", {}, delay=30),
            OutgoingMessage("now", {}),
        ]
    )
    [note] = await listener.drain(backend)
    assert note["now"] == 0
    assert before + 29 <= note["later"] <= time.time() + 31, "the earliest delayed row counts"


async def test_one_statement_with_immediate_and_delayed_rows_reports_both(
    backend: Backend, listener: Listener
) -> None:
    before = time.time()
    await backend.stream.publish(
        [OutgoingMessage("mixed", {}), OutgoingMessage("mixed", {}, delay=20)]
    )
    [note] = await listener.drain(backend)
    now_flag, later = note["mixed"]
    assert now_flag == 0, "the claimable row wakes consumers now"
    assert before + 19 <= later <= time.time() + 21, "and the timer is armed too"


async def test_oversize_notification_falls_back_to_a_star(
    backend: Backend, listener: Listener
) -> None:
    streams = [f"stream-{i:03d}-" + "x" * 80 for i in range(100)]  # > 7900 bytes of JSON
    await backend.stream.publish([OutgoingMessage(s, {}) for s in streams])
    assert await listener.drain(backend) == ["*"]
    depth = await backend.stream.depth(streams)
    assert sum(d.ready for d in depth.values()) == 100


async def test_nothing_published_nothing_notified(backend: Backend, listener: Listener) -> None:
    assert await backend.stream.publish([]) == []
    assert await listener.drain(backend) == []


async def test_longest_app_id_publishes_and_is_woken(
    backends: BackendFactory, hotmesh_dsn: str
) -> None:
    app_id = f"long-{uuid.uuid4().hex}".ljust(63, "x")  # the longest app id schema_name takes
    backend = await backends.open(app_id=app_id)
    conn = await asyncpg.connect(hotmesh_dsn)
    try:
        watcher = Listener(conn, channel_name("w", schema_name(app_id)))
        await watcher.start()
        await backend.stream.publish([OutgoingMessage("s", {"i": 1})])
        assert await watcher.drain(backend) == [{"s": 0}]
    finally:
        await conn.close()
