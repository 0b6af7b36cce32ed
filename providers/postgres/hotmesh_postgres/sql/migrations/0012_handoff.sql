-- Hand-off: a message published for a consumer of the publishing process is stored as its
-- first delivery (attempts 1, leased), so that consumer runs it without claiming it: one
-- statement (and one commit) less per message handed off. If the consumer never acks it
-- (its process died), the lease lapses and any consumer claims it, as after any delivery.
--
-- 1. enqueue_v1 takes a hand-off's lease as a negative delay (hotmesh_postgres.stream's
--    message_arrays; a handed-off message is never delayed), and wakes no one for it.
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
                           count(*) FILTER (WHERE u.delay = 0) AS now_count,
                           min(u.delay) FILTER (WHERE u.delay > 0) AS first_later
                      FROM unnest(streams, delays) AS u(stream, delay)
                     WHERE u.delay >= 0
                     GROUP BY u.stream) s) w
     WHERE w.body IS NOT NULL;
    INSERT INTO {schema}.stream_messages
        (stream, priority, visible_at, max_attempts, initial_interval, backoff_coefficient,
         max_interval, job_id, payload, attempts, lease_until, leased_by)
    SELECT u.stream, u.priority, now() + make_interval(secs => greatest(u.delay, 0)),
           u.max_attempts, u.initial_interval, u.backoff_coefficient, u.max_interval,
           u.job_id, u.payload,
           CASE WHEN u.delay < 0 THEN 1 ELSE 0 END,
           CASE WHEN u.delay < 0 THEN now() + make_interval(secs => -u.delay) END,
           CASE WHEN u.delay < 0 THEN 'handoff' END
      FROM unnest(streams, priorities, delays, max_attempts, initial_intervals,
                  coefficients, max_intervals, job_ids, payloads)
           WITH ORDINALITY AS u(stream, priority, delay, max_attempts, initial_interval,
                                backoff_coefficient, max_interval, job_id, payload, ord)
     ORDER BY u.ord
    RETURNING id
$$;

-- 2. create_jobs_v2: create_jobs_v1 that also answers the ids of each created job's
--    messages (in order), so their hand-offs can be delivered.
CREATE FUNCTION {schema}.create_jobs_v2(
    p_ids text[], p_states text[], p_semaphores int[],
    m_steps int[], m_streams text[], m_priorities smallint[], m_delays float8[],
    m_max_attempts int[], m_initials float8[], m_coefficients float8[], m_maxes float8[],
    m_job_ids text[], m_payloads text[])
RETURNS TABLE (o_step int, o_created bool, o_gid text, o_ids bigint[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n int := coalesce(array_length(p_ids, 1), 0);
    made int[] := '{}';
    gids text[] := '{}';
    sel int[];
    ids bigint[] := '{}';
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
        -- One backend's identity values only grow: sorted ids are in insert order.
        ids := ARRAY(SELECT e FROM {schema}.enqueue_v1(a_streams, a_priorities, a_delays,
                         a_max_attempts, a_initials, a_coefficients, a_maxes, a_job_ids,
                         a_payloads) AS e ORDER BY e);
    END IF;
    RETURN QUERY
    SELECT i, i = ANY(made), gids[i],
           CASE WHEN i = ANY(made) THEN ARRAY(SELECT ids[k] FROM generate_subscripts(sel, 1) AS k
                                              WHERE sel[k] = i ORDER BY k) END
      FROM generate_series(1, n) AS i;
END;
$$;

DROP FUNCTION {schema}.create_jobs_v1(text[], text[], int[], int[], text[], smallint[],
    float8[], int[], float8[], float8[], float8[], text[], text[]);
