/*
 * engine.c — the queue engine: one hall's business day as a pure state
 * machine (engine.h is the contract).
 *
 * Every command is checked completely before anything is changed, so a
 * refused command leaves the state byte-identical; the only exception is the
 * day rollover, which happens at the start of every command and stands even
 * when the command itself is then refused (res->rollover says so).
 *
 * Internal indexes (kept in e->priv, rebuilt by hq_engine_load_done):
 *   - per service, the WAITING tickets whose current service it is
 *     (unordered int32 arrays: a call scans them once, O(waiting));
 *   - the WAITING tickets targeted at one window (usually a handful);
 *   - the PARKED tickets;
 *   - per service, a count of live tickets for each number of its range, so
 *     issuing never prints a number that is still in the hall;
 *   - an open-addressing table (id_hash, service) -> tickets today, for the
 *     per-person limit; a slot stores one ticket index as its key.
 * No I/O, no clock, no globals: time and UUIDs come in with the command.
 */
#include "engine.h"

#include <stdio.h> /* snprintf only */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ENGINE__MIN_HANDLE_S 10u /* a handling time is clamped to [10 s, 4 h] */
#define ENGINE__MAX_HANDLE_S (4u * 3600u)
#define ENGINE__FX_SPARE 16 /* effects/records one command makes besides a tick's */

struct engine__list {
    int32_t *v;
    uint32_t n, cap;
};

struct engine__pslot {
    int32_t ticket; /* a ticket of this (id_hash, orig_service); -1 = empty slot */
    uint32_t count; /* today's tickets of the pair, cancelled ones excluded */
};

struct engine__wmap {
    uint16_t number, idx;
};

struct engine__priv {
    struct engine__list *waiting; /* [n_services] */
    struct engine__list targeted;
    struct engine__list parked;
    uint8_t **live;     /* [n_services][num_max - num_min + 1] */
    uint32_t *live_len; /* [n_services] */
    struct engine__pslot *ptab;
    uint32_t pcap, pn;         /* pcap is a power of two (or 0) */
    struct engine__wmap *wmap; /* windows sorted by number */
};

/* One command in progress. */
struct engine__ctx {
    struct hq_engine *e;
    const struct hq_engine_cfg *cfg;
    struct engine__priv *p;
    const struct hq_cmd *cmd;
    struct hq_result *res;
    uint32_t now;
    int wi;      /* index of cmd->window, -1 when unknown */
    uint16_t wn; /* its number */
};

/* ------------------------------------------------------------------ names */

static const char *const engine__status_names[HQ_TS__COUNT] = {
    "waiting", "called", "serving", "parked", "done", "no_show", "cancelled", "expired"};
static const char *const engine__wstate_names[HQ_WS__COUNT] = {"closed", "idle", "calling",
                                                               "serving", "paused"};
static const char *const engine__prio_names[HQ_PRIO__COUNT] = {
    "normal", "elderly", "disabled", "military", "appointment", "green"};
static const char *const engine__prio_zh[HQ_PRIO__COUNT] = {"",         "老年人优先", "残疾人优先",
                                                            "军人优先", "预约优先",   "绿色通道"};
static const char *const engine__prio_en[HQ_PRIO__COUNT] = {
    "", "Elderly", "Disabled", "Military", "Appointment", "Green channel"};
static const char *const engine__chan_names[HQ_CHAN__COUNT] = {
    "kiosk", "button", "appointment", "api", "pad", "tablet", "qr"};
static const char *const engine__cmd_names[HQ_CMD__COUNT] = {"issue",         "call_next",
                                                             "call_number",   "recall",
                                                             "start",         "no_show",
                                                             "park",          "call_back",
                                                             "transfer",      "pause",
                                                             "resume",        "finish",
                                                             "cancel",        "login",
                                                             "logout",        "rate",
                                                             "tick",          "help",
                                                             "help_ack",      "window_open",
                                                             "window_close",  "window_services",
                                                             "service_hours", "service_quota",
                                                             "service_close"};
static const char *const engine__event_names[HQ_EV__COUNT] = {"issue",         "call",
                                                              "recall",        "start",
                                                              "no_show",       "requeue",
                                                              "park",          "call_back",
                                                              "transfer",      "pause",
                                                              "resume",        "finish",
                                                              "cancel",        "login",
                                                              "logout",        "rate",
                                                              "unrated",       "expire",
                                                              "rollover",      "window_open",
                                                              "window_close",  "window_services",
                                                              "service_hours", "service_quota",
                                                              "service_close", "reroute",
                                                              "help",          "help_ack"};

#define ENGINE__NAME(tab, i) ((i) >= 0 && (size_t)(i) < HQ_ARRAY_LEN(tab) ? (tab)[i] : "unknown")

const char *hq_ticket_status_name(int status)
{
    return ENGINE__NAME(engine__status_names, status);
}

const char *hq_window_state_name(int state)
{
    return ENGINE__NAME(engine__wstate_names, state);
}

static const char *const engine__why[HQ_WHY__COUNT][3] = {
    [HQ_WHY_NONE] = {"", "", ""},
    [HQ_WHY_NOT_LOGGED_IN] = {"not_logged_in", "窗口未登录",
                              "no clerk is logged in at this window"},
    [HQ_WHY_PAUSED] = {"paused", "窗口已暂停", "the window is paused"},
    [HQ_WHY_NOBODY_WAITING] = {"nobody_waiting", "当前无人等候", "nobody is waiting"},
    [HQ_WHY_NOT_CALLED] = {"not_called", "本窗口没有已叫号未到的号票",
                           "no ticket is called and awaited at this window"},
    [HQ_WHY_NO_CURRENT] = {"no_current", "本窗口没有正在办理的号票",
                           "no ticket is being served at this window"},
    [HQ_WHY_WINDOW_BUSY] = {"window_busy", "窗口正在办理，请先办结",
                            "a citizen is at the window: finish first"},
    [HQ_WHY_NOT_PAUSED] = {"not_paused", "窗口未暂停", "the window is not paused"},
    [HQ_WHY_STAFF_BUSY] = {"staff_busy", "该工作人员正在其他窗口办理",
                           "this clerk is serving a citizen at another window"},
    [HQ_WHY_NOTHING_PARKED] = {"nothing_parked", "本窗口没有挂起的号票",
                               "no ticket is parked at this window"},
    [HQ_WHY_TICKET_CLOSED] = {"ticket_closed", "该号已叫号或已结束，不能取消",
                              "the ticket has been called or closed"},
    [HQ_WHY_RATED] = {"rated", "已评价", "already rated"},
    [HQ_WHY_NO_RATING] = {"no_rating", "没有待评价的服务（未邀请或已超时）",
                          "no service awaits a rating (none, or too late)"},
    [HQ_WHY_NO_TICKET] = {"no_ticket", "今天没有这个号", "no such ticket today"},
    [HQ_WHY_NO_STAFF] = {"no_staff", "没有这个工号", "no such staff number"},
    [HQ_WHY_NO_WINDOW] = {"no_window", "没有这个窗口", "no such window"},
    [HQ_WHY_NO_SERVICE] = {"no_service", "没有这项业务", "no such service"},
    [HQ_WHY_WINDOW_CLOSED] = {"window_closed", "该窗口已关闭", "the window is closed"},
    [HQ_WHY_WINDOW_OPEN] = {"window_open", "该窗口已开放", "the window is open already"},
    [HQ_WHY_PEOPLE_WAITING] = {"people_waiting", "仍有群众等候，请指定改派窗口",
                               "people are waiting: name a window to re-route them to"},
    [HQ_WHY_REROUTE_NOT_SERVING] = {"reroute_not_serving", "改派窗口不办理这些业务",
                                    "the re-route window does not serve them"},
    [HQ_WHY_NO_ROOM] = {"no_room", "窗口数已达上限", "the hall has its most windows already"},
    [HQ_WHY_NOT_TEMPORARY] = {"not_temporary", "配置文件中的窗口只能关闭",
                              "a window of the configuration file can only be closed"},
    [HQ_WHY_NO_PAUSE_REASON] = {"no_pause_reason", "没有这个暂停原因", "no such pause reason"},
    [HQ_WHY_NO_HELP_CALL] = {"no_help_call", "该窗口没有待处理的求助",
                             "this window has no open help call"},
    [HQ_WHY_WINDOW_UNSTAFFED] = {"window_unstaffed", "目标窗口未开放（无人登录）",
                                 "that window is not open (nobody signed in)"},
};

static const char *engine__why_text(int why, int k)
{
    return why > 0 && why < HQ_WHY__COUNT ? engine__why[why][k] : "";
}
const char *hq_why_code(int why)
{
    return engine__why_text(why, 0);
}
const char *hq_why_zh(int why)
{
    return engine__why_text(why, 1);
}
const char *hq_why_en(int why)
{
    return engine__why_text(why, 2);
}

/* A refusal with its reason in words (res->why). */
#define ENGINE__REFUSE(c, err, w) ((c)->res->why = (w), (err))

const char *hq_priority_name(int prio)
{
    return ENGINE__NAME(engine__prio_names, prio);
}

const char *hq_priority_label_zh(int prio)
{
    return prio >= 0 && prio < HQ_PRIO__COUNT ? engine__prio_zh[prio] : "";
}

const char *hq_priority_label_en(int prio)
{
    return prio >= 0 && prio < HQ_PRIO__COUNT ? engine__prio_en[prio] : "";
}

const char *hq_channel_name(int chan)
{
    return ENGINE__NAME(engine__chan_names, chan);
}

const char *hq_cmd_name(int type)
{
    return ENGINE__NAME(engine__cmd_names, type);
}

const char *hq_event_name(int ev)
{
    return ENGINE__NAME(engine__event_names, ev);
}

const struct hq_pause_reason *hq_pause_reason(const struct hq_engine_cfg *cfg, const char *code)
{
    if (!code) return NULL;
    for (size_t i = 0; i < cfg->n_pause_reasons && i < HQ_MAX_PAUSE_REASONS; i++)
        if (strcmp(cfg->pause_reasons[i].code, code) == 0) return &cfg->pause_reasons[i];
    return NULL;
}

int hq_priority_from_name(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < HQ_PRIO__COUNT; i++)
        if (strcmp(name, engine__prio_names[i]) == 0) return i;
    return -1;
}

/* ------------------------------------------------------------ civil dates */

/* Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms". */
int32_t hq_days_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153u * (unsigned)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (unsigned)d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int32_t)doe - 719468;
}

void hq_ymd_from_days(int32_t days, int *y, int *m, int *d)
{
    const int32_t z = days + 719468;
    const int32_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const int dd = (int)(doy - (153 * mp + 2) / 5 + 1);
    const int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)yoe + era * 400 + (mm <= 2);
    *m = mm;
    *d = dd;
}

int32_t hq_engine_day_of(const struct hq_engine_cfg *cfg, int64_t now)
{
    int64_t local = now + cfg->utc_offset_s;
    int64_t day = local / 86400;
    if (local % 86400 < 0) day--; /* floor, also before 1970 */
    return (int32_t)day;
}

/* ------------------------------------------------------------ small lists */

static int engine__list_reserve(struct engine__list *l, uint32_t extra)
{
    if (l->n + extra <= l->cap) return HQ_OK;
    uint32_t cap = l->cap ? l->cap : 16;
    while (cap < l->n + extra)
        cap *= 2;
    int32_t *v = realloc(l->v, cap * sizeof *v);
    if (!v) return HQ_ERR_NOMEM;
    l->v = v;
    l->cap = cap;
    return HQ_OK;
}

/* Callers reserved room before the command changed anything. */
static void engine__list_push(struct engine__list *l, int32_t x)
{
    if (l->n < l->cap) l->v[l->n++] = x;
}

/* Order inside a list does not matter (every scan ranks), so swap-remove. */
static void engine__list_remove(struct engine__list *l, int32_t x)
{
    for (uint32_t i = l->n; i-- > 0;) {
        if (l->v[i] == x) {
            l->v[i] = l->v[--l->n];
            return;
        }
    }
}

/* ------------------------------------------------- per-person count table */

static uint32_t engine__phash(const uint8_t id[8], uint8_t svc)
{
    uint64_t h;
    memcpy(&h, id, 8);
    h ^= (uint64_t)(svc + 1u) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (uint32_t)h;
}

/* The slot of (id, svc): its own if present (*found), else the empty slot
 * where it would go; NULL when the table has no slots yet. */
