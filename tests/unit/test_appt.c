/*
 * test_appt.c — appointments in the hall's database and the check-in rules
 * (firmware/appt.h): local slot times, the early/on-time/late decision, the
 * card hash match (against a hash made the way the ID-card driver makes it),
 * storing a down-link answer (local check-ins survive a lagging server),
 * look-ups, and the claim protocol with its crash recovery.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appt.h"
#include "check.h"
#include "config.h"
#include "store.h"

static const char *cfg_json =
    "{\"hall\": {\"id\": \"appt-test\", \"name\": \"预约测试\", \"name_en\": \"Appt test\"},"
    " \"http\": {\"tokens\": [{\"token\": \"appt-test-token-0001\", \"role\": \"clerk\"}]},"
    " \"store\": {\"database\": \"hall.db\"},"
    " \"privacy\": {\"id_hash_key\": \"test-id-hash-key-0123456789\"},"
    " \"services\": ["
    "  {\"code\": \"A\", \"name\": \"社保\", \"name_en\": \"Social\", \"prefix\": \"A\","
    "   \"range\": [1, 999], \"digits\": 3, \"hours\": {\"all\": [\"00:00-24:00\"]}}],"
    " \"windows\": [{\"number\": 1, \"services\": [\"A\"]}],"
    " \"staff\": [{\"id\": \"1001\", \"name\": \"王芳\"}]}";

/* 2026-11-23 09:30:00 +08:00 */
#define T0 1795397400LL
#define CST 28800

/* hmac(b"test-id-hash-key-0123456789", b"11010519580312123X", sha256),
 * computed by Python's hmac module: what a central server would send. */
static const char *card_hex = "1707305867d604da349c2c711994e1569cbad57032167da81b2600bde9b1a756";
static uint8_t card[32];

static int64_t scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) return -2;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void test_times(void)
{
    CHECK_EQ_INT(appt_local_time("2026-11-23", "09:30", CST), T0);
    CHECK_EQ_INT(appt_local_time("2026-11-23", "00:00", CST), T0 - 9 * 3600 - 1800);
    CHECK_EQ_INT(appt_local_time("2026-02-30", "09:30", CST), -1);
    CHECK_EQ_INT(appt_local_time("2026-11-23", "24:00", CST), -1);
    CHECK_EQ_INT(appt_local_time("2026-11-23", "9:30", CST), -1);
    char d[11];
    appt_local_date(T0, CST, d);
    CHECK_EQ_STR(d, "2026-11-23");
    appt_local_date(T0 + 14 * 3600 + 1800, CST, d); /* 00:00 local the next day */
    CHECK_EQ_STR(d, "2026-11-24");
    appt_local_date(T0 + 14 * 3600 + 1799, CST, d);
    CHECK_EQ_STR(d, "2026-11-23");

    static const struct {
        const char *legend;
        int64_t now;
        int want;
    } cases[] = {
        {"31 min early", T0 - 1860, APPT_EARLY},
        {"exactly 30 min early", T0 - 1800, APPT_ON_TIME},
        {"at the start", T0, APPT_ON_TIME},
        {"15 min late: still in grace", T0 + 900, APPT_ON_TIME},
        {"15 min 1 s late", T0 + 901, APPT_LATE},
        {"hours late", T0 + 5 * 3600, APPT_LATE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = appt_timing(cases[i].now, T0, 1800, 900);
        if (got != cases[i].want) fprintf(stderr, "timing: %s\n", cases[i].legend);
        CHECK_EQ_INT(got, cases[i].want);
    }
    CHECK_EQ_INT(appt_timing(T0 - 1, T0, 0, 0), APPT_EARLY);
    CHECK_EQ_INT(appt_timing(T0 + 1, T0, 0, 0), APPT_LATE);
}

static void test_hash(void)
{
    static const char id[] = "11010519580312123X", key[] = "test-id-hash-key-0123456789";
    unsigned len = 0;
    CHECK(HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)id, strlen(id), card,
               &len) != NULL);
    CHECK_EQ_INT(len, 32);
    char upper[65], hex[65];
    snprintf(upper, sizeof upper, "%s", card_hex);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 32);
    appt_hash_hex(card, hex);
    CHECK_EQ_STR(hex, card_hex);

    char onebit[65];
    snprintf(onebit, sizeof onebit, "%s", card_hex);
    onebit[63] = onebit[63] == '6' ? '7' : '6';
    const struct {
        const char *legend, *hex;
        int want;
    } cases[] = {
        {"lower-case hex", NULL, 1},
        {"upper-case hex", upper, 1},
        {"last digit differs", onebit, 0},
        {"first 8 bytes only (what a ticket keeps)", "1707305867d604da", 0},
        {"one digit too many", "1707305867d604da349c2c711994e1569cbad57032167da81b2600bde9b1a7560",
         0},
        {"not hex", "z707305867d604da349c2c711994e1569cbad57032167da81b2600bde9b1a756", 0},
        {"empty", "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = appt_hash_matches(cases[i].hex ? cases[i].hex : card_hex, card);
        if (got != cases[i].want) fprintf(stderr, "hash: %s\n", cases[i].legend);
        CHECK_EQ_INT(got, cases[i].want);
    }
    CHECK(!appt_hash_matches(NULL, card));
}

