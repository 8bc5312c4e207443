/*
 * daemon.h — hallqd's shared context and its one command path.
 *
 * Everything that changes the queue goes through hqd_apply(): checks, the
 * engine, the durable commit, and only then the listeners that release
 * effects to devices, pages and the central server. Drivers and the HTTP API
 * register listeners; none of them touches engine state directly.
 */
#ifndef HQ_DAEMON_H
#define HQ_DAEMON_H

#include <stdbool.h>

#include "config.h"
#include "engine.h"
#include "loop.h"
#include "store.h"

struct hq_daemon;
struct hq_api;
/* The modules' own state (each module's file defines its struct). */
struct hqd_devs;
struct hqd_calls;
struct hq_print;
struct hq_sync;
struct hqd_gpio;
struct hq_voice;
struct hq_admin;
struct hqd_appts;
struct hq_callback;
struct hqd_reports;
struct hqd_retention;
struct hq_sessions;
struct hqd_overrides;

/* Called after a command was committed; effects and records are in res. */
typedef void (*hqd_result_cb)(struct hq_daemon *d, const struct hq_cmd *cmd,
                              const struct hq_result *res, void *arg);
/* Called before a command runs; a non-zero answer refuses it (e.g. no
 * printer can print a ticket: refuse before issuing, never after). */
typedef int (*hqd_check_cb)(struct hq_daemon *d, const struct hq_cmd *cmd, void *arg);
/* Called on SIGHUP after the configuration file was re-read successfully. */
typedef void (*hqd_reload_cb)(struct hq_daemon *d, void *arg);

#define HQD_MAX_LISTENERS 32

struct hq_daemon {
    struct hq_config cfg;
    struct hq_loop *loop;
    struct hq_engine eng;
    struct hq_store *store;
    struct hq_result res;
    struct hq_api *api;
    int64_t started_at;
    uint64_t watchdog_usec; /* systemd's WatchdogSec (hallqd.c pings at half of it), 0: none */
    /* The latest wall-clock time hallqd has seen: the newest event-log row at start, then
     * every command's time. A clock now behind it was reset or not yet synchronised (a box
     * without a battery-backed RTC after a power cut): /api/v1/status "clock". */
    int64_t clock_seen;
#define HQD_CLOCK_SLACK_S 120 /* behind by less is a small step of NTP, not an alarm */
    bool storage_failed;      /* the last commit could not be written */
    uint64_t commands, refused, commit_failures;
    /* Group commit (hqd_command.c): the commands of this turn, written, not yet
     * committed; their listeners run after the commit. */
    struct hqd_staged *staged;
    size_t n_staged, cap_staged;
    uint64_t batches;   /* groups committed */
    uint64_t committed; /* commands committed in them */
    /* The HTTP API: release (rc 0) or refuse the replies it held. */
    void (*on_flush)(struct hq_daemon *d, int rc, void *arg);
    void *on_flush_arg;
    /* Degraded storage (docs/RELIABILITY.md): the database cannot be
     * written; no tickets are issued, everything else goes on from memory
     * and its writes wait in the store's backlog until a retry lands them. */
    bool storage_degraded;
    /* Set when the command path stops (hqd_command_stop): the last group is committed and the
     * modules are about to go, so a request the HTTP server still drains is refused
     * (HQ_ERR_STOPPING) instead of reaching a module's freed state or staying uncommitted. */
    bool stopping;
    bool storage_backlog_full; /* past store.backlog_max_kib: every command refused */
    int64_t storage_degraded_since;
    uint64_t storage_retry_timer;
    uint64_t storage_deferred, storage_recoveries, storage_lost;
    struct {
        hqd_result_cb fn;
        void *arg;
    } on_result[HQD_MAX_LISTENERS];
    int n_on_result;
    struct {
        hqd_check_cb fn;
        void *arg;
    } on_check[HQD_MAX_LISTENERS];
    int n_on_check;
    struct {
        hqd_reload_cb fn;
        void *arg;
    } on_reload[HQD_MAX_LISTENERS];
    int n_on_reload;
    /* Set by the ID-card module: fill an issue command with the identity of
     * the card now on the kiosk's reader (has_id, id_hash, birth_ymd,
     * name_masked). HQ_ERR_ID_REQUIRED when no card is there. */
    int (*fill_card)(struct hq_daemon *d, struct hq_cmd *cmd, const char *kiosk, void *arg);
    void *fill_card_arg;
    /* The card of one kiosk: fill_card and card_hash_of take the kiosk id of
     * the page that asks (devices.card_readers[].kiosk, the page's ?kiosk=);
     * NULL means "the one card present on any reader" (a hall with one
     * kiosk), and two cards at once are then refused rather than guessed
     * between. card_hash_of answers true and the full keyed hash when that
     * kiosk's reader holds a card. */
    bool (*card_hash_of)(struct hq_daemon *d, const char *kiosk, uint8_t hash[32], void *arg);
    /* Who the commands run now come from (struct hq_cmd.actor): set by the
     * HTTP API around a route handler, empty otherwise. */
    char actor[40];
    /* While the on_reload listeners run: the configuration just read, in
     * full (d->cfg only takes what can change at run time; a module that
     * follows more, like the sign-in roster, reads it here). NULL otherwise. */
    const struct hq_config *reload_cfg;
    /* Each module's state, set by its init and cleared by its fini (hallqd.c's module
     * table): the functions that take the daemon reach their module through it, never
     * through a file-scope singleton. NULL while the module is not running. */
    struct {
        struct hqd_devs *devices;
        struct hqd_calls *calls;
        struct hq_print *print;
        struct hq_sync *sync;
        struct hqd_gpio *gpio;
        struct hq_voice *voice;
        struct hq_admin *admin;
        struct hqd_appts *appointments;
        struct hq_callback *callback;
        struct hqd_reports *reports;
        struct hqd_retention *retention;
        struct hq_sessions *sessions;
        struct hqd_overrides *overrides;
    } mod;
};

