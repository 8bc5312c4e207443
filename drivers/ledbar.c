/*
 * ledbar.c — window LED bar protocol (PROTOCOLS.md §3): UTF-8 → GB18030 cells, frames, the
 * text template, the bar-side lexer and the AA acknowledgement timer.
 *
 *   A0 90 | ADDR | CMD | LEN_H LEN_L | cell cell ... | X
 *   cell = 'A' colour  |  GB_hi GB_lo colour            X = XOR(ADDR .. last DATA byte)
 */
#include "ledbar.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "lexbuf.h"

static const char *const ledbar_colors[] = {"red", "green", "yellow"};

const char *ledbar_color_name(int color)
{
    return color >= 0 && color < (int)HQ_ARRAY_LEN(ledbar_colors) ? ledbar_colors[color] : NULL;
}

int ledbar_color_from_name(const char *name)
{
    for (size_t i = 0; i < HQ_ARRAY_LEN(ledbar_colors); i++)
        if (strcmp(name, ledbar_colors[i]) == 0) return (int)i;
    return -1;
}

/* Length of one UTF-8 character at s (1..4), 0 if the bytes are not valid UTF-8. */
static size_t ledbar__utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80             ? 1
               : (s[0] & 0xE0) == 0xC0 ? 2
               : (s[0] & 0xF0) == 0xE0 ? 3
               : (s[0] & 0xF8) == 0xF0 ? 4
                                       : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return n;
}

int ledbar_cells_from_utf8(const char *utf8, uint8_t color, uint8_t *out, size_t cap,
                           size_t *out_len, unsigned *replaced)
{
    iconv_t cd = iconv_open("GB18030", "UTF-8");
    if (cd == (iconv_t)-1) return HQ_ERR_IO;
    const unsigned char *s = (const unsigned char *)utf8;
    size_t o = 0;
    unsigned rep = 0;
    int rc = HQ_OK;
    while (*s) {
        size_t k = ledbar__utf8_len(s);
        uint8_t gb[8];
        size_t glen = 0;
        if (k == 1) {
            /* Control characters would be taken as commands by some bars. */
            gb[0] = (*s >= 0x20 && *s < 0x7F) ? *s : '?';
            glen = 1;
            if (gb[0] == '?' && *s != '?') rep++;
        } else if (k > 1) {
            char *in = (char *)s, *op = (char *)gb;
            size_t inleft = k, outleft = sizeof gb;
            iconv(cd, NULL, NULL, NULL, NULL);
            if (iconv(cd, &in, &inleft, &op, &outleft) != (size_t)-1 && inleft == 0)
                glen = sizeof gb - outleft;
            if (glen != 2) { /* unconvertible, or a four-byte GB18030 code the bar cannot show */
                gb[0] = '?';
                glen = 1;
                rep++;
            }
        } else {
            gb[0] = '?';
            glen = 1;
            rep++;
            k = 1; /* skip one bad byte and try again from the next */
        }
        if (o + glen + 1 > cap) {
            rc = HQ_ERR_LIMIT;
            goto fail;
        }
        memcpy(out + o, gb, glen);
        o += glen;
        out[o++] = color;
        s += k;
    }
    *out_len = o;
    if (replaced) *replaced = rep;
fail:
    iconv_close(cd);
    return rc;
}

int ledbar_cells_to_utf8(const uint8_t *cells, size_t n, char *out, size_t cap, int *color)
{
    iconv_t cd = iconv_open("UTF-8", "GB18030");
    if (cd == (iconv_t)-1) return HQ_ERR_IO;
    size_t o = 0, i = 0;
    int col = -1, rc = HQ_OK;
    while (i < n) {
        size_t glen = cells[i] < 0x80 ? 1 : 2;
        if (i + glen + 1 > n || (glen == 2 && (cells[i] < 0x81 || cells[i] == 0xFF))) {
            rc = HQ_ERR_PROTO;
            goto fail;
        }
        char *in = (char *)cells + i, *op = out + o;
        size_t inleft = glen, outleft = cap > o + 1 ? cap - o - 1 : 0;
        iconv(cd, NULL, NULL, NULL, NULL);
        if (iconv(cd, &in, &inleft, &op, &outleft) == (size_t)-1) {
            rc = errno == E2BIG ? HQ_ERR_LIMIT : HQ_ERR_PROTO;
            goto fail;
        }
        o = (size_t)(op - out);
        uint8_t c = cells[i + glen];
        col = col == -1 ? c : (col == c ? col : -2);
        i += glen + 1;
    }
    if (o >= cap) {
        rc = HQ_ERR_LIMIT;
        goto fail;
    }
    out[o] = 0;
    if (color) *color = col;
fail:
    iconv_close(cd);
    return rc;
}

size_t ledbar_encode(uint8_t addr, uint8_t cmd, const uint8_t *data, size_t n, uint8_t *out,
                     size_t cap)
{
    size_t flen = n + 7;
    if (n > LEDBAR_MAX_DATA || flen > cap) return 0;
    out[0] = 0xA0;
    out[1] = 0x90;
    out[2] = addr;
    out[3] = cmd;
    out[4] = (uint8_t)(n >> 8);
    out[5] = (uint8_t)n;
    if (n) memcpy(out + 6, data, n);
    uint8_t x = 0;
    for (size_t i = 2; i < 6 + n; i++)
        x ^= out[i];
    out[6 + n] = x;
    return flen;
}

