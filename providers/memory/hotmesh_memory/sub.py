"""``Sub`` in memory: publish/subscribe between the backends of one app in this process.

A published message is serialised once (so what a subscriber gets is a copy, and what
JSON cannot carry is refused as on Postgres) and delivered on the next turn of the event
loop to every matching subscription of every backend connected to the app, in publish
order. Nothing is kept: a backend that is not subscribed when the message is published
never sees it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import json
import logging
import re
from typing import Any

from attrs import define, field

from hotmesh.errors import PayloadError
from hotmesh.spi.sub import SubCallback, Subscription
from hotmesh.spi.support import Callbacks
from hotmesh_memory.space import AppSpace, round_trip

__all__ = ["MemorySub"]

log = logging.getLogger(__name__)
_ids = itertools.count(1)


@define(eq=False)
class _Subscription:
    topic: str
    callback: SubCallback
    pattern: re.Pattern[str] | None = None
    id: int = field(factory=lambda: next(_ids))

    def matches(self, topic: str) -> bool:
        if self.pattern is None:
            return self.topic == topic
        return self.pattern.fullmatch(topic) is not None


class MemorySub:
    """Publish/subscribe of one backend. See :class:`hotmesh.spi.Sub`.

    Example:
        >>> async def demo(sub: MemorySub) -> None:  # doctest: +SKIP
        ...     await sub.psubscribe("order.*", lambda t, m: print(t, m))
        ...     await sub.publish("order.shipped", {"id": 7})
    """

    def __init__(self, space: AppSpace) -> None:
        self._space = space
        self._subs: list[_Subscription] = []
        self._callbacks = Callbacks(log)

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every current subscriber of ``topic`` in this app."""
        if not isinstance(topic, str) or not topic:
            raise PayloadError("a topic must be a non-empty string", value=topic)
        try:
            body = json.dumps(message, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as err:
            raise PayloadError(f"message is not JSON-serialisable: {err}", value=topic) from err
        await round_trip()
        loop = asyncio.get_running_loop()
        for sub in list(self._space.subs):
            loop.call_soon(sub.dispatch, topic, body)

    async def subscribe(self, topic: str, callback: SubCallback) -> Subscription:
        """Receive messages published to exactly ``topic``."""
        sub = _Subscription(topic, callback)
        self._subs.append(sub)
        return sub

    async def psubscribe(self, pattern: str, callback: SubCallback) -> Subscription:
        """Receive messages whose topic matches the glob ``pattern``."""
        sub = _Subscription(pattern, callback, re.compile(fnmatch.translate(pattern)))
        self._subs.append(sub)
        return sub

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Stop a subscription (idempotent)."""
        self._subs = [s for s in self._subs if s is not subscription]

    def dispatch(self, topic: str, body: str) -> None:
        """Deliver one published message to this backend's matching subscriptions."""
        for sub in [s for s in self._subs if s.matches(topic)]:
            self._callbacks.run(sub.callback, topic, json.loads(body))

    async def close(self) -> None:
        """Drop every subscription and wait for callbacks still running."""
        self._subs.clear()
        await self._callbacks.drain()
