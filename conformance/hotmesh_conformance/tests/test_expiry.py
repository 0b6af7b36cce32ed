"""Store contract: closing a job (on-close messages, final state) and its expiry."""

from __future__ import annotations

from hotmesh.spi import Backend, OutgoingMessage
from hotmesh_conformance.harness import assert_eventually


async def test_closing_step_publishes_on_close_and_returns_the_state(backend: Backend) -> None:
    store, stream = backend.store, backend.stream
    await store.create_job("j", {"a": 1}, semaphore=2)
    done = [OutgoingMessage("done", {"jid": "j"}, job_id="j")]
    open_step = await store.apply_step(
        "j",
        {"b": 2},
        semaphore_delta=-1,
        messages=[OutgoingMessage("w", {"n": 1})],
        on_close=done,
        expire=60,
    )
    assert open_step.applied and open_step.semaphore == 1 and open_step.state is None
    assert len(open_step.message_ids) == 1, "on-close messages wait for the close"
    assert await stream.claim("done") == []
    closing = await store.apply_step(
        "j",
        {"c": 3},
        semaphore_delta=-1,
        messages=[OutgoingMessage("w", {"n": 2})],
        on_close=done,
        expire=60,
    )
    assert closing.applied and closing.semaphore == 0
    assert closing.state == {"a": 1, "b": 2, "c": 3}
    assert len(closing.message_ids) == 2 and closing.message_ids == sorted(closing.message_ids)
    [sent] = await stream.claim("done")
    assert (sent.id, sent.payload, sent.job_id) == (closing.message_ids[1], {"jid": "j"}, "j")


async def test_closed_job_expires_and_frees_its_id(backend: Backend) -> None:
    store, stream = backend.store, backend.stream
    for job_id, expire in (("short", 0.3), ("forever", 0.0), ("untouched", None)):
        await store.create_job(job_id, {"v": job_id}, semaphore=1)
        await store.apply_step(job_id, {}, semaphore_delta=-1, expire=expire)
    await assert_eventually(
        lambda: store.get_job("short"), lambda job: job is None, message="never expired"
    )
    assert await store.get_status("short") is None
    step = await store.apply_step("short", {"late": 1}, messages=[OutgoingMessage("w", {})])
    assert not step.applied and await stream.claim("w") == [], "an expired job takes no step"
    await stream.publish([OutgoingMessage("engine", {"go": 1}, job_id="short")])
    [msg] = await stream.claim("engine", with_job=True)
    assert msg.job is None, "an expired job is invisible to a claim too"
    assert await store.create_job("short", {"v": "new"}, semaphore=1), "its id is free again"
    job = await store.get_job("short")
    assert job is not None and (job.state, job.semaphore) == ({"v": "new"}, 1)
    for job_id in ("forever", "untouched"):
        kept = await store.get_job(job_id)
        assert kept is not None and kept.state == {"v": job_id}, "expire <= 0 / None: kept"


async def test_claim_with_job_reads_the_live_job(backend: Backend) -> None:
    store, stream = backend.store, backend.stream
    await store.create_job("j", {"d/x": [1, "✓"]}, semaphore=3)
    await stream.publish(
        [OutgoingMessage("engine", {"n": 1}, job_id="j"), OutgoingMessage("engine", {"n": 2})]
    )
    first, second = await stream.claim("engine", limit=2, with_job=True)
    assert first.job is not None
    assert (first.job.job_id, first.job.state, first.job.semaphore) == ("j", {"d/x": [1, "✓"]}, 3)
    assert second.job is None, "a message without a job"
