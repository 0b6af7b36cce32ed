"""Every job ends (issue 13, item 2).

An error while applying a step (a job map that divides by zero, ``@json.parse`` of bad
worker output, a worker answer whose code is not a number) and a dead-lettered engine or
worker message of a job fail THAT job at once: ``metadata.err`` holds the typed error
(message, code, the activity), the job is completed, and ``pubsub``, ``get_status``,
``get_state``, ``export`` and an awaiting parent see it without waiting for a timeout.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from hotmesh import HotMesh
from hotmesh.engine.steps import ENGINE_STREAM, engine_message
from hotmesh.errors import JobFailed, PayloadError, PipeError, StepError
from hotmesh.spi import OutgoingMessage, RetryPolicy, StreamMessage
from hotmesh.types import WorkerMessage
from hotmesh_conformance.harness import assert_eventually
from tests.engine.conftest import MeshFactory

APP = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: fail.divide
      expire: 120
      activities:
        t1:
          type: trigger
        a1:
          type: worker
          topic: fail.work
          job:
            maps:
              ratio:
                '@pipe':
                  - ['{$self.output.data.n}', 0]
                  - ['{@math.divide}']
      transitions:
        t1:
          - to: a1
    - subscribes: fail.parse
      expire: 120
      activities:
        t2:
          type: trigger
        b1:
          type: worker
          topic: fail.work
          job:
            maps:
              parsed:
                '@pipe':
                  - ['{$self.output.data.text}']
                  - ['{@json.parse}']
      transitions:
        t2:
          - to: b1
    - subscribes: fail.code
      expire: 120
      activities:
        t3:
          type: trigger
        c1:
          type: worker
          topic: fail.code.work
      transitions:
        t3:
          - to: c1
    - subscribes: fail.parent
      expire: 120
      activities:
        t4:
          type: trigger
        d1:
          type: await
          topic: fail.divide
          input:
            maps:
              n: 3
      transitions:
        t4:
          - to: d1
    - subscribes: fail.stuck
      expire: 120
      activities:
        t5:
          type: trigger
        e1:
          type: worker
          topic: fail.stuck.work
      transitions:
        t5:
          - to: e1
"""


async def answer(message: WorkerMessage) -> dict[str, Any]:
    return {"data": {"n": 4, "text": "not json{"}}


async def bad_code(message: WorkerMessage) -> dict[str, Any]:
    return {"code": "abc", "data": {"ok": True}}


async def deployed(mesh: MeshFactory, app_id: str, **options: Any) -> HotMesh:
    hm = await mesh(**options)
    await hm.deploy(APP.replace("{APP}", app_id))
    assert await hm.activate("1")
    return hm


async def assert_failed(hm: HotMesh, topic: str, jid: str, activity: str, code: int) -> None:
    """The job is complete and every read shows the typed error."""
    assert await hm.get_status(jid) <= 0
    state = await hm.get_state(topic, jid)
    error = json.loads(state.metadata["err"])
    assert list(error)[:2] == ["message", "code"]
    assert (error["code"], error["activity_id"]) == (code, activity), error
    exported = await hm.export(jid)
    assert int(exported.status) <= 0 and "err" in exported.process["metadata"]


@pytest.mark.parametrize(
    ("topic", "activity", "code", "words"),
    [
        ("fail.divide", "a1", PayloadError.code, "not JSON"),
        ("fail.parse", "b1", PipeError.code, "json.parse"),
        ("fail.code", "c1", StepError.code, "abc"),
    ],
    ids=["divide-by-zero", "json-parse", "code-abc"],
)
async def test_step_error_fails_the_job(
    mesh: MeshFactory, app_id: str, topic: str, activity: str, code: int, words: str
) -> None:
    hm = await deployed(mesh, app_id, workers=[("fail.work", answer), ("fail.code.work", bad_code)])
    with pytest.raises(JobFailed) as caught:
        await hm.pubsub(topic, {}, timeout=20)
    error = caught.value.error
    assert error["code"] == code and error["activity_id"] == activity, error
    assert words in error["message"], error
    await assert_failed(hm, topic, caught.value.job_id, activity, code)
    dead = await hm.engine.backend.stream.dead_letters(ENGINE_STREAM)  # type: ignore[union-attr]
    assert dead == [], "the failing step failed its job; nothing was dead-lettered"