static struct engine__pslot *engine__pfind(const struct hq_engine *e, const uint8_t id[8],
                                           uint8_t svc, bool *found)
{
    const struct engine__priv *p = e->priv;
    *found = false;
    if (!p->pcap) return NULL;
    uint32_t mask = p->pcap - 1, i = engine__phash(id, svc) & mask;
    for (;;) {
        struct engine__pslot *s = &p->ptab[i];
        if (s->ticket < 0) return s;
        const struct hq_ticket *t = &e->tickets[s->ticket];
        if (t->orig_service == svc && memcmp(t->id_hash, id, 8) == 0) {
            *found = true;
            return s;
        }
        i = (i + 1) & mask;
    }
}

static uint32_t engine__pcount(const struct hq_engine *e, const uint8_t id[8], uint8_t svc)
{
    bool found;
    struct engine__pslot *s = engine__pfind(e, id, svc, &found);
    return found ? s->count : 0;
}

/* Keep the load under 3/4 for `extra` more pairs. */
static int engine__preserve(struct hq_engine *e, uint32_t extra)
{
    struct engine__priv *p = e->priv;
    if ((uint64_t)(p->pn + extra) * 4 <= (uint64_t)p->pcap * 3) return HQ_OK;
    uint32_t cap = p->pcap ? p->pcap : 64;
    while ((uint64_t)(p->pn + extra) * 4 > (uint64_t)cap * 3)
        cap *= 2;
    struct engine__pslot *nt = malloc(cap * sizeof *nt);
    if (!nt) return HQ_ERR_NOMEM;
    memset(nt, 0xff, cap * sizeof *nt);
    for (uint32_t i = 0; i < p->pcap; i++) {
        const struct engine__pslot *s = &p->ptab[i];
        if (s->ticket < 0) continue;
        const struct hq_ticket *t = &e->tickets[s->ticket];
        uint32_t j = engine__phash(t->id_hash, t->orig_service) & (cap - 1);
        while (nt[j].ticket >= 0)
            j = (j + 1) & (cap - 1);
        nt[j] = *s;
    }
    free(p->ptab);
    p->ptab = nt;
    p->pcap = cap;
    return HQ_OK;
}

static void engine__padd(struct hq_engine *e, int32_t ti, int delta)
{
    struct engine__priv *p = e->priv;
    const struct hq_ticket *t = &e->tickets[ti];
    if (!(t->flags & HQ_TF_HAS_ID)) return;
    bool found;
    struct engine__pslot *s = engine__pfind(e, t->id_hash, t->orig_service, &found);
    if (!s) return;
    if (!found) {
        if (delta < 0) return;
        s->ticket = ti;
        s->count = 0;
        p->pn++;
    }
    if (delta > 0)
        s->count++;
    else if (s->count > 0)
        s->count--;
}

/* ------------------------------------------------------------ indexing */

static bool engine__is_live(uint8_t st)
{
    /* A NO_SHOW may come back (call by number) but does not hold its number:
     * the range may hand it out again, and the call-by-number search then
     * prefers the most recent ticket. */
    return st == HQ_TS_WAITING || st == HQ_TS_CALLED || st == HQ_TS_SERVING || st == HQ_TS_PARKED;
}

/* Numbers are held per service the ticket was issued for: the label a
 * citizen holds ("A012") keeps its prefix after a transfer to service B. */
static uint8_t *engine__live_slot(const struct hq_engine *e, const struct hq_ticket *t)
{
    const struct engine__priv *p = e->priv;
    const struct hq_service_cfg *sc = &e->cfg->services[t->orig_service];
    if (t->number < sc->num_min || t->number > sc->num_max) return NULL;
    uint32_t k = (uint32_t)(t->number - sc->num_min);
    return k < p->live_len[t->orig_service] ? &p->live[t->orig_service][k] : NULL;
}

static void engine__index(struct hq_engine *e, int32_t ti)
{
    struct engine__priv *p = e->priv;
    const struct hq_ticket *t = &e->tickets[ti];
    if (t->status == HQ_TS_WAITING) {
        engine__list_push(&p->waiting[t->service], ti);
        if (t->target_window) engine__list_push(&p->targeted, ti);
    } else if (t->status == HQ_TS_PARKED) {
        engine__list_push(&p->parked, ti);
    }
}

static void engine__unindex(struct hq_engine *e, int32_t ti)
{
    struct engine__priv *p = e->priv;
    const struct hq_ticket *t = &e->tickets[ti];
    if (t->status == HQ_TS_WAITING) {
        engine__list_remove(&p->waiting[t->service], ti);
        if (t->target_window) engine__list_remove(&p->targeted, ti);
    } else if (t->status == HQ_TS_PARKED) {
        engine__list_remove(&p->parked, ti);
    }
}

/* The one place a ticket changes status: keeps every index in step. Set
 * service and target_window before moving a ticket into WAITING. */
static void engine__set_status(struct hq_engine *e, int32_t ti, uint8_t st)
{
    struct hq_ticket *t = &e->tickets[ti];
    uint8_t old = t->status;
    engine__unindex(e, ti);
    t->status = st;
    engine__index(e, ti);
    bool was = engine__is_live(old), is = engine__is_live(st);
    if (was != is) {
        uint8_t *c = engine__live_slot(e, t);
        if (c && is && *c < UINT8_MAX) (*c)++;
        if (c && !is && *c > 0) (*c)--;
    }
    /* The per-person limit counts every ticket of the day except cancelled ones. */
    if (st == HQ_TS_CANCELLED && old != HQ_TS_CANCELLED) engine__padd(e, ti, -1);
}

static void engine__clear_indexes(struct hq_engine *e)
{
    struct engine__priv *p = e->priv;
    for (size_t s = 0; s < e->cfg->n_services; s++) {
        p->waiting[s].n = 0;
        if (p->live_len[s]) memset(p->live[s], 0, p->live_len[s]);
    }
    p->targeted.n = 0;
    p->parked.n = 0;
    if (p->pcap) memset(p->ptab, 0xff, p->pcap * sizeof *p->ptab);
    p->pn = 0;
}

/* Room for every push one command can make, taken before it changes anything. */
/* Slots of the window table: the configured windows plus room for temporary ones. */
static size_t engine__win_cap(const struct hq_engine_cfg *cfg)
{
    size_t n = cfg->max_windows > cfg->n_windows ? cfg->max_windows : cfg->n_windows;
    return n ? n : 1;
}

static int engine__reserve(struct hq_engine *e, struct hq_result *res, bool issue, size_t extra)
{
    struct engine__priv *p = e->priv;
    int rc;
    for (size_t s = 0; s < e->cfg->n_services; s++)
        if ((rc = engine__list_reserve(&p->waiting[s], 2))) return rc;
    if ((rc = engine__list_reserve(&p->targeted, 2))) return rc;
    if ((rc = engine__list_reserve(&p->parked, 2))) return rc;
    if ((rc = engine__preserve(e, 1))) return rc;
    if (issue && e->n_tickets + 1 > e->cap_tickets) {
        size_t cap = e->cap_tickets ? e->cap_tickets * 2 : 256;
        struct hq_ticket *t = realloc(e->tickets, cap * sizeof *t);
        if (!t) return HQ_ERR_NOMEM;
        e->tickets = t;
        e->cap_tickets = cap;
    }
    size_t need = e->cfg->n_windows + ENGINE__FX_SPARE + extra;
    if (res->cap_fx < need) {
        struct hq_effect *fx = realloc(res->fx, need * sizeof *fx);
        if (!fx) return HQ_ERR_NOMEM;
        res->fx = fx;
        res->cap_fx = need;
    }
    if (res->cap_rec < need) {
        struct hq_record *r = realloc(res->rec, need * sizeof *r);
        if (!r) return HQ_ERR_NOMEM;
        res->rec = r;
        res->cap_rec = need;
    }
    if (res->cap_dirty_tickets < ENGINE__FX_SPARE + extra) {
        int32_t *d = realloc(res->dirty_tickets, (ENGINE__FX_SPARE + extra) * sizeof *d);
        if (!d) return HQ_ERR_NOMEM;
        res->dirty_tickets = d;
        res->cap_dirty_tickets = ENGINE__FX_SPARE + extra;
    }
    return HQ_OK;
}

/* ------------------------------------------------------------ init / free */

static int engine__wmap_cmp(const void *a, const void *b)
{
    const struct engine__wmap *x = a, *y = b;
    return (int)x->number - (int)y->number;
}

int hq_engine_init(struct hq_engine *e, const struct hq_engine_cfg *cfg)
{
    memset(e, 0, sizeof *e);
    if (!cfg || cfg->n_services > HQ_MAX_SERVICES || cfg->n_windows > HQ_MAX_WINDOWS ||
        cfg->max_windows > HQ_MAX_WINDOWS)
        return HQ_ERR_CONFIG;
    for (size_t w = 0; w < cfg->n_windows; w++) {
        const struct hq_window_cfg *wc = &cfg->windows[w];
        if (wc->number == 0 || wc->n_services > HQ_MAX_WINDOW_SERVICES) return HQ_ERR_CONFIG;
        for (size_t k = 0; k < wc->n_services; k++)
            if (wc->services[k] >= cfg->n_services) return HQ_ERR_CONFIG;
    }
    size_t ns = cfg->n_services ? cfg->n_services : 1, nw = engine__win_cap(cfg);
    struct engine__priv *p = calloc(1, sizeof *p);
    e->cfg = cfg;
    e->priv = p;
    e->svc = calloc(ns, sizeof *e->svc);
    e->win = calloc(nw, sizeof *e->win);
    if (!p || !e->svc || !e->win) goto fail;
    p->waiting = calloc(ns, sizeof *p->waiting);
    p->live = calloc(ns, sizeof *p->live);
    p->live_len = calloc(ns, sizeof *p->live_len);
    p->wmap = calloc(nw, sizeof *p->wmap);
    if (!p->waiting || !p->live || !p->live_len || !p->wmap) goto fail;
    for (size_t s = 0; s < cfg->n_services; s++) {
        const struct hq_service_cfg *sc = &cfg->services[s];
        uint32_t len = sc->num_max >= sc->num_min ? (uint32_t)(sc->num_max - sc->num_min) + 1 : 0;
        p->live[s] = calloc(len ? len : 1, 1);
        if (!p->live[s]) goto fail;
        p->live_len[s] = len;
    }
    for (size_t w = 0; w < cfg->n_windows; w++) {
        p->wmap[w].number = cfg->windows[w].number;
        p->wmap[w].idx = (uint16_t)w;
        e->win[w].current = -1;
        e->win[w].rating_ticket = -1;
    }
    qsort(p->wmap, cfg->n_windows, sizeof *p->wmap, engine__wmap_cmp);
    for (size_t w = 1; w < cfg->n_windows; w++) {
        if (p->wmap[w].number == p->wmap[w - 1].number) {
            hq_engine_free(e);
            return HQ_ERR_CONFIG; /* two windows with one number */
        }
    }
    return HQ_OK;
fail:
    hq_engine_free(e);
    return HQ_ERR_NOMEM;
}

void hq_engine_free(struct hq_engine *e)
{
    struct engine__priv *p = e->priv;
    if (p) {
        for (size_t s = 0; e->cfg && s < e->cfg->n_services; s++) {
            if (p->waiting) free(p->waiting[s].v);
            if (p->live) free(p->live[s]);
        }
        free(p->waiting);
        free(p->live);
        free(p->live_len);
        free(p->targeted.v);
        free(p->parked.v);
        free(p->ptab);
        free(p->wmap);
        free(p);
    }
    free(e->tickets);
    free(e->svc);
    free(e->win);
    memset(e, 0, sizeof *e);
}

void hq_result_free(struct hq_result *res)
{
    free(res->fx);
    free(res->rec);
    free(res->dirty_tickets);
    memset(res, 0, sizeof *res);
}

/* --------------------------------------------------------------- lookups */

