-- hallq-central on PostgreSQL, migration 3: forwarding evaluation records to the
-- provincial 好差评 platform (docs/PROVINCE.md). One row per evaluation (hall id +
-- record uuid), queued by a trigger in the same transaction that stores the record, so
-- none is missed whichever receiver stored it. A forwarder claims a due row with
-- SELECT ... FOR UPDATE SKIP LOCKED and keeps the row lock while it posts, so two
-- forwarders (in one process or several) never post the same evaluation at once; the
-- row is marked sent in the same transaction once the platform said 2xx.
CREATE TABLE province_forward (
    hall_id     text        NOT NULL,
    uuid        text        NOT NULL,
    seq         bigint      NOT NULL,
    queued_at   bigint      NOT NULL DEFAULT (extract(epoch FROM now()) * 1000)::bigint,
    next_at     bigint      NOT NULL DEFAULT 0,   -- ms since the epoch: not before
    attempts    integer     NOT NULL DEFAULT 0,
    sent_at     bigint,                           -- ms since the epoch, NULL: not yet
    worker      text,                             -- the forwarder that delivered it
    last_status integer,                          -- HTTP status of the last try (0: none)
    last_error  text,
    PRIMARY KEY (hall_id, uuid)
);
CREATE INDEX province_forward_due ON province_forward (next_at) WHERE sent_at IS NULL;

CREATE FUNCTION province_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO province_forward (hall_id, uuid, seq) VALUES (NEW.hall_id, NEW.uuid, NEW.seq)
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER records_province AFTER INSERT ON records
    FOR EACH ROW WHEN (NEW.type = 'evaluation') EXECUTE FUNCTION province_enqueue();

INSERT INTO province_forward (hall_id, uuid, seq)
    SELECT hall_id, uuid, seq FROM records WHERE type = 'evaluation' ON CONFLICT DO NOTHING;
