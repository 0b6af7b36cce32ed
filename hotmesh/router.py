"""Stream consumption: claim in batches, run callbacks, renew leases, ack or retry.

A :class:`Router` consumes one stream with a callback. It claims as many messages as it
has free slots (up to ``batch``), runs each callback as a task, renews the leases of
everything in flight in one statement every third of the lease, acks successes in
batches, and hands failures to the stream's retry policy. When idle it waits for a
wake-up (LISTEN/NOTIFY) or ``poll_interval`` seconds, whichever comes first.

Example:
    >>> async def handle(message: StreamMessage) -> None:
    ...     print(message.payload)
    >>> async def run(stream: Stream) -> None:  # doctest: +SKIP
    ...     async with Router(stream, "orders", handle, concurrency=4):
    ...         await asyncio.sleep(10)
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from hotmesh.errors import ConfigError
from hotmesh.spi import Stream, StreamMessage

__all__ = ["Router", "RouterCallback"]

log = logging.getLogger(__name__)

RouterCallback = Callable[[StreamMessage], Awaitable[Any]]
"""Handles one message. Returning acks it (unless ``ack=False``); raising retries it."""


class Router:
    """Consumes one stream with bounded concurrency, lease renewal and retries.

    Args:
        stream: the provider's stream.
        name: the stream (topic) to consume.
        callback: the async handler of one message.
        concurrency: how many callbacks may run at once.
        batch: the most messages claimed in one statement.
        lease: seconds a claim holds a message; renewed while its callback runs.
        poll_interval: the longest idle wait between claims when no wake-up arrives.
        ack: ack after the callback returns; False when the callback acks by itself
            (the engine acks inside its step transaction).
        consumer: a name for the claims (default: a unique one).
        with_job: claim each message with its job's record (the engine's claims).
    """

    def __init__(
        self,
        stream: Stream,
        name: str,
        callback: RouterCallback,
        *,
        concurrency: int = 10,
        batch: int = 10,
        lease: float = 30.0,
        poll_interval: float = 1.0,
        ack: bool = True,
        consumer: str | None = None,
        with_job: bool = False,
    ) -> None:
        if concurrency < 1 or batch < 1:
            raise ConfigError("concurrency and batch must be >= 1", value=(concurrency, batch))
        if lease <= 0 or poll_interval <= 0:
            raise ConfigError("lease and poll_interval must be > 0", value=(lease, poll_interval))
        self.stream = stream
        self.name = name
        self.callback = callback
        self.concurrency = concurrency
        self.batch = batch
        self.lease = lease
        self.poll_interval = poll_interval
        self.auto_ack = ack
        self.with_job = with_job
        self.consumer = consumer or f"{name}:{uuid.uuid4().hex[:10]}"
        self.processed = 0
        self.failed = 0
        self._inflight: dict[int, StreamMessage] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(concurrency)
        self._stopping = asyncio.Event()
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._delay = 0.0
        self._loops: list[asyncio.Task[None]] = []
        self._to_ack: list[StreamMessage] = []
        self._ack_wakeup = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Begin consuming (idempotent)."""
        if self._loops:
            return
        self._loops = [
            asyncio.create_task(self._consume(), name=f"router:{self.name}"),
            asyncio.create_task(self._renew(), name=f"router-renew:{self.name}"),
            asyncio.create_task(self._acker(), name=f"router-ack:{self.name}"),
        ]

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, let in-flight callbacks finish for up to ``timeout`` seconds.

        Callbacks still running then are cancelled; their messages are not acked, so
        their leases lapse and another consumer takes them.
        """
        self._stopping.set()
        self._resumed.set()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        self._ack_wakeup.set()
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        await self._flush_acks()

    async def __aenter__(self) -> Router:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- throttle -------------------------------------------------------------------------

    def throttle(self, delay: float) -> None:
        """Wait ``delay`` seconds between messages; 0 is full speed, -1 pauses."""
        if delay < 0 and delay != -1:
            raise ConfigError("throttle delay must be >= 0, or -1 to pause", value=delay)
        self._delay = delay
        if delay == -1:
            self._resumed.clear()
        else:
            self._resumed.set()

    @property
    def in_flight(self) -> int:
        """Messages whose callbacks are running."""
        return len(self._inflight)

    # -- loops ----------------------------------------------------------------------------

    async def _consume(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._resumed.wait()
                if self._stopping.is_set():
                    return
                await self._slots.acquire()
                free = 1
                while free < self.batch and not self._slots.locked():
                    await self._slots.acquire()
                    free += 1
                try:
                    messages = await self.stream.claim(
                        self.name,
                        limit=free,
                        lease=self.lease,
                        consumer=self.consumer,
                        with_job=self.with_job,
                    )
                except Exception:
                    log.exception("claim failed", extra={"stream": self.name})
                    messages = []
                    await asyncio.sleep(min(self.poll_interval, 1.0))
                for _ in range(free - len(messages)):
                    self._slots.release()
                for message in messages:
                    self._inflight[message.id] = message
                    task = asyncio.create_task(self._run(message))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                    if self._delay > 0:
                        await asyncio.sleep(self._delay)
                if len(messages) < free:
                    # The stream had no more for us: claim again once woken (a wake-up that
                    # came meanwhile returns at once) or after the poll interval. Only a full
                    # batch suggests more is waiting right now.
                    await self.stream.wait(self.name, self.poll_interval, consumer=self.consumer)
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the loop die
                log.exception("router loop error", extra={"stream": self.name})
                await asyncio.sleep(0.1)

    async def _run(self, message: StreamMessage) -> None:
        try:
            await self.callback(message)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self.failed += 1
            detail = "".join(traceback.format_exception_only(err)).strip()
            log.warning(
                "callback failed",
                extra={"stream": self.name, "id": message.id, "attempt": message.attempt},
                exc_info=True,
            )
            try:
                await self.stream.retry(message, detail)
            except Exception:
                log.exception("could not schedule retry", extra={"id": message.id})
        else:
            self.processed += 1
            if self.auto_ack:
                self._to_ack.append(message)
                self._ack_wakeup.set()
        finally:
            self._inflight.pop(message.id, None)
            self._slots.release()

    async def _acker(self) -> None:
        """Acks successes in batches: one statement for whatever finished meanwhile."""
        while True:
            await self._ack_wakeup.wait()
            self._ack_wakeup.clear()
            await self._flush_acks()

    async def _flush_acks(self) -> None:
        if not self._to_ack:
            return
        batch, self._to_ack = self._to_ack, []
        try:
            acked = await self.stream.ack(batch)
        except Exception:
            log.exception("ack failed; leases will lapse and messages be redelivered")
            return
        if len(acked) < len(batch):
            log.warning(
                "some acks were refused (lease lost)",
                extra={"stream": self.name, "lost": [m.id for m in batch if m.id not in acked]},
            )

    async def _renew(self) -> None:
        """Renews every in-flight lease in one statement, three times per lease."""
        interval = self.lease / 3
        while True:
            await asyncio.sleep(interval)
            held = list(self._inflight.values())
            if not held:
                continue
            started = time.monotonic()
            try:
                renewed = await self.stream.extend(held, self.lease)
            except Exception:
                log.exception("lease renewal failed", extra={"stream": self.name})
                continue
            lost = [m.id for m in held if m.id not in renewed and m.id in self._inflight]
            if lost and self.auto_ack:
                # (A callback that acks by itself may already have consumed its message.)
                log.warning("leases lost", extra={"stream": self.name, "ids": lost})
            elapsed_ms = (time.monotonic() - started) * 1e3
            log.debug("renewed %d leases in %.1f ms", len(renewed), elapsed_ms)
