/*
 * hqd_devices.c — the hall's serial devices in the running daemon: the kiosks' ID-card readers,
 * the clerks' call keypads and the citizens' rating pads on hall buses, the LED bars above the
 * windows. Every link is a non-blocking fd on the one loop, opened through hal/serial.c and
 * reopened with backoff when it vanishes; a device that is absent, dies or spews garbage is
 * only reported (offline / faulty), never a reason to block the loop or the other devices.
 *
 *   keypad ─► FF 68 key ─► echo, repeat check ─► hq_devices_key_cmd ─► hqd_apply ─┐
 *   pad    ─► FF 68 11 level ─────────────────► hq_devices_rating_cmd ─► hqd_apply ─┤
 *   reader ─► find/select/read ─► identity (masked) ─► kept for the kiosk's next card issue
 *                                                                                  │
 *   committed result ─► devs__on_result ─► keypad display/beep, pad invite/ack/idle ◄┘
 *                                       └► LED bar: call text, idle text, 暂停服务
 *
 * Health: each link (reader, hall bus, LED bus) and each acknowledging bar is online, offline
 * or faulty with a reason; a change goes to the pages (SSE `device`), to /api/v1/status
 * `devices` and to the central server (outbox `event` record, kind `device`), and to the log at
 * most once per DEVS_LOG_MS per link.
 *
 * Privacy: the reader's answer is parsed by drivers/idcard.c, which returns only the card type,
 * the keyed hash, the birth date and the masked name; the receive buffers are wiped after each
 * read. The keyed hash (all 32 bytes: an appointment is matched on the whole hash, a ticket
 * keeps only its first 8) and a masked name of at most 15 bytes are kept here, for card_hold_s
 * at most, and neither is ever logged.
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
#include "hallbus.h"
#include "idcard.h"
#include "ledbar.h"
#include "serial.h"
#include "store.h"

#define DEVS_OUT_CAP 8192        /* bytes waiting for a slow line; more is dropped */
#define DEVS_RX_CHUNK 2048       /* one read */
#define DEVS_RX_PER_WAKE 16384   /* a spewing device is read in bounded bites per wake-up */
#define DEVS_BAD_WINDOW_MS 10000 /* bad frames are counted over this window... */
#define DEVS_BAD_FAULTY 10       /* ...and this many in it make the line faulty */
#define DEVS_LOG_MS 10000        /* at most one warning per link in this time */
#define DEVS_BAR_FAILS 3         /* missed AA in a row before a bar is faulty */
#define DEVS_HOUSE_MS 1000
#define DEVS_LAT 1024

enum { LINK_READER = 0, LINK_HALL, LINK_LED };
static const char *const devs_link_type[] = {"card_reader", "hall_bus", "led_bus"};

struct devs_card {
    uint8_t type;
    uint8_t hash[32];
    int32_t birth_ymd;
    char name[16];
};

/* A frame for an acknowledging LED bus, waiting for its turn. */
struct devs_ledq {
    uint8_t addr, cmd;
    uint16_t len;
    uint8_t b[LEDBAR_FRAME_MAX];
};

struct hqd_devs;

struct devs_link {
    struct hqd_devs *s;
    int kind, cfg_idx;
    char id[48]; /* "reader:k1", "bus:keys" */
    const char *port;
    struct hq_serial_link sl;
    int fd; /* registered with the loop, -1 while down */
    bool connecting, broken;
    uint64_t timer;        /* reopen while down; the reader's poll while up */
    uint64_t up_at_ms;     /* when the link last came up */
    uint32_t prev_backoff; /* the reopen delay before the last successful open */
    uint8_t out[DEVS_OUT_CAP];
    size_t out_len;
    struct hq_device_status st;
    int64_t since_wall;
    uint64_t rx_bytes, tx_bytes, frames, garbage, bad_frames, dropped, opens, repeats, unknown;
    uint64_t bad_since_ms, last_bad_ms;
    uint32_t bad_recent;
    uint64_t lexer_bad_seen, lexer_garbage_seen;
    uint64_t log_at_ms;
    uint32_t log_quiet;
    /* reader */
    struct idcard_reader *rd;
    bool card;
    uint64_t card_at_ms;
    struct devs_card cardid;
    uint64_t reads, read_errors;
    /* hall bus */
    struct hallbus_lexer hlx;
    struct hallbus_repeat *rep;
    int16_t who[256]; /* devs_win index of the device at an address, -1 */
    /* LED bus */
    bool ack;
    struct ledbar_ack la;
    uint64_t ack_timer;
    int inflight; /* window index of the frame awaiting AA, -1 */
    struct devs_ledq *q;
    size_t q_n, q_cap;
};

enum { LED_NONE = 0, LED_STATE };

struct devs_win {
    const struct hq_devwin_cfg *c;
    struct hq_devices_window hw; /* for devices.c; hw.bar stays 0: the LED is done here */
    struct hallbus_padmap map;
    struct devs_link *bus, *led;
    int wi; /* engine window index */
    int last_waiting;
    uint8_t disp[HALLBUS_FRAME_MAX]; /* the keypad's display as last sent */
    uint8_t disp_len;
    bool disp_dirty; /* its waiting count changed since */
    uint64_t keypad_heard_ms, pad_heard_ms;
    uint8_t pad_reply[HALLBUS_FRAME_MAX]; /* the answer to the pad's last rating frame */
    uint8_t pad_reply_len;
    /* LED bar */
    uint8_t led_want;
    struct hq_device_status bar_st;
    uint32_t bar_fails;
    uint64_t bar_acks, bar_timeouts;
    char idle[256];
};

struct devs_stage {
    struct devs_link *l;
    uint8_t addr, func, len;
    uint8_t b[HALLBUS_FRAME_MAX];
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
    struct devs_stage *stage;
    size_t n_stage, cap_stage;
    /* key frame lexed → its frames written, microseconds, the last DEVS_LAT samples */
    uint32_t lat[DEVS_LAT];
    uint64_t n_lat;
};

static struct hqd_devs *devs__self;

static uint64_t devs__now(struct hqd_devs *s)
{
    return hq_loop_now_ms(s->d->loop);
}

/* ------------------------------------------------------------------ logging */

