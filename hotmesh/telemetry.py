"""OpenTelemetry spans for jobs, through ``opentelemetry-api`` only.

Without an SDK configured the API's no-op tracer makes these free; install
``opentelemetry-sdk`` (and an exporter) and set a tracer provider to record them.

* ``hotmesh.pub``: a job is started (``pubsub`` wraps it in ``hotmesh.pubsub``, which
  lasts until the result arrives). Its trace and span ids are stored in the job's
  metadata (``trc``, ``spn``), so every later span of the job joins that trace:
* ``hotmesh.step``: an engine step (one message processed and committed);
* ``hotmesh.worker``: one worker callback attempt.

Attributes: ``hotmesh.app``, ``hotmesh.job_id``, ``hotmesh.topic``,
``hotmesh.activity``, ``hotmesh.attempt``.

Example:
    >>> with span("hotmesh.pub", {"hotmesh.topic": "order.placed"}) as current:
    ...     ids = trace_ids(current)
    >>> sorted(ids) if ids else []  # no SDK configured: no ids
    []
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import (
    INVALID_SPAN,
    NonRecordingSpan,
    ProxyTracerProvider,
    Span,
    SpanContext,
    TraceFlags,
)

from hotmesh.spi import StreamMessage

__all__ = ["ATTR", "job_context", "span", "trace_ids", "traced_steps", "tracing"]

_tracer = trace.get_tracer("hotmesh")

#: Attribute names.
ATTR = {
    "app": "hotmesh.app",
    "job_id": "hotmesh.job_id",
    "topic": "hotmesh.topic",
    "activity": "hotmesh.activity",
    "attempt": "hotmesh.attempt",
}


#: The API keeps the provider it was given in this module global (None until then).
_PROVIDER_GLOBAL = "_TRACER_PROVIDER"
#: Set, this environment variable names a provider the API loads on first use.
_PROVIDER_FROM_ENV = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ


def tracing() -> bool:
    """Whether a tracer provider is set (else every span is a no-op, and is skipped).

    Asked several times per job: while nothing set a provider this reads the API's
    module global instead of ``get_tracer_provider()``, which looks up an environment
    variable on every call.
    """
    if getattr(trace, _PROVIDER_GLOBAL, trace) is None and not _PROVIDER_FROM_ENV:
        return False
    return not isinstance(trace.get_tracer_provider(), ProxyTracerProvider)


#: What :func:`span` gives while no tracer provider is set.
_NO_SPAN: contextlib.nullcontext[Span] = contextlib.nullcontext(INVALID_SPAN)


def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    parent: Mapping[str, Any] | None = None,
) -> AbstractContextManager[Span]:
    """A span named ``name``; ``parent`` is a job's metadata (its ``trc``/``spn``).

    Exceptions propagate and are recorded on the span. While no tracer provider is set
    this is a shared no-op context (the API's own no-op span costs ~20 µs, several per job).
    """
    if not tracing():
        return _NO_SPAN
    return _span(name, attributes, parent)


@contextlib.contextmanager
def _span(
    name: str, attributes: Mapping[str, Any] | None, parent: Mapping[str, Any] | None
) -> Iterator[Span]:
    context = job_context(parent) if parent is not None else None
    clean = {k: v for k, v in (attributes or {}).items() if v is not None}
    with _tracer.start_as_current_span(name, context=context, attributes=clean) as current:
        yield current


def trace_ids(current: Span) -> dict[str, str]:
    """``{"trc": <trace id>, "spn": <span id>}`` (hex) of a recording span, else ``{}``."""
    ctx = current.get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trc": format(ctx.trace_id, "032x"), "spn": format(ctx.span_id, "016x")}


def job_context(metadata: Mapping[str, Any]) -> Any:
    """The OpenTelemetry context a job's spans continue (None when it has no trace)."""
    trc, spn = metadata.get("trc"), metadata.get("spn")
    if not isinstance(trc, str) or not isinstance(spn, str):
        return None
    try:
        parent = SpanContext(
            trace_id=int(trc, 16),
            span_id=int(spn, 16),
            is_remote=True,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
    except ValueError:
        return None
    if not parent.is_valid:
        return None
    return trace.set_span_in_context(NonRecordingSpan(parent))


def traced_steps(
    process: Callable[[StreamMessage], Awaitable[None]], app_id: str
) -> Callable[[StreamMessage], Awaitable[None]]:
    """The engine's message handler, each step in a ``hotmesh.step`` span that continues
    its job's trace (the job's metadata comes with the claim)."""

    async def step(message: StreamMessage) -> None:
        if not tracing():
            await process(message)
            return
        job = message.job
        metadata = (job.state.get("meta") if job is not None else None) or {}
        attributes = {
            ATTR["app"]: app_id,
            ATTR["job_id"]: message.job_id,
            ATTR["activity"]: message.payload.get("aid"),
            ATTR["attempt"]: message.attempt,
            "hotmesh.message": message.payload.get("type") or "step",
        }
        with span("hotmesh.step", attributes, parent=metadata):
            await process(message)

    return step
