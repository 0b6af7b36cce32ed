"""Hand-off: requests and answers for consumers of this process skip the claim.

The engine's request to a worker of the same process (same database) is stored as a first
delivery leased to the local consumer and run by it directly; that worker's answer is the
engine's step at once, never stored (hotmesh.engine.handoff). The stored rows stay
ordinary stream messages: a consumer that is paused, throttled, asks for history or stops
gets none, and a hand-off nobody runs lapses and is claimed like any lost delivery.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hotmesh import HotMesh, WorkerMessage
from hotmesh.engine.handoff import Handoff
from hotmesh.mesh.router import Router
from hotmesh.spi import DEFAULT_RETRY, OutgoingMessage, StreamMessage
from hotmesh.types import JobOutput
from hotmesh_conformance.harness import assert_eventually
from tests.engine.conftest import MeshFactory, app_yaml
from tests.engine.test_seed import SEED, process


def _routers(hm: HotMesh) -> tuple[Router, Router]:
    assert hm._router is not None
    return hm._router, hm.workers[0].router


async def _run(hm: HotMesh, app_id: str, count: int) -> None:
    await hm.deploy(app_yaml(SEED, app_id))
    await hm.activate("1")
    for n in range(count):
        result = await hm.pubsub("order.placed", {"id": f"ORD-{n}"}, timeout=10)
        assert result.data == {"orderId": f"ORD-{n}", "status": "fulfilled"}


async def test_requests_and_answers_are_handed_off_in_one_process(
    mesh: MeshFactory, app_id: str
) -> None:
    hm = await mesh([("order.process", process)])
    await _run(hm, app_id, 5)
    engine, worker = _routers(hm)
    assert (worker.handed, engine.handed) == (5, 5), "every request and answer skipped a claim"
    # The answer is the engine's step, run by the worker's handler: the job completes
    # (and pubsub returns) just before that handler does.
    await assert_eventually(lambda: worker.processed, lambda n: n == 5)


async def test_instances_of_one_process_and_database_hand_off_to_each_other(
    mesh: MeshFactory, app_id: str
) -> None:
    engine_only = await mesh()
    workers_only = await mesh([("order.process", process)], engine=False)
    await _run(engine_only, app_id, 3)
    assert engine_only._router is not None
    assert workers_only.workers[0].router.handed == 3
    assert engine_only._router.handed == 3


async def test_a_paused_worker_takes_no_hand_off_and_claims_after_resuming(
    mesh: MeshFactory, app_id: str
) -> None:
    hm = await mesh([("order.process", process)])
    await hm.deploy(app_yaml(SEED, app_id))
    await hm.activate("1")
    _, worker = _routers(hm)
    await hm.throttle(-1, topic="order.process")
    assert worker.delay == -1, "the caller's own routers pause before throttle returns"
    done: asyncio.Future[JobOutput] = asyncio.get_running_loop().create_future()
    await hm.sub("order.done", lambda _topic, output: done.set_result(output))
    job_id = await hm.pub("order.placed", {"id": "ORD-P"})
    assert worker.handed == 0 and worker.processed == 0
    assert (await hm.get_status(job_id)) > 0, "paused: the request waits in the stream"
    await hm.throttle(0, topic="order.process")
    output = await asyncio.wait_for(done, 10)
    assert output.data["orderId"] == "ORD-P"
    await assert_eventually(lambda: worker.processed, lambda n: n == 1)
    assert worker.handed == 0, "claimed, not handed off"


async def test_a_worker_that_asks_for_history_is_never_handed_off(
    mesh: MeshFactory, app_id: str
) -> None:
    seen: list[Any] = []

    async def remember(message: WorkerMessage) -> dict[str, Any]:
        seen.append(message.history)
        return await process(message)

    hm = await mesh([{"topic": "order.process", "callback": remember, "history": True}])
    await _run(hm, app_id, 2)
    _, worker = _routers(hm)
    assert worker.handed == 0
    assert len(seen) == 2 and all(history is not None for history in seen)


async def test_a_hand_off_to_a_stopped_router_lapses_and_is_claimed_again(
    mesh: MeshFactory,
) -> None:
    hm = await mesh()
    assert hm.engine is not None
    stream = hm.engine.stream
    ran: list[StreamMessage] = []

    async def handle(message: StreamMessage) -> None:
        ran.append(message)

    local = Router(stream, "ho", handle, lease=0.3, poll_interval=0.05, handoff=True)
    await local.start()
    handoff = Handoff()
    handoff.register(local)
    offer = handoff.offer([OutgoingMessage("ho", {"n": 1})])
    assert offer.messages[0].lease == 0.3, "reserved a slot of the local router"
    ids = await stream.publish(offer.messages)
    await local.stop()
    offer.settle(ids)
    assert ran == [], "a stopping router runs no hand-off"
    async with Router(stream, "ho", handle, poll_interval=0.05) as other:
        await assert_eventually(lambda: _now(len(ran)), message="the hand-off never lapsed")
        assert other.handed == 0
    assert (ran[0].id, ran[0].attempt) == (ids[0], 2), "the lapsed delivery, claimed again"


async def _now(value: Any) -> Any:
    return value


async def test_a_stopping_router_waits_for_a_message_run_directly(mesh: MeshFactory) -> None:
    # An engine-only instance stopping while another instance's worker applies an answer
    # through it (run_direct): stopping first used to close the engine's connections
    # under that step, whose completion then failed to publish, retried for 9 s.
    hm = await mesh()
    assert hm.engine is not None
    entered, release = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def apply(message: StreamMessage) -> None:
        entered.set()
        await release.wait()
        order.append("applied")

    engine = Router(hm.engine.stream, "direct", apply, poll_interval=0.05, handoff=True)
    await engine.start()
    assert engine.reserve()
    answer = StreamMessage(
        id=1, stream="direct", payload={}, attempt=1, priority=1, retry=DEFAULT_RETRY,
        job_id=None,
    )  # fmt: skip
    direct = asyncio.create_task(engine.run_direct(answer))
    await entered.wait()

    async def stop() -> None:
        await engine.stop(timeout=30)
        order.append("stopped")

    stopping = asyncio.create_task(stop())
    await assert_eventually(
        lambda: _now(stopping.done() or getattr(engine, "_direct_drained", None) is not None),
        message="stop() neither returned nor waited",
    )
    release.set()
    await asyncio.gather(direct, stopping)
    assert order == ["applied", "stopped"], "stop() returned before the direct run ended"
    assert engine.in_flight == 0 and engine.processed == 1
