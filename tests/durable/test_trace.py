"""wf.trace: one OpenTelemetry span per call, never repeated by replays."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from hotmesh.durable import Client, Worker
from hotmesh.durable import workflow as wf


def _otel_api_installed() -> bool:
    """find_spec of a submodule raises when its parent package is absent."""
    try:
        return importlib.util.find_spec("opentelemetry.trace") is not None
    except ModuleNotFoundError:
        return False


_EXPORTER: Any = None


def exporter() -> Any:
    """An in-memory span exporter on the global tracer provider, or None without the
    OpenTelemetry SDK (installed once per process: the global provider is set once)."""
    global _EXPORTER
    if _EXPORTER is None:
        try:
            sdk = importlib.import_module("opentelemetry.sdk.trace")
            export = importlib.import_module("opentelemetry.sdk.trace.export")
            memory = importlib.import_module(
                "opentelemetry.sdk.trace.export.in_memory_span_exporter"
            )
            api = importlib.import_module("opentelemetry.trace")
        except ImportError:
            return None
        _EXPORTER = memory.InMemorySpanExporter()
        provider = api.get_tracer_provider()
        if not isinstance(provider, sdk.TracerProvider):  # another test may have set it
            provider = sdk.TracerProvider()
            api.set_tracer_provider(provider)
        provider.add_span_processor(export.SimpleSpanProcessor(_EXPORTER))
    return _EXPORTER


async def traced(order: str) -> list[bool]:
    first = await wf.trace({"order": order, "step": "placed", "items": [1, 2]})
    await wf.sleep(0.1)  # the next turn replays the first trace without a second span
    second = await wf.trace({"order": order, "step": "shipped", "detail": {"box": 3}})
    return [first, second]


async def test_trace_records_one_span_per_call(
    client: Client, connection: dict[str, Any], queue: str
) -> None:
    spans = exporter()
    await Worker.create(connection=connection, task_queue=queue, workflow=traced)
    handle = await client.workflow.start(traced, args=[queue], task_queue=queue)
    result = await handle.result(timeout=30)
    if spans is None:
        print("opentelemetry-sdk is not installed: wf.trace reports no span (False)")
        assert result == [_otel_api_installed()] * 2
        return
    assert result == [True, True]
    mine = [s for s in spans.get_finished_spans() if s.attributes.get("order") == queue]
    assert [s.attributes["step"] for s in mine] == ["placed", "shipped"]
    assert all(s.name == "durable.trace" for s in mine)
    assert mine[0].attributes["durable.workflow_id"] == handle.workflow_id
    assert tuple(mine[0].attributes["items"]) == (1, 2)
    assert mine[1].attributes["detail"] == '{"box": 3}'
