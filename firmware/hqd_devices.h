/*
 * hqd_devices.h — the hall's serial devices inside hallqd: ID-card readers at the kiosks, call
 * keypads and rating pads on hall buses, LED bars above the windows (hqd_devices.c).
 */
#ifndef HQD_DEVICES_H
#define HQD_DEVICES_H

#include "daemon.h"

/* Open every configured link (absent devices are only offline), register the command-result
 * listener, the kiosk card hook (d->fill_card) and the status part. HQ_ERR_NOMEM only. */
int hqd_devices_init(struct hq_daemon *d);
/* Close every link and wipe any card identity still held. */
void hqd_devices_fini(struct hq_daemon *d);

#endif
