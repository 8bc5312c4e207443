/*
 * halls.c — halls and people on hallq-central (issue 19): halls provisioned
 * with their region (province › city › district) and a per-hall token, kept
 * only as a hash (BLAKE2b: a token is 32 random bytes, so a slow password
 * hash would add nothing but time to every batch); managers with personal
 * credentials (crypto_pwhash_str) who see the halls of their region and below.
 * One set of queries for both stores (store->query).
 */
#include "central.h"

#include "hq.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CENTRAL_SESSION_S (12 * 3600)

static void central__utc(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Hex of BLAKE2b-256 of s. */
static void central__hash(const char *s, char out[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)s, strlen(s), NULL, 0);
    sodium_bin2hex(out, 65, h, sizeof h);
}

/* A new secret: "hq_" and 64 hex digits of 32 random bytes. */
static void central__secret(char out[68])
{
    unsigned char b[32];
    randombytes_buf(b, sizeof b);
    memcpy(out, "hq_", 3);
    sodium_bin2hex(out + 3, 65, b, sizeof b);
}

int central_region_parse(const char *s, struct central_region *r)
{
    memset(r, 0, sizeof *r);
    char *parts[3] = {r->province, r->city, r->district};
    size_t cap[3] = {sizeof r->province, sizeof r->city, sizeof r->district};
    int i = 0;
    const char *p = s;
    while (p && *p && i < 3) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n >= cap[i]) return HQ_ERR_INVALID;
        memcpy(parts[i], p, n);
        parts[i][n] = 0;
        i++;
        p = slash ? slash + 1 : NULL;
    }
    if (p || !r->province[0]) return HQ_ERR_INVALID; /* four levels, or none */
    return HQ_OK;
}

static int central__first(void *ctx, int ncol, const char *const *vals)
{
    char(*out)[2][200] = ctx;
    for (int i = 0; i < 2 && i < ncol; i++)
        snprintf((*out)[i], sizeof(*out)[i], "%s", vals[i] ? vals[i] : "\x01");
    return 1;
}

int central_hall_auth(struct central *c, const char *hall, const char *token)
{
    char row[2][200] = {"", ""}, err[256];
    const char *args[1] = {hall};
    if (c->store->query(c, "SELECT token_hash, revoked_at FROM hall_registry WHERE hall_id = $1", 1,
                        args, central__first, row, err, sizeof err))
        return HQ_ERR_DB;
    if (!row[0][0]) return HQ_ERR_NOT_FOUND;
    if (row[1][0] != '\x01') return HQ_ERR_STATE; /* revoked */
    if (!token) return HQ_ERR_AUTH;
    char h[65];
    central__hash(token, h);
    if (strlen(row[0]) != 64 || sodium_memcmp(h, row[0], 64) != 0) return HQ_ERR_AUTH;
    return HQ_OK;
}

static int central__print_row(void *ctx, int ncol, const char *const *vals)
{
    FILE *out = ctx;
    for (int i = 0; i < ncol; i++)
        fprintf(out, "%s%s", i ? "\t" : "", vals[i] ? vals[i] : "-");
    fputc('\n', out);
    return 0;
}

static int central__count_row(void *ctx, int ncol, const char *const *vals)
{
    (void)ncol, (void)vals;
    ++*(int *)ctx;
    return 0;
}

/* `hallq-central hall add|rotate|revoke|list ...` and `manager add ...`
 * on an open store. argv[0] is "hall" or "manager". */
