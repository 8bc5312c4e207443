/*
 * api.c — the HTTP API of PROTOCOLS.md §6 on libmicrohttpd, driven from the
 * daemon's epoll loop.
 *
 * Hostile input is the normal case here: a kiosk browser, a curious laptop
 * on the hall LAN. Bodies are capped (413), must be JSON objects (400), and
 * every failure answers a JSON error; nothing a client sends can reach the
 * engine except through a validated hq_cmd.
 *
 * SSE: each /api/v1/events client owns a byte queue. The content reader
 * drains it and suspends the connection when it is empty; publishing appends
 * to every queue and resumes. A client that does not read (queue over
 * 256 KiB) is dropped rather than letting it grow without bound.
 */
#include "api.h"
#include "hqd_console.h"
#include "hqd_qr.h"
#include "hqd_rating.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define API_SSE_MAX_QUEUE (256 * 1024)
#define API_SSE_PING_MS 15000
#define API_MAX_ROUTES 64
#define API_MAX_PARTS 16
#define API_MAX_FILE (4 * 1024 * 1024)
#define API_DEADLINE_TICK_MS 500
#define API_PEERS 256          /* addresses whose buckets and log marks are kept */
#define API_LOG_EVERY_MS 60000 /* a refusal is logged once per address per minute */
#define API_STREAM_RETRY_S 10  /* Retry-After of a refused event stream */
#define API_LOGIN_BURST 5      /* manager sign-in attempts at once from one address */
#define API_LOGIN_PER_MIN 5    /* ... and after that, per minute */
#define API_FD_SPARE 128       /* descriptors beyond the clients: database, devices, CUPS */
#define API_IDLE_S 30          /* MHD's idle timeout (MHD_OPTION_CONNECTION_TIMEOUT) */

/* An IP address as 16 bytes: IPv4 as ::ffff:a.b.c.d, so both compare alike. */
struct api_ip {
    uint8_t b[16];
};

enum api_class { API_CL_OTHER = 0, API_CL_DEVICE, API_CL_PUBLIC };

/* One TCP connection (MHD's socket context), from accept to close: what the
 * per-address budgets count and the request deadline watches. */
struct api_sock {
    struct hq_api *api;
    struct MHD_Connection *conn;
    struct api_ip ip;
    int cls;           /* enum api_class */
    int dev;           /* index into api->dev_conns for a device, else -1 */
    uint64_t since_ms; /* the connection began, or its last reply was done */
    int busy;          /* the request is read: its answer is under way (or a stream) */
    int kept;          /* kept alive after a reply: it may first idle API_IDLE_S */
    int cut;           /* shut down by the deadline */
    int watched;       /* its fd is in the loop (an event stream's hang-up watch) */
    int fd;
    struct api_sse *sse; /* the event stream it carries */
    struct api_sock *prev, *next;
};

/* Per-address state kept past a connection's life: the token buckets of
 * anonymous issuing and manager sign-in, and when a refusal was last logged. */
struct api_peer {
    struct api_ip ip;
    uint64_t used_ms;
    double issue_tokens, login_tokens;
    uint64_t issue_ms, login_ms;
    uint64_t logged_ms;
};

struct api_sse {
    struct hq_api *api;
    struct MHD_Connection *conn;
    struct api_sock *sock;
    struct api_ip client; /* the address its per-address stream limit counts */
    char *buf;
    size_t len, off, cap;
    int suspended;
    int dead;
    struct api_sse *prev, *next;
};

struct api_route {
    const char *method;
    char prefix[64];
    unsigned roles; /* enum hq_api_auth bits accepted */
    hq_api_handler fn;
    void *arg;
};

struct hq_api {
    struct hq_daemon *d;
    struct MHD_Daemon *mhd;
    int epfd;
    uint64_t timer;
    uint64_t ping_timer;
    uint64_t event_id;
    struct api_sse *clients;
    size_t n_clients;
    uint64_t requests, errors4xx, errors5xx;
    struct api_route routes[API_MAX_ROUTES];
    int n_routes;
    struct {
        hq_api_status_fn fn;
        void *arg;
    } parts[API_MAX_PARTS];
    int n_parts;
    struct {
        hq_api_metrics_fn fn;
        void *arg;
    } mparts[API_MAX_PARTS];
    int n_mparts;
    hq_api_session_fn session_fn; /* sessions (hqd_session.c) */
    void *session_arg;
    struct api_conn *held; /* replies waiting for their group's commit */
    int resumed;           /* held connections resumed: MHD_run them now */
    /* the LAN's budgets (DESIGN.md "HTTP budgets") */
    struct api_sock *socks;
    size_t n_socks, n_public;
    uint64_t deadline_timer;
    struct api_ip *dev, *kiosk, *pub, *proxy;
    size_t n_dev, n_kiosk, n_pub, n_proxy;
    uint32_t *dev_conns;  /* connections of each device address */
    size_t reserved_free; /* device slots not in use: kept free of other clients */
    struct api_peer peers[API_PEERS];
    uint64_t refused_conns, deadline_cuts, dead_streams, refused_streams, rate_limited;
    char listen_host[64];
    int listen_any, listen_loopback;
};

/* Per-request state between MHD's calls of the access handler. */
struct api_conn {
    char *body;
    size_t len;
    int too_big;
    /* A reply written while commands of this turn were not yet committed:
     * the connection is suspended and the reply queued after the commit
     * (or replaced by a refusal if the commit failed). */
    struct MHD_Response *held;
    unsigned held_status;
    struct MHD_Connection *conn;
    struct api_conn *next_held;
};

static void api__schedule(struct hq_api *api);
static void api__on_timer(struct hq_loop *loop, void *arg);

/* ------------------------------------------------------ the LAN's budgets */

/* hallqd shares the hall network with kiosks, displays, clerks' PCs,
 * citizens' phones and any visitor's laptop. Nothing one address does may
 * starve the others (DESIGN.md "HTTP budgets"):
 *  - connections: at most http.max_per_address from one address; the
 *    device addresses' unused http.device_slots are kept free of everyone
 *    else; addresses many people share (http.public_addresses, trusted
 *    proxies) are counted together against http.public_max_clients instead;
 *  - a request's headers and body must arrive within
 *    http.request_timeout_s of its start, however slowly they trickle (MHD
 *    only has an idle timeout, which each byte resets);
 *  - event streams: at most http.max_streams_per_address per client, and a
 *    stream whose peer hung up is closed at once (its fd is watched);
 *  - anonymous issuing and manager sign-in: a token bucket per address. */

static void api__ip_from_sa(const struct sockaddr *sa, struct api_ip *ip)
{
    memset(ip, 0, sizeof *ip);
    if (sa->sa_family == AF_INET) {
        ip->b[10] = ip->b[11] = 0xff;
        memcpy(ip->b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(ip->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    }
}

static int api__ip_parse(const char *s, struct api_ip *ip)
{
    memset(ip, 0, sizeof *ip);
    if (inet_pton(AF_INET, s, ip->b + 12) == 1) {
        ip->b[10] = ip->b[11] = 0xff;
        return HQ_OK;
    }
    return inet_pton(AF_INET6, s, ip->b) == 1 ? HQ_OK : HQ_ERR_INVALID;
}

static void api__ip_str(const struct api_ip *ip, char *buf, size_t len)
{
    static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(ip->b, v4, 12) == 0)
        inet_ntop(AF_INET, ip->b + 12, buf, (socklen_t)len);
    else
        inet_ntop(AF_INET6, ip->b, buf, (socklen_t)len);
}

static long api__ip_find(const struct api_ip *list, size_t n, const struct api_ip *ip)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(list[i].b, ip->b, 16) == 0) return (long)i;
    return -1;
}

static int api__ip_list(const char (*txt)[HQ_CFG_ADDR_LEN], int n, struct api_ip **out,
                        size_t *n_out)
{
    *out = calloc((size_t)n + 1, sizeof **out);
    if (!*out) return HQ_ERR_NOMEM;
    *n_out = 0;
    for (int i = 0; i < n; i++) {
        struct api_ip ip;
        if (api__ip_parse(txt[i], &ip) == HQ_OK && api__ip_find(*out, *n_out, &ip) < 0)
            (*out)[(*n_out)++] = ip;
    }
    return HQ_OK;
}

/* The peer's entry in the table of buckets; the least recently used one is
 * taken over when all are in use (a fresh address starts with full buckets). */
static struct api_peer *api__peer(struct hq_api *api, const struct api_ip *ip, uint64_t now)
{
    struct api_peer *oldest = &api->peers[0];
    for (size_t i = 0; i < API_PEERS; i++) {
        struct api_peer *p = &api->peers[i];
        if (p->used_ms && memcmp(p->ip.b, ip->b, 16) == 0) {
            p->used_ms = now;
            return p;
        }
        if (p->used_ms < oldest->used_ms) oldest = p;
    }
    memset(oldest, 0, sizeof *oldest);
    oldest->ip = *ip;
    oldest->used_ms = now ? now : 1;
    oldest->issue_tokens = api->d->cfg.http_issue_burst;
    oldest->login_tokens = API_LOGIN_BURST;
    oldest->issue_ms = oldest->login_ms = now;
    return oldest;
}

/* Once per address per minute: a flood must not flood the log too. */
static int api__log_due(struct hq_api *api, const struct api_ip *ip)
{
    uint64_t now = hq_loop_now_ms(api->d->loop);
    struct api_peer *p = api__peer(api, ip, now);
    if (p->logged_ms && now - p->logged_ms < API_LOG_EVERY_MS) return 0;
    p->logged_ms = now;
    return 1;
}

/* Takes a token; 0 = allowed, else the seconds until the next one. */
static unsigned api__bucket(double *tokens, uint64_t *at, uint64_t now, double burst,
                            double per_min)
{
    if (per_min <= 0) return 0;
    *tokens += (double)(now - *at) * per_min / 60000.0;
    if (*tokens > burst) *tokens = burst;
    *at = now;
    if (*tokens >= 1.0) {
        *tokens -= 1.0;
        return 0;
    }
    return (unsigned)((1.0 - *tokens) * 60.0 / per_min) + 1;
}

static int api__class(struct hq_api *api, const struct api_ip *ip, long *dev)
{
    *dev = api__ip_find(api->dev, api->n_dev, ip);
    if (*dev >= 0) return API_CL_DEVICE;
    if (api__ip_find(api->pub, api->n_pub, ip) >= 0 ||
        api__ip_find(api->proxy, api->n_proxy, ip) >= 0)
        return API_CL_PUBLIC;
    return API_CL_OTHER;
}

/* MHD's accept policy: may this address have one more connection? A
 * refusal closes the socket (there is no request yet to answer). */
static enum MHD_Result api__accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct hq_api *api = cls;
    const struct hq_config *c = &api->d->cfg;
    struct api_ip ip;
    long dev;
    (void)addrlen;
    api__ip_from_sa(addr, &ip);
    int cl = api__class(api, &ip, &dev);
    const char *why = NULL;
    size_t same = 0;
    if (cl == API_CL_OTHER)
        for (struct api_sock *k = api->socks; k; k = k->next)
            if (memcmp(k->ip.b, ip.b, 16) == 0) same++;
    if (api->n_socks >= c->http_max_clients)
        why = "http.max_clients";
    else if (cl == API_CL_OTHER && same >= c->http_max_per_address)
        why = "http.max_per_address";
    else if (cl == API_CL_PUBLIC && api->n_public >= c->http_public_max_clients)
        why = "http.public_max_clients";
    else if (cl != API_CL_DEVICE && api->n_socks + api->reserved_free >= c->http_max_clients)
        why = "http.device_slots (kept for kiosks and displays)";
    if (!why) return MHD_YES;
    api->refused_conns++;
    if (api__log_due(api, &ip)) {
        char a[INET6_ADDRSTRLEN];
        api__ip_str(&ip, a, sizeof a);
        LOG_WARN("HTTP", "connection from %s refused: %s reached (logged once a minute)", a, why);
    }
    return MHD_NO;
}

static void api__sock_unwatch(struct api_sock *k)
{
    if (k->watched) hq_loop_del_fd(k->api->d->loop, k->fd);
    k->watched = 0;
}

