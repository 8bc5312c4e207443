/*
 * test_figures.c — the report figures of a scripted week, number by number
 * (firmware/figures.c), and a rebuilt rollup equal to the live one.
 *
 * The week (2026-11-30 Mon .. 2026-12-06 Sun, UTC+8), two services (A limit
 * 600 s, B limit 300 s), window 1 {A}, window 2 {A,B}, clerks 101 and 102:
 *  Mon: 101 at window 1 09:00-12:00 then at window 2 13:00-14:00 (two windows
 *       in a day); pauses 10:00-10:15 "meal" and 10:30-10:40 with no reason;
 *       A003 no-show at 10:25, re-queued, served 10:45; A004 transferred to
 *       B at 11:05 and served at window 2 by 102 (11:20-12:00); A005 a test
 *       ticket; A006 cancelled. 空岗 stretches worked out in the comments.
 *  Tue: the box was off (no rows).
 *  Wed: 102 on approved absence (training) 09:00-12:00, yet signed in at
 *       window 2 09:30-10:00; window 1's services changed to {B} at 09:30;
 *       a hall-wide device fault 09:55-10:00.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "figures.h"

#define D0 20787 /* 2026-11-30, a Monday */
#define OFF 28800

static int64_t T(int day, int h, int m)
{
    return (int64_t)day * 86400 - OFF + h * 3600 + m * 60;
}

static sqlite3 *db;

static void sql(const char *s)
{
    char *msg = NULL;
    if (sqlite3_exec(db, s, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "SQL failed: %s\n%s\n", msg, s);
        exit(1);
    }
}

static int serial;
/* a ticket row: times as minutes of the day (-1 = NULL) */
static void ticket(int day, const char *label, const char *svc, const char *orig,
                   const char *status, int window, const char *staff, int issued, int called,
                   int served, int fin)
{
    char q[1024];
    char c[24], s[24], f[24];
#define TM(buf, v)                                                                                 \
    (v < 0 ? snprintf(buf, sizeof buf, "NULL")                                                     \
           : snprintf(buf, sizeof buf, "%lld", (long long)T(day, 0, v)))
    TM(c, called);
    TM(s, served);
    TM(f, fin);
    serial++;
    snprintf(
        q, sizeof q,
        "INSERT INTO tickets(id, uuid, day, service, orig_service, serial, number, label,"
        " status, window, staff, issued_at, called_at, served_at, finished_at)"
        " VALUES(%lld, 'u-%s-%d', %d, '%s', '%s', %d, %d, '%s', '%s', %d, %s%s%s, %lld, %s, %s,"
        " %s)",
        ((long long)day << 20) | serial, label, day, day, svc, orig, serial, serial, label, status,
        window, staff ? "'" : "", staff ? staff : "NULL", staff ? "'" : "",
        (long long)T(day, 0, issued), c, s, f);
    sql(q);
}

static void event(int day, int minute, const char *kind, int window, const char *staff,
                  const char *label, const char *data)
{
    char q[1024], tk[64] = "NULL", lb[32] = "NULL", st[32] = "NULL";
    if (label) {
        snprintf(tk, sizeof tk, "'u-%s-%d'", label, day);
        snprintf(lb, sizeof lb, "'%s'", label);
    }
    if (staff) snprintf(st, sizeof st, "'%s'", staff);
    snprintf(q, sizeof q,
             "INSERT INTO events(at, kind, window, ticket, label, staff, data)"
             " VALUES(%lld, '%s', %d, %s, %s, %s, '%s')",
             (long long)T(day, 0, minute), kind, window, tk, lb, st, data ? data : "{}");
    sql(q);
}

static void eval(int day, const char *label, const char *svc, int window, const char *staff,
                 int level, const char *fu)
{
    char q[512];
    snprintf(q, sizeof q,
             "INSERT INTO evaluations(uuid, ticket, label, day, service, window, staff, level,"
             " channel, reasons, at, follow_up_state) VALUES('e-%s-%d', 'u-%s-%d', '%s', %d,"
             " '%s', %d, '%s', %d, 'pad', 0, %lld, '%s')",
             label, day, label, day, label, day, svc, window, staff, level,
             (long long)T(day, 12, 0), fu);
    sql(q);
}

static const cJSON *row(const cJSON *r, const char *key)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(r, "rows"))
    {
        if (strcmp(cJSON_GetObjectItem(it, "key")->valuestring, key) == 0) return it;
    }
    fprintf(stderr, "no row %s\n", key);
    return NULL;
}

