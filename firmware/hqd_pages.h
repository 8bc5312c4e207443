/*
 * hqd_pages.h — what the public pages are told beyond the queue's state
 * (hqd_pages.c): settings of the hall that change what a page says or does.
 *
 * API it adds: /api/v1/status "pages": {"ticket_alert_ahead": N (the ticket
 * page on a citizen's phone sounds and vibrates when N or fewer people are
 * ahead; 0 = only when called; display.ticket_alert_ahead), "no_show_requeue":
 * bool (what the ticket page says happens to a missed call), "recall_limit": N
 * (the recalls a ticket may have: the window console shows them)}.
 */
#ifndef HQD_PAGES_H
#define HQD_PAGES_H

#include "daemon.h"

int hqd_pages_init(struct hq_daemon *d);
void hqd_pages_fini(struct hq_daemon *d);

#endif
