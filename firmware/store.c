/*
 * store.c — SQLite persistence of the queue: state rows, event log, outbox.
 *
 * Durability rule (ARCHITECTURE.md): a command's state change, its event-log
 * rows and its outbox rows are one transaction, committed before any effect
 * reaches a device. WAL mode; synchronous=FULL by default so an acknowledged
 * ticket survives a power cut (NORMAL may lose the last commits, never
 * corrupt). The schema is versioned with PRAGMA user_version and migrated one
 * step at a time, each step in its own transaction.
 */
#include "store.h"
#include "workdays.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

enum { ST_TICKET, ST_WINDOW, ST_SERVICE, ST_DAY, ST_EVENT, ST_OUTBOX, ST_EVAL, ST__COUNT };

static const char *const store_sql[ST__COUNT] = {
    [ST_TICKET] =
        "INSERT INTO tickets(uuid, day, service, orig_service, serial, number, label, priority, "
        "channel, status, recalls, requeues, flags, window, target_window, staff, issued_at, "
        "queued_at, called_at, served_at, finished_at, id_hash, name_masked, id) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,"
        "?24) ON CONFLICT(id) DO UPDATE SET service=?3, priority=?8, status=?10, recalls=?11, "
        "requeues=?12, flags=?13, window=?14, target_window=?15, staff=?16, queued_at=?18, "
        "called_at=?19, served_at=?20, finished_at=?21",
    [ST_WINDOW] = "INSERT OR REPLACE INTO windows(number, state, staff, current, state_since, "
                  "last_call_at, rating_ticket, rating_deadline, pause_reason, help_at) "
                  "VALUES(?,?,?,?,?,?,?,?,?,?)",
    [ST_SERVICE] = "INSERT OR REPLACE INTO services(code, issued, last_number, overtakes, "
                   "handle_s, handled) VALUES(?,?,?,?,?,?)",
    [ST_DAY] = "INSERT OR REPLACE INTO meta(key, value) VALUES('day', ?)",
    [ST_EVENT] = "INSERT INTO events(at, kind, window, ticket, label, staff, data, actor) "
                 "VALUES(?,?,?,?,?,?,?,?)",
    [ST_OUTBOX] = "INSERT INTO outbox(uuid, type, at, data) VALUES(?,?,?,?)",
    [ST_EVAL] = "INSERT INTO evaluations(uuid, ticket, label, day, service, window, staff, level, "
                "channel, reasons, at, follow_up_state, follow_up_due, case_no, item_code, "
                "item_name, text) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
};

/* The numbers side file (see store__num_write). */
#define STORE_NUM_BLOCK 32  /* numbers reserved ahead per write: one fsync per 32 issues */
#define STORE_NUM_SLOT 4096 /* two slots, each its own page: a torn write spoils one */
struct store_num_ent {
    char code[16];
    uint32_t serial; /* the highest serial that may have been issued today */
    uint16_t number; /* the number that serial has at most reached */
    uint16_t pad;
};
struct store_num {
    char magic[8]; /* "HQNUM01" */
    uint64_t gen;  /* slot gen % 2 is written; the higher good gen wins */
    int32_t day;   /* the business day the entries are for (0: none) */
    uint32_t n;
    struct store_num_ent ent[HQ_MAX_SERVICES];
    uint32_t sum; /* CRC-32 (zlib) of everything before it */
};

_Static_assert(sizeof(struct store_num) <= STORE_NUM_SLOT, "a numbers slot fits its page");

struct hq_store {
    sqlite3 *db;
    const struct hq_config *cfg;
    char path[HQ_CFG_PATH_MAX];
    sqlite3_stmt *st[ST__COUNT];
    uint64_t rand_state; /* outbox uuids: seeded from /dev/urandom */
    int32_t saved_day;   /* the business day the meta row holds */
    void (*outbox_fn)(void *arg);
    void *outbox_arg;
    int outbox_added; /* hq_store_outbox_add ran in the open transaction */
    int batch_open;   /* a group of commands is written and not yet committed */
    void (*flush_fn)(void *arg);
    void *flush_arg;
    pthread_t ckpt_thread;
    int ckpt_started;
    atomic_int ckpt_stop;
    /* Degraded storage (hq_store_defer): the writes of the commands the
     * database could not take, in their order, as SQL text with the values
     * in it; row upserts of one ticket/window/service are kept once, at their
     * first place, holding the latest values. */
    struct store_op *ops;
    size_t n_ops, cap_ops, backlog_bytes, backlog_cmds;
    int capture;        /* the write functions append to ops instead of stepping */
    const char *op_key; /* the row the statement being captured writes */
    char why[256];      /* the last "cannot write" reason: SQLite code, errno */
    int lock_fd;        /* the flock on the database file: one hallqd per database */
    dev_t file_dev;     /* the open database file: still the one at path? */
    ino_t file_ino;
    int64_t file_checked_ms; /* CLOCK_MONOTONIC of the last look */
    bool file_lost;          /* the file at path is not the open one */
    /* The numbers side file (store__num_*): the day's highest reserved
     * serial and number per service, outside the database. */
    char num_path[HQ_CFG_PATH_MAX + 16];
    sqlite3_file *num_file; /* NULL: not open */
    struct store_num num;   /* what the file holds (the newest good slot) */
    char *notice;           /* meta('corrupt_moved'): a corrupt file was moved aside (JSON) */
};

enum { OP_SQL, OP_CLOSE_DAY };
struct store_op {
    uint8_t kind;
    char key[24]; /* "t:<id>", "w:<number>", "s:<code>"; empty = not a row upsert */
    char *sql;    /* OP_SQL */
    int32_t day;  /* OP_CLOSE_DAY: the day to close */
    int64_t at;   /* OP_CLOSE_DAY: when */
};

/* ------------------------------------------------------------ migrations */

static const char *const store_migrations[HQ_STORE_SCHEMA_VERSION] = {
    /* 1: the queue's state, the event log and the outbox */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    /* id = day << 20 | the engine's index: rows append in issue order, so a
     * commit touches the table's last page rather than a random one (a uuid
     * key cost a random index page per command). */
    "CREATE TABLE tickets(id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, day INTEGER NOT NULL,"
    " service TEXT NOT NULL,"
    " orig_service TEXT NOT NULL, serial INTEGER NOT NULL, number INTEGER NOT NULL,"
    " label TEXT NOT NULL, priority TEXT NOT NULL, channel TEXT NOT NULL, status TEXT NOT NULL,"
    " recalls INTEGER NOT NULL, requeues INTEGER NOT NULL, flags INTEGER NOT NULL,"
    " window INTEGER NOT NULL, target_window INTEGER NOT NULL, staff TEXT,"
    " issued_at INTEGER NOT NULL, queued_at INTEGER NOT NULL, called_at INTEGER,"
    " served_at INTEGER, finished_at INTEGER, id_hash TEXT, name_masked TEXT,"
    " UNIQUE(day, orig_service, serial));"
    /* Duplicate numbers are impossible by construction: no two live tickets
     * of a day may hold the same number of the same service. */
    "CREATE UNIQUE INDEX tickets_live_number ON tickets(day, orig_service, number)"
    " WHERE status IN ('waiting','called','serving','parked');"
    "CREATE TABLE windows(number INTEGER PRIMARY KEY, state TEXT NOT NULL, staff TEXT,"
    " current TEXT, state_since INTEGER NOT NULL, last_call_at INTEGER NOT NULL,"
    " rating_ticket TEXT, rating_deadline INTEGER NOT NULL);"
    "CREATE TABLE services(code TEXT PRIMARY KEY, issued INTEGER NOT NULL,"
    " last_number INTEGER NOT NULL, overtakes INTEGER NOT NULL, handle_s INTEGER NOT NULL,"
    " handled INTEGER NOT NULL);"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL,"
    " window INTEGER, ticket TEXT, label TEXT, staff TEXT, data TEXT NOT NULL);"
    "CREATE TABLE outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL,"
    " type TEXT NOT NULL, at TEXT NOT NULL, data TEXT NOT NULL, acked INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX outbox_unacked ON outbox(acked, seq);"
    "CREATE TABLE evaluations(uuid TEXT PRIMARY KEY, ticket TEXT NOT NULL, label TEXT NOT NULL,"
    " day INTEGER NOT NULL, service TEXT NOT NULL, window INTEGER NOT NULL, staff TEXT,"
    " level INTEGER NOT NULL, channel TEXT NOT NULL, reasons INTEGER NOT NULL,"
    " at INTEGER NOT NULL);",
    /* 2: 差评 follow-up (回访整改) on evaluations */
    "ALTER TABLE evaluations ADD COLUMN follow_up_state TEXT NOT NULL DEFAULT 'none';"
    "ALTER TABLE evaluations ADD COLUMN follow_up_due INTEGER;"
    "ALTER TABLE evaluations ADD COLUMN follow_up_note TEXT;"
    "ALTER TABLE evaluations ADD COLUMN follow_up_at INTEGER;"
    "UPDATE evaluations SET follow_up_state='open', follow_up_due=at+"
    "1296000"
    " WHERE level <= 2;"
    "CREATE INDEX evaluations_day ON evaluations(day);",
    /* 3: appointments from the central server (PROTOCOLS.md §5), kept for
     * check-in. checked_in_ticket is the uuid of the ticket a check-in issued
     * here, written (status 'checking_in') BEFORE that ticket is committed,
     * so a crash between the two can never give one appointment two tickets
     * (firmware/appt.h). The pull cursor lives in meta('appointments_cursor'). */
    "CREATE TABLE appointments(id TEXT PRIMARY KEY, service TEXT NOT NULL, date TEXT NOT NULL,"
    " slot_start TEXT NOT NULL, slot_end TEXT NOT NULL, id_hash TEXT, booking_code TEXT,"
    " name_masked TEXT, status TEXT NOT NULL, checked_in_ticket TEXT,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX appointments_code ON appointments(booking_code COLLATE NOCASE)"
    " WHERE booking_code IS NOT NULL;"
    "CREATE INDEX appointments_hash ON appointments(id_hash, date) WHERE id_hash IS NOT NULL;"
    "CREATE UNIQUE INDEX appointments_ticket ON appointments(checked_in_ticket)"
    " WHERE checked_in_ticket IS NOT NULL;",
    /* 4: staff sign-in (hqd_session.c). A PIN is kept only as its Argon2id
     * string, a session only as the BLAKE2b hash of its token; events name
     * who gave each command (actor). */
    "CREATE TABLE staff_pins(staff TEXT PRIMARY KEY, hash TEXT NOT NULL, set_at INTEGER NOT NULL,"
    " set_by TEXT NOT NULL);"
    "CREATE TABLE sessions(token_hash TEXT PRIMARY KEY, staff TEXT NOT NULL, role TEXT NOT NULL,"
    " window INTEGER NOT NULL, created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL);"
    "ALTER TABLE events ADD COLUMN actor TEXT;",
    /* 5: case binding (一事一评, hqd_rating.c): the cases (办件) the window's
     * business system or clerk set on a ticket, and the case each evaluation
     * row rates; one rating per ticket and case, enforced here too. */
    "CREATE TABLE cases(ticket TEXT NOT NULL, idx INTEGER NOT NULL, case_no TEXT NOT NULL,"
    " item_code TEXT NOT NULL, item_name TEXT NOT NULL, set_at INTEGER NOT NULL, set_by TEXT,"
    " PRIMARY KEY(ticket, idx));"
    "ALTER TABLE evaluations ADD COLUMN case_no TEXT;"
    "ALTER TABLE evaluations ADD COLUMN item_code TEXT;"
    "ALTER TABLE evaluations ADD COLUMN item_name TEXT;"
    "ALTER TABLE evaluations ADD COLUMN text TEXT;"
    "CREATE UNIQUE INDEX evaluations_case ON evaluations(ticket, case_no)"
    " WHERE case_no IS NOT NULL;",
    /* 6: why a window is paused (a configured pause reason's code) and its clerk's help
     * call still unanswered (Unix s, 0 = none): both survive a restart. */
    "ALTER TABLE windows ADD COLUMN pause_reason TEXT;"
    "ALTER TABLE windows ADD COLUMN help_at INTEGER NOT NULL DEFAULT 0;",
    /* 7: a card's ID number sealed to the provincial platform's public key (the driver
     * sealed it at the card read; nothing here opens it), kept beside its ticket until
     * the evaluation record carries it, or the rating period is long over. */
    "CREATE TABLE ticket_ids(ticket TEXT PRIMARY KEY, sealed BLOB NOT NULL,"
    " at INTEGER NOT NULL);",
};

static int store__migrate(struct hq_store *st, char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version > HQ_STORE_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "%s: database schema version %d is newer than this hallqd knows (%d); "
                 "refusing to touch it",
                 st->path, version, HQ_STORE_SCHEMA_VERSION);
        return HQ_ERR_DB;
    }
    for (int v = version; v < HQ_STORE_SCHEMA_VERSION; v++) {
        char *msg = NULL, sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v + 1);
        if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(st->db, store_migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(st->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errlen, "%s: migrating the schema from version %d to %d failed: %s",
                     st->path, v, v + 1, msg ? msg : sqlite3_errmsg(st->db));
            sqlite3_free(msg);
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return HQ_ERR_DB;
        }
        if (v > 0) LOG_NOTICE("STORE", "%s: schema migrated to version %d", st->path, v + 1);
    }
    return HQ_OK;
}

/* ------------------------------------------------------------ checkpoints */

/* WAL checkpoints run in a thread of their own, on their own connection, so
 * copying the WAL into the database file (and its fsync) never lands inside
 * a command's commit: with SQLite's automatic checkpoint every few hundredth
 * command paid for all the others. PASSIVE never blocks the writer. */
#define STORE_CHECKPOINT_MS 250
#define STORE_WAL_MAX_FRAMES 16384 /* frames: 16 MiB of WAL with 1 KiB pages */

/* The WAL's bound. The thread's PASSIVE checkpoints copy frames, but the WAL
 * only rewinds when a writer finds it wholly copied, which a writer that
 * never pauses (a burst, a benchmark) never does; a WAL that grows without
 * end grows the wal-index mapped into the daemon too. So past the bound the
 * writer itself truncates it, right after a commit: most frames are already
 * copied, so this costs one short copy and fsync every few thousand frames.
 * It is done here and not in the thread because a checkpoint that has to
 * wait for a gap between commits starves under a steady writer. If the
 * thread holds the checkpoint lock just then (SQLITE_BUSY), the next commit
 * tries again. */
