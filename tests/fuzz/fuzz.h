/*
 * fuzz.h — what every fuzz target shares. Each tests/fuzz/fuzz_<parser>.c defines
 * LLVMFuzzerTestOneInput(); with clang and -DHQ_FUZZ=ON it is linked with libFuzzer, and in
 * every build it is also linked with regress_main.c, which replays the stored corpus and the
 * crashes kept as regression cases (ctest fuzz_regress_<target>).
 */
#ifndef HQ_FUZZ_H
#define HQ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Cut data into pieces at sizes chosen by the input itself, so lexers see arbitrary splits:
 * the first byte seeds the piece lengths. Calls fn for each piece. */
static inline void fuzz_split(const uint8_t *data, size_t size,
                              void (*fn)(const uint8_t *p, size_t n, void *arg), void *arg)
{
    if (!size) return;
    uint32_t seed = data[0] * 2654435761u + 1;
    data++, size--;
    while (size) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 64;
        if (n > size) n = size;
        fn(data, n, arg);
        data += n, size -= n;
    }
}

#endif
