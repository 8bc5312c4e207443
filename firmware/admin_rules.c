/*
 * admin_rules.c — pure rules of the manager dashboard (admin_rules.h):
 * Erlang C staffing, alarm rules, the follow-up state machine, note checks
 * and CSV quoting. The daemon side (routes, SQL, timers) is hqd_admin.c.
 */
#include "admin_rules.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -------------------------------------------------- device reasons */

/* The reasons hallqd's device links give (hqd_devices.c, hqd_gpio.c and
 * hal/gpio), whole: a fixed text, or a pattern whose numbers and names
 * (%u, %[^ ...]) carry over in order. English error texts inside a reason
 * (strerror) are left out of the Chinese. */
static const struct {
    const char *en, *zh;
} admin_rules__reasons_fixed[] = {
    {"no answer", "无应答"},
    {"out of memory", "内存不足"},
    {"connection refused", "连接被拒绝"},
    {"cannot watch the port", "无法监视端口"},
    {"link lost (unplugged?)", "连接中断（线缆是否脱落？）"},
    {"the serial server closed the connection", "串口服务器断开了连接"},
    {"the serial server stopped answering (connection timed out)", "串口服务器无应答（连接超时）"},
    {"write failed: link lost", "写入失败，连接中断"},
};

bool admin_reason_zh(const char *en, char *buf, size_t len)
{
    char a[64];
    unsigned x, y;
    int end = -1;
    size_t n = strlen(en);
    if (len) buf[0] = 0;
    if (!len) return false;
    for (size_t k = 0; k < HQ_ARRAY_LEN(admin_rules__reasons_fixed); k++)
        if (strcmp(en, admin_rules__reasons_fixed[k].en) == 0) {
            snprintf(buf, len, "%s", admin_rules__reasons_fixed[k].zh);
            return true;
        }
#define ADMIN_RULES__WHOLE(r) ((r) && end >= 0 && (size_t)end == n)
    end = -1;
    if (ADMIN_RULES__WHOLE(sscanf(en, "no answer for %u s%n", &x, &end) == 1)) {
        snprintf(buf, len, "%u 秒无应答", x);
        return true;
    }
    end = -1;
    if (ADMIN_RULES__WHOLE(sscanf(en, "no AA acknowledgement within %u ms%n", &x, &end) == 1)) {
        snprintf(buf, len, "%u 毫秒内未收到应答确认", x);
        return true;
    }
    end = -1;
    if (ADMIN_RULES__WHOLE(
            sscanf(en, "%u bad frames or bursts of garbage within %u s%n", &x, &y, &end) == 2)) {
        snprintf(buf, len, "%u 秒内 %u 次错误帧或乱码", y, x);
        return true;
    }
    end = -1;
    if (ADMIN_RULES__WHOLE(sscanf(en, "port %63s open, reader not answering yet%n", a, &end) ==
                           1)) {
        snprintf(buf, len, "端口 %s 已打开，读卡器尚未应答", a);
        return true;
    }
    end = -1;
    if (ADMIN_RULES__WHOLE(
            sscanf(en, "cannot open %63s (%*[^)]); next try in %u ms%n", a, &x, &end) == 2)) {
        snprintf(buf, len, "无法打开 %s，%u 毫秒后重试", a, x);
        return true;
    }
    end = -1;
    if (ADMIN_RULES__WHOLE(
            sscanf(en, "line %u of %63s is busy (held by another program)%n", &x, a, &end) == 2)) {
        snprintf(buf, len, "%s 的 %u 号线被其他程序占用", a, x);
        return true;
    }
    /* the rest end in an English error text: matched by their start */
    if (sscanf(en, "no GPIO chip %63[^:]:", a) == 1) {
        snprintf(buf, len, "没有 GPIO 芯片 %s", a);
        return true;
    }
    if (sscanf(en, "chip %63s has no line %u:", a, &x) == 2) {
        snprintf(buf, len, "芯片 %s 没有 %u 号线", a, x);
        return true;
    }
    if (sscanf(en, "setting line %u:", &x) == 1) {
        snprintf(buf, len, "设置 %u 号线失败", x);
        return true;
    }
    if (sscanf(en, "requesting line %u of %63[^:]:", &x, a) == 2 ||
        sscanf(en, "event fd of line %u of %63[^:]:", &x, a) == 2) {
        snprintf(buf, len, "%s 的 %u 号线申请失败", a, x);
        return true;
    }
    if (sscanf(en, "reading line %u of %63[^:]:", &x, a) == 2) {
        snprintf(buf, len, "%s 的 %u 号线读取失败", a, x);
        return true;
    }
#undef ADMIN_RULES__WHOLE
    return false;
}

/* ------------------------------------------------------------ Erlang C */

double admin_erlang_c(unsigned c, double a)
{
    if (a <= 0) return 0.0;
    if (c == 0 || a >= (double)c) return 1.0;
    /* Erlang B by its recurrence B(k) = a·B(k-1) / (k + a·B(k-1)): no
     * factorials or powers, so no overflow for large halls; then
     * C = c·B / (c − a·(1 − B)). */
    double b = 1.0;
    for (unsigned k = 1; k <= c; k++)
        b = a * b / ((double)k + a * b);
    return (double)c * b / ((double)c - a * (1.0 - b));
}

double admin_erlang_wait_s(unsigned c, double lambda_h, double handle_s)
{
    if (lambda_h <= 0) return 0.0;
    if (handle_s <= 0) return 0.0;
    double mu_h = 3600.0 / handle_s; /* one window's services per hour */
    double a = lambda_h / mu_h;
    if (c == 0 || a >= (double)c) return -1.0;
    /* Wq = C(c, a) / (c·μ − λ), in hours */
    return admin_erlang_c(c, a) / ((double)c * mu_h - lambda_h) * 3600.0;
}