static int store__wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)arg;
    if (frames > STORE_WAL_MAX_FRAMES)
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    return SQLITE_OK;
}

static void *store__checkpointer(void *arg)
{
    struct hq_store *st = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        LOG_ERR("STORE", "%s: checkpoint connection: %s", st->path,
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 100);
    /* A checkpoint copies frames; it needs no page cache of its own (the
     * default 2 MiB would count in the daemon's RSS). */
    sqlite3_exec(db, "PRAGMA cache_size=16", NULL, NULL, NULL);
    /* A connection learns that the file is in WAL mode on its first read;
     * until then a checkpoint call does nothing at all. */
    sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    while (!atomic_load(&st->ckpt_stop)) {
        struct timespec ts = {0, STORE_CHECKPOINT_MS * 1000000L};
        nanosleep(&ts, NULL);
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        /* rewinding the WAL is the writer's (store__wal_hook) */
    }
    sqlite3_close(db);
    return NULL;
}

/* ----------------------------------------------------------------- helpers */

void hq_uuid_format(const uint8_t u[16], char out[37])
{
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

int hq_uuid_parse(const char *s, uint8_t u[16])
{
    int n = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '-') continue;
        int v;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            v = *p - 'A' + 10;
        else
            return HQ_ERR_INVALID;
        if (n >= 32) return HQ_ERR_INVALID;
        if (n % 2 == 0)
            u[n / 2] = (uint8_t)(v << 4);
        else
            u[n / 2] |= (uint8_t)v;
        n++;
    }
    return n == 32 ? HQ_OK : HQ_ERR_INVALID;
}

void hq_time_rfc3339(int64_t t, int32_t off, char out[32])
{
    int64_t l = t + off;
    int32_t days = (int32_t)(l >= 0 ? l / 86400 : (l - 86399) / 86400);
    int64_t sec = l - (int64_t)days * 86400;
    int y, m, d;
    hq_ymd_from_days(days, &y, &m, &d);
    int ao = off < 0 ? -off : off;
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, m, d, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60), off < 0 ? '-' : '+', ao / 3600, ao / 60 % 60);
}

static uint64_t store__rand(struct hq_store *st)
{
    /* splitmix64: outbox uuids only need to be unique, not secret */
    uint64_t z = (st->rand_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void store__new_uuid(struct hq_store *st, char out[37])
{
    uint8_t u[16];
    uint64_t a = store__rand(st), b = store__rand(st);
    memcpy(u, &a, 8);
    memcpy(u + 8, &b, 8);
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    hq_uuid_format(u, out);
}

/* "Cannot write" (HQ_ERR_DISK_FULL): the disk is full, the file system or
 * the file is read-only, an I/O error, the file cannot be (re)opened, or
 * another process held the write lock past the busy timeout. These pass when
 * space or the disk comes back, so the daemon keeps serving from memory.
 * Anything else (a constraint, a misuse, corruption) is HQ_ERR_DB: a bug or
 * a broken file that retrying will not cure. */
static int store__err(struct hq_store *st, int rc)
{
    int ext = sqlite3_extended_errcode(st->db);
    int prim = ext & 0xff;
    if (rc == SQLITE_FULL || rc == SQLITE_READONLY || prim == SQLITE_FULL ||
        prim == SQLITE_READONLY || prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN ||
        rc == SQLITE_BUSY || prim == SQLITE_BUSY) {
        int en = sqlite3_system_errno(st->db);
        snprintf(st->why, sizeof st->why, "SQLite %d: %s%s%s", ext, sqlite3_errstr(ext),
                 en ? ", " : "", en ? strerror(en) : "");
        return HQ_ERR_DISK_FULL;
    }
    return HQ_ERR_DB;
}

/* Keep the statement s, with its values, at the end of the backlog (or in
 * place of the same row's earlier upsert). */
static int store__capture(struct hq_store *st, sqlite3_stmt *s)
{
    char *x = sqlite3_expanded_sql(s);
    if (!x) return HQ_ERR_NOMEM;
    size_t len = strlen(x) + 1;
    char *sql = malloc(len);
    if (sql) memcpy(sql, x, len);
    sqlite3_free(x);
    if (!sql) return HQ_ERR_NOMEM;
    if (st->op_key) {
        for (size_t i = 0; i < st->n_ops; i++) {
            struct store_op *o = &st->ops[i];
            if (o->kind != OP_SQL || strcmp(o->key, st->op_key) != 0) continue;
            st->backlog_bytes = st->backlog_bytes - strlen(o->sql) + strlen(sql);
            free(o->sql);
            o->sql = sql;
            return HQ_OK;
        }
    }
    if (st->n_ops == st->cap_ops) {
        size_t cap = st->cap_ops ? st->cap_ops * 2 : 64;
        struct store_op *n = realloc(st->ops, cap * sizeof *n);
        if (!n) {
            free(sql);
            return HQ_ERR_NOMEM;
        }
        st->ops = n;
        st->cap_ops = cap;
    }
    struct store_op *o = &st->ops[st->n_ops++];
    memset(o, 0, sizeof *o);
    o->kind = OP_SQL;
    o->sql = sql;
    if (st->op_key) snprintf(o->key, sizeof o->key, "%s", st->op_key);
    st->backlog_bytes += len + sizeof *o;
    return HQ_OK;
}

static const char *store__staff_id(const struct hq_engine *e, uint16_t staff)
{
    if (!staff || staff > e->cfg->n_staff) return NULL;
    return e->cfg->staff[staff - 1].id;
}

static void store__bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static void store__bind_time(sqlite3_stmt *s, int i, uint32_t t)
{
    if (t)
        sqlite3_bind_int64(s, i, t);
    else
        sqlite3_bind_null(s, i);
}

static int store__step_done(struct hq_store *st, sqlite3_stmt *s)
{
    if (st->capture) {
        int crc = store__capture(st, s);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return crc;
    }
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc == SQLITE_DONE) return HQ_OK;
    LOG_ERR("STORE", "%s: %s", st->path, sqlite3_errmsg(st->db));
    return store__err(st, rc);
}

/* A row upsert: captured once per row while the backlog is kept. */
static int store__step_row(struct hq_store *st, sqlite3_stmt *s, const char *key)
{
    st->op_key = key;
    int rc = store__step_done(st, s);
    st->op_key = NULL;
    return rc;
}

/* ------------------------------------------------------------ open/close */

/* Who holds a lock on the file fd is open on: "pid 1234 (hallqd)", from
 * /proc/locks (its device as major:minor in hex, then the inode), or "" when
 * it cannot tell (another mount namespace, no /proc). */
static void store__lock_holder(int fd, char *out, size_t len)
{
    struct stat sb;
    out[0] = 0;
    if (fstat(fd, &sb) != 0) return;
    FILE *f = fopen("/proc/locks", "re");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char kind[16], mode[16];
        long pid;
        unsigned maj, mnr;
        unsigned long long ino;
        /* "1: FLOCK  ADVISORY  WRITE 4321 08:01:1234 0 EOF"; a waiter's line has "->" */
        if (strstr(line, "->")) continue;
        if (sscanf(line, "%*d: %15s %*s %15s %ld %x:%x:%llu", kind, mode, &pid, &maj, &mnr, &ino) !=
            6)
            continue;
        if (strcmp(kind, "FLOCK") != 0 || ino != (unsigned long long)sb.st_ino ||
            maj != major(sb.st_dev) || mnr != minor(sb.st_dev) || pid == (long)getpid())
            continue;
        char comm[64] = "", p[64];
        snprintf(p, sizeof p, "/proc/%ld/comm", pid);
        FILE *c = fopen(p, "re");
        if (c) {
            if (fgets(comm, sizeof comm, c)) comm[strcspn(comm, "\n")] = 0;
            fclose(c);
        }
        snprintf(out, len, "pid %ld%s%s%s", pid, comm[0] ? " (" : "", comm, comm[0] ? ")" : "");
        break;
    }
    fclose(f);
}

/* Is the file system holding path mounted read-only? */
static bool store__fs_readonly(const char *path)
{
    struct statvfs v;
    char dir[HQ_CFG_PATH_MAX];
    if (statvfs(path, &v) == 0) return (v.f_flag & ST_RDONLY) != 0;
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, "%s", slash ? "/" : ".");
    return statvfs(dir, &v) == 0 && (v.f_flag & ST_RDONLY) != 0;
}

/* One hallqd per database: an exclusive flock on the database file itself,
 * held as long as the store is open. It is independent of SQLite's own
 * (POSIX, byte-range) locks, which a second process passes between
 * transactions, and it needs no write access (a read-only descriptor can
 * hold it, so a read-only file system is still guarded). The descriptor is
 * closed only after SQLite's connections (closing any descriptor of a file
 * drops the process's POSIX locks on it). A missing file is created empty,
 * which SQLite takes as an empty database. HQ_OK with *fd set, HQ_ERR_STATE
 * when another process holds it (err names the file and the holder),
 * HQ_ERR_DISK_FULL when it cannot be opened or created (read-only, ...). */
static int store__lock(const char *path, int *fd, char *err, size_t errlen)
{
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0 && errno == ENOENT) f = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (f < 0 && errno == EEXIST) f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0) {
        int en = errno;
        if (en == EROFS || store__fs_readonly(path))
            snprintf(err, errlen,
                     "%s: the file system is read-only and the database does not exist there: "
                     "remount it read-write (or check the disk) and start again",
                     path);
        else
            snprintf(err, errlen, "%s: cannot open the database file: %s", path, strerror(en));
        return HQ_ERR_DISK_FULL;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int en = errno;
        char holder[128];
        store__lock_holder(f, holder, sizeof holder);
        close(f);
        if (en == EWOULDBLOCK)
            snprintf(err, errlen,
                     "%s: 数据库正被另一个 hallqd 使用 / the database is in use by another hallqd "
                     "(%s): one hall, one daemon; stop that one first",
                     path, holder[0] ? holder : "holder unknown: see /proc/locks");
        else
            snprintf(err, errlen, "%s: cannot lock the database file: %s", path, strerror(en));
        return en == EWOULDBLOCK ? HQ_ERR_STATE : HQ_ERR_IO;
    }
    *fd = f;
    return HQ_OK;
}

static int64_t store__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is the open database still the file at its path (device and inode)? A
 * database deleted or replaced under a running hallqd would take commits
 * into an unlinked file and lose them at the next start. false with why set
 * when not. One stat(2) (about a microsecond): run by the daemon's timer
 * every few seconds and before a commit when the last look is older than
 * STORE_FILE_CHECK_MS, so before the first commit after idle, and at most
 * once a second in a burst. */
#define STORE_FILE_CHECK_MS 1000

static bool store__file_same(struct hq_store *st)
{
    struct stat sb;
    if (st->lock_fd < 0) return true;
    int gone = stat(st->path, &sb) != 0;
    if (!gone && sb.st_dev == st->file_dev && sb.st_ino == st->file_ino) {
        if (st->file_lost)
            LOG_NOTICE("STORE", "%s: the database file is back at its path", st->path);
        st->file_lost = false;
        return true;
    }
    if (!st->file_lost) {
        if (gone)
            snprintf(st->why, sizeof st->why,
                     "数据库文件被删除 / the database file was deleted (%s) while hallqd had it "
                     "open: put it back or restart hallqd",
                     strerror(errno));
        else
            snprintf(st->why, sizeof st->why,
                     "数据库文件被替换 / the database file was replaced while hallqd had it open "
                     "(inode %llu, now %llu): put it back or restart hallqd",
                     (unsigned long long)st->file_ino, (unsigned long long)sb.st_ino);
        LOG_ERR("STORE", "%s: %s", st->path, st->why);
    }
    st->file_lost = true;
    return false;
}

static bool store__file_same_due(struct hq_store *st)
{
    /* only the commit path's own looks count here: the timer's may have come
     * just before the file went */
    int64_t now = store__mono_ms();
    if (!st->file_lost && now - st->file_checked_ms < STORE_FILE_CHECK_MS) return true;
    st->file_checked_ms = now;
    return store__file_same(st);
}

int hq_store_check_file(struct hq_store *st)
{
    return store__file_same(st) ? HQ_OK : HQ_ERR_DISK_FULL;
}

/* ------------------------------------------------------ numbers side file */

/* A ticket number must never be handed out twice in a day, however often the
 * database is lost or moved aside. The day's highest numbers therefore live
 * also outside it, in a small file next to it (.<database name>.numbers),
 * reserved ahead in blocks as PostgreSQL logs sequences ahead: before a
 * commit that issues past the reservation, the next STORE_NUM_BLOCK serials
 * and numbers of that service are written and fsynced; issues inside the
 * block cost nothing more. After a lost or corrupt database today's numbers
 * continue above the reservation (a gap of at most a block, never a
 * repeat).
 *
 * All its I/O goes through SQLite's default VFS (xOpen/xRead/xWrite/xSync),
 * never write(2): a crash-simulation VFS registered as the default for the
 * power-cut tests then drops or tears its unsynced writes like the
 * database's. Torn-write safety: two slots of STORE_NUM_SLOT bytes at their
 * own offsets, written in turn (generation parity), each with a CRC-32;
 * a write torn anywhere spoils only the slot being written, and the other
 * holds the previous reservation, which covers every number handed out
 * before the torn write's sync returned (nothing of the new block is used
 * before that). No rename: an in-place write needs no directory fsync after
 * the file's creation (opened as a journal, the unix VFS syncs the
 * directory at the first sync). */
static uint32_t store__num_sum(const struct store_num *n)
{
    return (uint32_t)crc32(0L, (const Bytef *)n, (uInt)offsetof(struct store_num, sum));
}

static bool store__num_good(const struct store_num *n)
{
    if (memcmp(n->magic, "HQNUM01", 8) != 0 || n->n > HQ_MAX_SERVICES) return false;
    return store__num_sum(n) == n->sum;
}

/* Open the side file (creating it) and read its newest good slot into
 * st->num (zeroed when there is none). HQ_ERR_DISK_FULL when it cannot be
 * opened. */
