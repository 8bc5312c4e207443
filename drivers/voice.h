/*
 * voice.h — what a call sounds like: "请 A012 号 到 3 号窗口 办理".
 *
 * Pure code, no I/O: a call (ticket label, window number, languages) becomes
 * a sequence of clip names; a voice pack (clips parsed from WAV bytes the
 * caller read) turns a sequence into PCM. The daemon module
 * (firmware/hqd_voice.c) reads the files and hands the PCM to hal/audio.
 *
 * How numbers are read (decided here, documented in docs/CONFIG.md):
 *  - a ticket is read letter by letter and digit by digit, as printed:
 *    A012 = "A 零 一 二" (一, never 幺: 幺 is radio and telephone usage; a hall
 *    that wants it records zh/1.wav as 幺);
 *  - a window is read as a number: 3 = 三, 10 = 十, 12 = 十二, 20 = 二十,
 *    105 = 一百零五, 110 = 一百一十, 200 = 二百 (the formal reading);
 *  - English: "Number A 0 1 2, please go to window 12", the window read as a
 *    cardinal (twelve, one hundred five);
 *  - a recall (重呼) says the same words: the citizen must hear the sentence
 *    they are listening for. What differs is that a recall is never trimmed
 *    from a backed-up queue (hal/audio.h).
 *
 * Clip names are "LANG/WORD" and name files LANG/WORD.wav in a pack folder:
 *   zh: qing hao dao chuangkou banli shi bai 0..9 A..Z
 *   en: number please_go_to window hundred 0..19 20 30 .. 90 A..Z
 * Every clip is 16 kHz mono signed 16-bit PCM (tools/make-voice-pack.sh
 * converts at pack build time; nothing is resampled here).
 */
#ifndef HQ_VOICE_H
#define HQ_VOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hq.h"

#define VOICE_RATE 16000
#define VOICE_MAX_SEQ 64 /* clips in one announcement (both languages) */
#define VOICE_CLIP_NAME 24
#define VOICE_MAX_WINDOW 999
#define VOICE_BREAK "|" /* sequence entry: a pause between sentences */

enum voice_lang { VOICE_LANG_ZH = 1 << 0, VOICE_LANG_EN = 1 << 1 };

struct voice_call {
    const char *label; /* "A012": letters A-Z (any case) then/or digits */
    unsigned window;   /* 1..999 */
    bool recall;
    unsigned langs; /* enum voice_lang bits; Chinese first, then English */
};

struct voice_seq {
    size_t n;
    char clip[VOICE_MAX_SEQ][VOICE_CLIP_NAME]; /* "zh/qing", or VOICE_BREAK */
};

/* Append the clips of `call` to seq (emptied first). HQ_ERR_INVALID for a
 * label with other characters or a window outside 1..999, HQ_ERR_LIMIT if it
 * would not fit. */
int voice_call_seq(const struct voice_call *call, struct voice_seq *seq);
/* Append the Chinese / English reading of n (0..999) to seq. */
int voice_number_zh(unsigned n, struct voice_seq *seq);
int voice_number_en(unsigned n, struct voice_seq *seq);
/* The sequence as one line, entries separated by spaces (tests and logs). */
const char *voice_seq_str(const struct voice_seq *seq, char *buf, size_t len);
/* The clip names a pack needs for langs; names[i] for i < return value. */
size_t voice_pack_names(unsigned langs, const char **names, size_t max);

/* ---------------------------------------------------------------- WAV */

struct voice_wav {
    uint16_t format; /* 1 = PCM (WAVE_FORMAT_EXTENSIBLE with a PCM sub-format reads as 1) */
    uint16_t channels;
    uint32_t rate;
    uint16_t bits;
    size_t data_off, data_len; /* the samples, inside the buffer given */
};

/* Parse a RIFF/WAVE file held in buf: find "fmt " and "data", skipping
 * other chunks. HQ_ERR_INVALID (and a reason in why) for anything that is not
 * a whole, well-formed file: truncated headers or data, a missing chunk, a
 * chunk size running past the end, a zero rate or channel count. */
int voice_wav_parse(const uint8_t *buf, size_t len, struct voice_wav *wav, const char **why);

/* --------------------------------------------------------------- pack */

struct voice_clip {
    char name[VOICE_CLIP_NAME];
    int16_t *pcm;
    size_t n; /* samples */
};

struct voice_pack {
    struct voice_clip *clips;
    size_t n, cap;
};

/* Parse wav bytes and add the clip as `name` (replacing one of that name).
 * HQ_ERR_INVALID with a reason in err for a bad file or a format other than
 * 16 kHz mono 16-bit PCM, or an empty clip; HQ_ERR_NOMEM. */
int voice_pack_add_wav(struct voice_pack *p, const char *name, const uint8_t *wav, size_t len,
                       char *err, size_t errlen);
const struct voice_clip *voice_pack_find(const struct voice_pack *p, const char *name);
void voice_pack_free(struct voice_pack *p);

/* Samples of gap_ms of silence at VOICE_RATE. */
size_t voice_ms_to_samples(unsigned ms);
/* Join the clips of seq into one malloc'ed PCM buffer: gap_ms of silence
 * between words, pause_ms at a VOICE_BREAK, none at either end. Its length is
 * exactly the sum of the clips and the silences between them. HQ_ERR_NOT_FOUND
 * (the clip's name in missing) when the pack lacks a clip. */
int voice_assemble(const struct voice_pack *p, const struct voice_seq *seq, unsigned gap_ms,
                   unsigned pause_ms, int16_t **pcm, size_t *n, char *missing, size_t mlen);

#endif
