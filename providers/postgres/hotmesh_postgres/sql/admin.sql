-- Named queries of the owner's administration: migrations and secured worker roles.
-- Same format as queries.sql ("-- name: <name>", {schema}, bound parameters, "-- replay:
-- safe" on what may run again after a lost connection; the rest runs in transactions,
-- which are never re-run). Statements
-- that name a role (CREATE/ALTER ROLE, GRANT, REVOKE) cannot bind it and stay in roles.py.

-- name: migrations_bootstrap
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.hotmesh_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- name: migrations_table
-- replay: safe (a read)
-- Whether the schema has been migrated at all ($1: the quoted table name).
SELECT to_regclass($1);

-- name: migrations_current
-- replay: safe (a read)
SELECT max(version) FROM {schema}.hotmesh_migrations;

-- name: migrations_lock
-- Ten processes starting the same app apply each migration once between them.
SELECT pg_advisory_xact_lock(hashtextextended($1, 7431));

-- name: migrations_applied
SELECT version FROM {schema}.hotmesh_migrations;

-- name: migrations_record
INSERT INTO {schema}.hotmesh_migrations (version, name) VALUES ($1, $2);

-- name: role_lock
SELECT pg_advisory_xact_lock(hashtextextended($1, 7432));

-- name: role_exists
SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1;

-- name: role_known
-- A role of this schema's worker_credentials (the only roles roles.py will alter).
SELECT 1 FROM {schema}.worker_credentials WHERE role_name = $1;

-- name: role_record
INSERT INTO {schema}.worker_credentials (role_name, stream_names) VALUES ($1, $2)
ON CONFLICT (role_name) DO UPDATE
   SET stream_names = excluded.stream_names, revoked_at = NULL, last_rotated_at = now();

-- name: role_list
-- replay: safe (a read)
SELECT id, role_name, stream_names, created_at, revoked_at, last_rotated_at
  FROM {schema}.worker_credentials
 ORDER BY created_at, id;

-- name: role_revoked
UPDATE {schema}.worker_credentials SET revoked_at = now()
 WHERE role_name = $1 AND revoked_at IS NULL;

-- name: role_rotated
UPDATE {schema}.worker_credentials SET last_rotated_at = now() WHERE role_name = $1;
