"""The in-memory provider: databases named in ``options``, shared within the process.

Every backend connected with the same ``{"class": "memory", "options": {"name": N}}`` and
the same app id sees the same jobs, streams and pub/sub: an engine, its workers and a
client in one process work together as they would over one Postgres. Nothing outlives
the process. Run it from one event loop (as a HotMesh process does).

Example:
    >>> from hotmesh import HotMesh
    >>> async def main() -> None:  # doctest: +SKIP
    ...     memory = {"class": "memory", "options": {"name": "dev"}}
    ...     hm = await HotMesh.init(app_id="orders", engine={"connection": memory})
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, ClassVar

from hotmesh.errors import ConfigError
from hotmesh.spi.inspect import AppInfo
from hotmesh_memory.inspect import MemoryInspector, list_apps
from hotmesh_memory.space import AppSpace
from hotmesh_memory.store import MemoryStore
from hotmesh_memory.stream import MemoryStream
from hotmesh_memory.sub import MemorySub
from hotmesh_memory.wakeups import Wakeups

__all__ = ["MemoryBackend", "MemoryProvider"]

#: database name -> app id -> its tables.
_databases: dict[str, dict[str, AppSpace]] = {}
_OPTIONS = frozenset({"name"})


class MemoryBackend:
    """Store, stream and sub of one app in one in-memory database."""

    def __init__(self, space: AppSpace, app_id: str, database: str) -> None:
        self.app_id = app_id
        self.database = database
        self._space = space
        self._wakeups = Wakeups()
        self._store = MemoryStore(space)
        self._stream = MemoryStream(space, self._wakeups)
        self._sub = MemorySub(space)
        self._inspector = MemoryInspector(space, self._stream)
        space.wakeups.append(self._wakeups)
        space.subs.append(self._sub)
        self._closed = False

    @property
    def store(self) -> MemoryStore:
        """Job state and app registry."""
        return self._store

    @property
    def stream(self) -> MemoryStream:
        """Work queues."""
        return self._stream

    @property
    def sub(self) -> MemorySub:
        """Publish/subscribe."""
        return self._sub

    @property
    def inspector(self) -> MemoryInspector:
        """Read-only views for dashboards (:class:`hotmesh.spi.Inspector`)."""
        return self._inspector

    async def close(self) -> None:
        """Disconnect: stop wake-ups and subscriptions (idempotent; the data stays)."""
        if self._closed:
            return
        self._closed = True
        self._space.wakeups.remove(self._wakeups)
        self._space.subs.remove(self._sub)
        self._wakeups.close()
        await self._sub.close()


class MemoryProvider:
    """The ``memory`` provider (entry point ``hotmesh.providers``: ``memory``).

    Options: ``name`` (default ``"default"``), the in-process database to use.

    Example:
        >>> import asyncio
        >>> backend = asyncio.run(MemoryProvider.connect({"name": "doc"}, app_id="orders"))
        >>> backend.app_id, backend.database
        ('orders', 'doc')
    """

    name: ClassVar[str] = "memory"
    #: No DSN, no connections to kill (``hotmesh_conformance.profiles``).
    capabilities: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def accepts(cls, connection_class: object) -> bool:
        """True for ``"memory"``, this package's module, or a class defined in it."""
        if isinstance(connection_class, str):
            return connection_class == cls.name
        if connection_class is sys.modules[__name__.rpartition(".")[0]]:
            return True
        owner = getattr(connection_class, "__module__", "") or ""
        return isinstance(owner, str) and owner.split(".")[0] == "hotmesh_memory"

    @classmethod
    async def connect(cls, options: Mapping[str, Any], *, app_id: str) -> MemoryBackend:
        """Connect to the database ``options["name"]`` for ``app_id`` (created on first use).

        Raises:
            ConfigError: an unknown option, or a bad database name or app id.
        """
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise ConfigError(
                f"unknown option(s) for the memory provider: {', '.join(unknown)}"
                " (it takes only 'name')",
                value=unknown,
            )
        name = options.get("name", "default")
        if not isinstance(name, str) or not name:
            raise ConfigError("the memory database 'name' must be a non-empty string", value=name)
        if not isinstance(app_id, str) or not app_id:
            raise ConfigError("the app id must be a non-empty string", value=app_id)
        space = _databases.setdefault(name, {}).setdefault(app_id, AppSpace())
        return MemoryBackend(space, app_id, name)

    @classmethod
    async def list_apps(cls, options: Mapping[str, Any]) -> list[AppInfo]:
        """The apps with a deployed version in the database ``options["name"]``
        (:class:`hotmesh.spi.AppDirectory`).

        Example:
            >>> import asyncio
            >>> asyncio.run(MemoryProvider.list_apps({"name": "nothing-here"}))
            []
        """
        return list_apps(_databases.get(str(options.get("name", "default")), {}))

    @classmethod
    def drop(cls, name: str = "default") -> bool:
        """Forget the in-memory database ``name``; True if it existed.

        Backends still connected to it keep the old data; new connections start empty.
        """
        return _databases.pop(name, None) is not None
