"""hotmesh.plugins: which provider a connection class selects, connection shapes, codecs."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import psycopg
import psycopg_pool
import pytest

from hotmesh.errors import CodecNotFound, ConfigError, ProviderNotFound
from hotmesh.plugins import (
    codec_names,
    load_codec,
    provider_for,
    provider_names,
    split_connection,
)
from hotmesh.spi import Codec, Provider
from hotmesh_asyncpg import AsyncpgProvider
from hotmesh_codecs.gzip import GzipCodec
from hotmesh_psycopg import PsycopgProvider


class SomeDriver:
    """A class no provider claims."""


def test_both_postgres_providers_are_installed() -> None:
    assert {"asyncpg", "psycopg"} <= set(provider_names())
    assert provider_names() == sorted(provider_names())


@pytest.mark.parametrize(
    ("connection_class", "expected"),
    [
        (asyncpg, AsyncpgProvider),
        (asyncpg.Pool, AsyncpgProvider),
        (asyncpg.Connection, AsyncpgProvider),
        ("asyncpg", AsyncpgProvider),
        ("hotmesh_asyncpg", AsyncpgProvider),
        (psycopg, PsycopgProvider),
        (psycopg.AsyncConnection, PsycopgProvider),
        (psycopg_pool.AsyncConnectionPool, PsycopgProvider),
        (psycopg_pool, PsycopgProvider),
        ("psycopg", PsycopgProvider),
    ],
    ids=repr,
)
def test_provider_for_known_connection_classes(
    connection_class: object, expected: type[Provider]
) -> None:
    assert provider_for(connection_class) is expected
    assert isinstance(expected, Provider)


@pytest.mark.parametrize(
    ("connection_class", "described"),
    [
        ("mysql", "mysql"),
        ("psycopg2", "psycopg2"),
        ("", ""),
        (json, "json"),
        (SomeDriver, f"{__name__}.SomeDriver"),
        (42, "42"),
    ],
    ids=repr,
)
def test_unknown_connection_class_names_installed_providers(
    connection_class: object, described: str
) -> None:
    with pytest.raises(ProviderNotFound) as info:
        provider_for(connection_class)
    err = info.value
    assert err.value == described
    assert {"asyncpg", "psycopg"} <= set(err.installed)
    assert "installed providers: " in str(err)
    assert "asyncpg" in str(err) and "psycopg" in str(err)


def test_split_connection_short_form_serves_every_role() -> None:
    config = {"class": asyncpg, "options": {"dsn": "postgresql:///x"}}
    roles = split_connection(config)
    assert set(roles) == {"store", "stream", "sub"}
    assert all(role is config for role in roles.values())


def test_split_connection_without_options_is_accepted() -> None:
    assert split_connection({"class": "psycopg"})["sub"] == {"class": "psycopg"}


def test_split_connection_per_role_form() -> None:
    store = {"class": asyncpg, "options": {"dsn": "a"}}
    stream = {"class": psycopg, "options": {"dsn": "b"}}
    sub = {"class": "asyncpg"}
    assert split_connection({"store": store, "stream": stream, "sub": sub}) == {
        "store": store,
        "stream": stream,
        "sub": sub,
    }


@pytest.mark.parametrize(
    ("connection", "value"),
    [
        ({"store": {"class": "asyncpg"}}, ["stream", "sub"]),
        ({"store": {"class": "asyncpg"}, "stream": {"class": "asyncpg"}}, ["sub"]),
        ({"options": {"dsn": "x"}}, "connection"),
        ({}, "connection"),
        ({"class": "asyncpg", "options": "dsn=x"}, "connection"),
        (
            {"store": {"class": "a"}, "stream": {"class": "a"}, "sub": "asyncpg"},
            "sub",
        ),
        (
            {"store": {"class": "a"}, "stream": {"options": {}}, "sub": {"class": "a"}},
            "stream",
        ),
        (["asyncpg"], "list"),
        ("postgresql://x", "str"),
    ],
    ids=repr,
)
def test_split_connection_rejects_bad_shapes(connection: Any, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        split_connection(connection)
    assert info.value.value == value


def test_load_codec_gzip() -> None:
    assert "gzip" in codec_names()
    codec = load_codec("gzip")
    assert isinstance(codec, GzipCodec) and isinstance(codec, Codec)
    assert codec.name == "gzip"
    assert codec.decode(codec.encode("héllo " * 50)) == "héllo " * 50


def test_load_codec_passes_options() -> None:
    codec = load_codec("gzip", level=1)
    assert isinstance(codec, GzipCodec) and codec.level == 1


def test_load_unknown_codec() -> None:
    with pytest.raises(CodecNotFound) as info:
        load_codec("rot13")
    assert info.value.value == "rot13"
    assert "gzip" in info.value.installed
    assert "installed codecs: " in str(info.value) and "gzip" in str(info.value)
