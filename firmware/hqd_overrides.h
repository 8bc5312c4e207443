/*
 * hqd_overrides.h — the hall changed while it runs (issue 16, docs/API.md "Run-time changes"):
 * a temporary window, a window closed or given other services, today's hours of a service
 * (longer, shorter, closed early with a message), its daily quota, the wall display's notice.
 *
 * The configuration file stays the base; each change is an override on it, kept in the
 * database (table `overrides`, one row per window / service and kind) so it survives a
 * restart, re-applied after a reload, dropped with a log line when its window or service left
 * the file. Window and service changes run as engine commands (HQ_CMD_WINDOW_*,
 * HQ_CMD_SERVICE_*) and so reach the event log, the outbox and every page like any command.
 *
 *   POST /api/v1/admin/windows                 {"number","services",["name","name_en"]}
 *   POST /api/v1/admin/windows/N/close         {["reroute_to"]}
 *   POST /api/v1/admin/windows/N/services      {"services"}
 *   POST /api/v1/admin/services/CODE           {"hours":{"open","close"}} | {"daily_quota"} |
 *                                              {"close":true,"message",["message_en","reroute_to"]}
 *   POST /api/v1/admin/notice                  {"notice",["notice_en"]}
 *   GET  /api/v1/admin/overrides               the list (also /api/v1/status "overrides")
 *   POST /api/v1/admin/overrides/ID/revert     {["reroute_to"]}
 */
#ifndef HQD_OVERRIDES_H
#define HQD_OVERRIDES_H

#include "daemon.h"

/* At start, after the store opened and before the engine is built: room for temporary
 * windows (queue.max_windows), then every stored override applied to d->cfg. */
int hqd_overrides_load(struct hq_daemon *d);
/* Around a reload (hallqd.c): the file's values back in d->cfg before the comparison, the
 * overrides on them again after it, so a reload neither discards nor misreports them. */
void hqd_overrides_unapply(struct hq_daemon *d);
void hqd_overrides_reapply(struct hq_daemon *d);

int hqd_overrides_init(struct hq_daemon *d);
void hqd_overrides_fini(struct hq_daemon *d);

#endif
