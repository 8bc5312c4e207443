/*
 * test_gpio_input.c — the GPIO debouncer (drivers/gpio_input.c) on tables of edges with
 * timestamps: contact bounce, glitches shorter than the debounce time, long presses, edges
 * read late in one batch, two buttons at once, and the kernel-stamp alignment.
 */
#include "check.h"
#include "gpio_input.h"

/* One step of a table: an edge to `level` at t, or (level < 0) a poll at t. `want` is what
 * the step must report. */
struct step {
    uint64_t t;
    int level;
    int want;
};

#define POLL -1
#define ON GPIO_DB_ON
#define OFF GPIO_DB_OFF
#define NONE GPIO_DB_NONE

static int run(const char *name, uint32_t ms, bool start, const struct step *s, size_t n, int *ons,
               int *offs)
{
    struct gpio_debounce db;
    gpio_debounce_init(&db, ms, start, 0);
    int bad = 0;
    *ons = *offs = 0;
    for (size_t i = 0; i < n; i++) {
        int got = s[i].level == POLL ? gpio_debounce_poll(&db, s[i].t)
                                     : gpio_debounce_edge(&db, s[i].level != 0, s[i].t);
        if (got == ON) ++*ons;
        if (got == OFF) ++*offs;
        if (got != s[i].want) {
            fprintf(stderr, "%s: step %zu (t=%llu): got %d, want %d\n", name, i,
                    (unsigned long long)s[i].t, got, s[i].want);
            bad++;
        }
    }
    return bad;
}

#define RUN(name, ms, start, table, ons, offs)                                                     \
    do {                                                                                           \
        int _on, _off;                                                                             \
        CHECK_EQ_INT(run(name, ms, start, table, HQ_ARRAY_LEN(table), &_on, &_off), 0);            \
        CHECK_EQ_INT(_on, ons);                                                                    \
        CHECK_EQ_INT(_off, offs);                                                                  \
    } while (0)

static void test_tables(void)
{
    /* A clean press and release. */
    static const struct step clean[] = {
        {1000, 1, NONE}, {1049, POLL, NONE}, {1050, POLL, ON},  {1060, POLL, NONE},
        {1300, 0, NONE}, {1349, POLL, NONE}, {1350, POLL, OFF}, {2000, POLL, NONE},
    };
    RUN("clean", 50, false, clean, 1, 1);

    /* Contact bounce on press and on release: one press, one release. */
    static const struct step bounce[] = {
        {1000, 1, NONE}, {1002, 0, NONE},    {1005, 1, NONE},    {1007, 0, NONE},
        {1011, 1, NONE}, {1060, POLL, NONE}, {1061, POLL, ON},   {1500, 0, NONE},
        {1503, 1, NONE}, {1504, 0, NONE},    {1553, POLL, NONE}, {1554, POLL, OFF},
    };
    RUN("bounce", 50, false, bounce, 1, 1);

    /* Glitches shorter than the debounce time never count, however many. */
    static const struct step glitch[] = {
        {1000, 1, NONE},    {1020, 0, NONE}, {1100, 1, NONE}, {1149, 0, NONE},
        {1500, POLL, NONE}, {3000, 1, NONE}, {3010, 0, NONE}, {9000, POLL, NONE},
    };
    RUN("glitch", 50, false, glitch, 0, 0);

    /* A long press is one press, however long it is held, and however often polled. */
    static const struct step longp[] = {
        {1000, 1, NONE},     {1050, POLL, ON}, {2000, POLL, NONE}, {5000, POLL, NONE},
        {10000, POLL, NONE}, {60000, 0, NONE}, {60050, POLL, OFF},
    };
    RUN("long press", 50, false, longp, 1, 1);

    /* Edges read late, all in one batch without polls in between: a level that held long
     * enough between two edges still counts, revealed by the next edge. */
    static const struct step late[] = {
        {1000, 1, NONE}, {1200, 0, ON}, {1400, 1, OFF}, {1410, 0, NONE}, {1500, POLL, NONE},
    };
    RUN("late batch", 50, false, late, 1, 1);

    /* An active-low line idles high: starting active=false from value 1, a fall is a press. */
    CHECK(gpio_input_active(0, true));
    CHECK(!gpio_input_active(1, true));
    CHECK(gpio_input_active(1, false));
    static const struct step low[] = {
        {100, 1, NONE}, {130, 0, NONE}, {140, 1, NONE},    {190, POLL, ON},
        {400, 0, NONE}, {420, 1, NONE}, {500, POLL, NONE},
    };
    RUN("active-low via gpio_input_active", 50, false, low, 1, 0);

    /* A missed edge (two edges to the same level) restarts the wait. */
    static const struct step missed[] = {
        {1000, 1, NONE},
        {1040, 1, NONE},
        {1060, POLL, NONE},
        {1090, POLL, ON},
    };
    RUN("missed edge", 50, false, missed, 1, 0);

    /* Debounce 0: every edge counts at the next poll. */
    static const struct step zero[] = {
        {10, 1, NONE},
        {10, POLL, ON},
        {11, 0, NONE},
        {11, POLL, OFF},
    };
    RUN("debounce 0", 0, false, zero, 1, 1);

    /* Starting active (a door already open at start-up) reports nothing until it changes. */
    static const struct step open_at_start[] = {
        {100, POLL, NONE},
        {500, 0, NONE},
        {549, POLL, NONE},
        {550, POLL, OFF},
    };
    RUN("active at start", 50, true, open_at_start, 0, 1);

    /* Stamps that go backwards are clamped, never a negative interval. */
    static const struct step back[] = {
        {1000, 1, NONE},
        {900, 0, NONE},
        {1049, POLL, NONE},
        {1050, POLL, NONE},
    };
    RUN("backwards stamps", 50, false, back, 0, 0);
}

