/*
 * escpos_decode.c — an ESC/POS interpreter without the paper.
 *
 * Commands (the §4 subset, plus the lengths of common others so they can be
 * skipped without losing sync):
 *
 *   LF 0A                  print the line       DLE EOT 10 04 n   status n
 *   ESC 1B @ / a n / E n / ! n / d n / J n / 2 / 3 n ...
 *   FS  1C & / . / ! n ...                      GS  1D ! n / V m [n] / ( k pL pH cn fn ...
 *
 * Bytes are gathered in a buffer; a step either consumes one whole command
 * or character, or asks for more input. Lengths come from the command table
 * or from the command's own length field, bounded by ESCPOS_DEC_BUF_MAX.
 */
#include "escpos_decode.h"

#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"

#define ESCPOS_DEC_BUF_MAX (65535 + 16) /* the longest command: GS ( k with pL pH = FFFF */
#define ESCPOS_NEED_MORE ((size_t)0)

struct escpos_decoder {
    int cols; /* paper columns at size 1, 0 = no check */
    escpos_ticket_cb on_ticket;
    escpos_status_cb on_status;
    void *arg;
    iconv_t cd;
    uint8_t *in;
    size_t n_in, cap_in;
    /* printer state */
    uint8_t align, gs_w, gs_h, esc_w, esc_h, fs_double;
    bool bold, esc_bold, chinese;
    int qr_module;
    /* the line being built */
    struct escpos_dline line;
    size_t line_len;
    bool line_started;
    struct escpos_dticket t;
    bool t_started;
};

struct escpos_decoder *escpos_decoder_new(int width_dots, escpos_ticket_cb on_ticket,
                                          escpos_status_cb on_status, void *arg)
{
    struct escpos_decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->cd = iconv_open("UTF-8", "GB18030");
    if (d->cd == (iconv_t)-1) {
        free(d);
        return NULL;
    }
    d->cols = width_dots > 0 ? width_dots / 12 : 0;
    d->on_ticket = on_ticket;
    d->on_status = on_status;
    d->arg = arg;
    d->gs_w = d->gs_h = d->esc_w = d->esc_h = 1;
    d->qr_module = 3;
    return d;
}

void escpos_decoder_free(struct escpos_decoder *d)
{
    if (!d) return;
    iconv_close(d->cd);
    free(d->in);
    free(d);
}

size_t escpos_decoder_pending(const struct escpos_decoder *d)
{
    return d->n_in;
}

static void escpos_decode__reset_state(struct escpos_decoder *d)
{
    d->align = 0;
    d->gs_w = d->gs_h = d->esc_w = d->esc_h = 1;
    d->fs_double = 0;
    d->bold = d->esc_bold = false;
    /* A strict printer: ESC @ leaves Chinese mode, so a renderer that forgets
     * FS & shows up as '?' instead of passing on a printer that defaults on. */
    d->chinese = false;
    d->qr_module = 3;
}

static int escpos_decode__w(const struct escpos_decoder *d)
{
    return d->gs_w > d->esc_w ? d->gs_w : d->esc_w;
}

static int escpos_decode__h(const struct escpos_decoder *d)
{
    return d->gs_h > d->esc_h ? d->gs_h : d->esc_h;
}

static struct escpos_dline *escpos_decode__new_line(struct escpos_decoder *d)
{
    d->t_started = true;
    if (d->t.n_lines >= ESCPOS_DEC_MAX_LINES) {
        d->t.truncated = true;
        return NULL;
    }
    return &d->t.lines[d->t.n_lines++];
}

/* LF, ESC d, ESC J, cut: the buffered line goes onto the paper. */
static void escpos_decode__flush_line(struct escpos_decoder *d, bool count_blank)
{
    if (!d->line_started) {
        if (count_blank) {
            d->t.feed_lines++;
            d->t_started = true;
        }
        return;
    }
    struct escpos_dline *l = escpos_decode__new_line(d);
    if (l) {
        *l = d->line;
        l->text[d->line_len] = 0;
        l->overflow = d->cols && l->columns > d->cols;
    }
    d->line_started = false;
    d->line_len = 0;
}

static void escpos_decode__append(struct escpos_decoder *d, const char *utf8, size_t n, int cols)
{
    if (!d->line_started) {
        memset(&d->line, 0, sizeof d->line);
        d->line.kind = ESCPOS_DLINE_TEXT;
        d->line.align = d->align;
        d->line.w = (uint8_t)escpos_decode__w(d);
        d->line.h = (uint8_t)escpos_decode__h(d);
        d->line.bold = d->bold || d->esc_bold;
        d->line_started = true;
        d->t_started = true;
    }
    if (d->line_len + n >= ESCPOS_DEC_TEXT_MAX) {
        d->t.truncated = true;
        return;
    }
    memcpy(d->line.text + d->line_len, utf8, n);
    d->line_len += n;
    int w = escpos_decode__w(d);
    if (cols == 2 && d->fs_double && w < 2) w = 2;
    d->line.columns = (uint16_t)(d->line.columns + cols * w);
}

