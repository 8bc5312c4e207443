/*
 * fuzz_onbon.c — Onbon BX-5E screens (drivers/onbon.h): the lexer sees whatever comes up the
 * line (hallqd) or down it (the simulator), in any split; each frame's DATA goes through the
 * answer and page parsers. The input as DATA must survive encode → lex unchanged.
 */
#include <string.h>

#include "fuzz.h"
#include "onbon.h"

static struct onbon_lexer lx;
static struct onbon_area_update u;
static const uint8_t *want;
static size_t want_n;
static int got;

static void on_frame(const struct onbon_frame *f, void *arg)
{
    struct onbon_answer a;
    (void)arg;
    if (f->n > ONBON_MAX_DATA) __builtin_trap();
    (void)onbon_parse_answer(f->data, f->n, &a);
    for (uint8_t colors = 1; colors <= 2; colors++)
        if (onbon_parse_area(f->data, f->n, colors, &u) == HQ_OK &&
            (u.area.w > ONBON_MAX_W || u.area.h > ONBON_MAX_H))
            __builtin_trap();
}

static void on_roundtrip(const struct onbon_frame *f, void *arg)
{
    (void)arg;
    got++;
    if (f->n != want_n || (want_n && memcmp(f->data, want, want_n) != 0)) __builtin_trap();
}

static void feed(const uint8_t *p, size_t n, void *arg)
{
    onbon_lexer_feed(&lx, p, n, on_frame, arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    onbon_lexer_init(&lx);
    fuzz_split(data, size, feed, NULL);

    static uint8_t frame[ONBON_FRAME_MAX];
    if (size <= ONBON_MAX_DATA) {
        struct onbon_packet p = {.dst = 1,
                                 .src = ONBON_SRC_HOST,
                                 .devtype = ONBON_TYPE_ANY,
                                 .ver = ONBON_PROTO_VER,
                                 .n = (uint32_t)size,
                                 .data = data};
        size_t fn = onbon_encode(&p, frame, sizeof frame);
        if (!fn) __builtin_trap();
        want = data;
        want_n = size;
        got = 0;
        onbon_lexer_init(&lx);
        onbon_lexer_feed(&lx, frame, fn, on_roundtrip, NULL);
        if (got != 1) __builtin_trap();
    }
    return 0;
}
