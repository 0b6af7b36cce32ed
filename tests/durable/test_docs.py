"""The examples of docs/durable.md, run in order as one program."""

from __future__ import annotations

import math
import re
import sys
import types
from pathlib import Path
from typing import Any

from hotmesh.durable import Client

DOC = Path(__file__).resolve().parents[2] / "docs" / "durable.md"


def _load() -> types.ModuleType:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 6, "the guide lost its examples"
    module = types.ModuleType("durable_guide")
    sys.modules[module.__name__] = module
    exec(compile("\n".join(blocks), str(DOC), "exec"), module.__dict__)
    return module


async def test_the_guide_runs(client: Client, connection: dict[str, Any]) -> None:
    guide = _load()
    first = await guide.first_workflow(connection)
    assert first == {"payment": "charge-A-1-42", "parcel": "parcel-A-1"}
    tour = await guide.tour(connection)
    assert tour["fan_out"] == ["parcel-a", "parcel-b"]
    x = math.sin(0) * 10000
    assert tour["lucky"][0] == x - math.floor(x) and len(tour["lucky"][1]) == 36
    assert tour["careful"] == "ok after 3 attempts"
    assert tour["approval"] == "approved by ada"
    assert tour["parent"]["receipt"] == {"payment": "charge-P-1-10", "parcel": "parcel-P-1"}
    assert tour["parent"]["audit"]
    assert tour["subscription"] == 3
    assert tour["refundable"] == "refunded"
    assert "no worker has run it yet" in tour["waited"]


async def test_the_guide_handle_signals_reach_their_own_workflow(
    client: Client, connection: dict[str, Any]
) -> None:
    assert await _load().two_approvals(connection) == ["approved by ada", "approved by grace"]


async def test_the_guide_hooks(client: Client, connection: dict[str, Any]) -> None:
    hooks = await _load().hooks_demo(connection)
    assert hooks == {
        "published": {"draft": "v1", "verdict": "ship it"},
        "watched": "nudged",
        "reviewed": {
            "first": {"draft": "v2", "verdict": "ship it"},
            "second": "v2 reads well",
            "reviewers": "2",
        },
    }


async def test_the_guide_history_and_replay(client: Client, connection: dict[str, Any]) -> None:
    demo = await _load().history_demo(connection)
    assert demo["events"] == [
        "workflow_execution_started",
        "activity_task_scheduled",
        "activity_task_completed",
        "timer_started",
        "timer_fired",
        "activity_task_scheduled",
        "activity_task_completed",
        "workflow_execution_completed",
    ]
    assert demo["charged_with"] == ["H-1", 5]
    assert demo["replayed"] == {"payment": "charge-H-1-5", "parcel": "parcel-H-1"}
    assert demo["diverged"] == ("proxy:charge", "proxy:ship")
