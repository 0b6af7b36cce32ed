-- One definition of "insert these messages": publish, publish+ack, create_job and
-- apply_step all call it, so the column list and the unnest of the nine parallel arrays
-- live in one place. Messages keep the order of the arrays; the ids come back in order.
CREATE FUNCTION {schema}.enqueue_v1(
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
