"""Group commit on Postgres: steps (and worker answers) that arrive while one is in flight
go together in one statement, and each is still guarded, fenced and applied on its own.

``asyncio.gather`` starts the calls in order: the first goes alone at once (nothing is in
flight), the others find it in flight and wait, then go together as one batch.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from hotmesh.errors import PayloadError
from hotmesh.spi import Backend, OutgoingMessage, StepResult, StreamMessage


def _uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _jobs_with_deliveries(backend: Backend, count: int) -> list[StreamMessage]:
    """``count`` open jobs (semaphore 1), each with one claimed delivery to fence a step."""
    stream = _uid("gc")
    ids = [_uid("job") for _ in range(count)]
    for jid in ids:
        assert await backend.store.create_job(jid, {"n": 0, "f/n": 0}, semaphore=1)
    await backend.stream.publish([OutgoingMessage(stream, {"jid": j}, job_id=j) for j in ids])
    claimed = await backend.stream.claim(stream, limit=count, lease=60)
    assert len(claimed) == count
    return sorted(claimed, key=lambda m: ids.index(str(m.job_id)))


def _group(backend: Backend, name: str) -> Any:
    return getattr(backend.stream if name == "answers" else backend.store, f"_{name}")


async def test_concurrent_steps_go_in_one_batch_and_each_applies_on_its_own(
    backend: Backend,
) -> None:
    deliveries = await _jobs_with_deliveries(backend, 4)
    group = _group(backend, "steps")
    batches, items = group.batches, group.items
    out = _uid("out")
    results = await asyncio.gather(
        *(
            backend.store.apply_step(
                str(m.job_id),
                {"n": i},
                semaphore_delta=-1,
                fence=m,
                messages=[OutgoingMessage(out, {"i": i}, job_id=m.job_id)],
                expire=60,
            )
            for i, m in enumerate(deliveries)
        )
    )
    # One alone, then the three that waited for it in one statement.
    assert (group.batches - batches, group.items - items) == (2, 4)
    for i, (m, result) in enumerate(zip(deliveries, results, strict=True)):
        assert result.applied and result.semaphore == 0 and len(result.message_ids) == 1
        assert result.state is not None and result.state["n"] == i
        job = await backend.store.get_job(str(m.job_id))
        assert job is not None and job.semaphore == 0 and job.state["n"] == i
    published = await backend.stream.claim(out, limit=10, lease=60)
    assert sorted(int(m.payload["i"]) for m in published) == [0, 1, 2, 3]  # type: ignore[arg-type]
    # Each message id went back to the step that published it.
    by_id = {m.id: m.payload["i"] for m in published}
    assert [by_id[r.message_ids[0]] for r in results] == [0, 1, 2, 3]


async def test_a_refused_step_fails_alone_and_the_rest_of_its_batch_commits(
    backend: Backend,
) -> None:
    deliveries = await _jobs_with_deliveries(backend, 4)

    def step(i: int, m: StreamMessage) -> Any:
        value = "\x00" if i == 2 else "ok"  # jsonb refuses a NUL character
        return backend.store.apply_step(str(m.job_id), {"v": value}, semaphore_delta=-1, fence=m)

    results = await asyncio.gather(
        *(step(i, m) for i, m in enumerate(deliveries)), return_exceptions=True
    )
    assert isinstance(results[2], PayloadError)
    for i in (0, 1, 3):
        result = results[i]
        assert isinstance(result, StepResult) and result.applied, result
        job = await backend.store.get_job(str(deliveries[i].job_id))
        assert job is not None and job.state["v"] == "ok" and job.semaphore == 0
    refused = await backend.store.get_job(str(deliveries[2].job_id))
    assert refused is not None and refused.semaphore == 1 and "v" not in refused.state


async def test_stale_fences_and_failed_guards_in_a_batch_leave_the_others_applied(
    backend: Backend,
) -> None:
    deliveries = await _jobs_with_deliveries(backend, 4)
    stale = StreamMessage(
        id=deliveries[1].id,
        stream=deliveries[1].stream,
        payload=deliveries[1].payload,
        attempt=deliveries[1].attempt + 1,  # another consumer's delivery: the fence misses
        job_id=deliveries[1].job_id,
    )
    calls = [
        backend.store.apply_step(str(deliveries[0].job_id), {"a": 1}, fence=deliveries[0]),
        backend.store.apply_step(str(stale.job_id), {"a": 1}, fence=stale),
        backend.store.apply_step(
            str(deliveries[2].job_id), {"a": 1}, fence=deliveries[2], expect={"f/n": 5}
        ),
        backend.store.apply_step(
            str(deliveries[3].job_id), {"a": 1}, fence=deliveries[3], expect={"f/n": 0}
        ),
    ]
    first, missed, guarded, passed = await asyncio.gather(*calls)
    assert first.applied and passed.applied
    assert not missed.applied and not missed.conflict
    assert not guarded.applied and guarded.conflict
    # The guarded step's delivery is still held: it can run again after a re-read.
    again = await backend.store.apply_step(
        str(deliveries[2].job_id), {"a": 2}, fence=deliveries[2], expect={"f/n": 0}
    )
    assert again.applied


async def test_two_steps_of_one_job_in_one_batch_pass_its_guard_once(backend: Backend) -> None:
    deliveries = await _jobs_with_deliveries(backend, 3)
    jid = str(deliveries[1].job_id)
    # Both built from the same snapshot (f/n == 0); whichever runs second must see the first.
    results = await asyncio.gather(
        backend.store.apply_step(str(deliveries[0].job_id), {"n": 1}, fence=deliveries[0]),
        backend.store.apply_step(jid, {"f/n": 1}, fence=deliveries[1], expect={"f/n": 0}),
        backend.store.apply_step(jid, {"f/n": 1}, fence=deliveries[2], expect={"f/n": 0}),
    )
    assert [r.applied for r in results[1:]].count(True) == 1
    assert [r.conflict for r in results[1:]].count(True) == 1


async def test_worker_answers_are_acked_in_one_batch_and_a_lost_lease_publishes_nothing(
    backend: Backend,
) -> None:
    if getattr(backend.stream, "_answers", None) is None:
        pytest.skip("this stream does not group its answers")
    deliveries = await _jobs_with_deliveries(backend, 4)
    group = _group(backend, "answers")
    batches = group.batches
    out = _uid("answers")
    lost = StreamMessage(
        id=deliveries[2].id,
        stream=deliveries[2].stream,
        payload=deliveries[2].payload,
        attempt=deliveries[2].attempt + 1,
    )
    acks = [deliveries[0], deliveries[1], lost, deliveries[3]]
    answers = await asyncio.gather(
        *(
            backend.stream.publish(
                [OutgoingMessage(out, {"i": i}), OutgoingMessage(out, {})], ack=m
            )
            for i, m in enumerate(acks)
        )
    )
    assert group.batches - batches == 2
    assert [len(a) for a in answers] == [2, 2, 0, 2]
    published = await backend.stream.claim(out, limit=20, lease=60)
    assert len(published) == 6
    # The lost delivery is still there (another consumer holds it), the others are acked.
    assert await backend.stream.ack([deliveries[2]]) == {deliveries[2].id}
    assert await backend.stream.ack([deliveries[0], deliveries[1], deliveries[3]]) == set()


async def test_jobs_created_together_publish_once_and_a_taken_id_publishes_nothing(
    backend: Backend,
) -> None:
    stream = _uid("new")
    taken, fresh = _uid("taken"), [_uid("fresh") for _ in range(3)]
    assert await backend.store.create_job(taken, {"meta": {"gid": "g0"}}, semaphore=1)
    group = _group(backend, "creates")
    batches, items = group.batches, group.items

    def create(jid: str, gid: str) -> Any:
        message = OutgoingMessage(stream, {"jid": jid, "gid": gid}, job_id=jid)
        return backend.store.create_job(
            jid, {"meta": {"gid": gid}}, semaphore=1, messages=[message]
        )

    results = await asyncio.gather(
        create(fresh[0], "a"),
        create(fresh[1], "b"),
        create(taken, "other"),  # a live job holds the id: not created, nothing published
        create(fresh[1], "dup"),  # the same id twice in one batch: the first one wins
        create(fresh[2], "c"),
        create(taken, "g0"),  # its own earlier insert (a re-run): counts as created
    )
    assert (group.batches - batches, group.items - items) == (2, 6)
    assert [bool(r) for r in results] == [True, True, False, False, True, True]
    published = await backend.stream.claim(stream, limit=20, lease=60)
    made = [r.message_ids for r in (results[0], results[1], results[4])]
    assert sorted(i for ids in made for i in ids) == sorted(m.id for m in published)
    assert results[5].message_ids == [], "a re-run cannot know its earlier run's ids"
    assert sorted((m.payload["jid"], m.payload["gid"]) for m in published) == sorted(
        [(fresh[0], "a"), (fresh[1], "b"), (fresh[2], "c")]
    )
    job = await backend.store.get_job(fresh[1])
    assert job is not None and job.state["meta"] == {"gid": "b"}
