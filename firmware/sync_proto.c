/*
 * sync_proto.c — bodies and rules of the central sync protocol (sync_proto.h).
 * Everything that comes from the server is read strictly: a lying or broken
 * acknowledgement must never make hallq forget a record it still owes, and a
 * bad appointment must never reach the queue.
 */
#include "sync_proto.h"

#include "hq.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text (hq_text, hq.h) ---- */

static void sync_proto__puts(struct hq_text *b, const char *s)
{
    hq_text_put(b, s, strlen(s));
}

/* A JSON string literal. Bytes >= 0x80 pass through: the text is UTF-8. */
static void sync_proto__put_json_str(struct hq_text *b, const char *s)
{
    hq_text_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"':
            hq_text_put(b, "\\\"", 2);
            break;
        case '\\':
            hq_text_put(b, "\\\\", 2);
            break;
        case '\n':
            hq_text_put(b, "\\n", 2);
            break;
        case '\r':
            hq_text_put(b, "\\r", 2);
            break;
        case '\t':
            hq_text_put(b, "\\t", 2);
            break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                hq_text_put(b, esc, 6);
            } else {
                hq_text_put(b, (const char *)p, 1);
            }
        }
    }
    hq_text_put(b, "\"", 1);
}

/* ---- validators ---- */

static bool sync_proto__digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return true;
}

static int sync_proto__num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static bool sync_proto__valid_date_n(const char *s)
{
    if (!sync_proto__digits(s, 4) || s[4] != '-' || !sync_proto__digits(s + 5, 2) || s[7] != '-' ||
        !sync_proto__digits(s + 8, 2))
        return false;
    int y = sync_proto__num(s, 4), m = sync_proto__num(s + 5, 2), d = sync_proto__num(s + 8, 2);
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || m < 1 || m > 12 || d < 1) return false;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

bool sync_valid_date(const char *s)
{
    return s && strlen(s) == 10 && sync_proto__valid_date_n(s);
}

static bool sync_proto__valid_hhmm_n(const char *s)
{
    return sync_proto__digits(s, 2) && s[2] == ':' && sync_proto__digits(s + 3, 2) &&
           sync_proto__num(s, 2) < 24 && sync_proto__num(s + 3, 2) < 60;
}

bool sync_valid_hhmm(const char *s)
{
    return s && strlen(s) == 5 && sync_proto__valid_hhmm_n(s);
}

bool sync_valid_rfc3339(const char *s)
{
    if (!s || strlen(s) < 20 || !sync_proto__valid_date_n(s) || (s[10] != 'T' && s[10] != 't') ||
        !sync_proto__valid_hhmm_n(s + 11) || s[16] != ':' || !sync_proto__digits(s + 17, 2) ||
        sync_proto__num(s + 17, 2) > 60)
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == 0) return true;
    return (*p == '+' || *p == '-') && strlen(p + 1) == 5 && sync_proto__valid_hhmm_n(p + 1);
}

bool sync_valid_record_type(const char *s)
{
    return s && (!strcmp(s, "ticket") || !strcmp(s, "evaluation") || !strcmp(s, "event"));
}

/* Valid UTF-8 without control characters (what a person may read). */
static bool sync_proto__valid_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x20 || *p == 0x7F) return false;
        if (*p < 0x80) {
            p++;
            continue;
        }
        int n = (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0 || (*p == 0xC0 || *p == 0xC1) || *p > 0xF4) return false;
        for (int i = 1; i <= n; i++)
            if ((p[i] & 0xC0) != 0x80) return false;
        p += n + 1;
    }
    return true;
}

/* ---- a strict JSON syntax check that builds nothing ---- */

#define SYNC_JSON_MAX_DEPTH 64

static const char *sync_proto__ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *sync_proto__json_string(const char *p)
{
    if (*p++ != '"') return NULL;
    for (;;) {
        unsigned char c = (unsigned char)*p++;
        if (c == '"') return p;
        if (c < 0x20) return NULL; /* the NUL included: unterminated */
        if (c != '\\') continue;
        c = (unsigned char)*p++;
        if (c == 'u') {
            for (int i = 0; i < 4; i++, p++)
                if (!isxdigit((unsigned char)*p)) return NULL;
        } else if (!strchr("\"\\/bfnrt", c) || !c) {
            return NULL;
        }
    }
}

static const char *sync_proto__json_number(const char *p)
{
    if (*p == '-') p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (isdigit((unsigned char)*p))
            p++;
    else
        return NULL;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p)) return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return p;
}

