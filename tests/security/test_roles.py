"""Secured worker roles: no table access, stream checks, revoke, rotate, list."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from hotmesh import HotMesh
from hotmesh.errors import AuthenticationFailed, ConfigError, StreamError
from hotmesh.mesh.roles import WorkerCredential, connect_secured
from hotmesh.plugins import provider_for
from hotmesh.spi import Backend, OutgoingMessage
from hotmesh_postgres.naming import schema_name
from hotmesh_postgres.roles import role_name
from hotmesh_postgres.secured import is_access_denied
from tests.security.conftest import RequirePassword, rejects

#: Every table of an app schema, with a column an UPDATE may name.
TABLES = {
    "stream_messages": "stream", "dead_letters": "error", "app_versions": "manifest",
    "settings": "value", "jobs": "state", "sub_payloads": "payload", "hook_signals": "kind",
    "worker_credentials": "revoked_at", "hotmesh_migrations": "name", "stats": "value",
    "stats_index": "job_id", "escalations": "status",
}  # fmt: skip


async def _provision(
    owner: dict[str, Any], app_id: str, require_password: RequirePassword, *streams: str
) -> WorkerCredential:
    await require_password(role_name(schema_name(app_id), list(streams)))
    return await HotMesh.provision_worker_role(
        connection=owner, namespace=app_id, stream_names=list(streams)
    )


async def _owner_backend(owner: dict[str, Any], app_id: str) -> Backend:
    return await provider_for(owner["class"]).connect(owner["options"], app_id=app_id)


async def test_role_cannot_touch_any_table(
    owner: dict[str, Any], app_id: str, hotmesh_dsn: str, require_password: RequirePassword
) -> None:
    cred = await _provision(owner, app_id, require_password, "sec.a")
    assert cred.stream_names == ("sec.a",) and len(cred.password) >= 32
    assert cred.password not in repr(cred)
    schema = f'"{schema_name(app_id)}"'
    conn = await asyncpg.connect(hotmesh_dsn, user=cred.role_name, password=cred.password)
    try:
        tables = await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = $1 AND c.relkind = 'r'",
            schema_name(app_id),
        )
        assert {r[0] for r in tables} == set(TABLES), "the list covers every table"
        for table, column in TABLES.items():
            for sql in (
                f"SELECT * FROM {schema}.{table}",
                f"INSERT INTO {schema}.{table} DEFAULT VALUES",
                f"UPDATE {schema}.{table} SET {column} = {column}",
                f"DELETE FROM {schema}.{table}",
            ):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(sql)
        for sequence in ("stream_messages_id_seq", "worker_credentials_id_seq"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(f"SELECT nextval('{schema}.{sequence}')")
        # The allowed streams come from a table, not a setting the session could change.
        await conn.execute("SET app.allowed_streams = 'sec.b'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="not granted"):
            await conn.fetch(f"SELECT * FROM {schema}.worker_claim('sec.b', 1, 30, 'x')")
        # The helper that reads the table is not executable by the role.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch(f"SELECT {schema}.worker_streams()")
        # Nor is the claim itself: it runs only behind worker_claim's stream check.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch(f"SELECT * FROM {schema}.claim_v1('sec.b', 1, 30, 'x')")
        # Respond only reaches the engine stream and the role's own streams.
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="may not publish"):
            await conn.fetch(
                f"SELECT * FROM {schema}.worker_respond('{{sec.b}}', '{{0}}', '{{0}}', '{{3}}',"
                " '{1}', '{10}', '{120}', '{j}', '{x}', NULL, NULL)"
            )
        rows = await conn.fetch(f"SELECT * FROM {schema}.worker_claim('sec.a', 1, 30, 'x')")
        assert rows == []
    finally:
        await conn.close()


async def test_upgrade_to_the_claim_function_keeps_worker_grants(
    owner: dict[str, Any],
    app_id: str,
    require_password: RequirePassword,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A role provisioned before the claim_function migration still claims after it."""
    from hotmesh_postgres import schema as schema_module

    every = schema_module.migrations()
    [claim] = [m for m in every if m.name == "claim_function"]
    before = tuple(m for m in every if m.version < claim.version)
    monkeypatch.setattr(schema_module, "migrations", lambda: before)
    cred = await _provision(owner, app_id, require_password, "sec.a")
    monkeypatch.undo()
    own = await _owner_backend(owner, app_id)  # applies the claim_function migration
    worker = await connect_secured(
        owner, {"user": cred.role_name, "password": cred.password}, app_id=app_id
    )
    try:
        applied = await own.driver.fetchval(  # type: ignore[attr-defined]
            f'SELECT max(version) FROM "{schema_name(app_id)}".hotmesh_migrations'
        )
        assert applied == len(schema_module.migrations()) and len(before) < applied
        await own.stream.publish([OutgoingMessage("sec.a", {"n": 1})])
        [got] = await worker.stream.claim("sec.a")
        assert got.payload == {"n": 1} and await worker.stream.ack([got]) == {got.id}
        with pytest.raises(StreamError, match="access denied"):
            await worker.stream.claim("sec.b")
    finally:
        await worker.close()
        await own.close()


