/*
 * test_audio.c — hal/audio.c: the trimming policy from a table, and the
 * queue itself on the "dir:" output (real threads, real pacing, short
 * sounds): strict order without overlap, the files and log lines it writes,
 * a window that calls again superseding its waiting announcement, a backed-up
 * queue trimmed but never a recall, and an ALSA device that is not there
 * failing each announcement without stopping the queue.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio.h"
#include "check.h"
#include "hq.h"

#define RATE 16000

/* ------------------------------------------------------------ the policy */

static void test_trim(void)
{
    /* 4 announcements of 1 s + 0.5 s gap, 2 reps: 3 s each, 12 s in all */
    struct hq_audio_slot q[4];
    for (int i = 0; i < 4; i++)
        q[i] = (struct hq_audio_slot){.reps_left = 2, .unit_ms = 1000, .gap_ms = 500};
    CHECK_EQ_INT(hq_audio_lag_ms(q, 4), 12000);
    /* under the limit: nothing changes */
    CHECK_EQ_INT(hq_audio_trim(q, 4, 12000, 32), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(q[i].reps_left, 2);
    /* 1.5 s over: the oldest loses its second repetition, then the next */
    CHECK_EQ_INT(hq_audio_trim(q, 4, 10000, 32), 2);
    CHECK_EQ_INT(q[0].reps_left, 1);
    CHECK_EQ_INT(q[1].reps_left, 1);
    CHECK_EQ_INT(q[2].reps_left, 2);
    CHECK_EQ_INT(q[3].reps_left, 2);

    /* the one playing may lose all it has left; a recall keeps its own */
    struct hq_audio_slot r[3] = {
        {.reps_left = 1, .started = true, .unit_ms = 1000, .gap_ms = 500},
        {.reps_left = 3, .keep = true, .unit_ms = 1000, .gap_ms = 500},
        {.reps_left = 2, .unit_ms = 1000, .gap_ms = 500},
    };
    CHECK_EQ_INT(hq_audio_trim(r, 3, 6000, 32), 2);
    CHECK_EQ_INT(r[0].reps_left, 0);
    CHECK(!r[0].drop);
    CHECK_EQ_INT(r[1].reps_left, 3);
    CHECK_EQ_INT(r[2].reps_left, 1);

    /* still too long: whole waiting announcements go, oldest first, never the
     * newest, never a recall */
    struct hq_audio_slot d[5] = {
        {.reps_left = 1, .started = true, .unit_ms = 4000},
        {.reps_left = 2, .unit_ms = 4000},
        {.reps_left = 1, .keep = true, .unit_ms = 4000},
        {.reps_left = 1, .unit_ms = 4000},
        {.reps_left = 2, .unit_ms = 4000},
    };
    /* lag 28 s, limit 10 s: reps first (d0 → 0, d1 → 1, d4 → 1) = 16 s; then
     * drop d1 (12 s) and d3 (8 s); d4 is the newest and stays */
    CHECK_EQ_INT(hq_audio_trim(d, 5, 10000, 32), 5);
    CHECK_EQ_INT(d[0].reps_left, 0);
    CHECK(!d[0].drop);
    CHECK(d[1].drop);
    CHECK(!d[2].drop);
    CHECK_EQ_INT(d[2].reps_left, 1);
    CHECK(d[3].drop);
    CHECK(!d[4].drop);
    CHECK_EQ_INT(d[4].reps_left, 1);
    CHECK_EQ_INT(hq_audio_lag_ms(d, 5), 8000);

    /* only recalls waiting, far over: they all stay (bounded by count only) */
    struct hq_audio_slot k[3];
    for (int i = 0; i < 3; i++)
        k[i] = (struct hq_audio_slot){.reps_left = 2, .keep = true, .unit_ms = 10000};
    CHECK_EQ_INT(hq_audio_trim(k, 3, 5000, 32), 0);
    /* the count bound: oldest plain one first, then the oldest recall */
    struct hq_audio_slot m[4] = {
        {.reps_left = 1, .keep = true, .unit_ms = 10},
        {.reps_left = 1, .unit_ms = 10},
        {.reps_left = 1, .keep = true, .unit_ms = 10},
        {.reps_left = 1, .unit_ms = 10},
    };
    CHECK_EQ_INT(hq_audio_trim(m, 4, 100000, 2), 2);
    CHECK(!m[0].drop && m[1].drop && !m[2].drop && m[3].drop);
    CHECK_EQ_INT(hq_audio_trim(m, 4, 100000, 1), 1);
    CHECK(m[0].drop && !m[2].drop);
}

/* ------------------------------------------------------------- the queue */

static int16_t *tone(size_t n, int16_t v)
{
    int16_t *s = malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = (int16_t)(i % 2 ? v : -v);
    return s;
}

static int submit(struct hq_audio *a, size_t n, unsigned reps, unsigned gap_ms, unsigned group,
                  bool keep, const char *label)
{
    struct hq_audio_item it = {
        .pcm = tone(n, 1000), .n = n, .reps = reps, .gap_ms = gap_ms, .group = group, .keep = keep};
    snprintf(it.label, sizeof it.label, "%s", label);
    uint64_t id = 0;
    int rc = hq_audio_submit(a, &it, &id);
    CHECK(it.pcm == NULL); /* the queue took it */
    return rc ? -rc : (int)id;
}

/* Collect `want` results within timeout_ms. */
static size_t collect(struct hq_audio *a, struct hq_audio_result *r, size_t want, int timeout_ms)
{
    size_t got = 0;
    int waited = 0;
    while (got < want && waited < timeout_ms) {
        struct pollfd p = {.fd = hq_audio_fd(a), .events = POLLIN};
        poll(&p, 1, 50);
        waited += 50;
        uint64_t c;
        while (read(hq_audio_fd(a), &c, sizeof c) == (ssize_t)sizeof c) {
        }
        while (got < want && hq_audio_result(a, &r[got]))
            got++;
    }
    return got;
}

static long file_size(const char *dir, const char *name)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) ? -1 : (long)st.st_size;
}

