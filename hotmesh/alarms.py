"""Many one-shot deadlines served by one event-loop timer.

The hot path set a loop timer or two per job: a pubsub waiter's re-read of its job, a
worker callback's timeout. Each ``call_later`` costs a handle, pushes and pops on the
loop's heap compared by Python code (``TimerHandle.__lt__``), a cancel, and for
``asyncio.timeout`` a context manager on top: 6–13 µs a job on a 2-core host, most of it
for timers cancelled long before they are due. :class:`Alarms` keeps its deadlines in a
heap of plain lists (compared in C), holds one loop timer for the earliest live one, and
forgets a cancelled deadline lazily (dropped from the heap's head, or in one sweep once
they are half the heap).

Example:
    >>> import asyncio
    >>> async def main() -> list[str]:
    ...     alarms, rung = Alarms(), []
    ...     alarms.later(0.01, rung.append, "late")
    ...     early = alarms.later(0.001, rung.append, "never")
    ...     alarms.cancel(early)
    ...     await asyncio.sleep(0.05)
    ...     return rung
    >>> asyncio.run(main())
    ['late']
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable
from typing import Any

from hotmesh.loopref import LoopRef

__all__ = ["Alarm", "Alarms", "expire_task"]

Alarm = list[Any]
"""A deadline set by :meth:`Alarms.later`: ``[when, seq, callback, arg]`` (compared as a list,
by ``when`` then by ``seq``; ``callback`` is ``None`` once cancelled)."""

_FIRED: Callable[[Any], object] = lambda _: None  # noqa: E731 - the mark of a rung alarm
_SWEEP_AFTER = 256  # cancelled deadlines kept before one sweep may drop them


def expire_task(task: asyncio.Task[Any]) -> None:
    """An alarm's callback that cancels ``task`` (what ``asyncio.timeout`` does when due)."""
    task.cancel()


class Alarms:
    """One-shot deadlines on the running loop's clock (``loop.time()``), one loop timer.

    Bound to the first loop it is used on; used again on another loop (a test's next
    loop), it forgets what the old one held.
    """

    def __init__(self) -> None:
        self._heap: list[Alarm] = []
        self._seq = itertools.count()
        self._running = LoopRef()
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the heap is on
        self._timer: asyncio.TimerHandle | None = None
        self._armed = math.inf  # when the loop timer fires
        self._cancelled = 0  # cancelled deadlines still in the heap

    def __len__(self) -> int:
        """Deadlines set and neither rung nor cancelled."""
        return len(self._heap) - self._cancelled

    def later(self, delay: float, callback: Callable[[Any], object], arg: Any) -> Alarm:
        """Call ``callback(arg)`` once, ``delay`` seconds from now."""
        loop = self._running.get()
        if loop is not self._loop:
            self._rebind(loop)
        when = loop.time() + delay
        alarm: Alarm = [when, next(self._seq), callback, arg]
        heapq.heappush(self._heap, alarm)
        if when < self._armed:
            self._arm(when)
        return alarm

    def cancel(self, alarm: Alarm) -> bool:
        """Stop ``alarm`` from ringing; True when it had rung already (too late)."""
        callback = alarm[2]
        if callback is _FIRED:
            return True
        if callback is not None:
            alarm[2] = alarm[3] = None  # the argument is let go at once
            self._cancelled += 1
            if self._cancelled > _SWEEP_AFTER and 2 * self._cancelled > len(self._heap):
                self._heap = [a for a in self._heap if a[2] is not None]
                heapq.heapify(self._heap)
                self._cancelled = 0
        return False

    def _rebind(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._loop, self._timer, self._armed = loop, None, math.inf
        self._heap, self._cancelled = [], 0

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        assert self._loop is not None
        self._armed = when
        self._timer = self._loop.call_at(when, self._ring)

    def _ring(self) -> None:
        assert self._loop is not None
        # The loop runs a timer a clock tick early: every deadline up to this one is due.
        due = max(self._loop.time(), self._armed)
        self._timer, self._armed = None, math.inf
        heap = self._heap
        while heap and heap[0][0] <= due:
            alarm = heapq.heappop(heap)
            callback, arg = alarm[2], alarm[3]
            if callback is None:
                self._cancelled -= 1
                continue
            alarm[2], alarm[3] = _FIRED, None
            try:
                callback(arg)
            except Exception as err:  # one failing callback does not stop the others
                self._loop.call_exception_handler(
                    {"message": "an alarm's callback failed", "exception": err}
                )
        while heap and heap[0][2] is None:  # never wake up for a cancelled deadline
            heapq.heappop(heap)
            self._cancelled -= 1
        if heap:
            self._arm(heap[0][0])
