/*
 * test_store.c — the durable store: reopen gives back the same queue,
 * rollover closes the old day in SQL, stepwise migration from version 1,
 * refusal of newer and foreign files, a corrupt file moved aside (never
 * changed), a full database reported as HQ_ERR_DISK_FULL with nothing
 * half-written, and the degraded-storage backlog written later giving the
 * same rows as direct commits; retention deletes only what it may.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "store.h"

static const char *cfg_json =
    "{\"hall\": {\"id\": \"store-test\", \"name\": \"存储测试\", \"name_en\": \"Store test\"},"
    " \"http\": {\"tokens\": [{\"token\": \"store-test-token-0001\", \"role\": \"clerk\"}]},"
    " \"store\": {\"database\": \"hall.db\"},"
    " \"privacy\": {\"id_hash_key\": \"store-test-key-0123456789\"},"
    " \"services\": ["
    "  {\"code\": \"A\", \"name\": \"社保\", \"name_en\": \"Social\", \"prefix\": \"A\","
    "   \"range\": [1, 999], \"digits\": 3, \"hours\": {\"all\": [\"00:00-24:00\"]}},"
    "  {\"code\": \"B\", \"name\": \"不动产\", \"name_en\": \"Estate\", \"prefix\": \"B\","
    "   \"range\": [1, 999], \"digits\": 3, \"hours\": {\"all\": [\"00:00-24:00\"]}}],"
    " \"windows\": [{\"number\": 1, \"services\": [\"A\", \"B\"]},"
    "              {\"number\": 2, \"services\": [\"B\"]}],"
    " \"staff\": [{\"id\": \"1001\", \"name\": \"王芳\"}, {\"id\": \"1002\", \"name\": \"李娜\"}]}";

/* 2026-11-23 10:00 +08:00 */
#define T0 1795399200LL

static char dir[256];
static struct hq_config cfg;

static int apply(struct hq_engine *e, struct hq_store *st, struct hq_cmd *cmd,
                 struct hq_result *res)
{
    static uint32_t uuid_counter = 1;
    if (cmd->type == HQ_CMD_ISSUE) {
        memset(cmd->u.issue.uuid, 0, 16);
        memcpy(cmd->u.issue.uuid, &uuid_counter, sizeof uuid_counter);
        uuid_counter++;
    }
    if (cmd->type == HQ_CMD_RATE) {
        memset(cmd->u.rate.uuid, 0xee, 16);
        memcpy(cmd->u.rate.uuid, &uuid_counter, sizeof uuid_counter);
        uuid_counter++;
    }
    int rc = hq_engine_apply(e, cmd, res);
    if (rc) return rc;
    return hq_store_commit(st, e, cmd, res);
}

