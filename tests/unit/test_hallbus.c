/*
 * test_hallbus.c — the FF 68 hall bus: every test vector of PROTOCOLS.md §2 in both directions,
 * the lexer against split reads / garbage / L mismatch / bad CS / missing end byte, every key of
 * the keypad table, repeat detection and the 4-key pad mapping.
 */
#include "check.h"
#include "hallbus.h"

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

struct got {
    int n;
    struct hallbus_frame f[8];
};

static void on_frame(const struct hallbus_frame *f, void *arg)
{
    struct got *g = arg;
    if (g->n < 8) g->f[g->n] = *f;
    g->n++;
}

/* PROTOCOLS.md §2 test vectors, with the frame each stands for. */
static const struct {
    const char *legend, *bytes;
    uint8_t addr, func, n, data[8];
} vectors[] = {
    {"keypad 3: call next", "FF 68 03 03 68 03 01 0C 10 16", 3, 1, 1, {0x0C}},
    {"keypad 3: recall", "FF 68 03 03 68 03 01 0D 11 16", 3, 1, 1, {0x0D}},
    {"keypad 3: no-show", "FF 68 04 04 68 03 01 06 0F 19 16", 3, 1, 2, {6, 0x0F}},
    {"keypad 3: call 012", "FF 68 06 06 68 03 01 00 01 02 0C 13 16", 3, 1, 4, {0, 1, 2, 0x0C}},
    {"keypad 3: login 1234",
     "FF 68 07 07 68 03 01 01 02 03 04 0F 1D 16",
     3,
     1,
     5,
     {1, 2, 3, 4, 0x0F}},
    {"host: ticket 012",
     "FF 68 08 08 68 03 02 0A 0A 0A 00 01 02 26 16",
     3,
     2,
     6,
     {10, 10, 10, 0, 1, 2}},
    {"host: 7 waiting",
     "FF 68 08 08 68 03 02 00 00 07 0A 0A 0A 2A 16",
     3,
     2,
     6,
     {0, 0, 7, 10, 10, 10}},
    {"host: beep", "FF 68 02 02 68 03 03 06 16", 3, 3, 0, {0}},
    {"pad 33: rating 5", "FF 68 03 03 68 21 11 05 37 16", 0x21, 0x11, 1, {5}},
    {"host: ack rating 5", "FF 68 03 03 68 21 01 05 27 16", 0x21, 1, 1, {5}},
    {"host: invite", "FF 68 03 03 68 21 01 0B 2D 16", 0x21, 1, 1, {0x0B}},
};

static void test_vectors(void)
{
    for (size_t i = 0; i < HQ_ARRAY_LEN(vectors); i++) {
        uint8_t want[64], got[64];
        size_t n = hex(vectors[i].bytes, want);
        struct hallbus_frame f = {
            .addr = vectors[i].addr, .func = vectors[i].func, .n = vectors[i].n};
        memcpy(f.data, vectors[i].data, f.n);
        CHECK_EQ_INT(hallbus_encode(&f, got, sizeof got), n);
        CHECK_EQ_MEM(got, want, n);
        struct hallbus_lexer lx;
        struct got g = {0};
        hallbus_lexer_init(&lx);
        hallbus_lexer_feed(&lx, want, n, on_frame, &g);
        CHECK_EQ_INT(g.n, 1);
        CHECK_EQ_INT(g.f[0].addr, f.addr);
        CHECK_EQ_INT(g.f[0].func, f.func);
        CHECK_EQ_INT(g.f[0].n, f.n);
        CHECK_EQ_MEM(g.f[0].data, f.data, f.n);
    }
    /* the host-side builders give the same bytes */
    uint8_t b[64], w[64];
    size_t n = hex("FF 68 08 08 68 03 02 0A 0A 0A 00 01 02 26 16", w);
    CHECK_EQ_INT(hallbus_make_display(3, -1, "012", b, sizeof b), n);
    CHECK_EQ_MEM(b, w, n);
    CHECK_EQ_INT(hallbus_make_display(3, -1, "A012", b, sizeof b), n);
    CHECK_EQ_MEM(b, w, n);
    n = hex("FF 68 08 08 68 03 02 00 00 07 0A 0A 0A 2A 16", w);
    CHECK_EQ_INT(hallbus_make_display(3, 7, NULL, b, sizeof b), n);
    CHECK_EQ_MEM(b, w, n);
    n = hex("FF 68 02 02 68 03 03 06 16", w);
    CHECK_EQ_INT(hallbus_make_beep(3, b, sizeof b), n);
    CHECK_EQ_MEM(b, w, n);
    n = hex("FF 68 03 03 68 21 01 05 27 16", w);
    CHECK_EQ_INT(hallbus_make_rating_ack(33, 5, b, sizeof b), n);
    CHECK_EQ_MEM(b, w, n);
    /* "CS is the pad frame's CS - 0x10" */
    CHECK_EQ_INT(b[8], 0x37 - 0x10);
    n = hex("FF 68 03 03 68 21 01 0B 2D 16", w);
    CHECK_EQ_INT(hallbus_make_invite(33, b, sizeof b), n);
    CHECK_EQ_MEM(b, w, n);
    CHECK_EQ_INT(hallbus_make_stars(33, 4, b, sizeof b), 10);
    CHECK_EQ_INT(b[6], 0x02);
    CHECK_EQ_INT(b[7], 4);
    /* display details: 999 cap, short ticket right-aligned */
    hallbus_make_display(3, 1234, "A7", b, sizeof b);
    static const uint8_t d[6] = {9, 9, 9, 10, 10, 7};
    CHECK_EQ_MEM(b + 7, d, 6);
}