async def test_claims_only_granted_streams(
    owner: dict[str, Any], app_id: str, require_password: RequirePassword
) -> None:
    cred = await _provision(owner, app_id, require_password, "sec.a")
    own = await _owner_backend(owner, app_id)
    worker = await connect_secured(
        owner, {"user": cred.role_name, "password": cred.password}, app_id=app_id
    )
    try:
        await own.stream.publish(
            [OutgoingMessage("sec.a", {"n": 1}), OutgoingMessage("sec.b", {"n": 2})]
        )
        with pytest.raises(StreamError, match="access denied") as info:
            await worker.stream.claim("sec.b")
        assert info.value.value == "sec.b"
        [mine] = await worker.stream.claim("sec.a", limit=10)
        assert mine.payload == {"n": 1}
        # Messages of other streams are out of reach even by id.
        [theirs] = await own.stream.claim("sec.b")
        assert await worker.stream.extend([theirs], 30) == set()
        assert await worker.stream.ack([theirs]) == set()
        assert await worker.stream.dead_letter([theirs], "no") == 0
        with pytest.raises(StreamError, match="access denied"):
            await worker.stream.publish([OutgoingMessage("sec.b", {"forged": True})])
        assert await worker.stream.extend([mine], 30) == {mine.id}
        depth = await worker.stream.depth(["sec.a", "sec.b", "$engine"])
        assert depth["sec.a"].in_flight == 1 and depth["sec.b"].in_flight == 0
        with pytest.raises(StreamError):
            await worker.stream.claim("sec.a", with_job=True)
        with pytest.raises(Exception) as denied:  # either driver's permission error
            await worker.store.get_job("anything")
        assert is_access_denied(denied.value), denied.value
        assert await worker.stream.ack([mine]) == {mine.id}
    finally:
        await worker.close()
        await own.close()


async def test_revoke_disables_login_and_open_sessions(
    owner: dict[str, Any], app_id: str, hotmesh_dsn: str, require_password: RequirePassword
) -> None:
    cred = await _provision(owner, app_id, require_password, "sec.a")
    worker = await connect_secured(
        owner, {"user": cred.role_name, "password": cred.password}, app_id=app_id
    )
    try:
        assert await worker.stream.claim("sec.a") == []
        await HotMesh.revoke_worker_role(
            connection=owner, namespace=app_id, role_name=cred.role_name
        )
        assert await rejects(hotmesh_dsn, cred.role_name, cred.password)
        with pytest.raises(AuthenticationFailed):
            await connect_secured(
                owner, {"user": cred.role_name, "password": cred.password}, app_id=app_id
            )
        with pytest.raises(StreamError, match="not an active worker role"):
            await worker.stream.claim("sec.a")
    finally:
        await worker.close()
    [info] = await HotMesh.list_worker_roles(connection=owner, namespace=app_id)
    assert info.role_name == cred.role_name and info.revoked_at is not None
    # Provisioning again re-enables it, with a new password.
    again = await HotMesh.provision_worker_role(
        connection=owner, namespace=app_id, stream_names=["sec.a"]
    )
    assert again.role_name == cred.role_name and again.password != cred.password
    assert not await rejects(hotmesh_dsn, cred.role_name, again.password)
    [info] = await HotMesh.list_worker_roles(connection=owner, namespace=app_id)
    assert info.revoked_at is None


async def test_rotate_replaces_the_password(
    owner: dict[str, Any], app_id: str, hotmesh_dsn: str, require_password: RequirePassword
) -> None:
    cred = await _provision(owner, app_id, require_password, "sec.a", "sec.b")
    [before] = await HotMesh.list_worker_roles(connection=owner, namespace=app_id)
    assert before.stream_names == ("sec.a", "sec.b")
    rotated = await HotMesh.rotate_worker_password(
        connection=owner, namespace=app_id, role_name=cred.role_name
    )
    assert rotated["password"] != cred.password
    assert await rejects(hotmesh_dsn, cred.role_name, cred.password)
    assert not await rejects(hotmesh_dsn, cred.role_name, rotated["password"])
    chosen = "a-Chosen'pass\\word"  # quotes and backslashes cannot break the statement
    await HotMesh.rotate_worker_password(
        connection=owner, namespace=app_id, role_name=cred.role_name, new_password=chosen
    )
    assert not await rejects(hotmesh_dsn, cred.role_name, chosen)
    [after] = await HotMesh.list_worker_roles(connection=owner, namespace=app_id)
    assert after.last_rotated_at > before.last_rotated_at


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        ("provision_worker_role", {"stream_names": []}),
        ("provision_worker_role", {"stream_names": ["$engine"]}),
        ("provision_worker_role", {"stream_names": ["ok"], "password": "short"}),
        ("provision_worker_role", {"stream_names": ["ok"], "password": "has space in it!"}),
        ("revoke_worker_role", {"role_name": 'x"; DROP ROLE postgres; --'}),
        ("revoke_worker_role", {"role_name": "hmsh_wrk_never_provisioned"}),
        ("rotate_worker_password", {"role_name": "postgres"}),
    ],
)
async def test_bad_input_is_a_config_error(
    owner: dict[str, Any], app_id: str, call: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError) as info:
        await getattr(HotMesh, call)(connection=owner, namespace=app_id, **kwargs)
    assert "has space" not in str(info.value)


async def test_a_foreign_role_is_never_taken_over(
    owner: dict[str, Any], app_id: str, hotmesh_dsn: str
) -> None:
    name = role_name(schema_name(app_id), ["sec.a"])
    admin = await asyncpg.connect(hotmesh_dsn)
    try:
        await admin.execute(f'CREATE ROLE "{name}" NOLOGIN')
        with pytest.raises(ConfigError, match="not a worker role"):
            await HotMesh.provision_worker_role(
                connection=owner, namespace=app_id, stream_names=["sec.a"]
            )
        assert not await admin.fetchval("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", name)
    finally:
        await admin.execute(f'DROP ROLE "{name}"')
        await admin.close()