static void test_dir_order(const char *dir)
{
    char out[600], err[300] = "";
    snprintf(out, sizeof out, "dir:%s/order", dir);
    struct hq_audio *a = hq_audio_new(out, RATE, 30000, err, sizeof err);
    CHECK(a != NULL);
    if (!a) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    /* 0.2 s twice with 0.1 s between: 0.5 s each */
    CHECK_EQ_INT(submit(a, 3200, 2, 100, 1, false, "A001"), 1);
    CHECK_EQ_INT(submit(a, 3200, 2, 100, 2, false, "B002"), 2);
    CHECK_EQ_INT(submit(a, 3200, 2, 100, 3, true, "A-003"), 3);
    CHECK(hq_audio_pending(a) >= 2);
    struct hq_audio_result r[3];
    CHECK_EQ_INT(collect(a, r, 3, 5000), 3);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(r[i].id, (uint64_t)i + 1);
        CHECK_EQ_INT(r[i].outcome, HQ_AUDIO_PLAYED);
        CHECK_EQ_INT(r[i].played, 2);
        /* paced like a sound card: at least the sound's length */
        CHECK(r[i].end_ms - r[i].start_ms >= 480);
        CHECK(r[i].end_ms - r[i].start_ms < 5000); /* and not stuck (a loaded box is slow) */
        /* header + 2 × 3200 samples + 1600 of silence */
        CHECK_EQ_INT(file_size(out + 4, r[i].file), 44 + (2 * 3200 + 1600) * 2);
        if (i) CHECK(r[i - 1].end_ms <= r[i].start_ms); /* never overlapping */
    }
    CHECK_EQ_STR(r[0].file, "000001-A001-w1.wav");
    CHECK_EQ_STR(r[2].file, "000003-A003-w3.wav"); /* label sanitised for the file name */
    CHECK(r[2].keep);
    CHECK_EQ_INT(hq_audio_pending(a), 0);

    /* the log: one line per announcement, in order, times as in the results */
    char p[700], line[300];
    snprintf(p, sizeof p, "%s/voice.log", out + 4);
    FILE *f = fopen(p, "r");
    CHECK(f != NULL);
    int lines = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long long id;
        long long s, e;
        char rest[200];
        CHECK_EQ_INT(sscanf(line, "%llu %lld %lld %199[^\n]", &id, &s, &e, rest), 4);
        if (lines < 3) {
            CHECK_EQ_INT(id, r[lines].id);
            CHECK_EQ_INT(s, r[lines].start_ms);
            CHECK_EQ_INT(e, r[lines].end_ms);
        }
        lines++;
    }
    if (f) fclose(f);
    CHECK_EQ_INT(lines, 3);
    CHECK(strstr(line, "window=3 label=A-003 recall=1 reps=2/2 file=000003-A003-w3.wav") != NULL);
    hq_audio_free(a);
}

