"""``pub``'s ``extended`` argument (the reference's ``ExtensionType``), checked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from attrs import define, field

from hotmesh.engine.steps import number as _number
from hotmesh.errors import ConfigError

__all__ = ["_Extension", "_extension"]


@define(frozen=True)
class _Extension:
    """``pub``'s ``extended`` argument, checked."""

    fields: dict[str, str] = field(factory=dict)
    entity: str | None = None
    pending: float | None = None


def _extension(extended: Mapping[str, Any] | None) -> _Extension | None:
    """Check ``extended`` (search, marker, entity, pending) and turn it into state."""
    if not extended:
        return None
    unknown = sorted(set(extended) - {"search", "marker", "entity", "pending"})
    if unknown:
        raise ConfigError(f"unknown pub extension(s): {', '.join(unknown)}", value=unknown[0])
    fields: dict[str, str] = {}
    for name, prefix in (("search", "_"), ("marker", "")):
        values = extended.get(name) or {}
        if not isinstance(values, Mapping):
            raise ConfigError(f"pub extension {name!r} must be a mapping", value=name)
        for key, value in values.items():
            if name == "marker" and not str(key).startswith("-"):
                continue  # markers are '-' keys only
            if name == "search" and not str(key):
                raise ConfigError("a search field needs a name", value=key)
            fields[f"{prefix}{key}"] = _text(value)
    entity = extended.get("entity")
    pending = extended.get("pending")
    seconds = _number(pending)
    if pending is not None and (seconds is None or seconds <= 0):
        raise ConfigError("pub extension 'pending' must be a positive number of seconds",
                          value=pending)  # fmt: skip
    return _Extension(
        fields=fields, entity=None if entity is None else str(entity), pending=seconds
    )


def _text(value: Any) -> str:
    """``String(v)`` as the reference stores search and marker values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return _jsonable_text(value)
    return str(value)


def _jsonable_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)
