/*
 * hqd_admin.c — what the hall manager's dashboard (/admin) asks of hallqd.
 *
 *   POST /api/v1/admin/login                      a manager signs in (staff id + PIN)
 *   GET  /api/v1/admin/overview                   windows, queues, alarms, staffing
 *   GET  /api/v1/admin/evaluations?day=&bad=&pending=
 *   POST /api/v1/admin/evaluations/{uuid}/follow-up   回访/整改 of a 差评
 *   GET  /api/v1/admin/stats?day=                 arrivals, waits, ratings, clerks
 *   GET  /api/v1/admin/export/tickets.csv?day=    CSV for Excel (UTF-8 with BOM)
 *   GET  /api/v1/admin/export/evaluations.csv?day=
 *   POST /api/v1/admin/storage/ack                the corrupt-database notice was seen
 *   POST /api/v1/admin/alarms/{key}/ack           the manager saw an alarm (help: answers it)
 *
 * Everything but login needs a manager token. Live numbers come from the
 * engine (d->eng, read only); history from SQLite through read-only queries;
 * the one write (a follow-up step) goes into the store in one transaction
 * with its outbox record, so the central server hears of every step.
 *
 * Alarms are re-evaluated every ADMIN_ALARM_MS on the loop (and at once
 * after an acknowledgement) and published as an SSE `alarm` event only when
 * the set of raised conditions changed (or one was acknowledged), so a wall of dashboards is
 * not woken
 * every 5 s for nothing. The same tick publishes `staffing` (no data) when
 * an arrival of today leaves the last hour: the staffing hints move with
 * the clock there, and the dashboards, which never poll, reload then.
 */
#include "hqd_admin.h"
#include "hqd_rating.h"

#include <math.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_rules.h"
#include "api.h"
#include "hqd_callback.h"
#include "hqd_session.h"
#include "workdays.h"

#define ADMIN_ALARM_MS 5000
#define ADMIN_STAFF_MAX 99          /* staffing hints stop counting here */
#define ADMIN_DEFAULT_TARGET_S 1800 /* target wait when alarms.wait_s is 0 (off) */
#define ADMIN_LIST_MAX 2000         /* evaluations per answer */

struct hq_admin {
    struct hq_daemon *d;
    uint64_t timer;
    char *alarm_keys; /* keys of the alarms last published, '\n'-joined */
    /* "key@since" of each alarm the manager acknowledged, '\n'-joined: acknowledged until the
     * condition ends (a new pause, call or help call has a new since, so it is new). Kept in
     * memory: after a restart an acknowledged alarm that still holds is shown again. */
    char *acked;
    /* "key@since" of the supervision alarms already sent to the central server as raised;
     * one that left is sent as cleared (docs/SYNC.md "Supervision alarms"). */
    char *reported;
    uint64_t published;
    /* Publish at the next tick even if the keys did not change: after an
     * acknowledgement within the first ADMIN_ALARM_MS the notice was never
     * published (the dashboards had it from the overview), so its going
     * would not be either. */
    bool publish_now;
    /* Today's tickets issued over an hour ago when last counted, and the
     * business day of that count. */
    uint32_t aged;
    int32_t aged_day;
};

/* Static, not malloc'd: the API keeps the routes' argument until it stops
 * itself, after this module (modules stop in reverse order). */
static struct hq_admin admin__state;

/* -------------------------------------------------------------- helpers */

static const char *admin__arg(struct hq_api_req *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

static bool admin__flag(struct hq_api_req *req, const char *key)
{
    const char *v = admin__arg(req, key);
    return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

/* ?day=YYYY-MM-DD, today when absent. */
static int admin__day_arg(struct hq_api_req *req, int32_t *day)
{
    const char *v = admin__arg(req, "day");
    if (!v || !*v) {
        *day = hq_engine_day_of(req->d->eng.cfg, hq_loop_wall_s());
        return HQ_OK;
    }
    return admin_parse_day(v, day);
}

static void admin__ymd(int32_t day, char out[11])
{
    int y, m, d;
    hq_ymd_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* "2026-11-23 09:05:00" in the hall's time: what a spreadsheet reads as a date. */
static void admin__local(int64_t t, int32_t off, char out[24])
{
    if (t <= 0) {
        out[0] = 0;
        return;
    }
    int64_t l = t + off;
    int64_t days = l >= 0 ? l / 86400 : (l - 86399) / 86400;
    int64_t sec = l - days * 86400;
    int y, m, d;
    hq_ymd_from_days((int32_t)days, &y, &m, &d);
    snprintf(out, 24, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60));
}

static void admin__add_time(cJSON *o, const char *key, int64_t t, int32_t off)
{
    char buf[32];
    if (t <= 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    hq_time_rfc3339(t, off, buf);
    cJSON_AddStringToObject(o, key, buf);
}

static double admin__round2(double x)
{
    return round(x * 100.0) / 100.0;
}

static const char *admin__staff_name(const struct hq_engine_cfg *c, const char *id)
{
    for (size_t i = 0; id && i < c->n_staff; i++)
        if (strcmp(c->staff[i].id, id) == 0) return c->staff[i].name;
    return NULL;
}

static cJSON *admin__staff_json(const struct hq_engine_cfg *c, const char *id)
{
    if (!id) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    const char *name = admin__staff_name(c, id);
    if (name)
        cJSON_AddStringToObject(o, "name", name);
    else
        cJSON_AddNullToObject(o, "name");
    return o;
}

static const struct hq_window_cfg *admin__window_cfg(const struct hq_engine_cfg *c, int number)
{
    for (size_t i = 0; i < c->n_windows; i++)
        if (c->windows[i].number == number) return &c->windows[i];
    return NULL;
}

static const struct hq_service_cfg *admin__service_cfg(const struct hq_engine_cfg *c,
                                                       const char *code)
{
    for (size_t i = 0; code && i < c->n_services; i++)
        if (strcmp(c->services[i].code, code) == 0) return &c->services[i];
    return NULL;
}

static const char *admin__col(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

static int admin__db_fail(struct hq_api_req *req, sqlite3 *db, sqlite3_stmt *s)
{
    LOG_ERR("ADMIN", "query failed: %s", sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return hq_api_reply_error(req, HQ_ERR_DB, NULL);
}

static const char *const admin_level_zh[6] = {"",         "非常不满意", "不满意",
                                              "基本满意", "满意",       "非常满意"};

/* --------------------------------------------------------------- alarms */

/* The hall's alarms now, as a JSON array; *keys gets their keys
 * '\n'-joined (malloc'd) when keys is not NULL. */
static bool admin__has_key(const char *keys, const char *key);

/* "pause:3@1796000000": an alarm's identity for acknowledgement and reporting. */
static void admin__ack_key(const struct admin_alarm *a, char *buf, size_t len)
{
    snprintf(buf, len, "%s@%lld", a->key, (long long)(a->since > 0 ? a->since : 0));
}

/* alarms/n_alarms, when not NULL, get the alarms themselves (malloc'd, the caller frees). */
static cJSON *admin__alarms(struct hq_admin *s, char **keys, struct admin_alarm **alarms,
                            size_t *n_alarms)
{
    struct hq_daemon *d = s->d;
    const struct hq_engine *e = &d->eng;
    size_t max = e->cfg->n_services + 5 * e->cfg->n_windows + 64;
    struct admin_alarm *al = calloc(max, sizeof *al);
    cJSON *arr = cJSON_CreateArray();
    if (keys) *keys = NULL;
    if (alarms) *alarms = NULL, *n_alarms = 0;
    if (!al) return arr;
    int64_t now = hq_loop_wall_s();
    size_t n = admin_alarms_queue(e, d->cfg.wait_alarm_s, d->cfg.idle_alarm_s, now, al, max);
    n += admin_alarms_supervision(e, d->cfg.unstaffed_alarm_s, now, al + n, max - n);
    if (d->api) {
        cJSON *st = hq_api_status_json(d);
        n += admin_alarms_status(st, al + n, max - n);
        cJSON_Delete(st);
    }
    n += hqd_callback_alarms(d, now, al + n, max - n);
    struct admin_buf kb = {0};
    for (size_t i = 0; i < n; i++) {
        cJSON *j = admin_alarm_json(&al[i]);
        char ks[160];
        admin__ack_key(&al[i], ks, sizeof ks);
        cJSON_AddBoolToObject(j, "acknowledged", admin__has_key(s->acked, ks));
        cJSON_AddBoolToObject(j, "reported", admin_alarm_reported(al[i].kind));
        cJSON_AddItemToArray(arr, j);
        admin_buf_add(&kb, al[i].key, strlen(al[i].key));
        admin_buf_add(&kb, "\n", 1);
    }
    if (alarms) {
        *alarms = al;
        *n_alarms = n;
        al = NULL;
    }
    admin_buf_add(&kb, "", 0);
    free(al);
    if (keys && !kb.oom)
        *keys = kb.p;
    else
        admin_buf_free(&kb);
    return arr;
}

static bool admin__has_key(const char *keys, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = keys; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len == n && memcmp(p, key, n) == 0) return true;
        p = nl ? nl + 1 : p + len;
    }
    return false;
}

static void admin__diff(cJSON *into, const char *from, const char *to)
{
    for (const char *p = from; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)len, p);
        if (!admin__has_key(to, key)) cJSON_AddItemToArray(into, cJSON_CreateString(key));
        p = nl ? nl + 1 : p + len;
    }
}

/* An arrival left the last hour since the previous tick: the staffing
 * hints (arrivals_last_hour and what follows from it) changed with the
 * clock alone, so say so. A new day starts the count afresh (its rollover
 * is an event of its own). */
static void admin__staffing_tick(struct hq_admin *s)
{
    const struct hq_engine *e = &s->d->eng;
    int64_t now = hq_loop_wall_s();
    uint32_t aged = 0;
    for (size_t k = 0; k < e->n_tickets; k++)
        if ((int64_t)e->tickets[k].issued_at <= now - 3600) aged++;
    bool moved = e->day == s->aged_day && aged != s->aged;
    s->aged = aged;
    s->aged_day = e->day;
    if (!moved || !s->d->api) return;
    cJSON *o = cJSON_CreateObject();
    char ts[32];
    hq_time_rfc3339(now, e->cfg->utc_offset_s, ts);
    cJSON_AddStringToObject(o, "at", ts);
    hq_api_publish(s->d->api, "staffing", o);
}

/* One supervision alarm's record for the hall's event log and the central server (type
 * "event", kind "alarm"; docs/SYNC.md "Supervision alarms"). `by`: who acknowledged it. */
static cJSON *admin__alarm_record(const struct hq_admin *s, const struct admin_alarm *a,
                                  const char *state, const char *by)
{
    int32_t off = s->d->eng.cfg->utc_offset_s;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "alarm");
    cJSON_AddStringToObject(o, "alarm", admin_alarm_kind_name(a->kind));
    cJSON_AddStringToObject(o, "key", a->key);
    cJSON_AddStringToObject(o, "state", state);
    cJSON_AddNumberToObject(o, "window", atoi(a->subject));
    admin__add_time(o, "since", a->since, off);
    if (a->value >= 0) cJSON_AddNumberToObject(o, "value", (double)a->value);
    if (a->threshold >= 0) cJSON_AddNumberToObject(o, "threshold", (double)a->threshold);
    cJSON_AddStringToObject(o, "message", a->msg_zh);
    cJSON_AddStringToObject(o, "message_en", a->msg_en);
    if (by && *by) cJSON_AddStringToObject(o, "actor", by);
    return o;
}

