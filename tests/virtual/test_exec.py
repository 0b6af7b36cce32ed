"""``virtual.exec``: calls, the cache (hit, miss, ttl, flush), failures, the context."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from hotmesh import HotMesh, JobOutput, RetryPolicy, virtual
from hotmesh.errors import ConfigError, DuplicateJob, JobFailed, PubSubTimeout
from hotmesh.virtual import _api

NOT_A_POLICY: Any = "often"
FAST_RETRY = RetryPolicy(
    maximum_attempts=3, initial_interval=0.05, backoff_coefficient=2, maximum_interval=1
)


class Recorder:
    """A callback that records its calls and answers ``{"hello": payload}``."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    async def __call__(self, payload: Any) -> dict[str, Any]:
        self.calls.append(payload)
        return {"hello": payload}


async def serve(connection: dict[str, Any], namespace: str, **options: Any) -> Recorder:
    recorder = Recorder()
    await virtual.connect(
        topic="my.function", connection=connection, callback=recorder, namespace=namespace,
        **options,
    )  # fmt: skip
    return recorder


async def test_exec_calls_the_connected_function(
    connection: dict[str, Any], namespace: str
) -> None:
    await serve(connection, namespace)
    result = await virtual.exec(
        topic="my.function", connection=connection, args=[{"payload": "HotMesh"}],
        namespace=namespace,
    )  # fmt: skip
    assert result == {"hello": {"payload": "HotMesh"}}


async def test_cache_hit_flush_and_explicit_flush(
    connection: dict[str, Any], namespace: str
) -> None:
    recorder = await serve(connection, namespace)

    async def call(payload: str, **options: Any) -> Any:
        result = await virtual.exec(
            topic="my.function", connection=connection, args=[payload], namespace=namespace,
            id="mytest123", **options,
        )  # fmt: skip
        return result["hello"]

    assert await call("CoolMesh", ttl="1 minute") == "CoolMesh"
    assert await call("CoolMesh", ttl="1 minute") == "CoolMesh"  # a hit: not called again
    assert recorder.calls == ["CoolMesh"]
    assert await call("HotMesh", ttl="1 minute", flush=True) == "HotMesh"
    assert await call("HotMesh", ttl="1 minute") == "HotMesh"
    assert recorder.calls == ["CoolMesh", "HotMesh"]
    await virtual.flush(topic="my.function", connection=connection, id="mytest123",
                        namespace=namespace)  # fmt: skip
    assert await call("ColdMesh", ttl="1 minute") == "ColdMesh"
    assert recorder.calls == ["CoolMesh", "HotMesh", "ColdMesh"]


async def test_different_args_under_one_id_return_the_cached_result_with_a_warning(
    connection: dict[str, Any], namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The documented rule: ``id`` is the cache key; the args of a hit are ignored, and
    a hit whose args differ from the cached call's is logged."""
    recorder = await serve(connection, namespace)
    options: dict[str, Any] = {"id": "k", "ttl": 60, "namespace": namespace}
    first = await virtual.exec(topic="my.function", connection=connection, args=["CoolMesh"],
                               **options)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="hotmesh.virtual"):
        second = await virtual.exec(
            topic="my.function", connection=connection, args=["HotMesh"], **options
        )
    assert first == second == {"hello": "CoolMesh"}
    assert recorder.calls == ["CoolMesh"]
    assert "different args" in caplog.text


async def test_the_cache_entry_expires_after_its_ttl(
    connection: dict[str, Any], namespace: str
) -> None:
    recorder = await serve(connection, namespace)
    options: dict[str, Any] = {"id": "short", "ttl": "1 second", "namespace": namespace}
    await virtual.exec(topic="my.function", connection=connection, args=["a"], **options)
    while len(recorder.calls) < 2:  # hits until the entry expires, then a new call
        result = await virtual.exec(
            topic="my.function", connection=connection, args=["a"], **options
        )
        assert result == {"hello": "a"}
        await asyncio.sleep(0.1)
    assert recorder.calls == ["a", "a"]


