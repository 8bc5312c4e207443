/*
 * voice.c — calls into clip sequences, WAV clips into PCM (see voice.h for
 * the reading rules). Pure: the daemon reads files and plays the result.
 *
 * A WAV file, as the pack's clips are parsed (little-endian throughout):
 *
 *   0  "RIFF"  u32 size-8  "WAVE"
 *   12 chunk: id[4] u32 len  body[len] (+1 pad byte when len is odd) ...
 *        "fmt "  u16 format (1 PCM, 0xFFFE extensible) u16 channels
 *                u32 rate  u32 bytes/s  u16 block align  u16 bits
 *                [u16 cbSize  u16 valid bits  u32 mask  GUID sub-format]
 *        "data"  samples
 *        anything else (LIST, fact, ...) is skipped
 *
 * A clip a hall records in an editor may carry LIST/INFO chunks or be
 * "extensible"; both are accepted. A chunk that claims more bytes than the
 * file holds is refused rather than clamped: a clip cut short would cut a
 * word short in the middle of the hall.
 */
#include "voice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- sequences */

static int voice__add(struct voice_seq *s, const char *lang, const char *word)
{
    if (s->n >= VOICE_MAX_SEQ) return HQ_ERR_LIMIT;
    if (lang)
        snprintf(s->clip[s->n++], VOICE_CLIP_NAME, "%s/%s", lang, word);
    else
        snprintf(s->clip[s->n++], VOICE_CLIP_NAME, "%s", word);
    return HQ_OK;
}

static int voice__digit(struct voice_seq *s, const char *lang, unsigned d)
{
    char w[4];
    snprintf(w, sizeof w, "%u", d);
    return voice__add(s, lang, w);
}

/* 1..999 the Chinese way: 十 alone for 10..19, 零 for a missing tens digit
 * inside a hundred (105 一百零五), 一十 after a hundred (110 一百一十). */
int voice_number_zh(unsigned n, struct voice_seq *s)
{
    int rc;
    if (n > VOICE_MAX_WINDOW) return HQ_ERR_INVALID;
    if (n < 10) return voice__digit(s, "zh", n);
    unsigned h = n / 100, t = n / 10 % 10, u = n % 10;
    if (h) {
        if ((rc = voice__digit(s, "zh", h)) || (rc = voice__add(s, "zh", "bai"))) return rc;
        if (!t && !u) return HQ_OK;
        if (!t) {
            if ((rc = voice__digit(s, "zh", 0))) return rc;
            return voice__digit(s, "zh", u);
        }
    }
    if (t > 1 || h) /* 十二 but 二十, 一百一十 */
        if ((rc = voice__digit(s, "zh", t))) return rc;
    if ((rc = voice__add(s, "zh", "shi"))) return rc;
    return u ? voice__digit(s, "zh", u) : HQ_OK;
}

/* 0..999 as English cardinals: clips for 0..19, the tens and "hundred". */
int voice_number_en(unsigned n, struct voice_seq *s)
{
    int rc;
    if (n > VOICE_MAX_WINDOW) return HQ_ERR_INVALID;
    unsigned h = n / 100, r = n % 100;
    if (h) {
        if ((rc = voice__digit(s, "en", h)) || (rc = voice__add(s, "en", "hundred"))) return rc;
        if (!r) return HQ_OK;
    }
    if (r < 20) return voice__digit(s, "en", r);
    if ((rc = voice__digit(s, "en", r / 10 * 10))) return rc;
    return r % 10 ? voice__digit(s, "en", r % 10) : HQ_OK;
}

/* The label as printed, one clip per character. */
static int voice__label(struct voice_seq *s, const char *lang, const char *label)
{
    for (const char *p = label; *p; p++) {
        char c = *p;
        if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
        char w[2] = {c, 0};
        int rc;
        if (c >= '0' && c <= '9')
            rc = voice__digit(s, lang, (unsigned)(c - '0'));
        else
            rc = voice__add(s, lang, w);
        if (rc) return rc;
    }
    return HQ_OK;
}

