/*
 * print_cups.h — ticket spooling through CUPS, and the printer's health.
 *
 * Submitting a job or asking CUPS anything may block (a slow scheduler, a
 * printer that hangs), so it happens on one worker thread: the event loop
 * hands requests in, and collects results when print_cups_fd() turns
 * readable. The worker never touches daemon state; a request carries its own
 * copy of the bytes, and a result says what happened to the request with the
 * caller's tag.
 *
 * A job is a raw ESC/POS document (CUPS_FORMAT_RAW) on a named queue. Its
 * state is polled until CUPS says completed; a job still pending or
 * processing after its timeout is cancelled and reported as a printer fault
 * (a socket queue to a dead printer retries forever otherwise).
 *
 * CUPS cannot carry DLE EOT, so paper and cover come from a direct status
 * link to the printer (tcp://host:port, PROTOCOLS.md §4) and from CUPS's
 * printer-state-reasons.
 */
#ifndef HQ_PRINT_CUPS_H
#define HQ_PRINT_CUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRINT_QUEUE_MAX 128
#define PRINT_DETAIL_MAX 200

/* What the printer can do now, worst first when several apply. */
enum print_health {
    PRINT_HEALTH_OK = 0,
    PRINT_HEALTH_NEAR_END, /* paper low: still prints */
    PRINT_HEALTH_PAPER_END,
    PRINT_HEALTH_COVER_OPEN,
    PRINT_HEALTH_OFFLINE, /* no answer, or the printer says offline */
    PRINT_HEALTH_ERROR,   /* stopped queue, not accepting, unrecoverable error */
};

/* The replies to DLE EOT 1, 2 and 4 from the status link. */
struct print_link_status {
    bool answered;   /* at least one valid reply came */
    bool offline;    /* n=1 bit 3 */
    bool cover_open; /* n=2 bit 2 */
    bool paper_end;  /* n=2 bit 5 or n=4 bits 5-6 */
    bool near_end;   /* n=4 bits 2-3 */
    bool error;      /* n=2 bit 6 */
};

/* CUPS's view of a queue. */
struct print_printer_status {
    int state;      /* printer-state: 3 idle, 4 processing, 5 stopped; 0 unknown */
    bool accepting; /* printer-is-accepting-jobs */
    bool paper_end, near_end, cover_open, offline, other; /* from printer-state-reasons */
    char reasons[PRINT_DETAIL_MAX];                       /* the keywords, comma-separated */
};

enum print_req_kind { PRINT_REQ_JOB = 0, PRINT_REQ_PRINTER, PRINT_REQ_LINK };

struct print_result {
    uint8_t kind;       /* enum print_req_kind */
    uint64_t tag;       /* the caller's tag from the request */
    int err;            /* HQ_OK; HQ_ERR_PRINTER fault (cancelled, aborted, timed out, refused);
                           HQ_ERR_IO CUPS unreachable; HQ_ERR_NOT_FOUND no such queue */
    int job_id;         /* CUPS job id, 0 if none was created */
    uint64_t handed_us; /* jobs: CLOCK_MONOTONIC µs when cupsFinishDocument returned (the
                           job is CUPS's from then on), 0 if it never did */
    int health;         /* enum print_health, for PRINTER and LINK */
    char queue[PRINT_QUEUE_MAX];
    char detail[PRINT_DETAIL_MAX]; /* for the log: "job 12 still processing after 20 s" */
    struct print_printer_status printer;
    struct print_link_status link;
};

struct print_cups;

/* Start the worker. server: a unix socket path or "host[:port]" for
 * cupsSetServer(); NULL = the system's default. NULL on failure. */
struct print_cups *print_cups_new(const char *server);
/* Stop the worker (a job being polled is left to CUPS) and free everything. */
void print_cups_free(struct print_cups *p);

/* An fd that is readable while results wait; watch it with EPOLLIN. */
int print_cups_fd(const struct print_cups *p);
/* Take the next result: HQ_OK, or HQ_ERR_EMPTY when none is left. */
int print_cups_result(struct print_cups *p, struct print_result *out);

/* Queue a raw job of len bytes (copied) to `queue`; timeout_ms bounds the
 * time until CUPS reports it completed. Jobs of one queue run one at a time, in order;
 * the queues do not wait for each other (a dead printer holds up only its own tickets), and
 * a job handed over for a queue before a job of that queue failed is failed at once. */
int print_cups_submit(struct print_cups *p, uint64_t tag, const char *queue, const void *data,
                      size_t len, uint32_t timeout_ms);
/* Ask CUPS for the queue's printer-state, -reasons and -is-accepting-jobs. */
int print_cups_query_printer(struct print_cups *p, uint64_t tag, const char *queue);
/* Ask the printer itself: DLE EOT 1, 2, 4 over "tcp://host:port". */
int print_cups_query_link(struct print_cups *p, uint64_t tag, const char *link,
                          uint32_t timeout_ms);

/* A serial status link "SPEC[@BAUD]" (hal/serial.h's /dev/..., usb:VID:PID[:SERIAL] or
 * pty:PATH; 9600 baud unless given, 1200..230400) into its port spec and baud. HQ_ERR_INVALID
 * for anything else (a tcp:// link is not serial). */
int print_link_serial_spec(const char *link, char *spec, size_t cap, int *baud);
/* The same queries, synchronously on the calling thread (tools and tests). */
int print_printer_status(const char *server, const char *queue, struct print_printer_status *st);
int print_link_query(const char *link, uint32_t timeout_ms, struct print_link_status *st);

/* Fold one DLE EOT reply into st. HQ_ERR_PROTO if the fixed bits (0x12 set,
 * 0x81 clear) are wrong: then it is not a status byte. */
int print_link_parse(int n, uint8_t reply, struct print_link_status *st);
/* Fold CUPS printer-state-reasons keywords ("media-empty-error") into st. */
void print_reasons_parse(const char *keyword, struct print_printer_status *st);

int print_link_health(const struct print_link_status *st);
int print_printer_health(const struct print_printer_status *st);
/* Whether a ticket can be printed in that health. */
bool print_health_can_print(int health);
/* "ok", "near_end", "paper_end", "cover_open", "offline", "error". */
const char *print_health_name(int health);
/* 打印机缺纸 …: what the kiosk shows, Chinese first. */
const char *print_health_text(int health);

#endif
