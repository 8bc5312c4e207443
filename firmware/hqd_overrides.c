/*
 * hqd_overrides.c — the hall changed while it runs (hqd_overrides.h is the contract).
 *
 * One row per (kind, target) in the table `overrides`: kind "window" (target its number;
 * value {"temporary","closed","services","name","name_en"}: the window as it is now),
 * "hours" (a service code; {"day","open","close"} or {"day","closed":true,"message",...}:
 * today only), "quota" (a service code; {"daily_quota"}) and "notice" (target "";
 * {"notice","notice_en"}). A change that brings a value back to the file's deletes the row:
 * the list holds what differs, nothing else.
 *
 * Order of writes: the engine command commits first (its event-log and outbox rows, the
 * re-routed tickets), the override row right after it. A power cut between the two loses the
 * change (the manager, who got no answer, gives it again) but never strands a holder: the
 * re-route is in the command's own transaction. The notice is no engine command: its event
 * row, outbox record and override row share one transaction.
 */
#include "hqd_overrides.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "hqd_devices.h"
#include "loop.h"

#define OVR_SQL_TABLE                                                                              \
    "CREATE TABLE IF NOT EXISTS overrides(id INTEGER PRIMARY KEY AUTOINCREMENT,"                   \
    " kind TEXT NOT NULL, target TEXT NOT NULL, value TEXT NOT NULL, at INTEGER NOT NULL,"         \
    " actor TEXT NOT NULL, UNIQUE(kind, target))"

struct ovr {
    int64_t id;
    char kind[8];
    char target[16];
    cJSON *value;
    int64_t at;
    char actor[40];
};

struct hqd_overrides {
    struct hq_daemon *d;
    struct ovr *v;
    size_t n, cap;
    /* the file's values, as loaded (and re-read by a reload) */
    struct hq_window_cfg *base_win;
    size_t n_base_win;
    uint32_t base_quota[HQ_MAX_SERVICES];
    char base_notice[512], base_notice_en[512];
    /* the message of a service closed early today, by service index */
    bool inited;
};

/* ------------------------------------------------------------ helpers */

static void ovr__free_list(struct hqd_overrides *S)
{
    for (size_t i = 0; i < S->n; i++)
        cJSON_Delete(S->v[i].value);
    free(S->v);
    S->v = NULL;
    S->n = S->cap = 0;
}

static void ovr__snapshot_base(struct hq_daemon *d)
{
    struct hqd_overrides *S = d->mod.overrides;
    const struct hq_engine_cfg *e = &d->cfg.engine;
    size_t nb = 0;
    while (nb < e->n_windows && !e->windows[nb].temporary)
        nb++;
    struct hq_window_cfg *b = realloc(S->base_win, (nb ? nb : 1) * sizeof *b);
    if (b) {
        S->base_win = b;
        memcpy(b, e->windows, nb * sizeof *b);
        for (size_t i = 0; i < nb; i++)
            b[i].closed = false;
        S->n_base_win = nb;
    }
    for (size_t s = 0; s < e->n_services && s < HQ_MAX_SERVICES; s++)
        S->base_quota[s] = e->services[s].daily_quota;
    snprintf(S->base_notice, sizeof S->base_notice, "%s", d->cfg.notice);
    snprintf(S->base_notice_en, sizeof S->base_notice_en, "%s", d->cfg.notice_en);
}

static int ovr__window_idx(const struct hq_engine_cfg *e, unsigned number)
{
    for (size_t i = 0; i < e->n_windows; i++)
        if (e->windows[i].number == number) return (int)i;
    return -1;
}

static int ovr__service_idx(const struct hq_engine_cfg *e, const char *code)
{
    for (size_t i = 0; code && i < e->n_services; i++)
        if (strcmp(e->services[i].code, code) == 0) return (int)i;
    return -1;
}

static const char *ovr__str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool ovr__num(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) return false;
    *out = v->valuedouble;
    return true;
}

/* "HH:MM" → minutes after midnight (24:00 allowed as a close), -1 if malformed. */
static int ovr__hhmm(const char *s)
{
    unsigned h, m;
    char tail;
    if (!s || sscanf(s, "%2u:%2u%c", &h, &m, &tail) != 2 || strlen(s) != 5) return -1;
    if (m > 59 || h > 24 || (h == 24 && m)) return -1;
    return (int)(h * 60 + m);
}

/* A "services" array of codes into indices, as the file's windows[].services: 1..16 known
 * codes, none twice. NULL, or the error for the reply in *why. */
static int ovr__services(const struct hq_engine_cfg *e, const cJSON *arr, uint8_t out[16],
                         uint8_t *n, const char **why)
{
    *n = 0;
    if (!cJSON_IsArray(arr)) return (*why = "services must be an array of service codes"), 1;
    int cnt = cJSON_GetArraySize(arr);
    if (cnt < 1 || cnt > HQ_MAX_WINDOW_SERVICES)
        return (*why = "services must hold 1 to 16 service codes"), 1;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        int s = cJSON_IsString(it) ? ovr__service_idx(e, it->valuestring) : -1;
        if (s < 0) return (*why = "services: no such service code"), 1;
        for (uint8_t k = 0; k < *n; k++)
            if (out[k] == s) return (*why = "services: a service is named twice"), 1;
        out[(*n)++] = (uint8_t)s;
    }
    return 0;
}

/* ------------------------------------------------ applying to the config */

/* Apply one stored override to d->cfg (start, after a reload). false, with the reason in
 * why, when it no longer fits the file: the caller drops it with a log line. */