static void devs__log(struct devs_link *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line per link per DEVS_LOG_MS: a device that fails every second must not fill the
 * journal, but the first failure and the count of the hidden ones are always seen. */
static void devs__log(struct devs_link *l, int level, const char *fmt, ...)
{
    if (level > hq_log_level) return;
    uint64_t now = devs__now(l->s);
    if (l->log_at_ms && now - l->log_at_ms < DEVS_LOG_MS && level > HQ_LOG_ERR) {
        l->log_quiet++;
        return;
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (l->log_quiet)
        hq_log_write(level, "DEVICES", "%s: %s (%u similar messages suppressed)", l->id, msg,
                     l->log_quiet);
    else
        hq_log_write(level, "DEVICES", "%s: %s", l->id, msg);
    l->log_at_ms = now ? now : 1;
    l->log_quiet = 0;
}

/* ------------------------------------------------------------------- health */

static const char *devs__health_name(int h)
{
    static const char *const n[] = {"unknown", "online", "offline", "faulty"};
    return h >= 0 && h <= HQ_DEV_FAULTY ? n[h] : "unknown";
}

static const char *devs__health_zh(int h)
{
    static const char *const n[] = {"未知", "在线", "离线", "故障"};
    return h >= 0 && h <= HQ_DEV_FAULTY ? n[h] : "未知";
}

static void devs__add_counters(cJSON *o, const struct devs_link *l)
{
    cJSON_AddNumberToObject(o, "rx_bytes", (double)l->rx_bytes);
    cJSON_AddNumberToObject(o, "tx_bytes", (double)l->tx_bytes);
    cJSON_AddNumberToObject(o, "frames", (double)l->frames);
    cJSON_AddNumberToObject(o, "garbage_bytes", (double)l->garbage);
    cJSON_AddNumberToObject(o, "bad_frames", (double)l->bad_frames);
    cJSON_AddNumberToObject(o, "dropped_frames", (double)l->dropped);
    cJSON_AddNumberToObject(o, "opens", (double)l->opens);
}

static cJSON *devs__link_json(const struct devs_link *l)
{
    const struct hq_config *c = &l->s->d->cfg;
    cJSON *o = cJSON_CreateObject();
    char ts[32];
    cJSON_AddStringToObject(o, "id", l->id);
    cJSON_AddStringToObject(o, "type", devs_link_type[l->kind]);
    cJSON_AddStringToObject(o, "port", l->port);
    cJSON_AddStringToObject(o, "health", devs__health_name(l->st.health));
    cJSON_AddStringToObject(o, "text", devs__health_zh(l->st.health));
    cJSON_AddStringToObject(o, "reason", l->st.reason);
    if (l->since_wall) {
        hq_time_rfc3339(l->since_wall, c->engine.utc_offset_s, ts);
        cJSON_AddStringToObject(o, "since", ts);
    }
    devs__add_counters(o, l);
    if (l->kind == LINK_READER) {
        cJSON_AddStringToObject(o, "kiosk", c->readers[l->cfg_idx].kiosk);
        cJSON_AddBoolToObject(o, "card_present", l->card);
        cJSON_AddNumberToObject(o, "reads", (double)l->reads);
        cJSON_AddNumberToObject(o, "read_errors", (double)l->read_errors);
    }
    if (l->kind == LINK_HALL) {
        cJSON_AddNumberToObject(o, "repeats", (double)l->repeats);
        cJSON_AddNumberToObject(o, "unknown_address", (double)l->unknown);
    }
    if (l->kind == LINK_LED) cJSON_AddBoolToObject(o, "acknowledge", l->ack);
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
    cJSON_AddStringToObject(o, "health", devs__health_name(health));
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
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->st.reason, sizeof l->st.reason, fmt, ap);
    va_end(ap);
    l->st.err = err;
    if (l->st.health == health) return;
    l->st.health = (uint8_t)health;
    l->st.since_ms = devs__now(l->s);
    l->since_wall = hq_loop_wall_s();
    devs__log(l, health == HQ_DEV_ONLINE ? HQ_LOG_NOTICE : HQ_LOG_WARN, "%s%s%s",
              devs__health_name(health), l->st.reason[0] ? ": " : "", l->st.reason);
    if (l->s->d->api) hq_api_publish(l->s->d->api, "device", devs__link_json(l));
    devs__record(l->s, l->id, devs_link_type[l->kind], health, l->st.reason);
}

static void devs__bar_id(const struct devs_win *w, char *out, size_t cap)
{
    snprintf(out, cap, "bar:%s:%u", w->led->id + 4, w->c->bar);
}

static cJSON *devs__bar_json(const struct devs_win *w)
{
    char id[64];
    devs__bar_id(w, id, sizeof id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "type", "led_bar");
    cJSON_AddNumberToObject(o, "window", w->c->window);
    cJSON_AddNumberToObject(o, "address", w->c->bar);
    /* Without acknowledgements a bar is as healthy as the line it hangs on. */
    const struct hq_device_status *st = w->led->ack ? &w->bar_st : &w->led->st;
    if (w->led->st.health != HQ_DEV_ONLINE) st = &w->led->st;
    cJSON_AddStringToObject(o, "health", devs__health_name(st->health));
    cJSON_AddStringToObject(o, "text", devs__health_zh(st->health));
    cJSON_AddStringToObject(o, "reason", st->reason);
    cJSON_AddNumberToObject(o, "acks", (double)w->bar_acks);
    cJSON_AddNumberToObject(o, "ack_timeouts", (double)w->bar_timeouts);
    return o;
}

static void devs__bar_health(struct devs_win *w, int health, const char *reason)
{
    snprintf(w->bar_st.reason, sizeof w->bar_st.reason, "%s", reason);
    if (w->bar_st.health == health) return;
    w->bar_st.health = (uint8_t)health;
    w->bar_st.since_ms = devs__now(w->led->s);
    char id[64];
    devs__bar_id(w, id, sizeof id);
    devs__log(w->led, health == HQ_DEV_ONLINE ? HQ_LOG_NOTICE : HQ_LOG_WARN, "bar %u: %s%s%s",
              w->c->bar, devs__health_name(health), reason[0] ? ": " : "", reason);
    if (w->led->s->d->api) hq_api_publish(w->led->s->d->api, "device", devs__bar_json(w));
    devs__record(w->led->s, id, "led_bar", health, reason);
}

/* Bad frames and garbage: a line that keeps producing them is faulty (a wrong baud rate, a
 * broken transceiver, two devices on one address) until it has been clean for a while. */
static void devs__bad(struct devs_link *l, uint64_t bad_frames, uint64_t garbage_bytes)
{
    if (!bad_frames && !garbage_bytes) return;
    uint64_t now = devs__now(l->s);
    l->bad_frames += bad_frames;
    l->garbage += garbage_bytes;
    l->last_bad_ms = now;
    if (now - l->bad_since_ms > DEVS_BAD_WINDOW_MS) {
        l->bad_since_ms = now;
        l->bad_recent = 0;
    }
    l->bad_recent += (uint32_t)bad_frames + (garbage_bytes ? 1 : 0);
    devs__log(l, HQ_LOG_WARN, "%llu bad frames, %llu garbage bytes so far",
              (unsigned long long)l->bad_frames, (unsigned long long)l->garbage);
    if (l->bad_recent >= DEVS_BAD_FAULTY && l->st.health == HQ_DEV_ONLINE)
        devs__set_health(l, HQ_DEV_FAULTY, HQ_ERR_PROTO,
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
        l->dropped++;
        return;
    }
    LOG_HEX("DEVICES", l->id, b, n);
    if (l->out_len == 0) {
        ssize_t k = write(l->fd, b, n);
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            l->broken = true;
            l->dropped++;
            return;
        }
        if (k > 0) {
            l->tx_bytes += (uint64_t)k;
            b += k;
            n -= (size_t)k;
        }
        if (!n) return;
    }
    if (l->out_len + n > sizeof l->out) {
        l->dropped++;
        devs__log(l, HQ_LOG_WARN, "the line does not drain: %llu frames dropped",
                  (unsigned long long)l->dropped);
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
    l->tx_bytes += (uint64_t)k;
    memmove(l->out, l->out + k, l->out_len - (size_t)k);
    l->out_len -= (size_t)k;
    if (!l->out_len) devs__want_out(l);
}

/* ---------------------------------------------------------------- LED bars */

static void devs__led_pump(struct devs_link *l);

static void devs__ack_timer(struct hq_loop *loop, void *arg)
{
    struct devs_link *l = arg;
    (void)loop;
    l->ack_timer = 0;
    if (ledbar_ack_poll(&l->la, devs__now(l->s)) == LEDBAR_ACK_FAILED) {
        l->la.state = LEDBAR_ACK_IDLE;
        if (l->inflight >= 0) {
            struct devs_win *w = &l->s->win[l->inflight];
            w->bar_timeouts++;
            if (++w->bar_fails >= DEVS_BAR_FAILS)
                devs__bar_health(w, HQ_DEV_FAULTY, "no AA acknowledgement within 300 ms");
        }
        l->inflight = -1;
    }
    devs__led_pump(l);
}

/* Acknowledging bars take one frame at a time: the AA carries no address. */
static void devs__led_pump(struct devs_link *l)
{
    if (l->la.state == LEDBAR_ACK_WAITING || !l->q_n || l->fd < 0 || l->connecting) return;
    struct devs_ledq f = l->q[0];
    memmove(l->q, l->q + 1, (l->q_n - 1) * sizeof *l->q);
    l->q_n--;
    devs__send(l, f.b, f.len);
    l->inflight = l->who[f.addr];
    ledbar_ack_expect(&l->la, devs__now(l->s));
    l->ack_timer = hq_loop_timer(l->s->d->loop, LEDBAR_ACK_MS + 1, devs__ack_timer, l);
}

static void devs__led_frame(struct devs_link *l, const uint8_t *b, size_t n)
{
    if (!n) return;
    l->frames++;
    uint8_t addr = b[2], cmd = b[3];
    if (!l->ack || addr == LEDBAR_BROADCAST) {
        devs__send(l, b, n);
        return;
    }
    /* A newer text for a bar replaces the one still queued for it: only the last counts. */
    bool store = cmd == LEDBAR_CMD_STORE_IDLE;
    struct devs_ledq *slot = NULL;
    for (size_t i = 0; i < l->q_n && !slot; i++)
        if (l->q[i].addr == addr && (l->q[i].cmd == LEDBAR_CMD_STORE_IDLE) == store)
            slot = &l->q[i];
    if (!slot) {
        if (l->q_n == l->q_cap) {
            l->dropped++;
            return;
        }
        slot = &l->q[l->q_n++];
    }
    slot->addr = addr;
    slot->cmd = cmd;
    slot->len = (uint16_t)n;
    memcpy(slot->b, b, n);
    devs__led_pump(l);
}

static void devs__led_input(struct devs_link *l, const uint8_t *b, size_t n)
{
    uint32_t stray = l->la.stray;
    int st = ledbar_ack_input(&l->la, b, n, devs__now(l->s));
    if (l->la.stray != stray) devs__bad(l, 0, l->la.stray - stray);
    if (st == LEDBAR_ACK_OK) {
        l->la.state = LEDBAR_ACK_IDLE;
        if (l->ack_timer) hq_loop_timer_cancel(l->s->d->loop, l->ack_timer);
        l->ack_timer = 0;
        if (l->inflight >= 0) {
            struct devs_win *w = &l->s->win[l->inflight];
            w->bar_acks++;
            w->bar_fails = 0;
            devs__bar_health(w, HQ_DEV_ONLINE, "");
        }
        l->inflight = -1;
        devs__led_pump(l);
    }
}

static int devs__color(const char *name)
{
    int c = ledbar_color_from_name(name);
    return c < 0 ? LEDBAR_RED : c;
}

/* What window w's bar must show now, from the engine's state. */
static void devs__bar_show(struct hqd_devs *s, struct devs_win *w)
{
    if (!w->led || w->led->fd < 0 || w->led->connecting) return;
    const struct hq_config *c = &s->d->cfg;
    const struct hq_engine *e = &s->d->eng;
    const struct hq_window_st *ws = &e->win[w->wi];
    uint8_t f[LEDBAR_FRAME_MAX];
    size_t n = 0;
    char text[256], label[16] = "", num[8];
    snprintf(num, sizeof num, "%u", w->c->window);
    if (ws->current >= 0 && (size_t)ws->current < e->n_tickets &&
        (ws->state == HQ_WS_CALLING || ws->state == HQ_WS_SERVING)) {
        hq_ticket_label(e, &e->tickets[ws->current], label, sizeof label);
        if (ledbar_template_expand(c->led_template, label, num, e->cfg->windows[w->wi].name, text,
                                   sizeof text) == HQ_OK)
            ledbar_make_text(w->c->bar, LEDBAR_CMD_SHOW, text, (uint8_t)devs__color(c->led_color),
                             f, sizeof f, &n);
    } else if (s->blanked) {
        n = ledbar_encode(w->c->bar, LEDBAR_CMD_SHOW, NULL, 0, f, sizeof f);
    } else if (ws->state == HQ_WS_PAUSED) {
        ledbar_make_text(w->c->bar, LEDBAR_CMD_SHOW, c->led_paused_text,
                         (uint8_t)devs__color(c->led_idle_color), f, sizeof f, &n);
    } else {
        n = ledbar_make_show_idle(w->c->bar, f, sizeof f);
    }
    devs__led_frame(w->led, f, n);
}

/* The idle text lives in the bar (A2): stored whenever the bar's line comes up. */
static void devs__bar_store_idle(struct hqd_devs *s, struct devs_win *w)
{
    uint8_t f[LEDBAR_FRAME_MAX];
    size_t n = 0;
    if (ledbar_make_text(w->c->bar, LEDBAR_CMD_STORE_IDLE, w->idle,
                         (uint8_t)devs__color(s->d->cfg.led_idle_color), f, sizeof f, &n) == HQ_OK)
        devs__led_frame(w->led, f, n);
}

/* ------------------------------------------------------------ hall bus out */

static int devs__waiting(const struct hq_engine *e, int wi)
{
    const struct hq_window_cfg *wc = &e->cfg->windows[wi];
    size_t n = 0;
    for (unsigned i = 0; i < wc->n_services; i++)
        n += hq_engine_waiting(e, wc->services[i]);
    return (int)n;
}

/* Stage one bus frame of this result; a later display for the same device replaces an
 * earlier one, so a command that changes five things sends one display, not five. */
static void devs__stage(struct hqd_devs *s, struct devs_link *l, const uint8_t *b, size_t n)
{
    if (!n || !l) return;
    uint8_t addr = b[5], func = b[6];
    if (func == HALLBUS_FUNC_DISPLAY)
        for (size_t i = 0; i < s->n_stage; i++)
            if (s->stage[i].l == l && s->stage[i].addr == addr && s->stage[i].func == func) {
                memcpy(s->stage[i].b, b, n);
                s->stage[i].len = (uint8_t)n;
                return;
            }
    if (s->n_stage == s->cap_stage) {
        size_t cap = s->cap_stage ? s->cap_stage * 2 : 64;
        struct devs_stage *ns = realloc(s->stage, cap * sizeof *ns);
        if (!ns) {
            l->dropped++;
            return;
        }
        s->stage = ns;
        s->cap_stage = cap;
    }
    struct devs_stage *st = &s->stage[s->n_stage++];
    st->l = l;
    st->addr = addr;
    st->func = func;
    st->len = (uint8_t)n;
    memcpy(st->b, b, n);
}

static void devs__stage_beep(struct hqd_devs *s, struct devs_win *w)
{
    uint8_t b[HALLBUS_FRAME_MAX];
    if (w->bus && w->c->keypad)
        devs__stage(s, w->bus, b, hallbus_make_beep(w->c->keypad, b, sizeof b));
}

static void devs__stage_flush(struct hqd_devs *s)
{
    for (size_t i = 0; i < s->n_stage; i++) {
        s->stage[i].l->frames++;
        devs__send(s->stage[i].l, s->stage[i].b, s->stage[i].len);
    }
    s->n_stage = 0;
}

/* The bus frames of one effect for one window, through the glue in devices.c. */
static void devs__fx_bus(struct hqd_devs *s, struct devs_win *w, const struct hq_effect *fx)
{
    if (!w->bus) return;
    uint8_t bus[HALLBUS_FRAME_MAX], led[8];
    size_t bn = 0, ln = 0;
    if (hq_devices_effect_frames(&s->d->eng, &w->hw, fx, s->d->cfg.led_template, bus, sizeof bus,
                                 &bn, led, sizeof led, &ln) != HQ_OK)
        return;
    bool display = bn && bus[6] == HALLBUS_FUNC_DISPLAY && bus[5] == w->c->keypad;
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
    devs__stage(s, w->bus, bus, bn);
    if (display) {
        /* Somebody is waiting for an idle window that was waiting for nobody: tell the clerk. */
        int n = devs__waiting(&s->d->eng, w->wi);
        if (w->last_waiting == 0 && n > 0 && s->d->eng.win[w->wi].state == HQ_WS_IDLE)
            devs__stage_beep(s, w);
        w->last_waiting = n;
    }
}

/* The waiting counts gathered by devs__fx_bus, once a second. */
static void devs__flush_displays(struct hqd_devs *s)
{
    for (size_t k = 0; k < s->n_win; k++) {
        struct devs_win *w = &s->win[k];
        if (!w->disp_dirty || !w->bus || w->bus->fd < 0) continue;
        w->disp_dirty = false;
        struct hq_effect fx = {.type = HQ_FX_WINDOW, .window = w->c->window, .ticket = -1};
        devs__fx_bus(s, w, &fx);
    }
    devs__stage_flush(s);
}

static struct devs_win *devs__win_by_number(struct hqd_devs *s, uint16_t number)
{
    int wi = hq_engine_window_index(&s->d->eng, number);
    if (wi < 0 || s->win_of[wi] < 0) return NULL;
    return &s->win[s->win_of[wi]];
}

static void devs__on_result(struct hq_daemon *d, const struct hq_cmd *cmd,
                            const struct hq_result *res, void *arg)
{
    struct hqd_devs *s = arg;
    (void)cmd;
    (void)d;
    for (size_t i = 0; i < res->n_fx; i++) {
        const struct hq_effect *fx = &res->fx[i];
        struct devs_win *w;
        switch (fx->type) {
        case HQ_FX_QUEUE:
            for (size_t k = 0; k < s->n_win; k++)
                if (s->win[k].c->keypad) devs__fx_bus(s, &s->win[k], fx);
            break;
        case HQ_FX_CALL:
        case HQ_FX_WINDOW:
            if (!(w = devs__win_by_number(s, fx->window))) break;
            devs__fx_bus(s, w, fx);
            if (w->led) w->led_want = LED_STATE;
            break;
        case HQ_FX_RATE_PROMPT:
        case HQ_FX_RATED:
        case HQ_FX_RATE_CLOSED:
            if ((w = devs__win_by_number(s, fx->window))) devs__fx_bus(s, w, fx);
            break;
        default:
            break;
        }
    }
    devs__stage_flush(s);
    for (size_t k = 0; k < s->n_win; k++)
        if (s->win[k].led_want) {
            s->win[k].led_want = LED_NONE;
            devs__bar_show(s, &s->win[k]);
        }
}

/* --------------------------------------------------------------- hall bus in */

static void devs__help(struct hqd_devs *s, struct devs_win *w)
{
    const struct hq_engine *e = &s->d->eng;
    s->help_calls++;
    LOG_NOTICE("DEVICES", "window %u asks the hall manager for help", w->c->window);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "help");
    cJSON_AddNumberToObject(o, "window", w->c->window);
    uint16_t staff = e->win[w->wi].staff;
    if (staff && staff <= e->cfg->n_staff)
        cJSON_AddStringToObject(o, "staff", e->cfg->staff[staff - 1].id);
    char ts[32];
    hq_time_rfc3339(hq_loop_wall_s(), e->cfg->utc_offset_s, ts);
    cJSON_AddStringToObject(o, "at", ts);
    if (s->d->api) hq_api_publish(s->d->api, "help", cJSON_Duplicate(o, 1));
    int rc = hq_store_begin(s->d->store);
    if (rc) {
        cJSON_Delete(o);
        return;
    }
    rc = hq_store_outbox_add(s->d->store, "event", hq_loop_wall_s(), o);
    hq_store_end(s->d->store, rc);
}

