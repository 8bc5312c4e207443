/*
 * escpos.c — render a queue ticket into ESC/POS bytes (PROTOCOLS.md §4).
 *
 * The printer's fonts are 12×24 dots for a half-width character and 24×24
 * for a Chinese one, so a line holds width/12 columns at size 1 and a Chinese
 * character takes two. The stream we write:
 *
 *   1B 40 | 1C 26 | per text line: 1B 61 a  1B 45 b  1D 21 n  <GB18030 text> 0A ...
 *         | qr:  1B 61 a  1D 28 6B 04 00 31 41 32 00      (model 2)
 *                          1D 28 6B 03 00 31 43 m         (module size)
 *                          1D 28 6B 03 00 31 45 31        (EC level M)
 *                          1D 28 6B pL pH 31 50 30 d...   (store, pL pH = k + 3)
 *                          1D 28 6B 03 00 31 51 30        (print)
 *         | feed: 1B 64 n | cut: 1C 2E  1D 56 42 00
 *
 * Each text line restates alignment, bold and size so a printer that lost a
 * byte of the previous ticket still prints this one right. Nothing a citizen
 * or an operator typed may reach the printer as a command: control
 * characters are replaced before conversion, and so is every character the
 * printer's GB font cannot hold (4-byte GB18030, private use, broken UTF-8).
 */
#include "escpos.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"

#define ESCPOS_EXPAND_MAX 1024
#define ESCPOS_QR_MAX 1024
#define ESCPOS_FIT_MAX_DEFAULT 6
#define ESCPOS_MARGIN_COLS 2 /* 24 dots, 3 mm */

/* ---------------------------------------------------------------- buffer */

void escpos_buf_free(struct escpos_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int escpos__put(struct escpos_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) return HQ_ERR_NOMEM;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return HQ_OK;
}

#define ESCPOS_PUT(b, ...)                                                                         \
    escpos__put((b), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

/* ------------------------------------------------------------- text: GB18030 */

/* Next code point of s (max n bytes); *len gets the bytes used. Returns -1 for
 * broken UTF-8 (overlong, surrogate, truncated, > U+10FFFF) with *len = 1. */
static int32_t escpos__utf8_next(const uint8_t *s, size_t n, size_t *len)
{
    *len = 1;
    uint8_t c = s[0];
    if (c < 0x80) return c;
    size_t k;
    int32_t cp, min;
    if ((c & 0xE0) == 0xC0)
        k = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        k = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        k = 4, cp = c & 0x07, min = 0x10000;
    else
        return -1;
    if (k > n) return -1;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    *len = k;
    return cp;
}

/* Is this code point one a GB18030 thermal printer can print from its font?
 * Controls would be commands; private use maps to user-defined GB areas that
 * the printer's font leaves blank; every plane-1+ character is 4 bytes. */
static int escpos__printable_cp(int32_t cp)
{
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) return 0;
    if (cp >= 0xE000 && cp <= 0xF8FF) return 0;
    if (cp >= 0x10000) return 0;
    return 1;
}

/* Convert one code point's UTF-8 bytes; returns 1 or 2 bytes in out, 0 if the
 * GB18030 form is not 1 or 2 printable bytes. */
static size_t escpos__conv_char(iconv_t cd, const uint8_t *u, size_t ulen, uint8_t out[4])
{
    char *in = (char *)u, *o = (char *)out;
    size_t il = ulen, ol = 4;
    iconv(cd, NULL, NULL, NULL, NULL);
    if (iconv(cd, &in, &il, &o, &ol) == (size_t)-1 || il != 0) return 0;
    size_t n = 4 - ol;
    if (n == 1 && out[0] < 0x80) return 1;
    if (n == 2 && out[0] >= 0x81 && out[0] <= 0xFE && out[1] >= 0x40 && out[1] <= 0xFE &&
        out[1] != 0x7F)
        return 2;
    return 0;
}

