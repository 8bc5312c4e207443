/*
 * idcard.c — SAM ID-card reader protocol (PROTOCOLS.md §1): byte lexer, command frames, status
 * codes, the text-block parser that reduces a card to what hallq may keep, and the I/O-free
 * reader state machine (find → select → read, once per placement, timeouts, offline).
 *
 *   AA AA AA 96 69 | LEN_H LEN_L | CMD PARA / SW1 SW2 SW3 | DATA ... | CHK
 *   \_ preamble _/   \__ LEN counts from here to CHK included __________/
 *                    \__ CHK = XOR of these bytes, CHK excluded _____/
 */
#include "idcard.h"

#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>
#include <openssl/hmac.h>

#include "lexbuf.h"

const uint8_t idcard_preamble[IDCARD_PREAMBLE_LEN] = {0xAA, 0xAA, 0xAA, 0x96, 0x69};

/* ------------------------------------------------------------------- lexer */

void idcard_lexer_init(struct idcard_lexer *lx)
{
    memset(lx, 0, sizeof *lx);
}

/* The card reader's buffer is wiped as bytes leave it: they may be part of a card's text. */
void idcard_lexer_reset(struct idcard_lexer *lx)
{
    hq_lexbuf_reset(&HQ_LEXBUF(lx, true));
}

static void idcard__drop(struct idcard_lexer *lx, size_t n)
{
    hq_lexbuf_drop(&HQ_LEXBUF(lx, true), n);
}

/* Skip to the first position that is a whole preamble or a prefix of one at the buffer end. */
static void idcard__sync(struct idcard_lexer *lx)
{
    hq_lexbuf_sync(&HQ_LEXBUF(lx, true), idcard_preamble, IDCARD_PREAMBLE_LEN);
}

uint8_t idcard_frame_checksum(const uint8_t *frame, size_t len)
{
    uint8_t x = 0;
    for (size_t i = IDCARD_PREAMBLE_LEN; i + 1 < len; i++)
        x ^= frame[i];
    return x;
}

/* Deliver every complete frame in the buffer; leaves a partial frame (or prefix) behind. */
static void idcard__scan(struct idcard_lexer *lx, idcard_frame_cb cb, void *arg)
{
    for (;;) {
        idcard__sync(lx);
        if (lx->len < IDCARD_HEADER_LEN) return;
        size_t flen = (((size_t)lx->buf[5] << 8) | lx->buf[6]) + IDCARD_HEADER_LEN;
        if (flen < IDCARD_HEADER_LEN + 3 || flen > IDCARD_FRAME_MAX) {
            /* Not a real header: the preamble bytes were data. Resync one byte further. */
            lx->bad_length++;
            idcard__drop(lx, 1);
            continue;
        }
        if (lx->len < flen) return;
        if (idcard_frame_checksum(lx->buf, flen) != lx->buf[flen - 1]) {
            /* A bad frame may hide the start of a good one (a truncated frame followed by the
             * next): resync from the byte after this preamble, not after the whole frame. */
            lx->bad_checksum++;
            idcard__drop(lx, 1);
            continue;
        }
        lx->frames++;
        if (cb) cb(lx->buf, flen, arg);
        idcard__drop(lx, flen);
    }
}

struct idcard__feed {
    struct idcard_lexer *lx;
    idcard_frame_cb cb;
    void *arg;
};

static void idcard__scan_cb(void *ctx)
{
    struct idcard__feed *f = ctx;
    idcard__scan(f->lx, f->cb, f->arg);
}

void idcard_lexer_feed(struct idcard_lexer *lx, const uint8_t *data, size_t n, idcard_frame_cb cb,
                       void *arg)
{
    struct idcard__feed f = {lx, cb, arg};
    hq_lexbuf_feed(&HQ_LEXBUF(lx, true), data, n, idcard__scan_cb, &f);
}

/* ---------------------------------------------------------------- frames */

static const uint8_t idcard_cmds[IDCARD_CMD__COUNT][2] = {
    [IDCARD_CMD_RESET_SAM] = {0x10, 0xFF},          [IDCARD_CMD_SAM_STATUS] = {0x11, 0xFF},
    [IDCARD_CMD_READ_SAM_ID] = {0x12, 0xFF},        [IDCARD_CMD_FIND_CARD] = {0x20, 0x01},
    [IDCARD_CMD_SELECT_CARD] = {0x20, 0x02},        [IDCARD_CMD_READ_TEXT_PHOTO] = {0x30, 0x01},
    [IDCARD_CMD_READ_TEXT_PHOTO_FP] = {0x30, 0x10},
};