static int64_t scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) return -2;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void fresh_db(void)
{
    char p[300];
    snprintf(p, sizeof p, "%s/hall.db", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/hall.db-wal", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/hall.db-shm", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/.hall.db.numbers", dir);
    unlink(p);
}

/* Opens the store on cfg and loads a fresh engine from it. */
static void open_loaded(struct hq_store **st, struct hq_engine *e)
{
    char err[512] = "";
    CHECK_EQ_INT(hq_store_open(&cfg, st, err, sizeof err), HQ_OK);
    CHECK_EQ_INT(hq_engine_init(e, &cfg.engine), HQ_OK);
    CHECK_EQ_INT(hq_store_load(*st, e, err, sizeof err), HQ_OK);
}

static void test_reopen(void)
{
    struct hq_store *st = NULL;
    struct hq_engine e;
    struct hq_result res = {0};
    char err[512] = "";
    fresh_db();
    CHECK_EQ_INT(hq_store_open(&cfg, &st, err, sizeof err), HQ_OK);
    CHECK_EQ_INT(hq_engine_init(&e, &cfg.engine), HQ_OK);
    CHECK_EQ_INT(hq_store_load(st, &e, err, sizeof err), HQ_OK);

    struct hq_cmd c = {.type = HQ_CMD_ISSUE, .now = T0};
    for (int i = 0; i < 5; i++) {
        c.u.issue.service = (uint8_t)(i % 2);
        c.now = T0 + i;
        CHECK_EQ_INT(apply(&e, st, &c, &res), HQ_OK);
    }
    c = (struct hq_cmd){.type = HQ_CMD_LOGIN, .now = T0 + 10, .window = 1};
    strcpy(c.u.login.staff_id, "1001");
    CHECK_EQ_INT(apply(&e, st, &c, &res), HQ_OK);
    c = (struct hq_cmd){.type = HQ_CMD_CALL_NEXT, .now = T0 + 20, .window = 1};
    CHECK_EQ_INT(apply(&e, st, &c, &res), HQ_OK);
    c = (struct hq_cmd){.type = HQ_CMD_FINISH, .now = T0 + 400, .window = 1};
    CHECK_EQ_INT(apply(&e, st, &c, &res), HQ_OK);
    c = (struct hq_cmd){.type = HQ_CMD_RATE, .now = T0 + 405, .window = 1};
    c.u.rate.level = 2;
    c.u.rate.channel = HQ_CHAN_PAD;
    CHECK_EQ_INT(apply(&e, st, &c, &res), HQ_OK);
    c = (struct hq_cmd){.type = HQ_CMD_CALL_NEXT, .now = T0 + 410, .window = 1};
    CHECK_EQ_INT(apply(&e, st, &c, &res), HQ_OK);
    hq_store_close(st);

    /* Reopen: a fresh engine from the database equals the one in memory. */
    struct hq_store *st2 = NULL;
    struct hq_engine e2;
    CHECK_EQ_INT(hq_store_open(&cfg, &st2, err, sizeof err), HQ_OK);
    CHECK_EQ_INT(hq_engine_init(&e2, &cfg.engine), HQ_OK);
    CHECK_EQ_INT(hq_store_load(st2, &e2, err, sizeof err), HQ_OK);
    CHECK_EQ_INT(e2.day, e.day);
    CHECK_EQ_INT(e2.n_tickets, e.n_tickets);
    for (size_t i = 0; i < e.n_tickets && i < e2.n_tickets; i++)
        CHECK_EQ_MEM(&e2.tickets[i], &e.tickets[i], sizeof e.tickets[i]);
    for (size_t i = 0; i < cfg.engine.n_windows; i++) {
        CHECK_EQ_INT(e2.win[i].state, e.win[i].state);
        CHECK_EQ_INT(e2.win[i].staff, e.win[i].staff);
        CHECK_EQ_INT(e2.win[i].current, e.win[i].current);
    }
    for (size_t i = 0; i < cfg.engine.n_services; i++)
        CHECK_EQ_MEM(&e2.svc[i], &e.svc[i], sizeof e.svc[i]);

    /* Both engines answer the next command the same way. */
    struct hq_result r1 = {0}, r2 = {0};
    c = (struct hq_cmd){.type = HQ_CMD_CALL_NEXT, .now = T0 + 500, .window = 1};
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &r1), hq_engine_apply(&e2, &c, &r2));
    CHECK_EQ_INT(r1.ticket, r2.ticket);

    sqlite3 *db = hq_store_db(st2);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM evaluations WHERE level=2 AND "
                            "follow_up_state='open' AND follow_up_due > at"),
                 1);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM outbox WHERE type='evaluation'"), 1);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM outbox WHERE type='event' AND "
                            "data LIKE '%\"kind\":\"issue\"%'"),
                 5);
    /* seq has no holes: every committed record got the next number */
    CHECK_EQ_INT(scalar(db, "SELECT max(seq) - min(seq) + 1 - count(*) FROM outbox"), 0);
    CHECK_EQ_INT(scalar(db, "PRAGMA journal_mode='wal'") != -2, 1);

    /* Rollover three days later: the day's live tickets expire in SQL, each
     * with its ticket record; numbering starts again. */
    int64_t before = scalar(db, "SELECT count(*) FROM outbox WHERE type='ticket'");
    int64_t live = scalar(db, "SELECT count(*) FROM tickets WHERE status IN "
                              "('waiting','called','serving','parked')");
    CHECK(live > 0);
    c = (struct hq_cmd){.type = HQ_CMD_ISSUE, .now = T0 + 3 * 86400};
    CHECK_EQ_INT(apply(&e2, st2, &c, &res), HQ_OK);
    CHECK(res.rollover);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM tickets WHERE status IN "
                            "('waiting','called','serving','parked') AND day < (SELECT value FROM "
                            "meta WHERE key='day')"),
                 0);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM outbox WHERE type='ticket'") - before, live);
    CHECK_EQ_INT(scalar(db, "SELECT number FROM tickets ORDER BY rowid DESC LIMIT 1"), 1);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM outbox WHERE data LIKE "
                            "'%\"kind\":\"rollover\"%'"),
                 1);

    hq_result_free(&r1);
    hq_result_free(&r2);
    hq_result_free(&res);
    hq_engine_free(&e);
    hq_engine_free(&e2);
    hq_store_close(st2);
}

static void test_migrate(void)
{
    char err[512] = "", path[300];
    struct hq_store *st = NULL;
    snprintf(path, sizeof path, "%s/hall.db", dir);
    fresh_db();
    CHECK_EQ_INT(hq_store_open(&cfg, &st, err, sizeof err), HQ_OK);
    hq_store_close(st);

    /* Turn it back into a version-1 database holding a 差评 made then. */
    sqlite3 *db;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db,
                              "DROP TABLE ticket_ids;"                        /* schema 7 */
                              "ALTER TABLE windows DROP COLUMN pause_reason;" /* schema 6 */
                              "ALTER TABLE windows DROP COLUMN help_at;"
                              "DROP TABLE cases;" /* schema 5 */
                              "DROP INDEX evaluations_case;"
                              "ALTER TABLE evaluations DROP COLUMN case_no;"
                              "ALTER TABLE evaluations DROP COLUMN item_code;"
                              "ALTER TABLE evaluations DROP COLUMN item_name;"
                              "ALTER TABLE evaluations DROP COLUMN text;"
                              "DROP TABLE staff_pins;" /* schema 4 */
                              "DROP TABLE sessions;"
                              "ALTER TABLE events DROP COLUMN actor;"
                              "DROP TABLE appointments;" /* schema 3 */
                              "DROP INDEX evaluations_day;"
                              "ALTER TABLE evaluations DROP COLUMN follow_up_state;"
                              "ALTER TABLE evaluations DROP COLUMN follow_up_due;"
                              "ALTER TABLE evaluations DROP COLUMN follow_up_note;"
                              "ALTER TABLE evaluations DROP COLUMN follow_up_at;"
                              "INSERT INTO evaluations VALUES('e1','t1','A001',20000,'A',1,'1001',"
                              "1,'pad',0,1000);"
                              "INSERT INTO evaluations VALUES('e2','t2','A002',20000,'A',1,'1001',"
                              "5,'pad',0,1000);"
                              "PRAGMA user_version=1;",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);

    CHECK_EQ_INT(hq_store_open(&cfg, &st, err, sizeof err), HQ_OK);
    db = hq_store_db(st);
    CHECK_EQ_INT(scalar(db, "PRAGMA user_version"), HQ_STORE_SCHEMA_VERSION);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM appointments"), 0);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM sessions"), 0);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM staff_pins"), 0);
    CHECK_EQ_INT(scalar(db, "SELECT count(actor) FROM events"), 0);
    CHECK_EQ_INT(
        scalar(db, "SELECT count(*) FROM windows WHERE pause_reason IS NOT NULL OR help_at != 0"),
        0);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM cases"), 0);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM ticket_ids"), 0);
    /* rows rated before case binding keep no case (the ticket was the case) */
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM evaluations WHERE case_no IS NULL"), 2);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM evaluations WHERE uuid='e1' AND "
                            "follow_up_state='open' AND follow_up_due=1000+15*86400"),
                 1);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM evaluations WHERE uuid='e2' AND "
                            "follow_up_state='none' AND follow_up_due IS NULL"),
                 1);
    hq_store_close(st);

    /* A newer schema than this build knows is refused, not downgraded. */
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL);
    sqlite3_close(db);
    st = NULL;
    CHECK_EQ_INT(hq_store_open(&cfg, &st, err, sizeof err), HQ_ERR_DB);
    CHECK(strstr(err, "newer") != NULL);
    CHECK(strstr(err, path) != NULL);
}