/* Convert with a replacement that is already known to be printable GB. */
static int escpos__to_gb(iconv_t cd, const char *utf8, const uint8_t *rep, size_t rep_len,
                         struct escpos_buf *out)
{
    const uint8_t *s = (const uint8_t *)(utf8 ? utf8 : "");
    size_t n = strlen((const char *)s);
    while (n) {
        size_t k;
        int32_t cp = escpos__utf8_next(s, n, &k);
        uint8_t gb[4];
        size_t g = 0;
        if (cp >= 0 && escpos__printable_cp(cp)) g = escpos__conv_char(cd, s, k, gb);
        int rc = g ? escpos__put(out, gb, g) : escpos__put(out, rep, rep_len);
        if (rc) return rc;
        s += k;
        n -= k;
    }
    return HQ_OK;
}

/* The replacement in GB18030: the configured one if every character of it
 * is printable, else "?". */
static int escpos__replacement(iconv_t cd, const char *replacement, struct escpos_buf *rep)
{
    rep->len = 0;
    if (replacement && *replacement) {
        int rc = escpos__to_gb(cd, replacement, (const uint8_t *)"\x01", 1, rep);
        if (rc) return rc;
        if (!memchr(rep->data, 0x01, rep->len)) return HQ_OK;
        LOG_WARN("ESCPOS", "replacement text is not printable in GB18030; using '?'");
        rep->len = 0;
    }
    return escpos__put(rep, "?", 1);
}

int escpos_text_to_gb18030(const char *utf8, const char *replacement, struct escpos_buf *out)
{
    iconv_t cd = iconv_open("GB18030", "UTF-8");
    if (cd == (iconv_t)-1) return HQ_ERR_IO;
    struct escpos_buf rep = {0};
    int rc = escpos__replacement(cd, replacement, &rep);
    if (rc) goto fail;
    rc = escpos__to_gb(cd, utf8, rep.data, rep.len, out);
fail:
    escpos_buf_free(&rep);
    iconv_close(cd);
    return rc;
}

size_t escpos_gb_columns(const uint8_t *gb, size_t len)
{
    size_t cols = 0;
    for (size_t i = 0; i < len;) {
        size_t k = (gb[i] >= 0x81 && i + 1 < len) ? 2 : 1;
        cols += k;
        i += k;
    }
    return cols;
}

/* ------------------------------------------------------------ QR sizing */

/* Byte-mode capacity at error correction M, versions 1..20 (ISO/IEC 18004
 * table 7); longer payloads use the smallest module size. */
static const uint16_t escpos__qr_cap_m[] = {14,  26,  42,  62,  84,  106, 122, 152, 180, 213,
                                            251, 287, 331, 362, 412, 450, 504, 560, 624, 666};

int escpos_qr_module_size(size_t len, int width_dots)
{
    int version = 0;
    for (size_t v = 0; v < HQ_ARRAY_LEN(escpos__qr_cap_m); v++)
        if (len <= escpos__qr_cap_m[v]) {
            version = (int)v + 1;
            break;
        }
    if (!version) return 1;
    int modules = 17 + 4 * version;
    int m = (width_dots * 55 / 100) / modules;
    if (m < 1) m = 1;
    if (m > 8) m = 8;
    return m;
}

/* -------------------------------------------------------------- template */

const char escpos_default_template_json[] =
    "["
    "{\"text\": \"{reprint}\", \"align\": \"center\", \"size\": \"2x1\", \"bold\": true},"
    "{\"text\": \"{hall}\", \"align\": \"center\", \"bold\": true},"
    "{\"text\": \"{hall_en}\", \"align\": \"center\"},"
    "{\"feed\": 1},"
    "{\"text\": \"{service}\", \"align\": \"center\", \"size\": \"2x2\", \"bold\": true},"
    "{\"text\": \"{service_en}\", \"align\": \"center\"},"
    "{\"text\": \"{label}\", \"align\": \"center\", \"size\": \"fit\", \"max\": 6, \"bold\": true},"
    "{\"text\": \"{priority}\", \"align\": \"center\", \"size\": \"1x2\", \"bold\": true},"
    "{\"text\": \"{name}\", \"align\": \"center\"},"
    "{\"text\": \"前面还有 {ahead} 人 / {ahead} ahead of you\"},"
    "{\"text\": \"预计等候 {wait} / Wait {wait_en}\"},"
    "{\"text\": \"取号时间 {issued}\"},"
    "{\"feed\": 1},"
    "{\"qr\": true, \"align\": \"center\"},"
    "{\"text\": \"扫码查看排队进度 / Scan to follow the queue\", \"align\": \"center\"},"
    "{\"text\": \"{no_show}\", \"align\": \"center\"},"
    "{\"text\": \"{notice}\", \"align\": \"center\"},"
    "{\"feed\": 3},"
    "\"cut\""
    "]";

