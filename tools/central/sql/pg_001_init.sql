-- hallq-central on PostgreSQL, migration 1: records as they arrive, the
-- per-hall acknowledgement mark, appointments. Applied once, in order, by
-- the first receiver that starts (pg_advisory_xact_lock), recorded in
-- schema_migrations. Files are never edited once shipped: a change is a new file.
CREATE TABLE records (
    hall_id     text        NOT NULL,
    seq         bigint      NOT NULL CHECK (seq > 0),
    uuid        text        NOT NULL,
    type        text        NOT NULL,
    at          text        NOT NULL,          -- as sent (RFC 3339 with the hall's offset)
    at_ts       timestamptz NOT NULL,          -- the same instant, for reports
    data        jsonb       NOT NULL,          -- the record's data as it arrived
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hall_id, seq),
    UNIQUE (hall_id, uuid)
);
CREATE INDEX records_type_at ON records (type, at_ts);

-- The acknowledgement mark of each hall: the highest seq up to which every
-- record is held or declared gone. The row is also the per-hall lock every
-- batch takes first, so batches of one hall reaching two receivers at once
-- are stored one after the other and the walk sees the other's rows.
CREATE TABLE hall_sync (
    hall_id       text        PRIMARY KEY,
    acked_through bigint      NOT NULL DEFAULT 0,
    gone_through  bigint      NOT NULL DEFAULT 0,
    last_contact  timestamptz
);

CREATE TABLE appointments (
    cursor  bigserial PRIMARY KEY,
    hall_id text  NOT NULL DEFAULT '',
    id      text  NOT NULL,
    json    jsonb NOT NULL,
    UNIQUE (hall_id, id)
);
