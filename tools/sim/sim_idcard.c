/*
 * sim_idcard.c — `hallq-sim idcard`: a SAM ID-card reader (PROTOCOLS.md §1) on a pty or TCP.
 * It answers find/select/read like a reader with a card on it, from a card file (a whole
 * `read text + photo` answer, as in tests/data/idcard) or a generated card, and can misbehave
 * on command: garbage before its answers, bad checksums, truncated answers, silence, or gone
 * entirely (the pty and its symlink vanish, as an unplugged USB reader does).
 *
 * Commands: place FILE | generate SPEC | remove | readfail N |
 *           fault garbage|badsum|truncate|silence|off|none
 * (truncate cuts the read answers to their first 700 bytes; the short answers stay whole;
 * readfail answers the next N reads with SW3 41 读卡操作失败, as a card not lying flat does)
 * SPEC: NAME,BIRTH[,ID[,TYPE]]  e.g. 王秀英,19480312  (TYPE resident|J|I|Y; ID computed if omitted)
 * A Y card is laid out as the 2023 card is (docs/DESIGN.md "ID cards"): NAME is its Chinese
 * name, the number is 9 + 11 + 840 + BIRTH + 001 + its GB 11643 check character.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idcard.h"
#include "sim.h"

struct idsim {
    struct idcard_lexer lx;
    bool card;
    uint8_t text[IDCARD_TEXT_LEN];
    uint8_t file[IDCARD_FRAME_MAX]; /* the answer to 30 01 exactly as loaded */
    size_t file_len;
    bool have_text; /* text[] is valid (the file was long enough to hold it) */
    int read_fail;  /* answer this many more reads with SW3 41 */
};

/* Put UTF-8 s into the text block as UCS-2LE at off, padded with spaces to nbytes. */
static void put_field(uint8_t *text, size_t off, size_t nbytes, const char *s)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && o + 2 <= nbytes) {
        unsigned c;
        if (p[0] < 0x80)
            c = *p++;
        else if ((p[0] & 0xE0) == 0xC0 && p[1])
            c = (p[0] & 0x1Fu) << 6 | (p[1] & 0x3F), p += 2;
        else if ((p[0] & 0xF0) == 0xE0 && p[1] && p[2])
            c = (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3F), p += 3;
        else
            c = '?', p++;
        text[off + o] = (uint8_t)c;
        text[off + o + 1] = (uint8_t)(c >> 8);
        o += 2;
    }
    for (; o + 2 <= nbytes; o += 2)
        text[off + o] = ' ', text[off + o + 1] = 0;
}

static size_t build_read_answer(const uint8_t *text, bool fp, uint8_t *out, size_t cap)
{
    static uint8_t body[IDCARD_READ_FP_FRAME_LEN];
    size_t o = 0;
    body[o++] = 0, body[o++] = 0, body[o++] = IDCARD_SW_OK;
    body[o++] = 0x01, body[o++] = 0x00; /* text 256 */
    body[o++] = 0x04, body[o++] = 0x00; /* photo 1024 */
    if (fp) body[o++] = 0x04, body[o++] = 0x00;
    memcpy(body + o, text, IDCARD_TEXT_LEN);
    o += IDCARD_TEXT_LEN;
    /* The photo is WLT that nobody may decode here: any bytes do. */
    for (int i = 0; i < IDCARD_PHOTO_LEN; i++)
        body[o++] = (uint8_t)(i * 7);
    if (fp)
        for (int i = 0; i < IDCARD_FP_LEN; i++)
            body[o++] = (uint8_t)(i * 13);
    return idcard_frame_build(body, o, out, cap);
}

