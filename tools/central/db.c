/*
 * db.c — hallq-central's storage: the records every hall sent (idempotent on
 * hall id + seq, so a resent batch is absorbed) and the appointments it
 * hands out with a cursor. acked_through is kept per hall and only ever
 * advances over a contiguous run of seqs: a gap caps it, so the hall resends
 * what the server is missing.
 */
#include "central.h"

#include "hq.h"
#include "sync_proto.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char central__schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS records(hall_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " uuid TEXT NOT NULL, type TEXT NOT NULL, at TEXT NOT NULL, data TEXT NOT NULL,"
    " received_at TEXT NOT NULL, PRIMARY KEY(hall_id, seq));"
    "CREATE TABLE IF NOT EXISTS halls(hall_id TEXT PRIMARY KEY,"
    " acked_through INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS appointments(cursor INTEGER PRIMARY KEY AUTOINCREMENT,"
    " hall_id TEXT NOT NULL DEFAULT '', id TEXT NOT NULL, json TEXT NOT NULL,"
    " UNIQUE(hall_id, id));"
    /* Halls and managers: the same tables as tools/central/sql/pg_002_halls.sql, so that
     * halls.c runs one set of queries on either store. */
    "CREATE TABLE IF NOT EXISTS hall_registry(hall_id TEXT PRIMARY KEY, name TEXT NOT NULL"
    " DEFAULT '', province TEXT NOT NULL, city TEXT NOT NULL DEFAULT '', district TEXT NOT NULL"
    " DEFAULT '', token_hash TEXT NOT NULL, issued_at TEXT NOT NULL, revoked_at TEXT);"
    "CREATE TABLE IF NOT EXISTS managers(login TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',"
    " pwhash TEXT NOT NULL, province TEXT NOT NULL, city TEXT NOT NULL DEFAULT '',"
    " district TEXT NOT NULL DEFAULT '');"
    /* Each hall's hallq.json, for its period figures (report.c; pg_004_hall_config.sql). */
    "CREATE TABLE IF NOT EXISTS hall_config(hall_id TEXT PRIMARY KEY, config TEXT NOT NULL,"
    " set_at TEXT NOT NULL);"
    /* The managers' exclusions each hall sent (event records "exclusion" and
     * "exclusion_revoked"), kept by a trigger in the storing transaction, so report.c
     * applies them as the box does: tools/central/sql/pg_005_exclusions.sql. The
     * trigger can never fail a batch: every column but the key takes NULL, a row
     * without kind or times is skipped by the reader, a revocation that arrives first
     * makes the row the exclusion then fills. */
    "CREATE TABLE IF NOT EXISTS hall_exclusions(hall_id TEXT NOT NULL, exclusion TEXT NOT NULL,"
    " created_at TEXT NOT NULL, excl_kind TEXT, staff TEXT, win INTEGER, ticket TEXT,"
    " from_at TEXT, to_at TEXT, actor TEXT, seq INTEGER, revoked_at TEXT, revoked_by TEXT,"
    " PRIMARY KEY(hall_id, exclusion, created_at));"
    "CREATE TRIGGER IF NOT EXISTS records_exclusion AFTER INSERT ON records"
    " WHEN NEW.type = 'event' AND instr(NEW.data, '\"exclusion') > 0"
    " AND json_extract(NEW.data, '$.kind') IN ('exclusion', 'exclusion_revoked')"
    " AND json_extract(NEW.data, '$.exclusion') IS NOT NULL"
    " AND json_extract(NEW.data, '$.created_at') IS NOT NULL BEGIN"
    " INSERT INTO hall_exclusions(hall_id, exclusion, created_at, excl_kind, staff, win, ticket,"
    " from_at, to_at, actor, seq) SELECT NEW.hall_id,"
    " CAST(json_extract(NEW.data, '$.exclusion') AS TEXT),"
    " CAST(json_extract(NEW.data, '$.created_at') AS TEXT),"
    " json_extract(NEW.data, '$.exclusion_kind'), json_extract(NEW.data, '$.staff'),"
    " json_extract(NEW.data, '$.window'), json_extract(NEW.data, '$.ticket'),"
    " json_extract(NEW.data, '$.from'), json_extract(NEW.data, '$.to'),"
    " json_extract(NEW.data, '$.actor'), NEW.seq"
    " WHERE json_extract(NEW.data, '$.kind') = 'exclusion'"
    " ON CONFLICT(hall_id, exclusion, created_at) DO UPDATE SET excl_kind = excluded.excl_kind,"
    " staff = excluded.staff, win = excluded.win, ticket = excluded.ticket,"
    " from_at = excluded.from_at, to_at = excluded.to_at, actor = excluded.actor,"
    " seq = excluded.seq;"
    " INSERT INTO hall_exclusions(hall_id, exclusion, created_at, revoked_at, revoked_by)"
    " SELECT NEW.hall_id, CAST(json_extract(NEW.data, '$.exclusion') AS TEXT),"
    " CAST(json_extract(NEW.data, '$.created_at') AS TEXT), NEW.at,"
    " json_extract(NEW.data, '$.actor') WHERE json_extract(NEW.data, '$.kind') ="
    " 'exclusion_revoked' ON CONFLICT(hall_id, exclusion, created_at) DO UPDATE SET"
    " revoked_at = coalesce(revoked_at, excluded.revoked_at),"
    " revoked_by = coalesce(revoked_by, excluded.revoked_by); END;"
    /* Each hall's figure rows of a past day, as firmware/figures.c's fig_day holds them
     * (report.c; tools/central/sql/pg_006_fig_days.sql): kept so a period request reads
     * them instead of rebuilding the day from its records. The trigger drops a stored
     * day when a record that can change it arrives: one dated from the day before to
     * the day after (what report.c loads for the day), a ticket of those days, a
     * follow-up or appeal of a rating of the day, an exclusion or its revocation that
     * touches it. Days are texts YYYY-MM-DD (prev_day, next_day: the day's neighbours,
     * written by report.c) so the trigger only compares texts and can never fail a
     * batch. fig_rows NULL: a request is building the day (report.c). */
    "CREATE TABLE IF NOT EXISTS hall_fig_days(hall_id TEXT NOT NULL, day TEXT NOT NULL,"
    " prev_day TEXT NOT NULL, next_day TEXT NOT NULL, tag TEXT NOT NULL, fig_rows TEXT,"
    " built_at TEXT NOT NULL, PRIMARY KEY(hall_id, day));"
    "CREATE INDEX IF NOT EXISTS records_evaluation ON records(hall_id,"
    " json_extract(data, '$.uuid')) WHERE type = 'evaluation';"
    /* every record: the days beside its own date (through the primary key: this one
     * runs for each record stored; the receiver checked that at is a real date) */
    "CREATE TRIGGER IF NOT EXISTS records_fig_stale AFTER INSERT ON records BEGIN"
    " DELETE FROM hall_fig_days WHERE hall_id = NEW.hall_id AND day BETWEEN"
    " date(substr(NEW.at, 1, 10), '-1 day') AND date(substr(NEW.at, 1, 10), '+1 day'); END;"
    /* the rare ones: a ticket dated away from its record, a rating's follow-up or appeal,
     * an exclusion or its revocation */
    "CREATE TRIGGER IF NOT EXISTS records_fig_stale_ticket AFTER INSERT ON records"
    " WHEN NEW.type = 'ticket' AND CAST(json_extract(NEW.data, '$.day') AS TEXT) IS NOT"
    " substr(NEW.at, 1, 10) BEGIN DELETE FROM hall_fig_days WHERE hall_id = NEW.hall_id AND"
    " CAST(json_extract(NEW.data, '$.day') AS TEXT) BETWEEN prev_day AND next_day; END;"
    "CREATE TRIGGER IF NOT EXISTS records_fig_stale_rating AFTER INSERT ON records"
    " WHEN NEW.type = 'event' AND instr(NEW.data, '\"evaluation\"') > 0"
    " AND json_extract(NEW.data, '$.kind') IN ('follow_up', 'appeal', 'appeal_review') BEGIN"
    " DELETE FROM hall_fig_days WHERE hall_id = NEW.hall_id AND day IN (SELECT"
    " substr(r.at, 1, 10) FROM records r WHERE r.hall_id = NEW.hall_id AND r.type ="
    " 'evaluation' AND json_extract(r.data, '$.uuid') = json_extract(NEW.data,"
    " '$.evaluation')); END;"
    "CREATE TRIGGER IF NOT EXISTS records_fig_stale_exclusion AFTER INSERT ON records"
    " WHEN NEW.type = 'event' AND instr(NEW.data, '\"exclusion') > 0"
    " AND json_extract(NEW.data, '$.kind') IN ('exclusion', 'exclusion_revoked') BEGIN"
    " DELETE FROM hall_fig_days WHERE hall_id = NEW.hall_id AND ("
    " (json_extract(NEW.data, '$.kind') = 'exclusion'"
    " AND substr(json_extract(NEW.data, '$.from'), 1, 10) <= next_day"
    " AND substr(json_extract(NEW.data, '$.to'), 1, 10) >= prev_day)"
    " OR (json_extract(NEW.data, '$.kind') = 'exclusion_revoked'"
    " AND EXISTS (SELECT 1 FROM hall_exclusions x WHERE x.hall_id = NEW.hall_id"
    " AND x.exclusion = CAST(json_extract(NEW.data, '$.exclusion') AS TEXT)"
    " AND x.created_at = CAST(json_extract(NEW.data, '$.created_at') AS TEXT)"
    " AND substr(x.from_at, 1, 10) <= next_day AND substr(x.to_at, 1, 10) >= prev_day)));"
    " END;"
    "CREATE TABLE IF NOT EXISTS manager_sessions(token_hash TEXT PRIMARY KEY, login TEXT NOT"
    " NULL, expires_at TEXT NOT NULL);"
    /* Forwarding to the provincial platform: tools/central/sql/pg_003_province.sql, the
     * same table and a trigger that queues each evaluation as it is stored. */
    "CREATE TABLE IF NOT EXISTS province_forward(hall_id TEXT NOT NULL, uuid TEXT NOT NULL,"
    " seq INTEGER NOT NULL, queued_at INTEGER NOT NULL DEFAULT"
    " (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)), next_at INTEGER NOT NULL"
    " DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, sent_at INTEGER, worker TEXT,"
    " last_status INTEGER, last_error TEXT, PRIMARY KEY(hall_id, uuid));"
    "CREATE TRIGGER IF NOT EXISTS records_province AFTER INSERT ON records"
    " WHEN NEW.type = 'evaluation' BEGIN INSERT OR IGNORE INTO province_forward(hall_id, uuid,"
    " seq) VALUES(NEW.hall_id, NEW.uuid, NEW.seq); END;"
    "INSERT OR IGNORE INTO province_forward(hall_id, uuid, seq) SELECT hall_id, uuid, seq FROM"
    " records WHERE type = 'evaluation';";
