/*
 * powercut.h — the power-cut simulation of the tests (docs/RELIABILITY.md §8), in the manner
 * of SQLite's own crash tests (its test6.c crash VFS): an SQLite VFS that wraps the default
 * one and becomes the default, so every file opened through SQLite or through
 * sqlite3_vfs_find(NULL) — database, WAL, journal and any plain file — goes through it. It
 * keeps, per file, what was written (and truncated) since that file's last xSync; at a cut it
 * puts back, for each file, what a disk could hold after losing power: the synced state plus
 * either none of the later writes or a random prefix of them, the last one torn at a 512-byte
 * sector; then the process _exit()s at once with HQ_POWERCUT_EXIT.
 *
 * Activated only by the environment variable HQ_POWERCUT=SEED:OPS (cut at the OPS-th write,
 * truncate or sync; SEED drives what survives; OPS 0 = track only), only in a build with
 * the CMake option HQ_POWERCUT (on for development and test builds, off for the Debian
 * package), and never under systemd (NOTIFY_SOCKET set): see docs/DESIGN.md.
 */
#ifndef HQ_POWERCUT_H
#define HQ_POWERCUT_H

#include <stddef.h>
#include <stdint.h>

/* The exit status of a simulated power cut: a soak tells it from a crash. */
#define HQ_POWERCUT_EXIT 86

/* Register the power-cut VFS as SQLite's default, cutting at the ops-th write, truncate or
 * sync (0: never by itself, only hq_powercut_cut()). HQ_OK, HQ_ERR_INVALID if this build has
 * no simulation, HQ_ERR_NOMEM, HQ_ERR_DB. Call before any database is opened. */
int hq_powercut_install(uint64_t seed, uint64_t ops);

/* HQ_POWERCUT from the environment: not set → HQ_OK and nothing done; set and usable →
 * installed, HQ_OK, a warning logged; set but refused (malformed, not in this build, under
 * systemd) → an error code and err says why. */
int hq_powercut_from_env(char *err, size_t errlen);

/* Cut the power now (the tests): never returns. */
void hq_powercut_cut(void) __attribute__((noreturn));

/* Mutating calls (writes, truncates, syncs) seen so far. */
uint64_t hq_powercut_ops(void);

#endif
