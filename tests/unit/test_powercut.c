/*
 * test_powercut.c — the power-cut VFS (firmware/powercut.c). Each case runs in a child that
 * installs the VFS, writes and syncs, and is cut (exit HQ_POWERCUT_EXIT); the parent reads
 * what is left on disk:
 *   - files opened through sqlite3_vfs_find(NULL) as a database, a WAL, a journal and with no
 *     type flag at all (as a side file may be): every synced byte survives; what follows is
 *     exactly the synced state plus a prefix of the later writes and truncates, the last one
 *     possibly torn at a 512-byte sector boundary of the file; over many seeds the cut drops
 *     everything, keeps everything and tears in the middle, each at least once;
 *   - a cut triggered by the op count from inside a write;
 *   - an SQLite database in WAL mode: every transaction committed with synchronous=FULL before
 *     the cut survives and the file passes integrity_check, while transactions committed with
 *     synchronous=OFF (never synced) are lost at least sometimes — which no SIGKILL test sees.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "hq.h"
#include "powercut.h"

static char dir[256];

static int child_status(pid_t pid)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* ------------------------------------------------------------ plain files */

enum { NFILES = 4, MAXC = 8, MAXSZ = 16384 };
/* a database, its WAL and journal, and a plain file (no type flag, as a side file may be) */
static const int kinds[NFILES] = {SQLITE_OPEN_MAIN_DB, SQLITE_OPEN_WAL, SQLITE_OPEN_MAIN_JOURNAL,
                                  0};
/* the unix VFS finds a WAL's or journal's database by the name's suffix */
static const char *names[NFILES] = {"side.db", "side.db-wal", "side.db-journal", "numbers"};

struct change {
    int write;
    long off, len; /* truncate: the new size in off */
};

/* The script per file: one synced write, then pending changes (kept in this table so the
 * parent can compute every state a disk may hold). */
static const struct change script[NFILES][MAXC] = {
    {{1, 0, 3000}, {1, 100, 1500}, {1, 3000, 2000}, {1, 700, 100}, {0, 0, 0}},
    {{1, 0, 32}, {1, 32, 1048}, {1, 1080, 1048}, {1, 2128, 1048}, {0, 0, 0}},
    {{1, 0, 4096}, {0, 1000, 0}, {1, 1000, 1200}, {1, 5000, 600}, {0, 0, 0}},
    {{1, 0, 64}, {1, 64, 1000}, {1, 0, 64}, {0, 0, 0}},
};
static const int nsynced = 1; /* the first change of each file is synced */

static void fill(unsigned char *p, long len, int file, int step)
{
    for (long i = 0; i < len; i++)
        p[i] = (unsigned char)(file * 67 + step * 31 + i * 7 + 1);
}

static int nchanges(int f)
{
    int n = 0;
    while (n < MAXC && (script[f][n].write || script[f][n].off))
        n++;
    return n;
}

static void plain_child(unsigned seed, int cut_at)
{
    if (hq_powercut_install(seed, (uint64_t)cut_at) != HQ_OK) _exit(3);
    sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
    if (!vfs || strcmp(vfs->zName, "hallq-powercut") != 0) _exit(4);
    sqlite3_file *fh[NFILES];
    /* the VFS keeps the name until the file is closed (SQLite's rule): not on the stack */
    static char paths[NFILES][300];
    for (int f = 0; f < NFILES; f++) {
        char *path = paths[f];
        snprintf(path, sizeof paths[f], "%s/%s", dir, names[f]);
        fh[f] = calloc(1, (size_t)vfs->szOsFile);
        int out = 0;
        if (vfs->xOpen(vfs, path, fh[f], SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | kinds[f],
                       &out) != SQLITE_OK)
            _exit(5);
    }
    static unsigned char buf[MAXSZ];
    for (int step = 0; step < MAXC; step++)
        for (int f = 0; f < NFILES; f++) {
            if (step >= nchanges(f)) continue;
            const struct change *c = &script[f][step];
            int rc;
            if (c->write) {
                fill(buf, c->len, f, step);
                rc = fh[f]->pMethods->xWrite(fh[f], buf, (int)c->len, c->off);
            } else {
                rc = fh[f]->pMethods->xTruncate(fh[f], c->off);
            }
            if (rc != SQLITE_OK) _exit(6);
            if (step + 1 == nsynced && fh[f]->pMethods->xSync(fh[f], SQLITE_SYNC_NORMAL)) _exit(7);
        }
    /* one file closed before the cut: a close is no sync */
    fh[1]->pMethods->xClose(fh[1]);
    hq_powercut_cut();
}