/* After the column last_contact (added to older files, the error of a file that has
 * it ignored): PostgreSQL's hall_sync under the name halls.c queries. */
static const char central__schema_view[] =
    "CREATE VIEW IF NOT EXISTS hall_sync AS SELECT hall_id, acked_through, 0 AS gone_through,"
    " last_contact FROM halls;";

bool central_valid_hall(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > SYNC_HALL_ID_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i])) return false;
    return true;
}

char *central_error_json(const char *error, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", error);
    cJSON_AddStringToObject(o, "message", message);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* While a records batch is parsed, cJSON's nodes come from a per-thread
 * arena dropped at once: a 500-record batch is ~15,000 nodes, and a malloc
 * and a free for each cost as much as the parse itself. Outside that window
 * the hooks are plain malloc and free. */
struct central__arena {
    struct central__arena *prev;
    size_t len, cap;
    char buf[];
};
static __thread struct central__arena *central__arena_top;
static __thread bool central__arena_on;

static void *central__malloc(size_t n)
{
    if (!central__arena_on) return malloc(n);
    n = (n + 15) & ~(size_t)15;
    struct central__arena *a = central__arena_top;
    if (!a || a->len + n > a->cap) {
        size_t cap = n > (1u << 20) ? n : (1u << 20);
        struct central__arena *na = malloc(sizeof *na + cap);
        if (!na) return NULL;
        na->prev = a;
        na->len = 0;
        na->cap = cap;
        central__arena_top = a = na;
    }
    void *p = a->buf + a->len;
    a->len += n;
    return p;
}

static void central__free(void *p)
{
    for (struct central__arena *a = central__arena_top; a; a = a->prev)
        if ((char *)p >= a->buf && (char *)p < a->buf + a->cap) return;
    free(p);
}

static void central__arena_drop(void)
{
    while (central__arena_top) {
        struct central__arena *a = central__arena_top;
        central__arena_top = a->prev;
        free(a);
    }
    central__arena_on = false;
}

static const struct central_store_ops central__sqlite_ops;

void central_init_hooks(void)
{
    static cJSON_Hooks hooks = {.malloc_fn = central__malloc, .free_fn = central__free};
    cJSON_InitHooks(&hooks);
}

int central_db_open(struct central *c, const char *path)
{
    central_init_hooks();
    char *msg = NULL;
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "hallq-central: %s: %s\n", path, sqlite3_errmsg(c->db));
        return HQ_ERR_DB;
    }
    sqlite3_busy_timeout(c->db, 5000);
    if (sqlite3_exec(c->db, central__schema, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "hallq-central: %s: %s\n", path, msg ? msg : "schema failed");
        sqlite3_free(msg);
        return HQ_ERR_DB;
    }
    sqlite3_exec(c->db, "ALTER TABLE halls ADD COLUMN last_contact TEXT", NULL, NULL, NULL);
    if (sqlite3_exec(c->db, central__schema_view, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "hallq-central: %s: %s\n", path, msg ? msg : "schema failed");
        sqlite3_free(msg);
        return HQ_ERR_DB;
    }
    c->store = &central__sqlite_ops;
    return HQ_OK;
}

