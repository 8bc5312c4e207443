/*
 * hqd_rating.c — 好差评 end to end, hallqd's side (issue 17; hqd_rating.h).
 *
 * Cases (办件) live in the store's `cases` table, keyed by the ticket's uuid;
 * the store writes one evaluation per case when the rating comes
 * (store.c store__write_evaluation, 一事一评). The rating itself always goes
 * through the engine (HQ_CMD_RATE), whose HQ_TF_RATED flag makes "one rating
 * per ticket" hold however many pages or pads try at once; the table's
 * unique (ticket, case_no) index holds it for the cases.
 */
#include "hqd_rating.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "daemon.h"
#include "store.h"

/* The national five levels (国办发〔2019〕51号), hallq's 5 = 非常满意. */
static const char *const rating_levels_zh[6] = {"",         "非常不满意", "不满意",
                                                "基本满意", "满意",       "非常满意"};
static const char *const rating_levels_en[6] = {"",     "Very dissatisfied", "Dissatisfied",
                                                "Fair", "Satisfied",         "Very satisfied"};

/* The national offline indicators (线下评价: 整体满意度, 服务效率, 服务水平,
 * 服务态度); overall is the level itself. */
static const struct {
    const char *key, *zh, *en;
} rating_indicators[3] = {
    {"efficiency", "服务效率", "Efficiency"},
    {"competence", "服务水平", "Competence"},
    {"attitude", "服务态度", "Attitude"},
};

/* Reason codes for 不满意 / 非常不满意, version "hallq-2019.1" (docs/DESIGN.md
 * "好差评 reasons"): grouped under the offline indicators they fault. The
 * codes are what records carry; the words are only the pages'. */
static const struct {
    int code;
    const char *indicator, *zh, *en;
} rating_reasons[] = {
    {1, "efficiency", "排队等候时间长", "Long wait in the queue"},
    {2, "efficiency", "办理时间超过承诺时限", "Took longer than promised"},
    {3, "efficiency", "多次跑动、重复提交材料", "Had to come again or hand in papers twice"},
    {4, "competence", "业务不熟练、解答不清楚", "Staff unsure of the business, unclear answers"},
    {5, "competence", "未一次性告知所需材料", "Not told at once everything needed"},
    {6, "competence", "办事指南与实际不符", "The service guide differs from practice"},
    {7, "attitude", "态度冷漠、言语生硬", "Cold or curt manner"},
    {8, "attitude", "推诿扯皮、故意刁难", "Passed the buck or made things hard"},
    {9, "attitude", "离岗或办理时做无关的事", "Away from the desk or busy with other things"},
    {10, "overall", "其他", "Other"},
};

static cJSON *rating__form(const struct hq_daemon *d)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "reasons_version", d->cfg.eval_reasons_version);
    cJSON *lv = cJSON_AddArrayToObject(f, "levels");
    for (int l = 5; l >= 1; l--) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "level", l);
        cJSON_AddStringToObject(o, "zh", rating_levels_zh[l]);
        cJSON_AddStringToObject(o, "en", rating_levels_en[l]);
        cJSON_AddItemToArray(lv, o);
    }
    cJSON *in = cJSON_AddArrayToObject(f, "indicators");
    for (size_t i = 0; i < HQ_ARRAY_LEN(rating_indicators); i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", rating_indicators[i].key);
        cJSON_AddStringToObject(o, "zh", rating_indicators[i].zh);
        cJSON_AddStringToObject(o, "en", rating_indicators[i].en);
        cJSON_AddItemToArray(in, o);
    }
    cJSON *rs = cJSON_AddArrayToObject(f, "reasons");
    for (size_t i = 0; i < HQ_ARRAY_LEN(rating_reasons); i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "code", rating_reasons[i].code);
        cJSON_AddStringToObject(o, "indicator", rating_reasons[i].indicator);
        cJSON_AddStringToObject(o, "zh", rating_reasons[i].zh);
        cJSON_AddStringToObject(o, "en", rating_reasons[i].en);
        cJSON_AddItemToArray(rs, o);
    }
    return f;
}

