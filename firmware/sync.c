/*
 * sync.c — the up-link to the central server (sync.h). A record leaves the
 * outbox only when the server's acked_through covers it; until then it is
 * sent again, oldest first, as often as it takes. The exchange runs on the
 * daemon's loop: libcurl's multi interface hands us its sockets and timer,
 * and the serial transport is a non-blocking fd with a 3 s resend timer, so a
 * dead server or a slow line never stalls a ticket.
 *
 *   outbox (acked=0, seq order) --batch--> POST /v1/halls/{id}/records  (or 'R' frame)
 *   UPDATE outbox SET acked=1 WHERE seq <= N  <--  {"acked_through": N}   (or 'A' frame)
 *
 * Down-link: GET /v1/halls/{id}/appointments?since=C (or 'Q' -> 'P' frames)
 * into the appointments table (appt.h), page after page. The alarm (4xx,
 * backlog, age) is published once per change as the SSE event "alarm".
 * Decisions and measurements: docs/SYNC.md.
 */
#include "sync.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "appt.h"
#include "daemon.h"
#include "serial.h"
#include "slip.h"
#include "sync_proto.h"

#define SYNC_RESP_MAX (64 * 1024)     /* an ack is 25 bytes; an error page is not */
#define SYNC_SERIAL_BYTES (64 * 1024) /* a batch on a serial line */
#define SYNC_SERIAL_RESEND_MS 3000    /* PROTOCOLS.md §5: resend after 3 s without an A */
#define SYNC_LINK_TICK_MS 1000        /* reopen a lost serial link (its own backoff) */
#define SYNC_IDLE_POLL_MS 60000       /* look at the outbox even without a new record */
#define SYNC_KICK_MS 20               /* gather the records of one burst in one batch */
#define SYNC_ALARM_CHECK_MS 5000      /* backlog and age thresholds are looked at this often */
#define SYNC_APPT_RESP_MAX (16 * 1024 * 1024) /* 10,000 appointments with room to spare */
#define SYNC_APPT_RETRY_S 60                  /* a failed appointments pull is tried again after */
#define SYNC_APPT_SERIAL_WAIT_MS 10000        /* a Q frame without its P: failed */

enum sync_transport { SYNC_OFF = 0, SYNC_HTTP, SYNC_SERIAL };

struct hq_sync {
    struct hq_daemon *d;
    enum sync_transport transport;
    sqlite3 *db; /* own connection to the store's file (WAL): only the acked column */

    struct sync_batch batch; /* in flight when in_flight */
    bool in_flight;
    /* HTTP: the batch after the one in flight, built while the server works
     * on that one (valid only if the server then acknowledges through
     * next_after, the end of the batch in flight). */
    struct sync_batch next;
    bool next_ready;
    int64_t next_after;
    uint64_t next_timer;
    int64_t sent_through;  /* highest seq ever put on the wire */
    int64_t acked_through; /* highest seq the server confirmed */

    uint64_t timer; /* next attempt */
    bool backing_off;
    unsigned attempt;
    bool alarm; /* a 4xx: configuration or data problem */
    /* The alarm as published (SSE "alarm", status, metrics): the 4xx above,
     * or a backlog or an age past sync.alarm_backlog / sync.alarm_age_s. */
    bool alarm_on;
    unsigned alarm_why; /* SYNC_ALARM_* bits */
    uint64_t alarm_timer, alarm_pub_timer;
    char alarm_zh[200], alarm_en[200]; /* what the last change said */
    int64_t backlog;                   /* as last counted (alarm check, status) */
    int64_t oldest_age;                /* seconds */

    /* appointments down-link */
    bool appt_busy;
    uint64_t appt_timer, appt_wait_timer;
    char appt_since[SYNC_CURSOR_MAX + 1]; /* cursor of the pull in flight */
    int64_t appt_last_success;
    char appt_last_error[256];
    uint64_t appt_received, appt_pulls;

    int64_t last_success; /* wall clock */
    char last_error[256];
    uint64_t batches_ok, failures, records_acked;

    /* HTTP */
    CURLM *multi;
    CURL *easy;
    struct curl_slist *headers;
    char url[600];
    char *resp;
    size_t resp_len;
    uint64_t curl_timer;
    CURL *aeasy; /* the appointments GET, on the same multi */
    char *aresp;
    size_t aresp_len;
    char base[300]; /* sync.url without trailing slashes */

    /* serial */
    struct hq_serial_link link;
    int link_fd; /* registered with the loop, -1 when down */
    uint64_t link_timer, resend_timer;
    struct slip_decoder dec;
    uint8_t *wbuf; /* the R frame in flight, kept for resends */
    size_t wlen;
    uint8_t *out; /* bytes queued for the line: R frames and Q frames */
    size_t out_len, out_off;
    bool r_queued; /* an R frame is in out: start the resend wait once it is written */
    uint32_t resends;
};

enum { SYNC_ALARM_REFUSED = 1, SYNC_ALARM_BACKLOG = 2, SYNC_ALARM_AGE = 4 };

static void sync__attempt(struct hq_loop *loop, void *arg);
static void sync__check_alarm(struct hq_sync *s);
static void sync__drop_next(struct hq_sync *s);
static void sync__appt_schedule(struct hq_sync *s, uint64_t delay_ms);
static void sync__appt_answer(struct hq_sync *s, const char *body, size_t len);
static void sync__appt_failed(struct hq_sync *s, const char *why);
static void sync__appt_link_up(struct hq_sync *s);
static void sync__appt_serial_timeout(struct hq_loop *loop, void *arg);

/* --------------------------------------------------------------- helpers */

int64_t hq_sync_parse_rfc3339(const char *s)
{
    if (!sync_valid_rfc3339(s)) return -1;
    struct tm tm = {0};
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    tm.tm_hour = atoi(s + 11);
    tm.tm_min = atoi(s + 14);
    tm.tm_sec = atoi(s + 17);
    int64_t t = (int64_t)timegm(&tm);
    const char *p = s + 19;
    while (*p && *p != 'Z' && *p != 'z' && *p != '+' && *p != '-')
        p++;
    if (*p == '+' || *p == '-') {
        int off = atoi(p + 1) * 3600 + atoi(p + 4) * 60;
        t -= *p == '+' ? off : -off;
    }
    return t;
}

static void sync__schedule(struct hq_sync *s, uint64_t delay_ms, bool backoff)
{
    struct hq_loop *loop = s->d->loop;
    if (s->timer) hq_loop_timer_cancel(loop, s->timer);
    s->timer = hq_loop_timer(loop, delay_ms, sync__attempt, s);
    s->backing_off = backoff;
}

/* Unacknowledged rows, oldest first, as a batch body. HQ_ERR_EMPTY when
 * nothing waits. A row that cannot be sent at all is an alarm, not a skip:
 * skipping would open a gap the server never closes. */
