-- hallq-central on PostgreSQL, migration 6: each hall's figure rows of a past day, as
-- firmware/figures.c's fig_day holds them (report.c), kept so that a period request reads
-- them instead of rebuilding the day from the hall's records (docs/DESIGN.md "Stored day
-- figures on hallq-central"). The same table and trigger as db.c's SQLite schema.
--
-- A stored day is dropped, in the transaction that stores the record, when a record that
-- can change it arrives: one dated from the day before to the day after (what report.c
-- loads to build the day), a ticket of those days, a follow-up or an appeal of a rating
-- given that day, an exclusion or its revocation whose span touches it. Days are texts
-- YYYY-MM-DD (prev_day and next_day, the day's neighbours, are written by report.c): the
-- trigger does date arithmetic only on the record's at (which the receiver checked is a
-- real date), and compares texts for the rest, so it never fails a batch over a ticket's
-- badly written day. The common case (any record: the days beside its date) goes through
-- the primary key; the scans over a hall's kept days are for the rare kinds only.
-- fig_rows NULL: a request is building the day; it writes its rows only if the row is
-- still its own (tag), so a record stored meanwhile is never hidden by a stale day.
CREATE TABLE hall_fig_days (
    hall_id   text NOT NULL,
    day       text NOT NULL,         -- the hall's business day, YYYY-MM-DD
    prev_day  text NOT NULL,
    next_day  text NOT NULL,
    tag       text NOT NULL,         -- the row form and the hall's configuration it was built with
    fig_rows  text,                  -- JSON: fig_day's rows of the day, in its column order
    built_at  text NOT NULL,
    PRIMARY KEY (hall_id, day)
);
-- a follow-up or appeal names its rating by the rating's uuid
CREATE INDEX records_evaluation ON records (hall_id, (data->>'uuid')) WHERE type = 'evaluation';

CREATE FUNCTION hall_fig_days_stale() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d date := substr(NEW.at, 1, 10)::date;  -- the receiver checked at is a real date
BEGIN
    -- every record: the days beside its own date, through the primary key
    DELETE FROM hall_fig_days f WHERE f.hall_id = NEW.hall_id
        AND f.day BETWEEN to_char(d - 1, 'YYYY-MM-DD') AND to_char(d + 1, 'YYYY-MM-DD');
    IF NEW.type = 'ticket' AND NEW.data->>'day' IS DISTINCT FROM substr(NEW.at, 1, 10) THEN
        DELETE FROM hall_fig_days f WHERE f.hall_id = NEW.hall_id
            AND NEW.data->>'day' BETWEEN f.prev_day AND f.next_day;
    ELSIF NEW.type = 'event' AND NEW.data->>'kind' IN ('follow_up', 'appeal', 'appeal_review') THEN
        DELETE FROM hall_fig_days f WHERE f.hall_id = NEW.hall_id
            AND f.day IN (SELECT substr(r.at, 1, 10) FROM records r
                          WHERE r.hall_id = NEW.hall_id AND r.type = 'evaluation'
                            AND r.data->>'uuid' = NEW.data->>'evaluation');
    ELSIF NEW.type = 'event' AND NEW.data->>'kind' = 'exclusion' THEN
        DELETE FROM hall_fig_days f WHERE f.hall_id = NEW.hall_id
            AND substr(NEW.data->>'from', 1, 10) <= f.next_day
            AND substr(NEW.data->>'to', 1, 10) >= f.prev_day;
    ELSIF NEW.type = 'event' AND NEW.data->>'kind' = 'exclusion_revoked' THEN
        DELETE FROM hall_fig_days f WHERE f.hall_id = NEW.hall_id
            AND EXISTS (SELECT 1 FROM hall_exclusions x
                        WHERE x.hall_id = NEW.hall_id
                          AND x.exclusion = NEW.data->>'exclusion'
                          AND x.created_at = NEW.data->>'created_at'
                          AND substr(x.from_at, 1, 10) <= f.next_day
                          AND substr(x.to_at, 1, 10) >= f.prev_day);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER records_fig_stale AFTER INSERT ON records
    FOR EACH ROW EXECUTE FUNCTION hall_fig_days_stale();
