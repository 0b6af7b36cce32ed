"""The small async driver protocol the shared Postgres logic is written against.

Each Postgres provider (asyncpg, psycopg) adapts its driver to these few calls; everything
else (schema, SQL, streams, pub/sub, store) is written once, in this package.

SQL uses PostgreSQL's native ``$1, $2, ...`` placeholders; drivers pass them through.
Rows come back as sequences indexed by column position. JSON travels as text (queries
cast with ``::jsonb`` and select ``::text``), so no driver-specific JSON codec is needed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, Literal, Protocol, TypeVar

from hotmesh.errors import DatabaseUnavailable, PayloadError

__all__ = [
    "LANE_MIN_POOL",
    "REPLAY_MARK",
    "Driver",
    "Executor",
    "Lane",
    "Lanes",
    "ListenConnection",
    "Loss",
    "Replayer",
    "Row",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
C = TypeVar("C")
Row = Sequence[Any]
#: The smallest pool (``max_size``) that keeps one of its connections in a :class:`Lane`.
LANE_MIN_POOL = 4
#: The most lanes a driver keeps (each pool size past LANE_MIN_POOL adds one up to this).
MAX_LANES = 3

#: A line in a named query (queries.sql) saying it may run again after a lost connection:
#: running it twice has the effect of running it once (a read, a fenced step, a claim, an
#: upsert...). Statements without it are never re-run once they may have reached the server.
REPLAY_MARK = "-- replay: safe"

#: How a driver error relates to the statement:
#: ``unsent``: the statement took no effect: the connection was unusable before it left, or
#: the server answered it with an error (an error response means the statement's implicit
#: transaction rolled back — also for "terminating connection due to administrator
#: command"); safe to run again elsewhere;
#: ``maybe``: the connection died without an answer (it may have committed);
#: ``input``: the database refused a value (bad input, never an outage);
#: ``None``: any other error, raised unchanged.
Loss = Literal["unsent", "maybe", "input"] | None


class Executor(Protocol):
    """Runs statements on a pooled connection or inside a transaction."""

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; return the number of rows it affected."""
        ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Run a query; return every row."""
        ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """Run a query; return its first row or None."""
        ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """Run a query; return the first column of its first row (None without rows)."""
        ...


class ListenConnection(Protocol):
    """A dedicated connection that receives notifications."""

    async def listen(self, channel: str) -> None:
        """Start receiving ``channel`` (a name, quoted by the driver adapter)."""
        ...

    async def unlisten(self, channel: str) -> None:
        """Stop receiving ``channel``."""
        ...

    async def ping(self) -> None:
        """Round-trip to the server; raises when the connection is dead."""
        ...

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        ...


class Driver(Executor, Protocol):
    """A connection pool plus the means to open a listener.

    After a lost connection a statement runs again (once, on a fresh connection) only when
    it never reached the server, or when it is safe to repeat: its SQL carries
    :data:`REPLAY_MARK`, or the caller says so with ``replay=True`` (a publish whose
    messages all carry the key their consumer deduplicates on). Otherwise the caller gets
    :class:`~hotmesh.errors.DatabaseUnavailable` saying the statement may have been applied.
    """

    #: Where the driver connects, for error messages (host:port or socket path).
    target: str

    async def execute(self, sql: str, *args: Any, replay: bool | None = None) -> int:
        """Run a statement; return the number of rows it affected."""
        ...

    async def fetch(self, sql: str, *args: Any, replay: bool | None = None) -> list[Row]:
        """Run a query; return every row."""
        ...

    async def fetchrow(self, sql: str, *args: Any, replay: bool | None = None) -> Row | None:
        """Run a query; return its first row or None."""
        ...

    async def fetchval(self, sql: str, *args: Any, replay: bool | None = None) -> Any:
        """Run a query; return the first column of its first row (None without rows)."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """A connection inside BEGIN … COMMIT (ROLLBACK on exception)."""
        ...

    async def open_listener(
        self, on_notify: Callable[[str, str], None], on_lost: Callable[[], None]
    ) -> ListenConnection:
        """Open a dedicated connection for LISTEN.

        ``on_notify(channel, payload)`` is called (on the event loop) for each notification;
        ``on_lost()`` once, when the connection dies.
        """
        ...

    async def close(self) -> None:
        """Close the pool (idempotent)."""
        ...


class Replayer:
    """The lost-connection policy of one driver (see :class:`Driver`).

    ``classify`` sorts the driver's errors (:data:`Loss`); ``reconnect`` drops the pool's
    broken connections; ``target`` is named in :class:`DatabaseUnavailable`.
    """

    def __init__(
        self,
        classify: Callable[[BaseException], Loss],
        reconnect: Callable[[], Awaitable[None]],
        target: str,
    ) -> None:
        self._classify = classify
        self._reconnect = reconnect
        self._target = target

    async def run(self, attempt: Callable[[], Awaitable[T]], sql: str, replay: bool | None) -> T:
        """Run ``attempt``; after a lost connection run it once more only when that is safe.

        Safe: the statement never left, or ``replay`` is true, or (``replay`` None) ``sql``
        carries :data:`REPLAY_MARK`. Refused input becomes :class:`PayloadError`.
        """
        try:
            return await attempt()
        except Exception as err:
            kind = await self._settle(err)
            if kind == "maybe" and not (REPLAY_MARK in sql if replay is None else replay):
                raise DatabaseUnavailable(
                    f"lost the connection to {self._target} while a statement that is not "
                    f"safe to repeat was running; it may or may not have been applied: {err}",
                    value=self._target,
                ) from err
            log.warning("database connection lost; running the statement again on a new one",
                        extra={"target": self._target, "loss": kind})  # fmt: skip
        try:
            return await attempt()
        except Exception as err:
            await self._settle(err)
            raise self._unavailable(err) from err

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Around a transaction (never re-run): the same mapping of errors."""
        try:
            yield
        except Exception as err:
            await self._settle(err)
            raise self._unavailable(err, " during a transaction") from err

    async def _settle(self, err: Exception) -> Loss:
        """Raise what is not a lost connection; else reconnect and say how it was lost."""
        kind = self._classify(err)
        if kind is None:
            raise err
        if kind == "input":
            raise _refused(err) from err
        await self._reconnect()
        return kind

    def _unavailable(self, err: Exception, during: str = "") -> DatabaseUnavailable:
        return DatabaseUnavailable(
            f"lost the connection to {self._target}{during}: {err}", value=self._target
        )


