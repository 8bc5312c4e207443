/*
 * config.c — reads the hall's one JSON configuration file into struct
 * hq_config, refusing any file that is not exactly right.
 *
 * A hall box is set up by people editing JSON by hand; a typo that silently
 * became a default (a misspelt "daily_quota" turning into "no quota") would
 * only show on a busy morning. So every key is declared once in the schema
 * tables below (type, bounds, default, where it lands), one generic walker
 * validates and fills, unknown keys are errors, and the first problem is
 * reported as one line: "FILE: $.json.path: what is wrong". Checks that span
 * several keys (unique codes, window services that exist) run in the finish
 * hook of the object they concern, so they name the exact path too.
 *
 * docs/CONFIG.md is written from the same tables; hq_config_schema_each()
 * lets a unit test hold the two together.
 */
#include "config.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include <unistd.h>

#define CFG_FILE_MAX (1024 * 1024) /* a hall config is a few KiB; refuse a wrong file early */

enum cfg_type {
    CT_STR,      /* string into a char array */
    CT_PATH,     /* string, made absolute against the config file's folder */
    CT_INT,      /* integer into an unsigned field of 1, 2 or 4 bytes */
    CT_BOOL,     /* true/false into a bool */
    CT_ENUM,     /* one of `choices`, stored as the string */
    CT_OFFSET,   /* "+HH:MM" into int32 seconds */
    CT_DATE,     /* "YYYY-MM-DD" into int32 local days since 1970-01-01 */
    CT_DATES,    /* ["YYYY-MM-DD", ...] into int32[max], ascending, count at off2 */
    CT_HOURS,    /* ["HH:MM-HH:MM", ...] into struct hq_day_hours for each day in `days` */
    CT_RANGE,    /* [first, last] into two uint16 */
    CT_PRIOS,    /* ["elderly", ...] into a priority bit mask (NORMAL always set) */
    CT_REFS,     /* ["A", "B"] service codes into uint8 service indices */
    CT_HOSTPORT, /* "HOST:PORT" */
    CT_URL,      /* "http://..." or "https://..." */
    CT_ADDRS,    /* ["192.168.1.20", "fd00::7"]: IP addresses into char[max][elem_size] */
    CT_HOSTS,    /* ["hall.example"]: host names without a port, the same way */
    CT_OBJECT,   /* a nested object whose keys land in the same base */
    CT_ARRAY,    /* an array of objects: allocated, or inline (CF_INLINE) */
};

enum cfg_flags {
    CF_REQ = 1 << 0,    /* no default: the key must be there */
    CF_INLINE = 1 << 1, /* CT_ARRAY: the elements live in the struct, not on the heap */
    CF_SECRET = 1 << 2, /* never echo the value in a message (logs are read by many) */
    /* May change at run time: SIGHUP applies it (hq_config_reload copies it into the
     * running configuration). Without it a change waits for a restart, and the reload
     * says so by the key's JSON path. As redis's MODIFIABLE_CONFIG / IMMUTABLE_CONFIG. */
    CF_RELOAD = 1 << 3,
    /* With CF_RELOAD: its module applies it from its own reload hook (the sync up-link
     * restarts its transport, the voice checks its pack has the language), so the
     * generic pass leaves it to that hook. */
    CF_HOOK = 1 << 4,
};

enum cfg_charset {
    CS_ANY = 0,  /* any UTF-8 */
    CS_DIGITS,   /* 0-9: typed on a keypad */
    CS_CODE,     /* A-Z a-z 0-9 _ - . : safe in URLs, file names and records */
    CS_LETTERS,  /* A-Z a-z: a ticket prefix, so "A012" splits into prefix and number */
    CS_PRINTABLE /* ASCII 0x21-0x7e: tokens travel in HTTP headers */
};

struct cfg_walk;

/* Objects that also hold a driver's own keys (drivers/driver.h, the registry). */
enum cfg_drv { CD_NONE = 0, CD_READER, CD_BUS, CD_WINDOW };

struct cfg_obj {
    const struct cfg_key *keys;
    size_t n;
    /* Cross-checks once every key of element i of `elems` is in place (for
     * a plain object: elems is its base and i is 0). */
    int (*finish)(struct cfg_walk *w, void *elems, size_t i);
    uint8_t drv; /* enum cfg_drv: besides keys, the keys its drivers declare */
};

struct cfg_key {
    const char *key;
    uint8_t type;        /* enum cfg_type */
    uint8_t flags;       /* enum cfg_flags */
    uint8_t charset;     /* enum cfg_charset, for CT_STR */
    uint8_t days;        /* CT_HOURS: the days it sets, bit = tm_wday (0 = Sunday) */
    size_t off, size;    /* where it lands from the object's base, and the field's size */
    size_t off2, size2;  /* CT_RANGE: the last number; CT_ARRAY, CT_REFS: the count */
    long long min, max;  /* CT_INT, CT_RANGE: value bounds; CT_STR: min length; arrays: items */
    long long def, def2; /* CT_INT, CT_BOOL, CT_RANGE defaults */
    const char *def_str; /* string-like defaults; NULL = empty */
    const char *def_doc; /* how the docs show a default that is computed at load time */
    const char *const *choices; /* CT_ENUM, NULL-terminated */
    const struct cfg_obj *sub;  /* CT_OBJECT, CT_ARRAY */
    size_t elem_size;           /* CT_ARRAY */
};

struct cfg_walk {
    const char *name; /* the file as messages name it */
    const char *dir;  /* absolute base of relative paths */
    struct hq_config *cfg;
    char *err;
    size_t errlen;
    int failed;
    char path[256]; /* "$.services[2].daily_quota" */
    size_t plen;
    const cJSON *json; /* the object whose finish hook runs (drivers' keys are read there) */
    /* hq_config_devwin_parse: one window's devices given while hallqd runs; devices.windows
     * entries from n_file_devwins on are temporary windows' (named by number, not path) */
    bool runtime;
    size_t n_file_devwins;
};

#define CFG_OBJ(keys, fin)                                                                         \
    {                                                                                              \
        keys, HQ_ARRAY_LEN(keys), fin, CD_NONE                                                     \
    }
#define CFG_OBJ_DRV(keys, fin, drv)                                                                \
    {                                                                                              \
        keys, HQ_ARRAY_LEN(keys), fin, drv                                                         \
    }
#define F_OFF(field) .off = offsetof(BASE, field), .size = sizeof(((BASE *)0)->field)
#define F_OFF2(field) .off2 = offsetof(BASE, field), .size2 = sizeof(((BASE *)0)->field)

static int cfg__service_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__window_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__staff_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__pause_reason_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__token_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__top_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__http_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__sync_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__printer_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__voice_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__reader_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__kprinter_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__pad_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__bus_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__devwin_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__led_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__gpio_button_finish(struct cfg_walk *w, void *elems, size_t i);
static int cfg__gpio_finish(struct cfg_walk *w, void *elems, size_t i);

static const char *const cfg_log_levels[] = {"error", "warn", "notice", "info",
                                             "debug", "hex",  NULL};
static const char *const cfg_sync_modes[] = {"full", "normal", NULL};
static const char *const cfg_roles[] = {"clerk", "manager", "device", NULL};
static const char *const cfg_staff_roles[] = {"clerk", "desk", "manager", NULL};
static const char *const cfg_voice_languages[] = {"zh", "zh+en", NULL};
/* Filled from the registry (cfg__drivers_init): every bus driver's name and aliases. */
static const char *cfg_bus_types[32];
static const char *const cfg_pad_types[] = {"five", "four", NULL};
static const char *const cfg_reasons_versions[] = {"hallq-2019.1", NULL};
static const char *const cfg_led_colors[] = {"red", "green", "yellow", NULL};

/* ------------------------------------------------------------ the schema */

/* The tables are laid out one key per entry, as a reader scans them;
 * clang-format would spread each entry over many lines. */
/* clang-format off */

#define BASE struct hq_config
static const struct cfg_key cfg_calendar_keys[] = {
    {.key = "holidays", .flags = CF_RELOAD, .type = CT_DATES, F_OFF(cal_holidays), F_OFF2(n_cal_holidays),
     .min = 0, .max = HQ_CFG_MAX_CAL_DAYS},
    {.key = "workdays", .flags = CF_RELOAD, .type = CT_DATES, F_OFF(cal_workdays), F_OFF2(n_cal_workdays),
     .min = 0, .max = HQ_CFG_MAX_CAL_DAYS},
};
static const struct cfg_obj cfg_calendar_obj = CFG_OBJ(cfg_calendar_keys, NULL);


static const struct cfg_key cfg_hall_keys[] = {
    {.key = "id", .type = CT_STR, F_OFF(engine.hall_id), .flags = CF_REQ, .min = 1,
     .charset = CS_CODE},
    {.key = "name", .type = CT_STR, F_OFF(hall_name), .flags = CF_REQ | CF_RELOAD, .min = 1},
    {.key = "name_en", .flags = CF_RELOAD, .type = CT_STR, F_OFF(hall_name_en)},
    {.key = "utc_offset", .type = CT_OFFSET, F_OFF(engine.utc_offset_s), .def_str = "+08:00"},
    {.key = "log_level", .flags = CF_RELOAD, .type = CT_ENUM, F_OFF(log_level), .choices = cfg_log_levels,
     .def_str = "info"},
    {.key = "calendar", .type = CT_OBJECT, .sub = &cfg_calendar_obj},
};
#undef BASE

#define BASE struct hq_token_cfg
static const struct cfg_key cfg_token_keys[] = {
    {.key = "token", .type = CT_STR, F_OFF(token), .flags = CF_REQ | CF_SECRET | CF_RELOAD, .min = 16,
     .charset = CS_PRINTABLE},
    {.key = "role", .type = CT_ENUM, F_OFF(role), .flags = CF_REQ | CF_RELOAD, .choices = cfg_roles},
    {.key = "name", .flags = CF_RELOAD, .type = CT_STR, F_OFF(name), .charset = CS_CODE},
    {.key = "window", .flags = CF_RELOAD, .type = CT_INT, F_OFF(window), .min = 0, .max = 65535, .def = 0},
};
#undef BASE
static const struct cfg_obj cfg_token_obj = CFG_OBJ(cfg_token_keys, cfg__token_finish);

#define BASE struct hq_config
static const struct cfg_key cfg_http_keys[] = {
    {.key = "listen", .type = CT_HOSTPORT, F_OFF(http_listen), .def_str = "127.0.0.1:8080"},
    {.key = "public_url", .type = CT_URL, F_OFF(public_url), .def_doc = "\"http://{listen}\""},
    {.key = "web_root", .type = CT_PATH, F_OFF(web_root), .def_str = "/usr/share/hallq/web"},
    {.key = "max_body", .type = CT_INT, F_OFF(http_max_body), .min = 1024, .max = 16777216,
     .def = 65536},
    {.key = "max_clients", .type = CT_INT, F_OFF(http_max_clients), .min = 1, .max = 1024,
     .def = 256},
    {.key = "tokens", .type = CT_ARRAY, F_OFF(tokens), F_OFF2(n_tokens), .flags = CF_INLINE | CF_RELOAD,
     .min = 0, .max = HQ_CFG_MAX_TOKENS, .sub = &cfg_token_obj,
     .elem_size = sizeof(struct hq_token_cfg)},
    {.key = "hosts", .type = CT_HOSTS, F_OFF(http_hosts), F_OFF2(n_http_hosts), .min = 0,
     .max = HQ_CFG_MAX_HOSTS, .elem_size = HQ_CFG_ADDR_LEN * 2},
    {.key = "max_per_address", .type = CT_INT, F_OFF(http_max_per_address), .min = 0, .max = 1024,
     .def = 0, .def_doc = "16 (at most max_clients)"},
    {.key = "max_streams_per_address", .type = CT_INT, F_OFF(http_max_streams_per_address),
     .min = 1, .max = 1024, .def = 4},
    {.key = "request_timeout_s", .type = CT_INT, F_OFF(http_request_timeout_s), .min = 1,
     .max = 300, .def = 10},
    {.key = "device_addresses", .type = CT_ADDRS, F_OFF(http_device_addrs),
     F_OFF2(n_http_device_addrs), .min = 0, .max = HQ_CFG_MAX_ADDRS,
     .elem_size = HQ_CFG_ADDR_LEN},
    {.key = "kiosk_addresses", .type = CT_ADDRS, F_OFF(http_kiosk_addrs),
     F_OFF2(n_http_kiosk_addrs), .min = 0, .max = HQ_CFG_MAX_ADDRS,
     .elem_size = HQ_CFG_ADDR_LEN},
    {.key = "device_slots", .type = CT_INT, F_OFF(http_device_slots), .min = 0, .max = 64,
     .def = 4},
    {.key = "public_addresses", .type = CT_ADDRS, F_OFF(http_public_addrs),
     F_OFF2(n_http_public_addrs), .min = 0, .max = HQ_CFG_MAX_ADDRS,
     .elem_size = HQ_CFG_ADDR_LEN},
    {.key = "trusted_proxies", .type = CT_ADDRS, F_OFF(http_trusted_proxies),
     F_OFF2(n_http_trusted_proxies), .min = 0, .max = HQ_CFG_MAX_ADDRS,
     .elem_size = HQ_CFG_ADDR_LEN},
    {.key = "public_max_clients", .type = CT_INT, F_OFF(http_public_max_clients), .min = 0,
     .max = 1024, .def = 0, .def_doc = "max_clients / 4"},
    {.key = "issue_per_minute", .type = CT_INT, F_OFF(http_issue_per_minute), .min = 0,
     .max = 60000, .def = 30},
    {.key = "issue_burst", .type = CT_INT, F_OFF(http_issue_burst), .min = 1, .max = 1000,
     .def = 10},
};

static const struct cfg_key cfg_session_keys[] = {
    {.key = "idle_s", .type = CT_INT, F_OFF(session_idle_s), .min = 1, .max = 86400, .def = 1800},
};

static const struct cfg_key cfg_store_keys[] = {
    {.key = "database", .type = CT_PATH, F_OFF(database), .def_str = "/var/lib/hallq/hallq.db"},
    {.key = "synchronous", .type = CT_ENUM, F_OFF(synchronous), .choices = cfg_sync_modes,
     .def_str = "full"},
    {.key = "backlog_max_kib", .type = CT_INT, F_OFF(store_backlog_max_kib), .min = 64,
     .max = 262144, .def = 4096},
    {.key = "history_days", .flags = CF_RELOAD, .type = CT_INT, F_OFF(store_history_days), .min = 0, .max = 36500,
     .def = 400},
    {.key = "event_log_days", .flags = CF_RELOAD, .type = CT_INT, F_OFF(store_event_log_days), .min = 0,
     .max = 36500, .def = 90},
    {.key = "disk_alarm_mib", .flags = CF_RELOAD, .type = CT_INT, F_OFF(store_disk_alarm_mib), .min = 0,
     .max = 16777216, .def = 256},
};

static const struct cfg_key cfg_reports_keys[] = {
    {.key = "keep_years", .flags = CF_RELOAD, .type = CT_INT, F_OFF(reports_keep_years), .min = 0,
     .max = 100, .def = 5},
    {.key = "wait_threshold_s", .flags = CF_RELOAD, .type = CT_INT, F_OFF(reports_wait_threshold_s),
     .min = 60, .max = 86400, .def = 1800},
};

static const struct cfg_key cfg_display_keys[] = {
    {.key = "notice", .flags = CF_RELOAD, .type = CT_STR, F_OFF(notice)},
    {.key = "notice_en", .flags = CF_RELOAD, .type = CT_STR, F_OFF(notice_en)},
    {.key = "ticket_notice", .flags = CF_RELOAD, .type = CT_STR, F_OFF(ticket_notice), .def_str = "过号请重新取号"},
    {.key = "ticket_alert_ahead", .type = CT_INT, F_OFF(ticket_alert_ahead), .min = 0, .max = 99,
     .def = 3},
};

static const struct cfg_key cfg_alarm_keys[] = {
    {.key = "wait_s", .flags = CF_RELOAD, .type = CT_INT, F_OFF(wait_alarm_s), .min = 0, .max = 86400, .def = 1800},
    {.key = "idle_s", .flags = CF_RELOAD, .type = CT_INT, F_OFF(idle_alarm_s), .min = 0, .max = 86400, .def = 600},
    {.key = "unstaffed_s", .flags = CF_RELOAD, .type = CT_INT, F_OFF(unstaffed_alarm_s), .min = 0, .max = 86400, .def = 300},
};

