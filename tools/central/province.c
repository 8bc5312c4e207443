/*
 * province.c — hallq-central forwards evaluation records to the provincial
 * 好差评 platform (docs/PROVINCE.md). The record's shape on the platform side
 * is configuration: a JSON file names the endpoint and, per output field,
 * where its value comes from and how it is encoded, so a province with other
 * field names or codes needs a new file, not new code.
 *
 * State lives in the database (province_forward, queued by a trigger as each
 * evaluation is stored). A worker claims one due row at a time — on
 * PostgreSQL with SELECT … FOR UPDATE SKIP LOCKED on its own connection,
 * holding the row lock while it posts, so any number of workers in any
 * number of processes never post one evaluation at once; on SQLite (one
 * process) there is one worker and the claim is that thread. A 2xx marks the
 * row sent in the same transaction; anything else puts it back with an
 * exponential back-off. A worker killed mid-post leaves the row unsent and it
 * is posted again: the platform sees the evaluation id (field and
 * Idempotency-Key header) twice and keeps one — the reference receiver does.
 */
#include "central.h"

#include "hq.h"

#include <curl/curl.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef HQ_HAVE_PG
#include <libpq-fe.h>
#endif

#define PROVINCE_WORKERS_MAX 8

struct central_province {
    struct central *c;
    char *path;
    cJSON *cfg;           /* the whole file, kept: fields point into it */
    const char *endpoint; /* from cfg */
    char *token;          /* from token_file, or NULL */
    double first_s, max_s, timeout_s, alarm_after_s;
    const char *pg; /* conninfo, or NULL for SQLite */
    int nworkers;
    pthread_t th[PROVINCE_WORKERS_MAX];
    volatile int stop;
    int behind; /* last alarm state logged */
    uint64_t sent, failed;
};

static double province__num(const cJSON *o, const char *k, double dflt, double lo, double hi,
                            const char *path, char *err, size_t errlen, bool *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) return dflt;
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi) {
        snprintf(err, errlen, "%s: $.%s: must be a number from %g to %g", path, k, lo, hi);
        *bad = true;
    }
    return v->valuedouble;
}

/* Check one field spec; NULL when good, else why not. */
static const char *province__check_field(const cJSON *f)
{
    if (!cJSON_IsObject(f)) return "must be an object";
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(f, "from");
    const cJSON *cst = cJSON_GetObjectItemCaseSensitive(f, "const");
    if (!from == !cst) return "needs exactly one of \"from\" and \"const\"";
    if (from && !cJSON_IsString(from) && !cJSON_IsArray(from))
        return "\"from\" must be a field name of the record's data (or @hall_id, @seq, @uuid, "
               "@at), or a list of them (the first present is taken)";
    for (const cJSON *e = cJSON_IsArray(from) ? from->child : from; e;
         e = cJSON_IsArray(from) ? e->next : NULL)
        if (!cJSON_IsString(e) || !*e->valuestring)
            return "\"from\" must name fields: non-empty strings";
    if (cJSON_IsArray(from) && !from->child) return "\"from\" is an empty list";
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(f, "map");
    if (map && !cJSON_IsObject(map)) return "\"map\" must be an object (value as text -> code)";
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(f, "format");
    if (fmt && (!cJSON_IsString(fmt) ||
                (strcmp(fmt->valuestring, "string") && strcmp(fmt->valuestring, "number") &&
                 strcmp(fmt->valuestring, "datetime"))))
        return "\"format\" must be \"string\", \"number\" or \"datetime\"";
    const cJSON *join = cJSON_GetObjectItemCaseSensitive(f, "join");
    if (join && !cJSON_IsString(join)) return "\"join\" must be a string (the separator)";
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(f, "optional");
    if (opt && !cJSON_IsBool(opt)) return "\"optional\" must be true or false";
    for (const cJSON *k = f->child; k; k = k->next)
        if (strcmp(k->string, "from") && strcmp(k->string, "const") && strcmp(k->string, "map") &&
            strcmp(k->string, "format") && strcmp(k->string, "join") &&
            strcmp(k->string, "optional") && strcmp(k->string, "default") &&
            strcmp(k->string, "comment") && strcmp(k->string, "sealed"))
            return "unknown key (from, const, map, default, format, join, optional, sealed, "
                   "comment)";
    const cJSON *sealed = cJSON_GetObjectItemCaseSensitive(f, "sealed");
    if (sealed && !cJSON_IsBool(sealed)) return "\"sealed\" must be true or false";
    if (cJSON_IsTrue(sealed) && (map || fmt || join || !from))
        return "a \"sealed\" field is passed through as it is: \"from\" only, no map, format "
               "or join";
    return NULL;
}

