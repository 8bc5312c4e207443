/*
 * test_slip.c — SLIP framing and the sync frame: CRC check value, escaping of
 * C0 and DB, frames split at every offset, leading garbage, empty frames,
 * bad CRC and bad escapes dropped and counted, the size bound.
 */
#include "check.h"
#include "hq.h"
#include "slip.h"

#include <stdlib.h>
#include <string.h>

#define MAXF 8
struct got {
    int n;
    char type[MAXF];
    char body[MAXF][256];
    size_t len[MAXF];
};

static void on_frame(void *arg, char type, const char *body, size_t len)
{
    struct got *g = arg;
    if (g->n >= MAXF) return;
    g->type[g->n] = type;
    g->len[g->n] = len;
    if (len < sizeof g->body[0]) memcpy(g->body[g->n], body, len + 1);
    g->n++;
}

static void test_crc(void)
{
    CHECK_EQ_INT(slip_crc32(0, "123456789", 9), 0xCBF43926u);
    CHECK_EQ_INT(slip_crc32(0, "", 0), 0);
    /* Fed in pieces gives the same value. */
    uint32_t c = slip_crc32(0, "1234", 4);
    CHECK_EQ_INT(slip_crc32(c, "56789", 5), 0xCBF43926u);
    /* "The quick brown fox jumps over the lazy dog" is the other classic. */
    const char *fox = "The quick brown fox jumps over the lazy dog";
    CHECK_EQ_INT(slip_crc32(0, fox, strlen(fox)), 0x414FA339u);
}

static void test_encode(void)
{
    static const struct {
        const char *legend;
        uint8_t in[8];
        size_t in_len;
        uint8_t out[20];
        size_t out_len;
    } t[] = {
        {"plain", {0x41, 0x42}, 2, {0xC0, 0x41, 0x42, 0xC0}, 4},
        {"END escaped", {0xC0}, 1, {0xC0, 0xDB, 0xDC, 0xC0}, 4},
        {"ESC escaped", {0xDB}, 1, {0xC0, 0xDB, 0xDD, 0xC0}, 4},
        {"ESC END in a row",
         {0xDB, 0xDC, 0xC0, 0xDD},
         4,
         {0xC0, 0xDB, 0xDD, 0xDC, 0xDB, 0xDC, 0xDD, 0xC0},
         8},
        {"empty", {0}, 0, {0xC0, 0xC0}, 2},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(t); i++) {
        uint8_t out[40];
        size_t n = slip_encode(t[i].in, t[i].in_len, out);
        CHECK_EQ_INT(n, t[i].out_len);
        if (n == t[i].out_len) CHECK_EQ_MEM(out, t[i].out, n);
        CHECK(n <= slip_encoded_max(t[i].in_len));
        if (n != t[i].out_len) fprintf(stderr, "  case: %s\n", t[i].legend);
    }
}

/* A frame whose body, type and CRC bytes need escaping: the CRC of this body
 * is computed, so just check the round trip and that no raw C0 sits inside. */
static void test_frame_roundtrip(void)
{
    const char body[] = "{\"a\":\"\xC0\xDB\xC0\"}";
    uint8_t *wire = NULL;
    size_t wlen = 0;
    CHECK_EQ_INT(slip_frame_build('R', body, strlen(body), &wire, &wlen), HQ_OK);
    CHECK(wire && wlen > strlen(body) + 5);
    if (!wire) return;
    CHECK_EQ_INT(wire[0], 0xC0);
    CHECK_EQ_INT(wire[wlen - 1], 0xC0);
    int inner_end = 0;
    for (size_t i = 1; i + 1 < wlen; i++)
        inner_end += wire[i] == 0xC0;
    CHECK_EQ_INT(inner_end, 0);

    struct slip_decoder d;
    struct got g = {0};
    slip_decoder_init(&d, 0);
    CHECK_EQ_INT(slip_decoder_feed(&d, wire, wlen, on_frame, &g), HQ_OK);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(g.type[0], 'R');
    CHECK_EQ_INT(g.len[0], strlen(body));
    CHECK_EQ_STR(g.body[0], body);
    CHECK_EQ_INT(d.stats.frames, 1);
    slip_decoder_free(&d);

    /* Unknown type refused at build time. */
    uint8_t *x = NULL;
    size_t xl = 0;
    CHECK_EQ_INT(slip_frame_build('Z', "{}", 2, &x, &xl), HQ_ERR_INVALID);
    free(wire);
}