static const struct cfg_key cfg_privacy_keys[] = {
    {.key = "id_hash_key", .type = CT_STR, F_OFF(id_hash_key), .flags = CF_REQ | CF_SECRET,
     .min = 16, .charset = CS_PRINTABLE},
};

static const struct cfg_key cfg_sync_keys[] = {
    {.key = "url", .flags = CF_RELOAD | CF_HOOK, .type = CT_URL, F_OFF(sync_url)},
    {.key = "token", .type = CT_STR, F_OFF(sync_token), .flags = CF_SECRET | CF_RELOAD | CF_HOOK,
     .charset = CS_PRINTABLE},
    {.key = "ca_file", .flags = CF_RELOAD | CF_HOOK, .type = CT_STR, F_OFF(sync_ca_file)},
    {.key = "pinned_pubkey", .flags = CF_RELOAD | CF_HOOK, .type = CT_STR, F_OFF(sync_pinned_pubkey), .charset = CS_PRINTABLE},
    {.key = "serial", .flags = CF_RELOAD | CF_HOOK, .type = CT_STR, F_OFF(sync_serial), .charset = CS_PRINTABLE},
    {.key = "serial_baud", .flags = CF_RELOAD | CF_HOOK, .type = CT_INT, F_OFF(sync_serial_baud), .min = 1200, .max = 921600,
     .def = 115200},
    {.key = "batch_max", .flags = CF_RELOAD | CF_HOOK, .type = CT_INT, F_OFF(sync_batch_max), .min = 1, .max = 500, .def = 500},
    {.key = "timeout_s", .flags = CF_RELOAD | CF_HOOK, .type = CT_INT, F_OFF(sync_timeout_s), .min = 5, .max = 600, .def = 30},
    {.key = "appointments_interval_s", .flags = CF_RELOAD | CF_HOOK, .type = CT_INT, F_OFF(sync_appointments_interval_s),
     .min = 0, .max = 86400, .def = 300},
    {.key = "appointment_early_s", .flags = CF_RELOAD | CF_HOOK, .type = CT_INT, F_OFF(sync_appointment_early_s), .min = 0,
     .max = 86400, .def = 1800},
    {.key = "appointment_grace_s", .flags = CF_RELOAD | CF_HOOK, .type = CT_INT, F_OFF(sync_appointment_grace_s), .min = 0,
     .max = 86400, .def = 900},
    {.key = "alarm_backlog", .flags = CF_RELOAD | CF_HOOK, .type = CT_INT, F_OFF(sync_alarm_backlog), .min = 1,
     .max = 100000000, .def = 1000},
    {.key = "alarm_age_s", .flags = CF_RELOAD | CF_HOOK, .type = CT_INT, F_OFF(sync_alarm_age_s), .min = 1, .max = 2592000,
     .def = 3600},
    {.key = "retention_days", .flags = CF_RELOAD, .type = CT_INT, F_OFF(sync_retention_days), .min = 1,
     .max = 36500, .def = 30},
};

#undef BASE
#define BASE struct hq_kiosk_printer_cfg
static const struct cfg_key cfg_kprinter_keys[] = {
    {.key = "kiosk", .type = CT_STR, F_OFF(kiosk), .flags = CF_REQ, .min = 1, .charset = CS_CODE},
    {.key = "queue", .type = CT_STR, F_OFF(queue), .flags = CF_REQ, .min = 1,
     .charset = CS_PRINTABLE},
    {.key = "status_link", .type = CT_STR, F_OFF(status_link), .charset = CS_PRINTABLE},
};
#undef BASE
static const struct cfg_obj cfg_kprinter_obj = CFG_OBJ(cfg_kprinter_keys, cfg__kprinter_finish);

#define BASE struct hq_pad_cfg
static const struct cfg_key cfg_pad_keys[] = {
    {.key = "window", .type = CT_INT, F_OFF(window), .flags = CF_REQ, .min = 1,
     .max = 65535},
    {.key = "address", .type = CT_STR, F_OFF(address), .flags = CF_REQ, .min = 2,
     .charset = CS_PRINTABLE},
};
#undef BASE
static const struct cfg_obj cfg_pad_obj = CFG_OBJ(cfg_pad_keys, cfg__pad_finish);
#define BASE struct hq_config
static const struct cfg_key cfg_evaluation_keys[] = {
    {.key = "callback_workdays", .flags = CF_RELOAD, .type = CT_INT, F_OFF(eval_callback_workdays), .min = 1, .max = 60, .def = 3},
    {.key = "rectify_workdays", .flags = CF_RELOAD, .type = CT_INT, F_OFF(eval_rectify_workdays), .min = 1, .max = 60, .def = 15},
    {.key = "appeal_workdays", .flags = CF_RELOAD, .type = CT_INT, F_OFF(eval_appeal_workdays), .min = 1, .max = 60, .def = 5},
    {.key = "contact_window_s", .flags = CF_RELOAD, .type = CT_INT, F_OFF(eval_contact_window_s), .min = 60, .max = 604800, .def = 1800},
    {.key = "contact_keep_days", .flags = CF_RELOAD, .type = CT_INT, F_OFF(eval_contact_keep_days), .min = 1, .max = 365, .def = 30},
    {.key = "qr_open_h", .type = CT_INT, F_OFF(eval_qr_open_h), .min = 1, .max = 720, .def = 72},
    {.key = "reasons_version", .type = CT_ENUM, F_OFF(eval_reasons_version),
     .choices = cfg_reasons_versions, .def_str = "hallq-2019.1"},
    {.key = "pads", .type = CT_ARRAY, F_OFF(eval_pads), F_OFF2(n_eval_pads), .flags = CF_INLINE,
     .min = 0, .max = HQ_CFG_MAX_PADS, .sub = &cfg_pad_obj, .elem_size = sizeof(struct hq_pad_cfg)},
    {.key = "platform_pubkey", .type = CT_STR, F_OFF(eval_platform_pubkey), .charset = CS_PRINTABLE},
};
static int cfg__evaluation_finish(struct cfg_walk *w, void *elems, size_t i);
static const struct cfg_obj cfg_evaluation_obj =
    CFG_OBJ(cfg_evaluation_keys, cfg__evaluation_finish);


static const struct cfg_key cfg_printer_keys[] = {
    {.key = "queue", .type = CT_STR, F_OFF(printer_queue), .charset = CS_PRINTABLE},
    {.key = "cups_server", .type = CT_STR, F_OFF(printer_cups_server), .charset = CS_PRINTABLE},
    {.key = "width_mm", .type = CT_INT, F_OFF(printer_width_mm), .min = 58, .max = 80, .def = 80},
    {.key = "status_link", .type = CT_STR, F_OFF(printer_status_link), .charset = CS_PRINTABLE},
    {.key = "job_timeout_s", .type = CT_INT, F_OFF(printer_job_timeout_s), .min = 3, .max = 600,
     .def = 30},
    {.key = "status_interval_s", .type = CT_INT, F_OFF(printer_status_interval_s), .min = 1,
     .max = 600, .def = 10},
    {.key = "backup_queue", .type = CT_STR, F_OFF(printer_backup_queue), .charset = CS_PRINTABLE},
    {.key = "backup_status_link", .type = CT_STR, F_OFF(printer_backup_status_link),
     .charset = CS_PRINTABLE},
    {.key = "template", .type = CT_STR, F_OFF(printer_template)},
    {.key = "replacement", .type = CT_STR, F_OFF(printer_replacement), .min = 1, .def_str = "?"},
    {.key = "kiosk_reprint_s", .type = CT_INT, F_OFF(printer_kiosk_reprint_s), .min = 1,
     .max = 3600, .def = 600},
    {.key = "kiosk_reprints", .type = CT_INT, F_OFF(printer_kiosk_reprints), .min = 0, .max = 3,
     .def = 1},
    {.key = "kiosks", .type = CT_ARRAY, F_OFF(kiosk_printers), F_OFF2(n_kiosk_printers),
     .flags = CF_INLINE, .min = 0, .max = HQ_CFG_MAX_KIOSK_PRINTERS, .sub = &cfg_kprinter_obj,
     .elem_size = sizeof(struct hq_kiosk_printer_cfg)},
};

static const struct cfg_key cfg_voice_keys[] = {
    {.key = "enabled", .type = CT_BOOL, F_OFF(voice_enabled), .def = 0},
    {.key = "pack", .type = CT_STR, F_OFF(voice_pack), .def_doc = "the pack built with hallq"},
    {.key = "output", .type = CT_STR, F_OFF(voice_output), .min = 5, .def_str = "alsa:default"},
    {.key = "repeat", .flags = CF_RELOAD | CF_HOOK, .type = CT_INT, F_OFF(voice_repeat), .min = 1, .max = 5, .def = 2},
    {.key = "language", .flags = CF_RELOAD | CF_HOOK, .type = CT_ENUM, F_OFF(voice_language), .choices = cfg_voice_languages,
     .def_str = "zh"},
    {.key = "gap_ms", .flags = CF_RELOAD | CF_HOOK, .type = CT_INT, F_OFF(voice_gap_ms), .min = 0, .max = 1000, .def = 60},
    {.key = "pause_ms", .flags = CF_RELOAD | CF_HOOK, .type = CT_INT, F_OFF(voice_pause_ms), .min = 100, .max = 5000,
     .def = 700},
    {.key = "max_lag_s", .type = CT_INT, F_OFF(voice_max_lag_s), .min = 5, .max = 600, .def = 30},
};

static const struct cfg_key cfg_queue_keys[] = {
    {.key = "recall_limit", .type = CT_INT, F_OFF(engine.recall_limit), .min = 0, .max = 9,
     .def = 2},
    {.key = "max_windows", .type = CT_INT, F_OFF(engine.max_windows), .min = 1,
     .max = HQ_MAX_WINDOWS, .def = 32},
    {.key = "no_show_requeue", .type = CT_BOOL, F_OFF(engine.no_show_requeue), .def = 1},
    {.key = "max_requeues", .type = CT_INT, F_OFF(engine.max_requeues), .min = 0, .max = 9,
     .def = 1},
    {.key = "max_overtakes", .type = CT_INT, F_OFF(engine.max_overtakes), .min = 1, .max = 1000,
     .def = 5},
    {.key = "rating_timeout_s", .type = CT_INT, F_OFF(engine.rating_timeout_s), .min = 5,
     .max = 600, .def = 30},
    {.key = "elderly_age", .type = CT_INT, F_OFF(engine.elderly_age), .min = 50, .max = 100,
     .def = 65},
    {.key = "handle_alpha_pct", .type = CT_INT, F_OFF(engine.handle_alpha_pct), .min = 1,
     .max = 100, .def = 10},
    {.key = "handle_min_samples", .type = CT_INT, F_OFF(engine.handle_min_samples), .min = 1,
     .max = 100, .def = 5},
    {.key = "handle_min_sample_s", .type = CT_INT, F_OFF(engine.handle_min_sample_s), .min = 0,
     .max = 600, .def = 20},
    {.key = "handle_outlier_factor", .type = CT_INT, F_OFF(engine.handle_outlier_factor),
     .min = 2, .max = 20, .def = 3},
    {.key = "handle_max_step_pct", .type = CT_INT, F_OFF(engine.handle_max_step_pct), .min = 1,
     .max = 100, .def = 10},
};

static const struct cfg_key cfg_priority_keys[] = {
    {.key = "elderly", .type = CT_INT, F_OFF(engine.head_start_s[HQ_PRIO_ELDERLY]), .min = 0,
     .max = 86400, .def = 600},
    {.key = "disabled", .type = CT_INT, F_OFF(engine.head_start_s[HQ_PRIO_DISABLED]), .min = 0,
     .max = 86400, .def = 900},
    {.key = "military", .type = CT_INT, F_OFF(engine.head_start_s[HQ_PRIO_MILITARY]), .min = 0,
     .max = 86400, .def = 900},
    {.key = "appointment", .type = CT_INT, F_OFF(engine.head_start_s[HQ_PRIO_APPOINTMENT]),
     .min = 0, .max = 86400, .def = 1200},
    {.key = "green", .type = CT_INT, F_OFF(engine.head_start_s[HQ_PRIO_GREEN]), .min = 0,
     .max = 86400, .def = 3600},
};
#undef BASE

/* Later keys win: "all" then "weekdays"/"weekend", then single days. */
#define BASE struct hq_service_cfg
static const struct cfg_key cfg_hours_keys[] = {
    {.key = "all", .type = CT_HOURS, F_OFF(week), .days = 0x7f, .max = HQ_MAX_INTERVALS},
    {.key = "weekdays", .type = CT_HOURS, F_OFF(week), .days = 0x3e, .max = HQ_MAX_INTERVALS},
    {.key = "weekend", .type = CT_HOURS, F_OFF(week), .days = 0x41, .max = HQ_MAX_INTERVALS},
    {.key = "mon", .type = CT_HOURS, F_OFF(week), .days = 1 << 1, .max = HQ_MAX_INTERVALS},
    {.key = "tue", .type = CT_HOURS, F_OFF(week), .days = 1 << 2, .max = HQ_MAX_INTERVALS},
    {.key = "wed", .type = CT_HOURS, F_OFF(week), .days = 1 << 3, .max = HQ_MAX_INTERVALS},
    {.key = "thu", .type = CT_HOURS, F_OFF(week), .days = 1 << 4, .max = HQ_MAX_INTERVALS},
    {.key = "fri", .type = CT_HOURS, F_OFF(week), .days = 1 << 5, .max = HQ_MAX_INTERVALS},
    {.key = "sat", .type = CT_HOURS, F_OFF(week), .days = 1 << 6, .max = HQ_MAX_INTERVALS},
    {.key = "sun", .type = CT_HOURS, F_OFF(week), .days = 1 << 0, .max = HQ_MAX_INTERVALS},
};
#undef BASE
static const struct cfg_obj cfg_hours_obj = CFG_OBJ(cfg_hours_keys, NULL);

#define BASE struct hq_date_override
static const struct cfg_key cfg_override_keys[] = {
    {.key = "date", .type = CT_DATE, F_OFF(day), .flags = CF_REQ},
    {.key = "hours", .type = CT_HOURS, F_OFF(hours), .flags = CF_REQ, .days = 1,
     .max = HQ_MAX_INTERVALS},
};
#undef BASE
static const struct cfg_obj cfg_override_obj = CFG_OBJ(cfg_override_keys, NULL);

#define BASE struct hq_service_cfg
static const struct cfg_key cfg_service_keys[] = {
    {.key = "code", .type = CT_STR, F_OFF(code), .flags = CF_REQ, .min = 1, .charset = CS_CODE},
    {.key = "name", .type = CT_STR, F_OFF(name), .flags = CF_REQ, .min = 1},
    {.key = "name_en", .type = CT_STR, F_OFF(name_en)},
    {.key = "prefix", .type = CT_STR, F_OFF(prefix), .min = 1, .charset = CS_LETTERS,
     .def_doc = "the code"},
    {.key = "task_code", .type = CT_STR, F_OFF(task_code), .charset = CS_CODE},
    {.key = "range", .type = CT_RANGE, F_OFF(num_min), F_OFF2(num_max), .min = 1, .max = 9999,
     .def = 1, .def2 = 999},
    {.key = "digits", .type = CT_INT, F_OFF(digits), .min = 1, .max = 4, .def = 3},
    {.key = "daily_quota", .type = CT_INT, F_OFF(daily_quota), .min = 0, .max = 100000},
    {.key = "id_required", .type = CT_BOOL, F_OFF(id_required)},
    {.key = "per_person_limit", .type = CT_INT, F_OFF(per_person_limit), .min = 0, .max = 100},
    {.key = "priorities", .type = CT_PRIOS, F_OFF(priority_mask)},
    {.key = "handle_s", .type = CT_INT, F_OFF(default_handle_s), .min = 10, .max = 7200,
     .def = 300},
    {.key = "time_limit_s", .type = CT_INT, F_OFF(time_limit_s), .min = 0, .max = 86400,
     .def = 0},
    {.key = "hours", .type = CT_OBJECT, .flags = CF_REQ, .sub = &cfg_hours_obj},
    {.key = "overrides", .type = CT_ARRAY, F_OFF(overrides), F_OFF2(n_overrides), .min = 0,
     .max = 366, .sub = &cfg_override_obj, .elem_size = sizeof(struct hq_date_override)},
};
#undef BASE
static const struct cfg_obj cfg_service_obj = CFG_OBJ(cfg_service_keys, cfg__service_finish);

