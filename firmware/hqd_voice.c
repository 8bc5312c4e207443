/*
 * hqd_voice.c — calls spoken in the hall: HQ_FX_CALL effects → clip sequence
 * (drivers/voice) → PCM → the announcement queue (hal/audio), which plays
 * them one at a time and trims a backed-up queue.
 *
 *   hqd_apply ─► commit ─► hqd_voice__on_result: CALL effect → "请 A012 号 到 3 号窗口 办理"
 *                                           → hq_audio_submit (never blocks)
 *   worker ─► eventfd ─► hqd_voice__on_fd: played / trimmed / superseded / failed → log, counters
 *
 * Only committed calls are spoken (the listener runs after the commit): a call
 * the database refused is never heard.
 */
#include "hqd_voice.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "audio.h"
#include "voice.h"

#ifndef HQ_DEFAULT_VOICE_PACK
#define HQ_DEFAULT_VOICE_PACK "/usr/share/hallq/voice"
#endif

#define VOICE_CLIP_MAX_BYTES (4 * 1024 * 1024) /* a word is a few dozen KiB */
#define VOICE_FAIL_LOG_MS 60000                /* a dead speaker is logged once a minute */

struct hq_voice {
    struct hq_daemon *d;
    struct voice_pack pack;
    unsigned have_langs; /* languages whose every clip is in the pack */
    struct hq_audio *au;
    unsigned langs, repeat, gap_ms, pause_ms;
    uint64_t announced, played, trimmed, superseded, failed;
    uint64_t fail_logged_ms;
    unsigned fail_quiet; /* failures not logged since */
    char last_error[160];
};

static unsigned hqd_voice__langs(const char *language)
{
    return strcmp(language, "zh+en") == 0 ? VOICE_LANG_ZH | VOICE_LANG_EN : VOICE_LANG_ZH;
}

/* ------------------------------------------------------------------ pack */

/* Read dir/name.wav into the pack. 1 = added, 0 = no such file, <0 = bad
 * (err says why). */
