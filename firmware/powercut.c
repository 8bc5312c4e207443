/*
 * powercut.c — the power-cut simulation (powercut.h). Writes go through to the real file at
 * once (so reads, other connections and the WAL's shared memory see them as they would see
 * the page cache), and each write or truncate not yet covered by an xSync of its file keeps
 * the bytes it replaced (its pre-image) and the file's size before it. A cut undoes, file by
 * file and newest first, the pending changes that the disk is deemed to have lost, so the
 * file holds: everything up to its last completed sync, then the first j pending changes,
 * then (a write only) the part of change j+1 before a 512-byte sector boundary. Half the
 * time a file keeps none of its pending changes.
 *
 * Pending changes are kept per path, not per handle: SQLite closes and reopens journals, and
 * a file closed without a sync still has its data only in the page cache. Unlinks, renames
 * and directory entries are durable at once (not modelled), and files are independent: a
 * later file's write can survive while an earlier one's is lost, as with reordering by an
 * elevator, but no order within a file is broken beyond the torn sector.
 *
 * One mutex covers the bookkeeping and each write or truncate with its pre-image, so a cut
 * from one thread never races a half-recorded write of another; syncs run outside it (a sync
 * only retires the changes that were pending when it began).
 */
#include "powercut.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hq.h"

#define PC_SECTOR 512
/* Bytes of pre-images a file may hold before its oldest changes count as written back by
 * the kernel (as Linux writes dirty pages back after 30 s): bounds memory for a file that
 * is never synced. */
#define PC_MAX_PENDING (64u << 20)

#ifdef HQ_POWERCUT_ENABLED

struct pc_change {
    struct pc_change *next;
    int is_write;           /* 1 write, 0 truncate */
    sqlite3_int64 off, len; /* write: offset and length; truncate: the new size in off */
    sqlite3_int64 oldsize;  /* the file's size before the change */
    sqlite3_int64 prelen;   /* bytes of pre-image held */
    unsigned char *pre;     /* write: [off, off+prelen); truncate: [off, oldsize) */
};

struct pc_node { /* one path's pending changes */
    struct pc_node *next;
    char *path;
    struct pc_change *head, *tail;
    size_t n;       /* changes pending */
    size_t retired; /* changes retired from the front by syncs or write-back, ever */
    size_t bytes;   /* pre-image bytes held */
    unsigned refs;  /* open handles */
};

struct pc_file {
    sqlite3_file base;
    struct pc_node *node; /* NULL: not tracked (temporary files) */
    sqlite3_file *real;   /* the wrapped VFS's file, allocated after this struct */
};

static pthread_mutex_t pc_mu = PTHREAD_MUTEX_INITIALIZER;
static sqlite3_vfs *pc_real;
static sqlite3_vfs pc_vfs;
static struct pc_node *pc_nodes;
static uint64_t pc_rand, pc_ops, pc_cut_at;

static uint64_t pc__next(void)
{
    /* xorshift64*: reproducible from HQ_POWERCUT's seed */
    pc_rand ^= pc_rand >> 12;
    pc_rand ^= pc_rand << 25;
    pc_rand ^= pc_rand >> 27;
    return pc_rand * 2685821657736338717ull;
}

static uint64_t pc__below(uint64_t n)
{
    return n ? pc__next() % n : 0;
}

static struct pc_node *pc__node(const char *path)
{
    for (struct pc_node *n = pc_nodes; n; n = n->next)
        if (strcmp(n->path, path) == 0) return n;
    struct pc_node *n = calloc(1, sizeof *n);
    if (!n || !(n->path = strdup(path))) {
        free(n);
        return NULL;
    }
    n->next = pc_nodes;
    pc_nodes = n;
    return n;
}

static void pc__retire(struct pc_node *n, size_t count)
{
    while (count-- && n->head) {
        struct pc_change *c = n->head;
        n->head = c->next;
        if (!n->head) n->tail = NULL;
        n->n--;
        n->retired++;
        n->bytes -= (size_t)c->prelen;
        free(c->pre);
        free(c);
    }
}

static void pc__forget(struct pc_node *n)
{
    pc__retire(n, n->n);
    if (n->refs) return;
    for (struct pc_node **pp = &pc_nodes; *pp; pp = &(*pp)->next)
        if (*pp == n) {
            *pp = n->next;
            free(n->path);
            free(n);
            return;
        }
}

static void pc__add(struct pc_node *n, struct pc_change *c)
{
    if (n->tail)
        n->tail->next = c;
    else
        n->head = c;
    n->tail = c;
    n->n++;
    n->bytes += (size_t)c->prelen;
    while (n->bytes > PC_MAX_PENDING && n->n > 1)
        pc__retire(n, 1);
}