static int store__num_open(struct hq_store *st)
{
    sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
    const char *slash = strrchr(st->path, '/');
    if (slash)
        snprintf(st->num_path, sizeof st->num_path, "%.*s/.%s.numbers", (int)(slash - st->path),
                 st->path, slash + 1);
    else
        snprintf(st->num_path, sizeof st->num_path, ".%s.numbers", st->path);
    memset(&st->num, 0, sizeof st->num);
    if (!vfs) return HQ_ERR_DB;
    sqlite3_file *f = calloc(1, (size_t)vfs->szOsFile);
    if (!f) return HQ_ERR_NOMEM;
    int out = 0;
    int rc =
        vfs->xOpen(vfs, st->num_path, f,
                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MAIN_JOURNAL, &out);
    if (rc != SQLITE_OK) {
        /* read-only file system: read what is there, never write */
        rc =
            vfs->xOpen(vfs, st->num_path, f, SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_JOURNAL, &out);
        if (rc != SQLITE_OK) {
            free(f);
            snprintf(st->why, sizeof st->why, "%.200s: cannot open the numbers file", st->num_path);
            return HQ_ERR_DISK_FULL;
        }
    }
    st->num_file = f;
    struct store_num *slot = malloc(sizeof *slot);
    if (!slot) return HQ_ERR_NOMEM;
    for (int i = 0; i < 2; i++) {
        memset(slot, 0, sizeof *slot);
        /* a short read (new or short file) zero-fills: not a good slot */
        f->pMethods->xRead(f, slot, sizeof *slot, (sqlite3_int64)i * STORE_NUM_SLOT);
        if (store__num_good(slot) && slot->gen >= st->num.gen && (slot->gen % 2) == (uint64_t)i)
            st->num = *slot;
    }
    free(slot);
    return HQ_OK;
}

static void store__num_close(struct hq_store *st)
{
    if (!st->num_file) return;
    if (st->num_file->pMethods) st->num_file->pMethods->xClose(st->num_file);
    free(st->num_file);
    st->num_file = NULL;
}

/* Write st->num into the older slot and sync it. */
static int store__num_write(struct hq_store *st)
{
    if (!st->num_file || !st->num_file->pMethods) return HQ_ERR_DISK_FULL;
    memcpy(st->num.magic, "HQNUM01", 8);
    st->num.gen++;
    st->num.sum = store__num_sum(&st->num);
    sqlite3_file *f = st->num_file;
    int rc = f->pMethods->xWrite(f, &st->num, sizeof st->num,
                                 (sqlite3_int64)(st->num.gen % 2) * STORE_NUM_SLOT);
    if (rc == SQLITE_OK) rc = f->pMethods->xSync(f, SQLITE_SYNC_FULL);
    if (rc != SQLITE_OK) {
        snprintf(st->why, sizeof st->why, "%.200s: cannot write the numbers file (SQLite %d)",
                 st->num_path, rc);
        LOG_ERR("STORE", "%s", st->why);
        return HQ_ERR_DISK_FULL;
    }
    return HQ_OK;
}

static struct store_num_ent *store__num_find(struct hq_store *st, const char *code)
{
    for (uint32_t i = 0; i < st->num.n; i++)
        if (strncmp(st->num.ent[i].code, code, sizeof st->num.ent[i].code) == 0)
            return &st->num.ent[i];
    return NULL;
}

/* Service i's numbers are about to be committed: when they pass the
 * reservation (or the day is new), reserve the next block first. */
static int store__num_reserve(struct hq_store *st, const struct hq_engine *e, size_t i)
{
    const struct hq_service_st *v = &e->svc[i];
    const struct hq_service_cfg *sc = &e->cfg->services[i];
    if (st->num.day == e->day) {
        const struct store_num_ent *have = store__num_find(st, sc->code);
        if (have && v->issued <= have->serial) return HQ_OK; /* the common case */
    }
    /* A reservation that did not reach the disk must not count: the memory
     * copy goes back when the write fails. */
    struct store_num *was = malloc(sizeof *was);
    if (!was) return HQ_ERR_NOMEM;
    *was = st->num;
    int rc = HQ_OK;
    if (st->num.day != e->day) {
        memset(st->num.ent, 0, sizeof st->num.ent);
        st->num.n = 0;
        st->num.day = e->day;
    }
    struct store_num_ent *n = store__num_find(st, sc->code);
    if (!n) {
        if (st->num.n >= HQ_MAX_SERVICES) {
            free(was);
            return HQ_ERR_LIMIT;
        }
        n = &st->num.ent[st->num.n++];
        snprintf(n->code, sizeof n->code, "%s", sc->code);
    }
    uint32_t range = (uint32_t)(sc->num_max - sc->num_min + 1);
    uint32_t last = v->last_number ? v->last_number : (uint32_t)sc->num_min - 1;
    n->serial = v->issued + STORE_NUM_BLOCK;
    n->number = (uint16_t)(last + STORE_NUM_BLOCK <= sc->num_max
                               ? last + STORE_NUM_BLOCK
                               : sc->num_min + (last + STORE_NUM_BLOCK - sc->num_min) % range);
    rc = store__num_write(st);
    if (rc) st->num = *was;
    free(was);
    return rc;
}

/* A database without today's rows (fresh after a loss, or after a corrupt
 * one was moved aside): today's numbers start above the side file's
 * reservation. Inside the caller's transaction. */
static int store__num_apply(struct hq_store *st, int32_t today, int *applied)
{
    const struct hq_engine_cfg *c = &st->cfg->engine;
    *applied = 0;
    if (st->num.day != today) return HQ_OK;
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta(key, value) VALUES('day', '%d')", today);
    sqlite3_stmt *q = NULL;
    int ok = sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(st->db,
                                "INSERT OR REPLACE INTO services(code, issued, last_number, "
                                "overtakes, handle_s, handled) VALUES(?, ?, ?, 0, ?, 0)",
                                -1, &q, NULL) == SQLITE_OK;
    for (size_t i = 0; ok && i < c->n_services; i++) {
        const struct store_num_ent *n = store__num_find(st, c->services[i].code);
        if (!n) continue;
        sqlite3_bind_text(q, 1, c->services[i].code, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, n->serial);
        sqlite3_bind_int(q, 3, n->number);
        sqlite3_bind_int64(q, 4, c->services[i].default_handle_s);
        ok = sqlite3_step(q) == SQLITE_DONE;
        sqlite3_reset(q);
        LOG_NOTICE("STORE",
                   "%s: service %s continues today above the numbers file: serial %u, number %u",
                   st->path, c->services[i].code, n->serial, n->number);
    }
    sqlite3_finalize(q);
    *applied = ok;
    return ok ? HQ_OK : HQ_ERR_DB;
}

/* Is the file at path corrupt? 1 = yes (why says how), 0 = no or cannot tell
 * (missing, empty, locked, unreadable: the ordinary open reports those).
 * Read-only, on a connection of its own: nothing is written to the file,
 * not even a checkpoint at close. */
static int store__corrupt(const char *path, char *why, size_t len)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || sb.st_size == 0) return 0;
    sqlite3 *db = NULL;
    int corrupt = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return 0;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &q, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(q);
    int prim = sqlite3_extended_errcode(db) & 0xff;
    if (rc == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(q, 0);
        if (!r || strcmp(r, "ok") != 0) {
            corrupt = 1;
            snprintf(why, len, "quick_check: %.200s", r ? r : "no answer");
        }
    } else if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT) {
        corrupt = 1;
        snprintf(why, len, "%s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return corrupt;
}

/* Move path (and its -wal and -shm) to path.corrupt-<UTC time>, never over
 * an existing file. */
static int store__move_aside(const char *path, char *to, size_t len)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
    for (int n = 1; n < 100; n++) {
        if (n == 1)
            snprintf(to, len, "%s.corrupt-%s", path, ts);
        else
            snprintf(to, len, "%s.corrupt-%s-%d", path, ts, n);
        if (renameat2(AT_FDCWD, path, AT_FDCWD, to, RENAME_NOREPLACE) == 0) break;
        if (errno != EEXIST) return -1;
        if (n == 99) return -1;
    }
    for (int i = 0; i < 2; i++) {
        const char *sfx = i ? "-shm" : "-wal";
        char a[HQ_CFG_PATH_MAX + 8], b[HQ_CFG_PATH_MAX + 64];
        snprintf(a, sizeof a, "%s%s", path, sfx);
        snprintf(b, sizeof b, "%s%s", to, sfx);
        if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE) != 0 && errno != ENOENT)
            LOG_ERR("STORE", "%s: cannot move it to %s: %s", a, b, strerror(errno));
    }
    return 0;
}

/* Latest modification of the database or its WAL (0 when neither exists). */
static time_t store__mtime(const char *path)
{
    struct stat sb;
    char wal[HQ_CFG_PATH_MAX + 8];
    time_t t = 0;
    if (stat(path, &sb) == 0) t = sb.st_mtime;
    snprintf(wal, sizeof wal, "%s-wal", path);
    if (stat(wal, &sb) == 0 && sb.st_mtime > t) t = sb.st_mtime;
    return t;
}

/* The highest outbox seq a corrupt file moved aside still shows, or 0. */
static int64_t store__old_seq(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int64_t seq = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT max(coalesce((SELECT max(seq) FROM outbox), 0), "
                           "coalesce((SELECT seq FROM sqlite_sequence WHERE name='outbox'), 0))",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        seq = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return seq > 0 ? seq : 0;
}

/* A fresh database replaced a corrupt one: keep the notice for the
 * dashboard until a manager acknowledges it, and when the old file was in
 * use today, start today's numbers at the middle of each service's range so
 * they do not meet the paper tickets still in the hall. */
static int store__salvage(struct hq_store *st, const char *moved_to, int32_t today);

static int store__after_corrupt(struct hq_store *st, const char *moved_to, const char *why,
                                time_t old_mtime, char *err, size_t errlen)
{
    const struct hq_engine_cfg *c = &st->cfg->engine;
    int64_t now = time(NULL);
    int32_t today = hq_engine_day_of(c, now);
    bool used_today = old_mtime && hq_engine_day_of(c, old_mtime) == today;
    cJSON *o = cJSON_CreateObject();
    char ts[32];
    hq_time_rfc3339(now, c->utc_offset_s, ts);
    cJSON_AddStringToObject(o, "path", st->path);
    cJSON_AddStringToObject(o, "moved_to", moved_to);
    cJSON_AddStringToObject(o, "reason", why);
    cJSON_AddStringToObject(o, "at", ts);
    cJSON_AddBoolToObject(o, "numbers_offset", used_today);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!json) return HQ_ERR_NOMEM;
    sqlite3_stmt *q = NULL;
    int ok = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(
                 st->db, "INSERT OR REPLACE INTO meta(key, value) VALUES('corrupt_moved', ?)", -1,
                 &q, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(q, 1, json, -1, SQLITE_TRANSIENT);
        ok = sqlite3_step(q) == SQLITE_DONE;
    }
    sqlite3_finalize(q);
    q = NULL;
    /* seq is never reused (PROTOCOLS §5) and the server keeps the first
     * record it got under each: the fresh outbox starts above anything the
     * old file may have sent, found in the old file where it still reads,
     * and at least at the clock's seconds (far above any hall's count of
     * records). Batches then say gone_through below it (docs/SYNC.md). */
    if (ok) {
        int64_t from = store__old_seq(moved_to) + 1;
        if (from < now) from = now;
        ok =
            sqlite3_prepare_v2(st->db, "INSERT INTO sqlite_sequence(name, seq) VALUES('outbox', ?)",
                               -1, &q, NULL) == SQLITE_OK;
        if (ok) {
            sqlite3_bind_int64(q, 1, from - 1);
            ok = sqlite3_step(q) == SQLITE_DONE;
        }
        sqlite3_finalize(q);
        q = NULL;
        if (ok) LOG_NOTICE("STORE", "the fresh outbox starts at seq %lld", (long long)from);
    }
    int from_file = 0;
    if (ok) ok = store__num_apply(st, today, &from_file) == HQ_OK;
    if (ok && used_today && !from_file) {
        /* no numbers file for today (lost too): the middle of the range */
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta(key, value) VALUES('day', '%d')",
                 today);
        ok = sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(st->db,
                                "INSERT OR REPLACE INTO services(code, issued, last_number, "
                                "overtakes, handle_s, handled) VALUES(?, 0, ?, 0, ?, 0)",
                                -1, &q, NULL) == SQLITE_OK;
        for (size_t i = 0; ok && i < c->n_services; i++) {
            const struct hq_service_cfg *sc = &c->services[i];
            int last = sc->num_min + (sc->num_max - sc->num_min + 1) / 2 - 1;
            sqlite3_bind_text(q, 1, sc->code, -1, SQLITE_STATIC);
            sqlite3_bind_int(q, 2, last);
            sqlite3_bind_int64(q, 3, sc->default_handle_s);
            ok = sqlite3_step(q) == SQLITE_DONE;
            sqlite3_reset(q);
        }
        sqlite3_finalize(q);
    }
    if (!ok || sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: the fresh database cannot be written: %s", st->path,
                 sqlite3_errmsg(st->db));
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        free(json);
        return HQ_ERR_DB;
    }
    free(st->notice);
    st->notice = json;
    if (used_today) {
        int n = store__salvage(st, moved_to, today);
        /* the notice says how many came back */
        cJSON *nj = cJSON_Parse(json);
        if (nj) {
            cJSON_AddNumberToObject(nj, "salvaged", n);
            char *j2 = cJSON_PrintUnformatted(nj);
            cJSON_Delete(nj);
            sqlite3_stmt *u = NULL;
            if (j2 &&
                sqlite3_prepare_v2(st->db, "UPDATE meta SET value=? WHERE key='corrupt_moved'", -1,
                                   &u, NULL) == SQLITE_OK) {
                sqlite3_bind_text(u, 1, j2, -1, SQLITE_TRANSIENT);
                if (sqlite3_step(u) == SQLITE_DONE) {
                    free(st->notice);
                    st->notice = j2;
                    j2 = NULL;
                }
            }
            sqlite3_finalize(u);
            free(j2);
        }
    }
    return HQ_OK;
}

/* A database with no day yet while the numbers file holds today's: the
 * database was lost today (deleted, or moved aside by hand) and this one is
 * fresh. Today's numbers continue above the file's reservation. The outbox
 * is left to start at 1 as on a new SD card: the central server refuses the
 * reused seqs with 409 and the up-link raises its alarm (docs/SYNC.md), which
 * is what a lost database should cause; a new hall has no numbers file and
 * starts at 1 quietly. */
