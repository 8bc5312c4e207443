/*
 * workdays.h — the hall's working days (hall.calendar) and the due dates of
 * a 差评's 回访 and 整改, counted in working days.
 *
 * A working day is Monday to Friday unless hall.calendar.holidays lists it,
 * and Saturday or Sunday when hall.calendar.workdays lists it (调休上班, the
 * make-up working days of the State Council's holiday notice). Pure: no I/O,
 * so the unit tests run it on any calendar.
 */
#ifndef HQ_WORKDAYS_H
#define HQ_WORKDAYS_H
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Local day (days since 1970-01-01 in the hall's time) of unix time t. */
int32_t hq_workday_local_day(const struct hq_config *cfg, int64_t t);

/* Whether local day `day` is a working day of the hall. */
bool hq_workday_is(const struct hq_config *cfg, int32_t day);

/* The n-th working day after `day` (`day` itself never counts; n = 0 gives day). */
int32_t hq_workday_add(const struct hq_config *cfg, int32_t day, unsigned n);

/* When something that happened at unix time `at` and has n working days is
 * due: the end (24:00 local) of the n-th working day after the day of `at`,
 * as unix time. A rating on Friday with 1 working day is due on Monday at
 * 24:00 (Tuesday 00:00), unless Monday is a holiday. */
int64_t hq_workday_due(const struct hq_config *cfg, int64_t at, unsigned n);

/* Working days from the day of `from` to the day of `to` (0 when the same
 * day or `to` is earlier): how many working days have passed. */
unsigned hq_workday_between(const struct hq_config *cfg, int64_t from, int64_t to);
#endif
