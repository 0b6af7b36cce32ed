"""Secured worker roles: provision, list, revoke and rotate (docs/security.md).

A secured worker logs in to Postgres as its own role, which may only claim, renew, retry,
dead-letter and answer messages of the streams it was provisioned for, through functions
that check the login role on every call; it has no privilege on any table. These helpers
are what an operator runs, with an owner connection, to manage such roles. They are also
static methods of :class:`hotmesh.HotMesh`.

Example:
    >>> import asyncpg
    >>> from hotmesh import HotMesh
    >>> async def main(dsn: str) -> None:  # doctest: +SKIP
    ...     owner = {"class": asyncpg, "options": {"dsn": dsn}}
    ...     cred = await HotMesh.provision_worker_role(
    ...         connection=owner, namespace="orders", stream_names=["order.process"]
    ...     )
    ...     hm = await HotMesh.init(app_id="orders", workers=[{
    ...         "topic": "order.process", "connection": owner, "callback": process,
    ...         "worker_credentials": {"user": cred.role_name, "password": cred.password},
    ...     }])
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

from attrs import define, field

from hotmesh.errors import ConfigError
from hotmesh.plugins import provider_for, split_connection
from hotmesh.spi import Backend

__all__ = [
    "DEFAULT_NAMESPACE",
    "WorkerCredential",
    "WorkerCredentialInfo",
    "connect_secured",
    "list_worker_roles",
    "provision_worker_role",
    "revoke_worker_role",
    "rotate_worker_password",
]

#: The app id a role serves when no ``namespace`` is given (the reference's default).
DEFAULT_NAMESPACE = "durable"


@define(frozen=True)
class WorkerCredential:
    """A provisioned worker role and its password (shown once: it is stored only hashed).

    Attributes:
        role_name: the Postgres login role.
        password: its password.
        stream_names: the worker topics it may consume.
    """

    role_name: str
    password: str = field(repr=False)
    stream_names: tuple[str, ...]


@define(frozen=True)
class WorkerCredentialInfo:
    """One row of the audit table of worker roles (no password).

    Attributes:
        id: the row id.
        role_name: the Postgres login role.
        stream_names: the worker topics it may consume.
        created_at: when it was first provisioned.
        revoked_at: when it was revoked (None while active).
        last_rotated_at: when its password was last set.
    """

    id: int
    role_name: str
    stream_names: tuple[str, ...]
    created_at: datetime.datetime
    revoked_at: datetime.datetime | None
    last_rotated_at: datetime.datetime


class _RoleProvider(Protocol):
    """What a provider implements to support secured workers (the Postgres ones do)."""

    @classmethod
    async def provision_worker_role(
        cls,
        options: Mapping[str, Any],
        *,
        app_id: str,
        stream_names: Sequence[str],
        password: str | None,
    ) -> WorkerCredential: ...

    @classmethod
    async def list_worker_roles(
        cls, options: Mapping[str, Any], *, app_id: str
    ) -> list[WorkerCredentialInfo]: ...

    @classmethod
    async def revoke_worker_role(
        cls, options: Mapping[str, Any], *, app_id: str, role_name: str
    ) -> None: ...

    @classmethod
    async def rotate_worker_password(
        cls, options: Mapping[str, Any], *, app_id: str, role_name: str, password: str | None
    ) -> str: ...

    @classmethod
    async def connect_secured(cls, options: Mapping[str, Any], *, app_id: str) -> Backend: ...


def _provider(
    connection: Mapping[str, Any], role: str = "store"
) -> tuple[_RoleProvider, dict[str, Any]]:
    config = split_connection(connection)[role]
    provider = provider_for(config["class"])
    if not hasattr(provider, "provision_worker_role"):
        raise ConfigError(
            f"provider {provider.name!r} does not support secured worker roles",
            value=provider.name,
        )
    return cast(_RoleProvider, provider), dict(config.get("options", {}))


def _namespace(namespace: str | None) -> str:
    return DEFAULT_NAMESPACE if namespace is None else namespace


async def provision_worker_role(
    *,
    connection: Mapping[str, Any],
    namespace: str | None = None,
    password: str | None = None,
    stream_names: Sequence[str],
) -> WorkerCredential:
    """Create (or re-enable) the login role of a worker of ``stream_names``.

    ``connection`` is an owner connection (it migrates the app schema if needed);
    ``namespace`` is the app id (default ``"durable"``). Without ``password`` a random one
    is generated with :mod:`secrets`. Provisioning the same streams again re-enables the
    role and sets a new password.

    Example:
        >>> cred = await provision_worker_role(  # doctest: +SKIP
        ...     connection=owner, namespace="orders", stream_names=["order.process"])
        >>> cred.role_name  # doctest: +SKIP
        'hmsh_wrk_orders_order_process_3f2a9c1d'

    Raises:
        ConfigError: no stream, a bad stream name or password, or a role of that name
            exists that is not a worker role of this app.
    """
    provider, options = _provider(connection)
    if isinstance(stream_names, str):
        raise ConfigError("stream_names must be a list of topics", value=stream_names)
    return await provider.provision_worker_role(
        options, app_id=_namespace(namespace), stream_names=list(stream_names), password=password
    )


async def list_worker_roles(
    *, connection: Mapping[str, Any], namespace: str | None = None
) -> list[WorkerCredentialInfo]:
    """Every worker role ever provisioned for the app, oldest first (revoked ones too).

    Example:
        >>> [r.role_name for r in await list_worker_roles(connection=owner,  # doctest: +SKIP
        ...                                             namespace="orders")]
        ['hmsh_wrk_orders_order_process_3f2a9c1d']
    """
    provider, options = _provider(connection)
    return await provider.list_worker_roles(options, app_id=_namespace(namespace))


async def revoke_worker_role(
    *, connection: Mapping[str, Any], namespace: str | None = None, role_name: str
) -> None:
    """Disable the role's login and its access (at once, open sessions included).

    The role and its audit row are kept; provisioning it again re-enables it.

    Example:
        >>> await revoke_worker_role(connection=owner, namespace="orders",  # doctest: +SKIP
        ...                          role_name=cred.role_name)

    Raises:
        ConfigError: ``role_name`` is not a worker role of this app.
    """
    provider, options = _provider(connection)
    await provider.revoke_worker_role(options, app_id=_namespace(namespace), role_name=role_name)


async def rotate_worker_password(
    *,
    connection: Mapping[str, Any],
    namespace: str | None = None,
    role_name: str,
    new_password: str | None = None,
) -> dict[str, str]:
    """Set a new password (random unless given); the old one stops working at once.

    Example:
        >>> (await rotate_worker_password(connection=owner, namespace="orders",  # doctest: +SKIP
        ...                               role_name=cred.role_name))["password"]
        'q9...'

    Raises:
        ConfigError: ``role_name`` is not a worker role of this app, or the password is bad.
    """
    provider, options = _provider(connection)
    password = await provider.rotate_worker_password(
        options, app_id=_namespace(namespace), role_name=role_name, password=new_password
    )
    return {"password": password}


async def connect_secured(
    connection: Mapping[str, Any], credentials: Mapping[str, str], *, app_id: str
) -> Backend:
    """Connect a secured worker: every role of ``connection`` logs in as ``credentials``.

    The stream role's driver and options are used, with ``user`` and ``password``
    replaced, for the stream, the sub and the (throttle-only) store alike.

    Raises:
        ConfigError: ``credentials`` lacks ``user`` or ``password``.
        AuthenticationFailed: the database refused the login (revoked, wrong password).
    """
    if not isinstance(credentials, Mapping):
        raise ConfigError("worker_credentials must be a mapping", value="worker_credentials")
    user, password = credentials.get("user"), credentials.get("password")
    if not isinstance(user, str) or not user or not isinstance(password, str):
        raise ConfigError(
            'worker_credentials needs a "user" and a "password"', value="worker_credentials"
        )
    provider, options = _provider(connection, "stream")
    options = {**options, "user": user, "password": password}
    return await provider.connect_secured(options, app_id=app_id)