static int store__after_missing(struct hq_store *st, char *err, size_t errlen)
{
    int32_t today = hq_engine_day_of(&st->cfg->engine, time(NULL));
    if (!st->num.gen || st->num.day != today) return HQ_OK;
    sqlite3_stmt *q = NULL;
    int fresh = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT count(*) = 0 FROM meta WHERE key='day'", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        fresh = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (!fresh) return HQ_OK;
    int applied = 0;
    int ok = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
             store__num_apply(st, today, &applied) == HQ_OK;
    if (!ok || sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: the fresh database cannot be written: %s", st->path,
                 sqlite3_errmsg(st->db));
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return HQ_ERR_DB;
    }
    LOG_WARN("STORE",
             "%s: 今日数据库丢失，已新建，号码接续 / today's database was lost (%s holds today's "
             "numbers): a fresh one is started and today's numbers continue above them",
             st->path, st->num_path);
    return HQ_OK;
}

/* Citizens holding paper tickets when a corrupt file went aside must still
 * be called: today's live tickets are read from the moved file (read-only,
 * row by row in key order, keeping every row that reads until the first
 * that does not) and put back in the fresh database as waiting, in their old
 * order, with their uuids (the central server sees the same tickets go on).
 * Called, served and parked ones wait again: no window is open after the
 * restart. Renumbered ids keep tickets.id = day << 20 | the engine's index.
 * The services' serials then start above the salvaged ones. Returns how many
 * were salvaged; what did not read is re-registered by staff
 * (POST /api/v1/tickets/reregister). */
static int store__salvage(struct hq_store *st, const char *moved_to, int32_t today)
{
    sqlite3 *old = NULL;
    sqlite3_stmt *q = NULL, *ins = NULL;
    int n = 0, rc;
    if (sqlite3_open_v2(moved_to, &old, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(old);
        return 0;
    }
    sqlite3_busy_timeout(old, 1000);
    if (sqlite3_prepare_v2(old,
                           "SELECT uuid, service, orig_service, serial, number, label, priority, "
                           "channel, recalls, requeues, flags, issued_at, queued_at, id_hash, "
                           "name_masked FROM tickets WHERE day=?1 AND status IN "
                           "('waiting','called','serving','parked') ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO tickets(id, uuid, day, service, orig_service, serial, "
                           "number, label, priority, channel, status, recalls, requeues, flags, "
                           "window, target_window, issued_at, queued_at, id_hash, name_masked) "
                           "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,'waiting',?11,?12,?13,0,0,?14,"
                           "?15,?16,?17)",
                           -1, &ins, NULL) != SQLITE_OK) {
        LOG_WARN("STORE", "%s: nothing of today's queue could be read: %s", moved_to,
                 sqlite3_errmsg(old));
        sqlite3_finalize(q);
        sqlite3_close(old);
        if (sqlite3_get_autocommit(st->db) == 0) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return 0;
    }
    sqlite3_bind_int(q, 1, today);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n >= (1 << 20)) break;
        sqlite3_bind_int64(ins, 1, ((int64_t)today << 20) | n);
        for (int c = 0; c < 15; c++) /* uuid is ?2, the rest ?4.. (the day is ?3) */
            sqlite3_bind_value(ins, c == 0 ? 2 : c + 3, sqlite3_column_value(q, c));
        sqlite3_bind_int(ins, 3, today);
        if (sqlite3_step(ins) == SQLITE_DONE)
            n++;
        else
            LOG_WARN("STORE", "%s: a salvaged ticket (%s) was refused: %s", st->path,
                     (const char *)sqlite3_column_text(q, 5), sqlite3_errmsg(st->db));
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
    }
    if (rc != SQLITE_DONE)
        LOG_WARN("STORE",
                 "%s: today's queue read only in part (%d tickets, then: %s); staff re-register "
                 "the held numbers that are missing",
                 moved_to, n, sqlite3_errmsg(old));
    sqlite3_finalize(q);
    sqlite3_finalize(ins);
    sqlite3_close(old);
    char sql[320];
    snprintf(sql, sizeof sql,
             "UPDATE services SET issued = max(issued, coalesce((SELECT max(serial) FROM tickets "
             "WHERE day=%d AND orig_service=services.code), 0))",
             today);
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        LOG_ERR("STORE", "%s: the salvaged queue cannot be written: %s", st->path,
                sqlite3_errmsg(st->db));
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return 0;
    }
    if (n)
        LOG_NOTICE("STORE",
                   "%s: 已从损坏文件恢复 %d 张今日排队票 / %d of today's waiting tickets were "
                   "salvaged from %s",
                   st->path, n, n, moved_to);
    return n;
}

int hq_store_open(const struct hq_config *cfg, struct hq_store **out, char *err, size_t errlen)
{
    struct hq_store *st = calloc(1, sizeof *st);
    int rc = HQ_ERR_DB;
    if (!st) return HQ_ERR_NOMEM;
    st->cfg = cfg;
    st->lock_fd = -1;
    snprintf(st->path, sizeof st->path, "%s", cfg->database);

    FILE *ur = fopen("/dev/urandom", "rb");
    if (!ur || fread(&st->rand_state, sizeof st->rand_state, 1, ur) != 1)
        st->rand_state = (uint64_t)getpid() ^ (uint64_t)time(NULL) << 20;
    if (ur) fclose(ur);

    /* A corrupt file is never written over nor deleted: it goes aside, with
     * its WAL, and the hall starts on a fresh database with an alarm. A file
     * that is merely locked, foreign or of a newer schema is not corrupt:
     * the checks below refuse it as before. */
    char why[256] = "", moved_to[HQ_CFG_PATH_MAX + 64] = "";
    time_t old_mtime = 0;
    rc = store__lock(st->path, &st->lock_fd, err, errlen);
    if (rc) goto fail;
    if (store__corrupt(st->path, why, sizeof why)) {
        old_mtime = store__mtime(st->path);
        if (store__move_aside(st->path, moved_to, sizeof moved_to) != 0) {
            snprintf(err, errlen,
                     "%s: the database is corrupt (%s) and cannot be moved aside: %s; move it "
                     "away by hand to start with an empty one",
                     st->path, why, strerror(errno));
            goto fail;
        }
        LOG_ERR("STORE",
                "%s: 数据库文件已损坏（%s），已移至 %s，以空数据库启动 / the database is corrupt "
                "(%s): it was moved to %s (with its -wal and -shm) and a fresh database is "
                "started",
                st->path, why, moved_to, why, moved_to);
        /* the lock went with the old file: the fresh one gets its own */
        int old_fd = st->lock_fd;
        st->lock_fd = -1;
        rc = store__lock(st->path, &st->lock_fd, err, errlen);
        close(old_fd);
        if (rc) goto fail;
        rc = HQ_ERR_DB;
    }

    if (sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open the database: %s", st->path,
                 st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 2000);
    sqlite3_extended_result_codes(st->db, 1);

    /* The first read tells a corrupt or foreign file apart before anything is
     * written over it. */
    char *msg = NULL;
    if (sqlite3_exec(st->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, &msg) != SQLITE_OK) {
        /* A WAL database on a read-only file system cannot even be read
         * (its -shm cannot be made): that is no fault of the file, and
         * moving a healthy file aside would lose the day's queue. */
        if (store__fs_readonly(st->path) || sqlite3_db_readonly(st->db, "main") == 1) {
            snprintf(err, errlen,
                     "%s: 文件系统为只读，数据库无法写入（文件本身完好，请勿移走） / the file "
                     "system holding the database is read-only (%s): the file itself is not at "
                     "fault, do not move it; remount read-write or check the disk "
                     "(dmesg), then start again",
                     st->path, msg ? msg : sqlite3_errmsg(st->db));
            sqlite3_free(msg);
            rc = HQ_ERR_DISK_FULL;
            goto fail;
        }
        snprintf(err, errlen,
                 "%s: not a usable database (%s); it was left untouched: move it aside to "
                 "start with an empty one",
                 st->path, msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        goto fail;
    }
    /* 1 KiB pages for a new database: a command dirties a handful of pages
     * (its rows and their index entries), and with WAL every dirty page is
     * written whole and fsynced; small pages cut the bytes each commit
     * writes to the SD card by four. Only a file with no pages yet takes it. */
    sqlite3_exec(st->db, "PRAGMA page_size=1024", NULL, NULL, NULL);
    if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL", NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot switch to WAL mode: %s", st->path, msg);
        sqlite3_free(msg);
        goto fail;
    }
    const char *sync = strcmp(cfg->synchronous, "normal") == 0 ? "PRAGMA synchronous=NORMAL"
                                                               : "PRAGMA synchronous=FULL";
    sqlite3_exec(st->db, sync, NULL, NULL, NULL);
    /* 1 MiB of page cache: the day's hot rows are few (the engine holds the
     * state), and a hall box has little memory to spare. */
    sqlite3_exec(st->db, "PRAGMA foreign_keys=ON; PRAGMA cache_size=-1024", NULL, NULL, NULL);

    /* A hallq database has our tables or none at all. */
    sqlite3_stmt *s = NULL;
    int tables = 0, ours = 0;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT count(*), sum(name IN ('meta','tickets','outbox')) "
                           "FROM sqlite_master WHERE type='table'",
                           -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        tables = sqlite3_column_int(s, 0);
        ours = sqlite3_column_int(s, 1);
    }
    sqlite3_finalize(s);
    if (tables > 0 && ours < 3) {
        snprintf(err, errlen, "%s: this is an SQLite database but not a hallq one; refusing it",
                 st->path);
        goto fail;
    }
    rc = store__migrate(st, err, errlen);
    if (rc) goto fail;
    rc = store__num_open(st);
    if (rc) {
        snprintf(err, errlen, "%s: %s", st->path, st->why);
        goto fail;
    }
    if (!moved_to[0]) {
        rc = store__after_missing(st, err, errlen);
        if (rc) goto fail;
    }
    if (moved_to[0]) {
        rc = store__after_corrupt(st, moved_to, why, old_mtime, err, errlen);
        if (rc) goto fail;
    } else {
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key='corrupt_moved'", -1, &q,
                               NULL) == SQLITE_OK &&
            sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
            st->notice = strdup((const char *)sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
    }
    for (int i = 0; i < ST__COUNT; i++)
        if (sqlite3_prepare_v3(st->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->st[i],
                               NULL) != SQLITE_OK) {
            snprintf(err, errlen, "%s: %s", st->path, sqlite3_errmsg(st->db));
            rc = HQ_ERR_DB;
            goto fail;
        }
    sqlite3_exec(st->db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
    if (pthread_create(&st->ckpt_thread, NULL, store__checkpointer, st) == 0) {
        st->ckpt_started = 1;
        sqlite3_wal_hook(st->db, store__wal_hook, st);
    } else {
        /* without the thread, SQLite's own checkpoints keep the WAL bounded */
        sqlite3_exec(st->db, "PRAGMA wal_autocheckpoint=1000", NULL, NULL, NULL);
    }
    struct stat fsb;
    if (fstat(st->lock_fd, &fsb) == 0) {
        st->file_dev = fsb.st_dev;
        st->file_ino = fsb.st_ino;
    }
    st->file_checked_ms = store__mono_ms();
    *out = st;
    return HQ_OK;
fail:
    hq_store_close(st);
    return rc ? rc : HQ_ERR_DB;
}

void hq_store_close(struct hq_store *st)
{
    if (!st) return;
    if (st->ckpt_started) {
        atomic_store(&st->ckpt_stop, 1);
        pthread_join(st->ckpt_thread, NULL);
    }
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(st->st[i]);
    if (st->db) sqlite3_close(st->db);
    store__num_close(st);
    if (st->lock_fd >= 0) close(st->lock_fd); /* after SQLite's: see store__lock */
    hq_store_backlog_drop(st);
    free(st->notice);
    free(st);
}

/* One DELETE of a retention step: binds ?1 (a cutoff) and ?2 (the limit). */
static int store__prune_one(struct hq_store *st, const char *sql, int64_t cutoff, int limit,
                            int64_t *n)
{
    sqlite3_stmt *s = NULL;
    int rc = HQ_ERR_DB;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, cutoff);
        sqlite3_bind_int(s, 2, limit);
        if (sqlite3_step(s) == SQLITE_DONE) {
            *n = sqlite3_changes(st->db);
            rc = HQ_OK;
        }
    }
    if (rc) LOG_ERR("STORE", "%s: retention: %s", st->path, sqlite3_errmsg(st->db));
    sqlite3_finalize(s);
    return rc;
}

/* A window of a table in key order: the next `limit` rows from *from on
 * (`window` selects max(key), count(*) of them; ?1 from, ?2 limit), of which
 * those older than the cutoff go (`del`: ?1 from, ?2 the window's last key,
 * ?3 the cutoff). *from moves past the window. A row whose time is out of
 * order (the clock was wrong when it was written) stays and is passed over,
 * so it never holds up the rows after it; *more says whether the next window
 * is worth a look: this one was full and held old rows (once a window holds
 * only young rows, the rest is younger still). */
static int store__prune_window(struct hq_store *st, const char *window, const char *del,
                               int64_t *from, int64_t cutoff, int limit, int64_t *n, bool *more)
{
    sqlite3_stmt *s = NULL;
    int64_t last = 0, seen = 0;
    *n = 0;
    *more = false;
    int rc = HQ_ERR_DB;
    if (sqlite3_prepare_v2(st->db, window, -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, *from);
        sqlite3_bind_int(s, 2, limit);
        if (sqlite3_step(s) == SQLITE_ROW) {
            last = sqlite3_column_int64(s, 0);
            seen = sqlite3_column_int64(s, 1);
            rc = HQ_OK;
        }
    }
    sqlite3_finalize(s);
    s = NULL;
    if (!rc && seen &&
        (rc = HQ_ERR_DB, sqlite3_prepare_v2(st->db, del, -1, &s, NULL) == SQLITE_OK)) {
        sqlite3_bind_int64(s, 1, *from);
        sqlite3_bind_int64(s, 2, last);
        sqlite3_bind_int64(s, 3, cutoff);
        if (sqlite3_step(s) == SQLITE_DONE) {
            *n = sqlite3_changes(st->db);
            *from = last + 1;
            *more = seen == limit && *n > 0;
            rc = HQ_OK;
        }
    }
    if (rc) LOG_ERR("STORE", "%s: retention: %s", st->path, sqlite3_errmsg(st->db));
    sqlite3_finalize(s);
    return rc;
}

