/*
 * onbon_drv.c — Onbon BX-5E LED screens (onbon.h) behind the driver contract (driver.h).
 *
 * `"type": "onbon"` on a bus of devices.buses[]; each window on it names its screen:
 * {"window": 3, "led_bus": "screens", "bar": 3, "width": 64, "height": 16} — the bar address is the
 * screen's address (屏号); "screen": 1000 overrides it for addresses above 254. Every request
 * asks for an answer (RtnReq 1), and the screens share one RS-485 pair, so one request is in
 * flight at a time; a screen is online while it answers, offline after it missed one. Views
 * are kept per window, not frames: the bitmap is rendered when the window's turn comes, so a
 * burst of calls sends only the last one.
 */
#include "onbon_drv.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define ONBON_FONTS 4

static const struct hq_drv_key onbon_bus_keys[] = {
    {.name = "font",
     .type = HQ_DRV_KEY_STR,
     HQ_DRV_KEY_FIELD(struct onbon_bus_cfg, font),
     .doc = "bitmap or outline font file for the screens' text; \"\" = the WenQuanYi bitmap "
            "song of xfonts-wqy that fits each screen's height (16, 14 or 12 px)"},
    {.name = "ping_s",
     .type = HQ_DRV_KEY_INT,
     HQ_DRV_KEY_FIELD(struct onbon_bus_cfg, ping_s),
     .min = 1,
     .max = 3600,
     .def = 10,
     .doc = "seconds between pings (A2 00) of a screen that has nothing else to show"},
    {.name = "answer_ms",
     .type = HQ_DRV_KEY_INT,
     HQ_DRV_KEY_FIELD(struct onbon_bus_cfg, answer_ms),
     .min = 50,
     .max = 10000,
     .def = 1000,
     .doc = "how long a screen may take to answer before it counts as offline"},
};

static const struct hq_drv_key onbon_win_keys[] = {
    {.name = "screen",
     .type = HQ_DRV_KEY_INT,
     HQ_DRV_KEY_FIELD(struct onbon_win_cfg, screen),
     .min = 0,
     .max = 0xFFFD,
     .def = 0,
     .doc = "the screen's 2-byte address (屏号) as set in Onbon's LedshowTW, when it is above "
            "254; 0 = the window's bar address"},
    {.name = "width",
     .type = HQ_DRV_KEY_INT,
     .required = true,
     HQ_DRV_KEY_FIELD(struct onbon_win_cfg, width),
     .min = 8,
     .max = ONBON_MAX_W,
     .doc = "the screen's width in pixels"},
    {.name = "height",
     .type = HQ_DRV_KEY_INT,
     .required = true,
     HQ_DRV_KEY_FIELD(struct onbon_win_cfg, height),
     .min = 8,
     .max = ONBON_MAX_H,
     .doc = "the screen's height in pixels"},
    {.name = "colors",
     .type = HQ_DRV_KEY_INT,
     HQ_DRV_KEY_FIELD(struct onbon_win_cfg, colors),
     .min = 1,
     .max = 2,
     .def = 1,
     .doc = "1 for a single-colour screen, 2 for red + green (双基色)"},
};

enum { ONBON_REQ_NONE = 0, ONBON_REQ_PING, ONBON_REQ_AREA };

struct onbon_win {
    char text[192];
    uint8_t color; /* ONBON_COLOR_*, 0 = dark */
    bool dirty;    /* the screen does not show text/color yet */
    uint32_t gen;  /* bumped by each new view; the page in flight carries its gen */
    bool all_lit;  /* test pattern instead of text */
    bool heard;    /* answered at least once since open */
    uint8_t health;
    uint64_t next_ping_ms, retry_ms;
    uint32_t acks, nacks, timeouts;
    uint16_t last_error;
};

struct onbon_drv {
    struct onbon_lexer lx;
    struct onbon_win w[HQ_DEV_MAX_WIN];
    struct {
        char path[192];
        unsigned px;
        struct onbon_font *f;
    } font[ONBON_FONTS];
    int busy_wi, busy_req; /* the request in flight */
    uint32_t busy_gen;
    uint64_t deadline_ms;
    uint32_t bad_seen, garbage_seen;
    uint8_t line_health;
    uint8_t frame[ONBON_FRAME_MAX], data[ONBON_MAX_DATA], lit[ONBON_MAX_W / 8 * ONBON_MAX_H];
};

