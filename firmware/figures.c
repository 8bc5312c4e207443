/*
 * figures.c — every report figure of the hall, defined once (figures.h).
 *
 * A day is built in one pass over its raw rows, in C rather than in one
 * large SQL statement because attendance and 空岗 are interval arithmetic
 * over the event log (who was signed in where, paused, busy, while whom
 * waited), which SQL says badly. The rows it writes are additive (counts,
 * sums, maxima, histograms), so any period is the sum of its days.
 */
#include "figures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"

/* ------------------------------------------------------------ the columns */

/* The additive numbers of a rollup row. Names are the fig_day columns;
 * the ones ending in "_max" add up as a maximum, the others as a sum. */
enum {
    FV_ARRIVALS,
    FV_SERVED,
    FV_NO_SHOW,
    FV_CANCELLED,
    FV_TRANSFERRED,
    FV_REQUEUED,
    FV_WAIT_N,
    FV_WAIT_SUM,
    FV_WAIT_MAX,
    FV_WAIT_OVER,
    FV_HANDLE_N,
    FV_HANDLE_SUM,
    FV_HANDLE_MAX,
    FV_HANDLE_OVER,
    FV_WALK_N,
    FV_WALK_SUM,
    FV_R1,
    FV_R2,
    FV_R3,
    FV_R4,
    FV_R5,
    FV_BAD_OPEN,
    FV_BAD_DONE,
    FV_SIGNED_S,
    FV_PAUSE_S,
    FV_IDLE_S,
    FV_ABSENCE_S,
    FV_FAULT_S,
    FV_EXCL_TICKETS,
    FV_EXCL_WAITS,
    FV_APPEAL_PENDING,
    FV_APPEAL_UPHELD,
    FV__COUNT
};

static const char *const fig__cols[] = {"arrivals",
                                        "served",
                                        "no_show",
                                        "cancelled",
                                        "transferred",
                                        "requeued",
                                        "wait_n",
                                        "wait_sum",
                                        "wait_max",
                                        "wait_over",
                                        "handle_n",
                                        "handle_sum",
                                        "handle_max",
                                        "handle_over",
                                        "walk_n",
                                        "walk_sum",
                                        "r1",
                                        "r2",
                                        "r3",
                                        "r4",
                                        "r5",
                                        "bad_open",
                                        "bad_done",
                                        "signed_s",
                                        "pause_s",
                                        "idle_s",
                                        "absence_s",
                                        "fault_s",
                                        "excluded_tickets",
                                        "excluded_waits",
                                        "appeal_pending",
                                        "appeal_upheld"};

_Static_assert(sizeof fig__cols / sizeof fig__cols[0] == FV__COUNT, "a name for every column");

static const char *const fig__scopes[HQ_FIG__COUNT] = {"hall", "service", "window", "clerk"};

const char *hq_fig_scope_name(int scope)
{
    return scope >= 0 && scope < HQ_FIG__COUNT ? fig__scopes[scope] : "unknown";
}

int hq_fig_scope_from(const char *name)
{
    for (int i = 0; name && i < HQ_FIG__COUNT; i++)
        if (strcmp(name, fig__scopes[i]) == 0) return i;
    return -1;
}

static bool fig__is_max(int col)
{
    return col == FV_WAIT_MAX || col == FV_HANDLE_MAX;
}

struct fig_acc {
    int scope;
    char key[24];
    int64_t v[FV__COUNT];
    uint32_t arr_h[24], srv_h[24];
    uint32_t wait_hist[HQ_FIG_BUCKETS], handle_hist[HQ_FIG_BUCKETS];
    cJSON *pause_by; /* {"reason": seconds} */
    /* report only */
    uint32_t arr_wd[7], srv_wd[7];
    uint32_t days;
};

struct fig_set {
    struct fig_acc *a;
    size_t n, cap;
    size_t last; /* the last one found */
};

/* Room for `extra` more without moving the array: a caller holding
 * pointers from fig__acc() must reserve before it takes them, since adding
 * one may realloc. */
static bool fig__reserve(struct fig_set *s, size_t extra)
{
    if (s->n + extra <= s->cap) return true;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < s->n + extra)
        cap *= 2;
    struct fig_acc *a = realloc(s->a, cap * sizeof *a);
    if (!a) return false;
    s->a = a;
    s->cap = cap;
    return true;
}

static struct fig_acc *fig__acc(struct fig_set *s, int scope, const char *key)
{
    /* rows of consecutive days come in the same key order: try the one
     * after the last found first */
    for (size_t k = 0; k < s->n; k++) {
        size_t i = (s->last + 1 + k) % s->n;
        if (s->a[i].scope == scope && strcmp(s->a[i].key, key) == 0) {
            s->last = i;
            return &s->a[i];
        }
    }
    if (!fig__reserve(s, 1)) return NULL;
    s->last = s->n;
    struct fig_acc *x = &s->a[s->n++];
    memset(x, 0, sizeof *x);
    x->scope = scope;
    snprintf(x->key, sizeof x->key, "%s", key);
    return x;
}

static void fig__set_free(struct fig_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        cJSON_Delete(s->a[i].pause_by);
    free(s->a);
    memset(s, 0, sizeof *s);
}

int hq_fig_bucket(int64_t s)
{
    if (s < 0) s = 0;
    int64_t m = s / 60;
    if (m < 40) return (int)m;
    int64_t b = 40 + (m - 40) / 5;
    return b >= HQ_FIG_BUCKETS - 1 ? HQ_FIG_BUCKETS - 1 : (int)b;
}

static int64_t fig__bucket_top(int b)
{
    if (b < 40) return (int64_t)(b + 1) * 60;
    return (40 + (int64_t)(b - 39) * 5) * 60;
}

int64_t hq_fig_percentile(const uint32_t *hist, double p, int64_t max)
{
    uint64_t n = 0;
    for (int i = 0; i < HQ_FIG_BUCKETS; i++)
        n += hist[i];
    if (!n) return -1;
    uint64_t want = (uint64_t)ceil(p * (double)n), cum = 0;
    if (want < 1) want = 1;
    for (int i = 0; i < HQ_FIG_BUCKETS; i++) {
        cum += hist[i];
        if (cum >= want) {
            if (i == HQ_FIG_BUCKETS - 1) return max;
            int64_t top = fig__bucket_top(i);
            return top < max ? top : max;
        }
    }
    return max;
}

/* ---------------------------------------------------------------- schema */