unsigned admin_staffing(double lambda_h, double handle_s, double target_s, unsigned max_c)
{
    if (lambda_h <= 0 || handle_s <= 0) return 0;
    for (unsigned c = 1; c <= max_c; c++) {
        double w = admin_erlang_wait_s(c, lambda_h, handle_s);
        if (w >= 0 && w <= target_s) return c;
    }
    return max_c + 1;
}

/* -------------------------------------------------------------- alarms */

static const char *const admin_alarm_kinds[ADMIN_AL__COUNT] = {
    "wait",  "idle",      "device", "printer",   "sync",     "storage",
    "clock", "follow_up", "pause",  "unstaffed", "overtime", "help"};

bool admin_alarm_reported(int kind)
{
    return kind == ADMIN_AL_PAUSE || kind == ADMIN_AL_UNSTAFFED || kind == ADMIN_AL_OVERTIME ||
           kind == ADMIN_AL_HELP;
}

const char *admin_alarm_kind_name(int kind)
{
    return kind >= 0 && kind < ADMIN_AL__COUNT ? admin_alarm_kinds[kind] : "unknown";
}

cJSON *admin_alarm_json(const struct admin_alarm *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "key", a->key);
    cJSON_AddStringToObject(o, "kind", admin_alarm_kind_name(a->kind));
    cJSON_AddStringToObject(o, "subject", a->subject);
    if (a->value >= 0)
        cJSON_AddNumberToObject(o, "value", (double)a->value);
    else
        cJSON_AddNullToObject(o, "value");
    if (a->threshold >= 0)
        cJSON_AddNumberToObject(o, "threshold", (double)a->threshold);
    else
        cJSON_AddNullToObject(o, "threshold");
    if (a->since > 0)
        cJSON_AddNumberToObject(o, "since", (double)a->since);
    else
        cJSON_AddNullToObject(o, "since");
    cJSON_AddStringToObject(o, "message", a->msg_zh);
    cJSON_AddStringToObject(o, "message_en", a->msg_en);
    return o;
}

int64_t admin_oldest_wait(const struct hq_engine *e, size_t service, int64_t now)
{
    int64_t oldest = -1;
    for (size_t i = 0; i < e->n_tickets; i++) {
        const struct hq_ticket *t = &e->tickets[i];
        if (t->status != HQ_TS_WAITING || t->service != service) continue;
        /* from the issue, not the re-queue: the citizen has been in the
         * hall all that time */
        int64_t w = now - (int64_t)t->issued_at;
        if (w < 0) w = 0;
        if (w > oldest) oldest = w;
    }
    return oldest;
}

static bool admin_rules__serves(const struct hq_window_cfg *wc, size_t service)
{
    for (size_t k = 0; k < wc->n_services; k++)
        if (wc->services[k] == service) return true;
    return false;
}

unsigned admin_open_windows(const struct hq_engine *e, size_t service)
{
    unsigned n = 0;
    for (size_t w = 0; w < e->cfg->n_windows; w++) {
        uint8_t st = e->win[w].state;
        if (st == HQ_WS_CLOSED || st == HQ_WS_PAUSED) continue;
        if (admin_rules__serves(&e->cfg->windows[w], service)) n++;
    }
    return n;
}

static int64_t admin_rules__min_up(int64_t s)
{
    return (s + 59) / 60;
}

/* "12 分钟" / "12 min", or seconds under a minute (short test limits) */
static void admin_rules__dur(int64_t s, char *zh, size_t zl, char *en, size_t el)
{
    if (s < 60) {
        snprintf(zh, zl, "%lld 秒", (long long)s);
        snprintf(en, el, "%lld s", (long long)s);
    } else {
        snprintf(zh, zl, "%lld 分钟", (long long)(s / 60));
        snprintf(en, el, "%lld min", (long long)(s / 60));
    }
}

size_t admin_alarms_queue(const struct hq_engine *e, uint32_t wait_s, uint32_t idle_s, int64_t now,
                          struct admin_alarm *out, size_t max)
{
    size_t n = 0;
    const struct hq_engine_cfg *c = e->cfg;
    for (size_t s = 0; wait_s && s < c->n_services && n < max; s++) {
        size_t waiting = hq_engine_waiting(e, s);
        if (!waiting) continue;
        int64_t est = hq_engine_estimate_wait(e, s);
        int64_t oldest = admin_oldest_wait(e, s, now);
        if (est <= (int64_t)wait_s && oldest <= (int64_t)wait_s) continue;
        const struct hq_service_cfg *sc = &c->services[s];
        struct admin_alarm *a = &out[n++];
        memset(a, 0, sizeof *a);
        a->kind = ADMIN_AL_WAIT;
        snprintf(a->key, sizeof a->key, "wait:%s", sc->code);
        snprintf(a->subject, sizeof a->subject, "%s", sc->code);
        a->value = est > oldest ? est : oldest;
        a->threshold = wait_s;
        char est_zh[48] = "无窗口受理", est_en[48] = "no window open";
        if (est >= 0) {
            snprintf(est_zh, sizeof est_zh, "%lld 分钟", (long long)admin_rules__min_up(est));
            snprintf(est_en, sizeof est_en, "%lld min", (long long)admin_rules__min_up(est));
        }
        char old_zh[32], old_en[32], lim_zh[32], lim_en[32];
        admin_rules__dur(oldest, old_zh, sizeof old_zh, old_en, sizeof old_en);
        admin_rules__dur(wait_s, lim_zh, sizeof lim_zh, lim_en, sizeof lim_en);
        snprintf(a->msg_zh, sizeof a->msg_zh,
                 "%s %s 等候超时：%zu 人等候，预计等候 %s，最久已等 %s（阈值 %s）", sc->code,
                 sc->name, waiting, est_zh, old_zh, lim_zh);
        snprintf(a->msg_en, sizeof a->msg_en,
                 "%s %s: long wait: %zu waiting, estimated %s, longest wait %s (limit %s)",
                 sc->code, sc->name_en[0] ? sc->name_en : sc->name, waiting, est_en, old_en,
                 lim_en);
    }
    for (size_t w = 0; idle_s && w < c->n_windows && n < max; w++) {
        const struct hq_window_st *st = &e->win[w];
        /* 空岗 is a window staffed on paper and not working: logged in and
         * idle. A pause is declared (break, meeting) and is not 空岗. */
        if (st->state != HQ_WS_IDLE || !st->staff) continue;
        const struct hq_window_cfg *wc = &c->windows[w];
        size_t waiting = 0;
        for (size_t k = 0; k < wc->n_services; k++)
            waiting += hq_engine_waiting(e, wc->services[k]);
        if (!waiting) continue;
        int64_t since = st->state_since > st->last_call_at ? st->state_since : st->last_call_at;
        int64_t idle = now - since;
        if (!since || idle < (int64_t)idle_s) continue;
        const char *clerk = st->staff <= c->n_staff ? c->staff[st->staff - 1].name : "?";
        struct admin_alarm *a = &out[n++];
        memset(a, 0, sizeof *a);
        a->kind = ADMIN_AL_IDLE;
        snprintf(a->key, sizeof a->key, "idle:%u", wc->number);
        snprintf(a->subject, sizeof a->subject, "%u", wc->number);
        a->value = idle;
        a->threshold = idle_s;
        char zh[32], en[32];
        admin_rules__dur(idle, zh, sizeof zh, en, sizeof en);
        snprintf(a->msg_zh, sizeof a->msg_zh, "%s 空岗：%s 已 %s未叫号，%zu 人等候", wc->name,
                 clerk, zh, waiting);
        snprintf(a->msg_en, sizeof a->msg_en, "%s idle: %s has called nobody for %s while %zu wait",
                 wc->name_en[0] ? wc->name_en : wc->name, clerk, en, waiting);
    }
    return n;
}