static bool ovr__apply(struct hq_daemon *d, const struct ovr *o, int32_t today, char *why,
                       size_t wl)
{
    struct hq_engine_cfg *e = &d->cfg.engine;
    if (strcmp(o->kind, "notice") == 0) {
        const char *zh = ovr__str(o->value, "notice"), *en = ovr__str(o->value, "notice_en");
        snprintf(d->cfg.notice, sizeof d->cfg.notice, "%s", zh ? zh : "");
        snprintf(d->cfg.notice_en, sizeof d->cfg.notice_en, "%s", en ? en : "");
        return true;
    }
    if (strcmp(o->kind, "window") == 0) {
        unsigned number = (unsigned)strtoul(o->target, NULL, 10);
        uint8_t sv[HQ_MAX_WINDOW_SERVICES], n;
        const char *w2;
        if (ovr__services(e, cJSON_GetObjectItemCaseSensitive(o->value, "services"), sv, &n, &w2)) {
            snprintf(why, wl, "window %u: a service it names is no longer in the configuration",
                     number);
            return false;
        }
        bool temporary = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o->value, "temporary"));
        bool closed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o->value, "closed"));
        int wi = ovr__window_idx(e, number);
        if (!temporary && (wi < 0 || e->windows[wi].temporary)) {
            snprintf(why, wl, "window %u is no longer in the configuration", number);
            return false;
        }
        if (temporary && wi >= 0 && !e->windows[wi].temporary) {
            snprintf(why, wl, "window %u is in the configuration file now", number);
            return false;
        }
        if (wi < 0) {
            if (e->n_windows >= e->max_windows) {
                snprintf(why, wl, "window %u: no room left (queue.max_windows)", number);
                return false;
            }
            wi = (int)e->n_windows++;
            struct hq_window_cfg *wc = &e->windows[wi];
            memset(wc, 0, sizeof *wc);
            wc->number = (uint16_t)number;
            wc->temporary = true;
            const char *nm = ovr__str(o->value, "name"), *ne = ovr__str(o->value, "name_en");
            snprintf(wc->name, sizeof wc->name, "%s", nm ? nm : "");
            snprintf(wc->name_en, sizeof wc->name_en, "%s", ne ? ne : "");
        }
        struct hq_window_cfg *wc = &e->windows[wi];
        memcpy(wc->services, sv, n);
        wc->n_services = n;
        wc->closed = closed;
        return true;
    }
    int s = ovr__service_idx(e, o->target);
    if (s < 0) {
        snprintf(why, wl, "service %s is no longer in the configuration", o->target);
        return false;
    }
    if (strcmp(o->kind, "quota") == 0) {
        double q = 0;
        if (!ovr__num(o->value, "daily_quota", &q) || q < 0 || q > 100000) {
            snprintf(why, wl, "service %s: a bad daily_quota", o->target);
            return false;
        }
        e->services[s].daily_quota = (uint32_t)q;
        return true;
    }
    if (strcmp(o->kind, "hours") == 0) {
        double day = 0, op = 0, cl = 0;
        ovr__num(o->value, "day", &day);
        if ((int32_t)day != today) {
            snprintf(why, wl, "service %s: its hours were for another day", o->target);
            return false;
        }
        struct hq_date_override *t = &e->services[s].today;
        t->day = today;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o->value, "closed"))) {
            t->hours.n = 0;
        } else {
            ovr__num(o->value, "open", &op);
            ovr__num(o->value, "close", &cl);
            t->hours.n = 1;
            t->hours.iv[0].open_min = (uint16_t)op;
            t->hours.iv[0].close_min = (uint16_t)cl;
        }
        return true;
    }
    snprintf(why, wl, "unknown kind \"%s\"", o->kind);
    return false;
}

