/*
 * hqd_reports.c — reports over any period (issue 18): the rollup job and the
 * manager's routes. The figures themselves are firmware/figures.c.
 *
 *   GET  /api/v1/admin/reports?from=&to=&by=hall|service|window|clerk[&format=csv|xlsx]
 *   GET  /api/v1/admin/reports/exclusions?from=&to=
 *   POST /api/v1/admin/reports/exclusions  {"kind":"absence"|"test"|"fault", "staff", "window",
 *                                           "ticket", "from", "to", "reason", "note"}
 *   POST /api/v1/admin/reports/exclusions/{id}/revoke
 *   POST /api/v1/admin/reports/rebuild?from=&to=
 *
 * The rollup job runs on the loop (first pass 10 s after start, then
 * hourly): every business day before today that has raw rows and no rollup
 * is rolled up, one day a step. Rollups are written by this job, not in the
 * command transactions, so the command path is untouched (docs/DESIGN.md
 * "Report figures").
 */
#include "hqd_reports.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "admin_rules.h"
#include "api.h"
#include "daemon.h"
#include "figures.h"
#include "hq.h"
#include "loop.h"
#include "store.h"

#define REP_FIRST_MS 10000u
#define REP_PERIOD_MS 3600000u
#define REP_STEP_MS 200u
#define REP_MAX_DAYS 3660 /* a report spans at most ten years */

struct hqd_reports {
    struct hq_daemon *d;
    uint64_t timer;
    int64_t rolled; /* days rolled up since start */
};

static struct hqd_reports rep__state;

static struct hq_fig_opts rep__opts(struct hq_daemon *d)
{
    return (struct hq_fig_opts){.wait_threshold_s = d->cfg.reports_wait_threshold_s};
}

static int32_t rep__today(struct hq_daemon *d)
{
    return hq_engine_day_of(&d->cfg.engine, hq_loop_wall_s());
}

static int rep__build(struct hq_daemon *d, int32_t day)
{
    char err[256] = "";
    struct hq_fig_opts o = rep__opts(d);
    if (!hq_fig_day_rebuildable(hq_store_db(d->store), &d->cfg.engine, day)) return HQ_ERR_STATE;
    int rc = hq_store_begin(d->store);
    if (rc) return rc;
    rc = hq_fig_build_day(hq_store_db(d->store), &d->cfg.engine, &o, day, hq_loop_wall_s(),
                          "fig_day", err, sizeof err);
    hq_store_end(d->store, rc != HQ_OK);
    if (rc) LOG_WARN("REPORT", "%s", err);
    return rc;
}

