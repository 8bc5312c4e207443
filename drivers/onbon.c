/*
 * onbon.c — Onbon BX-5E LED screens (onbon.h): frames, the dynamic-area page, answers, the
 * lexer both sides share, and text → one-bit bitmap through FreeType.
 */
#include "onbon.h"

#include "lexbuf.h"

#include <errno.h>
#include <stdio.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#ifndef HQ_ONBON_FONT_DIR
#define HQ_ONBON_FONT_DIR "/usr/share/fonts/X11/misc"
#endif

/* Bit by bit rather than the document's table: no state, and a frame is a few KiB at most. */
static uint16_t onbon__crc(uint16_t crc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : crc >> 1;
    }
    return crc;
}

uint16_t onbon_crc16(const uint8_t *p, size_t n)
{
    return onbon__crc(0, p, n);
}

static void onbon__le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void onbon__le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t onbon__get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t onbon__get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Append b escaped; false when out is full. */
static bool onbon__put(uint8_t *out, size_t cap, size_t *o, uint8_t b)
{
    uint8_t e = b == 0xA5 ? 0xA6 : b == 0xA6 ? 0xA6 : b == 0x5A ? 0x5B : b == 0x5B ? 0x5B : 0;
    if (*o + (e ? 2 : 1) > cap) return false;
    if (e) {
        out[(*o)++] = e;
        out[(*o)++] = (b == 0xA5 || b == 0x5A) ? 0x02 : 0x01;
    } else {
        out[(*o)++] = b;
    }
    return true;
}

size_t onbon_encode(const struct onbon_packet *p, uint8_t *out, size_t cap)
{
    if (p->n > ONBON_MAX_DATA || (p->n && !p->data)) return 0;
    uint8_t h[ONBON_HEADER_LEN] = {0};
    onbon__le16(h, p->dst);
    onbon__le16(h + 2, p->src);
    h[4] = p->ver;
    onbon__le16(h + 6, p->devtype);
    onbon__le32(h + 12, p->n);
    /* The CRC runs over header and DATA as they are before escaping. */
    uint16_t crc = onbon__crc(onbon_crc16(h, sizeof h), p->data, p->n);
    size_t o = 0;
    if (cap < ONBON_HEAD_REPEAT) return 0;
    memset(out, ONBON_HEAD, ONBON_HEAD_REPEAT);
    o = ONBON_HEAD_REPEAT;
    for (size_t i = 0; i < sizeof h; i++)
        if (!onbon__put(out, cap, &o, h[i])) return 0;
    for (uint32_t i = 0; i < p->n; i++)
        if (!onbon__put(out, cap, &o, p->data[i])) return 0;
    if (!onbon__put(out, cap, &o, (uint8_t)crc) || !onbon__put(out, cap, &o, (uint8_t)(crc >> 8)))
        return 0;
    if (o + 1 > cap) return 0;
    out[o++] = ONBON_TAIL;
    return o;
}

size_t onbon_make_ping(uint16_t dst, uint8_t *out, size_t cap)
{
    static const uint8_t ping[] = {0x01, ONBON_GROUP_SYS, 0x00, 0x00, 0x00};
    struct onbon_packet p = {.dst = dst,
                             .src = ONBON_SRC_HOST,
                             .devtype = ONBON_TYPE_ANY,
                             .ver = ONBON_PROTO_VER,
                             .n = sizeof ping,
                             .data = ping};
    return onbon_encode(&p, out, cap);
}

/* ---------------------------------------------------------------- dynamic area */

/* Bytes one colour plane of a row takes: whole screen bytes from x's to x + w - 1's. */
static size_t onbon__plane_bytes(const struct onbon_area *a)
{
    return (size_t)((a->x + a->w + 7) / 8 - a->x / 8);
}

size_t onbon_row_bytes(const struct onbon_area *a)
{
    return onbon__plane_bytes(a) * a->colors;
}

static bool onbon__area_ok(const struct onbon_area *a)
{
    return a->w >= 1 && a->w <= ONBON_MAX_W && a->h >= 1 && a->h <= ONBON_MAX_H &&
           (a->colors == 1 || a->colors == 2) && a->id <= 3;
}

/* Fixed bytes: command 9, area 24 (AreaId .. AreaFFlag, PageNum), PageDataLen 4, page 13. */
enum { ONBON__CMD = 9, ONBON__AREA = 24, ONBON__PAGE = 13 };
enum { ONBON__RUN_LOOP = 0, ONBON__PLAY_ALONE = 1, ONBON__AREA_TYPE = 0x10, ONBON__STILL = 0x01 };

