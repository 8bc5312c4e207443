/*
 * hqd_callback.c — the call-back, due dates and appeals of 差评 (see
 * hqd_callback.h for the routes, docs/DESIGN.md "差评 call-back" for why).
 *
 * The phone number: the citizen's page posts it once, within
 * evaluation.contact_window_s of the rating; it is sealed at once
 * (crypto_box_seal) to the hall's follow-up public key and only the sealed
 * bytes are stored. The private key is stored only wrapped (secretbox) under
 * a key derived by Argon2id from a manager's passphrase, which the box never
 * stores: the database and the config together cannot open a number. A
 * manager's dashboard sends the passphrase with each reveal; the private key
 * lives in this process only for that request and is wiped after it. The
 * number is never logged, never in the event log or the outbox (they say
 * "contact given" only), and erased (NULL, with SQLite's secure_delete so the
 * freed page is zeroed too) when the follow-up closes, when an appeal is
 * upheld, or after evaluation.contact_keep_days.
 */
#include "hqd_callback.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "workdays.h"

#define CB_SWEEP_MS (3600u * 1000u) /* erase expired numbers this often (and at start) */
#define CB_PASS_MIN 10              /* characters of a passphrase, at least */
#define CB_PASS_MAX 256             /* bytes */
#define CB_PHONE_MAX 20             /* digits of a normalised number, at most */
/* Argon2id cost of the passphrase: 32 MiB and 3 passes, twice a PIN's memory
 * (the key guards every number) and still within a 512 MiB box's spare RAM. */
#define CB_OPSLIMIT 3u
#define CB_MEMLIMIT (32u * 1024u * 1024u)

struct hq_callback {
    struct hq_daemon *d;
    uint64_t timer;
    uint64_t ckpt_timer; /* a WAL rewind after an erasure is due */
    int ckpt_tries;
    /* Wrong passphrases in a row, hall-wide, and until when none is tried
     * (loop ms): only signed-in managers can try at all, so a lock after a
     * few misses costs a real manager little and a guesser everything. */
    unsigned wrong;
    uint64_t locked_until;
    /* The tables exist. Not yet when the database could not be written at
     * start (disk full): the queue runs on, this module answers 503 and
     * tries again at each sweep. */
    bool ready;
};
#define CB_WRONG_FREE 5    /* wrong passphrases before the lock starts */
#define CB_LOCK_FIRST_S 30 /* the first lock; each further miss doubles it */
#define CB_LOCK_MAX_S 3600

static struct hq_callback cb__state;

static const char cb__schema[] =
    "CREATE TABLE IF NOT EXISTS eval_contacts(evaluation TEXT PRIMARY KEY,"
    " sealed BLOB, given_at INTEGER NOT NULL, erased_at INTEGER, erase_why TEXT);"
    "CREATE TABLE IF NOT EXISTS eval_appeals(evaluation TEXT PRIMARY KEY, kind TEXT NOT NULL,"
    " reason TEXT NOT NULL, by_staff TEXT, actor TEXT NOT NULL, at INTEGER NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending', review_reason TEXT, reviewed_by TEXT,"
    " reviewed_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS followup_key(id INTEGER PRIMARY KEY CHECK(id = 1),"
    " public_key BLOB NOT NULL, secret_box BLOB NOT NULL, salt BLOB NOT NULL,"
    " nonce BLOB NOT NULL, opslimit INTEGER NOT NULL, memlimit INTEGER NOT NULL,"
    " set_at INTEGER NOT NULL, set_by TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS evaluations_follow_up ON evaluations(follow_up_state);";

/* -------------------------------------------------------------- helpers */

static const char *cb__col(sqlite3_stmt *q, int i)
{
    return (const char *)sqlite3_column_text(q, i);
}

static int cb__db_fail(struct hq_api_req *req, sqlite3 *db, sqlite3_stmt *q)
{
    LOG_ERR("CALLBACK", "query failed: %s", sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return hq_api_reply_error(req, HQ_ERR_DB, NULL);
}

static void cb__add_time(cJSON *o, const char *key, int64_t t, int32_t off)
{
    char buf[32];
    if (t <= 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    hq_time_rfc3339(t, off, buf);
    cJSON_AddStringToObject(o, key, buf);
}

/* The evaluation a request names, as the dashboard's list keeps it. */
struct cb_eval {
    char uuid[37];
    int level;
    int64_t at;
    int window;
    char staff[16];
    char ticket[37];
    char label[16];
    char state[16]; /* follow_up_state */
};

/* HQ_OK, HQ_ERR_NOT_FOUND or HQ_ERR_DB. */
static int cb__eval_load(sqlite3 *db, const char *uuid_text, struct cb_eval *ev)
{
    uint8_t u[16];
    memset(ev, 0, sizeof *ev);
    if (hq_uuid_parse(uuid_text, u)) return HQ_ERR_NOT_FOUND;
    hq_uuid_format(u, ev->uuid);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT level, at, window, staff, ticket, label, follow_up_state "
                           "FROM evaluations WHERE uuid=?",
                           -1, &q, NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    sqlite3_bind_text(q, 1, ev->uuid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        ev->level = sqlite3_column_int(q, 0);
        ev->at = sqlite3_column_int64(q, 1);
        ev->window = sqlite3_column_int(q, 2);
        snprintf(ev->staff, sizeof ev->staff, "%s", cb__col(q, 3) ? cb__col(q, 3) : "");
        snprintf(ev->ticket, sizeof ev->ticket, "%s", cb__col(q, 4) ? cb__col(q, 4) : "");
        snprintf(ev->label, sizeof ev->label, "%s", cb__col(q, 5) ? cb__col(q, 5) : "");
        snprintf(ev->state, sizeof ev->state, "%s", cb__col(q, 6) ? cb__col(q, 6) : "none");
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? HQ_OK : rc == SQLITE_DONE ? HQ_ERR_NOT_FOUND : HQ_ERR_DB;
}

/* A write that failed inside a handler's transaction: logged, rolled back, answered 500. */
static int cb__not_saved(struct hq_api_req *req, sqlite3_stmt *q, const char *what,
                         const char *uuid)
{
    struct hq_daemon *d = req->d;
    LOG_ERR("CALLBACK", "%s%s%s not saved: %s", what, uuid ? " " : "", uuid ? uuid : "",
            sqlite3_errmsg(hq_store_db(d->store)));
    sqlite3_finalize(q);
    hq_store_end(d->store, 1);
    return hq_api_reply_error(req, HQ_ERR_DB, NULL);
}

/* One event-log row and, when `outbox`, the same JSON as an outbox event,
 * inside the caller's transaction. data is consumed. Never carries a number. */
static int cb__record(struct hq_daemon *d, const struct cb_eval *ev, const char *kind,
                      const char *actor, int64_t now, cJSON *data, bool outbox)
{
    sqlite3 *db = hq_store_db(d->store);
    cJSON_AddStringToObject(data, "kind", kind);
    cJSON_AddStringToObject(data, "evaluation", ev->uuid);
    char *json = cJSON_PrintUnformatted(data);
    sqlite3_stmt *q = NULL;
    if (!json || sqlite3_prepare_v2(db,
                                    "INSERT INTO events(at, kind, window, ticket, label, staff, "
                                    "data, actor) VALUES(?,?,?,?,?,?,?,?)",
                                    -1, &q, NULL) != SQLITE_OK) {
        free(json);
        cJSON_Delete(data);
        return HQ_ERR_DB;
    }
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, ev->window);
    sqlite3_bind_text(q, 4, ev->ticket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, ev->label, -1, SQLITE_STATIC);
    if (ev->staff[0]) sqlite3_bind_text(q, 6, ev->staff, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, json, -1, free);
    if (actor) sqlite3_bind_text(q, 8, actor, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q) == SQLITE_DONE ? HQ_OK : HQ_ERR_DB;
    sqlite3_finalize(q);
    if (rc || !outbox) {
        cJSON_Delete(data);
        return rc;
    }
    if (ev->staff[0]) cJSON_AddStringToObject(data, "staff", ev->staff);
    cJSON_AddNumberToObject(data, "window", ev->window);
    if (actor) cJSON_AddStringToObject(data, "actor", actor);
    return hq_store_outbox_add(d->store, "event", now, data);
}

/* After an erasure: the WAL still holds the page as it was before, until a
 * checkpoint copies it and the WAL is rewound. Rewind it now (TRUNCATE) so
 * the sealed bytes leave the disk with the row; busy (a reader in the way):
 * again a second later, a few times, and else at the next WAL bound
 * (store.c store__wal_hook). */
static void cb__ckpt(struct hq_loop *loop, void *arg)
{
    struct hq_callback *s = arg;
    (void)loop;
    s->ckpt_timer = 0;
    int rc = sqlite3_wal_checkpoint_v2(hq_store_db(s->d->store), NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                       NULL, NULL);
    if (rc == SQLITE_BUSY && ++s->ckpt_tries < 10)
        s->ckpt_timer = hq_loop_timer(s->d->loop, 1000, cb__ckpt, s);
}

static void cb__ckpt_soon(struct hq_callback *s)
{
    if (!s || s->ckpt_timer) return;
    s->ckpt_tries = 0;
    s->ckpt_timer = hq_loop_timer(s->d->loop, 0, cb__ckpt, s);
}

/* Erase the sealed numbers `where` selects (bound ?1 = now, ?2 = why, ?3 = arg). */
static int cb__erase(struct hq_daemon *d, const char *where, int64_t now, const char *why,
                     const char *arg, int *erased)
{
    sqlite3 *db = hq_store_db(d->store);
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE eval_contacts SET sealed=NULL, erased_at=?1, erase_why=?2 "
             "WHERE sealed IS NOT NULL AND %s",
             where);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) return HQ_ERR_DB;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_text(q, 2, why, -1, SQLITE_STATIC);
    if (arg) sqlite3_bind_text(q, 3, arg, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q) == SQLITE_DONE ? HQ_OK : HQ_ERR_DB;
    int n = sqlite3_changes(db);
    if (erased) *erased = n;
    sqlite3_finalize(q);
    if (!rc && n > 0) cb__ckpt_soon(d->mod.callback);
    return rc;
}