/* A known frame written by hand: 'A' {"acked_through":7} with its CRC. */
static void test_known_frame(void)
{
    const char *body = "{\"acked_through\":7}";
    uint8_t raw[64];
    size_t n = 0;
    raw[n++] = 'A';
    memcpy(raw + n, body, strlen(body));
    n += strlen(body);
    uint32_t crc = slip_crc32(0, raw, n);
    raw[n++] = crc & 0xFF;
    raw[n++] = (crc >> 8) & 0xFF;
    raw[n++] = (crc >> 16) & 0xFF;
    raw[n++] = crc >> 24;
    char type = 0;
    size_t blen = 0;
    CHECK_EQ_INT(slip_frame_check(raw, n, &type, &blen), HQ_OK);
    CHECK_EQ_INT(type, 'A');
    CHECK_EQ_INT(blen, strlen(body));
    /* Every single-bit flip is caught. */
    int caught = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        for (int b = 0; b < 8; b++) {
            raw[i] ^= (uint8_t)(1u << b);
            total++;
            caught += slip_frame_check(raw, n, &type, &blen) != HQ_OK;
            raw[i] ^= (uint8_t)(1u << b);
        }
    }
    CHECK_EQ_INT(caught, total);
    CHECK_EQ_INT(slip_frame_check(raw, 4, &type, &blen), HQ_ERR_PROTO);
}

/* Two frames, split at every offset, then byte by byte. */
static void test_split(void)
{
    uint8_t *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    const char *ab = "{\"acked_through\":12}";
    const char *qb = "{\"since\":\"\xDB\xC0\"}";
    slip_frame_build('A', ab, strlen(ab), &a, &al);
    slip_frame_build('Q', qb, strlen(qb), &b, &bl);
    uint8_t stream[256];
    CHECK(a && b && al + bl < sizeof stream);
    if (!a || !b) return;
    memcpy(stream, a, al);
    memcpy(stream + al, b, bl);
    size_t sl = al + bl;
    int good = 0;
    for (size_t cut = 0; cut <= sl; cut++) {
        struct slip_decoder d;
        struct got g = {0};
        slip_decoder_init(&d, 0);
        slip_decoder_feed(&d, stream, cut, on_frame, &g);
        slip_decoder_feed(&d, stream + cut, sl - cut, on_frame, &g);
        good += g.n == 2 && g.type[0] == 'A' && g.type[1] == 'Q' && !strcmp(g.body[0], ab) &&
                !strcmp(g.body[1], qb);
        slip_decoder_free(&d);
    }
    CHECK_EQ_INT(good, (int)sl + 1);

    struct slip_decoder d;
    struct got g = {0};
    slip_decoder_init(&d, 0);
    for (size_t i = 0; i < sl; i++)
        slip_decoder_feed(&d, stream + i, 1, on_frame, &g);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_STR(g.body[1], qb);
    slip_decoder_free(&d);
    free(a);
    free(b);
}

