/*
 * test_gpio_config.c — the configuration's gpio section: defaults (no line connected), a full
 * section with its services resolved, and one exact message per mistake (unknown service, a
 * line used twice, lines without a chip, a line beyond the bounds, an unknown key).
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "config.h"

static const char *hall_head =
    "{\"hall\": {\"id\": \"h\", \"name\": \"大厅\"}, \"privacy\": {\"id_hash_key\": "
    "\"k0123456789abcdef\"}, \"services\": [{\"code\": \"A\", \"name\": \"甲\", \"hours\": "
    "{\"all\": "
    "[\"00:00-24:00\"]}}, {\"code\": \"B\", \"name\": \"乙\", \"hours\": {\"all\": "
    "[\"00:00-24:00\"]}}], \"windows\": [{\"number\": 1, \"services\": [\"A\"]}], \"staff\": "
    "[{\"id\": \"01\", \"name\": \"王\"}]";

static int parse(const char *gpio, struct hq_config *cfg, char *err, size_t errlen)
{
    char text[4096];
    snprintf(text, sizeof text, "%s%s%s}", hall_head, gpio ? ", \"gpio\": " : "", gpio ? gpio : "");
    err[0] = '\0';
    return hq_config_parse("x.json", "/etc/hallq", text, cfg, err, errlen);
}

static void bad(const char *gpio, const char *want)
{
    struct hq_config cfg;
    char err[512];
    CHECK_EQ_INT(parse(gpio, &cfg, err, sizeof err), HQ_ERR_CONFIG);
    CHECK_EQ_STR(err, want);
}

int main(void)
{
    struct hq_config cfg;
    char err[512];
    CHECK_EQ_INT(parse(NULL, &cfg, err, sizeof err), HQ_OK);
    CHECK_EQ_STR(cfg.gpio_chip, "");
    CHECK_EQ_INT(cfg.gpio_debounce_ms, 50);
    CHECK_EQ_INT(cfg.n_gpio_buttons, 0);
    CHECK_EQ_INT(cfg.gpio_led_printer, HQ_GPIO_NONE);
    CHECK_EQ_INT(cfg.gpio_led_device, HQ_GPIO_NONE);
    CHECK_EQ_INT(cfg.gpio_paper_line, HQ_GPIO_NONE);
    CHECK_EQ_INT(cfg.gpio_door_line, HQ_GPIO_NONE);
    hq_config_free(&cfg);

    int rc =
        parse("{\"chip\": \"gpiochip0\", \"debounce_ms\": 20, \"buttons\": [{\"line\": 3, "
              "\"service\": \"B\", \"active_low\": true}, {\"line\": 0, \"service\": \"A\"}], "
              "\"leds\": {\"printer_fault\": 5, \"device_fault\": 6, \"active_low\": true}, "
              "\"paper_sensor\": {\"line\": 7}, \"door\": {\"line\": 8, \"active_low\": true}}",
              &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_OK);
    if (rc) fprintf(stderr, "%s\n", err);
    CHECK_EQ_STR(cfg.gpio_chip, "gpiochip0");
    CHECK_EQ_INT(cfg.gpio_debounce_ms, 20);
    CHECK_EQ_INT(cfg.n_gpio_buttons, 2);
    CHECK_EQ_INT(cfg.gpio_buttons[0].line, 3);
    CHECK_EQ_INT(cfg.gpio_buttons[0].service_idx, 1);
    CHECK(cfg.gpio_buttons[0].active_low);
    CHECK_EQ_INT(cfg.gpio_buttons[1].line, 0);
    CHECK_EQ_INT(cfg.gpio_buttons[1].service_idx, 0);
    CHECK(!cfg.gpio_buttons[1].active_low);
    CHECK_EQ_INT(cfg.gpio_led_printer, 5);
    CHECK_EQ_INT(cfg.gpio_led_device, 6);
    CHECK(cfg.gpio_led_active_low);
    CHECK_EQ_INT(cfg.gpio_paper_line, 7);
    CHECK(!cfg.gpio_paper_active_low);
    CHECK_EQ_INT(cfg.gpio_door_line, 8);
    CHECK(cfg.gpio_door_active_low);
    hq_config_free(&cfg);

    bad("{\"chip\": \"c\", \"buttons\": [{\"line\": 1, \"service\": \"Z\"}]}",
        "x.json: $.gpio.buttons[0].service: unknown service \"Z\"");
    bad("{\"chip\": \"c\", \"buttons\": [{\"line\": 1, \"service\": \"A\"}], \"door\": {\"line\": "
        "1}}",
        "x.json: $.gpio.door.line: line 1 is already $.gpio.buttons[0].line");
    bad("{\"chip\": \"c\", \"leds\": {\"printer_fault\": 4, \"device_fault\": 4}}",
        "x.json: $.gpio.leds.device_fault: line 4 is already $.gpio.leds.printer_fault");
    bad("{\"paper_sensor\": {\"line\": 2}}",
        "x.json: $.gpio.chip: required key is missing: GPIO lines are configured");
    bad("{\"chip\": \"c\", \"door\": {\"line\": 1024}}",
        "x.json: $.gpio.door.line: must be an integer between 0 and 1023, got 1024");
    bad("{\"chip\": \"c\", \"buttons\": [{\"line\": 1}]}",
        "x.json: $.gpio.buttons[0].service: required key is missing");
    bad("{\"chip\": \"c\", \"debounce\": 5}", "x.json: $.gpio.debounce: unknown key");
    return check_report("test_gpio_config");
}