void idcard_cmd_bytes(enum idcard_cmd cmd, uint8_t *cmd_byte, uint8_t *para)
{
    *cmd_byte = idcard_cmds[cmd][0];
    *para = idcard_cmds[cmd][1];
}

int idcard_cmd_from_bytes(uint8_t cmd_byte, uint8_t para)
{
    for (int i = 0; i < IDCARD_CMD__COUNT; i++)
        if (idcard_cmds[i][0] == cmd_byte && idcard_cmds[i][1] == para) return i;
    return -1;
}

size_t idcard_frame_build(const uint8_t *body, size_t body_len, uint8_t *out, size_t cap)
{
    size_t flen = IDCARD_HEADER_LEN + body_len + 1;
    if (flen > cap || body_len + 1 > 0xFFFF) return 0;
    memcpy(out, idcard_preamble, IDCARD_PREAMBLE_LEN);
    out[5] = (uint8_t)((body_len + 1) >> 8);
    out[6] = (uint8_t)(body_len + 1);
    memmove(out + IDCARD_HEADER_LEN, body, body_len);
    out[flen - 1] = idcard_frame_checksum(out, flen);
    return flen;
}

size_t idcard_build_command(enum idcard_cmd cmd, uint8_t out[IDCARD_CMD_FRAME_LEN])
{
    if ((unsigned)cmd >= IDCARD_CMD__COUNT) return 0;
    return idcard_frame_build(idcard_cmds[cmd], 2, out, IDCARD_CMD_FRAME_LEN);
}

int idcard_response_decode(const uint8_t *frame, size_t len, struct idcard_response *r)
{
    if (len < IDCARD_HEADER_LEN + 4) return HQ_ERR_PROTO;
    if (frame[7] != 0 || frame[8] != 0) return HQ_ERR_PROTO;
    r->sw1 = frame[7];
    r->sw2 = frame[8];
    r->sw3 = frame[9];
    r->data = frame + 10;
    r->data_len = len - 11;
    return HQ_OK;
}

static const struct {
    uint8_t sw3;
    const char *zh, *en;
} idcard_sw3_table[] = {
    {0x90, "操作成功", "success"},
    {0x9F, "找到卡", "card present"},
    {0x91, "卡中此项无内容", "field empty on this card"},
    {0x80, "未找到卡", "no card"},
    {0x81, "选卡失败", "select card failed"},
    {0x10, "接收业务终端数据的校验和错", "checksum error in request"},
    {0x11, "接收业务终端数据的长度错", "length error in request"},
    {0x21, "接收业务终端的命令错误", "command error"},
    {0x23, "越权操作", "unauthorised operation"},
    {0x24, "无法识别的错误", "unknown error"},
    {0x31, "卡认证机具失败", "card failed to authenticate SAM"},
    {0x32, "机具认证卡失败", "SAM failed to authenticate card"},
    {0x33, "信息验证错误", "information verification error"},
    {0x40, "无法识别的卡类型", "unknown card type"},
    {0x41, "读卡操作失败", "read card failed"},
    {0x47, "取随机数失败", "random number failed"},
    {0x60, "SAM 自检失败", "SAM self-test failed"},
    {0x66, "SAM 未经授权", "SAM not authorised"},
};

static int idcard__sw3_index(uint8_t sw3)
{
    for (size_t i = 0; i < HQ_ARRAY_LEN(idcard_sw3_table); i++)
        if (idcard_sw3_table[i].sw3 == sw3) return (int)i;
    return -1;
}

bool idcard_sw3_known(uint8_t sw3)
{
    return idcard__sw3_index(sw3) >= 0;
}

const char *idcard_sw3_text_zh(uint8_t sw3)
{
    int i = idcard__sw3_index(sw3);
    return i < 0 ? "未知状态" : idcard_sw3_table[i].zh;
}

const char *idcard_sw3_text_en(uint8_t sw3)
{
    int i = idcard__sw3_index(sw3);
    return i < 0 ? "unknown status" : idcard_sw3_table[i].en;
}

/* ------------------------------------------------------------- identity */

const char *idcard_type_name(int type)
{
    static const char *const names[IDCARD_TYPE__COUNT] = {
        "resident", "hk_mo_tw_permit", "foreigner_permanent", "foreigner_permanent_2023"};
    return type >= 0 && type < IDCARD_TYPE__COUNT ? names[type] : "unknown";
}

