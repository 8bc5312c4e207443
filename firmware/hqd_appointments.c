/*
 * hqd_appointments.c — appointment check-in (hqd_appointments.h).
 *
 * Rules (decided here, documented in docs/SYNC.md):
 * - the appointment must be for today (the hall's local date), booked (not
 *   cancelled, not checked in here or at another hall), for a service this
 *   hall has and that is open now;
 * - earlier than slot start - sync.appointment_early_s: refused, and the
 *   appointment is kept, so the citizen can come back in time (a normal
 *   ticket would silently spend it);
 * - later than slot start + sync.appointment_grace_s: a NORMAL ticket, the
 *   appointment counts as used, and the answer says so;
 * - otherwise a ticket of priority appointment, channel appointment.
 * One appointment gives one ticket, even across a crash: the issue
 * pre-check claims the row with the new ticket's uuid before the ticket is
 * committed, and the check-in is finished (status checked_in + outbox event
 * record {"kind":"checkin"}) right after; appt_recover() settles a claim a
 * crash left between the two (appt.h).
 */
#include "hqd_appointments.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "appt.h"
#include "daemon.h"
#include "sync.h"

struct hqd_appts {
    struct hq_daemon *d;
    const struct appt_row *pending; /* the check-in whose ticket is being issued */
    char pending_uuid[37];
    bool claimed;
};

/* {"error","message","message_en","detail"} with the check-in's own words. */
static int appts__refuse(struct hq_api_req *req, int err, const char *zh, const char *en,
                         const char *detail)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", hq_strerror(err));
    cJSON_AddStringToObject(o, "message", zh ? zh : hq_strerror_zh(err));
    cJSON_AddStringToObject(o, "message_en", en ? en : hq_strerror_en(err));
    if (detail)
        cJSON_AddStringToObject(o, "detail", detail);
    else
        cJSON_AddNullToObject(o, "detail");
    return hq_api_reply_json(req, hq_api_http_status(err), o);
}

/* Mark the claimed row checked in and queue its checkin record, in one
 * transaction. The ticket's facts come from its committed row, so the
 * normal path and the recovery after a crash write the same record. */