static void ovr__delete_row(struct hq_daemon *d, int64_t id)
{
    if (hq_store_begin(d->store)) return;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(hq_store_db(d->store), "DELETE FROM overrides WHERE id=?", -1, &st,
                                NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    hq_store_end(d->store, rc != SQLITE_OK);
}

/* Apply the in-memory list; drop (and delete) what no longer fits. */
static void ovr__apply_all(struct hq_daemon *d)
{
    struct hqd_overrides *S = d->mod.overrides;
    int32_t today = hq_engine_day_of(&d->cfg.engine, hq_loop_wall_s());
    for (size_t i = 0; i < S->n;) {
        char why[160];
        if (ovr__apply(d, &S->v[i], today, why, sizeof why)) {
            i++;
            continue;
        }
        LOG_NOTICE("OVERRIDE", "override %lld (%s %s) dropped: %s", (long long)S->v[i].id,
                   S->v[i].kind, S->v[i].target, why);
        ovr__delete_row(d, S->v[i].id);
        cJSON_Delete(S->v[i].value);
        memmove(&S->v[i], &S->v[i + 1], (S->n - i - 1) * sizeof *S->v);
        S->n--;
    }
}

static int ovr__read_rows(struct hq_daemon *d)
{
    struct hqd_overrides *S = d->mod.overrides;
    sqlite3 *db = hq_store_db(d->store);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, kind, target, value, at, actor FROM overrides ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    ovr__free_list(S);
    int rc = HQ_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (S->n == S->cap) {
            size_t cap = S->cap ? S->cap * 2 : 16;
            struct ovr *v = realloc(S->v, cap * sizeof *v);
            if (!v) {
                rc = HQ_ERR_NOMEM;
                break;
            }
            S->v = v;
            S->cap = cap;
        }
        struct ovr *o = &S->v[S->n];
        memset(o, 0, sizeof *o);
        o->id = sqlite3_column_int64(st, 0);
        snprintf(o->kind, sizeof o->kind, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(o->target, sizeof o->target, "%s", (const char *)sqlite3_column_text(st, 2));
        o->value = cJSON_Parse((const char *)sqlite3_column_text(st, 3));
        o->at = sqlite3_column_int64(st, 4);
        snprintf(o->actor, sizeof o->actor, "%s", (const char *)sqlite3_column_text(st, 5));
        if (!cJSON_IsObject(o->value)) {
            cJSON_Delete(o->value);
            o->value = cJSON_CreateObject(); /* dropped by ovr__apply as a bad value */
        }
        S->n++;
    }
    sqlite3_finalize(st);
    return rc;
}

int hqd_overrides_load(struct hq_daemon *d)
{
    /* load runs before the module table starts (the engine needs the windows first), so
     * the state is made here; fini releases it */
    if (!d->mod.overrides && !(d->mod.overrides = calloc(1, sizeof *d->mod.overrides)))
        return HQ_ERR_NOMEM;
    struct hqd_overrides *S = d->mod.overrides;
    struct hq_engine_cfg *e = &d->cfg.engine;
    size_t cap = e->max_windows > e->n_windows ? e->max_windows : e->n_windows;
    if (cap > HQ_MAX_WINDOWS) cap = HQ_MAX_WINDOWS;
    struct hq_window_cfg *w = realloc(e->windows, cap * sizeof *w);
    if (!w) return HQ_ERR_NOMEM;
    e->windows = w;
    e->max_windows = (uint16_t)cap;
    ovr__snapshot_base(d);
    if (hq_store_begin(d->store)) return HQ_ERR_DB;
    int rc = sqlite3_exec(hq_store_db(d->store), OVR_SQL_TABLE, NULL, NULL, NULL);
    if (hq_store_end(d->store, rc != SQLITE_OK) || rc != SQLITE_OK) return HQ_ERR_DB;
    if ((rc = ovr__read_rows(d))) return rc;
    ovr__apply_all(d);
    if (S->n) LOG_NOTICE("OVERRIDE", "%zu run-time change(s) on the configuration", S->n);
    return HQ_OK;
}

void hqd_overrides_unapply(struct hq_daemon *d)
{
    struct hqd_overrides *S = d->mod.overrides;
    if (!S) return;
    struct hq_engine_cfg *e = &d->cfg.engine;
    for (size_t i = 0; i < S->n_base_win && i < e->n_windows; i++) {
        memcpy(e->windows[i].services, S->base_win[i].services, HQ_MAX_WINDOW_SERVICES);
        e->windows[i].n_services = S->base_win[i].n_services;
        e->windows[i].closed = false;
    }
    for (size_t s = 0; s < e->n_services && s < HQ_MAX_SERVICES; s++) {
        e->services[s].daily_quota = S->base_quota[s];
        e->services[s].today.day = 0;
    }
    snprintf(d->cfg.notice, sizeof d->cfg.notice, "%s", S->base_notice);
    snprintf(d->cfg.notice_en, sizeof d->cfg.notice_en, "%s", S->base_notice_en);
}

void hqd_overrides_reapply(struct hq_daemon *d)
{
    if (!d->mod.overrides) return;
    ovr__snapshot_base(d); /* the new file's values (the notice may have changed) */
    ovr__apply_all(d);
}

/* ------------------------------------------------------- saving a change */

static cJSON *ovr__window_value(const struct hq_engine_cfg *e, int wi)
{
    const struct hq_window_cfg *wc = &e->windows[wi];
    cJSON *v = cJSON_CreateObject();
    cJSON_AddBoolToObject(v, "temporary", wc->temporary);
    cJSON_AddBoolToObject(v, "closed", wc->closed);
    cJSON *sv = cJSON_AddArrayToObject(v, "services");
    for (size_t k = 0; k < wc->n_services; k++)
        cJSON_AddItemToArray(sv, cJSON_CreateString(e->services[wc->services[k]].code));
    cJSON_AddStringToObject(v, "name", wc->name);
    cJSON_AddStringToObject(v, "name_en", wc->name_en);
    return v;
}

/* Is window wi as the file has it? */
static bool ovr__window_is_base(const struct hqd_overrides *S, const struct hq_engine_cfg *e,
                                int wi)
{
    const struct hq_window_cfg *wc = &e->windows[wi];
    if (wc->temporary || wc->closed || (size_t)wi >= S->n_base_win) return false;
    const struct hq_window_cfg *b = &S->base_win[wi];
    return b->n_services == wc->n_services && !memcmp(b->services, wc->services, wc->n_services);
}

/* Write (value != NULL; consumed) or delete the row of (kind, target), in the open
 * transaction when in_tx, else in one of its own; the list in memory follows. */
static int ovr__save(struct hq_daemon *d, const char *kind, const char *target, cJSON *value,
                     const char *actor, bool in_tx)
{
    struct hqd_overrides *S = d->mod.overrides;
    int64_t now = hq_loop_wall_s();
    if (!in_tx && hq_store_begin(d->store)) {
        cJSON_Delete(value);
        return HQ_ERR_DISK_FULL;
    }
    sqlite3 *db = hq_store_db(d->store);
    sqlite3_stmt *st = NULL;
    char *text = value ? cJSON_PrintUnformatted(value) : NULL;
    int rc = SQLITE_ERROR;
    const char *sql = value ? "INSERT INTO overrides(kind, target, value, at, actor) "
                              "VALUES(?1,?2,?3,?4,?5) ON CONFLICT(kind, target) DO UPDATE SET "
                              "value=excluded.value, at=excluded.at, actor=excluded.actor "
                              "RETURNING id"
                            : "DELETE FROM overrides WHERE kind=?1 AND target=?2";
    int64_t id = 0;
    if ((!value || text) && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
        if (value) {
            sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, now);
            sqlite3_bind_text(st, 5, actor, -1, SQLITE_STATIC);
        }
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW) {
            id = sqlite3_column_int64(st, 0);
            s = sqlite3_step(st);
        }
        rc = s == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    free(text);
    int erc = in_tx ? HQ_OK : hq_store_end(d->store, rc != SQLITE_OK);
    if (rc != SQLITE_OK || erc) {
        LOG_ERR("OVERRIDE", "cannot write the override %s %s: %s", kind, target,
                sqlite3_errmsg(db));
        cJSON_Delete(value);
        return rc != SQLITE_OK ? HQ_ERR_DB : erc;
    }
    /* the list in memory */
    size_t i;
    for (i = 0; i < S->n; i++)
        if (!strcmp(S->v[i].kind, kind) && !strcmp(S->v[i].target, target)) break;
    if (!value) {
        if (i < S->n) {
            cJSON_Delete(S->v[i].value);
            memmove(&S->v[i], &S->v[i + 1], (S->n - i - 1) * sizeof *S->v);
            S->n--;
        }
        return HQ_OK;
    }
    if (i == S->n) {
        if (S->n == S->cap) {
            size_t cap = S->cap ? S->cap * 2 : 16;
            struct ovr *v = realloc(S->v, cap * sizeof *v);
            if (!v) {
                cJSON_Delete(value);
                return HQ_ERR_NOMEM;
            }
            S->v = v;
            S->cap = cap;
        }
        memset(&S->v[i], 0, sizeof S->v[i]);
        S->n++;
    } else {
        cJSON_Delete(S->v[i].value);
    }
    struct ovr *o = &S->v[i];
    o->id = id;
    snprintf(o->kind, sizeof o->kind, "%s", kind);
    snprintf(o->target, sizeof o->target, "%s", target);
    o->value = value;
    o->at = now;
    snprintf(o->actor, sizeof o->actor, "%s", actor);
    return HQ_OK;
}