int central_province_load(const char *path, struct central_province **out, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "%s: libsodium cannot start", path);
        return HQ_ERR_CONFIG;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s: cannot open", path);
        return HQ_ERR_CONFIG;
    }
    char *text = malloc(1 << 20);
    size_t n = text ? fread(text, 1, (1 << 20) - 1, fp) : 0;
    fclose(fp);
    if (!text) return HQ_ERR_NOMEM;
    text[n] = 0;
    cJSON *cfg = cJSON_Parse(text);
    free(text);
    if (!cfg || !cJSON_IsObject(cfg)) {
        snprintf(err, errlen, "%s: $: not a JSON object", path);
        cJSON_Delete(cfg);
        return HQ_ERR_CONFIG;
    }
    struct central_province *p = calloc(1, sizeof *p);
    if (!p) {
        cJSON_Delete(cfg);
        return HQ_ERR_NOMEM;
    }
    p->cfg = cfg;
    p->path = strdup(path);
    bool bad = false;
    const char *ep = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cfg, "endpoint"));
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(cfg, "fields");
    const cJSON *retry = cJSON_GetObjectItemCaseSensitive(cfg, "retry");
    const char *tf = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cfg, "token_file"));
    if (!ep || (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8))) {
        snprintf(err, errlen, "%s: $.endpoint: must be an http:// or https:// URL", path);
        bad = true;
    } else if (!cJSON_IsObject(fields) || !fields->child) {
        snprintf(err, errlen, "%s: $.fields: must be an object of output fields", path);
        bad = true;
    } else if (retry && !cJSON_IsObject(retry)) {
        snprintf(err, errlen, "%s: $.retry: must be an object {first_s, max_s}", path);
        bad = true;
    }
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(cfg, "accept");
    if (!bad && acc &&
        (!cJSON_IsObject(acc) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(acc, "field")) ||
         !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(acc, "values")) ||
         !cJSON_GetObjectItemCaseSensitive(acc, "values")->child)) {
        snprintf(err, errlen,
                 "%s: $.accept: must be {\"field\": NAME, \"values\": [accepted values, ...]}",
                 path);
        bad = true;
    }
    for (const cJSON *f = fields ? fields->child : NULL; f && !bad; f = f->next) {
        const char *why = province__check_field(f);
        if (why) {
            snprintf(err, errlen, "%s: $.fields.%s: %s", path, f->string, why);
            bad = true;
        }
    }
    p->endpoint = ep;
    if (!bad) p->first_s = province__num(retry, "first_s", 1, 0.01, 3600, path, err, errlen, &bad);
    if (!bad) p->max_s = province__num(retry, "max_s", 300, 0.01, 86400, path, err, errlen, &bad);
    if (!bad) p->timeout_s = province__num(cfg, "timeout_s", 10, 0.1, 600, path, err, errlen, &bad);
    if (!bad)
        p->alarm_after_s =
            province__num(cfg, "alarm_after_s", 600, 0, 86400 * 30, path, err, errlen, &bad);
    if (!bad)
        p->nworkers =
            (int)province__num(cfg, "workers", 1, 1, PROVINCE_WORKERS_MAX, path, err, errlen, &bad);
    if (!bad && tf) {
        FILE *t = fopen(tf, "rb");
        char buf[512] = "";
        if (!t || !fgets(buf, sizeof buf, t)) {
            snprintf(err, errlen, "%s: $.token_file: cannot read %s", path, tf);
            bad = true;
        } else {
            buf[strcspn(buf, "\r\n")] = 0;
            p->token = strdup(buf);
        }
        if (t) fclose(t);
    }
    if (bad) {
        central_province_free(p);
        return HQ_ERR_CONFIG;
    }
    *out = p;
    return HQ_OK;
}

