/*
 * test_drv_ledbar.c — the A0 90 driver (drivers/ledbar_drv.c) against a fake host
 * (fake_host.h): a window view in gives the §3 frame byte for byte; the idle text is stored
 * when the line opens; closing time is one broadcast; on a line whose bars acknowledge, one
 * frame is in flight at a time, AA releases the next and three missed AA make that bar (not
 * the line) faulty; identify shows the bar's own address.
 */
#include "check.h"
#include "fake_host.h"
#include "ledbar_drv.h"

struct frames {
    int n;
    struct ledbar_frame f[8];
};

static void on_frame(const struct ledbar_frame *f, void *arg)
{
    struct frames *fr = arg;
    if (fr->n < 8) fr->f[fr->n++] = *f;
}

static struct frames written(struct fake_host *fh)
{
    static struct frames fr;
    memset(&fr, 0, sizeof fr);
    static uint8_t b[8192];
    size_t n = fake_host_take(fh, b, sizeof b);
    struct ledbar_lexer lx;
    ledbar_lexer_init(&lx);
    ledbar_lexer_feed(&lx, b, n, on_frame, &fr);
    CHECK_EQ_INT(lx.garbage + lx.bad_checksum + lx.bad_length, 0);
    return fr;
}

static void show(struct fake_host *fh, int wi, int kind, const char *text, uint64_t now)
{
    struct hq_view v = {.kind = (uint8_t)kind, .text = text, .color = "red"};
    struct hq_drv_effect ef = {.type = HQ_DRV_FX_SHOW, .wi = wi, .view = &v};
    fh->dev.drv->effect(&fh->dev, &ef, now);
}

static void text_of(const struct ledbar_frame *f, char *out, size_t cap)
{
    int color;
    out[0] = '\0';
    CHECK_EQ_INT(ledbar_cells_to_utf8(f->data, f->n, out, cap, &color), HQ_OK);
}

