/*
 * test_serial.c — the serial HAL on real pseudo-terminals and a loopback TCP listener: raw
 * 8-bit transfer both ways, baud set, a vanished port reported as HQ_ERR_IO, TCP connect /
 * refused / peer closed and the keepalive / user-timeout options that notice a silent one, usb:
 * identities that are not plugged in, the reopen backoff (0.5 s doubling to 30 s) bringing a
 * link back when its port reappears, and a TCP connect that met itself refused (in a private
 * network namespace whose only ephemeral port is the one connected to).
 */
#include "check.h"
#include "serial.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

static int open_pty(char *slave, size_t cap)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) return -1;
    snprintf(slave, cap, "%s", ptsname(m));
    /* the master side raw as well, so the test sees bytes unchanged */
    struct termios t;
    tcgetattr(m, &t);
    cfmakeraw(&t);
    tcsetattr(m, TCSANOW, &t);
    return m;
}

/* Read exactly n bytes from a plain fd within 2 s. */
static size_t read_fd(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 2000) <= 0) break;
        ssize_t k = read(fd, buf + got, n - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    return got;
}

/* Read exactly n bytes through the HAL within 2 s; returns the last rc. */
static int read_serial(struct hq_serial *s, uint8_t *buf, size_t n, size_t *total)
{
    *total = 0;
    while (*total < n) {
        struct pollfd pf = {.fd = hq_serial_fd(s), .events = POLLIN};
        if (poll(&pf, 1, 2000) <= 0) return HQ_ERR_TIMEOUT;
        size_t got = 0;
        int rc = hq_serial_read(s, buf + *total, n - *total, &got);
        if (rc) return rc;
        *total += got;
    }
    return HQ_OK;
}

static const uint8_t all_kinds[] = {0x03, 0x11, 0x13, 0x0D, 0x0A, 0x00, 0xFF, 0x7F, 0x1A, 0x04};

static void test_pty(const char *prefix)
{
    char slave[128], spec[160];
    int m = open_pty(slave, sizeof slave);
    CHECK(m >= 0);
    snprintf(spec, sizeof spec, "%s%s", prefix, slave);
    struct hq_serial *s = NULL;
    CHECK_EQ_INT(hq_serial_open(spec, 115200, 0, &s), HQ_OK);
    if (!s) return;
    CHECK_EQ_INT(hq_serial_kind(s), HQ_SERIAL_TERMIOS);
    CHECK(fcntl(hq_serial_fd(s), F_GETFL) & O_NONBLOCK);
    struct termios t;
    CHECK_EQ_INT(tcgetattr(hq_serial_fd(s), &t), 0);
    CHECK_EQ_INT(cfgetospeed(&t), B115200);
    CHECK_EQ_INT(t.c_cflag & CSIZE, CS8);
    CHECK_EQ_INT(t.c_cflag & (PARENB | CSTOPB | CRTSCTS), 0);
    CHECK_EQ_INT(t.c_lflag & (ICANON | ECHO | ISIG), 0);

    /* nothing there: HQ_OK and 0 bytes */
    uint8_t buf[64];
    size_t got = 99;
    CHECK_EQ_INT(hq_serial_read(s, buf, sizeof buf, &got), HQ_OK);
    CHECK_EQ_INT(got, 0);
    /* device → host, every control byte untouched */
    CHECK_EQ_INT(write(m, all_kinds, sizeof all_kinds), sizeof all_kinds);
    CHECK_EQ_INT(read_serial(s, buf, sizeof all_kinds, &got), HQ_OK);
    CHECK_EQ_INT(got, sizeof all_kinds);
    CHECK_EQ_MEM(buf, all_kinds, sizeof all_kinds);
    /* host → device */
    CHECK_EQ_INT(hq_serial_write(s, all_kinds, sizeof all_kinds, 500), HQ_OK);
    CHECK_EQ_INT(read_fd(m, buf, sizeof all_kinds), sizeof all_kinds);
    CHECK_EQ_MEM(buf, all_kinds, sizeof all_kinds);
    /* the device side vanishes: the HAL says so */
    close(m);
    int rc = read_serial(s, buf, 1, &got);
    CHECK_EQ_INT(rc, HQ_ERR_IO);
    hq_serial_close(s);
}

