"""Live updates: one watcher per app turns stream notifications into SSE ``change`` events.

The watcher waits on the app backend's own LISTEN connection (through
:meth:`hotmesh.spi.Inspector.watch`), so however many browsers are open, the dashboard
process adds no listener of its own. A notification means "a step was queued": the
watcher bumps a counter at most every ``COALESCE`` seconds, bumps it once more
``ECHO`` seconds later (a job's closing step queues nothing), and once every
``IDLE`` seconds regardless: interrupts and pending jobs queue nothing, and work a process
hands to its own consumers (:mod:`hotmesh.engine.handoff`) wakes no listener, so on a busy
mesh most steps are seen by this tick. Browsers re-fetch the parts of the page marked
``data-live`` on each event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

__all__ = ["Hub", "sse_stream"]

log = logging.getLogger(__name__)

COALESCE = 0.25
ECHO = 1.0
IDLE = 1.0
KEEPALIVE = 15.0


class Hub:
    """The change counter of one app, fed by one watcher task."""

    def __init__(
        self,
        watch: Callable[[Sequence[str], float], Awaitable[None]],
        streams: Callable[[], Awaitable[Sequence[str]]],
    ) -> None:
        self._watch = watch
        self._streams = streams
        self.version = 0
        #: Set when the server stops: event streams end instead of waiting.
        self.ending = False
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._echo: asyncio.TimerHandle | None = None
        self._bumps: set[asyncio.Future[None]] = set()

    def start(self) -> None:
        """Start the watcher (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        """Stop the watcher."""
        if self._echo is not None:
            self._echo.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def bump(self) -> None:
        """Tell every browser something changed."""
        async with self._changed:
            self.version += 1
            self._changed.notify_all()

    async def end_streams(self) -> None:
        """End every open event stream (the server is stopping; browsers reconnect)."""
        self.ending = True
        await self.bump()

    def _bump_later(self) -> None:
        self._echo = None
        bump = asyncio.ensure_future(self.bump())
        self._bumps.add(bump)
        bump.add_done_callback(self._bumps.discard)

    async def _run(self) -> None:
        streams: Sequence[str] = ()
        while True:
            try:
                streams = await self._streams()
                started = time.monotonic()
                await self._watch(streams, IDLE)
                if time.monotonic() - started >= IDLE * 0.95:
                    await self.bump()  # the idle tick: no notification came
                    continue
                await asyncio.sleep(COALESCE)
                await self.bump()
                if self._echo is not None:
                    self._echo.cancel()
                self._echo = asyncio.get_running_loop().call_later(ECHO, self._bump_later)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away: try again shortly
                log.warning("dashboard watcher failed; retrying", exc_info=True)
                await asyncio.sleep(IDLE)

    async def wait(self, seen: int, timeout: float) -> int:
        """The counter once it passes ``seen`` (or as it is after ``timeout`` seconds)."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: self.version > seen), timeout)
            return self.version


async def sse_stream(
    hub: Hub, disconnected: Callable[[], Awaitable[bool]], *, limit: int | None = None
) -> AsyncIterator[str]:
    """Server-Sent Events: a ``change`` event per counter bump, comments as keep-alives.

    ``limit`` ends the stream after that many events (tests).
    """
    yield "retry: 3000\n\n"
    seen, sent = hub.version, 0
    while limit is None or sent < limit:
        if await disconnected():
            return
        version = await hub.wait(seen, KEEPALIVE)
        if hub.ending:
            return
        if version == seen:
            yield ": keep-alive\n\n"
            continue
        seen = version
        sent += 1
        yield f"event: change\ndata: {version}\n\n"