static void test_garbage_and_errors(void)
{
    uint8_t *f = NULL;
    size_t fl = 0;
    const char *body = "{\"acked_through\":3}";
    slip_frame_build('A', body, strlen(body), &f, &fl);
    if (!f) return;

    struct slip_decoder d;
    struct got g = {0};
    slip_decoder_init(&d, 0);

    /* Leading noise without END before the frame: the noise and the frame's
     * leading END form a junk frame that is dropped; the frame still comes. */
    const uint8_t noise[] = {0x00, 0xFF, 0x13, 'R', 'x'};
    slip_decoder_feed(&d, noise, sizeof noise, on_frame, &g);
    slip_decoder_feed(&d, f, fl, on_frame, &g);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(d.stats.bad_crc + d.stats.bad_type, 1);

    /* Empty frames (END END END) are idle, not errors, and deliver nothing. */
    const uint8_t ends[] = {0xC0, 0xC0, 0xC0};
    uint64_t empty0 = d.stats.empty;
    slip_decoder_feed(&d, ends, sizeof ends, on_frame, &g);
    CHECK_EQ_INT(g.n, 1);
    CHECK(d.stats.empty >= empty0 + 2);

    /* Bad CRC: flip a body byte; dropped silently and counted. */
    uint8_t *bad = malloc(fl);
    memcpy(bad, f, fl);
    bad[5] ^= 0x01;
    uint64_t crc0 = d.stats.bad_crc;
    slip_decoder_feed(&d, bad, fl, on_frame, &g);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(d.stats.bad_crc, crc0 + 1);

    /* Bad escape: DB followed by 'x'. */
    const uint8_t badesc[] = {0xC0, 'A', 0xDB, 'x', '1', '2', '3', '4', 0xC0};
    slip_decoder_feed(&d, badesc, sizeof badesc, on_frame, &g);
    CHECK_EQ_INT(d.stats.bad_escape, 1);
    CHECK_EQ_INT(g.n, 1);

    /* The link recovers: the good frame still decodes after all that. */
    slip_decoder_feed(&d, f, fl, on_frame, &g);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_INT(d.stats.frames, 2);
    slip_decoder_free(&d);
    free(bad);

    /* Overlong: a 64-byte bound, a 100-byte frame is dropped, the next is
     * fine. */
    slip_decoder_init(&d, 64);
    struct got g2 = {0};
    char big[100];
    memset(big, 'x', sizeof big);
    uint8_t *bf = NULL;
    size_t bfl = 0;
    slip_frame_build('R', big, sizeof big, &bf, &bfl);
    slip_decoder_feed(&d, bf, bfl, on_frame, &g2);
    CHECK_EQ_INT(d.stats.overlong, 1);
    CHECK_EQ_INT(g2.n, 0);
    CHECK(d.cap <= 64);
    slip_decoder_feed(&d, f, fl, on_frame, &g2);
    CHECK_EQ_INT(g2.n, 1);
    slip_decoder_free(&d);
    free(bf);
    free(f);
}

/* Random noise with good frames in between: every frame comes through, the
 * noise never crashes the decoder or grows it past its bound. */
static void test_noise(void)
{
    uint32_t seed = 0x1234567u;
    struct slip_decoder d;
    struct got g = {0};
    int sent = 0, delivered = 0;
    slip_decoder_init(&d, 4096);
    for (int round = 0; round < 200; round++) {
        uint8_t noise[600];
        size_t n = 0;
        seed = seed * 1103515245u + 12345u;
        n = (seed >> 8) % sizeof noise;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            noise[i] = (uint8_t)(seed >> 16);
        }
        slip_decoder_feed(&d, noise, n, on_frame, &g);
        char body[64];
        snprintf(body, sizeof body, "{\"acked_through\":%d}", round);
        uint8_t *f = NULL;
        size_t fl = 0;
        slip_frame_build('A', body, strlen(body), &f, &fl);
        g.n = 0;
        slip_decoder_feed(&d, f, fl, on_frame, &g);
        sent++;
        delivered += g.n == 1 && !strcmp(g.body[0], body);
        g.n = 0;
        free(f);
    }
    CHECK_EQ_INT(delivered, sent);
    CHECK(d.cap <= 4096);
    CHECK(d.stats.bad_crc + d.stats.bad_type + d.stats.bad_escape > 50);
    slip_decoder_free(&d);
}

int main(void)
{
    hq_log_level = HQ_LOG_ERR;
    test_crc();
    test_encode();
    test_frame_roundtrip();
    test_known_frame();
    test_split();
    test_garbage_and_errors();
    test_noise();
    return check_report("test_slip");
}
