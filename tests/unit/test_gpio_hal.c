/*
 * test_gpio_hal.c — hal/gpio.c against the scripted chip of tests/fakes/gpiod_fake.c (linked
 * instead of libgpiod): requests, levels, edges with their stamps through the non-blocking
 * event fd, and every failure the daemon must survive: chip missing (and appearing later),
 * line beyond the chip, line busy, an event read error, an fd that reaches its end, an
 * output the kernel refuses to set. Edges read from the fd are fed to the debouncer, as
 * hqd_gpio.c does, so a bouncing press makes exactly one press.
 */
#include <poll.h>
#include <string.h>

#include "check.h"
#include "gpio.h"
#include "gpio_input.h"
#include "gpiod_fake.h"

static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP));
}

static void test_missing_then_present(void)
{
    gpiod_fake_reset();
    struct hq_gpio_line *l = NULL;
    char why[HQ_GPIO_WHY_MAX] = "";
    int v = -1;
    CHECK_EQ_INT(hq_gpio_open_input("gpiochip0", 3, "hallq", &l, &v, why, sizeof why),
                 HQ_ERR_NOT_FOUND);
    CHECK(l == NULL);
    CHECK(strstr(why, "gpiochip0") != NULL);
    /* the chip appears (a module loaded late): the same call now works */
    CHECK_EQ_INT(gpiod_fake_command("chip gpiochip0 8"), 0);
    CHECK_EQ_INT(gpiod_fake_command("level 3 1"), 0);
    CHECK_EQ_INT(hq_gpio_open_input("gpiochip0", 3, "hallq", &l, &v, why, sizeof why), HQ_OK);
    CHECK(l != NULL);
    CHECK_EQ_INT(v, 1);
    CHECK(gpiod_fake_requested(3));
    CHECK(hq_gpio_fd(l) >= 0);
    hq_gpio_close(l);
    CHECK(!gpiod_fake_requested(3));
    /* by path, by label and by number too */
    const char *names[] = {"/dev/gpiochip0", "fake-gpiochip0", "0"};
    for (size_t i = 0; i < HQ_ARRAY_LEN(names); i++) {
        l = NULL;
        CHECK_EQ_INT(hq_gpio_open_input(names[i], 3, "hallq", &l, &v, why, sizeof why), HQ_OK);
        hq_gpio_close(l);
    }
    /* a line the chip does not have */
    l = NULL;
    CHECK_EQ_INT(hq_gpio_open_input("gpiochip0", 8, "hallq", &l, &v, why, sizeof why),
                 HQ_ERR_NOT_FOUND);
    CHECK(l == NULL);
    CHECK(strstr(why, "no line 8") != NULL);
}

static void test_busy(void)
{
    gpiod_fake_reset();
    gpiod_fake_command("chip gpiochip0");
    gpiod_fake_command("busy 4");
    struct hq_gpio_line *l = NULL, *l2 = NULL;
    char why[HQ_GPIO_WHY_MAX] = "";
    int v;
    CHECK_EQ_INT(hq_gpio_open_input("gpiochip0", 4, "hallq", &l, &v, why, sizeof why),
                 HQ_ERR_STATE);
    CHECK(strstr(why, "busy") != NULL);
    CHECK_EQ_INT(hq_gpio_open_output("gpiochip0", 4, "hallq", 0, &l, why, sizeof why),
                 HQ_ERR_STATE);
    gpiod_fake_command("free 4");
    CHECK_EQ_INT(hq_gpio_open_input("gpiochip0", 4, "hallq", &l, &v, why, sizeof why), HQ_OK);
    /* our own second request of the same line is refused as busy too */
    CHECK_EQ_INT(hq_gpio_open_input("gpiochip0", 4, "hallq", &l2, &v, why, sizeof why),
                 HQ_ERR_STATE);
    hq_gpio_close(l);
}

static void test_edges_and_debounce(void)
{
    gpiod_fake_reset();
    gpiod_fake_command("chip gpiochip0");
    gpiod_fake_command("level 5 1"); /* an active-low button idles high */
    struct hq_gpio_line *l = NULL;
    char why[HQ_GPIO_WHY_MAX] = "";
    int v = -1;
    CHECK_EQ_INT(hq_gpio_open_input("gpiochip0", 5, "hallq", &l, &v, why, sizeof why), HQ_OK);
    CHECK_EQ_INT(v, 1);
    int fd = hq_gpio_fd(l);
    struct hq_gpio_edge ev[16];
    /* nothing pending: 0 at once, never a blocked read */
    CHECK(!readable(fd));
    CHECK_EQ_INT(hq_gpio_read_edges(l, ev, 16, why, sizeof why), 0);
    /* a bouncing press: fall, rise, fall within 8 ms, stamped by the "kernel" */
    gpiod_fake_command("edge 5 falling 10000");
    gpiod_fake_command("edge 5 rising 10003");
    gpiod_fake_command("edge 5 falling 10008");
    CHECK(readable(fd));
    int n = hq_gpio_read_edges(l, ev, 16, why, sizeof why);
    CHECK_EQ_INT(n, 3);
    CHECK(!ev[0].rising && ev[1].rising && !ev[2].rising);
    CHECK_EQ_INT(ev[0].ts_ns, 10000000000ull);
    CHECK_EQ_INT(ev[2].ts_ns, 10008000000ull);
    int v2 = -1;
    CHECK_EQ_INT(hq_gpio_get(l, &v2), HQ_OK);
    CHECK_EQ_INT(v2, 0);
    /* through the debouncer as the daemon does it (read at loop time 500 ms) */
    struct gpio_debounce db;
    gpio_debounce_init(&db, 50, gpio_input_active(v, true), 0);
    uint64_t ts[16], t[16];
    for (int i = 0; i < n; i++)
        ts[i] = ev[i].ts_ns;
    gpio_input_align(ts, (size_t)n, 500, t);
    CHECK_EQ_INT(t[0], 492);
    int presses = 0;
    for (int i = 0; i < n; i++)
        presses +=
            gpio_debounce_edge(&db, gpio_input_active(ev[i].rising, true), t[i]) == GPIO_DB_ON;
    CHECK_EQ_INT(gpio_debounce_deadline(&db), 550);
    presses += gpio_debounce_poll(&db, 549) == GPIO_DB_ON;
    CHECK_EQ_INT(presses, 0);
    presses += gpio_debounce_poll(&db, 550) == GPIO_DB_ON;
    CHECK_EQ_INT(presses, 1);
    /* more edges than one read takes come in the next read */
    for (int i = 0; i < 20; i++)
        gpiod_fake_command(i % 2 ? "edge 5 falling" : "edge 5 rising");
    CHECK_EQ_INT(hq_gpio_read_edges(l, ev, 16, why, sizeof why), 16);
    CHECK_EQ_INT(hq_gpio_read_edges(l, ev, 16, why, sizeof why), 4);
    CHECK_EQ_INT(hq_gpio_read_edges(l, ev, 16, why, sizeof why), 0);
    hq_gpio_close(l);
}