int hq_fig_schema(sqlite3 *db, char *err, size_t errlen)
{
    char sql[4096];
    size_t k = (size_t)snprintf(sql, sizeof sql,
                                "CREATE TABLE IF NOT EXISTS fig_day(scope TEXT NOT NULL,"
                                " day INTEGER NOT NULL, key TEXT NOT NULL");
    for (int i = 0; i < FV__COUNT; i++)
        k += (size_t)snprintf(sql + k, sizeof sql - k, ", %s INTEGER NOT NULL DEFAULT 0",
                              fig__cols[i]);
    snprintf(sql + k, sizeof sql - k,
             ", arr_h BLOB, srv_h BLOB, wait_hist BLOB, handle_hist BLOB, pause_by TEXT,"
             " built_at INTEGER NOT NULL, PRIMARY KEY(scope, day, key)) WITHOUT ROWID;"
             /* Managers' exclusions (kind 'absence', 'test', 'fault'); a row is
              * never deleted, only revoked, so a disputed 考核 can be traced. */
             "CREATE TABLE IF NOT EXISTS fig_exclusions(id INTEGER PRIMARY KEY,"
             " kind TEXT NOT NULL, staff TEXT, window INTEGER, ticket TEXT,"
             " from_at INTEGER NOT NULL, to_at INTEGER NOT NULL, reason TEXT NOT NULL,"
             " note TEXT, created_by TEXT, created_at INTEGER NOT NULL,"
             " revoked_at INTEGER);");
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "creating the report tables: %s", msg ? msg : "?");
        sqlite3_free(msg);
        return HQ_ERR_DB;
    }
    return HQ_OK;
}

/* ------------------------------------------------------------- intervals */

struct fig_iv {
    int64_t a, b;
};

static int fig__iv_cmp(const void *x, const void *y)
{
    const struct fig_iv *p = x, *q = y;
    return p->a < q->a ? -1 : p->a > q->a ? 1 : 0;
}

/* Sort and merge in place; returns the new count. */
static size_t fig__merge(struct fig_iv *v, size_t n)
{
    if (!n) return 0;
    qsort(v, n, sizeof *v, fig__iv_cmp);
    size_t o = 0;
    for (size_t i = 1; i < n; i++) {
        if (v[i].a <= v[o].b) {
            if (v[i].b > v[o].b) v[o].b = v[i].b;
        } else {
            v[++o] = v[i];
        }
    }
    return o + 1;
}

/* Length of [a, b) covered by the merged list v. */
static int64_t fig__covered(const struct fig_iv *v, size_t n, int64_t a, int64_t b)
{
    int64_t t = 0;
    for (size_t i = 0; i < n && v[i].a < b; i++) {
        int64_t x = v[i].a > a ? v[i].a : a, y = v[i].b < b ? v[i].b : b;
        if (y > x) t += y - x;
    }
    return t;
}

/* ---------------------------------------------------------------- a day */

struct fig_excl {
    char kind[12];
    char staff[16];
    int window; /* 0: all */
    char ticket[40];
    int64_t a, b;
};

struct fig_ticket {
    int service;  /* index, -1 unknown */
    int64_t a, b; /* waiting */
};

struct fig_seg { /* a stretch a window was signed in, not paused, not busy */
    int window;
    char staff[16];
    uint64_t mask; /* the window's services then */
    int64_t a, b;
};

struct fig_win {
    int number;
    bool on, paused, busy;
    char staff[16];
    char reason[32];
    uint64_t mask;
    int64_t since;
};

struct fig_day_ctx {
    const struct hq_engine_cfg *c;
    struct fig_set set;
    struct fig_excl *ex;
    size_t nex;
    struct fig_ticket *tk;
    size_t ntk, captk;
    struct fig_seg *seg;
    size_t nseg, capseg;
    struct fig_win *win;
    size_t nwin;
};

static int fig__service_index(const struct hq_engine_cfg *c, const char *code)
{
    for (size_t i = 0; code && i < c->n_services; i++)
        if (strcmp(c->services[i].code, code) == 0) return (int)i;
    return -1;
}

static bool fig__is_test(const struct fig_day_ctx *x, const char *uuid, const char *label)
{
    for (size_t i = 0; i < x->nex; i++) {
        const struct fig_excl *e = &x->ex[i];
        if (strcmp(e->kind, "test") || !e->ticket[0]) continue;
        if ((uuid && strcmp(e->ticket, uuid) == 0) || (label && strcmp(e->ticket, label) == 0))
            return true;
    }
    return false;
}

static bool fig__in_fault(const struct fig_day_ctx *x, int window, int64_t t)
{
    for (size_t i = 0; i < x->nex; i++) {
        const struct fig_excl *e = &x->ex[i];
        if (strcmp(e->kind, "fault") == 0 && (e->window == 0 || e->window == window) && t >= e->a &&
            t < e->b)
            return true;
    }
    return false;
}

/* The accumulators a row adds to: hall, service, window, clerk (NULL where
 * the row has none). */
static void fig__targets(struct fig_day_ctx *x, struct fig_acc *t[4], const char *service,
                         int window, const char *staff)
{
    char k[24];
    if (!fig__reserve(&x->set, 4)) {
        t[0] = t[1] = t[2] = t[3] = NULL;
        return;
    }
    t[0] = fig__acc(&x->set, HQ_FIG_HALL, "hall");
    t[1] = service && *service ? fig__acc(&x->set, HQ_FIG_SERVICE, service) : NULL;
    snprintf(k, sizeof k, "%d", window);
    t[2] = window > 0 ? fig__acc(&x->set, HQ_FIG_WINDOW, k) : NULL;
    t[3] = staff && *staff ? fig__acc(&x->set, HQ_FIG_CLERK, staff) : NULL;
}

#define FIG_EACH(t, i)                                                                             \
    for (int i = 0; i < 4; i++)                                                                    \
        if (t[i])

static const char *fig__col(sqlite3_stmt *q, int i)
{
    return (const char *)sqlite3_column_text(q, i);
}

static int fig__load_exclusions(sqlite3 *db, struct fig_day_ctx *x, int64_t t0, int64_t t1)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT kind, staff, window, ticket, from_at, to_at FROM fig_exclusions"
                           " WHERE revoked_at IS NULL AND to_at > ? AND from_at < ?",
                           -1, &q, NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    sqlite3_bind_int64(q, 1, t0);
    sqlite3_bind_int64(q, 2, t1);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct fig_excl *n = realloc(x->ex, (x->nex + 1) * sizeof *n);
        if (!n) break;
        x->ex = n;
        struct fig_excl *e = &x->ex[x->nex++];
        memset(e, 0, sizeof *e);
        snprintf(e->kind, sizeof e->kind, "%s", fig__col(q, 0) ? fig__col(q, 0) : "");
        snprintf(e->staff, sizeof e->staff, "%s", fig__col(q, 1) ? fig__col(q, 1) : "");
        e->window = sqlite3_column_int(q, 2);
        snprintf(e->ticket, sizeof e->ticket, "%s", fig__col(q, 3) ? fig__col(q, 3) : "");
        e->a = sqlite3_column_int64(q, 4) > t0 ? sqlite3_column_int64(q, 4) : t0;
        e->b = sqlite3_column_int64(q, 5) < t1 ? sqlite3_column_int64(q, 5) : t1;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? HQ_OK : HQ_ERR_DB;
}