static void test_dir_supersede_and_trim(const char *dir)
{
    char out[600], err[300] = "";
    snprintf(out, sizeof out, "dir:%s/trim", dir);
    /* at most 2 s of waiting sound */
    struct hq_audio *a = hq_audio_new(out, RATE, 2000, err, sizeof err);
    CHECK(a != NULL);
    if (!a) return;
    /* 1: 1 s × 3 at window 1; the rest is submitted while its first
     * repetition plays */
    CHECK_EQ_INT(submit(a, 16000, 3, 100, 1, false, "A001"), 1);
    usleep(200 * 1000);
    /* 2: window 2, 3 × 0.3 s: 2.2 s left of #1 + 1.2 s is over 2 s: #1
     * loses its two remaining repetitions; 3: window 2 again supersedes #2 */
    CHECK_EQ_INT(submit(a, 4800, 3, 100, 2, false, "A002"), 2);
    CHECK_EQ_INT(submit(a, 4800, 3, 100, 2, false, "A003"), 3);
    /* 4: a recall at window 3, 2.4 s waiting: #3 loses one of its three
     * repetitions; the recall keeps its own */
    CHECK_EQ_INT(submit(a, 4800, 3, 100, 3, true, "A004"), 4);
    struct hq_audio_result r[4];
    CHECK_EQ_INT(collect(a, r, 4, 8000), 4);
    /* results come as things happen: #2 superseded first */
    CHECK_EQ_INT(r[0].id, 2);
    CHECK_EQ_INT(r[0].outcome, HQ_AUDIO_SUPERSEDED);
    CHECK_EQ_INT(r[1].id, 1);
    CHECK_EQ_INT(r[1].outcome, HQ_AUDIO_PLAYED);
    CHECK_EQ_INT(r[1].played, 1); /* the rest trimmed while it played */
    CHECK_EQ_INT(r[2].id, 3);
    CHECK_EQ_INT(r[2].outcome, HQ_AUDIO_PLAYED);
    CHECK_EQ_INT(r[2].played, 2);
    CHECK_EQ_INT(r[2].reps, 3);
    CHECK_EQ_INT(r[3].id, 4);
    CHECK_EQ_INT(r[3].outcome, HQ_AUDIO_PLAYED);
    CHECK_EQ_INT(r[3].played, 3); /* the recall, whole */
    CHECK(r[1].end_ms <= r[2].start_ms && r[2].end_ms <= r[3].start_ms);
    CHECK_EQ_INT(file_size(out + 4, r[3].file), 44 + (3 * 4800 + 2 * 1600) * 2);

    /* a new call at a window ends that window's playing announcement after
     * the repetition it is in */
    CHECK_EQ_INT(submit(a, 16000, 3, 100, 7, false, "A005"), 5);
    usleep(200 * 1000);
    CHECK_EQ_INT(submit(a, 1600, 1, 100, 7, false, "A006"), 6);
    CHECK_EQ_INT(collect(a, r, 2, 5000), 2);
    CHECK_EQ_INT(r[0].id, 5);
    CHECK_EQ_INT(r[0].played, 1);
    CHECK_EQ_INT(r[1].id, 6);
    CHECK_EQ_INT(r[1].played, 1);

    /* stopping cuts the one playing and frees what waits */
    CHECK_EQ_INT(submit(a, 16000, 3, 100, 8, false, "A007"), 7);
    CHECK_EQ_INT(submit(a, 16000, 3, 100, 9, true, "A008"), 8);
    hq_audio_free(a);
}

static void test_alsa_absent(void)
{
    char err[300] = "";
    struct hq_audio *a = hq_audio_new("alsa:hallq_no_such_device", RATE, 30000, err, sizeof err);
    CHECK(a != NULL); /* absent is not a configuration error */
    if (!a) return;
    CHECK_EQ_INT(submit(a, 1600, 2, 100, 1, false, "A001"), 1);
    CHECK_EQ_INT(submit(a, 1600, 2, 100, 2, false, "A002"), 2);
    struct hq_audio_result r[2];
    CHECK_EQ_INT(collect(a, r, 2, 5000), 2);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(r[i].outcome, HQ_AUDIO_FAILED);
        CHECK_EQ_INT(r[i].played, 0);
        CHECK(strstr(r[i].error, "hallq_no_such_device") != NULL);
    }
    hq_audio_free(a);
}

static void test_bad_outputs(void)
{
    char err[300];
    CHECK(hq_audio_new("speaker", RATE, 1000, err, sizeof err) == NULL);
    CHECK(strstr(err, "must be \"alsa:DEVICE\" or \"dir:FOLDER\"") != NULL);
    CHECK(hq_audio_new("dir:", RATE, 1000, err, sizeof err) == NULL);
    CHECK(hq_audio_new("alsa:", RATE, 1000, err, sizeof err) == NULL);
    CHECK(hq_audio_new("dir:/proc/hallq-no/such", RATE, 1000, err, sizeof err) == NULL);
    CHECK(strstr(err, "/proc/hallq-no/such") != NULL);
    /* an empty item is refused, and still freed */
    struct hq_audio *a = hq_audio_new("alsa:null", RATE, 1000, err, sizeof err);
    CHECK(a != NULL);
    if (!a) return;
    struct hq_audio_item it = {.pcm = tone(10, 1), .n = 10, .reps = 0};
    CHECK_EQ_INT(hq_audio_submit(a, &it, NULL), HQ_ERR_INVALID);
    CHECK(it.pcm == NULL);
    /* alsa-lib's "null" device takes the sound: the whole ALSA path runs */
    CHECK_EQ_INT(submit(a, 1600, 2, 100, 1, false, "A001"), 1);
    struct hq_audio_result r;
    CHECK_EQ_INT(collect(a, &r, 1, 5000), 1);
    CHECK_EQ_INT(r.outcome, HQ_AUDIO_PLAYED);
    CHECK_EQ_INT(r.played, 2);
    CHECK_EQ_STR(r.error, "");
    hq_audio_free(a);
}

int main(void)
{
    char dir[] = "/tmp/hallq-audio-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    test_trim();
    test_dir_order(dir);
    test_dir_supersede_and_trim(dir);
    test_alsa_absent();
    test_bad_outputs();
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return check_report("test_audio");
}
