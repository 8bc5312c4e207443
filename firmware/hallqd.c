/*
 * hallqd.c — the daemon's start-up: configuration, store, engine, event loop,
 * the module table, signals, reload, systemd readiness and watchdog. The one
 * command path (hqd_apply, group commit, degraded storage, listeners) is
 * hqd_command.c; nothing else links against this file (it defines only main).
 *
 *   hallqd --config FILE          run the hall
 *   hallqd --check-config FILE    validate FILE and exit (0 good, 2 bad)
 *
 * Modules start in the order of hqd_modules[] and stop in reverse (chrony's
 * init/finalise discipline); only a bad configuration or an unusable
 * database may stop start-up, with a message saying which file and why.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "api.h"
#include "daemon.h"
#include "hqd_admin.h"
#include "hqd_callback.h"
#include "hqd_appointments.h"
#include "hqd_calls.h"
#include "hqd_pages.h"
#include "hqd_rating.h"
#include "hqd_devices.h"
#include "hqd_gpio.h"
#include "hqd_desk.h"
#include "hqd_held.h"
#include "hqd_overrides.h"
#include "hqd_print.h"
#include "hqd_reports.h"
#include "hqd_retention.h"
#include "hqd_session.h"
#include "hqd_voice.h"
#include "powercut.h"
#include "sync.h"

#define HQD_VERSION "0.1.0"

struct hqd_module {
    const char *name;
    int (*init)(struct hq_daemon *d);
    void (*fini)(struct hq_daemon *d);
};

/* Start order. A module that fails to start stops start-up only when the
 * failure is the configuration's fault; devices that are absent are not. */
static const struct hqd_module hqd_modules[] = {
    {.name = "api", .init = hq_api_init, .fini = hq_api_fini},
    {.name = "held", .init = hqd_held_init, .fini = NULL},
    {.name = "desk", .init = hqd_desk_init, .fini = NULL},
    {.name = "sessions", .init = hqd_session_init, .fini = hqd_session_fini},
    {.name = "sync", .init = hq_sync_init, .fini = hq_sync_fini},
    {.name = "print", .init = hq_print_init, .fini = hq_print_fini},
    {.name = "voice", .init = hq_voice_init, .fini = hq_voice_fini},
    {.name = "devices", .init = hqd_devices_init, .fini = hqd_devices_fini},
    {.name = "gpio", .init = hqd_gpio_init, .fini = hqd_gpio_fini},
    {.name = "admin", .init = hq_admin_init, .fini = hq_admin_fini},
    {.name = "callback", .init = hqd_callback_init, .fini = hqd_callback_fini},
    {.name = "overrides", .init = hqd_overrides_init, .fini = hqd_overrides_fini},
    {.name = "appointments", .init = hq_appointments_init, .fini = hq_appointments_fini},
    {.name = "retention", .init = hqd_retention_init, .fini = hqd_retention_fini},
    {.name = "reports", .init = hqd_reports_init, .fini = hqd_reports_fini},
    {.name = "calls", .init = hqd_calls_init, .fini = hqd_calls_fini},
    {.name = "pages", .init = hqd_pages_init, .fini = hqd_pages_fini},
    {.name = "rating", .init = hqd_rating_init, .fini = hqd_rating_fini},
};

/* -------------------------------------------------------- timers, signals */

static void hqd__tick(struct hq_loop *loop, void *arg)
{
    struct hq_daemon *d = arg;
    struct hq_cmd cmd = {.type = HQ_CMD_TICK};
    hqd_apply(d, &cmd);
    hq_loop_timer(loop, 1000, hqd__tick, d);
}

static void hqd__watchdog(struct hq_loop *loop, void *arg)
{
    /* Pinging from the loop itself proves the loop turns, not just that the
     * process exists. */
    sd_notify(0, "WATCHDOG=1");
    struct hq_daemon *d = arg;
    hq_loop_timer(loop, d->watchdog_usec / 2000, hqd__watchdog, d);
}

/* One changed key of a reload, by its JSON path (never its value). */
static void hqd__reload_key(void *arg, const char *path, int how)
{
    struct hq_daemon *d = arg;
    if (how == HQ_CFG_RESTART)
        LOG_NOTICE("HALLQD", "reload: %s changed in %s: it takes effect at the next restart", path,
                   d->cfg.file);
    else
        LOG_INFO("HALLQD", "reload: %s changed: applied", path);
}

/* SIGHUP: re-read the file and apply what may change at run time, as the
 * schema table in config.c flags each key (docs/CONFIG.md, column "reload"):
 * hq_config_reload copies those keys and names every other changed key by
 * its JSON path, which waits for a restart; the modules' hooks then apply
 * their own (the up-link, the voice). The log says which and how many. */
