/*
 * hqd_gpio.c — GPIO devices in the running daemon: kiosk buttons (one per service), the
 * status LEDs, the printer's paper-near-end sensor and the cabinet door switch. Every input is
 * a non-blocking event fd on the one loop; a line that is missing, busy or fails is reported
 * (offline / faulty with the reason) and retried, never a reason to stop hallqd.
 *
 *   line fd ─► hal/gpio edges (kernel stamps) ─► gpio_input_align ─► debouncer ─┐
 *   loop timer at the debouncer's deadline ─────────────────────────► debouncer ─┤
 *                                                                                ▼
 *          button ON ─► HQ_CMD_ISSUE (channel button) ─► hqd_apply ─► printed as any ticket
 *          paper ON/OFF ─► hq_print_set_sensor (printer "near_end") + SSE alarm
 *          door ON/OFF ─► SSE alarm + outbox event "door"
 *
 *   1 s timer ─► hq_print_faults(), hqd_devices_faults(), the GPIO lines' own health ─► LEDs
 *
 * Decision (LEDs): they ask the printing module and the device host for their faults every
 * second — the same health records the status and the dashboard show (health.h), so the
 * LEDs never disagree with them — rather than hooking those modules; a second of lag is
 * nothing for a lamp.
 */
#include "hqd_gpio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "gpio.h"
#include "gpio_input.h"
#include "health.h"
#include "hqd_devices.h"
#include "hqd_print.h"
#include "store.h"

#define GPIO_RETRY_MS 5000 /* offline and faulty lines are requested again this often */
#define GPIO_LED_MS 1000
#define GPIO_READS_PER_WAKE 4 /* batches of 16 edges; a chattering line waits its turn */
#define GPIO_CONSUMER "hallqd"

enum { GL_BUTTON = 0, GL_PAPER, GL_DOOR, GL_LED_PRINTER, GL_LED_DEVICE };
static const char *const gl_type[] = {"gpio_button", "paper_sensor", "door_switch", "status_led",
                                      "status_led"};
static const char *const gl_name[] = {"button", "paper", "door", "led_printer", "led_device"};

struct hqd_gpio;

struct gline {
    struct hqd_gpio *s;
    int role;
    unsigned offset;
    bool active_low;
    int button; /* index into cfg.gpio_buttons */
    char id[48];
    struct hq_gpio_line *hl; /* NULL while offline or faulty */
    bool fd_added;
    struct hq_health_rec h; /* the one device health model (health.h) */
    struct gpio_debounce db;
    uint64_t db_timer;
    bool active; /* inputs: the debounced level; LEDs: lit now */
    bool set_ok; /* LEDs: the last set worked */
    uint64_t edges, presses, refused, read_errors, set_errors, opens;
};

struct hqd_gpio {
    struct hq_daemon *d;
    struct gline l[HQ_CFG_MAX_GPIO_BUTTONS + 4];
    size_t n;
    uint64_t retry_timer, led_timer;
    bool paper_near_end, door_open;
    bool want_printer, want_device; /* what the LEDs should show */
};

/* ------------------------------------------------------------------ health */

static cJSON *hqd_gpio__line_json(const struct gline *l)
{
    const struct hq_config *c = &l->s->d->cfg;
    cJSON *o = cJSON_CreateObject();
    char ts[32];
    cJSON_AddStringToObject(o, "id", l->id);
    cJSON_AddStringToObject(o, "type", gl_type[l->role]);
    cJSON_AddStringToObject(o, "chip", c->gpio_chip);
    cJSON_AddNumberToObject(o, "line", l->offset);
    hq_health_json(&l->h, o);
    if (l->h.since_wall) {
        hq_time_rfc3339(l->h.since_wall, c->engine.utc_offset_s, ts);
        cJSON_AddStringToObject(o, "since", ts);
    }
    cJSON_AddBoolToObject(o, "active", l->active);
    if (l->role == GL_BUTTON) {
        cJSON_AddStringToObject(o, "service", c->gpio_buttons[l->button].service);
        cJSON_AddNumberToObject(o, "presses", (double)l->presses);
        cJSON_AddNumberToObject(o, "refused", (double)l->refused);
    }
    if (l->role == GL_LED_PRINTER || l->role == GL_LED_DEVICE) {
        cJSON_AddStringToObject(o, "shows",
                                l->role == GL_LED_PRINTER ? "printer_fault" : "device_fault");
        cJSON_AddNumberToObject(o, "set_errors", (double)l->set_errors);
    } else {
        cJSON_AddNumberToObject(o, "edges", (double)l->edges);
        cJSON_AddNumberToObject(o, "read_errors", (double)l->read_errors);
    }
    cJSON_AddNumberToObject(o, "opens", (double)l->opens);
    return o;
}

