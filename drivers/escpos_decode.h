/*
 * escpos_decode.h — read an ESC/POS byte stream back into tickets.
 *
 * What a receipt printer does with the bytes, minus the paper: the printer
 * simulator and the tests use it to see what a citizen would get (text lines
 * with their size, alignment and boldness, the QR payload, the cut) and to
 * answer real-time status queries (DLE EOT n). Input may arrive in pieces of
 * any size; commands outside PROTOCOLS.md §4 are skipped by their known
 * length, or by two bytes when unknown, and nothing is read past the input.
 */
#ifndef HQ_ESCPOS_DECODE_H
#define HQ_ESCPOS_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESCPOS_DEC_MAX_LINES 96
#define ESCPOS_DEC_TEXT_MAX 512
#define ESCPOS_DEC_QR_MAX 2048

enum escpos_dline_kind { ESCPOS_DLINE_TEXT = 0, ESCPOS_DLINE_QR };
enum escpos_cut { ESCPOS_CUT_NONE = 0, ESCPOS_CUT_PARTIAL, ESCPOS_CUT_FULL };

/* One printed line, with the attributes in force at its first character. */
struct escpos_dline {
    uint8_t kind;  /* enum escpos_dline_kind */
    uint8_t align; /* 0 left, 1 centre, 2 right */
    uint8_t w, h;  /* character size 1..8 */
    bool bold;
    uint8_t qr_module; /* QR lines: module size in dots */
    bool overflow;     /* wider than the paper: the printer would have wrapped it */
    uint16_t columns;  /* width in size-1 columns (a Chinese character is 2, times w) */
    char text[ESCPOS_DEC_TEXT_MAX]; /* UTF-8; for a QR line its payload */
};

struct escpos_dticket {
    struct escpos_dline lines[ESCPOS_DEC_MAX_LINES];
    size_t n_lines;
    bool truncated;                 /* more lines or longer text than the fields hold */
    char qr[ESCPOS_DEC_QR_MAX + 1]; /* payload of the last QR printed, "" if none */
    size_t qr_len;
    char qr_ec;      /* 'L', 'M', 'Q', 'H' or 0 */
    int qr_model;    /* 1 or 2, 0 if never set */
    int feed_lines;  /* blank lines fed (LF on an empty line, ESC d n) */
    int cut;         /* enum escpos_cut */
    bool chinese;    /* Chinese mode was on when text was printed */
    bool non_gb;     /* bytes >= 0x80 printed outside Chinese mode (shown as '?') */
    int unknown;     /* commands skipped as unknown */
    int initialised; /* ESC @ count */
};

struct escpos_decoder;

/* Called when a ticket is cut (or on escpos_decoder_finish with pending content). */
typedef void (*escpos_ticket_cb)(const struct escpos_dticket *t, void *arg);
/* Called for every real-time status request DLE EOT n, in stream order. */
typedef void (*escpos_status_cb)(int n, void *arg);

/* width_dots: paper width for the overflow check (0 = do not check).
 * Returns NULL if out of memory or without GB18030 in iconv. */
struct escpos_decoder *escpos_decoder_new(int width_dots, escpos_ticket_cb on_ticket,
                                          escpos_status_cb on_status, void *arg);
void escpos_decoder_free(struct escpos_decoder *d);

/* Feed the next bytes of the stream. Returns HQ_OK or HQ_ERR_NOMEM. */
int escpos_decoder_feed(struct escpos_decoder *d, const void *buf, size_t len);

/* End of stream (connection closed): a ticket with content but no cut is
 * delivered as it is; an incomplete trailing command is dropped. */
void escpos_decoder_finish(struct escpos_decoder *d);

/* Bytes held back waiting for the rest of a command (tests). */
size_t escpos_decoder_pending(const struct escpos_decoder *d);

/* Decode a whole buffer; the first ticket goes into *out (zeroed first).
 * Returns the number of tickets found (cut or trailing). */
int escpos_decode_buffer(const void *buf, size_t len, int width_dots, struct escpos_dticket *out);

#endif
