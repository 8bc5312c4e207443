/*
 * hqd_callback.h — what follows a 差评 (issue 17): the citizen's phone number
 * for the call-back (回访), sealed to the hall's follow-up key; the working-day
 * due dates of 回访 and 整改 with their overdue alarm and rates; and the
 * clerk's appeal (申诉) with the manager's review (复核).
 *
 *   GET  /api/v1/evaluations/{uuid}/contact        may a number still be given?
 *   POST /api/v1/evaluations/{uuid}/contact        {"phone", "consent": true}  public
 *   POST /api/v1/evaluations/{uuid}/appeal         {"kind", "reason"}  rated clerk, manager
 *   GET  /api/v1/admin/followup-key                is a follow-up key set up?
 *   POST /api/v1/admin/followup-key                {"passphrase", "old_passphrase" | "reset"}
 *   POST /api/v1/admin/evaluations/{uuid}/contact  {"passphrase"}: the number (manager session)
 *   POST /api/v1/admin/evaluations/{uuid}/review   {"uphold", "reason"}  复核 of an appeal
 *
 * docs/DESIGN.md "差评 call-back" has the key design and what it protects
 * against. The tables are this module's own (eval_contacts, eval_appeals,
 * followup_key), created when it starts.
 */
#ifndef HQD_CALLBACK_H
#define HQD_CALLBACK_H
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "admin_rules.h"
#include "api.h"
#include "daemon.h"

int hqd_callback_init(struct hq_daemon *d);
void hqd_callback_fini(struct hq_daemon *d);

/* SQL condition "this evaluation's appeal was not upheld" on a query of the
 * evaluations table (column uuid): the rule of which figures leave out an
 * upheld appeal (满意率, averages, per window and per clerk, 回访率/整改率,
 * the overdue alarm). */
#define HQD_CALLBACK_COUNTED                                                                       \
    "uuid NOT IN (SELECT evaluation FROM eval_appeals WHERE state='upheld')"
/* The same, or "1" while the module's tables do not exist yet. */
const char *hqd_callback_counted(const struct hq_daemon *d);
/* The module runs and its tables exist. */
bool hqd_callback_ready(const struct hq_daemon *d);

/* The dashboard's routes under /api/v1/admin/ this module answers
 * ("followup-key", "evaluations/{uuid}/contact", "evaluations/{uuid}/review"). */
bool hqd_callback_admin_owns(const char *tail);
int hqd_callback_admin(struct hq_api_req *req, const char *tail);

/* Inside the follow-up's transaction, when it closes: erase the number. */
int hqd_callback_on_close(struct hq_daemon *d, const char *evaluation, int64_t now);

/* Add to a dashboard evaluation row: "callback_due", "callback_overdue" into
 * its follow_up object (bad ratings), "contact" {"given", "erased"}, and
 * "appeal" (or null). */
void hqd_callback_row(struct hq_daemon *d, cJSON *row, const char *uuid, int level, int64_t at,
                      int64_t now);

/* The overdue alarm (follow_up:overdue) into out, 0 or 1 written. */
size_t hqd_callback_alarms(struct hq_daemon *d, int64_t now, struct admin_alarm *out, size_t max);

/* 回访率 and 整改率 of the bad ratings of local days from..to:
 * {"bad", "real_name", "called_back", "rectified", "callback_rate",
 *  "rectify_rate", "overdue", "appeals_upheld"}. */
cJSON *hqd_callback_rates(struct hq_daemon *d, int32_t from_day, int32_t to_day, int64_t now);
#endif
