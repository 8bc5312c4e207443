/*
 * sim_bus.c — `hallq-sim bus`: call keypads and rating pads on one FF 68 hall bus
 * (PROTOCOLS.md §2). Keys and ratings are typed as commands; like the hardware, a device that
 * gets no echo/acknowledgement resends after 500 ms, up to 3 times. Every host frame is
 * recorded as a line:
 *
 *   display 3 waiting=7 ticket=---    beep 3    echo 3 0C    invite 33    ack 33 5    stars 33 4
 *
 * Commands: key ADDR HEX... | rate ADDR RAW | autorate ADDR RAW [DELAY_MS] | silent ADDR |
 *           wake ADDR | raw HEX... (bytes sent as they are: noise, broken frames) |
 *           miss ADDR [N] (the next N echoes/acknowledgements for ADDR are lost on the line, so
 *           the device resends: `missed-echo 3 0C`, `missed-ack 33 5`) |
 *           fault garbage|badsum|truncate|silence|off|none (what every key, rating and resend
 *           goes through: noise before it, CS inverted, only its first half, nothing at all)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallbus.h"
#include "sim.h"

#define RESEND_MS 500
#define RESENDS 3

struct busdev {
    bool silent;
    /* the frame waiting for its echo (keypad) or acknowledgement (pad) */
    bool pending;
    struct hallbus_frame out;
    int resends;
    uint64_t resend_at;
    int miss; /* echoes/acknowledgements still to lose */
    /* pads: answer invitations by themselves */
    int autorate; /* raw level, 0 = off */
    uint32_t autorate_delay_ms;
    uint64_t rate_at; /* 0 = none scheduled */
};

struct bussim {
    struct hallbus_lexer lx;
    bool keypad[256], pad[256];
    struct busdev dev[256];
    uint32_t bad_seen;
};

/* A device's frame onto the bus, through the fault mode (CS is the byte before the end 16). */
static void put(struct sim *s, const struct hallbus_frame *f)
{
    uint8_t b[HALLBUS_FRAME_MAX];
    size_t n = hallbus_encode(f, b, sizeof b);
    if (n) sim_reply(s, b, n, n - 2, n / 2);
}

static void transmit(struct sim *s, struct busdev *d, const struct hallbus_frame *f)
{
    put(s, f);
    d->out = *f;
    d->pending = true;
    d->resends = 0;
    d->resend_at = sim_now_ms() + RESEND_MS;
}

static void digits(const uint8_t *d, char *out)
{
    for (int i = 0; i < 3; i++)
        out[i] = d[i] <= 9 ? (char)('0' + d[i]) : '-';
    out[3] = 0;
}

static void on_frame(const struct hallbus_frame *f, void *arg)
{
    struct sim *s = arg;
    struct bussim *b = s->priv;
    struct busdev *d = &b->dev[f->addr];
    char hex[3 * HALLBUS_MAX_DATA + 1];
    sim_hex(f->data, f->n, hex, sizeof hex);
    if (f->addr == HALLBUS_BROADCAST) {
        sim_record(s, "broadcast func=%02X data=%s", f->func, hex);
        return;
    }
    if (b->keypad[f->addr]) {
        if (f->func == HALLBUS_FUNC_DISPLAY && f->n == 6) {
            char w[4], t[4];
            digits(f->data, w);
            digits(f->data + 3, t);
            const char *wp = w;
            /* the waiting count as a number: "007" → 7; blanks stay visible */
            if (!strchr(w, '-')) {
                while (wp[0] == '0' && wp[1])
                    wp++;
            }
            sim_record(s, "display %u waiting=%s ticket=%s", f->addr, wp, t);
        } else if (f->func == HALLBUS_FUNC_BEEP && f->n == 0) {
            sim_record(s, "beep %u", f->addr);
        } else if (d->pending && f->func == d->out.func && f->n == d->out.n &&
                   memcmp(f->data, d->out.data, f->n) == 0) {
            if (d->miss) {
                d->miss--;
                sim_record(s, "missed-echo %u %s", f->addr, hex);
                return;
            }
            d->pending = false;
            sim_record(s, "echo %u %s", f->addr, hex);
        } else {
            sim_record(s, "frame %u func=%02X data=%s", f->addr, f->func, hex);
        }
        return;
    }
    if (b->pad[f->addr]) {
        if (f->func == HALLBUS_FUNC_KEY && f->n == 1 && f->data[0] == 0x0B) {
            sim_record(s, "invite %u", f->addr);
            if (d->autorate && !d->silent) d->rate_at = sim_now_ms() + d->autorate_delay_ms;
        } else if (f->func == HALLBUS_FUNC_KEY && f->n == 1) {
            if (d->pending && d->out.data[0] == f->data[0] && d->miss) {
                d->miss--;
                sim_record(s, "missed-ack %u %u", f->addr, f->data[0]);
                return;
            }
            if (d->pending && d->out.data[0] == f->data[0]) d->pending = false;
            sim_record(s, "ack %u %u", f->addr, f->data[0]);
        } else if (f->func == HALLBUS_FUNC_DISPLAY && f->n == 1) {
            sim_record(s, "stars %u %u", f->addr, f->data[0]);
        } else {
            sim_record(s, "frame %u func=%02X data=%s", f->addr, f->func, hex);
        }
        return;
    }
    sim_record(s, "unknown-addr %u func=%02X data=%s", f->addr, f->func, hex);
}

