-- One definition of "claim": claim, claim_with_job (queries.sql) and the secured
-- worker_claim (0005) all call claim_v1, so the locking walk lives in one place.
--
-- Walk the claim index one priority at a time (9 down to 0): each probe stops at the
-- first message that is not yet visible, so delayed messages (timers) cost nothing to
-- skip. MATERIALIZED keeps the locking subquery from being run twice. PL/pgSQL caches
-- the plan per session, as the prepared statement it replaces did.
CREATE FUNCTION {schema}.claim_v1(p_stream text, p_limit int, p_lease float8, p_consumer text)
RETURNS TABLE (o_id bigint, o_priority smallint, o_visible float8, o_attempts int,
               o_max_attempts int, o_initial float8, o_coefficient float8, o_max float8,
               o_job_id text, o_payload text)
LANGUAGE plpgsql VOLATILE ROWS 16 AS $$
BEGIN
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

-- Only the owner's statements and the SECURITY DEFINER worker_claim call it.
REVOKE ALL ON FUNCTION {schema}.claim_v1(text, int, float8, text) FROM PUBLIC;

-- The secured claim (0005) keeps its access check and delegates the claim itself.
CREATE OR REPLACE FUNCTION {schema}.worker_claim(
    p_stream text, p_limit int, p_lease float8, p_consumer text)
RETURNS TABLE (o_id bigint, o_priority smallint, o_visible float8, o_attempts int,
               o_max_attempts int, o_initial float8, o_coefficient float8, o_max float8,
               o_job_id text, o_payload text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_stream IS NULL OR NOT p_stream = ANY({schema}.worker_streams()) THEN
        RAISE EXCEPTION 'access denied: stream "%" is not granted to role "%"',
              p_stream, session_user USING ERRCODE = '42501';
    END IF;
    RETURN QUERY SELECT * FROM {schema}.claim_v1(p_stream, p_limit, p_lease, p_consumer);
END;
$$;
