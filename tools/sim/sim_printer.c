/*
 * sim_printer.c — a network thermal ticket printer without the paper.
 *
 * Listens on TCP like a printer's raw port (9100), decodes the ESC/POS it
 * receives with the same decoder the tests use, and writes every ticket to
 * --out DIR as ticket-N.json (lines, sizes, alignment, QR payload, cut) plus
 * ticket-N.png (the ticket drawn: text with FreeType from a CJK font, the QR
 * with libqrencode), one line per ticket in tickets.jsonl, and the raw bytes
 * of each connection in conn-N.bin (to prove a spooler passed them intact). It answers the
 * real-time status query DLE EOT n (10 04 n) like the printer of §4:
 *
 *   n=1: 0x12 | 08 offline      n=2: 0x12 | 04 cover open | 20 paper-end stop
 *   n=4: 0x12 | 0C paper near end | 60 paper end
 *
 * Its state is switched by lines on stdin or on --control FIFO:
 *   paper near-end|end|ok    cover open|closed    online|offline    status    quit
 * With the paper out or the cover open, tickets are held and come out when
 * the printer can print again. Offline is a powered-off or unplugged
 * printer: open connections drop with whatever they had not yet printed, and
 * new ones are refused, so status queries go unanswered and a CUPS socket
 * queue keeps retrying its job, as it does in a hall.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <fontconfig/fontconfig.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_SYNTHESIS_H
#include <png.h>
#include <qrencode.h>

#include "escpos.h"
#include "escpos_decode.h"
#include "hq.h"
#include "sim.h"

#define SIMP_MAX_CLIENTS 8
#define SIMP_MAX_HELD 64

enum { SIMP_PAPER_OK = 0, SIMP_PAPER_NEAR, SIMP_PAPER_END };

struct simp;

struct simp_client {
    int fd;
    FILE *raw; /* every byte received on this connection: conn-N.bin */
    struct escpos_decoder *dec;
    struct simp *sim;
};

struct simp {
    const char *out_dir;
    int width;
    int listen_fd; /* -1 while offline */
    const char *host;
    int port; /* the port actually bound, kept across offline/online */
    int control_fd;
    bool stdin_open;
    struct simp_client clients[SIMP_MAX_CLIENTS];
    int paper;
    bool cover_open, offline, quit;
    int next_ticket;
    int next_conn;
    int pty_client, pty_slave; /* --status-pty: the client slot of the pty's master, -1 = none */
    struct escpos_dticket *held[SIMP_MAX_HELD];
    int n_held;
    FT_Library ft;
    FT_Face face;
};

static volatile sig_atomic_t simp_stop;

static void simp_on_signal(int sig)
{
    (void)sig;
    simp_stop = 1;
}

/* ------------------------------------------------------------ the status */

static uint8_t simp_status_byte(const struct simp *s, int n)
{
    uint8_t b = 0x12;
    bool paper_end = s->paper == SIMP_PAPER_END;
    switch (n) {
    case 1:
        if (paper_end || s->cover_open) b |= 0x08; /* a printer that cannot print is offline */
        break;
    case 2:
        if (s->cover_open) b |= 0x04;
        if (paper_end) b |= 0x20;
        break;
    case 4:
        if (s->paper != SIMP_PAPER_OK) b |= 0x0C; /* the near-end sensor sees an empty roll too */
        if (paper_end) b |= 0x60;
        break;
    }
    return b;
}

static bool simp_can_print(const struct simp *s)
{
    return s->paper != SIMP_PAPER_END && !s->cover_open && !s->offline;
}

/* -------------------------------------------------------------- drawing */

struct simp_img {
    int w, h;
    uint8_t *px; /* 8-bit grey, 255 = paper */
};

static int simp_img_grow(struct simp_img *im, int h)
{
    if (h <= im->h) return 0;
    uint8_t *p = realloc(im->px, (size_t)im->w * (size_t)h);
    if (!p) return -1;
    memset(p + (size_t)im->w * (size_t)im->h, 255, (size_t)im->w * (size_t)(h - im->h));
    im->px = p;
    im->h = h;
    return 0;
}

static void simp_fill(struct simp_img *im, int x, int y, int w, int h)
{
    for (int j = y; j < y + h && j < im->h; j++)
        for (int i = x; i < x + w && i < im->w; i++)
            if (i >= 0 && j >= 0) im->px[(size_t)j * (size_t)im->w + (size_t)i] = 0;
}