static int ovr__save_window(struct hq_daemon *d, unsigned number, const char *actor)
{
    struct hqd_overrides *S = d->mod.overrides;
    char target[16];
    snprintf(target, sizeof target, "%u", number);
    const struct hq_engine_cfg *e = &d->cfg.engine;
    int wi = ovr__window_idx(e, number);
    if (wi < 0) return HQ_ERR_NOT_FOUND;
    /* A closed temporary window is kept as a row until the day ends? No: closed is closed; a
     * restart need not rebuild it. Its row goes, as does one back at the file's values. */
    if ((e->windows[wi].temporary && e->windows[wi].closed) || ovr__window_is_base(S, e, wi))
        return ovr__save(d, "window", target, NULL, actor, false);
    cJSON *v = ovr__window_value(e, wi);
    /* a temporary window's devices stay with it through a change of its services */
    for (size_t i = 0; i < S->n; i++)
        if (!strcmp(S->v[i].kind, "window") && !strcmp(S->v[i].target, target)) {
            const cJSON *dv = cJSON_GetObjectItemCaseSensitive(S->v[i].value, "devices");
            if (cJSON_IsObject(dv)) cJSON_AddItemToObject(v, "devices", cJSON_Duplicate(dv, 1));
        }
    return ovr__save(d, "window", target, v, actor, false);
}

/* The devices a temporary window was opened with, into its row (after ovr__save_window). */
static int ovr__save_devices(struct hq_daemon *d, unsigned number, const cJSON *devices,
                             const char *actor)
{
    struct hqd_overrides *S = d->mod.overrides;
    char target[16];
    snprintf(target, sizeof target, "%u", number);
    for (size_t i = 0; i < S->n; i++) {
        if (strcmp(S->v[i].kind, "window") || strcmp(S->v[i].target, target)) continue;
        cJSON *v = cJSON_Duplicate(S->v[i].value, 1);
        if (!v) return HQ_ERR_NOMEM;
        cJSON_DeleteItemFromObjectCaseSensitive(v, "devices");
        if (devices) cJSON_AddItemToObject(v, "devices", cJSON_Duplicate(devices, 1));
        return ovr__save(d, "window", target, v, actor, false);
    }
    return HQ_ERR_NOT_FOUND;
}

/* ----------------------------------------------------------------- routes */

static int ovr__reply_why(struct hq_api_req *req, int err, int why)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", hq_strerror(err));
    cJSON_AddStringToObject(o, "reason", hq_why_code(why));
    cJSON_AddStringToObject(o, "message", hq_why_zh(why));
    cJSON_AddStringToObject(o, "message_en", hq_why_en(why));
    return hq_api_reply_json(req, hq_api_http_status(err), o);
}

/* Run one engine command for the manager and commit it now (the override row follows it). */
static int ovr__run(struct hq_api_req *req, struct hq_cmd *cmd)
{
    struct hq_daemon *d = req->d;
    if (d->storage_degraded || d->storage_backlog_full)
        return hq_api_reply_error(req, HQ_ERR_DISK_FULL,
                                  "the database cannot be written: no run-time changes now");
    uint64_t failures = d->commit_failures;
    int rc = hqd_apply(d, cmd);
    if (rc) {
        if (d->res.err == rc && d->res.why) return ovr__reply_why(req, rc, d->res.why);
        return hq_api_reply_error(req, rc, NULL);
    }
    hqd_flush(d);
    if (d->commit_failures != failures || d->storage_degraded)
        return hq_api_reply_error(req, HQ_ERR_DB, "the change could not be written");
    return HQ_OK;
}

