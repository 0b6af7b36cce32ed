"""``HotMesh.checkpoint``: a worker callback records job data before it answers, fenced
by its delivery (the Store contract itself: conformance ``test_checkpoint_*``)."""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh import HotMesh
from hotmesh.errors import ConfigError
from hotmesh.types import WorkerMessage
from tests.engine.conftest import MeshFactory, app_yaml

APP = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: ckpt.start
      expire: 120
      activities:
        t1:
          type: trigger
        w1:
          type: worker
          topic: ckpt.work
          job:
            maps:
              answered: '{$self.output.data.answered}'
      transitions:
        t1:
          - to: w1
"""


async def test_checkpoint_writes_while_the_delivery_is_held(mesh: MeshFactory, app_id: str) -> None:
    seen: dict[str, Any] = {}

    async def work(message: WorkerMessage) -> dict[str, Any]:
        hm: HotMesh = seen["hm"]
        jid = str(message.metadata["jid"])
        seen["message"] = message
        seen["flags"] = await hm.checkpoint(
            jid, {"progress": {"step": 1, "items": ["a"]}}, fence=message, flags=["-cancelled-"]
        )
        # Read back inside the delivery: the job holds it before the answer.
        seen["during"] = (await hm.get_state("ckpt.start", jid)).data.get("progress")
        return {"data": {"answered": True}}

    hm = await mesh(workers=[("ckpt.work", work)])
    seen["hm"] = hm
    await hm.deploy(app_yaml(APP, app_id))
    await hm.activate("1")
    output = await hm.pubsub("ckpt.start", {}, timeout=20)
    assert seen["flags"] == set(), "no flag set on the job"
    assert seen["during"] == {"step": 1, "items": ["a"]}
    assert output.data["progress"] == {"step": 1, "items": ["a"]}
    assert output.data["answered"] is True
    stale = await hm.checkpoint(output.job_id, {"late": 1}, fence=seen["message"])
    assert stale is None, "answered (and closed): the delivery no longer fences a write"
    state = await hm.get_state("ckpt.start", output.job_id)
    assert "late" not in state.data
    with pytest.raises(ConfigError, match="delivered"):
        await hm.checkpoint(output.job_id, {"x": 1}, fence=WorkerMessage({}, {}))
    with pytest.raises(ConfigError, match="clear"):
        await hm.checkpoint(output.job_id, {"x": 1}, fence=seen["message"], flags=["d/x"])
