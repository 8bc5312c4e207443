/*
 * fuzz_slip.c — SLIP/CRC frames of the serial up-link (firmware/slip.h): line noise, a peer
 * that never sends END, escapes cut between reads. The decoder runs with a small bound so the
 * overlong path is reached; every frame it delivers must pass slip_frame_check, and a frame
 * built from the input must decode back to the same body.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hq.h"
#include "slip.h"

static void on_frame(void *arg, char type, const char *body, size_t body_len)
{
    (void)arg;
    if (body[body_len] != 0) __builtin_trap();
    if (type != 'R' && type != 'A' && type != 'Q' && type != 'P') __builtin_trap();
}

static void feed(const uint8_t *p, size_t n, void *arg)
{
    (void)slip_decoder_feed(arg, p, n, on_frame, NULL);
}

struct echo {
    const uint8_t *body;
    size_t len;
    int got;
};

static void on_echo(void *arg, char type, const char *body, size_t body_len)
{
    struct echo *e = arg;
    if (type != 'R' || body_len != e->len || memcmp(body, e->body, body_len) != 0) __builtin_trap();
    e->got++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slip_decoder d;
    slip_decoder_init(&d, 256);
    fuzz_split(data, size, feed, &d);
    slip_decoder_free(&d);

    char type;
    size_t body_len;
    (void)slip_frame_check(data, size, &type, &body_len);

    /* Round trip: frame the input as a body, decode it in one go. */
    uint8_t *wire;
    size_t wire_len;
    if (slip_frame_build('R', data, size, &wire, &wire_len) == HQ_OK) {
        struct echo e = {data, size, 0};
        slip_decoder_init(&d, 0);
        (void)slip_decoder_feed(&d, wire, wire_len, on_echo, &e);
        slip_decoder_free(&d);
        free(wire);
        if (e.got != 1) __builtin_trap();
    }
    return 0;
}
