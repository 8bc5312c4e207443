/*
 * main.c — hallq-central, the reference central server for hallq's sync
 * (PROTOCOLS.md §5): it stores what halls send, acknowledges strictly, hands
 * out appointments, and misbehaves on request so that the hall's up-link can
 * be tested against refusals, errors, slowness, short acks and cut answers.
 *
 *   hallq-central --listen 127.0.0.1:PORT (--db FILE | --pg CONNINFO) [--token T]
 *                 [--tls-cert F --tls-key F] [--serial pty:LINK|tcp-listen:[HOST:]PORT]
 *                 [--appointments FILE.json] [--fault SPEC]... [--control FIFO]
 *                 [--serial-rate BYTES_PER_S] [--province MAPPING.json]
 *   hallq-central province-map MAPPING.json HALL_ID SEQ UUID AT DATA_JSON  (one record, printed)
 *   hallq-central dump (--db FILE | --pg CONNINFO)
 *   hallq-central import-appointments (--db FILE | --pg CONNINFO) FILE.json
 *   hallq-central hall add HALL_ID --region P[/C[/D]] [--name N] | hall rotate|revoke HALL_ID
 *                 | hall list | manager add LOGIN --region P[/C[/D]] [--name N]  (--db|--pg)
 *
 * Control lines (stdin or the FIFO), one per line, each answered on stdout
 * with "ok LINE" or "error LINE: why":
 *   refuse | status 500|503|400|401 | slow MS | ack-less N | drop-mid | noise | off
 *   appointments FILE.json
 *   stats        (answered "ok stats serial_rx N serial_tx N serial_frames N records N")
 * stdout also says "ready http HOST:PORT" and "ready serial LINK" at start.
 */
#include "central.h"

#include "hq.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t central__stop;

static void central__on_signal(int sig)
{
    (void)sig;
    central__stop = 1;
}

static struct central central__c = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct central_faults central_faults_get(struct central *c)
{
    pthread_mutex_lock(&c->lock);
    struct central_faults f = c->faults;
    pthread_mutex_unlock(&c->lock);
    return f;
}

static bool central__int(const char *s, long lo, long hi, long *v)
{
    char *end = NULL;
    if (!s || !*s) return false;
    errno = 0;
    *v = strtol(s, &end, 10);
    return !errno && !*end && *v >= lo && *v <= hi;
}

int central_fault_parse(const char *spec, struct central_faults *f, char *err, size_t errlen)
{
    char word[32] = "", arg[64] = "", extra[8] = "";
    long v = 0;
    int n = sscanf(spec, "%31s %63s %7s", word, arg, extra);
    if (n < 1 || n > 2) goto bad;
    if (!strcmp(word, "off") && n == 1) {
        memset(f, 0, sizeof *f);
    } else if (!strcmp(word, "refuse") && n == 1) {
        f->refuse = true;
    } else if (!strcmp(word, "drop-mid") && n == 1) {
        f->drop_mid = true;
    } else if (!strcmp(word, "noise") && n == 1) {
        f->noise = true;
    } else if (!strcmp(word, "status") && n == 2 && central__int(arg, 0, 599, &v) &&
               (v == 0 || v >= 400)) {
        f->status = (int)v;
    } else if (!strcmp(word, "slow") && n == 2 && central__int(arg, 0, 600000, &v)) {
        f->slow_ms = (int)v;
    } else if (!strcmp(word, "ack-less") && n == 2 && central__int(arg, 0, 1000000000, &v)) {
        f->ack_less = (int)v;
    } else {
        goto bad;
    }
    return HQ_OK;
bad:
    snprintf(err, errlen,
             "unknown fault \"%s\" (refuse, status 4xx|5xx, slow MS, ack-less N, drop-mid, noise, "
             "off)",
             spec);
    return HQ_ERR_INVALID;
}

static char *central__slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long sz = ftell(f);
        if (sz >= 0 && sz < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 &&
            (buf = malloc((size_t)sz + 1))) {
            n = fread(buf, 1, (size_t)sz, f);
            buf[n] = 0;
        }
    }
    fclose(f);
    return buf;
}

struct central__run {
    struct central *c;
    struct central_http *http;
    char host[64];
    uint16_t port;
    char *cert, *key;
    bool announced;
};