static const char *const escpos__placeholders[] = {
    "hall",    "hall_en", "service",  "service_en", "label",  "ahead",   "wait",
    "wait_en", "issued",  "priority", "name",       "notice", "reprint", "no_show",
};

static int escpos__placeholder_index(const char *name, size_t len)
{
    for (size_t i = 0; i < HQ_ARRAY_LEN(escpos__placeholders); i++)
        if (strlen(escpos__placeholders[i]) == len &&
            memcmp(escpos__placeholders[i], name, len) == 0)
            return (int)i;
    return -1;
}

/* Check every {placeholder} of a template text; "{{" and "}}" print a brace. */
static int escpos__check_text(const char *s, char *bad, size_t badlen)
{
    for (const char *p = s; *p; p++) {
        if ((*p == '{' && p[1] == '{') || (*p == '}' && p[1] == '}')) {
            p++;
            continue;
        }
        if (*p != '{') continue;
        const char *e = strchr(p, '}');
        if (!e) {
            snprintf(bad, badlen, "unclosed '{'");
            return -1;
        }
        if (escpos__placeholder_index(p + 1, (size_t)(e - p - 1)) < 0) {
            snprintf(bad, badlen, "unknown placeholder {%.*s}", (int)(e - p - 1), p + 1);
            return -1;
        }
        p = e;
    }
    return 0;
}

#define ESCPOS_ERR(...)                                                                            \
    do {                                                                                           \
        if (err && errlen) snprintf(err, errlen, __VA_ARGS__);                                     \
        return HQ_ERR_CONFIG;                                                                      \
    } while (0)

