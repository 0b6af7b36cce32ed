-- The engine's claim returns each message's job state, for the step that message causes.
-- Until now the job was joined to claim_v1's rows in the calling statement. That
-- statement's snapshot is taken before claim_v1 runs, while claim_v1 (VOLATILE) locks
-- with a newer one: a message committed in between was claimed together with its job as
-- it was *before* that commit. For a child's "complete" message, enqueued by the step that
-- closed the child, this was the child without its final data, and the parent received
-- an empty result (tests/engine/test_claim_snapshot.py).
--
-- claim_with_job_v1 claims first, then reads the jobs in a second statement, whose
-- snapshot is newer than the claim's: every message is returned with its job at least as
-- recent as the commit that published the message.
CREATE FUNCTION {schema}.claim_with_job_v1(
    p_stream text, p_limit int, p_lease float8, p_consumer text)
RETURNS TABLE (o_id bigint, o_priority smallint, o_visible float8, o_attempts int,
               o_max_attempts int, o_initial float8, o_coefficient float8, o_max float8,
               o_job_id text, o_payload text, o_state text, o_semaphore int)
LANGUAGE plpgsql VOLATILE ROWS 16 AS $$
DECLARE
    v_id bigint[];
    v_priority smallint[];
    v_visible float8[];
    v_attempts int[];
    v_max_attempts int[];
    v_initial float8[];
    v_coefficient float8[];
    v_max float8[];
    v_job_id text[];
    v_payload text[];
BEGIN
    SELECT array_agg(c.o_id), array_agg(c.o_priority), array_agg(c.o_visible),
           array_agg(c.o_attempts), array_agg(c.o_max_attempts), array_agg(c.o_initial),
           array_agg(c.o_coefficient), array_agg(c.o_max), array_agg(c.o_job_id),
           array_agg(c.o_payload)
      INTO v_id, v_priority, v_visible, v_attempts, v_max_attempts, v_initial,
           v_coefficient, v_max, v_job_id, v_payload
      FROM {schema}.claim_v1(p_stream, p_limit, p_lease, p_consumer) c;
    IF v_id IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT u.id, u.priority, u.visible, u.attempts, u.max_attempts, u.initial,
           u.coefficient, u.max, u.job_id, u.payload, j.state::text, j.semaphore
      FROM unnest(v_id, v_priority, v_visible, v_attempts, v_max_attempts, v_initial,
                  v_coefficient, v_max, v_job_id, v_payload)
           AS u(id, priority, visible, attempts, max_attempts, initial, coefficient, max,
                job_id, payload)
      LEFT JOIN {schema}.jobs j
        ON j.id = u.job_id AND (j.expires_at IS NULL OR j.expires_at > now());
END;
$$;

REVOKE ALL ON FUNCTION {schema}.claim_with_job_v1(text, int, float8, text) FROM PUBLIC;
