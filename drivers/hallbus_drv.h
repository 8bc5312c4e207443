/*
 * hallbus_drv.h — the FF 68 hall bus driver (call keypads and rating pads, hallbus.h) behind
 * the driver contract (driver.h), and its pure glue to the queue engine, unit-tested alone:
 * keypad keys and pad ratings become struct hq_cmd; engine effects become keypad and pad
 * frames.
 */
#ifndef HQ_HALLBUS_DRV_H
#define HQ_HALLBUS_DRV_H

#include "driver.h"
#include "hallbus.h"

extern const struct hq_driver hq_driver_ff68;

/* One window's devices on a hall bus (0 = none). */
struct hallbus_drv_window {
    uint16_t window;                     /* window number */
    uint8_t keypad;                      /* bus address of its call keypad */
    uint8_t pad;                         /* bus address of its rating pad */
    const struct hallbus_padmap *padmap; /* NULL = five-key pad */
};

/* What a key asks for: an engine command, or something outside the engine. */
enum hallbus_drv_key_outcome {
    HALLBUS_DRV_KEY_CMD = 0,
    HALLBUS_DRV_KEY_HELP,
    HALLBUS_DRV_KEY_IGNORED
};

/* A keypad key of window → an engine command. Pause toggles by the window's state in e;
 * "d 13" transfers to service number d (1-based, the configuration's order). HELP for the
 * help key (no command), IGNORED for keys that cannot apply. */
int hallbus_drv_key_cmd(const struct hq_engine *e, uint16_t window, const struct hallbus_key *k,
                        struct hq_cmd *cmd);
/* A rating pad's raw key → HQ_CMD_RATE (channel HQ_CHAN_PAD). HQ_ERR_INVALID when the key is
 * not mapped (never a default rating). */
int hallbus_drv_rating_cmd(const struct hallbus_drv_window *w, uint8_t raw, struct hq_cmd *cmd);
/* The raw key a pad sent for level (inverse of its map; the acknowledgement echoes it). */
int hallbus_drv_pad_raw(const struct hallbus_drv_window *w, int level);
/* The hall bus frame one engine effect sends for window w (0 = none). */
size_t hallbus_drv_effect_frame(const struct hq_engine *e, const struct hallbus_drv_window *w,
                                const struct hq_effect *fx, uint8_t *out, size_t cap);

#endif