int main(void)
{
    hq_log_level = HQ_LOG_ERR;
    const struct hq_dev_window w[] = {
        {.window = 3, .bar = 3, .idle_text = "欢迎", .idle_color = "green"},
        {.window = 4, .bar = 4, .idle_text = "欢迎", .idle_color = "green"},
    };
    static struct fake_host fh;
    static struct frames fr;
    char text[256];
    CHECK_EQ_STR(hq_driver_find("led")->name, "a090"); /* the old config name still works */

    /* without acknowledgements: every frame goes out at once */
    fake_host_init(&fh, &hq_driver_a090, w, 2, NULL, NULL);
    CHECK_EQ_INT(fh.dev.drv->open(&fh.dev, 0), HQ_OK);
    CHECK_EQ_INT(fh.health[0].health, HQ_HEALTH_ONLINE);
    CHECK(!fh.dev.units_report);
    fr = written(&fh);
    CHECK_EQ_INT(fr.n, 2); /* each bar stores its idle text (A2) */
    CHECK_EQ_INT(fr.f[0].cmd, LEDBAR_CMD_STORE_IDLE);
    CHECK_EQ_INT(fr.f[1].addr, 4);
    text_of(&fr.f[0], text, sizeof text);
    CHECK_EQ_STR(text, "欢迎");

    /* effects in → bytes out: window 3 calling A012 is the §3 test vector */
    show(&fh, 0, HQ_VIEW_CALL, "A012请到3号窗口", 10);
    uint8_t b[512], want[128];
    size_t n = fake_host_take(&fh, b, sizeof b);
    size_t wn = fake_hex("A0 90 03 A5 00 19 41 00 30 00 31 00 32 00 C7 EB 00 B5 BD 00 33 00 BA C5 "
                         "00 B4 B0 00 BF DA 00 C4",
                         want);
    CHECK_EQ_INT(n, wn);
    CHECK(n == wn && memcmp(b, want, n) == 0);
    show(&fh, 1, HQ_VIEW_IDLE, "", 20);
    fr = written(&fh);
    CHECK_EQ_INT(fr.n, 1);
    CHECK_EQ_INT(fr.f[0].cmd, LEDBAR_CMD_SHOW_IDLE);
    CHECK_EQ_INT(fr.f[0].addr, 4);
    struct hq_drv_effect blank = {.type = HQ_DRV_FX_BLANK, .wi = -1};
    fh.dev.drv->effect(&fh.dev, &blank, 30);
    fr = written(&fh);
    CHECK_EQ_INT(fr.n, 1);
    CHECK_EQ_INT(fr.f[0].addr, LEDBAR_BROADCAST);
    CHECK_EQ_INT(fr.f[0].n, 0);
    struct hq_drv_effect id = {.type = HQ_DRV_FX_IDENTIFY, .wi = 1};
    fh.dev.drv->effect(&fh.dev, &id, 40);
    fr = written(&fh);
    CHECK_EQ_INT(fr.n, 1);
    CHECK_EQ_INT(fr.f[0].addr, 4);
    text_of(&fr.f[0], text, sizeof text);
    CHECK_EQ_STR(text, "4号窗 地址4");
    fake_host_free(&fh);

    /* acknowledging bars: one frame at a time, AA releases the next */
    fake_host_init(&fh, &hq_driver_a090, w, 2, NULL, NULL);
    fh.dev.acknowledge = true;
    CHECK_EQ_INT(fh.dev.drv->open(&fh.dev, 0), HQ_OK);
    CHECK(fh.dev.units_report);
    CHECK_EQ_INT(written(&fh).n, 1); /* bar 3's A2 only; bar 4's waits */
    CHECK_EQ_INT(fh.armed, LEDBAR_ACK_MS + 1);
    uint8_t aa = LEDBAR_ACK;
    fh.dev.drv->input(&fh.dev, &aa, 1, 50);
    CHECK_EQ_INT(fh.health[fh.n_health - 1].unit, HQ_UNIT_BAR);
    CHECK_EQ_INT(fh.health[fh.n_health - 1].wi, 0);
    CHECK_EQ_INT(fh.health[fh.n_health - 1].health, HQ_HEALTH_ONLINE);
    fr = written(&fh);
    CHECK_EQ_INT(fr.n, 1);
    CHECK_EQ_INT(fr.f[0].addr, 4);
    /* a newer text for a bar replaces the one still queued for it */
    show(&fh, 0, HQ_VIEW_CALL, "A013", 60);
    show(&fh, 0, HQ_VIEW_CALL, "A014", 61);
    CHECK_EQ_INT(fh.out_len, 0);
    fh.dev.drv->input(&fh.dev, &aa, 1, 70);
    fr = written(&fh);
    CHECK_EQ_INT(fr.n, 1);
    text_of(&fr.f[0], text, sizeof text);
    CHECK_EQ_STR(text, "A014");
    /* a stray byte is garbage for the host's bad-frame window */
    uint8_t junk = 0x55;
    fh.dev.drv->input(&fh.dev, &junk, 1, 80);
    CHECK_EQ_INT(fh.garbage, 1);
    /* bar 3 stops answering: after three missed AA it (not the line) is faulty */
    size_t before = fh.n_health;
    uint64_t t = 100;
    for (int i = 0; i < 3; i++) {
        if (i) show(&fh, 0, HQ_VIEW_CALL, i == 1 ? "A015" : "A016", t);
        t += LEDBAR_ACK_MS + 1;
        fh.dev.drv->timer(&fh.dev, t);
    }
    CHECK_EQ_INT(fh.n_health, before + 1);
    CHECK_EQ_INT(fh.health[before].unit, HQ_UNIT_BAR);
    CHECK_EQ_INT(fh.health[before].wi, 0);
    CHECK_EQ_INT(fh.health[before].health, HQ_HEALTH_FAULTY);
    fake_host_free(&fh);
    return check_report("test_drv_ledbar");
}
