/*
 * api.h — hallqd's HTTP side (PROTOCOLS.md §6): the JSON API, Server-Sent
 * Events, /metrics and the page assets, served by libmicrohttpd on the
 * daemon's own epoll loop (no extra thread: MHD's epoll fd is a loop source).
 *
 * Other modules extend it without touching this file's routing: they add
 * routes (hq_api_route), parts of /api/v1/status (hq_api_status_part) and
 * publish SSE events (hq_api_publish).
 */
#ifndef HQ_API_H
#define HQ_API_H

#include <cjson/cJSON.h>

#include "daemon.h"

/* Who calls the API (docs/API.md "Roles"): one bit each. A request is
 * exactly one of them; a route accepts a mask of them (hq_api_route_for),
 * and the API checks it in one place before the handler runs. */
enum hq_api_auth {
    HQ_AUTH_PUBLIC = 1u << 0,          /* nobody signed in: kiosk, display, a citizen's phone */
    HQ_AUTH_CLERK = 1u << 1,           /* a clerk's session, bound to one window */
    HQ_AUTH_DESK = 1u << 2,            /* a guide desk (导服台) session */
    HQ_AUTH_MANAGER = 1u << 3,         /* a manager's session */
    HQ_AUTH_MACHINE = 1u << 4,         /* http.tokens role clerk: business system, scripts */
    HQ_AUTH_MACHINE_MANAGER = 1u << 5, /* http.tokens role manager: hallqctl, admin scripts */
    HQ_AUTH_DEVICE = 1u << 6,          /* http.tokens role device: a tablet at its window */
};
#define HQ_AUTH_ANY 0x7fu
#define HQ_AUTH_STAFF (HQ_AUTH_CLERK | HQ_AUTH_DESK | HQ_AUTH_MANAGER) /* any session */
#define HQ_AUTH_ADMIN (HQ_AUTH_MANAGER | HQ_AUTH_MACHINE_MANAGER)
#define HQ_AUTH_WORK (HQ_AUTH_STAFF | HQ_AUTH_MACHINE | HQ_AUTH_MACHINE_MANAGER)

/* The older "least role" levels, still taken by hq_api_route and set in
 * req->role: NONE = anyone, CLERK = any session or machine token (not a
 * device), MANAGER = HQ_AUTH_ADMIN. */
enum hq_api_role { HQ_ROLE_NONE = 0, HQ_ROLE_CLERK, HQ_ROLE_MANAGER };

/* The caller of one request, as the API authenticated it. */
struct hq_api_who {
    unsigned auth;       /* one enum hq_api_auth bit */
    char staff[16];      /* sessions: the staff id */
    uint16_t window;     /* clerk session, device: its window number; 0 = none */
    char actor[40];      /* for the event log: "staff:1001/clerk", "token:NAME", "public" */
    char token_hash[65]; /* sessions: the stored hash of the session token */
};

/* One request as a route handler sees it. */
struct api_conn;
struct hq_api_req {
    struct hq_api *api;
    struct hq_daemon *d;
    const char *method;    /* "GET", "POST" */
    const char *url;       /* path without the query */
    const char *tail;      /* the part of url after the route's prefix */
    cJSON *body;           /* parsed JSON body of a POST (an object), NULL for GET */
    int role;              /* enum hq_api_role from the bearer token */
    struct hq_api_who who; /* exactly who it is (role is derived from who.auth) */
    void *conn;            /* struct MHD_Connection */
    struct api_conn *ac;   /* per-connection state, NULL outside a connection */
    int answered;
    unsigned retry_after; /* > 0: the reply carries Retry-After (s) */
};

/* The kiosk a request comes from: "kiosk" in the JSON body or ?kiosk= in
 * the URL (devices.card_readers[].kiosk); NULL when not given. HQ_ERR_INVALID
 * for a value that cannot be a kiosk id. */
int hq_api_kiosk_arg(struct hq_api_req *req, const char **kiosk);

