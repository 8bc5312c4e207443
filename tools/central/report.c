/*
 * report.c — the period figures of the reports issue (issue 18) across halls,
 * computed on hallq-central from the records the halls synced.
 *
 * Every figure is defined once, in firmware/figures.c, and this file does not
 * define any: it only feeds that code. figures.c reads a box's raw rows
 * (tickets, evaluations, the event log) from SQLite, so each hall's records
 * are written, from either store (SQLite or PostgreSQL, through the store's
 * query call), into a private in-memory SQLite database laid out like the
 * box's tables; hq_fig_build_day() rolls up each day there and
 * hq_fig_report() reads the period, exactly as on the box. The region's total
 * is hq_fig_report() again over every hall's rollup rows (keyed by hall id),
 * so its percentiles come from the summed histograms and not from averaging
 * the halls' answers (docs/DESIGN.md "Period figures on hallq-central").
 *
 * The managers' exclusions (test tickets, approved absences, device faults)
 * come as event records the store keeps in hall_exclusions (db.c,
 * pg_005_exclusions.sql); those in force go into the box's fig_exclusions
 * table, so figures.c applies them as on the box.
 *
 * A hall's configuration (services and their handling limits, windows and
 * their services, the roster, the UTC offset, reports.wait_threshold_s) is the
 * box's own hallq.json, given to the server with `hallq-central hall config`
 * and read with the box's own loader. Without it the figures still come,
 * from what the records say (service codes, windows as they appear), and the
 * answer says "config": false: handling-limit and 空岗 figures then read 0.
 */
#include "central.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "figures.h"
#include "hq.h"

/* ------------------------------------------------------- the scratch db */

/* The box's columns that figures.c reads (firmware/store.c, hqd_callback.c). */
static const char report__schema[] =
    "CREATE TABLE tickets(id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE ON CONFLICT REPLACE,"
    " day INTEGER NOT NULL, service TEXT NOT NULL, orig_service TEXT NOT NULL, label TEXT NOT"
    " NULL, status TEXT NOT NULL, window INTEGER NOT NULL, staff TEXT, issued_at INTEGER NOT"
    " NULL, called_at INTEGER, served_at INTEGER, finished_at INTEGER);"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL,"
    " window INTEGER, ticket TEXT, label TEXT, staff TEXT, data TEXT NOT NULL);"
    "CREATE TABLE evaluations(uuid TEXT PRIMARY KEY ON CONFLICT REPLACE, ticket TEXT NOT NULL,"
    " label TEXT NOT NULL, day INTEGER NOT NULL, service TEXT NOT NULL, window INTEGER NOT NULL,"
    " staff TEXT, level INTEGER NOT NULL, follow_up_state TEXT NOT NULL DEFAULT 'none');"
    "CREATE TABLE eval_appeals(evaluation TEXT PRIMARY KEY ON CONFLICT REPLACE, state TEXT NOT"
    " NULL);"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);";

struct report_feed {
    sqlite3 *db;
    sqlite3_stmt *ticket, *event, *eval, *follow, *appeal, *excl;
    int32_t from, to;
    int32_t utc_offset_s;
    bool offset_known;
    int64_t next_ticket; /* the index part of a ticket's id (day << 20 | index) */
    int rc;
    /* service codes seen (the configuration stands in when it is there) */
    char (*codes)[16];
    size_t ncodes;
};

/* "2026-12-07T09:30:00+08:00" (or Z, a fraction): unix seconds and the offset. */
static bool report__time(const char *s, int64_t *t, int32_t *off)
{
    int y, mo, d, h, mi, se, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6)
        return false;
    const char *p = s + n;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    int32_t o = 0;
    if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2) return false;
        o = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
    } else if (*p != 'Z') {
        return false;
    }
    *t = (int64_t)hq_days_from_ymd(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - o;
    if (off) *off = o;
    return true;
}

static bool report__day(const char *s, int32_t *day)
{
    int y, m, d;
    if (!s || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3) return false;
    *day = hq_days_from_ymd(y, m, d);
    return true;
}

static const char *report__str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void report__bind_time(sqlite3_stmt *s, int i, const cJSON *o, const char *k)
{
    int64_t t;
    if (report__time(report__str(o, k), &t, NULL))
        sqlite3_bind_int64(s, i, t);
    else
        sqlite3_bind_null(s, i);
}

static void report__bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static int report__int(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valueint : 0;
}

static void report__code(struct report_feed *f, const char *code)
{
    if (!code || !*code || strlen(code) >= 16) return;
    for (size_t i = 0; i < f->ncodes; i++)
        if (!strcmp(f->codes[i], code)) return;
    char(*n)[16] = realloc(f->codes, (f->ncodes + 1) * sizeof *n);
    if (!n) return;
    f->codes = n;
    snprintf(f->codes[f->ncodes++], 16, "%s", code);
}

static int report__step(struct report_feed *f, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) f->rc = HQ_ERR_DB;
    return rc == SQLITE_DONE ? 0 : 1;
}