/* A phone number as the page sent it ("138 0013 8000", "+86-13800138000",
 * "0571-87654321") into digits only: a mainland mobile (11 digits, 1[3-9])
 * or a landline with its area code (0 and 9..11 more digits). */
static int cb__phone_norm(const char *in, char out[CB_PHONE_MAX + 1])
{
    size_t n = 0;
    const char *p = in;
    if (strncmp(p, "+86", 3) == 0)
        p += 3;
    else if (strncmp(p, "0086", 4) == 0)
        p += 4;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n >= CB_PHONE_MAX) return HQ_ERR_INVALID;
            out[n++] = *p;
        } else if (*p != ' ' && *p != '-') {
            return HQ_ERR_INVALID;
        }
    }
    out[n] = 0;
    bool mobile = n == 11 && out[0] == '1' && out[1] >= '3' && out[1] <= '9';
    bool landline = n >= 10 && n <= 12 && out[0] == '0' && out[1] != '0';
    return mobile || landline ? HQ_OK : HQ_ERR_INVALID;
}

/* Wipe a string of the request body (the number, a passphrase) once used:
 * the body lives until the request ends, and freed heap is not zeroed. */
static void cb__wipe(cJSON *s)
{
    if (cJSON_IsString(s) && s->valuestring) sodium_memzero(s->valuestring, strlen(s->valuestring));
}

/* A wrong passphrase: 403, not 401 — the caller's session is fine (a
 * dashboard signs out on a 401), only the passphrase was not. */
static int cb__wrong_pass(struct hq_api_req *req, const char *what_en)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", "auth");
    cJSON_AddStringToObject(o, "reason", "wrong_passphrase");
    cJSON_AddStringToObject(o, "message", "回访密钥口令不正确");
    cJSON_AddStringToObject(o, "message_en", what_en);
    return hq_api_reply_json(req, 403, o);
}

/* HQ_OK to try a passphrase now, or answered 429 with Retry-After. */
static int cb__pass_gate(struct hq_api_req *req)
{
    struct hq_callback *s = req->d->mod.callback;
    uint64_t now = hq_loop_now_ms(req->d->loop);
    if (!s || now >= s->locked_until) return HQ_OK;
    unsigned wait = (unsigned)((s->locked_until - now + 999) / 1000);
    req->retry_after = wait;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", "rate_limited");
    cJSON_AddStringToObject(o, "reason", "rate_limited");
    cJSON_AddStringToObject(o, "message", "口令错误次数过多，请稍后再试");
    cJSON_AddStringToObject(o, "message_en", "too many wrong passphrases, please wait");
    hq_api_reply_json(req, 429, o);
    return HQ_ERR_LIMIT;
}

/* After a passphrase was tried: a miss counts toward the lock, a hit clears it. */
static void cb__pass_tried(struct hq_api_req *req, bool right)
{
    struct hq_callback *s = req->d->mod.callback;
    if (!s) return;
    if (right) {
        s->wrong = 0;
        return;
    }
    if (++s->wrong < CB_WRONG_FREE) return;
    unsigned shift = s->wrong - CB_WRONG_FREE;
    uint64_t lock = shift >= 8 ? CB_LOCK_MAX_S : (uint64_t)CB_LOCK_FIRST_S << shift;
    if (lock > CB_LOCK_MAX_S) lock = CB_LOCK_MAX_S;
    s->locked_until = hq_loop_now_ms(req->d->loop) + lock * 1000;
    LOG_NOTICE("CALLBACK", "%u wrong follow-up passphrases in a row: none tried for %llus",
               s->wrong, (unsigned long long)lock);
}

/* ------------------------------------------------------------ the key */

struct cb_key {
    bool set;
    uint8_t pk[crypto_box_PUBLICKEYBYTES];
    uint8_t box[crypto_box_SECRETKEYBYTES + crypto_secretbox_MACBYTES];
    uint8_t salt[crypto_pwhash_SALTBYTES];
    uint8_t nonce[crypto_secretbox_NONCEBYTES];
    unsigned long long ops;
    size_t mem;
    int64_t set_at;
    char set_by[40];
};

