"""Who a call reaches and how long what it leaves behind is kept: ``handle.signal`` only
its own workflow (D5), ``expire`` of children and interrupts, ``exec_hook_batch``."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from hotmesh.durable import Client, Worker, WorkflowHandle, WorkflowInterrupted
from hotmesh.durable import workflow as wf
from hotmesh.errors import ConfigError, JobNotFound


async def listener(signal_id: str) -> Any:
    return await wf.condition(signal_id)


async def two_waits(first: str, second: str) -> list[Any]:
    return [await wf.condition(first), await wf.condition(second)]


async def noop_child() -> str:
    return "ok"


async def keeper(prefix: str) -> list[str]:
    assert await wf.execute_child(noop_child, workflow_id=f"{prefix}-kept") == "ok"
    assert await wf.execute_child(noop_child, workflow_id=f"{prefix}-short", expire=1) == "ok"
    started = await wf.start_child(noop_child, workflow_id=f"{prefix}-started", expire="1s")
    victim = await wf.start_child(listener, args=[f"never-{prefix}"], workflow_id=f"{prefix}-v")
    await wf.interrupt(victim, expire=1)
    return [f"{prefix}-kept", f"{prefix}-short", started, victim]


async def answer(question: str, info: dict[str, Any]) -> None:
    await wf.signal(info["signal"], f"{question}!")


async def batch() -> dict[str, Any]:
    answers = await wf.exec_hook_batch(
        [
            {"key": "a", "options": {"workflow": answer, "args": ["one"]}},
            {"key": "b", "options": {"workflow": answer, "args": ["two"]}},
            {"key": "c", "options": {"workflow": answer, "args": ["three"]}},
        ]
    )
    try:
        await wf.exec_hook_batch([{"key": "a", "options": {}}, {"key": "a", "options": {}}])
    except ConfigError as err:
        return {"answers": answers, "twice": str(err)}
    return {"answers": answers, "twice": "no error"}


async def tally(amount: int, info: dict[str, Any] | None = None) -> str:
    """A hook function: its search and entity sessions act on the workflow it runs for."""
    s = await wf.search()
    await s.incr("count", amount)
    await wf.enrich({"touched": "yes"})
    await (await wf.entity()).append("hooks", amount)
    await wf.sleep(0.1)  # a second turn replays every operation above: none applied twice
    if info is not None:
        await wf.signal(info["signal"], await s.get("count"))
    return "tallied"


async def counted(signal_id: str) -> dict[str, Any]:
    await (await wf.search()).set({"count": 1})
    await (await wf.entity()).set({"hooks": []})
    from_hook = await wf.exec_hook(workflow=tally, args=[2])
    await wf.signal(f"{signal_id}-ready", from_hook)
    await wf.condition(signal_id)  # the test's own hook (client.workflow.hook) ran meanwhile
    s = await wf.search()
    return {
        "from_hook": from_hook,
        "count": await s.get("count"),
        "touched": await s.get("touched"),
        "entity": await (await wf.entity()).get(),
    }


async def serve(connection: dict[str, Any], queue: str, *workflows: Any) -> None:
    for fn in workflows:
        await Worker.create(connection=connection, task_queue=queue, workflow=fn)


async def _gone(handle: WorkflowHandle) -> bool:
    """Whether the finished workflow has expired (polled: expiry has no event)."""
    for _ in range(600):
        try:
            await handle.state()
        except JobNotFound:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_handle_signal_reaches_only_its_own_workflow(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, listener)
    signal_id = uuid.uuid4().hex
    a = await client.workflow.start(listener, args=[signal_id], task_queue=queue)
    b = await client.workflow.start(listener, args=[signal_id], task_queue=queue)
    await a.signal(signal_id, "for a")
    assert await a.result(timeout=30) == "for a"
    # B waits on the same id but never heard A's signal; its own handle reaches it. (Not a
    # namespace-wide signal: of two live waits on one id the later registration holds the
    # id (docs/durable.md), and A and B register in either order.)
    assert await b.status() > 0
    await b.signal(signal_id, "for b")
    assert await b.result(timeout=30) == "for b"


async def test_a_namespace_wide_signal_wakes_one_wait_on_its_id(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, listener)
    signal_id = uuid.uuid4().hex
    a = await client.workflow.start(listener, args=[signal_id], task_queue=queue)
    b = await client.workflow.start(listener, args=[signal_id], task_queue=queue)
    await client.workflow.signal(signal_id, "one of you")
    results = {
        asyncio.ensure_future(a.result(timeout=30)): a,
        asyncio.ensure_future(b.result(timeout=30)): b,
    }
    done, pending = await asyncio.wait(results, return_when=asyncio.FIRST_COMPLETED)
    [woken] = done
    [other] = pending
    assert woken.result() == "one of you"
    assert await results[other].status() > 0, "one signal wakes one wait"
    await results[other].signal(signal_id, "you too")  # still reachable by its handle
    assert await other == "you too"


async def test_an_early_handle_signal_is_kept_for_its_workflow(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, two_waits)
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    handle = await client.workflow.start(two_waits, args=[first, second], task_queue=queue)
    await handle.signal(second, "early")  # the workflow waits on `first` before this one
    await handle.signal(first, "one")
    assert await handle.result(timeout=30) == ["one", "early"]
    other = await client.workflow.start(two_waits, args=[first, second], task_queue=queue)
    await client.workflow.signal(second, "early, to anyone")
    await client.workflow.signal(first, "one, to anyone")
    assert await other.result(timeout=30) == ["one, to anyone", "early, to anyone"]


async def test_children_and_interrupted_workflows_are_kept_for_their_expire(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, keeper, noop_child, listener)
    prefix = f"keep-{uuid.uuid4().hex[:8]}"
    ids = await client.workflow.execute(keeper, args=[prefix], task_queue=queue, timeout=60)
    kept, short, started, victim = (client.workflow.get_handle(i) for i in ids)
    for handle in (short, started, victim):
        assert await _gone(handle), f"{handle.workflow_id} never expired"
    assert (await kept.state())["response"] == "ok", "without expire a child is kept"

    waiting = await client.workflow.start(listener, args=[uuid.uuid4().hex], task_queue=queue)
    await waiting.interrupt(expire=1)
    assert await _gone(waiting)
    kept_too = await client.workflow.start(listener, args=[uuid.uuid4().hex], task_queue=queue)
    await kept_too.interrupt()
    with pytest.raises(WorkflowInterrupted):
        await kept_too.result(timeout=30)
    assert await kept_too.status() < 0, "without expire the interrupted workflow is kept"


async def test_exec_hook_batch_returns_every_payload_by_key(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, batch, answer)
    result = await client.workflow.execute(batch, task_queue=queue, timeout=60)
    assert result["answers"] == {"a": "one!", "b": "two!", "c": "three!"}
    assert "given twice" in result["twice"]


async def test_a_hooks_search_and_entity_act_on_its_target(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await serve(connection, queue, counted, tally, listener)
    signal_id = uuid.uuid4().hex
    ready = await client.workflow.start(listener, args=[f"{signal_id}-ready"], task_queue=queue)
    handle = await client.workflow.start(counted, args=[signal_id], task_queue=queue)
    assert await ready.result(timeout=60) == "3", "the exec_hook's answer: 1 + 2"
    hook_id = await client.workflow.hook(
        workflow_id=handle.workflow_id,
        workflow=tally,
        task_queue=queue,
        args=[10],
        search={"who": "fred"},
    )
    assert await client.workflow.get_handle(hook_id).result(timeout=30) == "tallied"
    await handle.signal(signal_id)
    result = await handle.result(timeout=30)
    assert result == {
        "from_hook": "3",
        "count": "13",
        "touched": "yes",
        "entity": {"hooks": [2, 10]},
    }
    assert await handle.query("count", "who") == {"count": "13", "who": "fred"}
    assert await client.workflow.get_handle(hook_id).query("count") == {"count": None}
    state = await handle.state()
    assert any(k.startswith("-once-") for k in state), "each hook write left its guard"
    timeline = (await handle.export())["timeline"]
    assert not any(entry["key"].startswith("-once-") for entry in timeline)