/* A serial server that vanishes without a word is noticed in seconds, not the kernel's 2 h. */
static void check_dead_peer_options(int fd)
{
    static const struct {
        int level, opt, want;
    } opts[] = {
        {SOL_SOCKET, SO_KEEPALIVE, 1},
        {IPPROTO_TCP, TCP_KEEPIDLE, HQ_SERIAL_TCP_KEEPIDLE_S},
        {IPPROTO_TCP, TCP_KEEPINTVL, HQ_SERIAL_TCP_KEEPINTVL_S},
        {IPPROTO_TCP, TCP_KEEPCNT, HQ_SERIAL_TCP_KEEPCNT},
        {IPPROTO_TCP, TCP_USER_TIMEOUT, HQ_SERIAL_TCP_USER_TIMEOUT_MS},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(opts); i++) {
        int v = -1;
        socklen_t len = sizeof v;
        CHECK_EQ_INT(getsockopt(fd, opts[i].level, opts[i].opt, &v, &len), 0);
        CHECK_EQ_INT(v, opts[i].want);
    }
}

static void test_tcp(void)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    CHECK_EQ_INT(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_EQ_INT(listen(ls, 1), 0);
    getsockname(ls, (struct sockaddr *)&a, &alen);
    char spec[64];
    snprintf(spec, sizeof spec, "tcp://127.0.0.1:%u", ntohs(a.sin_port));

    struct hq_serial *s = NULL;
    CHECK_EQ_INT(hq_serial_open(spec, 9600, 0, &s), HQ_OK);
    if (!s) return;
    CHECK_EQ_INT(hq_serial_kind(s), HQ_SERIAL_TCP);
    check_dead_peer_options(hq_serial_fd(s));
    struct pollfd pf = {.fd = hq_serial_fd(s), .events = POLLOUT};
    CHECK_EQ_INT(poll(&pf, 1, 2000), 1);
    CHECK_EQ_INT(hq_serial_finish_connect(s), HQ_OK);
    CHECK(!hq_serial_connecting(s));
    int peer = accept(ls, NULL, NULL);
    CHECK(peer >= 0);
    uint8_t buf[64];
    size_t got;
    CHECK_EQ_INT(write(peer, all_kinds, sizeof all_kinds), sizeof all_kinds);
    CHECK_EQ_INT(read_serial(s, buf, sizeof all_kinds, &got), HQ_OK);
    CHECK_EQ_MEM(buf, all_kinds, sizeof all_kinds);
    CHECK_EQ_INT(hq_serial_write(s, all_kinds, sizeof all_kinds, 500), HQ_OK);
    CHECK_EQ_INT(read_fd(peer, buf, sizeof all_kinds), sizeof all_kinds);
    CHECK_EQ_MEM(buf, all_kinds, sizeof all_kinds);
    close(peer); /* the serial server drops the connection */
    CHECK_EQ_INT(read_serial(s, buf, 1, &got), HQ_ERR_IO);
    hq_serial_close(s);

    /* nobody listening: the connect fails, reported when it completes */
    close(ls);
    s = NULL;
    CHECK_EQ_INT(hq_serial_open(spec, 9600, 0, &s), HQ_OK);
    if (s) {
        struct pollfd p2 = {.fd = hq_serial_fd(s), .events = POLLOUT};
        poll(&p2, 1, 2000);
        CHECK_EQ_INT(hq_serial_finish_connect(s), HQ_ERR_IO);
        hq_serial_close(s);
    }
    CHECK_EQ_INT(hq_serial_open("tcp://127.0.0.1", 9600, 0, &s), HQ_ERR_INVALID);
    CHECK(s == NULL);
}

static void test_not_found(void)
{
    struct hq_serial *s = (struct hq_serial *)1;
    CHECK_EQ_INT(hq_serial_open("usb:FFFF:FFFE", 9600, 0, &s), HQ_ERR_NOT_FOUND);
    CHECK(s == NULL);
    CHECK_EQ_INT(hq_serial_open("usb:FFFF:FFFE:NOSUCHSERIAL", 9600, 0, &s), HQ_ERR_NOT_FOUND);
    CHECK_EQ_INT(hq_serial_open("usb:zz", 9600, 0, &s), HQ_ERR_INVALID);
    CHECK_EQ_INT(hq_serial_open("/dev/ttyHQNOSUCH0", 9600, 0, &s), HQ_ERR_NOT_FOUND);
    CHECK_EQ_INT(hq_serial_open("pty:/dev/pts/hq-nosuch", 9600, 0, &s), HQ_ERR_NOT_FOUND);
    CHECK(hq_serial_open("/dev/null", 9600, 0, &s) != HQ_OK); /* not a tty */
    char slave[128], spec[160];
    int m = open_pty(slave, sizeof slave);
    snprintf(spec, sizeof spec, "pty:%s", slave);
    CHECK_EQ_INT(hq_serial_open(spec, 12345, 0, &s), HQ_ERR_INVALID); /* no such baud */
    close(m);
}