static int cb__key_load(sqlite3 *db, struct cb_key *k)
{
    memset(k, 0, sizeof *k);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT public_key, secret_box, salt, nonce, opslimit, memlimit, "
                           "set_at, set_by FROM followup_key WHERE id=1",
                           -1, &q, NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_bytes(q, 0) != sizeof k->pk ||
            sqlite3_column_bytes(q, 1) != sizeof k->box ||
            sqlite3_column_bytes(q, 2) != sizeof k->salt ||
            sqlite3_column_bytes(q, 3) != sizeof k->nonce) {
            sqlite3_finalize(q);
            LOG_ERR("CALLBACK", "the stored follow-up key has wrong sizes: set it up again");
            return HQ_ERR_DB;
        }
        memcpy(k->pk, sqlite3_column_blob(q, 0), sizeof k->pk);
        memcpy(k->box, sqlite3_column_blob(q, 1), sizeof k->box);
        memcpy(k->salt, sqlite3_column_blob(q, 2), sizeof k->salt);
        memcpy(k->nonce, sqlite3_column_blob(q, 3), sizeof k->nonce);
        k->ops = (unsigned long long)sqlite3_column_int64(q, 4);
        k->mem = (size_t)sqlite3_column_int64(q, 5);
        k->set_at = sqlite3_column_int64(q, 6);
        snprintf(k->set_by, sizeof k->set_by, "%s", cb__col(q, 7) ? cb__col(q, 7) : "");
        k->set = true;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? HQ_OK : HQ_ERR_DB;
}

/* The private key out of its box with the passphrase: HQ_OK, HQ_ERR_AUTH
 * (wrong passphrase) or HQ_ERR_NOMEM (Argon2id could not get its memory). */
static int cb__key_open(const struct cb_key *k, const char *pass,
                        uint8_t sk[crypto_box_SECRETKEYBYTES])
{
    uint8_t kek[crypto_secretbox_KEYBYTES];
    if (crypto_pwhash(kek, sizeof kek, pass, strlen(pass), k->salt, k->ops, k->mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return HQ_ERR_NOMEM;
    int rc = crypto_secretbox_open_easy(sk, k->box, sizeof k->box, k->nonce, kek) == 0
                 ? HQ_OK
                 : HQ_ERR_AUTH;
    sodium_memzero(kek, sizeof kek);
    return rc;
}

/* Wrap sk under pass into k (new salt and nonce). */
static int cb__key_wrap(struct cb_key *k, const char *pass,
                        const uint8_t sk[crypto_box_SECRETKEYBYTES])
{
    uint8_t kek[crypto_secretbox_KEYBYTES];
    randombytes_buf(k->salt, sizeof k->salt);
    randombytes_buf(k->nonce, sizeof k->nonce);
    k->ops = CB_OPSLIMIT;
    k->mem = CB_MEMLIMIT;
    if (crypto_pwhash(kek, sizeof kek, pass, strlen(pass), k->salt, k->ops, k->mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return HQ_ERR_NOMEM;
    crypto_secretbox_easy(k->box, sk, crypto_box_SECRETKEYBYTES, k->nonce, kek);
    sodium_memzero(kek, sizeof kek);
    return HQ_OK;
}

static int cb__pass_check(const cJSON *p, const char **why)
{
    if (!cJSON_IsString(p)) {
        *why = "\"passphrase\" is required";
        return HQ_ERR_INVALID;
    }
    size_t chars = 0, bytes = strlen(p->valuestring);
    for (const unsigned char *s = (const unsigned char *)p->valuestring; *s; s++)
        if ((*s & 0xc0) != 0x80) chars++;
    if (chars < CB_PASS_MIN || bytes > CB_PASS_MAX) {
        *why = "the passphrase must have at least 10 characters (and at most 256 bytes)";
        return HQ_ERR_INVALID;
    }
    return HQ_OK;
}

static cJSON *cb__key_json(const struct cb_key *k, int32_t off)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "set", k->set);
    if (k->set) {
        char hex[crypto_box_PUBLICKEYBYTES * 2 + 1];
        sodium_bin2hex(hex, sizeof hex, k->pk, sizeof k->pk);
        cJSON_AddStringToObject(o, "public_key", hex);
        cb__add_time(o, "set_at", k->set_at, off);
        cJSON_AddStringToObject(o, "set_by", k->set_by);
    }
    return o;
}

/* GET/POST /api/v1/admin/followup-key */
static int cb__key_route(struct hq_api_req *req)
{
    struct hq_daemon *d = req->d;
    sqlite3 *db = hq_store_db(d->store);
    int32_t off = d->eng.cfg->utc_offset_s;
    struct cb_key k;
    if (cb__key_load(db, &k)) return hq_api_reply_error(req, HQ_ERR_DB, NULL);
    if (strcmp(req->method, "GET") == 0) return hq_api_reply_json(req, 200, cb__key_json(&k, off));
    if (strcmp(req->method, "POST") != 0)
        return hq_api_reply_error(req, HQ_ERR_INVALID, "GET or POST");

    cJSON *pass = cJSON_GetObjectItemCaseSensitive(req->body, "passphrase");
    cJSON *old = cJSON_GetObjectItemCaseSensitive(req->body, "old_passphrase");
    bool reset = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req->body, "reset"));
    const char *why = NULL;
    int rc = cb__pass_check(pass, &why);
    if (rc) {
        cb__wipe(pass);
        cb__wipe(old);
        return hq_api_reply_error(req, rc, why);
    }
    uint8_t sk[crypto_box_SECRETKEYBYTES];
    const char *what;
    if (k.set && cJSON_IsString(old)) {
        if (cb__pass_gate(req)) {
            cb__wipe(pass);
            cb__wipe(old);
            return HQ_OK;
        }
        rc = cb__key_open(&k, old->valuestring, sk);
        cb__wipe(old);
        if (rc != HQ_ERR_NOMEM) cb__pass_tried(req, rc == HQ_OK);
        if (rc) {
            cb__wipe(pass);
            LOG_NOTICE("CALLBACK", "follow-up key change refused: wrong old passphrase (%s)",
                       req->who.actor);
            return rc == HQ_ERR_AUTH ? cb__wrong_pass(req, "wrong old passphrase")
                                     : hq_api_reply_error(req, rc, NULL);
        }
        what = "changed";
    } else if (k.set && !reset) {
        cb__wipe(pass);
        return hq_api_reply_error(
            req, HQ_ERR_STATE,
            "a follow-up key is set up: give \"old_passphrase\" to change its "
            "passphrase, or \"reset\": true to replace it (the numbers "
            "sealed to the old key are erased)");
    } else {
        crypto_box_keypair(k.pk, sk);
        what = k.set ? "replaced" : "created";
    }
    rc = cb__key_wrap(&k, pass->valuestring, sk);
    cb__wipe(pass);
    sodium_memzero(sk, sizeof sk);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    int64_t now = hq_loop_wall_s();
    k.set = true;
    k.set_at = now;
    snprintf(k.set_by, sizeof k.set_by, "%s", req->who.actor);

    rc = hq_store_begin(d->store);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    sqlite3_stmt *q = NULL;
    int erased = 0;
    if (strcmp(what, "replaced") == 0 &&
        cb__erase(d, "1", now, "key_reset", NULL, &erased) != HQ_OK)
        goto dbfail;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO followup_key(id, public_key, secret_box, salt, "
                           "nonce, opslimit, memlimit, set_at, set_by) VALUES(1,?,?,?,?,?,?,?,?)",
                           -1, &q, NULL) != SQLITE_OK)
        goto dbfail;
    sqlite3_bind_blob(q, 1, k.pk, sizeof k.pk, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, k.box, sizeof k.box, SQLITE_STATIC);
    sqlite3_bind_blob(q, 3, k.salt, sizeof k.salt, SQLITE_STATIC);
    sqlite3_bind_blob(q, 4, k.nonce, sizeof k.nonce, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, (sqlite3_int64)k.ops);
    sqlite3_bind_int64(q, 6, (sqlite3_int64)k.mem);
    sqlite3_bind_int64(q, 7, now);
    sqlite3_bind_text(q, 8, k.set_by, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) goto dbfail;
    sqlite3_finalize(q);
    q = NULL;
    struct cb_eval none = {.uuid = ""};
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "change", what);
    cJSON_AddNumberToObject(ev, "erased", erased);
    if (cb__record(d, &none, "followup_key", req->who.actor, now, ev, false)) goto dbfail;
    rc = hq_store_end(d->store, 0);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    LOG_NOTICE("CALLBACK", "follow-up key %s by %s%s", what, req->who.actor,
               erased ? " (numbers sealed to the old key erased)" : "");
    cJSON *o = cb__key_json(&k, off);
    cJSON_AddStringToObject(o, "change", what);
    cJSON_AddNumberToObject(o, "erased", erased);
    return hq_api_reply_json(req, 200, o);
