"""Bad connection input fails with typed hotmesh errors, and stored data survives it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from hotmesh.errors import (
    AuthenticationFailed,
    ConfigError,
    DatabaseUnavailable,
    PayloadError,
    ProviderNotFound,
)
from hotmesh.plugins import provider_for
from hotmesh.spi import OutgoingMessage
from hotmesh_conformance.harness import BackendFactory, assert_eventually

UNREACHABLE = "postgresql://u:s3cret-pw@127.0.0.1:1/db"  # nothing listens on port 1


async def test_unknown_provider_name(hotmesh_dsn: str) -> None:
    with pytest.raises(ProviderNotFound) as info:
        await BackendFactory("mysql", {"dsn": hotmesh_dsn}).open()
    assert info.value.value == "mysql"
    assert {"asyncpg", "psycopg"} <= set(info.value.installed)


@pytest.mark.parametrize(
    "dsn",
    ["postgresql://u:p@127.0.0.1:notaport/db", "not a dsn", "postgresql://[bad", "foo=bar"],
)
async def test_malformed_dsn_is_a_config_error(backends: BackendFactory, dsn: str) -> None:
    with pytest.raises(ConfigError) as info:
        await backends.open(dsn=dsn)
    assert not isinstance(info.value, ProviderNotFound)


async def test_unreachable_host_is_database_unavailable(backends: BackendFactory) -> None:
    with pytest.raises(DatabaseUnavailable) as info:
        await backends.open(dsn=UNREACHABLE)
    err = info.value
    assert "127.0.0.1:1" in str(err)
    assert "127.0.0.1:1" in err.value
    assert "s3cret-pw" not in str(err) and "s3cret-pw" not in str(err.value)
    assert isinstance(err, ConnectionError)


async def test_bad_app_id_fails_before_connecting(backends: BackendFactory) -> None:
    # The DSN is unreachable: a ConfigError (not DatabaseUnavailable) proves no connect.
    with pytest.raises(ConfigError) as info:
        await backends.open(app_id="bad app!", dsn=UNREACHABLE)
    assert info.value.value == "bad app!"
    assert not isinstance(info.value, DatabaseUnavailable)


async def test_failed_connects_lose_nothing_stored(backends: BackendFactory) -> None:
    app_id = backends.new_app_id("keep")
    good = await backends.open(app_id=app_id)
    await good.stream.publish([OutgoingMessage("s", {"kept": True})])
    for bad in ({"dsn": UNREACHABLE}, {"dsn": "not a dsn"}):
        with pytest.raises((ConfigError, DatabaseUnavailable)):
            await backends.open(app_id=app_id, **bad)
    with pytest.raises(PayloadError):
        await good.stream.publish(
            [OutgoingMessage("s", {"n": 1}), OutgoingMessage("s", {"x": {1}})]
        )
    again = await backends.open(app_id=app_id)
    claimed = await again.stream.claim("s", limit=10)
    assert [m.payload for m in claimed] == [{"kept": True}], "one batch is all or nothing"


# -- wrong password ------------------------------------------------------------------------


async def _rejects(dsn: str, user: str, password: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, user=user, password=password)
    except asyncpg.InvalidPasswordError:
        return True
    await conn.close()
    return False


@pytest.fixture(scope="module")
async def password_role(hotmesh_dsn: str) -> AsyncIterator[tuple[str, str]]:
    """A login role with a password the server really checks: ``(user, password)``.

    The embedded cluster trusts every connection; when it does and its pg_hba.conf is ours
    to edit, a rule demanding scram for this one role is added for the module.
    """
    user, password = f"hm_auth_{uuid.uuid4().hex[:8]}", "right-Pa55"
    admin = await asyncpg.connect(hotmesh_dsn)
    hba: Path | None = None
    original = ""
    try:
        try:
            await admin.execute(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")
        except asyncpg.InsufficientPrivilegeError:
            pytest.skip("the test database user may not create roles")
        if not await _rejects(hotmesh_dsn, user, "wrong"):
            hba = Path(await admin.fetchval("SELECT current_setting('hba_file')"))
            if not (hba.is_file() and os.access(hba, os.W_OK)):
                pytest.skip(f"server trusts {user} and {hba} is not writable here")
            original = hba.read_text()
            rules = f"local all {user} scram-sha-256\nhost all {user} all scram-sha-256\n"
            hba.write_text(rules + original)
            await admin.execute("SELECT pg_reload_conf()")
            await assert_eventually(
                lambda: _rejects(hotmesh_dsn, user, "wrong"), message="pg_hba reload"
            )
        assert not await _rejects(hotmesh_dsn, user, password), "right password must work"
        yield user, password
    finally:
        if hba is not None:
            hba.write_text(original)
            await admin.execute("SELECT pg_reload_conf()")
        await admin.execute(f"DROP ROLE IF EXISTS {user}")
        await admin.close()


async def test_wrong_password_is_authentication_failed(
    hotmesh_provider: str, hotmesh_dsn: str, password_role: tuple[str, str]
) -> None:
    user, _ = password_role
    provider = provider_for(hotmesh_provider)
    with pytest.raises(AuthenticationFailed) as info:
        await provider.connect(
            {"dsn": hotmesh_dsn, "user": user, "password": "Wr0ng-pw"}, app_id="auth-app"
        )
    assert info.value.value == user
    assert "Wr0ng-pw" not in str(info.value)
    assert isinstance(info.value, PermissionError)
