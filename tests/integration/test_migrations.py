"""Schema migrations: exactly once under real concurrent processes, and what they build."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from hotmesh.spi import Backend, OutgoingMessage
from hotmesh_conformance.harness import BackendFactory
from hotmesh_postgres.naming import schema_name
from hotmesh_postgres.schema import migrations

WORKER = Path(__file__).with_name("migrate_worker.py")
PROCESSES = 10


def driver(backend: Backend) -> Any:
    return backend.driver  # type: ignore[attr-defined]


async def test_concurrent_processes_migrate_exactly_once(
    backends: BackendFactory, hotmesh_provider: str, hotmesh_dsn: str
) -> None:
    app_id = backends.new_app_id("race")
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), hotmesh_provider, hotmesh_dsn, app_id, str(i),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for i in range(PROCESSES)
    ]  # fmt: skip
    try:
        for proc in procs:  # every worker has imported everything: nothing slows one down
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=120)
            assert line == b"ready\n", (line, await proc.stderr.read())  # type: ignore[union-attr]
        results = await asyncio.wait_for(
            asyncio.gather(*(proc.communicate(b"go\n") for proc in procs)), timeout=60
        )
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    failures = [
        (i, proc.returncode, err.decode()[-2000:])
        for i, (proc, (_, err)) in enumerate(zip(procs, results, strict=True))
        if proc.returncode != 0
    ]
    assert not failures, failures
    assert sorted(out.decode() for out, _ in results) == sorted(
        f"ok {i} 0 0\n" for i in range(PROCESSES)
    )

    backend = await backends.open(app_id=app_id)
    schema = schema_name(app_id)
    rows = await driver(backend).fetch(
        f'SELECT version, name FROM "{schema}".hotmesh_migrations ORDER BY version'
    )
    assert [tuple(r) for r in rows] == [(m.version, m.name) for m in migrations()]
    await backend.stream.publish([OutgoingMessage("after", {"ok": 1})])
    [got] = await backend.stream.claim("after")
    assert got.payload == {"ok": 1}
    assert await backend.stream.ack([got]) == {got.id}


async def test_reconnecting_applies_nothing_again(backends: BackendFactory) -> None:
    app_id = backends.new_app_id("again")
    first = await backends.open(app_id=app_id)
    await backends.open(app_id=app_id)
    count = await driver(first).fetchval(
        f'SELECT count(*) FROM "{schema_name(app_id)}".hotmesh_migrations'
    )
    assert count == len(migrations())


# What migrations 1..n build, from pg_catalog. Update it together with a new migration.
EXPECTED_TABLES = {
    "app_versions": [
        "version text", "manifest jsonb", "created_at timestamptz", "activated_at timestamptz",
    ],
    "dead_letters": [
        "id int8", "stream text", "priority int2", "attempts int4", "created_at timestamptz",
        "dead_at timestamptz", "error text", "job_id text", "payload text",
    ],
    "hotmesh_migrations": ["version int4", "name text", "applied_at timestamptz"],
    "worker_credentials": [
        "id int8", "role_name text", "stream_names _text", "created_at timestamptz",
        "revoked_at timestamptz", "last_rotated_at timestamptz",
    ],
    "jobs": [
        "id text", "state jsonb", "semaphore int4", "created_at timestamptz",
        "updated_at timestamptz", "expires_at timestamptz",
    ],
    "hook_signals": ["key text", "kind text", "value jsonb", "expires_at timestamptz"],
    "settings": ["key text", "value jsonb", "updated_at timestamptz"],
    "stream_messages": [
        "id int8", "stream text", "priority int2", "visible_at timestamptz",
        "created_at timestamptz", "attempts int4", "max_attempts int4",
        "initial_interval float8", "backoff_coefficient float8", "max_interval float8",
        "lease_until timestamptz", "leased_by text", "last_error text", "job_id text",
        "payload text",
    ],
    "sub_payloads": ["id int8", "created_at timestamptz", "payload text"],
    "stats": ["key text", "bucket text", "field text", "value numeric"],
    "stats_index": [
        "key text", "bucket text", "facet text", "job_id text", "created_at timestamptz",
    ],
    "escalations": [
        "id uuid", "namespace text", "app_id text", "signal_key text", "topic text",
        "workflow_id text", "task_queue text", "workflow_type text", "type text",
        "subtype text", "entity text", "description text", "role text", "status text",
        "priority int4", "assigned_to text", "assigned_until timestamptz",
        "claimed_at timestamptz", "claim_expires_at timestamptz", "resolved_at timestamptz",
        "resolver_payload jsonb", "envelope jsonb", "metadata jsonb", "origin_id text",
        "parent_id text", "initiated_by text", "milestones jsonb", "trace_id text",
        "span_id text", "expires_at timestamptz", "created_at timestamptz",
        "updated_at timestamptz",
    ],
}  # fmt: skip
EXPECTED_INDEXES = {
    "app_versions_pkey", "dead_letters_pkey", "dead_letters_stream_idx",
    "hotmesh_migrations_pkey", "jobs_pkey", "settings_pkey", "stream_messages_pkey",
    "stream_messages_claim_idx", "stream_messages_job_idx", "sub_payloads_pkey",
    "jobs_expires_brin", "hook_signals_pkey", "worker_credentials_pkey",
    "worker_credentials_role_name_key", "stats_pkey", "stats_index_pkey",
    "escalations_pkey", "escalations_signal_key_idx", "escalations_pending_idx",
    "escalations_workflow_idx", "escalations_metadata_idx", "jobs_created_idx",
}  # fmt: skip
EXPECTED_SEQUENCES = {
    "stream_messages_id_seq", "sub_payloads_id_seq", "worker_credentials_id_seq",
}  # fmt: skip
EXPECTED_FUNCTIONS = {
    "enqueue_v1", "apply_steps_v2", "publish_acked_v1", "worker_streams", "worker_claim",
    "worker_ack", "worker_extend", "worker_retry", "worker_dead_letter", "worker_respond",
    "worker_depth", "worker_setting", "claim_v1", "claim_with_job_v1", "create_jobs_v3",
    "extend_v1",
}  # fmt: skip
EXPECTED_TRIGGERS: set[tuple[str, str]] = set()  # wake-ups come from enqueue_v1 (0011)


async def test_migrations_build_exactly_the_expected_schema(backend: Backend) -> None:
    db, schema = driver(backend), schema_name(backend.app_id)
    relations = await db.fetch(
        "SELECT c.relname, c.relkind::text FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
        schema,
    )
    by_kind: dict[str, set[str]] = {}
    for name, kind in relations:
        by_kind.setdefault(kind, set()).add(name)
    assert set(by_kind) == {"r", "i", "S"}, by_kind
    assert by_kind["r"] == set(EXPECTED_TABLES)
    assert by_kind["i"] == EXPECTED_INDEXES
    assert by_kind["S"] == EXPECTED_SEQUENCES

    columns = await db.fetch(
        "SELECT c.relname, a.attname || ' ' || t.typname FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = a.atttypid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
        " ORDER BY c.relname, a.attnum",
        schema,
    )
    found: dict[str, list[str]] = {}
    for table, column in columns:
        found.setdefault(table, []).append(column)
    assert found == EXPECTED_TABLES

    functions = await db.fetch(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = $1",
        schema,
    )
    assert {r[0] for r in functions} == EXPECTED_FUNCTIONS
    triggers = await db.fetch(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1"
        " AND NOT t.tgisinternal",
        schema,
    )
    assert {(r[0], r[1]) for r in triggers} == EXPECTED_TRIGGERS
