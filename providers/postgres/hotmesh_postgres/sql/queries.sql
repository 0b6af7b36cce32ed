-- Named queries. Each block starts with "-- name: <name>"; {schema} is replaced by the
-- app's quoted schema name; values are always bound parameters ($1, $2, ...).

-- name: publish
-- One statement for any number of messages (arrays, in order).
SELECT {schema}.enqueue_v1(
        $1::text[], $2::smallint[], $3::float8[], $4::int[],
        $5::float8[], $6::float8[], $7::float8[],
        $8::text[], $9::text[]
    );

-- name: publish_acked
-- replay: safe (fenced by the delivery it acks; a second run publishes nothing)
-- Publish the answer to a delivery and ack the delivery, in one statement: nothing is
-- published when the delivery is no longer held (its lease was lost to another consumer).
-- (A set-returning call in the select list runs once per row of fence: zero or one.)
WITH fence AS (
    DELETE FROM {schema}.stream_messages WHERE id = $10 AND attempts = $11 RETURNING id
)
SELECT {schema}.enqueue_v1(
        $1::text[], $2::smallint[], $3::float8[], $4::int[],
        $5::float8[], $6::float8[], $7::float8[],
        $8::text[], $9::text[]
    ) FROM fence;

-- name: publish_acked_many
-- replay: safe (fenced by the deliveries it acks; a second run publishes nothing)
-- publish_acked for several deliveries in one statement (group commit of the worker's
-- answers; publish_acked_v1, migration 0011_lean_steps): $1/$2 the deliveries, $3 the
-- delivery (1-based) each message answers, then the nine message columns. One row per
-- delivery: its message ids, NULL when it was no longer held (nothing published for it).
SELECT * FROM {schema}.publish_acked_v1(
    $1::bigint[], $2::int[], $3::int[], $4::text[], $5::smallint[], $6::float8[], $7::int[],
    $8::float8[], $9::float8[], $10::float8[], $11::text[], $12::text[]);

-- name: claim
-- replay: safe (a repeated claim leases other messages; lost leases expire and redeliver)
-- claim_v1 (migration NNNN_claim_function) is the one definition of the claim.
SELECT * FROM {schema}.claim_v1($1, $2, $3, $4);

-- name: claim_with_job
-- replay: safe (a repeated claim leases other messages; lost leases expire and redeliver)
-- The claim, returning each message's job state too, read after the claim (migration
-- 0013_claim_with_job says why not in the same statement): the engine's step then needs
-- no separate read of the job.
SELECT * FROM {schema}.claim_with_job_v1($1, $2, $3, $4);

-- name: ack
-- replay: safe (deleting twice deletes once)
DELETE FROM {schema}.stream_messages s
 USING unnest($1::bigint[], $2::int[]) AS f(id, attempts)
 WHERE s.id = f.id AND s.attempts = f.attempts
RETURNING s.id;

