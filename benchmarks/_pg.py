"""Postgres helpers shared by the benchmarks: where to connect, and what to ask the server.

The benchmarks talk to the stream through the provider seam only; these helpers reach
past it (to the backend's driver) for the few things the seam has no business offering:
dropping the app schema, the server version, and table statistics.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import Any, cast

from hotmesh.spi import Backend

__all__ = [
    "DSN_ENV",
    "admin",
    "drop_schema",
    "schema_tables",
    "server_version",
    "table_stats",
    "target_dsn",
]

DSN_ENV = "HOTMESH_BENCH_DSN"


@contextlib.contextmanager
def target_dsn(settings: dict[str, str] | None = None) -> Iterator[str]:
    """``$HOTMESH_BENCH_DSN`` when set, else a throwaway embedded cluster for the run.

    ``settings`` (e.g. ``shared_preload_libraries``) are set on the embedded cluster with
    ``ALTER SYSTEM``, and it is restarted once to apply them.
    """
    dsn = os.environ.get(DSN_ENV)
    if dsn:
        yield dsn
        return
    from hotmesh.embedded import start

    with tempfile.TemporaryDirectory(prefix="hotmesh-bench-") as folder:
        data = os.path.join(folder, "pgdata")
        handle = start(data, delete_on_exit=not settings)
        try:
            if settings:
                asyncio.run(_alter_system(handle.dsn, settings))
                handle.stop()
                handle = start(data, delete_on_exit=True)
            yield handle.dsn
        finally:
            handle.stop()


async def _alter_system(dsn: str, settings: dict[str, str]) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        for name, value in settings.items():
            await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    finally:
        await conn.close()


def admin(backend: Backend) -> Any:
    """The Postgres backend's driver (``execute``/``fetch``/``fetchval`` with ``$n``)."""
    return cast(Any, backend).driver


async def drop_schema(backend: Backend) -> None:
    """Drop the backend's app schema and everything in it."""
    schema = cast(Any, backend).schema
    await admin(backend).execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def server_version(backend: Backend) -> str:
    """The server's version string, e.g. ``18.0``."""
    return str(await admin(backend).fetchval("SHOW server_version"))


_STATS = """
SELECT t.n_live_tup, t.n_dead_tup, t.n_tup_ins, t.n_tup_del, t.n_tup_hot_upd,
       t.autovacuum_count, t.autoanalyze_count,
       pg_relation_size(t.relid), pg_indexes_size(t.relid),
       pg_relation_size(format('%I.stream_messages_claim_idx', t.schemaname)::regclass)
  FROM pg_stat_user_tables t
 WHERE t.schemaname = $1 AND t.relname = 'stream_messages'
"""
_STAT_NAMES = (
    "n_live_tup",
    "n_dead_tup",
    "n_tup_ins",
    "n_tup_del",
    "n_tup_hot_upd",
    "autovacuum_count",
    "autoanalyze_count",
    "heap_bytes",
    "indexes_bytes",
    "claim_index_bytes",
)


async def table_stats(backend: Backend) -> dict[str, int]:
    """``pg_stat_user_tables`` counters and sizes of the stream table (stats lag ~0.5 s)."""
    row = await admin(backend).fetchrow(_STATS, cast(Any, backend).schema)
    if row is None:
        return {}
    return {name: int(value or 0) for name, value in zip(_STAT_NAMES, row, strict=True)}


_TABLES = """
SELECT t.relname, pg_relation_size(t.relid), pg_indexes_size(t.relid),
       t.n_live_tup, t.n_dead_tup, t.n_tup_hot_upd, t.n_tup_upd, t.autovacuum_count
  FROM pg_stat_user_tables t
 WHERE t.schemaname = $1
 ORDER BY pg_total_relation_size(t.relid) DESC
"""


async def schema_tables(backend: Backend) -> list[dict[str, Any]]:
    """Size, index size, live/dead tuples and HOT updates of every table of the app schema."""
    rows = await admin(backend).fetch(_TABLES, cast(Any, backend).schema)
    names = ("table", "heap_bytes", "index_bytes", "live", "dead", "hot_upd", "upd", "autovac")
    return [dict(zip(names, row, strict=True)) for row in rows]