int central_admin(struct central *c, int argc, char **argv, FILE *out)
{
    char err[300] = "", now[32], token[68], hash[65];
    central__utc(time(NULL), now);
    if (sodium_init() < 0) return HQ_ERR_IO;
    const char *what = argc > 1 ? argv[1] : "";
    const char *usage =
        "hall add HALL_ID --region PROVINCE[/CITY[/DISTRICT]] [--name NAME] |"
        " hall rotate HALL_ID | hall revoke HALL_ID | hall list | hall config HALL_ID FILE |"
        " manager add LOGIN --region PROVINCE[/CITY[/DISTRICT]] [--name NAME]"
        " (password on stdin)";
    const char *id = argc > 2 ? argv[2] : NULL, *region = NULL, *name = "";
    if (!strcmp(argv[0], "hall") && !strcmp(what, "config")) {
        if (argc != 4) goto usage;
        return central_hall_config_set(c, argv[2], argv[3], out);
    }
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--region"))
            region = argv[i + 1];
        else if (!strcmp(argv[i], "--name"))
            name = argv[i + 1];
        else
            goto usage;
    }
    if (argc > 3 && argc % 2 == 0) goto usage;
    struct central_region r;
    int rc, n = 0;
    if (!strcmp(argv[0], "hall") && !strcmp(what, "list") && argc == 2) {
        return c->store->query(c,
                               "SELECT hall_id, province, city, district, name, issued_at,"
                               " revoked_at FROM hall_registry ORDER BY province, city,"
                               " district, hall_id",
                               0, NULL, central__print_row, out, err, sizeof err);
    }
    if (!id) goto usage;
    if (!strcmp(argv[0], "hall") && !strcmp(what, "add")) {
        if (!central_valid_hall(id)) {
            fprintf(stderr, "hallq-central: hall add: \"%s\" is not a valid hall id\n", id);
            return HQ_ERR_INVALID;
        }
        if (!region || central_region_parse(region, &r)) {
            fprintf(stderr, "hallq-central: hall add: --region PROVINCE[/CITY[/DISTRICT]]\n");
            return HQ_ERR_INVALID;
        }
        central__secret(token);
        central__hash(token, hash);
        const char *args[7] = {id, name, r.province, r.city, r.district, hash, now};
        rc = c->store->query(c,
                             "INSERT INTO hall_registry(hall_id, name, province, city, district,"
                             " token_hash, issued_at) VALUES($1, $2, $3, $4, $5, $6, $7)",
                             7, args, NULL, NULL, err, sizeof err);
        if (rc == HQ_ERR_STATE) {
            fprintf(stderr, "hallq-central: hall add: %s is provisioned already (rotate?)\n", id);
            return rc;
        }
    } else if (!strcmp(argv[0], "hall") && (!strcmp(what, "rotate") || !strcmp(what, "revoke"))) {
        if (argc != 3) goto usage;
        bool rotate = !strcmp(what, "rotate");
        central__secret(token);
        central__hash(token, hash);
        const char *args[3] = {id, rotate ? hash : now, now};
        rc = c->store->query(c,
                             rotate ? "UPDATE hall_registry SET token_hash = $2, issued_at = $3,"
                                      " revoked_at = NULL WHERE hall_id = $1 RETURNING hall_id"
                                    : "UPDATE hall_registry SET revoked_at = $2"
                                      " WHERE hall_id = $1 RETURNING hall_id",
                             rotate ? 3 : 2, args, central__count_row, &n, err, sizeof err);
        if (!rc && !n) {
            fprintf(stderr, "hallq-central: hall %s: %s is not provisioned\n", what, id);
            return HQ_ERR_NOT_FOUND;
        }
        if (!rc && !rotate) {
            fprintf(out, "revoked %s\n", id);
            return HQ_OK;
        }
    } else if (!strcmp(argv[0], "manager") && !strcmp(what, "add")) {
        if (!region || central_region_parse(region, &r)) {
            fprintf(stderr, "hallq-central: manager add: --region PROVINCE[/CITY[/DISTRICT]]\n");
            return HQ_ERR_INVALID;
        }
        char pw[256], pwhash[crypto_pwhash_STRBYTES];
        if (!fgets(pw, sizeof pw, stdin)) {
            fprintf(stderr, "hallq-central: manager add: the password comes on stdin\n");
            return HQ_ERR_INVALID;
        }
        pw[strcspn(pw, "\r\n")] = 0;
        if (strlen(pw) < 8) {
            fprintf(stderr, "hallq-central: manager add: a password has at least 8 characters\n");
            return HQ_ERR_INVALID;
        }
        if (crypto_pwhash_str(pwhash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE)) {
            sodium_memzero(pw, sizeof pw);
            return HQ_ERR_NOMEM;
        }
        sodium_memzero(pw, sizeof pw);
        const char *args[6] = {id, name, pwhash, r.province, r.city, r.district};
        rc = c->store->query(c,
                             "INSERT INTO managers(login, name, pwhash, province, city, district)"
                             " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT(login) DO UPDATE SET"
                             " name = excluded.name, pwhash = excluded.pwhash,"
                             " province = excluded.province, city = excluded.city,"
                             " district = excluded.district",
                             6, args, NULL, NULL, err, sizeof err);
        if (!rc) fprintf(out, "manager %s\n", id);
        if (rc) fprintf(stderr, "hallq-central: manager add: %s\n", err);
        return rc;
    } else {
        goto usage;
    }
    if (rc) {
        fprintf(stderr, "hallq-central: %s %s: %s\n", argv[0], what, err);
        return rc;
    }
    /* The token is shown once, here: the box's sync.token. */
    fprintf(out, "%s %s token %s\n", what, id, token);
    return HQ_OK;
