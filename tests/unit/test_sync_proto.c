/*
 * test_sync_proto.c — the central sync bodies and rules: batch limits (500
 * records, 1 MiB), record validation, the acknowledgement table, the
 * appointments table, the 4xx classification and the backoff sequence.
 */
#include "check.h"
#include "hq.h"
#include "sync_proto.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sync_record rec(int64_t seq, const char *data)
{
    return (struct sync_record){.seq = seq,
                                .uuid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                                .type = "ticket",
                                .at = "2026-11-23T09:05:00+08:00",
                                .data = data};
}

static void test_batch_basic(void)
{
    struct sync_record r[3] = {rec(1, "{\"number\":\"A001\"}"), rec(2, " { \"n\" : [1,2] } "),
                               rec(5, "{\"text\":\"办理很快\\n\\\"好\\\"\"}")};
    r[1].type = "event";
    r[2].type = "evaluation";
    r[2].uuid = "quote\"d";
    struct sync_batch b;
    CHECK_EQ_INT(sync_batch_build("H1", 0, r, 3, 0, 0, &b, NULL), HQ_OK);
    CHECK_EQ_INT(b.count, 3);
    CHECK_EQ_INT(b.first_seq, 1);
    CHECK_EQ_INT(b.last_seq, 5);
    CHECK_EQ_INT(strlen(b.body), b.len);
    /* Read it back with cJSON: the body is what the server will parse. */
    cJSON *j = cJSON_Parse(b.body);
    CHECK(j != NULL);
    CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "hall_id")), "H1");
    cJSON *recs = cJSON_GetObjectItem(j, "records");
    CHECK_EQ_INT(cJSON_GetArraySize(recs), 3);
    cJSON *r2 = cJSON_GetArrayItem(recs, 2);
    CHECK_EQ_INT(cJSON_GetObjectItem(r2, "seq")->valuedouble, 5);
    CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r2, "uuid")), "quote\"d");
    CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r2, "type")), "evaluation");
    CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(r2, "data"), "text")),
                 "办理很快\n\"好\"");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 1), "data")), 1);
    CHECK(cJSON_GetObjectItem(j, "gone_through") == NULL); /* only when there is a gap */
    cJSON_Delete(j);
    sync_batch_free(&b);

    /* gone_through: below the first record's seq, else refused */
    struct sync_record late[2] = {rec(4501, "{}"), rec(4502, "{}")};
    CHECK_EQ_INT(sync_batch_build("H1", 4500, late, 2, 0, 0, &b, NULL), HQ_OK);
    CHECK(strncmp(b.body, "{\"hall_id\":\"H1\",\"gone_through\":4500,\"records\":[", 47) == 0);
    j = cJSON_Parse(b.body);
    CHECK(j != NULL);
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "gone_through")->valuedouble, 4500);
    cJSON_Delete(j);
    sync_batch_free(&b);
    CHECK_EQ_INT(sync_batch_build("H1", 4501, late, 2, 0, 0, &b, NULL), HQ_ERR_INVALID);
    CHECK_EQ_INT(sync_batch_build("H1", -1, late, 2, 0, 0, &b, NULL), HQ_ERR_INVALID);
}

