/*
 * hqd_pages.c — settings the public pages read from /api/v1/status (see
 * hqd_pages.h). Read from the configuration at each request, so a reload
 * that changes them reaches the next page that asks.
 */
#include "hqd_pages.h"

#include "api.h"
#include "hq.h"

static void pages__status(struct hq_daemon *d, cJSON *status, void *arg)
{
    (void)arg;
    cJSON *o = cJSON_AddObjectToObject(status, "pages");
    cJSON_AddNumberToObject(o, "ticket_alert_ahead", d->cfg.ticket_alert_ahead);
    cJSON_AddBoolToObject(o, "no_show_requeue", d->eng.cfg->no_show_requeue);
    /* the window console shows "重呼 1/2" (issue 16) */
    cJSON_AddNumberToObject(o, "recall_limit", d->eng.cfg->recall_limit);
}

int hqd_pages_init(struct hq_daemon *d)
{
    return d->api ? hq_api_status_part(d->api, pages__status, NULL) : HQ_OK;
}

void hqd_pages_fini(struct hq_daemon *d)
{
    (void)d;
}
