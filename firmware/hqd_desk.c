/*
 * hqd_desk.c — the guide desk (导服台, issue 16): tickets issued by the staff at the entrance.
 *
 *   POST /api/v1/desk/issue   desk or manager session (docs/API.md)
 *     {"service": "A", "priority": "disabled", "assist": true,
 *      "card": true | "id_number": "110101194803120010"}
 *
 * Any priority class the service honours, except the two nobody may claim by a say-so:
 * elderly comes only from a birth date (the desk's card reader, or the typed number's own
 * digits), appointment only from a check-in. `assist` (帮办/陪同) is the flag the window sees.
 * A real-name ticket takes the identity from the desk's own card reader (a reader whose
 * devices.card_readers[].kiosk is "desk", never a page's claim) or from a number typed in:
 * checked with GB 11643 and reduced at once to the same keyed hash a card read gives
 * (idcard_typed_identity), so the per-person limits count both alike. The typed number is
 * wiped from the request as soon as it is hashed, and is never written or logged.
 * Cancel, reprint and re-register are the ticket routes (api.c, hqd_print.c, hqd_held.c)
 * with the desk role in their masks; the queue view is /api/v1/status.
 */
#include "hqd_desk.h"

#include <string.h>

#include "api.h"
#include "idcard.h"

/* The kiosk id of the desk's own card reader and printer (devices.card_readers[].kiosk,
 * printer.kiosks[].kiosk). */
#define DESK_KIOSK "desk"

static int desk__refuse(struct hq_api_req *req, const char *code, const char *zh, const char *en)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", "invalid");
    cJSON_AddStringToObject(o, "reason", code);
    cJSON_AddStringToObject(o, "message", zh);
    cJSON_AddStringToObject(o, "message_en", en);
    return hq_api_reply_json(req, 400, o);
}

/* The identity of a typed number into cmd; HQ_OK, or answered (HQ_ERR_INVALID). */
static int desk__typed(struct hq_api_req *req, cJSON *num, struct hq_cmd *cmd)
{
    struct idcard_identity id;
    enum idcard_fault fault;
    const char *key = req->d->cfg.id_hash_key;
    int rc =
        idcard_typed_identity(num->valuestring, (const uint8_t *)key, strlen(key), &id, &fault);
    /* The number leaves the request now, whatever the outcome. */
    explicit_bzero(num->valuestring, strlen(num->valuestring));
    if (rc) {
        if (fault == IDCARD_FAULT_CHECK_CHAR)
            return desk__refuse(req, "id_check_char", "身份证号码校验位不对，请核对后重新输入",
                                "the ID number's check character is wrong: please check the "
                                "number and type it again");
        if (fault == IDCARD_FAULT_BIRTH_DATE)
            return desk__refuse(req, "id_birth_date", "身份证号码中的出生日期不是有效日期",
                                "the birth date in the ID number is not a date");
        if (fault == IDCARD_FAULT_INTERNAL) return HQ_ERR_INVALID;
        return desk__refuse(req, "id_number", "身份证号码应为 18 位（17 位数字加校验位）",
                            "an ID number has 18 characters: 17 digits and a check character");
    }
    cmd->u.issue.has_id = true;
    memcpy(cmd->u.issue.id_hash, id.id_hash, sizeof cmd->u.issue.id_hash);
    cmd->u.issue.birth_ymd = id.birth_ymd;
    explicit_bzero(&id, sizeof id);
    return HQ_OK;
}

