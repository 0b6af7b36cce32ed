"""The router over a real provider: once-only processing, lease renewal, retry, stop."""

from __future__ import annotations

import asyncio

from hotmesh.mesh.router import Router
from hotmesh.spi import Backend, OutgoingMessage, RetryPolicy, StreamMessage
from hotmesh_conformance.harness import assert_eventually


async def _depth(backend: Backend, stream: str) -> int:
    return (await backend.stream.depth([stream]))[stream].total


async def test_each_message_processed_once_and_acked(backend: Backend) -> None:
    seen: list[int] = []
    done = asyncio.Event()

    async def handle(message: StreamMessage) -> None:
        seen.append(message.payload["i"])
        await asyncio.sleep(0)
        if len(seen) == 200:
            done.set()

    await backend.stream.publish([OutgoingMessage("w", {"i": i}) for i in range(200)])
    async with Router(backend.stream, "w", handle, concurrency=8, batch=16):
        await asyncio.wait_for(done.wait(), 20)
    assert sorted(seen) == list(range(200))
    assert await _depth(backend, "w") == 0, "every success is acked by stop()"


async def test_lease_is_renewed_while_the_callback_runs(backend: Backend) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    attempts: list[int] = []

    async def slow(message: StreamMessage) -> None:
        attempts.append(message.attempt)
        started.set()
        await release.wait()

    await backend.stream.publish([OutgoingMessage("w", {"slow": True})])
    async with Router(backend.stream, "w", slow, lease=0.6) as router:
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.sleep(1.5)  # several leases' worth of time passing is the point
        assert await backend.stream.claim("w", consumer="thief") == [], "lease was not renewed"
        release.set()
        await assert_eventually(lambda: _depth(backend, "w"), lambda d: d == 0)
        assert router.processed == 1
    assert attempts == [1]


async def test_failure_is_retried_by_policy(backend: Backend) -> None:
    calls: list[int] = []
    done = asyncio.Event()

    async def flaky(message: StreamMessage) -> None:
        calls.append(message.attempt)
        if message.attempt < 3:
            raise RuntimeError("transient")
        done.set()

    policy = RetryPolicy(maximum_attempts=5, initial_interval=0.05, backoff_coefficient=2)
    await backend.stream.publish([OutgoingMessage("w", {"x": 1}, retry=policy)])
    async with Router(backend.stream, "w", flaky, poll_interval=0.2) as router:
        await asyncio.wait_for(done.wait(), 10)
    assert calls == [1, 2, 3]
    assert (router.failed, router.processed) == (2, 1)


async def test_exhausted_retries_dead_letter(backend: Backend) -> None:
    async def broken(message: StreamMessage) -> None:
        raise ValueError("card declined")

    policy = RetryPolicy(maximum_attempts=2, initial_interval=0.05)
    await backend.stream.publish([OutgoingMessage("w", {"x": 1}, retry=policy)])
    async with Router(backend.stream, "w", broken, poll_interval=0.2):
        [dead] = await assert_eventually(lambda: backend.stream.dead_letters("w"))
    assert dead.attempts == 2 and dead.error is not None and "card declined" in dead.error


async def test_throttle_pause_and_resume(backend: Backend) -> None:
    done = asyncio.Event()

    async def handle(message: StreamMessage) -> None:
        done.set()

    router = Router(backend.stream, "w", handle, poll_interval=0.2)
    router.throttle(-1)
    async with router:
        await backend.stream.publish([OutgoingMessage("w", {"x": 1})])
        await asyncio.sleep(0.5)  # a paused router must not consume meanwhile
        assert not done.is_set() and await _depth(backend, "w") == 1
        router.throttle(0)
        await asyncio.wait_for(done.wait(), 10)


async def test_stop_waits_for_in_flight_then_cancels(backend: Backend) -> None:
    started = asyncio.Event()
    finished: list[str] = []

    async def handle(message: StreamMessage) -> None:
        started.set()
        if message.payload["kind"] == "quick":
            await asyncio.sleep(0.1)
            finished.append("quick")
        else:
            await asyncio.Event().wait()  # never finishes

    await backend.stream.publish(
        [OutgoingMessage("w", {"kind": "quick"}), OutgoingMessage("w", {"kind": "stuck"})]
    )
    router = Router(backend.stream, "w", handle, concurrency=2, batch=2)
    await router.start()
    await asyncio.wait_for(started.wait(), 10)
    await router.stop(timeout=1.0)
    assert finished == ["quick"]
    depth = (await backend.stream.depth(["w"]))["w"]
    assert depth.total == 1 and depth.in_flight == 1, "the cancelled message stays leased"