static void api__notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                             enum MHD_ConnectionNotificationCode code)
{
    struct hq_api *api = cls;
    const struct hq_config *c = &api->d->cfg;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct api_sock *k = calloc(1, sizeof *k);
        *socket_context = k;
        if (!k) return;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) api__ip_from_sa(ci->client_addr, &k->ip);
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        k->fd = ci ? ci->connect_fd : -1;
        k->api = api;
        k->conn = conn;
        long dev;
        k->cls = api__class(api, &k->ip, &dev);
        k->dev = (int)dev;
        k->since_ms = hq_loop_now_ms(api->d->loop);
        k->next = api->socks;
        if (api->socks) api->socks->prev = k;
        api->socks = k;
        api->n_socks++;
        if (k->cls == API_CL_PUBLIC) api->n_public++;
        if (k->dev >= 0 && api->dev_conns[k->dev]++ < c->http_device_slots) api->reserved_free--;
        return;
    }
    struct api_sock *k = *socket_context;
    if (!k) return;
    *socket_context = NULL;
    api__sock_unwatch(k);
    if (k->sse) k->sse->sock = NULL;
    if (k->prev)
        k->prev->next = k->next;
    else
        api->socks = k->next;
    if (k->next) k->next->prev = k->prev;
    api->n_socks--;
    if (k->cls == API_CL_PUBLIC) api->n_public--;
    if (k->dev >= 0 && --api->dev_conns[k->dev] < c->http_device_slots) api->reserved_free++;
    free(k);
}

static struct api_sock *api__sock_of(struct MHD_Connection *conn)
{
    if (!conn) return NULL; /* a request made without a socket (tests/fuzz) */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Every half second: a connection whose request has not fully arrived
 * http.request_timeout_s after it began is shut down. MHD sees the end of
 * the stream at once and closes it (and its count is given back). */
static void api__deadlines(struct hq_loop *loop, void *arg)
{
    struct hq_api *api = arg;
    uint64_t now = hq_loop_now_ms(loop);
    uint64_t limit = (uint64_t)api->d->cfg.http_request_timeout_s * 1000u;
    int cut = 0;
    for (struct api_sock *k = api->socks; k; k = k->next) {
        /* A kept-alive connection may idle before its next request as long as MHD's
         * idle timeout lets it (clients reuse them for that long); that request's
         * first byte is not seen here, so its deadline counts from the last reply. */
        uint64_t allowed = limit + (k->kept ? API_IDLE_S * 1000u : 0);
        if (k->busy || k->cut || k->fd < 0 || now - k->since_ms < allowed) continue;
        k->cut = 1;
        cut = 1;
        api->deadline_cuts++;
        shutdown(k->fd, SHUT_RDWR);
        if (api__log_due(api, &k->ip)) {
            char a[INET6_ADDRSTRLEN];
            api__ip_str(&k->ip, a, sizeof a);
            LOG_NOTICE("HTTP",
                       "a request from %s did not arrive within %us: closed "
                       "(logged once a minute)",
                       a, api->d->cfg.http_request_timeout_s);
        }
    }
    if (cut) api__schedule(api);
    api->deadline_timer = hq_loop_timer(loop, API_DEADLINE_TICK_MS, api__deadlines, api);
}

/* The client a request speaks for: the peer, or, from a trusted proxy, the
 * last address its X-Forwarded-For names (the one the proxy itself saw;
 * earlier ones are the client's own say-so). */
static void api__client(struct hq_api *api, struct MHD_Connection *conn, struct api_ip *ip)
{
    struct api_sock *k = api__sock_of(conn);
    if (k)
        *ip = k->ip;
    else
        memset(ip, 0, sizeof *ip);
    if (!k || api__ip_find(api->proxy, api->n_proxy, ip) < 0 || !conn) return;
    const char *xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
    if (!xff) return;
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ' || *last == '\t')
        last++;
    char a[HQ_CFG_ADDR_LEN];
    size_t n = strcspn(last, " \t");
    if (n >= sizeof a) return;
    memcpy(a, last, n);
    a[n] = 0;
    struct api_ip fwd;
    if (api__ip_parse(a, &fwd) == HQ_OK) *ip = fwd;
}

static int api__refuse(struct hq_api_req *req, unsigned status, unsigned retry_s, const char *code,
                       const char *zh, const char *en)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", code);
    cJSON_AddStringToObject(o, "message", zh);
    cJSON_AddStringToObject(o, "message_en", en);
    if (retry_s) cJSON_AddNumberToObject(o, "retry_after_s", retry_s);
    req->retry_after = retry_s;
    return hq_api_reply_json(req, status, o);
}

int hq_api_login_backoff(struct hq_api_req *req)
{
    struct hq_api *api = req->api;
    struct api_ip ip;
    if (!req->conn) return HQ_OK;
    api__client(api, req->conn, &ip);
    uint64_t now = hq_loop_now_ms(api->d->loop);
    struct api_peer *p = api__peer(api, &ip, now);
    unsigned wait =
        api__bucket(&p->login_tokens, &p->login_ms, now, API_LOGIN_BURST, API_LOGIN_PER_MIN);
    if (!wait) return HQ_OK;
    api->rate_limited++;
    if (api__log_due(api, &ip)) {
        char a[INET6_ADDRSTRLEN];
        api__ip_str(&ip, a, sizeof a);
        LOG_WARN("HTTP",
                 "manager sign-in from %s: too many attempts, refused for %us "
                 "(logged once a minute)",
                 a, wait);
    }
    api__refuse(req, MHD_HTTP_TOO_MANY_REQUESTS, wait, "rate_limited", "尝试过于频繁，请稍后再试",
                "too many attempts, please wait");
    return HQ_ERR_LIMIT;
}

/* Anonymous issuing: only from http.kiosk_addresses when that is set, and
 * at most http.issue_per_minute per address. HQ_OK, or answered. */
static int api__issue_allowed(struct hq_api_req *req)
{
    struct hq_api *api = req->api;
    const struct hq_config *c = &api->d->cfg;
    struct api_ip ip;
    if (req->role >= HQ_ROLE_CLERK || !req->conn) return HQ_OK;
    api__client(api, req->conn, &ip);
    char a[INET6_ADDRSTRLEN];
    if (api->n_kiosk && api__ip_find(api->kiosk, api->n_kiosk, &ip) < 0) {
        if (api__log_due(api, &ip)) {
            api__ip_str(&ip, a, sizeof a);
            LOG_NOTICE("HTTP",
                       "ticket request from %s refused: not in http.kiosk_addresses "
                       "(logged once a minute)",
                       a);
        }
        api__refuse(req, MHD_HTTP_FORBIDDEN, 0, "not_a_kiosk", "请在取号机上取号",
                    "tickets are issued at the kiosks");
        return HQ_ERR_AUTH;
    }
    uint64_t now = hq_loop_now_ms(api->d->loop);
    struct api_peer *p = api__peer(api, &ip, now);
    unsigned wait = api__bucket(&p->issue_tokens, &p->issue_ms, now, c->http_issue_burst,
                                c->http_issue_per_minute);
    if (!wait) return HQ_OK;
    api->rate_limited++;
    if (api__log_due(api, &ip)) {
        api__ip_str(&ip, a, sizeof a);
        LOG_WARN("HTTP",
                 "ticket requests from %s faster than http.issue_per_minute (%u): "
                 "refused (logged once a minute)",
                 a, c->http_issue_per_minute);
    }
    api__refuse(req, MHD_HTTP_TOO_MANY_REQUESTS, wait, "rate_limited", "取号过于频繁，请稍后再试",
                "too many tickets from this device, please wait");
    return HQ_ERR_LIMIT;
}

/* Host must name this hall (no DNS rebinding): a name in http.hosts, the
 * host of http.public_url, the listen address; an IP literal when hallqd
 * listens on every address (a page can only send an IP literal for the
 * origin it was loaded from, which then is hallqd itself); "localhost" when
 * it listens on loopback. No Host at all: only HTTP/1.0 (MHD refuses a 1.1
 * request without one), which no browser sends. */
static int api__host_ok(struct hq_api *api, const char *host)
{
    char h[256];
    if (!host) return 1;
    size_t n;
    if (host[0] == '[') {
        const char *e = strchr(host, ']');
        if (!e) return 0;
        n = (size_t)(e - host) + 1;
    } else {
        const char *colon = strchr(host, ':');
        n = colon ? (size_t)(colon - host) : strlen(host);
    }
    if (!n || n >= sizeof h) return 0;
    memcpy(h, host, n);
    h[n] = 0;
    if (n > 1 && h[n - 1] == '.') h[--n] = 0;
    if (strcasecmp(h, api->listen_host) == 0) return 1;
    for (int i = 0; i < api->d->cfg.n_http_hosts; i++)
        if (strcasecmp(h, api->d->cfg.http_hosts[i]) == 0) return 1;
    /* the host of public_url: between "://" and the next ':' or '/' */
    const char *u = strstr(api->d->cfg.public_url, "://");
    if (u) {
        u += 3;
        size_t un = u[0] == '[' ? strcspn(u, "]") + 1 : strcspn(u, ":/");
        if (un == n && strncasecmp(u, h, n) == 0) return 1;
    }
    struct api_ip ip;
    char lit[256];
    snprintf(lit, sizeof lit, "%.*s", h[0] == '[' ? (int)n - 2 : (int)n, h[0] == '[' ? h + 1 : h);
    if (api->listen_any && api__ip_parse(lit, &ip) == HQ_OK) return 1;
    if ((api->listen_any || api->listen_loopback) && strcasecmp(h, "localhost") == 0) return 1;
    return 0;
}

/* "application/json", any case, parameters (charset=utf-8) allowed. */
static int api__json_type(const char *type)
{
    if (!type) return 0;
    while (*type == ' ' || *type == '\t')
        type++;
    if (strncasecmp(type, "application/json", 16) != 0) return 0;
    type += 16;
    while (*type == ' ' || *type == '\t')
        type++;
    return *type == 0 || *type == ';';
}

/* ------------------------------------------------------------ replies */

unsigned hq_api_http_status(int err)
{
    switch (err) {
    case HQ_OK:
        return MHD_HTTP_OK;
    case HQ_ERR_INVALID:
        return MHD_HTTP_BAD_REQUEST;
    case HQ_ERR_NOT_FOUND:
        return MHD_HTTP_NOT_FOUND;
    case HQ_ERR_AUTH:
        return MHD_HTTP_UNAUTHORIZED;
    case HQ_ERR_LIMIT:
        return MHD_HTTP_CONTENT_TOO_LARGE;
    case HQ_ERR_STATE:
    case HQ_ERR_CLOSED:
    case HQ_ERR_QUOTA:
    case HQ_ERR_PERSON_LIMIT:
    case HQ_ERR_ID_REQUIRED:
    case HQ_ERR_EMPTY:
    case HQ_ERR_RANGE_FULL:
        return MHD_HTTP_CONFLICT;
    case HQ_ERR_DISK_FULL:
    case HQ_ERR_PRINTER:
    case HQ_ERR_PRINTER_BUSY:
    case HQ_ERR_STOPPING:
    case HQ_ERR_IO:
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    default:
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

int hq_api_reply_text(struct hq_api_req *req, unsigned status, const char *type, const char *body,
                      size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return HQ_ERR_NOMEM;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (req->retry_after) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", req->retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    req->answered = 1;
    if (req->ac && hqd_batch_pending(req->d)) {
        /* Not a byte of it leaves before the commands it reports are durable. */
        struct api_conn *ac = req->ac;
        ac->held = r;
        ac->held_status = status;
        ac->conn = req->conn;
        ac->next_held = req->api->held;
        req->api->held = ac;
        MHD_suspend_connection(req->conn);
    } else {
        MHD_queue_response(req->conn, status, r);
        MHD_destroy_response(r);
    }
    if (status >= 500)
        req->api->errors5xx++;
    else if (status >= 400)
        req->api->errors4xx++;
    return HQ_OK;
}

int hq_api_kiosk_arg(struct hq_api_req *req, const char **kiosk)
{
    *kiosk = NULL;
    cJSON *k = req->body ? cJSON_GetObjectItemCaseSensitive(req->body, "kiosk") : NULL;
    const char *v = NULL;
    if (k) {
        if (!cJSON_IsString(k)) return HQ_ERR_INVALID;
        v = k->valuestring;
    } else if (req->conn) {
        v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "kiosk");
    }
    if (!v || !*v) return HQ_OK;
    size_t n = strlen(v);
    if (n > 31) return HQ_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)v[i]) && !strchr("_-.", v[i])) return HQ_ERR_INVALID;
    *kiosk = v;
    return HQ_OK;
}

int hq_api_reply_json(struct hq_api_req *req, unsigned status, cJSON *json)
{
    char *s = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    if (!s) return HQ_ERR_NOMEM;
    int rc = hq_api_reply_text(req, status, "application/json; charset=utf-8", s, strlen(s));
    free(s);
    return rc;
}

int hq_api_reply_error(struct hq_api_req *req, int err, const char *detail)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", hq_strerror(err));
    cJSON_AddStringToObject(o, "message", hq_strerror_zh(err));
    cJSON_AddStringToObject(o, "message_en", hq_strerror_en(err));
    if (detail) cJSON_AddStringToObject(o, "detail", detail);
    return hq_api_reply_json(req, hq_api_http_status(err), o);
}

/* ---------------------------------------------------------------- JSON */

