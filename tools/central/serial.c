/*
 * serial.c — hallq-central's serial side: the gateway end of a serial-only
 * hall (PROTOCOLS.md §5, serial transport). Either a pseudo-terminal whose
 * slave is linked at a path (tests and simulators open it like a real port)
 * or a TCP listener (a serial server on the network). Frames are SLIP with
 * the CRC-32 sync frame inside (firmware/slip.h):
 *
 *   hall -> central   'R' {"hall_id":..,"records":[..]}   central -> hall  'A' {"acked_through":N}
 *   hall -> central   'Q' {"since":"..."(,"hall_id":..)}  central -> hall  'P' appointments answer
 *
 * A Q without hall_id is answered for the hall last seen in an R on this link.
 * With --serial-rate the side behaves like a line of that many bytes per
 * second each way (a pty has no baud rate): after n bytes in or out it waits
 * n/rate seconds before the next transfer in that direction, so a sender
 * blocks exactly as on a real UART once the kernel's buffer is full.
 */
#include "central.h"

#include "hq.h"
#include "slip.h"
#include "sync_proto.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct central_serial {
    struct central *c;
    int fd;        /* pty master or the connected TCP client, -1 if none */
    int listen_fd; /* TCP listener, -1 for a pty */
    int slave_fd;  /* kept open so the master never sees a hang-up */
    char link[256];
    struct slip_decoder dec;
    uint64_t rx_free_at, tx_free_at; /* µs (monotonic) when the line is free again */
};

static uint64_t central__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* n bytes crossed the imitated line: wait until they would have. */
static void central__pace(const struct central *c, uint64_t *free_at, size_t n)
{
    if (c->serial_rate <= 0 || !n) return;
    uint64_t now = central__now_us();
    if (*free_at < now) *free_at = now;
    *free_at += (uint64_t)n * 1000000u / (uint64_t)c->serial_rate;
    if (*free_at > now) usleep((useconds_t)(*free_at - now));
}

/* Write all of buf, waiting up to 2 s for a slow reader; a gateway that does
 * not read loses the frame, and the hall resends it after its timeout. */
static void central__write(struct central_serial *s, const uint8_t *buf, size_t len)
{
    size_t off = 0;
    while (off < len && s->fd >= 0) {
        ssize_t n = write(s->fd, buf + off, len - off);
        if (n > 0) {
            off += (size_t)n;
            s->c->serial_tx += (uint64_t)n;
            central__pace(s->c, &s->tx_free_at, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = s->fd, .events = POLLOUT};
            if (poll(&p, 1, 2000) > 0) continue;
        }
        LOG_WARN("CENTRAL", "serial write failed after %zu of %zu bytes", off, len);
        return;
    }
}

/* Line noise before an answer: stray bytes, an A frame whose CRC is wrong
 * (it claims everything acknowledged: a hall that believed it would lose
 * records), and a frame broken by a bad escape. The hall must drop them all. */
static void central__noise(struct central_serial *s)
{
    static const uint8_t junk[] = {0x00, 0xff, 'n', 'o', 'i', 's', 'e', 0x7e, 0x55};
    static const uint8_t bad_escape[] = {SLIP_END, 'A', '{', SLIP_ESC, 0x00, '}', SLIP_END};
    uint8_t *wire = NULL;
    size_t wlen = 0;
    central__write(s, junk, sizeof junk);
    if (slip_frame_build(SLIP_TYPE_ACK, "{\"acked_through\":999999999}", 27, &wire, &wlen) ==
            HQ_OK &&
        wlen > 3) {
        wire[wlen - 2] ^=
            0x01; /* a CRC byte (escaped CRC bytes stay escapes: 0xDC/0xDD ^1 are not C0/DB) */
        if (wire[wlen - 2] == SLIP_END || wire[wlen - 2] == SLIP_ESC) wire[wlen - 2] ^= 0x03;
        central__write(s, wire, wlen);
    }
    free(wire);
    central__write(s, bad_escape, sizeof bad_escape);
}

static void central__send_frame(struct central_serial *s, char type, const char *body,
                                bool drop_mid)
{
    uint8_t *wire = NULL;
    size_t wlen = 0;
    if (central_faults_get(s->c).noise) central__noise(s);
    if (slip_frame_build(type, body, strlen(body), &wire, &wlen) != HQ_OK) return;
    /* drop-mid: half a frame and no END, like a line cut mid-answer. */
    central__write(s, wire, drop_mid ? wlen / 2 : wlen);
    free(wire);
}

static void central__on_frame(void *arg, char type, const char *body, size_t len)
{
    struct central_serial *s = arg;
    struct central *c = s->c;
    struct central_faults f = central_faults_get(c);
    c->serial_frames++;
    /* refuse and status faults: the gateway is down, nothing answers. */
    if (f.refuse || f.status) {
        LOG_INFO("CENTRAL", "serial frame '%c' ignored (fault)", type);
        return;
    }
    if (f.slow_ms > 0) usleep((useconds_t)f.slow_ms * 1000);
    if (type == SLIP_TYPE_RECORDS) {
        int64_t acked = 0;
        char hall[65] = "", err[256] = "";
        int rc = central_records_store(c, NULL, body, len, &acked, hall, err, sizeof err);
        if (rc) {
            LOG_WARN("CENTRAL", "serial records rejected: %s", err);
            return;
        }
        pthread_mutex_lock(&c->lock);
        snprintf(c->serial_hall, sizeof c->serial_hall, "%s", hall);
        pthread_mutex_unlock(&c->lock);
        acked -= f.ack_less;
        if (acked < 0) acked = 0;
        char ack[64];
        sync_ack_build(acked, ack, sizeof ack);
        central__send_frame(s, SLIP_TYPE_ACK, ack, f.drop_mid);
    } else if (type == SLIP_TYPE_QUERY) {
        cJSON *q = cJSON_ParseWithLength(body, len);
        const char *since = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "since"));
        const char *qh = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "hall_id"));
        char hall[65];
        pthread_mutex_lock(&c->lock);
        snprintf(hall, sizeof hall, "%s", qh && central_valid_hall(qh) ? qh : c->serial_hall);
        pthread_mutex_unlock(&c->lock);
        char *out = NULL;
        if (cJSON_IsObject(q) && central_appointments_answer(c, hall, since, &out) == HQ_OK)
            central__send_frame(s, SLIP_TYPE_APPOINTMENTS, out, f.drop_mid);
        else
            LOG_WARN("CENTRAL", "serial appointments query rejected");
        free(out);
        cJSON_Delete(q);
    } else {
        LOG_INFO("CENTRAL", "serial frame '%c' is not for the central side", type);
    }
}

