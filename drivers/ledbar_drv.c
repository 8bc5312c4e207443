/*
 * ledbar_drv.c — A0 90 window LED bars (PROTOCOLS.md §3, ledbar.h) behind the driver contract
 * (driver.h): the host decides what a window shows (struct hq_view); this file turns it into
 * frames, stores each bar's idle text (A2) when the line comes up, and — on a line whose bars
 * acknowledge — sends one frame at a time and waits for AA (it carries no address), so each
 * bar's health is its own.
 */
#include "ledbar_drv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define A090_BAR_FAILS 3 /* missed AA in a row before a bar is faulty */

/* A frame for an acknowledging line, waiting for its turn. */
struct a090_q {
    uint8_t addr, cmd;
    uint16_t len;
    uint8_t b[LEDBAR_FRAME_MAX];
};

struct a090_win {
    uint32_t fails;
    uint64_t acks, timeouts;
};

struct a090 {
    struct hq_dev *dev;
    uint64_t now_ms;
    struct ledbar_ack la;
    uint32_t stray_seen;
    int inflight; /* index into dev->win of the frame awaiting AA, -1 */
    struct a090_q *q;
    size_t q_n, q_cap;
    int16_t who[256];
    struct a090_win w[HQ_DEV_MAX_WIN]; /* per dev->win, kept across reopens */
};

static int ledbar_drv__color(const char *name)
{
    int c = name ? ledbar_color_from_name(name) : -1;
    return c < 0 ? LEDBAR_RED : c;
}

int ledbar_drv_view_frame(uint8_t addr, const struct hq_view *view, uint8_t *out, size_t cap,
                          size_t *len)
{
    *len = 0;
    switch (view->kind) {
    case HQ_VIEW_CALL:
    case HQ_VIEW_PAUSED:
        return ledbar_make_text(addr, LEDBAR_CMD_SHOW, view->text ? view->text : "",
                                (uint8_t)ledbar_drv__color(view->color), out, cap, len);
    case HQ_VIEW_BLANK:
        *len = ledbar_encode(addr, LEDBAR_CMD_SHOW, NULL, 0, out, cap);
        return *len ? HQ_OK : HQ_ERR_LIMIT;
    default:
        /* The idle text lives in the bar (A2, stored when the line came up). */
        *len = ledbar_make_show_idle(addr, out, cap);
        return *len ? HQ_OK : HQ_ERR_LIMIT;
    }
}

static void ledbar_drv__pump(struct a090 *p);

/* Acknowledging bars take one frame at a time: the AA carries no address. */
static void ledbar_drv__pump(struct a090 *p)
{
    if (p->la.state == LEDBAR_ACK_WAITING || !p->q_n) return;
    struct a090_q f = p->q[0];
    memmove(p->q, p->q + 1, (p->q_n - 1) * sizeof *p->q);
    p->q_n--;
    p->dev->host->write(p->dev, f.b, f.len);
    p->inflight = p->who[f.addr];
    ledbar_ack_expect(&p->la, p->now_ms);
    p->dev->host->arm(p->dev, LEDBAR_ACK_MS + 1);
}

static void ledbar_drv__frame(struct a090 *p, const uint8_t *b, size_t n)
{
    if (!n) return;
    struct hq_dev *dev = p->dev;
    dev->count->frames++;
    uint8_t addr = b[2], cmd = b[3];
    if (!dev->acknowledge || addr == LEDBAR_BROADCAST) {
        dev->host->write(dev, b, n);
        return;
    }
    /* A newer text for a bar replaces the one still queued for it: only the last counts. */
    bool store = cmd == LEDBAR_CMD_STORE_IDLE;
    struct a090_q *slot = NULL;
    for (size_t i = 0; i < p->q_n && !slot; i++)
        if (p->q[i].addr == addr && (p->q[i].cmd == LEDBAR_CMD_STORE_IDLE) == store)
            slot = &p->q[i];
    if (!slot) {
        if (p->q_n == p->q_cap) {
            dev->count->dropped++;
            return;
        }
        slot = &p->q[p->q_n++];
    }
    slot->addr = addr;
    slot->cmd = cmd;
    slot->len = (uint16_t)n;
    memcpy(slot->b, b, n);
    ledbar_drv__pump(p);
}

static int ledbar_drv_open(struct hq_dev *dev, uint64_t now_ms)
{
    struct a090 *p = dev->priv;
    p->dev = dev;
    p->now_ms = now_ms;
    p->inflight = -1;
    memset(&p->la, 0, sizeof p->la);
    p->stray_seen = 0;
    for (int a = 0; a < 256; a++)
        p->who[a] = -1;
    if (dev->n_win > HQ_DEV_MAX_WIN) return HQ_ERR_LIMIT;
    p->q_n = 0;
    p->q_cap = dev->n_win * 2 + 2; /* an idle text and a show per bar, and broadcasts */
    p->q = calloc(p->q_cap, sizeof *p->q);
    if (!p->q) return HQ_ERR_NOMEM;
    dev->units_report = dev->acknowledge;
    dev->host->health(dev, HQ_UNIT_LINE, -1, HQ_HEALTH_ONLINE, HQ_OK, "");
    for (size_t k = 0; k < dev->n_win; k++) {
        const struct hq_dev_window *w = &dev->win[k];
        if (!w->bar) continue;
        p->who[w->bar] = (int16_t)k;
        uint8_t f[LEDBAR_FRAME_MAX];
        size_t n = 0;
        if (ledbar_make_text(w->bar, LEDBAR_CMD_STORE_IDLE, w->idle_text ? w->idle_text : "",
                             (uint8_t)ledbar_drv__color(w->idle_color), f, sizeof f, &n) == HQ_OK)
            ledbar_drv__frame(p, f, n);
    }
    return HQ_OK;
}