static const struct onbon_win_cfg *onbon_drv__wcfg(const struct hq_dev *dev, int wi)
{
    return dev->win[wi].cfg;
}

/* The screen's address: its own key, else the window's bar address (which is what puts the
 * window on this line in the first place). */
static uint16_t onbon_drv__addr(const struct hq_dev *dev, int wi)
{
    const struct onbon_win_cfg *c = onbon_drv__wcfg(dev, wi);
    return (uint16_t)(c->screen ? c->screen : dev->win[wi].bar);
}

static const struct onbon_bus_cfg *onbon_drv__bcfg(const struct hq_dev *dev)
{
    static const struct onbon_bus_cfg def = {.font = "", .ping_s = 10, .answer_ms = 1000};
    return dev->cfg ? dev->cfg : &def;
}

static uint8_t onbon_drv__color(const char *name)
{
    if (!name || strcmp(name, "red") == 0) return ONBON_COLOR_RED;
    if (strcmp(name, "green") == 0) return ONBON_COLOR_GREEN;
    if (strcmp(name, "yellow") == 0) return ONBON_COLOR_YELLOW;
    return ONBON_COLOR_RED;
}

static const char *onbon_drv__error_name(uint16_t e)
{
    static const char *const n[] = {"ERR_NO",
                                    "ERR_OUTOFGROUP",
                                    "ERR_NOCMD",
                                    "ERR_BUSY",
                                    "ERR_MEMORYVOLUME",
                                    "ERR_CHECKSUM",
                                    "ERR_FILENOTEXIST",
                                    "ERR_FLASH",
                                    "ERR_FILE_DOWNLOAD",
                                    "ERR_FILE_NAME",
                                    "ERR_FILE_TYPE",
                                    "ERR_FILE_CRC16",
                                    "ERR_FONT_NOT_EXIST",
                                    "ERR_FIRMWARE_TYPE",
                                    "ERR_DATE_TIME_FORMAT",
                                    "ERR_FILE_EXIST",
                                    "ERR_FILE_BLOCK_NUM",
                                    "ERR_CONTROLLER_TYPE",
                                    "ERR_SCREEN_PARA",
                                    "ERR_CONTROLLER_ID"};
    return e < HQ_ARRAY_LEN(n) ? n[e] : "unknown error";
}

static void onbon_drv__health(struct hq_dev *dev, int wi, int health, int err, const char *reason)
{
    struct onbon_drv *p = dev->priv;
    if (p->w[wi].health != health) dev->host->health(dev, HQ_UNIT_BAR, wi, health, err, reason);
    p->w[wi].health = (uint8_t)health;
    /* The line is up while any screen on it answers. */
    int line = HQ_HEALTH_OFFLINE;
    for (size_t i = 0; i < dev->n_win; i++)
        if (p->w[i].health == HQ_HEALTH_ONLINE || p->w[i].health == HQ_HEALTH_FAULTY)
            line = HQ_HEALTH_ONLINE;
    if (line != p->line_health)
        dev->host->health(dev, HQ_UNIT_LINE, -1, line,
                          line == HQ_HEALTH_ONLINE ? HQ_OK : HQ_ERR_TIMEOUT,
                          line == HQ_HEALTH_ONLINE ? "" : "no screen answers");
    p->line_health = (uint8_t)line;
}

/* The font for window wi, opened once per (file, size) and line. */
static struct onbon_font *onbon_drv__font(struct hq_dev *dev, int wi)
{
    struct onbon_drv *p = dev->priv;
    const struct onbon_win_cfg *c = onbon_drv__wcfg(dev, wi);
    /* A bitmap font takes its strike nearest to this; an outline font fills the height. */
    unsigned px = (unsigned)c->height;
    const char *path = onbon_drv__bcfg(dev)->font[0] ? onbon_drv__bcfg(dev)->font
                                                     : onbon_default_font((unsigned)c->height);
    for (int i = 0; i < ONBON_FONTS; i++)
        if (p->font[i].f && p->font[i].px == px && strcmp(p->font[i].path, path) == 0)
            return p->font[i].f;
    for (int i = 0; i < ONBON_FONTS; i++) {
        if (p->font[i].f) continue;
        int rc = onbon_font_open(path, px, &p->font[i].f);
        if (rc != HQ_OK) {
            dev->host->log(dev, HQ_LOG_ERR, "font %s: %s%s", path, hq_strerror(rc),
                           rc == HQ_ERR_NOT_FOUND ? " (install xfonts-wqy, or set the bus's font)"
                                                  : "");
            return NULL;
        }
        snprintf(p->font[i].path, sizeof p->font[i].path, "%s", path);
        p->font[i].px = px;
        return p->font[i].f;
    }
    return NULL;
}

