/*
 * hqd_admin.h — the manager dashboard's side of hallqd: the /api/v1/admin/
 * routes (login check, live overview with alarms and staffing hints,
 * evaluations and 差评 follow-up, day statistics, CSV exports) and the SSE
 * `alarm` events. The page itself is firmware/web/admin.html.
 */
#ifndef HQ_HQD_ADMIN_H
#define HQ_HQD_ADMIN_H

#include "daemon.h"

/* Register the routes and start the 5 s alarm timer; needs the api module
 * started before it. */
int hq_admin_init(struct hq_daemon *d);
/* Stop the timer and free the module. */
void hq_admin_fini(struct hq_daemon *d);

#endif