/* One outbox record in its own transaction (the central server hears of doors and health). */
static void hqd_gpio__record(struct hqd_gpio *s, cJSON *o)
{
    struct hq_daemon *d = s->d;
    int rc = hq_store_begin(d->store);
    if (rc) {
        LOG_WARN("GPIO", "event not recorded: %s", hq_strerror(rc));
        cJSON_Delete(o);
        return;
    }
    rc = hq_store_outbox_add(d->store, "event", hq_loop_wall_s(), o);
    rc = hq_store_end(d->store, rc);
    if (rc) LOG_WARN("GPIO", "event not recorded: %s", hq_strerror(rc));
}

static void hqd_gpio__set_health(struct gline *l, int health, int err, const char *reason)
{
    struct hq_daemon *dd = l->s->d;
    if (!hq_health_set(&l->h, health, err, reason, hq_loop_now_ms(dd->loop), hq_loop_wall_s()))
        return;
    HQ_LOG(health == HQ_HEALTH_ONLINE ? HQ_LOG_NOTICE : HQ_LOG_WARN, "GPIO", "%s: %s%s%s", l->id,
           hq_health_name(health), reason[0] ? ": " : "", reason);
    struct hq_daemon *d = l->s->d;
    if (d->api) hq_api_publish(d->api, "device", hqd_gpio__line_json(l));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "device");
    cJSON_AddStringToObject(o, "device", l->id);
    cJSON_AddStringToObject(o, "type", gl_type[l->role]);
    cJSON_AddStringToObject(o, "health", hq_health_name(health));
    cJSON_AddStringToObject(o, "reason", reason);
    hqd_gpio__record(l->s, o);
}

/* ------------------------------------------------------------------ alarms */

static void hqd_gpio__alarm(struct hqd_gpio *s, const char *kind, bool raised, const char *zh,
                            const char *en)
{
    struct hq_daemon *d = s->d;
    if (raised)
        LOG_WARN("GPIO", "alarm: %s", en);
    else
        LOG_NOTICE("GPIO", "alarm cleared: %s", en);
    if (!d->api) return;
    cJSON *o = cJSON_CreateObject();
    char ts[32];
    hq_time_rfc3339(hq_loop_wall_s(), d->cfg.engine.utc_offset_s, ts);
    cJSON_AddStringToObject(o, "source", "gpio");
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddBoolToObject(o, "raised", raised);
    cJSON_AddStringToObject(o, "at", ts);
    cJSON_AddStringToObject(o, "text", zh);
    cJSON_AddStringToObject(o, "text_en", en);
    hq_api_publish(d->api, "alarm", o);
}

static void hqd_gpio__paper(struct hqd_gpio *s, bool near_end)
{
    if (s->paper_near_end == near_end) return;
    s->paper_near_end = near_end;
    /* no printer configured: the alarm still stands on its own */
    hq_print_set_sensor(s->d, near_end);
    hqd_gpio__alarm(s, "paper_near_end", near_end,
                    near_end ? "取号机打印纸将尽，请及时更换" : "取号机打印纸已补充",
                    near_end ? "ticket printer paper near its end"
                             : "ticket printer paper refilled");
}

static void hqd_gpio__door(struct hqd_gpio *s, bool open, unsigned offset)
{
    if (s->door_open == open) return;
    s->door_open = open;
    hqd_gpio__alarm(s, "door", open, open ? "设备机箱门已打开" : "设备机箱门已关闭",
                    open ? "cabinet door opened" : "cabinet door closed");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "door");
    cJSON_AddBoolToObject(o, "open", open);
    cJSON_AddNumberToObject(o, "line", offset);
    hqd_gpio__record(s, o);
}

/* --------------------------------------------------------------- inputs */