int hq_store_prune(struct hq_store *st, const struct hq_store_prune_at *at, int limit,
                   struct hq_store_prune_pos *pos, struct hq_store_pruned *out)
{
    bool more = false;
    memset(out, 0, sizeof *out);
    int rc = hq_store_begin(st);
    if (rc) return rc;
    /* Acknowledged records, in seq order; `at` is RFC 3339 with the hall's
     * offset, which julianday() reads. */
    rc = store__prune_window(
        st,
        "SELECT max(seq), count(*) FROM (SELECT seq FROM outbox WHERE acked=1 AND seq >= ?1 "
        "ORDER BY seq LIMIT ?2)",
        "DELETE FROM outbox WHERE seq BETWEEN ?1 AND ?2 AND acked=1 AND julianday(at) < "
        "julianday(?3, 'unixepoch')",
        &pos->outbox_seq, at->outbox_before, limit, &out->outbox, &more);
    out->more |= more;
    if (!rc && at->events_before > 0) {
        rc = store__prune_window(
            st,
            "SELECT max(id), count(*) FROM (SELECT id FROM events WHERE id >= ?1 ORDER BY id "
            "LIMIT ?2)",
            "DELETE FROM events WHERE id BETWEEN ?1 AND ?2 AND at < ?3", &pos->event_id,
            at->events_before, limit, &out->events, &more);
        out->more |= more;
    }
    /* tickets.id = day << 20 | index: a day's tickets are one id range */
    if (!rc && at->history_day > 0)
        rc = store__prune_one(st,
                              "DELETE FROM tickets WHERE id IN (SELECT id FROM tickets WHERE id < "
                              "?1 ORDER BY id LIMIT ?2)",
                              (int64_t)at->history_day << 20, limit, &out->tickets);
    if (!rc && at->history_day > 0)
        rc = store__prune_one(st,
                              "DELETE FROM evaluations WHERE rowid IN (SELECT rowid FROM "
                              "evaluations WHERE day < ?1 AND (level > 2 OR follow_up_state IN "
                              "('none','closed')) ORDER BY day LIMIT ?2)",
                              at->history_day, limit, &out->evaluations);
    /* the cases bound to tickets (hqd_rating.c) go with the history: set
     * before the first kept day's local midnight */
    int64_t cases = 0;
    if (!rc && at->history_day > 0)
        rc = store__prune_one(st,
                              "DELETE FROM cases WHERE rowid IN (SELECT rowid FROM cases WHERE "
                              "set_at < ?1 LIMIT ?2)",
                              (int64_t)at->history_day * 86400 - st->cfg->engine.utc_offset_s,
                              limit, &cases);
    /* sealed ID numbers of tickets that were never rated, once no rating can come */
    int64_t sealed = 0;
    if (!rc && at->sealed_before > 0)
        rc = store__prune_one(st,
                              "DELETE FROM ticket_ids WHERE rowid IN (SELECT rowid FROM ticket_ids "
                              "WHERE at < ?1 LIMIT ?2)",
                              at->sealed_before, limit, &sealed);
    out->more |=
        out->tickets == limit || out->evaluations == limit || cases == limit || sealed == limit;
    if (rc) {
        hq_store_end(st, 1);
        memset(out, 0, sizeof *out);
        return rc;
    }
    return hq_store_end(st, 0);
}

sqlite3 *hq_store_db(struct hq_store *st)
{
    /* Whoever reads or writes next sees only committed commands, and never
     * joins a group of commands in flight. */
    hq_store_flush(st);
    return st->db;
}

/* ------------------------------------------------------------------ load */

static int store__service_by_code(const struct hq_engine_cfg *c, const char *code)
{
    for (size_t i = 0; i < c->n_services; i++)
        if (code && strcmp(c->services[i].code, code) == 0) return (int)i;
    return -1;
}

static int store__name_index(const char *(*fn)(int), int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (name && strcmp(fn(i), name) == 0) return i;
    return -1;
}

static int store__hex8(const char *s, uint8_t out[8])
{
    if (!s || strlen(s) != 16) return -1;
    for (int i = 0; i < 8; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

int hq_store_load(struct hq_store *st, struct hq_engine *e, char *err, size_t errlen)
{
    const struct hq_engine_cfg *c = e->cfg;
    sqlite3_stmt *s = NULL;
    int rc = HQ_OK;
    int32_t day = 0;

    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key='day'", -1, &s, NULL) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        day = (int32_t)atol((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    st->saved_day = day;
    if (!day) return hq_engine_load_done(e); /* a fresh database */
    hq_engine_load_day(e, day);

    /* Tickets of the day in insertion order, which is the engine's index
     * order (an upsert keeps its rowid). A ticket whose service left the
     * configuration cannot be loaded: refuse rather than shift every index. */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT uuid, service, orig_service, serial, number, priority, channel, "
                           "status, recalls, requeues, flags, window, target_window, staff, "
                           "issued_at, queued_at, called_at, served_at, finished_at, id_hash, "
                           "name_masked FROM tickets WHERE day=? ORDER BY id",
                           -1, &s, NULL) != SQLITE_OK)
        goto sqlfail;
    sqlite3_bind_int(s, 1, day);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct hq_ticket t = {0};
        const char *uuid = (const char *)sqlite3_column_text(s, 0);
        int svc = store__service_by_code(c, (const char *)sqlite3_column_text(s, 1));
        int osvc = store__service_by_code(c, (const char *)sqlite3_column_text(s, 2));
        int prio = store__name_index(hq_priority_name, HQ_PRIO__COUNT,
                                     (const char *)sqlite3_column_text(s, 5));
        int chan = store__name_index(hq_channel_name, HQ_CHAN__COUNT,
                                     (const char *)sqlite3_column_text(s, 6));
        int status = store__name_index(hq_ticket_status_name, HQ_TS__COUNT,
                                       (const char *)sqlite3_column_text(s, 7));
        if (svc < 0 || osvc < 0) {
            snprintf(err, errlen,
                     "%s: today's ticket %s belongs to service \"%s\", which the configuration "
                     "no longer has; put the service back until the day ends",
                     st->path, uuid, sqlite3_column_text(s, svc < 0 ? 1 : 2));
            rc = HQ_ERR_CONFIG;
            goto out;
        }
        if (!uuid || hq_uuid_parse(uuid, t.uuid) || prio < 0 || chan < 0 || status < 0) {
            snprintf(err, errlen, "%s: ticket row %s is damaged", st->path, uuid ? uuid : "?");
            rc = HQ_ERR_DB;
            goto out;
        }
        t.service = (uint8_t)svc;
        t.orig_service = (uint8_t)osvc;
        t.serial = (uint32_t)sqlite3_column_int64(s, 3);
        t.number = (uint16_t)sqlite3_column_int(s, 4);
        t.priority = (uint8_t)prio;
        t.channel = (uint8_t)chan;
        t.status = (uint8_t)status;
        t.recalls = (uint8_t)sqlite3_column_int(s, 8);
        t.requeues = (uint8_t)sqlite3_column_int(s, 9);
        t.flags = (uint8_t)sqlite3_column_int(s, 10);
        t.window = (uint16_t)sqlite3_column_int(s, 11);
        t.target_window = (uint16_t)sqlite3_column_int(s, 12);
        int staff = hq_engine_staff_index(e, (const char *)sqlite3_column_text(s, 13));
        t.staff = (uint16_t)(staff < 0 ? 0 : staff + 1);
        t.issued_at = (uint32_t)sqlite3_column_int64(s, 14);
        t.queued_at = (uint32_t)sqlite3_column_int64(s, 15);
        t.called_at = (uint32_t)sqlite3_column_int64(s, 16);
        t.served_at = (uint32_t)sqlite3_column_int64(s, 17);
        t.finished_at = (uint32_t)sqlite3_column_int64(s, 18);
        store__hex8((const char *)sqlite3_column_text(s, 19), t.id_hash);
        const char *nm = (const char *)sqlite3_column_text(s, 20);
        if (nm) snprintf(t.name_masked, sizeof t.name_masked, "%s", nm);
        rc = hq_engine_load_ticket(e, &t);
        if (rc) {
            snprintf(err, errlen, "%s: ticket %s could not be loaded: %s", st->path, uuid,
                     hq_strerror(rc));
            goto out;
        }
    }
    if (step != SQLITE_DONE) goto sqlfail;
    sqlite3_finalize(s);

    if (sqlite3_prepare_v2(st->db,
                           "SELECT code, issued, last_number, overtakes, handle_s, handled "
                           "FROM services",
                           -1, &s, NULL) != SQLITE_OK)
        goto sqlfail;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int i = store__service_by_code(c, (const char *)sqlite3_column_text(s, 0));
        if (i < 0) continue;
        struct hq_service_st sv = {
            .issued = (uint32_t)sqlite3_column_int64(s, 1),
            .last_number = (uint16_t)sqlite3_column_int(s, 2),
            .overtakes = (uint16_t)sqlite3_column_int(s, 3),
            .handle_s = (uint32_t)sqlite3_column_int64(s, 4),
            .handled = (uint32_t)sqlite3_column_int64(s, 5),
        };
        hq_engine_load_service(e, (size_t)i, &sv);
    }
    sqlite3_finalize(s);

    if (sqlite3_prepare_v2(st->db,
                           "SELECT number, state, staff, current, state_since, last_call_at, "
                           "rating_ticket, rating_deadline, pause_reason, help_at FROM windows",
                           -1, &s, NULL) != SQLITE_OK)
        goto sqlfail;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int i = hq_engine_window_index(e, (uint16_t)sqlite3_column_int(s, 0));
        if (i < 0) continue;
        int state = store__name_index(hq_window_state_name, HQ_WS__COUNT,
                                      (const char *)sqlite3_column_text(s, 1));
        int staff = hq_engine_staff_index(e, (const char *)sqlite3_column_text(s, 2));
        struct hq_window_st w = {
            .state = (uint8_t)(state < 0 ? HQ_WS_CLOSED : state),
            .staff = (uint16_t)(staff < 0 ? 0 : staff + 1),
            .current = -1,
            .state_since = (uint32_t)sqlite3_column_int64(s, 4),
            .last_call_at = (uint32_t)sqlite3_column_int64(s, 5),
            .rating_ticket = -1,
            .rating_deadline = (uint32_t)sqlite3_column_int64(s, 7),
        };
        uint8_t u[16];
        const char *cur = (const char *)sqlite3_column_text(s, 3);
        if (cur && hq_uuid_parse(cur, u) == HQ_OK) w.current = hq_engine_find_uuid(e, u);
        const char *rt = (const char *)sqlite3_column_text(s, 6);
        if (rt && hq_uuid_parse(rt, u) == HQ_OK) w.rating_ticket = hq_engine_find_uuid(e, u);
        const char *pr = (const char *)sqlite3_column_text(s, 8);
        if (w.state == HQ_WS_PAUSED)
            snprintf(w.pause_reason, sizeof w.pause_reason, "%s",
                     pr && *pr ? pr : HQ_PAUSE_DEFAULT);
        w.help_at = (uint32_t)sqlite3_column_int64(s, 9);
        if (w.state != HQ_WS_CLOSED && !w.staff) w.state = HQ_WS_CLOSED; /* clerk left roster */
        hq_engine_load_window(e, (size_t)i, &w);
    }
    sqlite3_finalize(s);
    s = NULL;
    rc = hq_engine_load_done(e);
    if (rc) snprintf(err, errlen, "%s: the stored queue state is inconsistent", st->path);
    return rc;
sqlfail:
    snprintf(err, errlen, "%s: reading the queue state failed: %s", st->path,
             sqlite3_errmsg(st->db));
    rc = HQ_ERR_DB;
out:
    sqlite3_finalize(s);
    return rc;
}

/* ---------------------------------------------------------------- commit */