void central_db_close(struct central *c)
{
    if (c->store) c->store->close(c);
    c->store = NULL;
}

static void central__now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The strict reading of one record; NULL when good, else why not. */
static const char *central__check_record(const cJSON *r, int64_t *seq)
{
    if (!cJSON_IsObject(r)) return "a record is not an object";
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(r, "seq");
    if (!cJSON_IsNumber(s) || s->valuedouble < 1 || s->valuedouble > 9007199254740992.0 ||
        (double)(int64_t)s->valuedouble != s->valuedouble)
        return "seq must be a positive integer";
    *seq = (int64_t)s->valuedouble;
    const char *uuid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "uuid"));
    if (!uuid || !*uuid || strlen(uuid) > 64) return "uuid must be a string of 1 to 64 bytes";
    if (!sync_valid_record_type(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "type"))))
        return "type must be ticket, evaluation or event";
    if (!sync_valid_rfc3339(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "at"))))
        return "at must be an RFC 3339 time with an offset";
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(r, "data");
    if (!cJSON_IsObject(data)) return "data must be an object";
    /* Evaluation records: version 1 (no "version", the ticket is the case)
     * and 2 (one record per case, docs/SYNC.md); both stored as sent. */
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, "version");
    if (v &&
        strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "type")), "evaluation") ==
            0 &&
        !(cJSON_IsNumber(v) && (v->valuedouble == 1 || v->valuedouble == 2)))
        return "an evaluation's data.version must be 1 or 2";
    return NULL;
}