static void test_batch_invalid(void)
{
    static const struct {
        const char *legend;
        int64_t seq0, seq1;
        const char *type, *at, *data;
        int rc;
        size_t bad;
    } t[] = {
        {"good", 1, 2, "ticket", "2026-01-02T03:04:05Z", "{}", HQ_OK, 0},
        {"seq not increasing", 3, 3, "ticket", "2026-01-02T03:04:05Z", "{}", HQ_ERR_INVALID, 1},
        {"seq decreasing", 3, 2, "ticket", "2026-01-02T03:04:05Z", "{}", HQ_ERR_INVALID, 1},
        {"seq zero", 0, 1, "ticket", "2026-01-02T03:04:05Z", "{}", HQ_ERR_INVALID, 0},
        {"unknown type", 1, 2, "gossip", "2026-01-02T03:04:05Z", "{}", HQ_ERR_INVALID, 0},
        {"at without offset", 1, 2, "ticket", "2026-01-02T03:04:05", "{}", HQ_ERR_INVALID, 0},
        {"at bad month", 1, 2, "ticket", "2026-13-02T03:04:05+08:00", "{}", HQ_ERR_INVALID, 0},
        {"at fraction", 1, 2, "ticket", "2026-01-02T03:04:05.250+08:00", "{}", HQ_OK, 0},
        {"data an array", 1, 2, "ticket", "2026-01-02T03:04:05Z", "[]", HQ_ERR_INVALID, 0},
        {"data broken", 1, 2, "ticket", "2026-01-02T03:04:05Z", "{\"a\":", HQ_ERR_INVALID, 0},
        {"data trailing", 1, 2, "ticket", "2026-01-02T03:04:05Z", "{} x", HQ_ERR_INVALID, 0},
        /* The data goes out verbatim once the syntax check passes. */
        {"data nested, spaces", 1, 2, "ticket", "2026-01-02T03:04:05Z",
         " {\"a\": [1, -2.5e3, true, null, {\"b\": \"\\u4e2d\\n\"}]} ", HQ_OK, 0},
        {"data bad escape", 1, 2, "ticket", "2026-01-02T03:04:05Z", "{\"a\":\"\\x\"}",
         HQ_ERR_INVALID, 0},
        {"data short \\u", 1, 2, "ticket", "2026-01-02T03:04:05Z", "{\"a\":\"\\u12\"}",
         HQ_ERR_INVALID, 0},
        {"data raw control char", 1, 2, "ticket", "2026-01-02T03:04:05Z", "{\"a\":\"x\ty\"}",
         HQ_ERR_INVALID, 0},
        {"data leading zero", 1, 2, "ticket", "2026-01-02T03:04:05Z", "{\"a\":01}", HQ_ERR_INVALID,
         0},
        {"data bare word", 1, 2, "ticket", "2026-01-02T03:04:05Z", "{\"a\":yes}", HQ_ERR_INVALID,
         0},
        {"data key not a string", 1, 2, "ticket", "2026-01-02T03:04:05Z", "{a:1}", HQ_ERR_INVALID,
         0},
        {"data trailing comma", 1, 2, "ticket", "2026-01-02T03:04:05Z", "{\"a\":1,}",
         HQ_ERR_INVALID, 0},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(t); i++) {
        struct sync_record r[2] = {rec(t[i].seq0, t[i].data), rec(t[i].seq1, "{}")};
        r[0].type = t[i].type;
        r[0].at = t[i].at;
        struct sync_batch b;
        size_t bad = 99;
        int rc = sync_batch_build("H1", 0, r, 2, 0, 0, &b, &bad);
        CHECK_EQ_INT(rc, t[i].rc);
        if (rc == HQ_OK) {
            CHECK_EQ_INT(b.count, 2);
            sync_batch_free(&b);
        } else {
            CHECK_EQ_INT(bad, t[i].bad);
        }
        if (rc != t[i].rc) fprintf(stderr, "  case: %s\n", t[i].legend);
    }
    struct sync_record r = rec(1, " {\"n\": 1.50, \"t\":\"\u4e2d\"}\n");
    struct sync_batch b;
    CHECK_EQ_INT(sync_batch_build("H1", 0, &r, 1, 0, 0, &b, NULL), HQ_OK);
    CHECK(b.body && strstr(b.body, ",\"data\":{\"n\": 1.50, \"t\":\"\u4e2d\"}}]}") != NULL);
    sync_batch_free(&b);
    /* Nesting: 60 levels pass, 70 are refused (a bound, not a stack overflow). */
    char deep[200];
    for (int depth = 60; depth <= 70; depth += 10) {
        size_t k = 0;
        deep[k++] = '{';
        deep[k++] = '"';
        deep[k++] = 'a';
        deep[k++] = '"';
        deep[k++] = ':';
        for (int d = 0; d < depth; d++)
            deep[k++] = '[';
        for (int d = 0; d < depth; d++)
            deep[k++] = ']';
        deep[k++] = '}';
        deep[k] = 0;
        struct sync_record dr = rec(1, deep);
        int drc = sync_batch_build("H1", 0, &dr, 1, 0, 0, &b, NULL);
        CHECK_EQ_INT(drc, depth == 60 ? HQ_OK : HQ_ERR_INVALID);
        if (drc == HQ_OK) sync_batch_free(&b);
    }
    CHECK_EQ_INT(sync_batch_build("", 0, &r, 1, 0, 0, &b, NULL), HQ_ERR_INVALID);
    CHECK_EQ_INT(sync_batch_build("H1", 0, &r, 0, 0, 0, &b, NULL), HQ_ERR_INVALID);
}