static struct admin_alarm *admin_rules__new(struct admin_alarm *out, size_t *n, int kind,
                                            const char *prefix, const struct hq_window_cfg *wc)
{
    struct admin_alarm *a = &out[(*n)++];
    memset(a, 0, sizeof *a);
    a->kind = (uint8_t)kind;
    snprintf(a->key, sizeof a->key, "%s:%u", prefix, wc->number);
    snprintf(a->subject, sizeof a->subject, "%u", wc->number);
    return a;
}

static const char *admin_rules__clerk(const struct hq_engine_cfg *c, uint16_t staff)
{
    return staff && staff <= c->n_staff ? c->staff[staff - 1].name : "";
}

size_t admin_alarms_supervision(const struct hq_engine *e, uint32_t unstaffed_s, int64_t now,
                                struct admin_alarm *out, size_t max)
{
    size_t n = 0;
    const struct hq_engine_cfg *c = e->cfg;
    char dz[32], de[32], lz[32], le[32];
    for (size_t w = 0; w < c->n_windows; w++) {
        const struct hq_window_st *st = &e->win[w];
        const struct hq_window_cfg *wc = &c->windows[w];
        const char *wen = wc->name_en[0] ? wc->name_en : wc->name;
        const char *clerk = admin_rules__clerk(c, st->staff);
        /* 求助: open until the manager acknowledges it (HQ_CMD_HELP_ACK). */
        if (st->help_at && n < max) {
            struct admin_alarm *a = admin_rules__new(out, &n, ADMIN_AL_HELP, "help", wc);
            a->since = st->help_at;
            a->value = now > st->help_at ? now - st->help_at : 0;
            a->threshold = -1;
            admin_rules__dur(a->value, dz, sizeof dz, de, sizeof de);
            snprintf(a->msg_zh, sizeof a->msg_zh, "%s 请求协助：%s呼叫大厅经理，已等 %s", wc->name,
                     *clerk ? clerk : "窗口", dz);
            snprintf(a->msg_en, sizeof a->msg_en,
                     "%s asks for help: %s called the hall manager %s ago", wen,
                     *clerk ? clerk : "the window", de);
        }
        /* 暂停超时: a pause longer than its reason allows (max_min 0 = no limit). */
        const struct hq_pause_reason *pr =
            st->state == HQ_WS_PAUSED ? hq_pause_reason(c, st->pause_reason) : NULL;
        if (pr && pr->max_min && st->state_since &&
            now - (int64_t)st->state_since > (int64_t)pr->max_min * 60 && n < max) {
            struct admin_alarm *a = admin_rules__new(out, &n, ADMIN_AL_PAUSE, "pause", wc);
            a->since = st->state_since;
            a->value = now - st->state_since;
            a->threshold = (int64_t)pr->max_min * 60;
            admin_rules__dur(a->value, dz, sizeof dz, de, sizeof de);
            admin_rules__dur(a->threshold, lz, sizeof lz, le, sizeof le);
            snprintf(a->msg_zh, sizeof a->msg_zh, "%s 暂停超时：%s%s已暂停 %s（上限 %s）", wc->name,
                     clerk, pr->name, dz, lz);
            snprintf(a->msg_en, sizeof a->msg_en, "%s paused too long: %s%s%s for %s (limit %s)",
                     wen, clerk, *clerk ? ", " : "", pr->name_en, de, le);
        }
        /* 限时办结: the ticket at the window (called or being served) longer than its
         * service's time limit, from when service started (or the call, if nobody pressed
         * start). */
        if ((st->state == HQ_WS_SERVING || st->state == HQ_WS_CALLING) && st->current >= 0 &&
            (size_t)st->current < e->n_tickets && n < max) {
            const struct hq_ticket *t = &e->tickets[st->current];
            const struct hq_service_cfg *sc = &c->services[t->service];
            uint32_t from = t->served_at ? t->served_at : t->called_at;
            if (sc->time_limit_s && from && now - (int64_t)from > (int64_t)sc->time_limit_s) {
                char label[16];
                hq_ticket_label(e, t, label, sizeof label);
                struct admin_alarm *a =
                    admin_rules__new(out, &n, ADMIN_AL_OVERTIME, "overtime", wc);
                a->since = from;
                a->value = now - from;
                a->threshold = sc->time_limit_s;
                admin_rules__dur(a->value, dz, sizeof dz, de, sizeof de);
                admin_rules__dur(a->threshold, lz, sizeof lz, le, sizeof le);
                snprintf(a->msg_zh, sizeof a->msg_zh, "%s 超时办理：%s %s 已办理 %s（时限 %s）",
                         wc->name, label, sc->name, dz, lz);
                snprintf(a->msg_en, sizeof a->msg_en,
                         "%s over the time limit: %s %s served for %s (limit %s)", wen, label,
                         sc->name_en[0] ? sc->name_en : sc->name, de, le);
            }
        }
        /* 空岗: a window staffed earlier today has nobody signed in while one of its services
         * is open and people wait for it. A window nobody opened today is not a post today
         * (a hall keeps spare windows), nor one the manager closed: docs/DESIGN.md
         * "Supervision alarms". */
        if (unstaffed_s && st->state == HQ_WS_CLOSED && !wc->closed && st->state_since && n < max &&
            hq_engine_day_of(c, st->state_since) == hq_engine_day_of(c, now) &&
            now - (int64_t)st->state_since >= (int64_t)unstaffed_s) {
            size_t waiting = 0;
            bool open = false;
            for (size_t k = 0; k < wc->n_services; k++) {
                if (!hq_engine_service_open(e, wc->services[k], now)) continue;
                open = true;
                waiting += hq_engine_waiting(e, wc->services[k]);
            }
            if (open && waiting) {
                struct admin_alarm *a =
                    admin_rules__new(out, &n, ADMIN_AL_UNSTAFFED, "unstaffed", wc);
                a->since = st->state_since;
                a->value = now - st->state_since;
                a->threshold = unstaffed_s;
                admin_rules__dur(a->value, dz, sizeof dz, de, sizeof de);
                snprintf(a->msg_zh, sizeof a->msg_zh, "%s 空岗：已 %s无人登录，%zu 人等候",
                         wc->name, dz, waiting);
                snprintf(a->msg_en, sizeof a->msg_en,
                         "%s unstaffed: nobody signed in for %s while %zu wait", wen, de, waiting);
            }
        }
    }
    return n;
}

