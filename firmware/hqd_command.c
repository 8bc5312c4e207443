/*
 * hqd_command.c — hallqd's one command path (daemon.h): hqd_apply (checks,
 * the engine, the durable commit), group commit and its flush, degraded
 * storage and its retry, the database file check, and the listeners
 * (on_result, on_check, on_reload) that release a committed command's
 * effects to devices, pages and the central server.
 *
 * Split from hallqd.c (issue 15) so that the HTTP API, which runs commands,
 * does not depend on the file that starts the daemon: hallqd.c holds start-up
 * (main, the module table, signals, reload, watchdog) and defines nothing but
 * main (tests/integration/test_layers.py checks this on the objects).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <systemd/sd-daemon.h>

#include "api.h"
#include "daemon.h"

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

static void hqd_command__new_uuid(uint8_t u[16])
{
    hqd_random(u, 16);
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

static bool hqd_command__changed(const struct hq_result *r)
{
    if (r->n_rec || r->n_dirty_tickets || r->rollover) return true;
    for (size_t i = 0; i < sizeof r->dirty_windows; i++)
        if (r->dirty_windows[i]) return true;
    for (size_t i = 0; i < sizeof r->dirty_services; i++)
        if (r->dirty_services[i]) return true;
    return false;
}

static int hqd_command__reload_engine(struct hq_daemon *d)
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

static int hqd_command__stage(struct hq_daemon *d, const struct hq_cmd *cmd,
                              const struct hq_result *r)
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

static void hqd_command__drop_staged(struct hq_daemon *d)
{
    for (size_t i = 0; i < d->n_staged; i++)
        hq_result_free(&d->staged[i].res);
    d->n_staged = 0;
}

static void hqd_command__storage_degrade(struct hq_daemon *d);

/* The group could not be written: none of its commands happened. The engine
 * goes back to what the database holds; held replies become refusals. When
 * the database cannot be written at all (full, read-only), the commands from
 * now on go on from memory (degraded storage, below); this group stays
 * refused: its replies were held, nothing of it was acknowledged. */
static void hqd_command__batch_failed(struct hq_daemon *d, int rc, size_t in_hand)
{
    /* commit_failures counts the commands refused for it: the group's and
     * the one being applied when its write failed (not staged, not in
     * d->refused either). */
    size_t n = d->n_staged + in_hand;
    d->commit_failures += n ? n : 1;
    d->storage_failed = true;
    LOG_ERR("HALLQD", "%zu command(s) not saved (%s): the queue goes back to the database", n,
            hq_strerror(rc));
    hqd_command__drop_staged(d);
    hqd_command__reload_engine(d);
    if (rc == HQ_ERR_DISK_FULL) hqd_command__storage_degrade(d);
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
            hqd_command__batch_failed(d, rc, 0);
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

static void hqd_command__store_flush(void *arg)
{
    hqd_flush(arg);
}

/* ------------------------------------------------------ degraded storage */

#define HQD_STORAGE_RETRY_MS 3000

static void hqd_command__storage_retry(struct hq_loop *loop, void *arg);

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

static void hqd_command__storage_publish(struct hq_daemon *d, bool raised)
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

static void hqd_command__storage_backlog_check(struct hq_daemon *d)
{
    size_t bytes = 0;
    hq_store_backlog(d->store, NULL, &bytes);
    bool full = bytes >= (size_t)d->cfg.store_backlog_max_kib * 1024;
    if (full == d->storage_backlog_full) return;
    d->storage_backlog_full = full;
    if (full) hqd_command__storage_publish(d, true);
}

static void hqd_command__storage_degrade(struct hq_daemon *d)
{
    if (d->storage_degraded) return;
    d->storage_degraded = true;
    d->storage_degraded_since = hq_loop_wall_s();
    hqd_command__storage_publish(d, true);
    if (d->loop && !d->storage_retry_timer)
        d->storage_retry_timer =
            hq_loop_timer(d->loop, HQD_STORAGE_RETRY_MS, hqd_command__storage_retry, d);
}

/* Lose what the backlog held: only when it cannot be kept or written (out
 * of memory, or the database refuses the rows: a bug). */
static void hqd_command__storage_drop(struct hq_daemon *d, const char *why)
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
    hqd_command__reload_engine(d);
}

static void hqd_command__storage_retry(struct hq_loop *loop, void *arg)
{
    struct hq_daemon *d = arg;
    d->storage_retry_timer = 0;
    if (!d->storage_degraded) return;
    size_t cmds = 0, bytes = 0;
    hq_store_backlog(d->store, &cmds, &bytes);
    int rc = hq_store_backlog_write(d->store);
    if (rc == HQ_ERR_DB) {
        hqd_command__storage_drop(d, "the database refused them");
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
        hqd_command__storage_publish(d, false);
        return;
    }
    LOG_INFO("HALLQD", "storage still cannot be written (%s); %zu commands kept",
             hq_store_why(d->store), cmds);
    d->storage_retry_timer =
        hq_loop_timer(loop, HQD_STORAGE_RETRY_MS, hqd_command__storage_retry, d);
}

/* The database deleted or replaced under the daemon (hq_store_check_file):
 * degraded storage, as for a full disk, so no ticket goes into a file the
 * next start will not see. Looked at every HQD_FILE_CHECK_MS, and by the
 * store itself before a commit after a second without one. */
