/*
 * test_admin.c — the manager dashboard's pure rules (firmware/admin_rules.c):
 * Erlang C and the staffing hint against values computed independently, the
 * alarm rules on a real engine, the follow-up state machine, note checks,
 * CSV quoting, day parsing and the waiting-time buckets.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "admin_rules.h"
#include "check.h"

/* ------------------------------------------------------------ Erlang C */

/* Expected values computed at test-writing time in Python 3 with exact
 * fractions and the textbook closed form (not the recurrence the code uses):
 *   C(c,a) = (a^c/c! · c/(c−a)) / (Σ_{k<c} a^k/k! + a^c/c! · c/(c−a)),
 *   Wq = C(c,a) / (c·μ − λ) · 3600 s, a = λ/μ;
 * e.g. λ = 10/h, μ = 4/h, c = 3: C = 0.702247191011, Wq = 1264.044943820 s.
 * The small cases also match the published Erlang C tables. */
static const struct {
    unsigned c;
    double lambda_h, mu_h;
    double erlang_c, wait_s;
} erlang_cases[] = {
    {3, 10, 4, 0.702247191011, 1264.044943820},
    {4, 10, 4, 0.319856704197, 191.914022518},
    {5, 10, 4, 0.130371297455, 46.933667084},
    {1, 2, 4, 0.500000000000, 900.000000000}, /* M/M/1: C = ρ, Wq = ρ/(μ−λ) */
    {2, 10, 6, 0.757575757576, 1363.636363636},
    {10, 80, 10, 0.409180150796, 73.652427143},
    {30, 250, 10, 0.249893166887, 17.992308016},
    {50, 400, 9, 0.317910630290, 22.889565381},
};

/* The fewest windows with Wq <= target, from the same Python closed form. */
static const struct {
    double lambda_h, handle_s, target_s;
    unsigned windows;
} staffing_cases[] = {
    {10, 900, 300, 4}, {10, 900, 60, 5},   {30, 600, 120, 7},
    {0.5, 300, 1, 2},  {100, 300, 60, 11}, {60, 1200, 1800, 21},
};

static bool near(double got, double want)
{
    return fabs(got - want) <= 1e-9 * (fabs(want) > 1 ? fabs(want) : 1);
}

static void test_erlang(void)
{
    for (size_t i = 0; i < HQ_ARRAY_LEN(erlang_cases); i++) {
        double a = erlang_cases[i].lambda_h / erlang_cases[i].mu_h;
        double c = admin_erlang_c(erlang_cases[i].c, a);
        double w = admin_erlang_wait_s(erlang_cases[i].c, erlang_cases[i].lambda_h,
                                       3600.0 / erlang_cases[i].mu_h);
        if (!near(c, erlang_cases[i].erlang_c) || !near(w, erlang_cases[i].wait_s))
            fprintf(stderr, "case %zu: C %.12f want %.12f, Wq %.9f want %.9f\n", i, c,
                    erlang_cases[i].erlang_c, w, erlang_cases[i].wait_s);
        CHECK(near(c, erlang_cases[i].erlang_c));
        CHECK(near(w, erlang_cases[i].wait_s));
    }
    /* more load than windows: everybody waits, the queue grows for ever */
    CHECK(admin_erlang_c(2, 2.0) == 1.0);
    CHECK(admin_erlang_c(2, 3.5) == 1.0);
    CHECK(admin_erlang_wait_s(2, 10, 720) == -1.0); /* a = 2 */
    CHECK(admin_erlang_wait_s(0, 1, 300) == -1.0);
    /* nobody arrives: nobody waits */
    CHECK(admin_erlang_c(3, 0) == 0.0);
    CHECK(admin_erlang_wait_s(3, 0, 300) == 0.0);
    /* more windows never make the wait longer */
    double prev = admin_erlang_wait_s(4, 30, 400);
    for (unsigned c = 5; c < 20; c++) {
        double w = admin_erlang_wait_s(c, 30, 400);
        CHECK(w >= 0 && w <= prev);
        prev = w;
    }
    /* a large hall does not overflow (a^c/c! would at c = 200) */
    double big = admin_erlang_c(200, 190);
    CHECK(big > 0 && big < 1);

    for (size_t i = 0; i < HQ_ARRAY_LEN(staffing_cases); i++)
        CHECK_EQ_INT(admin_staffing(staffing_cases[i].lambda_h, staffing_cases[i].handle_s,
                                    staffing_cases[i].target_s, 99),
                     staffing_cases[i].windows);
    CHECK_EQ_INT(admin_staffing(0, 300, 600, 99), 0);
    CHECK_EQ_INT(admin_staffing(1000, 3600, 60, 99), 100); /* not even 99 windows do */
}

/* --------------------------------------------------------------- alarms */

static struct hq_service_cfg svc[2];
static struct hq_window_cfg win[3];
static struct hq_staff_cfg staff[2] = {{"1001", "王芳", "clerk"}, {"1002", "李娜", "clerk"}};
static struct hq_engine_cfg cfg;

