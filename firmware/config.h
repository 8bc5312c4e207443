/*
 * config.h — the hall's configuration: one JSON file, read with cJSON.
 *
 * Every key is declared once in config.c's schema tables (type, bounds,
 * default, where it lands in struct hq_config). A bad file is refused with a
 * message naming the file, the JSON path and what is wrong, e.g.
 *   demo-hall.json: $.services[2].daily_quota: must be between 0 and 100000, got -5
 * Unknown keys are errors (a typo must not silently become a default).
 * Relative paths in the file are made relative to the file's folder.
 */
#ifndef HQ_CONFIG_H
#define HQ_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "driver.h" /* drivers' own keys: HQ_DRV_*_CFG_MAX */
#include "engine.h"

#define HQ_CFG_PATH_MAX 512
#define HQ_CFG_MAX_TOKENS 16
#define HQ_CFG_MAX_ADDRS 128 /* addresses in one http.*_addresses list */
#define HQ_CFG_ADDR_LEN 48   /* an IPv6 address in text, with room to spare */
#define HQ_CFG_MAX_HOSTS 16
#define HQ_CFG_MAX_CAL_DAYS 128 /* hall.calendar: dates in one list (a few years of holidays) */

struct hq_token_cfg {
    char token[128];
    char role[16];   /* "clerk", "manager" or "device" */
    uint16_t window; /* role device: the window whose tablet holds it */
    char name[32];   /* who it is in the event log ("token:NAME"): "window-system" */
};

#define HQ_CFG_MAX_READERS 8
#define HQ_CFG_MAX_KIOSK_PRINTERS 8
#define HQ_CFG_MAX_BUSES 8

/* One ID-card reader: the kiosk it feeds and its serial link. */
struct hq_reader_cfg {
    char kiosk[32]; /* "k1" */
    char port[256]; /* hal/serial.h spec: /dev/ttyUSB0, usb:VID:PID, pty:PATH, tcp://H:P */
    uint32_t baud;  /* 115200 */
    char type[16];  /* its driver (drivers/registry.c); "" = the default reader driver */
    /* the driver's own keys (e.g. "fingerprint"), as its struct; filled by the loader */
    _Alignas(8) unsigned char drv[HQ_DRV_BUS_CFG_MAX];
};

/* A kiosk's own ticket printer: tickets asked for at that kiosk print there. */
/* evaluation.pads[]: a window's rating screen (/pad/N) known by its address */
struct hq_pad_cfg {
    uint16_t window;
    char address[HQ_CFG_ADDR_LEN];
};
#define HQ_CFG_MAX_PADS 64

struct hq_kiosk_printer_cfg {
    char kiosk[32];        /* "k1", as the page's ?kiosk= and devices.card_readers[].kiosk */
    char queue[128];       /* its CUPS queue */
    char status_link[128]; /* "tcp://host:9100" for DLE EOT, "" = CUPS only */
};

/* One serial line: a hall bus (FF 68 keypads and rating pads) or an LED bus (A0 90 bars). */
struct hq_bus_cfg {
    char id[32]; /* "keys", referred to by devices.windows[].bus / .led_bus */
    char
        type[16]; /* its driver's name or alias (drivers/registry.c): "ff68"/"hall", "a090"/"led" */
    char port[256];
    uint32_t baud; /* 9600 */
    bool rs485;    /* driver-controlled RS-485 direction (TIOCSRS485) */
    bool rs485_rts_low;
    bool acknowledge; /* led: the bars answer AA; one frame in flight at a time */
    _Alignas(8) unsigned char drv[HQ_DRV_BUS_CFG_MAX]; /* the driver's own keys, as its struct */
};

/* The bus addresses of one window's devices (0 = the window has none). */
struct hq_devwin_cfg {
    uint16_t window;             /* windows[].number */
    char bus[32];                /* hall bus id ("" = the only hall bus) */
    uint8_t keypad;              /* 1..254 */
    uint8_t pad;                 /* 1..254 */
    char pad_type[8];            /* "five" or "four" */
    char pad_map[128];           /* "raw=level,..." for a four-key pad, "" = the usual map */
    char led_bus[32];            /* LED bus id ("" = the only LED bus) */
    uint8_t bar;                 /* 1..254 */
    char idle_text[128];         /* "" = devices.led.idle_text */
    int8_t bus_idx, led_bus_idx; /* resolved at load: index into buses[], -1 = none */
    /* the window keys of its bus's and its display bus's drivers, as their structs */
    _Alignas(8) unsigned char bus_drv[HQ_DRV_WIN_CFG_MAX];
    _Alignas(8) unsigned char led_drv[HQ_DRV_WIN_CFG_MAX];
};