static cJSON *ovr__json(const struct ovr *o, int32_t utc_offset)
{
    cJSON *j = cJSON_CreateObject();
    char ts[32];
    cJSON_AddNumberToObject(j, "id", (double)o->id);
    cJSON_AddStringToObject(j, "kind", o->kind);
    cJSON_AddStringToObject(j, "target", o->target);
    cJSON_AddItemToObject(j, "value", cJSON_Duplicate(o->value, 1));
    hq_time_rfc3339(o->at, utc_offset, ts);
    cJSON_AddStringToObject(j, "at", ts);
    cJSON_AddStringToObject(j, "actor", o->actor);
    return j;
}

static cJSON *ovr__list_json(struct hq_daemon *d)
{
    struct hqd_overrides *S = d->mod.overrides;
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < S->n; i++)
        cJSON_AddItemToArray(a, ovr__json(&S->v[i], d->cfg.engine.utc_offset_s));
    return a;
}

/* Pages refresh what they show from this (the window and queue events came with the command). */
static int ovr__done(struct hq_api_req *req, const char *what)
{
    struct hq_daemon *d = req->d;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "change", what);
    cJSON_AddItemToObject(ev, "overrides", ovr__list_json(d));
    cJSON_AddStringToObject(ev, "notice", d->cfg.notice);
    cJSON_AddStringToObject(ev, "notice_en", d->cfg.notice_en);
    hq_api_publish(d->api, "override", ev);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddItemToObject(o, "overrides", ovr__list_json(d));
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

static uint16_t ovr__reroute(const cJSON *body)
{
    double v = 0;
    return ovr__num(body, "reroute_to", &v) && v >= 1 && v <= 999 ? (uint16_t)v : 0;
}

static int ovr__window_open(struct hq_api_req *req)
{
    struct hq_daemon *d = req->d;
    double num = 0;
    if (!ovr__num(req->body, "number", &num) || num < 1 || num > 999 || num != (int)num)
        return hq_api_reply_error(req, HQ_ERR_INVALID, "number must be a window number 1..999");
    struct hq_cmd cmd = {.type = HQ_CMD_WINDOW_OPEN, .window = (uint16_t)num};
    const char *why;
    if (ovr__services(&d->cfg.engine, cJSON_GetObjectItemCaseSensitive(req->body, "services"),
                      cmd.u.admin.services, &cmd.u.admin.n_services, &why))
        return hq_api_reply_error(req, HQ_ERR_INVALID, why);
    const char *nm = ovr__str(req->body, "name"), *ne = ovr__str(req->body, "name_en");
    if ((nm && strlen(nm) >= sizeof cmd.u.admin.name) ||
        (ne && strlen(ne) >= sizeof cmd.u.admin.name_en))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "name: at most 63 bytes");
    if (nm) snprintf(cmd.u.admin.name, sizeof cmd.u.admin.name, "%s", nm);
    if (ne) snprintf(cmd.u.admin.name_en, sizeof cmd.u.admin.name_en, "%s", ne);
    /* Its own devices, as a devices.windows[] entry of the file declares them, checked by the
     * same code before anything changes. Only a temporary window takes them: a window of the
     * file has its devices in the file. */
    const cJSON *devices = cJSON_GetObjectItemCaseSensitive(req->body, "devices");
    struct hq_devwin_cfg dc;
    if (devices && !cJSON_IsNull(devices)) {
        int wi = ovr__window_idx(&d->cfg.engine, cmd.window);
        if (wi >= 0 && !d->cfg.engine.windows[wi].temporary)
            return hq_api_reply_error(req, HQ_ERR_INVALID,
                                      "request: $.devices: this window's devices are in the "
                                      "configuration file (devices.windows)");
        char err[512];
        int crc = hqd_devices_check(d, cmd.window, devices, &dc, err, sizeof err);
        if (crc) return hq_api_reply_error(req, crc == HQ_ERR_CONFIG ? HQ_ERR_INVALID : crc, err);
    } else {
        devices = NULL;
    }
    int rc = ovr__run(req, &cmd);
    if (rc || req->answered) return rc;
    if ((rc = ovr__save_window(d, cmd.window, req->who.actor)) ||
        (devices && (rc = ovr__save_devices(d, cmd.window, devices, req->who.actor))))
        return hq_api_reply_error(req, rc, "opened, but the change could not be kept");
    if (devices && (rc = hqd_devices_attach(d, &dc))) {
        LOG_ERR("OVERRIDE", "window %u: its devices could not be attached: %s",
                (unsigned)cmd.window, hq_strerror(rc));
        return hq_api_reply_error(req, rc, "opened, but its devices could not be attached");
    }
    LOG_NOTICE("OVERRIDE", "window %u opened by %s%s", (unsigned)cmd.window, req->who.actor,
               devices ? " with its own devices" : "");
    return ovr__done(req, "window_open");
}

static int ovr__window_cmd(struct hq_api_req *req, unsigned number, const char *verb)
{
    struct hq_daemon *d = req->d;
    struct hq_cmd cmd = {.window = (uint16_t)number};
    if (strcmp(verb, "close") == 0) {
        cmd.type = HQ_CMD_WINDOW_CLOSE;
        cmd.u.admin.reroute_to = ovr__reroute(req->body);
    } else if (strcmp(verb, "services") == 0) {
        cmd.type = HQ_CMD_WINDOW_SERVICES;
        const char *why;
        if (ovr__services(&d->cfg.engine, cJSON_GetObjectItemCaseSensitive(req->body, "services"),
                          cmd.u.admin.services, &cmd.u.admin.n_services, &why))
            return hq_api_reply_error(req, HQ_ERR_INVALID, why);
    } else {
        return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such path");
    }
    int rc = ovr__run(req, &cmd);
    if (rc || req->answered) return rc;
    if ((rc = ovr__save_window(d, number, req->who.actor)))
        return hq_api_reply_error(req, rc, "done, but the change could not be kept");
    LOG_NOTICE("OVERRIDE", "window %u: %s by %s", number, verb, req->who.actor);
    return ovr__done(req, strcmp(verb, "close") == 0 ? "window_close" : "window_services");
}

