"""hotmesh provider for psycopg 3.

Select it with ``connection={"class": psycopg, "options": {"dsn": ...}}`` (or
``psycopg.AsyncConnection``, ``psycopg_pool.AsyncConnectionPool``, or the string
``"psycopg"``). Options: ``dsn`` (or ``conninfo``) and/or libpq keywords (``host``,
``port``, ``user``, ``password``, ``dbname``), plus ``min_size``/``max_size`` for the pool.
"""

from __future__ import annotations

from hotmesh_psycopg._driver import PsycopgDriver, PsycopgProvider

__all__ = ["PsycopgDriver", "PsycopgProvider"]