/* Records into the event log and the outbox, in one transaction. A store that cannot take
 * them now (degraded, busy) loses these few: logged, the alarm itself stays on the
 * dashboard. */
static void admin__record(struct hq_admin *s, cJSON **recs, size_t n)
{
    if (!n) return;
    struct hq_store *st = s->d->store;
    int64_t now = hq_loop_wall_s();
    int rc = hq_store_begin(st);
    bool began = rc == HQ_OK;
    sqlite3_stmt *q = NULL;
    if (!rc && sqlite3_prepare_v2(hq_store_db(st),
                                  "INSERT INTO events(at, kind, window, data, actor) "
                                  "VALUES(?,?,?,?,?)",
                                  -1, &q, NULL) != SQLITE_OK)
        rc = HQ_ERR_DB;
    for (size_t i = 0; i < n; i++) {
        if (!rc) {
            char *json = cJSON_PrintUnformatted(recs[i]);
            const cJSON *w = cJSON_GetObjectItemCaseSensitive(recs[i], "window");
            const char *by =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(recs[i], "actor"));
            sqlite3_reset(q);
            sqlite3_clear_bindings(q);
            sqlite3_bind_int64(q, 1, now);
            sqlite3_bind_text(q, 2, "alarm", -1, SQLITE_STATIC);
            if (cJSON_IsNumber(w) && w->valueint > 0) sqlite3_bind_int(q, 3, w->valueint);
            if (json)
                sqlite3_bind_text(q, 4, json, -1, free);
            else
                rc = HQ_ERR_NOMEM;
            if (by) sqlite3_bind_text(q, 5, by, -1, SQLITE_TRANSIENT);
            if (!rc && sqlite3_step(q) != SQLITE_DONE) rc = HQ_ERR_DB;
        }
        if (!rc)
            rc = hq_store_outbox_add(st, "event", now, recs[i]); /* takes recs[i] */
        else
            cJSON_Delete(recs[i]);
        recs[i] = NULL;
    }
    sqlite3_finalize(q);
    if (began && hq_store_end(st, rc) == HQ_OK && !rc) return;
    LOG_WARN("ADMIN", "%zu alarm record(s) not stored: %s", n, hq_strerror(rc ? rc : HQ_ERR_DB));
}

/* Supervision alarms raised or ended since the last tick go to the central server; an
 * acknowledgement whose condition ended is forgotten. */
static void admin__report(struct hq_admin *s, const struct admin_alarm *al, size_t n)
{
    struct admin_buf now = {0}, acked = {0};
    cJSON *recs[64];
    size_t nr = 0;
    char ks[160];
    for (size_t i = 0; i < n; i++) {
        admin__ack_key(&al[i], ks, sizeof ks);
        if (admin__has_key(s->acked, ks)) {
            admin_buf_add(&acked, ks, strlen(ks));
            admin_buf_add(&acked, "\n", 1);
        }
        if (!admin_alarm_reported(al[i].kind)) continue;
        admin_buf_add(&now, ks, strlen(ks));
        admin_buf_add(&now, "\n", 1);
        if (!admin__has_key(s->reported, ks) && nr < HQ_ARRAY_LEN(recs)) {
            LOG_NOTICE("ADMIN", "supervision alarm: %s", al[i].msg_en);
            recs[nr++] = admin__alarm_record(s, &al[i], "raised", NULL);
        }
    }
    admin_buf_add(&now, "", 0);
    admin_buf_add(&acked, "", 0);
    /* ended: reported before, not now. What it said is gone with it: key and since only. */
    for (const char *p = s->reported; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(ks, sizeof ks, "%.*s", (int)len, p);
        p = nl ? nl + 1 : p + len;
        if (admin__has_key(now.p, ks) || nr >= HQ_ARRAY_LEN(recs)) continue;
        struct admin_alarm a = {.value = -1, .threshold = -1};
        char *at = strrchr(ks, '@');
        if (at) *at = 0, a.since = atoll(at + 1);
        snprintf(a.key, sizeof a.key, "%s", ks);
        char *colon = strchr(ks, ':');
        if (colon) snprintf(a.subject, sizeof a.subject, "%s", colon + 1);
        for (int k = 0; k < ADMIN_AL__COUNT; k++)
            if (colon && strlen(admin_alarm_kind_name(k)) == (size_t)(colon - ks) &&
                strncmp(ks, admin_alarm_kind_name(k), (size_t)(colon - ks)) == 0)
                a.kind = (uint8_t)k;
        recs[nr++] = admin__alarm_record(s, &a, "cleared", NULL);
    }
    admin__record(s, recs, nr);
    if (!now.oom) {
        free(s->reported);
        s->reported = now.p;
    } else {
        admin_buf_free(&now);
    }
    if (!acked.oom) {
        free(s->acked);
        s->acked = acked.p;
    } else {
        admin_buf_free(&acked);
    }
}

static void admin__alarm_tick(struct hq_loop *loop, void *arg)
{
    struct hq_admin *s = arg;
    admin__staffing_tick(s);
    char *keys = NULL;
    struct admin_alarm *al = NULL;
    size_t n_al = 0;
    cJSON *arr = admin__alarms(s, &keys, &al, &n_al);
    admin__report(s, al, n_al);
    free(al);
    const char *old = s->alarm_keys ? s->alarm_keys : "";
    if (keys && (strcmp(keys, old) != 0 || s->publish_now)) {
        s->publish_now = false;
        cJSON *o = cJSON_CreateObject();
        char ts[32];
        hq_time_rfc3339(hq_loop_wall_s(), s->d->eng.cfg->utc_offset_s, ts);
        /* the up-link publishes "alarm" events of its own (source "sync") */
        cJSON_AddStringToObject(o, "source", "admin");
        cJSON_AddStringToObject(o, "at", ts);
        admin__diff(cJSON_AddArrayToObject(o, "raised"), keys, old);
        admin__diff(cJSON_AddArrayToObject(o, "cleared"), old, keys);
        cJSON_AddItemToObject(o, "alarms", arr);
        arr = NULL;
        cJSON *raised = cJSON_GetObjectItemCaseSensitive(o, "raised");
        if (cJSON_GetArraySize(raised))
            LOG_NOTICE("ADMIN", "alarm raised: %s", cJSON_GetArrayItem(raised, 0)->valuestring);
        hq_api_publish(s->d->api, "alarm", o);
        s->published++;
        free(s->alarm_keys);
        s->alarm_keys = keys;
        keys = NULL;
    }
    free(keys);
    cJSON_Delete(arr);
    s->timer = hq_loop_timer(loop, ADMIN_ALARM_MS, admin__alarm_tick, s);
}