static void test_refusals(void)
{
    char err[512] = "", path[300];
    struct hq_store *st = NULL;
    snprintf(path, sizeof path, "%s/hall.db", dir);

    /* garbage bytes: moved aside exactly as they were, a fresh database in
     * their place, and a notice that says where the old file went */
    fresh_db();
    unsigned char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 131 + 7);
    FILE *f = fopen(path, "wb");
    fwrite(junk, 1, sizeof junk, f);
    fclose(f);
    CHECK_EQ_INT(hq_store_open(&cfg, &st, err, sizeof err), HQ_OK);
    const char *notice = st ? hq_store_notice(st) : NULL;
    CHECK(notice != NULL);
    const char *to = notice ? strstr(notice, "\"moved_to\":\"") : NULL;
    CHECK(to != NULL);
    char moved[400] = "";
    if (to) sscanf(to + 12, "%399[^\"]", moved);
    CHECK(strncmp(moved, path, strlen(path)) == 0 && strstr(moved, ".corrupt-") != NULL);
    unsigned char back[8192];
    f = fopen(moved, "rb");
    CHECK(f != NULL);
    if (f) {
        CHECK_EQ_INT(fread(back, 1, sizeof back, f), sizeof back);
        fclose(f);
        CHECK_EQ_MEM(back, junk, sizeof junk);
    }
    CHECK_EQ_INT(scalar(hq_store_db(st), "SELECT count(*) FROM tickets"), 0);
    CHECK_EQ_INT(hq_store_notice_ack(st), HQ_OK);
    CHECK(hq_store_notice(st) == NULL);
    hq_store_close(st);
    st = NULL;
    unlink(moved);

    /* an SQLite file of something else */
    fresh_db();
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "CREATE TABLE invoices(id INTEGER)", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(hq_store_open(&cfg, &st, err, sizeof err) != HQ_OK);
    CHECK(strstr(err, "not a hallq one") != NULL);

    /* a directory that cannot be created into */
    struct hq_config bad = cfg;
    snprintf(bad.database, sizeof bad.database, "%s/no/such/dir/hall.db", dir);
    CHECK(hq_store_open(&bad, &st, err, sizeof err) != HQ_OK);
    CHECK(strstr(err, "no/such/dir") != NULL);
}

static void test_full(void)
{
    char err[512] = "";
    struct hq_store *st = NULL;
    struct hq_engine e;
    struct hq_result res = {0};
    fresh_db();
    CHECK_EQ_INT(hq_store_open(&cfg, &st, err, sizeof err), HQ_OK);
    CHECK_EQ_INT(hq_engine_init(&e, &cfg.engine), HQ_OK);
    CHECK_EQ_INT(hq_store_load(st, &e, err, sizeof err), HQ_OK);
    sqlite3 *db = hq_store_db(st);
    /* Cap the file at its current size: the next growth is a full disk. */
    int64_t pages = scalar(db, "PRAGMA page_count");
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", (long long)pages);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    struct hq_cmd c = {.type = HQ_CMD_ISSUE};
    int rc = HQ_OK;
    int i = 0;
    for (; i < 2000 && rc == HQ_OK; i++) {
        c.now = T0 + i;
        rc = apply(&e, st, &c, &res);
    }
    CHECK_EQ_INT(rc, HQ_ERR_DISK_FULL);
    /* nothing half-written: every ticket row has its issue event */
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM tickets"),
                 scalar(db, "SELECT count(*) FROM events WHERE kind='issue'"));
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM tickets"), i - 1);
    hq_result_free(&res);
    hq_engine_free(&e);
    hq_store_close(st);
}

/* A writer that never pauses starves the checkpoint thread's TRUNCATE; the
 * WAL must stay bounded all the same (the writer truncates past the hard
 * bound), or it and its mapped index grow without end. */
