/*
 * test_drv_idcard.c — the SAM reader driver (drivers/idcard_drv.c) against a fake host
 * (fake_host.h): it polls on its own timer, reports the line online only once the reader
 * answers, turns a card read into one CARD event (keyed hash, masked name, never the number)
 * and its removal into CARD_REMOVED, and goes offline when the reader falls silent.
 */
#include <stdlib.h>

#include "check.h"
#include "fake_host.h"
#include "idcard_drv.h"

#define NOCARD "AA AA AA 96 69 00 04 00 00 80 84"
#define PRESENT "AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97"
#define SELECTED "AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C"
#define KEY "hallq-test-key"

static size_t load(const char *name, uint8_t *buf, size_t cap)
{
    char path[512];
    const char *dir = getenv("HQ_TESTDATA");
    snprintf(path, sizeof path, "%s/idcard/%s", dir ? dir : "tests/data", name);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* The command the driver wrote since the last call (-1 none). */
static int sent(struct fake_host *fh)
{
    uint8_t b[64];
    size_t n = fake_host_take(fh, b, sizeof b);
    if (n < 9) return -1;
    return idcard_cmd_from_bytes(b[7], b[8]);
}

static void answer(struct fake_host *fh, const char *hex, uint64_t now)
{
    uint8_t b[64];
    size_t n = fake_hex(hex, b);
    fh->dev.drv->input(&fh->dev, b, n, now);
}

int main(void)
{
    hq_log_level = HQ_LOG_ERR;
    static uint8_t card[4096];
    size_t card_len = load("resident_elderly.bin", card, sizeof card);
    static struct fake_host fh;
    struct idcard_drv_cfg cfg = {.fingerprint = false};
    fake_host_init(&fh, &hq_driver_sam, NULL, 0, &cfg, NULL);
    fh.dev.secret = (const uint8_t *)KEY;
    fh.dev.secret_len = strlen(KEY);
    CHECK(hq_driver_default(HQ_DRV_ROLE_READER) == &hq_driver_sam);
    CHECK(hq_driver_sam.private_bytes); /* the host never dumps a card's bytes */

    /* open: offline until the reader answers; the first poll is out */
    uint64_t t = 1000;
    CHECK_EQ_INT(fh.dev.drv->open(&fh.dev, t), HQ_OK);
    CHECK_EQ_INT(fh.health[0].health, HQ_HEALTH_OFFLINE);
    CHECK(strstr(fh.health[0].reason, "not answering") != NULL);
    CHECK_EQ_INT(sent(&fh), IDCARD_CMD_FIND_CARD);
    answer(&fh, NOCARD, t + 20);
    CHECK_EQ_INT(fh.health[fh.n_health - 1].health, HQ_HEALTH_ONLINE);
    CHECK(fh.armed > 0 && fh.armed <= 400); /* the next poll, on the driver's timer */

    /* bytes in → a card event: find, select, read (the answer in two bites) */
    t += 400;
    fh.dev.drv->timer(&fh.dev, t);
    CHECK_EQ_INT(sent(&fh), IDCARD_CMD_FIND_CARD);
    answer(&fh, PRESENT, t + 20);
    CHECK_EQ_INT(sent(&fh), IDCARD_CMD_SELECT_CARD);
    answer(&fh, SELECTED, t + 40);
    CHECK_EQ_INT(sent(&fh), IDCARD_CMD_READ_TEXT_PHOTO);
    fh.dev.drv->input(&fh.dev, card, 600, t + 100);
    CHECK_EQ_INT(fh.n_ev, 0);
    fh.dev.drv->input(&fh.dev, card + 600, card_len - 600, t + 200);
    CHECK_EQ_INT(fh.n_ev, 1);
    CHECK_EQ_INT(fh.ev[0].type, HQ_DEV_EV_CARD);
    CHECK_EQ_STR(fh.ev[0].card.name_masked, "王**");
    CHECK_EQ_INT(fh.ev[0].card.birth_ymd, 19480312);
    uint8_t zero[32] = {0};
    CHECK(memcmp(fh.ev[0].card.hash, zero, 32) != 0);

    /* removed: one event */
    t += 400;
    fh.dev.drv->timer(&fh.dev, t);
    CHECK_EQ_INT(sent(&fh), IDCARD_CMD_FIND_CARD);
    answer(&fh, NOCARD, t + 20);
    CHECK_EQ_INT(fh.n_ev, 2);
    CHECK_EQ_INT(fh.ev[1].type, HQ_DEV_EV_CARD_REMOVED);

    /* garbage before an answer is reported to the host */
    t += 400;
    fh.dev.drv->timer(&fh.dev, t);
    CHECK_EQ_INT(sent(&fh), IDCARD_CMD_FIND_CARD);
    answer(&fh, "01 02 03 " NOCARD, t + 20);
    CHECK_EQ_INT(fh.garbage, 3);

    /* silent for more than 3 s: offline */
    size_t h = fh.n_health;
    for (uint64_t now = t + 400; now < t + 5000; now += 100)
        fh.dev.drv->timer(&fh.dev, now);
    CHECK(fh.n_health > h);
    CHECK_EQ_INT(fh.health[fh.n_health - 1].health, HQ_HEALTH_OFFLINE);
    fake_host_free(&fh);
    return check_report("test_drv_idcard");
}
