/*
 * hallbus.c — FF 68 hall bus (PROTOCOLS.md §2): lexer and encoder, keypad key decoding,
 * repeat detection, host → keypad / rating pad frames and the pad key mapping.
 *
 *   FF 68 | L | L | 68 | ADDR | FUNC | DATA... | CS | 16
 *         \_ L = 2 + n(DATA) _/ \_ CS = sum mod 256 _/
 */
#include "hallbus.h"

#include <stdlib.h>
#include <string.h>

#include "lexbuf.h"

/* ------------------------------------------------------------------- lexer */

void hallbus_lexer_init(struct hallbus_lexer *lx)
{
    memset(lx, 0, sizeof *lx);
}

void hallbus_lexer_reset(struct hallbus_lexer *lx)
{
    hq_lexbuf_reset(&HQ_LEXBUF(lx, false));
}

static void hallbus__drop(struct hallbus_lexer *lx, size_t n)
{
    hq_lexbuf_drop(&HQ_LEXBUF(lx, false), n);
}

/* Skip to FF 68, or to a trailing FF that may start one. */
static void hallbus__sync(struct hallbus_lexer *lx)
{
    static const uint8_t head[] = {0xFF, 0x68};
    hq_lexbuf_sync(&HQ_LEXBUF(lx, false), head, sizeof head);
}

static uint8_t hallbus__sum(uint8_t addr, uint8_t func, const uint8_t *d, size_t n)
{
    unsigned s = addr + func;
    for (size_t i = 0; i < n; i++)
        s += d[i];
    return (uint8_t)s;
}

static void hallbus__scan(struct hallbus_lexer *lx, hallbus_frame_cb cb, void *arg)
{
    for (;;) {
        hallbus__sync(lx);
        if (lx->len < 5) return;
        uint8_t l = lx->buf[2];
        if (l < 2 || l > HALLBUS_MAX_DATA + 2 || lx->buf[3] != l) {
            lx->bad_length++;
            hallbus__drop(lx, 1);
            continue;
        }
        if (lx->buf[4] != 0x68) {
            lx->bad_header++;
            hallbus__drop(lx, 1);
            continue;
        }
        size_t flen = (size_t)l + 7;
        if (lx->len < flen) return;
        const uint8_t *p = lx->buf;
        if (hallbus__sum(p[5], p[6], p + 7, l - 2u) != p[flen - 2]) {
            lx->bad_checksum++;
            hallbus__drop(lx, 1);
            continue;
        }
        if (p[flen - 1] != 0x16) {
            lx->bad_end++;
            hallbus__drop(lx, 1);
            continue;
        }
        struct hallbus_frame f = {.addr = p[5], .func = p[6], .n = (uint8_t)(l - 2)};
        memcpy(f.data, p + 7, f.n);
        lx->frames++;
        hallbus__drop(lx, flen);
        if (cb) cb(&f, arg);
    }
}

struct hallbus__feed {
    struct hallbus_lexer *lx;
    hallbus_frame_cb cb;
    void *arg;
};

static void hallbus__scan_cb(void *ctx)
{
    struct hallbus__feed *f = ctx;
    hallbus__scan(f->lx, f->cb, f->arg);
}

void hallbus_lexer_feed(struct hallbus_lexer *lx, const uint8_t *data, size_t n,
                        hallbus_frame_cb cb, void *arg)
{
    struct hallbus__feed f = {lx, cb, arg};
    hq_lexbuf_feed(&HQ_LEXBUF(lx, false), data, n, hallbus__scan_cb, &f);
}

size_t hallbus_encode(const struct hallbus_frame *f, uint8_t *out, size_t cap)
{
    size_t flen = (size_t)f->n + 9;
    if (f->n > HALLBUS_MAX_DATA || flen > cap) return 0;
    uint8_t l = (uint8_t)(f->n + 2);
    out[0] = 0xFF;
    out[1] = 0x68;
    out[2] = l;
    out[3] = l;
    out[4] = 0x68;
    out[5] = f->addr;
    out[6] = f->func;
    memcpy(out + 7, f->data, f->n);
    out[7 + f->n] = hallbus__sum(f->addr, f->func, f->data, f->n);
    out[8 + f->n] = 0x16;
    return flen;
}

/* ------------------------------------------------------------------ keys */