dbfail:
    return cb__not_saved(req, q, "follow-up key", NULL);
}

/* ------------------------------------------------------- the number */

/* Until when may a number be given for ev (0: not at all), and why not. */
static int64_t cb__contact_until(struct hq_daemon *d, const struct cb_eval *ev, bool *given,
                                 const char **why)
{
    sqlite3 *db = hq_store_db(d->store);
    sqlite3_stmt *q = NULL;
    *given = false;
    *why = NULL;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM eval_contacts WHERE evaluation=?", -1, &q, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(q, 1, ev->uuid, -1, SQLITE_STATIC);
        *given = sqlite3_step(q) == SQLITE_ROW;
    }
    sqlite3_finalize(q);
    int64_t until = ev->at + d->cfg.eval_contact_window_s;
    if (ev->level > 2)
        *why = "only a bad rating (非常不满意, 不满意) is called back";
    else if (*given)
        *why = "a number was already given for this rating";
    else if (strcmp(ev->state, "closed") == 0)
        *why = "the follow-up of this rating is closed";
    else if (hq_loop_wall_s() > until)
        *why = "too late: a number may be given only right after the rating";
    return *why ? 0 : until;
}

/* GET and POST /api/v1/evaluations/{uuid}/contact */
static int cb__contact(struct hq_api_req *req, const char *uuid)
{
    struct hq_daemon *d = req->d;
    sqlite3 *db = hq_store_db(d->store);
    struct cb_eval ev;
    cJSON *phone = cJSON_GetObjectItemCaseSensitive(req->body, "phone");
    int rc = cb__eval_load(db, uuid, &ev);
    if (rc) {
        cb__wipe(phone);
        return hq_api_reply_error(req, rc, rc == HQ_ERR_NOT_FOUND ? "no such evaluation" : NULL);
    }
    bool given;
    const char *why;
    int64_t until = cb__contact_until(d, &ev, &given, &why);
    struct cb_key k;
    int kr = cb__key_load(db, &k);
    if (!why && (kr || !k.set))
        why = kr ? "the database cannot be read now"
                 : "the hall has not set up its follow-up key: it cannot keep a number safely";
    if (strcmp(req->method, "GET") == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "open", why == NULL);
        cJSON_AddBoolToObject(o, "given", given);
        cb__add_time(o, "until", why ? 0 : until, d->eng.cfg->utc_offset_s);
        if (why) cJSON_AddStringToObject(o, "why", why);
        return hq_api_reply_json(req, 200, o);
    }
    if (strcmp(req->method, "POST") != 0) return hq_api_reply_error(req, HQ_ERR_INVALID, NULL);
    char digits[CB_PHONE_MAX + 1] = "";
    bool consent = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req->body, "consent"));
    int vr = !cJSON_IsString(phone) ? HQ_ERR_INVALID : cb__phone_norm(phone->valuestring, digits);
    cb__wipe(phone);
    if (why) {
        sodium_memzero(digits, sizeof digits);
        return hq_api_reply_error(req, HQ_ERR_STATE, why);
    }
    if (!consent || vr) {
        sodium_memzero(digits, sizeof digits);
        return hq_api_reply_error(req, HQ_ERR_INVALID,
                                  !consent ? "\"consent\": true is required (同意回访)"
                                           : "\"phone\" must be a mobile number (11 digits) or a "
                                             "landline with its area code");
    }
    uint8_t sealed[CB_PHONE_MAX + crypto_box_SEALBYTES];
    size_t len = strlen(digits);
    crypto_box_seal(sealed, (const uint8_t *)digits, len, k.pk);
    sodium_memzero(digits, sizeof digits);
    int64_t now = hq_loop_wall_s();
    rc = hq_store_begin(d->store);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    sqlite3_stmt *q = NULL;
    /* the primary key makes "only once" hold however many devices try */
    if (sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO eval_contacts(evaluation, sealed, given_at) "
                           "VALUES(?,?,?)",
                           -1, &q, NULL) != SQLITE_OK)
        goto dbfail;
    sqlite3_bind_text(q, 1, ev.uuid, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, sealed, (int)(len + crypto_box_SEALBYTES), SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now);
    if (sqlite3_step(q) != SQLITE_DONE) goto dbfail;
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_changes(db) != 1) {
        hq_store_end(d->store, 1);
        return hq_api_reply_error(req, HQ_ERR_STATE, "a number was already given for this rating");
    }
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddBoolToObject(rec, "contact_given", true);
    if (cb__record(d, &ev, "contact_given", req->who.actor, now, rec, true)) goto dbfail;
    rc = hq_store_end(d->store, 0);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    LOG_INFO("CALLBACK", "evaluation %s: a number for the call-back was given (sealed)", ev.uuid);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", true);
    cJSON_AddStringToObject(o, "message", "已收到，工作人员将尽快回访");
    cJSON_AddStringToObject(o, "message_en", "Thank you: the hall will call you back");
    return hq_api_reply_json(req, 200, o);
dbfail:
    return cb__not_saved(req, q, "number for", ev.uuid);
}

/* POST /api/v1/admin/evaluations/{uuid}/contact {"passphrase"}: the number,
 * to a manager's own session only (a person, named in the event log). */