static int escpos__parse_line(const cJSON *item, int i, struct escpos_line *l, char *err,
                              size_t errlen)
{
    memset(l, 0, sizeof *l);
    l->w = l->h = 1;
    if (cJSON_IsString(item)) {
        if (strcmp(item->valuestring, "qr") == 0)
            l->kind = ESCPOS_LINE_QR, l->align = 1;
        else if (strcmp(item->valuestring, "cut") == 0)
            l->kind = ESCPOS_LINE_CUT;
        else
            ESCPOS_ERR("$[%d]: a string line must be \"qr\" or \"cut\"", i);
        return HQ_OK;
    }
    if (!cJSON_IsObject(item)) ESCPOS_ERR("$[%d]: must be an object, \"qr\" or \"cut\"", i);
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(item, "text");
    const cJSON *feed = cJSON_GetObjectItemCaseSensitive(item, "feed");
    const cJSON *qr = cJSON_GetObjectItemCaseSensitive(item, "qr");
    if ((text != NULL) + (feed != NULL) + (qr != NULL) != 1)
        ESCPOS_ERR("$[%d]: needs exactly one of \"text\", \"feed\", \"qr\"", i);
    int has_fit_max = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, item)
    {
        const char *key = k->string;
        if (strcmp(key, "text") == 0) {
            if (!cJSON_IsString(k)) ESCPOS_ERR("$[%d].text: must be a string", i);
            if (strlen(k->valuestring) >= ESCPOS_TEXT_MAX)
                ESCPOS_ERR("$[%d].text: longer than %d bytes", i, ESCPOS_TEXT_MAX - 1);
            char bad[96];
            if (escpos__check_text(k->valuestring, bad, sizeof bad))
                ESCPOS_ERR("$[%d].text: %s", i, bad);
            l->kind = ESCPOS_LINE_TEXT;
            strcpy(l->text, k->valuestring);
        } else if (strcmp(key, "feed") == 0) {
            if (!cJSON_IsNumber(k) || k->valuedouble < 0 || k->valuedouble > 255 ||
                k->valuedouble != (int)k->valuedouble)
                ESCPOS_ERR("$[%d].feed: must be a whole number 0..255", i);
            l->kind = ESCPOS_LINE_FEED;
            l->feed = (uint8_t)k->valueint;
        } else if (strcmp(key, "qr") == 0) {
            if (!cJSON_IsTrue(k)) ESCPOS_ERR("$[%d].qr: must be true", i);
            l->kind = ESCPOS_LINE_QR;
            l->align = ESCPOS_ALIGN_CENTER;
        } else if (strcmp(key, "align") == 0) {
            const char *v = cJSON_IsString(k) ? k->valuestring : "";
            if (strcmp(v, "left") == 0)
                l->align = ESCPOS_ALIGN_LEFT;
            else if (strcmp(v, "center") == 0 || strcmp(v, "centre") == 0)
                l->align = ESCPOS_ALIGN_CENTER;
            else if (strcmp(v, "right") == 0)
                l->align = ESCPOS_ALIGN_RIGHT;
            else
                ESCPOS_ERR("$[%d].align: must be \"left\", \"center\" or \"right\"", i);
        } else if (strcmp(key, "size") == 0) {
            unsigned w, h;
            char tail;
            const char *v = cJSON_IsString(k) ? k->valuestring : "";
            if (strcmp(v, "fit") == 0) {
                l->w = l->h = 0;
            } else if (sscanf(v, "%ux%u%c", &w, &h, &tail) == 2 && w >= 1 && w <= 8 && h >= 1 &&
                       h <= 8) {
                l->w = (uint8_t)w;
                l->h = (uint8_t)h;
            } else {
                ESCPOS_ERR("$[%d].size: must be \"WxH\" with 1..8 or \"fit\"", i);
            }
        } else if (strcmp(key, "max") == 0) {
            if (!cJSON_IsNumber(k) || k->valuedouble < 1 || k->valuedouble > 8 ||
                k->valuedouble != (int)k->valuedouble)
                ESCPOS_ERR("$[%d].max: must be a whole number 1..8", i);
            l->max = (uint8_t)k->valueint;
            has_fit_max = 1;
        } else if (strcmp(key, "bold") == 0) {
            if (!cJSON_IsBool(k)) ESCPOS_ERR("$[%d].bold: must be true or false", i);
            l->bold = cJSON_IsTrue(k);
        } else {
            ESCPOS_ERR("$[%d]: unknown key \"%s\"", i, key);
        }
    }
    if (l->kind != ESCPOS_LINE_TEXT &&
        (cJSON_GetObjectItemCaseSensitive(item, "size") ||
         cJSON_GetObjectItemCaseSensitive(item, "bold") || has_fit_max))
        ESCPOS_ERR("$[%d]: size, max and bold apply to text lines only", i);
    if (has_fit_max && l->w != 0) ESCPOS_ERR("$[%d].max: only with \"size\": \"fit\"", i);
    if (l->kind == ESCPOS_LINE_TEXT && l->w == 0 && !l->max) l->max = ESCPOS_FIT_MAX_DEFAULT;
    return HQ_OK;
}

int escpos_template_parse_json(const cJSON *json, struct escpos_template *tpl, char *err,
                               size_t errlen)
{
    if (!cJSON_IsArray(json)) ESCPOS_ERR("$: the ticket template must be an array of lines");
    int n = cJSON_GetArraySize(json);
    if (n < 1 || n > ESCPOS_MAX_LINES) ESCPOS_ERR("$: must have 1 to %d lines", ESCPOS_MAX_LINES);
    tpl->n = 0;
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, json)
    {
        int rc = escpos__parse_line(item, i, &tpl->lines[i], err, errlen);
        if (rc) return rc;
        if (tpl->lines[i].kind == ESCPOS_LINE_CUT && i != n - 1)
            ESCPOS_ERR("$[%d]: \"cut\" must be the last line", i);
        i++;
    }
    tpl->n = (size_t)n;
    if (tpl->lines[n - 1].kind != ESCPOS_LINE_CUT)
        ESCPOS_ERR("$[%d]: the last line must be \"cut\" (tickets are cut apart)", n - 1);
    return HQ_OK;
}

