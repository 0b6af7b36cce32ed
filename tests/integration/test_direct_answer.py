"""A worker in the engine's process answers with the engine's step (Handoff.answer_directly).

The answer is never published: the engine's step that consumes it and the ack of the
worker's request commit in one statement, fenced by the request's delivery. A delivery
that is no longer held fences nothing (the step is not applied, the request stays for its
next delivery); an engine that would not take the answer now (throttled) hears it through
the stream as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from hotmesh import HotMesh
from hotmesh.engine.messages import ENGINE_STREAM
from hotmesh.spi import OutgoingMessage
from hotmesh.types import WorkerMessage
from hotmesh_conformance.harness import assert_eventually
from hotmesh_postgres.naming import schema_name
from tests.integration._one_worker import Callback, one_worker_meshes

APP = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: direct.start
      activities:
        t1:
          type: trigger
        w1:
          type: worker
          topic: direct.work
          input:
            maps:
              n: '{t1.output.data.n}'
          job:
            maps:
              doubled: '{w1.output.data.doubled}'
      transitions:
        t1:
          - to: w1
"""


async def _double(message: WorkerMessage) -> dict[str, Any]:
    return {"data": {"doubled": message.data["n"] * 2}}


@pytest.fixture
async def mesh(hotmesh_dsn: str) -> AsyncIterator[Callable[[Callback], Awaitable[HotMesh]]]:
    async with one_worker_meshes(hotmesh_dsn, APP, "direct.work") as start:
        yield start


def _published_streams(hm: HotMesh) -> list[str]:
    """The streams the worker publishes on, from now on (a spy around its stream)."""
    stream = hm.workers[0].backend.stream
    seen: list[str] = []
    publish = stream.publish

    async def spy(messages: list[OutgoingMessage], **kwargs: Any) -> list[int]:
        seen.extend(m.stream for m in messages)
        return await publish(messages, **kwargs)

    stream.publish = spy  # type: ignore[method-assign]
    return seen


async def test_the_answer_is_the_engines_step_and_is_never_published(
    mesh: Callable[[Callback], Awaitable[HotMesh]], hotmesh_dsn: str
) -> None:
    hm = await mesh(_double)
    published = _published_streams(hm)
    output = await hm.pubsub("direct.start", {"n": 21})
    assert output.data == {"doubled": 42}
    assert ENGINE_STREAM not in published
    conn = await asyncpg.connect(hotmesh_dsn)
    try:
        left = await conn.fetchval(
            f'SELECT count(*) FROM "{schema_name(hm.app_id)}".stream_messages WHERE job_id = $1',
            output.job_id,
        )
    finally:
        await conn.close()
    assert left == 0, "the worker's request was not acked with the step"


async def test_a_throttled_engine_hears_the_answer_through_the_stream(
    mesh: Callable[[Callback], Awaitable[HotMesh]],
) -> None:
    hm = await mesh(_double)
    published = _published_streams(hm)
    assert hm._router is not None
    hm._router.throttle(0.01)  # the engine would not take a hand-off now
    output = await hm.pubsub("direct.start", {"n": 5})
    assert output.data == {"doubled": 10}
    assert ENGINE_STREAM in published


async def test_an_answer_whose_delivery_is_no_longer_held_applies_nothing(
    mesh: Callable[[Callback], Awaitable[HotMesh]], hotmesh_dsn: str
) -> None:
    holder: dict[str, HotMesh] = {}

    async def taken_elsewhere(message: WorkerMessage) -> dict[str, Any]:
        # Another delivery of this request began meanwhile (its lease lapsed): the row's
        # attempt moved on, so this delivery's answer must not apply.
        assert message.delivery is not None
        conn = await asyncpg.connect(hotmesh_dsn)
        try:
            await conn.execute(
                f'UPDATE "{schema_name(holder["hm"].app_id)}".stream_messages'
                " SET attempts = attempts + 1, lease_until = now() + interval '1 hour'"
                " WHERE id = $1",
                message.delivery.id,
            )
        finally:
            await conn.close()
        return {"data": {"doubled": -1}}

    hm = holder["hm"] = await mesh(taken_elsewhere)
    published = _published_streams(hm)
    job_id = await hm.pub("direct.start", {"n": 1})
    worker = hm.workers[0].router
    await assert_eventually(lambda: worker.processed + worker.failed, lambda n: n >= 1)
    await assert_eventually(lambda: worker.in_flight, lambda n: n == 0)
    assert await hm.get_status(job_id) > 0, "a stale delivery's answer completed the job"
    assert ENGINE_STREAM not in published
    state = await hm.get_state("direct.start", job_id)
    assert "doubled" not in state.data