static int sync__load_batch(struct hq_sync *s, int64_t after, struct sync_batch *out)
{
    sqlite3_stmt *q = NULL;
    struct sync_record *recs = NULL;
    size_t n = 0, cap = s->d->cfg.sync_batch_max ? s->d->cfg.sync_batch_max : 500, bad = 0;
    int rc = HQ_ERR_DB;
    recs = calloc(cap, sizeof *recs);
    if (!recs) return HQ_ERR_NOMEM;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT seq, uuid, type, at, data FROM outbox WHERE acked=0 "
                           "AND seq>? ORDER BY seq LIMIT ?",
                           -1, &q, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_int64(q, 1, after);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)cap);
    while (n < cap && sqlite3_step(q) == SQLITE_ROW) {
        recs[n].seq = sqlite3_column_int64(q, 0);
        recs[n].uuid = strdup((const char *)sqlite3_column_text(q, 1));
        recs[n].type = strdup((const char *)sqlite3_column_text(q, 2));
        recs[n].at = strdup((const char *)sqlite3_column_text(q, 3));
        recs[n].data = strdup((const char *)sqlite3_column_text(q, 4));
        n++;
        if (!recs[n - 1].uuid || !recs[n - 1].type || !recs[n - 1].at || !recs[n - 1].data) {
            rc = HQ_ERR_NOMEM;
            goto fail;
        }
    }
    sqlite3_finalize(q);
    q = NULL;
    if (!n) {
        rc = HQ_ERR_EMPTY;
        goto fail;
    }
    /* Below the lowest seq the box still holds nothing will ever be sent
     * (deleted after sync.retention_days once acknowledged, or lost with a
     * corrupt database): say so, so that a server that never had them (a
     * new or restored one) can still acknowledge what follows. */
    int64_t gone = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT min(seq) FROM outbox", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_INTEGER)
        gone = sqlite3_column_int64(q, 0) - 1;
    sqlite3_finalize(q);
    q = NULL;
    if (gone < 0 || gone >= recs[0].seq) gone = 0;
    size_t max_bytes = s->transport == SYNC_SERIAL ? SYNC_SERIAL_BYTES : SYNC_BATCH_MAX_BYTES;
    rc = sync_batch_build(s->d->cfg.engine.hall_id, gone, recs, n, cap, max_bytes, out, &bad);
    if (rc && rc != HQ_ERR_NOMEM)
        snprintf(s->last_error, sizeof s->last_error,
                 "outbox record seq %lld cannot be sent (%s): fix or remove it by hand",
                 (long long)recs[bad < n ? bad : 0].seq, hq_strerror(rc));
fail:
    if (rc == HQ_ERR_DB)
        snprintf(s->last_error, sizeof s->last_error, "outbox: %s", sqlite3_errmsg(s->db));
    sqlite3_finalize(q);
    for (size_t i = 0; i < n; i++) {
        free((char *)recs[i].uuid);
        free((char *)recs[i].type);
        free((char *)recs[i].at);
        free((char *)recs[i].data);
    }
    free(recs);
    return rc;
}

/* The server holds everything up to acked: mark those rows. If it says it
 * holds less than rows we marked before (its database was restored), they go
 * back to unsent, since we still have them. */
static int sync__mark(struct hq_sync *s, int64_t acked, int64_t *newly, bool *rewound)
{
    sqlite3_stmt *u = NULL;
    int rc = HQ_ERR_DB;
    *newly = 0;
    *rewound = false;
    if (s->in_flight && acked < s->batch.first_seq - 1) {
        if (sqlite3_prepare_v2(s->db, "UPDATE outbox SET acked=0 WHERE acked=1 AND seq>?", -1, &u,
                               NULL) != SQLITE_OK)
            goto fail;
        sqlite3_bind_int64(u, 1, acked);
        if (sqlite3_step(u) != SQLITE_DONE) goto fail;
        /* Only a rewind that gives rows back to send is one; when the box
         * holds nothing between the server's mark and this batch, sending
         * again at once would loop: the caller backs off instead. */
        *rewound = sqlite3_changes(s->db) > 0;
        if (*rewound)
            LOG_WARN("SYNC",
                     "the central server holds records only up to seq %lld: sending "
                     "again from there",
                     (long long)acked);
        sqlite3_finalize(u);
        u = NULL;
        /* Records past sync.retention_days may be gone from the box already (a rare scan:
         * only on a rewind). */
        if (sqlite3_prepare_v2(s->db,
                               "SELECT coalesce(max(seq), ?1) - ?1 - count(*) FROM outbox "
                               "WHERE seq > ?1",
                               -1, &u, NULL) == SQLITE_OK &&
            sqlite3_bind_int64(u, 1, acked) == SQLITE_OK && sqlite3_step(u) == SQLITE_ROW &&
            sqlite3_column_int64(u, 0) > 0)
            LOG_ERR("SYNC",
                    "the central server lost %lld records that this box no longer holds "
                    "(deleted after sync.retention_days): they cannot be sent again",
                    (long long)sqlite3_column_int64(u, 0));
        sqlite3_finalize(u);
        u = NULL;
    }
    if (sqlite3_prepare_v2(s->db, "UPDATE outbox SET acked=1 WHERE acked=0 AND seq<=?", -1, &u,
                           NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_int64(u, 1, acked);
    if (sqlite3_step(u) != SQLITE_DONE) goto fail;
    *newly = sqlite3_changes(s->db);
    rc = HQ_OK;
fail:
    if (rc)
        snprintf(s->last_error, sizeof s->last_error, "outbox: cannot mark acknowledged: %s",
                 sqlite3_errmsg(s->db));
    sqlite3_finalize(u);
    return rc;
}

/* One exchange is over. acked >= 0 only for a well-formed acknowledgement. */
static void sync__http_send(struct hq_sync *s);

/* The server acknowledged the whole HTTP batch and the next one is built:
 * send it at once, before marking, so the marking overlaps the server's
 * work on it. Returns false when it cannot chain. */
static bool sync__chain(struct hq_sync *s, int64_t acked)
{
    if (s->transport != SYNC_HTTP || !s->next_ready || acked != s->batch.last_seq ||
        s->next_after != acked)
        return false;
    sync_batch_free(&s->batch);
    s->batch = s->next;
    memset(&s->next, 0, sizeof s->next);
    s->next_ready = false;
    if (s->batch.last_seq > s->sent_through) s->sent_through = s->batch.last_seq;
    s->acked_through = acked;
    sync__http_send(s); /* a failure there ends this exchange through sync__done */
    return true;
}

/* The central server took a batch (newly: records it acknowledged for the first time): the
 * failure count, the last error and the alarm end, and — when it answers again, or for the first
 * time since start — an appointments pull that failed meanwhile goes now. */
static void sync__answered(struct hq_sync *s, int64_t newly)
{
    if (s->attempt || s->alarm)
        LOG_NOTICE("SYNC", "central server reachable again after %u failed attempts", s->attempt);
    if (s->attempt || s->alarm || s->batches_ok == 0) sync__appt_link_up(s);
    s->attempt = 0;
    s->last_error[0] = 0;
    bool was_refused = s->alarm;
    s->alarm = false;
    if (was_refused) sync__check_alarm(s);
    s->batches_ok++;
    s->records_acked += (uint64_t)newly;
    s->last_success = hq_loop_wall_s();
}

static void sync__done(struct hq_sync *s, enum sync_outcome outcome, int64_t acked,
                       const char *error)
{
    int64_t newly = 0;
    bool rewound = false;
    if (outcome == SYNC_OUTCOME_OK && sync__chain(s, acked)) {
        if (sync__mark(s, acked, &newly, &rewound) == HQ_OK) {
            sync__answered(s, newly);
        } /* else: those rows stay unmarked and go again later; the server absorbs them */
        return;
    }
    if (outcome == SYNC_OUTCOME_OK) {
        if (sync__mark(s, acked, &newly, &rewound)) {
            outcome = SYNC_OUTCOME_RETRY;
        } else if (newly == 0 && !rewound && acked < s->batch.last_seq) {
            /* The server took the batch and acknowledged nothing new: it
             * misses an older record. Do not hammer it. */
            outcome = SYNC_OUTCOME_RETRY;
            if (acked < s->batch.first_seq - 1)
                snprintf(s->last_error, sizeof s->last_error,
                         "the central server holds records only up to seq %lld and does not "
                         "take gone_through: seqs %lld..%lld are no longer on this box",
                         (long long)acked, (long long)acked + 1, (long long)s->batch.first_seq - 1);
            else
                snprintf(s->last_error, sizeof s->last_error,
                         "the central server acknowledged nothing new (acked_through %lld, sent "
                         "%lld..%lld)",
                         (long long)acked, (long long)s->batch.first_seq,
                         (long long)s->batch.last_seq);
        }
        s->acked_through = acked;
    } else if (error) {
        snprintf(s->last_error, sizeof s->last_error, "%s", error);
    }
    s->in_flight = false;
    sync_batch_free(&s->batch);
    if (s->resend_timer) hq_loop_timer_cancel(s->d->loop, s->resend_timer);
    s->resend_timer = 0;

    if (outcome == SYNC_OUTCOME_OK) {
        sync__answered(s, newly);
        LOG_DEBUG("SYNC", "acked_through %lld (%lld new)", (long long)acked, (long long)newly);
        sync__schedule(s, 0, false); /* more may wait: the next attempt looks */
        return;
    }
    uint32_t rnd;
    hqd_random(&rnd, sizeof rnd);
    uint32_t delay = sync_backoff_ms(outcome, s->attempt, rnd);
    s->failures++;
    if (outcome == SYNC_OUTCOME_ALARM) {
        if (!s->alarm)
            LOG_ERR("SYNC",
                    "central server refuses the records: %s; retrying every few minutes, "
                    "nothing is dropped",
                    s->last_error);
        bool was_refused = s->alarm;
        s->alarm = true;
        if (!was_refused) sync__check_alarm(s);
    } else if (s->attempt == 0 || s->attempt % 10 == 0) {
        LOG_WARN("SYNC", "sending to the central server failed: %s; retry in %u ms", s->last_error,
                 delay);
    }
    s->attempt++;
    sync__schedule(s, delay, true);
}

/* ------------------------------------------------------------------ HTTP */

static size_t sync__curl_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct hq_sync *s = arg;
    size_t n = size * nmemb;
    if (s->resp_len + n > SYNC_RESP_MAX) return 0; /* aborts the transfer: not an ack */
    char *nb = realloc(s->resp, s->resp_len + n + 1);
    if (!nb) return 0;
    s->resp = nb;
    memcpy(s->resp + s->resp_len, ptr, n);
    s->resp_len += n;
    s->resp[s->resp_len] = 0;
    return n;
}

static size_t sync__curl_write_appt(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct hq_sync *s = arg;
    size_t n = size * nmemb;
    if (s->aresp_len + n > SYNC_APPT_RESP_MAX) return 0;
    char *nb = realloc(s->aresp, s->aresp_len + n + 1);
    if (!nb) return 0;
    s->aresp = nb;
    memcpy(s->aresp + s->aresp_len, ptr, n);
    s->aresp_len += n;
    s->aresp[s->aresp_len] = 0;
    return n;
}

static void sync__prebuild(struct hq_loop *loop, void *arg);

/* libcurl's progress: once the whole body is out, build the next batch while
 * the server stores this one (building earlier would hold the loop, and so
 * the rest of this upload, up). */
static int sync__curl_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                               curl_off_t ulnow)
{
    struct hq_sync *s = arg;
    (void)dltotal;
    (void)dlnow;
    if (ultotal > 0 && ulnow >= ultotal && s->in_flight && !s->next_ready && !s->next_timer)
        s->next_timer = hq_loop_timer(s->d->loop, 0, sync__prebuild, s);
    return 0;
}