static void ledbar_drv_input(struct hq_dev *dev, const uint8_t *b, size_t n, uint64_t now_ms)
{
    struct a090 *p = dev->priv;
    p->now_ms = now_ms;
    int st = ledbar_ack_input(&p->la, b, n, now_ms);
    if (p->la.stray != p->stray_seen) dev->host->bad(dev, 0, p->la.stray - p->stray_seen);
    p->stray_seen = p->la.stray;
    if (st != LEDBAR_ACK_OK) return;
    p->la.state = LEDBAR_ACK_IDLE;
    dev->host->arm(dev, HQ_DRV_TIMER_OFF);
    if (p->inflight >= 0) {
        struct a090_win *w = &p->w[p->inflight];
        w->acks++;
        w->fails = 0;
        dev->host->health(dev, HQ_UNIT_BAR, p->inflight, HQ_HEALTH_ONLINE, HQ_OK, "");
    }
    p->inflight = -1;
    ledbar_drv__pump(p);
}

static void ledbar_drv_timer(struct hq_dev *dev, uint64_t now_ms)
{
    struct a090 *p = dev->priv;
    p->now_ms = now_ms;
    if (ledbar_ack_poll(&p->la, now_ms) == LEDBAR_ACK_FAILED) {
        p->la.state = LEDBAR_ACK_IDLE;
        if (p->inflight >= 0) {
            struct a090_win *w = &p->w[p->inflight];
            w->timeouts++;
            if (++w->fails >= A090_BAR_FAILS)
                dev->host->health(dev, HQ_UNIT_BAR, p->inflight, HQ_HEALTH_FAULTY, HQ_ERR_TIMEOUT,
                                  "no AA acknowledgement within 300 ms");
        }
        p->inflight = -1;
    }
    ledbar_drv__pump(p);
}

static void ledbar_drv_effect(struct hq_dev *dev, const struct hq_drv_effect *ef, uint64_t now_ms)
{
    struct a090 *p = dev->priv;
    p->now_ms = now_ms;
    uint8_t f[LEDBAR_FRAME_MAX];
    size_t n = 0;
    const struct hq_dev_window *w =
        ef->wi >= 0 && (size_t)ef->wi < dev->n_win ? &dev->win[ef->wi] : NULL;
    switch (ef->type) {
    case HQ_DRV_FX_SHOW:
        if (!w || !w->bar || !ef->view) return;
        if (ledbar_drv_view_frame(w->bar, ef->view, f, sizeof f, &n) == HQ_OK)
            ledbar_drv__frame(p, f, n);
        return;
    case HQ_DRV_FX_BLANK:
        ledbar_drv__frame(p, f, ledbar_encode(LEDBAR_BROADCAST, LEDBAR_CMD_SHOW, NULL, 0, f, 16));
        return;
    case HQ_DRV_FX_IDENTIFY:
    case HQ_DRV_FX_TEST: {
        if (!w || !w->bar) return;
        /* The address the bar answers to, as the installer set it on its DIP switches. */
        char text[64];
        if (ef->type == HQ_DRV_FX_IDENTIFY)
            snprintf(text, sizeof text, "%u号窗 地址%u", w->window, w->bar);
        else
            snprintf(text, sizeof text, "测试 TEST %u", w->window);
        if (ledbar_make_text(w->bar, LEDBAR_CMD_SHOW, text, LEDBAR_YELLOW, f, sizeof f, &n) ==
            HQ_OK)
            ledbar_drv__frame(p, f, n);
        return;
    }
    default:
        return;
    }
}

static void ledbar_drv_status(struct hq_dev *dev, int unit, int wi, cJSON *obj, uint64_t now_ms)
{
    struct a090 *p = dev->priv;
    (void)now_ms;
    if (unit == HQ_UNIT_LINE) {
        cJSON_AddBoolToObject(obj, "acknowledge", dev->acknowledge);
        return;
    }
    const struct a090_win *w = wi >= 0 && (size_t)wi < dev->n_win ? &p->w[wi] : NULL;
    cJSON_AddNumberToObject(obj, "acks", w ? (double)w->acks : 0);
    cJSON_AddNumberToObject(obj, "ack_timeouts", w ? (double)w->timeouts : 0);
}

static void ledbar_drv_close(struct hq_dev *dev)
{
    struct a090 *p = dev->priv;
    free(p->q);
    p->q = NULL;
    p->q_n = p->q_cap = 0;
    p->inflight = -1;
}

static const char *const ledbar_drv_aliases[] = {"led", NULL};

const struct hq_driver hq_driver_a090 = {
    .name = "a090",
    .aliases = ledbar_drv_aliases,
    .desc = "A0 90 window LED bars (窗口屏)",
    .role = HQ_DRV_ROLE_BAR,
    .link_type = "led_bus",
    .default_baud = 9600,
    .priv_size = sizeof(struct a090),
    .open = ledbar_drv_open,
    .input = ledbar_drv_input,
    .timer = ledbar_drv_timer,
    .effect = ledbar_drv_effect,
    .status = ledbar_drv_status,
    .close = ledbar_drv_close,
};