static void hqd__reload(struct hq_daemon *d)
{
    struct hq_config *n = calloc(1, sizeof *n);
    char err[512];
    if (!n) return;
    sd_notify(0, "RELOADING=1");
    if (hq_config_load(d->cfg.file, n, err, sizeof err) != HQ_OK) {
        LOG_ERR("HALLQD", "reload refused, keeping the running configuration: %s", err);
    } else {
        /* Compared against the file's values, not the manager's changes on them (temporary
         * windows last in the table); the changes go back on right after. */
        size_t nw = d->cfg.engine.n_windows;
        hqd_overrides_unapply(d);
        for (size_t i = 0; i < nw; i++)
            if (d->cfg.engine.windows[i].temporary) {
                d->cfg.engine.n_windows = i;
                break;
            }
        int restart = hq_config_reload(&d->cfg, n, hqd__reload_key, d);
        d->cfg.engine.n_windows = nw;
        hqd_overrides_reapply(d);
        int lvl = hq_log_level_from_name(d->cfg.log_level);
        if (lvl >= 0) hq_log_level = lvl;
        d->reload_cfg = n; /* the modules' hooks may read the new file (sessions: the roster) */
        for (int i = 0; i < d->n_on_reload; i++)
            d->on_reload[i].fn(d, d->on_reload[i].arg);
        d->reload_cfg = NULL;
        if (restart)
            LOG_NOTICE("HALLQD",
                       "configuration reloaded from %s; %d changed key%s (above) take%s effect "
                       "only at the next restart",
                       d->cfg.file, restart, restart == 1 ? "" : "s", restart == 1 ? "s" : "");
        else
            LOG_NOTICE("HALLQD", "configuration reloaded from %s", d->cfg.file);
    }
    hq_config_free(n);
    free(n);
    sd_notify(0, "READY=1");
}

static void hqd__signal(struct hq_loop *loop, int fd, uint32_t events, void *arg)
{
    struct hq_daemon *d = arg;
    struct signalfd_siginfo si;
    (void)events;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            LOG_NOTICE("HALLQD", "signal %u: stopping", si.ssi_signo);
            sd_notify(0, "STOPPING=1");
            hq_loop_stop(loop);
            break;
        case SIGHUP:
            hqd__reload(d);
            break;
        default:
            break;
        }
    }
}

/* -------------------------------------------------------------------- main */

static void hqd__usage(FILE *f)
{
    fprintf(f, "usage: hallqd --config FILE [--log-level LEVEL]\n"
               "       hallqd --check-config FILE\n"
               "       hallqd --version\n");
}

/* Anti-starvation works inside a service (queue.max_overtakes); between services a window
 * takes its first service with someone waiting. A service that no window lists first is
 * therefore called only when every service listed before it is empty: legal (an overflow
 * service), but a manager should know, so it is said at start. */
static void hqd__warn_second_only(const struct hq_engine_cfg *c)
{
    for (size_t s = 0; s < c->n_services; s++) {
        size_t serving = 0, first = 0;
        for (size_t w = 0; w < c->n_windows; w++)
            for (size_t k = 0; k < c->windows[w].n_services; k++)
                if (c->windows[w].services[k] == s) {
                    serving++;
                    first += k == 0;
                }
        if (serving && !first)
            LOG_WARN("HALLQD",
                     "service %s (%s) is no window's first service: its tickets are called "
                     "only while the services listed before it have nobody waiting",
                     c->services[s].code, c->services[s].name);
        else if (!serving)
            LOG_WARN("HALLQD",
                     "service %s (%s) is served at no window: its tickets are never "
                     "called",
                     c->services[s].code, c->services[s].name);
    }
}

/* A start-up failure that waits for a person (the file system read-only,
 * the database held by another hallqd): under systemd (NOTIFY_SOCKET set),
 * the reason is shown as the unit's Status and the daemon exits only after
 * HQD_START_HOLD_S, or at once on SIGTERM/SIGINT. Restart=always then
 * retries once a minute instead of every RestartSec=2 s, which Debian 12's
 * systemd 252 cannot stretch itself (RestartSteps= came in 254), and
 * `systemctl status hallqd` keeps saying why. Outside systemd it exits at
 * once. */
#define HQD_START_HOLD_S 60

