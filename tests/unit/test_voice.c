/*
 * test_voice.c — drivers/voice.c: calls into clip sequences (a table), the
 * Chinese and English number readings, WAV parsing of good and bad headers,
 * and assembly whose length is exactly the clips plus the silences.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "voice.h"

/* ------------------------------------------------------------ sequences */

static const struct {
    const char *label;
    unsigned window;
    bool recall;
    unsigned langs;
    int rc;
    const char *want;
} calls[] = {
    {"A012", 3, false, VOICE_LANG_ZH, HQ_OK,
     "zh/qing zh/A zh/0 zh/1 zh/2 zh/hao zh/dao zh/3 zh/hao zh/chuangkou zh/banli"},
    /* a recall says the same words */
    {"A012", 3, true, VOICE_LANG_ZH, HQ_OK,
     "zh/qing zh/A zh/0 zh/1 zh/2 zh/hao zh/dao zh/3 zh/hao zh/chuangkou zh/banli"},
    {"BD105", 12, false, VOICE_LANG_ZH, HQ_OK,
     "zh/qing zh/B zh/D zh/1 zh/0 zh/5 zh/hao zh/dao zh/shi zh/2 zh/hao zh/chuangkou zh/banli"},
    {"c7", 10, false, VOICE_LANG_ZH, HQ_OK,
     "zh/qing zh/C zh/7 zh/hao zh/dao zh/shi zh/hao zh/chuangkou zh/banli"},
    {"A001", 110, false, VOICE_LANG_ZH | VOICE_LANG_EN, HQ_OK,
     "zh/qing zh/A zh/0 zh/0 zh/1 zh/hao zh/dao zh/1 zh/bai zh/1 zh/shi zh/hao zh/chuangkou "
     "zh/banli | en/number en/A en/0 en/0 en/1 en/please_go_to en/window en/1 en/hundred en/10"},
    {"Z999", 999, false, VOICE_LANG_EN, HQ_OK,
     "en/number en/Z en/9 en/9 en/9 en/please_go_to en/window en/9 en/hundred en/90 en/9"},
    {"0042", 1, false, VOICE_LANG_ZH, HQ_OK,
     "zh/qing zh/0 zh/0 zh/4 zh/2 zh/hao zh/dao zh/1 zh/hao zh/chuangkou zh/banli"},
    /* refused */
    {"A-12", 3, false, VOICE_LANG_ZH, HQ_ERR_INVALID, ""},
    {"", 3, false, VOICE_LANG_ZH, HQ_ERR_INVALID, ""},
    {"A号", 3, false, VOICE_LANG_ZH, HQ_ERR_INVALID, ""},
    {"A012", 0, false, VOICE_LANG_ZH, HQ_ERR_INVALID, ""},
    {"A012", 1000, false, VOICE_LANG_ZH, HQ_ERR_INVALID, ""},
    {"A012", 3, false, 0, HQ_ERR_INVALID, ""},
    {"A0123456789012", 3, false, VOICE_LANG_ZH, HQ_OK,
     "zh/qing zh/A zh/0 zh/1 zh/2 zh/3 zh/4 zh/5 zh/6 zh/7 zh/8 zh/9 zh/0 zh/1 zh/2 zh/hao zh/dao "
     "zh/3 zh/hao zh/chuangkou zh/banli"},
    {"A01234567890123", 3, false, VOICE_LANG_ZH | VOICE_LANG_EN, HQ_OK, NULL}, /* fits */
};

static void test_calls(void)
{
    char buf[2048];
    for (size_t i = 0; i < HQ_ARRAY_LEN(calls); i++) {
        struct voice_call c = {.label = calls[i].label,
                               .window = calls[i].window,
                               .recall = calls[i].recall,
                               .langs = calls[i].langs};
        struct voice_seq s;
        int rc = voice_call_seq(&c, &s);
        if (rc != calls[i].rc) fprintf(stderr, "call %zu (%s)\n", i, calls[i].label);
        CHECK_EQ_INT(rc, calls[i].rc);
        if (rc || !calls[i].want) continue;
        CHECK_EQ_STR(voice_seq_str(&s, buf, sizeof buf), calls[i].want);
    }
}