static void hqd_gpio__button(struct gline *l)
{
    struct hq_daemon *d = l->s->d;
    const struct hq_gpio_button_cfg *b = &d->cfg.gpio_buttons[l->button];
    struct hq_cmd cmd = {.type = HQ_CMD_ISSUE};
    cmd.u.issue.service = b->service_idx;
    cmd.u.issue.channel = HQ_CHAN_BUTTON;
    snprintf(cmd.actor, sizeof cmd.actor, "button:%u", (unsigned)l->button); /* event log */
    l->presses++;
    int rc = hqd_apply(d, &cmd);
    if (rc) {
        l->refused++;
        LOG_NOTICE("GPIO", "%s: ticket of service %s refused: %s", l->id, b->service,
                   hq_strerror(rc));
        return;
    }
    LOG_INFO("GPIO", "%s: ticket of service %s issued", l->id, b->service);
}

static void hqd_gpio__changed(struct gline *l, int ev)
{
    if (ev == GPIO_DB_NONE) return;
    l->active = ev == GPIO_DB_ON;
    switch (l->role) {
    case GL_BUTTON:
        if (l->active) hqd_gpio__button(l);
        break;
    case GL_PAPER:
        hqd_gpio__paper(l->s, l->active);
        break;
    case GL_DOOR:
        hqd_gpio__door(l->s, l->active, l->offset);
        break;
    }
}

static void hqd_gpio__db_timer(struct hq_loop *loop, void *arg);

static void hqd_gpio__db_arm(struct gline *l)
{
    struct hq_loop *loop = l->s->d->loop;
    if (l->db_timer) hq_loop_timer_cancel(loop, l->db_timer);
    l->db_timer = 0;
    uint64_t at = gpio_debounce_deadline(&l->db);
    if (!at) return;
    uint64_t now = hq_loop_now_ms(loop);
    l->db_timer = hq_loop_timer(loop, at > now ? at - now : 0, hqd_gpio__db_timer, l);
}

static void hqd_gpio__db_timer(struct hq_loop *loop, void *arg)
{
    struct gline *l = arg;
    l->db_timer = 0;
    hqd_gpio__changed(l, gpio_debounce_poll(&l->db, hq_loop_now_ms(loop)));
    hqd_gpio__db_arm(l);
}

static void hqd_gpio__close(struct gline *l)
{
    struct hq_loop *loop = l->s->d->loop;
    if (l->fd_added) hq_loop_del_fd(loop, hq_gpio_fd(l->hl));
    l->fd_added = false;
    if (l->db_timer) hq_loop_timer_cancel(loop, l->db_timer);
    l->db_timer = 0;
    hq_gpio_close(l->hl);
    l->hl = NULL;
}

static void hqd_gpio__on_fd(struct hq_loop *loop, int fd, uint32_t events, void *arg)
{
    struct gline *l = arg;
    (void)fd, (void)events;
    for (int r = 0; r < GPIO_READS_PER_WAKE && l->hl; r++) {
        struct hq_gpio_edge ev[16];
        char why[HQ_GPIO_WHY_MAX] = "";
        int n = hq_gpio_read_edges(l->hl, ev, 16, why, sizeof why);
        if (n < 0) {
            /* the loop goes on; the line is requested again by the retry timer */
            l->read_errors++;
            hqd_gpio__close(l);
            hqd_gpio__set_health(l, HQ_HEALTH_FAULTY, -n, why);
            return;
        }
        if (!n) break;
        uint64_t ts[16], t[16];
        for (int i = 0; i < n; i++)
            ts[i] = ev[i].ts_ns;
        gpio_input_align(ts, (size_t)n, hq_loop_now_ms(loop), t);
        for (int i = 0; i < n; i++) {
            l->edges++;
            hqd_gpio__changed(l, gpio_debounce_edge(
                                     &l->db, gpio_input_active(ev[i].rising, l->active_low), t[i]));
        }
        if (n < 16) break;
    }
    if (l->hl) hqd_gpio__db_arm(l);
}

/* ------------------------------------------------------------------ LEDs */

static bool hqd_gpio__is_led(const struct gline *l)
{
    return l->role == GL_LED_PRINTER || l->role == GL_LED_DEVICE;
}

