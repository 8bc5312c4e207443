/*
 * sim_common.c — the simulators' shared loop: a pty whose slave is reached through a symlink
 * (so a test or hallqd opens a stable path, and a "replugged" device gets a new pts behind the
 * same name), or a TCP listener; control lines from stdin, a FIFO and a script; records to
 * stdout and a log; the fault modes every device's answers go through. One thread, one poll
 * loop.
 */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t sim_stop;

static void sim__on_signal(int sig)
{
    (void)sig;
    sim_stop = 1;
}

uint64_t sim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sim_init(struct sim *s, const struct sim_device *dev, void *priv)
{
    memset(s, 0, sizeof *s);
    s->dev = dev;
    s->priv = priv;
    s->master_fd = s->slave_fd = s->listen_fd = s->conn_fd = s->ctl_fd = -1;
    s->stdin_open = true;
}

int sim_common_option(struct sim *s, int opt, const char *arg)
{
    switch (opt) {
    case SIM_OPT_PTY:
        s->pty_link = arg;
        return 1;
    case SIM_OPT_TCP: {
        char *end;
        long p = strtol(arg, &end, 10);
        if (*end || p <= 0 || p > 65535) return -1;
        s->tcp_port = (int)p;
        return 1;
    }
    case SIM_OPT_CONTROL:
        s->control_path = arg;
        return 1;
    case SIM_OPT_SCRIPT:
        s->script_path = arg;
        return 1;
    case SIM_OPT_LOG:
        s->log_path = arg;
        return 1;
    default:
        return 0;
    }
}

void sim_record(struct sim *s, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("%s\n", line);
    fflush(stdout);
    if (s->log) {
        fprintf(s->log, "%s\n", line);
        fflush(s->log);
    }
}

void sim_hex(const uint8_t *b, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && o + 4 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, i ? " %02X" : "%02X", b[i]);
}

int sim_parse_hex_byte(const char *w)
{
    char *end;
    long v = strtol(w, &end, 16);
    if (!*w || *end || v < 0 || v > 255) return -1;
    return (int)v;
}

int sim_parse_addrs(const char *list, bool addrs[256])
{
    const char *p = list;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 0);
        if (end == p || a < 0 || a > 255) return -1;
        addrs[a] = true;
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ link */

int sim_pty_make(const char *link, int *master, int *slave)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (m < 0 || grantpt(m) || unlockpt(m)) {
        fprintf(stderr, "hallq-sim: cannot create a pseudo-terminal: %s\n", strerror(errno));
        if (m >= 0) close(m);
        return -1;
    }
    const char *name = ptsname(m);
    /* Keep the slave open ourselves: the master then never reads EIO between two host
     * sessions, and the slave is raw before any host opens it (no echo of our replies). */
    int sl = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct termios t;
    if (sl < 0 || tcgetattr(sl, &t) < 0) {
        fprintf(stderr, "hallq-sim: cannot open %s: %s\n", name, strerror(errno));
        close(m);
        if (sl >= 0) close(sl);
        return -1;
    }
    cfmakeraw(&t);
    tcsetattr(sl, TCSANOW, &t);
    unlink(link);
    if (symlink(name, link) < 0) {
        fprintf(stderr, "hallq-sim: cannot link %s -> %s: %s\n", link, name, strerror(errno));
        close(m);
        close(sl);
        return -1;
    }
    *master = m;
    *slave = sl;
    return 0;
}

static int sim__pty_open(struct sim *s)
{
    return sim_pty_make(s->pty_link, &s->master_fd, &s->slave_fd);
}

static int sim__tcp_listen(struct sim *s)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, zero = 0;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6,
                             .sin6_port = htons((uint16_t)s->tcp_port),
                             .sin6_addr = in6addr_any};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1) < 0) {
        fprintf(stderr, "hallq-sim: cannot listen on TCP %d: %s\n", s->tcp_port, strerror(errno));
        close(fd);
        return -1;
    }
    s->listen_fd = fd;
    return 0;
}

int sim_link_on(struct sim *s)
{
    s->link_off = false;
    if (s->pty_link && s->master_fd < 0) return sim__pty_open(s);
    if (s->tcp_port && s->listen_fd < 0) return sim__tcp_listen(s);
    return 0;
}

