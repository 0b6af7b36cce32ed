"""The small async driver protocol the shared Postgres logic is written against.

Each Postgres provider (asyncpg, psycopg) adapts its driver to these few calls; everything
else (schema, SQL, streams, pub/sub, store) is written once, in this package.

SQL uses PostgreSQL's native ``$1, $2, ...`` placeholders; drivers pass them through.
Rows come back as sequences indexed by column position. JSON travels as text (queries
cast with ``::jsonb`` and select ``::text``), so no driver-specific JSON codec is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

__all__ = ["Driver", "Executor", "ListenConnection", "Row"]

Row = Sequence[Any]


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
    """A connection pool plus the means to open a listener."""

    #: Where the driver connects, for error messages (host:port or socket path).
    target: str

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