static bool voice__label_ok(const char *label)
{
    if (!label || !*label || strlen(label) > 15) return false;
    for (const char *p = label; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

int voice_call_seq(const struct voice_call *c, struct voice_seq *s)
{
    int rc = HQ_OK;
    s->n = 0;
    if (!voice__label_ok(c->label) || c->window < 1 || c->window > VOICE_MAX_WINDOW ||
        !(c->langs & (VOICE_LANG_ZH | VOICE_LANG_EN)))
        return HQ_ERR_INVALID;
    if (c->langs & VOICE_LANG_ZH) {
        /* 请 A012 号 到 3 号窗口 办理 */
        if ((rc = voice__add(s, "zh", "qing")) || (rc = voice__label(s, "zh", c->label)) ||
            (rc = voice__add(s, "zh", "hao")) || (rc = voice__add(s, "zh", "dao")) ||
            (rc = voice_number_zh(c->window, s)) || (rc = voice__add(s, "zh", "hao")) ||
            (rc = voice__add(s, "zh", "chuangkou")) || (rc = voice__add(s, "zh", "banli")))
            return rc;
    }
    if (c->langs & VOICE_LANG_EN) {
        /* Number A 0 1 2, please go to window 3 */
        if (s->n && (rc = voice__add(s, NULL, VOICE_BREAK))) return rc;
        if ((rc = voice__add(s, "en", "number")) || (rc = voice__label(s, "en", c->label)) ||
            (rc = voice__add(s, "en", "please_go_to")) || (rc = voice__add(s, "en", "window")) ||
            (rc = voice_number_en(c->window, s)))
            return rc;
    }
    return rc;
}

const char *voice_seq_str(const struct voice_seq *s, char *buf, size_t len)
{
    size_t o = 0;
    if (!len) return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < s->n && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? " " : "", s->clip[i]);
    return buf;
}

static const char *const voice_zh_words[] = {"qing",  "hao", "dao", "chuangkou",
                                             "banli", "shi", "bai", NULL};
static const char *const voice_en_words[] = {"number", "please_go_to", "window", "hundred", NULL};
static const char *const voice_letters[] = {"A", "B", "C", "D", "E", "F", "G", "H", "I",
                                            "J", "K", "L", "M", "N", "O", "P", "Q", "R",
                                            "S", "T", "U", "V", "W", "X", "Y", "Z", NULL};
static const char *const voice_zh_numbers[] = {"0", "1", "2", "3", "4", "5",
                                               "6", "7", "8", "9", NULL};
static const char *const voice_en_numbers[] = {
    "0",  "1",  "2",  "3",  "4",  "5",  "6",  "7",  "8",  "9",  "10", "11", "12", "13", "14",
    "15", "16", "17", "18", "19", "20", "30", "40", "50", "60", "70", "80", "90", NULL};

size_t voice_pack_names(unsigned langs, const char **names, size_t max)
{
    /* Names are built into a static table once: the pack names never change. */
    static char zh[64][VOICE_CLIP_NAME], en[64][VOICE_CLIP_NAME];
    static size_t nzh, nen;
    if (!nzh) {
        const char *const *zl[] = {voice_zh_words, voice_zh_numbers, voice_letters};
        const char *const *el[] = {voice_en_words, voice_en_numbers, voice_letters};
        for (size_t l = 0; l < 3; l++) {
            for (size_t i = 0; zl[l][i]; i++)
                snprintf(zh[nzh++], VOICE_CLIP_NAME, "zh/%s", zl[l][i]);
            for (size_t i = 0; el[l][i]; i++)
                snprintf(en[nen++], VOICE_CLIP_NAME, "en/%s", el[l][i]);
        }
    }
    size_t n = 0;
    for (size_t i = 0; (langs & VOICE_LANG_ZH) && i < nzh && n < max; i++)
        names[n++] = zh[i];
    for (size_t i = 0; (langs & VOICE_LANG_EN) && i < nen && n < max; i++)
        names[n++] = en[i];
    return n;
}

/* ----------------------------------------------------------------- WAV */

static uint16_t voice__u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t voice__u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int voice_wav_parse(const uint8_t *buf, size_t len, struct voice_wav *w, const char **why)
{
    static const uint8_t pcm_guid_tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                              0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71};
    const char *dummy;
    if (!why) why = &dummy;
    memset(w, 0, sizeof *w);
    if (len < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4)) {
        *why = "not a RIFF/WAVE file";
        return HQ_ERR_INVALID;
    }
    /* The RIFF size may be smaller than the file (trailing bytes after the
     * last chunk) but never larger. */
    size_t riff_end = (size_t)voice__u32(buf + 4) + 8;
    if (riff_end > len) {
        *why = "the RIFF size runs past the end of the file";
        return HQ_ERR_INVALID;
    }
    bool have_fmt = false, have_data = false;
    size_t off = 12;
    while (off + 8 <= riff_end && !(have_fmt && have_data)) {
        const uint8_t *id = buf + off;
        size_t clen = voice__u32(buf + off + 4);
        size_t body = off + 8;
        if (clen > riff_end - body) {
            *why = "a chunk runs past the end of the file";
            return HQ_ERR_INVALID;
        }
        if (!memcmp(id, "fmt ", 4)) {
            if (clen < 16) {
                *why = "the fmt chunk is too short";
                return HQ_ERR_INVALID;
            }
            w->format = voice__u16(buf + body);
            w->channels = voice__u16(buf + body + 2);
            w->rate = voice__u32(buf + body + 4);
            w->bits = voice__u16(buf + body + 14);
            if (w->format == 0xFFFE) {
                if (clen < 40) {
                    *why = "the extensible fmt chunk is too short";
                    return HQ_ERR_INVALID;
                }
                /* sub-format GUID 00000001-0000-0010-8000-00aa00389b71 = PCM */
                uint16_t sub = voice__u16(buf + body + 24);
                w->format = memcmp(buf + body + 26, pcm_guid_tail, 14) == 0 ? sub : 0xFFFE;
            }
            if (!w->channels || !w->rate || !w->bits) {
                *why = "the fmt chunk gives no channels, rate or sample size";
                return HQ_ERR_INVALID;
            }
            have_fmt = true;
        } else if (!memcmp(id, "data", 4)) {
            if (!have_fmt) {
                *why = "the data chunk comes before the fmt chunk";
                return HQ_ERR_INVALID;
            }
            w->data_off = body;
            w->data_len = clen;
            have_data = true;
        }
        off = body + clen + (clen & 1);
    }
    if (!have_fmt || !have_data) {
        *why = have_fmt ? "no data chunk" : "no fmt chunk";
        return HQ_ERR_INVALID;
    }
    return HQ_OK;
}

