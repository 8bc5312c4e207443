/*
 * test_engine_admin.c — the engine's run-time changes of the hall (issue 16): open and close
 * a window, its services, today's hours, the daily quota, a service closed early, and the
 * re-route that keeps anyone holding a number from being stranded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine.h"

enum { SVC_A = 0, SVC_B, N_SVC };

static struct hq_service_cfg svc[N_SVC];
static struct hq_window_cfg win[4]; /* 2 configured, room for 2 temporary */
static struct hq_staff_cfg staff[2] = {{"1001", "王芳", "clerk"}, {"1002", "李明", "clerk"}};
static struct hq_engine_cfg cfg;
static struct hq_engine e;
static struct hq_result r;
static int32_t day0;
static int64_t now0; /* 09:00 local */

static void setup(void)
{
    memset(svc, 0, sizeof svc);
    memset(win, 0, sizeof win);
    const char *codes[N_SVC] = {"A", "B"};
    for (int i = 0; i < N_SVC; i++) {
        snprintf(svc[i].code, sizeof svc[i].code, "%s", codes[i]);
        snprintf(svc[i].prefix, sizeof svc[i].prefix, "%s", codes[i]);
        snprintf(svc[i].name, sizeof svc[i].name, "业务%s", codes[i]);
        svc[i].num_min = 1;
        svc[i].num_max = 999;
        svc[i].digits = 3;
        svc[i].default_handle_s = 300;
        for (int d = 0; d < 7; d++) {
            svc[i].week[d].n = 1;
            svc[i].week[d].iv[0] = (struct hq_interval){480, 1020}; /* 08:00-17:00 */
        }
    }
    win[0].number = 1;
    win[0].services[0] = SVC_A;
    win[0].n_services = 1;
    win[1].number = 2;
    win[1].services[0] = SVC_B;
    win[1].n_services = 1;
    memset(&cfg, 0, sizeof cfg);
    cfg.utc_offset_s = 28800;
    cfg.services = svc;
    cfg.n_services = N_SVC;
    cfg.windows = win;
    cfg.n_windows = 2;
    cfg.max_windows = 4;
    cfg.staff = staff;
    cfg.n_staff = 2;
    cfg.recall_limit = 2;
    cfg.rating_timeout_s = 30;
    day0 = hq_days_from_ymd(2024, 3, 4);
    now0 = (int64_t)day0 * 86400 - 28800 + 9 * 3600;
    CHECK_EQ_INT(hq_engine_init(&e, &cfg), HQ_OK);
    e.rw = &cfg;
}

static int run(struct hq_cmd *c)
{
    if (!c->now) c->now = now0;
    return hq_engine_apply(&e, c, &r);
}

static int issue(uint8_t s)
{
    struct hq_cmd c = {.type = HQ_CMD_ISSUE, .u.issue.service = s};
    c.u.issue.uuid[0] = (uint8_t)(e.n_tickets + 1);
    return run(&c);
}

static bool has_event(uint8_t ev)
{
    for (size_t i = 0; i < r.n_rec; i++)
        if (r.rec[i].event == ev) return true;
    return false;
}

static void test_needs_rw(void)
{
    setup();
    e.rw = NULL;
    struct hq_cmd c = {.type = HQ_CMD_SERVICE_QUOTA, .u.admin = {.service = SVC_A, .quota = 1}};
    CHECK_EQ_INT(run(&c), HQ_ERR_STATE);
    CHECK_EQ_INT(svc[SVC_A].daily_quota, 0);
    hq_engine_free(&e);
}

