/*
 * store.h — the durable store: one SQLite database in WAL mode.
 *
 * Every command that changed the engine is committed by hq_store_commit():
 * its ticket/window/service rows, its event-log rows and its outbox rows in
 * ONE transaction, before the daemon releases any effect to a device. On
 * start-up hq_store_load() rebuilds the engine from the rows.
 */
#ifndef HQ_STORE_H
#define HQ_STORE_H

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "config.h"
#include "engine.h"

#define HQ_STORE_SCHEMA_VERSION 7
#define HQ_STORE_MAX_CASES 16 /* cases (办件) one ticket may carry */

struct hq_store;

/* Open (creating or migrating) the database of cfg. On failure err says
 * which file and what is wrong (not a hallq database, newer schema, locked,
 * cannot be written). A CORRUPT file (not a database, or PRAGMA quick_check
 * is not "ok") is not refused: it is moved aside with its -wal and -shm to
 * <database>.corrupt-<UTC time>, never deleted nor written, a fresh database
 * is started, and hq_store_notice() says so until a manager acknowledges it. */
int hq_store_open(const struct hq_config *cfg, struct hq_store **out, char *err, size_t errlen);
void hq_store_close(struct hq_store *st);

/* Rebuild e (freshly initialised) from the database. */
int hq_store_load(struct hq_store *st, struct hq_engine *e, char *err, size_t errlen);

/* Commit the result of one applied command. HQ_ERR_DISK_FULL when the
 * database cannot be written (full, read-only, I/O error, locked by another
 * process past the busy timeout; hq_store_why() says which) or while a
 * backlog is kept (hq_store_defer); HQ_ERR_DB for anything else. Either way
 * nothing of the command landed: the caller keeps it with hq_store_defer()
 * or rebuilds the engine from the database. */
int hq_store_commit(struct hq_store *st, const struct hq_engine *e, const struct hq_cmd *cmd,
                    const struct hq_result *res);

/* Group commit: the commands that arrive together (in one turn of the loop)
 * share one transaction. hq_store_batch_add() writes one command's rows into
 * the open group (opening it first); on failure the whole group is rolled
 * back and every command in it failed. hq_store_batch_commit() commits the
 * group; only then may the commands' effects be released. The group's owner
 * registers a flush function: every other entry point of the store
 * (hq_store_begin, hq_store_db, hq_store_commit, hq_store_outbox_stats) calls
 * it first, so nothing else ever reads or joins an uncommitted group. */
int hq_store_batch_add(struct hq_store *st, const struct hq_engine *e, const struct hq_cmd *cmd,
                       const struct hq_result *res);
int hq_store_batch_commit(struct hq_store *st, const struct hq_engine *e);
void hq_store_batch_rollback(struct hq_store *st);
int hq_store_batch_open(const struct hq_store *st);
void hq_store_on_flush(struct hq_store *st, void (*fn)(void *arg), void *arg);
void hq_store_flush(struct hq_store *st);

/* Degraded storage. hq_store_defer() keeps the writes of a command, when no
 * group is open, in memory instead of the database, in order (SQL text with its values;
 * one row upsert per ticket/window/service, holding the latest values), so
 * the engine can go on from memory. While anything is kept, hq_store_commit,
 * hq_store_batch_add, hq_store_begin and hq_store_notice_ack answer
 * HQ_ERR_DISK_FULL: nothing may land before it. hq_store_backlog_write() writes all of it in ONE
 * transaction (outbox seq assigned then, in the original order, without holes), or with nothing
 * kept writes a probe row; HQ_OK, HQ_ERR_DISK_FULL (still cannot), HQ_ERR_DB (refused: a bug; the
 * backlog is kept for the caller to drop). hq_store_defer answers HQ_ERR_NOMEM when it could not
 * keep the command. */
int hq_store_defer(struct hq_store *st, const struct hq_engine *e, const struct hq_cmd *cmd,
                   const struct hq_result *res);
int hq_store_backlog_write(struct hq_store *st);
void hq_store_backlog(const struct hq_store *st, size_t *commands, size_t *bytes);
void hq_store_backlog_drop(struct hq_store *st);
/* The last "cannot write" reason ("SQLite 13: database or disk is full, No
 * space left on device"), and the database's path. */
const char *hq_store_why(const struct hq_store *st);
const char *hq_store_path(const struct hq_store *st);

/* Is the open database still the file at its path (device and inode)? The
 * daemon asks every few seconds; every commit asks too when the last look is
 * more than a second old. HQ_ERR_DISK_FULL (hq_store_why says deleted or
 * replaced) when not: then every commit, begin and backlog write answers
 * HQ_ERR_DISK_FULL too, until the file at the path is the open one again. */
int hq_store_check_file(struct hq_store *st);

/* The corrupt-file notice (JSON: path, moved_to, reason, at, numbers_offset)
 * or NULL; acknowledging removes it (HQ_ERR_NOT_FOUND when there is none). */
const char *hq_store_notice(const struct hq_store *st);
int hq_store_notice_ack(struct hq_store *st);

