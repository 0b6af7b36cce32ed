"""A connected Postgres backend for one app, and the base class of Postgres providers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from hotmesh_postgres.driver import Driver
from hotmesh_postgres.housekeeping import Vacuumer
from hotmesh_postgres.naming import channel_name, schema_name
from hotmesh_postgres.notifier import Notifier
from hotmesh_postgres.schema import Queries, migrate
from hotmesh_postgres.store import PostgresStore
from hotmesh_postgres.stream import PostgresStream
from hotmesh_postgres.sub import PostgresSub

__all__ = ["PostgresBackend", "PostgresProvider"]

log = logging.getLogger(__name__)


class PostgresBackend:
    """Store, stream and sub of one app over one driver (a pool plus one listener)."""

    def __init__(self, driver: Driver, app_id: str) -> None:
        self.driver = driver
        self.app_id = app_id
        self.schema = schema_name(app_id)
        queries = Queries(self.schema)
        self.notifier = Notifier(driver)
        self.vacuumer = Vacuumer(driver, self.schema)
        self._store = PostgresStore(driver, queries, self.vacuumer)
        self._stream = PostgresStream(driver, queries, self.vacuumer)
        self._sub = PostgresSub(driver, queries, channel_name("s", self.schema))
        self._closed = False

    @property
    def store(self) -> PostgresStore:
        """Job state and app registry."""
        return self._store

    @property
    def stream(self) -> PostgresStream:
        """Durable work queues."""
        return self._stream

    @property
    def sub(self) -> PostgresSub:
        """Publish/subscribe."""
        return self._sub

    async def open(self) -> None:
        """Migrate the schema and start the listener."""
        await migrate(self.driver, self.schema)
        await self.notifier.add_channel(
            channel_name("w", self.schema), self._stream.wakeups.on_notify
        )
        await self.notifier.add_channel(channel_name("s", self.schema), self._sub.on_notify)
        self.notifier.on_reconnect(self._stream.wakeups.wake_all)
        await self.notifier.start()

    async def close(self) -> None:
        """Stop the listener, wake waiters, close the pool (idempotent)."""
        if self._closed:
            return
        self._closed = True
        await self.notifier.close()
        await self.vacuumer.close()
        self._stream.wakeups.close()
        await self._sub.close()
        await self.driver.close()


class PostgresProvider:
    """Base of the Postgres providers: subclasses say which driver they wrap.

    A subclass sets ``name`` and ``driver_names`` and implements ``accepts_class`` and
    ``open_driver``; everything else is shared.
    """

    name: ClassVar[str] = ""
    #: Strings that select this provider in ``connection["class"]``.
    driver_names: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def accepts(cls, connection_class: object) -> bool:
        """True for this driver's module, its connection/pool classes, or their names."""
        if isinstance(connection_class, str):
            return connection_class in cls.driver_names
        module = getattr(connection_class, "__name__", None)
        if module in cls.driver_names:
            return True
        owner = getattr(connection_class, "__module__", "") or ""
        return owner.split(".")[0] in cls.driver_names

    @classmethod
    async def open_driver(cls, options: Mapping[str, Any]) -> Driver:
        """Connect the driver's pool."""
        raise NotImplementedError

    @classmethod
    async def connect(cls, options: Mapping[str, Any], *, app_id: str) -> PostgresBackend:
        """Connect for ``app_id``: migrate its schema and start listening."""
        schema_name(app_id)  # validate before connecting
        driver = await cls.open_driver(options)
        backend = PostgresBackend(driver, app_id)
        try:
            await backend.open()
        except BaseException:
            await backend.close()
            raise
        return backend