static void test_open_window(void)
{
    setup();
    struct hq_cmd c = {.type = HQ_CMD_WINDOW_OPEN,
                       .window = 9,
                       .u.admin = {.n_services = 2, .services = {SVC_B, SVC_A}}};
    CHECK_EQ_INT(run(&c), HQ_OK);
    CHECK_EQ_INT(cfg.n_windows, 3);
    CHECK(win[2].temporary);
    CHECK_EQ_STR(win[2].name, "9号窗口");
    CHECK_EQ_STR(win[2].name_en, "Window 9");
    CHECK_EQ_INT(hq_engine_window_index(&e, 9), 2);
    CHECK_EQ_INT(hq_engine_window_index(&e, 2), 1);
    CHECK(has_event(HQ_EV_WINDOW_OPEN));
    CHECK(r.dirty_windows[0] & (1u << 2));
    /* open again: refused, nothing changed */
    CHECK_EQ_INT(run(&c), HQ_ERR_STATE);
    CHECK_EQ_INT(r.why, HQ_WHY_WINDOW_OPEN);
    /* a clerk signs in and calls there: the new window serves B first */
    CHECK_EQ_INT(issue(SVC_A), HQ_OK);
    CHECK_EQ_INT(issue(SVC_B), HQ_OK);
    struct hq_cmd in = {.type = HQ_CMD_LOGIN, .window = 9, .u.login.staff_id = "1001"};
    CHECK_EQ_INT(run(&in), HQ_OK);
    struct hq_cmd call = {.type = HQ_CMD_CALL_NEXT, .window = 9};
    CHECK_EQ_INT(run(&call), HQ_OK);
    CHECK_EQ_INT(e.tickets[r.ticket].service, SVC_B);
    /* bad services: unknown, repeated, none */
    struct hq_cmd bad = {
        .type = HQ_CMD_WINDOW_OPEN, .window = 10, .u.admin = {.n_services = 1, .services = {7}}};
    CHECK_EQ_INT(run(&bad), HQ_ERR_NOT_FOUND);
    bad.u.admin.n_services = 2;
    bad.u.admin.services[0] = bad.u.admin.services[1] = SVC_A;
    CHECK_EQ_INT(run(&bad), HQ_ERR_INVALID);
    bad.u.admin.n_services = 0;
    CHECK_EQ_INT(run(&bad), HQ_ERR_INVALID);
    bad.window = 0;
    bad.u.admin.n_services = 1;
    CHECK_EQ_INT(run(&bad), HQ_ERR_INVALID);
    CHECK_EQ_INT(cfg.n_windows, 3);
    /* room for one more, then no room */
    struct hq_cmd c2 = {.type = HQ_CMD_WINDOW_OPEN,
                        .window = 10,
                        .u.admin = {.n_services = 1, .services = {SVC_A}, .name = "临时窗口"}};
    CHECK_EQ_INT(run(&c2), HQ_OK);
    CHECK_EQ_STR(win[3].name, "临时窗口");
    c2.window = 11;
    CHECK_EQ_INT(run(&c2), HQ_ERR_LIMIT);
    CHECK_EQ_INT(r.why, HQ_WHY_NO_ROOM);
    hq_engine_free(&e);
}

static void test_close_window(void)
{
    setup();
    CHECK_EQ_INT(issue(SVC_A), HQ_OK); /* only window 1 serves A */
    struct hq_cmd c = {.type = HQ_CMD_WINDOW_CLOSE, .window = 1};
    CHECK_EQ_INT(run(&c), HQ_ERR_STATE);
    CHECK_EQ_INT(r.why, HQ_WHY_PEOPLE_WAITING);
    CHECK(!win[0].closed);
    c.u.admin.reroute_to = 2; /* window 2 serves B only */
    CHECK_EQ_INT(run(&c), HQ_ERR_STATE);
    CHECK_EQ_INT(r.why, HQ_WHY_REROUTE_NOT_SERVING);
    c.u.admin.reroute_to = 77;
    CHECK_EQ_INT(run(&c), HQ_ERR_NOT_FOUND);
    CHECK_EQ_INT(r.why, HQ_WHY_NO_WINDOW);
    /* window 2 takes A too, then the close goes through and the holder is told */
    struct hq_cmd ws = {.type = HQ_CMD_WINDOW_SERVICES,
                        .window = 2,
                        .u.admin = {.n_services = 2, .services = {SVC_B, SVC_A}}};
    CHECK_EQ_INT(run(&ws), HQ_OK);
    CHECK_EQ_INT(win[1].n_services, 2);
    CHECK(has_event(HQ_EV_WINDOW_SERVICES));
    /* now window 2 also serves A: nobody is stranded, no reroute needed */
    struct hq_cmd plain = {.type = HQ_CMD_WINDOW_CLOSE, .window = 1};
    struct hq_cmd in = {.type = HQ_CMD_LOGIN, .window = 1, .u.login.staff_id = "1001"};
    CHECK_EQ_INT(run(&in), HQ_OK);
    CHECK_EQ_INT(run(&plain), HQ_OK);
    CHECK(win[0].closed);
    CHECK(has_event(HQ_EV_LOGOUT));
    CHECK_EQ_INT(e.win[0].state, HQ_WS_CLOSED);
    /* a closed window takes no sign-in, and is not counted as open */
    CHECK_EQ_INT(run(&in), HQ_ERR_STATE);
    CHECK_EQ_INT(r.why, HQ_WHY_WINDOW_CLOSED);
    CHECK_EQ_INT(run(&plain), HQ_ERR_STATE);
    /* nobody is transferred to a closed window */
    CHECK_EQ_INT(issue(SVC_B), HQ_OK);
    struct hq_cmd in2 = {.type = HQ_CMD_LOGIN, .window = 2, .u.login.staff_id = "1002"};
    CHECK_EQ_INT(run(&in2), HQ_OK);
    struct hq_cmd call2 = {.type = HQ_CMD_CALL_NEXT, .window = 2};
    CHECK_EQ_INT(run(&call2), HQ_OK);
    struct hq_cmd tr = {
        .type = HQ_CMD_TRANSFER, .window = 2, .u.transfer = {.service = -1, .to_window = 1}};
    CHECK_EQ_INT(run(&tr), HQ_ERR_STATE);
    CHECK_EQ_INT(r.why, HQ_WHY_WINDOW_CLOSED);
    /* re-open it */
    struct hq_cmd op = {
        .type = HQ_CMD_WINDOW_OPEN, .window = 1, .u.admin = {.n_services = 1, .services = {SVC_A}}};
    CHECK_EQ_INT(run(&op), HQ_OK);
    CHECK(!win[0].closed);
    CHECK(!win[0].temporary);
    CHECK_EQ_INT(cfg.n_windows, 2);
    hq_engine_free(&e);
}