#define BASE struct hq_window_cfg
static const struct cfg_key cfg_window_keys[] = {
    {.key = "number", .type = CT_INT, F_OFF(number), .flags = CF_REQ, .min = 1, .max = 999},
    {.key = "name", .type = CT_STR, F_OFF(name), .def_doc = "\"{number}号窗口\""},
    {.key = "name_en", .type = CT_STR, F_OFF(name_en), .def_doc = "\"Window {number}\""},
    {.key = "services", .type = CT_REFS, F_OFF(services), F_OFF2(n_services), .flags = CF_REQ,
     .min = 1, .max = HQ_MAX_WINDOW_SERVICES},
};
#undef BASE
static const struct cfg_obj cfg_window_obj = CFG_OBJ(cfg_window_keys, cfg__window_finish);

#define BASE struct hq_staff_cfg
static const struct cfg_key cfg_staff_keys[] = {
    {.key = "id", .type = CT_STR, F_OFF(id), .flags = CF_REQ, .min = 2, .max = 8,
     .charset = CS_DIGITS},
    {.key = "name", .type = CT_STR, F_OFF(name), .flags = CF_REQ, .min = 1},
    {.key = "role", .type = CT_ENUM, F_OFF(role), .choices = cfg_staff_roles, .def_str = "clerk"},
};
#undef BASE
static const struct cfg_obj cfg_staff_obj = CFG_OBJ(cfg_staff_keys, cfg__staff_finish);

#define BASE struct hq_pause_reason
static const struct cfg_key cfg_pause_reason_keys[] = {
    {.key = "code", .type = CT_STR, F_OFF(code), .flags = CF_REQ | CF_RELOAD, .min = 1,
     .charset = CS_CODE},
    {.key = "name", .type = CT_STR, F_OFF(name), .flags = CF_REQ | CF_RELOAD, .min = 1},
    {.key = "name_en", .type = CT_STR, F_OFF(name_en), .flags = CF_RELOAD, .def_doc = "the code"},
    {.key = "max_min", .type = CT_INT, F_OFF(max_min), .flags = CF_RELOAD, .min = 0, .max = 1440,
     .def = 0},
};
#undef BASE
static const struct cfg_obj cfg_pause_reason_obj =
    CFG_OBJ(cfg_pause_reason_keys, cfg__pause_reason_finish);

/* Devices: ID-card readers, buses, and each window's addresses on them. */
#define BASE struct hq_reader_cfg
static const struct cfg_key cfg_reader_keys[] = {
    {.key = "kiosk", .type = CT_STR, F_OFF(kiosk), .flags = CF_REQ, .min = 1, .charset = CS_CODE},
    {.key = "port", .type = CT_STR, F_OFF(port), .flags = CF_REQ, .min = 1,
     .charset = CS_PRINTABLE},
    {.key = "baud", .type = CT_INT, F_OFF(baud), .min = 1200, .max = 230400, .def = 115200},
    {.key = "type", .type = CT_STR, F_OFF(type), .charset = CS_CODE,
     .def_doc = "the first reader driver (\"sam\")"},
};
#undef BASE
static const struct cfg_obj cfg_reader_obj =
    CFG_OBJ_DRV(cfg_reader_keys, cfg__reader_finish, CD_READER);

#define BASE struct hq_bus_cfg
static const struct cfg_key cfg_bus_keys[] = {
    {.key = "id", .type = CT_STR, F_OFF(id), .flags = CF_REQ, .min = 1, .charset = CS_CODE},
    {.key = "type", .type = CT_ENUM, F_OFF(type), .flags = CF_REQ, .choices = cfg_bus_types},
    {.key = "port", .type = CT_STR, F_OFF(port), .flags = CF_REQ, .min = 1,
     .charset = CS_PRINTABLE},
    {.key = "baud", .type = CT_INT, F_OFF(baud), .min = 1200, .max = 230400, .def = 9600},
    {.key = "rs485", .type = CT_BOOL, F_OFF(rs485)},
    {.key = "rs485_rts_low", .type = CT_BOOL, F_OFF(rs485_rts_low)},
    {.key = "acknowledge", .type = CT_BOOL, F_OFF(acknowledge)},
};
#undef BASE
static const struct cfg_obj cfg_bus_obj = CFG_OBJ_DRV(cfg_bus_keys, cfg__bus_finish, CD_BUS);

#define BASE struct hq_devwin_cfg
static const struct cfg_key cfg_devwin_keys[] = {
    {.key = "window", .type = CT_INT, F_OFF(window), .flags = CF_REQ, .min = 1, .max = 999},
    {.key = "bus", .type = CT_STR, F_OFF(bus), .charset = CS_CODE,
     .def_doc = "the only hall bus"},
    {.key = "keypad", .type = CT_INT, F_OFF(keypad), .min = 0, .max = 254},
    {.key = "pad", .type = CT_INT, F_OFF(pad), .min = 0, .max = 254},
    {.key = "pad_type", .type = CT_ENUM, F_OFF(pad_type), .choices = cfg_pad_types,
     .def_str = "five"},
    {.key = "pad_map", .type = CT_STR, F_OFF(pad_map), .charset = CS_PRINTABLE},
    {.key = "led_bus", .type = CT_STR, F_OFF(led_bus), .charset = CS_CODE,
     .def_doc = "the only LED bus"},
    {.key = "bar", .type = CT_INT, F_OFF(bar), .min = 0, .max = 254},
    {.key = "idle_text", .type = CT_STR, F_OFF(idle_text), .def_doc = "devices.led.idle_text"},
};
#undef BASE
static const struct cfg_obj cfg_devwin_obj =
    CFG_OBJ_DRV(cfg_devwin_keys, cfg__devwin_finish, CD_WINDOW);

#define BASE struct hq_config
static const struct cfg_key cfg_led_keys[] = {
    {.key = "template", .type = CT_STR, F_OFF(led_template), .min = 1,
     .def_str = "{ticket}请到{window}号窗口"},
    {.key = "color", .type = CT_ENUM, F_OFF(led_color), .choices = cfg_led_colors,
     .def_str = "red"},
    {.key = "idle_text", .type = CT_STR, F_OFF(led_idle_text), .def_str = "{name} 欢迎光临"},
    {.key = "idle_color", .type = CT_ENUM, F_OFF(led_idle_color), .choices = cfg_led_colors,
     .def_str = "green"},
    {.key = "paused_text", .type = CT_STR, F_OFF(led_paused_text), .min = 1,
     .def_str = "暂停服务"},
    {.key = "blank_at", .type = CT_STR, F_OFF(led_blank_at), .min = 1, .charset = CS_PRINTABLE,
     .def_str = "auto"},
};
static const struct cfg_obj cfg_led_obj = CFG_OBJ(cfg_led_keys, cfg__led_finish);

/* Windows after buses: a window's bus ids are resolved against them. */
static const struct cfg_key cfg_devices_keys[] = {
    {.key = "card_readers", .type = CT_ARRAY, F_OFF(readers), F_OFF2(n_readers),
     .flags = CF_INLINE, .min = 0, .max = HQ_CFG_MAX_READERS, .sub = &cfg_reader_obj,
     .elem_size = sizeof(struct hq_reader_cfg)},
    {.key = "card_hold_s", .type = CT_INT, F_OFF(card_hold_s), .min = 10, .max = 600, .def = 60},
    {.key = "buses", .type = CT_ARRAY, F_OFF(buses), F_OFF2(n_buses), .flags = CF_INLINE,
     .min = 0, .max = HQ_CFG_MAX_BUSES, .sub = &cfg_bus_obj,
     .elem_size = sizeof(struct hq_bus_cfg)},
    {.key = "windows", .type = CT_ARRAY, F_OFF(devwins), F_OFF2(n_devwins), .min = 0,
     .max = HQ_MAX_WINDOWS, .sub = &cfg_devwin_obj, .elem_size = sizeof(struct hq_devwin_cfg)},
    {.key = "led", .type = CT_OBJECT, .sub = &cfg_led_obj},
};
#undef BASE
static const struct cfg_obj cfg_devices_obj = CFG_OBJ(cfg_devices_keys, NULL);

/* GPIO: one chip; lines by offset, HQ_GPIO_NONE when not connected. */
#define BASE struct hq_gpio_button_cfg
static const struct cfg_key cfg_gpio_button_keys[] = {
    {.key = "line", .type = CT_INT, F_OFF(line), .flags = CF_REQ, .min = 0, .max = 1023},
    {.key = "service", .type = CT_STR, F_OFF(service), .flags = CF_REQ, .min = 1,
     .charset = CS_CODE},
    {.key = "active_low", .type = CT_BOOL, F_OFF(active_low)},
};
#undef BASE
static const struct cfg_obj cfg_gpio_button_obj =
    CFG_OBJ(cfg_gpio_button_keys, cfg__gpio_button_finish);

#define BASE struct hq_config
static const struct cfg_key cfg_gpio_led_keys[] = {
    {.key = "printer_fault", .type = CT_INT, F_OFF(gpio_led_printer), .min = 0, .max = 1023,
     .def = HQ_GPIO_NONE, .def_doc = "none"},
    {.key = "device_fault", .type = CT_INT, F_OFF(gpio_led_device), .min = 0, .max = 1023,
     .def = HQ_GPIO_NONE, .def_doc = "none"},
    {.key = "active_low", .type = CT_BOOL, F_OFF(gpio_led_active_low)},
};
static const struct cfg_obj cfg_gpio_led_obj = CFG_OBJ(cfg_gpio_led_keys, NULL);
static const struct cfg_key cfg_gpio_paper_keys[] = {
    {.key = "line", .type = CT_INT, F_OFF(gpio_paper_line), .min = 0, .max = 1023,
     .def = HQ_GPIO_NONE, .def_doc = "none"},
    {.key = "active_low", .type = CT_BOOL, F_OFF(gpio_paper_active_low)},
};
static const struct cfg_obj cfg_gpio_paper_obj = CFG_OBJ(cfg_gpio_paper_keys, NULL);
static const struct cfg_key cfg_gpio_door_keys[] = {
    {.key = "line", .type = CT_INT, F_OFF(gpio_door_line), .min = 0, .max = 1023,
     .def = HQ_GPIO_NONE, .def_doc = "none"},
    {.key = "active_low", .type = CT_BOOL, F_OFF(gpio_door_active_low)},
};
static const struct cfg_obj cfg_gpio_door_obj = CFG_OBJ(cfg_gpio_door_keys, NULL);
static const struct cfg_key cfg_gpio_keys[] = {
    {.key = "chip", .type = CT_STR, F_OFF(gpio_chip), .charset = CS_PRINTABLE},
    {.key = "debounce_ms", .type = CT_INT, F_OFF(gpio_debounce_ms), .min = 0, .max = 2000,
     .def = 50},
    {.key = "buttons", .type = CT_ARRAY, F_OFF(gpio_buttons), F_OFF2(n_gpio_buttons),
     .flags = CF_INLINE, .min = 0, .max = HQ_CFG_MAX_GPIO_BUTTONS, .sub = &cfg_gpio_button_obj,
     .elem_size = sizeof(struct hq_gpio_button_cfg)},
    {.key = "leds", .type = CT_OBJECT, .sub = &cfg_gpio_led_obj},
    {.key = "paper_sensor", .type = CT_OBJECT, .sub = &cfg_gpio_paper_obj},
    {.key = "door", .type = CT_OBJECT, .sub = &cfg_gpio_door_obj},
};
#undef BASE
static const struct cfg_obj cfg_gpio_obj = CFG_OBJ(cfg_gpio_keys, cfg__gpio_finish);

static const struct cfg_obj cfg_hall_obj = CFG_OBJ(cfg_hall_keys, NULL);
static const struct cfg_obj cfg_http_obj = CFG_OBJ(cfg_http_keys, cfg__http_finish);
static const struct cfg_obj cfg_session_obj = CFG_OBJ(cfg_session_keys, NULL);
static const struct cfg_obj cfg_store_obj = CFG_OBJ(cfg_store_keys, NULL);
static const struct cfg_obj cfg_reports_obj = CFG_OBJ(cfg_reports_keys, NULL);
static const struct cfg_obj cfg_display_obj = CFG_OBJ(cfg_display_keys, NULL);
static const struct cfg_obj cfg_alarm_obj = CFG_OBJ(cfg_alarm_keys, NULL);
static const struct cfg_obj cfg_privacy_obj = CFG_OBJ(cfg_privacy_keys, NULL);
static const struct cfg_obj cfg_sync_obj = CFG_OBJ(cfg_sync_keys, cfg__sync_finish);
static const struct cfg_obj cfg_printer_obj = CFG_OBJ(cfg_printer_keys, cfg__printer_finish);
static const struct cfg_obj cfg_voice_obj = CFG_OBJ(cfg_voice_keys, cfg__voice_finish);
static const struct cfg_obj cfg_queue_obj = CFG_OBJ(cfg_queue_keys, NULL);
static const struct cfg_obj cfg_priority_obj = CFG_OBJ(cfg_priority_keys, NULL);

/* Services come before windows: a window's services are resolved against them. */
#define BASE struct hq_config
static const struct cfg_key cfg_top_keys[] = {
    {.key = "hall", .type = CT_OBJECT, .flags = CF_REQ, .sub = &cfg_hall_obj},
    {.key = "http", .type = CT_OBJECT, .sub = &cfg_http_obj},
    {.key = "sessions", .type = CT_OBJECT, .sub = &cfg_session_obj},
    {.key = "store", .type = CT_OBJECT, .sub = &cfg_store_obj},
    {.key = "reports", .type = CT_OBJECT, .sub = &cfg_reports_obj},
    {.key = "display", .type = CT_OBJECT, .sub = &cfg_display_obj},
    {.key = "alarms", .type = CT_OBJECT, .sub = &cfg_alarm_obj},
    {.key = "privacy", .type = CT_OBJECT, .flags = CF_REQ, .sub = &cfg_privacy_obj},
    {.key = "evaluation", .type = CT_OBJECT, .sub = &cfg_evaluation_obj},
    {.key = "sync", .type = CT_OBJECT, .sub = &cfg_sync_obj},
    {.key = "printer", .type = CT_OBJECT, .sub = &cfg_printer_obj},
    {.key = "voice", .type = CT_OBJECT, .sub = &cfg_voice_obj},
    {.key = "queue", .type = CT_OBJECT, .sub = &cfg_queue_obj},
    {.key = "priority", .type = CT_OBJECT, .sub = &cfg_priority_obj},
    {.key = "services", .type = CT_ARRAY, F_OFF(engine.services), F_OFF2(engine.n_services),
     .flags = CF_REQ, .min = 1, .max = HQ_MAX_SERVICES, .sub = &cfg_service_obj,
     .elem_size = sizeof(struct hq_service_cfg)},
    {.key = "windows", .type = CT_ARRAY, F_OFF(engine.windows), F_OFF2(engine.n_windows),
     .flags = CF_REQ, .min = 1, .max = HQ_MAX_WINDOWS, .sub = &cfg_window_obj,
     .elem_size = sizeof(struct hq_window_cfg)},
    {.key = "staff", .type = CT_ARRAY, F_OFF(engine.staff), F_OFF2(engine.n_staff),
     .flags = CF_REQ, .min = 1, .max = 1000, .sub = &cfg_staff_obj,
     .elem_size = sizeof(struct hq_staff_cfg)},
    {.key = "pause_reasons", .type = CT_ARRAY, F_OFF(engine.pause_reasons),
     F_OFF2(engine.n_pause_reasons), .flags = CF_INLINE | CF_RELOAD, .min = 0,
     .max = HQ_MAX_PAUSE_REASONS, .sub = &cfg_pause_reason_obj,
     .elem_size = sizeof(struct hq_pause_reason), .def_doc = "午休 lunch 60, 会议 meeting 120, "
     "培训 training 240, 外出办事 errand 120, 临时离开 break 15, 其他 other 30"},
    {.key = "devices", .type = CT_OBJECT, .sub = &cfg_devices_obj},
    {.key = "gpio", .type = CT_OBJECT, .sub = &cfg_gpio_obj},
};
#undef BASE
static const struct cfg_obj cfg_top_obj = CFG_OBJ(cfg_top_keys, cfg__top_finish);
/* clang-format on */