/* ------------------------------------------------------------- overview */

static cJSON *admin__windows_json(struct hq_daemon *d, int64_t now)
{
    const struct hq_engine *e = &d->eng;
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < e->cfg->n_windows; i++) {
        cJSON *w = hq_api_window_json(d, i);
        const struct hq_window_st *st = &e->win[i];
        if (st->state_since)
            cJSON_AddNumberToObject(w, "time_in_state_s", (double)(now - st->state_since));
        else
            cJSON_AddNullToObject(w, "time_in_state_s");
        if (st->last_call_at)
            cJSON_AddNumberToObject(w, "since_last_call_s", (double)(now - st->last_call_at));
        else
            cJSON_AddNullToObject(w, "since_last_call_s");
        cJSON_AddItemToArray(arr, w);
    }
    return arr;
}

static void admin__add_wait(cJSON *o, const char *key, double w)
{
    if (w < 0)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, round(w));
}

/* Per service: today's arrival rate and handling time, the windows Erlang C
 * says keep the expected wait under the target, and the windows open now. */
static cJSON *admin__staffing_json(struct hq_daemon *d, int64_t now)
{
    const struct hq_engine *e = &d->eng;
    const struct hq_engine_cfg *c = e->cfg;
    uint32_t target = d->cfg.wait_alarm_s ? d->cfg.wait_alarm_s : ADMIN_DEFAULT_TARGET_S;
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < c->n_services; i++) {
        uint32_t last_hour = 0, today = 0;
        int64_t first = 0;
        for (size_t k = 0; k < e->n_tickets; k++) {
            const struct hq_ticket *t = &e->tickets[k];
            if (t->orig_service != i) continue;
            today++;
            if (!first || t->issued_at < first) first = t->issued_at;
            if ((int64_t)t->issued_at > now - 3600) last_hour++;
        }
        double hours = first ? (double)(now - first) / 3600.0 : 0;
        if (hours < 1) hours = 1; /* a day younger than an hour is its last hour */
        double day_rate = today / hours;
        /* The last hour is what the hall looks like now; the day's average
         * only stands in for it before the hall has been open an hour. */
        double lambda = last_hour;
        uint32_t h = e->svc[i].handle_s ? e->svc[i].handle_s : c->services[i].default_handle_s;
        unsigned open = admin_open_windows(e, i);
        unsigned eligible = 0;
        for (size_t w = 0; w < c->n_windows; w++)
            for (size_t k = 0; k < c->windows[w].n_services; k++)
                if (c->windows[w].services[k] == i) eligible++;
        unsigned need = admin_staffing(lambda, h, target, ADMIN_STAFF_MAX);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "service", c->services[i].code);
        cJSON_AddStringToObject(o, "name", c->services[i].name);
        cJSON_AddStringToObject(o, "name_en", c->services[i].name_en);
        cJSON_AddNumberToObject(o, "arrivals_last_hour", last_hour);
        cJSON_AddNumberToObject(o, "arrivals_per_hour_today", admin__round2(day_rate));
        cJSON_AddNumberToObject(o, "lambda_per_hour", lambda);
        cJSON_AddNumberToObject(o, "handle_s", h);
        cJSON_AddBoolToObject(o, "handle_measured", e->svc[i].handle_s != 0);
        cJSON_AddNumberToObject(o, "offered_load", admin__round2(lambda * h / 3600.0));
        cJSON_AddNumberToObject(o, "target_wait_s", target);
        cJSON_AddNumberToObject(o, "open_windows", open);
        cJSON_AddNumberToObject(o, "eligible_windows", eligible);
        if (need > ADMIN_STAFF_MAX)
            cJSON_AddNullToObject(o, "needed_windows");
        else
            cJSON_AddNumberToObject(o, "needed_windows", need);
        admin__add_wait(o, "expected_wait_open_s", admin_erlang_wait_s(open, lambda, h));
        admin__add_wait(o, "expected_wait_needed_s",
                        need > ADMIN_STAFF_MAX ? -1 : admin_erlang_wait_s(need, lambda, h));
        cJSON_AddNumberToObject(o, "wait_probability_open",
                                admin__round2(admin_erlang_c(open, lambda * h / 3600.0)));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static int admin__overview(struct hq_admin *s, struct hq_api_req *req)
{
    struct hq_daemon *d = s->d;
    const struct hq_engine *e = &d->eng;
    int64_t now = hq_loop_wall_s();
    cJSON *o = cJSON_CreateObject();
    cJSON *h = cJSON_AddObjectToObject(o, "hall");
    cJSON_AddStringToObject(h, "id", e->cfg->hall_id);
    cJSON_AddStringToObject(h, "name", d->cfg.hall_name);
    cJSON_AddStringToObject(h, "name_en", d->cfg.hall_name_en);
    char buf[32];
    admin__ymd(hq_engine_day_of(e->cfg, now), buf);
    cJSON_AddStringToObject(h, "day", buf);
    hq_time_rfc3339(now, e->cfg->utc_offset_s, buf);
    cJSON_AddStringToObject(h, "time", buf);
    cJSON *lim = cJSON_AddObjectToObject(o, "limits");
    cJSON_AddNumberToObject(lim, "wait_s", d->cfg.wait_alarm_s);
    cJSON_AddNumberToObject(lim, "idle_s", d->cfg.idle_alarm_s);
    cJSON_AddItemToObject(o, "windows", admin__windows_json(d, now));
    cJSON_AddItemToObject(o, "evaluation", hqd_rating_coverage(d)); /* 评价覆盖率 (issue 17) */
    cJSON *qs = cJSON_AddArrayToObject(o, "queues");
    for (size_t i = 0; i < e->cfg->n_services; i++) {
        const struct hq_service_cfg *sc = &e->cfg->services[i];
        cJSON *q = cJSON_CreateObject();
        cJSON_AddStringToObject(q, "code", sc->code);
        cJSON_AddStringToObject(q, "name", sc->name);
        cJSON_AddStringToObject(q, "name_en", sc->name_en);
        cJSON_AddBoolToObject(q, "open", hq_engine_service_open(e, i, now));
        cJSON_AddNumberToObject(q, "waiting", (double)hq_engine_waiting(e, i));
        int64_t est = hq_engine_estimate_wait(e, i);
        if (est < 0)
            cJSON_AddNullToObject(q, "estimated_wait_s");
        else
            cJSON_AddNumberToObject(q, "estimated_wait_s", (double)est);
        int64_t oldest = admin_oldest_wait(e, i, now);
        if (oldest < 0)
            cJSON_AddNullToObject(q, "oldest_wait_s");
        else
            cJSON_AddNumberToObject(q, "oldest_wait_s", (double)oldest);
        cJSON_AddNumberToObject(q, "open_windows", admin_open_windows(e, i));
        cJSON_AddNumberToObject(q, "issued", e->svc[i].issued);
        cJSON_AddNumberToObject(q, "handled", e->svc[i].handled);
        cJSON_AddNumberToObject(q, "handle_s",
                                e->svc[i].handle_s ? e->svc[i].handle_s : sc->default_handle_s);
        cJSON_AddItemToArray(qs, q);
    }
    cJSON_AddItemToObject(o, "alarms", admin__alarms(s, NULL, NULL, NULL));
    cJSON_AddItemToObject(o, "staffing", admin__staffing_json(d, now));
    {
        /* 回访率 and 整改率 of this month's bad ratings, as halls report monthly */
        int32_t today = hq_engine_day_of(d->eng.cfg, now);
        int y, m, dd;
        hq_ymd_from_days(today, &y, &m, &dd);
        cJSON *fu = hqd_callback_rates(d, hq_days_from_ymd(y, m, 1), today, now);
        char from[11];
        admin__ymd(hq_days_from_ymd(y, m, 1), from);
        if (cJSON_IsObject(fu)) cJSON_AddStringToObject(fu, "since", from);
        cJSON_AddItemToObject(o, "follow_up", fu);
    }
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

/* ---------------------------------------------------------- evaluations */

static cJSON *admin__evaluation_row(struct hq_daemon *d, sqlite3_stmt *q, int64_t now)
{
    const struct hq_engine_cfg *c = d->eng.cfg;
    int32_t off = c->utc_offset_s;
    cJSON *o = cJSON_CreateObject();
    char buf[16];
    cJSON_AddStringToObject(o, "uuid", admin__col(q, 0));
    cJSON_AddStringToObject(o, "ticket_uuid", admin__col(q, 1));
    cJSON_AddStringToObject(o, "ticket", admin__col(q, 2));
    admin__ymd(sqlite3_column_int(q, 3), buf);
    cJSON_AddStringToObject(o, "day", buf);
    const char *svc = admin__col(q, 4);
    cJSON_AddStringToObject(o, "service", svc);
    const struct hq_service_cfg *sc = admin__service_cfg(c, svc);
    cJSON_AddStringToObject(o, "service_name", sc ? sc->name : svc);
    cJSON_AddStringToObject(o, "service_name_en", sc ? sc->name_en : svc);
    int wn = sqlite3_column_int(q, 5);
    cJSON_AddNumberToObject(o, "window", wn);
    const struct hq_window_cfg *wc = admin__window_cfg(c, wn);
    if (wc) cJSON_AddStringToObject(o, "window_name", wc->name);
    cJSON_AddItemToObject(o, "staff", admin__staff_json(c, admin__col(q, 6)));
    int level = sqlite3_column_int(q, 7);
    cJSON_AddNumberToObject(o, "level", level);
    cJSON_AddStringToObject(o, "level_label",
                            level >= 1 && level <= 5 ? admin_level_zh[level] : "");
    cJSON_AddStringToObject(o, "channel", admin__col(q, 8));
    cJSON *rs = cJSON_AddArrayToObject(o, "reasons");
    int64_t reasons = sqlite3_column_int64(q, 9);
    for (int b = 0; b < 32; b++)
        if (reasons & (1ll << b)) cJSON_AddItemToArray(rs, cJSON_CreateNumber(b + 1));
    admin__add_time(o, "at", sqlite3_column_int64(q, 10), off);
    if (level <= 2) {
        const char *state = admin__col(q, 11);
        int fs = admin_fu_from_name(state);
        cJSON *f = cJSON_AddObjectToObject(o, "follow_up");
        cJSON_AddStringToObject(f, "state", state ? state : "open");
        cJSON_AddStringToObject(f, "state_label", admin_fu_label_zh(fs));
        int64_t due = sqlite3_column_int64(q, 12);
        admin__add_time(f, "due", due, off);
        cJSON_AddBoolToObject(f, "overdue", due && now > due && fs != ADMIN_FU_CLOSED);
        if (fs >= ADMIN_FU_OPEN && fs < ADMIN_FU_CLOSED)
            cJSON_AddStringToObject(f, "next", admin_fu_name(fs + 1));
        else
            cJSON_AddNullToObject(f, "next");
        const char *note = admin__col(q, 13);
        if (note)
            cJSON_AddStringToObject(f, "note", note);
        else
            cJSON_AddNullToObject(f, "note");
        admin__add_time(f, "at", sqlite3_column_int64(q, 14), off);
    }
    /* 回访 due, the number's state (never the number), the appeal */
    hqd_callback_row(d, o, admin__col(q, 0), level, sqlite3_column_int64(q, 10), now);
    return o;
}

#define ADMIN_EVAL_COLS                                                                            \
    "uuid, ticket, label, day, service, window, staff, level, channel, reasons, at, "              \
    "follow_up_state, follow_up_due, follow_up_note, follow_up_at"

static int admin__evaluations(struct hq_admin *s, struct hq_api_req *req)
{
    struct hq_daemon *d = s->d;
    sqlite3 *db = hq_store_db(d->store);
    bool bad = admin__flag(req, "bad"), pending = admin__flag(req, "pending");
    int32_t day;
    /* pending=1 without a day: every 差评 still being followed up, whatever
     * its day, since a follow-up lasts days after the rating */
    bool any_day = pending && !admin__arg(req, "day");
    if (!any_day && admin__day_arg(req, &day))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "day must be YYYY-MM-DD");
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT " ADMIN_EVAL_COLS " FROM evaluations WHERE (?1 OR day=?2) AND "
                           "(?3=0 OR level<=2) AND (?4=0 OR (level<=2 AND follow_up_state "
                           "IN ('open','contacted','rectified'))) ORDER BY at DESC, rowid DESC "
                           "LIMIT ?5",
                           -1, &q, NULL) != SQLITE_OK)
        return admin__db_fail(req, db, q);
    sqlite3_bind_int(q, 1, any_day);
    sqlite3_bind_int(q, 2, any_day ? 0 : day);
    sqlite3_bind_int(q, 3, bad);
    sqlite3_bind_int(q, 4, pending);
    sqlite3_bind_int(q, 5, ADMIN_LIST_MAX + 1);
    int64_t now = hq_loop_wall_s();
    cJSON *o = cJSON_CreateObject();
    if (any_day)
        cJSON_AddNullToObject(o, "day");
    else {
        char buf[11];
        admin__ymd(day, buf);
        cJSON_AddStringToObject(o, "day", buf);
    }
    cJSON *arr = cJSON_AddArrayToObject(o, "evaluations");
    int rc, n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (++n > ADMIN_LIST_MAX) break;
        cJSON_AddItemToArray(arr, admin__evaluation_row(d, q, now));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cJSON_Delete(o);
        return admin__db_fail(req, db, q);
    }
    sqlite3_finalize(q);
    cJSON_AddBoolToObject(o, "truncated", n > ADMIN_LIST_MAX);
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