/* acked_through: the highest seq up to which every record is held or was
 * declared gone by the hall (gone_through, docs/SYNC.md). */
static int central__advance(struct central *c, const char *hall, int64_t gone, int64_t *acked)
{
    sqlite3_stmt *get = NULL, *has = NULL, *put = NULL;
    int rc = HQ_ERR_DB;
    int64_t a = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT acked_through FROM halls WHERE hall_id=?", -1, &get,
                           NULL) ||
        sqlite3_prepare_v2(c->db, "SELECT seq FROM records WHERE hall_id=? AND seq>? ORDER BY seq",
                           -1, &has, NULL) ||
        sqlite3_prepare_v2(
            c->db,
            "INSERT INTO halls(hall_id, acked_through, last_contact) VALUES(?, ?, ?) "
            "ON CONFLICT(hall_id) DO UPDATE SET acked_through=excluded.acked_through,"
            " last_contact=excluded.last_contact",
            -1, &put, NULL))
        goto fail;
    sqlite3_bind_text(get, 1, hall, -1, SQLITE_STATIC);
    if (sqlite3_step(get) == SQLITE_ROW) a = sqlite3_column_int64(get, 0);
    if (gone > a) {
        LOG_WARN("CENTRAL",
                 "hall %s: seqs %lld..%lld were never received and the hall no longer holds "
                 "them (gone_through): counted as settled",
                 hall, (long long)a + 1, (long long)gone);
        a = gone;
    }
    /* Walk the seqs above the mark while they are contiguous. */
    sqlite3_bind_text(has, 1, hall, -1, SQLITE_STATIC);
    sqlite3_bind_int64(has, 2, a);
    int step;
    while ((step = sqlite3_step(has)) == SQLITE_ROW && sqlite3_column_int64(has, 0) == a + 1)
        a++;
    if (step != SQLITE_ROW && step != SQLITE_DONE) goto fail;
    sqlite3_bind_text(put, 1, hall, -1, SQLITE_STATIC);
    char now[32];
    central__now(now);
    sqlite3_bind_int64(put, 2, a);
    sqlite3_bind_text(put, 3, now, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(put) != SQLITE_DONE) goto fail;
    *acked = a;
    rc = HQ_OK;
fail:
    sqlite3_finalize(get);
    sqlite3_finalize(has);
    sqlite3_finalize(put);
    return rc;
}

/* Raw spans of a body cJSON already accepted: each record's "data" value as
 * the hall sent it, so it is stored byte for byte (printing the parsed tree
 * back cost more than everything else of a batch). A key written with
 * escapes does not match here: the caller then prints from the tree. */
