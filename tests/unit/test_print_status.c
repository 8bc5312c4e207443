/*
 * test_print_status.c — the printer's status as hal/print_cups reads it:
 * DLE EOT replies (PROTOCOLS.md §4, fixed bits 0x12) and CUPS
 * printer-state-reasons keywords, folded into one health value.
 */
#include <string.h>

#include "check.h"
#include "hq.h"
#include "print_cups.h"

struct link_case {
    const char *legend;
    uint8_t r1, r2, r4;
    int health;
};

static const struct link_case link_cases[] = {
    {"all clear", 0x12, 0x12, 0x12, PRINT_HEALTH_OK},
    {"paper near end", 0x12, 0x12, 0x1E, PRINT_HEALTH_NEAR_END},
    {"near end, bit 2 only", 0x12, 0x12, 0x16, PRINT_HEALTH_NEAR_END},
    {"paper end", 0x1A, 0x32, 0x7E, PRINT_HEALTH_PAPER_END},
    {"paper end seen on n=4 only", 0x12, 0x12, 0x72, PRINT_HEALTH_PAPER_END},
    {"cover open", 0x1A, 0x16, 0x12, PRINT_HEALTH_COVER_OPEN},
    {"cover open and paper end", 0x1A, 0x36, 0x7E, PRINT_HEALTH_COVER_OPEN},
    {"offline for another reason", 0x1A, 0x12, 0x12, PRINT_HEALTH_OFFLINE},
    {"error", 0x1A, 0x52, 0x12, PRINT_HEALTH_ERROR},
};

static void test_link(void)
{
    for (size_t i = 0; i < HQ_ARRAY_LEN(link_cases); i++) {
        const struct link_case *c = &link_cases[i];
        struct print_link_status st = {0};
        CHECK_EQ_INT(print_link_parse(1, c->r1, &st), HQ_OK);
        CHECK_EQ_INT(print_link_parse(2, c->r2, &st), HQ_OK);
        CHECK_EQ_INT(print_link_parse(4, c->r4, &st), HQ_OK);
        int h = print_link_health(&st);
        if (h != c->health) fprintf(stderr, "case \"%s\": %s\n", c->legend, print_health_name(h));
        CHECK_EQ_INT(h, c->health);
    }
    /* bytes without the fixed bits are not status replies */
    struct print_link_status st = {0};
    CHECK_EQ_INT(print_link_parse(1, 0x00, &st), HQ_ERR_PROTO);
    CHECK_EQ_INT(print_link_parse(1, 0x92, &st), HQ_ERR_PROTO); /* bit 7 set */
    CHECK_EQ_INT(print_link_parse(1, 0x13, &st), HQ_ERR_PROTO); /* bit 0 set */
    CHECK_EQ_INT(print_link_parse(4, 0x7C, &st), HQ_ERR_PROTO); /* bit 1 clear */
    CHECK(!st.answered);
    CHECK_EQ_INT(print_link_health(&st), PRINT_HEALTH_OFFLINE); /* no answer */
    CHECK(print_health_can_print(PRINT_HEALTH_OK));
    CHECK(print_health_can_print(PRINT_HEALTH_NEAR_END));
    CHECK(!print_health_can_print(PRINT_HEALTH_PAPER_END));
    CHECK(!print_health_can_print(PRINT_HEALTH_OFFLINE));
    CHECK_EQ_STR(print_health_name(PRINT_HEALTH_COVER_OPEN), "cover_open");
    CHECK(strncmp(print_health_text(PRINT_HEALTH_PAPER_END), "打印机缺纸", 15) == 0);
}

static void test_reasons(void)
{
    struct print_printer_status st = {.state = 3, .accepting = true};
    print_reasons_parse("none", &st);
    CHECK_EQ_INT(print_printer_health(&st), PRINT_HEALTH_OK);
    CHECK_EQ_STR(st.reasons, "");
    print_reasons_parse("media-low-report", &st);
    CHECK_EQ_INT(print_printer_health(&st), PRINT_HEALTH_NEAR_END);
    print_reasons_parse("media-empty-error", &st);
    CHECK_EQ_INT(print_printer_health(&st), PRINT_HEALTH_PAPER_END);
    CHECK_EQ_STR(st.reasons, "media-low-report,media-empty-error");

    struct print_printer_status off = {.state = 4, .accepting = true};
    print_reasons_parse("cups-waiting-for-job-completed", &off);
    print_reasons_parse("connecting-to-device", &off); /* every socket job starts so */
    CHECK_EQ_INT(print_printer_health(&off), PRINT_HEALTH_OK);
    print_reasons_parse("offline-report", &off);
    CHECK_EQ_INT(print_printer_health(&off), PRINT_HEALTH_OFFLINE);

    struct print_printer_status door = {.state = 3, .accepting = true};
    print_reasons_parse("door-open-warning", &door);
    CHECK_EQ_INT(print_printer_health(&door), PRINT_HEALTH_COVER_OPEN);

    struct print_printer_status stopped = {.state = 5, .accepting = true};
    CHECK_EQ_INT(print_printer_health(&stopped), PRINT_HEALTH_ERROR);
    struct print_printer_status refusing = {.state = 3, .accepting = false};
    CHECK_EQ_INT(print_printer_health(&refusing), PRINT_HEALTH_ERROR);
    struct print_printer_status jam = {.state = 4, .accepting = true};
    print_reasons_parse("media-jam-error", &jam);
    CHECK_EQ_INT(print_printer_health(&jam), PRINT_HEALTH_ERROR);
    struct print_printer_status unknown = {0};
    CHECK_EQ_INT(print_printer_health(&unknown), PRINT_HEALTH_OFFLINE);
}

static void test_link_errors(void)
{
    struct print_link_status st;
    CHECK_EQ_INT(print_link_query("9100", 100, &st), HQ_ERR_CONFIG);
    CHECK_EQ_INT(print_link_query("tcp://nohost", 100, &st), HQ_ERR_CONFIG);
    /* nothing listens on port 1 of localhost: not answered, i.e. offline */
    CHECK_EQ_INT(print_link_query("tcp://127.0.0.1:1", 300, &st), HQ_OK);
    CHECK_EQ_INT(print_link_health(&st), PRINT_HEALTH_OFFLINE);
}

int main(void)
{
    test_link();
    test_reasons();
    test_link_errors();
    return check_report("test_print_status");
}
