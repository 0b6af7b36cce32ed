"""Durations: seconds as a number, or a string with a unit (``'30s'``, ``'2m'``, ``'500ms'``)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["parse_duration", "seconds"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float | None:
    """Seconds in a number or a duration string (``'30s'``, ``'2m'``, ``'1.5h'``, ``'500ms'``).

    Returns ``None`` for anything else.

    Example:
        >>> (parse_duration(3), parse_duration("2m"), parse_duration("soon"))
        (3.0, 120.0, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and (found := _DURATION.match(value)):
        return float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    return None


def seconds(value: Any) -> float:
    """Like :func:`parse_duration`, but a value that is no duration raises ``ValueError``.

    Example:
        >>> seconds("30s")
        30.0
    """
    parsed = parse_duration(value)
    if parsed is None:
        raise ValueError(f"expected seconds or a duration like '30s' or '2m', got {value!r}")
    return parsed