static void test_wal_bounded(void)
{
    char err[512] = "", p[300];
    struct hq_store *st = NULL;
    struct hq_engine e;
    struct hq_result res = {0};
    fresh_db();
    snprintf(cfg.synchronous, sizeof cfg.synchronous, "normal"); /* fast, same WAL */
    CHECK_EQ_INT(hq_store_open(&cfg, &st, err, sizeof err), HQ_OK);
    CHECK_EQ_INT(hq_engine_init(&e, &cfg.engine), HQ_OK);
    CHECK_EQ_INT(hq_store_load(st, &e, err, sizeof err), HQ_OK);
    struct hq_cmd login = {.type = HQ_CMD_LOGIN, .now = T0, .window = 1};
    snprintf(login.u.login.staff_id, sizeof login.u.login.staff_id, "1001");
    CHECK_EQ_INT(apply(&e, st, &login, &res), HQ_OK);
    snprintf(p, sizeof p, "%s/hall.db-wal", dir);
    long long biggest = 0;
    int failed = 0;
    for (int i = 0; i < 30000 && !failed; i++) {
        struct hq_cmd c = {
            .type = i % 2 ? HQ_CMD_CALL_NEXT : HQ_CMD_ISSUE, .now = T0 + 1 + i / 20, .window = 1};
        failed = apply(&e, st, &c, &res) != HQ_OK;
        if (i % 500 == 0) {
            FILE *f = fopen(p, "rb");
            if (f) {
                fseek(f, 0, SEEK_END);
                long long n = ftell(f);
                if (n > biggest) biggest = n;
                fclose(f);
            }
        }
    }
    CHECK(!failed);
    /* 16384 frames of a 1 KiB page (+ 24-byte frame headers) is 16.4 MiB; on a
     * loaded machine a truncation may have to wait for the checkpoint thread a
     * few commits (21 MB seen). Unbounded, 30,000 commands make ~330 MB. */
    CHECK(biggest > 0);
    CHECK(biggest < 48LL * 1024 * 1024);
    if (biggest >= 48LL * 1024 * 1024) fprintf(stderr, "WAL grew to %lld bytes\n", biggest);
    hq_result_free(&res);
    hq_engine_free(&e);
    hq_store_close(st);
    snprintf(cfg.synchronous, sizeof cfg.synchronous, "full");
}

/* Group commit: commands written into one group land together or not at all. */
static void test_batch(void)
{
    char err[512] = "";
    struct hq_store *st = NULL;
    struct hq_engine e;
    struct hq_result res = {0};
    fresh_db();
    CHECK_EQ_INT(hq_store_open(&cfg, &st, err, sizeof err), HQ_OK);
    CHECK_EQ_INT(hq_engine_init(&e, &cfg.engine), HQ_OK);
    CHECK_EQ_INT(hq_store_load(st, &e, err, sizeof err), HQ_OK);
    sqlite3 *db = hq_store_db(st);
    /* three tickets in one group, rolled back: none of them is there */
    for (int i = 0; i < 3; i++) {
        struct hq_cmd c = {.type = HQ_CMD_ISSUE, .now = T0 + i};
        c.u.issue.uuid[0] = (uint8_t)(0xb0 + i);
        CHECK_EQ_INT(hq_engine_apply(&e, &c, &res), HQ_OK);
        CHECK_EQ_INT(hq_store_batch_add(st, &e, &c, &res), HQ_OK);
        CHECK(hq_store_batch_open(st));
    }
    hq_store_batch_rollback(st);
    CHECK(!hq_store_batch_open(st));
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM tickets"), 0);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM outbox"), 0);
    /* the engine went ahead: it is rebuilt from the database, as hallqd does */
    hq_engine_free(&e);
    CHECK_EQ_INT(hq_engine_init(&e, &cfg.engine), HQ_OK);
    CHECK_EQ_INT(hq_store_load(st, &e, err, sizeof err), HQ_OK);
    CHECK_EQ_INT((int)e.n_tickets, 0);
    /* three in one group, committed: all of them, each with its event */
    for (int i = 0; i < 3; i++) {
        struct hq_cmd c = {.type = HQ_CMD_ISSUE, .now = T0 + i};
        c.u.issue.uuid[0] = (uint8_t)(0xc0 + i);
        CHECK_EQ_INT(hq_engine_apply(&e, &c, &res), HQ_OK);
        CHECK_EQ_INT(hq_store_batch_add(st, &e, &c, &res), HQ_OK);
    }
    CHECK_EQ_INT(hq_store_batch_commit(st, &e), HQ_OK);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM tickets"), 3);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM events WHERE kind='issue'"), 3);
    CHECK_EQ_INT(scalar(db, "SELECT max(seq) - min(seq) + 1 - count(*) FROM outbox"), 0);
    CHECK_EQ_INT(scalar(db, "SELECT count(DISTINCT label) FROM tickets"), 3);
    hq_result_free(&res);
    hq_engine_free(&e);
    hq_store_close(st);
}

/* One command with uuids from a counter of the caller's, so two runs get
 * the same rows. */
static int apply_n(struct hq_engine *e, struct hq_cmd *cmd, struct hq_result *res, uint32_t *n)
{
    if (cmd->type == HQ_CMD_ISSUE) {
        memset(cmd->u.issue.uuid, 0, 16);
        memcpy(cmd->u.issue.uuid, n, sizeof *n);
    }
    if (cmd->type == HQ_CMD_RATE) {
        memset(cmd->u.rate.uuid, 0xee, 16);
        memcpy(cmd->u.rate.uuid, n, sizeof *n);
    }
    (*n)++;
    return hq_engine_apply(e, cmd, res);
}

/* The day's script: issues, then calls, a finish, a rating, a no-show, a
 * transfer, and a rollover into the next day with tickets still waiting. */
