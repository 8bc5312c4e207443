/*
 * driver.h — the contract between hallqd's device host and a device driver (one file per
 * protocol in drivers/, one row in drivers/registry.c). Modelled on gpsd's struct gps_type_t
 * and NUT's upsdrv_*: the host owns the lifecycle (the line, reopen with backoff, bounded
 * reads, the bad-frame window, log rate limits, health, events, status), the driver owns the
 * protocol (frames in, commands out; effects in, frames out).
 *
 * How a driver is written (docs/DESIGN.md "How to add a device" says the same at more length):
 *
 *   1. drivers/<name>.c includes only this header, hq.h, engine.h (the engine's types, read
 *      only), its own protocol header, lexbuf.h and libraries from Debian — nothing else of
 *      firmware/. The protocol part (lexer, encoders) stays pure and table-tested.
 *   2. It defines   const struct hq_driver hq_driver_<name> = { .name = "<name>", ... };
 *      with designated initialisers; unused operations are NULL (see each field).
 *   3. Its private state is a struct of .priv_size bytes: the host allocates it zeroed once
 *      per line (dev->priv) and frees it at the end; it lives across reopens (counters stay),
 *      so open() resets the protocol state itself. No globals, no statics that change.
 *   4. Its own configuration keys (a bus's, and a window's — these sit in the window's entry
 *      of devices.windows[]) are tables of struct hq_drv_key; the host's config loader
 *      validates them like every other key (type, bounds, default, unknown keys refused) and
 *      hands the driver a filled struct (dev->cfg, dev->win[i].cfg). Add them to CONFIG.md.
 *   5. It talks to the world only through dev->host: write bytes, apply a command, report
 *      health, arm its one timer, publish an event. Every call is on the loop thread; none
 *      blocks. now_ms is the loop's monotonic clock; drivers never read a clock.
 *   6. One row in drivers/registry.c; a unit test against a fake host (tests/unit/
 *      test_drv_<name>.c on tests/unit/fake_host.h: bytes in → commands out, effects in →
 *      bytes out); a simulator in tools/sim that reuses the driver's lexer.
 *
 * Lifecycle: the host opens the line, then calls open(); input() with every bite it reads;
 * timer() when the driver's timer fires; effect() for what the hall does; close() when the
 * line is lost or hallqd stops (open() follows again once the line is back), and also when the
 * line's windows change while it runs (a temporary window's devices attached or detached:
 * close(), a new dev->win, open() on the same open line). input(), timer() and effect() only
 * ever come between a successful open() and close(). A lost or silent
 * device is reported through host->health, never a reason to return an error or stop.
 *
 * Compatibility: this header only grows. New fields go at the end of the structs; new effect
 * and event types get new numbers; a driver ignores effect types it does not know.
 */
#ifndef HQ_DRIVER_H
#define HQ_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "hq.h"

struct cJSON;
struct hq_dev;

/* ------------------------------------------------------------------ health */

/* One health model for every device hallqd watches (serial lines, bars, GPIO lines, printers). */
enum hq_health { HQ_HEALTH_UNKNOWN = 0, HQ_HEALTH_ONLINE, HQ_HEALTH_OFFLINE, HQ_HEALTH_FAULTY };

/* "online" / "在线" for logs, JSON and pages. */
const char *hq_health_name(int health);
const char *hq_health_zh(int health);

/* --------------------------------------------------------------- config keys */

enum hq_drv_key_type {
    HQ_DRV_KEY_INT = 0, /* integer in [min, max], stored in a field of .size 1, 2, 4 or 8 bytes */
    HQ_DRV_KEY_BOOL,    /* stored in a bool */
    HQ_DRV_KEY_STR,     /* UTF-8 text of at most .size - 1 bytes, stored NUL-terminated */
};

/* One key of a driver's own configuration (see hq_driver.bus_keys / win_keys). */
struct hq_drv_key {
    const char *name;    /* JSON key, snake_case */
    uint8_t type;        /* enum hq_drv_key_type */
    bool required;       /* no default: the config is refused without it */
    size_t off, size;    /* where the value lands in the driver's config struct */
    long long min, max;  /* INT: bounds; STR: min length (max is .size - 1) */
    long long def;       /* INT, BOOL default */
    const char *def_str; /* STR default (NULL = "") */
    const char *doc;     /* one line for docs/CONFIG.md */
};

