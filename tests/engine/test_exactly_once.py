"""Exactly once for leg-2 events that race on one activity (issue 13, item 1).

Each test puts two events for the SAME activity record on the engine stream at once, so
they are claimed together and computed from the same job state: a timer and a signal on
one hook, a worker's 202 and 200 for one request, two signals from two engine processes.
Exactly one of them may apply: the job completes once, publishes once, and its stored
state is the state it published.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hotmesh import HotMesh
from hotmesh.engine.messages import Signal, guid
from hotmesh.engine.steps import engine_message
from hotmesh.types import JobOutput
from hotmesh_conformance.harness import assert_eventually
from tests.engine.conftest import MeshFactory

JOBS = 20

#: A trigger (job id from the data) and one activity ``a1`` (appended below).
_HEAD = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: race.start
      publishes: race.done
      expire: 120
      activities:
        t1:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
"""
_TO_A1 = """
      transitions:
        t1:
          - to: a1
"""

HOOK_APP = (
    _HEAD
    + """
        a1:
          type: hook
          sleep: 60
          job:
            maps:
              via:
                '@pipe':
                  - ['{$self.hook.data.via}', timer]
                  - ['{@conditional.nullish}']
"""
    + _TO_A1
    + """
      hooks:
        race.resume:
          - to: a1
            conditions:
              match:
                - expected: '{$job.metadata.jid}'
                  actual: '{$self.hook.data.id}'
"""
)

WORKER_APP = (
    _HEAD
    + """
        a1:
          type: worker
          topic: race.work
          job:
            maps:
              answer: '{$self.output.data.answer}'
"""
    + _TO_A1
)


class Finals:
    """Every final publication of the app's jobs, by job id."""

    def __init__(self) -> None:
        self.by_job: dict[str, list[JobOutput]] = {}
        self.changed = asyncio.Event()

    def __call__(self, _topic: str, output: JobOutput) -> None:
        if int(output.metadata.get("js", 1)) <= 0:
            self.by_job.setdefault(output.job_id, []).append(output)
            self.changed.set()

    async def wait_for(self, job_ids: list[str], timeout: float = 30.0) -> None:
        async def loop() -> None:
            while not all(j in self.by_job for j in job_ids):
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)


async def deployed(mesh: MeshFactory, app_id: str, text: str, **options: Any) -> HotMesh:
    hm = await mesh(**options)
    await hm.deploy(text.replace("{APP}", app_id))
    assert await hm.activate("1")
    return hm


async def settle(hm: HotMesh, finals: Finals) -> None:
    """One more job through the same app: publications of earlier ones came before it."""
    marker = f"marker-{guid(6)}"
    await hm.pub("race.start", {"id": marker})
    await hm.signal("race.resume", {"id": marker, "via": "marker"})
    await finals.wait_for([marker])


async def check_once(hm: HotMesh, finals: Finals, job_ids: list[str], field: str) -> None:
    """Every job completed once: one publication, semaphore 0, stored data = published."""
    for jid in job_ids:
        assert len(finals.by_job[jid]) == 1, (jid, finals.by_job[jid])
        assert await hm.get_status(jid) == 0, jid
        stored = await hm.get_state("race.start", jid)
        assert stored.data[field] == finals.by_job[jid][0].data[field], jid


async def start_jobs(hm: HotMesh, prefix: str, count: int = JOBS) -> tuple[Finals, list[str]]:
    """Listen for completions, then start ``count`` jobs named ``<prefix><n>``."""
    finals = Finals()
    await hm.psub("race.done.*", finals)
    job_ids = [f"{prefix}{i}" for i in range(count)]
    for jid in job_ids:
        await hm.pub("race.start", {"id": jid})
    return finals, job_ids


async def hook_target(hm: HotMesh, jid: str) -> dict[str, Any]:
    """The waiting hook's address (gid, dad) read from the stored job."""
    job = await hm.engine.store.get_job(jid)  # type: ignore[union-attr]
    assert job is not None
    [key] = [k for k in job.state if k.startswith("a/a1,")]
    return {"jid": jid, "gid": job.state["meta"]["gid"], "aid": "a1", "dad": key[len("a/a1") :]}


