/*
 * test_onbon.c — the Onbon BX-5E protocol (drivers/onbon.c): the one frame the document
 * publishes (the ping) byte for byte, the CRC's check value, escaping, the lexer over split
 * reads, garbage and broken frames, the dynamic-area page both ways, and FreeType text.
 * Every other frame is checked against an independent Python encoder (test_onbon_vectors.py).
 */
#include <stdlib.h>

#include "check.h"
#include "onbon.h"

/* 5th动态区域用户手册.md §5.5.1, copied from the document. */
static const uint8_t doc_ping[] = {0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xfe, 0xff, 0x00,
                                   0x80, 0xf0, 0x00, 0xfe, 0xff, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00,
                                   0x00, 0x00, 0x01, 0xA2, 0x00, 0x00, 0x00, 0xC6, 0x86, 0x5a};

struct seen {
    int n;
    struct onbon_frame last;
    uint8_t data[ONBON_MAX_DATA];
};

static void on_frame(const struct onbon_frame *f, void *arg)
{
    struct seen *s = arg;
    s->n++;
    s->last = *f;
    memcpy(s->data, f->data, f->n);
    s->last.data = s->data;
}

static void test_ping(void)
{
    uint8_t f[64];
    size_t n = onbon_make_ping(ONBON_ADDR_ANY, f, sizeof f);
    CHECK_EQ_INT(n, sizeof doc_ping);
    CHECK(memcmp(f, doc_ping, sizeof doc_ping) == 0);
    /* A buffer one byte short gives nothing rather than a cut frame. */
    CHECK_EQ_INT(onbon_make_ping(ONBON_ADDR_ANY, f, sizeof doc_ping - 1), 0);
    /* The document's frame goes through the lexer whole. */
    struct onbon_lexer lx;
    struct seen s = {0};
    onbon_lexer_init(&lx);
    onbon_lexer_feed(&lx, doc_ping, sizeof doc_ping, on_frame, &s);
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_INT(s.last.dst, 0xFFFE);
    CHECK_EQ_INT(s.last.src, 0x8000);
    CHECK_EQ_INT(s.last.ver, 0xF0);
    CHECK_EQ_INT(s.last.n, 5);
    CHECK_EQ_INT(s.data[1], 0xA2);
}

static void test_crc(void)
{
    /* The published check value of CRC-16/ARC, the same polynomial, reflection and start. */
    CHECK_EQ_INT(onbon_crc16((const uint8_t *)"123456789", 9), 0xBB3D);
    CHECK_EQ_INT(onbon_crc16(NULL, 0), 0);
}

static void test_escape(void)
{
    uint8_t d[] = {0xA5, 0xA6, 0x5A, 0x5B, 0x00, 0xA5};
    struct onbon_packet p = {
        .dst = 0x5AA5, .src = 0x8000, .devtype = 0x0154, .ver = 0xF0, .n = sizeof d, .data = d};
    uint8_t f[128];
    size_t n = onbon_encode(&p, f, sizeof f);
    CHECK(n > 0);
    /* Head and tail bytes appear only as head and tail. */
    for (size_t i = ONBON_HEAD_REPEAT; i + 1 < n; i++)
        CHECK(f[i] != 0xA5 && f[i] != 0x5A);
    CHECK_EQ_INT(f[n - 1], 0x5A);
    /* dst 0x5AA5 is sent A5 5A, escaped */
    static const uint8_t dst_esc[] = {0xA6, 0x02, 0x5B, 0x02};
    CHECK(memcmp(f + 8, dst_esc, 4) == 0);
    struct onbon_lexer lx;
    struct seen s = {0};
    onbon_lexer_init(&lx);
    onbon_lexer_feed(&lx, f, n, on_frame, &s);
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_INT(s.last.dst, 0x5AA5);
    CHECK_EQ_INT(s.last.devtype, 0x0154);
    CHECK_EQ_INT(s.last.n, sizeof d);
    CHECK(memcmp(s.data, d, sizeof d) == 0);
}