/* ---------------------------------------------------------------- pack */

const struct voice_clip *voice_pack_find(const struct voice_pack *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->clips[i].name, name)) return &p->clips[i];
    return NULL;
}

int voice_pack_add_wav(struct voice_pack *p, const char *name, const uint8_t *buf, size_t len,
                       char *err, size_t errlen)
{
    struct voice_wav w;
    const char *why = "";
    if (strlen(name) >= VOICE_CLIP_NAME) {
        snprintf(err, errlen, "clip name too long");
        return HQ_ERR_INVALID;
    }
    if (voice_wav_parse(buf, len, &w, &why)) {
        snprintf(err, errlen, "%s", why);
        return HQ_ERR_INVALID;
    }
    if (w.format != 1 || w.channels != 1 || w.rate != VOICE_RATE || w.bits != 16) {
        snprintf(err, errlen,
                 "must be 16000 Hz mono 16-bit PCM, is %u Hz, %u channel(s), %u-bit, format %u "
                 "(convert with: sox IN -r 16000 -c 1 -b 16 -e signed-integer OUT)",
                 w.rate, w.channels, w.bits, w.format);
        return HQ_ERR_INVALID;
    }
    size_t n = w.data_len / 2;
    if (!n) {
        snprintf(err, errlen, "holds no sound");
        return HQ_ERR_INVALID;
    }
    int16_t *pcm = malloc(n * sizeof *pcm);
    if (!pcm) return HQ_ERR_NOMEM;
    const uint8_t *d = buf + w.data_off;
    for (size_t i = 0; i < n; i++)
        pcm[i] = (int16_t)voice__u16(d + 2 * i);

    struct voice_clip *c = (struct voice_clip *)voice_pack_find(p, name);
    if (!c) {
        if (p->n == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 64;
            struct voice_clip *nc = realloc(p->clips, cap * sizeof *nc);
            if (!nc) {
                free(pcm);
                return HQ_ERR_NOMEM;
            }
            p->clips = nc;
            p->cap = cap;
        }
        c = &p->clips[p->n++];
        snprintf(c->name, sizeof c->name, "%s", name);
    } else {
        free(c->pcm);
    }
    c->pcm = pcm;
    c->n = n;
    return HQ_OK;
}

void voice_pack_free(struct voice_pack *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->clips[i].pcm);
    free(p->clips);
    memset(p, 0, sizeof *p);
}

size_t voice_ms_to_samples(unsigned ms)
{
    return (size_t)ms * VOICE_RATE / 1000;
}

int voice_assemble(const struct voice_pack *p, const struct voice_seq *s, unsigned gap_ms,
                   unsigned pause_ms, int16_t **out, size_t *nout, char *missing, size_t mlen)
{
    size_t gap = voice_ms_to_samples(gap_ms), pause = voice_ms_to_samples(pause_ms);
    const struct voice_clip *clips[VOICE_MAX_SEQ];
    size_t total = 0, words = 0;
    bool brk = false;
    *out = NULL;
    *nout = 0;
    /* First pass: every clip is there, and the exact length. */
    for (size_t i = 0; i < s->n; i++) {
        if (!strcmp(s->clip[i], VOICE_BREAK)) {
            clips[i] = NULL;
            brk = words > 0;
            continue;
        }
        clips[i] = voice_pack_find(p, s->clip[i]);
        if (!clips[i]) {
            if (missing && mlen) snprintf(missing, mlen, "%s", s->clip[i]);
            return HQ_ERR_NOT_FOUND;
        }
        if (words) total += brk ? pause : gap;
        total += clips[i]->n;
        words++;
        brk = false;
    }
    if (!total) return HQ_ERR_INVALID;
    int16_t *pcm = calloc(total, sizeof *pcm); /* silences are the zeros left */
    if (!pcm) return HQ_ERR_NOMEM;
    size_t o = 0;
    words = 0;
    brk = false;
    for (size_t i = 0; i < s->n; i++) {
        if (!clips[i]) {
            brk = words > 0;
            continue;
        }
        if (words) o += brk ? pause : gap;
        memcpy(pcm + o, clips[i]->pcm, clips[i]->n * sizeof *pcm);
        o += clips[i]->n;
        words++;
        brk = false;
    }
    *out = pcm;
    *nout = total;
    return HQ_OK;
}
