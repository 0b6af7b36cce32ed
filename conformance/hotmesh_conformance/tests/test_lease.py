"""Stream contract: leases, fencing, retries and dead letters."""

from __future__ import annotations

import asyncio

from hotmesh.spi import Backend, OutgoingMessage, RetryPolicy, StreamMessage
from hotmesh.spi.support import unanswered
from hotmesh_conformance.harness import assert_eventually

FAST = RetryPolicy(
    maximum_attempts=3, initial_interval=0.05, backoff_coefficient=2, maximum_interval=1
)


async def test_expired_lease_is_claimed_by_another(backend: Backend) -> None:
    stream = backend.stream
    await stream.publish([OutgoingMessage("s", {"k": 1})])
    [first] = await stream.claim("s", lease=0.3, consumer="a")
    assert await stream.claim("s", consumer="b") == [], "a leased message is not claimable"
    [second] = await assert_eventually(
        lambda: stream.claim("s", lease=30, consumer="b"), message="lease never expired"
    )
    assert (second.id, second.attempt, second.redelivered) == (first.id, 2, True)
    assert await stream.ack([first]) == set(), "the stale consumer's ack must not remove it"
    assert await stream.extend([first], 30) == set(), "nor renew it"
    assert await stream.ack([second]) == {second.id}


async def test_extend_keeps_the_lease(backend: Backend) -> None:
    stream = backend.stream
    await stream.publish([OutgoingMessage("s", {"k": 1})])
    [held] = await stream.claim("s", lease=0.3, consumer="a")
    assert await stream.extend([held], 30) == {held.id}
    await asyncio.sleep(0.5)  # past the original lease: time passing is the point here
    assert await stream.claim("s", consumer="b") == []
    assert (await stream.depth(["s"]))["s"].in_flight == 1


async def test_retry_backoff_then_dead_letter(backend: Backend) -> None:
    stream = backend.stream
    await stream.publish([OutgoingMessage("s", {"k": 1}, retry=FAST, job_id="j")])
    delays = []
    for attempt in (1, 2):
        [m] = await assert_eventually(lambda: stream.claim("s", consumer="c"))
        assert m.attempt == attempt
        assert m.retry == FAST
        delays.append(await stream.retry(m, f"boom {attempt}"))
    assert delays == [0.05, 0.1]
    [last] = await assert_eventually(lambda: stream.claim("s", consumer="c"))
    assert last.attempt == 3
    assert await stream.retry(last, "boom 3") is None, "attempts used up: dead-lettered"
    assert await stream.claim("s") == []
    [dead] = await stream.dead_letters("s")
    assert (dead.id, dead.attempts, dead.error, dead.payload, dead.job_id) == (
        last.id,
        3,
        "boom 3",
        {"k": 1},
        "j",
    )
    assert (await stream.depth(["s"]))["s"].total == 0


async def test_retried_message_waits_for_its_backoff(backend: Backend) -> None:
    stream = backend.stream
    slow = RetryPolicy(maximum_attempts=5, initial_interval=60)
    await stream.publish([OutgoingMessage("s", {"k": 1}, retry=slow)])
    [m] = await stream.claim("s")
    assert await stream.retry(m, "later") == 60
    assert await stream.claim("s") == []
    assert (await stream.depth(["s"]))["s"].delayed == 1


async def test_lease_expiring_on_every_delivery_dead_letters(backend: Backend) -> None:
    stream = backend.stream
    policy = RetryPolicy(maximum_attempts=2, initial_interval=0)
    await stream.publish([OutgoingMessage("s", {"poison": True}, retry=policy)])
    [m1] = await stream.claim("s", lease=0.2)
    [m2] = await assert_eventually(lambda: stream.claim("s", lease=0.2))
    assert m2.attempt == 2 and m1.id == m2.id
    await asyncio.sleep(0.3)  # let the second lease lapse too
    assert await stream.claim("s") == [], "a third delivery exceeds maximum_attempts"
    [dead] = await stream.dead_letters("s")
    assert dead.id == m1.id and dead.attempts == 3
    assert dead.error is not None and "2 deliveries" in dead.error


async def test_claim_tells_of_the_messages_it_dead_letters_unanswered(
    backend: Backend,
) -> None:
    """Every job ends: the claimer learns of a message no delivery answered, with its job."""
    stream = backend.stream
    policy = RetryPolicy(maximum_attempts=1, initial_interval=0)
    await stream.publish([OutgoingMessage("s", {"k": 1}, retry=policy, job_id="j1")])
    [m1] = await stream.claim("s", lease=0.2)
    told: list[tuple[StreamMessage, str]] = []

    async def on_dead_letter(message: StreamMessage, error: str) -> None:
        told.append((message, error))

    async def claimed() -> list[tuple[StreamMessage, str]]:
        assert await stream.claim("s", on_dead_letter=on_dead_letter) == []
        return told

    [(message, error)] = await assert_eventually(claimed, message="the lease never lapsed")
    assert (message.id, message.job_id, message.payload, message.attempt) == (
        m1.id,
        "j1",
        {"k": 1},
        2,
    )
    assert error == unanswered(m1.id, "s", 1)
    [dead] = await stream.dead_letters("s")
    assert (dead.id, dead.error, dead.job_id) == (m1.id, error, "j1")
    assert await stream.claim("s", on_dead_letter=on_dead_letter) == [] and len(told) == 1


async def test_explicit_dead_letter(backend: Backend) -> None:
    stream = backend.stream
    await stream.publish([OutgoingMessage("s", {"k": i}) for i in range(3)])
    batch = await stream.claim("s", limit=3)
    assert await stream.dead_letter(batch[:2], "rejected") == 2
    assert [d.payload["k"] for d in await stream.dead_letters("s")] == [0, 1]
    assert await stream.ack(batch[2:]) == {batch[2].id}