static int simp_utf8_next(const char **s)
{
    const uint8_t *p = (const uint8_t *)*s;
    int cp = p[0], k = 1;
    if (p[0] >= 0xF0 && p[1] && p[2] && p[3])
        cp = (p[0] & 7) << 18 | (p[1] & 63) << 12 | (p[2] & 63) << 6 | (p[3] & 63), k = 4;
    else if (p[0] >= 0xE0 && p[1] && p[2])
        cp = (p[0] & 15) << 12 | (p[1] & 63) << 6 | (p[2] & 63), k = 3;
    else if (p[0] >= 0xC0 && p[1])
        cp = (p[0] & 31) << 6 | (p[1] & 63), k = 2;
    *s += k;
    return cp;
}

/* Draw one text line; returns the height used. */
static int simp_draw_text(struct simp *s, struct simp_img *im, int y, const struct escpos_dline *l)
{
    int lh = 24 * l->h + 6;
    if (simp_img_grow(im, y + lh)) return lh;
    if (!s->face) return lh;
    /* ASCII glyphs are half the width of Chinese ones on the printer: scale
     * the font so a CJK glyph is 24·w dots wide and 24·h high. */
    FT_Set_Pixel_Sizes(s->face, (FT_UInt)(24 * l->w), (FT_UInt)(24 * l->h));
    int total = 0;
    for (const char *p = l->text; *p;) {
        int cp = simp_utf8_next(&p);
        total += (cp < 0x80 ? 12 : 24) * l->w;
    }
    int x = l->align == 1 ? (im->w - total) / 2 : l->align == 2 ? im->w - total : 0;
    if (x < 0) x = 0;
    int baseline = y + 24 * l->h * 7 / 8;
    for (const char *p = l->text; *p;) {
        int cp = simp_utf8_next(&p);
        int cell = (cp < 0x80 ? 12 : 24) * l->w;
        if (FT_Load_Char(s->face, (FT_ULong)cp, FT_LOAD_DEFAULT) == 0) {
            if (l->bold) FT_GlyphSlot_Embolden(s->face->glyph);
            if (FT_Render_Glyph(s->face->glyph, FT_RENDER_MODE_NORMAL) == 0) {
                FT_Bitmap *bm = &s->face->glyph->bitmap;
                int gx = x + s->face->glyph->bitmap_left;
                if (cp < 0x80) gx = x + (cell - (int)bm->width) / 2;
                int gy = baseline - s->face->glyph->bitmap_top;
                for (unsigned j = 0; j < bm->rows; j++)
                    for (unsigned i = 0; i < bm->width; i++) {
                        int px = gx + (int)i, py = gy + (int)j;
                        if (px < 0 || px >= im->w || py < y || py >= im->h) continue;
                        uint8_t c = bm->buffer[j * (unsigned)bm->pitch + i];
                        uint8_t *d = &im->px[(size_t)py * (size_t)im->w + (size_t)px];
                        if (255 - c < *d) *d = (uint8_t)(255 - c);
                    }
            }
        }
        x += cell;
    }
    return lh;
}

static int simp_draw_qr(struct simp_img *im, int y, const struct escpos_dline *l)
{
    QRcode *q =
        QRcode_encodeData((int)strlen(l->text), (const unsigned char *)l->text, 0, QR_ECLEVEL_M);
    if (!q) return 0;
    int m = l->qr_module ? l->qr_module : 3;
    int size = q->width * m, quiet = 4 * m;
    int h = size + 2 * quiet;
    if (simp_img_grow(im, y + h)) {
        QRcode_free(q);
        return h;
    }
    int x = l->align == 1 ? (im->w - size) / 2 : l->align == 2 ? im->w - size - quiet : quiet;
    if (x < 0) x = 0;
    for (int j = 0; j < q->width; j++)
        for (int i = 0; i < q->width; i++)
            if (q->data[j * q->width + i] & 1) simp_fill(im, x + i * m, y + quiet + j * m, m, m);
    QRcode_free(q);
    return h;
}

static int simp_write_png(const char *path, const struct simp_img *im)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)im->w, (png_uint_32)im->h, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int j = 0; j < im->h; j++)
        png_write_row(png, im->px + (size_t)j * (size_t)im->w);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return fclose(f) ? -1 : 0;
}

