-- Secured worker roles (docs/security.md).
--
-- A secured worker logs in as a role that has no privilege on any table or sequence of the
-- schema. It can only call the worker_* functions below, which run as the schema owner
-- (SECURITY DEFINER) and check, on every call, which streams the *login* role may use:
-- session_user (the role that authenticated; SET ROLE cannot change it) is looked up in
-- worker_credentials, a table the worker role cannot read or write. A revoked role
-- (revoked_at set) is refused at once, even on sessions opened before the revocation.
-- Every function pins search_path and names objects with their schema, and EXECUTE is
-- revoked from PUBLIC: only roles provisioned for this schema are granted it.

CREATE TABLE {schema}.worker_credentials (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    role_name       text        NOT NULL UNIQUE,
    stream_names    text[]      NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    last_rotated_at timestamptz NOT NULL DEFAULT now()
);

-- The streams the login role may consume; raises 42501 when it is no active worker role.
CREATE FUNCTION {schema}.worker_streams() RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed text[];
BEGIN
    SELECT c.stream_names INTO allowed
      FROM {schema}.worker_credentials c
     WHERE c.role_name = session_user::text AND c.revoked_at IS NULL;
    IF allowed IS NULL THEN
        RAISE EXCEPTION 'access denied: role "%" is not an active worker role', session_user
              USING ERRCODE = '42501';
    END IF;
    RETURN allowed;
END;
$$;

