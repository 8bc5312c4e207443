/*
 * hqd_devices.c — the device host: every serial device line of the hall in the running daemon
 * (the kiosks' ID-card readers, the clerks' keypads and citizens' rating pads on hall buses,
 * the displays above the windows), each driven by its driver from drivers/registry.c through
 * the contract in drivers/driver.h. This file knows no protocol; it owns what every line
 * shares (NUT's main.c to its drivers):
 *
 *   - the line: opened through hal/serial.c, reopened with backoff when it vanishes (a link
 *     that does not stay up keeps backing off), non-blocking writes with a bounded buffer,
 *     bounded reads per wake-up, so one spewing device cannot starve the loop;
 *   - health (health.h, the model GPIO uses too): online / offline / faulty with a reason, a
 *     change logged (at most once per HQ_HEALTH_LOG_MS per line), published (SSE `device`),
 *     in /api/v1/status `devices` and recorded for the central server (outbox `event`, kind
 *     `device`); a line that keeps producing bad frames is faulty until clean for a while;
 *   - the hall's side of each device: a command a driver applies goes through hqd_apply();
 *     every committed result goes to every line's driver (HQ_DRV_FX_ENGINE … END); what a
 *     window's display shows is decided here (devices.c) and sent as HQ_DRV_FX_SHOW; the
 *     displays go dark at closing time; a help key is published and recorded; a card's
 *     identity is held for the kiosk for card_hold_s at most;
 *   - commissioning: GET /api/v1/devices, POST /api/v1/devices/identify/WINDOW and
 *     POST /api/v1/devices/test (hallqctl devices …).
 *
 * Privacy: a reader's identity arrives as struct hq_dev_card (type, keyed hash, birth date,
 * masked name); the keyed hash (all 32 bytes: an appointment is matched on the whole hash, a
 * ticket keeps only its first 8) and the masked name are kept here for card_hold_s at most
 * and never logged; a line whose driver says private_bytes is never hex-dumped and its read
 * buffer is wiped.
 */
#include "hqd_devices.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "devices.h"
#include "driver.h"
#include "health.h"
#include "ledbar.h"
#include "serial.h"
#include "store.h"

#define DEVS_OUT_CAP 8192        /* bytes waiting for a slow line; more is dropped */
#define DEVS_RX_CHUNK 2048       /* one read */
#define DEVS_RX_PER_WAKE 16384   /* a spewing device is read in bounded bites per wake-up */
#define DEVS_BAD_WINDOW_MS 10000 /* bad frames are counted over this window... */
#define DEVS_BAD_FAULTY 10       /* ...and this many in it make the line faulty */
#define DEVS_HOUSE_MS 1000
#define DEVS_IDENTIFY_MS 10000 /* a display identifying itself goes back to its view after */
#define DEVS_TEST_STEP_MS 1500 /* `devices test`: one window after the other */
#define DEVS_LAT 1024

struct devs_card {
    uint8_t type;
    uint8_t hash[32];
    int32_t birth_ymd;
    char name[16];
    const char *type_en, *type_zh;
    uint8_t id_sealed[HQ_ID_SEALED_MAX]; /* sealed by the driver; opened only by the platform */
    uint8_t id_sealed_len;
};

struct hqd_devs;

/* A window device's own health (a bar that acknowledges), by unit. */
struct devs_unit {
    struct hq_health_rec h;
    bool reported;
};

struct devs_link {
    struct hqd_devs *s;
    const struct hq_driver *drv;
    struct hq_dev dev;
    struct hq_dev_window *win; /* dev.win */
    int *win_devs;             /* dev.win index → s->win index */
    struct devs_unit *units;   /* [dev.n_win][4], by enum hq_dev_unit */
    bool reader;
    int cfg_idx;
    char id[48]; /* "reader:k1", "bus:keys" */
    const char *port, *cfg_id;
    struct hq_serial_link sl;
    int fd; /* registered with the loop, -1 while down */
    bool connecting, broken, up;
    uint64_t timer;        /* reopen while down */
    uint64_t drv_timer;    /* the driver's one timer */
    uint64_t up_at_ms;     /* when the link last came up */
    uint32_t prev_backoff; /* the reopen delay before the last successful open */
    uint8_t out[DEVS_OUT_CAP];
    size_t out_len;
    struct hq_health_rec st;
    struct hq_dev_counters count;
    uint64_t bad_since_ms, last_bad_ms;
    uint32_t bad_recent;
    /* a reader's card, held for the kiosk */
    bool card;
    uint64_t card_at_ms;
    struct devs_card cardid;
    uint64_t reads, read_errors;
};

struct devs_win {
    const struct hq_devwin_cfg *c;
    int wi;                 /* engine window index */
    struct devs_link *bus;  /* keypads and pads */
    struct devs_link *led;  /* its display */
    int bus_k, led_k;       /* its index in each line's dev.win */
    bool led_want;          /* its view changed in this result */
    uint64_t restore_at_ms; /* identify/test: show the view again from then, 0 = not */
    char idle[256];
    /* A temporary window's devices, given while hallqd runs (hqd_devices_attach): c points
     * here; kept after a detach (bus, led NULL) for the window's next opening. */
    struct hq_devwin_cfg *own;
    bool detach_want; /* the window closed: detach once the result is out (devs__detach_all) */
};

struct hqd_devs {
    struct hq_daemon *d;
    struct devs_link *links;
    size_t n_links;
    struct devs_win *win;
    size_t n_win;
    int16_t *win_of; /* engine window index → devs_win index, -1 */
    uint64_t house_timer;
    bool blanked;
    int32_t blank_day;
    uint64_t keys, ratings, refused, help_calls;
    /* `devices test`: the next window to walk, -1 = not running */
    int test_next;
    uint64_t test_timer;
    /* key frame lexed → its frames written, microseconds, the last DEVS_LAT samples */
    uint32_t lat[DEVS_LAT];
    uint64_t n_lat;
    size_t win_cap;        /* room in win[]: the file's windows and every window slot */
    uint64_t detach_timer; /* devs__detach_all, armed by a window's close */
};

static uint64_t devs__now(struct hqd_devs *s)
{
    return hq_loop_now_ms(s->d->loop);
}

static struct devs_link *devs__link_of(struct hq_dev *dev)
{
    return dev->host_arg;
}

/* ------------------------------------------------------------------ logging */

static void devs__vlog(struct devs_link *l, int level, const char *fmt, va_list ap)
{
    if (level > hq_log_level) return;
    uint32_t quiet = 0;
    /* One line per link per HQ_HEALTH_LOG_MS: a device that fails every second must not fill
     * the journal, but the first failure and the count of the hidden ones are always seen. */
    if (!hq_health_log_ok(&l->st, level, devs__now(l->s), &quiet)) return;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (quiet)
        hq_log_write(level, "DEVICES", "%s: %s (%u similar messages suppressed)", l->id, msg,
                     quiet);
    else
        hq_log_write(level, "DEVICES", "%s: %s", l->id, msg);
}