static int generate(struct idsim *d, char *spec)
{
    char *f[4] = {0};
    int n = 0;
    for (char *w; (w = strsep(&spec, ",")) && n < 4;) /* strsep: "name,birth,,I" keeps the gap */
        f[n++] = w;
    if (n < 2 || strlen(f[1]) != 8) return -2;
    const char *type = n >= 4 ? f[3] : "resident";
    bool y2023 = strcmp(type, "Y") == 0;
    bool foreign = strcmp(type, "I") == 0;
    char id[40];
    if (n >= 3 && f[2][0]) {
        snprintf(id, sizeof id, "%s", f[2]);
    } else if (foreign) {
        snprintf(id, sizeof id, "USA44%s01", f[1]);
    } else {
        snprintf(id, sizeof id, "%s%s%s",
                 y2023                    ? "911840"
                 : strcmp(type, "J") == 0 ? "810000"
                                          : "110101",
                 f[1], y2023 ? "001" : "002");
        id[17] = idcard_gb11643_check_char(id);
        id[18] = 0;
    }
    uint8_t *t = d->text;
    put_field(t, 0, 256, "");
    if (y2023) {
        /* 外国人永久居留身份证 (2023): its own layout, not the I one */
        put_field(t, 0, 30, f[0]);                             /* 中文姓名 */
        put_field(t, 30, 2, "1");                              /* 性别 */
        put_field(t, 32, 4, "00");                             /* 换证次数 */
        put_field(t, 36, 16, f[1]);                            /* 出生日期 */
        put_field(t, 52, 70, "SIMULATED, PERMANENT RESIDENT"); /* 英文姓名 1-35 */
        put_field(t, 122, 36, id);                             /* 证件号码 */
        put_field(t, 188, 16, "20240101");                     /* 签发日期 */
        put_field(t, 204, 16, "20340101");                     /* 有效期截止 */
        put_field(t, 220, 22, "");                             /* 英文姓名 36-46 */
        put_field(t, 242, 6, "USA");                           /* 国籍 */
        put_field(t, 248, 2, "Y");
    } else if (!foreign) {
        put_field(t, 0, 30, f[0]);
        put_field(t, 30, 2, "1");
        put_field(t, 32, 4, strcmp(type, "J") == 0 ? "" : "01");
        put_field(t, 36, 16, f[1]);
        put_field(t, 52, 70, "模拟省模拟市示例路1号");
        put_field(t, 122, 36, id);
        put_field(t, 158, 30, "模拟市公安局");
        put_field(t, 188, 16, "20200101");
        put_field(t, 204, 16, "20400101");
        if (strcmp(type, "J") == 0) {
            put_field(t, 220, 18, "H00000000");
            put_field(t, 238, 4, "01");
            put_field(t, 248, 2, "J");
        }
    } else {
        put_field(t, 0, 120, "SIMULATED, CARD");
        put_field(t, 120, 2, "1");
        put_field(t, 122, 30, id);
        put_field(t, 152, 6, "USA");
        put_field(t, 158, 30, f[0]);
        put_field(t, 188, 16, "20200101");
        put_field(t, 204, 16, "20300101");
        put_field(t, 220, 16, f[1]);
        put_field(t, 236, 4, "01");
        put_field(t, 240, 8, "1100");
        put_field(t, 248, 2, type);
    }
    d->file_len = build_read_answer(t, false, d->file, sizeof d->file);
    d->have_text = true;
    d->card = true;
    return 0;
}

static int place(struct sim *s, struct idsim *d, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sim_record(s, "error cannot read %s: %s", path, strerror(errno));
        return 0;
    }
    d->file_len = fread(d->file, 1, sizeof d->file, f);
    fclose(f);
    d->have_text = d->file_len >= 14 + IDCARD_TEXT_LEN;
    if (d->have_text) memcpy(d->text, d->file + 14, IDCARD_TEXT_LEN);
    d->card = true;
    return 0;
}

/* Send an answer through the fault mode: CHK is the last byte; truncate cuts the long read
 * answers only, as when a USB transfer stalls. */
static void reply(struct sim *s, uint8_t *frame, size_t len)
{
    sim_reply(s, frame, len, len - 1, len > 700 ? 700 : len);
}

static void answer_sw(struct sim *s, uint8_t sw3, const uint8_t *data, size_t n)
{
    uint8_t body[64], frame[80];
    body[0] = 0, body[1] = 0, body[2] = sw3;
    if (n)
        memcpy(body + 3, data, n); /* data is NULL for a bare status: memcpy(.., NULL, 0) is UB */
    size_t len = idcard_frame_build(body, 3 + n, frame, sizeof frame);
    reply(s, frame, len);
}

struct rx {
    struct sim *s;
    struct idsim *d;
};

static void on_frame(uint8_t *frame, size_t len, void *arg)
{
    struct rx *rx = arg;
    struct sim *s = rx->s;
    struct idsim *d = rx->d;
    static const char *const names[IDCARD_CMD__COUNT] = {
        "reset-sam", "sam-status", "read-sam-id", "find-card", "select-card", "read", "read-fp"};
    static const uint8_t zeros[8] = {0};
    static const uint8_t sam_id[16] = {0x05, 0x01, 0x20, 0x24, 0x11, 0x23, 0,    0,
                                       0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0};
    int cmd = len == IDCARD_CMD_FRAME_LEN ? idcard_cmd_from_bytes(frame[7], frame[8]) : -1;
    const char *q = sim_fault_note(s);
    switch (cmd) {
    case IDCARD_CMD_RESET_SAM:
    case IDCARD_CMD_SAM_STATUS:
        sim_record(s, "%s 90%s", names[cmd], q);
        answer_sw(s, IDCARD_SW_OK, NULL, 0);
        break;
    case IDCARD_CMD_READ_SAM_ID:
        sim_record(s, "%s 90%s", names[cmd], q);
        answer_sw(s, IDCARD_SW_OK, sam_id, sizeof sam_id);
        break;
    case IDCARD_CMD_FIND_CARD:
        sim_record(s, "%s %s%s", names[cmd], d->card ? "9F" : "80", q);
        answer_sw(s, d->card ? IDCARD_SW_CARD_PRESENT : IDCARD_SW_NO_CARD, zeros, 4);
        break;
    case IDCARD_CMD_SELECT_CARD:
        sim_record(s, "%s %s%s", names[cmd], d->card ? "90" : "81", q);
        answer_sw(s, d->card ? IDCARD_SW_OK : IDCARD_SW_SELECT_FAILED, zeros, 8);
        break;
    case IDCARD_CMD_READ_TEXT_PHOTO:
    case IDCARD_CMD_READ_TEXT_PHOTO_FP: {
        if (!d->card || (cmd == IDCARD_CMD_READ_TEXT_PHOTO_FP && !d->have_text)) {
            sim_record(s, "%s 41%s", names[cmd], q);
            answer_sw(s, 0x41, NULL, 0);
            break;
        }
        if (d->read_fail > 0) {
            d->read_fail--;
            sim_record(s, "%s 41 (readfail)%s", names[cmd], q);
            answer_sw(s, 0x41, NULL, 0);
            break;
        }
        static uint8_t out[IDCARD_FRAME_MAX];
        size_t n;
        if (cmd == IDCARD_CMD_READ_TEXT_PHOTO) {
            memcpy(out, d->file, d->file_len); /* the file as it is, even a broken one */
            n = d->file_len;
        } else {
            n = build_read_answer(d->text, true, out, sizeof out);
        }
        sim_record(s, "%s 90 %zu bytes%s", names[cmd], n, q);
        reply(s, out, n);
        break;
    }
    default: {
        char h[64];
        sim_hex(frame + 7, len - 8 > 8 ? 8 : len - 8, h, sizeof h);
        sim_record(s, "unknown-command %s", h);
        answer_sw(s, 0x21, NULL, 0);
        break;
    }
    }
}