usage:
    fprintf(stderr, "usage: hallq-central %s (--db FILE | --pg CONNINFO)\n", usage);
    return HQ_ERR_INVALID;
}

/* ---- managers' sessions ---- */

static int central__fill_manager(void *ctx, int ncol, const char *const *vals)
{
    struct central_manager *m = ctx;
    if (ncol < 5) return 1;
    snprintf(m->login, sizeof m->login, "%s", vals[0] ? vals[0] : "");
    snprintf(m->name, sizeof m->name, "%s", vals[1] ? vals[1] : "");
    snprintf(m->region.province, sizeof m->region.province, "%s", vals[2] ? vals[2] : "");
    snprintf(m->region.city, sizeof m->region.city, "%s", vals[3] ? vals[3] : "");
    snprintf(m->region.district, sizeof m->region.district, "%s", vals[4] ? vals[4] : "");
    if (ncol > 5) snprintf(m->pwhash, sizeof m->pwhash, "%s", vals[5] ? vals[5] : "");
    return 1;
}

int central_manager_login(struct central *c, const char *login, const char *password,
                          char session[68])
{
    struct central_manager m = {0};
    char err[256], hash[65], exp[32];
    const char *args[1] = {login};
    if (c->store->query(c,
                        "SELECT login, name, province, city, district, pwhash FROM managers"
                        " WHERE login = $1",
                        1, args, central__fill_manager, &m, err, sizeof err))
        return HQ_ERR_DB;
    /* Verify even for an unknown login (against a hash of nothing), so that the
     * answer's time does not tell which logins exist. */
    static char dummy[crypto_pwhash_STRBYTES];
    if (!dummy[0] && crypto_pwhash_str(dummy, "-", 1, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                       crypto_pwhash_MEMLIMIT_INTERACTIVE))
        return HQ_ERR_NOMEM;
    bool ok =
        crypto_pwhash_str_verify(m.login[0] ? m.pwhash : dummy, password, strlen(password)) == 0;
    if (!ok || !m.login[0]) return HQ_ERR_AUTH;
    central__secret(session);
    central__hash(session, hash);
    central__utc(time(NULL) + CENTRAL_SESSION_S, exp);
    const char *ins[3] = {hash, login, exp};
    if (c->store->query(c,
                        "INSERT INTO manager_sessions(token_hash, login, expires_at)"
                        " VALUES($1, $2, $3)",
                        3, ins, NULL, NULL, err, sizeof err))
        return HQ_ERR_DB;
    return HQ_OK;
}

int central_manager_session(struct central *c, const char *session, struct central_manager *m)
{
    char err[256], hash[65], now[32];
    if (!session || strncmp(session, "hq_", 3) || strlen(session) != 67) return HQ_ERR_AUTH;
    central__hash(session, hash);
    central__utc(time(NULL), now);
    memset(m, 0, sizeof *m);
    const char *args[2] = {hash, now};
    if (c->store->query(c,
                        "SELECT m.login, m.name, m.province, m.city, m.district FROM"
                        " manager_sessions s JOIN managers m ON m.login = s.login"
                        " WHERE s.token_hash = $1 AND s.expires_at > $2",
                        2, args, central__fill_manager, m, err, sizeof err))
        return HQ_ERR_DB;
    return m->login[0] ? HQ_OK : HQ_ERR_AUTH;
}

