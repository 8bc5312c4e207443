/*
 * gpiod_fake.h — a scripted GPIO chip standing in for libgpiod at link time (as Network UPS
 * Tools tests its drivers): tests/fakes/gpiod_fake.c defines exactly the libgpiod v1 functions
 * hal/gpio.c calls, and a test binary links it instead of -lgpiod.
 *
 * The chip is driven by one-line commands, from a test (gpiod_fake_command) or, in the test
 * daemon hallqd-gpiofake, from the FIFO or file named by $HQ_GPIO_FAKE (read by a thread of
 * the fake; what is in it before the first libgpiod call is applied before that call). The
 * fake writes the lines' state as JSON to "$HQ_GPIO_FAKE.state" after every change:
 *   {"chip": "gpiochip0", "present": true, "lines": {"5": {"out": true, "value": 1,
 *    "requested": true}, ...}}
 *
 * Commands:
 *   chip NAME [NLINES]        the chip appears (found as NAME, /dev/NAME or label fake-NAME)
 *   unplug                    the chip disappears; open event fds reach their end
 *   level OFF 0|1             the input's level, with no event
 *   edge OFF rising|falling [TS_MS]   the level changes and an event is queued, stamped TS_MS
 *                             (default: CLOCK_MONOTONIC now)
 *   busy OFF / free OFF       another program holds the line / lets it go
 *   fail-read OFF             the next event read fails (EIO); the fd is made readable
 *   hangup OFF                the event fd reaches its end (as when a chip goes away)
 *   fail-set OFF / ok-set OFF setting the output fails (EIO) / works again
 */
#ifndef HQ_GPIOD_FAKE_H
#define HQ_GPIOD_FAKE_H

#include <stdbool.h>

#define GPIOD_FAKE_LINES 64

/* Back to no chip, nothing requested, no failures. */
void gpiod_fake_reset(void);
/* Apply one command; 0, or -1 for a command the fake does not understand. */
int gpiod_fake_command(const char *cmd);
/* A line's level (input) or driven value (output); -1 for an offset out of range. */
int gpiod_fake_value(unsigned offset);
/* Whether hallq holds the line now, and whether as an output. */
bool gpiod_fake_requested(unsigned offset);
bool gpiod_fake_is_output(unsigned offset);

#endif