static int rating__reply_form(struct hq_api_req *req, void *arg)
{
    (void)arg;
    if (*req->tail) return HQ_ERR_NOT_FOUND;
    return hq_api_reply_json(req, MHD_HTTP_OK, rating__form(req->d));
}

/* A refusal in §6's shape; "rated" is the one pages and scripts look for. */
static int rating__refuse(struct hq_api_req *req, int err, const char *reason, const char *zh,
                          const char *en)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", hq_strerror(err));
    cJSON_AddStringToObject(o, "reason", reason);
    cJSON_AddStringToObject(o, "message", zh);
    cJSON_AddStringToObject(o, "message_en", en);
    return hq_api_reply_json(req, hq_api_http_status(err), o);
}

static int rating__reply_applied(struct hq_api_req *req, int rc, const struct hq_cmd *cmd)
{
    const struct hq_result *res = &req->d->res;
    if (rc && res->why) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "error", hq_strerror(rc));
        cJSON_AddStringToObject(o, "reason", hq_why_code(res->why));
        cJSON_AddStringToObject(o, "message", hq_why_zh(res->why));
        cJSON_AddStringToObject(o, "message_en", hq_why_en(res->why));
        return hq_api_reply_json(req, hq_api_http_status(rc), o);
    }
    if (rc) return hq_api_reply_error(req, rc, NULL);
    char uuid[37];
    hq_uuid_format(cmd->u.rate.uuid, uuid);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    /* the first record's uuid: the page's callback step names it */
    cJSON_AddStringToObject(o, "evaluation", uuid);
    cJSON_AddNumberToObject(o, "level", cmd->u.rate.level);
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

/* Free words are where a citizen writes a phone or ID number: a run of six
 * or more digits (an ID's final X too) is starred before it is stored,
 * logged or synced (STYLE.md personal data; the call-back number has its
 * own sealed route). */
static void rating__mask_numbers(char *s)
{
    for (char *p = s; *p;) {
        char *q = p;
        while ((*q >= '0' && *q <= '9') || ((*q == 'X' || *q == 'x') && q > p))
            q++;
        if (q - p >= 6) memset(p, '*', (size_t)(q - p));
        p = q > p ? q : p + 1;
    }
}

/* The body of a rating: level, indicators, reasons, text. */
static int rating__body(const cJSON *b, struct hq_cmd *cmd, const char **why)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, "level");
    *why = "body needs \"level\": 1 (非常不满意) to 5 (非常满意)";
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= 5) ||
        v->valuedouble != (int)v->valuedouble)
        return HQ_ERR_INVALID;
    cmd->u.rate.level = (uint8_t)v->valueint;
    const cJSON *ind = cJSON_GetObjectItemCaseSensitive(b, "indicators");
    if (ind) {
        *why = "\"indicators\" must be an object of levels 1 to 5 (efficiency, competence, "
               "attitude)";
        if (!cJSON_IsObject(ind)) return HQ_ERR_INVALID;
        for (size_t i = 0; i < HQ_ARRAY_LEN(rating_indicators); i++) {
            v = cJSON_GetObjectItemCaseSensitive(ind, rating_indicators[i].key);
            if (!v) continue;
            if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= 5) ||
                v->valuedouble != (int)v->valuedouble)
                return HQ_ERR_INVALID;
            cmd->u.rate.ind[i] = (uint8_t)v->valueint;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(b, "reasons");
    if (v) {
        const cJSON *it;
        *why = "\"reasons\" must be an array of the reason codes of GET /api/v1/evaluation/form";
        if (!cJSON_IsArray(v)) return HQ_ERR_INVALID;
        cJSON_ArrayForEach(it, v)
        {
            if (!cJSON_IsNumber(it) || !(it->valuedouble >= 1 && it->valuedouble <= 32) ||
                it->valuedouble != (int)it->valuedouble)
                return HQ_ERR_INVALID;
            cmd->u.rate.reasons |= 1u << (it->valueint - 1);
        }
        /* reasons belong to a bad rating only */
        *why = "reasons go with level 1 or 2 only";
        if (cmd->u.rate.reasons && cmd->u.rate.level > 2) return HQ_ERR_INVALID;
    }
    v = cJSON_GetObjectItemCaseSensitive(b, "text");
    if (v) {
        *why = "\"text\" must be a string of at most 300 bytes";
        if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof cmd->u.rate.text)
            return HQ_ERR_INVALID;
        for (const unsigned char *p = (const unsigned char *)v->valuestring; *p; p++)
            if (*p < 0x20) return HQ_ERR_INVALID;
        strcpy(cmd->u.rate.text, v->valuestring);
        rating__mask_numbers(cmd->u.rate.text);
    }
    return HQ_OK;
}