-- name: extend
-- replay: safe (fenced by the delivery's attempt)
-- extend_v1 (migration 0014_extend_skip_locked): never waits for a row another
-- transaction holds (that could deadlock); such a row still held is returned unrenewed.
SELECT * FROM {schema}.extend_v1($1::bigint[], $2::int[], $3);

-- name: retry
-- replay: safe (fenced by the delivery's attempt)
UPDATE {schema}.stream_messages
   SET visible_at = now() + make_interval(secs => $3),
       lease_until = NULL,
       leased_by = NULL,
       last_error = $4
 WHERE id = $1 AND attempts = $2
RETURNING id;

-- name: dead_letter
-- replay: safe (fenced by the delivery's attempt)
WITH moved AS (
    DELETE FROM {schema}.stream_messages s
     USING unnest($1::bigint[], $2::int[]) AS f(id, attempts)
     WHERE s.id = f.id AND s.attempts = f.attempts
    RETURNING s.id, s.stream, s.priority, s.attempts, s.created_at, s.job_id, s.payload
)
INSERT INTO {schema}.dead_letters (id, stream, priority, attempts, created_at, error, job_id, payload)
SELECT id, stream, priority, attempts, created_at, $3, job_id, payload FROM moved
RETURNING id;

-- name: dead_letters
-- replay: safe (a read)
SELECT id, stream, attempts, error, job_id, payload
  FROM {schema}.dead_letters
 WHERE stream = $1
 ORDER BY dead_at, id
 LIMIT $2;

-- name: depth
-- replay: safe (a read)
SELECT stream,
       count(*) FILTER (WHERE visible_at <= now() AND (lease_until IS NULL OR lease_until <= now())),
       count(*) FILTER (WHERE visible_at > now() AND (lease_until IS NULL OR lease_until <= now())),
       count(*) FILTER (WHERE lease_until > now())
  FROM {schema}.stream_messages
 WHERE stream = ANY($1::text[])
 GROUP BY stream;

-- name: purge
-- replay: safe (deleting twice deletes once)
DELETE FROM {schema}.stream_messages WHERE stream = $1;

-- name: next_visible
-- replay: safe (a read)
-- When the earliest pending message of a stream becomes claimable (epoch seconds).
SELECT extract(epoch FROM min(coalesce(greatest(lease_until, visible_at), visible_at)))::float8
  FROM {schema}.stream_messages
 WHERE stream = $1;

-- name: sub_park
-- replay: safe (a lost notification strands its waiters; a repeated one is delivered twice and receivers tolerate that)
WITH parked AS (
    INSERT INTO {schema}.sub_payloads (payload) VALUES ($2) RETURNING id
), swept AS (
    DELETE FROM {schema}.sub_payloads
     WHERE created_at < now() - interval '5 minutes'
       AND id < (SELECT id FROM parked) - 100
)
SELECT pg_notify($1, '#' || id) FROM parked;

-- name: sub_fetch
-- replay: safe (a read)
SELECT payload FROM {schema}.sub_payloads WHERE id = $1;

-- name: sub_notify
-- replay: safe (as sub_park)
SELECT pg_notify($1, $2);

-- name: sub_notify_many
-- replay: safe (as sub_park)
-- sub_notify for several payloads in one statement (publications made while one is in
-- flight go together), sent in array order. Postgres delivers identical payloads sent in
-- one transaction once: the caller never puts two equal payloads in one call.
SELECT count(pg_catalog.pg_notify($1, u.body)) FROM pg_catalog.unnest($2::text[]) AS u(body);

-- name: put_version
-- replay: safe (storing the same manifest again is a no-op)
INSERT INTO {schema}.app_versions (version, manifest) VALUES ($1, $2::jsonb)
ON CONFLICT (version) DO UPDATE SET manifest = excluded.manifest
 WHERE app_versions.activated_at IS NULL OR app_versions.manifest = excluded.manifest
RETURNING version;

-- name: get_version
-- replay: safe (a read)
SELECT manifest::text FROM {schema}.app_versions WHERE version = $1;

-- name: list_versions
-- replay: safe (a read)
SELECT version FROM {schema}.app_versions ORDER BY created_at, version;

-- name: activate
-- replay: safe (activating twice activates once)
WITH target AS (
    SELECT version FROM {schema}.app_versions WHERE version = $1
), flag AS (
    UPDATE {schema}.app_versions SET activated_at = now()
     WHERE version = (SELECT version FROM target)
    RETURNING version
)
INSERT INTO {schema}.settings (key, value, updated_at)
SELECT 'active_version', to_jsonb(version), now() FROM flag
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
RETURNING key;

-- name: set_setting
-- replay: safe (an upsert)
INSERT INTO {schema}.settings (key, value) VALUES ($1, $2::jsonb)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now();

-- name: get_setting
-- replay: safe (a read)
SELECT value::text FROM {schema}.settings WHERE key = $1;

-- name: create_job
-- replay: safe (the job's gid is returned, so a retry recognises its own insert)
-- The job row and its first messages in one statement; nothing is published when a live
-- job has the id (an expired one is replaced: its id is free again).
WITH job AS (
    INSERT INTO {schema}.jobs (id, state, semaphore) VALUES ($1, $2::jsonb, $3)
    ON CONFLICT (id) DO UPDATE
       SET state = excluded.state, semaphore = excluded.semaphore, created_at = now(),
           updated_at = now(), expires_at = NULL
     WHERE jobs.expires_at IS NOT NULL AND jobs.expires_at <= now()
    RETURNING id, xmin::text AS version
), sent AS (
    SELECT {schema}.enqueue_v1(
        $4::text[], $5::smallint[], $6::float8[], $7::int[],
        $8::float8[], $9::float8[], $10::float8[],
        $11::text[], $12::text[]
    ) AS id FROM job
), counted AS (
    -- Trigger stats ($13 key, $14 bucket): only for a job created here. Data-modifying
    -- CTEs run whether or not they are referenced.
    INSERT INTO {schema}.stats AS s (key, bucket, field, value)
    SELECT $13, $14, u.field, u.value
      FROM unnest($15::text[], $16::float8[]) AS u(field, value)
     WHERE EXISTS (SELECT 1 FROM job)
    ON CONFLICT (key, bucket, field) DO UPDATE SET value = s.value + excluded.value
), indexed AS (
    INSERT INTO {schema}.stats_index (key, bucket, facet, job_id)
    SELECT $13, $14, u.facet, $1
      FROM unnest($17::text[]) AS u(facet)
     WHERE EXISTS (SELECT 1 FROM job)
    ON CONFLICT DO NOTHING
)
-- The third column is the gid of the job that already held the id (the statement's
-- snapshot does not see its own insert): equal to ours when this is a re-run after a lost
-- connection and the first run committed. The fourth is the created job's version (its
-- row's xmin: see migration 0015_job_versions).
SELECT (SELECT count(*) FROM job) AS created,
       (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM sent) AS sent,
       (SELECT state->'meta'->>'gid' FROM {schema}.jobs WHERE id = $1) AS held_gid,
       (SELECT version FROM job) AS version;

-- name: create_jobs
-- replay: safe (each job's gid is returned, so a retry recognises its own insert)
-- create_job for several jobs without trigger stats, in one statement (group commit;
-- create_jobs_v2, migration 0012_handoff; v3 adds versions): $1 ids, $2 states, $3 semaphores, $4 the
-- job (1-based) each message belongs to, then the nine message columns. One row per job:
-- (job, created here, gid of the job already holding the id, ids of its messages, the
-- created job's version: create_jobs_v3, migration 0015_job_versions).
SELECT * FROM {schema}.create_jobs_v3(
    $1::text[], $2::text[], $3::int[], $4::int[], $5::text[], $6::smallint[], $7::float8[],
    $8::int[], $9::float8[], $10::float8[], $11::float8[], $12::text[], $13::text[]);

-- name: get_job
-- replay: safe (a read)
SELECT state::text, semaphore FROM {schema}.jobs
 WHERE id = $1 AND (expires_at IS NULL OR expires_at > now());

-- name: get_jobs
-- replay: safe (a read)
-- get_job for several jobs at once (reads made while one is in flight go together).
SELECT id, state::text, semaphore FROM {schema}.jobs
 WHERE id = ANY($1::text[]) AND (expires_at IS NULL OR expires_at > now());

-- name: get_status
-- replay: safe (a read)
SELECT semaphore FROM {schema}.jobs
 WHERE id = $1 AND (expires_at IS NULL OR expires_at > now());

-- A step that goes alone (nothing else in flight: low load) runs as one of two lean
-- statements, apply_step or apply_step_bare; steps that arrive together run as one
-- apply_steps (below). All three apply each step the same way.

-- name: apply_step
-- One step of a job in one statement: guard, fence (ack the delivery that caused the
-- step), merge state ($2 replaces keys, $15 lists keys to remove), move the semaphore,
-- publish the next messages. When the step closes the job (semaphore <= 0 after it) the
-- job's expiry is set ($16 seconds; NULL keeps it, <= 0 never expires), the on-close
-- messages ($17..$25) are published too, and the final state is returned.
-- Guard ($28 true): the step applies only while the job is open (semaphore > 0), its state
-- contains $26 and holds none of the keys $27. The job row is locked first (FOR UPDATE
-- re-checks the guard on the latest committed version), so two steps built from the same
-- snapshot cannot both pass it. Only then is the fence consumed: a step whose guard fails
-- leaves its delivery held (the caller re-reads the job and decides again), and a step
-- whose fence no longer matches writes nothing (the step already happened). $29 (NULL:
-- none) is the job's version the step was planned from (a cached state): the guard fails
-- when the row has been written since (migration 0015_job_versions). The fourth column
-- says whether the guard held, the fifth is the version the step left.
WITH locked AS MATERIALIZED (
    SELECT 1 AS ok FROM {schema}.jobs
     WHERE id = $1 AND (expires_at IS NULL OR expires_at > now())
       AND ($28::bool IS NOT TRUE
            OR (semaphore > 0 AND state @> $26::jsonb AND NOT (state ?| $27::text[])))
       AND ($29::text IS NULL OR xmin = $29::text::xid)
       FOR UPDATE
), fence AS (
    DELETE FROM {schema}.stream_messages
     WHERE $13::bigint IS NOT NULL AND id = $13 AND attempts = $14
       AND EXISTS (SELECT 1 FROM locked)
    RETURNING id
), go AS (
    SELECT 1 FROM locked WHERE $13::bigint IS NULL OR EXISTS (SELECT 1 FROM fence)
), job AS (
    UPDATE {schema}.jobs
       SET state = (state || $2::jsonb) - $15::text[],
           semaphore = semaphore + $3,
           updated_at = now(),
           expires_at = CASE
               WHEN semaphore + $3 > 0 OR $16::float8 IS NULL THEN expires_at
               WHEN $16::float8 <= 0 THEN NULL
               ELSE now() + make_interval(secs => $16::float8) END
     WHERE id = $1 AND EXISTS (SELECT 1 FROM go)
    RETURNING semaphore, CASE WHEN semaphore <= 0 THEN state::text END AS final_state,
              xmin::text AS version
), sent AS (
    SELECT {schema}.enqueue_v1(
        $4::text[], $5::smallint[], $6::float8[], $7::int[],
        $8::float8[], $9::float8[], $10::float8[],
        $11::text[], $12::text[]
    ) AS id FROM job
), closing AS (
    SELECT {schema}.enqueue_v1(
        $17::text[], $18::smallint[], $19::float8[], $20::int[],
        $21::float8[], $22::float8[], $23::float8[],
        $24::text[], $25::text[]
    ) AS id
      FROM job WHERE semaphore <= 0
)
SELECT (SELECT semaphore FROM job),
       ARRAY(SELECT id FROM sent ORDER BY id) || ARRAY(SELECT id FROM closing ORDER BY id),
       (SELECT final_state FROM job),
       EXISTS (SELECT 1 FROM locked),
       (SELECT version FROM job);

-- name: apply_step_bare
-- apply_step for a step that publishes nothing (no messages, no on-close messages; e.g. a
-- job's last step when nobody awaits it through a stream): the same guard, fence, merge,
-- semaphore and expiry in 11 parameters instead of 29 mostly empty ones. $1 job, $2 keys
-- to set, $3 semaphore change, $4/$5 the fence, $6 keys to remove, $7 expiry, $8/$9/$10
-- the guard, $11 the version (as $26..$29 of apply_step).
WITH locked AS MATERIALIZED (
    SELECT 1 AS ok FROM {schema}.jobs
     WHERE id = $1 AND (expires_at IS NULL OR expires_at > now())
       AND ($10::bool IS NOT TRUE
            OR (semaphore > 0 AND state @> $8::jsonb AND NOT (state ?| $9::text[])))
       AND ($11::text IS NULL OR xmin = $11::text::xid)
       FOR UPDATE
), fence AS (
    DELETE FROM {schema}.stream_messages
     WHERE $4::bigint IS NOT NULL AND id = $4 AND attempts = $5
       AND EXISTS (SELECT 1 FROM locked)
    RETURNING id
), go AS (
    SELECT 1 FROM locked WHERE $4::bigint IS NULL OR EXISTS (SELECT 1 FROM fence)
), job AS (
    UPDATE {schema}.jobs
       SET state = (state || $2::jsonb) - $6::text[],
           semaphore = semaphore + $3,
           updated_at = now(),
           expires_at = CASE
               WHEN semaphore + $3 > 0 OR $7::float8 IS NULL THEN expires_at
               WHEN $7::float8 <= 0 THEN NULL
               ELSE now() + make_interval(secs => $7::float8) END
     WHERE id = $1 AND EXISTS (SELECT 1 FROM go)
    RETURNING semaphore, CASE WHEN semaphore <= 0 THEN state::text END AS final_state,
              xmin::text AS version
)
SELECT (SELECT semaphore FROM job), '{}'::bigint[], (SELECT final_state FROM job),
       EXISTS (SELECT 1 FROM locked), (SELECT version FROM job);

-- name: apply_steps
-- Steps of jobs, one or a batch (group commit), in one statement and one transaction:
-- apply_steps_v2 (migrations 0011_lean_steps, 0015_job_versions: $10 the versions the
-- steps were planned from, NULL for none) applies each as its own guarded, fenced step
-- (guard, fence, merge state, semaphore, expiry, messages, on-close messages) and returns
-- one row per step: (step, semaphore or NULL when not applied, message ids, final state
-- when the step closed the job, whether the guard held, the version it left). The job
-- row is locked first
-- (FOR UPDATE re-checks the guard on the latest committed version), so two steps built
-- from the same snapshot cannot both pass it; only then is the fence consumed: a step
-- whose guard fails leaves its delivery held, a step whose fence no longer matches writes
-- nothing (the step already happened).
SELECT * FROM {schema}.apply_steps_v2(
    $1::text[], $2::text[], $3::int[], $4::bigint[], $5::int[], $6::float8[], $7::text[],
    $8::text[], $9::text[], $10::text[],
    $11::int[], $12::bool[], $13::text[], $14::smallint[], $15::float8[], $16::int[],
    $17::float8[], $18::float8[], $19::float8[], $20::text[], $21::text[]);

-- name: checkpoint
-- replay: safe (a re-run writes the same keys again, fenced by the same delivery)
-- A worker's write into the job it is running a delivery for: merge $2 (remove the keys
-- $5) into the live, open job $1 only while delivery ($3 id, $4 attempt) is still held.
-- The message row is locked FOR SHARE, so a rival claim (FOR UPDATE SKIP LOCKED) cannot
-- take the delivery over between the check and the write; the delivery stays held (not
-- acked). Returns the stored values of the clear keys $6 after the write (no row: refused).
WITH held AS MATERIALIZED (
    SELECT 1 FROM {schema}.stream_messages
     WHERE id = $3 AND attempts = $4 AND lease_until IS NOT NULL
       FOR SHARE
)
UPDATE {schema}.jobs
   SET state = (state || $2::jsonb) - $5::text[], updated_at = now()
 WHERE id = $1 AND (expires_at IS NULL OR expires_at > now()) AND semaphore > 0
   AND EXISTS (SELECT 1 FROM held)
RETURNING (SELECT coalesce(jsonb_object_agg(k, state -> k), '{}'::jsonb)
             FROM unnest($6::text[]) AS k WHERE state ? k)::text;

-- name: delete_job
-- replay: safe (deleting twice deletes once)
WITH gone AS (
    DELETE FROM {schema}.jobs WHERE id = $1 RETURNING id
), msgs AS (
    DELETE FROM {schema}.stream_messages WHERE job_id = $1
)
SELECT count(*) FROM gone;

-- name: purge_job_messages
-- replay: safe (deleting twice deletes once)
DELETE FROM {schema}.stream_messages WHERE job_id = $1;

-- name: sweep_expired_jobs
-- replay: safe (deletes expired rows)
-- A row another transaction holds is skipped (swept next time), never waited for: waiting
-- while holding the rows already deleted could deadlock with a step batch (seen in the
-- million-job soak; each transaction's now() differs, so a job at its expiry can be open
-- to a step and expired to the sweep).
DELETE FROM {schema}.jobs
 WHERE id IN (SELECT id FROM {schema}.jobs
               WHERE expires_at IS NOT NULL AND expires_at <= now()
               LIMIT 1000 FOR UPDATE SKIP LOCKED);

-- name: hook_lock
SELECT pg_advisory_xact_lock(hashtextextended($1, 8191));

-- name: hook_get
SELECT kind, value::text FROM {schema}.hook_signals
 WHERE key = $1 AND expires_at > now();

-- name: hook_put
INSERT INTO {schema}.hook_signals (key, kind, value, expires_at)
VALUES ($1, $2, $3::jsonb, now() + make_interval(secs => $4))
ON CONFLICT (key) DO UPDATE
   SET kind = excluded.kind, value = excluded.value, expires_at = excluded.expires_at;

-- name: hook_delete
-- replay: safe (deleting twice deletes once)
DELETE FROM {schema}.hook_signals WHERE key = $1;

-- name: hook_delete_if
-- replay: safe (deleting twice deletes once)
-- Only the hook registered for target $2 (a wait under several keys forgets the others).
DELETE FROM {schema}.hook_signals WHERE key = $1 AND kind = 'hook' AND value = $2::jsonb;

-- name: fail_jobs
-- replay: safe (only jobs still running are failed)
-- Running jobs ($1) whose stored values cannot be decoded (a codec or key is missing or
-- wrong) are closed as errored instead of being retried: the error text ($2) goes into
-- their metadata (which is kept clear), the semaphore goes negative as an interrupted
-- job's does, their pending messages are dropped, and their usual expiry starts.
WITH failed AS (
    UPDATE {schema}.jobs j
       SET state = j.state || jsonb_build_object('meta',
               CASE WHEN jsonb_typeof(j.state->'meta') = 'object' THEN j.state->'meta'
                    ELSE '{}'::jsonb END || jsonb_build_object('err', f.err)),
           semaphore = j.semaphore - 1000000000,
           updated_at = now(),
           expires_at = CASE
               WHEN jsonb_typeof(j.state->'meta'->'expire') IS DISTINCT FROM 'number'
                   THEN j.expires_at
               WHEN (j.state->'meta'->>'expire')::float8 <= 0 THEN NULL
               ELSE now() + make_interval(secs => (j.state->'meta'->>'expire')::float8) END
      FROM unnest($1::text[], $2::text[]) AS f(id, err)
     WHERE j.id = f.id AND j.semaphore > 0 AND (j.expires_at IS NULL OR j.expires_at > now())
    RETURNING j.id
), purged AS (
    DELETE FROM {schema}.stream_messages s USING failed WHERE s.job_id = failed.id
)
SELECT id FROM failed;

-- Secured workers (migration 0005, docs/security.md): the worker role has no table
-- privilege and goes through these SECURITY DEFINER functions only.

-- name: secured_claim
-- replay: safe (see claim)
SELECT * FROM {schema}.worker_claim($1, $2, $3, $4);

-- name: secured_ack
-- replay: safe (see ack)
SELECT * FROM {schema}.worker_ack($1::bigint[], $2::int[]);

-- name: secured_extend
-- replay: safe (see extend)
SELECT * FROM {schema}.worker_extend($1::bigint[], $2::int[], $3);

-- name: secured_retry
-- replay: safe (see retry)
SELECT {schema}.worker_retry($1, $2, $3, $4);

-- name: secured_dead_letter
-- replay: safe (see dead_letter)
SELECT * FROM {schema}.worker_dead_letter($1::bigint[], $2::int[], $3);

-- name: secured_publish
-- Not marked safe (see publish): the caller says when its messages are keyed.
SELECT * FROM {schema}.worker_respond($1::text[], $2::smallint[], $3::float8[], $4::int[],
    $5::float8[], $6::float8[], $7::float8[], $8::text[], $9::text[], NULL, NULL);

-- name: secured_publish_acked
-- replay: safe (see publish_acked)
SELECT * FROM {schema}.worker_respond($1::text[], $2::smallint[], $3::float8[], $4::int[],
    $5::float8[], $6::float8[], $7::float8[], $8::text[], $9::text[], $10::bigint, $11::int);

-- name: secured_depth
-- replay: safe (a read)
SELECT * FROM {schema}.worker_depth($1::text[]);

-- name: secured_setting
-- replay: safe (a read)
SELECT {schema}.worker_setting($1);

-- name: get_stats
-- replay: safe (a read)
SELECT bucket, field, value::float8 FROM {schema}.stats
 WHERE key = $1 AND bucket = ANY($2::text[]);

-- name: get_ids
-- replay: safe (a read)
SELECT bucket, facet, job_id FROM {schema}.stats_index
 WHERE key = $1 AND bucket = ANY($2::text[]) AND facet = ANY($3::text[])
 ORDER BY bucket, facet, created_at, job_id;

-- name: delete_stats
-- replay: safe (deleting twice deletes once)
WITH counters AS (
    DELETE FROM {schema}.stats WHERE key = $1 AND bucket = ANY($2::text[])
)
DELETE FROM {schema}.stats_index
 WHERE key = $1 AND bucket = ANY($2::text[]) AND facet = ANY($3::text[]);

-- Escalations (migration 0008; hotmesh_postgres/escalations.py). Rows come back as
-- row_to_json text; ids are passed as text and cast, after the caller checked the form.

-- name: esc_create
INSERT INTO {schema}.escalations AS e
       (namespace, app_id, signal_key, topic, workflow_id, task_queue, workflow_type, type,
        subtype, entity, description, role, priority, envelope, metadata, origin_id,
        parent_id, initiated_by, trace_id, span_id, expires_at)
SELECT r.namespace, r.app_id, r.signal_key, r.topic, r.workflow_id, r.task_queue,
       r.workflow_type, r.type, r.subtype, r.entity, r.description, r.role,
       coalesce(r.priority, 5), r.envelope, r.metadata, r.origin_id, r.parent_id,
       r.initiated_by, r.trace_id, r.span_id, r.expires_at
  FROM jsonb_populate_record(NULL::{schema}.escalations, $1::jsonb) AS r
ON CONFLICT (signal_key) WHERE signal_key IS NOT NULL DO NOTHING
RETURNING row_to_json(e)::text;

-- name: esc_get
SELECT row_to_json(e)::text FROM {schema}.escalations e WHERE id = $1::text::uuid;

-- name: esc_list
SELECT row_to_json(x)::text FROM (
    SELECT e.*, (e.assigned_to IS NULL OR e.assigned_until <= now()) AS available
      FROM {schema}.escalations e
     WHERE ($1::text IS NULL OR e.status = $1)
       AND ($2::text[] IS NULL OR e.role = ANY($2::text[]))
       AND ($3::text IS NULL OR e.type = $3)
       AND ($4::text IS NULL OR e.subtype = $4)
       AND ($5::text IS NULL OR e.workflow_id = $5)
       AND ($6::text IS NULL OR e.assigned_to = $6)
       AND ($7::text IS NULL OR e.signal_key = $7)
       AND ($8::boolean IS NULL
            OR (e.assigned_to IS NULL OR e.assigned_until <= now()) = $8::boolean)
       AND ($9::jsonb IS NULL OR e.metadata @> $9::jsonb)
       AND ($10::text[] IS NULL OR e.id = ANY($10::text[]::uuid[]))
     ORDER BY e.priority ASC, e.created_at DESC, e.id
     LIMIT $11 OFFSET $12
) x;

-- name: esc_claim
-- Claim iff pending and (unassigned, no window, window lapsed, or the same assignee).
WITH target AS (
    SELECT id, assigned_to AS before FROM {schema}.escalations
     WHERE id = $1::text::uuid AND status = 'pending'
       AND (assigned_to IS NULL OR assigned_until IS NULL OR assigned_until <= now()
            OR assigned_to = $2)
       FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE {schema}.escalations e
       SET assigned_to = $2, claimed_at = now(),
           assigned_until = now() + make_interval(secs => $3::float8),
           claim_expires_at = now() + make_interval(secs => $3::float8),
           updated_at = now()
      FROM target WHERE e.id = target.id
    RETURNING row_to_json(e)::text AS entry, target.before IS NOT DISTINCT FROM $2 AS extension
)
SELECT (SELECT entry FROM claimed), (SELECT extension FROM claimed),
       EXISTS (SELECT 1 FROM {schema}.escalations
                WHERE id = $1::text::uuid AND status = 'pending');

-- name: esc_release
WITH target AS (
    SELECT id FROM {schema}.escalations
     WHERE id = $1::text::uuid AND status = 'pending' AND assigned_to IS NOT NULL
       AND ($2::text IS NULL OR assigned_to = $2)
       FOR UPDATE
), released AS (
    UPDATE {schema}.escalations e
       SET assigned_to = NULL, assigned_until = NULL, claimed_at = NULL,
           claim_expires_at = NULL, updated_at = now()
      FROM target WHERE e.id = target.id
    RETURNING row_to_json(e)::text AS entry
)
SELECT (SELECT entry FROM released),
       EXISTS (SELECT 1 FROM {schema}.escalations
                WHERE id = $1::text::uuid AND status = 'pending' AND assigned_to IS NOT NULL);

-- name: esc_finish
-- pending -> $2 with the resolver payload ($3), merged metadata ($4) and the wake messages
-- ($5..$13) in one statement; nothing happens (and nothing is published) unless pending.
WITH target AS (
    SELECT id, status AS was FROM {schema}.escalations WHERE id = $1::text::uuid FOR UPDATE
), done AS (
    UPDATE {schema}.escalations e
       SET status = $2,
           resolver_payload = coalesce($3::jsonb, e.resolver_payload),
           resolved_at = CASE WHEN $2 = 'resolved' THEN now() ELSE e.resolved_at END,
           metadata = CASE WHEN $4::jsonb IS NULL THEN e.metadata
                           ELSE coalesce(e.metadata, '{}'::jsonb) || $4::jsonb END,
           updated_at = now()
      FROM target WHERE e.id = target.id AND target.was = 'pending'
    RETURNING row_to_json(e)::text AS entry
), woken AS (
    SELECT {schema}.enqueue_v1(
        $5::text[], $6::smallint[], $7::float8[], $8::int[],
        $9::float8[], $10::float8[], $11::float8[],
        $12::text[], $13::text[]
    ) AS id FROM done
)
SELECT (SELECT entry FROM done), (SELECT was FROM target), (SELECT count(*) FROM woken);

-- name: esc_expire
UPDATE {schema}.escalations e SET status = 'expired', updated_at = now()
 WHERE signal_key = $1 AND status = 'pending'
RETURNING row_to_json(e)::text;

-- Inspector (hotmesh.spi.Inspector, the dashboard): reads only.

-- name: inspect_versions
SELECT version, created_at, activated_at, manifest::text,
       version = (SELECT value #>> '{}' FROM {schema}.settings WHERE key = 'active_version')
  FROM {schema}.app_versions
 ORDER BY created_at DESC, version DESC;

-- name: inspect_jobs
-- Newest first from a cursor ($3, $4: 'infinity' and '' for the first page), walking the
-- created index backwards: at most $5 jobs are examined ("scanned"), then filtered
-- (topic $6, status $7, search field $8 = $9, job id $10) and cut to $11. The last row
-- (kind 'scan') says how far the walk went: its key and how many jobs it examined.
WITH scanned AS MATERIALIZED (
    SELECT id, created_at, updated_at, semaphore, state->'meta' AS meta,
           state ? '-cancelled-' AS cancelled,
           CASE WHEN $8::text IS NULL THEN NULL ELSE state->>('_' || $8::text) END AS found
      FROM {schema}.jobs
     WHERE (created_at, id) < ($3::timestamptz, $4::text)
       AND created_at >= $1::timestamptz AND created_at < $2::timestamptz
       AND (expires_at IS NULL OR expires_at > now())
     ORDER BY created_at DESC, id DESC
     LIMIT $5
), labelled AS (
    SELECT *, CASE WHEN semaphore > 0 THEN 'running'
                   WHEN semaphore <= -1000000 THEN 'interrupted'
                   WHEN semaphore < 0 THEN 'pending'
                   WHEN coalesce(meta->>'err', '') <> '' THEN 'failed'
                   ELSE 'completed' END AS status
      FROM scanned
), matched AS (
    SELECT * FROM labelled
     WHERE ($6::text IS NULL OR meta->>'tpc' = $6::text)
       AND ($7::text IS NULL OR status = $7::text)
       AND ($8::text IS NULL OR found = $9::text)
       AND ($10::text IS NULL OR id = $10::text)
     ORDER BY created_at DESC, id DESC
     LIMIT $11
)
SELECT 'job', id, created_at, updated_at, semaphore, meta::text, cancelled, status
  FROM matched
UNION ALL
SELECT 'scan', (SELECT id FROM scanned ORDER BY created_at, id LIMIT 1),
       (SELECT min(created_at) FROM scanned), NULL, (SELECT count(*) FROM scanned)::int,
       NULL, NULL, NULL;

-- name: inspect_job_created
SELECT created_at FROM {schema}.jobs
 WHERE id = $1 AND (expires_at IS NULL OR expires_at > now());

-- name: inspect_job
SELECT id, created_at, updated_at, semaphore, state::text, expires_at
  FROM {schema}.jobs
 WHERE id = $1 AND (expires_at IS NULL OR expires_at > now());

-- name: inspect_children
-- Children are created while their parent runs: only that stretch of the index is read,
-- and at most $5 jobs of it (a long-running parent in a busy app has a long stretch).
WITH stretch AS MATERIALIZED (
    SELECT id, created_at, updated_at, semaphore, state->'meta' AS meta,
           state ? '-cancelled-' AS cancelled, expires_at
      FROM {schema}.jobs
     WHERE created_at >= $2::timestamptz AND created_at <= $3::timestamptz
     ORDER BY created_at, id
     LIMIT $5
)
SELECT id, created_at, updated_at, semaphore, meta->>'err', meta::text, cancelled
  FROM stretch
 WHERE meta->>'pj' = $1 AND (expires_at IS NULL OR expires_at > now())
 ORDER BY created_at, id
 LIMIT $4;

-- name: inspect_streams
SELECT coalesce(m.stream, d.stream), coalesce(m.ready, 0), coalesce(m.delayed, 0),
       coalesce(m.leased, 0), coalesce(d.dead, 0)
  FROM (SELECT stream,
               count(*) FILTER (WHERE visible_at <= now()
                                  AND (lease_until IS NULL OR lease_until <= now())) AS ready,
               count(*) FILTER (WHERE visible_at > now()
                                  AND (lease_until IS NULL OR lease_until <= now())) AS delayed,
               count(*) FILTER (WHERE lease_until > now()) AS leased
          FROM {schema}.stream_messages GROUP BY stream) m
  FULL JOIN (SELECT stream, count(*) AS dead FROM {schema}.dead_letters GROUP BY stream) d
    ON d.stream = m.stream
 ORDER BY 1;

-- name: inspect_throughput
-- Per minute over the last $1 minutes: jobs created, and how many of those closed (by
-- the minute they closed in).
WITH recent AS (
    SELECT created_at, updated_at, semaphore FROM {schema}.jobs
     WHERE created_at >= date_trunc('minute', now()) - make_interval(mins => $1)
)
SELECT minute, sum(started)::int, sum(finished)::int FROM (
    SELECT date_trunc('minute', created_at) AS minute, 1 AS started, 0 AS finished
      FROM recent
    UNION ALL
    SELECT date_trunc('minute', updated_at), 0, 1 FROM recent WHERE semaphore <= 0
) t
 GROUP BY minute ORDER BY minute;

-- name: inspect_job_count
-- The planner's estimate; small (or never analysed) tables are counted, up to 100,000.
SELECT CASE WHEN c.reltuples < 10000
            THEN (SELECT count(*) FROM (SELECT 1 FROM {schema}.jobs LIMIT 100000) s)
            ELSE c.reltuples::bigint END
  FROM pg_catalog.pg_class c
 WHERE c.oid = '{schema}.jobs'::regclass;

-- name: inspect_app_summary
-- What the dashboard's first page shows of one app, without joining it.
WITH active AS (
    SELECT value #>> '{}' AS version FROM {schema}.settings WHERE key = 'active_version'
)
SELECT (SELECT manifest #>> '{manifest,app,id}' FROM {schema}.app_versions
         ORDER BY created_at DESC LIMIT 1),
       (SELECT version FROM active),
       (SELECT activated_at FROM {schema}.app_versions WHERE version = (SELECT version FROM active)),
       (SELECT count(*) FROM {schema}.app_versions)::int,
       (SELECT CASE WHEN c.reltuples < 10000
                    THEN (SELECT count(*) FROM (SELECT 1 FROM {schema}.jobs LIMIT 100000) s)
                    ELSE c.reltuples::bigint END
          FROM pg_catalog.pg_class c WHERE c.oid = '{schema}.jobs'::regclass),
       (SELECT jsonb_path_query_array(manifest, '$.manifest.app.graphs[*].subscribes')::text
          FROM {schema}.app_versions WHERE version = (SELECT version FROM active));
