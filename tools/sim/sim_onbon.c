/*
 * sim_onbon.c — `hallq-sim onbon`: Onbon BX-5E LED screens on one RS-485 line (drivers/onbon.h,
 * Onbon's "5th dynamic area" protocol). It reads the host's frames with the same lexer and page
 * parser hallqd's driver is built on, answers each request to one of its screens as the
 * document says (ACK A0 00, or NACK A0 01 with an error number), and records what each screen
 * shows:
 *
 *   screen 1 ping
 *   screen 1 area 0 64x16 at 0,0 lit lit=212 hash=5d0c81a3   (two-colour: red, green, yellow)
 *   screen 1 nack 18 (refused: nack 1 18)
 *
 * A page's pixels go to DIR/screen-<address>.pbm with --pbm DIR (lit pixels black), and
 * `show ADDR` prints the page as rows of '#' and '.'. Frames to other addresses are recorded as
 * `other ...` and never answered; the document's wildcard address FFFE is answered by every
 * screen in turn (only sensible with one screen on the line).
 * Commands: nack ADDR ERROR|off | show ADDR | fault garbage|badsum|truncate|silence|off|none
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onbon.h"
#include "sim.h"

#define SCREENS_MAX 16

struct screen {
    uint16_t addr;
    uint8_t colors;
    uint16_t nack; /* answer every request with this error (0 = behave) */
    bool shown;
    struct onbon_area_update page;
};

struct onbonsim {
    struct onbon_lexer lx;
    struct screen sc[SCREENS_MAX];
    size_t n;
    const char *pbm_dir;
    uint32_t bad_seen;
};

static struct onbonsim *osim(struct sim *s)
{
    return s->priv;
}

static struct screen *find(struct onbonsim *o, long addr)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->sc[i].addr == addr) return &o->sc[i];
    return NULL;
}

static void answer(struct sim *s, const struct screen *sc, uint16_t error)
{
    uint8_t data[16], f[64];
    size_t n = onbon_make_answer(error, data, sizeof data);
    /* A screen signs its answers with its own address; 0x0154 is the BX-5E1's device type. */
    struct onbon_packet p = {.dst = ONBON_SRC_HOST,
                             .src = sc->addr,
                             .devtype = 0x0154,
                             .ver = ONBON_PROTO_VER,
                             .n = (uint32_t)n,
                             .data = data};
    size_t fn = onbon_encode(&p, f, sizeof f);
    if (fn) sim_reply(s, f, fn, fn - 2, fn / 2);
}

static uint32_t fnv1a(const uint8_t *b, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static void write_pbm(struct sim *s, const struct screen *sc)
{
    struct onbonsim *o = osim(s);
    if (!o->pbm_dir) return;
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s/screen-%u.pbm", o->pbm_dir, sc->addr);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "hallq-sim onbon: %s: %s\n", tmp, strerror(errno));
        return;
    }
    const struct onbon_area *a = &sc->page.area;
    fprintf(f, "P4\n%u %u\n", a->w, a->h);
    fwrite(sc->page.lit, 1, ((size_t)a->w + 7) / 8 * a->h, f);
    /* Renamed into place whole, so a reader never sees half a page. */
    if (fclose(f) == 0) rename(tmp, path);
}

static void on_page(struct sim *s, struct screen *sc, const struct onbon_frame *f)
{
    static struct onbon_area_update u;
    if (onbon_parse_area(f->data, f->n, sc->colors, &u) != HQ_OK) {
        sim_record(s, "screen %u bad-area len=%u", sc->addr, f->n);
        answer(s, sc, 18); /* ERR_SCREEN_PARA */
        return;
    }
    sc->page = u;
    sc->shown = true;
    const struct onbon_area *a = &u.area;
    size_t bytes = ((size_t)a->w + 7) / 8 * a->h;
    unsigned lit = 0;
    for (size_t i = 0; i < bytes; i++)
        lit += (unsigned)__builtin_popcount(u.lit[i]);
    /* A single-colour screen has one plane: it shows "lit", whatever colour the host meant. */
    static const char *const cn[] = {"dark", "red", "green", "yellow"};
    const char *color = sc->colors == 1 && u.color ? "lit" : cn[u.color & 3];
    sim_record(s, "screen %u area %u %ux%u at %u,%u %s lit=%u hash=%08x", sc->addr, a->id, a->w,
               a->h, a->x, a->y, color, lit, fnv1a(u.lit, bytes));
    write_pbm(s, sc);
    answer(s, sc, 0);
}

static void on_request(struct sim *s, struct screen *sc, const struct onbon_frame *f)
{
    uint8_t group = f->n >= 2 ? f->data[1] : 0, cmd = f->n >= 3 ? f->data[2] : 0;
    if (sc->nack) {
        sim_record(s, "screen %u nack %u%s", sc->addr, sc->nack, sim_fault_note(s));
        answer(s, sc, sc->nack);
    } else if (group == ONBON_GROUP_SYS && cmd == 0x00) {
        sim_record(s, "screen %u ping%s", sc->addr, sim_fault_note(s));
        answer(s, sc, 0);
    } else if (group == ONBON_GROUP_AREA && cmd == 0x00) {
        on_page(s, sc, f);
    } else if (group == ONBON_GROUP_AREA && cmd == 0x01) {
        sim_record(s, "screen %u delete-areas", sc->addr);
        sc->shown = false;
        answer(s, sc, 0);
    } else {
        sim_record(s, "screen %u cmd %02X %02X", sc->addr, group, cmd);
        answer(s, sc, 2); /* ERR_NOCMD */
    }
}