static void devs__log(struct devs_link *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void devs__log(struct devs_link *l, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    devs__vlog(l, level, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------- health */

static void devs__since(const struct hq_health_rec *h, const struct hq_config *c, cJSON *o)
{
    if (!h->since_wall) return;
    char ts[32];
    hq_time_rfc3339(h->since_wall, c->engine.utc_offset_s, ts);
    cJSON_AddStringToObject(o, "since", ts);
}

static cJSON *devs__card_json(const struct devs_link *l, bool present);

static cJSON *devs__link_json(const struct devs_link *l)
{
    const struct hq_config *c = &l->s->d->cfg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", l->id);
    cJSON_AddStringToObject(o, "type", l->drv->link_type);
    cJSON_AddStringToObject(o, "driver", l->drv->name);
    cJSON_AddStringToObject(o, "port", l->port);
    hq_health_json(&l->st, o);
    devs__since(&l->st, c, o);
    const struct hq_dev_counters *n = &l->count;
    cJSON_AddNumberToObject(o, "rx_bytes", (double)n->rx_bytes);
    cJSON_AddNumberToObject(o, "tx_bytes", (double)n->tx_bytes);
    cJSON_AddNumberToObject(o, "frames", (double)n->frames);
    cJSON_AddNumberToObject(o, "garbage_bytes", (double)n->garbage);
    cJSON_AddNumberToObject(o, "bad_frames", (double)n->bad_frames);
    cJSON_AddNumberToObject(o, "dropped_frames", (double)n->dropped);
    cJSON_AddNumberToObject(o, "opens", (double)n->opens);
    if (l->reader) {
        cJSON_AddStringToObject(o, "kiosk", c->readers[l->cfg_idx].kiosk);
        cJSON_AddBoolToObject(o, "card_present", l->card);
        cJSON_AddNumberToObject(o, "reads", (double)l->reads);
        cJSON_AddNumberToObject(o, "read_errors", (double)l->read_errors);
    }
    if (l->drv->status)
        l->drv->status((struct hq_dev *)&l->dev, HQ_UNIT_LINE, -1, o, devs__now(l->s));
    return o;
}

static const char *const devs_unit_type[] = {"line", "keypad", "rating_pad", "led_bar"};
static const char *const devs_unit_prefix[] = {"line", "keypad", "keypad", "bar"};

static uint8_t devs__unit_addr(const struct hq_dev_window *w, int unit)
{
    return unit == HQ_UNIT_KEYPAD ? w->keypad : unit == HQ_UNIT_PAD ? w->pad : w->bar;
}

static void devs__unit_id(const struct devs_link *l, int unit, int k, char *out, size_t cap)
{
    /* "keypad:keys:3", "rating_pad:keys:33", "bar:leds:3": the bus id without "bus:" */
    const char *prefix = unit == HQ_UNIT_PAD ? "rating_pad" : devs_unit_prefix[unit];
    snprintf(out, cap, "%s:%s:%u", prefix, l->id + 4, devs__unit_addr(&l->win[k], unit));
}

/* One window device (keypad, pad, display) of line l as status and SSE show it. */
static cJSON *devs__unit_json(const struct devs_link *l, int unit, int k)
{
    char id[64];
    devs__unit_id(l, unit, k, id, sizeof id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "type", devs_unit_type[unit]);
    cJSON_AddNumberToObject(o, "window", l->win[k].window);
    cJSON_AddNumberToObject(o, "address", devs__unit_addr(&l->win[k], unit));
    /* A device that does not report on its own is as healthy as the line it hangs on. */
    const struct devs_unit *u = &l->units[k * 4 + unit];
    const struct hq_health_rec *h = l->dev.units_report ? &u->h : &l->st;
    if (l->st.health != HQ_HEALTH_ONLINE) h = &l->st;
    if (unit == HQ_UNIT_BAR) {
        hq_health_json(h, o);
    } else {
        cJSON_AddStringToObject(o, "health", hq_health_name(h->health));
        cJSON_AddStringToObject(o, "text", hq_health_zh(h->health));
    }
    if (l->drv->status) l->drv->status((struct hq_dev *)&l->dev, unit, k, o, devs__now(l->s));
    return o;
}

/* The record the central server hears of (kind "device"), in its own transaction. */
static void devs__record(struct hqd_devs *s, const char *id, const char *type, int health,
                         const char *reason)
{
    struct hq_daemon *d = s->d;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "device");
    cJSON_AddStringToObject(o, "device", id);
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddStringToObject(o, "health", hq_health_name(health));
    cJSON_AddStringToObject(o, "reason", reason);
    int rc = hq_store_begin(d->store);
    if (rc) {
        cJSON_Delete(o);
        LOG_WARN("DEVICES", "%s: health change not recorded: %s", id, hq_strerror(rc));
        return;
    }
    rc = hq_store_outbox_add(d->store, "event", hq_loop_wall_s(), o);
    rc = hq_store_end(d->store, rc);
    if (rc) LOG_WARN("DEVICES", "%s: health change not recorded: %s", id, hq_strerror(rc));
}

static void devs__set_health(struct devs_link *l, int health, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void devs__set_health(struct devs_link *l, int health, int err, const char *fmt, ...)
{
    char why[sizeof l->st.reason];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (!hq_health_set(&l->st, health, err, why, devs__now(l->s), hq_loop_wall_s())) return;
    devs__log(l, health == HQ_HEALTH_ONLINE ? HQ_LOG_NOTICE : HQ_LOG_WARN, "%s%s%s",
              hq_health_name(health), why[0] ? ": " : "", why);
    if (l->s->d->api) hq_api_publish(l->s->d->api, "device", devs__link_json(l));
    devs__record(l->s, l->id, l->drv->link_type, health, why);
}

static void devs__unit_health(struct devs_link *l, int unit, int k, int health, int err,
                              const char *reason)
{
    struct devs_unit *u = &l->units[k * 4 + unit];
    u->reported = true;
    if (!hq_health_set(&u->h, health, err, reason, devs__now(l->s), hq_loop_wall_s())) return;
    char id[64];
    devs__unit_id(l, unit, k, id, sizeof id);
    devs__log(l, health == HQ_HEALTH_ONLINE ? HQ_LOG_NOTICE : HQ_LOG_WARN, "%s %u: %s%s%s",
              unit == HQ_UNIT_BAR ? "bar" : devs_unit_type[unit], devs__unit_addr(&l->win[k], unit),
              hq_health_name(health), reason[0] ? ": " : "", reason);
    if (l->s->d->api) hq_api_publish(l->s->d->api, "device", devs__unit_json(l, unit, k));
    devs__record(l->s, id, devs_unit_type[unit], health, reason);
}

/* Bad frames and garbage: a line that keeps producing them is faulty (a wrong baud rate, a
 * broken transceiver, two devices on one address) until it has been clean for a while. */
static void devs__bad(struct devs_link *l, uint64_t bad_frames, uint64_t garbage_bytes)
{
    if (!bad_frames && !garbage_bytes) return;
    uint64_t now = devs__now(l->s);
    l->count.bad_frames += bad_frames;
    l->count.garbage += garbage_bytes;
    l->last_bad_ms = now;
    if (now - l->bad_since_ms > DEVS_BAD_WINDOW_MS) {
        l->bad_since_ms = now;
        l->bad_recent = 0;
    }
    l->bad_recent += (uint32_t)bad_frames + (garbage_bytes ? 1 : 0);
    devs__log(l, HQ_LOG_WARN, "%llu bad frames, %llu garbage bytes so far",
              (unsigned long long)l->count.bad_frames, (unsigned long long)l->count.garbage);
    if (l->bad_recent >= DEVS_BAD_FAULTY && l->st.health == HQ_HEALTH_ONLINE)
        devs__set_health(l, HQ_HEALTH_FAULTY, HQ_ERR_PROTO,
                         "%u bad frames or bursts of garbage within %d s", l->bad_recent,
                         DEVS_BAD_WINDOW_MS / 1000);
}

/* -------------------------------------------------------------- writing */

static void devs__want_out(struct devs_link *l)
{
    uint32_t ev = EPOLLIN | (l->out_len || l->connecting ? EPOLLOUT : 0);
    hq_loop_mod_fd(l->s->d->loop, l->fd, ev);
}

/* Queue bytes for the line. Never blocks: what the line cannot take now waits in a bounded
 * buffer, and a frame that does not fit is dropped and counted (a stuck line must not hold
 * the hall up). A write error marks the link broken; the fd callback then reopens it. */
static void devs__send(struct devs_link *l, const uint8_t *b, size_t n)
{
    if (!n) return;
    if (l->fd < 0 || l->connecting || l->broken) {
        l->count.dropped++;
        return;
    }
    if (!l->drv->private_bytes) LOG_HEX("DEVICES", l->id, b, n);
    if (l->out_len == 0) {
        ssize_t k = write(l->fd, b, n);
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            l->broken = true;
            l->count.dropped++;
            return;
        }
        if (k > 0) {
            l->count.tx_bytes += (uint64_t)k;
            b += k;
            n -= (size_t)k;
        }
        if (!n) return;
    }
    if (l->out_len + n > sizeof l->out) {
        l->count.dropped++;
        devs__log(l, HQ_LOG_WARN, "the line does not drain: %llu frames dropped",
                  (unsigned long long)l->count.dropped);
        return;
    }
    bool was_empty = l->out_len == 0;
    memcpy(l->out + l->out_len, b, n);
    l->out_len += n;
    if (was_empty) devs__want_out(l);
}

static void devs__flush(struct devs_link *l)
{
    if (!l->out_len) return;
    ssize_t k = write(l->fd, l->out, l->out_len);
    if (k < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) l->broken = true;
        return;
    }
    l->count.tx_bytes += (uint64_t)k;
    memmove(l->out, l->out + k, l->out_len - (size_t)k);
    l->out_len -= (size_t)k;
    if (!l->out_len) devs__want_out(l);
}

/* ------------------------------------------------------------- ID cards */

/* What the kiosk page may know of the card on its reader: never the number or the name. */
static cJSON *devs__card_json(const struct devs_link *l, bool present)
{
    const struct hq_config *c = &l->s->d->cfg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "present", present);
    cJSON_AddStringToObject(o, "kiosk", c->readers[l->cfg_idx].kiosk);
    if (present) {
        cJSON_AddStringToObject(o, "name_masked", l->cardid.name);
        cJSON_AddStringToObject(o, "card_type", l->cardid.type_en ? l->cardid.type_en : "");
        cJSON_AddStringToObject(o, "card_type_zh", l->cardid.type_zh ? l->cardid.type_zh : "");
        /* Full years on the hall's date, as the engine counts them for priority. */
        int32_t day = hq_engine_day_of(&c->engine, hq_loop_wall_s());
        int y, m, dd, b = l->cardid.birth_ymd;
        hq_ymd_from_days(day, &y, &m, &dd);
        int age = y - b / 10000 - ((m * 100 + dd) < b % 10000 ? 1 : 0);
        cJSON_AddBoolToObject(o, "elderly",
                              c->engine.elderly_age > 0 && b > 0 && age >= c->engine.elderly_age);
    }
    return o;
}

