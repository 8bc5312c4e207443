/*
 * hqd_desk.h — the guide desk's ticket route (POST /api/v1/desk/issue).
 */
#ifndef HQD_DESK_H
#define HQD_DESK_H

#include "daemon.h"

int hqd_desk_init(struct hq_daemon *d);

#endif