static void on_frame(const struct onbon_frame *f, void *arg)
{
    struct sim *s = arg;
    struct onbonsim *o = osim(s);
    if (f->dst == ONBON_ADDR_ANY) {
        for (size_t i = 0; i < o->n; i++)
            on_request(s, &o->sc[i], f);
        return;
    }
    struct screen *sc = find(o, f->dst);
    if (!sc) {
        sim_record(s, "other %u group=%02X len=%u", f->dst, f->n >= 2 ? f->data[1] : 0, f->n);
        return;
    }
    on_request(s, sc, f);
}

static void on_bytes(struct sim *s, const uint8_t *b, size_t n)
{
    struct onbonsim *o = osim(s);
    onbon_lexer_feed(&o->lx, b, n, on_frame, s);
    uint32_t bad = onbon_lexer_bad(&o->lx);
    if (bad != o->bad_seen) {
        sim_record(s, "bad-frame crc=%u escape=%u length=%u", o->lx.bad_crc, o->lx.bad_escape,
                   o->lx.bad_length);
        o->bad_seen = bad;
    }
}

static int on_command(struct sim *s, int argc, char **argv)
{
    struct onbonsim *o = osim(s);
    if (strcmp(argv[0], "nack") == 0) {
        if (argc != 3) return -2;
        struct screen *sc = find(o, strtol(argv[1], NULL, 0));
        if (!sc) return -2;
        long e = strcmp(argv[2], "off") == 0 ? 0 : strtol(argv[2], NULL, 0);
        if (e < 0 || e > 0xFFFF) return -2;
        sc->nack = (uint16_t)e;
        sim_record(s, "nack %u %s", sc->addr, argv[2]);
        return 0;
    }
    if (strcmp(argv[0], "show") == 0) {
        if (argc != 2) return -2;
        struct screen *sc = find(o, strtol(argv[1], NULL, 0));
        if (!sc) return -2;
        if (!sc->shown) {
            sim_record(s, "screen %u blank", sc->addr);
            return 0;
        }
        const struct onbon_area *a = &sc->page.area;
        size_t stride = ((size_t)a->w + 7) / 8;
        char row[ONBON_MAX_W + 1];
        for (unsigned r = 0; r < a->h; r++) {
            for (unsigned c = 0; c < a->w; c++)
                row[c] = sc->page.lit[r * stride + c / 8] & (0x80 >> (c % 8)) ? '#' : '.';
            row[a->w] = 0;
            sim_record(s, "screen %u row %02u %s", sc->addr, r, row);
        }
        return 0;
    }
    return -1;
}

static void on_fault(struct sim *s)
{
    onbon_lexer_reset(&osim(s)->lx);
}

/* Noise with no A5 in it (that would start a frame): a tail, an escape byte, odd bytes. */
static const uint8_t onbon_garbage[] = {0x00, 0x5A, 0x13, 0xA6, 0xFF};

static const struct sim_device onbon_device = {.name = "onbon",
                                               .on_bytes = on_bytes,
                                               .on_command = on_command,
                                               .on_fault = on_fault,
                                               .garbage = onbon_garbage,
                                               .n_garbage = sizeof onbon_garbage};

static void usage(FILE *f)
{
    fprintf(f, "usage: hallq-sim onbon (--pty LINK | --tcp PORT) --screens 1,2 [--two-color 2]\n"
               "                       [--pbm DIR]\n" SIM_COMMON_USAGE
               "  --screens LIST   the screens' addresses (1..65533) on this line\n"
               "  --two-color LIST those of them that are red + green (双基色)\n"
               "  --pbm DIR        write each screen's page to DIR/screen-ADDR.pbm\n"
               "commands: nack ADDR ERROR|off | show ADDR |\n" SIM_FAULT_USAGE
               "          link off|on | quit\n");
}

/* "1,2,300": add those screens (two: mark them red + green); -1 if malformed. */
static int parse_list(const char *list, struct onbonsim *o, bool two)
{
    const char *p = list;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 0);
        if (end == p || a < 1 || a > 0xFFFD) return -1;
        struct screen *sc = find(o, a);
        if (two) {
            if (!sc) return -1;
            sc->colors = 2;
        } else if (!sc) {
            if (o->n == SCREENS_MAX) return -1;
            o->sc[o->n++] = (struct screen){.addr = (uint16_t)a, .colors = 1};
        }
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return 0;
}

int sim_onbon_main(int argc, char **argv)
{
    static struct onbonsim o;
    static struct sim s;
    onbon_lexer_init(&o.lx);
    sim_init(&s, &onbon_device, &o);
    static const struct option opts[] = {SIM_COMMON_OPTIONS,
                                         {"screens", required_argument, 0, 's'},
                                         {"two-color", required_argument, 0, '2'},
                                         {"pbm", required_argument, 0, 'p'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *two = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = sim_common_option(&s, c, optarg);
        if (r == 1) continue;
        if (r < 0) return usage(stderr), 2;
        switch (c) {
        case 's':
            if (parse_list(optarg, &o, false)) return usage(stderr), 2;
            break;
        case '2':
            two = optarg;
            break;
        case 'p':
            o.pbm_dir = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!o.n || (two && parse_list(two, &o, true))) return usage(stderr), 2;
    return sim_run(&s);
}