static void sync__curl_check(struct hq_sync *s)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURLcode res = m->data.result;
        long status = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(s->multi, m->easy_handle);
        char err[256];
        if (m->easy_handle == s->aeasy) {
            if (res != CURLE_OK) {
                snprintf(err, sizeof err, "%s", curl_easy_strerror(res));
                sync__appt_failed(s, err);
            } else if (status != 200) {
                snprintf(err, sizeof err, "HTTP %ld: %.160s", status, s->aresp ? s->aresp : "");
                sync__appt_failed(s, err);
            } else {
                sync__appt_answer(s, s->aresp ? s->aresp : "", s->aresp_len);
            }
            continue;
        }
        if (res != CURLE_OK) {
            snprintf(err, sizeof err, "%s", curl_easy_strerror(res));
            sync__done(s, SYNC_OUTCOME_RETRY, -1, err);
            continue;
        }
        enum sync_outcome o = sync_classify_status(status);
        if (o != SYNC_OUTCOME_OK) {
            /* The server's JSON error says what it disliked; keep it short. */
            snprintf(err, sizeof err, "HTTP %ld: %.160s", status, s->resp ? s->resp : "");
            sync__done(s, o, -1, err);
            continue;
        }
        int64_t acked;
        int64_t sent = s->sent_through > s->batch.last_seq ? s->sent_through : s->batch.last_seq;
        if (sync_ack_parse(s->resp, s->resp_len, sent, &acked) != HQ_OK) {
            /* An acknowledgement beyond anything sent: the server holds
             * another history under this hall_id (two boxes with one id, or
             * a database that started over). A data problem, as a 4xx. */
            bool beyond = sync_ack_parse(s->resp, s->resp_len, INT64_MAX, &acked) == HQ_OK;
            if (beyond)
                snprintf(err, sizeof err,
                         "the central server acknowledges seq %lld, beyond the last one sent "
                         "(%lld): it holds other records under hall_id %s",
                         (long long)acked, (long long)sent, s->d->cfg.engine.hall_id);
            else
                snprintf(err, sizeof err, "HTTP %ld with a bad acknowledgement", status);
            sync__done(s, beyond ? SYNC_OUTCOME_ALARM : SYNC_OUTCOME_RETRY, -1, err);
            continue;
        }
        sync__done(s, SYNC_OUTCOME_OK, acked, NULL);
    }
}

static void sync__curl_fd(struct hq_loop *loop, int fd, uint32_t events, void *arg)
{
    struct hq_sync *s = arg;
    int running = 0, mask = 0;
    (void)loop;
    if (events & EPOLLIN) mask |= CURL_CSELECT_IN;
    if (events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
    if (events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
    curl_multi_socket_action(s->multi, fd, mask, &running);
    sync__curl_check(s);
}

static void sync__curl_timeout(struct hq_loop *loop, void *arg)
{
    struct hq_sync *s = arg;
    int running = 0;
    (void)loop;
    s->curl_timer = 0;
    curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    sync__curl_check(s);
}

/* libcurl asks to watch a socket (CURLMOPT_SOCKETFUNCTION). */
static int sync__curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct hq_sync *s = userp;
    struct hq_loop *loop = s->d->loop;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (socketp) hq_loop_del_fd(loop, fd);
        curl_multi_assign(s->multi, fd, NULL);
        return 0;
    }
    uint32_t ev = 0;
    if (what & CURL_POLL_IN) ev |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev |= EPOLLOUT;
    if (socketp) {
        hq_loop_mod_fd(loop, fd, ev);
    } else if (hq_loop_add_fd(loop, fd, ev, sync__curl_fd, s) == HQ_OK) {
        curl_multi_assign(s->multi, fd, s); /* any non-NULL marks it registered */
    }
    return 0;
}

/* libcurl asks for a timeout (CURLMOPT_TIMERFUNCTION). */
static int sync__curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct hq_sync *s = userp;
    (void)multi;
    if (s->curl_timer) hq_loop_timer_cancel(s->d->loop, s->curl_timer);
    s->curl_timer = 0;
    if (timeout_ms >= 0)
        s->curl_timer = hq_loop_timer(s->d->loop, (uint64_t)timeout_ms, sync__curl_timeout, s);
    return 0;
}

