/*
 * idcard.h — the resident ID-card reader (SAM module, GA 467 family), PROTOCOLS.md §1.
 *
 * The reader gives name, ID number, birth date, address and photo; hallq may keep only the
 * card type, a keyed hash of the ID number, the birth date and the masked name. So the parse
 * functions here are the privacy boundary: struct idcard_identity is all that leaves them.
 *
 *   request : AA AA AA 96 69 | LEN_H LEN_L | CMD PARA | DATA... | CHK
 *   response: AA AA AA 96 69 | LEN_H LEN_L | SW1 SW2 SW3 | DATA... | CHK
 *   LEN counts every byte after itself (CHK included); CHK = XOR of LEN_H .. byte before CHK.
 *
 * Text layouts (256 bytes of UCS-2LE; the type mark at byte 248 picks the layout): resident
 * cards and J permits share one; the 2017 foreigner card (`I`) has its own; the 2023 foreigner
 * card (`Y`) has a third, taken from public reader SDK code and cross-checked (docs/DESIGN.md,
 * "ID cards"): Chinese name at 0, birth date at 36, English name at 52 (+ its tail at 220), and
 * an 18-character number at 122 with a GB 11643 check character. Resident, J and Y numbers are
 * checked with GB 11643; the 15-character I number carries no check character. The masked name
 * of an I/Y card is made from its Chinese name, or from the English name when that is empty.
 */
#ifndef HQ_IDCARD_H
#define HQ_IDCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hq.h"

#define IDCARD_PREAMBLE_LEN 5
#define IDCARD_HEADER_LEN 7     /* preamble + LEN */
#define IDCARD_FRAME_MAX 4096   /* the largest answer (text+photo+fingerprint) is 2321 */
#define IDCARD_CMD_FRAME_LEN 10 /* every command of §1 is 10 bytes */
#define IDCARD_TEXT_LEN 256
#define IDCARD_PHOTO_LEN 1024
#define IDCARD_FP_LEN 1024
#define IDCARD_READ_FRAME_LEN 1295    /* answer to 30 01 */
#define IDCARD_READ_FP_FRAME_LEN 2321 /* answer to 30 10: 1295 + 2 + 1024 */

extern const uint8_t idcard_preamble[IDCARD_PREAMBLE_LEN];

/* ------------------------------------------------------------------- lexer */

/* Called for each frame whose LEN and CHK are good. The frame is the whole frame (preamble to
 * CHK); the lexer wipes it right after the call, so copy what you need. */
typedef void (*idcard_frame_cb)(uint8_t *frame, size_t len, void *arg);

struct idcard_lexer {
    uint8_t buf[IDCARD_FRAME_MAX];
    size_t len;
    uint32_t frames;       /* good frames delivered */
    uint32_t bad_checksum; /* frames dropped for a wrong CHK */
    uint32_t bad_length;   /* LEN too small or too large */
    uint32_t garbage;      /* bytes skipped while looking for the preamble */
};

void idcard_lexer_init(struct idcard_lexer *lx);
/* Drop (and wipe) a partial frame, e.g. when its command timed out. Counters are kept. */
void idcard_lexer_reset(struct idcard_lexer *lx);
/* Feed received bytes (any split); calls cb for every complete good frame. */
void idcard_lexer_feed(struct idcard_lexer *lx, const uint8_t *data, size_t n, idcard_frame_cb cb,
                       void *arg);

/* ---------------------------------------------------------------- frames */

enum idcard_cmd {
    IDCARD_CMD_RESET_SAM = 0,      /* 10 FF */
    IDCARD_CMD_SAM_STATUS,         /* 11 FF */
    IDCARD_CMD_READ_SAM_ID,        /* 12 FF */
    IDCARD_CMD_FIND_CARD,          /* 20 01 */
    IDCARD_CMD_SELECT_CARD,        /* 20 02 */
    IDCARD_CMD_READ_TEXT_PHOTO,    /* 30 01 */
    IDCARD_CMD_READ_TEXT_PHOTO_FP, /* 30 10 */
    IDCARD_CMD__COUNT
};

