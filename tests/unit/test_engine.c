/*
 * test_engine.c — table-driven tests of the queue engine (firmware/engine.c).
 *
 * Scenarios are tables of steps {command, time, window, arguments, expected
 * error, expected ticket label}; the runner applies each step, checks the
 * answer, checks that a refused command left the state byte-identical, and
 * checks the engine's indexes against a brute-force count after every step.
 * Specific rules (ranking, rollover, rating, loading) get their own checks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine.h"

/* ------------------------------------------------------------- fixture */

enum { SVC_A = 0, SVC_B, SVC_C, SVC_D, SVC_H, N_SVC };
enum { N_WIN = 6, N_STAFF = 4 };

static struct hq_service_cfg svc_cfg[N_SVC];
static struct hq_window_cfg win_cfg[N_WIN];
static struct hq_staff_cfg staff_cfg[N_STAFF] = {{"1001", "王芳", "clerk"},
                                                 {"1002", "李明", "clerk"},
                                                 {"1003", "张伟", "clerk"},
                                                 {"1004", "赵敏", "clerk"}};
static struct hq_date_override h_overrides[2];
static struct hq_engine_cfg cfg;

static int32_t day0;  /* 2024-03-04, a Monday */
static int64_t base0; /* 09:00 local on day0 */

static int64_t local_at(int32_t day, int hh, int mm)
{
    return (int64_t)day * 86400 - 28800 + hh * 3600 + mm * 60;
}

static void all_day(struct hq_service_cfg *s)
{
    for (int d = 0; d < 7; d++) {
        s->week[d].n = 1;
        s->week[d].iv[0].open_min = 0;
        s->week[d].iv[0].close_min = 1440;
    }
}

static void service(int i, const char *code, const char *name, uint16_t lo, uint16_t hi)
{
    struct hq_service_cfg *s = &svc_cfg[i];
    memset(s, 0, sizeof *s);
    snprintf(s->code, sizeof s->code, "%s", code);
    snprintf(s->prefix, sizeof s->prefix, "%s", code);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->num_min = lo;
    s->num_max = hi;
    s->digits = 3;
    s->priority_mask = 0x3f;
    s->default_handle_s = 300;
    all_day(s);
}

static void window(int i, uint16_t number, const uint8_t *svcs, uint8_t n)
{
    struct hq_window_cfg *w = &win_cfg[i];
    memset(w, 0, sizeof *w);
    w->number = number;
    snprintf(w->name, sizeof w->name, "%u号窗口", number);
    memcpy(w->services, svcs, n);
    w->n_services = n;
}

static void setup_cfg(void)
{
    day0 = hq_days_from_ymd(2024, 3, 4);
    base0 = local_at(day0, 9, 0);

    service(SVC_A, "A", "社保业务", 1, 999);
    service(SVC_B, "B", "医保业务", 1, 3); /* a tiny range to test wrapping */
    svc_cfg[SVC_B].priority_mask = 0;      /* no priority classes honoured */
    service(SVC_C, "C", "不动产登记", 1, 999);
    svc_cfg[SVC_C].id_required = true;
    svc_cfg[SVC_C].per_person_limit = 2;
    svc_cfg[SVC_C].daily_quota = 4;
    service(SVC_D, "D", "公积金", 1, 999);
    svc_cfg[SVC_D].priority_mask = 1u << HQ_PRIO_ELDERLY;
    service(SVC_H, "H", "出入境", 1, 999);
    /* H: Monday to Friday 08:30-12:00 and 13:30-17:00; weekend closed;
     * Friday 2024-03-08 a holiday; Saturday 2024-03-09 a make-up day 09:00-12:00. */
    for (int d = 0; d < 7; d++)
        svc_cfg[SVC_H].week[d].n = 0;
    for (int d = 1; d <= 5; d++) {
        svc_cfg[SVC_H].week[d].n = 2;
        svc_cfg[SVC_H].week[d].iv[0] = (struct hq_interval){510, 720};
        svc_cfg[SVC_H].week[d].iv[1] = (struct hq_interval){810, 1020};
    }
    h_overrides[0].day = day0 + 4;
    h_overrides[0].hours.n = 0;
    h_overrides[1].day = day0 + 5;
    h_overrides[1].hours.n = 1;
    h_overrides[1].hours.iv[0] = (struct hq_interval){540, 720};
    svc_cfg[SVC_H].overrides = h_overrides;
    svc_cfg[SVC_H].n_overrides = 2;

    window(0, 1, (const uint8_t[]){SVC_A, SVC_B}, 2);
    window(1, 2, (const uint8_t[]){SVC_B, SVC_A}, 2);
    window(2, 3, (const uint8_t[]){SVC_C}, 1);
    window(3, 4, (const uint8_t[]){SVC_A}, 1);
    window(4, 5, (const uint8_t[]){SVC_D}, 1);
    window(5, 6, (const uint8_t[]){SVC_H}, 1);

    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.hall_id, sizeof cfg.hall_id, "test-hall");
    cfg.utc_offset_s = 28800;
    cfg.services = svc_cfg;
    cfg.n_services = N_SVC;
    cfg.windows = win_cfg;
    cfg.n_windows = N_WIN;
    cfg.staff = staff_cfg;
    cfg.n_staff = N_STAFF;
    cfg.head_start_s[HQ_PRIO_ELDERLY] = 600;
    cfg.head_start_s[HQ_PRIO_DISABLED] = 900;
    cfg.head_start_s[HQ_PRIO_MILITARY] = 600;
    cfg.head_start_s[HQ_PRIO_APPOINTMENT] = 300;
    cfg.head_start_s[HQ_PRIO_GREEN] = 3600;
    cfg.max_overtakes = 2;
    cfg.recall_limit = 2;
    cfg.no_show_requeue = true;
    cfg.max_requeues = 1;
    cfg.rating_timeout_s = 60;
    cfg.elderly_age = 65;
    /* the handling-time estimate as configured by default (docs/CONFIG.md) */
    cfg.handle_alpha_pct = 10;
    cfg.handle_min_samples = 5;
    cfg.handle_min_sample_s = 20;
    cfg.handle_outlier_factor = 3;
    cfg.handle_max_step_pct = 10;
}

/* --------------------------------------------------------------- steps */

struct step {
    uint8_t type;
    int32_t t;    /* seconds after the scenario's base time */
    uint16_t win; /* window number */
    /* issue: service, priority, card id (0 = no card); no_show: requeue;
     * transfer: service, to_window, front; cancel: ticket; rate: level */
    int a, b, c;
    int32_t birth;
    const char *s;     /* call_number label; login staff id */
    int want;          /* expected error */
    const char *label; /* expected label of res.ticket; "" = -1; NULL = unchecked */
};

#define LOGIN(T, W, ID, WANT)                                                                      \
    {                                                                                              \
        .type = HQ_CMD_LOGIN, .t = (T), .win = (W), .s = (ID), .want = (WANT)                      \
    }
#define ISSUE(T, SVC, WANT, LABEL)                                                                 \
    {                                                                                              \
        .type = HQ_CMD_ISSUE, .t = (T), .a = (SVC), .want = (WANT), .label = (LABEL)               \
    }
#define ISSUE_P(T, SVC, PRIO, LABEL)                                                               \
    {                                                                                              \
        .type = HQ_CMD_ISSUE, .t = (T), .a = (SVC), .b = (PRIO), .label = (LABEL)                  \
    }
#define ISSUE_ID(T, SVC, ID, WANT, LABEL)                                                          \
    {                                                                                              \
        .type = HQ_CMD_ISSUE, .t = (T), .a = (SVC), .c = (ID), .want = (WANT), .label = (LABEL)    \
    }
#define NEXT(T, W, WANT, LABEL)                                                                    \
    {                                                                                              \
        .type = HQ_CMD_CALL_NEXT, .t = (T), .win = (W), .want = (WANT), .label = (LABEL)           \
    }
#define CALLNO(T, W, NUM, WANT, LABEL)                                                             \
    {                                                                                              \
        .type = HQ_CMD_CALL_NUMBER, .t = (T), .win = (W), .s = (NUM), .want = (WANT),              \
        .label = (LABEL)                                                                           \
    }
#define WCMD(TYPE, T, W, WANT)                                                                     \
    {                                                                                              \
        .type = (TYPE), .t = (T), .win = (W), .want = (WANT)                                       \
    }
#define WCMDL(TYPE, T, W, WANT, LABEL)                                                             \
    {                                                                                              \
        .type = (TYPE), .t = (T), .win = (W), .want = (WANT), .label = (LABEL)                     \
    }
#define NOSHOW(T, W, RQ, WANT, LABEL)                                                              \
    {                                                                                              \
        .type = HQ_CMD_NO_SHOW, .t = (T), .win = (W), .a = (RQ), .want = (WANT), .label = (LABEL)  \
    }
#define XFER(T, W, SVC, TOWIN, FRONT, WANT)                                                        \
    {                                                                                              \
        .type = HQ_CMD_TRANSFER, .t = (T), .win = (W), .a = (SVC), .b = (TOWIN), .c = (FRONT),     \
        .want = (WANT)                                                                             \
    }
#define CANCEL(T, IDX, WANT)                                                                       \
    {                                                                                              \
        .type = HQ_CMD_CANCEL, .t = (T), .a = (IDX), .want = (WANT)                                \
    }
#define RATE(T, W, LEVEL, WANT)                                                                    \
    {                                                                                              \
        .type = HQ_CMD_RATE, .t = (T), .win = (W), .a = (LEVEL), .want = (WANT)                    \
    }
#define TICK(T)                                                                                    \
    {                                                                                              \
        .type = HQ_CMD_TICK, .t = (T)                                                              \
    }

static uint32_t uuid_counter;

static void make_uuid(uint8_t u[16])
{
    uuid_counter++;
    memset(u, 0xab, 16);
    memcpy(u, &uuid_counter, sizeof uuid_counter);
}

static void make_id(uint8_t h[8], int id)
{
    memset(h, 0x5a, 8);
    h[0] = (uint8_t)id;
    h[1] = (uint8_t)(id >> 8);
}

static struct hq_cmd make_cmd(const struct step *s, int64_t base)
{
    struct hq_cmd c;
    memset(&c, 0, sizeof c);
    c.type = s->type;
    c.now = base + s->t;
    c.window = s->win;
    switch (s->type) {
    case HQ_CMD_ISSUE:
        c.u.issue.service = (uint8_t)s->a;
        c.u.issue.priority = (uint8_t)s->b;
        c.u.issue.channel = HQ_CHAN_KIOSK;
        if (s->c) {
            c.u.issue.has_id = true;
            make_id(c.u.issue.id_hash, s->c);
            snprintf(c.u.issue.name_masked, sizeof c.u.issue.name_masked, "王**");
        }
        c.u.issue.birth_ymd = s->birth;
        make_uuid(c.u.issue.uuid);
        break;
    case HQ_CMD_CALL_NUMBER:
        snprintf(c.u.call.label, sizeof c.u.call.label, "%s", s->s);
        break;
    case HQ_CMD_NO_SHOW:
        c.u.no_show.requeue = (int16_t)s->a;
        break;
    case HQ_CMD_TRANSFER:
        c.u.transfer.service = (int16_t)s->a;
        c.u.transfer.to_window = (uint16_t)s->b;
        c.u.transfer.front = s->c != 0;
        break;
    case HQ_CMD_CANCEL:
        c.u.cancel.ticket = s->a;
        break;
    case HQ_CMD_LOGIN:
        snprintf(c.u.login.staff_id, sizeof c.u.login.staff_id, "%s", s->s);
        break;
    case HQ_CMD_RATE:
        c.u.rate.level = (uint8_t)s->a;
        c.u.rate.channel = HQ_CHAN_PAD;
        c.u.rate.reasons = (uint32_t)s->b;
        make_uuid(c.u.rate.uuid);
        break;
    default:
        break;
    }
    return c;
}

/* ------------------------------------------------------- state snapshot */

struct snap {
    int32_t day;
    size_t n;
    struct hq_ticket *t;
    struct hq_window_st w[N_WIN];
    struct hq_service_st s[N_SVC];
};

static void snap_take(const struct hq_engine *e, struct snap *s)
{
    s->day = e->day;
    s->n = e->n_tickets;
    s->t = malloc((e->n_tickets + 1) * sizeof *s->t);
    if (e->n_tickets) memcpy(s->t, e->tickets, e->n_tickets * sizeof *s->t);
    memcpy(s->w, e->win, sizeof s->w);
    memcpy(s->s, e->svc, sizeof s->s);
}

/* A fresh engine (day 0) takes the day of its first command, refused or not. */
static bool snap_same(const struct hq_engine *e, const struct snap *s)
{
    return (s->day == e->day || s->day == 0) && s->n == e->n_tickets &&
           (s->n == 0 || memcmp(s->t, e->tickets, s->n * sizeof *s->t) == 0) &&
           memcmp(s->w, e->win, sizeof s->w) == 0 && memcmp(s->s, e->svc, sizeof s->s) == 0;
}

/* ----------------------------------------------------------- invariants */

static void check_invariants(const struct hq_engine *e, const char *where)
{
    bool ok = true;
    for (size_t s = 0; s < cfg.n_services; s++) {
        size_t n = 0;
        for (size_t i = 0; i < e->n_tickets; i++)
            if (e->tickets[i].status == HQ_TS_WAITING && e->tickets[i].service == s) n++;
        if (n != hq_engine_waiting(e, s)) {
            fprintf(stderr, "%s: service %zu waiting index %zu, tickets say %zu\n", where, s,
                    hq_engine_waiting(e, s), n);
            ok = false;
        }
    }
    for (size_t w = 0; w < cfg.n_windows; w++) {
        const struct hq_window_st *ws = &e->win[w];
        bool busy = ws->state == HQ_WS_CALLING || ws->state == HQ_WS_SERVING;
        if (busy != (ws->current >= 0) || (ws->state == HQ_WS_CLOSED) != (ws->staff == 0)) {
            fprintf(stderr, "%s: window %u state %s current %d staff %u\n", where,
                    win_cfg[w].number, hq_window_state_name(ws->state), ws->current, ws->staff);
            ok = false;
        }
        if (ws->current >= 0) {
            const struct hq_ticket *t = &e->tickets[ws->current];
            uint8_t want = ws->state == HQ_WS_CALLING ? HQ_TS_CALLED : HQ_TS_SERVING;
            if (t->status != want || t->window != win_cfg[w].number) {
                fprintf(stderr, "%s: window %u current ticket is %s at %u\n", where,
                        win_cfg[w].number, hq_ticket_status_name(t->status), t->window);
                ok = false;
            }
        }
    }
    /* Every CALLED/SERVING ticket is some window's current one. */
    for (size_t i = 0; i < e->n_tickets; i++) {
        const struct hq_ticket *t = &e->tickets[i];
        if (t->status != HQ_TS_CALLED && t->status != HQ_TS_SERVING) continue;
        int wi = hq_engine_window_index(e, t->window);
        if (wi < 0 || e->win[wi].current != (int32_t)i) {
            fprintf(stderr, "%s: ticket %zu %s is nobody's current\n", where, i,
                    hq_ticket_status_name(t->status));
            ok = false;
        }
    }
    CHECK(ok);
}