/* ------------------------------------------------------------- messages */

static int cfg__fail(struct cfg_walk *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Only the first problem is reported: later ones are often its echoes. */
static int cfg__fail(struct cfg_walk *w, const char *fmt, ...)
{
    if (w->failed) return HQ_ERR_CONFIG;
    w->failed = 1;
    if (w->err && w->errlen) {
        int n = snprintf(w->err, w->errlen, "%s: %s: ", w->name, w->path);
        if (n >= 0 && (size_t)n < w->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(w->err + n, w->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return HQ_ERR_CONFIG;
}

static size_t cfg__push_key(struct cfg_walk *w, const char *key)
{
    size_t old = w->plen;
    int n = snprintf(w->path + w->plen, sizeof w->path - w->plen, ".%s", key);
    if (n > 0) w->plen += (size_t)n < sizeof w->path - w->plen ? (size_t)n : 0;
    return old;
}

static size_t cfg__push_index(struct cfg_walk *w, size_t i)
{
    size_t old = w->plen;
    int n = snprintf(w->path + w->plen, sizeof w->path - w->plen, "[%zu]", i);
    if (n > 0) w->plen += (size_t)n < sizeof w->path - w->plen ? (size_t)n : 0;
    return old;
}

static void cfg__pop(struct cfg_walk *w, size_t old)
{
    w->plen = old;
    w->path[old] = '\0';
}

/* Back off to the start of a UTF-8 sequence so a cut never splits a character. */
static size_t cfg__utf8_cut(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

/* "got ..." part of a message: what the file actually holds there. */
static const char *cfg__got(const cJSON *v, char *buf, size_t len)
{
    if (cJSON_IsString(v)) {
        size_t n = strlen(v->valuestring);
        if (n > 40) {
            n = cfg__utf8_cut(v->valuestring, 40);
            snprintf(buf, len, "\"%.*s...\"", (int)n, v->valuestring);
        } else {
            snprintf(buf, len, "\"%s\"", v->valuestring);
        }
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        /* bounds before the cast, which is undefined beyond long long (tests/fuzz/fuzz_config) */
        if (d > -1e15 && d < 1e15 && d == (double)(long long)d)
            snprintf(buf, len, "%lld", (long long)d);
        else
            snprintf(buf, len, "%g", d);
    } else if (cJSON_IsTrue(v)) {
        snprintf(buf, len, "true");
    } else if (cJSON_IsFalse(v)) {
        snprintf(buf, len, "false");
    } else if (cJSON_IsNull(v)) {
        snprintf(buf, len, "null");
    } else if (cJSON_IsArray(v)) {
        snprintf(buf, len, "an array");
    } else {
        snprintf(buf, len, "an object");
    }
    return buf;
}

static void cfg__store_uint(void *p, size_t size, uint64_t v)
{
    switch (size) {
    case 1:
        *(uint8_t *)p = (uint8_t)v;
        break;
    case 2:
        *(uint16_t *)p = (uint16_t)v;
        break;
    case 4:
        *(uint32_t *)p = (uint32_t)v;
        break;
    default:
        *(uint64_t *)p = v;
        break;
    }
}

/* ---------------------------------------------------------- value types */

static bool cfg__utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, need;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3, cp = c & 0x07;
        } else {
            return false;
        }
        p++;
        for (unsigned i = 0; i < need; i++, p++) {
            if ((*p & 0xc0) != 0x80) return false;
            cp = cp << 6 | (*p & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
    }
    return true;
}

static bool cfg__charset_ok(int cs, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned c = *p;
        bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        bool digit = c >= '0' && c <= '9';
        switch (cs) {
        case CS_DIGITS:
            if (!digit) return false;
            break;
        case CS_CODE:
            if (!letter && !digit && c != '_' && c != '-' && c != '.') return false;
            break;
        case CS_LETTERS:
            if (!letter) return false;
            break;
        case CS_PRINTABLE:
            if (c < 0x21 || c > 0x7e) return false;
            break;
        default:
            break;
        }
    }
    return true;
}

static const char *const cfg_charset_rule[] = {
    [CS_ANY] = "",
    [CS_DIGITS] = "must contain only digits 0-9",
    [CS_CODE] = "may contain only letters A-Z a-z, digits, '_', '-' and '.'",
    [CS_LETTERS] = "may contain only letters A-Z a-z",
    [CS_PRINTABLE] = "may contain only printable ASCII without spaces",
};

/* Longest string a key takes: its field less the NUL, or a tighter max. */
static size_t cfg__str_max(const struct cfg_key *k)
{
    size_t max = k->size - 1;
    if (k->max > 0 && (size_t)k->max < max) max = (size_t)k->max;
    return max;
}

static int cfg__check_string(struct cfg_walk *w, const struct cfg_key *k, const cJSON *v)
{
    char got[96];
    if (!cJSON_IsString(v))
        return cfg__fail(w, "must be a string, got %s", cfg__got(v, got, sizeof got));
    const char *s = v->valuestring;
    size_t len = strlen(s), max = cfg__str_max(k);
    if (!cfg__utf8_valid(s)) return cfg__fail(w, "is not valid UTF-8");
    const char *unit = k->charset == CS_ANY ? "bytes of UTF-8" : "characters";
    if (len == 0 && k->min >= 1) return cfg__fail(w, "must not be empty");
    if (k->min > 0 && len < (size_t)k->min)
        return cfg__fail(w, "is too short: at least %lld %s, got %zu", k->min, unit, len);
    if (len > max) return cfg__fail(w, "is too long: at most %zu %s, got %zu", max, unit, len);
    if (!cfg__charset_ok(k->charset, s)) {
        if (k->flags & CF_SECRET) return cfg__fail(w, "%s", cfg_charset_rule[k->charset]);
        return cfg__fail(w, "%s, got %s", cfg_charset_rule[k->charset],
                         cfg__got(v, got, sizeof got));
    }
    return HQ_OK;
}

/* Join `rel` to `dir` unless it is absolute, and fold "." and ".." so logs
 * and messages show the path people would type. */
static int cfg__abspath(const char *dir, const char *rel, char *out, size_t outlen)
{
    char buf[2 * HQ_CFG_PATH_MAX + 2];
    int n = rel[0] == '/' ? snprintf(buf, sizeof buf, "%s", rel)
                          : snprintf(buf, sizeof buf, "%s/%s", dir, rel);
    if (n < 0 || (size_t)n >= sizeof buf) return -1;
    size_t o = 0;
    char *save = NULL;
    for (char *part = strtok_r(buf, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0) continue;
        if (strcmp(part, "..") == 0) {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0) o--; /* drop the slash too; the root stays */
            continue;
        }
        size_t pl = strlen(part);
        if (o + 1 + pl + 1 > outlen) return -1;
        out[o++] = '/';
        memcpy(out + o, part, pl);
        o += pl;
    }
    if (o == 0) {
        if (outlen < 2) return -1;
        out[o++] = '/';
    }
    out[o] = '\0';
    return 0;
}

static int cfg__parse_hhmm(const char *s, int *min)
{
    if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] == ':' && s[3] >= '0' &&
          s[3] <= '9' && s[4] >= '0' && s[4] <= '9'))
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0)) return -1;
    *min = h * 60 + m;
    return 0;
}

static int cfg__hours(struct cfg_walk *w, const struct cfg_key *k, const cJSON *v,
                      struct hq_day_hours *d)
{
    char got[96];
    if (!cJSON_IsArray(v))
        return cfg__fail(w, "must be an array of \"HH:MM-HH:MM\", got %s",
                         cfg__got(v, got, sizeof got));
    int n = cJSON_GetArraySize(v);
    if (n > k->max) return cfg__fail(w, "must have 0 to %lld items, got %d", k->max, n);
    memset(d, 0, sizeof *d);
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        size_t old = cfg__push_index(w, d->n);
        int open, close;
        const char *s = cJSON_IsString(it) ? it->valuestring : "";
        if (!cJSON_IsString(it) || strlen(s) != 11 || s[5] != '-' || cfg__parse_hhmm(s, &open) ||
            cfg__parse_hhmm(s + 6, &close) || open >= close)
            return cfg__fail(
                w, "must be \"HH:MM-HH:MM\" from 00:00 to 24:00, start before end, got %s",
                cfg__got(it, got, sizeof got));
        if (d->n > 0 && open < d->iv[d->n - 1].close_min)
            return cfg__fail(w, "must start at or after the end of the interval before it, got %s",
                             cfg__got(it, got, sizeof got));
        d->iv[d->n].open_min = (uint16_t)open;
        d->iv[d->n].close_min = (uint16_t)close;
        d->n++;
        cfg__pop(w, old);
    }
    return HQ_OK;
}

static bool cfg__leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Strict "YYYY-MM-DD": all digits, real calendar day. */
static int cfg__date(struct cfg_walk *w, const cJSON *v, int32_t *day)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    char got[96];
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    int f[3] = {0, 0, 0}, fi = 0;
    bool ok = strlen(s) == 10 && s[4] == '-' && s[7] == '-';
    for (int i = 0; ok && i < 10; i++) {
        if (i == 4 || i == 7) {
            fi++;
            continue;
        }
        ok = s[i] >= '0' && s[i] <= '9';
        f[fi] = f[fi] * 10 + (s[i] - '0');
    }
    int y = f[0], m = f[1], d = f[2];
    if (!ok || y < 2000 || y > 2099 || m < 1 || m > 12 || d < 1 ||
        d > mdays[m - 1] + (m == 2 && cfg__leap(y)))
        return cfg__fail(w, "must be a date \"YYYY-MM-DD\" from 2000 to 2099, got %s",
                         cfg__got(v, got, sizeof got));
    *day = hq_days_from_ymd(y, m, d);
    return HQ_OK;
}

static int cfg__offset(struct cfg_walk *w, const char *s, const cJSON *v, int32_t *out)
{
    char got[96];
    int min;
    if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || cfg__parse_hhmm(s + 1, &min) ||
        (s[0] == '-' && min > 12 * 60) || (s[0] == '+' && min > 14 * 60))
        return cfg__fail(w, "must be \"+HH:MM\" or \"-HH:MM\" from -12:00 to +14:00, got %s",
                         cfg__got(v, got, sizeof got));
    *out = (s[0] == '-' ? -1 : 1) * min * 60;
    return HQ_OK;
}

/* "HOST:PORT" or "[v6]:PORT": the port is what a typo most often breaks. */
static bool cfg__hostport_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1] || strlen(colon + 1) > 5) return false;
    if (s[0] == '[' && colon[-1] != ']') return false;
    for (const char *p = s; p < colon; p++)
        if ((unsigned char)*p <= 0x20 || (*p == ':' && s[0] != '[')) return false;
    long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        port = port * 10 + (*p - '0');
    }
    return port >= 1 && port <= 65535;
}

static int cfg__int(struct cfg_walk *w, const cJSON *v, long long min, long long max,
                    long long *out)
{
    char got[96];
    /* Range first: converting a double beyond long long (1e300) is undefined behaviour
     * (found by tests/fuzz/fuzz_config). */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)min && v->valuedouble <= (double)max) ||
        v->valuedouble != (double)(long long)v->valuedouble)
        return cfg__fail(w, "must be an integer between %lld and %lld, got %s", min, max,
                         cfg__got(v, got, sizeof got));
    *out = (long long)v->valuedouble;
    return HQ_OK;
}

static int cfg__walk_object(struct cfg_walk *w, const struct cfg_obj *obj, const cJSON *json,
                            void *elems, size_t i, size_t elem_size);
static bool cfg__drv_key_known(struct cfg_walk *w, uint8_t drv, const cJSON *json, const char *key);

static int cfg__array(struct cfg_walk *w, const struct cfg_key *k, const cJSON *v, char *base)
{
    char got[96];
    size_t n = 0;
    if (v) {
        if (!cJSON_IsArray(v))
            return cfg__fail(w, "must be an array, got %s", cfg__got(v, got, sizeof got));
        n = (size_t)cJSON_GetArraySize(v);
    }
    if (n < (size_t)k->min || n > (size_t)k->max)
        return cfg__fail(w, "must have %lld to %lld items, got %zu", k->min, k->max, n);
    char *elems = base + k->off;
    if (!(k->flags & CF_INLINE)) {
        elems = n ? calloc(n, k->elem_size) : NULL;
        if (n && !elems) return cfg__fail(w, "out of memory");
        *(void **)(base + k->off) = elems;
    }
    /* The count is set before the elements are filled so a failure half-way
     * still frees what was allocated (elements are zeroed). */
    cfg__store_uint(base + k->off2, k->size2, n);
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        size_t old = cfg__push_index(w, i);
        if (!cJSON_IsObject(it))
            return cfg__fail(w, "must be an object, got %s", cfg__got(it, got, sizeof got));
        int rc = cfg__walk_object(w, k->sub, it, elems, i, k->elem_size);
        if (rc) return rc;
        cfg__pop(w, old);
        i++;
    }
    return HQ_OK;
}

static int cfg__prios(struct cfg_walk *w, const cJSON *v, uint32_t *mask)
{
    char got[96];
    *mask = 1u << HQ_PRIO_NORMAL;
    if (!v) {
        for (int p = 1; p < HQ_PRIO__COUNT; p++)
            *mask |= 1u << p;
        return HQ_OK;
    }
    if (!cJSON_IsArray(v))
        return cfg__fail(w, "must be an array of priority names, got %s",
                         cfg__got(v, got, sizeof got));
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        size_t old = cfg__push_index(w, i++);
        int p = cJSON_IsString(it) ? hq_priority_from_name(it->valuestring) : -1;
        if (p <= HQ_PRIO_NORMAL || p >= HQ_PRIO__COUNT) {
            char names[160] = "";
            size_t o = 0;
            for (int q = 1; q < HQ_PRIO__COUNT && o < sizeof names; q++)
                o += (size_t)snprintf(names + o, sizeof names - o, "%s\"%s\"", q > 1 ? ", " : "",
                                      hq_priority_name(q));
            return cfg__fail(w, "must be one of %s, got %s", names, cfg__got(it, got, sizeof got));
        }
        if (*mask & (1u << p)) return cfg__fail(w, "\"%s\" is listed twice", it->valuestring);
        *mask |= 1u << p;
        cfg__pop(w, old);
    }
    return HQ_OK;
}

static int cfg__refs(struct cfg_walk *w, const struct cfg_key *k, const cJSON *v, char *base)
{
    char got[96];
    const struct hq_engine_cfg *e = &w->cfg->engine;
    if (!cJSON_IsArray(v))
        return cfg__fail(w, "must be an array of service codes, got %s",
                         cfg__got(v, got, sizeof got));
    int n = cJSON_GetArraySize(v);
    if (n < k->min || n > k->max)
        return cfg__fail(w, "must have %lld to %lld items, got %d", k->min, k->max, n);
    uint8_t *idx = (uint8_t *)(base + k->off);
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        size_t old = cfg__push_index(w, i);
        if (!cJSON_IsString(it))
            return cfg__fail(w, "must be a service code, got %s", cfg__got(it, got, sizeof got));
        size_t s;
        for (s = 0; s < e->n_services; s++)
            if (strcmp(e->services[s].code, it->valuestring) == 0) break;
        if (s == e->n_services)
            return cfg__fail(w, "unknown service %s", cfg__got(it, got, sizeof got));
        for (size_t j = 0; j < i; j++)
            if (idx[j] == s) return cfg__fail(w, "service \"%s\" is listed twice", it->valuestring);
        idx[i++] = (uint8_t)s;
        cfg__pop(w, old);
    }
    cfg__store_uint(base + k->off2, k->size2, i);
    return HQ_OK;
}

/* An IP address as inet_pton reads it (no port, no mask): what a peer's
 * address is compared with. */
static bool cfg__ip_ok(const char *s)
{
    unsigned char a[16];
    return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* A host name as a Host header carries it, without the port: letters,
 * digits, '-' and '.', at most 253 bytes (RFC 1123). */
static bool cfg__hostname_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 253 || *s == '.' || *s == '-') return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.'))
            return false;
    return true;
}