#define HQ_DRV_KEY_FIELD(type, field)                                                              \
    .off = offsetof(type, field), .size = sizeof(((type *)0)->field)

/* Largest driver config struct the host keeps per bus and per window. */
#define HQ_DRV_BUS_CFG_MAX 256
/* Most windows with a device on one line (addresses 1..254). */
#define HQ_DEV_MAX_WIN 256
#define HQ_DRV_WIN_CFG_MAX 64

/* ----------------------------------------------------------------- the device */

/* What a line carries: where its windows' addresses come from in devices.windows[]. */
enum hq_drv_role {
    HQ_DRV_ROLE_READER = 0, /* a kiosk's ID-card reader (devices.card_readers[]) */
    HQ_DRV_ROLE_KEYS,       /* keypads and rating pads (devices.windows[].bus: keypad, pad) */
    HQ_DRV_ROLE_BAR,        /* window displays (devices.windows[].led_bus: bar) */
};

/* One window with a device on this line, as the host resolved it from devices.windows[]. */
struct hq_dev_window {
    uint16_t window;        /* the window's number */
    int wi;                 /* its index into the engine's windows (e->win[wi], e->cfg->windows) */
    uint8_t keypad, pad;    /* KEYS: bus addresses, 0 = none */
    uint8_t bar;            /* BAR: bus address, 0 = none (a driver may use win keys instead) */
    const char *pad_type;   /* KEYS: "five" or "four" */
    const char *pad_map;    /* KEYS: "raw=level,..." or "" */
    const char *idle_text;  /* BAR: the window's idle text, placeholders expanded */
    const char *idle_color; /* BAR: "red", "green", "yellow" */
    const void *cfg;        /* the driver's window keys (win_cfg_size bytes), NULL if none */
};

/* Counters every line keeps; the host shows them in status and /metrics. */
struct hq_dev_counters {
    uint64_t rx_bytes, tx_bytes, frames, garbage, bad_frames, dropped, opens;
};

/* A device line as its driver sees it. Everything but priv is the host's: read only. */
struct hq_dev {
    const struct hq_driver *drv;
    const struct hq_host *host;
    void *host_arg;                  /* the host's own: never touched by the driver */
    void *priv;                      /* drv->priv_size bytes, zeroed once, kept across reopens */
    const char *id;                  /* "bus:keys", "reader:k1": for log lines */
    const void *cfg;                 /* the driver's bus keys (bus_cfg_size bytes), NULL if none */
    const struct hq_dev_window *win; /* the windows with a device on this line */
    size_t n_win;
    const struct hq_engine *eng;   /* the queue as committed; read only */
    struct hq_dev_counters *count; /* the driver adds frames it made sense of (frames) */
    /* Set by the driver in open() (the only field besides priv it writes): true when its
     * window devices report their own health (bars that acknowledge); otherwise a window's
     * device is as healthy as its line. */
    bool units_report;
    /* The line's devices answer each frame (devices.buses[].acknowledge): one in flight. */
    bool acknowledge;
    /* The hall's key for hashing personal numbers (a card's ID number); never logged. */
    const uint8_t *secret;
    size_t secret_len;
    /* The provincial platform's public key (32 bytes, evaluation.platform_pubkey) a card's ID
     * number is sealed to as it is read; NULL: the number is not carried at all. */
    const uint8_t *seal_pk;
    const char *port; /* the line's port as configured, for reasons ("port /dev/ttyUSB0 open") */
};

/* --------------------------------------------------------------- effects in */

