"""Stream consumption: claim in batches, run callbacks, renew leases, ack or retry.

A :class:`Router` consumes one stream with a callback. It claims as many messages as it
has free slots (up to ``batch``), runs each callback as a task, renews the leases of
everything in flight in one statement every third of the lease, acks successes in
batches, and hands failures to the stream's retry policy. When idle it waits for a
wake-up (LISTEN/NOTIFY) or ``poll_interval`` seconds, whichever comes first.

A router can be throttled (a delay between messages, or paused), held (paused by the
mesh while a version switch is under way, independently of the throttle), and can apply
backpressure: with ``backpressure=(stream, depth)`` it stops claiming while ``stream``
holds more than ``depth`` ready messages (a worker does this for the engine stream, so
workers do not flood an engine that is behind).

Example:
    >>> async def handle(message: StreamMessage) -> None:
    ...     print(message.payload)
    >>> async def run(stream: Stream) -> None:  # doctest: +SKIP
    ...     async with Router(stream, "orders", handle, concurrency=4):
    ...         await asyncio.sleep(10)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from hotmesh.errors import ConfigError
from hotmesh.loopref import LoopRef
from hotmesh.spi import Stream, StreamMessage

__all__ = ["DeadLetterCallback", "Router", "RouterCallback"]

log = logging.getLogger(__name__)

RouterCallback = Callable[[StreamMessage], Awaitable[Any]]
"""Handles one message. Returning acks it (unless ``ack=False``); raising retries it.
Returning ``False`` says the callback dealt with a failure itself (counted as failed)."""
DeadLetterCallback = Callable[[StreamMessage, str], Awaitable[Any]]
"""Told of a message dead-lettered after its callback failed on every attempt."""


class _Slots:
    """Free callback slots, taken several at a time (a semaphore hands them out one by one:
    an await, and under load a future, per slot)."""

    def __init__(self, total: int) -> None:
        self.free = total
        self._freed = asyncio.Event()

    async def take(self, most: int) -> int:
        """Wait for at least one free slot; take up to ``most``; return how many."""
        while self.free <= 0:
            self._freed.clear()
            await self._freed.wait()
        taken = min(self.free, most)
        self.free -= taken
        return taken

    def give(self, count: int = 1) -> None:
        """Return ``count`` slots."""
        self.free += count
        self._freed.set()


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
        backpressure: ``(stream, depth)``: claim nothing while ``stream`` holds more
            than ``depth`` ready messages (checked at most every ``poll_interval``).
        on_dead_letter: awaited with the message and the error once a failing message
            has used up its attempts and was dead-lettered (the engine fails its job),
            and for each message a claim dead-lettered because every lease lapsed.
        handoff: take messages handed off by publishers of this process
            (:mod:`hotmesh.engine.handoff`); they arrive without ``job`` even when
            ``with_job`` is set, so the callback must read it when it is missing.
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
        backpressure: tuple[str, int] | None = None,
        on_dead_letter: DeadLetterCallback | None = None,
        handoff: bool = False,
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
        self.backpressure = backpressure
        self.on_dead_letter = on_dead_letter
        self.handoff = handoff
        #: Messages handed off to this router (run without a claim), cumulative.
        self.handed = 0
        self._reserved = 0
        self.processed = 0
        self.failed = 0
        #: Claim or loop failures (database errors), cumulative.
        self.errors = 0
        #: True while backpressure keeps this router from claiming.
        self.pressured = False
        self._inflight: dict[int, StreamMessage] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Direct runs (run_direct) execute in their callers' tasks: counted, and stop()
        # waits for them through this future (made only while it waits).
        self._direct = 0
        self._direct_drained: asyncio.Future[None] | None = None
        self._slots = _Slots(concurrency)
        self._stopping = asyncio.Event()
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._delay = 0.0
        self._holds: set[str] = set()
        self._throttled = asyncio.Event()  # set when the throttle changes (ends a delay)
        self._claiming = False
        self._quiet = asyncio.Event()  # set while nothing is claimed or in flight
        self._quiet.set()
        self._pressure_checked = -1e9
        self._loops: list[asyncio.Task[None]] = []
        # Asked instead of asyncio.get_running_loop(): a getpid() system call on 3.11.
        self._running = LoopRef()
        self._to_ack: list[StreamMessage] = []
        self._acks_closing = False
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
        their leases lapse and another consumer takes them. Messages run directly
        (:meth:`run_direct`, in their callers' tasks) are waited for within the same
        ``timeout``, never cancelled.
        """
        self._stopping.set()
        self._resumed.set()
        self._throttled.set()
        deadline = time.monotonic() + timeout
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._direct:
            # Answers run directly by another instance's worker are that worker's tasks,
            # not ours to cancel; wait for them (within the same timeout) so the engine's
            # connections outlive the steps they are applying.
            drained = self._direct_drained = self._running.get().create_future()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(drained, max(deadline - time.monotonic(), 0.0))
        # The acker is not cancelled: it may be half-way through acking a batch it has
        # already taken off the queue, and those acks would be lost. It is told to finish
        # and awaited; the other loops are cancelled.
        others = self._loops[:-1]  # start() puts the acker last
        for loop in others:
            loop.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        self._acks_closing = True
        self._ack_wakeup.set()
        await asyncio.gather(*self._loops[-1:], return_exceptions=True)
        self._loops = []
        # (tasks cancelled before they ever ran never left the set themselves)
        self._tasks = {task for task in self._tasks if not task.done()}
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
        """Wait ``delay`` seconds between messages; 0 is full speed, -1 pauses.

        Takes effect at once: a delay being waited out ends early when the new one is
        shorter, and a paused router resumes. Works before ``start`` (a router may start
        paused).

        Example:
            >>> router.throttle(-1)  # doctest: +SKIP
            >>> router.throttle(0.5)  # one message every half second  # doctest: +SKIP
        """
        if delay < 0 and delay != -1:
            raise ConfigError("throttle delay must be >= 0, or -1 to pause", value=delay)
        self._delay = float(delay)
        self._throttled.set()
        self._update_gate()

    @property
    def delay(self) -> float:
        """The current throttle: seconds between messages, 0 full speed, -1 paused."""
        return self._delay

    def hold(self, key: str) -> None:
        """Stop claiming until ``release(key)`` (holds nest by key; the throttle is kept).

        Example:
            >>> router.hold("activate")  # doctest: +SKIP
            >>> await router.quiesce(5.0)  # doctest: +SKIP
            >>> router.release("activate")  # doctest: +SKIP
        """
        self._holds.add(key)
        self._update_gate()

    def release(self, key: str) -> None:
        """End the hold ``key`` (idempotent)."""
        self._holds.discard(key)
        self._update_gate()

    @property
    def held(self) -> bool:
        """True while some hold keeps the router from claiming."""
        return bool(self._holds)

    async def quiesce(self, timeout: float) -> bool:
        """Wait until no claim is running and no callback is in flight; False on timeout.

        Meant after ``hold`` or a pause: nothing new is claimed, so this drains.
        """
        try:
            await asyncio.wait_for(self._quiet.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _update_gate(self) -> None:
        if self._stopping.is_set() or (self._delay != -1 and not self._holds):
            self._resumed.set()
        else:
            self._resumed.clear()

    def _update_quiet(self) -> None:
        if self._claiming or self._inflight or self._reserved:
            self._quiet.clear()
        else:
            self._quiet.set()

    # -- hand-offs (hotmesh.engine.handoff.LocalConsumer) -----------------------------------

    def reserve(self) -> bool:
        """Take a slot for a handed-off message, if this router would claim now."""
        if (
            not self.handoff
            or not self._loops
            or self._loops[0].done()
            or self._loops[0].get_loop() is not self._running.get()
            or self._stopping.is_set()
            or not self._resumed.is_set()
            or self._delay != 0
            or self.pressured
            or self._slots.free <= 0
        ):
            return False
        self._slots.free -= 1
        self._reserved += 1
        self._quiet.clear()
        return True

    def unreserve(self) -> None:
        """Give back a slot reserved for a message that was not handed off."""
        self._reserved -= 1
        self._slots.give()
        self._update_quiet()

    def deliver(self, message: StreamMessage) -> None:
        """Run a handed-off message (leased to this router already) in its reserved slot.

        A router stopping meanwhile does not run it: its lease lapses and another
        delivery runs it.
        """
        if self._stopping.is_set():
            self.unreserve()
            return
        self._reserved -= 1
        self.handed += 1
        self._inflight[message.id] = message
        self._tasks.add(self._running.get().create_task(self._run(message)))

    async def run_direct(self, message: StreamMessage) -> None:
        """Run a message no one stored (a worker's answer to this engine) in the caller's
        task, in its reserved slot: in flight like a claimed one; errors propagate."""
        self._reserved -= 1
        self.handed += 1
        self._inflight[message.id] = message
        self._direct += 1
        try:
            await self.callback(message)
            self.processed += 1
        finally:
            self._ended(message)
            self._direct -= 1
            drained = self._direct_drained
            if not self._direct and drained is not None and not drained.done():
                drained.set_result(None)

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
                if await self._pressured():
                    continue
                # A throttled router takes one message at a time, so nothing waits out a
                # delay unleased.
                free = await self._slots.take(1 if self._delay > 0 else self.batch)
                if not self._resumed.is_set() or self._stopping.is_set():
                    # Paused or held while waiting for a slot: claim nothing.
                    self._slots.give(free)
                    continue
                self._claiming = True
                self._quiet.clear()
                try:
                    messages = await self.stream.claim(
                        self.name,
                        limit=free,
                        lease=self.lease,
                        consumer=self.consumer,
                        with_job=self.with_job,
                        on_dead_letter=self.on_dead_letter,
                    )
                except Exception:
                    self.errors += 1
                    log.exception("claim failed", extra={"stream": self.name})
                    messages = []
                    await asyncio.sleep(min(self.poll_interval, 1.0))
                finally:
                    self._claiming = False
                if len(messages) < free:
                    self._slots.give(free - len(messages))
                for message in messages:
                    self._inflight[message.id] = message
                    self._tasks.add(self._running.get().create_task(self._run(message)))
                self._update_quiet()
                if messages and self._delay > 0:
                    await self._sleep_throttled()
                if len(messages) < free:
                    # The stream had no more for us: claim again once woken (a wake-up that
                    # came meanwhile returns at once) or after the poll interval. Only a full
                    # batch suggests more is waiting right now.
                    await self.stream.wait(self.name, self.poll_interval, consumer=self.consumer)
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the loop die
                self.errors += 1
                log.exception("router loop error", extra={"stream": self.name})
                await asyncio.sleep(0.1)

    async def _sleep_throttled(self) -> None:
        """Wait out the throttle delay; a throttle change ends the wait early."""
        started = time.monotonic()
        while not self._stopping.is_set():
            remaining = self._delay - (time.monotonic() - started)
            if self._delay <= 0 or remaining <= 0:
                return
            self._throttled.clear()
            try:
                await asyncio.wait_for(self._throttled.wait(), remaining)
            except TimeoutError:
                return

    async def _pressured(self) -> bool:
        """True (after waiting a little) while the backpressure stream is too deep."""
        if self.backpressure is None:
            return False
        stream, limit = self.backpressure
        now = time.monotonic()
        if now < self._pressure_checked + self.poll_interval and not self.pressured:
            return False
        self._pressure_checked = now
        try:
            depth = (await self.stream.depth([stream]))[stream].ready
        except Exception:
            log.warning("could not read the depth of %s", stream, exc_info=True)
            return False
        was, self.pressured = self.pressured, depth > limit
        if self.pressured != was:
            log.info(
                "backpressure %s", "on" if self.pressured else "off",
                extra={"stream": self.name, "behind": stream, "depth": depth},
            )  # fmt: skip
        if self.pressured:
            # Look again after the poll interval (a throttle change or stop ends the wait).
            self._throttled.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._throttled.wait(), self.poll_interval)
        return self.pressured

    async def _run(self, message: StreamMessage) -> None:
        try:
            outcome = await self.callback(message)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self.failed += 1
            detail = "".join(traceback.format_exception_only(err)).strip()
            log.warning(
                "callback failed (job %s, stream %s, attempt %d)",
                message.job_id, self.name, message.attempt,
                extra={"stream": self.name, "id": message.id, "attempt": message.attempt,
                       "jid": message.job_id},
                exc_info=True,
            )  # fmt: skip
            try:
                delay = await self.stream.retry(message, detail)
                if delay is None and self.on_dead_letter is not None:
                    await self.on_dead_letter(message, detail)
            except Exception:
                log.exception("could not schedule retry", extra={"id": message.id})
        else:
            if outcome is False:
                self.failed += 1
                return
            self.processed += 1
            if self.auto_ack:
                self._to_ack.append(message)
                self._ack_wakeup.set()
        finally:
            self._ended(message)
            # The task leaves the set itself (a done callback would cost a loop iteration
            # per message); one cancelled before it ever ran stays until stop() sees it.
            self._tasks.discard(asyncio.current_task(self._running.get()))

    def _ended(self, message: StreamMessage) -> None:
        """A message's callback ended: out of flight, its slot free again."""
        self._inflight.pop(message.id, None)
        self._slots.give()
        self._update_quiet()

    async def _acker(self) -> None:
        """Acks successes in batches: one statement for whatever finished meanwhile."""
        while not self._acks_closing:
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