static const char *const hallbus_action_names[HALLBUS_ACTION__COUNT][2] = {
    [HALLBUS_CALL_NEXT] = {"call_next", "叫号"},
    [HALLBUS_CALL_NUMBER] = {"call_number", "指定叫号"},
    [HALLBUS_RECALL] = {"recall", "重呼"},
    [HALLBUS_START] = {"start", "开始办理"},
    [HALLBUS_FINISH] = {"finish", "评价"},
    [HALLBUS_PAUSE_TOGGLE] = {"pause_toggle", "暂停"},
    [HALLBUS_TRANSFER] = {"transfer", "转移"},
    [HALLBUS_TRANSFER_TO_SERVICE] = {"transfer_to_service", "转移到业务"},
    [HALLBUS_NO_SHOW] = {"no_show", "弃号"},
    [HALLBUS_PARK] = {"park", "挂起"},
    [HALLBUS_CALL_BACK] = {"call_back", "回呼"},
    [HALLBUS_HELP] = {"help", "呼叫大厅经理"},
    [HALLBUS_LOGOUT] = {"logout", "退出登录"},
    [HALLBUS_LOGIN] = {"login", "登录"},
};

const char *hallbus_action_name(int action)
{
    return action >= 0 && action < HALLBUS_ACTION__COUNT ? hallbus_action_names[action][0]
                                                         : "unknown";
}

const char *hallbus_action_name_zh(int action)
{
    return action >= 0 && action < HALLBUS_ACTION__COUNT ? hallbus_action_names[action][1]
                                                         : "未知按键";
}

int hallbus_key_decode(const struct hallbus_frame *f, struct hallbus_key *k)
{
    memset(k, 0, sizeof *k);
    if (f->func == HALLBUS_FUNC_RATING || f->n == 0) return HQ_ERR_INVALID;
    k->addr = f->addr;
    uint8_t key = f->data[f->n - 1];
    k->n_digits = (uint8_t)(f->n - 1);
    for (unsigned i = 0; i < k->n_digits; i++) {
        if (f->data[i] > 9) return HQ_ERR_INVALID;
        k->digits[i] = (char)('0' + f->data[i]);
        if (k->number < 100000000u) k->number = k->number * 10 + f->data[i];
    }
    unsigned nd = k->n_digits;
    switch (key) {
    case 0x0C:
        k->action = nd ? HALLBUS_CALL_NUMBER : HALLBUS_CALL_NEXT;
        return HQ_OK;
    case 0x13:
        k->action = nd ? HALLBUS_TRANSFER_TO_SERVICE : HALLBUS_TRANSFER;
        return HQ_OK;
    case 0x0D:
    case 0x0A:
    case 0x0B:
    case 0x12:
        /* Digits before a key that takes none: a mistyped sequence, safer to ignore. */
        if (nd) return HQ_ERR_INVALID;
        k->action = key == 0x0D   ? HALLBUS_RECALL
                    : key == 0x0A ? HALLBUS_START
                    : key == 0x0B ? HALLBUS_FINISH
                                  : HALLBUS_PAUSE_TOGGLE;
        return HQ_OK;
    case 0x0F:
        if (nd >= 2) {
            k->action = HALLBUS_LOGIN;
            memcpy(k->staff_id, k->digits, nd);
            return HQ_OK;
        }
        if (nd != 1) return HQ_ERR_INVALID;
        switch (f->data[0]) {
        case 6:
            k->action = HALLBUS_NO_SHOW;
            return HQ_OK;
        case 0:
            k->action = HALLBUS_PARK;
            return HQ_OK;
        case 3:
            k->action = HALLBUS_CALL_BACK;
            return HQ_OK;
        case 7:
            k->action = HALLBUS_HELP;
            return HQ_OK;
        case 9:
            k->action = HALLBUS_LOGOUT;
            return HQ_OK;
        default:
            return HQ_ERR_INVALID;
        }
    default:
        return HQ_ERR_INVALID;
    }
}

/* ------------------------------------------------------------- repeats */

void hallbus_repeat_init(struct hallbus_repeat *r)
{
    memset(r, 0, sizeof *r);
}

bool hallbus_repeat_check(struct hallbus_repeat *r, const struct hallbus_frame *f, uint64_t now_ms)
{
    typeof(r->slot[0]) *s = &r->slot[f->addr];
    bool repeat = s->used && s->n == f->n && memcmp(s->data, f->data, f->n) == 0 &&
                  now_ms - s->echoed_ms < HALLBUS_REPEAT_MS;
    s->used = true;
    s->n = f->n;
    memcpy(s->data, f->data, f->n);
    s->echoed_ms = now_ms;
    return repeat;
}

/* ------------------------------------------------------------ host frames */