void central_province_free(struct central_province *p)
{
    if (!p) return;
    cJSON_Delete(p->cfg);
    free(p->token);
    free(p->path);
    free(p);
}

/* The text a value is looked up by in a "map": strings as they are, integers without
 * a fraction, true/false. */
static void province__key(const cJSON *v, char *out, size_t cap)
{
    if (cJSON_IsString(v))
        snprintf(out, cap, "%s", v->valuestring);
    else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble))
        snprintf(out, cap, "%.0f", v->valuedouble);
    else if (cJSON_IsNumber(v))
        snprintf(out, cap, "%g", v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(out, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else
        out[0] = 0;
}

/* One scalar through map and format; NULL (with err) when it cannot be encoded. */
static cJSON *province__scalar(const cJSON *spec, const cJSON *v, const char *name, char *err,
                               size_t errlen)
{
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(spec, "map");
    const char *fmt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "format"));
    char key[256];
    province__key(v, key, sizeof key);
    if (map) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(map, key);
        if (!m) m = cJSON_GetObjectItemCaseSensitive(spec, "default");
        if (!m) {
            snprintf(err, errlen, "field %s: value \"%s\" has no code in the map", name, key);
            return NULL;
        }
        v = m;
        province__key(v, key, sizeof key);
    }
    if (!fmt) return cJSON_Duplicate(v, true);
    if (!strcmp(fmt, "string")) return cJSON_CreateString(key);
    if (!strcmp(fmt, "number")) {
        char *end = NULL;
        double d = strtod(key, &end);
        if (!*key || *end) {
            snprintf(err, errlen, "field %s: \"%s\" is not a number", name, key);
            return NULL;
        }
        return cJSON_CreateNumber(d);
    }
    /* datetime: RFC 3339 as sent (the hall's local time) -> "YYYY-MM-DD HH:MM:SS". */
    if (strlen(key) < 19 || key[10] != 'T') {
        snprintf(err, errlen, "field %s: \"%s\" is not an RFC 3339 time", name, key);
        return NULL;
    }
    key[10] = ' ';
    key[19] = 0;
    return cJSON_CreateString(key);
}

/* The value of a "from" source: @hall_id, @seq, @uuid, @at or a field of data. */
static cJSON *province__source(const char *from, const char *hall, const char *seq,
                               const char *uuid, const char *at, const cJSON *data)
{
    if (!strcmp(from, "@hall_id")) return cJSON_CreateString(hall);
    if (!strcmp(from, "@seq")) return cJSON_CreateNumber(strtod(seq, NULL));
    if (!strcmp(from, "@uuid")) return cJSON_CreateString(uuid);
    if (!strcmp(from, "@at")) return cJSON_CreateString(at);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, from);
    return v && !cJSON_IsNull(v) ? cJSON_Duplicate(v, true) : NULL;
}

