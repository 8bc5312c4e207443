/*
 * fuzz_ledbar.c — the LED bar bus (A0 90, PROTOCOLS.md §3): the acknowledgement reader sees
 * whatever comes back up the line, the lexer (used by the bar simulator) whatever the host
 * sends. Also the cells decoder, the UTF-8 → GB18030 cell encoder and the template expander,
 * which take configuration text.
 */
#include <string.h>

#include "fuzz.h"
#include "ledbar.h"

static struct ledbar_lexer lx;
static struct ledbar_ack ack;
static uint64_t now;

static void on_frame(const struct ledbar_frame *f, void *arg)
{
    char text[4 * LEDBAR_MAX_DATA];
    int color;
    (void)arg;
    if (f->n > LEDBAR_MAX_DATA) __builtin_trap();
    (void)ledbar_cells_to_utf8(f->data, f->n, text, sizeof text, &color);
}

static void feed(const uint8_t *p, size_t n, void *arg)
{
    ledbar_lexer_feed(&lx, p, n, on_frame, arg);
    /* The same bytes as an answer to a frame just written (every other piece). */
    now += 100 + p[0];
    if (p[0] & 1) ledbar_ack_expect(&ack, now);
    (void)ledbar_ack_input(&ack, p, n, now);
    (void)ledbar_ack_poll(&ack, now + (p[n - 1] & 0x3) * 200);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ledbar_lexer_init(&lx);
    memset(&ack, 0, sizeof ack);
    now = 0;
    fuzz_split(data, size, feed, NULL);

    char text[2048];
    int color;
    (void)ledbar_cells_to_utf8(data, size, text, sizeof text, &color);

    /* The input as text: "template\0ticket" */
    char in[512];
    size_t n = size < sizeof in - 1 ? size : sizeof in - 1;
    memcpy(in, data, n);
    in[n] = 0;
    const char *ticket = in + strlen(in) < in + n ? in + strlen(in) + 1 : "A012";
    char exp[512];
    if (ledbar_template_expand(in, ticket, "3", "测试大厅", exp, sizeof exp) == HQ_OK) {
        uint8_t frame[LEDBAR_FRAME_MAX];
        size_t len;
        (void)ledbar_make_text(1, LEDBAR_CMD_SHOW, exp, LEDBAR_GREEN, frame, sizeof frame, &len);
    }
    uint8_t cells[LEDBAR_MAX_DATA];
    size_t clen;
    unsigned replaced;
    if (ledbar_cells_from_utf8(in, LEDBAR_RED, cells, sizeof cells, &clen, &replaced) == HQ_OK) {
        /* What we encode the bar must decode. */
        if (ledbar_cells_to_utf8(cells, clen, text, sizeof text, &color) != HQ_OK) __builtin_trap();
    }
    return 0;
}