static int appts__finish(void *arg, const struct appt_row *row)
{
    struct hqd_appts *a = arg;
    struct hq_daemon *d = a->d;
    sqlite3 *db = hq_store_db(d->store);
    sqlite3_stmt *q = NULL;
    int64_t now = hq_loop_wall_s();
    if (sqlite3_prepare_v2(db, "SELECT label, priority, issued_at FROM tickets WHERE uuid=?", -1,
                           &q, NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    sqlite3_bind_text(q, 1, row->ticket, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_finalize(q);
        return HQ_ERR_NOT_FOUND;
    }
    cJSON *o = cJSON_CreateObject();
    int64_t issued = sqlite3_column_int64(q, 2);
    int64_t slot = appt_local_time(row->date, row->slot_start, d->cfg.engine.utc_offset_s);
    cJSON_AddStringToObject(o, "kind", "checkin");
    cJSON_AddStringToObject(o, "appointment", row->id);
    cJSON_AddStringToObject(o, "service", row->service);
    cJSON_AddStringToObject(o, "date", row->date);
    cJSON_AddStringToObject(o, "slot_start", row->slot_start);
    cJSON_AddStringToObject(o, "slot_end", row->slot_end);
    cJSON_AddStringToObject(o, "ticket", row->ticket);
    cJSON_AddStringToObject(o, "number", (const char *)sqlite3_column_text(q, 0));
    cJSON_AddStringToObject(o, "priority", (const char *)sqlite3_column_text(q, 1));
    cJSON_AddBoolToObject(o, "late",
                          appt_timing(issued, slot, d->cfg.sync_appointment_early_s,
                                      d->cfg.sync_appointment_grace_s) == APPT_LATE);
    sqlite3_finalize(q);
    int rc = hq_store_begin(d->store);
    if (rc) {
        cJSON_Delete(o);
        return rc;
    }
    rc = appt_mark_checked_in(db, row->id, row->ticket, now);
    if (!rc)
        rc = hq_store_outbox_add(d->store, "event", issued, o);
    else
        cJSON_Delete(o);
    int erc = hq_store_end(d->store, rc);
    if (!rc) rc = erc;
    if (rc) {
        LOG_ERR("APPT",
                "appointment %s: check-in not recorded (%s); settled at the next check-in "
                "or restart",
                row->id, hq_strerror(rc));
        return rc;
    }
    hq_sync_kick(d);
    return HQ_OK;
}

/* Issue pre-check: the ticket of a check-in claims its appointment first. */
static int appts__check(struct hq_daemon *d, const struct hq_cmd *cmd, void *arg)
{
    struct hqd_appts *a = arg;
    if (!a->pending || cmd->type != HQ_CMD_ISSUE) return HQ_OK;
    hq_uuid_format(cmd->u.issue.uuid, a->pending_uuid);
    int rc = hq_store_begin(d->store);
    if (rc) return rc;
    rc = appt_claim(hq_store_db(d->store), a->pending->id, a->pending_uuid, hq_loop_wall_s());
    int erc = hq_store_end(d->store, rc);
    if (!rc) rc = erc;
    a->claimed = rc == HQ_OK;
    return rc;
}

static void appts__recover(struct hqd_appts *a)
{
    appt_recover(hq_store_db(a->d->store), hq_loop_wall_s(), appts__finish, a);
}

static void appts__hhmm(int64_t t, int32_t off, char out[6])
{
    int64_t l = ((t + off) % 86400 + 86400) % 86400;
    snprintf(out, 6, "%02d:%02d", (int)(l / 3600), (int)(l / 60 % 60));
}

/* POST /api/v1/appointments/checkin */
static int appts__checkin(struct hq_api_req *req, void *arg)
{
    struct hqd_appts *a = arg;
    struct hq_daemon *d = req->d;
    sqlite3 *db = hq_store_db(d->store);
    const int32_t off = d->cfg.engine.utc_offset_s;
    int64_t now = hq_loop_wall_s();
    char today[11], detail[160];
    struct appt_row row;
    int rc;
    if (*req->tail) return HQ_ERR_NOT_FOUND;
    appt_local_date(now, off, today);
    appts__recover(a);

    const cJSON *code = cJSON_GetObjectItemCaseSensitive(req->body, "booking_code");
    const cJSON *card = cJSON_GetObjectItemCaseSensitive(req->body, "card");
    const cJSON *svc = cJSON_GetObjectItemCaseSensitive(req->body, "service");
    const char *kiosk;
    if (hq_api_kiosk_arg(req, &kiosk))
        return appts__refuse(req, HQ_ERR_INVALID, "取号机编号无效", "kiosk must be a kiosk id",
                             NULL);
    if ((code != NULL) == cJSON_IsTrue(card) || (code && !cJSON_IsString(code)) ||
        (card && !cJSON_IsBool(card)) || (svc && !cJSON_IsString(svc)))
        return appts__refuse(req, HQ_ERR_INVALID, "请输入预约码或刷身份证",
                             "give a booking code or use your ID card",
                             "body: {\"booking_code\": \"...\"} or {\"card\": true}");
    if (code) {
        char c[SYNC_APPT_BOOKING_MAX + 1];
        const char *p = code->valuestring;
        while (*p == ' ')
            p++;
        snprintf(c, sizeof c, "%s", p);
        for (size_t n = strlen(c); n && c[n - 1] == ' ';)
            c[--n] = 0;
        rc = appt_find_code(db, c, &row);
    } else {
        uint8_t hash[32];
        if (!d->fill_card || !d->card_hash_of || !d->card_hash_of(d, kiosk, hash, d->fill_card_arg))
            return appts__refuse(req, HQ_ERR_ID_REQUIRED, "请将身份证放在读卡器上",
                                 "place your ID card on the reader", NULL);
        rc = appt_find_hash(db, hash, today, svc ? svc->valuestring : NULL, &row);
        explicit_bzero(hash, sizeof hash);
    }
    if (rc == HQ_ERR_NOT_FOUND)
        return appts__refuse(req, rc, "未找到您今天的预约，请核对预约码或到服务台咨询",
                             "no appointment found: check the code or ask at the service desk",
                             NULL);
    if (rc) return appts__refuse(req, rc, NULL, NULL, NULL);

    if (!strcmp(row.status, "cancelled"))
        return appts__refuse(req, HQ_ERR_STATE, "该预约已取消", "this appointment was cancelled",
                             row.id);
    if (row.ticket[0] || strcmp(row.status, "booked") != 0) {
        char label[16] = "";
        sqlite3_stmt *q = NULL;
        if (row.ticket[0] && sqlite3_prepare_v2(db, "SELECT label FROM tickets WHERE uuid=?", -1,
                                                &q, NULL) == SQLITE_OK) {
            sqlite3_bind_text(q, 1, row.ticket, -1, SQLITE_STATIC);
            if (sqlite3_step(q) == SQLITE_ROW)
                snprintf(label, sizeof label, "%s", (const char *)sqlite3_column_text(q, 0));
            sqlite3_finalize(q);
        }
        snprintf(detail, sizeof detail, "%s%s%s", row.id, label[0] ? " " : "", label);
        return appts__refuse(req, HQ_ERR_STATE, "该预约已签到，请勿重复签到",
                             "this appointment is already checked in", detail);
    }
    if (strcmp(row.date, today) != 0) {
        snprintf(detail, sizeof detail, "%s", row.date);
        return appts__refuse(req, HQ_ERR_STATE, "该预约不是今天的，请在预约当天前来签到",
                             "this appointment is for another day", detail);
    }
    int si = hq_engine_service_index(&d->eng, row.service);
    if (si < 0)
        return appts__refuse(req, HQ_ERR_NOT_FOUND, "本大厅不办理该预约的业务",
                             "this hall does not offer the appointment's service", row.service);
    if (!hq_engine_service_open(&d->eng, (size_t)si, now))
        return appts__refuse(req, HQ_ERR_CLOSED, NULL, NULL, row.service);
    int64_t slot = appt_local_time(row.date, row.slot_start, off);
    enum appt_timing timing =
        appt_timing(now, slot, d->cfg.sync_appointment_early_s, d->cfg.sync_appointment_grace_s);
    if (timing == APPT_EARLY) {
        char opens[6], zh[160], en[160];
        appts__hhmm(slot - (int64_t)d->cfg.sync_appointment_early_s, off, opens);
        snprintf(zh, sizeof zh, "未到签到时间，请于 %s 后签到（预约时段 %s-%s）", opens,
                 row.slot_start, row.slot_end);
        snprintf(en, sizeof en, "too early: check-in opens at %s (your slot is %s-%s)", opens,
                 row.slot_start, row.slot_end);
        return appts__refuse(req, HQ_ERR_STATE, zh, en, opens);
    }

    struct hq_cmd cmd = {.type = HQ_CMD_ISSUE, .now = now};
    cmd.u.issue.service = (uint8_t)si;
    cmd.u.issue.priority = timing == APPT_LATE ? HQ_PRIO_NORMAL : HQ_PRIO_APPOINTMENT;
    cmd.u.issue.channel = HQ_CHAN_APPOINTMENT;
    if (cJSON_IsTrue(card)) {
        /* The ticket carries the card's identity (per-person limits). */
        rc = d->fill_card(d, &cmd, kiosk, d->fill_card_arg);
        if (rc)
            return appts__refuse(req, rc, "请将身份证放在读卡器上",
                                 "place your ID card on the reader", NULL);
        cmd.u.issue.priority = timing == APPT_LATE ? HQ_PRIO_NORMAL : HQ_PRIO_APPOINTMENT;
        cmd.u.issue.channel = HQ_CHAN_APPOINTMENT;
    }
    cmd.u.issue.kiosk_printer = hq_config_kiosk_printer(&d->cfg, kiosk);
    a->pending = &row;
    a->claimed = false;
    rc = hqd_apply(d, &cmd);
    a->pending = NULL;
    if (rc) {
        if (a->claimed && hq_store_begin(d->store) == HQ_OK)
            hq_store_end(d->store, appt_release(db, row.id, a->pending_uuid, now));
        a->claimed = false;
        return appts__refuse(req, rc, NULL, NULL, row.id);
    }
    a->claimed = false;
    snprintf(row.ticket, sizeof row.ticket, "%s", a->pending_uuid);
    appts__finish(a, &row); /* a failure here is settled later: the claim holds */

    bool late = timing == APPT_LATE;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "ticket", hq_api_ticket_json(d, d->res.ticket));
    cJSON *ap = cJSON_AddObjectToObject(o, "appointment");
    cJSON_AddStringToObject(ap, "id", row.id);
    cJSON_AddStringToObject(ap, "service", row.service);
    cJSON_AddStringToObject(ap, "date", row.date);
    cJSON_AddStringToObject(ap, "slot_start", row.slot_start);
    cJSON_AddStringToObject(ap, "slot_end", row.slot_end);
    cJSON_AddStringToObject(ap, "name_masked", row.name_masked);
    cJSON_AddBoolToObject(o, "late", late);
    cJSON_AddStringToObject(o, "message",
                            late ? "您已超过预约时段，本次按普通号排队" : "签到成功，请留意叫号");
    cJSON_AddStringToObject(o, "message_en",
                            late ? "you are past your appointment slot: you queue with a normal "
                                   "ticket"
                                 : "checked in: please wait for your number");
    if (d->api) {
        cJSON *ev = cJSON_CreateObject();
        cJSON_AddStringToObject(ev, "appointment", row.id);
        cJSON_AddBoolToObject(ev, "late", late);
        cJSON *t = hq_api_ticket_json(d, d->res.ticket);
        hq_api_event_view(t, HQ_TS_WAITING); /* public stream: the uuid is the holder's */
        cJSON_AddItemToObject(ev, "ticket", t);
        hq_api_publish(d->api, "checkin", ev);
    }
    return hq_api_reply_json(req, 201, o);
}

/* POST /api/v1/appointments/refresh (manager) */
static int appts__refresh(struct hq_api_req *req, void *arg)
{
    (void)arg;
    if (*req->tail) return HQ_ERR_NOT_FOUND;
    int rc = hq_sync_appointments_refresh(req->d);
    if (rc)
        return appts__refuse(req, rc, "未配置数据中心，无法获取预约",
                             "no central server is configured", "sync.url or sync.serial");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddBoolToObject(o, "pulling", 1);
    return hq_api_reply_json(req, 202, o);
}

/* GET /api/v1/appointments (manager): today's, without codes or hashes. */
static int appts__list(struct hq_api_req *req, void *arg)
{
    struct hq_daemon *d = req->d;
    sqlite3_stmt *q = NULL;
    char today[11];
    (void)arg;
    if (*req->tail) return HQ_ERR_NOT_FOUND;
    appt_local_date(hq_loop_wall_s(), d->cfg.engine.utc_offset_s, today);
    if (sqlite3_prepare_v2(hq_store_db(d->store),
                           "SELECT a.id, a.service, a.slot_start, a.slot_end, a.name_masked,"
                           " a.status, t.label FROM appointments a LEFT JOIN tickets t"
                           " ON t.uuid=a.checked_in_ticket WHERE a.date=? ORDER BY a.slot_start,"
                           " a.id",
                           -1, &q, NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    sqlite3_bind_text(q, 1, today, -1, SQLITE_STATIC);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "date", today);
    cJSON *arr = cJSON_AddArrayToObject(o, "appointments");
    static const char *const keys[] = {"id",          "service", "slot_start", "slot_end",
                                       "name_masked", "status",  "ticket"};
    while (sqlite3_step(q) == SQLITE_ROW) {
        cJSON *it = cJSON_CreateObject();
        for (int i = 0; i < 7; i++) {
            const char *v = (const char *)sqlite3_column_text(q, i);
            if (v)
                cJSON_AddStringToObject(it, keys[i], v);
            else
                cJSON_AddNullToObject(it, keys[i]);
        }
        cJSON_AddItemToArray(arr, it);
    }
    sqlite3_finalize(q);
    return hq_api_reply_json(req, 200, o);
}

/* GET /api/v1/appointments/card: does the card now on the kiosk's reader
 * have an open appointment today? The kiosk then offers "check in" before
 * the service list (place card -> the single matching appointment ->
 * ticket). Only the service and the slot are answered, nothing that says
 * who the citizen is; the check-in itself goes through POST .../checkin. */
static int appts__card(struct hq_api_req *req, void *arg)
{
    struct hq_daemon *d = req->d;
    struct appt_row row;
    char today[11];
    (void)arg;
    if (*req->tail) return HQ_ERR_NOT_FOUND;
    const char *kiosk;
    uint8_t hash[32];
    if (hq_api_kiosk_arg(req, &kiosk))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "kiosk must be a kiosk id");
    if (!d->card_hash_of || !d->card_hash_of(d, kiosk, hash, d->fill_card_arg))
        return appts__refuse(req, HQ_ERR_ID_REQUIRED, "请将身份证放在读卡器上",
                             "place your ID card on the reader", NULL);
    appt_local_date(hq_loop_wall_s(), d->cfg.engine.utc_offset_s, today);
    int rc = appt_find_hash(hq_store_db(d->store), hash, today, NULL, &row);
    explicit_bzero(hash, sizeof hash);
    if (rc && rc != HQ_ERR_NOT_FOUND) return appts__refuse(req, rc, NULL, NULL, NULL);
    cJSON *o = cJSON_CreateObject();
    int si = rc ? -1 : hq_engine_service_index(&d->eng, row.service);
    if (rc || si < 0 || strcmp(row.status, "booked") != 0 || row.ticket[0]) {
        cJSON_AddNullToObject(o, "appointment");
    } else {
        const struct hq_service_cfg *sv = &d->cfg.engine.services[si];
        cJSON *ap = cJSON_AddObjectToObject(o, "appointment");
        cJSON_AddStringToObject(ap, "service", sv->code);
        cJSON_AddStringToObject(ap, "service_name", sv->name);
        cJSON_AddStringToObject(ap, "service_name_en", sv->name_en);
        cJSON_AddStringToObject(ap, "slot_start", row.slot_start);
        cJSON_AddStringToObject(ap, "slot_end", row.slot_end);
    }
    return hq_api_reply_json(req, 200, o);
}

int hq_appointments_init(struct hq_daemon *d)
{
    struct hqd_appts *a = calloc(1, sizeof *a);
    int rc;
    if (!a) return HQ_ERR_NOMEM;
    a->d = d;
    d->mod.appointments = a;
    appts__recover(a);
    if ((rc = hqd_on_check(d, appts__check, a))) return rc;
    if (!d->api) return HQ_OK;
    if ((rc = hq_api_route_for(d->api, "POST", "/api/v1/appointments/checkin", HQ_AUTH_ANY,
                               appts__checkin, a)) ||
        (rc = hq_api_route_for(d->api, "POST", "/api/v1/appointments/refresh", HQ_AUTH_ADMIN,
                               appts__refresh, a)) ||
        (rc = hq_api_route_for(d->api, "GET", "/api/v1/appointments/card", HQ_AUTH_ANY, appts__card,
                               a)) ||
        (rc = hq_api_route_for(d->api, "GET", "/api/v1/appointments", HQ_AUTH_ADMIN, appts__list,
                               a)))
        return rc;
    return HQ_OK;
}

void hq_appointments_fini(struct hq_daemon *d)
{
    free(d->mod.appointments);
    d->mod.appointments = NULL;
}