int onbon_make_area(const struct onbon_area *a, const uint8_t *lit, uint8_t color, uint8_t *out,
                    size_t cap, size_t *out_len)
{
    if (!onbon__area_ok(a) || !color || color > 3) return HQ_ERR_INVALID;
    size_t bitmap = onbon_row_bytes(a) * a->h;
    size_t page = ONBON__PAGE + bitmap, area = ONBON__AREA + 4 + page, total = ONBON__CMD + area;
    if (total > cap || total > ONBON_MAX_DATA) return HQ_ERR_LIMIT;
    uint8_t *p = out;
    memset(p, 0, total);
    p[0] = 0x01; /* RtnReq: the screen answers ACK / NACK */
    p[1] = ONBON_GROUP_AREA;
    p[2] = 0x00;
    onbon__le32(p + 5, (uint32_t)area);
    p += ONBON__CMD;
    p[0] = a->id;
    p[1] = ONBON__RUN_LOOP; /* one page, shown until the next update */
    /* p[2..3] Timeout 0, p[4] RelateAllPro 0, p[5..6] RelateProNum 0: unused when alone */
    p[7] = ONBON__PLAY_ALONE; /* ImmePlay 1: the stored programs stop while we show this */
    /* p[8..11] reserved */
    p[12] = ONBON__AREA_TYPE;
    onbon__le16(p + 13, a->x);
    onbon__le16(p + 15, a->y);
    onbon__le16(p + 17, a->w);
    onbon__le16(p + 19, a->h);
    p[21] = 0x00; /* AreaFFlag: no frame border, so no border fields follow */
    onbon__le16(p + 22, 1);
    p += ONBON__AREA;
    /* PageDataLen: the page's bytes after this field (its 13-byte head + bitmap). */
    onbon__le32(p, (uint32_t)page);
    p += 4;
    p[0] = 0x00;              /* PageStyle */
    p[1] = ONBON__STILL;      /* DisplayMode 01 静止显示 */
    p[2] = 0x00;              /* ClearMode */
    p[3] = 0x00;              /* Speed */
    onbon__le16(p + 4, 100);  /* StayTime 1 s: the page loops onto itself */
    p[6] = 0x01;              /* RepeatTime */
    onbon__le16(p + 7, a->w); /* ValidLen: the area width, as the document advises */
    p += ONBON__PAGE;
    /* Pixels: 1 = dark here; padding bits outside the area are dark too. */
    memset(p, 0xFF, bitmap);
    size_t stride = ((size_t)a->w + 7) / 8;
    for (unsigned r = 0; r < a->h; r++) {
        uint8_t *row = p + r * onbon_row_bytes(a);
        for (unsigned c = 0; c < a->w; c++) {
            if (!(lit[r * stride + c / 8] & (0x80 >> (c % 8)))) continue;
            unsigned sx = a->x + c;
            size_t k = sx / 8 - a->x / 8;
            uint8_t bit = (uint8_t)(0x80 >> (sx % 8));
            /* A single-colour screen has one plane, lit whatever colour was asked for. */
            for (unsigned ch = 0; ch < a->colors; ch++)
                if (a->colors == 1 || (color & (1u << ch)))
                    row[k * a->colors + ch] &= (uint8_t)~bit;
        }
    }
    *out_len = total;
    return HQ_OK;
}