static void test_close_reroutes(void)
{
    setup();
    /* a ticket transferred to window 1 only, and one parked there */
    CHECK_EQ_INT(issue(SVC_A), HQ_OK);
    CHECK_EQ_INT(issue(SVC_A), HQ_OK);
    struct hq_cmd in = {.type = HQ_CMD_LOGIN, .window = 1, .u.login.staff_id = "1001"};
    CHECK_EQ_INT(run(&in), HQ_OK);
    struct hq_cmd call = {.type = HQ_CMD_CALL_NEXT, .window = 1};
    CHECK_EQ_INT(run(&call), HQ_OK);
    int32_t first = r.ticket;
    struct hq_cmd close = {.type = HQ_CMD_WINDOW_CLOSE, .window = 1, .u.admin.reroute_to = 3};
    CHECK_EQ_INT(run(&close), HQ_ERR_STATE); /* a citizen is at the window */
    CHECK_EQ_INT(r.why, HQ_WHY_WINDOW_BUSY);
    struct hq_cmd park = {.type = HQ_CMD_PARK, .window = 1};
    CHECK_EQ_INT(run(&park), HQ_OK);
    /* window 3 opened for A; closing window 1 sends both tickets there */
    struct hq_cmd op = {
        .type = HQ_CMD_WINDOW_OPEN, .window = 3, .u.admin = {.n_services = 1, .services = {SVC_A}}};
    CHECK_EQ_INT(run(&op), HQ_OK);
    close.u.admin.reroute_to = 0;
    CHECK_EQ_INT(run(&close), HQ_ERR_STATE); /* the parked one is still stranded */
    CHECK_EQ_INT(r.why, HQ_WHY_PEOPLE_WAITING);
    close.u.admin.reroute_to = 3;
    CHECK_EQ_INT(run(&close), HQ_OK);
    size_t reroutes = 0;
    for (size_t i = 0; i < r.n_rec; i++)
        if (r.rec[i].event == HQ_EV_REROUTE) {
            reroutes++;
            CHECK_EQ_INT(r.rec[i].window, 3);
        }
    CHECK_EQ_INT(reroutes, 1); /* the parked one; the waiting A ticket is window 3's anyway */
    CHECK_EQ_INT(e.tickets[first].window, 3);
    struct hq_cmd in3 = {.type = HQ_CMD_LOGIN, .window = 3, .u.login.staff_id = "1002"};
    CHECK_EQ_INT(run(&in3), HQ_OK);
    struct hq_cmd back = {.type = HQ_CMD_CALL_BACK, .window = 3};
    CHECK_EQ_INT(run(&back), HQ_OK);
    CHECK_EQ_INT(r.ticket, first);
    hq_engine_free(&e);
}