static void test_deadline(void)
{
    struct gpio_debounce db;
    gpio_debounce_init(&db, 50, false, 0);
    CHECK_EQ_INT(gpio_debounce_deadline(&db), 0);
    gpio_debounce_edge(&db, true, 1000);
    CHECK_EQ_INT(gpio_debounce_deadline(&db), 1050);
    gpio_debounce_edge(&db, false, 1010); /* back to the stable level: nothing pending */
    CHECK_EQ_INT(gpio_debounce_deadline(&db), 0);
    gpio_debounce_edge(&db, true, 1020);
    CHECK_EQ_INT(gpio_debounce_deadline(&db), 1070);
    CHECK_EQ_INT(gpio_debounce_poll(&db, 1070), GPIO_DB_ON);
    CHECK_EQ_INT(gpio_debounce_deadline(&db), 0);
}

/* Two buttons bouncing at the same time, interleaved: each counts its own press only. */
static void test_two_buttons(void)
{
    struct gpio_debounce a, b;
    gpio_debounce_init(&a, 50, false, 0);
    gpio_debounce_init(&b, 50, false, 0);
    int on_a = 0, on_b = 0;
    static const struct {
        int which;
        uint64_t t;
        int level;
    } ev[] = {
        {0, 1000, 1}, {1, 1001, 1}, {0, 1003, 0},
        {1, 1004, 0}, {0, 1006, 1}, {1, 1030, 1}, /* b settles 24 ms after a */
        {0, 1200, 0},                             /* a released; b is still held */
    };
    uint64_t polls[] = {1040, 1055, 1056, 1079, 1080, 1100, 1300};
    size_t e = 0;
    for (size_t p = 0; p < HQ_ARRAY_LEN(polls); p++) {
        for (; e < HQ_ARRAY_LEN(ev) && ev[e].t <= polls[p]; e++) {
            struct gpio_debounce *db = ev[e].which ? &b : &a;
            int r = gpio_debounce_edge(db, ev[e].level, ev[e].t);
            on_a += ev[e].which == 0 && r == GPIO_DB_ON;
            on_b += ev[e].which == 1 && r == GPIO_DB_ON;
        }
        int ra = gpio_debounce_poll(&a, polls[p]), rb = gpio_debounce_poll(&b, polls[p]);
        on_a += ra == GPIO_DB_ON;
        on_b += rb == GPIO_DB_ON;
        if (polls[p] == 1056) {
            CHECK_EQ_INT(on_a, 1); /* a: stable since 1006 */
            CHECK_EQ_INT(on_b, 0);
        }
        if (polls[p] == 1080) CHECK_EQ_INT(on_b, 1); /* b: stable since 1030 */
    }
    CHECK_EQ_INT(on_a, 1);
    CHECK_EQ_INT(on_b, 1);
    CHECK(!a.stable); /* released at 1200, stable by 1300 */
    CHECK(b.stable);
}

static void test_align(void)
{
    /* Three kernel stamps 10 ms and 40 ms apart, read at loop time 5000. */
    uint64_t ts[] = {7000000000ull, 7010000000ull, 7050000000ull};
    uint64_t out[3];
    gpio_input_align(ts, 3, 5000, out);
    CHECK_EQ_INT(out[0], 4950);
    CHECK_EQ_INT(out[1], 4960);
    CHECK_EQ_INT(out[2], 5000);
    /* Out of order: never before the previous edge, never after now. */
    uint64_t ts2[] = {9000000000ull, 8000000000ull, 8500000000ull};
    gpio_input_align(ts2, 3, 5000, out);
    CHECK_EQ_INT(out[0], 5000);
    CHECK_EQ_INT(out[1], 5000);
    CHECK_EQ_INT(out[2], 5000);
    /* A stamp far older than the loop's clock goes to 0, not below. */
    uint64_t ts3[] = {0, 100000000000ull};
    gpio_input_align(ts3, 2, 500, out);
    CHECK_EQ_INT(out[0], 0);
    CHECK_EQ_INT(out[1], 500);
}

int main(void)
{
    test_tables();
    test_deadline();
    test_two_buttons();
    test_align();
    return check_report("test_gpio_input");
}
