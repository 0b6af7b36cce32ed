"""The crash harness: kill a node at a boundary mid-load, finish on a fresh one, check.

One *case* is (graph, crash point, skip). A victim node (:mod:`tests.crash.node`) runs
with ``HOTMESH_CRASH_AT=<point>`` and ``HOTMESH_CRASH_SKIP=<skip>``; the test's own
HotMesh (a read-only engine) starts :data:`JOBS` jobs of the graph. Once the victim has
killed itself (SIGKILL at that boundary) a survivor node starts and finishes the work
(the victim's leases lapse after ``node.LEASE`` seconds). Every job must then have
completed exactly once: semaphore 0, the expected data, one published completion.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from attrs import define, field

from hotmesh import HotMesh
from hotmesh.types import JobOutput

NODE = Path(__file__).with_name("node.py")
JOBS = 3
ROOT = Path(__file__).resolve().parents[2]

APP = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: crash.worker
      publishes: crash.worker.done
      expire: 300
      activities:
        t1:
          type: trigger
        w1:
          type: worker
          topic: crash.work
          input:
            maps:
              n: '{t1.output.data.n}'
              tag: w1
          job:
            maps:
              result: '{$self.output.data.v}'
      transitions:
        t1:
          - to: w1
    - subscribes: crash.signal
      publishes: crash.signal.done
      expire: 300
      activities:
        t2:
          type: trigger
        h2:
          type: hook
          job:
            maps:
              got: '{$self.hook.data.v}'
      transitions:
        t2:
          - to: h2
      hooks:
        crash.resume:
          - to: h2
            conditions:
              match:
                - expected: '{$job.metadata.jid}'
                  actual: '{$self.hook.data.id}'
    - subscribes: crash.timer
      publishes: crash.timer.done
      expire: 300
      activities:
        t3:
          type: trigger
        h3:
          type: hook
          sleep: 0.3
          job:
            maps:
              slept: true
        w3:
          type: worker
          topic: crash.work
          input:
            maps:
              n: '{t3.output.data.n}'
              tag: w3
          job:
            maps:
              result: '{$self.output.data.v}'
      transitions:
        t3:
          - to: h3
        h3:
          - to: w3
    - subscribes: crash.await
      publishes: crash.await.done
      expire: 300
      activities:
        t4:
          type: trigger
        a4:
          type: await
          topic: crash.worker
          input:
            maps:
              n: '{t4.output.data.n}'
          job:
            maps:
              child: '{$self.output.data.result}'
      transitions:
        t4:
          - to: a4
    - subscribes: crash.cycle
      publishes: crash.cycle.done
      expire: 300
      activities:
        t5:
          type: trigger
          job:
            maps:
              counter: 0
        a5:
          type: hook
          cycle: true
        w5:
          type: worker
          topic: crash.count
          input:
            maps:
              counter: '{$job.data.counter}'
          job:
            maps:
              counter: '{$self.output.data.counter}'
        c5:
          type: cycle
          ancestor: a5
      transitions:
        t5:
          - to: a5
        a5:
          - to: w5
        w5:
          - to: c5
            conditions:
              match:
                - expected: true
                  actual:
                    '@pipe':
                      - ['{w5.output.data.counter}', 3]
                      - ['{@conditional.less_than}']
    - subscribes: crash.parallel
      publishes: crash.parallel.done
      expire: 300
      activities:
        t6:
          type: trigger
        p1:
          type: worker
          topic: crash.work
          input:
            maps:
              n: '{t6.output.data.n}'
              tag: p1
          job:
            maps:
              results:
                p1: '{$self.output.data.tag}'
        p2:
          type: worker
          topic: crash.work
          input:
            maps:
              n: '{t6.output.data.n}'
              tag: p2
          job:
            maps:
              results:
                p2: '{$self.output.data.tag}'
        p3:
          type: worker
          topic: crash.work
          input:
            maps:
              n: '{t6.output.data.n}'
              tag: p3
          job:
            maps:
              results:
                p3: '{$self.output.data.tag}'
      transitions:
        t6:
          - to: p1
          - to: p2
          - to: p3
"""

ENGINE_POINTS = ("engine.after_claim", "engine.before_commit", "engine.after_commit")
WORKER_POINTS = ("worker.before_answer", "worker.after_answer")

#: graph -> the boundaries its run passes through
GRAPHS: dict[str, tuple[str, ...]] = {
    "worker": ENGINE_POINTS + WORKER_POINTS,
    "signal": (*ENGINE_POINTS, "engine.signal"),
    "timer": (*ENGINE_POINTS, "engine.timer", *WORKER_POINTS),
    "await": ENGINE_POINTS + WORKER_POINTS,
    "cycle": ENGINE_POINTS + WORKER_POINTS,
    "parallel": ENGINE_POINTS + WORKER_POINTS,
}


