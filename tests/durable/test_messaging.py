"""Workflow-to-workflow signals, interrupting a child, failing children, remote activity
queues, activities from a module, headers."""

from __future__ import annotations

import asyncio
import importlib.util
import uuid
from typing import Any

import pytest

from hotmesh.durable import (
    Client,
    DurableFatalError,
    Worker,
    WorkflowFailed,
    WorkflowInterrupted,
    register_activity_worker,
)
from hotmesh.durable import workflow as wf
from tests.durable import _activities_module


def _otel_api_installed() -> bool:
    """find_spec of a submodule raises when its parent package is absent."""
    try:
        return importlib.util.find_spec("opentelemetry.trace") is not None
    except ModuleNotFoundError:
        return False


async def remote_double(n: int) -> int:
    return n * 2


async def failing_child(message: str) -> None:
    raise DurableFatalError(message)


async def listener(signal_id: str) -> Any:
    return await wf.condition(signal_id)


async def talker(signal_id: str) -> str:
    await wf.signal(signal_id, {"from": wf.workflow_info().workflow_id})
    return "sent"


async def supervisor(child_id: str) -> dict[str, Any]:
    started = await wf.start_child(listener, args=["never-" + child_id], workflow_id=child_id)
    await wf.interrupt(started, reason="supervisor stops it", throw=True)
    try:
        await wf.execute_child(failing_child, args=["child broke"])
    except DurableFatalError as err:
        caught = err.message
    remote = wf.proxy_activities(task_queue="remote-math")
    local = wf.proxy_activities(headers={"suffix": "!"})
    return {
        "stopped": started,
        "caught": caught,
        "remote": await remote.remote_double(21),
        "shout": await local.shout("hey"),
    }


async def test_signal_between_workflows(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    for fn in (listener, talker):
        await Worker.create(connection=connection, task_queue=queue, workflow=fn)
    signal_id = uuid.uuid4().hex
    waiting = await client.workflow.start(listener, args=[signal_id], task_queue=queue)
    sender = await client.workflow.start(talker, args=[signal_id], task_queue=queue)
    assert await sender.result(timeout=30) == "sent"
    assert await waiting.result(timeout=30) == {"from": sender.workflow_id}


async def test_interrupt_child_failing_child_remote_and_module_activities(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await register_activity_worker(
        connection=connection, activities={"remote_double": remote_double}, task_queue="remote-math"
    )
    for fn in (supervisor, listener, failing_child):
        await Worker.create(
            connection=connection, task_queue=queue, workflow=fn, activities=_activities_module
        )
    child_id = f"child-{uuid.uuid4().hex}"
    result = await client.workflow.execute(supervisor, args=[child_id], task_queue=queue)
    assert result == {
        "stopped": child_id,
        "caught": "child broke",
        "remote": 42,
        "shout": "HEY!",
    }
    with pytest.raises(WorkflowInterrupted) as stopped:
        await client.workflow.get_handle(child_id).result(timeout=30)
    assert "supervisor stops it" in stopped.value.message
    with pytest.raises(WorkflowFailed) as failed:
        await client.workflow.execute(failing_child, args=["direct"], task_queue=queue)
    assert failed.value.code == 598 and failed.value.type_name == "DurableFatalError"


OTEL_API = _otel_api_installed()


async def announcer(order: str) -> bool:
    first = await wf.emit({"order.ready": {"order": order}})
    traced = await wf.trace({"order": order})
    await wf.sleep(0.1)  # a second turn replays the emit without repeating it
    return first and traced is OTEL_API


async def test_emit_publishes_once_per_execution(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await Worker.create(connection=connection, task_queue=queue, workflow=announcer)
    engine = await client.get_hotmesh_client()
    heard: list[Any] = []
    done = asyncio.Event()

    async def on_message(_topic: str, message: dict[str, Any]) -> None:
        if message.get("topic") == "order.ready":
            heard.append(message["message"])
            done.set()

    await engine.sub_quorum(on_message)
    order = uuid.uuid4().hex
    assert await client.workflow.execute(announcer, args=[order], task_queue=queue) is True
    await asyncio.wait_for(done.wait(), 30)
    assert [m for m in heard if m == {"order": order}] == [{"order": order}]