/* Apply one command with the generic checks: a refused command (without a
 * rollover) leaves the state byte-identical and says nothing; an accepted
 * one stamps its records with `now` and lists each dirty ticket once. */
static int apply(struct hq_engine *e, struct hq_result *r, const struct hq_cmd *cmd,
                 const char *where)
{
    struct snap before;
    snap_take(e, &before);
    int rc = hq_engine_apply(e, cmd, r);
    check_count++;
    if (rc != r->err) {
        check_failures++;
        fprintf(stderr, "%s: return %d != res.err %d\n", where, rc, r->err);
    }
    if (rc != HQ_OK && !r->rollover) {
        check_count++;
        if (!snap_same(e, &before) || r->n_rec || r->n_fx || r->n_dirty_tickets) {
            check_failures++;
            fprintf(stderr, "%s: refused %s (%s) changed the state or said something\n", where,
                    hq_cmd_name(cmd->type), hq_strerror(rc));
        }
    }
    bool ok = true;
    for (size_t i = 0; i < r->n_rec; i++)
        if (r->rec[i].at != cmd->now) ok = false;
    for (size_t i = 0; i < r->n_dirty_tickets; i++) {
        if (r->dirty_tickets[i] < 0 || (size_t)r->dirty_tickets[i] >= e->n_tickets) ok = false;
        for (size_t j = 0; j < i; j++)
            if (r->dirty_tickets[i] == r->dirty_tickets[j]) ok = false;
    }
    if (rc == HQ_OK && cmd->type == HQ_CMD_ISSUE) {
        /* A new number is never one a live ticket of the service still holds. */
        const struct hq_ticket *nt = &e->tickets[r->ticket];
        for (size_t i = 0; i < e->n_tickets; i++) {
            const struct hq_ticket *t = &e->tickets[i];
            if ((int32_t)i != r->ticket && t->orig_service == nt->orig_service &&
                t->number == nt->number &&
                (t->status == HQ_TS_WAITING || t->status == HQ_TS_CALLED ||
                 t->status == HQ_TS_SERVING || t->status == HQ_TS_PARKED))
                ok = false;
        }
    }
    check_count++;
    if (!ok) {
        check_failures++;
        fprintf(stderr, "%s: bad result bookkeeping\n", where);
    }
    free(before.t);
    check_invariants(e, where);
    return rc;
}

static const char *label_of(const struct hq_engine *e, int32_t ti, char *buf)
{
    if (ti < 0 || (size_t)ti >= e->n_tickets) return "";
    return hq_ticket_label(e, &e->tickets[ti], buf, 16);
}

static void run_steps(const char *name, struct hq_engine *e, struct hq_result *r, int64_t base,
                      const struct step *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct step *s = &steps[i];
        char where[96], buf[16];
        snprintf(where, sizeof where, "%s step %zu (%s)", name, i, hq_cmd_name(s->type));
        struct hq_cmd cmd = make_cmd(s, base);
        int rc = apply(e, r, &cmd, where);
        check_count++;
        if (rc != s->want) {
            check_failures++;
            fprintf(stderr, "%s: got %s, want %s\n", where, hq_strerror(rc), hq_strerror(s->want));
        }
        if (s->label) {
            const char *got = label_of(e, r->ticket, buf);
            check_count++;
            if (strcmp(got, s->label) != 0) {
                check_failures++;
                fprintf(stderr, "%s: ticket \"%s\", want \"%s\"\n", where, got, s->label);
            }
        }
    }
}

#define RUN(name, e, r, base, steps) run_steps(name, e, r, base, steps, HQ_ARRAY_LEN(steps))

static bool win_dirty(const struct hq_result *r, size_t wi)
{
    return r->dirty_windows[wi / 8] & (1u << (wi % 8));
}

static void fresh(struct hq_engine *e, const struct hq_engine_cfg *c)
{
    CHECK_EQ_INT(hq_engine_init(e, c), HQ_OK);
}

static int32_t find(const struct hq_engine *e, const char *label)
{
    int32_t ti = hq_engine_find_label(e, label);
    if (ti < 0) fprintf(stderr, "no ticket %s\n", label);
    return ti;
}

static const struct hq_ticket *tk(const struct hq_engine *e, const char *label)
{
    static const struct hq_ticket none = {.status = HQ_TS__COUNT};
    int32_t ti = find(e, label);
    return ti >= 0 ? &e->tickets[ti] : &none;
}

static size_t count_rec(const struct hq_result *r, uint8_t type, uint8_t ev)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_rec; i++)
        if (r->rec[i].type == type && r->rec[i].event == ev) n++;
    return n;
}

static size_t count_fx(const struct hq_result *r, uint8_t type)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_fx; i++)
        if (r->fx[i].type == type) n++;
    return n;
}

static int one(struct hq_engine *e, struct hq_result *r, int64_t base, struct step s)
{
    char where[64];
    snprintf(where, sizeof where, "single %s", hq_cmd_name(s.type));
    struct hq_cmd cmd = make_cmd(&s, base);
    return apply(e, r, &cmd, where);
}

/* ================================================================ tests */

static void test_names_and_dates(void)
{
    static const struct {
        const char *(*fn)(int);
        int v;
        const char *want;
    } names[] = {
        {hq_ticket_status_name, HQ_TS_WAITING, "waiting"},
        {hq_ticket_status_name, HQ_TS_NO_SHOW, "no_show"},
        {hq_ticket_status_name, HQ_TS_EXPIRED, "expired"},
        {hq_window_state_name, HQ_WS_CLOSED, "closed"},
        {hq_window_state_name, HQ_WS_PAUSED, "paused"},
        {hq_priority_name, HQ_PRIO_NORMAL, "normal"},
        {hq_priority_name, HQ_PRIO_GREEN, "green"},
        {hq_priority_label_zh, HQ_PRIO_NORMAL, ""},
        {hq_priority_label_zh, HQ_PRIO_ELDERLY, "老年人优先"},
        {hq_priority_label_zh, HQ_PRIO_APPOINTMENT, "预约优先"},
        {hq_priority_label_zh, HQ_PRIO_GREEN, "绿色通道"},
        {hq_channel_name, HQ_CHAN_BUTTON, "button"},
        {hq_channel_name, HQ_CHAN_TABLET, "tablet"},
        {hq_cmd_name, HQ_CMD_ISSUE, "issue"},
        {hq_cmd_name, HQ_CMD_CALL_NUMBER, "call_number"},
        {hq_cmd_name, HQ_CMD_TICK, "tick"},
        {hq_event_name, HQ_EV_CALL_BACK, "call_back"},
        {hq_event_name, HQ_EV_UNRATED, "unrated"},
        {hq_event_name, HQ_EV_ROLLOVER, "rollover"},
        {hq_event_name, HQ_EV__COUNT, "unknown"},
        {hq_cmd_name, -1, "unknown"},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(names); i++)
        CHECK_EQ_STR(names[i].fn(names[i].v), names[i].want);
    CHECK_EQ_INT(hq_priority_from_name("military"), HQ_PRIO_MILITARY);
    CHECK_EQ_INT(hq_priority_from_name("vip"), -1);

    static const struct {
        int y, m, d;
        int32_t days;
    } dates[] = {
        {1970, 1, 1, 0},     {1969, 12, 31, -1},   {2000, 3, 1, 11017}, {2000, 2, 29, 11016},
        {2024, 3, 4, 19786}, {1900, 3, 1, -25508}, {2100, 3, 1, 47541},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(dates); i++) {
        CHECK_EQ_INT(hq_days_from_ymd(dates[i].y, dates[i].m, dates[i].d), dates[i].days);
        int y, m, d;
        hq_ymd_from_days(dates[i].days, &y, &m, &d);
        CHECK(y == dates[i].y && m == dates[i].m && d == dates[i].d);
    }
    bool round = true;
    for (int32_t x = -800000; x <= 800000; x += 7) {
        int y, m, d;
        hq_ymd_from_days(x, &y, &m, &d);
        if (hq_days_from_ymd(y, m, d) != x || m < 1 || m > 12 || d < 1 || d > 31) round = false;
    }
    CHECK(round);

    /* The business day is the local (UTC+8) date. */
    CHECK_EQ_INT(hq_engine_day_of(&cfg, local_at(day0, 0, 0)), day0);
    CHECK_EQ_INT(hq_engine_day_of(&cfg, local_at(day0, 0, 0) - 1), day0 - 1);
    CHECK_EQ_INT(hq_engine_day_of(&cfg, local_at(day0, 23, 59) + 59), day0);
    CHECK_EQ_INT(hq_engine_day_of(&cfg, -28800 - 1), -1);
}

