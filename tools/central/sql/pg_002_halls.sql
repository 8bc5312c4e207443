-- hallq-central on PostgreSQL, migration 2: halls provisioned with their region
-- (province › city › district, '' where a level is not set) and a per-hall token
-- (only its BLAKE2b hash is kept), managers with personal credentials (libsodium
-- crypto_pwhash_str) scoped to a region, and their sign-in sessions (hashed too).
-- Times are RFC 3339 UTC text, as the SQLite store keeps them (one set of queries).
CREATE TABLE hall_registry (
    hall_id    text PRIMARY KEY,
    name       text NOT NULL DEFAULT '',
    province   text NOT NULL,
    city       text NOT NULL DEFAULT '',
    district   text NOT NULL DEFAULT '',
    token_hash text NOT NULL,
    issued_at  text NOT NULL,
    revoked_at text
);
CREATE INDEX hall_registry_region ON hall_registry (province, city, district);

CREATE TABLE managers (
    login    text PRIMARY KEY,
    name     text NOT NULL DEFAULT '',
    pwhash   text NOT NULL,
    province text NOT NULL,
    city     text NOT NULL DEFAULT '',
    district text NOT NULL DEFAULT ''
);

CREATE TABLE manager_sessions (
    token_hash text PRIMARY KEY,
    login      text NOT NULL REFERENCES managers (login) ON DELETE CASCADE,
    expires_at text NOT NULL
);
