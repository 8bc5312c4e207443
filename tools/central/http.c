/*
 * http.c — hallq-central's HTTP(S) side (libmicrohttpd, one thread per
 * connection so that the `slow` fault delays only its own request):
 *
 *   POST /v1/halls/{hall_id}/records       -> 200 {"acked_through": N}
 *   GET  /v1/halls/{hall_id}/appointments?since={cursor}
 *
 * Errors answer a JSON body {"error": "...", "message": "..."} so that a
 * hall's log says what the server disliked.
 */
#include "central.h"

#include "hq.h"
#include "sync_proto.h"
#include "engine.h"
#include "figures.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A batch is at most 1 MiB; allow a little for a hall that counts
 * differently, refuse beyond that without buffering it. */
#define CENTRAL_BODY_MAX (SYNC_BATCH_MAX_BYTES + 64 * 1024)

/* tools/central/web/central.html, embedded at build time (embed_file.cmake). */
extern const unsigned char central_page[];
extern const size_t central_page_len;

struct central_http {
    struct MHD_Daemon *d;
};

struct central__req {
    char *body;
    size_t len, cap;
    bool too_big;
};

static void central__completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                               enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    struct central__req *r = *con_cls;
    if (r) free(r->body);
    free(r);
    *con_cls = NULL;
}

struct central__drop {
    char *body;
    size_t len;
};

/* `drop-mid`: send the first half of the answer, then break the connection
 * (MHD closes it on END_WITH_ERROR; the client sees a short body). */
static ssize_t central__drop_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct central__drop *d = cls;
    size_t half = d->len / 2;
    if (pos >= half) return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = half - (size_t)pos;
    if (n > max) n = max;
    memcpy(buf, d->body + pos, n);
    return (ssize_t)n;
}

static void central__drop_free(void *cls)
{
    struct central__drop *d = cls;
    free(d->body);
    free(d);
}

/* Queue body (malloc'd, taken over) with status. */
static enum MHD_Result central__send(struct MHD_Connection *conn, unsigned status, char *body,
                                     bool drop_mid)
{
    struct MHD_Response *resp = NULL;
    if (!body) body = strdup("{\"error\":\"nomem\",\"message\":\"out of memory\"}");
    if (!body) return MHD_NO;
    size_t len = strlen(body);
    if (drop_mid) {
        struct central__drop *d = malloc(sizeof *d);
        if (d) {
            d->body = body;
            d->len = len;
            resp = MHD_create_response_from_callback(len, 64, central__drop_reader, d,
                                                     central__drop_free);
            if (!resp) central__drop_free(d);
        } else {
            free(body);
        }
    } else {
        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) free(body);
    }
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"hallq-central\"");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result central__error(struct MHD_Connection *conn, unsigned status,
                                      const char *error, const char *message, bool drop_mid)
{
    return central__send(conn, status, central_error_json(error, message), drop_mid);
}

/* Constant-time compare: the token must not leak through timing. */
static bool central__token_ok(struct central *c, struct MHD_Connection *conn)
{
    if (!c->token) return true;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0) return false;
    h += 7;
    size_t a = strlen(h), b = strlen(c->token);
    unsigned diff = (unsigned)(a != b);
    for (size_t i = 0; i < a; i++)
        diff |= (unsigned)(h[i] ^ c->token[i % (b ? b : 1)]);
    return diff == 0;
}

static void central__count_refused(struct central *c)
{
    __atomic_add_fetch(&c->refused, 1, __ATOMIC_RELAXED);
}

static const char *central__session(struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (h && !strncmp(h, "Bearer ", 7)) return h + 7;
    return MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "hq_session");
}

/* /v1/manager/events: an SSE stream naming each hall of the manager's region
 * that just sent a batch (the page then fetches that hall's row again). The
 * halls visible are read once, when the stream opens. */
struct central__sse {
    uint64_t from;
    char (*halls)[65];
    int n;
    char out[160];
    size_t len, pos;
};

