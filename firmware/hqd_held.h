/*
 * hqd_held.h — staff re-register a number a citizen holds on paper.
 */
#ifndef HQD_HELD_H
#define HQD_HELD_H

#include "daemon.h"

int hqd_held_init(struct hq_daemon *d);

#endif