/* Start or stop the listener to match the refuse fault. */
static int central__sync_listener(struct central__run *r)
{
    bool refuse = central_faults_get(r->c).refuse;
    if (refuse && r->http) {
        central_http_stop(r->http);
        r->http = NULL;
    } else if (!refuse && !r->http) {
        int rc = central_http_start(r->c, r->host, &r->port, r->cert, r->key, &r->http);
        if (rc) return rc;
        if (!r->announced) printf("ready http %s:%u\n", r->host, r->port);
        r->announced = true;
    }
    return HQ_OK;
}

static void central__control_line(struct central__run *r, char *line)
{
    char err[300] = "";
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = 0;
    if (!n) return;
    int rc;
    if (!strncmp(line, "appointments ", 13)) {
        rc = central_appointments_load(r->c, line + 13, err, sizeof err);
    } else if (!strcmp(line, "stats")) {
        char st[200];
        central_stats(r->c, st, sizeof st);
        printf("ok %s\n", st);
        return;
    } else {
        pthread_mutex_lock(&r->c->lock);
        struct central_faults f = r->c->faults;
        rc = central_fault_parse(line, &f, err, sizeof err);
        if (!rc) r->c->faults = f;
        pthread_mutex_unlock(&r->c->lock);
        if (!rc) {
            rc = central__sync_listener(r);
            if (rc) snprintf(err, sizeof err, "cannot listen again on %s:%u", r->host, r->port);
        }
    }
    if (rc)
        printf("error %s: %s\n", line, err);
    else
        printf("ok %s\n", line);
}

/* Line assembly for a control source (stdin or the FIFO). */
struct central__lines {
    int fd;
    char buf[1024];
    size_t len;
};

static bool central__read_lines(struct central__run *r, struct central__lines *l)
{
    ssize_t n = read(l->fd, l->buf + l->len, sizeof l->buf - 1 - l->len);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    l->len += (size_t)n;
    l->buf[l->len] = 0;
    char *nl;
    while ((nl = memchr(l->buf, '\n', l->len))) {
        *nl = 0;
        central__control_line(r, l->buf);
        size_t used = (size_t)(nl - l->buf) + 1;
        memmove(l->buf, nl + 1, l->len - used);
        l->len -= used;
    }
    if (l->len == sizeof l->buf - 1) l->len = 0; /* an endless line: drop it */
    return true;
}

static int central__open_store(struct central *c, const char *db, const char *pg)
{
#ifdef HQ_HAVE_PG
    if (pg) return central_pg_open(c, pg);
#else
    if (pg) {
        fprintf(stderr, "hallq-central: --pg: this build has no PostgreSQL store "
                        "(built with HQ_CENTRAL_PG=OFF or without libpq)\n");
        return HQ_ERR_CONFIG;
    }
#endif
    return central_db_open(c, db);
}

static void central__usage(void)
{
    fprintf(stderr,
            "usage: hallq-central --listen HOST:PORT (--db FILE | --pg CONNINFO) [--token T]\n"
            "         [--tls-cert F --tls-key F] [--serial pty:LINK|tcp-listen:[HOST:]PORT]\n"
            "         [--appointments FILE.json] [--fault SPEC]... [--control FIFO]\n"
            "         [--serial-rate BYTES_PER_S] [--province MAPPING.json]\n"
            "         [--log-level error|warn|notice|info|debug|hex]\n"
            "       hallq-central dump (--db FILE | --pg CONNINFO)\n"
            "       hallq-central import-appointments (--db FILE | --pg CONNINFO) FILE.json\n"
            "       hallq-central hall add HALL_ID --region PROVINCE[/CITY[/DISTRICT]] [--name N]\n"
            "       hallq-central hall rotate|revoke HALL_ID | hall list\n"
            "       hallq-central hall config HALL_ID HALLQ.JSON  (the box's file: its figures)\n"
            "       hallq-central manager add LOGIN --region PROVINCE[/CITY[/DISTRICT]]"
            " [--name N]  (password on stdin)\n"
            "         (each with --db FILE or --pg CONNINFO)\n"
            "  --provisioned-only: refuse halls not added with `hall add`\n"
            "  faults: refuse | status 500|503|400|401 | slow MS | ack-less N | drop-mid | noise |"
            " off\n");
}