static ssize_t central__sse_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct central__sse *s = cls;
    while (s->pos >= s->len) {
        char hall[65];
        int rc = central_live_wait(&s->from, hall, 15000);
        if (rc == HQ_ERR_STATE) return MHD_CONTENT_READER_END_OF_STREAM;
        s->pos = 0;
        if (rc == HQ_ERR_TIMEOUT) {
            s->len = (size_t)snprintf(s->out, sizeof s->out, ": ping\n\n");
            break;
        }
        s->len = 0;
        for (int i = 0; i < s->n; i++)
            if (!strcmp(s->halls[i], hall)) {
                s->len = (size_t)snprintf(s->out, sizeof s->out,
                                          "event: hall\ndata: {\"hall_id\":\"%s\"}\n\n", hall);
                break;
            }
    }
    size_t n = s->len - s->pos;
    if (n > max) n = max;
    memcpy(buf, s->out + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

static void central__sse_free(void *cls)
{
    struct central__sse *s = cls;
    free(s->halls);
    free(s);
}

static enum MHD_Result central__events(struct central *c, struct MHD_Connection *conn,
                                       const struct central_manager *m, bool drop)
{
    struct central__sse *s = calloc(1, sizeof *s);
    cJSON *list = cJSON_CreateArray();
    if (!s || !list || central_manager_halls(c, m, NULL, list)) {
        free(s);
        cJSON_Delete(list);
        return central__error(conn, 503, "db", "database unavailable", drop);
    }
    s->from = central_live_now();
    s->n = cJSON_GetArraySize(list);
    s->halls = calloc((size_t)(s->n ? s->n : 1), sizeof *s->halls);
    int i = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, list)
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "hall_id"));
        if (s->halls && id) snprintf(s->halls[i++], 65, "%s", id);
    }
    cJSON_Delete(list);
    s->len = (size_t)snprintf(s->out, sizeof s->out, "retry: 3000\n\n");
    struct MHD_Response *resp =
        s->halls ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 256, central__sse_reader, s,
                                                     central__sse_free)
                 : NULL;
    if (!resp) {
        central__sse_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* The signed-in manager, or an error answer already queued (*ret). */
static bool central__signed_in(struct central *c, struct MHD_Connection *conn,
                               struct central_manager *m, enum MHD_Result *ret, bool drop)
{
    int rc = central_manager_session(c, central__session(conn), m);
    if (rc == HQ_ERR_AUTH)
        *ret =
            central__error(conn, MHD_HTTP_UNAUTHORIZED, "auth", "请先登录 / sign in first", drop);
    else if (rc)
        *ret = central__error(conn, 503, "db", "database unavailable", drop);
    return rc == HQ_OK;
}

/* Whether hall is in seen (the halls a manager may see, central_manager_halls()). */
static bool central__in_list(const cJSON *seen, const char *hall)
{
    const cJSON *h;
    cJSON_ArrayForEach(h, seen)
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "hall_id"));
        if (id && !strcmp(id, hall)) return true;
    }
    return false;
}

/* POST /v1/manager/appointments: the import route (docs/CENTRAL.md "Appointments").
 * Every item names its hall_id, and the manager must see that hall: an item for
 * every hall, or for a hall outside the region, is refused, and nothing of the body
 * is stored. Importing the same body again changes nothing (an unchanged item keeps
 * its cursor position, so no box fetches it again). */
