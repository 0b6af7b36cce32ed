"""Hooks (durable.md §4.5): wf.hook, wf.exec_hook and client.workflow.hook, both providers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hotmesh.durable import Client, DurableFatalError, Worker, WorkflowFailed
from hotmesh.durable import workflow as wf
from hotmesh.errors import ConfigError, JobNotFound


async def answer(question: str, info: dict[str, Any]) -> str:
    """A hook function: answers its caller through the signal it was given."""
    assert info["$durable"] is True
    await wf.signal(info["signal"], {"question": question, "hook": wf.workflow_info().workflow_id})
    return "answered"


async def broken(reason: str, info: dict[str, Any] | None = None) -> None:
    raise DurableFatalError(f"hook broke: {reason}")


async def notify(signal_id: str, data: Any) -> str:
    await wf.signal(signal_id, data)
    return "sent"


async def asks(question: str) -> dict[str, Any]:
    got = await wf.exec_hook(workflow=answer, args=[question])
    try:
        await wf.exec_hook(workflow=broken, args=["on purpose"])
    except DurableFatalError as err:
        failure = str(err)
    else:
        failure = "no error"
    signal_id = f"{wf.workflow_info().workflow_id}-fired"
    fired = await wf.hook(workflow=notify, args=[signal_id, "fire-and-forget"])
    heard = await wf.condition(signal_id)
    try:
        await wf.hook(workflow=asks, args=["loop"])
    except ConfigError as err:
        loop = str(err)
    return {"got": got, "failure": failure, "fired": fired, "heard": heard, "loop": loop}


async def asks_twice() -> list[Any]:
    """Two hooks gathered: each registers its child and then its wait in the same turns."""
    both = await wf.gather(
        wf.exec_hook(workflow=answer, args=["one"]), wf.exec_hook(workflow=answer, args=["two"])
    )
    return [reply["question"] for reply in both]


async def waits(signal_id: str) -> Any:
    return await wf.condition(signal_id)


async def serve(connection: dict[str, Any], queue: str, *workflows: Any) -> None:
    for fn in workflows:
        await Worker.create(connection=connection, task_queue=queue, workflow=fn)


async def test_exec_hook_returns_the_payload_and_raises_the_hooks_error(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, asks, answer, broken, notify)
    handle = await client.workflow.start(asks, args=["why?"], task_queue=queue)
    result = await handle.result(timeout=60)
    assert result["got"]["question"] == "why?"
    assert result["got"]["hook"].startswith(f"{handle.workflow_id}-exechook-")
    assert result["failure"] == "hook broke: on purpose"
    assert result["heard"] == "fire-and-forget"
    assert await client.workflow.get_handle(result["fired"]).result(timeout=30) == "sent"
    assert "Potential infinite loop" in result["loop"]


async def test_gathered_exec_hooks_each_get_their_own_answer(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, asks_twice, answer)
    result = await client.workflow.execute(asks_twice, task_queue=queue, timeout=60)
    assert result == ["one", "two"]


async def test_client_hook_runs_for_a_running_workflow_and_reports_its_error(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, waits, notify, broken)
    signal_id = uuid.uuid4().hex
    handle = await client.workflow.start(waits, args=[signal_id], task_queue=queue)
    hook_id = await client.workflow.hook(
        workflow_id=handle.workflow_id,
        workflow=notify,
        task_queue=queue,
        args=[signal_id, {"from": "hook"}],
        search={"who": "flintstone"},
    )
    assert await client.workflow.get_handle(hook_id).result(timeout=30) == "sent"
    assert await client.workflow.get_handle(hook_id).query("who") == {"who": "flintstone"}
    assert await handle.result(timeout=30) == {"from": "hook"}

    other = await client.workflow.start(waits, args=[uuid.uuid4().hex], task_queue=queue)
    failing = await client.workflow.hook(
        workflow_id=other.workflow_id, workflow=broken, task_queue=queue, args=["client"]
    )
    with pytest.raises(WorkflowFailed, match="hook broke: client"):
        await client.workflow.get_handle(failing).result(timeout=30)
    await other.interrupt()

    with pytest.raises(ConfigError, match="has finished"):
        await client.workflow.hook(
            workflow_id=handle.workflow_id, workflow=notify, task_queue=queue
        )
    with pytest.raises(JobNotFound):
        await client.workflow.hook(workflow_id="no-such-wf", workflow=notify, task_queue=queue)


async def test_signal_in_false_refuses_hooks(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, waits)
    signal_id = uuid.uuid4().hex
    handle = await client.workflow.start(waits, args=[signal_id], task_queue=queue, signal_in=False)
    with pytest.raises(ConfigError, match="signal_in=False"):
        await client.workflow.hook(
            workflow_id=handle.workflow_id, workflow=notify, task_queue=queue
        )
    await client.workflow.signal(signal_id, 7)
    assert await handle.result(timeout=30) == 7
    exported = await handle.export()
    assert all(entry["key"] != "-nohooks-" for entry in exported["timeline"])