/* The lexer's table: each case is a byte string fed whole and one byte at a time. */
static void test_lexer(void)
{
    uint8_t ping[64];
    size_t pn = onbon_make_ping(7, ping, sizeof ping);
    uint8_t buf[512];
    struct {
        const char *what;
        int frames;
        uint32_t bad_crc, bad_escape, bad_length, garbage;
        size_t n;
        uint8_t b[256];
    } cases[8];
    size_t nc = 0;
    /* 1. leading garbage, then a frame */
    cases[nc] = (typeof(cases[0])){"garbage first", 1, 0, 0, 0, 3, 0, {0}};
    memcpy(cases[nc].b, (uint8_t[]){0x00, 0x13, 0x5A}, 3);
    memcpy(cases[nc].b + 3, ping, pn);
    cases[nc++].n = 3 + pn;
    /* 2. two frames back to back */
    cases[nc] = (typeof(cases[0])){"two frames", 2, 0, 0, 0, 0, 0, {0}};
    memcpy(cases[nc].b, ping, pn);
    memcpy(cases[nc].b + pn, ping, pn);
    cases[nc++].n = 2 * pn;
    /* 3. one bit flipped in the DATA: CRC */
    cases[nc] = (typeof(cases[0])){"bad crc", 0, 1, 0, 0, 0, 0, {0}};
    memcpy(cases[nc].b, ping, pn);
    cases[nc].b[pn - 5] ^= 0x10;
    cases[nc++].n = pn;
    /* 4. a frame whose tail is lost, then a good one: the first is dropped */
    cases[nc] = (typeof(cases[0])){"lost tail", 1, 0, 0, 1, 0, 0, {0}};
    memcpy(cases[nc].b, ping, pn - 1);
    memcpy(cases[nc].b + pn - 1, ping, pn);
    cases[nc++].n = 2 * pn - 1;
    /* 5. an escape byte followed by something that is no escape */
    cases[nc] = (typeof(cases[0])){"bad escape", 0, 0, 1, 0, 0, 0, {0}};
    memcpy(cases[nc].b, ping, pn);
    cases[nc].b[12] = 0xA6;
    cases[nc].b[13] = 0x03;
    cases[nc++].n = pn;
    /* 6. too short to hold a header */
    cases[nc] = (typeof(cases[0])){"short", 0, 0, 0, 1, 0, 0, {0xA5, 0x01, 0x02, 0x5A}};
    cases[nc++].n = 4;
    /* 7. DataLen says 6, the frame holds 5 */
    cases[nc] = (typeof(cases[0])){"length", 0, 0, 0, 1, 0, 0, {0}};
    memcpy(cases[nc].b, ping, pn);
    cases[nc].b[20] = 0x06;
    cases[nc++].n = pn;
    for (size_t c = 0; c < nc; c++) {
        for (int split = 0; split < 2; split++) {
            struct onbon_lexer lx;
            struct seen s = {0};
            onbon_lexer_init(&lx);
            if (split)
                for (size_t i = 0; i < cases[c].n; i++)
                    onbon_lexer_feed(&lx, cases[c].b + i, 1, on_frame, &s);
            else
                onbon_lexer_feed(&lx, cases[c].b, cases[c].n, on_frame, &s);
            if (s.n != cases[c].frames) fprintf(stderr, "case %s split %d\n", cases[c].what, split);
            CHECK_EQ_INT(s.n, cases[c].frames);
            CHECK_EQ_INT(lx.bad_crc, cases[c].bad_crc);
            CHECK_EQ_INT(lx.bad_escape, cases[c].bad_escape);
            CHECK_EQ_INT(lx.bad_length, cases[c].bad_length);
            CHECK_EQ_INT(lx.garbage, cases[c].garbage);
        }
    }
    /* A frame longer than the buffer is dropped, and the next one still read. */
    static struct onbon_lexer big;
    struct seen s = {0};
    onbon_lexer_init(&big);
    buf[0] = 0xA5;
    onbon_lexer_feed(&big, buf, 1, on_frame, &s);
    memset(buf, 0x11, sizeof buf);
    for (size_t i = 0; i < sizeof big.buf / sizeof buf + 2; i++)
        onbon_lexer_feed(&big, buf, sizeof buf, on_frame, &s);
    buf[0] = 0x5A;
    onbon_lexer_feed(&big, buf, 1, on_frame, &s);
    onbon_lexer_feed(&big, ping, pn, on_frame, &s);
    CHECK_EQ_INT(big.bad_length, 1);
    CHECK_EQ_INT(s.n, 1);
}