static int desk__issue(struct hq_api_req *req, void *arg)
{
    struct hq_daemon *d = req->d;
    (void)arg;
    if (strcmp(req->method, "POST") != 0) return HQ_ERR_INVALID;
    struct hq_cmd cmd = {.type = HQ_CMD_ISSUE};
    cJSON *b = req->body;
    cJSON *num = cJSON_GetObjectItemCaseSensitive(b, "id_number");
    cJSON *card = cJSON_GetObjectItemCaseSensitive(b, "card");
    cJSON *sv = cJSON_GetObjectItemCaseSensitive(b, "service");
    cJSON *p = cJSON_GetObjectItemCaseSensitive(b, "priority");
    cJSON *as = cJSON_GetObjectItemCaseSensitive(b, "assist");
    int svc = cJSON_IsString(sv) ? hq_engine_service_index(&d->eng, sv->valuestring) : -1;
    int prio = !p ? HQ_PRIO_NORMAL : cJSON_IsString(p) ? hq_priority_from_name(p->valuestring) : -1;
    const char *bad = !cJSON_IsString(sv)                       ? "\"service\": a service code"
                      : prio < 0 || prio == HQ_PRIO_APPOINTMENT ? "\"priority\": a priority class"
                      : as && !cJSON_IsBool(as)                 ? "\"assist\": true or false"
                      : card && !cJSON_IsBool(card)             ? "\"card\": true or false"
                      : num && !cJSON_IsString(num)             ? "\"id_number\": text"
                      : num && cJSON_IsTrue(card)               ? "either \"card\" or \"id_number\""
                                                                : NULL;
    if (bad) {
        if (cJSON_IsString(num)) explicit_bzero(num->valuestring, strlen(num->valuestring));
        return hq_api_reply_error(req, HQ_ERR_INVALID, bad);
    }
    if (svc < 0) {
        if (num) explicit_bzero(num->valuestring, strlen(num->valuestring));
        return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such service");
    }
    if (prio == HQ_PRIO_ELDERLY) {
        if (num) explicit_bzero(num->valuestring, strlen(num->valuestring));
        return desk__refuse(req, "elderly_from_birth_date",
                            "老年人优先由身份证上的出生日期确定：请读卡或输入身份证号码",
                            "elderly priority comes from the birth date on the ID card: read "
                            "the card or type the ID number");
    }
    cmd.u.issue.service = (uint8_t)svc;
    cmd.u.issue.priority = (uint8_t)prio;
    cmd.u.issue.channel = HQ_CHAN_API;
    cmd.u.issue.assist = cJSON_IsTrue(as);
    const char *how = "";
    if (num) {
        if (desk__typed(req, num, &cmd)) return HQ_OK; /* answered */
        how = ", ID number typed";
    } else if (cJSON_IsTrue(card)) {
        /* The desk's own reader only: a card on a kiosk's reader is not the desk's citizen. */
        int rc =
            d->fill_card ? d->fill_card(d, &cmd, DESK_KIOSK, d->fill_card_arg) : HQ_ERR_ID_REQUIRED;
        if (rc) return hq_api_reply_error(req, rc, "place the ID card on the desk's reader");
        cmd.u.issue.channel = HQ_CHAN_API;
        how = ", ID card";
    }
    cmd.u.issue.kiosk_printer = hq_config_kiosk_printer(&d->cfg, DESK_KIOSK);
    int rc = hqd_apply(d, &cmd);
    explicit_bzero(&cmd.u.issue.id_hash, sizeof cmd.u.issue.id_hash);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    char label[16];
    const struct hq_ticket *t = &d->eng.tickets[d->res.ticket];
    hq_ticket_label(&d->eng, t, label, sizeof label);
    LOG_INFO("DESK", "导服台取号 %s / desk ticket %s by %s (%s%s%s)", label, label, req->who.actor,
             hq_priority_name(t->priority), (t->flags & HQ_TF_ASSIST) ? ", assist" : "", how);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "ticket", hq_api_ticket_json(d, d->res.ticket));
    return hq_api_reply_json(req, 201, o);
}

int hqd_desk_init(struct hq_daemon *d)
{
    if (!d->api) return HQ_OK;
    return hq_api_route_for(d->api, "POST", "/api/v1/desk/issue", HQ_AUTH_DESK | HQ_AUTH_MANAGER,
                            desk__issue, NULL);
}