#define CALL "FF 68 03 03 68 03 01 0C 10 16"
#define RECALL4 "FF 68 03 03 68 04 01 0D 12 16"

static const struct {
    const char *legend, *bytes;
    int frames;
    uint8_t addrs[4];
    uint32_t garbage, bad_length, bad_header, bad_checksum, bad_end;
} lexer_table[] = {
    {"one frame", CALL, 1, {3}, 0, 0, 0, 0, 0},
    {"two frames", CALL " " RECALL4, 2, {3, 4}, 0, 0, 0, 0, 0},
    {"leading garbage", "00 68 FF 16 " CALL, 1, {3}, 4, 0, 0, 0, 0},
    {"garbage between", CALL " 55 AA " RECALL4, 2, {3, 4}, 2, 0, 0, 0, 0},
    {"FF FF 68 start", "FF " CALL, 1, {3}, 1, 0, 0, 0, 0},
    {"L mismatch", "FF 68 03 04 68 03 01 0C 10 16 " RECALL4, 1, {4}, 9, 1, 0, 0, 0},
    {"bad third start byte", "FF 68 03 03 69 03 01 0C 10 16 " RECALL4, 1, {4}, 9, 0, 1, 0, 0},
    {"bad CS", "FF 68 03 03 68 03 01 0C 11 16 " RECALL4, 1, {4}, 9, 0, 0, 1, 0},
    {"missing end byte", "FF 68 03 03 68 03 01 0C 10 " RECALL4, 1, {4}, 8, 0, 0, 0, 1},
    {"L too large", "FF 68 30 30 68 " CALL, 1, {3}, 4, 1, 0, 0, 0},
    {"partial frame", "FF 68 03 03 68 03", 0, {0}, 0, 0, 0, 0, 0},
};

static void test_lexer_table(void)
{
    for (size_t i = 0; i < HQ_ARRAY_LEN(lexer_table); i++) {
        uint8_t bytes[128];
        size_t n = hex(lexer_table[i].bytes, bytes);
        for (size_t split = 0; split <= n + 1; split++) {
            struct hallbus_lexer lx;
            struct got g = {0};
            hallbus_lexer_init(&lx);
            if (split <= n) {
                hallbus_lexer_feed(&lx, bytes, split, on_frame, &g);
                hallbus_lexer_feed(&lx, bytes + split, n - split, on_frame, &g);
            } else {
                for (size_t k = 0; k < n; k++)
                    hallbus_lexer_feed(&lx, bytes + k, 1, on_frame, &g);
            }
            int ok = g.n == lexer_table[i].frames && lx.garbage == lexer_table[i].garbage &&
                     lx.bad_length == lexer_table[i].bad_length &&
                     lx.bad_header == lexer_table[i].bad_header &&
                     lx.bad_checksum == lexer_table[i].bad_checksum &&
                     lx.bad_end == lexer_table[i].bad_end;
            for (int f = 0; ok && f < g.n; f++)
                ok = g.f[f].addr == lexer_table[i].addrs[f];
            if (!ok)
                fprintf(stderr,
                        "bus lexer '%s' split %zu: %d frames, garbage %u len %u hdr %u cs %u end "
                        "%u\n",
                        lexer_table[i].legend, split, g.n, lx.garbage, lx.bad_length, lx.bad_header,
                        lx.bad_checksum, lx.bad_end);
            CHECK(ok);
        }
    }
}