static int central__open_pty(struct central_serial *s, const char *link)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) goto fail;
    const char *name = ptsname(m);
    if (!name) goto fail;
    s->slave_fd = open(name, O_RDWR | O_NOCTTY);
    if (s->slave_fd < 0) goto fail;
    /* Raw on the slave: the line carries binary SLIP, no echo, no CR/LF
     * translation, whoever opens the link later. */
    struct termios t;
    if (tcgetattr(s->slave_fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(s->slave_fd, TCSANOW, &t);
    }
    unlink(link);
    if (symlink(name, link)) {
        fprintf(stderr, "hallq-central: cannot link %s to %s: %s\n", link, name, strerror(errno));
        goto fail;
    }
    snprintf(s->link, sizeof s->link, "%s", link);
    fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
    s->fd = m;
    return HQ_OK;
fail:
    if (m >= 0) close(m);
    return HQ_ERR_IO;
}

static int central__open_tcp(struct central_serial *s, const char *spec, const char *host)
{
    char h[64];
    const char *colon = strrchr(spec, ':');
    snprintf(h, sizeof h, "%s", host ? host : "127.0.0.1");
    if (colon) {
        size_t n = (size_t)(colon - spec);
        if (n >= sizeof h) return HQ_ERR_CONFIG;
        memcpy(h, spec, n);
        h[n] = 0;
        spec = colon + 1;
    }
    char *end = NULL;
    long port = strtol(spec, &end, 10);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (!*spec || *end || port < 0 || port > 65535 || inet_pton(AF_INET, h, &sa.sin_addr) != 1)
        return HQ_ERR_CONFIG;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0) return HQ_ERR_IO;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 4)) {
        fprintf(stderr, "hallq-central: serial tcp-listen %s:%ld: %s\n", h, port, strerror(errno));
        close(fd);
        return HQ_ERR_IO;
    }
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    snprintf(s->link, sizeof s->link, "%s:%u", h, ntohs(sa.sin_port));
    s->listen_fd = fd;
    return HQ_OK;
}

int central_serial_open(struct central *c, const char *spec, const char *default_host,
                        struct central_serial **out)
{
    struct central_serial *s = calloc(1, sizeof *s);
    int rc = HQ_ERR_CONFIG;
    if (!s) return HQ_ERR_NOMEM;
    s->c = c;
    s->fd = s->listen_fd = s->slave_fd = -1;
    slip_decoder_init(&s->dec, 0);
    if (!strncmp(spec, "pty:", 4) && spec[4])
        rc = central__open_pty(s, spec + 4);
    else if (!strncmp(spec, "tcp-listen:", 11))
        rc = central__open_tcp(s, spec + 11, default_host);
    if (rc) {
        if (rc == HQ_ERR_CONFIG)
            fprintf(stderr, "hallq-central: --serial %s: want pty:LINK or tcp-listen:[HOST:]PORT\n",
                    spec);
        central_serial_close(s);
        return rc;
    }
    printf("ready serial %s\n", s->link);
    *out = s;
    return HQ_OK;
}

void central_serial_close(struct central_serial *s)
{
    if (!s) return;
    if (s->fd >= 0) close(s->fd);
    if (s->listen_fd >= 0) close(s->listen_fd);
    if (s->slave_fd >= 0) {
        close(s->slave_fd);
        unlink(s->link);
    }
    slip_decoder_free(&s->dec);
    free(s);
}

int central_serial_fds(struct central_serial *s, int fds[2])
{
    int n = 0;
    if (s->listen_fd >= 0) fds[n++] = s->listen_fd;
    if (s->fd >= 0) fds[n++] = s->fd;
    return n;
}

void central_serial_ready(struct central_serial *s, int fd)
{
    if (fd == s->listen_fd) {
        int cfd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) return;
        /* One gateway at a time: a new connection replaces the old one. */
        if (s->fd >= 0) close(s->fd);
        s->fd = cfd;
        slip_decoder_reset(&s->dec);
        return;
    }
    uint8_t buf[4096];
    /* At an imitated line rate, small reads pace the sender evenly. */
    size_t want = sizeof buf;
    if (s->c->serial_rate > 0 && (size_t)(s->c->serial_rate / 50) + 16 < want)
        want = (size_t)(s->c->serial_rate / 50) + 16;
    ssize_t n = read(s->fd, buf, want);
    if (n > 0) {
        s->c->serial_rx += (uint64_t)n;
        central__pace(s->c, &s->rx_free_at, (size_t)n);
        LOG_HEX("CENTRAL", "serial in", buf, (size_t)n);
        slip_decoder_feed(&s->dec, buf, (size_t)n, central__on_frame, s);
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        if (s->listen_fd >= 0) {
            close(s->fd);
            s->fd = -1;
            slip_decoder_reset(&s->dec);
        }
    }
}