static enum MHD_Result central__appts_import(struct central *c, struct MHD_Connection *conn,
                                             const char *method, struct central__req *r, bool drop)
{
    if (strcmp(method, "POST"))
        return central__error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method", "use POST", drop);
    struct central_manager m;
    enum MHD_Result ret = MHD_NO;
    if (!central__signed_in(c, conn, &m, &ret, drop)) return ret;
    if (r->too_big)
        return central__error(conn, 413, "too_large", "an import is at most 1 MiB; split it", drop);
    cJSON *list = NULL;
    struct central_appt_error e;
    int rc = central_appointments_check(r->body ? r->body : "", r->len, &list, &e);
    int row = e.row;
    const char *field = e.field;
    char msg[300];
    snprintf(msg, sizeof msg, "%s", e.message);
    unsigned status = MHD_HTTP_BAD_REQUEST;
    const char *error = "invalid";
    if (!rc) {
        /* the manager's halls once, not a query per item (an import may hold thousands) */
        cJSON *seen = cJSON_CreateArray();
        if (central_manager_hall_ids(c, &m, NULL, seen)) {
            cJSON_Delete(seen);
            cJSON_Delete(list);
            return central__error(conn, 503, "db", "database unavailable", drop);
        }
        int i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, list)
        {
            const char *hall =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "hall_id"));
            if (!hall || !central__in_list(seen, hall)) {
                row = i;
                field = "hall_id";
                status = hall ? MHD_HTTP_FORBIDDEN : MHD_HTTP_BAD_REQUEST;
                error = hall ? "forbidden" : "invalid";
                if (hall)
                    snprintf(msg, sizeof msg,
                             "appointments[%d]: 大厅 %.64s 不在您的辖区 / hall %.64s is not in "
                             "your region",
                             i, hall, hall);
                else
                    snprintf(msg, sizeof msg,
                             "appointments[%d]: hall_id 必填 / hall_id is required", i);
                rc = HQ_ERR_AUTH;
                break;
            }
            i++;
        }
        cJSON_Delete(seen);
    }
    if (!rc) {
        char derr[200] = "";
        rc = central_appointments_put(c, list, derr, sizeof derr);
        int n = cJSON_GetArraySize(list);
        cJSON_Delete(list);
        if (rc) return central__error(conn, 503, "db", derr, drop);
        char body[64];
        snprintf(body, sizeof body, "{\"imported\":%d}", n);
        LOG_INFO("CENTRAL", "manager %s imported %d appointments", m.login, n);
        return central__send(conn, MHD_HTTP_OK, strdup(body), drop);
    }
    cJSON_Delete(list);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", error);
    cJSON_AddStringToObject(o, "message", msg);
    if (row >= 0) cJSON_AddNumberToObject(o, "row", row);
    if (field && *field) cJSON_AddStringToObject(o, "field", field);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return central__send(conn, status, text, drop);
}

static bool central__date_arg(struct MHD_Connection *conn, const char *key, int32_t def,
                              int32_t *out)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
    if (!v || !*v) {
        *out = def;
        return true;
    }
    int y, m, d, n = 0;
    if (strlen(v) != 10 || sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || m < 1 ||
        m > 12 || d < 1 || d > 31)
        return false;
    *out = hq_days_from_ymd(y, m, d);
    int yy, mm, dd;
    hq_ymd_from_days(*out, &yy, &mm, &dd);
    return yy == y && mm == m && dd == d;
}

/* One CSV field: quoted when it holds a comma, a quote or a line break. */
static void central__csv_field(char **buf, size_t *len, size_t *cap, const char *v, bool last)
{
    size_t need = 2 * strlen(v) + 4;
    if (*len + need >= *cap) {
        size_t nc = (*cap + need) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb) return;
        *buf = nb;
        *cap = nc;
    }
    bool q = strpbrk(v, ",\"\r\n") != NULL;
    char *p = *buf + *len;
    if (q) *p++ = '"';
    for (; *v; v++) {
        if (*v == '"') *p++ = '"';
        *p++ = *v;
    }
    if (q) *p++ = '"';
    *p++ = last ? '\n' : ',';
    *p = 0;
    *len = (size_t)(p - *buf);
}

static void central__csv_num(char **buf, size_t *len, size_t *cap, const cJSON *o, const char *a,
                             const char *b, bool last)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) v = cJSON_GetObjectItemCaseSensitive(v, b);
    char t[32] = "";
    if (cJSON_IsNumber(v)) snprintf(t, sizeof t, "%.15g", v->valuedouble);
    central__csv_field(buf, len, cap, t, last);
}

/* One line: id, the row's name, then the figures f. */
static void central__csv_row(char **buf, size_t *len, size_t *cap, const char *id, const cJSON *row,
                             const cJSON *f)
{
    static const char *const cols[][2] = {
        {"arrivals", NULL},      {"served", NULL},     {"no_show", NULL},
        {"wait", "mean_s"},      {"wait", "p90_s"},    {"wait", "over"},
        {"handle", "mean_s"},    {"ratings", "count"}, {"ratings", "satisfaction"},
        {"ratings", "coverage"}, {"ratings", "bad"},   {"ratings", "bad_open"}};
    size_t n = sizeof cols / sizeof cols[0];
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "name"));
    central__csv_field(buf, len, cap, id ? id : "", false);
    central__csv_field(buf, len, cap, name ? name : "", false);
    for (size_t i = 0; i < n; i++)
        central__csv_num(buf, len, cap, f, cols[i][0], cols[i][1], i + 1 == n);
}