/* POST /api/v1/admin/evaluations/{uuid}/follow-up {"state", "note"} */
static int admin__follow_up(struct hq_admin *s, struct hq_api_req *req, const char *uuid)
{
    struct hq_daemon *d = s->d;
    uint8_t u[16];
    if (hq_uuid_parse(uuid, u))
        return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such evaluation");
    cJSON *st = cJSON_GetObjectItemCaseSensitive(req->body, "state");
    cJSON *nt = cJSON_GetObjectItemCaseSensitive(req->body, "note");
    int to = cJSON_IsString(st) ? admin_fu_from_name(st->valuestring) : -1;
    if (to < ADMIN_FU_CONTACTED)
        return hq_api_reply_error(req, HQ_ERR_INVALID,
                                  "\"state\" must be contacted, rectified or closed");
    const char *why = NULL;
    if (!cJSON_IsString(nt)) return hq_api_reply_error(req, HQ_ERR_INVALID, "\"note\" is required");
    if (admin_note_check(nt->valuestring, ADMIN_NOTE_MAX_CHARS, &why))
        return hq_api_reply_error(req, HQ_ERR_INVALID, why);

    sqlite3 *db = hq_store_db(d->store);
    sqlite3_stmt *q = NULL;
    int64_t now = hq_loop_wall_s();
    int32_t off = d->eng.cfg->utc_offset_s;
    int rc = hq_store_begin(d->store);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    char canon[37];
    hq_uuid_format(u, canon);
    /* read inside the transaction: the state checked is the state changed */
    if (sqlite3_prepare_v2(db,
                           "SELECT level, follow_up_state, ticket, label, window, staff, service, "
                           "follow_up_due FROM evaluations WHERE uuid=?",
                           -1, &q, NULL) != SQLITE_OK)
        goto dbfail;
    sqlite3_bind_text(q, 1, canon, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) {
        rc = HQ_ERR_NOT_FOUND;
        why = "no such evaluation";
        goto fail;
    }
    if (rc != SQLITE_ROW) goto dbfail;
    int level = sqlite3_column_int(q, 0);
    int from = admin_fu_from_name(admin__col(q, 1));
    if (level > 2) {
        rc = HQ_ERR_STATE;
        why = "only a bad rating (level 1 or 2) is followed up";
        goto fail;
    }
    if (admin_fu_step(from, to)) {
        rc = HQ_ERR_STATE;
        why = from == ADMIN_FU_CLOSED ? "the follow-up is already closed"
                                      : "follow-up goes open → contacted → rectified → closed, "
                                        "one step at a time";
        goto fail;
    }
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "kind", "follow_up");
    cJSON_AddStringToObject(ev, "evaluation", canon);
    cJSON_AddStringToObject(ev, "state", admin_fu_name(to));
    cJSON_AddStringToObject(ev, "previous", admin_fu_name(from));
    cJSON_AddStringToObject(ev, "note", nt->valuestring);
    cJSON_AddStringToObject(ev, "ticket", admin__col(q, 2));
    cJSON_AddStringToObject(ev, "number", admin__col(q, 3));
    cJSON_AddNumberToObject(ev, "window", sqlite3_column_int(q, 4));
    if (admin__col(q, 5)) cJSON_AddStringToObject(ev, "staff", admin__col(q, 5));
    cJSON_AddStringToObject(ev, "service", admin__col(q, 6));
    cJSON_AddNumberToObject(ev, "level", level);
    admin__add_time(ev, "follow_up_due", sqlite3_column_int64(q, 7), off);
    int window = sqlite3_column_int(q, 4);
    char ticket[37] = "", label[16] = "", staff[16] = "";
    snprintf(ticket, sizeof ticket, "%s", admin__col(q, 2) ? admin__col(q, 2) : "");
    snprintf(label, sizeof label, "%s", admin__col(q, 3) ? admin__col(q, 3) : "");
    if (admin__col(q, 5)) snprintf(staff, sizeof staff, "%s", admin__col(q, 5));
    sqlite3_finalize(q);
    q = NULL;

    if (sqlite3_prepare_v2(db,
                           "UPDATE evaluations SET follow_up_state=?1, follow_up_note=?2, "
                           "follow_up_at=?3 WHERE uuid=?4 AND follow_up_state=?5",
                           -1, &q, NULL) != SQLITE_OK) {
        cJSON_Delete(ev);
        goto dbfail;
    }
    sqlite3_bind_text(q, 1, admin_fu_name(to), -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, nt->valuestring, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 3, now);
    sqlite3_bind_text(q, 4, canon, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, admin_fu_name(from), -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE || sqlite3_changes(db) != 1) {
        cJSON_Delete(ev);
        goto dbfail;
    }
    sqlite3_finalize(q);
    q = NULL;
    /* a closed follow-up needs the citizen's number no more */
    if (to == ADMIN_FU_CLOSED && hqd_callback_on_close(d, canon, now)) {
        cJSON_Delete(ev);
        goto dbfail;
    }
    /* the hall's own event log keeps every step, since the row keeps only
     * the latest note */
    char *json = cJSON_PrintUnformatted(ev);
    if (!json || sqlite3_prepare_v2(db,
                                    "INSERT INTO events(at, kind, window, ticket, label, staff, "
                                    "data) VALUES(?,?,?,?,?,?,?)",
                                    -1, &q, NULL) != SQLITE_OK) {
        free(json);
        cJSON_Delete(ev);
        goto dbfail;
    }
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_text(q, 2, "follow_up", -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, window);
    sqlite3_bind_text(q, 4, ticket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, label, -1, SQLITE_STATIC);
    if (staff[0]) sqlite3_bind_text(q, 6, staff, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, json, -1, free);
    if (sqlite3_step(q) != SQLITE_DONE) {
        cJSON_Delete(ev);
        goto dbfail;
    }
    sqlite3_finalize(q);
    q = NULL;
    cJSON *pub = cJSON_Duplicate(ev, 1);
    rc = hq_store_outbox_add(d->store, "event", now, ev);
    if (rc) {
        cJSON_Delete(pub);
        goto fail;
    }
    rc = hq_store_end(d->store, 0);
    if (rc) {
        cJSON_Delete(pub);
        return hq_api_reply_error(req, rc, NULL);
    }
    LOG_INFO("ADMIN", "evaluation %s follow-up: %s → %s", canon, admin_fu_name(from),
             admin_fu_name(to));
    /* The event stream needs no token (displays and kiosks read it): the
     * manager's note, which may quote a citizen, stays behind the manager's
     * API and the central record. */
    cJSON_DeleteItemFromObjectCaseSensitive(pub, "note");
    hq_api_publish(d->api, "follow_up", pub);
    /* answer the row as the list shows it now */
    if (sqlite3_prepare_v2(db, "SELECT " ADMIN_EVAL_COLS " FROM evaluations WHERE uuid=?", -1, &q,
                           NULL) != SQLITE_OK ||
        (sqlite3_bind_text(q, 1, canon, -1, SQLITE_STATIC), sqlite3_step(q)) != SQLITE_ROW)
        return admin__db_fail(req, db, q);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddItemToObject(o, "evaluation", admin__evaluation_row(d, q, now));
    sqlite3_finalize(q);
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
dbfail:
    LOG_ERR("ADMIN", "follow-up of %s not saved: %s", canon, sqlite3_errmsg(db));
    rc = HQ_ERR_DB;
    why = NULL;