/* The bytes [off, off+len) of the real file as they are now, clipped to its size. */
static int pc__preimage(sqlite3_file *real, sqlite3_int64 off, sqlite3_int64 len,
                        sqlite3_int64 size, struct pc_change *c)
{
    c->oldsize = size;
    c->prelen = off < size ? (size - off < len ? size - off : len) : 0;
    if (!c->prelen) return SQLITE_OK;
    c->pre = malloc((size_t)c->prelen);
    if (!c->pre) return SQLITE_NOMEM;
    return real->pMethods->xRead(real, c->pre, (int)c->prelen, off);
}

/* ------------------------------------------------------------------ the cut */

static void pc__pwrite_all(int fd, const unsigned char *p, sqlite3_int64 len, sqlite3_int64 off)
{
    while (len > 0) {
        ssize_t w = pwrite(fd, p, (size_t)len, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w, len -= w, off += w;
    }
}

/* Undo c wholly (keep < 0) or all of it but the write's first keep bytes. */
static void pc__undo(int fd, const struct pc_change *c, sqlite3_int64 keep)
{
    if (!c->is_write) {
        if (c->off < c->oldsize)
            pc__pwrite_all(fd, c->pre, c->prelen, c->off);
        else if (ftruncate(fd, (off_t)c->oldsize) != 0)
            return;
        return;
    }
    sqlite3_int64 k = keep < 0 ? 0 : keep;
    if (k < c->prelen) pc__pwrite_all(fd, c->pre + k, c->prelen - k, c->off + k);
    if (c->off + c->len > c->oldsize) {
        sqlite3_int64 size = k > 0 && c->off + k > c->oldsize ? c->off + k : c->oldsize;
        if (ftruncate(fd, (off_t)size) != 0) return;
    }
}

static void pc__cut_node(struct pc_node *n, char *summary, size_t sumlen)
{
    if (!n->n) return;
    size_t keep = 0; /* whole changes kept */
    sqlite3_int64 torn = -1;
    if (pc__below(2)) {
        keep = (size_t)pc__below(n->n + 1);
        if (keep < n->n) {
            struct pc_change *c = n->head;
            for (size_t i = 0; i < keep; i++)
                c = c->next;
            if (c->is_write) {
                /* sector boundaries strictly inside the write, or none of it */
                sqlite3_int64 first = (c->off / PC_SECTOR + 1) * PC_SECTOR;
                sqlite3_int64 bounds =
                    first < c->off + c->len ? (c->off + c->len - 1 - first) / PC_SECTOR + 1 : 0;
                uint64_t pick = pc__below((uint64_t)bounds + 1);
                torn = pick ? first + (sqlite3_int64)(pick - 1) * PC_SECTOR - c->off : 0;
            }
        }
    }
    int fd = open(n->path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    struct pc_change **all = malloc(n->n * sizeof *all);
    if (all) {
        size_t i = 0;
        for (struct pc_change *c = n->head; c; c = c->next)
            all[i++] = c;
        for (size_t j = n->n; j-- > keep;)
            pc__undo(fd, all[j], j == keep ? torn : -1);
        free(all);
    }
    close(fd);
    size_t used = strlen(summary);
    if (used + 1 >= sumlen) return;
    if (torn > 0)
        snprintf(summary + used, sumlen - used, " %s: %zu/%zu kept, next torn after %lld", n->path,
                 keep, n->n, (long long)torn);
    else
        snprintf(summary + used, sumlen - used, " %s: %zu/%zu kept", n->path, keep, n->n);
}

static void pc__cut_locked(void) __attribute__((noreturn));
static void pc__cut_locked(void)
{
    char summary[2048];
    snprintf(summary, sizeof summary, "power cut at op %llu:", (unsigned long long)pc_ops);
    for (struct pc_node *n = pc_nodes; n; n = n->next)
        pc__cut_node(n, summary, sizeof summary);
    /* stderr, not the log's buffers: nothing else runs after this */
    fprintf(stderr, "hallqd: POWERCUT %s\n", summary);
    fflush(stderr);
    _exit(HQ_POWERCUT_EXIT);
}

/* Count one mutating call; true when it is the one to cut at. Under pc_mu. */
static int pc__tick(void)
{
    pc_ops++;
    return pc_cut_at && pc_ops >= pc_cut_at;
}

void hq_powercut_cut(void)
{
    pthread_mutex_lock(&pc_mu);
    pc__cut_locked();
}

uint64_t hq_powercut_ops(void)
{
    pthread_mutex_lock(&pc_mu);
    uint64_t n = pc_ops;
    pthread_mutex_unlock(&pc_mu);
    return n;
}

/* ------------------------------------------------------------------ io methods */

static int pc_close(sqlite3_file *f)
{
    struct pc_file *p = (struct pc_file *)f;
    int rc = p->real->pMethods->xClose(p->real);
    pthread_mutex_lock(&pc_mu);
    if (p->node) {
        p->node->refs--;
        if (!p->node->n && !p->node->refs) pc__forget(p->node);
    }
    pthread_mutex_unlock(&pc_mu);
    return rc;
}

static int pc_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
    struct pc_file *p = (struct pc_file *)f;
    return p->real->pMethods->xRead(p->real, buf, amt, off);
}

static int pc_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    struct pc_file *p = (struct pc_file *)f;
    pthread_mutex_lock(&pc_mu);
    int cut = pc__tick(), rc = SQLITE_OK;
    if (p->node) {
        struct pc_change *c = calloc(1, sizeof *c);
        sqlite3_int64 size = 0;
        if (!c) {
            rc = SQLITE_NOMEM;
        } else {
            c->is_write = 1;
            c->off = off;
            c->len = amt;
            rc = p->real->pMethods->xFileSize(p->real, &size);
            if (rc == SQLITE_OK) rc = pc__preimage(p->real, off, amt, size, c);
            if (rc == SQLITE_OK) rc = p->real->pMethods->xWrite(p->real, buf, amt, off);
            if (rc == SQLITE_OK) {
                pc__add(p->node, c);
            } else {
                free(c->pre);
                free(c);
            }
        }
    } else {
        rc = p->real->pMethods->xWrite(p->real, buf, amt, off);
    }
    if (cut) pc__cut_locked(); /* the write happened, maybe only in part */
    pthread_mutex_unlock(&pc_mu);
    return rc;
}

