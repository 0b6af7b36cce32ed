"""Helpers for provider authors: the parts of the contract every provider does alike.

Example:
    >>> check_claim(limit=10, lease=30.0)
    >>> MAX_CLAIM
    1000
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from hotmesh.errors import StreamError
from hotmesh.spi.sub import SubCallback

__all__ = ["MAX_CLAIM", "Callbacks", "check_claim"]

#: The largest ``limit`` a ``Stream.claim`` accepts.
MAX_CLAIM = 1000


def check_claim(*, limit: int, lease: float) -> None:
    """Refuse claim arguments outside the contract.

    Raises:
        StreamError: ``limit`` is not 1..:data:`MAX_CLAIM`, or ``lease`` is not > 0.
    """
    if not 1 <= limit <= MAX_CLAIM:
        raise StreamError(f"claim limit must be 1..{MAX_CLAIM}, got {limit}", value=limit)
    if lease <= 0:
        raise StreamError(f"lease must be > 0 seconds, got {lease}", value=lease)


class Callbacks:
    """Runs subscriber callbacks as the ``Sub`` contract asks.

    A plain callback runs at once, a coroutine callback as a task; an exception of either
    is logged and never reaches the publisher or the other subscribers.

    Example:
        >>> callbacks = Callbacks(logging.getLogger("demo"))
        >>> callbacks.run(lambda topic, message: None, "t", {})
    """

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._tasks: set[asyncio.Future[Any]] = set()

    def run(self, callback: SubCallback, topic: str, message: dict[str, Any]) -> None:
        """Deliver ``message`` to one callback."""
        try:
            result = callback(topic, message)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._done)
        except Exception:
            self._log.exception("subscriber callback failed", extra={"topic": topic})

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("subscriber callback failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for the coroutine callbacks still running."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
