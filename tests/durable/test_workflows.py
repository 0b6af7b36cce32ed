"""Durable part-1 scenarios (durable.md §9) on both providers, real Postgres."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections import Counter
from typing import Any

import pytest

from hotmesh.durable import (
    CancelledFailure,
    Client,
    DurableFatalError,
    DurableMaxedError,
    DurableTimeoutError,
    RetryPolicy,
    Worker,
    WorkflowFailed,
    WorkflowInterrupted,
    activity,
)
from hotmesh.durable import workflow as wf
from hotmesh.durable.testing import replay
from hotmesh.errors import DuplicateJob
from hotmesh_conformance.harness import assert_eventually

CALLS: Counter[str] = Counter()


def det(index: int) -> float:
    x = math.sin(index) * 10000
    return x - math.floor(x)


# -- activities ------------------------------------------------------------------------------


async def greet(name: str) -> str:
    return f"Hello, {name}!"


async def flaky(key: str, fail_times: int) -> int:
    CALLS[key] += 1
    if CALLS[key] <= fail_times:
        raise ValueError(f"flaky failure {CALLS[key]}")
    return CALLS[key]


async def fatal(message: str) -> None:
    raise DurableFatalError(message)


async def slow(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "slow-done"


async def whoami() -> dict[str, Any]:
    ctx = activity.get_context()
    return {"workflow_id": ctx.workflow_id, "name": ctx.activity_name, "attempt": ctx.attempt}


ACTIVITIES = [greet, flaky, fatal, slow, whoami]

# -- workflows -------------------------------------------------------------------------------


async def hello(name: str) -> str:
    acts = wf.proxy_activities()
    first = wf.random()
    greeting = await acts.greet(name)
    return f"{first} {greeting} {wf.random()}"


async def steps(name: str, signal_id: str) -> dict[str, Any]:
    acts = wf.proxy_activities()
    one = await acts.greet(name)
    slept = await wf.sleep("1s")
    payload = await wf.condition(signal_id)
    timed_out = await wf.condition(f"{signal_id}-never", timeout=1)
    info = wf.workflow_info()
    me = await acts.whoami()
    return {
        "one": one,
        "slept": slept,
        "payload": payload,
        "timed_out": timed_out,
        "name": info.workflow_name,
        "activity_saw": me,
        "uuid": wf.uuid4(),
    }


async def child_greeter(name: str) -> str:
    acts = wf.proxy_activities()
    return await acts.greet(f"child {name}")


async def parent(name: str) -> dict[str, Any]:
    done = await wf.execute_child(child_greeter, args=[name])
    started = await wf.start_child("child_greeter", args=["detached"])
    return {"child": done, "started": started}


async def fan_out(signal_id: str) -> list[Any]:
    acts = wf.proxy_activities()
    gathered = await asyncio.gather(
        acts.greet("a"), acts.greet("b"), wf.sleep(1), wf.condition(signal_id)
    )

    async def two_steps(x: str) -> str:
        first = await acts.greet(x)
        return first + " / " + await acts.greet(first)

    nested = await wf.all(two_steps("p"), two_steps("q"))
    return [*gathered, *nested]


async def retrying(key: str, fail_times: int, attempts: int) -> int:
    acts = wf.proxy_activities(
        retry=RetryPolicy(
            maximum_attempts=attempts, initial_interval="100ms", backoff_coefficient=1.0
        )
    )
    return int(await acts.flaky(key, fail_times))


async def soft_fail(key: str) -> Any:
    acts = wf.proxy_activities(retry=RetryPolicy(maximum_attempts=1, throw_on_error=False))
    return await acts.flaky(key, 5)


async def fatal_wf(message: str) -> None:
    acts = wf.proxy_activities()
    await acts.fatal(message)


async def body_retry(key: str, fail_times: int) -> int:
    CALLS[key] += 1
    if CALLS[key] <= fail_times:
        raise RuntimeError("recurring-test-error")
    return CALLS[key]


async def timeout_wf() -> str:
    acts = wf.proxy_activities(start_to_close_timeout="200ms")
    try:
        await acts.slow(30)
    except DurableTimeoutError as err:
        return f"timeout:{err.code}"
    return "no-timeout"


async def swallow() -> str:
    acts = wf.proxy_activities()
    try:
        value = await acts.greet("x")
    except Exception:  # the suspension is a BaseException: not caught here
        return "swallowed"
    return str(value)


async def batches(cursor: int, total: int) -> int:
    acts = wf.proxy_activities()
    await acts.greet(str(cursor))
    if cursor < 3:
        await wf.continue_as_new(cursor + 1, total + 10)
    return total + 10


async def cancellable(order: str) -> str:
    acts = wf.proxy_activities()
    await acts.greet(order)
    try:
        await wf.sleep(2)
        await acts.greet("after-sleep")
    except CancelledFailure as err:
        assert wf.is_cancellation(err) and wf.did_interrupt(err)
        async with wf.non_cancellable():
            refund = await acts.greet(f"refund {order}")
        return f"cancelled:{refund}"
    return "completed"


async def waits_forever(signal_id: str) -> Any:
    return await wf.condition(signal_id)


ALL_WORKFLOWS = [
    hello,
    steps,
    child_greeter,
    parent,
    fan_out,
    retrying,
    soft_fail,
    fatal_wf,
    body_retry,
    timeout_wf,
    swallow,
    batches,
    cancellable,
    waits_forever,
]


async def serve(connection: dict[str, Any], queue: str, *workflows: Any) -> list[Worker]:
    return [
        await Worker.create(
            connection=connection, task_queue=queue, workflow=fn, activities=ACTIVITIES
        )
        for fn in workflows
    ]


# -- tests -----------------------------------------------------------------------------------


async def test_hello_world_started_before_its_worker(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    handle = await client.workflow.start(hello, args=["HotMesh"], task_queue=queue)
    await serve(connection, queue, hello)
    assert await handle.result(timeout=30) == f"{det(0)} Hello, HotMesh! {det(2)}"
    assert await handle.status() == 0
    state = await handle.state()
    assert state["done"] is True and state["response"].endswith(f"{det(2)}")


async def test_activities_sleep_condition_and_early_signal(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, steps)
    signal_id = uuid.uuid4().hex
    handle = await client.workflow.start(steps, args=["Ada", signal_id], task_queue=queue)
    await handle.signal(signal_id, {"ok": True})  # may arrive before the wait: buffered
    result = await handle.result(timeout=30)
    assert result["one"] == "Hello, Ada!"
    assert result["slept"] == 1.0
    assert result["payload"] == {"ok": True}
    assert result["timed_out"] is False
    assert result["name"] == "steps"
    assert result["activity_saw"] == {
        "workflow_id": handle.workflow_id,
        "name": "whoami",
        "attempt": 1,
    }
    assert len(result["uuid"]) == 36 and result["uuid"][14] == "4"


async def test_children_and_gather(client: Client, connection: dict[str, Any], queue: str) -> None:
    await serve(connection, queue, parent, child_greeter, fan_out)
    result = await client.workflow.execute(parent, args=["Bob"], task_queue=queue, timeout=30)
    assert result["child"] == "Hello, child Bob!"
    started = client.workflow.get_handle(result["started"])
    assert await started.result(timeout=30) == "Hello, child detached!"
    signal_id = uuid.uuid4().hex
    handle = await client.workflow.start(fan_out, args=[signal_id], task_queue=queue)
    await client.workflow.signal(signal_id, "sig")
    assert await handle.result(timeout=30) == [
        "Hello, a!",
        "Hello, b!",
        1.0,
        "sig",
        "Hello, p! / Hello, Hello, p!!",
        "Hello, q! / Hello, Hello, q!!",
    ]


async def test_activity_retries_count_total_attempts(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, retrying, soft_fail, fatal_wf)
    key = uuid.uuid4().hex
    # D1: maximum_attempts is the total number of executions.
    assert (
        await client.workflow.execute(retrying, args=[key, 2, 3], task_queue=queue, timeout=30) == 3
    )
    key2 = uuid.uuid4().hex
    with pytest.raises(WorkflowFailed) as failed:
        await client.workflow.execute(retrying, args=[key2, 5, 2], task_queue=queue, timeout=30)
    assert CALLS[key2] == 2
    assert failed.value.code == DurableMaxedError.code  # D2
    assert "flaky failure 2" in failed.value.message
    assert failed.value.stack and "flaky" in failed.value.stack
    soft = await client.workflow.execute(soft_fail, args=[uuid.uuid4().hex], task_queue=queue)
    assert soft["code"] == 597 and soft["type"] == "ValueError"
    with pytest.raises(WorkflowFailed) as fatal_err:
        await client.workflow.execute(fatal_wf, args=["stop-retrying"], task_queue=queue)
    assert fatal_err.value.code == 598 and fatal_err.value.message == "stop-retrying"


async def test_workflow_body_retries_then_maxes(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, body_retry)
    fast = RetryPolicy(maximum_attempts=4, initial_interval=0.1, backoff_coefficient=1.0)
    key = uuid.uuid4().hex
    assert (
        await client.workflow.execute(
            body_retry, args=[key, 2], task_queue=queue, retry=fast, timeout=30
        )
        == 3
    )
    key2 = uuid.uuid4().hex
    with pytest.raises(WorkflowFailed) as failed:
        await client.workflow.execute(
            body_retry,
            args=[key2, 5],
            task_queue=queue,
            retry=RetryPolicy(maximum_attempts=2, initial_interval=0.1),
            timeout=30,
        )
    assert failed.value.code == 597
    assert failed.value.message == "recurring-test-error"
    assert failed.value.type_name == "RuntimeError"
    assert CALLS[key2] == 2


async def test_timeout_suspension_and_continue_as_new(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, timeout_wf, swallow, batches)
    assert await client.workflow.execute(timeout_wf, task_queue=queue, timeout=30) == "timeout:596"
    assert await client.workflow.execute(swallow, task_queue=queue, timeout=30) == "Hello, x!"
    assert await client.workflow.execute(batches, args=[1, 0], task_queue=queue, timeout=30) == 30


async def test_cancel_runs_cleanup_in_non_cancellable_scope(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, cancellable)
    handle = await client.workflow.start(cancellable, args=["o-1"], task_queue=queue)
    await handle.cancel()
    assert await handle.result(timeout=30) == "cancelled:Hello, refund o-1!"


async def test_interrupt_duplicate_and_status(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, waits_forever)
    workflow_id = f"wait-{uuid.uuid4().hex}"
    handle = await client.workflow.start(
        waits_forever, args=[uuid.uuid4().hex], task_queue=queue, workflow_id=workflow_id
    )
    with pytest.raises(DuplicateJob):
        await client.workflow.start(
            waits_forever, args=["x"], task_queue=queue, workflow_id=workflow_id
        )
    assert await handle.status() > 0
    await handle.interrupt(reason="operator said stop")
    with pytest.raises(WorkflowInterrupted) as stopped:
        await handle.result(timeout=30)
    assert stopped.value.code == 410
    assert await handle.status() < 0


async def sleeps_a_day(order: str) -> str:
    try:
        if order.startswith("wait"):
            await wf.condition(f"{order}-never")
        else:
            await wf.sleep("1d")
    except CancelledFailure:
        async with wf.non_cancellable():
            await wf.sleep(0.05)  # a sleep in the cleanup is not woken again
        return f"woken:{order}"
    return "slept a day"


async def test_cancel_wakes_a_sleeping_workflow(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, sleeps_a_day)
    handle = await client.workflow.start(sleeps_a_day, args=["o-2"], task_queue=queue)
    hm = await client.get_hotmesh_client()

    async def sleeping() -> bool:
        activities = (await hm.export(handle.workflow_id)).activities
        return any(a["name"] == "sleeper" for a in activities)

    await assert_eventually(sleeping, timeout=30, message="the workflow never slept")
    await handle.cancel()
    assert await handle.result(timeout=30) == "woken:o-2"
    history = await handle.export_execution()
    fired = [e for e in history["events"] if e["event_type"] == "timer_fired"]
    assert [e["attributes"].get("cancelled") for e in fired] == [True, None]
    assert await replay(history, sleeps_a_day) == "woken:o-2"

    waiting = await client.workflow.start(
        sleeps_a_day, args=[f"wait-{uuid.uuid4().hex}"], task_queue=queue
    )

    async def waits() -> bool:
        activities = (await hm.export(waiting.workflow_id)).activities
        return any(a["name"] == "waiter" for a in activities)

    await assert_eventually(waits, timeout=30, message="the workflow never waited")
    await waiting.cancel()
    assert (await waiting.result(timeout=30)).startswith("woken:wait-")
    kinds = [e["event_type"] for e in (await waiting.export_execution())["events"]]
    assert "signal_wait_cancelled" in kinds