static void test_batch_limits(void)
{
    enum { N = 1200 };
    struct sync_record *r = calloc(N, sizeof *r);
    for (int i = 0; i < N; i++)
        r[i] = rec(i + 1, "{\"k\":1}");
    struct sync_batch b;
    /* Record count: never more than 500, even when asked for more. */
    CHECK_EQ_INT(sync_batch_build("H1", 0, r, N, 0, 0, &b, NULL), HQ_OK);
    CHECK_EQ_INT(b.count, 500);
    CHECK_EQ_INT(b.last_seq, 500);
    cJSON *j = cJSON_Parse(b.body);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "records")), 500);
    cJSON_Delete(j);
    sync_batch_free(&b);
    CHECK_EQ_INT(sync_batch_build("H1", 0, r, N, 100000, 0, &b, NULL), HQ_OK);
    CHECK_EQ_INT(b.count, 500);
    sync_batch_free(&b);
    CHECK_EQ_INT(sync_batch_build("H1", 0, r, N, 7, 0, &b, NULL), HQ_OK);
    CHECK_EQ_INT(b.count, 7);
    sync_batch_free(&b);

    /* Bytes: records of ~10 KiB each, 1 MiB holds about 100 of them. */
    size_t dlen = 10 * 1024;
    char *big = malloc(dlen + 16);
    strcpy(big, "{\"t\":\"");
    memset(big + 6, 'x', dlen);
    strcpy(big + 6 + dlen, "\"}");
    for (int i = 0; i < N; i++)
        r[i].data = big;
    CHECK_EQ_INT(sync_batch_build("H1", 0, r, N, 0, 0, &b, NULL), HQ_OK);
    CHECK(b.len <= SYNC_BATCH_MAX_BYTES);
    CHECK(b.count >= 95 && b.count < 103);
    /* One more record would not have fitted. */
    CHECK(b.len + dlen > SYNC_BATCH_MAX_BYTES);
    j = cJSON_Parse(b.body);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "records")), b.count);
    cJSON_Delete(j);
    sync_batch_free(&b);
    /* Larger than the protocol's 1 MiB is clamped. */
    CHECK_EQ_INT(sync_batch_build("H1", 0, r, N, 0, 50u << 20, &b, NULL), HQ_OK);
    CHECK(b.len <= SYNC_BATCH_MAX_BYTES);
    sync_batch_free(&b);

    /* A single record larger than the limit cannot be sent: say so. */
    char *huge = malloc(SYNC_BATCH_MAX_BYTES + 64);
    strcpy(huge, "{\"t\":\"");
    memset(huge + 6, 'y', SYNC_BATCH_MAX_BYTES);
    strcpy(huge + 6 + SYNC_BATCH_MAX_BYTES, "\"}");
    r[0].data = huge;
    size_t bad = 99;
    CHECK_EQ_INT(sync_batch_build("H1", 0, r, N, 0, 0, &b, &bad), HQ_ERR_LIMIT);
    CHECK_EQ_INT(bad, 0);
    free(huge);
    free(big);
    free(r);
}

