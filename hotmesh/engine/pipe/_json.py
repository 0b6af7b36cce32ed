"""``json``: ``JSON.stringify`` and ``JSON.parse`` with JS output formatting."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._jsvalue import UNDEFINED, is_number, to_number, to_string
from hotmesh.errors import PipeError

__all__ = ["iso_string", "stringify_value"]


def iso_string(moment: datetime) -> str:
    """Format a datetime as ``Date.prototype.toISOString`` does (UTC, milliseconds, ``Z``).

    Example:
        >>> iso_string(datetime(1970, 1, 1, tzinfo=UTC))
        '1970-01-01T00:00:00.000Z'
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return (
        f"{moment.year:04d}-"
        + moment.strftime("%m-%dT%H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}Z"
    )


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _write(value: Any, keys: set[str] | None, indent: str, depth: str) -> str | None:
    """Serialise one value; ``None`` means "leave it out" (JS ``undefined``)."""
    if value is UNDEFINED or callable(value):
        return None
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if is_number(value):
        return to_string(value) if math.isfinite(value) else "null"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, datetime):
        return _quote(iso_string(value))
    inner = depth + indent
    newline = "\n" + inner if indent else ""
    closing = "\n" + depth if indent else ""
    if isinstance(value, list | tuple):
        items = [_write(item, keys, indent, inner) or "null" for item in value]
        if not items:
            return "[]"
        return "[" + newline + ("," + newline).join(items) + closing + "]"
    if isinstance(value, dict):
        colon = ": " if indent else ":"
        members = []
        for key, item in value.items():
            name = to_string(key)
            if keys is not None and name not in keys:
                continue
            text = _write(item, keys, indent, inner)
            if text is not None:
                members.append(_quote(name) + colon + text)
        if not members:
            return "{}"
        return "{" + newline + ("," + newline).join(members) + closing + "}"
    return _quote(str(value))


def stringify_value(value: Any, replacer: Any = UNDEFINED, space: Any = UNDEFINED) -> Any:
    """``JSON.stringify(value, replacer, space)``; UNDEFINED for unserialisable input.

    ``replacer`` may be a list of the keys to keep; ``space`` a number (of spaces, at most
    10) or a string (its first 10 characters) to indent with.

    Example:
        >>> stringify_value({"a": [1, 2.0, float("nan")], "b": None})
        '{"a":[1,2,null],"b":null}'
        >>> print(stringify_value({"a": 1}, None, 2))
        {
          "a": 1
        }
    """
    keys = {to_string(key) for key in replacer} if isinstance(replacer, list) else None
    if isinstance(space, str):
        indent = space[:10]
    elif is_number(space) or isinstance(space, bool):
        number = to_number(space)
        indent = " " * max(0, min(10, int(number))) if math.isfinite(number) else ""
    else:
        indent = ""
    text = _write(value, keys, indent, "")
    return UNDEFINED if text is None else text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@register("json")
def stringify(value: Any = UNDEFINED, replacer: Any = UNDEFINED, space: Any = UNDEFINED) -> Any:
    """``JSON.stringify`` (see :func:`stringify_value`).

    Example:
        >>> stringify(["a", 1])
        '["a",1]'
    """
    return stringify_value(value, replacer, space)


@register("json")
def parse(text: Any = UNDEFINED, reviver: Any = UNDEFINED) -> Any:
    """``JSON.parse``; non-string input is parsed from its string form.

    Raises:
        PipeError: the text is not JSON.

    Example:
        >>> parse('["ke", "bab", "case"]')
        ['ke', 'bab', 'case']
    """
    source = text if isinstance(text, str) else to_string(text)
    try:
        return json.loads(source, parse_constant=_reject_constant)
    except ValueError as error:
        raise PipeError(
            f"json.parse: invalid JSON {source[:80]!r}: {error}", value=source
        ) from error
