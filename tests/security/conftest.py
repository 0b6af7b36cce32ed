"""Fixtures for secured worker roles: an owner connection and passwords the server checks."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hotmesh_conformance.harness import assert_eventually

RequirePassword = Callable[[str], Awaitable[None]]


@pytest.fixture
def app_id() -> str:
    """A fresh app id (and so a fresh schema and fresh role names) per test."""
    return f"sec-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def owner(hotmesh_provider: str, hotmesh_dsn: str) -> dict[str, Any]:
    """The owner connection of the provider under test."""
    return {"class": hotmesh_provider, "options": {"dsn": hotmesh_dsn}}


async def rejects(dsn: str, user: str, password: str) -> bool:
    """True when the server refuses ``user`` with ``password``."""
    try:
        conn = await asyncpg.connect(dsn, user=user, password=password)
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
        return True
    await conn.close()
    return False


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


def _write(path: Path, text: str) -> None:
    path.write_text(text)


async def _checks_password(dsn: str, user: str) -> bool:
    """True when the server asks ``user`` for a password (existing or not)."""
    try:
        conn = await asyncpg.connect(dsn, user=user, password="certainly-wrong-password")
    except asyncpg.InvalidPasswordError:
        return True
    except asyncpg.InvalidAuthorizationSpecificationError:
        return False  # trusted, and the role does not exist (yet)
    await conn.close()
    return False


@pytest.fixture
async def require_password(hotmesh_dsn: str) -> AsyncIterator[RequirePassword]:
    """``await require_password(role)``: the server then checks that role's password.

    The embedded cluster trusts its socket; a scram rule for the role is put first in
    pg_hba.conf (restored afterwards). Roles named are dropped at the end of the test.
    """
    admin = await asyncpg.connect(hotmesh_dsn)
    hba = Path(await admin.fetchval("SELECT current_setting('hba_file')"))
    original = _read(hba)
    roles: list[str] = []

    async def require(role: str) -> None:
        roles.append(role)
        if await _checks_password(hotmesh_dsn, role):
            return  # a real server (the role need not exist to tell)
        if original is None or not os.access(hba, os.W_OK):
            pytest.skip(f"server trusts {role} and {hba} is not writable here")
        rules = "".join(
            f"local all {r} scram-sha-256\nhost all {r} all scram-sha-256\n" for r in roles
        )
        _write(hba, rules + original)
        await admin.execute("SELECT pg_reload_conf()")
        await assert_eventually(lambda: _checks_password(hotmesh_dsn, role), message="pg_hba")

    try:
        yield require
    finally:
        if original is not None and roles:
            _write(hba, original)
            await admin.execute("SELECT pg_reload_conf()")
        for role in roles:
            exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            if exists:
                await admin.execute(f'DROP OWNED BY "{role}"')
                await admin.execute(f'DROP ROLE "{role}"')
        await admin.close()