static size_t hallbus__make(uint8_t addr, uint8_t func, const uint8_t *d, uint8_t n, uint8_t *out,
                            size_t cap)
{
    struct hallbus_frame f = {.addr = addr, .func = func, .n = n};
    if (n) memcpy(f.data, d, n);
    return hallbus_encode(&f, out, cap);
}

size_t hallbus_make_display(uint8_t addr, int waiting, const char *ticket, uint8_t *out, size_t cap)
{
    uint8_t d[6] = {0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A};
    if (waiting >= 0) {
        if (waiting > 999) waiting = 999;
        d[0] = (uint8_t)(waiting / 100);
        d[1] = (uint8_t)(waiting / 10 % 10);
        d[2] = (uint8_t)(waiting % 10);
    }
    if (ticket) {
        /* Right-align the ticket's digits: "A012" shows 0 1 2, "A7" shows _ _ 7. */
        int pos = 5;
        for (size_t i = strlen(ticket); i-- > 0 && pos >= 3;)
            if (ticket[i] >= '0' && ticket[i] <= '9') d[pos--] = (uint8_t)(ticket[i] - '0');
    }
    return hallbus__make(addr, HALLBUS_FUNC_DISPLAY, d, 6, out, cap);
}

size_t hallbus_make_beep(uint8_t addr, uint8_t *out, size_t cap)
{
    return hallbus__make(addr, HALLBUS_FUNC_BEEP, NULL, 0, out, cap);
}

size_t hallbus_make_invite(uint8_t addr, uint8_t *out, size_t cap)
{
    uint8_t d = 0x0B;
    return hallbus__make(addr, HALLBUS_FUNC_KEY, &d, 1, out, cap);
}

size_t hallbus_make_rating_ack(uint8_t addr, uint8_t raw, uint8_t *out, size_t cap)
{
    return hallbus__make(addr, HALLBUS_FUNC_KEY, &raw, 1, out, cap);
}

size_t hallbus_make_stars(uint8_t addr, uint8_t n, uint8_t *out, size_t cap)
{
    return hallbus__make(addr, HALLBUS_FUNC_DISPLAY, &n, 1, out, cap);
}

int hallbus_rating_decode(const struct hallbus_frame *f, uint8_t *raw)
{
    if (f->func != HALLBUS_FUNC_RATING || f->n != 1) return HQ_ERR_INVALID;
    *raw = f->data[0];
    return HQ_OK;
}

/* --------------------------------------------------------- pad mapping */

void hallbus_padmap_five(struct hallbus_padmap *m)
{
    memset(m, 0, sizeof *m);
    for (int i = 1; i <= 5; i++)
        m->level[i] = (uint8_t)i;
}

void hallbus_padmap_four(struct hallbus_padmap *m)
{
    memset(m, 0, sizeof *m);
    m->level[4] = 5;
    m->level[3] = 4;
    m->level[2] = 3;
    m->level[1] = 2;
}

int hallbus_padmap_parse(struct hallbus_padmap *m, const char *spec)
{
    struct hallbus_padmap t;
    memset(&t, 0, sizeof t);
    const char *p = spec;
    int n = 0;
    while (*p) {
        char *end;
        long raw = strtol(p, &end, 0);
        if (end == p || *end != '=' || raw < 0 || raw > 255) return HQ_ERR_CONFIG;
        p = end + 1;
        long lvl = strtol(p, &end, 10);
        if (end == p || lvl < 1 || lvl > 5 || t.level[raw]) return HQ_ERR_CONFIG;
        t.level[raw] = (uint8_t)lvl;
        n++;
        p = end;
        while (*p == ' ')
            p++;
        if (*p == ',')
            p++;
        else if (*p)
            return HQ_ERR_CONFIG;
        while (*p == ' ')
            p++;
    }
    if (!n) return HQ_ERR_CONFIG;
    *m = t;
    return HQ_OK;
}

int hallbus_padmap_level(const struct hallbus_padmap *m, uint8_t raw)
{
    return m->level[raw];
}

static const char *const hallbus_levels[6][2] = {
    {"未评价", "unrated"},      {"非常不满意", "very dissatisfied"},
    {"不满意", "dissatisfied"}, {"基本满意", "fairly satisfied"},
    {"满意", "satisfied"},      {"非常满意", "very satisfied"},
};

const char *hallbus_level_name_zh(int level)
{
    return hallbus_levels[level >= 1 && level <= 5 ? level : 0][0];
}

const char *hallbus_level_name_en(int level)
{
    return hallbus_levels[level >= 1 && level <= 5 ? level : 0][1];
}