static void devs__hall_frame(const struct hallbus_frame *f, void *arg)
{
    struct devs_link *l = arg;
    struct hqd_devs *s = l->s;
    uint64_t now = devs__now(s);
    l->frames++;
    int wi = l->who[f->addr];
    struct devs_win *w = wi >= 0 ? &s->win[wi] : NULL;
    uint8_t b[HALLBUS_FRAME_MAX];
    struct hq_cmd cmd;
    if (f->func == HALLBUS_FUNC_RATING) {
        uint8_t raw;
        if (!w || w->c->pad != f->addr || hallbus_rating_decode(f, &raw)) {
            l->unknown++;
            return;
        }
        w->pad_heard_ms = now;
        if (hallbus_repeat_check(l->rep, f, now)) {
            /* The pad missed our answer and resends (§2): answer again, or it keeps resending
             * and shows the citizen a failure, but never count the rating twice. */
            l->repeats++;
            devs__send(l, w->pad_reply, w->pad_reply_len);
            return;
        }
        s->ratings++;
        int rc = hq_devices_rating_cmd(&w->hw, raw, &cmd);
        snprintf(cmd.actor, sizeof cmd.actor, "pad:%u", (unsigned)w->c->window); /* event log */
        if (!rc) rc = hqd_apply(s->d, &cmd);
        if (rc) {
            /* No rating pending (it timed out) or a key outside the map: the pad goes back to
             * its idle screen instead of waiting for an acknowledgement that never comes. */
            LOG_INFO("DEVICES", "window %u: rating key %u refused: %s", w->c->window, raw,
                     hq_strerror(rc));
            w->pad_reply_len =
                (uint8_t)hallbus_make_stars(f->addr, 0, w->pad_reply, sizeof w->pad_reply);
            devs__send(l, w->pad_reply, w->pad_reply_len);
        } else {
            /* The acknowledgement itself went out with the result (HQ_FX_RATED). */
            w->pad_reply_len =
                (uint8_t)hallbus_make_rating_ack(f->addr, raw, w->pad_reply, sizeof w->pad_reply);
        }
        return;
    }
    if (!w || w->c->keypad != f->addr) {
        l->unknown++;
        return;
    }
    /* Echo first, a repeat too (§2: every key frame is echoed): the keypad resends until it
     * hears its frame back. */
    devs__send(l, b, hallbus_encode(f, b, sizeof b));
    w->keypad_heard_ms = now;
    if (hallbus_repeat_check(l->rep, f, now)) {
        l->repeats++;
        return;
    }
    struct hallbus_key k;
    s->keys++;
    int out = hallbus_key_decode(f, &k) ? HQ_KEY_IGNORED
                                        : hq_devices_key_cmd(&s->d->eng, w->c->window, &k, &cmd);
    if (out == HQ_KEY_HELP) {
        devs__help(s, w);
        devs__send(l, b, hallbus_make_beep(f->addr, b, sizeof b));
        return;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* the keypad's commands are the window's own device's in the event log (its login has
     * no PIN: docs/DESIGN.md "Staff sessions") */
    snprintf(cmd.actor, sizeof cmd.actor, "keypad:%u", (unsigned)w->c->window);
    int rc = out == HQ_KEY_CMD ? hqd_apply(s->d, &cmd) : HQ_ERR_INVALID;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!rc)
        s->lat[s->n_lat++ % DEVS_LAT] =
            (uint32_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
    if (rc) {
        /* A key that cannot apply (nobody waiting, not logged in) beeps: the clerk hears it. */
        s->refused++;
        LOG_INFO("DEVICES", "window %u: key %s refused: %s", w->c->window,
                 out == HQ_KEY_CMD ? hallbus_action_name(k.action) : "?", hq_strerror(rc));
        devs__send(l, b, hallbus_make_beep(f->addr, b, sizeof b));
    }
}

