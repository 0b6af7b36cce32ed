"""Optional provider interface: facts about the database server, for benchmarks.

A backend may offer a ``diagnostics`` attribute implementing :class:`Diagnostics`;
:meth:`hotmesh.HotMesh.diagnostics` returns it. ``hotmesh bench`` reads the server's
settings, counts writing transactions and finds a local server's process through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Diagnostics"]


@runtime_checkable
class Diagnostics(Protocol):
    """What a benchmark asks of the database server.

    Example:
        >>> async def describe(diagnostics: Diagnostics) -> str:
        ...     found = await diagnostics.settings(["server_version", "fsync"])
        ...     return f"server {found['server_version']}, fsync={found['fsync']}"
    """

    async def settings(self, names: Sequence[str]) -> dict[str, str]:
        """The server's configuration values of ``names`` (as the server shows them)."""
        ...

    async def write_counter(self) -> int:
        """A counter that advances once per writing transaction committed, at once (the
        difference of two readings counts the commits in between)."""
        ...

    async def server_pid(self) -> int:
        """The process id of the server process serving this connection (on its host)."""
        ...
