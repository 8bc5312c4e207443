/*
 * slip.h — SLIP framing (RFC 1055) and the sync frame carried in it, for
 * halls whose only link to the central server is a serial line (PROTOCOLS.md
 * §5, serial transport). The decoder is incremental: a serial read may stop
 * anywhere inside a frame, the line may start with noise, and a broken peer
 * may never send END, so the buffer is bounded.
 *
 *   on the wire:   C0 | escaped( type | JSON body | CRC-32 LE ) | C0
 *   escaping:      C0 -> DB DC, DB -> DB DD
 *   type:          'R' records, 'A' ack, 'Q' appointments query, 'P' appointments
 *   CRC-32:        IEEE 802.3 (reflected, poly EDB88320, init and xorout FFFFFFFF)
 *                  over type and body, least significant byte first
 */
#ifndef HQ_SLIP_H
#define HQ_SLIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLIP_END 0xC0
#define SLIP_ESC 0xDB
#define SLIP_ESC_END 0xDC
#define SLIP_ESC_ESC 0xDD

/* Largest decoded frame the decoder keeps; a longer one is dropped whole. */
#define SLIP_MAX_FRAME_DEFAULT (4u * 1024 * 1024)

enum slip_type {
    SLIP_TYPE_RECORDS = 'R',
    SLIP_TYPE_ACK = 'A',
    SLIP_TYPE_QUERY = 'Q',
    SLIP_TYPE_APPOINTMENTS = 'P',
};

/* CRC-32 (IEEE 802.3). Start with crc = 0 and feed pieces in order;
 * slip_crc32(0, "123456789", 9) == 0xCBF43926. */
uint32_t slip_crc32(uint32_t crc, const void *buf, size_t len);

/* Bytes slip_encode() may need for len input bytes (every byte escaped, two
 * END bytes). */
size_t slip_encoded_max(size_t len);

/* Escape len bytes into out (at least slip_encoded_max(len) bytes), framed by
 * END on both sides (the leading END flushes line noise at the receiver).
 * Returns the number of bytes written. */
size_t slip_encode(const uint8_t *in, size_t len, uint8_t *out);

/* Build a whole sync frame ready for the wire: type, body, CRC, escaped and
 * framed. *out is malloc'd (caller frees). HQ_OK, HQ_ERR_INVALID (unknown
 * type) or HQ_ERR_NOMEM. */
int slip_frame_build(char type, const void *body, size_t body_len, uint8_t **out, size_t *out_len);

/* Check a decoded (unescaped) frame: at least type + CRC, known type, CRC
 * right. On HQ_OK *type is set and the body is frame[1 .. 1 + *body_len).
 * HQ_ERR_PROTO otherwise. */
int slip_frame_check(const uint8_t *frame, size_t len, char *type, size_t *body_len);

/* Called once per good sync frame; body is NUL-terminated for the JSON
 * parser's convenience (body[body_len] == 0) and valid only during the call. */
typedef void (*slip_frame_cb)(void *arg, char type, const char *body, size_t body_len);

struct slip_stats {
    uint64_t frames;     /* good sync frames delivered */
    uint64_t bad_crc;    /* CRC mismatch (dropped silently) */
    uint64_t bad_type;   /* CRC right but type unknown, or shorter than type + CRC */
    uint64_t bad_escape; /* ESC followed by a byte other than DC or DD */
    uint64_t overlong;   /* longer than the decoder's bound */
    uint64_t empty;      /* END END: the usual idle or resync pattern, not an error */
};

struct slip_decoder {
    uint8_t *buf;
    size_t len, cap, max;
    bool esc;    /* last byte was ESC */
    bool broken; /* current frame is already lost (bad escape or too long) */
    struct slip_stats stats;
};

/* Prepare a decoder that keeps frames of at most max bytes (0: the default
 * of 4 MiB). The buffer grows on demand. */
void slip_decoder_init(struct slip_decoder *d, size_t max);
void slip_decoder_free(struct slip_decoder *d);
/* Forget a partial frame (after a reconnect, say). */
void slip_decoder_reset(struct slip_decoder *d);

/* Feed bytes as they come from the line; cb runs for each good sync frame.
 * Bad frames are counted in d->stats and otherwise ignored. HQ_OK, or
 * HQ_ERR_NOMEM (the partial frame is then dropped). */
int slip_decoder_feed(struct slip_decoder *d, const void *data, size_t len, slip_frame_cb cb,
                      void *arg);

#endif
