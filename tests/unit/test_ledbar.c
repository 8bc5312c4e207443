/*
 * test_ledbar.c — the A0 90 window LED bar: PROTOCOLS.md §3 test vectors both ways, UTF-8 →
 * GB18030 cells (with '?' for what the bar cannot show), the text template, the bar-side lexer
 * and the 300 ms AA acknowledgement.
 */
#include "check.h"
#include "ledbar.h"

static size_t hex(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

#define VEC_SHOW                                                                                   \
    "A0 90 03 A5 00 19 41 00 30 00 31 00 32 00 C7 EB 00 B5 BD 00 33 00 BA C5 00 B4 B0 00 BF DA "   \
    "00 C4"
#define VEC_IDLE "A0 90 03 A1 00 00 A2"

struct got {
    int n;
    struct ledbar_frame f;
};

static void on_frame(const struct ledbar_frame *f, void *arg)
{
    struct got *g = arg;
    g->f = *f;
    g->n++;
}

static void test_vectors(void)
{
    uint8_t want[128], got[LEDBAR_FRAME_MAX];
    size_t n = hex(VEC_SHOW, want), len = 0;
    CHECK_EQ_INT(
        ledbar_make_text(3, LEDBAR_CMD_SHOW, "A012请到3号窗口", LEDBAR_RED, got, sizeof got, &len),
        HQ_OK);
    CHECK_EQ_INT(len, n);
    CHECK_EQ_MEM(got, want, n);
    /* the other direction: lex and decode back to text */
    struct ledbar_lexer lx;
    struct got g = {0};
    ledbar_lexer_init(&lx);
    ledbar_lexer_feed(&lx, want, n, on_frame, &g);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(g.f.addr, 3);
    CHECK_EQ_INT(g.f.cmd, LEDBAR_CMD_SHOW);
    char text[128];
    int color = 99;
    CHECK_EQ_INT(ledbar_cells_to_utf8(g.f.data, g.f.n, text, sizeof text, &color), HQ_OK);
    CHECK_EQ_STR(text, "A012请到3号窗口");
    CHECK_EQ_INT(color, LEDBAR_RED);

    n = hex(VEC_IDLE, want);
    CHECK_EQ_INT(ledbar_make_show_idle(3, got, sizeof got), n);
    CHECK_EQ_MEM(got, want, n);
    g.n = 0;
    ledbar_lexer_feed(&lx, want, n, on_frame, &g);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(g.f.cmd, LEDBAR_CMD_SHOW_IDLE);
    CHECK_EQ_INT(g.f.n, 0);

    /* A2 with green, broadcast address */
    CHECK_EQ_INT(ledbar_make_text(LEDBAR_BROADCAST, LEDBAR_CMD_STORE_IDLE, "欢迎", LEDBAR_GREEN,
                                  got, sizeof got, &len),
                 HQ_OK);
    static const uint8_t a2[] = {0xA0, 0x90, 0xFF, 0xA2, 0x00, 0x06, 0xBB,
                                 0xB6, 0x01, 0xD3, 0xAD, 0x01, 0x00};
    /* X = FF^A2^00^06^BB^B6^01^D3^AD^01, worked by hand: */
    uint8_t x = 0;
    for (int i = 2; i < 12; i++)
        x ^= a2[i];
    CHECK_EQ_INT(len, 13);
    CHECK_EQ_MEM(got, a2, 12);
    CHECK_EQ_INT(got[12], x);
}

static void test_cells(void)
{
    static const struct {
        const char *legend, *utf8, *cells; /* cells in hex, colour 02 */
        unsigned replaced;
    } t[] = {
        {"ASCII", "A1", "41 02 31 02", 0},
        {"Chinese", "号", "BA C5 02", 0},
        {"Latin-1 letter has a 2-byte GB18030 code", "é", "A8 A6 02", 0},
        {"four-byte GB18030 (U+20000) becomes ?",
         "A\xF0\xA0\x80\x80"
         "B",
         "41 02 3F 02 42 02", 1},
        {"emoji becomes ?", "\xF0\x9F\x98\x80", "3F 02", 1},
        {"invalid UTF-8 byte becomes ?",
         "\xFF"
         "A",
         "3F 02 41 02", 1},
        {"truncated UTF-8 becomes ?",
         "\xE5\x8F"
         "A",
         "3F 02 3F 02 41 02", 2},
        {"control character becomes ?", "a\nb", "61 02 3F 02 62 02", 1},
        {"a real ? is not counted", "?", "3F 02", 0},
        {"empty", "", "", 0},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(t); i++) {
        uint8_t want[64], got[64];
        size_t n = hex(t[i].cells, want), len = 99;
        unsigned rep = 99;
        CHECK_EQ_INT(ledbar_cells_from_utf8(t[i].utf8, LEDBAR_YELLOW, got, sizeof got, &len, &rep),
                     HQ_OK);
        if (len != n || memcmp(got, want, n) || rep != t[i].replaced)
            fprintf(stderr, "cells case '%s' failed (len %zu, replaced %u)\n", t[i].legend, len,
                    rep);
        CHECK_EQ_INT(len, n);
        CHECK_EQ_MEM(got, want, n);
        CHECK_EQ_INT(rep, t[i].replaced);
    }
    uint8_t small[5];
    size_t len;
    CHECK_EQ_INT(ledbar_cells_from_utf8("请到", 0, small, sizeof small, &len, NULL), HQ_ERR_LIMIT);
    /* mixed colours, malformed cells */
    static const uint8_t mixed[] = {0x41, 0x00, 0x42, 0x01};
    char text[16];
    int color;
    CHECK_EQ_INT(ledbar_cells_to_utf8(mixed, 4, text, sizeof text, &color), HQ_OK);
    CHECK_EQ_STR(text, "AB");
    CHECK_EQ_INT(color, -2);
    static const uint8_t broken[] = {0xBA, 0xC5};
    CHECK_EQ_INT(ledbar_cells_to_utf8(broken, 2, text, sizeof text, &color), HQ_ERR_PROTO);
    CHECK_EQ_STR(ledbar_color_name(LEDBAR_YELLOW), "yellow");
    CHECK_EQ_INT(ledbar_color_from_name("green"), LEDBAR_GREEN);
    CHECK_EQ_INT(ledbar_color_from_name("blue"), -1);
}

static void test_template(void)
{
    char out[128];
    CHECK_EQ_INT(
        ledbar_template_expand("{ticket} 请到{window}号窗口", "A012", "3", NULL, out, sizeof out),
        HQ_OK);
    CHECK_EQ_STR(out, "A012 请到3号窗口");
    CHECK_EQ_INT(ledbar_template_expand("请{name}({ticket})到{window}号", "B007", "12", "王**", out,
                                        sizeof out),
                 HQ_OK);
    CHECK_EQ_STR(out, "请王**(B007)到12号");
    CHECK_EQ_INT(ledbar_template_expand("{{x} {name}", NULL, NULL, NULL, out, sizeof out), HQ_OK);
    CHECK_EQ_STR(out, "{x} ");
    CHECK_EQ_INT(ledbar_template_expand("{tikcet}", "A1", "1", NULL, out, sizeof out),
                 HQ_ERR_CONFIG);
    CHECK_EQ_INT(ledbar_template_expand("{ticket", "A1", "1", NULL, out, sizeof out),
                 HQ_ERR_CONFIG);
    CHECK_EQ_INT(ledbar_template_expand("{ticket}请到", "A012", "3", NULL, out, 8), HQ_ERR_LIMIT);
}

static const struct {
    const char *legend, *bytes;
    int frames;
    uint32_t garbage, bad_checksum;
} lexer_table[] = {
    {"one frame", VEC_SHOW, 1, 0, 0},
    {"two frames", VEC_IDLE " " VEC_SHOW, 2, 0, 0},
    {"leading garbage", "00 90 A0 " VEC_IDLE, 1, 3, 0},
    {"garbage between", VEC_IDLE " AA 55 " VEC_IDLE, 2, 2, 0},
    {"bad X", "A0 90 03 A1 00 00 A3 " VEC_IDLE, 1, 6, 1},
    {"partial", "A0 90 03 A5 00 19 41 00", 0, 0, 0},
};

static void test_lexer_table(void)
{
    for (size_t i = 0; i < HQ_ARRAY_LEN(lexer_table); i++) {
        uint8_t bytes[256];
        size_t n = hex(lexer_table[i].bytes, bytes);
        for (size_t split = 0; split <= n + 1; split++) {
            static struct ledbar_lexer lx;
            static struct got g;
            g.n = 0;
            ledbar_lexer_init(&lx);
            if (split <= n) {
                ledbar_lexer_feed(&lx, bytes, split, on_frame, &g);
                ledbar_lexer_feed(&lx, bytes + split, n - split, on_frame, &g);
            } else {
                for (size_t k = 0; k < n; k++)
                    ledbar_lexer_feed(&lx, bytes + k, 1, on_frame, &g);
            }
            int ok = g.n == lexer_table[i].frames && lx.garbage == lexer_table[i].garbage &&
                     lx.bad_checksum == lexer_table[i].bad_checksum;
            if (!ok)
                fprintf(stderr, "led lexer '%s' split %zu: %d frames, garbage %u, bad X %u\n",
                        lexer_table[i].legend, split, g.n, lx.garbage, lx.bad_checksum);
            CHECK(ok);
        }
    }
}

static void test_ack(void)
{
    struct ledbar_ack a = {0};
    static const uint8_t aa = LEDBAR_ACK, junk = 0x55;
    CHECK_EQ_INT(ledbar_ack_poll(&a, 0), LEDBAR_ACK_IDLE);
    ledbar_ack_expect(&a, 1000);
    CHECK_EQ_INT(ledbar_ack_poll(&a, 1100), LEDBAR_ACK_WAITING);
    CHECK_EQ_INT(ledbar_ack_input(&a, &junk, 1, 1150), LEDBAR_ACK_WAITING);
    CHECK_EQ_INT(ledbar_ack_input(&a, &aa, 1, 1299), LEDBAR_ACK_OK);
    CHECK_EQ_INT(a.acks, 1);
    ledbar_ack_expect(&a, 2000);
    CHECK_EQ_INT(ledbar_ack_poll(&a, 2299), LEDBAR_ACK_WAITING);
    CHECK_EQ_INT(ledbar_ack_poll(&a, 2300), LEDBAR_ACK_FAILED);
    CHECK_EQ_INT(a.timeouts, 1);
    /* a late AA does not turn the failed write into a good one */
    CHECK_EQ_INT(ledbar_ack_input(&a, &aa, 1, 2350), LEDBAR_ACK_FAILED);
    /* AA arriving after the deadline but before anyone polled is late too */
    ledbar_ack_expect(&a, 3000);
    CHECK_EQ_INT(ledbar_ack_input(&a, &aa, 1, 3301), LEDBAR_ACK_FAILED);
    CHECK_EQ_INT(a.stray, 3);
}

int main(void)
{
    test_vectors();
    test_cells();
    test_template();
    test_lexer_table();
    test_ack();
    return check_report("test_ledbar");
}