int main(int argc, char **argv)
{
    struct central *c = &central__c;
    struct central__run run = {.c = c};
    const char *listen = NULL, *db = NULL, *pg = NULL, *cert = NULL, *key = NULL, *serial = NULL;
    const char *appts = NULL, *control = NULL, *province = NULL;
    struct central_serial *ser = NULL;
    struct central__lines in = {.fd = STDIN_FILENO}, fifo = {.fd = -1};
    int rc = 1;
    bool dump = argc > 1 && !strcmp(argv[1], "dump");
    bool import = argc > 1 && !strcmp(argv[1], "import-appointments");
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"db", required_argument, NULL, 'd'},
        {"pg", required_argument, NULL, 'P'},
        {"token", required_argument, NULL, 't'},
        {"tls-cert", required_argument, NULL, 'c'},
        {"tls-key", required_argument, NULL, 'k'},
        {"serial", required_argument, NULL, 's'},
        {"appointments", required_argument, NULL, 'a'},
        {"fault", required_argument, NULL, 'f'},
        {"control", required_argument, NULL, 'C'},
        {"log-level", required_argument, NULL, 'L'},
        {"serial-rate", required_argument, NULL, 'r'},
        {"provisioned-only", no_argument, NULL, 'p'},
        {"province", required_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 8 && !strcmp(argv[1], "province-map")) {
        /* Check a mapping file against one record without a database or a platform. */
        char e[300] = "";
        struct central_province *p = NULL;
        if (central_province_load(argv[2], &p, e, sizeof e)) {
            fprintf(stderr, "hallq-central: --province %s\n", e);
            return 1;
        }
        char *s = central_province_map(p, argv[3], argv[4], argv[5], argv[6], argv[7], e, sizeof e);
        central_province_free(p);
        if (!s) {
            fprintf(stderr, "hallq-central: province-map: %s\n", e);
            return 1;
        }
        printf("%s\n", s);
        free(s);
        return 0;
    }
    if (argc > 1 && (!strcmp(argv[1], "hall") || !strcmp(argv[1], "manager"))) {
        /* hall|manager ... with --db FILE or --pg CONNINFO anywhere among the words. */
        char *words[16];
        int nw = 0;
        for (int i = 1; i < argc; i++) {
            if (i + 1 < argc && !strcmp(argv[i], "--db"))
                db = argv[++i];
            else if (i + 1 < argc && !strcmp(argv[i], "--pg"))
                pg = argv[++i];
            else if (nw < 16)
                words[nw++] = argv[i];
        }
        if (!db == !pg) {
            fprintf(stderr, "hallq-central %s: --db FILE or --pg CONNINFO\n", argv[1]);
            return 2;
        }
        if (central__open_store(c, db, pg)) return 1;
        rc = central_admin(c, nw, words, stdout);
        central_db_close(c);
        return rc ? 1 : 0;
    }
    int o;
    char err[300];
    if (dump || import) optind = 2;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'l':
            listen = optarg;
            break;
        case 'd':
            db = optarg;
            break;
        case 'P':
            pg = optarg;
            break;
        case 'p':
            c->provisioned_only = true;
            break;
        case 't':
            c->token = optarg;
            break;
        case 'c':
            cert = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 's':
            serial = optarg;
            break;
        case 'a':
            appts = optarg;
            break;
        case 'r':
            if (!central__int(optarg, 0, 100000000, &c->serial_rate)) {
                central__usage();
                return 2;
            }
            break;
        case 'V':
            province = optarg;
            break;
        case 'C':
            control = optarg;
            break;
        case 'L':
            if ((hq_log_level = hq_log_level_from_name(optarg)) < 0) {
                central__usage();
                return 2;
            }
            break;
        case 'f':
            if (central_fault_parse(optarg, &c->faults, err, sizeof err)) {
                fprintf(stderr, "hallq-central: --fault: %s\n", err);
                return 2;
            }
            break;
        default:
            central__usage();
            return o == 'h' ? 0 : 2;
        }
    }
    if (optind != argc - (import ? 1 : 0) || !db == !pg) {
        central__usage();
        return 2;
    }
#ifndef HQ_HAVE_PG
    if (pg) {
        fprintf(stderr, "hallq-central: --pg: this build has no PostgreSQL store "
                        "(built with HQ_CENTRAL_PG=OFF or without libpq)\n");
        return 2;
    }
