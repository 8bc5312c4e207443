/*
 * hqd_session.h — staff sign-in on hallqd's loop (docs/API.md "Sessions"):
 *
 *   POST /api/v1/session            {"staff","pin", "window":N | "desk":true}  sign in
 *   GET  /api/v1/session            who am I
 *   POST /api/v1/session/logout     sign out (revokes the token)
 *   POST /api/v1/session/pin        {"old","new"}  change my own PIN
 *   GET  /api/v1/admin/staff        the roster with roles, PIN set, live sessions
 *   POST /api/v1/admin/staff/ID/pin {"pin"}  a manager sets a PIN
 *
 * The pure parts (PIN hashes, tokens, back-off) are session.c.
 */
#ifndef HQD_SESSION_H
#define HQD_SESSION_H

#include <cjson/cJSON.h>

#include "api.h"
#include "daemon.h"

int hqd_session_init(struct hq_daemon *d);
void hqd_session_fini(struct hq_daemon *d);

/* Sign in from the body of req ({"staff","pin",...}) and answer it. role
 * forces the session's role ("manager" for /api/v1/admin/login), NULL
 * takes it from the body. extra (consumed, may be NULL) is merged into the
 * reply. */
int hqd_session_sign_in(struct hq_api_req *req, const char *role, cJSON *extra);

#endif