static const char *admin_rules__str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t admin_rules__num(const cJSON *o, const char *key, int64_t def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : def;
}

/* "打印纸将尽 / paper low" → the two halves */
static void admin_rules__split_text(const char *text, char *zh, size_t zl, char *en, size_t el)
{
    const char *sep = strstr(text, " / ");
    if (!sep) {
        snprintf(zh, zl, "%s", text);
        snprintf(en, el, "%s", text);
        return;
    }
    snprintf(zh, zl, "%.*s", (int)(sep - text), text);
    snprintf(en, el, "%s", sep + 3);
}

#define ADMIN_RULES__MAX_BUSES 16 /* config.h allows 8 */

/* The bus a window's device hangs on: its "bus" field, or the middle of
 * its id ("keypad:keys:1", "bar:bars:2", hqd_devices.c). */
static bool admin_rules__dev_bus(const cJSON *d, char *bus, size_t len)
{
    const char *b = admin_rules__str(d, "bus");
    if (b) {
        snprintf(bus, len, "%s", b);
        return true;
    }
    const char *id = admin_rules__str(d, "id");
    const char *c1 = id ? strchr(id, ':') : NULL;
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) return false;
    snprintf(bus, len, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
    return true;
}

/* One down bus and what hangs on it: the windows whose keypads, pads or
 * bars it carries (a bit each), and which kinds of device those are. */
struct admin_rules__bus {
    const cJSON *dev; /* the bus's own entry, "bus:NAME" */
    const char *name;
    uint8_t wins[(999 + 8) / 8];
    unsigned kinds; /* 1 keypad, 2 rating pad, 4 LED bar */
};

/* "1–3、5号窗口" / "windows 1–3, 5": runs of windows in words. */
static void admin_rules__window_list(const uint8_t *wins, char *zh, size_t zl, char *en, size_t el)
{
    size_t zn = 0, en_n = 0;
    int count = 0;
    zh[0] = en[0] = 0;
    for (int w = 1; w <= 999; w++) {
        if (!(wins[w / 8] & (1u << (w % 8)))) continue;
        int last = w;
        while (last + 1 <= 999 && (wins[(last + 1) / 8] & (1u << ((last + 1) % 8))))
            last++;
        char zr[24], er[24];
        if (last == w) {
            snprintf(zr, sizeof zr, "%d", w);
        } else {
            snprintf(zr, sizeof zr, "%d–%d", w, last);
        }
        snprintf(er, sizeof er, "%s", zr);
        if (zn < zl) zn += (size_t)snprintf(zh + zn, zl - zn, "%s%s", count ? "、" : "", zr);
        if (en_n < el)
            en_n += (size_t)snprintf(en + en_n, el - en_n, "%s%s", count ? ", " : "", er);
        count += last - w + 1;
        w = last;
    }
    if (zn < zl) snprintf(zh + zn, zl - zn, "号窗口");
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s %s", count == 1 ? "window" : "windows", en);
    snprintf(en, el, "%s", tmp);
}

