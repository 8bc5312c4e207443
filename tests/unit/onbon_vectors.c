/*
 * onbon_vectors.c — drivers/onbon.c as a filter for test_onbon_vectors.py, whose own encoder is
 * written from Onbon's document. One request a line on stdin, one answer a line on stdout:
 *
 *   ping DST                                   → frame hex
 *   packet DST SRC TYPE DATAHEX                → frame hex
 *   area DST ID X Y W H COLORS COLOR LITHEX    → frame hex (lit: rows of (W+7)/8 bytes)
 *   lex HEX                                    → "frame DST SRC TYPE DATAHEX" per frame, then
 *                                                "bad CRC ESC LEN garbage G"
 *   parse COLORS DATAHEX                       → "area ID X Y W H COLOR LITHEX" or "error"
 *   render W H TEXT                            → the text as the driver draws it (default font):
 *                                                H rows of '#' and '.', then "missing M clipped C"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onbon.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (s[0] && s[1] && n < cap) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) break;
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static void hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
}

static void on_frame(const struct onbon_frame *f, void *arg)
{
    (void)arg;
    printf("frame %u %u %u ", f->dst, f->src, f->devtype);
    hex(f->data, f->n);
    printf(";");
}

int main(void)
{
    static char line[4 * ONBON_FRAME_MAX];
    static uint8_t a[ONBON_FRAME_MAX], b[ONBON_FRAME_MAX];
    static struct onbon_lexer lx;
    static struct onbon_area_update u;
    while (fgets(line, sizeof line, stdin)) {
        char word[16], hx[sizeof line];
        unsigned v[8];
        size_t n = 0;
        hx[0] = 0;
        if (sscanf(line, "%15s", word) != 1) continue;
        if (strcmp(word, "ping") == 0 && sscanf(line, "%*s %u", &v[0]) == 1) {
            n = onbon_make_ping((uint16_t)v[0], a, sizeof a);
            hex(a, n);
        } else if (strcmp(word, "packet") == 0 &&
                   sscanf(line, "%*s %u %u %u %s", &v[0], &v[1], &v[2], hx) >= 3) {
            struct onbon_packet p = {.dst = (uint16_t)v[0],
                                     .src = (uint16_t)v[1],
                                     .devtype = (uint16_t)v[2],
                                     .ver = ONBON_PROTO_VER};
            p.n = (uint32_t)unhex(hx, b, sizeof b);
            p.data = b;
            n = onbon_encode(&p, a, sizeof a);
            hex(a, n);
        } else if (strcmp(word, "area") == 0 &&
                   sscanf(line, "%*s %u %u %u %u %u %u %u %u %s", &v[0], &v[1], &v[2], &v[3], &v[4],
                          &v[5], &v[6], &v[7], hx) == 9) {
            struct onbon_area ar = {.id = (uint8_t)v[1],
                                    .x = (uint16_t)v[2],
                                    .y = (uint16_t)v[3],
                                    .w = (uint16_t)v[4],
                                    .h = (uint16_t)v[5],
                                    .colors = (uint8_t)v[6]};
            static uint8_t lit[ONBON_MAX_W / 8 * ONBON_MAX_H];
            unhex(hx, lit, sizeof lit);
            size_t dn = 0;
            if (onbon_make_area(&ar, lit, (uint8_t)v[7], b, sizeof b, &dn) == HQ_OK) {
                struct onbon_packet p = {.dst = (uint16_t)v[0],
                                         .src = ONBON_SRC_HOST,
                                         .devtype = ONBON_TYPE_ANY,
                                         .ver = ONBON_PROTO_VER,
                                         .n = (uint32_t)dn,
                                         .data = b};
                hex(a, onbon_encode(&p, a, sizeof a));
            } else {
                printf("error");
            }
        } else if (strcmp(word, "lex") == 0 && sscanf(line, "%*s %s", hx) == 1) {
            onbon_lexer_init(&lx);
            n = unhex(hx, a, sizeof a);
            onbon_lexer_feed(&lx, a, n, on_frame, NULL);
            printf("bad %u %u %u garbage %u", lx.bad_crc, lx.bad_escape, lx.bad_length, lx.garbage);
        } else if (strcmp(word, "parse") == 0 && sscanf(line, "%*s %u %s", &v[0], hx) == 2) {
            n = unhex(hx, a, sizeof a);
            if (onbon_parse_area(a, n, (uint8_t)v[0], &u) == HQ_OK) {
                printf("area %u %u %u %u %u %u ", u.area.id, u.area.x, u.area.y, u.area.w, u.area.h,
                       u.color);
                hex(u.lit, (size_t)(u.area.w + 7) / 8 * u.area.h);
            } else {
                printf("error");
            }
        } else if (strcmp(word, "render") == 0 &&
                   sscanf(line, "%*s %u %u %n", &v[0], &v[1], (int *)&v[2]) >= 2) {
            static uint8_t lit[ONBON_MAX_W / 8 * ONBON_MAX_H];
            struct onbon_font *f = NULL;
            unsigned m = 0, c = 0;
            line[strcspn(line, "\n")] = 0;
            if (v[0] > ONBON_MAX_W || v[1] > ONBON_MAX_H ||
                onbon_font_open(onbon_default_font(v[1]), v[1] >= 16 ? 16 : v[1], &f) != HQ_OK ||
                onbon_render(f, line + v[2], v[0], v[1], lit, &m, &c) != HQ_OK) {
                printf("error");
            } else {
                for (unsigned r = 0; r < v[1]; r++) {
                    for (unsigned x = 0; x < v[0]; x++)
                        putchar(lit[r * ((v[0] + 7) / 8) + x / 8] & (0x80 >> (x % 8)) ? '#' : '.');
                    putchar('\n');
                }
                printf("missing %u clipped %u", m, c);
            }
            onbon_font_close(f);
        } else {
            printf("?");
        }
        printf("\n");
        fflush(stdout);
    }
    return 0;
}
