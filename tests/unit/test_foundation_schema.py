"""hotmesh_postgres.schema: numbered migrations and named queries rendered per schema."""

from __future__ import annotations

import re

import pytest

from hotmesh_postgres.naming import channel_name, quote_ident, quote_literal, schema_name
from hotmesh_postgres.schema import Migration, Queries, migrations

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
QUERY_NAMES = {
    "publish", "claim", "ack", "extend", "retry", "dead_letter", "dead_letters", "depth",
    "purge", "next_visible", "sub_park", "sub_fetch", "sub_notify", "put_version",
    "get_version", "list_versions", "activate", "set_setting", "get_setting", "create_job",
    "get_job", "apply_step", "delete_job", "migrations_bootstrap", "migrations_record",
    "role_record", "role_list",
}  # fmt: skip


def test_migrations_are_numbered_one_to_n() -> None:
    found = migrations()
    assert len(found) >= 2
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert all(isinstance(m, Migration) and m.name and m.sql.strip() for m in found)
    assert [m.name for m in found[:2]] == ["streams", "store"]


def test_migrations_use_only_known_placeholders() -> None:
    for migration in migrations():
        unknown = set(PLACEHOLDER.findall(migration.sql)) - {"{schema}", "{wake_channel_literal}"}
        assert not unknown, f"migration {migration.version}: {unknown}"
        assert "{schema}." in migration.sql, "every object must live in the app schema"


def raw_query_names(queries: Queries) -> set[str]:
    return {
        name for name, value in vars(queries).items() if name != "schema" and isinstance(value, str)
    }


def test_queries_include_every_query_the_providers_use() -> None:
    missing = QUERY_NAMES - raw_query_names(Queries("orders"))
    assert not missing, missing


@pytest.mark.parametrize("app_id", ["orders", "Order-App", "x" * 63])
def test_every_query_is_rendered_for_the_quoted_schema(app_id: str) -> None:
    schema = schema_name(app_id)
    queries = Queries(schema)
    assert queries.schema == schema
    for name in raw_query_names(queries):
        sql = getattr(queries, name)
        assert not PLACEHOLDER.search(sql), f"{name} keeps a placeholder"
        assert sql.strip(), f"{name} is empty"
        if ("FROM" in sql or "INTO" in sql or "UPDATE" in sql) and "pg_catalog." not in sql:
            assert f"{quote_ident(schema)}." in sql, f"{name} does not name the schema"


def test_queries_differ_only_by_schema() -> None:
    one, two = Queries("one_app"), Queries("two_app")
    for name in raw_query_names(one):
        assert getattr(one, name).replace('"one_app"', '"two_app"') == getattr(two, name)


def test_channel_literal_is_quotable() -> None:
    schema = schema_name("orders")
    assert quote_literal(channel_name("w", schema)) == "'hotmesh_w_orders'"


def test_every_claim_path_calls_the_one_claim_function() -> None:
    """claim, claim_with_job (through claim_with_job_v1) and the secured worker_claim
    share claim_v1."""
    queries = Queries("app")
    for name in ("claim", "claim_with_job", "secured_claim"):
        sql = getattr(queries, name)
        assert "SKIP LOCKED" not in sql, f"{name} repeats the claim instead of calling it"
    assert '"app".claim_v1($1, $2, $3, $4)' in queries.claim  # type: ignore[attr-defined]
    assert '"app".claim_with_job_v1($1, $2, $3, $4)' in queries.claim_with_job  # type: ignore[attr-defined]
    latest = {}
    for migration in migrations():
        for function in re.findall(r"FUNCTION \{schema\}\.(\w+)\(", migration.sql):
            latest[function] = migration
    assert "SKIP LOCKED" in latest["claim_v1"].sql
    # The job is read by a statement of its own, after the claim (newer snapshot).
    body = latest["claim_with_job_v1"].sql.split("FUNCTION {schema}.claim_with_job_v1(")[1]
    claim, read = body.split("RETURN QUERY")
    assert "claim_v1(p_stream, p_limit, p_lease, p_consumer)" in claim
    assert "LEFT JOIN {schema}.jobs" in read and "SKIP LOCKED" not in body
    body = latest["worker_claim"].sql.split("FUNCTION {schema}.worker_claim(")[1]
    assert "claim_v1(p_stream, p_limit, p_lease, p_consumer)" in body
    assert "SKIP LOCKED" not in body