static void test_read_failures(void)
{
    gpiod_fake_reset();
    gpiod_fake_command("chip gpiochip0");
    struct hq_gpio_line *l = NULL;
    char why[HQ_GPIO_WHY_MAX] = "";
    int v;
    CHECK_EQ_INT(hq_gpio_open_input("gpiochip0", 6, "hallq", &l, &v, why, sizeof why), HQ_OK);
    gpiod_fake_command("fail-read 6");
    CHECK(readable(hq_gpio_fd(l)));
    CHECK_EQ_INT(hq_gpio_read_edges(l, (struct hq_gpio_edge[16]){0}, 16, why, sizeof why),
                 -HQ_ERR_IO);
    CHECK(strstr(why, "reading edges") != NULL);
    /* the fd reaching its end (the chip went away) is an error too, not "no edges" */
    gpiod_fake_command("hangup 6");
    CHECK(readable(hq_gpio_fd(l)));
    CHECK_EQ_INT(hq_gpio_read_edges(l, (struct hq_gpio_edge[16]){0}, 16, why, sizeof why),
                 -HQ_ERR_IO);
    hq_gpio_close(l);
    /* reopened after the failure, it works again */
    CHECK_EQ_INT(hq_gpio_open_input("gpiochip0", 6, "hallq", &l, &v, why, sizeof why), HQ_OK);
    gpiod_fake_command("edge 6 rising");
    CHECK_EQ_INT(hq_gpio_read_edges(l, (struct hq_gpio_edge[16]){0}, 16, why, sizeof why), 1);
    /* unplugging the chip ends every open event fd */
    gpiod_fake_command("unplug");
    CHECK_EQ_INT(hq_gpio_read_edges(l, (struct hq_gpio_edge[16]){0}, 16, why, sizeof why),
                 -HQ_ERR_IO);
    hq_gpio_close(l);
}

static void test_outputs(void)
{
    gpiod_fake_reset();
    gpiod_fake_command("chip gpiochip0");
    struct hq_gpio_line *l = NULL;
    char why[HQ_GPIO_WHY_MAX] = "";
    CHECK_EQ_INT(hq_gpio_open_output("gpiochip0", 7, "hallq", 1, &l, why, sizeof why), HQ_OK);
    CHECK(gpiod_fake_is_output(7));
    CHECK_EQ_INT(gpiod_fake_value(7), 1);
    CHECK_EQ_INT(hq_gpio_fd(l), -1);
    CHECK_EQ_INT(hq_gpio_set(l, 0), HQ_OK);
    CHECK_EQ_INT(gpiod_fake_value(7), 0);
    gpiod_fake_command("fail-set 7");
    CHECK_EQ_INT(hq_gpio_set(l, 1), HQ_ERR_IO);
    CHECK_EQ_INT(gpiod_fake_value(7), 0);
    gpiod_fake_command("ok-set 7");
    CHECK_EQ_INT(hq_gpio_set(l, 1), HQ_OK);
    CHECK_EQ_INT(gpiod_fake_value(7), 1);
    /* reading edges of an output is nothing, never a crash */
    CHECK_EQ_INT(hq_gpio_read_edges(l, (struct hq_gpio_edge[4]){0}, 4, why, sizeof why), 0);
    hq_gpio_close(l);
    CHECK(!gpiod_fake_requested(7));
    /* a set on an input is refused by the HAL itself */
    int v;
    CHECK_EQ_INT(hq_gpio_open_input("gpiochip0", 7, "hallq", &l, &v, why, sizeof why), HQ_OK);
    CHECK_EQ_INT(hq_gpio_set(l, 1), HQ_ERR_INVALID);
    hq_gpio_close(l);
    /* the fake understands its language, and refuses what it does not */
    CHECK_EQ_INT(gpiod_fake_command("wiggle 3"), -1);
    CHECK_EQ_INT(gpiod_fake_command("edge 99 rising"), -1);
    CHECK_EQ_INT(gpiod_fake_command("edge 3 sideways"), -1);
}

int main(void)
{
    test_missing_then_present();
    test_busy();
    test_edges_and_debounce();
    test_read_failures();
    test_outputs();
    return check_report("test_gpio_hal");
}
