"""A hook activity with several rules on its topic waits under several keys: a signal
by any of them wakes it once, and the other keys are then free again (a later signal
under one of them is parked for the next wait instead of being swallowed)."""

from __future__ import annotations

from hotmesh import HotMesh
from hotmesh_conformance.harness import assert_eventually
from tests.engine.conftest import MeshFactory

TWO_KEYS = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: two.keys
      expire: 120
      activities:
        t1:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
        wait:
          type: hook
          job:
            maps:
              heard: '{$self.hook.data.said}'
      transitions:
        t1:
          - to: wait
      hooks:
        two.go:
          - to: wait
            conditions:
              match:
                - expected: '{t1.output.data.id}'
                  actual: '{$self.hook.data.id}'
          - to: wait
            conditions:
              match:
                - expected: '{t1.output.data.group}'
                  actual: '{$self.hook.data.id}'
"""


async def _heard(hm: HotMesh, job_id: str) -> object:
    if await hm.get_status(job_id) != 0:
        return None
    return (await hm.get_state("two.keys", job_id)).data.get("heard")


async def test_a_wait_under_two_keys_is_woken_by_either(mesh: MeshFactory, app_id: str) -> None:
    hm = await mesh()
    await hm.deploy(TWO_KEYS.replace("{APP}", app_id))
    assert await hm.activate("1")
    for job_id in ("j1", "j2"):
        await hm.pub("two.keys", {"id": job_id, "group": "g"})
    await assert_eventually(lambda: hm.get_status("j2"), lambda s: s == 1)
    # j2 registered "g" last; j1 is reached by its own key, and j2 keeps "g".
    await hm.signal("two.go", {"id": "j1", "said": "to j1"})
    await assert_eventually(lambda: _heard(hm, "j1"), lambda h: h == "to j1")
    assert await hm.get_status("j2") == 1
    await hm.signal("two.go", {"id": "g", "said": "to the group"})
    await assert_eventually(lambda: _heard(hm, "j2"), lambda h: h == "to the group")
    # Nobody waits under "g" now: a signal is parked for the next wait, not swallowed.
    await hm.signal("two.go", {"id": "g", "said": "early"})
    await hm.pub("two.keys", {"id": "j3", "group": "g"})
    await assert_eventually(lambda: _heard(hm, "j3"), lambda h: h == "early")