static void setup(void)
{
    for (int i = 0; i < 2; i++) {
        memset(&svc[i], 0, sizeof svc[i]);
        snprintf(svc[i].code, sizeof svc[i].code, "%c", 'A' + i);
        snprintf(svc[i].prefix, sizeof svc[i].prefix, "%c", 'A' + i);
        snprintf(svc[i].name, sizeof svc[i].name, "%s", i ? "不动产登记" : "社保业务");
        snprintf(svc[i].name_en, sizeof svc[i].name_en, "%s",
                 i ? "Real estate" : "Social insurance");
        svc[i].num_min = 1;
        svc[i].num_max = 999;
        svc[i].digits = 3;
        svc[i].default_handle_s = 600;
        for (int d = 0; d < 7; d++) {
            svc[i].week[d].n = 1;
            svc[i].week[d].iv[0] = (struct hq_interval){0, 1440};
        }
    }
    for (int i = 0; i < 3; i++) {
        memset(&win[i], 0, sizeof win[i]);
        win[i].number = (uint16_t)(i + 1);
        snprintf(win[i].name, sizeof win[i].name, "%d号窗口", i + 1);
        snprintf(win[i].name_en, sizeof win[i].name_en, "Window %d", i + 1);
        win[i].services[0] = i == 2 ? 1 : 0; /* windows 1, 2: A; window 3: B */
        win[i].n_services = 1;
    }
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.hall_id, sizeof cfg.hall_id, "t");
    cfg.utc_offset_s = 28800;
    cfg.services = svc;
    cfg.n_services = 2;
    cfg.windows = win;
    cfg.n_windows = 3;
    cfg.staff = staff;
    cfg.n_staff = 2;
    cfg.max_overtakes = 5;
    cfg.recall_limit = 2;
    cfg.rating_timeout_s = 30;
    cfg.handle_alpha_pct = 20;
}

static int apply(struct hq_engine *e, struct hq_result *r, struct hq_cmd cmd)
{
    static uint8_t seq;
    if (cmd.type == HQ_CMD_ISSUE) cmd.u.issue.uuid[0] = ++seq;
    return hq_engine_apply(e, &cmd, r);
}

static const struct admin_alarm *find_alarm(const struct admin_alarm *a, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].key, key) == 0) return &a[i];
    return NULL;
}

static void test_queue_alarms(void)
{
    setup();
    struct hq_engine e;
    struct hq_result r = {0};
    CHECK_EQ_INT(hq_engine_init(&e, &cfg), HQ_OK);
    int64_t t0 = (int64_t)hq_days_from_ymd(2026, 3, 2) * 86400 - 28800 + 9 * 3600;
    struct admin_alarm al[16];

    /* three waiting for A, nobody logged in: no estimate, the oldest waits */
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_ISSUE, .now = t0}), HQ_OK);
    CHECK_EQ_INT(admin_oldest_wait(&e, 0, t0 + 10), 10);
    CHECK_EQ_INT(admin_oldest_wait(&e, 1, t0 + 10), -1);
    CHECK_EQ_INT(admin_open_windows(&e, 0), 0);
    CHECK_EQ_INT(admin_alarms_queue(&e, 900, 300, t0 + 900, al, 16), 0); /* not over: equal */
    size_t n = admin_alarms_queue(&e, 900, 300, t0 + 901, al, 16);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_STR(al[0].key, "wait:A");
    CHECK_EQ_INT(al[0].kind, ADMIN_AL_WAIT);
    CHECK_EQ_INT(al[0].value, 901);
    CHECK(strstr(al[0].msg_zh, "无窗口受理") != NULL);

    /* 王芳 logs in at window 1: estimate 3 × 600 s / 1 window = 1800 s */
    struct hq_cmd login = {.type = HQ_CMD_LOGIN, .now = t0 + 5, .window = 1};
    snprintf(login.u.login.staff_id, sizeof login.u.login.staff_id, "1001");
    CHECK_EQ_INT(apply(&e, &r, login), HQ_OK);
    CHECK_EQ_INT(admin_open_windows(&e, 0), 1);
    CHECK_EQ_INT(hq_engine_estimate_wait(&e, 0), 1800);
    n = admin_alarms_queue(&e, 1800, 0, t0 + 20, al, 16);
    CHECK_EQ_INT(n, 0); /* 1800 is not over 1800 */
    n = admin_alarms_queue(&e, 1799, 0, t0 + 20, al, 16);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(al[0].value, 1800);
    CHECK(strstr(al[0].msg_zh, "预计等候 30 分钟") != NULL);
    CHECK_EQ_INT(admin_alarms_queue(&e, 0, 0, t0 + 99999, al, 16), 0); /* both rules off */

    /* 空岗: idle since the login at t0+5 */
    CHECK(find_alarm(al, admin_alarms_queue(&e, 0, 300, t0 + 304, al, 16), "idle:1") == NULL);
    n = admin_alarms_queue(&e, 0, 300, t0 + 305, al, 16);
    const struct admin_alarm *idle = find_alarm(al, n, "idle:1");
    CHECK(idle != NULL);
    if (idle) {
        CHECK_EQ_INT(idle->kind, ADMIN_AL_IDLE);
        CHECK_EQ_INT(idle->value, 300);
        CHECK(strstr(idle->msg_zh, "王芳") != NULL);
        CHECK(strstr(idle->msg_zh, "3 人等候") != NULL);
    }
    /* a call ends it, and so does an empty queue */
    CHECK_EQ_INT(
        apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_CALL_NEXT, .now = t0 + 400, .window = 1}),
        HQ_OK);
    CHECK(find_alarm(al, admin_alarms_queue(&e, 0, 300, t0 + 800, al, 16), "idle:1") == NULL);
    CHECK_EQ_INT(apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_START, .now = t0 + 410, .window = 1}),
                 HQ_OK);
    CHECK_EQ_INT(
        apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_FINISH, .now = t0 + 420, .window = 1}), HQ_OK);
    /* idle again since the finish at t0+420 (two still wait) */
    CHECK(find_alarm(al, admin_alarms_queue(&e, 0, 300, t0 + 719, al, 16), "idle:1") == NULL);
    CHECK(find_alarm(al, admin_alarms_queue(&e, 0, 300, t0 + 720, al, 16), "idle:1") != NULL);
    /* a declared pause is not 空岗 */
    CHECK_EQ_INT(apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_PAUSE, .now = t0 + 730, .window = 1}),
                 HQ_OK);
    CHECK(find_alarm(al, admin_alarms_queue(&e, 0, 300, t0 + 5000, al, 16), "idle:1") == NULL);
    /* a window whose services nobody waits for is not 空岗 either */
    login.window = 3;
    snprintf(login.u.login.staff_id, sizeof login.u.login.staff_id, "1002");
    CHECK_EQ_INT(apply(&e, &r, login), HQ_OK);
    CHECK(find_alarm(al, admin_alarms_queue(&e, 0, 300, t0 + 5000, al, 16), "idle:3") == NULL);
    /* max bounds the output */
    CHECK_EQ_INT(admin_alarms_queue(&e, 60, 0, t0 + 5000, al, 0), 0);

    hq_result_free(&r);
    hq_engine_free(&e);
}

