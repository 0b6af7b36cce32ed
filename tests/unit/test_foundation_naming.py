"""hotmesh_postgres.naming and .targets: schema/channel names, quoting, safe targets."""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hotmesh.errors import ConfigError
from hotmesh_postgres.naming import channel_name, quote_ident, quote_literal, schema_name
from hotmesh_postgres.targets import describe_target

MAX_IDENT = 63


@pytest.mark.parametrize(
    ("app_id", "schema"),
    [
        ("orders", "orders"),
        ("Order-App", "order_app"),
        ("a--b__c-_-d", "a_b_c_d"),
        ("app_", "app"),
        ("X1", "x1"),
        ("9lives", "9lives"),
        ("a" * 63, "a" * 63),
    ],
)
def test_schema_name(app_id: str, schema: str) -> None:
    assert schema_name(app_id) == schema


@pytest.mark.parametrize(
    "app_id",
    [
        "",
        "a" * 64,
        "bad app!",
        "with.dot",
        "semi;colon",
        'quo"te',
        "café",
        "-leading",
        "_leading",
        "abc\n",  # `$` also matches before a trailing newline
        "public",
        "PUBLIC",
        "information_schema",
        "pg_x",
        "PG-catalog",
    ],
)
def test_schema_name_rejects(app_id: str) -> None:
    with pytest.raises(ConfigError) as info:
        schema_name(app_id)
    assert info.value.value == app_id


def test_schema_name_rejects_non_strings() -> None:
    with pytest.raises(ConfigError):
        schema_name(None)  # type: ignore[arg-type]


def test_channel_name_short_schema() -> None:
    assert channel_name("w", "orders") == "hotmesh_w_orders"
    assert channel_name("s", "orders") == "hotmesh_s_orders"


@pytest.mark.parametrize("length", [50, 52, 53, 54, 60, 63])
@pytest.mark.parametrize("kind", ["w", "s"])
def test_channel_name_fits_an_identifier_for_long_schemas(kind: str, length: int) -> None:
    schema = schema_name("x" * length)
    assert len(channel_name(kind, schema)) <= MAX_IDENT


def test_channel_names_differ_for_schemas_sharing_a_long_prefix() -> None:
    prefix = "p" * 50
    schemas = [schema_name(prefix + suffix) for suffix in ("a", "b", "_1", "x" * 13)]
    names = {channel_name("w", s)[:MAX_IDENT] for s in schemas}
    assert len(names) == len(schemas), "Postgres truncates to 63 bytes; they must still differ"
    assert channel_name("w", schemas[0]) != channel_name("s", schemas[0])


def test_quote_ident_doubles_quotes() -> None:
    assert quote_ident("orders") == '"orders"'
    assert quote_ident('a"b') == '"a""b"'
    assert quote_ident('"') == '""""'


def test_quote_literal_doubles_quotes() -> None:
    assert quote_literal("hotmesh_w_x") == "'hotmesh_w_x'"
    assert quote_literal("it's") == "'it''s'"
    assert quote_literal("''") == "''''''"


@pytest.mark.parametrize("quote_fn", [quote_ident, quote_literal])
def test_quoting_rejects_nul(quote_fn: object) -> None:
    with pytest.raises(ConfigError):
        quote_fn("a\x00b")  # type: ignore[operator]


# -- describe_target -----------------------------------------------------------------------

WHERE = "db.example:5433/app"
passwords = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=8, max_size=40
)


@settings(database=None, max_examples=300, deadline=None)
@given(password=passwords, user=st.sampled_from(["u", "app_user", "x@y"]))
def test_describe_target_never_shows_the_password(password: str, user: str) -> None:
    assume(password not in WHERE)
    uri = f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@db.example:5433/app"
    escaped = password.replace("\\", "\\\\").replace("'", "\\'")
    keyword = f"host=db.example port=5433 dbname=app user=u password='{escaped}'"
    for options in (
        {"dsn": uri},
        {"conninfo": uri},
        {"dsn": keyword},
        {"host": "db.example", "port": 5433, "database": "app", "password": password},
        {"dsn": uri, "password": password},
    ):
        described = describe_target(options)
        assert password not in described
        assert quote(password, safe="") not in described


@settings(database=None, max_examples=100, deadline=None)
@given(
    password=st.text(alphabet=string.ascii_letters + string.digits + "!#$%&*+-.^_|~", min_size=8)
)
def test_describe_target_names_the_right_host(password: str) -> None:
    assert (
        describe_target({"dsn": f"postgresql://u:{quote(password)}@db.example:5433/app"}) == WHERE
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"dsn": "postgresql://u:secret@db.example:5433/app"}, "db.example:5433/app"),
        ({"dsn": "postgres://db.example/app"}, "db.example/app"),
        ({"dsn": "postgresql://u:secret@[::1]:5432/app"}, "::1:5432/app"),
        ({"dsn": "host=db.example port=5433 dbname=app user=u password=secret"}, WHERE),
        ({"conninfo": "host=db.example dbname=app password=secret"}, "db.example/app"),
        ({"host": "db.example", "port": 5433, "database": "app", "password": "secret"}, WHERE),
        ({"host": "db.example", "dbname": "app"}, "db.example/app"),
        ({}, "localhost"),
        ({"dsn": "postgresql://u:secret@/app?host=/var/run/postgresql"}, "/var/run/postgresql/app"),
        ({"dsn": "postgresql:///app?host=%2Ftmp%2Fpg"}, "/tmp/pg/app"),
        ({"dsn": "postgresql://u:secret@db.example:notaport/app"}, "(unparseable dsn)"),
    ],
    ids=repr,
)
def test_describe_target_shapes(options: dict[str, object], expected: str) -> None:
    described = describe_target(options)
    assert described == expected
    assert "secret" not in described


def test_describe_target_keyword_dsn_with_quoted_password_containing_host() -> None:
    # libpq reads password='x host=leak' as one value; a naive split takes "host=leak'".
    dsn = "host=db.example port=5433 dbname=app password='x host=leak'"
    assert describe_target({"dsn": dsn}) == WHERE
