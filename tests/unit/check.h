/*
 * check.h — the tiny assertion kit of the C unit tests. A failed CHECK prints
 * file, line and the expression, counts, and the test goes on; main returns
 * check_report() so ctest sees the failure.
 */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>
#include <string.h>

static int check_failures, check_count;

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        check_count++;                                                                             \
        if (!(expr)) {                                                                             \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long _a = (long long)(a), _b = (long long)(b);                                        \
        check_count++;                                                                             \
        if (_a != _b) {                                                                            \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b,  \
                    _a, _b);                                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *_a = (a), *_b = (b);                                                           \
        check_count++;                                                                             \
        if (!_a || !_b || strcmp(_a, _b) != 0) {                                                   \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a,  \
                    #b, _a ? _a : "(null)", _b ? _b : "(null)");                                   \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_MEM(a, b, n)                                                                      \
    do {                                                                                           \
        check_count++;                                                                             \
        if (memcmp((a), (b), (n)) != 0) {                                                          \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: %s == %s failed (%zu bytes)\n", __FILE__, __LINE__, #a, #b,    \
                    (size_t)(n));                                                                  \
        }                                                                                          \
    } while (0)

static inline int check_report(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}
#endif