/* Who sees which hall: the manager's region ($1 province, $2 city, $3 district, '' where a
 * level is open) and below; $4 one hall or ''. Written once for every query that lists
 * halls for a manager. */
#define CENTRAL__REGION                                                                            \
    " WHERE h.province = $1 AND (CAST($2 AS text) = '' OR h.city = $2)"                            \
    " AND (CAST($3 AS text) = '' OR h.district = $3)"                                              \
    " AND (CAST($4 AS text) = '' OR h.hall_id = $4)"

/* The halls a manager may see, each as an object for the overview. */
static int central__hall_row(void *ctx, int ncol, const char *const *vals)
{
    cJSON *list = ctx, *o = cJSON_CreateObject();
    static const char *const keys[] = {
        "hall_id",   "name",           "province",          "city",
        "district",  "revoked_at",     "acked_through",     "last_contact",
        "max_seq",   "tickets_today",  "avg_wait_s",        "ratings_today",
        "avg_level", "followups_open", "followups_overdue", "province_overdue"};
    for (int i = 0; i < ncol && i < (int)(sizeof keys / sizeof *keys); i++) {
        if (!vals[i])
            cJSON_AddNullToObject(o, keys[i]);
        else if (i >= 8 || i == 6)
            cJSON_AddNumberToObject(o, keys[i], strtod(vals[i], NULL));
        else
            cJSON_AddStringToObject(o, keys[i], vals[i]);
    }
    cJSON_AddItemToArray(list, o);
    return 0;
}

int central_manager_halls(struct central *c, const struct central_manager *m, const char *hall,
                          cJSON *list)
{
    char err[256], today[16];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    /* Evaluations waiting for the provincial platform longer than the alarm allows, when
     * this receiver forwards (docs/PROVINCE.md); "0" (nothing is older) otherwise. */
    char older[24];
    snprintf(older, sizeof older, "%lld", central_province_alarm_before_ms(c->province));
    const char *args[6] = {m->region.province, m->region.city, m->region.district,
                           hall ? hall : "",   today,          older};
    /* JSON fields of a record's data, in each engine's words. */
    char wait[80], level[80], due[80], fu_eval[80], fu_state[80], kind[80];
    snprintf(wait, sizeof wait, c->store->json_field, "wait_s");
    snprintf(level, sizeof level, c->store->json_field, "level");
    snprintf(due, sizeof due, c->store->json_field, "follow_up_due");
    snprintf(fu_eval, sizeof fu_eval, c->store->json_field, "evaluation");
    snprintf(fu_state, sizeof fu_state, c->store->json_field, "state");
    snprintf(kind, sizeof kind, c->store->json_field, "kind");
    /* Per hall: what the server can tell. max_seq - acked_through is the backlog it
     * holds above a gap; today's figures come from the records of today (the hall's
     * own date in `at`); a 差评 (level 1-2) follow-up is open until a follow_up event
     * closes it, overdue once its due date has passed. */
    char sql[3000];
    int n = snprintf(
        sql, sizeof sql,
        "SELECT h.hall_id, h.name, h.province, h.city, h.district, h.revoked_at,"
        " s.acked_through, CAST(s.last_contact AS text),"
        " (SELECT max(seq) FROM records r WHERE r.hall_id = h.hall_id),"
        " (SELECT count(*) FROM records r WHERE r.hall_id = h.hall_id AND r.type = 'ticket'"
        "  AND substr(r.at, 1, 10) = CAST($5 AS text)),"
        " (SELECT avg(CAST(%s AS real)) FROM records r WHERE r.hall_id = h.hall_id"
        "  AND r.type = 'ticket' AND substr(r.at, 1, 10) = CAST($5 AS text)),"
        " (SELECT count(*) FROM records r WHERE r.hall_id = h.hall_id AND r.type = 'evaluation'"
        "  AND substr(r.at, 1, 10) = CAST($5 AS text)),"
        " (SELECT avg(CAST(%s AS real)) FROM records r WHERE r.hall_id = h.hall_id"
        "  AND r.type = 'evaluation' AND substr(r.at, 1, 10) = CAST($5 AS text)),"
        " (SELECT count(*) FROM records r WHERE r.hall_id = h.hall_id AND r.type = 'evaluation'"
        "  AND %s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM records f WHERE f.hall_id = h.hall_id"
        "  AND f.type = 'event' AND %s = 'follow_up' AND %s = r.uuid AND %s = 'closed')),"
        " (SELECT count(*) FROM records r WHERE r.hall_id = h.hall_id AND r.type = 'evaluation'"
        "  AND substr(%s, 1, 10) < CAST($5 AS text) AND NOT EXISTS (SELECT 1 FROM records f"
        "  WHERE f.hall_id = h.hall_id AND f.type = 'event' AND %s = 'follow_up' AND %s = r.uuid"
        "  AND %s = 'closed')),"
        " (SELECT count(*) FROM province_forward p WHERE p.hall_id = h.hall_id"
        "  AND p.sent_at IS NULL AND p.queued_at < CAST($6 AS bigint))"
        " FROM hall_registry h LEFT JOIN hall_sync s ON s.hall_id = h.hall_id" CENTRAL__REGION
        " ORDER BY h.province, h.city, h.district, h.hall_id",
        wait, level, due, kind, fu_eval, fu_state, due, kind, fu_eval, fu_state);
    if (n < 0 || (size_t)n >= sizeof sql) return HQ_ERR_NOMEM;
    /* The field format names `data` unqualified: inside each subquery it is that
     * subquery's own record (r's, or f's in the innermost). */
    return c->store->query(c, sql, 6, args, central__hall_row, list, err, sizeof err);
}