const char *idcard_type_name_zh(int type)
{
    static const char *const names[IDCARD_TYPE__COUNT] = {
        "居民身份证", "港澳台居民居住证", "外国人永久居留身份证", "外国人永久居留身份证(2023版)"};
    return type >= 0 && type < IDCARD_TYPE__COUNT ? names[type] : "未知证件";
}

char idcard_gb11643_check_char(const char *d)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        if (d[i] < '0' || d[i] > '9') return 0;
        sum += (d[i] - '0') * w[i];
    }
    return "10X98765432"[sum % 11];
}

bool idcard_gb11643_valid(const char *id)
{
    if (strlen(id) != 18) return false;
    char c = idcard_gb11643_check_char(id);
    return c && c == id[17];
}

/* Length of the UTF-8 sequence starting at s, 0 if it is not valid UTF-8. */
static size_t idcard__utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80) return 1;
    size_t n = (s[0] & 0xE0) == 0xC0   ? 2
               : (s[0] & 0xF0) == 0xE0 ? 3
               : (s[0] & 0xF8) == 0xF0 ? 4
                                       : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return n;
}

int idcard_mask_name(const char *name, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t first = *s ? idcard__utf8_len(s) : 0;
    if (!first) return HQ_ERR_INVALID;
    if (first + 1 > cap) return HQ_ERR_LIMIT;
    memcpy(out, s, first);
    size_t o = first;
    for (s += first; *s;) {
        size_t k = idcard__utf8_len(s);
        if (!k) return HQ_ERR_INVALID;
        if (o + 2 > cap) return HQ_ERR_LIMIT;
        out[o++] = '*';
        s += k;
    }
    out[o] = 0;
    return HQ_OK;
}

/* One field of the text block: UCS-2LE → UTF-8, space padding trimmed. HQ_ERR_PROTO for a
 * surrogate (not UCS-2) or a control character, HQ_ERR_LIMIT if out is too small. */