/* The supervision alarms: over-long pause, 空岗 without a clerk, 限时办结, the help call. */
static void test_supervision_alarms(void)
{
    setup();
    cfg.n_pause_reasons = 2;
    cfg.pause_reasons[0] = (struct hq_pause_reason){"lunch", "午休", "Lunch break", 60};
    cfg.pause_reasons[1] = (struct hq_pause_reason){"other", "其他", "Other", 0};
    svc[0].time_limit_s = 600;
    struct hq_engine e;
    struct hq_result r = {0};
    CHECK_EQ_INT(hq_engine_init(&e, &cfg), HQ_OK);
    int64_t t0 = (int64_t)hq_days_from_ymd(2026, 3, 2) * 86400 - 28800 + 9 * 3600;
    struct admin_alarm al[16];

    /* nobody waits: no 空岗 however long the windows stay empty */
    CHECK_EQ_INT(admin_alarms_supervision(&e, 300, t0, al, 16), 0);
    /* two wait for A: windows 1 and 2 (A) have nobody, but nobody opened them today either:
     * spare windows, not 空岗 */
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_ISSUE, .now = t0}), HQ_OK);
    CHECK_EQ_INT(admin_alarms_supervision(&e, 300, t0 + 9999, al, 16), 0);
    CHECK(admin_alarm_reported(ADMIN_AL_UNSTAFFED) && !admin_alarm_reported(ADMIN_AL_WAIT));
    CHECK_EQ_STR(admin_alarm_kind_name(ADMIN_AL_UNSTAFFED), "unstaffed");
    CHECK_EQ_STR(admin_alarm_kind_name(ADMIN_AL_HELP), "help");
    size_t n;
    const struct admin_alarm *a;

    /* 王芳 at window 1 goes to lunch at t0+10; 李娜 at window 2 logs in and out at t0+20 */
    struct hq_cmd login = {.type = HQ_CMD_LOGIN, .now = t0 + 5, .window = 1};
    snprintf(login.u.login.staff_id, sizeof login.u.login.staff_id, "1001");
    CHECK_EQ_INT(apply(&e, &r, login), HQ_OK);
    struct hq_cmd pause = {.type = HQ_CMD_PAUSE, .now = t0 + 10, .window = 1};
    snprintf(pause.u.pause.reason, sizeof pause.u.pause.reason, "lunch");
    CHECK_EQ_INT(apply(&e, &r, pause), HQ_OK);
    login.window = 2;
    snprintf(login.u.login.staff_id, sizeof login.u.login.staff_id, "1002");
    CHECK_EQ_INT(apply(&e, &r, login), HQ_OK);
    CHECK_EQ_INT(apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_LOGOUT, .now = t0 + 20, .window = 2}),
                 HQ_OK);
    /* a paused window is not 空岗; window 2 is, 300 s after its logout */
    n = admin_alarms_supervision(&e, 300, t0 + 319, al, 16);
    CHECK(find_alarm(al, n, "unstaffed:1") == NULL && find_alarm(al, n, "unstaffed:2") == NULL);
    n = admin_alarms_supervision(&e, 300, t0 + 320, al, 16);
    a = find_alarm(al, n, "unstaffed:2");
    CHECK(a != NULL && a->kind == ADMIN_AL_UNSTAFFED && a->value == 300 && a->since == t0 + 20 &&
          a->threshold == 300);
    CHECK(a && strstr(a->msg_zh, "空岗") && strstr(a->msg_zh, "2 人等候"));
    CHECK(a && strstr(a->msg_en, "nobody signed in for 5 min while 2 wait"));
    CHECK(find_alarm(al, admin_alarms_supervision(&e, 0, t0 + 320, al, 16), "unstaffed:2") ==
          NULL); /* rule off */
    /* the next day it is not a post until someone opens it again */
    CHECK(find_alarm(al, admin_alarms_supervision(&e, 300, t0 + 86400, al, 16), "unstaffed:2") ==
          NULL);
    /* lunch: 60 min allowed; over at 3601 s */
    CHECK(find_alarm(al, admin_alarms_supervision(&e, 0, t0 + 10 + 3600, al, 16), "pause:1") ==
          NULL);
    n = admin_alarms_supervision(&e, 0, t0 + 10 + 3601, al, 16);
    a = find_alarm(al, n, "pause:1");
    CHECK(a != NULL && a->kind == ADMIN_AL_PAUSE && a->threshold == 3600 && a->since == t0 + 10);
    CHECK(a && strstr(a->msg_zh, "暂停超时") && strstr(a->msg_zh, "王芳") &&
          strstr(a->msg_zh, "午休") && strstr(a->msg_zh, "上限 60 分钟"));
    CHECK(a && strstr(a->msg_en, "Lunch break") && strstr(a->msg_en, "paused too long"));
    /* "other" has no limit here: never an alarm */
    CHECK_EQ_INT(apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_RESUME, .now = t0 + 30, .window = 1}),
                 HQ_OK);
    CHECK_EQ_INT(apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_PAUSE, .now = t0 + 40, .window = 1}),
                 HQ_OK);
    CHECK(find_alarm(al, admin_alarms_supervision(&e, 0, t0 + 99999, al, 16), "pause:1") == NULL);
    CHECK_EQ_INT(apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_RESUME, .now = t0 + 50, .window = 1}),
                 HQ_OK);

    /* 限时办结: A allows 600 s from the start (from the call when nobody pressed start) */
    CHECK_EQ_INT(
        apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_CALL_NEXT, .now = t0 + 100, .window = 1}),
        HQ_OK);
    CHECK(find_alarm(al, admin_alarms_supervision(&e, 0, t0 + 700, al, 16), "overtime:1") == NULL);
    CHECK(find_alarm(al, admin_alarms_supervision(&e, 0, t0 + 701, al, 16), "overtime:1") != NULL);
    CHECK_EQ_INT(apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_START, .now = t0 + 200, .window = 1}),
                 HQ_OK);
    CHECK(find_alarm(al, admin_alarms_supervision(&e, 0, t0 + 800, al, 16), "overtime:1") == NULL);
    n = admin_alarms_supervision(&e, 0, t0 + 801, al, 16);
    a = find_alarm(al, n, "overtime:1");
    CHECK(a != NULL && a->value == 601 && a->threshold == 600 && a->since == t0 + 200);
    CHECK(a && strstr(a->msg_zh, "A001") && strstr(a->msg_zh, "社保业务") &&
          strstr(a->msg_zh, "时限 10 分钟"));
    CHECK(a && strstr(a->msg_en, "over the time limit"));
    CHECK_EQ_INT(
        apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_FINISH, .now = t0 + 900, .window = 1}), HQ_OK);
    CHECK(find_alarm(al, admin_alarms_supervision(&e, 0, t0 + 9000, al, 16), "overtime:1") == NULL);

    /* the help call stays until answered */
    CHECK_EQ_INT(apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_HELP, .now = t0 + 1000, .window = 1}),
                 HQ_OK);
    n = admin_alarms_supervision(&e, 0, t0 + 1120, al, 16);
    a = find_alarm(al, n, "help:1");
    CHECK(a != NULL && a->kind == ADMIN_AL_HELP && a->value == 120 && a->since == t0 + 1000);
    CHECK(a && strstr(a->msg_zh, "王芳呼叫大厅经理") && strstr(a->msg_en, "asks for help"));
    cJSON *j = a ? admin_alarm_json(a) : NULL;
    CHECK(j && cJSON_GetNumberValue(cJSON_GetObjectItem(j, "since")) == (double)(t0 + 1000));
    cJSON_Delete(j);
    CHECK_EQ_INT(
        apply(&e, &r, (struct hq_cmd){.type = HQ_CMD_HELP_ACK, .now = t0 + 1130, .window = 1}),
        HQ_OK);
    CHECK(find_alarm(al, admin_alarms_supervision(&e, 0, t0 + 1200, al, 16), "help:1") == NULL);
    /* max bounds the output */
    CHECK_EQ_INT(admin_alarms_supervision(&e, 1, t0 + 99999, al, 0), 0);
    svc[0].time_limit_s = 0;
    cfg.n_pause_reasons = 0;
    hq_result_free(&r);
    hq_engine_free(&e);
}

