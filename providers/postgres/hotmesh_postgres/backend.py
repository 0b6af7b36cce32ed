"""A connected Postgres backend for one app, and the base class of Postgres providers."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from hotmesh.mesh.roles import WorkerCredential, WorkerCredentialInfo
from hotmesh.spi.inspect import AppInfo
from hotmesh_postgres import roles
from hotmesh_postgres.diagnostics import PostgresDiagnostics
from hotmesh_postgres.driver import Driver
from hotmesh_postgres.housekeeping import Vacuumer
from hotmesh_postgres.inspect import PostgresInspector, list_apps
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
        self.vacuumer = Vacuumer(driver, self.schema, queries.sweep_expired_jobs)
        self._store = PostgresStore(driver, queries, self.vacuumer)
        self._stream = PostgresStream(driver, queries, self.vacuumer)
        self._sub = PostgresSub(driver, queries, channel_name("s", self.schema))
        self._inspector = PostgresInspector(driver, queries, self._stream)
        self._diagnostics = PostgresDiagnostics(driver)
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

    @property
    def inspector(self) -> PostgresInspector:
        """Read-only views for dashboards (:class:`hotmesh.spi.Inspector`)."""
        return self._inspector

    @property
    def diagnostics(self) -> PostgresDiagnostics:
        """Server facts for benchmarks (:class:`hotmesh.spi.diagnostics.Diagnostics`)."""
        return self._diagnostics

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
    #: What the conformance suite may rely on (``hotmesh_conformance.profiles``).
    capabilities: ClassVar[frozenset[str]] = frozenset({"dsn", "kill_connections"})
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

    @classmethod
    async def list_apps(cls, options: Mapping[str, Any]) -> list[AppInfo]:
        """Every app stored in the database the role may read (:class:`hotmesh.spi.AppDirectory`).

        Joins no app: nothing is migrated, so a read-only role can call it.
        """
        driver = await cls.open_driver({**options, "min_size": 1, "max_size": 1})
        try:
            return await list_apps(driver)
        finally:
            await driver.close()

    # -- secured worker roles (docs/security.md) ---------------------------------------------

    @classmethod
    async def connect_secured(cls, options: Mapping[str, Any], *, app_id: str) -> PostgresBackend:
        """Connect a secured worker (``options`` carry its role's user and password).

        No migration runs; the stream goes through the SECURITY DEFINER worker functions.
        """
        from hotmesh_postgres.secured import SecuredBackend

        schema_name(app_id)
        driver = await cls.open_driver(options)
        backend = SecuredBackend(driver, app_id)
        try:
            await backend.open()
        except BaseException:
            await backend.close()
            raise
        return backend

    @classmethod
    async def _admin(cls, options: Mapping[str, Any], app_id: str) -> tuple[Driver, str]:
        """A small owner pool with the app schema migrated."""
        schema = schema_name(app_id)
        driver = await cls.open_driver({**options, "min_size": 1, "max_size": 2})
        try:
            await migrate(driver, schema)
        except BaseException:
            await driver.close()
            raise
        return driver, schema

    @classmethod
    async def provision_worker_role(
        cls,
        options: Mapping[str, Any],
        *,
        app_id: str,
        stream_names: Sequence[str],
        password: str | None,
    ) -> WorkerCredential:
        """See :func:`hotmesh.mesh.roles.provision_worker_role`."""
        driver, schema = await cls._admin(options, app_id)
        try:
            return await roles.provision_worker_role(driver, schema, stream_names, password)
        finally:
            await driver.close()

    @classmethod
    async def list_worker_roles(
        cls, options: Mapping[str, Any], *, app_id: str
    ) -> list[WorkerCredentialInfo]:
        """See :func:`hotmesh.mesh.roles.list_worker_roles`."""
        driver, schema = await cls._admin(options, app_id)
        try:
            return await roles.list_worker_roles(driver, schema)
        finally:
            await driver.close()

    @classmethod
    async def revoke_worker_role(
        cls, options: Mapping[str, Any], *, app_id: str, role_name: str
    ) -> None:
        """See :func:`hotmesh.mesh.roles.revoke_worker_role`."""
        driver, schema = await cls._admin(options, app_id)
        try:
            await roles.revoke_worker_role(driver, schema, role_name)
        finally:
            await driver.close()

    @classmethod
    async def rotate_worker_password(
        cls, options: Mapping[str, Any], *, app_id: str, role_name: str, password: str | None
    ) -> str:
        """See :func:`hotmesh.mesh.roles.rotate_worker_password`."""
        driver, schema = await cls._admin(options, app_id)
        try:
            return await roles.rotate_worker_password(driver, schema, role_name, password)
        finally:
            await driver.close()