static int pc_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    struct pc_file *p = (struct pc_file *)f;
    pthread_mutex_lock(&pc_mu);
    int cut = pc__tick(), rc = SQLITE_OK;
    if (p->node) {
        struct pc_change *c = calloc(1, sizeof *c);
        sqlite3_int64 old = 0;
        if (!c) {
            rc = SQLITE_NOMEM;
        } else {
            c->off = size;
            rc = p->real->pMethods->xFileSize(p->real, &old);
            if (rc == SQLITE_OK) rc = pc__preimage(p->real, size, old - size, old, c);
            if (rc == SQLITE_OK) rc = p->real->pMethods->xTruncate(p->real, size);
            if (rc == SQLITE_OK) {
                pc__add(p->node, c);
            } else {
                free(c->pre);
                free(c);
            }
        }
    } else {
        rc = p->real->pMethods->xTruncate(p->real, size);
    }
    if (cut) pc__cut_locked();
    pthread_mutex_unlock(&pc_mu);
    return rc;
}

static int pc_sync(sqlite3_file *f, int flags)
{
    struct pc_file *p = (struct pc_file *)f;
    pthread_mutex_lock(&pc_mu);
    /* the changes this sync covers: those pending now; a cut before it returns keeps them
     * pending (the sync did not finish) */
    if (pc__tick()) pc__cut_locked();
    size_t covered = p->node ? p->node->retired + p->node->n : 0;
    pthread_mutex_unlock(&pc_mu);
    int rc = p->real->pMethods->xSync(p->real, flags);
    if (rc == SQLITE_OK && p->node) {
        pthread_mutex_lock(&pc_mu);
        if (covered > p->node->retired) pc__retire(p->node, covered - p->node->retired);
        pthread_mutex_unlock(&pc_mu);
    }
    return rc;
}

static int pc_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    struct pc_file *p = (struct pc_file *)f;
    return p->real->pMethods->xFileSize(p->real, size);
}

static int pc_lock(sqlite3_file *f, int l)
{
    struct pc_file *p = (struct pc_file *)f;
    return p->real->pMethods->xLock(p->real, l);
}

static int pc_unlock(sqlite3_file *f, int l)
{
    struct pc_file *p = (struct pc_file *)f;
    return p->real->pMethods->xUnlock(p->real, l);
}

