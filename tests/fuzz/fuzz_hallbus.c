/*
 * fuzz_hallbus.c — the hall bus (FF 68, PROTOCOLS.md §2) is an RS-485 line shared by dozens
 * of keypads and rating pads: collisions and cut frames are normal. Fuzzes the lexer at any
 * split, then the key decoder, the rating decoder and the repeat filter on every frame, and
 * the rating-pad key map parser on the input as text.
 */
#include <string.h>

#include "fuzz.h"
#include "hallbus.h"

static struct hallbus_lexer lx;
static struct hallbus_repeat rep;
static uint64_t now;

static void on_frame(const struct hallbus_frame *f, void *arg)
{
    struct hallbus_key k;
    uint8_t raw, out[HALLBUS_FRAME_MAX];
    (void)arg;
    if (hallbus_key_decode(f, &k) == HQ_OK) {
        (void)hallbus_action_name(k.action);
        (void)hallbus_action_name_zh(k.action);
    }
    if (hallbus_rating_decode(f, &raw) == HQ_OK)
        (void)hallbus_make_rating_ack(f->addr, raw, out, sizeof out);
    now += 300;
    (void)hallbus_repeat_check(&rep, f, now);
    /* What was read must encode back to a frame the lexer accepts. */
    size_t n = hallbus_encode(f, out, sizeof out);
    if (!n) __builtin_trap();
}

static void feed(const uint8_t *p, size_t n, void *arg)
{
    hallbus_lexer_feed(&lx, p, n, on_frame, arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hallbus_lexer_init(&lx);
    hallbus_repeat_init(&rep);
    now = 0;
    fuzz_split(data, size, feed, NULL);

    char spec[128];
    size_t n = size < sizeof spec - 1 ? size : sizeof spec - 1;
    memcpy(spec, data, n);
    spec[n] = 0;
    struct hallbus_padmap m;
    hallbus_padmap_four(&m);
    if (hallbus_padmap_parse(&m, spec) == HQ_OK)
        for (int r = 0; r < 256; r++) {
            int level = hallbus_padmap_level(&m, (uint8_t)r);
            if (level < 0 || level > 5) __builtin_trap();
        }
    uint8_t out[HALLBUS_FRAME_MAX];
    (void)hallbus_make_display(1, (int)(size % 1200) - 100, spec, out, sizeof out);
    return 0;
}