static int ovr__service(struct hq_api_req *req, const char *code)
{
    struct hqd_overrides *S = req->d->mod.overrides;
    struct hq_daemon *d = req->d;
    int s = ovr__service_idx(&d->cfg.engine, code);
    if (s < 0) return ovr__reply_why(req, HQ_ERR_NOT_FOUND, HQ_WHY_NO_SERVICE);
    const cJSON *hours = cJSON_GetObjectItemCaseSensitive(req->body, "hours");
    const cJSON *quota = cJSON_GetObjectItemCaseSensitive(req->body, "daily_quota");
    const cJSON *close = cJSON_GetObjectItemCaseSensitive(req->body, "close");
    if ((hours != NULL) + (quota != NULL) + (close != NULL) != 1)
        return hq_api_reply_error(req, HQ_ERR_INVALID,
                                  "give exactly one of \"hours\", \"daily_quota\", \"close\"");
    struct hq_cmd cmd = {.u.admin.service = (uint8_t)s};
    const char *msg = NULL, *msg_en = NULL, *kind;
    if (hours) {
        int op = ovr__hhmm(ovr__str(hours, "open")), cl = ovr__hhmm(ovr__str(hours, "close"));
        if (op < 0 || cl < 0 || op >= cl)
            return hq_api_reply_error(req, HQ_ERR_INVALID,
                                      "hours: {\"open\":\"HH:MM\",\"close\":\"HH:MM\"}, open "
                                      "before close");
        cmd.type = HQ_CMD_SERVICE_HOURS;
        cmd.u.admin.open_min = (uint16_t)op;
        cmd.u.admin.close_min = (uint16_t)cl;
        kind = "hours";
    } else if (quota) {
        if (!cJSON_IsNumber(quota) || quota->valuedouble < 0 || quota->valuedouble > 100000 ||
            quota->valuedouble != (int)quota->valuedouble)
            return hq_api_reply_error(req, HQ_ERR_INVALID,
                                      "daily_quota must be an integer between 0 and 100000");
        cmd.type = HQ_CMD_SERVICE_QUOTA;
        cmd.u.admin.quota = (uint32_t)quota->valuedouble;
        kind = "quota";
    } else {
        if (!cJSON_IsTrue(close))
            return hq_api_reply_error(req, HQ_ERR_INVALID, "close must be true");
        msg = ovr__str(req->body, "message");
        msg_en = ovr__str(req->body, "message_en");
        if (!msg || !*msg || strlen(msg) > 200 || (msg_en && strlen(msg_en) > 200))
            return hq_api_reply_error(req, HQ_ERR_INVALID,
                                      "closing early needs a \"message\" (at most 200 bytes) for "
                                      "the display");
        cmd.type = HQ_CMD_SERVICE_CLOSE;
        cmd.u.admin.reroute_to = ovr__reroute(req->body);
        kind = "hours";
    }
    int rc = ovr__run(req, &cmd);
    if (rc || req->answered) return rc;
    cJSON *v = NULL;
    if (cmd.type == HQ_CMD_SERVICE_QUOTA) {
        if (cmd.u.admin.quota != S->base_quota[s]) {
            v = cJSON_CreateObject();
            cJSON_AddNumberToObject(v, "daily_quota", cmd.u.admin.quota);
        }
    } else {
        v = cJSON_CreateObject();
        cJSON_AddNumberToObject(v, "day", d->eng.day);
        if (cmd.type == HQ_CMD_SERVICE_CLOSE) {
            cJSON_AddBoolToObject(v, "closed", 1);
            cJSON_AddStringToObject(v, "message", msg);
            cJSON_AddStringToObject(v, "message_en", msg_en ? msg_en : "");
            if (cmd.u.admin.reroute_to)
                cJSON_AddNumberToObject(v, "reroute_to", cmd.u.admin.reroute_to);
        } else {
            cJSON_AddNumberToObject(v, "open", cmd.u.admin.open_min);
            cJSON_AddNumberToObject(v, "close", cmd.u.admin.close_min);
        }
    }
    if ((rc = ovr__save(d, kind, code, v, req->who.actor, false)))
        return hq_api_reply_error(req, rc, "done, but the change could not be kept");
    LOG_NOTICE("OVERRIDE", "service %s: %s changed by %s", code, kind, req->who.actor);
    return ovr__done(req, hq_cmd_name(cmd.type));
}

/* The notice: no engine command; its event row, outbox record and override row in one
 * transaction. */
