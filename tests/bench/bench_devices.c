/*
 * bench_devices.c — how long hallqd takes from a keypad's key frame to the LED bar frame it
 * causes, against the time the two frames spend on a 9600 baud wire (10 bits a byte).
 *
 *   bench_devices DIR SECONDS
 *
 * The real hallqd (../hallqd next to this program's folder) runs on a hall of 64 windows with
 * 64 keypads and 64 rating pads on one hall bus and 64 LED bars on one LED bus; both buses are
 * pseudo-terminals whose master side this program drives in-process: it writes a key frame
 * (call next, recall, no-show, in turn at every keypad so no frame repeats its keypad's last
 * one), then reads the LED bus until that window's bar frame arrives. Software time = that
 * interval: epoll wake-up, lexing, the engine, the SQLite commit (synchronous=normal, WAL), the
 * glue and the writes, plus the kernel's pty hops (microseconds; a pty has no baud rate).
 * Target: p99 software time under 5% of the wire time of the two frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hallbus.h"
#include "ledbar.h"

#define WINDOWS 64
#define PAD_BASE 100
#define TICKETS 800

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int open_pty(int *master, int *slave, char *name, size_t cap)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (m < 0 || grantpt(m) || unlockpt(m)) return -1;
    snprintf(name, cap, "%s", ptsname(m));
    int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct termios t;
    if (s < 0 || tcgetattr(s, &t) < 0) return -1;
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    *master = m;
    *slave = s; /* kept open: the master never sees a hang-up between opens */
    return 0;
}

static void drain(int fd)
{
    uint8_t b[4096];
    while (read(fd, b, sizeof b) > 0) {
    }
}

/* POST /api/v1/tickets {"service":"A"}: HTTP status, or -1. */
static int issue(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    static const char body[] = "{\"service\":\"A\"}";
    char req[256];
    int n = snprintf(req, sizeof req,
                     "POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     sizeof body - 1, body);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    char resp[2048];
    ssize_t k = read(fd, resp, sizeof resp - 1);
    close(fd);
    if (k < 12) return -1;
    resp[k] = 0;
    return atoi(resp + 9);
}

/* GET path into a malloc'd buffer (whole response), NULL on failure. */
static char *http_get(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0) close(fd);
        return NULL;
    }
    char req[256];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    size_t cap = 1 << 20, len = 0;
    char *b = malloc(cap + 1);
    if (!b || write(fd, req, (size_t)n) != n) {
        free(b);
        close(fd);
        return NULL;
    }
    ssize_t k;
    while (len < cap && (k = read(fd, b + len, cap - len)) > 0)
        len += (size_t)k;
    close(fd);
    b[len] = 0;
    return b;
}

static long json_num(const char *doc, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = doc ? strstr(doc, pat) : NULL;
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static int write_config(const char *path, const char *dir, int port, const char *bus,
                        const char *led)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f,
            "{\"hall\": {\"id\": \"bench\", \"name\": \"压测大厅\", \"log_level\": \"warn\"},\n"
            " \"http\": {\"listen\": \"127.0.0.1:%d\", \"issue_per_minute\": 0},\n"
            " \"store\": {\"database\": \"%s/bench-devices.db\", \"synchronous\": \"normal\"},\n"
            " \"privacy\": {\"id_hash_key\": \"bench-key-0123456789\"},\n"
            " \"queue\": {\"recall_limit\": 9, \"no_show_requeue\": true, \"max_requeues\": 9},\n"
            " \"services\": [{\"code\": \"A\", \"name\": \"综合\", \"range\": [1, 9999], "
            "\"digits\": 4, \"hours\": {\"all\": [\"00:00-24:00\"]}}],\n"
            " \"windows\": [",
            port, dir);
    for (int w = 1; w <= WINDOWS; w++)
        fprintf(f, "%s{\"number\": %d, \"services\": [\"A\"]}", w > 1 ? ", " : "", w);
    fprintf(f, "],\n \"staff\": [");
    for (int w = 1; w <= WINDOWS; w++)
        fprintf(f, "%s{\"id\": \"%d\", \"name\": \"员%d\"}", w > 1 ? ", " : "", 1000 + w, w);
    fprintf(f,
            "],\n \"devices\": {\"buses\": [{\"id\": \"keys\", \"type\": \"hall\", \"port\": "
            "\"pty:%s\"}, {\"id\": \"bars\", \"type\": \"led\", \"port\": \"pty:%s\"}],\n"
            "  \"led\": {\"blank_at\": \"off\"}, \"windows\": [",
            bus, led);
    for (int w = 1; w <= WINDOWS; w++)
        fprintf(f, "%s{\"window\": %d, \"keypad\": %d, \"pad\": %d, \"bar\": %d}",
                w > 1 ? ", " : "", w, w, PAD_BASE + w, w);
    fprintf(f, "]}}\n");
    return fclose(f);
}

struct ledwait {
    uint8_t addr;
    bool got;
    size_t len;
};

static void on_led(const struct ledbar_frame *fr, void *arg)
{
    struct ledwait *lw = arg;
    if (fr->addr == lw->addr && !lw->got) {
        lw->got = true;
        lw->len = (size_t)fr->n + 7;
    }
}

