"""Store contract: versions, settings, jobs and the one-statement step."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh.errors import ConfigError, PayloadError
from hotmesh.spi import Backend, OutgoingMessage
from hotmesh_conformance.harness import BackendFactory


async def test_versions_and_activation(backend: Backend) -> None:
    store = backend.store
    assert await store.active_version() is None
    assert await store.get_version("1") is None
    await store.put_version("1", {"graphs": [{"subscribes": "a"}]})
    await store.put_version("2", {"graphs": []})
    await store.put_version("1", {"graphs": [{"subscribes": "b"}]})  # not active: replaced
    assert await store.list_versions() == ["1", "2"]
    assert await store.get_version("1") == {"graphs": [{"subscribes": "b"}]}
    await store.activate("1")
    assert await store.active_version() == "1"
    await store.put_version("1", {"graphs": [{"subscribes": "b"}]})  # same: a no-op
    with pytest.raises(ConfigError, match="active"):
        await store.put_version("1", {"graphs": []})
    assert await store.get_version("1") == {"graphs": [{"subscribes": "b"}]}, "unchanged"
    with pytest.raises(ConfigError, match="not been deployed"):
        await store.activate("9")
    assert await store.active_version() == "1"
    await store.activate("2")
    assert await store.active_version() == "2"


async def test_settings(backend: Backend) -> None:
    store = backend.store
    assert await store.get_setting("throttle") is None
    await store.set_setting("throttle", {"delay": 0.5, "topics": ["a"]})
    await store.set_setting("throttle", {"delay": -1})
    assert await store.get_setting("throttle") == {"delay": -1}
    with pytest.raises(PayloadError):
        await store.set_setting("bad", {"x": {1, 2}})
    assert await store.get_setting("bad") is None


async def test_create_job_with_messages(backend: Backend) -> None:
    store, stream = backend.store, backend.stream
    first = [OutgoingMessage("engine", {"step": 1}, job_id="j1")]
    assert await store.create_job("j1", {"a": 1, "s": ""}, semaphore=1, messages=first)
    assert not await store.create_job("j1", {"a": 2}, semaphore=5, messages=first)
    job = await store.get_job("j1")
    assert job is not None and (job.state, job.semaphore) == ({"a": 1, "s": ""}, 1)
    claimed = await stream.claim("engine", limit=10)
    assert [m.payload for m in claimed] == [{"step": 1}], "a duplicate create publishes nothing"
    assert await store.get_job("missing") is None
    assert await store.get_status("j1") == 1
    assert await store.get_status("missing") is None


async def test_apply_step_merges_and_publishes(backend: Backend) -> None:
    store, stream = backend.store, backend.stream
    await store.create_job("j", {"keep": 1, "drop": 2, "nested": {"x": None}}, semaphore=1)
    result = await store.apply_step(
        "j",
        {"drop": None, "new": [1, 2], "keep": 3},
        semaphore_delta=1,
        messages=[OutgoingMessage("w", {"n": 1}), OutgoingMessage("w", {"n": 2})],
    )
    assert result.applied and result.semaphore == 2 and len(result.message_ids) == 2
    job = await store.get_job("j")
    assert job is not None
    assert job.state == {"keep": 3, "new": [1, 2], "nested": {"x": None}}
    assert [m.payload["n"] for m in await stream.claim("w", limit=5)] == [1, 2]


async def test_apply_step_fence_applies_once(backend: Backend) -> None:
    store, stream = backend.store, backend.stream
    await store.create_job("j", {"count": 0}, semaphore=3)
    await stream.publish([OutgoingMessage("engine", {"go": 1}, job_id="j")])
    [delivery] = await stream.claim("engine")

    async def step() -> bool:
        result = await store.apply_step(
            "j",
            {"done": True},
            semaphore_delta=-1,
            messages=[OutgoingMessage("next", {"n": 1})],
            fence=delivery,
        )
        return result.applied

    outcomes = await asyncio.gather(*(step() for _ in range(5)))
    assert sorted(outcomes) == [False] * 4 + [True], "exactly one concurrent step applies"
    job = await store.get_job("j")
    assert job is not None and job.semaphore == 2
    assert len(await stream.claim("next", limit=10)) == 1
    assert await stream.claim("engine") == [], "the fence message was acked by the step"


async def test_stale_fence_does_nothing(backend: Backend) -> None:
    store, stream = backend.store, backend.stream
    await store.create_job("j", {}, semaphore=1)
    await stream.publish([OutgoingMessage("engine", {"go": 1})])
    [delivery] = await stream.claim("engine", lease=0.2)
    [redelivery] = await _reclaim(backend)
    stale = await store.apply_step("j", {"by": "stale"}, semaphore_delta=-1, fence=delivery)
    assert not stale.applied
    fresh = await store.apply_step("j", {"by": "fresh"}, semaphore_delta=-1, fence=redelivery)
    assert fresh.applied and fresh.semaphore == 0
    job = await store.get_job("j")
    assert job is not None and job.state == {"by": "fresh"}


async def _reclaim(backend: Backend) -> list:  # type: ignore[type-arg]
    from hotmesh_conformance.harness import assert_eventually

    return await assert_eventually(lambda: backend.stream.claim("engine", lease=30))


async def test_step_on_missing_job_is_not_applied(backend: Backend) -> None:
    result = await backend.store.apply_step(
        "nope", {"a": 1}, messages=[OutgoingMessage("w", {"n": 1})]
    )
    assert not result.applied
    assert await backend.stream.claim("w") == []


async def test_delete_job_removes_its_messages(backend: Backend) -> None:
    store, stream = backend.store, backend.stream
    await store.create_job("j", {}, messages=[OutgoingMessage("w", {"n": 1}, job_id="j")])
    await stream.publish([OutgoingMessage("w", {"n": 2}, job_id="other")])
    assert await store.delete_job("j")
    assert not await store.delete_job("j")
    assert await store.get_job("j") is None
    assert [m.job_id for m in await stream.claim("w", limit=5)] == ["other"]


async def test_schema_setup_is_idempotent(backends: BackendFactory) -> None:
    first = await backends.open()
    await first.store.set_setting("k", 1)
    again = await asyncio.gather(*(backends.open(first.app_id) for _ in range(4)))
    for backend in again:
        assert await backend.store.get_setting("k") == 1


async def test_apply_step_guard_expects_clear_keys(backend: Backend) -> None:
    """``expect``: the step applies only on an open job whose clear keys hold the values."""
    store, stream = backend.store, backend.stream
    await store.create_job("j", {"f/a,0": 1, "d/x": 1}, semaphore=2)
    await stream.publish([OutgoingMessage("engine", {"go": 1}, job_id="j")])
    [delivery] = await stream.claim("engine")
    stale = await store.apply_step(
        "j", {"d/x": 2, "f/a,0": 1}, semaphore_delta=-1, fence=delivery, expect={"f/a,0": 0}
    )
    assert not stale.applied and stale.conflict, "the counter moved: a conflict"
    absent = await store.apply_step("j", {"d/x": 3}, fence=delivery, expect={"f/b,0": 1})
    assert absent.conflict, "a key expected with a value must be there"
    job = await store.get_job("j")
    assert job is not None and (job.state["d/x"], job.semaphore) == (1, 2), "nothing written"
    ok = await store.apply_step(
        "j",
        {"d/x": 4, "f/a,0": 2},
        semaphore_delta=-1,
        messages=[OutgoingMessage("next", {"n": 1})],
        fence=delivery,
        expect={"f/a,0": 1, "f/b,0": None},
    )
    assert ok.applied and not ok.conflict and ok.semaphore == 1
    assert await stream.claim("engine") == [], "the fence was consumed by the applied step"
    again = await store.apply_step("j", {"d/x": 5}, fence=delivery, expect={"f/a,0": 2})
    assert not again.applied and not again.conflict, "fence gone: already applied"


async def test_apply_step_guard_keeps_a_closed_job_closed(backend: Backend) -> None:
    store = backend.store
    await store.create_job("j", {}, semaphore=1)
    closed = await store.apply_step("j", {"d/x": 1}, semaphore_delta=-1, expect={})
    assert closed.applied and closed.state == {"d/x": 1}
    late = await store.apply_step("j", {"d/x": 2}, semaphore_delta=-1, expect={})
    assert late.conflict and not late.applied, "a closed job never reopens"
    job = await store.get_job("j")
    assert job is not None and (job.state, job.semaphore) == ({"d/x": 1}, 0)
    missing = await store.apply_step("nope", {"d/x": 1}, expect={})
    assert missing.conflict and not missing.applied


async def test_apply_step_guard_lets_one_of_racing_steps_apply(backend: Backend) -> None:
    """Steps built from one snapshot, each with its own delivery: exactly one applies."""
    store, stream = backend.store, backend.stream
    await store.create_job("j", {}, semaphore=1)
    await stream.publish([OutgoingMessage("engine", {"n": n}, job_id="j") for n in range(6)])
    deliveries = await stream.claim("engine", limit=10)
    assert len(deliveries) == 6

    async def step(delivery: Any) -> Any:
        return await store.apply_step(
            "j",
            {"f/a,0": 1, "d/by": delivery.payload["n"]},
            semaphore_delta=-1,
            fence=delivery,
            expect={"f/a,0": None},
        )

    results = await asyncio.gather(*(step(d) for d in deliveries))
    assert sum(r.applied for r in results) == 1
    assert all(r.conflict for r in results if not r.applied)
    [winner] = [r for r in results if r.applied]
    assert winner.semaphore == 0 and winner.state is not None
    depth = (await stream.depth(["engine"]))["engine"]
    assert depth.in_flight == 5, "the losers' deliveries are not consumed (still held)"
    job = await store.get_job("j")
    assert job is not None and job.semaphore == 0


async def test_checkpoint_writes_only_for_the_held_delivery_of_an_open_job(
    backend: Backend,
) -> None:
    """A worker's checkpoint: written while its delivery is held (and kept held), refused
    for a stale delivery, a closed job or a missing one."""
    store, stream = backend.store, backend.stream
    await store.create_job("j", {"-flag-": "1", "d/a": 1, "d/gone": 1}, semaphore=1)
    await stream.publish([OutgoingMessage("w", {"go": 1}, job_id="j")])
    [delivery] = await stream.claim("w", lease=0.2)
    read = await store.checkpoint(
        "j", {"d/b": {"x": [1]}, "d/gone": None}, fence=delivery, read=["-flag-", "-none-"]
    )
    assert read == {"-flag-": "1"}, "the read keys present after the write"
    job = await store.get_job("j")
    assert job is not None and job.state == {"-flag-": "1", "d/a": 1, "d/b": {"x": [1]}}
    [redelivery] = await _reclaim_from(backend, "w")
    assert redelivery.id == delivery.id, "the checkpoint did not ack the delivery"
    assert await store.checkpoint("j", {"d/c": 1}, fence=delivery) is None, "stale delivery"
    assert await store.checkpoint("j", {"d/c": 2}, fence=redelivery) == {}
    closed = await store.apply_step("j", {}, semaphore_delta=-1)
    assert closed.applied and closed.semaphore == 0
    assert await store.checkpoint("j", {"d/c": 3}, fence=redelivery) is None, "closed job"
    assert await store.checkpoint("nope", {"d/c": 4}, fence=redelivery) is None
    job = await store.get_job("j")
    assert job is not None and job.state["d/c"] == 2
    with pytest.raises(ConfigError):
        await store.checkpoint("j", {}, fence=redelivery, read=["d/a"])


async def _reclaim_from(backend: Backend, stream_name: str) -> list:  # type: ignore[type-arg]
    from hotmesh_conformance.harness import assert_eventually

    return await assert_eventually(lambda: backend.stream.claim(stream_name, lease=30))