static int fig__tickets(sqlite3 *db, struct fig_day_ctx *x, const struct hq_fig_opts *o,
                        int32_t day, int64_t tend)
{
    const struct hq_engine_cfg *c = x->c;
    sqlite3_stmt *q = NULL;
    /* id = day << 20 | index (store.c): a rowid range, no index needed */
    if (sqlite3_prepare_v2(db,
                           "SELECT uuid, label, service, orig_service, status, window, staff,"
                           " issued_at, called_at, served_at, finished_at FROM tickets"
                           " WHERE id >= ? AND id < ? AND day = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    sqlite3_bind_int64(q, 1, (int64_t)day << 20);
    sqlite3_bind_int64(q, 2, (int64_t)(day + 1) << 20);
    sqlite3_bind_int(q, 3, day);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *uuid = fig__col(q, 0), *label = fig__col(q, 1), *svc = fig__col(q, 2),
                   *orig = fig__col(q, 3), *status = fig__col(q, 4), *staff = fig__col(q, 6);
        int window = sqlite3_column_int(q, 5);
        int64_t issued = sqlite3_column_int64(q, 7);
        bool has_called = sqlite3_column_type(q, 8) != SQLITE_NULL;
        bool has_served = sqlite3_column_type(q, 9) != SQLITE_NULL;
        bool has_fin = sqlite3_column_type(q, 10) != SQLITE_NULL;
        int64_t called = sqlite3_column_int64(q, 8), served = sqlite3_column_int64(q, 9),
                fin = sqlite3_column_int64(q, 10);
        struct fig_acc *t[4];
        if (fig__is_test(x, uuid, label)) {
            fig__targets(x, t, orig, window, staff);
            FIG_EACH(t, i) t[i]->v[FV_EXCL_TICKETS]++;
            continue;
        }
        /* the waiting stretch, for 空岗 */
        if (x->ntk == x->captk) {
            size_t cap = x->captk ? x->captk * 2 : 256;
            struct fig_ticket *n = realloc(x->tk, cap * sizeof *n);
            if (!n) {
                sqlite3_finalize(q);
                return HQ_ERR_NOMEM;
            }
            x->tk = n;
            x->captk = cap;
        }
        struct fig_ticket *w = &x->tk[x->ntk++];
        w->service = fig__service_index(c, svc);
        w->a = issued;
        w->b = has_called ? called : has_fin ? fin : tend;
        if (w->b < w->a) w->b = w->a;

        int64_t lh = ((issued + c->utc_offset_s) % 86400 + 86400) % 86400 / 3600;
        /* arrivals count where the person asked to go: the original service */
        fig__targets(x, t, orig, 0, NULL);
        FIG_EACH(t, i)
        {
            t[i]->v[FV_ARRIVALS]++, t[i]->arr_h[lh]++;
        }

        struct fig_acc *all[4];
        fig__targets(x, all, svc, window, staff);
        if (strcmp(status, "cancelled") == 0) FIG_EACH(all, i) all[i]->v[FV_CANCELLED]++;
        if (has_called) {
            int64_t wt = called - issued;
            if (wt < 0) wt = 0;
            if (fig__in_fault(x, 0, issued)) {
                FIG_EACH(all, i) all[i]->v[FV_EXCL_WAITS]++;
            } else {
                int b = hq_fig_bucket(wt);
                FIG_EACH(all, i)
                {
                    all[i]->v[FV_WAIT_N]++;
                    all[i]->v[FV_WAIT_SUM] += wt;
                    if (wt > all[i]->v[FV_WAIT_MAX]) all[i]->v[FV_WAIT_MAX] = wt;
                    if (wt > (int64_t)o->wait_threshold_s) all[i]->v[FV_WAIT_OVER]++;
                    all[i]->wait_hist[b]++;
                }
            }
        }
        if (has_called && has_served) {
            int64_t wk = served - called;
            if (wk < 0) wk = 0;
            FIG_EACH(all, i)
            {
                all[i]->v[FV_WALK_N]++, all[i]->v[FV_WALK_SUM] += wk;
            }
        }
        if (strcmp(status, "done") == 0 && has_fin) {
            int64_t start = has_served ? served : has_called ? called : fin;
            int64_t ht = fin - start;
            if (ht < 0) ht = 0;
            int si = fig__service_index(c, svc);
            uint32_t limit = si >= 0 ? c->services[si].default_handle_s : 0;
            int b = hq_fig_bucket(ht);
            int64_t fh = ((fin + c->utc_offset_s) % 86400 + 86400) % 86400 / 3600;
            FIG_EACH(all, i)
            {
                all[i]->v[FV_SERVED]++;
                all[i]->srv_h[fh]++;
                all[i]->v[FV_HANDLE_N]++;
                all[i]->v[FV_HANDLE_SUM] += ht;
                if (ht > all[i]->v[FV_HANDLE_MAX]) all[i]->v[FV_HANDLE_MAX] = ht;
                if (limit && ht > (int64_t)limit) all[i]->v[FV_HANDLE_OVER]++;
                all[i]->handle_hist[b]++;
            }
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? HQ_OK : HQ_ERR_DB;
}

static bool fig__has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *q = NULL;
    bool yes = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", -1, &q,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
        yes = sqlite3_step(q) == SQLITE_ROW;
    }
    sqlite3_finalize(q);
    return yes;
}

static int fig__ratings(sqlite3 *db, struct fig_day_ctx *x, int32_t day)
{
    sqlite3_stmt *q = NULL;
    /* 申诉 (appeals, the call-back module's eval_appeals when it runs): an
     * upheld appeal takes the rating out of the figures, as 满意率 there
     * does; a pending one is counted and shown as pending */
    const char *sql = fig__has_table(db, "eval_appeals")
                          ? "SELECT ticket, label, service, window, staff, level, follow_up_state,"
                            " (SELECT state FROM eval_appeals a WHERE a.evaluation = e.uuid)"
                            " FROM evaluations e WHERE day = ?"
                          : "SELECT ticket, label, service, window, staff, level, follow_up_state,"
                            " NULL FROM evaluations WHERE day = ?";
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) return HQ_ERR_DB;
    sqlite3_bind_int(q, 1, day);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (fig__is_test(x, fig__col(q, 0), fig__col(q, 1))) continue;
        int level = sqlite3_column_int(q, 5);
        if (level < 1 || level > 5) continue;
        const char *fu = fig__col(q, 6), *appeal = fig__col(q, 7);
        struct fig_acc *t[4];
        fig__targets(x, t, fig__col(q, 2), sqlite3_column_int(q, 3), fig__col(q, 4));
        if (appeal && strcmp(appeal, "upheld") == 0) {
            FIG_EACH(t, i) t[i]->v[FV_APPEAL_UPHELD]++;
            continue;
        }
        FIG_EACH(t, i)
        {
            if (appeal && strcmp(appeal, "pending") == 0) t[i]->v[FV_APPEAL_PENDING]++;
            t[i]->v[FV_R1 + level - 1]++;
            if (level <= 2) {
                if (fu && strcmp(fu, "closed") == 0)
                    t[i]->v[FV_BAD_DONE]++;
                else
                    t[i]->v[FV_BAD_OPEN]++;
            }
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? HQ_OK : HQ_ERR_DB;
}

static struct fig_win *fig__win(struct fig_day_ctx *x, int number)
{
    for (size_t i = 0; i < x->nwin; i++)
        if (x->win[i].number == number) return &x->win[i];
    return NULL;
}

/* A window the configuration does not have: a temporary one opened while
 * the hall ran (its services come with its window_open event). */
static struct fig_win *fig__win_add(struct fig_day_ctx *x, int number, int64_t at)
{
    struct fig_win *n = realloc(x->win, (x->nwin + 1) * sizeof *n);
    if (!n) return NULL;
    x->win = n;
    struct fig_win *w = &x->win[x->nwin++];
    memset(w, 0, sizeof *w);
    w->number = number;
    w->since = at;
    return w;
}

static void fig__pause_add(struct fig_acc *a, const char *reason, int64_t s)
{
    if (!a->pause_by) a->pause_by = cJSON_CreateObject();
    cJSON *n = cJSON_GetObjectItemCaseSensitive(a->pause_by, reason);
    if (n)
        cJSON_SetNumberValue(n, n->valuedouble + (double)s);
    else
        cJSON_AddNumberToObject(a->pause_by, reason, (double)s);
}

/* Account a window's state from w->since to t. */
static int fig__advance(struct fig_day_ctx *x, struct fig_win *w, int64_t t)
{
    if (t <= w->since) return HQ_OK;
    if (w->on) {
        struct fig_acc *tg[4];
        fig__targets(x, tg, NULL, w->number, w->staff);
        int64_t d = t - w->since;
        FIG_EACH(tg, i) tg[i]->v[FV_SIGNED_S] += d;
        if (w->paused) {
            FIG_EACH(tg, i)
            {
                tg[i]->v[FV_PAUSE_S] += d;
                fig__pause_add(tg[i], w->reason[0] ? w->reason : "other", d);
            }
        } else if (!w->busy) {
            if (x->nseg == x->capseg) {
                size_t cap = x->capseg ? x->capseg * 2 : 64;
                struct fig_seg *n = realloc(x->seg, cap * sizeof *n);
                if (!n) return HQ_ERR_NOMEM;
                x->seg = n;
                x->capseg = cap;
            }
            struct fig_seg *s = &x->seg[x->nseg++];
            s->window = w->number;
            snprintf(s->staff, sizeof s->staff, "%s", w->staff);
            s->mask = w->mask;
            s->a = w->since;
            s->b = t;
        }
    }
    w->since = t;
    return HQ_OK;
}

/* The first event-log id at or after t: ids grow with time, so a bisection
 * over the rowid finds it without an index on `at` (which every command
 * would pay for). */
#define FIG_ID_MARGIN 1000

static int64_t fig__event_id_at(sqlite3 *db, int64_t t)
{
    sqlite3_stmt *q = NULL;
    int64_t lo = 0, hi = 0;
    /* two ordered lookups: min() and max() together scan the table */
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT id FROM events ORDER BY id LIMIT 1),"
                           " (SELECT id FROM events ORDER BY id DESC LIMIT 1)",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        lo = sqlite3_column_int64(q, 0);
        hi = sqlite3_column_int64(q, 1) + 1;
    }
    sqlite3_finalize(q);
    if (sqlite3_prepare_v2(db, "SELECT id, at FROM events WHERE id >= ? ORDER BY id LIMIT 1", -1,
                           &q, NULL) != SQLITE_OK)
        return lo;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, mid);
        if (sqlite3_step(q) != SQLITE_ROW) {
            hi = mid;
            continue;
        }
        int64_t id = sqlite3_column_int64(q, 0), at = sqlite3_column_int64(q, 1);
        if (at < t)
            lo = id + 1;
        else
            hi = mid;
    }
    sqlite3_finalize(q);
    return lo;
}

