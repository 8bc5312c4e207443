/*
 * fuzz_config.c — the configuration loader (firmware/config.c) reads a file a technician
 * edits by hand. Any text must give either a configuration or one error line, never a crash,
 * and a configuration it accepts must start an engine.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024) return 0;
    char *json = malloc(size + 1);
    if (!json) return 0;
    memcpy(json, data, size);
    json[size] = 0;
    static struct hq_config cfg;
    char err[512];
    memset(&cfg, 0, sizeof cfg);
    if (hq_config_parse("fuzz.json", "/nonexistent", json, &cfg, err, sizeof err) == HQ_OK) {
        struct hq_engine eng;
        if (hq_engine_init(&eng, &cfg.engine) == HQ_OK) hq_engine_free(&eng);
    } else if (!err[0]) {
        __builtin_trap(); /* a refusal must say why */
    }
    hq_config_free(&cfg);
    free(json);
    return 0;
}
