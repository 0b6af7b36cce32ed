"""Stream contract: publish, claim, ack, order, payloads, depth."""

from __future__ import annotations

import asyncio

import pytest

from hotmesh.errors import PayloadError, StreamError
from hotmesh.spi import Backend, OutgoingMessage, StreamMessage
from hotmesh_conformance.harness import BackendFactory


def msg(stream: str, i: int, **kw: object) -> OutgoingMessage:
    return OutgoingMessage(stream, {"i": i}, **kw)  # type: ignore[arg-type]


async def test_publish_claim_ack_roundtrip(backend: Backend) -> None:
    payload = {"text": "héllo ✓ 日本", "n": 1.5, "none": None, "empty": "", "list": [1, {"a": []}]}
    ids = await backend.stream.publish([OutgoingMessage("s", payload, job_id="job-1")])
    assert len(ids) == 1
    [got] = await backend.stream.claim("s", limit=10, consumer="c")
    assert (got.id, got.payload, got.attempt, got.job_id) == (ids[0], payload, 1, "job-1")
    assert not got.redelivered
    assert await backend.stream.ack([got]) == {got.id}
    assert await backend.stream.claim("s", limit=10) == []
    assert await backend.stream.ack([got]) == set(), "a second ack removes nothing"


async def test_publish_returns_ids_in_order(backend: Backend) -> None:
    ids = await backend.stream.publish([msg("s", i) for i in range(50)])
    assert ids == sorted(ids) and len(set(ids)) == 50
    claimed = await backend.stream.claim("s", limit=50)
    assert [m.payload["i"] for m in claimed] == list(range(50))


async def test_streams_are_isolated(backend: Backend) -> None:
    await backend.stream.publish([msg("a", 1), msg("b", 2)])
    [a] = await backend.stream.claim("a", limit=10)
    [b] = await backend.stream.claim("b", limit=10)
    assert (a.payload, b.payload) == ({"i": 1}, {"i": 2})


async def test_apps_are_isolated(backends: BackendFactory) -> None:
    one, two = await backends.open(), await backends.open()
    await one.stream.publish([msg("s", 1)])
    assert await two.stream.claim("s", limit=10) == []
    assert len(await one.stream.claim("s", limit=10)) == 1


async def test_priority_then_age(backend: Backend) -> None:
    plan = [(0, 0), (5, 1), (1, 2), (5, 3), (9, 4), (0, 5)]
    await backend.stream.publish([msg("s", i, priority=p) for p, i in plan])
    got = await backend.stream.claim("s", limit=10)
    assert [m.payload["i"] for m in got] == [4, 1, 3, 2, 0, 5]
    assert [m.priority for m in got] == [9, 5, 5, 1, 0, 0]


async def test_claim_respects_limit_across_priorities(backend: Backend) -> None:
    await backend.stream.publish([msg("s", i, priority=i % 3) for i in range(9)])
    first = await backend.stream.claim("s", limit=4)
    rest = await backend.stream.claim("s", limit=100)
    assert len(first) == 4 and len(rest) == 5
    assert {m.payload["i"] for m in first} | {m.payload["i"] for m in rest} == set(range(9))
    assert min(m.priority for m in first) >= max(m.priority for m in rest)


async def test_delayed_messages_do_not_block_others(backend: Backend) -> None:
    await backend.stream.publish([msg("s", i, priority=5, delay=60) for i in range(20)])
    await backend.stream.publish([msg("s", 100, priority=5), msg("s", 101, priority=1)])
    got = await backend.stream.claim("s", limit=10)
    assert [m.payload["i"] for m in got] == [100, 101]