/* CT_ADDRS, CT_HOSTS: an array of strings into char[k->max][k->elem_size]. */
static int cfg__strlist(struct cfg_walk *w, const struct cfg_key *k, const cJSON *v, char *base)
{
    char got[96];
    const char *what = k->type == CT_ADDRS ? "an IP address like \"192.168.1.20\""
                                           : "a host name like \"hall.example\" (no port)";
    size_t i = 0;
    const cJSON *it;
    if (v && !cJSON_IsArray(v))
        return cfg__fail(w, "must be an array of strings, each %s, got %s", what,
                         cfg__got(v, got, sizeof got));
    int n = v ? cJSON_GetArraySize(v) : 0;
    if (n < k->min || n > k->max)
        return cfg__fail(w, "must have %lld to %lld items, got %d", k->min, k->max, n);
    cJSON_ArrayForEach(it, v)
    {
        size_t old = cfg__push_index(w, i);
        char *row = base + k->off + i * k->elem_size;
        if (!cJSON_IsString(it) || strlen(it->valuestring) >= k->elem_size ||
            !(k->type == CT_ADDRS ? cfg__ip_ok(it->valuestring)
                                  : cfg__hostname_ok(it->valuestring)))
            return cfg__fail(w, "must be %s, got %s", what, cfg__got(it, got, sizeof got));
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(base + k->off + j * k->elem_size, it->valuestring) == 0)
                return cfg__fail(w, "\"%s\" is listed twice", it->valuestring);
        snprintf(row, k->elem_size, "%s", it->valuestring);
        i++;
        cfg__pop(w, old);
    }
    cfg__store_uint(base + k->off2, k->size2, i);
    return HQ_OK;
}

/* CT_DATES: an array of "YYYY-MM-DD" into int32[k->max], kept ascending so
 * a look-up is a binary search; a date twice is an error (a typo, mostly). */
static int cfg__dates(struct cfg_walk *w, const struct cfg_key *k, const cJSON *v, char *base)
{
    char got[96];
    int32_t *days = (int32_t *)(base + k->off);
    size_t n = 0;
    const cJSON *it;
    if (v && !cJSON_IsArray(v))
        return cfg__fail(w, "must be an array of dates \"YYYY-MM-DD\", got %s",
                         cfg__got(v, got, sizeof got));
    int count = v ? cJSON_GetArraySize(v) : 0;
    if (count < k->min || count > k->max)
        return cfg__fail(w, "must have %lld to %lld dates, got %d", k->min, k->max, count);
    cJSON_ArrayForEach(it, v)
    {
        size_t old = cfg__push_index(w, n);
        int32_t d;
        int rc = cfg__date(w, it, &d);
        if (rc) return rc;
        size_t at = n;
        while (at > 0 && days[at - 1] > d)
            at--;
        if (at > 0 && days[at - 1] == d)
            return cfg__fail(w, "\"%s\" is listed twice", it->valuestring);
        memmove(days + at + 1, days + at, (n - at) * sizeof *days);
        days[at] = d;
        n++;
        cfg__pop(w, old);
    }
    cfg__store_uint(base + k->off2, k->size2, n);
    return HQ_OK;
}

/* One key: `v` is its JSON value, NULL when the file leaves it out. */
static int cfg__walk_key(struct cfg_walk *w, const struct cfg_key *k, const cJSON *v, char *base)
{
    char got[96];
    char *field = base + k->off;
    int rc;

    if (!v && (k->flags & CF_REQ)) return cfg__fail(w, "required key is missing");
    switch (k->type) {
    case CT_ENUM: {
        size_t c = 0;
        if (!v) {
            snprintf(field, k->size, "%s", k->def_str ? k->def_str : "");
            return HQ_OK;
        }
        while (k->choices[c] && !(cJSON_IsString(v) && strcmp(v->valuestring, k->choices[c]) == 0))
            c++;
        if (!k->choices[c]) {
            char names[160] = "";
            size_t o = 0;
            for (size_t q = 0; k->choices[q] && o < sizeof names; q++)
                o += (size_t)snprintf(names + o, sizeof names - o, "%s\"%s\"", q ? ", " : "",
                                      k->choices[q]);
            return cfg__fail(w, "must be one of %s, got %s", names, cfg__got(v, got, sizeof got));
        }
        snprintf(field, k->size, "%s", k->choices[c]);
        return HQ_OK;
    }
    case CT_STR:
    case CT_PATH:
    case CT_HOSTPORT:
    case CT_URL: {
        const char *s = k->def_str ? k->def_str : "";
        if (v) {
            rc = cfg__check_string(w, k, v);
            if (rc) return rc;
            s = v->valuestring;
        }
        if (k->type == CT_HOSTPORT && !cfg__hostport_ok(s))
            return cfg__fail(w, "must be \"HOST:PORT\" with a port from 1 to 65535, got %s",
                             cfg__got(v, got, sizeof got));
        if (k->type == CT_URL && *s && strncmp(s, "http://", 7) != 0 &&
            strncmp(s, "https://", 8) != 0)
            return cfg__fail(w, "must start with \"http://\" or \"https://\", got %s",
                             cfg__got(v, got, sizeof got));
        if (k->type == CT_PATH) {
            if (!*s) return cfg__fail(w, "must not be empty");
            if (cfg__abspath(w->dir, s, field, k->size))
                return cfg__fail(w, "is longer than %zu bytes once made absolute", k->size - 1);
            return HQ_OK;
        }
        snprintf(field, k->size, "%s", s);
        return HQ_OK;
    }
    case CT_INT: {
        long long val = k->def;
        if (v) {
            rc = cfg__int(w, v, k->min, k->max, &val);
            if (rc) return rc;
        }
        cfg__store_uint(field, k->size, (uint64_t)val);
        return HQ_OK;
    }
    case CT_BOOL:
        if (v && !cJSON_IsBool(v))
            return cfg__fail(w, "must be true or false, got %s", cfg__got(v, got, sizeof got));
        *(bool *)field = v ? cJSON_IsTrue(v) : k->def != 0;
        return HQ_OK;
    case CT_OFFSET:
        if (v && !cJSON_IsString(v))
            return cfg__fail(w, "must be a string \"+HH:MM\", got %s",
                             cfg__got(v, got, sizeof got));
        return cfg__offset(w, v ? v->valuestring : k->def_str, v, (int32_t *)field);
    case CT_DATE:
        return v ? cfg__date(w, v, (int32_t *)field) : HQ_OK;
    case CT_DATES:
        return cfg__dates(w, k, v, base);
    case CT_HOURS: {
        if (!v) return HQ_OK; /* absent: those days keep what an earlier key set, or closed */
        struct hq_day_hours d;
        rc = cfg__hours(w, k, v, &d);
        if (rc) return rc;
        for (int wd = 0; wd < 7; wd++)
            if (k->days & (1u << wd)) ((struct hq_day_hours *)field)[wd] = d;
        return HQ_OK;
    }
    case CT_RANGE: {
        long long first = k->def, last = k->def2;
        if (v) {
            if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
                return cfg__fail(w, "must be [first, last], got %s", cfg__got(v, got, sizeof got));
            size_t old = cfg__push_index(w, 0);
            rc = cfg__int(w, cJSON_GetArrayItem(v, 0), k->min, k->max, &first);
            if (rc) return rc;
            cfg__pop(w, old);
            old = cfg__push_index(w, 1);
            rc = cfg__int(w, cJSON_GetArrayItem(v, 1), k->min, k->max, &last);
            if (rc) return rc;
            cfg__pop(w, old);
            if (first > last)
                return cfg__fail(w, "first number %lld is greater than last %lld", first, last);
        }
        cfg__store_uint(field, k->size, (uint64_t)first);
        cfg__store_uint(base + k->off2, k->size2, (uint64_t)last);
        return HQ_OK;
    }
    case CT_PRIOS:
        return cfg__prios(w, v, (uint32_t *)field);
    case CT_REFS:
        return cfg__refs(w, k, v, base);
    case CT_ADDRS:
    case CT_HOSTS:
        return cfg__strlist(w, k, v, base);
    case CT_OBJECT:
        if (v && !cJSON_IsObject(v))
            return cfg__fail(w, "must be an object, got %s", cfg__got(v, got, sizeof got));
        return cfg__walk_object(w, k->sub, v, field, 0, 0);
    case CT_ARRAY:
        return cfg__array(w, k, v, base);
    }
    return cfg__fail(w, "internal: unknown schema type %d", k->type);
}

/* Element i of `elems`: unknown and duplicate keys first (a typo explains
 * the "missing" that would follow), then every declared key in table order,
 * then the object's cross-checks. `json` NULL = absent: all defaults. */
static int cfg__walk_object(struct cfg_walk *w, const struct cfg_obj *obj, const cJSON *json,
                            void *elems, size_t i, size_t elem_size)
{
    char *base = (char *)elems + i * elem_size;
    int rc;
    const cJSON *it;
    cJSON_ArrayForEach(it, json)
    {
        size_t k, old = cfg__push_key(w, it->string);
        for (k = 0; k < obj->n; k++)
            if (strcmp(obj->keys[k].key, it->string) == 0) break;
        if (k == obj->n && !(obj->drv && cfg__drv_key_known(w, obj->drv, json, it->string)))
            return cfg__fail(w, "unknown key");
        for (const cJSON *prev = json->child; prev != it; prev = prev->next)
            if (strcmp(prev->string, it->string) == 0) return cfg__fail(w, "duplicate key");
        cfg__pop(w, old);
    }
    for (size_t k = 0; k < obj->n; k++) {
        size_t old = cfg__push_key(w, obj->keys[k].key);
        rc = cfg__walk_key(w, &obj->keys[k],
                           json ? cJSON_GetObjectItemCaseSensitive(json, obj->keys[k].key) : NULL,
                           base);
        if (rc) return rc;
        cfg__pop(w, old);
    }
    const cJSON *outer = w->json;
    w->json = json;
    rc = obj->finish ? obj->finish(w, elems, i) : HQ_OK;
    w->json = outer;
    return rc;
}

/* ------------------------------------------------------- cross-checks */

static int cfg__fail_at(struct cfg_walk *w, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cfg__fail_at(struct cfg_walk *w, const char *key, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (key) cfg__push_key(w, key);
    return cfg__fail(w, "%s", msg);
}

static int cfg__cmp_override(const void *a, const void *b)
{
    const struct hq_date_override *x = a, *y = b;
    return (x->day > y->day) - (x->day < y->day);
}

static int cfg__service_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_service_cfg *all = elems, *s = &all[i];
    if (!s->prefix[0]) {
        /* No prefix given: the code serves, if it can be printed before digits. */
        if (strlen(s->code) >= sizeof s->prefix || !cfg__charset_ok(CS_LETTERS, s->code))
            return cfg__fail_at(w, "prefix",
                                "required key is missing: the code \"%s\" cannot be the prefix "
                                "(letters only, at most %zu)",
                                s->code, sizeof s->prefix - 1);
        memcpy(s->prefix, s->code, strlen(s->code) + 1);
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(all[j].code, s->code) == 0)
            return cfg__fail_at(w, "code", "service code \"%s\" is already used by $.services[%zu]",
                                s->code, j);
        if (strcmp(all[j].prefix, s->prefix) == 0)
            return cfg__fail_at(w, "prefix", "prefix \"%s\" is already used by $.services[%zu]",
                                s->prefix, j);
    }
    unsigned width = 1;
    for (unsigned v = s->num_max; v >= 10; v /= 10)
        width++;
    if (s->digits < width)
        return cfg__fail_at(w, "digits", "%u digits cannot show %u, the last number of the range",
                            (unsigned)s->digits, (unsigned)s->num_max);
    bool open = false;
    for (int d = 0; d < 7; d++)
        open |= s->week[d].n > 0;
    if (!open)
        return cfg__fail_at(w, "hours",
                            "the service is never open: give hours for at least one day");
    if (s->n_overrides > 1) {
        qsort(s->overrides, s->n_overrides, sizeof *s->overrides, cfg__cmp_override);
        for (size_t j = 1; j < s->n_overrides; j++)
            if (s->overrides[j].day == s->overrides[j - 1].day) {
                int y, m, d;
                hq_ymd_from_days(s->overrides[j].day, &y, &m, &d);
                return cfg__fail_at(w, "overrides", "date %04d-%02d-%02d is listed twice", y, m, d);
            }
    }
    return HQ_OK;
}

static int cfg__window_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_window_cfg *all = elems, *win = &all[i];
    for (size_t j = 0; j < i; j++)
        if (all[j].number == win->number)
            return cfg__fail_at(w, "number", "window %u is already $.windows[%zu]",
                                (unsigned)win->number, j);
    if (!win->name[0]) snprintf(win->name, sizeof win->name, "%u号窗口", (unsigned)win->number);
    if (!win->name_en[0])
        snprintf(win->name_en, sizeof win->name_en, "Window %u", (unsigned)win->number);
    return HQ_OK;
}

static int cfg__staff_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_staff_cfg *all = elems;
    for (size_t j = 0; j < i; j++)
        if (strcmp(all[j].id, all[i].id) == 0)
            return cfg__fail_at(w, "id", "staff id \"%s\" is already used by $.staff[%zu]",
                                all[i].id, j);
    return HQ_OK;
}

static int cfg__pause_reason_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_pause_reason *all = elems, *r = &all[i];
    for (size_t j = 0; j < i; j++)
        if (strcmp(all[j].code, r->code) == 0)
            return cfg__fail_at(w, "code",
                                "pause reason \"%s\" is already used by $.pause_reasons[%zu]",
                                r->code, j);
    if (!r->name_en[0]) snprintf(r->name_en, sizeof r->name_en, "%s", r->code);
    return HQ_OK;
}

/* The pause reasons when the file names none; "other" is what a keypad's pause key and a
 * client that gives no reason record, so a list without it gets it appended. */
static const struct hq_pause_reason cfg_pause_defaults[] = {
    {"lunch", "午休", "Lunch break", 60},     {"meeting", "会议", "Meeting", 120},
    {"training", "培训", "Training", 240},    {"errand", "外出办事", "Errand", 120},
    {"break", "临时离开", "Short break", 15}, {HQ_PAUSE_DEFAULT, "其他", "Other", 30},
};

static void cfg__pause_reasons(struct hq_engine_cfg *e)
{
    if (!e->n_pause_reasons) {
        memcpy(e->pause_reasons, cfg_pause_defaults, sizeof cfg_pause_defaults);
        e->n_pause_reasons = HQ_ARRAY_LEN(cfg_pause_defaults);
        return;
    }
    if (hq_pause_reason(e, HQ_PAUSE_DEFAULT)) return;
    if (e->n_pause_reasons >= HQ_MAX_PAUSE_REASONS) e->n_pause_reasons = HQ_MAX_PAUSE_REASONS - 1;
    e->pause_reasons[e->n_pause_reasons++] =
        cfg_pause_defaults[HQ_ARRAY_LEN(cfg_pause_defaults) - 1];
}

/* One link to the central server: records must not race each other on two
 * transports, and acked_through is per hall, not per link. */
static int cfg__sync_finish(struct cfg_walk *w, void *elems, size_t i)
{
    const struct hq_config *c = elems;
    (void)i;
    if (c->sync_url[0] && c->sync_serial[0])
        return cfg__fail_at(w, "serial", "give either sync.url or sync.serial, not both");
    if (c->sync_pinned_pubkey[0] && strncmp(c->sync_pinned_pubkey, "sha256//", 8) != 0)
        return cfg__fail_at(w, "pinned_pubkey", "must start with \"sha256//\"");
    return HQ_OK;
}

/* A printer's DLE EOT status link: "tcp://HOST:PORT" (its network port) or a serial port
 * "SPEC[@BAUD]" in hal/serial.h's forms (read by print_link_serial_spec). */
static int cfg__status_link(struct cfg_walk *w, const char *key, const char *link)
{
    static const char *const why = "must be \"tcp://HOST:PORT\" or a serial port "
                                   "(/dev/..., usb:VID:PID or pty:PATH) with an optional @BAUD";
    if (!link[0] || strncmp(link, "tcp://", 6) == 0) return HQ_OK;
    if (strncmp(link, "/dev/", 5) && strncmp(link, "usb:", 4) && strncmp(link, "pty:", 4))
        return cfg__fail_at(w, key, "%s", why);
    const char *at = strrchr(link, '@');
    if (at) {
        char *end;
        long b = strtol(at + 1, &end, 10);
        if (end == at + 1 || *end || b < 1200 || b > 230400)
            return cfg__fail_at(w, key, "baud after @ must be 1200..230400");
    }
    if ((at ? (size_t)(at - link) : strlen(link)) < 6) return cfg__fail_at(w, key, "%s", why);
    return HQ_OK;
}