int ledbar_make_text(uint8_t addr, uint8_t cmd, const char *utf8, uint8_t color, uint8_t *out,
                     size_t cap, size_t *out_len)
{
    uint8_t cells[LEDBAR_MAX_DATA];
    size_t n = 0;
    unsigned rep = 0;
    int rc = ledbar_cells_from_utf8(utf8, color, cells, sizeof cells, &n, &rep);
    if (rc) return rc;
    if (rep) LOG_INFO("LED", "bar %u: %u character(s) shown as '?'", addr, rep);
    *out_len = ledbar_encode(addr, cmd, cells, n, out, cap);
    return *out_len ? HQ_OK : HQ_ERR_LIMIT;
}

size_t ledbar_make_show_idle(uint8_t addr, uint8_t *out, size_t cap)
{
    return ledbar_encode(addr, LEDBAR_CMD_SHOW_IDLE, NULL, 0, out, cap);
}

int ledbar_template_expand(const char *tpl, const char *ticket, const char *window,
                           const char *name, char *out, size_t cap)
{
    static const char *const keys[] = {"ticket", "window", "name"};
    const char *vals[] = {ticket ? ticket : "", window ? window : "", name ? name : ""};
    size_t o = 0;
    for (const char *p = tpl; *p;) {
        const char *ins = p;
        size_t ilen = 1;
        if (p[0] == '{' && p[1] == '{') {
            p += 2;
        } else if (p[0] == '{') {
            const char *end = strchr(p, '}');
            if (!end) return HQ_ERR_CONFIG;
            size_t klen = (size_t)(end - p - 1);
            size_t i = 0;
            for (; i < HQ_ARRAY_LEN(keys); i++)
                if (strlen(keys[i]) == klen && memcmp(p + 1, keys[i], klen) == 0) break;
            if (i == HQ_ARRAY_LEN(keys)) return HQ_ERR_CONFIG;
            ins = vals[i];
            ilen = strlen(ins);
            p = end + 1;
        } else {
            p++;
        }
        if (o + ilen + 1 > cap) return HQ_ERR_LIMIT;
        memcpy(out + o, ins, ilen);
        o += ilen;
    }
    if (o + 1 > cap) return HQ_ERR_LIMIT;
    out[o] = 0;
    return HQ_OK;
}

/* ---------------------------------------------------------------- lexer */

void ledbar_lexer_init(struct ledbar_lexer *lx)
{
    memset(lx, 0, sizeof *lx);
}

void ledbar_lexer_reset(struct ledbar_lexer *lx)
{
    hq_lexbuf_reset(&HQ_LEXBUF(lx, false));
}

static void ledbar__drop(struct ledbar_lexer *lx, size_t n)
{
    hq_lexbuf_drop(&HQ_LEXBUF(lx, false), n);
}

static void ledbar__scan(struct ledbar_lexer *lx, ledbar_frame_cb cb, void *arg)
{
    for (;;) {
        static const uint8_t head[] = {0xA0, 0x90};
        hq_lexbuf_sync(&HQ_LEXBUF(lx, false), head, sizeof head);
        if (lx->len < 6) return;
        size_t n = (size_t)lx->buf[4] << 8 | lx->buf[5];
        if (n > LEDBAR_MAX_DATA) {
            lx->bad_length++;
            ledbar__drop(lx, 1);
            continue;
        }
        if (lx->len < n + 7) return;
        uint8_t x = 0;
        for (size_t k = 2; k < 6 + n; k++)
            x ^= lx->buf[k];
        if (x != lx->buf[6 + n]) {
            lx->bad_checksum++;
            ledbar__drop(lx, 1);
            continue;
        }
        struct ledbar_frame f = {.addr = lx->buf[2], .cmd = lx->buf[3], .n = (uint16_t)n};
        memcpy(f.data, lx->buf + 6, n);
        lx->frames++;
        ledbar__drop(lx, n + 7);
        if (cb) cb(&f, arg);
    }
}

struct ledbar__feed {
    struct ledbar_lexer *lx;
    ledbar_frame_cb cb;
    void *arg;
};

static void ledbar__scan_cb(void *ctx)
{
    struct ledbar__feed *f = ctx;
    ledbar__scan(f->lx, f->cb, f->arg);
}

void ledbar_lexer_feed(struct ledbar_lexer *lx, const uint8_t *data, size_t n, ledbar_frame_cb cb,
                       void *arg)
{
    struct ledbar__feed f = {lx, cb, arg};
    hq_lexbuf_feed(&HQ_LEXBUF(lx, false), data, n, ledbar__scan_cb, &f);
}

/* ---------------------------------------------------------- acknowledgement */

void ledbar_ack_expect(struct ledbar_ack *a, uint64_t now_ms)
{
    a->state = LEDBAR_ACK_WAITING;
    a->deadline_ms = now_ms + LEDBAR_ACK_MS;
}

int ledbar_ack_poll(struct ledbar_ack *a, uint64_t now_ms)
{
    if (a->state == LEDBAR_ACK_WAITING && now_ms >= a->deadline_ms) {
        a->state = LEDBAR_ACK_FAILED;
        a->timeouts++;
    }
    return a->state;
}

int ledbar_ack_input(struct ledbar_ack *a, const uint8_t *data, size_t n, uint64_t now_ms)
{
    /* An AA that arrives after the deadline is late: the write already counted as failed. */
    ledbar_ack_poll(a, now_ms);
    for (size_t i = 0; i < n; i++) {
        if (data[i] == LEDBAR_ACK && a->state == LEDBAR_ACK_WAITING) {
            a->state = LEDBAR_ACK_OK;
            a->acks++;
        } else {
            a->stray++;
        }
    }
    return a->state;
}
