-- hallq-central on PostgreSQL, migration 4: each hall's configuration file (the box's
-- hallq.json as given with `hallq-central hall config HALL_ID FILE`), read with the box's
-- own loader when the period figures are computed (tools/central/report.c): services and
-- their handling limits, windows and their services, the roster, the UTC offset.
CREATE TABLE hall_config (
    hall_id text PRIMARY KEY,
    config  text NOT NULL,
    set_at  text NOT NULL
);