int onbon_parse_area(const uint8_t *d, size_t n, uint8_t colors, struct onbon_area_update *u)
{
    memset(&u->area, 0, sizeof u->area);
    if (n < ONBON__CMD + ONBON__AREA || d[1] != ONBON_GROUP_AREA || d[2] != 0x00)
        return HQ_ERR_PROTO;
    if (onbon__get32(d + 5) != n - ONBON__CMD) return HQ_ERR_PROTO;
    const uint8_t *p = d + ONBON__CMD, *end = d + n;
    struct onbon_area *a = &u->area;
    a->id = p[0];
    u->run_mode = p[1];
    size_t relate = 2 * (size_t)onbon__get16(p + 5); /* RelateProSerial × RelateProNum */
    if ((size_t)(end - p) < 7 + relate + 15) return HQ_ERR_PROTO;
    p += 7 + relate;
    u->imme_play = p[0];
    if (p[5] != ONBON__AREA_TYPE) return HQ_ERR_PROTO;
    a->x = onbon__get16(p + 6);
    a->y = onbon__get16(p + 8);
    a->w = onbon__get16(p + 10);
    a->h = onbon__get16(p + 12);
    a->colors = colors;
    if (!onbon__area_ok(a)) return HQ_ERR_PROTO;
    p += 14;
    if (p[0]) {
        /* A border: flag, style, speed, step, AreaFWidth, 2 spare, AreaFWidth unit bytes. */
        if (end - p < 7) return HQ_ERR_PROTO;
        p += 7 + (size_t)p[4];
    } else {
        p += 1;
    }
    if (end - p < 2) return HQ_ERR_PROTO;
    u->pages = onbon__get16(p);
    p += 2;
    if (u->pages != 1 || end - p < 4 + ONBON__PAGE) return HQ_ERR_PROTO;
    uint32_t page = onbon__get32(p);
    p += 4;
    size_t bitmap = onbon_row_bytes(a) * a->h;
    if (page != (size_t)(end - p) || page != ONBON__PAGE + bitmap) return HQ_ERR_PROTO;
    u->display_mode = p[1];
    p += ONBON__PAGE;
    size_t stride = ((size_t)a->w + 7) / 8, rb = onbon_row_bytes(a);
    memset(u->lit, 0, stride * a->h);
    u->color = 0;
    for (unsigned r = 0; r < a->h; r++) {
        const uint8_t *row = p + r * rb;
        /* Every bit outside the area must be the padding 1 the document asks for. */
        for (size_t k = 0; k < onbon__plane_bytes(a); k++) {
            for (unsigned b = 0; b < 8; b++) {
                unsigned sx = (unsigned)((a->x / 8 + k) * 8 + b);
                bool inside = sx >= a->x && sx < (unsigned)a->x + a->w;
                for (unsigned ch = 0; ch < a->colors; ch++) {
                    bool dark = row[k * a->colors + ch] & (0x80 >> b);
                    if (!inside) {
                        if (!dark) return HQ_ERR_PROTO;
                        continue;
                    }
                    if (dark) continue;
                    unsigned c = sx - a->x;
                    u->lit[r * stride + c / 8] |= (uint8_t)(0x80 >> (c % 8));
                    u->color |= (uint8_t)(1u << ch);
                }
            }
        }
    }
    return HQ_OK;
}

int onbon_parse_answer(const uint8_t *d, size_t n, struct onbon_answer *a)
{
    if (n < 9) return HQ_ERR_PROTO;
    a->group = d[1];
    a->cmd = d[2];
    a->status = onbon__get16(d + 3);
    a->error = onbon__get16(d + 5);
    a->n = onbon__get16(d + 7);
    if ((size_t)a->n > n - 9) return HQ_ERR_PROTO;
    return HQ_OK;
}

size_t onbon_make_answer(uint16_t error, uint8_t *out, size_t cap)
{
    if (cap < 9) return 0;
    memset(out, 0, 9);
    out[1] = ONBON_GROUP_ACK;
    out[2] = error ? 0x01 : 0x00;
    onbon__le16(out + 3, error ? 1 : 0);
    onbon__le16(out + 5, error);
    return 9;
}

/* ---------------------------------------------------------------- lexer */

void onbon_lexer_init(struct onbon_lexer *lx)
{
    memset(lx, 0, sizeof *lx);
}

void onbon_lexer_reset(struct onbon_lexer *lx)
{
    hq_lexbuf_reset(&HQ_LEXBUF(lx, false));
}

uint32_t onbon_lexer_bad(const struct onbon_lexer *lx)
{
    return lx->bad_crc + lx->bad_escape + lx->bad_length;
}

/* A whole frame's bytes between head and tail: undo the escapes in place, check lengths and
 * CRC, hand the packet on. */
static void onbon__finish(struct onbon_lexer *lx, uint8_t *raw, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = raw[i];
        if (b == 0xA6 || b == 0x5B) {
            uint8_t e = i + 1 < len ? raw[i + 1] : 0;
            if (e != 0x01 && e != 0x02) {
                lx->bad_escape++;
                return;
            }
            b = e == 0x01 ? b : (b == 0xA6 ? 0xA5 : 0x5A);
            i++;
        }
        raw[o++] = b;
    }
    if (o < ONBON_HEADER_LEN + 2 || onbon__get32(raw + 12) != o - ONBON_HEADER_LEN - 2) {
        lx->bad_length++;
        return;
    }
    if (onbon_crc16(raw, o - 2) != onbon__get16(raw + o - 2)) {
        lx->bad_crc++;
        return;
    }
    lx->frames++;
    struct onbon_frame f = {.dst = onbon__get16(raw),
                            .src = onbon__get16(raw + 2),
                            .ver = raw[4],
                            .devtype = onbon__get16(raw + 6),
                            .n = (uint32_t)(o - ONBON_HEADER_LEN - 2),
                            .data = raw + ONBON_HEADER_LEN};
    if (lx->cb) lx->cb(&f, lx->arg);
}