static int idcard__field(const uint8_t *text, size_t off, size_t nbytes, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i + 1 < nbytes; i += 2) {
        unsigned c = text[off + i] | (unsigned)text[off + i + 1] << 8;
        if (c == 0) c = ' '; /* some readers pad with NUL */
        if ((c >= 0xD800 && c <= 0xDFFF) || c < 0x20 || c == 0x7F) return HQ_ERR_PROTO;
        if (o + 4 > cap) return HQ_ERR_LIMIT;
        if (c < 0x80) {
            out[o++] = (char)c;
        } else if (c < 0x800) {
            out[o++] = (char)(0xC0 | c >> 6);
            out[o++] = (char)(0x80 | (c & 0x3F));
        } else {
            out[o++] = (char)(0xE0 | c >> 12);
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = 0;
    size_t lead = 0;
    while (out[lead] == ' ')
        lead++;
    if (lead) memmove(out, out + lead, o - lead + 1);
    return HQ_OK;
}

/* YYYYMMDD with a real calendar date → 19480312; 0 if not. */
static int32_t idcard__date(const char *s)
{
    if (strlen(s) != 8) return 0;
    for (int i = 0; i < 8; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[4] - '0') * 10 + (s[5] - '0');
    int d = (s[6] - '0') * 10 + (s[7] - '0');
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1850 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return 0;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 0;
    return y * 10000 + m * 100 + d;
}

static const char *const idcard_fault_zh[IDCARD_FAULT__COUNT] = {
    [IDCARD_FAULT_NONE] = "无",
    [IDCARD_FAULT_STATUS] = "读卡器报告读卡失败",
    [IDCARD_FAULT_TIMEOUT] = "读卡器未在时限内答完",
    [IDCARD_FAULT_FRAME] = "读卡应答的长度不对",
    [IDCARD_FAULT_TEXT] = "证件文字不是 UCS-2 文本",
    [IDCARD_FAULT_NUMBER] = "证件号码的长度或字符不对",
    [IDCARD_FAULT_CHECK_CHAR] = "证件号码校验位不对 (GB 11643)",
    [IDCARD_FAULT_BIRTH_MATCH] = "出生日期与证件号码不符",
    [IDCARD_FAULT_BIRTH_DATE] = "出生日期不是有效日期",
    [IDCARD_FAULT_NAME] = "没有可用的姓名",
    [IDCARD_FAULT_INTERNAL] = "无法计算证件号码摘要",
};
static const char *const idcard_fault_en[IDCARD_FAULT__COUNT] = {
    [IDCARD_FAULT_NONE] = "none",
    [IDCARD_FAULT_STATUS] = "the reader reported a failed read",
    [IDCARD_FAULT_TIMEOUT] = "the reader did not finish its answer in time",
    [IDCARD_FAULT_FRAME] = "the read answer has wrong block lengths",
    [IDCARD_FAULT_TEXT] = "a field of the card text is not UCS-2",
    [IDCARD_FAULT_NUMBER] = "the card number has a wrong length or character",
    [IDCARD_FAULT_CHECK_CHAR] = "the card number's check character is wrong (GB 11643)",
    [IDCARD_FAULT_BIRTH_MATCH] = "the birth date and the card number disagree",
    [IDCARD_FAULT_BIRTH_DATE] = "the birth date is not a date",
    [IDCARD_FAULT_NAME] = "no usable name on the card",
    [IDCARD_FAULT_INTERNAL] = "the ID hash could not be computed",
};

const char *idcard_fault_text_zh(int fault)
{
    return fault >= 0 && fault < IDCARD_FAULT__COUNT ? idcard_fault_zh[fault] : "未知原因";
}

const char *idcard_fault_text_en(int fault)
{
    return fault >= 0 && fault < IDCARD_FAULT__COUNT ? idcard_fault_en[fault] : "unknown reason";
}

/* Text block offsets in bytes. Resident and J: PROTOCOLS.md §1. I (2017) and Y (2023): public
 * reader SDK code, see docs/DESIGN.md "ID cards" for the sources and the cross-check. */
enum {
    IDC_OFF_NAME = 0,
    IDC_LEN_NAME = 30,
    IDC_OFF_BIRTH = 36,
    IDC_LEN_BIRTH = 16,
    IDC_OFF_ID = 122,
    IDC_LEN_ID = 36,
    IDC_OFF_TYPE = 248,
    IDC_I_OFF_EN_NAME = 0,
    IDC_I_LEN_EN_NAME = 120,
    IDC_I_OFF_ID = 122,
    IDC_I_LEN_ID = 30,
    IDC_I_OFF_CN_NAME = 158,
    IDC_I_LEN_CN_NAME = 30,
    IDC_I_OFF_BIRTH = 220,
    IDC_I_LEN_BIRTH = 16,
    /* Y (外国人永久居留身份证 2023): 0 中文姓名 30 | 30 性别 2 | 32 换证次数 4 | 36 出生日期 16 |
     * 52 英文姓名 1-35 70 | 122 证件号码 36 | 158 预留 30 | 188 签发日期 16 | 204 终止日期 16 |
     * 220 英文姓名 36-46 22 | 242 国籍代码 6 | 248 'Y' 2 | 250 既往证件关联项 6 */
    IDC_Y_OFF_CN_NAME = 0,
    IDC_Y_LEN_CN_NAME = 30,
    IDC_Y_OFF_BIRTH = 36,
    IDC_Y_LEN_BIRTH = 16,
    IDC_Y_OFF_EN_NAME = 52,
    IDC_Y_LEN_EN_NAME = 70,
    IDC_Y_OFF_ID = 122,
    IDC_Y_LEN_ID = 36,
    IDC_Y_OFF_EN_NAME2 = 220,
    IDC_Y_LEN_EN_NAME2 = 22,
};

/* idcard__field, with its failure named. */
static int idcard__field_f(const uint8_t *text, size_t off, size_t nbytes, char *out, size_t cap,
                           enum idcard_fault *f)
{
    int rc = idcard__field(text, off, nbytes, out, cap);
    if (rc) *f = IDCARD_FAULT_TEXT;
    return rc ? HQ_ERR_PROTO : HQ_OK;
}

/* An 18-character number (resident, J, Y): GB 11643. */
static int idcard__check18(const char *id, enum idcard_fault *f)
{
    if (strlen(id) != 18 || !idcard_gb11643_check_char(id)) {
        *f = IDCARD_FAULT_NUMBER;
        return HQ_ERR_PROTO;
    }
    if (!idcard_gb11643_valid(id)) {
        *f = IDCARD_FAULT_CHECK_CHAR;
        return HQ_ERR_PROTO;
    }
    return HQ_OK;
}

int idcard_parse_text(const uint8_t text[IDCARD_TEXT_LEN], const uint8_t *key, size_t key_len,
                      struct idcard_identity *out, enum idcard_fault *fault)
{
    return idcard_parse_text_sealed(text, key, key_len, NULL, out, fault);
}

int idcard_parse_text_sealed(const uint8_t text[IDCARD_TEXT_LEN], const uint8_t *key,
                             size_t key_len, const uint8_t *seal_pk, struct idcard_identity *out,
                             enum idcard_fault *fault)
{
    /* Every buffer that ever holds card data is wiped on the way out (the fail path too). */
    char name[4 * 60 + 1], cname[4 * 15 + 1], birth[4 * 8 + 1], id[4 * 18 + 1];
    uint8_t en[IDC_Y_LEN_EN_NAME + IDC_Y_LEN_EN_NAME2];
    enum idcard_fault f = IDCARD_FAULT_NONE, dummy;
    if (!fault) fault = &dummy;
    int rc = HQ_ERR_PROTO;
    memset(out, 0, sizeof *out);
    unsigned tc = text[IDC_OFF_TYPE] | (unsigned)text[IDC_OFF_TYPE + 1] << 8;
    out->type = tc == 'J'   ? IDCARD_TYPE_PERMIT_J
                : tc == 'I' ? IDCARD_TYPE_FOREIGNER_I
                : tc == 'Y' ? IDCARD_TYPE_FOREIGNER_Y
                            : IDCARD_TYPE_RESIDENT;
    cname[0] = 0;
    if (out->type == IDCARD_TYPE_RESIDENT || out->type == IDCARD_TYPE_PERMIT_J) {
        if ((rc = idcard__field_f(text, IDC_OFF_NAME, IDC_LEN_NAME, name, sizeof name, &f)))
            goto fail;
        if ((rc = idcard__field_f(text, IDC_OFF_BIRTH, IDC_LEN_BIRTH, birth, sizeof birth, &f)))
            goto fail;
        if ((rc = idcard__field_f(text, IDC_OFF_ID, IDC_LEN_ID, id, sizeof id, &f))) goto fail;
        if ((rc = idcard__check18(id, &f))) goto fail;
        /* The number embeds the birth date; a mismatch means a misread block. */
        rc = HQ_ERR_PROTO;
        if (strlen(birth) != 8 || memcmp(id + 6, birth, 8) != 0) {
            f = IDCARD_FAULT_BIRTH_MATCH;
            goto fail;
        }
    } else if (out->type == IDCARD_TYPE_FOREIGNER_Y) {
        /* The English name is split over two fields (characters 1-35 and 36-46): joined raw,
         * as both SDKs do, before the padding is trimmed. */
        memcpy(en, text + IDC_Y_OFF_EN_NAME, IDC_Y_LEN_EN_NAME);
        memcpy(en + IDC_Y_LEN_EN_NAME, text + IDC_Y_OFF_EN_NAME2, IDC_Y_LEN_EN_NAME2);
        if ((rc = idcard__field_f(en, 0, sizeof en, name, sizeof name, &f))) goto fail;
        if ((rc = idcard__field_f(text, IDC_Y_OFF_CN_NAME, IDC_Y_LEN_CN_NAME, cname, sizeof cname,
                                  &f)))
            goto fail;
        if ((rc = idcard__field_f(text, IDC_Y_OFF_BIRTH, IDC_Y_LEN_BIRTH, birth, sizeof birth, &f)))
            goto fail;
        if ((rc = idcard__field_f(text, IDC_Y_OFF_ID, IDC_Y_LEN_ID, id, sizeof id, &f))) goto fail;
        if ((rc = idcard__check18(id, &f))) goto fail;
    } else {
        if ((rc = idcard__field_f(text, IDC_I_OFF_EN_NAME, IDC_I_LEN_EN_NAME, name, sizeof name,
                                  &f)))
            goto fail;
        if ((rc = idcard__field_f(text, IDC_I_OFF_CN_NAME, IDC_I_LEN_CN_NAME, cname, sizeof cname,
                                  &f)))
            goto fail;
        if ((rc = idcard__field_f(text, IDC_I_OFF_BIRTH, IDC_I_LEN_BIRTH, birth, sizeof birth, &f)))
            goto fail;
        if ((rc = idcard__field_f(text, IDC_I_OFF_ID, IDC_I_LEN_ID, id, sizeof id, &f))) goto fail;
        rc = HQ_ERR_PROTO;
        f = IDCARD_FAULT_NUMBER;
        if (!id[0]) goto fail;
        for (const char *p = id; *p; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z'))) goto fail;
    }
    rc = HQ_ERR_PROTO;
    out->birth_ymd = idcard__date(birth);
    if (!out->birth_ymd) {
        f = IDCARD_FAULT_BIRTH_DATE;
        goto fail;
    }
    if ((rc = idcard_mask_name(cname[0] ? cname : name, out->name_masked,
                               sizeof out->name_masked))) {
        f = IDCARD_FAULT_NAME;
        goto fail;
    }
    unsigned int hlen = 0;
    if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)id, strlen(id), out->id_hash,
              &hlen) ||
        hlen != sizeof out->id_hash) {
        rc = HQ_ERR_INVALID;
        f = IDCARD_FAULT_INTERNAL;
        goto fail;
    }
    /* The provincial platform's record may need the number itself: sealed here, the only
     * place it is in clear, to the platform's public key (crypto_box_seal), so nothing on
     * the box can open it again (docs/DESIGN.md "The evaluator's ID number"). */
    if (seal_pk) {
        size_t idlen = strlen(id);
        if (idlen > IDCARD_ID_MAX || sodium_init() < 0 ||
            crypto_box_seal(out->id_sealed, (const unsigned char *)id, idlen, seal_pk) != 0) {
            rc = HQ_ERR_INVALID;
            f = IDCARD_FAULT_INTERNAL;
            goto fail;
        }
        out->id_sealed_len = (uint8_t)(idlen + crypto_box_SEALBYTES);
    }
    rc = HQ_OK;
    f = IDCARD_FAULT_NONE;
