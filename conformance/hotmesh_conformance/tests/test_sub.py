"""Sub contract: topics, patterns, size, fan-out, isolation of failures."""

from __future__ import annotations

import asyncio
from typing import Any

from hotmesh.spi import Backend
from hotmesh_conformance.harness import BackendFactory


class Inbox:
    """Collects deliveries; ``wait_for(n)`` resolves once n have arrived."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Event()

    def __call__(self, topic: str, message: dict[str, Any]) -> None:
        self.items.append((topic, message))
        self._changed.set()

    async def wait_for(self, count: int, timeout: float = 10) -> list[tuple[str, dict[str, Any]]]:
        async with asyncio.timeout(timeout):
            while len(self.items) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.items


async def test_exact_topic(backend: Backend) -> None:
    inbox = Inbox()
    await backend.sub.subscribe("job.done", inbox)
    await backend.sub.publish("job.other", {"n": 0})
    await backend.sub.publish("job.done", {"n": 1})
    await backend.sub.publish("job.done", {"n": 2})
    assert await inbox.wait_for(2) == [("job.done", {"n": 1}), ("job.done", {"n": 2})]


async def test_patterns(backend: Backend) -> None:
    star, qmark, klass = Inbox(), Inbox(), Inbox()
    await backend.sub.psubscribe("order.*", star)
    await backend.sub.psubscribe("order.?", qmark)
    await backend.sub.psubscribe("order.[ab]x", klass)
    for topic in ("invoice.a", "order.a", "order.bx", "order.long.name"):
        await backend.sub.publish(topic, {"t": topic})
    await backend.sub.publish("end", {})
    sentinel = Inbox()
    await backend.sub.subscribe("end", sentinel)
    await backend.sub.publish("end", {})
    await sentinel.wait_for(1)
    assert [t for t, _ in star.items] == ["order.a", "order.bx", "order.long.name"]
    assert [t for t, _ in qmark.items] == ["order.a"]
    assert [t for t, _ in klass.items] == ["order.bx"]


async def test_unsubscribe_stops_delivery(backend: Backend) -> None:
    kept, dropped = Inbox(), Inbox()
    await backend.sub.subscribe("t", kept)
    handle = await backend.sub.subscribe("t", dropped)
    await backend.sub.unsubscribe(handle)
    await backend.sub.unsubscribe(handle)  # idempotent
    await backend.sub.publish("t", {"n": 1})
    await kept.wait_for(1)
    assert dropped.items == []


async def test_large_payload_arrives_whole(backend: Backend) -> None:
    inbox = Inbox()
    await backend.sub.subscribe("big", inbox)
    body = {"blob": "é" * 300_000, "n": [1, 2, 3]}
    await backend.sub.publish("big", body)
    [(topic, got)] = await inbox.wait_for(1)
    assert topic == "big" and got == body


async def test_fan_out_across_connections(backends: BackendFactory) -> None:
    first = await backends.open()
    second = await backends.open(first.app_id)
    other_app = await backends.open()
    a, b, stranger = Inbox(), Inbox(), Inbox()
    await first.sub.subscribe("news", a)
    await second.sub.subscribe("news", b)
    await other_app.sub.subscribe("news", stranger)
    await first.sub.publish("news", {"v": 1})
    await a.wait_for(1)
    await b.wait_for(1)
    await other_app.sub.publish("news", {"v": 2})
    await stranger.wait_for(1)
    assert stranger.items == [("news", {"v": 2})], "apps never see each other's messages"
    assert a.items == b.items == [("news", {"v": 1})]


async def test_failing_callback_does_not_affect_others(backend: Backend) -> None:
    inbox = Inbox()

    def broken(topic: str, message: dict[str, Any]) -> None:
        raise RuntimeError("subscriber bug")

    async def broken_async(topic: str, message: dict[str, Any]) -> None:
        raise RuntimeError("async subscriber bug")

    await backend.sub.subscribe("t", broken)
    await backend.sub.subscribe("t", broken_async)
    await backend.sub.subscribe("t", inbox)
    await backend.sub.publish("t", {"n": 1})
    await backend.sub.publish("t", {"n": 2})
    assert [m["n"] for _, m in await inbox.wait_for(2)] == [1, 2]