static uint64_t fig__mask_of(const struct hq_engine_cfg *c, const cJSON *arr)
{
    uint64_t m = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        int si = cJSON_IsString(it) ? fig__service_index(c, it->valuestring) : -1;
        if (si >= 0) m |= 1ull << si;
    }
    return m;
}

static int fig__events(sqlite3 *db, struct fig_day_ctx *x, int64_t t0, int64_t tend)
{
    const struct hq_engine_cfg *c = x->c;
    x->nwin = c->n_windows;
    x->win = calloc(c->n_windows ? c->n_windows : 1, sizeof *x->win);
    if (!x->win) return HQ_ERR_NOMEM;
    for (size_t i = 0; i < c->n_windows; i++) {
        struct fig_win *w = &x->win[i];
        w->number = c->windows[i].number;
        for (int k = 0; k < c->windows[i].n_services; k++)
            w->mask |= 1ull << c->windows[i].services[k];
        w->since = t0;
    }
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT at, kind, window, staff, ticket, label, data FROM events"
                           " WHERE id >= ? AND id < ? AND at >= ? AND at < ? ORDER BY at, id",
                           -1, &q, NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    /* a clock step back may have put a few rows out of order: a margin of
     * ids on either side, the query filters on `at` anyway */
    int64_t first = fig__event_id_at(db, t0) - FIG_ID_MARGIN,
            last = fig__event_id_at(db, tend) + FIG_ID_MARGIN;
    sqlite3_bind_int64(q, 1, first);
    sqlite3_bind_int64(q, 2, last);
    sqlite3_bind_int64(q, 3, t0);
    sqlite3_bind_int64(q, 4, tend);
    int rc, err = HQ_OK;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t at = sqlite3_column_int64(q, 0);
        const char *kind = fig__col(q, 1), *staff = fig__col(q, 3);
        int window = sqlite3_column_int(q, 2);
        struct fig_win *w = window ? fig__win(x, window) : NULL;
        if (!w && window > 0 && window < 65536) w = fig__win_add(x, window, at);
        cJSON *data = NULL;
        /* the counted acts */
        bool nos = strcmp(kind, "no_show") == 0, rq = strcmp(kind, "requeue") == 0,
             tr = strcmp(kind, "transfer") == 0;
        if ((nos || rq || tr) && !fig__is_test(x, fig__col(q, 4), fig__col(q, 5))) {
            data = cJSON_Parse(fig__col(q, 6) ? fig__col(q, 6) : "{}");
            const cJSON *sv = cJSON_GetObjectItemCaseSensitive(data, "service");
            struct fig_acc *t[4];
            fig__targets(x, t, cJSON_IsString(sv) ? sv->valuestring : NULL, window, staff);
            int col = nos ? FV_NO_SHOW : rq ? FV_REQUEUED : FV_TRANSFERRED;
            FIG_EACH(t, i) t[i]->v[col]++;
        }
        bool svc_ev = strcmp(kind, "window_services") == 0 || strcmp(kind, "window_open") == 0;
        if (svc_ev) {
            /* run-time change of a window's services (hqd_overrides.c), or a
             * window opened: {"services":["A",...]} */
            if (!data) data = cJSON_Parse(fig__col(q, 6) ? fig__col(q, 6) : "{}");
            if (w && (err = fig__advance(x, w, at))) break;
            const cJSON *arr = cJSON_GetObjectItemCaseSensitive(data, "services");
            if (w && cJSON_IsArray(arr)) w->mask = fig__mask_of(c, arr);
        }
        if (w && !svc_ev) {
            if ((err = fig__advance(x, w, at))) break;
            if (strcmp(kind, "login") == 0) {
                w->on = true;
                w->paused = w->busy = false;
                snprintf(w->staff, sizeof w->staff, "%s", staff ? staff : "");
            } else if (strcmp(kind, "logout") == 0 || strcmp(kind, "window_close") == 0) {
                w->on = w->paused = w->busy = false;
            } else if (strcmp(kind, "pause") == 0) {
                w->paused = true;
                if (!data) data = cJSON_Parse(fig__col(q, 6) ? fig__col(q, 6) : "{}");
                const cJSON *r = cJSON_GetObjectItemCaseSensitive(data, "reason");
                snprintf(w->reason, sizeof w->reason, "%s",
                         cJSON_IsString(r) && *r->valuestring ? r->valuestring : "other");
            } else if (strcmp(kind, "resume") == 0) {
                w->paused = false;
            } else if (strcmp(kind, "call") == 0 || strcmp(kind, "call_back") == 0 ||
                       strcmp(kind, "start") == 0 || strcmp(kind, "recall") == 0) {
                w->busy = true;
            } else if (nos || rq || tr || strcmp(kind, "finish") == 0 ||
                       strcmp(kind, "park") == 0) {
                w->busy = false;
            }
        }
        cJSON_Delete(data);
    }
    sqlite3_finalize(q);
    if (err) return err;
    if (rc != SQLITE_DONE) return HQ_ERR_DB;
    for (size_t i = 0; i < x->nwin; i++)
        if ((err = fig__advance(x, &x->win[i], tend))) return err;
    return HQ_OK;
}