/* Every reason hallqd's device links give, in Chinese. */
static void test_reason_zh(void)
{
    static const char *const cases[][2] = {
        {"no answer", "无应答"},
        {"no answer for 10 s", "10 秒无应答"},
        {"no AA acknowledgement within 300 ms", "300 毫秒内未收到应答确认"},
        {"7 bad frames or bursts of garbage within 10 s", "10 秒内 7 次错误帧或乱码"},
        {"out of memory", "内存不足"},
        {"port /dev/ttyUSB0 open, reader not answering yet",
         "端口 /dev/ttyUSB0 已打开，读卡器尚未应答"},
        {"cannot open /dev/ttyS3 (not found); next try in 2000 ms",
         "无法打开 /dev/ttyS3，2000 毫秒后重试"},
        {"connection refused", "连接被拒绝"},
        {"cannot watch the port", "无法监视端口"},
        {"link lost (unplugged?)", "连接中断（线缆是否脱落？）"},
        {"the serial server closed the connection", "串口服务器断开了连接"},
        {"the serial server stopped answering (connection timed out)",
         "串口服务器无应答（连接超时）"},
        {"write failed: link lost", "写入失败，连接中断"},
        {"line 5 of gpiochip0 is busy (held by another program)",
         "gpiochip0 的 5 号线被其他程序占用"},
        {"no GPIO chip gpiochip9: No such file or directory", "没有 GPIO 芯片 gpiochip9"},
        {"chip gpiochip0 has no line 99: Invalid argument", "芯片 gpiochip0 没有 99 号线"},
        {"setting line 4: I/O error", "设置 4 号线失败"},
        {"requesting line 4 of gpiochip0: Device or resource busy", "gpiochip0 的 4 号线申请失败"},
        {"event fd of line 4 of gpiochip0: Bad file descriptor", "gpiochip0 的 4 号线申请失败"},
        {"reading line 4 of gpiochip0: I/O error", "gpiochip0 的 4 号线读取失败"},
    };
    char buf[96];
    for (size_t i = 0; i < HQ_ARRAY_LEN(cases); i++) {
        CHECK(admin_reason_zh(cases[i][0], buf, sizeof buf));
        CHECK_EQ_STR(buf, cases[i][1]);
    }
    /* not one of ours, or one of ours with more after it: unknown, buf empty */
    CHECK(!admin_reason_zh("something new", buf, sizeof buf));
    CHECK_EQ_STR(buf, "");
    CHECK(!admin_reason_zh("no answer for 10 s at all", buf, sizeof buf));
    CHECK(!admin_reason_zh("no answer for ten s", buf, sizeof buf));
}