int hq_engine_window_index(const struct hq_engine *e, uint16_t number)
{
    const struct engine__priv *p = e->priv;
    size_t lo = 0, hi = e->cfg->n_windows;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->wmap[mid].number == number) return p->wmap[mid].idx;
        if (p->wmap[mid].number < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int hq_engine_service_index(const struct hq_engine *e, const char *code)
{
    for (size_t s = 0; code && s < e->cfg->n_services; s++)
        if (strcmp(e->cfg->services[s].code, code) == 0) return (int)s;
    return -1;
}

int hq_engine_staff_index(const struct hq_engine *e, const char *staff_id)
{
    for (size_t i = 0; staff_id && *staff_id && i < e->cfg->n_staff; i++)
        if (strcmp(e->cfg->staff[i].id, staff_id) == 0) return (int)i;
    return -1;
}

const char *hq_ticket_label(const struct hq_engine *e, const struct hq_ticket *t, char *buf,
                            size_t len)
{
    const char *prefix =
        t->orig_service < e->cfg->n_services ? e->cfg->services[t->orig_service].prefix : "?";
    int digits =
        t->orig_service < e->cfg->n_services ? e->cfg->services[t->orig_service].digits : 0;
    snprintf(buf, len, "%.7s%0*u", prefix, digits, (unsigned)t->number);
    return buf;
}

/* "A012" → prefix "A" (*plen = 1) and 12; digits only → *plen = 0. */
static bool engine__parse_label(const char *label, size_t *plen, uint16_t *number)
{
    if (!label) return false;
    size_t i = 0;
    while (label[i] && !(label[i] >= '0' && label[i] <= '9'))
        i++;
    *plen = i;
    if (!label[i]) return false;
    uint32_t n = 0;
    for (; label[i]; i++) {
        if (label[i] < '0' || label[i] > '9') return false;
        n = n * 10 + (uint32_t)(label[i] - '0');
        if (n > UINT16_MAX) return false;
    }
    *number = (uint16_t)n;
    return true;
}

static bool engine__prefix_is(const struct hq_service_cfg *sc, const char *label, size_t plen)
{
    return strlen(sc->prefix) == plen && strncasecmp(sc->prefix, label, plen) == 0;
}

int32_t hq_engine_find_label(const struct hq_engine *e, const char *label)
{
    size_t plen;
    uint16_t number;
    if (!engine__parse_label(label, &plen, &number)) return -1;
    for (size_t i = e->n_tickets; i-- > 0;) {
        const struct hq_ticket *t = &e->tickets[i];
        if (t->number == number && t->orig_service < e->cfg->n_services &&
            engine__prefix_is(&e->cfg->services[t->orig_service], label, plen))
            return (int32_t)i;
    }
    return -1;
}

int hq_engine_parse_number(const struct hq_engine *e, const char *label, int *service,
                           uint16_t *number)
{
    size_t plen;
    if (!engine__parse_label(label, &plen, number)) return HQ_ERR_INVALID;
    for (size_t s = 0; s < e->cfg->n_services; s++) {
        const struct hq_service_cfg *sc = &e->cfg->services[s];
        if (engine__prefix_is(sc, label, plen) && *number >= sc->num_min &&
            *number <= sc->num_max) {
            *service = (int)s;
            return HQ_OK;
        }
    }
    return HQ_ERR_NOT_FOUND;
}

int32_t hq_engine_find_uuid(const struct hq_engine *e, const uint8_t uuid[16])
{
    for (size_t i = e->n_tickets; i-- > 0;)
        if (memcmp(e->tickets[i].uuid, uuid, 16) == 0) return (int32_t)i;
    return -1;
}

/* --------------------------------------------------------- opening hours */

static const struct hq_day_hours *engine__hours(const struct hq_service_cfg *sc, int32_t day)
{
    /* The manager's change of today's hours comes first. */
    if (sc->today.day != 0 && sc->today.day == day) return &sc->today.hours;
    /* A date override (holiday, make-up working day) replaces the weekday. */
    for (size_t i = 0; i < sc->n_overrides; i++)
        if (sc->overrides[i].day == day) return &sc->overrides[i].hours;
    int wday = (int)(((day % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    return &sc->week[wday];
}

bool hq_engine_service_open(const struct hq_engine *e, size_t service, int64_t now)
{
    if (service >= e->cfg->n_services) return false;
    int32_t day = hq_engine_day_of(e->cfg, now);
    int64_t minute = (now + e->cfg->utc_offset_s - (int64_t)day * 86400) / 60;
    const struct hq_day_hours *h = engine__hours(&e->cfg->services[service], day);
    for (size_t i = 0; i < h->n && i < HQ_MAX_INTERVALS; i++)
        if (minute >= h->iv[i].open_min && minute < h->iv[i].close_min) return true;
    return false;
}

int64_t hq_engine_service_next_open(const struct hq_engine *e, size_t service, int64_t now)
{
    if (service >= e->cfg->n_services || hq_engine_service_open(e, service, now)) return -1;
    int32_t today = hq_engine_day_of(e->cfg, now);
    for (int32_t day = today; day <= today + HQ_NEXT_OPEN_DAYS; day++) {
        const struct hq_day_hours *h = engine__hours(&e->cfg->services[service], day);
        int64_t best = -1;
        for (size_t i = 0; i < h->n && i < HQ_MAX_INTERVALS; i++) {
            int64_t at = (int64_t)day * 86400 - e->cfg->utc_offset_s + h->iv[i].open_min * 60;
            if (at > now && (best < 0 || at < best)) best = at;
        }
        if (best >= 0) return best;
    }
    return -1;
}

/* --------------------------------------------------------------- ranking */

/* < 0 when ticket a is called before b. FRONT tickets (transferred to the
 * front) come first in their arrival order; the others rank as if they had
 * arrived head_start_s[class] earlier. Serial, then index, break ties. */
static int engine__rank_cmp(const struct hq_engine *e, int32_t a, int32_t b)
{
    const struct hq_ticket *x = &e->tickets[a], *y = &e->tickets[b];
    bool fx = x->flags & HQ_TF_FRONT, fy = y->flags & HQ_TF_FRONT;
    if (fx != fy) return fx ? -1 : 1;
    int64_t kx = x->queued_at, ky = y->queued_at;
    if (!fx) {
        kx -= x->priority < HQ_PRIO__COUNT ? e->cfg->head_start_s[x->priority] : 0;
        ky -= y->priority < HQ_PRIO__COUNT ? e->cfg->head_start_s[y->priority] : 0;
    }
    if (kx != ky) return kx < ky ? -1 : 1;
    if (x->serial != y->serial) return x->serial < y->serial ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* < 0 when a arrived (was queued) before b: the order anti-starvation protects. */
static int engine__arrival_cmp(const struct hq_engine *e, int32_t a, int32_t b)
{
    const struct hq_ticket *x = &e->tickets[a], *y = &e->tickets[b];
    if (x->queued_at != y->queued_at) return x->queued_at < y->queued_at ? -1 : 1;
    if (x->serial != y->serial) return x->serial < y->serial ? -1 : 1;
    return a < b ? -1 : a > b;
}

static bool engine__eligible(const struct hq_ticket *t, uint16_t wn)
{
    return t->target_window == 0 || t->target_window == wn;
}

/* What a call-next at window wi would call, without changing anything. */
struct engine__pick {
    int32_t ticket;     /* -1 = nobody eligible waiting */
    int svc;            /* service whose overtake counter moves, -1 = none */
    uint16_t overtakes; /* its new value */
};

static void engine__pick_next(const struct hq_engine *e, int wi, struct engine__pick *pk)
{
    const struct engine__priv *p = e->priv;
    const struct hq_window_cfg *wc = &e->cfg->windows[wi];
    pk->ticket = -1;
    pk->svc = -1;
    pk->overtakes = 0;
    /* First the tickets transferred to this very window, whatever their service. */
    for (uint32_t i = 0; i < p->targeted.n; i++) {
        int32_t ti = p->targeted.v[i];
        if (e->tickets[ti].target_window != wc->number) continue;
        if (pk->ticket < 0 || engine__rank_cmp(e, ti, pk->ticket) < 0) pk->ticket = ti;
    }
    if (pk->ticket >= 0) return;
    /* Then the window's services in their configured order. */
    for (size_t k = 0; k < wc->n_services; k++) {
        uint8_t s = wc->services[k];
        const struct engine__list *l = &p->waiting[s];
        int32_t best = -1, oldest = -1;
        for (uint32_t i = 0; i < l->n; i++) {
            int32_t ti = l->v[i];
            if (!engine__eligible(&e->tickets[ti], wc->number)) continue;
            if (best < 0 || engine__rank_cmp(e, ti, best) < 0) best = ti;
            if (oldest < 0 || engine__arrival_cmp(e, ti, oldest) < 0) oldest = ti;
        }
        if (best < 0) continue;
        const struct hq_service_st *st = &e->svc[s];
        pk->svc = s;
        if (best == oldest) {
            pk->ticket = best;
            pk->overtakes = 0;
        } else if (e->cfg->max_overtakes > 0 && st->overtakes >= e->cfg->max_overtakes) {
            /* Anti-starvation: the head of the arrival order has been passed
             * over max_overtakes times in a row; it goes now. */
            pk->ticket = oldest;
            pk->overtakes = 0;
        } else {
            pk->ticket = best;
            pk->overtakes = st->overtakes < UINT16_MAX ? st->overtakes + 1 : UINT16_MAX;
        }
        return;
    }
}

size_t hq_engine_waiting(const struct hq_engine *e, size_t service)
{
    const struct engine__priv *p = e->priv;
    return service < e->cfg->n_services ? p->waiting[service].n : 0;
}

/* Tickets in t's queue that would be called before it: the same ranking as a
 * call, without anti-starvation. A ticket targeted at window W competes with
 * the untargeted ones and those targeted at W. */
size_t hq_engine_ahead(const struct hq_engine *e, int32_t ticket)
{
    const struct engine__priv *p = e->priv;
    if (ticket < 0 || (size_t)ticket >= e->n_tickets) return 0;
    const struct hq_ticket *t = &e->tickets[ticket];
    if (t->status != HQ_TS_WAITING) return 0;
    const struct engine__list *l = &p->waiting[t->service];
    size_t n = 0;
    for (uint32_t i = 0; i < l->n; i++) {
        int32_t ui = l->v[i];
        const struct hq_ticket *u = &e->tickets[ui];
        if (ui == ticket) continue;
        if (u->target_window != 0 && u->target_window != t->target_window) continue;
        if (engine__rank_cmp(e, ui, ticket) < 0) n++;
    }
    return n;
}

/* Windows logged in, not paused, that serve `service`. */
size_t hq_engine_open_windows(const struct hq_engine *e, size_t service)
{
    if (service >= e->cfg->n_services) return 0;
    size_t n = 0;
    for (size_t w = 0; w < e->cfg->n_windows; w++) {
        uint8_t st = e->win[w].state;
        if (st == HQ_WS_CLOSED || st == HQ_WS_PAUSED || e->cfg->windows[w].closed) continue;
        const struct hq_window_cfg *wc = &e->cfg->windows[w];
        for (size_t k = 0; k < wc->n_services; k++) {
            if (wc->services[k] == service) {
                n++;
                break;
            }
        }
    }
    return n;
}

static uint32_t engine__handle_s(const struct hq_engine *e, size_t service)
{
    /* handle_s stays 0 until the first handling time is measured. */
    uint32_t h = e->svc[service].handle_s;
    return h ? h : e->cfg->services[service].default_handle_s;
}

int64_t hq_engine_estimate_wait(const struct hq_engine *e, size_t service)
{
    if (service >= e->cfg->n_services) return -1;
    size_t open = hq_engine_open_windows(e, service);
    if (!open) return -1;
    return (int64_t)hq_engine_waiting(e, service) * engine__handle_s(e, service) / (int64_t)open;
}

int64_t hq_engine_estimate_ticket(const struct hq_engine *e, int32_t ticket)
{
    if (ticket < 0 || (size_t)ticket >= e->n_tickets) return -1;
    size_t service = e->tickets[ticket].service;
    size_t open = hq_engine_open_windows(e, service);
    if (!open) return -1;
    return (int64_t)hq_engine_ahead(e, ticket) * engine__handle_s(e, service) / (int64_t)open;
}

/* --------------------------------------------------------- result output */

static void engine__fx(struct engine__ctx *c, uint8_t type, uint8_t flags, int service,
                       uint16_t window, int32_t ticket)
{
    struct hq_result *r = c->res;
    if (r->n_fx >= r->cap_fx) return; /* reserved: cannot happen */
    struct hq_effect *f = &r->fx[r->n_fx++];
    memset(f, 0, sizeof *f);
    f->type = type;
    f->flags = flags;
    f->service = (uint8_t)(service >= 0 ? service : 0);
    f->window = window;
    f->ticket = ticket;
}

static struct hq_record *engine__rec(struct engine__ctx *c, uint8_t type, uint8_t event,
                                     uint16_t window, int32_t ticket, uint16_t staff)
{
    struct hq_result *r = c->res;
    /* engine__reserve left room for every record a command makes. */
    struct hq_record *rec = &r->rec[r->n_rec < r->cap_rec ? r->n_rec++ : r->cap_rec - 1];
    memset(rec, 0, sizeof *rec);
    rec->type = type;
    rec->event = event;
    rec->window = window;
    rec->ticket = ticket;
    rec->staff = staff;
    rec->at = c->cmd->now;
    return rec;
}

static void engine__dirty_ticket(struct engine__ctx *c, int32_t ti)
{
    struct hq_result *r = c->res;
    for (size_t i = 0; i < r->n_dirty_tickets; i++)
        if (r->dirty_tickets[i] == ti) return;
    if (r->n_dirty_tickets < r->cap_dirty_tickets) r->dirty_tickets[r->n_dirty_tickets++] = ti;
}

static void engine__dirty_window(struct engine__ctx *c, size_t wi)
{
    c->res->dirty_windows[wi / 8] |= (uint8_t)(1u << (wi % 8));
}

static void engine__dirty_service(struct engine__ctx *c, size_t s)
{
    c->res->dirty_services[s / 8] |= (uint8_t)(1u << (s % 8));
}

static void engine__win_state(struct engine__ctx *c, int wi, uint8_t st)
{
    struct hq_window_st *w = &c->e->win[wi];
    if (w->state != st) w->state_since = c->now;
    if (st != HQ_WS_PAUSED) w->pause_reason[0] = 0; /* a reason belongs to one pause */
    w->state = st;
    engine__dirty_window(c, (size_t)wi);
}

/* ------------------------------------------------------------- rollover */

/* The business day is the local date. A command of a later date closes the
 * old day whatever happened in between (a box off for three days rolls over
 * once). Expiry of the old day's open tickets is the store's job (it closes
 * the day in SQL), so the engine emits one ROLLOVER record and forgets them.
 * A clock that went back never rolls the day back. */
static void engine__rollover(struct engine__ctx *c)
{
    struct hq_engine *e = c->e;
    int32_t d = hq_engine_day_of(c->cfg, c->cmd->now);
    if (e->day == 0) {
        e->day = d;
        return;
    }
    if (d <= e->day) return;
    int32_t old = e->day;
    for (size_t w = 0; w < c->cfg->n_windows; w++) {
        struct hq_window_st *ws = &e->win[w];
        ws->current = -1;
        ws->rating_ticket = -1;
        ws->rating_deadline = 0;
        /* A clerk logged in over midnight stays logged in; a paused window stays paused. */
        if (ws->state == HQ_WS_CALLING || ws->state == HQ_WS_SERVING)
            engine__win_state(c, (int)w, HQ_WS_IDLE);
        engine__dirty_window(c, w);
    }
    for (size_t s = 0; s < c->cfg->n_services; s++) {
        struct hq_service_st *st = &e->svc[s];
        st->issued = 0;
        st->last_number = 0;
        st->overtakes = 0;
        st->handled = 0; /* handle_s keeps its measured value across days */
        engine__dirty_service(c, s);
    }
    e->n_tickets = 0;
    engine__clear_indexes(e);
    e->day = d;
    struct hq_record *r = engine__rec(c, HQ_REC_EVENT, HQ_EV_ROLLOVER, 0, -1, 0);
    r->aux = old;
    c->res->rollover = true;
    c->res->old_day = old;
}

/* ------------------------------------------------------- shared actions */

/* Learn from one measured handling time h (seconds) of a service. One instant call/finish
 * must not turn a 5-minute service into a 10-second one, so the estimate
 *  - starts from the configured handle_s (handle_s 0 = nothing learnt yet), not from the first
 *    measurement;
 *  - ignores a time under handle_min_sample_s: a no-show finished or a mistaken call, no
 *    service;
 *  - clips a time to [estimate / handle_outlier_factor, estimate * handle_outlier_factor]: a
 *    clerk who forgot to press finish for an hour says nothing about the next citizen;
 *  - gives the n-th finish of the day n / handle_min_samples of the EWMA weight
 *    handle_alpha_pct, so a morning's first few times move it little;
 *  - never moves it by more than handle_max_step_pct of itself on one time.
 * All integer arithmetic: replaying the same commands gives the same estimate. */
static void engine__learn_handle(struct engine__ctx *c, size_t service, uint64_t h)
{
    const struct hq_engine_cfg *cfg = c->cfg;
    struct hq_service_st *st = &c->e->svc[service];
    int64_t cur = st->handle_s ? st->handle_s : cfg->services[service].default_handle_s;
    if (h < cfg->handle_min_sample_s) return;
    int64_t x = (int64_t)h;
    if (cfg->handle_outlier_factor > 1) {
        int64_t lo = cur / cfg->handle_outlier_factor, hi = cur * cfg->handle_outlier_factor;
        x = x < lo ? lo : x > hi ? hi : x;
    }
    int64_t a = cfg->handle_alpha_pct > 100 ? 100 : cfg->handle_alpha_pct;
    int64_t n = (int64_t)st->handled + 1, warm = cfg->handle_min_samples;
    int64_t num = (x - cur) * a, den = 100; /* delta = num / den */
    if (warm > 1 && n < warm) num *= n, den *= warm;
    int64_t d = (num >= 0 ? num + den / 2 : num - den / 2) / den;
    if (cfg->handle_max_step_pct) {
        int64_t lim = cur * (cfg->handle_max_step_pct > 100 ? 100 : cfg->handle_max_step_pct) / 100;
        if (lim < 1) lim = 1;
        d = d < -lim ? -lim : d > lim ? lim : d;
    }
    int64_t v = cur + d;
    if (v < ENGINE__MIN_HANDLE_S) v = ENGINE__MIN_HANDLE_S;
    if (v > ENGINE__MAX_HANDLE_S) v = ENGINE__MAX_HANDLE_S;
    st->handle_s = (uint32_t)v;
}

/* Finish the window's current ticket. An explicit finish prompts the rating
 * pad; an implicit one (the clerk called the next citizen without pressing
 * finish) does not, since the citizen has already left. */
static void engine__finish(struct engine__ctx *c, int wi, bool prompt)
{
    struct hq_engine *e = c->e;
    struct hq_window_st *w = &e->win[wi];
    uint16_t wn = c->cfg->windows[wi].number;
    int32_t ti = w->current;
    struct hq_ticket *t = &e->tickets[ti];
    uint32_t from = t->served_at ? t->served_at : t->called_at;
    uint64_t h = c->now > from ? c->now - from : 0;
    if (h < ENGINE__MIN_HANDLE_S) h = ENGINE__MIN_HANDLE_S;
    if (h > ENGINE__MAX_HANDLE_S) h = ENGINE__MAX_HANDLE_S;
    struct hq_service_st *st = &e->svc[t->service];
    engine__learn_handle(c, t->service, h);
    st->handled++;
    engine__dirty_service(c, t->service);

    t->finished_at = c->now;
    engine__set_status(e, ti, HQ_TS_DONE);
    engine__dirty_ticket(c, ti);
    w->current = -1;
    engine__win_state(c, wi, HQ_WS_IDLE);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_FINISH, wn, ti, w->staff);
    engine__rec(c, HQ_REC_TICKET, HQ_EV_FINISH, wn, ti, t->staff);
    if (!prompt) return;
    if (w->rating_ticket >= 0 && w->rating_ticket != ti) {
        /* A new invitation replaces one still open: that service stays unrated. */
        engine__rec(c, HQ_REC_EVENT, HQ_EV_UNRATED, wn, w->rating_ticket,
                    e->tickets[w->rating_ticket].staff);
    }
    w->rating_ticket = ti;
    w->rating_deadline = c->now + c->cfg->rating_timeout_s;
    engine__fx(c, HQ_FX_WINDOW, 0, -1, wn, -1);
    engine__fx(c, HQ_FX_RATE_PROMPT, 0, t->service, wn, ti);
}

/* Window wi calls ticket ti (waiting, no-show or parked). */
static void engine__call(struct engine__ctx *c, int wi, int32_t ti, uint8_t ev, bool queue_fx)
{
    struct hq_engine *e = c->e;
    struct hq_window_st *w = &e->win[wi];
    uint16_t wn = c->cfg->windows[wi].number;
    struct hq_ticket *t = &e->tickets[ti];
    t->window = wn;
    t->staff = w->staff;
    t->called_at = c->now;
    t->finished_at = 0; /* a no-show called back is open again */
    t->recalls = 0;
    t->flags &= (uint8_t)~HQ_TF_FRONT;
    engine__set_status(e, ti, HQ_TS_CALLED);
    engine__dirty_ticket(c, ti);
    w->current = ti;
    w->last_call_at = c->now;
    engine__win_state(c, wi, HQ_WS_CALLING);
    w->state_since = c->now;
    engine__rec(c, HQ_REC_EVENT, ev, wn, ti, w->staff);
    engine__fx(c, HQ_FX_CALL, 0, t->service, wn, ti);
    if (queue_fx) {
        engine__fx(c, HQ_FX_QUEUE, 0, t->service, 0, -1);
        engine__dirty_service(c, t->service);
    }
    engine__fx(c, HQ_FX_WINDOW, 0, -1, wn, -1);
    c->res->ticket = ti;
}

/* The current ticket did not come: back into its queue (at the back) while
 * re-queues remain and re-queueing is wanted, else it ends as NO_SHOW. */
static void engine__no_show(struct engine__ctx *c, int wi, bool requeue)
{
    struct hq_engine *e = c->e;
    struct hq_window_st *w = &e->win[wi];
    uint16_t wn = c->cfg->windows[wi].number;
    int32_t ti = w->current;
    struct hq_ticket *t = &e->tickets[ti];
    engine__rec(c, HQ_REC_EVENT, HQ_EV_NO_SHOW, wn, ti, w->staff);
    if (requeue && t->requeues < c->cfg->max_requeues) {
        t->requeues++;
        t->queued_at = c->now;
        t->window = 0;
        engine__set_status(e, ti, HQ_TS_WAITING);
        engine__rec(c, HQ_REC_EVENT, HQ_EV_REQUEUE, wn, ti, w->staff);
        engine__fx(c, HQ_FX_QUEUE, 0, t->service, 0, -1);
        engine__dirty_service(c, t->service);
    } else {
        t->finished_at = c->now;
        engine__set_status(e, ti, HQ_TS_NO_SHOW);
        engine__rec(c, HQ_REC_TICKET, HQ_EV_NO_SHOW, wn, ti, t->staff);
    }
    engine__dirty_ticket(c, ti);
    w->current = -1;
    engine__win_state(c, wi, HQ_WS_IDLE);
    engine__fx(c, HQ_FX_WINDOW, 0, -1, wn, -1);
    c->res->ticket = ti;
}

/* ------------------------------------------------------------- commands */

static int engine__age_on(int32_t day, int32_t birth_ymd)
{
    int by = birth_ymd / 10000, bm = birth_ymd / 100 % 100, bd = birth_ymd % 100;
    if (birth_ymd <= 0 || bm < 1 || bm > 12 || bd < 1 || bd > 31) return -1;
    int y, m, d;
    hq_ymd_from_days(day, &y, &m, &d);
    int age = y - by;
    if (m < bm || (m == bm && d < bd)) age--; /* birthday not reached yet this year */
    return age;
}

/* Staff put a number a citizen holds on paper back in the queue (its ticket
 * was lost with a database moved aside): a ticket of that number, waiting
 * from now, not printed again (the paper is in the citizen's hand), not
 * counted against the quota, and the service's next number is untouched.
 * Refused when a live ticket holds the number (HQ_ERR_STATE). */
static int engine__reregister(struct engine__ctx *c, size_t s, uint16_t number)
{
    struct hq_engine *e = c->e;
    const struct hq_cmd *cmd = c->cmd;
    const struct hq_service_cfg *sc = &c->cfg->services[s];
    struct hq_service_st *st = &e->svc[s];
    const struct engine__priv *p = e->priv;
    if (number < sc->num_min || number > sc->num_max) return HQ_ERR_INVALID;
    uint32_t k = (uint32_t)(number - sc->num_min);
    if (k >= p->live_len[s]) return HQ_ERR_INVALID;
    if (p->live[s][k]) return HQ_ERR_STATE;
    uint8_t prio = cmd->u.issue.priority;
    if (prio != HQ_PRIO_NORMAL && !(sc->priority_mask & (1u << prio))) prio = HQ_PRIO_NORMAL;
    int32_t ti = (int32_t)e->n_tickets++;
    struct hq_ticket *t = &e->tickets[ti];
    memset(t, 0, sizeof *t);
    memcpy(t->uuid, cmd->u.issue.uuid, 16);
    st->issued++;
    t->serial = st->issued;
    t->number = number;
    t->service = t->orig_service = (uint8_t)s;
    t->priority = prio;
    t->channel = cmd->u.issue.channel;
    t->issued_at = t->queued_at = c->now;
    if (cmd->u.issue.assist) t->flags |= HQ_TF_ASSIST;
    t->status = HQ_TS_CANCELLED; /* so set_status counts it as new and live */
    engine__padd(e, ti, +1);
    engine__set_status(e, ti, HQ_TS_WAITING);
    engine__dirty_ticket(c, ti);
    engine__dirty_service(c, s);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_ISSUE, 0, ti, 0)->aux = (int32_t)s;
    engine__fx(c, HQ_FX_QUEUE, 0, (int)s, 0, -1);
    c->res->ticket = ti;
    return HQ_OK;
}

static int engine__cmd_issue(struct engine__ctx *c)
{
    struct hq_engine *e = c->e;
    const struct hq_cmd *cmd = c->cmd;
    size_t s = cmd->u.issue.service;
    if (s >= c->cfg->n_services) return HQ_ERR_NOT_FOUND;
    const struct hq_service_cfg *sc = &c->cfg->services[s];
    struct hq_service_st *st = &e->svc[s];
    if (cmd->u.issue.priority >= HQ_PRIO__COUNT || cmd->u.issue.channel >= HQ_CHAN__COUNT)
        return HQ_ERR_INVALID;
    uint16_t held = cmd->u.issue.held_number;
    if (held) return engine__reregister(c, s, held);
    if (!hq_engine_service_open(e, s, cmd->now)) return HQ_ERR_CLOSED;
    if (sc->id_required && !cmd->u.issue.has_id) return HQ_ERR_ID_REQUIRED;
    if (sc->daily_quota > 0 && st->issued >= sc->daily_quota) return HQ_ERR_QUOTA;
    if (sc->per_person_limit > 0 && cmd->u.issue.has_id &&
        engine__pcount(e, cmd->u.issue.id_hash, (uint8_t)s) >= sc->per_person_limit)
        return HQ_ERR_PERSON_LIMIT;

    /* Next number after the last one, wrapping to num_min, skipping numbers a
     * live ticket of this service still holds. */
    const struct engine__priv *p = e->priv;
    uint32_t len = p->live_len[s];
    if (!len) return HQ_ERR_RANGE_FULL;
    uint32_t next = st->last_number + 1u;
    if (st->last_number == 0 || st->last_number >= sc->num_max || next < sc->num_min)
        next = sc->num_min;
    uint32_t k = next - sc->num_min, tries;
    for (tries = 0; tries < len; tries++, k = (k + 1) % len)
        if (!p->live[s][k]) break;
    if (tries == len) return HQ_ERR_RANGE_FULL;
    uint16_t number = (uint16_t)(sc->num_min + k);

    /* Priority: a class the service does not honour becomes NORMAL; a card
     * holder of elderly_age or more (full years on the hall's date) gets
     * ELDERLY when the resulting class is NORMAL. elderly_age 0 = off. */
    uint8_t prio = cmd->u.issue.priority;
    if (prio != HQ_PRIO_NORMAL && !(sc->priority_mask & (1u << prio))) prio = HQ_PRIO_NORMAL;
    if (prio == HQ_PRIO_NORMAL && cmd->u.issue.birth_ymd != 0 && c->cfg->elderly_age > 0 &&
        (sc->priority_mask & (1u << HQ_PRIO_ELDERLY)) &&
        engine__age_on(e->day, cmd->u.issue.birth_ymd) >= c->cfg->elderly_age)
        prio = HQ_PRIO_ELDERLY;

    int32_t ti = (int32_t)e->n_tickets++;
    struct hq_ticket *t = &e->tickets[ti];
    memset(t, 0, sizeof *t);
    memcpy(t->uuid, cmd->u.issue.uuid, 16);
    if (cmd->u.issue.has_id) {
        memcpy(t->id_hash, cmd->u.issue.id_hash, 8);
        t->flags |= HQ_TF_HAS_ID;
    }
    if (cmd->u.issue.assist) t->flags |= HQ_TF_ASSIST;
    memcpy(t->name_masked, cmd->u.issue.name_masked, sizeof t->name_masked);
    t->name_masked[sizeof t->name_masked - 1] = 0;
    st->issued++;
    st->last_number = number;
    t->serial = st->issued;
    t->number = number;
    t->service = t->orig_service = (uint8_t)s;
    t->priority = prio;
    t->channel = cmd->u.issue.channel;
    t->issued_at = t->queued_at = c->now;
    t->status = HQ_TS_CANCELLED; /* so set_status counts it as new and live */
    engine__padd(e, ti, +1);
    engine__set_status(e, ti, HQ_TS_WAITING);

    engine__dirty_ticket(c, ti);
    engine__dirty_service(c, s);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_ISSUE, 0, ti, 0)->aux = (int32_t)s;
    engine__fx(c, HQ_FX_PRINT, 0, (int)s, 0, ti);
    engine__fx(c, HQ_FX_QUEUE, 0, (int)s, 0, -1);
    c->res->ticket = ti;
    return HQ_OK;
}

/* Window commands that call need a clerk at work. */
static int engine__can_call(const struct engine__ctx *c)
{
    uint8_t st = c->e->win[c->wi].state;
    if (st == HQ_WS_CLOSED) return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_NOT_LOGGED_IN);
    if (st == HQ_WS_PAUSED) return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_PAUSED);
    return HQ_OK;
}

