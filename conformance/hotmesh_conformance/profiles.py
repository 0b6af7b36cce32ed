"""What the suite needs to know about a provider: how to connect it, and what it can do.

A provider class may declare ``capabilities: ClassVar[frozenset[str]]``; a provider that
declares none is taken to be a Postgres-style one (``{"dsn"}``), as every provider was
before capabilities existed. Tests that need a capability carry
``@pytest.mark.hotmesh_requires("name", ...)``; on a provider without it they are skipped,
and the reason (from :data:`CAPABILITIES`) is printed in the summary.

Example:
    >>> ProviderProfile("memory", frozenset()).options(dsn=None)
    {}
    >>> ProviderProfile("asyncpg", frozenset({"dsn"})).options(dsn="postgresql:///x")
    {'dsn': 'postgresql:///x'}
"""

from __future__ import annotations

from typing import Any

from attrs import define

__all__ = ["CAPABILITIES", "DSN", "KILL_CONNECTIONS", "ProviderProfile", "profile_of"]

#: Connects to a Postgres database given as ``options={"dsn": ...}`` (the suite starts an
#: embedded cluster unless ``--hotmesh-dsn``/``HOTMESH_TEST_DSN`` names one).
DSN = "dsn"
#: Its connections can be killed from outside (``pg_terminate_backend``), so the suite can
#: check that every part of a backend recovers from lost connections.
KILL_CONNECTIONS = "kill_connections"

CAPABILITIES: dict[str, str] = {
    DSN: "it does not connect to Postgres (no DSN)",
    KILL_CONNECTIONS: "it has no connections that can be killed from outside",
}
_LEGACY = frozenset({DSN})


@define(frozen=True)
class ProviderProfile:
    """A provider as the suite sees it: its name and capabilities."""

    name: str
    capabilities: frozenset[str]

    def options(self, dsn: str | None) -> dict[str, Any]:
        """The connection options the suite passes to ``connect``."""
        return {"dsn": dsn} if DSN in self.capabilities else {}

    def missing(self, wanted: frozenset[str]) -> str | None:
        """Why a test needing ``wanted`` cannot run on this provider, or None if it can."""
        lacking = sorted(wanted - self.capabilities)
        if not lacking:
            return None
        why = "; ".join(CAPABILITIES.get(c, f"it lacks capability {c!r}") for c in lacking)
        return f"provider {self.name!r} cannot run this test: {why}"


def profile_of(name: str) -> ProviderProfile:
    """The profile of the installed provider ``name``."""
    from hotmesh.plugins import provider_for

    declared = getattr(provider_for(name), "capabilities", None)
    capabilities = _LEGACY if declared is None else frozenset(declared)
    return ProviderProfile(name, capabilities)
