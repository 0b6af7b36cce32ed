"""The backends one member opens: one per distinct connection config, and the per-role form.

A :class:`~hotmesh.HotMesh` connects its engine and each worker through one
:class:`Connections`: equal connection configs share a backend; a per-role connection
(``{"store": ..., "stream": ..., "sub": ...}``) composes its parts in a :class:`RoleBackend`;
no connection at all means the embedded Postgres; a secured worker logs in as its role.

Example:
    >>> connections = Connections("shop")
    >>> connection = {"class": asyncpg, "options": {"dsn": dsn}}
    >>> backend = await connections.connect(connection)  # doctest: +SKIP
    >>> await connections.close()  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from hotmesh.config import WorkerConfig
from hotmesh.engine.handoff import Handoff
from hotmesh.errors import ConfigError
from hotmesh.mesh import roles
from hotmesh.plugins import provider_for, split_connection
from hotmesh.spi import Backend

__all__ = ["Connections", "RoleBackend"]

#: The hand-off registries of this process, by app and database.
_handoffs: dict[tuple[str, str], Handoff] = {}


class Connections:
    """The backends of one member, opened on demand and closed together."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        #: Every backend opened, in order (the first one serves a member without engine).
        self.opened: list[Backend] = []
        self._cache: dict[str, Backend] = {}
        self._databases: dict[int, str] = {}

    async def connect(self, connection: Mapping[str, Any] | None) -> Backend:
        """One backend per distinct connection config; the per-role form composes them.

        No connection: the embedded Postgres (one backend for the engine and workers).

        Raises:
            ProviderNotFound: no installed provider handles a ``connection["class"]``.
        """
        if connection is None:
            if "embedded" not in self._cache:
                from hotmesh import embedded

                fallback = await asyncio.to_thread(embedded.default_connection)
                self._cache["embedded"] = await self.connect(fallback)
            return self._cache["embedded"]
        parts = split_connection(connection)
        by_role = {role: await self._backend_for(config) for role, config in parts.items()}
        if by_role["store"] is by_role["stream"] is by_role["sub"]:
            return by_role["store"]
        return RoleBackend(by_role["store"], by_role["stream"], by_role["sub"])

    async def _backend_for(self, config: Mapping[str, Any]) -> Backend:
        options = sorted(config.get("options", {}).items())
        key = f"{id(config['class'])}:{config['class']!r}:{options!r}"
        if key not in self._cache:
            provider = provider_for(config["class"])
            backend = await provider.connect(dict(config.get("options", {})), app_id=self.app_id)
            self._cache[key] = backend
            self._databases[id(backend)] = f"{config['class']!r}:{options!r}"
            self.opened.append(backend)
        return self._cache[key]

    def handoff(self, backend: Backend) -> Handoff | None:
        """This process's hand-off registry for ``backend``'s app and database, shared by
        every instance connected to them with the same connection config (the same
        provider and options reach the same database); None for a backend it cannot vouch
        for (split per role, or a secured worker's)."""
        database = self._databases.get(id(backend))
        if database is None:
            return None
        return _handoffs.setdefault((self.app_id, database), Handoff())

    async def connect_secured(self, worker_cfg: WorkerConfig) -> Backend:
        """A secured worker's own backend: it logs in as its role for everything it does."""
        credentials = worker_cfg.worker_credentials or {}
        if worker_cfg.connection is None:
            raise ConfigError("a secured worker needs a connection", value=worker_cfg.topic)
        backend = await roles.connect_secured(
            worker_cfg.connection, credentials, app_id=self.app_id
        )
        self.opened.append(backend)
        return backend

    async def close(self) -> None:
        """Close every backend opened."""
        for backend in self.opened:
            await backend.close()
        self.opened.clear()


class RoleBackend:
    """The per-role connection form: store, stream and sub from different connections.

    The roles must reach the same database (the engine's claim reads job state with the
    message); they may differ in pool sizes, credentials or driver.
    """

    def __init__(self, store: Backend, stream: Backend, sub: Backend) -> None:
        self._parts = (store, stream, sub)

    @property
    def app_id(self) -> str:
        """The app this backend serves."""
        return self._parts[0].app_id

    @property
    def store(self) -> Any:
        """The store role's store."""
        return self._parts[0].store

    @property
    def stream(self) -> Any:
        """The stream role's stream."""
        return self._parts[1].stream

    @property
    def sub(self) -> Any:
        """The sub role's pub/sub."""
        return self._parts[2].sub

    @property
    def inspector(self) -> Any:
        """The store role's read-only views (None when its provider has none)."""
        return getattr(self._parts[0], "inspector", None)

    @property
    def diagnostics(self) -> Any:
        """The store role's server facts (None when its provider has none)."""
        return getattr(self._parts[0], "diagnostics", None)

    async def close(self) -> None:
        """Nothing of its own: the parts are closed by the member that opened them."""
