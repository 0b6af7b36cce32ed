"""The backend of a secured worker: a login role with no table access (docs/security.md).

A secured worker connects as a role provisioned by
:func:`hotmesh_postgres.roles.provision_worker_role`. It runs no migration (the owner
migrates) and reaches the tables only through the SECURITY DEFINER ``worker_*`` functions
of migration 0005, which check the login role's streams on every call. Anything else it
tries (reading jobs, purging a stream...) fails in the database with permission denied.

Example:
    >>> from hotmesh_asyncpg import AsyncpgProvider
    >>> async def main(dsn: str) -> None:  # doctest: +SKIP
    ...     backend = await AsyncpgProvider.connect_secured(
    ...         {"dsn": dsn, "user": "hmsh_wrk_orders_order_process", "password": "..."},
    ...         app_id="orders",
    ...     )
    ...     [message] = await backend.stream.claim("order.process")
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hotmesh.errors import ConfigError
from hotmesh_postgres.backend import PostgresBackend
from hotmesh_postgres.driver import Driver
from hotmesh_postgres.housekeeping import Vacuumer
from hotmesh_postgres.naming import channel_name
from hotmesh_postgres.schema import Queries
from hotmesh_postgres.store import PostgresStore
from hotmesh_postgres.stream import PostgresStream, StreamStatements, guard, is_access_denied

__all__ = ["SecuredBackend", "SecuredStore", "is_access_denied"]


class SecuredStore(PostgresStore):
    """The store as a secured worker sees it: only throttle settings are readable.

    Every other call reaches a table and fails in the database (permission denied).
    """

    async def get_setting(self, key: str) -> Any | None:
        """A ``throttle:...`` setting, or None."""
        text = await guard(key, self._driver.fetchval(self._q.secured_setting, key))
        return None if text is None else json.loads(text)

    async def get_stats(self, key: str, buckets: Sequence[str]) -> dict[str, dict[str, float]]:
        """Not for workers."""
        raise ConfigError("a secured worker cannot read stats", value=key)

    async def get_ids(
        self, key: str, buckets: Sequence[str], facets: Sequence[str]
    ) -> dict[str, dict[str, list[str]]]:
        """Not for workers."""
        raise ConfigError("a secured worker cannot read stats", value=key)

    async def delete_stats(self, key: str, buckets: Sequence[str], facets: Sequence[str]) -> None:
        """Not for workers."""
        raise ConfigError("a secured worker cannot change stats", value=key)


class SecuredBackend(PostgresBackend):
    """Store, stream and sub of one app for a secured worker role (no migration)."""

    def __init__(self, driver: Driver, app_id: str) -> None:
        super().__init__(driver, app_id)
        queries = Queries(self.schema)
        self.vacuumer = _NoVacuum(driver, self.schema, sweep_sql="")
        self._store = SecuredStore(driver, queries, self.vacuumer)
        self._stream = PostgresStream(
            driver, queries, self.vacuumer, StreamStatements.secured(queries)
        )

    async def open(self) -> None:
        """Start the listener (wake-ups and pub/sub); the schema is the owner's business."""
        await self.notifier.add_channel(
            channel_name("w", self.schema), self._stream.wakeups.on_notify
        )
        await self.notifier.add_channel(channel_name("s", self.schema), self._sub.on_notify)
        self.notifier.on_reconnect(self._stream.wakeups.wake_all)
        await self.notifier.start()


class _NoVacuum(Vacuumer):
    """A worker role may not vacuum the owner's tables: the owner's processes do."""

    def note_deleted(self, count: int) -> None:
        """Ignored."""
