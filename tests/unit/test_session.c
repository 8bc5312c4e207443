/*
 * test_session.c — the pure parts of staff sign-in (firmware/session.c):
 * PIN rules, Argon2id hashes (salted: the same PIN twice gives two hashes,
 * both verify), session tokens and their stored hashes, and the back-off.
 */
#include <sodium.h>
#include <string.h>

#include "check.h"
#include "hq.h"
#include "session.h"

/* the cheapest cost libsodium allows: the tests check behaviour, not cost */
#define OPS crypto_pwhash_OPSLIMIT_MIN
#define MEM crypto_pwhash_MEMLIMIT_MIN

static void test_pin_rules(void)
{
    CHECK_EQ_INT(hq_pin_check("1234"), HQ_OK);
    CHECK_EQ_INT(hq_pin_check("correct horse battery"), HQ_OK);
    CHECK_EQ_INT(hq_pin_check("123"), HQ_ERR_INVALID);
    CHECK_EQ_INT(hq_pin_check(""), HQ_ERR_INVALID);
    CHECK_EQ_INT(hq_pin_check(NULL), HQ_ERR_INVALID);
    CHECK_EQ_INT(hq_pin_check("12\n34"), HQ_ERR_INVALID);
    CHECK_EQ_INT(hq_pin_check("密码密码"), HQ_ERR_INVALID); /* ASCII: any keyboard types it */
    char long_pin[66];
    memset(long_pin, '7', 65);
    long_pin[65] = 0;
    CHECK_EQ_INT(hq_pin_check(long_pin), HQ_ERR_INVALID);
    long_pin[64] = 0;
    CHECK_EQ_INT(hq_pin_check(long_pin), HQ_OK);
}

static void test_pin_hash(void)
{
    char a[HQ_PIN_HASH_MAX], b[HQ_PIN_HASH_MAX];
    CHECK_EQ_INT(hq_pin_hash("2468", a, OPS, MEM), HQ_OK);
    CHECK_EQ_INT(hq_pin_hash("2468", b, OPS, MEM), HQ_OK);
    CHECK(strncmp(a, "$argon2id$", 10) == 0);
    CHECK(strcmp(a, b) != 0); /* salted */
    CHECK(strstr(a, "2468") == NULL);
    CHECK_EQ_INT(hq_pin_verify(a, "2468"), HQ_OK);
    CHECK_EQ_INT(hq_pin_verify(b, "2468"), HQ_OK);
    CHECK_EQ_INT(hq_pin_verify(a, "2469"), HQ_ERR_AUTH);
    CHECK_EQ_INT(hq_pin_verify(a, "246"), HQ_ERR_AUTH);
    CHECK_EQ_INT(hq_pin_verify("not a hash", "2468"), HQ_ERR_AUTH);
    CHECK_EQ_INT(hq_pin_verify(NULL, "2468"), HQ_ERR_AUTH);
    CHECK_EQ_INT(hq_pin_hash("12", a, OPS, MEM), HQ_ERR_INVALID);
    /* a cost change is noticed, so a sign-in re-hashes an old PIN */
    CHECK(!hq_pin_needs_rehash(b, OPS, MEM));
    CHECK(hq_pin_needs_rehash(b, HQ_PIN_OPSLIMIT, HQ_PIN_MEMLIMIT));
}

