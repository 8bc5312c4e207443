/*
 * test_devices.c — the device glue of hallqd: every keypad key becomes the engine command the
 * §2 table means, pad keys map to levels (unmapped keys rate nothing), and engine effects give
 * the §2/§3 frames byte for byte (window 3 calling A012 shows the §3 test vector). The FF 68
 * glue lives in drivers/hallbus_drv.c, a window's view in firmware/devices.c and its A0 90
 * frame in drivers/ledbar_drv.c.
 */
#include "check.h"
#include "devices.h"
#include "hallbus_drv.h"
#include "ledbar_drv.h"

static size_t hex(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static struct hq_service_cfg svc[2];
static struct hq_window_cfg win[1];
static struct hq_staff_cfg staff[1] = {{"1234", "王芳", "clerk"}};
static struct hq_engine_cfg cfg;

static void setup(void)
{
    for (int i = 0; i < 2; i++) {
        snprintf(svc[i].code, sizeof svc[i].code, "%c", 'A' + i);
        snprintf(svc[i].prefix, sizeof svc[i].prefix, "%c", 'A' + i);
        snprintf(svc[i].name, sizeof svc[i].name, "业务%d", i);
        svc[i].num_min = 12;
        svc[i].num_max = 999;
        svc[i].digits = 3;
        svc[i].default_handle_s = 300;
        for (int d = 0; d < 7; d++) {
            svc[i].week[d].n = 1;
            svc[i].week[d].iv[0].open_min = 0;
            svc[i].week[d].iv[0].close_min = 1440;
        }
    }
    win[0].number = 3;
    win[0].services[0] = 0;
    win[0].services[1] = 1;
    win[0].n_services = 2;
    cfg.utc_offset_s = 28800;
    cfg.services = svc;
    cfg.n_services = 2;
    cfg.windows = win;
    cfg.n_windows = 1;
    cfg.staff = staff;
    cfg.n_staff = 1;
    cfg.recall_limit = 3;
    cfg.rating_timeout_s = 30;
    cfg.elderly_age = 65;
    cfg.handle_alpha_pct = 20;
    cfg.max_overtakes = 5;
}

static const struct {
    const char *data;
    int outcome, type;
} keys[] = {
    {"0C", HALLBUS_DRV_KEY_CMD, HQ_CMD_CALL_NEXT},
    {"00 01 02 0C", HALLBUS_DRV_KEY_CMD, HQ_CMD_CALL_NUMBER},
    {"0D", HALLBUS_DRV_KEY_CMD, HQ_CMD_RECALL},
    {"0A", HALLBUS_DRV_KEY_CMD, HQ_CMD_START},
    {"0B", HALLBUS_DRV_KEY_CMD, HQ_CMD_FINISH},
    {"12", HALLBUS_DRV_KEY_CMD, HQ_CMD_PAUSE},
    {"13", HALLBUS_DRV_KEY_CMD, HQ_CMD_TRANSFER},
    {"02 13", HALLBUS_DRV_KEY_CMD, HQ_CMD_TRANSFER},
    {"06 0F", HALLBUS_DRV_KEY_CMD, HQ_CMD_NO_SHOW},
    {"00 0F", HALLBUS_DRV_KEY_CMD, HQ_CMD_PARK},
    {"03 0F", HALLBUS_DRV_KEY_CMD, HQ_CMD_CALL_BACK},
    {"09 0F", HALLBUS_DRV_KEY_CMD, HQ_CMD_LOGOUT},
    {"01 02 03 04 0F", HALLBUS_DRV_KEY_CMD, HQ_CMD_LOGIN},
    {"07 0F", HALLBUS_DRV_KEY_HELP, -1},
    {"03 13", HALLBUS_DRV_KEY_IGNORED, -1}, /* no service number 3 in this hall */
};

int main(void)
{
    setup();
    static struct hq_engine e;
    static struct hq_result res;
    CHECK_EQ_INT(hq_engine_init(&e, &cfg), HQ_OK);
    for (size_t i = 0; i < HQ_ARRAY_LEN(keys); i++) {
        struct hallbus_frame f = {.addr = 3, .func = 1};
        f.n = (uint8_t)hex(keys[i].data, f.data);
        struct hallbus_key k;
        CHECK_EQ_INT(hallbus_key_decode(&f, &k), HQ_OK);
        struct hq_cmd cmd;
        int o = hallbus_drv_key_cmd(&e, 3, &k, &cmd);
        if (o != keys[i].outcome) fprintf(stderr, "key %s: outcome %d\n", keys[i].data, o);
        CHECK_EQ_INT(o, keys[i].outcome);
        if (o == HALLBUS_DRV_KEY_CMD) {
            CHECK_EQ_INT(cmd.type, keys[i].type);
            CHECK_EQ_INT(cmd.window, 3);
        }
        if (keys[i].type == HQ_CMD_CALL_NUMBER) CHECK_EQ_STR(cmd.u.call.label, "012");
        if (keys[i].type == HQ_CMD_LOGIN) CHECK_EQ_STR(cmd.u.login.staff_id, "1234");
        if (strcmp(keys[i].data, "02 13") == 0) CHECK_EQ_INT(cmd.u.transfer.service, 1);
        if (strcmp(keys[i].data, "13") == 0) CHECK_EQ_INT(cmd.u.transfer.service, -1);
        if (keys[i].type == HQ_CMD_NO_SHOW) CHECK_EQ_INT(cmd.u.no_show.requeue, -1);
    }

    /* a day at window 3: login by keypad, a ticket, call it: the §3 vector on bar 3 */
    int64_t now = 1767232800; /* 2026-01-01 10:00 +08:00 */
    struct hq_cmd cmd = {.type = HQ_CMD_LOGIN, .now = now, .window = 3};
    snprintf(cmd.u.login.staff_id, sizeof cmd.u.login.staff_id, "1234");
    CHECK_EQ_INT(hq_engine_apply(&e, &cmd, &res), HQ_OK);
    cmd = (struct hq_cmd){.type = HQ_CMD_ISSUE, .now = now + 1};
    cmd.u.issue.service = 0;
    CHECK_EQ_INT(hq_engine_apply(&e, &cmd, &res), HQ_OK);
    cmd = (struct hq_cmd){.type = HQ_CMD_ISSUE, .now = now + 2};
    cmd.u.issue.service = 1;
    CHECK_EQ_INT(hq_engine_apply(&e, &cmd, &res), HQ_OK);
    cmd = (struct hq_cmd){.type = HQ_CMD_CALL_NEXT, .now = now + 3, .window = 3};
    CHECK_EQ_INT(hq_engine_apply(&e, &cmd, &res), HQ_OK);

    struct hallbus_padmap four;
    hallbus_padmap_four(&four);
    struct hallbus_drv_window w = {.window = 3, .keypad = 3, .pad = 33, .padmap = &four};
    const struct hq_devices_texts texts = {.tpl = "{ticket}请到{window}号窗口", .color = "red"};
    struct hq_view view;
    char text[256];
    uint8_t bus[64], led[512], want[128];
    size_t bl, ll, n;
    int calls = 0;
    for (size_t i = 0; i < res.n_fx; i++) {
        if (res.fx[i].type != HQ_FX_CALL) continue;
        calls++;
        bl = hallbus_drv_effect_frame(&e, &w, &res.fx[i], bus, sizeof bus);
        CHECK_EQ_INT(hq_devices_view(&e, hq_engine_window_index(&e, 3), &texts, false, &view, text,
                                     sizeof text),
                     HQ_OK);
        CHECK_EQ_INT(ledbar_drv_view_frame(3, &view, led, sizeof led, &ll), HQ_OK);
        n = hex("A0 90 03 A5 00 19 41 00 30 00 31 00 32 00 C7 EB 00 B5 BD 00 33 00 BA C5 00 B4 B0 "
                "00 BF DA 00 C4",
                want);
        CHECK_EQ_INT(ll, n);
        CHECK_EQ_MEM(led, want, n);
        /* keypad 3: 1 still waiting (B012), current ticket 012 */
        n = hex("FF 68 08 08 68 03 02 00 00 01 00 01 02 09 16", want);
        CHECK_EQ_INT(bl, n);
        CHECK_EQ_MEM(bus, want, n);
    }
    CHECK_EQ_INT(calls, 1);

    /* finish: the pad is invited (§2 vector); the pad's 4-key "4" is level 5, acked as raw 4 */
    cmd = (struct hq_cmd){.type = HQ_CMD_FINISH, .now = now + 60, .window = 3};
    CHECK_EQ_INT(hq_engine_apply(&e, &cmd, &res), HQ_OK);
    int prompts = 0;
    for (size_t i = 0; i < res.n_fx; i++) {
        if (res.fx[i].type != HQ_FX_RATE_PROMPT) continue;
        prompts++;
        bl = hallbus_drv_effect_frame(&e, &w, &res.fx[i], bus, sizeof bus);
        n = hex("FF 68 03 03 68 21 01 0B 2D 16", want);
        CHECK_EQ_INT(bl, n);
        CHECK_EQ_MEM(bus, want, n);
    }
    CHECK_EQ_INT(prompts, 1);
    CHECK_EQ_INT(hallbus_drv_rating_cmd(&w, 5, &cmd), HQ_ERR_INVALID); /* unmapped on a 4-key pad */
    CHECK_EQ_INT(hallbus_drv_rating_cmd(&w, 4, &cmd), HQ_OK);
    CHECK_EQ_INT(cmd.type, HQ_CMD_RATE);
    CHECK_EQ_INT(cmd.u.rate.level, 5);
    CHECK_EQ_INT(cmd.u.rate.channel, HQ_CHAN_PAD);
    cmd.now = now + 70;
    CHECK_EQ_INT(hq_engine_apply(&e, &cmd, &res), HQ_OK);
    int rated = 0;
    for (size_t i = 0; i < res.n_fx; i++) {
        if (res.fx[i].type != HQ_FX_RATED) continue;
        rated++;
        bl = hallbus_drv_effect_frame(&e, &w, &res.fx[i], bus, sizeof bus);
        CHECK_EQ_INT(bl, 10);
        CHECK_EQ_INT(bus[7], 4); /* the raw key the pad sent */
    }
    CHECK_EQ_INT(rated, 1);

    /* pause toggles by the window's state */
    struct hallbus_frame f = {.addr = 3, .func = 1, .n = 1, .data = {0x12}};
    struct hallbus_key k;
    hallbus_key_decode(&f, &k);
    CHECK_EQ_INT(hallbus_drv_key_cmd(&e, 3, &k, &cmd), HALLBUS_DRV_KEY_CMD);
    CHECK_EQ_INT(cmd.type, HQ_CMD_PAUSE);
    cmd.now = now + 80;
    CHECK_EQ_INT(hq_engine_apply(&e, &cmd, &res), HQ_OK);
    CHECK_EQ_INT(hallbus_drv_key_cmd(&e, 3, &k, &cmd), HALLBUS_DRV_KEY_CMD);
    CHECK_EQ_INT(cmd.type, HQ_CMD_RESUME);

    hq_result_free(&res);
    hq_engine_free(&e);
    return check_report("test_devices");
}
