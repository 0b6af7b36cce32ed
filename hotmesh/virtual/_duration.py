"""Durations as Virtual takes them: seconds, a ``timedelta``, or an ``ms``-style string."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

from hotmesh.errors import ConfigError

__all__ = ["Duration", "to_seconds"]

Duration = int | float | str | timedelta

_TEXT = re.compile(r"^\s*(-?\d*\.?\d+)\s*([a-z]*)\s*$", re.IGNORECASE)
_UNITS = {
    1e-3: ("ms", "msec", "msecs", "millisecond", "milliseconds"),
    1.0: ("s", "sec", "secs", "second", "seconds"),
    60.0: ("m", "min", "mins", "minute", "minutes"),
    3600.0: ("h", "hr", "hrs", "hour", "hours"),
    86400.0: ("d", "day", "days"),
    604800.0: ("w", "week", "weeks"),
    31557600.0: ("y", "yr", "yrs", "year", "years"),
}
_FACTOR = {name: factor for factor, names in _UNITS.items() for name in names}


def to_seconds(value: Any, *, name: str) -> float:
    """Seconds in ``value``: a number (seconds), a ``timedelta``, or a string of the
    ``ms`` grammar (``"500ms"``, ``"5 seconds"``, ``"2m"``, ``"1 hour"``; a bare number
    string is milliseconds, as in ``ms``).

    Raises:
        ConfigError: ``value`` is no duration (the message names ``name``).

    Example:
        >>> to_seconds("1 minute", name="ttl"), to_seconds(2, name="ttl")
        (60.0, 2.0)
    """
    seconds: float | None = None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (found := _TEXT.match(value)):
        unit = found.group(2).lower() or "ms"
        if unit in _FACTOR:
            seconds = float(found.group(1)) * _FACTOR[unit]
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(
            f"{name} must be a duration (seconds, a timedelta or a string like '30s'), "
            f"not {value!r}",
            value=value,
        )
    return seconds
