"""Postgres facts for benchmarks (:class:`hotmesh.spi.diagnostics.Diagnostics`)."""

from __future__ import annotations

from collections.abc import Sequence

from hotmesh_postgres.driver import Driver

__all__ = ["PostgresDiagnostics"]


class PostgresDiagnostics:
    """Settings, the transaction-id horizon and the backend pid of one Postgres server."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    async def settings(self, names: Sequence[str]) -> dict[str, str]:
        """``SHOW <name>`` for each name (names are checked: letters, digits, ``_``)."""
        found: dict[str, str] = {}
        for name in names:
            if not name.replace("_", "").isalnum():
                raise ValueError(f"not a setting name: {name!r}")
            found[name] = str(await self._driver.fetchval(f"SHOW {name}"))
        return found

    async def write_counter(self) -> int:
        """The next transaction id: it advances once per *writing* transaction, at once.

        (``pg_stat_database.xact_commit`` lags: busy backends report at most once a
        second.) Reading it assigns no id, and read-only statements never get one.
        """
        sql = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text"
        return int(await self._driver.fetchval(sql))

    async def server_pid(self) -> int:
        """``pg_backend_pid()``: the server process of the connection that answers."""
        return int(await self._driver.fetchval("SELECT pg_backend_pid()"))
