-- Less Postgres work per step (issue 19).
--
-- 1. The wake-up NOTIFY is issued by enqueue_v1 itself, from its input arrays, instead of
--    by a statement trigger that captured every inserted row in a transition table and
--    aggregated it. Every insert into stream_messages goes through enqueue_v1 (publish,
--    publish_acked, create_job, apply_steps_v1, esc_finish, and worker_respond below), so
--    the trigger is dropped. The payload is unchanged (notify_streams_v2's format): per
--    stream, 0 (claimable now), the epoch second its first delayed row becomes visible, or
--    both as [0, epoch]; '"*"' when it would not fit a notification. Identical payloads
--    in one transaction are delivered once, so a batch of steps wakes each stream once.
CREATE OR REPLACE FUNCTION {schema}.enqueue_v1(
    streams text[],
    priorities smallint[],
    delays float8[],
    max_attempts int[],
    initial_intervals float8[],
    coefficients float8[],
    max_intervals float8[],
    job_ids text[],
    payloads text[]
) RETURNS SETOF bigint
LANGUAGE sql VOLATILE AS $$
    SELECT pg_notify({wake_channel_literal},
                     CASE WHEN octet_length(w.body) > 7900 THEN '"*"' ELSE w.body END)
      FROM (SELECT json_object_agg(s.stream,
                     CASE WHEN s.now_count > 0 AND s.first_later IS NOT NULL
                              THEN json_build_array(0, extract(epoch FROM now()) + s.first_later)
                          WHEN s.now_count > 0 THEN to_json(0)
                          ELSE to_json(extract(epoch FROM now()) + s.first_later) END)::text
                   AS body
              FROM (SELECT u.stream,
                           count(*) FILTER (WHERE u.delay <= 0) AS now_count,
                           min(u.delay) FILTER (WHERE u.delay > 0) AS first_later
                      FROM unnest(streams, delays) AS u(stream, delay)
                     GROUP BY u.stream) s) w
     WHERE w.body IS NOT NULL;
    INSERT INTO {schema}.stream_messages
        (stream, priority, visible_at, max_attempts, initial_interval, backoff_coefficient,
         max_interval, job_id, payload)
    SELECT u.stream, u.priority, now() + make_interval(secs => u.delay), u.max_attempts,
           u.initial_interval, u.backoff_coefficient, u.max_interval, u.job_id, u.payload
      FROM unnest(streams, priorities, delays, max_attempts, initial_intervals,
                  coefficients, max_intervals, job_ids, payloads)
           WITH ORDINALITY AS u(stream, priority, delay, max_attempts, initial_interval,
                                backoff_coefficient, max_interval, job_id, payload, ord)
     ORDER BY u.ord
    RETURNING id
$$;

DROP TRIGGER stream_messages_notify ON {schema}.stream_messages;
DROP FUNCTION {schema}.notify_streams_v2();

-- The secured worker's publish (0005) inserted on its own; it now goes through
-- enqueue_v1 too (and so wakes consumers without the trigger). Same checks, same answer.
CREATE OR REPLACE FUNCTION {schema}.worker_respond(
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
    IF p_ack_id IS NOT NULL THEN
        DELETE FROM {schema}.stream_messages s
         WHERE s.id = p_ack_id AND s.attempts = p_ack_attempts AND s.stream = ANY(allowed);
        IF NOT FOUND THEN
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT {schema}.enqueue_v1(p_streams, p_priorities, p_delays,
        p_max_attempts, p_initials, p_coefficients, p_maxes, p_job_ids, p_payloads);
END;
$$;

-- 2. HOT-friendly jobs: the closing step sets expires_at, and a btree on it made every
--    closing update a non-HOT one (a new entry in all three indexes of jobs). A BRIN index
--    is a summarizing index: since PostgreSQL 16 an update that changes only columns of
--    summarizing indexes stays HOT. The expiry sweep reads it as a bitmap of page ranges.
DROP INDEX {schema}.jobs_expires_idx;
CREATE INDEX jobs_expires_brin
    ON {schema}.jobs USING brin (expires_at) WITH (autosummarize = on);

-- 3. Steps in batches (group commit): apply_steps_v1 applies several steps, each as the
--    apply_step statement of queries.sql did (guard, fence, merge, semaphore, expiry,
--    messages, on-close messages), one after the other in one transaction, and returns one
--    row per step. A step whose guard or fence fails writes nothing and does not disturb
--    the others. Steps of the same job in one batch see each other's writes (they run in
--    order), exactly as if they had committed one after the other.
--
--    Per step i: p_jobs[i], p_states[i] (JSON object of keys to set), p_deltas[i]
--    (semaphore change), p_fence_ids[i]/p_fence_attempts[i] (the delivery acked by the
--    step, NULL for none), p_expires[i] (seconds after closing; NULL keeps, <= 0 never),
--    p_removed[i] (JSON array of keys to remove, NULL for none), p_guards[i] (NULL: no
--    guard; else a JSON object the state must contain) and p_absent[i] (JSON array of keys
--    it must not hold). Messages are flat: m_steps[k] is the step of message k, m_closing[k]
--    says it is published only if that step closes the job, then the nine columns of
--    enqueue_v1. The answer per step: its semaphore after the step (NULL when it did not
--    apply), the ids of its messages (in order), its final state when it closed the job,
--    and whether its guard held.
CREATE FUNCTION {schema}.apply_steps_v1(
    p_jobs text[], p_states text[], p_deltas int[], p_fence_ids bigint[],
    p_fence_attempts int[], p_expires float8[], p_removed text[], p_guards text[],
    p_absent text[],
    m_steps int[], m_closing bool[], m_streams text[], m_priorities smallint[],
    m_delays float8[], m_max_attempts int[], m_initials float8[], m_coefficients float8[],
    m_maxes float8[], m_job_ids text[], m_payloads text[])
RETURNS TABLE (o_step int, o_semaphore int, o_ids bigint[], o_final text, o_locked bool)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n int := coalesce(array_length(p_jobs, 1), 0);
    sems int[] := '{}';
    finals text[] := '{}';
    held bool[] := '{}';
    sel int[];
    ids bigint[] := '{}';
    a_streams text[]; a_priorities smallint[]; a_delays float8[]; a_max_attempts int[];
    a_initials float8[]; a_coefficients float8[]; a_maxes float8[]; a_job_ids text[];
    a_payloads text[];
    sem int;
    fin text;
BEGIN
    FOR i IN 1..n LOOP
        sems[i] := NULL;
        finals[i] := NULL;
        PERFORM 1 FROM {schema}.jobs j
         WHERE j.id = p_jobs[i] AND (j.expires_at IS NULL OR j.expires_at > now())
           AND (p_guards[i] IS NULL
                OR (j.semaphore > 0 AND j.state @> p_guards[i]::jsonb
                    AND NOT (j.state ?| ARRAY(SELECT jsonb_array_elements_text(
                                                  coalesce(p_absent[i], '[]')::jsonb)))))
           FOR UPDATE;
        held[i] := FOUND;
        CONTINUE WHEN NOT FOUND;
        IF p_fence_ids[i] IS NOT NULL THEN
            DELETE FROM {schema}.stream_messages
             WHERE id = p_fence_ids[i] AND attempts = p_fence_attempts[i];
            CONTINUE WHEN NOT FOUND;
        END IF;
        UPDATE {schema}.jobs j
           SET state = CASE WHEN p_removed[i] IS NULL THEN j.state || p_states[i]::jsonb
                            ELSE (j.state || p_states[i]::jsonb) - ARRAY(
                                 SELECT jsonb_array_elements_text(p_removed[i]::jsonb)) END,
               semaphore = j.semaphore + p_deltas[i],
               updated_at = now(),
               expires_at = CASE
                   WHEN j.semaphore + p_deltas[i] > 0 OR p_expires[i] IS NULL THEN j.expires_at
                   WHEN p_expires[i] <= 0 THEN NULL
                   ELSE now() + make_interval(secs => p_expires[i]) END
         WHERE j.id = p_jobs[i]
        RETURNING j.semaphore, CASE WHEN j.semaphore <= 0 THEN j.state::text END
             INTO sem, fin;
        sems[i] := sem;
        finals[i] := fin;
    END LOOP;
    IF coalesce(array_length(m_steps, 1), 0) > 0 THEN
        SELECT array_agg(u.step ORDER BY u.ord), array_agg(u.stream ORDER BY u.ord),
               array_agg(u.priority ORDER BY u.ord), array_agg(u.delay ORDER BY u.ord),
               array_agg(u.max_attempts ORDER BY u.ord), array_agg(u.initial ORDER BY u.ord),
               array_agg(u.coefficient ORDER BY u.ord), array_agg(u.cap ORDER BY u.ord),
               array_agg(u.job_id ORDER BY u.ord), array_agg(u.payload ORDER BY u.ord)
          INTO sel, a_streams, a_priorities, a_delays, a_max_attempts, a_initials,
               a_coefficients, a_maxes, a_job_ids, a_payloads
          FROM unnest(m_steps, m_closing, m_streams, m_priorities, m_delays, m_max_attempts,
                      m_initials, m_coefficients, m_maxes, m_job_ids, m_payloads)
               WITH ORDINALITY AS u(step, closing, stream, priority, delay, max_attempts,
                                    initial, coefficient, cap, job_id, payload, ord)
         WHERE sems[u.step] IS NOT NULL AND (NOT u.closing OR sems[u.step] <= 0);
        IF sel IS NOT NULL THEN
            -- One backend's identity values only grow: sorted ids are in insert order.
            ids := ARRAY(SELECT e FROM {schema}.enqueue_v1(a_streams, a_priorities, a_delays,
                             a_max_attempts, a_initials, a_coefficients, a_maxes, a_job_ids,
                             a_payloads) AS e ORDER BY e);
        END IF;
    END IF;
    RETURN QUERY
    SELECT i, sems[i],
           CASE WHEN sems[i] IS NULL THEN NULL::bigint[]
                ELSE ARRAY(SELECT ids[k] FROM generate_subscripts(sel, 1) AS k
                            WHERE sel[k] = i ORDER BY k) END,
           finals[i], held[i]
      FROM generate_series(1, n) AS i;
END;
$$;

-- 4. Worker answers in batches: publish_acked_v1 acks several held deliveries and publishes
--    the answer of each one that was still held (publish_acked of queries.sql, for many).
--    Answer k belongs to delivery m_steps[k]; a delivery no longer held (its lease was lost
--    to another consumer) publishes nothing, and gets NULL instead of its ids.
CREATE FUNCTION {schema}.publish_acked_v1(
    p_ack_ids bigint[], p_ack_attempts int[],
    m_steps int[], m_streams text[], m_priorities smallint[], m_delays float8[],
    m_max_attempts int[], m_initials float8[], m_coefficients float8[], m_maxes float8[],
    m_job_ids text[], m_payloads text[])
RETURNS TABLE (o_step int, o_ids bigint[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    held int[];
    sel int[];
    ids bigint[] := '{}';
    a_streams text[]; a_priorities smallint[]; a_delays float8[]; a_max_attempts int[];
    a_initials float8[]; a_coefficients float8[]; a_maxes float8[]; a_job_ids text[];
    a_payloads text[];
BEGIN
    WITH gone AS (
        DELETE FROM {schema}.stream_messages s
         USING unnest(p_ack_ids, p_ack_attempts) WITH ORDINALITY AS f(id, attempts, step)
         WHERE s.id = f.id AND s.attempts = f.attempts
        RETURNING f.step::int AS step
    )
    SELECT coalesce(array_agg(step), '{}') INTO held FROM gone;
    SELECT array_agg(u.step ORDER BY u.ord), array_agg(u.stream ORDER BY u.ord),
           array_agg(u.priority ORDER BY u.ord), array_agg(u.delay ORDER BY u.ord),
           array_agg(u.max_attempts ORDER BY u.ord), array_agg(u.initial ORDER BY u.ord),
           array_agg(u.coefficient ORDER BY u.ord), array_agg(u.cap ORDER BY u.ord),
           array_agg(u.job_id ORDER BY u.ord), array_agg(u.payload ORDER BY u.ord)
      INTO sel, a_streams, a_priorities, a_delays, a_max_attempts, a_initials,
           a_coefficients, a_maxes, a_job_ids, a_payloads
      FROM unnest(m_steps, m_streams, m_priorities, m_delays, m_max_attempts, m_initials,
                  m_coefficients, m_maxes, m_job_ids, m_payloads)
           WITH ORDINALITY AS u(step, stream, priority, delay, max_attempts, initial,
                                coefficient, cap, job_id, payload, ord)
     WHERE u.step = ANY(held);
    IF sel IS NOT NULL THEN
        -- One backend's identity values only grow: sorted ids are in insert order.
        ids := ARRAY(SELECT e FROM {schema}.enqueue_v1(a_streams, a_priorities, a_delays,
                         a_max_attempts, a_initials, a_coefficients, a_maxes, a_job_ids,
                         a_payloads) AS e ORDER BY e);
    END IF;
    RETURN QUERY
    SELECT i, CASE WHEN i = ANY(held)
                   THEN ARRAY(SELECT ids[k] FROM generate_subscripts(sel, 1) AS k
                               WHERE sel[k] = i ORDER BY k) END
      FROM generate_series(1, coalesce(array_length(p_ack_ids, 1), 0)) AS i;
END;
$$;

-- 5. New jobs in batches: create_jobs_v1 creates several jobs (create_job of queries.sql,
--    for jobs without trigger stats), one after the other in one transaction, and
--    publishes the first messages of those it created. A live job holding the id is left
--    alone and nothing is published for it (an expired one is replaced: its id is free).
--    Message k belongs to job m_steps[k]. The answer per job: whether this call created it,
--    and the gid of the job holding the id when it did not (a re-run after a lost
--    connection recognises its own insert by it).
CREATE FUNCTION {schema}.create_jobs_v1(
    p_ids text[], p_states text[], p_semaphores int[],
    m_steps int[], m_streams text[], m_priorities smallint[], m_delays float8[],
    m_max_attempts int[], m_initials float8[], m_coefficients float8[], m_maxes float8[],
    m_job_ids text[], m_payloads text[])
RETURNS TABLE (o_step int, o_created bool, o_gid text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n int := coalesce(array_length(p_ids, 1), 0);
    made int[] := '{}';
    gids text[] := '{}';
    sel int[];
    a_streams text[]; a_priorities smallint[]; a_delays float8[]; a_max_attempts int[];
    a_initials float8[]; a_coefficients float8[]; a_maxes float8[]; a_job_ids text[];
    a_payloads text[];
    held text;
BEGIN
    FOR i IN 1..n LOOP
        gids[i] := NULL;
        INSERT INTO {schema}.jobs AS j (id, state, semaphore)
        VALUES (p_ids[i], p_states[i]::jsonb, p_semaphores[i])
        ON CONFLICT (id) DO UPDATE
           SET state = excluded.state, semaphore = excluded.semaphore, created_at = now(),
               updated_at = now(), expires_at = NULL
         WHERE j.expires_at IS NOT NULL AND j.expires_at <= now();
        IF FOUND THEN
            made := made || i;
        ELSE
            SELECT j.state->'meta'->>'gid' INTO held FROM {schema}.jobs j
             WHERE j.id = p_ids[i];
            gids[i] := held;
        END IF;
    END LOOP;
    SELECT array_agg(u.step ORDER BY u.ord), array_agg(u.stream ORDER BY u.ord),
           array_agg(u.priority ORDER BY u.ord), array_agg(u.delay ORDER BY u.ord),
           array_agg(u.max_attempts ORDER BY u.ord), array_agg(u.initial ORDER BY u.ord),
           array_agg(u.coefficient ORDER BY u.ord), array_agg(u.cap ORDER BY u.ord),
           array_agg(u.job_id ORDER BY u.ord), array_agg(u.payload ORDER BY u.ord)
      INTO sel, a_streams, a_priorities, a_delays, a_max_attempts, a_initials,
           a_coefficients, a_maxes, a_job_ids, a_payloads
      FROM unnest(m_steps, m_streams, m_priorities, m_delays, m_max_attempts, m_initials,
                  m_coefficients, m_maxes, m_job_ids, m_payloads)
           WITH ORDINALITY AS u(step, stream, priority, delay, max_attempts, initial,
                                coefficient, cap, job_id, payload, ord)
     WHERE u.step = ANY(made);
    IF sel IS NOT NULL THEN
        PERFORM {schema}.enqueue_v1(a_streams, a_priorities, a_delays, a_max_attempts,
                                    a_initials, a_coefficients, a_maxes, a_job_ids,
                                    a_payloads);
    END IF;
    RETURN QUERY SELECT i, i = ANY(made), gids[i] FROM generate_series(1, n) AS i;
END;
$$;
