/*
 * gpio_input.h — a switch on a GPIO line, as the daemon wants to hear it: one change per real
 * press, not one per contact bounce.
 *
 *   raw level   ‾‾‾|_|‾|___________________|‾|_|‾‾‾‾‾‾‾‾‾‾
 *                  bounce   ^ stable for debounce ms: ON      ^ stable again: OFF
 *
 * An edge counts only once the level it leads to has held, unchanged, for the debounce time;
 * a glitch shorter than that is never reported. Pure code: time (milliseconds on any clock
 * that only goes forward) is passed in, so a test can replay tables of edges and the daemon
 * drives it from its loop's timers.
 */
#ifndef HQ_GPIO_INPUT_H
#define HQ_GPIO_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hq.h"

/* What the debouncer reports: nothing, or the stable level changed to active / inactive. */
enum gpio_db_event { GPIO_DB_NONE = 0, GPIO_DB_ON, GPIO_DB_OFF };

struct gpio_debounce {
    uint32_t ms;     /* how long a level must hold to count */
    bool stable;     /* the level last reported (true = active) */
    bool raw;        /* the level on the wire since raw_at */
    uint64_t raw_at; /* when the wire last changed (or an edge was seen) */
};

/* The logical level of a line: active_low lines are active at 0. */
static inline bool gpio_input_active(int value, bool active_low)
{
    return (value != 0) != active_low;
}

/* Start with the line at `active` (its current level, taken as stable) at time now. */
void gpio_debounce_init(struct gpio_debounce *db, uint32_t ms, bool active, uint64_t now);
/* An edge: the line is `active` from time t. Returns the change the edge reveals (the level
 * before it had held long enough by t), GPIO_DB_NONE otherwise. */
int gpio_debounce_edge(struct gpio_debounce *db, bool active, uint64_t t);
/* At time now: the change that has become stable, GPIO_DB_NONE if none. */
int gpio_debounce_poll(struct gpio_debounce *db, uint64_t now);
/* When to poll next: the time a pending change becomes stable, 0 if nothing is pending. */
uint64_t gpio_debounce_deadline(const struct gpio_debounce *db);

/* Kernel event timestamps (ns, any clock) of a batch read at now_ms (the loop's clock) → the
 * loop's milliseconds: the newest edge is placed at now_ms and the intervals between edges are
 * kept, so a batch read late still debounces as it happened. Out-of-order or future stamps
 * are clamped (never later than now, never before the previous edge). */
void gpio_input_align(const uint64_t *ts_ns, size_t n, uint64_t now_ms, uint64_t *out_ms);

#endif
