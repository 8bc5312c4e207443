/*
 * hqd_retention.c — deletes what the box no longer has to keep (hqd_retention.h).
 */
#include "hqd_retention.h"
#include <stdio.h>
#include <stdlib.h>
#include "api.h"
#include "hq.h"
#include "loop.h"
#include "store.h"

#define RET_FIRST_MS 5000u     /* the first pass, after start-up */
#define RET_PERIOD_MS 3600000u /* then hourly */
#define RET_STEP_MS 1000u      /* between the steps of one pass */
#define RET_STEP_ROWS 2000     /* rows of each kind per step (one transaction) */

struct hqd_retention {
    struct hq_daemon *d;
    uint64_t timer;
    int64_t last_pass;             /* when the last pass finished (0: none yet) */
    bool in_pass;                  /* a pass is between its steps: keep its cutoffs */
    struct hq_store_pruned total;  /* deleted since start */
    struct hq_store_pruned pass;   /* deleted by the pass in progress */
    struct hq_store_prune_at at;   /* the cutoffs of the pass in progress */
    struct hq_store_prune_pos pos; /* and how far it got */
};

static void ret__add(struct hq_store_pruned *to, const struct hq_store_pruned *n)
{
    to->outbox += n->outbox;
    to->events += n->events;
    to->tickets += n->tickets;
    to->evaluations += n->evaluations;
}

/* The cutoffs are fixed when a pass starts, so its steps agree. */
static void ret__start_pass(struct hqd_retention *r)
{
    const struct hq_config *c = &r->d->cfg;
    int64_t now = hq_loop_wall_s();
    r->at.outbox_before = now - (int64_t)c->sync_retention_days * 86400;
    r->at.events_before =
        c->store_event_log_days ? now - (int64_t)c->store_event_log_days * 86400 : 0;
    r->at.history_day = 0;
    /* a never-rated card ticket's sealed ID number: kept while its QR page may still rate it */
    r->at.sealed_before = now - (int64_t)c->engine.qr_open_s - 86400;
    if (c->store_history_days)
        r->at.history_day = hq_engine_day_of(&c->engine, now) - (int32_t)c->store_history_days;
    r->pos = (struct hq_store_prune_pos){0};
    r->pass = (struct hq_store_pruned){0};
}

static void ret__step(struct hq_loop *loop, void *arg)
{
    struct hqd_retention *r = arg;
    struct hq_store_pruned n;
    r->timer = 0;
    if (!r->in_pass) ret__start_pass(r);
    int rc = hq_store_prune(r->d->store, &r->at, RET_STEP_ROWS, &r->pos, &n);
    if (rc) {
        /* degraded storage (HQ_ERR_DISK_FULL) or a database error, logged by the store: the
         * rows stay, the next hourly pass tries again */
        if (rc != HQ_ERR_DISK_FULL)
            LOG_WARN("RETAIN", "retention pass stopped: %s; next in an hour", hq_strerror(rc));
        r->in_pass = false;
        r->last_pass = hq_loop_wall_s();
        r->timer = hq_loop_timer(loop, RET_PERIOD_MS, ret__step, r);
        return;
    }
    ret__add(&r->pass, &n);
    ret__add(&r->total, &n);
    r->in_pass = n.more;
    if (n.more) {
        r->timer = hq_loop_timer(loop, RET_STEP_MS, ret__step, r);
        return;
    }
    r->last_pass = hq_loop_wall_s();
    const struct hq_store_pruned *p = &r->pass;
    if (p->outbox || p->events || p->tickets || p->evaluations)
        LOG_NOTICE("RETAIN",
                   "deleted %lld acknowledged outbox records older than %u days, %lld event "
                   "log rows older than %u days, %lld tickets and %lld evaluations older than "
                   "%u days",
                   (long long)p->outbox, r->d->cfg.sync_retention_days, (long long)p->events,
                   r->d->cfg.store_event_log_days, (long long)p->tickets, (long long)p->evaluations,
                   r->d->cfg.store_history_days);
    r->timer = hq_loop_timer(loop, RET_PERIOD_MS, ret__step, r);
}

static void ret__counts(cJSON *o, const struct hq_store_pruned *p)
{
    cJSON_AddNumberToObject(o, "outbox", (double)p->outbox);
    cJSON_AddNumberToObject(o, "events", (double)p->events);
    cJSON_AddNumberToObject(o, "tickets", (double)p->tickets);
    cJSON_AddNumberToObject(o, "evaluations", (double)p->evaluations);
}

static void ret__status(struct hq_daemon *d, cJSON *status, void *arg)
{
    struct hqd_retention *r = arg;
    cJSON *o = cJSON_AddObjectToObject(status, "retention");
    if (!o) return;
    cJSON_AddNumberToObject(o, "outbox_days", d->cfg.sync_retention_days);
    cJSON_AddNumberToObject(o, "history_days", d->cfg.store_history_days);
    cJSON_AddNumberToObject(o, "event_log_days", d->cfg.store_event_log_days);
    if (r->last_pass) {
        char ts[32];
        hq_time_rfc3339(r->last_pass, d->cfg.engine.utc_offset_s, ts);
        cJSON_AddStringToObject(o, "last_pass", ts);
    } else {
        cJSON_AddNullToObject(o, "last_pass");
    }
    cJSON *del = cJSON_AddObjectToObject(o, "deleted");
    if (del) ret__counts(del, &r->total);
}

static char *ret__metrics(struct hq_daemon *d, void *arg)
{
    struct hqd_retention *r = arg;
    char *out = NULL;
    (void)d;
    if (asprintf(&out,
                 "# TYPE hallq_retention_deleted_total counter\n"
                 "hallq_retention_deleted_total{kind=\"outbox\"} %lld\n"
                 "hallq_retention_deleted_total{kind=\"events\"} %lld\n"
                 "hallq_retention_deleted_total{kind=\"tickets\"} %lld\n"
                 "hallq_retention_deleted_total{kind=\"evaluations\"} %lld\n",
                 (long long)r->total.outbox, (long long)r->total.events,
                 (long long)r->total.tickets, (long long)r->total.evaluations) < 0)
        return NULL;
    return out;
}

int hqd_retention_init(struct hq_daemon *d)
{
    struct hqd_retention *r = calloc(1, sizeof *r);
    int rc;
    if (!r) return HQ_ERR_NOMEM;
    r->d = d;
    if (d->api && ((rc = hq_api_status_part(d->api, ret__status, r)) ||
                   (rc = hq_api_metrics_part(d->api, ret__metrics, r)))) {
        free(r);
        return rc;
    }
    d->mod.retention = r;
    r->timer = hq_loop_timer(d->loop, RET_FIRST_MS, ret__step, r);
    return HQ_OK;
}

void hqd_retention_fini(struct hq_daemon *d)
{
    struct hqd_retention *r = d->mod.retention;
    if (!r) return;
    if (r->timer) hq_loop_timer_cancel(d->loop, r->timer);
    free(r);
    d->mod.retention = NULL;
}
