/*
 * ledbar_drv.h — the A0 90 window LED bar driver (ledbar.h) behind the driver contract
 * (driver.h), and the pure frame of a window view, unit-tested alone.
 */
#ifndef HQ_LEDBAR_DRV_H
#define HQ_LEDBAR_DRV_H

#include "driver.h"
#include "ledbar.h"

extern const struct hq_driver hq_driver_a090;

/* The frame that makes bar addr show view (A5 text, A5 empty for BLANK, A1 for IDLE).
 * HQ_OK, or the error of the text (HQ_ERR_LIMIT: too long for one frame). */
int ledbar_drv_view_frame(uint8_t addr, const struct hq_view *view, uint8_t *out, size_t cap,
                          size_t *len);

#endif
