"""``Sub`` in memory: publish/subscribe between the backends of one app in this process.

A published message is serialised once (so what a subscriber gets is a copy, and what
JSON cannot carry is refused as on Postgres) and delivered on the next turn of the event
loop to every matching subscription of every backend connected to the app, in publish
order. Nothing is kept: a backend that is not subscribed when the message is published
never sees it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hotmesh.spi.support import LocalSubscriptions, pack_message, unpack_message
from hotmesh_memory.space import AppSpace, round_trip

__all__ = ["MemorySub"]

log = logging.getLogger(__name__)


class MemorySub(LocalSubscriptions):
    """Publish/subscribe of one backend. See :class:`hotmesh.spi.Sub`.

    Example:
        >>> async def demo(sub: MemorySub) -> None:  # doctest: +SKIP
        ...     await sub.psubscribe("order.*", lambda t, m: print(t, m))
        ...     await sub.publish("order.shipped", {"id": 7})
    """

    def __init__(self, space: AppSpace) -> None:
        super().__init__(log)
        self._space = space

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every current subscriber of ``topic`` in this app."""
        body = pack_message(topic, message)
        await round_trip()
        loop = asyncio.get_running_loop()
        for sub in list(self._space.subs):
            loop.call_soon(sub.dispatch, body)

    def dispatch(self, body: str) -> None:
        """Deliver one published message to this backend's matching subscriptions."""
        unpacked = unpack_message(body)
        if unpacked is not None:
            self.deliver(*unpacked)