static void test_tokens(void)
{
    char t1[HQ_SESSION_TOKEN_LEN + 1], t2[HQ_SESSION_TOKEN_LEN + 1];
    char h1[HQ_SESSION_HASH_HEX + 1], h1b[HQ_SESSION_HASH_HEX + 1], h2[HQ_SESSION_HASH_HEX + 1];
    hq_session_token_new(t1);
    hq_session_token_new(t2);
    CHECK_EQ_INT(strlen(t1), HQ_SESSION_TOKEN_LEN);
    CHECK(strncmp(t1, "hqs_", 4) == 0);
    CHECK(strcmp(t1, t2) != 0);
    for (size_t i = 4; i < HQ_SESSION_TOKEN_LEN; i++)
        CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", t1[i]));
    hq_session_token_hash(t1, h1);
    hq_session_token_hash(t1, h1b);
    hq_session_token_hash(t2, h2);
    CHECK_EQ_INT(strlen(h1), HQ_SESSION_HASH_HEX);
    CHECK_EQ_STR(h1, h1b);
    CHECK(strcmp(h1, h2) != 0);
    CHECK(strstr(h1, t1 + 4) == NULL);
    /* the stored form is exactly BLAKE2b-256 of the token, in hex */
    unsigned char want[32];
    char wanthex[65];
    crypto_generichash(want, 32, (const unsigned char *)"hqs_x", 5, NULL, 0);
    sodium_bin2hex(wanthex, sizeof wanthex, want, 32);
    hq_session_token_hash("hqs_x", h1);
    CHECK_EQ_STR(h1, wanthex);
}

static void test_backoff(void)
{
    struct hq_backoff b;
    struct hq_backoff_ent ent[3];
    hq_backoff_init(&b, ent, 3, 2, 2, 16);
    int64_t now = 1000;
    CHECK_EQ_INT(hq_backoff_wait(&b, "s:1", now), 0);
    CHECK_EQ_INT(hq_backoff_fail(&b, "s:1", now), 0); /* two free failures */
    CHECK_EQ_INT(hq_backoff_fail(&b, "s:1", now), 0);
    CHECK_EQ_INT(hq_backoff_wait(&b, "s:1", now), 0);
    CHECK_EQ_INT(hq_backoff_fail(&b, "s:1", now), 2); /* then 2, 4, 8, 16, 16 */
    CHECK_EQ_INT(hq_backoff_wait(&b, "s:1", now), 2);
    CHECK_EQ_INT(hq_backoff_wait(&b, "s:1", now + 1), 1);
    CHECK_EQ_INT(hq_backoff_wait(&b, "s:1", now + 2), 0);
    CHECK_EQ_INT(hq_backoff_fail(&b, "s:1", now + 2), 4);
    CHECK_EQ_INT(hq_backoff_fail(&b, "s:1", now + 6), 8);
    CHECK_EQ_INT(hq_backoff_fail(&b, "s:1", now + 14), 16);
    CHECK_EQ_INT(hq_backoff_fail(&b, "s:1", now + 30), 16);
    CHECK_EQ_INT(hq_backoff_wait(&b, "s:2", now + 30), 0); /* per key */
    hq_backoff_ok(&b, "s:1");
    CHECK_EQ_INT(hq_backoff_wait(&b, "s:1", now + 30), 0);
    CHECK_EQ_INT(hq_backoff_fail(&b, "s:1", now + 30), 0); /* counting starts over */
    /* a full table forgets the entry unlocked soonest, never grows */
    hq_backoff_fail(&b, "s:2", now + 31);
    hq_backoff_fail(&b, "s:3", now + 31);
    hq_backoff_fail(&b, "s:3", now + 31);
    hq_backoff_fail(&b, "s:3", now + 31); /* s:3 locked */
    hq_backoff_fail(&b, "s:4", now + 32);
    CHECK_EQ_INT(b.n, 3);
    CHECK(hq_backoff_wait(&b, "s:3", now + 32) > 0);
    /* an hour idle is forgotten */
    hq_backoff_fail(&b, "s:5", now + 32 + 3700);
    CHECK_EQ_INT(hq_backoff_wait(&b, "s:3", now + 32 + 3700), 0);
    CHECK(b.n <= 3);
    /* a key longer than the entry's is cut, not overrun */
    char key[200];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = 0;
    hq_backoff_fail(&b, key, now);
    CHECK(b.n <= 3);
}

int main(void)
{
    hq_log_level = HQ_LOG_ERR;
    CHECK_EQ_INT(hq_session_lib_init(), HQ_OK);
    test_pin_rules();
    test_pin_hash();
    test_tokens();
    test_backoff();
    return check_report("test_session");
}