fail:
    explicit_bzero(name, sizeof name);
    explicit_bzero(cname, sizeof cname);
    explicit_bzero(birth, sizeof birth);
    explicit_bzero(id, sizeof id);
    explicit_bzero(en, sizeof en);
    if (rc) explicit_bzero(out, sizeof *out);
    *fault = f;
    return rc;
}

int idcard_typed_identity(const char *typed, const uint8_t *key, size_t key_len,
                          struct idcard_identity *out, enum idcard_fault *fault)
{
    /* Wiped on every way out: it holds the whole number. */
    char id[19], birth[9];
    enum idcard_fault f = IDCARD_FAULT_NUMBER, dummy;
    if (!fault) fault = &dummy;
    int rc = HQ_ERR_INVALID;
    size_t n = 0;
    memset(out, 0, sizeof *out);
    for (const char *p = typed ? typed : ""; *p; p++) {
        if (*p == ' ') continue;
        if (n >= 18) goto fail;
        id[n++] = *p == 'x' ? 'X' : *p;
    }
    id[n] = 0;
    if (idcard__check18(id, &f)) goto fail;
    memcpy(birth, id + 6, 8);
    birth[8] = 0;
    out->birth_ymd = idcard__date(birth);
    if (!out->birth_ymd) {
        f = IDCARD_FAULT_BIRTH_DATE;
        goto fail;
    }
    unsigned int hlen = 0;
    if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)id, strlen(id), out->id_hash,
              &hlen) ||
        hlen != sizeof out->id_hash) {
        f = IDCARD_FAULT_INTERNAL;
        goto fail;
    }
    out->type = IDCARD_TYPE_RESIDENT;
    rc = HQ_OK;
    f = IDCARD_FAULT_NONE;
