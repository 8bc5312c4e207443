/*
 * devices.h — the pure part of hallqd's device host (hqd_devices.c is its loop side): what a
 * window's display shows now (struct hq_view, the same for every display family: the hall's
 * texts, not a vendor's), and from which minute the displays go dark at closing time. No I/O,
 * time is an argument, so it is unit-tested alone.
 */
#ifndef HQ_DEVICES_H
#define HQ_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "driver.h"
#include "engine.h"

/* The hall's display texts (devices.led). */
struct hq_devices_texts {
    const char *tpl;         /* "{ticket}请到{window}号窗口" */
    const char *color;       /* of a call */
    const char *idle_color;  /* of the idle and paused texts */
    const char *paused_text; /* 暂停服务 */
};

/* What window wi (engine index) shows: its call while calling or serving, else dark when
 * blanked, else the paused text, else its idle text (stored in the display). view->text points
 * into buf. HQ_OK, or the template's error (the view is IDLE then). */
int hq_devices_view(const struct hq_engine *e, int wi, const struct hq_devices_texts *t,
                    bool blanked, struct hq_view *view, char *buf, size_t cap);

/* The texts of a configuration. */
void hq_devices_texts_of(const struct hq_config *c, struct hq_devices_texts *t);

/* Minute of the day from which the displays are dark on day (days since 1970 in the hall's
 * time): devices.led.blank_at "HH:MM", or for "auto" when the last service closes; -1 for
 * "off". */
int hq_devices_blank_minute(const struct hq_config *c, int32_t day);

#endif