static size_t script(struct hq_cmd *out)
{
    size_t n = 0;
    for (int i = 0; i < 6; i++)
        out[n++] = (struct hq_cmd){.type = HQ_CMD_ISSUE, .u.issue.service = (uint8_t)(i % 2)};
    out[n] = (struct hq_cmd){.type = HQ_CMD_LOGIN, .window = 1};
    snprintf(out[n++].u.login.staff_id, 16, "1001");
    out[n] = (struct hq_cmd){.type = HQ_CMD_LOGIN, .window = 2};
    snprintf(out[n++].u.login.staff_id, 16, "1002");
    out[n++] = (struct hq_cmd){.type = HQ_CMD_CALL_NEXT, .window = 1};
    out[n++] = (struct hq_cmd){.type = HQ_CMD_START, .window = 1};
    out[n++] = (struct hq_cmd){.type = HQ_CMD_FINISH, .window = 1};
    out[n++] = (struct hq_cmd){
        .type = HQ_CMD_RATE, .window = 1, .u.rate = {.level = 2, .channel = HQ_CHAN_TABLET}};
    out[n++] = (struct hq_cmd){.type = HQ_CMD_CALL_NEXT, .window = 2};
    out[n++] = (struct hq_cmd){.type = HQ_CMD_NO_SHOW, .window = 2, .u.no_show.requeue = 0};
    out[n++] = (struct hq_cmd){.type = HQ_CMD_CALL_NEXT, .window = 1};
    out[n++] = (struct hq_cmd){
        .type = HQ_CMD_TRANSFER, .window = 1, .u.transfer = {.service = 1, .to_window = 0}};
    out[n++] = (struct hq_cmd){.type = HQ_CMD_CALL_NEXT, .window = 2};
    out[n++] = (struct hq_cmd){.type = HQ_CMD_TICK}; /* next day: rollover */
    out[n++] = (struct hq_cmd){.type = HQ_CMD_LOGOUT, .window = 2};
    return n;
}

/* Every row the store writes, as text, outbox in seq order (its uuids are
 * random: left out). */
static char *dump(sqlite3 *db)
{
    static const char *const q[] = {
        "SELECT group_concat(x, '|') FROM (SELECT quote(id)||uuid||day||service||orig_service"
        "||serial||number||label||priority||channel||status||recalls||requeues||flags||window"
        "||target_window||quote(staff)||issued_at||queued_at||quote(called_at)||quote(served_at)"
        "||quote(finished_at) AS x FROM tickets ORDER BY id)",
        "SELECT group_concat(x, '|') FROM (SELECT number||state||quote(staff)||quote(current)"
        "||state_since||last_call_at||quote(rating_ticket)||rating_deadline AS x FROM windows "
        "ORDER BY number)",
        "SELECT group_concat(x, '|') FROM (SELECT code||issued||last_number||overtakes||handle_s"
        "||handled AS x FROM services ORDER BY code)",
        "SELECT group_concat(x, '|') FROM (SELECT at||kind||quote(window)||quote(ticket)"
        "||quote(label)||quote(staff)||data AS x FROM events ORDER BY id)",
        "SELECT group_concat(x, '|') FROM (SELECT type||at||data AS x FROM outbox ORDER BY seq)",
        "SELECT group_concat(x, '|') FROM (SELECT uuid||ticket||level||follow_up_state AS x "
        "FROM evaluations ORDER BY uuid)",
        "SELECT value FROM meta WHERE key='day'",
    };
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    for (size_t i = 0; out && i < HQ_ARRAY_LEN(q); i++) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(db, q[i], -1, &s, NULL) != SQLITE_OK) continue;
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
            const char *t = (const char *)sqlite3_column_text(s, 0);
            size_t n = strlen(t);
            while (len + n + 2 > cap) {
                cap *= 2;
                out = realloc(out, cap);
            }
            memcpy(out + len, t, n);
            len += n;
            out[len++] = '\n';
            out[len] = 0;
        }
        sqlite3_finalize(s);
    }
    return out;
}

/* Degraded storage: the commands of a day kept in the backlog and written
 * later in one transaction give exactly the rows that committing each one
 * would have, the outbox in the same order without holes; while anything is
 * kept nothing else lands; a flush into a full file keeps it all. */
