/*
 * test_drv_onbon.c — the Onbon driver (drivers/onbon_drv.c) against the fake host (fake_host.h):
 * effects in → frames out (read back with the protocol's own lexer and page parser), answers in →
 * health out; one request in flight; timeouts, NACKs and line noise.
 */
#include <stdlib.h>

#include "check.h"
#include "fake_host.h"
#include "onbon_drv.h"

static struct fake_host fh;

/* The last health the driver reported for window wi's screen (-1 = the line); -1 if none. */
static int H(int wi)
{
    for (size_t i = fh.n_health; i-- > 0;)
        if (fh.health[i].wi == wi) return fh.health[i].health;
    return -1;
}

static const char *R(int wi)
{
    for (size_t i = fh.n_health; i-- > 0;)
        if (fh.health[i].wi == wi) return fh.health[i].reason;
    return "";
}

/* The frames written since the last call. */
struct sent {
    int n;
    uint16_t dst[8];
    uint8_t group[8];
    struct onbon_area_update area; /* the last page */
};
static struct sent sent;
static uint8_t colors_for_parse = 1;

static void on_sent(const struct onbon_frame *f, void *arg)
{
    (void)arg;
    if (sent.n < 8) {
        sent.dst[sent.n] = f->dst;
        sent.group[sent.n] = f->data[1];
    }
    sent.n++;
    CHECK_EQ_INT(f->src, ONBON_SRC_HOST);
    if (f->data[1] == ONBON_GROUP_AREA)
        CHECK_EQ_INT(onbon_parse_area(f->data, f->n, colors_for_parse, &sent.area), HQ_OK);
}

static void take(void)
{
    static struct onbon_lexer lx;
    memset(&sent, 0, sizeof sent);
    onbon_lexer_init(&lx);
    onbon_lexer_feed(&lx, fh.out, fh.out_len, on_sent, NULL);
    CHECK_EQ_INT(onbon_lexer_bad(&lx), 0);
    fh.out_len = 0;
}

/* Screen addr answers: ACK (error 0) or NACK. */
static void answer(struct hq_dev *d, uint16_t addr, uint16_t error, uint64_t now)
{
    uint8_t data[16], f[128];
    size_t n = onbon_make_answer(error, data, sizeof data);
    struct onbon_packet p = {.dst = ONBON_SRC_HOST,
                             .src = addr,
                             .devtype = ONBON_TYPE_ANY,
                             .ver = ONBON_PROTO_VER,
                             .n = (uint32_t)n,
                             .data = data};
    size_t fn = onbon_encode(&p, f, sizeof f);
    /* in two bites, to be sure the driver keeps half a frame */
    hq_driver_onbon.input(d, f, fn / 2, now);
    hq_driver_onbon.input(d, f + fn / 2, fn - fn / 2, now);
}