/* Options both exchanges share: TLS trust, token, timeouts. */
static int sync__curl_common(struct hq_sync *s, CURL *e)
{
    const struct hq_config *c = &s->d->cfg;
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)c->sync_timeout_s);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hallqd");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is a wrong URL: alarm */
    if (c->sync_ca_file[0]) {
        char path[HQ_CFG_PATH_MAX * 2];
        if (c->sync_ca_file[0] == '/')
            snprintf(path, sizeof path, "%s", c->sync_ca_file);
        else
            snprintf(path, sizeof path, "%s/%s", c->dir, c->sync_ca_file);
        if (access(path, R_OK) != 0) {
            LOG_ERR("SYNC", "%s: $.sync.ca_file: cannot read %s: %s", c->file, path,
                    strerror(errno));
            return HQ_ERR_CONFIG;
        }
        curl_easy_setopt(e, CURLOPT_CAINFO, path);
    }
    if (c->sync_pinned_pubkey[0]) {
        if (curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, c->sync_pinned_pubkey) != CURLE_OK) {
            LOG_ERR("SYNC", "%s: $.sync.pinned_pubkey: this libcurl cannot pin keys", c->file);
            return HQ_ERR_CONFIG;
        }
    }
    return HQ_OK;
}

static int sync__http_init(struct hq_sync *s)
{
    const struct hq_config *c = &s->d->cfg;
    char hdr[300];
    size_t blen = strlen(c->sync_url);
    while (blen && c->sync_url[blen - 1] == '/')
        blen--;
    snprintf(s->base, sizeof s->base, "%.*s", (int)blen, c->sync_url);
    snprintf(s->url, sizeof s->url, "%s/v1/halls/%s/records", s->base, c->engine.hall_id);
    s->multi = curl_multi_init();
    s->easy = curl_easy_init();
    s->aeasy = curl_easy_init();
    if (!s->multi || !s->easy || !s->aeasy) return HQ_ERR_NOMEM;
    s->headers = curl_slist_append(NULL, "Content-Type: application/json");
    s->headers = curl_slist_append(s->headers, "Expect:"); /* no 1 s wait for 100-continue */
    if (c->sync_token[0]) {
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", c->sync_token);
        s->headers = curl_slist_append(s->headers, hdr);
    }
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, sync__curl_socket);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, sync__curl_timer);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);

    CURL *e = s->easy;
    curl_easy_setopt(e, CURLOPT_URL, s->url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sync__curl_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, sync__curl_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, s);
    int rc = sync__curl_common(s, e);
    if (rc) return rc;
    curl_easy_setopt(s->aeasy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(s->aeasy, CURLOPT_WRITEFUNCTION, sync__curl_write_appt);
    curl_easy_setopt(s->aeasy, CURLOPT_WRITEDATA, s);
    return sync__curl_common(s, s->aeasy);
}

static void sync__http_send(struct hq_sync *s)
{
    s->resp_len = 0;
    if (s->resp) s->resp[0] = 0;
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->batch.len);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->batch.body);
    CURLMcode mc = curl_multi_add_handle(s->multi, s->easy);
    if (mc != CURLM_OK) sync__done(s, SYNC_OUTCOME_RETRY, -1, curl_multi_strerror(mc));
}

/* ---------------------------------------------------------------- serial */

static void sync__link_tick(struct hq_loop *loop, void *arg);

/* A link (back) up — the serial link, or the central server answering the up-link again: a
 * pull that failed for want of it, or never happened, goes now rather than at its retry (the
 * demo's booking codes did not work for minutes when hallqd started before hallq-central). */
static void sync__appt_link_up(struct hq_sync *s)
{
    if (s->appt_busy || !s->d->cfg.sync_appointments_interval_s) return;
    if (!s->appt_last_success || s->appt_last_error[0]) sync__appt_schedule(s, 200);
}

static void sync__link_lost(struct hq_sync *s, const char *why)
{
    struct hq_loop *loop = s->d->loop;
    if (s->link_fd >= 0) hq_loop_del_fd(loop, s->link_fd);
    s->link_fd = -1;
    hq_serial_link_lost(&s->link, hq_loop_now_ms(loop));
    slip_decoder_reset(&s->dec);
    free(s->wbuf);
    s->wbuf = NULL;
    s->wlen = 0;
    free(s->out);
    s->out = NULL;
    s->out_len = s->out_off = 0;
    s->r_queued = false;
    LOG_WARN("SYNC", "serial link %s lost: %s", s->link.spec, why);
    if (s->in_flight) sync__done(s, SYNC_OUTCOME_RETRY, -1, why);
    if (s->appt_busy) sync__appt_failed(s, why);
    if (!s->link_timer) s->link_timer = hq_loop_timer(loop, SYNC_LINK_TICK_MS, sync__link_tick, s);
}

static void sync__serial_resend(struct hq_loop *loop, void *arg);

/* Queue frame bytes for the line (an R frame, its resend, or a Q frame). */
static int sync__serial_queue(struct hq_sync *s, const uint8_t *buf, size_t len, bool records)
{
    if (s->out_off == s->out_len) s->out_len = s->out_off = 0;
    uint8_t *nb = realloc(s->out, s->out_len + len);
    if (!nb) return HQ_ERR_NOMEM;
    s->out = nb;
    memcpy(s->out + s->out_len, buf, len);
    s->out_len += len;
    if (records) s->r_queued = true;
    return HQ_OK;
}

/* Push the queued bytes; once an R frame is all out, wait 3 s for the A. */
static void sync__serial_flush(struct hq_sync *s)
{
    while (s->out_off < s->out_len) {
        ssize_t n = write(s->link_fd, s->out + s->out_off, s->out_len - s->out_off);
        if (n > 0) {
            s->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            hq_loop_mod_fd(s->d->loop, s->link_fd, EPOLLIN | EPOLLOUT);
            return;
        }
        sync__link_lost(s, n < 0 ? strerror(errno) : "write returned 0");
        return;
    }
    hq_loop_mod_fd(s->d->loop, s->link_fd, EPOLLIN);
    s->out_len = s->out_off = 0;
    if (!s->r_queued) return;
    s->r_queued = false;
    if (!s->in_flight) return;
    if (s->resend_timer) hq_loop_timer_cancel(s->d->loop, s->resend_timer);
    s->resend_timer = hq_loop_timer(s->d->loop, SYNC_SERIAL_RESEND_MS, sync__serial_resend, s);
}

static void sync__serial_send(struct hq_sync *s)
{
    uint8_t *wire = NULL;
    size_t wlen = 0;
    if (s->link_fd < 0) {
        sync__done(s, SYNC_OUTCOME_RETRY, -1, "serial link is down");
        return;
    }
    if (slip_frame_build(SLIP_TYPE_RECORDS, s->batch.body, s->batch.len, &wire, &wlen)) {
        sync__done(s, SYNC_OUTCOME_RETRY, -1, "out of memory");
        return;
    }
    free(s->wbuf);
    s->wbuf = wire;
    s->wlen = wlen;
    if (sync__serial_queue(s, wire, wlen, true)) {
        sync__done(s, SYNC_OUTCOME_RETRY, -1, "out of memory");
        return;
    }
    sync__serial_flush(s);
}

static void sync__serial_resend(struct hq_loop *loop, void *arg)
{
    struct hq_sync *s = arg;
    (void)loop;
    s->resend_timer = 0;
    if (!s->in_flight || !s->wbuf || s->link_fd < 0) return;
    s->resends++;
    snprintf(s->last_error, sizeof s->last_error,
             "no acknowledgement on the serial line within 3 s (resent %u times)", s->resends);
    if (s->resends == 1 || s->resends % 20 == 0) LOG_WARN("SYNC", "%s", s->last_error);
    if (sync__serial_queue(s, s->wbuf, s->wlen, true) == HQ_OK) sync__serial_flush(s);
}

static void sync__serial_frame(void *arg, char type, const char *body, size_t len)
{
    struct hq_sync *s = arg;
    int64_t acked;
    if (type == SLIP_TYPE_APPOINTMENTS && s->appt_busy) {
        if (s->appt_wait_timer) hq_loop_timer_cancel(s->d->loop, s->appt_wait_timer);
        s->appt_wait_timer = 0;
        sync__appt_answer(s, body, len);
        return;
    }
    if (type != SLIP_TYPE_ACK || !s->in_flight) {
        LOG_DEBUG("SYNC", "serial frame '%c' ignored", type);
        return;
    }
    int64_t sent = s->sent_through > s->batch.last_seq ? s->sent_through : s->batch.last_seq;
    if (sync_ack_parse(body, len, sent, &acked) != HQ_OK) return; /* the resend timer retries */
    s->resends = 0;
    free(s->wbuf);
    s->wbuf = NULL;
    s->wlen = 0;
    s->r_queued = false;
    sync__done(s, SYNC_OUTCOME_OK, acked, NULL);
}