fail:
    explicit_bzero(id, sizeof id);
    explicit_bzero(birth, sizeof birth);
    if (rc) explicit_bzero(out, sizeof *out);
    *fault = f;
    return rc;
}

int idcard_parse_read_response(const uint8_t *frame, size_t len, const uint8_t *key, size_t key_len,
                               struct idcard_identity *out, enum idcard_fault *fault)
{
    return idcard_parse_read_response_sealed(frame, len, key, key_len, NULL, out, fault);
}

int idcard_parse_read_response_sealed(const uint8_t *frame, size_t len, const uint8_t *key,
                                      size_t key_len, const uint8_t *seal_pk,
                                      struct idcard_identity *out, enum idcard_fault *fault)
{
    struct idcard_response r;
    enum idcard_fault dummy;
    if (!fault) fault = &dummy;
    *fault = IDCARD_FAULT_FRAME;
    int rc = idcard_response_decode(frame, len, &r);
    if (rc) return rc;
    if (r.sw3 != IDCARD_SW_OK) {
        *fault = IDCARD_FAULT_STATUS;
        return HQ_ERR_PROTO;
    }
    /* DATA: text length, photo length, [fingerprint length], text, photo, [fingerprint] */
    if (r.data_len < 4) return HQ_ERR_PROTO;
    size_t tlen = (size_t)r.data[0] << 8 | r.data[1];
    size_t plen = (size_t)r.data[2] << 8 | r.data[3];
    size_t toff = 4, flen = 0;
    if (r.data_len != 4 + tlen + plen) { /* the 30 10 layout: a fingerprint length follows */
        if (r.data_len < 6) return HQ_ERR_PROTO;
        flen = (size_t)r.data[4] << 8 | r.data[5];
        toff = 6;
    }
    if (tlen != IDCARD_TEXT_LEN || r.data_len != toff + tlen + plen + flen) return HQ_ERR_PROTO;
    return idcard_parse_text_sealed(r.data + toff, key, key_len, seal_pk, out, fault);
}

