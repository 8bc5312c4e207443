/*
 * slip.c — SLIP framing and the sync frame (see slip.h for the picture).
 * The decoder never trusts the line: a frame that breaks the escaping rule or
 * outgrows the bound is marked broken and thrown away at the next END, so one
 * bad burst costs one frame and the link resynchronises by itself.
 */
#include "slip.h"

#include "hq.h"

#include <stdlib.h>
#include <string.h>

/* Half-byte table of the reflected polynomial 0xEDB88320: 16 words instead
 * of 256, fast enough for a serial line and small for the firmware. */
static const uint32_t slip__crc_nibble[16] = {
    0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4, 0x4DB26158, 0x5005713C,
    0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C, 0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C,
};

uint32_t slip_crc32(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ slip__crc_nibble[crc & 0x0F];
        crc = (crc >> 4) ^ slip__crc_nibble[crc & 0x0F];
    }
    return ~crc;
}

size_t slip_encoded_max(size_t len)
{
    return 2 * len + 2;
}

size_t slip_encode(const uint8_t *in, size_t len, uint8_t *out)
{
    size_t o = 0;
    out[o++] = SLIP_END;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == SLIP_END) {
            out[o++] = SLIP_ESC;
            out[o++] = SLIP_ESC_END;
        } else if (in[i] == SLIP_ESC) {
            out[o++] = SLIP_ESC;
            out[o++] = SLIP_ESC_ESC;
        } else {
            out[o++] = in[i];
        }
    }
    out[o++] = SLIP_END;
    return o;
}

static bool slip__known_type(int type)
{
    return type == SLIP_TYPE_RECORDS || type == SLIP_TYPE_ACK || type == SLIP_TYPE_QUERY ||
           type == SLIP_TYPE_APPOINTMENTS;
}

int slip_frame_build(char type, const void *body, size_t body_len, uint8_t **out, size_t *out_len)
{
    int rc = HQ_ERR_NOMEM;
    uint8_t *raw = NULL, *wire = NULL;
    if (!slip__known_type((unsigned char)type) || (body_len && !body)) return HQ_ERR_INVALID;
    size_t raw_len = 1 + body_len + 4;
    raw = malloc(raw_len);
    wire = malloc(slip_encoded_max(raw_len));
    if (!raw || !wire) goto fail;
    raw[0] = (uint8_t)type;
    if (body_len) memcpy(raw + 1, body, body_len);
    uint32_t crc = slip_crc32(0, raw, 1 + body_len);
    for (int i = 0; i < 4; i++)
        raw[1 + body_len + i] = (uint8_t)(crc >> (8 * i));
    *out_len = slip_encode(raw, raw_len, wire);
    *out = wire;
    free(raw);
    return HQ_OK;
fail:
    free(raw);
    free(wire);
    return rc;
}

int slip_frame_check(const uint8_t *frame, size_t len, char *type, size_t *body_len)
{
    if (len < 5 || !slip__known_type(frame[0])) return HQ_ERR_PROTO;
    size_t n = len - 4;
    uint32_t want = (uint32_t)frame[n] | (uint32_t)frame[n + 1] << 8 |
                    (uint32_t)frame[n + 2] << 16 | (uint32_t)frame[n + 3] << 24;
    if (slip_crc32(0, frame, n) != want) return HQ_ERR_PROTO;
    *type = (char)frame[0];
    *body_len = n - 1;
    return HQ_OK;
}

void slip_decoder_init(struct slip_decoder *d, size_t max)
{
    memset(d, 0, sizeof *d);
    d->max = max ? max : SLIP_MAX_FRAME_DEFAULT;
}

void slip_decoder_free(struct slip_decoder *d)
{
    free(d->buf);
    d->buf = NULL;
    d->len = d->cap = 0;
}

void slip_decoder_reset(struct slip_decoder *d)
{
    d->len = 0;
    d->esc = false;
    d->broken = false;
}

/* One decoded frame is complete: count it and hand it on if it is good. */
static void slip__deliver(struct slip_decoder *d, slip_frame_cb cb, void *arg)
{
    char type;
    size_t body_len;
    if (d->len == 0) {
        d->stats.empty++;
        return;
    }
    if (d->len < 5 || !slip__known_type(d->buf[0])) {
        d->stats.bad_type++;
        LOG_HEX("SYNC", "slip frame without a known type", d->buf, d->len);
        return;
    }
    if (slip_frame_check(d->buf, d->len, &type, &body_len) != HQ_OK) {
        /* Noise on the line; the sender resends after its timeout. */
        d->stats.bad_crc++;
        LOG_HEX("SYNC", "slip frame with a bad CRC", d->buf, d->len);
        return;
    }
    d->stats.frames++;
    /* The CRC's first byte sits right after the body: make the body a C
     * string for the callback, then put the byte back. */
    uint8_t saved = d->buf[1 + body_len];
    d->buf[1 + body_len] = 0;
    if (cb) cb(arg, type, (const char *)d->buf + 1, body_len);
    d->buf[1 + body_len] = saved;
}

static int slip__push(struct slip_decoder *d, uint8_t c)
{
    if (d->len >= d->max) {
        d->broken = true;
        d->stats.overlong++;
        d->len = 0;
        return HQ_OK;
    }
    if (d->len == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        if (cap > d->max) cap = d->max;
        uint8_t *nb = realloc(d->buf, cap);
        if (!nb) {
            d->broken = true;
            d->len = 0;
            return HQ_ERR_NOMEM;
        }
        d->buf = nb;
        d->cap = cap;
    }
    d->buf[d->len++] = c;
    return HQ_OK;
}

int slip_decoder_feed(struct slip_decoder *d, const void *data, size_t len, slip_frame_cb cb,
                      void *arg)
{
    const uint8_t *p = data;
    int rc = HQ_OK;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if (c == SLIP_END) {
            if (!d->broken) slip__deliver(d, cb, arg);
            slip_decoder_reset(d);
            continue;
        }
        if (d->broken) continue;
        if (d->esc) {
            d->esc = false;
            if (c == SLIP_ESC_END) {
                c = SLIP_END;
            } else if (c == SLIP_ESC_ESC) {
                c = SLIP_ESC;
            } else {
                /* RFC 1055 would keep the byte; a sync frame would fail its
                 * CRC anyway, so say what really went wrong. */
                d->broken = true;
                d->stats.bad_escape++;
                d->len = 0;
                continue;
            }
        } else if (c == SLIP_ESC) {
            d->esc = true;
            continue;
        }
        int r = slip__push(d, c);
        if (r) rc = r;
    }
    return rc;
}