static int cb__reveal(struct hq_api_req *req, const char *uuid)
{
    struct hq_daemon *d = req->d;
    sqlite3 *db = hq_store_db(d->store);
    cJSON *pass = cJSON_GetObjectItemCaseSensitive(req->body, "passphrase");
    if (!(req->who.auth & HQ_AUTH_MANAGER)) {
        cb__wipe(pass);
        return hq_api_reply_error(req, HQ_ERR_AUTH,
                                  "only a manager signed in on the dashboard sees a number");
    }
    if (strcmp(req->method, "POST") != 0) {
        cb__wipe(pass);
        return hq_api_reply_error(req, HQ_ERR_INVALID, "a POST with the passphrase");
    }
    struct cb_eval ev;
    int rc = cb__eval_load(db, uuid, &ev);
    if (rc) {
        cb__wipe(pass);
        return hq_api_reply_error(req, rc, rc == HQ_ERR_NOT_FOUND ? "no such evaluation" : NULL);
    }
    struct cb_key k;
    if (cb__key_load(db, &k) || !k.set) {
        cb__wipe(pass);
        return hq_api_reply_error(req, HQ_ERR_STATE, "no follow-up key is set up");
    }
    if (!cJSON_IsString(pass))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "\"passphrase\" is required");
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT sealed, erase_why FROM eval_contacts WHERE evaluation=?", -1,
                           &q, NULL) != SQLITE_OK) {
        cb__wipe(pass);
        return cb__db_fail(req, db, q);
    }
    sqlite3_bind_text(q, 1, ev.uuid, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc != SQLITE_ROW || sqlite3_column_type(q, 0) == SQLITE_NULL) {
        const char *why = rc != SQLITE_ROW ? "no number was given for this rating"
                                           : "the number was erased (follow-up closed, appeal "
                                             "upheld, kept too long or key replaced)";
        sqlite3_finalize(q);
        cb__wipe(pass);
        return hq_api_reply_error(req, rc != SQLITE_ROW ? HQ_ERR_NOT_FOUND : HQ_ERR_STATE, why);
    }
    uint8_t sealed[CB_PHONE_MAX + crypto_box_SEALBYTES];
    int slen = sqlite3_column_bytes(q, 0);
    if (slen <= (int)crypto_box_SEALBYTES || slen > (int)sizeof sealed) {
        sqlite3_finalize(q);
        cb__wipe(pass);
        return hq_api_reply_error(req, HQ_ERR_DB, "the stored number is damaged");
    }
    memcpy(sealed, sqlite3_column_blob(q, 0), (size_t)slen);
    sqlite3_finalize(q);
    if (cb__pass_gate(req)) {
        cb__wipe(pass);
        return HQ_OK;
    }
    uint8_t sk[crypto_box_SECRETKEYBYTES];
    rc = cb__key_open(&k, pass->valuestring, sk);
    cb__wipe(pass);
    if (rc != HQ_ERR_NOMEM) cb__pass_tried(req, rc == HQ_OK);
    if (rc) {
        LOG_NOTICE("CALLBACK", "number of %s not shown: wrong passphrase (%s)", ev.uuid,
                   req->who.actor);
        return rc == HQ_ERR_AUTH ? cb__wrong_pass(req, "wrong passphrase")
                                 : hq_api_reply_error(req, rc, NULL);
    }
    char digits[CB_PHONE_MAX + 1] = "";
    rc = crypto_box_seal_open((uint8_t *)digits, sealed, (size_t)slen, k.pk, sk);
    sodium_memzero(sk, sizeof sk);
    if (rc != 0) return hq_api_reply_error(req, HQ_ERR_DB, "the stored number does not open");
    int64_t now = hq_loop_wall_s();
    /* who saw a number, and when, is kept (never the number) */
    if (hq_store_begin(d->store) == HQ_OK) {
        int wr =
            cb__record(d, &ev, "contact_shown", req->who.actor, now, cJSON_CreateObject(), false);
        hq_store_end(d->store, wr != HQ_OK);
    }
    LOG_INFO("CALLBACK", "evaluation %s: number shown to %s", ev.uuid, req->who.actor);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "evaluation", ev.uuid);
    cJSON_AddStringToObject(o, "phone", digits);
    sodium_memzero(digits, sizeof digits);
    return hq_api_reply_json(req, 200, o);
}

/* ------------------------------------------------------------ appeals */

static const char *const cb_appeal_kinds[] = {"malicious", "mistaken"};

static cJSON *cb__appeal_json(sqlite3 *db, const char *uuid, int32_t off)
{
    sqlite3_stmt *q = NULL;
    cJSON *o = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT kind, reason, by_staff, actor, at, state, review_reason, "
                           "reviewed_by, reviewed_at FROM eval_appeals WHERE evaluation=?",
                           -1, &q, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
        o = cJSON_CreateObject();
        const char *kind = cb__col(q, 0), *state = cb__col(q, 5);
        cJSON_AddStringToObject(o, "kind", kind);
        cJSON_AddStringToObject(o, "kind_label",
                                kind && !strcmp(kind, "malicious") ? "恶意差评" : "误评");
        cJSON_AddStringToObject(o, "reason", cb__col(q, 1) ? cb__col(q, 1) : "");
        if (cb__col(q, 2))
            cJSON_AddStringToObject(o, "by", cb__col(q, 2));
        else
            cJSON_AddStringToObject(o, "by", cb__col(q, 3) ? cb__col(q, 3) : "");
        cb__add_time(o, "at", sqlite3_column_int64(q, 4), off);
        cJSON_AddStringToObject(o, "state", state ? state : "pending");
        cJSON_AddStringToObject(o, "state_label",
                                !state || !strcmp(state, "pending") ? "待复核"
                                : !strcmp(state, "upheld")          ? "申诉成立"
                                                                    : "申诉驳回");
        if (cb__col(q, 6))
            cJSON_AddStringToObject(o, "review_reason", cb__col(q, 6));
        else
            cJSON_AddNullToObject(o, "review_reason");
        if (cb__col(q, 7))
            cJSON_AddStringToObject(o, "reviewed_by", cb__col(q, 7));
        else
            cJSON_AddNullToObject(o, "reviewed_by");
        cb__add_time(o, "reviewed_at", sqlite3_column_int64(q, 8), off);
        cJSON_AddBoolToObject(o, "excluded", state && !strcmp(state, "upheld"));
    }
    sqlite3_finalize(q);
    return o;
}

/* The end of an appeal or its review, in the transaction begun by the caller:
 * the record (event log and outbox), the commit, the log line and the answer
 * with the appeal as it now stands. */
