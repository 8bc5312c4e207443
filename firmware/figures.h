/*
 * figures.h — the report figures (报表/考核) of one hall: their definitions,
 * the per-day rollups and the report over any period.
 *
 * Every figure is defined here and only here (docs/DESIGN.md "Report
 * figures"): hq_fig_build_day() turns one business day's raw rows (tickets,
 * evaluations, the event log, the managers' exclusions) into additive rows of
 * fig_day, one per (scope, key): the hall, each service, window and clerk.
 * hq_fig_report() sums those rows over a period and derives the shares,
 * means and percentiles. Today is never rolled up: its rows are built into a
 * TEMP table by the same function, so "live" and "rebuilt" are one code path
 * and cannot disagree. The central server reuses this file on its own
 * copies of the rows (the SQL is plain SQLite/PostgreSQL-common).
 */
#ifndef HQ_FIGURES_H
#define HQ_FIGURES_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdint.h>

#include "engine.h"

enum hq_fig_scope { HQ_FIG_HALL, HQ_FIG_SERVICE, HQ_FIG_WINDOW, HQ_FIG_CLERK, HQ_FIG__COUNT };

/* Waits and handling times are kept as histograms so percentiles add up over
 * days: 1-minute buckets below 40 min, 5-minute buckets up to 155 min, one
 * open bucket past that. A percentile is its bucket's upper edge (capped by
 * the true maximum), so p50/p90 are exact to the minute below 40 minutes. */
#define HQ_FIG_BUCKETS 64

struct hq_fig_opts {
    uint32_t wait_threshold_s; /* reports.wait_threshold_s */
};

const char *hq_fig_scope_name(int scope);
int hq_fig_scope_from(const char *name); /* -1: unknown */

/* Create the tables when missing (fig_day, fig_exclusions). Not a schema
 * migration: other parts number those; these tables stand alone. */
int hq_fig_schema(sqlite3 *db, char *err, size_t errlen);

/* Whether the raw rows of `day` can still be rolled up: its event log is
 * complete (not yet purged). */
int hq_fig_day_rebuildable(sqlite3 *db, const struct hq_engine_cfg *c, int32_t day);

/* Roll up one business day into `table` ("fig_day" or "temp.fig_live"),
 * replacing its rows. `now` caps sessions still open (unix s). Runs in the
 * caller's transaction. */
int hq_fig_build_day(sqlite3 *db, const struct hq_engine_cfg *c, const struct hq_fig_opts *o,
                     int32_t day, int64_t now, const char *table, char *err, size_t errlen);

/* The report of [from, to] (business days) by scope: fig_day for the days
 * before `today`, the live rows (built now) for today. *out gets
 * {from,to,by,days,live_days,rows:[...],total:{...}}. */
int hq_fig_report(sqlite3 *db, const struct hq_engine_cfg *c, const struct hq_fig_opts *o,
                  int32_t from, int32_t to, int scope, int32_t today, int64_t now, cJSON **out,
                  char *err, size_t errlen);

/* Delete rollups of days before `before`. */
int hq_fig_purge(sqlite3 *db, int32_t before);

/* Percentile of a bucket histogram (0 < p < 1); -1 when empty. */
int64_t hq_fig_percentile(const uint32_t *hist, double p, int64_t max);
int hq_fig_bucket(int64_t seconds);

#endif
