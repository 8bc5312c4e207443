/*
 * hqd_devices.h — the device host inside hallqd (hqd_devices.c): every serial device line
 * (ID-card readers at the kiosks, call keypads and rating pads on hall buses, displays above
 * the windows), each run by its driver from drivers/registry.c (drivers/driver.h).
 *
 * API it adds: /api/v1/status "devices", "card", "cards", "device_keys"; /metrics; SSE
 * "device", "card", "help"; GET /api/v1/devices (clerk), POST /api/v1/devices/identify/WINDOW
 * and POST /api/v1/devices/test (manager) for commissioning (hallqctl devices).
 */
#ifndef HQD_DEVICES_H
#define HQD_DEVICES_H

#include "daemon.h"

/* Open every configured link (absent devices are only offline), register the command-result
 * listener, the kiosk card hook (d->fill_card) and the status part. HQ_ERR_NOMEM only. */
int hqd_devices_init(struct hq_daemon *d);
/* Close every link and wipe any card identity still held. */
void hqd_devices_fini(struct hq_daemon *d);
/* How many device lines and self-reporting window devices are offline or faulty now (the
 * device-fault lamp, hqd_gpio.c). */
int hqd_devices_faults(const struct hq_daemon *d);

#endif
