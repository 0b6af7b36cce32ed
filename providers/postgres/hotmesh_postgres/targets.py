"""Describe where connection options point, for error messages (never the password)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["describe_target"]


def describe_target(options: Mapping[str, Any]) -> str:
    """``host:port/database`` (or the socket directory) from a DSN or keyword options.

    Example:
        >>> describe_target({"dsn": "postgresql://u:secret@db.example:5433/app"})
        'db.example:5433/app'
    """
    host = options.get("host")
    port = options.get("port")
    database = options.get("database") or options.get("dbname")
    dsn = options.get("dsn") or options.get("conninfo")
    if isinstance(dsn, str) and "://" in dsn:
        try:
            parts = urlsplit(dsn)
            query = parse_qs(parts.query)
            host = host or parts.hostname or next(iter(query.get("host", [])), None)
            port = port or parts.port
            database = database or parts.path.lstrip("/") or None
        except ValueError:
            return "(unparseable dsn)"
    elif isinstance(dsn, str):
        fields = dict(p.split("=", 1) for p in dsn.split() if "=" in p)
        host = host or fields.get("host")
        port = port or fields.get("port")
        database = database or fields.get("dbname")
    where = str(host or "localhost")
    if port:
        where += f":{port}"
    if database:
        where += f"/{database}"
    return where
