"""``Sub`` on Postgres: one NOTIFY channel per app, topics and patterns matched here.

Every message of an app travels on one channel as ``{"t": topic, "m": message}``; each
process filters by its exact and pattern subscriptions. One channel keeps the LISTEN
count per process at one (Postgres before 19 wakes every listening backend for each
NOTIFY) and makes pattern subscriptions possible, which channel-per-topic cannot do.
Messages over the NOTIFY limit are parked in a table and the notification carries the id.
"""

from __future__ import annotations

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
from hotmesh_postgres.driver import Driver
from hotmesh_postgres.schema import Queries

__all__ = ["PostgresSub"]

log = logging.getLogger(__name__)

#: NOTIFY payloads are limited to 8000 bytes; stay clear of the edge.
NOTIFY_LIMIT = 7800
_ids = itertools.count(1)


@define(eq=False)
class _Subscription:
    topic: str
    callback: SubCallback
    pattern: re.Pattern[str] | None = None
    id: int = field(factory=lambda: next(_ids))


class PostgresSub:
    """Publish/subscribe for one app. See :class:`hotmesh.spi.Sub`."""

    def __init__(self, driver: Driver, queries: Queries, channel: str) -> None:
        self._driver = driver
        self._q = queries
        self._channel = channel
        self._exact: dict[str, list[_Subscription]] = {}
        self._patterns: list[_Subscription] = []
        self._callbacks = Callbacks(log)

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every current subscriber of ``topic``."""
        if not isinstance(topic, str) or not topic:
            raise PayloadError("a topic must be a non-empty string", value=topic)
        try:
            body = json.dumps({"t": topic, "m": message}, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as err:
            raise PayloadError(f"message is not JSON-serialisable: {err}", value=topic) from err
        if len(body.encode("utf-8")) <= NOTIFY_LIMIT:
            await self._driver.fetchval(self._q.sub_notify, self._channel, body)
        else:
            await self._driver.fetchval(self._q.sub_park, self._channel, body)

    async def subscribe(self, topic: str, callback: SubCallback) -> Subscription:
        """Receive messages published to exactly ``topic``."""
        sub = _Subscription(topic, callback)
        self._exact.setdefault(topic, []).append(sub)
        return sub

    async def psubscribe(self, pattern: str, callback: SubCallback) -> Subscription:
        """Receive messages whose topic matches the glob ``pattern``."""
        sub = _Subscription(pattern, callback, re.compile(fnmatch.translate(pattern)))
        self._patterns.append(sub)
        return sub

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Stop a subscription (idempotent)."""
        if not isinstance(subscription, _Subscription):
            return
        if subscription.pattern is not None:
            self._patterns = [s for s in self._patterns if s is not subscription]
            return
        subs = [s for s in self._exact.get(subscription.topic, []) if s is not subscription]
        if subs:
            self._exact[subscription.topic] = subs
        else:
            self._exact.pop(subscription.topic, None)

    async def on_notify(self, payload: str) -> None:
        """Dispatch one notification of the app's channel."""
        if payload.startswith("#"):
            parked = await self._driver.fetchval(self._q.sub_fetch, int(payload[1:]))
            if parked is None:
                log.warning("parked pub/sub message %s is gone", payload)
                return
            payload = parked
        try:
            body = json.loads(payload)
            topic, message = body["t"], body["m"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed pub/sub payload %r", payload[:80])
            return
        targets = list(self._exact.get(topic, ()))
        targets.extend(s for s in self._patterns if s.pattern and s.pattern.match(topic))
        for sub in targets:
            self._callbacks.run(sub.callback, topic, message)

    async def close(self) -> None:
        """Drop every subscription and wait for callbacks still running."""
        self._exact.clear()
        self._patterns.clear()
        await self._callbacks.drain()