fail:
    sqlite3_finalize(q);
    hq_store_end(d->store, 1);
    return hq_api_reply_error(req, rc, why);
}

/* ---------------------------------------------------------------- stats */

struct admin_rating {
    char key[24]; /* window number or staff id */
    uint32_t n[6];
};

static struct admin_rating *admin__rating_slot(struct admin_rating *r, size_t *n, size_t max,
                                               const char *key)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(r[i].key, key) == 0) return &r[i];
    if (*n >= max) return NULL;
    struct admin_rating *x = &r[(*n)++];
    memset(x, 0, sizeof *x);
    snprintf(x->key, sizeof x->key, "%s", key);
    return x;
}

static void admin__rating_fields(cJSON *o, const struct admin_rating *r)
{
    uint32_t total = 0, good = 0, sum = 0;
    cJSON *lv = cJSON_AddObjectToObject(o, "levels");
    for (int l = 1; l <= 5; l++) {
        char k[2] = {(char)('0' + l), 0};
        cJSON_AddNumberToObject(lv, k, r->n[l]);
        total += r->n[l];
        sum += r->n[l] * (uint32_t)l;
        if (l >= 4) good += r->n[l];
    }
    cJSON_AddNumberToObject(o, "count", total);
    if (total) {
        cJSON_AddNumberToObject(o, "average", admin__round2((double)sum / total));
        /* 满意率: the share of 满意 and 非常满意 */
        cJSON_AddNumberToObject(o, "satisfaction", admin__round2((double)good / total));
    } else {
        cJSON_AddNullToObject(o, "average");
        cJSON_AddNullToObject(o, "satisfaction");
    }
    cJSON_AddNumberToObject(o, "bad", r->n[1] + r->n[2]);
}

