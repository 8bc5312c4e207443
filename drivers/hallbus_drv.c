/*
 * hallbus_drv.c — the FF 68 hall bus behind the driver contract (driver.h): clerks' call
 * keypads and citizens' rating pads sharing one RS-485 line (PROTOCOLS.md §2, hallbus.h).
 *
 *   keypad ─► FF 68 key ─► echo, repeat check ─► hallbus_drv_key_cmd ─► host->apply
 *   pad    ─► FF 68 11 level ─► hallbus_drv_rating_cmd ─► host->apply (answered by HQ_FX_RATED)
 *   engine effects ─► keypad display/beep, pad invite/ack/idle, staged per result (END)
 *
 * A 9600 baud bus carries ~1 keypad display per 15 ms: a result that changes five things sends
 * one display per keypad, and waiting-count updates of other windows are gathered and sent at
 * most once a second (the driver's timer), and only when they changed.
 */
#include "hallbus_drv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define FF68_FLUSH_MS 1000

struct ff68_win {
    struct hallbus_drv_window hw;
    struct hallbus_padmap map;
    int last_waiting;
    uint8_t disp[HALLBUS_FRAME_MAX]; /* the keypad's display as last sent */
    uint8_t disp_len;
    bool disp_dirty; /* its waiting count changed since */
    uint64_t keypad_heard_ms, pad_heard_ms;
    uint8_t pad_reply[HALLBUS_FRAME_MAX]; /* the answer to the pad's last rating frame */
    uint8_t pad_reply_len;
};

struct ff68_stage {
    uint8_t addr, func, len;
    uint8_t b[HALLBUS_FRAME_MAX];
};

struct ff68 {
    struct hq_dev *dev;
    uint64_t now_ms;
    struct hallbus_lexer lx;
    struct hallbus_repeat rep;
    uint64_t bad_seen, garbage_seen;
    uint64_t repeats, unknown;
    int16_t who[256]; /* index into dev->win of the device at an address, -1 */
    uint8_t told[32]; /* bit a: a frame from address a, no window's, was logged since open() */
    struct ff68_win *w;
    struct ff68_stage *stage;
    size_t n_stage, cap_stage;
};

/* ------------------------------------------------------------ the pure glue */

int hallbus_drv_key_cmd(const struct hq_engine *e, uint16_t window, const struct hallbus_key *k,
                        struct hq_cmd *cmd)
{
    memset(cmd, 0, sizeof *cmd);
    cmd->window = window;
    int wi = hq_engine_window_index(e, window);
    switch (k->action) {
    case HALLBUS_CALL_NEXT:
        cmd->type = HQ_CMD_CALL_NEXT;
        break;
    case HALLBUS_CALL_NUMBER:
        cmd->type = HQ_CMD_CALL_NUMBER;
        if (strlen(k->digits) >= sizeof cmd->u.call.label) return HALLBUS_DRV_KEY_IGNORED;
        memcpy(cmd->u.call.label, k->digits, strlen(k->digits) + 1);
        break;
    case HALLBUS_RECALL:
        cmd->type = HQ_CMD_RECALL;
        break;
    case HALLBUS_START:
        cmd->type = HQ_CMD_START;
        break;
    case HALLBUS_FINISH:
        cmd->type = HQ_CMD_FINISH;
        break;
    case HALLBUS_PAUSE_TOGGLE:
        if (wi < 0) return HALLBUS_DRV_KEY_IGNORED;
        cmd->type = e->win[wi].state == HQ_WS_PAUSED ? HQ_CMD_RESUME : HQ_CMD_PAUSE;
        break;
    case HALLBUS_TRANSFER:
        /* Back to its own queue, at the front: the citizen already waited once. */
        cmd->type = HQ_CMD_TRANSFER;
        cmd->u.transfer.service = -1;
        cmd->u.transfer.front = true;
        break;
    case HALLBUS_TRANSFER_TO_SERVICE:
        if (k->number < 1 || k->number > e->cfg->n_services) return HALLBUS_DRV_KEY_IGNORED;
        cmd->type = HQ_CMD_TRANSFER;
        cmd->u.transfer.service = (int16_t)(k->number - 1);
        cmd->u.transfer.front = true;
        break;
    case HALLBUS_NO_SHOW:
        cmd->type = HQ_CMD_NO_SHOW;
        cmd->u.no_show.requeue = -1;
        break;
    case HALLBUS_PARK:
        cmd->type = HQ_CMD_PARK;
        break;
    case HALLBUS_CALL_BACK:
        cmd->type = HQ_CMD_CALL_BACK;
        break;
    case HALLBUS_LOGOUT:
        cmd->type = HQ_CMD_LOGOUT;
        break;
    case HALLBUS_LOGIN:
        cmd->type = HQ_CMD_LOGIN;
        if (strlen(k->staff_id) >= sizeof cmd->u.login.staff_id) return HALLBUS_DRV_KEY_IGNORED;
        memcpy(cmd->u.login.staff_id, k->staff_id, strlen(k->staff_id) + 1);
        break;
    case HALLBUS_HELP:
        return HALLBUS_DRV_KEY_HELP;
    default:
        return HALLBUS_DRV_KEY_IGNORED;
    }
    return HALLBUS_DRV_KEY_CMD;
}