int escpos_template_default(struct escpos_template *tpl)
{
    cJSON *j = cJSON_Parse(escpos_default_template_json);
    if (!j) return HQ_ERR_NOMEM;
    char err[160];
    int rc = escpos_template_parse_json(j, tpl, err, sizeof err);
    cJSON_Delete(j);
    if (rc) LOG_ERR("ESCPOS", "built-in template: %s", err);
    return rc;
}

/* ------------------------------------------------------------- rendering */

static const char *escpos__s(const char *s)
{
    return s ? s : "";
}

/* The value of placeholder i for ticket t, into buf. */
static const char *escpos__value(int i, const struct escpos_ticket *t, char *buf, size_t len)
{
    switch (i) {
    case 0:
        return escpos__s(t->hall_name);
    case 1:
        return escpos__s(t->hall_name_en);
    case 2:
        return escpos__s(t->service_name);
    case 3:
        return escpos__s(t->service_name_en);
    case 4:
        return escpos__s(t->label);
    case 5:
        if (t->ahead < 0) return "";
        snprintf(buf, len, "%d", t->ahead);
        return buf;
    case 6:
        if (t->wait_min < 0) return "暂无法估计";
        snprintf(buf, len, "约%d分钟", t->wait_min);
        return buf;
    case 7:
        if (t->wait_min < 0) return "not known yet";
        snprintf(buf, len, "about %d min", t->wait_min);
        return buf;
    case 8:
        return escpos__s(t->issued_at);
    case 9:
        return escpos__s(t->priority);
    case 10:
        return escpos__s(t->name_masked);
    case 11:
        return escpos__s(t->notice);
    case 12:
        return t->reprint ? "补打 / REPRINT" : "";
    case 13:
        /* what the hall does with a missed call, never the other rule */
        return t->no_show_requeue ? "过号将重新排到队尾 / Miss your call: you go back in the queue"
                                  : "过号请重新取号 / Miss your call: please take a new ticket";
    }
    return "";
}

/* Expand the placeholders of text into out. Returns 0 if the line is to be
 * printed, 1 if one of its placeholders has nothing to say (the line is left
 * out: no priority, no name, not a reprint). */
static int escpos__expand(const char *text, const struct escpos_ticket *t, char *out, size_t outlen)
{
    size_t o = 0;
    int empty = 0;
    for (const char *p = text; *p; p++) {
        const char *v = NULL;
        char one[2] = {*p, 0}, num[48];
        if ((*p == '{' && p[1] == '{') || (*p == '}' && p[1] == '}')) {
            v = *p == '{' ? "{" : "}";
            p++;
        } else if (*p == '{') {
            const char *e = strchr(p, '}');
            int idx = e ? escpos__placeholder_index(p + 1, (size_t)(e - p - 1)) : -1;
            if (idx >= 0) {
                v = escpos__value(idx, t, num, sizeof num);
                if (!*v) empty = 1;
                p = e;
            }
        }
        if (!v) v = one;
        size_t n = strlen(v);
        if (o + n >= outlen) n = outlen - 1 - o; /* cut; the UTF-8 decoder replaces a split tail */
        memcpy(out + o, v, n);
        o += n;
    }
    out[o] = 0;
    return empty;
}

struct escpos_render_ctx {
    iconv_t cd;
    struct escpos_buf rep; /* replacement in GB18030 */
    struct escpos_buf gb;  /* scratch */
    int cols;              /* columns at size 1 */
    struct escpos_buf *out;
};

/* Emit gb[0..len) as lines of at most `cols` columns, each ending in LF and
 * starting with `lead` spaces (the margin of a left-aligned line).
 * Breaks between characters only; a run of ASCII letters (a word) moves to
 * the next line whole when the line has a space to break at. */