static int pc_check_reserved(sqlite3_file *f, int *out)
{
    struct pc_file *p = (struct pc_file *)f;
    return p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int pc_file_control(sqlite3_file *f, int op, void *arg)
{
    struct pc_file *p = (struct pc_file *)f;
    return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int pc_sector_size(sqlite3_file *f)
{
    struct pc_file *p = (struct pc_file *)f;
    return p->real->pMethods->xSectorSize(p->real);
}

static int pc_device_chars(sqlite3_file *f)
{
    /* no SQLITE_IOCAP_POWERSAFE_OVERWRITE or ATOMIC claims beyond the real VFS's: SQLite must
     * write as for a disk that tears */
    struct pc_file *p = (struct pc_file *)f;
    return p->real->pMethods->xDeviceCharacteristics(p->real);
}

/* The WAL's shared memory is not on the disk's side of a power cut: SQLite rebuilds it from
 * the WAL when the first connection opens the database. */
static int pc_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    struct pc_file *p = (struct pc_file *)f;
    return p->real->pMethods->xShmMap(p->real, pg, pgsz, extend, pp);
}

static int pc_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    struct pc_file *p = (struct pc_file *)f;
    return p->real->pMethods->xShmLock(p->real, off, n, flags);
}

static void pc_shm_barrier(sqlite3_file *f)
{
    struct pc_file *p = (struct pc_file *)f;
    p->real->pMethods->xShmBarrier(p->real);
}

static int pc_shm_unmap(sqlite3_file *f, int del)
{
    struct pc_file *p = (struct pc_file *)f;
    return p->real->pMethods->xShmUnmap(p->real, del);
}

/* No memory-mapped reads: a mapping would show the real file, which is what it holds
 * anyway, but SQLite could then write through it where this VFS does not see it. */
static int pc_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
    (void)f, (void)off, (void)amt;
    *pp = NULL;
    return SQLITE_OK;
}

static int pc_unfetch(sqlite3_file *f, sqlite3_int64 off, void *pg)
{
    (void)f, (void)off, (void)pg;
    return SQLITE_OK;
}

static const sqlite3_io_methods pc_methods = {
    .iVersion = 3,
    .xClose = pc_close,
    .xRead = pc_read,
    .xWrite = pc_write,
    .xTruncate = pc_truncate,
    .xSync = pc_sync,
    .xFileSize = pc_file_size,
    .xLock = pc_lock,
    .xUnlock = pc_unlock,
    .xCheckReservedLock = pc_check_reserved,
    .xFileControl = pc_file_control,
    .xSectorSize = pc_sector_size,
    .xDeviceCharacteristics = pc_device_chars,
    .xShmMap = pc_shm_map,
    .xShmLock = pc_shm_lock,
    .xShmBarrier = pc_shm_barrier,
    .xShmUnmap = pc_shm_unmap,
    .xFetch = pc_fetch,
    .xUnfetch = pc_unfetch,
};

/* ------------------------------------------------------------------ the VFS */

static int pc_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                   int *out_flags)
{
    (void)vfs;
    struct pc_file *p = (struct pc_file *)f;
    memset(p, 0, sizeof *p);
    p->real = (sqlite3_file *)(p + 1);
    int rc = pc_real->xOpen(pc_real, name, p->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (p->real->pMethods) p->real->pMethods->xClose(p->real);
        p->base.pMethods = NULL;
        return rc;
    }
    /* a temporary file without a name, or deleted at close, does not outlive power */
    if (name && !(flags & SQLITE_OPEN_DELETEONCLOSE)) {
        char full[PATH_MAX];
        const char *key = realpath(name, full) ? full : name;
        pthread_mutex_lock(&pc_mu);
        p->node = pc__node(key);
        if (p->node) p->node->refs++;
        pthread_mutex_unlock(&pc_mu);
        if (!p->node) {
            p->real->pMethods->xClose(p->real);
            return SQLITE_NOMEM;
        }
    }
    p->base.pMethods = &pc_methods;
    return SQLITE_OK;
}

static int pc_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    char full[PATH_MAX];
    const char *key = realpath(name, full) ? full : name;
    pthread_mutex_lock(&pc_mu);
    int cut = pc__tick();
    for (struct pc_node *n = pc_nodes; n; n = n->next)
        if (strcmp(n->path, key) == 0) {
            pc__forget(n); /* an unlink is durable at once: its data is gone either way */
            break;
        }
    if (cut) pc__cut_locked();
    int rc = pc_real->xDelete(pc_real, name, sync_dir);
    pthread_mutex_unlock(&pc_mu);
    return rc;
}

static int pc_access(sqlite3_vfs *v, const char *n, int flags, int *out)
{
    (void)v;
    return pc_real->xAccess(pc_real, n, flags, out);
}

static int pc_full_pathname(sqlite3_vfs *v, const char *n, int len, char *out)
{
    (void)v;
    return pc_real->xFullPathname(pc_real, n, len, out);
}

