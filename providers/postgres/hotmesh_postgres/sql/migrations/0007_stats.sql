-- Trigger stats (2.10.3): counters per (key, time bucket, field), and the ids of the jobs
-- filed under each index facet. Both are written by create_job, in its statement.

CREATE TABLE {schema}.stats (
    key         text        NOT NULL,
    bucket      text        NOT NULL,
    field       text        NOT NULL,
    value       numeric     NOT NULL DEFAULT 0,
    PRIMARY KEY (key, bucket, field)
);

CREATE TABLE {schema}.stats_index (
    key         text        NOT NULL,
    bucket      text        NOT NULL,
    facet       text        NOT NULL,
    job_id      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key, bucket, facet, job_id)
);
