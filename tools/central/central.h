/*
 * central.h — hallq-central, the reference central server: what its parts
 * (database, HTTP side, serial side, fault injection) share. It exists so
 * hallq's up-link can be tested end to end against something that follows
 * PROTOCOLS.md §5 strictly and can misbehave on request.
 */
#ifndef HQ_CENTRAL_H
#define HQ_CENTRAL_H

#include <pthread.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Faults, set with --fault at start or a control line at run time. */
struct central_faults {
    bool refuse;   /* no HTTP listener at all: connections are refused */
    int status;    /* answer every request with this status, store nothing */
    int slow_ms;   /* wait this long before answering */
    int ack_less;  /* acknowledge this many fewer records than held */
    bool drop_mid; /* cut the connection in the middle of the answer */
    bool noise;    /* serial: line noise, a bad-CRC frame and a bad escape before each answer */
};

/* One batch, checked: what a store writes. data[i] is the record's data
 * text as the hall sent it. */
struct central_batch {
    const char *hall;
    int64_t gone; /* gone_through, 0 when absent */
    size_t n;
    int64_t *seq;
    const char **uuid, **type, **at;
    char **data;
};

struct central;
struct central_province;
/* One row of a query: ncol texts, NULL for SQL NULL. Non-zero stops the rows. */
typedef int (*central_row_fn)(void *ctx, int ncol, const char *const *vals);

/* A store: SQLite (db.c, embedded, one process) or PostgreSQL (pg.c, any
 * number of receivers on one database). Each call takes what locks it needs. */
struct central_store_ops {
    const char *name;
    bool announce_locally;  /* live views: true when no other process writes (SQLite) */
    const char *json_field; /* SQL for a text field %s of a record's data */
    /* HQ_OK with *acked; HQ_ERR_STATE (409) or HQ_ERR_DB with a reason in err. */
    int (*put_batch)(struct central *c, const struct central_batch *b, int64_t *acked, char *err,
                     size_t errlen);
    /* Appointments checked already; each item may carry "hall_id". */
    int (*appts_put)(struct central *c, const cJSON *list, char *err, size_t errlen);
    /* Up to limit appointments after cursor from, appended to list; *last the last cursor. */
    int (*appts_page)(struct central *c, const char *hall, long long from, int limit, cJSON *list,
                      long long *last);
    long long (*count)(struct central *c);
    /* One statement with text parameters $1..$n, written in the SQL both engines take
     * (halls.c); rows to fn. HQ_ERR_STATE for a constraint (a duplicate key). */
    int (*query)(struct central *c, const char *sql, int nparams, const char *const *params,
                 central_row_fn fn, void *ctx, char *err, size_t errlen);
    void (*close)(struct central *c);
};

struct central {
    const struct central_store_ops *store;
    sqlite3 *db;
    struct central_pg *pg;
    pthread_mutex_t lock; /* guards db and faults: MHD answers on its own threads */
    struct central_faults faults;
    const char *token;                   /* NULL: no token needed (halls not provisioned) */
    bool provisioned_only;               /* refuse halls not in hall_registry */
    uint64_t received, batches, refused; /* this receiver's counters (/metrics), atomics */
    char serial_hall[65];                /* last hall seen on the serial link (for Q frames) */
    /* Serial line speed to imitate, bytes per second each way (0: as fast as
     * the pty goes). 115200 baud 8N1 = 11520 B/s. */
    long serial_rate;
    uint64_t serial_rx, serial_tx, serial_frames; /* bytes and good frames on the line */
    struct central_province *province;            /* forwarding to the platform, or NULL */
};

/* Parse one fault spec ("status 503", "off", ...) into f. HQ_OK or
 * HQ_ERR_INVALID with a reason in err. */
int central_fault_parse(const char *spec, struct central_faults *f, char *err, size_t errlen);
/* A copy of the current faults, taken under the lock. */
struct central_faults central_faults_get(struct central *c);