static int cb__appeal_commit(struct hq_api_req *req, const struct cb_eval *ev, const char *kind,
                             cJSON *rec, int64_t now)
{
    struct hq_daemon *d = req->d;
    sqlite3 *db = hq_store_db(d->store);
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "appeal"));
    char what[24];
    snprintf(what, sizeof what, "%s", state ? state : kind);
    if (cb__record(d, ev, kind, req->who.actor, now, rec, true)) {
        LOG_ERR("CALLBACK", "%s of %s not saved: %s", kind, ev->uuid, sqlite3_errmsg(db));
        hq_store_end(d->store, 1);
        return hq_api_reply_error(req, HQ_ERR_DB, NULL);
    }
    int rc = hq_store_end(d->store, 0);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    LOG_INFO("CALLBACK", "evaluation %s: %s (%s) by %s", ev->uuid, kind, what, req->who.actor);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", true);
    cJSON_AddStringToObject(o, "evaluation", ev->uuid);
    cJSON *a = cb__appeal_json(db, ev->uuid, d->eng.cfg->utc_offset_s);
    cJSON_AddItemToObject(o, "appeal", a ? a : cJSON_CreateNull());
    return hq_api_reply_json(req, 200, o);
}

/* POST /api/v1/evaluations/{uuid}/appeal {"kind", "reason"} */
static int cb__appeal(struct hq_api_req *req, const char *uuid)
{
    struct hq_daemon *d = req->d;
    sqlite3 *db = hq_store_db(d->store);
    if (strcmp(req->method, "POST") != 0)
        return hq_api_reply_error(req, HQ_ERR_INVALID, "an appeal is a POST");
    unsigned who = req->who.auth;
    if (!(who & (HQ_AUTH_CLERK | HQ_AUTH_MANAGER | HQ_AUTH_MACHINE_MANAGER)))
        return hq_api_reply_error(req, HQ_ERR_AUTH,
                                  "the rated clerk's session or a manager appeals a rating");
    cJSON *kind = cJSON_GetObjectItemCaseSensitive(req->body, "kind");
    cJSON *reason = cJSON_GetObjectItemCaseSensitive(req->body, "reason");
    const char *k = NULL, *why = NULL;
    for (size_t i = 0; i < HQ_ARRAY_LEN(cb_appeal_kinds); i++)
        if (cJSON_IsString(kind) && strcmp(kind->valuestring, cb_appeal_kinds[i]) == 0)
            k = cb_appeal_kinds[i];
    if (!k)
        return hq_api_reply_error(
            req, HQ_ERR_INVALID,
            "\"kind\" must be \"malicious\" (恶意差评) or \"mistaken\" (误评)");
    if (!cJSON_IsString(reason))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "\"reason\" is required");
    if (admin_note_check(reason->valuestring, ADMIN_NOTE_MAX_CHARS, &why))
        return hq_api_reply_error(req, HQ_ERR_INVALID, why);
    struct cb_eval ev;
    int rc = cb__eval_load(db, uuid, &ev);
    if (rc)
        return hq_api_reply_error(req, rc, rc == HQ_ERR_NOT_FOUND ? "no such evaluation" : NULL);
    if ((who & HQ_AUTH_CLERK) && strcmp(req->who.staff, ev.staff) != 0)
        return hq_api_reply_error(req, HQ_ERR_AUTH, "only the rated clerk may appeal this rating");
    if (ev.level > 3)
        return hq_api_reply_error(req, HQ_ERR_STATE,
                                  "only a rating below 满意 (levels 1 to 3) can be appealed");
    int64_t now = hq_loop_wall_s();
    int64_t until = hq_workday_due(&d->cfg, ev.at, d->cfg.eval_appeal_workdays);
    if (now >= until)
        return hq_api_reply_error(req, HQ_ERR_STATE,
                                  "too late: an appeal is made within evaluation.appeal_workdays "
                                  "working days of the rating");
    rc = hq_store_begin(d->store);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO eval_appeals(evaluation, kind, reason, by_staff, "
                           "actor, at) VALUES(?,?,?,?,?,?)",
                           -1, &q, NULL) != SQLITE_OK)
        goto dbfail;
    sqlite3_bind_text(q, 1, ev.uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, k, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, reason->valuestring, -1, SQLITE_STATIC);
    if (req->who.staff[0])
        sqlite3_bind_text(q, 4, req->who.staff, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 4);
    sqlite3_bind_text(q, 5, req->who.actor, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, now);
    if (sqlite3_step(q) != SQLITE_DONE) goto dbfail;
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_changes(db) != 1) {
        hq_store_end(d->store, 1);
        return hq_api_reply_error(req, HQ_ERR_STATE, "this rating was already appealed");
    }
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "appeal", k);
    cJSON_AddStringToObject(rec, "reason", reason->valuestring);
    cJSON_AddStringToObject(rec, "state", "pending");
    cJSON_AddNumberToObject(rec, "level", ev.level);
    return cb__appeal_commit(req, &ev, "appeal", rec, now);
dbfail:
    return cb__not_saved(req, q, "appeal of", ev.uuid);
}

/* POST /api/v1/admin/evaluations/{uuid}/review {"uphold", "reason"} (复核) */
static int cb__review(struct hq_api_req *req, const char *uuid)
{
    struct hq_daemon *d = req->d;
    sqlite3 *db = hq_store_db(d->store);
    if (strcmp(req->method, "POST") != 0)
        return hq_api_reply_error(req, HQ_ERR_INVALID, "a review is a POST");
    cJSON *up = cJSON_GetObjectItemCaseSensitive(req->body, "uphold");
    cJSON *reason = cJSON_GetObjectItemCaseSensitive(req->body, "reason");
    const char *why = NULL;
    if (!cJSON_IsBool(up))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "\"uphold\" must be true or false");
    if (!cJSON_IsString(reason))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "\"reason\" is required");
    if (admin_note_check(reason->valuestring, ADMIN_NOTE_MAX_CHARS, &why))
        return hq_api_reply_error(req, HQ_ERR_INVALID, why);
    struct cb_eval ev;
    int rc = cb__eval_load(db, uuid, &ev);
    if (rc)
        return hq_api_reply_error(req, rc, rc == HQ_ERR_NOT_FOUND ? "no such evaluation" : NULL);
    bool uphold = cJSON_IsTrue(up);
    const char *state = uphold ? "upheld" : "rejected";
    int64_t now = hq_loop_wall_s();
    rc = hq_store_begin(d->store);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    sqlite3_stmt *q = NULL;
    /* pending → upheld | rejected, once: the condition is the state checked */
    if (sqlite3_prepare_v2(db,
                           "UPDATE eval_appeals SET state=?1, review_reason=?2, reviewed_by=?3, "
                           "reviewed_at=?4 WHERE evaluation=?5 AND state='pending'",
                           -1, &q, NULL) != SQLITE_OK)
        goto dbfail;
    sqlite3_bind_text(q, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, reason->valuestring, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, req->who.actor, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, now);
    sqlite3_bind_text(q, 5, ev.uuid, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) goto dbfail;
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_changes(db) != 1) {
        hq_store_end(d->store, 1);
        cJSON *a = cb__appeal_json(db, ev.uuid, 0);
        bool none = a == NULL;
        cJSON_Delete(a);
        return hq_api_reply_error(req, none ? HQ_ERR_NOT_FOUND : HQ_ERR_STATE,
                                  none ? "this rating was not appealed"
                                       : "the appeal was already reviewed");
    }
    /* an upheld appeal ends the call-back: the number has no purpose left */
    int erased = 0;
    if (uphold && cb__erase(d, "evaluation=?3", now, "appeal_upheld", ev.uuid, &erased))
        goto dbfail;
    /* the record's update for the central server (docs/SYNC.md) */
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "appeal", state);
    cJSON_AddBoolToObject(rec, "upheld", uphold);
    cJSON_AddBoolToObject(rec, "excluded", uphold);
    cJSON_AddStringToObject(rec, "reason", reason->valuestring);
    cJSON_AddNumberToObject(rec, "level", ev.level);
    return cb__appeal_commit(req, &ev, "appeal_review", rec, now);