static void test_backlog(void)
{
    char err[512] = "";
    struct hq_cmd cmds[32];
    size_t n = script(cmds);
    char *want = NULL;
    for (int run = 0; run < 2; run++) {
        struct hq_store *st = NULL;
        struct hq_engine e;
        struct hq_result res = {0};
        uint32_t uuid_n = 1;
        fresh_db();
        CHECK_EQ_INT(hq_store_open(&cfg, &st, err, sizeof err), HQ_OK);
        CHECK_EQ_INT(hq_engine_init(&e, &cfg.engine), HQ_OK);
        CHECK_EQ_INT(hq_store_load(st, &e, err, sizeof err), HQ_OK);
        sqlite3 *db = hq_store_db(st);
        for (size_t i = 0; i < n; i++) {
            struct hq_cmd c = cmds[i];
            c.now = c.type == HQ_CMD_TICK ? T0 + 86400 : T0 + (int64_t)i * 5;
            if (i == n - 1) c.now = T0 + 86400 + 60;
            int rc = apply_n(&e, &c, &res, &uuid_n);
            if (rc)
                fprintf(stderr, "command %zu (%s) refused: %s\n", i, hq_cmd_name(c.type),
                        hq_strerror(rc));
            CHECK_EQ_INT(rc, HQ_OK);
            if (rc && !res.rollover) continue;
            /* run 1: everything after the issues goes through the backlog */
            if (run == 0 || i < 6) {
                CHECK_EQ_INT(hq_store_commit(st, &e, &c, &res), HQ_OK);
            } else {
                CHECK_EQ_INT(hq_store_defer(st, &e, &c, &res), HQ_OK);
                CHECK_EQ_INT(hq_store_commit(st, &e, &c, &res), HQ_ERR_DISK_FULL);
                CHECK_EQ_INT(hq_store_begin(st), HQ_ERR_DISK_FULL);
            }
        }
        if (run == 1) {
            size_t kept = 0, bytes = 0;
            hq_store_backlog(st, &kept, &bytes);
            CHECK_EQ_INT(kept, n - 6);
            CHECK(bytes > 0);
            int64_t events = scalar(db, "SELECT count(*) FROM events");
            /* a file that cannot grow: the flush fails, keeps everything */
            char sql[64];
            snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld",
                     (long long)scalar(db, "PRAGMA page_count"));
            sqlite3_exec(db, sql, NULL, NULL, NULL);
            sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
            int frc = hq_store_backlog_write(st);
            if (frc == HQ_ERR_DISK_FULL) {
                size_t still = 0;
                hq_store_backlog(st, &still, NULL);
                CHECK_EQ_INT(still, kept);
                CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM events"), events);
                CHECK(strstr(hq_store_why(st), "full") != NULL);
                sqlite3_exec(db, "PRAGMA max_page_count=1073741823", NULL, NULL, NULL);
                frc = hq_store_backlog_write(st);
            } else {
                CHECK_EQ_INT(frc, HQ_ERR_DISK_FULL); /* the cap should have held */
            }
            CHECK_EQ_INT(frc, HQ_OK);
            hq_store_backlog(st, &kept, &bytes);
            CHECK_EQ_INT(kept, 0);
            CHECK_EQ_INT(bytes, 0);
            CHECK_EQ_INT(hq_store_begin(st), HQ_OK);
            CHECK_EQ_INT(hq_store_end(st, 1), HQ_OK);
        }
        CHECK_EQ_INT(scalar(db, "SELECT max(seq) - min(seq) + 1 - count(*) FROM outbox"), 0);
        CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM outbox WHERE type='evaluation'"), 1);
        CHECK(scalar(db, "SELECT count(*) FROM tickets WHERE status='expired'") > 0);
        char *got = dump(db);
        if (run == 0) {
            want = got;
        } else {
            CHECK(want && got && strcmp(want, got) == 0);
            if (want && got && strcmp(want, got) != 0)
                fprintf(stderr, "direct:\n%s\nthrough the backlog:\n%s\n", want, got);
            free(got);
        }
        /* a reload gives the engine the same state */
        struct hq_engine e2;
        CHECK_EQ_INT(hq_engine_init(&e2, &cfg.engine), HQ_OK);
        CHECK_EQ_INT(hq_store_load(st, &e2, err, sizeof err), HQ_OK);
        CHECK_EQ_INT(e2.n_tickets, e.n_tickets);
        CHECK_EQ_INT(e2.day, e.day);
        for (size_t w = 0; w < cfg.engine.n_windows; w++)
            CHECK_EQ_INT(e2.win[w].state, e.win[w].state);
        hq_engine_free(&e2);
        hq_result_free(&res);
        hq_engine_free(&e);
        hq_store_close(st);
    }
    free(want);
}

/* Retention: acknowledged outbox records past sync.retention_days and the
 * history (event log, tickets, evaluations) past store.history_days go, in
 * steps of `limit` rows; unacknowledged records and open 差评 follow-ups stay,
 * whatever their age; today's queue is untouched. */
