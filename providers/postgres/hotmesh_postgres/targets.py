"""Describe where connection options point, for error messages (never the password)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["describe_target", "parse_keyword_dsn"]

_KEYWORD = re.compile(r"\s*(\w+)\s*=\s*")


def parse_keyword_dsn(dsn: str) -> dict[str, str]:
    """Parse libpq ``key=value`` connection strings, honouring quotes and backslashes.

    Example:
        >>> parse_keyword_dsn("host=db password='a b\\'c' port=5432")["password"]
        "a b'c"
    """
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(dsn):
        match = _KEYWORD.match(dsn, pos)
        if match is None:
            break
        key, pos = match.group(1), match.end()
        value: list[str] = []
        quoted = pos < len(dsn) and dsn[pos] == "'"
        pos += quoted
        while pos < len(dsn):
            char = dsn[pos]
            if char == "\\" and pos + 1 < len(dsn):
                value.append(dsn[pos + 1])
                pos += 2
                continue
            if (quoted and char == "'") or (not quoted and char.isspace()):
                pos += 1
                break
            value.append(char)
            pos += 1
        fields[key] = "".join(value)
    return fields


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
        fields = parse_keyword_dsn(dsn)
        host = host or fields.get("host")
        port = port or fields.get("port")
        database = database or fields.get("dbname")
    where = str(host or "localhost")
    if port:
        where += f":{port}"
    if database:
        where += f"/{database}"
    return where