static void store__ymd(int32_t day, char out[11])
{
    int y, m, d;
    hq_ymd_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

static void store__add_time(cJSON *o, const char *key, uint32_t t, int32_t off)
{
    if (!t) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    char buf[32];
    hq_time_rfc3339(t, off, buf);
    cJSON_AddStringToObject(o, key, buf);
}

/* The ticket record sent to the central server: the ticket's whole life. */
static cJSON *store__ticket_json(const struct hq_engine *e, const struct hq_ticket *t)
{
    const struct hq_engine_cfg *c = e->cfg;
    char buf[40];
    cJSON *o = cJSON_CreateObject();
    hq_uuid_format(t->uuid, buf);
    cJSON_AddStringToObject(o, "uuid", buf);
    store__ymd(e->day, buf);
    cJSON_AddStringToObject(o, "day", buf);
    cJSON_AddStringToObject(o, "number", hq_ticket_label(e, t, buf, sizeof buf));
    cJSON_AddNumberToObject(o, "serial", t->serial);
    cJSON_AddStringToObject(o, "service", c->services[t->service].code);
    cJSON_AddStringToObject(o, "issued_for", c->services[t->orig_service].code);
    cJSON_AddStringToObject(o, "task_code", c->services[t->service].task_code);
    cJSON_AddStringToObject(o, "priority", hq_priority_name(t->priority));
    cJSON_AddStringToObject(o, "channel", hq_channel_name(t->channel));
    cJSON_AddStringToObject(o, "status", hq_ticket_status_name(t->status));
    cJSON_AddNumberToObject(o, "recalls", t->recalls);
    cJSON_AddNumberToObject(o, "requeues", t->requeues);
    cJSON_AddBoolToObject(o, "transferred", (t->flags & HQ_TF_TRANSFERRED) != 0);
    cJSON_AddBoolToObject(o, "real_name", (t->flags & HQ_TF_HAS_ID) != 0);
    cJSON_AddBoolToObject(o, "assist", (t->flags & HQ_TF_ASSIST) != 0);
    if (t->window)
        cJSON_AddNumberToObject(o, "window", t->window);
    else
        cJSON_AddNullToObject(o, "window");
    const char *sid = store__staff_id(e, t->staff);
    if (sid)
        cJSON_AddStringToObject(o, "staff", sid);
    else
        cJSON_AddNullToObject(o, "staff");
    store__add_time(o, "issued_at", t->issued_at, c->utc_offset_s);
    store__add_time(o, "called_at", t->called_at, c->utc_offset_s);
    store__add_time(o, "served_at", t->served_at, c->utc_offset_s);
    store__add_time(o, "finished_at", t->finished_at, c->utc_offset_s);
    if (t->called_at) cJSON_AddNumberToObject(o, "wait_s", t->called_at - t->issued_at);
    if (t->finished_at && (t->served_at || t->called_at))
        cJSON_AddNumberToObject(o, "handle_s",
                                t->finished_at - (t->served_at ? t->served_at : t->called_at));
    return o;
}

static int store__outbox(struct hq_store *st, const char *type, int64_t at, cJSON *data)
{
    char uuid[37], ts[32];
    char *json = cJSON_PrintUnformatted(data);
    cJSON_Delete(data);
    if (!json) return HQ_ERR_NOMEM;
    store__new_uuid(st, uuid);
    hq_time_rfc3339(at, st->cfg->engine.utc_offset_s, ts);
    sqlite3_stmt *s = st->st[ST_OUTBOX];
    sqlite3_bind_text(s, 1, uuid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, ts, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, json, -1, free);
    return store__step_done(st, s);
}

static int store__write_ticket(struct hq_store *st, const struct hq_engine *e,
                               const struct hq_ticket *t)
{
    const struct hq_engine_cfg *c = e->cfg;
    sqlite3_stmt *s = st->st[ST_TICKET];
    char uuid[37], label[16], hash[17];
    hq_uuid_format(t->uuid, uuid);
    sqlite3_bind_text(s, 1, uuid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 2, e->day);
    sqlite3_bind_text(s, 3, c->services[t->service].code, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, c->services[t->orig_service].code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, t->serial);
    sqlite3_bind_int(s, 6, t->number);
    sqlite3_bind_text(s, 7, hq_ticket_label(e, t, label, sizeof label), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 8, hq_priority_name(t->priority), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, hq_channel_name(t->channel), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, hq_ticket_status_name(t->status), -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 11, t->recalls);
    sqlite3_bind_int(s, 12, t->requeues);
    sqlite3_bind_int(s, 13, t->flags);
    sqlite3_bind_int(s, 14, t->window);
    sqlite3_bind_int(s, 15, t->target_window);
    store__bind_text_or_null(s, 16, store__staff_id(e, t->staff));
    sqlite3_bind_int64(s, 17, t->issued_at);
    sqlite3_bind_int64(s, 18, t->queued_at);
    store__bind_time(s, 19, t->called_at);
    store__bind_time(s, 20, t->served_at);
    store__bind_time(s, 21, t->finished_at);
    if (t->flags & HQ_TF_HAS_ID) {
        for (int i = 0; i < 8; i++)
            snprintf(hash + 2 * i, 3, "%02x", t->id_hash[i]);
        sqlite3_bind_text(s, 22, hash, 16, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(s, 22);
    }
    store__bind_text_or_null(s, 23, t->name_masked);
    if (t - e->tickets >= (1 << 20)) return HQ_ERR_LIMIT; /* a million tickets in a day */
    int64_t id = ((int64_t)e->day << 20) | (int64_t)(t - e->tickets);
    sqlite3_bind_int64(s, 24, id);
    char key[24];
    snprintf(key, sizeof key, "t:%lld", (long long)id);
    return store__step_row(st, s, key);
}

static int store__write_window(struct hq_store *st, const struct hq_engine *e, size_t i)
{
    const struct hq_window_st *w = &e->win[i];
    sqlite3_stmt *s = st->st[ST_WINDOW];
    char uuid[37];
    sqlite3_bind_int(s, 1, e->cfg->windows[i].number);
    sqlite3_bind_text(s, 2, hq_window_state_name(w->state), -1, SQLITE_STATIC);
    store__bind_text_or_null(s, 3, store__staff_id(e, w->staff));
    if (w->current >= 0 && (size_t)w->current < e->n_tickets) {
        hq_uuid_format(e->tickets[w->current].uuid, uuid);
        sqlite3_bind_text(s, 4, uuid, -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(s, 5, w->state_since);
    sqlite3_bind_int64(s, 6, w->last_call_at);
    if (w->rating_ticket >= 0 && (size_t)w->rating_ticket < e->n_tickets) {
        hq_uuid_format(e->tickets[w->rating_ticket].uuid, uuid);
        sqlite3_bind_text(s, 7, uuid, -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(s, 8, w->rating_deadline);
    store__bind_text_or_null(s, 9, w->state == HQ_WS_PAUSED ? w->pause_reason : NULL);
    sqlite3_bind_int64(s, 10, w->help_at);
    char key[24];
    snprintf(key, sizeof key, "w:%u", e->cfg->windows[i].number);
    return store__step_row(st, s, key);
}

static int store__write_service(struct hq_store *st, const struct hq_engine *e, size_t i)
{
    const struct hq_service_st *v = &e->svc[i];
    sqlite3_stmt *s = st->st[ST_SERVICE];
    if (!st->capture) { /* degraded storage issues nothing: see hq_store_defer */
        int rc = store__num_reserve(st, e, i);
        if (rc) return rc;
    }
    sqlite3_bind_text(s, 1, e->cfg->services[i].code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, v->issued);
    sqlite3_bind_int(s, 3, v->last_number);
    sqlite3_bind_int(s, 4, v->overtakes);
    sqlite3_bind_int64(s, 5, v->handle_s);
    sqlite3_bind_int64(s, 6, v->handled);
    char key[24];
    snprintf(key, sizeof key, "s:%.20s", e->cfg->services[i].code);
    return store__step_row(st, s, key);
}

/* Close the old business day in SQL: its live tickets expire, each with its
 * ticket record, exactly as if the engine had still held them. */
static int store__close_day(struct hq_store *st, const struct hq_engine_cfg *c, int32_t old_day,
                            int64_t now)
{
    sqlite3_stmt *s = NULL;
    int rc = HQ_OK;
    if (st->capture) { /* it reads the rows the backlog writes: done when it is written */
        if (st->n_ops == st->cap_ops) {
            size_t cap = st->cap_ops ? st->cap_ops * 2 : 64;
            struct store_op *n = realloc(st->ops, cap * sizeof *n);
            if (!n) return HQ_ERR_NOMEM;
            st->ops = n;
            st->cap_ops = cap;
        }
        struct store_op *o = &st->ops[st->n_ops++];
        memset(o, 0, sizeof *o);
        o->kind = OP_CLOSE_DAY;
        o->day = old_day;
        o->at = now;
        st->backlog_bytes += sizeof *o;
        return HQ_OK;
    }
    if (sqlite3_prepare_v2(st->db,
                           "SELECT uuid, label, service, orig_service, serial, priority, channel, "
                           "recalls, requeues, flags, window, staff, issued_at, called_at, "
                           "served_at FROM tickets WHERE day=? AND status IN "
                           "('waiting','called','serving','parked') ORDER BY rowid",
                           -1, &s, NULL) != SQLITE_OK)
        return store__err(st, sqlite3_errcode(st->db));
    sqlite3_bind_int(s, 1, old_day);
    const int32_t off = c->utc_offset_s;
    char buf[32];
    while (rc == HQ_OK && sqlite3_step(s) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "uuid", (const char *)sqlite3_column_text(s, 0));
        store__ymd(old_day, buf);
        cJSON_AddStringToObject(o, "day", buf);
        cJSON_AddStringToObject(o, "number", (const char *)sqlite3_column_text(s, 1));
        cJSON_AddNumberToObject(o, "serial", (double)sqlite3_column_int64(s, 4));
        cJSON_AddStringToObject(o, "service", (const char *)sqlite3_column_text(s, 2));
        cJSON_AddStringToObject(o, "issued_for", (const char *)sqlite3_column_text(s, 3));
        int svc = store__service_by_code(c, (const char *)sqlite3_column_text(s, 2));
        cJSON_AddStringToObject(o, "task_code", svc >= 0 ? c->services[svc].task_code : "");
        cJSON_AddStringToObject(o, "priority", (const char *)sqlite3_column_text(s, 5));
        cJSON_AddStringToObject(o, "channel", (const char *)sqlite3_column_text(s, 6));
        cJSON_AddStringToObject(o, "status", "expired");
        cJSON_AddNumberToObject(o, "recalls", sqlite3_column_int(s, 7));
        cJSON_AddNumberToObject(o, "requeues", sqlite3_column_int(s, 8));
        int flags = sqlite3_column_int(s, 9);
        cJSON_AddBoolToObject(o, "transferred", (flags & HQ_TF_TRANSFERRED) != 0);
        cJSON_AddBoolToObject(o, "real_name", (flags & HQ_TF_HAS_ID) != 0);
        int win = sqlite3_column_int(s, 10);
        if (win)
            cJSON_AddNumberToObject(o, "window", win);
        else
            cJSON_AddNullToObject(o, "window");
        const char *staff = (const char *)sqlite3_column_text(s, 11);
        if (staff)
            cJSON_AddStringToObject(o, "staff", staff);
        else
            cJSON_AddNullToObject(o, "staff");
        store__add_time(o, "issued_at", (uint32_t)sqlite3_column_int64(s, 12), off);
        store__add_time(o, "called_at", (uint32_t)sqlite3_column_int64(s, 13), off);
        store__add_time(o, "served_at", (uint32_t)sqlite3_column_int64(s, 14), off);
        store__add_time(o, "finished_at", (uint32_t)now, off);
        rc = store__outbox(st, "ticket", now, o);
    }
    sqlite3_finalize(s);
    if (rc) return rc;
    if (sqlite3_prepare_v2(st->db,
                           "UPDATE tickets SET status='expired', finished_at=?2 WHERE day=?1 AND "
                           "status IN ('waiting','called','serving','parked')",
                           -1, &s, NULL) != SQLITE_OK)
        return store__err(st, sqlite3_errcode(st->db));
    sqlite3_bind_int(s, 1, old_day);
    sqlite3_bind_int64(s, 2, now);
    rc = store__step_done(st, s);
    sqlite3_finalize(s);
    return rc;
}

static cJSON *store__event_json(const struct hq_engine *e, const struct hq_record *r)
{
    const struct hq_engine_cfg *c = e->cfg;
    cJSON *o = cJSON_CreateObject();
    char buf[40];
    cJSON_AddStringToObject(o, "kind", hq_event_name(r->event));
    if (r->window) cJSON_AddNumberToObject(o, "window", r->window);
    const char *sid = store__staff_id(e, r->staff);
    if (sid) cJSON_AddStringToObject(o, "staff", sid);
    if (r->ticket >= 0 && (size_t)r->ticket < e->n_tickets) {
        const struct hq_ticket *t = &e->tickets[r->ticket];
        hq_uuid_format(t->uuid, buf);
        cJSON_AddStringToObject(o, "ticket", buf);
        cJSON_AddStringToObject(o, "number", hq_ticket_label(e, t, buf, sizeof buf));
        cJSON_AddStringToObject(o, "service", c->services[t->service].code);
        cJSON_AddStringToObject(o, "priority", hq_priority_name(t->priority));
        cJSON_AddNumberToObject(o, "recalls", t->recalls);
        /* 帮办/陪同 only when set: every other event keeps the shape it had */
        if (t->flags & HQ_TF_ASSIST) cJSON_AddBoolToObject(o, "assist", 1);
    }
    if (r->event == HQ_EV_TRANSFER && r->aux >= 0 && (size_t)r->aux < c->n_services)
        cJSON_AddStringToObject(o, "to_service", c->services[r->aux].code);
    if (r->event == HQ_EV_ROLLOVER) {
        store__ymd(r->aux, buf);
        cJSON_AddStringToObject(o, "closed_day", buf);
        store__ymd(e->day, buf);
        cJSON_AddStringToObject(o, "new_day", buf);
    }
    if (r->event == HQ_EV_RATE) cJSON_AddNumberToObject(o, "level", r->level);
    /* The hall changed at run time: what changed, for the event log and the central server. */
    if (r->event >= HQ_EV_SERVICE_HOURS && r->event <= HQ_EV_SERVICE_CLOSE &&
        r->service < c->n_services)
        cJSON_AddStringToObject(o, "service", c->services[r->service].code);
    if (r->event == HQ_EV_SERVICE_HOURS) {
        snprintf(buf, sizeof buf, "%02d:%02d-%02d:%02d", (r->aux >> 16) / 60, (r->aux >> 16) % 60,
                 (r->aux & 0xffff) / 60, (r->aux & 0xffff) % 60);
        cJSON_AddStringToObject(o, "hours", buf);
    }
    if (r->event == HQ_EV_SERVICE_QUOTA) cJSON_AddNumberToObject(o, "daily_quota", r->aux);
    if (r->event == HQ_EV_WINDOW_CLOSE && r->aux > 0)
        cJSON_AddNumberToObject(o, "reroute_to", r->aux);
    if ((r->event == HQ_EV_WINDOW_OPEN || r->event == HQ_EV_WINDOW_SERVICES) && r->window) {
        int wi = hq_engine_window_index(e, r->window);
        cJSON *sv = cJSON_AddArrayToObject(o, "services");
        for (size_t k = 0; wi >= 0 && k < c->windows[wi].n_services; k++)
            cJSON_AddItemToArray(sv,
                                 cJSON_CreateString(c->services[c->windows[wi].services[k]].code));
    }
    if ((r->event == HQ_EV_PAUSE || r->event == HQ_EV_RESUME) && r->reason[0])
        cJSON_AddStringToObject(o, "reason", r->reason);
    if (r->event == HQ_EV_RESUME) cJSON_AddNumberToObject(o, "paused_s", r->aux);
    if (r->event == HQ_EV_HELP_ACK) cJSON_AddNumberToObject(o, "waited_s", r->aux);
    return o;
}

/* One case (办件) bound to a ticket by the window's business system or the
 * clerk (hqd_rating.c); a ticket without one is its own case. */
struct store_case {
    char case_no[65], item_code[65], item_name[129];
};

/* What one evaluation rates, from the engine's day (a pad, the tablet, the QR
 * page today) or from the tickets table (the QR page of a ticket finished on
 * an earlier business day, hq_store_rate_past): everything the rows and the
 * records need, apart from the case. */
struct store_eval_src {
    const char *tuuid, *label, *service, *task_code, *service_name, *staff;
    int day;
    uint16_t window;
    uint8_t level, channel;
    uint32_t reasons;
    int64_t at;
    const uint8_t *uuid;      /* the first record's uuid (the command's) */
    const struct hq_cmd *cmd; /* indicators and words, when a rating command */
};

/* The 好差评 fields of PROTOCOLS.md §5, version 2 (docs/SYNC.md): one record
 * per case; cs NULL = the ticket is its own case (as version 1 did). */
static cJSON *store__evaluation_json(const struct hq_store *st, const struct store_eval_src *r,
                                     const char *uuid, const struct store_case *cs, int64_t *due)
{
    const struct hq_config *cfg = st->cfg;
    const struct hq_cmd *cmd = r->cmd;
    cJSON *o = cJSON_CreateObject();
    char buf[40];
    cJSON_AddNumberToObject(o, "version", 2);
    cJSON_AddStringToObject(o, "uuid", uuid);
    cJSON_AddStringToObject(o, "ticket_uuid", r->tuuid);
    cJSON_AddStringToObject(o, "case_no", cs ? cs->case_no : r->tuuid);
    cJSON_AddStringToObject(o, "ticket", r->label);
    cJSON_AddStringToObject(o, "service", r->service);
    cJSON_AddStringToObject(o, "task_code", cs ? cs->item_code : r->task_code);
    cJSON_AddStringToObject(o, "task_name", cs ? cs->item_name : r->service_name);
    cJSON_AddBoolToObject(o, "case_bound", cs != NULL);
    cJSON_AddNumberToObject(o, "window", r->window);
    if (r->staff && *r->staff)
        cJSON_AddStringToObject(o, "staff", r->staff);
    else
        cJSON_AddNullToObject(o, "staff");
    cJSON_AddNumberToObject(o, "level", r->level);
    /* GB/T 39046 A.8 numbers the levels the other way round: 1 = 非常满意. */
    cJSON_AddNumberToObject(o, "gbt39046_code", 6 - r->level);
    cJSON_AddStringToObject(o, "channel",
                            r->channel == HQ_CHAN_TABLET ? "政务大厅平板电脑"
                            : r->channel == HQ_CHAN_QR   ? "二维码"
                                                         : "政务大厅其他终端");
    cJSON_AddStringToObject(o, "channel_code", hq_channel_name(r->channel));
    /* The national offline indicators: 整体满意度 is the level itself. */
    cJSON *ind = cJSON_AddObjectToObject(o, "indicators");
    cJSON_AddNumberToObject(ind, "overall", r->level);
    static const char *const ind_names[3] = {"efficiency", "competence", "attitude"};
    for (int i = 0; i < 3; i++)
        if (cmd && cmd->type == HQ_CMD_RATE && cmd->u.rate.ind[i] >= 1 && cmd->u.rate.ind[i] <= 5)
            cJSON_AddNumberToObject(ind, ind_names[i], cmd->u.rate.ind[i]);
    cJSON *reasons = cJSON_AddArrayToObject(o, "reasons");
    for (int b = 0; b < 32; b++)
        if (r->reasons & (1u << b)) cJSON_AddItemToArray(reasons, cJSON_CreateNumber(b + 1));
    cJSON_AddStringToObject(o, "reasons_version", cfg->eval_reasons_version);
    cJSON_AddStringToObject(o, "text", cmd && cmd->type == HQ_CMD_RATE ? cmd->u.rate.text : "");
    cJSON_AddNumberToObject(o, "assess_number", 1);
    *due = 0;
    if (r->level <= 2) {
        /* working days of hall.calendar (workdays.h): follow_up_due is when
         * the follow-up must be closed (整改), callback_due when the citizen
         * must have been called (回访) */
        int32_t off = cfg->engine.utc_offset_s;
        *due = hq_workday_due(cfg, r->at, cfg->eval_rectify_workdays);
        hq_time_rfc3339(*due, off, buf);
        cJSON_AddStringToObject(o, "follow_up_due", buf);
        hq_time_rfc3339(hq_workday_due(cfg, r->at, cfg->eval_callback_workdays), off, buf);
        cJSON_AddStringToObject(o, "callback_due", buf);
    }
    return o;
}

/* The cases bound to ticket tuuid, in the order they were set; at most max.
 * A read that fails leaves the ticket as its own case (one record, as before
 * case binding) rather than losing the rating. */
static int store__cases(struct hq_store *st, const char *tuuid, struct store_case *out, int max)
{
    sqlite3_stmt *q = NULL;
    int n = 0;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT case_no, item_code, item_name FROM cases WHERE ticket=? "
                           "ORDER BY idx",
                           -1, &q, NULL) != SQLITE_OK) {
        LOG_WARN("STORE", "reading the cases of ticket %s: %s", tuuid, sqlite3_errmsg(st->db));
        return 0;
    }
    sqlite3_bind_text(q, 1, tuuid, -1, SQLITE_STATIC);
    while (n < max && sqlite3_step(q) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(q, 0);
        const char *b = (const char *)sqlite3_column_text(q, 1);
        const char *c = (const char *)sqlite3_column_text(q, 2);
        snprintf(out[n].case_no, sizeof out[n].case_no, "%s", a ? a : "");
        snprintf(out[n].item_code, sizeof out[n].item_code, "%s", b ? b : "");
        snprintf(out[n].item_name, sizeof out[n].item_name, "%s", c ? c : "");
        n++;
    }
    sqlite3_finalize(q);
    return n;
}

/* 一事一评: one evaluation row and outbox record per case of the ticket, each
 * with its own uuid (the first keeps the command's). */
/* The ticket's sealed ID number as base64 into out (empty: none). */
static int store__sealed_id(struct hq_store *st, const char *tuuid, char *out, size_t cap)
{
    sqlite3_stmt *q = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(st->db, "SELECT sealed FROM ticket_ids WHERE ticket=?", -1, &q, NULL) !=
        SQLITE_OK)
        return store__err(st, sqlite3_errcode(st->db));
    sqlite3_bind_text(q, 1, tuuid, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(q, 0);
        int n = sqlite3_column_bytes(q, 0);
        if (b && n > 0 && (size_t)n <= HQ_ID_SEALED_MAX &&
            sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_ORIGINAL) <= cap)
            sodium_bin2base64(out, cap, b, (size_t)n, sodium_base64_VARIANT_ORIGINAL);
    }
    sqlite3_finalize(q);
    return HQ_OK;
}

static int store__write_eval_src(struct hq_store *st, const struct store_eval_src *r)
{
    struct store_case cases[HQ_STORE_MAX_CASES];
    int n = store__cases(st, r->tuuid, cases, HQ_STORE_MAX_CASES);
    /* A card ticket's ID number, sealed to the provincial platform (the record's only
     * personal number, opened by the platform alone): in every record of the rating. */
    char sealed[sodium_base64_ENCODED_LEN(HQ_ID_SEALED_MAX, sodium_base64_VARIANT_ORIGINAL)];
    int rc0 = store__sealed_id(st, r->tuuid, sealed, sizeof sealed);
    if (rc0) return rc0;
    for (int i = 0; i < (n ? n : 1); i++) {
        char uuid[37];
        if (i == 0)
            hq_uuid_format(r->uuid, uuid);
        else
            store__new_uuid(st, uuid);
        int64_t due;
        cJSON *o = store__evaluation_json(st, r, uuid, n ? &cases[i] : NULL, &due);
        cJSON_AddBoolToObject(o, "real_name", sealed[0] != '\0');
        if (sealed[0]) cJSON_AddStringToObject(o, "id_sealed", sealed);
        sqlite3_stmt *s = st->st[ST_EVAL];
        sqlite3_bind_text(s, 1, uuid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, r->tuuid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 3, r->label, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 4, r->day);
        sqlite3_bind_text(s, 5, r->service, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 6, r->window);
        store__bind_text_or_null(s, 7, r->staff);
        sqlite3_bind_int(s, 8, r->level);
        sqlite3_bind_text(s, 9, hq_channel_name(r->channel), -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 10, r->reasons);
        sqlite3_bind_int64(s, 11, r->at);
        sqlite3_bind_text(s, 12, r->level <= 2 ? "open" : "none", -1, SQLITE_STATIC);
        if (due)
            sqlite3_bind_int64(s, 13, due);
        else
            sqlite3_bind_null(s, 13);
        sqlite3_bind_text(s, 14, n ? cases[i].case_no : r->tuuid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 15, n ? cases[i].item_code : r->task_code, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 16, n ? cases[i].item_name : r->service_name, -1, SQLITE_TRANSIENT);
        const struct hq_cmd *cmd = r->cmd;
        store__bind_text_or_null(
            s, 17,
            cmd && cmd->type == HQ_CMD_RATE && cmd->u.rate.text[0] ? cmd->u.rate.text : NULL);
        int rc = store__step_done(st, s);
        if (rc) {
            cJSON_Delete(o);
            return rc;
        }
        rc = store__outbox(st, "evaluation", r->at, o);
        if (rc) return rc;
    }
    if (sealed[0]) {
        /* carried by the records now: the box keeps no copy of its own */
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v2(st->db, "DELETE FROM ticket_ids WHERE ticket=?", -1, &q, NULL) !=
            SQLITE_OK)
            return store__err(st, sqlite3_errcode(st->db));
        sqlite3_bind_text(q, 1, r->tuuid, -1, SQLITE_TRANSIENT);
        int rc = store__step_done(st, q);
        sqlite3_finalize(q);
        if (rc) return rc;
    }
    return HQ_OK;
}