static void send_key(int fd, uint8_t addr, const uint8_t *data, uint8_t n, size_t *len)
{
    struct hallbus_frame f = {.addr = addr, .func = HALLBUS_FUNC_KEY, .n = n};
    memcpy(f.data, data, n);
    uint8_t b[HALLBUS_FRAME_MAX];
    *len = hallbus_encode(&f, b, sizeof b);
    if (write(fd, b, *len) != (ssize_t)*len) perror("write key");
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_devices DIR SECONDS\n");
        return 2;
    }
    const char *dir = argv[1];
    double seconds = atof(argv[2]);
    char self[PATH_MAX], hallqd[PATH_MAX + 16], cfg[PATH_MAX], logp[PATH_MAX];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(hallqd, sizeof hallqd, "%s/../hallqd", dirname(self));
    snprintf(cfg, sizeof cfg, "%s/bench-devices.json", dir);
    snprintf(logp, sizeof logp, "%s/bench-devices.log", dir);
    signal(SIGPIPE, SIG_IGN);

    int bm, bs, lm, ls;
    char bus[128], led[128];
    if (open_pty(&bm, &bs, bus, sizeof bus) || open_pty(&lm, &ls, led, sizeof led)) {
        perror("pty");
        return 1;
    }
    int port = free_port();
    if (write_config(cfg, dir, port, bus, led)) {
        perror(cfg);
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int lf = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(lf, 1);
        dup2(lf, 2);
        execl(hallqd, "hallqd", "--config", cfg, (char *)NULL);
        _exit(127);
    }
    int rc = 1;
    int64_t *sw = NULL, *wire = NULL;
    /* ready when the API answers */
    int st = -1;
    for (int i = 0; i < 100 && st != 201; i++) {
        usleep(50000);
        st = issue(port);
    }
    if (st != 201) {
        fprintf(stderr, "bench_devices: hallqd did not come up (see %s)\n", logp);
        goto out;
    }
    for (int i = 1; i < TICKETS; i++) {
        if (issue(port) != 201) {
            fprintf(stderr, "bench_devices: issuing failed\n");
            goto out;
        }
        if (i % 50 == 0) drain(bm), drain(lm);
    }
    /* every clerk logs in */
    for (int w = 1; w <= WINDOWS; w++) {
        char id[8];
        snprintf(id, sizeof id, "%d", 1000 + w);
        uint8_t d[6];
        for (int k = 0; k < 4; k++)
            d[k] = (uint8_t)(id[k] - '0');
        d[4] = 0x0F;
        size_t len;
        send_key(bm, (uint8_t)w, d, 5, &len);
        usleep(2000);
        drain(bm);
    }
    usleep(300000);
    drain(bm);
    drain(lm);

    size_t cap = 1 << 16, n = 0;
    sw = malloc(cap * sizeof *sw);
    wire = malloc(cap * sizeof *wire);
    if (!sw || !wire) goto out;
    static const uint8_t keys[3][2] = {{0x0C}, {0x0D}, {0x06, 0x0F}};
    static const uint8_t klen[3] = {1, 1, 2};
    struct ledbar_lexer lx;
    ledbar_lexer_init(&lx);
    int64_t end = now_us() + (int64_t)(seconds * 1e6);
    unsigned timeouts = 0;
    for (unsigned it = 0; now_us() < end && n < cap; it++) {
        uint8_t w = (uint8_t)(it % WINDOWS + 1);
        int kind = (int)(it / WINDOWS % 3);
        struct ledwait lw = {.addr = w};
        size_t key_len;
        int64_t t0 = now_us();
        send_key(bm, w, keys[kind], klen[kind], &key_len);
        while (!lw.got) {
            struct pollfd pf = {.fd = lm, .events = POLLIN};
            if (poll(&pf, 1, 1000) <= 0) break;
            uint8_t b[4096];
            ssize_t k = read(lm, b, sizeof b);
            if (k > 0) ledbar_lexer_feed(&lx, b, (size_t)k, on_led, &lw);
        }
        int64_t t1 = now_us();
        drain(bm);
        if (!lw.got) {
            timeouts++;
            continue;
        }
        sw[n] = t1 - t0;
        wire[n] = (int64_t)(key_len + lw.len) * 10 * 1000000 / 9600;
        n++;
    }
    if (!n) {
        fprintf(stderr, "bench_devices: no LED frame ever came (see %s)\n", logp);
        goto out;
    }
    qsort(sw, n, sizeof *sw, cmp64);
    qsort(wire, n, sizeof *wire, cmp64);
    int64_t p50 = sw[n / 2], p99 = sw[n * 99 / 100], wmin = wire[0], w50 = wire[n / 2];
    printf("key frame -> LED bar frame, %d keypads + %d pads + %d bars, %zu samples "
           "(%u without an LED frame)\n",
           WINDOWS, WINDOWS, WINDOWS, n, timeouts);
    printf("  software time  p50 %lld us  p99 %lld us  max %lld us\n", (long long)p50,
           (long long)p99, (long long)sw[n - 1]);
    printf("  wire time at 9600 baud (key + LED frame)  min %lld us  p50 %lld us\n",
           (long long)wmin, (long long)w50);
    printf("  p99 software / min wire = %.2f%%  (target < 5%%: %s)\n",
           100.0 * (double)p99 / (double)wmin, p99 * 20 < wmin ? "met" : "NOT met");
    char *stj = http_get(port, "/api/v1/status");
    printf("  inside hallqd (key lexed -> engine, commit, frames written), last 1024 keys: "
           "p50 %ld us  p99 %ld us  max %ld us\n",
           json_num(stj, "apply_us_p50"), json_num(stj, "apply_us_p99"),
           json_num(stj, "apply_us_max"));
    free(stj);
    /* Two cores shared with builds make a tail of scheduling waits: say how busy it was. */
    FILE *la = fopen("/proc/loadavg", "r");
    char load[64] = "?";
    if (la) {
        if (!fgets(load, sizeof load, la)) snprintf(load, sizeof load, "?");
        fclose(la);
    }
    printf("  load average during the run: %s", load);
    rc = 0;
out:
    free(sw);
    free(wire);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    close(bm), close(bs), close(lm), close(ls);
    return rc;
}