static void test_lookups(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    CHECK_EQ_INT(hq_engine_window_index(&e, 4), 3);
    CHECK_EQ_INT(hq_engine_window_index(&e, 6), 5);
    CHECK_EQ_INT(hq_engine_window_index(&e, 7), -1);
    CHECK_EQ_INT(hq_engine_window_index(&e, 0), -1);
    CHECK_EQ_INT(hq_engine_service_index(&e, "C"), SVC_C);
    CHECK_EQ_INT(hq_engine_service_index(&e, "Z"), -1);
    CHECK_EQ_INT(hq_engine_staff_index(&e, "1003"), 2);
    CHECK_EQ_INT(hq_engine_staff_index(&e, "100"), -1);
    CHECK_EQ_INT(hq_engine_staff_index(&e, ""), -1);

    static const struct step steps[] = {
        ISSUE(0, SVC_A, HQ_OK, "A001"),
        ISSUE(1, SVC_A, HQ_OK, "A002"),
        ISSUE(2, SVC_B, HQ_OK, "B001"),
        ISSUE(3, 99, HQ_ERR_NOT_FOUND, ""),
    };
    RUN("lookups", &e, &r, base0, steps);
    CHECK_EQ_INT(hq_engine_find_label(&e, "A002"), 1);
    CHECK_EQ_INT(hq_engine_find_label(&e, "a2"), 1);
    CHECK_EQ_INT(hq_engine_find_label(&e, "B001"), 2);
    CHECK_EQ_INT(hq_engine_find_label(&e, "B002"), -1);
    CHECK_EQ_INT(hq_engine_find_label(&e, "Z001"), -1);
    CHECK_EQ_INT(hq_engine_find_label(&e, "A"), -1);
    CHECK_EQ_INT(hq_engine_find_uuid(&e, e.tickets[1].uuid), 1);
    uint8_t none[16] = {0};
    CHECK_EQ_INT(hq_engine_find_uuid(&e, none), -1);

    /* The issue answer: PRINT and QUEUE, one ISSUE record, the ticket and its service dirty. */
    CHECK_EQ_INT(one(&e, &r, base0, (struct step)ISSUE(5, SVC_A, HQ_OK, NULL)), HQ_OK);
    CHECK_EQ_INT(r.n_fx, 2);
    CHECK(r.n_fx == 2 && r.fx[0].type == HQ_FX_PRINT && r.fx[0].ticket == 3 &&
          r.fx[1].type == HQ_FX_QUEUE && r.fx[1].service == SVC_A);
    CHECK_EQ_INT(r.n_rec, 1);
    CHECK(r.n_rec == 1 && r.rec[0].type == HQ_REC_EVENT && r.rec[0].event == HQ_EV_ISSUE &&
          r.rec[0].ticket == 3 && r.rec[0].at == base0 + 5);
    CHECK(r.n_dirty_tickets == 1 && r.dirty_tickets[0] == 3);
    CHECK(r.dirty_services[0] == (1u << SVC_A));
    const struct hq_ticket *t = &e.tickets[3];
    CHECK(t->serial == 3 && t->number == 3 && t->status == HQ_TS_WAITING &&
          t->issued_at == base0 + 5 && t->queued_at == base0 + 5 && t->priority == 0);
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_hours(void)
{
    struct hq_engine e;
    fresh(&e, &cfg);
    static const struct {
        int dd, hh, mm;
        bool open;
    } hours[] = {
        {0, 8, 29, false},  {0, 8, 30, true},  {0, 11, 59, true}, {0, 12, 0, false},
        {0, 13, 29, false}, {0, 13, 30, true}, {0, 16, 59, true}, {0, 17, 0, false},
        {1, 10, 0, true},   {4, 10, 0, false}, /* Friday 03-08: holiday override */
        {5, 9, 0, true},                       /* Saturday 03-09: make-up working day */
        {5, 8, 59, false},  {5, 12, 0, false}, {6, 10, 0, false}, /* Sunday */
        {-1, 10, 0, false},                                       /* Sunday before */
        {7, 10, 0, true},                                         /* next Monday */
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(hours); i++) {
        bool got = hq_engine_service_open(&e, SVC_H,
                                          local_at(day0 + hours[i].dd, hours[i].hh, hours[i].mm));
        check_count++;
        if (got != hours[i].open) {
            check_failures++;
            fprintf(stderr, "hours row %zu: open %d, want %d\n", i, got, hours[i].open);
        }
    }
    CHECK(hq_engine_service_open(&e, SVC_A, local_at(day0 + 6, 3, 0)));
    CHECK(!hq_engine_service_open(&e, N_SVC, base0));

    /* when the hours next begin (what the kiosk says of a closed service) */
    static const struct {
        int dd, hh, mm;    /* now */
        int odd, ohh, omm; /* next opening; odd -99 = none (open now) */
    } next[] = {
        {0, 7, 0, 0, 8, 30},  {0, 12, 0, 0, 13, 30}, {0, 13, 29, 0, 13, 30},
        {0, 17, 0, 1, 8, 30}, {0, 10, 0, -99, 0, 0}, {3, 18, 0, 5, 9, 0}, /* holiday skipped */
        {5, 12, 0, 7, 8, 30}, /* Saturday after the make-up morning: Monday */
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(next); i++) {
        int64_t got = hq_engine_service_next_open(
            &e, SVC_H, local_at(day0 + next[i].dd, next[i].hh, next[i].mm));
        int64_t want =
            next[i].odd == -99 ? -1 : local_at(day0 + next[i].odd, next[i].ohh, next[i].omm);
        if (got != want)
            fprintf(stderr, "next open row %zu: %lld, want %lld\n", i, (long long)got,
                    (long long)want);
        CHECK(got == want);
    }
    CHECK_EQ_INT(hq_engine_service_next_open(&e, SVC_A, base0), -1); /* open all day */
    CHECK_EQ_INT(hq_engine_service_next_open(&e, N_SVC, base0), -1);

    struct hq_result r = {0};
    const int64_t b = local_at(day0, 0, 0);
    static const struct step steps[] = {
        ISSUE(8 * 3600 + 29 * 60, SVC_H, HQ_ERR_CLOSED, ""),
        ISSUE(8 * 3600 + 30 * 60, SVC_H, HQ_OK, "H001"),
        ISSUE(12 * 3600, SVC_H, HQ_ERR_CLOSED, ""),
        ISSUE(12 * 3600, SVC_A, HQ_OK, "A001"),
        ISSUE(13 * 3600 + 30 * 60, SVC_H, HQ_OK, "H002"),
    };
    RUN("hours", &e, &r, b, steps);
    hq_engine_free(&e);
    /* The holiday and the make-up day through issue too. */
    fresh(&e, &cfg);
    static const struct step holiday[] = {
        ISSUE(4 * 86400 + 10 * 3600, SVC_H, HQ_ERR_CLOSED, ""),
        ISSUE(5 * 86400 + 10 * 3600, SVC_H, HQ_OK, "H001"),
    };
    RUN("holiday", &e, &r, b, holiday);
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_issue_rules(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    /* C: ID required, two tickets per person, four per day. */
    static const struct step steps[] = {
        ISSUE(0, SVC_C, HQ_ERR_ID_REQUIRED, ""),
        ISSUE_ID(1, SVC_C, 1, HQ_OK, "C001"),
        ISSUE_ID(2, SVC_C, 1, HQ_OK, "C002"),
        ISSUE_ID(3, SVC_C, 2, HQ_OK, "C003"),
        ISSUE_ID(4, SVC_C, 1, HQ_ERR_PERSON_LIMIT, ""),
        ISSUE_ID(5, SVC_A, 1, HQ_OK, "A001"), /* the limit is per service */
        CANCEL(6, 0, HQ_OK),                  /* cancelled tickets do not count */
        CANCEL(7, 0, HQ_ERR_STATE),
        CANCEL(7, 99, HQ_ERR_NOT_FOUND),
        CANCEL(7, -1, HQ_ERR_NOT_FOUND),
        ISSUE_ID(8, SVC_C, 1, HQ_OK, "C004"),
        ISSUE_ID(9, SVC_C, 3, HQ_ERR_QUOTA, ""), /* four issued today, one cancelled: still four */
        ISSUE_ID(10, SVC_C, 1, HQ_ERR_QUOTA, ""),
    };
    RUN("issue rules", &e, &r, base0, steps);
    CHECK_EQ_INT(e.svc[SVC_C].issued, 4);
    CHECK(tk(&e, "C001")->flags & HQ_TF_HAS_ID);
    CHECK_EQ_STR(tk(&e, "C001")->name_masked, "王**");
    CHECK_EQ_INT(tk(&e, "A001")->serial, 1);
    CHECK_EQ_INT(tk(&e, "C004")->serial, 4);
    hq_engine_free(&e);

    /* A person limit of 1 with a ticket still waiting, a no-show and a done one. */
    struct hq_service_cfg svc2[N_SVC];
    memcpy(svc2, svc_cfg, sizeof svc2);
    svc2[SVC_A].per_person_limit = 1;
    struct hq_engine_cfg cfg2 = cfg;
    cfg2.services = svc2;
    fresh(&e, &cfg2);
    static const struct step one_each[] = {
        LOGIN(0, 4, "1004", HQ_OK),
        ISSUE_ID(1, SVC_A, 7, HQ_OK, "A001"),
        ISSUE_ID(2, SVC_A, 7, HQ_ERR_PERSON_LIMIT, ""),
        NEXT(3, 4, HQ_OK, "A001"),
        NOSHOW(4, 4, 0, HQ_OK, "A001"),
        ISSUE_ID(5, SVC_A, 7, HQ_ERR_PERSON_LIMIT, ""), /* a no-show still counts */
        ISSUE_ID(6, SVC_A, 8, HQ_OK, "A002"),
    };
    RUN("person limit 1", &e, &r, base0, one_each);
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_number_range(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    /* B: numbers 1..3. Window 2 serves B first. */
    static const struct step steps[] = {
        LOGIN(0, 2, "1002", HQ_OK), ISSUE(1, SVC_B, HQ_OK, "B001"), ISSUE(2, SVC_B, HQ_OK, "B002"),
        ISSUE(3, SVC_B, HQ_OK, "B003"), ISSUE(4, SVC_B, HQ_ERR_RANGE_FULL, ""), /* all three live */
        NEXT(5, 2, HQ_OK, "B001"),
        ISSUE(6, SVC_B, HQ_ERR_RANGE_FULL, ""), /* B001 is being called: still live */
        WCMD(HQ_CMD_FINISH, 7, 2, HQ_OK),
        ISSUE(8, SVC_B, HQ_OK, "B001"), /* wraps: 3 was the last, B001 is done */
        ISSUE(9, SVC_B, HQ_ERR_RANGE_FULL, ""), NEXT(10, 2, HQ_OK, "B002"),
        CANCEL(11, 2, HQ_OK),            /* B003 cancelled */
        ISSUE(12, SVC_B, HQ_OK, "B003"), /* after B001: B002 live (called), B003 free */
        NOSHOW(13, 2, 0, HQ_OK, "B002"), /* B002 no-show: its number is free again */
        ISSUE(14, SVC_B, HQ_OK, "B002"), ISSUE(15, SVC_B, HQ_ERR_RANGE_FULL, ""),
        /* The new B002 is called at window 2; the old B002 (a no-show whose
         * number went back to the range) cannot be called back at window 1:
         * two live tickets would hold one number. */
        LOGIN(16, 1, "1001", HQ_OK), CALLNO(17, 2, "B002", HQ_OK, "B002"),
        CALLNO(18, 1, "B002", HQ_ERR_NOT_FOUND, ""),
        CALLNO(19, 1, "2", HQ_ERR_NOT_FOUND, ""), /* digits only: A002 not issued */
    };
    RUN("range", &e, &r, base0, steps);
    {
        /* Exactly one live B002, and it is the newest. */
        int live = 0;
        for (size_t i = 0; i < e.n_tickets; i++) {
            const struct hq_ticket *t = &e.tickets[i];
            char b[16];
            if (strcmp(hq_ticket_label(&e, t, b, sizeof b), "B002") != 0) continue;
            if (t->status == HQ_TS_WAITING || t->status == HQ_TS_CALLED ||
                t->status == HQ_TS_SERVING || t->status == HQ_TS_PARKED) {
                live++;
                CHECK_EQ_INT(t->serial, 6);
            }
        }
        CHECK_EQ_INT(live, 1);
    }
    CHECK_EQ_INT(e.svc[SVC_B].issued, 6);
    CHECK_EQ_INT(e.svc[SVC_B].last_number, 2);
    CHECK_EQ_INT(e.tickets[e.n_tickets - 1].serial, 6);
    /* Two B002 today: the label finds the most recent. */
    CHECK_EQ_INT(hq_engine_find_label(&e, "B002"), (int32_t)e.n_tickets - 1);
    hq_engine_free(&e);
    hq_result_free(&r);
}

/* issue 13: a number held on paper put back in the queue (held_number): not
 * while a live ticket holds it, outside the quota, no print, the next number
 * untouched; hq_engine_parse_number reads labels. */
static void test_reregister(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    int svc = -1;
    uint16_t num = 0;
    CHECK_EQ_INT(hq_engine_parse_number(&e, "B002", &svc, &num), HQ_OK);
    CHECK_EQ_INT(svc, SVC_B);
    CHECK_EQ_INT(num, 2);
    CHECK_EQ_INT(hq_engine_parse_number(&e, "B009", &svc, &num), HQ_ERR_NOT_FOUND); /* 1..3 */
    CHECK_EQ_INT(hq_engine_parse_number(&e, "Z001", &svc, &num), HQ_ERR_NOT_FOUND);
    CHECK_EQ_INT(hq_engine_parse_number(&e, "B", &svc, &num), HQ_ERR_INVALID);
    struct hq_cmd c = {.type = HQ_CMD_ISSUE, .now = base0};
    c.u.issue.service = SVC_B;
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_OK); /* B001 */
    c.u.issue.held_number = 1;
    c.now++;
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_ERR_STATE); /* B001 is live */
    c.u.issue.held_number = 3;
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_OK);
    const struct hq_ticket *t = &e.tickets[r.ticket];
    CHECK_EQ_INT(t->number, 3);
    CHECK_EQ_INT(t->status, HQ_TS_WAITING);
    for (size_t i = 0; i < r.n_fx; i++)
        CHECK(r.fx[i].type != HQ_FX_PRINT);    /* the citizen holds the paper */
    CHECK_EQ_INT(e.svc[SVC_B].last_number, 1); /* the next number is untouched */
    c.u.issue.held_number = 0;
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_OK);
    CHECK_EQ_INT(e.tickets[r.ticket].number, 2); /* B002: B003 is live again */
    c.u.issue.held_number = 9;                   /* outside 1..3 */
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_ERR_INVALID);
    /* C has a quota of 4: a re-registration does not need a free place in it */
    c = (struct hq_cmd){.type = HQ_CMD_ISSUE, .now = base0 + 10};
    c.u.issue.service = SVC_C;
    c.u.issue.has_id = true; /* C needs an ID card; a new holder each time */
    for (int i = 0; i < 4; i++) {
        c.u.issue.id_hash[0] = (uint8_t)(i + 1);
        CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_OK);
    }
    c.u.issue.id_hash[0] = 9;
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_ERR_QUOTA);
    c.u.issue.held_number = (uint16_t)(e.svc[SVC_C].last_number + 1);
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_OK);
    hq_engine_free(&e);
    hq_result_free(&r);
}

/* 帮办/陪同 (issue 16): the guide desk's flag rides on the ticket (HQ_TF_ASSIST), a new
 * ticket and a re-registered one alike, through a transfer; a ticket without it has none. */