enum hq_drv_fx_type {
    HQ_DRV_FX_ENGINE = 0, /* one committed engine effect: fx (any window; filter by fx->window) */
    HQ_DRV_FX_END,        /* the end of one committed result: send what was staged */
    HQ_DRV_FX_SHOW,       /* window win[wi] must show view (BAR) */
    HQ_DRV_FX_BLANK,      /* closing time: every bar of the line goes dark (BAR) */
    HQ_DRV_FX_IDENTIFY,   /* commissioning: win[wi] shows its address, its keypad beeps */
    HQ_DRV_FX_TEST,       /* commissioning: win[wi]'s devices show a test pattern once */
};

enum hq_view_kind { HQ_VIEW_IDLE = 0, HQ_VIEW_CALL, HQ_VIEW_PAUSED, HQ_VIEW_BLANK };

/* What a window's display shows now, decided by the host from the engine and the hall's texts
 * (devices.led: template, colours, paused text, closing time). */
struct hq_view {
    uint8_t kind;      /* enum hq_view_kind */
    const char *text;  /* CALL, PAUSED: the text ("A012请到3号窗口"); IDLE: the idle text */
    const char *color; /* "red", "green", "yellow" */
};

struct hq_drv_effect {
    uint8_t type;               /* enum hq_drv_fx_type */
    int wi;                     /* SHOW, IDENTIFY, TEST: index into dev->win[] */
    const struct hq_effect *fx; /* ENGINE */
    const struct hq_view *view; /* SHOW */
};

/* ---------------------------------------------------------------- events out */

enum hq_dev_event_type {
    HQ_DEV_EV_CARD = 0,     /* READER: a card was read: card */
    HQ_DEV_EV_CARD_REMOVED, /* READER: the card left the reader */
    HQ_DEV_EV_CARD_ERROR,   /* READER: a card could not be read: err, text */
    HQ_DEV_EV_HELP,         /* KEYS: window win[wi]'s clerk asks the hall manager for help */
    HQ_DEV_EV_KEY_IGNORED,  /* KEYS: window win[wi]'s keypad sent a key that is no command */
};

/* An identity from a card: never the number, never the full name (idcard.h explains). */
struct hq_dev_card {
    uint8_t type; /* enum idcard_card_type */
    const char *type_en, *type_zh;
    uint8_t hash[32];  /* keyed hash of the number */
    int32_t birth_ymd; /* 19800101, 0 unknown */
    char name_masked[16];
    uint8_t id_sealed[HQ_ID_SEALED_MAX]; /* sealed to dev->seal_pk; never readable here */
    uint8_t id_sealed_len;               /* 0: none */
};

struct hq_dev_event {
    uint8_t type;                   /* enum hq_dev_event_type */
    int wi;                         /* HELP: index into dev->win[] */
    int err;                        /* CARD_ERROR */
    const char *text;               /* CARD_ERROR: detail for the log (English) */
    const struct hq_dev_card *card; /* CARD */
    const char *text_zh; /* CARD_ERROR: what was wrong, in Chinese for the kiosk (or NULL) */
    unsigned tries;      /* CARD_ERROR: reads tried before giving up (0 = not said) */
};

/* ----------------------------------------------------------------- the host */

/* Which of a line's devices a health report is about. */
enum hq_dev_unit { HQ_UNIT_LINE = 0, HQ_UNIT_KEYPAD, HQ_UNIT_PAD, HQ_UNIT_BAR };

