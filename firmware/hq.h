/*
 * hq.h — what every part of hallq shares: the project's one error enum and
 * the logging macro. Kept tiny on purpose: drivers, hal and tools include it.
 */
#ifndef HQ_H
#define HQ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One error enum for the whole project (STYLE.md). Never renumber: the values
 * appear in logs and in the HTTP API's error bodies as their names. */
typedef enum {
    HQ_OK = 0,
    HQ_ERR_INVALID,      /* malformed input or argument */
    HQ_ERR_NOT_FOUND,    /* unknown service, window, ticket, staff */
    HQ_ERR_STATE,        /* command not allowed in the current state */
    HQ_ERR_CLOSED,       /* service or hall closed now */
    HQ_ERR_QUOTA,        /* daily quota of the service reached */
    HQ_ERR_PERSON_LIMIT, /* per-person daily limit reached (实名取号) */
    HQ_ERR_ID_REQUIRED,  /* the service needs an ID card */
    HQ_ERR_EMPTY,        /* nobody waiting */
    HQ_ERR_RANGE_FULL,   /* every number of the range is held by a live ticket */
    HQ_ERR_NOMEM,
    HQ_ERR_IO,        /* device or file I/O failed */
    HQ_ERR_DB,        /* the database refused or failed */
    HQ_ERR_DISK_FULL, /* the database cannot be written: disk full or read-only */
    HQ_ERR_CONFIG,    /* bad configuration */
    HQ_ERR_AUTH,      /* missing or wrong token */
    HQ_ERR_PRINTER,   /* no printer can print a ticket now */
    HQ_ERR_TIMEOUT,
    HQ_ERR_PROTO,        /* a device or peer broke its protocol */
    HQ_ERR_LIMIT,        /* a configured limit (recalls, sizes) was reached */
    HQ_ERR_PRINTER_BUSY, /* the printer works but every job slot is taken: try again soon */
    HQ_ERR_STOPPING,     /* hallqd is stopping: its modules are gone, try again after the restart */
    HQ_ERR__COUNT
} hq_err;

/* Short English name of an error ("not_found"), for logs and JSON. */
const char *hq_strerror(int err);
/* The sentence a citizen or clerk reads, Chinese first then English. */
const char *hq_strerror_zh(int err);
const char *hq_strerror_en(int err);

/* Logging. Levels: 0 error .. 4 debug, 5 hex dumps of wire bytes. The macro
 * checks the level before any formatting is done. */
enum { HQ_LOG_ERR = 0, HQ_LOG_WARN, HQ_LOG_NOTICE, HQ_LOG_INFO, HQ_LOG_DEBUG, HQ_LOG_HEX };
extern int hq_log_level;
void hq_log_write(int level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hq_log_hex(const char *tag, const char *legend, const void *buf, size_t len);
int hq_log_level_from_name(const char *name); /* -1 if unknown */

#define HQ_LOG(lvl, tag, ...)                                                                      \
    do {                                                                                           \
        if ((lvl) <= hq_log_level) hq_log_write((lvl), (tag), __VA_ARGS__);                        \
    } while (0)
#define LOG_ERR(tag, ...) HQ_LOG(HQ_LOG_ERR, tag, __VA_ARGS__)
#define LOG_WARN(tag, ...) HQ_LOG(HQ_LOG_WARN, tag, __VA_ARGS__)
#define LOG_NOTICE(tag, ...) HQ_LOG(HQ_LOG_NOTICE, tag, __VA_ARGS__)
#define LOG_INFO(tag, ...) HQ_LOG(HQ_LOG_INFO, tag, __VA_ARGS__)
#define LOG_DEBUG(tag, ...) HQ_LOG(HQ_LOG_DEBUG, tag, __VA_ARGS__)
#define LOG_HEX(tag, legend, buf, len)                                                             \
    do {                                                                                           \
        if (HQ_LOG_HEX <= hq_log_level) hq_log_hex((tag), (legend), (buf), (len));                 \
    } while (0)

#define HQ_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A growing text buffer: p is NUL-terminated after every put; a failed allocation sets oom
 * and later puts do nothing, so a caller checks once at the end. Start from {0}; free(p). */
struct hq_text {
    char *p;
    size_t len, cap;
    bool oom;
};
void hq_text_put(struct hq_text *b, const char *s, size_t n);

#endif