static void test_ack(void)
{
    static const struct {
        const char *body;
        int64_t sent;
        int rc;
        int64_t acked;
    } t[] = {
        {"{\"acked_through\": 42}", 50, HQ_OK, 42},
        {"{\"acked_through\":0}", 50, HQ_OK, 0},
        {"{\"acked_through\":50}", 50, HQ_OK, 50},
        {" {\"acked_through\":7, \"extra\": true}\n", 9, HQ_OK, 7},
        {"{\"acked_through\":51}", 50, HQ_ERR_PROTO, 0}, /* beyond what was sent */
        {"{\"acked_through\":-1}", 50, HQ_ERR_PROTO, 0},
        {"{\"acked_through\":1.5}", 50, HQ_ERR_PROTO, 0},
        {"{\"acked_through\":\"42\"}", 50, HQ_ERR_PROTO, 0},
        {"{\"acked_through\":null}", 50, HQ_ERR_PROTO, 0},
        {"{\"acked_through\":true}", 50, HQ_ERR_PROTO, 0},
        {"{\"acked\":42}", 50, HQ_ERR_PROTO, 0},
        {"{}", 50, HQ_ERR_PROTO, 0},
        {"[42]", 50, HQ_ERR_PROTO, 0},
        {"42", 50, HQ_ERR_PROTO, 0},
        {"{\"acked_through\":42", 50, HQ_ERR_PROTO, 0},
        {"{\"acked_through\":42} trailing", 50, HQ_ERR_PROTO, 0},
        {"<html>502 Bad Gateway</html>", 50, HQ_ERR_PROTO, 0},
        {"", 50, HQ_ERR_PROTO, 0},
        {"{\"acked_through\":1e300}", 50, HQ_ERR_PROTO, 0},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(t); i++) {
        int64_t acked = -5;
        int rc = sync_ack_parse(t[i].body, strlen(t[i].body), t[i].sent, &acked);
        CHECK_EQ_INT(rc, t[i].rc);
        if (rc == HQ_OK)
            CHECK_EQ_INT(acked, t[i].acked);
        else
            CHECK_EQ_INT(acked, -5);
        if (rc != t[i].rc) fprintf(stderr, "  case: %s\n", t[i].body);
    }
    CHECK_EQ_INT(sync_ack_parse(NULL, 0, 5, &(int64_t){0}), HQ_ERR_PROTO);
    char buf[64];
    size_t n = sync_ack_build(123456789012LL, buf, sizeof buf);
    CHECK_EQ_STR(buf, "{\"acked_through\":123456789012}");
    CHECK_EQ_INT(n, strlen(buf));
    int64_t back = 0;
    CHECK_EQ_INT(sync_ack_parse(buf, n, 123456789012LL, &back), HQ_OK);
    CHECK_EQ_INT(back, 123456789012LL);
}

#define HASH "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define APPT(status)                                                                               \
    "{\"cursor\":\"c9\",\"appointments\":[{\"id\":\"ap1\",\"service\":\"A\",\"date\":"             \
    "\"2026-11-23\",\"slot_start\":\"09:00\",\"slot_end\":\"09:30\",\"id_hash\":\"" HASH           \
    "\",\"booking_code\":\"BK-1\",\"name_masked\":\"张*\",\"status\":\"" status "\"}]}"

