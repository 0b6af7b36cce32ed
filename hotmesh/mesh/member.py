"""What the quorum knows of the member it speaks for: a narrow, typed interface.

A *member* is one :class:`~hotmesh.HotMesh` instance (its engine, if any, and its workers).
The quorum (:mod:`hotmesh.mesh.quorum`) never reaches into the facade: it is handed a
:class:`Member`, which :class:`~hotmesh.HotMesh` builds as a :class:`MemberParts`.

Example:
    >>> parts = MemberParts(guid="H1", app_id="shop", namespace="hmsh",
    ...                     connection=lambda: None, new_guid=lambda: "H2")  # doctest: +SKIP
    >>> Quorum(parts)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from attrs import define, field

from hotmesh.spi import Backend

if TYPE_CHECKING:
    from hotmesh.mesh.router import Router
    from hotmesh.mesh.worker import Worker

__all__ = ["EngineControl", "Member", "MemberParts"]


class EngineControl(Protocol):
    """What the quorum asks of a member's engine: its version, and a version switch.

    :class:`hotmesh.engine.runtime.Engine` implements it.
    """

    #: Cleared while a version switch holds the engine (it then processes nothing).
    version_gate: asyncio.Event

    @property
    def cached_version(self) -> str | None:
        """The active version the engine last read (what a roll call reports)."""
        ...

    def forget_active(self) -> None:
        """Re-read the active version from the store on the next message."""
        ...

    async def manifest(self) -> Any:
        """Load the active version now (after a switch)."""
        ...

    async def activate(self, version: str) -> None:
        """Make ``version`` active in the store and in this engine."""
        ...


class Member(Protocol):
    """The quorum's view of one member.

    Attributes:
        guid: the member's id (its quorum topic is ``$q.<guid>``).
        app_id: the app.
        namespace: the key namespace.
        engine: the member's engine (None for a workers-only member), seen as an
            :class:`EngineControl`: the quorum reads its cached version, holds its version
            gate and switches its version.
        engine_router: the router consuming the engine stream (None when read-only).
        workers: the member's workers (each with its router and topic).
    """

    @property
    def guid(self) -> str: ...

    @property
    def app_id(self) -> str: ...

    @property
    def namespace(self) -> str: ...

    @property
    def engine(self) -> EngineControl | None: ...

    @property
    def engine_router(self) -> Router | None: ...

    @property
    def workers(self) -> Sequence[Worker]: ...

    def connection(self) -> Backend:
        """The backend the quorum talks through (pub/sub, stream depths, settings).

        Raises:
            ConfigError: the member is stopped.
        """
        ...

    def new_guid(self) -> str:
        """A new unique id (roll-call and activation ids)."""
        ...


@define(frozen=True, kw_only=True)
class MemberParts:
    """A :class:`Member` made of the parts a :class:`~hotmesh.HotMesh` holds."""

    guid: str
    app_id: str
    namespace: str
    connection: Callable[[], Backend]
    new_guid: Callable[[], str]
    engine: EngineControl | None = None
    engine_router: Router | None = None
    workers: Sequence[Worker] = field(factory=tuple)