char *central_province_map(const struct central_province *p, const char *hall, const char *seq,
                           const char *uuid, const char *at, const char *data_text, char *err,
                           size_t errlen)
{
    cJSON *data = cJSON_Parse(data_text);
    if (!cJSON_IsObject(data)) {
        snprintf(err, errlen, "the record's data is not a JSON object");
        cJSON_Delete(data);
        return NULL;
    }
    cJSON *out = cJSON_CreateObject();
    bool bad = false;
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(p->cfg, "fields");
    for (const cJSON *f = fields->child; f && !bad; f = f->next) {
        const cJSON *cst = cJSON_GetObjectItemCaseSensitive(f, "const");
        if (cst) {
            cJSON_AddItemToObject(out, f->string, cJSON_Duplicate(cst, true));
            continue;
        }
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(f, "from");
        const char *from = cJSON_IsArray(fr) ? fr->child->valuestring : fr->valuestring;
        cJSON *v = NULL;
        for (const cJSON *e = cJSON_IsArray(fr) ? fr->child : fr; e && !v;
             e = cJSON_IsArray(fr) ? e->next : NULL)
            v = province__source(e->valuestring, hall, seq, uuid, at, data);
        if (!v) {
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(f, "default");
            if (d && !cJSON_GetObjectItemCaseSensitive(f, "map")) {
                cJSON_AddItemToObject(out, f->string, cJSON_Duplicate(d, true));
            } else if (d) {
                cJSON *x = province__scalar(f, d, f->string, err, errlen);
                if (!x)
                    bad = true;
                else
                    cJSON_AddItemToObject(out, f->string, x);
            } else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "optional"))) {
                snprintf(err, errlen, "field %s: the record has no %s", f->string, from);
                bad = true;
            }
            continue;
        }
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "sealed"))) {
            /* An ID number sealed on the box to the platform's public key (crypto_box_seal):
             * passed through unopened. Anything else (a number in clear above all) is held
             * back, and the message never repeats the value. */
            unsigned char bin[256];
            size_t blen = 0;
            const char *t = cJSON_GetStringValue(v);
            if (!t ||
                sodium_base642bin(bin, sizeof bin, t, strlen(t), NULL, &blen, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) ||
                blen < crypto_box_SEALBYTES + 15 || blen > crypto_box_SEALBYTES + 18) {
                snprintf(err, errlen,
                         "field %s: %s is not a sealed ID number (base64 of crypto_box_seal); "
                         "the record is held back",
                         f->string, from);
                sodium_memzero(bin, sizeof bin);
                cJSON_Delete(v);
                bad = true;
                break;
            }
            cJSON_AddItemToObject(out, f->string, v);
            continue;
        }
        cJSON *enc;
        if (cJSON_IsArray(v)) {
            enc = cJSON_CreateArray();
            for (const cJSON *e = v->child; e && !bad; e = e->next) {
                cJSON *x = province__scalar(f, e, f->string, err, errlen);
                if (!x)
                    bad = true;
                else
                    cJSON_AddItemToArray(enc, x);
            }
            const char *join = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "join"));
            if (join && !bad) {
                size_t cap = 16, len = 0;
                char *s = calloc(1, cap);
                for (const cJSON *e = enc->child; e && s; e = e->next) {
                    char k[256];
                    province__key(e, k, sizeof k);
                    size_t need = len + strlen(k) + strlen(join) + 1;
                    if (need > cap) {
                        char *ns = realloc(s, cap = need * 2);
                        if (!ns) {
                            free(s);
                            s = NULL;
                            break;
                        }
                        s = ns;
                    }
                    len += (size_t)sprintf(s + len, "%s%s", e == enc->child ? "" : join, k);
                }
                cJSON_Delete(enc);
                enc = cJSON_CreateString(s ? s : "");
                free(s);
            }
        } else {
            enc = province__scalar(f, v, f->string, err, errlen);
            if (!enc) bad = true;
        }
        cJSON_Delete(v);
        if (bad) {
            cJSON_Delete(enc);
            break;
        }
        cJSON_AddItemToObject(out, f->string, enc);
    }
    cJSON_Delete(data);
    char *s = bad ? NULL : cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return s;
}

