/*
 * health.c — the shared device health record (health.h).
 */
#include "health.h"

#include <stdio.h>

bool hq_health_set(struct hq_health_rec *h, int health, int err, const char *reason,
                   uint64_t now_ms, int64_t wall)
{
    snprintf(h->reason, sizeof h->reason, "%s", reason ? reason : "");
    h->err = err;
    if (h->health == health) return false;
    h->health = (uint8_t)health;
    h->since_ms = now_ms;
    h->since_wall = wall;
    return true;
}

bool hq_health_log_ok(struct hq_health_rec *h, int level, uint64_t now_ms, uint32_t *quiet)
{
    if (h->log_at_ms && now_ms - h->log_at_ms < HQ_HEALTH_LOG_MS && level > HQ_LOG_ERR) {
        h->log_quiet++;
        return false;
    }
    *quiet = h->log_quiet;
    h->log_at_ms = now_ms ? now_ms : 1;
    h->log_quiet = 0;
    return true;
}

void hq_health_json(const struct hq_health_rec *h, cJSON *o)
{
    cJSON_AddStringToObject(o, "health", hq_health_name(h->health));
    cJSON_AddStringToObject(o, "text", hq_health_zh(h->health));
    cJSON_AddStringToObject(o, "reason", h->reason);
}
