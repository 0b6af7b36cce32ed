"""A cycle re-enters its ancestor inside the step that reaches it (no engine message);
a loop that never waits falls back to the stream every MAX_INLINE_CYCLES passes."""

from __future__ import annotations

import pytest

from hotmesh import HotMesh
from hotmesh.engine import planner
from hotmesh.engine.planner import MAX_INLINE_CYCLES
from tests.engine.conftest import MeshFactory

SPIN = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: spin.test
      expire: 120
      activities:
        t1:
          type: trigger
          job:
            maps:
              count: 0
        pivot:
          type: hook
          cycle: true
        bump:
          type: hook
          job:
            maps:
              count:
                '@pipe':
                  - ['{$job.data.count}', 1]
                  - ['{@math.add}']
        again:
          type: cycle
          ancestor: pivot
      transitions:
        t1:
          - to: pivot
        pivot:
          - to: bump
        bump:
          - to: again
            conditions:
              match:
                - expected: true
                  actual:
                    '@pipe':
                      - ['{$job.data.count}', LIMIT]
                      - ['{@conditional.less_than}']
"""


@pytest.mark.parametrize("inline", [MAX_INLINE_CYCLES, 0])
async def test_a_loop_that_never_waits_still_completes(
    mesh: MeshFactory, app_id: str, inline: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same count whether cycles re-enter inline (bounded per step) or by message."""
    monkeypatch.setattr(planner, "MAX_INLINE_CYCLES", inline)
    limit = MAX_INLINE_CYCLES * 3 + 1
    hm: HotMesh = await mesh()
    await hm.deploy(SPIN.replace("{APP}", app_id).replace("LIMIT", str(limit)))
    assert await hm.activate("1")
    out = await hm.pubsub("spin.test", {}, timeout=30)
    # Transitions see the count before bump's job maps: the last pass bumps it past.
    assert out.data["count"] == limit + 1
    assert await hm.get_status(out.job_id) == 0