def expected(graph: str, n: int) -> dict[str, Any]:
    """The data a job of ``graph`` started with ``{"n": n}`` must end with."""
    return {
        "worker": {"result": 2 * n},
        "signal": {"got": 3 * n},
        "timer": {"slept": True, "result": 2 * n},
        "await": {"child": 2 * n},
        "cycle": {"counter": 3},
        "parallel": {"results": {f"p{k}": f"p{k}-{n}" for k in (1, 2, 3)}},
    }[graph]


@define
class Node:
    """One node process."""

    proc: asyncio.subprocess.Process
    log: Path
    ready: asyncio.Event = field(factory=asyncio.Event)

    async def read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            with contextlib.suppress(ValueError):
                if json.loads(line).get("event") == "ready":
                    self.ready.set()

    async def terminate(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self.log.unlink(missing_ok=True)


@define
class Outcome:
    """What one case saw."""

    crashed: bool
    publications: Counter[str]
    wrong: dict[str, Any]
    #: jobs completed (exactly once) whose completion was never published to ``psub``:
    #: the victim died between the closing commit and the publication (pub/sub is at
    #: most once; another task of the victim may be at the boundary at that moment)
    unpublished: list[str] = field(factory=list)


async def start_node(provider: str, dsn: str, app_id: str, env: dict[str, str]) -> Node:
    fd, path = tempfile.mkstemp(prefix="hotmesh-crash-", suffix=".log")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(NODE), provider, dsn, app_id,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=fd,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        )  # fmt: skip
    finally:
        os.close(fd)
    node = Node(proc, Path(path))
    reader = asyncio.create_task(node.read())
    ready = asyncio.create_task(node.ready.wait())
    await asyncio.wait({reader, ready}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if not node.ready.is_set():
        raise AssertionError(f"node did not start: {node.log.read_text()[-3000:]}")
    return node


async def run_case(
    hm: HotMesh, provider: str, dsn: str, graph: str, point: str, skip: int
) -> Outcome:
    """Run one case on a fresh app (``hm``'s) and report what happened."""
    await hm.deploy(APP.replace("{APP}", hm.app_id))
    assert await hm.activate("1")
    publications: Counter[str] = Counter()
    outputs: dict[str, JobOutput] = {}
    changed = asyncio.Event()

    def on_done(topic: str, output: JobOutput) -> None:
        publications[output.job_id] += 1
        outputs[output.job_id] = output
        changed.set()

    await hm.psub(f"crash.{graph}.done.*", on_done)
    env = {"HOTMESH_CRASH_AT": point, "HOTMESH_CRASH_SKIP": str(skip)}
    nodes = [await start_node(provider, dsn, hm.app_id, env)]
    try:
        jobs = {}
        for n in range(1, JOBS + 1):
            jid = await hm.pub(f"crash.{graph}", {"n": n})
            jobs[jid] = n
            if graph == "signal":
                await hm.signal("crash.resume", {"id": jid, "v": 3 * n})

        async def finished() -> bool:
            return all([await hm.get_status(j) <= 0 for j in jobs])

        victim = nodes[0]
        crashed = False
        for _ in range(400):  # until the victim died or every job finished (<= 40 s)
            if victim.proc.returncode is not None:
                crashed = True
                break
            if await finished():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(victim.proc.wait()), 0.1)
        if crashed:
            nodes.append(await start_node(provider, dsn, hm.app_id, {}))
        for _ in range(600):  # the survivor finishes (<= 60 s)
            if await finished():
                break
            await asyncio.sleep(0.1)
        # Completions are published after their commit: wait until each job's arrived
        # (bounded), then one round trip more for any duplicate to show.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                while not set(jobs) <= set(publications):
                    changed.clear()
                    await changed.wait()
        await hm.roll_call(0.2)
        # (the victim may have died at its boundary just as the last job finished)
        crashed = victim.proc.returncode is not None
        wrong: dict[str, Any] = {}
        unpublished = []
        for jid, n in jobs.items():
            status = await hm.get_status(jid)
            state = await hm.get_state(f"crash.{graph}", jid)
            if status != 0 or state.data != expected(graph, n) or "err" in state.metadata:
                wrong[jid] = {"status": status, "data": state.data, "meta": state.metadata}
            elif publications[jid] == 0 and crashed:
                unpublished.append(jid)
            elif publications[jid] != 1:
                wrong[jid] = {"publications": publications[jid]}
        return Outcome(crashed, publications, wrong, unpublished)
    finally:
        for node in nodes:
            await node.terminate()