static int hqd_voice__load_clip(struct hq_voice *v, const char *dir, const char *name, char *err,
                                size_t errlen)
{
    char path[HQ_CFG_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s.wav", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(VOICE_CLIP_MAX_BYTES);
    size_t n = buf ? fread(buf, 1, VOICE_CLIP_MAX_BYTES, f) : 0;
    int rc = -1;
    char why[200] = "";
    if (!buf)
        snprintf(err, errlen, "%s: out of memory", path);
    else if (ferror(f))
        snprintf(err, errlen, "%s: cannot read", path);
    else if (n == VOICE_CLIP_MAX_BYTES && fgetc(f) != EOF)
        snprintf(err, errlen, "%s: larger than %d bytes", path, VOICE_CLIP_MAX_BYTES);
    else if (voice_pack_add_wav(&v->pack, name, buf, n, why, sizeof why))
        snprintf(err, errlen, "%s: %s", path, why);
    else
        rc = 1;
    free(buf);
    fclose(f);
    return rc;
}

/* Every clip from the configured folder if it has it, else the default pack. */
static int hqd_voice__load_pack(struct hq_voice *v, const struct hq_config *c)
{
    const char *names[256];
    size_t n = voice_pack_names(VOICE_LANG_ZH | VOICE_LANG_EN, names, HQ_ARRAY_LEN(names));
    const char *own = c->voice_pack[0] ? c->voice_pack : NULL;
    char err[HQ_CFG_PATH_MAX + 300];
    struct stat st;
    if (own && (stat(own, &st) || !S_ISDIR(st.st_mode))) {
        LOG_ERR("VOICE", "%s: voice.pack %s is not a folder", c->file, own);
        return HQ_ERR_CONFIG;
    }
    size_t from_own = 0, from_default = 0;
    for (size_t i = 0; i < n; i++) {
        int r = own ? hqd_voice__load_clip(v, own, names[i], err, sizeof err) : 0;
        if (r < 0) {
            LOG_ERR("VOICE", "voice.pack in %s: %s", c->file, err);
            return HQ_ERR_CONFIG;
        }
        if (r > 0) {
            from_own++;
            continue;
        }
        r = hqd_voice__load_clip(v, HQ_DEFAULT_VOICE_PACK, names[i], err, sizeof err);
        if (r < 0) LOG_WARN("VOICE", "default voice pack: %s", err);
        if (r > 0) from_default++;
    }
    v->have_langs = 0;
    for (unsigned l = VOICE_LANG_ZH; l <= VOICE_LANG_EN; l <<= 1) {
        const char *need[256];
        size_t k = voice_pack_names(l, need, HQ_ARRAY_LEN(need)), i = 0;
        while (i < k && voice_pack_find(&v->pack, need[i]))
            i++;
        if (i == k) {
            v->have_langs |= l;
        } else if (hqd_voice__langs(c->voice_language) & l) {
            if (own) {
                LOG_ERR("VOICE", "%s: clip %s.wav is neither in voice.pack %s nor in %s", c->file,
                        need[i], own, HQ_DEFAULT_VOICE_PACK);
                return HQ_ERR_CONFIG;
            }
            LOG_ERR("VOICE",
                    "the voice pack %s lacks %s.wav: calls are not announced (build "
                    "hallq with espeak-ng and sox, or set voice.pack)",
                    HQ_DEFAULT_VOICE_PACK, need[i]);
        }
    }
    LOG_INFO("VOICE", "voice pack: %zu clips from %s, %zu from %s", from_own,
             own ? own : "(no voice.pack)", from_default, HQ_DEFAULT_VOICE_PACK);
    return HQ_OK;
}

/* ---------------------------------------------------------------- calls */

static void hqd_voice__announce(struct hq_voice *v, int32_t ti, uint16_t window, bool recall)
{
    struct hq_daemon *d = v->d;
    if (ti < 0 || (size_t)ti >= d->eng.n_tickets) return;
    unsigned langs = v->langs & v->have_langs;
    if (!langs) return; /* no usable pack: said once at start */
    char label[16];
    hq_ticket_label(&d->eng, &d->eng.tickets[ti], label, sizeof label);
    struct voice_call call = {.label = label, .window = window, .recall = recall, .langs = langs};
    struct voice_seq seq;
    int rc = voice_call_seq(&call, &seq);
    if (rc) {
        LOG_WARN("VOICE", "cannot announce %s at window %u: %s", label, window, hq_strerror(rc));
        return;
    }
    struct hq_audio_item it = {
        .reps = v->repeat, .gap_ms = v->pause_ms, .group = window, .keep = recall};
    char missing[VOICE_CLIP_NAME] = "";
    rc = voice_assemble(&v->pack, &seq, v->gap_ms, v->pause_ms, &it.pcm, &it.n, missing,
                        sizeof missing);
    if (rc) {
        LOG_WARN("VOICE", "cannot announce %s at window %u: %s %s", label, window, hq_strerror(rc),
                 missing);
        return;
    }
    snprintf(it.label, sizeof it.label, "%s", label);
    uint64_t id = 0;
    if (hq_audio_submit(v->au, &it, &id)) return;
    v->announced++;
    char line[VOICE_MAX_SEQ * VOICE_CLIP_NAME];
    LOG_DEBUG("VOICE", "#%llu %s%s → window %u: %s", (unsigned long long)id, label,
              recall ? " (recall)" : "", window, voice_seq_str(&seq, line, sizeof line));
}

static void hqd_voice__on_result(struct hq_daemon *d, const struct hq_cmd *cmd,
                                 const struct hq_result *res, void *arg)
{
    struct hq_voice *v = arg;
    (void)d, (void)cmd;
    for (size_t i = 0; i < res->n_fx; i++) {
        const struct hq_effect *fx = &res->fx[i];
        if (fx->type == HQ_FX_CALL)
            hqd_voice__announce(v, fx->ticket, fx->window, (fx->flags & HQ_FXF_RECALL) != 0);
    }
}

static void hqd_voice__on_fd(struct hq_loop *loop, int fd, uint32_t events, void *arg)
{
    struct hq_voice *v = arg;
    uint64_t cnt;
    (void)events;
    while (read(fd, &cnt, sizeof cnt) == (ssize_t)sizeof cnt) {
    }
    struct hq_audio_result r;
    while (hq_audio_result(v->au, &r)) {
        const char *what = r.keep ? " (recall)" : "";
        switch (r.outcome) {
        case HQ_AUDIO_PLAYED:
        case HQ_AUDIO_STOPPED:
            v->played++;
            LOG_INFO("VOICE", "#%llu %s%s → window %u: said %u of %u times in %lld ms%s%s",
                     (unsigned long long)r.id, r.label, what, r.group, r.played, r.reps,
                     (long long)(r.end_ms - r.start_ms), r.file[0] ? ", " : "", r.file);
            break;
        case HQ_AUDIO_DROPPED:
            v->trimmed++;
            LOG_NOTICE("VOICE",
                       "#%llu %s → window %u: not announced, the voice queue was %u s "
                       "behind",
                       (unsigned long long)r.id, r.label, r.group, v->d->cfg.voice_max_lag_s);
            break;
        case HQ_AUDIO_SUPERSEDED:
            v->superseded++;
            LOG_INFO("VOICE", "#%llu %s → window %u: not announced, the window called again",
                     (unsigned long long)r.id, r.label, r.group);
            break;
        default: {
            v->failed++;
            snprintf(v->last_error, sizeof v->last_error, "%s", r.error);
            uint64_t now = hq_loop_now_ms(loop);
            if (!v->fail_logged_ms || now - v->fail_logged_ms >= VOICE_FAIL_LOG_MS) {
                LOG_WARN("VOICE", "%s not heard: %s%s", r.label, r.error,
                         v->fail_quiet ? " (and earlier failures)" : "");
                v->fail_logged_ms = now;
                v->fail_quiet = 0;
            } else {
                v->fail_quiet++;
            }
            break;
        }
        }
    }
}

static void hqd_voice__status_part(struct hq_daemon *d, cJSON *status, void *arg)
{
    struct hq_voice *v = arg;
    cJSON *o = cJSON_AddObjectToObject(status, "voice");
    cJSON_AddBoolToObject(o, "enabled", v->au != NULL);
    cJSON_AddStringToObject(o, "output", d->cfg.voice_output);
    cJSON_AddStringToObject(o, "language", d->cfg.voice_language);
    cJSON_AddNumberToObject(o, "queued", v->au ? (double)hq_audio_pending(v->au) : 0);
    cJSON_AddNumberToObject(o, "announced", (double)v->announced);
    cJSON_AddNumberToObject(o, "played", (double)v->played);
    cJSON_AddNumberToObject(o, "trimmed", (double)v->trimmed);
    cJSON_AddNumberToObject(o, "superseded", (double)v->superseded);
    cJSON_AddNumberToObject(o, "failed", (double)v->failed);
    cJSON_AddStringToObject(o, "last_error", v->last_error);
}

/* SIGHUP: how often, how fast and in which languages change at once; the
 * pack, the output and the lag bound at the next restart. hallqd copies only
 * its own keys into d->cfg on reload, so the voice keys are read here from
 * the file hallqd has just accepted. */
static void hqd_voice__reload(struct hq_daemon *d, void *arg)
{
    struct hq_voice *v = arg;
    struct hq_config *n = calloc(1, sizeof *n);
    char err[512];
    if (!n) return;
    if (hq_config_load(d->cfg.file, n, err, sizeof err) != HQ_OK) {
        LOG_WARN("VOICE", "reload: %s", err);
        goto out;
    }
    struct hq_config *c = &d->cfg;
    /* voice.enabled, pack, output and max_lag_s wait for a restart: hallqd's
     * reload names each one that changed (config.c's table flags them). */
    unsigned langs = hqd_voice__langs(n->voice_language);
    if ((langs & v->have_langs) == langs) {
        v->langs = langs;
        memcpy(c->voice_language, n->voice_language, sizeof c->voice_language);
    } else {
        LOG_NOTICE("VOICE",
                   "voice.language %s needs clips the pack did not have at start: "
                   "keeping %s",
                   n->voice_language, c->voice_language);
    }
    v->repeat = c->voice_repeat = n->voice_repeat;
    v->gap_ms = c->voice_gap_ms = n->voice_gap_ms;
    v->pause_ms = c->voice_pause_ms = n->voice_pause_ms;
    LOG_INFO("VOICE", "reloaded: %s, %u times, gaps %u/%u ms", c->voice_language, v->repeat,
             v->gap_ms, v->pause_ms);
out:
    hq_config_free(n);
    free(n);
}

/* ---------------------------------------------------------------- module */

int hq_voice_init(struct hq_daemon *d)
{
    const struct hq_config *c = &d->cfg;
    struct hq_voice *v = calloc(1, sizeof *v);
    int rc = HQ_ERR_NOMEM;
    char err[600];
    if (!v) return rc;
    v->d = d;
    v->langs = hqd_voice__langs(c->voice_language);
    v->repeat = c->voice_repeat;
    v->gap_ms = c->voice_gap_ms;
    v->pause_ms = c->voice_pause_ms;
    d->mod.voice = v;
    if (d->api && (rc = hq_api_status_part(d->api, hqd_voice__status_part, v))) goto fail;
    if (!c->voice_enabled) {
        LOG_INFO("VOICE", "voice announcements are off (voice.enabled)");
        return HQ_OK;
    }
    if ((rc = hqd_voice__load_pack(v, c))) goto fail;
    if (!(v->langs & v->have_langs)) return HQ_OK; /* silent, said why */
    v->au = hq_audio_new(c->voice_output, VOICE_RATE, c->voice_max_lag_s * 1000u, err, sizeof err);
    if (!v->au) {
        LOG_ERR("VOICE", "%s: voice.output: %s", c->file, err);
        rc = HQ_ERR_CONFIG;
        goto fail;
    }
    if ((rc = hq_loop_add_fd(d->loop, hq_audio_fd(v->au), EPOLLIN, hqd_voice__on_fd, v))) goto fail;
    if ((rc = hqd_on_result(d, hqd_voice__on_result, v))) goto fail;
    if ((rc = hqd_on_reload(d, hqd_voice__reload, v))) goto fail;
    LOG_INFO("VOICE", "calls are announced on %s, %s, %u times", c->voice_output, c->voice_language,
             c->voice_repeat);
    return HQ_OK;
fail:
    if (v->au) {
        hq_loop_del_fd(d->loop, hq_audio_fd(v->au));
        hq_audio_free(v->au);
    }
    voice_pack_free(&v->pack);
    free(v);
    d->mod.voice = NULL;
    return rc;
}

void hq_voice_fini(struct hq_daemon *d)
{
    struct hq_voice *v = d->mod.voice;
    if (!v) return;
    if (v->au) {
        hq_loop_del_fd(d->loop, hq_audio_fd(v->au));
        hq_audio_free(v->au);
    }
    voice_pack_free(&v->pack);
    free(v);
    d->mod.voice = NULL;
}