/* The oldest day before today with tickets or events but no rollup. */
static int32_t rep__next_missing(struct hq_daemon *d)
{
    sqlite3 *db = hq_store_db(d->store);
    sqlite3_stmt *q = NULL;
    int32_t day = -1;
    if (sqlite3_prepare_v2(db,
                           "SELECT DISTINCT day FROM tickets WHERE day < ? AND day NOT IN"
                           " (SELECT day FROM fig_day WHERE scope='hall') ORDER BY day LIMIT 1",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int(q, 1, rep__today(d));
        if (sqlite3_step(q) == SQLITE_ROW) day = sqlite3_column_int(q, 0);
    }
    sqlite3_finalize(q);
    return day;
}

static void rep__note_purge(struct hq_daemon *d)
{
    /* the retention pass deletes event-log rows older than this: a day
     * before it cannot be rebuilt (figures.c hq_fig_day_rebuildable) */
    if (!d->cfg.store_event_log_days) return;
    int64_t cut = hq_loop_wall_s() - (int64_t)d->cfg.store_event_log_days * 86400;
    char sql[160];
    snprintf(sql, sizeof sql,
             "INSERT OR REPLACE INTO meta(key, value) VALUES('fig_events_purged_before', '%lld')",
             (long long)cut);
    if (hq_store_begin(d->store) == HQ_OK) {
        int bad = sqlite3_exec(hq_store_db(d->store), sql, NULL, NULL, NULL) != SQLITE_OK;
        if (!bad && d->cfg.reports_keep_years)
            bad = hq_fig_purge(hq_store_db(d->store),
                               rep__today(d) - (int32_t)(d->cfg.reports_keep_years * 366)) != HQ_OK;
        hq_store_end(d->store, bad);
    }
}

static void rep__step(struct hq_loop *loop, void *arg)
{
    struct hqd_reports *r = arg;
    r->timer = 0;
    int32_t day = rep__next_missing(r->d);
    if (day < 0 || rep__build(r->d, day) != HQ_OK) {
        rep__note_purge(r->d);
        r->timer = hq_loop_timer(loop, REP_PERIOD_MS, rep__step, r);
        return;
    }
    r->rolled++;
    r->timer = hq_loop_timer(loop, REP_STEP_MS, rep__step, r);
}

/* ---------------------------------------------------------------- routes */

static const char *rep__arg(struct hq_api_req *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

static int rep__period(struct hq_api_req *req, int32_t *from, int32_t *to)
{
    const char *f = rep__arg(req, "from"), *t = rep__arg(req, "to");
    int32_t today = rep__today(req->d);
    *from = *to = today;
    if (f && *f && admin_parse_day(f, from)) return HQ_ERR_INVALID;
    if (t && *t && admin_parse_day(t, to)) return HQ_ERR_INVALID;
    if (!t || !*t) *to = *from > today ? *from : today;
    if (*from > *to || *to - *from >= REP_MAX_DAYS) return HQ_ERR_INVALID;
    return HQ_OK;
}

/* The columns of the CSV and XLSX exports: header (中文 / English) and the
 * JSON path of the value in a row. */
static const struct {
    const char *zh, *path;
} rep__cols[] = {
    {"编号 Key", "key"},
    {"名称 Name", "name"},
    {"天数 Days", "days"},
    {"取号量 Arrivals", "arrivals"},
    {"办结量 Served", "served"},
    {"过号 No-shows", "no_show"},
    {"取消 Cancelled", "cancelled"},
    {"转移 Transfers", "transferred"},
    {"重新排队 Re-queues", "requeued"},
    {"平均等候(秒) Mean wait s", "wait.mean_s"},
    {"等候P50(秒) Wait p50 s", "wait.p50_s"},
    {"等候P90(秒) Wait p90 s", "wait.p90_s"},
    {"最长等候(秒) Max wait s", "wait.max_s"},
    {"超时等候占比 Over threshold", "wait.over_share"},
    {"平均办理(秒) Mean handling s", "handle.mean_s"},
    {"办理P90(秒) Handling p90 s", "handle.p90_s"},
    {"超时办理 Over time limit", "handle.over_limit"},
    {"平均到窗(秒) Walk s", "walk_mean_s"},
    {"评价数 Ratings", "ratings.count"},
    {"满意率 Satisfaction", "ratings.satisfaction"},
    {"差评 Bad", "ratings.bad"},
    {"差评未办结 Bad open", "ratings.bad_open"},
    {"评价覆盖率 Coverage", "ratings.coverage"},
    {"签到时长(秒) Signed in s", "attendance.signed_in_s"},
    {"暂停时长(秒) Paused s", "attendance.pause_s"},
    {"空岗(秒) Idle while waiting s", "attendance.idle_s"},
    {"每小时办结 Served per hour", "attendance.served_per_hour"},
    {"排除测试号 Test tickets excluded", "excluded.test_tickets"},
    {"请假等(秒) Approved absence s", "excluded.absence_s"},
    {"设备故障(秒) Device fault s", "excluded.fault_s"},
};
#define REP_NCOLS (sizeof rep__cols / sizeof rep__cols[0])

static const cJSON *rep__path(const cJSON *o, const char *path)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t && o; t = strtok_r(NULL, ".", &save))
        o = cJSON_GetObjectItemCaseSensitive(o, t);
    return o;
}

