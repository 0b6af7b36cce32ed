"""The asyncpg adapter of the shared Postgres driver protocol."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, ClassVar, TypeAlias, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from hotmesh.errors import AuthenticationFailed, ConfigError, DatabaseUnavailable, ProviderError
from hotmesh_postgres.backend import PostgresProvider
from hotmesh_postgres.driver import Executor, Lanes, Loss, Replayer, Row
from hotmesh_postgres.targets import describe_target

__all__ = ["AsyncpgDriver", "AsyncpgProvider"]

log = logging.getLogger(__name__)
T = TypeVar("T")
Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"

_POOL_KEYS = {
    "min_size",
    "max_size",
    "max_queries",
    "max_inactive_connection_lifetime",
    "reset",
}
# The connection died without an answer: the statement may have committed.
_LOST = (
    asyncpg.ConnectionDoesNotExistError,  # raised by the client, not sent by the server
    ConnectionError,
    OSError,
    TimeoutError,
)
# The server answered the statement with an error as it ended the session: no effect.
_ENDED = (
    asyncpg.AdminShutdownError,  # 57P01 (pg_terminate_backend, fast shutdown)
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.CannotConnectNowError,  # 57P03
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, sent by the server
)
# Values the database refuses: the caller's input, never an outage.
_REFUSED_STATES = frozenset({"22001", "22021", "22P05", "54000", "54001", "54011", "54023"})


def classify(err: BaseException) -> Loss:
    """How an asyncpg error relates to the statement (see :data:`Loss`).

    A pooled connection whose server end was terminated while it sat idle has already read
    the server's termination message when it is handed out: its protocol refuses the next
    statement ("cannot switch to state 12; another operation (2) is in progress") before
    sending anything. That statement never left, so it is safe to run on a new connection.
    """
    text = str(err)
    if isinstance(err, asyncpg.InternalClientError) and text.startswith("cannot switch to state"):
        return "unsent"
    if isinstance(err, asyncpg.InterfaceError) and (
        "cannot perform operation" in text or "released back to the pool" in text
    ):
        return "unsent"
    if isinstance(err, asyncpg.InterfaceError) and "connection is closed" in text:
        return "maybe"  # the loss seen by the next call on it: a transaction's rollback
    if isinstance(err, UnicodeError):
        return "input"
    if isinstance(err, asyncpg.DataError):  # class 22, or refused client-side
        return "input"
    if isinstance(err, asyncpg.PostgresError) and err.sqlstate in _REFUSED_STATES:
        return "input"
    if isinstance(err, (asyncpg.InternalClientError, *_LOST)):
        return "maybe"
    if isinstance(err, _ENDED):
        return "unsent"
    return None


def _discard(conn: Conn) -> None:
    """Close a connection whose protocol is broken, so the pool never hands it out again."""
    with contextlib.suppress(asyncpg.InterfaceError):  # already closed and released
        if not conn.is_closed():
            conn.terminate()


def _alive(conn: Conn) -> bool:
    """False when the connection is closed, or was given back to the pool when the server
    ended it (asyncpg then detaches its proxy)."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False


async def _keep_session(_conn: Any) -> None:
    return None


def _rowcount(status: str) -> int:
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class _Tx:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        return _rowcount(await self._conn.execute(sql, *args))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._conn.fetchval(sql, *args)


class _Listener:
    def __init__(
        self,
        conn: asyncpg.Connection[Any],
        on_notify: Callable[[str, str], None],
        on_lost: Callable[[], None],
    ) -> None:
        self._conn = conn
        self._on_notify = on_notify
        self._lost = False
        # One operation at a time on this connection: a ping racing a LISTEN would fail
        # with "another operation is in progress".
        self._busy = asyncio.Lock()

        def lost(_conn: Any) -> None:
            if not self._lost:
                self._lost = True
                on_lost()

        self._on_lost = lost
        conn.add_termination_listener(lost)

    def _deliver(self, _conn: Any, _pid: int, channel: str, payload: object) -> None:
        self._on_notify(channel, str(payload))

    async def listen(self, channel: str) -> None:
        async with self._busy:
            await self._conn.add_listener(channel, self._deliver)

    async def unlisten(self, channel: str) -> None:
        async with self._busy:
            await self._conn.remove_listener(channel, self._deliver)

    async def ping(self) -> None:
        try:
            async with self._busy:
                await self._conn.fetchval("SELECT 1")
        except Exception:
            self._on_lost(self._conn)
            raise

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._conn.close(timeout=2)