static int engine__cmd_call_next(struct engine__ctx *c)
{
    int rc = engine__can_call(c);
    if (rc) return rc;
    struct engine__pick pk;
    engine__pick_next(c->e, c->wi, &pk);
    bool has_current = c->e->win[c->wi].current >= 0;
    if (pk.ticket < 0 && !has_current)
        return ENGINE__REFUSE(c, HQ_ERR_EMPTY, HQ_WHY_NOBODY_WAITING);
    if (has_current) engine__finish(c, c->wi, false);
    if (pk.ticket < 0) {
        /* Nobody to call, but the implicit finish stands and must be committed. */
        engine__fx(c, HQ_FX_WINDOW, 0, -1, c->wn, -1);
        c->res->ticket = -1;
        return HQ_OK;
    }
    if (pk.svc >= 0 && c->e->svc[pk.svc].overtakes != pk.overtakes) {
        c->e->svc[pk.svc].overtakes = pk.overtakes;
        engine__dirty_service(c, (size_t)pk.svc);
    }
    engine__call(c, c->wi, pk.ticket, HQ_EV_CALL, true);
    return HQ_OK;
}

static bool engine__window_serves(const struct hq_window_cfg *wc, uint8_t s, size_t *pos)
{
    for (size_t k = 0; k < wc->n_services; k++) {
        if (wc->services[k] == s) {
            if (pos) *pos = k;
            return true;
        }
    }
    return false;
}