/* One JSON value at p (no leading space); returns the end, NULL if bad. */
static const char *sync_proto__json_value(const char *p, int depth)
{
    if (depth > SYNC_JSON_MAX_DEPTH) return NULL;
    if (*p == '"') return sync_proto__json_string(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool obj = *p == '{';
        p = sync_proto__ws(p + 1);
        if (*p == close) return p + 1;
        for (;;) {
            if (obj) {
                if (!(p = sync_proto__json_string(p))) return NULL;
                p = sync_proto__ws(p);
                if (*p++ != ':') return NULL;
                p = sync_proto__ws(p);
            }
            if (!(p = sync_proto__json_value(p, depth + 1))) return NULL;
            p = sync_proto__ws(p);
            if (*p == close) return p + 1;
            if (*p++ != ',') return NULL;
            p = sync_proto__ws(p);
        }
    }
    if (!strncmp(p, "true", 4)) return p + 4;
    if (!strncmp(p, "false", 5)) return p + 5;
    if (!strncmp(p, "null", 4)) return p + 4;
    return sync_proto__json_number(p);
}

/* ---- records batch ---- */

static int sync_proto__record_json(struct hq_text *b, const struct sync_record *r, int64_t prev_seq)
{
    if (r->seq <= 0 || r->seq <= prev_seq || !r->uuid || !*r->uuid || !r->at ||
        !sync_valid_record_type(r->type) || !sync_valid_rfc3339(r->at) || !r->data)
        return HQ_ERR_INVALID;
    /* The data goes out as stored, byte for byte, once it is checked to be
     * one JSON object: no parse into a tree and print back (which cost more
     * than everything else of a batch, and could only lose precision). */
    const char *text = sync_proto__ws(r->data), *end = NULL;
    if (*text != '{' || !(end = sync_proto__json_value(text, 0)) || *sync_proto__ws(end))
        return HQ_ERR_INVALID;
    char seq[48];
    snprintf(seq, sizeof seq, "{\"seq\":%lld,\"uuid\":", (long long)r->seq);
    sync_proto__puts(b, seq);
    sync_proto__put_json_str(b, r->uuid);
    sync_proto__puts(b, ",\"type\":");
    sync_proto__put_json_str(b, r->type);
    sync_proto__puts(b, ",\"at\":");
    sync_proto__put_json_str(b, r->at);
    sync_proto__puts(b, ",\"data\":");
    hq_text_put(b, text, (size_t)(end - text));
    sync_proto__puts(b, "}");
    return b->oom ? HQ_ERR_NOMEM : HQ_OK;
}

int sync_batch_build(const char *hall_id, int64_t gone_through, const struct sync_record *recs,
                     size_t n, size_t max_records, size_t max_bytes, struct sync_batch *out,
                     size_t *bad)
{
    struct hq_text b = {0}, one = {0};
    int rc = HQ_OK;
    size_t i = 0;
    memset(out, 0, sizeof *out);
    if (bad) *bad = 0;
    if (!hall_id || !*hall_id || strlen(hall_id) > SYNC_HALL_ID_MAX || !n) return HQ_ERR_INVALID;
    if (gone_through < 0 || gone_through >= recs[0].seq) return HQ_ERR_INVALID;
    if (!max_records || max_records > SYNC_BATCH_MAX_RECORDS) max_records = SYNC_BATCH_MAX_RECORDS;
    if (!max_bytes || max_bytes > SYNC_BATCH_MAX_BYTES) max_bytes = SYNC_BATCH_MAX_BYTES;

    sync_proto__puts(&b, "{\"hall_id\":");
    sync_proto__put_json_str(&b, hall_id);
    if (gone_through > 0) {
        char g[48];
        snprintf(g, sizeof g, ",\"gone_through\":%lld", (long long)gone_through);
        sync_proto__puts(&b, g);
    }
    sync_proto__puts(&b, ",\"records\":[");
    const size_t tail = 2; /* "]}" */
    int64_t prev = 0;
    for (i = 0; i < n && i < max_records; i++) {
        one.len = 0;
        rc = sync_proto__record_json(&one, &recs[i], prev);
        if (rc) goto fail;
        size_t need = b.len + (i ? 1 : 0) + one.len + tail;
        if (need > max_bytes) {
            if (i == 0) {
                rc = HQ_ERR_LIMIT;
                goto fail;
            }
            break;
        }
        if (i) hq_text_put(&b, ",", 1);
        hq_text_put(&b, one.p, one.len);
        prev = recs[i].seq;
    }
    sync_proto__puts(&b, "]}");
    if (b.oom) {
        rc = HQ_ERR_NOMEM;
        goto fail;
    }
    free(one.p);
    out->body = b.p;
    out->len = b.len;
    out->count = i;
    out->first_seq = recs[0].seq;
    out->last_seq = recs[i - 1].seq;
    return HQ_OK;
fail:
    if (bad) *bad = i;
    free(one.p);
    free(b.p);
    return rc;
}

