/*
 * hqd_held.c — re-registering a held number (issue 13).
 *
 *   POST /api/v1/tickets/reregister  {"number": "A012"}   staff sessions (the guide desk too),
 *                                                          clerk or manager token
 *
 * When a corrupt database is moved aside, today's waiting queue is salvaged
 * from the readable part of the old file (store.c); a citizen whose ticket did
 * not read back still holds the paper. Staff put that number back in the queue:
 * a ticket of that number, waiting from now, not printed again, not counted
 * against the quota (engine: issue with held_number). A number a live ticket
 * holds is refused (409), so this cannot make a duplicate. Each use is logged
 * with the number, because it is a manual override.
 */
#include "hqd_held.h"

#include <string.h>

#include "api.h"

static int held__reregister(struct hq_api_req *req, void *arg)
{
    struct hq_daemon *d = req->d;
    (void)arg;
    if (strcmp(req->method, "POST") != 0) return HQ_ERR_INVALID;
    if (*req->tail) return HQ_ERR_NOT_FOUND;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(req->body, "number");
    if (!cJSON_IsString(n))
        return hq_api_reply_error(req, HQ_ERR_INVALID,
                                  "body needs \"number\": the number on the paper ticket (A012)");
    int svc = -1;
    uint16_t number = 0;
    int rc = hq_engine_parse_number(&d->eng, n->valuestring, &svc, &number);
    if (rc)
        return hq_api_reply_error(req, rc,
                                  "no service takes that number (a prefix and a number in its "
                                  "range, like A012)");
    struct hq_cmd cmd = {.type = HQ_CMD_ISSUE};
    cmd.u.issue.service = (uint8_t)svc;
    cmd.u.issue.channel = HQ_CHAN_API;
    cmd.u.issue.held_number = number;
    rc = hqd_apply(d, &cmd);
    if (rc == HQ_ERR_STATE)
        return hq_api_reply_error(req, rc, "a ticket of that number is already in the queue");
    if (rc) return hq_api_reply_error(req, rc, NULL);
    LOG_NOTICE("HELD", "持票号码 %s 已重新登记 / held number %s re-registered by %s",
               n->valuestring, n->valuestring, req->who.actor);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "ticket", hq_api_ticket_json(d, d->res.ticket));
    return hq_api_reply_json(req, 201, o);
}

int hqd_held_init(struct hq_daemon *d)
{
    if (!d->api) return HQ_OK;
    return hq_api_route(d->api, "POST", "/api/v1/tickets/reregister", HQ_ROLE_CLERK,
                        held__reregister, NULL);
}