static void on_bytes(struct sim *s, const uint8_t *b, size_t n)
{
    struct idsim *d = s->priv;
    struct rx rx = {s, d};
    uint32_t bad = d->lx.bad_checksum;
    idcard_lexer_feed(&d->lx, b, n, on_frame, &rx);
    if (d->lx.bad_checksum != bad) {
        sim_record(s, "bad-checksum");
        answer_sw(s, 0x10, NULL, 0); /* §1: 10 = checksum error in request */
    }
}

static int on_command(struct sim *s, int argc, char **argv)
{
    struct idsim *d = s->priv;
    if (strcmp(argv[0], "place") == 0) {
        if (argc != 2) return -2;
        place(s, d, argv[1]);
        sim_record(s, "card placed %s", argv[1]);
        return 0;
    }
    if (strcmp(argv[0], "generate") == 0) {
        if (argc != 2) return -2;
        if (generate(d, argv[1])) return -2;
        sim_record(s, "card placed generated");
        return 0;
    }
    if (strcmp(argv[0], "readfail") == 0) {
        if (argc != 2) return -2;
        d->read_fail = atoi(argv[1]);
        sim_record(s, "readfail %d", d->read_fail);
        return 0;
    }
    if (strcmp(argv[0], "remove") == 0) {
        d->card = false;
        sim_record(s, "card removed");
        return 0;
    }
    return -1;
}

static void on_fault(struct sim *s)
{
    struct idsim *d = s->priv;
    idcard_lexer_reset(&d->lx);
}

/* Noise with a broken preamble in it: the host must resynchronise on the real one. */
static const uint8_t idcard_garbage[] = {0x55, 0xAA, 0x00, 0xAA, 0xAA, 0x96, 0x13};

static const struct sim_device idcard_device = {.name = "idcard",
                                                .on_bytes = on_bytes,
                                                .on_command = on_command,
                                                .on_fault = on_fault,
                                                .garbage = idcard_garbage,
                                                .n_garbage = sizeof idcard_garbage};

static void usage(FILE *f)
{
    fprintf(f, "usage: hallq-sim idcard (--pty LINK | --tcp PORT) [--card FILE | --generate SPEC]\n"
               "  --card FILE      a card on the reader: FILE is a whole 'read text+photo' answer\n"
               "  --generate SPEC  a generated card: "
               "NAME,BIRTH[,ID[,resident|J|I|Y]]\n" SIM_COMMON_USAGE
               "commands: place FILE | generate SPEC | remove | readfail N |\n" SIM_FAULT_USAGE
               "          link off|on | quit\n");
}

int sim_idcard_main(int argc, char **argv)
{
    static struct idsim d;
    static struct sim s;
    idcard_lexer_init(&d.lx);
    sim_init(&s, &idcard_device, &d);
    static const struct option opts[] = {SIM_COMMON_OPTIONS,
                                         {"card", required_argument, 0, 'c'},
                                         {"generate", required_argument, 0, 'g'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *card = NULL;
    char *gen = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = sim_common_option(&s, c, optarg);
        if (r == 1) continue;
        if (r < 0) return usage(stderr), 2;
        switch (c) {
        case 'c':
            card = optarg;
            break;
        case 'g':
            gen = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (card) place(&s, &d, card);
    if (gen && generate(&d, gen)) {
        fprintf(stderr, "hallq-sim idcard: bad --generate '%s'\n", gen);
        return 2;
    }
    return sim_run(&s);
}