static int store__write_evaluation(struct hq_store *st, const struct hq_engine *e,
                                   const struct hq_record *r, const struct hq_cmd *cmd)
{
    if (r->ticket < 0 || (size_t)r->ticket >= e->n_tickets) return HQ_OK;
    const struct hq_ticket *t = &e->tickets[r->ticket];
    const struct hq_service_cfg *sv = &e->cfg->services[t->service];
    char tuuid[37], label[16];
    hq_uuid_format(t->uuid, tuuid);
    struct store_eval_src src = {
        .tuuid = tuuid,
        .label = hq_ticket_label(e, t, label, sizeof label),
        .service = sv->code,
        .task_code = sv->task_code,
        .service_name = sv->name,
        .staff = store__staff_id(e, r->staff),
        .day = e->day,
        .window = r->window,
        .level = r->level,
        .channel = r->channel,
        .reasons = r->reasons,
        .at = r->at,
        .uuid = r->uuid,
        .cmd = cmd,
    };
    return store__write_eval_src(st, &src);
}

static int store__write_record(struct hq_store *st, const struct hq_engine *e,
                               const struct hq_record *r, const struct hq_cmd *cmd)
{
    switch (r->type) {
    case HQ_REC_TICKET:
        if (r->ticket < 0 || (size_t)r->ticket >= e->n_tickets) return HQ_OK;
        return store__outbox(st, "ticket", r->at, store__ticket_json(e, &e->tickets[r->ticket]));
    case HQ_REC_EVALUATION:
        return store__write_evaluation(st, e, r, cmd);
    case HQ_REC_EVENT: {
        const char *actor = cmd->actor;
        cJSON *o = store__event_json(e, r);
        if (actor && *actor) cJSON_AddStringToObject(o, "actor", actor);
        /* A cancellation's reason (the guide desk must give one) stays with its row. */
        if (r->event == HQ_EV_CANCEL && cmd->type == HQ_CMD_CANCEL && cmd->u.cancel.reason[0])
            cJSON_AddStringToObject(o, "reason", cmd->u.cancel.reason);
        char *json = cJSON_PrintUnformatted(o);
        if (!json) {
            cJSON_Delete(o);
            return HQ_ERR_NOMEM;
        }
        sqlite3_stmt *s = st->st[ST_EVENT];
        char uuid[37], label[16];
        sqlite3_bind_int64(s, 1, r->at);
        sqlite3_bind_text(s, 2, hq_event_name(r->event), -1, SQLITE_STATIC);
        if (r->window) sqlite3_bind_int(s, 3, r->window);
        if (r->ticket >= 0 && (size_t)r->ticket < e->n_tickets) {
            const struct hq_ticket *t = &e->tickets[r->ticket];
            hq_uuid_format(t->uuid, uuid);
            sqlite3_bind_text(s, 4, uuid, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(s, 5, hq_ticket_label(e, t, label, sizeof label), -1,
                              SQLITE_TRANSIENT);
        }
        store__bind_text_or_null(s, 6, store__staff_id(e, r->staff));
        sqlite3_bind_text(s, 7, json, -1, free);
        store__bind_text_or_null(s, 8, actor && *actor ? actor : NULL);
        int rc = store__step_done(st, s);
        if (rc) {
            cJSON_Delete(o);
            return rc;
        }
        return store__outbox(st, "event", r->at, o);
    }
    }
    return HQ_ERR_INVALID;
}

/* The writes of one command, inside a transaction the caller opened (or
 * captured into the backlog). */
/* A card ticket's sealed ID number (evaluation.platform_pubkey set): kept as sealed bytes. */
static int store__write_sealed_id(struct hq_store *st, const struct hq_ticket *t,
                                  const struct hq_cmd *cmd)
{
    size_t n = cmd->u.issue.id_sealed_len;
    if (n > sizeof cmd->u.issue.id_sealed) return HQ_ERR_INVALID;
    char tuuid[37];
    hq_uuid_format(t->uuid, tuuid);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR REPLACE INTO ticket_ids(ticket, sealed, at) VALUES(?,?,?)",
                           -1, &q, NULL) != SQLITE_OK)
        return store__err(st, sqlite3_errcode(st->db));
    sqlite3_bind_text(q, 1, tuuid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(q, 2, cmd->u.issue.id_sealed, (int)n, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 3, cmd->now);
    int rc = store__step_done(st, q);
    sqlite3_finalize(q);
    return rc;
}

static int store__write_cmd(struct hq_store *st, const struct hq_engine *e,
                            const struct hq_cmd *cmd, const struct hq_result *res)
{
    int rc;
    if (res->rollover) {
        rc = store__close_day(st, e->cfg, res->old_day, cmd->now);
        if (rc) return rc;
    }
    if (e->day != st->saved_day) { /* one page less per commit on ordinary days */
        char day[16];
        snprintf(day, sizeof day, "%d", e->day);
        sqlite3_bind_text(st->st[ST_DAY], 1, day, -1, SQLITE_TRANSIENT);
        rc = store__step_done(st, st->st[ST_DAY]);
        if (rc) return rc;
    }
    for (size_t i = 0; i < res->n_dirty_tickets; i++) {
        int32_t ti = res->dirty_tickets[i];
        if (ti < 0 || (size_t)ti >= e->n_tickets) continue;
        rc = store__write_ticket(st, e, &e->tickets[ti]);
        if (rc) return rc;
    }
    if (cmd->type == HQ_CMD_ISSUE && cmd->u.issue.id_sealed_len && res->ticket >= 0 &&
        (size_t)res->ticket < e->n_tickets) {
        rc = store__write_sealed_id(st, &e->tickets[res->ticket], cmd);
        if (rc) return rc;
    }
    for (size_t i = 0; i < e->cfg->n_windows; i++)
        if (res->dirty_windows[i / 8] & (1u << (i % 8))) {
            rc = store__write_window(st, e, i);
            if (rc) return rc;
        }
    for (size_t i = 0; i < e->cfg->n_services; i++)
        if (res->dirty_services[i / 8] & (1u << (i % 8))) {
            rc = store__write_service(st, e, i);
            if (rc) return rc;
        }
    for (size_t i = 0; i < res->n_rec; i++) {
        rc = store__write_record(st, e, &res->rec[i], cmd);
        if (rc) return rc;
    }
    return HQ_OK;
}

