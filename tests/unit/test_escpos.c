/*
 * test_escpos.c — the ticket renderer and the ESC/POS decoder.
 *
 * Golden files under tests/data/escpos/ hold the exact bytes of fixed
 * tickets at 58 and 80 mm; they were checked by hand against PROTOCOLS.md §4
 * (see tests/data/escpos/README). Run with HQ_REGEN_GOLDEN=1 to rewrite them
 * on purpose after a deliberate layout change, then check them again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "escpos.h"
#include "escpos_decode.h"
#include "hq.h"

static const char *const QR_URL = "https://hall.example/t/3f2a9c1e-5b7d-4e21-9a0c-6d8e2f1b4c7a";

static struct escpos_ticket sample_ticket(void)
{
    struct escpos_ticket t = {
        .hall_name = "某某市政务服务中心",
        .hall_name_en = "City Government Service Centre",
        .service_name = "社保业务",
        .service_name_en = "Social insurance",
        .label = "A012",
        .ahead = 7,
        .wait_min = 15,
        .issued_at = "2026-03-02 09:31",
        .priority = "老年人优先",
        .name_masked = "王**",
        .qr_url = QR_URL,
        .notice = "请保管好号票，留意叫号 / Please keep your ticket and listen for your number",
        .no_show_requeue = true,
    };
    return t;
}

static int render(const struct escpos_template *tpl, const struct escpos_ticket *t, int width,
                  const char *rep, struct escpos_buf *out)
{
    struct escpos_opts o = {.width_dots = width, .replacement = rep};
    out->len = 0;
    return escpos_render(tpl, t, &o, out);
}

/* ------------------------------------------------------------- goldens */

static void golden(const char *name, const struct escpos_buf *b)
{
    const char *dir = getenv("HQ_TESTDATA");
    CHECK(dir != NULL);
    if (!dir) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/escpos/%s", dir, name);
    if (getenv("HQ_REGEN_GOLDEN") && strcmp(getenv("HQ_REGEN_GOLDEN"), "1") == 0) {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (!f) return;
        fwrite(b->data, 1, b->len, f);
        fclose(f);
        fprintf(stderr, "regenerated %s (%zu bytes): check it by hand\n", path, b->len);
        return;
    }
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) {
        fprintf(stderr, "missing golden %s\n", path);
        return;
    }
    static uint8_t want[65536];
    size_t n = fread(want, 1, sizeof want, f);
    fclose(f);
    CHECK_EQ_INT(b->len, n);
    if (b->len == n) CHECK_EQ_MEM(b->data, want, n);
    for (size_t i = 0; i < n && i < b->len; i++)
        if (b->data[i] != want[i]) {
            fprintf(stderr, "%s: first difference at byte %zu: %02X != %02X\n", name, i, b->data[i],
                    want[i]);
            break;
        }
}

static void test_goldens(const struct escpos_template *tpl)
{
    struct escpos_buf b = {0};
    struct escpos_ticket t = sample_ticket();
    CHECK_EQ_INT(render(tpl, &t, ESCPOS_DOTS_58, NULL, &b), HQ_OK);
    golden("ticket58.bin", &b);
    CHECK_EQ_INT(render(tpl, &t, ESCPOS_DOTS_80, NULL, &b), HQ_OK);
    golden("ticket80.bin", &b);
    t.reprint = true;
    t.priority = "";
    t.name_masked = "";
    t.wait_min = -1;
    CHECK_EQ_INT(render(tpl, &t, ESCPOS_DOTS_58, NULL, &b), HQ_OK);
    golden("reprint58.bin", &b);
    escpos_buf_free(&b);
}

/* Fixed byte sequences of §4 must appear in a rendered ticket. */
static int contains(const struct escpos_buf *b, const void *needle, size_t n)
{
    return b->len >= n && memmem(b->data, b->len, needle, n) != NULL;
}

