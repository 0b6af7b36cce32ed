"""The psycopg 3 adapter of the shared Postgres driver protocol.

Connections use ``AsyncRawCursor`` so the shared SQL's native ``$1`` placeholders pass
through unchanged, autocommit (transactions are explicit), and server-side prepared
statements after the second use of a query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, ClassVar, TypeVar

import psycopg
from psycopg import sql as psql
from psycopg_pool import AsyncConnectionPool

from hotmesh.errors import AuthenticationFailed, ConfigError, DatabaseUnavailable
from hotmesh_postgres.backend import PostgresProvider
from hotmesh_postgres.driver import Executor, Row
from hotmesh_postgres.targets import describe_target

__all__ = ["PsycopgDriver", "PsycopgProvider"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_POOL_KEYS = {"min_size", "max_size", "max_idle", "max_lifetime", "timeout"}
Conn = psycopg.AsyncConnection[Any]


class _Exec:
    """Statement helpers over one connection."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        cur = await self._conn.execute(sql, args or None)
        return max(cur.rowcount, 0)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        cur = await self._conn.execute(sql, args or None)
        return await cur.fetchall() if cur.description else []

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        cur = await self._conn.execute(sql, args or None)
        return await cur.fetchone() if cur.description else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]


class _Listener:
    """A dedicated connection; a reader task pumps ``notifies()`` into the callbacks."""

    def __init__(
        self, conn: Conn, on_notify: Callable[[str, str], None], on_lost: Callable[[], None]
    ) -> None:
        self._conn = conn
        self._on_notify = on_notify
        self._on_lost = on_lost
        self._closing = False
        self._reader = asyncio.create_task(self._read(), name="hotmesh-psycopg-listener")

    async def _read(self) -> None:
        try:
            while not self._closing:
                # A short timeout releases the connection lock now and then so LISTEN and
                # ping can run; notifications arriving meanwhile wait in psycopg's backlog.
                async for note in self._conn.notifies(timeout=0.25):
                    self._on_notify(note.channel, note.payload)
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception:
            if not self._closing:
                log.debug("psycopg listener connection lost", exc_info=True)
                self._on_lost()

    async def listen(self, channel: str) -> None:
        await self._conn.execute(psql.SQL("LISTEN {}").format(psql.Identifier(channel)))

    async def unlisten(self, channel: str) -> None:
        await self._conn.execute(psql.SQL("UNLISTEN {}").format(psql.Identifier(channel)))

    async def ping(self) -> None:
        if self._reader.done():
            raise DatabaseUnavailable("listener connection is gone")
        await self._conn.execute("SELECT 1")

    async def close(self) -> None:
        self._closing = True
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader
        with contextlib.suppress(Exception):
            await self._conn.close()


class PsycopgDriver:
    """A psycopg_pool pool behind the shared driver protocol."""

    def __init__(
        self, pool: AsyncConnectionPool[Any], conninfo: str, kwargs: dict[str, Any], target: str
    ):
        self._pool = pool
        self._conninfo = conninfo
        self._kwargs = kwargs
        self.target = target

    @classmethod
    async def connect(cls, options: Mapping[str, Any]) -> PsycopgDriver:
        """Open a pool; map failures to hotmesh errors naming the target."""
        options = dict(options)
        pool_args = {k: options.pop(k) for k in list(options) if k in _POOL_KEYS}
        conninfo = str(options.pop("dsn", None) or options.pop("conninfo", None) or "")
        if "database" in options:
            options["dbname"] = options.pop("database")
        target = describe_target({"dsn": conninfo, **options})
        kwargs: dict[str, Any] = {
            **options,
            "autocommit": True,
            "cursor_factory": psycopg.AsyncRawCursor,
            "prepare_threshold": 2,
        }
        try:
            # Probe once with a plain connection so a bad DSN, an unreachable host or a
            # wrong password fails now, with a clear error, instead of a pool timeout.
            probe = await psycopg.AsyncConnection.connect(conninfo, **kwargs)
            await probe.close()
        except BaseException as err:
            raise _connect_error(err, target, options) from err
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            conninfo,
            kwargs=kwargs,
            min_size=pool_args.pop("min_size", 1),
            max_size=pool_args.pop("max_size", 10),
            open=False,
            **pool_args,
        )
        await pool.open(wait=True, timeout=30)
        return cls(pool, conninfo, kwargs, target)

    async def _run(self, fn: Callable[[_Exec], Awaitable[T]]) -> T:
        try:
            async with self._pool.connection() as conn:
                return await fn(_Exec(conn))
        except psycopg.OperationalError as err:
            if isinstance(err, psycopg.errors.QueryCanceled):
                raise
            # Pooled connections died (restart, pg_terminate_backend): drop the broken
            # ones and try once more.
            log.warning("database connection lost; reconnecting", extra={"target": self.target})
            await self._pool.check()
            try:
                async with self._pool.connection() as conn:
                    return await fn(_Exec(conn))
            except psycopg.OperationalError as again:
                raise DatabaseUnavailable(
                    f"lost the connection to {self.target}: {again}", value=self.target
                ) from again

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._run(lambda e: e.execute(sql, *args))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._run(lambda e: e.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._run(lambda e: e.fetchrow(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run(lambda e: e.fetchval(sql, *args))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._pool.connection() as conn, conn.transaction():
            yield _Exec(conn)

    async def open_listener(
        self, on_notify: Callable[[str, str], None], on_lost: Callable[[], None]
    ) -> _Listener:
        try:
            conn = await psycopg.AsyncConnection.connect(self._conninfo, **self._kwargs)
        except BaseException as err:
            raise _connect_error(err, self.target, self._kwargs) from err
        return _Listener(conn, on_notify, on_lost)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._pool.close()


def _connect_error(err: BaseException, target: str, options: Mapping[str, Any]) -> BaseException:
    if isinstance(err, psycopg.ProgrammingError):
        return ConfigError(f"bad connection options for psycopg: {err}", value=target)
    if isinstance(err, psycopg.OperationalError):
        text = str(err)
        refused = (
            "password authentication failed",
            "no password supplied",
            "not permitted to log in",
        )
        if any(reason in text for reason in refused):
            user = options.get("user") or "(from dsn)"
            return AuthenticationFailed(f"{target} refused the credentials: {text}", value=user)
        if "does not exist" in text and "database" in text:
            return ConfigError(f"{target}: {text}", value=target)
        if "invalid" in text and ("dsn" in text or "connection option" in text):
            return ConfigError(f"bad connection options for psycopg: {text}", value=target)
        return DatabaseUnavailable(f"cannot reach Postgres at {target}: {text}", value=target)
    if isinstance(err, TypeError | ValueError):
        return ConfigError(f"bad connection options for psycopg: {err}", value=target)
    return err


class PsycopgProvider(PostgresProvider):
    """The psycopg provider (entry point ``psycopg`` in ``hotmesh.providers``)."""

    name: ClassVar[str] = "psycopg"
    driver_names: ClassVar[frozenset[str]] = frozenset(
        {"psycopg", "psycopg_pool", "hotmesh_psycopg"}
    )

    @classmethod
    async def open_driver(cls, options: Mapping[str, Any]) -> PsycopgDriver:
        return await PsycopgDriver.connect(options)