static const struct {
    unsigned n;
    const char *zh, *en;
} numbers[] = {
    {0, "zh/0", "en/0"},
    {1, "zh/1", "en/1"},
    {2, "zh/2", "en/2"},
    {9, "zh/9", "en/9"},
    {10, "zh/shi", "en/10"},
    {11, "zh/shi zh/1", "en/11"},
    {12, "zh/shi zh/2", "en/12"},
    {19, "zh/shi zh/9", "en/19"},
    {20, "zh/2 zh/shi", "en/20"},
    {21, "zh/2 zh/shi zh/1", "en/20 en/1"},
    {99, "zh/9 zh/shi zh/9", "en/90 en/9"},
    {100, "zh/1 zh/bai", "en/1 en/hundred"},
    {101, "zh/1 zh/bai zh/0 zh/1", "en/1 en/hundred en/1"},
    {105, "zh/1 zh/bai zh/0 zh/5", "en/1 en/hundred en/5"},
    {110, "zh/1 zh/bai zh/1 zh/shi", "en/1 en/hundred en/10"},
    {115, "zh/1 zh/bai zh/1 zh/shi zh/5", "en/1 en/hundred en/15"},
    {120, "zh/1 zh/bai zh/2 zh/shi", "en/1 en/hundred en/20"},
    {200, "zh/2 zh/bai", "en/2 en/hundred"},
    {310, "zh/3 zh/bai zh/1 zh/shi", "en/3 en/hundred en/10"},
    {999, "zh/9 zh/bai zh/9 zh/shi zh/9", "en/9 en/hundred en/90 en/9"},
};

static void test_numbers(void)
{
    char buf[512];
    for (size_t i = 0; i < HQ_ARRAY_LEN(numbers); i++) {
        struct voice_seq s = {0};
        CHECK_EQ_INT(voice_number_zh(numbers[i].n, &s), HQ_OK);
        CHECK_EQ_STR(voice_seq_str(&s, buf, sizeof buf), numbers[i].zh);
        s.n = 0;
        CHECK_EQ_INT(voice_number_en(numbers[i].n, &s), HQ_OK);
        CHECK_EQ_STR(voice_seq_str(&s, buf, sizeof buf), numbers[i].en);
    }
    struct voice_seq s = {0};
    CHECK_EQ_INT(voice_number_zh(1000, &s), HQ_ERR_INVALID);
    CHECK_EQ_INT(voice_number_en(1000, &s), HQ_ERR_INVALID);
    /* every clip a sequence can name is one a pack must have */
    const char *names[256];
    size_t n = voice_pack_names(VOICE_LANG_ZH | VOICE_LANG_EN, names, 256);
    CHECK_EQ_INT(n, 7 + 10 + 26 + 4 + 28 + 26);
    for (unsigned w = 1; w <= 999; w++) {
        struct voice_call c = {
            .label = "AZ0123456789", .window = w, .langs = VOICE_LANG_ZH | VOICE_LANG_EN};
        CHECK_EQ_INT(voice_call_seq(&c, &s), HQ_OK);
        for (size_t i = 0; i < s.n; i++) {
            if (!strcmp(s.clip[i], VOICE_BREAK)) continue;
            size_t k = 0;
            while (k < n && strcmp(names[k], s.clip[i]))
                k++;
            if (k == n) {
                fprintf(stderr, "window %u: %s is not a pack clip\n", w, s.clip[i]);
                CHECK(k < n);
                return;
            }
        }
    }
}

/* ------------------------------------------------------------------ WAV */

struct wavb {
    uint8_t b[512];
    size_t n;
};

static void put(struct wavb *w, const void *p, size_t n)
{
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static void put16(struct wavb *w, unsigned v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put(w, b, 2);
}
static void put32(struct wavb *w, uint32_t v)
{
    put16(w, v & 0xffff);
    put16(w, v >> 16);
}

/* A WAV with samples; extra = a LIST chunk before fmt (odd length: padding). */
static struct wavb make_wav(unsigned rate, unsigned ch, unsigned bits, const int16_t *s, size_t n,
                            bool extra, bool extensible)
{
    struct wavb w = {.n = 0};
    put(&w, "RIFF", 4);
    put32(&w, 0);
    put(&w, "WAVE", 4);
    if (extra) {
        put(&w, "LIST", 4);
        put32(&w, 5);
        put(&w, "INFOx\0", 6); /* 5 bytes + 1 pad */
    }
    put(&w, "fmt ", 4);
    put32(&w, extensible ? 40 : 16);
    put16(&w, extensible ? 0xFFFE : 1);
    put16(&w, ch);
    put32(&w, rate);
    put32(&w, rate * ch * bits / 8);
    put16(&w, ch * bits / 8);
    put16(&w, bits);
    if (extensible) {
        static const uint8_t guid[16] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,
                                         0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71};
        put16(&w, 22);
        put16(&w, bits);
        put32(&w, 4);
        put(&w, guid, 16);
    }
    put(&w, "data", 4);
    put32(&w, (uint32_t)(n * 2));
    for (size_t i = 0; i < n; i++)
        put16(&w, (uint16_t)s[i]);
    uint32_t riff = (uint32_t)(w.n - 8);
    memcpy(w.b + 4, &riff, 4); /* little-endian hosts only: the test runs on them */
    return w;
}