static void onbon_drv__send(struct hq_dev *dev, const uint8_t *data, size_t n, int wi, int req,
                            uint64_t now_ms)
{
    struct onbon_drv *p = dev->priv;
    struct onbon_packet pk = {.dst = onbon_drv__addr(dev, wi),
                              .src = ONBON_SRC_HOST,
                              .devtype = ONBON_TYPE_ANY,
                              .ver = ONBON_PROTO_VER,
                              .n = (uint32_t)n,
                              .data = data};
    size_t fn = onbon_encode(&pk, p->frame, sizeof p->frame);
    if (!fn) return;
    dev->host->write(dev, p->frame, fn);
    p->busy_wi = wi;
    p->busy_req = req;
    p->busy_gen = p->w[wi].gen;
    p->deadline_ms = now_ms + (uint64_t)onbon_drv__bcfg(dev)->answer_ms;
}

/* Window wi's page: its text rendered, or the test pattern, or dark. */
static int onbon_drv__page(struct hq_dev *dev, int wi, size_t *n)
{
    struct onbon_drv *p = dev->priv;
    struct onbon_win *w = &p->w[wi];
    const struct onbon_win_cfg *c = onbon_drv__wcfg(dev, wi);
    struct onbon_area a = {
        .id = 0, .w = (uint16_t)c->width, .h = (uint16_t)c->height, .colors = (uint8_t)c->colors};
    size_t stride = ((size_t)c->width + 7) / 8;
    memset(p->lit, 0, stride * (size_t)c->height);
    if (w->all_lit) {
        for (int r = 0; r < c->height; r++)
            for (int x = 0; x < c->width; x++)
                p->lit[(size_t)r * stride + (size_t)x / 8] |= (uint8_t)(0x80 >> (x % 8));
    } else if (w->color && w->text[0]) {
        struct onbon_font *f = onbon_drv__font(dev, wi);
        if (!f) return HQ_ERR_CONFIG;
        unsigned missing = 0, clipped = 0;
        int rc = onbon_render(f, w->text, (unsigned)c->width, (unsigned)c->height, p->lit, &missing,
                              &clipped);
        if (rc != HQ_OK) return rc;
        if (missing || clipped)
            dev->host->log(dev, HQ_LOG_WARN,
                           "screen %d: %u character(s) not in the font, %u column(s) cut",
                           onbon_drv__addr(dev, wi), missing, clipped);
    }
    return onbon_make_area(&a, p->lit, w->color ? w->color : ONBON_COLOR_RED, p->data,
                           sizeof p->data, n);
}

/* Send the next request if none is in flight: a changed page first, else a ping that is due;
 * then arm the timer for the earliest thing to wait for. */
static void onbon_drv__pump(struct hq_dev *dev, uint64_t now_ms)
{
    struct onbon_drv *p = dev->priv;
    if (p->busy_req == ONBON_REQ_NONE) {
        int pick = -1, req = ONBON_REQ_NONE;
        for (size_t i = 0; i < dev->n_win && pick < 0; i++)
            if (dev->win[i].cfg && p->w[i].dirty && p->w[i].retry_ms <= now_ms)
                pick = (int)i, req = ONBON_REQ_AREA;
        for (size_t i = 0; i < dev->n_win && pick < 0; i++)
            if (dev->win[i].cfg && p->w[i].next_ping_ms <= now_ms)
                pick = (int)i, req = ONBON_REQ_PING;
        if (req == ONBON_REQ_AREA) {
            size_t n = 0;
            int rc = onbon_drv__page(dev, pick, &n);
            if (rc == HQ_OK) {
                onbon_drv__send(dev, p->data, n, pick, req, now_ms);
            } else {
                /* Nothing this screen can be sent until the configuration changes. */
                p->w[pick].dirty = false;
                onbon_drv__health(dev, pick, HQ_HEALTH_FAULTY, rc, "cannot render the text");
            }
        } else if (req == ONBON_REQ_PING) {
            static const uint8_t ping[] = {0x01, ONBON_GROUP_SYS, 0x00, 0x00, 0x00};
            onbon_drv__send(dev, ping, sizeof ping, pick, req, now_ms);
        }
    }
    uint64_t next = HQ_DRV_TIMER_OFF;
    if (p->busy_req != ONBON_REQ_NONE) {
        next = p->deadline_ms;
    } else {
        for (size_t i = 0; i < dev->n_win; i++) {
            if (!dev->win[i].cfg) continue; /* no screen keys: nothing of ours */
            uint64_t t = p->w[i].dirty ? p->w[i].retry_ms : p->w[i].next_ping_ms;
            if (t < next) next = t;
        }
    }
    if (next == HQ_DRV_TIMER_OFF)
        dev->host->arm(dev, HQ_DRV_TIMER_OFF);
    else
        dev->host->arm(dev, next > now_ms ? next - now_ms : 0);
}