/* Length of [a, b) covered by the merged list v, starting from the first
 * interval that can overlap (a bisection: the list is sorted and disjoint). */
static int64_t fig__covered_from(const struct fig_iv *v, size_t n, int64_t a, int64_t b)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].b <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return fig__covered(v + lo, n - lo, a, b);
}

/* The merged waiting stretches of the tickets of a set of services. */
struct fig_union {
    uint64_t mask;
    struct fig_iv *v;
    size_t n;
};

/* 空岗: the idle stretches of each window while a person of one of its
 * services (as they were then) waited, minus faults and approved absences. */
static int fig__idle(struct fig_day_ctx *x)
{
    struct fig_union *u = NULL;
    size_t nu = 0;
    int rc = HQ_OK;
    struct fig_iv *e = malloc((x->nex + 1) * sizeof *e);
    if (!e) return HQ_ERR_NOMEM;
    for (size_t s = 0; s < x->nseg && !rc; s++) {
        struct fig_seg *g = &x->seg[s];
        struct fig_union *w = NULL;
        for (size_t i = 0; i < nu; i++)
            if (u[i].mask == g->mask) w = &u[i];
        if (!w) {
            struct fig_union *nn = realloc(u, (nu + 1) * sizeof *u);
            struct fig_iv *v = malloc((x->ntk + 1) * sizeof *v);
            if (!nn || !v) {
                if (nn) u = nn;
                free(v);
                rc = HQ_ERR_NOMEM;
                break;
            }
            u = nn;
            w = &u[nu++];
            w->mask = g->mask;
            w->v = v;
            w->n = 0;
            for (size_t i = 0; i < x->ntk; i++) {
                const struct fig_ticket *t = &x->tk[i];
                if (t->service >= 0 && (g->mask >> t->service & 1) && t->b > t->a)
                    v[w->n++] = (struct fig_iv){t->a, t->b};
            }
            w->n = fig__merge(v, w->n);
        }
        /* excluded stretches: faults of this window or the hall, absences */
        size_t ne = 0;
        for (size_t i = 0; i < x->nex; i++) {
            const struct fig_excl *ex = &x->ex[i];
            if ((strcmp(ex->kind, "fault") == 0 && (ex->window == 0 || ex->window == g->window)) ||
                (strcmp(ex->kind, "absence") == 0 && strcmp(ex->staff, g->staff) == 0))
                e[ne++] = (struct fig_iv){ex->a, ex->b};
        }
        ne = fig__merge(e, ne);
        int64_t idle = fig__covered_from(w->v, w->n, g->a, g->b);
        /* minus the part of it inside an excluded stretch */
        for (size_t k = 0; k < ne; k++) {
            int64_t a = e[k].a > g->a ? e[k].a : g->a, b = e[k].b < g->b ? e[k].b : g->b;
            if (b > a) idle -= fig__covered_from(w->v, w->n, a, b);
        }
        if (idle <= 0) continue;
        struct fig_acc *t[4];
        fig__targets(x, t, NULL, g->window, g->staff);
        FIG_EACH(t, i) t[i]->v[FV_IDLE_S] += idle;
    }
    for (size_t i = 0; i < nu; i++)
        free(u[i].v);
    free(u);
    free(e);
    return rc;
}