static void sync__serial_fd(struct hq_loop *loop, int fd, uint32_t events, void *arg)
{
    struct hq_sync *s = arg;
    (void)loop;
    (void)fd;
    if (hq_serial_connecting(s->link.s)) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        if (hq_serial_finish_connect(s->link.s) != HQ_OK) {
            sync__link_lost(s, "connection failed");
            return;
        }
        LOG_NOTICE("SYNC", "serial link %s up", s->link.spec);
        hq_loop_mod_fd(s->d->loop, s->link_fd, EPOLLIN);
        if (!s->in_flight) sync__schedule(s, 0, false);
        sync__appt_link_up(s);
        return;
    }
    if (events & EPOLLIN) {
        uint8_t buf[4096];
        for (;;) {
            size_t got = 0;
            if (hq_serial_read(s->link.s, buf, sizeof buf, &got) != HQ_OK) {
                sync__link_lost(s, "read failed");
                return;
            }
            if (!got) break;
            LOG_HEX("SYNC", "serial in", buf, got);
            slip_decoder_feed(&s->dec, buf, got, sync__serial_frame, s);
            if (s->link_fd < 0) return;
        }
    }
    if ((events & EPOLLOUT) && s->out_off < s->out_len)
        sync__serial_flush(s);
    else if (events & (EPOLLERR | EPOLLHUP))
        sync__link_lost(s, "hang-up");
}

static void sync__link_tick(struct hq_loop *loop, void *arg)
{
    struct hq_sync *s = arg;
    s->link_timer = 0;
    if (s->link_fd >= 0) return;
    if (hq_serial_link_service(&s->link, hq_loop_now_ms(loop)) == HQ_OK) {
        int fd = hq_serial_link_fd(&s->link);
        bool connecting = hq_serial_connecting(s->link.s);
        if (hq_loop_add_fd(loop, fd, connecting ? EPOLLOUT : EPOLLIN, sync__serial_fd, s) ==
            HQ_OK) {
            s->link_fd = fd;
            slip_decoder_reset(&s->dec);
            if (!connecting) {
                LOG_NOTICE("SYNC", "serial link %s up", s->link.spec);
                if (!s->in_flight) sync__schedule(s, 0, false);
                sync__appt_link_up(s);
            }
            return;
        }
        hq_serial_link_lost(&s->link, hq_loop_now_ms(loop));
    }
    s->link_timer = hq_loop_timer(loop, SYNC_LINK_TICK_MS, sync__link_tick, s);
}

/* ---------------------------------------------------- appointments down-link */

/* Pull appointments after the stored cursor: GET .../appointments?since= over
 * HTTP, or a Q frame answered by a P frame over serial. A non-empty answer is
 * followed at once by the next page; an empty one ends the pull. */
static void sync__appt_pull(struct hq_loop *loop, void *arg)
{
    struct hq_sync *s = arg;
    (void)loop;
    s->appt_timer = 0;
    if (s->appt_busy || s->transport == SYNC_OFF) return;
    if (appt_cursor_get(hq_store_db(s->d->store), s->appt_since, sizeof s->appt_since)) {
        sync__appt_failed(s, "cannot read the appointments cursor");
        return;
    }
    s->appt_busy = true;
    s->appt_pulls++;
    if (s->transport == SYNC_HTTP) {
        char url[900];
        char *esc = curl_easy_escape(s->aeasy, s->appt_since, 0);
        snprintf(url, sizeof url, "%s/v1/halls/%s/appointments?since=%s", s->base,
                 s->d->cfg.engine.hall_id, esc ? esc : "");
        curl_free(esc);
        curl_easy_setopt(s->aeasy, CURLOPT_URL, url);
        s->aresp_len = 0;
        if (s->aresp) s->aresp[0] = 0;
        CURLMcode mc = curl_multi_add_handle(s->multi, s->aeasy);
        if (mc != CURLM_OK) sync__appt_failed(s, curl_multi_strerror(mc));
        return;
    }
    if (s->link_fd < 0 || hq_serial_connecting(s->link.s)) {
        sync__appt_failed(s, "serial link is down");
        return;
    }
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "since", s->appt_since);
    cJSON_AddStringToObject(q, "hall_id", s->d->cfg.engine.hall_id);
    char *body = cJSON_PrintUnformatted(q);
    cJSON_Delete(q);
    uint8_t *wire = NULL;
    size_t wlen = 0;
    int rc =
        body ? slip_frame_build(SLIP_TYPE_QUERY, body, strlen(body), &wire, &wlen) : HQ_ERR_NOMEM;
    free(body);
    if (!rc) rc = sync__serial_queue(s, wire, wlen, false);
    free(wire);
    if (rc) {
        sync__appt_failed(s, "out of memory");
        return;
    }
    sync__serial_flush(s);
    if (s->appt_busy && !s->appt_wait_timer)
        s->appt_wait_timer =
            hq_loop_timer(s->d->loop, SYNC_APPT_SERIAL_WAIT_MS, sync__appt_serial_timeout, s);
}

static void sync__appt_serial_timeout(struct hq_loop *loop, void *arg)
{
    struct hq_sync *s = arg;
    (void)loop;
    s->appt_wait_timer = 0;
    if (s->appt_busy) sync__appt_failed(s, "no appointments answer on the serial line within 10 s");
}

static void sync__appt_schedule(struct hq_sync *s, uint64_t delay_ms)
{
    if (s->appt_timer) hq_loop_timer_cancel(s->d->loop, s->appt_timer);
    s->appt_timer = hq_loop_timer(s->d->loop, delay_ms, sync__appt_pull, s);
}

/* The next regular pull (none when sync.appointments_interval_s is 0). */
static void sync__appt_next(struct hq_sync *s, uint64_t delay_s)
{
    if (s->appt_timer) hq_loop_timer_cancel(s->d->loop, s->appt_timer);
    s->appt_timer = 0;
    uint32_t iv = s->d->cfg.sync_appointments_interval_s;
    if (!iv) return;
    if (!delay_s || delay_s > iv) delay_s = iv;
    sync__appt_schedule(s, delay_s * 1000);
}

static void sync__appt_failed(struct hq_sync *s, const char *why)
{
    s->appt_busy = false;
    if (s->appt_wait_timer) hq_loop_timer_cancel(s->d->loop, s->appt_wait_timer);
    s->appt_wait_timer = 0;
    if (strcmp(s->appt_last_error, why) != 0) LOG_WARN("SYNC", "appointments pull failed: %s", why);
    snprintf(s->appt_last_error, sizeof s->appt_last_error, "%s", why);
    sync__appt_next(s, SYNC_APPT_RETRY_S);
}

static void sync__appt_answer(struct hq_sync *s, const char *body, size_t len)
{
    struct sync_appointments a = {0};
    const char *why = NULL;
    struct hq_daemon *d = s->d;
    if (sync_appointments_parse(body, len, &a, &why) != HQ_OK) {
        char err[200];
        snprintf(err, sizeof err, "bad appointments answer: %s", why ? why : "out of memory");
        sync__appt_failed(s, err);
        return;
    }
    int rc = hq_store_begin(d->store);
    if (!rc) {
        rc = appt_store_apply(hq_store_db(d->store), &a, hq_loop_wall_s(),
                              d->cfg.engine.utc_offset_s);
        int erc = hq_store_end(d->store, rc);
        if (!rc) rc = erc;
    }
    if (rc) {
        sync_appointments_free(&a);
        sync__appt_failed(s, "cannot store the appointments");
        return;
    }
    s->appt_busy = false;
    s->appt_received += a.count;
    s->appt_last_success = hq_loop_wall_s();
    s->appt_last_error[0] = 0;
    bool more = a.count > 0 && strcmp(a.cursor, s->appt_since) != 0;
    if (a.count) LOG_INFO("SYNC", "%zu appointments received (cursor %s)", a.count, a.cursor);
    sync_appointments_free(&a);
    if (more)
        sync__appt_schedule(s, 0);
    else
        sync__appt_next(s, 0);
}