static const char *central__ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *central__skip(const char *p, const char *e)
{
    int depth = 0;
    bool in_str = false;
    for (; p < e; p++) {
        char ch = *p;
        if (in_str) {
            if (ch == '\\')
                p++;
            else if (ch == '"') {
                in_str = false;
                if (!depth) return p + 1;
            }
            continue;
        }
        if (ch == '"')
            in_str = true;
        else if (ch == '{' || ch == '[')
            depth++;
        else if (ch == '}' || ch == ']') {
            if (--depth == 0) return p + 1;
            if (depth < 0) return p;
        } else if (!depth && (ch == ',' || ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t'))
            return p;
    }
    return p;
}

static size_t central__data_spans(const char *body, size_t len, const char **at, size_t *n_at,
                                  size_t max)
{
    const char *p = body, *e = body + len;
    size_t n = 0;
    p = central__ws(p, e);
    if (p >= e || *p++ != '{') return 0;
    for (;;) {
        p = central__ws(p, e);
        if (p >= e || *p != '"') return n;
        const char *k = p + 1, *ke = central__skip(p, e) - 1;
        p = central__ws(ke + 1, e);
        if (p >= e || *p++ != ':') return n;
        p = central__ws(p, e);
        if ((size_t)(ke - k) == 7 && !memcmp(k, "records", 7) && p < e && *p == '[') {
            p++;
            for (;;) {
                p = central__ws(p, e);
                if (p >= e || *p != '{') break;
                p++;
                for (;;) {
                    p = central__ws(p, e);
                    if (p >= e || *p != '"') break;
                    const char *rk = p + 1, *rke = central__skip(p, e) - 1;
                    p = central__ws(rke + 1, e);
                    if (p >= e || *p++ != ':') return n;
                    p = central__ws(p, e);
                    const char *v = p;
                    p = central__skip(p, e);
                    if ((size_t)(rke - rk) == 4 && !memcmp(rk, "data", 4) && n < max) {
                        at[n] = v;
                        n_at[n++] = (size_t)(p - v);
                    }
                    p = central__ws(p, e);
                    if (p < e && *p == ',') p++;
                }
                p = central__ws(p, e);
                if (p < e && *p == '}') p++;
                p = central__ws(p, e);
                if (p < e && *p == ',') p++;
            }
            p = central__ws(p, e);
            if (p < e && *p == ']') p++;
        } else {
            p = central__skip(p, e);
        }
        p = central__ws(p, e);
        if (p < e && *p == ',') p++;
    }
}

/* SQLite: one writer, under the process's lock. */
static int central__sqlite_put(struct central *c, const struct central_batch *b, int64_t *acked,
                               char *err, size_t errlen)
{
    int rc = HQ_ERR_DB;
    sqlite3_stmt *ins = NULL, *dup = NULL;
    bool in_tx = false;
    char now[32];
    central__now(now);
    pthread_mutex_lock(&c->lock);
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) goto fail;
    in_tx = true;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT OR IGNORE INTO records(hall_id, seq, uuid, type, at, data,"
                           " received_at) VALUES(?,?,?,?,?,?,?)",
                           -1, &ins, NULL))
        goto fail;
    for (size_t i = 0; i < b->n; i++) {
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, b->hall, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, b->seq[i]);
        sqlite3_bind_text(ins, 3, b->uuid[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, b->type[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, b->at[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, b->data[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 7, now, -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) goto fail;
        if (sqlite3_changes(c->db) == 0) {
            /* Held already: a resend carries the same uuid. Another uuid
             * under a held seq is a hall whose database started over (a
             * new SD card): ignoring it would lose the record silently. */
            if (!dup &&
                sqlite3_prepare_v2(c->db, "SELECT uuid FROM records WHERE hall_id=? AND seq=?", -1,
                                   &dup, NULL) != SQLITE_OK)
                goto fail;
            sqlite3_reset(dup);
            sqlite3_bind_text(dup, 1, b->hall, -1, SQLITE_STATIC);
            sqlite3_bind_int64(dup, 2, b->seq[i]);
            if (sqlite3_step(dup) == SQLITE_ROW &&
                strcmp((const char *)sqlite3_column_text(dup, 0), b->uuid[i]) != 0) {
                central_conflict_message(b->seq[i], err, errlen);
                rc = HQ_ERR_STATE;
                goto fail;
            }
        }
    }
    if (central__advance(c, b->hall, b->gone, acked)) goto fail;
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) goto fail;
    in_tx = false;
    rc = HQ_OK;
fail:
    if (rc == HQ_ERR_DB) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(c->db));
        LOG_ERR("CENTRAL", "storing records failed: %s", err);
    }
    if (in_tx) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(ins);
    sqlite3_finalize(dup);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void central_conflict_message(int64_t seq, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "seq %lld is already held with another uuid: seqs are never reused "
             "(the hall's database started over?)",
             (long long)seq);
}