/* The rows of one command, logged when they could not be written. */
static int store__write(struct hq_store *st, const struct hq_engine *e, const struct hq_cmd *cmd,
                        const struct hq_result *res)
{
    int rc = store__write_cmd(st, e, cmd, res);
    if (rc)
        LOG_ERR("STORE", "%s: %s command not saved: %s", st->path, hq_cmd_name(cmd->type),
                hq_strerror(rc));
    return rc;
}

static int store__begin_immediate(struct hq_store *st)
{
    char *msg = NULL;
    if (!store__file_same_due(st)) return HQ_ERR_DISK_FULL;
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) == SQLITE_OK) return HQ_OK;
    LOG_ERR("STORE", "%s: BEGIN: %s", st->path, msg);
    sqlite3_free(msg);
    return store__err(st, sqlite3_errcode(st->db));
}

static int store__commit_open(struct hq_store *st, const struct hq_engine *e)
{
    char *msg = NULL;
    if (!store__file_same_due(st)) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return HQ_ERR_DISK_FULL;
    }
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
        LOG_ERR("STORE", "%s: COMMIT: %s", st->path, msg);
        sqlite3_free(msg);
        int rc = store__err(st, sqlite3_errcode(st->db));
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if (e) st->saved_day = e->day;
    return HQ_OK;
}

int hq_store_commit(struct hq_store *st, const struct hq_engine *e, const struct hq_cmd *cmd,
                    const struct hq_result *res)
{
    hq_store_flush(st);
    /* Nothing may land before the backlog does (the outbox keeps its order). */
    if (st->n_ops || st->backlog_cmds) return HQ_ERR_DISK_FULL;
    int rc = store__begin_immediate(st);
    if (rc) return rc;
    rc = store__write(st, e, cmd, res);
    if (rc) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return store__commit_open(st, e);
}

int hq_store_batch_add(struct hq_store *st, const struct hq_engine *e, const struct hq_cmd *cmd,
                       const struct hq_result *res)
{
    int rc;
    if (st->n_ops || st->backlog_cmds) return HQ_ERR_DISK_FULL; /* see hq_store_defer */
    if (!st->batch_open) {
        rc = store__begin_immediate(st);
        if (rc) return rc;
        st->batch_open = 1;
    }
    rc = store__write(st, e, cmd, res);
    if (rc) {
        /* The group goes back as a whole: its commands all fail. */
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        st->batch_open = 0;
    }
    return rc;
}

int hq_store_batch_commit(struct hq_store *st, const struct hq_engine *e)
{
    if (!st->batch_open) return HQ_OK;
    st->batch_open = 0;
    return store__commit_open(st, e);
}

void hq_store_batch_rollback(struct hq_store *st)
{
    if (!st->batch_open) return;
    st->batch_open = 0;
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int hq_store_batch_open(const struct hq_store *st)
{
    return st->batch_open;
}

void hq_store_on_flush(struct hq_store *st, void (*fn)(void *arg), void *arg)
{
    st->flush_fn = fn;
    st->flush_arg = arg;
}

void hq_store_flush(struct hq_store *st)
{
    /* The owner of the group commits it and releases its effects. */
    if (st->batch_open && st->flush_fn) st->flush_fn(st->flush_arg);
}

int hq_store_defer(struct hq_store *st, const struct hq_engine *e, const struct hq_cmd *cmd,
                   const struct hq_result *res)
{
    if (st->batch_open) return HQ_ERR_STATE; /* a group in flight: it goes first */
    st->capture = 1;
    int rc = store__write_cmd(st, e, cmd, res);
    st->capture = 0;
    if (rc) {
        LOG_ERR("STORE", "%s: %s command could not be kept for later: %s", st->path,
                hq_cmd_name(cmd->type), hq_strerror(rc));
        return rc;
    }
    st->saved_day = e->day; /* the backlog writes the day row */
    st->backlog_cmds++;
    return HQ_OK;
}

void hq_store_backlog(const struct hq_store *st, size_t *commands, size_t *bytes)
{
    if (commands) *commands = st->backlog_cmds;
    if (bytes) *bytes = st->backlog_bytes;
}

void hq_store_backlog_drop(struct hq_store *st)
{
    for (size_t i = 0; i < st->n_ops; i++)
        free(st->ops[i].sql);
    free(st->ops);
    st->ops = NULL;
    st->n_ops = st->cap_ops = st->backlog_bytes = st->backlog_cmds = 0;
}

int hq_store_backlog_write(struct hq_store *st)
{
    char *msg = NULL;
    int rc = HQ_OK;
    hq_store_flush(st);
    if (!store__file_same(st)) return HQ_ERR_DISK_FULL;
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_free(msg);
        return store__err(st, sqlite3_errcode(st->db));
    }
    for (size_t i = 0; i < st->n_ops && rc == HQ_OK; i++) {
        const struct store_op *o = &st->ops[i];
        if (o->kind == OP_CLOSE_DAY) {
            rc = store__close_day(st, &st->cfg->engine, o->day, o->at);
        } else if (sqlite3_exec(st->db, o->sql, NULL, NULL, &msg) != SQLITE_OK) {
            rc = store__err(st, sqlite3_errcode(st->db));
            if (rc != HQ_ERR_DISK_FULL)
                LOG_ERR("STORE", "%s: a kept write was refused: %s: %.200s", st->path, msg, o->sql);
            sqlite3_free(msg);
            msg = NULL;
        }
    }
    /* With nothing kept, a write of its own tells whether the file takes
     * writes again. */
    if (rc == HQ_OK && !st->n_ops &&
        sqlite3_exec(st->db,
                     "INSERT OR REPLACE INTO meta(key, value) VALUES('write_probe', "
                     "strftime('%s','now'))",
                     NULL, NULL, NULL) != SQLITE_OK)
        rc = store__err(st, sqlite3_errcode(st->db));
    if (rc == HQ_OK && sqlite3_exec(st->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
        rc = store__err(st, sqlite3_errcode(st->db));
        sqlite3_free(msg);
    }
    if (rc) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    int had = st->n_ops > 0;
    hq_store_backlog_drop(st);
    if (had && st->outbox_fn) st->outbox_fn(st->outbox_arg);
    return HQ_OK;
}

const char *hq_store_why(const struct hq_store *st)
{
    return st->why;
}

const char *hq_store_path(const struct hq_store *st)
{
    return st->path;
}

int hq_store_begin(struct hq_store *st)
{
    hq_store_flush(st);
    if (st->n_ops || st->backlog_cmds) return HQ_ERR_DISK_FULL; /* degraded: see hq_store_defer */
    if (!store__file_same_due(st)) return HQ_ERR_DISK_FULL;
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return store__err(st, sqlite3_errcode(st->db));
    return HQ_OK;
}

void hq_store_on_outbox(struct hq_store *st, void (*fn)(void *arg), void *arg)
{
    st->outbox_fn = fn;
    st->outbox_arg = arg;
}

int hq_store_end(struct hq_store *st, int rollback)
{
    int added = st->outbox_added;
    st->outbox_added = 0;
    bool gone = !rollback && !store__file_same_due(st);
    if (!rollback && !gone && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
        if (added && st->outbox_fn) st->outbox_fn(st->outbox_arg);
        return HQ_OK;
    }
    int rc = rollback ? HQ_OK
             : gone   ? HQ_ERR_DISK_FULL /* see store__file_same */
                      : store__err(st, sqlite3_errcode(st->db));
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int hq_store_outbox_add(struct hq_store *st, const char *type, int64_t at, cJSON *data)
{
    st->outbox_added = 1;
    return store__outbox(st, type, at, data);
}

int64_t hq_store_latest_time(struct hq_store *st)
{
    sqlite3_stmt *s = NULL;
    int64_t t = 0;
    hq_store_flush(st);
    if (sqlite3_prepare_v2(st->db, "SELECT at FROM events ORDER BY id DESC LIMIT 1", -1, &s,
                           NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        t = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return t;
}

int hq_outbox_unsent(sqlite3 *db, int64_t *backlog, int64_t *oldest_seq, int64_t *last_seq)
{
    sqlite3_stmt *s = NULL;
    *backlog = *oldest_seq = *last_seq = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT min(seq) FROM outbox WHERE acked=0), "
                           "(SELECT max(seq) FROM outbox)",
                           -1, &s, NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        *oldest_seq = sqlite3_column_int64(s, 0);
        *last_seq = sqlite3_column_int64(s, 1);
        *backlog = *last_seq - *oldest_seq + 1;
    } else if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
        *last_seq = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    return HQ_OK;
}

int hq_store_outbox_stats(struct hq_store *st, int64_t *backlog, int64_t *oldest_at,
                          int64_t *last_seq)
{
    hq_store_flush(st);
    return hq_outbox_unsent(st->db, backlog, oldest_at, last_seq);
}

const char *hq_store_notice(const struct hq_store *st)
{
    return st->notice;
}

int hq_store_notice_ack(struct hq_store *st)
{
    if (!st->notice) return HQ_ERR_NOT_FOUND;
    hq_store_flush(st);
    if (st->n_ops || st->backlog_cmds) return HQ_ERR_DISK_FULL;
    if (sqlite3_exec(st->db, "DELETE FROM meta WHERE key='corrupt_moved'", NULL, NULL, NULL) !=
        SQLITE_OK)
        return store__err(st, sqlite3_errcode(st->db));
    free(st->notice);
    st->notice = NULL;
    return HQ_OK;
}

/* ------------------------------------------------- earlier days' QR ratings */

static int store__past_row(struct hq_store *st, const char *tuuid, struct hq_store_past *out,
                           char *service, size_t n_service, char *staff, size_t n_staff)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT label, window, status, flags, finished_at, day, service, "
                           "staff FROM tickets WHERE uuid=? ORDER BY day DESC LIMIT 1",
                           -1, &q, NULL) != SQLITE_OK)
        return store__err(st, sqlite3_errcode(st->db));
    sqlite3_bind_text(q, 1, tuuid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(q);
        return rc == SQLITE_DONE ? HQ_ERR_NOT_FOUND : store__err(st, rc);
    }
    memset(out, 0, sizeof *out);
    const char *label = (const char *)sqlite3_column_text(q, 0);
    snprintf(out->label, sizeof out->label, "%s", label ? label : "");
    out->window = (uint16_t)sqlite3_column_int(q, 1);
    const char *status = (const char *)sqlite3_column_text(q, 2);
    out->done = status && strcmp(status, "done") == 0;
    out->rated = (sqlite3_column_int64(q, 3) & HQ_TF_RATED) != 0;
    out->finished_at = sqlite3_column_int64(q, 4);
    out->day = sqlite3_column_int(q, 5);
    const char *sv = (const char *)sqlite3_column_text(q, 6);
    const char *sf = (const char *)sqlite3_column_text(q, 7);
    if (service) snprintf(service, n_service, "%s", sv ? sv : "");
    if (staff) snprintf(staff, n_staff, "%s", sf ? sf : "");
    sqlite3_finalize(q);
    /* An evaluation row is the rating too (the flag is the engine's copy). */
    if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM evaluations WHERE ticket=? LIMIT 1", -1, &q,
                           NULL) != SQLITE_OK)
        return store__err(st, sqlite3_errcode(st->db));
    sqlite3_bind_text(q, 1, tuuid, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) out->rated = true;
    sqlite3_finalize(q);
    return HQ_OK;
}

int hq_store_ticket_past(struct hq_store *st, const char *tuuid, struct hq_store_past *out)
{
    return store__past_row(st, tuuid, out, NULL, 0, NULL, 0);
}

int hq_store_rate_past(struct hq_store *st, const char *tuuid, const struct hq_cmd *cmd,
                       int64_t now, int64_t open_s, enum hq_why *why)
{
    *why = HQ_WHY_NONE;
    int rc = hq_store_begin(st);
    if (rc) return rc;
    struct hq_store_past p;
    char service[64], staff[64];
    rc = store__past_row(st, tuuid, &p, service, sizeof service, staff, sizeof staff);
    if (!rc && p.rated) {
        *why = HQ_WHY_RATED;
        rc = HQ_ERR_STATE;
    } else if (!rc && (!p.done || !p.window || now > p.finished_at + open_s)) {
        *why = HQ_WHY_NO_RATING;
        rc = HQ_ERR_STATE;
    }
    if (rc) {
        hq_store_end(st, 1);
        return rc;
    }
    /* The service as configured now (a service dropped since keeps its code). */
    const struct hq_engine_cfg *ec = &st->cfg->engine;
    const char *task_code = "", *name = service;
    for (size_t i = 0; i < ec->n_services; i++)
        if (strcmp(ec->services[i].code, service) == 0) {
            task_code = ec->services[i].task_code;
            name = ec->services[i].name;
        }
    struct store_eval_src src = {
        .tuuid = tuuid,
        .label = p.label,
        .service = service,
        .task_code = task_code,
        .service_name = name,
        .staff = staff[0] ? staff : NULL,
        .day = p.day,
        .window = p.window,
        .level = cmd->u.rate.level,
        .channel = cmd->u.rate.channel,
        .reasons = cmd->u.rate.reasons,
        .at = now,
        .uuid = cmd->u.rate.uuid,
        .cmd = cmd,
    };
    rc = store__write_eval_src(st, &src);
    if (!rc) {
        sqlite3_stmt *u = NULL;
        if (sqlite3_prepare_v2(st->db, "UPDATE tickets SET flags = flags | ?1 WHERE uuid=?2", -1,
                               &u, NULL) != SQLITE_OK) {
            rc = store__err(st, sqlite3_errcode(st->db));
        } else {
            sqlite3_bind_int(u, 1, HQ_TF_RATED);
            sqlite3_bind_text(u, 2, tuuid, -1, SQLITE_STATIC);
            rc = store__step_done(st, u);
            sqlite3_finalize(u);
        }
    }
    if (rc) {
        hq_store_end(st, 1);
        return rc;
    }
    st->outbox_added++;
    return hq_store_end(st, 0);
}