/* ev is the read error to tell the kiosk about (it asks for the card again), or NULL. */
static void devs__card_publish(struct devs_link *l, bool present, const struct hq_dev_event *ev)
{
    struct hqd_devs *s = l->s;
    if (!s->d->api) return;
    cJSON *o = devs__card_json(l, present);
    if (ev) {
        cJSON_AddStringToObject(o, "error", hq_strerror(ev->err));
        if (ev->text_zh) cJSON_AddStringToObject(o, "reason", ev->text_zh);
        if (ev->text && ev->text[0]) cJSON_AddStringToObject(o, "reason_en", ev->text);
        if (ev->tries) cJSON_AddNumberToObject(o, "tries", ev->tries);
        cJSON_AddStringToObject(o, "message", "读卡失败，请取下身份证后重新放置");
        cJSON_AddStringToObject(o, "message_en",
                                "The card could not be read: take it off the reader and place it "
                                "again");
    }
    hq_api_publish(s->d->api, "card", o);
}

static void devs__card_clear(struct devs_link *l, bool publish)
{
    bool had = l->card;
    l->card = false;
    explicit_bzero(&l->cardid, sizeof l->cardid);
    if (had && publish) devs__card_publish(l, false, NULL);
}

/* The reader with a card for kiosk (NULL: the one card present on any reader). Two cards and
 * no kiosk named: refused (*two set) rather than guessed between. */
static struct devs_link *devs__card_for(struct hqd_devs *s, const char *kiosk, bool *two)
{
    const struct hq_config *c = &s->d->cfg;
    uint64_t now = devs__now(s);
    struct devs_link *found = NULL;
    *two = false;
    for (size_t i = 0; i < s->n_links; i++) {
        struct devs_link *l = &s->links[i];
        if (!l->reader || !l->card) continue;
        if (kiosk && *kiosk && strcmp(c->readers[l->cfg_idx].kiosk, kiosk) != 0) continue;
        if (now - l->card_at_ms >= (uint64_t)c->card_hold_s * 1000) {
            devs__card_clear(l, true);
            continue;
        }
        if (found) {
            *two = true;
            return found;
        }
        found = l;
    }
    return found;
}

/* d->fill_card: the identity of the card on the kiosk's reader. */
static int devs__fill_card(struct hq_daemon *d, struct hq_cmd *cmd, const char *kiosk, void *arg)
{
    struct hqd_devs *s = arg;
    bool two;
    struct devs_link *found = devs__card_for(s, kiosk, &two);
    if (two) {
        LOG_NOTICE("DEVICES", "card ticket refused: cards on two readers and no kiosk named");
        return HQ_ERR_STATE;
    }
    if (!found) return HQ_ERR_ID_REQUIRED;
    (void)d;
    cmd->u.issue.has_id = true;
    memcpy(cmd->u.issue.id_hash, found->cardid.hash, sizeof cmd->u.issue.id_hash);
    cmd->u.issue.birth_ymd = found->cardid.birth_ymd;
    memcpy(cmd->u.issue.name_masked, found->cardid.name, sizeof cmd->u.issue.name_masked);
    memcpy(cmd->u.issue.id_sealed, found->cardid.id_sealed, sizeof cmd->u.issue.id_sealed);
    cmd->u.issue.id_sealed_len = found->cardid.id_sealed_len;
    if (cmd->u.issue.channel == HQ_CHAN_API) cmd->u.issue.channel = HQ_CHAN_KIOSK;
    return HQ_OK;
}

/* d->card_hash_of: the full keyed hash of the card on the kiosk's reader (appointments). */
static bool devs__card_hash_of(struct hq_daemon *d, const char *kiosk, uint8_t hash[32], void *arg)
{
    bool two;
    struct devs_link *found = devs__card_for(arg, kiosk, &two);
    (void)d;
    if (!found || two) return false;
    memcpy(hash, found->cardid.hash, 32);
    return true;
}

/* ------------------------------------------------------------ the windows */

/* What window w's display must show now, sent to its line's driver. */
static void devs__show(struct hqd_devs *s, struct devs_win *w)
{
    struct devs_link *l = w->led;
    if (!l || !l->up || !l->drv->effect) return;
    struct hq_devices_texts t;
    hq_devices_texts_of(&s->d->cfg, &t);
    struct hq_view v;
    char text[256];
    if (hq_devices_view(&s->d->eng, w->wi, &t, s->blanked, &v, text, sizeof text)) return;
    struct hq_drv_effect ef = {.type = HQ_DRV_FX_SHOW, .wi = w->led_k, .view = &v};
    l->drv->effect(&l->dev, &ef, devs__now(s));
}

/* Send one host effect (identify, test, blank) to a line that is up. */
static void devs__fx(struct devs_link *l, int type, int k)
{
    if (!l || !l->up || !l->drv->effect) return;
    struct hq_drv_effect ef = {.type = (uint8_t)type, .wi = k};
    l->drv->effect(&l->dev, &ef, devs__now(l->s));
}

static void devs__close_want(struct hqd_devs *s, uint16_t window);

static void devs__on_result(struct hq_daemon *d, const struct hq_cmd *cmd,
                            const struct hq_result *res, void *arg)
{
    struct hqd_devs *s = arg;
    (void)cmd;
    (void)d;
    uint64_t now = devs__now(s);
    for (size_t i = 0; i < s->n_links; i++) {
        struct devs_link *l = &s->links[i];
        if (!l->up || !l->drv->effect) continue;
        for (size_t k = 0; k < res->n_fx; k++) {
            struct hq_drv_effect ef = {.type = HQ_DRV_FX_ENGINE, .wi = -1, .fx = &res->fx[k]};
            l->drv->effect(&l->dev, &ef, now);
        }
        struct hq_drv_effect end = {.type = HQ_DRV_FX_END, .wi = -1};
        l->drv->effect(&l->dev, &end, now);
    }
    for (size_t k = 0; k < res->n_fx; k++) {
        const struct hq_effect *fx = &res->fx[k];
        if (fx->type != HQ_FX_CALL && fx->type != HQ_FX_WINDOW) continue;
        int wi = hq_engine_window_index(&s->d->eng, fx->window);
        if (wi >= 0 && s->win_of[wi] >= 0) s->win[s->win_of[wi]].led_want = true;
    }
    for (size_t k = 0; k < s->n_win; k++)
        if (s->win[k].led_want) {
            s->win[k].led_want = false;
            devs__show(s, &s->win[k]);
        }
    if (cmd->type == HQ_CMD_WINDOW_CLOSE) devs__close_want(s, cmd->window);
}

/* ------------------------------------------------------- the host for drivers */

static void devs__host_write(struct hq_dev *dev, const uint8_t *b, size_t n)
{
    devs__send(devs__link_of(dev), b, n);
}

static int devs__host_apply(struct hq_dev *dev, struct hq_cmd *cmd)
{
    struct devs_link *l = devs__link_of(dev);
    struct hqd_devs *s = l->s;
    bool rating = cmd->type == HQ_CMD_RATE;
    /* Who gave it, for the event log: the window's own pad or keypad (a keypad login has no
     * PIN: docs/DESIGN.md "Staff sessions"), unless the driver named itself. */
    if (!cmd->actor[0])
        snprintf(cmd->actor, sizeof cmd->actor, "%s:%u", rating ? "pad" : "keypad",
                 (unsigned)cmd->window);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = hqd_apply(s->d, cmd);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rating) {
        s->ratings++;
        return rc;
    }
    /* What hallqd itself spends on a key (engine, commit, frames out), apart from the wire. */
    s->keys++;
    if (rc)
        s->refused++;
    else
        s->lat[s->n_lat++ % DEVS_LAT] =
            (uint32_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
    return rc;
}

static void devs__host_health(struct hq_dev *dev, int unit, int k, int health, int err,
                              const char *reason)
{
    struct devs_link *l = devs__link_of(dev);
    if (unit == HQ_UNIT_LINE || k < 0 || (size_t)k >= l->dev.n_win || unit < 0 || unit > 3)
        devs__set_health(l, health, err, "%s", reason ? reason : "");
    else if (l->win[k].window) /* not a place a closed temporary window left */
        devs__unit_health(l, unit, k, health, err, reason ? reason : "");
}

static void devs__host_bad(struct hq_dev *dev, uint32_t bad_frames, uint32_t garbage)
{
    devs__bad(devs__link_of(dev), bad_frames, garbage);
}

static void devs__drv_timer(struct hq_loop *loop, void *arg)
{
    struct devs_link *l = arg;
    (void)loop;
    l->drv_timer = 0;
    if (l->up && l->drv->timer) l->drv->timer(&l->dev, devs__now(l->s));
    if (l->broken && l->fd >= 0) hq_loop_mod_fd(l->s->d->loop, l->fd, EPOLLIN | EPOLLOUT);
}

