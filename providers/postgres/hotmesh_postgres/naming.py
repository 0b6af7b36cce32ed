"""Postgres names derived from app ids: schemas and NOTIFY channels."""

from __future__ import annotations

import hashlib
import re

from hotmesh.errors import ConfigError

__all__ = ["APP_ID_PATTERN", "channel_name", "quote_ident", "quote_literal", "schema_name"]

APP_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_RESERVED = {"public", "information_schema", "a"}
_MAX_IDENT = 63


def schema_name(app_id: str) -> str:
    """The Postgres schema that holds ``app_id``'s tables.

    Lowercased, with runs of characters other than ``[a-z0-9]`` folded to ``_``, as the
    reference does (``order-app`` → ``order_app``).

    Raises:
        ConfigError: the app id is empty, too long, has characters outside
            ``[A-Za-z0-9_-]``, or names a reserved schema.

    Example:
        >>> schema_name("order-app")
        'order_app'
    """
    if not isinstance(app_id, str) or not APP_ID_PATTERN.fullmatch(app_id):
        raise ConfigError(
            f"app id {app_id!r} must be 1-63 characters of letters, digits, '-' or '_'",
            value=app_id,
        )
    name = re.sub(r"[^a-z0-9]+", "_", app_id.lower()).strip("_")
    if not name or name in _RESERVED or name.startswith("pg_"):
        raise ConfigError(f"app id {app_id!r} maps to a reserved schema name", value=app_id)
    return name


def channel_name(kind: str, schema: str) -> str:
    """A NOTIFY channel for ``kind`` (``w`` wake-ups, ``s`` pub/sub) of one app schema."""
    name = f"hotmesh_{kind}_{schema}"
    if len(name) <= _MAX_IDENT:
        return name
    digest = hashlib.sha256(schema.encode()).hexdigest()[:16]
    prefix = f"hotmesh_{kind}_"
    return f"{prefix}{schema[: _MAX_IDENT - len(prefix) - len(digest) - 1]}_{digest}"


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL text (doubling embedded quotes)."""
    if "\x00" in name:
        raise ConfigError("identifier contains NUL", value=name)
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """Quote a string literal for SQL text (doubling embedded quotes)."""
    if "\x00" in text:
        raise ConfigError("literal contains NUL", value=text)
    return "'" + text.replace("'", "''") + "'"