/* CMD and PARA bytes of a command. */
void idcard_cmd_bytes(enum idcard_cmd cmd, uint8_t *cmd_byte, uint8_t *para);
/* Command from its CMD PARA bytes; -1 if unknown. */
int idcard_cmd_from_bytes(uint8_t cmd_byte, uint8_t para);
/* Write the complete 10-byte frame of cmd into out; returns its length (10). */
size_t idcard_build_command(enum idcard_cmd cmd, uint8_t out[IDCARD_CMD_FRAME_LEN]);
/* Wrap body (CMD PARA DATA or SW1 SW2 SW3 DATA) into a frame; returns its length, 0 if the
 * frame does not fit in cap. */
size_t idcard_frame_build(const uint8_t *body, size_t body_len, uint8_t *out, size_t cap);
/* XOR check of a frame of len bytes (over LEN_H .. len-2). */
uint8_t idcard_frame_checksum(const uint8_t *frame, size_t len);

struct idcard_response {
    uint8_t sw1, sw2, sw3;
    const uint8_t *data; /* points into the frame */
    size_t data_len;
};

/* Split a response frame into SW and DATA. HQ_ERR_PROTO if it is too short or SW1 SW2 != 00 00. */
int idcard_response_decode(const uint8_t *frame, size_t len, struct idcard_response *r);

/* SW3 status codes (§1). */
enum {
    IDCARD_SW_OK = 0x90,
    IDCARD_SW_CARD_PRESENT = 0x9F,
    IDCARD_SW_FIELD_EMPTY = 0x91,
    IDCARD_SW_NO_CARD = 0x80,
    IDCARD_SW_SELECT_FAILED = 0x81,
};
/* Meaning of an SW3 byte, Chinese and English; "未知状态"/"unknown status" if not in the table. */
const char *idcard_sw3_text_zh(uint8_t sw3);
const char *idcard_sw3_text_en(uint8_t sw3);
/* True when sw3 is in the table of §1. */
bool idcard_sw3_known(uint8_t sw3);

/* ------------------------------------------------------------- identity */

enum idcard_type {
    IDCARD_TYPE_RESIDENT = 0, /* 居民身份证 */
    IDCARD_TYPE_PERMIT_J,     /* 港澳台居民居住证 */
    IDCARD_TYPE_FOREIGNER_I,  /* 外国人永久居留身份证 (2017) */
    IDCARD_TYPE_FOREIGNER_Y,  /* 外国人永久居留身份证 (2023) */
    IDCARD_TYPE__COUNT
};

/* Stable English name of a card type ("resident", "hk_mo_tw_permit", "foreigner_permanent",
 * "foreigner_permanent_2023"), and its Chinese name. */
const char *idcard_type_name(int type);
const char *idcard_type_name_zh(int type);

#define IDCARD_NAME_MASKED_MAX 192

/* Everything hallq keeps from a card read. */
#define IDCARD_ID_MAX 18                       /* characters of the longest ID number */
#define IDCARD_SEALED_MAX (IDCARD_ID_MAX + 48) /* + crypto_box_SEALBYTES */
struct idcard_identity {
    uint8_t type;        /* enum idcard_type */
    uint8_t id_hash[32]; /* HMAC-SHA256(key, ID number as ASCII) */
    /* crypto_box_seal(ID number, the platform's public key) when a key was given: only the
     * provincial platform opens it (0 length: none) */
    uint8_t id_sealed[IDCARD_SEALED_MAX];
    uint8_t id_sealed_len;
    int32_t birth_ymd;                        /* 19480312 */
    char name_masked[IDCARD_NAME_MASKED_MAX]; /* UTF-8: first character, then one '*' each */
};

/* GB 11643: true when id is 17 digits followed by the right check character (0-9 or X). */
bool idcard_gb11643_valid(const char *id);
/* The check character for 17 digits, or 0 if they are not 17 digits. */
char idcard_gb11643_check_char(const char *digits17);

