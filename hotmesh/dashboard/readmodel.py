"""What the dashboard reads: the apps of a database, and one read-only member per app.

The dashboard never opens a driver itself: it names the provider (``"asyncpg"``,
``"psycopg"``) and reads through :class:`~hotmesh.HotMesh` (a read-only engine that
claims nothing) and its :class:`~hotmesh.spi.Inspector`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

from attrs import define, field

from hotmesh.errors import ConfigError
from hotmesh.hotmesh import HotMesh
from hotmesh.mesh.quorum import QuorumProfile
from hotmesh.plugins import provider_for
from hotmesh.spi.inspect import AppDirectory, AppInfo, Inspector, VersionInfo

__all__ = ["AppSession", "DashboardSource"]

#: How long a roll call or the app list is reused (many browsers, one query).
CACHE_SECONDS = 2.0
#: The per-minute series reads every job of the window: reused for longer.
THROUGHPUT_SECONDS = 10.0


@define
class AppSession:
    """One app seen by the dashboard: its read-only HotMesh and cached answers."""

    app_id: str
    hm: HotMesh
    _roll: tuple[float, list[QuorumProfile]] | None = None
    _versions: tuple[float, list[VersionInfo]] | None = None
    _throughput: tuple[float, list[tuple[dt.datetime, int, int]]] | None = None
    _lock: asyncio.Lock = field(factory=asyncio.Lock)

    @property
    def inspector(self) -> Inspector:
        """The app's read-only views."""
        return self.hm.inspector()

    async def versions(self) -> list[VersionInfo]:
        """Deployed versions, newest first (cached briefly)."""
        now = time.monotonic()
        if self._versions is None or now - self._versions[0] > CACHE_SECONDS:
            self._versions = (now, await self.inspector.versions())
        return self._versions[1]

    async def throughput(self, minutes: int) -> list[tuple[dt.datetime, int, int]]:
        """Jobs started and finished per minute (cached for ``THROUGHPUT_SECONDS``)."""
        now = time.monotonic()
        if self._throughput is None or now - self._throughput[0] > THROUGHPUT_SECONDS:
            self._throughput = (now, await self.inspector.throughput(minutes))
        return self._throughput[1]

    async def roll_call(self) -> list[QuorumProfile]:
        """Every engine and worker of the app but the dashboard's own (cached briefly)."""
        async with self._lock:
            now = time.monotonic()
            if self._roll is None or now - self._roll[0] > CACHE_SECONDS:
                profiles = await self.hm.roll_call()
                self._roll = (time.monotonic(), [p for p in profiles if p.guid != self.hm.guid])
            return self._roll[1]

    def forget(self) -> None:
        """Drop cached answers (after an action changed something)."""
        self._roll = None
        self._versions = None


class DashboardSource:
    """The database the dashboard shows: app discovery and one session per app.

    Args:
        dsn: the Postgres DSN (for the ``memory`` provider: the database name).
        provider: the provider's name (``"asyncpg"``, ``"psycopg"`` or ``"memory"``).
        apps: show only these app ids (None: every app found in the database).
    """

    def __init__(self, dsn: str, provider: str = "asyncpg", apps: list[str] | None = None):
        self.dsn = dsn
        self.provider = provider
        self.only = list(apps) if apps else None
        self._sessions: dict[str, AppSession] = {}
        self._lock = asyncio.Lock()
        self._apps: tuple[float, list[AppInfo]] | None = None

    def _takes_dsn(self) -> bool:
        """False for a provider without a DSN (``memory``): ``dsn`` is then its database
        name (``{"name": dsn}``)."""
        provider: Any = provider_for(self.provider)
        return "dsn" in getattr(provider, "capabilities", frozenset({"dsn"}))

    def connection(self) -> dict[str, Any]:
        """The ``connection`` mapping every session uses."""
        if not self._takes_dsn():
            return {"class": self.provider, "options": {"name": self.dsn}}
        return {"class": self.provider, "options": {"dsn": self.dsn, "max_size": 4}}

    async def apps(self) -> list[AppInfo]:
        """The apps to show, by id (cached briefly)."""
        now = time.monotonic()
        if self._apps is None or now - self._apps[0] > CACHE_SECONDS:
            provider: Any = provider_for(self.provider)
            if not isinstance(provider, AppDirectory):
                raise ConfigError(
                    f"provider {self.provider!r} cannot list apps; give --app", value=self.provider
                )
            where = {"dsn": self.dsn} if self._takes_dsn() else {"name": self.dsn}
            found = await provider.list_apps(where)
            if self.only is not None:
                found = [a for a in found if a.app_id in self.only]
            self._apps = (now, sorted(found, key=lambda a: a.app_id))
        return self._apps[1]

    async def session(self, app_id: str) -> AppSession:
        """The app's session, joined on first use.

        Raises:
            ConfigError: no app with this id is stored (or it is not shown).
        """
        async with self._lock:
            found = self._sessions.get(app_id)
            if found is not None:
                return found
            if app_id not in {a.app_id for a in await self.apps()}:
                raise ConfigError(f"no app {app_id!r} in this database", value=app_id)
            hm = await HotMesh.init(
                app_id=app_id, engine={"connection": self.connection(), "readonly": True}
            )
            session = self._sessions[app_id] = AppSession(app_id=app_id, hm=hm)
            return session

    def open_sessions(self) -> list[AppSession]:
        """The sessions joined so far."""
        return list(self._sessions.values())

    async def close(self) -> None:
        """Leave every app (stop the read-only members)."""
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.hm.stop()