static int64_t province__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Exponential back-off with ±25 % jitter, capped. */
static int64_t province__backoff_ms(const struct central_province *p, int attempts)
{
    double d = p->first_s * pow(2, attempts > 30 ? 30 : attempts);
    if (d > p->max_s) d = p->max_s;
    d *= 0.75 + 0.5 * ((double)rand() / RAND_MAX);
    return (int64_t)(d * 1000);
}

/* One claimed row. */
struct province__row {
    char hall[72], uuid[72], seq[24], at[48];
    int attempts;
    char *data;
};

/* The answer's body, kept up to 4 KiB (for the accept rule and the log). */
struct province__answer {
    char buf[4096];
    size_t len;
};

static size_t province__keep(char *ptr, size_t size, size_t n, void *ud)
{
    struct province__answer *a = ud;
    size_t take = size * n;
    if (take > sizeof a->buf - 1 - a->len) take = sizeof a->buf - 1 - a->len;
    memcpy(a->buf + a->len, ptr, take);
    a->len += take;
    a->buf[a->len] = 0;
    return size * n;
}

/* Whether a 2xx answer's body says accepted: without an "accept" rule any 2xx is; with
 * one, the body's field must hold one of the listed values (platforms that answer 200
 * with {"code": "500", "msg": …}). */
static bool province__accepted(const struct central_province *p, const char *body, char *err,
                               size_t errlen)
{
    const cJSON *rule = cJSON_GetObjectItemCaseSensitive(p->cfg, "accept");
    if (!rule) return true;
    const char *field = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rule, "field"));
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(rule, "values");
    cJSON *ans = cJSON_Parse(body);
    char got[256] = "";
    province__key(cJSON_GetObjectItemCaseSensitive(ans, field), got, sizeof got);
    bool ok = false;
    for (const cJSON *v = values->child; v && !ok; v = v->next) {
        char want[256];
        province__key(v, want, sizeof want);
        ok = got[0] && !strcmp(got, want);
    }
    cJSON_Delete(ans);
    if (!ok)
        snprintf(err, errlen, "the platform answered 2xx but %s = \"%s\": %.200s", field, got,
                 body);
    return ok;
}

/* POST one body: true when the platform accepted it; *status the HTTP status (0 when no
 * answer came), err why not. */
static bool province__post(struct central_province *p, CURL *h, const char *uuid, const char *body,
                           long *status, char *err, size_t errlen)
{
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    char line[600];
    snprintf(line, sizeof line, "Idempotency-Key: %s", uuid);
    hd = curl_slist_append(hd, line);
    if (p->token) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", p->token);
        hd = curl_slist_append(hd, line);
    }
    char cerr[CURL_ERROR_SIZE] = "";
    struct province__answer *ans = calloc(1, sizeof *ans);
    if (!ans) {
        curl_slist_free_all(hd);
        snprintf(err, errlen, "out of memory");
        return false;
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, p->endpoint);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(p->timeout_s * 1000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, province__keep);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, ans);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    *status = 0;
    bool ok = false;
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    else
        snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
    if (rc == CURLE_OK && (*status < 200 || *status > 299))
        snprintf(err, errlen, "the platform answered HTTP %ld: %.200s", *status, ans->buf);
    else if (rc == CURLE_OK)
        ok = province__accepted(p, ans->buf, err, errlen);
    free(ans);
    curl_slist_free_all(hd);
    return ok;
}

/* ---- the claim: SQLite (one process, one worker) ---- */

static int province__row_cb(void *ctx, int ncol, const char *const *v)
{
    struct province__row *r = ctx;
    if (ncol < 6) return 1;
    snprintf(r->hall, sizeof r->hall, "%s", v[0] ? v[0] : "");
    snprintf(r->uuid, sizeof r->uuid, "%s", v[1] ? v[1] : "");
    snprintf(r->seq, sizeof r->seq, "%s", v[2] ? v[2] : "0");
    r->attempts = v[3] ? atoi(v[3]) : 0;
    snprintf(r->at, sizeof r->at, "%s", v[4] ? v[4] : "");
    r->data = strdup(v[5] ? v[5] : "{}");
    return 1;
}