static void test_status_alarms(void)
{
    struct admin_alarm al[8];
    cJSON *st = cJSON_Parse(
        "{\"devices\":[{\"id\":\"keypad:1:3\",\"type\":\"keypad\",\"window\":3,\"health\":"
        "\"offline\",\"reason\":\"no answer\"},{\"id\":\"bar:1:1\",\"type\":\"led_bar\","
        "\"health\":\"online\"},{\"online\":false},{\"id\":\"reader\",\"type\":\"card_reader\","
        "\"health\":\"faulty\"},{\"id\":\"x\",\"health\":\"unknown\"}],"
        "\"printers\":[{\"role\":\"primary\",\"queue\":\"hq-ticket\",\"health\":\"near_end\","
        "\"text\":\"打印纸将尽 / paper "
        "low\"},{\"role\":\"backup\",\"queue\":\"b\",\"health\":\"ok\"}],"
        "\"sync\":{\"transport\":\"http\",\"alarm\":true,\"alarm_reasons\":[\"backlog\",\"age\"],"
        "\"backlog\":5,\"oldest_unsent_age_s\":601}}");
    CHECK(st != NULL);
    size_t n = admin_alarms_status(st, al, 8);
    CHECK_EQ_INT(n, 5);
    const struct admin_alarm *k = find_alarm(al, n, "device:keypad:keypad:1:3:offline");
    CHECK(k != NULL);
    if (k) {
        /* the reason in Chinese in the Chinese message, English in the English one */
        CHECK_EQ_STR(k->msg_zh, "设备离线：3号窗口 呼叫器 keypad:1:3，无应答");
        CHECK_EQ_STR(k->msg_en, "Device offline: keypad keypad:1:3 at window 3, no answer");
    }
    CHECK(find_alarm(al, n, "device::#3:offline") != NULL); /* a nameless device still shows */
    k = find_alarm(al, n, "device:card_reader:reader:faulty");
    CHECK(k != NULL);
    if (k) CHECK(strstr(k->msg_zh, "设备故障：身份证读卡器") != NULL);
    const struct admin_alarm *p = find_alarm(al, n, "printer:primary:near_end");
    CHECK(p != NULL);
    if (p) {
        CHECK_EQ_STR(p->msg_zh, "取号打印机 hq-ticket：打印纸将尽");
        CHECK_EQ_STR(p->msg_en, "Ticket printer hq-ticket: paper low");
    }
    const struct admin_alarm *s = find_alarm(al, n, "sync:backlog:age");
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_INT(s->value, 5);
        CHECK(strstr(s->msg_zh, "积压过多、积压过久") != NULL);
        CHECK(strstr(s->msg_zh, "10 分钟") != NULL);
    }
    CHECK_EQ_INT(admin_alarms_status(st, al, 2), 2); /* max bounds the output */
    cJSON_Delete(st);

    /* a reason it does not know stays out of the Chinese message, never English there */
    st = cJSON_Parse("{\"devices\":[{\"id\":\"hall\",\"type\":\"hall_bus\",\"health\":"
                     "\"offline\",\"reason\":\"something new\"}]}");
    CHECK_EQ_INT(admin_alarms_status(st, al, 8), 1);
    CHECK_EQ_STR(al[0].msg_zh, "设备离线：窗口设备总线 hall");
    CHECK_EQ_STR(al[0].msg_en, "Device offline: hall bus hall, something new");
    cJSON_Delete(st);

    /* A bus down: one alarm naming the windows it serves in words, not one
     * per keypad and pad with raw ids (issue 14). The LED bus is up: its bars
     * raise nothing, but a faulty bar is named by window and address. */
    {
        char json[8192];
        size_t len = (size_t)snprintf(
            json, sizeof json,
            "{\"devices\":[{\"id\":\"bus:keys\",\"type\":\"hall_bus\",\"health\":\"offline\","
            "\"reason\":\"no answer for 10 s\"},{\"id\":\"bus:bars\",\"type\":\"led_bus\","
            "\"health\":\"online\"}");
        int wins[] = {1, 2, 3, 4, 5, 6, 8};
        for (size_t k = 0; k < HQ_ARRAY_LEN(wins); k++)
            len += (size_t)snprintf(
                json + len, sizeof json - len,
                ",{\"id\":\"keypad:keys:%d\",\"type\":\"keypad\",\"window\":%d,\"address\":%d,"
                "\"health\":\"offline\"},{\"id\":\"rating_pad:keys:%d\",\"type\":\"rating_pad\","
                "\"window\":%d,\"address\":%d,\"health\":\"offline\"},{\"id\":\"bar:bars:%d\","
                "\"type\":\"led_bar\",\"window\":%d,\"address\":%d,\"health\":\"%s\"}",
                wins[k], wins[k], wins[k], wins[k] + 32, wins[k], wins[k] + 32, wins[k], wins[k],
                wins[k], wins[k] == 6 ? "faulty" : "online");
        snprintf(json + len, sizeof json - len, "]}");
        st = cJSON_Parse(json);
        CHECK(st != NULL);
        n = admin_alarms_status(st, al, 8);
        CHECK_EQ_INT(n, 2);
        k = find_alarm(al, n, "device:hall_bus:bus:keys:offline");
        CHECK(k != NULL);
        if (k) {
            CHECK_EQ_STR(k->msg_zh, "窗口设备总线 keys 离线：1–6、8号窗口的呼叫器、评价器不能使用"
                                    "（10 秒无应答）");
            CHECK_EQ_STR(k->msg_en, "Hall bus keys offline: the keypads and rating pads of "
                                    "windows 1–6, 8 do not work (no answer for 10 s)");
            CHECK(strstr(k->msg_zh, "keypad:") == NULL);
        }
        k = find_alarm(al, n, "device:led_bar:bar:bars:6:faulty");
        CHECK(k != NULL);
        if (k) {
            CHECK_EQ_STR(k->msg_zh, "设备故障：6号窗口 窗口屏（地址 6）");
            CHECK_EQ_STR(k->msg_en, "Device faulty: LED bar (address 6) at window 6");
        }
        cJSON_Delete(st);
        /* a bus with nothing on it still says what it is */
        st = cJSON_Parse("{\"devices\":[{\"id\":\"bus:bars\",\"type\":\"led_bus\","
                         "\"health\":\"faulty\"}]}");
        CHECK_EQ_INT(admin_alarms_status(st, al, 8), 1);
        CHECK_EQ_STR(al[0].msg_zh, "设备故障：窗口屏总线 bus:bars");
        cJSON_Delete(st);
    }

    /* the up-link's own verdict counts: a backlog it does not call an alarm is none */
    st = cJSON_Parse("{\"sync\":{\"transport\":\"https\",\"alarm\":false,\"backlog\":9,"
                     "\"oldest_unsent_age_s\":6000}}");
    CHECK_EQ_INT(admin_alarms_status(st, al, 8), 0);
    cJSON_Delete(st);
    st = cJSON_Parse("{\"sync\":{\"transport\":\"serial\",\"alarm\":true,\"backlog\":1,"
                     "\"oldest_unsent_age_s\":3,\"last_error\":\"HTTP 403\","
                     "\"alarm_reasons\":[\"refused\"]}}");
    CHECK_EQ_INT(admin_alarms_status(st, al, 8), 1);
    CHECK_EQ_STR(al[0].key, "sync:refused");
    CHECK(strstr(al[0].msg_zh, "中心拒收") != NULL);
    CHECK(strstr(al[0].msg_en, "HTTP 403") != NULL);
    cJSON_Delete(st);
    /* an alarm without reasons (an older up-link) still shows */
    st = cJSON_Parse("{\"sync\":{\"transport\":\"http\",\"alarm\":true}}");
    CHECK_EQ_INT(admin_alarms_status(st, al, 8), 1);
    CHECK_EQ_STR(al[0].key, "sync:error");
    cJSON_Delete(st);
    /* GPIO lines have Chinese names; an open cabinet door is an alarm */
    st = cJSON_Parse("{\"devices\":[{\"id\":\"paper\",\"type\":\"paper_sensor\","
                     "\"health\":\"offline\"}],\"gpio\":{\"alarms\":{\"door_open\":true,"
                     "\"paper_near_end\":false}}}");
    CHECK_EQ_INT(admin_alarms_status(st, al, 8), 2);
    CHECK(strstr(al[0].msg_zh, "缺纸传感器") != NULL);
    CHECK_EQ_STR(al[1].key, "door:open");
    CHECK(strstr(al[1].msg_zh, "机柜门") != NULL);
    cJSON_Delete(st);
    st = cJSON_Parse("{\"gpio\":{\"alarms\":{\"door_open\":false}}}");
    CHECK_EQ_INT(admin_alarms_status(st, al, 8), 0);
    cJSON_Delete(st);
    /* the database's disk filling up: an alarm with MiB free and the threshold */
    st = cJSON_Parse("{\"storage\":{\"path\":\"/var/lib/hallq/hallq.db\",\"degraded\":false,"
                     "\"disk_free_bytes\":104857600,\"disk_alarm_bytes\":268435456,"
                     "\"disk_low\":true}}");
    CHECK_EQ_INT(admin_alarms_status(st, al, 8), 1);
    CHECK_EQ_STR(al[0].key, "storage:disk_low");
    CHECK_EQ_INT(al[0].value, 100);
    CHECK_EQ_INT(al[0].threshold, 256);
    CHECK_EQ_STR(al[0].msg_zh,
                 "存储空间不足：剩余 100 MiB（低于 256 MiB 告警），写满后将暂停取号，请联系运维");
    CHECK(strstr(al[0].msg_en, "100 MiB free (alarm below 256 MiB)") != NULL);
    cJSON_Delete(st);
    st = cJSON_Parse("{\"storage\":{\"disk_free_bytes\":104857600,\"disk_low\":false}}");
    CHECK_EQ_INT(admin_alarms_status(st, al, 8), 0);
    cJSON_Delete(st);
    /* a clock behind the newest record: minutes rounded up, the time it should be past */
    st = cJSON_Parse("{\"clock\":{\"ok\":false,\"behind_s\":10801,\"behind_day\":false,"
                     "\"latest_seen\":\"2026-12-03T09:00:00+08:00\"}}");
    CHECK_EQ_INT(admin_alarms_status(st, al, 8), 1);
    CHECK_EQ_STR(al[0].key, "clock:behind");
    CHECK_EQ_STR(admin_alarm_kind_name(al[0].kind), "clock");
    CHECK_EQ_INT(al[0].value, 181);
    CHECK(strstr(al[0].msg_zh, "系统时钟比已记录的时间慢 181 分钟（2026-12-03T09:00:00+08:00）") ==
          al[0].msg_zh);
    CHECK(strstr(al[0].msg_en, "181 min behind") != NULL);
    cJSON_Delete(st);
    st = cJSON_Parse("{\"clock\":{\"ok\":true,\"behind_s\":30}}");
    CHECK_EQ_INT(admin_alarms_status(st, al, 8), 0);
    cJSON_Delete(st);
    /* nothing raised anywhere */
    st = cJSON_Parse("{\"sync\":{\"transport\":\"off\",\"backlog\":900,\"alarm\":false},"
                     "\"devices\":[],\"printers\":[{\"health\":\"ok\"}]}");
    CHECK_EQ_INT(admin_alarms_status(st, al, 8), 0);
    cJSON_Delete(st);

    struct admin_alarm a = {.key = "wait:A",
                            .kind = ADMIN_AL_WAIT,
                            .subject = "A",
                            .value = 60,
                            .threshold = -1,
                            .msg_zh = "中",
                            .msg_en = "en"};
    cJSON *j = admin_alarm_json(&a);
    CHECK_EQ_STR(cJSON_GetObjectItem(j, "kind")->valuestring, "wait");
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "threshold")));
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "value")->valueint, 60);
    cJSON_Delete(j);
}