#define HQ_CFG_MAX_GPIO_BUTTONS 16
#define HQ_GPIO_NONE 0xffff

/* One kiosk button: a press issues a ticket of its service. */
struct hq_gpio_button_cfg {
    uint16_t line;       /* offset on gpio.chip */
    char service[16];    /* services[].code */
    bool active_low;     /* pressed = line low (a switch to ground with a pull-up) */
    uint8_t service_idx; /* resolved at load */
};

struct hq_config {
    char file[HQ_CFG_PATH_MAX]; /* the file it came from (absolute) */
    char dir[HQ_CFG_PATH_MAX];  /* its folder: base of relative paths */

    /* hall */
    char hall_name[128]; /* 某某市政务服务中心 */
    char hall_name_en[128];
    /* hall.calendar: local days (since 1970-01-01) that are holidays, and
     * weekend days that are make-up working days (调休上班), each ascending */
    int32_t cal_holidays[HQ_CFG_MAX_CAL_DAYS];
    uint16_t n_cal_holidays;
    int32_t cal_workdays[HQ_CFG_MAX_CAL_DAYS];
    uint16_t n_cal_workdays;
    char log_level[16]; /* error, warn, notice, info, debug, hex */

    /* http */
    char http_listen[64]; /* "127.0.0.1:8080" */
    char public_url[256]; /* base of the status URL printed as QR: "http://hall.example/" */
    char web_root[HQ_CFG_PATH_MAX]; /* page assets (absolute after loading) */
    uint32_t http_max_body;         /* bytes */
    uint32_t http_max_clients;
    struct hq_token_cfg tokens[HQ_CFG_MAX_TOKENS];
    int n_tokens;
    /* the hall LAN's share of the server (api.c, DESIGN.md "HTTP budgets") */
    uint32_t http_max_per_address;         /* connections from one address */
    uint32_t http_max_streams_per_address; /* event streams from one client address */
    uint32_t http_request_timeout_s;       /* a request's headers and body, start to end */
    uint32_t http_device_slots;            /* connections kept for each device address */
    uint32_t http_public_max_clients;      /* all connections of public_addresses together */
    uint32_t http_issue_per_minute;        /* anonymous tickets per address; 0 = no limit */
    uint32_t http_issue_burst;             /* ... of which this many at once */
    char http_device_addrs[HQ_CFG_MAX_ADDRS][HQ_CFG_ADDR_LEN]; /* kiosks, displays */
    int n_http_device_addrs;
    char http_kiosk_addrs[HQ_CFG_MAX_ADDRS][HQ_CFG_ADDR_LEN]; /* only these issue anonymously */
    int n_http_kiosk_addrs;
    char http_public_addrs[HQ_CFG_MAX_ADDRS][HQ_CFG_ADDR_LEN]; /* many people behind one */
    int n_http_public_addrs;
    char http_trusted_proxies[HQ_CFG_MAX_ADDRS][HQ_CFG_ADDR_LEN]; /* X-Forwarded-For believed */
    int n_http_trusted_proxies;
    char http_hosts[HQ_CFG_MAX_HOSTS][HQ_CFG_ADDR_LEN * 2]; /* names the Host header may carry */
    int n_http_hosts;

    /* evaluation (好差评 pages, hqd_rating.c) */
    uint32_t eval_qr_open_h;       /* a finished ticket's QR rating page stays open this long */
    char eval_reasons_version[32]; /* the reason-code list in force (hqd_rating.c) */
    char eval_platform_pubkey[64]; /* base64; "" = ID numbers are not carried */
    uint8_t eval_platform_pk[32];  /* decoded (cfg__evaluation_finish) */
    bool eval_platform_pk_set;
    struct hq_pad_cfg eval_pads[HQ_CFG_MAX_PADS];
    int n_eval_pads;

    /* sessions (staff sign-in, hqd_session.c) */
    uint32_t session_idle_s; /* a session unused this long is over */

    /* store */
    char database[HQ_CFG_PATH_MAX];    /* absolute after loading */
    char synchronous[8];               /* "full" or "normal" */
    uint32_t store_backlog_max_kib;    /* unsaved writes kept in RAM while the disk refuses them */
    uint32_t store_history_days;       /* tickets and evaluations kept; 0 = for ever */
    uint32_t store_event_log_days;     /* event log rows kept; 0 = for ever */
    uint32_t store_disk_alarm_mib;     /* alarm when less is free on the database's disk; 0 = off */
    uint32_t reports_keep_years;       /* per-day report rollups kept; 0 = for ever */
    uint32_t reports_wait_threshold_s; /* a wait over this counts in the reports' over-share */