static void test_protocol_bytes(const struct escpos_template *tpl)
{
    struct escpos_buf b = {0};
    struct escpos_ticket t = sample_ticket();
    CHECK_EQ_INT(render(tpl, &t, ESCPOS_DOTS_58, NULL, &b), HQ_OK);
    CHECK(b.len > 4 && memcmp(b.data, "\x1B\x40\x1C\x26", 4) == 0); /* init, Chinese mode */
    CHECK(b.len > 6 && memcmp(b.data + b.len - 6, "\x1C\x2E\x1D\x56\x42\x00", 6) == 0);
    CHECK(contains(&b, "\x1D\x28\x6B\x04\x00\x31\x41\x32\x00", 9)); /* model 2 */
    CHECK(contains(&b, "\x1D\x28\x6B\x03\x00\x31\x45\x31", 8));     /* EC M */
    CHECK(contains(&b, "\x1D\x28\x6B\x03\x00\x31\x51\x30", 8));     /* print */
    /* store: pL pH = k + 3, little-endian, then the URL */
    size_t k = strlen(QR_URL);
    uint8_t store[8] = {0x1D, 0x28, 0x6B, (uint8_t)(k + 3), 0x00, 0x31, 0x50, 0x30};
    CHECK(contains(&b, store, 8));
    CHECK(contains(&b, QR_URL, k));
    /* 59-byte URL: version 4 (33 modules); 55 % of 384 dots → 6, of 576 → 8 (capped) */
    CHECK_EQ_INT(k, 59);
    CHECK_EQ_INT(escpos_qr_module_size(k, ESCPOS_DOTS_58), 6);
    CHECK_EQ_INT(escpos_qr_module_size(k, ESCPOS_DOTS_80), 8);
    CHECK(contains(&b, "\x1D\x28\x6B\x03\x00\x31\x43\x06", 8));
    /* "A012" at fit, max 6: 4 columns × 6 = 24 <= 32 → GS ! 0x55, then the text */
    CHECK(contains(&b,
                   "\x1B\x61\x01\x1B\x45\x01\x1D\x21\x55"
                   "A012\x0A",
                   14));
    /* 社 in GB18030 is C9 E7 */
    CHECK(contains(&b, "\xC9\xE7\xB1\xA3\xD2\xB5\xCE\xF1", 8)); /* 社保业务 */
    /* a long label shrinks to fit: 10 columns → 3 at 58 mm, 4 at 80 mm */
    t.label = "ABCDEFGHIJ";
    CHECK_EQ_INT(render(tpl, &t, ESCPOS_DOTS_58, NULL, &b), HQ_OK);
    CHECK(contains(&b,
                   "\x1D\x21\x22"
                   "ABCDEFGHIJ\x0A",
                   14));
    CHECK_EQ_INT(render(tpl, &t, ESCPOS_DOTS_80, NULL, &b), HQ_OK);
    CHECK(contains(&b,
                   "\x1D\x21\x33"
                   "ABCDEFGHIJ\x0A",
                   14));
    struct escpos_opts bad = {.width_dots = 100};
    CHECK_EQ_INT(escpos_render(tpl, &t, &bad, &b), HQ_ERR_INVALID);
    escpos_buf_free(&b);
}

/* ---------------------------------------------------------- round trip */

static const char *line_text(const struct escpos_dticket *d, size_t i)
{
    return i < d->n_lines ? d->lines[i].text : "(none)";
}

