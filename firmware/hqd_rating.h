/*
 * hqd_rating.h — 好差评 end to end, hallqd's side (issue 17): case binding
 * (一事一评) and a rating for every window (the ticket's QR page, a window's
 * rating screen).
 *
 *   POST /api/v1/windows/{n}/cases         {"cases":[{"case_no","item_code","item_name"}]}
 *   POST /api/v1/windows/{n}/rate-request  the business system starts the rating
 *   GET  /api/v1/evaluation/form           levels, indicators, reason codes (versioned)
 *   GET|POST /api/v1/rate/{ticket uuid}    the QR rating page's ticket / its rating
 *   GET|POST /api/v1/pad/{n}               the window's rating screen (device token or address)
 */
#ifndef HQD_RATING_H
#define HQD_RATING_H

#include <cjson/cJSON.h>

struct hq_daemon;
struct hq_api_req;

int hqd_rating_init(struct hq_daemon *d);
void hqd_rating_fini(struct hq_daemon *d);

/* POST /api/v1/windows/{n}/cases and …/rate-request, from api.c's window
 * route (which has checked the caller's window binding); HQ_ERR_NOT_FOUND
 * for another action. */
int hqd_rating_window(struct hq_api_req *req, int wi, const char *action);

/* {"finished", "rated", "coverage_pct", "windows": [{"window", "finished", "rated"}]}:
 * today's rated / finished tickets (覆盖率), for the status and the dashboard. */
cJSON *hqd_rating_coverage(struct hq_daemon *d);

#endif