static void onbon_drv__on_frame(const struct onbon_frame *f, void *arg)
{
    struct hq_dev *dev = arg;
    struct onbon_drv *p = dev->priv;
    int wi = p->busy_wi;
    if (p->busy_req == ONBON_REQ_NONE || f->src != onbon_drv__addr(dev, wi)) {
        dev->host->log(dev, HQ_LOG_INFO, "answer from screen %u that was not asked", f->src);
        return;
    }
    dev->count->frames++;
    struct onbon_answer a;
    uint64_t now = p->deadline_ms - (uint64_t)onbon_drv__bcfg(dev)->answer_ms; /* the send time */
    struct onbon_win *w = &p->w[wi];
    int req = p->busy_req;
    p->busy_req = ONBON_REQ_NONE;
    w->heard = true;
    if (onbon_parse_answer(f->data, f->n, &a) != HQ_OK) {
        onbon_drv__health(dev, wi, HQ_HEALTH_FAULTY, HQ_ERR_PROTO, "answer too short");
        return;
    }
    if (a.group == ONBON_GROUP_ACK && a.cmd == 0x01) {
        char why[96];
        w->nacks++;
        w->last_error = a.error;
        snprintf(why, sizeof why, "NACK: error %u %s", a.error, onbon_drv__error_name(a.error));
        /* Resending the same page cannot help; a newer view is still sent. */
        if (req == ONBON_REQ_AREA && p->busy_gen == w->gen) w->dirty = false;
        onbon_drv__health(dev, wi, HQ_HEALTH_FAULTY, HQ_ERR_PROTO, why);
        return;
    }
    w->acks++;
    if (req == ONBON_REQ_AREA && p->busy_gen == w->gen) w->dirty = false;
    w->next_ping_ms = now + (uint64_t)onbon_drv__bcfg(dev)->ping_s * 1000;
    /* A screen that refused a page stays faulty until a page is taken again. */
    if (req == ONBON_REQ_AREA || w->health != HQ_HEALTH_FAULTY)
        onbon_drv__health(dev, wi, HQ_HEALTH_ONLINE, HQ_OK, "");
}

static int onbon_drv_open(struct hq_dev *dev, uint64_t now_ms)
{
    struct onbon_drv *p = dev->priv;
    if (dev->n_win > HQ_DEV_MAX_WIN) return HQ_ERR_LIMIT;
    /* priv lives across reopens: the counters stay, the protocol state starts afresh. */
    onbon_lexer_init(&p->lx);
    p->bad_seen = p->garbage_seen = 0;
    dev->units_report = true;
    p->busy_req = ONBON_REQ_NONE;
    p->line_health = HQ_HEALTH_OFFLINE;
    dev->host->health(dev, HQ_UNIT_LINE, -1, HQ_HEALTH_OFFLINE, HQ_OK,
                      "waiting for a screen to answer");
    for (size_t i = 0; i < dev->n_win; i++) {
        struct onbon_win *w = &p->w[i];
        w->health = HQ_HEALTH_UNKNOWN;
        /* Greet every screen at once: a ping each, in window order. */
        w->next_ping_ms = now_ms;
        /* A screen forgets its dynamic area when it loses power ("不能掉电保存"): whatever
         * it was shown before the line went away is sent again. */
        if (w->gen) w->dirty = true, w->retry_ms = now_ms;
    }
    onbon_drv__pump(dev, now_ms);
    return HQ_OK;
}