static void hqd__hold_failure(const char *why, const sigset_t *mask)
{
    if (!getenv("NOTIFY_SOCKET")) return;
    sd_notifyf(0, "STATUS=%s\nEXTEND_TIMEOUT_USEC=%llu", why,
               (unsigned long long)(HQD_START_HOLD_S + 30) * 1000000ull);
    struct timespec ts = {HQD_START_HOLD_S, 0};
    while (sigtimedwait(mask, NULL, &ts) < 0 && errno == EINTR) {
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", required_argument, NULL, 'k'},
        {"log-level", required_argument, NULL, 'l'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *check = NULL, *level = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "c:k:l:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'k':
            check = optarg;
            break;
        case 'l':
            level = optarg;
            break;
        case 'V':
            printf("hallqd %s\n", HQD_VERSION);
            return 0;
        case 'h':
            hqd__usage(stdout);
            return 0;
        default:
            hqd__usage(stderr);
            return 2;
        }
    }
    if ((!config && !check) || optind < argc) {
        hqd__usage(stderr);
        return 2;
    }

    static struct hq_daemon d;
    char err[1024];
    if (check) {
        int rc = hq_config_load(check, &d.cfg, err, sizeof err);
        if (rc) {
            fprintf(stderr, "%s\n", err);
            return 2;
        }
        printf("%s: configuration is valid (%zu services, %zu windows, %zu staff)\n", check,
               d.cfg.engine.n_services, d.cfg.engine.n_windows, d.cfg.engine.n_staff);
        hq_config_free(&d.cfg);
        return 0;
    }

    if (hq_config_load(config, &d.cfg, err, sizeof err) != HQ_OK) {
        fprintf(stderr, "hallqd: bad configuration: %s\n", err);
        return 2;
    }
    int lvl = hq_log_level_from_name(level ? level : d.cfg.log_level);
    if (lvl < 0) {
        fprintf(stderr, "hallqd: unknown log level \"%s\"\n", level);
        return 2;
    }
    hq_log_level = lvl;

    /* Block the signals before any thread exists (the store's checkpointer,
     * workers): threads inherit the mask, and only the loop's signalfd may
     * receive them. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that hangs up is an error return, not a death */

    /* The tests' power-cut simulation, before any file is opened (powercut.h): refused
     * unless asked for, in a build that has it, outside systemd. */
    if (hq_powercut_from_env(err, sizeof err) != HQ_OK) LOG_ERR("POWERCUT", "%s", err);

    int rc = hq_store_open(&d.cfg, &d.store, err, sizeof err);
    if (rc) {
        fprintf(stderr, "hallqd: %s\n", err);
        if (rc == HQ_ERR_DISK_FULL || rc == HQ_ERR_STATE) hqd__hold_failure(err, &mask);
        return 1;
    }
    /* The manager's run-time changes on the file, before the engine is built on it. */
    if ((rc = hqd_overrides_load(&d))) {
        fprintf(stderr, "hallqd: cannot read the run-time changes: %s\n", hq_strerror(rc));
        return 1;
    }
    if ((rc = hq_engine_init(&d.eng, &d.cfg.engine)) ||
        (d.eng.rw = &d.cfg.engine, rc = hq_store_load(d.store, &d.eng, err, sizeof err))) {
        fprintf(stderr, "hallqd: %s\n", rc == HQ_ERR_NOMEM ? "out of memory" : err);
        return 1;
    }
    d.loop = hq_loop_new();
    if (!d.loop) {
        fprintf(stderr, "hallqd: cannot create the event loop\n");
        return 1;
    }
    d.started_at = hq_loop_wall_s();
    d.clock_seen = hq_store_latest_time(d.store);
    if (d.clock_seen > d.started_at + HQD_CLOCK_SLACK_S) {
        char a[32], b[32];
        hq_time_rfc3339(d.started_at, d.cfg.engine.utc_offset_s, a);
        hq_time_rfc3339(d.clock_seen, d.cfg.engine.utc_offset_s, b);
        LOG_WARN("HALLQD",
                 "the clock (%s) is behind the newest record (%s): reset or not synchronised? "
                 "Ticket times are wrong until it is set",
                 a, b);
    }
    hqd_command_start(&d);

    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0 || hq_loop_add_fd(d.loop, sfd, EPOLLIN, hqd__signal, &d)) {
        fprintf(stderr, "hallqd: signalfd: %s\n", strerror(errno));
        return 1;
    }

    size_t started = 0;
    for (; started < HQ_ARRAY_LEN(hqd_modules); started++) {
        rc = hqd_modules[started].init(&d);
        if (rc) {
            fprintf(stderr, "hallqd: %s could not start: %s\n", hqd_modules[started].name,
                    hq_strerror(rc));
            goto stop;
        }
    }

    hqd_command_watch(&d);
    /* A first tick rolls the day over at once if the box was off at midnight. */
    hqd__tick(d.loop, &d);
    hqd_flush(&d);
    if (sd_watchdog_enabled(0, &d.watchdog_usec) > 0 && d.watchdog_usec >= 2000)
        hq_loop_timer(d.loop, d.watchdog_usec / 2000, hqd__watchdog, &d);
    hqd__warn_second_only(&d.cfg.engine);
    LOG_NOTICE("HALLQD", "hall %s ready: %zu services, %zu windows, %zu tickets today, http %s",
               d.cfg.engine.hall_id, d.cfg.engine.n_services, d.cfg.engine.n_windows,
               d.eng.n_tickets, d.cfg.http_listen);
    sd_notifyf(0, "READY=1\nSTATUS=serving %zu windows", d.cfg.engine.n_windows);
    rc = hq_loop_run(d.loop);

stop:
    hqd_command_stop(&d);
    while (started-- > 0)
        if (hqd_modules[started].fini) hqd_modules[started].fini(&d);
    hqd_command_free(&d);
    hq_engine_free(&d.eng);
    hq_store_close(d.store);
    hq_loop_free(d.loop);
    close(sfd);
    hq_config_free(&d.cfg);
    LOG_NOTICE("HALLQD", "stopped");
    return rc ? 1 : 0;
}