static void on_bytes(struct sim *s, const uint8_t *bytes, size_t n)
{
    struct bussim *b = s->priv;
    hallbus_lexer_feed(&b->lx, bytes, n, on_frame, s);
    uint32_t bad = b->lx.bad_length + b->lx.bad_header + b->lx.bad_checksum + b->lx.bad_end;
    if (bad != b->bad_seen) {
        sim_record(s, "bad-frame length=%u header=%u checksum=%u end=%u", b->lx.bad_length,
                   b->lx.bad_header, b->lx.bad_checksum, b->lx.bad_end);
        b->bad_seen = bad;
    }
}

static void on_tick(struct sim *s, uint64_t now)
{
    struct bussim *b = s->priv;
    for (int a = 0; a < 256; a++) {
        struct busdev *d = &b->dev[a];
        if (d->rate_at && now >= d->rate_at) {
            d->rate_at = 0;
            struct hallbus_frame f = {.addr = (uint8_t)a, .func = HALLBUS_FUNC_RATING, .n = 1};
            f.data[0] = (uint8_t)d->autorate;
            sim_record(s, "rated %d %d", a, d->autorate);
            transmit(s, d, &f);
        }
        if (!d->pending || d->silent || now < d->resend_at) continue;
        char hex[3 * HALLBUS_MAX_DATA + 1];
        sim_hex(d->out.data, d->out.n, hex, sizeof hex);
        if (d->resends == RESENDS) {
            d->pending = false;
            sim_record(s, "no-echo %d %s", a, hex);
            continue;
        }
        put(s, &d->out);
        d->resends++;
        d->resend_at = now + RESEND_MS;
        sim_record(s, "resend %d %s%s", a, hex, sim_fault_note(s));
    }
}

static int addr_arg(struct bussim *b, const char *w, bool need_pad)
{
    char *end;
    long a = strtol(w, &end, 0);
    if (*end || a < 1 || a > 254) return -1;
    if (need_pad ? !b->pad[a] : !(b->keypad[a] || b->pad[a])) return -1;
    return (int)a;
}