async def test_awaiting_parent_sees_the_child_fail(mesh: MeshFactory, app_id: str) -> None:
    hm = await deployed(mesh, app_id, workers=[("fail.work", answer)])
    with pytest.raises(JobFailed) as caught:
        await hm.pubsub("fail.parent", {}, timeout=20)
    assert caught.value.error["code"] == PayloadError.code, caught.value.error
    assert await hm.get_status(caught.value.job_id) <= 0


async def test_dead_lettered_engine_message_fails_its_job(mesh: MeshFactory, app_id: str) -> None:
    """An engine message of a job that cannot be processed (here: it names an activity
    no graph declares) is dead-lettered after its attempts, and its job fails."""
    hm = await deployed(mesh, app_id)
    jid = await hm.pub("fail.stuck", {})
    state = await hm.get_state("fail.stuck", jid)
    body = {"jid": jid, "gid": state.metadata["gid"], "aid": "ghost", "dad": ",0,0",
            "guid": "g1", "data": {}}  # fmt: skip
    message = engine_message("response", jid, body)
    once = OutgoingMessage(
        message.stream, message.payload, priority=message.priority, job_id=jid,
        retry=RetryPolicy(maximum_attempts=1),
    )  # fmt: skip
    await hm.engine.backend.stream.publish([once])  # type: ignore[union-attr]
    await assert_eventually(lambda: hm.get_status(jid), lambda s: s <= 0, timeout=20)
    error = json.loads((await hm.get_state("fail.stuck", jid)).metadata["err"])
    assert error["code"] == StepError.code and error["activity_id"] == "ghost", error
    assert "could not be processed" in error["message"]


async def test_worker_request_at_its_stream_cap_fails_its_job(
    mesh: MeshFactory, app_id: str
) -> None:
    """A worker request whose answer cannot be sent (NaN) is a failed attempt; at the
    message's stream cap (1 here, below the worker's policy of 3) the worker gives up and
    answers the engine with the error, so the job fails instead of the request being
    dead-lettered at its next claim, where no one would answer."""
    hm = await deployed(mesh, app_id)
    jid = await hm.pub("fail.stuck", {})
    stream = hm.engine.backend.stream  # type: ignore[union-attr]
    [request] = await assert_eventually(lambda: stream.claim("fail.stuck.work"))
    once = OutgoingMessage(
        "fail.stuck.work.once", request.payload, job_id=jid, retry=RetryPolicy(maximum_attempts=1)
    )
    await stream.publish([once], ack=request)

    async def nan(message: WorkerMessage) -> dict[str, Any]:
        return {"data": {"x": math.nan}}

    await mesh(engine=False, workers=[("fail.stuck.work.once", nan)])
    await assert_eventually(lambda: hm.get_status(jid), lambda s: s <= 0, timeout=20)
    error = json.loads((await hm.get_state("fail.stuck", jid)).metadata["err"])
    assert error["code"] == PayloadError.code, error
    assert "nan" in error["message"], error
    [depth] = (await stream.depth(["fail.stuck.work.once"])).values()
    assert depth.total == 0  # answered and acked, not left to a dead letter


@pytest.mark.parametrize("kind", ["await", "complete"])
async def test_dead_lettered_child_hand_off_fails_the_parent(
    mesh: MeshFactory, app_id: str, kind: str
) -> None:
    """A lost "await" (start the child) or "complete" (the child is done) message would
    leave the awaiting parent waiting forever: the parent fails instead."""
    hm = await deployed(mesh, app_id)
    engine = hm.engine
    assert engine is not None
    parent = await hm.pub("fail.stuck", {})
    gid = (await hm.get_state("fail.stuck", parent)).metadata["gid"]
    link = {"pj": parent, "pg": gid, "pa": "e1", "pd": ",0,0"}
    if kind == "await":
        body: dict[str, Any] = {"type": "await", "topic": "fail.stuck", "parent": link}
    else:
        child = await hm.pub("fail.stuck", {}, context=link)
        body = {"type": "complete", "jid": child, "gid": "g"}
    dead = StreamMessage(id=1, stream=ENGINE_STREAM, payload=body, attempt=3)
    await engine.on_dead_letter(dead, "boom")
    assert await hm.get_status(parent) <= 0
    error = json.loads((await hm.get_state("fail.stuck", parent)).metadata["err"])
    assert (error["activity_id"], error["code"]) == ("e1", StepError.code), error
    assert "boom" in error["message"]