/* The printer's paper is one of two widths; a backup printer backs up a primary one. */
static int cfg__printer_finish(struct cfg_walk *w, void *elems, size_t i)
{
    const struct hq_config *c = elems;
    (void)i;
    if (c->printer_width_mm != 58 && c->printer_width_mm != 80)
        return cfg__fail_at(w, "width_mm", "must be 58 or 80, got %u", c->printer_width_mm);
    if (cfg__status_link(w, "status_link", c->printer_status_link) ||
        cfg__status_link(w, "backup_status_link", c->printer_backup_status_link))
        return HQ_ERR_CONFIG;
    if (c->printer_backup_queue[0] && !c->printer_queue[0])
        return cfg__fail_at(w, "backup_queue", "needs printer.queue, the primary printer");
    if (c->printer_backup_queue[0] && strcmp(c->printer_backup_queue, c->printer_queue) == 0)
        return cfg__fail_at(w, "backup_queue", "is the same queue as printer.queue");
    for (int k = 0; k < c->n_kiosk_printers; k++)
        if (!strcmp(c->kiosk_printers[k].queue, c->printer_queue) ||
            !strcmp(c->kiosk_printers[k].queue, c->printer_backup_queue)) {
            char key[32];
            snprintf(key, sizeof key, "kiosks[%d].queue", k);
            return cfg__fail_at(w, key,
                                "is the hall's %s printer's queue: a kiosk's printer "
                                "is a printer of its own",
                                strcmp(c->kiosk_printers[k].queue, c->printer_queue) ? "backup"
                                                                                     : "main");
        }
    return HQ_OK;
}

/* A kiosk has one printer of its own, on a queue no other printer uses. */
static int cfg__pad_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_pad_cfg *all = elems, *p = &all[i];
    if (!cfg__ip_ok(p->address))
        return cfg__fail_at(w, "address", "must be an IP address like \"192.168.1.20\"");
    for (size_t j = 0; j < i; j++)
        if (strcmp(all[j].address, p->address) == 0)
            return cfg__fail_at(w, "address", "address %s is already the pad of window %u",
                                p->address, (unsigned)all[j].window);
    return HQ_OK;
}

static int cfg__kprinter_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_kiosk_printer_cfg *all = elems, *k = &all[i];
    if (cfg__status_link(w, "status_link", k->status_link)) return HQ_ERR_CONFIG;
    for (size_t j = 0; j < i; j++) {
        if (strcmp(all[j].kiosk, k->kiosk) == 0)
            return cfg__fail_at(w, "kiosk",
                                "kiosk \"%s\" already has a printer: "
                                "$.printer.kiosks[%zu]",
                                k->kiosk, j);
        if (strcmp(all[j].queue, k->queue) == 0)
            return cfg__fail_at(w, "queue", "\"%s\" is already $.printer.kiosks[%zu]", k->queue, j);
    }
    return HQ_OK;
}

/* The pack folder and a "dir:" output are made absolute like CT_PATH keys,
 * but may be empty (pack) or carry a prefix (output). */
static int cfg__voice_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_config *c = elems;
    char abs[HQ_CFG_PATH_MAX];
    (void)i;
    if (c->voice_pack[0]) {
        if (cfg__abspath(w->dir, c->voice_pack, abs, sizeof abs))
            return cfg__fail_at(w, "pack", "is longer than %zu bytes once made absolute",
                                sizeof abs - 1);
        snprintf(c->voice_pack, sizeof c->voice_pack, "%s", abs);
    }
    const char *o = c->voice_output;
    if (!strncmp(o, "dir:", 4) && o[4]) {
        if (cfg__abspath(w->dir, o + 4, abs, sizeof abs) ||
            strlen(abs) + 4 >= sizeof c->voice_output)
            return cfg__fail_at(w, "output", "is longer than %zu bytes once made absolute",
                                sizeof c->voice_output - 1);
        /* length checked above; memcpy keeps gcc's -O0 truncation check quiet */
        memcpy(c->voice_output, "dir:", 4);
        memcpy(c->voice_output + 4, abs, strlen(abs) + 1);
    } else {
        bool ok = !strncmp(o, "alsa:", 5) && o[5];
        for (const char *p = o; ok && *p; p++)
            ok = *p > 0x20 && *p < 0x7f;
        if (!ok)
            return cfg__fail_at(w, "output",
                                "must be \"alsa:DEVICE\" or \"dir:FOLDER\", got \"%s\"", o);
    }
    return HQ_OK;
}

/* A device port as hal/serial.h opens it; a typo here would only show as a device that never
 * comes online, so the form is checked at load. */
static bool cfg__port_ok(const char *s)
{
    if (strncmp(s, "tcp://", 6) == 0) return cfg__hostport_ok(s + 6);
    if (strncmp(s, "pty:", 4) == 0) return s[4] == '/';
    if (strncmp(s, "usb:", 4) == 0) {
        unsigned vid, pid;
        int n = 0;
        return sscanf(s + 4, "%4x:%4x%n", &vid, &pid, &n) == 2 && n > 0 &&
               (s[4 + n] == '\0' || s[4 + n] == ':');
    }
    return s[0] == '/';
}

static int cfg__port_check(struct cfg_walk *w, const char *port, const void *self)
{
    const struct hq_config *c = w->cfg;
    if (!cfg__port_ok(port))
        return cfg__fail_at(w, "port",
                            "must be a device path (\"/dev/ttyUSB0\"), \"usb:VID:PID[:SERIAL]\", "
                            "\"pty:PATH\" or \"tcp://HOST:PORT\", got \"%s\"",
                            port);
    for (int j = 0; j < c->n_readers; j++)
        if ((const void *)&c->readers[j] != self && strcmp(c->readers[j].port, port) == 0)
            return cfg__fail_at(w, "port", "\"%s\" is already $.devices.card_readers[%d]", port, j);
    for (int j = 0; j < c->n_buses; j++)
        if ((const void *)&c->buses[j] != self && c->buses[j].port[0] &&
            strcmp(c->buses[j].port, port) == 0)
            return cfg__fail_at(w, "port", "\"%s\" is already $.devices.buses[%d]", port, j);
    if (strcmp(c->sync_serial, port) == 0)
        return cfg__fail_at(w, "port", "\"%s\" is already sync.serial", port);
    return HQ_OK;
}

/* LED texts take {ticket}, {window} and {name} ("{{" is a brace). */
static int cfg__led_text_check(struct cfg_walk *w, const char *key, const char *t)
{
    static const char *const names[] = {"ticket", "window", "name"};
    for (const char *p = t; *p; p++) {
        if (*p != '{') continue;
        if (p[1] == '{') {
            p++;
            continue;
        }
        const char *end = strchr(p, '}');
        size_t n = end ? (size_t)(end - p - 1) : 0;
        bool ok = false;
        for (size_t k = 0; end && k < HQ_ARRAY_LEN(names); k++)
            ok |= strlen(names[k]) == n && strncmp(p + 1, names[k], n) == 0;
        if (!ok)
            return cfg__fail_at(w, key,
                                "unknown placeholder \"%.*s\": use {ticket}, {window} or {name}",
                                end ? (int)(end - p + 1) : (int)strlen(p), p);
        p = end;
    }
    return HQ_OK;
}

/* A kiosk button's service code → its index (services are read before gpio). */
static int cfg__gpio_button_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_gpio_button_cfg *b = &((struct hq_gpio_button_cfg *)elems)[i];
    const struct hq_engine_cfg *e = &w->cfg->engine;
    for (size_t k = 0; k < e->n_services; k++)
        if (strcmp(e->services[k].code, b->service) == 0) {
            b->service_idx = (uint8_t)k;
            return HQ_OK;
        }
    return cfg__fail_at(w, "service", "unknown service \"%s\"", b->service);
}

/* Every connected line once, and a chip to find them on. */
static int cfg__gpio_finish(struct cfg_walk *w, void *elems, size_t i)
{
    const struct hq_config *c = w->cfg;
    (void)elems, (void)i;
    struct {
        uint16_t line;
        char path[40];
    } used[HQ_CFG_MAX_GPIO_BUTTONS + 4];
    size_t n = 0;
    for (int b = 0; b < c->n_gpio_buttons; b++) {
        used[n].line = c->gpio_buttons[b].line;
        snprintf(used[n++].path, sizeof used[0].path, "buttons[%d].line", b);
    }
    const struct {
        uint16_t line;
        const char *path;
    } single[] = {{c->gpio_led_printer, "leds.printer_fault"},
                  {c->gpio_led_device, "leds.device_fault"},
                  {c->gpio_paper_line, "paper_sensor.line"},
                  {c->gpio_door_line, "door.line"}};
    for (size_t k = 0; k < HQ_ARRAY_LEN(single); k++) {
        if (single[k].line == HQ_GPIO_NONE) continue;
        used[n].line = single[k].line;
        snprintf(used[n++].path, sizeof used[0].path, "%s", single[k].path);
    }
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < k; j++)
            if (used[j].line == used[k].line)
                return cfg__fail_at(w, used[k].path, "line %u is already $.gpio.%s", used[k].line,
                                    used[j].path);
    if (n && !c->gpio_chip[0])
        return cfg__fail_at(w, "chip", "required key is missing: GPIO lines are configured");
    return HQ_OK;
}

/* ------------------------------------------------------------ drivers' keys */

/* The registry's bus drivers as the "type" choices (names, then aliases). */
static void cfg__drivers_init(void)
{
    size_t n = 0;
    for (size_t i = 0; hq_drivers[i] && n + 1 < HQ_ARRAY_LEN(cfg_bus_types); i++) {
        const struct hq_driver *d = hq_drivers[i];
        if (d->role == HQ_DRV_ROLE_READER) continue;
        cfg_bus_types[n++] = d->name;
        for (size_t k = 0; d->aliases && d->aliases[k] && n + 1 < HQ_ARRAY_LEN(cfg_bus_types); k++)
            cfg_bus_types[n++] = d->aliases[k];
    }
    cfg_bus_types[n] = NULL;
}

/* "\"sam\"" — the names of a role's drivers, for a message. */
static const char *cfg__drv_names(int role)
{
    static char buf[160];
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; hq_drivers[i] && o < sizeof buf; i++)
        if (hq_drivers[i]->role == role)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s\"%s\"", o ? ", " : "",
                                  hq_drivers[i]->name);
    return buf;
}

/* A bus's role as messages name it: "hall" (keypads and pads) or "led" (displays). */
static const char *cfg__bus_role(const struct hq_bus_cfg *b)
{
    const struct hq_driver *d = hq_driver_find(b->type);
    return !d ? "unknown" : d->role == HQ_DRV_ROLE_BAR ? "led" : "hall";
}

/* A driver's key as the walker's own (hq_drv_key is the small public subset of cfg_key). */
static void cfg__drv_key(const struct hq_drv_key *dk, struct cfg_key *k)
{
    memset(k, 0, sizeof *k);
    k->key = dk->name;
    k->off = dk->off;
    k->size = dk->size;
    k->min = dk->min;
    k->max = dk->max;
    k->def = dk->def;
    k->def_str = dk->def_str;
    k->flags = dk->required ? CF_REQ : 0;
    k->type = dk->type == HQ_DRV_KEY_BOOL ? CT_BOOL : dk->type == HQ_DRV_KEY_STR ? CT_STR : CT_INT;
}

static const struct hq_drv_key *cfg__drv_find_key(const struct hq_drv_key *keys, size_t n,
                                                  const char *key)
{
    for (size_t i = 0; keys && i < n; i++)
        if (strcmp(keys[i].name, key) == 0) return &keys[i];
    return NULL;
}

/* The driver of the window's keypad bus (role KEYS) or display bus (BAR) as the JSON names
 * it, or the only bus of that role; NULL if none (the finish hook says why). */
static const struct hq_driver *cfg__win_driver(const struct hq_config *c, const cJSON *json,
                                               int role, int8_t *idx)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(json, role == HQ_DRV_ROLE_BAR ? "led_bus" : "bus");
    const char *id = cJSON_IsString(v) ? v->valuestring : "";
    const struct hq_driver *found = NULL;
    int count = 0;
    for (int j = 0; j < c->n_buses; j++) {
        const struct hq_driver *d = hq_driver_find(c->buses[j].type);
        if (!d || d->role != role) continue;
        count++;
        if (!*id || strcmp(c->buses[j].id, id) == 0) {
            found = d;
            if (idx) *idx = (int8_t)j;
        }
    }
    return *id || count == 1 ? found : NULL;
}

/* Unknown to the object's own table: is key one of its drivers' keys? */
static bool cfg__drv_key_known(struct cfg_walk *w, uint8_t drv, const cJSON *json, const char *key)
{
    const struct hq_driver *d;
    if (drv == CD_WINDOW) {
        for (int role = HQ_DRV_ROLE_KEYS; role <= HQ_DRV_ROLE_BAR; role++)
            if ((d = cfg__win_driver(w->cfg, json, role, NULL)) &&
                cfg__drv_find_key(d->win_keys, d->n_win_keys, key))
                return true;
        return false;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(json, "type");
    const char *type = cJSON_IsString(t) ? t->valuestring : "";
    d = *type              ? hq_driver_find(type)
        : drv == CD_READER ? hq_driver_default(HQ_DRV_ROLE_READER)
                           : NULL;
    return d && cfg__drv_find_key(d->bus_keys, d->n_bus_keys, key);
}

/* Read a driver's keys from the object being finished (w->json) into its struct at out, then
 * run its cross-check. */
static int cfg__drv_keys(struct cfg_walk *w, const struct hq_driver *d,
                         const struct hq_drv_key *keys, size_t n, void *out,
                         const struct hq_dev_window *win)
{
    for (size_t i = 0; keys && i < n; i++) {
        struct cfg_key k;
        cfg__drv_key(&keys[i], &k);
        if (k.off + k.size > (win ? HQ_DRV_WIN_CFG_MAX : HQ_DRV_BUS_CFG_MAX))
            return cfg__fail(w, "internal: driver \"%s\" key \"%s\" lies outside its struct",
                             d->name, k.key);
        size_t old = cfg__push_key(w, k.key);
        int rc = cfg__walk_key(w, &k, cJSON_GetObjectItemCaseSensitive(w->json, k.key), out);
        if (rc) return rc;
        cfg__pop(w, old);
    }
    char msg[256] = "";
    int rc = HQ_OK;
    if (!win && d->check_bus) rc = d->check_bus(out, msg, sizeof msg);
    if (win && d->check_win) rc = d->check_win(out, win, msg, sizeof msg);
    if (rc) return cfg__fail(w, "%s", msg[0] ? msg : "refused by its driver");
    return HQ_OK;
}

static int cfg__reader_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_reader_cfg *all = elems;
    for (size_t j = 0; j < i; j++)
        if (strcmp(all[j].kiosk, all[i].kiosk) == 0)
            return cfg__fail_at(w, "kiosk",
                                "kiosk \"%s\" already has a reader: "
                                "$.devices.card_readers[%zu]",
                                all[i].kiosk, j);
    const struct hq_driver *drv =
        all[i].type[0] ? hq_driver_find(all[i].type) : hq_driver_default(HQ_DRV_ROLE_READER);
    if (!drv || drv->role != HQ_DRV_ROLE_READER)
        return cfg__fail_at(w, "type", "must be a card reader driver (%s), got \"%s\"",
                            cfg__drv_names(HQ_DRV_ROLE_READER), all[i].type);
    int rc = cfg__drv_keys(w, drv, drv->bus_keys, drv->n_bus_keys, all[i].drv, NULL);
    if (rc) return rc;
    /* n_readers already counts every element; later ones are still zero (empty port) */
    return cfg__port_check(w, all[i].port, &all[i]);
}

