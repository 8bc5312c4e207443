/*
 * hqd_session.c — staff sign-in, sessions and PINs on hallqd's loop (see
 * hqd_session.h for the routes, docs/API.md for the roles, docs/DESIGN.md
 * "Staff sessions" for the decisions).
 *
 * Sessions live in memory for the per-request look-up and in SQLite
 * (sessions, keyed by the BLAKE2b hash of the token) so an open console
 * survives a restart. last_seen is written back at most every
 * SESS_SAVE_S (or a quarter of the idle time), not on every request: a
 * restart may end a session a little earlier than its idle time, never
 * later.
 *
 * A PIN check is an Argon2id hash (session.h: about 0.1 s on the target),
 * run on the loop. The loop is the only thread that may answer, so the
 * number of failed checks per second is capped (SESS_FAILS_PER_S): a flood
 * of wrong PINs from many addresses is answered 429 without hashing, it
 * does not stall the hall's queue. Right PINs are not counted: the people
 * who know one are few.
 */
#include "hqd_session.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define SESS_SAVE_S 60
/* 5 wrong PINs a second hall-wide at most: 90 ms of loop time on x86 (18 ms a check,
 * docs/BENCHMARKS.md), about half the loop on a Cortex-A53 under a flood; beyond, 429. */
#define SESS_FAILS_PER_S 5
#define SESS_MAX 512
/* Back-off (DESIGN.md): a staff id locks after 5 wrong PINs, an address
 * after 20 (a hall PC is shared by several clerks); 2 s doubling to 15 min. */
#define SESS_STAFF_FREE 5
#define SESS_ADDR_FREE 20
#define SESS_BACKOFF_BASE_S 2
#define SESS_BACKOFF_MAX_S 900
#define SESS_BACKOFF_KEYS 256

struct sess {
    char hash[HQ_SESSION_HASH_HEX + 1];
    char staff[16];
    char role[16]; /* "clerk", "desk", "manager" */
    uint16_t window;
    int64_t created, last_seen, saved;
};

struct hq_sessions {
    struct hq_daemon *d;
    /* Who may sign in: the roster of the file as last read. A reload
     * (SIGHUP) changes it at once, the engine's roster (keypad logins) only
     * at the next restart: someone removed is shut out of the consoles now. */
    struct hq_staff_cfg *roster;
    size_t n_roster;
    struct sess s[SESS_MAX];
    size_t n;
    struct hq_backoff by_staff, by_addr;
    struct hq_backoff_ent staff_ent[SESS_BACKOFF_KEYS], addr_ent[SESS_BACKOFF_KEYS];
    int64_t verify_sec;
    unsigned verify_n;
    char dummy[HQ_PIN_HASH_MAX]; /* checked for an unknown staff id: the same time either way */
    /* Ended sessions whose row could not be deleted (degraded storage): retried, so a
     * revoked session never comes back with a restart once the disk is writable. */
    char undeleted[32][HQ_SESSION_HASH_HEX + 1];
    size_t n_undeleted;
};

/* ------------------------------------------------------------ helpers */

static struct hq_sessions sess__state;

static const struct hq_staff_cfg *sess__staff(const struct hq_sessions *S, const char *id)
{
    for (size_t i = 0; i < S->n_roster; i++)
        if (strcmp(S->roster[i].id, id) == 0) return &S->roster[i];
    return NULL;
}

static int sess__set_roster(struct hq_sessions *S, const struct hq_engine_cfg *e)
{
    struct hq_staff_cfg *r = calloc(e->n_staff ? e->n_staff : 1, sizeof *r);
    if (!r) return HQ_ERR_NOMEM;
    memcpy(r, e->staff, e->n_staff * sizeof *r);
    free(S->roster);
    S->roster = r;
    S->n_roster = e->n_staff;
    return HQ_OK;
}

/* Whether a roster role may open a session of role. */
static int sess__may(const char *roster_role, const char *role)
{
    if (strcmp(roster_role, "manager") == 0) return 1;
    return strcmp(roster_role, role) == 0;
}

