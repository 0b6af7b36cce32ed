"""hotmesh.engine.completion: a finished job's output reaches its waiter and subscribers.

The engine calls ``Completions.notify``; these tests call it directly, on the provider
under test, without an engine (the seed tests cover the whole path through HotMesh).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from hotmesh.engine import completion
from hotmesh.engine.completion import Completions, result_channel, result_relay
from hotmesh.spi import Backend, JobRecord
from hotmesh.types import JobOutput


class _Graph:
    publishes = "order.done"


class _Manifest:
    """What ``Completions`` asks of the active manifest: the graph of a topic."""

    def graph_for_topic(self, topic: str) -> _Graph:
        if topic != "order.placed":
            raise KeyError(topic)
        return _Graph()


async def _manifest() -> Any:
    return _Manifest()


def _output(jid: str, **metadata: Any) -> JobOutput:
    return JobOutput({"jid": jid, "js": 0, **metadata}, {"orderId": jid})


async def test_a_local_waiter_gets_the_output(backend: Backend) -> None:
    completions = Completions(backend, "G1", manifest=_manifest)
    future = completions.expect("j1")
    await completions.notify(_output("j1", ngn="G1"), True)
    assert future.done()
    assert future.result().data == {"orderId": "j1"}


async def test_an_output_published_before_the_wait_is_kept(backend: Backend) -> None:
    completions = Completions(backend, "G1", manifest=_manifest)
    await completions.notify(_output("j2", ngn="G1"), True)
    future = completions.expect("j2")
    assert future.done()
    assert future.result().job_id == "j2"


async def test_another_members_waiter_hears_it_over_pubsub(backend: Backend) -> None:
    sender = Completions(backend, "G1", manifest=_manifest)
    waiter = Completions(backend, "G2", manifest=_manifest)
    await waiter.start()
    future = waiter.expect("j3")
    await sender.notify(_output("j3", ngn="G2"), True)
    output = await waiter.wait("j3", future, time.monotonic() + 30)
    assert output.data == {"orderId": "j3"}
    assert output.metadata["ngn"] == "G2"


async def test_a_graph_that_publishes_reaches_its_subscribers(backend: Backend) -> None:
    completions = Completions(backend, "G1", manifest=_manifest)
    heard: asyncio.Queue[tuple[str, JobOutput]] = asyncio.Queue()

    async def on_result(topic: str, output: JobOutput) -> None:
        await heard.put((topic, output))

    handle = await backend.sub.psubscribe(
        result_channel("order.done", pattern=False),
        result_relay("order.done", on_result, pattern=False),
    )
    try:
        await completions.notify(_output("j4", tpc="order.placed"), True)
        topic, output = await asyncio.wait_for(heard.get(), 30)
    finally:
        await backend.sub.unsubscribe(handle)
    assert topic == "order.done"
    assert output.job_id == "j4"
    assert output.data == {"orderId": "j4"}


async def test_waiting_past_the_deadline_for_an_unknown_job_times_out(backend: Backend) -> None:
    completions = Completions(backend, "G1", manifest=_manifest)
    future = completions.expect("never")
    with pytest.raises(TimeoutError):
        await completions.wait("never", future, time.monotonic())
    # No waiter is left behind: a result published now is kept for the next waiter.
    await completions.notify(_output("never", ngn="G1"), True)
    late = completions.expect("never")
    assert late.done() and late.result().job_id == "never"


async def _waiting_past_rereads(
    backend: Backend, monkeypatch: pytest.MonkeyPatch, job_id: str
) -> tuple[Completions, asyncio.Task[JobOutput]]:
    """A waiter for ``job_id`` (never published, not stored) once it has read the store
    twice (so it holds a future registered after its first)."""
    monkeypatch.setattr(completion, "RECHECK", 0.05)
    reads: list[JobRecord | None] = []
    twice = asyncio.Event()
    get_job = backend.store.get_job

    async def counted(jid: str, **options: Any) -> JobRecord | None:
        job = await get_job(jid, **options)
        if jid == job_id:
            reads.append(job)
            if len(reads) >= 2:
                twice.set()
        return job

    monkeypatch.setattr(backend.store, "get_job", counted)
    completions = Completions(backend, "G1", manifest=_manifest)
    future = completions.expect(job_id)
    waiting = asyncio.create_task(completions.wait(job_id, future, time.monotonic() + 30))
    await asyncio.wait_for(twice.wait(), 30)
    assert reads[:2] == [None, None]
    assert not waiting.done()
    return completions, waiting


async def test_a_result_never_published_is_read_from_the_store(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Publications are at most once: the waiter re-reads the job when it hears nothing.
    _, waiting = await _waiting_past_rereads(backend, monkeypatch, "j5")
    state = {"meta": {"jid": "j5", "gid": "g5"}, "d/orderId": "j5"}
    assert await backend.store.create_job("j5", state, semaphore=0)
    output = await asyncio.wait_for(waiting, 30)
    assert output.job_id == "j5"
    assert output.data == {"orderId": "j5"}


async def test_closing_cancels_a_waiter_between_two_reads(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    completions, waiting = await _waiting_past_rereads(backend, monkeypatch, "j6")
    completions.close()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, 30)
    assert completions.expect("j7").cancelled()  # and any waiter after the stop


def test_result_channels() -> None:
    assert result_channel("order.done", pattern=False) == "order.done*"
    assert result_channel("a*b?[c", pattern=False) == "a[*]b[?][[]c*"
    assert result_channel("order.*", pattern=True) == "order.*"
