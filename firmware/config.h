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

#include "engine.h"

#define HQ_CFG_PATH_MAX 512
#define HQ_CFG_MAX_TOKENS 16

struct hq_token_cfg {
    char token[128];
    char role[16]; /* "clerk" or "manager" */
};

struct hq_config {
    char file[HQ_CFG_PATH_MAX]; /* the file it came from (absolute) */
    char dir[HQ_CFG_PATH_MAX];  /* its folder: base of relative paths */

    /* hall */
    char hall_name[128];    /* 某某市政务服务中心 */
    char hall_name_en[128];
    char log_level[16];     /* error, warn, notice, info, debug, hex */

    /* http */
    char http_listen[64];   /* "127.0.0.1:8080" */
    char public_url[256];   /* base of the status URL printed as QR: "http://hall.example/" */
    char web_root[HQ_CFG_PATH_MAX]; /* page assets (absolute after loading) */
    uint32_t http_max_body;  /* bytes */
    uint32_t http_max_clients;
    struct hq_token_cfg tokens[HQ_CFG_MAX_TOKENS];
    int n_tokens;

    /* store */
    char database[HQ_CFG_PATH_MAX]; /* absolute after loading */
    char synchronous[8];            /* "full" or "normal" */

    /* display (pages and texts) */
    char notice[512];       /* scrolling notice on the wall display */
    char notice_en[512];
    char ticket_notice[128]; /* 过号请重新取号 */

    /* alarms */
    uint32_t wait_alarm_s;  /* 预警: estimated or actual wait over this */
    uint32_t idle_alarm_s;  /* 空岗: clerk logged in, nobody called for this long while people wait */

    /* privacy */
    char id_hash_key[128];  /* HMAC key for ID numbers (region-wide) */

    /* sync: the central server (PROTOCOLS.md §5); url and serial both empty = off */
    char sync_url[256];            /* base URL: "https://central.example/" */
    char sync_token[256];          /* bearer token */
    char sync_ca_file[HQ_CFG_PATH_MAX]; /* CA bundle (PEM), "" = the system's */
    char sync_pinned_pubkey[512];  /* "sha256//BASE64[;sha256//...]" or "" */
    char sync_serial[256];         /* serial link to a gateway (hal/serial.h spec) */
    uint32_t sync_serial_baud;
    uint32_t sync_batch_max;       /* records per batch, 1..500 */
    uint32_t sync_timeout_s;       /* one HTTP exchange */

    /* printer: the ticket printer (PROTOCOLS.md §4); queue "" = tickets are not printed */
    char printer_queue[128];          /* CUPS queue name */
    char printer_cups_server[HQ_CFG_PATH_MAX]; /* cupsSetServer(): socket or host; "" = system */
    uint32_t printer_width_mm;        /* 58 or 80 */
    char printer_status_link[128];    /* "tcp://host:9100" for DLE EOT, "" = CUPS only */
    uint32_t printer_job_timeout_s;   /* a job not completed by then is a printer fault */
    uint32_t printer_status_interval_s;
    char printer_backup_queue[128];   /* second printer for failover, "" = none */
    char printer_backup_status_link[128];
    char printer_template[HQ_CFG_PATH_MAX]; /* ticket layout JSON file, "" = built-in */
    char printer_replacement[16];     /* printed for a character the printer lacks */

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

/* Every key of the schema, depth first in file order: fn(arg, path, type,
 * default) with path like "services[].hours.mon" and the type/bounds and
 * default exactly as docs/CONFIG.md shows them. Stops at fn's first non-zero. */
int hq_config_schema_each(int (*fn)(void *arg, const char *path, const char *type,
                                    const char *def),
                          void *arg);

#endif