static void api__add_time(cJSON *o, const char *key, uint32_t t, int32_t off)
{
    char buf[32];
    if (!t) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    hq_time_rfc3339(t, off, buf);
    cJSON_AddStringToObject(o, key, buf);
}

/* Room left on the database's file system, for the user hallqd runs as
 * (f_bavail), and whether it is below store.disk_alarm_mib: the manager hears
 * of a filling card days before the store has to refuse tickets. */
static void api__disk_space(cJSON *st, const char *db_path, uint32_t alarm_mib)
{
    char dir[HQ_CFG_PATH_MAX];
    struct statvfs v;
    snprintf(dir, sizeof dir, "%s", db_path);
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
    if (statvfs(slash ? dir : ".", &v) != 0) return;
    double free_b = (double)v.f_bavail * (double)v.f_frsize;
    double alarm_b = (double)alarm_mib * 1048576.0;
    cJSON_AddNumberToObject(st, "disk_free_bytes", free_b);
    cJSON_AddNumberToObject(st, "disk_total_bytes", (double)v.f_blocks * (double)v.f_frsize);
    cJSON_AddNumberToObject(st, "disk_alarm_bytes", alarm_b);
    cJSON_AddBoolToObject(st, "disk_low", alarm_mib && free_b < alarm_b);
}

/* Is the wall clock plausible? Behind the newest time hallqd has recorded
 * (by more than a small NTP step), or on a date before the business day the
 * queue is on: it was reset (no battery-backed RTC, a power cut) or jumped.
 * The engine never rolls the day back, so numbering stays right, but ticket
 * times and waits are wrong until someone sets the clock. */
static void api__clock(cJSON *o, const struct hq_daemon *d, int64_t now)
{
    cJSON *c = cJSON_AddObjectToObject(o, "clock");
    if (!c) return;
    int64_t behind = d->clock_seen - now;
    bool behind_day = d->eng.day && hq_engine_day_of(&d->cfg.engine, now) < d->eng.day;
    char ts[32];
    cJSON_AddBoolToObject(c, "ok", behind <= HQD_CLOCK_SLACK_S && !behind_day);
    cJSON_AddNumberToObject(c, "behind_s", behind > 0 ? (double)behind : 0);
    cJSON_AddBoolToObject(c, "behind_day", behind_day);
    if (d->clock_seen) {
        hq_time_rfc3339(d->clock_seen, d->cfg.engine.utc_offset_s, ts);
        cJSON_AddStringToObject(c, "latest_seen", ts);
    }
    if (d->eng.day) { /* the queue's day; hall.day is the clock's date */
        int y, m, dd;
        hq_ymd_from_days(d->eng.day, &y, &m, &dd);
        snprintf(ts, sizeof ts, "%04d-%02d-%02d", y, m, dd);
        cJSON_AddStringToObject(c, "business_day", ts);
    }
}

static void api__add_estimate(cJSON *o, const char *key, int64_t s)
{
    if (s < 0)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, (double)s);
}

cJSON *hq_api_ticket_json(struct hq_daemon *d, int32_t ti)
{
    const struct hq_engine *e = &d->eng;
    if (ti < 0 || (size_t)ti >= e->n_tickets) return cJSON_CreateNull();
    const struct hq_ticket *t = &e->tickets[ti];
    const struct hq_service_cfg *s = &e->cfg->services[t->service];
    char buf[300], uuid[37];
    cJSON *o = cJSON_CreateObject();
    hq_uuid_format(t->uuid, uuid);
    cJSON_AddStringToObject(o, "uuid", uuid);
    cJSON_AddStringToObject(o, "number", hq_ticket_label(e, t, buf, sizeof buf));
    cJSON_AddStringToObject(o, "service", s->code);
    cJSON_AddStringToObject(o, "service_name", s->name);
    cJSON_AddStringToObject(o, "service_name_en", s->name_en);
    cJSON_AddStringToObject(o, "priority", hq_priority_name(t->priority));
    cJSON_AddStringToObject(o, "priority_label", hq_priority_label_zh(t->priority));
    cJSON_AddStringToObject(o, "priority_label_en", hq_priority_label_en(t->priority));
    cJSON_AddStringToObject(o, "status", hq_ticket_status_name(t->status));
    cJSON_AddStringToObject(o, "channel", hq_channel_name(t->channel));
    cJSON_AddBoolToObject(o, "assist", (t->flags & HQ_TF_ASSIST) != 0);
    if (t->name_masked[0]) cJSON_AddStringToObject(o, "name_masked", t->name_masked);
    if (t->status == HQ_TS_WAITING) {
        cJSON_AddNumberToObject(o, "ahead", (double)hq_engine_ahead(e, ti));
        api__add_estimate(o, "estimated_wait_s", hq_engine_estimate_ticket(e, ti));
    }
    if (t->window)
        cJSON_AddNumberToObject(o, "window", t->window);
    else
        cJSON_AddNullToObject(o, "window");
    /* transferred or re-routed to one window (a window or service closed early) */
    if (t->target_window) cJSON_AddNumberToObject(o, "target_window", t->target_window);
    cJSON_AddNumberToObject(o, "recalls", t->recalls);
    api__add_time(o, "issued_at", t->issued_at, e->cfg->utc_offset_s);
    api__add_time(o, "called_at", t->called_at, e->cfg->utc_offset_s);
    snprintf(buf, sizeof buf, "%s/t/%s", d->cfg.public_url, uuid);
    cJSON_AddStringToObject(o, "status_url", buf);
    return o;
}

/* The event stream and the status are public (the wall display, the window
 * screens, every phone): no masked name in them, and no uuid of a ticket that
 * still waits, since a waiting ticket's uuid is all a kiosk reprint needs
 * (printer.kiosk_*; issue 14). A called ticket keeps its uuid: the display
 * tells calls apart by it, and by then the kiosk no longer reprints it. */
void hq_api_event_view(cJSON *t, int status)
{
    cJSON_DeleteItemFromObjectCaseSensitive(t, "name_masked");
    if (status == HQ_TS_WAITING) {
        cJSON_DeleteItemFromObjectCaseSensitive(t, "uuid");
        cJSON_DeleteItemFromObjectCaseSensitive(t, "status_url");
    }
}

/* The status as the public gets it: the event_view of each window's ticket. */
static void api__public_status(cJSON *o)
{
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(o, "windows"))
    {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(w, "current");
        if (cJSON_IsObject(t)) hq_api_event_view(t, HQ_TS_CALLED);
    }
}

cJSON *hq_api_window_json(struct hq_daemon *d, size_t i)
{
    const struct hq_engine *e = &d->eng;
    const struct hq_window_cfg *wc = &e->cfg->windows[i];
    const struct hq_window_st *w = &e->win[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "number", wc->number);
    cJSON_AddStringToObject(o, "name", wc->name);
    cJSON_AddStringToObject(o, "name_en", wc->name_en);
    cJSON_AddStringToObject(o, "state", hq_window_state_name(w->state));
    api__add_time(o, "state_since", w->state_since, e->cfg->utc_offset_s);
    api__add_time(o, "last_call_at", w->last_call_at, e->cfg->utc_offset_s);
    if (w->staff && w->staff <= e->cfg->n_staff) {
        cJSON *s = cJSON_AddObjectToObject(o, "staff");
        cJSON_AddStringToObject(s, "id", e->cfg->staff[w->staff - 1].id);
        cJSON_AddStringToObject(s, "name", e->cfg->staff[w->staff - 1].name);
    } else {
        cJSON_AddNullToObject(o, "staff");
    }
    cJSON_AddItemToObject(o, "current", hq_api_ticket_json(d, w->current));
    if (w->state == HQ_WS_PAUSED) {
        /* The code stays readable when a reload dropped its reason: the code is the name. */
        const struct hq_pause_reason *r = hq_pause_reason(e->cfg, w->pause_reason);
        cJSON_AddStringToObject(o, "pause_reason", w->pause_reason);
        cJSON_AddStringToObject(o, "pause_reason_name", r ? r->name : w->pause_reason);
        cJSON_AddStringToObject(o, "pause_reason_name_en", r ? r->name_en : w->pause_reason);
        api__add_time(o, "paused_since", w->state_since, e->cfg->utc_offset_s);
    } else {
        cJSON_AddNullToObject(o, "pause_reason");
        cJSON_AddNullToObject(o, "pause_reason_name");
        cJSON_AddNullToObject(o, "pause_reason_name_en");
        cJSON_AddNullToObject(o, "paused_since");
    }
    api__add_time(o, "help_since", w->help_at, e->cfg->utc_offset_s);
    cJSON *svcs = cJSON_AddArrayToObject(o, "services");
    for (size_t k = 0; k < wc->n_services; k++)
        cJSON_AddItemToArray(svcs, cJSON_CreateString(e->cfg->services[wc->services[k]].code));
    return o;
}

static cJSON *api__waiting_json(struct hq_daemon *d)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < d->eng.cfg->n_services; i++)
        cJSON_AddNumberToObject(o, d->eng.cfg->services[i].code,
                                (double)hq_engine_waiting(&d->eng, i));
    return o;
}

cJSON *hq_api_status_json(struct hq_daemon *d)
{
    const struct hq_engine *e = &d->eng;
    int64_t now = hq_loop_wall_s();
    char buf[32];
    cJSON *o = cJSON_CreateObject();
    cJSON *h = cJSON_AddObjectToObject(o, "hall");
    cJSON_AddStringToObject(h, "id", e->cfg->hall_id);
    cJSON_AddStringToObject(h, "name", d->cfg.hall_name);
    cJSON_AddStringToObject(h, "name_en", d->cfg.hall_name_en);
    int y, m, dd;
    hq_ymd_from_days(hq_engine_day_of(e->cfg, now), &y, &m, &dd);
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, dd);
    cJSON_AddStringToObject(h, "day", buf);
    hq_time_rfc3339(now, e->cfg->utc_offset_s, buf);
    cJSON_AddStringToObject(h, "time", buf);
    cJSON_AddStringToObject(h, "notice", d->cfg.notice);
    cJSON_AddStringToObject(h, "notice_en", d->cfg.notice_en);
    api__clock(o, d, now);
    cJSON *svcs = cJSON_AddArrayToObject(o, "services");
    for (size_t i = 0; i < e->cfg->n_services; i++) {
        const struct hq_service_cfg *s = &e->cfg->services[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "code", s->code);
        cJSON_AddStringToObject(j, "name", s->name);
        cJSON_AddStringToObject(j, "name_en", s->name_en);
        cJSON_AddStringToObject(j, "prefix", s->prefix);
        bool open = hq_engine_service_open(e, i, now);
        cJSON_AddBoolToObject(j, "open", open);
        /* 0: no window takes this service now, so "nobody waiting" is no promise of a short
         * wait (the kiosk says 当前无窗口受理); next_open: when its hours next begin, if it is
         * closed now and opens within two weeks. */
        cJSON_AddNumberToObject(j, "windows_open", (double)hq_engine_open_windows(e, i));
        int64_t next = open ? -1 : hq_engine_service_next_open(e, i, now);
        api__add_time(j, "next_open", next > 0 ? (uint32_t)next : 0, e->cfg->utc_offset_s);
        cJSON_AddBoolToObject(j, "id_required", s->id_required);
        cJSON_AddNumberToObject(j, "waiting", (double)hq_engine_waiting(e, i));
        api__add_estimate(j, "estimated_wait_s", hq_engine_estimate_wait(e, i));
        cJSON_AddNumberToObject(j, "issued", e->svc[i].issued);
        cJSON_AddNumberToObject(j, "daily_quota", s->daily_quota);
        cJSON_AddNumberToObject(j, "handled", e->svc[i].handled);
        cJSON_AddNumberToObject(j, "handle_s",
                                e->svc[i].handle_s ? e->svc[i].handle_s : s->default_handle_s);
        cJSON_AddNumberToObject(j, "time_limit_s", s->time_limit_s);
        cJSON_AddItemToArray(svcs, j);
    }
    cJSON *wins = cJSON_AddArrayToObject(o, "windows");
    for (size_t i = 0; i < e->cfg->n_windows; i++)
        cJSON_AddItemToArray(wins, hq_api_window_json(d, i));
    cJSON *prs = cJSON_AddArrayToObject(o, "pause_reasons");
    for (size_t i = 0; i < e->cfg->n_pause_reasons; i++) {
        const struct hq_pause_reason *r = &e->cfg->pause_reasons[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "code", r->code);
        cJSON_AddStringToObject(j, "name", r->name);
        cJSON_AddStringToObject(j, "name_en", r->name_en);
        cJSON_AddNumberToObject(j, "max_min", r->max_min);
        cJSON_AddItemToArray(prs, j);
    }
    cJSON_AddArrayToObject(o, "devices"); /* device modules fill it */
    cJSON *sy = cJSON_AddObjectToObject(o, "sync");
    int64_t backlog, oldest, last;
    if (hq_store_outbox_stats(d->store, &backlog, &oldest, &last) == HQ_OK) {
        cJSON_AddNumberToObject(sy, "backlog", (double)backlog);
        cJSON_AddNumberToObject(sy, "oldest_unsent_seq", (double)oldest);
        cJSON_AddNumberToObject(sy, "last_seq", (double)last);
    }
    cJSON *st = cJSON_AddObjectToObject(o, "storage");
    cJSON_AddBoolToObject(st, "ok", !d->storage_failed && !d->storage_degraded);
    cJSON_AddNumberToObject(st, "commit_failures", (double)d->commit_failures);
    /* group commit: commands_committed / commit_groups commands per fsync */
    cJSON_AddNumberToObject(st, "commit_groups", (double)d->batches);
    cJSON_AddNumberToObject(st, "commands_committed", (double)d->committed);
    cJSON_AddStringToObject(st, "path", hq_store_path(d->store));
    cJSON_AddBoolToObject(st, "degraded", d->storage_degraded);
    size_t bl_cmds = 0, bl_bytes = 0;
    hq_store_backlog(d->store, &bl_cmds, &bl_bytes);
    cJSON_AddNumberToObject(st, "backlog_commands", (double)bl_cmds);
    cJSON_AddNumberToObject(st, "backlog_bytes", (double)bl_bytes);
    cJSON_AddNumberToObject(st, "backlog_max_bytes", (double)d->cfg.store_backlog_max_kib * 1024);
    cJSON_AddBoolToObject(st, "backlog_full", d->storage_backlog_full);
    cJSON_AddNumberToObject(st, "deferred_commands", (double)d->storage_deferred);
    cJSON_AddNumberToObject(st, "recoveries", (double)d->storage_recoveries);
    cJSON_AddNumberToObject(st, "lost_commands", (double)d->storage_lost);
    api__disk_space(st, hq_store_path(d->store), d->cfg.store_disk_alarm_mib);
    if (d->storage_degraded) {
        char zh[768], en[768];
        hq_time_rfc3339(d->storage_degraded_since, e->cfg->utc_offset_s, buf);
        cJSON_AddStringToObject(st, "since", buf);
        cJSON_AddStringToObject(st, "reason", hq_store_why(d->store));
        hqd_storage_alarm(d, zh, sizeof zh, en, sizeof en);
        cJSON_AddStringToObject(st, "alarm", zh);
        cJSON_AddStringToObject(st, "alarm_en", en);
    }
    const char *notice = hq_store_notice(d->store);
    cJSON *cn = notice ? cJSON_Parse(notice) : NULL;
    if (cn)
        cJSON_AddItemToObject(st, "corrupt", cn);
    else
        cJSON_AddNullToObject(st, "corrupt");
    for (int i = 0; i < d->api->n_parts; i++)
        d->api->parts[i].fn(d, o, d->api->parts[i].arg);
    return o;
}

