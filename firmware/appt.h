/*
 * appt.h — appointments (预约) kept for check-in: what the central server
 * hands down (PROTOCOLS.md §5) stored in the hall's database, and the rules a
 * check-in follows. No loop, no HTTP: the down-link (sync.c) stores answers
 * here and the check-in module (hqd_appointments.c) asks here, so the rules
 * are unit-tested on their own.
 *
 * One appointment, one ticket, even across a crash. A check-in claims the
 * row (status 'checking_in', checked_in_ticket = the uuid the new ticket will
 * have) BEFORE the ticket is committed, and marks it 'checked_in' with its
 * outbox record after. On start-up (and before any check-in) appt_recover()
 * settles a claim a crash left behind: the ticket exists -> finish it; it
 * does not -> release the claim (the citizen got nothing and may check in).
 *
 *   down-link:   booked | cancelled | checked_in (at another hall)
 *   local:       booked --claim--> checking_in --ticket committed--> checked_in
 *                                      '--refused / crash before commit--> booked
 */
#ifndef HQ_APPT_H
#define HQ_APPT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "sync_proto.h"

/* Appointments older than this many days leave the table at each pull. */
#define APPT_KEEP_DAYS 30

struct appt_row {
    char id[SYNC_APPT_ID_MAX + 1];
    char service[SYNC_APPT_SERVICE_MAX + 1];
    char date[11];
    char slot_start[6], slot_end[6];
    char booking_code[SYNC_APPT_BOOKING_MAX + 1];
    char name_masked[SYNC_APPT_NAME_MAX + 1];
    char status[16]; /* booked, cancelled, checked_in, checking_in */
    char ticket[37]; /* checked_in_ticket, "" if none */
};

/* Unix time of HH:MM on date (YYYY-MM-DD) in the hall's local time; -1 if
 * either is malformed. */
int64_t appt_local_time(const char *date, const char *hhmm, int32_t utc_offset_s);
/* The hall's local date of now as YYYY-MM-DD. */
void appt_local_date(int64_t now, int32_t utc_offset_s, char out[11]);

/* When a citizen arrives relative to the slot start (decision, documented in
 * docs: too early is refused and the appointment kept; late past the grace
 * still gets a ticket, a normal one). */
enum appt_timing { APPT_EARLY = -1, APPT_ON_TIME = 0, APPT_LATE = 1 };
enum appt_timing appt_timing(int64_t now, int64_t slot_start, uint32_t early_s, uint32_t grace_s);

/* Does the appointment's hex id_hash (64 hex digits, any case) name the
 * card whose full keyed hash is hash? Constant time over the digits. */
bool appt_hash_matches(const char *hex, const uint8_t hash[32]);
void appt_hash_hex(const uint8_t hash[32], char out[65]);

/* Store one appointments answer and its cursor (meta 'appointments_cursor')
 * into db, inside the caller's transaction. A row this hall has claimed or
 * checked in keeps its local status whatever the server says (its view lags
 * ours). Rows older than APPT_KEEP_DAYS before today are dropped. */
int appt_store_apply(sqlite3 *db, const struct sync_appointments *a, int64_t now,
                     int32_t utc_offset_s);
/* The stored cursor ("" when none yet). */
int appt_cursor_get(sqlite3 *db, char *out, size_t cap);

/* Look-ups. HQ_OK, HQ_ERR_NOT_FOUND, HQ_ERR_DB. By card: the appointments of
 * date for that hash (of service when not NULL), open ones first, earliest
 * slot first. */
int appt_find_code(sqlite3 *db, const char *booking_code, struct appt_row *out);
int appt_find_hash(sqlite3 *db, const uint8_t hash[32], const char *date, const char *service,
                   struct appt_row *out);
int appt_get(sqlite3 *db, const char *id, struct appt_row *out);

/* The claim protocol (see the top of this file). claim: HQ_ERR_STATE when
 * the row is not open (claimed, checked in, cancelled). release / checked_in
 * act only on the claim of that ticket. */
int appt_claim(sqlite3 *db, const char *id, const char *ticket_uuid, int64_t now);
int appt_release(sqlite3 *db, const char *id, const char *ticket_uuid, int64_t now);
int appt_mark_checked_in(sqlite3 *db, const char *id, const char *ticket_uuid, int64_t now);

/* Settle every claim a crash left: when the claimed ticket is in the tickets
 * table, finish(arg, row) must mark it checked in (with its outbox record);
 * otherwise the claim is released here. Returns the number of claims
 * settled, or -1 on a database error. */
typedef int (*appt_finish_fn)(void *arg, const struct appt_row *row);
int appt_recover(sqlite3 *db, int64_t now, appt_finish_fn finish, void *arg);

#endif