async def test_an_unfinished_call_is_waited_for_never_returned(
    connection: dict[str, Any], namespace: str
) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    calls: list[str] = []

    async def slow(payload: str) -> str:
        calls.append(payload)
        started.set()
        await release.wait()
        return f"done {payload}"

    await virtual.connect(topic="slow", connection=connection, callback=slow,
                          namespace=namespace)  # fmt: skip
    options: dict[str, Any] = {"id": "busy", "ttl": 60, "namespace": namespace}
    first = asyncio.create_task(
        virtual.exec(topic="slow", connection=connection, args=["x"], **options)
    )
    await asyncio.wait_for(started.wait(), 30)
    second = asyncio.create_task(
        virtual.exec(topic="slow", connection=connection, args=["x"], **options)
    )
    for _ in range(20):  # the second call reads the running entry and keeps waiting
        await asyncio.sleep(0.01)
    assert not second.done()
    release.set()
    assert await asyncio.wait_for(first, 30) == "done x"
    assert await asyncio.wait_for(second, 30) == "done x"
    assert calls == ["x"]


class Held:
    """A callback held until ``release`` is set; ``started`` is set when it runs."""

    def __init__(self) -> None:
        self.started, self.release = asyncio.Event(), asyncio.Event()
        self.calls: list[str] = []

    async def __call__(self, payload: str) -> str:
        self.calls.append(payload)
        self.started.set()
        await self.release.wait()
        return f"done {payload}"