static void test_prune(void)
{
    struct hq_store *st = NULL;
    struct hq_engine e;
    struct hq_result res = {0};
    fresh_db();
    open_loaded(&st, &e);

    /* Day 0: six tickets, two served and rated (one 差评, one 非常满意). */
    struct hq_cmd c = {.type = HQ_CMD_ISSUE, .now = T0};
    for (int i = 0; i < 6; i++) {
        c = (struct hq_cmd){.type = HQ_CMD_ISSUE, .now = T0 + i};
        CHECK_EQ_INT(apply(&e, st, &c, &res), HQ_OK);
    }
    c = (struct hq_cmd){.type = HQ_CMD_LOGIN, .now = T0 + 10, .window = 1};
    strcpy(c.u.login.staff_id, "1001");
    CHECK_EQ_INT(apply(&e, st, &c, &res), HQ_OK);
    for (int i = 0; i < 2; i++) {
        c = (struct hq_cmd){.type = HQ_CMD_CALL_NEXT, .now = T0 + 20 + 100 * i, .window = 1};
        CHECK_EQ_INT(apply(&e, st, &c, &res), HQ_OK);
        c = (struct hq_cmd){.type = HQ_CMD_FINISH, .now = T0 + 80 + 100 * i, .window = 1};
        CHECK_EQ_INT(apply(&e, st, &c, &res), HQ_OK);
        c = (struct hq_cmd){.type = HQ_CMD_RATE, .now = T0 + 85 + 100 * i, .window = 1};
        c.u.rate.level = i ? 5 : 1;
        c.u.rate.channel = HQ_CHAN_PAD;
        CHECK_EQ_INT(apply(&e, st, &c, &res), HQ_OK);
    }
    /* Day 10: two tickets (the rollover closes day 0). */
    for (int i = 0; i < 2; i++) {
        c = (struct hq_cmd){.type = HQ_CMD_ISSUE, .now = T0 + 10 * 86400 + i};
        CHECK_EQ_INT(apply(&e, st, &c, &res), HQ_OK);
    }
    sqlite3 *db = hq_store_db(st);
    int32_t day0 = hq_engine_day_of(&cfg.engine, T0);
    int64_t cut = T0 + 5 * 86400;
    char q[256];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM outbox WHERE julianday(at) < julianday(%lld, 'unixepoch')",
             (long long)cut);
    int64_t old_rec = scalar(db, q);
    int64_t all_rec = scalar(db, "SELECT count(*) FROM outbox");
    int64_t first = scalar(db, "SELECT min(seq) FROM outbox");
    CHECK(old_rec >= 15 && all_rec > old_rec);
    /* the server acknowledged all but the last 3 records of day 0 */
    snprintf(q, sizeof q, "UPDATE outbox SET acked=1 WHERE seq < %lld",
             (long long)(first + old_rec - 3));
    CHECK_EQ_INT(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
    snprintf(q, sizeof q, "SELECT count(*) FROM events WHERE at < %lld", (long long)cut);
    int64_t old_ev = scalar(db, q), all_ev = scalar(db, "SELECT count(*) FROM events");
    CHECK(old_ev >= 10 && all_ev > old_ev);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM tickets"), 8);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM evaluations"), 2);
    /* cases bound on day 0 and on day 10 (hqd_rating.c): the old one goes with the history */
    snprintf(q, sizeof q,
             "INSERT INTO cases VALUES('t-old',0,'C1','I1','N1',%lld,NULL),"
             "('t-new',0,'C2','I2','N2',%lld,NULL)",
             (long long)T0 + 50, (long long)T0 + 10 * 86400);
    CHECK_EQ_INT(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);

    /* A record and an event written while the clock was far ahead: they stay, and they do not
     * hold up the rows after them. */
    snprintf(q, sizeof q, "UPDATE outbox SET at='2099-01-01T00:00:00+08:00' WHERE seq=%lld",
             (long long)first);
    CHECK_EQ_INT(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db,
                              "UPDATE events SET at = at + 36500 * 86400 WHERE id = (SELECT "
                              "min(id) FROM events)",
                              NULL, NULL, NULL),
                 SQLITE_OK);

    /* the outbox alone first; limit 4: a window of four at a time, oldest first */
    struct hq_store_pruned p, sum = {0};
    struct hq_store_prune_pos pos = {0};
    struct hq_store_prune_at outbox_only = {.outbox_before = cut};
    CHECK_EQ_INT(hq_store_prune(st, &outbox_only, 4, &pos, &p), HQ_OK);
    CHECK_EQ_INT(p.outbox, 3); /* the first of the window is the one from 2099 */
    CHECK_EQ_INT(p.events + p.tickets + p.evaluations, 0);
    CHECK(p.more);
    CHECK_EQ_INT(scalar(db, "SELECT min(seq) FROM outbox"), first);
    CHECK_EQ_INT(pos.outbox_seq, first + 4);
    sum.outbox = p.outbox;
    struct hq_store_prune_at all = {
        .outbox_before = cut, .events_before = cut, .history_day = day0 + 5};
    int steps = 1;
    do {
        CHECK_EQ_INT(hq_store_prune(st, &all, 4, &pos, &p), HQ_OK);
        sum.outbox += p.outbox;
        sum.events += p.events;
        sum.tickets += p.tickets;
        sum.evaluations += p.evaluations;
    } while (p.more && ++steps < 100);
    CHECK_EQ_INT(sum.outbox, old_rec - 3 - 1);
    CHECK_EQ_INT(sum.events, old_ev - 1);
    CHECK_EQ_INT(sum.tickets, 6);
    CHECK_EQ_INT(sum.evaluations, 1);
    /* what stays: the 3 unacknowledged old records, the two from the clock that ran ahead,
     * everything of day 10, the open 差评 */
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM outbox WHERE acked=0"), all_rec - old_rec + 3);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM outbox"), all_rec - old_rec + 3 + 1);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM events"), all_ev - old_ev + 1);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM tickets"), 2);
    CHECK_EQ_INT(scalar(db, "SELECT level FROM evaluations"), 1);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM cases WHERE ticket='t-new'"), 1);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM cases"), 1);
    /* the unsent figures (two index look-ups) agree with a count */
    int64_t bl, oldest, last;
    CHECK_EQ_INT(hq_store_outbox_stats(st, &bl, &oldest, &last), HQ_OK);
    CHECK_EQ_INT(bl, all_rec - old_rec + 3);
    CHECK_EQ_INT(oldest, scalar(db, "SELECT min(seq) FROM outbox WHERE acked=0"));
    CHECK_EQ_INT(last, scalar(db, "SELECT max(seq) FROM outbox"));
    /* a second pass finds nothing; closing the follow-up lets the 差评 go */
    pos = (struct hq_store_prune_pos){0};
    CHECK_EQ_INT(hq_store_prune(st, &all, 4, &pos, &p), HQ_OK);
    CHECK_EQ_INT(p.outbox + p.events + p.tickets + p.evaluations, 0);
    CHECK(!p.more);
    CHECK_EQ_INT(
        sqlite3_exec(db, "UPDATE evaluations SET follow_up_state='closed'", NULL, NULL, NULL),
        SQLITE_OK);
    pos = (struct hq_store_prune_pos){0};
    CHECK_EQ_INT(hq_store_prune(st, &all, 4, &pos, &p), HQ_OK);
    CHECK_EQ_INT(p.evaluations, 1);
    CHECK_EQ_INT(sqlite3_exec(db, "UPDATE outbox SET acked=1", NULL, NULL, NULL), SQLITE_OK);
    CHECK_EQ_INT(hq_store_outbox_stats(st, &bl, &oldest, &last), HQ_OK);
    CHECK_EQ_INT(bl, 0);
    CHECK_EQ_INT(oldest, 0);
    CHECK_EQ_INT(last, scalar(db, "SELECT max(seq) FROM outbox"));
    hq_store_close(st);

    /* today's queue comes back whole */
    struct hq_engine e2;
    open_loaded(&st, &e2);
    CHECK_EQ_INT(e2.day, e.day);
    CHECK_EQ_INT(e2.n_tickets, e.n_tickets);
    for (size_t i = 0; i < e.n_tickets && i < e2.n_tickets; i++)
        CHECK_EQ_MEM(&e2.tickets[i], &e.tickets[i], sizeof e.tickets[i]);
    hq_result_free(&res);
    hq_engine_free(&e);
    hq_engine_free(&e2);
    hq_store_close(st);
}

