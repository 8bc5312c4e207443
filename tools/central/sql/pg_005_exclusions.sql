-- hallq-central on PostgreSQL, migration 5: the managers' exclusions each hall sent
-- (event records of kind "exclusion" and "exclusion_revoked", docs/SYNC.md
-- "Exclusions"), kept by a trigger in the transaction that stores the record, whichever
-- receiver stored it. report.c copies a hall's rows into the box's fig_exclusions table
-- so firmware/figures.c applies them exactly as the box does. An exclusion is named by
-- the box's id and the time it was recorded (a box whose database started over reuses
-- ids). The trigger never fails a batch: every column but the key takes NULL (the
-- reader skips a row without kind or times), and a revocation that arrives before its
-- exclusion makes the row the exclusion then fills.
CREATE TABLE hall_exclusions (
    hall_id    text   NOT NULL,
    exclusion  text   NOT NULL,     -- the box's fig_exclusions.id
    created_at text   NOT NULL,     -- when the box recorded it (RFC 3339, as sent)
    excl_kind  text,                -- test | absence | fault
    staff      text,
    win        integer,
    ticket     text,                -- the ticket's uuid or its number of that day
    from_at    text,                -- RFC 3339, as sent
    to_at      text,
    actor      text,                -- who recorded it (staff:NNNN/role, token:NAME)
    seq        bigint,              -- the record that brought it
    revoked_at text,                -- the revocation record's at, NULL: in force
    revoked_by text,
    PRIMARY KEY (hall_id, exclusion, created_at)
);

CREATE FUNCTION hall_exclusion_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.data->>'kind' = 'exclusion' THEN
        INSERT INTO hall_exclusions (hall_id, exclusion, created_at, excl_kind, staff, win,
                                     ticket, from_at, to_at, actor, seq)
        VALUES (NEW.hall_id, NEW.data->>'exclusion', NEW.data->>'created_at',
                NEW.data->>'exclusion_kind', NEW.data->>'staff',
                CASE WHEN jsonb_typeof(NEW.data->'window') = 'number'
                          AND NEW.data->>'window' ~ '^[0-9]{1,9}$'
                     THEN (NEW.data->>'window')::integer END,
                NEW.data->>'ticket', NEW.data->>'from', NEW.data->>'to', NEW.data->>'actor',
                NEW.seq)
        ON CONFLICT (hall_id, exclusion, created_at) DO UPDATE SET
            excl_kind = EXCLUDED.excl_kind, staff = EXCLUDED.staff, win = EXCLUDED.win,
            ticket = EXCLUDED.ticket, from_at = EXCLUDED.from_at, to_at = EXCLUDED.to_at,
            actor = EXCLUDED.actor, seq = EXCLUDED.seq;
    ELSE
        INSERT INTO hall_exclusions (hall_id, exclusion, created_at, revoked_at, revoked_by)
        VALUES (NEW.hall_id, NEW.data->>'exclusion', NEW.data->>'created_at', NEW.at,
                NEW.data->>'actor')
        ON CONFLICT (hall_id, exclusion, created_at) DO UPDATE SET
            revoked_at = coalesce(hall_exclusions.revoked_at, EXCLUDED.revoked_at),
            revoked_by = coalesce(hall_exclusions.revoked_by, EXCLUDED.revoked_by);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER records_exclusion AFTER INSERT ON records
    FOR EACH ROW WHEN (NEW.type = 'event'
                       AND NEW.data->>'kind' IN ('exclusion', 'exclusion_revoked')
                       AND NEW.data->>'exclusion' IS NOT NULL
                       AND NEW.data->>'created_at' IS NOT NULL)
    EXECUTE FUNCTION hall_exclusion_apply();
