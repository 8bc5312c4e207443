/*
 * gpio_input.c — software debouncing of GPIO switches (kiosk buttons, paper sensor, door).
 *
 * Contacts bounce for a few milliseconds and long wires pick up spikes; reporting every edge
 * would issue three tickets for one press. The rule is one line: a level counts when it has
 * held for `ms` without an edge. Time comes from the caller, so the same code runs on the
 * loop's clock in hallqd and on tables of edges in test_gpio_input.
 */
#include "gpio_input.h"

void gpio_debounce_init(struct gpio_debounce *db, uint32_t ms, bool active, uint64_t now)
{
    *db = (struct gpio_debounce){.ms = ms, .stable = active, .raw = active, .raw_at = now};
}

int gpio_debounce_poll(struct gpio_debounce *db, uint64_t now)
{
    if (db->raw == db->stable || now < db->raw_at + db->ms) return GPIO_DB_NONE;
    db->stable = db->raw;
    return db->stable ? GPIO_DB_ON : GPIO_DB_OFF;
}

int gpio_debounce_edge(struct gpio_debounce *db, bool active, uint64_t t)
{
    if (t < db->raw_at) t = db->raw_at; /* stamps never go back */
    /* The level before this edge may have held long enough already: that is a change. */
    int ev = gpio_debounce_poll(db, t);
    /* An edge to the level the wire already has means an opposite edge was missed (the
     * kernel's event FIFO overflowed): the line was not stable, start counting again. */
    db->raw = active;
    db->raw_at = t;
    return ev;
}

uint64_t gpio_debounce_deadline(const struct gpio_debounce *db)
{
    if (db->raw == db->stable) return 0;
    uint64_t t = db->raw_at + db->ms;
    return t ? t : 1;
}

void gpio_input_align(const uint64_t *ts_ns, size_t n, uint64_t now_ms, uint64_t *out_ms)
{
    if (!n) return;
    uint64_t last = ts_ns[n - 1];
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t ago = ts_ns[i] < last ? (last - ts_ns[i]) / 1000000u : 0;
        uint64_t t = ago < now_ms ? now_ms - ago : 0;
        if (i && t < prev) t = prev;
        out_ms[i] = prev = t;
    }
}