/* One record (seq, type, at, data) into the box's tables. */
static int report__row(void *ctx, int ncol, const char *const *v)
{
    struct report_feed *f = ctx;
    if (ncol < 4 || !v[0] || !v[1] || !v[3]) return 0;
    cJSON *d = cJSON_Parse(v[3]);
    if (!cJSON_IsObject(d)) {
        cJSON_Delete(d);
        return 0; /* not ours to judge: the receiver stored it as sent */
    }
    int64_t at = 0;
    int32_t off = 0;
    bool timed = report__time(v[2], &at, &off);
    if (timed && !f->offset_known) {
        f->utc_offset_s = off;
        f->offset_known = true;
    }
    int stop = 0;
    if (!strcmp(v[1], "ticket")) {
        /* A ticket comes once its life ended; a later record of the same ticket (after
         * a requeue) replaces it, as the box's row was updated. */
        int32_t day;
        int64_t issued;
        if (report__day(report__str(d, "day"), &day) && day >= f->from && day <= f->to &&
            report__time(report__str(d, "issued_at"), &issued, NULL)) {
            sqlite3_stmt *s = f->ticket;
            const char *svc = report__str(d, "service"), *orig = report__str(d, "issued_for");
            sqlite3_bind_int64(s, 1, ((int64_t)day << 20) | (f->next_ticket++ & 0xfffff));
            report__bind_text(s, 2, report__str(d, "uuid") ? report__str(d, "uuid") : v[0]);
            sqlite3_bind_int(s, 3, day);
            report__bind_text(s, 4, svc ? svc : "");
            report__bind_text(s, 5, orig ? orig : svc ? svc : "");
            report__bind_text(s, 6, report__str(d, "number") ? report__str(d, "number") : "");
            report__bind_text(s, 7, report__str(d, "status") ? report__str(d, "status") : "");
            sqlite3_bind_int(s, 8, report__int(d, "window"));
            report__bind_text(s, 9, report__str(d, "staff"));
            sqlite3_bind_int64(s, 10, issued);
            report__bind_time(s, 11, d, "called_at");
            report__bind_time(s, 12, d, "served_at");
            report__bind_time(s, 13, d, "finished_at");
            stop = report__step(f, s);
            report__code(f, svc);
            report__code(f, orig);
        }
    } else if (!strcmp(v[1], "evaluation") && timed) {
        /* the rating's business day: its own local date */
        int32_t day;
        const char *tk = report__str(d, "ticket_uuid");
        if (report__day(v[2], &day) && day >= f->from && day <= f->to) {
            sqlite3_stmt *s = f->eval;
            int level = report__int(d, "level");
            report__bind_text(s, 1, report__str(d, "uuid") ? report__str(d, "uuid") : v[0]);
            report__bind_text(s, 2, tk ? tk : "");
            report__bind_text(s, 3, report__str(d, "ticket") ? report__str(d, "ticket") : "");
            sqlite3_bind_int(s, 4, day);
            report__bind_text(s, 5, report__str(d, "service") ? report__str(d, "service") : "");
            sqlite3_bind_int(s, 6, report__int(d, "window"));
            report__bind_text(s, 7, report__str(d, "staff"));
            sqlite3_bind_int(s, 8, level);
            sqlite3_bind_text(s, 9, level >= 1 && level <= 2 ? "open" : "none", -1, SQLITE_STATIC);
            stop = report__step(f, s);
        }
    } else if (!strcmp(v[1], "event") && timed) {
        const char *kind = report__str(d, "kind");
        const char *ev = report__str(d, "evaluation");
        if (kind && ev && !strcmp(kind, "follow_up") && report__str(d, "state")) {
            report__bind_text(f->follow, 1, report__str(d, "state"));
            report__bind_text(f->follow, 2, ev);
            stop = report__step(f, f->follow);
        } else if (kind && ev && (!strcmp(kind, "appeal") || !strcmp(kind, "appeal_review"))) {
            const char *st = !strcmp(kind, "appeal") ? "pending" : report__str(d, "appeal");
            report__bind_text(f->appeal, 1, ev);
            report__bind_text(f->appeal, 2, st ? st : "pending");
            stop = report__step(f, f->appeal);
        } else if (kind && (!strcmp(kind, "exclusion") || !strcmp(kind, "exclusion_revoked"))) {
            /* not in the box's event log: the store's hall_exclusions has them */
        } else if (kind) {
            /* the event log as the box keeps it: its data is the record's data */
            sqlite3_stmt *s = f->event;
            sqlite3_bind_int64(s, 1, strtoll(v[0], NULL, 10));
            sqlite3_bind_int64(s, 2, at);
            report__bind_text(s, 3, kind);
            int w = report__int(d, "window");
            if (w)
                sqlite3_bind_int(s, 4, w);
            else
                sqlite3_bind_null(s, 4);
            report__bind_text(s, 5, report__str(d, "ticket"));
            report__bind_text(s, 6, report__str(d, "number"));
            report__bind_text(s, 7, report__str(d, "staff"));
            report__bind_text(s, 8, v[3]);
            stop = report__step(f, s);
        }
    }
    cJSON_Delete(d);
    return stop;
}

/* One exclusion in force (kind, staff, window, ticket, from, to) into the box's
 * fig_exclusions, where figures.c reads it; a row whose times do not read is skipped. */
