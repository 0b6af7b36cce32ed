"""Failures look like failures, and the worker's retry policy governs every failure path.

Issue 17 (failed status, timeouts, sync callbacks, WARNING per failed attempt, roll-call
counts) and issue 13 item 3 (raise, CancelledError, unencodable answers, lost leases), on
both providers.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from typing import Any

import pytest

from hotmesh import JobStatus, WorkerMessage
from hotmesh.errors import ConfigError, JobFailed
from tests.engine.conftest import MeshFactory

FAST = {"maximum_attempts": 2, "initial_interval": 0.05, "backoff_coefficient": 2}


def app(app_id: str, worker_extra: str = "") -> str:
    return f"""
app:
  id: {app_id}
  version: '1'
  graphs:
    - subscribes: job.go
      activities:
        t1: {{type: trigger}}
        w1:
          type: worker
          topic: job.work{worker_extra}
          input: {{maps: {{x: '{{t1.output.data.x}}'}}}}
          job: {{maps: {{y: '{{w1.output.data.y}}'}}}}
      transitions:
        t1: [{{to: w1}}]
"""


async def started(mesh: MeshFactory, app_id: str, callback: Any, **worker: Any) -> Any:
    hm = await mesh([{"topic": "job.work", "callback": callback, **worker}])
    await hm.deploy(app(app_id, worker.pop("yaml", "")))
    await hm.activate("1")
    return hm


async def fails(hm: Any, data: dict[str, Any]) -> JobFailed:
    with pytest.raises(JobFailed) as caught:
        await hm.pubsub("job.go", data, timeout=20)
    return caught.value


async def test_failed_job_has_a_failed_status(
    mesh: MeshFactory, app_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    async def boom(message: WorkerMessage) -> dict[str, Any]:
        calls.append(message.metadata["try"])
        raise RuntimeError("card declined")

    hm = await started(mesh, app_id, boom, retry=FAST)
    with caplog.at_level(logging.WARNING, logger="hotmesh.worker"):
        failure = await fails(hm, {"x": 1})
    jid = str(failure.value)
    assert calls == [0, 1]  # the policy's two attempts, no more
    assert failure.error["message"] == "card declined"
    # The reference's semaphore stays 0; the richer form says failed.
    assert await hm.get_status(jid) == 0
    state = await hm.get_status(jid, detail=True)
    assert state.status is JobStatus.FAILED and state.failed
    assert state.error is not None and state.error["message"] == "card declined"
    export = await hm.export(jid)
    assert export.failed and export.job_status is JobStatus.FAILED
    assert export.error is not None and export.error["message"] == "card declined"
    output = await hm.get_state("job.go", jid)
    assert output.status is JobStatus.FAILED and output.error == state.error
    # each failed attempt is logged at WARNING with the job id and the error
    attempts = [r for r in caplog.records if getattr(r, "jid", None) == jid]
    assert len(attempts) == 2 and all(r.levelno == logging.WARNING for r in attempts)
    assert all("card declined" in r.getMessage() for r in attempts)
    # the roll call counts the failed attempts and the error answer
    profiles = [p for p in await hm.roll_call() if p.role == "worker"]
    assert profiles and profiles[0].failed == 2 and profiles[0].error_count == 1


async def test_completed_job_status_and_retention(mesh: MeshFactory, app_id: str) -> None:
    async def ok(message: WorkerMessage) -> dict[str, Any]:
        return {"data": {"y": message.data["x"]}}

    hm = await started(mesh, app_id, ok)
    out = await hm.pubsub("job.go", {"x": 5}, timeout=20)
    assert out.status is JobStatus.COMPLETED and out.error is None
    state = await hm.get_status(out.job_id, detail=True)
    assert state.status is JobStatus.COMPLETED and not state.failed
    assert (await hm.export(out.job_id)).job_status is JobStatus.COMPLETED
    manifest = await hm.engine.manifest()  # type: ignore[union-attr]
    assert manifest.graphs[0].expire == 7 * 24 * 3600  # kept a week by default


async def test_cancelled_error_obeys_the_policy(mesh: MeshFactory, app_id: str) -> None:
    calls: list[int] = []

    async def cancels(message: WorkerMessage) -> dict[str, Any]:
        calls.append(message.metadata["try"])
        raise asyncio.CancelledError

    hm = await started(mesh, app_id, cancels, retry=FAST)
    failure = await fails(hm, {"x": 1})
    assert calls == [0, 1] and failure.error["name"] == "CancelledError"


@pytest.mark.parametrize(
    "answer",
    [math.nan, b"bytes", object()],
    ids=["nan", "bytes", "object"],
)
async def test_unencodable_answer_obeys_the_policy(
    mesh: MeshFactory, app_id: str, answer: Any
) -> None:
    calls: list[int] = []

    async def bad(message: WorkerMessage) -> dict[str, Any]:
        calls.append(message.metadata["try"])
        return {"data": {"y": answer}}

    hm = await started(mesh, app_id, bad, retry=FAST)
    failure = await fails(hm, {"x": 1})
    assert calls == [0, 1] and failure.error["name"] == "PayloadError"


async def test_lost_lease_counts_as_an_attempt(mesh: MeshFactory, app_id: str) -> None:
    """A delivery whose lease lapsed (its worker stopped mid-callback) was an attempt."""
    entered = asyncio.Event()

    async def hangs(message: WorkerMessage) -> dict[str, Any]:
        entered.set()
        await asyncio.sleep(3600)
        return {}

    calls: list[int] = []

    async def second(message: WorkerMessage) -> dict[str, Any]:
        calls.append(message.metadata["try"])
        return {"data": {"y": 1}}

    one = {"maximum_attempts": 1}
    engine = await mesh()
    await engine.deploy(app(app_id))
    await engine.activate("1")
    first = await mesh([{"topic": "job.work", "callback": hangs, "lease": 0.5, "retry": one}],
                       engine=False)  # fmt: skip
    jid = await engine.pub("job.go", {"x": 1})
    await asyncio.wait_for(entered.wait(), 20)
    await first.stop(timeout=0)  # cancelled mid-callback: no answer, the lease lapses
    await mesh([{"topic": "job.work", "callback": second, "retry": one}], engine=False)

    async def finished() -> Any:
        state = await engine.get_status(jid, detail=True)
        return state if state.status.finished else None

    state = await _eventually(finished)
    assert state.status is JobStatus.FAILED and calls == []
    assert "did not answer" in state.error["message"]


async def test_timeout_cancels_and_retries(mesh: MeshFactory, app_id: str) -> None:
    calls: list[int] = []

    async def slow_once(message: WorkerMessage) -> dict[str, Any]:
        calls.append(message.metadata["try"])
        if message.metadata["try"] == 0:
            await asyncio.sleep(3600)
        return {"data": {"y": "second"}}

    hm = await started(mesh, app_id, slow_once, retry=FAST, timeout=0.3)
    out = await hm.pubsub("job.go", {"x": 1}, timeout=20)
    assert out.data == {"y": "second"} and calls == [0, 1]


async def test_yaml_timeout_is_honoured(mesh: MeshFactory, app_id: str) -> None:
    calls: list[int] = []

    async def slow(message: WorkerMessage) -> dict[str, Any]:
        calls.append(message.metadata["try"])
        await asyncio.sleep(3600)
        return {}

    hm = await started(mesh, app_id, slow, retry=FAST, yaml="\n          timeout: 0.2")
    failure = await fails(hm, {"x": 1})
    assert calls == [0, 1]
    assert failure.error["code"] == 504 and "timeout of 0.2s" in failure.error["message"]


async def test_a_callbacks_own_timeout_error_is_its_failure(mesh: MeshFactory, app_id: str) -> None:
    """A TimeoutError the callback raises itself (no timeout set) is not the worker's
    timeout: the job fails with that error, code 500, not with a 504 "ran past"."""

    async def gives_up(message: WorkerMessage) -> dict[str, Any]:
        raise TimeoutError("the upstream did not answer")

    hm = await started(mesh, app_id, gives_up, retry=FAST)
    failure = await fails(hm, {"x": 1})
    assert failure.error["code"] == 500
    assert "upstream did not answer" in failure.error["message"]


async def test_sync_callbacks_run_in_a_thread(mesh: MeshFactory, app_id: str) -> None:
    threads: list[int] = []

    def blocking(message: WorkerMessage) -> dict[str, Any]:
        threads.append(threading.get_ident())
        return {"data": {"y": message.data["x"] * 2}}

    hm = await started(mesh, app_id, blocking)
    out = await hm.pubsub("job.go", {"x": 21}, timeout=20)
    assert out.data == {"y": 42}
    assert threads and threads[0] != threading.get_ident()


async def test_bad_worker_timeout_is_refused(mesh: MeshFactory) -> None:
    async def ok(message: WorkerMessage) -> None:
        return None

    with pytest.raises(ConfigError, match="timeout must be a positive number"):
        await mesh([{"topic": "job.work", "callback": ok, "timeout": 0}])


async def _eventually(probe: Any, timeout: float = 20.0) -> Any:
    from tests.engine._app_files import eventually

    return await eventually(probe, timeout=timeout, interval=0.05)


async def test_per_code_policy_beyond_the_default_is_not_cut_short(
    mesh: MeshFactory, app_id: str
) -> None:
    """A per-code policy allowing more attempts than the default keeps them all."""
    calls: list[int] = []

    class Unavailable(Exception):
        code = 503

    async def flaky(message: WorkerMessage) -> dict[str, Any]:
        calls.append(message.metadata["try"])
        if message.metadata["try"] < 3:
            raise Unavailable("try later")
        return {"data": {"y": "finally"}}

    hm = await started(mesh, app_id, flaky, yaml="\n          retry: {'503': [3]}")
    out = await hm.pubsub("job.go", {"x": 1}, timeout=20)
    assert out.data == {"y": "finally"} and calls == [0, 1, 2, 3]