static int ovr__set_notice(struct hq_api_req *req, const char *zh, const char *en)
{
    struct hqd_overrides *S = req->d->mod.overrides;
    struct hq_daemon *d = req->d;
    int64_t now = hq_loop_wall_s();
    int rc = hq_store_begin(d->store);
    if (rc) return hq_api_reply_error(req, rc, "the database cannot be written");
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "kind", "notice");
    cJSON_AddStringToObject(data, "notice", zh);
    cJSON_AddStringToObject(data, "notice_en", en);
    char *text = cJSON_PrintUnformatted(data);
    sqlite3_stmt *st = NULL;
    int src = SQLITE_ERROR;
    if (text && sqlite3_prepare_v2(hq_store_db(d->store),
                                   "INSERT INTO events(at, kind, data, actor) VALUES(?,?,?,?)", -1,
                                   &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_text(st, 2, "notice", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, req->who.actor, -1, SQLITE_STATIC);
        src = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    free(text);
    cJSON_AddStringToObject(data, "actor", req->who.actor);
    if (src == SQLITE_OK) {
        rc = hq_store_outbox_add(d->store, "event", now, data);
    } else {
        cJSON_Delete(data);
        rc = HQ_ERR_DB;
    }
    cJSON *v = NULL;
    bool base = !strcmp(zh, S->base_notice) && !strcmp(en, S->base_notice_en);
    if (!rc && !base) {
        v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "notice", zh);
        cJSON_AddStringToObject(v, "notice_en", en);
    }
    if (!rc) rc = ovr__save(d, "notice", "", v, req->who.actor, true);
    int erc = hq_store_end(d->store, rc != HQ_OK);
    if (rc || erc) {
        /* the list may hold what the rollback took back: read it again */
        ovr__read_rows(d);
        return hq_api_reply_error(req, rc ? rc : erc, "the notice could not be written");
    }
    snprintf(d->cfg.notice, sizeof d->cfg.notice, "%s", zh);
    snprintf(d->cfg.notice_en, sizeof d->cfg.notice_en, "%s", en);
    LOG_NOTICE("OVERRIDE", "the display's notice changed by %s", req->who.actor);
    return ovr__done(req, "notice");
}

static int ovr__notice(struct hq_api_req *req)
{
    const char *zh = ovr__str(req->body, "notice"), *en = ovr__str(req->body, "notice_en");
    if (!zh || (!en && cJSON_GetObjectItemCaseSensitive(req->body, "notice_en")))
        return hq_api_reply_error(req, HQ_ERR_INVALID,
                                  "body needs \"notice\" (and optionally \"notice_en\") strings");
    if (strlen(zh) >= sizeof req->d->cfg.notice || (en && strlen(en) >= sizeof req->d->cfg.notice))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "notice: at most 511 bytes");
    for (const char *p = zh; *p; p++)
        if ((unsigned char)*p < 0x20)
            return hq_api_reply_error(req, HQ_ERR_INVALID, "notice: no control characters");
    return ovr__set_notice(req, zh, en ? en : "");
}

static int ovr__revert(struct hq_api_req *req, int64_t id)
{
    struct hqd_overrides *S = req->d->mod.overrides;
    struct hq_daemon *d = req->d;
    struct ovr *o = NULL;
    for (size_t i = 0; i < S->n; i++)
        if (S->v[i].id == id) o = &S->v[i];
    if (!o) return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such override");
    char kind[8], target[16];
    snprintf(kind, sizeof kind, "%s", o->kind);
    snprintf(target, sizeof target, "%s", o->target);
    const struct hq_engine_cfg *e = &d->cfg.engine;
    if (strcmp(kind, "notice") == 0) return ovr__set_notice(req, S->base_notice, S->base_notice_en);
    struct hq_cmd cmd = {0};
    if (strcmp(kind, "window") == 0) {
        unsigned number = (unsigned)strtoul(target, NULL, 10);
        int wi = ovr__window_idx(e, number);
        if (wi < 0) return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such window");
        cmd.window = (uint16_t)number;
        if (e->windows[wi].temporary) {
            cmd.type = HQ_CMD_WINDOW_CLOSE;
            cmd.u.admin.reroute_to = ovr__reroute(req->body);
        } else {
            const struct hq_window_cfg *b = &S->base_win[wi];
            cmd.type = e->windows[wi].closed ? HQ_CMD_WINDOW_OPEN : HQ_CMD_WINDOW_SERVICES;
            memcpy(cmd.u.admin.services, b->services, b->n_services);
            cmd.u.admin.n_services = b->n_services;
        }
    } else {
        int s = ovr__service_idx(e, target);
        if (s < 0) return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such service");
        cmd.u.admin.service = (uint8_t)s;
        if (strcmp(kind, "quota") == 0) {
            cmd.type = HQ_CMD_SERVICE_QUOTA;
            cmd.u.admin.quota = S->base_quota[s];
        } else {
            cmd.type = HQ_CMD_SERVICE_HOURS; /* 0-0: the file's hours again */
        }
    }
    int rc = ovr__run(req, &cmd);
    if (rc || req->answered) return rc;
    if ((rc = ovr__save(d, kind, target, NULL, req->who.actor, false)))
        return hq_api_reply_error(req, rc, "reverted, but the row could not be removed");
    LOG_NOTICE("OVERRIDE", "override %lld (%s %s) reverted by %s", (long long)id, kind, target,
               req->who.actor);
    return ovr__done(req, "revert");
}

static int ovr__route(struct hq_api_req *req, void *arg)
{
    (void)arg;
    const char *u = req->url + strlen("/api/v1/admin/");
    bool post = strcmp(req->method, "POST") == 0;
    if (!post && strcmp(u, "overrides") == 0 && strcmp(req->method, "GET") == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "overrides", ovr__list_json(req->d));
        return hq_api_reply_json(req, MHD_HTTP_OK, o);
    }
    if (!post) return hq_api_reply_error(req, HQ_ERR_INVALID, "changes are a POST");
    if (!req->body) return hq_api_reply_error(req, HQ_ERR_INVALID, "a JSON object body");
    if (strcmp(u, "windows") == 0) return ovr__window_open(req);
    if (strcmp(u, "notice") == 0) return ovr__notice(req);
    unsigned n;
    char verb[16], tail;
    if (sscanf(u, "windows/%u/%15[a-z]%c", &n, verb, &tail) == 2 && n >= 1 && n <= 999)
        return ovr__window_cmd(req, n, verb);
    if (strncmp(u, "services/", 9) == 0 && u[9] && !strchr(u + 9, '/') && strlen(u + 9) < 16)
        return ovr__service(req, u + 9);
    long long id;
    if (sscanf(u, "overrides/%lld/revert%c", &id, &tail) == 1) return ovr__revert(req, id);
    return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such path");
}

