"""``Sub`` on Postgres: one NOTIFY channel per app, topics and patterns matched here.

Every message of an app travels on one channel as ``{"t": topic, "m": message}``; each
process filters by its exact and pattern subscriptions. One channel keeps the LISTEN
count per process at one (Postgres before 19 wakes every listening backend for each
NOTIFY) and makes pattern subscriptions possible, which channel-per-topic cannot do.
Messages over the NOTIFY limit are parked in a table and the notification carries the id.
"""

from __future__ import annotations

import logging
from typing import Any

from hotmesh.spi.support import LocalSubscriptions, pack_message, unpack_message
from hotmesh_postgres.driver import Driver
from hotmesh_postgres.grouping import GroupCommit
from hotmesh_postgres.schema import Queries

__all__ = ["PostgresSub"]

log = logging.getLogger(__name__)

#: NOTIFY payloads are limited to 8000 bytes; stay clear of the edge.
NOTIFY_LIMIT = 7800


class PostgresSub(LocalSubscriptions):
    """Publish/subscribe for one app. See :class:`hotmesh.spi.Sub`."""

    def __init__(self, driver: Driver, queries: Queries, channel: str) -> None:
        super().__init__(log)
        self._driver = driver
        self._q = queries
        self._channel = channel
        self._notes: GroupCommit[str, None] = GroupCommit(self._notify_many)

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every current subscriber of ``topic``."""
        body = pack_message(topic, message)
        if len(body.encode("utf-8")) <= NOTIFY_LIMIT:
            # Group commit: publications made while one is in flight go together.
            await self._notes.submit(body)
        else:
            await self._driver.fetchval(self._q.sub_park, self._channel, body)

    async def _notify_many(self, bodies: list[str]) -> list[Exception | None]:
        """Send ``bodies`` in order, in as few statements as Postgres allows (it would
        deliver equal payloads of one transaction once)."""
        batch: list[str] = []
        for body in bodies:
            if body in batch:  # at most GroupCommit's max_batch (64) bodies
                await self._send(batch)
                batch = []
            batch.append(body)
        await self._send(batch)
        return [None] * len(bodies)

    async def _send(self, bodies: list[str]) -> None:
        if len(bodies) == 1:
            await self._driver.fetchval(self._q.sub_notify, self._channel, bodies[0])
        elif bodies:
            await self._driver.fetchval(self._q.sub_notify_many, self._channel, bodies)

    async def on_notify(self, payload: str) -> None:
        """Dispatch one notification of the app's channel."""
        if payload.startswith("#"):
            parked = await self._driver.fetchval(self._q.sub_fetch, int(payload[1:]))
            if parked is None:
                log.warning("parked pub/sub message %s is gone", payload)
                return
            payload = parked
        unpacked = unpack_message(payload)
        if unpacked is None:
            log.warning("ignoring malformed pub/sub payload %r", payload[:80])
            return
        self.deliver(*unpacked)
