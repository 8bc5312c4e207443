/*
 * test_drv_hallbus.c — the FF 68 driver (drivers/hallbus_drv.c) against a fake host
 * (fake_host.h): key and rating frames in, in any split and among garbage, give the engine
 * commands the §2 table means, echoes and beeps; engine effects in give the keypad and pad
 * frames; a resend is echoed but never applied twice.
 */
#include "check.h"
#include "fake_host.h"
#include "hallbus_drv.h"

static struct hq_service_cfg svc[1];
static struct hq_window_cfg win[1];
static struct hq_staff_cfg staff[1] = {{"1234", "王芳", "clerk"}};
static struct hq_engine_cfg cfg;

static void setup(void)
{
    snprintf(svc[0].code, sizeof svc[0].code, "A");
    snprintf(svc[0].prefix, sizeof svc[0].prefix, "A");
    snprintf(svc[0].name, sizeof svc[0].name, "业务");
    svc[0].num_min = 1;
    svc[0].num_max = 999;
    svc[0].digits = 3;
    svc[0].default_handle_s = 300;
    for (int d = 0; d < 7; d++) {
        svc[0].week[d].n = 1;
        svc[0].week[d].iv[0].close_min = 1440;
    }
    win[0].number = 3;
    win[0].n_services = 1;
    cfg.utc_offset_s = 28800;
    cfg.services = svc;
    cfg.n_services = 1;
    cfg.windows = win;
    cfg.n_windows = 1;
    cfg.staff = staff;
    cfg.n_staff = 1;
    cfg.recall_limit = 3;
    cfg.rating_timeout_s = 30;
    cfg.handle_alpha_pct = 20;
    cfg.max_overtakes = 5;
}

/* What the driver wrote, as frames. */
struct frames {
    int n;
    struct hallbus_frame f[16];
};

static void on_frame(const struct hallbus_frame *f, void *arg)
{
    struct frames *fr = arg;
    if (fr->n < 16) fr->f[fr->n++] = *f;
}

static struct frames written(struct fake_host *fh)
{
    struct frames fr = {0};
    uint8_t b[4096];
    size_t n = fake_host_take(fh, b, sizeof b);
    struct hallbus_lexer lx;
    hallbus_lexer_init(&lx);
    hallbus_lexer_feed(&lx, b, n, on_frame, &fr);
    CHECK_EQ_INT(lx.garbage + lx.bad_checksum + lx.bad_length, 0);
    return fr;
}

static void feed(struct fake_host *fh, const char *hex, size_t split, uint64_t now)
{
    uint8_t b[256];
    size_t n = fake_hex(hex, b);
    if (split > n) split = n;
    fh->dev.drv->input(&fh->dev, b, split, now);
    fh->dev.drv->input(&fh->dev, b + split, n - split, now);
}