/* For other modules' own writes (follow-ups, appointments, device health):
 * begin, write through hq_store_db() and hq_store_outbox_add(), then end.
 * Every change a central server must hear of gets its outbox record in the
 * same transaction. hq_store_end(st, 0) commits, non-zero rolls back; both
 * answer HQ_OK, HQ_ERR_DB or HQ_ERR_DISK_FULL. */
int hq_store_begin(struct hq_store *st);
int hq_store_end(struct hq_store *st, int rollback);
/* Called after a transaction of hq_store_begin/hq_store_end that added
 * outbox records committed, so the up-link sends them now rather than at its
 * next idle poll (commands reach it through hqd_on_result already). */
void hq_store_on_outbox(struct hq_store *st, void (*fn)(void *arg), void *arg);

/* A ticket of an earlier business day (the engine holds one day), read from
 * the tickets table for its QR rating page (docs/DESIGN.md "QR rating across
 * days"). rated: flagged, or an evaluation row names it. */
struct hq_store_past {
    char label[16];
    uint16_t window;
    bool done, rated;
    int64_t finished_at;
    int day;
};
int hq_store_ticket_past(struct hq_store *st, const char *tuuid, struct hq_store_past *out);
/* Rate that ticket (cmd: an HQ_CMD_RATE with its uuid, level, channel,
 * reasons, indicators, words) in one transaction: refused HQ_ERR_STATE with
 * *why HQ_WHY_RATED (rated already, however) or HQ_WHY_NO_RATING (not
 * finished, or more than open_s after its finish); HQ_ERR_NOT_FOUND; else the
 * rows and outbox records a rating of today's ticket writes, one per case. */
int hq_store_rate_past(struct hq_store *st, const char *tuuid, const struct hq_cmd *cmd,
                       int64_t now, int64_t open_s, enum hq_why *why);

/* Append one outbox record (type "ticket", "evaluation", "event" or another
 * agreed with the central server); data is consumed. */
int hq_store_outbox_add(struct hq_store *st, const char *type, int64_t at, cJSON *data);

/* Outbox numbers for the status page: unsent records, the oldest unsent seq
 * (0: none), the last seq. */
int hq_store_outbox_stats(struct hq_store *st, int64_t *backlog, int64_t *oldest_seq,
                          int64_t *last_seq);
/* The same on any connection to the database (the up-link's own). Two index
 * look-ups, not a count over the backlog (69 ms at 900,000 unsent rows): the
 * rows from the oldest unacknowledged one on are all unacknowledged
 * (acknowledgements cover a prefix, a server's rewind un-acknowledges a
 * suffix) and have no holes (AUTOINCREMENT seqs; retention deletes only
 * acknowledged rows), so there are last - oldest + 1 of them. The one
 * exception: a rewind behind records retention already deleted leaves holes,
 * and the figure counts them too until the link has passed them. */
int hq_outbox_unsent(sqlite3 *db, int64_t *backlog, int64_t *oldest_seq, int64_t *last_seq);

/* The database handle, for read-only queries of other modules (pages, CSV).
 * Never write through it outside a store function. */
sqlite3 *hq_store_db(struct hq_store *st);

/* Retention: one step of a pass, in one transaction, at most `limit` rows
 * of each kind, oldest first:
 *  - outbox records the central server acknowledged whose time is before
 *    at->outbox_before (unix s; unacknowledged records are never deleted);
 *  - event log rows before at->events_before (unix s; 0 keeps them);
 *  - tickets of business days before at->history_day, and evaluations of
 *    those days except a 差评 whose follow-up is not closed (0 keeps both).
 * The outbox and the event log are walked in key order from *pos (zero at
 * the start of a pass; each step moves it on), so a row with a wrong time
 * never holds up the rows after it. out->more: another step has work.
 * HQ_ERR_DISK_FULL while degraded (nothing may land before the backlog),
 * HQ_ERR_DB else. */
struct hq_store_prune_at {
    int64_t outbox_before, events_before;
    int32_t history_day;
    int64_t sealed_before; /* sealed ID numbers of tickets issued before (0: none) */
};
struct hq_store_prune_pos {
    int64_t outbox_seq, event_id;
};
struct hq_store_pruned {
    int64_t outbox, events, tickets, evaluations;
    bool more;
};
int hq_store_prune(struct hq_store *st, const struct hq_store_prune_at *at, int limit,
                   struct hq_store_prune_pos *pos, struct hq_store_pruned *out);

/* The time of the newest event-log row (unix s), 0 when there is none. */
int64_t hq_store_latest_time(struct hq_store *st);

/* Helpers shared with other modules. */
void hq_uuid_format(const uint8_t uuid[16], char out[37]);
int hq_uuid_parse(const char *s, uint8_t uuid[16]);
/* RFC 3339 local time with the hall's offset: 2026-11-23T09:05:00+08:00 */
void hq_time_rfc3339(int64_t t, int32_t utc_offset_s, char out[32]);

#endif