static void test_appointments(void)
{
    struct sync_appointments a;
    const char *good = APPT("booked");
    CHECK_EQ_INT(sync_appointments_parse(good, strlen(good), &a, NULL), HQ_OK);
    CHECK_EQ_STR(a.cursor, "c9");
    CHECK_EQ_INT(a.count, 1);
    if (a.count == 1) {
        CHECK_EQ_STR(a.items[0].id, "ap1");
        CHECK_EQ_STR(a.items[0].service, "A");
        CHECK_EQ_STR(a.items[0].date, "2026-11-23");
        CHECK_EQ_STR(a.items[0].slot_start, "09:00");
        CHECK_EQ_STR(a.items[0].slot_end, "09:30");
        CHECK_EQ_STR(a.items[0].id_hash, HASH);
        CHECK_EQ_STR(a.items[0].booking_code, "BK-1");
        CHECK_EQ_STR(a.items[0].name_masked, "张*");
        CHECK_EQ_INT(a.items[0].status, SYNC_APPT_BOOKED);
    }
    sync_appointments_free(&a);

    static const struct {
        const char *legend, *body;
        int rc;
    } t[] = {
        {"empty list", "{\"cursor\":\"\",\"appointments\":[]}", HQ_OK},
        {"upper-case hash, no booking code",
         "{\"cursor\":\"1\",\"appointments\":[{\"id\":\"x\",\"service\":\"B\",\"date\":\"2024-02-"
         "29\","
         "\"slot_start\":\"13:00\",\"slot_end\":\"13:15\",\"id_hash\":"
         "\"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\",\"status\":"
         "\"cancelled\"}]}",
         HQ_OK},
        {"booking code only, nulls",
         "{\"cursor\":\"1\",\"appointments\":[{\"id\":\"x\",\"service\":\"B\",\"date\":\"2024-02-"
         "28\","
         "\"slot_start\":\"13:00\",\"slot_end\":\"13:15\",\"id_hash\":null,\"booking_code\":\"Q7\","
         "\"name_masked\":null,\"status\":\"checked_in\"}]}",
         HQ_OK},
        {"not JSON", "appointments", HQ_ERR_PROTO},
        {"array", "[]", HQ_ERR_PROTO},
        {"no list", "{\"cursor\":\"1\"}", HQ_ERR_PROTO},
        {"cursor a number", "{\"cursor\":1,\"appointments\":[]}", HQ_ERR_PROTO},
        {"unknown status", APPT("lost"), HQ_ERR_PROTO},
        {"no id",
         "{\"cursor\":\"1\",\"appointments\":[{\"service\":\"B\",\"date\":\"2024-02-28\","
         "\"slot_start\":\"13:00\",\"slot_end\":\"13:15\",\"booking_code\":\"Q7\","
         "\"status\":\"booked\"}]}",
         HQ_ERR_PROTO},
        {"no hash, no code",
         "{\"cursor\":\"1\",\"appointments\":[{\"id\":\"x\",\"service\":\"B\",\"date\":\"2024-02-"
         "28\","
         "\"slot_start\":\"13:00\",\"slot_end\":\"13:15\",\"status\":\"booked\"}]}",
         HQ_ERR_PROTO},
        {"29 Feb in a common year",
         "{\"cursor\":\"1\",\"appointments\":[{\"id\":\"x\",\"service\":\"B\",\"date\":\"2026-02-"
         "29\","
         "\"slot_start\":\"13:00\",\"slot_end\":\"13:15\",\"booking_code\":\"Q\",\"status\":"
         "\"booked\"}]}",
         HQ_ERR_PROTO},
        {"date with slashes",
         "{\"cursor\":\"1\",\"appointments\":[{\"id\":\"x\",\"service\":\"B\",\"date\":\"2026/02/"
         "20\","
         "\"slot_start\":\"13:00\",\"slot_end\":\"13:15\",\"booking_code\":\"Q\",\"status\":"
         "\"booked\"}]}",
         HQ_ERR_PROTO},
        {"slot 24:00",
         "{\"cursor\":\"1\",\"appointments\":[{\"id\":\"x\",\"service\":\"B\",\"date\":\"2026-02-"
         "20\","
         "\"slot_start\":\"23:00\",\"slot_end\":\"24:00\",\"booking_code\":\"Q\",\"status\":"
         "\"booked\"}]}",
         HQ_ERR_PROTO},
        {"slot end before start",
         "{\"cursor\":\"1\",\"appointments\":[{\"id\":\"x\",\"service\":\"B\",\"date\":\"2026-02-"
         "20\","
         "\"slot_start\":\"10:00\",\"slot_end\":\"09:00\",\"booking_code\":\"Q\",\"status\":"
         "\"booked\"}]}",
         HQ_ERR_PROTO},
        {"slot 9:00",
         "{\"cursor\":\"1\",\"appointments\":[{\"id\":\"x\",\"service\":\"B\",\"date\":\"2026-02-"
         "20\","
         "\"slot_start\":\"9:00\",\"slot_end\":\"10:00\",\"booking_code\":\"Q\",\"status\":"
         "\"booked\"}]}",
         HQ_ERR_PROTO},
        {"short hash",
         "{\"cursor\":\"1\",\"appointments\":[{\"id\":\"x\",\"service\":\"B\",\"date\":\"2026-02-"
         "20\","
         "\"slot_start\":\"09:00\",\"slot_end\":\"10:00\",\"id_hash\":\"abc\",\"status\":"
         "\"booked\"}]}",
         HQ_ERR_PROTO},
        {"hash not hex",
         "{\"cursor\":\"1\",\"appointments\":[{\"id\":\"x\",\"service\":\"B\",\"date\":\"2026-02-"
         "20\","
         "\"slot_start\":\"09:00\",\"slot_end\":\"10:00\",\"id_hash\":"
         "\"zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\"status\":"
         "\"booked\"}]}",
         HQ_ERR_PROTO},
        {"id too long",
         "{\"cursor\":\"1\",\"appointments\":[{\"id\":"
         "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"service\":\"B\","
         "\"date\":\"2026-02-20\",\"slot_start\":\"09:00\",\"slot_end\":\"10:00\",\"booking_code\":"
         "\"Q\",\"status\":\"booked\"}]}",
         HQ_ERR_PROTO},
        {"control char in name",
         "{\"cursor\":\"1\",\"appointments\":[{\"id\":\"x\",\"service\":\"B\",\"date\":\"2026-02-"
         "20\","
         "\"slot_start\":\"09:00\",\"slot_end\":\"10:00\",\"booking_code\":\"Q\",\"name_masked\":"
         "\"a\\u0007b\",\"status\":\"booked\"}]}",
         HQ_ERR_PROTO},
        {"booking code with a space",
         "{\"cursor\":\"1\",\"appointments\":[{\"id\":\"x\",\"service\":\"B\",\"date\":\"2026-02-"
         "20\","
         "\"slot_start\":\"09:00\",\"slot_end\":\"10:00\",\"booking_code\":\"Q 1\",\"status\":"
         "\"booked\"}]}",
         HQ_ERR_PROTO},
        {"appointment a string", "{\"cursor\":\"1\",\"appointments\":[\"x\"]}", HQ_ERR_PROTO},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(t); i++) {
        const char *why = NULL;
        int rc = sync_appointments_parse(t[i].body, strlen(t[i].body), &a, &why);
        CHECK_EQ_INT(rc, t[i].rc);
        if (rc != t[i].rc) fprintf(stderr, "  case: %s (%s)\n", t[i].legend, why ? why : "-");
        if (rc == HQ_OK) {
            CHECK_EQ_INT(a.count, strstr(t[i].body, "\"id\"") ? 1 : 0);
            if (a.count)
                CHECK(strspn(a.items[0].id_hash, "0123456789abcdef") == strlen(a.items[0].id_hash));
        } else {
            CHECK(why != NULL);
            CHECK_EQ_INT(a.count, 0);
            CHECK(a.items == NULL);
        }
        sync_appointments_free(&a);
    }
}