static void test_assist(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    struct hq_cmd c = {.type = HQ_CMD_ISSUE, .now = base0};
    c.u.issue.service = SVC_B;
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_OK);
    CHECK_EQ_INT(e.tickets[r.ticket].flags & HQ_TF_ASSIST, 0);
    c.u.issue.assist = true;
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_OK);
    int32_t ti = r.ticket;
    CHECK(e.tickets[ti].flags & HQ_TF_ASSIST);
    c.u.issue.held_number = 3;
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_OK);
    CHECK(e.tickets[r.ticket].flags & HQ_TF_ASSIST);
    /* a cancel's reason is for the log only: the engine takes it as any cancel */
    struct hq_cmd x = {.type = HQ_CMD_CANCEL, .now = base0 + 1};
    x.u.cancel.ticket = r.ticket;
    snprintf(x.u.cancel.reason, sizeof x.u.cancel.reason, "%s", "群众改日再办");
    CHECK_EQ_INT(hq_engine_apply(&e, &x, &r), HQ_OK);
    CHECK_EQ_INT(e.tickets[x.u.cancel.ticket].status, HQ_TS_CANCELLED);
    CHECK(e.tickets[ti].flags & HQ_TF_ASSIST); /* the other one keeps it */
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_ranking(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    struct hq_engine_cfg cfg2 = cfg;
    cfg2.max_overtakes = 0; /* ranking alone */
    fresh(&e, &cfg2);
    static const struct step issue[] = {
        ISSUE_P(0, SVC_A, HQ_PRIO_NORMAL, "A001"),     /* rank    0 */
        ISSUE_P(100, SVC_A, HQ_PRIO_NORMAL, "A002"),   /* rank  100 */
        ISSUE_P(200, SVC_A, HQ_PRIO_ELDERLY, "A003"),  /* rank -400 */
        ISSUE_P(300, SVC_A, HQ_PRIO_GREEN, "A004"),    /* rank -3300 */
        ISSUE_P(400, SVC_A, HQ_PRIO_DISABLED, "A005"), /* rank -500 */
        ISSUE_P(400, SVC_A, HQ_PRIO_MILITARY, "A006"), /* rank -200 */
        ISSUE_P(410, SVC_B, HQ_PRIO_GREEN, "B001"),    /* not honoured in B */
    };
    RUN("ranking issue", &e, &r, base0, issue);
    CHECK_EQ_INT(tk(&e, "A004")->priority, HQ_PRIO_GREEN);
    CHECK_EQ_INT(tk(&e, "B001")->priority, HQ_PRIO_NORMAL);

    /* ahead = how many rank before it; estimates need an open window. */
    static const struct {
        const char *label;
        size_t ahead;
    } ahead[] = {{"A004", 0}, {"A005", 1}, {"A003", 2}, {"A006", 3}, {"A001", 4}, {"A002", 5}};
    for (size_t i = 0; i < HQ_ARRAY_LEN(ahead); i++)
        CHECK_EQ_INT(hq_engine_ahead(&e, find(&e, ahead[i].label)), ahead[i].ahead);
    CHECK_EQ_INT(hq_engine_waiting(&e, SVC_A), 6);
    CHECK_EQ_INT(hq_engine_estimate_wait(&e, SVC_A), -1);
    CHECK_EQ_INT(hq_engine_estimate_ticket(&e, find(&e, "A002")), -1);
    static const struct step open[] = {
        LOGIN(500, 1, "1001", HQ_OK),
        LOGIN(500, 4, "1004", HQ_OK),
    };
    CHECK_EQ_INT(hq_engine_open_windows(&e, SVC_A), 0);
    RUN("ranking open", &e, &r, base0, open);
    CHECK_EQ_INT(hq_engine_open_windows(&e, SVC_A), 2);
    CHECK_EQ_INT(hq_engine_open_windows(&e, SVC_B), 1);
    CHECK_EQ_INT(hq_engine_open_windows(&e, SVC_C), 0); /* nobody at window 3 */
    CHECK_EQ_INT(hq_engine_open_windows(&e, N_SVC), 0);
    CHECK_EQ_INT(hq_engine_estimate_wait(&e, SVC_A), 6 * 300 / 2);
    CHECK_EQ_INT(hq_engine_estimate_ticket(&e, find(&e, "A002")), 5 * 300 / 2);
    CHECK_EQ_INT(hq_engine_estimate_ticket(&e, find(&e, "A004")), 0);
    CHECK_EQ_INT(hq_engine_estimate_wait(&e, SVC_B), 1 * 300 / 1); /* only window 1 serves B */
    CHECK_EQ_INT(hq_engine_estimate_wait(&e, SVC_C), -1);
    CHECK_EQ_INT(one(&e, &r, base0, (struct step)WCMD(HQ_CMD_PAUSE, 501, 4, HQ_OK)), HQ_OK);
    CHECK_EQ_INT(hq_engine_estimate_wait(&e, SVC_A), 6 * 300);
    CHECK_EQ_INT(one(&e, &r, base0, (struct step)WCMD(HQ_CMD_RESUME, 502, 4, HQ_OK)), HQ_OK);

    static const struct step calls[] = {
        NEXT(600, 1, HQ_OK, "A004"),
        NEXT(601, 4, HQ_OK, "A005"),
        NEXT(602, 1, HQ_OK, "A003"),
        NEXT(603, 4, HQ_OK, "A006"),
    };
    RUN("ranking calls", &e, &r, base0, calls);
    CHECK_EQ_INT(e.svc[SVC_A].overtakes, 4); /* counted even with anti-starvation off */
    static const struct step rest[] = {
        NEXT(604, 1, HQ_OK, "A001"),    NEXT(605, 4, HQ_OK, "A002"),
        NEXT(606, 1, HQ_OK, "B001"), /* A empty: window 1's second service */
        NEXT(607, 4, HQ_OK, ""),     /* nobody: the implicit finish is still committed */
        NEXT(608, 4, HQ_ERR_EMPTY, ""),
    };
    RUN("ranking rest", &e, &r, base0, rest);
    CHECK_EQ_INT(e.svc[SVC_A].overtakes, 0);
    hq_engine_free(&e);

    /* Equal rank: the lower serial first. */
    fresh(&e, &cfg2);
    static const struct step ties[] = {
        LOGIN(0, 4, "1004", HQ_OK),
        ISSUE_P(600, SVC_A, HQ_PRIO_NORMAL, "A001"),   /* rank 600 */
        ISSUE_P(1200, SVC_A, HQ_PRIO_ELDERLY, "A002"), /* rank 600 too */
        NEXT(1300, 4, HQ_OK, "A001"),
        NEXT(1301, 4, HQ_OK, "A002"),
    };
    RUN("ranking ties", &e, &r, base0, ties);
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_anti_starvation(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg); /* max_overtakes 2 */
    static const struct step steps[] = {
        LOGIN(0, 4, "1004", HQ_OK),
        ISSUE_P(0, SVC_A, HQ_PRIO_NORMAL, "A001"),
        ISSUE_P(5, SVC_A, HQ_PRIO_NORMAL, "A002"),
        ISSUE_P(10, SVC_A, HQ_PRIO_ELDERLY, "A003"),
        ISSUE_P(20, SVC_A, HQ_PRIO_ELDERLY, "A004"),
        ISSUE_P(30, SVC_A, HQ_PRIO_ELDERLY, "A005"),
        NEXT(100, 4, HQ_OK, "A003"), /* passes over A001: 1 */
        NEXT(101, 4, HQ_OK, "A004"), /* 2 */
        NEXT(102, 4, HQ_OK, "A001"), /* passed over twice: its turn whatever the class */
        NEXT(103, 4, HQ_OK, "A005"), /* passes over A002: 1 */
        NEXT(104, 4, HQ_OK, "A002"), /* the best is the oldest: back to 0 */
    };
    static const int overtakes[] = {1, 2, 0, 1, 0};
    for (size_t i = 0; i < HQ_ARRAY_LEN(steps); i++) {
        run_steps("anti-starvation", &e, &r, base0, &steps[i], 1);
        if (i >= 6) {
            CHECK_EQ_INT(e.svc[SVC_A].overtakes, overtakes[i - 6]);
            /* The service row changes whenever its counter does. */
            bool dirty = r.dirty_services[0] & (1u << SVC_A);
            CHECK(dirty);
        }
    }
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_elderly(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    /* On 2024-03-04: born 1959-03-04 is 65 today, 1959-03-05 still 64. D honours ELDERLY
     * only; B honours nothing. */
    static const struct {
        int svc, prio;
        int32_t birth;
        int want;
    } rows[] = {
        {SVC_D, HQ_PRIO_NORMAL, 19590304, HQ_PRIO_ELDERLY},
        {SVC_D, HQ_PRIO_NORMAL, 19590305, HQ_PRIO_NORMAL},
        {SVC_D, HQ_PRIO_NORMAL, 19590303, HQ_PRIO_ELDERLY},
        {SVC_D, HQ_PRIO_NORMAL, 19400101, HQ_PRIO_ELDERLY},
        {SVC_D, HQ_PRIO_NORMAL, 19800101, HQ_PRIO_NORMAL},
        {SVC_D, HQ_PRIO_NORMAL, 0, HQ_PRIO_NORMAL},
        {SVC_D, HQ_PRIO_DISABLED, 19400101, HQ_PRIO_ELDERLY}, /* not honoured → normal → elderly */
        {SVC_D, HQ_PRIO_ELDERLY, 0, HQ_PRIO_ELDERLY},
        {SVC_B, HQ_PRIO_NORMAL, 19400101, HQ_PRIO_NORMAL},
        {SVC_A, HQ_PRIO_DISABLED, 19400101, HQ_PRIO_DISABLED}, /* a requested class stays */
        {SVC_A, HQ_PRIO_NORMAL, 19590304, HQ_PRIO_ELDERLY},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(rows); i++) {
        struct step s = {.type = HQ_CMD_ISSUE,
                         .t = (int32_t)i,
                         .a = rows[i].svc,
                         .b = rows[i].prio,
                         .c = 100 + (int)i,
                         .birth = rows[i].birth};
        check_count++;
        if (one(&e, &r, base0, s) != HQ_OK || e.tickets[r.ticket].priority != rows[i].want) {
            check_failures++;
            fprintf(stderr, "elderly row %zu: priority %s, want %s\n", i,
                    r.ticket >= 0 ? hq_priority_name(e.tickets[r.ticket].priority) : "-",
                    hq_priority_name(rows[i].want));
        }
    }
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_services_in_order(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    static const struct step steps[] = {
        NEXT(0, 1, HQ_ERR_STATE, ""), /* nobody logged in */
        LOGIN(0, 1, "1001", HQ_OK),      LOGIN(0, 2, "1002", HQ_OK),
        NEXT(1, 1, HQ_ERR_EMPTY, ""),    ISSUE(10, SVC_B, HQ_OK, "B001"),
        ISSUE(20, SVC_A, HQ_OK, "A001"), ISSUE(30, SVC_A, HQ_OK, "A002"),
        NEXT(40, 1, HQ_OK, "A001"), /* window 1: A before B, though B001 is older */
        NEXT(41, 2, HQ_OK, "B001"), /* window 2: B before A */
        NEXT(42, 2, HQ_OK, "A002"), /* B empty: A */
        NEXT(43, 2, HQ_OK, ""),          NEXT(44, 1, HQ_OK, ""),
        NEXT(45, 1, HQ_ERR_EMPTY, ""),   NEXT(46, 9, HQ_ERR_NOT_FOUND, ""),
    };
    RUN("services in order", &e, &r, base0, steps);
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_transfer(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    static const struct step steps[] = {
        LOGIN(0, 1, "1001", HQ_OK),
        LOGIN(0, 2, "1002", HQ_OK),
        LOGIN(0, 3, "1003", HQ_OK),
        ISSUE(1, SVC_A, HQ_OK, "A001"),
        ISSUE(2, SVC_B, HQ_OK, "B001"),
        XFER(3, 1, SVC_B, 2, 0, HQ_ERR_STATE), /* nothing current */
        NEXT(4, 1, HQ_OK, "A001"),
        XFER(5, 1, 42, 0, 0, HQ_ERR_NOT_FOUND),
        XFER(5, 1, SVC_B, 9, 0, HQ_ERR_NOT_FOUND),
        XFER(6, 1, SVC_B, 2, 0, HQ_OK), /* A001 to B, for window 2 only */
        NEXT(7, 1, HQ_OK, "B001"),      /* window 1 serves B, but A001 is not for it */
        NEXT(8, 1, HQ_OK, ""),
        ISSUE(9, SVC_B, HQ_OK, "B002"),
        NEXT(10, 2, HQ_OK, "A001"),   /* targeted at window 2 comes before B002 */
        XFER(11, 2, -1, 3, 0, HQ_OK), /* same service, to window 3, which serves C only */
        NEXT(12, 3, HQ_OK, "A001"), /* a ticket sent to the window is called whatever its service */
        WCMD(HQ_CMD_FINISH, 13, 3, HQ_OK),
        NEXT(14, 2, HQ_OK, "B002"),
    };
    RUN("transfer", &e, &r, base0, steps);
    /* Issue 16: a transfer to a window nobody is signed in at is refused, naming why;
     * the ticket stays at the window. */
    static const struct step closed[] = {
        ISSUE(15, SVC_A, HQ_OK, "A002"),
        NEXT(16, 1, HQ_OK, "A002"),
        XFER(17, 1, -1, 4, 0, HQ_ERR_STATE),
    };
    RUN("transfer to a closed window", &e, &r, base0, closed);
    CHECK_EQ_INT(r.why, HQ_WHY_WINDOW_UNSTAFFED);
    CHECK_EQ_STR(hq_why_code(r.why), "window_unstaffed");
    CHECK_EQ_INT(tk(&e, "A002")->status, HQ_TS_CALLED);
    CHECK_EQ_INT(tk(&e, "A002")->window, 1);
    static const struct step open4[] = {
        LOGIN(18, 4, "1004", HQ_OK),
        XFER(19, 1, -1, 4, 0, HQ_OK),
        NEXT(20, 4, HQ_OK, "A002"),
    };
    RUN("transfer to an open window", &e, &r, base0, open4);
    const struct hq_ticket *t = tk(&e, "A001");
    CHECK_EQ_INT(t->service, SVC_B);
    CHECK_EQ_INT(t->orig_service, SVC_A);
    CHECK(t->flags & HQ_TF_TRANSFERRED);
    CHECK_EQ_INT(t->status, HQ_TS_DONE);
    CHECK_EQ_INT(t->window, 3);
    hq_engine_free(&e);

    /* Front and back of the queue (ranking alone: anti-starvation off). */
    struct hq_engine_cfg cfg2 = cfg;
    cfg2.max_overtakes = 0;
    fresh(&e, &cfg2);
    static const struct step fb[] = {
        LOGIN(0, 4, "1004", HQ_OK),
        ISSUE(1, SVC_A, HQ_OK, "A001"),
        ISSUE(10, SVC_A, HQ_OK, "A002"),
        ISSUE_P(20, SVC_A, HQ_PRIO_GREEN, "A003"),
        NEXT(30, 4, HQ_OK, "A003"),
        XFER(40, 4, -1, 0, 1, HQ_OK), /* to the front: ahead of A001 and A002 */
        NEXT(50, 4, HQ_OK, "A003"),
        XFER(60, 4, -1, 0, 0, HQ_OK), /* to the back: queued now, keeps its green head start */
        NEXT(70, 4, HQ_OK, "A003"),
        WCMD(HQ_CMD_START, 71, 4, HQ_OK),
        XFER(80, 4, -1, 0, 0, HQ_OK),
    };
    RUN("transfer front/back", &e, &r, base0, fb);
    /* A transfer answers WINDOW and QUEUE and a TRANSFER record naming the target service. */
    CHECK_EQ_INT(count_fx(&r, HQ_FX_WINDOW), 1);
    CHECK_EQ_INT(count_fx(&r, HQ_FX_QUEUE), 1);
    CHECK(r.n_rec == 1 && r.rec[0].event == HQ_EV_TRANSFER && r.rec[0].aux == SVC_A &&
          r.rec[0].window == 4 && r.rec[0].staff == 4);
    CHECK_EQ_INT(hq_engine_ahead(&e, find(&e, "A003")), 0);
    CHECK_EQ_INT(tk(&e, "A003")->queued_at, base0 + 80);
    CHECK(!(tk(&e, "A003")->flags & HQ_TF_FRONT));
    /* Back without a head start: a normal ticket goes behind everyone. */
    static const struct step back[] = {
        NEXT(90, 4, HQ_OK, "A003"),
        WCMD(HQ_CMD_FINISH, 91, 4, HQ_OK),
        NEXT(92, 4, HQ_OK, "A001"),
        XFER(93, 4, -1, 0, 0, HQ_OK),
    };
    RUN("transfer back", &e, &r, base0, back);
    CHECK_EQ_INT(hq_engine_ahead(&e, find(&e, "A001")), 1);
    CHECK_EQ_INT(hq_engine_ahead(&e, find(&e, "A002")), 0);
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_call_number(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    static const struct step steps[] = {
        LOGIN(0, 1, "1001", HQ_OK),
        LOGIN(0, 2, "1002", HQ_OK),
        ISSUE(1, SVC_A, HQ_OK, "A001"),
        ISSUE(2, SVC_A, HQ_OK, "A002"),
        ISSUE(3, SVC_B, HQ_OK, "B001"),
        ISSUE(4, SVC_B, HQ_OK, "B002"),
        ISSUE_ID(5, SVC_C, 1, HQ_OK, "C001"),
        CALLNO(10, 1, "A002", HQ_OK, "A002"),        /* out of queue order */
        CALLNO(11, 2, "2", HQ_OK, "B002"),           /* digits: window 2's first service is B */
        CALLNO(12, 1, "001", HQ_OK, "A001"),         /* digits: window 1's first service is A */
        CALLNO(13, 1, "C001", HQ_ERR_NOT_FOUND, ""), /* C is not served at window 1 */
        CALLNO(13, 1, "Z001", HQ_ERR_NOT_FOUND, ""),
        CALLNO(13, 1, "A999", HQ_ERR_NOT_FOUND, ""),
        CALLNO(13, 1, "A002", HQ_ERR_NOT_FOUND, ""), /* done (implicitly finished) */
        CALLNO(13, 1, "", HQ_ERR_NOT_FOUND, ""),
        CALLNO(13, 1, "A0x1", HQ_ERR_NOT_FOUND, ""),
        NOSHOW(14, 1, 0, HQ_OK, "A001"),
        CALLNO(15, 1, "A001", HQ_OK, "A001"), /* the late citizen came back */
        WCMD(HQ_CMD_START, 16, 1, HQ_OK),
        CALLNO(17, 1, "B1", HQ_OK, "B001"),
    };
    RUN("call number", &e, &r, base0, steps);
    const struct hq_ticket *a1 = tk(&e, "A001");
    CHECK_EQ_INT(a1->status, HQ_TS_DONE);
    CHECK_EQ_INT(a1->finished_at, base0 + 17);
    CHECK_EQ_INT(a1->called_at, base0 + 15);
    CHECK_EQ_INT(tk(&e, "A002")->status, HQ_TS_DONE);
    CHECK_EQ_INT(tk(&e, "B001")->status, HQ_TS_CALLED);
    CHECK_EQ_INT(tk(&e, "B001")->window, 1);
    CHECK_EQ_INT(tk(&e, "B001")->staff, 1);
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_recall_and_no_show(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg); /* recall_limit 2, requeue on, max_requeues 1 */
    static const struct step steps[] = {
        LOGIN(0, 4, "1004", HQ_OK),
        WCMD(HQ_CMD_RECALL, 1, 4, HQ_ERR_STATE),
        ISSUE(1, SVC_A, HQ_OK, "A001"),
        ISSUE(2, SVC_A, HQ_OK, "A002"),
        NEXT(10, 4, HQ_OK, "A001"),
        WCMDL(HQ_CMD_RECALL, 20, 4, HQ_OK, "A001"),
        WCMDL(HQ_CMD_RECALL, 30, 4, HQ_OK, "A001"),
        WCMDL(HQ_CMD_RECALL, 40, 4, HQ_OK, "A001"), /* third: a no-show, re-queued at the back */
        NEXT(50, 4, HQ_OK, "A002"),
        NEXT(60, 4, HQ_OK, "A001"),
        WCMD(HQ_CMD_RECALL, 61, 4, HQ_OK),
        WCMD(HQ_CMD_RECALL, 62, 4, HQ_OK),
        WCMD(HQ_CMD_RECALL, 63, 4, HQ_OK), /* no re-queue left: it ends as a no-show */
        WCMD(HQ_CMD_RECALL, 64, 4, HQ_ERR_STATE),
        NEXT(65, 4, HQ_ERR_EMPTY, ""), /* nobody left, nobody current */
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(steps); i++) {
        run_steps("recall", &e, &r, base0, &steps[i], 1);
        if (i == 5) {
            CHECK(r.n_fx == 1 && r.fx[0].type == HQ_FX_CALL && r.fx[0].flags == HQ_FXF_RECALL);
            CHECK(r.n_rec == 1 && r.rec[0].event == HQ_EV_RECALL);
            CHECK_EQ_INT(tk(&e, "A001")->recalls, 1);
            CHECK_EQ_INT(e.win[3].last_call_at, base0 + 20);
        }
        if (i == 7) {
            CHECK_EQ_INT(count_rec(&r, HQ_REC_EVENT, HQ_EV_NO_SHOW), 1);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_EVENT, HQ_EV_REQUEUE), 1);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_TICKET, HQ_EV_NO_SHOW), 0);
            CHECK_EQ_INT(tk(&e, "A001")->status, HQ_TS_WAITING);
            CHECK_EQ_INT(tk(&e, "A001")->requeues, 1);
            CHECK_EQ_INT(tk(&e, "A001")->queued_at, base0 + 40);
            CHECK_EQ_INT(e.win[3].state, HQ_WS_IDLE);
        }
        if (i == 12) {
            CHECK_EQ_INT(count_rec(&r, HQ_REC_EVENT, HQ_EV_NO_SHOW), 1);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_EVENT, HQ_EV_REQUEUE), 0);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_TICKET, HQ_EV_NO_SHOW), 1);
            CHECK_EQ_INT(tk(&e, "A001")->status, HQ_TS_NO_SHOW);
            CHECK_EQ_INT(tk(&e, "A001")->finished_at, base0 + 63);
        }
    }
    hq_engine_free(&e);

    /* No-show by key: explicit requeue yes/no, as configured, and the limit. */
    fresh(&e, &cfg);
    static const struct step ns[] = {
        LOGIN(0, 4, "1004", HQ_OK),
        NOSHOW(1, 4, -1, HQ_ERR_STATE, ""),
        ISSUE(1, SVC_A, HQ_OK, "A001"),
        ISSUE(2, SVC_A, HQ_OK, "A002"),
        ISSUE(3, SVC_A, HQ_OK, "A003"),
        NEXT(10, 4, HQ_OK, "A001"),
        NOSHOW(11, 4, 0, HQ_OK, "A001"), /* no re-queue asked */
        NEXT(12, 4, HQ_OK, "A002"),
        NOSHOW(13, 4, 1, HQ_OK, "A002"), /* back of the queue */
        NEXT(14, 4, HQ_OK, "A003"),
        WCMD(HQ_CMD_START, 15, 4, HQ_OK),
        NOSHOW(16, 4, 1, HQ_ERR_STATE, ""), /* serving: the citizen is here */
        NEXT(17, 4, HQ_OK, "A002"),
        NOSHOW(18, 4, -1, HQ_OK, "A002"), /* configured re-queue, but max_requeues used up */
        NEXT(19, 4, HQ_ERR_EMPTY, ""),
    };
    RUN("no-show", &e, &r, base0, ns);
    CHECK_EQ_INT(tk(&e, "A001")->status, HQ_TS_NO_SHOW);
    CHECK_EQ_INT(tk(&e, "A002")->status, HQ_TS_NO_SHOW);
    CHECK_EQ_INT(tk(&e, "A002")->requeues, 1);
    CHECK_EQ_INT(tk(&e, "A003")->status, HQ_TS_DONE);
    hq_engine_free(&e);

    /* Configured off: -1 means no re-queue. */
    struct hq_engine_cfg cfg2 = cfg;
    cfg2.no_show_requeue = false;
    fresh(&e, &cfg2);
    static const struct step off[] = {
        LOGIN(0, 4, "1004", HQ_OK),   ISSUE(1, SVC_A, HQ_OK, "A001"),
        NEXT(2, 4, HQ_OK, "A001"),    NOSHOW(3, 4, -1, HQ_OK, "A001"),
        NEXT(4, 4, HQ_ERR_EMPTY, ""), CANCEL(5, 0, HQ_OK), /* a no-show can be cancelled */
    };
    RUN("no-show off", &e, &r, base0, off);
    CHECK_EQ_INT(e.tickets[0].status, HQ_TS_CANCELLED);
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_park(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    static const struct step steps[] = {
        LOGIN(0, 1, "1001", HQ_OK),
        LOGIN(0, 4, "1004", HQ_OK),
        WCMD(HQ_CMD_PARK, 1, 1, HQ_ERR_STATE),
        WCMD(HQ_CMD_CALL_BACK, 1, 1, HQ_ERR_EMPTY),
        ISSUE(1, SVC_A, HQ_OK, "A001"),
        ISSUE(2, SVC_A, HQ_OK, "A002"),
        ISSUE(3, SVC_A, HQ_OK, "A003"),
        NEXT(10, 1, HQ_OK, "A001"),
        WCMDL(HQ_CMD_PARK, 100, 1, HQ_OK, "A001"),
        NEXT(110, 1, HQ_OK, "A002"),
        WCMD(HQ_CMD_START, 111, 1, HQ_OK),
        WCMDL(HQ_CMD_PARK, 200, 1, HQ_OK, "A002"),    /* serving can be parked too */
        WCMD(HQ_CMD_CALL_BACK, 201, 4, HQ_ERR_EMPTY), /* parked at window 1, not 4 */
        NEXT(210, 1, HQ_OK, "A003"),
        WCMDL(HQ_CMD_CALL_BACK, 300, 1, HQ_OK, "A001"), /* the oldest parked; A003 finished */
        WCMDL(HQ_CMD_CALL_BACK, 400, 1, HQ_OK, "A002"),
        WCMD(HQ_CMD_CALL_BACK, 401, 1, HQ_ERR_EMPTY), /* refused: A002 stays current */
        WCMD(HQ_CMD_PARK, 402, 1, HQ_OK),
        CANCEL(403, 1, HQ_OK), /* a parked ticket can be cancelled */
        WCMD(HQ_CMD_CALL_BACK, 404, 1, HQ_ERR_EMPTY),
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(steps); i++) {
        run_steps("park", &e, &r, base0, &steps[i], 1);
        if (i == 8) {
            CHECK_EQ_INT(tk(&e, "A001")->status, HQ_TS_PARKED);
            CHECK_EQ_INT(tk(&e, "A001")->window, 1);
            CHECK_EQ_INT(e.win[0].state, HQ_WS_IDLE);
            CHECK_EQ_INT(e.win[0].current, -1);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_EVENT, HQ_EV_PARK), 1);
        }
        if (i == 14) {
            CHECK_EQ_INT(tk(&e, "A003")->status, HQ_TS_DONE);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_EVENT, HQ_EV_CALL_BACK), 1);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_EVENT, HQ_EV_FINISH), 1);
            CHECK_EQ_INT(count_fx(&r, HQ_FX_CALL), 1);
            CHECK_EQ_INT(count_fx(&r, HQ_FX_RATE_PROMPT), 0);
            CHECK_EQ_INT(e.win[0].state, HQ_WS_CALLING);
        }
    }
    CHECK_EQ_INT(tk(&e, "A002")->status, HQ_TS_CANCELLED);
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_pause_login(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    static const struct step steps[] = {
        WCMD(HQ_CMD_PAUSE, 0, 1, HQ_ERR_STATE), /* closed */
        WCMD(HQ_CMD_RESUME, 0, 1, HQ_ERR_STATE),
        WCMD(HQ_CMD_LOGOUT, 0, 1, HQ_ERR_STATE),
        LOGIN(0, 1, "9999", HQ_ERR_NOT_FOUND), /* not in the roster */
        LOGIN(0, 1, "", HQ_ERR_NOT_FOUND),
        LOGIN(0, 77, "1001", HQ_ERR_NOT_FOUND),
        LOGIN(1, 1, "1001", HQ_OK),
        WCMD(HQ_CMD_PAUSE, 2, 1, HQ_OK),
        WCMD(HQ_CMD_PAUSE, 3, 1, HQ_ERR_STATE),
        NEXT(4, 1, HQ_ERR_STATE, ""),
        CALLNO(4, 1, "A001", HQ_ERR_STATE, ""),
        WCMD(HQ_CMD_CALL_BACK, 4, 1, HQ_ERR_STATE),
        WCMD(HQ_CMD_RESUME, 5, 1, HQ_OK),
        WCMD(HQ_CMD_RESUME, 6, 1, HQ_ERR_STATE),
        ISSUE(7, SVC_A, HQ_OK, "A001"),
        ISSUE(7, SVC_A, HQ_OK, "A002"),
        NEXT(8, 1, HQ_OK, "A001"),
        WCMD(HQ_CMD_PAUSE, 9, 1, HQ_ERR_STATE), /* finish the citizen first */
        WCMD(HQ_CMD_LOGOUT, 9, 1, HQ_ERR_STATE),
        LOGIN(9, 1, "1002", HQ_ERR_STATE),  /* no change of clerk mid-call */
        LOGIN(10, 4, "1001", HQ_ERR_STATE), /* 1001 is busy at window 1 */
        WCMD(HQ_CMD_FINISH, 11, 1, HQ_OK),
        LOGIN(12, 4, "1001", HQ_OK), /* one clerk, one window: logged out at 1 */
        LOGIN(13, 4, "1002", HQ_OK), /* window 4 changes clerk while idle */
        WCMD(HQ_CMD_PAUSE, 14, 4, HQ_OK),
        LOGIN(15, 4, "1003", HQ_OK),       /* ... or paused */
        WCMD(HQ_CMD_LOGOUT, 16, 4, HQ_OK), /* paused can log out */
        WCMD(HQ_CMD_LOGOUT, 17, 4, HQ_ERR_STATE),
        WCMD(HQ_CMD_LOGOUT, 17, 9, HQ_ERR_NOT_FOUND),
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(steps); i++) {
        run_steps("pause/login", &e, &r, base0, &steps[i], 1);
        if (i == 6) {
            CHECK_EQ_INT(e.win[0].state, HQ_WS_IDLE);
            CHECK_EQ_INT(e.win[0].staff, 1);
            CHECK(r.n_rec == 1 && r.rec[0].event == HQ_EV_LOGIN && r.rec[0].staff == 1 &&
                  r.rec[0].window == 1);
        }
        if (i == 7) {
            CHECK_EQ_INT(e.win[0].state, HQ_WS_PAUSED);
            CHECK_EQ_INT(e.win[0].state_since, base0 + 2);
            CHECK(r.n_rec == 1 && r.rec[0].event == HQ_EV_PAUSE);
            CHECK(r.n_fx == 1 && r.fx[0].type == HQ_FX_WINDOW && r.fx[0].window == 1);
        }
        if (i == 22) {
            CHECK_EQ_INT(e.win[0].state, HQ_WS_CLOSED);
            CHECK_EQ_INT(e.win[0].staff, 0);
            CHECK_EQ_INT(e.win[3].state, HQ_WS_IDLE);
            CHECK_EQ_INT(e.win[3].staff, 1);
            CHECK(r.n_rec == 2 && r.rec[0].event == HQ_EV_LOGOUT && r.rec[0].window == 1 &&
                  r.rec[1].event == HQ_EV_LOGIN && r.rec[1].window == 4);
        }
        if (i == 25) {
            CHECK_EQ_INT(e.win[3].state, HQ_WS_PAUSED);
            CHECK_EQ_INT(e.win[3].staff, 3);
        }
        if (i == 26) {
            CHECK_EQ_INT(e.win[3].state, HQ_WS_CLOSED);
            CHECK_EQ_INT(e.win[3].staff, 0);
            CHECK(r.n_rec == 1 && r.rec[0].event == HQ_EV_LOGOUT && r.rec[0].staff == 3);
        }
    }
    hq_engine_free(&e);
    hq_result_free(&r);
}