int central_records_store(struct central *c, const char *path_hall, const char *body, size_t len,
                          int64_t *acked, char hall[65], char *err, size_t errlen)
{
    int rc = HQ_ERR_INVALID;
    const char *why = NULL;
    bool raw = false;
    const char **span = NULL;
    size_t *span_len = NULL, nrec = 0, i = 0;
    struct central_batch b = {0};
    central__arena_on = true;
    cJSON *j = cJSON_ParseWithLength(body, len);
    central__arena_on = false;
    if (!cJSON_IsObject(j)) {
        why = "the body is not a JSON object";
        goto fail;
    }
    const char *h = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "hall_id"));
    if (!central_valid_hall(h)) {
        why = "hall_id missing or not a valid hall id";
        goto fail;
    }
    if (path_hall && strcmp(path_hall, h) != 0) {
        why = "hall_id of the body differs from the URL's";
        goto fail;
    }
    snprintf(hall, 65, "%s", h);
    if (!path_hall) {
        /* The serial link carries no token (a box wired to this server), but a revoked
         * hall stays refused there too, and an unknown one under --provisioned-only. */
        int auth = central_hall_auth(c, h, NULL);
        if (auth == HQ_ERR_STATE || (auth == HQ_ERR_NOT_FOUND && c->provisioned_only)) {
            why = auth == HQ_ERR_STATE ? "this hall's token was revoked"
                                       : "hall not provisioned on this server";
            rc = HQ_ERR_AUTH;
            goto fail;
        }
        if (auth == HQ_ERR_DB) {
            why = "database unavailable";
            rc = HQ_ERR_DB;
            goto fail;
        }
    }
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive(j, "records");
    if (!cJSON_IsArray(recs)) {
        why = "records must be an array";
        goto fail;
    }
    if (cJSON_GetArraySize(recs) > SYNC_BATCH_MAX_RECORDS) {
        why = "more than 500 records in one batch";
        goto fail;
    }
    int64_t gone = 0;
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "gone_through");
    if (g) {
        if (!cJSON_IsNumber(g) || g->valuedouble < 0 || g->valuedouble > 9007199254740992.0 ||
            (double)(int64_t)g->valuedouble != g->valuedouble) {
            why = "gone_through must be a non-negative integer";
            goto fail;
        }
        gone = (int64_t)g->valuedouble;
    }
    const cJSON *r;
    int64_t seq;
    cJSON_ArrayForEach(r, recs)
    {
        if ((why = central__check_record(r, &seq))) goto fail;
        if (seq <= gone) {
            why = "gone_through must be below the seq of every record sent with it";
            goto fail;
        }
    }

    nrec = (size_t)cJSON_GetArraySize(recs);
    size_t cap = nrec ? nrec : 1;
    span = calloc(cap, sizeof *span);
    span_len = calloc(cap, sizeof *span_len);
    b.seq = calloc(cap, sizeof *b.seq);
    b.uuid = calloc(cap, sizeof *b.uuid);
    b.type = calloc(cap, sizeof *b.type);
    b.at = calloc(cap, sizeof *b.at);
    b.data = calloc(cap, sizeof *b.data);
    rc = HQ_ERR_NOMEM;
    if (!span || !span_len || !b.seq || !b.uuid || !b.type || !b.at || !b.data) goto fail;
    raw = central__data_spans(body, len, span, span_len, nrec) == nrec;
    b.hall = h;
    b.gone = gone;
    b.n = nrec;
    cJSON_ArrayForEach(r, recs)
    {
        b.data[i] = raw ? strndup(span[i], span_len[i])
                        : cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "data"));
        if (!b.data[i]) goto fail;
        b.seq[i] = (int64_t)cJSON_GetObjectItemCaseSensitive(r, "seq")->valuedouble;
        b.uuid[i] = cJSON_GetObjectItemCaseSensitive(r, "uuid")->valuestring;
        b.type[i] = cJSON_GetObjectItemCaseSensitive(r, "type")->valuestring;
        b.at[i] = cJSON_GetObjectItemCaseSensitive(r, "at")->valuestring;
        i++;
    }
    rc = c->store->put_batch(c, &b, acked, err, errlen);
    if (rc == HQ_OK && c->store->announce_locally) central_live_announce(h);
    if (rc == HQ_OK) {
        __atomic_add_fetch(&c->received, (uint64_t)nrec, __ATOMIC_RELAXED);
        __atomic_add_fetch(&c->batches, 1, __ATOMIC_RELAXED);
    }
fail:
    if (why) snprintf(err, errlen, "%s", why);
    cJSON_Delete(j);
    central__arena_drop();
    if (b.data)
        for (size_t k = 0; k < nrec; k++)
            free(b.data[k]);
    free(b.seq);
    free(b.uuid);
    free(b.type);
    free(b.at);
    free(b.data);
    free(span);
    free(span_len);
    return rc;
}

static char *central__read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got < 4096) break;
    }
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

int central_appointments_load(struct central *c, const char *file, char *err, size_t errlen)
{
    size_t len = 0;
    char *text = central__read_file(file, &len);
    if (!text) {
        snprintf(err, errlen, "%s: cannot read", file);
        return HQ_ERR_CONFIG;
    }
    int rc = central_appointments_import(c, file, text, len, err, errlen);
    free(text);
    return rc;
}

/* The field a reason of sync_proto's appointment reader names ("bad date" -> "date"). */
static const char *central__appt_field(const char *why)
{
    if (!strcmp(why, "bad slot")) return "slot_start";
    if (!strcmp(why, "neither id_hash nor booking_code")) return "id_hash";
    if (!strncmp(why, "bad ", 4)) return why + 4;
    return "";
}

int central_appointments_check(const char *text, size_t len, cJSON **list_out,
                               struct central_appt_error *e)
{
    memset(e, 0, sizeof *e);
    e->row = -1;
    *list_out = NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    cJSON *list = cJSON_IsArray(j) ? j : cJSON_GetObjectItemCaseSensitive(j, "appointments");
    if (!cJSON_IsArray(list)) {
        snprintf(e->message, sizeof e->message,
                 j ? "want {\"appointments\": [...]} or an array" : "not JSON");
        cJSON_Delete(j);
        return HQ_ERR_CONFIG;
    }
    if (list != j) {
        cJSON_DetachItemViaPointer(j, list);
        cJSON_Delete(j);
    }
    /* Each item with the same reader hallq uses (what the server hands out must pass
     * the hall's check), one at a time so an error names its row and field. */
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
    {
        cJSON *doc = cJSON_CreateObject(), *one = cJSON_AddArrayToObject(doc, "appointments");
        cJSON_AddStringToObject(doc, "cursor", "0");
        cJSON_AddItemReferenceToArray(one, (cJSON *)it);
        char *wrapped = cJSON_PrintUnformatted(doc);
        cJSON_Delete(doc);
        struct sync_appointments parsed;
        const char *why = NULL;
        int prc = wrapped ? sync_appointments_parse(wrapped, strlen(wrapped), &parsed, &why)
                          : HQ_ERR_NOMEM;
        free(wrapped);
        if (prc == HQ_OK) sync_appointments_free(&parsed);
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(it, "hall_id");
        if (prc == HQ_OK && h && !central_valid_hall(cJSON_GetStringValue(h))) {
            prc = HQ_ERR_CONFIG;
            why = "bad hall_id";
        }
        if (prc != HQ_OK) {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "id"));
            e->row = i;
            snprintf(e->field, sizeof e->field, "%s", central__appt_field(why ? why : ""));
            snprintf(e->message, sizeof e->message, "appointments[%d]%s%.64s%s: %s", i,
                     id ? " (id " : "", id ? id : "", id ? ")" : "", why ? why : "cannot be read");
            cJSON_Delete(list);
            return HQ_ERR_CONFIG;
        }
        i++;
    }
    *list_out = list;
    return HQ_OK;
}

