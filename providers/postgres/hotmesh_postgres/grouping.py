"""Group commit: concurrent calls coalesced into one statement, without a batching delay.

The engine runs several message handlers at once, each ending in its own ``apply_step``
(and the worker answers each delivery with its own ack+publish). A :class:`GroupCommit`
sends a call at once when nothing of its kind is in flight; calls made while one is in
flight wait for it and then go together, as one statement (one transaction, one commit).
At low load every call goes alone and immediately; under load the batch grows with the
number of calls waiting, so commits per job fall as concurrency rises.

A batch runs as one transaction. When it fails for a reason other than a lost database
(a refused value, a deadlock with another process), nothing of it was applied and each
call is run again on its own, so one failing call never fails the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from hotmesh.errors import DatabaseUnavailable
from hotmesh.loopref import LoopRef

__all__ = ["GroupCommit"]

log = logging.getLogger(__name__)

I = TypeVar("I")  # noqa: E741 - the item type
R = TypeVar("R")


class GroupCommit(Generic[I, R]):
    """Coalesce concurrent calls of one kind into batches.

    ``run(items)`` performs a batch and returns one result per item, in order (an
    exception there is that item's error alone: raised to its caller, never retried);
    ``max_in_flight`` batches run at once; a batch holds at most ``max_batch`` items.

    Example:
        >>> import asyncio
        >>> async def double(items: list[int]) -> list[int]:
        ...     return [2 * i for i in items]
        >>> group = GroupCommit(double)
        >>> asyncio.run(group.submit(21))
        42
    """

    def __init__(
        self,
        run: Callable[[list[I]], Awaitable[Sequence[R | Exception]]],
        *,
        max_batch: int = 64,
        max_in_flight: int = 1,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._queue: list[tuple[I, asyncio.Future[R]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = LoopRef()
        #: Batches sent and items sent in them (for benchmarks and tests).
        self.batches = 0
        self.items = 0

    async def submit(self, item: I) -> R:
        """Run ``item`` now if nothing is in flight, else with the next batch."""
        if self._in_flight >= self._max_in_flight:
            future: asyncio.Future[R] = self._loop.get().create_future()
            self._queue.append((item, future))
            return await future
        self._in_flight += 1
        try:
            result = (await self._batch([item]))[0]
        finally:
            self._in_flight -= 1
            self._drain()
        if isinstance(result, Exception):
            raise result
        return result

    async def _batch(self, items: list[I]) -> Sequence[R | Exception]:
        self.batches += 1
        self.items += len(items)
        return await self._run(items)

    def _drain(self) -> None:
        while self._queue and self._in_flight < self._max_in_flight:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            self._in_flight += 1
            self._tasks.add(self._loop.get().create_task(self._flush(batch)))

    async def _flush(self, batch: list[tuple[I, asyncio.Future[R]]]) -> None:
        items = [item for item, _ in batch]
        try:
            results = await self._settle(items)
        finally:
            self._in_flight -= 1
            # The task leaves the set itself: no done callback (a loop iteration) per batch.
            self._tasks.discard(asyncio.current_task(self._loop.get()))
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
        self._drain()

    async def _settle(self, items: list[I]) -> list[R | Exception]:
        """The batch's results; a failure becomes every item's result, or each item's own."""
        try:
            return list(await self._batch(items))
        except DatabaseUnavailable as err:
            return [err] * len(items)
        except Exception as err:
            if len(items) == 1:
                return [err]
            log.info("a batch of %d failed (%s); running its calls one by one", len(items), err)
        out: list[R | Exception] = []
        for item in items:
            try:
                out.append((await self._batch([item]))[0])
            except Exception as err:
                out.append(err)
        return out
