"""§6.12 ``calc`` (await + worker errors) and §6.16 worker retry policies, on both providers."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from functools import reduce
from typing import Any

import pytest

from hotmesh import HotMesh, WorkerMessage
from hotmesh.engine.messages import JobComplete
from hotmesh.engine.runtime import StepConflict
from hotmesh.errors import ConfigError, JobFailed, JobNotFound, PubSubTimeout
from hotmesh.spi import StreamMessage
from hotmesh.types import JobOutput
from tests.engine._app_files import load_app
from tests.engine.conftest import MeshFactory

FAST = {"maximum_attempts": 3, "initial_interval": 0.05, "backoff_coefficient": 2}

MATH: dict[str, Callable[[list[float]], float]] = {
    "add": sum,
    "subtract": lambda v: reduce(lambda a, b: a - b, v),
    "multiply": lambda v: reduce(lambda a, b: a * b, v, 1),
    "divide": lambda v: reduce(lambda a, b: a / b, v),
}


class Unrecoverable(Exception):
    code = 403


def calculator(calls: list[tuple[str, int]], *, fail_first: bool = True) -> Any:
    """The calc worker: the first attempt of every job raises, the retry succeeds."""

    async def execute(message: WorkerMessage) -> dict[str, Any]:
        jid = str(message.metadata["jid"])
        calls.append((jid, int(message.metadata["try"])))
        if message.data["operation"] == "fail":
            return {"status": "error", "code": 403,
                    "data": {"code": 403, "message": "unrecoverable error"}}  # fmt: skip
        if fail_first and message.metadata["try"] == 0:
            raise RuntimeError("recoverable error")
        values = json.loads(message.data["values"])
        return {"data": {"result": MATH[message.data["operation"]](values)}}

    return execute


async def calc_mesh(mesh: MeshFactory, app_id: str, calls: list[tuple[str, int]]) -> HotMesh:
    hm = await mesh(
        [{"topic": "calculation.execute", "callback": calculator(calls), "retry": FAST}]
    )
    await hm.deploy(load_app("calc-v1", app_id))
    await hm.activate("1")
    return hm


async def test_calc_retried_worker_results(mesh: MeshFactory, app_id: str) -> None:
    calls: list[tuple[str, int]] = []
    hm = await calc_mesh(mesh, app_id, calls)
    cases = [
        ("add", [1, 2, 3, 4, 5], 15),
        ("subtract", [5, 4, 3, 2, 1], -5),
        ("multiply", [5, 4, 3, 2, 1], 120),
        ("divide", [100, 4, 5], 5),
    ]
    for operation, values, expected in cases:
        payload = {"operation": operation, "values": json.dumps(values)}
        out = await hm.pubsub("calculate", payload, timeout=10)
        assert out.data == {"result": expected}, operation
        assert out.metadata["js"] == 0 and "err" not in out.metadata
    # each child job: one failed call, then the retry (try 1) that succeeded
    tries: dict[str, list[int]] = {}
    for jid, attempt in calls:
        tries.setdefault(jid, []).append(attempt)
    assert sorted(tries.values()) == [[0, 1]] * len(cases)
    # parallel jobs
    divide, multiply = await asyncio.gather(
        hm.pubsub("calculate", {"operation": "divide", "values": "[200,4,5]"}, timeout=10),
        hm.pubsub("calculate", {"operation": "multiply", "values": "[10,10,10]"}, timeout=10),
    )
    assert (divide.data["result"], multiply.data["result"]) == (10, 1000)


async def test_calc_timeout_subscribe_export_scrub(mesh: MeshFactory, app_id: str) -> None:
    calls: list[tuple[str, int]] = []
    hm = await calc_mesh(mesh, app_id, calls)
    done: dict[str, asyncio.Future[tuple[str, JobOutput]]] = {}
    loop = asyncio.get_running_loop()

    def on_calculated(topic: str, output: JobOutput) -> None:
        future = done.setdefault(output.job_id, loop.create_future())
        if not future.done():
            future.set_result((topic, output))

    await hm.psub("calculated.*", on_calculated)
    payload = {"operation": "divide", "values": "[100,4,5]"}
    with pytest.raises(PubSubTimeout) as caught:
        await hm.pubsub("calculate", payload, timeout=0)
    jid = str(caught.value.value)
    topic, output = await asyncio.wait_for(done.setdefault(jid, loop.create_future()), 10)
    assert topic == "calculated" and output.job_id == jid
    assert output.data == {"result": 5} and output.metadata["jid"] == jid
    state = await hm.get_state("calculate", jid)
    assert state.data["result"] == 5 and await hm.get_status(jid) == 0
    export = await hm.export(jid, enrich_inputs=True)
    assert export.dependencies == [] and "calculate" in export.process["0"]
    assert {a["name"] for a in export.activities} == {"calculate", "operate"}
    assert all({"name", "dimension", "input"} <= set(a) for a in export.activities)
    await hm.scrub(jid)
    with pytest.raises(JobNotFound, match=f"^Job {jid} not found"):
        await hm.get_state("calculate", jid)


async def test_calc_unrecoverable_error(mesh: MeshFactory, app_id: str) -> None:
    calls: list[tuple[str, int]] = []
    hm = await calc_mesh(mesh, app_id, calls)
    with pytest.raises(JobFailed) as caught:
        await hm.pubsub("calculate", {"operation": "fail", "values": "[]"}, timeout=10)
    failed = caught.value
    assert failed.error["message"] == "unrecoverable error" and failed.error["code"] == 403
    assert len(calls) == 1  # a returned error is not retried by the worker
    state = await hm.get_state("calculate", failed.job_id)
    expected = {"message": "unrecoverable error", "code": 403, "is_stream_error": True}
    assert json.loads(state.metadata["err"]) == expected
    assert await hm.get_status(failed.job_id) == 0


async def test_calc_yaml_per_code_policy_retries_returned_errors(
    mesh: MeshFactory, app_id: str
) -> None:
    """executor's ``retry: {'404': [2], '500': [3]}`` retries those codes (no worker policy)."""
    calls: list[tuple[str, int]] = []

    async def execute(message: WorkerMessage) -> dict[str, Any]:
        calls.append((message.data["operation"], int(message.metadata["try"])))
        if message.data["operation"] == "missing":
            return {"status": "error", "code": 404, "data": {"code": 404, "message": "nope"}}
        if message.metadata["try"] == 0:
            return {"status": "error", "code": 500, "data": {"error": "recoverable error"}}
        return {"data": {"result": MATH["add"](json.loads(message.data["values"]))}}

    hm = await mesh([("calculation.execute", execute)])
    await hm.deploy(load_app("calc-v1", app_id))
    await hm.activate("1")
    out = await hm.pubsub("calculate", {"operation": "add", "values": "[1,2,3,4,5]"}, timeout=10)
    assert out.data == {"result": 15}
    assert calls == [("add", 0), ("add", 1)]
    calls.clear()
    with pytest.raises(JobFailed) as caught:
        await hm.pubsub("calculate", {"operation": "missing", "values": "[]"}, timeout=10)
    assert caught.value.error["code"] == 404 and caught.value.error["message"] == "nope"
    assert calls == [("missing", 0), ("missing", 1), ("missing", 2)]  # 2 retries


