/*
 * audio.c — the announcement queue and its worker thread: ALSA playback, or
 * WAV files in a folder for boxes without sound and for tests (audio.h says
 * what each output does and how a backed-up queue is trimmed).
 *
 * Threads: the loop thread calls submit/result/pending; the worker plays.
 * Both take `mu` for the queue and the results; the worker never holds it
 * while sound is being written, so a submit never waits for a speaker. The
 * entry being played stays at q[0] until it is finished: trimming and
 * superseding only ever remove entries that have not started.
 */
#include "audio.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hq.h"

enum { AUDIO_ALSA = 1, AUDIO_DIR };

struct audio_ent {
    uint64_t id;
    struct hq_audio_item it;
    unsigned reps_left, played;
    bool started;
    int64_t start_ms;
};

struct hq_audio {
    int kind;
    char target[512]; /* ALSA device name or folder */
    unsigned rate;
    uint64_t max_lag_ms;
    int efd;
    pthread_t th;
    bool th_started;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC: work arrived, or stop */
    atomic_bool stop;
    struct audio_ent q[HQ_AUDIO_QUEUE_MAX + 1]; /* q[0] may be playing */
    size_t nq;
    struct hq_audio_result *res;
    size_t nres, capres;
    uint64_t next_id;
    /* worker-only state for one announcement */
    snd_pcm_t *pcm;
    int16_t *rec; /* dir: what was "played" */
    size_t nrec, caprec;
};

/* ------------------------------------------------------------- trimming */

uint64_t hq_audio_lag_ms(const struct hq_audio_slot *q, size_t n)
{
    uint64_t lag = 0;
    for (size_t i = 0; i < n; i++)
        if (!q[i].drop) lag += (uint64_t)q[i].reps_left * (q[i].unit_ms + q[i].gap_ms);
    return lag;
}

unsigned hq_audio_trim(struct hq_audio_slot *q, size_t n, uint64_t max_lag_ms, size_t max_waiting)
{
    unsigned removed = 0;
    /* 1. repetitions, oldest announcement first */
    while (hq_audio_lag_ms(q, n) > max_lag_ms) {
        size_t i = 0;
        while (i < n && (q[i].drop || q[i].keep || q[i].reps_left <= (q[i].started ? 0u : 1u)))
            i++;
        if (i == n) break;
        q[i].reps_left--;
        removed++;
    }
    /* 2. whole waiting announcements, oldest first, never the newest */
    while (hq_audio_lag_ms(q, n) > max_lag_ms) {
        size_t i = 0;
        while (i + 1 < n && (q[i].drop || q[i].keep || q[i].started))
            i++;
        if (i + 1 >= n) break;
        removed += q[i].reps_left;
        q[i].drop = true;
    }
    /* 3. the hard bound on memory, recalls or not */
    for (;;) {
        size_t waiting = 0, oldest = n, oldest_plain = n;
        for (size_t i = 0; i < n; i++) {
            if (q[i].drop || q[i].started) continue;
            waiting++;
            if (oldest == n) oldest = i;
            if (oldest_plain == n && !q[i].keep) oldest_plain = i;
        }
        if (waiting <= max_waiting) break;
        size_t i = oldest_plain < n ? oldest_plain : oldest;
        removed += q[i].reps_left;
        q[i].drop = true;
    }
    return removed;
}

/* ---------------------------------------------------------------- helpers */

static int64_t audio__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void audio__wake_loop(struct hq_audio *a)
{
    uint64_t one = 1;
    ssize_t w = write(a->efd, &one, sizeof one);
    (void)w; /* a full counter is already readable */
}

/* Called with mu held. */
static void audio__push_result(struct hq_audio *a, const struct audio_ent *e, int outcome,
                               const char *error, const char *file, int64_t end_ms)
{
    if (a->nres == a->capres) {
        size_t cap = a->capres ? a->capres * 2 : 16;
        struct hq_audio_result *n = realloc(a->res, cap * sizeof *n);
        if (!n) return; /* a result lost to memory pressure is only a log line lost */
        a->res = n;
        a->capres = cap;
    }
    struct hq_audio_result *r = &a->res[a->nres++];
    memset(r, 0, sizeof *r);
    r->id = e->id;
    r->outcome = outcome;
    r->group = e->it.group;
    r->keep = e->it.keep;
    snprintf(r->label, sizeof r->label, "%s", e->it.label);
    r->reps = e->it.reps;
    r->played = e->played;
    r->start_ms = e->start_ms;
    r->end_ms = end_ms;
    if (error) snprintf(r->error, sizeof r->error, "%s", error);
    if (file) snprintf(r->file, sizeof r->file, "%s", file);
    audio__wake_loop(a);
}

