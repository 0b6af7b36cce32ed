"""kill -9 a worker process mid-callback: its jobs complete exactly once elsewhere."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from hotmesh import HotMesh
from hotmesh.types import JobOutput
from hotmesh_conformance.harness import assert_eventually
from tests.mesh._cluster import Cluster, app_version

JOBS = 3
LEASE = 1.5


async def test_kill_9_mid_callback_completes_elsewhere_exactly_once(
    cluster: Cluster, hm: HotMesh
) -> None:
    [victim] = await cluster.start(1, worker="stall", lease=LEASE)
    [survivor] = await cluster.start(1, lease=LEASE)
    await hm.deploy(app_version(hm.app_id, "1"))
    await hm.activate("1")
    # The survivor waits (paused) until the victim holds every job.
    await hm.throttle(-1, guid=survivor.guid)

    completions: Counter[str] = Counter()
    finished_at: dict[str, float] = {}
    outputs: dict[str, Any] = {}
    all_done = asyncio.Event()

    def on_done(topic: str, output: JobOutput) -> None:
        jid = output.job_id
        completions[jid] += 1
        finished_at.setdefault(jid, time.monotonic())
        outputs[jid] = output
        if len(finished_at) == JOBS:
            all_done.set()

    await hm.psub("mesh.done.*", on_done)
    jobs = [await hm.pub("mesh.start", {"id": f"k{i}"}) for i in range(JOBS)]
    await victim.wait_for(lambda ev: {e.get("jid") for e in ev if e["event"] == "start"}
                          >= set(jobs))  # fmt: skip

    victim.kill9()
    killed = time.monotonic()
    await victim.proc.wait()
    await hm.throttle(0, guid=survivor.guid)
    await asyncio.wait_for(all_done.wait(), 30)
    elapsed = max(finished_at.values()) - killed
    print(f"\nkill -9 -> all {JOBS} jobs completed elsewhere: {elapsed * 1e3:.0f} ms "
          f"(lease {LEASE}s)")  # fmt: skip

    for jid in jobs:
        assert outputs[jid].data["pid1"] == outputs[jid].data["pid2"] == survivor.pid
        assert await hm.get_status(jid) == 0
    # Exactly once: one completion per job, one finished w1 callback per job.
    await hm.roll_call()  # a round trip: any second completion would have arrived by now
    assert completions == Counter(dict.fromkeys(jobs, 1))
    done = Counter((e["jid"], e["aid"]) for e in survivor.named("done"))
    assert done == Counter({(jid, aid): 1 for jid in jobs for aid in ("w1", "w2")})
    assert not victim.named("done")
    assert elapsed < LEASE + 5


TIMER_APP = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: timer.start
      publishes: timer.done
      expire: 120
      activities:
        t1:
          type: trigger
          stats:
            id: '{t1.input.data.id}'
        h1:
          type: hook
          sleep: 1
        w1:
          type: worker
          topic: mesh.work
          input:
            maps:
              id: '{t1.output.data.id}'
          job:
            maps:
              pid1: '{w1.output.data.pid}'
      transitions:
        t1:
          - to: h1
        h1:
          - to: w1
"""


async def test_timers_fire_after_the_process_that_set_them_dies(
    cluster: Cluster, hm: HotMesh
) -> None:
    first, second = await cluster.start(2, lease=LEASE)
    await hm.deploy(TIMER_APP.replace("{APP}", hm.app_id))
    await hm.activate("1")
    # Timers are delayed stream messages: no member owns them, any member fires them.
    await hm.throttle(-1, guid=second.guid)
    jobs = [await hm.pub("timer.start", {"id": f"t{i}"}) for i in range(3)]
    # The first member (the only one consuming) set the timers: they wait in the stream.
    await assert_eventually(
        lambda: hm._any_backend().stream.depth(["$engine"]),
        lambda d: d["$engine"].delayed == 3,
        timeout=10,
    )
    first.kill9()
    await first.proc.wait()
    await hm.throttle(0, guid=second.guid)
    for jid in jobs:
        output = await _wait_done(hm, jid)
        assert output["pid1"] == second.pid


async def _wait_done(hm: HotMesh, jid: str) -> Any:
    await assert_eventually(lambda: hm.get_status(jid), lambda s: s == 0, timeout=20,
                            interval=0.1)  # fmt: skip
    return (await hm.get_state("timer.start", jid)).data
