/*
 * devices.c — the glue between hall devices and the queue engine (devices.h): keypad keys and
 * pad ratings to engine commands, engine effects to hall bus and LED bar frames. Pure: the
 * caller (the device module on the loop) does the I/O, hqd_apply() does the state.
 */
#include "devices.h"

#include <stdio.h>
#include <string.h>

#include "ledbar.h"

int hq_devices_key_cmd(const struct hq_engine *e, uint16_t window, const struct hallbus_key *k,
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
        if (strlen(k->digits) >= sizeof cmd->u.call.label) return HQ_KEY_IGNORED;
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
        if (wi < 0) return HQ_KEY_IGNORED;
        cmd->type = e->win[wi].state == HQ_WS_PAUSED ? HQ_CMD_RESUME : HQ_CMD_PAUSE;
        break;
    case HALLBUS_TRANSFER:
        /* Back to its own queue, at the front: the citizen already waited once. */
        cmd->type = HQ_CMD_TRANSFER;
        cmd->u.transfer.service = -1;
        cmd->u.transfer.front = true;
        break;
    case HALLBUS_TRANSFER_TO_SERVICE:
        if (k->number < 1 || k->number > e->cfg->n_services) return HQ_KEY_IGNORED;
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
        if (strlen(k->staff_id) >= sizeof cmd->u.login.staff_id) return HQ_KEY_IGNORED;
        memcpy(cmd->u.login.staff_id, k->staff_id, strlen(k->staff_id) + 1);
        break;
    case HALLBUS_HELP:
        return HQ_KEY_HELP;
    default:
        return HQ_KEY_IGNORED;
    }
    return HQ_KEY_CMD;
}

int hq_devices_rating_cmd(const struct hq_devices_window *w, uint8_t raw, struct hq_cmd *cmd)
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

int hq_devices_pad_raw(const struct hq_devices_window *w, int level)
{
    if (!w->padmap) return level;
    for (int raw = 0; raw < 256; raw++)
        if (w->padmap->level[raw] == level) return raw;
    return level;
}

/* People waiting for any of the window's services. */
static int hq_devices__waiting(const struct hq_engine *e, int wi)
{
    const struct hq_window_cfg *wc = &e->cfg->windows[wi];
    size_t n = 0;
    for (unsigned i = 0; i < wc->n_services; i++)
        n += hq_engine_waiting(e, wc->services[i]);
    return (int)n;
}

int hq_devices_effect_frames(const struct hq_engine *e, const struct hq_devices_window *w,
                             const struct hq_effect *fx, const char *tpl, uint8_t *bus,
                             size_t bus_cap, size_t *bus_len, uint8_t *led, size_t led_cap,
                             size_t *led_len)
{
    *bus_len = *led_len = 0;
    int wi = hq_engine_window_index(e, w->window);
    if (wi < 0) return HQ_ERR_NOT_FOUND;
    char label[16] = "";
    const struct hq_window_st *ws = &e->win[wi];
    int32_t cur = fx->ticket >= 0 ? fx->ticket : ws->current;
    if (cur >= 0 && (size_t)cur < e->n_tickets)
        hq_ticket_label(e, &e->tickets[cur], label, sizeof label);
    switch (fx->type) {
    case HQ_FX_CALL:
        if (fx->window != w->window) return HQ_OK;
        if (w->bar) {
            char text[256], num[8];
            snprintf(num, sizeof num, "%u", w->window);
            int rc = ledbar_template_expand(tpl, label, num, NULL, text, sizeof text);
            if (rc) return rc;
            rc = ledbar_make_text(w->bar, LEDBAR_CMD_SHOW, text, LEDBAR_RED, led, led_cap, led_len);
            if (rc) return rc;
        }
        if (w->keypad)
            *bus_len =
                hallbus_make_display(w->keypad, hq_devices__waiting(e, wi), label, bus, bus_cap);
        return HQ_OK;
    case HQ_FX_WINDOW:
        if (fx->window != w->window) return HQ_OK;
        /* Nobody called any more (idle, paused, closed): the bar goes back to its idle text. */
        if (w->bar && ws->current < 0) *led_len = ledbar_make_show_idle(w->bar, led, led_cap);
        if (w->keypad)
            *bus_len = hallbus_make_display(w->keypad, hq_devices__waiting(e, wi),
                                            ws->current >= 0 ? label : NULL, bus, bus_cap);
        return HQ_OK;
    case HQ_FX_QUEUE: {
        if (!w->keypad) return HQ_OK;
        const struct hq_window_cfg *wc = &e->cfg->windows[wi];
        bool mine = false;
        for (unsigned i = 0; i < wc->n_services; i++)
            mine |= wc->services[i] == fx->service;
        if (mine)
            *bus_len = hallbus_make_display(w->keypad, hq_devices__waiting(e, wi),
                                            ws->current >= 0 ? label : NULL, bus, bus_cap);
        return HQ_OK;
    }
    case HQ_FX_RATE_PROMPT:
        if (fx->window == w->window && w->pad) *bus_len = hallbus_make_invite(w->pad, bus, bus_cap);
        return HQ_OK;
    case HQ_FX_RATED:
        if (fx->window == w->window && w->pad)
            *bus_len = hallbus_make_rating_ack(w->pad, (uint8_t)hq_devices_pad_raw(w, fx->level),
                                               bus, bus_cap);
        return HQ_OK;
    case HQ_FX_RATE_CLOSED:
        /* Unanswered: the pad returns to its idle screen (no stars), never a default rating. */
        if (fx->window == w->window && w->pad)
            *bus_len = hallbus_make_stars(w->pad, 0, bus, bus_cap);
        return HQ_OK;
    default:
        return HQ_OK;
    }
}