static unsigned sess__auth_bit(const char *role)
{
    if (strcmp(role, "manager") == 0) return HQ_AUTH_MANAGER;
    if (strcmp(role, "desk") == 0) return HQ_AUTH_DESK;
    return HQ_AUTH_CLERK;
}

static int sess__exec(struct hq_sessions *S, const char *sql, const char *a, const char *b,
                      const char *c, int64_t i1, int64_t i2, int64_t i3)
{
    sqlite3 *db = hq_store_db(S->d->store);
    int rc = hq_store_begin(S->d->store);
    if (rc) return rc;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
        LOG_ERR("SESSION", "%s: %s", sql, sqlite3_errmsg(db));
        hq_store_end(S->d->store, 1);
        return HQ_ERR_DB;
    }
    int k = 1;
    if (a) sqlite3_bind_text(q, k++, a, -1, SQLITE_STATIC);
    if (b) sqlite3_bind_text(q, k++, b, -1, SQLITE_STATIC);
    if (c) sqlite3_bind_text(q, k++, c, -1, SQLITE_STATIC);
    int n = sqlite3_bind_parameter_count(q);
    if (k <= n) sqlite3_bind_int64(q, k++, i1);
    if (k <= n) sqlite3_bind_int64(q, k++, i2);
    if (k <= n) sqlite3_bind_int64(q, k++, i3);
    int step = sqlite3_step(q);
    sqlite3_finalize(q);
    if (step != SQLITE_DONE) {
        LOG_ERR("SESSION", "%s: %s", sql, sqlite3_errmsg(db));
        hq_store_end(S->d->store, 1);
        return HQ_ERR_DB;
    }
    return hq_store_end(S->d->store, 0);
}

static void sess__drop_at(struct hq_sessions *S, size_t i, const char *why)
{
    struct sess *s = &S->s[i];
    LOG_NOTICE("SESSION", "session of staff %s (%s) ended: %s", s->staff, s->role, why);
    if (sess__exec(S, "DELETE FROM sessions WHERE token_hash=?", s->hash, NULL, NULL, 0, 0, 0)) {
        if (S->n_undeleted < HQ_ARRAY_LEN(S->undeleted))
            memcpy(S->undeleted[S->n_undeleted++], s->hash, sizeof s->hash);
        else
            LOG_ERR("SESSION", "an ended session stays in the database: a restart revives it");
    }
    S->s[i] = S->s[--S->n];
}

static void sess__retry_deletes(struct hq_sessions *S)
{
    while (S->n_undeleted &&
           sess__exec(S, "DELETE FROM sessions WHERE token_hash=?",
                      S->undeleted[S->n_undeleted - 1], NULL, NULL, 0, 0, 0) == HQ_OK)
        S->n_undeleted--;
}

/* End every session of staff (all when staff is NULL) that keep() does not
 * keep; except: the one session not to end (its hash), or NULL. */
static void sess__drop_staff(struct hq_sessions *S, const char *staff, const char *except,
                             const char *why)
{
    for (size_t i = 0; i < S->n;) {
        if ((!staff || strcmp(S->s[i].staff, staff) == 0) &&
            (!except || strcmp(S->s[i].hash, except) != 0))
            sess__drop_at(S, i, why);
        else
            i++;
    }
}

/* Sessions whose person left the roster, lost the role, or whose window is
 * gone end: on start and after every reload. */
static void sess__prune(struct hq_sessions *S)
{
    struct hq_daemon *d = S->d;
    int64_t now = hq_loop_wall_s();
    for (size_t i = 0; i < S->n;) {
        const struct sess *s = &S->s[i];
        const struct hq_staff_cfg *st = sess__staff(S, s->staff);
        const char *why = !st                             ? "no longer on the roster"
                          : !sess__may(st->role, s->role) ? "the roster role changed"
                          : s->window && hq_engine_window_index(&d->eng, s->window) < 0
                              ? "the window left the configuration"
                          : now - s->last_seen > (int64_t)d->cfg.session_idle_s ? "idle"
                                                                                : NULL;
        if (why)
            sess__drop_at(S, i, why);
        else
            i++;
    }
    /* A PIN of someone no longer on the roster is deleted with them. */
    sqlite3 *db = hq_store_db(d->store);
    sqlite3_stmt *q = NULL;
    char gone[64][16];
    size_t n_gone = 0;
    if (sqlite3_prepare_v2(db, "SELECT staff FROM staff_pins", -1, &q, NULL) == SQLITE_OK)
        while (sqlite3_step(q) == SQLITE_ROW && n_gone < HQ_ARRAY_LEN(gone)) {
            const char *id = (const char *)sqlite3_column_text(q, 0);
            if (id && !sess__staff(S, id)) snprintf(gone[n_gone++], sizeof gone[0], "%s", id);
        }
    sqlite3_finalize(q);
    for (size_t i = 0; i < n_gone; i++) {
        LOG_NOTICE("SESSION", "staff %s left the roster: PIN deleted", gone[i]);
        sess__exec(S, "DELETE FROM staff_pins WHERE staff=?", gone[i], NULL, NULL, 0, 0, 0);
    }
}

