-- Engine support: job expiry and hook (webhook) registrations.

-- A completed job stays readable until expires_at, then its id may be reused; reads
-- ignore expired rows and housekeeping deletes them.
ALTER TABLE {schema}.jobs ADD COLUMN expires_at timestamptz;
CREATE INDEX jobs_expires_idx ON {schema}.jobs (expires_at) WHERE expires_at IS NOT NULL;

-- A waiting hook registers under "<hook topic>:<expected value>" (kind 'hook'); a signal
-- that arrives before the hook registered is parked under the same key (kind 'pending')
-- and handed over when the hook registers. Both sides lock the key, so neither order of
-- arrival loses the signal.
CREATE TABLE {schema}.hook_signals (
    key         text        PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('hook', 'pending')),
    value       jsonb       NOT NULL,
    expires_at  timestamptz NOT NULL
);