static void hqd_gpio__led_apply(struct gline *l)
{
    struct hqd_gpio *s = l->s;
    bool want = l->role == GL_LED_PRINTER ? s->want_printer : s->want_device;
    if (!l->hl || (want == l->active && l->set_ok)) return;
    int rc = hq_gpio_set(l->hl, want != l->active_low);
    l->set_ok = rc == HQ_OK;
    if (rc) {
        l->set_errors++;
        char why[HQ_GPIO_WHY_MAX];
        snprintf(why, sizeof why, "setting line %u: %s", l->offset, hq_strerror(rc));
        hqd_gpio__set_health(l, HQ_HEALTH_FAULTY, rc, why);
        return;
    }
    l->active = want;
    hqd_gpio__set_health(l, HQ_HEALTH_ONLINE, HQ_OK, "");
}

/* What the LEDs should show, from the same status the dashboard reads. */
static void hqd_gpio__led_tick(struct hq_loop *loop, void *arg)
{
    struct hqd_gpio *s = arg;
    struct hq_daemon *d = s->d;
    s->led_timer = hq_loop_timer(loop, GPIO_LED_MS, hqd_gpio__led_tick, s);
    bool device = hqd_devices_faults(d) > 0;
    for (size_t i = 0; i < s->n && !device; i++)
        /* the LEDs themselves do not count: a lamp that cannot be lit cannot say so */
        device = !hqd_gpio__is_led(&s->l[i]) && hq_health_is_fault(s->l[i].h.health);
    s->want_printer = hq_print_faults(d) > 0;
    s->want_device = device;
    for (size_t i = 0; i < s->n; i++)
        if (hqd_gpio__is_led(&s->l[i])) hqd_gpio__led_apply(&s->l[i]);
}

/* ---------------------------------------------------------------- opening */

static void hqd_gpio__open(struct gline *l)
{
    struct hqd_gpio *s = l->s;
    struct hq_daemon *d = s->d;
    char why[HQ_GPIO_WHY_MAX] = "";
    int rc, value = 0;
    if (hqd_gpio__is_led(l)) {
        bool want = l->role == GL_LED_PRINTER ? s->want_printer : s->want_device;
        rc = hq_gpio_open_output(d->cfg.gpio_chip, l->offset, GPIO_CONSUMER, want != l->active_low,
                                 &l->hl, why, sizeof why);
        if (!rc) {
            l->active = want;
            l->set_ok = true;
        }
    } else {
        rc = hq_gpio_open_input(d->cfg.gpio_chip, l->offset, GPIO_CONSUMER, &l->hl, &value, why,
                                sizeof why);
        if (!rc && (rc = hq_loop_add_fd(d->loop, hq_gpio_fd(l->hl), EPOLLIN, hqd_gpio__on_fd, l))) {
            snprintf(why, sizeof why, "cannot watch line %u: %s", l->offset, hq_strerror(rc));
            hq_gpio_close(l->hl);
            l->hl = NULL;
        }
        if (!rc) l->fd_added = true;
    }
    if (rc) {
        /* absent or held by another program: offline; anything else: faulty */
        hqd_gpio__set_health(
            l, rc == HQ_ERR_NOT_FOUND || rc == HQ_ERR_STATE ? HQ_HEALTH_OFFLINE : HQ_HEALTH_FAULTY,
            rc, why);
        return;
    }
    l->opens++;
    hqd_gpio__set_health(l, HQ_HEALTH_ONLINE, HQ_OK, "");
    if (hqd_gpio__is_led(l)) return;
    /* the level now is taken as stable: a door already open raises its alarm at once, a
     * button held down at start-up is not a press */
    bool active = gpio_input_active(value, l->active_low);
    gpio_debounce_init(&l->db, d->cfg.gpio_debounce_ms, active, hq_loop_now_ms(d->loop));
    if (l->role != GL_BUTTON && active != l->active)
        hqd_gpio__changed(l, active ? GPIO_DB_ON : GPIO_DB_OFF);
    l->active = active;
}

static void hqd_gpio__retry(struct hq_loop *loop, void *arg)
{
    struct hqd_gpio *s = arg;
    for (size_t i = 0; i < s->n; i++)
        if (!s->l[i].hl) hqd_gpio__open(&s->l[i]);
    s->retry_timer = hq_loop_timer(loop, GPIO_RETRY_MS, hqd_gpio__retry, s);
}

/* ----------------------------------------------------------------- status */