/* issue 13: numbers never repeat within a day however often the database is
 * lost or moved aside (the numbers side file, reserved in blocks), and a torn
 * write of the side file's next slot leaves the last good one in force. */
static int issue_now(const char *svc, int64_t now, char label[16])
{
    struct hq_store *st = NULL;
    struct hq_engine e;
    struct hq_result res = {0};
    char err[512] = "";
    int number = -1;
    CHECK_EQ_INT(hq_store_open(&cfg, &st, err, sizeof err), HQ_OK);
    if (!st) return -1;
    CHECK_EQ_INT(hq_engine_init(&e, &cfg.engine), HQ_OK);
    CHECK_EQ_INT(hq_store_load(st, &e, err, sizeof err), HQ_OK);
    struct hq_cmd c = {.type = HQ_CMD_ISSUE, .now = now};
    c.u.issue.service = (uint8_t)(svc[0] - 'A');
    if (apply(&e, st, &c, &res) == HQ_OK) {
        const struct hq_ticket *t = &e.tickets[e.n_tickets - 1];
        number = t->number;
        hq_ticket_label(&e, t, label, 16);
    }
    hq_result_free(&res);
    hq_engine_free(&e);
    hq_store_close(st);
    return number;
}

static void corrupt_db(void)
{
    char p[300];
    snprintf(p, sizeof p, "%s/hall.db", dir);
    FILE *f = fopen(p, "r+b");
    CHECK(f != NULL);
    if (!f) return;
    char junk[4096];
    memset(junk, 0x5a, sizeof junk);
    fseek(f, 0, SEEK_SET);
    fwrite(junk, 1, sizeof junk, f);
    fclose(f);
    snprintf(p, sizeof p, "%s/hall.db-wal", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/hall.db-shm", dir);
    unlink(p);
}

static void lose_db(void)
{
    char p[300];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/hall.db%s", dir, sfx[i]);
        unlink(p);
    }
}

static void test_numbers(void)
{
    int64_t now = time(NULL);
    char label[16];
    int seen[1000] = {0}, n;
    fresh_db();
    for (int i = 0; i < 3; i++) {
        n = issue_now("A", now + i, label);
        CHECK_EQ_INT(n, i + 1);
        if (n > 0 && n < 1000) seen[n]++;
    }
    /* the side file is there, next to the database, out of its glob */
    char side[300];
    snprintf(side, sizeof side, "%s/.hall.db.numbers", dir);
    CHECK(access(side, F_OK) == 0);
    /* the database deleted: today's numbers continue above the reservation */
    lose_db();
    n = issue_now("A", now + 10, label);
    CHECK(n > 3);
    if (n > 0 && n < 1000) seen[n]++;
    /* two corruptions in one day: never the middle of the range twice */
    for (int k = 0; k < 2; k++) {
        corrupt_db();
        n = issue_now("A", now + 20 + k, label);
        CHECK(n > 3);
        if (n > 0 && n < 1000) seen[n]++;
        n = issue_now("A", now + 30 + k, label);
        if (n > 0 && n < 1000) seen[n]++;
    }
    /* a torn write of the next reservation: its first sector (magic, a higher
     * generation) landed in the other slot, the rest did not (zeros: no entries).
     * The checksum must reject it, or today would start again at 1. */
    FILE *f = fopen(side, "r+b");
    CHECK(f != NULL);
    if (f) {
        unsigned char slot[2][4096];
        uint64_t g[2] = {0, 0};
        memset(slot, 0, sizeof slot);
        CHECK(fread(slot, 1, sizeof slot, f) > 4096); /* the second slot is shorter */
        for (int i = 0; i < 2; i++)
            memcpy(&g[i], slot[i] + 8, 8);
        int newest = g[1] > g[0];
        unsigned char torn[4096];
        memset(torn, 0, sizeof torn);
        memcpy(torn, slot[newest], 512);
        uint64_t gen = g[newest] + 1;
        memcpy(torn + 8, &gen, 8);
        memset(torn + 24, 0, 512 - 24); /* its entries: not yet written */
        fseek(f, (long)(gen % 2) * 4096L, SEEK_SET);
        fwrite(torn, 1, sizeof torn, f);
        fclose(f);
    }
    lose_db();
    n = issue_now("A", now + 40, label);
    if (n > 0 && n < 1000) seen[n]++;
    for (int i = 1; i < 1000; i++)
        if (seen[i] > 1) {
            CHECK(!"a number issued twice in one day");
            fprintf(stderr, "number %d issued %d times\n", i, seen[i]);
        }
    /* both slots spoilt: nothing to go on, but never a crash */
    f = fopen(side, "r+b");
    if (f) {
        char junk[8192];
        memset(junk, 0x44, sizeof junk);
        fwrite(junk, 1, sizeof junk, f);
        fclose(f);
    }
    lose_db();
    CHECK(issue_now("A", now + 50, label) > 0);
    fresh_db();
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/hallq-store-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    char err[512];
    if (hq_config_parse("store-test.json", dir, cfg_json, &cfg, err, sizeof err) != HQ_OK) {
        fprintf(stderr, "config: %s\n", err);
        return 1;
    }
    hq_log_level = HQ_LOG_ERR - 1; /* the refusals are expected: keep the output clean */
    test_reopen();
    test_migrate();
    test_refusals();
    test_full();
    test_wal_bounded();
    test_batch();
    test_backlog();
    test_prune();
    test_numbers();
    hq_config_free(&cfg);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    return check_report("test_store");
}