static void test_round_trip(const struct escpos_template *tpl, int width)
{
    struct escpos_buf b = {0};
    struct escpos_ticket t = sample_ticket();
    CHECK_EQ_INT(render(tpl, &t, width, NULL, &b), HQ_OK);
    static struct escpos_dticket d;
    CHECK_EQ_INT(escpos_decode_buffer(b.data, b.len, width, &d), 1);
    CHECK_EQ_STR(d.qr, QR_URL);
    CHECK_EQ_INT(d.qr_ec, 'M');
    CHECK_EQ_INT(d.qr_model, 2);
    CHECK_EQ_INT(d.cut, ESCPOS_CUT_PARTIAL);
    CHECK(d.chinese);
    CHECK(!d.non_gb);
    CHECK_EQ_INT(d.unknown, 0);
    CHECK(!d.truncated);
    CHECK_EQ_STR(line_text(&d, 0), "某某市政务服务中心");
    CHECK(d.lines[0].bold && d.lines[0].align == 1 && d.lines[0].w == 1);
    CHECK_EQ_STR(line_text(&d, 1), "City Government Service Centre");
    CHECK_EQ_STR(line_text(&d, 2), "社保业务");
    CHECK(d.lines[2].w == 2 && d.lines[2].h == 2);
    CHECK_EQ_STR(line_text(&d, 3), "Social insurance");
    CHECK_EQ_STR(line_text(&d, 4), "A012");
    CHECK(d.lines[4].w == 6 && d.lines[4].h == 6 && d.lines[4].bold);
    CHECK_EQ_STR(line_text(&d, 5), "老年人优先");
    CHECK_EQ_STR(line_text(&d, 6), "王**");
    /* left-aligned lines keep a margin of 2 columns each side: they start
     * with two spaces and wrap at 28 columns (58 mm) or 44 (80 mm); the
     * footer states the hall's no-show rule (here: re-queued) */
    if (width == ESCPOS_DOTS_58) {
        CHECK_EQ_INT(d.n_lines, 20);
        CHECK_EQ_STR(line_text(&d, 7), "  前面还有 7 人 / 7 ahead of");
        CHECK_EQ_STR(line_text(&d, 8), "  you");
        CHECK_EQ_STR(line_text(&d, 9), "  预计等候 约15分钟 / Wait");
        CHECK_EQ_STR(line_text(&d, 10), "  about 15 min");
        CHECK_EQ_STR(line_text(&d, 11), "  取号时间 2026-03-02 09:31");
        CHECK_EQ_INT(d.lines[12].kind, ESCPOS_DLINE_QR);
        CHECK_EQ_STR(line_text(&d, 12), QR_URL);
        CHECK_EQ_STR(line_text(&d, 13), "扫码查看排队进度 / Scan to");
        CHECK_EQ_STR(line_text(&d, 14), "follow the queue");
        CHECK_EQ_STR(line_text(&d, 15), "过号将重新排到队尾 / Miss your");
        CHECK_EQ_STR(line_text(&d, 16), "call: you go back in the queue");
        CHECK_EQ_STR(line_text(&d, 17), "请保管好号票，留意叫号 / Please");
        for (size_t i = 7; i <= 11; i++)
            CHECK(d.lines[i].columns <= 30 && d.lines[i].align == 0);
    } else {
        CHECK_EQ_INT(d.n_lines, 16);
        CHECK_EQ_STR(line_text(&d, 7), "  前面还有 7 人 / 7 ahead of you");
        CHECK_EQ_STR(line_text(&d, 8), "  预计等候 约15分钟 / Wait about 15 min");
        CHECK_EQ_STR(line_text(&d, 9), "  取号时间 2026-03-02 09:31");
        CHECK_EQ_INT(d.lines[10].kind, ESCPOS_DLINE_QR);
        CHECK_EQ_STR(line_text(&d, 10), QR_URL);
        CHECK_EQ_STR(line_text(&d, 11), "扫码查看排队进度 / Scan to follow the queue");
        CHECK_EQ_STR(line_text(&d, 12), "过号将重新排到队尾 / Miss your call: you go back");
        CHECK_EQ_STR(line_text(&d, 13), "in the queue");
        CHECK_EQ_STR(line_text(&d, 14), "请保管好号票，留意叫号 / Please keep your ticket");
        CHECK_EQ_INT(d.lines[14].columns, 48);
        CHECK_EQ_STR(line_text(&d, 15), "and listen for your number");
    }
    /* a hall that does not re-queue: "take a new ticket", and never both */
    t.no_show_requeue = false;
    CHECK_EQ_INT(render(tpl, &t, width, NULL, &b), HQ_OK);
    CHECK_EQ_INT(escpos_decode_buffer(b.data, b.len, width, &d), 1);
    int requeue = 0, take_new = 0;
    for (size_t i = 0; i < d.n_lines; i++) {
        requeue += strstr(d.lines[i].text, "重新排") != NULL;
        take_new += strstr(d.lines[i].text, "过号请重新取号") != NULL;
    }
    CHECK_EQ_INT(requeue, 0);
    CHECK_EQ_INT(take_new, 1);
    for (size_t i = 0; i < d.n_lines; i++)
        CHECK(!d.lines[i].overflow);
    CHECK_EQ_INT(d.feed_lines, 1 + 1 + 3);
    escpos_buf_free(&b);
}