static int admin__stats(struct hq_admin *s, struct hq_api_req *req)
{
    struct hq_daemon *d = s->d;
    const struct hq_engine_cfg *c = d->eng.cfg;
    sqlite3 *db = hq_store_db(d->store);
    int32_t day;
    if (admin__day_arg(req, &day))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "day must be YYYY-MM-DD");
    int32_t off = c->utc_offset_s;
    sqlite3_stmt *q = NULL;
    cJSON *o = cJSON_CreateObject();
    char buf[16];
    admin__ymd(day, buf);
    cJSON_AddStringToObject(o, "day", buf);

    /* tickets: arrivals per local hour, waits, totals by status */
    uint32_t hours[24] = {0}, buckets[ADMIN_WAIT_BUCKETS] = {0}, total = 0, called = 0;
    int64_t wait_sum = 0, wait_max = 0;
    cJSON *by_status = cJSON_CreateObject();
    for (int st = 0; st < HQ_TS__COUNT; st++)
        cJSON_AddNumberToObject(by_status, hq_ticket_status_name(st), 0);
    if (sqlite3_prepare_v2(db, "SELECT issued_at, called_at, status FROM tickets WHERE day=?", -1,
                           &q, NULL) != SQLITE_OK)
        goto dbfail;
    sqlite3_bind_int(q, 1, day);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t issued = sqlite3_column_int64(q, 0);
        int64_t l = (issued + off) % 86400;
        if (l < 0) l += 86400;
        hours[l / 3600]++;
        total++;
        if (sqlite3_column_type(q, 1) != SQLITE_NULL) {
            int64_t w = sqlite3_column_int64(q, 1) - issued;
            if (w < 0) w = 0;
            buckets[admin_wait_bucket(w)]++;
            called++;
            wait_sum += w;
            if (w > wait_max) wait_max = w;
        }
        cJSON *n = cJSON_GetObjectItemCaseSensitive(by_status, admin__col(q, 2));
        if (n) cJSON_SetNumberValue(n, n->valuedouble + 1);
    }
    if (rc != SQLITE_DONE) {
        cJSON_Delete(by_status);
        goto dbfail;
    }
    sqlite3_finalize(q);
    q = NULL;
    cJSON *tk = cJSON_AddObjectToObject(o, "tickets");
    cJSON_AddNumberToObject(tk, "issued", total);
    cJSON_AddNumberToObject(tk, "called", called);
    cJSON_AddItemToObject(tk, "by_status", by_status);
    if (called)
        cJSON_AddNumberToObject(tk, "average_wait_s", round((double)wait_sum / called));
    else
        cJSON_AddNullToObject(tk, "average_wait_s");
    cJSON_AddNumberToObject(tk, "max_wait_s", (double)wait_max);
    cJSON *ah = cJSON_AddArrayToObject(o, "arrivals_per_hour");
    for (int i = 0; i < 24; i++)
        cJSON_AddItemToArray(ah, cJSON_CreateNumber(hours[i]));
    static const char *const bucket_labels[ADMIN_WAIT_BUCKETS] = {"<5",    "5-10",  "10-20",
                                                                  "20-30", "30-60", ">60"};
    cJSON *wd = cJSON_AddArrayToObject(o, "wait_distribution");
    for (int i = 0; i < ADMIN_WAIT_BUCKETS; i++) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "minutes", bucket_labels[i]);
        cJSON_AddNumberToObject(b, "count", buckets[i]);
        cJSON_AddItemToArray(wd, b);
    }

    /* ratings per window and per clerk */
    size_t maxr = c->n_windows + c->n_staff + 16;
    struct admin_rating *rw = calloc(maxr, sizeof *rw), *rs = calloc(maxr, sizeof *rs);
    size_t nw = 0, ns = 0;
    if (!rw || !rs) {
        free(rw);
        free(rs);
        cJSON_Delete(o);
        return hq_api_reply_error(req, HQ_ERR_NOMEM, NULL);
    }
    /* an upheld appeal (申诉成立) leaves these figures (hqd_callback.h) */
    char rsql[320];
    snprintf(rsql, sizeof rsql,
             "SELECT window, staff, level, count(*) FROM evaluations WHERE day=? AND %s "
             "GROUP BY window, staff, level ORDER BY window, staff",
             hqd_callback_counted(s->d));
    if (sqlite3_prepare_v2(db, rsql, -1, &q, NULL) != SQLITE_OK) {
        free(rw);
        free(rs);
        goto dbfail;
    }
    sqlite3_bind_int(q, 1, day);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int level = sqlite3_column_int(q, 2);
        uint32_t cnt = (uint32_t)sqlite3_column_int(q, 3);
        if (level < 1 || level > 5) continue;
        char key[24];
        snprintf(key, sizeof key, "%d", sqlite3_column_int(q, 0));
        struct admin_rating *x = admin__rating_slot(rw, &nw, maxr, key);
        if (x) x->n[level] += cnt;
        const char *sid = admin__col(q, 1);
        x = admin__rating_slot(rs, &ns, maxr, sid ? sid : "");
        if (x) x->n[level] += cnt;
    }
    sqlite3_finalize(q);
    q = NULL;
    cJSON *ratings = cJSON_AddObjectToObject(o, "ratings");
    struct admin_rating all = {.key = "all"};
    cJSON *pw = cJSON_AddArrayToObject(ratings, "per_window");
    for (size_t i = 0; i < nw; i++) {
        cJSON *x = cJSON_CreateObject();
        int wn = atoi(rw[i].key);
        cJSON_AddNumberToObject(x, "window", wn);
        const struct hq_window_cfg *wc = admin__window_cfg(c, wn);
        cJSON_AddStringToObject(x, "name", wc ? wc->name : rw[i].key);
        cJSON_AddStringToObject(x, "name_en", wc ? wc->name_en : rw[i].key);
        admin__rating_fields(x, &rw[i]);
        for (int l = 1; l <= 5; l++)
            all.n[l] += rw[i].n[l];
        cJSON_AddItemToArray(pw, x);
    }
    cJSON *ps = cJSON_AddArrayToObject(ratings, "per_clerk");
    for (size_t i = 0; i < ns; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddItemToObject(x, "staff", admin__staff_json(c, rs[i].key[0] ? rs[i].key : NULL));
        admin__rating_fields(x, &rs[i]);
        cJSON_AddItemToArray(ps, x);
    }
    admin__rating_fields(cJSON_AddObjectToObject(ratings, "total"), &all);
    free(rw);
    free(rs);
    /* 回访率, 整改率 of the day's bad ratings */
    cJSON_AddItemToObject(o, "follow_up", hqd_callback_rates(d, day, day, hq_loop_wall_s()));

    /* clerk performance: tickets finished, no-shows, average handling time */
    if (sqlite3_prepare_v2(
            db,
            "SELECT staff, sum(status='done'), sum(status='no_show'), "
            "avg(CASE WHEN status='done' AND finished_at IS NOT NULL THEN "
            "finished_at - coalesce(served_at, called_at) END), "
            "avg(CASE WHEN called_at IS NOT NULL THEN called_at - issued_at END) "
            "FROM tickets WHERE day=? AND staff IS NOT NULL GROUP BY staff ORDER BY staff",
            -1, &q, NULL) != SQLITE_OK)
        goto dbfail;
    sqlite3_bind_int(q, 1, day);
    cJSON *cl = cJSON_AddArrayToObject(o, "clerks");
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddItemToObject(x, "staff", admin__staff_json(c, admin__col(q, 0)));
        cJSON_AddNumberToObject(x, "served", sqlite3_column_int(q, 1));
        cJSON_AddNumberToObject(x, "no_show", sqlite3_column_int(q, 2));
        if (sqlite3_column_type(q, 3) == SQLITE_NULL)
            cJSON_AddNullToObject(x, "average_handle_s");
        else
            cJSON_AddNumberToObject(x, "average_handle_s", round(sqlite3_column_double(q, 3)));
        if (sqlite3_column_type(q, 4) == SQLITE_NULL)
            cJSON_AddNullToObject(x, "average_wait_s");
        else
            cJSON_AddNumberToObject(x, "average_wait_s", round(sqlite3_column_double(q, 4)));
        cJSON_AddItemToArray(cl, x);
    }
    if (rc != SQLITE_DONE) goto dbfail;
    sqlite3_finalize(q);
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
dbfail:
    cJSON_Delete(o);
    return admin__db_fail(req, db, q);
}

/* ------------------------------------------------------------------ CSV */

static const char *admin__status_zh(const char *s)
{
    static const char *const zh[HQ_TS__COUNT] = {"等候中", "已叫号", "办理中", "挂起",
                                                 "已办结", "过号",   "已取消", "已过期"};
    for (int i = 0; s && i < HQ_TS__COUNT; i++)
        if (strcmp(s, hq_ticket_status_name(i)) == 0) return zh[i];
    return s;
}

static const char *admin__channel_zh(const char *s)
{
    static const char *const zh[HQ_CHAN__COUNT] = {"自助取号机", "取号按钮", "预约",  "接口",
                                                   "评价器",     "平板",     "二维码"};
    for (int i = 0; s && i < HQ_CHAN__COUNT; i++)
        if (strcmp(s, hq_channel_name(i)) == 0) return zh[i];
    return s;
}

static const char *admin__priority_zh(const char *s)
{
    int p = hq_priority_from_name(s);
    if (p == HQ_PRIO_NORMAL) return "普通";
    return p < 0 ? s : hq_priority_label_zh(p);
}

static void admin__csv_time(struct admin_buf *b, sqlite3_stmt *q, int col, int32_t off, char sep)
{
    char t[24];
    admin__local(sqlite3_column_type(q, col) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, col), off,
                 t);
    admin_csv_field(b, t, sep);
}

static void admin__csv_secs(struct admin_buf *b, sqlite3_stmt *q, int to, int from, char sep)
{
    if (sqlite3_column_type(q, to) == SQLITE_NULL || sqlite3_column_type(q, from) == SQLITE_NULL)
        admin_csv_field(b, "", sep);
    else
        admin_buf_printf(b, "%lld%s",
                         (long long)(sqlite3_column_int64(q, to) - sqlite3_column_int64(q, from)),
                         sep ? "," : "");
}

static int admin__csv_reply(struct hq_api_req *req, struct admin_buf *b)
{
    if (b->oom) {
        admin_buf_free(b);
        return hq_api_reply_error(req, HQ_ERR_NOMEM, NULL);
    }
    int rc = hq_api_reply_text(req, MHD_HTTP_OK, "text/csv; charset=utf-8", b->p, b->len);
    admin_buf_free(b);
    return rc;
}