/* Call by number: "A012" names the ticket's printed prefix; bare digits look
 * through the window's services in order, then tickets transferred to it.
 * Waiting tickets and no-shows (a late citizen came back) qualify; the most
 * recent serial wins when a number was handed out twice, and a no-show whose
 * number a live ticket holds again is not called back. */
static int32_t engine__pick_number(const struct engine__ctx *c, const char *label)
{
    const struct hq_engine *e = c->e;
    const struct hq_window_cfg *wc = &c->cfg->windows[c->wi];
    size_t plen;
    uint16_t number;
    if (!engine__parse_label(label, &plen, &number)) return -1;
    int32_t by_pos[HQ_MAX_WINDOW_SERVICES], targeted = -1;
    for (size_t k = 0; k < HQ_MAX_WINDOW_SERVICES; k++)
        by_pos[k] = -1;
    for (size_t i = e->n_tickets; i-- > 0;) {
        const struct hq_ticket *t = &e->tickets[i];
        if (t->number != number) continue;
        if (t->status != HQ_TS_WAITING && t->status != HQ_TS_NO_SHOW) continue;
        /* A no-show's number went back to the range; once a newer ticket
         * holds it, calling the old one back would make two live tickets
         * with one number. The newer ticket owns the number. */
        if (t->status == HQ_TS_NO_SHOW) {
            const uint8_t *slot = engine__live_slot(e, t);
            if (slot && *slot) continue;
        }
        if (!engine__eligible(t, wc->number)) continue;
        size_t pos;
        bool serves = engine__window_serves(wc, t->service, &pos);
        if (!serves && t->target_window != wc->number) continue;
        if (plen) {
            if (engine__prefix_is(&c->cfg->services[t->orig_service], label, plen))
                return (int32_t)i;
            continue;
        }
        if (t->target_window == wc->number) {
            if (targeted < 0) targeted = (int32_t)i;
        } else if (serves && by_pos[pos] < 0) {
            by_pos[pos] = (int32_t)i;
        }
    }
    for (size_t k = 0; k < wc->n_services; k++)
        if (by_pos[k] >= 0) return by_pos[k];
    return targeted;
}

static int engine__cmd_call_number(struct engine__ctx *c)
{
    int rc = engine__can_call(c);
    if (rc) return rc;
    char label[sizeof c->cmd->u.call.label + 1];
    memcpy(label, c->cmd->u.call.label, sizeof c->cmd->u.call.label);
    label[sizeof label - 1] = 0;
    int32_t ti = engine__pick_number(c, label);
    if (ti < 0) return ENGINE__REFUSE(c, HQ_ERR_NOT_FOUND, HQ_WHY_NO_TICKET);
    if (c->e->win[c->wi].current >= 0) engine__finish(c, c->wi, false);
    engine__call(c, c->wi, ti, HQ_EV_CALL, true);
    return HQ_OK;
}

static int engine__cmd_recall(struct engine__ctx *c)
{
    struct hq_window_st *w = &c->e->win[c->wi];
    if (w->current < 0 || c->e->tickets[w->current].status != HQ_TS_CALLED)
        return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_NOT_CALLED);
    struct hq_ticket *t = &c->e->tickets[w->current];
    if (t->recalls >= c->cfg->recall_limit) {
        /* One recall more than allowed: the citizen is not coming. */
        if (t->recalls < UINT8_MAX) t->recalls++;
        engine__no_show(c, c->wi, c->cfg->no_show_requeue);
        return HQ_OK;
    }
    t->recalls++;
    w->last_call_at = c->now;
    engine__dirty_ticket(c, w->current);
    engine__dirty_window(c, (size_t)c->wi);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_RECALL, c->wn, w->current, w->staff);
    engine__fx(c, HQ_FX_CALL, HQ_FXF_RECALL, t->service, c->wn, w->current);
    c->res->ticket = w->current;
    return HQ_OK;
}

static int engine__cmd_start(struct engine__ctx *c)
{
    struct hq_window_st *w = &c->e->win[c->wi];
    if (w->current < 0 || c->e->tickets[w->current].status != HQ_TS_CALLED)
        return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_NOT_CALLED);
    int32_t ti = w->current;
    c->e->tickets[ti].served_at = c->now;
    engine__set_status(c->e, ti, HQ_TS_SERVING);
    engine__dirty_ticket(c, ti);
    engine__win_state(c, c->wi, HQ_WS_SERVING);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_START, c->wn, ti, w->staff);
    engine__fx(c, HQ_FX_WINDOW, 0, -1, c->wn, -1);
    c->res->ticket = ti;
    return HQ_OK;
}

static int engine__cmd_no_show(struct engine__ctx *c)
{
    struct hq_window_st *w = &c->e->win[c->wi];
    if (w->current < 0 || c->e->tickets[w->current].status != HQ_TS_CALLED)
        return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_NOT_CALLED);
    int16_t rq = c->cmd->u.no_show.requeue;
    engine__no_show(c, c->wi, rq < 0 ? c->cfg->no_show_requeue : rq != 0);
    return HQ_OK;
}

static bool engine__has_open_current(const struct engine__ctx *c)
{
    int32_t cur = c->e->win[c->wi].current;
    if (cur < 0) return false;
    uint8_t st = c->e->tickets[cur].status;
    return st == HQ_TS_CALLED || st == HQ_TS_SERVING;
}

static int engine__cmd_park(struct engine__ctx *c)
{
    if (!engine__has_open_current(c)) return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_NO_CURRENT);
    struct hq_window_st *w = &c->e->win[c->wi];
    int32_t ti = w->current;
    /* queued_at remembers when it was parked: call-back takes the oldest;
     * ticket.window keeps the window that holds it. */
    c->e->tickets[ti].queued_at = c->now;
    engine__set_status(c->e, ti, HQ_TS_PARKED);
    engine__dirty_ticket(c, ti);
    w->current = -1;
    engine__win_state(c, c->wi, HQ_WS_IDLE);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_PARK, c->wn, ti, w->staff);
    engine__fx(c, HQ_FX_WINDOW, 0, -1, c->wn, -1);
    c->res->ticket = ti;
    return HQ_OK;
}