/* Pause reasons: the code kept in the window and the records, "other" for none, an unknown
 * one refused with its reason and nothing changed; a reason leaves with its pause. */
static void test_pause_reasons(void)
{
    struct hq_engine_cfg c = cfg;
    c.n_pause_reasons = 2;
    snprintf(c.pause_reasons[0].code, sizeof c.pause_reasons[0].code, "lunch");
    snprintf(c.pause_reasons[0].name, sizeof c.pause_reasons[0].name, "午休");
    c.pause_reasons[0].max_min = 60;
    snprintf(c.pause_reasons[1].code, sizeof c.pause_reasons[1].code, "other");
    CHECK(hq_pause_reason(&c, "lunch") == &c.pause_reasons[0]);
    CHECK(hq_pause_reason(&c, "nap") == NULL);
    CHECK(hq_pause_reason(&c, NULL) == NULL);
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &c);
    CHECK_EQ_INT(one(&e, &r, base0, (struct step)LOGIN(0, 1, "1001", HQ_OK)), HQ_OK);
    struct hq_cmd cmd = {.type = HQ_CMD_PAUSE, .now = base0 + 10, .window = 1};
    snprintf(cmd.u.pause.reason, sizeof cmd.u.pause.reason, "nap");
    CHECK_EQ_INT(hq_engine_apply(&e, &cmd, &r), HQ_ERR_INVALID);
    CHECK_EQ_INT(r.why, HQ_WHY_NO_PAUSE_REASON);
    CHECK_EQ_STR(hq_why_code(r.why), "no_pause_reason");
    CHECK_EQ_INT(e.win[0].state, HQ_WS_IDLE);
    CHECK_EQ_INT(r.n_rec, 0);
    /* a refused reason on a busy window: the reason is checked first, nothing changes */
    snprintf(cmd.u.pause.reason, sizeof cmd.u.pause.reason, "lunch");
    CHECK_EQ_INT(hq_engine_apply(&e, &cmd, &r), HQ_OK);
    CHECK_EQ_INT(e.win[0].state, HQ_WS_PAUSED);
    CHECK_EQ_STR(e.win[0].pause_reason, "lunch");
    CHECK_EQ_INT(e.win[0].state_since, base0 + 10);
    CHECK(r.n_rec == 1 && r.rec[0].event == HQ_EV_PAUSE);
    CHECK_EQ_STR(r.rec[0].reason, "lunch");
    CHECK(win_dirty(&r, 0));
    struct hq_cmd res = {.type = HQ_CMD_RESUME, .now = base0 + 130, .window = 1};
    CHECK_EQ_INT(hq_engine_apply(&e, &res, &r), HQ_OK);
    CHECK_EQ_INT(e.win[0].state, HQ_WS_IDLE);
    CHECK_EQ_STR(e.win[0].pause_reason, "");
    CHECK(r.n_rec == 1 && r.rec[0].event == HQ_EV_RESUME);
    CHECK_EQ_STR(r.rec[0].reason, "lunch");
    CHECK_EQ_INT(r.rec[0].aux, 120); /* seconds paused */
    /* no reason: "other" (a keypad's pause key, an old client) */
    struct hq_cmd bare = {.type = HQ_CMD_PAUSE, .now = base0 + 140, .window = 1};
    CHECK_EQ_INT(hq_engine_apply(&e, &bare, &r), HQ_OK);
    CHECK_EQ_STR(e.win[0].pause_reason, HQ_PAUSE_DEFAULT);
    CHECK_EQ_STR(r.rec[0].reason, "other");
    /* a logout ends the pause and its reason */
    CHECK_EQ_INT(one(&e, &r, base0, (struct step)WCMD(HQ_CMD_LOGOUT, 150, 1, HQ_OK)), HQ_OK);
    CHECK_EQ_INT(e.win[0].state, HQ_WS_CLOSED);
    CHECK_EQ_STR(e.win[0].pause_reason, "");
    /* "other" is accepted even from a list without it (a test engine, an old config) */
    struct hq_engine e2;
    fresh(&e2, &cfg);
    CHECK_EQ_INT(one(&e2, &r, base0, (struct step)LOGIN(0, 1, "1001", HQ_OK)), HQ_OK);
    bare.now = base0 + 1;
    CHECK_EQ_INT(hq_engine_apply(&e2, &bare, &r), HQ_OK);
    CHECK_EQ_STR(e2.win[0].pause_reason, "other");
    hq_engine_free(&e2);
    hq_engine_free(&e);
    hq_result_free(&r);
}

