"""What a provider plugin is: a factory of connected ``Backend``s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

from hotmesh.spi.store import Store
from hotmesh.spi.stream import Stream
from hotmesh.spi.sub import Sub

__all__ = ["Backend", "Provider"]


@runtime_checkable
class Backend(Protocol):
    """A provider connected for one app: its store, stream and sub, and their lifetime."""

    @property
    def app_id(self) -> str:
        """The app this backend serves."""
        ...

    @property
    def store(self) -> Store:
        """Job state and app registry."""
        ...

    @property
    def stream(self) -> Stream:
        """Durable work queues."""
        ...

    @property
    def sub(self) -> Sub:
        """Publish/subscribe."""
        ...

    async def close(self) -> None:
        """Release every connection and stop every background task (idempotent)."""
        ...


@runtime_checkable
class Provider(Protocol):
    """A provider plugin, registered under the entry-point group ``hotmesh.providers``.

    A provider may also declare ``capabilities: ClassVar[frozenset[str]]`` for the
    conformance suite (``hotmesh_conformance.profiles``): ``"dsn"`` (it connects to Postgres
    with ``options={"dsn": ...}``), ``"kill_connections"`` (the recovery tests can kill its
    connections). Without the attribute, ``{"dsn"}`` is assumed.

    Example (a third-party package's ``pyproject.toml``)::

        [project.entry-points."hotmesh.providers"]
        mydb = "hotmesh_mydb:MyDbProvider"
    """

    name: ClassVar[str]

    @classmethod
    def accepts(cls, connection_class: object) -> bool:
        """True when ``connection_class`` (a module, class or name) selects this provider."""
        ...

    @classmethod
    async def connect(cls, options: Mapping[str, Any], *, app_id: str) -> Backend:
        """Connect for ``app_id``: create or upgrade its schema, start listeners."""
        ...