/* The period figures as CSV (UTF-8 with a BOM, so a spreadsheet reads the Chinese). */
static char *central__figures_csv(const cJSON *doc)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    len = (size_t)snprintf(buf, cap, "\xEF\xBB\xBF");
    static const char *const head[] = {
        "大厅 hall_id",       "名称 name",           "到达 arrivals",
        "办结 served",        "过号 no_show",        "平均等候 wait_mean_s",
        "P90等候 wait_p90_s", "超时等候 wait_over",  "平均办理 handle_mean_s",
        "评价数 ratings",     "满意率 satisfaction", "评价覆盖率 coverage",
        "差评 bad",           "差评未整改 bad_open"};
    size_t nh = sizeof head / sizeof head[0];
    for (size_t i = 0; i < nh; i++)
        central__csv_field(&buf, &len, &cap, head[i], i + 1 == nh);
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, "rows"), *r;
    cJSON_ArrayForEach(r, rows)
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(r, "figures");
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "hall_id"));
        if (!f) { /* one hall by a scope: the row is the figures, keyed by its scope */
            f = r;
            id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "key"));
        }
        central__csv_row(&buf, &len, &cap, id, r, f);
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "total");
    if (t) central__csv_row(&buf, &len, &cap, "total", t, t);
    return buf;
}

/* GET /v1/manager/figures?from=&to=[&hall=&by=][&format=csv]: the period figures of the
 * reports issue, per hall of the manager's region and the region's total, or one hall
 * by service, window or clerk (report.c). */