static void test_service_hours_quota(void)
{
    setup();
    /* 18:00: closed by the week's hours; extended to 19:00 today, it takes tickets */
    int64_t late = now0 + 9 * 3600;
    struct hq_cmd is = {.type = HQ_CMD_ISSUE, .now = late, .u.issue.service = SVC_A};
    CHECK_EQ_INT(run(&is), HQ_ERR_CLOSED);
    struct hq_cmd h = {.type = HQ_CMD_SERVICE_HOURS,
                       .now = late,
                       .u.admin = {.service = SVC_A, .open_min = 480, .close_min = 1140}};
    CHECK_EQ_INT(run(&h), HQ_OK);
    CHECK(has_event(HQ_EV_SERVICE_HOURS));
    CHECK_EQ_INT(r.rec[0].service, SVC_A);
    CHECK(hq_engine_service_open(&e, SVC_A, late));
    CHECK(!hq_engine_service_open(&e, SVC_B, late));
    CHECK_EQ_INT(run(&is), HQ_OK);
    /* only today: tomorrow at 18:00 the week's hours hold again */
    CHECK(!hq_engine_service_open(&e, SVC_A, late + 86400));
    /* 0-0: back to the file's hours */
    struct hq_cmd clr = {.type = HQ_CMD_SERVICE_HOURS, .now = late, .u.admin.service = SVC_A};
    CHECK_EQ_INT(run(&clr), HQ_OK);
    CHECK(!hq_engine_service_open(&e, SVC_A, late));
    CHECK(hq_engine_service_open(&e, SVC_A, now0));
    /* bad hours */
    h.u.admin.open_min = 600;
    h.u.admin.close_min = 600;
    CHECK_EQ_INT(run(&h), HQ_ERR_INVALID);
    h.u.admin.close_min = 1441;
    CHECK_EQ_INT(run(&h), HQ_ERR_INVALID);
    h.u.admin.service = 9;
    CHECK_EQ_INT(run(&h), HQ_ERR_NOT_FOUND);
    /* quota: 2 tickets of B, then refused */
    struct hq_cmd q = {.type = HQ_CMD_SERVICE_QUOTA, .u.admin = {.service = SVC_B, .quota = 2}};
    CHECK_EQ_INT(run(&q), HQ_OK);
    CHECK_EQ_INT(svc[SVC_B].daily_quota, 2);
    CHECK_EQ_INT(issue(SVC_B), HQ_OK);
    CHECK_EQ_INT(issue(SVC_B), HQ_OK);
    CHECK_EQ_INT(issue(SVC_B), HQ_ERR_QUOTA);
    q.u.admin.quota = 100001;
    CHECK_EQ_INT(run(&q), HQ_ERR_INVALID);
    CHECK_EQ_INT(svc[SVC_B].daily_quota, 2);
    hq_engine_free(&e);
}

static void test_service_close(void)
{
    setup();
    CHECK_EQ_INT(issue(SVC_B), HQ_OK);
    CHECK_EQ_INT(issue(SVC_B), HQ_OK);
    struct hq_cmd c = {.type = HQ_CMD_SERVICE_CLOSE, .u.admin = {.service = SVC_B}};
    CHECK_EQ_INT(run(&c), HQ_ERR_STATE);
    CHECK_EQ_INT(r.why, HQ_WHY_PEOPLE_WAITING);
    CHECK(hq_engine_service_open(&e, SVC_B, now0));
    c.u.admin.reroute_to = 1; /* window 1 serves A only */
    CHECK_EQ_INT(run(&c), HQ_ERR_STATE);
    CHECK_EQ_INT(r.why, HQ_WHY_REROUTE_NOT_SERVING);
    c.u.admin.reroute_to = 2;
    CHECK_EQ_INT(run(&c), HQ_OK);
    size_t told = 0;
    for (size_t i = 0; i < r.n_rec; i++)
        told += r.rec[i].event == HQ_EV_REROUTE;
    CHECK_EQ_INT(told, 2);
    CHECK(!hq_engine_service_open(&e, SVC_B, now0));
    CHECK_EQ_INT(issue(SVC_B), HQ_ERR_CLOSED);
    CHECK_EQ_INT(e.tickets[0].target_window, 2);
    CHECK_EQ_INT(e.tickets[1].target_window, 2);
    /* they are still called, at window 2 */
    struct hq_cmd in = {.type = HQ_CMD_LOGIN, .window = 2, .u.login.staff_id = "1001"};
    CHECK_EQ_INT(run(&in), HQ_OK);
    struct hq_cmd call = {.type = HQ_CMD_CALL_NEXT, .window = 2};
    CHECK_EQ_INT(run(&call), HQ_OK);
    CHECK_EQ_INT(r.ticket, 0);
    /* closing a service nobody waits for needs no reroute */
    struct hq_cmd ca = {.type = HQ_CMD_SERVICE_CLOSE, .u.admin = {.service = SVC_A}};
    CHECK_EQ_INT(run(&ca), HQ_OK);
    hq_engine_free(&e);
}

static void test_names(void)
{
    CHECK_EQ_STR(hq_cmd_name(HQ_CMD_WINDOW_OPEN), "window_open");
    CHECK_EQ_STR(hq_cmd_name(HQ_CMD_SERVICE_CLOSE), "service_close");
    CHECK_EQ_STR(hq_event_name(HQ_EV_REROUTE), "reroute");
    CHECK_EQ_STR(hq_why_code(HQ_WHY_PEOPLE_WAITING), "people_waiting");
    for (int w = 1; w < HQ_WHY__COUNT; w++) {
        CHECK(hq_why_code(w)[0] != 0);
        CHECK(hq_why_zh(w)[0] != 0);
        CHECK(hq_why_en(w)[0] != 0);
    }
}

int main(void)
{
    test_needs_rw();
    test_open_window();
    test_close_window();
    test_close_reroutes();
    test_service_hours_quota();
    test_service_close();
    test_names();
    hq_result_free(&r);
    return check_report("test_engine_admin");
}