/* The alarm of a down bus: what stopped working, at which windows, why. */
static size_t admin_rules__bus_alarm(const struct admin_rules__bus *b, bool faulty,
                                     struct admin_alarm *out, size_t n)
{
    const cJSON *d = b->dev;
    bool led = strcmp(admin_rules__str(d, "type"), "led_bus") == 0;
    const char *reason = admin_rules__str(d, "reason");
    if (reason && !*reason) reason = NULL;
    char reason_zh[96];
    bool has_zh = reason && admin_reason_zh(reason, reason_zh, sizeof reason_zh);
    struct admin_alarm *a = &out[n++];
    memset(a, 0, sizeof *a);
    a->kind = ADMIN_AL_DEVICE;
    snprintf(a->key, sizeof a->key, "device:%s:%s:%s", led ? "led_bus" : "hall_bus",
             admin_rules__str(d, "id"), faulty ? "faulty" : "offline");
    snprintf(a->subject, sizeof a->subject, "%s", b->name);
    a->value = a->threshold = -1;
    char what_zh[64] = "", what_en[96] = "";
    static const char *const kz[] = {"呼叫器", "评价器", "窗口屏"};
    static const char *const ke[] = {"keypads", "rating pads", "LED bars"};
    for (int k = 0; k < 3; k++) {
        if (!(b->kinds & (1u << k))) continue;
        snprintf(what_zh + strlen(what_zh), sizeof what_zh - strlen(what_zh), "%s%s",
                 what_zh[0] ? "、" : "", kz[k]);
        snprintf(what_en + strlen(what_en), sizeof what_en - strlen(what_en), "%s%s",
                 what_en[0] ? " and " : "", ke[k]);
    }
    const char *bz = led ? "窗口屏总线" : "窗口设备总线", *be = led ? "LED bus" : "Hall bus";
    char wz[160], we[160];
    admin_rules__window_list(b->wins, wz, sizeof wz, we, sizeof we);
    snprintf(a->msg_zh, sizeof a->msg_zh, "%s %s %s：%s的%s不能使用%s%s", bz, b->name,
             faulty ? "故障" : "离线", wz, what_zh, has_zh ? "（" : "", has_zh ? reason_zh : "");
    if (has_zh) snprintf(a->msg_zh + strlen(a->msg_zh), sizeof a->msg_zh - strlen(a->msg_zh), "）");
    snprintf(a->msg_en, sizeof a->msg_en, "%s %s %s: the %s of %s do not work%s%s%s", be, b->name,
             faulty ? "faulty" : "offline", what_en, we, reason ? " (" : "", reason ? reason : "",
             reason ? ")" : "");
    return n;
}