/* ------------------------------------------------------ reader machine */

void idcard_reader_init(struct idcard_reader *r, const uint8_t *key, size_t key_len,
                        bool fingerprint, uint64_t now_ms)
{
    memset(r, 0, sizeof *r);
    idcard_lexer_init(&r->lx);
    if (key_len > sizeof r->key) key_len = sizeof r->key;
    memcpy(r->key, key, key_len);
    r->key_len = key_len;
    r->fingerprint = fingerprint;
    r->next_poll_ms = now_ms;
    r->last_rx_ms = now_ms;
}

void idcard_reader_set_seal_key(struct idcard_reader *r, const uint8_t pk[32])
{
    r->seal = pk != NULL;
    if (pk) memcpy(r->seal_pk, pk, sizeof r->seal_pk);
}

void idcard_reader_free(struct idcard_reader *r)
{
    explicit_bzero(r, sizeof *r);
}

static void idcard__event(struct idcard_reader *r, const struct idcard_event *ev)
{
    if (r->ev_count == IDCARD_EVQ) { /* full: the oldest is dropped, the newest matters more */
        r->ev_head = (r->ev_head + 1) % IDCARD_EVQ;
        r->ev_count--;
    }
    r->evq[(r->ev_head + r->ev_count) % IDCARD_EVQ] = *ev;
    r->ev_count++;
}

static void idcard__simple_event(struct idcard_reader *r, uint8_t type, int err, uint8_t sw3)
{
    struct idcard_event ev = {.type = type, .err = err, .sw3 = sw3};
    idcard__event(r, &ev);
}

bool idcard_reader_next_event(struct idcard_reader *r, struct idcard_event *ev)
{
    if (!r->ev_count) return false;
    *ev = r->evq[r->ev_head];
    explicit_bzero(&r->evq[r->ev_head], sizeof r->evq[0]);
    r->ev_head = (r->ev_head + 1) % IDCARD_EVQ;
    r->ev_count--;
    return true;
}

/* A read of the current placement failed. While the card stays it is read again, after a
 * back-off that doubles (a card still settling, a SAM busy with its last answer), up to
 * IDCARD_READ_TRIES reads; then the failure is said once for this placement, so the kiosk asks
 * for the card to be placed again instead of waiting on a read that will never come. */
static void idcard__read_failed(struct idcard_reader *r, int err, uint8_t sw3,
                                enum idcard_fault fault, uint64_t now)
{
    r->read_errors++;
    if (r->placement_done) return;
    if (++r->tries < IDCARD_READ_TRIES) {
        uint64_t wait = (uint64_t)IDCARD_RETRY_MS << (r->tries - 1);
        LOG_INFO("IDCARD", "read %u of %d failed (%s%s%s): again in %llu ms", r->tries,
                 IDCARD_READ_TRIES, idcard_fault_text_en(fault), sw3 ? ", SW3 " : "",
                 sw3 ? idcard_sw3_text_en(sw3) : "", (unsigned long long)wait);
        r->pending = 0;
        r->next_poll_ms = now + wait; /* find-card, then select and read again if it is there */
        return;
    }
    r->placement_done = true;
    struct idcard_event ev = {.type = IDCARD_EV_READ_ERROR,
                              .err = err,
                              .sw3 = sw3,
                              .fault = (uint8_t)fault,
                              .tries = r->tries};
    r->tries = 0;
    idcard__event(r, &ev);
}

struct idcard__rx {
    struct idcard_reader *r;
    uint64_t now;
};