int hallbus_drv_rating_cmd(const struct hallbus_drv_window *w, uint8_t raw, struct hq_cmd *cmd)
{
    struct hallbus_padmap five;
    const struct hallbus_padmap *m = w->padmap;
    if (!m) {
        hallbus_padmap_five(&five);
        m = &five;
    }
    int level = hallbus_padmap_level(m, raw);
    if (!level) return HQ_ERR_INVALID;
    memset(cmd, 0, sizeof *cmd);
    cmd->type = HQ_CMD_RATE;
    cmd->window = w->window;
    cmd->u.rate.level = (uint8_t)level;
    cmd->u.rate.channel = HQ_CHAN_PAD;
    return HQ_OK;
}

int hallbus_drv_pad_raw(const struct hallbus_drv_window *w, int level)
{
    if (!w->padmap) return level;
    for (int raw = 0; raw < 256; raw++)
        if (w->padmap->level[raw] == level) return raw;
    return level;
}

/* People waiting for any of the window's services. */
static int hallbus_drv__waiting(const struct hq_engine *e, int wi)
{
    const struct hq_window_cfg *wc = &e->cfg->windows[wi];
    size_t n = 0;
    for (unsigned i = 0; i < wc->n_services; i++)
        n += hq_engine_waiting(e, wc->services[i]);
    return (int)n;
}