static void onbon__scan(void *ctx)
{
    struct onbon_lexer *lx = ctx;
    const struct hq_lexbuf b = HQ_LEXBUF(lx, false);
    static const uint8_t head = ONBON_HEAD;
    for (;;) {
        hq_lexbuf_sync(&b, &head, 1);
        size_t s = 0;
        while (s < lx->len && lx->buf[s] == ONBON_HEAD)
            s++;
        if (s == lx->len) {
            /* Only heads so far: one is as good as eight ("只要接收到一个0xA5"). */
            if (s > 1) hq_lexbuf_drop(&b, s - 1);
            return;
        }
        size_t i = s;
        while (i < lx->len && lx->buf[i] != ONBON_TAIL && lx->buf[i] != ONBON_HEAD)
            i++;
        if (i == lx->len) {
            if (lx->len == sizeof lx->buf) {
                /* Longer than any frame we take: drop it; its rest is garbage. */
                lx->bad_length++;
                hq_lexbuf_reset(&b);
            }
            return;
        }
        if (lx->buf[i] == ONBON_HEAD) {
            /* A head inside a frame means its tail was lost: that frame is gone. */
            lx->bad_length++;
            hq_lexbuf_drop(&b, i);
            continue;
        }
        onbon__finish(lx, lx->buf + s, i - s);
        hq_lexbuf_drop(&b, i + 1);
    }
}

void onbon_lexer_feed(struct onbon_lexer *lx, const uint8_t *data, size_t n, onbon_frame_cb cb,
                      void *arg)
{
    lx->cb = cb;
    lx->arg = arg;
    hq_lexbuf_feed(&HQ_LEXBUF(lx, false), data, n, onbon__scan, lx);
    lx->cb = NULL;
    lx->arg = NULL;
}

/* ---------------------------------------------------------------- text */

struct onbon_font {
    FT_Library lib;
    FT_Face face;
};

const char *onbon_default_font(unsigned h)
{
    /* xfonts-wqy: 12pt is the 16-pixel strike, 13px the 14-pixel one, 9pt the 12-pixel one. */
    if (h >= 16) return HQ_ONBON_FONT_DIR "/wenquanyi_12pt.pcf";
    if (h >= 14) return HQ_ONBON_FONT_DIR "/wenquanyi_13px.pcf";
    return HQ_ONBON_FONT_DIR "/wenquanyi_9pt.pcf";
}

int onbon_font_open(const char *path, unsigned px, struct onbon_font **out)
{
    *out = NULL;
    if (access(path, R_OK) != 0) return errno == ENOENT ? HQ_ERR_NOT_FOUND : HQ_ERR_IO;
    struct onbon_font *f = calloc(1, sizeof *f);
    if (!f) return HQ_ERR_NOMEM;
    if (FT_Init_FreeType(&f->lib)) {
        free(f);
        return HQ_ERR_NOMEM;
    }
    int rc = HQ_ERR_CONFIG;
    if (FT_New_Face(f->lib, path, 0, &f->face)) goto fail;
    if (!FT_IS_SCALABLE(f->face)) {
        /* A bitmap font: the strike whose nominal size is nearest to px. */
        int best = -1;
        long bestd = 0;
        for (int i = 0; i < f->face->num_fixed_sizes; i++) {
            long d = labs((f->face->available_sizes[i].y_ppem >> 6) - (long)px);
            if (best < 0 || d < bestd) best = i, bestd = d;
        }
        if (best < 0 || FT_Select_Size(f->face, best)) goto fail;
    } else if (FT_Set_Pixel_Sizes(f->face, 0, px)) {
        goto fail;
    }
    if (FT_Select_Charmap(f->face, FT_ENCODING_UNICODE)) goto fail;
    *out = f;
    return HQ_OK;
fail:
    onbon_font_close(f);
    return rc;
}

