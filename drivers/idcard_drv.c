/*
 * idcard_drv.c — the kiosks' SAM ID-card readers (PROTOCOLS.md §1, idcard.h) behind the driver
 * contract (driver.h). The reader machine in idcard.c polls (find, select, read) on the
 * driver's timer; what it learns leaves this file only as events: a card (type, keyed hash,
 * birth date, masked name — never the number or the name), its removal, a read error.
 *
 * Privacy: the host never hex-dumps this line (private_bytes) and wipes what it read; the
 * identity is wiped here as soon as it was handed over.
 */
#include "idcard_drv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sam {
    struct hq_dev *dev;
    struct idcard_reader *rd;
    uint64_t bad_seen, garbage_seen;
};

void idcard_drv_cap_mask(const char *in, char out[16])
{
    size_t first = 1;
    unsigned char c = (unsigned char)in[0];
    if (c >= 0xf0)
        first = 4;
    else if (c >= 0xe0)
        first = 3;
    else if (c >= 0xc0)
        first = 2;
    size_t o = 0;
    for (; o < first && in[o]; o++)
        out[o] = in[o];
    for (const char *p = in + o; *p && o < 15; p++)
        if (*p == '*') out[o++] = '*';
    out[o] = '\0';
}

static void idcard_drv__event(struct sam *p, struct idcard_event *ev)
{
    struct hq_dev *dev = p->dev;
    const struct hq_host *h = dev->host;
    struct hq_dev_event out = {0};
    struct hq_dev_card card = {0};
    switch (ev->type) {
    case IDCARD_EV_CARD:
        card.type = ev->id.type;
        card.type_en = idcard_type_name(ev->id.type);
        card.type_zh = idcard_type_name_zh(ev->id.type);
        memcpy(card.hash, ev->id.id_hash, sizeof card.hash);
        card.birth_ymd = ev->id.birth_ymd;
        idcard_drv_cap_mask(ev->id.name_masked, card.name_masked);
        _Static_assert(sizeof card.id_sealed == sizeof ev->id.id_sealed, "sealed ID sizes");
        memcpy(card.id_sealed, ev->id.id_sealed, sizeof card.id_sealed);
        card.id_sealed_len = ev->id.id_sealed_len;
        out.type = HQ_DEV_EV_CARD;
        out.card = &card;
        h->event(dev, &out);
        explicit_bzero(&card, sizeof card);
        break;
    case IDCARD_EV_REMOVED:
        out.type = HQ_DEV_EV_CARD_REMOVED;
        h->event(dev, &out);
        break;
    case IDCARD_EV_READ_ERROR:
        out.type = HQ_DEV_EV_CARD_ERROR;
        out.err = ev->err;
        out.text = idcard_fault_text_en(ev->fault);
        out.text_zh = idcard_fault_text_zh(ev->fault);
        out.tries = ev->tries;
        h->event(dev, &out);
        break;
    case IDCARD_EV_ONLINE:
        h->health(dev, HQ_UNIT_LINE, -1, HQ_HEALTH_ONLINE, HQ_OK, "");
        break;
    case IDCARD_EV_OFFLINE:
        /* A reader that stopped answering holds no card any more. */
        out.type = HQ_DEV_EV_CARD_REMOVED;
        h->event(dev, &out);
        h->health(dev, HQ_UNIT_LINE, -1, HQ_HEALTH_OFFLINE, HQ_ERR_TIMEOUT, "no answer for 3 s");
        break;
    default:
        break;
    }
    explicit_bzero(ev, sizeof *ev);
}

/* Run the reader machine: send what is due, take its events, sleep until it next needs us. */
static void idcard_drv__pump(struct sam *p, uint64_t now)
{
    struct hq_dev *dev = p->dev;
    if (!p->rd) return;
    uint8_t out[IDCARD_CMD_FRAME_LEN];
    size_t n = idcard_reader_step(p->rd, now, out);
    if (n) {
        dev->count->frames++;
        dev->host->write(dev, out, n);
    }
    uint64_t bad = (uint64_t)p->rd->lx.bad_checksum + p->rd->lx.bad_length;
    uint64_t garbage = p->rd->lx.garbage;
    if (bad != p->bad_seen || garbage != p->garbage_seen)
        dev->host->bad(dev, (uint32_t)(bad - p->bad_seen), (uint32_t)(garbage - p->garbage_seen));
    p->bad_seen = bad;
    p->garbage_seen = garbage;
    struct idcard_event ev;
    while (p->rd && idcard_reader_next_event(p->rd, &ev))
        idcard_drv__event(p, &ev);
    uint64_t wake = idcard_reader_wake_ms(p->rd);
    dev->host->arm(dev, wake > now ? wake - now : 0);
}

static int idcard_drv_open(struct hq_dev *dev, uint64_t now_ms)
{
    struct sam *p = dev->priv;
    const struct idcard_drv_cfg *c = dev->cfg;
    p->dev = dev;
    p->bad_seen = p->garbage_seen = 0;
    if (!(p->rd = calloc(1, sizeof *p->rd))) return HQ_ERR_NOMEM;
    idcard_reader_init(p->rd, dev->secret, dev->secret_len, c && c->fingerprint, now_ms);
    if (dev->seal_pk) idcard_reader_set_seal_key(p->rd, dev->seal_pk);
    /* The port is open but a reader is only online when it answers. */
    char why[160];
    snprintf(why, sizeof why, "port %s open, reader not answering yet", dev->port ? dev->port : "");
    dev->host->health(dev, HQ_UNIT_LINE, -1, HQ_HEALTH_OFFLINE, HQ_ERR_TIMEOUT, why);
    idcard_drv__pump(p, now_ms);
    return HQ_OK;
}

static void idcard_drv_input(struct hq_dev *dev, const uint8_t *b, size_t n, uint64_t now_ms)
{
    struct sam *p = dev->priv;
    if (!p->rd) return;
    idcard_reader_input(p->rd, b, n, now_ms);
    idcard_drv__pump(p, now_ms);
}

static void idcard_drv_timer(struct hq_dev *dev, uint64_t now_ms)
{
    idcard_drv__pump(dev->priv, now_ms);
}

static void idcard_drv_close(struct hq_dev *dev)
{
    struct sam *p = dev->priv;
    if (!p->rd) return;
    idcard_reader_free(p->rd);
    free(p->rd);
    p->rd = NULL;
}

static const struct hq_drv_key idcard_drv_keys[] = {
    {.name = "fingerprint",
     .type = HQ_DRV_KEY_BOOL,
     HQ_DRV_KEY_FIELD(struct idcard_drv_cfg, fingerprint),
     .doc = "Read with `30 10` (text + photo + fingerprint) for SAMs that insist; the "
            "fingerprint is never kept."},
};

const struct hq_driver hq_driver_sam = {
    .name = "sam",
    .desc = "SAM ID-card readers (身份证阅读器, GA 467 SAM)",
    .role = HQ_DRV_ROLE_READER,
    .link_type = "card_reader",
    .default_baud = 115200,
    .priv_size = sizeof(struct sam),
    .bus_keys = idcard_drv_keys,
    .n_bus_keys = HQ_ARRAY_LEN(idcard_drv_keys),
    .bus_cfg_size = sizeof(struct idcard_drv_cfg),
    .open = idcard_drv_open,
    .input = idcard_drv_input,
    .timer = idcard_drv_timer,
    .close = idcard_drv_close,
    .private_bytes = true,
};