static int simp_render_png(struct simp *s, const struct escpos_dticket *t, const char *path)
{
    struct simp_img im = {.w = s->width};
    int y = 16;
    for (size_t i = 0; i < t->n_lines; i++) {
        const struct escpos_dline *l = &t->lines[i];
        y += l->kind == ESCPOS_DLINE_QR ? simp_draw_qr(&im, y, l) : simp_draw_text(s, &im, y, l);
    }
    y += 30 * (t->feed_lines > 10 ? 10 : t->feed_lines) + 16;
    simp_img_grow(&im, y);
    int rc = im.px ? simp_write_png(path, &im) : -1;
    free(im.px);
    return rc;
}

/* ------------------------------------------------------------- the tickets */

static cJSON *simp_ticket_json(const struct simp *s, const struct escpos_dticket *t, int n)
{
    static const char *const align[] = {"left", "center", "right"};
    static const char *const cut[] = {"none", "partial", "full"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", n);
    cJSON_AddNumberToObject(o, "width", s->width);
    cJSON *lines = cJSON_AddArrayToObject(o, "lines");
    for (size_t i = 0; i < t->n_lines; i++) {
        const struct escpos_dline *l = &t->lines[i];
        cJSON *j = cJSON_CreateObject();
        if (l->kind == ESCPOS_DLINE_QR) {
            cJSON_AddStringToObject(j, "qr", l->text);
            cJSON_AddNumberToObject(j, "module", l->qr_module);
        } else {
            cJSON_AddStringToObject(j, "text", l->text);
            cJSON_AddNumberToObject(j, "w", l->w);
            cJSON_AddNumberToObject(j, "h", l->h);
            cJSON_AddBoolToObject(j, "bold", l->bold);
            cJSON_AddNumberToObject(j, "columns", l->columns);
            cJSON_AddBoolToObject(j, "overflow", l->overflow);
        }
        cJSON_AddStringToObject(j, "align", align[l->align % 3]);
        cJSON_AddItemToArray(lines, j);
    }
    cJSON_AddStringToObject(o, "qr", t->qr);
    char ec[2] = {t->qr_ec, 0};
    cJSON_AddStringToObject(o, "qr_ec", ec);
    cJSON_AddNumberToObject(o, "qr_model", t->qr_model);
    cJSON_AddStringToObject(o, "cut", cut[t->cut % 3]);
    cJSON_AddNumberToObject(o, "feed_lines", t->feed_lines);
    cJSON_AddBoolToObject(o, "chinese", t->chinese);
    cJSON_AddBoolToObject(o, "non_gb", t->non_gb);
    cJSON_AddNumberToObject(o, "unknown_commands", t->unknown);
    cJSON_AddBoolToObject(o, "truncated", t->truncated);
    return o;
}

static int simp_write_file(const char *path, const char *text)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    fputs(text, f);
    fputc('\n', f);
    if (fclose(f)) return -1;
    return rename(tmp, path);
}

/* The ticket comes out: PNG first, then the JSON (a reader that sees the
 * JSON finds the PNG complete). */
static void simp_emit(struct simp *s, const struct escpos_dticket *t)
{
    int n = ++s->next_ticket;
    char path[1024], png[1024];
    snprintf(path, sizeof path, "%s/ticket-%d.png.tmp", s->out_dir, n);
    snprintf(png, sizeof png, "%s/ticket-%d.png", s->out_dir, n);
    if (simp_render_png(s, t, path) || rename(path, png))
        fprintf(stderr, "sim-printer: cannot write %s: %s\n", png, strerror(errno));
    cJSON *o = simp_ticket_json(s, t, n);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) return;
    snprintf(path, sizeof path, "%s/tickets.jsonl", s->out_dir);
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s\n", text);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/ticket-%d.json", s->out_dir, n);
    if (simp_write_file(path, text))
        fprintf(stderr, "sim-printer: cannot write %s: %s\n", path, strerror(errno));
    fprintf(stderr, "sim-printer: ticket %d: %zu lines, qr \"%s\", cut %d\n", n, t->n_lines, t->qr,
            t->cut);
    free(text);
}

static void simp_release_held(struct simp *s)
{
    if (!simp_can_print(s)) return;
    for (int i = 0; i < s->n_held; i++) {
        simp_emit(s, s->held[i]);
        free(s->held[i]);
    }
    s->n_held = 0;
}