static int cfg__bus_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_bus_cfg *all = elems, *b = &all[i];
    for (size_t j = 0; j < i; j++)
        if (strcmp(all[j].id, b->id) == 0)
            return cfg__fail_at(w, "id", "bus id \"%s\" is already $.devices.buses[%zu]", b->id, j);
    const struct hq_driver *drv = hq_driver_find(b->type);
    if (!drv || drv->role == HQ_DRV_ROLE_READER)
        return cfg__fail_at(w, "type", "\"%s\" is no bus driver", b->type);
    if (b->acknowledge && drv->role != HQ_DRV_ROLE_BAR)
        return cfg__fail_at(w, "acknowledge", "only LED bars acknowledge (type \"led\")");
    int rc = cfg__drv_keys(w, drv, drv->bus_keys, drv->n_bus_keys, b->drv, NULL);
    if (rc) return rc;
    if (b->rs485_rts_low && !b->rs485)
        return cfg__fail_at(w, "rs485_rts_low", "needs \"rs485\": true");
    return cfg__port_check(w, b->port, b);
}

/* The bus of type `type` named id, or the only one of that type when id is "". */
static int cfg__bus_resolve(struct cfg_walk *w, const char *key, const char *id, const char *type,
                            int8_t *out)
{
    const struct hq_config *c = w->cfg;
    int found = -1, count = 0;
    for (int j = 0; j < c->n_buses; j++) {
        if (strcmp(cfg__bus_role(&c->buses[j]), type) != 0) continue;
        count++;
        if (!id[0] || strcmp(c->buses[j].id, id) == 0) found = j;
    }
    if (id[0] && found < 0) {
        for (int j = 0; j < c->n_buses; j++)
            if (strcmp(c->buses[j].id, id) == 0)
                return cfg__fail_at(w, key, "bus \"%s\" is a %s bus, not a %s bus", id,
                                    cfg__bus_role(&c->buses[j]), type);
        return cfg__fail_at(w, key, "unknown bus \"%s\"", id);
    }
    if (!id[0] && count != 1)
        return cfg__fail_at(w, key,
                            count ? "required key is missing: there are %d %s buses, name one"
                                  : "required key is missing: there are %d %s buses in "
                                    "$.devices.buses",
                            count, type);
    *out = (int8_t)found;
    return HQ_OK;
}

/* "raw=level,..." with raw 0..255 and level 1..5 (hallbus_padmap_parse reads the same). */
static bool cfg__padmap_ok(const char *s)
{
    if (!*s) return true;
    while (*s) {
        char *end;
        long raw = strtol(s, &end, 10);
        if (end == s || *end != '=' || raw < 0 || raw > 255) return false;
        s = end + 1;
        long lvl = strtol(s, &end, 10);
        if (end == s || lvl < 1 || lvl > 5) return false;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return false;
    }
    return true;
}

/* How a message names devices.windows entry j: the file's by its JSON path, a temporary
 * window's (given while hallqd runs) by its number. */
static const char *cfg__devwin_name(const struct cfg_walk *w, const struct hq_devwin_cfg *all,
                                    size_t j, char *buf, size_t cap)
{
    if (w->runtime && j >= w->n_file_devwins)
        snprintf(buf, cap, "temporary window %u's", (unsigned)all[j].window);
    else
        snprintf(buf, cap, "$.devices.windows[%zu]", j);
    return buf;
}

static int cfg__devwin_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_devwin_cfg *all = elems, *d = &all[i];
    const struct hq_engine_cfg *e = &w->cfg->engine;
    char other[48];
    size_t k;
    for (k = 0; k < e->n_windows; k++)
        if (e->windows[k].number == d->window) break;
    /* at run time the window is being opened: the open command checks its number */
    if (k == e->n_windows && !w->runtime)
        return cfg__fail_at(w, "window", "window %u is not in $.windows", (unsigned)d->window);
    for (size_t j = 0; j < i; j++)
        if (all[j].window == d->window)
            return cfg__fail_at(w, "window", "window %u is already %s", (unsigned)d->window,
                                cfg__devwin_name(w, all, j, other, sizeof other));
    d->bus_idx = d->led_bus_idx = -1;
    if (d->keypad || d->pad) {
        int rc = cfg__bus_resolve(w, "bus", d->bus, "hall", &d->bus_idx);
        if (rc) return rc;
    } else if (d->bus[0]) {
        return cfg__fail_at(w, "bus", "the window has no keypad or pad on it");
    }
    if (d->bar) {
        int rc = cfg__bus_resolve(w, "led_bus", d->led_bus, "led", &d->led_bus_idx);
        if (rc) return rc;
    } else if (d->led_bus[0]) {
        return cfg__fail_at(w, "led_bus", "the window has no bar on it");
    }
    if (d->keypad && d->keypad == d->pad)
        return cfg__fail_at(w, "pad", "address %u is the window's keypad too", (unsigned)d->pad);
    /* One address, one device on a line: two would answer the same frame. */
    for (size_t j = 0; j < i; j++) {
        const struct hq_devwin_cfg *o = &all[j];
        if (d->bus_idx >= 0 && o->bus_idx == d->bus_idx) {
            uint8_t mine[2] = {d->keypad, d->pad}, theirs[2] = {o->keypad, o->pad};
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++)
                    if (mine[a] && mine[a] == theirs[b])
                        return cfg__fail_at(w, a ? "pad" : "keypad",
                                            "address %u on bus \"%s\" is already %s",
                                            (unsigned)mine[a], w->cfg->buses[d->bus_idx].id,
                                            cfg__devwin_name(w, all, j, other, sizeof other));
        }
        if (d->bar && o->led_bus_idx == d->led_bus_idx && o->bar == d->bar)
            return cfg__fail_at(w, "bar", "address %u on bus \"%s\" is already %s",
                                (unsigned)d->bar, w->cfg->buses[d->led_bus_idx].id,
                                cfg__devwin_name(w, all, j, other, sizeof other));
    }
    if (d->pad_map[0] && strcmp(d->pad_type, "four") != 0)
        return cfg__fail_at(w, "pad_map",
                            "only a four-key pad (\"pad_type\": \"four\") takes a map");
    if (!cfg__padmap_ok(d->pad_map))
        return cfg__fail_at(w, "pad_map",
                            "must be \"raw=level,...\" with raw 0..255 and level 1..5, got \"%s\"",
                            d->pad_map);
    /* The window's keys of its drivers: each only where the window has a device of it. */
    const struct hq_driver *kd =
        d->bus_idx >= 0 ? hq_driver_find(w->cfg->buses[d->bus_idx].type) : NULL;
    const struct hq_driver *ld =
        d->led_bus_idx >= 0 ? hq_driver_find(w->cfg->buses[d->led_bus_idx].type) : NULL;
    const cJSON *it;
    cJSON_ArrayForEach(it, w->json)
    {
        size_t k;
        for (k = 0; k < HQ_ARRAY_LEN(cfg_devwin_keys); k++)
            if (strcmp(cfg_devwin_keys[k].key, it->string) == 0) break;
        if (k < HQ_ARRAY_LEN(cfg_devwin_keys)) continue;
        if ((kd && cfg__drv_find_key(kd->win_keys, kd->n_win_keys, it->string)) ||
            (ld && cfg__drv_find_key(ld->win_keys, ld->n_win_keys, it->string)))
            continue;
        return cfg__fail_at(w, it->string, "the window has no device whose driver takes this key");
    }
    struct hq_dev_window dw = {.window = d->window,
                               .keypad = d->keypad,
                               .pad = d->pad,
                               .bar = d->bar,
                               .pad_type = d->pad_type,
                               .pad_map = d->pad_map,
                               .idle_text = d->idle_text};
    int rc;
    if (kd && (rc = cfg__drv_keys(w, kd, kd->win_keys, kd->n_win_keys, d->bus_drv, &dw))) return rc;
    if (ld && (rc = cfg__drv_keys(w, ld, ld->win_keys, ld->n_win_keys, d->led_drv, &dw))) return rc;
    return cfg__led_text_check(w, "idle_text", d->idle_text);
}

static int cfg__led_finish(struct cfg_walk *w, void *elems, size_t i)
{
    const struct hq_config *c = elems;
    (void)i;
    int rc = cfg__led_text_check(w, "template", c->led_template);
    if (!rc) rc = cfg__led_text_check(w, "idle_text", c->led_idle_text);
    if (rc) return rc;
    const char *b = c->led_blank_at;
    int min;
    if (strcmp(b, "auto") != 0 && strcmp(b, "off") != 0 &&
        (strlen(b) != 5 || cfg__parse_hhmm(b, &min) || min >= 24 * 60))
        return cfg__fail_at(w, "blank_at",
                            "must be \"auto\", \"off\" or a time \"HH:MM\", got \"%s\"", b);
    return HQ_OK;
}

/* evaluation.platform_pubkey: base64 of the provincial platform's 32-byte X25519 public key,
 * which a card's ID number is sealed to as it is read (docs/DESIGN.md). */
static int cfg__evaluation_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_config *c = elems;
    (void)i;
    c->eval_platform_pk_set = false;
    if (!c->eval_platform_pubkey[0]) return HQ_OK;
    size_t n = 0;
    if (sodium_base642bin(c->eval_platform_pk, sizeof c->eval_platform_pk, c->eval_platform_pubkey,
                          strlen(c->eval_platform_pubkey), NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        n != sizeof c->eval_platform_pk)
        return cfg__fail_at(w, "platform_pubkey",
                            "not a public key: base64 of 32 bytes (crypto_box) expected");
    c->eval_platform_pk_set = true;
    return HQ_OK;
}

static int cfg__token_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_token_cfg *all = elems;
    for (size_t j = 0; j < i; j++)
        if (strcmp(all[j].token, all[i].token) == 0)
            return cfg__fail_at(w, "token", "the same token as $.http.tokens[%zu]", j);
    bool device = strcmp(all[i].role, "device") == 0;
    if (device && !all[i].window)
        return cfg__fail_at(w, "window", "a device token needs the number of its window");
    if (!device && all[i].window)
        return cfg__fail_at(w, "window", "only a device token (role \"device\") has a window");
    /* the event log names the token that gave a command, never the token itself */
    if (!all[i].name[0]) snprintf(all[i].name, sizeof all[i].name, "%s%zu", all[i].role, i);
    return HQ_OK;
}

static bool cfg__in_list(const char (*list)[HQ_CFG_ADDR_LEN], int n, const char *a)
{
    unsigned char x[16], y[16];
    int fx = strchr(a, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(fx, a, x) != 1) return false;
    for (int i = 0; i < n; i++) {
        int fy = strchr(list[i], ':') ? AF_INET6 : AF_INET;
        if (fx == fy && inet_pton(fy, list[i], y) == 1 && memcmp(x, y, fx == AF_INET ? 4 : 16) == 0)
            return true;
    }
    return false;
}

/* The LAN budgets must fit in the total (DESIGN.md "HTTP budgets"). */
static int cfg__http_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_config *c = elems;
    (void)i;
    /* 0: the default, which follows max_clients */
    if (!c->http_max_per_address)
        c->http_max_per_address = c->http_max_clients < 16 ? c->http_max_clients : 16;
    if (!c->http_public_max_clients)
        c->http_public_max_clients = c->http_max_clients >= 4 ? c->http_max_clients / 4 : 1;
    if (c->http_max_per_address > c->http_max_clients)
        return cfg__fail_at(w, "max_per_address", "%u is more than max_clients (%u)",
                            c->http_max_per_address, c->http_max_clients);
    if (c->http_public_max_clients > c->http_max_clients)
        return cfg__fail_at(w, "public_max_clients", "%u is more than max_clients (%u)",
                            c->http_public_max_clients, c->http_max_clients);
    unsigned devices = (unsigned)c->n_http_device_addrs;
    for (int k = 0; k < c->n_http_kiosk_addrs; k++)
        if (!cfg__in_list(c->http_device_addrs, c->n_http_device_addrs, c->http_kiosk_addrs[k]))
            devices++;
    if (devices * c->http_device_slots >= c->http_max_clients)
        return cfg__fail_at(w, "device_slots",
                            "%u device addresses x %u slots keep all of max_clients (%u) for "
                            "them; raise max_clients or lower device_slots",
                            devices, c->http_device_slots, c->http_max_clients);
    for (int k = 0; k < c->n_http_public_addrs; k++) {
        const char *a = c->http_public_addrs[k];
        if (cfg__in_list(c->http_device_addrs, c->n_http_device_addrs, a) ||
            cfg__in_list(c->http_kiosk_addrs, c->n_http_kiosk_addrs, a))
            return cfg__fail_at(w, "public_addresses",
                                "\"%s\" is also a device or kiosk address: one address is "
                                "either many people's or one device's",
                                a);
    }
    for (int k = 0; k < c->n_http_trusted_proxies; k++) {
        const char *a = c->http_trusted_proxies[k];
        if (cfg__in_list(c->http_device_addrs, c->n_http_device_addrs, a) ||
            cfg__in_list(c->http_kiosk_addrs, c->n_http_kiosk_addrs, a))
            return cfg__fail_at(w, "trusted_proxies", "\"%s\" is also a device or kiosk address",
                                a);
    }
    return HQ_OK;
}

static int cfg__top_finish(struct cfg_walk *w, void *elems, size_t i)
{
    struct hq_config *cfg = elems;
    (void)w, (void)i;
    if (!cfg->public_url[0])
        snprintf(cfg->public_url, sizeof cfg->public_url, "http://%s", cfg->http_listen);
    cfg->engine.qr_open_s = cfg->eval_qr_open_h * 3600u;
    cfg__pause_reasons(&cfg->engine);
    return HQ_OK;
}

/* ------------------------------------------------------------- entries */

/* "line 12: JSON syntax error near '...'" from where cJSON stopped. The
 * snippet starts a few bytes before that point (cJSON often stops just after
 * the culprit) and stays on its line. */
static void cfg__syntax_error(struct cfg_walk *w, const char *json, const char *at)
{
    int line = 1;
    const char *line_start = json;
    for (const char *p = json; p < at; p++)
        if (*p == '\n') line++, line_start = p + 1;
    size_t after = 0;
    while (after < 16 && at[after] && at[after] != '\n' && at[after] != '\r')
        after++;
    if (at[after] && at[after] != '\n' && at[after] != '\r') after = cfg__utf8_cut(at, after);
    const char *from = at - 8 < line_start ? line_start : at - 8;
    while (from < at && ((unsigned char)*from & 0xc0) == 0x80)
        from++;
    if (w->err && w->errlen) {
        if (!*at)
            snprintf(w->err, w->errlen, "%s: line %d: JSON syntax error at end of file", w->name,
                     line);
        else
            snprintf(w->err, w->errlen, "%s: line %d: JSON syntax error near '%.*s'", w->name, line,
                     (int)(at + after - from), from);
    }
    w->failed = 1;
}

static int cfg__parse(const char *name, const char *dir, const char *file_abs, const char *json,
                      struct hq_config *cfg, char *err, size_t errlen)
{
    struct cfg_walk w = {.name = name, .cfg = cfg, .err = err, .errlen = errlen};
    char absdir[HQ_CFG_PATH_MAX], cwd[HQ_CFG_PATH_MAX];
    cJSON *root = NULL;
    int rc = HQ_ERR_CONFIG;

    memset(cfg, 0, sizeof *cfg);
    if (err && errlen) err[0] = '\0';
    cfg__drivers_init();
    snprintf(w.path, sizeof w.path, "$");
    w.plen = 1;
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "/");
    if (cfg__abspath(cwd, dir && *dir ? dir : ".", absdir, sizeof absdir) ||
        cfg__abspath(absdir, file_abs ? file_abs : name, cfg->file, sizeof cfg->file)) {
        cfg__fail(&w, "the file's path is longer than %d bytes", HQ_CFG_PATH_MAX - 1);
        goto fail;
    }
    snprintf(cfg->dir, sizeof cfg->dir, "%s", absdir);
    w.dir = cfg->dir;

    if (!json) {
        cfg__fail(&w, "no JSON text");
        goto fail;
    }
    if ((unsigned char)json[0] == 0xef && (unsigned char)json[1] == 0xbb &&
        (unsigned char)json[2] == 0xbf)
        json += 3; /* a byte-order mark from a Windows editor */
    const char *end = NULL;
    root = cJSON_ParseWithOpts(json, &end, 1);
    if (!root) {
        cfg__syntax_error(&w, json, end ? end : json);
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        char got[96];
        cfg__fail(&w, "must be an object, got %s", cfg__got(root, got, sizeof got));
        goto fail;
    }
    rc = cfg__walk_object(&w, &cfg_top_obj, root, cfg, 0, 0);
    if (rc) goto fail;
    cJSON_Delete(root);
    return HQ_OK;