static void escpos_decode__end_ticket(struct escpos_decoder *d, int cut)
{
    escpos_decode__flush_line(d, false);
    d->t.cut = cut;
    if (d->on_ticket) d->on_ticket(&d->t, d->arg);
    memset(&d->t, 0, sizeof d->t);
    d->t_started = false;
}

/* A printable character starting at p (n bytes available). */
static size_t escpos_decode__char(struct escpos_decoder *d, const uint8_t *p, size_t n)
{
    if (p[0] < 0x80) {
        char c = p[0] == 0x09 ? ' ' : (char)p[0];
        escpos_decode__append(d, &c, 1, 1);
        return 1;
    }
    if (!d->chinese) {
        d->t.non_gb = true;
        escpos_decode__append(d, "?", 1, 1);
        return 1;
    }
    if (p[0] == 0x80 || p[0] == 0xFF) {
        escpos_decode__append(d, "?", 1, 1);
        return 1;
    }
    if (n < 2) return ESCPOS_NEED_MORE;
    d->t.chinese = true;
    char out[8], *o = out, *i = (char *)p;
    size_t il = 2, ol = sizeof out;
    iconv(d->cd, NULL, NULL, NULL, NULL);
    if (iconv(d->cd, &i, &il, &o, &ol) == (size_t)-1 || il)
        escpos_decode__append(d, "?", 1, 2);
    else
        escpos_decode__append(d, out, sizeof out - ol, 2);
    return 2;
}

/* GS ( k: the QR function set (cn 0x31). */
static void escpos_decode__qr(struct escpos_decoder *d, const uint8_t *p, size_t plen)
{
    if (plen < 2 || p[0] != 0x31) return;
    uint8_t fn = p[1];
    if (fn == 0x41 && plen >= 3) {
        d->t.qr_model = p[2] - 0x30;
    } else if (fn == 0x43 && plen >= 3) {
        d->qr_module = p[2];
    } else if (fn == 0x45 && plen >= 3) {
        static const char ec[] = "LMQH";
        d->t.qr_ec = p[2] >= 0x30 && p[2] <= 0x33 ? ec[p[2] - 0x30] : '?';
    } else if (fn == 0x50 && plen >= 3) {
        size_t k = plen - 3;
        if (k > ESCPOS_DEC_QR_MAX) {
            k = ESCPOS_DEC_QR_MAX;
            d->t.truncated = true;
        }
        memcpy(d->t.qr, p + 3, k);
        d->t.qr[k] = 0;
        d->t.qr_len = k;
    } else if (fn == 0x51) {
        escpos_decode__flush_line(d, false);
        struct escpos_dline *l = escpos_decode__new_line(d);
        if (!l) return;
        memset(l, 0, sizeof *l);
        l->kind = ESCPOS_DLINE_QR;
        l->align = d->align;
        l->w = l->h = 1;
        l->qr_module = (uint8_t)d->qr_module;
        size_t k = d->t.qr_len < ESCPOS_DEC_TEXT_MAX - 1 ? d->t.qr_len : ESCPOS_DEC_TEXT_MAX - 1;
        memcpy(l->text, d->t.qr, k);
        l->text[k] = 0;
    }
}

/* Commands with a fixed length after ESC / FS / GS: {second byte, total}. */
struct escpos_decode__fixed {
    uint8_t c, len;
};
static const struct escpos_decode__fixed escpos_decode__esc_fixed[] = {
    {' ', 3}, {'!', 3}, {'-', 3}, {'2', 2}, {'3', 3}, {'<', 2}, {'=', 3},  {'?', 3}, {'@', 2},
    {'E', 3}, {'G', 3}, {'J', 3}, {'K', 3}, {'L', 2}, {'M', 3}, {'R', 3},  {'S', 2}, {'T', 3},
    {'U', 3}, {'V', 3}, {'a', 3}, {'c', 4}, {'d', 3}, {'e', 3}, {'i', 2},  {'m', 2}, {'p', 5},
    {'r', 3}, {'t', 3}, {'u', 3}, {'v', 2}, {'{', 3}, {'$', 4}, {'\\', 4},
};
static const struct escpos_decode__fixed escpos_decode__fs_fixed[] = {
    {'&', 2}, {'.', 2}, {'!', 3}, {'-', 3}, {'C', 3}, {'S', 4}, {'W', 3}, {'p', 4}, {'2', 77},
};
static const struct escpos_decode__fixed escpos_decode__gs_fixed[] = {
    {'!', 3},  {'B', 3}, {'H', 3}, {'I', 3}, {'L', 4}, {'P', 4}, {'W', 4},
    {'a', 3},  {'b', 3}, {'f', 3}, {'h', 3}, {'r', 3}, {'w', 3}, {'$', 4},
    {'\\', 4}, {'/', 3}, {':', 2}, {'E', 3}, {'^', 5}, {'T', 3},
};

