/*
 * sim_led.c — `hallq-sim led`: window LED bars on one A0 90 bus (PROTOCOLS.md §3). Each good
 * frame for one of its bars is recorded as decoded text and acknowledged with AA (unless that
 * bar was started with --no-ack, like bars without the feature):
 *
 *   bar 3 show "A012请到3号窗口" red     bar 3 idle-text "欢迎" green     bar 3 show-idle
 *
 * Broadcast frames (ADDR FF) are recorded as `bar * ...` and never acknowledged.
 * Commands: ack ADDR on|off | fault garbage|badsum|truncate|silence|off|none
 * A bar's only answer is AA, so under a fault: noise before it (garbage), a corrupt 55 instead
 * (badsum), nothing (truncate cuts the one byte; silence).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledbar.h"
#include "sim.h"

struct ledsim {
    struct ledbar_lexer lx;
    bool bar[256], no_ack[256];
    uint32_t bad_seen;
};

static void on_frame(const struct ledbar_frame *f, void *arg)
{
    struct sim *s = arg;
    struct ledsim *l = s->priv;
    bool bcast = f->addr == LEDBAR_BROADCAST;
    if (!bcast && !l->bar[f->addr]) {
        sim_record(s, "other %u cmd=%02X len=%u", f->addr, f->cmd, f->n);
        return;
    }
    char who[8];
    if (bcast)
        snprintf(who, sizeof who, "*");
    else
        snprintf(who, sizeof who, "%u", f->addr);
    if (f->cmd == LEDBAR_CMD_SHOW || f->cmd == LEDBAR_CMD_STORE_IDLE) {
        char text[4 * LEDBAR_MAX_DATA];
        int color = -1;
        if (ledbar_cells_to_utf8(f->data, f->n, text, sizeof text, &color)) {
            sim_record(s, "bar %s bad-cells", who);
            return; /* a bar shows nothing and does not acknowledge garbage */
        }
        const char *cn = color == -2 ? "mixed" : ledbar_color_name(color);
        sim_record(s, "bar %s %s \"%s\" %s", who, f->cmd == LEDBAR_CMD_SHOW ? "show" : "idle-text",
                   text, cn ? cn : "none");
    } else if (f->cmd == LEDBAR_CMD_SHOW_IDLE) {
        sim_record(s, "bar %s show-idle", who);
    } else {
        sim_record(s, "bar %s cmd=%02X len=%u", who, f->cmd, f->n);
        return;
    }
    if (!bcast && !l->no_ack[f->addr]) {
        uint8_t aa = LEDBAR_ACK;
        sim_reply(s, &aa, 1, 0, 0);
    }
}

static void on_bytes(struct sim *s, const uint8_t *b, size_t n)
{
    struct ledsim *l = s->priv;
    ledbar_lexer_feed(&l->lx, b, n, on_frame, s);
    uint32_t bad = l->lx.bad_checksum + l->lx.bad_length;
    if (bad != l->bad_seen) {
        sim_record(s, "bad-frame checksum=%u length=%u", l->lx.bad_checksum, l->lx.bad_length);
        l->bad_seen = bad;
    }
}

static int on_command(struct sim *s, int argc, char **argv)
{
    struct ledsim *l = s->priv;
    if (strcmp(argv[0], "ack") == 0) {
        if (argc != 3) return -2;
        long a = strtol(argv[1], NULL, 0);
        if (a < 0 || a > 254 || !l->bar[a]) return -2;
        l->no_ack[a] = strcmp(argv[2], "off") == 0;
        sim_record(s, "ack %ld %s", a, l->no_ack[a] ? "off" : "on");
        return 0;
    }
    return -1;
}

static void on_fault(struct sim *s)
{
    struct ledsim *l = s->priv;
    ledbar_lexer_reset(&l->lx);
}

/* Noise without an AA in it: the host must not take any of it for an acknowledgement. */
static const uint8_t led_garbage[] = {0x00, 0x55, 0x13, 0xFF, 0x0A};

static const struct sim_device led_device = {.name = "led",
                                             .on_bytes = on_bytes,
                                             .on_command = on_command,
                                             .on_fault = on_fault,
                                             .garbage = led_garbage,
                                             .n_garbage = sizeof led_garbage};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: hallq-sim led (--pty LINK | --tcp PORT) --bars 3,4 [--no-ack 4]\n" SIM_COMMON_USAGE
        "commands: ack ADDR on|off |\n" SIM_FAULT_USAGE "          link off|on | quit\n");
}

int sim_led_main(int argc, char **argv)
{
    static struct ledsim l;
    static struct sim s;
    ledbar_lexer_init(&l.lx);
    sim_init(&s, &led_device, &l);
    static const struct option opts[] = {SIM_COMMON_OPTIONS,
                                         {"bars", required_argument, 0, 'b'},
                                         {"no-ack", required_argument, 0, 'n'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = sim_common_option(&s, c, optarg);
        if (r == 1) continue;
        if (r < 0) return usage(stderr), 2;
        switch (c) {
        case 'b':
            if (sim_parse_addrs(optarg, l.bar)) return usage(stderr), 2;
            break;
        case 'n':
            if (sim_parse_addrs(optarg, l.no_ack)) return usage(stderr), 2;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    return sim_run(&s);
}
