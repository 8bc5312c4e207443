/*
 * serial.c — serial links for hall devices: libserialport for real ports and USB identities,
 * plain termios for pseudo-terminals (libserialport refuses them), non-blocking TCP for serial
 * servers; and the reopen-with-backoff helper for ports that vanish (a USB reader unplugged,
 * a serial server rebooted). libserialport's SP_* results and errno are translated to hq_err here.
 */
#include "serial.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/serial.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <libserialport.h>

struct hq_serial {
    int kind; /* enum hq_serial_kind */
    int fd;
    bool connecting;
    struct sp_port *port; /* HQ_SERIAL_SP only */
    char name[256];
};

static speed_t hq_serial__speed(int baud)
{
    switch (baud) {
    case 1200:
        return B1200;
    case 2400:
        return B2400;
    case 4800:
        return B4800;
    case 9600:
        return B9600;
    case 19200:
        return B19200;
    case 38400:
        return B38400;
    case 57600:
        return B57600;
    case 115200:
        return B115200;
    case 230400:
        return B230400;
    default:
        return 0;
    }
}

static int hq_serial__nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return HQ_ERR_IO;
    return HQ_OK;
}

/* RS-485 direction by the UART driver, for transceivers wired to RTS. */
static int hq_serial__rs485(int fd, const char *name, unsigned flags)
{
    if (!(flags & HQ_SERIAL_RS485)) return HQ_OK;
    struct serial_rs485 rs = {0};
    rs.flags = SER_RS485_ENABLED;
    rs.flags |=
        (flags & HQ_SERIAL_RS485_RTS_LOW) ? SER_RS485_RTS_AFTER_SEND : SER_RS485_RTS_ON_SEND;
    if (ioctl(fd, TIOCSRS485, &rs) < 0) {
        LOG_ERR("SERIAL",
                "%s: RS-485 mode refused (%s): the port cannot drive the direction; "
                "use an adapter with automatic direction and drop the rs485 option",
                name, strerror(errno));
        return HQ_ERR_CONFIG;
    }
    return HQ_OK;
}

static int hq_serial__termios(const char *path, int baud, struct hq_serial *s)
{
    speed_t sp = hq_serial__speed(baud);
    if (!sp) return HQ_ERR_INVALID;
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? HQ_ERR_NOT_FOUND : HQ_ERR_IO;
    int rc = HQ_ERR_IO;
    struct termios t;
    if (!isatty(fd) || tcgetattr(fd, &t) < 0) {
        rc = HQ_ERR_INVALID;
        goto fail;
    }
    cfmakeraw(&t);
    t.c_cflag &= ~(CSTOPB | PARENB | CRTSCTS | CSIZE);
    t.c_cflag |= CS8 | CLOCAL | CREAD;
    t.c_iflag &= ~(IXON | IXOFF | IXANY);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    cfsetispeed(&t, sp);
    cfsetospeed(&t, sp);
    if (tcsetattr(fd, TCSANOW, &t) < 0) goto fail;
    s->fd = fd;
    s->kind = HQ_SERIAL_TERMIOS;
    snprintf(s->name, sizeof s->name, "%s", path);
    return HQ_OK;
fail:
    close(fd);
    return rc;
}

static int hq_serial__sp(const char *name, int baud, unsigned flags, struct hq_serial *s)
{
    struct sp_port *port = NULL;
    int rc = HQ_ERR_NOT_FOUND;
    if (sp_get_port_by_name(name, &port) != SP_OK) return HQ_ERR_NOT_FOUND;
    rc = HQ_ERR_IO;
    if (sp_open(port, SP_MODE_READ_WRITE) != SP_OK) goto fail;
    rc = HQ_ERR_INVALID;
    if (sp_set_baudrate(port, baud) != SP_OK || sp_set_bits(port, 8) != SP_OK ||
        sp_set_parity(port, SP_PARITY_NONE) != SP_OK || sp_set_stopbits(port, 1) != SP_OK ||
        sp_set_flowcontrol(port, SP_FLOWCONTROL_NONE) != SP_OK)
        goto fail_close;
    int fd = -1;
    rc = HQ_ERR_IO;
    if (sp_get_port_handle(port, &fd) != SP_OK || fd < 0) goto fail_close;
    if ((rc = hq_serial__nonblock(fd))) goto fail_close;
    if ((rc = hq_serial__rs485(fd, name, flags))) goto fail_close;
    s->fd = fd;
    s->port = port;
    s->kind = HQ_SERIAL_SP;
    snprintf(s->name, sizeof s->name, "%s", sp_get_port_name(port));
    return HQ_OK;
fail_close:
    sp_close(port);
fail:
    sp_free_port(port);
    return rc;
}