/* ------------------------------------------------------------ cases */

static int rating__cases(struct hq_api_req *req, int wi)
{
    struct hq_daemon *d = req->d;
    if (hq_api_is(req, HQ_AUTH_DEVICE))
        return hq_api_reply_error(req, HQ_ERR_AUTH, "a window's tablet may only rate");
    const struct hq_window_st *w = &d->eng.win[wi];
    /* The ticket being served, else the one just finished whose rating is still open. */
    int32_t ti = w->current >= 0 ? w->current : w->rating_ticket;
    if (ti < 0 || (size_t)ti >= d->eng.n_tickets)
        return rating__refuse(req, HQ_ERR_STATE, "no_ticket", "本窗口没有正在办理的号",
                              "no ticket at this window");
    if (d->eng.tickets[ti].flags & HQ_TF_RATED)
        return rating__refuse(req, HQ_ERR_STATE, "rated", "已评价", "already rated");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(req->body, "cases");
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 ||
        cJSON_GetArraySize(arr) > HQ_STORE_MAX_CASES)
        return hq_api_reply_error(
            req, HQ_ERR_INVALID,
            "body needs \"cases\": 1 to 16 of {case_no, item_code, item_name}");
    const cJSON *it;
    int k = 0;
    cJSON_ArrayForEach(it, arr)
    {
        static const struct {
            const char *key;
            size_t max;
        } f[3] = {{"case_no", 64}, {"item_code", 64}, {"item_name", 128}};
        for (int j = 0; j < 3; j++) {
            const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, f[j].key));
            char why[160];
            snprintf(why, sizeof why, "cases[%d].%s must be a string of 1 to %zu bytes", k,
                     f[j].key, f[j].max);
            if (!s || !*s || strlen(s) > f[j].max)
                return hq_api_reply_error(req, HQ_ERR_INVALID, why);
            for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20) return hq_api_reply_error(req, HQ_ERR_INVALID, why);
        }
        const char *cn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "case_no"));
        const cJSON *o;
        int m = 0;
        cJSON_ArrayForEach(o, arr)
        {
            if (m++ >= k) break;
            if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "case_no")), cn) ==
                0)
                return hq_api_reply_error(req, HQ_ERR_INVALID, "a case_no is given twice");
        }
        k++;
    }
    /* The set replaces the ticket's cases: the business system sends what the
     * citizen's visit covered, and may correct it until the rating. */
    sqlite3 *db = hq_store_db(d->store);
    char tuuid[37];
    hq_uuid_format(d->eng.tickets[ti].uuid, tuuid);
    int64_t now = hq_loop_wall_s();
    int rc = hq_store_begin(d->store);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    sqlite3_stmt *del = NULL, *ins = NULL;
    if (sqlite3_prepare_v2(db, "DELETE FROM cases WHERE ticket=?", -1, &del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO cases(ticket, idx, case_no, item_code, item_name, set_at, "
                           "set_by) VALUES(?,?,?,?,?,?,?)",
                           -1, &ins, NULL) != SQLITE_OK)
        goto dbfail;
    sqlite3_bind_text(del, 1, tuuid, -1, SQLITE_STATIC);
    if (sqlite3_step(del) != SQLITE_DONE) goto dbfail;
    k = 0;
    cJSON_ArrayForEach(it, arr)
    {
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, tuuid, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 2, k++);
        sqlite3_bind_text(ins, 3,
                          cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "case_no")), -1,
                          SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 4,
                          cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "item_code")),
                          -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 5,
                          cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "item_name")),
                          -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 6, now);
        sqlite3_bind_text(ins, 7, req->who.actor, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE) goto dbfail;
    }
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    rc = hq_store_end(d->store, 0);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    char label[16];
    hq_ticket_label(&d->eng, &d->eng.tickets[ti], label, sizeof label);
    LOG_INFO("RATING", "window %u: %d case(s) bound to ticket %s by %s",
             (unsigned)d->cfg.engine.windows[wi].number, k, label, req->who.actor);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddStringToObject(o, "ticket", tuuid);
    cJSON_AddStringToObject(o, "number", label);
    cJSON_AddItemToObject(o, "cases", cJSON_Duplicate(arr, 1));
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
dbfail:
    LOG_ERR("RATING", "binding cases: %s", sqlite3_errmsg(db));
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    hq_store_end(d->store, 1);
    return hq_api_reply_error(req, HQ_ERR_DB, NULL);
}