static void devs__host_arm(struct hq_dev *dev, uint64_t delay_ms)
{
    struct devs_link *l = devs__link_of(dev);
    if (l->drv_timer) hq_loop_timer_cancel(l->s->d->loop, l->drv_timer);
    l->drv_timer = 0;
    if (delay_ms != HQ_DRV_TIMER_OFF && l->up)
        l->drv_timer = hq_loop_timer(l->s->d->loop, delay_ms, devs__drv_timer, l);
}

/* The help key: a command through the engine like any other (its event record reaches the
 * outbox, the window keeps the call open until the manager acknowledges it on the dashboard),
 * and the SSE `help` for whoever listens. */
static void devs__help(struct hqd_devs *s, struct devs_win *w)
{
    s->help_calls++;
    LOG_NOTICE("DEVICES", "window %u asks the hall manager for help", w->c->window);
    struct hq_cmd cmd = {.type = HQ_CMD_HELP, .window = w->c->window};
    snprintf(cmd.actor, sizeof cmd.actor, "keypad:%u", (unsigned)w->c->window);
    if (hqd_apply(s->d, &cmd) == HQ_OK) hq_api_publish_help(s->d, (size_t)w->wi);
}

static void devs__host_event(struct hq_dev *dev, const struct hq_dev_event *ev)
{
    struct devs_link *l = devs__link_of(dev);
    struct hqd_devs *s = l->s;
    switch (ev->type) {
    case HQ_DEV_EV_CARD:
        if (!l->reader || !ev->card) return;
        l->reads++;
        l->card = true;
        l->card_at_ms = devs__now(s);
        l->cardid.type = ev->card->type;
        l->cardid.type_en = ev->card->type_en;
        l->cardid.type_zh = ev->card->type_zh;
        memcpy(l->cardid.hash, ev->card->hash, sizeof l->cardid.hash);
        l->cardid.birth_ymd = ev->card->birth_ymd;
        memcpy(l->cardid.name, ev->card->name_masked, sizeof l->cardid.name);
        l->cardid.name[sizeof l->cardid.name - 1] = '\0';
        memcpy(l->cardid.id_sealed, ev->card->id_sealed, sizeof l->cardid.id_sealed);
        l->cardid.id_sealed_len = ev->card->id_sealed_len;
        LOG_INFO("DEVICES", "%s: %s card read", l->id, ev->card->type_en ? ev->card->type_en : "");
        devs__card_publish(l, true, NULL);
        return;
    case HQ_DEV_EV_CARD_REMOVED:
        if (l->card) LOG_INFO("DEVICES", "%s: card removed", l->id);
        devs__card_clear(l, true);
        return;
    case HQ_DEV_EV_CARD_ERROR:
        l->read_errors++;
        devs__card_clear(l, true);
        /* Say what was wrong (never the card's data). Not through the per-line rate limit: it
         * is one line per placement, and the line's own online/offline lines must not hide it. */
        char tries[32] = "";
        if (ev->tries) snprintf(tries, sizeof tries, " (%u tries)", ev->tries);
        LOG_WARN("DEVICES", "%s: card could not be read%s: %s", l->id, tries,
                 ev->text && ev->text[0] ? ev->text : hq_strerror(ev->err));
        devs__card_publish(l, false, ev);
        return;
    case HQ_DEV_EV_HELP:
        if (ev->wi >= 0 && (size_t)ev->wi < l->dev.n_win) {
            s->keys++;
            devs__help(s, &s->win[l->win_devs[ev->wi]]);
        }
        return;
    case HQ_DEV_EV_KEY_IGNORED:
        s->keys++;
        s->refused++;
        return;
    default:
        return;
    }
}

static void devs__host_log(struct hq_dev *dev, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void devs__host_log(struct hq_dev *dev, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    devs__vlog(devs__link_of(dev), level, fmt, ap);
    va_end(ap);
}

static const struct hq_host devs_host = {
    .write = devs__host_write,
    .apply = devs__host_apply,
    .health = devs__host_health,
    .bad = devs__host_bad,
    .arm = devs__host_arm,
    .event = devs__host_event,
    .log = devs__host_log,
};

/* --------------------------------------------------------------- the links */

static void devs__reopen_timer(struct hq_loop *loop, void *arg);
static void devs__on_fd(struct hq_loop *loop, int fd, uint32_t events, void *arg);

static void devs__schedule_reopen(struct devs_link *l)
{
    uint64_t now = devs__now(l->s);
    if (l->timer) hq_loop_timer_cancel(l->s->d->loop, l->timer);
    uint64_t at = l->sl.retry_at_ms;
    l->timer = hq_loop_timer(l->s->d->loop, at > now ? at - now : 0, devs__reopen_timer, l);
}

static void devs__lost(struct devs_link *l, const char *why);

/* The driver of an open line starts talking; a bar line then shows every bar's view (an
 * acknowledging bar line that restarts has dropped what it had queued). */
static void devs__driver_start(struct devs_link *l)
{
    struct hqd_devs *s = l->s;
    l->up = true;
    int rc = l->drv->open(&l->dev, devs__now(s));
    if (rc) {
        /* The driver could not start (no memory, a window it cannot serve): the line stays
         * open but silent — no input, no effects — and faulty, until it is next reopened. */
        if (l->drv->close) l->drv->close(&l->dev);
        l->up = false;
        devs__host_arm(&l->dev, HQ_DRV_TIMER_OFF);
        devs__set_health(l, HQ_HEALTH_FAULTY, rc, "driver %s cannot start: %s", l->drv->name,
                         hq_strerror(rc));
        return;
    }
    if (l->drv->role != HQ_DRV_ROLE_BAR) return;
    if (s->blanked) devs__fx(l, HQ_DRV_FX_BLANK, -1);
    for (size_t i = 0; i < s->n_win; i++)
        if (s->win[i].led == l) devs__show(s, &s->win[i]);
}

/* The line is open (and connected): its driver starts talking. */
static void devs__up(struct devs_link *l)
{
    l->count.opens++;
    l->bad_recent = 0;
    l->dev.port = hq_serial_name(l->sl.s);
    devs__driver_start(l);
}

static void devs__lost(struct devs_link *l, const char *why)
{
    struct hqd_devs *s = l->s;
    if (l->up && l->drv->close) l->drv->close(&l->dev);
    l->up = false;
    if (l->fd >= 0) hq_loop_del_fd(s->d->loop, l->fd);
    l->fd = -1;
    l->connecting = l->broken = false;
    l->out_len = 0;
    if (l->timer) hq_loop_timer_cancel(s->d->loop, l->timer);
    if (l->drv_timer) hq_loop_timer_cancel(s->d->loop, l->drv_timer);
    l->timer = l->drv_timer = 0;
    devs__card_clear(l, true);
    /* A serial server that accepts and hangs up at once would otherwise be retried (and its
     * health recorded) twice a second for ever: a link that did not stay up keeps backing
     * off as if the open had failed. */
    if (devs__now(s) - l->up_at_ms < 5000 && l->prev_backoff > l->sl.backoff_ms)
        l->sl.backoff_ms = l->prev_backoff;
    hq_serial_link_lost(&l->sl, devs__now(s));
    devs__set_health(l, HQ_HEALTH_OFFLINE, HQ_ERR_IO, "%s", why);
    devs__schedule_reopen(l);
}

static void devs__try_open(struct devs_link *l)
{
    struct hqd_devs *s = l->s;
    l->timer = 0;
    uint32_t backoff = l->sl.backoff_ms;
    int rc = hq_serial_link_service(&l->sl, devs__now(s));
    if (!rc) {
        l->prev_backoff = backoff;
        l->up_at_ms = devs__now(s);
    }
    if (rc) {
        devs__set_health(l, rc == HQ_ERR_CONFIG ? HQ_HEALTH_FAULTY : HQ_HEALTH_OFFLINE, rc,
                         "cannot open %s (%s); next try in %u ms", l->port, hq_strerror(rc),
                         (unsigned)(l->sl.retry_at_ms - devs__now(s)));
        devs__schedule_reopen(l);
        return;
    }
    l->fd = hq_serial_link_fd(&l->sl);
    l->connecting = hq_serial_connecting(l->sl.s);
    l->broken = false;
    if (hq_loop_add_fd(s->d->loop, l->fd, EPOLLIN | (l->connecting ? EPOLLOUT : 0), devs__on_fd,
                       l)) {
        l->fd = -1;
        devs__lost(l, "cannot watch the port");
        return;
    }
    if (!l->connecting) devs__up(l);
}

static void devs__reopen_timer(struct hq_loop *loop, void *arg)
{
    (void)loop;
    devs__try_open(arg);
}

static void devs__on_fd(struct hq_loop *loop, int fd, uint32_t events, void *arg)
{
    struct devs_link *l = arg;
    (void)loop;
    (void)fd;
    if (l->connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int rc = hq_serial_finish_connect(l->sl.s);
        if (rc == HQ_ERR_TIMEOUT) return;
        if (rc) {
            devs__lost(l, "connection refused");
            return;
        }
        l->connecting = false;
        devs__want_out(l);
        devs__up(l);
        return;
    }
    if (events & EPOLLOUT) devs__flush(l);
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        uint8_t buf[DEVS_RX_CHUNK];
        size_t total = 0;
        while (total < DEVS_RX_PER_WAKE && !l->broken) {
            size_t got = 0;
            int rc = hq_serial_read(l->sl.s, buf, sizeof buf, &got);
            if (rc == HQ_ERR_TIMEOUT) {
                devs__lost(l, "the serial server stopped answering (connection timed out)");
                return;
            }
            if (rc) {
                devs__lost(l, l->reader || hq_serial_kind(l->sl.s) != HQ_SERIAL_TCP
                                  ? "link lost (unplugged?)"
                                  : "the serial server closed the connection");
                return;
            }
            if (!got) break;
            total += got;
            l->count.rx_bytes += got;
            /* A reader's answer holds the whole card: never dumped, not even at level hex. */
            if (!l->drv->private_bytes) LOG_HEX("DEVICES", l->id, buf, got);
            if (l->up) l->drv->input(&l->dev, buf, got, devs__now(l->s));
            if (l->drv->private_bytes) explicit_bzero(buf, got);
            if (l->fd < 0) return; /* lost while handling (a write failed hard) */
        }
    }
    if (l->broken) devs__lost(l, "write failed: link lost");
}

