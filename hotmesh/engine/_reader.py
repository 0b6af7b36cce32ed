"""Reading an app's YAML mappings: the :class:`Reader` every activity type reads with,
and the sections (``input``, ``output``, ``job``, ``retry``) all types share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from attrs import define

from hotmesh.engine._model_activities import ActivityRetry
from hotmesh.spi import RetryPolicy
from hotmesh.spi._duration import parse_duration

if TYPE_CHECKING:
    from hotmesh.engine._diagnostics import Diagnostics
    from hotmesh.engine._source import SourceLocation

__all__ = [
    "Reader",
    "is_expression",
    "parse_duration",
    "read_retry",
    "read_section",
    "static_topic",
    "worker_timeout",
]

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


def static_topic(value: Any) -> str | None:
    return value if isinstance(value, str) and "{" not in value else None


def worker_timeout(reader: Reader) -> float | None:
    """A worker activity's ``timeout``: positive seconds per callback attempt."""
    value = reader.data.get("timeout")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        reader.error("timeout", f"must be a positive number of seconds, not {value!r}")
        return None
    return float(value)
