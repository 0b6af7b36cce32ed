"""OpenTelemetry: the seed workflow's span tree (issue 17), with the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hotmesh.cli.demo import ORDER_APP, fulfil
from tests.engine._app_files import eventually
from tests.engine.conftest import MeshFactory

_EXPORTER = InMemorySpanExporter()
_ATTACHED: list[TracerProvider] = []


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Our exporter on the process-wide SDK provider (OpenTelemetry allows one global
    provider, and another test may have installed it first), emptied per test."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    if provider not in _ATTACHED:
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        _ATTACHED.append(provider)
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


async def test_seed_workflow_span_tree(
    mesh: MeshFactory, app_id: str, spans: InMemorySpanExporter
) -> None:
    hm = await mesh([("order.process", fulfil)])
    await hm.deploy(ORDER_APP.replace("id: hotmesh-demo", f"id: {app_id}"))
    await hm.activate("1")
    out = await hm.pubsub("order.placed", {"id": "T-1", "total": 3}, timeout=20)
    jid = out.job_id

    def of_job() -> list[ReadableSpan]:
        return [
            s for s in spans.get_finished_spans()
            if (s.attributes or {}).get("hotmesh.job_id") == jid
        ]  # fmt: skip

    async def tree_complete() -> list[ReadableSpan]:
        names = [s.name for s in of_job()]
        return of_job() if "hotmesh.worker" in names and names.count("hotmesh.step") >= 1 else []

    found = await eventually(tree_complete, timeout=10)
    by_name: dict[str, list[ReadableSpan]] = {}
    for s in found:
        by_name.setdefault(s.name, []).append(s)
    [pubsub] = by_name["hotmesh.pubsub"]
    assert pubsub.context is not None and pubsub.attributes is not None
    [pub] = by_name["hotmesh.pub"]
    [worker] = by_name["hotmesh.worker"]
    steps = by_name["hotmesh.step"]
    trace_id = pubsub.context.trace_id
    # one trace: pubsub → pub → (the job's steps, the worker callback)
    assert all(s.context.trace_id == trace_id for s in found)
    assert pub.parent.span_id == pubsub.context.span_id
    assert worker.parent.span_id == pub.context.span_id
    assert all(s.parent.span_id == pub.context.span_id for s in steps)
    assert worker.attributes["hotmesh.topic"] == "order.process"
    assert worker.attributes["hotmesh.activity"] == "fulfil"
    assert worker.attributes["hotmesh.attempt"] == 1
    assert pub.attributes["hotmesh.topic"] == "order.placed"
    assert {s.attributes["hotmesh.activity"] for s in steps} == {"fulfil"}


async def test_child_jobs_join_the_parents_trace(
    mesh: MeshFactory, app_id: str, spans: InMemorySpanExporter
) -> None:
    async def work(message: object) -> dict[str, object]:
        return {"data": {"done": True}}

    hm = await mesh([("child.work", work)])
    await hm.deploy(
        f"""
app:
  id: {app_id}
  version: '1'
  graphs:
    - subscribes: parent.go
      activities:
        p: {{type: trigger}}
        call: {{type: await, topic: child.go}}
      transitions:
        p: [{{to: call}}]
    - subscribes: child.go
      activities:
        c: {{type: trigger}}
        w: {{type: worker, topic: child.work}}
      transitions:
        c: [{{to: w}}]
"""
    )
    await hm.activate("1")
    out = await hm.pubsub("parent.go", {}, timeout=20)
    [pub] = [
        s for s in spans.get_finished_spans()
        if s.name == "hotmesh.pub" and (s.attributes or {}).get("hotmesh.job_id") == out.job_id
    ]  # fmt: skip
    assert pub.context is not None

    async def child_worker() -> list[ReadableSpan]:
        finished = spans.get_finished_spans()
        return [s for s in finished if (s.attributes or {}).get("hotmesh.topic") == "child.work"]

    [worker] = await eventually(child_worker, timeout=10)
    assert worker.context is not None and worker.context.trace_id == pub.context.trace_id
