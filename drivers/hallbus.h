/*
 * hallbus.h — the hall bus (PROTOCOLS.md §2): clerk call keypads (呼叫器) and rating pads
 * (评价器) sharing one RS-485 line, in the FF 68 frame family of common Chinese hardware.
 *
 *   FF 68 | L | L | 68 | ADDR | FUNC | DATA... | CS | 16
 *   L = 2 + number of DATA bytes (sent twice); CS = (ADDR + FUNC + ΣDATA) mod 256
 *
 * Keypad keys are decoded into struct hallbus_key; the host echoes each key frame and must not
 * act twice on a keypad's resend (hallbus_repeat_*). Rating pads send FUNC 11 level.
 */
#ifndef HQ_HALLBUS_H
#define HQ_HALLBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hq.h"

#define HALLBUS_MAX_DATA 32
#define HALLBUS_FRAME_MAX (HALLBUS_MAX_DATA + 9)
#define HALLBUS_BROADCAST 0xFF
#define HALLBUS_REPEAT_MS 2000

enum {
    HALLBUS_FUNC_KEY = 0x01,     /* keypad → host key; host → pad invite/ack */
    HALLBUS_FUNC_DISPLAY = 0x02, /* host → keypad display; host → pad stars */
    HALLBUS_FUNC_BEEP = 0x03,    /* host → keypad */
    HALLBUS_FUNC_RATING = 0x11,  /* pad → host */
};

struct hallbus_frame {
    uint8_t addr, func, n;
    uint8_t data[HALLBUS_MAX_DATA];
};

/* ------------------------------------------------------------------- lexer */

typedef void (*hallbus_frame_cb)(const struct hallbus_frame *f, void *arg);

struct hallbus_lexer {
    uint8_t buf[HALLBUS_FRAME_MAX];
    size_t len;
    uint32_t frames;
    uint32_t bad_length;   /* L outside 2..34, or the two L bytes differ */
    uint32_t bad_header;   /* third start byte is not 68 */
    uint32_t bad_checksum; /* CS mismatch */
    uint32_t bad_end;      /* the end byte is not 16 */
    uint32_t garbage;      /* bytes skipped looking for FF 68 */
};

void hallbus_lexer_init(struct hallbus_lexer *lx);
/* Drop a partial frame (after a silence on the bus). Counters are kept. */
void hallbus_lexer_reset(struct hallbus_lexer *lx);
/* Feed received bytes (any split); calls cb for every good frame. */
void hallbus_lexer_feed(struct hallbus_lexer *lx, const uint8_t *data, size_t n,
                        hallbus_frame_cb cb, void *arg);

/* Encode f; returns the frame length, 0 if f->n > HALLBUS_MAX_DATA or cap is too small. */
size_t hallbus_encode(const struct hallbus_frame *f, uint8_t *out, size_t cap);

/* ------------------------------------------------------------------ keys */

enum hallbus_action {
    HALLBUS_CALL_NEXT = 0,       /* 0C */
    HALLBUS_CALL_NUMBER,         /* d… 0C: digits/number */
    HALLBUS_RECALL,              /* 0D */
    HALLBUS_START,               /* 0A */
    HALLBUS_FINISH,              /* 0B */
    HALLBUS_PAUSE_TOGGLE,        /* 12 */
    HALLBUS_TRANSFER,            /* 13 */
    HALLBUS_TRANSFER_TO_SERVICE, /* d… 13: number = service number */
    HALLBUS_NO_SHOW,             /* 06 0F */
    HALLBUS_PARK,                /* 00 0F */
    HALLBUS_CALL_BACK,           /* 03 0F */
    HALLBUS_HELP,                /* 07 0F */
    HALLBUS_LOGOUT,              /* 09 0F */
    HALLBUS_LOGIN,               /* d d (d…) 0F: staff_id */
    HALLBUS_ACTION__COUNT
};