static void test_classify(void)
{
    static const struct {
        long status;
        enum sync_outcome want;
    } t[] = {
        {200, SYNC_OUTCOME_OK},    {0, SYNC_OUTCOME_RETRY},   {500, SYNC_OUTCOME_RETRY},
        {502, SYNC_OUTCOME_RETRY}, {503, SYNC_OUTCOME_RETRY}, {408, SYNC_OUTCOME_RETRY},
        {429, SYNC_OUTCOME_RETRY}, {400, SYNC_OUTCOME_ALARM}, {401, SYNC_OUTCOME_ALARM},
        {403, SYNC_OUTCOME_ALARM}, {404, SYNC_OUTCOME_ALARM}, {413, SYNC_OUTCOME_ALARM},
        {301, SYNC_OUTCOME_ALARM}, {101, SYNC_OUTCOME_ALARM},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(t); i++) {
        CHECK_EQ_INT(sync_classify_status(t[i].status), t[i].want);
        if (sync_classify_status(t[i].status) != t[i].want)
            fprintf(stderr, "  status %ld\n", t[i].status);
    }
}

static void test_backoff(void)
{
    /* The step doubles from 1 s and stops at 5 min; jitter adds up to a
     * quarter while it grows and takes up to a quarter off at the ceiling,
     * so every delay is inside the protocol's 1 s … 5 min. */
    static const uint32_t step[] = {1000,   2000,   4000,   8000,   16000,  32000, 64000,
                                    128000, 256000, 300000, 300000, 300000, 300000};
    for (unsigned a = 0; a < HQ_ARRAY_LEN(step); a++) {
        uint32_t lo = step[a] < 300000 ? step[a] : 225000;
        uint32_t hi = step[a] < 300000 ? step[a] + step[a] / 4 : 300000;
        if (hi > 300000) hi = 300000;
        CHECK_EQ_INT(sync_backoff_ms(SYNC_OUTCOME_RETRY, a, 0), lo);
        CHECK_EQ_INT(sync_backoff_ms(SYNC_OUTCOME_RETRY, a, hi - lo), hi);
    }
    /* Every random value stays inside [lo, hi], also for huge attempt counts
     * (no shift overflow). */
    unsigned attempts[] = {0, 1, 5, 8, 9, 31, 32, 63, 64, 1000, 4000000000u};
    uint32_t seed = 12345;
    int inside = 0, total = 0;
    uint32_t mn = UINT32_MAX, mx = 0, all_mn = UINT32_MAX, all_mx = 0;
    for (size_t i = 0; i < HQ_ARRAY_LEN(attempts); i++) {
        uint32_t base = attempts[i] >= 9 ? 300000 : 1000u << attempts[i];
        uint32_t lo = base < 300000 ? base : 225000;
        uint32_t hi = base < 300000 ? base + base / 4 : 300000;
        if (hi > 300000) hi = 300000;
        for (int k = 0; k < 2000; k++) {
            seed = seed * 1103515245u + 12345u;
            uint32_t d = sync_backoff_ms(SYNC_OUTCOME_RETRY, attempts[i], seed);
            total++;
            inside += d >= lo && d <= hi;
            if (d < all_mn) all_mn = d;
            if (d > all_mx) all_mx = d;
            if (attempts[i] == 1000) {
                if (d < mn) mn = d;
                if (d > mx) mx = d;
            }
        }
    }
    CHECK_EQ_INT(inside, total);
    CHECK(all_mn >= SYNC_BACKOFF_MIN_MS);
    CHECK(all_mx <= SYNC_BACKOFF_MAX_MS);
    /* Jitter really spreads: the capped delays cover most of their range. */
    CHECK(mx - mn > 60000);
    /* An alarm waits the slow delay whatever the attempt. */
    CHECK(sync_backoff_ms(SYNC_OUTCOME_ALARM, 0, 0) >= 225000);
    CHECK(sync_backoff_ms(SYNC_OUTCOME_ALARM, 0, UINT32_MAX) <= 300000);
}