/* -------------------------------------------------------------- wrapping */

/* The decoded lines of one template text line, joined, and each line's width. */
static void wrap_case(const char *text, const char *size, int width, int want_lines,
                      const char *joined_want)
{
    char json[1024];
    /* centred: the wrap points without the margin of a left-aligned line */
    snprintf(json, sizeof json,
             "[{\"text\": \"{service}\", \"size\": \"%s\", \"align\": \"center\"}, \"cut\"]", size);
    cJSON *j = cJSON_Parse(json);
    struct escpos_template tpl;
    char err[128];
    CHECK_EQ_INT(escpos_template_parse_json(j, &tpl, err, sizeof err), HQ_OK);
    cJSON_Delete(j);
    struct escpos_ticket t = {.service_name = text, .ahead = -1, .wait_min = -1};
    struct escpos_buf b = {0};
    CHECK_EQ_INT(render(&tpl, &t, width, NULL, &b), HQ_OK);
    static struct escpos_dticket d;
    CHECK_EQ_INT(escpos_decode_buffer(b.data, b.len, width, &d), 1);
    CHECK_EQ_INT(d.n_lines, want_lines);
    char joined[2048] = "";
    int cols = width / 12;
    for (size_t i = 0; i < d.n_lines; i++) {
        CHECK(!d.lines[i].overflow);
        CHECK(d.lines[i].columns <= cols);
        if (i) strcat(joined, "|");
        strcat(joined, d.lines[i].text);
    }
    CHECK_EQ_STR(joined, joined_want);
    escpos_buf_free(&b);
}