static int rep__csv(struct hq_api_req *req, cJSON *r)
{
    struct admin_buf b = {0};
    admin_buf_add(&b, "\xEF\xBB\xBF", 3); /* BOM: Excel reads UTF-8 */
    for (size_t i = 0; i < REP_NCOLS; i++)
        admin_csv_field(&b, rep__cols[i].zh, i + 1 < REP_NCOLS ? ',' : '\n');
    cJSON *rows = cJSON_GetObjectItem(r, "rows"), *row;
    cJSON_ArrayForEach(row, rows)
    {
        for (size_t i = 0; i < REP_NCOLS; i++) {
            const cJSON *v = rep__path(row, rep__cols[i].path);
            char num[32] = "";
            const char *s = num;
            if (cJSON_IsString(v))
                s = v->valuestring;
            else if (cJSON_IsNumber(v))
                snprintf(num, sizeof num, "%.15g", v->valuedouble);
            admin_csv_field(&b, s, i + 1 < REP_NCOLS ? ',' : '\n');
        }
    }
    cJSON_Delete(r);
    if (b.oom) {
        admin_buf_free(&b);
        return hq_api_reply_error(req, HQ_ERR_NOMEM, NULL);
    }
    int rc = hq_api_reply_text(req, MHD_HTTP_OK, "text/csv; charset=utf-8", b.p, b.len);
    admin_buf_free(&b);
    return rc;
}

static void rep__cell(lxw_worksheet *ws, int row, int col, const cJSON *v)
{
    if (cJSON_IsNumber(v))
        worksheet_write_number(ws, (lxw_row_t)row, (lxw_col_t)col, v->valuedouble, NULL);
    else if (cJSON_IsString(v))
        worksheet_write_string(ws, (lxw_row_t)row, (lxw_col_t)col, v->valuestring, NULL);
}

/* One workbook, one sheet per view: 汇总 (the figures), 分时段 (arrivals
 * and served per hour), 暂停原因 (pause time per reason). */
static int rep__xlsx(struct hq_api_req *req, cJSON *r)
{
    char path[] = "/tmp/hallq-report-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        cJSON_Delete(r);
        return hq_api_reply_error(req, HQ_ERR_IO, "no temporary file for the workbook");
    }
    close(fd);
    lxw_workbook *wb = workbook_new(path);
    lxw_format *bold = wb ? workbook_add_format(wb) : NULL;
    if (bold) format_set_bold(bold);
    cJSON *rows = cJSON_GetObjectItem(r, "rows"), *row;
    lxw_worksheet *ws = wb ? workbook_add_worksheet(wb, "汇总") : NULL;
    if (ws) {
        for (size_t i = 0; i < REP_NCOLS; i++)
            worksheet_write_string(ws, 0, (lxw_col_t)i, rep__cols[i].zh, bold);
        int n = 1;
        cJSON_ArrayForEach(row, rows)
        {
            for (size_t i = 0; i < REP_NCOLS; i++)
                rep__cell(ws, n, (int)i, rep__path(row, rep__cols[i].path));
            n++;
        }
    }
    ws = wb ? workbook_add_worksheet(wb, "分时段") : NULL;
    if (ws) {
        worksheet_write_string(ws, 0, 0, "名称 Name", bold);
        worksheet_write_string(ws, 0, 1, "项目 Figure", bold);
        for (int h = 0; h < 24; h++) {
            char k[8];
            snprintf(k, sizeof k, "%02d时", h);
            worksheet_write_string(ws, 0, (lxw_col_t)(2 + h), k, bold);
        }
        int n = 1;
        cJSON_ArrayForEach(row, rows)
        {
            for (int which = 0; which < 2; which++) {
                rep__cell(ws, n, 0, cJSON_GetObjectItem(row, "name"));
                worksheet_write_string(ws, (lxw_row_t)n, 1, which ? "办结 Served" : "取号 Arrivals",
                                       NULL);
                const cJSON *a = rep__path(row, which ? "by_hour.served" : "by_hour.arrivals");
                for (int h = 0; h < 24; h++)
                    rep__cell(ws, n, 2 + h, cJSON_GetArrayItem(a, h));
                n++;
            }
        }
    }
    ws = wb ? workbook_add_worksheet(wb, "暂停原因") : NULL;
    if (ws) {
        worksheet_write_string(ws, 0, 0, "名称 Name", bold);
        worksheet_write_string(ws, 0, 1, "暂停原因 Reason", bold);
        worksheet_write_string(ws, 0, 2, "时长(秒) Seconds", bold);
        int n = 1;
        cJSON_ArrayForEach(row, rows)
        {
            const cJSON *it;
            cJSON_ArrayForEach(it, rep__path(row, "attendance.pause_by_reason"))
            {
                rep__cell(ws, n, 0, cJSON_GetObjectItem(row, "name"));
                worksheet_write_string(ws, (lxw_row_t)n, 1, it->string, NULL);
                rep__cell(ws, n, 2, it);
                n++;
            }
        }
    }
    cJSON_Delete(r);
    lxw_error e = wb ? workbook_close(wb) : LXW_ERROR_MEMORY_MALLOC_FAILED;
    if (e != LXW_NO_ERROR) {
        unlink(path);
        LOG_ERR("REPORT", "writing the workbook failed: %s", lxw_strerror(e));
        return hq_api_reply_error(req, HQ_ERR_IO, "the workbook could not be written");
    }
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len = 0;
    if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len)) && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    if (f) fclose(f);
    unlink(path);
    if (!buf) return hq_api_reply_error(req, HQ_ERR_IO, "the workbook could not be read back");
    int rc = hq_api_reply_text(req, MHD_HTTP_OK,
                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               buf, (size_t)len);
    free(buf);
    return rc;
}