/* ------------------------------------------------------------ follow-up */

static void test_follow_up(void)
{
    static const struct {
        const char *from, *to;
        int rc;
    } steps[] = {
        {"open", "contacted", HQ_OK},
        {"contacted", "rectified", HQ_OK},
        {"rectified", "closed", HQ_OK},
        {"open", "rectified", HQ_ERR_STATE},
        {"open", "closed", HQ_ERR_STATE},
        {"contacted", "open", HQ_ERR_STATE},
        {"contacted", "contacted", HQ_ERR_STATE},
        {"closed", "closed", HQ_ERR_STATE},
        {"closed", "open", HQ_ERR_STATE},
        {"none", "contacted", HQ_ERR_STATE},
        {"rectified", "contacted", HQ_ERR_STATE},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(steps); i++)
        CHECK_EQ_INT(
            admin_fu_step(admin_fu_from_name(steps[i].from), admin_fu_from_name(steps[i].to)),
            steps[i].rc);
    CHECK_EQ_INT(admin_fu_from_name("Closed"), -1);
    CHECK_EQ_INT(admin_fu_from_name(NULL), -1);
    CHECK_EQ_INT(admin_fu_step(ADMIN_FU_OPEN, -1), HQ_ERR_STATE);
    CHECK_EQ_STR(admin_fu_label_zh(ADMIN_FU_RECTIFIED), "已整改");

    const char *why;
    CHECK_EQ_INT(admin_note_check("已电话回访，群众表示理解。", 500, &why), HQ_OK);
    CHECK_EQ_INT(admin_note_check("line one\nline two\ttab", 500, &why), HQ_OK);
    CHECK_EQ_INT(admin_note_check("", 500, &why), HQ_ERR_INVALID);
    CHECK_EQ_INT(admin_note_check("  \n\t\xE3\x80\x80", 500, &why), HQ_ERR_INVALID); /* blanks */
    CHECK_EQ_INT(admin_note_check("bell\a", 500, &why), HQ_ERR_INVALID);
    CHECK_EQ_INT(admin_note_check("\xC3\x28", 500, &why), HQ_ERR_INVALID);     /* bad tail */
    CHECK_EQ_INT(admin_note_check("\xC0\xAF", 500, &why), HQ_ERR_INVALID);     /* overlong '/' */
    CHECK_EQ_INT(admin_note_check("\xED\xA0\x80", 500, &why), HQ_ERR_INVALID); /* surrogate */
    CHECK_EQ_INT(admin_note_check("\xF8\x88\x80\x80\x80", 500, &why), HQ_ERR_INVALID);
    CHECK_EQ_INT(admin_note_check("abc\xE4\xB8", 500, &why), HQ_ERR_INVALID); /* cut short */
    /* the limit counts characters, not bytes: 5 CJK characters are 15 bytes */
    CHECK_EQ_INT(admin_note_check("回访已完成", 5, &why), HQ_OK);
    CHECK_EQ_INT(admin_note_check("回访已完成了", 5, &why), HQ_ERR_INVALID);
    CHECK(why != NULL);
}