static const char province__due_sql[] =
    "SELECT f.hall_id, f.uuid, f.seq, f.attempts, r.at, %s FROM province_forward f JOIN records r"
    " ON r.hall_id = f.hall_id AND r.uuid = f.uuid WHERE f.sent_at IS NULL AND f.next_at <= $1"
    " ORDER BY f.next_at, f.hall_id, f.seq LIMIT 1%s";
static const char province__done_sql[] =
    "UPDATE province_forward SET attempts = attempts + 1, sent_at = $3, worker = $4,"
    " last_status = $5, last_error = $6, next_at = $7 WHERE hall_id = $1 AND uuid = $2";

static void province__params(const struct province__row *r, int64_t sent, const char *worker,
                             long status, const char *error, int64_t next, char buf[4][24],
                             const char *pv[7])
{
    snprintf(buf[0], 24, "%lld", (long long)sent);
    snprintf(buf[1], 24, "%ld", status);
    snprintf(buf[2], 24, "%lld", (long long)next);
    pv[0] = r->hall;
    pv[1] = r->uuid;
    pv[2] = sent ? buf[0] : NULL;
    pv[3] = worker;
    pv[4] = buf[1];
    pv[5] = error;
    pv[6] = buf[2];
}

/* Map, post, and the outcome as the row's new state. */
static void province__deliver(struct central_province *p, CURL *h, struct province__row *r,
                              const char *worker, int64_t *sent, long *status, char *err,
                              size_t errlen, int64_t *next)
{
    char *body = central_province_map(p, r->hall, r->seq, r->uuid, r->at, r->data, err, errlen);
    *status = 0;
    *sent = 0;
    bool ok = false;
    /* The Idempotency-Key is the evaluation's own uuid (data.uuid: one per case, version 2),
     * else the record's. */
    char key[72];
    cJSON *d = cJSON_Parse(r->data);
    const char *du = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "uuid"));
    snprintf(key, sizeof key, "%s", du && *du && strlen(du) < sizeof key ? du : r->uuid);
    cJSON_Delete(d);
    if (body) {
        ok = province__post(p, h, key, body, status, err, errlen);
        free(body);
    }
    if (ok) {
        *sent = province__now_ms();
        *next = 0;
        __atomic_add_fetch(&p->sent, 1, __ATOMIC_RELAXED);
        LOG_INFO("PROVINCE", "evaluation %s of hall %s delivered by %s", r->uuid, r->hall, worker);
    } else {
        /* A record the mapping cannot encode waits the longest: only a new mapping file
         * helps, and it is never dropped. */
        *next = province__now_ms() +
                (body ? province__backoff_ms(p, r->attempts) : (int64_t)(p->max_s * 1000));
        __atomic_add_fetch(&p->failed, 1, __ATOMIC_RELAXED);
        LOG_WARN("PROVINCE", "evaluation %s of hall %s not delivered (try %d): %s", r->uuid,
                 r->hall, r->attempts + 1, err);
    }
}

struct province__worker {
    struct central_province *p;
    int n;
};

static void province__nap(struct central_province *p, int ms)
{
    for (int i = 0; i < ms / 50 && !p->stop; i++)
        usleep(50000);
}

static void province__run_sqlite(struct central_province *p, CURL *h, const char *worker)
{
    struct central *c = p->c;
    char sql[512];
    snprintf(sql, sizeof sql, province__due_sql, "r.data", "");
    while (!p->stop) {
        struct province__row r = {0};
        char now[24], err[300] = "";
        snprintf(now, sizeof now, "%lld", (long long)province__now_ms());
        const char *pv[1] = {now};
        if (c->store->query(c, sql, 1, pv, province__row_cb, &r, err, sizeof err) || !r.data) {
            province__nap(p, 200);
            continue;
        }
        int64_t sent, next;
        long status;
        province__deliver(p, h, &r, worker, &sent, &status, err, sizeof err, &next);
        char buf[4][24];
        const char *dp[7];
        province__params(&r, sent, worker, status, sent ? NULL : err, next, buf, dp);
        if (c->store->query(c, province__done_sql, 7, dp, NULL, NULL, err, sizeof err))
            LOG_ERR("PROVINCE", "cannot record the outcome of %s: %s", r.uuid, err);
        free(r.data);
    }
}