/* ----------------------------------------------------------------- SSE */

static void api__sse_append(struct api_sse *c, const char *s, size_t n)
{
    if (c->dead) return;
    if (c->len - c->off + n > API_SSE_MAX_QUEUE) {
        LOG_WARN("HTTP", "an event-stream client stopped reading: dropped");
        c->dead = 1;
        return;
    }
    if (c->off && c->off == c->len) c->off = c->len = 0;
    if (c->len + n > c->cap) {
        if (c->off) { /* compact before growing */
            memmove(c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        }
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n)
            cap *= 2;
        char *b = realloc(c->buf, cap);
        if (!b) {
            c->dead = 1;
            return;
        }
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, s, n);
    c->len += n;
}

static void api__sse_wake(struct api_sse *c)
{
    if (c->suspended) {
        c->suspended = 0;
        MHD_resume_connection(c->conn);
    }
}

static void api__sse_send(struct hq_api *api, struct api_sse *only, const char *event,
                          const char *data)
{
    size_t n = strlen(data) + strlen(event) + 64;
    char *msg = malloc(n);
    if (!msg) return;
    int len = snprintf(msg, n, "id: %llu\nevent: %s\ndata: %s\n\n",
                       (unsigned long long)++api->event_id, event, data);
    for (struct api_sse *c = api->clients; c; c = c->next) {
        if (only && c != only) continue;
        api__sse_append(c, msg, (size_t)len);
        api__sse_wake(c);
    }
    free(msg);
    api__schedule(api);
}

void hq_api_publish(struct hq_api *api, const char *event, cJSON *data)
{
    if (!api) {
        cJSON_Delete(data);
        return;
    }
    char *s = cJSON_PrintUnformatted(data);
    cJSON_Delete(data);
    if (!s) return;
    if (api->clients) api__sse_send(api, NULL, event, s);
    free(s);
}

static ssize_t api__sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct api_sse *c = cls;
    (void)pos;
    if (c->dead) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (c->off == c->len) {
        /* Safe here (microhttpd.h): suspend from the content reader. */
        c->suspended = 1;
        MHD_suspend_connection(c->conn);
        return 0;
    }
    size_t n = c->len - c->off < max ? c->len - c->off : max;
    memcpy(buf, c->buf + c->off, n);
    c->off += n;
    return (ssize_t)n;
}

static void api__sse_free(void *cls)
{
    struct api_sse *c = cls;
    struct hq_api *api = c->api;
    if (c->prev)
        c->prev->next = c->next;
    else
        api->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    api->n_clients--;
    if (c->sock) c->sock->sse = NULL;
    free(c->buf);
    free(c);
}

static void api__sse_ping(struct hq_loop *loop, void *arg)
{
    struct hq_api *api = arg;
    /* Keeps proxies and the browser's idle timers quiet and lets MHD notice
     * clients that went away while suspended. A message without an event
     * name: a page sees it (EventSource's "message", so its silence
     * watchdog knows the link is alive in a quiet hall and does not
     * reconnect), clients that read named events skip it. */
    static const char ping[] = ": ping\ndata: {}\n\n";
    for (struct api_sse *c = api->clients; c; c = c->next) {
        api__sse_append(c, ping, sizeof ping - 1);
        api__sse_wake(c);
    }
    api__schedule(api);
    api->ping_timer = hq_loop_timer(loop, API_SSE_PING_MS, api__sse_ping, api);
}

/* The peer of an event stream hung up (or reset): close the stream now,
 * not at the next ping, so its slot and the gauge are free at once. */
static void api__sse_hup(struct hq_loop *loop, int fd, uint32_t events, void *arg)
{
    struct api_sock *k = arg;
    char b;
    (void)loop;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    /* An event left over for an fd number already reused is no hang-up:
     * the live socket has nothing to read (EAGAIN). */
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !(events & (EPOLLHUP | EPOLLERR)))
        return;
    if (n > 0 && !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    api__sock_unwatch(k);
    if (k->sse && !k->sse->dead) {
        k->sse->dead = 1;
        k->api->dead_streams++;
        api__sse_wake(k->sse);
        api__schedule(k->api);
    }
}

static int api__events(struct hq_api_req *req, void *arg)
{
    struct hq_api *api = req->api;
    const struct hq_config *cfg = &req->d->cfg;
    (void)arg;
    struct api_ip client;
    api__client(api, req->conn, &client);
    struct api_sock *sock = api__sock_of(req->conn);
    /* From an address many people share, only the public budget counts
     * (a trusted proxy's clients are told apart by X-Forwarded-For). */
    int shared = sock && sock->cls == API_CL_PUBLIC && memcmp(client.b, sock->ip.b, 16) == 0;
    /* a configured kiosk or display box is trusted with as many as it opens */
    long dev;
    if (api__class(api, &client, &dev) == API_CL_DEVICE) shared = 1;
    size_t same = 0;
    for (struct api_sse *o = api->clients; o; o = o->next)
        if (!o->dead && memcmp(o->client.b, client.b, 16) == 0) same++;
    const char *why = NULL;
    if (api->n_clients >= cfg->http_max_clients)
        why = "http.max_clients";
    else if (!shared && same >= cfg->http_max_streams_per_address)
        why = "http.max_streams_per_address";
    if (why) {
        api->refused_streams++;
        if (api__log_due(api, &client)) {
            char a[INET6_ADDRSTRLEN];
            api__ip_str(&client, a, sizeof a);
            LOG_WARN("HTTP", "event stream for %s refused: %s reached (logged once a minute)", a,
                     why);
        }
        return api__refuse(req, MHD_HTTP_SERVICE_UNAVAILABLE, API_STREAM_RETRY_S, "busy",
                           "实时连接已满，请稍后再试",
                           "too many live connections, try again later");
    }
    struct api_sse *c = calloc(1, sizeof *c);
    if (!c) return HQ_ERR_NOMEM;
    c->api = api;
    c->conn = req->conn;
    c->client = client;
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, api__sse_read, c, api__sse_free);
    if (!r) {
        free(c);
        return HQ_ERR_NOMEM;
    }
    c->next = api->clients;
    if (api->clients) api->clients->prev = c;
    api->clients = c;
    api->n_clients++;
    /* The first message is the whole picture, so a page (re)connecting is
     * never showing something stale. */
    api__sse_append(c, "retry: 2000\n\n", 13);
    cJSON *snap = hq_api_status_json(req->d);
    api__public_status(snap); /* every client gets the same public stream */
    char *s = cJSON_PrintUnformatted(snap);
    cJSON_Delete(snap);
    if (s) {
        api__sse_send(api, c, "status", s);
        free(s);
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    MHD_queue_response(req->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    req->answered = 1;
    if (sock && sock->fd >= 0 && !sock->watched &&
        hq_loop_add_fd(req->d->loop, sock->fd, EPOLLRDHUP, api__sse_hup, sock) == HQ_OK)
        sock->watched = 1;
    if (sock) {
        sock->sse = c;
        c->sock = sock;
    }
    return HQ_OK;
}

/* Every committed command becomes SSE events for pages. */
static void api__on_result(struct hq_daemon *d, const struct hq_cmd *cmd,
                           const struct hq_result *res, void *arg)
{
    struct hq_api *api = arg;
    (void)cmd;
    if (!api->clients) return;
    const struct hq_engine *e = &d->eng;
    for (size_t i = 0; i < res->n_rec; i++) {
        const struct hq_record *r = &res->rec[i];
        cJSON *o = cJSON_CreateObject();
        const char *ev = r->type == HQ_REC_EVENT        ? hq_event_name(r->event)
                         : r->type == HQ_REC_EVALUATION ? "evaluation"
                                                        : "ticket_closed";
        cJSON_AddStringToObject(o, "kind", ev);
        char ts[32];
        hq_time_rfc3339(r->at, e->cfg->utc_offset_s, ts);
        cJSON_AddStringToObject(o, "at", ts);
        if (r->window) {
            int wi = hq_engine_window_index(e, r->window);
            if (wi >= 0) cJSON_AddItemToObject(o, "window", hq_api_window_json(d, (size_t)wi));
        }
        if (r->ticket >= 0) {
            cJSON *t = hq_api_ticket_json(d, r->ticket);
            hq_api_event_view(t, e->tickets[r->ticket].status);
            cJSON_AddItemToObject(o, "ticket", t);
        }
        if (r->type == HQ_REC_EVALUATION) cJSON_AddNumberToObject(o, "level", r->level);
        if (r->event == HQ_EV_RECALL) cJSON_AddBoolToObject(o, "recall", 1);
        cJSON_AddItemToObject(o, "waiting", api__waiting_json(d));
        hq_api_publish(api, ev, o);
    }
}

/* ------------------------------------------------------------- routes */

static int api__status(struct hq_api_req *req, void *arg)
{
    (void)arg;
    cJSON *o = hq_api_status_json(req->d);
    if (req->role < HQ_ROLE_CLERK) api__public_status(o);
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

static int api__service_arg(struct hq_daemon *d, cJSON *body, const char *key, int *out)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!cJSON_IsString(v)) return HQ_ERR_INVALID;
    *out = hq_engine_service_index(&d->eng, v->valuestring);
    return *out < 0 ? HQ_ERR_NOT_FOUND : HQ_OK;
}

/* A refusal with its reason in words (issue 14): "error" stays the class a
 * script tests (state, empty, not_found), "reason" tells the cases apart. */
static int api__reply_why(struct hq_api_req *req, int err, int why)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", hq_strerror(err));
    cJSON_AddStringToObject(o, "reason", hq_why_code(why));
    cJSON_AddStringToObject(o, "message", hq_why_zh(why));
    cJSON_AddStringToObject(o, "message_en", hq_why_en(why));
    return hq_api_reply_json(req, hq_api_http_status(err), o);
}

static int api__reply_result(struct hq_api_req *req, int rc, int window_idx)
{
    const struct hq_result *res = &req->d->res;
    if (rc && res->err == rc && res->why) return api__reply_why(req, rc, res->why);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    if (window_idx >= 0)
        cJSON_AddItemToObject(o, "window", hq_api_window_json(req->d, (size_t)window_idx));
    cJSON_AddItemToObject(o, "ticket", hq_api_ticket_json(req->d, req->d->res.ticket));
    return hq_api_reply_json(req, MHD_HTTP_OK, o);
}

