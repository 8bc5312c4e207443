/*
 * bench_core.c — the core's speed and memory, measured in one run:
 *   (a) the bare limit: single-row SQLite commits per second on the same
 *       disk, WAL, synchronous=FULL (one fsync each);
 *   (b) engine commands per second (issue, call, start, finish) through the
 *       durable store with synchronous=FULL;
 *   (c) the same with synchronous=NORMAL;
 *   (d) p50/p99 latency of one command (from b);
 *   (e) peak RSS with 200 windows and 100,000 tickets in the day (run in a
 *       child process so its peak is its own).
 * Usage: bench_core [DIR] [SECONDS]   (DIR: where the databases go)
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char dir[512];
static double seconds = 3.0;

static void rm_db(const char *p)
{
    char b[600];
    unlink(p);
    snprintf(b, sizeof b, "%s-wal", p);
    unlink(b);
    snprintf(b, sizeof b, "%s-shm", p);
    unlink(b);
    /* the numbers side file (store.c): .<name>.numbers next to it */
    const char *slash = strrchr(p, '/');
    if (slash) {
        snprintf(b, sizeof b, "%.*s/.%s.numbers", (int)(slash - p), p, slash + 1);
        unlink(b);
    }
}

static int cmp_double(const void *a, const void *b);
static double bare_p50, bare_p99;

static double bare_commits(void)
{
    static double lat[1 << 18];
    char path[600];
    snprintf(path, sizeof path, "%s/bare.db", dir);
    rm_db(path);
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t(x)", 0, 0,
                 0);
    sqlite3_stmt *s;
    sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?)", -1, &s, NULL);
    double t0 = now_s(), t;
    long n = 0;
    do {
        double a = now_s();
        sqlite3_exec(db, "BEGIN", 0, 0, 0);
        sqlite3_bind_int64(s, 1, n);
        sqlite3_step(s);
        sqlite3_reset(s);
        sqlite3_exec(db, "COMMIT", 0, 0, 0);
        if ((size_t)n < sizeof lat / sizeof lat[0]) lat[n] = now_s() - a;
        n++;
    } while ((t = now_s()) - t0 < seconds);
    size_t m = (size_t)n < sizeof lat / sizeof lat[0] ? (size_t)n : sizeof lat / sizeof lat[0];
    qsort(lat, m, sizeof lat[0], cmp_double);
    bare_p50 = lat[m / 2] * 1e6;
    bare_p99 = lat[m * 99 / 100] * 1e6;
    sqlite3_finalize(s);
    sqlite3_close(db);
    rm_db(path);
    return n / (t - t0);
}

static char *make_config(int windows, int services, const char *sync)
{
    size_t cap = 1 << 20, len = 0;
    char *b = malloc(cap);
#define P(...) len += (size_t)snprintf(b + len, cap - len, __VA_ARGS__)
    P("{\"hall\": {\"id\": \"bench\", \"name\": \"基准测试大厅\", \"name_en\": \"Bench\"},"
      "\"http\": {\"tokens\": [{\"token\": \"bench-token-00000001\", \"role\": \"clerk\"}]},"
      "\"store\": {\"database\": \"bench.db\", \"synchronous\": \"%s\"},"
      "\"privacy\": {\"id_hash_key\": \"bench-key-0123456789\"}, \"services\": [",
      sync);
    for (int i = 0; i < services; i++)
        P("%s{\"code\": \"S%d\", \"name\": \"业务%d\", \"name_en\": \"Service %d\", \"prefix\": "
          "\"%c%c\", \"range\": [1, 9999], \"digits\": 4, \"hours\": {\"all\": [\"00:00-24:00\"]}}",
          i ? "," : "", i, i, i, 'A' + i % 26, 'A' + i / 26);
    P("], \"windows\": [");
    for (int i = 0; i < windows; i++)
        P("%s{\"number\": %d, \"services\": [\"S%d\", \"S%d\"]}", i ? "," : "", i + 1, i % services,
          (i + 1) % services);
    P("], \"staff\": [");
    for (int i = 0; i < windows; i++)
        P("%s{\"id\": \"%d\", \"name\": \"工作人员\"}", i ? "," : "", 1000 + i);
    P("]}");
#undef P
    return b;
}

struct rig {
    struct hq_config cfg;
    struct hq_store *st;
    struct hq_engine e;
    struct hq_result res;
    uint32_t uuid;
};