#endif
    if (dump) {
#ifdef HQ_HAVE_PG
        if (pg) return central_pg_dump(pg, stdout) ? 1 : 0;
#endif
        return central_dump(db, stdout) ? 1 : 0;
    }
    if (import) {
        if (central__open_store(c, db, pg)) return 1;
        rc = central_appointments_load(c, argv[optind], err, sizeof err);
        if (rc) fprintf(stderr, "hallq-central: import-appointments: %s\n", err);
        central_db_close(c);
        return rc ? 1 : 0;
    }

    const char *colon = listen ? strrchr(listen, ':') : NULL;
    long port = 0;
    if (!colon || (size_t)(colon - listen) >= sizeof run.host ||
        !central__int(colon + 1, 0, 65535, &port) || (!cert) != (!key)) {
        central__usage();
        return 2;
    }
    memcpy(run.host, listen, (size_t)(colon - listen));
    run.port = (uint16_t)port;
    if (cert) {
        run.cert = central__slurp(cert);
        run.key = central__slurp(key);
        if (!run.cert || !run.key) {
            fprintf(stderr, "hallq-central: cannot read %s\n", run.cert ? key : cert);
            goto out;
        }
    }

    /* One descriptor per hall connected (and per database connection): take
     * the hard limit, not the default 1024. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    struct sigaction sa = {.sa_handler = central__on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (province && central_province_load(province, &c->province, err, sizeof err)) {
        fprintf(stderr, "hallq-central: --province %s\n", err);
        goto out;
    }
    if (central__open_store(c, db, pg)) goto out;
    if (c->province && central_province_start(c->province, c, pg)) goto out;
    if (appts && central_appointments_load(c, appts, err, sizeof err)) {
        fprintf(stderr, "hallq-central: --appointments %s\n", err);
        goto out;
    }
    if (control) {
        if (mkfifo(control, 0600) && errno != EEXIST) {
            fprintf(stderr, "hallq-central: --control %s: %s\n", control, strerror(errno));
            goto out;
        }
        /* O_RDWR: the FIFO never reports end-of-file when a writer leaves. */
        fifo.fd = open(control, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fifo.fd < 0) {
            fprintf(stderr, "hallq-central: --control %s: %s\n", control, strerror(errno));
            goto out;
        }
    }
    if (central_live_start(pg)) goto out;
    if (serial && central_serial_open(c, serial, run.host, &ser)) goto out;
    /* Bind once even when refusing from the start, so that the port is known
     * (and announced) for the moment the fault is lifted. */
    if (central_http_start(c, run.host, &run.port, run.cert, run.key, &run.http)) goto out;
    run.announced = true;
    bool refuse = central_faults_get(c).refuse;
    if (central__sync_listener(&run)) goto out;
    printf("ready http %s:%u%s\n", run.host, run.port, refuse ? " refused" : "");

    while (!central__stop) {
        struct pollfd p[4];
        int n = 0, sfds[2], ns = ser ? central_serial_fds(ser, sfds) : 0;
        if (in.fd >= 0) p[n++] = (struct pollfd){.fd = in.fd, .events = POLLIN};
        if (fifo.fd >= 0) p[n++] = (struct pollfd){.fd = fifo.fd, .events = POLLIN};
        for (int i = 0; i < ns; i++)
            p[n++] = (struct pollfd){.fd = sfds[i], .events = POLLIN};
        if (poll(p, (nfds_t)n, 250) <= 0) continue;
        for (int i = 0; i < n; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (p[i].fd == in.fd) {
                if (!central__read_lines(&run, &in)) in.fd = -1; /* stdin closed: keep running */
            } else if (p[i].fd == fifo.fd) {
                central__read_lines(&run, &fifo);
            } else if (ser) {
                central_serial_ready(ser, p[i].fd);
            }
        }
    }
    rc = 0;
out:
    central_province_stop(c->province);
    central_live_stop(); /* ends the SSE streams, so the HTTP side can stop */
    central_http_stop(run.http);
    central_serial_close(ser);
    if (fifo.fd >= 0) close(fifo.fd);
    central_db_close(c);
    free(run.cert);
    free(run.key);
    central_province_free(c->province);
    return rc;
}
