/*
 * lexbuf.h — the one receive buffer every byte lexer uses (hall bus, LED bars, ID-card
 * reader, Onbon, and their simulators): append what a read delivered in any split, skip
 * garbage up to a frame head (keeping a partial head at the end), drop what a frame used,
 * and wipe freed bytes for lexers whose frames hold personal data.
 *
 * A lexer keeps its own `uint8_t buf[N]; size_t len; uint32_t garbage;` (tests read them) and
 * hands them to these functions through a view: HQ_LEXBUF(lx, wipe).
 */
#ifndef HQ_LEXBUF_H
#define HQ_LEXBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hq_lexbuf {
    uint8_t *buf;
    size_t cap;
    size_t *len;
    uint32_t *garbage; /* bytes skipped looking for a frame head */
    bool wipe;         /* zero every byte that leaves the buffer (personal data) */
};

/* The view of a lexer struct with fields buf (an array), len and garbage. */
#define HQ_LEXBUF(lx, w)                                                                           \
    ((struct hq_lexbuf){(lx)->buf, sizeof(lx)->buf, &(lx)->len, &(lx)->garbage, (w)})

/* Called by hq_lexbuf_feed after each append: take every complete frame from the buffer. */
typedef void (*hq_lexbuf_scan_fn)(void *ctx);

/* Append data (any length, any split) and scan after each bite that fits. A buffer the scan
 * leaves full drops its first byte as garbage, so a lexer can never stall. */
void hq_lexbuf_feed(const struct hq_lexbuf *b, const uint8_t *data, size_t n,
                    hq_lexbuf_scan_fn scan, void *ctx);
/* Remove the first n bytes (a frame used, or one byte of a false start). */
void hq_lexbuf_drop(const struct hq_lexbuf *b, size_t n);
/* Skip to the first place where head (hlen bytes) starts, or where the buffer ends in a prefix
 * of it; the skipped bytes count as garbage. Returns how many were skipped. */
size_t hq_lexbuf_sync(const struct hq_lexbuf *b, const uint8_t *head, size_t hlen);
/* Forget a partial frame (wiped when the view says so). Counters are kept. */
void hq_lexbuf_reset(const struct hq_lexbuf *b);

#endif