class AsyncpgDriver:
    """A pool of asyncpg connections behind the shared driver protocol."""

    def __init__(self, pool: asyncpg.Pool[Any], connect_args: Mapping[str, Any], target: str):
        self._pool = pool
        self._connect_args = dict(connect_args)
        self.target = target
        self._replayer = Replayer(classify, self._reconnect, target)
        self._lanes: Lanes[PoolConnectionProxy[Any]] = Lanes(
            pool.get_max_size(),
            acquire=self._acquire,
            release=pool.release,
            usable=_alive,
            discard=self._drop,
            classify=classify,
        )

    async def _acquire(self) -> PoolConnectionProxy[Any]:
        return await self._pool.acquire()

    async def _drop(self, conn: PoolConnectionProxy[Any]) -> None:
        """Close a broken connection and give it back to the pool (which replaces it)."""
        _discard(conn)
        with contextlib.suppress(Exception):  # asyncpg may have taken it back already
            await self._pool.release(conn)

    @classmethod
    async def connect(cls, options: Mapping[str, Any]) -> AsyncpgDriver:
        """Open a pool; map failures to hotmesh errors naming the target."""
        options = dict(options)
        pool_args = {k: options.pop(k) for k in list(options) if k in _POOL_KEYS}
        pool_args.setdefault("min_size", 1)
        pool_args.setdefault("max_size", 10)
        # asyncpg resets every connection on release (UNLISTEN, RESET ALL...): one more
        # round trip and transaction per statement. Our pooled connections keep no session
        # state (advisory locks are transaction-scoped; LISTEN has its own connection).
        pool_args.setdefault("reset", _keep_session)
        target = describe_target(options)
        try:
            pool = await asyncpg.create_pool(**options, **pool_args)
        except BaseException as err:
            raise _connect_error(err, target, options) from err
        return cls(pool, options, target)

    async def _run(self, fn: Callable[[Conn], Awaitable[T]], sql: str, replay: bool | None) -> T:
        async def attempt() -> T:
            lane = self._lanes.free()
            if lane is not None:
                return await lane.run(fn)
            async with self._pool.acquire() as conn:
                try:
                    return await fn(conn)
                except Exception as err:
                    if classify(err) in ("unsent", "maybe"):
                        _discard(conn)
                    raise

        return await self._replayer.run(attempt, sql, replay)

    async def _reconnect(self) -> None:
        # A restart or pg_terminate_backend kills every connection; idle ones may not have
        # noticed yet. Replace them all.
        log.warning("database connection lost; reconnecting", extra={"target": self.target})
        await self._pool.expire_connections()

    async def execute(self, sql: str, *args: Any, replay: bool | None = None) -> int:
        return _rowcount(await self._run(lambda c: c.execute(sql, *args), sql, replay))

    async def fetch(self, sql: str, *args: Any, replay: bool | None = None) -> list[Row]:
        return list(await self._run(lambda c: c.fetch(sql, *args), sql, replay))

    async def fetchrow(self, sql: str, *args: Any, replay: bool | None = None) -> Row | None:
        return await self._run(lambda c: c.fetchrow(sql, *args), sql, replay)

    async def fetchval(self, sql: str, *args: Any, replay: bool | None = None) -> Any:
        return await self._run(lambda c: c.fetchval(sql, *args), sql, replay)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        """A transaction; it is never re-run (a lost connection is ``DatabaseUnavailable``)."""
        async with (
            self._replayer.transaction(),
            self._pool.acquire() as conn,
        ):
            try:
                async with conn.transaction():
                    yield _Tx(conn)
            except Exception as err:
                if classify(err) in ("unsent", "maybe"):
                    _discard(conn)
                raise

    async def open_listener(
        self, on_notify: Callable[[str, str], None], on_lost: Callable[[], None]
    ) -> _Listener:
        try:
            conn = await asyncpg.connect(**self._connect_args)
        except BaseException as err:
            raise _connect_error(err, self.target, self._connect_args) from err
        return _Listener(conn, on_notify, on_lost)

    async def close(self) -> None:
        await self._lanes.close()
        with contextlib.suppress(Exception):
            await self._pool.close()


def _connect_error(err: BaseException, target: str, options: Mapping[str, Any]) -> BaseException:
    if isinstance(
        err, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        user = options.get("user") or "(from dsn)"
        return AuthenticationFailed(f"{target} refused the credentials: {err}", value=user)
    if isinstance(err, asyncpg.InvalidCatalogNameError):
        return ConfigError(f"{target}: {err}", value=target)
    if isinstance(err, asyncpg.ClientConfigurationError | ValueError | TypeError):
        return ConfigError(f"bad connection options for asyncpg: {err}", value=target)
    if isinstance(err, OSError | TimeoutError | asyncpg.CannotConnectNowError):
        return DatabaseUnavailable(f"cannot reach Postgres at {target}: {err}", value=target)
    if isinstance(err, asyncpg.PostgresError):
        return ProviderError(f"{target}: {err}", value=target)
    return err


class AsyncpgProvider(PostgresProvider):
    """The asyncpg provider (entry point ``asyncpg`` in ``hotmesh.providers``)."""

    name: ClassVar[str] = "asyncpg"
    driver_names: ClassVar[frozenset[str]] = frozenset({"asyncpg", "hotmesh_asyncpg"})

    @classmethod
    async def open_driver(cls, options: Mapping[str, Any]) -> AsyncpgDriver:
        return await AsyncpgDriver.connect(options)