static void test_wrapping(void)
{
    /* 20 Chinese characters = 40 columns: 16 fit at 58 mm (32 cols), all at 80 mm */
    const char *cn = "不动产登记与房屋交易税费缴纳综合窗口业务";
    wrap_case(cn, "1x1", ESCPOS_DOTS_58, 2, "不动产登记与房屋交易税费缴纳综合|窗口业务");
    wrap_case(cn, "1x1", ESCPOS_DOTS_80, 1, cn);
    /* double width halves the columns: 8 characters at 58 mm, 12 at 80 mm */
    wrap_case(cn, "2x2", ESCPOS_DOTS_58, 3, "不动产登记与房屋|交易税费缴纳综合|窗口业务");
    wrap_case(cn, "2x1", ESCPOS_DOTS_80, 2, "不动产登记与房屋交易税费|缴纳综合窗口业务");
    /* a Chinese character never straddles a break: 31 ASCII columns, then 中 */
    wrap_case("ABCDEFGHIJKLMNOPQRSTUVWXYZabcde中文", "1x1", ESCPOS_DOTS_58, 2,
              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcde|中文");
    /* mixed name: English words stay whole, Chinese breaks anywhere */
    wrap_case("欧阳娜娜 Ouyang Nana-Catherine 张三丰的社保卡补办业务", "1x1", ESCPOS_DOTS_58, 2,
              "欧阳娜娜 Ouyang Nana-Catherine|张三丰的社保卡补办业务");
    wrap_case("欧阳娜娜 Ouyang Nana-Catherine 张三丰的社保卡补办业务", "2x1", ESCPOS_DOTS_80, 3,
              "欧阳娜娜 Ouyang|Nana-Catherine 张三丰的|社保卡补办业务");
    /* a word longer than the line is cut at the column limit */
    wrap_case("Supercalifragilisticexpialidocious-and-more", "1x1", ESCPOS_DOTS_58, 2,
              "Supercalifragilisticexpialidocio|us-and-more");
    /* a hard break in the value starts a new printed line */
    wrap_case("第一行\n第二行", "1x1", ESCPOS_DOTS_58, 2, "第一行|第二行");
}

/* ----------------------------------------------------------- replacement */

static void test_replacement(void)
{
    struct escpos_buf b = {0};
    /* U+20000 𠀀 and U+1F600 😀 need 4 bytes in GB18030; ESC would be a command;
     * U+E000 is private use; \xFF is broken UTF-8 */
    CHECK_EQ_INT(escpos_text_to_gb18030("王𠀀😀\x1B@\xFF\xEE\x80\x80张", NULL, &b), HQ_OK);
    CHECK_EQ_INT(b.len, 2 + 1 + 1 + 1 + 1 + 1 + 1 + 2);
    CHECK_EQ_MEM(b.data, "\xCD\xF5??\x3F@??\xD5\xC5", 10);
    b.len = 0;
    CHECK_EQ_INT(escpos_text_to_gb18030("𠀀A", "□", &b), HQ_OK); /* □ U+25A1 = A1 F5 */
    CHECK_EQ_INT(b.len, 3);
    CHECK_EQ_MEM(b.data,
                 "\xA1\xF5"
                 "A",
                 3);
    b.len = 0;
    /* a replacement that itself cannot be printed falls back to '?' */
    CHECK_EQ_INT(escpos_text_to_gb18030("😀", "😀", &b), HQ_OK);
    CHECK_EQ_INT(b.len, 1);
    CHECK_EQ_MEM(b.data, "?", 1);
    b.len = 0;
    /* a truncated sequence at the end is replaced, never sent broken */
    CHECK_EQ_INT(escpos_text_to_gb18030("中\xE6\x96", NULL, &b), HQ_OK);
    CHECK_EQ_INT(b.len, 4);
    CHECK_EQ_MEM(b.data, "\xD6\xD0??", 4);
    escpos_buf_free(&b);

    /* through the renderer: the masked name with a 4-byte character and an
     * emoji prints with replacements and the ticket decodes cleanly */
    struct escpos_template tpl;
    CHECK_EQ_INT(escpos_template_default(&tpl), HQ_OK);
    struct escpos_ticket t = sample_ticket();
    t.name_masked = "𠀀*😀\x1B\x40";
    struct escpos_buf r = {0};
    CHECK_EQ_INT(render(&tpl, &t, ESCPOS_DOTS_58, "□", &r), HQ_OK);
    static struct escpos_dticket d;
    CHECK_EQ_INT(escpos_decode_buffer(r.data, r.len, ESCPOS_DOTS_58, &d), 1);
    CHECK_EQ_STR(line_text(&d, 6), "□*□□@");
    CHECK_EQ_INT(d.initialised, 1); /* the ESC @ in the name was not sent as a command */
    escpos_buf_free(&r);
}

/* -------------------------------------------------------------- template */

static void template_error(const char *json, const char *want)
{
    cJSON *j = cJSON_Parse(json);
    CHECK(j != NULL);
    struct escpos_template tpl;
    char err[160] = "";
    CHECK_EQ_INT(escpos_template_parse_json(j, &tpl, err, sizeof err), HQ_ERR_CONFIG);
    if (!strstr(err, want)) fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, want);
    CHECK(strstr(err, want) != NULL);
    cJSON_Delete(j);
}

