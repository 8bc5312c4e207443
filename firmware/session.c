/*
 * session.c — PIN hashes, session tokens and sign-in back-off (session.h).
 * All crypto is libsodium's: Argon2id (crypto_pwhash_str) for PINs, BLAKE2b
 * (crypto_generichash) for stored session tokens, randombytes for tokens.
 */
#include "session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "hq.h"

int hq_session_lib_init(void)
{
    return sodium_init() < 0 ? HQ_ERR_IO : HQ_OK;
}

int hq_pin_check(const char *pin)
{
    size_t n = pin ? strlen(pin) : 0;
    if (n < HQ_PIN_MIN || n > HQ_PIN_MAX) return HQ_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (pin[i] < 0x20 || pin[i] > 0x7e) return HQ_ERR_INVALID;
    return HQ_OK;
}

int hq_pin_hash(const char *pin, char out[HQ_PIN_HASH_MAX], unsigned long long ops, size_t mem)
{
    _Static_assert(HQ_PIN_HASH_MAX >= crypto_pwhash_STRBYTES, "pin hash buffer");
    if (hq_pin_check(pin)) return HQ_ERR_INVALID;
    if (crypto_pwhash_str(out, pin, strlen(pin), ops, mem) != 0) return HQ_ERR_NOMEM;
    return HQ_OK;
}

int hq_pin_verify(const char *hash, const char *pin)
{
    if (!hash || !pin || hq_pin_check(pin)) return HQ_ERR_AUTH;
    return crypto_pwhash_str_verify(hash, pin, strlen(pin)) == 0 ? HQ_OK : HQ_ERR_AUTH;
}

int hq_pin_needs_rehash(const char *hash, unsigned long long ops, size_t mem)
{
    return crypto_pwhash_str_needs_rehash(hash, ops, mem) != 0;
}

void hq_session_token_new(char out[HQ_SESSION_TOKEN_LEN + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(out, "hqs_", 4);
    sodium_bin2base64(out + 4, HQ_SESSION_TOKEN_LEN + 1 - 4, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

void hq_session_token_hash(const char *token, char out[HQ_SESSION_HASH_HEX + 1])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)token, strlen(token), NULL, 0);
    sodium_bin2hex(out, HQ_SESSION_HASH_HEX + 1, h, sizeof h);
}

/* ------------------------------------------------------------- back-off */

void hq_backoff_init(struct hq_backoff *b, struct hq_backoff_ent *ent, size_t cap,
                     uint32_t free_fails, uint32_t base_s, uint32_t max_s)
{
    memset(b, 0, sizeof *b);
    memset(ent, 0, cap * sizeof *ent);
    b->ent = ent;
    b->cap = cap;
    b->free_fails = free_fails;
    b->base_s = base_s;
    b->max_s = max_s;
}

static struct hq_backoff_ent *backoff__find(const struct hq_backoff *b, const char *key)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->ent[i].key, key) == 0) return &b->ent[i];
    return NULL;
}

uint32_t hq_backoff_wait(const struct hq_backoff *b, const char *key, int64_t now)
{
    const struct hq_backoff_ent *e = backoff__find(b, key);
    if (!e || e->until <= now) return 0;
    return (uint32_t)(e->until - now);
}

uint32_t hq_backoff_fail(struct hq_backoff *b, const char *key, int64_t now)
{
    struct hq_backoff_ent *e = backoff__find(b, key);
    if (!e) {
        /* forget entries idle for an hour, then the soonest unlocked one */
        for (size_t i = 0; i < b->n;)
            if (now - b->ent[i].last > 3600)
                b->ent[i] = b->ent[--b->n];
            else
                i++;
        if (b->n == b->cap) {
            size_t k = 0;
            for (size_t i = 1; i < b->n; i++)
                if (b->ent[i].until < b->ent[k].until) k = i;
            b->ent[k] = b->ent[--b->n];
        }
        e = &b->ent[b->n++];
        memset(e, 0, sizeof *e);
        snprintf(e->key, sizeof e->key, "%s", key);
    }
    e->fails++;
    e->last = now;
    if (e->fails <= b->free_fails) return 0;
    uint32_t n = e->fails - b->free_fails - 1, wait = b->base_s;
    while (n-- && wait < b->max_s)
        wait *= 2;
    if (wait > b->max_s) wait = b->max_s;
    e->until = now + wait;
    return wait;
}

void hq_backoff_ok(struct hq_backoff *b, const char *key)
{
    struct hq_backoff_ent *e = backoff__find(b, key);
    if (e) *e = b->ent[--b->n];
}