static const struct {
    const char *data; /* DATA bytes of a FUNC 01 frame from keypad 3 */
    int rc;
    int action;
    const char *digits;
    uint32_t number;
    const char *staff;
} key_table[] = {
    {"0C", HQ_OK, HALLBUS_CALL_NEXT, "", 0, ""},
    {"00 01 02 0C", HQ_OK, HALLBUS_CALL_NUMBER, "012", 12, ""},
    {"0D", HQ_OK, HALLBUS_RECALL, "", 0, ""},
    {"0A", HQ_OK, HALLBUS_START, "", 0, ""},
    {"0B", HQ_OK, HALLBUS_FINISH, "", 0, ""},
    {"12", HQ_OK, HALLBUS_PAUSE_TOGGLE, "", 0, ""},
    {"13", HQ_OK, HALLBUS_TRANSFER, "", 0, ""},
    {"02 13", HQ_OK, HALLBUS_TRANSFER_TO_SERVICE, "2", 2, ""},
    {"06 0F", HQ_OK, HALLBUS_NO_SHOW, "6", 6, ""},
    {"00 0F", HQ_OK, HALLBUS_PARK, "0", 0, ""},
    {"03 0F", HQ_OK, HALLBUS_CALL_BACK, "3", 3, ""},
    {"07 0F", HQ_OK, HALLBUS_HELP, "7", 7, ""},
    {"09 0F", HQ_OK, HALLBUS_LOGOUT, "9", 9, ""},
    {"01 02 03 04 0F", HQ_OK, HALLBUS_LOGIN, "1234", 1234, "1234"},
    {"00 07 0F", HQ_OK, HALLBUS_LOGIN, "07", 7, "07"},
    {"05 0F", HQ_ERR_INVALID, 0, "", 0, ""},    /* no single-digit function 5 */
    {"0F", HQ_ERR_INVALID, 0, "", 0, ""},       /* login without a number */
    {"01 0D", HQ_ERR_INVALID, 0, "", 0, ""},    /* recall takes no digits */
    {"01 0B 0C", HQ_ERR_INVALID, 0, "", 0, ""}, /* a key byte among the digits */
    {"0E", HQ_ERR_INVALID, 0, "", 0, ""},       /* not a key of the table */
    {"", HQ_ERR_INVALID, 0, "", 0, ""},
};

static void test_keys(void)
{
    for (size_t i = 0; i < HQ_ARRAY_LEN(key_table); i++) {
        struct hallbus_frame f = {.addr = 3, .func = 1};
        f.n = (uint8_t)hex(key_table[i].data, f.data);
        struct hallbus_key k;
        int rc = hallbus_key_decode(&f, &k);
        if (rc != key_table[i].rc) fprintf(stderr, "key '%s': rc %d\n", key_table[i].data, rc);
        CHECK_EQ_INT(rc, key_table[i].rc);
        if (rc) continue;
        CHECK_EQ_INT(k.addr, 3);
        CHECK_EQ_INT(k.action, key_table[i].action);
        CHECK_EQ_STR(k.digits, key_table[i].digits);
        CHECK_EQ_INT(k.number, key_table[i].number);
        CHECK_EQ_STR(k.staff_id, key_table[i].staff);
    }
    /* any FUNC but 11 is a key frame; FUNC 11 is a rating */
    struct hallbus_frame f = {.addr = 3, .func = 0x05, .n = 1, .data = {0x0C}};
    struct hallbus_key k;
    CHECK_EQ_INT(hallbus_key_decode(&f, &k), HQ_OK);
    CHECK_EQ_INT(k.action, HALLBUS_CALL_NEXT);
    f.func = 0x11;
    CHECK_EQ_INT(hallbus_key_decode(&f, &k), HQ_ERR_INVALID);
    uint8_t raw = 0;
    f.data[0] = 5;
    CHECK_EQ_INT(hallbus_rating_decode(&f, &raw), HQ_OK);
    CHECK_EQ_INT(raw, 5);
    f.func = 0x01;
    CHECK_EQ_INT(hallbus_rating_decode(&f, &raw), HQ_ERR_INVALID);
    CHECK_EQ_STR(hallbus_action_name(HALLBUS_NO_SHOW), "no_show");
    CHECK_EQ_STR(hallbus_action_name_zh(HALLBUS_NO_SHOW), "弃号");
}