static void test_template_errors(void)
{
    template_error("{}", "$: the ticket template must be an array");
    template_error("[]", "$: must have 1 to");
    template_error("[{\"text\": \"x\"}]", "$[0]: the last line must be \"cut\"");
    template_error("[\"cut\", {\"text\": \"x\"}, \"cut\"]", "$[0]: \"cut\" must be the last");
    template_error("[\"papercut\"]", "$[0]: a string line must be \"qr\" or \"cut\"");
    template_error("[{\"text\": \"{hall}\", \"colour\": \"red\"}, \"cut\"]",
                   "$[0]: unknown key \"colour\"");
    template_error("[{\"feed\": 1}, {\"text\": \"x\", \"size\": \"9x1\"}, \"cut\"]",
                   "$[1].size: must be \"WxH\" with 1..8 or \"fit\"");
    template_error("[{\"text\": \"x\", \"size\": \"2x2x\"}, \"cut\"]", "$[0].size");
    template_error("[{\"text\": \"号码 {lable}\"}, \"cut\"]",
                   "$[0].text: unknown placeholder {lable}");
    template_error("[{\"text\": \"{hall\"}, \"cut\"]", "$[0].text: unclosed '{'");
    template_error("[{\"text\": 5}, \"cut\"]", "$[0].text: must be a string");
    template_error("[{\"text\": \"x\", \"align\": \"middle\"}, \"cut\"]", "$[0].align");
    template_error("[{\"feed\": 300}, \"cut\"]", "$[0].feed: must be a whole number 0..255");
    template_error("[{\"feed\": 1, \"text\": \"x\"}, \"cut\"]", "$[0]: needs exactly one of");
    template_error("[{\"qr\": false}, \"cut\"]", "$[0].qr: must be true");
    template_error("[{\"qr\": true, \"bold\": true}, \"cut\"]", "apply to text lines only");
    template_error("[{\"text\": \"x\", \"max\": 3}, \"cut\"]", "$[0].max: only with");
    template_error("[{\"text\": \"x\", \"size\": \"fit\", \"max\": 0}, \"cut\"]",
                   "$[0].max: must be a whole number 1..8");
    template_error("[{\"text\": \"x\", \"bold\": 1}, \"cut\"]", "$[0].bold");

    /* the built-in layout parses and a hall's own one too */
    struct escpos_template tpl;
    CHECK_EQ_INT(escpos_template_default(&tpl), HQ_OK);
    CHECK(tpl.n > 10);
    CHECK_EQ_INT(tpl.lines[tpl.n - 1].kind, ESCPOS_LINE_CUT);
    cJSON *j = cJSON_Parse("[{\"text\": \"{{{label}}}\", \"size\": \"fit\", \"max\": 8},"
                           " {\"qr\": true, \"align\": \"right\"}, {\"feed\": 2}, \"cut\"]");
    char err[160];
    CHECK_EQ_INT(escpos_template_parse_json(j, &tpl, err, sizeof err), HQ_OK);
    cJSON_Delete(j);
    CHECK_EQ_INT(tpl.n, 4);
    CHECK_EQ_INT(tpl.lines[0].w, 0);
    CHECK_EQ_INT(tpl.lines[0].max, 8);
    CHECK_EQ_INT(tpl.lines[1].kind, ESCPOS_LINE_QR);
    CHECK_EQ_INT(tpl.lines[1].align, ESCPOS_ALIGN_RIGHT);
    CHECK_EQ_INT(tpl.lines[2].feed, 2);

    /* "{{" prints a brace; fit 8 at 58 mm, left-aligned: "{A012}" is 6
     * columns and a margin of 1 space each side at size 4 → 4 (8 × 4 = 32) */
    struct escpos_ticket t = sample_ticket();
    struct escpos_buf b = {0};
    CHECK_EQ_INT(render(&tpl, &t, ESCPOS_DOTS_58, NULL, &b), HQ_OK);
    static struct escpos_dticket d;
    CHECK_EQ_INT(escpos_decode_buffer(b.data, b.len, ESCPOS_DOTS_58, &d), 1);
    CHECK_EQ_STR(line_text(&d, 0), " {A012}");
    CHECK_EQ_INT(d.lines[0].w, 4);
    CHECK_EQ_INT(d.lines[1].align, 2);

    /* a reprint on a layout without {reprint} still says so, first */
    t.reprint = true;
    CHECK_EQ_INT(render(&tpl, &t, ESCPOS_DOTS_58, NULL, &b), HQ_OK);
    CHECK_EQ_INT(escpos_decode_buffer(b.data, b.len, ESCPOS_DOTS_58, &d), 1);
    CHECK_EQ_STR(line_text(&d, 0), "补打 / REPRINT");
    CHECK(d.lines[0].bold && d.lines[0].w == 2);
    CHECK_EQ_STR(line_text(&d, 1), " {A012}");
    escpos_buf_free(&b);
}