static void fig__exclusion_totals(struct fig_day_ctx *x)
{
    for (size_t i = 0; i < x->nex; i++) {
        if (!fig__reserve(&x->set, 2)) return;
        struct fig_acc *hall = fig__acc(&x->set, HQ_FIG_HALL, "hall");
        const struct fig_excl *e = &x->ex[i];
        int64_t d = e->b - e->a;
        if (d <= 0) continue;
        if (strcmp(e->kind, "absence") == 0 && e->staff[0]) {
            struct fig_acc *a = fig__acc(&x->set, HQ_FIG_CLERK, e->staff);
            if (a) a->v[FV_ABSENCE_S] += d;
            if (hall) hall->v[FV_ABSENCE_S] += d;
        } else if (strcmp(e->kind, "fault") == 0) {
            if (hall) hall->v[FV_FAULT_S] += d;
            if (e->window) {
                char k[12];
                snprintf(k, sizeof k, "%d", e->window);
                struct fig_acc *a = fig__acc(&x->set, HQ_FIG_WINDOW, k);
                if (a) a->v[FV_FAULT_S] += d;
            }
        }
    }
}

static void fig__blob(sqlite3_stmt *s, int col, const uint32_t *v, int n)
{
    uint8_t b[HQ_FIG_BUCKETS * 4];
    for (int i = 0; i < n; i++) {
        b[i * 4] = (uint8_t)v[i];
        b[i * 4 + 1] = (uint8_t)(v[i] >> 8);
        b[i * 4 + 2] = (uint8_t)(v[i] >> 16);
        b[i * 4 + 3] = (uint8_t)(v[i] >> 24);
    }
    sqlite3_bind_blob(s, col, b, n * 4, SQLITE_TRANSIENT);
}

static void fig__unblob(sqlite3_stmt *q, int col, uint32_t *v, int n)
{
    const uint8_t *b = sqlite3_column_blob(q, col);
    int len = sqlite3_column_bytes(q, col);
    for (int i = 0; b && i < n && (i + 1) * 4 <= len; i++)
        v[i] += (uint32_t)b[i * 4] | (uint32_t)b[i * 4 + 1] << 8 | (uint32_t)b[i * 4 + 2] << 16 |
                (uint32_t)b[i * 4 + 3] << 24;
}

static int fig__write(sqlite3 *db, const char *table, struct fig_day_ctx *x, int32_t day,
                      int64_t now)
{
    char sql[4096];
    size_t k = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s(scope, day, key", table);
    for (int i = 0; i < FV__COUNT; i++)
        k += (size_t)snprintf(sql + k, sizeof sql - k, ", %s", fig__cols[i]);
    k += (size_t)snprintf(sql + k, sizeof sql - k,
                          ", arr_h, srv_h, wait_hist, handle_hist, pause_by, built_at)"
                          " VALUES(?,?,?");
    for (int i = 0; i < FV__COUNT + 6; i++)
        k += (size_t)snprintf(sql + k, sizeof sql - k, ",?");
    snprintf(sql + k, sizeof sql - k, ")");
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) return HQ_ERR_DB;
    for (size_t r = 0; r < x->set.n; r++) {
        struct fig_acc *a = &x->set.a[r];
        int p = 1;
        sqlite3_bind_text(s, p++, fig__scopes[a->scope], -1, SQLITE_STATIC);
        sqlite3_bind_int(s, p++, day);
        sqlite3_bind_text(s, p++, a->key, -1, SQLITE_STATIC);
        for (int i = 0; i < FV__COUNT; i++)
            sqlite3_bind_int64(s, p++, a->v[i]);
        fig__blob(s, p++, a->arr_h, 24);
        fig__blob(s, p++, a->srv_h, 24);
        fig__blob(s, p++, a->wait_hist, HQ_FIG_BUCKETS);
        fig__blob(s, p++, a->handle_hist, HQ_FIG_BUCKETS);
        char *pb = a->pause_by ? cJSON_PrintUnformatted(a->pause_by) : NULL;
        if (pb)
            sqlite3_bind_text(s, p++, pb, -1, free);
        else
            sqlite3_bind_null(s, p++);
        sqlite3_bind_int64(s, p++, now);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) {
            sqlite3_finalize(s);
            return HQ_ERR_DB;
        }
    }
    sqlite3_finalize(s);
    return HQ_OK;
}

static int64_t fig__day_start(const struct hq_engine_cfg *c, int32_t day)
{
    return (int64_t)day * 86400 - c->utc_offset_s;
}

int hq_fig_day_rebuildable(sqlite3 *db, const struct hq_engine_cfg *c, int32_t day)
{
    /* the event log's retention purge left rows newer than the day's start
     * only: then attendance of that day is gone and its rollup must stay */
    sqlite3_stmt *q = NULL;
    int ok = 1;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='fig_events_purged_before'", -1,
                           &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        ok = sqlite3_column_int64(q, 0) <= fig__day_start(c, day);
    sqlite3_finalize(q);
    return ok;
}

int hq_fig_build_day(sqlite3 *db, const struct hq_engine_cfg *c, const struct hq_fig_opts *o,
                     int32_t day, int64_t now, const char *table, char *err, size_t errlen)
{
    struct fig_day_ctx x = {.c = c};
    int64_t t0 = fig__day_start(c, day), t1 = t0 + 86400;
    int64_t tend = now < t1 ? now : t1;
    if (tend < t0) tend = t0;
    int rc;
    char sql[128];
    if (strcmp(table, "fig_day") && strcmp(table, "temp.fig_live")) {
        snprintf(err, errlen, "unknown rollup table %s", table);
        return HQ_ERR_INVALID;
    }
    if (strcmp(table, "temp.fig_live") == 0) {
        char *msg = NULL;
        if (sqlite3_exec(db,
                         "CREATE TEMP TABLE IF NOT EXISTS fig_live AS SELECT * FROM fig_day"
                         " WHERE 0",
                         NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errlen, "live figures: %s", msg ? msg : "?");
            sqlite3_free(msg);
            return HQ_ERR_DB;
        }
    }
    fig__acc(&x.set, HQ_FIG_HALL, "hall"); /* a day with nothing still has its row */
    if ((rc = fig__load_exclusions(db, &x, t0, t1)) || (rc = fig__tickets(db, &x, o, day, tend)) ||
        (rc = fig__ratings(db, &x, day)) || (rc = fig__events(db, &x, t0, tend)) ||
        (rc = fig__idle(&x)))
        goto out;
    fig__exclusion_totals(&x);
    /* by the key's order (scope, day, key): never a scan of the table */
    snprintf(sql, sizeof sql,
             "DELETE FROM %s WHERE scope IN ('hall','service','window','clerk') AND day = %d",
             table, (int)day);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = HQ_ERR_DB;
        goto out;
    }
    rc = fig__write(db, table, &x, day, now);
out:
    if (rc) snprintf(err, errlen, "rolling up day %d: %s", (int)day, sqlite3_errmsg(db));
    fig__set_free(&x.set);
    free(x.ex);
    free(x.tk);
    free(x.seg);
    free(x.win);
    return rc;
}

int hq_fig_purge(sqlite3 *db, int32_t before)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "DELETE FROM fig_day WHERE day < ?", -1, &q, NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    sqlite3_bind_int(q, 1, before);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? HQ_OK : HQ_ERR_DB;
}

