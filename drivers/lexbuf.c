/*
 * lexbuf.c — the shared receive buffer of the byte lexers (lexbuf.h).
 */
#include "lexbuf.h"

#include <string.h>

void hq_lexbuf_drop(const struct hq_lexbuf *b, size_t n)
{
    size_t len = *b->len;
    if (n > len) n = len;
    if (b->wipe) explicit_bzero(b->buf, n);
    memmove(b->buf, b->buf + n, len - n);
    *b->len = len - n;
    if (b->wipe) explicit_bzero(b->buf + len - n, n);
}

size_t hq_lexbuf_sync(const struct hq_lexbuf *b, const uint8_t *head, size_t hlen)
{
    size_t len = *b->len, i = 0;
    for (; i < len; i++) {
        size_t k = len - i < hlen ? len - i : hlen;
        if (memcmp(b->buf + i, head, k) == 0) break;
    }
    if (i) {
        *b->garbage += (uint32_t)i;
        hq_lexbuf_drop(b, i);
    }
    return i;
}

void hq_lexbuf_reset(const struct hq_lexbuf *b)
{
    if (b->wipe) explicit_bzero(b->buf, *b->len);
    *b->len = 0;
}

void hq_lexbuf_feed(const struct hq_lexbuf *b, const uint8_t *data, size_t n,
                    hq_lexbuf_scan_fn scan, void *ctx)
{
    while (n) {
        size_t room = b->cap - *b->len;
        if (!room) {
            /* Full and no frame found in it: the first byte cannot start one. */
            *b->garbage += 1;
            hq_lexbuf_drop(b, 1);
            room = 1;
        }
        size_t k = n < room ? n : room;
        memcpy(b->buf + *b->len, data, k);
        *b->len += k;
        data += k;
        n -= k;
        scan(ctx);
    }
}