/* ------------------------------------------------------------ housekeeping */

static void devs__blank_check(struct hqd_devs *s)
{
    const struct hq_engine *e = &s->d->eng;
    int64_t now = hq_loop_wall_s();
    int32_t day = hq_engine_day_of(e->cfg, now);
    int minute = (int)((now + e->cfg->utc_offset_s - (int64_t)day * 86400) / 60);
    int blank_min = hq_devices_blank_minute(&s->d->cfg, day);
    bool any_open = false;
    for (size_t i = 0; i < e->cfg->n_services && !any_open; i++)
        any_open = hq_engine_service_open(e, i, now);
    bool fixed = strcmp(s->d->cfg.led_blank_at, "auto") != 0;
    bool should = blank_min >= 0 && minute >= blank_min && (fixed || !any_open);
    if (!s->blanked && should && s->blank_day != day) {
        s->blanked = true;
        s->blank_day = day;
        LOG_NOTICE("DEVICES", "closing time: LED bars blanked");
        for (size_t i = 0; i < s->n_links; i++)
            if (s->links[i].drv->role == HQ_DRV_ROLE_BAR)
                devs__fx(&s->links[i], HQ_DRV_FX_BLANK, -1);
        for (size_t i = 0; i < s->n_win; i++)
            if (s->win[i].led && e->win[s->win[i].wi].current >= 0) devs__show(s, &s->win[i]);
    } else if (s->blanked && any_open && (blank_min < 0 || minute < blank_min)) {
        s->blanked = false;
        LOG_NOTICE("DEVICES", "the hall opens: LED bars show their texts again");
        for (size_t i = 0; i < s->n_win; i++)
            if (s->win[i].led) devs__show(s, &s->win[i]);
    }
}

static void devs__house(struct hq_loop *loop, void *arg)
{
    struct hqd_devs *s = arg;
    uint64_t now = devs__now(s);
    for (size_t i = 0; i < s->n_links; i++) {
        struct devs_link *l = &s->links[i];
        if (l->card && now - l->card_at_ms >= (uint64_t)s->d->cfg.card_hold_s * 1000) {
            LOG_INFO("DEVICES", "%s: card identity forgotten after %u s", l->id,
                     s->d->cfg.card_hold_s);
            devs__card_clear(l, true);
        }
        if (l->st.health == HQ_HEALTH_FAULTY && l->st.err == HQ_ERR_PROTO &&
            now - l->last_bad_ms >= DEVS_BAD_WINDOW_MS) {
            l->bad_recent = 0;
            devs__set_health(l, HQ_HEALTH_ONLINE, HQ_OK, "clean again for %d s",
                             DEVS_BAD_WINDOW_MS / 1000);
        }
    }
    /* Displays that identified themselves or were tested go back to what they must show. */
    for (size_t i = 0; i < s->n_win; i++)
        if (s->win[i].restore_at_ms && now >= s->win[i].restore_at_ms) {
            s->win[i].restore_at_ms = 0;
            devs__show(s, &s->win[i]);
        }
    devs__blank_check(s);
    s->house_timer = hq_loop_timer(loop, DEVS_HOUSE_MS, devs__house, s);
}

/* ------------------------------------------------------------------ status */

static int devs__cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Every device: the lines, then each window's keypad, pad and display. */
static void devs__devices_json(struct hqd_devs *s, cJSON *arr)
{
    for (size_t i = 0; i < s->n_links; i++)
        cJSON_AddItemToArray(arr, devs__link_json(&s->links[i]));
    for (size_t i = 0; i < s->n_win; i++) {
        const struct devs_win *w = &s->win[i];
        if (w->bus && w->c->keypad)
            cJSON_AddItemToArray(arr, devs__unit_json(w->bus, HQ_UNIT_KEYPAD, w->bus_k));
        if (w->bus && w->c->pad)
            cJSON_AddItemToArray(arr, devs__unit_json(w->bus, HQ_UNIT_PAD, w->bus_k));
        if (w->led) cJSON_AddItemToArray(arr, devs__unit_json(w->led, HQ_UNIT_BAR, w->led_k));
    }
}

static void devs__status_part(struct hq_daemon *d, cJSON *status, void *arg)
{
    struct hqd_devs *s = arg;
    (void)d;
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(status, "devices");
    if (!arr) arr = cJSON_AddArrayToObject(status, "devices");
    devs__devices_json(s, arr);
    /* The card on a reader, for a kiosk page that (re)loads while a card lies there. */
    const struct devs_link *newest = NULL, *reader = NULL;
    for (size_t i = 0; i < s->n_links; i++) {
        const struct devs_link *l = &s->links[i];
        if (!l->reader) continue;
        if (!reader) reader = l;
        if (l->card && (!newest || l->card_at_ms > newest->card_at_ms)) newest = l;
    }
    if (reader) {
        cJSON_AddItemToObject(status, "card",
                              devs__card_json(newest ? newest : reader, newest != NULL));
        /* every kiosk's reader, for a page that knows its kiosk */
        cJSON *cards = cJSON_AddArrayToObject(status, "cards");
        for (size_t i = 0; i < s->n_links; i++)
            if (s->links[i].reader)
                cJSON_AddItemToArray(cards, devs__card_json(&s->links[i], s->links[i].card));
    }
    cJSON *sum = cJSON_AddObjectToObject(status, "device_keys");
    cJSON_AddNumberToObject(sum, "keys", (double)s->keys);
    cJSON_AddNumberToObject(sum, "ratings", (double)s->ratings);
    cJSON_AddNumberToObject(sum, "refused", (double)s->refused);
    cJSON_AddNumberToObject(sum, "help_calls", (double)s->help_calls);
    cJSON_AddBoolToObject(sum, "bars_blanked", s->blanked);
    size_t n = s->n_lat < DEVS_LAT ? (size_t)s->n_lat : DEVS_LAT;
    if (n) {
        uint32_t v[DEVS_LAT];
        memcpy(v, s->lat, n * sizeof *v);
        qsort(v, n, sizeof *v, devs__cmp_u32);
        cJSON_AddNumberToObject(sum, "apply_us_p50", v[n / 2]);
        cJSON_AddNumberToObject(sum, "apply_us_p99", v[n * 99 / 100]);
        cJSON_AddNumberToObject(sum, "apply_us_max", v[n - 1]);
    }
}

/* /metrics: health and counters per link, for the hall's monitoring. */
static char *devs__metrics(struct hq_daemon *d, void *arg)
{
    struct hqd_devs *s = arg;
    (void)d;
    size_t cap = 1024 + s->n_links * 1024, len = 0;
    char *b = malloc(cap);
    if (!b) return NULL;
#define DEVS_M(...)                                                                                \
    do {                                                                                           \
        int n_ = snprintf(b + len, cap - len, __VA_ARGS__);                                        \
        if (n_ > 0 && (size_t)n_ < cap - len) len += (size_t)n_;                                   \
    } while (0)
    DEVS_M("# TYPE hallq_device_up gauge\n");
    for (size_t i = 0; i < s->n_links; i++)
        DEVS_M("hallq_device_up{device=\"%s\"} %d\n", s->links[i].id,
               s->links[i].st.health == HQ_HEALTH_ONLINE);
    static const char *const names[] = {"rx_bytes", "garbage_bytes", "bad_frames", "dropped_frames",
                                        "opens"};
    for (size_t m = 0; m < HQ_ARRAY_LEN(names); m++) {
        DEVS_M("# TYPE hallq_device_%s_total counter\n", names[m]);
        for (size_t i = 0; i < s->n_links; i++) {
            const struct hq_dev_counters *c = &s->links[i].count;
            uint64_t v[] = {c->rx_bytes, c->garbage, c->bad_frames, c->dropped, c->opens};
            DEVS_M("hallq_device_%s_total{device=\"%s\"} %llu\n", names[m], s->links[i].id,
                   (unsigned long long)v[m]);
        }
    }
    DEVS_M("# TYPE hallq_device_keys_total counter\nhallq_device_keys_total %llu\n"
           "# TYPE hallq_device_help_calls_total counter\nhallq_device_help_calls_total %llu\n",
           (unsigned long long)s->keys, (unsigned long long)s->help_calls);
#undef DEVS_M
    return b;
}