#ifdef HQ_HAVE_PG
static bool province__pg_cmd(PGconn *db, const char *sql)
{
    PGresult *res = PQexec(db, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

static void province__run_pg(struct central_province *p, CURL *h, const char *worker)
{
    char sql[512];
    snprintf(sql, sizeof sql, province__due_sql, "r.data::text", " FOR UPDATE OF f SKIP LOCKED");
    PGconn *db = NULL;
    while (!p->stop) {
        if (!db || PQstatus(db) != CONNECTION_OK) {
            PQfinish(db);
            db = PQconnectdb(p->pg);
            if (PQstatus(db) != CONNECTION_OK) {
                LOG_WARN("PROVINCE", "cannot connect to PostgreSQL: %s", PQerrorMessage(db));
                province__nap(p, 1000);
                continue;
            }
        }
        if (!province__pg_cmd(db, "BEGIN")) {
            PQfinish(db);
            db = NULL;
            continue;
        }
        char now[24], err[300] = "";
        snprintf(now, sizeof now, "%lld", (long long)province__now_ms());
        const char *pv[1] = {now};
        PGresult *res = PQexecParams(db, sql, 1, NULL, pv, NULL, NULL, 0);
        struct province__row r = {0};
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
            const char *v[6];
            for (int i = 0; i < 6; i++)
                v[i] = PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
            province__row_cb(&r, 6, v);
        } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            LOG_WARN("PROVINCE", "claim failed: %s", PQerrorMessage(db));
        }
        PQclear(res);
        if (!r.data) {
            province__pg_cmd(db, "ROLLBACK");
            province__nap(p, 200);
            continue;
        }
        /* The row stays locked while we post: another worker skips it. */
        int64_t sent, next;
        long status;
        province__deliver(p, h, &r, worker, &sent, &status, err, sizeof err, &next);
        char buf[4][24];
        const char *dp[7];
        province__params(&r, sent, worker, status, sent ? NULL : err, next, buf, dp);
        res = PQexecParams(db, province__done_sql, 7, NULL, dp, NULL, NULL, 0);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok || !province__pg_cmd(db, "COMMIT")) {
            /* Unknown whether it committed: the row may be posted again, and the platform
             * keeps one copy by the evaluation id. */
            LOG_ERR("PROVINCE", "cannot record the outcome of %s: %s", r.uuid, PQerrorMessage(db));
            PQfinish(db);
            db = NULL;
        }
        free(r.data);
    }
    PQfinish(db);
}
#endif

static void *province__thread(void *arg)
{
    struct province__worker *w = arg;
    struct central_province *p = w->p;
    char name[96], host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(name, sizeof name, "%s:%d:%d", host, (int)getpid(), w->n);
    CURL *h = curl_easy_init();
    if (h) {
#ifdef HQ_HAVE_PG
        if (p->pg)
            province__run_pg(p, h, name);
        else
#endif
            province__run_sqlite(p, h, name);
        curl_easy_cleanup(h);
    }
    free(w);
    return NULL;
}

