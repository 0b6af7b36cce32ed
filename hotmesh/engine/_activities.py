"""Reading one activity's YAML map into the fields of its model class.

Only what the activity declares itself is read here; what depends on the rest of the graph
(parent, ancestors, hook topic, consumes/produces) is derived by the compiler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from attrs import define

from hotmesh.engine._checks import sleep_problem
from hotmesh.engine._diagnostics import Diagnostics
from hotmesh.engine.model import (
    Activity,
    ActivityRetry,
    AwaitActivity,
    CycleActivity,
    HookActivity,
    InterruptActivity,
    SignalActivity,
    SourceLocation,
    StatsMeasure,
    TriggerActivity,
    TriggerStats,
    WorkerActivity,
)
from hotmesh.spi import RetryPolicy
from hotmesh.spi._duration import parse_duration

__all__ = [
    "ACTIVITY_CLASSES",
    "Reader",
    "is_expression",
    "parse_duration",
    "read_activity",
    "read_section",
]

ACTIVITY_CLASSES: dict[str, type[Activity]] = {
    cls.type: cls
    for cls in (
        TriggerActivity,
        WorkerActivity,
        AwaitActivity,
        HookActivity,
        SignalActivity,
        CycleActivity,
        InterruptActivity,
    )
}

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
_TYPE_KEYS: dict[str, frozenset[str]] = {
    "trigger": frozenset({"stats", "entity"}),
    "worker": frozenset({"topic", "timeout"}),
    "await": frozenset({"topic", "await", "timeout", "expire"}),
    "hook": frozenset({"sleep", "escalation"}),
    "signal": frozenset(
        {"topic", "signal", "resolver", "status", "code", "key_name", "key_value", "scrub"}
    ),
    "cycle": frozenset({"ancestor"}),
    "interrupt": frozenset(
        {"target", "topic", "reason", "throw", "descend", "code", "stack", "expire"}
    ),
}
_GRANULARITIES = frozenset({"5m", "10m", "15m", "30m", "1h", "infinity"})
_MEASURES = frozenset({"sum", "avg", "count", "index", "mdn"})
_BACKOFF_KEYS = {
    "maximumAttempts": "maximum_attempts",
    "backoffCoefficient": "backoff_coefficient",
    "maximumInterval": "maximum_interval",
    "initialInterval": "initial_interval",
}


def is_expression(value: Any) -> bool:
    """True for a value the mapper can resolve as one expression: a scalar or a ``@pipe``.

    Example:
        >>> (is_expression("{a.b}"), is_expression({"@pipe": [["x"]]}), is_expression({"a": 1}))
        (True, True, False)
    """
    if value is None or isinstance(value, str | int | float | bool):
        return True
    return isinstance(value, dict) and set(value) == {"@pipe"}


@define
class Reader:
    """One YAML mapping being read: its node path, and where to report problems."""

    data: dict[Any, Any]
    node: str
    diag: Diagnostics
    locate: Callable[[Any, Any], SourceLocation | None]
    where: SourceLocation | None = None

    def at(self, key: Any) -> SourceLocation | None:
        """Where ``key`` is declared."""
        return self.locate(self.data, key)

    def path(self, key: Any) -> str:
        """The node path of ``key``."""
        return f"{self.node}.{key}"

    def error(self, key: Any, message: str) -> None:
        """Record an error on ``key``."""
        self.diag.error(self.path(key), message, self.at(key))

    def warn(self, key: Any, message: str) -> None:
        """Record a warning on ``key``."""
        self.diag.warn(self.path(key), message, self.at(key))

    def child(self, key: Any) -> Reader | None:
        """A reader of the mapping under ``key``; ``None`` (after an error) if it is not one."""
        value = self.data.get(key)
        if not isinstance(value, dict):
            self.error(key, f"must be a mapping, not {type(value).__name__}")
            return None
        return Reader(value, self.path(key), self.diag, self.locate, self.at(key))

    def node_error(self, message: str) -> None:
        """Record an error on the mapping itself."""
        self.diag.error(self.node, message, self.where)

    def mapping(self, key: Any) -> dict[str, Any] | None:
        """The mapping under ``key`` (``None`` when absent or, after an error, malformed)."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(key, f"must be a mapping, not {type(value).__name__}")
            return None
        return value

    def expression(self, key: Any, *, required: bool = False) -> Any:
        """The scalar or ``@pipe`` under ``key``."""
        value = self.data.get(key)
        if value is None and required:
            self.node_error(f"{key!r} is required")
        elif not is_expression(value):
            self.error(key, "must be a scalar or a {'@pipe': [...]} expression")
        return value


