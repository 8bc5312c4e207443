/*
 * onbon.h — Onbon (仰邦) BX-5E window and hall LED screens: the "5th generation dynamic area"
 * protocol as Onbon publishes it (github.com/onbonlab/BX-V-VI, bx.dual.Aux.Data/
 * 5th动态区域用户手册.md, v1.5):
 *
 *   A5 ×8 | DstAddr SrcAddr Ver 00 DevType 00000000 DataLen | DATA | CRC16 | 5A
 *           '------------------ 16-byte header (LSB first) -'        '- header + DATA
 *   Between head and tail A5 → A6 02, A6 → A6 01, 5A → 5B 02, 5B → 5B 01; the CRC and the
 *   lengths are over the bytes before escaping. CRC16 = x^16 + x^15 + x^2 + 1, reflected,
 *   initial 0 (the document's table; "CRC-16/ARC").
 *   DATA of a request: RtnReq CmdGroup Cmd ... — ping A2 00, dynamic area A7 00.
 *   DATA of an answer: 00 CmdGroup Cmd Status(2) Error(2) DataLen(2) Data — ACK A0 00,
 *   NACK A0 01 (Status bit 0 set, Error says why).
 *
 * The 5E takes no text: a dynamic area is a dot-matrix bitmap, one bit a pixel, 0 = lit, rows
 * from the top, bit 7 the leftmost pixel; a two-colour screen sends each red byte followed by
 * its green byte. Text is therefore rendered here with FreeType from a bitmap font (the
 * WenQuanYi bitmap song of Debian's xfonts-wqy by default), never by a rasteriser of our own.
 * The same lexer reads the host's frames in hallq-sim and the screen's answers in hallqd.
 */
#ifndef HQ_ONBON_H
#define HQ_ONBON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hq.h"

#define ONBON_HEAD 0xA5
#define ONBON_TAIL 0x5A
#define ONBON_HEAD_REPEAT 8
#define ONBON_HEADER_LEN 16
#define ONBON_SRC_HOST 0x8000 /* "PC 客户端软件默认为0x8000" */
#define ONBON_ADDR_ANY 0xFFFE /* the wildcard screen address of the document's ping */
#define ONBON_TYPE_ANY 0xFFFE /* the wildcard device type of the same frame */
#define ONBON_PROTO_VER 0xF0  /* dynamic area protocol */
/* DATA bounds one frame: a 256 × 64 two-colour area is 4 KiB of bitmap. */
#define ONBON_MAX_DATA 8192
#define ONBON_MAX_W 512
#define ONBON_MAX_H 128
/* Head + every PHY1 byte escaped + tail. */
#define ONBON_FRAME_MAX (ONBON_HEAD_REPEAT + 2 * (ONBON_HEADER_LEN + ONBON_MAX_DATA + 2) + 1)

enum {
    ONBON_GROUP_ACK = 0xA0,  /* answers: Cmd 00 ACK, 01 NACK */
    ONBON_GROUP_SYS = 0xA2,  /* Cmd 00 ping */
    ONBON_GROUP_AREA = 0xA7, /* Cmd 00 update a dynamic area, 01 delete areas */
};
enum { ONBON_COLOR_RED = 1, ONBON_COLOR_GREEN = 2, ONBON_COLOR_YELLOW = 3 }; /* bit0 R, bit1 G */

/* The document's CRC16 over n bytes. */
uint16_t onbon_crc16(const uint8_t *p, size_t n);

/* One packet (PHY1 without the CRC). */
struct onbon_packet {
    uint16_t dst, src, devtype;
    uint8_t ver;
    uint32_t n; /* DataLen */
    const uint8_t *data;
};

/* Whole frame of p; returns its length, 0 if it does not fit in cap or n > ONBON_MAX_DATA. */
size_t onbon_encode(const struct onbon_packet *p, uint8_t *out, size_t cap);
/* Ping (A2 00) to screen dst; dst ONBON_ADDR_ANY gives the document's example frame. */
size_t onbon_make_ping(uint16_t dst, uint8_t *out, size_t cap);

/* A dynamic area: where it sits on the screen and how many colours the screen has. */
struct onbon_area {
    uint8_t id; /* AreaId, 0..3 */
    uint16_t x, y, w, h;
    uint8_t colors; /* 1 single colour, 2 red + green */
};

/* Bytes of one bitmap row as the screen wants it (edge bytes padded when x or x + w are not on
 * a byte boundary), times colours. */
size_t onbon_row_bytes(const struct onbon_area *a);