int hqd_devices_faults(const struct hq_daemon *d)
{
    struct hqd_devs *s = d->mod.devices;
    if (!s) return 0;
    int n = 0;
    for (size_t i = 0; i < s->n_links; i++) {
        const struct devs_link *l = &s->links[i];
        if (hq_health_is_fault(l->st.health)) {
            n++;
            continue;
        }
        for (size_t k = 0; l->dev.units_report && k < l->dev.n_win * 4; k++)
            n += hq_health_is_fault(l->units[k].h.health);
    }
    return n;
}

/* ------------------------------------------------------------ commissioning */

static struct devs_win *devs__win_by_number(struct hqd_devs *s, long number)
{
    if (number < 1 || number > 65535) return NULL;
    int wi = hq_engine_window_index(&s->d->eng, (uint16_t)number);
    if (wi < 0 || s->win_of[wi] < 0) return NULL;
    return &s->win[s->win_of[wi]];
}

/* One window's devices identify (or test) themselves; its display shows its view again after
 * DEVS_IDENTIFY_MS (the house timer). */
static void devs__commission(struct hqd_devs *s, struct devs_win *w, int type, uint64_t hold_ms)
{
    if (w->bus) devs__fx(w->bus, type, w->bus_k);
    if (w->led) {
        devs__fx(w->led, type, w->led_k);
        w->restore_at_ms = devs__now(s) + hold_ms;
    }
}

static cJSON *devs__win_json(const struct devs_win *w)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "window", w->c->window);
    if (w->bus) {
        cJSON_AddStringToObject(o, "bus", w->bus->id);
        cJSON_AddBoolToObject(o, "bus_up", w->bus->up);
    }
    if (w->led) {
        cJSON_AddStringToObject(o, "led_bus", w->led->id);
        cJSON_AddBoolToObject(o, "led_bus_up", w->led->up);
    }
    if (w->c->keypad) cJSON_AddNumberToObject(o, "keypad", w->c->keypad);
    if (w->c->pad) cJSON_AddNumberToObject(o, "pad", w->c->pad);
    if (w->c->bar) cJSON_AddNumberToObject(o, "bar", w->c->bar);
    return o;
}

static void devs__test_step(struct hq_loop *loop, void *arg)
{
    struct hqd_devs *s = arg;
    (void)loop;
    s->test_timer = 0;
    if (s->test_next < 0 || (size_t)s->test_next >= s->n_win) {
        s->test_next = -1;
        LOG_NOTICE("DEVICES", "device test: every window walked");
        return;
    }
    struct devs_win *w = &s->win[s->test_next++];
    LOG_NOTICE("DEVICES", "device test: window %u", w->c->window);
    devs__commission(s, w, HQ_DRV_FX_TEST, DEVS_TEST_STEP_MS);
    s->test_timer = hq_loop_timer(s->d->loop, DEVS_TEST_STEP_MS, devs__test_step, s);
}

/* GET /api/v1/devices: every device with its health, and the drivers hallqd knows. */
static int devs__api_list(struct hq_api_req *req, void *arg)
{
    struct hqd_devs *s = arg;
    if (req->tail[0] && strcmp(req->tail, "/") != 0) return HQ_ERR_NOT_FOUND;
    cJSON *o = cJSON_CreateObject();
    devs__devices_json(s, cJSON_AddArrayToObject(o, "devices"));
    cJSON *drv = cJSON_AddArrayToObject(o, "drivers");
    for (size_t i = 0; hq_drivers[i]; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", hq_drivers[i]->name);
        cJSON_AddStringToObject(x, "description", hq_drivers[i]->desc);
        cJSON_AddItemToArray(drv, x);
    }
    cJSON_AddNumberToObject(o, "faults", hqd_devices_faults(s->d));
    cJSON_AddBoolToObject(o, "test_running", s->test_next >= 0);
    return hq_api_reply_json(req, 200, o);
}

/* POST /api/v1/devices/identify/WINDOW: the window's display shows its own address and its
 * keypad beeps, so an installer sees which box answers to which window. */
static int devs__api_identify(struct hq_api_req *req, void *arg)
{
    struct hqd_devs *s = arg;
    const char *t = req->tail[0] == '/' ? req->tail + 1 : req->tail;
    char *end;
    long n = strtol(t, &end, 10);
    if (!*t || *end)
        return hq_api_reply_error(req, HQ_ERR_INVALID, "POST /api/v1/devices/identify/WINDOW");
    struct devs_win *w = devs__win_by_number(s, n);
    if (!w)
        return hq_api_reply_error(req, HQ_ERR_NOT_FOUND, "no devices configured for that window");
    LOG_NOTICE("DEVICES", "window %u identifies its devices", w->c->window);
    devs__commission(s, w, HQ_DRV_FX_IDENTIFY, DEVS_IDENTIFY_MS);
    cJSON *o = devs__win_json(w);
    cJSON_AddNumberToObject(o, "seconds", DEVS_IDENTIFY_MS / 1000);
    return hq_api_reply_json(req, 200, o);
}

/* POST /api/v1/devices/test: every window's display and pad show a test, one after the other. */
static int devs__api_test(struct hq_api_req *req, void *arg)
{
    struct hqd_devs *s = arg;
    if (req->tail[0] && strcmp(req->tail, "/") != 0) return HQ_ERR_NOT_FOUND;
    if (s->test_next >= 0) return hq_api_reply_error(req, HQ_ERR_STATE, "a device test is running");
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "windows");
    for (size_t i = 0; i < s->n_win; i++)
        cJSON_AddItemToArray(arr, devs__win_json(&s->win[i]));
    cJSON_AddNumberToObject(o, "seconds", (double)(s->n_win * DEVS_TEST_STEP_MS) / 1000.0);
    LOG_NOTICE("DEVICES", "device test: %zu windows", s->n_win);
    s->test_next = 0;
    devs__test_step(s->d->loop, s);
    return hq_api_reply_json(req, 200, o);
}

/* ---------------------------------------------------------------- start/stop */

static int devs__link_init(struct hqd_devs *s, struct devs_link *l, const struct hq_driver *drv,
                           int idx, const char *name, const char *port, uint32_t baud,
                           unsigned flags, const void *cfg)
{
    l->s = s;
    l->drv = drv;
    l->cfg_idx = idx;
    l->reader = drv->role == HQ_DRV_ROLE_READER;
    l->fd = -1;
    l->port = port;
    snprintf(l->id, sizeof l->id, "%s:%s", l->reader ? "reader" : "bus", name);
    l->st.health = HQ_HEALTH_UNKNOWN;
    l->dev.drv = drv;
    l->dev.host = &devs_host;
    l->dev.host_arg = l;
    l->dev.id = l->id;
    l->dev.cfg = drv->n_bus_keys ? cfg : NULL;
    l->dev.eng = &s->d->eng;
    l->dev.count = &l->count;
    l->dev.port = port;
    l->dev.secret = (const uint8_t *)s->d->cfg.id_hash_key;
    l->dev.secret_len = strlen(s->d->cfg.id_hash_key);
    l->dev.seal_pk = s->d->cfg.eval_platform_pk_set ? s->d->cfg.eval_platform_pk : NULL;
    if (drv->priv_size && !(l->dev.priv = calloc(1, drv->priv_size))) return HQ_ERR_NOMEM;
    return hq_serial_link_init(&l->sl, port, (int)(baud ? baud : drv->default_baud), flags);
}

/* Each window's place on its lines: the driver's dev.win entries. */
static int devs__wire(struct hqd_devs *s)
{
    const struct hq_config *c = &s->d->cfg;
    for (size_t i = 0; i < s->n_links; i++) {
        struct devs_link *l = &s->links[i];
        size_t n = 0;
        for (size_t k = 0; k < s->n_win; k++)
            n += s->win[k].bus == l || s->win[k].led == l;
        l->win = calloc(n ? n : 1, sizeof *l->win);
        l->win_devs = calloc(n ? n : 1, sizeof *l->win_devs);
        l->units = calloc((n ? n : 1) * 4, sizeof *l->units);
        if (!l->win || !l->win_devs || !l->units) return HQ_ERR_NOMEM;
        for (size_t k = 0; k < s->n_win; k++) {
            struct devs_win *w = &s->win[k];
            if (w->bus != l && w->led != l) continue;
            struct hq_dev_window *dw = &l->win[l->dev.n_win];
            dw->window = w->c->window;
            dw->wi = w->wi;
            if (w->bus == l) {
                dw->keypad = w->c->keypad;
                dw->pad = w->c->pad;
                dw->pad_type = w->c->pad_type;
                dw->pad_map = w->c->pad_map;
                dw->cfg = l->drv->n_win_keys ? w->c->bus_drv : NULL;
                w->bus_k = (int)l->dev.n_win;
            } else {
                dw->bar = w->c->bar;
                dw->idle_text = w->idle;
                dw->idle_color = c->led_idle_color;
                dw->cfg = l->drv->n_win_keys ? w->c->led_drv : NULL;
                w->led_k = (int)l->dev.n_win;
            }
            l->win_devs[l->dev.n_win] = (int)k;
            l->dev.n_win++;
        }
        l->dev.win = l->win;
    }
    return HQ_OK;
}

