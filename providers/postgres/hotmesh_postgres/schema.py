"""Numbered migrations and named queries, loaded from the ``sql/`` folder.

Migrations ``sql/migrations/NNNN_name.sql`` are applied in order, each once, inside one
transaction per boot that holds an advisory lock derived from the schema name: ten
processes starting the same app at once apply them exactly once between them.
"""

from __future__ import annotations

import functools
import logging
import re
from importlib import resources

from attrs import define

from hotmesh.errors import MigrationError
from hotmesh_postgres.driver import Driver
from hotmesh_postgres.naming import channel_name, quote_ident, quote_literal

__all__ = ["QUERY_FILES", "Migration", "Queries", "migrate", "migrations"]

log = logging.getLogger(__name__)

_NAME_LINE = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)
_MIGRATION_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")


@define(frozen=True)
class Migration:
    """One numbered schema change."""

    version: int
    name: str
    sql: str


def _render(sql: str, schema: str) -> str:
    return sql.replace("{schema}", quote_ident(schema)).replace(
        "{wake_channel_literal}", quote_literal(channel_name("w", schema))
    )


@functools.cache
def migrations() -> tuple[Migration, ...]:
    """Every migration shipped with this package, in order."""
    folder = resources.files("hotmesh_postgres") / "sql" / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migrations must be numbered 1..n without gaps: {versions}")
    return tuple(found)


#: The files of named queries, in the ``sql/`` folder.
QUERY_FILES = ("queries.sql", "admin.sql")


@functools.cache
def _raw_queries() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename in QUERY_FILES:
        text = (resources.files("hotmesh_postgres") / "sql" / filename).read_text("utf-8")
        parts = _NAME_LINE.split(text)
        # parts = [preamble, name1, body1, name2, body2, ...]
        for i in range(1, len(parts), 2):
            if parts[i] in found:
                raise MigrationError(f"query {parts[i]!r} is defined twice ({filename})")
            found[parts[i]] = parts[i + 1].strip()
    return found


class Queries:
    """The named queries of ``QUERY_FILES`` rendered for one schema: ``q.claim``, ``q.ack``…"""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        for name, sql in _raw_queries().items():
            setattr(self, name, _render(sql, schema))

    def __getattr__(self, name: str) -> str:  # pragma: no cover - typo guard
        raise AttributeError(f"no query named {name!r} in queries.sql")


async def migrate(driver: Driver, schema: str) -> int:
    """Create or upgrade ``schema``; return how many migrations this call applied.

    Raises:
        MigrationError: a migration failed; the transaction is rolled back, so the schema
            is left at the last version that fully applied.
    """
    wanted = migrations()
    latest = wanted[-1].version
    q = Queries(schema)
    # Fast path without the lock: already current.
    if await driver.fetchval(q.migrations_table, f"{quote_ident(schema)}.hotmesh_migrations"):
        current = await driver.fetchval(q.migrations_current)
        if current is not None and current >= latest:
            return 0
    applied = 0
    try:
        async with driver.transaction() as tx:
            await tx.execute(q.migrations_lock, schema)
            await tx.execute(q.migrations_bootstrap)
            done = {row[0] for row in await tx.fetch(q.migrations_applied)}
            for migration in wanted:
                if migration.version in done:
                    continue
                log.info(
                    "applying migration",
                    extra={"schema": schema, "migration": migration.version},
                )
                await tx.execute(_render(migration.sql, schema))
                await tx.execute(q.migrations_record, migration.version, migration.name)
                applied += 1
    except MigrationError:
        raise
    except Exception as err:
        if type(err).__module__.startswith("hotmesh"):
            raise
        raise MigrationError(f"could not migrate schema {schema!r}: {err}", value=schema) from err
    return applied