static int escpos__emit_wrapped(struct escpos_buf *out, const uint8_t *gb, size_t len, int cols,
                                int lead)
{
    static const uint8_t spaces[8] = "        ";
    size_t start = 0, i = 0;
    int used = 0;
    size_t space = (size_t)-1; /* last ASCII space on this line */
    int rc;
    if (cols < 2) cols = 2;
    while (i < len) {
        size_t k = gb[i] >= 0x81 && i + 1 < len ? 2 : 1;
        if (used + (int)k > cols) {
            size_t end = i, next = i;
            int in_word =
                k == 1 && gb[i] != ' ' && i > start && gb[i - 1] < 0x80 && gb[i - 1] != ' ';
            if (in_word && space != (size_t)-1) end = space, next = space + 1;
            while (end > start && gb[end - 1] == ' ')
                end--; /* no trailing blanks either */
            if ((rc = escpos__put(out, spaces, (size_t)lead))) return rc;
            if ((rc = escpos__put(out, gb + start, end - start))) return rc;
            if ((rc = ESCPOS_PUT(out, 0x0A))) return rc;
            while (next < len && gb[next] == ' ')
                next++; /* no leading blanks after a wrap */
            start = i = next;
            used = 0;
            space = (size_t)-1;
            continue;
        }
        if (gb[i] == ' ') space = i;
        used += (int)k;
        i += k;
    }
    if (start < len || len == 0) {
        if (len > start && (rc = escpos__put(out, spaces, (size_t)lead))) return rc;
        if ((rc = escpos__put(out, gb + start, len - start))) return rc;
        if ((rc = ESCPOS_PUT(out, 0x0A))) return rc;
    }
    return HQ_OK;
}

/* A left-aligned line keeps ESCPOS_MARGIN_COLS (size-1 columns) clear on
 * both sides, in spaces of its own size w: text flush with the paper's edge
 * reads as cut off, and some heads lose their first dots. */
static int escpos__lead(const struct escpos_line *l, int w)
{
    return l->align == ESCPOS_ALIGN_LEFT ? (ESCPOS_MARGIN_COLS + w - 1) / w : 0;
}

static int escpos__text_line(struct escpos_render_ctx *c, const struct escpos_line *l,
                             const char *text)
{
    int rc;
    /* Hard breaks: a notice may hold several lines. */
    const char *parts[16];
    size_t plen[16], np = 0;
    for (const char *p = text;;) {
        const char *nl = strchr(p, '\n');
        if (np < HQ_ARRAY_LEN(parts)) {
            parts[np] = p;
            plen[np++] = nl ? (size_t)(nl - p) : strlen(p);
        }
        if (!nl) break;
        p = nl + 1;
    }
    int w = l->w, h = l->h;
    if (w == 0) { /* fit: the largest size whose text fits one line */
        size_t widest = 0;
        for (size_t i = 0; i < np; i++) {
            char tmp[ESCPOS_EXPAND_MAX];
            memcpy(tmp, parts[i], plen[i]);
            tmp[plen[i]] = 0;
            c->gb.len = 0;
            if ((rc = escpos__to_gb(c->cd, tmp, c->rep.data, c->rep.len, &c->gb))) return rc;
            size_t cw = escpos_gb_columns(c->gb.data, c->gb.len);
            if (cw > widest) widest = cw;
        }
        w = l->max;
        while (w > 1 && (widest + 2 * (size_t)escpos__lead(l, w)) * (size_t)w > (size_t)c->cols)
            w--;
        h = w;
    }
    int lead = escpos__lead(l, w);
    if (c->cols / w - 2 * lead < 4) lead = 0;
    if ((rc = ESCPOS_PUT(c->out, 0x1B, 0x61, l->align))) return rc;
    if ((rc = ESCPOS_PUT(c->out, 0x1B, 0x45, l->bold ? 1 : 0))) return rc;
    if ((rc = ESCPOS_PUT(c->out, 0x1D, 0x21, (uint8_t)(((w - 1) << 4) | (h - 1))))) return rc;
    for (size_t i = 0; i < np; i++) {
        char tmp[ESCPOS_EXPAND_MAX];
        memcpy(tmp, parts[i], plen[i]);
        tmp[plen[i]] = 0;
        c->gb.len = 0;
        if ((rc = escpos__to_gb(c->cd, tmp, c->rep.data, c->rep.len, &c->gb))) return rc;
        if ((rc =
                 escpos__emit_wrapped(c->out, c->gb.data, c->gb.len, c->cols / w - 2 * lead, lead)))
            return rc;
    }
    return HQ_OK;
}

