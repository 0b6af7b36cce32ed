"""Wake-ups of one backend's consumers: the in-memory stand-in for LISTEN/NOTIFY.

Each backend owns one hub. A consumer is known once it has claimed or waited on a stream;
from then on every message that becomes claimable on that stream (published now, published
with a delay, retried after a backoff, or whose lease runs out) sets its flag, so its next
``wait`` returns at once. Flags are per consumer, as the ``Stream`` contract asks.
"""

from __future__ import annotations

import asyncio
import contextlib

from hotmesh_memory.space import now

__all__ = ["Wakeups"]


class Wakeups:
    """Per-stream, per-consumer wake flags, and the timers of future visibility."""

    def __init__(self) -> None:
        self._flags: dict[str, dict[str, asyncio.Event]] = {}
        self._timers: dict[tuple[str, int], asyncio.TimerHandle] = {}
        self._closed = False

    def flag(self, stream: str, consumer: str) -> asyncio.Event:
        """The consumer's flag for ``stream`` (registering the consumer)."""
        by_consumer = self._flags.setdefault(stream, {})
        if consumer not in by_consumer:
            by_consumer[consumer] = asyncio.Event()
        return by_consumer[consumer]

    def wake_at(self, stream: str, moment: float) -> None:
        """Wake ``stream``'s consumers at ``moment`` (the database clock), or now if past."""
        if self._closed or stream not in self._flags:
            return
        delay = moment - now()
        if delay <= 0:
            self._wake(stream)
            return
        slot = (stream, int(moment * 100))  # 10 ms slots keep the timer count bounded
        if slot in self._timers:
            return
        with contextlib.suppress(RuntimeError):  # no running loop: the poll timeout covers it
            loop = asyncio.get_running_loop()
            self._timers[slot] = loop.call_later(delay + 0.002, self._fire, slot)

    def _fire(self, slot: tuple[str, int]) -> None:
        self._timers.pop(slot, None)
        self._wake(slot[0])

    def _wake(self, stream: str) -> None:
        for flag in self._flags.get(stream, {}).values():
            flag.set()

    def close(self) -> None:
        """Cancel the timers and release every waiter."""
        self._closed = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for by_consumer in self._flags.values():
            for flag in by_consumer.values():
                flag.set()