/* The help call: open in any state, once; answered once, with the seconds waited. */
static void test_help_call(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    struct hq_cmd ack = {.type = HQ_CMD_HELP_ACK, .now = base0, .window = 2};
    CHECK_EQ_INT(hq_engine_apply(&e, &ack, &r), HQ_ERR_STATE);
    CHECK_EQ_INT(r.why, HQ_WHY_NO_HELP_CALL);
    struct hq_cmd help = {.type = HQ_CMD_HELP, .now = base0 + 5, .window = 2};
    CHECK_EQ_INT(hq_engine_apply(&e, &help, &r), HQ_OK); /* nobody logged in: still a call */
    CHECK_EQ_INT(e.win[1].help_at, base0 + 5);
    CHECK(r.n_rec == 1 && r.rec[0].event == HQ_EV_HELP && r.rec[0].window == 2);
    CHECK(r.n_fx == 1 && r.fx[0].type == HQ_FX_WINDOW && r.fx[0].window == 2);
    CHECK(win_dirty(&r, 1));
    help.now = base0 + 9;
    CHECK_EQ_INT(hq_engine_apply(&e, &help, &r), HQ_OK); /* again: nothing new */
    CHECK_EQ_INT(e.win[1].help_at, base0 + 5);
    CHECK_EQ_INT(r.n_rec, 0);
    help.window = 99;
    CHECK_EQ_INT(hq_engine_apply(&e, &help, &r), HQ_ERR_NOT_FOUND);
    CHECK_EQ_INT(r.why, HQ_WHY_NO_WINDOW);
    ack.now = base0 + 65;
    CHECK_EQ_INT(hq_engine_apply(&e, &ack, &r), HQ_OK);
    CHECK_EQ_INT(e.win[1].help_at, 0);
    CHECK(r.n_rec == 1 && r.rec[0].event == HQ_EV_HELP_ACK && r.rec[0].aux == 60);
    CHECK_EQ_INT(hq_engine_apply(&e, &ack, &r), HQ_ERR_STATE);
    CHECK_EQ_STR(hq_cmd_name(HQ_CMD_HELP), "help");
    CHECK_EQ_STR(hq_cmd_name(HQ_CMD_HELP_ACK), "help_ack");
    CHECK_EQ_STR(hq_event_name(HQ_EV_HELP), "help");
    CHECK_EQ_STR(hq_event_name(HQ_EV_HELP_ACK), "help_ack");
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_finish_and_rating(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg); /* rating timeout 60 s, the default handling-time estimate */
    static const struct step steps[] = {
        LOGIN(0, 4, "1004", HQ_OK),
        WCMD(HQ_CMD_FINISH, 0, 4, HQ_ERR_STATE),
        WCMD(HQ_CMD_START, 0, 4, HQ_ERR_STATE),
        RATE(0, 4, 5, HQ_ERR_STATE), /* nothing to rate */
        ISSUE(0, SVC_A, HQ_OK, "A001"),
        ISSUE(0, SVC_A, HQ_OK, "A002"),
        ISSUE(0, SVC_A, HQ_OK, "A003"),
        ISSUE(0, SVC_A, HQ_OK, "A004"),
        NEXT(100, 4, HQ_OK, "A001"),
        WCMDL(HQ_CMD_START, 150, 4, HQ_OK, "A001"),
        WCMD(HQ_CMD_START, 151, 4, HQ_ERR_STATE),
        WCMDL(HQ_CMD_FINISH, 430, 4, HQ_OK, "A001"), /* 280 s from start */
        RATE(440, 4, 0, HQ_ERR_INVALID),
        RATE(440, 4, 6, HQ_ERR_INVALID),
        RATE(490, 4, 5, HQ_OK),        /* the last second of the timeout */
        RATE(491, 4, 4, HQ_ERR_STATE), /* twice */
        NEXT(500, 4, HQ_OK, "A002"),
        WCMD(HQ_CMD_FINISH, 505, 4, HQ_OK), /* 5 s, no start: clamped to 10 from the call */
        RATE(566, 4, 3, HQ_ERR_STATE),      /* after the timeout */
        TICK(566),                          /* the invitation ends unrated */
        TICK(567),                          /* and only once */
        NEXT(600, 4, HQ_OK, "A003"),
        WCMD(HQ_CMD_START, 600, 4, HQ_OK),
        WCMD(HQ_CMD_FINISH, 600 + 5 * 3600, 4, HQ_OK), /* 5 h: clamped to 4 h */
        NEXT(600 + 5 * 3600 + 10, 4, HQ_OK, "A004"),
        NEXT(600 + 5 * 3600 + 20, 4, HQ_OK, ""),
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(steps); i++) {
        run_steps("rating", &e, &r, base0, &steps[i], 1);
        switch (i) {
        case 11:
            /* the first time of the day weighs 1/5 of 10 %: 280 leaves 300 as it is */
            CHECK_EQ_INT(e.svc[SVC_A].handle_s, 300);
            CHECK_EQ_INT(e.svc[SVC_A].handled, 1);
            CHECK_EQ_INT(e.win[3].rating_ticket, 0);
            CHECK_EQ_INT(e.win[3].rating_deadline, base0 + 490);
            CHECK_EQ_INT(e.win[3].state, HQ_WS_IDLE);
            CHECK_EQ_INT(count_fx(&r, HQ_FX_RATE_PROMPT), 1);
            CHECK_EQ_INT(count_fx(&r, HQ_FX_WINDOW), 1);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_EVENT, HQ_EV_FINISH), 1);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_TICKET, HQ_EV_FINISH), 1);
            CHECK_EQ_INT(tk(&e, "A001")->status, HQ_TS_DONE);
            CHECK_EQ_INT(tk(&e, "A001")->finished_at, base0 + 430);
            CHECK_EQ_INT(tk(&e, "A001")->served_at, base0 + 150);
            break;
        case 14: {
            CHECK(tk(&e, "A001")->flags & HQ_TF_RATED);
            CHECK_EQ_INT(e.win[3].rating_ticket, -1);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_EVALUATION, HQ_EV_RATE), 1);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_EVENT, HQ_EV_RATE), 1);
            const struct hq_record *ev = &r.rec[0];
            CHECK(ev->type == HQ_REC_EVALUATION && ev->level == 5 && ev->channel == HQ_CHAN_PAD &&
                  ev->window == 4 && ev->staff == 4 && ev->ticket == 0 &&
                  ev->uuid[0] == (uint8_t)uuid_counter);
            CHECK(r.n_fx == 1 && r.fx[0].type == HQ_FX_RATED && r.fx[0].level == 5 &&
                  r.fx[0].window == 4);
            CHECK(r.n_dirty_tickets == 1 && r.dirty_tickets[0] == 0);
            break;
        }
        case 17:
            CHECK_EQ_INT(e.svc[SVC_A].handle_s, 300); /* 10 s is no service: not learnt */
            break;
        case 19:
            CHECK_EQ_INT(r.n_rec, 1);
            CHECK(r.n_rec == 1 && r.rec[0].event == HQ_EV_UNRATED && r.rec[0].ticket == 1);
            CHECK(r.n_fx == 1 && r.fx[0].type == HQ_FX_RATE_CLOSED && r.fx[0].window == 4);
            CHECK_EQ_INT(e.win[3].rating_ticket, -1);
            break;
        case 20:
            CHECK_EQ_INT(r.n_rec, 0);
            CHECK_EQ_INT(r.n_fx, 0);
            break;
        case 23:
            /* 4 h clipped to 3 x 300, weighs 3/5 of 10 % (+36), capped at 10 % of 300 */
            CHECK_EQ_INT(e.svc[SVC_A].handle_s, 330);
            break;
        case 24:
            /* The implicit finish: done, counted, but no rating invitation. */
            CHECK_EQ_INT(tk(&e, "A003")->status, HQ_TS_DONE);
            CHECK_EQ_INT(count_fx(&r, HQ_FX_RATE_PROMPT), 0);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_EVENT, HQ_EV_FINISH), 0); /* A003 was finished */
            CHECK_EQ_INT(e.win[3].rating_ticket, 2); /* A003's invitation still open */
            break;
        case 25:
            CHECK_EQ_INT(tk(&e, "A004")->status, HQ_TS_DONE);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_EVENT, HQ_EV_FINISH), 1);
            CHECK_EQ_INT(count_rec(&r, HQ_REC_TICKET, HQ_EV_FINISH), 1);
            CHECK_EQ_INT(count_fx(&r, HQ_FX_RATE_PROMPT), 0);
            CHECK_EQ_INT(e.svc[SVC_A].handled, 4);
            CHECK_EQ_INT(e.win[3].state, HQ_WS_IDLE);
            break;
        }
    }
    hq_engine_free(&e);

    /* A tick that finds nothing changes nothing. */
    fresh(&e, &cfg);
    CHECK_EQ_INT(one(&e, &r, base0, (struct step)ISSUE(0, SVC_A, HQ_OK, NULL)), HQ_OK);
    struct snap s;
    snap_take(&e, &s);
    CHECK_EQ_INT(one(&e, &r, base0, (struct step)TICK(10)), HQ_OK);
    CHECK(snap_same(&e, &s));
    CHECK(r.n_rec == 0 && r.n_fx == 0 && r.n_dirty_tickets == 0 && !r.rollover);
    free(s.t);
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_rollover(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    static const struct step day1[] = {
        LOGIN(0, 1, "1001", HQ_OK),
        LOGIN(0, 4, "1004", HQ_OK),
        LOGIN(0, 2, "1002", HQ_OK),
        ISSUE(0, SVC_A, HQ_OK, "A001"),
        ISSUE(1, SVC_A, HQ_OK, "A002"),
        ISSUE(2, SVC_A, HQ_OK, "A003"),
        ISSUE(3, SVC_B, HQ_OK, "B001"),
        NEXT(10, 1, HQ_OK, "A001"),
        WCMD(HQ_CMD_START, 11, 1, HQ_OK),
        WCMD(HQ_CMD_FINISH, 200, 1, HQ_OK),
        NEXT(210, 1, HQ_OK, "A002"),
        WCMD(HQ_CMD_PAUSE, 220, 4, HQ_OK),
        TICK(15 * 3600 - 1), /* 23:59:59: still the same day */
    };
    RUN("rollover day 1", &e, &r, base0, day1);
    CHECK_EQ_INT(e.day, day0);
    CHECK(!r.rollover);
    uint32_t handle = e.svc[SVC_A].handle_s;
    CHECK_EQ_INT(handle, 298); /* 189 s measured: 300 + (189 - 300) x 10 % x 1/5 */

    /* The next morning's first command rolls the day over. */
    CHECK_EQ_INT(one(&e, &r, local_at(day0 + 1, 8, 0), (struct step)ISSUE(0, SVC_A, HQ_OK, NULL)),
                 HQ_OK);
    CHECK(r.rollover);
    CHECK_EQ_INT(r.old_day, day0);
    CHECK_EQ_INT(e.day, day0 + 1);
    CHECK_EQ_INT(count_rec(&r, HQ_REC_EVENT, HQ_EV_ROLLOVER), 1);
    CHECK(r.n_rec == 2 && r.rec[0].event == HQ_EV_ROLLOVER && r.rec[0].aux == day0 &&
          r.rec[1].event == HQ_EV_ISSUE && r.rec[1].ticket == 0);
    CHECK_EQ_INT(count_rec(&r, HQ_REC_TICKET, HQ_EV_EXPIRE), 0);
    CHECK_EQ_INT(e.n_tickets, 1);
    char buf[16];
    CHECK_EQ_STR(hq_ticket_label(&e, &e.tickets[0], buf, sizeof buf), "A001");
    CHECK_EQ_INT(e.tickets[0].serial, 1);
    CHECK_EQ_INT(e.svc[SVC_A].issued, 1);
    CHECK_EQ_INT(e.svc[SVC_A].handled, 0);
    CHECK_EQ_INT(e.svc[SVC_A].handle_s, handle); /* the measured time stays */
    CHECK_EQ_INT(e.svc[SVC_B].issued, 0);
    CHECK_EQ_INT(e.svc[SVC_B].last_number, 0);
    CHECK_EQ_INT(e.win[0].state, HQ_WS_IDLE); /* was calling A002 */
    CHECK_EQ_INT(e.win[0].current, -1);
    CHECK_EQ_INT(e.win[0].staff, 1); /* still logged in */
    CHECK_EQ_INT(e.win[0].rating_ticket, -1);
    CHECK_EQ_INT(e.win[3].state, HQ_WS_PAUSED);
    CHECK_EQ_INT(e.win[2].state, HQ_WS_CLOSED);
    CHECK(r.dirty_windows[0] == 0x3f && r.dirty_services[0] == 0x1f);
    CHECK_EQ_INT(hq_engine_waiting(&e, SVC_A), 1);
    CHECK_EQ_INT(hq_engine_waiting(&e, SVC_B), 0);
    CHECK_EQ_INT(hq_engine_find_label(&e, "B001"), -1);

    /* A clock going back a day: no rollover back, numbering goes on. */
    CHECK_EQ_INT(one(&e, &r, local_at(day0, 22, 0), (struct step)ISSUE(0, SVC_A, HQ_OK, "A002")),
                 HQ_OK);
    CHECK(!r.rollover);
    CHECK_EQ_INT(e.day, day0 + 1);
    CHECK_EQ_INT(e.n_tickets, 2);

    /* The box was off for three days: one rollover, numbering from num_min. */
    CHECK_EQ_INT(one(&e, &r, local_at(day0 + 4, 9, 0), (struct step)ISSUE(0, SVC_A, HQ_OK, "A001")),
                 HQ_OK);
    CHECK(r.rollover);
    CHECK_EQ_INT(r.old_day, day0 + 1);
    CHECK_EQ_INT(count_rec(&r, HQ_REC_EVENT, HQ_EV_ROLLOVER), 1);
    CHECK_EQ_INT(e.day, day0 + 4);
    CHECK_EQ_INT(e.n_tickets, 1);
    CHECK_EQ_INT(e.tickets[0].serial, 1);

    /* A refused command after a rollover: refused, but the rollover stands. */
    CHECK_EQ_INT(one(&e, &r, local_at(day0 + 5, 9, 0), (struct step)NEXT(0, 1, HQ_ERR_EMPTY, "")),
                 HQ_ERR_EMPTY);
    CHECK(r.rollover);
    CHECK_EQ_INT(r.n_rec, 1);
    CHECK_EQ_INT(e.day, day0 + 5);
    CHECK_EQ_INT(e.n_tickets, 0);
    /* An unknown window changes nothing, not even the day. */
    CHECK_EQ_INT(one(&e, &r, local_at(day0 + 6, 9, 0), (struct step)NEXT(0, 99, 0, "")),
                 HQ_ERR_NOT_FOUND);
    CHECK(!r.rollover);
    CHECK_EQ_INT(e.day, day0 + 5);
    /* A tick at midnight rolls over too. */
    CHECK_EQ_INT(one(&e, &r, local_at(day0 + 6, 0, 0), (struct step)TICK(0)), HQ_OK);
    CHECK(r.rollover && r.old_day == day0 + 5 && e.day == day0 + 6);
    hq_engine_free(&e);
    hq_result_free(&r);
}