int central_manager_hall_ids(struct central *c, const struct central_manager *m, const char *hall,
                             cJSON *list)
{
    char err[256];
    const char *args[4] = {m->region.province, m->region.city, m->region.district,
                           hall ? hall : ""};
    return c->store->query(c,
                           "SELECT h.hall_id, h.name, h.province, h.city, h.district,"
                           " h.revoked_at FROM hall_registry h" CENTRAL__REGION
                           " ORDER BY h.province, h.city, h.district, h.hall_id",
                           4, args, central__hall_row, list, err, sizeof err);
}

static int central__day_row(void *ctx, int ncol, const char *const *vals)
{
    if (ncol < 4) return 1;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seq", strtod(vals[0] ? vals[0] : "0", NULL));
    cJSON_AddStringToObject(o, "type", vals[1] ? vals[1] : "");
    cJSON_AddStringToObject(o, "at", vals[2] ? vals[2] : "");
    cJSON *d = vals[3] ? cJSON_Parse(vals[3]) : NULL;
    cJSON_AddItemToObject(o, "data", d ? d : cJSON_CreateNull());
    cJSON_AddItemToArray(ctx, o);
    return 0;
}

int central_hall_day(struct central *c, const char *hall, cJSON *list)
{
    char err[256], today[16];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    const char *args[2] = {hall, today};
    /* At most the last 2,000 of the day: a page, not an export. */
    return c->store->query(c,
                           "SELECT seq, type, at, CAST(data AS text) FROM (SELECT seq, type, at,"
                           " data FROM records WHERE hall_id = $1 AND substr(at, 1, 10) ="
                           " CAST($2 AS text) ORDER BY seq DESC LIMIT 2000) d ORDER BY seq",
                           2, args, central__day_row, list, err, sizeof err);
}

/* ---- /metrics ---- */

struct central__mbuf {
    char *p;
    size_t len, cap;
    time_t now;
};

static void central__mprintf(struct central__mbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void central__mprintf(struct central__mbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = b->p ? vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 8192;
        char *np = realloc(b->p, cap);
        if (!np) return;
        b->p = np;
        b->cap = cap;
    }
}

