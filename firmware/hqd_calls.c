/*
 * hqd_calls.c — the business day's recent calls (see hqd_calls.h).
 */
#include "hqd_calls.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "hq.h"
#include "store.h"

struct calls__call {
    int64_t at;
    int32_t day;
    uint16_t window;
    uint8_t event; /* HQ_EV_CALL, HQ_EV_RECALL, HQ_EV_CALL_BACK */
    char uuid[37];
    char label[24];
};

/* A ring, newest at (head - 1). Reached through d->mod.calls and the
 * listeners' argument; its storage is static all the same: a result listener
 * cannot be taken back, so its argument must outlive every command. */
struct hqd_calls {
    struct hq_daemon *d;
    struct calls__call ring[HQD_CALLS_MAX];
    size_t head, n;
};
static struct hqd_calls calls__state;

static void calls__push(struct hqd_calls *s, int64_t at, int32_t day, uint16_t window,
                        uint8_t event, const char *uuid, const char *label)
{
    struct calls__call *c = &s->ring[s->head];
    c->at = at;
    c->day = day;
    c->window = window;
    c->event = event;
    snprintf(c->uuid, sizeof c->uuid, "%s", uuid ? uuid : "");
    snprintf(c->label, sizeof c->label, "%s", label ? label : "");
    s->head = (s->head + 1) % HQD_CALLS_MAX;
    if (s->n < HQD_CALLS_MAX) s->n++;
}

static int calls__event(const char *kind)
{
    static const int evs[] = {HQ_EV_CALL, HQ_EV_RECALL, HQ_EV_CALL_BACK};
    for (size_t i = 0; i < HQ_ARRAY_LEN(evs); i++)
        if (strcmp(kind, hq_event_name(evs[i])) == 0) return evs[i];
    return -1;
}

static void calls__on_result(struct hq_daemon *d, const struct hq_cmd *cmd,
                             const struct hq_result *res, void *arg)
{
    const struct hq_engine *e = &d->eng;
    (void)cmd;
    for (size_t i = 0; i < res->n_rec; i++) {
        const struct hq_record *r = &res->rec[i];
        if (r->type != HQ_REC_EVENT || !r->window || r->ticket < 0 ||
            (size_t)r->ticket >= e->n_tickets)
            continue;
        if (r->event != HQ_EV_CALL && r->event != HQ_EV_RECALL && r->event != HQ_EV_CALL_BACK)
            continue;
        const struct hq_ticket *t = &e->tickets[r->ticket];
        char uuid[37], label[24];
        hq_uuid_format(t->uuid, uuid);
        calls__push(arg, r->at, hq_engine_day_of(e->cfg, r->at), r->window, r->event, uuid,
                    hq_ticket_label(e, t, label, sizeof label));
    }
}

/* The day's calls from the event log, newest first: rows are appended in
 * time order, so the walk stops at the first row of an earlier day. */
static void calls__load(struct hq_daemon *d)
{
    sqlite3 *db = hq_store_db(d->store);
    sqlite3_stmt *q = NULL;
    int32_t today = d->eng.day ? d->eng.day : hq_engine_day_of(d->eng.cfg, hq_loop_wall_s());
    if (!db || sqlite3_prepare_v2(db,
                                  "SELECT at, kind, window, ticket, label FROM events "
                                  "ORDER BY id DESC",
                                  -1, &q, NULL) != SQLITE_OK) {
        LOG_WARN("CALLS", "recent calls not read back: %s", db ? sqlite3_errmsg(db) : "no db");
        return;
    }
    struct calls__call found[HQD_CALLS_MAX];
    size_t n = 0;
    while (n < HQD_CALLS_MAX && sqlite3_step(q) == SQLITE_ROW) {
        int64_t at = sqlite3_column_int64(q, 0);
        if (hq_engine_day_of(d->eng.cfg, at) < today) break;
        const char *kind = (const char *)sqlite3_column_text(q, 1);
        int ev = kind ? calls__event(kind) : -1;
        if (ev < 0 || sqlite3_column_type(q, 2) == SQLITE_NULL ||
            sqlite3_column_type(q, 3) == SQLITE_NULL)
            continue;
        struct calls__call *c = &found[n++];
        c->at = at;
        c->day = today;
        c->window = (uint16_t)sqlite3_column_int(q, 2);
        c->event = (uint8_t)ev;
        snprintf(c->uuid, sizeof c->uuid, "%s", (const char *)sqlite3_column_text(q, 3));
        const char *label = (const char *)sqlite3_column_text(q, 4);
        snprintf(c->label, sizeof c->label, "%s", label ? label : "");
    }
    sqlite3_finalize(q);
    for (size_t i = n; i-- > 0;)
        calls__push(d->mod.calls, found[i].at, found[i].day, found[i].window, found[i].event,
                    found[i].uuid, found[i].label);
    LOG_INFO("CALLS", "%zu of today's calls read back from the event log", n);
}

static void calls__status(struct hq_daemon *d, cJSON *status, void *arg)
{
    const struct hqd_calls *s = arg;
    int32_t today = d->eng.day;
    cJSON *a = cJSON_AddArrayToObject(status, "recent_calls");
    for (size_t k = 0; k < s->n; k++) {
        const struct calls__call *c = &s->ring[(s->head + HQD_CALLS_MAX - 1 - k) % HQD_CALLS_MAX];
        if (c->day != today) continue; /* yesterday's calls are no one's to come to now */
        char ts[32];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "uuid", c->uuid);
        cJSON_AddStringToObject(o, "number", c->label);
        cJSON_AddNumberToObject(o, "window", c->window);
        hq_time_rfc3339(c->at, d->eng.cfg->utc_offset_s, ts);
        cJSON_AddStringToObject(o, "at", ts);
        cJSON_AddStringToObject(o, "kind", hq_event_name(c->event));
        cJSON_AddItemToArray(a, o);
    }
}

int hqd_calls_init(struct hq_daemon *d)
{
    int rc;
    struct hqd_calls *s = &calls__state;
    memset(s, 0, sizeof *s);
    s->d = d;
    d->mod.calls = s;
    calls__load(d);
    if ((rc = hqd_on_result(d, calls__on_result, s))) return rc;
    if (d->api && (rc = hq_api_status_part(d->api, calls__status, s))) return rc;
    return HQ_OK;
}

void hqd_calls_fini(struct hq_daemon *d)
{
    if (d->mod.calls) d->mod.calls->n = 0;
    d->mod.calls = NULL;
}