static void test_repeats(void)
{
    static struct hallbus_repeat r;
    hallbus_repeat_init(&r);
    struct hallbus_frame call = {.addr = 3, .func = 1, .n = 1, .data = {0x0C}};
    struct hallbus_frame recall = {.addr = 3, .func = 1, .n = 1, .data = {0x0D}};
    struct hallbus_frame call4 = {.addr = 4, .func = 1, .n = 1, .data = {0x0C}};
    CHECK(!hallbus_repeat_check(&r, &call, 10000));   /* first press: act */
    CHECK(hallbus_repeat_check(&r, &call, 10500));    /* resend 500 ms later: repeat */
    CHECK(!hallbus_repeat_check(&r, &call4, 10600));  /* another keypad: its own */
    CHECK(hallbus_repeat_check(&r, &call, 11000));    /* second resend */
    CHECK(hallbus_repeat_check(&r, &call, 12999));    /* within 2 s of the last echo */
    CHECK(!hallbus_repeat_check(&r, &call, 15000));   /* 2 s of quiet: a new press */
    CHECK(!hallbus_repeat_check(&r, &recall, 15100)); /* different DATA: acted on */
    CHECK(!hallbus_repeat_check(&r, &call, 15200));   /* and back again: acted on */
}

static void test_padmap(void)
{
    struct hallbus_padmap m;
    hallbus_padmap_four(&m);
    CHECK_EQ_INT(hallbus_padmap_level(&m, 4), 5);
    CHECK_EQ_INT(hallbus_padmap_level(&m, 3), 4);
    CHECK_EQ_INT(hallbus_padmap_level(&m, 2), 3);
    CHECK_EQ_INT(hallbus_padmap_level(&m, 1), 2);
    CHECK_EQ_INT(hallbus_padmap_level(&m, 5), 0); /* unmapped: ignored, never a default */
    CHECK_EQ_INT(hallbus_padmap_level(&m, 0), 0);
    hallbus_padmap_five(&m);
    for (int i = 1; i <= 5; i++)
        CHECK_EQ_INT(hallbus_padmap_level(&m, (uint8_t)i), i);
    CHECK_EQ_INT(hallbus_padmap_parse(&m, "1=1, 2=3,3=4,0x04=5"), HQ_OK);
    CHECK_EQ_INT(hallbus_padmap_level(&m, 1), 1);
    CHECK_EQ_INT(hallbus_padmap_level(&m, 2), 3);
    CHECK_EQ_INT(hallbus_padmap_level(&m, 4), 5);
    CHECK_EQ_INT(hallbus_padmap_level(&m, 5), 0);
    static const char *const bad[] = {"", "1=6", "1=0", "a=1", "1=2,1=3", "1=2;2=3", "300=1", "1="};
    for (size_t i = 0; i < HQ_ARRAY_LEN(bad); i++) {
        CHECK_EQ_INT(hallbus_padmap_parse(&m, bad[i]), HQ_ERR_CONFIG);
        CHECK_EQ_INT(hallbus_padmap_level(&m, 2), 3); /* unchanged */
    }
    CHECK_EQ_STR(hallbus_level_name_zh(5), "非常满意");
    CHECK_EQ_STR(hallbus_level_name_zh(3), "基本满意");
    CHECK_EQ_STR(hallbus_level_name_zh(1), "非常不满意");
}

int main(void)
{
    test_vectors();
    test_lexer_table();
    test_keys();
    test_repeats();
    test_padmap();
    return check_report("test_hallbus");
}