-- The claim of queries.sql (name: claim), for one allowed stream.
CREATE FUNCTION {schema}.worker_claim(p_stream text, p_limit int, p_lease float8, p_consumer text)
RETURNS TABLE (o_id bigint, o_priority smallint, o_visible float8, o_attempts int,
               o_max_attempts int, o_initial float8, o_coefficient float8, o_max float8,
               o_job_id text, o_payload text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_stream IS NULL OR NOT p_stream = ANY({schema}.worker_streams()) THEN
        RAISE EXCEPTION 'access denied: stream "%" is not granted to role "%"',
              p_stream, session_user USING ERRCODE = '42501';
    END IF;
    RETURN QUERY
    WITH picked AS MATERIALIZED (
        SELECT m.id
          FROM generate_series(9, 0, -1) AS p(prio)
         CROSS JOIN LATERAL (
                SELECT s.id
                  FROM {schema}.stream_messages s
                 WHERE s.stream = p_stream
                   AND s.priority = p.prio
                   AND s.visible_at <= now()
                   AND (s.lease_until IS NULL OR s.lease_until <= now())
                 ORDER BY s.visible_at, s.id
                 LIMIT p_limit
                   FOR UPDATE SKIP LOCKED) m
         LIMIT p_limit
    )
    UPDATE {schema}.stream_messages s
       SET lease_until = now() + make_interval(secs => p_lease),
           leased_by = p_consumer,
           attempts = s.attempts + 1
      FROM picked
     WHERE s.id = picked.id
    RETURNING s.id, s.priority, extract(epoch FROM s.visible_at)::float8, s.attempts,
              s.max_attempts, s.initial_interval, s.backoff_coefficient, s.max_interval,
              s.job_id, s.payload;
END;
$$;

-- Ack (lease-fenced) deliveries of the allowed streams.
CREATE FUNCTION {schema}.worker_ack(p_ids bigint[], p_attempts int[]) RETURNS SETOF bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed text[] := {schema}.worker_streams();
BEGIN
    RETURN QUERY
    DELETE FROM {schema}.stream_messages s
     USING unnest(p_ids, p_attempts) AS f(id, attempts)
     WHERE s.id = f.id AND s.attempts = f.attempts AND s.stream = ANY(allowed)
    RETURNING s.id;
END;
$$;

-- Renew leases still held on the allowed streams.
CREATE FUNCTION {schema}.worker_extend(p_ids bigint[], p_attempts int[], p_lease float8)
RETURNS SETOF bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed text[] := {schema}.worker_streams();
BEGIN
    RETURN QUERY
    UPDATE {schema}.stream_messages s
       SET lease_until = now() + make_interval(secs => p_lease)
      FROM unnest(p_ids, p_attempts) AS f(id, attempts)
     WHERE s.id = f.id AND s.attempts = f.attempts AND s.lease_until IS NOT NULL
       AND s.stream = ANY(allowed)
    RETURNING s.id;
END;
$$;

-- Make a held delivery of an allowed stream visible again after p_delay seconds.
CREATE FUNCTION {schema}.worker_retry(p_id bigint, p_attempts int, p_delay float8, p_error text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed text[] := {schema}.worker_streams();
    moved bigint;
BEGIN
    UPDATE {schema}.stream_messages s
       SET visible_at = now() + make_interval(secs => p_delay),
           lease_until = NULL,
           leased_by = NULL,
           last_error = p_error
     WHERE s.id = p_id AND s.attempts = p_attempts AND s.stream = ANY(allowed)
    RETURNING s.id INTO moved;
    RETURN moved;
END;
$$;

-- Move held deliveries of the allowed streams to the dead letters.
CREATE FUNCTION {schema}.worker_dead_letter(p_ids bigint[], p_attempts int[], p_error text)
RETURNS SETOF bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed text[] := {schema}.worker_streams();
BEGIN
    RETURN QUERY
    WITH moved AS (
        DELETE FROM {schema}.stream_messages s
         USING unnest(p_ids, p_attempts) AS f(id, attempts)
         WHERE s.id = f.id AND s.attempts = f.attempts AND s.stream = ANY(allowed)
        RETURNING s.id, s.stream, s.priority, s.attempts, s.created_at, s.job_id, s.payload
    )
    INSERT INTO {schema}.dead_letters
        (id, stream, priority, attempts, created_at, error, job_id, payload)
    SELECT m.id, m.stream, m.priority, m.attempts, m.created_at, p_error, m.job_id, m.payload
      FROM moved m
    RETURNING id;
END;
$$;

-- Publish messages to the engine stream ('$engine', hotmesh.engine.steps.ENGINE_STREAM) or
-- to the allowed streams, optionally acking a held delivery of an allowed stream in the
-- same statement (publish_acked of queries.sql: nothing is stored when it is not held).
CREATE FUNCTION {schema}.worker_respond(
    p_streams text[], p_priorities smallint[], p_delays float8[], p_max_attempts int[],
    p_initials float8[], p_coefficients float8[], p_maxes float8[], p_job_ids text[],
    p_payloads text[], p_ack_id bigint, p_ack_attempts int)
RETURNS SETOF bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed text[] := {schema}.worker_streams();
    denied text;
BEGIN
    SELECT t INTO denied FROM unnest(p_streams) AS t
     WHERE t IS NULL OR NOT (t = '$engine' OR t = ANY(allowed))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'access denied: role "%" may not publish to stream "%"',
              session_user, denied USING ERRCODE = '42501';
    END IF;
    RETURN QUERY
    WITH fence AS (
        DELETE FROM {schema}.stream_messages s
         WHERE p_ack_id IS NOT NULL AND s.id = p_ack_id AND s.attempts = p_ack_attempts
           AND s.stream = ANY(allowed)
        RETURNING s.id
    )
    INSERT INTO {schema}.stream_messages
        (stream, priority, visible_at, max_attempts, initial_interval, backoff_coefficient,
         max_interval, job_id, payload)
    SELECT u.stream, u.priority, now() + make_interval(secs => u.delay), u.max_attempts,
           u.initial_interval, u.backoff_coefficient, u.max_interval, u.job_id, u.payload
      FROM unnest(p_streams, p_priorities, p_delays, p_max_attempts, p_initials,
                  p_coefficients, p_maxes, p_job_ids, p_payloads)
           WITH ORDINALITY AS u(stream, priority, delay, max_attempts, initial_interval,
                                backoff_coefficient, max_interval, job_id, payload, ord)
     WHERE p_ack_id IS NULL OR EXISTS (SELECT 1 FROM fence)
     ORDER BY u.ord
    RETURNING id;
END;
$$;

-- Message counts (ready, delayed, leased) of the engine stream and the allowed streams
-- (for the worker's back-pressure check); other streams are left out of the answer.
CREATE FUNCTION {schema}.worker_depth(p_streams text[])
RETURNS TABLE (o_stream text, o_ready bigint, o_delayed bigint, o_leased bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed text[] := {schema}.worker_streams() || '{$engine}'::text[];
BEGIN
    RETURN QUERY
    SELECT s.stream,
           count(*) FILTER (WHERE s.visible_at <= now()
                              AND (s.lease_until IS NULL OR s.lease_until <= now())),
           count(*) FILTER (WHERE s.visible_at > now()
                              AND (s.lease_until IS NULL OR s.lease_until <= now())),
           count(*) FILTER (WHERE s.lease_until > now())
      FROM {schema}.stream_messages s
     WHERE s.stream = ANY(p_streams) AND s.stream = ANY(allowed)
     GROUP BY s.stream;
END;
$$;

-- Throttle settings ("throttle:..." keys only), so a worker obeys persisted throttles.
CREATE FUNCTION {schema}.worker_setting(p_key text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found text;
BEGIN
    PERFORM {schema}.worker_streams();
    IF p_key IS NULL OR left(p_key, 9) <> 'throttle:' THEN
        RAISE EXCEPTION 'access denied: setting "%" is not readable by a worker', p_key
              USING ERRCODE = '42501';
    END IF;
    SELECT s.value::text INTO found FROM {schema}.settings s WHERE s.key = p_key;
    RETURN found;
END;
$$;

REVOKE ALL ON FUNCTION {schema}.worker_streams() FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.worker_claim(text, int, float8, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.worker_ack(bigint[], int[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.worker_extend(bigint[], int[], float8) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.worker_retry(bigint, int, float8, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.worker_dead_letter(bigint[], int[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.worker_respond(text[], smallint[], float8[], int[], float8[],
    float8[], float8[], text[], text[], bigint, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.worker_depth(text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.worker_setting(text) FROM PUBLIC;