void sync_batch_free(struct sync_batch *b)
{
    free(b->body);
    memset(b, 0, sizeof *b);
}

/* ---- acknowledgement ---- */

/* Parse a whole JSON document of len bytes; trailing non-space is an error. */
static cJSON *sync_proto__parse_doc(const char *body, size_t len)
{
    const char *end = NULL;
    if (!body || !len) return NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!j) return NULL;
    for (const char *p = end; p && p < body + len; p++) {
        if (*p == 0 && p == body + len - 1) break;
        if (!isspace((unsigned char)*p)) {
            cJSON_Delete(j);
            return NULL;
        }
    }
    return j;
}

/* A JSON number that is a whole number, 0 .. 2^53. */
static bool sync_proto__json_uint(const cJSON *n, int64_t *v)
{
    if (!cJSON_IsNumber(n)) return false;
    double d = n->valuedouble;
    if (!isfinite(d) || d < 0 || d > 9007199254740992.0 || floor(d) != d) return false;
    *v = (int64_t)d;
    return true;
}

int sync_ack_parse(const char *body, size_t len, int64_t sent_through, int64_t *acked)
{
    int64_t v;
    cJSON *j = sync_proto__parse_doc(body, len);
    int ok = cJSON_IsObject(j) &&
             sync_proto__json_uint(cJSON_GetObjectItemCaseSensitive(j, "acked_through"), &v) &&
             v <= sent_through;
    cJSON_Delete(j);
    if (!ok) {
        LOG_WARN("SYNC", "bad acknowledgement from the central server (%zu bytes)", len);
        return HQ_ERR_PROTO;
    }
    *acked = v;
    return HQ_OK;
}

size_t sync_ack_build(int64_t acked_through, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "{\"acked_through\":%lld}", (long long)acked_through);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap ? cap - 1 : 0;
}

/* ---- appointments ---- */

static const char *const sync_proto__status_names[SYNC_APPT__COUNT] = {
    [SYNC_APPT_BOOKED] = "booked",
    [SYNC_APPT_CANCELLED] = "cancelled",
    [SYNC_APPT_CHECKED_IN] = "checked_in",
};

const char *sync_appt_status_name(enum sync_appt_status s)
{
    return (unsigned)s < SYNC_APPT__COUNT ? sync_proto__status_names[s] : "unknown";
}

/* Copy string member key into dst (max bytes). A missing or null optional
 * member gives "". */
static bool sync_proto__member(const cJSON *o, const char *key, char *dst, size_t max,
                               bool required)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);
    dst[0] = 0;
    if (!m || cJSON_IsNull(m)) return !required;
    if (!cJSON_IsString(m) || !m->valuestring) return false;
    size_t n = strlen(m->valuestring);
    if (n > max || (required && n == 0) || !sync_proto__valid_text(m->valuestring)) return false;
    memcpy(dst, m->valuestring, n + 1);
    return true;
}