static void devs__hall_input(struct devs_link *l, const uint8_t *b, size_t n)
{
    hallbus_lexer_feed(&l->hlx, b, n, devs__hall_frame, l);
    uint64_t bad =
        (uint64_t)l->hlx.bad_length + l->hlx.bad_header + l->hlx.bad_checksum + l->hlx.bad_end;
    uint64_t garbage = l->hlx.garbage;
    devs__bad(l, bad - l->lexer_bad_seen, garbage - l->lexer_garbage_seen);
    l->lexer_bad_seen = bad;
    l->lexer_garbage_seen = garbage;
}

/* --------------------------------------------------------------- ID cards */

/* What the kiosk page may know of the card on its reader: never the number or the name. */
static cJSON *devs__card_json(const struct devs_link *l, bool present)
{
    const struct hq_config *c = &l->s->d->cfg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "present", present);
    cJSON_AddStringToObject(o, "kiosk", c->readers[l->cfg_idx].kiosk);
    if (present) {
        cJSON_AddStringToObject(o, "name_masked", l->cardid.name);
        cJSON_AddStringToObject(o, "card_type", idcard_type_name(l->cardid.type));
        cJSON_AddStringToObject(o, "card_type_zh", idcard_type_name_zh(l->cardid.type));
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
static void devs__card_publish(struct devs_link *l, bool present, const struct idcard_event *ev)
{
    struct hqd_devs *s = l->s;
    if (!s->d->api) return;
    cJSON *o = devs__card_json(l, present);
    if (ev) {
        cJSON_AddStringToObject(o, "error", hq_strerror(ev->err));
        cJSON_AddStringToObject(o, "reason", idcard_fault_text_zh(ev->fault));
        cJSON_AddStringToObject(o, "reason_en", idcard_fault_text_en(ev->fault));
        cJSON_AddNumberToObject(o, "tries", ev->tries);
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

/* First character, then stars, in at most 15 bytes: the ticket keeps 16 with the NUL. */
static void devs__cap_mask(const char *in, char out[16])
{
    size_t first = 1;
    unsigned char c = (unsigned char)in[0];
    if (c >= 0xf0)
        first = 4;
    else if (c >= 0xe0)
        first = 3;
    else if (c >= 0xc0)
        first = 2;
    size_t o = 0;
    for (; o < first && in[o]; o++)
        out[o] = in[o];
    for (const char *p = in + o; *p && o < 15; p++)
        if (*p == '*') out[o++] = '*';
    out[o] = '\0';
}

static void devs__reader_event(struct devs_link *l, struct idcard_event *ev)
{
    switch (ev->type) {
    case IDCARD_EV_CARD:
        l->reads++;
        l->card = true;
        l->card_at_ms = devs__now(l->s);
        l->cardid.type = ev->id.type;
        memcpy(l->cardid.hash, ev->id.id_hash, sizeof l->cardid.hash);
        l->cardid.birth_ymd = ev->id.birth_ymd;
        devs__cap_mask(ev->id.name_masked, l->cardid.name);
        LOG_INFO("DEVICES", "%s: %s card read", l->id, idcard_type_name(ev->id.type));
        devs__card_publish(l, true, NULL);
        break;
    case IDCARD_EV_REMOVED:
        LOG_INFO("DEVICES", "%s: card removed", l->id);
        devs__card_clear(l, true);
        break;
    case IDCARD_EV_READ_ERROR:
        l->read_errors++;
        devs__card_clear(l, true);
        /* Say what was wrong (never the card's data): the status the reader answered, or
         * what in the text failed, e.g. the number's check character. Not through the
         * per-link rate limit: it is one line per placement (after three reads), and the
         * link's own online/offline lines must not hide it. */
        LOG_WARN("DEVICES", "%s: card could not be read (%u tries): %s%s%s%s", l->id, ev->tries,
                 idcard_fault_text_en(ev->fault), ev->sw3 ? " (SW3 " : "",
                 ev->sw3 ? idcard_sw3_text_en(ev->sw3) : "", ev->sw3 ? ")" : "");
        devs__card_publish(l, false, ev);
        break;
    case IDCARD_EV_ONLINE:
        devs__set_health(l, HQ_DEV_ONLINE, HQ_OK, "%s", "");
        break;
    case IDCARD_EV_OFFLINE:
        devs__card_clear(l, true);
        devs__set_health(l, HQ_DEV_OFFLINE, HQ_ERR_TIMEOUT, "no answer for %d s",
                         IDCARD_OFFLINE_MS / 1000);
        break;
    default:
        break;
    }
    explicit_bzero(ev, sizeof *ev);
}

static void devs__reader_timer(struct hq_loop *loop, void *arg);

/* Run the reader machine: send what is due, take its events, sleep until it next needs us. */
static void devs__reader_pump(struct devs_link *l)
{
    if (!l->rd || l->fd < 0 || l->connecting) return;
    uint64_t now = devs__now(l->s);
    uint8_t out[IDCARD_CMD_FRAME_LEN];
    size_t n = idcard_reader_step(l->rd, now, out);
    if (n) {
        l->frames++;
        devs__send(l, out, n);
    }
    uint64_t bad = (uint64_t)l->rd->lx.bad_checksum + l->rd->lx.bad_length;
    devs__bad(l, bad - l->lexer_bad_seen, l->rd->lx.garbage - l->lexer_garbage_seen);
    l->lexer_bad_seen = bad;
    l->lexer_garbage_seen = l->rd->lx.garbage;
    struct idcard_event ev;
    while (idcard_reader_next_event(l->rd, &ev))
        devs__reader_event(l, &ev);
    uint64_t wake = idcard_reader_wake_ms(l->rd);
    if (l->timer) hq_loop_timer_cancel(l->s->d->loop, l->timer);
    l->timer = hq_loop_timer(l->s->d->loop, wake > now ? wake - now : 0, devs__reader_timer, l);
}

static void devs__reader_timer(struct hq_loop *loop, void *arg)
{
    struct devs_link *l = arg;
    (void)loop;
    l->timer = 0;
    devs__reader_pump(l);
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
        if (l->kind != LINK_READER || !l->card) continue;
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

/* The line is open (and connected): start talking. */
static void devs__up(struct devs_link *l)
{
    struct hqd_devs *s = l->s;
    const struct hq_config *c = &s->d->cfg;
    uint64_t now = devs__now(s);
    l->opens++;
    l->bad_recent = 0;
    switch (l->kind) {
    case LINK_READER:
        l->rd = calloc(1, sizeof *l->rd);
        if (!l->rd) {
            devs__set_health(l, HQ_DEV_FAULTY, HQ_ERR_NOMEM, "out of memory");
            return;
        }
        idcard_reader_init(l->rd, (const uint8_t *)c->id_hash_key, strlen(c->id_hash_key),
                           c->readers[l->cfg_idx].fingerprint, now);
        l->lexer_bad_seen = l->lexer_garbage_seen = 0;
        /* The port is open but a reader is only online when it answers. */
        devs__set_health(l, HQ_DEV_OFFLINE, HQ_ERR_TIMEOUT,
                         "port %s open, reader not answering yet", hq_serial_name(l->sl.s));
        devs__reader_pump(l);
        break;
    case LINK_HALL:
        hallbus_lexer_init(&l->hlx);
        hallbus_repeat_init(l->rep);
        l->lexer_bad_seen = l->lexer_garbage_seen = 0;
        devs__set_health(l, HQ_DEV_ONLINE, HQ_OK, "%s", "");
        for (size_t i = 0; i < s->n_win; i++) {
            struct devs_win *w = &s->win[i];
            if (w->bus != l || !w->c->keypad) continue;
            w->disp_len = 0; /* a keypad back on the line shows nothing until told */
            struct hq_effect fx = {.type = HQ_FX_WINDOW, .window = w->c->window, .ticket = -1};
            devs__fx_bus(s, w, &fx);
        }
        devs__stage_flush(s);
        break;
    case LINK_LED:
        memset(&l->la, 0, sizeof l->la);
        l->inflight = -1;
        l->q_n = 0;
        devs__set_health(l, HQ_DEV_ONLINE, HQ_OK, "%s", "");
        if (s->blanked) {
            uint8_t f[16];
            devs__led_frame(l, f,
                            ledbar_encode(LEDBAR_BROADCAST, LEDBAR_CMD_SHOW, NULL, 0, f, sizeof f));
        }
        for (size_t i = 0; i < s->n_win; i++) {
            if (s->win[i].led != l) continue;
            devs__bar_store_idle(s, &s->win[i]);
            devs__bar_show(s, &s->win[i]);
        }
        break;
    }
}

static void devs__lost(struct devs_link *l, const char *why)
{
    struct hqd_devs *s = l->s;
    if (l->fd >= 0) hq_loop_del_fd(s->d->loop, l->fd);
    l->fd = -1;
    l->connecting = l->broken = false;
    l->out_len = 0;
    if (l->timer) hq_loop_timer_cancel(s->d->loop, l->timer);
    if (l->ack_timer) hq_loop_timer_cancel(s->d->loop, l->ack_timer);
    l->timer = l->ack_timer = 0;
    l->q_n = 0;
    l->inflight = -1;
    if (l->rd) {
        idcard_reader_free(l->rd);
        free(l->rd);
        l->rd = NULL;
    }
    devs__card_clear(l, true);
    /* A serial server that accepts and hangs up at once would otherwise be retried (and its
     * health recorded) twice a second for ever: a link that did not stay up keeps backing
     * off as if the open had failed. */
    if (devs__now(s) - l->up_at_ms < 5000 && l->prev_backoff > l->sl.backoff_ms)
        l->sl.backoff_ms = l->prev_backoff;
    hq_serial_link_lost(&l->sl, devs__now(s));
    devs__set_health(l, HQ_DEV_OFFLINE, HQ_ERR_IO, "%s", why);
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
        devs__set_health(l, rc == HQ_ERR_CONFIG ? HQ_DEV_FAULTY : HQ_DEV_OFFLINE, rc,
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
                devs__lost(l, l->kind == LINK_READER || hq_serial_kind(l->sl.s) != HQ_SERIAL_TCP
                                  ? "link lost (unplugged?)"
                                  : "the serial server closed the connection");
                return;
            }
            if (!got) break;
            total += got;
            l->rx_bytes += got;
            /* A reader's answer holds the whole card: never dumped, not even at level hex. */
            if (l->kind != LINK_READER) LOG_HEX("DEVICES", l->id, buf, got);
            switch (l->kind) {
            case LINK_READER:
                idcard_reader_input(l->rd, buf, got, devs__now(l->s));
                explicit_bzero(buf, got); /* a read answer holds the whole card */
                break;
            case LINK_HALL:
                devs__hall_input(l, buf, got);
                break;
            case LINK_LED:
                devs__led_input(l, buf, got);
                break;
            }
            if (l->fd < 0) return; /* lost while handling (a write failed hard) */
        }
        if (l->kind == LINK_READER) devs__reader_pump(l);
    }
    if (l->broken) devs__lost(l, "write failed: link lost");
}

/* ------------------------------------------------------------ housekeeping */

/* Minute of the day from which the bars are blanked today, -1 = not today. */
static int devs__blank_minute(struct hqd_devs *s, int32_t day)
{
    const struct hq_config *c = &s->d->cfg;
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

static void devs__blank_check(struct hqd_devs *s)
{
    const struct hq_engine *e = &s->d->eng;
    int64_t now = hq_loop_wall_s();
    int32_t day = hq_engine_day_of(e->cfg, now);
    int minute = (int)((now + e->cfg->utc_offset_s - (int64_t)day * 86400) / 60);
    int blank_min = devs__blank_minute(s, day);
    bool any_open = false;
    for (size_t i = 0; i < e->cfg->n_services && !any_open; i++)
        any_open = hq_engine_service_open(e, i, now);
    bool fixed = strcmp(s->d->cfg.led_blank_at, "auto") != 0;
    bool should = blank_min >= 0 && minute >= blank_min && (fixed || !any_open);
    if (!s->blanked && should && s->blank_day != day) {
        s->blanked = true;
        s->blank_day = day;
        LOG_NOTICE("DEVICES", "closing time: LED bars blanked");
        for (size_t i = 0; i < s->n_links; i++) {
            struct devs_link *l = &s->links[i];
            if (l->kind != LINK_LED || l->fd < 0 || l->connecting) continue;
            uint8_t f[16];
            devs__led_frame(l, f,
                            ledbar_encode(LEDBAR_BROADCAST, LEDBAR_CMD_SHOW, NULL, 0, f, sizeof f));
        }
        for (size_t i = 0; i < s->n_win; i++)
            if (s->win[i].led && e->win[s->win[i].wi].current >= 0) devs__bar_show(s, &s->win[i]);
    } else if (s->blanked && any_open && (blank_min < 0 || minute < blank_min)) {
        s->blanked = false;
        LOG_NOTICE("DEVICES", "the hall opens: LED bars show their texts again");
        for (size_t i = 0; i < s->n_win; i++)
            if (s->win[i].led) devs__bar_show(s, &s->win[i]);
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
        if (l->st.health == HQ_DEV_FAULTY && l->st.err == HQ_ERR_PROTO &&
            now - l->last_bad_ms >= DEVS_BAD_WINDOW_MS) {
            l->bad_recent = 0;
            devs__set_health(l, HQ_DEV_ONLINE, HQ_OK, "clean again for %d s",
                             DEVS_BAD_WINDOW_MS / 1000);
        }
    }
    devs__blank_check(s);
    devs__flush_displays(s);
    s->house_timer = hq_loop_timer(loop, DEVS_HOUSE_MS, devs__house, s);
}

/* ------------------------------------------------------------------ status */

static int devs__cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void devs__status_part(struct hq_daemon *d, cJSON *status, void *arg)
{
    struct hqd_devs *s = arg;
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(status, "devices");
    if (!arr) arr = cJSON_AddArrayToObject(status, "devices");
    uint64_t now = hq_loop_now_ms(d->loop);
    for (size_t i = 0; i < s->n_links; i++)
        cJSON_AddItemToArray(arr, devs__link_json(&s->links[i]));
    for (size_t i = 0; i < s->n_win; i++) {
        const struct devs_win *w = &s->win[i];
        static const char *const kinds[2] = {"keypad", "rating_pad"};
        uint8_t addrs[2] = {w->c->keypad, w->c->pad};
        uint64_t heard[2] = {w->keypad_heard_ms, w->pad_heard_ms};
        for (int k = 0; k < 2; k++) {
            if (!addrs[k] || !w->bus) continue;
            char id[64];
            snprintf(id, sizeof id, "%s:%s:%u", kinds[k], w->bus->id + 4, addrs[k]);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", id);
            cJSON_AddStringToObject(o, "type", kinds[k]);
            cJSON_AddNumberToObject(o, "window", w->c->window);
            cJSON_AddNumberToObject(o, "address", addrs[k]);
            /* A keypad only talks when a key is pressed: its line's health is its health. */
            cJSON_AddStringToObject(o, "health", devs__health_name(w->bus->st.health));
            cJSON_AddStringToObject(o, "text", devs__health_zh(w->bus->st.health));
            if (heard[k])
                cJSON_AddNumberToObject(o, "last_heard_s", (double)((now - heard[k]) / 1000));
            else
                cJSON_AddNullToObject(o, "last_heard_s");
            cJSON_AddItemToArray(arr, o);
        }
        if (w->led) cJSON_AddItemToArray(arr, devs__bar_json(w));
    }
    /* The card on a reader, for a kiosk page that (re)loads while a card lies there. */
    const struct devs_link *newest = NULL, *reader = NULL;
    for (size_t i = 0; i < s->n_links; i++) {
        const struct devs_link *l = &s->links[i];
        if (l->kind != LINK_READER) continue;
        if (!reader) reader = l;
        if (l->card && (!newest || l->card_at_ms > newest->card_at_ms)) newest = l;
    }
    if (reader) {
        cJSON_AddItemToObject(status, "card",
                              devs__card_json(newest ? newest : reader, newest != NULL));
        /* every kiosk's reader, for a page that knows its kiosk */
        cJSON *cards = cJSON_AddArrayToObject(status, "cards");
        for (size_t i = 0; i < s->n_links; i++)
            if (s->links[i].kind == LINK_READER)
                cJSON_AddItemToArray(cards, devs__card_json(&s->links[i], s->links[i].card));
    }
    cJSON *sum = cJSON_AddObjectToObject(status, "device_keys");
    cJSON_AddNumberToObject(sum, "keys", (double)s->keys);
    cJSON_AddNumberToObject(sum, "ratings", (double)s->ratings);
    cJSON_AddNumberToObject(sum, "refused", (double)s->refused);
    cJSON_AddNumberToObject(sum, "help_calls", (double)s->help_calls);
    cJSON_AddBoolToObject(sum, "bars_blanked", s->blanked);
    /* What hallqd itself spends on a key (engine, commit, frames out), apart from the wire. */
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
               s->links[i].st.health == HQ_DEV_ONLINE);
    static const char *const names[] = {"rx_bytes", "garbage_bytes", "bad_frames", "dropped_frames",
                                        "opens"};
    for (size_t m = 0; m < HQ_ARRAY_LEN(names); m++) {
        DEVS_M("# TYPE hallq_device_%s_total counter\n", names[m]);
        for (size_t i = 0; i < s->n_links; i++) {
            const struct devs_link *l = &s->links[i];
            uint64_t v[] = {l->rx_bytes, l->garbage, l->bad_frames, l->dropped, l->opens};
            DEVS_M("hallq_device_%s_total{device=\"%s\"} %llu\n", names[m], l->id,
                   (unsigned long long)v[m]);
        }
    }
    DEVS_M("# TYPE hallq_device_keys_total counter\nhallq_device_keys_total %llu\n"
           "# TYPE hallq_device_help_calls_total counter\nhallq_device_help_calls_total %llu\n",
           (unsigned long long)s->keys, (unsigned long long)s->help_calls);
#undef DEVS_M
    return b;
}

/* ---------------------------------------------------------------- start/stop */

static int devs__link_init(struct hqd_devs *s, struct devs_link *l, int kind, int idx,
                           const char *name, const char *port, uint32_t baud, unsigned flags)
{
    l->s = s;
    l->kind = kind;
    l->cfg_idx = idx;
    l->fd = -1;
    l->inflight = -1;
    l->port = port;
    snprintf(l->id, sizeof l->id, "%s:%s", kind == LINK_READER ? "reader" : "bus", name);
    for (int a = 0; a < 256; a++)
        l->who[a] = -1;
    l->st.health = HQ_DEV_UNKNOWN;
    if (kind == LINK_HALL && !(l->rep = calloc(1, sizeof *l->rep))) return HQ_ERR_NOMEM;
    return hq_serial_link_init(&l->sl, port, (int)baud, flags);
}

int hqd_devices_init(struct hq_daemon *d)
{
    const struct hq_config *c = &d->cfg;
    struct hqd_devs *s = calloc(1, sizeof *s);
    if (!s) return HQ_ERR_NOMEM;
    s->d = d;
    s->blank_day = -1;
    s->n_links = (size_t)c->n_readers + (size_t)c->n_buses;
    s->links = calloc(s->n_links ? s->n_links : 1, sizeof *s->links);
    s->win = calloc(c->n_devwins ? c->n_devwins : 1, sizeof *s->win);
    s->win_of = calloc(c->engine.n_windows ? c->engine.n_windows : 1, sizeof *s->win_of);
    int rc = HQ_ERR_NOMEM;
    if (!s->links || !s->win || !s->win_of) goto fail;
    for (size_t i = 0; i < c->engine.n_windows; i++)
        s->win_of[i] = -1;
    size_t li = 0;
    for (int i = 0; i < c->n_readers; i++, li++) {
        const struct hq_reader_cfg *r = &c->readers[i];
        rc = devs__link_init(s, &s->links[li], LINK_READER, i, r->kiosk, r->port, r->baud, 0);
        if (rc) goto fail;
    }
    struct devs_link *bus_link[HQ_CFG_MAX_BUSES] = {0};
    for (int i = 0; i < c->n_buses; i++, li++) {
        const struct hq_bus_cfg *b = &c->buses[i];
        unsigned flags =
            (b->rs485 ? HQ_SERIAL_RS485 : 0) | (b->rs485_rts_low ? HQ_SERIAL_RS485_RTS_LOW : 0);
        bool led = strcmp(b->type, "led") == 0;
        rc = devs__link_init(s, &s->links[li], led ? LINK_LED : LINK_HALL, i, b->id, b->port,
                             b->baud, flags);
        if (rc) goto fail;
        s->links[li].ack = b->acknowledge;
        bus_link[i] = &s->links[li];
    }
    for (size_t i = 0; i < c->n_devwins; i++) {
        const struct hq_devwin_cfg *dc = &c->devwins[i];
        struct devs_win *w = &s->win[s->n_win];
        w->c = dc;
        w->wi = hq_engine_window_index(&d->eng, dc->window);
        if (w->wi < 0) continue; /* the config checked it; the engine agrees */
        w->hw.window = dc->window;
        w->hw.keypad = dc->keypad;
        w->hw.pad = dc->pad;
        if (strcmp(dc->pad_type, "four") == 0) {
            hallbus_padmap_four(&w->map);
            if (dc->pad_map[0] && hallbus_padmap_parse(&w->map, dc->pad_map)) {
                rc = HQ_ERR_CONFIG;
                goto fail;
            }
            w->hw.padmap = &w->map;
        }
        w->bus = dc->bus_idx >= 0 ? bus_link[dc->bus_idx] : NULL;
        w->led = dc->bar && dc->led_bus_idx >= 0 ? bus_link[dc->led_bus_idx] : NULL;
        w->last_waiting = -1;
        char num[8];
        snprintf(num, sizeof num, "%u", dc->window);
        if (ledbar_template_expand(dc->idle_text[0] ? dc->idle_text : c->led_idle_text, "", num,
                                   c->engine.windows[w->wi].name, w->idle, sizeof w->idle))
            snprintf(w->idle, sizeof w->idle, "%s", c->engine.windows[w->wi].name);
        if (w->bus) {
            if (dc->keypad) w->bus->who[dc->keypad] = (int16_t)s->n_win;
            if (dc->pad) w->bus->who[dc->pad] = (int16_t)s->n_win;
        }
        if (w->led) {
            w->led->who[dc->bar] = (int16_t)s->n_win;
            w->led->q_cap++;
            w->bar_st.health = HQ_DEV_UNKNOWN;
        }
        s->win_of[w->wi] = (int16_t)s->n_win;
        s->n_win++;
    }
    for (size_t i = 0; i < s->n_links; i++) {
        struct devs_link *l = &s->links[i];
        if (l->kind != LINK_LED) continue;
        l->q_cap = l->q_cap * 2 + 2; /* an idle text and a show per bar, and broadcasts */
        if (!(l->q = calloc(l->q_cap, sizeof *l->q))) goto fail;
    }
    if ((rc = hqd_on_result(d, devs__on_result, s))) goto fail;
    if (d->api && (rc = hq_api_status_part(d->api, devs__status_part, s))) goto fail;
    if (d->api && (rc = hq_api_metrics_part(d->api, devs__metrics, s))) goto fail;
    if (c->n_readers) {
        d->fill_card = devs__fill_card;
        d->card_hash_of = devs__card_hash_of;
        d->fill_card_arg = s;
    }
    devs__self = s;
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
    for (size_t i = 0; s->links && i < s->n_links; i++) {
        free(s->links[i].rep);
        free(s->links[i].q);
    }
    free(s->links);
    free(s->win);
    free(s->win_of);
    free(s);
    return rc;
}

void hqd_devices_fini(struct hq_daemon *d)
{
    struct hqd_devs *s = devs__self;
    if (!s) return;
    if (d->fill_card == devs__fill_card) {
        d->fill_card = NULL;
        d->card_hash_of = NULL;
        d->fill_card_arg = NULL;
    }
    if (s->house_timer) hq_loop_timer_cancel(d->loop, s->house_timer);
    for (size_t i = 0; i < s->n_links; i++) {
        struct devs_link *l = &s->links[i];
        if (l->fd >= 0) hq_loop_del_fd(d->loop, l->fd);
        if (l->timer) hq_loop_timer_cancel(d->loop, l->timer);
        if (l->ack_timer) hq_loop_timer_cancel(d->loop, l->ack_timer);
        if (l->rd) {
            idcard_reader_free(l->rd);
            free(l->rd);
        }
        explicit_bzero(&l->cardid, sizeof l->cardid);
        hq_serial_link_close(&l->sl);
        free(l->rep);
        free(l->q);
    }
    free(s->links);
    free(s->win);
    free(s->win_of);
    free(s->stage);
    free(s);
    devs__self = NULL;
}
