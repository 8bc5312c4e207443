/*
 * devices.c — the pure part of the device host (devices.h): a window's view and the closing
 * time of the displays. The caller (hqd_devices.c) sends the view to the window's display
 * driver, whatever its family.
 */
#include "devices.h"

#include <stdio.h>
#include <string.h>

#include "ledbar.h" /* ledbar_template_expand: the hall's template language */

void hq_devices_texts_of(const struct hq_config *c, struct hq_devices_texts *t)
{
    t->tpl = c->led_template;
    t->color = c->led_color;
    t->idle_color = c->led_idle_color;
    t->paused_text = c->led_paused_text;
}

int hq_devices_view(const struct hq_engine *e, int wi, const struct hq_devices_texts *t,
                    bool blanked, struct hq_view *view, char *buf, size_t cap)
{
    const struct hq_window_st *ws = &e->win[wi];
    memset(view, 0, sizeof *view);
    view->kind = HQ_VIEW_IDLE;
    view->color = t->idle_color;
    view->text = "";
    if (ws->current >= 0 && (size_t)ws->current < e->n_tickets &&
        (ws->state == HQ_WS_CALLING || ws->state == HQ_WS_SERVING)) {
        char label[16] = "", num[8];
        hq_ticket_label(e, &e->tickets[ws->current], label, sizeof label);
        snprintf(num, sizeof num, "%u", e->cfg->windows[wi].number);
        int rc = ledbar_template_expand(t->tpl, label, num, e->cfg->windows[wi].name, buf, cap);
        if (rc) return rc;
        view->kind = HQ_VIEW_CALL;
        view->text = buf;
        view->color = t->color;
    } else if (blanked) {
        view->kind = HQ_VIEW_BLANK;
    } else if (ws->state == HQ_WS_PAUSED) {
        view->kind = HQ_VIEW_PAUSED;
        view->text = t->paused_text;
    }
    return HQ_OK;
}

int hq_devices_blank_minute(const struct hq_config *c, int32_t day)
{
    if (strcmp(c->led_blank_at, "off") == 0) return -1;
    if (strcmp(c->led_blank_at, "auto") != 0)
        return ((c->led_blank_at[0] - '0') * 10 + (c->led_blank_at[1] - '0')) * 60 +
               (c->led_blank_at[3] - '0') * 10 + (c->led_blank_at[4] - '0');
    /* auto: when the last service of the day closes (0 = closed all day) */
    int last = 0;
    const struct hq_engine_cfg *e = &c->engine;
    int wday = (int)(((day % 7) + 7 + 4) % 7);
    for (size_t i = 0; i < e->n_services; i++) {
        const struct hq_service_cfg *sc = &e->services[i];
        const struct hq_day_hours *h = &sc->week[wday];
        for (size_t k = 0; k < sc->n_overrides; k++)
            if (sc->overrides[k].day == day) h = &sc->overrides[k].hours;
        for (size_t k = 0; k < h->n && k < HQ_MAX_INTERVALS; k++)
            if (h->iv[k].close_min > last) last = h->iv[k].close_min;
    }
    return last;
}
