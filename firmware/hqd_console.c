/*
 * hqd_console.c — GET /api/v1/windows/{n}/today for the window console (see
 * hqd_console.h). Everything comes from the engine's tickets of the day and
 * the store's evaluations of the day: nothing new is stored.
 */
#include "hqd_console.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "daemon.h"
#include "hq.h"
#include "loop.h"

/* At most this many tickets per service in the waiting list: the console
 * shows the head of each queue; the count says how many there are. */
#define CONSOLE_LIST_MAX 30

struct console_item {
    int32_t ti;
    size_t ahead;
};

static int console__by_ahead(const void *a, const void *b)
{
    const struct console_item *x = a, *y = b;
    if (x->ahead != y->ahead) return x->ahead < y->ahead ? -1 : 1;
    return x->ti < y->ti ? -1 : x->ti > y->ti;
}

/* The clerk's evaluations today: count, average and per level. */
static void console__ratings(struct hq_daemon *d, cJSON *o, uint16_t window, const char *staff)
{
    cJSON *r = cJSON_AddObjectToObject(o, "ratings");
    int levels[5] = {0}, count = 0;
    double sum = 0;
    sqlite3 *db = d->store ? hq_store_db(d->store) : NULL; /* NULL in tests/fuzz/fuzz_api */
    sqlite3_stmt *s = NULL;
    if (db && staff &&
        sqlite3_prepare_v2(db,
                           "SELECT level, count(*) FROM evaluations WHERE day = ?1 AND staff = ?2"
                           " GROUP BY level",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int(s, 1, d->eng.day);
        sqlite3_bind_text(s, 2, staff, -1, SQLITE_STATIC);
        while (sqlite3_step(s) == SQLITE_ROW) {
            int lv = sqlite3_column_int(s, 0), n = sqlite3_column_int(s, 1);
            if (lv < 1 || lv > 5) continue;
            levels[lv - 1] += n;
            count += n;
            sum += (double)lv * n;
        }
    } else if (db && staff) {
        LOG_WARN("CONSOLE", "window %u: ratings not read: %s", window, sqlite3_errmsg(db));
    }
    sqlite3_finalize(s);
    cJSON_AddNumberToObject(r, "count", count);
    if (count)
        cJSON_AddNumberToObject(r, "average", (double)(int)(sum / count * 100 + 0.5) / 100);
    else
        cJSON_AddNullToObject(r, "average");
    cJSON_AddItemToObject(r, "levels", cJSON_CreateIntArray(levels, 5));
}

int hqd_console_today(struct hq_api_req *req, size_t wi)
{
    struct hq_daemon *d = req->d;
    const struct hq_engine *e = &d->eng;
    const struct hq_window_cfg *wc = &e->cfg->windows[wi];
    /* A clerk sees their own window only; a manager any. */
    if (!(hq_api_is(req, HQ_AUTH_ADMIN) ||
          (hq_api_is(req, HQ_AUTH_CLERK) && req->who.window == wc->number)))
        return hq_api_reply_error(req, HQ_ERR_AUTH,
                                  "a clerk session of this window or a manager only");
    int staff = hq_api_is(req, HQ_AUTH_CLERK) ? hq_engine_staff_index(e, req->who.staff) + 1
                                              : e->win[wi].staff;
    const char *staff_id =
        staff > 0 && (size_t)staff <= e->cfg->n_staff ? e->cfg->staff[staff - 1].id : NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "window", wc->number);
    if (staff_id) {
        cJSON *s = cJSON_AddObjectToObject(o, "staff");
        cJSON_AddStringToObject(s, "id", staff_id);
        cJSON_AddStringToObject(s, "name", e->cfg->staff[staff - 1].name);
    } else {
        cJSON_AddNullToObject(o, "staff");
    }
    unsigned served = 0, no_shows = 0;
    uint64_t handle = 0;
    size_t n_list = 0;
    struct console_item *list = calloc(e->n_tickets ? e->n_tickets : 1, sizeof *list);
    if (!list) {
        cJSON_Delete(o);
        return HQ_ERR_NOMEM;
    }
    cJSON *parked = cJSON_CreateArray();
    for (size_t i = 0; i < e->n_tickets; i++) {
        const struct hq_ticket *t = &e->tickets[i];
        if (staff && t->staff == staff) {
            if (t->status == HQ_TS_DONE) {
                served++;
                if (t->finished_at > t->served_at && t->served_at)
                    handle += t->finished_at - t->served_at;
            } else if (t->status == HQ_TS_NO_SHOW) {
                no_shows++;
            }
        }
        if (t->status == HQ_TS_PARKED && t->window == wc->number)
            cJSON_AddItemToArray(parked, hq_api_ticket_json(d, (int32_t)i));
        if (t->status != HQ_TS_WAITING) continue;
        if (t->target_window && t->target_window != wc->number) continue;
        bool mine = t->target_window == wc->number;
        for (size_t k = 0; k < wc->n_services && !mine; k++)
            mine = wc->services[k] == t->service;
        if (mine) list[n_list++] = (struct console_item){(int32_t)i, 0};
    }
    cJSON_AddNumberToObject(o, "served", served);
    /* served counts finishes without a start too (a finish straight from a call): the average
     * is over the finishes with a measured time only */
    unsigned timed = 0;
    for (size_t i = 0; i < e->n_tickets; i++) {
        const struct hq_ticket *t = &e->tickets[i];
        if (staff && t->staff == staff && t->status == HQ_TS_DONE && t->served_at &&
            t->finished_at > t->served_at)
            timed++;
    }
    if (timed)
        cJSON_AddNumberToObject(o, "handle_avg_s", (double)(handle / timed));
    else
        cJSON_AddNullToObject(o, "handle_avg_s");
    cJSON_AddNumberToObject(o, "no_shows", no_shows);
    console__ratings(d, o, wc->number, staff_id);
    for (size_t i = 0; i < n_list; i++)
        list[i].ahead = hq_engine_ahead(e, list[i].ti);
    qsort(list, n_list, sizeof *list, console__by_ahead);
    cJSON *waiting = cJSON_AddArrayToObject(o, "waiting");
    for (size_t k = 0; k < wc->n_services; k++) {
        const struct hq_service_cfg *sc = &e->cfg->services[wc->services[k]];
        cJSON *g = cJSON_CreateObject();
        cJSON_AddStringToObject(g, "service", sc->code);
        cJSON_AddStringToObject(g, "service_name", sc->name);
        cJSON_AddStringToObject(g, "service_name_en", sc->name_en);
        cJSON *ts = cJSON_CreateArray();
        unsigned count = 0;
        for (size_t i = 0; i < n_list; i++) {
            const struct hq_ticket *t = &e->tickets[list[i].ti];
            if (t->service != wc->services[k]) continue;
            if (count++ < CONSOLE_LIST_MAX)
                cJSON_AddItemToArray(ts, hq_api_ticket_json(d, list[i].ti));
        }
        cJSON_AddNumberToObject(g, "count", count);
        cJSON_AddItemToObject(g, "tickets", ts);
        cJSON_AddItemToArray(waiting, g);
    }
    /* Tickets sent to this window for a service it does not take. */
    cJSON *other = cJSON_CreateArray();
    for (size_t i = 0; i < n_list; i++) {
        const struct hq_ticket *t = &e->tickets[list[i].ti];
        bool listed = false;
        for (size_t k = 0; k < wc->n_services; k++)
            listed |= wc->services[k] == t->service;
        if (!listed) cJSON_AddItemToArray(other, hq_api_ticket_json(d, list[i].ti));
    }
    if (cJSON_GetArraySize(other)) {
        cJSON *g = cJSON_CreateObject();
        cJSON_AddStringToObject(g, "service", "");
        cJSON_AddStringToObject(g, "service_name", "转至本窗口");
        cJSON_AddStringToObject(g, "service_name_en", "Sent to this window");
        cJSON_AddNumberToObject(g, "count", cJSON_GetArraySize(other));
        cJSON_AddItemToObject(g, "tickets", other);
        cJSON_AddItemToArray(waiting, g);
    } else {
        cJSON_Delete(other);
    }
    cJSON_AddItemToObject(o, "parked", parked);
    free(list);
    return hq_api_reply_json(req, 200, o);
}
