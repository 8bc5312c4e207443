/*
 * devices.h — hall devices inside hallqd: the driver operations table every device driver
 * fills (one registry), and the pure glue between device events and the queue engine:
 * keypad keys and pad ratings become struct hq_cmd for hqd_apply(); engine effects become the
 * frames for keypads, rating pads and LED bars. The glue does no I/O, so it is unit-tested.
 */
#ifndef HQ_DEVICES_H
#define HQ_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "hallbus.h"

struct hq_device;

/* One device protocol. Required: name, open, on_readable, close; the others may be NULL. */
struct hq_driver {
    const char *name;
    /* Open the device's link (spec as hq_serial_open); HQ_OK, or an error kept as its health. */
    int (*open)(struct hq_device *dev, uint64_t now_ms);
    /* Its fd is readable (or hung up): read, lex, turn frames into commands. */
    void (*on_readable)(struct hq_device *dev, uint64_t now_ms);
    /* Timers: polls, timeouts, acknowledgement deadlines, reopen backoff. */
    void (*on_timer)(struct hq_device *dev, uint64_t now_ms);
    /* A committed engine effect that may concern this device. */
    void (*on_effect)(struct hq_device *dev, const struct hq_engine *e, const struct hq_effect *fx);
    void (*close)(struct hq_device *dev);
};

enum hq_device_health { HQ_DEV_UNKNOWN = 0, HQ_DEV_ONLINE, HQ_DEV_OFFLINE, HQ_DEV_FAULTY };

/* Health as the status API and the event log show it. */
struct hq_device_status {
    uint8_t health;    /* enum hq_device_health */
    int err;           /* hq_err of the last fault, HQ_OK when none */
    char reason[96];   /* "no answer for 3 s" / "无应答" — English, for logs and JSON */
    uint64_t since_ms; /* when health last changed */
};

/* The bus addresses of one window's devices (0 = none). Comes from configuration. */
struct hq_devices_window {
    uint16_t window;                     /* window number */
    uint8_t keypad;                      /* hall bus address of its call keypad */
    uint8_t pad;                         /* hall bus address of its rating pad */
    uint8_t bar;                         /* LED bar address */
    const struct hallbus_padmap *padmap; /* NULL = five-key pad */
};

/* What a key asks for: an engine command, or something outside the engine. */
enum hq_key_outcome { HQ_KEY_CMD = 0, HQ_KEY_HELP, HQ_KEY_IGNORED };

/* Turn a keypad key of window w into an engine command. Pause toggles by the window's state in
 * e; "d 13" transfers to the hall's service number d (1-based, the configuration's order).
 * Returns HQ_KEY_HELP for the help key (raise a call to the hall manager, no command) and
 * HQ_KEY_IGNORED for keys that cannot apply (e.g. a service number that does not exist). */
int hq_devices_key_cmd(const struct hq_engine *e, uint16_t window, const struct hallbus_key *k,
                       struct hq_cmd *cmd);

/* A rating pad's raw key value → HQ_CMD_RATE (channel HQ_CHAN_PAD) for window. HQ_ERR_INVALID
 * when the key is not mapped (never a default rating). */
int hq_devices_rating_cmd(const struct hq_devices_window *w, uint8_t raw, struct hq_cmd *cmd);

/* The bytes one effect sends on the hall bus and the LED bus for window w (any may be empty:
 * *bus_len / *led_len = 0). tpl is the LED text template ("{ticket} 请到{window}号窗口"). */
int hq_devices_effect_frames(const struct hq_engine *e, const struct hq_devices_window *w,
                             const struct hq_effect *fx, const char *tpl, uint8_t *bus,
                             size_t bus_cap, size_t *bus_len, uint8_t *led, size_t led_cap,
                             size_t *led_len);

/* The raw key a pad sent for level (inverse of its map; the acknowledgement echoes it). */
int hq_devices_pad_raw(const struct hq_devices_window *w, int level);

#endif