def read_section(reader: Reader, name: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Read ``input``/``output``/``job``: ``{maps?, schema?}`` (code-keyed siblings ignored)."""
    section = reader.child(name) if name in reader.data else None
    if section is None:
        return None, None
    for key in section.data:
        if str(key).isdigit():
            section.warn(key, "code-keyed sections are ignored at run time")
        elif key not in ("maps", "schema"):
            section.warn(key, f"unknown key {key!r} is ignored")
    return section.mapping("maps"), section.mapping("schema")


def read_retry(reader: Reader) -> ActivityRetry | None:
    """Read a ``retry`` block in either the per-code or the backoff form."""
    retry = reader.child("retry") if "retry" in reader.data else None
    if retry is None:
        return None
    per_code: dict[str, int] = {}
    backoff: dict[str, Any] = {}
    for key, value in retry.data.items():
        if str(key).isdigit():
            count = value[0] if isinstance(value, list) and len(value) == 1 else value
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                retry.error(key, "a per-code retry must be a count like [3]")
            else:
                per_code[str(key)] = count
        elif key in ("maximumAttempts",):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                retry.error(key, "must be a positive integer")
            else:
                backoff[_BACKOFF_KEYS[key]] = value
        elif key in _BACKOFF_KEYS:
            seconds = parse_duration(value)
            if seconds is None or seconds < 0:
                retry.error(key, f"must be a number or a duration like '30s', not {value!r}")
            else:
                backoff[_BACKOFF_KEYS[key]] = seconds
        else:
            retry.error(key, f"unknown retry setting {key!r}")
    return ActivityRetry(per_code=per_code, backoff=RetryPolicy(**backoff) if backoff else None)


def _read_stats(reader: Reader) -> TriggerStats | None:
    stats = reader.child("stats") if "stats" in reader.data else None
    if stats is None:
        return None
    granularity = stats.data.get("granularity", "5m")
    if granularity not in _GRANULARITIES:
        stats.error("granularity", f"must be one of {sorted(_GRANULARITIES)}")
        granularity = "5m"
    measures: list[StatsMeasure] = []
    raw_measures = stats.data.get("measures", [])
    if not isinstance(raw_measures, list):
        stats.error("measures", "must be a list of {measure, target}")
        raw_measures = []
    for index, item in enumerate(raw_measures):
        measure = item.get("measure") if isinstance(item, dict) else None
        target = item.get("target") if isinstance(item, dict) else None
        if measure not in _MEASURES or not isinstance(target, str):
            stats.error(
                f"measures[{index}]",
                f"needs measure (one of {sorted(_MEASURES)}) and a target expression",
            )
            continue
        measures.append(StatsMeasure(measure, target))
    return TriggerStats(
        id=stats.expression("id"),
        key=stats.expression("key"),
        granularity=str(granularity),
        measures=tuple(measures),
        parent=stats.data.get("parent"),
        adjacent=stats.data.get("adjacent"),
    )


def _static_topic(value: Any) -> str | None:
    return value if isinstance(value, str) and "{" not in value else None


def _timeout(reader: Reader) -> float | None:
    """A worker activity's ``timeout``: positive seconds per callback attempt."""
    value = reader.data.get("timeout")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        reader.error("timeout", f"must be a positive number of seconds, not {value!r}")
        return None
    return float(value)


def _type_fields(kind: str, reader: Reader) -> dict[str, Any]:
    """The fields only activities of type ``kind`` have."""
    get = reader.data.get
    if kind == "trigger":
        return {"stats": _read_stats(reader), "entity": reader.expression("entity")}
    if kind in ("worker", "await"):
        topic = reader.expression("topic", required=True)
        fields = {"topic": topic, "subtype": get("subtype") or _static_topic(topic)}
        if kind == "worker":
            fields["timeout"] = _timeout(reader)
        elif "timeout" in reader.data:
            reader.warn("timeout", "await timeouts are not supported; use a hook with sleep")
        if kind == "await":
            fields["await_result"] = reader.expression("await") if "await" in reader.data else True
            fields["expire"] = reader.expression("expire")
        return fields
    if kind == "hook":
        return {
            "sleep": _sleep(reader),
            "hook_schema": reader.mapping("hook"),
            "escalation": reader.mapping("escalation"),
        }
    if kind == "signal":
        subtype = get("subtype", "one")
        if subtype not in ("one", "all"):
            reader.error("subtype", "a signal subtype must be 'one' or 'all'")
            subtype = "one"
        signal_maps, _ = read_section(reader, "signal")
        resolver_maps, _ = read_section(reader, "resolver")
        return {
            "subtype": subtype,
            "topic": reader.expression("topic", required=True),
            "signal_maps": signal_maps,
            "resolver_maps": resolver_maps,
            "status": reader.expression("status") if "status" in reader.data else "success",
            "code": reader.expression("code") if "code" in reader.data else 200,
            "key_name": reader.expression("key_name"),
            "key_value": reader.expression("key_value"),
            "scrub": reader.expression("scrub") if "scrub" in reader.data else False,
        }
    if kind == "cycle":
        ancestor = get("ancestor")
        if not isinstance(ancestor, str) or not ancestor:
            reader.node_error("a cycle activity needs an 'ancestor' id")
            ancestor = ""
        return {"ancestor": ancestor}
    if kind == "interrupt":
        if "descend" in reader.data:
            reader.warn("descend", "'descend' is accepted but has no effect")
        return {
            "target": reader.expression("target"),
            "topic": reader.expression("topic"),
            "reason": reader.expression("reason"),
            "throw": reader.expression("throw") if "throw" in reader.data else True,
            "descend": get("descend", False),
            "code": reader.expression("code") if "code" in reader.data else 410,
            "stack": reader.expression("stack"),
            "expire": reader.expression("expire"),
        }
    raise AssertionError(kind)  # pragma: no cover - callers pass known types


def read_activity(kind: str, reader: Reader) -> tuple[type[Activity], dict[str, Any]]:
    """Read the declared fields of an activity of type ``kind`` (already validated).

    Returns the model class and the constructor arguments it declares; the compiler adds
    the derived ones.
    """
    known = _COMMON_KEYS | _TYPE_KEYS[kind]
    for key in reader.data:
        if key in _DERIVED_KEYS and key not in _TYPE_KEYS[kind]:  # await/interrupt: expire
            reader.warn(key, f"{key!r} is set by the compiler; the declared value is ignored")
        elif key not in known:
            reader.warn(key, f"unknown key {key!r} for a {kind} activity is ignored")
    input_maps, input_schema = read_section(reader, "input")
    output_maps, output_schema = read_section(reader, "output")
    job_maps, _ = read_section(reader, "job")
    retry = read_retry(reader)
    if retry is not None and kind not in ("worker", "await"):
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
        **_type_fields(kind, reader),
    }
    return ACTIVITY_CLASSES[kind], fields


def _sleep(reader: Reader) -> Any:
    value = reader.expression("sleep")
    if (problem := sleep_problem(value)) is not None:
        reader.error("sleep", problem)
    return value
