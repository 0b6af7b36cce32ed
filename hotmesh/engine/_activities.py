"""Reading one activity's YAML map into the fields of its model class.

Only what the activity declares itself is read here; what depends on the rest of the graph
(parent, ancestors, hook topic, consumes/produces) is derived by the compiler.
"""

from __future__ import annotations

from typing import Any

from hotmesh.engine._model_activities import Activity
from hotmesh.engine._reader import Reader, is_expression, parse_duration, read_retry, read_section
from hotmesh.engine.activities import KINDS

__all__ = [
    "ACTIVITY_CLASSES",
    "Reader",
    "is_expression",
    "parse_duration",
    "read_activity",
    "read_section",
]

#: The model class of every registered activity type, by ``type``.
ACTIVITY_CLASSES: dict[str, type[Activity]] = {name: kind.model for name, kind in KINDS.items()}

# Keys the compiler of the reference writes into activities; harmless when found in YAML.
_DERIVED_KEYS = frozenset(
    {"subscribes", "publishes", "trigger", "parent", "ancestors", "expire", "persistent"}
)
_COMMON_KEYS = frozenset(
    {
        "type",
        "title",
        "input",
        "output",
        "job",
        "emit",
        "persist",
        "statusThreshold",
        "statusThresholdType",
        "retry",
        "telemetry",
        "cycle",
        "hook",
        "subtype",
    }
)


def read_activity(kind: str, reader: Reader) -> tuple[type[Activity], dict[str, Any]]:
    """Read the declared fields of an activity of type ``kind`` (already validated).

    Returns the model class and the constructor arguments it declares; the compiler adds
    the derived ones.
    """
    behaviour = KINDS[kind]
    known = _COMMON_KEYS | behaviour.keys
    for key in reader.data:
        if key in _DERIVED_KEYS and key not in behaviour.keys:  # await/interrupt: expire
            reader.warn(key, f"{key!r} is set by the compiler; the declared value is ignored")
        elif key not in known:
            reader.warn(key, f"unknown key {key!r} for a {kind} activity is ignored")
    input_maps, input_schema = read_section(reader, "input")
    output_maps, output_schema = read_section(reader, "output")
    job_maps, _ = read_section(reader, "job")
    retry = read_retry(reader)
    if retry is not None and not behaviour.retries:
        reader.warn("retry", "retry policies only apply to worker and await activities")
    title = reader.data.get("title")
    fields: dict[str, Any] = {
        "title": title if isinstance(title, str) else None,
        "input_maps": input_maps,
        "output_maps": output_maps,
        "job_maps": job_maps,
        "input_schema": input_schema,
        "output_schema": output_schema,
        "emit": reader.expression("emit") if "emit" in reader.data else False,
        "persist": reader.expression("persist") if "persist" in reader.data else False,
        "status_threshold": reader.expression("statusThreshold"),
        "retry": retry,
        "telemetry": reader.mapping("telemetry"),
        **behaviour.read(reader),
    }
    return behaviour.model, fields