/* ---- db.c ---- */
/* cJSON's allocation hooks (the batch arena); once, before any thread. */
void central_init_hooks(void);
/* The 409 message for a seq held under another uuid. */
void central_conflict_message(int64_t seq, char *err, size_t errlen);
int central_db_open(struct central *c, const char *path);
void central_db_close(struct central *c);

/* Validate and store a records batch body (path_hall: the hall of the URL,
 * or NULL on the serial side, where the body names it). HQ_OK with *acked
 * (the real acked_through, before any fault) and hall (the body's hall_id);
 * HQ_ERR_INVALID with a reason in err; HQ_ERR_DB. Takes the lock. */
int central_records_store(struct central *c, const char *path_hall, const char *body, size_t len,
                          int64_t *acked, char hall[65], char *err, size_t errlen);

/* Add the appointments of a JSON file ({"appointments":[..]} or a bare
 * array; an item's optional "hall_id" limits it to one hall). An appointment
 * already held with the same hall and id is replaced, and gets a new cursor
 * position, when it changed. HQ_OK or an error with a reason in err. */
int central_appointments_load(struct central *c, const char *file, char *err, size_t errlen);

/* The appointments answer for hall after cursor since ("" or NULL: from
 * the start), malloc'd JSON in *out. HQ_ERR_INVALID for a bad cursor. */
int central_appointments_answer(struct central *c, const char *hall, const char *since, char **out);

/* `hallq-central dump --db FILE`: every record as one JSON line. */
int central_dump(const char *path, FILE *out);

/* Add appointments from a JSON text (same forms as the file); source names
 * it in errors. */
int central_appointments_import(struct central *c, const char *source, const char *text, size_t len,
                                char *err, size_t errlen);

/* Where an appointments import is wrong: row -1 for the document itself. */
struct central_appt_error {
    int row;
    char field[24];
    char message[200];
};
/* Read and check an appointments import ({"appointments":[..]} or an array) item by
 * item with the hall's own reader: HQ_OK with the list (the caller deletes it), or
 * HQ_ERR_CONFIG with the row, field and a message naming them in e. */
int central_appointments_check(const char *text, size_t len, cJSON **list,
                               struct central_appt_error *e);
/* Store a checked list (one transaction; an unchanged item keeps its cursor position). */
int central_appointments_put(struct central *c, const cJSON *list, char *err, size_t errlen);

/* ---- pg.c (built with HQ_HAVE_PG) ---- */
/* Connect (conninfo as libpq takes it) and bring the schema up to date. */
int central_pg_open(struct central *c, const char *conninfo);
/* `hallq-central dump --pg CONNINFO`. */
int central_pg_dump(const char *conninfo, FILE *out);

/* ---- halls.c ---- */
struct central_region {
    char province[64], city[64], district[64]; /* "" where a level is not set */
};
struct central_manager {
    char login[64], name[64];
    struct central_region region;
    char pwhash[128];
};
/* "PROVINCE[/CITY[/DISTRICT]]" */
int central_region_parse(const char *s, struct central_region *r);
/* A hall's token: HQ_OK, HQ_ERR_AUTH (missing or wrong), HQ_ERR_STATE
 * (revoked), HQ_ERR_NOT_FOUND (not provisioned), HQ_ERR_DB. */
int central_hall_auth(struct central *c, const char *hall, const char *token);
/* The `hall ...` and `manager ...` commands; argv[0] is "hall" or "manager". */
int central_admin(struct central *c, int argc, char **argv, FILE *out);
/* Sign-in: a new session token (shown once) or HQ_ERR_AUTH. */
int central_manager_login(struct central *c, const char *login, const char *password,
                          char session[68]);
int central_manager_session(struct central *c, const char *session, struct central_manager *m);
/* The halls m may see (hall: only that one, or NULL), appended to list. */
int central_manager_halls(struct central *c, const struct central_manager *m, const char *hall,
                          cJSON *list);

/* The same halls, only their id, name, region and revoked_at (no figures: cheap). */
int central_manager_hall_ids(struct central *c, const struct central_manager *m, const char *hall,
                             cJSON *list);