static int rep__report(struct hq_api_req *req)
{
    struct hq_daemon *d = req->d;
    int32_t from, to;
    if (rep__period(req, &from, &to))
        return hq_api_reply_error(req, HQ_ERR_INVALID,
                                  "from and to must be YYYY-MM-DD, from <= to, at most ten years");
    const char *by = rep__arg(req, "by");
    int scope = hq_fig_scope_from(by && *by ? by : "hall");
    if (scope < 0)
        return hq_api_reply_error(req, HQ_ERR_INVALID, "by must be hall, service, window or clerk");
    const char *fmt = rep__arg(req, "format");
    if (fmt && *fmt && strcmp(fmt, "json") && strcmp(fmt, "csv") && strcmp(fmt, "xlsx"))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "format must be json, csv or xlsx");
    struct hq_fig_opts o = rep__opts(d);
    char err[256] = "";
    cJSON *r = NULL;
    int rc = hq_fig_report(hq_store_db(d->store), &d->cfg.engine, &o, from, to, scope,
                           rep__today(d), hq_loop_wall_s(), &r, err, sizeof err);
    if (rc) {
        LOG_ERR("REPORT", "%s", err);
        return hq_api_reply_error(req, rc, err);
    }
    if (fmt && strcmp(fmt, "csv") == 0) return rep__csv(req, r);
    if (fmt && strcmp(fmt, "xlsx") == 0) return rep__xlsx(req, r);
    return hq_api_reply_json(req, MHD_HTTP_OK, r);
}

/* a time: unix seconds or "YYYY-MM-DD" (the day's local midnight) */
static int rep__time(struct hq_daemon *d, const cJSON *v, int64_t *t, int end)
{
    int32_t day;
    if (cJSON_IsNumber(v) && v->valuedouble > 0) {
        *t = (int64_t)v->valuedouble;
        return HQ_OK;
    }
    if (cJSON_IsString(v) && admin_parse_day(v->valuestring, &day) == HQ_OK) {
        *t = (int64_t)(day + end) * 86400 - d->cfg.engine.utc_offset_s;
        return HQ_OK;
    }
    return HQ_ERR_INVALID;
}

/* The outbox record of an exclusion or its revocation: the box's id and the
 * time it was recorded name it (a database started over reuses ids). Only
 * what the figures need and who did it: the reason and note are free text
 * a manager typed (they may describe a person's health) and stay here. */
static cJSON *rep__excl_record(struct hq_daemon *d, const char *kind, int64_t id,
                               int64_t created_at, const char *actor)
{
    char ts[32];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddNumberToObject(o, "exclusion", (double)id);
    hq_time_rfc3339(created_at, d->cfg.engine.utc_offset_s, ts);
    cJSON_AddStringToObject(o, "created_at", ts);
    cJSON_AddStringToObject(o, "actor", actor ? actor : "");
    return o;
}

/* The past days of [from, to) rolled up again (an exclusion changed them). */
static int rep__rebuild_span(struct hq_daemon *d, int64_t from, int64_t to)
{
    int32_t today = rep__today(d);
    int32_t d0 = hq_engine_day_of(&d->cfg.engine, from),
            d1 = hq_engine_day_of(&d->cfg.engine, to - 1);
    int rebuilt = 0;
    for (int32_t day = d0; day <= d1 && day < today && rebuilt < REP_MAX_DAYS; day++)
        if (rep__build(d, day) == HQ_OK) rebuilt++;
    return rebuilt;
}