/* "2026-12-07 14:36:51.12+00" (PostgreSQL, TimeZone UTC) or RFC 3339 UTC. */
static bool central__parse_utc(const char *s, time_t *t)
{
    struct tm tm = {0};
    const char *e = s ? strptime(s, "%Y-%m-%d %H:%M:%S", &tm) : NULL;
    if (!e && s) e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!e) return false;
    *t = timegm(&tm);
    return true;
}

static int central__metric_row(void *ctx, int ncol, const char *const *vals)
{
    struct central__mbuf *b = ctx;
    if (ncol < 4 || !vals[0]) return 0;
    long long acked = vals[1] ? strtoll(vals[1], NULL, 10) : 0;
    long long max = vals[3] ? strtoll(vals[3], NULL, 10) : acked;
    central__mprintf(b, "hallq_central_hall_acked_through{hall=\"%s\"} %lld\n", vals[0], acked);
    central__mprintf(b, "hallq_central_hall_backlog{hall=\"%s\"} %lld\n", vals[0],
                     max > acked ? max - acked : 0);
    time_t t;
    if (central__parse_utc(vals[2], &t))
        central__mprintf(b, "hallq_central_hall_lag_seconds{hall=\"%s\"} %lld\n", vals[0],
                         (long long)(b->now - t));
    return 0;
}

char *central_metrics(struct central *c)
{
    struct central__mbuf b = {.now = time(NULL)};
    char err[256];
    central__mprintf(&b,
                     "# HELP hallq_central_records_received_total Records in batches this "
                     "receiver accepted (resends included).\n"
                     "# TYPE hallq_central_records_received_total counter\n"
                     "hallq_central_records_received_total %llu\n"
                     "# HELP hallq_central_batches_total Batches this receiver accepted.\n"
                     "# TYPE hallq_central_batches_total counter\n"
                     "hallq_central_batches_total %llu\n"
                     "# HELP hallq_central_refused_total Requests this receiver refused "
                     "(invalid, seq conflict, token, revoked).\n"
                     "# TYPE hallq_central_refused_total counter\n"
                     "hallq_central_refused_total %llu\n"
                     "# HELP hallq_central_hall_backlog Highest seq received minus "
                     "acked_through, per hall (from the database: every receiver agrees).\n"
                     "# TYPE hallq_central_hall_backlog gauge\n"
                     "# HELP hallq_central_hall_lag_seconds Seconds since the hall's last "
                     "batch (PostgreSQL store).\n"
                     "# TYPE hallq_central_hall_lag_seconds gauge\n"
                     "# TYPE hallq_central_hall_acked_through gauge\n",
                     (unsigned long long)__atomic_load_n(&c->received, __ATOMIC_RELAXED),
                     (unsigned long long)__atomic_load_n(&c->batches, __ATOMIC_RELAXED),
                     (unsigned long long)__atomic_load_n(&c->refused, __ATOMIC_RELAXED));
    if (c->store->query(c,
                        "SELECT s.hall_id, s.acked_through, CAST(s.last_contact AS text),"
                        " (SELECT max(seq) FROM records r WHERE r.hall_id = s.hall_id)"
                        " FROM hall_sync s ORDER BY s.hall_id",
                        0, NULL, central__metric_row, &b, err, sizeof err)) {
        free(b.p);
        return NULL;
    }
    unsigned long long stored, built;
    central_figures_counts(&stored, &built);
    central__mprintf(&b,
                     "# HELP hallq_central_figure_days_stored_total Hall-days of period figures "
                     "read from the stored day rows (hall_fig_days).\n"
                     "# TYPE hallq_central_figure_days_stored_total counter\n"
                     "hallq_central_figure_days_stored_total %llu\n"
                     "# HELP hallq_central_figure_days_built_total Hall-days of period figures "
                     "built from the records (firmware/figures.c).\n"
                     "# TYPE hallq_central_figure_days_built_total counter\n"
                     "hallq_central_figure_days_built_total %llu\n",
                     stored, built);
    char *fw = central_province_metrics(c, c->province);
    if (!fw) {
        free(b.p);
        return NULL;
    }
    central__mprintf(&b, "%s", fw);
    free(fw);
    return b.p;
}