static const char *sync_proto__appt(const cJSON *o, struct sync_appointment *a)
{
    char status[16];
    if (!cJSON_IsObject(o)) return "appointment is not an object";
    if (!sync_proto__member(o, "id", a->id, SYNC_APPT_ID_MAX, true)) return "bad id";
    if (!sync_proto__member(o, "service", a->service, SYNC_APPT_SERVICE_MAX, true))
        return "bad service";
    if (!sync_proto__member(o, "date", a->date, 10, true) || !sync_valid_date(a->date))
        return "bad date";
    if (!sync_proto__member(o, "slot_start", a->slot_start, 5, true) ||
        !sync_valid_hhmm(a->slot_start) ||
        !sync_proto__member(o, "slot_end", a->slot_end, 5, true) || !sync_valid_hhmm(a->slot_end) ||
        strcmp(a->slot_start, a->slot_end) >= 0)
        return "bad slot";
    if (!sync_proto__member(o, "id_hash", a->id_hash, SYNC_ID_HASH_LEN, false))
        return "bad id_hash";
    if (a->id_hash[0]) {
        if (strlen(a->id_hash) != SYNC_ID_HASH_LEN) return "bad id_hash";
        for (char *p = a->id_hash; *p; p++) {
            if (!isxdigit((unsigned char)*p)) return "bad id_hash";
            *p = (char)tolower((unsigned char)*p);
        }
    }
    if (!sync_proto__member(o, "booking_code", a->booking_code, SYNC_APPT_BOOKING_MAX, false))
        return "bad booking_code";
    for (const char *p = a->booking_code; *p; p++)
        if (!isgraph((unsigned char)*p)) return "bad booking_code";
    if (!a->id_hash[0] && !a->booking_code[0]) return "neither id_hash nor booking_code";
    if (!sync_proto__member(o, "name_masked", a->name_masked, SYNC_APPT_NAME_MAX, false))
        return "bad name_masked";
    if (!sync_proto__member(o, "status", status, sizeof status - 1, true)) return "bad status";
    for (int s = 0; s < SYNC_APPT__COUNT; s++) {
        if (!strcmp(status, sync_proto__status_names[s])) {
            a->status = (enum sync_appt_status)s;
            return NULL;
        }
    }
    return "bad status";
}

int sync_appointments_parse(const char *body, size_t len, struct sync_appointments *out,
                            const char **why)
{
    const char *reason = NULL;
    int rc = HQ_ERR_PROTO;
    memset(out, 0, sizeof *out);
    cJSON *j = sync_proto__parse_doc(body, len);
    if (!cJSON_IsObject(j)) {
        reason = "not a JSON object";
        goto fail;
    }
    if (!sync_proto__member(j, "cursor", out->cursor, SYNC_CURSOR_MAX, false)) {
        reason = "bad cursor";
        goto fail;
    }
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "appointments");
    if (!cJSON_IsArray(list)) {
        reason = "appointments is not an array";
        goto fail;
    }
    int n = cJSON_GetArraySize(list);
    if (n > SYNC_APPT_MAX_COUNT) {
        reason = "too many appointments";
        goto fail;
    }
    if (n) {
        out->items = calloc((size_t)n, sizeof *out->items);
        if (!out->items) {
            rc = HQ_ERR_NOMEM;
            goto fail;
        }
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
    {
        reason = sync_proto__appt(it, &out->items[out->count]);
        if (reason) goto fail;
        out->count++;
    }
    cJSON_Delete(j);
    return HQ_OK;
fail:
    if (reason) LOG_WARN("SYNC", "appointments answer rejected: %s", reason);
    if (why) *why = reason ? reason : hq_strerror(rc);
    cJSON_Delete(j);
    sync_appointments_free(out);
    return rc;
}

void sync_appointments_free(struct sync_appointments *a)
{
    free(a->items);
    a->items = NULL;
    a->count = 0;
}

/* ---- retry policy ---- */

enum sync_outcome sync_classify_status(long http_status)
{
    if (http_status >= 200 && http_status < 300) return SYNC_OUTCOME_OK;
    if (http_status == 0 || http_status == 408 || http_status == 429 ||
        (http_status >= 500 && http_status < 600))
        return SYNC_OUTCOME_RETRY;
    /* 4xx: token, URL or data is wrong; 1xx/3xx: the base URL is wrong.
     * Retrying fast will not fix it, dropping would lose records. */
    return SYNC_OUTCOME_ALARM;
}

uint32_t sync_backoff_ms(enum sync_outcome outcome, unsigned attempt, uint32_t rnd)
{
    uint32_t base = SYNC_BACKOFF_MAX_MS;
    if (outcome != SYNC_OUTCOME_ALARM && attempt < 32) {
        uint64_t b = (uint64_t)SYNC_BACKOFF_MIN_MS << attempt;
        if (b < SYNC_BACKOFF_MAX_MS) base = (uint32_t)b;
    }
    /* Jitter of a quarter, kept inside the protocol's 1 s … 5 min: above the
     * doubling step while it grows, below the ceiling once it is reached. */
    uint32_t span = base / 4, lo = base;
    if (base >= SYNC_BACKOFF_MAX_MS)
        lo = SYNC_BACKOFF_MAX_MS - span;
    else if (base + span > SYNC_BACKOFF_MAX_MS)
        span = SYNC_BACKOFF_MAX_MS - base;
    return lo + rnd % (span + 1);
}