/* An exclusion recorded or revoked is committed: the past days [from, to) touches are rolled
 * up again, where their raw rows still are, and the answer says how many. */
static int rep__excl_committed(struct hq_api_req *req, int64_t id, int64_t from, int64_t to,
                               const char *what)
{
    int rebuilt = rep__rebuild_span(req->d, from, to);
    LOG_NOTICE("REPORT", "exclusion %lld %s by %s; %d day(s) rolled up again", (long long)id, what,
               req->who.actor, rebuilt);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddNumberToObject(o, "rebuilt_days", rebuilt);
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

static int rep__exclusion_add(struct hq_api_req *req)
{
    struct hq_daemon *d = req->d;
    const cJSON *b = req->body;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(b, "kind"),
                *staff = cJSON_GetObjectItemCaseSensitive(b, "staff"),
                *win = cJSON_GetObjectItemCaseSensitive(b, "window"),
                *ticket = cJSON_GetObjectItemCaseSensitive(b, "ticket"),
                *reason = cJSON_GetObjectItemCaseSensitive(b, "reason"),
                *note = cJSON_GetObjectItemCaseSensitive(b, "note");
    int64_t from, to;
    if (!cJSON_IsString(kind) ||
        (strcmp(kind->valuestring, "absence") && strcmp(kind->valuestring, "test") &&
         strcmp(kind->valuestring, "fault")))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "kind must be absence, test or fault");
    if (rep__time(d, cJSON_GetObjectItemCaseSensitive(b, "from"), &from, 0) ||
        rep__time(d, cJSON_GetObjectItemCaseSensitive(b, "to"), &to,
                  cJSON_IsString(cJSON_GetObjectItemCaseSensitive(b, "to"))) ||
        to <= from)
        return hq_api_reply_error(req, HQ_ERR_INVALID,
                                  "from and to (unix seconds or YYYY-MM-DD, to inclusive) with "
                                  "from before to are needed");
    if (!cJSON_IsString(reason) || !*reason->valuestring || strlen(reason->valuestring) > 64)
        return hq_api_reply_error(req, HQ_ERR_INVALID, "reason (1..64 bytes) is needed");
    bool absence = strcmp(kind->valuestring, "absence") == 0,
         test = strcmp(kind->valuestring, "test") == 0;
    if (absence && (!cJSON_IsString(staff) || !*staff->valuestring))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "an absence names the staff");
    if (test && (!cJSON_IsString(ticket) || !*ticket->valuestring))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "a test ticket names the ticket");
    if (note && (!cJSON_IsString(note) || strlen(note->valuestring) > 500))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "note must be text of at most 500 bytes");
    int64_t now = hq_loop_wall_s();
    int rc = hq_store_begin(d->store);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    sqlite3 *db = hq_store_db(d->store);
    sqlite3_stmt *q = NULL;
    rc = HQ_ERR_DB;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO fig_exclusions(kind, staff, window, ticket, from_at, to_at,"
                           " reason, note, created_by, created_at) VALUES(?,?,?,?,?,?,?,?,?,?)",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, kind->valuestring, -1, SQLITE_STATIC);
        if (cJSON_IsString(staff)) sqlite3_bind_text(q, 2, staff->valuestring, -1, SQLITE_STATIC);
        if (cJSON_IsNumber(win) && win->valueint > 0) sqlite3_bind_int(q, 3, win->valueint);
        if (cJSON_IsString(ticket)) sqlite3_bind_text(q, 4, ticket->valuestring, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 5, from);
        sqlite3_bind_int64(q, 6, to);
        sqlite3_bind_text(q, 7, reason->valuestring, -1, SQLITE_STATIC);
        if (cJSON_IsString(note)) sqlite3_bind_text(q, 8, note->valuestring, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 9, req->who.actor, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 10, now);
        if (sqlite3_step(q) == SQLITE_DONE) rc = HQ_OK;
    }
    sqlite3_finalize(q);
    int64_t id = sqlite3_last_insert_rowid(db);
    if (!rc) {
        /* the central server applies it too (docs/SYNC.md "Exclusions") */
        cJSON *o = rep__excl_record(d, "exclusion", id, now, req->who.actor);
        cJSON_AddStringToObject(o, "exclusion_kind", kind->valuestring);
        if (cJSON_IsString(staff)) cJSON_AddStringToObject(o, "staff", staff->valuestring);
        if (cJSON_IsNumber(win) && win->valueint > 0)
            cJSON_AddNumberToObject(o, "window", win->valueint);
        if (cJSON_IsString(ticket)) cJSON_AddStringToObject(o, "ticket", ticket->valuestring);
        char ts[32];
        hq_time_rfc3339(from, d->cfg.engine.utc_offset_s, ts);
        cJSON_AddStringToObject(o, "from", ts);
        hq_time_rfc3339(to, d->cfg.engine.utc_offset_s, ts);
        cJSON_AddStringToObject(o, "to", ts);
        rc = hq_store_outbox_add(d->store, "event", now, o);
    }
    int erc = hq_store_end(d->store, rc != HQ_OK);
    if (!rc) rc = erc;
    if (rc) return hq_api_reply_error(req, rc, NULL);
    char what[32];
    snprintf(what, sizeof what, "(%s) recorded", kind->valuestring);
    return rep__excl_committed(req, id, from, to, what);
}