int hq_sync_appointments_refresh(struct hq_daemon *d)
{
    struct hq_sync *s = d->mod.sync;
    if (!s || s->transport == SYNC_OFF) return HQ_ERR_STATE;
    if (!s->appt_busy) sync__appt_schedule(s, 0);
    return HQ_OK;
}

/* ------------------------------------------------------------ the module */

static void sync__drop_next(struct hq_sync *s)
{
    if (s->next_timer) hq_loop_timer_cancel(s->d->loop, s->next_timer);
    s->next_timer = 0;
    sync_batch_free(&s->next);
    s->next_ready = false;
}

static void sync__prebuild(struct hq_loop *loop, void *arg)
{
    struct hq_sync *s = arg;
    (void)loop;
    s->next_timer = 0;
    if (!s->in_flight || s->next_ready) return;
    char keep[sizeof s->last_error];
    memcpy(keep, s->last_error, sizeof keep);
    if (sync__load_batch(s, s->batch.last_seq, &s->next) == HQ_OK) {
        s->next_ready = true;
        s->next_after = s->batch.last_seq;
    } else {
        memcpy(s->last_error, keep, sizeof keep); /* the attempt proper reports problems */
        sync_batch_free(&s->next);
    }
}

static void sync__attempt(struct hq_loop *loop, void *arg)
{
    struct hq_sync *s = arg;
    (void)loop;
    s->timer = 0;
    s->backing_off = false;
    if (s->in_flight || s->transport == SYNC_OFF) return;
    if (s->transport == SYNC_SERIAL && s->link_fd < 0) return; /* link_tick calls again */
    int rc;
    if (s->next_ready && s->next_after == s->acked_through) {
        s->batch = s->next; /* built while the last batch was out */
        memset(&s->next, 0, sizeof s->next);
        s->next_ready = false;
        rc = HQ_OK;
    } else {
        sync__drop_next(s);
        rc = sync__load_batch(s, 0, &s->batch);
    }
    if (rc == HQ_ERR_EMPTY) {
        sync__schedule(s, SYNC_IDLE_POLL_MS, false);
        return;
    }
    if (rc) {
        sync__done(s,
                   rc == HQ_ERR_NOMEM || rc == HQ_ERR_DB ? SYNC_OUTCOME_RETRY : SYNC_OUTCOME_ALARM,
                   -1, NULL);
        return;
    }
    s->in_flight = true;
    if (s->batch.last_seq > s->sent_through) s->sent_through = s->batch.last_seq;
    LOG_DEBUG("SYNC", "sending %zu records, seq %lld..%lld (%zu bytes)", s->batch.count,
              (long long)s->batch.first_seq, (long long)s->batch.last_seq, s->batch.len);
    if (s->transport == SYNC_HTTP)
        sync__http_send(s); /* the next batch is built once this one is sent */
    else
        sync__serial_send(s);
}

void hq_sync_kick(struct hq_daemon *d)
{
    struct hq_sync *s = d->mod.sync;
    if (!s || s->transport == SYNC_OFF || s->in_flight || s->backing_off) return;
    sync__schedule(s, SYNC_KICK_MS, false);
}

/* New records were committed: send soon, unless we are backing off (the
 * server is down; a new ticket must not shorten the pause). */
static void sync__on_result(struct hq_daemon *d, const struct hq_cmd *cmd,
                            const struct hq_result *res, void *arg)
{
    (void)arg;
    (void)cmd;
    if (res->n_rec) hq_sync_kick(d);
}

static void sync__outbox_written(void *arg)
{
    hq_sync_kick(arg);
}

/* Backlog and the age of the oldest unsent record, counted now. */
static void sync__count(struct hq_sync *s)
{
    sqlite3_stmt *q = NULL;
    int64_t now = hq_loop_wall_s(), oldest, last;
    s->backlog = 0;
    s->oldest_age = 0;
    if (!s->db) return;
    hq_outbox_unsent(s->db, &s->backlog, &oldest, &last);
    if (s->backlog &&
        sqlite3_prepare_v2(s->db, "SELECT at FROM outbox WHERE seq=?", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_bind_int64(q, 1, oldest) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
        int64_t t = hq_sync_parse_rfc3339((const char *)sqlite3_column_text(q, 0));
        if (t >= 0 && now > t) s->oldest_age = now - t;
    }
    sqlite3_finalize(q);
}

static void sync__alarm_reasons(cJSON *arr, unsigned why)
{
    if (why & SYNC_ALARM_REFUSED) cJSON_AddItemToArray(arr, cJSON_CreateString("refused"));
    if (why & SYNC_ALARM_BACKLOG) cJSON_AddItemToArray(arr, cJSON_CreateString("backlog"));
    if (why & SYNC_ALARM_AGE) cJSON_AddItemToArray(arr, cJSON_CreateString("age"));
}

/* SSE "alarm" {"source":"sync","alarm":bool,"reasons":[..],...}, from the
 * loop (never from inside a status answer, whose first SSE message must stay
 * the status itself). */
static void sync__alarm_publish(struct hq_loop *loop, void *arg)
{
    struct hq_sync *s = arg;
    (void)loop;
    s->alarm_pub_timer = 0;
    if (!s->d->api) return;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "source", "sync");
    cJSON_AddBoolToObject(ev, "alarm", s->alarm_on);
    sync__alarm_reasons(cJSON_AddArrayToObject(ev, "reasons"), s->alarm_why);
    cJSON_AddStringToObject(ev, "message", s->alarm_zh);
    cJSON_AddStringToObject(ev, "message_en", s->alarm_en);
    cJSON_AddNumberToObject(ev, "backlog", (double)s->backlog);
    cJSON_AddNumberToObject(ev, "oldest_unsent_age_s", (double)s->oldest_age);
    if (s->last_error[0]) cJSON_AddStringToObject(ev, "last_error", s->last_error);
    hq_api_publish(s->d->api, "alarm", ev);
}

/* Recount; when the alarm is raised, changes reason, or clears, log it and
 * publish it once. */
static void sync__check_alarm(struct hq_sync *s)
{
    const struct hq_config *c = &s->d->cfg;
    sync__count(s);
    unsigned why = 0;
    if (s->alarm) why |= SYNC_ALARM_REFUSED;
    if (s->backlog >= (int64_t)c->sync_alarm_backlog) why |= SYNC_ALARM_BACKLOG;
    if (s->backlog && s->oldest_age >= (int64_t)c->sync_alarm_age_s) why |= SYNC_ALARM_AGE;
    if (why == s->alarm_why) return;
    s->alarm_why = why;
    s->alarm_on = why != 0;
    char *zh = s->alarm_zh, *en = s->alarm_en;
    if (why) {
        snprintf(zh, sizeof s->alarm_zh, "数据上报告警：%s%s%s（积压 %lld 条，最早 %lld 秒前）",
                 why & SYNC_ALARM_REFUSED ? "中心拒收 " : "",
                 why & SYNC_ALARM_BACKLOG ? "积压过多 " : "",
                 why & SYNC_ALARM_AGE ? "积压过久" : "", (long long)s->backlog,
                 (long long)s->oldest_age);
        snprintf(en, sizeof s->alarm_en,
                 "central sync alarm:%s%s%s (%lld records waiting, oldest %lld s)",
                 why & SYNC_ALARM_REFUSED ? " refused by the server" : "",
                 why & SYNC_ALARM_BACKLOG ? " backlog too large" : "",
                 why & SYNC_ALARM_AGE ? " backlog too old" : "", (long long)s->backlog,
                 (long long)s->oldest_age);
        LOG_ERR("SYNC", "%s", en);
    } else {
        snprintf(zh, sizeof s->alarm_zh, "数据上报告警解除");
        snprintf(en, sizeof s->alarm_en, "central sync alarm cleared");
        LOG_NOTICE("SYNC", "%s", en);
    }
    if (!s->alarm_pub_timer)
        s->alarm_pub_timer = hq_loop_timer(s->d->loop, 0, sync__alarm_publish, s);
}

