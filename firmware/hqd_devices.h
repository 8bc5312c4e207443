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

/* A temporary window's own devices (issue 16; hqd_overrides.c opens the window). */
struct cJSON;
/* Read json, a devices.windows[] entry without "window", for window `window` as the
 * configuration file's entries are read (config.c: same keys, bounds, driver keys, messages),
 * against the file's devices and the temporary windows' attached now: an address taken on
 * the same bus or a bus that does not exist is refused. HQ_OK with *out, or HQ_ERR_CONFIG
 * and one line in err naming the field ("request: $.devices.keypad: ..."). */
int hqd_devices_check(const struct hq_daemon *d, uint16_t window, const struct cJSON *json,
                      struct hq_devwin_cfg *out, char *err, size_t cap);
/* The window (temporary, in the engine now) gets the devices of dc (from hqd_devices_check):
 * its keypad's keys act for it, its bar shows its calls, its pad rates it. The lines stay
 * open; their drivers start again on the new set of windows. */
int hqd_devices_attach(struct hq_daemon *d, const struct hq_devwin_cfg *dc);
/* Its devices go (also done on its own when the window closes): its bar is blanked, and a
 * key or rating from their addresses is ignored with a log line. false if it had none. */
bool hqd_devices_detach(struct hq_daemon *d, uint16_t window);

#endif