/* POST …/exclusions/{id}/revoke: the row stays (revoked_at, revoked_by), so
 * a disputed 考核 can still be traced; the days it touched are rebuilt. */
static int rep__exclusion_revoke(struct hq_api_req *req, const char *tail)
{
    struct hq_daemon *d = req->d;
    char *end = NULL;
    long long id = strtoll(tail, &end, 10);
    if (id <= 0 || !end || strcmp(end, "/revoke") != 0)
        return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, NULL);
    int64_t now = hq_loop_wall_s(), created = 0, from = 0, to = 0;
    int rc = hq_store_begin(d->store);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    sqlite3 *db = hq_store_db(d->store);
    sqlite3_stmt *q = NULL;
    rc = HQ_ERR_DB;
    if (sqlite3_prepare_v2(db,
                           "SELECT created_at, from_at, to_at, revoked_at IS NOT NULL"
                           " FROM fig_exclusions WHERE id = ?",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, id);
        int s = sqlite3_step(q);
        rc = s == SQLITE_DONE           ? HQ_ERR_NOT_FOUND
             : s != SQLITE_ROW          ? HQ_ERR_DB
             : sqlite3_column_int(q, 3) ? HQ_ERR_STATE
                                        : HQ_OK;
        created = sqlite3_column_int64(q, 0);
        from = sqlite3_column_int64(q, 1);
        to = sqlite3_column_int64(q, 2);
    }
    sqlite3_finalize(q);
    q = NULL;
    if (!rc) {
        rc = HQ_ERR_DB;
        if (sqlite3_prepare_v2(db, "UPDATE fig_exclusions SET revoked_at = ? WHERE id = ?", -1, &q,
                               NULL) == SQLITE_OK) {
            sqlite3_bind_int64(q, 1, now);
            sqlite3_bind_int64(q, 2, id);
            if (sqlite3_step(q) == SQLITE_DONE) rc = HQ_OK;
        }
        sqlite3_finalize(q);
    }
    if (!rc)
        rc = hq_store_outbox_add(
            d->store, "event", now,
            rep__excl_record(d, "exclusion_revoked", id, created, req->who.actor));
    int erc = hq_store_end(d->store, rc != HQ_OK);
    if (!rc) rc = erc;
    if (rc == HQ_ERR_STATE)
        return hq_api_reply_error(req, rc, "this exclusion was revoked already");
    if (rc) return hq_api_reply_error(req, rc, NULL);
    return rep__excl_committed(req, id, from, to, "revoked");
}