void sim_link_off(struct sim *s)
{
    s->link_off = true;
    if (s->master_fd >= 0) close(s->master_fd);
    if (s->slave_fd >= 0) close(s->slave_fd);
    if (s->conn_fd >= 0) close(s->conn_fd);
    if (s->listen_fd >= 0) close(s->listen_fd);
    s->master_fd = s->slave_fd = s->conn_fd = s->listen_fd = -1;
    if (s->pty_link) unlink(s->pty_link);
}

static int sim__dev_fd(const struct sim *s)
{
    return s->pty_link ? s->master_fd : s->conn_fd;
}

void sim_send(struct sim *s, const uint8_t *b, size_t n)
{
    int fd = sim__dev_fd(s);
    if (fd < 0) return;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k > 0) {
            b += k;
            n -= (size_t)k;
        } else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            if (poll(&pf, 1, 200) <= 0) return; /* nobody drains the line: drop the rest */
        } else {
            return;
        }
    }
}

/* ---------------------------------------------------------------- faults */

static const char *const sim__fault_names[] = {"none",     "garbage", "badsum",
                                               "truncate", "silence", "off"};

void sim_reply(struct sim *s, uint8_t *frame, size_t len, size_t sum_at, size_t keep)
{
    switch (s->fault) {
    case SIM_FAULT_SILENCE:
    case SIM_FAULT_OFF:
        return;
    case SIM_FAULT_GARBAGE:
        sim_send(s, s->dev->garbage, s->dev->n_garbage);
        break;
    case SIM_FAULT_BADSUM:
        if (sum_at < len) frame[sum_at] ^= 0xFF;
        break;
    case SIM_FAULT_TRUNCATE:
        if (keep < len) len = keep;
        break;
    default:
        break;
    }
    sim_send(s, frame, len);
}

const char *sim_fault_note(const struct sim *s)
{
    return s->fault == SIM_FAULT_SILENCE ? " (silent)" : "";
}

/* `fault MODE`; off unplugs the device, any other mode after off plugs it back. */
static int sim__fault(struct sim *s, const char *mode)
{
    for (int i = 0; i < (int)(sizeof sim__fault_names / sizeof sim__fault_names[0]); i++) {
        if (strcmp(mode, sim__fault_names[i]) != 0) continue;
        if (i == SIM_FAULT_OFF)
            sim_link_off(s);
        else if (s->fault == SIM_FAULT_OFF)
            sim_link_on(s);
        s->fault = i;
        if (s->dev->on_fault) s->dev->on_fault(s);
        sim_record(s, "fault %s", mode);
        return 0;
    }
    return -1;
}

/* --------------------------------------------------------------- control */

static void sim__command(struct sim *s, char *line)
{
    char *argv[64];
    int argc = 0;
    char *save = NULL;
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    for (char *w = strtok_r(line, " \t\r\n", &save); w && argc < 63;
         w = strtok_r(NULL, " \t\r\n", &save))
        argv[argc++] = w;
    argv[argc] = NULL;
    if (!argc) return;
    if (strcmp(argv[0], "quit") == 0) {
        s->quit = true;
        return;
    }
    if (strcmp(argv[0], "sleep") == 0 && argc == 2) {
        s->script_wait_ms = sim_now_ms() + strtoull(argv[1], NULL, 10);
        return;
    }
    if (strcmp(argv[0], "link") == 0 && argc == 2) {
        if (strcmp(argv[1], "off") == 0) {
            sim_link_off(s);
            sim_record(s, "link off");
        } else {
            sim_link_on(s);
            sim_record(s, "link on");
        }
        return;
    }
    if (strcmp(argv[0], "fault") == 0) {
        if (argc != 2 || sim__fault(s, argv[1])) sim_record(s, "error bad arguments to 'fault'");
        return;
    }
    int rc = s->dev->on_command ? s->dev->on_command(s, argc, argv) : -1;
    if (rc == -1) sim_record(s, "error unknown command '%s'", argv[0]);
    if (rc == -2) sim_record(s, "error bad arguments to '%s'", argv[0]);
}

/* Read what is there on fd into buf and run every complete line. Returns false at EOF. */
static bool sim__lines(struct sim *s, int fd, char *buf, size_t *len, size_t cap)
{
    ssize_t n = read(fd, buf + *len, cap - 1 - *len);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    *len += (size_t)n;
    char *nl;
    while ((nl = memchr(buf, '\n', *len))) {
        *nl = 0;
        sim__command(s, buf);
        size_t used = (size_t)(nl - buf) + 1;
        memmove(buf, buf + used, *len - used);
        *len -= used;
    }
    if (*len == cap - 1) *len = 0; /* an endless line: drop it */
    return true;
}