static void idcard__on_frame(uint8_t *frame, size_t len, void *arg)
{
    struct idcard__rx *rx = arg;
    struct idcard_reader *r = rx->r;
    struct idcard_response resp;
    r->last_rx_ms = rx->now;
    if (r->link != IDCARD_LINK_ONLINE) {
        r->link = IDCARD_LINK_ONLINE;
        idcard__simple_event(r, IDCARD_EV_ONLINE, HQ_OK, 0);
    }
    int cmd = (int)r->awaiting - 1;
    if (cmd < 0 || idcard_response_decode(frame, len, &resp)) {
        r->unexpected++;
        return;
    }
    r->awaiting = 0;
    switch (cmd) {
    case IDCARD_CMD_FIND_CARD:
        if (resp.sw3 == IDCARD_SW_CARD_PRESENT) {
            if (!r->placement_done) r->pending = IDCARD_CMD_SELECT_CARD + 1;
        } else if (resp.sw3 == IDCARD_SW_NO_CARD) {
            if (r->placement_done) idcard__simple_event(r, IDCARD_EV_REMOVED, HQ_OK, 0);
            r->placement_done = false;
            r->tries = 0; /* the next card starts afresh */
        }
        break;
    case IDCARD_CMD_SELECT_CARD:
        /* A failed select is retried by the next find-card poll (a card still sliding in). */
        if (resp.sw3 == IDCARD_SW_OK)
            r->pending =
                (r->fingerprint ? IDCARD_CMD_READ_TEXT_PHOTO_FP : IDCARD_CMD_READ_TEXT_PHOTO) + 1;
        break;
    case IDCARD_CMD_READ_TEXT_PHOTO:
    case IDCARD_CMD_READ_TEXT_PHOTO_FP: {
        if (resp.sw3 != IDCARD_SW_OK) {
            idcard__read_failed(r, HQ_ERR_PROTO, resp.sw3, IDCARD_FAULT_STATUS, rx->now);
            break;
        }
        struct idcard_event ev = {.type = IDCARD_EV_CARD};
        enum idcard_fault fault = IDCARD_FAULT_NONE;
        int rc = idcard_parse_read_response_sealed(frame, len, r->key, r->key_len,
                                                   r->seal ? r->seal_pk : NULL, &ev.id, &fault);
        if (rc) {
            /* SW3 said success: the text itself is wrong, so no SW3 goes with the fault */
            idcard__read_failed(r, rc, 0, fault, rx->now);
        } else if (!r->placement_done) {
            r->reads++;
            r->tries = 0;
            r->placement_done = true;
            idcard__event(r, &ev);
        }
        explicit_bzero(&ev, sizeof ev);
        break;
    }
    default:
        break;
    }
}

void idcard_reader_input(struct idcard_reader *r, const uint8_t *data, size_t n, uint64_t now_ms)
{
    struct idcard__rx rx = {r, now_ms};
    idcard_lexer_feed(&r->lx, data, n, idcard__on_frame, &rx);
}

size_t idcard_reader_step(struct idcard_reader *r, uint64_t now_ms,
                          uint8_t out[IDCARD_CMD_FRAME_LEN])
{
    if (r->awaiting && now_ms - r->sent_at_ms >= IDCARD_CMD_TIMEOUT_MS) {
        int cmd = r->awaiting - 1;
        r->awaiting = 0;
        r->timeouts++;
        idcard_lexer_reset(&r->lx); /* a truncated answer must never be completed later */
        if (cmd == IDCARD_CMD_READ_TEXT_PHOTO || cmd == IDCARD_CMD_READ_TEXT_PHOTO_FP)
            idcard__read_failed(r, HQ_ERR_TIMEOUT, 0, IDCARD_FAULT_TIMEOUT, now_ms);
    }
    if (r->link != IDCARD_LINK_OFFLINE && now_ms - r->last_rx_ms >= IDCARD_OFFLINE_MS) {
        r->link = IDCARD_LINK_OFFLINE;
        /* Whatever lies on the reader when it comes back is a new placement: it may have been
         * swapped while we could not see it. */
        r->placement_done = false;
        r->tries = 0;
        idcard__simple_event(r, IDCARD_EV_OFFLINE, HQ_ERR_TIMEOUT, 0);
    }
    if (r->awaiting) return 0;
    int cmd = -1;
    if (r->pending) {
        cmd = r->pending - 1;
        r->pending = 0;
    } else if (now_ms >= r->next_poll_ms) {
        cmd = IDCARD_CMD_FIND_CARD;
        r->next_poll_ms = now_ms + IDCARD_POLL_MS;
    }
    if (cmd < 0) return 0;
    r->awaiting = (uint8_t)(cmd + 1);
    r->sent_at_ms = now_ms;
    return idcard_build_command((enum idcard_cmd)cmd, out);
}

uint64_t idcard_reader_wake_ms(const struct idcard_reader *r)
{
    if (r->pending) return 0;
    uint64_t t = r->awaiting ? r->sent_at_ms + IDCARD_CMD_TIMEOUT_MS : r->next_poll_ms;
    if (r->link != IDCARD_LINK_OFFLINE && r->last_rx_ms + IDCARD_OFFLINE_MS < t)
        t = r->last_rx_ms + IDCARD_OFFLINE_MS;
    return t;
}