static void sync__alarm_tick(struct hq_loop *loop, void *arg)
{
    struct hq_sync *s = arg;
    s->alarm_timer = hq_loop_timer(loop, SYNC_ALARM_CHECK_MS, sync__alarm_tick, s);
    sync__check_alarm(s);
}

static void sync__status(struct hq_daemon *d, cJSON *status, void *arg)
{
    struct hq_sync *s = arg;
    cJSON *sy = cJSON_GetObjectItemCaseSensitive(status, "sync");
    if (!sy) sy = cJSON_AddObjectToObject(status, "sync");
    if (!sy) return;
    static const char *const names[] = {"off", "http", "serial"};
    const char *tr = names[s->transport];
    if (s->transport == SYNC_HTTP && !strncmp(d->cfg.sync_url, "https://", 8)) tr = "https";
    cJSON_AddStringToObject(sy, "transport", tr);
    if (s->transport == SYNC_SERIAL) cJSON_AddBoolToObject(sy, "link_up", s->link_fd >= 0);
    sync__check_alarm(s); /* counts backlog and age as of now */
    cJSON_AddNumberToObject(sy, "oldest_unsent_age_s", (double)s->oldest_age);
    cJSON_AddNumberToObject(sy, "acked_through", (double)s->acked_through);
    cJSON_AddNumberToObject(sy, "sent_through", (double)s->sent_through);
    char ts[32];
    if (s->last_success) {
        hq_time_rfc3339(s->last_success, d->cfg.engine.utc_offset_s, ts);
        cJSON_AddStringToObject(sy, "last_success", ts);
    } else {
        cJSON_AddNullToObject(sy, "last_success");
    }
    if (s->last_error[0])
        cJSON_AddStringToObject(sy, "last_error", s->last_error);
    else
        cJSON_AddNullToObject(sy, "last_error");
    /* alarm: what the dashboard shows; refused: the 4xx part of it. */
    cJSON_AddBoolToObject(sy, "alarm", s->alarm_on);
    sync__alarm_reasons(cJSON_AddArrayToObject(sy, "alarm_reasons"), s->alarm_why);
    cJSON_AddBoolToObject(sy, "refused", s->alarm);
    cJSON_AddNumberToObject(sy, "alarm_backlog", d->cfg.sync_alarm_backlog);
    cJSON_AddNumberToObject(sy, "alarm_age_s", d->cfg.sync_alarm_age_s);
    cJSON_AddBoolToObject(sy, "in_flight", s->in_flight);
    cJSON_AddNumberToObject(sy, "failures", (double)s->failures);
    cJSON_AddNumberToObject(sy, "batches", (double)s->batches_ok);
    cJSON_AddNumberToObject(sy, "records_acked", (double)s->records_acked);
    cJSON *ap = cJSON_AddObjectToObject(sy, "appointments");
    cJSON_AddNumberToObject(ap, "interval_s", d->cfg.sync_appointments_interval_s);
    cJSON_AddBoolToObject(ap, "pulling", s->appt_busy);
    cJSON_AddNumberToObject(ap, "pulls", (double)s->appt_pulls);
    cJSON_AddNumberToObject(ap, "received", (double)s->appt_received);
    char cursor[SYNC_CURSOR_MAX + 1] = "";
    appt_cursor_get(hq_store_db(d->store), cursor, sizeof cursor);
    cJSON_AddStringToObject(ap, "cursor", cursor);
    if (s->appt_last_success) {
        hq_time_rfc3339(s->appt_last_success, d->cfg.engine.utc_offset_s, ts);
        cJSON_AddStringToObject(ap, "last_success", ts);
    } else {
        cJSON_AddNullToObject(ap, "last_success");
    }
    if (s->appt_last_error[0])
        cJSON_AddStringToObject(ap, "last_error", s->appt_last_error);
    else
        cJSON_AddNullToObject(ap, "last_error");
}

static char *sync__metrics(struct hq_daemon *d, void *arg)
{
    struct hq_sync *s = arg;
    char *out = NULL;
    (void)d;
    sync__check_alarm(s);
    if (asprintf(&out,
                 "# TYPE hallq_sync_backlog gauge\nhallq_sync_backlog %lld\n"
                 "# TYPE hallq_sync_oldest_unsent_age_seconds gauge\n"
                 "hallq_sync_oldest_unsent_age_seconds %lld\n"
                 "# TYPE hallq_sync_last_success_timestamp_seconds gauge\n"
                 "hallq_sync_last_success_timestamp_seconds %lld\n"
                 "# TYPE hallq_sync_last_error gauge\nhallq_sync_last_error %d\n"
                 "# TYPE hallq_sync_alarm gauge\nhallq_sync_alarm %d\n"
                 "# TYPE hallq_sync_refused gauge\nhallq_sync_refused %d\n"
                 "# TYPE hallq_sync_failures_total counter\nhallq_sync_failures_total %llu\n"
                 "# TYPE hallq_sync_batches_total counter\nhallq_sync_batches_total %llu\n"
                 "# TYPE hallq_sync_records_acked_total counter\n"
                 "hallq_sync_records_acked_total %llu\n"
                 "# TYPE hallq_sync_appointments_received_total counter\n"
                 "hallq_sync_appointments_received_total %llu\n"
                 "# TYPE hallq_sync_appointments_last_success_timestamp_seconds gauge\n"
                 "hallq_sync_appointments_last_success_timestamp_seconds %lld\n",
                 (long long)s->backlog, (long long)s->oldest_age, (long long)s->last_success,
                 s->last_error[0] != 0, s->alarm_on, s->alarm, (unsigned long long)s->failures,
                 (unsigned long long)s->batches_ok, (unsigned long long)s->records_acked,
                 (unsigned long long)s->appt_received, (long long)s->appt_last_success) < 0)
        return NULL;
    return out;
}

/* Tear the transport down: an exchange in flight is forgotten (its records
 * stay unacknowledged and go again; the server absorbs duplicates). */
static void sync__transport_stop(struct hq_sync *s)
{
    struct hq_loop *loop = s->d->loop;
    uint64_t *timers[] = {&s->timer,        &s->curl_timer, &s->link_timer,
                          &s->resend_timer, &s->appt_timer, &s->appt_wait_timer};
    for (size_t i = 0; i < HQ_ARRAY_LEN(timers); i++) {
        if (*timers[i]) hq_loop_timer_cancel(loop, *timers[i]);
        *timers[i] = 0;
    }
    if (s->multi) {
        if (s->in_flight) curl_multi_remove_handle(s->multi, s->easy);
        if (s->appt_busy) curl_multi_remove_handle(s->multi, s->aeasy);
        curl_easy_cleanup(s->easy);
        curl_easy_cleanup(s->aeasy);
        curl_multi_cleanup(s->multi);
        curl_slist_free_all(s->headers);
        s->multi = NULL;
        s->easy = s->aeasy = NULL;
        s->headers = NULL;
    }
    if (s->link_fd >= 0) hq_loop_del_fd(loop, s->link_fd);
    s->link_fd = -1;
    if (s->transport == SYNC_SERIAL) hq_serial_link_close(&s->link);
    memset(&s->link, 0, sizeof s->link);
    slip_decoder_reset(&s->dec);
    sync_batch_free(&s->batch);
    sync__drop_next(s);
    free(s->wbuf);
    free(s->out);
    s->wbuf = s->out = NULL;
    s->wlen = s->out_len = s->out_off = 0;
    s->r_queued = false;
    s->in_flight = s->appt_busy = s->backing_off = false;
    s->attempt = 0;
    s->transport = SYNC_OFF;
}