static int sim__load_script(struct sim *s)
{
    FILE *f = fopen(s->script_path, "r");
    if (!f) {
        fprintf(stderr, "hallq-sim: cannot read script %s: %s\n", s->script_path, strerror(errno));
        return -1;
    }
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char **n = realloc(s->script, (s->n_script + 1) * sizeof *n);
        if (!n) break;
        s->script = n;
        s->script[s->n_script++] = strdup(line);
    }
    fclose(f);
    return 0;
}

static void sim__run_script(struct sim *s, uint64_t now)
{
    while (s->script_pos < s->n_script && now >= s->script_wait_ms && !s->quit) {
        sim__command(s, s->script[s->script_pos++]);
        now = sim_now_ms();
    }
}

/* ------------------------------------------------------------------ loop */

int sim_run(struct sim *s)
{
    int rc = 1;
    if (!s->pty_link == !s->tcp_port) {
        fprintf(stderr, "hallq-sim %s: give exactly one of --pty LINK or --tcp PORT\n",
                s->dev->name);
        return 2;
    }
    struct sigaction sa = {.sa_handler = sim__on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (s->log_path && !(s->log = fopen(s->log_path, "a"))) {
        fprintf(stderr, "hallq-sim: cannot write log %s: %s\n", s->log_path, strerror(errno));
        return 1;
    }
    if (s->control_path) {
        if (mkfifo(s->control_path, 0600) < 0 && errno != EEXIST) {
            fprintf(stderr, "hallq-sim: cannot create FIFO %s: %s\n", s->control_path,
                    strerror(errno));
            goto done;
        }
        /* O_RDWR: the FIFO never reports EOF when a writer goes away. */
        s->ctl_fd = open(s->control_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (s->ctl_fd < 0) goto done;
    }
    if (s->script_path && sim__load_script(s) < 0) goto done;
    if (sim_link_on(s) < 0) goto done;
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    sim_record(s, "ready %s %s", s->dev->name, s->pty_link ? s->pty_link : "tcp");

    uint8_t buf[4096];
    while (!s->quit && !sim_stop) {
        struct pollfd pf[4];
        int n = 0, i_dev = -1, i_listen = -1, i_in = -1, i_ctl = -1;
        int dfd = sim__dev_fd(s);
        if (dfd >= 0) pf[i_dev = n++] = (struct pollfd){.fd = dfd, .events = POLLIN};
        if (s->listen_fd >= 0 && s->conn_fd < 0)
            pf[i_listen = n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        if (s->stdin_open) pf[i_in = n++] = (struct pollfd){.fd = 0, .events = POLLIN};
        if (s->ctl_fd >= 0) pf[i_ctl = n++] = (struct pollfd){.fd = s->ctl_fd, .events = POLLIN};
        if (poll(pf, (nfds_t)n, 20) < 0 && errno != EINTR) break;
        if (i_dev >= 0 && pf[i_dev].revents) {
            ssize_t k = read(dfd, buf, sizeof buf);
            if (k > 0) {
                s->dev->on_bytes(s, buf, (size_t)k);
            } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
                if (s->conn_fd >= 0) { /* the host went away: wait for the next one */
                    close(s->conn_fd);
                    s->conn_fd = -1;
                    sim_record(s, "disconnected");
                }
            }
        }
        if (i_listen >= 0 && (pf[i_listen].revents & POLLIN)) {
            s->conn_fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (s->conn_fd >= 0) sim_record(s, "connected");
        }
        if (i_in >= 0 && pf[i_in].revents)
            s->stdin_open = sim__lines(s, 0, s->in_buf, &s->in_len, sizeof s->in_buf);
        if (i_ctl >= 0 && pf[i_ctl].revents)
            sim__lines(s, s->ctl_fd, s->ctl_buf, &s->ctl_len, sizeof s->ctl_buf);
        uint64_t now = sim_now_ms();
        sim__run_script(s, now);
        if (s->dev->on_tick) s->dev->on_tick(s, now);
    }
    rc = 0;
done:
    sim_link_off(s);
    if (s->ctl_fd >= 0) close(s->ctl_fd);
    for (size_t i = 0; i < s->n_script; i++)
        free(s->script[i]);
    free(s->script);
    if (s->log) fclose(s->log);
    return rc;
}