static int api__issue(struct hq_api_req *req, void *arg)
{
    struct hq_daemon *d = req->d;
    (void)arg;
    if (strcmp(req->method, "POST") != 0) return HQ_ERR_INVALID;
    if (*req->tail) return HQ_ERR_NOT_FOUND;
    if (api__issue_allowed(req)) return HQ_OK; /* answered: 403 or 429 */
    struct hq_cmd cmd = {.type = HQ_CMD_ISSUE};
    int svc, rc = api__service_arg(d, req->body, "service", &svc);
    if (rc == HQ_ERR_NOT_FOUND) return api__reply_why(req, rc, HQ_WHY_NO_SERVICE);
    if (rc) return hq_api_reply_error(req, rc, "body needs \"service\": a service code");
    cmd.u.issue.service = (uint8_t)svc;
    cmd.u.issue.channel = HQ_CHAN_API;
    cJSON *p = cJSON_GetObjectItemCaseSensitive(req->body, "priority");
    if (p) {
        int prio = cJSON_IsString(p) ? hq_priority_from_name(p->valuestring) : -1;
        /* Elderly comes from the card's birth date and appointments from a
         * check-in, never from a client's say-so. */
        if (prio < 0 || prio == HQ_PRIO_ELDERLY || prio == HQ_PRIO_APPOINTMENT)
            return hq_api_reply_error(req, HQ_ERR_INVALID,
                                      "priority must be one of normal, disabled, military, green");
        if (prio != HQ_PRIO_NORMAL && !hq_api_is(req, HQ_AUTH_WORK))
            return hq_api_reply_error(req, HQ_ERR_AUTH,
                                      "a priority ticket needs a staff session or clerk token");
        cmd.u.issue.priority = (uint8_t)prio;
    }
    cJSON *ch = cJSON_GetObjectItemCaseSensitive(req->body, "channel");
    if (ch) {
        if (!cJSON_IsString(ch)) return hq_api_reply_error(req, HQ_ERR_INVALID, "channel");
        if (strcmp(ch->valuestring, "kiosk") == 0)
            cmd.u.issue.channel = HQ_CHAN_KIOSK;
        else if (strcmp(ch->valuestring, "api") != 0)
            return hq_api_reply_error(req, HQ_ERR_INVALID, "channel must be kiosk or api");
    }
    cJSON *card = cJSON_GetObjectItemCaseSensitive(req->body, "card");
    if (card && !cJSON_IsBool(card))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "card must be true or false");
    const char *kiosk;
    if (hq_api_kiosk_arg(req, &kiosk))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "kiosk must be a kiosk id string");
    if (cJSON_IsTrue(card)) {
        /* 实名取号: the identity comes from the kiosk's own reader, never from
         * the client, so a page cannot claim somebody else's card. */
        rc = d->fill_card ? d->fill_card(d, &cmd, kiosk, d->fill_card_arg) : HQ_ERR_ID_REQUIRED;
        if (rc) return hq_api_reply_error(req, rc, "place your ID card on the reader");
    }
    cmd.u.issue.kiosk_printer = hq_config_kiosk_printer(&d->cfg, kiosk);
    rc = hqd_apply(d, &cmd);
    if (rc) return hq_api_reply_error(req, rc, NULL);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "ticket", hq_api_ticket_json(d, d->res.ticket));
    return hq_api_reply_json(req, MHD_HTTP_CREATED, o);
}

static int32_t api__find_ticket(struct hq_daemon *d, const char *key)
{
    uint8_t u[16];
    if (hq_uuid_parse(key, u) == HQ_OK) return hq_engine_find_uuid(&d->eng, u);
    return hq_engine_find_label(&d->eng, key);
}

/* A ticket as anyone who typed its number may see it (issue 14): a number
 * like A012 is guessable, so the answer leaves out what is personal (the
 * priority class says 老年人 or 残疾人, the masked surname) and the uuid,
 * which is the capability for /t/<uuid>, a kiosk reprint and the rating: with
 * it, the one-reprint-by-number rule (printer.kiosk_*) could be bypassed. The
 * holder's own page asks by uuid and gets the whole ticket; so does staff. */
static void api__public_view(cJSON *o)
{
    static const char *const personal[] = {"uuid",           "status_url",        "priority",
                                           "priority_label", "priority_label_en", "name_masked"};
    for (size_t i = 0; i < sizeof personal / sizeof *personal; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(o, personal[i]);
}

/* A cancellation's "reason" (optional; the guide desk must give one, docs/API.md): 1-100
 * bytes of text, no control characters, and no run of 15 or more digits, which would be an ID
 * or phone number typed where it must not be kept. HQ_OK with buf set (empty: none given), or
 * HQ_ERR_INVALID when the refusal was answered. */
static int api__cancel_reason(struct hq_api_req *req, char *buf, size_t cap)
{
    const cJSON *r = req->body ? cJSON_GetObjectItemCaseSensitive(req->body, "reason") : NULL;
    const char *zh = NULL, *en = NULL;
    buf[0] = 0;
    if (!r || (cJSON_IsString(r) && !r->valuestring[0])) {
        if (req->who.auth != HQ_AUTH_DESK) return HQ_OK;
        zh = "请填写取消原因";
        en = "the guide desk must give a reason for a cancellation";
    } else if (!cJSON_IsString(r) || strlen(r->valuestring) > 100) {
        zh = "取消原因须为 1–100 字节的文字";
        en = "reason must be text of 1-100 bytes";
    } else {
        size_t digits = 0;
        for (const unsigned char *p = (const unsigned char *)r->valuestring; *p && !zh; p++) {
            digits = isdigit(*p) ? digits + 1 : 0;
            if (*p < 0x20 || *p == 0x7f) {
                zh = "取消原因含有控制字符";
                en = "reason contains control characters";
            } else if (digits >= 15) {
                zh = "取消原因中请勿填写证件号码或电话号码";
                en = "do not write an ID or phone number in the reason";
            }
        }
    }
    if (zh) {
        api__refuse(req, MHD_HTTP_BAD_REQUEST, 0, "invalid", zh, en);
        return HQ_ERR_INVALID;
    }
    snprintf(buf, cap, "%s", r->valuestring);
    return HQ_OK;
}

/* GET /api/v1/tickets/{uuid|label}, POST /api/v1/tickets/{uuid|label}/cancel */
static int api__ticket(struct hq_api_req *req, void *arg)
{
    struct hq_daemon *d = req->d;
    char key[64];
    (void)arg;
    const char *slash = strchr(req->tail, '/');
    size_t n = slash ? (size_t)(slash - req->tail) : strlen(req->tail);
    if (!n || n >= sizeof key) return HQ_ERR_NOT_FOUND;
    memcpy(key, req->tail, n);
    key[n] = 0;
    int32_t ti = api__find_ticket(d, key);
    if (ti < 0) return api__reply_why(req, HQ_ERR_NOT_FOUND, HQ_WHY_NO_TICKET);
    if (!slash && strcmp(req->method, "GET") == 0) {
        cJSON *o = hq_api_ticket_json(d, ti);
        uint8_t u[16];
        if (req->role < HQ_ROLE_CLERK && hq_uuid_parse(key, u) != HQ_OK) api__public_view(o);
        return hq_api_reply_json(req, MHD_HTTP_OK, o);
    }
    if (slash && strcmp(slash, "/cancel") == 0 && strcmp(req->method, "POST") == 0) {
        struct hq_cmd cmd = {.type = HQ_CMD_CANCEL};
        cmd.u.cancel.ticket = ti;
        int rc = api__cancel_reason(req, cmd.u.cancel.reason, sizeof cmd.u.cancel.reason);
        if (rc) return rc == HQ_ERR_INVALID ? HQ_OK : rc; /* INVALID: answered */
        return api__reply_result(req, hqd_apply(d, &cmd), -1);
    }
    return HQ_ERR_NOT_FOUND;
}

static const struct {
    const char *action;
    uint8_t cmd;
} api_window_actions[] = {
    {"call-next", HQ_CMD_CALL_NEXT}, {"call", HQ_CMD_CALL_NUMBER}, {"recall", HQ_CMD_RECALL},
    {"start", HQ_CMD_START},         {"no-show", HQ_CMD_NO_SHOW},  {"finish", HQ_CMD_FINISH},
    {"transfer", HQ_CMD_TRANSFER},   {"park", HQ_CMD_PARK},        {"call-back", HQ_CMD_CALL_BACK},
    {"pause", HQ_CMD_PAUSE},         {"resume", HQ_CMD_RESUME},    {"login", HQ_CMD_LOGIN},
    {"logout", HQ_CMD_LOGOUT},       {"rating", HQ_CMD_RATE},      {"help", HQ_CMD_HELP},
};

/* The body fields of one window action, validated into cmd. */
static int api__window_body(struct hq_api_req *req, struct hq_cmd *cmd, const char **why)
{
    struct hq_daemon *d = req->d;
    cJSON *b = req->body;
    cJSON *v;
    switch (cmd->type) {
    case HQ_CMD_CALL_NUMBER:
        v = cJSON_GetObjectItemCaseSensitive(b, "number");
        *why = "body needs \"number\": a ticket number like \"A012\"";
        if (!cJSON_IsString(v) || !*v->valuestring ||
            strlen(v->valuestring) >= sizeof cmd->u.call.label)
            return HQ_ERR_INVALID;
        strcpy(cmd->u.call.label, v->valuestring);
        return HQ_OK;
    case HQ_CMD_NO_SHOW:
        cmd->u.no_show.requeue = -1;
        v = cJSON_GetObjectItemCaseSensitive(b, "requeue");
        *why = "\"requeue\" must be true or false";
        if (v && !cJSON_IsBool(v)) return HQ_ERR_INVALID;
        if (v) cmd->u.no_show.requeue = cJSON_IsTrue(v) ? 1 : 0;
        return HQ_OK;
    case HQ_CMD_TRANSFER: {
        cmd->u.transfer.service = -1;
        v = cJSON_GetObjectItemCaseSensitive(b, "service");
        *why = "body needs \"service\" (a service code) and/or \"window\" (a window number)";
        if (v) {
            int s;
            int rc = api__service_arg(d, b, "service", &s);
            if (rc) return rc;
            cmd->u.transfer.service = (int16_t)s;
        }
        cJSON *w = cJSON_GetObjectItemCaseSensitive(b, "window");
        if (w) {
            if (!cJSON_IsNumber(w) || w->valuedouble < 1 || w->valuedouble > 65535)
                return HQ_ERR_INVALID;
            cmd->u.transfer.to_window = (uint16_t)w->valuedouble;
        }
        if (!v && !w) return HQ_ERR_INVALID;
        cJSON *f = cJSON_GetObjectItemCaseSensitive(b, "front");
        if (f && !cJSON_IsBool(f)) return HQ_ERR_INVALID;
        cmd->u.transfer.front = cJSON_IsTrue(f);
        return HQ_OK;
    }
    case HQ_CMD_PAUSE:
        /* Optional: a keypad or an old client pauses without one (HQ_PAUSE_DEFAULT). */
        v = cJSON_GetObjectItemCaseSensitive(b, "reason");
        *why = "\"reason\" must be a pause reason's code (status \"pause_reasons\")";
        if (v && !cJSON_IsNull(v)) {
            if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof cmd->u.pause.reason)
                return HQ_ERR_INVALID;
            strcpy(cmd->u.pause.reason, v->valuestring);
        }
        return HQ_OK;
    case HQ_CMD_LOGIN:
        v = cJSON_GetObjectItemCaseSensitive(b, "staff");
        *why = "body needs \"staff\": a staff number";
        if (!cJSON_IsString(v) || !*v->valuestring ||
            strlen(v->valuestring) >= sizeof cmd->u.login.staff_id)
            return HQ_ERR_INVALID;
        strcpy(cmd->u.login.staff_id, v->valuestring);
        return HQ_OK;
    case HQ_CMD_RATE:
        v = cJSON_GetObjectItemCaseSensitive(b, "level");
        *why = "body needs \"level\": 1 (非常不满意) to 5 (非常满意)";
        /* Range before the (int) cast: {"level":1e300} made it undefined behaviour
         * (tests/fuzz/fuzz_api). */
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= 5) ||
            v->valuedouble != (int)v->valuedouble)
            return HQ_ERR_INVALID;
        cmd->u.rate.level = (uint8_t)v->valueint;
        cmd->u.rate.channel = HQ_CHAN_TABLET;
        /* Optional: the reason codes a tablet offers with the levels (the
         * province's list, 1..32), sent on as §5's "reasons". */
        v = cJSON_GetObjectItemCaseSensitive(b, "reasons");
        if (v) {
            const cJSON *it;
            *why = "\"reasons\" must be an array of reason codes 1 to 32";
            if (!cJSON_IsArray(v)) return HQ_ERR_INVALID;
            cJSON_ArrayForEach(it, v)
            {
                if (!cJSON_IsNumber(it) || !(it->valuedouble >= 1 && it->valuedouble <= 32) ||
                    it->valuedouble != (int)it->valuedouble)
                    return HQ_ERR_INVALID;
                cmd->u.rate.reasons |= 1u << (it->valueint - 1);
            }
        }
        return HQ_OK;
    default:
        return HQ_OK;
    }
}