async def test_retry_yaml_per_code_policy_for_raised_errors(mesh: MeshFactory, app_id: str) -> None:
    """retry-worker-test's ``'500': [5]`` retries a raising callback quickly (10, 100 ms)."""
    stamps: list[float] = []
    hm = await mesh([("work.do", flaky(2, stamps))])
    await hm.deploy(load_app("retry-worker-test", app_id))
    await hm.activate("1")
    out = await hm.pubsub("retry.worker.test", {}, timeout=10)
    assert out.data == {"result": "success", "attempts": 3}
    assert stamps[-1] - stamps[0] < 1.0  # not the default worker backoff (1 s, 10 s)


async def test_retry_yaml_backoff_policy(mesh: MeshFactory, app_id: str) -> None:
    """retry-backoff-test's activity-level backoff applies when the worker sets none."""
    stamps: list[float] = []
    hm = await mesh([("work.backoff", flaky(3, stamps))])
    faster = {"maximumInterval: 30s": "maximumInterval: 30s\n            initialInterval: 0.05"}
    await hm.deploy(load_app("retry-backoff-test", app_id, **faster))
    await hm.activate("1")
    out = await hm.pubsub("retry.backoff.test", {}, timeout=10)
    assert out.data == {"result": "success", "attempts": 4}
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    for gap, wanted in zip(gaps, (0.05, 0.1, 0.2), strict=True):
        assert gap >= wanted * 0.9, gaps
    assert gaps[-1] < 2.0  # the declared initialInterval, not the default 1 s · 2²


# -- §6.16 worker retry policies ---------------------------------------------------------


def flaky(failures: int, stamps: list[float], error: Exception | None = None) -> Any:
    async def work(message: WorkerMessage) -> dict[str, Any]:
        stamps.append(time.monotonic())
        if len(stamps) <= failures:
            raise error or RuntimeError(f"failure {len(stamps)}")
        return {"data": {"result": "success", "attempts": len(stamps)}}

    return work


async def retry_mesh(mesh: MeshFactory, app_id: str, work: Any, retry: dict[str, Any]) -> HotMesh:
    hm = await mesh([{"topic": "work.do", "callback": work, "retry": retry}])
    await hm.deploy(load_app("retry-worker-test", app_id))
    await hm.activate("1")
    return hm


async def test_retry_raises_twice_then_succeeds(mesh: MeshFactory, app_id: str) -> None:
    stamps: list[float] = []
    hm = await retry_mesh(mesh, app_id, flaky(2, stamps), FAST)
    out = await hm.pubsub("retry.worker.test", {}, timeout=10)
    assert out.data == {"result": "success", "attempts": 3}
    assert len(stamps) == 3