    /* display (pages and texts) */
    char notice[512]; /* scrolling notice on the wall display */
    char notice_en[512];
    char ticket_notice[128];     /* 过号请重新取号 */
    uint32_t ticket_alert_ahead; /* the phone's ticket page alerts at this many ahead; 0 = never */

    /* alarms */
    uint32_t wait_alarm_s; /* 预警: estimated or actual wait over this */
    uint32_t
        idle_alarm_s; /* 空岗: clerk logged in, nobody called for this long while people wait */
    uint32_t unstaffed_alarm_s; /* 空岗: nobody signed in this long in opening hours, people wait */

    /* evaluation: 差评 call-back, due dates, appeals (hqd_callback.c) */
    uint32_t eval_callback_workdays; /* 回访 due this many working days after the rating */
    uint32_t eval_rectify_workdays;  /* 整改 due this many working days after the rating */
    uint32_t eval_appeal_workdays;   /* a clerk may appeal (申诉) this long after the rating */
    uint32_t eval_contact_window_s;  /* the phone number may be given this long after rating */
    uint32_t eval_contact_keep_days; /* a sealed phone number is erased after this at the latest */

    /* privacy */
    char id_hash_key[128]; /* HMAC key for ID numbers (region-wide) */

    /* sync: the central server (PROTOCOLS.md §5); url and serial both empty = off */
    char sync_url[256];                 /* base URL: "https://central.example/" */
    char sync_token[256];               /* bearer token */
    char sync_ca_file[HQ_CFG_PATH_MAX]; /* CA bundle (PEM), "" = the system's */
    char sync_pinned_pubkey[512];       /* "sha256//BASE64[;sha256//...]" or "" */
    char sync_serial[256];              /* serial link to a gateway (hal/serial.h spec) */
    uint32_t sync_serial_baud;
    uint32_t sync_batch_max;               /* records per batch, 1..500 */
    uint32_t sync_timeout_s;               /* one HTTP exchange */
    uint32_t sync_appointments_interval_s; /* appointments pull period, 0 = on demand only */
    uint32_t sync_appointment_early_s;     /* check-in opens this long before the slot */
    uint32_t sync_appointment_grace_s;     /* later than slot start + this: no priority */
    uint32_t sync_alarm_backlog;           /* alarm at this many unsent records */
    uint32_t sync_alarm_age_s;             /* alarm when the oldest unsent is this old */
    uint32_t sync_retention_days;          /* acknowledged records kept this long */

    /* printer: the ticket printer (PROTOCOLS.md §4); queue "" = tickets are not printed */
    char printer_queue[128];                   /* CUPS queue name */
    char printer_cups_server[HQ_CFG_PATH_MAX]; /* cupsSetServer(): socket or host; "" = system */
    uint32_t printer_width_mm;                 /* 58 or 80 */
    char printer_status_link[128];             /* "tcp://host:9100" for DLE EOT, "" = CUPS only */
    uint32_t printer_job_timeout_s;            /* a job not completed by then is a printer fault */
    uint32_t printer_status_interval_s;
    char printer_backup_queue[128]; /* second printer for failover, "" = none */
    char printer_backup_status_link[128];
    char printer_template[HQ_CFG_PATH_MAX]; /* ticket layout JSON file, "" = built-in */
    char printer_replacement[16];           /* printed for a character the printer lacks */
    uint32_t printer_kiosk_reprint_s; /* a kiosk (no token) may reprint this long after issue */
    uint32_t printer_kiosk_reprints;  /* and this many times per ticket; 0 = never */
    struct hq_kiosk_printer_cfg kiosk_printers[HQ_CFG_MAX_KIOSK_PRINTERS];
    int n_kiosk_printers;

    /* devices: ID-card readers, hall buses (keypads, rating pads) and LED bar buses, and
     * which window's devices sit at which bus address (hqd_devices.c) */
    struct hq_reader_cfg readers[HQ_CFG_MAX_READERS];
    int n_readers;
    uint32_t card_hold_s; /* a read identity is forgotten after this, card or not */
    struct hq_bus_cfg buses[HQ_CFG_MAX_BUSES];
    int n_buses;
    struct hq_devwin_cfg *devwins; /* heap, n_devwins */
    size_t n_devwins;
    char led_template[128];  /* "{ticket}请到{window}号窗口" */
    char led_color[8];       /* red, green, yellow */
    char led_idle_text[128]; /* "{name} 欢迎光临" */
    char led_idle_color[8];
    char led_paused_text[64]; /* 暂停服务 */
    char led_blank_at[8];     /* "auto", "off" or "HH:MM" */

