"""Store contract: hooks and parked signals, and purging a job's messages."""

from __future__ import annotations

import asyncio

from hotmesh.spi import Backend, OutgoingMessage
from hotmesh_conformance.harness import assert_eventually

TARGET = {"jid": "j1", "aid": "a1", "dad": ",0", "topic": "t"}


async def test_register_then_signal(backend: Backend) -> None:
    store = backend.store
    assert await store.register_hook("k", TARGET, ttl=60) is None
    assert await store.signal_hook("k", {"x": 1}, ttl=60) == TARGET
    assert await store.signal_hook("k", {"x": 2}, ttl=60) == TARGET, "a hook stays registered"
    assert await store.signal_hook("other", {"x": 3}, ttl=60) is None, "keys are separate"


async def test_signal_before_register_is_parked(backend: Backend) -> None:
    store = backend.store
    assert await store.signal_hook("k", {"early": "✓", "n": [1, None]}, ttl=60) is None
    assert await store.register_hook("k", TARGET, ttl=60) == {"early": "✓", "n": [1, None]}
    assert await store.signal_hook("k", {"late": 1}, ttl=60) == TARGET, "the hook replaced it"


async def test_delete_hook(backend: Backend) -> None:
    store = backend.store
    await store.register_hook("k", TARGET, ttl=60)
    await store.delete_hook("k")
    assert await store.signal_hook("k", {"x": 1}, ttl=60) is None, "no hook: parked"
    await store.delete_hook("k")
    assert await store.register_hook("k", TARGET, ttl=60) is None, "the parked signal is gone"
    await store.delete_hook("never-registered")  # no error


async def test_delete_hook_for_a_target_keeps_another_targets_hook(backend: Backend) -> None:
    store = backend.store
    other = {**TARGET, "jid": "j2"}
    await store.register_hook("k", other, ttl=60)
    await store.delete_hook("k", target=TARGET)
    assert await store.signal_hook("k", {"x": 1}, ttl=60) == other, "another target's hook stays"
    await store.delete_hook("k", target=other)
    assert await store.signal_hook("k", {"x": 2}, ttl=60) is None, "its own target's is removed"
    await store.delete_hook("k", target=TARGET)
    assert await store.register_hook("k", TARGET, ttl=60) == {"x": 2}, "a parked signal stays"


async def test_hook_expires_after_its_ttl(backend: Backend) -> None:
    store = backend.store
    await store.register_hook("k", TARGET, ttl=0.3)
    await store.register_hook("kept", TARGET, ttl=60)
    await assert_eventually(
        lambda: store.signal_hook("k", {"x": 1}, ttl=60),
        lambda found: found is None,
        message="an expired hook was still found",
    )
    assert await store.register_hook("k", TARGET, ttl=60) == {"x": 1}, "then parked"
    assert await store.signal_hook("kept", {"x": 2}, ttl=60) == TARGET


async def test_signal_meets_hook_exactly_once(backend: Backend) -> None:
    store = backend.store
    keys = [f"race-{i}" for i in range(40)]

    async def register(key: str) -> bool:
        return await store.register_hook(key, TARGET, ttl=60) is not None

    async def signal(key: str) -> bool:
        return await store.signal_hook(key, {"key": key}, ttl=60) is not None

    calls = []
    for i, key in enumerate(keys):
        first, second = (register, signal) if i % 2 else (signal, register)
        calls += [first(key), second(key)]
    outcomes = await asyncio.gather(*calls)
    pairs = list(zip(outcomes[::2], outcomes[1::2], strict=True))
    assert all(a != b for a, b in pairs), "each signal is delivered once, whoever came first"


async def test_purge_job_messages(backend: Backend) -> None:
    store, stream = backend.store, backend.stream
    mine = [
        OutgoingMessage("w", {"n": 1}, job_id="j"),
        OutgoingMessage("timers", {"n": 2}, job_id="j", delay=120),
        OutgoingMessage("w", {"n": 3}, job_id="j"),
    ]
    await store.create_job("j", {"a": 1}, semaphore=1, messages=mine)
    await stream.publish([OutgoingMessage("w", {"n": 4}, job_id="other")])
    [held] = await stream.claim("w")  # a leased message of the job is purged too
    assert held.job_id == "j"
    assert await store.purge_job_messages("j") == 3
    assert await store.purge_job_messages("j") == 0
    assert [m.job_id for m in await stream.claim("w", limit=10)] == ["other"]
    assert (await stream.depth(["timers"]))["timers"].total == 0
    job = await store.get_job("j")
    assert job is not None and job.state == {"a": 1}, "the job itself stays"
    assert await stream.ack([held]) == set()