/* Every state the disk may hold for file f: synced, then j whole changes, then change j+1
 * torn at a sector boundary. Returns which (0: synced only, 1: torn, 2: all kept, 3: some
 * whole changes kept) matched, -1 for none. */
static int classify(int f, const unsigned char *got, long gotlen)
{
    static unsigned char state[MAXSZ], want[MAXSZ];
    static unsigned char buf[MAXSZ];
    long size = 0;
    int n = nchanges(f);
    for (int j = 0; j <= n; j++) {
        /* state after j changes */
        memset(state, 0, sizeof state);
        size = 0;
        for (int i = 0; i < j; i++) {
            const struct change *c = &script[f][i];
            if (c->write) {
                fill(buf, c->len, f, i);
                memcpy(state + c->off, buf, (size_t)c->len);
                if (c->off + c->len > size) size = c->off + c->len;
            } else {
                if (c->off < size) memset(state + c->off, 0, (size_t)(size - c->off));
                size = c->off;
            }
        }
        if (j < nsynced) continue;
        if (gotlen == size && memcmp(got, state, (size_t)size) == 0)
            return j == nsynced ? 0 : j == n ? 2 : 3;
        if (j == n || !script[f][j].write) continue;
        const struct change *c = &script[f][j];
        fill(buf, c->len, f, j);
        for (long t = (c->off / 512 + 1) * 512; t < c->off + c->len; t += 512) {
            memcpy(want, state, sizeof want);
            memcpy(want + c->off, buf, (size_t)(t - c->off));
            long wsize = t > size ? t : size;
            if (gotlen == wsize && memcmp(got, want, (size_t)wsize) == 0) return 1;
        }
    }
    return -1;
}

static void test_plain_files(void)
{
    int seen[4] = {0, 0, 0, 0};
    for (unsigned seed = 1; seed <= 60; seed++) {
        for (int f = 0; f < NFILES; f++) {
            char path[300];
            snprintf(path, sizeof path, "%s/%s", dir, names[f]);
            unlink(path);
        }
        pid_t pid = fork();
        if (pid == 0) plain_child(seed, 0);
        CHECK_EQ_INT(child_status(pid), HQ_POWERCUT_EXIT);
        for (int f = 0; f < NFILES; f++) {
            char path[300];
            snprintf(path, sizeof path, "%s/%s", dir, names[f]);
            static unsigned char got[MAXSZ + 1];
            FILE *fp = fopen(path, "rb");
            CHECK(fp != NULL);
            if (!fp) continue;
            long len = (long)fread(got, 1, sizeof got, fp);
            fclose(fp);
            int k = classify(f, got, len);
            if (k < 0)
                fprintf(stderr, "seed %u file %d: %ld bytes, not a state a disk can hold\n", seed,
                        f, len);
            CHECK(k >= 0);
            if (k >= 0) seen[k]++;
        }
    }
    printf("plain files: %d synced only, %d torn, %d all kept, %d some kept\n", seen[0], seen[1],
           seen[2], seen[3]);
    CHECK(seen[0] > 0); /* everything after the sync lost */
    CHECK(seen[1] > 0); /* a write torn at a sector */
    CHECK(seen[2] > 0); /* everything kept */
    CHECK(seen[3] > 0); /* a prefix of whole writes */
}