static int escpos__qr(struct escpos_render_ctx *c, const struct escpos_line *l, const char *url,
                      int width_dots)
{
    size_t k = strlen(url);
    if (k == 0) return HQ_OK;
    if (k > ESCPOS_QR_MAX) {
        LOG_WARN("ESCPOS", "QR payload of %zu bytes is too long; ticket printed without it", k);
        return HQ_OK;
    }
    int m = escpos_qr_module_size(k, width_dots);
    int rc;
    if ((rc = ESCPOS_PUT(c->out, 0x1B, 0x61, l->align))) return rc;
    if ((rc = ESCPOS_PUT(c->out, 0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00))) return rc;
    if ((rc = ESCPOS_PUT(c->out, 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, (uint8_t)m))) return rc;
    if ((rc = ESCPOS_PUT(c->out, 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x31))) return rc;
    size_t p = k + 3;
    if ((rc = ESCPOS_PUT(c->out, 0x1D, 0x28, 0x6B, (uint8_t)(p & 0xFF), (uint8_t)(p >> 8), 0x31,
                         0x50, 0x30)))
        return rc;
    if ((rc = escpos__put(c->out, url, k))) return rc;
    return ESCPOS_PUT(c->out, 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30);
}

static int escpos__has_reprint(const struct escpos_template *tpl)
{
    for (size_t i = 0; i < tpl->n; i++)
        if (tpl->lines[i].kind == ESCPOS_LINE_TEXT && strstr(tpl->lines[i].text, "{reprint}"))
            return 1;
    return 0;
}

int escpos_render(const struct escpos_template *tpl, const struct escpos_ticket *t,
                  const struct escpos_opts *opt, struct escpos_buf *out)
{
    int width = opt ? opt->width_dots : ESCPOS_DOTS_58;
    if (width < 4 * ESCPOS_FONT_DOTS || width > 4096 || width % ESCPOS_FONT_DOTS)
        return HQ_ERR_INVALID;
    struct escpos_render_ctx c = {.cols = width / ESCPOS_FONT_DOTS, .out = out};
    c.cd = iconv_open("GB18030", "UTF-8");
    if (c.cd == (iconv_t)-1) return HQ_ERR_IO;
    int rc = escpos__replacement(c.cd, opt ? opt->replacement : NULL, &c.rep);
    if (rc) goto fail;
    if ((rc = ESCPOS_PUT(out, 0x1B, 0x40, 0x1C, 0x26))) goto fail;
    if (t->reprint && !escpos__has_reprint(tpl)) {
        /* A hall's own layout forgot it: a reprint must still say so. */
        struct escpos_line banner = {
            .kind = ESCPOS_LINE_TEXT, .align = 1, .w = 2, .h = 1, .bold = true};
        if ((rc = escpos__text_line(&c, &banner, "补打 / REPRINT"))) goto fail;
    }
    for (size_t i = 0; i < tpl->n; i++) {
        const struct escpos_line *l = &tpl->lines[i];
        char text[ESCPOS_EXPAND_MAX];
        switch (l->kind) {
        case ESCPOS_LINE_TEXT:
            if (escpos__expand(l->text, t, text, sizeof text)) break;
            rc = escpos__text_line(&c, l, text);
            break;
        case ESCPOS_LINE_QR:
            rc = escpos__qr(&c, l, escpos__s(t->qr_url), width);
            break;
        case ESCPOS_LINE_FEED:
            rc = ESCPOS_PUT(out, 0x1B, 0x64, l->feed);
            break;
        case ESCPOS_LINE_CUT:
            rc = ESCPOS_PUT(out, 0x1C, 0x2E, 0x1D, 0x56, 0x42, 0x00);
            break;
        }
        if (rc) goto fail;
    }
fail:
    escpos_buf_free(&c.rep);
    escpos_buf_free(&c.gb);
    iconv_close(c.cd);
    return rc;
}
