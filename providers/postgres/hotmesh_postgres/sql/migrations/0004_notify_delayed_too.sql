-- One insert can hold both claimable rows and delayed ones for the same stream (a step
-- that starts a worker and arms a timer). v1 reported only the earliest row per stream,
-- so the timer's wake-up was lost and it fired on the next poll. v2 reports, per stream,
-- 0 (claimable now), the epoch second the first delayed row becomes visible, or both as
-- [0, epoch]. Still one NOTIFY per statement.
CREATE FUNCTION {schema}.notify_streams_v2() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    body text;
BEGIN
    SELECT json_object_agg(stream,
             CASE WHEN now_count > 0 AND first_later IS NOT NULL
                      THEN json_build_array(0, extract(epoch FROM first_later))
                  WHEN now_count > 0 THEN to_json(0)
                  ELSE to_json(extract(epoch FROM first_later)) END)::text
      INTO body
      FROM (SELECT stream,
                   count(*) FILTER (WHERE visible_at <= now()) AS now_count,
                   min(visible_at) FILTER (WHERE visible_at > now()) AS first_later
              FROM new_rows GROUP BY stream) s;
    IF body IS NOT NULL THEN
        IF octet_length(body) > 7900 THEN
            body := '"*"';
        END IF;
        PERFORM pg_notify(TG_ARGV[0], body);
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER stream_messages_notify ON {schema}.stream_messages;
CREATE TRIGGER stream_messages_notify
    AFTER INSERT ON {schema}.stream_messages
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_streams_v2({wake_channel_literal});
DROP FUNCTION {schema}.notify_streams_v1();
