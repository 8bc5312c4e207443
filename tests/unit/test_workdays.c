/*
 * test_workdays.c — working days of hall.calendar and the 回访/整改 due
 * dates counted in them (issue 17): across the 2026 National Day holiday
 * (10-01..10-07 off, Saturday 10-10 a make-up working day), across an
 * ordinary weekend, and the calendar's config errors with their JSON path.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "workdays.h"

static const char hall_fmt[] =
    "{\n"
    " \"hall\": {\"id\": \"x\", \"name\": \"测试\", \"calendar\": %s},\n"
    " \"http\": {\"tokens\": [{\"token\": \"0123456789abcdef\", \"role\": \"clerk\"}]},\n"
    " \"privacy\": {\"id_hash_key\": \"0123456789abcdef\"},\n"
    " \"evaluation\": {\"callback_workdays\": 1, \"rectify_workdays\": 5},\n"
    " \"services\": [{\"code\": \"A\", \"name\": \"甲\", \"hours\": {\"weekdays\": "
    "[\"08:30-12:00\"]}}],\n"
    " \"windows\": [{\"number\": 1, \"services\": [\"A\"]}],\n"
    " \"staff\": [{\"id\": \"1001\", \"name\": \"王芳\"}]\n"
    "}\n";

static int load(const char *calendar, struct hq_config *cfg, char *err, size_t errlen)
{
    char json[2048];
    snprintf(json, sizeof json, hall_fmt, calendar);
    memset(cfg, 0, sizeof *cfg);
    return hq_config_parse("hall.json", "/tmp", json, cfg, err, errlen);
}

/* Unix time of local (UTC+8) y-m-d h:00. */
static int64_t at(int y, int m, int d, int h)
{
    return (int64_t)hq_days_from_ymd(y, m, d) * 86400 + h * 3600 - 8 * 3600;
}

static int32_t day(int y, int m, int d)
{
    return hq_days_from_ymd(y, m, d);
}

int main(void)
{
    struct hq_config cfg;
    char err[512] = "";
    /* listed out of order on purpose: the loader sorts them */
    int rc = load("{\"holidays\": [\"2026-10-07\", \"2026-10-01\", \"2026-10-02\", \"2026-10-03\","
                  " \"2026-10-04\", \"2026-10-05\", \"2026-10-06\"],"
                  " \"workdays\": [\"2026-10-10\", \"2026-09-27\"]}",
                  &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_OK);
    if (rc) fprintf(stderr, "%s\n", err);
    CHECK_EQ_INT(cfg.n_cal_holidays, 7);
    CHECK_EQ_INT(cfg.n_cal_workdays, 2);
    CHECK_EQ_INT(cfg.eval_callback_workdays, 1);
    CHECK_EQ_INT(cfg.eval_rectify_workdays, 5);
    CHECK_EQ_INT(cfg.eval_appeal_workdays, 5); /* default */

    /* plain weekdays, a weekend, the holiday, the make-up days */
    CHECK(hq_workday_is(&cfg, day(2026, 9, 30)));   /* Wednesday */
    CHECK(!hq_workday_is(&cfg, day(2026, 10, 1)));  /* Thursday, holiday */
    CHECK(hq_workday_is(&cfg, day(2026, 10, 8)));   /* Thursday after the holiday */
    CHECK(hq_workday_is(&cfg, day(2026, 10, 10)));  /* Saturday, make-up working day */
    CHECK(!hq_workday_is(&cfg, day(2026, 10, 11))); /* Sunday */
    CHECK(hq_workday_is(&cfg, day(2026, 9, 27)));   /* Sunday, make-up working day */
    CHECK(!hq_workday_is(&cfg, day(2026, 9, 26)));  /* Saturday */

    /* Rated Wednesday 09-30 at 15:00: the next working day is Thursday 10-08
     * (10-01..10-07 off), so 回访 with 1 working day is due 10-08 24:00. */
    CHECK_EQ_INT(hq_workday_add(&cfg, day(2026, 9, 30), 1), day(2026, 10, 8));
    CHECK_EQ_INT(hq_workday_due(&cfg, at(2026, 9, 30, 15), 1), at(2026, 10, 9, 0));
    /* 整改 with 5 working days: 10-08 Thu, 10-09 Fri, 10-10 Sat (make-up),
     * 10-12 Mon, 10-13 Tue: due 10-13 24:00. Without the make-up day it
     * would be 10-14; on calendar days (5) it would be 10-05. */
    CHECK_EQ_INT(hq_workday_add(&cfg, day(2026, 9, 30), 5), day(2026, 10, 13));
    CHECK_EQ_INT(hq_workday_due(&cfg, at(2026, 9, 30, 15), 5), at(2026, 10, 14, 0));
    /* rated on the holiday itself: the day of rating never counts */
    CHECK_EQ_INT(hq_workday_add(&cfg, day(2026, 10, 3), 1), day(2026, 10, 8));
    /* rated on the make-up Saturday: Sunday off, Monday 10-12 is the first */
    CHECK_EQ_INT(hq_workday_add(&cfg, day(2026, 10, 10), 1), day(2026, 10, 12));
    /* an ordinary Friday: over the weekend to Monday */
    CHECK_EQ_INT(hq_workday_add(&cfg, day(2026, 11, 6), 1), day(2026, 11, 9));
    /* late evening local time is still that local day (UTC is the day before at 23:30 +8) */
    CHECK_EQ_INT(hq_workday_local_day(&cfg, at(2026, 10, 9, 23) + 1800), day(2026, 10, 9));
    CHECK_EQ_INT(hq_workday_local_day(&cfg, at(2026, 10, 9, 0) + 1800), day(2026, 10, 9));
    /* working days passed, from the rating to a later time */
    CHECK_EQ_INT(hq_workday_between(&cfg, at(2026, 9, 30, 15), at(2026, 10, 10, 9)), 3);
    CHECK_EQ_INT(hq_workday_between(&cfg, at(2026, 9, 30, 15), at(2026, 9, 30, 17)), 0);
    hq_config_free(&cfg);

    /* no calendar: Monday to Friday */
    rc = load("{}", &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_OK);
    CHECK_EQ_INT(hq_workday_add(&cfg, day(2026, 9, 30), 5), day(2026, 10, 7));
    hq_config_free(&cfg);

    /* errors name the file and the JSON path */
    rc = load("{\"holidays\": [\"2026-10-01\", \"2026-13-01\"]}", &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_ERR_CONFIG);
    CHECK(strstr(err, "hall.json: $.hall.calendar.holidays[1]") != NULL);
    hq_config_free(&cfg);
    rc = load("{\"workdays\": [\"2026-10-10\", \"2026-10-10\"]}", &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_ERR_CONFIG);
    CHECK(strstr(err, "$.hall.calendar.workdays[1]") && strstr(err, "listed twice"));
    hq_config_free(&cfg);
    rc = load("{\"holidays\": \"2026-10-01\"}", &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_ERR_CONFIG);
    CHECK(strstr(err, "$.hall.calendar.holidays") && strstr(err, "array of dates"));
    hq_config_free(&cfg);
    rc = load("{\"weekends\": []}", &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_ERR_CONFIG);
    hq_config_free(&cfg);
    return check_report("test_workdays");
}
