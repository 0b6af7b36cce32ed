"""The backend of a secured worker: a login role with no table access (docs/security.md).

A secured worker connects as a role provisioned by
:func:`hotmesh_postgres.roles.provision_worker_role`. It runs no migration (the owner
migrates) and reaches the tables only through the SECURITY DEFINER ``worker_*`` functions
of migration 0005, which check the login role's streams on every call. Anything else it
tries (reading jobs, purging a stream...) fails in the database with permission denied.

Example:
    >>> from hotmesh_asyncpg import AsyncpgProvider
    >>> async def main(dsn: str) -> None:  # doctest: +SKIP
    ...     backend = await AsyncpgProvider.connect_secured(
    ...         {"dsn": dsn, "user": "hmsh_wrk_orders_order_process", "password": "..."},
    ...         app_id="orders",
    ...     )
    ...     [message] = await backend.stream.claim("order.process")
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from hotmesh.errors import ConfigError, StreamError
from hotmesh.spi import OutgoingMessage, StreamDepth, StreamMessage
from hotmesh_postgres.backend import PostgresBackend
from hotmesh_postgres.driver import Driver
from hotmesh_postgres.housekeeping import Vacuumer
from hotmesh_postgres.naming import channel_name
from hotmesh_postgres.schema import Queries
from hotmesh_postgres.store import PostgresStore
from hotmesh_postgres.stream import MAX_BATCH, PostgresStream, message_arrays

__all__ = ["SecuredBackend", "SecuredStore", "SecuredStream", "is_access_denied"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: SQLSTATE insufficient_privilege: raised by the worker_* functions and by table access.
ACCESS_DENIED = "42501"


def is_access_denied(err: BaseException) -> bool:
    """True when ``err`` is the database refusing a privilege (either driver)."""
    return getattr(err, "sqlstate", None) == ACCESS_DENIED


async def _guard(stream: str, call: Callable[[], Awaitable[T]]) -> T:
    """Run ``call``; a refused privilege becomes a :class:`StreamError` naming ``stream``."""
    try:
        return await call()
    except Exception as err:
        if is_access_denied(err):
            message = str(getattr(err, "message", None) or err).splitlines()[0]
            raise StreamError(message, value=stream) from err
        raise


class SecuredStream(PostgresStream):
    """A :class:`PostgresStream` that goes through the ``worker_*`` functions.

    Raises:
        StreamError: the role may not use the stream (its message says "access denied").
    """

    async def publish(
        self, messages: Sequence[OutgoingMessage], *, ack: StreamMessage | None = None
    ) -> list[int]:
        """Publish to the engine stream or the role's streams (acking ``ack`` at once)."""
        if not messages and ack is None:
            return []
        target = messages[0].stream if messages else (ack.stream if ack else "")
        rows = await _guard(
            target,
            lambda: self._driver.fetch(
                self._q.secured_publish,
                *message_arrays(messages),
                ack.id if ack else None,
                ack.attempt if ack else None,
            ),
        )
        if ack is not None:
            self._vacuumer.note_deleted(1)
        return [int(r[0]) for r in rows]

    async def claim(
        self,
        stream: str,
        *,
        limit: int = 1,
        lease: float = 30.0,
        consumer: str = "",
        with_job: bool = False,
    ) -> list[StreamMessage]:
        """Claim from one of the role's streams (``with_job`` is refused: no job access)."""
        if with_job:
            raise StreamError("a secured worker cannot read job state", value=stream)
        if not 1 <= limit <= MAX_BATCH:
            raise StreamError(f"claim limit must be 1..{MAX_BATCH}, got {limit}", value=limit)
        if lease <= 0:
            raise StreamError(f"lease must be > 0 seconds, got {lease}", value=lease)
        self.wakeups.event(stream, consumer)
        rows = await _guard(
            stream,
            lambda: self._driver.fetch(
                self._q.secured_claim, stream, limit, float(lease), consumer
            ),
        )
        return await self._deliver(stream, rows)

    async def _fail_jobs(self, errors: dict[str, str]) -> None:
        """A secured worker cannot touch jobs: its undecodable messages are only dead-lettered."""
        log.error(
            "undecodable messages dead-lettered; their jobs stay open", extra={"jobs": len(errors)}
        )

    async def ack(self, messages: Sequence[StreamMessage]) -> set[int]:
        """Ack deliveries of the role's streams (others are left alone)."""
        if not messages:
            return set()
        rows = await _guard(
            messages[0].stream,
            lambda: self._driver.fetch(
                self._q.secured_ack, [m.id for m in messages], [m.attempt for m in messages]
            ),
        )
        self._vacuumer.note_deleted(len(rows))
        return {int(r[0]) for r in rows}

    async def extend(self, messages: Sequence[StreamMessage], lease: float) -> set[int]:
        """Renew held leases of the role's streams."""
        if not messages:
            return set()
        rows = await _guard(
            messages[0].stream,
            lambda: self._driver.fetch(
                self._q.secured_extend,
                [m.id for m in messages],
                [m.attempt for m in messages],
                float(lease),
            ),
        )
        return {int(r[0]) for r in rows}

    async def retry(self, message: StreamMessage, error: str | None = None) -> float | None:
        """Redeliver after backoff, or dead-letter once the attempts are used up."""
        if message.attempt >= message.retry.maximum_attempts:
            await self.dead_letter([message], error)
            return None
        delay = message.retry.delay(message.attempt)
        moved = await _guard(
            message.stream,
            lambda: self._driver.fetchval(
                self._q.secured_retry, message.id, message.attempt, delay, error
            ),
        )
        if moved is not None:
            self.wakeups.wake_at(message.stream, time.time() + delay)
        return delay

    async def dead_letter(self, messages: Sequence[StreamMessage], error: str | None) -> int:
        """Move held deliveries of the role's streams to the dead letters."""
        if not messages:
            return 0
        rows = await _guard(
            messages[0].stream,
            lambda: self._driver.fetch(
                self._q.secured_dead_letter,
                [m.id for m in messages],
                [m.attempt for m in messages],
                error,
            ),
        )
        self._vacuumer.note_deleted(len(rows))
        return len(rows)

    async def depth(self, streams: Sequence[str]) -> dict[str, StreamDepth]:
        """Counts of the engine stream and the role's streams (others read as empty)."""
        out = {s: StreamDepth(s) for s in streams}
        rows = await _guard(
            ",".join(streams), lambda: self._driver.fetch(self._q.secured_depth, list(streams))
        )
        for r in rows:
            out[r[0]] = StreamDepth(r[0], int(r[1]), int(r[2]), int(r[3]))
        return out