async def test_waiting_for_a_running_call_is_woken_by_its_completion_not_by_polling(
    connection: dict[str, Any], namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The waiting exec reads the call's state once before and once after it finishes."""
    monkeypatch.setattr(_api, "_RECHECK", 3600.0)  # no safety-net re-read in this test
    held = Held()
    await virtual.connect(topic="held", connection=connection, callback=held,
                          namespace=namespace)  # fmt: skip
    options: dict[str, Any] = {"id": "shared", "ttl": 60, "namespace": namespace}
    first = asyncio.create_task(
        virtual.exec(topic="held", connection=connection, args=["x"], **options)
    )
    await asyncio.wait_for(held.started.wait(), 30)
    reads: list[int] = []
    saw_running = asyncio.Event()
    get_state = HotMesh.get_state

    async def counting(self: HotMesh, topic: str, job_id: str) -> JobOutput:
        state = await get_state(self, topic, job_id)
        status = int(state.metadata.get("js") or 0)
        reads.append(status)
        if status > 0:
            saw_running.set()
        return state

    monkeypatch.setattr(HotMesh, "get_state", counting)
    second = asyncio.create_task(
        virtual.exec(topic="held", connection=connection, args=["x"], **options)
    )
    await asyncio.wait_for(saw_running.wait(), 30)
    assert not second.done()
    held.release.set()
    assert await asyncio.wait_for(first, 30) == "done x"
    assert await asyncio.wait_for(second, 30) == "done x"
    assert len(reads) == 2 and reads[0] > 0 and reads[1] == 0  # running, then done
    assert held.calls == ["x"]


async def test_waiting_for_a_running_call_is_bounded_by_the_timeout(
    connection: dict[str, Any], namespace: str
) -> None:
    held = Held()
    await virtual.connect(topic="held", connection=connection, callback=held,
                          namespace=namespace)  # fmt: skip
    options: dict[str, Any] = {"id": "long", "ttl": 60, "namespace": namespace}
    first = asyncio.create_task(
        virtual.exec(topic="held", connection=connection, args=["x"], **options)
    )
    await asyncio.wait_for(held.started.wait(), 30)
    with pytest.raises(PubSubTimeout) as timeout:
        await virtual.exec(topic="held", connection=connection, args=["x"], timeout=0.2,
                           **options)  # fmt: skip
    assert timeout.value.value == "long"
    assert "still running" in str(timeout.value)
    held.release.set()  # the call went on: it finishes and is then a cache hit
    assert await asyncio.wait_for(first, 30) == "done x"
    again = await virtual.exec(topic="held", connection=connection, args=["x"], **options)
    assert again == "done x"
    assert held.calls == ["x"]


async def test_a_failed_call_raises_job_failed_and_is_not_cached(
    connection: dict[str, Any], namespace: str
) -> None:
    attempts: list[int] = []

    async def broken(payload: str) -> str:
        attempts.append(virtual.get_context().attempt)
        raise RuntimeError(f"cannot handle {payload}")

    await virtual.connect(topic="broken", connection=connection, callback=broken,
                          retry=FAST_RETRY, namespace=namespace)  # fmt: skip
    options: dict[str, Any] = {"id": "bad", "ttl": 60, "namespace": namespace}
    with pytest.raises(JobFailed) as failure:
        await virtual.exec(topic="broken", connection=connection, args=["x"], **options)
    assert failure.value.job_id == "bad"
    assert "cannot handle x" in failure.value.error["message"]
    assert attempts == [1, 2, 3]  # 3 attempts in all, then the job fails
    with pytest.raises(JobFailed):  # not a cached failure: called again
        await virtual.exec(topic="broken", connection=connection, args=["x"], **options)
    assert attempts == [1, 2, 3, 1, 2, 3]


async def test_a_live_id_without_ttl_is_a_duplicate(
    connection: dict[str, Any], namespace: str
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> str:
        started.set()
        await release.wait()
        return "ok"

    await virtual.connect(topic="slow", connection=connection, callback=slow,
                          namespace=namespace)  # fmt: skip
    first = asyncio.create_task(
        virtual.exec(topic="slow", connection=connection, id="once", namespace=namespace)
    )
    await asyncio.wait_for(started.wait(), 30)
    with pytest.raises(DuplicateJob):
        await virtual.exec(topic="slow", connection=connection, id="once", namespace=namespace)
    release.set()
    assert await asyncio.wait_for(first, 30) == "ok"


async def test_get_context_inside_an_exec_callback_and_outside(
    connection: dict[str, Any], namespace: str
) -> None:
    seen: list[virtual.VirtualContext] = []

    def sync_callback(value: int) -> int:  # plain functions are served too
        seen.append(virtual.get_context())
        return value * 2

    await virtual.connect(topic="ctx.test", connection=connection, callback=sync_callback,
                          namespace=namespace)  # fmt: skip
    assert await virtual.exec(topic="ctx.test", connection=connection, args=[21], id="c1",
                              namespace=namespace) == 42  # fmt: skip
    [context] = seen
    assert context.topic == "ctx.test"
    assert context.workflow_id == "c1"
    assert context.workflow_name == f"{namespace}.call"
    assert context.attempt == 1
    assert context.guid and isinstance(context.dimension, str)
    # Trace ids are present only when a tracer provider records spans (another test in
    # the session may have installed the OpenTelemetry SDK's): empty, or hex of their size.
    assert (context.trace_id, context.span_id) == ("", "") or (
        len(context.trace_id) == 32 and len(context.span_id) == 16
    )
    with pytest.raises(RuntimeError) as outside:
        virtual.get_context()
    assert str(outside.value) == (
        "Virtual.getContext() called outside of a Virtual callback execution context"
    )


async def test_bad_input_is_a_config_error(connection: dict[str, Any], namespace: str) -> None:
    await serve(connection, namespace)
    with pytest.raises(ConfigError, match="ttl"):
        await virtual.exec(topic="my.function", connection=connection, id="x", ttl="soon",
                           namespace=namespace)  # fmt: skip
    with pytest.raises(ConfigError, match="ttl must be more than 0"):
        await virtual.exec(topic="my.function", connection=connection, id="x", ttl=0,
                           namespace=namespace)  # fmt: skip
    with pytest.raises(ConfigError, match="JSON"):
        await virtual.exec(topic="my.function", connection=connection, args=[object()],
                           namespace=namespace)  # fmt: skip
    with pytest.raises(ConfigError, match="retry"):
        await virtual.connect(
            topic="other", connection=connection, callback=print, retry=NOT_A_POLICY,
            namespace=namespace,
        )  # fmt: skip
