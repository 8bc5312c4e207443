/*
 * ledbar.h — the window LED bar (窗口屏, PROTOCOLS.md §3): "A012 请到3号窗口" above a window.
 *
 *   A0 90 | ADDR | CMD | LEN_H LEN_L | DATA... | X      X = XOR of ADDR .. last DATA byte
 *   CMD A5 show now, A2 store idle text, A1 show idle text (LEN 0); ADDR FF broadcast.
 *   DATA = cells: ASCII char + colour, or GB18030 two-byte char + colour.
 *
 * The bar knows no Unicode: text is converted from UTF-8 cell by cell with iconv, and a
 * character it cannot show (no GB18030 code, or a four-byte one) becomes '?' rather than a
 * broken cell that would shift every following character.
 */
#ifndef HQ_LEDBAR_H
#define HQ_LEDBAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hq.h"

#define LEDBAR_BROADCAST 0xFF
#define LEDBAR_MAX_DATA 1024
#define LEDBAR_FRAME_MAX (LEDBAR_MAX_DATA + 7)
#define LEDBAR_ACK 0xAA
#define LEDBAR_ACK_MS 300

enum { LEDBAR_CMD_SHOW = 0xA5, LEDBAR_CMD_STORE_IDLE = 0xA2, LEDBAR_CMD_SHOW_IDLE = 0xA1 };
enum ledbar_color { LEDBAR_RED = 0, LEDBAR_GREEN = 1, LEDBAR_YELLOW = 2 };

/* Colour name ("red"), or NULL for an unknown colour byte; and from a name, -1 if unknown. */
const char *ledbar_color_name(int color);
int ledbar_color_from_name(const char *name);

/* UTF-8 text → cells of one colour. Returns HQ_OK, or HQ_ERR_LIMIT if the cells do not fit in
 * cap (nothing useful is written then). *replaced counts characters sent as '?'. */
int ledbar_cells_from_utf8(const char *utf8, uint8_t color, uint8_t *out, size_t cap,
                           size_t *out_len, unsigned *replaced);
/* Cells → UTF-8 text; *color is the colour of the cells, or -2 when they differ (-1 if none).
 * HQ_ERR_PROTO if the cells are malformed. */
int ledbar_cells_to_utf8(const uint8_t *cells, size_t n, char *out, size_t cap, int *color);

/* Whole frame of cmd with data; returns its length, 0 if it does not fit. */
size_t ledbar_encode(uint8_t addr, uint8_t cmd, const uint8_t *data, size_t n, uint8_t *out,
                     size_t cap);
/* Show text now (A5) / store it as the idle text (A2), in one colour. */
int ledbar_make_text(uint8_t addr, uint8_t cmd, const char *utf8, uint8_t color, uint8_t *out,
                     size_t cap, size_t *out_len);
/* Show the idle text (A1). */
size_t ledbar_make_show_idle(uint8_t addr, uint8_t *out, size_t cap);

/* Expand "{ticket} 请到{window}号窗口" with {ticket}, {window}, {name} (NULL = empty); other
 * text is copied, "{{" gives "{". HQ_ERR_LIMIT if out is too small, HQ_ERR_CONFIG for an
 * unknown placeholder. */
int ledbar_template_expand(const char *tpl, const char *ticket, const char *window,
                           const char *name, char *out, size_t cap);

/* ---------------------------------------------------------------- lexer */
/* Used by the bar's side (simulator) to read what the host sends. */

struct ledbar_frame {
    uint8_t addr, cmd;
    uint16_t n;
    uint8_t data[LEDBAR_MAX_DATA];
};

typedef void (*ledbar_frame_cb)(const struct ledbar_frame *f, void *arg);

struct ledbar_lexer {
    uint8_t buf[LEDBAR_FRAME_MAX];
    size_t len;
    uint32_t frames, bad_checksum, bad_length, garbage;
};

void ledbar_lexer_init(struct ledbar_lexer *lx);
void ledbar_lexer_reset(struct ledbar_lexer *lx);
void ledbar_lexer_feed(struct ledbar_lexer *lx, const uint8_t *data, size_t n, ledbar_frame_cb cb,
                       void *arg);

/* ---------------------------------------------------------- acknowledgement */

enum ledbar_ack_state { LEDBAR_ACK_IDLE = 0, LEDBAR_ACK_WAITING, LEDBAR_ACK_OK, LEDBAR_ACK_FAILED };

struct ledbar_ack {
    uint8_t state; /* enum ledbar_ack_state */
    uint64_t deadline_ms;
    uint32_t acks, timeouts, stray;
};

/* A frame was written at now_ms to a bar that acknowledges: wait for AA. */
void ledbar_ack_expect(struct ledbar_ack *a, uint64_t now_ms);
/* Bytes read from the bus; returns the state after them (OK once AA arrived in time). Other
 * bytes, and AA when nothing is awaited, count as stray. */
int ledbar_ack_input(struct ledbar_ack *a, const uint8_t *data, size_t n, uint64_t now_ms);
/* Run the timer: WAITING turns FAILED at the deadline (a failed write). Returns the state. */
int ledbar_ack_poll(struct ledbar_ack *a, uint64_t now_ms);

#endif
