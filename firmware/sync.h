/*
 * sync.h — hallqd's up-link to the central server (PROTOCOLS.md §5): sends
 * the outbox in seq order, in batches, over HTTP(S) (libcurl's multi
 * interface on the daemon's epoll loop, never blocking it) or over a serial
 * line (SLIP, stop-and-wait), and marks rows acknowledged only when the
 * server says it holds them. Nothing is ever dropped: failures back off
 * (1 s doubling to 5 min, with jitter); a 4xx other than 408/429 raises an
 * alarm and retries slowly. A backlog past sync.alarm_backlog records or
 * sync.alarm_age_s seconds raises the alarm too (status "sync.alarm", SSE
 * "alarm", /metrics). Down-link: appointments pulled every
 * sync.appointments_interval_s (and on demand) into the appointments table
 * (appt.h). SIGHUP re-reads the sync settings.
 */
#ifndef HQ_SYNC_H
#define HQ_SYNC_H

#include <stdint.h>

struct hq_daemon;

/* hallqd module: start the up-link configured in d->cfg (sync.url or
 * sync.serial; neither: only the backlog is reported). Adds "sync" details
 * to /api/v1/status. Fails only on a configuration the transport refuses. */
int hq_sync_init(struct hq_daemon *d);
void hq_sync_fini(struct hq_daemon *d);

/* Records were added outside hqd_apply (check-ins, follow-ups): send them
 * soon instead of at the next idle poll. */
void hq_sync_kick(struct hq_daemon *d);

/* Pull appointments now (after the stored cursor), in the background.
 * HQ_ERR_STATE when no central server is configured. */
int hq_sync_appointments_refresh(struct hq_daemon *d);

/* Seconds since the epoch of an RFC 3339 time ("2026-11-23T09:05:00+08:00"),
 * or -1 if it is not one. */
int64_t hq_sync_parse_rfc3339(const char *s);

#endif
