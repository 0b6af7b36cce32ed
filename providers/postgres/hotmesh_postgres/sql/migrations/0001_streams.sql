-- Streams: the work queues of one app.
--
-- One table for every stream of the app. A message is claimable when visible_at has
-- passed and it holds no live lease (lease_until NULL or past). The lease lives in a
-- column no index covers, so claiming and renewing are HOT updates that add nothing to
-- the indexes (fillfactor 50 leaves each page room for a batch's new row versions);
-- consumed messages are deleted, not flagged, so the claim index only ever holds pending
-- work. Consumers vacuum the table as they delete (housekeeping.py), since autovacuum
-- visits only once per autovacuum_naptime.

CREATE TABLE {schema}.stream_messages (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream              text        NOT NULL,
    priority            smallint    NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9),
    visible_at          timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    attempts            integer     NOT NULL DEFAULT 0,
    max_attempts        integer     NOT NULL DEFAULT 3,
    initial_interval    float8      NOT NULL DEFAULT 1,
    backoff_coefficient float8      NOT NULL DEFAULT 10,
    max_interval        float8      NOT NULL DEFAULT 120,
    lease_until         timestamptz,
    leased_by           text,
    last_error          text,
    job_id              text,
    payload             text        NOT NULL
) WITH (
    fillfactor = 50,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 5000,
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 20000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_threshold = 20000,
    autovacuum_analyze_scale_factor = 0
);

-- The claim walks this index one priority at a time, oldest visible first.
CREATE INDEX stream_messages_claim_idx
    ON {schema}.stream_messages (stream, priority, visible_at, id);

CREATE INDEX stream_messages_job_idx
    ON {schema}.stream_messages (job_id) WHERE job_id IS NOT NULL;

CREATE TABLE {schema}.dead_letters (
    id          bigint      PRIMARY KEY,
    stream      text        NOT NULL,
    priority    smallint    NOT NULL,
    attempts    integer     NOT NULL,
    created_at  timestamptz NOT NULL,
    dead_at     timestamptz NOT NULL DEFAULT now(),
    error       text,
    job_id      text,
    payload     text        NOT NULL
);

CREATE INDEX dead_letters_stream_idx ON {schema}.dead_letters (stream, dead_at);

-- One NOTIFY per INSERT statement, never one per row: the payload maps each stream that
-- received rows to 0 (claimable now) or to the epoch second its first row becomes visible,
-- so listeners can arm a local timer instead of polling for delayed messages.
CREATE FUNCTION {schema}.notify_streams_v1() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    body text;
BEGIN
    SELECT json_object_agg(stream, CASE WHEN first_visible <= now() THEN 0
                                        ELSE extract(epoch FROM first_visible) END)::text
      INTO body
      FROM (SELECT stream, min(visible_at) AS first_visible FROM new_rows GROUP BY stream) s;
    IF body IS NOT NULL THEN
        IF octet_length(body) > 7900 THEN
            body := '"*"';
        END IF;
        PERFORM pg_notify(TG_ARGV[0], body);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER stream_messages_notify
    AFTER INSERT ON {schema}.stream_messages
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_streams_v1({wake_channel_literal});