int central_province_start(struct central_province *p, struct central *c, const char *pg)
{
    p->c = c;
    p->pg = pg;
    if (!pg) p->nworkers = 1; /* SQLite: one process, one claimer */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    srand((unsigned)(time(NULL) ^ getpid()));
    for (int i = 0; i < p->nworkers; i++) {
        struct province__worker *w = malloc(sizeof *w);
        if (!w) return HQ_ERR_NOMEM;
        *w = (struct province__worker){.p = p, .n = i};
        if (pthread_create(&p->th[i], NULL, province__thread, w)) {
            free(w);
            p->nworkers = i;
            return HQ_ERR_NOMEM;
        }
    }
    LOG_NOTICE("PROVINCE", "forwarding evaluations to %s (%s, %d worker%s)", p->endpoint, p->path,
               p->nworkers, p->nworkers == 1 ? "" : "s");
    return HQ_OK;
}

void central_province_stop(struct central_province *p)
{
    if (!p) return;
    p->stop = 1;
    for (int i = 0; i < p->nworkers; i++)
        pthread_join(p->th[i], NULL);
    p->nworkers = 0;
}

long long central_province_alarm_before_ms(const struct central_province *p)
{
    return p ? (long long)(province__now_ms() - (int64_t)(p->alarm_after_s * 1000)) : 0;
}

struct province__stats {
    long long pending, failing, oldest_ms, sent;
};

static int province__stats_cb(void *ctx, int ncol, const char *const *v)
{
    struct province__stats *s = ctx;
    if (ncol < 4) return 1;
    s->pending = v[0] ? atoll(v[0]) : 0;
    s->failing = v[1] ? atoll(v[1]) : 0;
    s->oldest_ms = v[2] ? atoll(v[2]) : 0;
    s->sent = v[3] ? atoll(v[3]) : 0;
    return 1;
}

char *central_province_metrics(struct central *c, struct central_province *p)
{
    struct province__stats s = {0};
    char err[256];
    if (c->store->query(c,
                        "SELECT count(*) FILTER (WHERE sent_at IS NULL),"
                        " count(*) FILTER (WHERE sent_at IS NULL AND attempts > 0),"
                        " min(queued_at) FILTER (WHERE sent_at IS NULL),"
                        " count(*) FILTER (WHERE sent_at IS NOT NULL) FROM province_forward",
                        0, NULL, province__stats_cb, &s, err, sizeof err))
        return NULL;
    double lag = s.oldest_ms ? (double)(province__now_ms() - s.oldest_ms) / 1000.0 : 0;
    if (lag < 0) lag = 0;
    int behind = p && s.pending && lag > p->alarm_after_s;
    if (p && behind != p->behind) {
        p->behind = behind;
        if (behind)
            LOG_WARN("PROVINCE", "falling behind: %lld evaluations waiting, the oldest %.0f s",
                     s.pending, lag);
        else
            LOG_NOTICE("PROVINCE", "caught up");
    }
    char *out = malloc(2048);
    if (!out) return NULL;
    snprintf(out, 2048,
             "# HELP hallq_central_province_pending Evaluations not yet accepted by the "
             "provincial platform (every forwarder agrees: from the database).\n"
             "# TYPE hallq_central_province_pending gauge\n"
             "hallq_central_province_pending %lld\n"
             "# HELP hallq_central_province_failing Of those, evaluations whose last try failed.\n"
             "# TYPE hallq_central_province_failing gauge\n"
             "hallq_central_province_failing %lld\n"
             "# HELP hallq_central_province_delivered Evaluations the platform accepted.\n"
             "# TYPE hallq_central_province_delivered gauge\n"
             "hallq_central_province_delivered %lld\n"
             "# HELP hallq_central_province_lag_seconds Age of the oldest waiting evaluation.\n"
             "# TYPE hallq_central_province_lag_seconds gauge\n"
             "hallq_central_province_lag_seconds %.1f\n"
             "# HELP hallq_central_province_behind 1 when the oldest waiting evaluation is older "
             "than the mapping file's alarm_after_s (forwarding configured here).\n"
             "# TYPE hallq_central_province_behind gauge\n"
             "hallq_central_province_behind %d\n",
             s.pending, s.failing, s.sent, lag, behind);
    return out;
}
