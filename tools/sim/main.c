/*
 * main.c — hallq-sim, the hall device simulators: `hallq-sim <device> [options]`. Each device
 * speaks the DEVICE side of its protocol over a pty or TCP so that hallqd and the tests can
 * talk to it as to the real thing. To add a device: write tools/sim/sim_<device>.c with
 * `int sim_<device>_main(int argc, char **argv)`, add one line to the table below and the
 * file to tools/sim.cmake.
 */
#include <stdio.h>
#include <string.h>

#include "sim.h"

static const struct {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *what;
} sim_devices[] = {
    {"idcard", sim_idcard_main, "ID-card SAM reader (身份证阅读器), PROTOCOLS.md §1"},
    {"bus", sim_bus_main, "hall bus: call keypads (呼叫器) and rating pads (评价器), §2"},
    {"led", sim_led_main, "window LED bars (窗口屏), §3"},
    {"onbon", sim_onbon_main, "Onbon BX-5E LED screens (仰邦), drivers/onbon.h"},
    {"printer", sim_printer_main, "ticket printer (ESC/POS on TCP 9100, 热敏打印机), §4"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: hallq-sim <device> [options]   (hallq-sim <device> --help)\n"
               "devices:\n");
    for (size_t i = 0; i < sizeof sim_devices / sizeof sim_devices[0]; i++)
        fprintf(f, "  %-8s %s\n", sim_devices[i].name, sim_devices[i].what);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof sim_devices / sizeof sim_devices[0]; i++)
        if (strcmp(argv[1], sim_devices[i].name) == 0)
            return sim_devices[i].main(argc - 1, argv + 1);
    fprintf(stderr, "hallq-sim: unknown device '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
