/*
 * escpos.h — the queue ticket as ESC/POS bytes (PROTOCOLS.md §4).
 *
 * A hall describes its ticket with a layout template (a short list of lines
 * with {placeholders}, alignment, size and bold, plus qr / feed / cut lines),
 * given as JSON in the configuration, so changing the ticket needs no new
 * firmware. The renderer fills the template from plain values, converts the
 * text to GB18030 (Chinese mode), wraps it at the paper's column width and
 * emits exactly the §4 command subset. It does no I/O.
 */
#ifndef HQ_ESCPOS_H
#define HQ_ESCPOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define ESCPOS_MAX_LINES 32
#define ESCPOS_TEXT_MAX 192 /* template text of one line, UTF-8 bytes */
#define ESCPOS_DOTS_58 384  /* 58 mm paper: 32 half-width columns of 12 dots */
#define ESCPOS_DOTS_80 576  /* 80 mm paper: 48 columns */
#define ESCPOS_FONT_DOTS 12 /* width of a half-width character at size 1 */

enum escpos_align { ESCPOS_ALIGN_LEFT = 0, ESCPOS_ALIGN_CENTER = 1, ESCPOS_ALIGN_RIGHT = 2 };

enum escpos_line_kind {
    ESCPOS_LINE_TEXT = 0,
    ESCPOS_LINE_QR,   /* the ticket's QR payload */
    ESCPOS_LINE_FEED, /* feed n lines */
    ESCPOS_LINE_CUT,  /* partial cut */
};

struct escpos_line {
    uint8_t kind;  /* enum escpos_line_kind */
    uint8_t align; /* enum escpos_align */
    uint8_t w, h;  /* character size 1..8; w = 0: "fit", the largest size <= max that fits */
    uint8_t max;   /* largest size for "fit" */
    bool bold;
    uint8_t feed; /* lines to feed (FEED) */
    char text[ESCPOS_TEXT_MAX];
};

struct escpos_template {
    struct escpos_line lines[ESCPOS_MAX_LINES];
    size_t n;
};

/* The values printed on one ticket. Strings are UTF-8; NULL counts as "". */
struct escpos_ticket {
    const char *hall_name;       /* {hall} */
    const char *hall_name_en;    /* {hall_en} */
    const char *service_name;    /* {service} */
    const char *service_name_en; /* {service_en} */
    const char *label;           /* {label}: "A012" */
    int ahead;                   /* {ahead}: people before this ticket, -1 unknown */
    int wait_min;                /* {wait}, {wait_en}: estimated minutes, -1 unknown */
    const char *issued_at;       /* {issued}: "2026-03-02 09:31" */
    const char *priority;        /* {priority}: 老年人优先, or "" */
    const char *name_masked;     /* {name}: 王**, or "" */
    const char *qr_url;          /* payload of the qr line: the ticket's status URL */
    const char *notice;          /* {notice} */
    bool no_show_requeue; /* {no_show}: the hall's rule for a missed call (queue.no_show_requeue) */
    bool reprint;         /* {reprint} prints 补打 / REPRINT */
};

struct escpos_opts {
    int width_dots;          /* ESCPOS_DOTS_58 or ESCPOS_DOTS_80 (any multiple of 12 works) */
    const char *replacement; /* printed for a character the printer cannot print; NULL = "?" */
};

/* A growable byte buffer for the rendered ticket. */
struct escpos_buf {
    uint8_t *data;
    size_t len, cap;
};
void escpos_buf_free(struct escpos_buf *b);

/* The built-in ticket layout, as JSON text (what escpos_template_default parses). */
extern const char escpos_default_template_json[];

/* Fill tpl with the built-in layout. Returns HQ_OK. */
int escpos_template_default(struct escpos_template *tpl);

/* Parse a layout from a JSON array of lines: {"text", "align", "size", "max", "bold"},
 * "qr", "cut", {"feed": n}. On error returns HQ_ERR_CONFIG and writes one line
 * such as "$[2].size: must be \"WxH\" with 1..8 or \"fit\"" into err. */
int escpos_template_parse_json(const cJSON *json, struct escpos_template *tpl, char *err,
                               size_t errlen);

/* Render ticket t with template tpl into out (appended). Returns HQ_OK,
 * HQ_ERR_INVALID (bad width), HQ_ERR_NOMEM or HQ_ERR_IO (no GB18030 in iconv). */
int escpos_render(const struct escpos_template *tpl, const struct escpos_ticket *t,
                  const struct escpos_opts *opt, struct escpos_buf *out);

/* Convert UTF-8 text to printable GB18030: each character becomes 1 or 2
 * bytes; a character needing 4 bytes, a control character, a private-use one
 * or broken UTF-8 becomes `replacement` (NULL = "?"). Appends to out. */
int escpos_text_to_gb18030(const char *utf8, const char *replacement, struct escpos_buf *out);

/* Display columns of a GB18030 string as printed: 1 per single byte, 2 per
 * two-byte character. */
size_t escpos_gb_columns(const uint8_t *gb, size_t len);

/* QR module size (dots per module) that keeps a payload of `len` bytes at EC
 * level M within about half (80 mm) or 55 % (58 mm) of the paper width. */
int escpos_qr_module_size(size_t len, int width_dots);

#endif
