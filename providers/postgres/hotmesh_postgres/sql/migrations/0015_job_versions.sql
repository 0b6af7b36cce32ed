-- Job versions: a step may be applied only while the job is the version it was planned from.
--
-- An engine caches the state it wrote (a job it created, then each step it applied on
-- that state) and plans the next step of that job from the cache instead of reading the
-- job again (the worker's answer to a job created in the same process: a statement less
-- per job). A job's version is its row's xmin, the transaction that last wrote it, which
-- every write changes: a cached step carries it, and applies only while the row still has
-- it (any other write since, from any process and any statement, fails the step's guard:
-- the engine reads the job and decides again). Both functions also answer the version
-- they leave.
--
-- create_jobs_v3: create_jobs_v2 answering each created job's version.
-- apply_steps_v2: apply_steps_v1 with p_versions (NULL: no version guard), answering each
-- applied step's version. They replace create_jobs_v2 and apply_steps_v1 (dropped).

CREATE FUNCTION {schema}.create_jobs_v3(
    p_ids text[], p_states text[], p_semaphores int[],
    m_steps int[], m_streams text[], m_priorities smallint[], m_delays float8[],
    m_max_attempts int[], m_initials float8[], m_coefficients float8[], m_maxes float8[],
    m_job_ids text[], m_payloads text[])
RETURNS TABLE (o_step int, o_created bool, o_gid text, o_ids bigint[], o_version text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n int := coalesce(array_length(p_ids, 1), 0);
    made int[] := '{}';
    gids text[] := '{}';
    versions text[] := '{}';
    ver text;
    sel int[];
    ids bigint[] := '{}';
    a_streams text[]; a_priorities smallint[]; a_delays float8[]; a_max_attempts int[];
    a_initials float8[]; a_coefficients float8[]; a_maxes float8[]; a_job_ids text[];
    a_payloads text[];
    held text;
BEGIN
    FOR i IN 1..n LOOP
        gids[i] := NULL;
        versions[i] := NULL;
        INSERT INTO {schema}.jobs AS j (id, state, semaphore)
        VALUES (p_ids[i], p_states[i]::jsonb, p_semaphores[i])
        ON CONFLICT (id) DO UPDATE
           SET state = excluded.state, semaphore = excluded.semaphore, created_at = now(),
               updated_at = now(), expires_at = NULL
         WHERE j.expires_at IS NOT NULL AND j.expires_at <= now()
        RETURNING j.xmin::text INTO ver;
        IF FOUND THEN
            made := made || i;
            versions[i] := ver;
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
                                              WHERE sel[k] = i ORDER BY k) END,
           versions[i]
      FROM generate_series(1, n) AS i;
END;
$$;

CREATE FUNCTION {schema}.apply_steps_v2(
    p_jobs text[], p_states text[], p_deltas int[], p_fence_ids bigint[],
    p_fence_attempts int[], p_expires float8[], p_removed text[], p_guards text[],
    p_absent text[], p_versions text[],
    m_steps int[], m_closing bool[], m_streams text[], m_priorities smallint[],
    m_delays float8[], m_max_attempts int[], m_initials float8[], m_coefficients float8[],
    m_maxes float8[], m_job_ids text[], m_payloads text[])
RETURNS TABLE (o_step int, o_semaphore int, o_ids bigint[], o_final text, o_locked bool,
               o_version text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n int := coalesce(array_length(p_jobs, 1), 0);
    sems int[] := '{}';
    finals text[] := '{}';
    held bool[] := '{}';
    versions text[] := '{}';
    ver text;
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
        versions[i] := NULL;
        PERFORM 1 FROM {schema}.jobs j
         WHERE j.id = p_jobs[i] AND (j.expires_at IS NULL OR j.expires_at > now())
           AND (p_guards[i] IS NULL
                OR (j.semaphore > 0 AND j.state @> p_guards[i]::jsonb
                    AND NOT (j.state ?| ARRAY(SELECT jsonb_array_elements_text(
                                                  coalesce(p_absent[i], '[]')::jsonb)))))
           AND (p_versions[i] IS NULL OR j.xmin = p_versions[i]::xid)
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
        RETURNING j.semaphore, CASE WHEN j.semaphore <= 0 THEN j.state::text END,
                  j.xmin::text
             INTO sem, fin, ver;
        sems[i] := sem;
        finals[i] := fin;
        versions[i] := ver;
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
           finals[i], held[i], versions[i]
      FROM generate_series(1, n) AS i;
END;
$$;

DROP FUNCTION {schema}.create_jobs_v2(text[], text[], int[], int[], text[], smallint[],
    float8[], int[], float8[], float8[], float8[], text[], text[]);
DROP FUNCTION {schema}.apply_steps_v1(text[], text[], int[], bigint[], int[], float8[], text[],
    text[], text[], int[], bool[], text[], smallint[], float8[], int[], float8[], float8[],
    float8[], text[], text[]);
