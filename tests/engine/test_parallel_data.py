"""Parallel branches writing different leaves of one job object keep them all (issue 14.1).

Four branches answer at about the same time and each maps ``results: {<name>: ...}``; a
follow-up of one branch adds ``results.gamma_doubled``. Every leaf of every job survives.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hotmesh.types import JobOutput, WorkerMessage
from tests.engine.conftest import MeshFactory

JOBS = 500
BRANCHES = ("alpha", "beta", "gamma", "delta")

APP = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: par.start
      publishes: par.done
      expire: 300
      activities:
        t1:
          type: trigger
          job:
            maps:
              results:
                started: true
"""
for _name in BRANCHES:
    APP += f"""
        {_name}:
          type: worker
          topic: par.work
          input:
            maps:
              branch: {_name}
              jid: '{{$job.metadata.jid}}'
          job:
            maps:
              results:
                {_name}: '{{$self.output.data.v}}'
"""
APP += """
        doubled:
          type: worker
          topic: par.work
          input:
            maps:
              branch: gamma_doubled
              jid: '{$job.metadata.jid}'
          job:
            maps:
              results:
                gamma_doubled: '{$self.output.data.v}'
                nested:
                  deep: '{$self.output.data.v}'
      transitions:
        t1:
          - to: alpha
          - to: beta
          - to: gamma
          - to: delta
        gamma:
          - to: doubled
"""


def expected(jid: str) -> dict[str, Any]:
    leaves: dict[str, Any] = {name: f"{name}:{jid}" for name in BRANCHES}
    doubled = f"gamma_doubled:{jid}"
    return {"started": True, **leaves, "gamma_doubled": doubled, "nested": {"deep": doubled}}


async def work(message: WorkerMessage) -> dict[str, Any]:
    await asyncio.sleep(0)  # let the other branches' answers interleave
    return {"data": {"v": f"{message.data['branch']}:{message.data['jid']}"}}


async def test_four_concurrent_branches_keep_every_leaf(mesh: MeshFactory, app_id: str) -> None:
    hm = await mesh(workers=[{"topic": "par.work", "callback": work, "concurrency": 20}])
    await hm.deploy(APP.replace("{APP}", app_id))
    assert await hm.activate("1")
    done: dict[str, JobOutput] = {}
    all_done = asyncio.Event()

    def on_done(_topic: str, output: JobOutput) -> None:
        done[output.job_id] = output
        if len(done) >= JOBS:
            all_done.set()

    await hm.psub("par.done.*", on_done)
    job_ids = [await hm.pub("par.start", {}) for _ in range(JOBS)]
    await asyncio.wait_for(all_done.wait(), 240)
    lost = {}
    for jid in job_ids:
        state = await hm.get_state("par.start", jid)
        if state.data.get("results") != expected(jid):
            lost[jid] = state.data
    assert not lost, f"{len(lost)} of {JOBS} jobs lost leaves, e.g. {next(iter(lost.items()))}"
    for jid in job_ids:
        assert done[jid].data["results"] == expected(jid), "the published result is whole too"