async def test_timer_and_signal_at_once_apply_once(mesh: MeshFactory, app_id: str) -> None:
    """A hook's timer fires while its signal arrives: one wins, the other is a no-op."""
    hm = await deployed(mesh, app_id, HOOK_APP)
    engine = hm.engine
    assert engine is not None
    finals, job_ids = await start_jobs(hm, "ts")
    for jid in job_ids:
        target = await hook_target(hm, jid)
        timer = engine_message("timehook", jid, {**target, "guid": guid()})
        signal = Signal.new("race.resume", {"id": jid, "via": "signal"}).outgoing()
        await engine.backend.stream.publish([timer, signal])  # claimed in one batch
    await finals.wait_for(job_ids)
    await settle(hm, finals)
    await check_once(hm, finals, job_ids, "via")
    assert {finals.by_job[j][0].data["via"] for j in job_ids} <= {"timer", "signal"}


async def test_sleep_one_second_signal_at_about_the_same_time(
    mesh: MeshFactory, app_id: str
) -> None:
    """The reported scenario: ``sleep: 1`` and a signal about a second after ``pub``."""
    hm = await deployed(mesh, app_id, HOOK_APP.replace("sleep: 60", "sleep: 1"))
    finals, job_ids = await start_jobs(hm, "s1-")
    # The signals are sent when the timers come due (the scenario itself, not a wait).
    await asyncio.sleep(0.95)
    await asyncio.gather(
        *(hm.signal("race.resume", {"id": jid, "via": "signal"}) for jid in job_ids)
    )
    await finals.wait_for(job_ids)
    await settle(hm, finals)
    await check_once(hm, finals, job_ids, "via")


async def test_pending_202_racing_the_200_applies_once(mesh: MeshFactory, app_id: str) -> None:
    """A worker's 202 (pending) and its 200 for one request, claimed together."""
    hm = await deployed(mesh, app_id, WORKER_APP)
    engine = hm.engine
    assert engine is not None
    stream = engine.backend.stream
    finals, job_ids = await start_jobs(hm, "wp")
    requests = await assert_eventually(
        lambda: stream.claim("race.work", limit=100), lambda got: len(got) == JOBS
    )
    for request in requests:
        meta = request.payload["metadata"]
        base = {k: meta[k] for k in ("jid", "gid", "aid", "dad")}
        pending = {**base, "guid": guid(), "status": "pending", "code": 202,
                   "data": {"answer": "interim"}}  # fmt: skip
        final = {**base, "guid": meta["guid"], "status": "success", "code": 200,
                 "data": {"answer": "final"}}  # fmt: skip
        await stream.publish(
            [engine_message("response", meta["jid"], pending),
             engine_message("response", meta["jid"], final)],
            ack=request,
        )  # fmt: skip
    await finals.wait_for(job_ids)
    await settle_worker(hm, finals)
    await check_once(hm, finals, job_ids, "answer")
    for jid in job_ids:
        assert finals.by_job[jid][0].data["answer"] == "final", jid
        exported = await hm.export(jid)
        [a1] = [a for a in exported.activities if a["name"] == "a1"]
        assert a1["output"] == {"answer": "final"}, "the 202 never lands after the 200"


async def settle_worker(hm: HotMesh, finals: Finals) -> None:
    marker = f"marker-{guid(6)}"
    await hm.pub("race.start", {"id": marker})
    stream = hm.engine.backend.stream  # type: ignore[union-attr]
    [request] = await assert_eventually(lambda: stream.claim("race.work"))
    meta = request.payload["metadata"]
    body = {**{k: meta[k] for k in ("jid", "gid", "aid", "dad", "guid")}, "data": {}}
    await stream.publish([engine_message("response", marker, body)], ack=request)
    await finals.wait_for([marker])


async def test_two_signals_on_two_engines_apply_once(mesh: MeshFactory, app_id: str) -> None:
    """Two engine processes each take one of two signals for the same hook."""
    first = await deployed(mesh, app_id, HOOK_APP)
    second = await mesh()
    finals = Finals()
    await first.psub("race.done.*", finals)
    job_ids = [f"tw{i}" for i in range(JOBS * 2)]
    for jid in job_ids:
        await first.pub("race.start", {"id": jid})
    await asyncio.gather(
        *(
            hm.signal("race.resume", {"id": jid, "via": name})
            for jid in job_ids
            for hm, name in ((first, "first"), (second, "second"))
        )
    )
    await finals.wait_for(job_ids)
    await settle(first, finals)
    await check_once(first, finals, job_ids, "via")