static void test_validators(void)
{
    CHECK(sync_valid_date("2024-02-29"));
    CHECK(!sync_valid_date("2023-02-29"));
    CHECK(!sync_valid_date("2000-02-30"));
    CHECK(sync_valid_date("2000-02-29"));
    CHECK(!sync_valid_date("1900-02-29x"));
    CHECK(!sync_valid_date("2024-2-29"));
    CHECK(sync_valid_hhmm("00:00") && sync_valid_hhmm("23:59"));
    CHECK(!sync_valid_hhmm("23:60") && !sync_valid_hhmm("ab:cd") && !sync_valid_hhmm("1:00"));
    CHECK(sync_valid_rfc3339("2026-11-23T09:05:00+08:00"));
    CHECK(sync_valid_rfc3339("2026-11-23T01:05:00Z"));
    CHECK(!sync_valid_rfc3339("2026-11-23 09:05:00+08:00"));
    CHECK(!sync_valid_rfc3339("2026-11-23T09:05:00+8:00"));
    CHECK(!sync_valid_rfc3339("2026-11-23T09:05:00+08:00x"));
    CHECK(!sync_valid_rfc3339("2026-11-23T09:05:00."));
}

/* Every single-byte corruption of good bodies: the parsers answer OK or
 * PROTO, never crash, and never accept an ack beyond what was sent. */
static void test_mutations(void)
{
    const char *appt = APPT("booked");
    const char *ack = "{\"acked_through\":42}";
    size_t alen = strlen(appt), klen = strlen(ack);
    char *buf = malloc(alen + 1);
    static const char subst[] = {'"',  '{', '}', '[', ']', ':', ',',
                                 '\\', '0', '9', '-', 'x', ' ', 0};
    int bad = 0, runs = 0;
    for (size_t i = 0; i < alen; i++) {
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(buf, appt, alen + 1);
            buf[i] = subst[k];
            size_t len = subst[k] ? alen : i; /* a NUL cuts the body there */
            struct sync_appointments a;
            int rc = sync_appointments_parse(buf, len, &a, NULL);
            runs++;
            bad += rc != HQ_OK && rc != HQ_ERR_PROTO;
            if (rc == HQ_OK) {
                bad += a.count > 1;
                sync_appointments_free(&a);
            }
        }
    }
    for (size_t i = 0; i < klen; i++) {
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(buf, ack, klen + 1);
            buf[i] = subst[k];
            int64_t v = -1;
            int rc = sync_ack_parse(buf, subst[k] ? klen : i, 42, &v);
            runs++;
            bad += rc != HQ_OK && rc != HQ_ERR_PROTO;
            bad += rc == HQ_OK && (v < 0 || v > 42);
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(runs > 1000);
    free(buf);
}

int main(void)
{
    hq_log_level = -1;
    test_batch_basic();
    test_batch_invalid();
    test_batch_limits();
    test_ack();
    test_appointments();
    test_classify();
    test_backoff();
    test_validators();
    test_mutations();
    return check_report("test_sync_proto");
}
