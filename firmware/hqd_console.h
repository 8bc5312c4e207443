/*
 * hqd_console.h — what the window console (/console, issue 16) needs beyond
 * the window commands: one window's day at a glance (hqd_console.c).
 *
 * API: GET /api/v1/windows/{n}/today (a clerk session of window n, or a
 * manager) → {"window": n, "staff": {"id","name"}|null, "served": N,
 * "handle_avg_s": S|null, "no_shows": N,
 * "ratings": {"count": N, "average": X|null, "levels": [n1..n5]},
 * "waiting": [{"service","service_name","service_name_en","count","tickets":[ticket…]}],
 * "parked": [ticket…]} — figures of the clerk (the session's; a manager sees
 * the clerk now at the window), lists of the window.
 */
#ifndef HQD_CONSOLE_H
#define HQD_CONSOLE_H

#include <stddef.h>

struct hq_api_req;

int hqd_console_today(struct hq_api_req *req, size_t wi);

#endif
