-- The dashboard lists jobs newest first, one page at a time (keyset pagination on
-- created_at, id). created_at is written once, so this index keeps step updates HOT.
CREATE INDEX jobs_created_idx ON {schema}.jobs (created_at, id);
