/*
 * session.h — the pure parts of staff sign-in (no I/O, no loop): PIN hashes,
 * session tokens and their stored hashes, and the failed-attempt back-off.
 * hqd_session.c is the loop side (routes, SQLite, the engine's window login).
 */
#ifndef HQ_SESSION_H
#define HQ_SESSION_H

#include <stddef.h>
#include <stdint.h>

/* Argon2id cost of a stored PIN (docs/DESIGN.md "Staff sessions"): 16 MiB
 * and 3 passes, 18 ms on the development VM and about 0.1 s on a
 * Cortex-A53 (docs/BENCHMARKS.md), so a stolen database costs an attacker
 * that much per guess, and a sign-in never needs more RAM than a 512 MiB
 * hall box can spare while the daemon runs. */
#define HQ_PIN_OPSLIMIT 3u
#define HQ_PIN_MEMLIMIT (16u * 1024u * 1024u)
#define HQ_PIN_HASH_MAX 128 /* crypto_pwhash_STRBYTES */
#define HQ_PIN_MIN 4
#define HQ_PIN_MAX 64

#define HQ_SESSION_TOKEN_LEN 47 /* "hqs_" + 43 base64url characters (32 random bytes) */
#define HQ_SESSION_HASH_HEX 64  /* BLAKE2b-256 of the token, hex */

int hq_session_lib_init(void); /* sodium_init; HQ_ERR_IO when it fails */

/* HQ_OK when pin is an acceptable PIN or password: 4..64 printable ASCII
 * characters (digits for a number pad, letters for a password). */
int hq_pin_check(const char *pin);
/* Salted Argon2id hash of pin as a crypto_pwhash_str string (it holds its
 * salt and cost, so a later change of the cost still verifies old hashes). */
int hq_pin_hash(const char *pin, char out[HQ_PIN_HASH_MAX], unsigned long long ops, size_t mem);
/* HQ_OK when pin matches hash, HQ_ERR_AUTH when it does not. */
int hq_pin_verify(const char *hash, const char *pin);
/* A hash made with another cost than the one given: re-hash it at sign-in. */
int hq_pin_needs_rehash(const char *hash, unsigned long long ops, size_t mem);

/* A new random session token ("hqs_..."), and the hex hash that is stored in
 * its place: the database never holds a token a thief could replay. */
void hq_session_token_new(char out[HQ_SESSION_TOKEN_LEN + 1]);
void hq_session_token_hash(const char *token, char out[HQ_SESSION_HASH_HEX + 1]);

/* Back-off of failed sign-ins, one table per kind of key (a staff id, an
 * address). The first `free_fails` failures cost nothing; each one after
 * locks the key for base_s, doubling, at most max_s. A success clears the
 * key. The table is bounded: when full, the entry that would be unlocked
 * the soonest is forgotten first. */
struct hq_backoff_ent {
    char key[48];
    uint32_t fails;
    int64_t until; /* locked before this time (seconds) */
    int64_t last;  /* last failure; entries idle for an hour are forgotten */
};
struct hq_backoff {
    struct hq_backoff_ent *ent;
    size_t n, cap;
    uint32_t free_fails;
    uint32_t base_s, max_s;
};
void hq_backoff_init(struct hq_backoff *b, struct hq_backoff_ent *ent, size_t cap,
                     uint32_t free_fails, uint32_t base_s, uint32_t max_s);
/* Seconds key is still locked at now, 0 when it may try. */
uint32_t hq_backoff_wait(const struct hq_backoff *b, const char *key, int64_t now);
/* A failure of key at now; answers the seconds it is now locked (0 = none). */
uint32_t hq_backoff_fail(struct hq_backoff *b, const char *key, int64_t now);
void hq_backoff_ok(struct hq_backoff *b, const char *key);

#endif