/* The default layout leaves out lines whose placeholder has nothing to say. */
static void test_optional_lines(void)
{
    struct escpos_template tpl;
    CHECK_EQ_INT(escpos_template_default(&tpl), HQ_OK);
    struct escpos_ticket t = sample_ticket();
    t.priority = NULL;
    t.name_masked = "";
    t.ahead = -1;
    t.wait_min = -1;
    t.reprint = true;
    struct escpos_buf b = {0};
    CHECK_EQ_INT(render(&tpl, &t, ESCPOS_DOTS_80, NULL, &b), HQ_OK);
    static struct escpos_dticket d;
    CHECK_EQ_INT(escpos_decode_buffer(b.data, b.len, ESCPOS_DOTS_80, &d), 1);
    CHECK_EQ_STR(line_text(&d, 0), "补打 / REPRINT");
    CHECK_EQ_STR(line_text(&d, 5), "A012");
    CHECK_EQ_STR(line_text(&d, 6), "  预计等候 暂无法估计 / Wait not known yet");
    for (size_t i = 0; i < d.n_lines; i++) {
        CHECK(strstr(d.lines[i].text, "老年人") == NULL);
        CHECK(strstr(d.lines[i].text, "前面还有") == NULL);
    }
    /* no QR URL: no QR commands at all */
    t.qr_url = "";
    CHECK_EQ_INT(render(&tpl, &t, ESCPOS_DOTS_80, NULL, &b), HQ_OK);
    CHECK(!contains(&b, "\x1D\x28\x6B", 3));
    escpos_buf_free(&b);
}

/* --------------------------------------------------------------- decoder */

struct collect {
    int tickets;
    struct escpos_dticket last;
    int status[16];
    int n_status;
};

static void on_ticket(const struct escpos_dticket *t, void *arg)
{
    struct collect *c = arg;
    c->tickets++;
    c->last = *t;
}

static void on_status(int n, void *arg)
{
    struct collect *c = arg;
    if (c->n_status < 16) c->status[c->n_status++] = n;
}

