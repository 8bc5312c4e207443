/*
 * hqd_gpio.h — the hall's GPIO devices inside hallqd (hqd_gpio.c): kiosk buttons that issue
 * tickets, the printer-fault and device-fault LEDs, the printer's paper-near-end sensor and the
 * cabinet door switch.
 *
 * API it adds: /api/v1/status gains a "gpio" part and one "devices" entry per line; SSE
 * "alarm" ({"source": "gpio", "kind": "paper_near_end"|"door", "raised"}) and "device" (a
 * line's health changed); outbox "event" records of kind "door" and "device".
 */
#ifndef HQD_GPIO_H
#define HQD_GPIO_H

#include "daemon.h"

/* Request every configured line (a missing chip or a busy line is only offline, retried every
 * few seconds) and start the LED timer. Nothing to do without gpio lines. HQ_ERR_NOMEM only. */
int hqd_gpio_init(struct hq_daemon *d);
/* Release every line. */
void hqd_gpio_fini(struct hq_daemon *d);

#endif