/* The cases of ticket uuid (for the pages: number and name only). */
static cJSON *rating__case_list(struct hq_daemon *d, const char *tuuid)
{
    cJSON *a = cJSON_CreateArray();
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(hq_store_db(d->store),
                           "SELECT case_no, item_name FROM cases WHERE ticket=? ORDER BY idx", -1,
                           &q, NULL) != SQLITE_OK)
        return a;
    sqlite3_bind_text(q, 1, tuuid, -1, SQLITE_STATIC);
    while (sqlite3_step(q) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "case_no", (const char *)sqlite3_column_text(q, 0));
        cJSON_AddStringToObject(o, "item_name", (const char *)sqlite3_column_text(q, 1));
        cJSON_AddItemToArray(a, o);
    }
    sqlite3_finalize(q);
    return a;
}

int hqd_rating_window(struct hq_api_req *req, int wi, const char *action)
{
    struct hq_daemon *d = req->d;
    if (strcmp(action, "cases") == 0) return rating__cases(req, wi);
    if (strcmp(action, "rate-request") != 0) return HQ_ERR_NOT_FOUND;
    if (hq_api_is(req, HQ_AUTH_DEVICE))
        return hq_api_reply_error(req, HQ_ERR_AUTH, "a window's tablet may only rate");
    /* The business system ends the service and invites the rating: a finish
     * (which prompts the window's pad and opens the QR page); a rating still
     * open is answered as it stands. */
    const struct hq_window_st *w = &d->eng.win[wi];
    uint16_t n = d->cfg.engine.windows[wi].number;
    if (w->current < 0) {
        if (w->rating_ticket >= 0 && (uint32_t)hq_loop_wall_s() <= w->rating_deadline) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddBoolToObject(o, "ok", 1);
            cJSON_AddItemToObject(o, "ticket", hq_api_ticket_json(d, w->rating_ticket));
            return hq_api_reply_json(req, MHD_HTTP_OK, o);
        }
        return rating__refuse(req, HQ_ERR_STATE, "no_ticket", "本窗口没有可评价的服务",
                              "nothing to rate at this window");
    }
    struct hq_cmd cmd = {.type = HQ_CMD_FINISH, .window = n};
    int rc = hqd_apply(d, &cmd);
    if (rc) return rating__reply_applied(req, rc, &cmd);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddItemToObject(o, "ticket", hq_api_ticket_json(d, d->res.ticket));
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

/* ------------------------------------------------------------ QR page */

static int rating__closed(struct hq_api_req *req)
{
    char zh[96], en[96];
    unsigned h = req->d->cfg.eval_qr_open_h;
    snprintf(zh, sizeof zh, "评价期限已过（办结后 %u 小时内可评价）", h);
    snprintf(en, sizeof en, "the rating period has ended (open %u hours after the service)", h);
    return rating__refuse(req, HQ_ERR_STATE, "rating_closed", zh, en);
}