static void onbon_drv_input(struct hq_dev *dev, const uint8_t *b, size_t n, uint64_t now_ms)
{
    struct onbon_drv *p = dev->priv;
    onbon_lexer_feed(&p->lx, b, n, onbon_drv__on_frame, dev);
    uint32_t bad = onbon_lexer_bad(&p->lx);
    if (bad != p->bad_seen || p->lx.garbage != p->garbage_seen)
        dev->host->bad(dev, bad - p->bad_seen, p->lx.garbage - p->garbage_seen);
    p->bad_seen = bad;
    p->garbage_seen = p->lx.garbage;
    onbon_drv__pump(dev, now_ms);
}

static void onbon_drv_timer(struct hq_dev *dev, uint64_t now_ms)
{
    struct onbon_drv *p = dev->priv;
    if (p->busy_req != ONBON_REQ_NONE && now_ms >= p->deadline_ms) {
        struct onbon_win *w = &p->w[p->busy_wi];
        char why[64];
        w->timeouts++;
        snprintf(why, sizeof why, "no answer within %d ms", onbon_drv__bcfg(dev)->answer_ms);
        /* Try the page again after a ping interval, not at once: an unplugged screen would
         * otherwise hold the line for the others. */
        if (p->busy_req == ONBON_REQ_AREA)
            w->retry_ms = now_ms + (uint64_t)onbon_drv__bcfg(dev)->ping_s * 1000;
        w->next_ping_ms = now_ms + (uint64_t)onbon_drv__bcfg(dev)->ping_s * 1000;
        p->busy_req = ONBON_REQ_NONE;
        onbon_drv__health(dev, p->busy_wi, HQ_HEALTH_OFFLINE, HQ_ERR_TIMEOUT, why);
    }
    onbon_drv__pump(dev, now_ms);
}

static void onbon_drv__set(struct hq_dev *dev, int wi, const char *text, uint8_t color,
                           bool all_lit, uint64_t now_ms)
{
    struct onbon_drv *p = dev->priv;
    if (wi < 0 || (size_t)wi >= dev->n_win || !dev->win[wi].cfg) return;
    struct onbon_win *w = &p->w[wi];
    snprintf(w->text, sizeof w->text, "%s", text ? text : "");
    w->color = color;
    w->all_lit = all_lit;
    w->dirty = true;
    w->gen++;
    w->retry_ms = now_ms;
}

static void onbon_drv_effect(struct hq_dev *dev, const struct hq_drv_effect *ef, uint64_t now_ms)
{
    switch (ef->type) {
    case HQ_DRV_FX_SHOW:
        if (!ef->view || ef->view->kind == HQ_VIEW_BLANK) {
            onbon_drv__set(dev, ef->wi, "", 0, false, now_ms);
        } else if (ef->view->kind == HQ_VIEW_IDLE && (!ef->view->text || !ef->view->text[0]) &&
                   ef->wi >= 0 && (size_t)ef->wi < dev->n_win) {
            /* The host leaves the idle text to the display (an A0 90 bar stores its own); a
             * 5E stores nothing, so it is drawn like any other text. */
            const struct hq_dev_window *w = &dev->win[ef->wi];
            onbon_drv__set(dev, ef->wi, w->idle_text,
                           onbon_drv__color(w->idle_color ? w->idle_color : ef->view->color), false,
                           now_ms);
        } else {
            onbon_drv__set(dev, ef->wi, ef->view->text, onbon_drv__color(ef->view->color), false,
                           now_ms);
        }
        break;
    case HQ_DRV_FX_BLANK:
        for (size_t i = 0; i < dev->n_win; i++)
            onbon_drv__set(dev, (int)i, "", 0, false, now_ms);
        break;
    case HQ_DRV_FX_IDENTIFY: {
        char t[48];
        if (ef->wi < 0 || (size_t)ef->wi >= dev->n_win || !dev->win[ef->wi].cfg) return;
        /* The address the screen answers to, as set with LedshowTW (屏号), like the A0 90 bars. */
        snprintf(t, sizeof t, "%u号窗 屏号%u", dev->win[ef->wi].window,
                 onbon_drv__addr(dev, ef->wi));
        onbon_drv__set(dev, ef->wi, t, ONBON_COLOR_YELLOW, false, now_ms);
        break;
    }
    case HQ_DRV_FX_TEST:
        /* Every pixel lit, in every colour: a dot-matrix screen's dead pixels and rows show. */
        onbon_drv__set(dev, ef->wi, "", ONBON_COLOR_YELLOW, true, now_ms);
        break;
    default:
        return; /* engine effects: the host turns them into views */
    }
    onbon_drv__pump(dev, now_ms);
}