/* The records of today of one hall (visibility checked by the caller). */
int central_hall_day(struct central *c, const char *hall, cJSON *list);
/* Prometheus text for /metrics, malloc'd; NULL when the database fails. */
char *central_metrics(struct central *c);

/* ---- report.c: the period figures (firmware/figures.c) from the synced records ---- */
/* `hallq-central hall config HALL_ID FILE`: the box's hallq.json, checked with its loader. */
int central_hall_config_set(struct central *c, const char *hall, const char *file, FILE *out);
/* Days (hall-days) of a hall's figures read from hall_fig_days / built from records, since start.
 */
void central_figures_counts(unsigned long long *stored, unsigned long long *built);
/* The figures of [from, to] (days since the epoch): hall NULL, every hall m sees with the
 * region's total ({rows:[{hall_id,..,figures}], total}); a hall, that hall by scope as its
 * box answers. HQ_ERR_NOT_FOUND when m may not see hall. */
int central_figures(struct central *c, const struct central_manager *m, const char *hall,
                    int32_t from, int32_t to, int scope, int64_t now, cJSON **out, char *err,
                    size_t errlen);

/* ---- live.c ---- */
/* A batch of hall was stored (SQLite: by this process; PostgreSQL: heard by LISTEN). */
void central_live_announce(const char *hall);
/* The current event count: a stream starts from here. */
uint64_t central_live_now(void);
/* The next event after *from (advanced), waiting up to timeout_ms: HQ_OK with
 * hall, HQ_ERR_TIMEOUT, or HQ_ERR_STATE when shutting down. */
int central_live_wait(uint64_t *from, char hall[65], int timeout_ms);
/* PostgreSQL: the LISTEN thread (conninfo NULL: nothing to start). */
int central_live_start(const char *pg_conninfo);
void central_live_stop(void);

/* ---- http.c ---- */
struct central_http;
/* Start (or restart) the HTTP(S) side on host:port (port 0: any; the bound
 * port is then kept for restarts). cert/key PEM text or NULL for plain HTTP. */
int central_http_start(struct central *c, const char *host, uint16_t *port, const char *cert_pem,
                       const char *key_pem, struct central_http **out);
void central_http_stop(struct central_http *h);

/* ---- serial.c ---- */
struct central_serial;
/* spec "pty:LINK" or "tcp-listen:[HOST:]PORT". */
int central_serial_open(struct central *c, const char *spec, const char *default_host,
                        struct central_serial **out);
void central_serial_close(struct central_serial *s);
/* fds to poll (up to 2) and the handler for their events. */
int central_serial_fds(struct central_serial *s, int fds[2]);
void central_serial_ready(struct central_serial *s, int fd);
/* "stats serial_rx N serial_tx N serial_frames N records N" for the control line. */
void central_stats(struct central *c, char *out, size_t cap);

/* ---- province.c: forwarding evaluations to the provincial platform ---- */
/* Read and check the mapping file (docs/PROVINCE.md); errors name the file and JSON path. */
int central_province_load(const char *path, struct central_province **out, char *err,
                          size_t errlen);
void central_province_free(struct central_province *p);
/* One record's data through the mapping: the platform's JSON (malloc'd), or NULL with err. */
char *central_province_map(const struct central_province *p, const char *hall, const char *seq,
                           const char *uuid, const char *at, const char *data_text, char *err,
                           size_t errlen);
/* Start the workers (pg: conninfo, NULL for SQLite); stop joins them. */
int central_province_start(struct central_province *p, struct central *c, const char *pg);
void central_province_stop(struct central_province *p);
/* Queued before this (ms since the epoch) = overdue for the hall view's alarm; 0 when p is NULL. */
long long central_province_alarm_before_ms(const struct central_province *p);
/* The forwarding gauges for /metrics (p may be NULL), malloc'd; NULL when the database fails. */
char *central_province_metrics(struct central *c, struct central_province *p);

/* Shared helpers. */
bool central_valid_hall(const char *s);
/* {"error":"..","message":".."} */
char *central_error_json(const char *error, const char *message);

#endif