    /* voice: calls announced through ALSA or into WAV files (hqd_voice.c) */
    bool voice_enabled;
    char voice_pack[HQ_CFG_PATH_MAX];   /* clips folder (absolute), "" = the built-in pack */
    char voice_output[HQ_CFG_PATH_MAX]; /* "alsa:DEVICE" or "dir:/absolute/folder" */
    uint32_t voice_repeat;              /* times each call is said */
    char voice_language[8];             /* "zh" or "zh+en" */
    uint32_t voice_gap_ms;              /* silence between words */
    uint32_t voice_pause_ms;            /* silence between sentences and repetitions */
    uint32_t voice_max_lag_s;           /* queue trimmed beyond this much waiting sound */

    /* gpio: kiosk buttons, status LEDs, paper-near-end sensor, cabinet door (hqd_gpio.c);
     * a line HQ_GPIO_NONE is not connected */
    char gpio_chip[64];        /* "gpiochip0", "/dev/gpiochip0", a label or a number; "" = none */
    uint32_t gpio_debounce_ms; /* a level counts once it held this long */
    struct hq_gpio_button_cfg gpio_buttons[HQ_CFG_MAX_GPIO_BUTTONS];
    int n_gpio_buttons;
    uint16_t gpio_led_printer, gpio_led_device; /* outputs: printer fault, device fault */
    bool gpio_led_active_low;                   /* LEDs lit by driving the line low */
    uint16_t gpio_paper_line;                   /* printer's paper-near-end sensor */
    bool gpio_paper_active_low;
    uint16_t gpio_door_line; /* cabinet door switch: active = open */
    bool gpio_door_active_low;

    /* the engine's part: services, windows, staff, priority and queue rules */
    struct hq_engine_cfg engine;
};

/* Load and validate FILE into cfg. On failure returns HQ_ERR_CONFIG and
 * writes one line into err ("FILE: $.path: what is wrong"). */
int hq_config_load(const char *file, struct hq_config *cfg, char *err, size_t errlen);
/* Same, from a string (tests); `name` stands for the file in messages and
 * `dir` is the base of relative paths. */
int hq_config_parse(const char *name, const char *dir, const char *json, struct hq_config *cfg,
                    char *err, size_t errlen);
void hq_config_free(struct hq_config *cfg);

/* One window's devices given while hallqd runs (a temporary window's, issue 16): json is a
 * devices.windows[] entry without "window" (or with the same number), read and checked by the
 * same schema table and finish hook as the file's entries — the same bounds, bus lookups,
 * driver keys and messages. others[0..n_others) are the windows that hold devices now (the
 * file's first, then the temporary windows'); an address one of them has on the same bus is
 * refused. cfg is the running configuration (its buses); the window itself need not be in
 * cfg->engine.windows yet. HQ_OK with *out filled, or HQ_ERR_CONFIG and one line in err:
 * "NAME: $.devices.keypad: address 5 on bus "keys" is already $.devices.windows[0]". */
struct cJSON;
int hq_config_devwin_parse(const struct hq_config *cfg, const struct cJSON *json, uint16_t window,
                           const struct hq_devwin_cfg *others, size_t n_others, size_t n_file,
                           const char *name, struct hq_devwin_cfg *out, char *err, size_t errlen);

/* SIGHUP: compare next (a freshly loaded file) with the running cur key by
 * key, as the schema table flags each key. A changed key that may change at
 * run time is copied into cur (HQ_CFG_APPLIED) or left to its module's reload
 * hook (HQ_CFG_HOOK: sync.*, voice.language ...); any other changed key waits
 * for a restart (HQ_CFG_RESTART). fn hears of every changed key by its JSON
 * path ("$.services[1].daily_quota"; never its value, secrets stay secret).
 * Returns how many changed keys wait for a restart. */
enum { HQ_CFG_APPLIED, HQ_CFG_HOOK, HQ_CFG_RESTART };
int hq_config_reload(struct hq_config *cur, const struct hq_config *next,
                     void (*fn)(void *arg, const char *path, int how), void *arg);

/* Every key of the schema, depth first in file order: fn(arg, path, type,
 * default, reload) with path like "services[].hours.mon" and the type/bounds,
 * default and reload flag ("SIGHUP", "restart", "per key" for an object)
 * exactly as docs/CONFIG.md shows them. Stops at fn's first non-zero. */
int hq_config_schema_each(int (*fn)(void *arg, const char *path, const char *type, const char *def,
                                    const char *reload),
                          void *arg);

/* 1 + the index of kiosk's own printer in printer.kiosks, 0 when it has none
 * (or kiosk is NULL): the value of hq_cmd issue.kiosk_printer. */
uint8_t hq_config_kiosk_printer(const struct hq_config *c, const char *kiosk);

#endif