static enum MHD_Result central__figures(struct central *c, struct MHD_Connection *conn,
                                        const char *method, bool drop)
{
    if (strcmp(method, "GET"))
        return central__error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method", "use GET", drop);
    struct central_manager m;
    enum MHD_Result ret = MHD_NO;
    if (!central__signed_in(c, conn, &m, &ret, drop)) return ret;
    int64_t now = time(NULL);
    /* the default period: today in China's offset, the hall's own day */
    int32_t today = (int32_t)((now + 8 * 3600) / 86400), from, to;
    if (!central__date_arg(conn, "from", today, &from) || !central__date_arg(conn, "to", from, &to))
        return central__error(conn, MHD_HTTP_BAD_REQUEST, "invalid",
                              "from/to: 日期格式 YYYY-MM-DD / want dates as YYYY-MM-DD", drop);
    if (from > to)
        return central__error(conn, MHD_HTTP_BAD_REQUEST, "invalid",
                              "from 晚于 to / from is after to", drop);
    if (to - from > 366)
        return central__error(conn, MHD_HTTP_BAD_REQUEST, "invalid",
                              "最长一年 / at most a year (367 days) at a time", drop);
    const char *hall = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "hall");
    const char *by = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "by");
    const char *format = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "format");
    if (hall && !*hall) hall = NULL;
    int scope = by && *by ? hq_fig_scope_from(by) : HQ_FIG_HALL;
    if (scope < 0)
        return central__error(conn, MHD_HTTP_BAD_REQUEST, "invalid",
                              "by: hall, service, window or clerk", drop);
    if (scope != HQ_FIG_HALL && !hall)
        return central__error(conn, MHD_HTTP_BAD_REQUEST, "invalid",
                              "by=service|window|clerk 需指定 hall / needs hall=", drop);
    if (hall && !central_valid_hall(hall))
        return central__error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such hall", drop);
    if (format && *format && strcmp(format, "json") && strcmp(format, "csv"))
        return central__error(conn, MHD_HTTP_BAD_REQUEST, "invalid", "format: json or csv", drop);
    bool csv = format && !strcmp(format, "csv");
    cJSON *doc = NULL;
    char err[512] = "";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = central_figures(c, &m, hall, from, to, scope, now, &doc, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* who asked for what and what it cost: the figures are computed per request */
    LOG_INFO("CENTRAL", "figures for %s: %d days of %s by %s in %ld ms", m.login, to - from + 1,
             hall ? hall : "the region", hq_fig_scope_name(scope),
             (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    if (rc == HQ_ERR_NOT_FOUND)
        return central__error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such hall", drop);
    if (rc) {
        LOG_ERR("CENTRAL", "figures: %s", err);
        return central__error(conn, 503, "db", err, drop);
    }
    char *out = csv ? central__figures_csv(doc) : cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!csv) return central__send(conn, MHD_HTTP_OK, out, drop);
    if (!out) return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(out), out, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(out);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/csv; charset=utf-8");
    MHD_add_response_header(resp, "Content-Disposition",
                            "attachment; filename=\"hallq-figures.csv\"");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* /v1/manager/login, /v1/manager/halls[/{hall}], /v1/manager/events, /metrics */
static enum MHD_Result central__manager(struct central *c, struct MHD_Connection *conn,
                                        const char *url, const char *method, struct central__req *r,
                                        bool drop)
{
    if (!strcmp(url, "/metrics")) {
        if (strcmp(method, "GET"))
            return central__error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method", "use GET", drop);
        char *text = central_metrics(c);
        if (!text) return central__error(conn, 503, "db", "database unavailable", drop);
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(text);
            return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (!strcmp(url, "/v1/manager/login")) {
        if (strcmp(method, "POST"))
            return central__error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method", "use POST", drop);
        cJSON *j = r->len ? cJSON_ParseWithLength(r->body, r->len) : NULL;
        const char *login = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "login"));
        const char *pw = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "password"));
        char session[68];
        int rc = login && pw ? central_manager_login(c, login, pw, session) : HQ_ERR_INVALID;
        cJSON_Delete(j);
        if (rc == HQ_ERR_INVALID)
            return central__error(conn, MHD_HTTP_BAD_REQUEST, "invalid",
                                  "want {\"login\": .., \"password\": ..}", drop);
        if (rc == HQ_ERR_AUTH)
            return central__error(conn, MHD_HTTP_UNAUTHORIZED, "auth",
                                  "用户名或密码错误 / wrong login or password", drop);
        if (rc) return central__error(conn, 503, "db", "database unavailable", drop);
        char body[128], cookie[160];
        snprintf(body, sizeof body, "{\"session\":\"%s\"}", session);
        snprintf(cookie, sizeof cookie, "hq_session=%s; Path=/; HttpOnly; SameSite=Strict",
                 session);
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
        if (!resp) return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
        MHD_add_response_header(resp, "Set-Cookie", cookie);
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (!strcmp(url, "/v1/manager/appointments"))
        return central__appts_import(c, conn, method, r, drop);
    if (!strcmp(url, "/v1/manager/figures")) return central__figures(c, conn, method, drop);
    bool events = !strcmp(url, "/v1/manager/events");
    const char *rest = events ? "" : !strncmp(url, "/v1/manager/halls", 17) ? url + 17 : NULL;
    /* /v1/manager/halls/{hall}/day: that hall's records of today */
    char day_hall[72] = "";
    size_t rl = rest ? strlen(rest) : 0;
    if (rl > 5 && rl - 4 < sizeof day_hall && !strcmp(rest + rl - 4, "/day")) {
        memcpy(day_hall, rest, rl - 4);
        day_hall[rl - 4] = 0;
        rest = day_hall;
    }
    bool day = day_hall[0] != 0;
    if (!rest || (*rest && (*rest != '/' || !central_valid_hall(rest + 1))))
        return central__error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such resource", drop);
    if (strcmp(method, "GET"))
        return central__error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method", "use GET", drop);
    struct central_manager m;
    int rc = central_manager_session(c, central__session(conn), &m);
    if (rc == HQ_ERR_AUTH)
        return central__error(conn, MHD_HTTP_UNAUTHORIZED, "auth", "请先登录 / sign in first",
                              drop);
    if (rc) return central__error(conn, 503, "db", "database unavailable", drop);
    if (events) return central__events(c, conn, &m, drop);
    cJSON *doc = cJSON_CreateObject(), *list = cJSON_CreateArray();
    cJSON *who = cJSON_AddObjectToObject(doc, "manager");
    cJSON_AddStringToObject(who, "login", m.login);
    cJSON_AddStringToObject(who, "name", m.name);
    cJSON_AddStringToObject(who, "province", m.region.province);
    cJSON_AddStringToObject(who, "city", m.region.city);
    cJSON_AddStringToObject(who, "district", m.region.district);
    rc = central_manager_halls(c, &m, *rest ? rest + 1 : NULL, list);
    if (!rc && day && cJSON_GetArraySize(list) == 1) {
        cJSON_Delete(doc);
        doc = cJSON_CreateObject();
        cJSON_Delete(list);
        list = cJSON_AddArrayToObject(doc, "records");
        rc = central_hall_day(c, rest + 1, list);
        char *out = rc ? NULL : cJSON_PrintUnformatted(doc);
        cJSON_Delete(doc);
        if (rc) return central__error(conn, 503, "db", "database unavailable", drop);
        return central__send(conn, MHD_HTTP_OK, out, drop);
    }
    cJSON_AddItemToObject(doc, "halls", list);
    char *out = rc ? NULL : cJSON_PrintUnformatted(doc);
    bool none = *rest && cJSON_GetArraySize(list) == 0;
    cJSON_Delete(doc);
    if (rc) return central__error(conn, 503, "db", "database unavailable", drop);
    if (none) {
        free(out);
        /* Not visible and not there look the same: a manager learns nothing of
         * halls outside the region. */
        return central__error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such hall", drop);
    }
    return central__send(conn, MHD_HTTP_OK, out, drop);
}