static void test_area(void)
{
    /* 13 × 3 at x = 3, two colours: row bytes straddle screen bytes 0 and 1 (columns 3..15). */
    struct onbon_area a = {.id = 1, .x = 3, .y = 2, .w = 13, .h = 3, .colors = 2};
    CHECK_EQ_INT(onbon_row_bytes(&a), 4);
    uint8_t lit[2 * 3] = {0x80, 0x08, 0x00, 0x00, 0xFF, 0xF8};
    uint8_t out[256];
    size_t n = 0;
    CHECK_EQ_INT(onbon_make_area(&a, lit, ONBON_COLOR_GREEN, out, sizeof out, &n), HQ_OK);
    CHECK_EQ_INT(n, 9 + 24 + 4 + 13 + 4 * 3);
    /* Row 0: pixel 0 (screen column 3) and pixel 12 (column 15) lit in green only. Red bytes
     * stay dark; the three columns left of x are padding, dark. */
    const uint8_t *bm = out + n - 12;
    CHECK_EQ_INT(bm[0], 0xFF);         /* red, columns 0..7 */
    CHECK_EQ_INT(bm[1], 0xFF & ~0x10); /* green, column 3 = bit 4 */
    CHECK_EQ_INT(bm[2], 0xFF);
    CHECK_EQ_INT(bm[3], 0xFF & ~0x01); /* green, column 15 = bit 0 */
    static struct onbon_area_update u;
    CHECK_EQ_INT(onbon_parse_area(out, n, 2, &u), HQ_OK);
    CHECK_EQ_INT(u.area.x, 3);
    CHECK_EQ_INT(u.area.y, 2);
    CHECK_EQ_INT(u.area.w, 13);
    CHECK_EQ_INT(u.area.h, 3);
    CHECK_EQ_INT(u.area.id, 1);
    CHECK_EQ_INT(u.color, ONBON_COLOR_GREEN);
    CHECK_EQ_INT(u.imme_play, 1);
    CHECK(memcmp(u.lit, lit, sizeof lit) == 0);
    /* A padding bit lit is a protocol error, as is a cut page. */
    out[n - 12] &= 0x7F;
    CHECK_EQ_INT(onbon_parse_area(out, n, 2, &u), HQ_ERR_PROTO);
    out[n - 12] |= 0x80;
    CHECK_EQ_INT(onbon_parse_area(out, n - 1, 2, &u), HQ_ERR_PROTO);
    /* Bad areas and small buffers. */
    struct onbon_area bad = a;
    bad.w = 0;
    CHECK_EQ_INT(onbon_make_area(&bad, lit, 1, out, sizeof out, &n), HQ_ERR_INVALID);
    CHECK_EQ_INT(onbon_make_area(&a, lit, 1, out, 40, &n), HQ_ERR_LIMIT);
    /* Answers */
    uint8_t ans[16];
    struct onbon_answer an;
    CHECK_EQ_INT(onbon_make_answer(5, ans, sizeof ans), 9);
    CHECK_EQ_INT(onbon_parse_answer(ans, 9, &an), HQ_OK);
    CHECK_EQ_INT(an.group, 0xA0);
    CHECK_EQ_INT(an.cmd, 0x01);
    CHECK_EQ_INT(an.error, 5);
    CHECK_EQ_INT(onbon_parse_answer(ans, 8, &an), HQ_ERR_PROTO);
}

