/*
 * gpio.c — libgpiod v1 behind the project's error codes (see gpio.h).
 *
 * libgpiod's event fd blocks by default; the daemon's loop must never block, so the fd is
 * switched to O_NONBLOCK and read with gpiod_line_event_read_multiple(), which then fails with
 * EAGAIN when nothing is pending. Only these libgpiod functions are used, so that
 * tests/fakes/gpiod_fake.c can stand in for the library: gpiod_chip_open_lookup,
 * gpiod_chip_close, gpiod_chip_get_line, gpiod_line_request_both_edges_events,
 * gpiod_line_request_output, gpiod_line_event_get_fd, gpiod_line_event_read_multiple,
 * gpiod_line_get_value, gpiod_line_set_value, gpiod_line_release.
 */
#include "gpio.h"

#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GPIO_BATCH 16 /* the kernel's event FIFO per line holds 16 */

struct hq_gpio_line {
    struct gpiod_chip *chip;
    struct gpiod_line *line;
    int fd; /* event fd of an input, -1 for an output */
};

static int gpio__err(int e)
{
    switch (e) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
    case EINVAL: /* offset beyond the chip's lines */
        return HQ_ERR_NOT_FOUND;
    case EBUSY:
        return HQ_ERR_STATE;
    case ENOMEM:
        return HQ_ERR_NOMEM;
    default:
        return HQ_ERR_IO;
    }
}

/* The reason a person reads on the status page: "line 3 of gpiochip0 is busy ...". */
static int gpio__fail(int e, char *why, size_t whylen, const char *what, const char *chip,
                      unsigned offset)
{
    int rc = gpio__err(e);
    if (!why || !whylen) return rc;
    if (rc == HQ_ERR_STATE)
        snprintf(why, whylen, "line %u of %s is busy (held by another program)", offset, chip);
    else
        snprintf(why, whylen, "%s line %u of %s: %s", what, offset, chip, strerror(e));
    return rc;
}

static int gpio__open(const char *chip, unsigned offset, struct hq_gpio_line **out, char *why,
                      size_t whylen)
{
    *out = NULL;
    struct hq_gpio_line *l = calloc(1, sizeof *l);
    if (!l) return HQ_ERR_NOMEM;
    l->fd = -1;
    errno = 0;
    l->chip = gpiod_chip_open_lookup(chip);
    if (!l->chip) {
        int e = errno ? errno : ENODEV;
        free(l);
        if (why && whylen) snprintf(why, whylen, "no GPIO chip %s: %s", chip, strerror(e));
        return gpio__err(e);
    }
    errno = 0;
    l->line = gpiod_chip_get_line(l->chip, offset);
    if (!l->line) {
        int e = errno ? errno : EINVAL;
        gpiod_chip_close(l->chip);
        free(l);
        if (why && whylen)
            snprintf(why, whylen, "chip %s has no line %u: %s", chip, offset, strerror(e));
        return gpio__err(e);
    }
    *out = l;
    return HQ_OK;
}

int hq_gpio_open_input(const char *chip, unsigned offset, const char *consumer,
                       struct hq_gpio_line **out, int *value, char *why, size_t whylen)
{
    struct hq_gpio_line *l;
    int rc = gpio__open(chip, offset, &l, why, whylen);
    if (rc) return rc;
    errno = 0;
    if (gpiod_line_request_both_edges_events(l->line, consumer) < 0) {
        int e = errno ? errno : EIO;
        rc = gpio__fail(e, why, whylen, "requesting", chip, offset);
        goto fail;
    }
    l->fd = gpiod_line_event_get_fd(l->line);
    int fl = l->fd >= 0 ? fcntl(l->fd, F_GETFL) : -1;
    if (fl < 0 || fcntl(l->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        int e = errno ? errno : EBADF;
        gpio__fail(e, why, whylen, "event fd of", chip, offset);
        rc = HQ_ERR_IO;
        goto fail;
    }
    int v = gpiod_line_get_value(l->line);
    if (v < 0) {
        int e = errno ? errno : EIO;
        gpio__fail(e, why, whylen, "reading", chip, offset);
        rc = HQ_ERR_IO;
        goto fail;
    }
    if (value) *value = v;
    *out = l;
    return HQ_OK;
fail:
    hq_gpio_close(l);
    return rc;
}

int hq_gpio_open_output(const char *chip, unsigned offset, const char *consumer, int value,
                        struct hq_gpio_line **out, char *why, size_t whylen)
{
    struct hq_gpio_line *l;
    int rc = gpio__open(chip, offset, &l, why, whylen);
    if (rc) return rc;
    errno = 0;
    if (gpiod_line_request_output(l->line, consumer, value ? 1 : 0) < 0) {
        int e = errno ? errno : EIO;
        rc = gpio__fail(e, why, whylen, "requesting", chip, offset);
        hq_gpio_close(l);
        return rc;
    }
    *out = l;
    return HQ_OK;
}

void hq_gpio_close(struct hq_gpio_line *l)
{
    if (!l) return;
    /* closing the chip releases its lines too; release first all the same, so a fake or a
     * library that keeps lines per handle sees the order the documentation asks for */
    if (l->line) gpiod_line_release(l->line);
    if (l->chip) gpiod_chip_close(l->chip);
    free(l);
}

int hq_gpio_fd(const struct hq_gpio_line *l)
{
    return l ? l->fd : -1;
}

int hq_gpio_read_edges(struct hq_gpio_line *l, struct hq_gpio_edge *ev, int max, char *why,
                       size_t whylen)
{
    struct gpiod_line_event buf[GPIO_BATCH];
    if (max > GPIO_BATCH) max = GPIO_BATCH;
    if (!l || l->fd < 0 || max <= 0) return 0;
    errno = 0;
    int n = gpiod_line_event_read_multiple(l->line, buf, (unsigned)max);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return 0;
        /* EIO for a short read: the fd reached its end (the chip went away) */
        if (why && whylen)
            snprintf(why, whylen, "reading edges: %s", strerror(errno ? errno : EIO));
        return -HQ_ERR_IO;
    }
    for (int i = 0; i < n; i++) {
        ev[i].ts_ns = (uint64_t)buf[i].ts.tv_sec * 1000000000u + (uint64_t)buf[i].ts.tv_nsec;
        ev[i].rising = buf[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE;
    }
    return n;
}

int hq_gpio_get(struct hq_gpio_line *l, int *value)
{
    if (!l) return HQ_ERR_INVALID;
    int v = gpiod_line_get_value(l->line);
    if (v < 0) return HQ_ERR_IO;
    *value = v;
    return HQ_OK;
}

int hq_gpio_set(struct hq_gpio_line *l, int value)
{
    if (!l || l->fd >= 0) return HQ_ERR_INVALID;
    return gpiod_line_set_value(l->line, value ? 1 : 0) < 0 ? HQ_ERR_IO : HQ_OK;
}
