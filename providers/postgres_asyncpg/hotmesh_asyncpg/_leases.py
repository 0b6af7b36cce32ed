"""Connections kept out of the asyncpg pool between statements, while nobody waits for one.

asyncpg's ``Pool.acquire``/``release`` cost a queue get, a shielded release task and
several futures per statement (a visible share of a seed job's Python time). The driver
runs one short statement per acquire, so :class:`Leases` keeps each connection it got
back in a local stack and hands it out again directly. A connection goes back to the
pool when a statement failed on it (the pool decides whether it is still good), when
another task is waiting on the pool (so nothing can starve), and on ``expire_connections``
and ``close``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

__all__ = ["Leases"]


class Leases:
    """A stack of idle connections in front of an asyncpg pool (same ``acquire`` shape)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self._idle: list[Any] = []
        self._waiting = 0

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        """A connection for one statement or transaction."""
        conn = None
        while self._idle:
            conn = self._idle.pop()
            if _open(conn):
                break
            # Ended by the server while kept: the pool replaces it.
            await self._give_back(conn)
            conn = None
        if conn is None:
            self._waiting += 1
            try:
                conn = await self.pool.acquire()
            finally:
                self._waiting -= 1
        try:
            yield conn
        except BaseException:
            await self._give_back(conn)
            raise
        if self._waiting or not _open(conn):
            await self._give_back(conn)
        else:
            self._idle.append(conn)

    async def _give_back(self, conn: Any) -> None:
        # asyncpg itself releases a connection that the server closed: nothing to give.
        with contextlib.suppress(asyncpg.InterfaceError):
            await self.pool.release(conn)

    async def _release_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await self._give_back(conn)

    async def expire_connections(self) -> None:
        """Give every idle connection back, then have the pool replace them all."""
        await self._release_idle()
        await self.pool.expire_connections()

    async def close(self) -> None:
        """Give every idle connection back and close the pool."""
        await self._release_idle()
        await self.pool.close()


def _open(conn: Any) -> bool:
    """Whether a kept connection can run a statement (not closed, not released by asyncpg)."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:  # asyncpg released it when the server closed it
        return False