static int engine__cmd_call_back(struct engine__ctx *c)
{
    int rc = engine__can_call(c);
    if (rc) return rc;
    const struct engine__priv *p = c->e->priv;
    int32_t best = -1;
    for (uint32_t i = 0; i < p->parked.n; i++) {
        int32_t ti = p->parked.v[i];
        if (c->e->tickets[ti].window != c->wn) continue;
        if (best < 0 || engine__arrival_cmp(c->e, ti, best) < 0) best = ti;
    }
    /* Nothing parked here: refused before the current ticket is touched. */
    if (best < 0) return ENGINE__REFUSE(c, HQ_ERR_EMPTY, HQ_WHY_NOTHING_PARKED);
    if (c->e->win[c->wi].current >= 0) engine__finish(c, c->wi, false);
    engine__call(c, c->wi, best, HQ_EV_CALL_BACK, false);
    return HQ_OK;
}

static int engine__cmd_transfer(struct engine__ctx *c)
{
    if (!engine__has_open_current(c)) return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_NO_CURRENT);
    const struct hq_cmd *cmd = c->cmd;
    int16_t to = cmd->u.transfer.service;
    if (to >= 0 && (size_t)to >= c->cfg->n_services)
        return ENGINE__REFUSE(c, HQ_ERR_NOT_FOUND, HQ_WHY_NO_SERVICE);
    if (cmd->u.transfer.to_window) {
        int ti = hq_engine_window_index(c->e, cmd->u.transfer.to_window);
        if (ti < 0) return ENGINE__REFUSE(c, HQ_ERR_NOT_FOUND, HQ_WHY_NO_WINDOW);
        /* the manager closed it: whoever is sent there would wait for nobody */
        if (c->cfg->windows[ti].closed)
            return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_WINDOW_CLOSED);
        /* Nobody signed in there: the ticket would wait for a clerk who may not come
         * today (issue 16); the sender chooses another. A paused window resumes, so it
         * may take one. */
        if (c->e->win[ti].state == HQ_WS_CLOSED)
            return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_WINDOW_UNSTAFFED);
    }
    struct hq_window_st *w = &c->e->win[c->wi];
    int32_t ti = w->current;
    struct hq_ticket *t = &c->e->tickets[ti];
    uint8_t from = t->service, target = to >= 0 ? (uint8_t)to : from;
    t->service = target;
    t->target_window = cmd->u.transfer.to_window;
    t->window = 0;
    t->queued_at = c->now;
    t->flags |= HQ_TF_TRANSFERRED;
    if (cmd->u.transfer.front) t->flags |= HQ_TF_FRONT;
    engine__set_status(c->e, ti, HQ_TS_WAITING);
    engine__dirty_ticket(c, ti);
    w->current = -1;
    engine__win_state(c, c->wi, HQ_WS_IDLE);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_TRANSFER, c->wn, ti, w->staff)->aux = target;
    engine__fx(c, HQ_FX_WINDOW, 0, -1, c->wn, -1);
    engine__fx(c, HQ_FX_QUEUE, 0, from, 0, -1);
    engine__dirty_service(c, from);
    if (target != from) {
        engine__fx(c, HQ_FX_QUEUE, 0, target, 0, -1);
        engine__dirty_service(c, target);
    }
    c->res->ticket = ti;
    return HQ_OK;
}

static int engine__cmd_pause(struct engine__ctx *c, bool pause)
{
    struct hq_window_st *w = &c->e->win[c->wi];
    /* A pause says why (午休, 会议): one of the configured reasons; none named (a keypad, an
     * old client) is HQ_PAUSE_DEFAULT, which is always accepted. */
    const char *reason = pause && c->cmd->u.pause.reason[0] ? c->cmd->u.pause.reason : NULL;
    if (!reason) reason = HQ_PAUSE_DEFAULT;
    if (pause && strcmp(reason, HQ_PAUSE_DEFAULT) != 0 && !hq_pause_reason(c->cfg, reason))
        return ENGINE__REFUSE(c, HQ_ERR_INVALID, HQ_WHY_NO_PAUSE_REASON);
    /* Pause only an idle window (finish the citizen first); resume only a paused one. */
    if (w->state != (pause ? HQ_WS_IDLE : HQ_WS_PAUSED))
        return ENGINE__REFUSE(c, HQ_ERR_STATE,
                              pause ? (w->state == HQ_WS_CLOSED   ? HQ_WHY_NOT_LOGGED_IN
                                       : w->state == HQ_WS_PAUSED ? HQ_WHY_PAUSED
                                                                  : HQ_WHY_WINDOW_BUSY)
                                    : HQ_WHY_NOT_PAUSED);
    char was[sizeof w->pause_reason];
    memcpy(was, w->pause_reason, sizeof was);
    uint32_t since = w->state_since;
    engine__win_state(c, c->wi, pause ? HQ_WS_PAUSED : HQ_WS_IDLE);
    struct hq_record *r =
        engine__rec(c, HQ_REC_EVENT, pause ? HQ_EV_PAUSE : HQ_EV_RESUME, c->wn, -1, w->staff);
    if (pause) {
        snprintf(w->pause_reason, sizeof w->pause_reason, "%s", reason);
        snprintf(r->reason, sizeof r->reason, "%s", reason);
    } else {
        memcpy(r->reason, was, sizeof r->reason);
        r->aux = c->now >= since ? (int32_t)(c->now - since) : 0; /* seconds paused */
    }
    engine__fx(c, HQ_FX_WINDOW, 0, -1, c->wn, -1);
    return HQ_OK;
}

/* 求助: the clerk calls the hall manager. Allowed in every state (a keypad's help key works
 * before anyone logs in, too). A second call while one is open changes nothing: the first
 * call's time is how long the clerk has waited. */
static int engine__cmd_help(struct engine__ctx *c)
{
    struct hq_window_st *w = &c->e->win[c->wi];
    if (w->help_at) return HQ_OK;
    w->help_at = c->now ? c->now : 1;
    engine__dirty_window(c, (size_t)c->wi);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_HELP, c->wn, -1, w->staff);
    engine__fx(c, HQ_FX_WINDOW, 0, -1, c->wn, -1);
    return HQ_OK;
}

static int engine__cmd_help_ack(struct engine__ctx *c)
{
    struct hq_window_st *w = &c->e->win[c->wi];
    if (!w->help_at) return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_NO_HELP_CALL);
    struct hq_record *r = engine__rec(c, HQ_REC_EVENT, HQ_EV_HELP_ACK, c->wn, -1, w->staff);
    r->aux = c->now >= w->help_at ? (int32_t)(c->now - w->help_at) : 0; /* seconds waited */
    w->help_at = 0;
    engine__dirty_window(c, (size_t)c->wi);
    engine__fx(c, HQ_FX_WINDOW, 0, -1, c->wn, -1);
    return HQ_OK;
}

static int engine__cmd_finish(struct engine__ctx *c)
{
    if (!engine__has_open_current(c)) return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_NO_CURRENT);
    c->res->ticket = c->e->win[c->wi].current;
    engine__finish(c, c->wi, true);
    return HQ_OK;
}

static int engine__cmd_cancel(struct engine__ctx *c)
{
    int32_t ti = c->cmd->u.cancel.ticket;
    if (ti < 0 || (size_t)ti >= c->e->n_tickets)
        return ENGINE__REFUSE(c, HQ_ERR_NOT_FOUND, HQ_WHY_NO_TICKET);
    struct hq_ticket *t = &c->e->tickets[ti];
    if (t->status != HQ_TS_WAITING && t->status != HQ_TS_PARKED && t->status != HQ_TS_NO_SHOW)
        return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_TICKET_CLOSED);
    t->finished_at = c->now;
    engine__set_status(c->e, ti, HQ_TS_CANCELLED);
    engine__dirty_ticket(c, ti);
    engine__dirty_service(c, t->service);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_CANCEL, t->window, ti, 0);
    engine__rec(c, HQ_REC_TICKET, HQ_EV_CANCEL, t->window, ti, t->staff);
    engine__fx(c, HQ_FX_QUEUE, 0, t->service, 0, -1);
    c->res->ticket = ti;
    return HQ_OK;
}

static int engine__cmd_login(struct engine__ctx *c)
{
    char id[sizeof c->cmd->u.login.staff_id + 1];
    memcpy(id, c->cmd->u.login.staff_id, sizeof c->cmd->u.login.staff_id);
    id[sizeof id - 1] = 0;
    int si = hq_engine_staff_index(c->e, id);
    if (si < 0) return ENGINE__REFUSE(c, HQ_ERR_NOT_FOUND, HQ_WHY_NO_STAFF);
    uint16_t staff = (uint16_t)(si + 1);
    if (c->cfg->windows[c->wi].closed) return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_WINDOW_CLOSED);
    struct hq_window_st *w = &c->e->win[c->wi];
    if (w->state != HQ_WS_CLOSED && w->state != HQ_WS_IDLE && w->state != HQ_WS_PAUSED)
        return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_WINDOW_BUSY);
    /* One clerk, one window: logged in elsewhere means logged out there
     * first, which (as a logout) needs that window free of a citizen. */
    int other = -1;
    for (size_t i = 0; i < c->cfg->n_windows; i++) {
        if ((int)i == c->wi || c->e->win[i].state == HQ_WS_CLOSED) continue;
        if (c->e->win[i].staff != staff) continue;
        if (c->e->win[i].state != HQ_WS_IDLE && c->e->win[i].state != HQ_WS_PAUSED)
            return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_STAFF_BUSY);
        other = (int)i;
    }
    if (w->staff && w->staff != staff) /* the clerk before leaves this window */
        engine__rec(c, HQ_REC_EVENT, HQ_EV_LOGOUT, c->wn, -1, w->staff);
    if (other >= 0) {
        uint16_t on = c->cfg->windows[other].number;
        c->e->win[other].staff = 0;
        engine__win_state(c, other, HQ_WS_CLOSED);
        engine__rec(c, HQ_REC_EVENT, HQ_EV_LOGOUT, on, -1, staff);
        engine__fx(c, HQ_FX_WINDOW, 0, -1, on, -1);
    }
    w->staff = staff;
    if (w->state == HQ_WS_CLOSED) engine__win_state(c, c->wi, HQ_WS_IDLE);
    engine__dirty_window(c, (size_t)c->wi);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_LOGIN, c->wn, -1, staff);
    engine__fx(c, HQ_FX_WINDOW, 0, -1, c->wn, -1);
    return HQ_OK;
}

static int engine__cmd_logout(struct engine__ctx *c)
{
    struct hq_window_st *w = &c->e->win[c->wi];
    if (w->state != HQ_WS_IDLE && w->state != HQ_WS_PAUSED)
        return ENGINE__REFUSE(c, HQ_ERR_STATE,
                              w->state == HQ_WS_CLOSED ? HQ_WHY_NOT_LOGGED_IN : HQ_WHY_WINDOW_BUSY);
    uint16_t staff = w->staff;
    w->staff = 0;
    engine__win_state(c, c->wi, HQ_WS_CLOSED);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_LOGOUT, c->wn, -1, staff);
    engine__fx(c, HQ_FX_WINDOW, 0, -1, c->wn, -1);
    return HQ_OK;
}

/* Was the last citizen this window finished rated already? Only on a refused
 * rating, to tell "a second rating" (已评价) from "none asked for": a scan of
 * the day's tickets is cheap beside a keypress. */
static bool engine__last_rated(const struct engine__ctx *c)
{
    int32_t last = -1;
    for (size_t i = 0; i < c->e->n_tickets; i++) {
        const struct hq_ticket *t = &c->e->tickets[i];
        if (t->window != c->wn || t->status != HQ_TS_DONE) continue;
        if (last < 0 || t->finished_at >= c->e->tickets[last].finished_at) last = (int32_t)i;
    }
    return last >= 0 && (c->e->tickets[last].flags & HQ_TF_RATED);
}

