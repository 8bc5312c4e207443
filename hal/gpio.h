/*
 * gpio.h — GPIO lines through libgpiod (v1, Debian 12's 1.6): inputs with both-edge events on
 * a non-blocking fd for the daemon's loop, and outputs. Kiosk buttons, the printer's
 * paper-near-end sensor, the cabinet door switch and the status LEDs hang on these.
 *
 * Each line holds its own chip handle, so one line that fails (chip unplugged, line taken by
 * another program) can be closed and reopened without disturbing the others. A missing chip or
 * a busy line is an error code and a reason for the status page, never a crash: the caller
 * reports the device offline and tries again later.
 *
 * Tests link tests/fakes/gpiod_fake.c instead of libgpiod: it implements exactly the libgpiod
 * functions this file calls.
 */
#ifndef HQ_GPIO_H
#define HQ_GPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hq.h"

#define HQ_GPIO_WHY_MAX 96

struct hq_gpio_line;

/* One edge as the kernel stamped it. */
struct hq_gpio_edge {
    uint64_t ts_ns; /* the kernel's timestamp (monotonic on Linux >= 5.7; any clock to callers) */
    bool rising;
};

/* Request line `offset` of `chip` ("gpiochip0", "/dev/gpiochip0", the chip's label or its
 * number) as an input with both-edge events; *value gets its level now. HQ_ERR_NOT_FOUND: no
 * such chip or line; HQ_ERR_STATE: the line is held by another consumer; HQ_ERR_IO otherwise.
 * why gets a short English reason on failure. */
int hq_gpio_open_input(const char *chip, unsigned offset, const char *consumer,
                       struct hq_gpio_line **out, int *value, char *why, size_t whylen);
/* Request a line as an output driven to value (0/1). Errors as hq_gpio_open_input. */
int hq_gpio_open_output(const char *chip, unsigned offset, const char *consumer, int value,
                        struct hq_gpio_line **out, char *why, size_t whylen);
/* Release the line and its chip handle. NULL is fine. */
void hq_gpio_close(struct hq_gpio_line *l);

/* An input's event fd (non-blocking; watch for EPOLLIN), -1 for an output. */
int hq_gpio_fd(const struct hq_gpio_line *l);
/* Read up to max pending edges without blocking: the count (0 = none pending), or -HQ_ERR_IO
 * when reading failed or the fd was closed under us (close the line and reopen it later). */
int hq_gpio_read_edges(struct hq_gpio_line *l, struct hq_gpio_edge *ev, int max, char *why,
                       size_t whylen);
/* The line's level now (0/1). HQ_ERR_IO if it cannot be read. */
int hq_gpio_get(struct hq_gpio_line *l, int *value);
/* Drive an output to value (0/1). HQ_ERR_IO if the kernel refused. */
int hq_gpio_set(struct hq_gpio_line *l, int value);

#endif
