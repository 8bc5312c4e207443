/*
 * fuzz_escpos.c — the ESC/POS decoder reads whatever a client sends the printer simulator
 * (PROTOCOLS.md §4). Fuzzes the streaming decoder at any split at both paper widths, and the
 * whole-buffer decoder; both must never read past the input or overrun a ticket's fields.
 */
#include "escpos_decode.h"
#include "fuzz.h"

static int tickets, statuses;

static void on_ticket(const struct escpos_dticket *t, void *arg)
{
    (void)arg;
    if (t->n_lines > ESCPOS_DEC_MAX_LINES || t->qr_len > ESCPOS_DEC_QR_MAX) __builtin_trap();
    tickets++;
}

static void on_status(int n, void *arg)
{
    (void)n, (void)arg;
    statuses++;
}

static void feed(const uint8_t *p, size_t n, void *arg)
{
    (void)escpos_decoder_feed(arg, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct escpos_decoder *d = escpos_decoder_new(size & 1 ? 384 : 576, on_ticket, on_status, NULL);
    if (!d) return 0;
    fuzz_split(data, size, feed, d);
    escpos_decoder_finish(d);
    escpos_decoder_free(d);

    static struct escpos_dticket t;
    (void)escpos_decode_buffer(data, size, 0, &t);
    return 0;
}