size_t admin_alarms_status(const cJSON *status, struct admin_alarm *out, size_t max)
{
    size_t n = 0;
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(status, "devices");
    const cJSON *d;
    int i = 0;
    /* A bus that is down takes every keypad, pad and bar on it down too:
     * one alarm for the bus, naming the windows it serves in words, instead
     * of one per device with its raw id (issue 14). First find those buses. */
    struct admin_rules__bus buses[ADMIN_RULES__MAX_BUSES];
    size_t n_bus = 0;
    cJSON_ArrayForEach(d, devs)
    {
        const char *type = admin_rules__str(d, "type"), *id = admin_rules__str(d, "id");
        const char *health = admin_rules__str(d, "health");
        if (!type || !id || !health || n_bus >= HQ_ARRAY_LEN(buses)) continue;
        if (strcmp(type, "hall_bus") != 0 && strcmp(type, "led_bus") != 0) continue;
        if (strcmp(health, "offline") != 0 && strcmp(health, "faulty") != 0) continue;
        struct admin_rules__bus *b = &buses[n_bus++];
        memset(b, 0, sizeof *b);
        b->dev = d;
        b->name = strncmp(id, "bus:", 4) == 0 ? id + 4 : id;
    }
    cJSON_ArrayForEach(d, devs)
    {
        const char *type = admin_rules__str(d, "type");
        int win = (int)admin_rules__num(d, "window", 0);
        char bus[64];
        if (!type || win < 1 || win > 999 || !admin_rules__dev_bus(d, bus, sizeof bus)) continue;
        unsigned kind = strcmp(type, "keypad") == 0       ? 1
                        : strcmp(type, "rating_pad") == 0 ? 2
                        : strcmp(type, "led_bar") == 0    ? 4
                                                          : 0;
        for (size_t k = 0; kind && k < n_bus; k++)
            if (strcmp(buses[k].name, bus) == 0) {
                buses[k].wins[win / 8] |= (uint8_t)(1u << (win % 8));
                buses[k].kinds |= kind;
            }
    }
    /* type names of the device module's status (hqd_devices.c) */
    static const struct {
        const char *type, *zh, *en;
    } types[] = {{"card_reader", "身份证读卡器", "ID card reader"},
                 {"hall_bus", "窗口设备总线", "hall bus"},
                 {"led_bus", "窗口屏总线", "LED bus"},
                 {"keypad", "呼叫器", "keypad"},
                 {"rating_pad", "评价器", "rating pad"},
                 {"led_bar", "窗口屏", "LED bar"},
                 {"gpio_button", "取号按键", "ticket button"},
                 {"paper_sensor", "缺纸传感器", "paper sensor"},
                 {"door_switch", "机柜门开关", "cabinet door switch"},
                 {"status_led", "状态指示灯", "status LED"}};
    cJSON_ArrayForEach(d, devs)
    {
        i++;
        if (n >= max) break;
        if (!cJSON_IsObject(d)) continue;
        /* "health": offline or faulty; or a plain "online": false */
        const char *health = admin_rules__str(d, "health");
        bool faulty = health && strcmp(health, "faulty") == 0;
        bool offline = (health && strcmp(health, "offline") == 0) ||
                       cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(d, "online"));
        if (!faulty && !offline) continue;
        const char *type = admin_rules__str(d, "type");
        if (!type) type = admin_rules__str(d, "kind");
        struct admin_rules__bus *down = NULL; /* d is a down bus, or hangs on one */
        char bus[64];
        for (size_t k = 0; k < n_bus; k++)
            if (buses[k].dev == d ||
                (admin_rules__num(d, "window", 0) > 0 && admin_rules__dev_bus(d, bus, sizeof bus) &&
                 strcmp(buses[k].name, bus) == 0))
                down = &buses[k];
        if (down && down->dev != d) continue; /* said once, by its bus */
        if (down && down->kinds) {
            n = admin_rules__bus_alarm(down, faulty, out, n);
            continue;
        }
        const char *name = admin_rules__str(d, "name");
        if (!name) name = admin_rules__str(d, "id");
        char fallback[32];
        if (!name) {
            snprintf(fallback, sizeof fallback, "#%d", i);
            name = fallback;
        }
        const char *tzh = type ? type : "", *ten = type ? type : "";
        for (size_t k = 0; type && k < HQ_ARRAY_LEN(types); k++)
            if (strcmp(type, types[k].type) == 0) {
                tzh = types[k].zh;
                ten = types[k].en;
            }
        const char *reason = admin_rules__str(d, "reason");
        if (reason && !*reason) reason = NULL;
        char reason_zh[96];
        bool has_zh = reason && admin_reason_zh(reason, reason_zh, sizeof reason_zh);
        int win = (int)admin_rules__num(d, "window", 0);
        char where_zh[32] = "", where_en[32] = "";
        if (win > 0) {
            snprintf(where_zh, sizeof where_zh, "%d号窗口 ", win);
            snprintf(where_en, sizeof where_en, " at window %d", win);
        }
        struct admin_alarm *a = &out[n++];
        memset(a, 0, sizeof *a);
        a->kind = ADMIN_AL_DEVICE;
        snprintf(a->key, sizeof a->key, "device:%s:%s:%s", type ? type : "", name,
                 faulty ? "faulty" : "offline");
        snprintf(a->subject, sizeof a->subject, "%s", name);
        /* A window's device is named by its bus address, in words, not its id. */
        int64_t addr = admin_rules__num(d, "address", -1);
        char addr_zh[48], addr_en[48];
        if (win > 0 && addr >= 0) {
            snprintf(addr_zh, sizeof addr_zh, "（地址 %lld）", (long long)addr);
            snprintf(addr_en, sizeof addr_en, "(address %lld)", (long long)addr);
            name = NULL;
        }
        a->value = a->threshold = -1;
        snprintf(a->msg_zh, sizeof a->msg_zh, "设备%s：%s%s%s%s%s%s", faulty ? "故障" : "离线",
                 where_zh, tzh, name && *tzh ? " " : "", name ? name : addr_zh, has_zh ? "，" : "",
                 has_zh ? reason_zh : "");
        snprintf(a->msg_en, sizeof a->msg_en, "Device %s: %s%s%s%s%s%s",
                 faulty ? "faulty" : "offline", ten, *ten ? " " : "", name ? name : addr_en,
                 where_en, reason ? ", " : "", reason ? reason : "");
    }
    const cJSON *prs = cJSON_GetObjectItemCaseSensitive(status, "printers");
    cJSON_ArrayForEach(d, prs)
    {
        if (n >= max) break;
        const char *health = admin_rules__str(d, "health");
        if (!health || strcmp(health, "ok") == 0 || strcmp(health, "unknown") == 0) continue;
        const char *role = admin_rules__str(d, "role");
        const char *queue = admin_rules__str(d, "queue");
        const char *text = admin_rules__str(d, "text");
        struct admin_alarm *a = &out[n++];
        memset(a, 0, sizeof *a);
        a->kind = ADMIN_AL_PRINTER;
        const char *kiosk = admin_rules__str(d, "kiosk"); /* a kiosk's own printer */
        if (kiosk)
            snprintf(a->key, sizeof a->key, "printer:kiosk:%s:%s", kiosk, health);
        else
            snprintf(a->key, sizeof a->key, "printer:%s:%s", role ? role : "", health);
        snprintf(a->subject, sizeof a->subject, "%s", queue ? queue : role ? role : "");
        a->value = a->threshold = -1;
        char zh[128], en[128];
        admin_rules__split_text(text ? text : health, zh, sizeof zh, en, sizeof en);
        bool backup = role && strcmp(role, "backup") == 0;
        if (kiosk) {
            snprintf(a->msg_zh, sizeof a->msg_zh, "取号机 %s 打印机 %s：%s", kiosk, a->subject, zh);
            snprintf(a->msg_en, sizeof a->msg_en, "Kiosk %s printer %s: %s", kiosk, a->subject, en);
        } else {
            snprintf(a->msg_zh, sizeof a->msg_zh, "%s打印机 %s：%s", backup ? "备用" : "取号",
                     a->subject, zh);
            snprintf(a->msg_en, sizeof a->msg_en, "%s printer %s: %s", backup ? "Backup" : "Ticket",
                     a->subject, en);
        }
    }
    /* The cabinet door of a kiosk or the box itself (hqd_gpio.c): an open
     * door in a public hall is somebody's hand near the paper and the cables. */
    const cJSON *gal = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(status, "gpio"), "alarms");
    if (n < max && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(gal, "door_open"))) {
        struct admin_alarm *a = &out[n++];
        memset(a, 0, sizeof *a);
        a->kind = ADMIN_AL_DEVICE;
        snprintf(a->key, sizeof a->key, "door:open");
        snprintf(a->subject, sizeof a->subject, "door");
        a->value = a->threshold = -1;
        snprintf(a->msg_zh, sizeof a->msg_zh, "机柜门已打开");
        snprintf(a->msg_en, sizeof a->msg_en, "Cabinet door open");
    }
    /* The store (hqd_command.c, store.c): cannot write now, or a corrupt file
     * was moved aside at start (until a manager acknowledges it). */
    const cJSON *sto = cJSON_GetObjectItemCaseSensitive(status, "storage");
    if (n < max && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sto, "degraded"))) {
        struct admin_alarm *a = &out[n++];
        memset(a, 0, sizeof *a);
        a->kind = ADMIN_AL_STORAGE;
        bool full = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sto, "backlog_full"));
        snprintf(a->key, sizeof a->key, "storage:%s", full ? "backlog_full" : "degraded");
        const char *path = admin_rules__str(sto, "path");
        snprintf(a->subject, sizeof a->subject, "%s", path ? path : "");
        a->value = admin_rules__num(sto, "backlog_commands", 0);
        a->threshold = -1;
        const char *zh = admin_rules__str(sto, "alarm"), *en = admin_rules__str(sto, "alarm_en");
        snprintf(a->msg_zh, sizeof a->msg_zh, "%s", zh ? zh : "存储无法写入：暂停取号");
        snprintf(a->msg_en, sizeof a->msg_en, "%s", en ? en : "Storage cannot be written");
    }
    if (n < max && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sto, "disk_low"))) {
        struct admin_alarm *a = &out[n++];
        memset(a, 0, sizeof *a);
        a->kind = ADMIN_AL_STORAGE;
        snprintf(a->key, sizeof a->key, "storage:disk_low");
        const char *path = admin_rules__str(sto, "path");
        snprintf(a->subject, sizeof a->subject, "%s", path ? path : "");
        a->value = admin_rules__num(sto, "disk_free_bytes", 0) / 1048576;
        a->threshold = admin_rules__num(sto, "disk_alarm_bytes", 0) / 1048576;
        snprintf(a->msg_zh, sizeof a->msg_zh,
                 "存储空间不足：剩余 %lld MiB（低于 %lld MiB 告警），写满后将暂停取号，请联系运维",
                 (long long)a->value, (long long)a->threshold);
        snprintf(a->msg_en, sizeof a->msg_en,
                 "Disk space low: %lld MiB free (alarm below %lld MiB); when it is full, "
                 "tickets stop. Call maintenance",
                 (long long)a->value, (long long)a->threshold);
    }
    const cJSON *cor = cJSON_GetObjectItemCaseSensitive(sto, "corrupt");
    if (n < max && cJSON_IsObject(cor)) {
        struct admin_alarm *a = &out[n++];
        memset(a, 0, sizeof *a);
        a->kind = ADMIN_AL_STORAGE;
        snprintf(a->key, sizeof a->key, "storage:corrupt");
        const char *to = admin_rules__str(cor, "moved_to"), *at = admin_rules__str(cor, "at");
        const char *why = admin_rules__str(cor, "reason");
        bool offset = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cor, "numbers_offset"));
        snprintf(a->subject, sizeof a->subject, "%s", to ? to : "");
        a->value = a->threshold = -1;
        snprintf(a->msg_zh, sizeof a->msg_zh,
                 "数据库文件损坏，已于 %s 以空数据库重新开始；旧文件保留在 %s（%s）%s",
                 at ? at : "", to ? to : "", why ? why : "",
                 offset ? "；今日号码从各业务号段中间继续，大厅内旧号票请人工核对" : "");
        snprintf(a->msg_en, sizeof a->msg_en,
                 "The database was corrupt: a fresh one was started at %s; the old file was kept "
                 "at %s (%s)%s",
                 at ? at : "", to ? to : "", why ? why : "",
                 offset ? "; today's numbers go on from the middle of each range, check paper "
                          "tickets in the hall by hand"
                        : "");
    }
    /* The wall clock (api.c): behind the newest time recorded, or on a date
     * before the queue's business day. */
    const cJSON *clk = cJSON_GetObjectItemCaseSensitive(status, "clock");
    if (n < max && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(clk, "ok"))) {
        struct admin_alarm *a = &out[n++];
        memset(a, 0, sizeof *a);
        a->kind = ADMIN_AL_CLOCK;
        snprintf(a->key, sizeof a->key, "clock:behind");
        const char *seen = admin_rules__str(clk, "latest_seen");
        snprintf(a->subject, sizeof a->subject, "%s", seen ? seen : "");
        int64_t min = (admin_rules__num(clk, "behind_s", 0) + 59) / 60;
        a->value = min;
        a->threshold = -1;
        snprintf(
            a->msg_zh, sizeof a->msg_zh,
            "系统时钟比已记录的时间慢 %lld 分钟（%s），可能已被重置或未同步：号票时间与等候时间"
            "有误，请检查校时（NTP）",
            (long long)min, seen ? seen : "");
        snprintf(a->msg_en, sizeof a->msg_en,
                 "The clock is %lld min behind the newest record (%s): reset or not "
                 "synchronised; ticket times and waits are wrong until it is set (NTP)",
                 (long long)min, seen ? seen : "");
    }
    const cJSON *sy = cJSON_GetObjectItemCaseSensitive(status, "sync");
    /* The up-link judges its own backlog and age against sync.alarm_backlog
     * and sync.alarm_age_s; the dashboard shows its verdict and why. */
    if (cJSON_IsObject(sy) && n < max &&
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sy, "alarm"))) {
        const char *tr = admin_rules__str(sy, "transport");
        int64_t backlog = admin_rules__num(sy, "backlog", 0);
        int64_t age = admin_rules__num(sy, "oldest_unsent_age_s", 0);
        const char *err = admin_rules__str(sy, "last_error");
        static const struct {
            const char *name, *zh, *en;
        } reasons[] = {{"refused", "中心拒收", "refused by the server"},
                       {"backlog", "积压过多", "backlog too large"},
                       {"age", "积压过久", "backlog too old"}};
        char key[64] = "sync", zh[96] = "", en[128] = "";
        const cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(sy, "alarm_reasons"))
        {
            for (size_t k = 0; cJSON_IsString(r) && k < HQ_ARRAY_LEN(reasons); k++) {
                if (strcmp(r->valuestring, reasons[k].name) != 0) continue;
                snprintf(key + strlen(key), sizeof key - strlen(key), ":%s", reasons[k].name);
                snprintf(zh + strlen(zh), sizeof zh - strlen(zh), "%s%s", zh[0] ? "、" : "",
                         reasons[k].zh);
                snprintf(en + strlen(en), sizeof en - strlen(en), "%s%s", en[0] ? ", " : "",
                         reasons[k].en);
            }
        }
        if (!zh[0]) {
            snprintf(key, sizeof key, "sync:error");
            snprintf(zh, sizeof zh, "上报失败");
            snprintf(en, sizeof en, "failing");
        }
        char age_zh[32], age_en[32];
        admin_rules__dur(age, age_zh, sizeof age_zh, age_en, sizeof age_en);
        struct admin_alarm *a = &out[n++];
        memset(a, 0, sizeof *a);
        a->kind = ADMIN_AL_SYNC;
        snprintf(a->key, sizeof a->key, "%s", key);
        snprintf(a->subject, sizeof a->subject, "%s", tr ? tr : "");
        a->value = backlog;
        a->threshold = -1;
        snprintf(a->msg_zh, sizeof a->msg_zh,
                 "数据上报中心告警：%s（%lld 条未送达，最早的已等 %s）%s%s", zh, (long long)backlog,
                 age_zh, err ? "；" : "", err ? err : "");
        snprintf(a->msg_en, sizeof a->msg_en,
                 "Central sync alarm: %s (%lld records not delivered, oldest waiting %s)%s%s", en,
                 (long long)backlog, age_en, err ? "; " : "", err ? err : "");
    }
    return n;
}