/* usb:VID:PID[:SERIAL] → the port name of the first matching USB serial port. */
static int hq_serial__find_usb(const char *id, char *name, size_t cap)
{
    unsigned vid, pid;
    char serial[128] = "";
    int n = sscanf(id, "%x:%x:%127s", &vid, &pid, serial);
    if (n < 2 || vid > 0xFFFF || pid > 0xFFFF) return HQ_ERR_INVALID;
    struct sp_port **ports = NULL;
    if (sp_list_ports(&ports) != SP_OK) return HQ_ERR_IO;
    int rc = HQ_ERR_NOT_FOUND;
    for (size_t i = 0; ports[i]; i++) {
        int v = 0, p = 0;
        if (sp_get_port_transport(ports[i]) != SP_TRANSPORT_USB) continue;
        if (sp_get_port_usb_vid_pid(ports[i], &v, &p) != SP_OK) continue;
        if ((unsigned)v != vid || (unsigned)p != pid) continue;
        const char *sn = sp_get_port_usb_serial(ports[i]);
        if (serial[0] && (!sn || strcmp(sn, serial) != 0)) continue;
        snprintf(name, cap, "%s", sp_get_port_name(ports[i]));
        rc = HQ_OK;
        break;
    }
    sp_free_port_list(ports);
    if (rc == HQ_ERR_NOT_FOUND)
        LOG_WARN("SERIAL", "no USB serial port %04X:%04X%s%s is plugged in", vid, pid,
                 serial[0] ? " serial " : "", serial);
    return rc;
}

/* A serial server that vanishes silently (power cut, pulled cable) sends no FIN or RST, and
 * the kernel's keepalive defaults notice that after two hours: the devices behind it would look
 * online while nothing reaches them. Probe idle links and give up on what stays unacknowledged
 * (serial.h says how soon); the read then fails with ETIMEDOUT and the link reopens. */
static void hq_serial__tcp_dead_peer(int fd, const char *hostport)
{
    int one = 1, idle = HQ_SERIAL_TCP_KEEPIDLE_S, intvl = HQ_SERIAL_TCP_KEEPINTVL_S,
        cnt = HQ_SERIAL_TCP_KEEPCNT;
    unsigned user_ms = HQ_SERIAL_TCP_USER_TIMEOUT_MS;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof user_ms) < 0)
        LOG_WARN("SERIAL",
                 "tcp://%s: dead-peer detection not set (%s): a vanished serial "
                 "server may go unnoticed",
                 hostport, strerror(errno));
}

/* A TCP connect to a port on this very box with nobody listening can connect to itself: the
 * kernel may pick the destination port as the source port, and the two SYNs meet (a
 * "simultaneous open"). The link would then look up and read its own writes back (a bus
 * driver polling itself). Only a serial server on localhost can meet it (tests, the demo,
 * a converter's software on the box); it is nobody listening, so it is refused as such. */
static bool hq_serial__self_connected(int fd)
{
    struct sockaddr_storage a, b;
    socklen_t la = sizeof a, lb = sizeof b;
    if (getsockname(fd, (struct sockaddr *)&a, &la) < 0 ||
        getpeername(fd, (struct sockaddr *)&b, &lb) < 0 || a.ss_family != b.ss_family)
        return false;
    if (a.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)&a, *y = (const void *)&b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)&a, *y = (const void *)&b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return false;
}