/* The QR page's GET answer: the ticket, whether it can still be rated and until when (until:
 * 0 for a ticket not finished), its cases and the form (levels, indicators, reasons). */
static int rating__qr_state(struct hq_api_req *req, const char *tuuid, const char *label,
                            int window, bool done, bool rated, int64_t until, int64_t now)
{
    struct hq_daemon *d = req->d;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ticket", tuuid);
    cJSON_AddStringToObject(o, "number", label);
    cJSON_AddNumberToObject(o, "window", window);
    cJSON_AddBoolToObject(o, "finished", done);
    cJSON_AddBoolToObject(o, "rated", rated);
    cJSON_AddBoolToObject(o, "open", done && !rated && now <= until);
    if (until) {
        char ts[32];
        hq_time_rfc3339(until, d->cfg.engine.utc_offset_s, ts);
        cJSON_AddStringToObject(o, "open_until", ts);
    }
    cJSON_AddItemToObject(o, "cases", rating__case_list(d, tuuid));
    cJSON_AddItemToObject(o, "form", rating__form(d));
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

/* The QR page of a ticket finished on an earlier business day: the engine
 * holds one day, so it is read and rated from the store (docs/DESIGN.md "QR
 * rating across days"); the page sees the same answers as for today's. */
static int rating__qr_past(struct hq_api_req *req, const char *tuuid)
{
    struct hq_daemon *d = req->d;
    int64_t now = hq_loop_wall_s(), open_s = d->cfg.engine.qr_open_s;
    struct hq_store_past p;
    int rc = hq_store_ticket_past(d->store, tuuid, &p);
    if (rc == HQ_ERR_NOT_FOUND)
        return rating__refuse(req, HQ_ERR_NOT_FOUND, "no_ticket", "未找到该号，或评价已过期",
                              "no such ticket, or its rating has closed");
    if (rc) return hq_api_reply_error(req, rc, NULL);
    int64_t until = p.done ? p.finished_at + open_s : 0;
    if (strcmp(req->method, "GET") == 0)
        return rating__qr_state(req, tuuid, p.label, p.window, p.done, p.rated, until, now);
    struct hq_cmd cmd = {.type = HQ_CMD_RATE, .window = p.window};
    cmd.u.rate.channel = HQ_CHAN_QR;
    cmd.u.rate.by_ticket = true;
    const char *why = NULL;
    rc = rating__body(req->body, &cmd, &why);
    if (rc) return hq_api_reply_error(req, rc, why);
    if (p.rated) return rating__refuse(req, HQ_ERR_STATE, "rated", "已评价", "already rated");
    if (!p.done || !p.window)
        return rating__refuse(req, HQ_ERR_STATE, "no_rating", "该号未办结，不能评价",
                              "this ticket was not served to the end");
    if (now > until) return rating__closed(req);
    hqd_random(cmd.u.rate.uuid, 16);
    cmd.u.rate.uuid[6] = (uint8_t)((cmd.u.rate.uuid[6] & 0x0f) | 0x40); /* version 4 */
    cmd.u.rate.uuid[8] = (uint8_t)((cmd.u.rate.uuid[8] & 0x3f) | 0x80);
    enum hq_why w = HQ_WHY_NONE;
    rc = hq_store_rate_past(d->store, tuuid, &cmd, now, open_s, &w);
    if (rc == HQ_ERR_STATE && w == HQ_WHY_RATED)
        return rating__refuse(req, HQ_ERR_STATE, "rated", "已评价", "already rated");
    if (rc == HQ_ERR_STATE) return rating__closed(req);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    LOG_INFO("RATING", "ticket %s of day %d rated %d on its QR page (an earlier business day)",
             p.label, p.day, cmd.u.rate.level);
    return rating__reply_applied(req, HQ_OK, &cmd);
}

/* GET|POST /api/v1/rate/{ticket uuid} */
static int rating__qr(struct hq_api_req *req, void *arg)
{
    struct hq_daemon *d = req->d;
    (void)arg;
    uint8_t u[16];
    if (hq_uuid_parse(req->tail, u) != HQ_OK)
        return rating__refuse(req, HQ_ERR_NOT_FOUND, "no_ticket", "未找到该号，或评价已过期",
                              "no such ticket, or its rating has closed");
    int32_t ti = hq_engine_find_uuid(&d->eng, u);
    if (ti < 0) {
        char tuuid[37];
        hq_uuid_format(u, tuuid);
        return rating__qr_past(req, tuuid);
    }
    const struct hq_ticket *t = &d->eng.tickets[ti];
    if (strcmp(req->method, "GET") == 0) {
        char tuuid[37], label[16];
        hq_uuid_format(t->uuid, tuuid);
        bool done = t->status == HQ_TS_DONE;
        return rating__qr_state(req, tuuid, hq_ticket_label(&d->eng, t, label, sizeof label),
                                t->window, done, (t->flags & HQ_TF_RATED) != 0,
                                done ? (int64_t)t->finished_at + d->cfg.engine.qr_open_s : 0,
                                hq_loop_wall_s());
    }
    struct hq_cmd cmd = {.type = HQ_CMD_RATE, .window = t->window};
    cmd.u.rate.channel = HQ_CHAN_QR;
    cmd.u.rate.by_ticket = true;
    cmd.u.rate.ticket = ti;
    const char *why = NULL;
    int rc = rating__body(req->body, &cmd, &why);
    if (rc) return hq_api_reply_error(req, rc, why);
    if (t->flags & HQ_TF_RATED)
        return rating__refuse(req, HQ_ERR_STATE, "rated", "已评价", "already rated");
    if (!t->window)
        return rating__refuse(req, HQ_ERR_STATE, "no_rating", "该号尚未办结",
                              "this ticket has not been served yet");
    if (t->status == HQ_TS_DONE &&
        hq_loop_wall_s() > (int64_t)t->finished_at + d->cfg.engine.qr_open_s)
        return rating__closed(req);
    return rating__reply_applied(req, hqd_apply(d, &cmd), &cmd);
}

/* ------------------------------------------------------------ window pad */

/* Is the caller window n's rating screen: its device token, or the address
 * evaluation.pads gives it? Nobody else on the LAN may rate that window. */
static bool rating__is_pad(struct hq_api_req *req, uint16_t n)
{
    if (hq_api_is(req, HQ_AUTH_DEVICE)) return req->who.window == n;
    const union MHD_ConnectionInfo *ci =
        req->conn ? MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    if (!ci || !ci->client_addr) return false;
    char ip[INET6_ADDRSTRLEN] = "";
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip,
                  sizeof ip);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], ip, sizeof ip);
        else
            inet_ntop(AF_INET6, a, ip, sizeof ip);
    }
    for (int i = 0; i < req->d->cfg.n_eval_pads; i++)
        if (req->d->cfg.eval_pads[i].window == n &&
            strcmp(req->d->cfg.eval_pads[i].address, ip) == 0)
            return true;
    return false;
}