class SecuredStore(PostgresStore):
    """The store as a secured worker sees it: only throttle settings are readable.

    Every other call reaches a table and fails in the database (permission denied).
    """

    async def get_setting(self, key: str) -> Any | None:
        """A ``throttle:...`` setting, or None."""
        text = await _guard(key, lambda: self._driver.fetchval(self._q.secured_setting, key))
        return None if text is None else json.loads(text)

    async def get_stats(self, key: str, buckets: Sequence[str]) -> dict[str, dict[str, float]]:
        """Not for workers."""
        raise ConfigError("a secured worker cannot read stats", value=key)

    async def get_ids(
        self, key: str, buckets: Sequence[str], facets: Sequence[str]
    ) -> dict[str, dict[str, list[str]]]:
        """Not for workers."""
        raise ConfigError("a secured worker cannot read stats", value=key)

    async def delete_stats(self, key: str, buckets: Sequence[str], facets: Sequence[str]) -> None:
        """Not for workers."""
        raise ConfigError("a secured worker cannot change stats", value=key)


class SecuredBackend(PostgresBackend):
    """Store, stream and sub of one app for a secured worker role (no migration)."""

    def __init__(self, driver: Driver, app_id: str) -> None:
        super().__init__(driver, app_id)
        queries = Queries(self.schema)
        self.vacuumer = _NoVacuum(driver, self.schema, sweep_sql="")
        self._store = SecuredStore(driver, queries, self.vacuumer)
        self._stream = SecuredStream(driver, queries, self.vacuumer)

    async def open(self) -> None:
        """Start the listener (wake-ups and pub/sub); the schema is the owner's business."""
        await self.notifier.add_channel(
            channel_name("w", self.schema), self._stream.wakeups.on_notify
        )
        await self.notifier.add_channel(channel_name("s", self.schema), self._sub.on_notify)
        self.notifier.on_reconnect(self._stream.wakeups.wake_all)
        await self.notifier.start()


class _NoVacuum(Vacuumer):
    """A worker role may not vacuum the owner's tables: the owner's processes do."""

    def note_deleted(self, count: int) -> None:
        """Ignored."""