async def test_delayed_visibility_and_wakeup(backend: Backend) -> None:
    loop = asyncio.get_running_loop()
    await backend.stream.claim("timers", consumer="c")  # registers the consumer's wake-ups
    start = loop.time()
    await backend.stream.publish([msg("timers", 1, delay=0.4)])
    assert await backend.stream.claim("timers", consumer="c") == []
    got: list[StreamMessage] = []
    while not got:
        await backend.stream.wait("timers", 10, consumer="c")
        got = await backend.stream.claim("timers", consumer="c")
        assert loop.time() - start < 8, "a delayed message was never delivered"
    assert loop.time() - start >= 0.39
    assert got[0].payload == {"i": 1}


async def test_wait_is_woken_by_another_connection(backends: BackendFactory) -> None:
    consumer = await backends.open()
    producer = await backends.open(consumer.app_id)
    loop = asyncio.get_running_loop()
    assert await consumer.stream.claim("wake", consumer="c") == []
    waiter = asyncio.create_task(consumer.stream.wait("wake", 30, consumer="c"))
    await asyncio.sleep(0)
    start = loop.time()
    await producer.stream.publish([msg("wake", 1)])
    await asyncio.wait_for(waiter, 10)
    assert loop.time() - start < 5, "woken by the poll timeout, not the notification"
    assert len(await consumer.stream.claim("wake", consumer="c")) == 1


async def test_concurrent_consumers_each_message_once(backends: BackendFactory) -> None:
    first = await backends.open()
    app = first.app_id
    members = [first] + [await backends.open(app) for _ in range(3)]
    total = 600
    await first.stream.publish([msg("work", i) for i in range(total)])
    seen: list[int] = []

    async def consume(backend: Backend, name: str) -> None:
        while True:
            batch = await backend.stream.claim("work", limit=7, consumer=name)
            if not batch:
                return
            seen.extend(m.payload["i"] for m in batch)
            assert await backend.stream.ack(batch) == {m.id for m in batch}

    await asyncio.gather(
        *(consume(m, f"c{i}-{j}") for i, m in enumerate(members) for j in range(2))
    )
    assert len(seen) == total, "a message was delivered twice or lost"
    assert set(seen) == set(range(total))


async def test_one_megabyte_payload(backend: Backend) -> None:
    big = {"blob": "x" * (1024 * 1024), "tail": "✓"}
    await backend.stream.publish([OutgoingMessage("s", big)])
    [got] = await backend.stream.claim("s")
    assert got.payload == big


async def test_bad_payloads_store_nothing(backend: Backend) -> None:
    await backend.stream.publish([msg("s", 0)])
    with pytest.raises(PayloadError):
        await backend.stream.publish([msg("s", 1), OutgoingMessage("s", {"bad": object()})])
    with pytest.raises(PayloadError):
        await backend.stream.publish([OutgoingMessage("s", {"nan": float("nan")})])
    with pytest.raises(PayloadError, match="bytes"):
        await backend.stream.publish([OutgoingMessage("s", {"x": "y" * (17 * 1024 * 1024)})])
    depth = await backend.stream.depth(["s"])
    assert depth["s"].total == 1, "a rejected batch must store none of its messages"


async def test_bad_claim_arguments(backend: Backend) -> None:
    with pytest.raises(StreamError):
        await backend.stream.claim("s", limit=0)
    with pytest.raises(StreamError):
        await backend.stream.claim("s", lease=0)
    with pytest.raises(ValueError):
        OutgoingMessage("s", {}, priority=10)


async def test_depth_by_state(backend: Backend) -> None:
    await backend.stream.publish([msg("s", i) for i in range(5)])
    await backend.stream.publish([msg("s", 9, delay=120)])
    await backend.stream.claim("s", limit=2)
    depth = await backend.stream.depth(["s", "empty"])
    assert (depth["s"].ready, depth["s"].delayed, depth["s"].in_flight) == (3, 1, 2)
    assert depth["s"].total == 6
    assert depth["empty"].total == 0


async def test_purge(backend: Backend) -> None:
    await backend.stream.publish([msg("s", i) for i in range(4)] + [msg("t", 1)])
    assert await backend.stream.purge("s") == 4
    assert (await backend.stream.depth(["s", "t"]))["t"].total == 1