int central_appointments_put(struct central *c, const cJSON *list, char *err, size_t errlen)
{
    return c->store->appts_put(c, list, err, errlen);
}

int central_appointments_import(struct central *c, const char *source, const char *text, size_t len,
                                char *err, size_t errlen)
{
    cJSON *list = NULL;
    struct central_appt_error e;
    int rc = central_appointments_check(text, len, &list, &e);
    if (rc) {
        snprintf(err, errlen, "%s: %s", source, e.message);
        return rc;
    }
    char derr[200] = "";
    rc = c->store->appts_put(c, list, derr, sizeof derr);
    if (rc) snprintf(err, errlen, "%s: %s", source, derr);
    cJSON_Delete(list);
    return rc;
}

static int central__sqlite_appts_put(struct central *c, const cJSON *list, char *err, size_t errlen)
{
    int rc = HQ_ERR_DB;
    sqlite3_stmt *old = NULL, *del = NULL, *ins = NULL;
    bool in_tx = false;
    const cJSON *it;
    pthread_mutex_lock(&c->lock);
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) goto fail;
    in_tx = true;
    if (sqlite3_prepare_v2(c->db, "SELECT json FROM appointments WHERE hall_id=? AND id=?", -1,
                           &old, NULL) ||
        sqlite3_prepare_v2(c->db, "DELETE FROM appointments WHERE hall_id=? AND id=?", -1, &del,
                           NULL) ||
        sqlite3_prepare_v2(c->db, "INSERT INTO appointments(hall_id, id, json) VALUES(?,?,?)", -1,
                           &ins, NULL))
        goto fail;
    cJSON_ArrayForEach(it, list)
    {
        cJSON *copy = cJSON_Duplicate(it, 1);
        char *hall = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(copy, "hall_id"));
        char hall_key[65];
        snprintf(hall_key, sizeof hall_key, "%s", hall ? hall : "");
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "hall_id");
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(copy, "id"));
        char *js = cJSON_PrintUnformatted(copy);
        bool same = false;
        sqlite3_reset(old);
        sqlite3_bind_text(old, 1, hall_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(old, 2, id, -1, SQLITE_STATIC);
        if (sqlite3_step(old) == SQLITE_ROW)
            same = js && !strcmp((const char *)sqlite3_column_text(old, 0), js);
        sqlite3_reset(old);
        int ok = js != NULL;
        if (ok && !same) {
            sqlite3_reset(del);
            sqlite3_bind_text(del, 1, hall_key, -1, SQLITE_STATIC);
            sqlite3_bind_text(del, 2, id, -1, SQLITE_STATIC);
            sqlite3_reset(ins);
            sqlite3_bind_text(ins, 1, hall_key, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 2, id, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 3, js, -1, SQLITE_STATIC);
            ok = sqlite3_step(del) == SQLITE_DONE && sqlite3_step(ins) == SQLITE_DONE;
            sqlite3_reset(ins);
        }
        free(js);
        cJSON_Delete(copy);
        if (!ok) goto fail;
    }
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) goto fail;
    in_tx = false;
    rc = HQ_OK;
fail:
    if (rc == HQ_ERR_DB) snprintf(err, errlen, "%s", sqlite3_errmsg(c->db));
    if (in_tx) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(old);
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* At most this many appointments per answer; the hall asks again from the
 * cursor it got. */
#define CENTRAL_APPT_PAGE 500

static int central__sqlite_appts_page(struct central *c, const char *hall, long long from,
                                      int limit, cJSON *list, long long *last)
{
    int rc = HQ_ERR_DB;
    sqlite3_stmt *q = NULL;
    pthread_mutex_lock(&c->lock);
    if (sqlite3_prepare_v2(c->db,
                           "SELECT cursor, json FROM appointments WHERE cursor>? AND"
                           " (hall_id='' OR hall_id=?) ORDER BY cursor LIMIT ?",
                           -1, &q, NULL))
        goto fail;
    sqlite3_bind_int64(q, 1, from);
    sqlite3_bind_text(q, 2, hall ? hall : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, limit);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        *last = sqlite3_column_int64(q, 0);
        cJSON *a = cJSON_Parse((const char *)sqlite3_column_text(q, 1));
        if (a) cJSON_AddItemToArray(list, a);
    }
    if (step == SQLITE_DONE) rc = HQ_OK;