/* Parse a down-link answer exactly as the daemon does. */
static void answer(sqlite3 *db, const char *json, int64_t now)
{
    struct sync_appointments a;
    const char *why = NULL;
    CHECK_EQ_INT(sync_appointments_parse(json, strlen(json), &a, &why), HQ_OK);
    CHECK_EQ_INT(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    CHECK_EQ_INT(appt_store_apply(db, &a, now, CST), HQ_OK);
    CHECK_EQ_INT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sync_appointments_free(&a);
}

static int finished;
static char finished_id[80];

static int on_finish(void *arg, const struct appt_row *row)
{
    sqlite3 *db = arg;
    finished++;
    snprintf(finished_id, sizeof finished_id, "%s", row->id);
    return appt_mark_checked_in(db, row->id, row->ticket, T0);
}

static void test_store(const char *dir)
{
    static struct hq_config cfg;
    char err[512] = "", path[300];
    struct hq_store *st = NULL;
    CHECK_EQ_INT(hq_config_parse("appt.json", dir, cfg_json, &cfg, err, sizeof err), HQ_OK);
    snprintf(path, sizeof path, "%s/hall.db", dir);
    unlink(path);
    CHECK_EQ_INT(hq_store_open(&cfg, &st, err, sizeof err), HQ_OK);
    if (!st) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    sqlite3 *db = hq_store_db(st);
    char cur[200];
    CHECK_EQ_INT(appt_cursor_get(db, cur, sizeof cur), HQ_OK);
    CHECK_EQ_STR(cur, "");

    char json[2048];
    snprintf(json, sizeof json,
             "{\"cursor\":\"3\",\"appointments\":["
             "{\"id\":\"ap1\",\"service\":\"A\",\"date\":\"2026-11-23\",\"slot_start\":\"09:30\","
             "\"slot_end\":\"10:00\",\"id_hash\":\"\",\"booking_code\":\"K7Q2M\","
             "\"name_masked\":\"张*\",\"status\":\"booked\"},"
             "{\"id\":\"ap2\",\"service\":\"A\",\"date\":\"2026-11-23\",\"slot_start\":\"11:00\","
             "\"slot_end\":\"11:30\",\"id_hash\":\"%s\",\"booking_code\":\"\","
             "\"name_masked\":\"李*\",\"status\":\"booked\"},"
             "{\"id\":\"ap3\",\"service\":\"A\",\"date\":\"2026-10-01\",\"slot_start\":\"09:00\","
             "\"slot_end\":\"09:30\",\"id_hash\":\"%s\",\"booking_code\":\"OLD1\","
             "\"name_masked\":\"\",\"status\":\"booked\"}]}",
             card_hex, card_hex);
    answer(db, json, T0);
    CHECK_EQ_INT(appt_cursor_get(db, cur, sizeof cur), HQ_OK);
    CHECK_EQ_STR(cur, "3");
    /* ap3 is older than 30 days: dropped at once. */
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM appointments"), 2);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM appointments WHERE id='ap1' AND id_hash IS NULL"
                            " AND booking_code='K7Q2M'"),
                 1);

    struct appt_row r;
    CHECK_EQ_INT(appt_find_code(db, " k7q2m", &r), HQ_ERR_NOT_FOUND); /* callers trim */
    CHECK_EQ_INT(appt_find_code(db, "k7q2m", &r), HQ_OK);             /* case does not count */
    CHECK_EQ_STR(r.id, "ap1");
    CHECK_EQ_STR(r.name_masked, "张*");
    CHECK_EQ_INT(appt_find_code(db, "", &r), HQ_ERR_NOT_FOUND);
    CHECK_EQ_INT(appt_find_hash(db, card, "2026-11-23", NULL, &r), HQ_OK);
    CHECK_EQ_STR(r.id, "ap2");
    CHECK_EQ_INT(appt_find_hash(db, card, "2026-11-24", NULL, &r), HQ_ERR_NOT_FOUND);
    CHECK_EQ_INT(appt_find_hash(db, card, "2026-11-23", "B", &r), HQ_ERR_NOT_FOUND);
    uint8_t other[32];
    memcpy(other, card, 32);
    other[31] ^= 1;
    CHECK_EQ_INT(appt_find_hash(db, other, "2026-11-23", NULL, &r), HQ_ERR_NOT_FOUND);

    /* The claim protocol. */
    const char *u1 = "11111111-1111-4111-8111-111111111111";
    const char *u2 = "22222222-2222-4222-8222-222222222222";
    CHECK_EQ_INT(appt_claim(db, "ap1", u1, T0), HQ_OK);
    CHECK_EQ_INT(appt_claim(db, "ap1", u2, T0), HQ_ERR_STATE); /* one appointment, one ticket */
    CHECK_EQ_INT(appt_mark_checked_in(db, "ap1", u2, T0), HQ_ERR_STATE);
    CHECK_EQ_INT(appt_release(db, "ap1", u2, T0), HQ_OK); /* not its claim: nothing happens */
    CHECK_EQ_INT(appt_get(db, "ap1", &r), HQ_OK);
    CHECK_EQ_STR(r.status, "checking_in");
    CHECK_EQ_STR(r.ticket, u1);
    CHECK_EQ_INT(appt_release(db, "ap1", u1, T0), HQ_OK);
    CHECK_EQ_INT(appt_get(db, "ap1", &r), HQ_OK);
    CHECK_EQ_STR(r.status, "booked");
    CHECK_EQ_STR(r.ticket, "");
    CHECK_EQ_INT(appt_claim(db, "ap1", u1, T0), HQ_OK);
    CHECK_EQ_INT(appt_mark_checked_in(db, "ap1", u1, T0), HQ_OK);
    CHECK_EQ_INT(appt_claim(db, "ap1", u2, T0), HQ_ERR_STATE);

    /* The server still says booked (it has not heard of the check-in yet),
     * then cancels ap2: ap1 stays checked in, ap2 follows the server. */
    answer(db,
           "{\"cursor\":\"5\",\"appointments\":["
           "{\"id\":\"ap1\",\"service\":\"A\",\"date\":\"2026-11-23\",\"slot_start\":\"09:30\","
           "\"slot_end\":\"10:00\",\"booking_code\":\"K7Q2M\",\"status\":\"booked\"},"
           "{\"id\":\"ap2\",\"service\":\"A\",\"date\":\"2026-11-23\",\"slot_start\":\"11:00\","
           "\"slot_end\":\"11:30\",\"booking_code\":\"Z9\",\"status\":\"cancelled\"}]}",
           T0 + 60);
    CHECK_EQ_INT(appt_get(db, "ap1", &r), HQ_OK);
    CHECK_EQ_STR(r.status, "checked_in");
    CHECK_EQ_STR(r.ticket, u1);
    CHECK_EQ_INT(appt_get(db, "ap2", &r), HQ_OK);
    CHECK_EQ_STR(r.status, "cancelled");
    CHECK_EQ_INT(appt_claim(db, "ap2", u2, T0), HQ_ERR_STATE);
    CHECK_EQ_INT(appt_cursor_get(db, cur, sizeof cur), HQ_OK);
    CHECK_EQ_STR(cur, "5");

    /* Crash recovery: two claims left behind; one ticket was committed. */
    CHECK_EQ_INT(
        sqlite3_exec(db,
                     "INSERT INTO appointments VALUES('ap4','A','2026-11-23','12:00',"
                     "'12:30',NULL,'C4',NULL,'checking_in',"
                     "'44444444-4444-4444-8444-444444444444',0);"
                     "INSERT INTO appointments VALUES('ap5','A','2026-11-23','12:00',"
                     "'12:30',NULL,'C5',NULL,'checking_in',"
                     "'55555555-5555-4555-8555-555555555555',0);"
                     "INSERT INTO tickets(uuid, day, service, orig_service, serial, number,"
                     " label, priority, channel, status, recalls, requeues, flags, window,"
                     " target_window, issued_at, queued_at) VALUES("
                     "'55555555-5555-4555-8555-555555555555',20780,'A','A',1,1,'A001',"
                     "'appointment','appointment','waiting',0,0,0,0,0,1795397400,"
                     "1795397400);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    finished = 0;
    CHECK_EQ_INT(appt_recover(db, T0, on_finish, db), 2);
    CHECK_EQ_INT(finished, 1);
    CHECK_EQ_STR(finished_id, "ap5");
    CHECK_EQ_INT(appt_get(db, "ap4", &r), HQ_OK);
    CHECK_EQ_STR(r.status, "booked");
    CHECK_EQ_STR(r.ticket, "");
    CHECK_EQ_INT(appt_get(db, "ap5", &r), HQ_OK);
    CHECK_EQ_STR(r.status, "checked_in");
    CHECK_EQ_INT(appt_recover(db, T0, on_finish, db), 0);
    CHECK_EQ_INT(finished, 1);
    hq_store_close(st);
    hq_config_free(&cfg);
}

int main(void)
{
    char dir[] = "/tmp/hallq-appt-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    test_times();
    test_hash();
    test_store(dir);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_report("test_appt");
}