fail:
    cJSON_Delete(root);
    hq_config_free(cfg);
    return HQ_ERR_CONFIG;
}

int hq_config_parse(const char *name, const char *dir, const char *json, struct hq_config *cfg,
                    char *err, size_t errlen)
{
    return cfg__parse(name, dir, NULL, json, cfg, err, errlen);
}

int hq_config_devwin_parse(const struct hq_config *cfg, const cJSON *json, uint16_t window,
                           const struct hq_devwin_cfg *others, size_t n_others, size_t n_file,
                           const char *name, struct hq_devwin_cfg *out, char *err, size_t errlen)
{
    /* The finish hook only reads the configuration (its buses, windows and texts). */
    struct cfg_walk w = {.name = name,
                         .dir = cfg->dir,
                         .cfg = (struct hq_config *)cfg,
                         .err = err,
                         .errlen = errlen,
                         .runtime = true,
                         .n_file_devwins = n_file};
    if (err && errlen) err[0] = '\0';
    snprintf(w.path, sizeof w.path, "$.devices");
    w.plen = strlen(w.path);
    if (!cJSON_IsObject(json)) {
        char got[96];
        return cfg__fail(&w, "must be an object, got %s", cfg__got(json, got, sizeof got));
    }
    const cJSON *num = cJSON_GetObjectItemCaseSensitive(json, "window");
    if (num && !(cJSON_IsNumber(num) && num->valuedouble == window))
        return cfg__fail_at(&w, "window", "must be %u, the window being opened", (unsigned)window);
    struct hq_devwin_cfg *all = calloc(n_others + 1, sizeof *all);
    cJSON *copy = cJSON_Duplicate(json, 1);
    if (!all || !copy) {
        free(all);
        cJSON_Delete(copy);
        return cfg__fail(&w, "out of memory");
    }
    if (n_others) memcpy(all, others, n_others * sizeof *all);
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "window");
    cJSON_AddNumberToObject(copy, "window", window);
    int rc = cfg__walk_object(&w, &cfg_devwin_obj, copy, all, n_others, sizeof *all);
    if (!rc) *out = all[n_others];
    free(all);
    cJSON_Delete(copy);
    return rc;
}

int hq_config_load(const char *file, struct hq_config *cfg, char *err, size_t errlen)
{
    char abs[PATH_MAX], dir[PATH_MAX];
    char *text = NULL;
    int rc = HQ_ERR_CONFIG;
    FILE *f = NULL;

    memset(cfg, 0, sizeof *cfg);
    if (!realpath(file, abs) || !(f = fopen(abs, "rb"))) {
        snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
        goto fail;
    }
    text = malloc(CFG_FILE_MAX + 1);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", file);
        goto fail;
    }
    size_t n = fread(text, 1, CFG_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", file, strerror(errno));
        goto fail;
    }
    if (n > CFG_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %d bytes: not a hall configuration", file,
                 CFG_FILE_MAX);
        goto fail;
    }
    if (memchr(text, '\0', n)) {
        snprintf(err, errlen, "%s: contains a NUL byte: not a JSON text file", file);
        goto fail;
    }
    text[n] = '\0';
    snprintf(dir, sizeof dir, "%s", abs);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    rc = cfg__parse(file, dir, abs, text, cfg, err, errlen);

fail:
    if (f) fclose(f);
    free(text);
    return rc;
}

void hq_config_free(struct hq_config *cfg)
{
    if (!cfg) return;
    struct hq_engine_cfg *e = &cfg->engine;
    for (size_t i = 0; e->services && i < e->n_services; i++)
        free(e->services[i].overrides);
    free(e->services);
    free(cfg->devwins);
    cfg->devwins = NULL;
    cfg->n_devwins = 0;
    free(e->windows);
    free(e->staff);
    e->services = NULL, e->windows = NULL, e->staff = NULL;
    e->n_services = e->n_windows = e->n_staff = 0;
}

/* ------------------------------------------------------------ reload */

struct cfg_reload {
    void (*fn)(void *arg, const char *path, int how);
    void *arg;
    int restart; /* changed keys that wait for a restart */
    char path[256];
};

static uint64_t cfg__count(const char *base, const struct cfg_key *k)
{
    const char *p = base + k->off2;
    switch (k->size2) {
    case 1:
        return *(const uint8_t *)p;
    case 2:
        return *(const uint16_t *)p;
    case 4:
        return *(const uint32_t *)p;
    default:
        return *(const uint64_t *)p;
    }
}

/* Is the value of leaf key k different in a and b? Strings to their end
 * only: the bytes after the NUL mean nothing. */
static bool cfg__leaf_differs(const struct cfg_key *k, const char *a, const char *b)
{
    switch (k->type) {
    case CT_STR:
    case CT_PATH:
    case CT_ENUM:
    case CT_HOSTPORT:
    case CT_URL:
        return strncmp(a + k->off, b + k->off, k->size) != 0;
    case CT_RANGE:
        return memcmp(a + k->off, b + k->off, k->size) ||
               memcmp(a + k->off2, b + k->off2, k->size2);
    case CT_REFS:
        return cfg__count(a, k) != cfg__count(b, k) ||
               memcmp(a + k->off, b + k->off, cfg__count(a, k) * sizeof(uint8_t));
    default:
        return memcmp(a + k->off, b + k->off, k->size) != 0;
    }
}

static void cfg__reload_walk(struct cfg_reload *r, const struct cfg_obj *obj, char *cur,
                             const char *next, size_t plen)
{
    bool hours_seen = false;
    for (size_t i = 0; i < obj->n; i++) {
        const struct cfg_key *k = &obj->keys[i];
        size_t cap = sizeof r->path;
        int n = snprintf(r->path + plen, cap - plen, ".%s", k->key);
        if (n < 0 || (size_t)n >= cap - plen) continue;
        size_t sub = plen + (size_t)n;
        if (k->type == CT_OBJECT) {
            cfg__reload_walk(r, k->sub, cur, next, sub);
        } else if (k->type == CT_ARRAY && !(k->flags & CF_RELOAD)) {
            /* Element by element, so the log names "$.services[1].daily_quota";
             * a different number of elements is the array's own change. */
            uint64_t cn = cfg__count(cur, k), nn = cfg__count(next, k);
            if (cn != nn) {
                r->restart++;
                r->fn(r->arg, r->path, HQ_CFG_RESTART);
            } else {
                char *ce = k->flags & CF_INLINE ? cur + k->off : *(char **)(cur + k->off);
                const char *ne =
                    k->flags & CF_INLINE ? next + k->off : *(char *const *)(next + k->off);
                for (uint64_t e = 0; ce && ne && e < cn; e++) {
                    int m = snprintf(r->path + sub, cap - sub, "[%llu]", (unsigned long long)e);
                    if (m < 0 || (size_t)m >= cap - sub) break;
                    cfg__reload_walk(r, k->sub, ce + e * k->elem_size, ne + e * k->elem_size,
                                     sub + (size_t)m);
                }
            }
        } else if (k->type == CT_ARRAY) { /* reloadable whole: inline only (http.tokens) */
            if (cfg__count(cur, k) != cfg__count(next, k) ||
                memcmp(cur + k->off, next + k->off, k->size)) {
                bool hook = k->flags & CF_HOOK;
                if (!hook) {
                    memcpy(cur + k->off, next + k->off, k->size);
                    memcpy(cur + k->off2, next + k->off2, k->size2);
                }
                r->fn(r->arg, r->path, hook ? HQ_CFG_HOOK : HQ_CFG_APPLIED);
            }
        } else if (cfg__leaf_differs(k, cur, next)) {
            if (k->type == CT_HOURS) { /* the keys of "hours" share one week: say "hours" once */
                if (hours_seen) continue;
                hours_seen = true;
                r->path[plen] = '\0';
            }
            if (!(k->flags & CF_RELOAD)) {
                r->restart++;
                r->fn(r->arg, r->path, HQ_CFG_RESTART);
            } else if (k->flags & CF_HOOK) {
                r->fn(r->arg, r->path, HQ_CFG_HOOK);
            } else {
                memcpy(cur + k->off, next + k->off, k->size);
                if (k->size2) memcpy(cur + k->off2, next + k->off2, k->size2);
                r->fn(r->arg, r->path, HQ_CFG_APPLIED);
            }
        }
        r->path[plen] = '\0';
    }
}

int hq_config_reload(struct hq_config *cur, const struct hq_config *next,
                     void (*fn)(void *arg, const char *path, int how), void *arg)
{
    struct cfg_reload r = {.fn = fn, .arg = arg, .path = "$"};
    cfg__reload_walk(&r, &cfg_top_obj, (char *)cur, (const char *)next, 1);
    return r.restart;
}

/* ------------------------------------------------------------- the docs */

static const char *cfg__type_doc(const struct cfg_key *k, char *buf, size_t len)
{
    size_t o;
    switch (k->type) {
    case CT_STR:
        if (k->min > 0)
            o = (size_t)snprintf(buf, len, "string, %lld..%zu", k->min, cfg__str_max(k));
        else
            o = (size_t)snprintf(buf, len, "string, max %zu", cfg__str_max(k));
        o += (size_t)snprintf(buf + o, len - o, " %s",
                              k->charset == CS_ANY ? "bytes" : "characters");
        if (k->charset == CS_DIGITS) snprintf(buf + o, len - o, ", digits");
        if (k->charset == CS_CODE) snprintf(buf + o, len - o, ", A-Z a-z 0-9 _ - .");
        if (k->charset == CS_LETTERS) snprintf(buf + o, len - o, ", A-Z a-z");
        if (k->charset == CS_PRINTABLE) snprintf(buf + o, len - o, ", printable ASCII");
        break;
    case CT_PATH:
        snprintf(buf, len, "path, max %zu bytes", k->size - 1);
        break;
    case CT_INT:
        snprintf(buf, len, "integer, %lld..%lld", k->min, k->max);
        break;
    case CT_BOOL:
        snprintf(buf, len, "boolean");
        break;
    case CT_ENUM:
        o = (size_t)snprintf(buf, len, "one of");
        for (size_t c = 0; k->choices[c] && o < len; c++)
            o += (size_t)snprintf(buf + o, len - o, "%s \"%s\"", c ? "," : "", k->choices[c]);
        break;
    case CT_OFFSET:
        snprintf(buf, len, "\"+HH:MM\", -12:00..+14:00");
        break;
    case CT_DATE:
        snprintf(buf, len, "date \"YYYY-MM-DD\"");
        break;
    case CT_DATES:
        snprintf(buf, len, "array of dates \"YYYY-MM-DD\", 0..%lld items", k->max);
        break;
    case CT_HOURS:
        snprintf(buf, len, "array of \"HH:MM-HH:MM\", 0..%lld items", k->max);
        break;
    case CT_RANGE:
        snprintf(buf, len, "[first, last], each %lld..%lld", k->min, k->max);
        break;
    case CT_PRIOS:
        snprintf(buf, len, "array of priority names");
        break;
    case CT_REFS:
        snprintf(buf, len, "array of service codes, %lld..%lld items", k->min, k->max);
        break;
    case CT_HOSTPORT:
        snprintf(buf, len, "\"HOST:PORT\"");
        break;
    case CT_ADDRS:
        snprintf(buf, len, "array of IP addresses, 0..%lld items", k->max);
        break;
    case CT_HOSTS:
        snprintf(buf, len, "array of host names, 0..%lld items", k->max);
        break;
    case CT_URL:
        snprintf(buf, len, "URL http(s)://, max %zu bytes", k->size - 1);
        break;
    case CT_OBJECT:
        snprintf(buf, len, "object");
        break;
    case CT_ARRAY:
        snprintf(buf, len, "array of objects, %lld..%lld items", k->min, k->max);
        break;
    default:
        snprintf(buf, len, "?");
        break;
    }
    return buf;
}

static const char *cfg__default_doc(const struct cfg_key *k, char *buf, size_t len)
{
    if (k->flags & CF_REQ) return "required";
    if (k->def_doc) return k->def_doc;
    switch (k->type) {
    case CT_INT:
        snprintf(buf, len, "%lld", k->def);
        break;
    case CT_BOOL:
        snprintf(buf, len, "%s", k->def ? "true" : "false");
        break;
    case CT_RANGE:
        snprintf(buf, len, "[%lld, %lld]", k->def, k->def2);
        break;
    case CT_HOURS:
        snprintf(buf, len, "closed");
        break;
    case CT_OBJECT:
        snprintf(buf, len, "all defaults");
        break;
    case CT_ARRAY:
    case CT_ADDRS:
    case CT_HOSTS:
    case CT_DATES:
        snprintf(buf, len, "[]");
        break;
    case CT_PRIOS: {
        size_t o = (size_t)snprintf(buf, len, "[");
        for (int p = 1; p < HQ_PRIO__COUNT && o < len; p++)
            o += (size_t)snprintf(buf + o, len - o, "%s\"%s\"", p > 1 ? ", " : "",
                                  hq_priority_name(p));
        if (o < len) snprintf(buf + o, len - o, "]");
        break;
    }
    default:
        snprintf(buf, len, "\"%s\"", k->def_str ? k->def_str : "");
        break;
    }
    return buf;
}

/* The "reload" column of docs/CONFIG.md: SIGHUP applies it, or it waits
 * for a restart; an object's keys say each for themselves. */
static const char *cfg__reload_doc(const struct cfg_key *k)
{
    if (k->type == CT_OBJECT) return "per key";
    return k->flags & CF_RELOAD ? "SIGHUP" : "restart";
}

static int cfg__doc_walk(const struct cfg_obj *obj, char *path, size_t plen, size_t cap,
                         int (*fn)(void *, const char *, const char *, const char *, const char *),
                         void *arg)
{
    for (size_t i = 0; i < obj->n; i++) {
        const struct cfg_key *k = &obj->keys[i];
        char type[128], def[128];
        int n = snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", k->key);
        if (n < 0 || (size_t)n >= cap - plen) return HQ_ERR_LIMIT;
        int rc = fn(arg, path, cfg__type_doc(k, type, sizeof type),
                    cfg__default_doc(k, def, sizeof def), cfg__reload_doc(k));
        if (rc) return rc;
        if (k->sub) {
            size_t sub = plen + (size_t)n;
            if (k->type == CT_ARRAY) {
                if (sub + 2 >= cap) return HQ_ERR_LIMIT;
                memcpy(path + sub, "[]", 3);
                sub += 2;
            }
            rc = cfg__doc_walk(k->sub, path, sub, cap, fn, arg);
            if (rc) return rc;
        }
        path[plen] = '\0';
    }
    /* The keys the registry's drivers add to this object, each under its own key name. */
    for (size_t i = 0; obj->drv && hq_drivers[i]; i++) {
        const struct hq_driver *d = hq_drivers[i];
        bool reader = d->role == HQ_DRV_ROLE_READER;
        if ((obj->drv == CD_READER) != reader && obj->drv != CD_WINDOW) continue;
        const struct hq_drv_key *keys = obj->drv == CD_WINDOW ? d->win_keys : d->bus_keys;
        size_t nk = obj->drv == CD_WINDOW ? d->n_win_keys : d->n_bus_keys;
        for (size_t j = 0; keys && j < nk; j++) {
            struct cfg_key k;
            char type[128], def[128];
            cfg__drv_key(&keys[j], &k);
            int n = snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", k.key);
            if (n < 0 || (size_t)n >= cap - plen) return HQ_ERR_LIMIT;
            int rc = fn(arg, path, cfg__type_doc(&k, type, sizeof type),
                        cfg__default_doc(&k, def, sizeof def), cfg__reload_doc(&k));
            path[plen] = '\0';
            if (rc) return rc;
        }
    }
    return HQ_OK;
}

int hq_config_schema_each(int (*fn)(void *arg, const char *path, const char *type, const char *def,
                                    const char *reload),
                          void *arg)
{
    char path[256] = "";
    cfg__drivers_init();
    return cfg__doc_walk(&cfg_top_obj, path, 0, sizeof path, fn, arg);
}

uint8_t hq_config_kiosk_printer(const struct hq_config *c, const char *kiosk)
{
    for (int k = 0; kiosk && k < c->n_kiosk_printers; k++)
        if (strcmp(c->kiosk_printers[k].kiosk, kiosk) == 0) return (uint8_t)(k + 1);
    return 0;
}
