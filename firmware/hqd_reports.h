/*
 * hqd_reports.h — reports over any period: the rollup job and the routes
 * /api/v1/admin/reports* (hqd_reports.c; the figures are figures.h).
 */
#ifndef HQD_REPORTS_H
#define HQD_REPORTS_H

#include "daemon.h"

int hqd_reports_init(struct hq_daemon *d);
void hqd_reports_fini(struct hq_daemon *d);

#endif
