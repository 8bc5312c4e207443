/*
 * fuzz_idcard.c — the SAM reader's answers (PROTOCOLS.md §1) are bytes from a USB serial
 * adapter: noise, cut frames, a counterfeit reader. Fuzzes the lexer at any split, the
 * response decoder and idcard_parse_read_response on every frame the lexer delivers and on
 * the raw input, the text-block parser on a 256-byte block, a number typed at the guide desk,
 * and the reader state machine.
 */
#include <string.h>

#include "fuzz.h"
#include "idcard.h"

static const uint8_t key[] = "fuzz-key";

static void on_frame(uint8_t *frame, size_t len, void *arg)
{
    struct idcard_response r;
    struct idcard_identity id;
    (void)arg;
    if (idcard_response_decode(frame, len, &r) == HQ_OK) (void)idcard_sw3_text_zh(r.sw3);
    (void)idcard_parse_read_response(frame, len, key, sizeof key - 1, &id, NULL);
}

static struct idcard_lexer lx;
static void feed(const uint8_t *p, size_t n, void *arg)
{
    idcard_lexer_feed(&lx, p, n, on_frame, arg);
}

static struct idcard_reader rd;
static uint64_t now;
static void reader_feed(const uint8_t *p, size_t n, void *arg)
{
    uint8_t out[IDCARD_CMD_FRAME_LEN];
    struct idcard_event ev;
    (void)arg;
    now += 50 + p[0] * 4; /* time passes between pieces, so timeouts and polls happen too */
    (void)idcard_reader_step(&rd, now, out);
    idcard_reader_input(&rd, p, n, now);
    while (idcard_reader_next_event(&rd, &ev)) {
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct idcard_identity id;
    idcard_lexer_init(&lx);
    fuzz_split(data, size, feed, NULL);

    /* The whole input as one frame, and as a text block. */
    (void)idcard_parse_read_response(data, size, key, sizeof key - 1, &id, NULL);
    if (size >= IDCARD_TEXT_LEN) (void)idcard_parse_text(data, key, sizeof key - 1, &id, NULL);

    char name[IDCARD_NAME_MASKED_MAX], in[64];
    size_t n = size < sizeof in - 1 ? size : sizeof in - 1;
    memcpy(in, data, n);
    in[n] = 0;
    (void)idcard_mask_name(in, name, sizeof name);
    (void)idcard_gb11643_valid(in);
    (void)idcard_typed_identity(in, key, sizeof key - 1, &id, NULL); /* typed at the desk */

    now = 0;
    idcard_reader_init(&rd, key, sizeof key - 1, size & 1, now);
    fuzz_split(data, size, reader_feed, NULL);
    idcard_reader_free(&rd);
    return 0;
}