/* ------------------------------------------------- random runs and loading */

static uint32_t lcg_state;

static uint32_t lcg(uint32_t n)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return (lcg_state >> 8) % n;
}

static const char *const staff_ids[] = {"1001", "1002", "1003", "1004"};

static struct hq_cmd random_cmd(const struct hq_engine *e, int64_t now)
{
    struct step s = {.type = HQ_CMD_TICK};
    static const uint8_t kinds[] = {
        HQ_CMD_ISSUE,     HQ_CMD_ISSUE,     HQ_CMD_ISSUE,      HQ_CMD_ISSUE,     HQ_CMD_CALL_NEXT,
        HQ_CMD_CALL_NEXT, HQ_CMD_CALL_NEXT, HQ_CMD_FINISH,     HQ_CMD_FINISH,    HQ_CMD_START,
        HQ_CMD_RECALL,    HQ_CMD_NO_SHOW,   HQ_CMD_PARK,       HQ_CMD_CALL_BACK, HQ_CMD_TRANSFER,
        HQ_CMD_PAUSE,     HQ_CMD_RESUME,    HQ_CMD_CANCEL,     HQ_CMD_LOGIN,     HQ_CMD_LOGOUT,
        HQ_CMD_RATE,      HQ_CMD_TICK,      HQ_CMD_CALL_NUMBER};
    s.type = kinds[lcg(HQ_ARRAY_LEN(kinds))];
    s.win = (uint16_t)(1 + lcg(N_WIN));
    char label[16];
    switch (s.type) {
    case HQ_CMD_ISSUE:
        s.a = (int)lcg(N_SVC - 1); /* H keeps office hours */
        s.b = lcg(4) == 0 ? (int)lcg(HQ_PRIO__COUNT) : 0;
        s.c = lcg(2) ? (int)(1 + lcg(40)) : 0;
        s.birth = lcg(3) == 0 ? (int32_t)(19400101 + lcg(60) * 10000) : 0;
        break;
    case HQ_CMD_NO_SHOW:
        s.a = (int)lcg(3) - 1;
        break;
    case HQ_CMD_TRANSFER:
        s.a = (int)lcg(N_SVC) - 1;
        s.b = lcg(3) == 0 ? (int)(1 + lcg(N_WIN)) : 0;
        s.c = (int)lcg(2);
        break;
    case HQ_CMD_CANCEL:
        s.a = e->n_tickets ? (int)lcg((uint32_t)e->n_tickets) : 0;
        break;
    case HQ_CMD_LOGIN:
        s.s = staff_ids[lcg(N_STAFF)];
        break;
    case HQ_CMD_RATE:
        s.a = (int)lcg(6);
        s.b = (int)lcg(8);
        break;
    case HQ_CMD_CALL_NUMBER:
        snprintf(label, sizeof label, "%s%u", lcg(2) ? "A" : "", 1 + lcg(20));
        s.s = label;
        break;
    default:
        break;
    }
    return make_cmd(&s, now);
}

static bool same_result(const struct hq_result *a, const struct hq_result *b)
{
    return a->err == b->err && a->ticket == b->ticket && a->n_fx == b->n_fx &&
           a->n_rec == b->n_rec && a->n_dirty_tickets == b->n_dirty_tickets &&
           a->rollover == b->rollover && a->old_day == b->old_day &&
           (!a->n_fx || memcmp(a->fx, b->fx, a->n_fx * sizeof *a->fx) == 0) &&
           (!a->n_rec || memcmp(a->rec, b->rec, a->n_rec * sizeof *a->rec) == 0) &&
           (!a->n_dirty_tickets || memcmp(a->dirty_tickets, b->dirty_tickets,
                                          a->n_dirty_tickets * sizeof(int32_t)) == 0) &&
           memcmp(a->dirty_windows, b->dirty_windows, sizeof a->dirty_windows) == 0 &&
           memcmp(a->dirty_services, b->dirty_services, sizeof a->dirty_services) == 0;
}

static bool same_state(const struct hq_engine *a, const struct hq_engine *b)
{
    if (a->day != b->day || a->n_tickets != b->n_tickets) return false;
    if (a->n_tickets && memcmp(a->tickets, b->tickets, a->n_tickets * sizeof *a->tickets))
        return false;
    for (size_t w = 0; w < N_WIN; w++) {
        const struct hq_window_st *x = &a->win[w], *y = &b->win[w];
        if (x->state != y->state || x->staff != y->staff || x->current != y->current ||
            x->state_since != y->state_since || x->last_call_at != y->last_call_at ||
            x->rating_ticket != y->rating_ticket || x->rating_deadline != y->rating_deadline)
            return false;
    }
    for (size_t s = 0; s < N_SVC; s++) {
        const struct hq_service_st *x = &a->svc[s], *y = &b->svc[s];
        if (x->issued != y->issued || x->last_number != y->last_number ||
            x->overtakes != y->overtakes || x->handle_s != y->handle_s || x->handled != y->handled)
            return false;
    }
    for (size_t s = 0; s < N_SVC; s++)
        if (hq_engine_waiting(a, s) != hq_engine_waiting(b, s)) return false;
    return true;
}

static int copy_engine(const struct hq_engine *from, struct hq_engine *to)
{
    hq_engine_load_day(to, from->day);
    for (size_t i = 0; i < from->n_tickets; i++) {
        int rc = hq_engine_load_ticket(to, &from->tickets[i]);
        if (rc) return rc;
    }
    for (size_t w = 0; w < N_WIN; w++)
        hq_engine_load_window(to, w, &from->win[w]);
    for (size_t s = 0; s < N_SVC; s++)
        hq_engine_load_service(to, s, &from->svc[s]);
    return hq_engine_load_done(to);
}

static void test_random_and_load(void)
{
    struct hq_engine a, b;
    struct hq_result ra = {0}, rb = {0};
    fresh(&a, &cfg);
    lcg_state = 20240304;
    int64_t now = local_at(day0, 7, 0);
    size_t ok = 0, refused = 0;
    /* Day one: a busy morning. */
    for (int i = 0; i < 1500; i++) {
        now += lcg(40);
        struct hq_cmd c = random_cmd(&a, now);
        char where[48];
        snprintf(where, sizeof where, "random %d", i);
        if (apply(&a, &ra, &c, where) == HQ_OK)
            ok++;
        else
            refused++;
    }
    CHECK(ok > 300 && refused > 100);
    CHECK(a.n_tickets > 100);

    /* Rebuild a second engine from the rows, as the store does at start. */
    fresh(&b, &cfg);
    CHECK_EQ_INT(copy_engine(&a, &b), HQ_OK);
    CHECK(same_state(&a, &b));
    for (size_t s = 0; s < N_SVC; s++) {
        CHECK_EQ_INT(hq_engine_estimate_wait(&a, s), hq_engine_estimate_wait(&b, s));
        for (size_t t = 0; t < a.n_tickets; t += 7)
            CHECK_EQ_INT(hq_engine_ahead(&a, (int32_t)t), hq_engine_ahead(&b, (int32_t)t));
    }
    /* Both answer the next commands identically, across a rollover too. */
    size_t diverged = 0, same = 0;
    for (int i = 0; i < 1500; i++) {
        now += lcg(60);
        struct hq_cmd c = random_cmd(&a, now);
        hq_engine_apply(&a, &c, &ra);
        hq_engine_apply(&b, &c, &rb);
        if (same_result(&ra, &rb) && same_state(&a, &b))
            same++;
        else if (diverged++ == 0)
            fprintf(stderr, "loaded engine diverged at command %d (%s)\n", i, hq_cmd_name(c.type));
        if (i == 700) now = local_at(day0 + 1, 8, 0);
    }
    CHECK_EQ_INT(diverged, 0);
    CHECK_EQ_INT(same, 1500);
    CHECK(a.day == day0 + 1);

    /* Load refuses rows that do not fit together. */
    struct hq_window_st w = a.win[0];
    hq_engine_free(&b);
    fresh(&b, &cfg);
    hq_engine_load_day(&b, a.day);
    struct hq_ticket t = {.status = HQ_TS_WAITING, .service = SVC_A, .number = 1, .serial = 1};
    CHECK_EQ_INT(hq_engine_load_ticket(&b, &t), HQ_OK);
    w.state = HQ_WS_CALLING;
    w.staff = 1;
    w.rating_ticket = -1;
    w.current = 0; /* a waiting ticket as the current one */
    hq_engine_load_window(&b, 0, &w);
    CHECK_EQ_INT(hq_engine_load_done(&b), HQ_ERR_INVALID);
    t.status = HQ_TS_CALLED;
    t.window = 1;
    hq_engine_load_day(&b, a.day);
    hq_engine_load_ticket(&b, &t);
    hq_engine_load_window(&b, 0, &w);
    CHECK_EQ_INT(hq_engine_load_done(&b), HQ_OK);
    w.current = 5; /* out of range */
    hq_engine_load_window(&b, 0, &w);
    CHECK_EQ_INT(hq_engine_load_done(&b), HQ_ERR_INVALID);
    hq_engine_load_day(&b, a.day);
    hq_engine_load_ticket(&b, &t); /* called, but no window holds it */
    CHECK_EQ_INT(hq_engine_load_done(&b), HQ_ERR_INVALID);
    hq_engine_load_day(&b, a.day);
    t.status = HQ_TS_WAITING;
    t.service = N_SVC; /* unknown service */
    hq_engine_load_ticket(&b, &t);
    CHECK_EQ_INT(hq_engine_load_done(&b), HQ_ERR_INVALID);
    hq_engine_free(&a);
    hq_engine_free(&b);
    hq_result_free(&ra);
    hq_result_free(&rb);
}