/* ------------------------------------------------------------------ CSV */

static void test_csv(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"A012", "A012,"},
        {"王*", "王*,"},
        {"a,b", "\"a,b\","},
        {"say \"hi\"", "\"say \"\"hi\"\"\","},
        {"two\r\nlines", "\"two\r\nlines\","},
        {"=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\","},
        {"+1", "\"'+1\","},
        {"-2", "\"'-2\","},
        {"@SUM", "\"'@SUM\","},
        /* issue 13: a leading tab or carriage return hides a formula */
        {"\r=1+1", "\"'\r=1+1\","},
        {"\t=1+1", "\"'\t=1+1\","},
        {"", ","},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(cases); i++) {
        struct admin_buf b = {0};
        admin_csv_field(&b, cases[i].in, ',');
        CHECK_EQ_STR(b.p, cases[i].out);
        admin_buf_free(&b);
    }
    struct admin_buf b = {0};
    admin_csv_field(&b, NULL, ',');
    admin_csv_field(&b, "end", 0);
    admin_buf_printf(&b, "|%d|%s", 42, "x");
    CHECK_EQ_STR(b.p, ",end|42|x");
    /* growth past the first block */
    for (int i = 0; i < 2000; i++)
        admin_buf_add(&b, "0123456789", 10);
    CHECK_EQ_INT(b.len, 9 + 20000);
    CHECK(!b.oom);
    admin_buf_free(&b);
}

