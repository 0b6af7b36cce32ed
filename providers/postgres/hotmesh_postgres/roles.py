"""Provision, list, revoke and rotate secured worker roles (docs/security.md).

Run with an owner connection. Role names are generated from the schema and the streams
(``hmsh_wrk_<schema>_<streams>_<hash>``), checked against a strict pattern and quoted.
Passwords never reach the server in clear: a SCRAM-SHA-256 verifier is computed here and
sent instead, so neither the statement text nor server logs hold the password; nothing
here logs it either.

Example:
    >>> role_name("orders", ["order.process"])
    'hmsh_wrk_orders_order_process_1a24098f'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

from hotmesh.errors import ConfigError
from hotmesh.mesh.roles import WorkerCredential, WorkerCredentialInfo
from hotmesh_postgres.driver import Driver, Executor
from hotmesh_postgres.naming import quote_ident, quote_literal
from hotmesh_postgres.schema import Queries

__all__ = [
    "ROLE_PATTERN",
    "generate_password",
    "list_worker_roles",
    "provision_worker_role",
    "revoke_worker_role",
    "role_name",
    "rotate_worker_password",
    "scram_verifier",
]

#: Names this module generates and the only ones it will alter.
ROLE_PATTERN = re.compile(r"^hmsh_wrk_[a-z0-9_]{1,54}$")
_PASSWORD = re.compile(r"^[\x21-\x7e]{12,1024}$")
_STREAM = re.compile(r"^[^\x00-\x1f$][^\x00-\x1f]{0,254}$")
_MAX_IDENT = 63

#: Every function a worker role may execute (full signatures, as GRANT needs them).
WORKER_FUNCTIONS = (
    "worker_claim(text, int, float8, text)",
    "worker_ack(bigint[], int[])",
    "worker_extend(bigint[], int[], float8)",
    "worker_retry(bigint, int, float8, text)",
    "worker_dead_letter(bigint[], int[], text)",
    "worker_respond(text[], smallint[], float8[], int[], float8[], float8[], float8[], text[],"
    " text[], bigint, int)",
    "worker_depth(text[])",
    "worker_setting(text)",
)


def role_name(schema: str, stream_names: Sequence[str]) -> str:
    """The role of a worker of ``stream_names`` in ``schema``: readable, unique, <= 63 chars.

    The hash of the exact (schema, streams) keeps names apart that fold to the same text.

    Example:
        >>> role_name("orders", ["a.b"]) != role_name("orders", ["a_b"])
        True
    """
    streams = sorted(set(stream_names))
    digest = hashlib.sha256("\x00".join([schema, *streams]).encode()).hexdigest()[:8]
    readable = "__".join(re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_") for s in streams)
    base = f"hmsh_wrk_{schema}_{readable}"[: _MAX_IDENT - len(digest) - 1].rstrip("_")
    return f"{base}_{digest}"


def generate_password() -> str:
    """A random password (256 bits, URL-safe) from :mod:`secrets`."""
    return secrets.token_urlsafe(32)


def scram_verifier(password: str, *, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier Postgres stores for ``password`` (RFC 5802/7677).

    Example:
        >>> scram_verifier("correct-horse-battery").startswith("SCRAM-SHA-256$4096:")
        True
    """
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _check_password(password: str | None) -> str:
    if password is None:
        return generate_password()
    if not isinstance(password, str) or not _PASSWORD.fullmatch(password):
        # The password itself is never put in the message.
        raise ConfigError(
            "a worker password must be 12-1024 printable ASCII characters without spaces",
            value="password",
        )
    return password


def _check_role(name: str) -> str:
    if not isinstance(name, str) or not ROLE_PATTERN.fullmatch(name):
        raise ConfigError(f"{name!r} is not a worker role name", value=name)
    return name


def _check_streams(stream_names: Sequence[str]) -> list[str]:
    streams = list(stream_names)
    if not streams:
        raise ConfigError("give at least one stream name", value="stream_names")
    for stream in streams:
        if not isinstance(stream, str) or not _STREAM.fullmatch(stream):
            raise ConfigError(
                f"stream name {stream!r} is invalid (1-255 characters, not starting with '$')",
                value=stream,
            )
    return sorted(set(streams))


async def _known(tx: Executor, q: Queries, name: str) -> bool:
    return bool(await tx.fetchval(q.role_known, name))


async def provision_worker_role(
    driver: Driver, schema: str, stream_names: Sequence[str], password: str | None
) -> WorkerCredential:
    """Create or re-enable the worker role of ``stream_names`` (see the module doc).

    Raises:
        ConfigError: bad streams or password, or the name belongs to a foreign role.
    """
    streams = _check_streams(stream_names)
    secret = _check_password(password)
    name = _check_role(role_name(schema, streams))
    role, space = quote_ident(name), quote_ident(schema)
    verifier = quote_literal(scram_verifier(secret))
    q = Queries(schema)
    async with driver.transaction() as tx:
        await tx.execute(q.role_lock, name)
        exists = await tx.fetchval(q.role_exists, name)
        if exists and not await _known(tx, q, name):
            raise ConfigError(
                f"role {name!r} exists and is not a worker role of schema {schema!r}", value=name
            )
        verb = "ALTER" if exists else "CREATE"
        await tx.execute(f"{verb} ROLE {role} LOGIN NOINHERIT PASSWORD {verifier}")
        await tx.execute(f"GRANT USAGE ON SCHEMA {space} TO {role}")
        for signature in WORKER_FUNCTIONS:
            await tx.execute(f"GRANT EXECUTE ON FUNCTION {space}.{signature} TO {role}")
        await tx.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {space} FROM {role}")
        await tx.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {space} FROM {role}")
        await tx.execute(q.role_record, name, streams)
    return WorkerCredential(role_name=name, password=secret, stream_names=tuple(streams))


async def list_worker_roles(driver: Driver, schema: str) -> list[WorkerCredentialInfo]:
    """The audit rows of ``schema``'s worker roles, oldest first."""
    rows = await driver.fetch(Queries(schema).role_list)
    return [
        WorkerCredentialInfo(
            id=int(r[0]),
            role_name=r[1],
            stream_names=tuple(r[2]),
            created_at=r[3],
            revoked_at=r[4],
            last_rotated_at=r[5],
        )
        for r in rows
    ]


async def revoke_worker_role(driver: Driver, schema: str, name: str) -> None:
    """NOLOGIN the role and stamp ``revoked_at`` (which the functions check on every call).

    Raises:
        ConfigError: ``name`` is not a worker role of ``schema``.
    """
    role = quote_ident(_check_role(name))
    q = Queries(schema)
    async with driver.transaction() as tx:
        if not await _known(tx, q, name):
            raise ConfigError(f"{name!r} is not a worker role of schema {schema!r}", value=name)
        await tx.execute(f"ALTER ROLE {role} NOLOGIN")
        await tx.execute(q.role_revoked, name)


async def rotate_worker_password(
    driver: Driver, schema: str, name: str, password: str | None
) -> str:
    """Set a new password (random unless given) and return it.

    Raises:
        ConfigError: ``name`` is not a worker role of ``schema``, or the password is bad.
    """
    role = quote_ident(_check_role(name))
    secret = _check_password(password)
    verifier = quote_literal(scram_verifier(secret))
    q = Queries(schema)
    async with driver.transaction() as tx:
        if not await _known(tx, q, name):
            raise ConfigError(f"{name!r} is not a worker role of schema {schema!r}", value=name)
        await tx.execute(f"ALTER ROLE {role} PASSWORD {verifier}")
        await tx.execute(q.role_rotated, name)
    return secret