/* The handling-time estimate on a scripted day (docs/DESIGN.md "Wait estimates"): the service
 * is configured at 300 s; its real services take 40..319 s (mean about 180 s); one call in ten
 * is "finished" 3..8 s after the call (nobody came), one in thirty is finished only after
 * 30..60 minutes (the clerk forgot). The estimate starts at 300, one instant finish leaves it
 * there, no finish moves it by more than 10 %, and from the 40th finish on it stays within
 * +-30 % of the real services' mean. Times come from a fixed LCG, so the day is the same on
 * every run. */
static uint32_t day_lcg_state = 12345;
static uint32_t day_lcg(uint32_t n)
{
    day_lcg_state = day_lcg_state * 1103515245u + 12345u;
    return (day_lcg_state >> 16) % n;
}

static void test_estimate_day(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    int64_t t = 0;
    CHECK_EQ_INT(one(&e, &r, base0, (struct step)LOGIN(t, 1, "1001", HQ_OK)), HQ_OK);

    /* the issue's morning: one call/start/finish in 10 s, then 9 people waiting */
    CHECK_EQ_INT(one(&e, &r, base0, (struct step)ISSUE(t, SVC_A, HQ_OK, NULL)), HQ_OK);
    CHECK_EQ_INT(one(&e, &r, base0, (struct step)NEXT(t + 1, 1, HQ_OK, NULL)), HQ_OK);
    CHECK_EQ_INT(one(&e, &r, base0, (struct step)WCMD(HQ_CMD_START, t + 2, 1, HQ_OK)), HQ_OK);
    CHECK_EQ_INT(one(&e, &r, base0, (struct step)WCMD(HQ_CMD_FINISH, t + 11, 1, HQ_OK)), HQ_OK);
    for (int i = 0; i < 9; i++)
        CHECK_EQ_INT(one(&e, &r, base0, (struct step)ISSUE(t + 12, SVC_A, HQ_OK, NULL)), HQ_OK);
    CHECK_EQ_INT(e.svc[SVC_A].handle_s, 0); /* nothing learnt: still the configured 300 */
    CHECK_EQ_INT(hq_engine_estimate_wait(&e, SVC_A), 9 * 300); /* 45 minutes, not "90 s" */
    t += 20;

    int64_t sum = 0, real = 0, worst_pct = 0, lo = INT32_MAX, hi = 0;
    uint32_t prev = 300;
    for (int i = 0; i < 120; i++) {
        if (hq_engine_waiting(&e, SVC_A) == 0)
            CHECK_EQ_INT(one(&e, &r, base0, (struct step)ISSUE(t, SVC_A, HQ_OK, NULL)), HQ_OK);
        CHECK_EQ_INT(one(&e, &r, base0, (struct step)NEXT(t, 1, HQ_OK, NULL)), HQ_OK);
        uint32_t kind = day_lcg(30), d;
        if (kind < 3) {
            d = 3 + day_lcg(6); /* nobody came: finished a few seconds after the call */
        } else if (kind == 3) {
            d = 1800 + day_lcg(1801); /* the clerk forgot to press finish */
        } else {
            d = 40 + day_lcg(94) + day_lcg(94) + day_lcg(94); /* a real service, 40..319 s */
            sum += d;
            real++;
        }
        CHECK_EQ_INT(one(&e, &r, base0, (struct step)WCMD(HQ_CMD_FINISH, t + d, 1, HQ_OK)), HQ_OK);
        t += d + 5;
        uint32_t h = e.svc[SVC_A].handle_s ? e.svc[SVC_A].handle_s : 300;
        int64_t step_pct = ((int64_t)h - prev) * 100 / prev;
        if (step_pct < 0) step_pct = -step_pct;
        if (step_pct > worst_pct) worst_pct = step_pct;
        prev = h;
        if (i >= 39) {
            if (h < lo) lo = h;
            if (h > hi) hi = h;
        }
    }
    CHECK(real > 80);
    int64_t mean = sum / real;
    fprintf(stderr, "estimate day: real mean %lld s, estimate from the 40th finish %lld..%lld s\n",
            (long long)mean, (long long)lo, (long long)hi);
    CHECK(worst_pct <= 10); /* never more than handle_max_step_pct on one finish */
    CHECK(lo * 100 >= mean * 70 && hi * 100 <= mean * 130);
    CHECK(e.day == day0); /* the whole script fits in one business day */
    hq_engine_free(&e);
    hq_result_free(&r);
}

static void test_bad_config(void)
{
    struct hq_engine e;
    struct hq_window_cfg w2[2];
    memcpy(w2, win_cfg, sizeof w2);
    w2[1].number = w2[0].number;
    struct hq_engine_cfg c2 = cfg;
    c2.windows = w2;
    c2.n_windows = 2;
    CHECK_EQ_INT(hq_engine_init(&e, &c2), HQ_ERR_CONFIG); /* two windows numbered 1 */
    w2[1].number = 2;
    w2[1].services[0] = N_SVC;
    CHECK_EQ_INT(hq_engine_init(&e, &c2), HQ_ERR_CONFIG); /* unknown service */
    w2[1].services[0] = SVC_A;
    CHECK_EQ_INT(hq_engine_init(&e, &c2), HQ_OK);
    struct hq_result r = {0};
    struct hq_cmd c = {.type = HQ_CMD__COUNT, .now = base0};
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_ERR_INVALID);
    struct step s = ISSUE(0, SVC_A, 0, NULL);
    s.b = HQ_PRIO__COUNT;
    c = make_cmd(&s, base0);
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_ERR_INVALID);
    hq_engine_free(&e);
    hq_result_free(&r);
}

/* Issue 14: each refusal names its own reason (res.why), in both languages. */
static void test_refusal_reasons(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    fresh(&e, &cfg);
    static const struct {
        struct step s;
        uint8_t why;
    } steps[] = {
        {NEXT(0, 4, HQ_ERR_STATE, ""), HQ_WHY_NOT_LOGGED_IN},
        {LOGIN(0, 4, "9999", HQ_ERR_NOT_FOUND), HQ_WHY_NO_STAFF},
        {LOGIN(0, 4, "1004", HQ_OK), HQ_WHY_NONE},
        {NEXT(1, 4, HQ_ERR_EMPTY, ""), HQ_WHY_NOBODY_WAITING},
        {WCMD(HQ_CMD_RECALL, 1, 4, HQ_ERR_STATE), HQ_WHY_NOT_CALLED},
        {WCMD(HQ_CMD_FINISH, 1, 4, HQ_ERR_STATE), HQ_WHY_NO_CURRENT},
        {WCMD(HQ_CMD_RESUME, 1, 4, HQ_ERR_STATE), HQ_WHY_NOT_PAUSED},
        {WCMD(HQ_CMD_CALL_BACK, 1, 4, HQ_ERR_EMPTY), HQ_WHY_NOTHING_PARKED},
        {RATE(1, 4, 5, HQ_ERR_STATE), HQ_WHY_NO_RATING},
        {ISSUE(2, SVC_A, HQ_OK, "A001"), HQ_WHY_NONE},
        {NEXT(3, 4, HQ_OK, "A001"), HQ_WHY_NONE},
        {WCMD(HQ_CMD_PAUSE, 4, 4, HQ_ERR_STATE), HQ_WHY_WINDOW_BUSY},
        {WCMD(HQ_CMD_LOGOUT, 4, 4, HQ_ERR_STATE), HQ_WHY_WINDOW_BUSY},
        {CANCEL(4, 0, HQ_ERR_STATE), HQ_WHY_TICKET_CLOSED},
        {WCMD(HQ_CMD_FINISH, 5, 4, HQ_OK), HQ_WHY_NONE},
        {RATE(6, 4, 5, HQ_OK), HQ_WHY_NONE},
        {RATE(7, 4, 4, HQ_ERR_STATE), HQ_WHY_RATED},
        {WCMD(HQ_CMD_PAUSE, 8, 4, HQ_OK), HQ_WHY_NONE},
        {NEXT(9, 4, HQ_ERR_STATE, ""), HQ_WHY_PAUSED},
        {WCMD(HQ_CMD_PAUSE, 9, 4, HQ_ERR_STATE), HQ_WHY_PAUSED},
        {NEXT(9, 99, HQ_ERR_NOT_FOUND, ""), HQ_WHY_NO_WINDOW},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(steps); i++) {
        run_steps("reasons", &e, &r, base0, &steps[i].s, 1);
        if (r.why != steps[i].why) fprintf(stderr, "reasons step %zu: why %d\n", i, r.why);
        CHECK_EQ_INT(r.why, steps[i].why);
        if (steps[i].why) {
            CHECK(*hq_why_code(r.why) && *hq_why_zh(r.why) && *hq_why_en(r.why));
            /* the Chinese text is Chinese: its first byte is not ASCII */
            CHECK((unsigned char)hq_why_zh(r.why)[0] >= 0x80);
        }
    }
    CHECK_EQ_STR(hq_why_zh(HQ_WHY_RATED), "已评价");
    CHECK_EQ_STR(hq_why_zh(HQ_WHY_NOBODY_WAITING), "当前无人等候");
    CHECK_EQ_STR(hq_why_code(HQ_WHY__COUNT), "");
    hq_engine_free(&e);
    hq_result_free(&r);
}

/* Issue 17: the QR page rates its own ticket (by_ticket): finished, at its
 * window, within qr_open_s, once; it closes the pad's invitation for it. */
static struct hq_cmd qr_rate(int64_t t, uint16_t win, int32_t ticket, uint8_t level)
{
    struct hq_cmd c;
    memset(&c, 0, sizeof c);
    c.type = HQ_CMD_RATE;
    c.now = base0 + t;
    c.window = win;
    c.u.rate.level = level;
    c.u.rate.channel = HQ_CHAN_QR;
    c.u.rate.by_ticket = true;
    c.u.rate.ticket = ticket;
    make_uuid(c.u.rate.uuid);
    return c;
}

static void test_qr_rating(void)
{
    struct hq_engine e;
    struct hq_result r = {0};
    uint32_t keep = cfg.qr_open_s;
    cfg.qr_open_s = 3600;
    fresh(&e, &cfg);
    static const struct step setup[] = {
        LOGIN(0, 4, "1004", HQ_OK),
        ISSUE(1, SVC_A, HQ_OK, "A001"),
        ISSUE(2, SVC_A, HQ_OK, "A002"),
        NEXT(3, 4, HQ_OK, "A001"),
    };
    RUN("qr setup", &e, &r, base0, setup);
    int wi = hq_engine_window_index(&e, 4);
    struct hq_cmd c = qr_rate(4, 4, 0, 5);
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_ERR_STATE); /* being served: not yet */
    CHECK_EQ_INT(r.why, HQ_WHY_NO_RATING);
    static const struct step fin[] = {WCMD(HQ_CMD_FINISH, 5, 4, HQ_OK)};
    RUN("qr finish", &e, &r, base0, fin);
    CHECK_EQ_INT(e.win[wi].rating_ticket, 0); /* the pad is invited */
    c = qr_rate(6, 3, 0, 5);
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_ERR_STATE); /* another window's ticket */
    c = qr_rate(6, 4, 99, 5);
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_ERR_NOT_FOUND);
    c = qr_rate(6, 4, 0, 2);
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_OK);
    CHECK(e.tickets[0].flags & HQ_TF_RATED);
    CHECK_EQ_INT(e.win[wi].rating_ticket, -1); /* the pad's invitation ends */
    bool closed = false;
    for (size_t i = 0; i < r.n_fx; i++)
        closed |= r.fx[i].type == HQ_FX_RATE_CLOSED;
    CHECK(closed);
    CHECK_EQ_INT(r.n_rec >= 1 && r.rec[0].type == HQ_REC_EVALUATION, 1);
    CHECK_EQ_INT(r.rec[0].channel, HQ_CHAN_QR);
    /* a second rating, from the pad or the page: 已评价 */
    static const struct step again[] = {RATE(7, 4, 5, HQ_ERR_STATE)};
    RUN("qr pad again", &e, &r, base0, again);
    CHECK_EQ_INT(r.why, HQ_WHY_RATED);
    c = qr_rate(7, 4, 0, 5);
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_ERR_STATE);
    CHECK_EQ_INT(r.why, HQ_WHY_RATED);
    /* open for qr_open_s after the finish, not a second longer */
    static const struct step second[] = {NEXT(8, 4, HQ_OK, "A002"),
                                         WCMD(HQ_CMD_FINISH, 9, 4, HQ_OK)};
    RUN("qr second", &e, &r, base0, second);
    c = qr_rate(9 + 3601, 4, 1, 4);
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_ERR_STATE);
    CHECK_EQ_INT(r.why, HQ_WHY_NO_RATING);
    CHECK(!(e.tickets[1].flags & HQ_TF_RATED));
    c = qr_rate(9 + 3600, 4, 1, 4);
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r), HQ_OK);
    hq_engine_free(&e);
    hq_result_free(&r);
    cfg.qr_open_s = keep;
}

int main(void)
{
    setup_cfg();
    test_names_and_dates();
    test_lookups();
    test_hours();
    test_issue_rules();
    test_number_range();
    test_reregister();
    test_assist();
    test_ranking();
    test_anti_starvation();
    test_elderly();
    test_services_in_order();
    test_transfer();
    test_call_number();
    test_recall_and_no_show();
    test_park();
    test_pause_login();
    test_pause_reasons();
    test_help_call();
    test_finish_and_rating();
    test_rollover();
    test_random_and_load();
    test_estimate_day();
    test_bad_config();
    test_refusal_reasons();
    test_qr_rating();
    return check_report("test_engine");
}