/* Why a card's text could not be taken (logged and shown; never any of the card's data). */
enum idcard_fault {
    IDCARD_FAULT_NONE = 0,
    IDCARD_FAULT_STATUS,      /* the reader answered the read with a failure status (SW3) */
    IDCARD_FAULT_TIMEOUT,     /* no whole answer to the read in time */
    IDCARD_FAULT_FRAME,       /* the answer's block lengths are wrong */
    IDCARD_FAULT_TEXT,        /* a field is not UCS-2 text */
    IDCARD_FAULT_NUMBER,      /* the number has the wrong length or characters */
    IDCARD_FAULT_CHECK_CHAR,  /* the number's GB 11643 check character is wrong */
    IDCARD_FAULT_BIRTH_MATCH, /* birth date and number disagree */
    IDCARD_FAULT_BIRTH_DATE,  /* the birth date is not a date */
    IDCARD_FAULT_NAME,        /* no usable name */
    IDCARD_FAULT_INTERNAL,    /* the ID hash could not be computed */
    IDCARD_FAULT__COUNT
};
const char *idcard_fault_text_zh(int fault);
const char *idcard_fault_text_en(int fault);

/* A number typed in at the guide desk (an 18-character resident / J / Y number): spaces are
 * ignored and a lowercase x counts as X. Checked like a card's number (length and digits, the
 * GB 11643 check character, the embedded birth date is a date), then reduced at once to what a
 * card read keeps: out->id_hash (the same HMAC-SHA256 as a card, so the per-person limit counts
 * both alike), out->birth_ymd and out->type = RESIDENT; no name. Every copy of the number is
 * wiped before return. HQ_ERR_INVALID with *fault = NUMBER, CHECK_CHAR or BIRTH_DATE
 * (INTERNAL when the hash could not be computed); HQ_OK. */
int idcard_typed_identity(const char *typed, const uint8_t *key, size_t key_len,
                          struct idcard_identity *out, enum idcard_fault *fault);

/* Mask a UTF-8 name: first character kept, one '*' per further character. HQ_ERR_INVALID if
 * the name is empty or not UTF-8, HQ_ERR_LIMIT if out is too small. */
int idcard_mask_name(const char *name, char *out, size_t cap);

/* Parse the 256-byte text block into an identity. HQ_ERR_PROTO on any read error (bad UCS-2,
 * missing field, bad date, wrong check character); *fault (if not NULL) says which. The full
 * number, the address and every other field are wiped before return. */
int idcard_parse_text(const uint8_t text[IDCARD_TEXT_LEN], const uint8_t *key, size_t key_len,
                      struct idcard_identity *out, enum idcard_fault *fault);

/* Parse a whole answer to `read text + photo` (30 01) or its fingerprint variant (30 10):
 * checks SW3 = 90 (else HQ_ERR_PROTO), the block lengths, then idcard_parse_text. */
int idcard_parse_read_response(const uint8_t *frame, size_t len, const uint8_t *key, size_t key_len,
                               struct idcard_identity *out, enum idcard_fault *fault);
/* The same, and with seal_pk (32 bytes, X25519) the number sealed to it into id_sealed. */
int idcard_parse_read_response_sealed(const uint8_t *frame, size_t len, const uint8_t *key,
                                      size_t key_len, const uint8_t *seal_pk,
                                      struct idcard_identity *out, enum idcard_fault *fault);
int idcard_parse_text_sealed(const uint8_t text[IDCARD_TEXT_LEN], const uint8_t *key,
                             size_t key_len, const uint8_t *seal_pk, struct idcard_identity *out,
                             enum idcard_fault *fault);

/* ------------------------------------------------------ reader machine */