/* What the host offers a driver. All on the loop thread; none blocks. */
struct hq_host {
    /* Queue bytes for the line. Never blocks: a slow line buffers a bounded amount, a frame
     * that does not fit is dropped and counted. */
    void (*write)(struct hq_dev *dev, const uint8_t *b, size_t n);
    /* Run an engine command (its window set by the driver). HQ_OK, or why it was refused.
     * The result's effects come back to every driver through effect(). */
    int (*apply)(struct hq_dev *dev, struct hq_cmd *cmd);
    /* Health of the line (unit LINE, wi -1) or of one window's device (unit, wi). The host
     * logs a change (rate-limited), publishes it and records it for the central server.
     * reason: a short English phrase, "" when online. */
    void (*health)(struct hq_dev *dev, int unit, int wi, int health, int err, const char *reason);
    /* Bad frames and bytes skipped by the lexer since the last call: the host counts them and
     * marks a line that keeps producing them faulty until it has been clean for a while. */
    void (*bad)(struct hq_dev *dev, uint32_t bad_frames, uint32_t garbage_bytes);
    /* The driver's one timer: timer() runs once, delay_ms from now. Arming again replaces it;
     * HQ_DRV_TIMER_OFF cancels. */
    void (*arm)(struct hq_dev *dev, uint64_t delay_ms);
    /* Something happened the hall must hear of (a card, a help key). */
    void (*event)(struct hq_dev *dev, const struct hq_dev_event *ev);
    /* A rate-limited log line about this line (level HQ_LOG_*). */
    void (*log)(struct hq_dev *dev, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
};

#define HQ_DRV_TIMER_OFF UINT64_MAX

/* ----------------------------------------------------------------- the driver */

struct hq_driver {
    /* REQUIRED. The config's `type` ("ff68", "a090", "sam", ...). */
    const char *name;
    /* Old names that keep working in configurations ("hall", "led"); NULL-terminated or NULL. */
    const char *const *aliases;
    /* REQUIRED. One line for hallqctl and the docs ("FF 68 call keypads and rating pads"). */
    const char *desc;
    uint8_t role;          /* enum hq_drv_role */
    const char *link_type; /* status JSON "type" of the line: "hall_bus", "led_bus", ... */
    uint32_t default_baud; /* when the config names none; 0 = the host's 9600 */
    size_t priv_size;      /* bytes of private state per line */
    /* Configuration keys of the bus entry and of each window's entry; may be NULL. */
    const struct hq_drv_key *bus_keys;
    size_t n_bus_keys, bus_cfg_size; /* bus_cfg_size <= HQ_DRV_BUS_CFG_MAX */
    const struct hq_drv_key *win_keys;
    size_t n_win_keys, win_cfg_size; /* win_cfg_size <= HQ_DRV_WIN_CFG_MAX */
    /* Cross-key check of a bus's / a window's config after its keys were read; writes a
     * message (naming the key) into err and returns HQ_ERR_CONFIG. May be NULL. */
    int (*check_bus)(const void *cfg, char *err, size_t cap);
    int (*check_win)(const void *cfg, const struct hq_dev_window *w, char *err, size_t cap);

    /* REQUIRED. The line is up: reset the lexer, greet the devices, report the
     * line's health (a line whose devices must answer first stays OFFLINE until they do).
     * HQ_OK, or an error: the host then reports the line faulty and closes it. */
    int (*open)(struct hq_dev *dev, uint64_t now_ms);
    /* REQUIRED. Bytes read from the line (any split; the host wipes its copy afterwards). */
    void (*input)(struct hq_dev *dev, const uint8_t *b, size_t n, uint64_t now_ms);
    /* The timer armed with host->arm fired. NULL if the driver never arms one. */
    void (*timer)(struct hq_dev *dev, uint64_t now_ms);
    /* Something to show or send (see enum hq_drv_fx_type). NULL for input-only devices. */
    void (*effect)(struct hq_dev *dev, const struct hq_drv_effect *ef, uint64_t now_ms);
    /* Add the driver's own fields to a status object: the line's (unit LINE, wi -1) or one
     * window's device (unit KEYPAD, PAD or BAR; the host wrote id, type, window, address and
     * health already). May be NULL. */
    void (*status)(struct hq_dev *dev, int unit, int wi, struct cJSON *obj, uint64_t now_ms);
    /* The line is gone or hallqd stops: forget and wipe what the devices said. May be NULL. */
    void (*close)(struct hq_dev *dev);
    /* The line carries personal data (an ID card's text): its bytes are never hex-dumped. */
    bool private_bytes;
};

/* ---------------------------------------------------------------- the registry */

/* Every driver hallqd knows (drivers/registry.c), NULL-terminated. */
extern const struct hq_driver *const hq_drivers[];

/* The driver whose name or alias is name; NULL if none. */
const struct hq_driver *hq_driver_find(const char *name);
/* The driver of a role that configurations without a `type` get ("sam" for readers). */
const struct hq_driver *hq_driver_default(int role);

#endif