static void test_misc(void)
{
    int32_t d = 0;
    CHECK_EQ_INT(admin_parse_day("2026-11-23", &d), HQ_OK);
    CHECK_EQ_INT(d, hq_days_from_ymd(2026, 11, 23));
    CHECK_EQ_INT(admin_parse_day("2024-02-29", &d), HQ_OK);
    static const char *const bad[] = {"2023-02-29", "2026-13-01",  "2026-00-10", "2026-1-01",
                                      "2026/11/23", "2026-11-23x", "20261123",   "",
                                      "2026-11-31", "+026-11-23",  "2026-11- 3", "1969-12-31"};
    for (size_t i = 0; i < HQ_ARRAY_LEN(bad); i++)
        CHECK_EQ_INT(admin_parse_day(bad[i], &d), HQ_ERR_INVALID);
    CHECK_EQ_INT(admin_parse_day(NULL, &d), HQ_ERR_INVALID);

    static const struct {
        int64_t s;
        int bucket;
    } b[] = {{0, 0},    {299, 0},  {300, 1},  {599, 1},  {600, 2},  {1199, 2},
             {1200, 3}, {1799, 3}, {1800, 4}, {3599, 4}, {3600, 5}, {86400, 5}};
    for (size_t i = 0; i < HQ_ARRAY_LEN(b); i++)
        CHECK_EQ_INT(admin_wait_bucket(b[i].s), b[i].bucket);
}

int main(void)
{
    test_erlang();
    test_queue_alarms();
    test_supervision_alarms();
    test_reason_zh();
    test_status_alarms();
    test_follow_up();
    test_csv();
    test_misc();
    return check_report("test_admin");
}
