/*
 * fuzz_api.c — the HTTP API's request handling (firmware/api.c) without the socket: a kiosk
 * browser or a laptop on the hall LAN sends any path and any body. api.c is included whole
 * (nothing factored out of it) so the real routing (api__dispatch, longest prefix, roles)
 * and the real handlers run: ticket issue, ticket lookup and cancel, the window actions and
 * their body validation, and the page/asset name check. The body is parsed exactly as
 * api__access does. A validated command goes into a real engine (hqd_apply below is the
 * engine alone: no store, no listeners), so a run is a little session of the hall.
 *
 * Input: up to 16 requests, each two lines:
 *   M R URL       M: P = POST, G = GET, other = DELETE;  R: role 0 none, 1 clerk, 2 manager
 *   BODY          JSON text (POST only; an empty line is an empty body)
 * Replies go to MHD_queue_response with no connection, which refuses them quietly; a reply's
 * JSON is still built, so its code runs too.
 */
#include "../../firmware/api.c"
#include "../../firmware/hqd_qr.c"      /* /t/{uuid}/qr.svg, routed from api__page */
#include "../../firmware/hqd_console.c" /* GET /api/v1/windows/N/today, routed from api__window */

#include "fuzz.h"

/* The hall of config/test-hall.json, trimmed: two services, three windows, three staff. */
static const char fuzz_hall[] =
    "{\"hall\":{\"id\":\"fuzz\",\"name\":\"测试大厅\"},"
    "\"store\":{\"database\":\"fuzz.db\"},"
    "\"privacy\":{\"id_hash_key\":\"fuzz-id-hash-key-0123456789\"},"
    "\"services\":[{\"code\":\"A\",\"name\":\"社保业务\",\"range\":[1,99],\"digits\":2,"
    "\"daily_quota\":50,\"per_person_limit\":2,\"priorities\":[\"elderly\",\"green\"],"
    "\"hours\":{\"all\":[\"00:00-24:00\"]}},"
    "{\"code\":\"B\",\"name\":\"不动产登记\",\"prefix\":\"BD\",\"id_required\":true,"
    "\"hours\":{\"all\":[\"00:00-24:00\"]}}],"
    "\"windows\":[{\"number\":1,\"services\":[\"A\"]},{\"number\":2,\"services\":[\"B\",\"A\"]},"
    "{\"number\":10,\"services\":[\"A\",\"B\"]}],"
    "\"staff\":[{\"id\":\"1001\",\"name\":\"王芳\"},{\"id\":\"20\",\"name\":\"张伟\"}]}";

static struct hq_daemon fd_d;
static struct hq_api fd_api;
static int64_t fd_now;

/* The status page asks hqd_command.c for its storage alarm; this harness has no store. */
bool hqd_storage_alarm(const struct hq_daemon *d, char *zh, size_t zl, char *en, size_t el)
{
    (void)d, (void)zh, (void)zl, (void)en, (void)el;
    return false;
}

int hqd_apply(struct hq_daemon *d, struct hq_cmd *cmd)
{
    cmd->now = fd_now += 7;
    /* uuids unique within a run, as hqd_apply's random ones are */
    uint8_t *u = cmd->type == HQ_CMD_ISSUE  ? cmd->u.issue.uuid
                 : cmd->type == HQ_CMD_RATE ? cmd->u.rate.uuid
                                            : NULL;
    if (u) {
        memset(u, 0x5a, 16);
        memcpy(u, &fd_now, sizeof fd_now);
    }
    return hq_engine_apply(&d->eng, cmd, &d->res);
}

/* Cases and rate-request need the store (hqd_rating.c): not fuzzed here. */
int hqd_rating_window(struct hq_api_req *req, int wi, const char *action)
{
    (void)req, (void)wi, (void)action;
    return HQ_ERR_NOT_FOUND;
}

/* No store here: every command is "committed" when it is applied. */
int hqd_batch_pending(const struct hq_daemon *d)
{
    (void)d;
    return 0;
}

void hqd_flush(struct hq_daemon *d)
{
    (void)d;
}