/* ------------------------------------------------------ 差评 follow-up */

static const char *const admin_fu_names[ADMIN_FU__COUNT] = {"none", "open", "contacted",
                                                            "rectified", "closed"};
static const char *const admin_fu_zh[ADMIN_FU__COUNT] = {"无需回访", "待回访", "已回访", "已整改",
                                                         "已办结"};

int admin_fu_from_name(const char *name)
{
    for (int i = 0; name && i < ADMIN_FU__COUNT; i++)
        if (strcmp(name, admin_fu_names[i]) == 0) return i;
    return -1;
}

const char *admin_fu_name(int state)
{
    return state >= 0 && state < ADMIN_FU__COUNT ? admin_fu_names[state] : "unknown";
}

const char *admin_fu_label_zh(int state)
{
    return state >= 0 && state < ADMIN_FU__COUNT ? admin_fu_zh[state] : "未知";
}

int admin_fu_step(int from, int to)
{
    /* 回访 before 整改 before 办结: a step cannot be skipped or undone, so
     * the record the central server receives tells the whole story. */
    if (from < ADMIN_FU_OPEN || from >= ADMIN_FU_CLOSED) return HQ_ERR_STATE;
    return to == from + 1 ? HQ_OK : HQ_ERR_STATE;
}

int admin_note_check(const char *note, size_t max_chars, const char **why)
{
    *why = NULL;
    const unsigned char *p = (const unsigned char *)note;
    size_t chars = 0, visible = 0;
    while (*p) {
        unsigned c = *p;
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            len = 1;
            cp = c;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            *why = "note is not valid UTF-8";
            return HQ_ERR_INVALID;
        }
        for (size_t k = 1; k < len; k++) {
            if ((p[k] & 0xc0) != 0x80) {
                *why = "note is not valid UTF-8";
                return HQ_ERR_INVALID;
            }
            cp = (cp << 6) | (p[k] & 0x3f);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            *why = "note is not valid UTF-8";
            return HQ_ERR_INVALID;
        }
        if ((cp < 0x20 && cp != '\n' && cp != '\t' && cp != '\r') || cp == 0x7f) {
            *why = "note holds control characters";
            return HQ_ERR_INVALID;
        }
        if (cp != ' ' && cp != '\n' && cp != '\t' && cp != '\r' && cp != 0x3000) visible++;
        chars++;
        p += len;
    }
    if (!visible) {
        *why = "note is required: what was done (回访/整改情况)";
        return HQ_ERR_INVALID;
    }
    if (chars > max_chars) {
        *why = "note is too long";
        return HQ_ERR_INVALID;
    }
    return HQ_OK;
}