/* Tickets of a day. No ID hash and no name beyond the masked one. */
static int admin__csv_tickets(struct hq_admin *s, struct hq_api_req *req, int32_t day)
{
    struct hq_daemon *d = s->d;
    const struct hq_engine_cfg *c = d->eng.cfg;
    sqlite3 *db = hq_store_db(d->store);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT label, service, orig_service, priority, channel, status, "
                           "window, staff, issued_at, called_at, served_at, finished_at, recalls, "
                           "name_masked, uuid FROM tickets WHERE day=? ORDER BY issued_at, rowid",
                           -1, &q, NULL) != SQLITE_OK)
        return admin__db_fail(req, db, q);
    sqlite3_bind_int(q, 1, day);
    struct admin_buf b = {0};
    char ymd[11];
    admin__ymd(day, ymd);
    /* The BOM tells Excel the file is UTF-8; without it Chinese is mojibake. */
    admin_buf_add(&b, "\xEF\xBB\xBF", 3);
    admin_buf_printf(&b,
                     "日期 Day,号码 Number,业务 Service,业务名称 Service name,取号业务 Issued for,"
                     "优先 Priority,渠道 Channel,状态 Status,窗口 Window,工号 Staff ID,"
                     "姓名 Clerk,取号时间 Issued,叫号时间 Called,开始办理 Started,"
                     "结束时间 Finished,等候秒数 Wait s,办理秒数 Handling s,重呼次数 Recalls,"
                     "持证人 Card holder,号票编号 Ticket UUID\r\n");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *svc = admin__col(q, 1);
        const struct hq_service_cfg *sc = admin__service_cfg(c, svc);
        const char *staff = admin__col(q, 7);
        const char *sname = admin__staff_name(c, staff);
        admin_csv_field(&b, ymd, ',');
        admin_csv_field(&b, admin__col(q, 0), ',');
        admin_csv_field(&b, svc, ',');
        admin_csv_field(&b, sc ? sc->name : "", ',');
        admin_csv_field(&b, admin__col(q, 2), ',');
        admin_csv_field(&b, admin__priority_zh(admin__col(q, 3)), ',');
        admin_csv_field(&b, admin__channel_zh(admin__col(q, 4)), ',');
        admin_csv_field(&b, admin__status_zh(admin__col(q, 5)), ',');
        int wn = sqlite3_column_int(q, 6);
        if (wn)
            admin_buf_printf(&b, "%d,", wn);
        else
            admin_csv_field(&b, "", ',');
        admin_csv_field(&b, staff, ',');
        admin_csv_field(&b, sname, ',');
        admin__csv_time(&b, q, 8, c->utc_offset_s, ',');
        admin__csv_time(&b, q, 9, c->utc_offset_s, ',');
        admin__csv_time(&b, q, 10, c->utc_offset_s, ',');
        admin__csv_time(&b, q, 11, c->utc_offset_s, ',');
        admin__csv_secs(&b, q, 9, 8, ',');
        /* handling runs from the start (or the call) to the end */
        if (sqlite3_column_type(q, 11) != SQLITE_NULL && sqlite3_column_type(q, 10) != SQLITE_NULL)
            admin__csv_secs(&b, q, 11, 10, ',');
        else
            admin__csv_secs(&b, q, 11, 9, ',');
        admin_buf_printf(&b, "%d,", sqlite3_column_int(q, 12));
        admin_csv_field(&b, admin__col(q, 13), ',');
        admin_csv_field(&b, admin__col(q, 14), 0);
        admin_buf_add(&b, "\r\n", 2);
    }
    if (rc != SQLITE_DONE) {
        admin_buf_free(&b);
        return admin__db_fail(req, db, q);
    }
    sqlite3_finalize(q);
    return admin__csv_reply(req, &b);
}

static int admin__csv_evaluations(struct hq_admin *s, struct hq_api_req *req, int32_t day)
{
    struct hq_daemon *d = s->d;
    const struct hq_engine_cfg *c = d->eng.cfg;
    sqlite3 *db = hq_store_db(d->store);
    sqlite3_stmt *q = NULL;
    /* issue 17's columns, NULL while the call-back tables are not there */
    char esql[512];
    snprintf(esql, sizeof esql,
             "SELECT " ADMIN_EVAL_COLS ", %s FROM evaluations WHERE day=? ORDER BY at, rowid",
             hqd_callback_ready(s->d)
                 ? "(SELECT 1 FROM eval_contacts c WHERE c.evaluation=evaluations.uuid), "
                   "(SELECT state FROM eval_appeals a WHERE a.evaluation=evaluations.uuid)"
                 : "NULL, NULL");
    if (sqlite3_prepare_v2(db, esql, -1, &q, NULL) != SQLITE_OK) return admin__db_fail(req, db, q);
    sqlite3_bind_int(q, 1, day);
    struct admin_buf b = {0};
    char ymd[11];
    admin__ymd(day, ymd);
    admin_buf_add(&b, "\xEF\xBB\xBF", 3);
    admin_buf_printf(&b,
                     "日期 Day,评价时间 Rated at,号码 Number,业务 Service,窗口 Window,"
                     "工号 Staff ID,姓名 Clerk,等级 Level,评价 Rating,渠道 Channel,原因 Reasons,"
                     "回访状态 Follow-up,回访期限 Due,回访记录 Note,回访时间 Followed up,"
                     "回访时限 Call-back due,实名 Real-name,申诉 Appeal,计入满意率 Counted,"
                     "评价编号 Evaluation UUID\r\n");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *staff = admin__col(q, 6);
        int level = sqlite3_column_int(q, 7);
        admin_csv_field(&b, ymd, ',');
        admin__csv_time(&b, q, 10, c->utc_offset_s, ',');
        admin_csv_field(&b, admin__col(q, 2), ',');
        admin_csv_field(&b, admin__col(q, 4), ',');
        admin_buf_printf(&b, "%d,", sqlite3_column_int(q, 5));
        admin_csv_field(&b, staff, ',');
        admin_csv_field(&b, admin__staff_name(c, staff), ',');
        admin_buf_printf(&b, "%d,", level);
        admin_csv_field(&b, level >= 1 && level <= 5 ? admin_level_zh[level] : "", ',');
        admin_csv_field(&b, admin__channel_zh(admin__col(q, 8)), ',');
        char reasons[160] = "";
        int64_t bits = sqlite3_column_int64(q, 9);
        for (int k = 0; k < 32; k++)
            if (bits & (1ll << k))
                snprintf(reasons + strlen(reasons), sizeof reasons - strlen(reasons), "%s%d",
                         reasons[0] ? ";" : "", k + 1);
        admin_csv_field(&b, reasons, ',');
        int fs = admin_fu_from_name(admin__col(q, 11));
        admin_csv_field(&b, level <= 2 ? admin_fu_label_zh(fs) : "", ',');
        admin__csv_time(&b, q, 12, c->utc_offset_s, ',');
        admin_csv_field(&b, admin__col(q, 13), ',');
        admin__csv_time(&b, q, 14, c->utc_offset_s, ',');
        /* issue 17: 回访 due (working days), real-name, the appeal and whether
         * the rating counts in 满意率 (not when an appeal was upheld) */
        char cbdue[24] = "";
        if (level <= 2)
            admin__local(
                hq_workday_due(&d->cfg, sqlite3_column_int64(q, 10), d->cfg.eval_callback_workdays),
                c->utc_offset_s, cbdue);
        admin_csv_field(&b, cbdue, ',');
        admin_csv_field(&b, sqlite3_column_type(q, 15) != SQLITE_NULL ? "是 yes" : "否 no", ',');
        const char *ap = admin__col(q, 16);
        admin_csv_field(&b,
                        !ap                       ? ""
                        : !strcmp(ap, "upheld")   ? "申诉成立 upheld"
                        : !strcmp(ap, "rejected") ? "申诉驳回 rejected"
                                                  : "待复核 pending",
                        ',');
        admin_csv_field(&b, ap && !strcmp(ap, "upheld") ? "否 no" : "是 yes", ',');
        admin_csv_field(&b, admin__col(q, 0), 0);
        admin_buf_add(&b, "\r\n", 2);
    }
    if (rc != SQLITE_DONE) {
        admin_buf_free(&b);
        return admin__db_fail(req, db, q);
    }
    sqlite3_finalize(q);
    return admin__csv_reply(req, &b);
}

/* --------------------------------------------------------------- routes */

/* POST /api/v1/admin/login {"staff","pin"}: a manager's session like any
 * other (hqd_session.c), answered with its token and the hall's name.
 * {"token"} still checks a manager machine token (scripts, older pages):
 * the page asks before it stores the token, so a typo is caught at the
 * login form. */
