-- Lease renewal no longer waits for rows another transaction holds.
--
-- A router renews all its in-flight leases in one statement. The old UPDATE locked the
-- rows one by one, in no set order, and waited for any row another transaction held:
-- holding the rows already renewed while it waited. A step batch (or a worker's answers)
-- consuming the same deliveries in another order then deadlocked with it (seen under load
-- in the million-job soak, "deadlock detected" in "lease renewal failed").
--
-- extend_v1 locks with SKIP LOCKED: a row held elsewhere is being consumed (a step or an
-- ack deleting it) or claimed after the lease lapsed. It is not renewed now (the next
-- round, a third of a lease later, renews it if it is still held) and it is returned when
-- it is still this delivery's, as its lock holder left it, so that the caller does not
-- take a delivery being acked for a lost lease. The owner's `extend` and the secured
-- worker_extend both call it.
CREATE FUNCTION {schema}.extend_v1(
    p_ids bigint[], p_attempts int[], p_lease float8, p_streams text[] DEFAULT NULL)
RETURNS SETOF bigint
LANGUAGE sql VOLATILE AS $$
    WITH mine AS MATERIALIZED (  -- the deliveries still this caller's (no lock taken)
        SELECT s.id, s.attempts
          FROM {schema}.stream_messages s
          JOIN unnest(p_ids, p_attempts) AS f(id, attempts)
            ON s.id = f.id AND s.attempts = f.attempts
         WHERE s.lease_until IS NOT NULL
           AND (p_streams IS NULL OR s.stream = ANY(p_streams))
    ), held AS MATERIALIZED (  -- those no other transaction holds, now locked
        SELECT s.id
          FROM {schema}.stream_messages s
          JOIN mine ON s.id = mine.id AND s.attempts = mine.attempts
         WHERE s.lease_until IS NOT NULL
           FOR UPDATE OF s SKIP LOCKED
    ), renewed AS (
        UPDATE {schema}.stream_messages s
           SET lease_until = now() + make_interval(secs => p_lease)
          FROM held
         WHERE s.id = held.id
        RETURNING s.id
    )
    SELECT id FROM renewed
    UNION ALL
    SELECT id FROM mine WHERE id NOT IN (SELECT id FROM held);
$$;

REVOKE ALL ON FUNCTION {schema}.extend_v1(bigint[], int[], float8, text[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION {schema}.worker_extend(p_ids bigint[], p_attempts int[], p_lease float8)
RETURNS SETOF bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY SELECT * FROM {schema}.extend_v1(p_ids, p_attempts, p_lease,
                                                  {schema}.worker_streams());
END;
$$;