static void hqd_gpio__status_part(struct hq_daemon *d, cJSON *status, void *arg)
{
    struct hqd_gpio *s = arg;
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(status, "devices");
    if (!arr) arr = cJSON_AddArrayToObject(status, "devices");
    uint64_t presses = 0, refused = 0;
    for (size_t i = 0; i < s->n; i++) {
        cJSON_AddItemToArray(arr, hqd_gpio__line_json(&s->l[i]));
        presses += s->l[i].presses;
        refused += s->l[i].refused;
    }
    cJSON *g = cJSON_AddObjectToObject(status, "gpio");
    cJSON_AddStringToObject(g, "chip", d->cfg.gpio_chip);
    cJSON_AddNumberToObject(g, "debounce_ms", d->cfg.gpio_debounce_ms);
    cJSON *al = cJSON_AddObjectToObject(g, "alarms");
    cJSON_AddBoolToObject(al, "paper_near_end", s->paper_near_end);
    cJSON_AddBoolToObject(al, "door_open", s->door_open);
    cJSON *leds = cJSON_AddObjectToObject(g, "leds");
    for (size_t i = 0; i < s->n; i++)
        if (hqd_gpio__is_led(&s->l[i]))
            cJSON_AddBoolToObject(leds,
                                  s->l[i].role == GL_LED_PRINTER ? "printer_fault" : "device_fault",
                                  s->l[i].active);
    cJSON_AddNumberToObject(g, "presses", (double)presses);
    cJSON_AddNumberToObject(g, "refused", (double)refused);
}

/* ------------------------------------------------------------- the module */

static void hqd_gpio__add(struct hqd_gpio *s, int role, unsigned offset, bool active_low,
                          int button)
{
    if (offset == HQ_GPIO_NONE) return;
    struct gline *l = &s->l[s->n++];
    *l = (struct gline){
        .s = s, .role = role, .offset = offset, .active_low = active_low, .button = button};
    snprintf(l->id, sizeof l->id, "gpio:%s:%u", gl_name[role], offset);
}

int hqd_gpio_init(struct hq_daemon *d)
{
    const struct hq_config *c = &d->cfg;
    if (!c->gpio_chip[0]) return HQ_OK;
    struct hqd_gpio *s = calloc(1, sizeof *s);
    if (!s) return HQ_ERR_NOMEM;
    s->d = d;
    for (int i = 0; i < c->n_gpio_buttons; i++)
        hqd_gpio__add(s, GL_BUTTON, c->gpio_buttons[i].line, c->gpio_buttons[i].active_low, i);
    hqd_gpio__add(s, GL_PAPER, c->gpio_paper_line, c->gpio_paper_active_low, -1);
    hqd_gpio__add(s, GL_DOOR, c->gpio_door_line, c->gpio_door_active_low, -1);
    hqd_gpio__add(s, GL_LED_PRINTER, c->gpio_led_printer, c->gpio_led_active_low, -1);
    hqd_gpio__add(s, GL_LED_DEVICE, c->gpio_led_device, c->gpio_led_active_low, -1);
    if (!s->n) {
        free(s);
        return HQ_OK;
    }
    int rc;
    if (d->api && (rc = hq_api_status_part(d->api, hqd_gpio__status_part, s))) {
        free(s);
        return rc;
    }
    d->mod.gpio = s;
    for (size_t i = 0; i < s->n; i++)
        hqd_gpio__open(&s->l[i]);
    s->retry_timer = hq_loop_timer(d->loop, GPIO_RETRY_MS, hqd_gpio__retry, s);
    bool leds = false;
    for (size_t i = 0; i < s->n; i++)
        leds |= hqd_gpio__is_led(&s->l[i]);
    if (leds) s->led_timer = hq_loop_timer(d->loop, GPIO_LED_MS, hqd_gpio__led_tick, s);
    LOG_INFO("GPIO", "%zu line%s on %s, debounce %u ms", s->n, s->n == 1 ? "" : "s", c->gpio_chip,
             c->gpio_debounce_ms);
    return HQ_OK;
}

void hqd_gpio_fini(struct hq_daemon *d)
{
    struct hqd_gpio *s = d->mod.gpio;
    if (!s) return;
    if (s->retry_timer) hq_loop_timer_cancel(d->loop, s->retry_timer);
    if (s->led_timer) hq_loop_timer_cancel(d->loop, s->led_timer);
    for (size_t i = 0; i < s->n; i++)
        hqd_gpio__close(&s->l[i]);
    free(s);
    d->mod.gpio = NULL;
}
