/*
 * hqd_calls.h — the hall's recent calls, for the wall display (hqd_calls.c).
 *
 * The display lists the last calls ("最近叫号"). It used to build that list
 * only from the events it saw, so a display (re)loaded after a restart of
 * hallqd, or of itself, showed an empty list. This module keeps the business
 * day's last HQD_CALLS_MAX calls (call, recall, call_back) in memory: read
 * back from the event log at start (walking it from the newest row back to
 * the day's first, so the cost is one day's events, not the log's 90 days),
 * then added to from every committed command.
 *
 * API it adds: /api/v1/status "recent_calls": [{"uuid", "number", "window",
 * "at", "kind"}], newest first, the current business day only.
 */
#ifndef HQD_CALLS_H
#define HQD_CALLS_H

#include "daemon.h"

#define HQD_CALLS_MAX 40

int hqd_calls_init(struct hq_daemon *d);
void hqd_calls_fini(struct hq_daemon *d);

#endif