static int sync__transport_start(struct hq_sync *s)
{
    const struct hq_config *c = &s->d->cfg;
    int rc;
    s->transport = c->sync_url[0] ? SYNC_HTTP : c->sync_serial[0] ? SYNC_SERIAL : SYNC_OFF;
    if (s->transport == SYNC_OFF) {
        LOG_NOTICE("SYNC", "no central server configured (sync.url, sync.serial): records stay "
                           "in the outbox");
        return HQ_OK;
    }
    if (s->transport == SYNC_HTTP) {
        rc = sync__http_init(s);
        if (rc) return rc;
        LOG_NOTICE("SYNC", "up-link to %s", s->url);
    } else {
        rc = hq_serial_link_init(&s->link, c->sync_serial, (int)c->sync_serial_baud, 0);
        if (rc) {
            LOG_ERR("SYNC", "%s: $.sync.serial: bad serial spec", c->file);
            return HQ_ERR_CONFIG;
        }
        s->link_timer = hq_loop_timer(s->d->loop, 0, sync__link_tick, s);
        LOG_NOTICE("SYNC", "up-link over serial %s", c->sync_serial);
    }
    sync__schedule(s, 0, false);
    /* A serial link needs a moment to come up; HTTP pulls at once. */
    if (c->sync_appointments_interval_s)
        sync__appt_schedule(s, s->transport == SYNC_SERIAL ? SYNC_LINK_TICK_MS + 500 : 0);
    return HQ_OK;
}

/* The sync part of struct hq_config, copied as a whole on reload. */
static void sync__copy_cfg(struct hq_config *dst, const struct hq_config *src)
{
    memcpy(dst->sync_url, src->sync_url, sizeof dst->sync_url);
    memcpy(dst->sync_token, src->sync_token, sizeof dst->sync_token);
    memcpy(dst->sync_ca_file, src->sync_ca_file, sizeof dst->sync_ca_file);
    memcpy(dst->sync_pinned_pubkey, src->sync_pinned_pubkey, sizeof dst->sync_pinned_pubkey);
    memcpy(dst->sync_serial, src->sync_serial, sizeof dst->sync_serial);
    dst->sync_serial_baud = src->sync_serial_baud;
    dst->sync_batch_max = src->sync_batch_max;
    dst->sync_timeout_s = src->sync_timeout_s;
    dst->sync_appointments_interval_s = src->sync_appointments_interval_s;
    dst->sync_appointment_early_s = src->sync_appointment_early_s;
    dst->sync_appointment_grace_s = src->sync_appointment_grace_s;
    dst->sync_alarm_backlog = src->sync_alarm_backlog;
    dst->sync_alarm_age_s = src->sync_alarm_age_s;
}

static bool sync__transport_changed(const struct hq_config *a, const struct hq_config *b)
{
    return strcmp(a->sync_url, b->sync_url) || strcmp(a->sync_token, b->sync_token) ||
           strcmp(a->sync_ca_file, b->sync_ca_file) ||
           strcmp(a->sync_pinned_pubkey, b->sync_pinned_pubkey) ||
           strcmp(a->sync_serial, b->sync_serial) || a->sync_serial_baud != b->sync_serial_baud ||
           a->sync_timeout_s != b->sync_timeout_s;
}

/* SIGHUP: the daemon copied only its own fields; read the file again for
 * ours. Thresholds, batch size and the pull interval apply at once; a new
 * URL, token, CA, pin or serial port restarts the transport, and a transport
 * the new settings cannot start leaves the old one running. */
static void sync__reload(struct hq_daemon *d, void *arg)
{
    struct hq_sync *s = arg;
    struct hq_config *n = calloc(1, sizeof *n), *old = calloc(1, sizeof *old);
    char err[512];
    if (!n || !old) goto out;
    if (hq_config_load(d->cfg.file, n, err, sizeof err) != HQ_OK) {
        LOG_ERR("SYNC", "reload: %s", err);
        goto out;
    }
    bool restart = sync__transport_changed(&d->cfg, n);
    uint32_t old_iv = d->cfg.sync_appointments_interval_s;
    sync__copy_cfg(old, &d->cfg);
    sync__copy_cfg(&d->cfg, n);
    if (restart) {
        sync__transport_stop(s);
        if (sync__transport_start(s) != HQ_OK) {
            LOG_ERR("SYNC", "reload: the new sync settings cannot start; keeping the old ones");
            sync__transport_stop(s);
            sync__copy_cfg(&d->cfg, old);
            sync__transport_start(s);
        } else {
            LOG_NOTICE("SYNC", "reload: sync settings changed, transport restarted");
        }
    } else if (old_iv != d->cfg.sync_appointments_interval_s && !s->appt_busy) {
        sync__appt_next(s, 0);
    }
    s->alarm_why = ~0u; /* thresholds may have moved: publish the state anew */
    sync__check_alarm(s);
out:
    if (n) hq_config_free(n);
    free(n);
    free(old);
}

int hq_sync_init(struct hq_daemon *d)
{
    const struct hq_config *c = &d->cfg;
    struct hq_sync *s = calloc(1, sizeof *s);
    int rc = HQ_ERR_NOMEM;
    if (!s) return rc;
    s->d = d;
    s->link_fd = -1;
    slip_decoder_init(&s->dec, 0);
    d->mod.sync = s;
    if (d->api && ((rc = hq_api_status_part(d->api, sync__status, s)) ||
                   (rc = hq_api_metrics_part(d->api, sync__metrics, s))))
        return rc;
    if (sqlite3_open_v2(c->database, &s->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        LOG_ERR("SYNC", "%s: %s", c->database, sqlite3_errmsg(s->db));
        return HQ_ERR_DB;
    }
    sqlite3_busy_timeout(s->db, 2000);
    /* This connection only marks rows acknowledged. Losing such a mark in a
     * power cut costs a resend the server absorbs, so no fsync per batch. */
    sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    /* What the server confirmed before the restart, for the status page
     * until its next acknowledgement (one index look-up on outbox_unacked).
     * 0 when the box holds no acknowledged record (none yet, or retention
     * deleted them all). */
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT max(seq) FROM outbox WHERE acked=1", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        s->acked_through = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return HQ_ERR_IO;
    if ((rc = hqd_on_result(d, sync__on_result, s)) || (rc = hqd_on_reload(d, sync__reload, s)))
        return rc;
    /* records other modules write (follow-ups, reprints, device health) go out at once too */
    hq_store_on_outbox(d->store, sync__outbox_written, d);
    s->alarm_timer = hq_loop_timer(d->loop, SYNC_ALARM_CHECK_MS, sync__alarm_tick, s);
    return sync__transport_start(s);
}

void hq_sync_fini(struct hq_daemon *d)
{
    hq_store_on_outbox(d->store, NULL, NULL);
    struct hq_sync *s = d->mod.sync;
    if (!s) return;
    sync__transport_stop(s);
    if (s->alarm_timer) hq_loop_timer_cancel(d->loop, s->alarm_timer);
    if (s->alarm_pub_timer) hq_loop_timer_cancel(d->loop, s->alarm_pub_timer);
    curl_global_cleanup();
    slip_decoder_free(&s->dec);
    free(s->resp);
    free(s->aresp);
    sqlite3_close(s->db);
    free(s);
    d->mod.sync = NULL;
}