static int rep__exclusion_list(struct hq_api_req *req)
{
    struct hq_daemon *d = req->d;
    int32_t from, to;
    if (rep__period(req, &from, &to))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "from and to must be YYYY-MM-DD");
    int64_t a = (int64_t)from * 86400 - d->cfg.engine.utc_offset_s,
            b = a + (int64_t)(to - from + 1) * 86400;
    sqlite3_stmt *q = NULL;
    sqlite3 *db = hq_store_db(d->store);
    if (sqlite3_prepare_v2(db,
                           "SELECT id, kind, staff, window, ticket, from_at, to_at, reason, note,"
                           " created_by, created_at FROM fig_exclusions WHERE revoked_at IS NULL"
                           " AND to_at > ? AND from_at < ? ORDER BY from_at, id",
                           -1, &q, NULL) != SQLITE_OK)
        return hq_api_reply_error(req, HQ_ERR_DB, NULL);
    sqlite3_bind_int64(q, 1, a);
    sqlite3_bind_int64(q, 2, b);
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "exclusions");
    static const char *const names[] = {"id", "kind",   "staff", "window",     "ticket",    "from",
                                        "to", "reason", "note",  "created_by", "created_at"};
    while (sqlite3_step(q) == SQLITE_ROW) {
        cJSON *x = cJSON_CreateObject();
        for (int i = 0; i < 11; i++) {
            int t = sqlite3_column_type(q, i);
            if (t == SQLITE_NULL)
                cJSON_AddNullToObject(x, names[i]);
            else if (t == SQLITE_INTEGER)
                cJSON_AddNumberToObject(x, names[i], (double)sqlite3_column_int64(q, i));
            else
                cJSON_AddStringToObject(x, names[i], (const char *)sqlite3_column_text(q, i));
        }
        cJSON_AddItemToArray(arr, x);
    }
    sqlite3_finalize(q);
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

static int rep__rebuild(struct hq_api_req *req)
{
    struct hq_daemon *d = req->d;
    int32_t from, to, today = rep__today(d);
    if (rep__period(req, &from, &to))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "from and to must be YYYY-MM-DD");
    int built = 0, kept = 0;
    for (int32_t day = from; day <= to && day < today; day++) {
        int rc = rep__build(d, day);
        if (rc == HQ_OK)
            built++;
        else if (rc == HQ_ERR_STATE)
            kept++;
        else
            return hq_api_reply_error(req, rc, "rolling up failed (see the log)");
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rebuilt_days", built);
    /* days whose event log is gone keep their rollup */
    cJSON_AddNumberToObject(o, "kept_days", kept);
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

static int rep__route(struct hq_api_req *req, void *arg)
{
    (void)arg;
    const char *t = req->tail ? req->tail : "";
    bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    if (get && (!*t || strcmp(t, "/") == 0)) return rep__report(req);
    if (get && strcmp(t, "/exclusions") == 0) return rep__exclusion_list(req);
    if (post && strcmp(t, "/exclusions") == 0) return rep__exclusion_add(req);
    if (post && strncmp(t, "/exclusions/", 12) == 0) return rep__exclusion_revoke(req, t + 12);
    if (post && strcmp(t, "/rebuild") == 0) return rep__rebuild(req);
    return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, NULL);
}

static void rep__status(struct hq_daemon *d, cJSON *status, void *arg)
{
    struct hqd_reports *r = arg;
    cJSON *o = cJSON_AddObjectToObject(status, "reports");
    if (!o) return;
    cJSON_AddNumberToObject(o, "keep_years", d->cfg.reports_keep_years);
    cJSON_AddNumberToObject(o, "rolled_up_days", (double)r->rolled);
}

int hqd_reports_init(struct hq_daemon *d)
{
    struct hqd_reports *r = &rep__state;
    char err[256];
    memset(r, 0, sizeof *r);
    r->d = d;
    if (hq_fig_schema(hq_store_db(d->store), err, sizeof err)) {
        LOG_ERR("REPORT", "%s", err);
        return HQ_ERR_DB;
    }
    int rc = 0;
    if (d->api && ((rc = hq_api_route_for(d->api, NULL, "/api/v1/admin/reports", HQ_AUTH_ADMIN,
                                          rep__route, r)) ||
                   (rc = hq_api_status_part(d->api, rep__status, r))))
        return rc;
    d->mod.reports = r;
    r->timer = hq_loop_timer(d->loop, REP_FIRST_MS, rep__step, r);
    return HQ_OK;
}

void hqd_reports_fini(struct hq_daemon *d)
{
    struct hqd_reports *r = d->mod.reports;
    if (!r) return;
    if (r->timer) hq_loop_timer_cancel(d->loop, r->timer);
    d->mod.reports = NULL;
}