static void devs__free(struct hqd_devs *s)
{
    for (size_t i = 0; s->links && i < s->n_links; i++) {
        struct devs_link *l = &s->links[i];
        free(l->dev.priv);
        free(l->win);
        free(l->win_devs);
        free(l->units);
    }
    free(s->links);
    for (size_t i = 0; s->win && i < s->n_win; i++)
        free(s->win[i].own);
    free(s->win);
    free(s->win_of);
    free(s);
}

int hqd_devices_init(struct hq_daemon *d)
{
    const struct hq_config *c = &d->cfg;
    struct hqd_devs *s = calloc(1, sizeof *s);
    if (!s) return HQ_ERR_NOMEM;
    s->d = d;
    s->blank_day = -1;
    s->test_next = -1;
    s->n_links = (size_t)c->n_readers + (size_t)c->n_buses;
    s->links = calloc(s->n_links ? s->n_links : 1, sizeof *s->links);
    /* every slot of the window table, temporary windows' too (their devices come at run time:
     * hqd_devices_attach) */
    size_t nwo =
        c->engine.max_windows > c->engine.n_windows ? c->engine.max_windows : c->engine.n_windows;
    s->win_cap = c->n_devwins + nwo;
    s->win = calloc(s->win_cap ? s->win_cap : 1, sizeof *s->win);
    s->win_of = calloc(nwo ? nwo : 1, sizeof *s->win_of);
    int rc = HQ_ERR_NOMEM;
    if (!s->links || !s->win || !s->win_of) goto fail;
    for (size_t i = 0; i < nwo; i++)
        s->win_of[i] = -1;
    size_t li = 0;
    for (int i = 0; i < c->n_readers; i++, li++) {
        const struct hq_reader_cfg *r = &c->readers[i];
        const struct hq_driver *drv =
            r->type[0] ? hq_driver_find(r->type) : hq_driver_default(HQ_DRV_ROLE_READER);
        rc = HQ_ERR_CONFIG;
        if (!drv) goto fail; /* the config loader checked it */
        rc = devs__link_init(s, &s->links[li], drv, i, r->kiosk, r->port, r->baud, 0, r->drv);
        if (rc) goto fail;
    }
    struct devs_link *bus_link[HQ_CFG_MAX_BUSES] = {0};
    for (int i = 0; i < c->n_buses; i++, li++) {
        const struct hq_bus_cfg *b = &c->buses[i];
        const struct hq_driver *drv = hq_driver_find(b->type);
        unsigned flags =
            (b->rs485 ? HQ_SERIAL_RS485 : 0) | (b->rs485_rts_low ? HQ_SERIAL_RS485_RTS_LOW : 0);
        rc = HQ_ERR_CONFIG;
        if (!drv) goto fail;
        rc = devs__link_init(s, &s->links[li], drv, i, b->id, b->port, b->baud, flags, b->drv);
        if (rc) goto fail;
        s->links[li].dev.acknowledge = b->acknowledge;
        bus_link[i] = &s->links[li];
    }
    for (size_t i = 0; i < c->n_devwins; i++) {
        const struct hq_devwin_cfg *dc = &c->devwins[i];
        struct devs_win *w = &s->win[s->n_win];
        w->c = dc;
        w->wi = hq_engine_window_index(&d->eng, dc->window);
        if (w->wi < 0) continue; /* the config checked it; the engine agrees */
        w->bus = dc->bus_idx >= 0 ? bus_link[dc->bus_idx] : NULL;
        w->led = dc->led_bus_idx >= 0 ? bus_link[dc->led_bus_idx] : NULL;
        char num[8];
        snprintf(num, sizeof num, "%u", dc->window);
        if (ledbar_template_expand(dc->idle_text[0] ? dc->idle_text : c->led_idle_text, "", num,
                                   c->engine.windows[w->wi].name, w->idle, sizeof w->idle))
            snprintf(w->idle, sizeof w->idle, "%s", c->engine.windows[w->wi].name);
        s->win_of[w->wi] = (int16_t)s->n_win;
        s->n_win++;
    }
    if ((rc = devs__wire(s))) goto fail;
    if ((rc = hqd_on_result(d, devs__on_result, s))) goto fail;
    if (d->api) {
        if ((rc = hq_api_status_part(d->api, devs__status_part, s))) goto fail;
        if ((rc = hq_api_metrics_part(d->api, devs__metrics, s))) goto fail;
        /* Commissioning (hallqctl devices): a list for staff, the rest for the manager. */
        if ((rc = hq_api_route(d->api, "GET", "/api/v1/devices", HQ_ROLE_CLERK, devs__api_list,
                               s)) ||
            (rc = hq_api_route(d->api, "POST", "/api/v1/devices/identify", HQ_ROLE_MANAGER,
                               devs__api_identify, s)) ||
            (rc = hq_api_route(d->api, "POST", "/api/v1/devices/test", HQ_ROLE_MANAGER,
                               devs__api_test, s)))
            goto fail;
    }
    if (c->n_readers) {
        d->fill_card = devs__fill_card;
        d->card_hash_of = devs__card_hash_of;
        d->fill_card_arg = s;
    }
    d->mod.devices = s;
    /* Open everything now; what is absent retries in the background. */
    for (size_t i = 0; i < s->n_links; i++)
        devs__try_open(&s->links[i]);
    s->house_timer = hq_loop_timer(d->loop, DEVS_HOUSE_MS, devs__house, s);
    devs__blank_check(s);
    if (s->n_links)
        LOG_INFO("DEVICES", "%d card readers, %d buses, %zu windows with devices", c->n_readers,
                 c->n_buses, s->n_win);
    return HQ_OK;
fail:
    devs__free(s);
    return rc;
}

void hqd_devices_fini(struct hq_daemon *d)
{
    struct hqd_devs *s = d->mod.devices;
    if (!s) return;
    if (d->fill_card == devs__fill_card) {
        d->fill_card = NULL;
        d->card_hash_of = NULL;
        d->fill_card_arg = NULL;
    }
    if (s->house_timer) hq_loop_timer_cancel(d->loop, s->house_timer);
    if (s->test_timer) hq_loop_timer_cancel(d->loop, s->test_timer);
    if (s->detach_timer) hq_loop_timer_cancel(d->loop, s->detach_timer);
    for (size_t i = 0; i < s->n_links; i++) {
        struct devs_link *l = &s->links[i];
        if (l->up && l->drv->close) l->drv->close(&l->dev);
        l->up = false;
        if (l->fd >= 0) hq_loop_del_fd(d->loop, l->fd);
        if (l->timer) hq_loop_timer_cancel(d->loop, l->timer);
        if (l->drv_timer) hq_loop_timer_cancel(d->loop, l->drv_timer);
        explicit_bzero(&l->cardid, sizeof l->cardid);
        hq_serial_link_close(&l->sl);
    }
    devs__free(s);
    d->mod.devices = NULL;
}

/* ------------------------------------------- a temporary window's devices */

/* The driver of line l stops for a change of its windows (the line itself stays open): the
 * next devs__driver_restart() opens it again on the new dev.win, as after a reconnect. */
static bool devs__driver_stop(struct devs_link *l)
{
    if (!l->up) return false;
    devs__host_arm(&l->dev, HQ_DRV_TIMER_OFF);
    if (l->drv->close) l->drv->close(&l->dev);
    l->up = false;
    return true;
}

static void devs__driver_restart(struct devs_link *l, bool was_up)
{
    if (!was_up || l->fd < 0 || l->connecting) return;
    devs__driver_start(l);
}

/* Window w takes a place on line l: a free one (window 0, left by a detach) or a new one at
 * the end, so the other windows keep their index (drivers keep counters by it). */