int hqd_on_result(struct hq_daemon *d, hqd_result_cb fn, void *arg)
{
    (void)d, (void)fn, (void)arg;
    return HQ_OK;
}

static void fuzz_init(void)
{
    static int done;
    char err[256];
    if (done) return;
    done = 1;
    hq_log_level = HQ_LOG_ERR;
    if (hq_config_parse("fuzz.json", "/tmp", fuzz_hall, &fd_d.cfg, err, sizeof err)) {
        fprintf(stderr, "fuzz_api: %s\n", err);
        abort();
    }
    snprintf(fd_d.cfg.web_root, sizeof fd_d.cfg.web_root, "%s", HQ_SOURCE_DIR "/firmware/web");
    fd_api.d = &fd_d;
    fd_d.api = &fd_api;
    hq_api_route(&fd_api, "POST", "/api/v1/tickets", HQ_ROLE_NONE, api__issue, NULL);
    hq_api_route(&fd_api, NULL, "/api/v1/tickets/", HQ_ROLE_NONE, api__ticket, NULL);
    hq_api_route(&fd_api, "POST", "/api/v1/windows/", HQ_ROLE_CLERK, api__window, NULL);
    hq_api_route(&fd_api, "GET", "/api/v1/windows/", HQ_ROLE_NONE, api__window, NULL);
    hq_api_route(&fd_api, "GET", "/display", HQ_ROLE_NONE, api__page, "display.html");
    hq_api_route(&fd_api, "GET", "/kiosk", HQ_ROLE_NONE, api__page, "kiosk.html");
    hq_api_route(&fd_api, "GET", "/t/", HQ_ROLE_NONE, api__page, "ticket.html");
    hq_api_route(&fd_api, "GET", "/assets/", HQ_ROLE_NONE, api__page, "assets");
}

/* One line of the input, NUL-terminated in a copy; returns the rest. */
static const uint8_t *fuzz_line(const uint8_t *p, const uint8_t *end, char *out, size_t cap,
                                size_t *n)
{
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    const uint8_t *stop = nl ? nl : end;
    *n = (size_t)(stop - p) < cap - 1 ? (size_t)(stop - p) : cap - 1;
    memcpy(out, p, *n);
    out[*n] = 0;
    return nl ? nl + 1 : end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    if (hq_engine_init(&fd_d.eng, &fd_d.cfg.engine)) abort();
    fd_now = 1767236400; /* 2026-01-01 11:00 local (Thursday) */
    const uint8_t *p = data, *end = data + size;
    static char line[1024], body[8192];
    for (int i = 0; i < 16 && p < end; i++) {
        size_t n, blen;
        p = fuzz_line(p, end, line, sizeof line, &n);
        if (n < 2) continue;
        const char *method = line[0] == 'P' ? "POST" : line[0] == 'G' ? "GET" : "DELETE";
        struct hq_api_req req = {.api = &fd_api,
                                 .d = &fd_d,
                                 .method = method,
                                 .url = line + 2 + (n > 2 && line[2] == ' '),
                                 .role = line[1] == '2'   ? HQ_ROLE_MANAGER
                                         : line[1] == '1' ? HQ_ROLE_CLERK
                                                          : HQ_ROLE_NONE};
        if (strcmp(method, "POST") == 0) {
            p = fuzz_line(p, end, body, sizeof body, &blen);
            /* as api__access: empty is {}, a NUL byte or a non-object is refused */
            req.body = !blen                   ? cJSON_CreateObject()
                       : memchr(body, 0, blen) ? NULL
                                               : cJSON_ParseWithLength(body, blen);
            if (!cJSON_IsObject(req.body)) {
                cJSON_Delete(req.body);
                hq_api_reply_error(&req, HQ_ERR_INVALID, "the body must be a JSON object");
                continue;
            }
        }
        (void)api__dispatch(&fd_api, &req);
        if (!req.answered) __builtin_trap(); /* every request gets an answer */
        cJSON_Delete(req.body);
    }
    hq_result_free(&fd_d.res);
    hq_engine_free(&fd_d.eng);
    return 0;
}
