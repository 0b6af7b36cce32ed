"""One LISTEN connection per backend, shared by stream wake-ups and pub/sub.

The listener reconnects by itself after a lost connection (with backoff), LISTENs again on
every channel, and then calls each ``on_reconnect`` callback so consumers rescan: a
notification lost while disconnected never loses a message, because streams are always
claimed from the table and a wake-up only shortens the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable

from hotmesh_postgres.driver import Driver, ListenConnection

__all__ = ["Notifier"]

log = logging.getLogger(__name__)

Handler = Callable[[str], Awaitable[None] | None]
_LOST = ("", None)


def _put(queue: asyncio.Queue[tuple[str, str | None]], channel: str, payload: str) -> None:
    queue.put_nowait((channel, payload))


class Notifier:
    """Routes notifications of a few channels to handlers; survives lost connections."""

    def __init__(self, driver: Driver, *, ping_interval: float = 5.0) -> None:
        self._driver = driver
        self._handlers: dict[str, Handler] = {}
        self._on_reconnect: list[Callable[[], None]] = []
        self._conn: ListenConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._closed = False
        self._ping_interval = ping_interval
        self._heard = False
        self.reconnects = 0

    async def start(self) -> None:
        """Connect and begin listening; returns once the first connection is up."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="hotmesh-notifier")
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            self._task.result()  # re-raises the connection error

    async def add_channel(self, channel: str, handler: Handler) -> None:
        """Receive ``channel``'s payloads in ``handler``."""
        self._handlers[channel] = handler
        if self._conn is not None:
            await self._conn.listen(channel)

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after each reconnection (not after the first connection)."""
        self._on_reconnect.append(callback)

    async def close(self) -> None:
        """Stop listening and close the connection (idempotent)."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = 0.05
        first = True
        while not self._closed:
            queue: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()
            try:
                conn = await self._driver.open_listener(
                    functools.partial(_put, queue), functools.partial(queue.put_nowait, _LOST)
                )
            except Exception:
                if first:
                    raise
                log.warning("listener reconnect failed; retrying in %.2fs", delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            self._conn = conn
            try:
                for channel in list(self._handlers):
                    await conn.listen(channel)
                delay = 0.05
                if first:
                    first = False
                    self._ready.set()
                else:
                    self.reconnects += 1
                    log.info("listener reconnected", extra={"target": self._driver.target})
                    for callback in list(self._on_reconnect):
                        callback()
                await self._pump(conn, queue)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("listener connection lost", exc_info=True)
            finally:
                self._conn = None
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _pump(
        self, conn: ListenConnection, queue: asyncio.Queue[tuple[str, str | None]]
    ) -> None:
        """Deliver notifications until the connection dies; a side task pings it when idle.

        (No timeout per notification: under load that was a timer armed and cancelled for
        every wake-up.)
        """
        pinger = asyncio.create_task(self._keep_alive(conn, queue), name="hotmesh-notifier-ping")
        try:
            while not self._closed:
                channel, payload = await queue.get()
                self._heard = True
                if payload is None:
                    return
                handler = self._handlers.get(channel)
                if handler is None:
                    continue
                try:
                    result = handler(payload)
                    if result is not None:
                        await result
                except Exception:
                    log.exception("notification handler failed", extra={"channel": channel})
        finally:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger

    async def _keep_alive(
        self, conn: ListenConnection, queue: asyncio.Queue[tuple[str, str | None]]
    ) -> None:
        """Ping ``conn`` after each ``ping_interval`` without a notification; a failed or
        slow ping ends the pump (which reconnects)."""
        while True:
            self._heard = False
            await asyncio.sleep(self._ping_interval)
            if self._heard:
                continue
            try:
                async with asyncio.timeout(self._ping_interval):
                    await conn.ping()
            except Exception:
                log.warning("listener connection lost", exc_info=True)
                queue.put_nowait(_LOST)
                return