static void *pc_dlopen(sqlite3_vfs *v, const char *n)
{
    (void)v;
    return pc_real->xDlOpen(pc_real, n);
}

static void pc_dlerror(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    pc_real->xDlError(pc_real, n, msg);
}

static void (*pc_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return pc_real->xDlSym(pc_real, h, sym);
}

static void pc_dlclose(sqlite3_vfs *v, void *h)
{
    (void)v;
    pc_real->xDlClose(pc_real, h);
}

static int pc_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return pc_real->xRandomness(pc_real, n, out);
}

static int pc_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return pc_real->xSleep(pc_real, us);
}

static int pc_current_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return pc_real->xCurrentTime(pc_real, out);
}

static int pc_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return pc_real->xGetLastError(pc_real, n, out);
}

static int pc_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return pc_real->xCurrentTimeInt64(pc_real, out);
}

int hq_powercut_install(uint64_t seed, uint64_t ops)
{
    if (sqlite3_initialize() != SQLITE_OK) return HQ_ERR_DB;
    pthread_mutex_lock(&pc_mu);
    if (!pc_real) {
        pc_real = sqlite3_vfs_find(NULL);
        if (!pc_real || pc_real->iVersion < 2) {
            pc_real = NULL;
            pthread_mutex_unlock(&pc_mu);
            return HQ_ERR_DB;
        }
        pc_vfs = (sqlite3_vfs){
            .iVersion = 2,
            .szOsFile = (int)sizeof(struct pc_file) + pc_real->szOsFile,
            .mxPathname = pc_real->mxPathname,
            .zName = "hallq-powercut",
            .xOpen = pc_open,
            .xDelete = pc_delete,
            .xAccess = pc_access,
            .xFullPathname = pc_full_pathname,
            .xDlOpen = pc_dlopen,
            .xDlError = pc_dlerror,
            .xDlSym = pc_dlsym,
            .xDlClose = pc_dlclose,
            .xRandomness = pc_randomness,
            .xSleep = pc_sleep,
            .xCurrentTime = pc_current_time,
            .xGetLastError = pc_last_error,
            .xCurrentTimeInt64 = pc_current_time64,
        };
        if (sqlite3_vfs_register(&pc_vfs, 1) != SQLITE_OK) {
            pc_real = NULL;
            pthread_mutex_unlock(&pc_mu);
            return HQ_ERR_DB;
        }
    }
    pc_rand = seed * 0x9E3779B97F4A7C15ull + 1; /* never 0: xorshift would stay there */
    if (!pc_rand) pc_rand = 1;
    pc_cut_at = ops ? pc_ops + ops : 0;
    pthread_mutex_unlock(&pc_mu);
    return HQ_OK;
}

#else /* a build without the simulation (the Debian package) */

int hq_powercut_install(uint64_t seed, uint64_t ops)
{
    (void)seed, (void)ops;
    return HQ_ERR_INVALID;
}

void hq_powercut_cut(void)
{
    _exit(HQ_POWERCUT_EXIT);
}

uint64_t hq_powercut_ops(void)
{
    return 0;
}

#endif

int hq_powercut_from_env(char *err, size_t errlen)
{
    const char *spec = getenv("HQ_POWERCUT");
    if (!spec || !*spec) return HQ_OK;
#ifndef HQ_POWERCUT_ENABLED
    snprintf(err, errlen,
             "HQ_POWERCUT is set, but this build has no power-cut simulation (the package's "
             "builds leave it out); ignored");
    return HQ_ERR_INVALID;
#else
    if (getenv("NOTIFY_SOCKET")) {
        snprintf(err, errlen,
                 "HQ_POWERCUT is set in a service started by systemd: the power-cut simulation "
                 "is for tests only; ignored");
        return HQ_ERR_INVALID;
    }
    unsigned long long seed, ops;
    int used = 0;
    if (sscanf(spec, "%llu:%llu%n", &seed, &ops, &used) != 2 || spec[used] != '\0') {
        snprintf(err, errlen, "HQ_POWERCUT=\"%s\": expected SEED:OPS (two whole numbers); ignored",
                 spec);
        return HQ_ERR_INVALID;
    }
    int rc = hq_powercut_install(seed, ops);
    if (rc) {
        snprintf(err, errlen, "HQ_POWERCUT: cannot register the power-cut VFS (%s)",
                 hq_strerror(rc));
        return rc;
    }
    LOG_WARN("POWERCUT",
             "模拟断电已开启（仅供测试）/ power-cut simulation on (tests only): seed %llu, cut at "
             "write/sync %llu",
             seed, ops);
    return HQ_OK;
#endif
}
