/*
 * hqd_qr.c — a ticket's QR code as SVG (see hqd_qr.h).
 *
 * The SVG is one path of horizontal runs of dark modules in module units
 * (viewBox), so it scales to any size without blur and stays small: a
 * status URL of about 60 bytes is a version 4 symbol, some 3 KB of SVG.
 */
#include "hqd_qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"
#include "store.h"

#define QR_QUIET 4 /* modules of white around the symbol (ISO/IEC 18004) */

struct qr__buf {
    char *p;
    size_t len, cap;
    int err;
};

static void qr__put(struct qr__buf *b, const char *fmt, ...)
{
    if (b->err) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->err = HQ_ERR_INVALID;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->err = HQ_ERR_NOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

int hqd_qr_svg(const char *text, char **svg, size_t *len)
{
    *svg = NULL;
    *len = 0;
    QRcode *q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (!q) return errno == ENOMEM ? HQ_ERR_NOMEM : HQ_ERR_INVALID;
    int w = q->width, size = w + 2 * QR_QUIET;
    struct qr__buf b = {0};
    qr__put(&b,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
            "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
            "<path fill=\"#000\" d=\"",
            size, size, size, size);
    for (int y = 0; y < w; y++) {
        for (int x = 0; x < w;) {
            if (!(q->data[y * w + x] & 1)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < w && (q->data[y * w + x + run] & 1))
                run++;
            qr__put(&b, "M%d %dh%dv1h-%dz", x + QR_QUIET, y + QR_QUIET, run, run);
            x += run;
        }
    }
    qr__put(&b, "\"/></svg>\n");
    QRcode_free(q);
    if (b.err) {
        free(b.p);
        return b.err;
    }
    *svg = b.p;
    *len = b.len;
    return HQ_OK;
}

int hqd_qr_ticket(struct hq_api_req *req, const char *tail)
{
    char key[40], url[HQ_CFG_PATH_MAX + 64];
    uint8_t u[16];
    const char *slash = strchr(tail, '/');
    size_t n = slash ? (size_t)(slash - tail) : 0;
    if (!slash || strcmp(slash, "/qr.svg") != 0 || n >= sizeof key) return HQ_ERR_NOT_FOUND;
    memcpy(key, tail, n);
    key[n] = 0;
    /* by uuid only: a number (A012) is not a key here */
    if (hq_uuid_parse(key, u) != HQ_OK || hq_engine_find_uuid(&req->d->eng, u) < 0)
        return HQ_ERR_NOT_FOUND;
    char canon[37];
    hq_uuid_format(u, canon);
    snprintf(url, sizeof url, "%s/t/%s", req->d->cfg.public_url, canon);
    char *svg;
    size_t len;
    int rc = hqd_qr_svg(url, &svg, &len);
    if (rc) return rc;
    rc = hq_api_reply_text(req, 200, "image/svg+xml", svg, len);
    free(svg);
    return rc;
}
