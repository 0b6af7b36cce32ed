"""Checkpoint-and-continue turns: a chain of activities this process serves runs in one
delivery of the workflow turn, each outcome checkpointed into the job before the next
activity starts (crash and redelivery: tests/durable/test_crash.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from hotmesh.durable import Client, Worker, WorkflowFailed
from hotmesh.durable import workflow as wf

RAN: list[str] = []
GATE: dict[str, asyncio.Event] = {}


async def make_list() -> list[str]:
    RAN.append("make_list")
    return ["a"]


async def count(items: list[str]) -> int:
    RAN.append("count")
    return len(items)


async def gate() -> str:
    GATE["entered"].set()
    await GATE["release"].wait()
    RAN.append("gate")
    return "passed"


async def after_gate() -> str:
    RAN.append("after_gate")
    return "ran"


async def mutates(order: dict[str, Any]) -> list[Any]:
    acts = wf.proxy_activities()
    items = await acts.make_list()
    items.append("w")  # changes the replayed value: the next replay must not see it
    order["seen"] = order.get("seen", 0) + 1  # and the arguments
    n = await acts.count(items)
    return [n, items, order]


async def cancelled_between() -> str:
    acts = wf.proxy_activities()
    await acts.gate()
    await acts.after_gate()
    return "completed"


ACTIVITIES: list[Callable[..., Any]] = [make_list, count, gate, after_gate]


@pytest.fixture(autouse=True)
def _reset() -> None:
    RAN.clear()
    GATE.clear()


async def test_each_replay_of_a_continued_turn_starts_from_fresh_values(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    await Worker.create(
        connection=connection, task_queue=queue, workflow=mutates, activities=ACTIVITIES
    )
    result = await client.workflow.execute(mutates, args=[{"id": 1}], task_queue=queue, timeout=60)
    assert result == [2, ["a", "w"], {"id": 1, "seen": 1}]
    assert RAN == ["make_list", "count"], "each activity ran once"


async def test_a_cancel_during_an_inline_activity_stops_the_chain(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    """The checkpoint after the first activity reads the cancel flag: the next replay
    raises CancelledFailure instead of running the second activity inline."""
    GATE["entered"], GATE["release"] = asyncio.Event(), asyncio.Event()
    await Worker.create(
        connection=connection, task_queue=queue, workflow=cancelled_between, activities=ACTIVITIES
    )
    handle = await client.workflow.start(cancelled_between, task_queue=queue)
    await asyncio.wait_for(GATE["entered"].wait(), 60)
    await handle.cancel()
    GATE["release"].set()
    with pytest.raises(WorkflowFailed) as failed:
        await handle.result(timeout=60)
    assert failed.value.code == 598
    assert RAN == ["gate"], "the activity after the cancel never ran"
