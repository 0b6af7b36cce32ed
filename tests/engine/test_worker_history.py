"""A worker may ask for the job's recorded history with its request (opt-in, per worker)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from hotmesh import WorkerMessage
from hotmesh.config import WorkerConfig
from hotmesh.errors import ConfigError
from tests.engine.conftest import MeshFactory


def app(app_id: str) -> str:
    return f"""
app:
  id: {app_id}
  version: '1'
  graphs:
    - subscribes: hist.go
      activities:
        t1: {{type: trigger}}
        w1:
          type: worker
          topic: hist.plain
          input: {{maps: {{x: '{{t1.output.data.x}}'}}}}
        w2:
          type: worker
          topic: hist.replay
          input: {{maps: {{x: '{{w1.output.data.y}}'}}}}
          job: {{maps: {{z: '{{w2.output.data.z}}'}}}}
      transitions:
        t1: [{{to: w1}}]
        w1: [{{to: w2}}]
"""


async def test_only_the_worker_that_asked_gets_the_history(mesh: MeshFactory, app_id: str) -> None:
    seen: dict[str, Mapping[str, Any] | None] = {}

    async def plain(message: WorkerMessage) -> dict[str, Any]:
        seen["plain"] = message.history
        return {"data": {"y": message.data["x"] + 1}}

    async def replay(message: WorkerMessage) -> dict[str, Any]:
        seen["replay"] = message.history
        return {"data": {"z": message.data["x"] * 10}}

    hm = await mesh(
        [
            {"topic": "hist.plain", "callback": plain},
            {"topic": "hist.replay", "callback": replay, "history": True},
        ]
    )
    await hm.deploy(app(app_id))
    await hm.activate("1")
    out = await hm.pubsub("hist.go", {"x": 1}, timeout=20)
    assert out.data == {"z": 20}
    assert seen["plain"] is None
    history = seen["replay"]
    assert history is not None
    # w1's answer, as the job recorded it before w2 was called
    [w1] = [value for key, value in history.items() if key.startswith("a/w1,")]
    assert w1["output"]["data"] == {"y": 2} and w1["done"] is True


async def _noop(message: WorkerMessage) -> None:
    return None


def test_a_worker_role_cannot_ask_for_history() -> None:
    with pytest.raises(ConfigError, match="history"):
        WorkerConfig(topic="t", callback=_noop, history=True, worker_credentials={"user": "u"})