static int devs__link_add(struct devs_link *l, struct devs_win *w, bool bus)
{
    struct hqd_devs *s = l->s;
    size_t k;
    for (k = 0; k < l->dev.n_win; k++)
        if (l->win[k].window == 0) break;
    if (k == l->dev.n_win && l->dev.n_win >= HQ_DEV_MAX_WIN) return HQ_ERR_LIMIT;
    bool was_up = devs__driver_stop(l);
    if (k == l->dev.n_win) {
        size_t n = l->dev.n_win + 1;
        struct hq_dev_window *nw = realloc(l->win, n * sizeof *nw);
        if (nw) l->win = nw;
        int *nd = nw ? realloc(l->win_devs, n * sizeof *nd) : NULL;
        if (nd) l->win_devs = nd;
        struct devs_unit *nu = nd ? realloc(l->units, n * 4 * sizeof *nu) : NULL;
        if (nu) l->units = nu;
        l->dev.win = l->win;
        if (!nu) {
            devs__driver_restart(l, was_up);
            return HQ_ERR_NOMEM;
        }
        l->dev.n_win = n;
    }
    struct hq_dev_window *dw = &l->win[k];
    memset(dw, 0, sizeof *dw);
    memset(&l->units[k * 4], 0, 4 * sizeof *l->units);
    dw->window = w->c->window;
    dw->wi = w->wi;
    if (bus) {
        dw->keypad = w->c->keypad;
        dw->pad = w->c->pad;
        dw->pad_type = w->c->pad_type;
        dw->pad_map = w->c->pad_map;
        dw->cfg = l->drv->n_win_keys ? w->c->bus_drv : NULL;
        w->bus_k = (int)k;
    } else {
        dw->bar = w->c->bar;
        dw->idle_text = w->idle;
        dw->idle_color = s->d->cfg.led_idle_color;
        dw->cfg = l->drv->n_win_keys ? w->c->led_drv : NULL;
        w->led_k = (int)k;
    }
    l->win_devs[k] = (int)(w - s->win);
    devs__driver_restart(l, was_up);
    return HQ_OK;
}

/* Window w leaves its place k on line l: the place is free (window 0, no address), so no
 * key, rating or acknowledgement from its addresses reaches a window any more. A keys line's
 * driver starts again on its windows (it routes by address); a bar line keeps running, so the
 * blank frame just queued for the bar still goes out. */
static void devs__link_remove(struct devs_link *l, int k, bool restart)
{
    bool was_up = restart && devs__driver_stop(l);
    struct hq_dev_window *dw = &l->win[k];
    memset(dw, 0, sizeof *dw);
    memset(&l->units[k * 4], 0, 4 * sizeof *l->units);
    l->win_devs[k] = -1;
    devs__driver_restart(l, was_up);
}

int hqd_devices_check(const struct hq_daemon *d, uint16_t window, const cJSON *json,
                      struct hq_devwin_cfg *out, char *err, size_t cap)
{
    struct hqd_devs *s = d->mod.devices;
    const struct hq_config *c = &d->cfg;
    if (!s || s->d != d) {
        snprintf(err, cap, "request: $.devices: the device host does not run");
        return HQ_ERR_STATE;
    }
    /* The windows that hold devices now: the file's, then the temporary windows' (not this
     * window's own earlier ones: they are replaced). */
    struct hq_devwin_cfg *others = calloc(c->n_devwins + s->n_win + 1, sizeof *others);
    if (!others) return HQ_ERR_NOMEM;
    size_t n = c->n_devwins;
    if (n) memcpy(others, c->devwins, n * sizeof *others);
    for (size_t i = 0; i < s->n_win; i++) {
        const struct devs_win *w = &s->win[i];
        if (w->own && (w->bus || w->led) && w->own->window != window) others[n++] = *w->own;
    }
    int rc =
        hq_config_devwin_parse(c, json, window, others, n, c->n_devwins, "request", out, err, cap);
    free(others);
    return rc;
}

int hqd_devices_attach(struct hq_daemon *d, const struct hq_devwin_cfg *dc)
{
    struct hqd_devs *s = d->mod.devices;
    if (!s || s->d != d) return HQ_ERR_STATE;
    const struct hq_config *c = &d->cfg;
    int wi = hq_engine_window_index(&d->eng, dc->window);
    if (wi < 0 || !c->engine.windows[wi].temporary) return HQ_ERR_NOT_FOUND;
    if (s->win_of[wi] >= 0) hqd_devices_detach(d, dc->window);
    /* its entry from an earlier opening, or a new one */
    struct devs_win *w = NULL;
    for (size_t i = 0; i < s->n_win && !w; i++)
        if (s->win[i].own && s->win[i].wi == wi) w = &s->win[i];
    if (!w) {
        if (s->n_win >= s->win_cap) return HQ_ERR_LIMIT;
        w = &s->win[s->n_win];
        memset(w, 0, sizeof *w);
        if (!(w->own = malloc(sizeof *w->own))) return HQ_ERR_NOMEM;
        s->n_win++;
    }
    *w->own = *dc;
    w->c = w->own;
    w->wi = wi;
    w->bus = w->led = NULL;
    w->bus_k = w->led_k = -1;
    w->restore_at_ms = 0;
    w->detach_want = false;
    char num[8];
    snprintf(num, sizeof num, "%u", dc->window);
    const char *name = c->engine.windows[wi].name;
    if (ledbar_template_expand(dc->idle_text[0] ? dc->idle_text : c->led_idle_text, "", num, name,
                               w->idle, sizeof w->idle))
        snprintf(w->idle, sizeof w->idle, "%s", name);
    struct devs_link *bus = dc->bus_idx >= 0 ? &s->links[c->n_readers + dc->bus_idx] : NULL;
    struct devs_link *led = dc->led_bus_idx >= 0 ? &s->links[c->n_readers + dc->led_bus_idx] : NULL;
    int rc = HQ_OK;
    if (bus && !(rc = devs__link_add(bus, w, true))) w->bus = bus;
    if (!rc && led && !(rc = devs__link_add(led, w, false))) w->led = led;
    s->win_of[wi] = (int16_t)(w - s->win);
    if (rc) {
        hqd_devices_detach(d, dc->window);
        return rc;
    }
    LOG_NOTICE("DEVICES", "window %u: devices attached (keypad %u, pad %u on %s; bar %u on %s)",
               dc->window, dc->keypad, dc->pad, bus ? bus->id : "-", dc->bar, led ? led->id : "-");
    if (w->led) devs__show(s, w);
    /* pages that list devices hear of the new ones as of any device's change */
    if (d->api && w->bus && dc->keypad)
        hq_api_publish(d->api, "device", devs__unit_json(w->bus, HQ_UNIT_KEYPAD, w->bus_k));
    if (d->api && w->bus && dc->pad)
        hq_api_publish(d->api, "device", devs__unit_json(w->bus, HQ_UNIT_PAD, w->bus_k));
    if (d->api && w->led)
        hq_api_publish(d->api, "device", devs__unit_json(w->led, HQ_UNIT_BAR, w->led_k));
    return HQ_OK;
}

bool hqd_devices_detach(struct hq_daemon *d, uint16_t window)
{
    struct hqd_devs *s = d->mod.devices;
    if (!s || s->d != d) return false;
    int wi = hq_engine_window_index(&d->eng, window);
    if (wi < 0 || s->win_of[wi] < 0) return false;
    struct devs_win *w = &s->win[s->win_of[wi]];
    if (!w->own) return false; /* the file's devices stay with their window */
    w->detach_want = false;
    w->restore_at_ms = 0;
    if (w->led) {
        /* the bar goes dark: nobody is called there any more */
        struct devs_link *l = w->led;
        struct hq_view v = {.kind = HQ_VIEW_BLANK, .text = "", .color = d->cfg.led_idle_color};
        struct hq_drv_effect ef = {.type = HQ_DRV_FX_SHOW, .wi = w->led_k, .view = &v};
        if (l->up && l->drv->effect) l->drv->effect(&l->dev, &ef, devs__now(s));
        devs__link_remove(l, w->led_k, false);
    }
    if (w->bus) devs__link_remove(w->bus, w->bus_k, true);
    LOG_NOTICE("DEVICES", "window %u: devices detached (keypad %u, pad %u, bar %u)", window,
               w->own->keypad, w->own->pad, w->own->bar);
    w->bus = w->led = NULL;
    w->bus_k = w->led_k = -1;
    w->own->keypad = w->own->pad = w->own->bar = 0;
    s->win_of[wi] = -1;
    return true;
}

/* After a window's close is out (its bar showed the close): its own devices go. Not from
 * inside the result listener: that may run while a driver is in input(), and a detach starts
 * the keys line's driver again. */
static void devs__detach_all(struct hq_loop *loop, void *arg)
{
    struct hqd_devs *s = arg;
    (void)loop;
    s->detach_timer = 0;
    for (size_t i = 0; i < s->n_win; i++)
        if (s->win[i].detach_want) hqd_devices_detach(s->d, s->win[i].c->window);
}

static void devs__close_want(struct hqd_devs *s, uint16_t window)
{
    int wi = hq_engine_window_index(&s->d->eng, window);
    if (wi < 0 || s->win_of[wi] < 0 || !s->win[s->win_of[wi]].own) return;
    s->win[s->win_of[wi]].detach_want = true;
    if (!s->detach_timer) s->detach_timer = hq_loop_timer(s->d->loop, 0, devs__detach_all, s);
}
