-- Escalations (durable.md §7): claimable human-in-the-loop work items. The engine writes a
-- row when a hook with an `escalation:` block suspends (signal_key = the hook's key
-- value); the escalations API lists, claims, resolves and expires rows. One table per
-- app schema (the reference keeps one global public.hmsh_escalations).

CREATE TABLE {schema}.escalations (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    namespace          text        NOT NULL,
    app_id             text        NOT NULL,
    signal_key         text,
    topic              text,
    workflow_id        text,
    task_queue         text,
    workflow_type      text,
    type               text,
    subtype            text,
    entity             text,
    description        text,
    role               text,
    status             text        NOT NULL DEFAULT 'pending',
    priority           integer     NOT NULL DEFAULT 5,
    assigned_to        text,
    assigned_until     timestamptz,
    claimed_at         timestamptz,
    claim_expires_at   timestamptz,
    resolved_at        timestamptz,
    resolver_payload   jsonb,
    envelope           jsonb,
    metadata           jsonb,
    origin_id          text,
    parent_id          text,
    initiated_by       text,
    milestones         jsonb       NOT NULL DEFAULT '[]',
    trace_id           text,
    span_id            text,
    expires_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX escalations_signal_key_idx
    ON {schema}.escalations (signal_key) WHERE signal_key IS NOT NULL;
CREATE INDEX escalations_pending_idx
    ON {schema}.escalations (role, priority, created_at) WHERE status = 'pending';
CREATE INDEX escalations_workflow_idx ON {schema}.escalations (workflow_id);
CREATE INDEX escalations_metadata_idx
    ON {schema}.escalations USING gin (metadata jsonb_path_ops);