static int rig_open(struct rig *r, int windows, int services, const char *sync)
{
    char err[512];
    char *json = make_config(windows, services, sync);
    memset(r, 0, sizeof *r);
    if (hq_config_parse("bench.json", dir, json, &r->cfg, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        free(json);
        return 1;
    }
    free(json);
    rm_db(r->cfg.database);
    if (hq_store_open(&r->cfg, &r->st, err, sizeof err) || hq_engine_init(&r->e, &r->cfg.engine) ||
        hq_store_load(r->st, &r->e, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    return 0;
}

static void rig_close(struct rig *r)
{
    hq_result_free(&r->res);
    hq_engine_free(&r->e);
    hq_store_close(r->st);
    rm_db(r->cfg.database);
    hq_config_free(&r->cfg);
}

static int rig_cmd(struct rig *r, struct hq_cmd *c)
{
    if (c->type == HQ_CMD_ISSUE) {
        r->uuid++;
        memset(c->u.issue.uuid, 0, 16);
        memcpy(c->u.issue.uuid, &r->uuid, sizeof r->uuid);
    }
    int rc = hq_engine_apply(&r->e, c, &r->res);
    if (rc) return rc;
    return hq_store_commit(r->st, &r->e, c, &r->res);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* issue, call, start, finish in a cycle over the windows; returns cmds/s.
 * group 1: one command, one commit. group k: k commands arrive together and
 * share one commit, as hallqd does with the commands of one loop turn
 * (hq_store_batch_add / hq_store_batch_commit); a command's latency is then
 * from the group's start to its commit. */
static double engine_rate(const char *sync, int group, double *p50, double *p99)
{
    struct rig r;
    if (rig_open(&r, 8, 4, sync)) exit(1);
    int64_t t = 1795399200; /* a working day, 10:00 in the hall */
    for (int w = 1; w <= 8; w++) {
        struct hq_cmd c = {.type = HQ_CMD_LOGIN, .now = t, .window = (uint16_t)w};
        snprintf(c.u.login.staff_id, sizeof c.u.login.staff_id, "%d", 999 + w);
        rig_cmd(&r, &c);
    }
    size_t cap = 1 << 20, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    double t0 = now_s(), t1;
    int w = 1;
    static const uint8_t cycle[] = {HQ_CMD_ISSUE, HQ_CMD_CALL_NEXT, HQ_CMD_START, HQ_CMD_FINISH};
    size_t k = 0;
    do {
        double a = now_s();
        for (int g = 0; g < group; g++) {
            /* a second per group, or per ticket's cycle one at a time: a long
             * run must not cross midnight (a rollover empties the queue) */
            if (g == 0 && (group > 1 || k == 0)) t++;
            struct hq_cmd c = {.type = cycle[k], .now = t, .window = (uint16_t)w};
            c.u.issue.service = (uint8_t)((w - 1) % 4);
            if (cycle[k] != HQ_CMD_ISSUE)
                c = (struct hq_cmd){.type = cycle[k], .now = t, .window = (uint16_t)w};
            int rc;
            if (group == 1) {
                rc = rig_cmd(&r, &c);
            } else {
                if (c.type == HQ_CMD_ISSUE) {
                    r.uuid++;
                    memset(c.u.issue.uuid, 0, 16);
                    memcpy(c.u.issue.uuid, &r.uuid, sizeof r.uuid);
                }
                rc = hq_engine_apply(&r.e, &c, &r.res);
                if (!rc) rc = hq_store_batch_add(r.st, &r.e, &c, &r.res);
            }
            if (rc) {
                fprintf(stderr, "bench: %s failed: %s\n", hq_cmd_name(c.type), hq_strerror(rc));
                exit(1);
            }
            /* one at a time: each window issues, calls, starts, finishes in
             * turn; grouped: the 8 windows do the same step together */
            if (group == 1) {
                if (++k == sizeof cycle) k = 0, w = w % 8 + 1;
            } else {
                w = w % 8 + 1;
                if (w == 1) k = (k + 1) % sizeof cycle;
            }
        }
        if (group > 1 && hq_store_batch_commit(r.st, &r.e)) {
            fprintf(stderr, "bench: group commit failed\n");
            exit(1);
        }
        double b = now_s();
        for (int g = 0; g < group; g++, n++)
            if (n < cap) lat[n] = b - a;
    } while ((t1 = now_s()) - t0 < seconds);
    size_t m = n < cap ? n : cap;
    qsort(lat, m, sizeof *lat, cmp_double);
    *p50 = lat[m / 2] * 1e6;
    *p99 = lat[m * 99 / 100] * 1e6;
    free(lat);
    rig_close(&r);
    return n / (t1 - t0);
}

static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &v) == 1) break;
    if (f) fclose(f);
    return v;
}

/* (e): a child process holds a day of 100,000 tickets over 200 windows. */
static void rss_child(int fd)
{
    struct rig r;
    if (rig_open(&r, 200, 20, "normal")) _exit(1);
    int64_t t = 1795399200;
    for (int w = 1; w <= 200; w++) {
        struct hq_cmd c = {.type = HQ_CMD_LOGIN, .now = t, .window = (uint16_t)w};
        snprintf(c.u.login.staff_id, sizeof c.u.login.staff_id, "%d", 999 + w);
        rig_cmd(&r, &c);
    }
    /* arrivals outpace calls 4:3 so a queue builds up during the day */
    int w = 1;
    for (int i = 0; i < 100000; i++) {
        struct hq_cmd c = {.type = HQ_CMD_ISSUE, .now = t + i / 4};
        c.u.issue.service = (uint8_t)(i % 20);
        if (rig_cmd(&r, &c)) _exit(2);
        if (i % 4 != 3) {
            struct hq_cmd k = {.type = HQ_CMD_CALL_NEXT, .now = t + i / 4, .window = (uint16_t)w};
            rig_cmd(&r, &k); /* an implicit finish of the window's previous ticket */
            w = w % 200 + 1;
        }
    }
    long rss = peak_rss_kib();
    long tickets = (long)r.e.n_tickets;
    size_t waiting = 0;
    for (size_t s = 0; s < 20; s++)
        waiting += hq_engine_waiting(&r.e, s);
    dprintf(fd, "%ld %ld %zu\n", rss, tickets, waiting);
    rig_close(&r);
    _exit(0);
}

int main(int argc, char **argv)
{
    snprintf(dir, sizeof dir, "%s", argc > 1 ? argv[1] : ".");
    if (argc > 2) seconds = atof(argv[2]);
    hq_log_level = HQ_LOG_ERR;

    /* (e) first, in a child forked before anything else was allocated, so
     * its peak is the daemon's own and not an inheritance. */
    int pfd[2];
    if (pipe(pfd)) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        rss_child(pfd[1]);
    }
    close(pfd[1]);
    char buf[128] = "";
    ssize_t got = read(pfd[0], buf, sizeof buf - 1);
    int status;
    waitpid(pid, &status, 0);
    long rss = -1, tickets = 0;
    size_t waiting = 0;
    if (got > 0) sscanf(buf, "%ld %ld %zu", &rss, &tickets, &waiting);

    double a = bare_commits();
    double p50f, p99f, p50n, p99n, p50g, p99g;
    double b = engine_rate("full", 1, &p50f, &p99f);
    double bg = engine_rate("full", 8, &p50g, &p99g);
    double c = engine_rate("normal", 1, &p50n, &p99n);

    printf("machine: %ld cores; databases in %s; %.1f s per measurement\n",
           sysconf(_SC_NPROCESSORS_ONLN), dir, seconds);
    printf("(a) bare SQLite commits, WAL, synchronous=FULL: %10.0f /s\n", a);
    printf("(b) engine commands, FULL, one per commit:      %10.0f /s  (%.0f%% of (a))\n", b,
           100.0 * b / a);
    printf("(b) engine commands, FULL, 8 arriving together: %10.0f /s  (%.0f%% of (a))\n", bg,
           100.0 * bg / a);
    printf("(c) engine commands, synchronous=NORMAL:        %10.0f /s\n", c);
    printf("    one bare commit (the fsync floor): p50 %7.0f us  p99 %7.0f us\n", bare_p50,
           bare_p99);
    printf("(d) one command, FULL:   p50 %7.0f us  p99 %7.0f us\n", p50f, p99f);
    printf("    in a group of 8:     p50 %7.0f us  p99 %7.0f us\n", p50g, p99g);
    printf("    one command, NORMAL: p50 %7.0f us  p99 %7.0f us\n", p50n, p99n);
    printf("(e) peak RSS, 200 windows, %ld tickets in the day (%zu waiting): %.1f MiB\n", tickets,
           waiting, rss / 1024.0);
    printf("targets: (b) >= 75%% of (a): one per commit %s, grouped %s; p99 < 2 ms: %s; "
           "RSS < 16 MiB: %s\n",
           b >= 0.75 * a ? "met" : "NOT met", bg >= 0.75 * a ? "met" : "NOT met",
           p99f < 2000 && p99g < 2000 ? "met" : "NOT met",
           rss > 0 && rss < 16 * 1024 ? "met" : "NOT met");
    return 0;
}