static void test_link_backoff(void)
{
    char dir[] = "/tmp/hq-serial-XXXXXX", link_path[128], spec[160];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(link_path, sizeof link_path, "%s/reader", dir);
    snprintf(spec, sizeof spec, "pty:%s", link_path);
    struct hq_serial_link l;
    CHECK_EQ_INT(hq_serial_link_init(&l, spec, 115200, 0), HQ_OK);
    hq_log_level = HQ_LOG_ERR;

    /* absent: attempts at 0, +0.5 s, +1 s, +2 s ... capped at 30 s */
    static const uint32_t delays[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000};
    uint64_t t = 1000;
    CHECK_EQ_INT(hq_serial_link_service(&l, t), HQ_ERR_NOT_FOUND);
    for (size_t i = 0; i < HQ_ARRAY_LEN(delays); i++) {
        uint32_t before = l.failures;
        hq_serial_link_service(&l, t + delays[i] - 1); /* not due yet: no attempt */
        CHECK_EQ_INT(l.failures, before);
        t += delays[i];
        hq_serial_link_service(&l, t);
        CHECK_EQ_INT(l.failures, before + 1);
    }
    CHECK_EQ_INT(hq_serial_link_fd(&l), -1);

    /* the port comes back (a simulator re-creates its link): open at the next attempt */
    char slave[128];
    int m = open_pty(slave, sizeof slave);
    CHECK_EQ_INT(symlink(slave, link_path), 0);
    CHECK(hq_serial_link_service(&l, t + 1000) != HQ_OK); /* 30 s not over yet */
    t += 30000;
    CHECK_EQ_INT(hq_serial_link_service(&l, t), HQ_OK);
    CHECK(hq_serial_link_fd(&l) >= 0);
    CHECK_EQ_INT(l.failures, 0);

    /* it vanishes again: closed, first retry after 0.5 s */
    close(m);
    uint8_t b[8];
    size_t got;
    CHECK_EQ_INT(read_serial(l.s, b, 1, &got), HQ_ERR_IO);
    hq_serial_link_lost(&l, t);
    CHECK_EQ_INT(hq_serial_link_fd(&l), -1);
    CHECK_EQ_INT(l.retry_at_ms, t + 500);
    hq_serial_link_close(&l);
    unlink(link_path);
    rmdir(dir);
}

/* Nobody listens on 127.0.0.1:P, and P is the only ephemeral port there is: a connect there
 * picks P as its source port and connects to itself (TCP's simultaneous open). The HAL must
 * refuse that link (as nobody listening) rather than report it up and read its own writes.
 * Run last: it moves this process into a private network namespace (root, as in CI). */
static void test_tcp_self_connect(void)
{
    if (unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "test_serial: no private network namespace (%s): run as root\n",
                strerror(errno));
        CHECK(!"a private network namespace");
        return;
    }
    int ctl = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    CHECK_EQ_INT(ioctl(ctl, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    CHECK_EQ_INT(ioctl(ctl, SIOCSIFFLAGS, &ifr), 0);
    close(ctl);

    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    CHECK_EQ_INT(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(ls, (struct sockaddr *)&a, &alen);
    close(ls); /* nobody listens on it now */
    unsigned port = ntohs(a.sin_port);
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "w");
    CHECK(f != NULL);
    if (!f) return;
    fprintf(f, "%u %u\n", port, port);
    CHECK_EQ_INT(fclose(f), 0);

    /* the situation is real: a plain connect there meets itself */
    struct linger rst = {.l_onoff = 1, .l_linger = 0};
    int raw = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_EQ_INT(connect(raw, (struct sockaddr *)&a, sizeof a), 0);
    struct sockaddr_in me = {0};
    alen = sizeof me;
    getsockname(raw, (struct sockaddr *)&me, &alen);
    CHECK_EQ_INT(ntohs(me.sin_port), port);
    CHECK_EQ_INT(write(raw, "x", 1), 1);
    uint8_t b[4];
    CHECK_EQ_INT(read_fd(raw, b, 1), 1); /* its own byte back */
    setsockopt(raw, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
    close(raw);

    /* the HAL refuses it, at once or when the connect completes */
    char spec[64];
    snprintf(spec, sizeof spec, "tcp://127.0.0.1:%u", port);
    struct hq_serial *s = NULL;
    int rc = hq_serial_open(spec, 9600, 0, &s);
    if (rc == HQ_OK && s) {
        struct pollfd pf = {.fd = hq_serial_fd(s), .events = POLLOUT};
        CHECK_EQ_INT(poll(&pf, 1, 2000), 1);
        rc = hq_serial_finish_connect(s);
        hq_serial_close(s);
    }
    CHECK_EQ_INT(rc, HQ_ERR_IO);
}

int main(void)
{
    test_pty("pty:");
    test_pty(""); /* a plain path libserialport refuses, and isatty: termios */
    test_tcp();
    test_not_found();
    test_link_backoff();
    test_tcp_self_connect();
    return check_report("test_serial");
}