static int admin__login(struct hq_api_req *req, void *arg)
{
    struct hq_admin *s = arg;
    if (*req->tail) return HQ_ERR_NOT_FOUND;
    /* guessing tokens from the LAN: a few tries, then one a dozen seconds */
    if (hq_api_login_backoff(req)) return HQ_OK;
    if (cJSON_GetObjectItemCaseSensitive(req->body, "staff")) {
        cJSON *extra = cJSON_CreateObject();
        cJSON_AddBoolToObject(extra, "ok", 1);
        cJSON_AddStringToObject(extra, "hall", s->d->cfg.hall_name);
        cJSON_AddStringToObject(extra, "hall_en", s->d->cfg.hall_name_en);
        return hqd_session_sign_in(req, "manager", extra);
    }
    cJSON *t = cJSON_GetObjectItemCaseSensitive(req->body, "token");
    if (!cJSON_IsString(t) || !*t->valuestring)
        return hq_api_reply_error(req, HQ_ERR_INVALID,
                                  "body needs \"staff\" and \"pin\" (or a manager \"token\")");
    const char *h = t->valuestring;
    size_t hl = strlen(h);
    bool ok = false;
    for (int i = 0; i < s->d->cfg.n_tokens; i++) {
        const struct hq_token_cfg *tk = &s->d->cfg.tokens[i];
        size_t tl = strlen(tk->token);
        /* constant time, as the API's own bearer check */
        unsigned diff = (unsigned)(hl ^ tl);
        for (size_t k = 0; k < tl; k++)
            diff |= (unsigned)(tk->token[k] ^ (k < hl ? h[k] : 0));
        if (!diff && strcmp(tk->role, "manager") == 0) ok = true;
    }
    if (!ok) {
        LOG_NOTICE("ADMIN", "dashboard login refused");
        return hq_api_reply_error(req, HQ_ERR_AUTH, "not a manager token");
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddStringToObject(o, "role", "manager");
    cJSON_AddStringToObject(o, "hall", s->d->cfg.hall_name);
    cJSON_AddStringToObject(o, "hall_en", s->d->cfg.hall_name_en);
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

/* Alarms at once on the next loop turn (an acknowledgement, a help call) instead of within
 * ADMIN_ALARM_MS: every open dashboard hears of it through the SSE `alarm`. */
static void admin__alarms_soon(struct hq_admin *s)
{
    s->publish_now = true;
    if (s->timer) hq_loop_timer_cancel(s->d->loop, s->timer);
    s->timer = hq_loop_timer(s->d->loop, 0, admin__alarm_tick, s);
}

/* POST /api/v1/admin/alarms/{key}/ack. A help call is answered through the engine (the
 * window's call closes, the event log and the central server say who answered); the
 * corrupt-database notice is the store's own acknowledgement; any other alarm is marked
 * acknowledged until its condition ends. */
static int admin__ack(struct hq_admin *s, struct hq_api_req *req, const char *key)
{
    struct hq_daemon *d = s->d;
    struct admin_alarm *al = NULL;
    size_t n = 0;
    char *keys = NULL;
    cJSON_Delete(admin__alarms(s, &keys, &al, &n));
    free(keys);
    size_t i = 0;
    while (i < n && strcmp(al[i].key, key) != 0)
        i++;
    if (i == n) {
        free(al);
        return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such alarm now");
    }
    struct admin_alarm a = al[i];
    free(al);
    int rc = HQ_OK;
    if (a.kind == ADMIN_AL_HELP) {
        struct hq_cmd cmd = {.type = HQ_CMD_HELP_ACK, .window = (uint16_t)atoi(a.subject)};
        rc = hqd_apply(d, &cmd);
        if (rc) return hq_api_reply_error(req, rc, hq_why_en(d->res.why));
    } else if (strcmp(a.key, "storage:corrupt") == 0) {
        rc = hq_store_notice_ack(d->store);
        if (rc) return hq_api_reply_error(req, rc, "no storage notice to acknowledge");
    }
    char ks[160];
    admin__ack_key(&a, ks, sizeof ks);
    if (!admin__has_key(s->acked, ks)) {
        struct admin_buf b = {0};
        if (s->acked) admin_buf_add(&b, s->acked, strlen(s->acked));
        admin_buf_add(&b, ks, strlen(ks));
        admin_buf_add(&b, "\n", 1);
        admin_buf_add(&b, "", 0);
        if (b.oom) {
            admin_buf_free(&b);
            return hq_api_reply_error(req, HQ_ERR_NOMEM, NULL);
        }
        free(s->acked);
        s->acked = b.p;
    }
    LOG_NOTICE("ADMIN", "alarm %s acknowledged by %s", a.key, req->who.actor);
    if (admin_alarm_reported(a.kind)) {
        cJSON *rec = admin__alarm_record(s, &a, "acknowledged", req->who.actor);
        admin__record(s, &rec, 1);
    }
    admin__alarms_soon(s);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "acknowledged", true);
    cJSON *j = admin_alarm_json(&a);
    cJSON_AddBoolToObject(j, "acknowledged", true);
    cJSON_AddItemToObject(o, "alarm", j);
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

/* A help call or its answer changes the alarms: say so at once, not within 5 s. Runs before
 * the command (hqd_on_check), so the tick it arms sees the command applied. */
static int admin__on_check(struct hq_daemon *d, const struct hq_cmd *cmd, void *arg)
{
    struct hq_admin *s = arg;
    (void)d;
    if (cmd->type == HQ_CMD_HELP || cmd->type == HQ_CMD_HELP_ACK) admin__alarms_soon(s);
    return HQ_OK;
}

static int admin__route(struct hq_api_req *req, void *arg)
{
    struct hq_admin *s = arg;
    const char *t = req->tail;
    bool get = strcmp(req->method, "GET") == 0;
    if (get && strcmp(t, "overview") == 0) return admin__overview(s, req);
    if (get && strcmp(t, "evaluations") == 0) return admin__evaluations(s, req);
    if (get && strcmp(t, "stats") == 0) return admin__stats(s, req);
    if (get && strncmp(t, "export/", 7) == 0) {
        int32_t day;
        bool tickets = strcmp(t + 7, "tickets.csv") == 0;
        if (!tickets && strcmp(t + 7, "evaluations.csv") != 0)
            return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such export");
        if (admin__day_arg(req, &day))
            return hq_api_reply_error(req, HQ_ERR_INVALID, "day must be YYYY-MM-DD");
        return tickets ? admin__csv_tickets(s, req, day) : admin__csv_evaluations(s, req, day);
    }
    if (strcmp(t, "storage/ack") == 0) {
        /* The manager has seen that a corrupt database was moved aside. */
        if (strcmp(req->method, "POST") != 0)
            return hq_api_reply_error(req, HQ_ERR_INVALID, "acknowledging is a POST");
        int rc = hq_store_notice_ack(s->d->store);
        if (rc) return hq_api_reply_error(req, rc, "no storage notice to acknowledge");
        LOG_NOTICE("ADMIN", "the corrupt-database notice was acknowledged");
        /* Re-evaluate the alarms on the next loop turn instead of within 5 s:
         * every open dashboard drops the notice through the SSE `alarm`. */
        s->publish_now = true;
        if (s->timer) hq_loop_timer_cancel(s->d->loop, s->timer);
        s->timer = hq_loop_timer(s->d->loop, 0, admin__alarm_tick, s);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "acknowledged", true);
        return hq_api_reply_json(req, MHD_HTTP_OK, o);
    }
    if (strncmp(t, "alarms/", 7) == 0) {
        size_t len = strlen(t + 7);
        if (len <= 4 || strcmp(t + 7 + len - 4, "/ack") != 0)
            return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such path");
        if (strcmp(req->method, "POST") != 0)
            return hq_api_reply_error(req, HQ_ERR_INVALID, "acknowledging is a POST");
        char key[160];
        if (len - 4 >= sizeof key)
            return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such alarm");
        snprintf(key, sizeof key, "%.*s", (int)(len - 4), t + 7);
        MHD_http_unescape(key); /* "help%3A3" from encodeURIComponent */
        return admin__ack(s, req, key);
    }
    if (hqd_callback_admin_owns(t)) return hqd_callback_admin(req, t);
    if (strncmp(t, "evaluations/", 12) == 0) {
        const char *u = t + 12, *slash = strchr(u, '/');
        char uuid[40];
        if (!slash || strcmp(slash, "/follow-up") != 0 || (size_t)(slash - u) >= sizeof uuid)
            return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such path");
        if (strcmp(req->method, "POST") != 0)
            return hq_api_reply_error(req, HQ_ERR_INVALID, "follow-up is a POST");
        snprintf(uuid, sizeof uuid, "%.*s", (int)(slash - u), u);
        return admin__follow_up(s, req, uuid);
    }
    return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such path");
}

/* --------------------------------------------------------------- module */

int hq_admin_init(struct hq_daemon *d)
{
    if (!d->api) {
        LOG_WARN("ADMIN", "no HTTP API: the manager dashboard is off");
        return HQ_OK;
    }
    struct hq_admin *s = &admin__state;
    memset(s, 0, sizeof *s);
    s->d = d;
    int rc = hq_api_route_for(d->api, "POST", "/api/v1/admin/login", HQ_AUTH_ANY, admin__login, s);
    if (!rc) rc = hq_api_route_for(d->api, NULL, "/api/v1/admin/", HQ_AUTH_ADMIN, admin__route, s);
    if (!rc) rc = hqd_on_check(d, admin__on_check, s);
    if (rc) return rc;
    s->timer = hq_loop_timer(d->loop, ADMIN_ALARM_MS, admin__alarm_tick, s);
    d->mod.admin = s;
    return HQ_OK;
}

void hq_admin_fini(struct hq_daemon *d)
{
    struct hq_admin *s = d->mod.admin;
    if (!s) return;
    if (s->timer) hq_loop_timer_cancel(d->loop, s->timer);
    s->timer = 0;
    free(s->alarm_keys);
    s->alarm_keys = NULL;
    free(s->acked);
    free(s->reported);
    s->acked = s->reported = NULL;
    d->mod.admin = NULL;
}
