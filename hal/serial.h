/*
 * serial.h — serial links to hall devices, whatever carries them: a real port through
 * libserialport, a USB adapter found by its identity (so a replugged reader that came back as
 * ttyUSB1 is found again), a pseudo-terminal (simulators; libserialport cannot open ptys) with
 * plain termios, or a TCP connection to an Ethernet serial server. Every link gives the event
 * loop one non-blocking fd; a link that vanishes is reopened with backoff (hq_serial_link).
 *
 * spec forms:
 *   /dev/ttyUSB0             libserialport; if it cannot open the path and it is a tty, termios
 *   usb:1A86:7523[:SERIAL]   the USB port with that VID:PID (hex) and optional serial number
 *   pty:/dev/pts/3           termios directly
 *   tcp://host:port          non-blocking TCP connect
 */
#ifndef HQ_SERIAL_H
#define HQ_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hq.h"

enum hq_serial_flags {
    HQ_SERIAL_RS485 = 1 << 0,         /* driver-controlled RS-485 direction (TIOCSRS485) */
    HQ_SERIAL_RS485_RTS_LOW = 1 << 1, /* RTS low while sending (default: high) */
};

enum hq_serial_kind { HQ_SERIAL_SP = 0, HQ_SERIAL_TERMIOS, HQ_SERIAL_TCP };

/* TCP links notice a serial server that vanished without a word within about 20 s: keepalive
 * probes after 10 s idle, every 5 s, 3 of them; and at most 20 s for anything sent to be
 * acknowledged (TCP_USER_TIMEOUT). */
#define HQ_SERIAL_TCP_KEEPIDLE_S 10
#define HQ_SERIAL_TCP_KEEPINTVL_S 5
#define HQ_SERIAL_TCP_KEEPCNT 3
#define HQ_SERIAL_TCP_USER_TIMEOUT_MS 20000

struct hq_serial;

/* Open a link; *out is set on HQ_OK. HQ_ERR_NOT_FOUND: no such port or USB device;
 * HQ_ERR_INVALID: bad spec or baud; HQ_ERR_CONFIG: RS-485 asked for but refused by the port;
 * HQ_ERR_IO: the OS refused. A TCP link may still be connecting (hq_serial_connecting). */
int hq_serial_open(const char *spec, int baud, unsigned flags, struct hq_serial **out);
void hq_serial_close(struct hq_serial *s);

/* The non-blocking fd to watch (EPOLLIN; EPOLLOUT too while a TCP link is connecting). */
int hq_serial_fd(const struct hq_serial *s);
int hq_serial_kind(const struct hq_serial *s);
/* The port name actually opened ("/dev/ttyUSB1" for a usb: spec). */
const char *hq_serial_name(const struct hq_serial *s);

/* True while a TCP connect is in progress. */
bool hq_serial_connecting(const struct hq_serial *s);
/* Call when the fd becomes writable while connecting: HQ_OK when connected, HQ_ERR_IO if the
 * connection failed. */
int hq_serial_finish_connect(struct hq_serial *s);

/* Read what is available into buf. HQ_OK with *got = 0 when nothing is there; HQ_ERR_IO when
 * the link is gone (EIO/ENXIO from an unplugged port, EOF or reset on TCP), HQ_ERR_TIMEOUT when
 * a TCP peer stopped answering (keepalive / user timeout): reopen it then. */
int hq_serial_read(struct hq_serial *s, void *buf, size_t cap, size_t *got);
/* Write all n bytes, waiting up to timeout_ms for room. HQ_ERR_TIMEOUT if it could not,
 * HQ_ERR_IO if the link is gone. */
int hq_serial_write(struct hq_serial *s, const void *buf, size_t n, int timeout_ms);
/* Discard unread input (after a timeout, before a new command). */
void hq_serial_flush_input(struct hq_serial *s);

/* ------------------------------------------------------ reconnect helper */

#define HQ_SERIAL_BACKOFF_MIN_MS 500
#define HQ_SERIAL_BACKOFF_MAX_MS 30000

/* A link that reopens itself: 0.5 s after a failure, doubling to 30 s, reset by a success. */
struct hq_serial_link {
    char spec[256];
    int baud;
    unsigned flags;
    struct hq_serial *s;  /* NULL while down */
    uint64_t retry_at_ms; /* next attempt while down */
    uint32_t backoff_ms;  /* delay after the next failure */
    uint32_t failures;    /* consecutive failed attempts */
    int last_err;
};

/* Set up (not opened yet: the first hq_serial_link_service opens it). HQ_ERR_INVALID if the
 * spec is too long. */
int hq_serial_link_init(struct hq_serial_link *l, const char *spec, int baud, unsigned flags);
/* If down and due at now_ms, try to open. Returns HQ_OK when the link is up (possibly still
 * connecting), else the last error. */
int hq_serial_link_service(struct hq_serial_link *l, uint64_t now_ms);
/* The link failed (read/write said HQ_ERR_IO, HUP on the fd): close it, retry later. */
void hq_serial_link_lost(struct hq_serial_link *l, uint64_t now_ms);
/* Close for good. */
void hq_serial_link_close(struct hq_serial_link *l);
/* fd of the open link, -1 while down. */
int hq_serial_link_fd(const struct hq_serial_link *l);

#endif
