/*
 * hqd_voice.h — hallqd's voice: every committed call (and recall) is spoken,
 * "请 A012 号 到 3 号窗口 办理", from a voice pack (drivers/voice) through
 * the announcement queue (hal/audio).
 *
 * The pack: each clip is taken from voice.pack (relative to the config file)
 * if that folder has it, else from the pack built with hallq
 * (HQ_DEFAULT_VOICE_PACK, BUILD/voice, made by tools/make-voice-pack.sh), so
 * a hall can re-record only the words it wants. A bad or missing clip in the
 * configured folder stops start-up (a configuration error, named); without a
 * configured folder and no usable default pack, hallqd runs silent and says so.
 *
 * /api/v1/status gains "voice": enabled, output, queued, announced, played,
 * trimmed, superseded, failed, last_error.
 */
#ifndef HQ_HQD_VOICE_H
#define HQ_HQD_VOICE_H

#include "daemon.h"

/* Module start / stop (hallqd's hqd_modules[], after "api"). Start fails
 * (HQ_ERR_CONFIG) only for a bad configured pack or output folder. */
int hq_voice_init(struct hq_daemon *d);
void hq_voice_fini(struct hq_daemon *d);

#endif