static int report__exclusion(void *ctx, int ncol, const char *const *v)
{
    struct report_feed *f = ctx;
    int64_t a, b;
    if (ncol < 6 || !v[0] || !report__time(v[4], &a, NULL) || !report__time(v[5], &b, NULL) ||
        b <= a)
        return 0;
    sqlite3_stmt *s = f->excl;
    report__bind_text(s, 1, v[0]);
    report__bind_text(s, 2, v[1]);
    if (v[2] && atoi(v[2]) > 0)
        sqlite3_bind_int(s, 3, atoi(v[2]));
    else
        sqlite3_bind_null(s, 3);
    report__bind_text(s, 4, v[3]);
    sqlite3_bind_int64(s, 5, a);
    sqlite3_bind_int64(s, 6, b);
    return report__step(f, s);
}

static int report__open(struct report_feed *f, char *err, size_t errlen)
{
    if (sqlite3_open_v2(":memory:", &f->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(f->db, report__schema, NULL, NULL, NULL) != SQLITE_OK ||
        hq_fig_schema(f->db, err, errlen) != HQ_OK ||
        sqlite3_prepare_v2(f->db,
                           "INSERT INTO tickets(id, uuid, day, service, orig_service, label,"
                           " status, window, staff, issued_at, called_at, served_at, finished_at)"
                           " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &f->ticket, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(f->db,
                           "INSERT OR REPLACE INTO events(id, at, kind, window, ticket, label,"
                           " staff, data) VALUES(?,?,?,?,?,?,?,?)",
                           -1, &f->event, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(f->db,
                           "INSERT INTO evaluations(uuid, ticket, label, day, service, window,"
                           " staff, level, follow_up_state) VALUES(?,?,?,?,?,?,?,?,?)",
                           -1, &f->eval, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(f->db, "UPDATE evaluations SET follow_up_state=? WHERE uuid=?", -1,
                           &f->follow, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(f->db, "INSERT INTO eval_appeals(evaluation, state) VALUES(?,?)", -1,
                           &f->appeal, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(f->db,
                           "INSERT INTO fig_exclusions(kind, staff, window, ticket, from_at, to_at,"
                           " reason, created_at) VALUES(?,?,?,?,?,?,'',0)",
                           -1, &f->excl, NULL) != SQLITE_OK) {
        if (!*err)
            snprintf(err, errlen, "figures: scratch database: %s",
                     f->db ? sqlite3_errmsg(f->db) : "cannot open");
        return HQ_ERR_DB;
    }
    return HQ_OK;
}

static void report__close(struct report_feed *f)
{
    sqlite3_finalize(f->ticket);
    sqlite3_finalize(f->event);
    sqlite3_finalize(f->eval);
    sqlite3_finalize(f->follow);
    sqlite3_finalize(f->appeal);
    sqlite3_finalize(f->excl);
    sqlite3_close(f->db);
    free(f->codes);
    memset(f, 0, sizeof *f);
}

static void report__ymd(int32_t day, char out[16])
{
    int y, m, d;
    hq_ymd_from_days(day, &y, &m, &d);
    snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
}

/* FNV-1a: the tag of a stored day names what it was built from, not a secret. */
static uint64_t report__fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* ----------------------------------------------------- configuration */

static int report__text_row(void *ctx, int ncol, const char *const *v)
{
    char **out = ctx;
    if (ncol >= 1 && v[0] && !*out) *out = strdup(v[0]);
    return 0;
}

/* The hall's hallq.json as given with `hall config`: HQ_OK with *cfg loaded,
 * HQ_ERR_NOT_FOUND when there is none. */
static int report__config(struct central *c, const char *hall, struct hq_config *cfg,
                          uint64_t *hash, char *err, size_t errlen)
{
    char *text = NULL;
    const char *args[1] = {hall};
    int rc = c->store->query(c, "SELECT config FROM hall_config WHERE hall_id = $1", 1, args,
                             report__text_row, &text, err, errlen);
    if (rc) return rc;
    if (!text) return HQ_ERR_NOT_FOUND;
    char name[96];
    snprintf(name, sizeof name, "hall_config[%s]", hall);
    rc = hq_config_parse(name, "/", text, cfg, err, errlen);
    *hash = report__fnv(*hash, text);
    free(text);
    return rc;
}

int central_hall_config_set(struct central *c, const char *hall, const char *file, FILE *out)
{
    char err[512] = "";
    struct hq_config cfg;
    if (!central_valid_hall(hall)) {
        fprintf(stderr, "hallq-central: hall config: \"%s\" is not a valid hall id\n", hall);
        return HQ_ERR_INVALID;
    }
    /* The box's own loader: what it refuses, the server refuses too. */
    int rc = hq_config_load(file, &cfg, err, sizeof err);
    if (rc) {
        fprintf(stderr, "hallq-central: hall config: %s\n", err);
        return rc;
    }
    hq_config_free(&cfg);
    FILE *fp = fopen(file, "rb");
    if (!fp) return HQ_ERR_IO;
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    while (text) {
        size_t n = fread(text + len, 1, cap - len - 1, fp);
        len += n;
        if (len + 1 < cap) break;
        char *nt = realloc(text, cap * 2);
        if (!nt) {
            free(text);
            text = NULL;
            break;
        }
        text = nt;
        cap *= 2;
    }
    fclose(fp);
    if (!text) return HQ_ERR_NOMEM;
    text[len] = 0;
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *args[3] = {hall, text, now};
    rc = c->store->query(c,
                         "INSERT INTO hall_config(hall_id, config, set_at) VALUES($1, $2, $3)"
                         " ON CONFLICT (hall_id) DO UPDATE SET config = EXCLUDED.config,"
                         " set_at = EXCLUDED.set_at",
                         3, args, NULL, NULL, err, sizeof err);
    free(text);
    if (rc) {
        fprintf(stderr, "hallq-central: hall config: %s\n", err);
        return rc;
    }
    fprintf(out, "config %s from %s\n", hall, file);
    return HQ_OK;
}

/* Without the hall's file: the services its records name, windows as the
 * events open them, the offset of its own timestamps. */
static int report__derived(struct report_feed *f, struct hq_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->reports_wait_threshold_s = 1800; /* config.c's default */
    cfg->engine.utc_offset_s = f->utc_offset_s;
    if (f->ncodes) {
        cfg->engine.services = calloc(f->ncodes, sizeof *cfg->engine.services);
        if (!cfg->engine.services) return HQ_ERR_NOMEM;
        for (size_t i = 0; i < f->ncodes; i++) {
            struct hq_service_cfg *s = &cfg->engine.services[i];
            snprintf(s->code, sizeof s->code, "%s", f->codes[i]);
            snprintf(s->name, sizeof s->name, "%s", f->codes[i]);
            snprintf(s->name_en, sizeof s->name_en, "%s", f->codes[i]);
        }
        cfg->engine.n_services = f->ncodes;
    }
    return HQ_OK;
}

/* ------------------------------------------------------------ one hall */

/* The hall's records that can touch [from, to]: those dated from the day before to the day
 * after (a day's tickets end by the next morning's rollover); then, only when the period
 * holds a 差评 (level 1-2, the ratings follow-ups and appeals are about), the follow-up and
 * appeal events that came after it, which takes a pass over the hall's later records. */
static int report__load(struct central *c, const char *hall, struct report_feed *f, char *err,
                        size_t errlen)
{
    char lo[16], hi[16], kind[80], sql[800];
    report__ymd(f->from - 1, lo);
    report__ymd(f->to + 1, hi);
    const char *args[3] = {hall, lo, hi};
    if (sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) return HQ_ERR_DB;
    int rc = c->store->query(c,
                             "SELECT seq, type, at, CAST(data AS text) FROM records WHERE"
                             " hall_id = $1 AND substr(at, 1, 10) >= CAST($2 AS text) AND"
                             " substr(at, 1, 10) <= CAST($3 AS text) ORDER BY seq",
                             3, args, report__row, f, err, errlen);
    if (!rc) rc = f->rc;
    /* the managers' exclusions in force, whenever they were recorded (a hall has
     * few; figures.c keeps those that touch each day) */
    if (!rc)
        rc = c->store->query(c,
                             "SELECT excl_kind, staff, win, ticket, from_at, to_at FROM"
                             " hall_exclusions WHERE hall_id = $1 AND revoked_at IS NULL"
                             " AND excl_kind IS NOT NULL",
                             1, args, report__exclusion, f, err, errlen);
    if (!rc) rc = f->rc;
    int bad = 0;
    sqlite3_stmt *q = NULL;
    if (!rc &&
        sqlite3_prepare_v2(f->db, "SELECT count(*) FROM evaluations WHERE level <= 2", -1, &q,
                           NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        bad = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (!rc && bad) {
        snprintf(kind, sizeof kind, c->store->json_field, "kind");
        snprintf(sql, sizeof sql,
                 "SELECT seq, type, at, CAST(data AS text) FROM records WHERE hall_id = $1"
                 " AND substr(at, 1, 10) > CAST($2 AS text) AND type = 'event'"
                 " AND %s IN ('follow_up', 'appeal', 'appeal_review') ORDER BY seq",
                 kind);
        const char *later[2] = {hall, hi};
        rc = c->store->query(c, sql, 2, later, report__row, f, err, errlen);
        if (!rc) rc = f->rc;
    }
    sqlite3_exec(f->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
    if (rc && !*err) snprintf(err, errlen, "figures: %s", sqlite3_errmsg(f->db));
    return rc;
}

/* ------------------------------------------------------ stored day rows */

/* Bump when figures.c changes what a day row means without changing its columns:
 * every stored day then reads as missing and is built again. */
#define REPORT_FORM "fig1"

static unsigned long long report__stored_days, report__built_days;

void central_figures_counts(unsigned long long *stored, unsigned long long *built)
{
    *stored = __atomic_load_n(&report__stored_days, __ATOMIC_RELAXED);
    *built = __atomic_load_n(&report__built_days, __ATOMIC_RELAXED);
}

/* The tag a stored day must carry to be read: the row form (REPORT_FORM and fig_day's
 * columns, in order) and the hall's configuration text it was built with. */
static int report__tag(sqlite3 *db, uint64_t cfg_hash, char out[64])
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT * FROM fig_day LIMIT 0", -1, &q, NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    uint64_t h = report__fnv(14695981039346656037ull, REPORT_FORM);
    for (int i = 0; i < sqlite3_column_count(q); i++) {
        h = report__fnv(h, sqlite3_column_name(q, i));
        h = report__fnv(h, ",");
    }
    sqlite3_finalize(q);
    snprintf(out, 64, "%s-%016llx-%016llx", REPORT_FORM, (unsigned long long)h,
             (unsigned long long)cfg_hash);
    return HQ_OK;
}

struct report_stored {
    sqlite3 *db;
    sqlite3_stmt *ins;
    int32_t from, last;
    bool *have; /* by day - from */
    int rc;
};

/* One stored day (day, fig_rows) into the scratch fig_day: fig_rows is a JSON array of
 * rows, each fig_day's columns in order (an integer, a text, null, or a blob as [hex]). */
static int report__stored_row(void *ctx, int ncol, const char *const *v)
{
    struct report_stored *st = ctx;
    int32_t day;
    if (ncol < 2 || !v[1] || !report__day(v[0], &day) || day < st->from || day > st->last) return 0;
    cJSON *rows = cJSON_Parse(v[1]);
    int n = sqlite3_bind_parameter_count(st->ins);
    bool ok = cJSON_IsArray(rows);
    const cJSON *r;
    if (ok) sqlite3_exec(st->db, "SAVEPOINT stored", NULL, NULL, NULL);
    cJSON_ArrayForEach(r, rows)
    {
        if (!ok) break;
        if (!cJSON_IsArray(r) || cJSON_GetArraySize(r) != n) {
            ok = false;
            break;
        }
        int i = 1;
        const cJSON *x;
        cJSON_ArrayForEach(x, r)
        {
            if (cJSON_IsNumber(x)) {
                sqlite3_bind_int64(st->ins, i, (sqlite3_int64)x->valuedouble);
            } else if (cJSON_IsString(x)) {
                sqlite3_bind_text(st->ins, i, x->valuestring, -1, SQLITE_TRANSIENT);
            } else if (cJSON_IsArray(x) && cJSON_IsString(cJSON_GetArrayItem(x, 0))) {
                const char *hex = cJSON_GetArrayItem(x, 0)->valuestring;
                size_t len = strlen(hex) / 2;
                unsigned char *bl = malloc(len ? len : 1);
                for (size_t k = 0; bl && k < len; k++) {
                    unsigned int byte = 0;
                    if (sscanf(hex + 2 * k, "%2x", &byte) != 1) ok = false;
                    bl[k] = (unsigned char)byte;
                }
                if (!bl) ok = false;
                if (bl) sqlite3_bind_blob(st->ins, i, bl, (int)len, free);
            } else {
                sqlite3_bind_null(st->ins, i);
            }
            i++;
        }
        if (ok && sqlite3_step(st->ins) != SQLITE_DONE) ok = false;
        sqlite3_reset(st->ins);
        sqlite3_clear_bindings(st->ins);
    }
    if (cJSON_IsArray(rows)) {
        /* a stored day that does not read back is built again, never half used */
        if (!ok) sqlite3_exec(st->db, "ROLLBACK TO stored", NULL, NULL, NULL);
        sqlite3_exec(st->db, "RELEASE stored", NULL, NULL, NULL);
    }
    cJSON_Delete(rows);
    if (ok) st->have[day - st->from] = true;
    return 0;
}

/* The stored days of [from, last] whose tag matches into f->db's fig_day; have[] says
 * which. A store that fails is no error: those days are built. */
static void report__stored_read(struct central *c, const char *hall, struct report_feed *f,
                                int32_t last, const char *tag, bool *have)
{
    char lo[16], hi[16], err[256];
    report__ymd(f->from, lo);
    report__ymd(last, hi);
    struct report_stored st = {.db = f->db, .from = f->from, .last = last, .have = have};
    sqlite3_stmt *q = NULL;
    char isql[1024];
    if (sqlite3_prepare_v2(f->db, "SELECT * FROM fig_day LIMIT 0", -1, &q, NULL) != SQLITE_OK)
        return;
    int ncol = sqlite3_column_count(q);
    sqlite3_finalize(q);
    size_t k = (size_t)snprintf(isql, sizeof isql, "INSERT INTO fig_day VALUES(?");
    for (int i = 1; i < ncol && k < sizeof isql; i++)
        k += (size_t)snprintf(isql + k, sizeof isql - k, ",?");
    snprintf(isql + k, sizeof isql - k, ")");
    if (sqlite3_prepare_v2(f->db, isql, -1, &st.ins, NULL) != SQLITE_OK) return;
    const char *args[4] = {hall, lo, hi, tag};
    sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL);
    if (c->store->query(c,
                        "SELECT day, fig_rows FROM hall_fig_days WHERE hall_id = $1 AND day >="
                        " CAST($2 AS text) AND day <= CAST($3 AS text) AND tag = $4 AND"
                        " fig_rows IS NOT NULL",
                        4, args, report__stored_row, &st, err, sizeof err))
        LOG_WARN("CENTRAL", "hall %s: stored figure days unreadable (%s); building them", hall,
                 err);
    sqlite3_exec(f->db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(st.ins);
}

/* Claim a day about to be built: a row with fig_rows NULL and this request's own tag.
 * The trigger drops it like a stored day when a record for the day arrives meanwhile,
 * and report__stored_write() fills only a row still claimed, so rows built from records
 * that missed a late one are never kept. On PostgreSQL the claim takes the hall's
 * hall_sync row first, the lock every batch of the hall takes: a batch still storing
 * ends before the claim, so the load that follows sees its records. */
static bool report__claim(struct central *c, const char *hall, int32_t day, const char *claim)
{
    char d[16], p[16], n[16], at[32], err[256];
    report__ymd(day, d);
    report__ymd(day - 1, p);
    report__ymd(day + 1, n);
    snprintf(at, sizeof at, "%lld", (long long)time(NULL));
    const char *args[6] = {hall, d, p, n, claim, at};
    bool pg = strcmp(c->store->name, "sqlite") != 0;
    int rc = c->store->query(
        c,
        pg ? "WITH l AS (SELECT hall_id FROM hall_sync WHERE hall_id = $1 FOR UPDATE)"
             " INSERT INTO hall_fig_days(hall_id, day, prev_day, next_day, tag, fig_rows,"
             " built_at) SELECT $1, $2, $3, $4, $5, NULL, $6 FROM l ON CONFLICT (hall_id, day)"
             " DO UPDATE SET prev_day = EXCLUDED.prev_day, next_day = EXCLUDED.next_day,"
             " tag = EXCLUDED.tag, fig_rows = NULL, built_at = EXCLUDED.built_at"
           : "INSERT INTO hall_fig_days(hall_id, day, prev_day, next_day, tag, fig_rows,"
             " built_at) VALUES($1, $2, $3, $4, $5, NULL, $6) ON CONFLICT (hall_id, day)"
             " DO UPDATE SET prev_day = EXCLUDED.prev_day, next_day = EXCLUDED.next_day,"
             " tag = EXCLUDED.tag, fig_rows = NULL, built_at = EXCLUDED.built_at",
        6, args, NULL, NULL, err, sizeof err);
    if (rc) LOG_WARN("CENTRAL", "hall %s: cannot claim a figure day (%s)", hall, err);
    return rc == HQ_OK;
}

/* A built day's fig_day rows, as JSON, into its claimed row. */
static void report__stored_write(struct central *c, const char *hall, sqlite3 *db, int32_t day,
                                 const char *claim, const char *tag)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT * FROM fig_day WHERE day = ?", -1, &q, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int(q, 1, day);
    cJSON *rows = cJSON_CreateArray();
    int ncol = sqlite3_column_count(q);
    while (sqlite3_step(q) == SQLITE_ROW) {
        cJSON *r = cJSON_CreateArray();
        for (int i = 0; i < ncol; i++) {
            switch (sqlite3_column_type(q, i)) {
            case SQLITE_INTEGER:
                cJSON_AddItemToArray(r, cJSON_CreateNumber((double)sqlite3_column_int64(q, i)));
                break;
            case SQLITE_TEXT:
                cJSON_AddItemToArray(r,
                                     cJSON_CreateString((const char *)sqlite3_column_text(q, i)));
                break;
            case SQLITE_BLOB: {
                const unsigned char *bl = sqlite3_column_blob(q, i);
                int len = sqlite3_column_bytes(q, i);
                char *hex = malloc((size_t)len * 2 + 1);
                if (!hex) break;
                for (int k = 0; k < len; k++)
                    snprintf(hex + 2 * k, 3, "%02x", bl[k]);
                hex[len * 2] = 0;
                cJSON *b = cJSON_CreateArray();
                cJSON_AddItemToArray(b, cJSON_CreateString(hex));
                cJSON_AddItemToArray(r, b);
                free(hex);
                break;
            }
            default:
                cJSON_AddItemToArray(r, cJSON_CreateNull());
            }
        }
        cJSON_AddItemToArray(rows, r);
    }
    sqlite3_finalize(q);
    char *text = cJSON_PrintUnformatted(rows);
    cJSON_Delete(rows);
    if (!text) return;
    char d[16], at[32], err[256];
    report__ymd(day, d);
    snprintf(at, sizeof at, "%lld", (long long)time(NULL));
    const char *args[6] = {hall, d, claim, tag, text, at};
    if (c->store->query(c,
                        "UPDATE hall_fig_days SET tag = $4, fig_rows = $5, built_at = $6 WHERE"
                        " hall_id = $1 AND day = $2 AND tag = $3",
                        6, args, NULL, NULL, err, sizeof err))
        LOG_WARN("CENTRAL", "hall %s: cannot store a figure day (%s)", hall, err);
    free(text);
}

/* Build every day of [from, to] of one hall into f->db's fig_day (today with
 * `now`, as the box's live day is). *has_config says whether its file was there.
 * With the hall's file, a past day stored on the server with the same tag is read
 * instead of built, and a past day built is stored; today is never stored. Without
 * the file every day is built: the services named then come from the records. */
static int report__hall(struct central *c, const char *hall, struct report_feed *f, int64_t now,
                        struct hq_config *cfg, bool *has_config, char *err, size_t errlen)
{
    uint64_t cfg_hash = 14695981039346656037ull;
    int rc = report__config(c, hall, cfg, &cfg_hash, err, errlen);
    *has_config = rc == HQ_OK;
    if (rc == HQ_ERR_CONFIG) /* stored, but this loader refuses it (a newer server's rules) */
        LOG_WARN("CENTRAL",
                 "hall %s: its configuration no longer loads (%s); figures from its"
                 " records alone until `hall config` is run again",
                 hall, err);
    if (rc == HQ_ERR_NOT_FOUND || rc == HQ_ERR_CONFIG) {
        *err = 0;
        rc = HQ_OK;
        memset(cfg, 0, sizeof *cfg);
    }
    if (rc) return rc;
    int32_t from = f->from, to = f->to;
    int32_t ndays = to - from + 1;
    bool *have = calloc((size_t)ndays, sizeof *have);
    if (!have) return HQ_ERR_NOMEM;
    char tag[64] = "", claim[96] = "";
    int32_t today = INT32_MAX, last_past = from - 1;
    if (*has_config && report__tag(f->db, cfg_hash, tag) == HQ_OK) {
        today = (int32_t)((now + cfg->engine.utc_offset_s) / 86400);
        last_past = to < today ? to : today - 1;
        if (last_past >= from) report__stored_read(c, hall, f, last_past, tag, have);
        static unsigned long long claims;
        snprintf(claim, sizeof claim, "building-%ld-%llu-%lld", (long)getpid(),
                 __atomic_add_fetch(&claims, 1, __ATOMIC_RELAXED), (long long)now);
    }
    /* the days still to build: from the first missing to the last */
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    for (int32_t d = from; d <= to; d++) {
        if (have[d - from]) {
            __atomic_add_fetch(&report__stored_days, 1, __ATOMIC_RELAXED);
            continue;
        }
        lo = d < lo ? d : lo;
        hi = d;
    }
    bool *claimed = calloc((size_t)ndays, sizeof *claimed);
    if (!claimed) rc = HQ_ERR_NOMEM;
    for (int32_t d = lo; !rc && *tag && d <= hi && d <= last_past; d++)
        if (!have[d - from]) claimed[d - from] = report__claim(c, hall, d, claim);
    if (!rc && lo <= hi) {
        f->from = lo;
        f->to = hi;
        rc = report__load(c, hall, f, err, errlen);
        f->from = from;
        f->to = to;
    }
    if (!rc && !*has_config) rc = report__derived(f, cfg);
    if (!rc && lo <= hi) {
        struct hq_fig_opts o = {.wait_threshold_s = cfg->reports_wait_threshold_s};
        int32_t now_day = (int32_t)((now + cfg->engine.utc_offset_s) / 86400);
        int32_t last = hi < now_day ? hi : now_day;
        sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL);
        for (int32_t d = lo; d <= last && !rc; d++) {
            if (have[d - from]) continue;
            rc = hq_fig_build_day(f->db, &cfg->engine, &o, d, now, "fig_day", err, errlen);
            if (!rc) __atomic_add_fetch(&report__built_days, 1, __ATOMIC_RELAXED);
        }
        sqlite3_exec(f->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
        for (int32_t d = lo; !rc && d <= hi && d <= last_past; d++)
            if (claimed[d - from]) report__stored_write(c, hall, f->db, d, claim, tag);
    }
    free(claimed);
    free(have);
    return rc;
}

static void report__free_cfg(struct hq_config *cfg, bool has_config)
{
    if (has_config) {
        hq_config_free(cfg);
    } else {
        free(cfg->engine.services);
    }
    memset(cfg, 0, sizeof *cfg);
}

/* ------------------------------------------------------------- the route */

int central_figures(struct central *c, const struct central_manager *m, const char *hall,
                    int32_t from, int32_t to, int scope, int64_t now, cJSON **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    cJSON *halls = cJSON_CreateArray();
    int rc = central_manager_hall_ids(c, m, hall, halls);
    if (rc) {
        cJSON_Delete(halls);
        snprintf(err, errlen, "database unavailable");
        return HQ_ERR_DB;
    }
    if (hall && cJSON_GetArraySize(halls) != 1) {
        cJSON_Delete(halls);
        return HQ_ERR_NOT_FOUND;
    }
    /* The region's rows: every hall's hall-scope rollup rows under its own id. */
    sqlite3 *all = NULL;
    struct hq_config none = {0};
    if (sqlite3_open_v2(":memory:", &all, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        hq_fig_schema(all, err, errlen)) {
        sqlite3_close(all);
        cJSON_Delete(halls);
        return HQ_ERR_DB;
    }
    cJSON *doc = cJSON_CreateObject(), *rows = NULL;
    int32_t threshold = -1, offset = 8 * 3600;
    const cJSON *h;
    cJSON_ArrayForEach(h, halls)
    {
        const char *id = report__str(h, "hall_id");
        struct report_feed f = {.from = from, .to = to, .utc_offset_s = 8 * 3600};
        struct hq_config cfg;
        bool has_config = false;
        memset(&cfg, 0, sizeof cfg);
        rc = report__open(&f, err, errlen);
        if (!rc) rc = report__hall(c, id, &f, now, &cfg, &has_config, err, errlen);
        if (!rc && hall) {
            /* one hall by any scope: the box's own answer, from the same rows */
            struct hq_fig_opts o = {.wait_threshold_s = cfg.reports_wait_threshold_s};
            cJSON *r = NULL;
            int32_t today = (int32_t)((now + cfg.engine.utc_offset_s) / 86400);
            rc =
                hq_fig_report(f.db, &cfg.engine, &o, from, to, scope, to + 1, now, &r, err, errlen);
            if (!rc) {
                cJSON_Delete(doc);
                doc = r;
                cJSON_ReplaceItemInObjectCaseSensitive(
                    doc, "live_days", cJSON_CreateNumber(from <= today && to >= today));
            }
        }
        if (!rc) {
            /* its hall rows into the region's table, under the hall's id */
            sqlite3_stmt *q = NULL;
            if (sqlite3_prepare_v2(f.db, "SELECT * FROM fig_day WHERE scope = 'hall'", -1, &q,
                                   NULL) != SQLITE_OK)
                rc = HQ_ERR_DB;
            int ncol = q ? sqlite3_column_count(q) : 0;
            sqlite3_stmt *ins = NULL;
            if (!rc) {
                char isql[1024];
                size_t k = (size_t)snprintf(isql, sizeof isql, "INSERT INTO fig_day VALUES(?");
                for (int i = 1; i < ncol && k < sizeof isql; i++)
                    k += (size_t)snprintf(isql + k, sizeof isql - k, ",?");
                snprintf(isql + k, sizeof isql - k, ")");
                if (sqlite3_prepare_v2(all, isql, -1, &ins, NULL) != SQLITE_OK) rc = HQ_ERR_DB;
            }
            while (!rc && sqlite3_step(q) == SQLITE_ROW) {
                for (int i = 0; i < ncol; i++) {
                    const char *name = sqlite3_column_name(q, i);
                    if (!strcmp(name, "key"))
                        sqlite3_bind_text(ins, i + 1, id, -1, SQLITE_TRANSIENT);
                    else
                        sqlite3_bind_value(ins, i + 1, sqlite3_column_value(q, i));
                }
                if (sqlite3_step(ins) != SQLITE_DONE) rc = HQ_ERR_DB;
                sqlite3_reset(ins);
            }
            if (rc && !*err) snprintf(err, errlen, "figures: %s", sqlite3_errmsg(all));
            sqlite3_finalize(q);
            sqlite3_finalize(ins);
            if (threshold < 0) threshold = (int32_t)cfg.reports_wait_threshold_s;
            offset = cfg.engine.utc_offset_s;
        }
        cJSON *flag = cJSON_CreateBool(has_config);
        cJSON_AddItemToObject((cJSON *)h, "config", flag);
        report__free_cfg(&cfg, has_config);
        report__close(&f);
        if (rc) break;
    }
    if (!rc && !hall) {
        /* every hall side by side, and the region's total (hall scope over the halls) */
        struct hq_fig_opts o = {.wait_threshold_s = threshold < 0 ? 1800 : (uint32_t)threshold};
        cJSON *r = NULL;
        rc = hq_fig_report(all, &none.engine, &o, from, to, HQ_FIG_HALL, to + 1, now, &r, err,
                           errlen);
        if (!rc) {
            cJSON_Delete(doc);
            doc = r;
            rows = cJSON_GetObjectItemCaseSensitive(doc, "rows");
        }
        cJSON *total = cJSON_GetObjectItemCaseSensitive(doc, "total");
        cJSON_ReplaceItemInObjectCaseSensitive(total, "name", cJSON_CreateString("辖区合计"));
        cJSON_ReplaceItemInObjectCaseSensitive(total, "name_en",
                                               cJSON_CreateString("Region total"));
    }
    if (!rc) {
        if (!hall) /* whether today (in the halls' own offset) is in the period */
            cJSON_ReplaceItemInObjectCaseSensitive(
                doc, "live_days",
                cJSON_CreateNumber(from <= (now + offset) / 86400 && to >= (now + offset) / 86400));
        /* name each hall row after its hall; a hall without a record in the period
         * still has its row (zeros), so the list matches the halls the manager sees */
        cJSON *named = cJSON_CreateArray();
        cJSON_ArrayForEach(h, halls)
        {
            const char *id = report__str(h, "hall_id");
            cJSON *row = NULL, *r;
            cJSON_ArrayForEach(r, rows)
            {
                if (!strcmp(report__str(r, "key") ? report__str(r, "key") : "", id)) row = r;
            }
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "hall_id", id);
            cJSON_AddStringToObject(o, "name",
                                    report__str(h, "name") ? report__str(h, "name") : "");
            cJSON_AddStringToObject(o, "province", report__str(h, "province"));
            cJSON_AddStringToObject(o, "city", report__str(h, "city"));
            cJSON_AddStringToObject(o, "district", report__str(h, "district"));
            cJSON_AddBoolToObject(o, "config",
                                  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "config")));
            if (row) cJSON_AddItemToObject(o, "figures", cJSON_Duplicate(row, 1));
            if (!row) cJSON_AddNullToObject(o, "figures");
            cJSON_AddItemToArray(named, o);
        }
        if (rows) {
            cJSON_ReplaceItemInObjectCaseSensitive(doc, "rows", named);
            cJSON_AddStringToObject(doc, "scope", "region");
        } else {
            cJSON_AddItemToObject(doc, "halls", named);
            cJSON_AddStringToObject(doc, "hall_id", hall);
        }
        *out = doc;
    } else {
        cJSON_Delete(doc);
    }
    sqlite3_close(all);
    cJSON_Delete(halls);
    return rc;
}