int main(void)
{
    hq_log_level = HQ_LOG_ERR;
    setup();
    static struct hq_engine e;
    CHECK_EQ_INT(hq_engine_init(&e, &cfg), HQ_OK);
    int64_t t0 = 1767232800; /* 2026-01-01 10:00 +08:00 */
    struct hq_cmd c = {.type = HQ_CMD_LOGIN, .now = t0, .window = 3};
    snprintf(c.u.login.staff_id, sizeof c.u.login.staff_id, "1234");
    static struct hq_result res;
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &res), HQ_OK);
    c = (struct hq_cmd){.type = HQ_CMD_ISSUE, .now = t0 + 1};
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &res), HQ_OK);

    const struct hq_dev_window w[] = {
        {.window = 3, .wi = 0, .keypad = 3, .pad = 33, .pad_type = "five", .pad_map = ""}};
    static struct fake_host fh;
    fake_host_init(&fh, &hq_driver_ff68, w, 1, NULL, &e);
    CHECK_EQ_STR(hq_driver_find("hall")->name, "ff68"); /* the old config name still works */

    /* open: the line is online, the keypad is told its waiting count, the flush timer runs */
    CHECK_EQ_INT(fh.dev.drv->open(&fh.dev, 1000), HQ_OK);
    CHECK_EQ_INT(fh.n_health, 1);
    CHECK_EQ_INT(fh.health[0].health, HQ_HEALTH_ONLINE);
    CHECK_EQ_INT(fh.armed, 1000);
    struct frames fr = written(&fh);
    CHECK_EQ_INT(fr.n, 1);
    CHECK_EQ_INT(fr.f[0].addr, 3);
    CHECK_EQ_INT(fr.f[0].func, HALLBUS_FUNC_DISPLAY);

    /* bytes in → command out: "call next" from keypad 3 split mid-frame behind garbage */
    feed(&fh, "13 37 FF 68 03 03 68 03 01 0C 10 16", 6, 2000);
    CHECK_EQ_INT(fh.n_cmds, 1);
    CHECK_EQ_INT(fh.cmds[0].type, HQ_CMD_CALL_NEXT);
    CHECK_EQ_INT(fh.cmds[0].window, 3);
    CHECK_EQ_INT(fh.garbage, 2);
    fr = written(&fh);
    CHECK_EQ_INT(fr.n, 1); /* the echo (§2) */
    CHECK_EQ_INT(fr.f[0].func, HALLBUS_FUNC_KEY);
    CHECK_EQ_INT(fr.f[0].data[0], 0x0C);
    /* the keypad missed the echo and resends: echoed again, never applied twice */
    feed(&fh, "FF 68 03 03 68 03 01 0C 10 16", 0, 2500);
    CHECK_EQ_INT(fh.n_cmds, 1);
    CHECK_EQ_INT(written(&fh).n, 1);

    /* effects in → bytes out: the engine's call shows on the keypad, once, at the result's end */
    for (size_t i = 0; i < fh.res.n_fx; i++) {
        struct hq_drv_effect ef = {.type = HQ_DRV_FX_ENGINE, .wi = -1, .fx = &fh.res.fx[i]};
        fh.dev.drv->effect(&fh.dev, &ef, 2600);
    }
    CHECK_EQ_INT(fh.out_len, 0); /* staged until the end of the result */
    struct hq_drv_effect end = {.type = HQ_DRV_FX_END, .wi = -1};
    fh.dev.drv->effect(&fh.dev, &end, 2600);
    fr = written(&fh);
    CHECK_EQ_INT(fr.n, 1);
    CHECK_EQ_INT(fr.f[0].func, HALLBUS_FUNC_DISPLAY);
    CHECK_EQ_INT(fr.f[0].addr, 3);

    /* a key that cannot apply beeps; help raises an event and beeps */
    fh.apply_rc = HQ_ERR_EMPTY;
    feed(&fh, "FF 68 03 03 68 03 01 0D 11 16", 3, 5000); /* recall */
    fr = written(&fh);
    CHECK_EQ_INT(fr.n, 2);
    CHECK_EQ_INT(fr.f[1].func, HALLBUS_FUNC_BEEP);
    fh.apply_rc = HQ_OK;
    size_t cmds = fh.n_cmds;
    feed(&fh, "FF 68 04 04 68 03 01 07 0F 1A 16", 4, 8000);
    CHECK_EQ_INT(fh.n_cmds, cmds); /* help is no engine command */
    CHECK_EQ_INT(fh.n_ev, 1);
    CHECK_EQ_INT(fh.ev[0].type, HQ_DEV_EV_HELP);
    CHECK_EQ_INT(fh.ev[0].wi, 0);
    fr = written(&fh);
    CHECK_EQ_INT(fr.n, 2);
    CHECK_EQ_INT(fr.f[1].func, HALLBUS_FUNC_BEEP);

    /* an address nobody has: counted, ignored, never answered */
    feed(&fh, "FF 68 03 03 68 09 01 0C 16 16", 0, 9000);
    CHECK_EQ_INT(fh.n_cmds, cmds);
    CHECK_EQ_INT(fh.out_len, 0);

    /* a bad checksum is reported to the host as a bad frame */
    feed(&fh, "FF 68 03 03 68 03 01 0C 11 16", 0, 9100);
    CHECK_EQ_INT(fh.bad_frames, 1);
    CHECK_EQ_INT(fh.n_cmds, cmds);

    /* the pad: finish → the invitation (§2 vector); level 5 → RATE by pad; refused → idle */
    c = (struct hq_cmd){.type = HQ_CMD_FINISH, .now = t0 + 60, .window = 3};
    CHECK_EQ_INT(hq_engine_apply(&e, &c, &res), HQ_OK);
    for (size_t i = 0; i < res.n_fx; i++) {
        struct hq_drv_effect ef = {.type = HQ_DRV_FX_ENGINE, .wi = -1, .fx = &res.fx[i]};
        fh.dev.drv->effect(&fh.dev, &ef, 10000);
    }
    fh.dev.drv->effect(&fh.dev, &end, 10000);
    uint8_t b[256], want[64];
    size_t n = fake_host_take(&fh, b, sizeof b),
           wn = fake_hex("FF 68 03 03 68 21 01 0B 2D 16", want);
    bool found = false;
    for (size_t i = 0; i + wn <= n && !found; i++)
        found = memcmp(b + i, want, wn) == 0;
    CHECK(found);
    feed(&fh, "FF 68 03 03 68 21 11 05 37 16", 5, 11000);
    CHECK_EQ_INT(fh.cmds[fh.n_cmds - 1].type, HQ_CMD_RATE);
    CHECK_EQ_INT(fh.cmds[fh.n_cmds - 1].u.rate.level, 5);
    CHECK_EQ_INT(fh.cmds[fh.n_cmds - 1].u.rate.channel, HQ_CHAN_PAD);
    CHECK_EQ_INT(fh.out_len, 0); /* acknowledged by the result's HQ_FX_RATED, not here */
    fh.apply_rc = HQ_ERR_STATE;
    feed(&fh, "FF 68 03 03 68 21 11 04 36 16", 0, 14000);
    fr = written(&fh);
    CHECK_EQ_INT(fr.n, 1);
    CHECK_EQ_INT(fr.f[0].addr, 33);
    CHECK_EQ_INT(fr.f[0].func, HALLBUS_FUNC_DISPLAY); /* 0 stars: back to idle */
    CHECK_EQ_INT(fr.f[0].data[0], 0);

    /* commissioning: identify makes the keypad beep and show its own address */
    struct hq_drv_effect id = {.type = HQ_DRV_FX_IDENTIFY, .wi = 0};
    fh.dev.drv->effect(&fh.dev, &id, 15000);
    fr = written(&fh);
    CHECK_EQ_INT(fr.n, 2);
    CHECK_EQ_INT(fr.f[0].func, HALLBUS_FUNC_BEEP);
    CHECK_EQ_INT(fr.f[1].func, HALLBUS_FUNC_DISPLAY);
    /* the next flush tick sends its real display again */
    fh.dev.drv->timer(&fh.dev, 16000);
    fr = written(&fh);
    CHECK_EQ_INT(fr.n, 1);
    CHECK_EQ_INT(fr.f[0].func, HALLBUS_FUNC_DISPLAY);

    fake_host_free(&fh);
    hq_result_free(&res);
    hq_engine_free(&e);
    return check_report("test_drv_hallbus");
}
