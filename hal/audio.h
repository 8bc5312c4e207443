/*
 * audio.h — announcements out of a speaker, one at a time, never late by
 * minutes.
 *
 * A worker thread owns the sound device and plays a queue of announcements
 * strictly in order: one never overlaps or cuts another. The event loop only
 * submits (never blocks) and reads results from an fd.
 *
 * Outputs ("voice.output" in the configuration):
 *   alsa:NAME   ALSA PCM NAME ("default", "plughw:0,0"), opened for each
 *               announcement and closed after it has drained
 *   dir:PATH    no sound card: each announcement becomes PATH/NNNNNN-LABEL-wN.wav,
 *               paced in real time as a card would play it, and a line in
 *               PATH/voice.log:
 *                 ID START_MS END_MS window=N label=A012 recall=0|1 reps=PLAYED/ASKED file=F
 *               (wall-clock milliseconds), so tests can check order and overlap
 *
 * When calls pile up (a clerk pressing call-next over and over, ten windows
 * calling at once) the queue is trimmed rather than lagging minutes behind
 * the display (hq_audio_trim, run on every submit):
 *  1. repetitions go first, oldest announcement first: each waiting one keeps
 *     one, the one playing may lose the rest of its repetitions;
 *  2. then whole waiting announcements, oldest first, never the newest;
 *  3. never a recall (重呼: a clerk asked for it again on purpose), except
 *     that at most HQ_AUDIO_QUEUE_MAX announcements wait, whatever they are.
 * A new call at a window supersedes that window's waiting announcements (the
 * window has moved on) and ends its playing one after the current repetition.
 */
#ifndef HQ_AUDIO_H
#define HQ_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HQ_AUDIO_QUEUE_MAX 32
#define HQ_AUDIO_LABEL 24

struct hq_audio;

/* One announcement: `reps` times the same PCM, gap_ms of silence between. */
struct hq_audio_item {
    int16_t *pcm;    /* mono signed 16-bit at the queue's rate; malloc'ed, the queue frees it */
    size_t n;        /* samples */
    unsigned reps;   /* 1..9 */
    unsigned gap_ms; /* between repetitions */
    unsigned group;  /* window number; 0 = never supersedes */
    bool keep;       /* a recall: never trimmed */
    char label[HQ_AUDIO_LABEL]; /* "A012", for logs and file names */
};

enum hq_audio_outcome {
    HQ_AUDIO_PLAYED = 0, /* played (reps may be fewer than asked: trimmed) */
    HQ_AUDIO_FAILED,     /* the device failed; error says why */
    HQ_AUDIO_DROPPED,    /* trimmed away before it started */
    HQ_AUDIO_SUPERSEDED, /* its window called again before it started */
    HQ_AUDIO_STOPPED,    /* the queue was shut down */
};

struct hq_audio_result {
    uint64_t id;
    int outcome; /* enum hq_audio_outcome */
    unsigned group;
    bool keep;
    char label[HQ_AUDIO_LABEL];
    unsigned reps, played;    /* asked, played */
    int64_t start_ms, end_ms; /* wall clock; 0 when it never started */
    char error[160];
    char file[HQ_AUDIO_LABEL + 32]; /* dir: the file written */
};

/* Open an output ("alsa:NAME" or "dir:PATH") for mono PCM at `rate`, trimming
 * the queue to about max_lag_ms of waiting sound. NULL with a reason in err
 * for a malformed output or a PATH that is not a writable folder; an ALSA
 * device that is absent is not an error here (each announcement tries it). */
struct hq_audio *hq_audio_new(const char *output, unsigned rate, unsigned max_lag_ms, char *err,
                              size_t errlen);
/* Stop the worker (the announcement playing is cut at once) and free all. */
void hq_audio_free(struct hq_audio *a);
/* Readable when results wait (an eventfd; read it empty, then take results). */
int hq_audio_fd(const struct hq_audio *a);
/* Queue an announcement; the queue takes it->pcm whatever the answer. The id
 * (from 1) comes back in its result. HQ_ERR_INVALID for an empty item. */
int hq_audio_submit(struct hq_audio *a, struct hq_audio_item *it, uint64_t *id);
/* Take the oldest result: 1 if one was there, 0 if none. */
int hq_audio_result(struct hq_audio *a, struct hq_audio_result *r);
/* Announcements queued, the one playing included. */
size_t hq_audio_pending(struct hq_audio *a);

/* The trimming policy, on its own so it can be tested: q[0..n) oldest first,
 * q[0] may be playing (started). Sets reps_left and drop; returns how many
 * repetitions it removed (a dropped announcement counts all it had left). */
struct hq_audio_slot {
    unsigned reps_left; /* repetitions still to start */
    bool keep;          /* recall */
    bool started;       /* playing now */
    bool drop;          /* out: remove it from the queue */
    uint64_t unit_ms;   /* one repetition */
    uint64_t gap_ms;    /* the silence before each repetition after the first */
};
unsigned hq_audio_trim(struct hq_audio_slot *q, size_t n, uint64_t max_lag_ms, size_t max_waiting);
/* The sound still to come from q[0..n): reps_left * (unit + gap) each. */
uint64_t hq_audio_lag_ms(const struct hq_audio_slot *q, size_t n);

#endif