static double num(const cJSON *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *x = o;
    for (char *save = NULL, *t = strtok_r(buf, ".", &save); t && x; t = strtok_r(NULL, ".", &save))
        x = cJSON_GetObjectItem(x, t);
    if (!cJSON_IsNumber(x)) {
        fprintf(stderr, "%s: not a number\n", path);
        return -12345;
    }
    return x->valuedouble;
}

int main(void)
{
    struct hq_service_cfg svc[2] = {{.code = "A", .name = "社保", .default_handle_s = 600},
                                    {.code = "B", .name = "医保", .default_handle_s = 300}};
    struct hq_window_cfg win[2] = {
        {.number = 1, .name = "1号窗口", .services = {0}, .n_services = 1},
        {.number = 2, .name = "2号窗口", .services = {0, 1}, .n_services = 2}};
    struct hq_staff_cfg staff[2] = {{.id = "101", .name = "王芳"}, {.id = "102", .name = "李强"}};
    struct hq_engine_cfg c = {.utc_offset_s = OFF,
                              .services = svc,
                              .n_services = 2,
                              .windows = win,
                              .n_windows = 2,
                              .staff = staff,
                              .n_staff = 2};
    struct hq_fig_opts o = {.wait_threshold_s = 1800};
    char err[256] = "";
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    /* the store's tables, the columns figures.c reads */
    sql("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE tickets(id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, day INTEGER NOT NULL,"
        " service TEXT NOT NULL, orig_service TEXT NOT NULL, serial INTEGER, number INTEGER,"
        " label TEXT NOT NULL, status TEXT NOT NULL, window INTEGER NOT NULL, staff TEXT,"
        " issued_at INTEGER NOT NULL, called_at INTEGER, served_at INTEGER, finished_at INTEGER);"
        "CREATE TABLE events(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL,"
        " window INTEGER, ticket TEXT, label TEXT, staff TEXT, data TEXT NOT NULL, actor TEXT);"
        "CREATE TABLE evaluations(uuid TEXT PRIMARY KEY, ticket TEXT NOT NULL, label TEXT NOT NULL,"
        " day INTEGER NOT NULL, service TEXT NOT NULL, window INTEGER NOT NULL, staff TEXT,"
        " level INTEGER NOT NULL, channel TEXT NOT NULL, reasons INTEGER NOT NULL,"
        " at INTEGER NOT NULL, follow_up_state TEXT NOT NULL DEFAULT 'none');");
    CHECK(hq_fig_schema(db, err, sizeof err) == HQ_OK);
    CHECK(hq_fig_schema(db, err, sizeof err) == HQ_OK); /* twice: idempotent */

#define M(h, m) ((h)*60 + (m))
    /* ---- Monday */
    ticket(D0, "A001", "A", "A", "done", 1, "101", M(9, 0), M(9, 5), M(9, 6), M(9, 16));
    ticket(D0, "A002", "A", "A", "done", 1, "101", M(9, 10), M(9, 20), M(9, 21), M(9, 41));
    ticket(D0, "A005", "A", "A", "cancelled", 0, NULL, M(9, 30), -1, -1, M(9, 31)); /* test */
    ticket(D0, "A003", "A", "A", "done", 1, "101", M(10, 5), M(10, 45), M(10, 46), M(10, 56));
    ticket(D0, "A004", "B", "A", "done", 2, "102", M(11, 0), M(11, 30), M(11, 31), M(11, 36));
    ticket(D0, "A006", "A", "A", "cancelled", 0, NULL, M(11, 40), -1, -1, M(11, 50));
    ticket(D0, "B002", "B", "B", "done", 2, "101", M(13, 10), M(13, 10), M(13, 11), M(13, 21));
    event(D0, M(9, 0), "login", 1, "101", NULL, NULL);
    event(D0, M(9, 5), "call", 1, "101", "A001", NULL);
    event(D0, M(9, 6), "start", 1, "101", "A001", NULL);
    event(D0, M(9, 16), "finish", 1, "101", "A001", NULL);
    event(D0, M(9, 20), "call", 1, "101", "A002", NULL);
    event(D0, M(9, 21), "start", 1, "101", "A002", NULL);
    event(D0, M(9, 41), "finish", 1, "101", "A002", NULL);
    event(D0, M(10, 0), "pause", 1, "101", NULL, "{\"reason\":\"meal\"}");
    event(D0, M(10, 15), "resume", 1, "101", NULL, NULL);
    event(D0, M(10, 20), "call", 1, "101", "A003", NULL);
    event(D0, M(10, 25), "no_show", 1, "101", "A003", "{\"service\":\"A\"}");
    event(D0, M(10, 25), "requeue", 1, "101", "A003", "{\"service\":\"A\"}");
    event(D0, M(10, 30), "pause", 1, "101", NULL, NULL); /* no reason: "other" */
    event(D0, M(10, 40), "resume", 1, "101", NULL, NULL);
    event(D0, M(10, 45), "call", 1, "101", "A003", NULL);
    event(D0, M(10, 46), "start", 1, "101", "A003", NULL);
    event(D0, M(10, 56), "finish", 1, "101", "A003", NULL);
    event(D0, M(11, 1), "call", 1, "101", "A004", NULL);
    event(D0, M(11, 2), "start", 1, "101", "A004", NULL);
    event(D0, M(11, 5), "transfer", 1, "101", "A004", "{\"service\":\"A\",\"to_service\":\"B\"}");
    event(D0, M(11, 20), "login", 2, "102", NULL, NULL);
    event(D0, M(11, 30), "call", 2, "102", "A004", NULL);
    event(D0, M(11, 31), "start", 2, "102", "A004", NULL);
    event(D0, M(11, 36), "finish", 2, "102", "A004", NULL);
    event(D0, M(12, 0), "logout", 1, "101", NULL, NULL);
    event(D0, M(12, 0), "logout", 2, "102", NULL, NULL);
    event(D0, M(13, 0), "login", 2, "101", NULL, NULL);
    event(D0, M(13, 10), "call", 2, "101", "B002", NULL);
    event(D0, M(13, 11), "start", 2, "101", "B002", NULL);
    event(D0, M(13, 21), "finish", 2, "101", "B002", NULL);
    event(D0, M(14, 0), "logout", 2, "101", NULL, NULL);
    eval(D0, "A001", "A", 1, "101", 5, "none");
    eval(D0, "A002", "A", 1, "101", 1, "open");
    eval(D0, "A004", "B", 2, "102", 4, "none");
    eval(D0, "B002", "B", 2, "101", 2, "closed");
    /* ---- Wednesday */
    int D2 = D0 + 2;
    ticket(D2, "A010", "A", "A", "done", 1, "101", M(9, 0), M(9, 10), M(9, 10), M(9, 20));
    ticket(D2, "A011", "A", "A", "done", 1, "101", M(9, 40), M(9, 50), M(9, 50), M(9, 55));
    event(D2, M(9, 0), "login", 1, "101", NULL, NULL);
    event(D2, M(9, 10), "call", 1, "101", "A010", NULL);
    event(D2, M(9, 10), "start", 1, "101", "A010", NULL);
    event(D2, M(9, 20), "finish", 1, "101", "A010", NULL);
    event(D2, M(9, 30), "window_services", 1, NULL, NULL, "{\"services\":[\"B\"]}");
    event(D2, M(9, 30), "login", 2, "102", NULL, NULL);
    event(D2, M(9, 50), "call", 1, "101", "A011", NULL);
    event(D2, M(9, 50), "start", 1, "101", "A011", NULL);
    event(D2, M(9, 55), "finish", 1, "101", "A011", NULL);
    event(D2, M(10, 0), "logout", 1, "101", NULL, NULL);
    event(D2, M(10, 0), "logout", 2, "102", NULL, NULL);
    char q[512];
    snprintf(q, sizeof q,
             "INSERT INTO fig_exclusions(kind, staff, window, ticket, from_at, to_at, reason,"
             " created_at) VALUES('test', NULL, NULL, 'A005', %lld, %lld, 'test', 0),"
             "('absence', '102', NULL, NULL, %lld, %lld, 'training', 0),"
             "('fault', NULL, NULL, NULL, %lld, %lld, 'printer', 0)",
             (long long)T(D0, 0, 0), (long long)T(D0 + 1, 0, 0), (long long)T(D2, 9, 0),
             (long long)T(D2, 12, 0), (long long)T(D2, 9, 55), (long long)T(D2, 10, 0));
    sql(q);

    /* roll the week up (the job's path), then report it */
    int64_t now = T(D0 + 10, 12, 0);
    for (int d = D0; d <= D0 + 6; d++)
        CHECK(hq_fig_build_day(db, &c, &o, d, now, "fig_day", err, sizeof err) == HQ_OK);
    cJSON *r = NULL;
    CHECK(hq_fig_report(db, &c, &o, D0, D0 + 6, HQ_FIG_HALL, D0 + 10, now, &r, err, sizeof err) ==
          HQ_OK);
    const cJSON *h = row(r, "hall");
    CHECK_EQ_INT(num(h, "days"), 7);
    CHECK_EQ_INT(num(h, "arrivals"), 8);
    CHECK_EQ_INT(num(h, "served"), 7);
    CHECK_EQ_INT(num(h, "no_show"), 1);
    CHECK_EQ_INT(num(h, "requeued"), 1);
    CHECK_EQ_INT(num(h, "transferred"), 1);
    CHECK_EQ_INT(num(h, "cancelled"), 1);
    CHECK_EQ_INT(num(h, "wait.count"), 7);
    CHECK_EQ_INT(num(h, "wait.mean_s"), 900);
    CHECK_EQ_INT(num(h, "wait.p50_s"), 660);
    CHECK_EQ_INT(num(h, "wait.p90_s"), 2400);
    CHECK_EQ_INT(num(h, "wait.max_s"), 2400);
    CHECK_EQ_INT(num(h, "wait.over"), 1);
    CHECK_EQ_INT(num(h, "handle.count"), 7);
    CHECK_EQ_INT(num(h, "handle.mean_s"), 600);
    CHECK_EQ_INT(num(h, "handle.over_limit"), 2);
    CHECK_EQ_INT(num(h, "walk_mean_s"), 43);
    CHECK_EQ_INT(num(h, "ratings.count"), 4);
    CHECK(fabs(num(h, "ratings.satisfaction") - 0.5) < 1e-9);
    CHECK_EQ_INT(num(h, "ratings.bad"), 2);
    CHECK_EQ_INT(num(h, "ratings.bad_open"), 1);
    CHECK_EQ_INT(num(h, "ratings.bad_closed"), 1);
    CHECK(fabs(num(h, "ratings.coverage") - 0.5714) < 1e-9);
    CHECK_EQ_INT(num(h, "attendance.signed_in_s"), 22200);
    CHECK_EQ_INT(num(h, "attendance.pause_s"), 1500);
    /* 空岗: Mon w1 300+240+300+300+300+600, w2 (102) 600+600, Wed w1 600
     * (A011 waits for A after w1 became {B}: not counted), w2 0 (absence) */
    CHECK_EQ_INT(num(h, "attendance.idle_s"), 3840);
    CHECK_EQ_INT(num(h, "excluded.test_tickets"), 1);
    CHECK_EQ_INT(num(h, "excluded.absence_s"), 10800);
    CHECK_EQ_INT(num(h, "excluded.fault_s"), 300);
    const cJSON *wd = cJSON_GetObjectItem(cJSON_GetObjectItem(h, "by_weekday"), "arrivals");
    CHECK_EQ_INT(cJSON_GetArrayItem(wd, 1)->valuedouble, 6); /* Monday */
    CHECK_EQ_INT(cJSON_GetArrayItem(wd, 2)->valuedouble, 0); /* Tuesday: box off */
    CHECK_EQ_INT(cJSON_GetArrayItem(wd, 3)->valuedouble, 2); /* Wednesday */
    const cJSON *hr = cJSON_GetObjectItem(cJSON_GetObjectItem(h, "by_hour"), "arrivals");
    CHECK_EQ_INT(cJSON_GetArrayItem(hr, 9)->valuedouble, 4);  /* A001 A002 A010 A011 */
    CHECK_EQ_INT(cJSON_GetArrayItem(hr, 10)->valuedouble, 1); /* A003 */
    cJSON_Delete(r);

    CHECK(hq_fig_report(db, &c, &o, D0, D0 + 6, HQ_FIG_CLERK, D0 + 10, now, &r, err, sizeof err) ==
          HQ_OK);
    const cJSON *k1 = row(r, "101"), *k2 = row(r, "102");
    CHECK_EQ_STR(cJSON_GetObjectItem(k1, "name")->valuestring, "王芳");
    CHECK_EQ_INT(num(k1, "served"), 6);
    CHECK_EQ_INT(num(k1, "attendance.signed_in_s"), 18000); /* two windows on Monday */
    CHECK_EQ_INT(num(k1, "attendance.pause_s"), 1500);
    CHECK_EQ_INT(num(k1, "attendance.pause_by_reason.meal"), 900);
    CHECK_EQ_INT(num(k1, "attendance.pause_by_reason.other"), 600);
    CHECK_EQ_INT(num(k1, "attendance.idle_s"), 2640);
    CHECK(fabs(num(k1, "attendance.served_per_hour") - 1.31) < 1e-9);
    CHECK_EQ_INT(num(k1, "no_show"), 1);
    CHECK_EQ_INT(num(k1, "transferred"), 1);
    CHECK_EQ_INT(num(k2, "served"), 1);
    CHECK_EQ_INT(num(k2, "attendance.signed_in_s"), 4200);
    CHECK_EQ_INT(num(k2, "attendance.idle_s"), 1200);
    CHECK_EQ_INT(num(k2, "excluded.absence_s"), 10800);
    cJSON_Delete(r);

    CHECK(hq_fig_report(db, &c, &o, D0, D0, HQ_FIG_WINDOW, D0 + 10, now, &r, err, sizeof err) ==
          HQ_OK);
    CHECK_EQ_INT(num(row(r, "1"), "attendance.idle_s"), 2040);
    CHECK_EQ_INT(num(row(r, "2"), "attendance.signed_in_s"), 6000); /* 102 then 101 */
    CHECK_EQ_INT(num(row(r, "2"), "served"), 2);
    cJSON_Delete(r);

    CHECK(hq_fig_report(db, &c, &o, D0, D0 + 6, HQ_FIG_SERVICE, D0 + 10, now, &r, err,
                        sizeof err) == HQ_OK);
    CHECK_EQ_INT(num(row(r, "A"), "arrivals"), 7);
    CHECK_EQ_INT(num(row(r, "B"), "arrivals"), 1);
    CHECK_EQ_INT(num(row(r, "B"), "served"), 2); /* B002 and the transferred A004 */
    CHECK_EQ_INT(num(row(r, "B"), "handle.over_limit"), 1);
    CHECK_EQ_INT(num(row(r, "A"), "transferred"), 1);
    cJSON_Delete(r);

    /* rebuild == live: the same day built as today's live rows and as a
     * rollup gives the same rows, column by column */
    for (int d = D0; d <= D2; d++) {
        CHECK(hq_fig_build_day(db, &c, &o, d, now, "temp.fig_live", err, sizeof err) == HQ_OK);
        sqlite3_stmt *s = NULL;
        char qq[512];
        snprintf(qq, sizeof qq,
                 "SELECT count(*) FROM (SELECT * FROM fig_day WHERE day=%d EXCEPT"
                 " SELECT * FROM temp.fig_live WHERE day=%d) ",
                 d, d);
        CHECK(sqlite3_prepare_v2(db, qq, -1, &s, NULL) == SQLITE_OK);
        CHECK(sqlite3_step(s) == SQLITE_ROW);
        CHECK_EQ_INT(sqlite3_column_int(s, 0), 0);
        sqlite3_finalize(s);
    }
    /* and the report of a day that is "today" (live) equals its rollup */
    cJSON *a = NULL, *b = NULL;
    CHECK(hq_fig_report(db, &c, &o, D0, D0, HQ_FIG_CLERK, D0 + 10, now, &a, err, sizeof err) ==
          HQ_OK);
    CHECK(hq_fig_report(db, &c, &o, D0, D0, HQ_FIG_CLERK, D0, now, &b, err, sizeof err) == HQ_OK);
    CHECK_EQ_INT(num(b, "live_days"), 1);
    cJSON_DeleteItemFromObject(a, "live_days");
    cJSON_DeleteItemFromObject(b, "live_days");
    CHECK(cJSON_Compare(a, b, 1));
    cJSON_Delete(a);
    cJSON_Delete(b);

    /* many keys in one day (past the first growth of the accumulators):
     * the hall's count stays the sum of the clerks' (a pointer held across
     * a growth once lost counts) */
    int D5 = D0 + 5;
    for (int i = 0; i < 150; i++) {
        char lab[16], st[16];
        snprintf(lab, sizeof lab, "A%03d", 100 + i);
        snprintf(st, sizeof st, "%d", 2000 + i);
        ticket(D5, lab, "A", "A", "done", 1, st, M(9, 0) + i, M(9, 1) + i, M(9, 1) + i,
               M(9, 2) + i);
    }
    CHECK(hq_fig_build_day(db, &c, &o, D5, now, "fig_day", err, sizeof err) == HQ_OK);
    CHECK(hq_fig_report(db, &c, &o, D5, D5, HQ_FIG_HALL, D0 + 10, now, &r, err, sizeof err) ==
          HQ_OK);
    CHECK_EQ_INT(num(row(r, "hall"), "served"), 150);
    cJSON_Delete(r);
    CHECK(hq_fig_report(db, &c, &o, D5, D5, HQ_FIG_CLERK, D0 + 10, now, &r, err, sizeof err) ==
          HQ_OK);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(r, "rows")), 150);
    CHECK_EQ_INT(num(cJSON_GetObjectItem(r, "total"), "served"), 150);
    cJSON_Delete(r);

    /* a temporary window opened while the hall ran (hqd_overrides.c's
     * window_open event names its services), then closed */
    int D8 = D0 + 8;
    ticket(D8, "B050", "B", "B", "done", 7, "101", M(10, 0), M(10, 10), M(10, 10), M(10, 20));
    event(D8, M(10, 0), "window_open", 7, NULL, NULL, "{\"services\":[\"B\"]}");
    event(D8, M(10, 0), "login", 7, "101", NULL, NULL);
    event(D8, M(10, 10), "call", 7, "101", "B050", NULL);
    event(D8, M(10, 20), "finish", 7, "101", "B050", NULL);
    event(D8, M(10, 30), "window_close", 7, NULL, NULL, NULL);
    CHECK(hq_fig_build_day(db, &c, &o, D8, now, "fig_day", err, sizeof err) == HQ_OK);
    CHECK(hq_fig_report(db, &c, &o, D8, D8, HQ_FIG_WINDOW, D0 + 10, now, &r, err, sizeof err) ==
          HQ_OK);
    CHECK_EQ_INT(num(row(r, "7"), "attendance.signed_in_s"), 1800); /* closed at 10:30 */
    CHECK_EQ_INT(num(row(r, "7"), "attendance.idle_s"), 600);       /* B050 waited 10:00-10:10 */
    CHECK_EQ_INT(num(row(r, "7"), "served"), 1);
    cJSON_Delete(r);

    /* appeals (the call-back module's table): an upheld one leaves the
     * figures, a pending one is counted and shown */
    int D9 = D0 + 9;
    ticket(D9, "A060", "A", "A", "done", 1, "101", M(9, 0), M(9, 1), M(9, 1), M(9, 5));
    ticket(D9, "A061", "A", "A", "done", 1, "101", M(9, 5), M(9, 6), M(9, 6), M(9, 9));
    eval(D9, "A060", "A", 1, "101", 1, "open");
    eval(D9, "A061", "A", 1, "101", 2, "open");
    sql("CREATE TABLE eval_appeals(evaluation TEXT PRIMARY KEY, kind TEXT NOT NULL,"
        " reason TEXT NOT NULL, by_staff TEXT, actor TEXT NOT NULL, at INTEGER NOT NULL,"
        " state TEXT NOT NULL DEFAULT 'pending');"
        "INSERT INTO eval_appeals(evaluation, kind, reason, actor, at, state) VALUES"
        "('e-A060-20796', 'clerk', 'x', 'm', 0, 'upheld'), ('e-A061-20796', 'clerk', 'x', 'm', 0,"
        " 'pending')");
    CHECK(hq_fig_build_day(db, &c, &o, D9, now, "fig_day", err, sizeof err) == HQ_OK);
    CHECK(hq_fig_report(db, &c, &o, D9, D9, HQ_FIG_HALL, D0 + 10, now, &r, err, sizeof err) ==
          HQ_OK);
    CHECK_EQ_INT(num(row(r, "hall"), "ratings.count"), 1);
    CHECK_EQ_INT(num(row(r, "hall"), "ratings.bad"), 1);
    CHECK_EQ_INT(num(row(r, "hall"), "ratings.appeals_pending"), 1);
    CHECK_EQ_INT(num(row(r, "hall"), "ratings.appeals_upheld"), 1);
    cJSON_Delete(r);

    /* percentiles: the bucket's top, capped by the maximum */
    uint32_t hist[HQ_FIG_BUCKETS] = {0};
    CHECK_EQ_INT(hq_fig_percentile(hist, 0.5, 0), -1);
    hist[hq_fig_bucket(61)] = 1;
    CHECK_EQ_INT(hq_fig_percentile(hist, 0.5, 61), 61);
    CHECK_EQ_INT(hq_fig_bucket(40 * 60), 40);
    CHECK_EQ_INT(hq_fig_bucket(99999), HQ_FIG_BUCKETS - 1);
    sqlite3_close(db);
    return check_report("test_figures");
}