/* GET|POST /api/v1/pad/{n} */
static int rating__pad(struct hq_api_req *req, void *arg)
{
    struct hq_daemon *d = req->d;
    (void)arg;
    char *end;
    long n = strtol(req->tail, &end, 10);
    if (end == req->tail || *end || n < 1 || n > 65535) return HQ_ERR_NOT_FOUND;
    int wi = hq_engine_window_index(&d->eng, (uint16_t)n);
    if (wi < 0) return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such window");
    if (!rating__is_pad(req, (uint16_t)n))
        return rating__refuse(req, HQ_ERR_AUTH, "not_this_window", "本设备不是该窗口的评价屏",
                              "this device is not this window's rating screen");
    const struct hq_window_st *w = &d->eng.win[wi];
    if (strcmp(req->method, "GET") == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "window", n);
        const struct hq_window_cfg *wc = &d->cfg.engine.windows[wi];
        cJSON_AddStringToObject(o, "name", wc->name);
        bool open = w->rating_ticket >= 0 && (uint32_t)hq_loop_wall_s() <= w->rating_deadline &&
                    !(d->eng.tickets[w->rating_ticket].flags & HQ_TF_RATED);
        if (open) {
            const struct hq_ticket *t = &d->eng.tickets[w->rating_ticket];
            char tuuid[37], label[16];
            hq_uuid_format(t->uuid, tuuid);
            cJSON *r = cJSON_AddObjectToObject(o, "rating");
            cJSON_AddStringToObject(r, "ticket", tuuid);
            cJSON_AddStringToObject(r, "number", hq_ticket_label(&d->eng, t, label, sizeof label));
            cJSON_AddNumberToObject(r, "seconds_left",
                                    (double)(w->rating_deadline - (uint32_t)hq_loop_wall_s()));
            cJSON_AddItemToObject(r, "cases", rating__case_list(d, tuuid));
        } else {
            cJSON_AddNullToObject(o, "rating");
        }
        cJSON_AddItemToObject(o, "form", rating__form(d));
        return hq_api_reply_json(req, MHD_HTTP_OK, o);
    }
    struct hq_cmd cmd = {.type = HQ_CMD_RATE, .window = (uint16_t)n};
    cmd.u.rate.channel = HQ_CHAN_TABLET;
    const char *why = NULL;
    int rc = rating__body(req->body, &cmd, &why);
    if (rc) return hq_api_reply_error(req, rc, why);
    return rating__reply_applied(req, hqd_apply(d, &cmd), &cmd);
}

