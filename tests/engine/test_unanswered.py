"""Every job ends: a worker message whose deliveries all went unanswered fails its job.

Its consumers died or hung on every delivery, so the claim that finds its deliveries used
up dead-letters it (docs/exactly-once.md); the worker that made that claim answers the
engine with the error, so the job fails and whoever waits for it is told.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import JobStatus, WorkerMessage
from hotmesh.engine.messages import _worker
from hotmesh.errors import JobFailed
from hotmesh.spi import RetryPolicy
from tests.engine.conftest import MeshFactory
from tests.engine.test_worker_failures import app


async def test_unanswered_worker_message_fails_its_job(
    mesh: MeshFactory, app_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One delivery per worker message (instead of 50), so one dead consumer uses them up.
    monkeypatch.setattr(_worker, "WORKER_DELIVERY", RetryPolicy(maximum_attempts=1))
    entered = asyncio.Event()

    async def hangs(message: WorkerMessage) -> dict[str, Any]:
        entered.set()
        await asyncio.sleep(3600)
        return {}

    calls: list[int] = []

    async def answers(message: WorkerMessage) -> dict[str, Any]:
        calls.append(message.metadata["try"])
        return {"data": {"y": 1}}

    engine = await mesh()
    await engine.deploy(app(app_id))
    await engine.activate("1")
    # No retry policy declared: lapsed leases are left to the stream's delivery cap.
    first = await mesh([{"topic": "job.work", "callback": hangs, "lease": 0.5}], engine=False)
    waiter = asyncio.create_task(engine.pubsub("job.go", {"x": 1}, timeout=30))
    await asyncio.wait_for(entered.wait(), 20)
    await first.stop(timeout=0)  # cancelled mid-callback: no answer, the lease lapses
    await mesh([{"topic": "job.work", "callback": answers}], engine=False)

    with pytest.raises(JobFailed) as caught:
        await waiter
    failure = caught.value
    assert "got no answer in 1 delivery" in failure.error["message"]
    assert calls == []  # dead-lettered at claim, never run again
    state = await engine.get_status(str(failure.value), detail=True)
    assert state.status is JobStatus.FAILED
    assert state.error is not None and "dead-lettered" in state.error["message"]
    [dead] = await engine.engine.backend.stream.dead_letters("job.work")  # type: ignore[union-attr]
    assert dead.job_id == str(failure.value)