static void simp_on_ticket(const struct escpos_dticket *t, void *arg)
{
    struct simp_client *c = arg;
    struct simp *s = c->sim;
    if (simp_can_print(s) && s->n_held == 0) {
        simp_emit(s, t);
        return;
    }
    if (s->n_held >= SIMP_MAX_HELD) {
        fprintf(stderr, "sim-printer: buffer full, ticket dropped\n");
        return;
    }
    struct escpos_dticket *copy = malloc(sizeof *copy);
    if (!copy) return;
    *copy = *t;
    s->held[s->n_held++] = copy;
    fprintf(stderr, "sim-printer: ticket held (%d waiting) until paper and cover are ok\n",
            s->n_held);
}

static void simp_on_status(int n, void *arg)
{
    struct simp_client *c = arg;
    if (n < 1 || n > 4) return; /* a real printer ignores the others */
    uint8_t b = simp_status_byte(c->sim, n);
    if (write(c->fd, &b, 1) != 1)
        fprintf(stderr, "sim-printer: status reply failed: %s\n", strerror(errno));
}

/* ------------------------------------------------------------ the control */

static void simp_go_offline(struct simp *s);
static int simp_go_online(struct simp *s);

static void simp_print_state(const struct simp *s)
{
    static const char *const paper[] = {"ok", "near-end", "end"};
    printf("state paper=%s cover=%s %s held=%d printed=%d\n", paper[s->paper],
           s->cover_open ? "open" : "closed", s->offline ? "offline" : "online", s->n_held,
           s->next_ticket);
    fflush(stdout);
}

static void simp_command(struct simp *s, char *line)
{
    char *nl = strpbrk(line, "\r\n");
    if (nl) *nl = 0;
    if (!*line) return;
    if (strcmp(line, "paper near-end") == 0)
        s->paper = SIMP_PAPER_NEAR;
    else if (strcmp(line, "paper end") == 0)
        s->paper = SIMP_PAPER_END;
    else if (strcmp(line, "paper ok") == 0)
        s->paper = SIMP_PAPER_OK;
    else if (strcmp(line, "cover open") == 0)
        s->cover_open = true;
    else if (strcmp(line, "cover closed") == 0)
        s->cover_open = false;
    else if (strcmp(line, "offline") == 0)
        simp_go_offline(s);
    else if (strcmp(line, "online") == 0)
        simp_go_online(s);
    else if (strcmp(line, "quit") == 0)
        s->quit = true;
    else if (strcmp(line, "status") != 0) {
        fprintf(stderr,
                "sim-printer: unknown command \"%s\" (paper near-end|end|ok, "
                "cover open|closed, online|offline, status, quit)\n",
                line);
        return;
    }
    simp_release_held(s);
    simp_print_state(s);
}

/* Lines from stdin or the FIFO; partial lines wait for their end. */
static void simp_read_control(struct simp *s, int fd, char *buf, size_t *len, size_t cap)
{
    ssize_t n = read(fd, buf + *len, cap - 1 - *len);
    if (n <= 0) {
        if (fd == 0 && (n == 0 || errno != EAGAIN)) s->stdin_open = false;
        return;
    }
    *len += (size_t)n;
    buf[*len] = 0;
    char *p = buf, *nl;
    while ((nl = strchr(p, '\n'))) {
        *nl = 0;
        simp_command(s, p);
        p = nl + 1;
    }
    *len = strlen(p);
    memmove(buf, p, *len + 1);
    if (*len >= cap - 1) *len = 0; /* a line too long for a command */
}

/* ---------------------------------------------------------- the sockets */

static void simp_close_client(struct simp_client *c, bool lose_buffer)
{
    if (!lose_buffer) escpos_decoder_finish(c->dec);
    escpos_decoder_free(c->dec);
    if (c->raw) fclose(c->raw);
    c->raw = NULL;
    close(c->fd);
    c->fd = -1;
    c->dec = NULL;
}

static void simp_accept(struct simp *s)
{
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) return;
    for (int i = 0; i < SIMP_MAX_CLIENTS; i++) {
        struct simp_client *c = &s->clients[i];
        if (c->fd >= 0) continue;
        c->fd = fd;
        c->sim = s;
        c->dec = escpos_decoder_new(s->width, simp_on_ticket, simp_on_status, c);
        if (!c->dec) break;
        char path[1024];
        snprintf(path, sizeof path, "%s/conn-%d.bin", s->out_dir, ++s->next_conn);
        c->raw = fopen(path, "wb");
        return;
    }
    close(fd); /* busy: a printer with no free connection drops it */
}

