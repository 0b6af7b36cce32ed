"""Checks that values crossing a durable boundary are JSON (the error names the path)."""

from __future__ import annotations

import math
from typing import Any

from hotmesh.errors import PayloadError

__all__ = ["check_json"]


def _first_bad(value: Any, path: str) -> str | None:
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} ({value!r} is not finite)"
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            bad = _first_bad(item, f"{path}[{i}]")
            if bad:
                return bad
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} (key {key!r} is not a string)"
            bad = _first_bad(item, f"{path}[{key!r}]")
            if bad:
                return bad
        return None
    return f"{path} ({type(value).__name__} is not JSON)"


def check_json(value: Any, what: str) -> None:
    """Raise :class:`PayloadError` naming the first part of ``value`` JSON cannot hold.

    Example:
        >>> check_json({"a": [1, 2.5, "x"]}, "args")
    """
    bad = _first_bad(value, what)
    if bad:
        raise PayloadError(f"cannot serialise {bad}", value=bad)