def _refused(err: BaseException) -> PayloadError:
    return PayloadError(f"the database refused a value: {err}", value=str(err))


class Lane(Generic[C]):
    """One pooled connection kept between statements, for one statement at a time.

    Taking a connection from a pool and giving it back costs more Python than a short
    statement does (asyncpg, for one, shields every release in a task of its own). A
    statement that finds the lane :attr:`free` runs on the lane's connection, which stays
    out of the pool between statements; the others take a pooled one as before. At low
    load every statement takes the lane; under load it is one of the connections in use.
    A connection that failed, or whose statement was cancelled mid-flight, is discarded
    (the next statement takes another); one that is no longer ``usable`` (the server
    ended it while it sat idle) is replaced before use.

    The driver gives: ``acquire()`` a pooled connection, ``release(conn)`` it back,
    ``usable(conn)`` and ``discard(conn)`` (close one whose protocol may be broken), and
    ``classify`` (which errors mean a broken connection: ``unsent`` or ``maybe``). How many
    lanes a pool keeps is :class:`Lanes`' decision.
    """

    def __init__(
        self,
        *,
        acquire: Callable[[], Awaitable[C]],
        release: Callable[[C], Awaitable[None]],
        usable: Callable[[C], bool],
        discard: Callable[[C], Awaitable[None]],
        classify: Callable[[BaseException], Loss],
    ) -> None:
        self._acquire, self._release = acquire, release
        self._usable, self._discard, self._classify = usable, discard, classify
        self._conn: C | None = None
        self._closed = False
        #: True when a statement may take the lane now.
        self.free = True

    async def run(self, fn: Callable[[C], Awaitable[T]]) -> T:
        """Run ``fn`` on the lane's connection (only when :attr:`free`)."""
        self.free = False
        try:
            conn = self._conn
            if conn is not None and not self._usable(conn):
                self._conn = None
                await self._discard(conn)
                conn = None
            if conn is None:
                conn = self._conn = await self._acquire()
            try:
                return await fn(conn)
            except BaseException as err:  # a cancelled statement leaves it mid-protocol
                if not isinstance(err, Exception) or self._classify(err) in ("unsent", "maybe"):
                    self._conn = None
                    await self._discard(conn)
                raise
        finally:
            self.free = not self._closed

    async def close(self) -> None:
        """Give the connection back to the pool (before the pool closes); the lane is no
        longer free."""
        self._closed, self.free = True, False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await self._release(conn)


class Lanes(Generic[C]):
    """A driver's lanes: ``1 + max_size - LANE_MIN_POOL`` of them, at most
    :data:`MAX_LANES` (none below :data:`LANE_MIN_POOL`); at least three connections stay
    in the pool.

    A busy member runs a few statements at once (a claim, a batch of steps, a batch of new
    jobs...): with one lane each of the others took a pooled connection and gave it back
    (asyncpg shields every release in a task of its own). A statement takes the first free
    lane, so sequential statements keep using the first one.

    Example:
        >>> lanes = Lanes(10, acquire=pool.acquire, release=pool.release, usable=alive,
        ...               discard=drop, classify=classify)  # doctest: +SKIP
        >>> lane = lanes.free()  # None when every lane is running a statement
    """

    def __init__(
        self,
        max_size: int,
        *,
        acquire: Callable[[], Awaitable[C]],
        release: Callable[[C], Awaitable[None]],
        usable: Callable[[C], bool],
        discard: Callable[[C], Awaitable[None]],
        classify: Callable[[BaseException], Loss],
    ) -> None:
        count = 0 if max_size < LANE_MIN_POOL else min(MAX_LANES, 1 + max_size - LANE_MIN_POOL)
        self._lanes = [
            Lane(
                acquire=acquire, release=release, usable=usable, discard=discard, classify=classify
            )
            for _ in range(count)
        ]

    def free(self) -> Lane[C] | None:
        """The first lane no statement is running on, if any."""
        for lane in self._lanes:
            if lane.free:
                return lane
        return None

    async def close(self) -> None:
        """Give every lane's connection back to the pool (before the pool closes)."""
        for lane in self._lanes:
            await lane.close()