dbfail:
    return cb__not_saved(req, q, "review of", ev.uuid);
}

/* ------------------------------------------------------------- routes */

/* "{uuid}/{what}" into uuid and what; false when it is not that shape. */
static bool cb__split(const char *tail, char uuid[40], const char **what)
{
    const char *slash = strchr(tail, '/');
    if (!slash || (size_t)(slash - tail) >= 40 || strchr(slash + 1, '/')) return false;
    snprintf(uuid, 40, "%.*s", (int)(slash - tail), tail);
    *what = slash + 1;
    return true;
}

/* /api/v1/evaluations/{uuid}/contact | appeal */
static int cb__public_route(struct hq_api_req *req, void *arg)
{
    (void)arg;
    if (!hqd_callback_ready(req->d)) {
        cb__wipe(cJSON_GetObjectItemCaseSensitive(req->body, "phone"));
        return hq_api_reply_error(req, HQ_ERR_DISK_FULL, "the database cannot be written now");
    }
    char uuid[40];
    const char *what;
    if (cb__split(req->tail, uuid, &what)) {
        if (strcmp(what, "contact") == 0) return cb__contact(req, uuid);
        if (strcmp(what, "appeal") == 0) return cb__appeal(req, uuid);
    }
    cb__wipe(cJSON_GetObjectItemCaseSensitive(req->body, "phone"));
    return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such path");
}

bool hqd_callback_admin_owns(const char *tail)
{
    if (strcmp(tail, "followup-key") == 0) return true;
    if (strncmp(tail, "evaluations/", 12) != 0) return false;
    char uuid[40];
    const char *what;
    return cb__split(tail + 12, uuid, &what) &&
           (strcmp(what, "contact") == 0 || strcmp(what, "review") == 0);
}

int hqd_callback_admin(struct hq_api_req *req, const char *tail)
{
    if (!hqd_callback_ready(req->d)) {
        cb__wipe(cJSON_GetObjectItemCaseSensitive(req->body, "passphrase"));
        cb__wipe(cJSON_GetObjectItemCaseSensitive(req->body, "old_passphrase"));
        return hq_api_reply_error(req, HQ_ERR_DISK_FULL, "the database cannot be written now");
    }
    if (strcmp(tail, "followup-key") == 0) return cb__key_route(req);
    char uuid[40];
    const char *what;
    if (strncmp(tail, "evaluations/", 12) == 0 && cb__split(tail + 12, uuid, &what)) {
        if (strcmp(what, "contact") == 0) return cb__reveal(req, uuid);
        if (strcmp(what, "review") == 0) return cb__review(req, uuid);
    }
    return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such path");
}

/* ------------------------------------------- dashboard: rows, alarm, rates */

int hqd_callback_on_close(struct hq_daemon *d, const char *evaluation, int64_t now)
{
    if (!hqd_callback_ready(d)) return HQ_OK;
    return cb__erase(d, "evaluation=?3", now, "follow_up_closed", evaluation, NULL);
}

void hqd_callback_row(struct hq_daemon *d, cJSON *row, const char *uuid, int level, int64_t at,
                      int64_t now)
{
    if (!hqd_callback_ready(d)) return;
    sqlite3 *db = hq_store_db(d->store);
    int32_t off = d->eng.cfg->utc_offset_s;
    cJSON *appeal = cb__appeal_json(db, uuid, off);
    bool excluded = appeal && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(appeal, "excluded"));
    cJSON *f = cJSON_GetObjectItemCaseSensitive(row, "follow_up");
    if (level <= 2 && f) {
        int64_t due = hq_workday_due(&d->cfg, at, d->cfg.eval_callback_workdays);
        cb__add_time(f, "callback_due", due, off);
        cJSON *st = cJSON_GetObjectItemCaseSensitive(f, "state");
        bool open = cJSON_IsString(st) && strcmp(st->valuestring, "open") == 0;
        cJSON_AddBoolToObject(f, "callback_overdue", open && !excluded && now > due);
        /* an upheld appeal needs no follow-up: never overdue */
        if (excluded) cJSON_ReplaceItemInObjectCaseSensitive(f, "overdue", cJSON_CreateBool(0));
    }
    sqlite3_stmt *q = NULL;
    cJSON *c = cJSON_CreateObject();
    bool given = false, erased = false;
    if (sqlite3_prepare_v2(db, "SELECT sealed IS NULL FROM eval_contacts WHERE evaluation=?", -1,
                           &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW) {
            given = true;
            erased = sqlite3_column_int(q, 0) != 0;
        }
    }
    sqlite3_finalize(q);
    cJSON_AddBoolToObject(c, "given", given);
    cJSON_AddBoolToObject(c, "erased", erased);
    cJSON_AddItemToObject(row, "contact", c);
    cJSON_AddItemToObject(row, "appeal", appeal ? appeal : cJSON_CreateNull());
}

/* Counts of the bad ratings of days from..to (from = INT32_MIN: every day
 * still open, for the alarm). */
struct cb_counts {
    unsigned bad, real_name, called_back, rectified, overdue, callback_overdue, upheld;
};

static int cb__count(struct hq_daemon *d, int32_t from, int32_t to, bool open_only, int64_t now,
                     struct cb_counts *n)
{
    sqlite3 *db = hq_store_db(d->store);
    memset(n, 0, sizeof *n);
    sqlite3_stmt *q = NULL;
    /* two shapes, so each walks its index (follow_up_state, day) and not
     * the whole table: the alarm runs every 5 s, the overview on each event */
#define CB_COUNT_SQL(where)                                                                        \
    "SELECT e.at, e.follow_up_state, e.follow_up_due, c.evaluation IS NOT NULL, "                  \
    "coalesce(a.state = 'upheld', 0) FROM evaluations e "                                          \
    "LEFT JOIN eval_contacts c ON c.evaluation = e.uuid "                                          \
    "LEFT JOIN eval_appeals a ON a.evaluation = e.uuid WHERE e.level <= 2 AND " where
    const char *sql = open_only
                          ? CB_COUNT_SQL("e.follow_up_state IN ('open','contacted','rectified')")
                          : CB_COUNT_SQL("e.day BETWEEN ?1 AND ?2");
#undef CB_COUNT_SQL
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) return HQ_ERR_DB;
    if (!open_only) {
        sqlite3_bind_int(q, 1, from);
        sqlite3_bind_int(q, 2, to);
    }
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (sqlite3_column_int(q, 4)) {
            n->upheld++;
            continue; /* an upheld appeal leaves every figure */
        }
        int fs = admin_fu_from_name(cb__col(q, 1));
        bool real = sqlite3_column_int(q, 3) != 0;
        n->bad++;
        if (real) n->real_name++;
        if (real && fs >= ADMIN_FU_CONTACTED) n->called_back++;
        if (real && fs >= ADMIN_FU_RECTIFIED) n->rectified++;
        if (fs == ADMIN_FU_CLOSED) continue;
        int64_t at = sqlite3_column_int64(q, 0);
        int64_t due = sqlite3_column_int64(q, 2);
        bool cb_late =
            fs == ADMIN_FU_OPEN && now > hq_workday_due(&d->cfg, at, d->cfg.eval_callback_workdays);
        if (cb_late) n->callback_overdue++;
        if (cb_late || (due && now > due)) n->overdue++;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? HQ_OK : HQ_ERR_DB;
}

