/*
 * hallqd.c — the daemon: configuration, store, engine, event loop, signals,
 * systemd readiness and watchdog, and the one command path (hqd_apply).
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
#include <sys/random.h>
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

/* ---------------------------------------------------------- command path */

void hqd_random(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            /* getrandom cannot fail on Linux >= 3.17 once seeded; never
             * leave the bytes unset all the same */
            for (size_t i = 0; i < len; i++)
                p[i] = (uint8_t)(rand() >> 7);
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

static void hqd__new_uuid(uint8_t u[16])
{
    hqd_random(u, 16);
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

static bool hqd__changed(const struct hq_daemon *d, const struct hq_result *r)
{
    if (r->n_rec || r->n_dirty_tickets || r->rollover) return true;
    for (size_t i = 0; i < sizeof r->dirty_windows; i++)
        if (r->dirty_windows[i]) return true;
    for (size_t i = 0; i < sizeof r->dirty_services; i++)
        if (r->dirty_services[i]) return true;
    (void)d;
    return false;
}

static int hqd__reload_engine(struct hq_daemon *d)
{
    char err[512];
    hq_engine_free(&d->eng);
    int rc = hq_engine_init(&d->eng, &d->cfg.engine);
    d->eng.rw = &d->cfg.engine; /* the manager's run-time changes (hqd_overrides.c) */
    if (!rc) rc = hq_store_load(d->store, &d->eng, err, sizeof err);
    if (rc) {
        LOG_ERR("HALLQD", "cannot rebuild the queue from the database: %s", err);
        /* Serving from a state the database does not hold would issue
         * numbers twice after the next restart: stop and let systemd start
         * us again from the durable state. */
        sd_notify(0, "STOPPING=1\nSTATUS=queue state lost, restarting");
        exit(1);
    }
    return rc;
}

/* Group commit. The commands that arrive in one turn of the loop (one
 * MHD_run, one read from a bus) are written into one open transaction and
 * committed together when the turn ends: one fsync for the group instead of
 * one per command. Nothing of a command is released before the commit: its
 * listeners run from a copy of its result after it, and the HTTP API holds
 * the replies of a turn until then (hqd_batch_pending). */
struct hqd_staged {
    struct hq_cmd cmd;
    struct hq_result res; /* a copy: d->res is reused by the next command */
};

static int hqd__stage(struct hq_daemon *d, const struct hq_cmd *cmd, const struct hq_result *r)
{
    if (d->n_staged == d->cap_staged) {
        size_t cap = d->cap_staged ? d->cap_staged * 2 : 16;
        struct hqd_staged *n = realloc(d->staged, cap * sizeof *n);
        if (!n) return HQ_ERR_NOMEM;
        d->staged = n;
        d->cap_staged = cap;
    }
    struct hqd_staged *s = &d->staged[d->n_staged];
    s->cmd = *cmd;
    s->res = *r;
    s->res.fx = r->n_fx ? malloc(r->n_fx * sizeof *r->fx) : NULL;
    s->res.rec = r->n_rec ? malloc(r->n_rec * sizeof *r->rec) : NULL;
    s->res.dirty_tickets = r->n_dirty_tickets ? malloc(r->n_dirty_tickets * sizeof(int32_t)) : NULL;
    if ((r->n_fx && !s->res.fx) || (r->n_rec && !s->res.rec) ||
        (r->n_dirty_tickets && !s->res.dirty_tickets)) {
        hq_result_free(&s->res);
        return HQ_ERR_NOMEM;
    }
    if (r->n_fx) memcpy(s->res.fx, r->fx, r->n_fx * sizeof *r->fx);
    if (r->n_rec) memcpy(s->res.rec, r->rec, r->n_rec * sizeof *r->rec);
    if (r->n_dirty_tickets)
        memcpy(s->res.dirty_tickets, r->dirty_tickets, r->n_dirty_tickets * sizeof(int32_t));
    s->res.cap_fx = s->res.n_fx;
    s->res.cap_rec = s->res.n_rec;
    s->res.cap_dirty_tickets = s->res.n_dirty_tickets;
    d->n_staged++;
    return HQ_OK;
}

static void hqd__drop_staged(struct hq_daemon *d)
{
    for (size_t i = 0; i < d->n_staged; i++)
        hq_result_free(&d->staged[i].res);
    d->n_staged = 0;
}

static void hqd__storage_degrade(struct hq_daemon *d);

/* The group could not be written: none of its commands happened. The engine
 * goes back to what the database holds; held replies become refusals. When
 * the database cannot be written at all (full, read-only), the commands from
 * now on go on from memory (degraded storage, below); this group stays
 * refused: its replies were held, nothing of it was acknowledged. */
static void hqd__batch_failed(struct hq_daemon *d, int rc, size_t in_hand)
{
    /* commit_failures counts the commands refused for it: the group's and
     * the one being applied when its write failed (not staged, not in
     * d->refused either). */
    size_t n = d->n_staged + in_hand;
    d->commit_failures += n ? n : 1;
    d->storage_failed = true;
    LOG_ERR("HALLQD", "%zu command(s) not saved (%s): the queue goes back to the database", n,
            hq_strerror(rc));
    hqd__drop_staged(d);
    hqd__reload_engine(d);
    if (rc == HQ_ERR_DISK_FULL) hqd__storage_degrade(d);
    if (d->on_flush) d->on_flush(d, rc, d->on_flush_arg);
}

int hqd_batch_pending(const struct hq_daemon *d)
{
    return d->store && hq_store_batch_open(d->store);
}

void hqd_flush(struct hq_daemon *d)
{
    /* Listeners may run commands of their own: they form the next group. */
    for (int guard = 0; guard < 8 && hqd_batch_pending(d); guard++) {
        int rc = hq_store_batch_commit(d->store, &d->eng);
        if (rc) {
            hqd__batch_failed(d, rc, 0);
            return;
        }
        d->storage_failed = false;
        d->batches++;
        /* The held replies of this group are released first: a listener's
         * own command that failed must not turn them into refusals. */
        if (d->on_flush) d->on_flush(d, HQ_OK, d->on_flush_arg);
        size_t n = d->n_staged;
        d->committed += n;
        struct hqd_staged *st = d->staged;
        /* Take the group out first: a listener's own command stages anew. */
        d->staged = NULL;
        d->n_staged = d->cap_staged = 0;
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < d->n_on_result; k++)
                d->on_result[k].fn(d, &st[i].cmd, &st[i].res, d->on_result[k].arg);
        for (size_t i = 0; i < n; i++)
            hq_result_free(&st[i].res);
        if (!d->staged) {
            d->staged = st;
            d->cap_staged = n > 16 ? n : 16;
        } else {
            free(st);
        }
    }
}

static void hqd__store_flush(void *arg)
{
    hqd_flush(arg);
}

/* ------------------------------------------------------ degraded storage */

#define HQD_STORAGE_RETRY_MS 3000

static void hqd__storage_retry(struct hq_loop *loop, void *arg);

bool hqd_storage_alarm(const struct hq_daemon *d, char *zh, size_t zl, char *en, size_t el)
{
    if (!d->storage_degraded) return false;
    const char *why = d->store ? hq_store_why(d->store) : "";
    const char *path = d->store ? hq_store_path(d->store) : "";
    if (d->storage_backlog_full) {
        snprintf(zh, zl,
                 "存储无法写入（磁盘已满/只读），未保存的记录已达上限：暂停取号及一切操作；原因：%s"
                 "；数据库：%s",
                 why, path);
        snprintf(en, el,
                 "Storage cannot be written (disk full / read-only) and the unsaved backlog is "
                 "full: no tickets and no other commands; reason: %s; database: %s",
                 why, path);
    } else {
        snprintf(zh, zl, "存储无法写入（磁盘已满/只读）：暂停取号，叫号继续；原因：%s；数据库：%s",
                 why, path);
        snprintf(en, el,
                 "Storage cannot be written (disk full / read-only): no new tickets, calls go "
                 "on; reason: %s; database: %s",
                 why, path);
    }
    return true;
}

static void hqd__storage_publish(struct hq_daemon *d, bool raised)
{
    char zh[768], en[768];
    if (raised) {
        hqd_storage_alarm(d, zh, sizeof zh, en, sizeof en);
        LOG_ERR("HALLQD", "%s / %s", zh, en);
    } else {
        snprintf(zh, sizeof zh, "存储已恢复，暂存的记录已写入数据库，恢复取号");
        snprintf(en, sizeof en,
                 "storage recovered: the kept records are in the database, tickets are issued "
                 "again");
    }
    if (!d->api) return;
    cJSON *o = cJSON_CreateObject();
    char ts[32];
    hq_time_rfc3339(hq_loop_wall_s(), d->cfg.engine.utc_offset_s, ts);
    cJSON_AddStringToObject(o, "source", "storage");
    cJSON_AddStringToObject(o, "kind", d->storage_backlog_full ? "storage_full" : "storage");
    cJSON_AddBoolToObject(o, "raised", raised);
    cJSON_AddStringToObject(o, "at", ts);
    cJSON_AddStringToObject(o, "text", zh);
    cJSON_AddStringToObject(o, "text_en", en);
    hq_api_publish(d->api, "alarm", o);
}

static void hqd__storage_backlog_check(struct hq_daemon *d)
{
    size_t bytes = 0;
    hq_store_backlog(d->store, NULL, &bytes);
    bool full = bytes >= (size_t)d->cfg.store_backlog_max_kib * 1024;
    if (full == d->storage_backlog_full) return;
    d->storage_backlog_full = full;
    if (full) hqd__storage_publish(d, true);
}

static void hqd__storage_degrade(struct hq_daemon *d)
{
    if (d->storage_degraded) return;
    d->storage_degraded = true;
    d->storage_degraded_since = hq_loop_wall_s();
    hqd__storage_publish(d, true);
    if (d->loop && !d->storage_retry_timer)
        d->storage_retry_timer =
            hq_loop_timer(d->loop, HQD_STORAGE_RETRY_MS, hqd__storage_retry, d);
}

/* Lose what the backlog held: only when it cannot be kept or written (out
 * of memory, or the database refuses the rows: a bug). */
static void hqd__storage_drop(struct hq_daemon *d, const char *why)
{
    size_t cmds = 0;
    hq_store_backlog(d->store, &cmds, NULL);
    hq_store_backlog_drop(d->store);
    d->storage_lost += cmds;
    d->storage_backlog_full = false;
    LOG_ERR("HALLQD",
            "%zu 条未保存的操作已丢弃（%s），队列按数据库重建 / %zu unsaved commands dropped (%s): "
            "the queue is rebuilt from the database",
            cmds, why, cmds, why);
    hqd__reload_engine(d);
}

static void hqd__storage_retry(struct hq_loop *loop, void *arg)
{
    struct hq_daemon *d = arg;
    d->storage_retry_timer = 0;
    if (!d->storage_degraded) return;
    size_t cmds = 0, bytes = 0;
    hq_store_backlog(d->store, &cmds, &bytes);
    int rc = hq_store_backlog_write(d->store);
    if (rc == HQ_ERR_DB) {
        hqd__storage_drop(d, "the database refused them");
        rc = hq_store_backlog_write(d->store); /* the probe: can it write at all? */
    }
    if (rc == HQ_OK) {
        d->storage_degraded = false;
        d->storage_backlog_full = false;
        d->storage_failed = false;
        d->storage_recoveries++;
        LOG_NOTICE(
            "HALLQD",
            "存储已恢复：%zu 条暂存操作（%zu 字节）已写入，恢复取号 / storage recovered after "
            "%lld s: %zu kept commands (%zu bytes) written, tickets are issued again",
            cmds, bytes, (long long)(hq_loop_wall_s() - d->storage_degraded_since), cmds, bytes);
        hqd__storage_publish(d, false);
        return;
    }
    LOG_INFO("HALLQD", "storage still cannot be written (%s); %zu commands kept",
             hq_store_why(d->store), cmds);
    d->storage_retry_timer = hq_loop_timer(loop, HQD_STORAGE_RETRY_MS, hqd__storage_retry, d);
}

/* The database deleted or replaced under the daemon (hq_store_check_file):
 * degraded storage, as for a full disk, so no ticket goes into a file the
 * next start will not see. Looked at every HQD_FILE_CHECK_MS, and by the
 * store itself before a commit after a second without one. */
#define HQD_FILE_CHECK_MS 2000

static void hqd__file_check(struct hq_loop *loop, void *arg)
{
    struct hq_daemon *d = arg;
    if (!d->storage_degraded && hq_store_check_file(d->store) != HQ_OK) {
        if (hqd_batch_pending(d)) hqd_flush(d); /* its commit fails and degrades */
        hqd__storage_degrade(d);
    }
    hq_loop_timer(loop, HQD_FILE_CHECK_MS, hqd__file_check, d);
}

/* While degraded: no ticket may be handed out (it would not be durable, and a
 * crash would hand its number out again); past the backlog's bound nothing
 * but the timers runs. */
static int hqd__storage_check(const struct hq_daemon *d, const struct hq_cmd *cmd)
{
    if (!d->storage_degraded) return HQ_OK;
    if (cmd->type == HQ_CMD_ISSUE) return HQ_ERR_DISK_FULL;
    if (d->storage_backlog_full && cmd->type != HQ_CMD_TICK) return HQ_ERR_DISK_FULL;
    return HQ_OK;
}

int hqd_apply(struct hq_daemon *d, struct hq_cmd *cmd)
{
    d->res.why = HQ_WHY_NONE; /* a refusal before the engine has no engine reason */
    if (!cmd->now) cmd->now = hq_loop_wall_s();
    if (!cmd->actor[0] && d->actor[0]) memcpy(cmd->actor, d->actor, sizeof cmd->actor);
    if (cmd->now > d->clock_seen) d->clock_seen = cmd->now;
    if (cmd->type == HQ_CMD_ISSUE) hqd__new_uuid(cmd->u.issue.uuid);
    if (cmd->type == HQ_CMD_RATE) hqd__new_uuid(cmd->u.rate.uuid);
    d->commands++;
    /* A new business day starts a group of its own: the rollover empties the
     * engine's ticket list, which the staged results point into. */
    if (hqd_batch_pending(d) && hq_engine_day_of(&d->cfg.engine, cmd->now) != d->eng.day)
        hqd_flush(d);
    int src = hqd__storage_check(d, cmd);
    if (src) {
        d->refused++;
        d->res.err = src;
        return src;
    }
    for (int i = 0; i < d->n_on_check; i++) {
        int rc = d->on_check[i].fn(d, cmd, d->on_check[i].arg);
        if (rc) {
            d->refused++;
            d->res.err = rc;
            return rc;
        }
    }
    int rc = hq_engine_apply(&d->eng, cmd, &d->res);
    if (rc) d->refused++;
    /* A refused command changed nothing, except that a day rollover that
     * happened before the refusal stands and must be committed all the same,
     * or the old day would never be closed in the database. */
    if (!hqd__changed(d, &d->res)) return rc;
    if (d->storage_degraded) {
        /* The database cannot be written: the command stands in memory, its
         * writes wait in the store's backlog for the retry, and its effects
         * go out now (the clerk's call is announced). Issues never get here
         * (hqd__storage_check). */
        int drc = hq_store_defer(d->store, &d->eng, cmd, &d->res);
        if (drc) {
            hqd__storage_drop(d, hq_strerror(drc)); /* reloads the engine */
            d->commit_failures++;
            d->res.err = HQ_ERR_DISK_FULL;
            return HQ_ERR_DISK_FULL;
        }
        d->storage_deferred++;
        hqd__storage_backlog_check(d);
        for (int i = 0; i < d->n_on_result; i++)
            d->on_result[i].fn(d, cmd, &d->res, d->on_result[i].arg);
        return rc;
    }
    int crc = hq_store_batch_add(d->store, &d->eng, cmd, &d->res);
    if (!crc) crc = hqd__stage(d, cmd, &d->res);
    if (crc) {
        /* Nothing of this command (nor of its group) may reach a device: the
         * engine goes back to what the database holds, and the caller hears
         * why. */
        if (hqd_batch_pending(d)) hq_store_batch_rollback(d->store); /* the copy failed */
        hqd__batch_failed(d, crc, 1);
        d->res.err = crc;
        return crc;
    }
    return rc;
}

int hqd_on_result(struct hq_daemon *d, hqd_result_cb fn, void *arg)
{
    if (d->n_on_result >= HQD_MAX_LISTENERS) return HQ_ERR_LIMIT;
    d->on_result[d->n_on_result].fn = fn;
    d->on_result[d->n_on_result++].arg = arg;
    return HQ_OK;
}

int hqd_on_check(struct hq_daemon *d, hqd_check_cb fn, void *arg)
{
    if (d->n_on_check >= HQD_MAX_LISTENERS) return HQ_ERR_LIMIT;
    d->on_check[d->n_on_check].fn = fn;
    d->on_check[d->n_on_check++].arg = arg;
    return HQ_OK;
}

int hqd_on_reload(struct hq_daemon *d, hqd_reload_cb fn, void *arg)
{
    if (d->n_on_reload >= HQD_MAX_LISTENERS) return HQ_ERR_LIMIT;
    d->on_reload[d->n_on_reload].fn = fn;
    d->on_reload[d->n_on_reload++].arg = arg;
    return HQ_OK;
}

/* -------------------------------------------------------- timers, signals */

static void hqd__tick(struct hq_loop *loop, void *arg)
{
    struct hq_daemon *d = arg;
    struct hq_cmd cmd = {.type = HQ_CMD_TICK};
    hqd_apply(d, &cmd);
    hq_loop_timer(loop, 1000, hqd__tick, d);
}

static uint64_t hqd_watchdog_usec;

static void hqd__watchdog(struct hq_loop *loop, void *arg)
{
    /* Pinging from the loop itself proves the loop turns, not just that the
     * process exists. */
    sd_notify(0, "WATCHDOG=1");
    hq_loop_timer(loop, hqd_watchdog_usec / 2000, hqd__watchdog, arg);
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
    hq_loop_on_turn(d.loop, hqd__store_flush, &d);
    hq_store_on_flush(d.store, hqd__store_flush, &d);

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

    hq_loop_timer(d.loop, HQD_FILE_CHECK_MS, hqd__file_check, &d);
    /* A first tick rolls the day over at once if the box was off at midnight. */
    hqd__tick(d.loop, &d);
    hqd_flush(&d);
    if (sd_watchdog_enabled(0, &hqd_watchdog_usec) > 0 && hqd_watchdog_usec >= 2000)
        hq_loop_timer(d.loop, hqd_watchdog_usec / 2000, hqd__watchdog, &d);
    hqd__warn_second_only(&d.cfg.engine);
    LOG_NOTICE("HALLQD", "hall %s ready: %zu services, %zu windows, %zu tickets today, http %s",
               d.cfg.engine.hall_id, d.cfg.engine.n_services, d.cfg.engine.n_windows,
               d.eng.n_tickets, d.cfg.http_listen);
    sd_notifyf(0, "READY=1\nSTATUS=serving %zu windows", d.cfg.engine.n_windows);
    rc = hq_loop_run(d.loop);

stop:
    hqd_flush(&d);
    if (d.storage_degraded) {
        size_t cmds = 0;
        hq_store_backlog(d.store, &cmds, NULL);
        if (hq_store_backlog_write(d.store) == HQ_OK)
            LOG_NOTICE("HALLQD", "storage recovered at stop: %zu kept commands written", cmds);
        else if (cmds)
            LOG_ERR("HALLQD",
                    "停止时存储仍无法写入：%zu 条已确认的操作未能保存，已丢失 / stopping while the "
                    "storage cannot be written: %zu acknowledged commands are lost (%s)",
                    cmds, cmds, hq_store_why(d.store));
    }
    if (d.storage_retry_timer) hq_loop_timer_cancel(d.loop, d.storage_retry_timer);
    while (started-- > 0)
        if (hqd_modules[started].fini) hqd_modules[started].fini(&d);
    hqd__drop_staged(&d);
    free(d.staged);
    hq_result_free(&d.res);
    hq_engine_free(&d.eng);
    hq_store_close(d.store);
    hq_loop_free(d.loop);
    close(sfd);
    hq_config_free(&d.cfg);
    LOG_NOTICE("HALLQD", "stopped");
    return rc ? 1 : 0;
}
