"""Hand-off contract: a message published with ``lease`` is stored as its first delivery.

The publisher hands it to a consumer of its own process (hotmesh.engine.handoff), so the
stored row must behave exactly as a claimed one: not claimable while leased, fenced by
attempt 1, and claimable again (attempt 2) once the lease lapses unacked.
"""

from __future__ import annotations

import pytest

from hotmesh.spi import Backend, OutgoingMessage, StreamMessage
from hotmesh_conformance.harness import assert_eventually


def _delivery(message_id: int, stream: str, payload: dict[str, object]) -> StreamMessage:
    return StreamMessage(id=message_id, stream=stream, payload=payload, attempt=1)


async def test_published_hand_off_is_held_and_acked_as_attempt_one(backend: Backend) -> None:
    stream = backend.stream
    [kept, handed] = await stream.publish(
        [OutgoingMessage("s", {"n": 1}), OutgoingMessage("s", {"n": 2}, lease=30)]
    )
    claimed = await stream.claim("s", limit=10, consumer="other")
    assert [m.id for m in claimed] == [kept], "a handed-off message is not claimable"
    depth = (await stream.depth(["s"]))["s"]
    assert (depth.ready, depth.in_flight) == (0, 2)
    assert await stream.ack([_delivery(handed, "s", {"n": 2})]) == {handed}


async def test_lapsed_hand_off_is_claimed_as_attempt_two(backend: Backend) -> None:
    stream = backend.stream
    [handed] = await stream.publish([OutgoingMessage("s", {"n": 1}, lease=0.2)])
    [again] = await assert_eventually(
        lambda: stream.claim("s", lease=30, consumer="b"), message="lease never lapsed"
    )
    assert (again.id, again.attempt, again.payload) == (handed, 2, {"n": 1})
    stale = _delivery(handed, "s", {"n": 1})
    assert await stream.ack([stale]) == set(), "the lapsed hand-off's ack must not remove it"
    assert await stream.ack([again]) == {again.id}


async def test_create_job_answers_the_ids_of_its_messages(backend: Backend) -> None:
    store, stream = backend.store, backend.stream
    first = [
        OutgoingMessage("w", {"step": 1}, job_id="j", lease=30),
        OutgoingMessage("w", {"step": 2}, job_id="j"),
    ]
    created = await store.create_job("j", {"a": 1}, semaphore=2, messages=first)
    assert created and len(created.message_ids) == 2
    claimed = await stream.claim("w", limit=10)
    assert [m.id for m in claimed] == [created.message_ids[1]], "only the one not handed off"
    duplicate = await store.create_job("j", {"a": 2}, semaphore=1, messages=first)
    assert not duplicate and duplicate.message_ids == []
    # The handed-off delivery fences a step like any claimed one, once.
    fence = _delivery(created.message_ids[0], "w", {"step": 1})
    step = await store.apply_step("j", {"b": 2}, semaphore_delta=-1, fence=fence)
    assert step.applied and step.semaphore == 1
    again = await store.apply_step("j", {"b": 3}, semaphore_delta=-1, fence=fence)
    assert not again.applied


async def test_step_hand_off_ids_come_before_on_close_ids(backend: Backend) -> None:
    store, stream = backend.store, backend.stream
    await store.create_job("j", {}, semaphore=1)
    result = await store.apply_step(
        "j",
        {"done": True},
        semaphore_delta=-1,
        messages=[OutgoingMessage("next", {"n": 1}, job_id="j", lease=30)],
        on_close=[OutgoingMessage("closed", {"n": 2}, job_id="j")],
    )
    assert result.applied and len(result.message_ids) == 2
    assert await stream.claim("next") == [], "handed off"
    [closed] = await stream.claim("closed")
    assert closed.id == result.message_ids[1]
    handed = _delivery(result.message_ids[0], "next", {"n": 1})
    assert await stream.ack([handed]) == {handed.id}


def test_a_hand_off_is_never_delayed() -> None:
    with pytest.raises(ValueError, match="cannot be delayed"):
        OutgoingMessage("s", {}, delay=1, lease=30)
    with pytest.raises(ValueError, match="lease"):
        OutgoingMessage("s", {}, lease=-1)
