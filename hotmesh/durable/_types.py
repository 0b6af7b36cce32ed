"""Values of the Durable API: durations, retry policies, workflow and activity info."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

import attrs

from hotmesh.errors import ConfigError

__all__ = [
    "ActivityCall",
    "ActivityContext",
    "Duration",
    "RetryPolicy",
    "WorkflowInfo",
    "seconds",
]

Duration = int | float | str | timedelta

_UNITS: dict[str, float] = {}
for _names, _factor in (
    (("ms", "msec", "msecs", "millisecond", "milliseconds"), 0.001),
    (("s", "sec", "secs", "second", "seconds"), 1.0),
    (("m", "min", "mins", "minute", "minutes"), 60.0),
    (("h", "hr", "hrs", "hour", "hours"), 3600.0),
    (("d", "day", "days"), 86400.0),
    (("w", "week", "weeks"), 604800.0),
    (("y", "yr", "yrs", "year", "years"), 31557600.0),
):
    for _name in _names:
        _UNITS[_name] = _factor
_PATTERN = re.compile(r"^\s*(-?\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)\s*$")


def seconds(value: Duration, *, name: str = "duration") -> float:
    """Seconds in a :data:`Duration`: a number (seconds, D4), a ``timedelta`` or an
    ``ms``-style string (``"500ms"``, ``"5 seconds"``, ``"2m"``, ``"1h"``, ``"30 days"``;
    a bare number string is seconds).

    Example:
        >>> seconds("2m"), seconds(1.5), seconds("30 days")
        (120.0, 1.5, 2592000.0)

    Raises:
        ConfigError: the value is not a duration; the message names ``name``.
    """
    if isinstance(value, timedelta):
        result = value.total_seconds()
    elif isinstance(value, bool):
        raise ConfigError(f"{name} must be a duration, not {value!r}", value=value)
    elif isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        match = _PATTERN.match(value)
        unit = match.group(2).lower() if match else ""
        if match is None or (unit and unit not in _UNITS):
            raise ConfigError(
                f"{name} {value!r} is not a duration (use e.g. 5, '500ms', '5s', '2m', '1h', '7d')",
                value=value,
            )
        result = float(match.group(1)) * (_UNITS[unit] if unit else 1.0)
    else:
        raise ConfigError(f"{name} must be a duration, not {type(value).__name__}", value=value)
    if math.isnan(result) or math.isinf(result) or result < 0:
        raise ConfigError(f"{name} must be a finite duration >= 0, not {value!r}", value=value)
    return result


def _check_attempts(_: Any, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(
            f"RetryPolicy.{attribute.name} must be a whole number >= 1, not {value!r}",
            value=value,
        )


def _check_coefficient(_: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1:
        raise ConfigError(
            f"RetryPolicy.{attribute.name} must be a number >= 1, not {value!r}", value=value
        )


def _check_duration(_: Any, attribute: attrs.Attribute[Any], value: Duration | None) -> None:
    if value is not None:
        seconds(value, name=f"RetryPolicy.{attribute.name}")


@attrs.frozen
class RetryPolicy:
    """How a failing activity, child or workflow body is retried.

    Attributes:
        maximum_attempts: TOTAL executions including the first (D1); None inherits.
        backoff_coefficient: growth of the delay between retries.
        initial_interval: delay before the first retry (D3); retry n waits
            ``min(initial * coef**(n-1), maximum_interval)``.
        maximum_interval: the longest delay between two attempts.
        throw_on_error: False: a failed activity/child returns its error dict instead.

    Workflow defaults are 50 attempts, coefficient 5.0, 1 s initial, 120 s maximum; an
    activity inherits its workflow's policy field by field.

    Example:
        >>> RetryPolicy(maximum_attempts=3, initial_interval="1s").maximum_attempts
        3
    """

    maximum_attempts: int | None = attrs.field(default=None, validator=_check_attempts)
    backoff_coefficient: float | None = attrs.field(default=None, validator=_check_coefficient)
    initial_interval: Duration | None = attrs.field(default=None, validator=_check_duration)
    maximum_interval: Duration | None = attrs.field(default=None, validator=_check_duration)
    throw_on_error: bool = True

    def to_wire(self) -> dict[str, Any]:
        """The policy as stored in a message: set fields only, durations in seconds."""
        out: dict[str, Any] = {}
        if self.maximum_attempts is not None:
            out["maximumAttempts"] = self.maximum_attempts
        if self.backoff_coefficient is not None:
            out["backoffCoefficient"] = float(self.backoff_coefficient)
        if self.initial_interval is not None:
            out["initialInterval"] = seconds(self.initial_interval)
        if self.maximum_interval is not None:
            out["maximumInterval"] = seconds(self.maximum_interval)
        if not self.throw_on_error:
            out["throwOnError"] = False
        return out


#: The workflow-level defaults (durable-api.md): 50 attempts, 5.0, 1 s, 120 s.
WORKFLOW_RETRY_DEFAULTS: dict[str, Any] = {
    "maximumAttempts": 50,
    "backoffCoefficient": 5.0,
    "initialInterval": 1.0,
    "maximumInterval": 120.0,
}


@attrs.frozen
class WorkflowInfo:
    """What ``wf.workflow_info()`` returns inside a workflow turn.

    Example:
        >>> WorkflowInfo("w1", "greet", "q", "durable", "", True).workflow_name
        'greet'
    """

    workflow_id: str
    workflow_name: str
    task_queue: str
    namespace: str
    workflow_dimension: str
    can_retry: bool


@attrs.frozen
class ActivityContext:
    """What ``activity.get_context()`` returns inside an activity.

    Attributes:
        workflow_id: the calling workflow's id (D6); ``activity_id`` is the synthetic id.
        attempt: 1 on the first execution.
    """

    activity_name: str
    args: list[Any]
    headers: dict[str, Any]
    workflow_id: str
    activity_id: str
    attempt: int


@attrs.define
class ActivityCall:
    """One proxied activity call as outbound interceptors see it (mutable)."""

    activity_name: str
    args: list[Any]
    options: dict[str, Any]