/* Called with mu held: remove q[i] (never the one playing). */
static void audio__remove(struct hq_audio *a, size_t i, int outcome)
{
    audio__push_result(a, &a->q[i], outcome, NULL, NULL, 0);
    free(a->q[i].it.pcm);
    memmove(&a->q[i], &a->q[i + 1], (a->nq - i - 1) * sizeof a->q[0]);
    a->nq--;
}

/* Sleep until the monotonic deadline or stop; false if stopped. mu held. */
static bool audio__sleep_until(struct hq_audio *a, const struct timespec *deadline)
{
    while (!atomic_load(&a->stop)) {
        int rc = pthread_cond_timedwait(&a->cv, &a->mu, deadline);
        if (rc == ETIMEDOUT) return !atomic_load(&a->stop);
    }
    return false;
}

static void audio__add_ms(struct timespec *t, uint64_t ms)
{
    t->tv_sec += (time_t)(ms / 1000);
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/* ------------------------------------------------------------- backends */

static void audio__alsa_quiet(const char *file, int line, const char *fn, int err, const char *fmt,
                              ...)
{
    /* alsa-lib prints its own errors to stderr; the daemon reports each
     * failure once, with the device's name, from the result instead */
    (void)file, (void)line, (void)fn, (void)err, (void)fmt;
}

static int audio__alsa_open(struct hq_audio *a, char *err, size_t errlen)
{
    /* opened non-blocking so a device another program holds fails at once
     * ("busy") instead of stalling the queue, then made blocking for writes */
    int e = snd_pcm_open(&a->pcm, a->target, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
    if (e >= 0 && (e = snd_pcm_nonblock(a->pcm, 0)) < 0) snd_pcm_close(a->pcm);
    if (e < 0) {
        snprintf(err, errlen, "cannot open ALSA device %.64s: %.60s", a->target, snd_strerror(e));
        a->pcm = NULL;
        return HQ_ERR_IO;
    }
    /* soft resampling on: a card that cannot do 16 kHz mono plays it anyway */
    e = snd_pcm_set_params(a->pcm, SND_PCM_FORMAT_S16, SND_PCM_ACCESS_RW_INTERLEAVED, 1, a->rate, 1,
                           200000);
    if (e < 0) {
        snprintf(err, errlen, "ALSA device %.64s refuses %u Hz mono 16-bit: %.40s", a->target,
                 a->rate, snd_strerror(e));
        snd_pcm_close(a->pcm);
        a->pcm = NULL;
        return HQ_ERR_IO;
    }
    return HQ_OK;
}

/* Write n samples (NULL = silence) in 100 ms pieces, so a stop is heard. */
static int audio__alsa_write(struct hq_audio *a, const int16_t *pcm, size_t n, char *err,
                             size_t errlen)
{
    static const int16_t zeros[4000];
    size_t chunk = a->rate / 10;
    if (chunk > HQ_ARRAY_LEN(zeros)) chunk = HQ_ARRAY_LEN(zeros);
    while (n && !atomic_load(&a->stop)) {
        size_t k = n < chunk ? n : chunk;
        snd_pcm_sframes_t w = snd_pcm_writei(a->pcm, pcm ? pcm : zeros, k);
        if (w < 0) w = snd_pcm_recover(a->pcm, (int)w, 1); /* underrun, suspend */
        if (w < 0) {
            snprintf(err, errlen, "ALSA device %.64s: %.60s", a->target, snd_strerror((int)w));
            return HQ_ERR_IO;
        }
        if (w == 0) continue; /* recovered: write again */
        n -= (size_t)w;
        if (pcm) pcm += w;
    }
    return HQ_OK;
}

static int audio__dir_append(struct hq_audio *a, const int16_t *pcm, size_t n)
{
    if (a->nrec + n > a->caprec) {
        size_t cap = a->caprec ? a->caprec : 65536;
        while (cap < a->nrec + n)
            cap *= 2;
        int16_t *r = realloc(a->rec, cap * sizeof *r);
        if (!r) return HQ_ERR_NOMEM;
        a->rec = r;
        a->caprec = cap;
    }
    if (pcm)
        memcpy(a->rec + a->nrec, pcm, n * sizeof *pcm);
    else
        memset(a->rec + a->nrec, 0, n * sizeof *pcm);
    a->nrec += n;
    return HQ_OK;
}

static void audio__le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}
static void audio__le32(uint8_t *p, uint32_t v)
{
    audio__le16(p, (uint16_t)v);
    audio__le16(p + 2, (uint16_t)(v >> 16));
}

/* Write the announcement as a canonical 44-byte-header WAV file. */
static int audio__dir_write(struct hq_audio *a, const char *name, char *err, size_t errlen)
{
    char path[700], tmp[720];
    snprintf(path, sizeof path, "%s/%s", a->target, name);
    snprintf(tmp, sizeof tmp, "%s.part", path);
    uint32_t bytes = (uint32_t)(a->nrec * 2);
    uint8_t h[44];
    memcpy(h, "RIFF", 4);
    audio__le32(h + 4, 36 + bytes);
    memcpy(h + 8, "WAVEfmt ", 8);
    audio__le32(h + 16, 16);
    audio__le16(h + 20, 1);
    audio__le16(h + 22, 1);
    audio__le32(h + 24, a->rate);
    audio__le32(h + 28, a->rate * 2);
    audio__le16(h + 32, 2);
    audio__le16(h + 34, 16);
    memcpy(h + 36, "data", 4);
    audio__le32(h + 40, bytes);
    FILE *f = fopen(tmp, "wb");
    if (!f) goto fail;
    bool ok = fwrite(h, 1, sizeof h, f) == sizeof h;
    for (size_t i = 0; ok && i < a->nrec; i++) {
        uint8_t s[2];
        audio__le16(s, (uint16_t)a->rec[i]);
        ok = fwrite(s, 1, 2, f) == 2;
    }
    if (fclose(f) || !ok) goto fail;
    /* renamed into place whole: a reader never sees half a file */
    if (rename(tmp, path)) goto fail;
    return HQ_OK;
fail:
    snprintf(err, errlen, "cannot write %.100s: %.40s", path, strerror(errno));
    unlink(tmp);
    return HQ_ERR_IO;
}

static void audio__dir_log(struct hq_audio *a, const struct audio_ent *e, int64_t end_ms,
                           const char *file)
{
    char path[600];
    snprintf(path, sizeof path, "%s/voice.log", a->target);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    char line[256];
    int n = snprintf(line, sizeof line,
                     "%llu %lld %lld window=%u label=%s recall=%d reps=%u/%u file=%s\n",
                     (unsigned long long)e->id, (long long)e->start_ms, (long long)end_ms,
                     e->it.group, e->it.label, e->it.keep ? 1 : 0, e->played, e->it.reps, file);
    if (n > 0) {
        ssize_t w = write(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        (void)w; /* the WAV file is there; a lost log line shows in the test */
    }
    close(fd);
}

/* ----------------------------------------------------------------- worker */

/* Play one repetition (preceded by gap samples of silence); mu NOT held. */
static int audio__play_unit(struct hq_audio *a, const struct audio_ent *e, size_t gap, char *err,
                            size_t errlen)
{
    if (a->kind == AUDIO_ALSA) {
        int rc = gap ? audio__alsa_write(a, NULL, gap, err, errlen) : HQ_OK;
        if (!rc) rc = audio__alsa_write(a, e->it.pcm, e->it.n, err, errlen);
        return rc;
    }
    int rc = gap ? audio__dir_append(a, NULL, gap) : HQ_OK;
    if (!rc) rc = audio__dir_append(a, e->it.pcm, e->it.n);
    if (rc) snprintf(err, errlen, "out of memory");
    return rc;
}

static void *audio__worker(void *arg)
{
    struct hq_audio *a = arg;
    /* signals belong to the loop's signalfd: a SIGHUP delivered to this
     * thread would kill the daemon */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!atomic_load(&a->stop) && a->nq == 0)
            pthread_cond_wait(&a->cv, &a->mu);
        if (atomic_load(&a->stop)) break;
        struct audio_ent *e = &a->q[0];
        e->started = true;
        e->start_ms = audio__wall_ms();
        struct timespec due;
        clock_gettime(CLOCK_MONOTONIC, &due);
        char err[160] = "", file[HQ_AUDIO_LABEL + 32] = "";
        int rc = HQ_OK;
        bool cut = false;
        a->nrec = 0;
        if (a->kind == AUDIO_ALSA) {
            pthread_mutex_unlock(&a->mu);
            rc = audio__alsa_open(a, err, sizeof err);
            pthread_mutex_lock(&a->mu);
        }
        while (!rc && e->reps_left > 0 && !atomic_load(&a->stop)) {
            e->reps_left--;
            size_t gap = e->played ? (size_t)e->it.gap_ms * a->rate / 1000 : 0;
            pthread_mutex_unlock(&a->mu);
            rc = audio__play_unit(a, e, gap, err, sizeof err);
            pthread_mutex_lock(&a->mu);
            if (rc) break;
            if (a->kind == AUDIO_DIR) {
                /* pace as a card would: the queue must back up just as it does
                 * in a hall, or trimming would never be exercised */
                audio__add_ms(&due, (uint64_t)(gap + e->it.n) * 1000 / a->rate);
                if (!audio__sleep_until(a, &due)) {
                    cut = true;
                    break;
                }
            }
            e->played++;
        }
        if (a->kind == AUDIO_ALSA && a->pcm) {
            pthread_mutex_unlock(&a->mu);
            /* drain: the announcement is over when the speaker is silent */
            if (atomic_load(&a->stop))
                snd_pcm_drop(a->pcm);
            else
                snd_pcm_drain(a->pcm);
            snd_pcm_close(a->pcm);
            a->pcm = NULL;
            pthread_mutex_lock(&a->mu);
        }
        int64_t end_ms = audio__wall_ms();
        if (a->kind == AUDIO_DIR && !rc && e->played) {
            char label[HQ_AUDIO_LABEL];
            size_t k = 0;
            for (const char *p = e->it.label; *p && k + 1 < sizeof label; p++)
                if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9'))
                    label[k++] = *p;
            label[k] = '\0';
            snprintf(file, sizeof file, "%06llu-%s-w%u.wav", (unsigned long long)e->id, label,
                     e->it.group);
            pthread_mutex_unlock(&a->mu);
            rc = audio__dir_write(a, file, err, sizeof err);
            if (!rc) audio__dir_log(a, e, end_ms, file);
            pthread_mutex_lock(&a->mu);
        }
        if (atomic_load(&a->stop) && e->reps_left) cut = true;
        int outcome = rc ? HQ_AUDIO_FAILED : cut ? HQ_AUDIO_STOPPED : HQ_AUDIO_PLAYED;
        audio__push_result(a, e, outcome, rc ? err : NULL, file[0] && !rc ? file : NULL, end_ms);
        free(e->it.pcm);
        memmove(&a->q[0], &a->q[1], (a->nq - 1) * sizeof a->q[0]);
        a->nq--;
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* ---------------------------------------------------------------- public */

struct hq_audio *hq_audio_new(const char *output, unsigned rate, unsigned max_lag_ms, char *err,
                              size_t errlen)
{
    struct hq_audio *a = NULL;
    int kind;
    const char *target;
    if (!strncmp(output, "alsa:", 5)) {
        kind = AUDIO_ALSA, target = output + 5;
    } else if (!strncmp(output, "dir:", 4)) {
        kind = AUDIO_DIR, target = output + 4;
    } else {
        snprintf(err, errlen, "output \"%s\" must be \"alsa:DEVICE\" or \"dir:FOLDER\"", output);
        return NULL;
    }
    if (!*target || strlen(target) >= sizeof a->target || !rate) {
        snprintf(err, errlen, "output \"%s\" names no device or folder", output);
        return NULL;
    }
    if (kind == AUDIO_DIR) {
        struct stat st;
        if (mkdir(target, 0755) && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", target, strerror(errno));
            return NULL;
        }
        if (stat(target, &st) || !S_ISDIR(st.st_mode) || access(target, W_OK)) {
            snprintf(err, errlen, "%s is not a writable folder", target);
            return NULL;
        }
    } else {
        snd_lib_error_set_handler(audio__alsa_quiet);
    }
    a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->kind = kind;
    snprintf(a->target, sizeof a->target, "%s", target);
    a->rate = rate;
    a->max_lag_ms = max_lag_ms;
    a->next_id = 1;
    atomic_init(&a->stop, false);
    a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&a->mu, NULL);
    if (a->efd < 0 || pthread_create(&a->th, NULL, audio__worker, a)) {
        snprintf(err, errlen, "cannot start the audio worker: %s", strerror(errno));
        goto fail;
    }
    a->th_started = true;
    return a;
fail:
    hq_audio_free(a);
    return NULL;
}

void hq_audio_free(struct hq_audio *a)
{
    if (!a) return;
    if (a->th_started) {
        pthread_mutex_lock(&a->mu);
        atomic_store(&a->stop, true);
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->th, NULL);
    }
    for (size_t i = 0; i < a->nq; i++)
        free(a->q[i].it.pcm);
    if (a->pcm) snd_pcm_close(a->pcm);
    free(a->rec);
    free(a->res);
    if (a->efd >= 0) close(a->efd);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

int hq_audio_fd(const struct hq_audio *a)
{
    return a->efd;
}

int hq_audio_submit(struct hq_audio *a, struct hq_audio_item *it, uint64_t *id)
{
    if (!it->pcm || !it->n || !it->reps) {
        free(it->pcm);
        it->pcm = NULL;
        return HQ_ERR_INVALID;
    }
    pthread_mutex_lock(&a->mu);
    /* the window moved on: its waiting announcements are stale, and the one
     * playing ends after the repetition it is in */
    for (size_t i = a->nq; it->group && i-- > 0;) {
        if (a->q[i].it.group != it->group) continue;
        if (a->q[i].started)
            a->q[i].reps_left = 0;
        else
            audio__remove(a, i, HQ_AUDIO_SUPERSEDED);
    }
    if (a->nq == HQ_ARRAY_LEN(a->q)) {
        /* only reachable when the oldest waiting ones are all recalls */
        audio__remove(a, a->q[0].started ? 1 : 0, HQ_AUDIO_DROPPED);
    }
    struct audio_ent *e = &a->q[a->nq++];
    memset(e, 0, sizeof *e);
    e->id = a->next_id++;
    e->it = *it;
    e->it.label[sizeof e->it.label - 1] = '\0';
    e->reps_left = it->reps;
    it->pcm = NULL;
    if (id) *id = e->id;

    struct hq_audio_slot s[HQ_ARRAY_LEN(a->q)];
    for (size_t i = 0; i < a->nq; i++)
        s[i] = (struct hq_audio_slot){
            .reps_left = a->q[i].reps_left,
            .keep = a->q[i].it.keep,
            .started = a->q[i].started,
            .unit_ms = (uint64_t)a->q[i].it.n * 1000 / a->rate,
            .gap_ms = a->q[i].it.gap_ms,
        };
    hq_audio_trim(s, a->nq, a->max_lag_ms, HQ_AUDIO_QUEUE_MAX);
    for (size_t i = a->nq; i-- > 0;) {
        if (s[i].drop)
            audio__remove(a, i, HQ_AUDIO_DROPPED);
        else
            a->q[i].reps_left = s[i].reps_left;
    }
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return HQ_OK;
}

int hq_audio_result(struct hq_audio *a, struct hq_audio_result *r)
{
    int got = 0;
    pthread_mutex_lock(&a->mu);
    if (a->nres) {
        *r = a->res[0];
        memmove(&a->res[0], &a->res[1], (a->nres - 1) * sizeof a->res[0]);
        a->nres--;
        got = 1;
    }
    pthread_mutex_unlock(&a->mu);
    return got;
}

size_t hq_audio_pending(struct hq_audio *a)
{
    pthread_mutex_lock(&a->mu);
    size_t n = a->nq;
    pthread_mutex_unlock(&a->mu);
    return n;
}