int main(void)
{
    CHECK(hq_driver_find("onbon") == &hq_driver_onbon);
    CHECK_EQ_INT(hq_driver_onbon.role, HQ_DRV_ROLE_BAR);
    CHECK(sizeof(struct onbon_bus_cfg) == hq_driver_onbon.bus_cfg_size);
    CHECK(sizeof(struct onbon_win_cfg) == hq_driver_onbon.win_cfg_size);
    CHECK(hq_driver_onbon.bus_cfg_size <= HQ_DRV_BUS_CFG_MAX);
    CHECK(hq_driver_onbon.win_cfg_size <= HQ_DRV_WIN_CFG_MAX);

    static struct onbon_bus_cfg bus = {.font = "", .ping_s = 10, .answer_ms = 500};
    static struct onbon_win_cfg wc[2] = {{.screen = 0x0101, .width = 64, .height = 16, .colors = 1},
                                         {.screen = 0, .width = 96, .height = 16, .colors = 2}};
    struct hq_dev_window win[2] = {{.window = 1, .wi = 0, .cfg = &wc[0]},
                                   {.window = 2, .wi = 1, .bar = 2, .cfg = &wc[1]}};
    fake_host_init(&fh, &hq_driver_onbon, win, 2, &bus, NULL);
    struct hq_dev *d = &fh.dev;
    char err[128] = "";
    CHECK_EQ_INT(hq_driver_onbon.check_win(&wc[0], &win[0], err, sizeof err), HQ_OK);
    /* window 2 names no screen: its bar address (2) is the screen's */
    struct onbon_win_cfg huge = {.screen = 1, .width = 512, .height = 128, .colors = 2};
    CHECK_EQ_INT(hq_driver_onbon.check_win(&huge, &win[0], err, sizeof err), HQ_ERR_CONFIG);
    CHECK(strstr(err, "width") != NULL);
    struct onbon_bus_cfg nofont = {.font = "/nonexistent.pcf"};
    CHECK_EQ_INT(hq_driver_onbon.check_bus(&nofont, err, sizeof err), HQ_ERR_CONFIG);
    CHECK(strstr(err, "font") != NULL);

    uint64_t t = 1000;
    /* open: the line waits for a screen; the first screen is pinged at once, only it. */
    CHECK_EQ_INT(hq_driver_onbon.open(d, t), HQ_OK);
    CHECK(d->units_report);
    CHECK_EQ_INT(H(-1), HQ_HEALTH_OFFLINE);
    take();
    CHECK_EQ_INT(sent.n, 1);
    CHECK_EQ_INT(sent.dst[0], 0x0101);
    CHECK_EQ_INT(sent.group[0], ONBON_GROUP_SYS);
    CHECK_EQ_INT(fh.armed, 500);
    /* its answer: online, and the second screen gets its ping */
    answer(d, 0x0101, 0, t + 20);
    CHECK_EQ_INT(H(0), HQ_HEALTH_ONLINE);
    CHECK_EQ_INT(H(-1), HQ_HEALTH_ONLINE);
    take();
    CHECK_EQ_INT(sent.n, 1);
    CHECK_EQ_INT(sent.dst[0], 2);
    /* an answer from a screen nobody asked changes nothing */
    answer(d, 7, 0, t + 30);
    CHECK_EQ_INT(H(1), -1);
    answer(d, 2, 0, t + 40);
    CHECK_EQ_INT(H(1), HQ_HEALTH_ONLINE);
    take();
    CHECK_EQ_INT(sent.n, 0);

    /* Engine effects are the host's to turn into views: nothing goes out for them. */
    struct hq_effect fx = {0};
    fake_host_effect(&fh, &fx, t + 50);
    take();
    CHECK_EQ_INT(sent.n, 0);

    /* A call on window 1: one page for screen 0x0101, 64 × 16, red, the text rendered. */
    struct hq_view v = {.kind = HQ_VIEW_CALL, .text = "A012请到1号窗口", .color = "red"};
    struct hq_drv_effect ef = {.type = HQ_DRV_FX_SHOW, .wi = 0, .view = &v};
    hq_driver_onbon.effect(d, &ef, t + 100);
    colors_for_parse = 1;
    take();
    CHECK_EQ_INT(sent.n, 1);
    CHECK_EQ_INT(sent.dst[0], 0x0101);
    CHECK_EQ_INT(sent.group[0], ONBON_GROUP_AREA);
    CHECK_EQ_INT(sent.area.area.w, 64);
    CHECK_EQ_INT(sent.area.area.h, 16);
    CHECK_EQ_INT(sent.area.color, ONBON_COLOR_RED);
    CHECK_EQ_INT(sent.area.imme_play, 1);
    {
        struct onbon_font *f = NULL;
        static uint8_t lit[8 * 16];
        unsigned m, c;
        CHECK_EQ_INT(onbon_font_open(onbon_default_font(16), 16, &f), HQ_OK);
        if (f) {
            CHECK_EQ_INT(onbon_render(f, v.text, 64, 16, lit, &m, &c), HQ_OK);
            CHECK(memcmp(lit, sent.area.lit, sizeof lit) == 0);
            onbon_font_close(f);
        }
    }
    /* While that page waits for its answer, window 2's call waits too (one request on the
     * line); window 1 changes twice more: only the last text goes out. */
    struct hq_view v2 = {.kind = HQ_VIEW_CALL, .text = "B001请到2号窗口", .color = "yellow"};
    struct hq_drv_effect ef2 = {.type = HQ_DRV_FX_SHOW, .wi = 1, .view = &v2};
    hq_driver_onbon.effect(d, &ef2, t + 110);
    struct hq_view pz = {.kind = HQ_VIEW_PAUSED, .text = "暂停服务", .color = "green"};
    ef.view = &pz;
    hq_driver_onbon.effect(d, &ef, t + 120);
    struct hq_view idle = {.kind = HQ_VIEW_IDLE, .text = "欢迎光临", .color = "green"};
    ef.view = &idle;
    hq_driver_onbon.effect(d, &ef, t + 130);
    take();
    CHECK_EQ_INT(sent.n, 0);
    answer(d, 0x0101, 0, t + 150);
    colors_for_parse = 1;
    take();
    CHECK_EQ_INT(sent.n, 1); /* window 1's newest page goes first (window order) */
    CHECK_EQ_INT(sent.dst[0], 0x0101);
    /* green on a single-colour screen: its one plane (read back as plane 0) */
    CHECK_EQ_INT(sent.area.color, 1);
    CHECK(sent.area.lit[16] != 0 || sent.area.lit[8 * 8] != 0);
    answer(d, 0x0101, 0, t + 160);
    colors_for_parse = 2;
    take();
    CHECK_EQ_INT(sent.n, 1);
    CHECK_EQ_INT(sent.dst[0], 2);
    CHECK_EQ_INT(sent.area.area.w, 96);
    CHECK_EQ_INT(sent.area.color, ONBON_COLOR_YELLOW); /* both colours on a two-colour screen */
    /* The screen refuses it: faulty, with the document's error name. */
    answer(d, 2, 18, t + 170);
    CHECK_EQ_INT(H(1), HQ_HEALTH_FAULTY);
    CHECK(strstr(R(1), "ERR_SCREEN_PARA") != NULL);
    CHECK_EQ_INT(H(-1), HQ_HEALTH_ONLINE);

    /* Closing time: both go dark; screen 1 never answers → offline after answer_ms. */
    struct hq_drv_effect bl = {.type = HQ_DRV_FX_BLANK};
    hq_driver_onbon.effect(d, &bl, t + 200);
    colors_for_parse = 1;
    take();
    CHECK_EQ_INT(sent.n, 1);
    CHECK_EQ_INT(sent.area.color, 0); /* nothing lit */
    CHECK_EQ_INT(fh.armed, 500);
    hq_driver_onbon.timer(d, t + 700);
    CHECK_EQ_INT(H(0), HQ_HEALTH_OFFLINE);
    CHECK(strstr(R(0), "no answer") != NULL);
    /* the other screen's dark page follows at once */
    colors_for_parse = 2;
    take();
    CHECK_EQ_INT(sent.n, 1);
    CHECK_EQ_INT(sent.dst[0], 2);
    answer(d, 2, 0, t + 720);
    CHECK_EQ_INT(H(1), HQ_HEALTH_ONLINE);
    /* Screen 1's page is tried again after ping_s, not at once. */
    take();
    CHECK_EQ_INT(sent.n, 0);
    CHECK(fh.armed != HQ_DRV_TIMER_OFF && fh.armed > 9000);
    hq_driver_onbon.timer(d, t + 700 + 10000);
    colors_for_parse = 1;
    take();
    CHECK_EQ_INT(sent.n, 1);
    CHECK_EQ_INT(sent.dst[0], 0x0101);
    CHECK_EQ_INT(sent.group[0], ONBON_GROUP_AREA);
    answer(d, 0x0101, 0, t + 10750);
    CHECK_EQ_INT(H(0), HQ_HEALTH_ONLINE);

    /* Line noise and a broken frame reach the host's bad-frame window. */
    static const uint8_t noise[] = {0x00, 0x13, 0xA5, 0xA5, 0x01, 0x02, 0x03, 0x5A};
    hq_driver_onbon.input(d, noise, sizeof noise, t + 10800);
    CHECK_EQ_INT(fh.garbage, 2);
    CHECK_EQ_INT(fh.bad_frames, 1);

    /* Screen 2's ping came due meanwhile. */
    take();
    CHECK_EQ_INT(sent.n, 1);
    CHECK_EQ_INT(sent.group[0], ONBON_GROUP_SYS);
    answer(d, 2, 0, t + 10900);
    /* Commissioning: identify shows the address, test lights every pixel. */
    take();
    struct hq_drv_effect id = {.type = HQ_DRV_FX_IDENTIFY, .wi = 1};
    hq_driver_onbon.effect(d, &id, t + 11000);
    colors_for_parse = 2;
    take();
    CHECK_EQ_INT(sent.n, 1);
    CHECK_EQ_INT(sent.area.color, ONBON_COLOR_YELLOW);
    answer(d, 2, 0, t + 11010);
    struct hq_drv_effect tst = {.type = HQ_DRV_FX_TEST, .wi = 1};
    hq_driver_onbon.effect(d, &tst, t + 11100);
    take();
    CHECK_EQ_INT(sent.n, 1);
    CHECK_EQ_INT(sent.area.lit[0], 0xFF);
    CHECK_EQ_INT(sent.area.lit[12 * 16 - 1], 0xFF);
    CHECK_EQ_INT(fh.count.frames > 5, 1);

    /* The line comes back (priv kept): a screen forgets its area at power loss, so each
     * window's last page is sent again, first to window 1, before any ping. */
    answer(d, 2, 0, t + 11110);
    hq_driver_onbon.close(d);
    fh.out_len = 0;
    CHECK_EQ_INT(hq_driver_onbon.open(d, t + 20000), HQ_OK);
    colors_for_parse = 1;
    take();
    CHECK_EQ_INT(sent.n, 1);
    CHECK_EQ_INT(sent.dst[0], 0x0101);
    CHECK_EQ_INT(sent.group[0], ONBON_GROUP_AREA);
    CHECK_EQ_INT(H(-1), HQ_HEALTH_OFFLINE);
    answer(d, 0x0101, 0, t + 20010);
    CHECK_EQ_INT(H(-1), HQ_HEALTH_ONLINE);
    fake_host_free(&fh);
    return check_report("test_drv_onbon");
}