fail:
    pthread_mutex_unlock(&c->lock);
    sqlite3_finalize(q);
    return rc;
}

int central_appointments_answer(struct central *c, const char *hall, const char *since, char **out)
{
    long long from = 0;
    if (since && *since) {
        char *end = NULL;
        from = strtoll(since, &end, 10);
        if (!isdigit((unsigned char)since[0]) || *end || from < 0 || strlen(since) > 18)
            return HQ_ERR_INVALID;
    }
    cJSON *doc = cJSON_CreateObject(), *list = cJSON_CreateArray();
    long long last = from;
    int rc = c->store->appts_page(c, hall, from, CENTRAL_APPT_PAGE, list, &last);
    if (rc == HQ_OK) {
        char cur[32];
        snprintf(cur, sizeof cur, "%lld", last);
        cJSON_AddStringToObject(doc, "cursor", cur);
        cJSON_AddItemToObject(doc, "appointments", list);
        list = NULL;
        *out = cJSON_PrintUnformatted(doc);
        rc = *out ? HQ_OK : HQ_ERR_NOMEM;
    }
    cJSON_Delete(list);
    cJSON_Delete(doc);
    return rc;
}

int central_dump(const char *path, FILE *out)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int rc = HQ_ERR_DB;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) goto fail;
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db,
                           "SELECT hall_id, seq, uuid, type, at, data, received_at FROM records"
                           " ORDER BY hall_id, seq",
                           -1, &q, NULL))
        goto fail;
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "hall_id", (const char *)sqlite3_column_text(q, 0));
        cJSON_AddNumberToObject(o, "seq", (double)sqlite3_column_int64(q, 1));
        cJSON_AddStringToObject(o, "uuid", (const char *)sqlite3_column_text(q, 2));
        cJSON_AddStringToObject(o, "type", (const char *)sqlite3_column_text(q, 3));
        cJSON_AddStringToObject(o, "at", (const char *)sqlite3_column_text(q, 4));
        cJSON *data = cJSON_Parse((const char *)sqlite3_column_text(q, 5));
        cJSON_AddItemToObject(o, "data", data ? data : cJSON_CreateNull());
        cJSON_AddStringToObject(o, "received_at", (const char *)sqlite3_column_text(q, 6));
        char *s = cJSON_PrintUnformatted(o);
        if (s) fprintf(out, "%s\n", s);
        free(s);
        cJSON_Delete(o);
    }
    if (step == SQLITE_DONE) rc = HQ_OK;
fail:
    if (rc)
        fprintf(stderr, "hallq-central: %s: %s\n", path, db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_finalize(q);
    sqlite3_close(db);
    return rc;
}

static long long central__sqlite_count(struct central *c)
{
    long long records = 0;
    sqlite3_stmt *q = NULL;
    pthread_mutex_lock(&c->lock);
    if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM records", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        records = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    pthread_mutex_unlock(&c->lock);
    return records;
}

static int central__sqlite_query(struct central *c, const char *sql, int nparams,
                                 const char *const *params, central_row_fn fn, void *ctx, char *err,
                                 size_t errlen)
{
    sqlite3_stmt *q = NULL;
    int rc = HQ_ERR_DB, step;
    pthread_mutex_lock(&c->lock);
    if (sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) != SQLITE_OK) goto fail;
    for (int i = 0; i < nparams; i++) {
        char name[16];
        snprintf(name, sizeof name, "$%d", i + 1);
        int at = sqlite3_bind_parameter_index(q, name);
        if (at > 0) sqlite3_bind_text(q, at, params[i], -1, SQLITE_STATIC);
    }
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        const char *vals[16] = {0};
        int n = sqlite3_column_count(q);
        if (n > 16) n = 16;
        for (int i = 0; i < n; i++)
            vals[i] = (const char *)sqlite3_column_text(q, i);
        if (fn && fn(ctx, n, vals)) break;
    }
    if (step == SQLITE_ROW || step == SQLITE_DONE) rc = HQ_OK;
    if (step == SQLITE_CONSTRAINT) rc = HQ_ERR_STATE;
fail:
    if (rc) snprintf(err, errlen, "%s", sqlite3_errmsg(c->db));
    sqlite3_finalize(q);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

static void central__sqlite_close(struct central *c)
{
    sqlite3_close(c->db);
    c->db = NULL;
}

static const struct central_store_ops central__sqlite_ops = {
    .name = "sqlite",
    .announce_locally = true,
    .json_field = "json_extract(data, '$.%s')",
    .put_batch = central__sqlite_put,
    .appts_put = central__sqlite_appts_put,
    .appts_page = central__sqlite_appts_page,
    .count = central__sqlite_count,
    .query = central__sqlite_query,
    .close = central__sqlite_close,
};

void central_stats(struct central *c, char *out, size_t cap)
{
    long long records = c->store->count(c);
    snprintf(out, cap, "stats serial_rx %llu serial_tx %llu serial_frames %llu records %lld",
             (unsigned long long)c->serial_rx, (unsigned long long)c->serial_tx,
             (unsigned long long)c->serial_frames, records);
}
