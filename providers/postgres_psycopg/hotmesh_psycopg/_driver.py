"""The psycopg 3 adapter of the shared Postgres driver protocol.

Connections use ``AsyncRawCursor`` so the shared SQL's native ``$1`` placeholders pass
through unchanged, autocommit (transactions are explicit), and server-side prepared
statements after the second use of a query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import select
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, ClassVar, TypeVar

import psycopg
from psycopg import sql as psql
from psycopg_pool import AsyncConnectionPool

from hotmesh.errors import AuthenticationFailed, ConfigError, DatabaseUnavailable
from hotmesh_postgres.backend import PostgresProvider
from hotmesh_postgres.driver import Executor, Lanes, Loss, Replayer, Row
from hotmesh_postgres.targets import describe_target

__all__ = ["PsycopgDriver", "PsycopgProvider"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_POOL_KEYS = {"min_size", "max_size", "max_idle", "max_lifetime", "timeout"}
Conn = psycopg.AsyncConnection[Any]

# Values the database refuses (too long for an index row, untranslatable characters...):
# the caller's input, never an outage. psycopg files program_limit_exceeded (class 54)
# under OperationalError, which is why it must be told apart from a lost connection.
_REFUSED_STATES = frozenset({"22001", "22021", "22P05", "54000", "54001", "54011", "54023"})
# The server ended the session: admin/crash shutdown, cannot connect now.
_ENDED_STATES = frozenset({"57P01", "57P02", "57P03"})


def _spoke_while_idle(conn: Conn) -> bool:
    # An idle pooled connection has nothing to read, unless the server ended it (restart,
    # pg_terminate_backend): its termination message waits in the socket. libpq would
    # only read it after sending the next statement, and report it as that statement's
    # error, so a statement that never ran would look as if it might have.
    try:
        readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    except (OSError, ValueError, psycopg.OperationalError):
        return True
    return bool(readable)


def classify(err: BaseException) -> Loss:
    """How a psycopg error relates to the statement (see :data:`Loss`)."""
    if isinstance(err, UnicodeError | psycopg.DataError):  # class 22, or refused client-side
        return "input"
    state = getattr(err, "sqlstate", None)
    if state in _REFUSED_STATES:
        return "input"
    if isinstance(err, psycopg.InterfaceError | psycopg.OperationalError) and state is None:
        text = str(err)
        # psycopg checks the connection before sending: nothing left.
        if text.startswith(("the connection is closed", "the connection is lost")):
            return "unsent"
        return "maybe"
    if isinstance(err, psycopg.OperationalError) and (
        state in _ENDED_STATES or str(state).startswith("08")
    ):
        return "unsent"  # the server answered with an error: the statement rolled back
    return None


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
        self._replayer = Replayer(classify, self._reconnect, target)
        self._lanes: Lanes[Conn] = Lanes(
            pool.max_size,
            acquire=pool.getconn,
            release=pool.putconn,
            usable=lambda conn: not conn.closed and not _spoke_while_idle(conn),
            discard=self._drop,
            classify=classify,
        )

    async def _drop(self, conn: Conn) -> None:
        """Close a broken connection and give it back (the pool drops closed ones)."""
        with contextlib.suppress(Exception):
            await conn.close()
        with contextlib.suppress(Exception):
            await self._pool.putconn(conn)

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

    async def _run(self, fn: Callable[[_Exec], Awaitable[T]], sql: str, replay: bool | None) -> T:
        async def attempt() -> T:
            lane = self._lanes.free()
            if lane is not None:
                return await lane.run(lambda conn: fn(_Exec(conn)))
            async with self._connection() as conn:
                return await fn(_Exec(conn))

        return await self._replayer.run(attempt, sql, replay)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Conn]:
        """A pooled connection, skipping one the server ended while it sat idle."""
        async with self._pool.connection() as conn:
            if not _spoke_while_idle(conn):
                yield conn
                return
            await conn.close()  # the pool drops closed connections
        await self._pool.check()  # the server likely ended its siblings too
        async with self._pool.connection() as conn:
            yield conn

    async def _reconnect(self) -> None:
        # Drop the pool's broken connections (restart, pg_terminate_backend).
        log.warning("database connection lost; reconnecting", extra={"target": self.target})
        await self._pool.check()

    async def execute(self, sql: str, *args: Any, replay: bool | None = None) -> int:
        return await self._run(lambda e: e.execute(sql, *args), sql, replay)

    async def fetch(self, sql: str, *args: Any, replay: bool | None = None) -> list[Row]:
        return await self._run(lambda e: e.fetch(sql, *args), sql, replay)

    async def fetchrow(self, sql: str, *args: Any, replay: bool | None = None) -> Row | None:
        return await self._run(lambda e: e.fetchrow(sql, *args), sql, replay)

    async def fetchval(self, sql: str, *args: Any, replay: bool | None = None) -> Any:
        return await self._run(lambda e: e.fetchval(sql, *args), sql, replay)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        """A transaction; it is never re-run (a lost connection is ``DatabaseUnavailable``)."""
        async with (
            self._replayer.transaction(),
            self._connection() as conn,
            conn.transaction(),
        ):
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
        await self._lanes.close()
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
