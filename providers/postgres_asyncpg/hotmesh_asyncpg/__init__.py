"""hotmesh provider for asyncpg.

Select it with ``connection={"class": asyncpg, "options": {"dsn": ...}}`` (or
``asyncpg.Pool``, ``asyncpg.Connection``, or the string ``"asyncpg"``). Options go to
``asyncpg.create_pool``: ``dsn``, ``host``, ``port``, ``user``, ``password``, ``database``,
``min_size``, ``max_size``…
"""

from __future__ import annotations

from hotmesh_asyncpg._driver import AsyncpgDriver, AsyncpgProvider

__all__ = ["AsyncpgDriver", "AsyncpgProvider"]
