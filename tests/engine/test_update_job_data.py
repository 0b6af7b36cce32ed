"""HotMesh.update_job_data: a running job's data changed from outside its graph,
atomically against other updates and at most once per ``once`` key."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh.errors import JobNotFound
from hotmesh_conformance.harness import assert_eventually
from tests.engine.conftest import MeshFactory

WAITS = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: data.wait
      expire: 120
      activities:
        t1:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
          job:
            maps:
              n: 0
        wait:
          type: hook
      transitions:
        t1:
          - to: wait
      hooks:
        data.go:
          - to: wait
            conditions:
              match:
                - expected: '{t1.output.data.id}'
                  actual: '{$self.hook.data.id}'
"""


def bump(data: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    n = int(data.get("n") or 0) + 1
    return {"n": n, "doc": {"deep": [n]}}, {"n": n, "doc": {"deep": [n]}}


async def test_updates_are_atomic_and_once_keys_apply_once(mesh: MeshFactory, app_id: str) -> None:
    hm = await mesh()
    await hm.deploy(WAITS.replace("{APP}", app_id))
    assert await hm.activate("1")
    await hm.pub("data.wait", {"id": "u1"})
    assert await hm.update_job_data("u1", bump, once="first") == {"n": 1, "doc": {"deep": [1]}}
    again = await hm.update_job_data("u1", bump, once="first")
    assert again == {"n": 1, "doc": {"deep": [1]}}, "the first call's result, not applied again"
    assert (await hm.get_state("data.wait", "u1")).data["n"] == 1
    await asyncio.gather(*(hm.update_job_data("u1", bump) for _ in range(8)))
    data = (await hm.get_state("data.wait", "u1")).data
    assert data["n"] == 9 and data["doc"] == {"deep": [9]}, "no update lost"
    await hm.signal("data.go", {"id": "u1"})
    await assert_eventually(lambda: hm.get_status("u1"), lambda s: s == 0)
    with pytest.raises(JobNotFound):
        await hm.update_job_data("u1", bump)