static int engine__cmd_rate(struct engine__ctx *c)
{
    const struct hq_cmd *cmd = c->cmd;
    if (cmd->u.rate.level < 1 || cmd->u.rate.level > 5 || cmd->u.rate.channel >= HQ_CHAN__COUNT)
        return HQ_ERR_INVALID;
    struct hq_window_st *w = &c->e->win[c->wi];
    int32_t ti;
    if (cmd->u.rate.by_ticket) {
        /* The QR page rates its own ticket, whatever the window's pad does
         * meanwhile: finished, at this window, within qr_open_s (a day's
         * rollover ends it too: the engine holds one business day). */
        ti = cmd->u.rate.ticket;
        if (ti < 0 || (size_t)ti >= c->e->n_tickets)
            return ENGINE__REFUSE(c, HQ_ERR_NOT_FOUND, HQ_WHY_NO_RATING);
        const struct hq_ticket *q = &c->e->tickets[ti];
        if (q->flags & HQ_TF_RATED) return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_RATED);
        if (q->status != HQ_TS_DONE || q->window != c->wn ||
            c->now > q->finished_at + c->cfg->qr_open_s)
            return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_NO_RATING);
    } else {
        /* Only the invitation still open counts: a late or second rating is refused. */
        if (w->rating_ticket < 0 || c->now > w->rating_deadline)
            return ENGINE__REFUSE(c, HQ_ERR_STATE,
                                  engine__last_rated(c) ? HQ_WHY_RATED : HQ_WHY_NO_RATING);
        ti = w->rating_ticket;
    }
    struct hq_ticket *t = &c->e->tickets[ti];
    if (t->flags & HQ_TF_RATED) return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_RATED);
    t->flags |= HQ_TF_RATED;
    engine__dirty_ticket(c, ti);
    if (w->rating_ticket == ti) {
        /* rated elsewhere (QR page): the pad's invitation for it ends */
        if (cmd->u.rate.by_ticket) engine__fx(c, HQ_FX_RATE_CLOSED, 0, t->service, c->wn, ti);
        w->rating_ticket = -1;
        w->rating_deadline = 0;
        engine__dirty_window(c, (size_t)c->wi);
    }
    struct hq_record *r = engine__rec(c, HQ_REC_EVALUATION, HQ_EV_RATE, c->wn, ti, t->staff);
    r->level = cmd->u.rate.level;
    r->channel = cmd->u.rate.channel;
    r->reasons = cmd->u.rate.reasons;
    memcpy(r->uuid, cmd->u.rate.uuid, 16);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_RATE, c->wn, ti, t->staff)->level = cmd->u.rate.level;
    engine__fx(c, HQ_FX_RATED, 0, t->service, c->wn, ti);
    c->res->fx[c->res->n_fx - 1].level = cmd->u.rate.level;
    c->res->ticket = ti;
    return HQ_OK;
}

/* A pad silent past its deadline leaves the service unrated (never a default level). */
static int engine__cmd_tick(struct engine__ctx *c)
{
    for (size_t i = 0; i < c->cfg->n_windows; i++) {
        struct hq_window_st *w = &c->e->win[i];
        if (w->rating_ticket < 0 || c->now <= w->rating_deadline) continue;
        uint16_t wn = c->cfg->windows[i].number;
        int32_t ti = w->rating_ticket;
        w->rating_ticket = -1;
        w->rating_deadline = 0;
        engine__dirty_window(c, i);
        engine__rec(c, HQ_REC_EVENT, HQ_EV_UNRATED, wn, ti, c->e->tickets[ti].staff);
        engine__fx(c, HQ_FX_RATE_CLOSED, 0, c->e->tickets[ti].service, wn, ti);
    }
    return HQ_OK;
}

/* ------------------------------------------------ the hall changes at run time */

/* A window's service list as the config file would take it: 1..16 services that exist,
 * none twice. */
static int engine__check_services(const struct engine__ctx *c)
{
    const struct hq_cmd *cmd = c->cmd;
    uint8_t n = cmd->u.admin.n_services;
    if (n == 0 || n > HQ_MAX_WINDOW_SERVICES) return HQ_ERR_INVALID;
    for (size_t k = 0; k < n; k++) {
        if (cmd->u.admin.services[k] >= c->cfg->n_services)
            return ENGINE__REFUSE(c, HQ_ERR_NOT_FOUND, HQ_WHY_NO_SERVICE);
        for (size_t j = 0; j < k; j++)
            if (cmd->u.admin.services[j] == cmd->u.admin.services[k]) return HQ_ERR_INVALID;
    }
    return HQ_OK;
}

static void engine__rebuild_wmap(struct hq_engine *e)
{
    struct engine__priv *p = e->priv;
    for (size_t w = 0; w < e->cfg->n_windows; w++) {
        p->wmap[w].number = e->cfg->windows[w].number;
        p->wmap[w].idx = (uint16_t)w;
    }
    qsort(p->wmap, e->cfg->n_windows, sizeof *p->wmap, engine__wmap_cmp);
}

static int engine__cmd_window_open(struct engine__ctx *c)
{
    const struct hq_cmd *cmd = c->cmd;
    struct hq_engine_cfg *rw = c->e->rw;
    if (cmd->window == 0 || cmd->window > 999) return HQ_ERR_INVALID;
    int rc = engine__check_services(c);
    if (rc) return rc;
    int wi = hq_engine_window_index(c->e, cmd->window);
    if (wi >= 0 && !rw->windows[wi].closed)
        return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_WINDOW_OPEN);
    if (wi < 0) {
        if (rw->n_windows >= engine__win_cap(rw) || rw->n_windows >= HQ_MAX_WINDOWS)
            return ENGINE__REFUSE(c, HQ_ERR_LIMIT, HQ_WHY_NO_ROOM);
        wi = (int)rw->n_windows;
        struct hq_window_cfg *wc = &rw->windows[wi];
        memset(wc, 0, sizeof *wc);
        wc->number = cmd->window;
        wc->temporary = true;
        if (cmd->u.admin.name[0])
            snprintf(wc->name, sizeof wc->name, "%.*s", (int)sizeof wc->name - 1,
                     cmd->u.admin.name);
        else
            snprintf(wc->name, sizeof wc->name, "%u号窗口", (unsigned)cmd->window);
        if (cmd->u.admin.name_en[0])
            snprintf(wc->name_en, sizeof wc->name_en, "%.*s", (int)sizeof wc->name_en - 1,
                     cmd->u.admin.name_en);
        else
            snprintf(wc->name_en, sizeof wc->name_en, "Window %u", (unsigned)cmd->window);
        struct hq_window_st *ws = &c->e->win[wi];
        memset(ws, 0, sizeof *ws);
        ws->current = -1;
        ws->rating_ticket = -1;
        ws->state_since = c->now;
        rw->n_windows++;
        engine__rebuild_wmap(c->e);
    }
    struct hq_window_cfg *wc = &rw->windows[wi];
    wc->closed = false;
    memcpy(wc->services, cmd->u.admin.services, cmd->u.admin.n_services);
    wc->n_services = cmd->u.admin.n_services;
    c->wi = wi;
    c->wn = cmd->window;
    engine__dirty_window(c, (size_t)wi);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_WINDOW_OPEN, c->wn, -1, 0);
    engine__fx(c, HQ_FX_WINDOW, 0, -1, c->wn, -1);
    for (size_t k = 0; k < wc->n_services; k++)
        engine__fx(c, HQ_FX_QUEUE, 0, wc->services[k], 0, -1);
    return HQ_OK;
}

/* Does window wi (open, not closed) serve service s? */
static bool engine__serves(const struct engine__ctx *c, int wi, uint8_t s)
{
    const struct hq_window_cfg *wc = &c->cfg->windows[wi];
    for (size_t k = 0; k < wc->n_services; k++)
        if (wc->services[k] == s) return true;
    return false;
}

/* Would ticket ti be stranded when window `gone` closes or service `closing` shuts (-1 =
 * none)? Waiting for that window, parked there, or waiting in a service no other window that
 * stays open serves (or in the closing service itself). */
static bool engine__stranded(const struct engine__ctx *c, int32_t ti, int gone, int closing)
{
    const struct hq_ticket *t = &c->e->tickets[ti];
    uint16_t gn = gone >= 0 ? c->cfg->windows[gone].number : 0;
    if (t->status == HQ_TS_PARKED) return gone >= 0 && t->window == gn;
    if (t->status != HQ_TS_WAITING) return false;
    if (closing >= 0) return t->service == closing && t->target_window == 0;
    if (t->target_window) return t->target_window == gn;
    if (!engine__serves(c, gone, t->service)) return false;
    for (size_t w = 0; w < c->cfg->n_windows; w++)
        if ((int)w != gone && !c->cfg->windows[w].closed && engine__serves(c, (int)w, t->service))
            return false;
    return true;
}

/* Check the re-route of every stranded ticket to window cmd->u.admin.reroute_to before
 * anything changes; then (do = true) send them there, each holder told by an event. */
static int engine__reroute(struct engine__ctx *c, int gone, int closing, bool do_it)
{
    uint16_t to = c->cmd->u.admin.reroute_to;
    int ri = to ? hq_engine_window_index(c->e, to) : -1;
    size_t n = 0;
    for (size_t i = 0; i < c->e->n_tickets; i++) {
        if (!engine__stranded(c, (int32_t)i, gone, closing)) continue;
        n++;
        if (do_it) {
            struct hq_ticket *t = &c->e->tickets[i];
            if (t->status == HQ_TS_PARKED) {
                t->window = to; /* called back from there */
            } else {
                engine__unindex(c->e, (int32_t)i);
                t->target_window = to;
                engine__index(c->e, (int32_t)i);
            }
            engine__dirty_ticket(c, (int32_t)i);
            engine__rec(c, HQ_REC_EVENT, HQ_EV_REROUTE, to, (int32_t)i, 0)->aux = t->service;
            continue;
        }
        if (!to) return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_PEOPLE_WAITING);
        if (ri < 0) return ENGINE__REFUSE(c, HQ_ERR_NOT_FOUND, HQ_WHY_NO_WINDOW);
        if (ri == gone || c->cfg->windows[ri].closed)
            return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_WINDOW_CLOSED);
        if (!engine__serves(c, ri, c->e->tickets[i].service))
            return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_REROUTE_NOT_SERVING);
    }
    if (do_it && n) engine__fx(c, HQ_FX_WINDOW, 0, -1, to, -1);
    return HQ_OK;
}

static int engine__cmd_window_close(struct engine__ctx *c)
{
    struct hq_window_cfg *wc = &c->e->rw->windows[c->wi];
    struct hq_window_st *w = &c->e->win[c->wi];
    if (wc->closed) return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_WINDOW_CLOSED);
    if (w->current >= 0) return ENGINE__REFUSE(c, HQ_ERR_STATE, HQ_WHY_WINDOW_BUSY);
    int rc = engine__reroute(c, c->wi, -1, false);
    if (rc) return rc;
    engine__reroute(c, c->wi, -1, true);
    if (w->state != HQ_WS_CLOSED) { /* the clerk signs out with it */
        uint16_t staff = w->staff;
        w->staff = 0;
        engine__win_state(c, c->wi, HQ_WS_CLOSED);
        engine__rec(c, HQ_REC_EVENT, HQ_EV_LOGOUT, c->wn, -1, staff);
    }
    wc->closed = true;
    engine__dirty_window(c, (size_t)c->wi);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_WINDOW_CLOSE, c->wn, -1, 0)->aux =
        c->cmd->u.admin.reroute_to;
    engine__fx(c, HQ_FX_WINDOW, 0, -1, c->wn, -1);
    for (size_t k = 0; k < wc->n_services; k++)
        engine__fx(c, HQ_FX_QUEUE, 0, wc->services[k], 0, -1);
    return HQ_OK;
}

static int engine__cmd_window_services(struct engine__ctx *c)
{
    int rc = engine__check_services(c);
    if (rc) return rc;
    struct hq_window_cfg *wc = &c->e->rw->windows[c->wi];
    memcpy(wc->services, c->cmd->u.admin.services, c->cmd->u.admin.n_services);
    wc->n_services = c->cmd->u.admin.n_services;
    engine__dirty_window(c, (size_t)c->wi);
    engine__rec(c, HQ_REC_EVENT, HQ_EV_WINDOW_SERVICES, c->wn, -1, 0);
    engine__fx(c, HQ_FX_WINDOW, 0, -1, c->wn, -1);
    for (size_t k = 0; k < wc->n_services; k++)
        engine__fx(c, HQ_FX_QUEUE, 0, wc->services[k], 0, -1);
    return HQ_OK;
}