/* ------------------------------------------------------------ coverage */

/* Rated / finished per window and for the hall today (覆盖率): /api/v1/status
 * "evaluation" and the dashboard's overview. */
cJSON *hqd_rating_coverage(struct hq_daemon *d)
{
    const struct hq_engine_cfg *c = &d->cfg.engine;
    cJSON *ev = cJSON_CreateObject();
    cJSON *wins = cJSON_AddArrayToObject(ev, "windows");
    int all_f = 0, all_r = 0;
    for (size_t wi = 0; wi < c->n_windows; wi++) {
        int f = 0, r = 0;
        for (size_t i = 0; i < d->eng.n_tickets; i++) {
            const struct hq_ticket *t = &d->eng.tickets[i];
            if (t->status != HQ_TS_DONE || t->window != c->windows[wi].number) continue;
            f++;
            if (t->flags & HQ_TF_RATED) r++;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "window", c->windows[wi].number);
        cJSON_AddNumberToObject(o, "finished", f);
        cJSON_AddNumberToObject(o, "rated", r);
        cJSON_AddItemToArray(wins, o);
        all_f += f;
        all_r += r;
    }
    cJSON_AddNumberToObject(ev, "finished", all_f);
    cJSON_AddNumberToObject(ev, "rated", all_r);
    if (all_f)
        cJSON_AddNumberToObject(ev, "coverage_pct", (double)(all_r * 1000 / all_f) / 10.0);
    else
        cJSON_AddNullToObject(ev, "coverage_pct");
    return ev;
}

static void rating__status(struct hq_daemon *d, cJSON *status, void *arg)
{
    (void)arg;
    cJSON_AddItemToObject(status, "evaluation", hqd_rating_coverage(d));
}

int hqd_rating_init(struct hq_daemon *d)
{
    int rc = hq_api_route_for(d->api, "GET", "/api/v1/evaluation/form", HQ_AUTH_ANY,
                              rating__reply_form, NULL);
    rc = rc ? rc : hq_api_route_for(d->api, NULL, "/api/v1/rate/", HQ_AUTH_ANY, rating__qr, NULL);
    rc = rc ? rc : hq_api_route_for(d->api, NULL, "/api/v1/pad/", HQ_AUTH_ANY, rating__pad, NULL);
    rc = rc ? rc : hq_api_status_part(d->api, rating__status, NULL);
    return rc;
}

void hqd_rating_fini(struct hq_daemon *d)
{
    (void)d;
}