/* The reader state machine: no I/O, the caller passes time (monotonic ms) and bytes in, and
 * sends what idcard_reader_step() answers. Poll find-card every 400 ms; on 9F select and
 * read; report a card once per placement (until find-card says 80 no card). A read that fails
 * (SW3 41 and the like, a timeout, a text that does not parse) is tried again while the card
 * stays, IDCARD_READ_TRIES reads in all, the n-th retry IDCARD_RETRY_MS << (n-1) after the
 * failure (500 ms, 1 s); only then is the read error reported (the kiosk asks to re-place). */
#define IDCARD_POLL_MS 400
#define IDCARD_CMD_TIMEOUT_MS 1000
#define IDCARD_OFFLINE_MS 3000
#define IDCARD_READ_TRIES 3
#define IDCARD_RETRY_MS 500

enum idcard_event_type {
    IDCARD_EV_CARD = 1,   /* a card was read: ev.id holds the identity */
    IDCARD_EV_REMOVED,    /* the card that was read or failed left the reader */
    IDCARD_EV_READ_ERROR, /* a card is there but could not be read: ev.err, ev.sw3 */
    IDCARD_EV_ONLINE,     /* the reader answers (again) */
    IDCARD_EV_OFFLINE,    /* no answer for IDCARD_OFFLINE_MS */
};

struct idcard_event {
    uint8_t type;
    int err;       /* for READ_ERROR: HQ_ERR_TIMEOUT, HQ_ERR_PROTO */
    uint8_t sw3;   /* for READ_ERROR: the status the reader answered, 0 if none */
    uint8_t fault; /* for READ_ERROR: enum idcard_fault of the last try */
    uint8_t tries; /* for READ_ERROR: reads tried on this placement */
    struct idcard_identity id;
};

enum idcard_link { IDCARD_LINK_UNKNOWN = 0, IDCARD_LINK_ONLINE, IDCARD_LINK_OFFLINE };

#define IDCARD_EVQ 8

struct idcard_reader {
    struct idcard_lexer lx;
    uint8_t key[64];
    size_t key_len;
    bool fingerprint; /* read with 30 10 instead of 30 01 */
    bool seal;        /* seal each card's number to seal_pk (idcard_reader_set_seal_key) */
    uint8_t seal_pk[32];
    uint8_t awaiting;    /* enum idcard_cmd + 1 of the command in flight, 0 = none */
    uint8_t pending;     /* enum idcard_cmd + 1 to send on the next step, 0 = none */
    uint8_t link;        /* enum idcard_link */
    bool placement_done; /* the card on the reader was reported (or its failure was) */
    uint8_t tries;       /* failed reads of the card on the reader so far */
    uint64_t sent_at_ms, next_poll_ms, last_rx_ms;
    uint32_t timeouts, unexpected, reads, read_errors;
    struct idcard_event evq[IDCARD_EVQ];
    unsigned ev_head, ev_count;
};

/* Start a reader at now_ms; key (at most 64 bytes) is the HMAC key of the ID hash. */
void idcard_reader_init(struct idcard_reader *r, const uint8_t *key, size_t key_len,
                        bool fingerprint, uint64_t now_ms);
/* Seal every card's ID number to pk (the provincial platform's public key); NULL: none. */
void idcard_reader_set_seal_key(struct idcard_reader *r, const uint8_t pk[32]);
/* Wipe the key and any buffered bytes. */
void idcard_reader_free(struct idcard_reader *r);
/* Run timers. When a command is due, writes its frame to out and returns its length (the
 * caller sends it now); returns 0 when nothing is due. */
size_t idcard_reader_step(struct idcard_reader *r, uint64_t now_ms,
                          uint8_t out[IDCARD_CMD_FRAME_LEN]);
/* Bytes received from the reader. */
void idcard_reader_input(struct idcard_reader *r, const uint8_t *data, size_t n, uint64_t now_ms);
/* Next event, oldest first; false when there is none. */
bool idcard_reader_next_event(struct idcard_reader *r, struct idcard_event *ev);
/* Absolute time (ms) at which idcard_reader_step must run next (a past time: now). */
uint64_t idcard_reader_wake_ms(const struct idcard_reader *r);

#endif
