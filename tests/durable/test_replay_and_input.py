"""Nondeterminism detection, typed errors for bad input, and the public API surface."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from hotmesh.durable import (
    Client,
    NondeterminismError,
    RetryPolicy,
    Worker,
    WorkflowFailed,
)
from hotmesh.durable import workflow as wf
from hotmesh.errors import ConfigError, HotMeshTimeoutError, PayloadError

VERSION = {"code": 1}


async def echo(value: Any) -> Any:
    return value


async def evolving(signal_id: str) -> str:
    acts = wf.proxy_activities()
    if VERSION["code"] == 1:
        await acts.echo("v1")
    else:
        await wf.sleep(1)  # the code changed under a running workflow
    await wf.condition(signal_id)
    return "done"


async def calls_unknown() -> Any:
    acts = wf.proxy_activities()
    return await acts.not_registered(1)


async def returns_object() -> Any:
    return object()


async def test_changed_code_fails_with_nondeterminism_error(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await Worker.create(
        connection=connection, task_queue=queue, workflow=evolving, activities=[echo]
    )
    signal_id = uuid.uuid4().hex
    VERSION["code"] = 1
    handle = await client.workflow.start(evolving, args=[signal_id], task_queue=queue)
    for _ in range(600):  # wait until the first activity is recorded
        if "-proxy-0-" in await handle.state():
            break
        await asyncio.sleep(0.05)
    VERSION["code"] = 2
    try:
        await handle.signal(signal_id, "go")
        with pytest.raises(WorkflowFailed) as failed:
            await handle.result(timeout=30)
    finally:
        VERSION["code"] = 1
    assert failed.value.type_name == NondeterminismError.__name__
    assert handle.workflow_id in failed.value.message
    assert "#0" in failed.value.message
    assert "proxy:echo" in failed.value.message and "'sleep'" in failed.value.message


async def test_bad_input_is_refused_before_anything_is_stored(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    with pytest.raises(PayloadError, match=r"args of workflow 'echo'\[0\]\['when'\]"):
        await client.workflow.start("echo", args=[{"when": object()}], task_queue=queue)
    with pytest.raises(ConfigError, match="task_queue"):
        await client.workflow.start("echo")
    with pytest.raises(ConfigError, match="maximum_attempts"):
        RetryPolicy(maximum_attempts=0)
    with pytest.raises(ConfigError, match="initial_interval"):
        RetryPolicy(initial_interval="soon")
    with pytest.raises(ConfigError, match="expire"):
        await client.workflow.start("echo", task_queue=queue, expire="-")
    with pytest.raises(ConfigError, match="async function"):
        await Worker.create(connection=connection, task_queue=queue, workflow=echo.__name__)  # type: ignore[arg-type]


async def test_unknown_activity_and_bad_result_fail_clearly(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    for fn in (calls_unknown, returns_object):
        await Worker.create(
            connection=connection, task_queue=queue, workflow=fn, activities={"echo": echo}
        )
    with pytest.raises(WorkflowFailed, match=r"unknown activity 'not_registered'.*echo"):
        await client.workflow.execute(calls_unknown, task_queue=queue, timeout=30)
    with pytest.raises(WorkflowFailed, match="result of workflow 'returns_object'") as bad:
        await client.workflow.execute(returns_object, task_queue=queue, timeout=30)
    assert bad.value.code == 598  # not retried: it would fail the same way every time


async def test_no_worker_on_the_queue_times_out_saying_so(client: Client) -> None:
    handle = await client.workflow.start("nobody", task_queue=f"empty-{uuid.uuid4().hex}")
    with pytest.raises(HotMeshTimeoutError, match="no worker has run it yet") as waited:
        await handle.result(timeout=0.5)
    assert isinstance(waited.value, TimeoutError)


def test_every_listed_name_is_importable() -> None:
    import hotmesh.durable as durable
    from hotmesh.durable import activity, errors

    for name in (
        "Client", "Worker", "WorkflowHandle", "RetryPolicy", "register_activity_worker",
        "shutdown", "register_inbound_interceptor", "register_outbound_interceptor",
        "register_activity_interceptor", "clear_interceptors", "activity", "workflow",
        "DurableError", "DurableTimeoutError", "DurableMaxedError", "DurableFatalError",
        "DurableRetryError", "CancelledFailure", "WorkflowFailed", "WorkflowInterrupted",
        "DurableSuspend", "ActivityContext", "ActivityCall", "WorkflowInfo",
    ):  # fmt: skip
        assert hasattr(durable, name), name
    for name in (
        "proxy_activities", "sleep", "condition", "wait_for", "signal", "hook", "exec_hook",
        "execute_child", "start_child", "all", "gather", "emit", "enrich", "search", "entity",
        "continue_as_new", "patched", "deprecate_patch", "random", "uuid4", "interrupt",
        "non_cancellable", "CancellationScope", "is_cancellation", "did_interrupt",
        "workflow_info", "trace",
    ):  # fmt: skip
        assert callable(getattr(wf, name)), name
    assert wf.wait_for is wf.condition and wf.gather is wf.all
    assert callable(activity.get_context)
    assert errors.DurableTimeoutError.code == 596 and errors.DurableMaxedError.code == 597
    assert errors.DurableFatalError.code == 598 and errors.DurableRetryError.code == 599
    assert errors.WorkflowInterrupted.code == 410
    assert issubclass(errors.DurableSuspend, BaseException)
    assert not issubclass(errors.DurableSuspend, Exception)
    with pytest.raises(RuntimeError, match="inside a workflow"):
        asyncio.run(wf.hook(workflow="x"))
    with pytest.raises(RuntimeError, match="inside an activity"):
        activity.get_context()
    with pytest.raises(RuntimeError, match="inside a workflow"):
        wf.random()


async def test_arguments_that_do_not_fit_fail_the_workflow(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await Worker.create(connection=connection, task_queue=queue, workflow=returns_object)
    with pytest.raises(WorkflowFailed, match="positional argument") as failed:
        await client.workflow.execute(
            returns_object,
            args=[1, 2],
            task_queue=queue,
            retry=RetryPolicy(maximum_attempts=1),
            timeout=30,
        )
    assert failed.value.type_name == "TypeError"


PATCHED = {"deployed": False}


async def patchable(signal_id: str) -> str:
    acts = wf.proxy_activities()
    if PATCHED["deployed"] and wf.patched("v2"):
        first = await acts.echo("v2")
    else:
        first = await acts.echo("v1")
    await wf.condition(signal_id)
    return str(first)


async def test_patched_keeps_old_executions_on_the_old_path(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await Worker.create(
        connection=connection, task_queue=queue, workflow=patchable, activities=[echo]
    )
    old_signal, new_signal = uuid.uuid4().hex, uuid.uuid4().hex
    PATCHED["deployed"] = False
    try:
        old = await client.workflow.start(patchable, args=[old_signal], task_queue=queue)
        for _ in range(600):
            if "-proxy-0-" in await old.state():
                break
            await asyncio.sleep(0.05)
        PATCHED["deployed"] = True  # the new code is deployed while `old` runs
        new = await client.workflow.start(patchable, args=[new_signal], task_queue=queue)
        await old.signal(old_signal)
        await new.signal(new_signal)
        assert await old.result(timeout=30) == "v1"
        assert await new.result(timeout=30) == "v2"
        assert "-patch-v2-" in await new.state() and "-patch-v2-" not in await old.state()
    finally:
        PATCHED["deployed"] = False
