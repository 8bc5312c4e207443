/*
 * appt.c — appointments in the hall's database and the check-in rules
 * (appt.h). Every statement here runs on the store's own connection, inside
 * the caller's transaction where it writes.
 */
#include "appt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hq.h"

int64_t appt_local_time(const char *date, const char *hhmm, int32_t utc_offset_s)
{
    if (!sync_valid_date(date) || !sync_valid_hhmm(hhmm)) return -1;
    int32_t days = hq_days_from_ymd(atoi(date), atoi(date + 5), atoi(date + 8));
    return (int64_t)days * 86400 + atoi(hhmm) * 3600 + atoi(hhmm + 3) * 60 - utc_offset_s;
}

void appt_local_date(int64_t now, int32_t utc_offset_s, char out[11])
{
    int64_t l = now + utc_offset_s;
    int32_t days = (int32_t)(l >= 0 ? l / 86400 : (l - 86399) / 86400);
    int y, m, d;
    hq_ymd_from_days(days, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

enum appt_timing appt_timing(int64_t now, int64_t slot_start, uint32_t early_s, uint32_t grace_s)
{
    if (now < slot_start - (int64_t)early_s) return APPT_EARLY;
    if (now > slot_start + (int64_t)grace_s) return APPT_LATE;
    return APPT_ON_TIME;
}

static int appt__hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool appt_hash_matches(const char *hex, const uint8_t hash[32])
{
    if (!hex || strlen(hex) != 64) return false;
    unsigned diff = 0;
    bool bad = false;
    for (int i = 0; i < 32; i++) {
        int hi = appt__hexval(hex[2 * i]), lo = appt__hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) bad = true;
        /* unsigned before the shift: hi is -1 for a non-hex digit, and -1 << 4 is undefined
         * behaviour (UBSan in the sanitizer run); the result is ignored then (bad). */
        diff |= ((((unsigned)hi << 4) | (unsigned)lo) ^ hash[i]) & 0xffu;
    }
    return !bad && diff == 0;
}

void appt_hash_hex(const uint8_t hash[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", hash[i]);
}

static void appt__bind_opt(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

int appt_store_apply(sqlite3 *db, const struct sync_appointments *a, int64_t now,
                     int32_t utc_offset_s)
{
    sqlite3_stmt *up = NULL, *cur = NULL, *old = NULL;
    int rc = HQ_ERR_DB;
    /* A row we claimed or checked in keeps its local status: the server's
     * copy lags ours until our checkin record reaches it. */
    if (sqlite3_prepare_v2(
            db,
            "INSERT INTO appointments(id, service, date, slot_start, slot_end, id_hash,"
            " booking_code, name_masked, status, checked_in_ticket, updated_at)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,NULL,?10)"
            " ON CONFLICT(id) DO UPDATE SET service=?2, date=?3, slot_start=?4, slot_end=?5,"
            " id_hash=?6, booking_code=?7, name_masked=?8,"
            " status=CASE WHEN checked_in_ticket IS NULL THEN ?9 ELSE status END,"
            " updated_at=?10",
            -1, &up, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO meta(key, value) VALUES('appointments_cursor', ?)"
                           " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                           -1, &cur, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "DELETE FROM appointments WHERE date < ? AND status != 'checking_in'",
                           -1, &old, NULL) != SQLITE_OK)
        goto fail;
    for (size_t i = 0; i < a->count; i++) {
        const struct sync_appointment *p = &a->items[i];
        sqlite3_bind_text(up, 1, p->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 2, p->service, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 3, p->date, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 4, p->slot_start, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 5, p->slot_end, -1, SQLITE_STATIC);
        appt__bind_opt(up, 6, p->id_hash);
        appt__bind_opt(up, 7, p->booking_code);
        appt__bind_opt(up, 8, p->name_masked);
        sqlite3_bind_text(up, 9, sync_appt_status_name(p->status), -1, SQLITE_STATIC);
        sqlite3_bind_int64(up, 10, now);
        if (sqlite3_step(up) != SQLITE_DONE) goto fail;
        sqlite3_reset(up);
        sqlite3_clear_bindings(up);
    }
    sqlite3_bind_text(cur, 1, a->cursor, -1, SQLITE_STATIC);
    if (sqlite3_step(cur) != SQLITE_DONE) goto fail;
    char cutoff[11];
    appt_local_date(now - (int64_t)APPT_KEEP_DAYS * 86400, utc_offset_s, cutoff);
    sqlite3_bind_text(old, 1, cutoff, -1, SQLITE_STATIC);
    if (sqlite3_step(old) != SQLITE_DONE) goto fail;
    rc = HQ_OK;
fail:
    if (rc) LOG_ERR("APPT", "storing appointments failed: %s", sqlite3_errmsg(db));
    sqlite3_finalize(up);
    sqlite3_finalize(cur);
    sqlite3_finalize(old);
    return rc;
}

int appt_cursor_get(sqlite3 *db, char *out, size_t cap)
{
    sqlite3_stmt *q = NULL;
    out[0] = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='appointments_cursor'", -1, &q,
                           NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    if (sqlite3_step(q) == SQLITE_ROW)
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return HQ_OK;
}

#define APPT_COLS                                                                                  \
    "id, service, date, slot_start, slot_end, booking_code, name_masked, status, "                 \
    "checked_in_ticket"

static void appt__col(sqlite3_stmt *q, int i, char *dst, size_t cap)
{
    const char *v = (const char *)sqlite3_column_text(q, i);
    snprintf(dst, cap, "%s", v ? v : "");
}

static void appt__row(sqlite3_stmt *q, struct appt_row *r)
{
    appt__col(q, 0, r->id, sizeof r->id);
    appt__col(q, 1, r->service, sizeof r->service);
    appt__col(q, 2, r->date, sizeof r->date);
    appt__col(q, 3, r->slot_start, sizeof r->slot_start);
    appt__col(q, 4, r->slot_end, sizeof r->slot_end);
    appt__col(q, 5, r->booking_code, sizeof r->booking_code);
    appt__col(q, 6, r->name_masked, sizeof r->name_masked);
    appt__col(q, 7, r->status, sizeof r->status);
    appt__col(q, 8, r->ticket, sizeof r->ticket);
}

/* Run q (bound) and take its first row. */
static int appt__first(sqlite3 *db, sqlite3_stmt *q, struct appt_row *out)
{
    int step = sqlite3_step(q), rc;
    if (step == SQLITE_ROW) {
        appt__row(q, out);
        rc = HQ_OK;
    } else {
        rc = step == SQLITE_DONE ? HQ_ERR_NOT_FOUND : HQ_ERR_DB;
        if (rc == HQ_ERR_DB) LOG_ERR("APPT", "look-up failed: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(q);
    return rc;
}

int appt_find_code(sqlite3 *db, const char *booking_code, struct appt_row *out)
{
    sqlite3_stmt *q = NULL;
    if (!booking_code || !*booking_code) return HQ_ERR_NOT_FOUND;
    /* Codes are read out and typed in: case does not count. Several rows with
     * one code (a re-booking): the newest date first. */
    if (sqlite3_prepare_v2(db,
                           "SELECT " APPT_COLS " FROM appointments WHERE booking_code=? COLLATE "
                           "NOCASE ORDER BY (status IN ('booked','checking_in')) DESC, date DESC, "
                           "slot_start LIMIT 1",
                           -1, &q, NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    sqlite3_bind_text(q, 1, booking_code, -1, SQLITE_STATIC);
    return appt__first(db, q, out);
}

int appt_find_hash(sqlite3 *db, const uint8_t hash[32], const char *date, const char *service,
                   struct appt_row *out)
{
    sqlite3_stmt *q = NULL;
    char hex[65];
    appt_hash_hex(hash, hex);
    if (sqlite3_prepare_v2(db,
                           "SELECT " APPT_COLS ", id_hash FROM appointments WHERE"
                           " lower(id_hash)=?1 AND date=?2 AND (?3 IS NULL OR service=?3)"
                           " ORDER BY (status='booked' AND checked_in_ticket IS NULL) DESC,"
                           " slot_start",
                           -1, &q, NULL) != SQLITE_OK)
        return HQ_ERR_DB;
    sqlite3_bind_text(q, 1, hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, date, -1, SQLITE_STATIC);
    if (service) sqlite3_bind_text(q, 3, service, -1, SQLITE_STATIC);
    int step, rc = HQ_ERR_NOT_FOUND;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        /* The SQL narrowed by the hex text; the match itself is the
         * byte-wise comparison. */
        if (!appt_hash_matches((const char *)sqlite3_column_text(q, 9), hash)) continue;
        appt__row(q, out);
        rc = HQ_OK;
        break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) rc = HQ_ERR_DB;
    sqlite3_finalize(q);
    return rc;
}

int appt_get(sqlite3 *db, const char *id, struct appt_row *out)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT " APPT_COLS " FROM appointments WHERE id=?", -1, &q, NULL) !=
        SQLITE_OK)
        return HQ_ERR_DB;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    return appt__first(db, q, out);
}

/* One UPDATE; *changed = rows it changed. */
static int appt__update(sqlite3 *db, const char *sql, const char *id, const char *ticket,
                        int64_t now, int *changed)
{
    sqlite3_stmt *u = NULL;
    int rc = HQ_ERR_DB;
    if (sqlite3_prepare_v2(db, sql, -1, &u, NULL) != SQLITE_OK) goto fail;
    sqlite3_bind_text(u, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(u, 2, ticket, -1, SQLITE_STATIC);
    sqlite3_bind_int64(u, 3, now);
    if (sqlite3_step(u) != SQLITE_DONE) goto fail;
    *changed = sqlite3_changes(db);
    rc = HQ_OK;
fail:
    if (rc) LOG_ERR("APPT", "appointment %s: %s", id, sqlite3_errmsg(db));
    sqlite3_finalize(u);
    return rc;
}

int appt_claim(sqlite3 *db, const char *id, const char *ticket_uuid, int64_t now)
{
    int n = 0;
    int rc = appt__update(db,
                          "UPDATE appointments SET status='checking_in', checked_in_ticket=?2,"
                          " updated_at=?3 WHERE id=?1 AND status='booked'"
                          " AND checked_in_ticket IS NULL",
                          id, ticket_uuid, now, &n);
    if (rc) return rc;
    return n == 1 ? HQ_OK : HQ_ERR_STATE;
}

int appt_release(sqlite3 *db, const char *id, const char *ticket_uuid, int64_t now)
{
    int n = 0;
    return appt__update(db,
                        "UPDATE appointments SET status='booked', checked_in_ticket=NULL,"
                        " updated_at=?3 WHERE id=?1 AND checked_in_ticket=?2"
                        " AND status='checking_in'",
                        id, ticket_uuid, now, &n);
}

int appt_mark_checked_in(sqlite3 *db, const char *id, const char *ticket_uuid, int64_t now)
{
    int n = 0;
    int rc = appt__update(db,
                          "UPDATE appointments SET status='checked_in', updated_at=?3"
                          " WHERE id=?1 AND checked_in_ticket=?2 AND status='checking_in'",
                          id, ticket_uuid, now, &n);
    if (rc) return rc;
    return n == 1 ? HQ_OK : HQ_ERR_STATE;
}

int appt_recover(sqlite3 *db, int64_t now, appt_finish_fn finish, void *arg)
{
    sqlite3_stmt *q = NULL, *t = NULL;
    struct appt_row *rows = NULL;
    size_t n = 0, cap = 0;
    int settled = -1;
    if (sqlite3_prepare_v2(db, "SELECT " APPT_COLS " FROM appointments WHERE status='checking_in'",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT 1 FROM tickets WHERE uuid=?", -1, &t, NULL) != SQLITE_OK)
        goto fail;
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            struct appt_row *nr = realloc(rows, cap * sizeof *rows);
            if (!nr) goto fail;
            rows = nr;
        }
        appt__row(q, &rows[n++]);
    }
    if (step != SQLITE_DONE) goto fail;
    settled = 0;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(t, 1, rows[i].ticket, -1, SQLITE_STATIC);
        int exists = sqlite3_step(t) == SQLITE_ROW;
        sqlite3_reset(t);
        int rc;
        if (exists) {
            LOG_NOTICE("APPT",
                       "appointment %s: its ticket was issued before a restart; "
                       "finishing the check-in",
                       rows[i].id);
            rc = finish(arg, &rows[i]);
        } else {
            LOG_NOTICE("APPT",
                       "appointment %s: the check-in was cut before its ticket was "
                       "saved; the appointment is open again",
                       rows[i].id);
            rc = appt_release(db, rows[i].id, rows[i].ticket, now);
        }
        if (rc) {
            settled = -1;
            break;
        }
        settled++;
    }
fail:
    if (settled < 0) LOG_ERR("APPT", "settling check-ins failed: %s", sqlite3_errmsg(db));
    sqlite3_finalize(q);
    sqlite3_finalize(t);
    free(rows);
    return settled;
}