/* POST /api/v1/windows/{n}/{action} */
static int api__window(struct hq_api_req *req, void *arg)
{
    struct hq_daemon *d = req->d;
    (void)arg;
    char *end;
    errno = 0;
    long n = strtol(req->tail, &end, 10);
    if (end == req->tail || errno || n < 1 || n > 65535) return HQ_ERR_NOT_FOUND;
    int wi = hq_engine_window_index(&d->eng, (uint16_t)n);
    if (wi < 0) return api__reply_why(req, HQ_ERR_NOT_FOUND, HQ_WHY_NO_WINDOW);
    if (!*end && strcmp(req->method, "GET") == 0) {
        cJSON *o = hq_api_window_json(d, (size_t)wi);
        cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "current");
        if (req->role < HQ_ROLE_CLERK && cJSON_IsObject(t)) hq_api_event_view(t, HQ_TS_CALLED);
        return hq_api_reply_json(req, MHD_HTTP_OK, o);
    }
    if (strcmp(end, "/today") == 0 && strcmp(req->method, "GET") == 0)
        return hqd_console_today(req, (size_t)wi);
    if (*end != '/' || strcmp(req->method, "POST") != 0) return HQ_ERR_NOT_FOUND;
    const char *action = end + 1;
    if (strcmp(action, "cases") == 0 || strcmp(action, "rate-request") == 0) {
        if (hq_api_is(req, HQ_AUTH_CLERK) && req->who.window != n)
            return hq_api_reply_error(req, HQ_ERR_AUTH, "signed in at another window");
        return hqd_rating_window(req, wi, action); /* hqd_rating.c (issue 17) */
    }
    struct hq_cmd cmd = {.window = (uint16_t)n};
    size_t k = 0;
    for (; k < HQ_ARRAY_LEN(api_window_actions); k++)
        if (strcmp(action, api_window_actions[k].action) == 0) break;
    if (k == HQ_ARRAY_LEN(api_window_actions))
        return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such window action");
    /* A clerk's session and a window's tablet are bound to their window; a
     * tablet only rates, and a clerk signs in at a window by a session. */
    if (hq_api_is(req, HQ_AUTH_CLERK | HQ_AUTH_DEVICE) && req->who.window != n)
        return hq_api_reply_error(req, HQ_ERR_AUTH, "signed in at another window");
    if (hq_api_is(req, HQ_AUTH_DEVICE) && api_window_actions[k].cmd != HQ_CMD_RATE)
        return hq_api_reply_error(req, HQ_ERR_AUTH, "a window's tablet may only rate");
    if (hq_api_is(req, HQ_AUTH_CLERK) && api_window_actions[k].cmd == HQ_CMD_LOGIN)
        return hq_api_reply_error(req, HQ_ERR_AUTH, "a clerk signs in by POST /api/v1/session");
    cmd.type = api_window_actions[k].cmd;
    const char *why = NULL;
    int rc = api__window_body(req, &cmd, &why);
    if (rc == HQ_ERR_NOT_FOUND && cmd.type == HQ_CMD_TRANSFER) /* only the service is looked up */
        return api__reply_why(req, rc, HQ_WHY_NO_SERVICE);
    if (rc) return hq_api_reply_error(req, rc, why);
    rc = hqd_apply(d, &cmd);
    if (!rc && cmd.type == HQ_CMD_HELP) hq_api_publish_help(d, (size_t)wi);
    return api__reply_result(req, rc, wi);
}

void hq_api_publish_help(struct hq_daemon *d, size_t wi)
{
    const struct hq_engine *e = &d->eng;
    if (!d->api || wi >= e->cfg->n_windows) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "help");
    cJSON_AddNumberToObject(o, "window", e->cfg->windows[wi].number);
    uint16_t staff = e->win[wi].staff;
    if (staff && staff <= e->cfg->n_staff)
        cJSON_AddStringToObject(o, "staff", e->cfg->staff[staff - 1].id);
    char ts[32];
    hq_time_rfc3339(e->win[wi].help_at ? e->win[wi].help_at : hq_loop_wall_s(),
                    e->cfg->utc_offset_s, ts);
    cJSON_AddStringToObject(o, "at", ts);
    hq_api_publish(d->api, "help", o);
}

static void api__metric(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void api__metric(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (*len + (size_t)n < *cap) {
            *len += (size_t)n;
            return;
        }
        size_t c = *cap * 2 + (size_t)n;
        char *b = realloc(*buf, c);
        if (!b) return;
        *buf = b;
        *cap = c;
    }
}

static int api__metrics(struct hq_api_req *req, void *arg)
{
    struct hq_daemon *d = req->d;
    const struct hq_engine *e = &d->eng;
    (void)arg;
    size_t len = 0, cap = 8192;
    char *b = malloc(cap);
    if (!b) return HQ_ERR_NOMEM;
    b[0] = 0;
    api__metric(&b, &len, &cap, "# TYPE hallq_waiting gauge\n");
    for (size_t i = 0; i < e->cfg->n_services; i++)
        api__metric(&b, &len, &cap, "hallq_waiting{service=\"%s\"} %zu\n", e->cfg->services[i].code,
                    hq_engine_waiting(e, i));
    api__metric(&b, &len, &cap, "# TYPE hallq_estimated_wait_seconds gauge\n");
    for (size_t i = 0; i < e->cfg->n_services; i++)
        api__metric(&b, &len, &cap, "hallq_estimated_wait_seconds{service=\"%s\"} %lld\n",
                    e->cfg->services[i].code, (long long)hq_engine_estimate_wait(e, i));
    api__metric(&b, &len, &cap, "# TYPE hallq_issued_today gauge\n");
    for (size_t i = 0; i < e->cfg->n_services; i++)
        api__metric(&b, &len, &cap, "hallq_issued_today{service=\"%s\"} %u\n",
                    e->cfg->services[i].code, e->svc[i].issued);
    api__metric(&b, &len, &cap, "# TYPE hallq_window_state gauge\n");
    for (size_t i = 0; i < e->cfg->n_windows; i++)
        for (int s = 0; s < HQ_WS__COUNT; s++)
            api__metric(&b, &len, &cap, "hallq_window_state{window=\"%u\",state=\"%s\"} %d\n",
                        e->cfg->windows[i].number, hq_window_state_name(s), e->win[i].state == s);
    int64_t backlog = 0, oldest = 0, last = 0;
    hq_store_outbox_stats(d->store, &backlog, &oldest, &last);
    api__metric(&b, &len, &cap,
                "# TYPE hallq_outbox_backlog gauge\nhallq_outbox_backlog %lld\n"
                "# TYPE hallq_commands_total counter\nhallq_commands_total %llu\n"
                "# TYPE hallq_commands_refused_total counter\nhallq_commands_refused_total %llu\n"
                "# TYPE hallq_commit_failures_total counter\nhallq_commit_failures_total %llu\n"
                "# TYPE hallq_commit_groups_total counter\nhallq_commit_groups_total %llu\n"
                "# TYPE hallq_commands_committed_total counter\n"
                "hallq_commands_committed_total %llu\n"
                "# TYPE hallq_http_requests_total counter\nhallq_http_requests_total %llu\n"
                "# TYPE hallq_sse_clients gauge\nhallq_sse_clients %zu\n"
                "# TYPE hallq_uptime_seconds gauge\nhallq_uptime_seconds %lld\n",
                (long long)backlog, (unsigned long long)d->commands, (unsigned long long)d->refused,
                (unsigned long long)d->commit_failures, (unsigned long long)d->batches,
                (unsigned long long)d->committed, (unsigned long long)req->api->requests,
                req->api->n_clients, (long long)(hq_loop_wall_s() - d->started_at));
    api__metric(
        &b, &len, &cap,
        "# TYPE hallq_http_connections gauge\nhallq_http_connections %zu\n"
        "# TYPE hallq_http_refused_connections_total counter\n"
        "hallq_http_refused_connections_total %llu\n"
        "# TYPE hallq_http_deadline_closed_total counter\n"
        "hallq_http_deadline_closed_total %llu\n"
        "# TYPE hallq_sse_hangups_total counter\nhallq_sse_hangups_total %llu\n"
        "# TYPE hallq_sse_refused_total counter\nhallq_sse_refused_total %llu\n"
        "# TYPE hallq_http_rate_limited_total counter\n"
        "hallq_http_rate_limited_total %llu\n",
        req->api->n_socks, (unsigned long long)req->api->refused_conns,
        (unsigned long long)req->api->deadline_cuts, (unsigned long long)req->api->dead_streams,
        (unsigned long long)req->api->refused_streams, (unsigned long long)req->api->rate_limited);
    size_t bl_cmds = 0, bl_bytes = 0;
    hq_store_backlog(d->store, &bl_cmds, &bl_bytes);
    api__metric(&b, &len, &cap,
                "# TYPE hallq_storage_degraded gauge\nhallq_storage_degraded %d\n"
                "# TYPE hallq_storage_backlog_commands gauge\nhallq_storage_backlog_commands %zu\n"
                "# TYPE hallq_storage_backlog_bytes gauge\nhallq_storage_backlog_bytes %zu\n"
                "# TYPE hallq_storage_deferred_total counter\nhallq_storage_deferred_total %llu\n"
                "# TYPE hallq_storage_lost_total counter\nhallq_storage_lost_total %llu\n"
                "# TYPE hallq_storage_corrupt_moved gauge\nhallq_storage_corrupt_moved %d\n",
                d->storage_degraded, bl_cmds, bl_bytes, (unsigned long long)d->storage_deferred,
                (unsigned long long)d->storage_lost, hq_store_notice(d->store) != NULL);
    for (int i = 0; i < req->api->n_mparts; i++) {
        char *part = req->api->mparts[i].fn(d, req->api->mparts[i].arg);
        if (part) api__metric(&b, &len, &cap, "%s", part);
        free(part);
    }
    int rc =
        hq_api_reply_text(req, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b, len);
    free(b);
    return rc;
}

/* ---------------------------------------------------------- page assets */

static const struct {
    const char *ext, *type;
} api_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".wav", "audio/wav"},
    {".json", "application/json"},
    {".woff2", "font/woff2"},
};

static int api__file(struct hq_api_req *req, const char *rel)
{
    char path[HQ_CFG_PATH_MAX + 128];
    /* Only plain names below web_root: no "..", no hidden files, no odd bytes. */
    for (const char *p = rel; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.' || *p == '/') ||
            (*p == '.' && (p == rel || p[-1] == '/')))
            return HQ_ERR_NOT_FOUND;
    snprintf(path, sizeof path, "%s/%s", req->d->cfg.web_root, rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return HQ_ERR_NOT_FOUND;
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > API_MAX_FILE) {
        close(fd);
        return HQ_ERR_NOT_FOUND;
    }
    const char *type = "application/octet-stream";
    const char *dot = strrchr(rel, '.');
    for (size_t i = 0; dot && i < HQ_ARRAY_LEN(api_types); i++)
        if (strcmp(dot, api_types[i].ext) == 0) type = api_types[i].type;
    struct MHD_Response *r = MHD_create_response_from_fd((size_t)sb.st_size, fd);
    if (!r) {
        close(fd);
        return HQ_ERR_NOMEM;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    /* Pages never load anything from elsewhere: the hall has no internet
     * and a kiosk must not be steered to other sites. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; style-src 'self' "
                            "'unsafe-inline'; media-src 'self'; frame-ancestors 'none'");
    MHD_queue_response(req->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    req->answered = 1;
    return HQ_OK;
}

static int api__page(struct hq_api_req *req, void *arg)
{
    const char *page = arg;
    if (strcmp(req->method, "GET") != 0) return HQ_ERR_NOT_FOUND;
    if (strcmp(page, "assets") == 0) return api__file(req, req->url + 1);
    /* /display/window/{n} is one page that reads n from its URL. */
    if (strcmp(page, "display.html") == 0 && strncmp(req->tail, "/window/", 8) == 0)
        return api__file(req, "window.html");
    /* /t/{uuid}/qr.svg: the ticket's QR code (hqd_qr.c) */
    if (strcmp(page, "ticket.html") == 0 && strchr(req->tail, '/'))
        return hqd_qr_ticket(req, req->tail);
    /* /t/{uuid}, /rate/{uuid}, /pad/{n}: one page that reads its key from its URL */
    if (*req->tail && strcmp(req->tail, "/") != 0 && strcmp(page, "ticket.html") != 0 &&
        strcmp(page, "rate.html") != 0 && strcmp(page, "pad.html") != 0)
        return HQ_ERR_NOT_FOUND;
    return api__file(req, page);
}

/* ------------------------------------------------------------ dispatch */

int hq_api_route_for(struct hq_api *api, const char *method, const char *prefix, unsigned roles,
                     hq_api_handler fn, void *arg)
{
    if (api->n_routes >= API_MAX_ROUTES || strlen(prefix) >= sizeof api->routes[0].prefix)
        return HQ_ERR_LIMIT;
    struct api_route *r = &api->routes[api->n_routes++];
    r->method = method;
    snprintf(r->prefix, sizeof r->prefix, "%s", prefix);
    r->roles = roles;
    r->fn = fn;
    r->arg = arg;
    return HQ_OK;
}

int hq_api_route(struct hq_api *api, const char *method, const char *prefix, int role,
                 hq_api_handler fn, void *arg)
{
    unsigned roles = role >= HQ_ROLE_MANAGER ? HQ_AUTH_ADMIN
                     : role >= HQ_ROLE_CLERK ? HQ_AUTH_WORK
                                             : HQ_AUTH_ANY;
    return hq_api_route_for(api, method, prefix, roles, fn, arg);
}

int hq_api_is(const struct hq_api_req *req, unsigned roles)
{
    return (req->who.auth & roles) != 0;
}

void hq_api_roles_text(unsigned roles, char *buf, size_t len)
{
    static const char *const names[] = {"public",          "clerk session", "desk session",
                                        "manager session", "machine token", "manager machine token",
                                        "window device"};
    size_t n = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < HQ_ARRAY_LEN(names); i++)
        if (roles & (1u << i)) {
            int k = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", names[i]);
            if (k < 0 || (size_t)k >= len - n) break;
            n += (size_t)k;
        }
}