struct hallbus_key {
    uint8_t addr;
    uint8_t action;                  /* enum hallbus_action */
    uint8_t n_digits;                /* digits typed before the key */
    char digits[HALLBUS_MAX_DATA];   /* as ASCII: "012" */
    uint32_t number;                 /* digits as a number: 12 */
    char staff_id[HALLBUS_MAX_DATA]; /* for LOGIN: "1234" */
};

/* Decode a keypad frame (any FUNC but 11). HQ_ERR_INVALID when it is not a key of the §2 table
 * (a rating frame, a non-digit before the key, digits before a key that takes none). */
int hallbus_key_decode(const struct hallbus_frame *f, struct hallbus_key *k);
/* English name of an action ("call_next"), and its Chinese label (叫号). */
const char *hallbus_action_name(int action);
const char *hallbus_action_name_zh(int action);

/* ------------------------------------------------------------- repeats */

/* A keypad that gets no echo resends after 500 ms, up to 3 times: the same ADDR and DATA within
 * 2 s of an echoed frame is a repeat. One slot per address. */
struct hallbus_repeat {
    struct {
        bool used;
        uint8_t n;
        uint8_t data[HALLBUS_MAX_DATA];
        uint64_t echoed_ms;
    } slot[256];
};

void hallbus_repeat_init(struct hallbus_repeat *r);
/* Call when a frame from a device is echoed/acknowledged at now_ms. Returns true if it repeats
 * the previous frame of that address (do not act on it again); either way the echo time is
 * remembered, since the device saw this echo too. */
bool hallbus_repeat_check(struct hallbus_repeat *r, const struct hallbus_frame *f, uint64_t now_ms);

/* ------------------------------------------------------------ host frames */

/* Keypad display: waiting count (0..999, <0 blanks it) and current ticket (its digits are
 * shown right-aligned, last 3 if longer; NULL or no digits blanks it). Returns the frame length. */
size_t hallbus_make_display(uint8_t addr, int waiting, const char *ticket, uint8_t *out,
                            size_t cap);
size_t hallbus_make_beep(uint8_t addr, uint8_t *out, size_t cap);
/* Rating pad: invite the citizen to rate (FUNC 01 0B). */
size_t hallbus_make_invite(uint8_t addr, uint8_t *out, size_t cap);
/* Rating pad: acknowledge the raw key value the pad sent (FUNC 01 level). */
size_t hallbus_make_rating_ack(uint8_t addr, uint8_t raw, uint8_t *out, size_t cap);
/* Rating pad: show n stars on the idle screen (FUNC 02 n). */
size_t hallbus_make_stars(uint8_t addr, uint8_t n, uint8_t *out, size_t cap);

/* Raw key value of a rating frame (FUNC 11, one DATA byte); HQ_ERR_INVALID otherwise. */
int hallbus_rating_decode(const struct hallbus_frame *f, uint8_t *raw);

/* --------------------------------------------------------- pad mapping */

/* Maps a pad's raw key value to hallq's level 1..5 (5 = 非常满意). */
struct hallbus_padmap {
    uint8_t level[256]; /* 0 = key not mapped: ignored, never a default rating */
};

/* Five-key pad: raw 1..5 is the level. */
void hallbus_padmap_five(struct hallbus_padmap *m);
/* Four-key pad default: 4 非常满意→5, 3 满意→4, 2 基本满意→3, 1 不满意→2. */
void hallbus_padmap_four(struct hallbus_padmap *m);
/* From configuration text "raw=level,raw=level,...", e.g. "1=1,2=3,3=4,4=5" (raw 0..255,
 * level 1..5). HQ_ERR_CONFIG if malformed; the map is unchanged then. */
int hallbus_padmap_parse(struct hallbus_padmap *m, const char *spec);
/* Level for a raw key value, 0 if unmapped. */
int hallbus_padmap_level(const struct hallbus_padmap *m, uint8_t raw);
/* The level's name: 非常满意 … 非常不满意, and English. */
const char *hallbus_level_name_zh(int level);
const char *hallbus_level_name_en(int level);

#endif
