/*
 * health.h — the one health model of hallqd's devices: serial lines and their window devices
 * (hqd_devices.c), GPIO lines (hqd_gpio.c), and the fault summary the status LEDs and
 * `hallqctl devices` read. A record is online, offline or faulty with a reason and the time it
 * last changed; repeated log lines about one device are rate-limited the same way everywhere.
 * Pure: no I/O, time is an argument (the loop-side part is hqd_devices.c's host).
 */
#ifndef HQ_HEALTH_H
#define HQ_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "driver.h" /* enum hq_health, hq_health_name/zh */

#define HQ_HEALTH_LOG_MS 10000 /* at most one warning per device in this time */

struct hq_health_rec {
    uint8_t health;     /* enum hq_health */
    int err;            /* hq_err of the last fault, HQ_OK when none */
    char reason[96];    /* "no answer for 3 s" — English, for logs and JSON */
    uint64_t since_ms;  /* monotonic: when health last changed */
    int64_t since_wall; /* wall clock of the same, 0 = never */
    /* the log rate limit */
    uint64_t log_at_ms;
    uint32_t log_quiet;
};

/* Take a report: the reason and error always, the health with its time when it changed.
 * Returns true when the health changed (the caller logs, publishes and records it). */
bool hq_health_set(struct hq_health_rec *h, int health, int err, const char *reason,
                   uint64_t now_ms, int64_t wall);

/* May a line about this device be logged at level now? Errors always may; others at most once
 * per HQ_HEALTH_LOG_MS. *quiet receives how many were held back since the last one logged. */
bool hq_health_log_ok(struct hq_health_rec *h, int level, uint64_t now_ms, uint32_t *quiet);

/* "health", "text" (Chinese) and "reason" into o (the caller adds "since" in the hall's time). */
void hq_health_json(const struct hq_health_rec *h, cJSON *o);

/* Offline or faulty: what a fault lamp and the dashboard count. */
static inline bool hq_health_is_fault(int health)
{
    return health == HQ_HEALTH_OFFLINE || health == HQ_HEALTH_FAULTY;
}

#endif