static int escpos_decode__fixed_len(const struct escpos_decode__fixed *t, size_t n, uint8_t c)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].c == c) return t[i].len;
    return 0;
}

/* Length of the variable-length commands, or 0 if unknown; *more = 1 when
 * the bytes so far do not tell the length yet. */
static size_t escpos_decode__var_len(const uint8_t *p, size_t n, int *more)
{
    *more = 0;
    if (p[0] == 0x1B && p[1] == '*') { /* ESC * m nL nH d... */
        if (n < 5) return *more = 1, 0;
        size_t k = (size_t)(p[3] | p[4] << 8) * (p[2] <= 1 ? 1 : 3);
        return 5 + k;
    }
    if (p[0] == 0x1B && (p[1] == 'D' || p[1] == 'B')) { /* ESC D n1..nk NUL */
        for (size_t i = 2; i < n && i < 40; i++)
            if (p[i] == 0) return i + 1;
        if (n < 40) return *more = 1, 0;
        return 2;
    }
    if (p[0] == 0x1D && p[1] == '(') { /* GS ( fn pL pH ... */
        if (n < 5) return *more = 1, 0;
        return 5 + (size_t)(p[3] | p[4] << 8);
    }
    if (p[0] == 0x1D && p[1] == 'V') { /* GS V m [n] */
        if (n < 3) return *more = 1, 0;
        return p[2] == 0 || p[2] == 1 || p[2] == 48 || p[2] == 49 ? 3 : 4;
    }
    if (p[0] == 0x1D && p[1] == 'v') { /* GS v 0 m xL xH yL yH d... */
        if (n < 8) return *more = 1, 0;
        return 8 + (size_t)(p[4] | p[5] << 8) * (size_t)(p[6] | p[7] << 8);
    }
    if (p[0] == 0x1D && p[1] == '*') { /* GS * x y d... */
        if (n < 4) return *more = 1, 0;
        return 4 + (size_t)p[2] * p[3] * 8;
    }
    if (p[0] == 0x1D && p[1] == 'k') { /* GS k m ... */
        if (n < 3) return *more = 1, 0;
        if (p[2] <= 6) {
            for (size_t i = 3; i < n && i < 300; i++)
                if (p[i] == 0) return i + 1;
            if (n < 300) return *more = 1, 0;
            return 3;
        }
        if (n < 4) return *more = 1, 0;
        return 4 + p[3];
    }
    return 0;
}

/* Act on one complete command p[0..len). */
static void escpos_decode__command(struct escpos_decoder *d, const uint8_t *p, size_t len)
{
    uint8_t a = len > 2 ? p[2] : 0;
    if (p[0] == 0x1B) {
        switch (p[1]) {
        case '@':
            d->line_started = false;
            d->line_len = 0;
            escpos_decode__reset_state(d);
            d->t.initialised++;
            d->t_started = true;
            break;
        case 'a':
            d->align = (a == 1 || a == '1') ? 1 : (a == 2 || a == '2') ? 2 : 0;
            break;
        case 'E':
        case 'G':
            d->bold = a & 1;
            break;
        case '!':
            d->esc_bold = a & 0x08;
            d->esc_h = a & 0x10 ? 2 : 1;
            d->esc_w = a & 0x20 ? 2 : 1;
            break;
        case 'd':
            escpos_decode__flush_line(d, false);
            d->t.feed_lines += a;
            d->t_started = true;
            break;
        case 'J':
            escpos_decode__flush_line(d, false);
            break;
        case 'i':
            escpos_decode__end_ticket(d, ESCPOS_CUT_FULL);
            break;
        case 'm':
            escpos_decode__end_ticket(d, ESCPOS_CUT_PARTIAL);
            break;
        }
    } else if (p[0] == 0x1C) {
        switch (p[1]) {
        case '&':
            d->chinese = true;
            break;
        case '.':
            d->chinese = false;
            break;
        case '!':
            d->fs_double = (a & 0x0C) == 0x0C;
            break;
        }
    } else if (p[0] == 0x1D) {
        switch (p[1]) {
        case '!':
            d->gs_w = (uint8_t)(((a >> 4) & 7) + 1);
            d->gs_h = (uint8_t)((a & 7) + 1);
            break;
        case 'V': {
            int full = a == 0 || a == 48 || a == 65 || a == 97 || a == 103;
            escpos_decode__end_ticket(d, full ? ESCPOS_CUT_FULL : ESCPOS_CUT_PARTIAL);
            break;
        }
        case '(':
            if (p[2] == 'k') escpos_decode__qr(d, p + 5, len - 5);
            break;
        }
    }
}