static int on_command(struct sim *s, int argc, char **argv)
{
    struct bussim *b = s->priv;
    if (argc < 2) return -1;
    if (strcmp(argv[0], "key") == 0) {
        int a = addr_arg(b, argv[1], false);
        if (a < 0 || argc < 3 || argc - 2 > HALLBUS_MAX_DATA) return -2;
        struct hallbus_frame f = {
            .addr = (uint8_t)a, .func = HALLBUS_FUNC_KEY, .n = (uint8_t)(argc - 2)};
        for (int i = 2; i < argc; i++) {
            int v = sim_parse_hex_byte(argv[i]);
            if (v < 0) return -2;
            f.data[i - 2] = (uint8_t)v;
        }
        transmit(s, &b->dev[a], &f);
        return 0;
    }
    if (strcmp(argv[0], "rate") == 0 || strcmp(argv[0], "autorate") == 0) {
        int a = addr_arg(b, argv[1], true);
        if (a < 0 || argc < 3) return -2;
        long raw = strtol(argv[2], NULL, 0);
        if (raw < 0 || raw > 255) return -2;
        if (argv[0][0] == 'r') {
            struct hallbus_frame f = {.addr = (uint8_t)a, .func = HALLBUS_FUNC_RATING, .n = 1};
            f.data[0] = (uint8_t)raw;
            transmit(s, &b->dev[a], &f);
        } else {
            b->dev[a].autorate = (int)raw;
            b->dev[a].autorate_delay_ms = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 300;
        }
        return 0;
    }
    if (strcmp(argv[0], "raw") == 0) {
        /* Bytes as they are: line noise, a frame with a bad checksum, half a frame. */
        uint8_t bytes[64];
        int n = 0;
        for (int i = 1; i < argc && n < (int)sizeof bytes; i++) {
            int v = sim_parse_hex_byte(argv[i]);
            if (v < 0) return -2;
            bytes[n++] = (uint8_t)v;
        }
        sim_send(s, bytes, (size_t)n);
        sim_record(s, "raw %d bytes", n);
        return 0;
    }
    if (strcmp(argv[0], "miss") == 0) {
        int a = addr_arg(b, argv[1], false);
        long n = argc > 2 ? strtol(argv[2], NULL, 0) : 1;
        if (a < 0 || n < 0 || n > RESENDS + 1) return -2;
        b->dev[a].miss = (int)n;
        sim_record(s, "miss %d %ld", a, n);
        return 0;
    }
    if (strcmp(argv[0], "silent") == 0 || strcmp(argv[0], "wake") == 0) {
        int a = addr_arg(b, argv[1], false);
        if (a < 0) return -2;
        struct busdev *d = &b->dev[a];
        d->silent = argv[0][0] == 's';
        if (d->silent) d->pending = false, d->rate_at = 0;
        sim_record(s, "%s %d", argv[0], a);
        return 0;
    }
    return -1;
}

static void on_fault(struct sim *s)
{
    struct bussim *b = s->priv;
    hallbus_lexer_reset(&b->lx);
}

/* Noise with a false start (FF 13, 68 16) but no FF 68: nothing a lexer may take for a frame. */
static const uint8_t bus_garbage[] = {0x00, 0x55, 0xFF, 0x13, 0x68, 0x16, 0xA5};

static const struct sim_device bus_device = {.name = "bus",
                                             .on_bytes = on_bytes,
                                             .on_command = on_command,
                                             .on_tick = on_tick,
                                             .on_fault = on_fault,
                                             .garbage = bus_garbage,
                                             .n_garbage = sizeof bus_garbage};

static void usage(FILE *f)
{
    fprintf(f, "usage: hallq-sim bus (--pty LINK | --tcp PORT) --keypads 3,4 --pads "
               "33,34\n" SIM_COMMON_USAGE
               "commands: key ADDR HEX... (key 3 00 01 02 0C) | rate ADDR RAW |\n"
               "          autorate ADDR RAW [DELAY_MS] | silent ADDR | wake ADDR | raw HEX... |\n"
               "          miss ADDR [N] |\n" SIM_FAULT_USAGE "          link off|on | quit\n");
}

int sim_bus_main(int argc, char **argv)
{
    static struct bussim b;
    static struct sim s;
    hallbus_lexer_init(&b.lx);
    sim_init(&s, &bus_device, &b);
    static const struct option opts[] = {SIM_COMMON_OPTIONS,
                                         {"keypads", required_argument, 0, 'k'},
                                         {"pads", required_argument, 0, 'p'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = sim_common_option(&s, c, optarg);
        if (r == 1) continue;
        if (r < 0) return usage(stderr), 2;
        switch (c) {
        case 'k':
            if (sim_parse_addrs(optarg, b.keypad)) return usage(stderr), 2;
            break;
        case 'p':
            if (sim_parse_addrs(optarg, b.pad)) return usage(stderr), 2;
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