static int engine__cmd_service(struct engine__ctx *c)
{
    const struct hq_cmd *cmd = c->cmd;
    size_t s = cmd->u.admin.service;
    if (s >= c->cfg->n_services) return ENGINE__REFUSE(c, HQ_ERR_NOT_FOUND, HQ_WHY_NO_SERVICE);
    struct hq_service_cfg *sc = &c->e->rw->services[s];
    struct hq_record *r;
    switch (cmd->type) {
    case HQ_CMD_SERVICE_HOURS:
        if (cmd->u.admin.open_min == 0 && cmd->u.admin.close_min == 0) {
            sc->today.day = 0; /* back to the file's hours (a revert) */
            engine__rec(c, HQ_REC_EVENT, HQ_EV_SERVICE_HOURS, 0, -1, 0);
            break;
        }
        /* The same bounds as an interval of the file's "hours". */
        if (cmd->u.admin.open_min >= cmd->u.admin.close_min || cmd->u.admin.close_min > 1440)
            return HQ_ERR_INVALID;
        sc->today.day = c->e->day;
        sc->today.hours.n = 1;
        sc->today.hours.iv[0].open_min = cmd->u.admin.open_min;
        sc->today.hours.iv[0].close_min = cmd->u.admin.close_min;
        r = engine__rec(c, HQ_REC_EVENT, HQ_EV_SERVICE_HOURS, 0, -1, 0);
        r->aux = (int32_t)((uint32_t)cmd->u.admin.open_min << 16 | cmd->u.admin.close_min);
        break;
    case HQ_CMD_SERVICE_QUOTA:
        if (cmd->u.admin.quota > 100000) return HQ_ERR_INVALID; /* as services[].daily_quota */
        sc->daily_quota = cmd->u.admin.quota;
        engine__rec(c, HQ_REC_EVENT, HQ_EV_SERVICE_QUOTA, 0, -1, 0)->aux =
            (int32_t)cmd->u.admin.quota;
        break;
    default: { /* HQ_CMD_SERVICE_CLOSE: shut for the rest of today */
        int rc = engine__reroute(c, -1, (int)s, false);
        if (rc) return rc;
        engine__reroute(c, -1, (int)s, true);
        sc->today.day = c->e->day;
        sc->today.hours.n = 0;
        engine__rec(c, HQ_REC_EVENT, HQ_EV_SERVICE_CLOSE, cmd->u.admin.reroute_to, -1, 0)->aux =
            (int32_t)s;
        break;
    }
    }
    c->res->rec[c->res->n_rec - 1].service = (uint8_t)s;
    engine__dirty_service(c, s);
    engine__fx(c, HQ_FX_QUEUE, 0, (int)s, 0, -1);
    return HQ_OK;
}

int hq_engine_apply(struct hq_engine *e, const struct hq_cmd *cmd, struct hq_result *res)
{
    res->err = HQ_OK;
    res->why = HQ_WHY_NONE;
    res->ticket = -1;
    res->n_fx = res->n_rec = res->n_dirty_tickets = 0;
    memset(res->dirty_windows, 0, sizeof res->dirty_windows);
    memset(res->dirty_services, 0, sizeof res->dirty_services);
    res->rollover = false;
    res->old_day = 0;

    struct engine__ctx c = {.e = e, .cfg = e->cfg, .p = e->priv, .cmd = cmd, .res = res, .wi = -1};
    int rc;
    if (cmd->type >= HQ_CMD__COUNT || cmd->now < 0 || cmd->now > UINT32_MAX) {
        rc = HQ_ERR_INVALID;
        goto fail;
    }
    c.now = (uint32_t)cmd->now;
    bool admin = cmd->type >= HQ_CMD_WINDOW_OPEN;
    if (admin && !e->rw) {
        rc = HQ_ERR_STATE; /* nobody gave this engine a writable configuration */
        goto fail;
    }
    /* A re-route may move every waiting ticket: room for a record and a row each. */
    rc = engine__reserve(e, res, cmd->type == HQ_CMD_ISSUE, admin ? e->n_tickets : 0);
    if (rc) goto fail;
    /* Window commands name an existing window; checked before the rollover
     * so a mistyped window number changes nothing at all. */
    if (cmd->type != HQ_CMD_ISSUE && cmd->type != HQ_CMD_CANCEL && cmd->type != HQ_CMD_TICK &&
        cmd->type != HQ_CMD_WINDOW_OPEN && cmd->type != HQ_CMD_SERVICE_HOURS &&
        cmd->type != HQ_CMD_SERVICE_QUOTA && cmd->type != HQ_CMD_SERVICE_CLOSE) {
        c.wi = hq_engine_window_index(e, cmd->window);
        if (c.wi < 0) {
            rc = ENGINE__REFUSE(&c, HQ_ERR_NOT_FOUND, HQ_WHY_NO_WINDOW);
            goto fail;
        }
        c.wn = cmd->window;
    }
    engine__rollover(&c);

    switch (cmd->type) {
    case HQ_CMD_ISSUE:
        rc = engine__cmd_issue(&c);
        break;
    case HQ_CMD_CALL_NEXT:
        rc = engine__cmd_call_next(&c);
        break;
    case HQ_CMD_CALL_NUMBER:
        rc = engine__cmd_call_number(&c);
        break;
    case HQ_CMD_RECALL:
        rc = engine__cmd_recall(&c);
        break;
    case HQ_CMD_START:
        rc = engine__cmd_start(&c);
        break;
    case HQ_CMD_NO_SHOW:
        rc = engine__cmd_no_show(&c);
        break;
    case HQ_CMD_PARK:
        rc = engine__cmd_park(&c);
        break;
    case HQ_CMD_CALL_BACK:
        rc = engine__cmd_call_back(&c);
        break;
    case HQ_CMD_TRANSFER:
        rc = engine__cmd_transfer(&c);
        break;
    case HQ_CMD_PAUSE:
        rc = engine__cmd_pause(&c, true);
        break;
    case HQ_CMD_RESUME:
        rc = engine__cmd_pause(&c, false);
        break;
    case HQ_CMD_FINISH:
        rc = engine__cmd_finish(&c);
        break;
    case HQ_CMD_CANCEL:
        rc = engine__cmd_cancel(&c);
        break;
    case HQ_CMD_LOGIN:
        rc = engine__cmd_login(&c);
        break;
    case HQ_CMD_LOGOUT:
        rc = engine__cmd_logout(&c);
        break;
    case HQ_CMD_RATE:
        rc = engine__cmd_rate(&c);
        break;
    case HQ_CMD_TICK:
        rc = engine__cmd_tick(&c);
        break;
    case HQ_CMD_WINDOW_OPEN:
        rc = engine__cmd_window_open(&c);
        break;
    case HQ_CMD_WINDOW_CLOSE:
        rc = engine__cmd_window_close(&c);
        break;
    case HQ_CMD_WINDOW_SERVICES:
        rc = engine__cmd_window_services(&c);
        break;
    case HQ_CMD_SERVICE_HOURS:
    case HQ_CMD_SERVICE_QUOTA:
    case HQ_CMD_SERVICE_CLOSE:
        rc = engine__cmd_service(&c);
        break;
    case HQ_CMD_HELP:
        rc = engine__cmd_help(&c);
        break;
    case HQ_CMD_HELP_ACK:
        rc = engine__cmd_help_ack(&c);
        break;
    default:
        rc = HQ_ERR_INVALID;
        break;
    }
    if (rc) goto fail;
    return HQ_OK;
fail:
    /* Refused: the command changed nothing. A rollover that happened first
     * stands, and its record and dirty marks stay for the store to commit. */
    res->err = rc;
    res->ticket = -1;
    return rc;
}

/* --------------------------------------------------------------- loading */

void hq_engine_load_day(struct hq_engine *e, int32_t day)
{
    e->day = day;
    e->n_tickets = 0;
    engine__clear_indexes(e);
    for (size_t w = 0; w < e->cfg->n_windows; w++) {
        memset(&e->win[w], 0, sizeof e->win[w]);
        e->win[w].current = -1;
        e->win[w].rating_ticket = -1;
    }
    memset(e->svc, 0, e->cfg->n_services * sizeof *e->svc);
}

/* Tickets must come in index order: the index is the ticket's id in results. */
int hq_engine_load_ticket(struct hq_engine *e, const struct hq_ticket *t)
{
    if (e->n_tickets + 1 > e->cap_tickets) {
        size_t cap = e->cap_tickets ? e->cap_tickets * 2 : 256;
        struct hq_ticket *nt = realloc(e->tickets, cap * sizeof *nt);
        if (!nt) return HQ_ERR_NOMEM;
        e->tickets = nt;
        e->cap_tickets = cap;
    }
    e->tickets[e->n_tickets++] = *t;
    return HQ_OK;
}

void hq_engine_load_window(struct hq_engine *e, size_t idx, const struct hq_window_st *w)
{
    if (idx < e->cfg->n_windows) e->win[idx] = *w;
}

void hq_engine_load_service(struct hq_engine *e, size_t idx, const struct hq_service_st *s)
{
    if (idx < e->cfg->n_services) e->svc[idx] = *s;
}

/* Check the loaded rows against each other and rebuild the indexes. */
int hq_engine_load_done(struct hq_engine *e)
{
    struct engine__priv *p = e->priv;
    const struct hq_engine_cfg *cfg = e->cfg;
    size_t n = e->n_tickets;
    int rc;
    engine__clear_indexes(e);
    for (size_t i = 0; i < n; i++) {
        const struct hq_ticket *t = &e->tickets[i];
        if (t->status >= HQ_TS__COUNT || t->service >= cfg->n_services ||
            t->orig_service >= cfg->n_services || t->priority >= HQ_PRIO__COUNT ||
            t->channel >= HQ_CHAN__COUNT || t->staff > cfg->n_staff)
            return HQ_ERR_INVALID;
        if (t->status == HQ_TS_CALLED || t->status == HQ_TS_SERVING) {
            /* An open call belongs to the window that made it. */
            int wi = hq_engine_window_index(e, t->window);
            if (wi < 0 || e->win[wi].current != (int32_t)i) return HQ_ERR_INVALID;
        }
        if (t->status == HQ_TS_PARKED && hq_engine_window_index(e, t->window) < 0)
            return HQ_ERR_INVALID;
    }
    for (size_t w = 0; w < cfg->n_windows; w++) {
        const struct hq_window_st *ws = &e->win[w];
        if (ws->state >= HQ_WS__COUNT || ws->staff > cfg->n_staff) return HQ_ERR_INVALID;
        if ((ws->state == HQ_WS_CLOSED) != (ws->staff == 0)) return HQ_ERR_INVALID;
        bool busy = ws->state == HQ_WS_CALLING || ws->state == HQ_WS_SERVING;
        if (busy != (ws->current >= 0)) return HQ_ERR_INVALID;
        if (ws->current >= 0) {
            if ((size_t)ws->current >= n) return HQ_ERR_INVALID;
            const struct hq_ticket *t = &e->tickets[ws->current];
            uint8_t want = ws->state == HQ_WS_CALLING ? HQ_TS_CALLED : HQ_TS_SERVING;
            if (t->status != want || t->window != cfg->windows[w].number) return HQ_ERR_INVALID;
        }
        if (ws->rating_ticket < -1 || (ws->rating_ticket >= 0 && (size_t)ws->rating_ticket >= n))
            return HQ_ERR_INVALID;
    }
    uint32_t ids = 0, targeted = 0, parked = 0, waiting[HQ_MAX_SERVICES] = {0};
    for (size_t i = 0; i < n; i++) {
        const struct hq_ticket *t = &e->tickets[i];
        if (t->flags & HQ_TF_HAS_ID) ids++;
        if (t->status == HQ_TS_WAITING) waiting[t->service]++;
        if (t->status == HQ_TS_WAITING && t->target_window) targeted++;
        if (t->status == HQ_TS_PARKED) parked++;
    }
    for (size_t s = 0; s < cfg->n_services; s++)
        if ((rc = engine__list_reserve(&p->waiting[s], waiting[s] + 2))) return rc;
    if ((rc = engine__list_reserve(&p->targeted, targeted + 2))) return rc;
    if ((rc = engine__list_reserve(&p->parked, parked + 2))) return rc;
    if ((rc = engine__preserve(e, ids + 1))) return rc;
    for (size_t i = 0; i < n; i++) {
        struct hq_ticket *t = &e->tickets[i];
        engine__index(e, (int32_t)i);
        uint8_t *cnt = engine__is_live(t->status) ? engine__live_slot(e, t) : NULL;
        if (cnt && *cnt < UINT8_MAX) (*cnt)++;
        if (t->status != HQ_TS_CANCELLED) engine__padd(e, (int32_t)i, +1);
    }
    return HQ_OK;
}