static void onbon_drv_status(struct hq_dev *dev, int unit, int wi, struct cJSON *o, uint64_t now_ms)
{
    (void)now_ms;
    struct onbon_drv *p = dev->priv;
    if (unit == HQ_UNIT_LINE) {
        cJSON_AddNumberToObject(o, "bad_crc", p->lx.bad_crc);
        cJSON_AddNumberToObject(o, "bad_escape", p->lx.bad_escape);
        cJSON_AddNumberToObject(o, "bad_length", p->lx.bad_length);
        return;
    }
    if (unit != HQ_UNIT_BAR || wi < 0 || (size_t)wi >= dev->n_win || !dev->win[wi].cfg) return;
    const struct onbon_win_cfg *c = onbon_drv__wcfg(dev, wi);
    const struct onbon_win *w = &p->w[wi];
    cJSON_AddNumberToObject(o, "screen", onbon_drv__addr(dev, wi));
    cJSON_AddNumberToObject(o, "width", c->width);
    cJSON_AddNumberToObject(o, "height", c->height);
    cJSON_AddNumberToObject(o, "acks", w->acks);
    cJSON_AddNumberToObject(o, "nacks", w->nacks);
    cJSON_AddNumberToObject(o, "timeouts", w->timeouts);
    if (w->nacks) cJSON_AddStringToObject(o, "last_error", onbon_drv__error_name(w->last_error));
}

static void onbon_drv_close(struct hq_dev *dev)
{
    struct onbon_drv *p = dev->priv;
    for (int i = 0; i < ONBON_FONTS; i++) {
        onbon_font_close(p->font[i].f);
        p->font[i].f = NULL;
    }
    onbon_lexer_reset(&p->lx);
    p->busy_req = ONBON_REQ_NONE;
}

static int onbon_check_win(const void *cfg, const struct hq_dev_window *w, char *err, size_t cap)
{
    (void)w;
    const struct onbon_win_cfg *c = cfg;
    struct onbon_area a = {
        .w = (uint16_t)c->width, .h = (uint16_t)c->height, .colors = (uint8_t)c->colors};
    if (onbon_row_bytes(&a) * (size_t)c->height + 64 > ONBON_MAX_DATA) {
        snprintf(err, cap,
                 "width × height × colors: %d × %d × %d is more than one frame takes (%d KiB "
                 "of bitmap: 256 × 128 in one colour, 256 × 64 in two)",
                 c->width, c->height, c->colors, ONBON_MAX_DATA / 1024);
        return HQ_ERR_CONFIG;
    }
    return HQ_OK;
}

static int onbon_check_bus(const void *cfg, char *err, size_t cap)
{
    const struct onbon_bus_cfg *c = cfg;
    if (c->font[0] && access(c->font, R_OK) != 0) {
        snprintf(err, cap, "font: cannot read %s", c->font);
        return HQ_ERR_CONFIG;
    }
    return HQ_OK;
}

const struct hq_driver hq_driver_onbon = {
    .name = "onbon",
    .desc = "Onbon BX-5E LED screens (仰邦), dynamic-area bitmaps",
    .role = HQ_DRV_ROLE_BAR,
    .link_type = "led_bus",
    .default_baud = 57600,
    .priv_size = sizeof(struct onbon_drv),
    .bus_keys = onbon_bus_keys,
    .n_bus_keys = HQ_ARRAY_LEN(onbon_bus_keys),
    .bus_cfg_size = sizeof(struct onbon_bus_cfg),
    .win_keys = onbon_win_keys,
    .n_win_keys = HQ_ARRAY_LEN(onbon_win_keys),
    .win_cfg_size = sizeof(struct onbon_win_cfg),
    .check_bus = onbon_check_bus,
    .check_win = onbon_check_win,
    .open = onbon_drv_open,
    .input = onbon_drv_input,
    .timer = onbon_drv_timer,
    .effect = onbon_drv_effect,
    .status = onbon_drv_status,
    .close = onbon_drv_close,
};