#define HQD_FILE_CHECK_MS 2000

static void hqd_command__file_check(struct hq_loop *loop, void *arg)
{
    struct hq_daemon *d = arg;
    if (!d->storage_degraded && hq_store_check_file(d->store) != HQ_OK) {
        if (hqd_batch_pending(d)) hqd_flush(d); /* its commit fails and degrades */
        hqd_command__storage_degrade(d);
    }
    hq_loop_timer(loop, HQD_FILE_CHECK_MS, hqd_command__file_check, d);
}

/* While degraded: no ticket may be handed out (it would not be durable, and a
 * crash would hand its number out again); past the backlog's bound nothing
 * but the timers runs. */
static int hqd_command__storage_check(const struct hq_daemon *d, const struct hq_cmd *cmd)
{
    if (!d->storage_degraded) return HQ_OK;
    if (cmd->type == HQ_CMD_ISSUE) return HQ_ERR_DISK_FULL;
    if (d->storage_backlog_full && cmd->type != HQ_CMD_TICK) return HQ_ERR_DISK_FULL;
    return HQ_OK;
}

int hqd_apply(struct hq_daemon *d, struct hq_cmd *cmd)
{
    d->res.why = HQ_WHY_NONE; /* a refusal before the engine has no engine reason */
    if (d->stopping) return HQ_ERR_STOPPING;
    if (!cmd->now) cmd->now = hq_loop_wall_s();
    if (!cmd->actor[0] && d->actor[0]) memcpy(cmd->actor, d->actor, sizeof cmd->actor);
    if (cmd->now > d->clock_seen) d->clock_seen = cmd->now;
    if (cmd->type == HQ_CMD_ISSUE) hqd_command__new_uuid(cmd->u.issue.uuid);
    if (cmd->type == HQ_CMD_RATE) hqd_command__new_uuid(cmd->u.rate.uuid);
    d->commands++;
    /* A new business day starts a group of its own: the rollover empties the
     * engine's ticket list, which the staged results point into. */
    if (hqd_batch_pending(d) && hq_engine_day_of(&d->cfg.engine, cmd->now) != d->eng.day)
        hqd_flush(d);
    int src = hqd_command__storage_check(d, cmd);
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
    if (!hqd_command__changed(&d->res)) return rc;
    if (d->storage_degraded) {
        /* The database cannot be written: the command stands in memory, its
         * writes wait in the store's backlog for the retry, and its effects
         * go out now (the clerk's call is announced). Issues never get here
         * (hqd_command__storage_check). */
        int drc = hq_store_defer(d->store, &d->eng, cmd, &d->res);
        if (drc) {
            hqd_command__storage_drop(d, hq_strerror(drc)); /* reloads the engine */
            d->commit_failures++;
            d->res.err = HQ_ERR_DISK_FULL;
            return HQ_ERR_DISK_FULL;
        }
        d->storage_deferred++;
        hqd_command__storage_backlog_check(d);
        for (int i = 0; i < d->n_on_result; i++)
            d->on_result[i].fn(d, cmd, &d->res, d->on_result[i].arg);
        return rc;
    }
    int crc = hq_store_batch_add(d->store, &d->eng, cmd, &d->res);
    if (!crc) crc = hqd_command__stage(d, cmd, &d->res);
    if (crc) {
        /* Nothing of this command (nor of its group) may reach a device: the
         * engine goes back to what the database holds, and the caller hears
         * why. */
        if (hqd_batch_pending(d)) hq_store_batch_rollback(d->store); /* the copy failed */
        hqd_command__batch_failed(d, crc, 1);
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

/* ------------------------------------------------------- start and stop */

void hqd_command_start(struct hq_daemon *d)
{
    /* A group is committed at the end of the loop's turn, or as soon as any
     * other code asks the store for anything. */
    hq_loop_on_turn(d->loop, hqd_command__store_flush, d);
    hq_store_on_flush(d->store, hqd_command__store_flush, d);
}

void hqd_command_watch(struct hq_daemon *d)
{
    hq_loop_timer(d->loop, HQD_FILE_CHECK_MS, hqd_command__file_check, d);
}

void hqd_command_stop(struct hq_daemon *d)
{
    hqd_flush(d);
    if (d->storage_degraded) {
        size_t cmds = 0;
        hq_store_backlog(d->store, &cmds, NULL);
        if (hq_store_backlog_write(d->store) == HQ_OK)
            LOG_NOTICE("HALLQD", "storage recovered at stop: %zu kept commands written", cmds);
        else if (cmds)
            LOG_ERR("HALLQD",
                    "停止时存储仍无法写入：%zu 条已确认的操作未能保存，已丢失 / stopping while the "
                    "storage cannot be written: %zu acknowledged commands are lost (%s)",
                    cmds, cmds, hq_store_why(d->store));
    }
    if (d->storage_retry_timer) hq_loop_timer_cancel(d->loop, d->storage_retry_timer);
    d->stopping = true;
}

void hqd_command_free(struct hq_daemon *d)
{
    hqd_command__drop_staged(d);
    free(d->staged);
    d->staged = NULL;
    d->cap_staged = 0;
    hq_result_free(&d->res);
}