size_t hallbus_drv_effect_frame(const struct hq_engine *e, const struct hallbus_drv_window *w,
                                const struct hq_effect *fx, uint8_t *out, size_t cap)
{
    int wi = hq_engine_window_index(e, w->window);
    if (wi < 0) return 0;
    char label[16] = "";
    const struct hq_window_st *ws = &e->win[wi];
    int32_t cur = fx->ticket >= 0 ? fx->ticket : ws->current;
    if (cur >= 0 && (size_t)cur < e->n_tickets)
        hq_ticket_label(e, &e->tickets[cur], label, sizeof label);
    switch (fx->type) {
    case HQ_FX_CALL:
        if (fx->window != w->window || !w->keypad) return 0;
        return hallbus_make_display(w->keypad, hallbus_drv__waiting(e, wi), label, out, cap);
    case HQ_FX_WINDOW:
        if (fx->window != w->window || !w->keypad) return 0;
        return hallbus_make_display(w->keypad, hallbus_drv__waiting(e, wi),
                                    ws->current >= 0 ? label : NULL, out, cap);
    case HQ_FX_QUEUE: {
        if (!w->keypad) return 0;
        const struct hq_window_cfg *wc = &e->cfg->windows[wi];
        bool mine = false;
        for (unsigned i = 0; i < wc->n_services; i++)
            mine |= wc->services[i] == fx->service;
        if (!mine) return 0;
        return hallbus_make_display(w->keypad, hallbus_drv__waiting(e, wi),
                                    ws->current >= 0 ? label : NULL, out, cap);
    }
    case HQ_FX_RATE_PROMPT:
        if (fx->window != w->window || !w->pad) return 0;
        return hallbus_make_invite(w->pad, out, cap);
    case HQ_FX_RATED:
        if (fx->window != w->window || !w->pad) return 0;
        return hallbus_make_rating_ack(w->pad, (uint8_t)hallbus_drv_pad_raw(w, fx->level), out,
                                       cap);
    case HQ_FX_RATE_CLOSED:
        /* Unanswered: the pad returns to its idle screen (no stars), never a default rating. */
        if (fx->window != w->window || !w->pad) return 0;
        return hallbus_make_stars(w->pad, 0, out, cap);
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------ output */

/* Stage one frame of this result; a later display for the same device replaces an earlier
 * one, so a command that changes five things sends one display, not five. */
static void hallbus_drv__stage(struct ff68 *p, const uint8_t *b, size_t n)
{
    if (!n) return;
    uint8_t addr = b[5], func = b[6];
    if (func == HALLBUS_FUNC_DISPLAY)
        for (size_t i = 0; i < p->n_stage; i++)
            if (p->stage[i].addr == addr && p->stage[i].func == func) {
                memcpy(p->stage[i].b, b, n);
                p->stage[i].len = (uint8_t)n;
                return;
            }
    if (p->n_stage == p->cap_stage) {
        size_t cap = p->cap_stage ? p->cap_stage * 2 : 64;
        struct ff68_stage *ns = realloc(p->stage, cap * sizeof *ns);
        if (!ns) {
            p->dev->count->dropped++;
            return;
        }
        p->stage = ns;
        p->cap_stage = cap;
    }
    struct ff68_stage *st = &p->stage[p->n_stage++];
    st->addr = addr;
    st->func = func;
    st->len = (uint8_t)n;
    memcpy(st->b, b, n);
}

static void hallbus_drv__stage_flush(struct ff68 *p)
{
    for (size_t i = 0; i < p->n_stage; i++) {
        p->dev->count->frames++;
        p->dev->host->write(p->dev, p->stage[i].b, p->stage[i].len);
    }
    p->n_stage = 0;
}

/* The bus frame of one effect for window k. */
static void hallbus_drv__fx(struct ff68 *p, size_t k, const struct hq_effect *fx)
{
    struct ff68_win *w = &p->w[k];
    const struct hq_engine *e = p->dev->eng;
    uint8_t bus[HALLBUS_FRAME_MAX];
    size_t bn = hallbus_drv_effect_frame(e, &w->hw, fx, bus, sizeof bus);
    if (!bn) return;
    bool display = bus[6] == HALLBUS_FUNC_DISPLAY && bus[5] == w->hw.keypad;
    if (display && fx->type == HQ_FX_QUEUE) {
        /* Another window's call or a new ticket only changes the waiting count. Sent to all
         * keypads at once that would be 64 × 14 bytes, a second of a 9600 baud bus per call:
         * such updates are gathered and sent at most once a second, and only if changed. */
        w->disp_dirty = true;
        return;
    }
    if (display) {
        if (w->disp_len == bn && memcmp(w->disp, bus, bn) == 0 && fx->type != HQ_FX_CALL) return;
        memcpy(w->disp, bus, bn);
        w->disp_len = (uint8_t)bn;
        w->disp_dirty = false;
    }
    hallbus_drv__stage(p, bus, bn);
    if (display) {
        /* Somebody is waiting for an idle window that was waiting for nobody: tell the clerk. */
        int wi = p->dev->win[k].wi;
        int n = hallbus_drv__waiting(e, wi);
        if (w->last_waiting == 0 && n > 0 && e->win[wi].state == HQ_WS_IDLE) {
            uint8_t b[HALLBUS_FRAME_MAX];
            hallbus_drv__stage(p, b, hallbus_make_beep(w->hw.keypad, b, sizeof b));
        }
        w->last_waiting = n;
    }
}

static void hallbus_drv__refresh(struct ff68 *p, size_t k)
{
    struct hq_effect fx = {.type = HQ_FX_WINDOW, .window = p->w[k].hw.window, .ticket = -1};
    hallbus_drv__fx(p, k, &fx);
}

/* ------------------------------------------------------------------- input */

/* A frame from an address no window of this line has (a keypad left behind by a closed
 * temporary window, a device set to the wrong address): ignored, counted, and said once per
 * address until the line's windows change. */
static void hallbus_drv__unknown(struct ff68 *p, uint8_t addr)
{
    p->unknown++;
    if (p->told[addr / 8] & (1u << (addr % 8))) return;
    p->told[addr / 8] |= (uint8_t)(1u << (addr % 8));
    LOG_NOTICE("DEVICES", "%s: frame from address %u ignored: no window has a keypad or pad there",
               p->dev->id, addr);
}

static void hallbus_drv__frame(const struct hallbus_frame *f, void *arg)
{
    struct ff68 *p = arg;
    struct hq_dev *dev = p->dev;
    const struct hq_host *h = dev->host;
    uint64_t now = p->now_ms;
    dev->count->frames++;
    int k = p->who[f->addr];
    struct ff68_win *w = k >= 0 ? &p->w[k] : NULL;
    uint8_t b[HALLBUS_FRAME_MAX];
    struct hq_cmd cmd;
    if (f->func == HALLBUS_FUNC_RATING) {
        uint8_t raw;
        if (!w || w->hw.pad != f->addr || hallbus_rating_decode(f, &raw)) {
            if (!w)
                hallbus_drv__unknown(p, f->addr);
            else
                p->unknown++;
            return;
        }
        w->pad_heard_ms = now;
        if (hallbus_repeat_check(&p->rep, f, now)) {
            /* The pad missed our answer and resends (§2): answer again, or it keeps resending
             * and shows the citizen a failure, but never count the rating twice. */
            p->repeats++;
            h->write(dev, w->pad_reply, w->pad_reply_len);
            return;
        }
        int rc = hallbus_drv_rating_cmd(&w->hw, raw, &cmd);
        if (!rc) rc = h->apply(dev, &cmd);
        if (rc) {
            /* No rating pending (it timed out) or a key outside the map: the pad goes back to
             * its idle screen instead of waiting for an acknowledgement that never comes. */
            LOG_INFO("DEVICES", "window %u: rating key %u refused: %s", w->hw.window, raw,
                     hq_strerror(rc));
            w->pad_reply_len =
                (uint8_t)hallbus_make_stars(f->addr, 0, w->pad_reply, sizeof w->pad_reply);
            h->write(dev, w->pad_reply, w->pad_reply_len);
        } else {
            /* The acknowledgement itself went out with the result (HQ_FX_RATED). */
            w->pad_reply_len =
                (uint8_t)hallbus_make_rating_ack(f->addr, raw, w->pad_reply, sizeof w->pad_reply);
        }
        return;
    }
    if (!w || w->hw.keypad != f->addr) {
        if (!w)
            hallbus_drv__unknown(p, f->addr);
        else
            p->unknown++;
        return;
    }
    /* Echo first, a repeat too (§2: every key frame is echoed): the keypad resends until it
     * hears its frame back. */
    h->write(dev, b, hallbus_encode(f, b, sizeof b));
    w->keypad_heard_ms = now;
    if (hallbus_repeat_check(&p->rep, f, now)) {
        p->repeats++;
        return;
    }
    struct hallbus_key key;
    int out = hallbus_key_decode(f, &key) ? HALLBUS_DRV_KEY_IGNORED
                                          : hallbus_drv_key_cmd(dev->eng, w->hw.window, &key, &cmd);
    if (out == HALLBUS_DRV_KEY_HELP) {
        struct hq_dev_event ev = {.type = HQ_DEV_EV_HELP, .wi = k};
        h->event(dev, &ev);
        h->write(dev, b, hallbus_make_beep(f->addr, b, sizeof b));
        return;
    }
    int rc = HQ_ERR_INVALID;
    if (out == HALLBUS_DRV_KEY_CMD) {
        rc = h->apply(dev, &cmd);
    } else {
        /* Not a command at all: the host still counts it as a refused key. */
        struct hq_dev_event ev = {.type = HQ_DEV_EV_KEY_IGNORED, .wi = k};
        h->event(dev, &ev);
    }
    if (rc) {
        /* A key that cannot apply (nobody waiting, not logged in) beeps: the clerk hears it. */
        LOG_INFO("DEVICES", "window %u: key %s refused: %s", w->hw.window,
                 out == HALLBUS_DRV_KEY_CMD ? hallbus_action_name(key.action) : "?",
                 hq_strerror(rc));
        h->write(dev, b, hallbus_make_beep(f->addr, b, sizeof b));
    }
}

/* ---------------------------------------------------------------- operations */

static int hallbus_drv_open(struct hq_dev *dev, uint64_t now_ms)
{
    struct ff68 *p = dev->priv;
    p->dev = dev;
    p->now_ms = now_ms;
    p->bad_seen = p->garbage_seen = 0;
    p->n_stage = 0;
    hallbus_lexer_init(&p->lx);
    hallbus_repeat_init(&p->rep);
    for (int a = 0; a < 256; a++)
        p->who[a] = -1;
    memset(p->told, 0, sizeof p->told);
    p->w = calloc(dev->n_win ? dev->n_win : 1, sizeof *p->w);
    if (!p->w) return HQ_ERR_NOMEM;
    for (size_t k = 0; k < dev->n_win; k++) {
        const struct hq_dev_window *dw = &dev->win[k];
        struct ff68_win *w = &p->w[k];
        w->hw.window = dw->window;
        w->hw.keypad = dw->keypad;
        w->hw.pad = dw->pad;
        w->last_waiting = -1;
        if (dw->pad_type && strcmp(dw->pad_type, "four") == 0) {
            hallbus_padmap_four(&w->map);
            if (dw->pad_map && dw->pad_map[0] && hallbus_padmap_parse(&w->map, dw->pad_map))
                return HQ_ERR_CONFIG;
            w->hw.padmap = &w->map;
        }
        if (dw->keypad) p->who[dw->keypad] = (int16_t)k;
        if (dw->pad) p->who[dw->pad] = (int16_t)k;
    }
    dev->host->health(dev, HQ_UNIT_LINE, -1, HQ_HEALTH_ONLINE, HQ_OK, "");
    /* A keypad back on the line shows nothing until told. */
    for (size_t k = 0; k < dev->n_win; k++)
        if (p->w[k].hw.keypad) hallbus_drv__refresh(p, k);
    hallbus_drv__stage_flush(p);
    dev->host->arm(dev, FF68_FLUSH_MS);
    return HQ_OK;
}

static void hallbus_drv_input(struct hq_dev *dev, const uint8_t *b, size_t n, uint64_t now_ms)
{
    struct ff68 *p = dev->priv;
    p->now_ms = now_ms;
    hallbus_lexer_feed(&p->lx, b, n, hallbus_drv__frame, p);
    uint64_t bad =
        (uint64_t)p->lx.bad_length + p->lx.bad_header + p->lx.bad_checksum + p->lx.bad_end;
    uint64_t garbage = p->lx.garbage;
    if (bad != p->bad_seen || garbage != p->garbage_seen)
        dev->host->bad(dev, (uint32_t)(bad - p->bad_seen), (uint32_t)(garbage - p->garbage_seen));
    p->bad_seen = bad;
    p->garbage_seen = garbage;
}

/* The waiting counts gathered by hallbus_drv__fx, once a second. */
static void hallbus_drv_timer(struct hq_dev *dev, uint64_t now_ms)
{
    struct ff68 *p = dev->priv;
    p->now_ms = now_ms;
    for (size_t k = 0; k < dev->n_win; k++) {
        if (!p->w[k].disp_dirty) continue;
        p->w[k].disp_dirty = false;
        hallbus_drv__refresh(p, k);
    }
    hallbus_drv__stage_flush(p);
    dev->host->arm(dev, FF68_FLUSH_MS);
}

static int hallbus_drv__win_of(const struct hq_dev *dev, uint16_t window)
{
    for (size_t k = 0; k < dev->n_win; k++)
        if (dev->win[k].window == window) return (int)k;
    return -1;
}

static void hallbus_drv_effect(struct hq_dev *dev, const struct hq_drv_effect *ef, uint64_t now_ms)
{
    struct ff68 *p = dev->priv;
    p->now_ms = now_ms;
    uint8_t b[HALLBUS_FRAME_MAX];
    if (!p->w) return; /* not open */
    switch (ef->type) {
    case HQ_DRV_FX_ENGINE: {
        const struct hq_effect *fx = ef->fx;
        int k;
        switch (fx->type) {
        case HQ_FX_QUEUE:
            for (size_t i = 0; i < dev->n_win; i++)
                if (p->w[i].hw.keypad) hallbus_drv__fx(p, i, fx);
            break;
        case HQ_FX_CALL:
        case HQ_FX_WINDOW:
        case HQ_FX_RATE_PROMPT:
        case HQ_FX_RATED:
        case HQ_FX_RATE_CLOSED:
            if ((k = hallbus_drv__win_of(dev, fx->window)) >= 0) hallbus_drv__fx(p, (size_t)k, fx);
            break;
        default:
            break;
        }
        break;
    }
    case HQ_DRV_FX_END:
        hallbus_drv__stage_flush(p);
        break;
    case HQ_DRV_FX_IDENTIFY:
    case HQ_DRV_FX_TEST: {
        if (ef->wi < 0 || (size_t)ef->wi >= dev->n_win) break;
        struct ff68_win *w = &p->w[ef->wi];
        if (w->hw.keypad) {
            /* The keypad beeps and shows its own address as the waiting count; its next
             * display is sent in full again. */
            dev->host->write(dev, b, hallbus_make_beep(w->hw.keypad, b, sizeof b));
            dev->host->write(dev, b,
                             hallbus_make_display(w->hw.keypad, w->hw.keypad, NULL, b, sizeof b));
            w->disp_len = 0;
            w->disp_dirty = true;
        }
        /* A pad under test shows its invitation; any key then brings it back to idle. */
        if (w->hw.pad && ef->type == HQ_DRV_FX_TEST)
            dev->host->write(dev, b, hallbus_make_invite(w->hw.pad, b, sizeof b));
        break;
    }
    default:
        break;
    }
}

static void hallbus_drv_status(struct hq_dev *dev, int unit, int wi, cJSON *obj, uint64_t now_ms)
{
    struct ff68 *p = dev->priv;
    if (unit == HQ_UNIT_LINE) {
        cJSON_AddNumberToObject(obj, "repeats", (double)p->repeats);
        cJSON_AddNumberToObject(obj, "unknown_address", (double)p->unknown);
        return;
    }
    uint64_t heard = 0;
    if (p->w && wi >= 0 && (size_t)wi < dev->n_win)
        heard = unit == HQ_UNIT_KEYPAD ? p->w[wi].keypad_heard_ms : p->w[wi].pad_heard_ms;
    if (heard)
        cJSON_AddNumberToObject(obj, "last_heard_s", (double)((now_ms - heard) / 1000));
    else
        cJSON_AddNullToObject(obj, "last_heard_s");
}

static void hallbus_drv_close(struct hq_dev *dev)
{
    struct ff68 *p = dev->priv;
    free(p->w);
    free(p->stage);
    p->w = NULL;
    p->stage = NULL;
    p->n_stage = p->cap_stage = 0;
}

static const char *const hallbus_drv_aliases[] = {"hall", NULL};

const struct hq_driver hq_driver_ff68 = {
    .name = "ff68",
    .aliases = hallbus_drv_aliases,
    .desc = "FF 68 call keypads and rating pads (呼叫器、评价器)",
    .role = HQ_DRV_ROLE_KEYS,
    .link_type = "hall_bus",
    .default_baud = 9600,
    .priv_size = sizeof(struct ff68),
    .open = hallbus_drv_open,
    .input = hallbus_drv_input,
    .timer = hallbus_drv_timer,
    .effect = hallbus_drv_effect,
    .status = hallbus_drv_status,
    .close = hallbus_drv_close,
};