static int hq_serial__tcp(const char *hostport, struct hq_serial *s)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof host || !colon[1])
        return HQ_ERR_INVALID;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = 0;
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:4001 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai) return HQ_ERR_NOT_FOUND;
    int rc = HQ_ERR_IO;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) goto fail;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    hq_serial__tcp_dead_peer(fd, hostport);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            close(fd);
            goto fail;
        }
        s->connecting = true;
    } else if (hq_serial__self_connected(fd)) {
        LOG_WARN("SERIAL", "tcp://%s: connected to itself: nobody listens there", hostport);
        close(fd);
        goto fail;
    }
    s->fd = fd;
    s->kind = HQ_SERIAL_TCP;
    snprintf(s->name, sizeof s->name, "tcp://%s", hostport);
    rc = HQ_OK;
fail:
    freeaddrinfo(ai);
    return rc;
}

int hq_serial_open(const char *spec, int baud, unsigned flags, struct hq_serial **out)
{
    *out = NULL;
    if (!spec || !*spec) return HQ_ERR_INVALID;
    struct hq_serial *s = calloc(1, sizeof *s);
    if (!s) return HQ_ERR_NOMEM;
    s->fd = -1;
    int rc;
    if (strncmp(spec, "tcp://", 6) == 0) {
        rc = hq_serial__tcp(spec + 6, s);
    } else if (strncmp(spec, "pty:", 4) == 0) {
        rc = hq_serial__termios(spec + 4, baud, s);
    } else if (strncmp(spec, "usb:", 4) == 0) {
        char name[256];
        rc = hq_serial__find_usb(spec + 4, name, sizeof name);
        if (!rc) rc = hq_serial__sp(name, baud, flags, s);
    } else {
        rc = hq_serial__sp(spec, baud, flags, s);
        if (rc) {
            /* libserialport cannot open ptys (and some USB gadgets): plain termios then. */
            int rc2 = hq_serial__termios(spec, baud, s);
            if (rc2 != HQ_ERR_INVALID) rc = rc2;
            if (!rc && (rc = hq_serial__rs485(s->fd, spec, flags))) close(s->fd);
        }
    }
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return HQ_OK;
}

void hq_serial_close(struct hq_serial *s)
{
    if (!s) return;
    if (s->port) {
        sp_close(s->port);
        sp_free_port(s->port);
    } else if (s->fd >= 0) {
        close(s->fd);
    }
    free(s);
}

int hq_serial_fd(const struct hq_serial *s)
{
    return s->fd;
}

int hq_serial_kind(const struct hq_serial *s)
{
    return s->kind;
}

const char *hq_serial_name(const struct hq_serial *s)
{
    return s->name;
}

bool hq_serial_connecting(const struct hq_serial *s)
{
    return s->connecting;
}

int hq_serial_finish_connect(struct hq_serial *s)
{
    if (!s->connecting) return HQ_OK;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err == EINPROGRESS || err == EALREADY) return HQ_ERR_TIMEOUT;
    if (err) {
        LOG_WARN("SERIAL", "%s: connect failed: %s", s->name, strerror(err));
        return HQ_ERR_IO;
    }
    if (hq_serial__self_connected(s->fd)) {
        LOG_WARN("SERIAL", "%s: connected to itself: nobody listens there", s->name);
        return HQ_ERR_IO;
    }
    s->connecting = false;
    return HQ_OK;
}