/* One step at p: returns bytes consumed, or ESCPOS_NEED_MORE. */
static size_t escpos_decode__step(struct escpos_decoder *d, const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    if (c == 0x0A) {
        escpos_decode__flush_line(d, true);
        return 1;
    }
    if (c == 0x10) { /* DLE: real-time commands */
        if (n < 2) return ESCPOS_NEED_MORE;
        if (p[1] == 0x04 || p[1] == 0x05) {
            if (n < 3) return ESCPOS_NEED_MORE;
            if (p[1] == 0x04 && d->on_status) d->on_status(p[2], d->arg);
            return 3;
        }
        if (p[1] == 0x14) return n < 5 ? ESCPOS_NEED_MORE : 5;
        d->t.unknown++;
        return 2;
    }
    if (c == 0x1B || c == 0x1C || c == 0x1D) {
        if (n < 2) return ESCPOS_NEED_MORE;
        int more;
        size_t len = escpos_decode__var_len(p, n, &more);
        if (more) return ESCPOS_NEED_MORE;
        if (!len) {
            const struct escpos_decode__fixed *t = c == 0x1B   ? escpos_decode__esc_fixed
                                                   : c == 0x1C ? escpos_decode__fs_fixed
                                                               : escpos_decode__gs_fixed;
            size_t tn = c == 0x1B   ? HQ_ARRAY_LEN(escpos_decode__esc_fixed)
                        : c == 0x1C ? HQ_ARRAY_LEN(escpos_decode__fs_fixed)
                                    : HQ_ARRAY_LEN(escpos_decode__gs_fixed);
            len = (size_t)escpos_decode__fixed_len(t, tn, p[1]);
        }
        if (!len) {
            LOG_DEBUG("ESCPOS", "unknown command %02X %02X skipped", p[0], p[1]);
            d->t.unknown++;
            return 2;
        }
        if (len > ESCPOS_DEC_BUF_MAX) len = ESCPOS_DEC_BUF_MAX; /* cannot happen: 16-bit fields */
        if (n < len) return ESCPOS_NEED_MORE;
        escpos_decode__command(d, p, len);
        return len;
    }
    if (c < 0x20 && c != 0x09) return 1; /* CR and other controls print nothing */
    return escpos_decode__char(d, p, n);
}

int escpos_decoder_feed(struct escpos_decoder *d, const void *buf, size_t len)
{
    /* Nothing new: everything held back still waits for more. (Also keeps d->in + 0 off a
     * NULL buffer, undefined behaviour found by tests/fuzz/fuzz_escpos.) */
    if (!len) return HQ_OK;
    if (d->n_in + len > d->cap_in) {
        size_t cap = d->cap_in ? d->cap_in : 4096;
        while (cap < d->n_in + len)
            cap *= 2;
        uint8_t *p = realloc(d->in, cap);
        if (!p) return HQ_ERR_NOMEM;
        d->in = p;
        d->cap_in = cap;
    }
    memcpy(d->in + d->n_in, buf, len);
    d->n_in += len;
    size_t pos = 0;
    while (pos < d->n_in) {
        size_t k = escpos_decode__step(d, d->in + pos, d->n_in - pos);
        if (k == ESCPOS_NEED_MORE) break;
        pos += k;
    }
    memmove(d->in, d->in + pos, d->n_in - pos);
    d->n_in -= pos;
    return HQ_OK;
}

void escpos_decoder_finish(struct escpos_decoder *d)
{
    d->n_in = 0;
    escpos_decode__flush_line(d, false);
    if (d->t.n_lines || d->t.qr_len) escpos_decode__end_ticket(d, ESCPOS_CUT_NONE);
    memset(&d->t, 0, sizeof d->t);
    d->t_started = false;
}

struct escpos_decode__first {
    struct escpos_dticket *out;
    int n;
};

static void escpos_decode__take_first(const struct escpos_dticket *t, void *arg)
{
    struct escpos_decode__first *f = arg;
    if (f->n++ == 0) *f->out = *t;
}

int escpos_decode_buffer(const void *buf, size_t len, int width_dots, struct escpos_dticket *out)
{
    struct escpos_decode__first f = {out, 0};
    memset(out, 0, sizeof *out);
    struct escpos_decoder *d = escpos_decoder_new(width_dots, escpos_decode__take_first, NULL, &f);
    if (!d) return -1;
    if (escpos_decoder_feed(d, buf, len))
        f.n = -1;
    else
        escpos_decoder_finish(d);
    escpos_decoder_free(d);
    return f.n;
}