static void test_wav(void)
{
    static const int16_t s[5] = {1, -1, 32767, -32768, 258};
    struct voice_wav info;
    const char *why = NULL;

    struct wavb w = make_wav(16000, 1, 16, s, 5, false, false);
    CHECK_EQ_INT(voice_wav_parse(w.b, w.n, &info, &why), HQ_OK);
    CHECK_EQ_INT(info.format, 1);
    CHECK_EQ_INT(info.channels, 1);
    CHECK_EQ_INT(info.rate, 16000);
    CHECK_EQ_INT(info.bits, 16);
    CHECK_EQ_INT(info.data_off, 44);
    CHECK_EQ_INT(info.data_len, 10);

    /* other chunks (odd length, padded) and the extensible format */
    w = make_wav(16000, 1, 16, s, 5, true, true);
    CHECK_EQ_INT(voice_wav_parse(w.b, w.n, &info, &why), HQ_OK);
    CHECK_EQ_INT(info.format, 1);
    CHECK_EQ_INT(info.data_off, 12 + 14 + 48 + 8);
    CHECK_EQ_INT(info.data_len, 10);

    struct voice_pack p = {0};
    char err[300];
    CHECK_EQ_INT(voice_pack_add_wav(&p, "zh/1", w.b, w.n, err, sizeof err), HQ_OK);
    const struct voice_clip *c = voice_pack_find(&p, "zh/1");
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_INT(c->n, 5);
        CHECK_EQ_MEM(c->pcm, s, sizeof s);
    }

    /* bad headers */
    static const struct {
        const char *legend;
        size_t cut; /* bytes kept, 0 = all */
        size_t off; /* byte to patch, 0 = none */
        uint8_t val;
        const char *why;
    } bad[] = {
        {"not RIFF", 0, 1, 'X', "not a RIFF/WAVE file"},
        {"not WAVE", 0, 8, 'X', "not a RIFF/WAVE file"},
        {"too short", 10, 0, 0, "not a RIFF/WAVE file"},
        {"truncated in the data", 50, 0, 0, "the RIFF size runs past the end of the file"},
        {"RIFF size too big", 0, 7, 0x10, "the RIFF size runs past the end of the file"},
        {"data size too big", 0, 43, 0x10, "a chunk runs past the end of the file"},
        {"fmt too short", 0, 16, 8, "the fmt chunk is too short"},
        {"zero channels", 0, 22, 0, "the fmt chunk gives no channels, rate or sample size"},
        {"no data chunk", 0, 36, 'X', "no data chunk"},
        {"no fmt chunk", 0, 12, 'X', "the data chunk comes before the fmt chunk"},
    };
    for (size_t i = 0; i < HQ_ARRAY_LEN(bad); i++) {
        struct wavb b = make_wav(16000, 1, 16, s, 5, false, false);
        if (bad[i].cut) b.n = bad[i].cut;
        if (bad[i].off) b.b[bad[i].off] = bad[i].val;
        why = NULL;
        int rc = voice_wav_parse(b.b, b.n, &info, &why);
        if (rc != HQ_ERR_INVALID) fprintf(stderr, "bad wav: %s\n", bad[i].legend);
        CHECK_EQ_INT(rc, HQ_ERR_INVALID);
        CHECK_EQ_STR(why ? why : "(none)", bad[i].why);
        CHECK_EQ_INT(voice_pack_add_wav(&p, "x", b.b, b.n, err, sizeof err), HQ_ERR_INVALID);
    }
    /* a zero rate is refused as well */
    struct wavb z = make_wav(0, 1, 16, s, 5, false, false);
    CHECK_EQ_INT(voice_wav_parse(z.b, z.n, &info, &why), HQ_ERR_INVALID);

    /* well-formed but not the pack format: refused with the conversion to use */
    struct wavb f = make_wav(22050, 1, 16, s, 5, false, false);
    CHECK_EQ_INT(voice_wav_parse(f.b, f.n, &info, &why), HQ_OK);
    CHECK_EQ_INT(voice_pack_add_wav(&p, "x", f.b, f.n, err, sizeof err), HQ_ERR_INVALID);
    CHECK(strstr(err, "22050 Hz") != NULL);
    CHECK(strstr(err, "sox") != NULL);
    f = make_wav(16000, 2, 16, s, 4, false, false);
    CHECK_EQ_INT(voice_pack_add_wav(&p, "x", f.b, f.n, err, sizeof err), HQ_ERR_INVALID);
    f = make_wav(16000, 1, 16, s, 0, false, false);
    CHECK_EQ_INT(voice_pack_add_wav(&p, "x", f.b, f.n, err, sizeof err), HQ_ERR_INVALID);
    CHECK_EQ_STR(err, "holds no sound");
    CHECK(voice_pack_find(&p, "x") == NULL);
    voice_pack_free(&p);
}