/* Run one command: pre-checks, engine, commit, listeners. cmd->now is set
 * here from the wall clock when it is 0, and new uuids are filled in.
 * Returns HQ_OK or the reason it was refused; d->res holds the result. */
int hqd_apply(struct hq_daemon *d, struct hq_cmd *cmd);

/* Commands are committed in groups: hqd_apply() writes a command into the
 * open group and returns; the group is committed, and its listeners run,
 * at the end of the loop turn that ran it (hqd_flush, the loop's turn hook),
 * or as soon as any other code asks the store for anything. While
 * hqd_batch_pending(), a reply to a client must be held until the flush
 * (the HTTP API does so by itself). */
void hqd_flush(struct hq_daemon *d);
int hqd_batch_pending(const struct hq_daemon *d);

/* The storage alarm now (Chinese, English), or false when there is none. */
bool hqd_storage_alarm(const struct hq_daemon *d, char *zh, size_t zl, char *en, size_t el);

int hqd_on_result(struct hq_daemon *d, hqd_result_cb fn, void *arg);
int hqd_on_check(struct hq_daemon *d, hqd_check_cb fn, void *arg);
int hqd_on_reload(struct hq_daemon *d, hqd_reload_cb fn, void *arg);

/* The command path's own start and stop (hqd_command.c), called by main:
 * start hooks the group commit to the loop's turn and the store (before any
 * module starts); watch arms the database file check (after they started);
 * stop flushes the last group and tries to write a degraded backlog (before
 * the modules stop); free releases the staging (after them). */
void hqd_command_start(struct hq_daemon *d);
void hqd_command_watch(struct hq_daemon *d);
void hqd_command_stop(struct hq_daemon *d);
void hqd_command_free(struct hq_daemon *d);

/* Fill buf with random bytes (getrandom). */
void hqd_random(void *buf, size_t len);

#endif