static void sess__addr(struct hq_api_req *req, char *out, size_t len)
{
    snprintf(out, len, "a:?");
    if (!req->conn) return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return;
    char ip[INET6_ADDRSTRLEN] = "?";
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
    snprintf(out, len, "a:%s", ip);
}

static int sess__reply_busy(struct hq_api_req *req, const char *err, uint32_t wait, const char *zh,
                            const char *en)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", err);
    cJSON_AddStringToObject(o, "message", zh);
    cJSON_AddStringToObject(o, "message_en", en);
    cJSON_AddNumberToObject(o, "retry_after_s", wait);
    return hq_api_reply_json(req, 429, o);
}

/* The PIN hash of staff, or an empty string. */
static void sess__pin_of(struct hq_sessions *S, const char *staff, char out[HQ_PIN_HASH_MAX])
{
    out[0] = 0;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(hq_store_db(S->d->store), "SELECT hash FROM staff_pins WHERE staff=?",
                           -1, &q, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(q, 1, staff, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
        snprintf(out, HQ_PIN_HASH_MAX, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
}

static int sess__set_pin(struct hq_sessions *S, const char *staff, const char *pin, const char *by)
{
    char hash[HQ_PIN_HASH_MAX];
    int rc = hq_pin_hash(pin, hash, HQ_PIN_OPSLIMIT, HQ_PIN_MEMLIMIT);
    if (rc) return rc;
    return sess__exec(S,
                      "INSERT INTO staff_pins(staff, hash, set_by, set_at) VALUES(?,?,?,?) "
                      "ON CONFLICT(staff) DO UPDATE SET hash=excluded.hash, "
                      "set_by=excluded.set_by, set_at=excluded.set_at",
                      staff, hash, by, hq_loop_wall_s(), 0, 0);
}

/* Check staff's PIN with the back-off and the loop's budget. HQ_OK, or the
 * request was answered (401/429) and *answered is set. */
static int sess__check_pin(struct hq_sessions *S, struct hq_api_req *req, const char *staff,
                           const char *pin, int *answered)
{
    char akey[64], skey[48];
    int64_t now = hq_loop_wall_s();
    *answered = 1;
    sess__addr(req, akey, sizeof akey);
    snprintf(skey, sizeof skey, "s:%s", staff);
    uint32_t wait = hq_backoff_wait(&S->by_staff, skey, now);
    uint32_t aw = hq_backoff_wait(&S->by_addr, akey, now);
    if (aw > wait) wait = aw;
    if (wait) {
        LOG_NOTICE("SESSION", "sign-in of staff %s from %s refused: backing off %u s", staff,
                   akey + 2, (unsigned)wait);
        sess__reply_busy(req, "backoff", wait, "尝试次数过多，请稍后再试",
                         "too many wrong attempts: try again later");
        return HQ_ERR_AUTH;
    }
    if (S->verify_sec != now) S->verify_sec = now, S->verify_n = 0;
    if (S->verify_n >= SESS_FAILS_PER_S) {
        sess__reply_busy(req, "busy", 1, "系统繁忙，请稍后再试", "busy: try again in a moment");
        return HQ_ERR_AUTH;
    }
    const struct hq_staff_cfg *st = sess__staff(S, staff);
    char hash[HQ_PIN_HASH_MAX];
    if (st) sess__pin_of(S, staff, hash);
    /* An unknown id or a missing PIN costs the same hash as a wrong PIN, so
     * the answer's time does not tell which staff ids exist. */
    int ok = hq_pin_verify(st && hash[0] ? hash : S->dummy, pin) == HQ_OK && st && hash[0];
    if (!ok) {
        S->verify_n++;
        uint32_t ls = hq_backoff_fail(&S->by_staff, skey, now);
        uint32_t la = hq_backoff_fail(&S->by_addr, akey, now);
        LOG_NOTICE("SESSION", "sign-in of staff %s from %s refused: %s%s", staff, akey + 2,
                   !st        ? "not on the roster"
                   : !hash[0] ? "no PIN set"
                              : "wrong PIN",
                   ls || la ? " (locked for a while)" : "");
        hq_api_reply_error(req, HQ_ERR_AUTH, "wrong staff number or PIN");
        return HQ_ERR_AUTH;
    }
    hq_backoff_ok(&S->by_staff, skey);
    hq_backoff_ok(&S->by_addr, akey);
    if (hq_pin_needs_rehash(hash, HQ_PIN_OPSLIMIT, HQ_PIN_MEMLIMIT))
        sess__set_pin(S, staff, pin, "rehash");
    *answered = 0;
    return HQ_OK;
}

static cJSON *sess__json(struct hq_sessions *S, const struct sess *s)
{
    struct hq_daemon *d = S->d;
    cJSON *o = cJSON_CreateObject();
    const struct hq_staff_cfg *st = sess__staff(S, s->staff);
    cJSON *p = cJSON_AddObjectToObject(o, "staff");
    cJSON_AddStringToObject(p, "id", s->staff);
    cJSON_AddStringToObject(p, "name", st ? st->name : "");
    cJSON_AddStringToObject(o, "role", s->role);
    if (s->window)
        cJSON_AddNumberToObject(o, "window", s->window);
    else
        cJSON_AddNullToObject(o, "window");
    char ts[32];
    hq_time_rfc3339(s->created, d->cfg.engine.utc_offset_s, ts);
    cJSON_AddStringToObject(o, "signed_in_at", ts);
    cJSON_AddNumberToObject(o, "idle_s", d->cfg.session_idle_s);
    return o;
}

static struct sess *sess__find(struct hq_sessions *S, const char *hash)
{
    for (size_t i = 0; i < S->n; i++)
        if (strcmp(S->s[i].hash, hash) == 0) return &S->s[i];
    return NULL;
}

/* ------------------------------------------------------ the API's hook */

static int sess__resolve(struct hq_daemon *d, const char *token, struct hq_api_who *who, void *arg)
{
    struct hq_sessions *S = arg;
    if (strncmp(token, "hqs_", 4) != 0 || strlen(token) != HQ_SESSION_TOKEN_LEN) return HQ_ERR_AUTH;
    sess__retry_deletes(S);
    char hash[HQ_SESSION_HASH_HEX + 1];
    hq_session_token_hash(token, hash);
    struct sess *s = sess__find(S, hash);
    if (!s) return HQ_ERR_AUTH;
    int64_t now = hq_loop_wall_s();
    const struct hq_staff_cfg *st = sess__staff(S, s->staff);
    if (!st || !sess__may(st->role, s->role) ||
        now - s->last_seen > (int64_t)d->cfg.session_idle_s) {
        sess__drop_at(S, (size_t)(s - S->s), !st ? "no longer on the roster" : "idle");
        return HQ_ERR_AUTH;
    }
    s->last_seen = now;
    int64_t every =
        d->cfg.session_idle_s / 4 < SESS_SAVE_S ? d->cfg.session_idle_s / 4 : SESS_SAVE_S;
    if (now - s->saved >= every &&
        sess__exec(S, "UPDATE sessions SET last_seen=?2 WHERE token_hash=?1", s->hash, NULL, NULL,
                   now, 0, 0) == HQ_OK)
        s->saved = now;
    memset(who, 0, sizeof *who);
    who->auth = sess__auth_bit(s->role);
    snprintf(who->staff, sizeof who->staff, "%s", s->staff);
    who->window = s->window;
    snprintf(who->actor, sizeof who->actor, "staff:%s/%s", s->staff, s->role);
    memcpy(who->token_hash, s->hash, sizeof who->token_hash);
    return HQ_OK;
}

/* ------------------------------------------------------------- routes */

int hqd_session_sign_in(struct hq_api_req *req, const char *role, cJSON *extra)
{
    struct hq_daemon *d = req->d;
    struct hq_sessions *S = d->mod.sessions;
    if (!S) {
        cJSON_Delete(extra);
        return hq_api_reply_error(req, HQ_ERR_STATE, "sessions are off");
    }
    cJSON *b = req->body;
    cJSON *js = cJSON_GetObjectItemCaseSensitive(b, "staff");
    cJSON *jp = cJSON_GetObjectItemCaseSensitive(b, "pin");
    cJSON *jw = cJSON_GetObjectItemCaseSensitive(b, "window");
    cJSON *jd = cJSON_GetObjectItemCaseSensitive(b, "desk");
    const char *bad = NULL;
    if (!cJSON_IsString(js) || !*js->valuestring || strlen(js->valuestring) >= 16)
        bad = "body needs \"staff\": a staff number";
    else if (!cJSON_IsString(jp) || hq_pin_check(jp->valuestring))
        bad = "body needs \"pin\": 4 to 64 characters";
    else if (jw && !(cJSON_IsNumber(jw) && jw->valuedouble >= 1 && jw->valuedouble <= 65535 &&
                     jw->valuedouble == (int)jw->valuedouble))
        bad = "\"window\" must be a window number";
    else if (jd && !cJSON_IsBool(jd))
        bad = "\"desk\" must be true or false";
    else if (jw && cJSON_IsTrue(jd))
        bad = "give \"window\" or \"desk\", not both";
    if (bad) {
        cJSON_Delete(extra);
        return hq_api_reply_error(req, HQ_ERR_INVALID, bad);
    }
    const char *want = role ? role : jw ? "clerk" : cJSON_IsTrue(jd) ? "desk" : "manager";
    uint16_t window = (!role && jw) ? (uint16_t)jw->valueint : 0;
    if (window && hq_engine_window_index(&d->eng, window) < 0) {
        cJSON_Delete(extra);
        return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such window");
    }
    const char *staff = js->valuestring;
    int answered;
    if (sess__check_pin(S, req, staff, jp->valuestring, &answered)) {
        cJSON_Delete(extra);
        return HQ_OK;
    }
    const struct hq_staff_cfg *st = sess__staff(S, staff);
    if (!sess__may(st->role, want)) {
        char why[96];
        snprintf(why, sizeof why, "staff %s (%s) may not sign in as %s", staff, st->role, want);
        LOG_NOTICE("SESSION", "%s", why);
        cJSON_Delete(extra);
        return hq_api_reply_error(req, HQ_ERR_AUTH, why);
    }
    if (S->n == SESS_MAX) { /* the least recently used one makes room */
        size_t k = 0;
        for (size_t i = 1; i < S->n; i++)
            if (S->s[i].last_seen < S->s[k].last_seen) k = i;
        sess__drop_at(S, k, "too many sessions");
    }
    char actor[40];
    snprintf(actor, sizeof actor, "staff:%s/%s", staff, want);
    if (window) {
        /* The clerk logs in at the window in the engine, like the keypad's
         * login, unless already there (a console re-opened mid-service). */
        int wi = hq_engine_window_index(&d->eng, window);
        int si = hq_engine_staff_index(&d->eng, staff);
        if (si < 0) {
            cJSON_Delete(extra);
            return hq_api_reply_error(req, HQ_ERR_NOT_FOUND,
                                      "added to the roster since the start: a window takes "
                                      "them after hallqd restarts");
        }
        if (d->eng.win[wi].staff != si + 1 || d->eng.win[wi].state == HQ_WS_CLOSED) {
            struct hq_cmd cmd = {.type = HQ_CMD_LOGIN, .window = window};
            snprintf(cmd.u.login.staff_id, sizeof cmd.u.login.staff_id, "%s", staff);
            memcpy(cmd.actor, actor, sizeof cmd.actor);
            int rc = hqd_apply(d, &cmd);
            if (rc) {
                cJSON_Delete(extra);
                return hq_api_reply_error(
                    req, rc, "cannot sign in at this window now (a citizen is being served?)");
            }
        }
        /* One clerk per window, one window per clerk: whoever the engine
         * logged out lost their console too. */
        for (size_t i = 0; i < S->n;) {
            const struct sess *o = &S->s[i];
            if (strcmp(o->role, "clerk") == 0 &&
                ((o->window == window && strcmp(o->staff, staff) != 0) ||
                 (o->window != window && strcmp(o->staff, staff) == 0)))
                sess__drop_at(S, i, "signed out by a sign-in at the window");
            else
                i++;
        }
    }
    char token[HQ_SESSION_TOKEN_LEN + 1];
    struct sess *s = &S->s[S->n];
    memset(s, 0, sizeof *s);
    hq_session_token_new(token);
    hq_session_token_hash(token, s->hash);
    snprintf(s->staff, sizeof s->staff, "%s", staff);
    snprintf(s->role, sizeof s->role, "%s", want);
    s->window = window;
    s->created = s->last_seen = s->saved = hq_loop_wall_s();
    int rc = sess__exec(S,
                        "INSERT INTO sessions(token_hash, staff, role, window, created_at, "
                        "last_seen) VALUES(?,?,?,?,?,?)",
                        s->hash, s->staff, s->role, s->window, s->created, s->created);
    /* A database that cannot be written (degraded storage, RELIABILITY.md) must not keep
     * clerks from their windows: the session then lives in memory only, and a restart ends
     * it. */
    if (rc)
        LOG_WARN("SESSION", "the session of staff %s is not saved (%s): a restart ends it", staff,
                 hq_strerror(rc));
    S->n++;
    if (window)
        LOG_NOTICE("SESSION", "staff %s signed in as %s at window %u", staff, want,
                   (unsigned)window);
    else
        LOG_NOTICE("SESSION", "staff %s signed in as %s", staff, want);
    cJSON *o = sess__json(S, s);
    cJSON_AddStringToObject(o, "token", token);
    if (extra) {
        cJSON *it;
        while ((it = extra->child)) {
            cJSON_DetachItemViaPointer(extra, it);
            cJSON_DeleteItemFromObjectCaseSensitive(o, it->string);
            cJSON_AddItemToObject(o, it->string, it);
        }
        cJSON_Delete(extra);
    }
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

static int sess__post(struct hq_api_req *req, void *arg)
{
    (void)arg;
    if (*req->tail) return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such path");
    return hqd_session_sign_in(req, NULL, NULL);
}

static int sess__get(struct hq_api_req *req, void *arg)
{
    struct hq_sessions *S = arg;
    if (*req->tail) return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such path");
    struct sess *s = sess__find(S, req->who.token_hash);
    if (!s) return HQ_ERR_AUTH;
    return hq_api_reply_json(req, MHD_HTTP_OK, sess__json(S, s));
}

static int sess__logout(struct hq_api_req *req, void *arg)
{
    struct hq_sessions *S = arg;
    struct hq_daemon *d = req->d;
    struct sess *s = sess__find(S, req->who.token_hash);
    if (!s) return HQ_ERR_AUTH;
    struct sess copy = *s;
    sess__drop_at(S, (size_t)(s - S->s), "signed out");
    if (copy.window) {
        /* Out of the engine too, if the clerk is still the one at the window
         * and no citizen is at it; otherwise the window keeps its state
         * (the clerk finishes with the keypad or signs in again). */
        int wi = hq_engine_window_index(&d->eng, copy.window);
        int si = hq_engine_staff_index(&d->eng, copy.staff);
        if (wi >= 0 && si >= 0 && d->eng.win[wi].staff == si + 1 &&
            d->eng.win[wi].state != HQ_WS_CLOSED) {
            struct hq_cmd cmd = {.type = HQ_CMD_LOGOUT, .window = copy.window};
            int rc = hqd_apply(d, &cmd);
            if (rc)
                LOG_NOTICE("SESSION", "window %u keeps staff %s signed in: %s",
                           (unsigned)copy.window, copy.staff, hq_strerror(rc));
        }
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

static int sess__change_pin(struct hq_api_req *req, void *arg)
{
    struct hq_sessions *S = arg;
    struct sess *s = sess__find(S, req->who.token_hash);
    if (!s) return HQ_ERR_AUTH;
    cJSON *jo = cJSON_GetObjectItemCaseSensitive(req->body, "old");
    cJSON *jn = cJSON_GetObjectItemCaseSensitive(req->body, "new");
    if (!cJSON_IsString(jo) || !cJSON_IsString(jn) || hq_pin_check(jn->valuestring))
        return hq_api_reply_error(req, HQ_ERR_INVALID,
                                  "body needs \"old\" and \"new\": 4 to 64 characters");
    char staff[16], hash[sizeof s->hash];
    snprintf(staff, sizeof staff, "%s", s->staff);
    memcpy(hash, s->hash, sizeof hash);
    int answered;
    if (sess__check_pin(S, req, staff, jo->valuestring, &answered)) return HQ_OK;
    int rc = sess__set_pin(S, staff, jn->valuestring, req->who.actor);
    if (rc) return hq_api_reply_error(req, rc, "the PIN could not be saved");
    LOG_NOTICE("SESSION", "staff %s changed their PIN", staff);
    /* A changed PIN ends the person's other sessions: a PIN changed because
     * somebody saw it must shut that somebody out. */
    sess__drop_staff(S, staff, hash, "the PIN was changed");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

/* GET /api/v1/admin/staff */
static int sess__staff_list(struct hq_api_req *req, void *arg)
{
    struct hq_sessions *S = arg;
    struct hq_daemon *d = req->d;
    if (*req->tail) return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such path");
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "staff");
    for (size_t i = 0; i < d->cfg.engine.n_staff; i++) {
        const struct hq_staff_cfg *st = &d->cfg.engine.staff[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "id", st->id);
        cJSON_AddStringToObject(x, "name", st->name);
        cJSON_AddStringToObject(x, "role", st->role);
        char h[HQ_PIN_HASH_MAX];
        sess__pin_of(S, st->id, h);
        cJSON_AddBoolToObject(x, "pin_set", h[0] != 0);
        int n = 0;
        for (size_t k = 0; k < S->n; k++)
            if (strcmp(S->s[k].staff, st->id) == 0) n++;
        cJSON_AddNumberToObject(x, "sessions", n);
        cJSON_AddItemToArray(a, x);
    }
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

/* POST /api/v1/admin/staff/{id}/pin {"pin"} */
static int sess__admin_pin(struct hq_api_req *req, void *arg)
{
    struct hq_sessions *S = arg;
    const char *slash = strchr(req->tail, '/');
    char id[16];
    if (!slash || strcmp(slash, "/pin") != 0 || slash == req->tail ||
        (size_t)(slash - req->tail) >= sizeof id)
        return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such path");
    snprintf(id, sizeof id, "%.*s", (int)(slash - req->tail), req->tail);
    if (!sess__staff(S, id))
        return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such staff number on the roster");
    cJSON *jp = cJSON_GetObjectItemCaseSensitive(req->body, "pin");
    if (!cJSON_IsString(jp) || hq_pin_check(jp->valuestring))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "body needs \"pin\": 4 to 64 characters");
    int rc = sess__set_pin(S, id, jp->valuestring, req->who.actor);
    if (rc) return hq_api_reply_error(req, rc, "the PIN could not be saved");
    LOG_NOTICE("SESSION", "the PIN of staff %s was set by %s", id, req->who.actor);
    char skey[48];
    snprintf(skey, sizeof skey, "s:%s", id);
    hq_backoff_ok(&S->by_staff, skey);
    /* A PIN set by the manager is a lost or seen one: its sessions end. */
    sess__drop_staff(S, id, NULL, "a manager set a new PIN");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddStringToObject(o, "staff", id);
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

/* ------------------------------------------------------------- module */

static void sess__on_reload(struct hq_daemon *d, void *arg)
{
    if (d->reload_cfg && sess__set_roster(arg, &d->reload_cfg->engine) != HQ_OK)
        LOG_ERR("SESSION", "out of memory: the sign-in roster was not reloaded");
    sess__prune(arg);
}

static void sess__load(struct hq_sessions *S)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(hq_store_db(S->d->store),
                           "SELECT token_hash, staff, role, window, created_at, last_seen "
                           "FROM sessions ORDER BY last_seen DESC",
                           -1, &q, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(q) == SQLITE_ROW && S->n < SESS_MAX) {
        struct sess *s = &S->s[S->n];
        const char *h = (const char *)sqlite3_column_text(q, 0);
        const char *st = (const char *)sqlite3_column_text(q, 1);
        const char *r = (const char *)sqlite3_column_text(q, 2);
        if (!h || !st || !r || strlen(h) != HQ_SESSION_HASH_HEX) continue;
        memset(s, 0, sizeof *s);
        snprintf(s->hash, sizeof s->hash, "%s", h);
        snprintf(s->staff, sizeof s->staff, "%s", st);
        snprintf(s->role, sizeof s->role, "%s", r);
        s->window = (uint16_t)sqlite3_column_int(q, 3);
        s->created = sqlite3_column_int64(q, 4);
        s->last_seen = s->saved = sqlite3_column_int64(q, 5);
        S->n++;
    }
    sqlite3_finalize(q);
}

int hqd_session_init(struct hq_daemon *d)
{
    struct hq_sessions *S = &sess__state;
    memset(S, 0, sizeof *S);
    S->d = d;
    if (hq_session_lib_init()) {
        LOG_ERR("SESSION", "libsodium could not start");
        return HQ_ERR_IO;
    }
    hq_backoff_init(&S->by_staff, S->staff_ent, SESS_BACKOFF_KEYS, SESS_STAFF_FREE,
                    SESS_BACKOFF_BASE_S, SESS_BACKOFF_MAX_S);
    hq_backoff_init(&S->by_addr, S->addr_ent, SESS_BACKOFF_KEYS, SESS_ADDR_FREE,
                    SESS_BACKOFF_BASE_S, SESS_BACKOFF_MAX_S);
    char seed[HQ_SESSION_TOKEN_LEN + 1];
    hq_session_token_new(seed); /* a PIN nobody knows: the dummy's hash */
    if (hq_pin_hash(seed + 4, S->dummy, HQ_PIN_OPSLIMIT, HQ_PIN_MEMLIMIT)) return HQ_ERR_NOMEM;
    if (sess__set_roster(S, &d->cfg.engine)) return HQ_ERR_NOMEM;
    sess__load(S);
    d->mod.sessions = S;
    sess__prune(S);
    if (!d->api) return HQ_OK;
    int rc = 0;
    rc = rc ? rc : hq_api_route_for(d->api, "POST", "/api/v1/session", HQ_AUTH_ANY, sess__post, S);
    rc = rc ? rc : hq_api_route_for(d->api, "GET", "/api/v1/session", HQ_AUTH_STAFF, sess__get, S);
    rc = rc ? rc
            : hq_api_route_for(d->api, "POST", "/api/v1/session/logout", HQ_AUTH_STAFF,
                               sess__logout, S);
    rc = rc ? rc
            : hq_api_route_for(d->api, "POST", "/api/v1/session/pin", HQ_AUTH_STAFF,
                               sess__change_pin, S);
    rc = rc ? rc
            : hq_api_route_for(d->api, "GET", "/api/v1/admin/staff", HQ_AUTH_ADMIN,
                               sess__staff_list, S);
    rc = rc ? rc
            : hq_api_route_for(d->api, "POST", "/api/v1/admin/staff/", HQ_AUTH_ADMIN,
                               sess__admin_pin, S);
    rc = rc ? rc : hqd_on_reload(d, sess__on_reload, S);
    if (rc) return rc;
    hq_api_set_session_fn(d->api, sess__resolve, S);
    LOG_INFO("SESSION", "%zu staff sessions kept from before", S->n);
    return HQ_OK;
}

void hqd_session_fini(struct hq_daemon *d)
{
    if (d->api) hq_api_set_session_fn(d->api, NULL, NULL);
    free(sess__state.roster);
    sess__state.roster = NULL;
    sess__state.n_roster = 0;
    d->mod.sessions = NULL;
}
