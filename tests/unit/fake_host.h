/*
 * fake_host.h — a fake of hallqd's device host (drivers/driver.h) for driver unit tests: it
 * records every byte a driver writes, every command it applies (and runs it on a real engine
 * when one is given), every health report, event, bad-frame count and timer it arms. A test
 * feeds bytes or effects into the driver's operations and checks what came out, with no loop,
 * no serial port and no clock (time is the now_ms the test passes).
 *
 *   struct fake_host fh;
 *   fake_host_init(&fh, &hq_driver_ff68, windows, n, NULL, &engine);
 *   fh.dev.drv->open(&fh.dev, 0);  ...  fake_host_take(&fh, buf, sizeof buf);
 */
#ifndef FAKE_HOST_H
#define FAKE_HOST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

#define FAKE_MAX 64

struct fake_host {
    struct hq_dev dev;
    struct hq_dev_counters count;
    struct hq_engine *eng; /* NULL: apply only records (answers apply_rc) */
    struct hq_result res;
    int apply_rc;
    uint8_t out[1 << 16];
    size_t out_len;
    struct hq_cmd cmds[FAKE_MAX];
    size_t n_cmds;
    struct {
        int unit, wi, health, err;
        char reason[96];
    } health[FAKE_MAX];
    size_t n_health;
    struct {
        int type, wi, err;
        struct hq_dev_card card;
    } ev[FAKE_MAX];
    size_t n_ev;
    uint64_t armed; /* last delay armed, HQ_DRV_TIMER_OFF after a cancel */
    size_t n_armed;
    uint32_t bad_frames, garbage;
};

static struct fake_host *fake__of(struct hq_dev *dev)
{
    return dev->host_arg;
}

static void fake__write(struct hq_dev *dev, const uint8_t *b, size_t n)
{
    struct fake_host *f = fake__of(dev);
    if (f->out_len + n > sizeof f->out) return;
    memcpy(f->out + f->out_len, b, n);
    f->out_len += n;
    f->count.tx_bytes += n;
}

static int fake__apply(struct hq_dev *dev, struct hq_cmd *cmd)
{
    struct fake_host *f = fake__of(dev);
    if (f->n_cmds < FAKE_MAX) f->cmds[f->n_cmds++] = *cmd;
    if (f->apply_rc || !f->eng) return f->apply_rc;
    return hq_engine_apply(f->eng, cmd, &f->res);
}

static void fake__health(struct hq_dev *dev, int unit, int wi, int health, int err,
                         const char *reason)
{
    struct fake_host *f = fake__of(dev);
    if (f->n_health == FAKE_MAX) return;
    f->health[f->n_health].unit = unit;
    f->health[f->n_health].wi = wi;
    f->health[f->n_health].health = health;
    f->health[f->n_health].err = err;
    snprintf(f->health[f->n_health].reason, sizeof f->health[0].reason, "%s", reason);
    f->n_health++;
}

static void fake__bad(struct hq_dev *dev, uint32_t bad_frames, uint32_t garbage)
{
    fake__of(dev)->bad_frames += bad_frames;
    fake__of(dev)->garbage += garbage;
}

static void fake__arm(struct hq_dev *dev, uint64_t delay_ms)
{
    fake__of(dev)->armed = delay_ms;
    fake__of(dev)->n_armed++;
}

static void fake__event(struct hq_dev *dev, const struct hq_dev_event *ev)
{
    struct fake_host *f = fake__of(dev);
    if (f->n_ev == FAKE_MAX) return;
    f->ev[f->n_ev].type = ev->type;
    f->ev[f->n_ev].wi = ev->wi;
    f->ev[f->n_ev].err = ev->err;
    if (ev->card) f->ev[f->n_ev].card = *ev->card;
    f->n_ev++;
}

static void fake__log(struct hq_dev *dev, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fake__log(struct hq_dev *dev, int level, const char *fmt, ...)
{
    (void)dev;
    (void)level;
    (void)fmt;
}

static const struct hq_host fake_host_ops = {
    .write = fake__write,
    .apply = fake__apply,
    .health = fake__health,
    .bad = fake__bad,
    .arm = fake__arm,
    .event = fake__event,
    .log = fake__log,
};

/* A line of driver drv with windows win[n] (and their config), its bus config cfg. */
static inline void fake_host_init(struct fake_host *f, const struct hq_driver *drv,
                                  const struct hq_dev_window *win, size_t n, const void *cfg,
                                  struct hq_engine *eng)
{
    memset(f, 0, sizeof *f);
    f->eng = eng;
    f->dev.drv = drv;
    f->dev.host = &fake_host_ops;
    f->dev.host_arg = f;
    f->dev.priv = calloc(1, drv->priv_size ? drv->priv_size : 1);
    f->dev.id = "bus:test";
    f->dev.cfg = cfg;
    f->dev.win = win;
    f->dev.n_win = n;
    f->dev.eng = eng;
    f->dev.count = &f->count;
    f->dev.port = "pty:/test";
}

static inline void fake_host_free(struct fake_host *f)
{
    if (f->dev.drv->close) f->dev.drv->close(&f->dev);
    free(f->dev.priv);
    hq_result_free(&f->res);
}

/* Take (and forget) what the driver wrote so far. */
static inline size_t fake_host_take(struct fake_host *f, uint8_t *buf, size_t cap)
{
    size_t n = f->out_len < cap ? f->out_len : cap;
    memcpy(buf, f->out, n);
    f->out_len = 0;
    return n;
}

/* An engine effect, then the end of its result, as the host sends them. */
static inline void fake_host_effect(struct fake_host *f, const struct hq_effect *fx, uint64_t now)
{
    struct hq_drv_effect ef = {.type = HQ_DRV_FX_ENGINE, .wi = -1, .fx = fx};
    f->dev.drv->effect(&f->dev, &ef, now);
    struct hq_drv_effect end = {.type = HQ_DRV_FX_END, .wi = -1};
    f->dev.drv->effect(&f->dev, &end, now);
}

static inline size_t fake_hex(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) break;
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

#endif