void onbon_font_close(struct onbon_font *f)
{
    if (!f) return;
    if (f->face) FT_Done_Face(f->face);
    FT_Done_FreeType(f->lib);
    free(f);
}

/* UTF-8 → code points with iconv; returns how many, -1 for bad UTF-8 or too many. */
static int onbon__codepoints(const char *utf8, uint32_t *cp, size_t cap)
{
    iconv_t cd = iconv_open("UTF-32LE", "UTF-8");
    if (cd == (iconv_t)-1) return -1;
    uint8_t buf[4 * 256];
    char *in = (char *)utf8, *o = (char *)buf;
    size_t il = strlen(utf8), ol = sizeof buf < 4 * cap ? sizeof buf : 4 * cap;
    size_t r = iconv(cd, &in, &il, &o, &ol);
    iconv_close(cd);
    if (r == (size_t)-1) return -1;
    size_t n = (size_t)(o - (char *)buf) / 4;
    for (size_t i = 0; i < n; i++)
        cp[i] = (uint32_t)buf[4 * i] | (uint32_t)buf[4 * i + 1] << 8 |
                (uint32_t)buf[4 * i + 2] << 16 | (uint32_t)buf[4 * i + 3] << 24;
    return (int)n;
}

int onbon_render(struct onbon_font *f, const char *utf8, unsigned w, unsigned h, uint8_t *lit,
                 unsigned *missing, unsigned *clipped)
{
    size_t stride = ((size_t)w + 7) / 8;
    memset(lit, 0, stride * h);
    *missing = *clipped = 0;
    uint32_t cp[256];
    FT_UInt gi[256];
    int n = onbon__codepoints(utf8, cp, HQ_ARRAY_LEN(cp));
    if (n < 0) return HQ_ERR_INVALID;
    /* First the line's width, to centre it. */
    long total = 0, ink_up = 0, ink_down = 0;
    for (int i = 0; i < n; i++) {
        gi[i] = FT_Get_Char_Index(f->face, cp[i]);
        if (!gi[i] || FT_Load_Glyph(f->face, gi[i], FT_LOAD_DEFAULT | FT_LOAD_TARGET_MONO)) {
            (*missing)++;
            gi[i] = 0;
            continue;
        }
        const FT_Glyph_Metrics *m = &f->face->glyph->metrics;
        total += f->face->glyph->advance.x >> 6;
        if (m->horiBearingY >> 6 > ink_up) ink_up = m->horiBearingY >> 6;
        if ((m->height - m->horiBearingY) >> 6 > ink_down)
            ink_down = (m->height - m->horiBearingY) >> 6;
    }
    long pen = total < (long)w ? ((long)w - total) / 2 : 0;
    if (total > (long)w) *clipped = (unsigned)(total - (long)w);
    /* The ink is centred, not the font's line: the WenQuanYi 16-pixel strike has an 18-pixel
     * line, and a 16-row screen would lose the top row of every Chinese character. */
    long base = ink_up + ink_down <= (long)h ? ((long)h - ink_up - ink_down) / 2 + ink_up : ink_up;
    for (int i = 0; i < n; i++) {
        if (!gi[i]) continue;
        FT_GlyphSlot g = f->face->glyph;
        if (FT_Load_Glyph(f->face, gi[i], FT_LOAD_RENDER | FT_LOAD_TARGET_MONO)) continue;
        if (g->bitmap.pixel_mode != FT_PIXEL_MODE_MONO && FT_Render_Glyph(g, FT_RENDER_MODE_MONO))
            continue;
        const FT_Bitmap *bm = &g->bitmap;
        for (unsigned r = 0; r < bm->rows; r++) {
            const uint8_t *row =
                bm->pitch >= 0 ? bm->buffer + (size_t)r * (size_t)bm->pitch
                               : bm->buffer + (size_t)(bm->rows - 1 - r) * (size_t)(-bm->pitch);
            long y = base - g->bitmap_top + (long)r;
            if (y < 0 || y >= (long)h) continue;
            for (unsigned c = 0; c < bm->width; c++) {
                if (!(row[c / 8] & (0x80 >> (c % 8)))) continue;
                long x = pen + g->bitmap_left + (long)c;
                if (x < 0 || x >= (long)w) continue;
                lit[(size_t)y * stride + (size_t)x / 8] |= (uint8_t)(0x80 >> (x % 8));
            }
        }
        pen += g->advance.x >> 6;
    }
    return HQ_OK;
}