/* ------------------------------------------------------------- assembly */

static void add_clip(struct voice_pack *p, const char *name, size_t n, int16_t v)
{
    /* calloc: gcc's -fsanitize=address build (-DHQ_SANITIZE=ON) warns that malloc'd samples
     * "may be used uninitialized" when n is 0, and -Werror stops the build */
    int16_t *s = calloc(n ? n : 1, sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = v;
    struct wavb w;
    /* build the file in a bigger buffer for longer clips */
    uint8_t *buf = malloc(44 + n * 2);
    w = make_wav(16000, 1, 16, s, 0, false, false);
    memcpy(buf, w.b, 44);
    for (size_t i = 0; i < n; i++) {
        buf[44 + 2 * i] = (uint8_t)v;
        buf[45 + 2 * i] = (uint8_t)((uint16_t)v >> 8);
    }
    uint32_t data = (uint32_t)(n * 2), riff = 36 + data;
    memcpy(buf + 40, &data, 4);
    memcpy(buf + 4, &riff, 4);
    char err[200];
    CHECK_EQ_INT(voice_pack_add_wav(p, name, buf, 44 + n * 2, err, sizeof err), HQ_OK);
    free(buf);
    free(s);
}

static void test_assemble(void)
{
    struct voice_pack p = {0};
    const char *names[256];
    size_t n = voice_pack_names(VOICE_LANG_ZH | VOICE_LANG_EN, names, 256);
    /* each clip a different length and value, so misplaced clips show */
    for (size_t i = 0; i < n; i++)
        add_clip(&p, names[i], 100 + i * 7, (int16_t)(i + 1));
    add_clip(&p, "zh/qing", 321, 999); /* replacing a clip (a hall's recording) */
    CHECK_EQ_INT(p.n, n);

    struct voice_call c = {.label = "A012", .window = 12, .langs = VOICE_LANG_ZH | VOICE_LANG_EN};
    struct voice_seq s;
    CHECK_EQ_INT(voice_call_seq(&c, &s), HQ_OK);
    int16_t *pcm = NULL;
    size_t len = 0;
    char missing[VOICE_CLIP_NAME] = "";
    CHECK_EQ_INT(voice_assemble(&p, &s, 50, 600, &pcm, &len, missing, sizeof missing), HQ_OK);
    size_t want = 0, words = 0, breaks = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (!strcmp(s.clip[i], VOICE_BREAK)) {
            breaks++;
            continue;
        }
        want += voice_pack_find(&p, s.clip[i])->n;
        words++;
    }
    CHECK_EQ_INT(breaks, 1);
    want += (words - 1 - breaks) * voice_ms_to_samples(50) + breaks * voice_ms_to_samples(600);
    CHECK_EQ_INT(len, want);
    CHECK_EQ_INT(voice_ms_to_samples(50), 800);
    /* walk it: clip, gap, clip ... in order, silences all zero */
    size_t o = 0;
    bool ok = true, brk = false;
    for (size_t i = 0; i < s.n && ok; i++) {
        if (!strcmp(s.clip[i], VOICE_BREAK)) {
            brk = true;
            continue;
        }
        if (o) {
            size_t g = voice_ms_to_samples(brk ? 600 : 50);
            for (size_t k = 0; k < g; k++)
                ok = ok && pcm[o + k] == 0;
            o += g;
        }
        const struct voice_clip *cl = voice_pack_find(&p, s.clip[i]);
        ok = ok && memcmp(pcm + o, cl->pcm, cl->n * 2) == 0;
        o += cl->n;
        brk = false;
    }
    CHECK(ok);
    CHECK_EQ_INT(o, len);
    CHECK_EQ_INT(pcm[0], 999); /* starts with the replaced 请, no leading silence */
    free(pcm);

    /* no gaps at all: exactly the sum of the clips */
    CHECK_EQ_INT(voice_assemble(&p, &s, 0, 0, &pcm, &len, NULL, 0), HQ_OK);
    CHECK_EQ_INT(len, want - (words - 2) * 800 - 9600);
    free(pcm);

    /* a clip missing from the pack is named */
    struct voice_pack small = {0};
    add_clip(&small, "zh/qing", 10, 1);
    CHECK_EQ_INT(voice_assemble(&small, &s, 50, 600, &pcm, &len, missing, sizeof missing),
                 HQ_ERR_NOT_FOUND);
    CHECK_EQ_STR(missing, "zh/A");
    CHECK(pcm == NULL && len == 0);
    voice_pack_free(&small);
    voice_pack_free(&p);
}

int main(void)
{
    test_calls();
    test_numbers();
    test_wav();
    test_assemble();
    return check_report("test_voice");
}