/* The cut at the n-th op, from inside a write: the writes before it are pending too. */
static void test_cut_by_count(void)
{
    static char path[300];
    snprintf(path, sizeof path, "%s/counted.db", dir);
    unlink(path);
    pid_t pid = fork();
    if (pid == 0) {
        if (hq_powercut_install(7, 4) != HQ_OK) _exit(3);
        sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
        sqlite3_file *fh = calloc(1, (size_t)vfs->szOsFile);
        int out;
        if (vfs->xOpen(vfs, path, fh,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MAIN_DB, &out))
            _exit(5);
        char b[512];
        memset(b, 'S', sizeof b);
        fh->pMethods->xWrite(fh, b, 512, 0); /* op 1 */
        fh->pMethods->xSync(fh, 0);          /* op 2 */
        memset(b, 'P', sizeof b);
        fh->pMethods->xWrite(fh, b, 512, 512);  /* op 3 */
        fh->pMethods->xWrite(fh, b, 512, 1024); /* op 4: the cut */
        _exit(0);                               /* never reached */
    }
    CHECK_EQ_INT(child_status(pid), HQ_POWERCUT_EXIT);
    struct stat sb;
    CHECK(stat(path, &sb) == 0);
    CHECK(sb.st_size == 512 || sb.st_size == 1024 || sb.st_size == 1536);
    FILE *fp = fopen(path, "rb");
    char got[512];
    CHECK(fp && fread(got, 1, 512, fp) == 512);
    if (fp) fclose(fp);
    char want[512];
    memset(want, 'S', sizeof want);
    CHECK_EQ_MEM(got, want, 512);
}

/* ------------------------------------------------------------ SQLite on top */

static void db_child(unsigned seed, int wfd)
{
    if (hq_powercut_install(seed, 0) != HQ_OK) _exit(3);
    char path[300];
    snprintf(path, sizeof path, "%s/hall.db", dir);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) _exit(4);
    sqlite3_exec(db,
                 "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE t(n INTEGER PRIMARY KEY, pad TEXT)",
                 NULL, NULL, NULL);
    for (int i = 1; i <= 120; i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "INSERT INTO t VALUES(%d, printf('%%.*c', 700, 'x'))", i);
        if (i == 61) sqlite3_exec(db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
        if (i == 30) sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) _exit(5);
        /* "acknowledged": the commit returned */
        if (i <= 60 && write(wfd, &i, sizeof i) != (ssize_t)sizeof i) _exit(6);
    }
    hq_powercut_cut();
}

static void test_sqlite(void)
{
    int lost_some = 0, kept_some = 0;
    for (unsigned seed = 1; seed <= 12; seed++) {
        char path[300];
        const char *sfx[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/hall.db%s", dir, sfx[i]);
            unlink(path);
        }
        int p[2];
        CHECK(pipe(p) == 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            db_child(seed, p[1]);
        }
        close(p[1]);
        int acked = 0, v;
        while (read(p[0], &v, sizeof v) == (ssize_t)sizeof v)
            acked = v;
        close(p[0]);
        CHECK_EQ_INT(child_status(pid), HQ_POWERCUT_EXIT);
        CHECK_EQ_INT(acked, 60);
        snprintf(path, sizeof path, "%s/hall.db", dir);
        sqlite3 *db;
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        sqlite3_stmt *s;
        const char *ic = "";
        char icbuf[64] = "";
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW) {
            snprintf(icbuf, sizeof icbuf, "%s", (const char *)sqlite3_column_text(s, 0));
            ic = icbuf;
        }
        sqlite3_finalize(s);
        CHECK_EQ_STR(ic, "ok");
        int n = -1, mx = -1;
        if (sqlite3_prepare_v2(db, "SELECT count(*), max(n) FROM t", -1, &s, NULL) == SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW) {
            n = sqlite3_column_int(s, 0);
            mx = sqlite3_column_int(s, 1);
        }
        sqlite3_finalize(s);
        sqlite3_close(db);
        CHECK(n >= acked);   /* every acknowledged (synced) commit survives */
        CHECK_EQ_INT(n, mx); /* and what survives is a prefix of the commits */
        if (n < 120) lost_some++;
        if (n > 60) kept_some++;
    }
    printf("sqlite: unsynced commits lost in %d of 12 cuts, some kept in %d\n", lost_some,
           kept_some);
    CHECK(lost_some > 0);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/hq-powercut-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_plain_files();
    test_cut_by_count();
    test_sqlite();
    if (!check_failures) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) return 1;
    } else {
        fprintf(stderr, "kept: %s\n", dir);
    }
    return check_report("test_powercut");
}