void hq_api_set_session_fn(struct hq_api *api, hq_api_session_fn fn, void *arg)
{
    api->session_fn = fn;
    api->session_arg = arg;
}

int hq_api_status_part(struct hq_api *api, hq_api_status_fn fn, void *arg)
{
    if (api->n_parts >= API_MAX_PARTS) return HQ_ERR_LIMIT;
    api->parts[api->n_parts].fn = fn;
    api->parts[api->n_parts++].arg = arg;
    return HQ_OK;
}

int hq_api_metrics_part(struct hq_api *api, hq_api_metrics_fn fn, void *arg)
{
    if (api->n_mparts >= API_MAX_PARTS) return HQ_ERR_LIMIT;
    api->mparts[api->n_mparts].fn = fn;
    api->mparts[api->n_mparts++].arg = arg;
    return HQ_OK;
}

/* Who sends this request: a configured machine token, else a session
 * (hqd_session.c), else the public. A wrong token is the public too, so a
 * stale token in a kiosk does not stop it showing the queue. */
static void api__auth(struct hq_api *api, struct MHD_Connection *conn, struct hq_api_who *who)
{
    memset(who, 0, sizeof *who);
    who->auth = HQ_AUTH_PUBLIC;
    snprintf(who->actor, sizeof who->actor, "public");
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0) return;
    h += 7;
    size_t hl = strlen(h);
    const struct hq_token_cfg *found = NULL;
    for (int i = 0; i < api->d->cfg.n_tokens; i++) {
        const struct hq_token_cfg *t = &api->d->cfg.tokens[i];
        size_t tl = strlen(t->token);
        /* constant-time compare: the token is the only lock on the clerk API */
        unsigned diff = (unsigned)(hl ^ tl);
        for (size_t k = 0; k < tl; k++)
            diff |= (unsigned)(t->token[k] ^ (k < hl ? h[k] : 0));
        if (!diff) found = t;
    }
    if (found) {
        who->auth = strcmp(found->role, "manager") == 0  ? HQ_AUTH_MACHINE_MANAGER
                    : strcmp(found->role, "device") == 0 ? HQ_AUTH_DEVICE
                                                         : HQ_AUTH_MACHINE;
        who->window = found->window;
        snprintf(who->actor, sizeof who->actor, "%s:%s",
                 who->auth == HQ_AUTH_DEVICE ? "device" : "token", found->name);
        return;
    }
    struct hq_api_who s;
    if (api->session_fn && api->session_fn(api->d, h, &s, api->session_arg) == HQ_OK) *who = s;
}

static int api__level(unsigned auth)
{
    if (auth & HQ_AUTH_ADMIN) return HQ_ROLE_MANAGER;
    if (auth & HQ_AUTH_WORK) return HQ_ROLE_CLERK;
    return HQ_ROLE_NONE;
}

static int api__dispatch(struct hq_api *api, struct hq_api_req *req)
{
    /* hallqd is stopping: the modules behind the routes (their state, their status parts)
     * are going or gone, so what the server still drains is refused, never served */
    if (req->d && req->d->stopping) return hq_api_reply_error(req, HQ_ERR_STOPPING, NULL);
    struct api_route *best = NULL;
    size_t best_len = 0;
    for (int i = 0; i < api->n_routes; i++) {
        struct api_route *r = &api->routes[i];
        size_t n = strlen(r->prefix);
        if (strncmp(req->url, r->prefix, n) != 0) continue;
        /* "/kiosk" must not match "/kiosks": a prefix ends at a '/' or the end */
        char next = req->url[n];
        if (n > 1 && r->prefix[n - 1] != '/' && next && next != '/') continue;
        if (n == 1 && next) continue; /* "/" is the landing page, not every path */
        if (r->method && strcmp(r->method, req->method) != 0) continue;
        if (n >= best_len) {
            best = r;
            best_len = n;
        }
    }
    if (!best) {
        int any = 0; /* the path exists for another method: 405 */
        for (int i = 0; i < api->n_routes; i++)
            if (strcmp(req->url, api->routes[i].prefix) == 0) any = 1;
        if (any) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "error", "method");
            cJSON_AddStringToObject(o, "message", "不支持的请求方法");
            cJSON_AddStringToObject(o, "message_en", "method not allowed");
            return hq_api_reply_json(req, MHD_HTTP_METHOD_NOT_ALLOWED, o);
        }
        return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no such path");
    }
    if (!(req->who.auth & best->roles)) {
        char need[160], why[200];
        hq_api_roles_text(best->roles, need, sizeof need);
        snprintf(why, sizeof why, "this needs a %s", need);
        return hq_api_reply_error(req, HQ_ERR_AUTH, why);
    }
    req->tail = req->url + best_len;
    /* every command the handler runs records who gave it (hqd_apply) */
    snprintf(api->d->actor, sizeof api->d->actor, "%s", req->who.actor);
    int rc = best->fn(req, best->arg);
    api->d->actor[0] = 0;
    if (!req->answered) return hq_api_reply_error(req, rc ? rc : HQ_ERR_INVALID, NULL);
    return HQ_OK;
}

static enum MHD_Result api__access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_size, void **con_cls)
{
    struct hq_api *api = cls;
    struct api_conn *ac = *con_cls;
    (void)version;
    if (!ac) {
        ac = calloc(1, sizeof *ac);
        if (!ac) return MHD_NO;
        *con_cls = ac;
        return MHD_YES;
    }
    if (ac->held) { /* resumed after its group's commit */
        struct MHD_Response *r = ac->held;
        ac->held = NULL;
        enum MHD_Result q = MHD_queue_response(conn, ac->held_status, r);
        MHD_destroy_response(r);
        return q;
    }
    if (*upload_size) {
        size_t max = api->d->cfg.http_max_body;
        if (!ac->too_big && ac->len + *upload_size <= max) {
            char *b = realloc(ac->body, ac->len + *upload_size + 1);
            if (!b) return MHD_NO;
            memcpy(b + ac->len, upload_data, *upload_size);
            ac->body = b;
            ac->len += *upload_size;
            ac->body[ac->len] = 0;
        } else {
            ac->too_big = 1; /* keep reading, answer 413 at the end */
        }
        *upload_size = 0;
        return MHD_YES;
    }

    api->requests++;
    struct api_sock *sock = api__sock_of(conn);
    if (sock) sock->busy = 1; /* read in full: the deadline is met */
    struct hq_api_req req = {
        .api = api, .d = api->d, .method = method, .url = url, .conn = conn, .ac = ac};
    api__auth(api, conn, &req.who);
    req.role = api__level(req.who.auth);
    if (ac->too_big) {
        hq_api_reply_error(&req, HQ_ERR_LIMIT, "request body too large");
        return MHD_YES;
    }
    if (!api__host_ok(api, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host"))) {
        /* A page from elsewhere reaching hallqd through DNS rebinding. */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "error", "host");
        cJSON_AddStringToObject(o, "message", "请求的主机名不属于本大厅");
        cJSON_AddStringToObject(o, "message_en",
                                "the Host header does not name this hall (see http.hosts)");
        hq_api_reply_json(&req, MHD_HTTP_MISDIRECTED_REQUEST, o);
        return MHD_YES;
    }
    if (ac->len || strcmp(method, "POST") == 0) {
        /* Only JSON, declared as such: a form, text/plain, sendBeacon or a
         * typeless Blob is what any web page may send without a CORS
         * preflight, so none of them may act. */
        const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
        if (ac->len && !api__json_type(type)) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "error", "media_type");
            cJSON_AddStringToObject(o, "message", "请求体须为 JSON");
            cJSON_AddStringToObject(o, "message_en", "the body must be application/json");
            hq_api_reply_json(&req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, o);
            return MHD_YES;
        }
    }
    if (strcmp(method, "POST") == 0) {
        /* JSON never holds a raw NUL; cJSON would stop at one and read "A\0B" as "A". */
        req.body = !ac->len                       ? cJSON_CreateObject()
                   : memchr(ac->body, 0, ac->len) ? NULL
                                                  : cJSON_ParseWithLength(ac->body, ac->len);
        if (!cJSON_IsObject(req.body)) {
            cJSON_Delete(req.body);
            hq_api_reply_error(&req, HQ_ERR_INVALID, "the body must be a JSON object");
            return MHD_YES;
        }
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "error", "method");
        cJSON_AddStringToObject(o, "message", "不支持的请求方法");
        cJSON_AddStringToObject(o, "message_en", "method not allowed");
        hq_api_reply_json(&req, MHD_HTTP_METHOD_NOT_ALLOWED, o);
        return MHD_YES;
    }
    if (strcmp(method, "HEAD") == 0) req.method = "GET";
    api__dispatch(api, &req);
    cJSON_Delete(req.body);
    return MHD_YES;
}

static void api__completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct api_conn *ac = *con_cls;
    struct hq_api *api = cls;
    (void)toe;
    struct api_sock *sock = conn ? api__sock_of(conn) : NULL;
    if (sock) { /* a kept-alive connection's next request starts its clock now */
        sock->busy = 0;
        sock->kept = 1;
        sock->since_ms = hq_loop_now_ms(api->d->loop);
    }
    if (!ac) return;
    if (ac->held) MHD_destroy_response(ac->held);
    /* A body may hold an ID number typed at the guide desk (hqd_desk.c): never left in the heap. */
    if (ac->body) explicit_bzero(ac->body, ac->len);
    free(ac->body);
    free(ac);
    *con_cls = NULL;
}

/* -------------------------------------------------------- loop plumbing */

static void api__run(struct hq_api *api)
{
    api->resumed = 0;
    MHD_run(api->mhd);
    /* Commit this turn's commands now, so the replies held for them go out
     * in the next MHD_run (scheduled at once by api__schedule). */
    hqd_flush(api->d);
    api__schedule(api);
}

/* The group was committed (rc 0) or lost (rc != 0): send or replace the
 * replies held for it. */
static void api__on_flush(struct hq_daemon *d, int rc, void *arg)
{
    struct hq_api *api = arg;
    (void)d;
    while (api->held) {
        struct api_conn *ac = api->held;
        api->held = ac->next_held;
        ac->next_held = NULL;
        if (rc) {
            MHD_destroy_response(ac->held);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "error", hq_strerror(rc));
            cJSON_AddStringToObject(o, "message", hq_strerror_zh(rc));
            cJSON_AddStringToObject(o, "message_en", hq_strerror_en(rc));
            char *body = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            ac->held = MHD_create_response_from_buffer(body ? strlen(body) : 0, body ? body : "",
                                                       MHD_RESPMEM_MUST_COPY);
            free(body);
            if (ac->held)
                MHD_add_response_header(ac->held, MHD_HTTP_HEADER_CONTENT_TYPE,
                                        "application/json; charset=utf-8");
            ac->held_status = hq_api_http_status(rc);
            api->errors5xx++;
        }
        MHD_resume_connection(ac->conn);
        api->resumed = 1;
    }
    if (api->resumed && api->timer) {
        hq_loop_timer_cancel(api->d->loop, api->timer);
        api->timer = hq_loop_timer(api->d->loop, 0, api__on_timer, api);
    }
}