static enum MHD_Result central__handler(void *cls, struct MHD_Connection *conn, const char *url,
                                        const char *method, const char *version,
                                        const char *upload_data, size_t *upload_data_size,
                                        void **con_cls)
{
    (void)version;
    struct central *c = cls;
    struct central__req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big || r->len + n > CENTRAL_BODY_MAX) {
            r->too_big = true;
            return MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->len + n + 1)
                cap *= 2;
            char *nb = realloc(r->body, cap);
            if (!nb) return MHD_NO;
            r->body = nb;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        r->body[r->len] = 0;
        return MHD_YES;
    }

    struct central_faults f = central_faults_get(c);
    if (f.slow_ms > 0) usleep((useconds_t)f.slow_ms * 1000);
    if (f.status)
        return central__error(conn, (unsigned)f.status, "fault",
                              "hallq-central answers this status on purpose (fault injection)",
                              f.drop_mid);

    if (!strcmp(url, "/") || !strcmp(url, "/central")) {
        if (strcmp(method, "GET"))
            return central__error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method", "use GET",
                                  f.drop_mid);
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            central_page_len, (void *)central_page, MHD_RESPMEM_PERSISTENT);
        if (!resp) return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; script-src 'unsafe-inline' 'self'; "
                                "style-src 'unsafe-inline'");
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (!strncmp(url, "/v1/manager/", 12) || !strcmp(url, "/metrics"))
        return central__manager(c, conn, url, method, r, f.drop_mid);

    /* /v1/halls/{hall}/{what} */
    char hall[SYNC_HALL_ID_MAX + 2] = "", what[32] = "";
    const char *p = url, *pre = "/v1/halls/";
    if (strncmp(p, pre, strlen(pre)) == 0) {
        p += strlen(pre);
        const char *slash = strchr(p, '/');
        if (slash && (size_t)(slash - p) < sizeof hall && strlen(slash + 1) < sizeof what) {
            memcpy(hall, p, (size_t)(slash - p));
            hall[slash - p] = 0;
            strcpy(what, slash + 1);
        }
    }
    bool is_records = !strcmp(what, "records"), is_appts = !strcmp(what, "appointments");
    if (!central_valid_hall(hall) || (!is_records && !is_appts))
        return central__error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such resource",
                              f.drop_mid);
    if ((is_records && strcmp(method, "POST")) || (is_appts && strcmp(method, "GET")))
        return central__error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method",
                              is_records ? "use POST" : "use GET", f.drop_mid);
    /* A provisioned hall answers with its own token; a revoked one is refused
     * for good (403: the box raises its alarm and keeps its records). */
    const char *bearer = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    bearer = bearer && !strncmp(bearer, "Bearer ", 7) ? bearer + 7 : NULL;
    int auth = central_hall_auth(c, hall, bearer);
    if (auth == HQ_ERR_STATE) {
        central__count_refused(c);
        return central__error(conn, MHD_HTTP_FORBIDDEN, "revoked",
                              "该大厅的令牌已吊销 / this hall's token was revoked", f.drop_mid);
    }
    if (auth == HQ_ERR_DB)
        return central__error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "db", "database unavailable",
                              f.drop_mid);
    if (auth == HQ_ERR_AUTH || (auth == HQ_ERR_NOT_FOUND && c->provisioned_only) ||
        (auth == HQ_ERR_NOT_FOUND && !central__token_ok(c, conn))) {
        central__count_refused(c);
        return central__error(conn, MHD_HTTP_UNAUTHORIZED, "auth",
                              auth == HQ_ERR_NOT_FOUND && c->provisioned_only
                                  ? "hall not provisioned on this server"
                                  : "missing or wrong token",
                              f.drop_mid);
    }

    if (is_appts) {
        const char *since = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since");
        char *out = NULL;
        int rc = central_appointments_answer(c, hall, since, &out);
        if (rc == HQ_ERR_INVALID)
            return central__error(conn, MHD_HTTP_BAD_REQUEST, "invalid", "bad cursor", f.drop_mid);
        if (rc)
            return central__error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, hq_strerror(rc),
                                  "database failed", f.drop_mid);
        return central__send(conn, MHD_HTTP_OK, out, f.drop_mid);
    }

    if (r->too_big)
        return central__error(conn, 413, "too_large", "a batch is at most 1 MiB", f.drop_mid);
    if (!r->len)
        return central__error(conn, MHD_HTTP_BAD_REQUEST, "invalid", "empty body", f.drop_mid);
    int64_t acked = 0;
    char err[256] = "", body_hall[65];
    int rc = central_records_store(c, hall, r->body, r->len, &acked, body_hall, err, sizeof err);
    if (rc == HQ_ERR_INVALID || rc == HQ_ERR_STATE) central__count_refused(c);
    if (rc == HQ_ERR_INVALID)
        return central__error(conn, MHD_HTTP_BAD_REQUEST, "invalid", err, f.drop_mid);
    if (rc == HQ_ERR_STATE)
        return central__error(conn, MHD_HTTP_CONFLICT, "seq_conflict", err, f.drop_mid);
    if (rc)
        return central__error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, hq_strerror(rc), err,
                              f.drop_mid);
    acked -= f.ack_less;
    if (acked < 0) acked = 0;
    char ack[64];
    sync_ack_build(acked, ack, sizeof ack);
    LOG_INFO("CENTRAL", "hall %s: batch of %zu bytes, acked_through %lld", hall, r->len,
             (long long)acked);
    return central__send(conn, MHD_HTTP_OK, strdup(ack), f.drop_mid);
}