static unsigned count_lit(const uint8_t *lit, size_t n)
{
    unsigned k = 0;
    for (size_t i = 0; i < n; i++)
        k += (unsigned)__builtin_popcount(lit[i]);
    return k;
}

static void test_render(void)
{
    struct onbon_font *f = NULL;
    CHECK_EQ_INT(onbon_font_open("/nonexistent/font.pcf", 16, &f), HQ_ERR_NOT_FOUND);
    CHECK(f == NULL);
    /* A file FreeType cannot read as a font */
    CHECK_EQ_INT(onbon_font_open("/etc/hostname", 16, &f), HQ_ERR_CONFIG);
    const char *path = onbon_default_font(16);
    CHECK(strstr(path, "wenquanyi_12pt.pcf") != NULL);
    CHECK(strstr(onbon_default_font(12), "wenquanyi_9pt.pcf") != NULL);
    CHECK_EQ_INT(onbon_font_open(path, 16, &f), HQ_OK);
    if (!f) return;
    uint8_t lit[8 * 16];
    unsigned missing, clipped;
    /* "号" at 16 px fills a 16 × 16 cell: ink in both halves, nothing missing or cut. */
    CHECK_EQ_INT(onbon_render(f, "号", 16, 16, lit, &missing, &clipped), HQ_OK);
    CHECK_EQ_INT(missing, 0);
    CHECK_EQ_INT(clipped, 0);
    CHECK(count_lit(lit, 2 * 16) > 20);
    unsigned left = 0, right = 0;
    for (int r = 0; r < 16; r++)
        left += (unsigned)__builtin_popcount(lit[2 * r]),
            right += (unsigned)__builtin_popcount(lit[2 * r + 1]);
    CHECK(left > 5 && right > 5);
    /* A digit is half as wide: in a 16-wide area centred, no ink in the outer 4 columns. */
    CHECK_EQ_INT(onbon_render(f, "1", 16, 16, lit, &missing, &clipped), HQ_OK);
    CHECK(count_lit(lit, 2 * 16) > 5);
    for (int r = 0; r < 16; r++)
        CHECK((lit[2 * r] & 0xF0) == 0 && (lit[2 * r + 1] & 0x0F) == 0);
    /* The same text twice gives the same pixels (the sim's record depends on it). */
    uint8_t again[8 * 16];
    CHECK_EQ_INT(onbon_render(f, "1", 16, 16, again, &missing, &clipped), HQ_OK);
    CHECK(memcmp(lit, again, 2 * 16) == 0);
    /* Too wide: "A012请到3号窗口" is 10 (A) + 4 × 8 + 5 × 16 = 122 px wide in this font; in
     * 64 px, 58 columns are cut. */
    CHECK_EQ_INT(onbon_render(f, "A012请到3号窗口", 64, 16, lit, &missing, &clipped), HQ_OK);
    CHECK_EQ_INT(clipped, 58);
    /* A character the font lacks is counted, not drawn as something else. */
    CHECK_EQ_INT(onbon_render(f, "\xF0\x9F\x98\x80", 16, 16, lit, &missing, &clipped), HQ_OK);
    CHECK_EQ_INT(missing, 1);
    CHECK_EQ_INT(count_lit(lit, 2 * 16), 0);
    CHECK_EQ_INT(onbon_render(f, "\xC3", 16, 16, lit, &missing, &clipped), HQ_ERR_INVALID);
    onbon_font_close(f);
}

int main(void)
{
    test_ping();
    test_crc();
    test_escape();
    test_lexer();
    test_area();
    test_render();
    return check_report("test_onbon");
}