static int simp_listen(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || bind(fd, (void *)&a, sizeof a) ||
        listen(fd, 8)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void simp_go_offline(struct simp *s)
{
    if (s->offline) return;
    s->offline = true;
    for (int i = 0; i < SIMP_MAX_CLIENTS; i++)
        if (s->clients[i].fd >= 0 && i != s->pty_client) simp_close_client(&s->clients[i], true);
    close(s->listen_fd);
    s->listen_fd = -1;
}

static int simp_go_online(struct simp *s)
{
    if (!s->offline) return 0;
    s->listen_fd = simp_listen(s->host, s->port);
    if (s->listen_fd < 0) {
        fprintf(stderr, "sim-printer: cannot listen again on %s:%d: %s\n", s->host, s->port,
                strerror(errno));
        return -1;
    }
    s->offline = false;
    return 0;
}

static void simp_usage(void)
{
    fprintf(stderr,
            "usage: printer --out DIR [--port N (9100; 0 = any)] [--bind ADDR (127.0.0.1)]\n"
            "               [--width 58|80] [--control FIFO] [--font FILE] [--status-pty LINK]\n"
            "Prints \"listening on ADDR:PORT\" on stdout once ready. Commands on stdin or\n"
            "the FIFO: paper near-end|end|ok, cover open|closed, online|offline, status, quit\n"
            "--status-pty: a serial status port too (a pty reached through LINK) that answers\n"
            "DLE EOT like the TCP port, and is silent while the printer is offline.\n");
}

static void simp_open_font(struct simp *s, const char *path)
{
    char file[1024] = "";
    int index = 0;
    if (path) {
        snprintf(file, sizeof file, "%s", path);
    } else if (FcInit()) {
        /* Noto Sans CJK SC from Debian's fonts-noto-cjk; fontconfig knows where */
        FcPattern *pat = FcNameParse((const FcChar8 *)"Noto Sans CJK SC:lang=zh-cn");
        FcConfigSubstitute(NULL, pat, FcMatchPattern);
        FcDefaultSubstitute(pat);
        FcResult r;
        FcPattern *m = FcFontMatch(NULL, pat, &r);
        FcChar8 *f = NULL;
        if (m && FcPatternGetString(m, FC_FILE, 0, &f) == FcResultMatch) {
            snprintf(file, sizeof file, "%s", (const char *)f);
            FcPatternGetInteger(m, FC_INDEX, 0, &index);
        }
        if (m) FcPatternDestroy(m);
        FcPatternDestroy(pat);
    }
    static const char *const fixed[] = {"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                                        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"};
    if (FT_Init_FreeType(&s->ft)) return;
    if (*file && FT_New_Face(s->ft, file, index, &s->face) == 0) return;
    for (size_t i = 0; i < HQ_ARRAY_LEN(fixed); i++)
        if (FT_New_Face(s->ft, fixed[i], i == 0 ? 2 : 0, &s->face) == 0) return;
    s->face = NULL;
    fprintf(stderr, "sim-printer: no CJK font found (install fonts-noto-cjk): PNGs show no text\n");
}

int sim_printer_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},
        {"port", required_argument, 0, 'p'},
        {"bind", required_argument, 0, 'b'},
        {"width", required_argument, 0, 'w'},
        {"control", required_argument, 0, 'c'},
        {"font", required_argument, 0, 'f'},
        {"status-pty", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    static struct simp s;
    const char *host = "127.0.0.1", *control = NULL, *font = NULL, *status_pty = NULL;
    int port = 9100, c;
    s.width = ESCPOS_DOTS_80;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:p:b:w:c:f:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            status_pty = optarg;
            break;
        case 'o':
            s.out_dir = optarg;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 'b':
            host = optarg;
            break;
        case 'w':
            s.width = atoi(optarg) == 58 ? ESCPOS_DOTS_58 : ESCPOS_DOTS_80;
            break;
        case 'c':
            control = optarg;
            break;
        case 'f':
            font = optarg;
            break;
        default:
            simp_usage();
            return 2;
        }
    }
    if (!s.out_dir || port < 0 || port > 65535) {
        simp_usage();
        return 2;
    }
    mkdir(s.out_dir, 0755);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, simp_on_signal);
    signal(SIGTERM, simp_on_signal);
    for (int i = 0; i < SIMP_MAX_CLIENTS; i++)
        s.clients[i].fd = -1;
    s.control_fd = -1;
    s.pty_client = s.pty_slave = -1;
    if (status_pty) {
        struct simp_client *pc = &s.clients[SIMP_MAX_CLIENTS - 1];
        if (sim_pty_make(status_pty, &pc->fd, &s.pty_slave)) return 1;
        pc->sim = &s;
        pc->dec = escpos_decoder_new(s.width, simp_on_ticket, simp_on_status, pc);
        if (!pc->dec) return 1;
        s.pty_client = SIMP_MAX_CLIENTS - 1;
    }
    if (control) {
        if (mkfifo(control, 0600) && errno != EEXIST) {
            fprintf(stderr, "sim-printer: %s: %s\n", control, strerror(errno));
            return 1;
        }
        /* O_RDWR: the FIFO never reports end-of-file when a writer goes away */
        s.control_fd = open(control, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (s.control_fd < 0) {
            fprintf(stderr, "sim-printer: %s: %s\n", control, strerror(errno));
            return 1;
        }
    }
    s.listen_fd = simp_listen(host, port);
    if (s.listen_fd < 0) {
        fprintf(stderr, "sim-printer: cannot listen on %s:%d: %s\n", host, port, strerror(errno));
        return 1;
    }
    simp_open_font(&s, font);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    getsockname(s.listen_fd, (void *)&a, &al);
    s.host = host;
    s.port = ntohs(a.sin_port);
    printf("listening on %s:%d\n", host, s.port);
    fflush(stdout);
    s.stdin_open = true;
    char stdin_buf[256], ctl_buf[256];
    size_t stdin_len = 0, ctl_len = 0;
    while (!s.quit && !simp_stop) {
        struct pollfd p[SIMP_MAX_CLIENTS + 3];
        int who[SIMP_MAX_CLIENTS + 3], n = 0;
        if (s.stdin_open) p[n] = (struct pollfd){0, POLLIN, 0}, who[n++] = -2;
        if (s.control_fd >= 0) p[n] = (struct pollfd){s.control_fd, POLLIN, 0}, who[n++] = -3;
        if (s.offline && s.pty_client >= 0) /* read and dropped: an offline printer is mute */
            p[n] = (struct pollfd){s.clients[s.pty_client].fd, POLLIN, 0}, who[n++] = s.pty_client;
        if (!s.offline) {
            p[n] = (struct pollfd){s.listen_fd, POLLIN, 0}, who[n++] = -1;
            for (int i = 0; i < SIMP_MAX_CLIENTS; i++)
                if (s.clients[i].fd >= 0)
                    p[n] = (struct pollfd){s.clients[i].fd, POLLIN, 0}, who[n++] = i;
        }
        if (poll(p, (nfds_t)n, 500) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < n; i++) {
            if (!p[i].revents) continue;
            if (who[i] == -2)
                simp_read_control(&s, 0, stdin_buf, &stdin_len, sizeof stdin_buf);
            else if (who[i] == -3)
                simp_read_control(&s, s.control_fd, ctl_buf, &ctl_len, sizeof ctl_buf);
            else if (who[i] == -1)
                simp_accept(&s);
            else if (s.offline) {
                uint8_t drop[256];
                if (read(s.clients[who[i]].fd, drop, sizeof drop) < 0 && errno != EAGAIN)
                    fprintf(stderr, "sim-printer: status pty: %s\n", strerror(errno));
            } else {
                struct simp_client *cl = &s.clients[who[i]];
                uint8_t buf[4096];
                ssize_t r = read(cl->fd, buf, sizeof buf);
                if (r > 0 && cl->raw) {
                    fwrite(buf, 1, (size_t)r, cl->raw);
                    fflush(cl->raw);
                }
                if (r > 0)
                    escpos_decoder_feed(cl->dec, buf, (size_t)r);
                else if (r == 0 || (errno != EAGAIN && errno != EINTR))
                    simp_close_client(cl, false);
            }
        }
    }
    for (int i = 0; i < SIMP_MAX_CLIENTS; i++)
        if (s.clients[i].fd >= 0) simp_close_client(&s.clients[i], false);
    if (s.pty_slave >= 0) close(s.pty_slave);
    if (status_pty) unlink(status_pty);
    for (int i = 0; i < s.n_held; i++)
        free(s.held[i]);
    if (s.face) FT_Done_Face(s.face);
    if (s.ft) FT_Done_FreeType(s.ft);
    if (s.listen_fd >= 0) close(s.listen_fd);
    return 0;
}