static void api__on_timer(struct hq_loop *loop, void *arg)
{
    struct hq_api *api = arg;
    (void)loop;
    api->timer = 0;
    api__run(api);
}

static void api__schedule(struct hq_api *api)
{
    MHD_UNSIGNED_LONG_LONG to = 0;
    uint64_t ms = 1000;
    if (MHD_get_timeout(api->mhd, &to) == MHD_YES) ms = to < 1000 ? to : 1000;
    /* resumed connections need a turn of MHD_run even when no fd is ready */
    for (struct api_sse *c = api->clients; c; c = c->next)
        if (!c->suspended) ms = 0;
    if (api->resumed) ms = 0;
    if (api->timer) hq_loop_timer_cancel(api->d->loop, api->timer);
    api->timer = hq_loop_timer(api->d->loop, ms, api__on_timer, api);
}

static void api__on_fd(struct hq_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    api__run(arg);
}

static void api__mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = 0;
    /* A page closed (a browser tab, a phone locked) while its event stream
     * was open: libmicrohttpd says "Failed to send ... Error: The connection
     * was forcibly closed". That is every stream's normal end, not a fault:
     * debug level, in words (issue 14). */
    if (strncmp(line, "Failed to send", 14) == 0 && strstr(line, "/api/v1/events")) {
        LOG_DEBUG("HTTP", "an event-stream client went away (page closed): %s", line);
        return;
    }
    LOG_INFO("HTTP", "%s", line);
}

static int api__parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host) return HQ_ERR_CONFIG;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) return HQ_ERR_CONFIG;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    memset(ss, 0, sizeof *ss);
    if (host[0] == '[') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        size_t hl = strlen(host);
        if (hl < 3 || host[hl - 1] != ']') return HQ_ERR_CONFIG;
        host[hl - 1] = 0;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) return HQ_ERR_CONFIG;
        *len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return HQ_ERR_CONFIG;
        *len = sizeof *a;
    }
    return HQ_OK;
}

/* Descriptors: the soft limit raised to the hard one, and a max_clients
 * the hard limit cannot serve refused at start rather than found out on a
 * busy morning (config/hallqd.service sets LimitNOFILE). */
static int api__fd_limit(const struct hq_config *c)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return HQ_OK;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            LOG_INFO("HTTP", "open files: soft limit raised from %llu to %llu",
                     (unsigned long long)old, (unsigned long long)rl.rlim_cur);
        else
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t need = (rlim_t)c->http_max_clients + API_FD_SPARE;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        LOG_ERR(
            "HTTP",
            "%s: $.http.max_clients: %u clients need %llu open files, but the limit is "
            "%llu: lower max_clients to %llu or raise LimitNOFILE (ulimit -n)",
            c->file, c->http_max_clients, (unsigned long long)need, (unsigned long long)rl.rlim_cur,
            rl.rlim_cur > API_FD_SPARE ? (unsigned long long)(rl.rlim_cur - API_FD_SPARE) : 0ull);
        return HQ_ERR_CONFIG;
    }
    return HQ_OK;
}

/* The listening socket, made here rather than by MHD: without SO_REUSEPORT
 * (two daemons on one port would split the hall's requests between two
 * databases), and with the exact reason when the address is taken. */
static int api__listen_socket(const struct hq_config *c, const struct sockaddr_storage *ss,
                              socklen_t sl)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        LOG_ERR("HTTP", "cannot listen on %s: socket: %s", c->http_listen, strerror(errno));
        return -1;
    }
    int one = 1; /* SO_REUSEADDR: a restart may bind over TIME_WAIT, never over a listener */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* a deep accept queue: a connection flood that hallqd refuses one by one
     * must not make a good client's SYN wait for a retransmit */
    if (bind(fd, (const struct sockaddr *)ss, sl) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        if (e == EADDRINUSE)
            LOG_ERR("HTTP",
                    "cannot listen on %s ($.http.listen in %s): the address is already in use "
                    "- another hallqd (or another program) serves it. One hall has one hallqd: "
                    "stop the other one first (systemctl stop hallqd), or give this one "
                    "another address",
                    c->http_listen, c->file);
        else
            LOG_ERR("HTTP", "cannot listen on %s ($.http.listen in %s): %s", c->http_listen,
                    c->file, strerror(e));
        close(fd);
        return -1;
    }
    return fd;
}

int hq_api_init(struct hq_daemon *d)
{
    struct hq_api *api = calloc(1, sizeof *api);
    if (!api) return HQ_ERR_NOMEM;
    api->d = d;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (api__parse_listen(d->cfg.http_listen, &ss, &sl)) {
        LOG_ERR("HTTP", "%s: $.http.listen: \"%s\" is not host:port", d->cfg.file,
                d->cfg.http_listen);
        free(api);
        return HQ_ERR_CONFIG;
    }
    if (api__fd_limit(&d->cfg)) {
        free(api);
        return HQ_ERR_CONFIG;
    }
    {
        const char *colon = strrchr(d->cfg.http_listen, ':');
        snprintf(api->listen_host, sizeof api->listen_host, "%.*s",
                 (int)(colon - d->cfg.http_listen), d->cfg.http_listen);
        static const uint8_t any6[16], lo6[16] = {[15] = 1};
        if (ss.ss_family == AF_INET) {
            uint32_t a = ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr);
            api->listen_any = a == 0;
            api->listen_loopback = (a >> 24) == 127;
        } else {
            const uint8_t *a = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
            api->listen_any = memcmp(a, any6, 16) == 0;
            api->listen_loopback = memcmp(a, lo6, 16) == 0;
        }
    }
    /* device slots: kiosks are devices too */
    int rc =
        api__ip_list(d->cfg.http_device_addrs, d->cfg.n_http_device_addrs, &api->dev, &api->n_dev);
    if (!rc) {
        struct api_ip *all =
            realloc(api->dev, (api->n_dev + (size_t)d->cfg.n_http_kiosk_addrs + 1) * sizeof *all);
        if (!all)
            rc = HQ_ERR_NOMEM;
        else
            api->dev = all;
    }
    if (!rc)
        rc = api__ip_list(d->cfg.http_kiosk_addrs, d->cfg.n_http_kiosk_addrs, &api->kiosk,
                          &api->n_kiosk);
    for (size_t i = 0; !rc && i < api->n_kiosk; i++)
        if (api__ip_find(api->dev, api->n_dev, &api->kiosk[i]) < 0)
            api->dev[api->n_dev++] = api->kiosk[i];
    if (!rc)
        rc = api__ip_list(d->cfg.http_public_addrs, d->cfg.n_http_public_addrs, &api->pub,
                          &api->n_pub);
    if (!rc)
        rc = api__ip_list(d->cfg.http_trusted_proxies, d->cfg.n_http_trusted_proxies, &api->proxy,
                          &api->n_proxy);
    if (!rc && !(api->dev_conns = calloc(api->n_dev + 1, sizeof *api->dev_conns)))
        rc = HQ_ERR_NOMEM;
    if (rc) {
        free(api->dev), free(api->kiosk), free(api->pub), free(api->proxy), free(api->dev_conns);
        free(api);
        return rc;
    }
    api->reserved_free = api->n_dev * d->cfg.http_device_slots;
    int lfd = api__listen_socket(&d->cfg, &ss, sl);
    if (lfd < 0) {
        free(api->dev), free(api->kiosk), free(api->pub), free(api->proxy), free(api->dev_conns);
        free(api);
        return HQ_ERR_IO;
    }
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    /* MHD's own limits are backstops one above ours: api__accept decides. */
    api->mhd = MHD_start_daemon(
        flags, 0, api__accept, api, api__access, api, MHD_OPTION_EXTERNAL_LOGGER, api__mhd_log, api,
        MHD_OPTION_LISTEN_SOCKET, lfd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)d->cfg.http_max_clients + 1, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_IDLE_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
        api__completed, api, MHD_OPTION_NOTIFY_CONNECTION, api__notify_conn, api, MHD_OPTION_END);
    if (!api->mhd) {
        LOG_ERR("HTTP", "cannot serve on %s: %s", d->cfg.http_listen, strerror(errno));
        close(lfd);
        free(api->dev), free(api->kiosk), free(api->pub), free(api->proxy), free(api->dev_conns);
        free(api);
        return HQ_ERR_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    api->epfd = info ? info->epoll_fd : -1;
    if (api->epfd < 0 || hq_loop_add_fd(d->loop, api->epfd, EPOLLIN, api__on_fd, api)) {
        MHD_stop_daemon(api->mhd);
        free(api->dev), free(api->kiosk), free(api->pub), free(api->proxy), free(api->dev_conns);
        free(api);
        return HQ_ERR_IO;
    }
    d->api = api;
    hq_api_route_for(api, "GET", "/api/v1/status", HQ_AUTH_ANY, api__status, NULL);
    hq_api_route_for(api, "GET", "/api/v1/events", HQ_AUTH_ANY, api__events, NULL);
    hq_api_route_for(api, "POST", "/api/v1/tickets", HQ_AUTH_ANY, api__issue, NULL);
    hq_api_route_for(api, "GET", "/api/v1/tickets/", HQ_AUTH_ANY, api__ticket, NULL);
    hq_api_route_for(api, "POST", "/api/v1/tickets/", HQ_AUTH_ADMIN | HQ_AUTH_DESK, api__ticket,
                     NULL);
    hq_api_route_for(api, "POST", "/api/v1/windows/",
                     HQ_AUTH_CLERK | HQ_AUTH_MANAGER | HQ_AUTH_MACHINE | HQ_AUTH_MACHINE_MANAGER |
                         HQ_AUTH_DEVICE,
                     api__window, NULL);
    hq_api_route_for(api, "GET", "/api/v1/windows/", HQ_AUTH_ANY, api__window, NULL);
    hq_api_route_for(api, "GET", "/metrics", HQ_AUTH_ANY, api__metrics, NULL);
    hq_api_route_for(api, "GET", "/display", HQ_AUTH_ANY, api__page, "display.html");
    hq_api_route_for(api, "GET", "/kiosk", HQ_AUTH_ANY, api__page, "kiosk.html");
    hq_api_route_for(api, "GET", "/admin", HQ_AUTH_ANY, api__page, "admin.html");
    hq_api_route_for(api, "GET", "/console", HQ_AUTH_ANY, api__page, "console.html");
    /* a clerk's printable monthly 考核 sheet (issue 18; its data needs the manager session) */
    hq_api_route_for(api, "GET", "/admin/assessment", HQ_AUTH_ANY, api__page, "assessment.html");
    hq_api_route_for(api, "GET", "/desk", HQ_AUTH_ANY, api__page, "desk.html");
    hq_api_route_for(api, "GET", "/t/", HQ_AUTH_ANY, api__page, "ticket.html");
    hq_api_route_for(api, "GET", "/rate/", HQ_AUTH_ANY, api__page, "rate.html");
    hq_api_route_for(api, "GET", "/pad/", HQ_AUTH_ANY, api__page, "pad.html");
    hq_api_route_for(api, "GET", "/assets/", HQ_AUTH_ANY, api__page, "assets");
    hq_api_route_for(api, "GET", "/", HQ_AUTH_ANY, api__page, "index.html");
    hqd_on_result(d, api__on_result, api);
    d->on_flush = api__on_flush;
    d->on_flush_arg = api;
    api->ping_timer = hq_loop_timer(d->loop, API_SSE_PING_MS, api__sse_ping, api);
    api->deadline_timer = hq_loop_timer(d->loop, API_DEADLINE_TICK_MS, api__deadlines, api);
    api__schedule(api);
    LOG_INFO("HTTP", "listening on %s", d->cfg.http_listen);
    return HQ_OK;
}

void hq_api_fini(struct hq_daemon *d)
{
    struct hq_api *api = d->api;
    if (!api) return;
    hqd_flush(d); /* releases held replies */
    d->on_flush = NULL;
    /* MHD must not be stopped with suspended connections (microhttpd.h). */
    for (struct api_sse *c = api->clients; c; c = c->next) {
        c->dead = 1;
        api__sse_wake(c);
    }
    MHD_run(api->mhd);
    hq_loop_del_fd(d->loop, api->epfd);
    hq_loop_timer_cancel(d->loop, api->timer);
    hq_loop_timer_cancel(d->loop, api->ping_timer);
    hq_loop_timer_cancel(d->loop, api->deadline_timer);
    MHD_stop_daemon(api->mhd);
    free(api->dev), free(api->kiosk), free(api->pub), free(api->proxy), free(api->dev_conns);
    free(api);
    d->api = NULL;
}
