/*
 * hqd_retention.h — how long the box keeps what it wrote (hqd_retention.c). A hall box runs for
 * years on an SD card: without this the outbox, the event log and the day's tickets grow
 * until the card is full (tens of thousands of rows a busy day).
 *
 * - outbox records the central server acknowledged go once older than sync.retention_days
 *   (default 30); unacknowledged records are never deleted, however old;
 * - tickets and evaluations of business days older than store.history_days (default 400;
 *   0 keeps them for ever) go, except a 差评 whose follow-up is not closed;
 * - event log rows older than store.event_log_days (default 90; 0: for ever) go. The event
 *   log is the box's own audit trail (nothing reads it back; the outbox carried each event
 *   to the central server) and its largest table: about 1.3 KB a ticket.
 *
 * A pass runs 5 s after start and then hourly, in steps of at most 2,000 rows of each kind
 * (one short transaction each, a second apart while there is more), so a first pass over a
 * year of rows never holds the loop; a row with a wrong time never holds up the others
 * (hq_store_prune). Skipped while the storage is degraded. Freed pages are
 * reused by SQLite; the file does not shrink (no VACUUM on an SD card).
 *
 * API it adds: /api/v1/status "retention" {"outbox_days", "history_days", "event_log_days",
 * "last_pass",
 * "deleted": {"outbox", "events", "tickets", "evaluations"}} (since start), and
 * /metrics hallq_retention_deleted_total{kind=...}.
 */
#ifndef HQD_RETENTION_H
#define HQD_RETENTION_H

#include "daemon.h"

int hqd_retention_init(struct hq_daemon *d);
void hqd_retention_fini(struct hq_daemon *d);

#endif