int hq_serial_read(struct hq_serial *s, void *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (s->connecting) return HQ_OK;
    ssize_t n = read(s->fd, buf, cap);
    if (n > 0) {
        *got = (size_t)n;
        return HQ_OK;
    }
    if (n == 0) {
        /* EOF: the TCP peer closed. On a tty, read 0 only happens for a hung-up line. */
        return HQ_ERR_IO;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return HQ_OK;
    /* A TCP peer that stopped answering: the user timeout ends the connection with
     * ETIMEDOUT, or with the soft error of the last probe when the peer's address became
     * unreachable meanwhile (a pulled cable, a server gone from the network). */
    if (errno == ETIMEDOUT || errno == EHOSTUNREACH || errno == ENETUNREACH || errno == EHOSTDOWN ||
        errno == ENETDOWN)
        return HQ_ERR_TIMEOUT;
    return HQ_ERR_IO; /* EIO/ENXIO: unplugged port or pty master gone; ECONNRESET */
}

int hq_serial_write(struct hq_serial *s, const void *buf, size_t n, int timeout_ms)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t k = s->connecting ? -1 : write(s->fd, p, n);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (!s->connecting && k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return HQ_ERR_IO;
        struct pollfd pf = {.fd = s->fd, .events = POLLOUT};
        int r = poll(&pf, 1, timeout_ms);
        if (r == 0) return HQ_ERR_TIMEOUT;
        if (r < 0 && errno != EINTR) return HQ_ERR_IO;
        if (pf.revents & (POLLERR | POLLHUP | POLLNVAL)) return HQ_ERR_IO;
        if (s->connecting) {
            int rc = hq_serial_finish_connect(s);
            if (rc) return rc == HQ_ERR_TIMEOUT ? rc : HQ_ERR_IO;
        }
    }
    return HQ_OK;
}

void hq_serial_flush_input(struct hq_serial *s)
{
    if (s->kind == HQ_SERIAL_TCP) {
        uint8_t junk[256];
        while (read(s->fd, junk, sizeof junk) > 0) {
        }
    } else {
        tcflush(s->fd, TCIFLUSH);
    }
}

/* ------------------------------------------------------ reconnect helper */

int hq_serial_link_init(struct hq_serial_link *l, const char *spec, int baud, unsigned flags)
{
    memset(l, 0, sizeof *l);
    if (strlen(spec) >= sizeof l->spec) return HQ_ERR_INVALID;
    snprintf(l->spec, sizeof l->spec, "%s", spec);
    l->baud = baud;
    l->flags = flags;
    l->backoff_ms = HQ_SERIAL_BACKOFF_MIN_MS;
    l->last_err = HQ_ERR_IO;
    return HQ_OK;
}

static void hq_serial__schedule(struct hq_serial_link *l, uint64_t now_ms)
{
    l->retry_at_ms = now_ms + l->backoff_ms;
    l->backoff_ms =
        l->backoff_ms * 2 > HQ_SERIAL_BACKOFF_MAX_MS ? HQ_SERIAL_BACKOFF_MAX_MS : l->backoff_ms * 2;
}

int hq_serial_link_service(struct hq_serial_link *l, uint64_t now_ms)
{
    if (l->s) return HQ_OK;
    if (now_ms < l->retry_at_ms) return l->last_err;
    int rc = hq_serial_open(l->spec, l->baud, l->flags, &l->s);
    if (rc) {
        /* Say it once, then only every tenth time: a reader left unplugged all day must not
         * fill the journal. */
        if (l->failures % 10 == 0)
            LOG_WARN("SERIAL", "%s: cannot open (%s), attempt %u", l->spec, hq_strerror(rc),
                     l->failures + 1);
        l->failures++;
        l->last_err = rc;
        hq_serial__schedule(l, now_ms);
        return rc;
    }
    if (l->failures) LOG_NOTICE("SERIAL", "%s: open again as %s", l->spec, hq_serial_name(l->s));
    l->failures = 0;
    l->backoff_ms = HQ_SERIAL_BACKOFF_MIN_MS;
    l->last_err = HQ_OK;
    return HQ_OK;
}

void hq_serial_link_lost(struct hq_serial_link *l, uint64_t now_ms)
{
    if (l->s) {
        LOG_WARN("SERIAL", "%s: link lost", l->spec);
        hq_serial_close(l->s);
        l->s = NULL;
    }
    l->last_err = HQ_ERR_IO;
    hq_serial__schedule(l, now_ms);
}

void hq_serial_link_close(struct hq_serial_link *l)
{
    hq_serial_close(l->s);
    l->s = NULL;
}

int hq_serial_link_fd(const struct hq_serial_link *l)
{
    return l->s ? l->s->fd : -1;
}
