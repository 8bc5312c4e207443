/*
 * idcard_drv.h — the SAM ID-card reader driver (idcard.h) behind the driver contract
 * (driver.h): the reader's state machine on the host's line, identities out as events.
 */
#ifndef HQ_IDCARD_DRV_H
#define HQ_IDCARD_DRV_H

#include "driver.h"
#include "idcard.h"

extern const struct hq_driver hq_driver_sam;

/* The reader's own keys in devices.card_readers[]. */
struct idcard_drv_cfg {
    bool fingerprint; /* read with 30 10 (readers whose SAM insists on it) */
};

/* The masked name a ticket keeps: the first character, then its stars, in at most 15 bytes. */
void idcard_drv_cap_mask(const char *in, char out[16]);

#endif