/* ----------------------------------------------------------------- CSV */

void admin_buf_add(struct admin_buf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void admin_buf_printf(struct admin_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        admin_buf_add(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    admin_buf_add(b, big, (size_t)n);
    free(big);
}

void admin_buf_free(struct admin_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void admin_csv_field(struct admin_buf *b, const char *s, char sep)
{
    if (!s) s = "";
    /* A spreadsheet runs =, +, - and @ at the start of a cell as a formula;
     * a note typed by a manager must stay text. Excel and LibreOffice skip a
     * leading tab or carriage return before they look ("\r=1+1" runs), so
     * those open a formula too (OWASP's list: = + - @ TAB CR). */
    bool formula =
        s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) {
        admin_buf_add(b, s, strlen(s));
    } else {
        admin_buf_add(b, "\"", 1);
        if (formula) admin_buf_add(b, "'", 1);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                admin_buf_add(b, "\"\"", 2);
            else
                admin_buf_add(b, p, 1);
        }
        admin_buf_add(b, "\"", 1);
    }
    if (sep) admin_buf_add(b, &sep, 1);
}

/* ---------------------------------------------------------------- misc */

int admin_parse_day(const char *s, int32_t *day)
{
    int y, m, d, n = 0;
    if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
        return HQ_ERR_INVALID;
    if (s[4] != '-' || s[7] != '-' || y < 2000 || y > 2200 || m < 1 || m > 12 || d < 1)
        return HQ_ERR_INVALID;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] || (m == 2 && d == 29 && !leap)) return HQ_ERR_INVALID;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return HQ_ERR_INVALID;
    *day = hq_days_from_ymd(y, m, d);
    return HQ_OK;
}

int admin_wait_bucket(int64_t wait_s)
{
    static const int64_t upper_min[ADMIN_WAIT_BUCKETS - 1] = {5, 10, 20, 30, 60};
    for (int i = 0; i < ADMIN_WAIT_BUCKETS - 1; i++)
        if (wait_s < upper_min[i] * 60) return i;
    return ADMIN_WAIT_BUCKETS - 1;
}