/* Manager sign-in's per-address back-off (a token bucket, as anonymous
 * issuing has): HQ_OK to go on, or HQ_ERR_LIMIT after answering 429 with
 * Retry-After. */
int hq_api_login_backoff(struct hq_api_req *req);

/* Handler of a route: answer with hq_api_reply_* and return HQ_OK, or
 * return an error and the API answers it as JSON. */
typedef int (*hq_api_handler)(struct hq_api_req *req, void *arg);
/* Adds a part to /api/v1/status (e.g. "devices", "printers", "sync"). */
typedef void (*hq_api_status_fn)(struct hq_daemon *d, cJSON *status, void *arg);
/* Adds lines to /metrics: Prometheus text ("# TYPE x gauge\nx 1\n"),
 * malloc'd (the API frees it), NULL for nothing. */
typedef char *(*hq_api_metrics_fn)(struct hq_daemon *d, void *arg);

int hq_api_init(struct hq_daemon *d);
void hq_api_fini(struct hq_daemon *d);

/* Route METHOD and every path that starts with prefix to fn; role is the
 * least role a caller needs. Longest prefix wins. */
int hq_api_route(struct hq_api *api, const char *method, const char *prefix, int role,
                 hq_api_handler fn, void *arg);
/* The same with the exact roles the route accepts (a mask of enum
 * hq_api_auth): every other caller is answered 401 before fn runs. */
int hq_api_route_for(struct hq_api *api, const char *method, const char *prefix, unsigned roles,
                     hq_api_handler fn, void *arg);
/* Whether the request's caller is one of roles: for a field of a route that
 * needs more than the route (a priority class on an issue). */
int hq_api_is(const struct hq_api_req *req, unsigned roles);
/* "clerk session, manager session": the roles of a mask in words. */
void hq_api_roles_text(unsigned roles, char *buf, size_t len);

/* Sessions (hqd_session.c): resolve a bearer token that is no configured
 * token. Fill who and answer HQ_OK, or HQ_ERR_AUTH. */
typedef int (*hq_api_session_fn)(struct hq_daemon *d, const char *token, struct hq_api_who *who,
                                 void *arg);
void hq_api_set_session_fn(struct hq_api *api, hq_api_session_fn fn, void *arg);
int hq_api_status_part(struct hq_api *api, hq_api_status_fn fn, void *arg);
/* Add fn's lines to every /metrics answer (after the API's own). */
int hq_api_metrics_part(struct hq_api *api, hq_api_metrics_fn fn, void *arg);

/* Replies; json is consumed. */
int hq_api_reply_json(struct hq_api_req *req, unsigned status, cJSON *json);
int hq_api_reply_text(struct hq_api_req *req, unsigned status, const char *content_type,
                      const char *body, size_t len);
int hq_api_reply_error(struct hq_api_req *req, int err, const char *detail);
/* The HTTP status an error maps to (404 for HQ_ERR_NOT_FOUND, ...). */
unsigned hq_api_http_status(int err);

/* Send an SSE event to every /api/v1/events client; data is consumed. */
void hq_api_publish(struct hq_api *api, const char *event, cJSON *data);

/* JSON of one ticket / window / the whole status, for other modules too. */
cJSON *hq_api_ticket_json(struct hq_daemon *d, int32_t ticket);
/* Trim a ticket JSON (hq_api_ticket_json) of status `status` for the public
 * event stream: no masked name, and no uuid while it waits (issue 14). */
void hq_api_event_view(cJSON *ticket, int status);
cJSON *hq_api_window_json(struct hq_daemon *d, size_t idx);
/* SSE `help` {kind "help", window, staff, at}: window index idx's clerk called the hall
 * manager (after an applied HQ_CMD_HELP, from the API or a keypad's help key). */
void hq_api_publish_help(struct hq_daemon *d, size_t idx);
cJSON *hq_api_status_json(struct hq_daemon *d);

#endif