int central_http_start(struct central *c, const char *host, uint16_t *port, const char *cert_pem,
                       const char *key_pem, struct central_http **out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(*port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "hallq-central: --listen: %s is not an IPv4 address\n", host);
        return HQ_ERR_CONFIG;
    }
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    /* poll(), not select(): a city's receiver holds more than FD_SETSIZE (1024)
     * connections (the benchmark's 1,000 halls found it). */
    if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES) flags |= MHD_USE_POLL;
    struct MHD_OptionItem opts[8];
    int n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sa};
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)central__completed, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL};
    if (cert_pem && key_pem) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            fprintf(stderr, "hallq-central: this libmicrohttpd has no TLS\n");
            return HQ_ERR_CONFIG;
        }
        flags |= MHD_USE_TLS;
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key_pem};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cert_pem};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    struct central_http *h = calloc(1, sizeof *h);
    if (!h) return HQ_ERR_NOMEM;
    h->d = MHD_start_daemon(flags, *port, NULL, NULL, central__handler, c, MHD_OPTION_ARRAY, opts,
                            MHD_OPTION_END);
    if (!h->d) {
        fprintf(stderr, "hallq-central: cannot listen on %s:%u\n", host, *port);
        free(h);
        return HQ_ERR_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    if (info && info->port) *port = info->port;
    *out = h;
    return HQ_OK;
}

void central_http_stop(struct central_http *h)
{
    if (!h) return;
    MHD_stop_daemon(h->d);
    free(h);
}