static void ovr__status(struct hq_daemon *d, cJSON *status, void *arg)
{
    struct hqd_overrides *S = d->mod.overrides;
    (void)arg;
    cJSON_AddItemToObject(status, "overrides", ovr__list_json(d));
    /* a service closed early today: its message for the display and the kiosk */
    cJSON *svcs = cJSON_GetObjectItemCaseSensitive(status, "services");
    for (size_t i = 0; i < S->n; i++) {
        const struct ovr *o = &S->v[i];
        if (strcmp(o->kind, "hours") || !cJSON_IsTrue(cJSON_GetObjectItem(o->value, "closed")))
            continue;
        cJSON *it;
        cJSON_ArrayForEach(it, svcs)
        {
            const char *code = ovr__str(it, "code");
            if (!code || strcmp(code, o->target)) continue;
            const char *m = ovr__str(o->value, "message"), *me = ovr__str(o->value, "message_en");
            cJSON_AddStringToObject(it, "closed_message", m ? m : "");
            cJSON_AddStringToObject(it, "closed_message_en", me ? me : "");
        }
    }
    /* which windows are the manager's: temporary, closed */
    cJSON *wins = cJSON_GetObjectItemCaseSensitive(status, "windows");
    cJSON *it;
    cJSON_ArrayForEach(it, wins)
    {
        double num = 0;
        if (!ovr__num(it, "number", &num)) continue;
        int wi = ovr__window_idx(&d->cfg.engine, (unsigned)num);
        if (wi < 0) continue;
        cJSON_AddBoolToObject(it, "temporary", d->cfg.engine.windows[wi].temporary);
        cJSON_AddBoolToObject(it, "closed", d->cfg.engine.windows[wi].closed);
    }
}

/* A new business day: yesterday's hours changes are over (the engine already ignores them). */
static void ovr__on_result(struct hq_daemon *d, const struct hq_cmd *cmd,
                           const struct hq_result *res, void *arg)
{
    struct hqd_overrides *S = d->mod.overrides;
    (void)cmd;
    (void)arg;
    if (!res->rollover) return;
    for (size_t i = 0; i < S->n;) {
        struct ovr *o = &S->v[i];
        double day = 0;
        if (strcmp(o->kind, "hours") || (ovr__num(o->value, "day", &day) && day == d->eng.day)) {
            i++;
            continue;
        }
        LOG_INFO("OVERRIDE", "override %lld (hours %s) ended with its day", (long long)o->id,
                 o->target);
        ovr__delete_row(d, o->id);
        cJSON_Delete(o->value);
        memmove(o, o + 1, (S->n - i - 1) * sizeof *o);
        S->n--;
    }
}

/* At start (the device host runs already): each open temporary window gets its devices back,
 * checked again against the file as it is now; devices that no longer fit (their bus left the
 * file, another window has the address now) are dropped from the row with a log line and the
 * window stays open without them. */
static void ovr__attach_devices(struct hq_daemon *d)
{
    struct hqd_overrides *S = d->mod.overrides;
    for (size_t i = 0; i < S->n; i++) {
        struct ovr *o = &S->v[i];
        const cJSON *dv = cJSON_GetObjectItemCaseSensitive(o->value, "devices");
        if (strcmp(o->kind, "window") || !dv) continue;
        unsigned number = (unsigned)strtoul(o->target, NULL, 10);
        int wi = ovr__window_idx(&d->cfg.engine, number);
        if (wi < 0 || !d->cfg.engine.windows[wi].temporary || d->cfg.engine.windows[wi].closed)
            continue;
        struct hq_devwin_cfg dc;
        char err[512];
        int rc = hqd_devices_check(d, (uint16_t)number, dv, &dc, err, sizeof err);
        if (!rc) rc = hqd_devices_attach(d, &dc);
        if (!rc) continue;
        if (rc != HQ_ERR_CONFIG) snprintf(err, sizeof err, "%s", hq_strerror(rc));
        LOG_NOTICE("OVERRIDE", "override %lld (window %u): its devices dropped: %s",
                   (long long)o->id, number, err);
        char actor[sizeof o->actor];
        snprintf(actor, sizeof actor, "%s", o->actor);
        ovr__save_devices(d, number, NULL, actor);
    }
}

int hqd_overrides_init(struct hq_daemon *d)
{
    if (!d->mod.overrides && !(d->mod.overrides = calloc(1, sizeof *d->mod.overrides)))
        return HQ_ERR_NOMEM;
    struct hqd_overrides *S = d->mod.overrides;
    S->d = d;
    S->inited = true;
    ovr__attach_devices(d);
    int rc = hqd_on_result(d, ovr__on_result, NULL);
    if (rc) return rc;
    if (!d->api) return HQ_OK;
    static const char *const prefixes[] = {"/api/v1/admin/windows", "/api/v1/admin/services/",
                                           "/api/v1/admin/notice", "/api/v1/admin/overrides"};
    for (size_t i = 0; i < HQ_ARRAY_LEN(prefixes); i++) {
        int rc = hq_api_route_for(d->api, NULL, prefixes[i], HQ_AUTH_ADMIN, ovr__route, NULL);
        if (rc) return rc;
    }
    return hq_api_status_part(d->api, ovr__status, NULL);
}

void hqd_overrides_fini(struct hq_daemon *d)
{
    struct hqd_overrides *S = d->mod.overrides;
    if (!S) return;
    ovr__free_list(S);
    free(S->base_win);
    free(S);
    d->mod.overrides = NULL;
}