static void test_decoder_split_and_unknown(const struct escpos_template *tpl)
{
    struct escpos_buf b = {0};
    struct escpos_ticket t = sample_ticket();
    CHECK_EQ_INT(render(tpl, &t, ESCPOS_DOTS_58, NULL, &b), HQ_OK);
    static struct escpos_dticket whole;
    CHECK_EQ_INT(escpos_decode_buffer(b.data, b.len, ESCPOS_DOTS_58, &whole), 1);

    /* byte by byte, and in uneven chunks, the decoder sees the same ticket */
    static struct collect c;
    for (size_t chunk = 1; chunk <= 7; chunk += 3) {
        memset(&c, 0, sizeof c);
        struct escpos_decoder *d = escpos_decoder_new(ESCPOS_DOTS_58, on_ticket, on_status, &c);
        CHECK(d != NULL);
        for (size_t i = 0; i < b.len; i += chunk)
            escpos_decoder_feed(d, b.data + i, i + chunk <= b.len ? chunk : b.len - i);
        CHECK_EQ_INT(escpos_decoder_pending(d), 0);
        escpos_decoder_finish(d);
        escpos_decoder_free(d);
        CHECK_EQ_INT(c.tickets, 1);
        CHECK_EQ_INT(c.last.n_lines, whole.n_lines);
        for (size_t i = 0; i < whole.n_lines; i++)
            CHECK_EQ_STR(c.last.lines[i].text, whole.lines[i].text);
        CHECK_EQ_STR(c.last.qr, QR_URL);
    }

    /* unknown and foreign commands are skipped, status queries answered in order */
    static const uint8_t stream[] = {
        0x1B, 0x40, 0x1C, 0x26,                   /* init, Chinese mode */
        0x10, 0x04, 0x01,                         /* status 1 */
        0x1B, 0x5A,                               /* ESC Z: unknown, 2 bytes */
        0x1B, 0x2A, 0x00, 0x02, 0x00, 0x0A, 0x0A, /* ESC * bitmap with LF bytes inside */
        0x1D, 0x28, 0x4C, 0x02, 0x00, 0x30, 0x45, /* GS ( L: graphics, skipped by length */
        0x1D, 0x76, 0x30, 0x00, 0x01, 0x00, 0x01, 0x00, 0x0A, /* GS v 0 raster 1x1 */
        0xD6, 0xD0, 0xCE, 0xC4, 0x0A,                         /* 中文 */
        0x10, 0x04, 0x04,                                     /* status 4 */
        0x1D, 0x21, 0x11, 'X',  0x0A,                         /* 2x2 X */
        0x1D, 0x56, 0x00,                                     /* full cut */
        0x10, 0x04, 0x02,                                     /* status between tickets */
        0x1B, 0x40, 0x1C, 0x26, 'Y',  0xD6, /* a second ticket, cut off mid-character */
    };
    memset(&c, 0, sizeof c);
    struct escpos_decoder *d = escpos_decoder_new(ESCPOS_DOTS_58, on_ticket, on_status, &c);
    escpos_decoder_feed(d, stream, sizeof stream);
    CHECK_EQ_INT(c.tickets, 1);
    CHECK_EQ_INT(c.last.n_lines, 2);
    CHECK_EQ_STR(line_text(&c.last, 0), "中文");
    CHECK_EQ_INT(c.last.lines[0].columns, 4);
    CHECK_EQ_STR(line_text(&c.last, 1), "X");
    CHECK_EQ_INT(c.last.lines[1].w, 2);
    CHECK_EQ_INT(c.last.cut, ESCPOS_CUT_FULL);
    CHECK_EQ_INT(c.last.unknown, 1);
    CHECK_EQ_INT(c.last.feed_lines, 0);
    CHECK_EQ_INT(c.n_status, 3);
    CHECK_EQ_INT(c.status[0], 1);
    CHECK_EQ_INT(c.status[1], 4);
    CHECK_EQ_INT(c.status[2], 2);
    CHECK_EQ_INT(escpos_decoder_pending(d), 1); /* the lone lead byte waits for its pair */
    /* the end of the stream drops the half character */
    escpos_decoder_finish(d);
    CHECK_EQ_INT(c.tickets, 2);
    CHECK_EQ_STR(line_text(&c.last, 0), "Y");
    CHECK_EQ_INT(c.last.cut, ESCPOS_CUT_NONE);
    escpos_decoder_free(d);

    /* outside Chinese mode high bytes are not text */
    static const uint8_t latin[] = {0x1B, 0x40, 0xD6, 0xD0, 0x0A, 0x1D, 0x56, 0x42, 0x00};
    static struct escpos_dticket one;
    CHECK_EQ_INT(escpos_decode_buffer(latin, sizeof latin, 0, &one), 1);
    CHECK_EQ_STR(line_text(&one, 0), "??");
    CHECK(one.non_gb);

    /* garbage never crashes nor reads past the input (run under ASan in CI) */
    uint32_t x = 12345;
    for (int round = 0; round < 300; round++) {
        uint8_t junk[300];
        size_t n = 1 + round % sizeof junk;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            uint8_t v = (uint8_t)(x >> 16);
            junk[i] = (x >> 8) % 4 == 0 ? (uint8_t)(0x1B + v % 3) : v; /* many ESC/FS/GS */
        }
        struct escpos_decoder *g = escpos_decoder_new(ESCPOS_DOTS_80, NULL, NULL, NULL);
        escpos_decoder_feed(g, junk, n);
        CHECK(escpos_decoder_pending(g) <= n);
        escpos_decoder_finish(g);
        CHECK_EQ_INT(escpos_decoder_pending(g), 0);
        escpos_decoder_free(g);
    }
    escpos_buf_free(&b);
}

int main(void)
{
    struct escpos_template tpl;
    CHECK_EQ_INT(escpos_template_default(&tpl), HQ_OK);
    test_goldens(&tpl);
    test_protocol_bytes(&tpl);
    test_round_trip(&tpl, ESCPOS_DOTS_58);
    test_round_trip(&tpl, ESCPOS_DOTS_80);
    test_wrapping();
    test_replacement();
    test_template_errors();
    test_optional_lines();
    test_decoder_split_and_unknown(&tpl);
    return check_report("test_escpos");
}
