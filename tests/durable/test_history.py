"""Execution history (handle.export_execution, durable.md §6.2) and replay testing."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from hotmesh.durable import (
    Client,
    DurableFatalError,
    NondeterminismError,
    RetryPolicy,
    Worker,
)
from hotmesh.durable import workflow as wf
from hotmesh.durable._history import build_execution, iso_time
from hotmesh.durable.testing import replay
from hotmesh.errors import ConfigError


async def double(x: int) -> int:
    return 2 * x


async def refuse(why: str) -> None:
    raise DurableFatalError(why)


async def kid(x: int) -> int:
    return x + 1


acts = wf.proxy_activities(retry=RetryPolicy(maximum_attempts=1, throw_on_error=False))


async def recorded(x: int, signal_id: str) -> dict[str, Any]:
    doubled = await acts.double(x)
    failed = await acts.refuse("no")
    await wf.sleep(1)
    heard = await wf.condition(signal_id)
    child = await wf.execute_child(kid, args=[doubled])
    await (await wf.search()).set({"stage": "done"})
    return {"doubled": doubled, "failed": failed["message"], "heard": heard, "child": child}


async def changed(x: int, signal_id: str) -> dict[str, Any]:
    """``recorded`` after an unguarded change: a sleep where the first activity was."""
    await wf.sleep(1)
    return {"x": x, "signal_id": signal_id}


async def run_recorded(client: Client, connection: dict[str, Any], queue: str) -> Any:
    for fn in (recorded, kid):
        await Worker.create(
            connection=connection, task_queue=queue, workflow=fn, activities=[double, refuse]
        )
    signal_id = uuid.uuid4().hex
    handle = await client.workflow.start(recorded, args=[4, signal_id], task_queue=queue)
    await client.workflow.signal(signal_id, {"ok": 1})
    assert (await handle.result(timeout=60))["child"] == 9
    return handle


async def test_export_execution_lists_the_events_in_order(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    handle = await run_recorded(client, connection, queue)
    history = await handle.export_execution(include_lineage=True, enrich_inputs=True)
    kinds = [e["event_type"] for e in history["events"] if not e["is_system"]]
    assert kinds == [
        "workflow_execution_started",
        "activity_task_scheduled",
        "activity_task_completed",
        "activity_task_scheduled",
        "activity_task_failed",
        "timer_started",
        "timer_fired",
        "signal_wait_started",
        "workflow_execution_signaled",
        "child_workflow_execution_started",
        "child_workflow_execution_completed",
        "workflow_execution_completed",
    ]
    events = history["events"]
    assert [e["event_id"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["event_time"] and e["event_time"].endswith("Z") for e in events)
    assert events[0]["attributes"]["input"][0] == 4
    done = next(e for e in events if e["event_type"] == "activity_task_completed")
    assert done["attributes"]["result"] == 8 and done["duration_ms"] is not None
    assert done["attributes"]["scheduled_event_id"] == 2
    scheduled = events[1]["attributes"]
    assert scheduled["activity_type"] == "double" and scheduled["input"] == [4]
    failed = next(e for e in events if e["event_type"] == "activity_task_failed")
    assert failed["attributes"]["failure"]["message"] == "no"
    signaled = next(e for e in events if e["event_type"] == "workflow_execution_signaled")
    assert signaled["attributes"]["input"] == {"ok": 1}
    assert history["status"] == "completed" and history["result"]["child"] == 9
    assert history["summary"]["activities"] == {
        "total": 2, "completed": 1, "failed": 1, "system": 0, "user": 2,
    }  # fmt: skip
    assert history["summary"]["timers"] == 1 and history["summary"]["signals"] == 1
    assert history["parent_workflow_id"] is None and history["origin_id"] is None

    sparse = await handle.export_execution(exclude_system=True, omit_results=True)
    assert not any(e["is_system"] for e in sparse["events"])
    assert all("result" not in e["attributes"] for e in sparse["events"])
    verbose = await handle.export_execution(mode="verbose", include_lineage=True)
    (child,) = verbose["children"]
    assert child["result"] == 9 and child["parent_workflow_id"] == handle.workflow_id


async def test_a_recorded_history_replays_and_a_changed_workflow_does_not(
    client: Client, connection: dict[str, Any], queue: str, tmp_path: Path
) -> None:
    handle = await run_recorded(client, connection, queue)
    saved = tmp_path / "history.json"
    saved.write_text(json.dumps(await handle.export_execution()))
    history = json.loads(saved.read_text())
    assert (await replay(history, recorded))["child"] == 9
    assert (await replay(saved, recorded))["heard"] == {"ok": 1}
    with pytest.raises(NondeterminismError) as diverged:
        await replay(history, changed)
    assert diverged.value.position == 0
    assert diverged.value.recorded == "proxy:double" and diverged.value.asked == "sleep"


def _history(status_done: bool, *markers: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = dict(markers)
    if status_done:
        data.update(done=True, response="ok")
    start = {"workflowTopic": "q-two", "workflowName": "two", "arguments": [3]}
    return build_execution("w1", data, {"jc": 0, "js": 0 if status_done else 1}, start)


async def two(x: int) -> str:
    await acts.double(x)
    await acts.double(x + 1)
    return "ok"


DOUBLE_0 = ("-proxy-0-", {"op": "double", "out": {"response": 6}, "ac": 1, "au": 2})
DOUBLE_1 = ("-proxy-1-", {"op": "double", "out": {"response": 8}, "ac": 3, "au": 4})


async def test_replay_of_a_running_history_and_its_divergences() -> None:
    assert await replay(_history(False, DOUBLE_0), two) is None  # a prefix: fine
    assert await replay(_history(True, DOUBLE_0, DOUBLE_1), two) == "ok"
    with pytest.raises(NondeterminismError, match="the end of the history"):
        await replay(_history(True, DOUBLE_0), two)  # the code calls more than recorded
    with pytest.raises(NondeterminismError, match="the end of the workflow") as early:
        await replay(_history(True, DOUBLE_0, DOUBLE_1, ("-sleep-2-", {"op": "", "out": 1})), two)
    assert early.value.position == 2
    blind = build_execution(
        "w1", dict([DOUBLE_0]), {"js": 1}, {"arguments": [3]}, omit_results=True
    )
    with pytest.raises(ConfigError, match="omit_results"):
        await replay(blind, two)
    with pytest.raises(ConfigError, match="export_execution"):
        await replay("[1, 2]", two)
    with pytest.raises(ConfigError, match="mode"):
        build_execution("w1", {}, {}, {}, mode="dense")
    assert iso_time("20260102030405.678") == "2026-01-02T03:04:05.678Z"
    assert iso_time("20260102030405") == "2026-01-02T03:04:05.000Z"
    assert iso_time(0) == "1970-01-01T00:00:00.000Z" and iso_time("soon") is None
