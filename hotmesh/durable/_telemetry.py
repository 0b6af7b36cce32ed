"""``wf.trace``'s span, through OpenTelemetry when ``opentelemetry-api`` is installed.

Imported lazily so that Durable runs without it; with it installed but no SDK configured
the API's no-op tracer drops the span (the application decides where spans go).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["emit_span"]


def _attribute(value: Any) -> Any:
    """An OpenTelemetry attribute value: primitives and lists of them as they are,
    anything else as its JSON text."""
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple) and all(
        isinstance(v, str | bool | int | float) for v in value
    ):
        return list(value)
    return json.dumps(value, default=str, sort_keys=True)


def emit_span(name: str, attributes: Mapping[str, Any]) -> bool:
    """Record one span ``name`` with ``attributes``; False when OpenTelemetry is absent.

    Example:
        >>> isinstance(emit_span("durable.trace", {"step": "charged"}), bool)
        True
    """
    try:
        otel = importlib.import_module("opentelemetry.trace")
    except ImportError:
        return False
    tracer = otel.get_tracer("hotmesh.durable")
    clean = {str(k): _attribute(v) for k, v in attributes.items()}
    with tracer.start_as_current_span(name, attributes=clean):
        pass
    return True