async def test_retry_backoff_gaps(mesh: MeshFactory, app_id: str) -> None:
    stamps: list[float] = []
    retry = {"maximum_attempts": 4, "initial_interval": 0.1, "backoff_coefficient": 2}
    hm = await retry_mesh(mesh, app_id, flaky(3, stamps), retry)
    out = await hm.pubsub("retry.worker.test", {}, timeout=10)
    assert out.data["attempts"] == 4
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    for gap, wanted in zip(gaps, (0.1, 0.2, 0.4), strict=True):
        assert gap >= wanted * 0.9, gaps


async def test_retry_maximum_interval_caps_the_delay(mesh: MeshFactory, app_id: str) -> None:
    stamps: list[float] = []
    retry = {"maximum_attempts": 3, "initial_interval": 0.05, "backoff_coefficient": 100,
             "maximum_interval": 0.1}  # fmt: skip
    hm = await retry_mesh(mesh, app_id, flaky(2, stamps), retry)
    out = await hm.pubsub("retry.worker.test", {}, timeout=10)
    assert out.data["attempts"] == 3
    assert 0.09 <= stamps[2] - stamps[1] < 2.0  # 0.1 s, not 5 s


@pytest.mark.parametrize("attempts", [1, 3])
async def test_retry_exhausted_fails_the_job(mesh: MeshFactory, app_id: str, attempts: int) -> None:
    stamps: list[float] = []
    retry = {**FAST, "maximum_attempts": attempts}
    hm = await retry_mesh(mesh, app_id, flaky(99, stamps), retry)
    with pytest.raises(JobFailed) as caught:
        await hm.pubsub("retry.worker.test", {}, timeout=10)
    assert len(stamps) == attempts
    error = caught.value.error
    assert error["code"] == 500 and error["message"] == f"failure {attempts}"
    assert error["name"] == "RuntimeError" and error["is_stream_error"] is True
    state = await hm.get_state("retry.worker.test", caught.value.job_id)
    assert json.loads(state.metadata["err"])["code"] == 500


async def test_retry_exhausted_uses_the_exception_code(mesh: MeshFactory, app_id: str) -> None:
    stamps: list[float] = []
    hm = await retry_mesh(mesh, app_id, flaky(99, stamps, Unrecoverable("no way")), FAST)
    with pytest.raises(JobFailed) as caught:
        await hm.pubsub("retry.worker.test", {}, timeout=10)
    assert caught.value.error["code"] == 403 and caught.value.error["message"] == "no way"
    assert len(stamps) == 3


@pytest.mark.parametrize("cap", ["100ms", "30s", "2m"])
async def test_retry_intervals_as_duration_strings(
    mesh: MeshFactory, app_id: str, cap: str
) -> None:
    """Worker config takes the library's one RetryPolicy, durations as strings included."""
    stamps: list[float] = []
    retry = {"maximum_attempts": 3, "initial_interval": "50ms", "backoff_coefficient": 2,
             "maximum_interval": cap}  # fmt: skip
    hm = await retry_mesh(mesh, app_id, flaky(2, stamps), retry)
    out = await hm.pubsub("retry.worker.test", {}, timeout=10)
    assert out.data == {"result": "success", "attempts": 3}
    assert stamps[2] - stamps[1] >= 0.09  # min(0.05 * 2, cap) = 0.1 s


@pytest.mark.parametrize(
    ("retry", "named"),
    [
        ({"maximumAttempts": 3}, "'maximumAttempts'"),
        ({"max_attempts": 3}, "'max_attempts'"),
        ({"maximum_interval": "soon"}, "soon"),
        ({"maximum_attempts": 0}, "maximum_attempts"),
    ],
)
async def test_retry_config_refuses_other_spellings(
    mesh: MeshFactory, retry: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        await mesh([{"topic": "work.do", "callback": flaky(0, []), "retry": retry}])


async def test_a_child_complete_read_before_the_close_waits_for_it(
    mesh: MeshFactory, app_id: str
) -> None:
    """A child's "complete" is only enqueued by the step that closes the child: met with
    the child still open (a read from before that step), it is retried, never answered
    with the child's unfinished data (the parent would complete with an empty result)."""
    started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    gate = asyncio.Event()

    async def execute(message: WorkerMessage) -> dict[str, Any]:
        if not started.done():
            started.set_result(str(message.metadata["jid"]))
        await gate.wait()
        return {"data": {"result": 7}}

    hm = await mesh([{"topic": "calculation.execute", "callback": execute}])
    await hm.deploy(load_app("calc-v1", app_id))
    await hm.activate("1")
    payload = {"operation": "add", "values": "[3,4]"}
    parent = asyncio.create_task(hm.pubsub("calculate", payload, timeout=10))
    child = await asyncio.wait_for(started, 10)
    assert hm.engine is not None
    record = await hm.engine.store.get_job(child)
    assert record is not None and record.semaphore > 0
    complete = JobComplete(jid=child, gid=record.state["meta"]["gid"]).outgoing()
    early = StreamMessage(
        id=0, stream=complete.stream, payload=dict(complete.payload), attempt=1, job=record
    )
    with pytest.raises(StepConflict, match=f"job {child}: its close is not visible yet"):
        await hm.engine.process(early)
    gate.set()
    done = await parent
    assert done.data == {"result": 7}