/* DATA of "update dynamic area" (A7 00) showing one still page: lit is w × h pixels, 1 = lit,
 * rows of (w + 7) / 8 bytes, bit 7 leftmost; color is ONBON_COLOR_*. The area plays alone
 * (ImmePlay 1) and loops its page (RunMode 0) until the next update. HQ_ERR_INVALID for a bad
 * area, HQ_ERR_LIMIT if out is too small. */
int onbon_make_area(const struct onbon_area *a, const uint8_t *lit, uint8_t color, uint8_t *out,
                    size_t cap, size_t *out_len);

/* An area update read back (hallq-sim, tests). lit: w × h, 1 = lit, as onbon_make_area takes
 * it; *color the colours lit anywhere (bit0 red, bit1 green). HQ_ERR_PROTO if the DATA is not a
 * well-formed one-page update for an area of `colors` colours. */
struct onbon_area_update {
    struct onbon_area area;
    uint8_t run_mode, imme_play, display_mode;
    uint16_t pages;
    uint8_t color;
    uint8_t lit[ONBON_MAX_W / 8 * ONBON_MAX_H];
};
int onbon_parse_area(const uint8_t *data, size_t n, uint8_t colors, struct onbon_area_update *u);

/* An answer (ACK A0 00 / NACK A0 01 / any other): HQ_ERR_PROTO if too short. */
struct onbon_answer {
    uint8_t group, cmd;
    uint16_t status, error, n;
};
int onbon_parse_answer(const uint8_t *data, size_t n, struct onbon_answer *a);
/* DATA of an answer to (group, cmd); error 0 gives an ACK, else a NACK. Returns its length. */
size_t onbon_make_answer(uint16_t error, uint8_t *out, size_t cap);

/* ---------------------------------------------------------------- lexer */

struct onbon_frame {
    uint16_t dst, src, devtype;
    uint8_t ver;
    uint32_t n;
    const uint8_t *data; /* n bytes, valid during the callback */
};

typedef void (*onbon_frame_cb)(const struct onbon_frame *f, void *arg);

/* Any A5 starts a frame (the eight are there so that a lost one does no harm); the frame runs
 * to the next 5A. Bytes outside a frame are garbage; a frame whose escapes, lengths or CRC are
 * wrong is dropped and counted. The receive buffer is the shared one of lexbuf.h, holding the
 * frame's raw bytes from its head, so a frame may arrive in any number of reads. */
struct onbon_lexer {
    uint8_t buf[ONBON_HEAD_REPEAT + 2 * (ONBON_HEADER_LEN + ONBON_MAX_DATA + 2) + 1];
    size_t len;
    uint32_t frames, bad_crc, bad_escape, bad_length, garbage;
    onbon_frame_cb cb; /* during onbon_lexer_feed */
    void *arg;
};

void onbon_lexer_init(struct onbon_lexer *lx);
void onbon_lexer_reset(struct onbon_lexer *lx);
void onbon_lexer_feed(struct onbon_lexer *lx, const uint8_t *data, size_t n, onbon_frame_cb cb,
                      void *arg);
/* Frames dropped as bad so far (CRC, escapes, lengths). */
uint32_t onbon_lexer_bad(const struct onbon_lexer *lx);

/* ---------------------------------------------------------------- text */

/* A bitmap font opened with FreeType. */
struct onbon_font;

/* The font for an area h pixels high when none is configured: the largest WenQuanYi bitmap
 * strike that fits (16, 14 or 12 px; 12 px below that). */
const char *onbon_default_font(unsigned h);
/* Open path (PCF, BDF or an outline font) at px pixels (a bitmap font: its strike nearest to px
 * without exceeding it). HQ_ERR_NOT_FOUND if the file is missing, HQ_ERR_CONFIG if FreeType
 * cannot use it, HQ_ERR_NOMEM. */
int onbon_font_open(const char *path, unsigned px, struct onbon_font **out);
void onbon_font_close(struct onbon_font *f);

/* Render UTF-8 text into lit (w × h, 1 = lit, rows of (w + 7) / 8 bytes), centred both ways;
 * a line too wide is cut at the right edge. *missing counts characters the font lacks (drawn
 * as nothing), *clipped the pixel columns cut off. HQ_ERR_INVALID for bad UTF-8. */
int onbon_render(struct onbon_font *f, const char *utf8, unsigned w, unsigned h, uint8_t *lit,
                 unsigned *missing, unsigned *clipped);

#endif
