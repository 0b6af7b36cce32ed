-- Store: app versions, settings, jobs, and large pub/sub payloads.

CREATE TABLE {schema}.app_versions (
    version     text        PRIMARY KEY,
    manifest    jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz
);

CREATE TABLE {schema}.settings (
    key         text        PRIMARY KEY,
    value       jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE {schema}.jobs (
    id          text        PRIMARY KEY,
    state       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    semaphore   integer     NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);

-- NOTIFY carries at most 8000 bytes; a larger pub/sub message is parked here and the
-- notification carries its id. Rows older than a few minutes are swept by publishers.
CREATE TABLE {schema}.sub_payloads (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    payload     text        NOT NULL
);