/* ------------------------------------------------------------- a report */

static int fig__read(sqlite3 *db, const char *table, int scope, int32_t from, int32_t to,
                     struct fig_set *set, struct fig_acc *total)
{
    char sql[4096];
    size_t k = (size_t)snprintf(sql, sizeof sql, "SELECT day, key");
    for (int i = 0; i < FV__COUNT; i++)
        k += (size_t)snprintf(sql + k, sizeof sql - k, ", %s", fig__cols[i]);
    snprintf(sql + k, sizeof sql - k,
             ", arr_h, srv_h, wait_hist, handle_hist, pause_by FROM %s"
             " WHERE scope = ? AND day >= ? AND day <= ?",
             table);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) return HQ_ERR_DB;
    sqlite3_bind_text(q, 1, fig__scopes[scope], -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, from);
    sqlite3_bind_int(q, 3, to);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int32_t day = sqlite3_column_int(q, 0);
        const char *key = fig__col(q, 1);
        struct fig_acc *tg[2] = {fig__acc(set, scope, key ? key : ""), total};
        int wd = (int)(((day + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
        const char *pbt = fig__col(q, 6 + FV__COUNT);
        cJSON *pb = pbt ? cJSON_Parse(pbt) : NULL;
        for (int j = 0; j < 2; j++) {
            struct fig_acc *a = tg[j];
            if (!a) continue;
            for (int i = 0; i < FV__COUNT; i++) {
                int64_t v = sqlite3_column_int64(q, 2 + i);
                if (fig__is_max(i))
                    a->v[i] = v > a->v[i] ? v : a->v[i];
                else
                    a->v[i] += v;
            }
            uint32_t h[24] = {0};
            fig__unblob(q, 2 + FV__COUNT, h, 24);
            for (int i = 0; i < 24; i++) {
                a->arr_h[i] += h[i];
                a->arr_wd[wd] += h[i];
            }
            memset(h, 0, sizeof h);
            fig__unblob(q, 3 + FV__COUNT, h, 24);
            for (int i = 0; i < 24; i++) {
                a->srv_h[i] += h[i];
                a->srv_wd[wd] += h[i];
            }
            fig__unblob(q, 4 + FV__COUNT, a->wait_hist, HQ_FIG_BUCKETS);
            fig__unblob(q, 5 + FV__COUNT, a->handle_hist, HQ_FIG_BUCKETS);
            cJSON *it;
            cJSON_ArrayForEach(it, pb)
            {
                if (cJSON_IsNumber(it)) fig__pause_add(a, it->string, (int64_t)it->valuedouble);
            }
            a->days++;
        }
        cJSON_Delete(pb);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? HQ_OK : HQ_ERR_DB;
}

static void fig__num_or_null(cJSON *o, const char *k, bool ok, double v)
{
    if (ok)
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static double fig__r(double v, int places)
{
    double m = pow(10, places);
    return round(v * m) / m;
}

static cJSON *fig__row_json(const struct hq_engine_cfg *c, const struct fig_acc *a)
{
    const int64_t *v = a->v;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "key", a->key);
    const char *name = a->key, *name_en = a->key;
    char buf[32];
    if (a->scope == HQ_FIG_SERVICE) {
        int si = fig__service_index(c, a->key);
        if (si >= 0) name = c->services[si].name, name_en = c->services[si].name_en;
    } else if (a->scope == HQ_FIG_WINDOW) {
        for (size_t i = 0; i < c->n_windows; i++)
            if (c->windows[i].number == atoi(a->key))
                name = c->windows[i].name, name_en = c->windows[i].name_en;
    } else if (a->scope == HQ_FIG_CLERK) {
        for (size_t i = 0; i < c->n_staff; i++)
            if (strcmp(c->staff[i].id, a->key) == 0) name = name_en = c->staff[i].name;
    } else {
        name = "全厅", name_en = "Hall";
    }
    (void)buf;
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "name_en", name_en);
    cJSON_AddNumberToObject(o, "days", a->days);
    cJSON_AddNumberToObject(o, "arrivals", (double)v[FV_ARRIVALS]);
    cJSON_AddNumberToObject(o, "served", (double)v[FV_SERVED]);
    cJSON_AddNumberToObject(o, "no_show", (double)v[FV_NO_SHOW]);
    cJSON_AddNumberToObject(o, "cancelled", (double)v[FV_CANCELLED]);
    cJSON_AddNumberToObject(o, "transferred", (double)v[FV_TRANSFERRED]);
    cJSON_AddNumberToObject(o, "requeued", (double)v[FV_REQUEUED]);

    cJSON *w = cJSON_AddObjectToObject(o, "wait");
    int64_t wn = v[FV_WAIT_N];
    cJSON_AddNumberToObject(w, "count", (double)wn);
    fig__num_or_null(w, "mean_s", wn, wn ? round((double)v[FV_WAIT_SUM] / (double)wn) : 0);
    fig__num_or_null(w, "p50_s", wn, (double)hq_fig_percentile(a->wait_hist, 0.5, v[FV_WAIT_MAX]));
    fig__num_or_null(w, "p90_s", wn, (double)hq_fig_percentile(a->wait_hist, 0.9, v[FV_WAIT_MAX]));
    fig__num_or_null(w, "max_s", wn, (double)v[FV_WAIT_MAX]);
    cJSON_AddNumberToObject(w, "over", (double)v[FV_WAIT_OVER]);
    fig__num_or_null(w, "over_share", wn, wn ? fig__r((double)v[FV_WAIT_OVER] / (double)wn, 4) : 0);

    cJSON *h = cJSON_AddObjectToObject(o, "handle");
    int64_t hn = v[FV_HANDLE_N];
    cJSON_AddNumberToObject(h, "count", (double)hn);
    fig__num_or_null(h, "mean_s", hn, hn ? round((double)v[FV_HANDLE_SUM] / (double)hn) : 0);
    fig__num_or_null(h, "p90_s", hn,
                     (double)hq_fig_percentile(a->handle_hist, 0.9, v[FV_HANDLE_MAX]));
    fig__num_or_null(h, "max_s", hn, (double)v[FV_HANDLE_MAX]);
    cJSON_AddNumberToObject(h, "over_limit", (double)v[FV_HANDLE_OVER]);
    fig__num_or_null(h, "over_limit_share", hn,
                     hn ? fig__r((double)v[FV_HANDLE_OVER] / (double)hn, 4) : 0);
    fig__num_or_null(o, "walk_mean_s", v[FV_WALK_N],
                     v[FV_WALK_N] ? round((double)v[FV_WALK_SUM] / (double)v[FV_WALK_N]) : 0);

    cJSON *r = cJSON_AddObjectToObject(o, "ratings");
    cJSON *lv = cJSON_AddObjectToObject(r, "levels");
    int64_t rn = 0, good = 0;
    for (int l = 1; l <= 5; l++) {
        char k[2] = {(char)('0' + l), 0};
        cJSON_AddNumberToObject(lv, k, (double)v[FV_R1 + l - 1]);
        rn += v[FV_R1 + l - 1];
        if (l >= 4) good += v[FV_R1 + l - 1];
    }
    cJSON_AddNumberToObject(r, "count", (double)rn);
    fig__num_or_null(r, "satisfaction", rn, rn ? fig__r((double)good / (double)rn, 4) : 0);
    cJSON_AddNumberToObject(r, "bad", (double)(v[FV_R1] + v[FV_R2]));
    cJSON_AddNumberToObject(r, "bad_open", (double)v[FV_BAD_OPEN]);
    cJSON_AddNumberToObject(r, "bad_closed", (double)v[FV_BAD_DONE]);
    cJSON_AddNumberToObject(r, "appeals_pending", (double)v[FV_APPEAL_PENDING]);
    /* upheld appeals (申诉成立): left out of every rating figure above */
    cJSON_AddNumberToObject(r, "appeals_upheld", (double)v[FV_APPEAL_UPHELD]);
    fig__num_or_null(r, "coverage", v[FV_SERVED],
                     v[FV_SERVED] ? fig__r((double)rn / (double)v[FV_SERVED], 4) : 0);

    cJSON *at = cJSON_AddObjectToObject(o, "attendance");
    cJSON_AddNumberToObject(at, "signed_in_s", (double)v[FV_SIGNED_S]);
    cJSON_AddNumberToObject(at, "pause_s", (double)v[FV_PAUSE_S]);
    cJSON_AddItemToObject(at, "pause_by_reason",
                          a->pause_by ? cJSON_Duplicate(a->pause_by, 1) : cJSON_CreateObject());
    cJSON_AddNumberToObject(at, "idle_s", (double)v[FV_IDLE_S]);
    int64_t duty = v[FV_SIGNED_S] - v[FV_PAUSE_S];
    fig__num_or_null(at, "served_per_hour", duty > 0,
                     duty > 0 ? fig__r((double)v[FV_SERVED] * 3600.0 / (double)duty, 2) : 0);

    cJSON *ex = cJSON_AddObjectToObject(o, "excluded");
    cJSON_AddNumberToObject(ex, "test_tickets", (double)v[FV_EXCL_TICKETS]);
    cJSON_AddNumberToObject(ex, "fault_waits", (double)v[FV_EXCL_WAITS]);
    cJSON_AddNumberToObject(ex, "absence_s", (double)v[FV_ABSENCE_S]);
    cJSON_AddNumberToObject(ex, "fault_s", (double)v[FV_FAULT_S]);

    cJSON *bh = cJSON_AddObjectToObject(o, "by_hour");
    cJSON *x1 = cJSON_AddArrayToObject(bh, "arrivals"), *x2 = cJSON_AddArrayToObject(bh, "served");
    for (int i = 0; i < 24; i++) {
        cJSON_AddItemToArray(x1, cJSON_CreateNumber(a->arr_h[i]));
        cJSON_AddItemToArray(x2, cJSON_CreateNumber(a->srv_h[i]));
    }
    cJSON *bw = cJSON_AddObjectToObject(o, "by_weekday");
    x1 = cJSON_AddArrayToObject(bw, "arrivals");
    x2 = cJSON_AddArrayToObject(bw, "served");
    for (int i = 0; i < 7; i++) {
        cJSON_AddItemToArray(x1, cJSON_CreateNumber(a->arr_wd[i]));
        cJSON_AddItemToArray(x2, cJSON_CreateNumber(a->srv_wd[i]));
    }
    return o;
}

static int fig__key_cmp(const void *x, const void *y)
{
    const struct fig_acc *p = x, *q = y;
    /* windows by number, the rest by text */
    if (p->scope == HQ_FIG_WINDOW) return atoi(p->key) - atoi(q->key);
    return strcmp(p->key, q->key);
}

int hq_fig_report(sqlite3 *db, const struct hq_engine_cfg *c, const struct hq_fig_opts *o,
                  int32_t from, int32_t to, int scope, int32_t today, int64_t now, cJSON **out,
                  char *err, size_t errlen)
{
    *out = NULL;
    if (scope < 0 || scope >= HQ_FIG__COUNT || from > to) {
        snprintf(err, errlen, "bad period or scope");
        return HQ_ERR_INVALID;
    }
    struct fig_set set = {0};
    struct fig_acc total = {.scope = HQ_FIG_HALL, .key = "total"};
    int rc = HQ_OK;
    int32_t last_rolled = to < today ? to : today - 1;
    if (from <= last_rolled) rc = fig__read(db, "fig_day", scope, from, last_rolled, &set, &total);
    uint32_t live = 0;
    if (!rc && to >= today && from <= today) {
        rc = hq_fig_build_day(db, c, o, today, now, "temp.fig_live", err, errlen);
        if (!rc) rc = fig__read(db, "temp.fig_live", scope, today, today, &set, &total);
        live = 1;
    }
    if (rc) {
        if (!*err) snprintf(err, errlen, "reading the rollups: %s", sqlite3_errmsg(db));
        fig__set_free(&set);
        cJSON_Delete(total.pause_by);
        return rc;
    }
    if (set.n) qsort(set.a, set.n, sizeof *set.a, fig__key_cmp);
    cJSON *r = cJSON_CreateObject();
    char buf[16];
    int y, m, d;
    hq_ymd_from_days(from, &y, &m, &d);
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    cJSON_AddStringToObject(r, "from", buf);
    hq_ymd_from_days(to, &y, &m, &d);
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    cJSON_AddStringToObject(r, "to", buf);
    cJSON_AddStringToObject(r, "by", fig__scopes[scope]);
    cJSON_AddNumberToObject(r, "days", to - from + 1);
    cJSON_AddNumberToObject(r, "live_days", live);
    cJSON_AddNumberToObject(r, "wait_threshold_s", o->wait_threshold_s);
    cJSON *rows = cJSON_AddArrayToObject(r, "rows");
    for (size_t i = 0; i < set.n; i++)
        cJSON_AddItemToArray(rows, fig__row_json(c, &set.a[i]));
    /* the total: for hall and service, the sum; the day count is days that had a row */
    total.days = scope == HQ_FIG_HALL ? total.days : 0;
    cJSON_AddItemToObject(r, "total", fig__row_json(c, &total));
    fig__set_free(&set);
    cJSON_Delete(total.pause_by);
    *out = r;
    return HQ_OK;
}