size_t hqd_callback_alarms(struct hq_daemon *d, int64_t now, struct admin_alarm *out, size_t max)
{
    struct cb_counts n;
    if (!hqd_callback_ready(d) || max == 0 || cb__count(d, 0, 0, true, now, &n) || n.overdue == 0)
        return 0;
    struct admin_alarm *a = out;
    memset(a, 0, sizeof *a);
    a->kind = ADMIN_AL_FOLLOW_UP;
    snprintf(a->key, sizeof a->key, "follow_up:overdue");
    snprintf(a->subject, sizeof a->subject, "follow_up");
    a->value = n.overdue;
    a->threshold = -1;
    snprintf(a->msg_zh, sizeof a->msg_zh, "%u 条差评回访或整改已超期（其中 %u 条未回访）",
             n.overdue, n.callback_overdue);
    snprintf(a->msg_en, sizeof a->msg_en,
             "%u bad ratings past their call-back or rectification due date (%u not called back)",
             n.overdue, n.callback_overdue);
    return 1;
}

static void cb__rate(cJSON *o, const char *key, unsigned num, unsigned den)
{
    if (den)
        cJSON_AddNumberToObject(o, key, (double)((num * 10000u + den / 2) / den) / 10000.0);
    else
        cJSON_AddNullToObject(o, key);
}

cJSON *hqd_callback_rates(struct hq_daemon *d, int32_t from_day, int32_t to_day, int64_t now)
{
    struct cb_counts n;
    if (!hqd_callback_ready(d) || cb__count(d, from_day, to_day, false, now, &n))
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "bad", n.bad);
    cJSON_AddNumberToObject(o, "real_name", n.real_name);
    cJSON_AddNumberToObject(o, "called_back", n.called_back);
    cJSON_AddNumberToObject(o, "rectified", n.rectified);
    /* 实名差评回访率 / 整改率: of the real-name bad ratings, the share called
     * back (contacted or later) and the share rectified (rectified, closed) */
    cb__rate(o, "callback_rate", n.called_back, n.real_name);
    cb__rate(o, "rectify_rate", n.rectified, n.real_name);
    cJSON_AddNumberToObject(o, "overdue", n.overdue);
    cJSON_AddNumberToObject(o, "appeals_upheld", n.upheld);
    return o;
}

/* --------------------------------------------------------------- module */

static bool cb__tables(struct hq_daemon *d);

/* Erase numbers kept past evaluation.contact_keep_days, and drop the rows
 * of evaluations retention deleted. */
static void cb__sweep(struct hq_loop *loop, void *arg)
{
    struct hq_callback *s = arg;
    struct hq_daemon *d = s->d;
    (void)loop;
    s->timer = hq_loop_timer(d->loop, CB_SWEEP_MS, cb__sweep, s);
    if (!s->ready && !(s->ready = cb__tables(d))) {
        /* the disk refused at start: try again in a minute, not an hour */
        hq_loop_timer_cancel(d->loop, s->timer);
        s->timer = hq_loop_timer(d->loop, 60000, cb__sweep, s);
        return;
    }
    int64_t now = hq_loop_wall_s();
    char where[96];
    snprintf(where, sizeof where, "given_at < %lld",
             (long long)(now - (int64_t)d->cfg.eval_contact_keep_days * 86400));
    if (hq_store_begin(d->store)) return;
    int erased = 0;
    int rc = cb__erase(d, where, now, "kept_too_long", NULL, &erased);
    if (!rc)
        rc = sqlite3_exec(hq_store_db(d->store),
                          "DELETE FROM eval_contacts WHERE evaluation NOT IN (SELECT uuid FROM "
                          "evaluations);DELETE FROM eval_appeals WHERE evaluation NOT IN (SELECT "
                          "uuid FROM evaluations);",
                          NULL, NULL, NULL) == SQLITE_OK
                 ? HQ_OK
                 : HQ_ERR_DB;
    hq_store_end(d->store, rc != HQ_OK);
    if (erased) LOG_INFO("CALLBACK", "%d numbers kept too long erased", erased);
}

/* Create the module's tables (idempotent); true when they are there. */
static bool cb__tables(struct hq_daemon *d)
{
    sqlite3 *db = hq_store_db(d->store);
    if (hq_store_begin(d->store)) return false;
    char *err = NULL;
    if (sqlite3_exec(db, cb__schema, NULL, NULL, &err) != SQLITE_OK) {
        LOG_ERR("CALLBACK", "tables not created (the call-back waits): %s", err ? err : "?");
        sqlite3_free(err);
        hq_store_end(d->store, 1);
        return false;
    }
    return hq_store_end(d->store, 0) == HQ_OK;
}

bool hqd_callback_ready(const struct hq_daemon *d)
{
    return d->mod.callback && d->mod.callback->ready;
}

const char *hqd_callback_counted(const struct hq_daemon *d)
{
    return hqd_callback_ready(d) ? HQD_CALLBACK_COUNTED : "1";
}

int hqd_callback_init(struct hq_daemon *d)
{
    if (sodium_init() < 0) {
        LOG_ERR("CALLBACK", "libsodium did not start");
        return HQ_ERR_IO;
    }
    sqlite3 *db = hq_store_db(d->store);
    struct hq_callback *s = &cb__state;
    memset(s, 0, sizeof *s);
    s->d = d;
    s->ready = cb__tables(d);
    /* secure_delete: an erased number's page is overwritten with zeros, not
     * just freed (the WAL's copy goes at the next checkpoint) */
    sqlite3_exec(db, "PRAGMA secure_delete=ON", NULL, NULL, NULL);
    int rc;
    if (d->api) {
        rc = hq_api_route_for(d->api, NULL, "/api/v1/evaluations/", HQ_AUTH_ANY, cb__public_route,
                              s);
        if (rc) return rc;
    }
    d->mod.callback = s;
    s->timer = hq_loop_timer(d->loop, 0, cb__sweep, s);
    return HQ_OK;
}

void hqd_callback_fini(struct hq_daemon *d)
{
    struct hq_callback *s = d->mod.callback;
    if (!s) return;
    if (s->timer) hq_loop_timer_cancel(d->loop, s->timer);
    if (s->ckpt_timer) hq_loop_timer_cancel(d->loop, s->ckpt_timer);
    s->timer = s->ckpt_timer = 0;
    d->mod.callback = NULL;
}
