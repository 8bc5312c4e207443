/*
 * workdays.c — working days of the hall's calendar (see workdays.h).
 */
#include "workdays.h"

#include <stddef.h>

/* A due date past this many calendar days is a calendar that lists every
 * day as a holiday: stop there rather than loop for ever. */
#define WORKDAY_SCAN_MAX 3660

static bool workday__in(const int32_t *days, size_t n, int32_t day)
{
    size_t lo = 0, hi = n; /* config.c keeps the lists ascending */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (days[mid] == day) return true;
        if (days[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

int32_t hq_workday_local_day(const struct hq_config *cfg, int64_t t)
{
    int64_t l = t + cfg->engine.utc_offset_s;
    return (int32_t)(l >= 0 ? l / 86400 : (l - 86399) / 86400);
}

bool hq_workday_is(const struct hq_config *cfg, int32_t day)
{
    if (workday__in(cfg->cal_workdays, cfg->n_cal_workdays, day)) return true;
    if (workday__in(cfg->cal_holidays, cfg->n_cal_holidays, day)) return false;
    int wday = (int)((day % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
    return wday != 0 && wday != 6;
}

int32_t hq_workday_add(const struct hq_config *cfg, int32_t day, unsigned n)
{
    for (int scan = 0; n > 0 && scan < WORKDAY_SCAN_MAX; scan++) {
        day++;
        if (hq_workday_is(cfg, day)) n--;
    }
    return day;
}

int64_t hq_workday_due(const struct hq_config *cfg, int64_t at, unsigned n)
{
    int32_t due = hq_workday_add(cfg, hq_workday_local_day(cfg, at), n);
    return ((int64_t)due + 1) * 86400 - cfg->engine.utc_offset_s;
}

unsigned hq_workday_between(const struct hq_config *cfg, int64_t from, int64_t to)
{
    int32_t a = hq_workday_local_day(cfg, from), b = hq_workday_local_day(cfg, to);
    unsigned n = 0;
    for (int32_t d = a + 1; d <= b && d - a < WORKDAY_SCAN_MAX; d++)
        if (hq_workday_is(cfg, d)) n++;
    return n;
}
