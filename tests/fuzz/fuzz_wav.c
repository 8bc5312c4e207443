/*
 * fuzz_wav.c — WAV headers of a voice pack (drivers/voice.h): a pack is files on disk that a
 * technician may replace, so a truncated or forged RIFF must be refused, not read past. Every
 * accepted file's data must lie inside the buffer; voice_pack_add_wav is fuzzed too.
 */
#include "fuzz.h"
#include "voice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct voice_wav w;
    const char *why = NULL;
    if (voice_wav_parse(data, size, &w, &why) == HQ_OK) {
        if (w.data_off > size || w.data_len > size - w.data_off) __builtin_trap();
    } else if (!why) {
        __builtin_trap();
    }
    struct voice_pack p = {0};
    char err[256];
    (void)voice_pack_add_wav(&p, "fuzz", data, size, err, sizeof err);
    voice_pack_free(&p);
    return 0;
}
