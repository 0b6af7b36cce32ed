"""The running event loop, remembered.

On Python 3.11 ``asyncio.get_running_loop()`` (and everything that calls it:
``asyncio.create_task``, ``asyncio.current_task()``, a future made without a loop) checks
the process id with a ``getpid()`` system call, about 0.7 µs on a virtual machine; the
hot path made ten a job. An object that lives on one loop asks a :class:`LoopRef`
instead: the loop it saw last, while that loop still runs in the caller's thread (one
loop runs per thread, so it is then the running one), else the running loop, asked once.

Example:
    >>> import asyncio
    >>> ref = LoopRef()
    >>> async def same() -> bool:
    ...     return ref.get() is asyncio.get_running_loop() is ref.get()
    >>> asyncio.run(same()), asyncio.run(same())
    (True, True)
"""

from __future__ import annotations

import asyncio
from threading import get_ident

__all__ = ["LoopRef"]


class LoopRef:
    """The running loop, asked of asyncio once per loop and thread."""

    __slots__ = ("_loop", "_thread")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0

    def get(self) -> asyncio.AbstractEventLoop:
        """The running loop (``RuntimeError`` outside one, as asyncio's)."""
        loop = self._loop
        if loop is not None and self._thread == get_ident() and loop.is_running():
            return loop
        loop = self._loop = asyncio.get_running_loop()
        self._thread = get_ident()
        return loop
