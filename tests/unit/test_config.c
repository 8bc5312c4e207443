/*
 * test_config.c — the configuration loader: the shipped hall files land
 * where the daemon expects them, every kind of bad file is refused with
 * exactly one exact message, and docs/CONFIG.md documents every schema key
 * with the same type, bounds and default as the tables in config.c.
 *
 * Bad files are made from one small good hall by patching it with cJSON
 * ("services[2].daily_quota" := -5), so each case reads as the one thing it
 * breaks.
 */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "idcard_drv.h"

#ifndef HQ_SOURCE_DIR
#error "HQ_SOURCE_DIR must point at the source tree"
#endif

static const char base_hall[] =
    "{\n"
    " \"hall\": {\"id\": \"x\", \"name\": \"测试\"},\n"
    " \"http\": {\"tokens\": [{\"token\": \"0123456789abcdef\", \"role\": \"clerk\"}]},\n"
    " \"privacy\": {\"id_hash_key\": \"0123456789abcdef\"},\n"
    " \"services\": [\n"
    "  {\"code\": \"A\", \"name\": \"甲\", \"hours\": {\"weekdays\": [\"08:30-12:00\"]}},\n"
    "  {\"code\": \"B\", \"name\": \"乙\", \"hours\": {\"all\": [\"09:00-17:00\"]}},\n"
    "  {\"code\": \"C\", \"name\": \"丙\", \"hours\": {\"mon\": [\"09:00-17:00\"]}}\n"
    " ],\n"
    " \"windows\": [{\"number\": 1, \"services\": [\"A\"]}, {\"number\": 2, \"services\": [\"B\", "
    "\"C\"]}],\n"
    " \"staff\": [{\"id\": \"1001\", \"name\": \"王芳\"}]\n"
    "}\n";

/* Walk "a.b[2].c" in root; the last step is returned through parent/key/idx. */
static cJSON *patch_parent(cJSON *root, const char *path, char *key, size_t keylen, int *idx)
{
    cJSON *cur = root;
    const char *p = path;
    for (;;) {
        size_t n = strcspn(p, ".[");
        int i = -1;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        p += n;
        if (n == 0 && *p == '[') {
            i = atoi(p + 1);
            p = strchr(p, ']') + 1;
        }
        if (*p == '.') p++;
        if (!*p) {
            snprintf(key, keylen, "%s", name);
            *idx = i;
            return cur;
        }
        cJSON *next =
            i >= 0 ? cJSON_GetArrayItem(cur, i) : cJSON_GetObjectItemCaseSensitive(cur, name);
        if (!next && i < 0) next = cJSON_AddObjectToObject(cur, name); /* "queue" etc. */
        if (!next) return NULL;
        cur = next;
    }
}

/* Set path to the JSON text `value`, or delete it when value is NULL. */
static char *patched(const char *path, const char *value)
{
    cJSON *root = cJSON_Parse(base_hall);
    char key[64];
    int idx;
    cJSON *parent = patch_parent(root, path, key, sizeof key, &idx);
    if (!parent) {
        fprintf(stderr, "bad test path %s\n", path);
        cJSON_Delete(root);
        return NULL;
    }
    cJSON *v = value ? cJSON_Parse(value) : NULL;
    if (value && !v) fprintf(stderr, "bad test value %s\n", value);
    if (idx >= 0) {
        if (!v)
            cJSON_DeleteItemFromArray(parent, idx);
        else if (idx < cJSON_GetArraySize(parent))
            cJSON_ReplaceItemInArray(parent, idx, v);
        else
            cJSON_AddItemToArray(parent, v);
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
        if (v) cJSON_AddItemToObject(parent, key, v);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

struct bad_case {
    const char *path;  /* what to patch in base_hall; NULL = use raw */
    const char *value; /* JSON text; NULL = delete the key */
    const char *raw;   /* the whole file, where a patch cannot say it */
    const char *want;
};

static const struct bad_case bad_cases[] = {
    /* types */
    {"services[2].daily_quota", "-5", NULL,
     "x.json: $.services[2].daily_quota: must be an integer between 0 and 100000, got -5"},
    {"hall.name", "5", NULL, "x.json: $.hall.name: must be a string, got 5"},
    {"queue.recall_limit", "\"2\"", NULL,
     "x.json: $.queue.recall_limit: must be an integer between 0 and 9, got \"2\""},
    {"services[0].handle_s", "1.5", NULL,
     "x.json: $.services[0].handle_s: must be an integer between 10 and 7200, got 1.5"},
    {"queue.max_overtakes", "null", NULL,
     "x.json: $.queue.max_overtakes: must be an integer between 1 and 1000, got null"},
    {"services[0].id_required", "1", NULL,
     "x.json: $.services[0].id_required: must be true or false, got 1"},
    /* pause reasons */
    {"pause_reasons",
     "[{\"code\": \"lunch\", \"name\": \"午休\"}, {\"code\": \"lunch\", "
     "\"name\": \"午饭\"}]",
     NULL,
     "x.json: $.pause_reasons[1].code: pause reason \"lunch\" is already used by "
     "$.pause_reasons[0]"},
    {"pause_reasons", "[{\"code\": \"午休\", \"name\": \"午休\"}]", NULL,
     "x.json: $.pause_reasons[0].code: may contain only letters A-Z a-z, digits, '_', '-' and "
     "'.', got \"午休\""},
    {"pause_reasons", "[{\"code\": \"lunch\", \"name\": \"午休\", \"max_min\": 1441}]", NULL,
     "x.json: $.pause_reasons[0].max_min: must be an integer between 0 and 1440, got 1441"},
    {"pause_reasons", "[{\"code\": \"lunch\"}]", NULL,
     "x.json: $.pause_reasons[0].name: required key is missing"},
    {"services[0].time_limit_s", "-1", NULL,
     "x.json: $.services[0].time_limit_s: must be an integer between 0 and 86400, got -1"},
    {"http", "[]", NULL, "x.json: $.http: must be an object, got an array"},
    {"services", "{}", NULL, "x.json: $.services: must be an array, got an object"},
    {"services[0]", "\"A\"", NULL, "x.json: $.services[0]: must be an object, got \"A\""},
    {"windows[0].services", "\"A\"", NULL,
     "x.json: $.windows[0].services: must be an array of service codes, got \"A\""},
    /* bounds */
    {"windows[1].number", "1000", NULL,
     "x.json: $.windows[1].number: must be an integer between 1 and 999, got 1000"},
    {"http.max_body", "100000000", NULL,
     "x.json: $.http.max_body: must be an integer between 1024 and 16777216, got 100000000"},
    {"services[0].range", "[0, 10]", NULL,
     "x.json: $.services[0].range[0]: must be an integer between 1 and 9999, got 0"},
    {"services[0].range", "[50, 10]", NULL,
     "x.json: $.services[0].range: first number 50 is greater than last 10"},
    {"services[0].range", "[1]", NULL,
     "x.json: $.services[0].range: must be [first, last], got an array"},
    {"services[0].digits", "2", NULL,
     "x.json: $.services[0].digits: 2 digits cannot show 999, the last number of the range"},
    {"services", "[]", NULL, "x.json: $.services: must have 1 to 64 items, got 0"},
    {"windows", "[]", NULL, "x.json: $.windows: must have 1 to 512 items, got 0"},
    {"services[0].hours.weekdays",
     "[\"08:00-09:00\", \"09:00-10:00\", \"10:00-11:00\", \"11:00-12:00\", \"13:00-14:00\"]", NULL,
     "x.json: $.services[0].hours.weekdays: must have 0 to 4 items, got 5"},
    /* unknown keys at several depths */
    {"colour", "\"red\"", NULL, "x.json: $.colour: unknown key"},
    {"http.listn", "\"127.0.0.1:80\"", NULL, "x.json: $.http.listn: unknown key"},
    {"services[0].hours.monday", "[]", NULL, "x.json: $.services[0].hours.monday: unknown key"},
    {"services[0].overrides", "[{\"date\": \"2026-10-01\", \"hours\": [], \"why\": \"国庆\"}]",
     NULL, "x.json: $.services[0].overrides[0].why: unknown key"},
    {"http.tokens[0].user", "\"a\"", NULL, "x.json: $.http.tokens[0].user: unknown key"},
    {NULL, NULL, "{\"hall\": {\"id\": \"x\", \"id\": \"y\"}}", "x.json: $.hall.id: duplicate key"},
    /* missing required keys */
    {"hall.id", NULL, NULL, "x.json: $.hall.id: required key is missing"},
    {"privacy", NULL, NULL, "x.json: $.privacy: required key is missing"},
    {"services[1].hours", NULL, NULL, "x.json: $.services[1].hours: required key is missing"},
    {"windows[0].services", NULL, NULL, "x.json: $.windows[0].services: required key is missing"},
    {"http.tokens[0].role", NULL, NULL, "x.json: $.http.tokens[0].role: required key is missing"},
    /* strings */
    {"hall.name",
     "\"甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲甲\"",
     NULL, "x.json: $.hall.name: is too long: at most 127 bytes of UTF-8, got 129"},
    {"hall.name", "\"\"", NULL, "x.json: $.hall.name: must not be empty"},
    {"hall.name", "\"\\u00ff\"", NULL, NULL}, /* valid: U+00FF from an escape */
    {NULL, NULL, "{\"hall\": {\"id\": \"x\", \"name\": \"\xff\"}}",
     "x.json: $.hall.name: is not valid UTF-8"},
    {"staff[0].id", "\"10a1\"", NULL,
     "x.json: $.staff[0].id: must contain only digits 0-9, got \"10a1\""},
    {"staff[0].id", "\"7\"", NULL,
     "x.json: $.staff[0].id: is too short: at least 2 characters, got 1"},
    {"staff[0].id", "\"123456789\"", NULL,
     "x.json: $.staff[0].id: is too long: at most 8 characters, got 9"},
    {"services[0].code", "\"A B\"", NULL,
     "x.json: $.services[0].code: may contain only letters A-Z a-z, digits, '_', '-' and '.', got "
     "\"A B\""},
    {"services[0].prefix", "\"A1\"", NULL,
     "x.json: $.services[0].prefix: may contain only letters A-Z a-z, got \"A1\""},
    {"http.tokens[0].token", "\"short\"", NULL,
     "x.json: $.http.tokens[0].token: is too short: at least 16 characters, got 5"},
    /* a secret is never echoed */
    {"http.tokens[0].token", "\"0123456789 abcdef\"", NULL,
     "x.json: $.http.tokens[0].token: may contain only printable ASCII without spaces"},
    {"http.web_root", "\"\"", NULL, "x.json: $.http.web_root: must not be empty"},
    {"http.listen", "\"127.0.0.1\"", NULL,
     "x.json: $.http.listen: must be \"HOST:PORT\" with a port from 1 to 65535, got \"127.0.0.1\""},
    {"http.listen", "\"0.0.0.0:70000\"", NULL,
     "x.json: $.http.listen: must be \"HOST:PORT\" with a port from 1 to 65535, got "
     "\"0.0.0.0:70000\""},
    {"http.public_url", "\"ftp://hall\"", NULL,
     "x.json: $.http.public_url: must start with \"http://\" or \"https://\", got \"ftp://hall\""},
    /* enums */
    {"store.synchronous", "\"fast\"", NULL,
     "x.json: $.store.synchronous: must be one of \"full\", \"normal\", got \"fast\""},
    {"http.tokens[0].role", "\"admin\"", NULL,
     "x.json: $.http.tokens[0].role: must be one of \"clerk\", \"manager\", \"device\", "
     "got \"admin\""},
    /* the LAN's budgets (issue 13) */
    {"http.kiosk_addresses", "[\"192.168.1.20\", \"kiosk-1\"]", NULL,
     "x.json: $.http.kiosk_addresses[1]: must be an IP address like \"192.168.1.20\", got "
     "\"kiosk-1\""},
    {"http.device_addresses", "\"192.168.1.20\"", NULL,
     "x.json: $.http.device_addresses: must be an array of strings, each an IP address like "
     "\"192.168.1.20\", got \"192.168.1.20\""},
    {"http.trusted_proxies", "[\"fd00::1\", \"FD00::1\"]", NULL,
     "x.json: $.http.trusted_proxies[1]: \"FD00::1\" is listed twice"},
    {"http.hosts", "[\"hall.example:8080\"]", NULL,
     "x.json: $.http.hosts[0]: must be a host name like \"hall.example\" (no port), got "
     "\"hall.example:8080\""},
    {NULL, NULL,
     "{\"hall\": {\"id\": \"h\", \"name\": \"n\"}, \"privacy\": {\"id_hash_key\": "
     "\"0123456789abcdef\"}, \"http\": {\"max_clients\": 8, \"max_per_address\": 9}}",
     "x.json: $.http.max_per_address: 9 is more than max_clients (8)"},
    {NULL, NULL,
     "{\"hall\": {\"id\": \"h\", \"name\": \"n\"}, \"privacy\": {\"id_hash_key\": "
     "\"0123456789abcdef\"}, \"http\": {\"max_clients\": 8, \"device_slots\": 4, "
     "\"device_addresses\": [\"10.0.0.1\"], \"kiosk_addresses\": [\"10.0.0.2\", \"10.0.0.1\"]}}",
     "x.json: $.http.device_slots: 2 device addresses x 4 slots keep all of max_clients (8) "
     "for them; raise max_clients or lower device_slots"},
    {NULL, NULL,
     "{\"hall\": {\"id\": \"h\", \"name\": \"n\"}, \"privacy\": {\"id_hash_key\": "
     "\"0123456789abcdef\"}, \"http\": {\"public_addresses\": [\"10.0.0.9\"], "
     "\"kiosk_addresses\": [\"10.0.0.9\"]}}",
     "x.json: $.http.public_addresses: \"10.0.0.9\" is also a device or kiosk address: one "
     "address is either many people's or one device's"},
    {"hall.log_level", "3", NULL,
     "x.json: $.hall.log_level: must be one of \"error\", \"warn\", \"notice\", \"info\", "
     "\"debug\", \"hex\", got 3"},
    {"services[0].priorities", "[\"elderly\", \"vip\"]", NULL,
     "x.json: $.services[0].priorities[1]: must be one of \"elderly\", \"disabled\", "
     "\"military\", \"appointment\", \"green\", got \"vip\""},
    {"services[0].priorities", "[\"green\", \"green\"]", NULL,
     "x.json: $.services[0].priorities[1]: \"green\" is listed twice"},
    /* times, dates, offsets */
    {"services[0].hours.weekdays", "[\"12:00-08:00\"]", NULL,
     "x.json: $.services[0].hours.weekdays[0]: must be \"HH:MM-HH:MM\" from 00:00 to 24:00, "
     "start before end, got \"12:00-08:00\""},
    {"services[0].hours.weekdays", "[\"8:30-12:00\"]", NULL,
     "x.json: $.services[0].hours.weekdays[0]: must be \"HH:MM-HH:MM\" from 00:00 to 24:00, "
     "start before end, got \"8:30-12:00\""},
    {"services[0].hours.fri", "[\"08:00-12:00\", \"20:00-24:30\"]", NULL,
     "x.json: $.services[0].hours.fri[1]: must be \"HH:MM-HH:MM\" from 00:00 to 24:00, "
     "start before end, got \"20:00-24:30\""},
    {"services[0].hours.weekdays", "[\"08:00-12:00\", \"11:00-13:00\"]", NULL,
     "x.json: $.services[0].hours.weekdays[1]: must start at or after the end of the interval "
     "before it, got \"11:00-13:00\""},
    {"services[0].hours", "{\"sat\": []}", NULL,
     "x.json: $.services[0].hours: the service is never open: give hours for at least one day"},
    {"services[0].overrides", "[{\"date\": \"2026-02-30\", \"hours\": []}]", NULL,
     "x.json: $.services[0].overrides[0].date: must be a date \"YYYY-MM-DD\" from 2000 to 2099, "
     "got \"2026-02-30\""},
    {"services[0].overrides", "[{\"date\": \"2026-1-5\", \"hours\": []}]", NULL,
     "x.json: $.services[0].overrides[0].date: must be a date \"YYYY-MM-DD\" from 2000 to 2099, "
     "got \"2026-1-5\""},
    {"services[0].overrides",
     "[{\"date\": \"2026-10-01\", \"hours\": []}, {\"date\": \"2026-10-01\", \"hours\": []}]", NULL,
     "x.json: $.services[0].overrides: date 2026-10-01 is listed twice"},
    {"hall.utc_offset", "\"8\"", NULL,
     "x.json: $.hall.utc_offset: must be \"+HH:MM\" or \"-HH:MM\" from -12:00 to +14:00, got "
     "\"8\""},
    {"hall.utc_offset", "\"+15:00\"", NULL,
     "x.json: $.hall.utc_offset: must be \"+HH:MM\" or \"-HH:MM\" from -12:00 to +14:00, got "
     "\"+15:00\""},
    /* cross-checks */
    {"services[1].code", "\"A\"", NULL,
     "x.json: $.services[1].code: service code \"A\" is already used by $.services[0]"},
    {"services[2].prefix", "\"B\"", NULL,
     "x.json: $.services[2].prefix: prefix \"B\" is already used by $.services[1]"},
    {"services[0].code", "\"A1\"", NULL,
     "x.json: $.services[0].prefix: required key is missing: the code \"A1\" cannot be the "
     "prefix (letters only, at most 7)"},
    {"windows[1].services[0]", "\"Z\"", NULL,
     "x.json: $.windows[1].services[0]: unknown service \"Z\""},
    {"windows[1].services[1]", "\"B\"", NULL,
     "x.json: $.windows[1].services[1]: service \"B\" is listed twice"},
    {"windows[1].number", "1", NULL,
     "x.json: $.windows[1].number: window 1 is already $.windows[0]"},
    {"staff[1]", "{\"id\": \"1001\", \"name\": \"李娜\"}", NULL,
     "x.json: $.staff[1].id: staff id \"1001\" is already used by $.staff[0]"},
    {"http.tokens[1]", "{\"token\": \"0123456789abcdef\", \"role\": \"manager\"}", NULL,
     "x.json: $.http.tokens[1].token: the same token as $.http.tokens[0]"},
    /* printers */
    {"printer", "{\"queue\": \"q\", \"status_link\": \"COM3\"}", NULL,
     "x.json: $.printer.status_link: must be \"tcp://HOST:PORT\" or a serial port (/dev/..., "
     "usb:VID:PID or pty:PATH) with an optional @BAUD"},
    {"printer",
     "{\"queue\": \"q\", \"backup_queue\": \"r\", \"backup_status_link\": \"/dev/ttyS1@300\"}",
     NULL, "x.json: $.printer.backup_status_link: baud after @ must be 1200..230400"},
    {"printer",
     "{\"kiosks\": [{\"kiosk\": \"k1\", \"queue\": \"a\"}, {\"kiosk\": \"k2\", \"queue\": \"a\"}]}",
     NULL, "x.json: $.printer.kiosks[1].queue: \"a\" is already $.printer.kiosks[0]"},
    {"printer", "{\"kiosks\": [{\"kiosk\": \"k1\", \"queue\": \"a\", \"status_link\": \"lpt1\"}]}",
     NULL,
     "x.json: $.printer.kiosks[0].status_link: must be \"tcp://HOST:PORT\" or a serial port "
     "(/dev/..., usb:VID:PID or pty:PATH) with an optional @BAUD"},
    /* devices */
    {"devices.card_readers", "[{\"kiosk\": \"k1\", \"port\": \"COM3\"}]", NULL,
     "x.json: $.devices.card_readers[0].port: must be a device path (\"/dev/ttyUSB0\"), "
     "\"usb:VID:PID[:SERIAL]\", \"pty:PATH\" or \"tcp://HOST:PORT\", got \"COM3\""},
    {"devices.card_readers",
     "[{\"kiosk\": \"k1\", \"port\": \"/dev/ttyS0\"}, {\"kiosk\": \"k1\", \"port\": "
     "\"/dev/ttyS1\"}]",
     NULL,
     "x.json: $.devices.card_readers[1].kiosk: kiosk \"k1\" already has a reader: "
     "$.devices.card_readers[0]"},
    {"devices.card_hold_s", "5", NULL,
     "x.json: $.devices.card_hold_s: must be an integer between 10 and 600, got 5"},
    /* a driver's own keys (drivers/driver.h) go through the same checks as every other key */
    {"devices.card_readers", "[{\"kiosk\": \"k1\", \"port\": \"/dev/ttyS0\", \"fingerprint\": 1}]",
     NULL, "x.json: $.devices.card_readers[0].fingerprint: must be true or false, got 1"},
    {"devices.card_readers", "[{\"kiosk\": \"k1\", \"port\": \"/dev/ttyS0\", \"type\": \"ff68\"}]",
     NULL,
     "x.json: $.devices.card_readers[0].type: must be a card reader driver (\"sam\"), got "
     "\"ff68\""},
    {"devices.buses",
     "[{\"id\": \"b\", \"type\": \"hall\", \"port\": \"/dev/ttyS0\", \"fingerprint\": true}]", NULL,
     "x.json: $.devices.buses[0].fingerprint: unknown key"},
    {"devices.windows", "[{\"window\": 1, \"fingerprint\": true}]", NULL,
     "x.json: $.devices.windows[0].fingerprint: unknown key"},
    {"devices.buses", "[{\"id\": \"b\", \"type\": \"hall\", \"port\": \"tcp://h:70000\"}]", NULL,
     "x.json: $.devices.buses[0].port: must be a device path (\"/dev/ttyUSB0\"), "
     "\"usb:VID:PID[:SERIAL]\", \"pty:PATH\" or \"tcp://HOST:PORT\", got \"tcp://h:70000\""},
    {"devices.buses", "[{\"id\": \"b\", \"type\": \"modbus\", \"port\": \"/dev/ttyS0\"}]", NULL,
     "x.json: $.devices.buses[0].type: must be one of \"ff68\", \"hall\", \"a090\", \"led\", "
     "\"onbon\", got \"modbus\""},
    {"devices.buses",
     "[{\"id\": \"b\", \"type\": \"hall\", \"port\": \"usb:1A86:7523\", \"acknowledge\": true}]",
     NULL, "x.json: $.devices.buses[0].acknowledge: only LED bars acknowledge (type \"led\")"},
    {"devices",
     "{\"card_readers\": [{\"kiosk\": \"k1\", \"port\": \"pty:/tmp/a\"}], \"buses\": [{\"id\": "
     "\"b\", \"type\": \"hall\", \"port\": \"pty:/tmp/a\"}]}",
     NULL, "x.json: $.devices.buses[0].port: \"pty:/tmp/a\" is already $.devices.card_readers[0]"},
    {"devices", "{\"windows\": [{\"window\": 9, \"keypad\": 1}]}", NULL,
     "x.json: $.devices.windows[0].window: window 9 is not in $.windows"},
    {"devices", "{\"windows\": [{\"window\": 1, \"keypad\": 1}]}", NULL,
     "x.json: $.devices.windows[0].bus: required key is missing: there are 0 hall buses in "
     "$.devices.buses"},
    {"devices",
     "{\"buses\": [{\"id\": \"b\", \"type\": \"hall\", \"port\": \"/dev/ttyS0\"}, {\"id\": "
     "\"c\", \"type\": \"hall\", \"port\": \"/dev/ttyS1\"}], \"windows\": [{\"window\": 1, "
     "\"keypad\": 1}]}",
     NULL,
     "x.json: $.devices.windows[0].bus: required key is missing: there are 2 hall buses, name one"},
    {"devices",
     "{\"buses\": [{\"id\": \"bars\", \"type\": \"led\", \"port\": \"/dev/ttyS0\"}], "
     "\"windows\": [{\"window\": 1, \"bus\": \"bars\", \"keypad\": 1}]}",
     NULL, "x.json: $.devices.windows[0].bus: bus \"bars\" is a led bus, not a hall bus"},
    {"devices",
     "{\"buses\": [{\"id\": \"b\", \"type\": \"hall\", \"port\": \"/dev/ttyS0\"}], "
     "\"windows\": [{\"window\": 1, \"keypad\": 3}, {\"window\": 2, \"keypad\": 4, \"pad\": 3}]}",
     NULL,
     "x.json: $.devices.windows[1].pad: address 3 on bus \"b\" is already $.devices.windows[0]"},
    {"devices",
     "{\"buses\": [{\"id\": \"b\", \"type\": \"hall\", \"port\": \"/dev/ttyS0\"}], "
     "\"windows\": [{\"window\": 1, \"pad\": 33, \"pad_type\": \"four\", \"pad_map\": "
     "\"1=1,2=6\"}]}",
     NULL,
     "x.json: $.devices.windows[0].pad_map: must be \"raw=level,...\" with raw 0..255 and level "
     "1..5, got \"1=1,2=6\""},
    {"devices",
     "{\"buses\": [{\"id\": \"b\", \"type\": \"hall\", \"port\": \"/dev/ttyS0\"}, {\"id\": "
     "\"l\", \"type\": \"led\", \"port\": \"tcp://10.0.0.5:4001\", \"acknowledge\": true}], "
     "\"windows\": [{\"window\": 1, \"keypad\": 1, \"pad\": 33, \"pad_type\": \"four\", "
     "\"pad_map\": \"1=1,2=3,3=4,4=5\", \"bar\": 1}, {\"window\": 2, \"keypad\": 2, \"bar\": 2}]}",
     NULL, NULL}, /* valid: the only bus of each type is the default */
    {"devices.led.template", "\"{number}号请\"", NULL,
     "x.json: $.devices.led.template: unknown placeholder \"{number}\": use {ticket}, {window} "
     "or {name}"},
    {"devices.led.blank_at", "\"25:00\"", NULL,
     "x.json: $.devices.led.blank_at: must be \"auto\", \"off\" or a time \"HH:MM\", got "
     "\"25:00\""},
    {"devices.led.color", "\"blue\"", NULL,
     "x.json: $.devices.led.color: must be one of \"red\", \"green\", \"yellow\", got \"blue\""},
    /* voice */
    {"voice.output", "\"speaker\"", NULL,
     "x.json: $.voice.output: must be \"alsa:DEVICE\" or \"dir:FOLDER\", got \"speaker\""},
    {"voice.output", "\"alsa:\"", NULL,
     "x.json: $.voice.output: must be \"alsa:DEVICE\" or \"dir:FOLDER\", got \"alsa:\""},
    {"voice.output", "\"alsa:my card\"", NULL,
     "x.json: $.voice.output: must be \"alsa:DEVICE\" or \"dir:FOLDER\", got \"alsa:my card\""},
    {"voice.language", "\"en\"", NULL,
     "x.json: $.voice.language: must be one of \"zh\", \"zh+en\", got \"en\""},
    {"voice.repeat", "0", NULL,
     "x.json: $.voice.repeat: must be an integer between 1 and 5, got 0"},
    {"voice.volume", "5", NULL, "x.json: $.voice.volume: unknown key"},
    {"voice", "{\"enabled\": true, \"output\": \"dir:out\", \"language\": \"zh+en\"}", NULL, NULL},
    /* JSON itself */
    {NULL, NULL, "{\n  \"hall\": {\"id\": \"x\"},\n  \"http\": {\"listen\": \"a:1\",, }\n}\n",
     "x.json: line 3: JSON syntax error near ' \"a:1\",, }'"},
    {NULL, NULL, "{\"hall\": ", "x.json: line 1: JSON syntax error at end of file"},
    {NULL, NULL, "{\"a\": 1} x", "x.json: line 1: JSON syntax error near '\"a\": 1} x'"},
    {NULL, NULL, "[1, 2]", "x.json: $: must be an object, got an array"},
};

static void test_bad_cases(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        char *text = c->raw ? strdup(c->raw) : patched(c->path, c->value);
        struct hq_config cfg;
        char err[512] = "";
        CHECK(text != NULL);
        if (!text) continue;
        int rc = hq_config_parse("x.json", "/etc/hallq", text, &cfg, err, sizeof err);
        if (c->want) {
            CHECK_EQ_INT(rc, HQ_ERR_CONFIG);
            CHECK_EQ_STR(err, c->want);
            /* A refused file leaves nothing behind to free or to use. */
            CHECK(cfg.engine.services == NULL && cfg.engine.n_services == 0);
        } else {
            CHECK_EQ_INT(rc, HQ_OK);
            CHECK_EQ_STR(err, "");
        }
        hq_config_free(&cfg);
        free(text);
    }
}

static void test_base_and_paths(void)
{
    struct hq_config cfg;
    char err[512] = "";
    int rc = hq_config_parse("x.json", "/etc/hallq", base_hall, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_OK);
    CHECK_EQ_STR(err, "");
    CHECK_EQ_STR(cfg.file, "/etc/hallq/x.json");
    CHECK_EQ_STR(cfg.dir, "/etc/hallq");
    /* defaults */
    CHECK_EQ_STR(cfg.http_listen, "127.0.0.1:8080");
    CHECK_EQ_STR(cfg.public_url, "http://127.0.0.1:8080");
    CHECK_EQ_STR(cfg.web_root, "/usr/share/hallq/web");
    CHECK_EQ_STR(cfg.database, "/var/lib/hallq/hallq.db");
    CHECK_EQ_STR(cfg.synchronous, "full");
    CHECK_EQ_STR(cfg.log_level, "info");
    CHECK_EQ_STR(cfg.ticket_notice, "过号请重新取号");
    CHECK_EQ_INT(cfg.http_max_body, 65536);
    CHECK_EQ_INT(cfg.wait_alarm_s, 1800);
    CHECK_EQ_INT(cfg.idle_alarm_s, 600);
    CHECK_EQ_INT(cfg.unstaffed_alarm_s, 300);
    CHECK_EQ_INT(cfg.engine.services[0].time_limit_s, 0);
    /* the default pause reasons, Chinese first, "other" last */
    CHECK_EQ_INT(cfg.engine.n_pause_reasons, 6);
    CHECK_EQ_STR(cfg.engine.pause_reasons[0].code, "lunch");
    CHECK_EQ_STR(cfg.engine.pause_reasons[0].name, "午休");
    CHECK_EQ_STR(cfg.engine.pause_reasons[0].name_en, "Lunch break");
    CHECK_EQ_INT(cfg.engine.pause_reasons[0].max_min, 60);
    CHECK_EQ_STR(cfg.engine.pause_reasons[5].code, "other");
    CHECK_EQ_INT(cfg.engine.utc_offset_s, 28800);
    CHECK_EQ_INT(cfg.engine.recall_limit, 2);
    CHECK(cfg.engine.no_show_requeue);
    CHECK_EQ_INT(cfg.engine.max_overtakes, 5);
    CHECK_EQ_INT(cfg.engine.elderly_age, 65);
    CHECK_EQ_INT(cfg.engine.head_start_s[HQ_PRIO_NORMAL], 0);
    CHECK_EQ_INT(cfg.engine.head_start_s[HQ_PRIO_GREEN], 3600);
    CHECK_EQ_INT(cfg.engine.head_start_s[HQ_PRIO_APPOINTMENT], 1200);
    const struct hq_service_cfg *a = &cfg.engine.services[0], *c = &cfg.engine.services[2];
    CHECK_EQ_STR(a->prefix, "A");
    CHECK_EQ_INT(a->num_min, 1);
    CHECK_EQ_INT(a->num_max, 999);
    CHECK_EQ_INT(a->digits, 3);
    CHECK_EQ_INT(a->priority_mask, (1u << HQ_PRIO__COUNT) - 1);
    CHECK_EQ_INT(a->default_handle_s, 300);
    /* "weekdays": Monday to Friday, weekend closed */
    CHECK_EQ_INT(a->week[0].n, 0);
    CHECK_EQ_INT(a->week[6].n, 0);
    for (int d = 1; d <= 5; d++) {
        CHECK_EQ_INT(a->week[d].n, 1);
        CHECK_EQ_INT(a->week[d].iv[0].open_min, 8 * 60 + 30);
        CHECK_EQ_INT(a->week[d].iv[0].close_min, 12 * 60);
    }
    CHECK_EQ_INT(c->week[1].n, 1);
    CHECK_EQ_INT(c->week[2].n, 0);
    CHECK_EQ_STR(cfg.engine.windows[1].name, "2号窗口");
    CHECK_EQ_STR(cfg.engine.windows[1].name_en, "Window 2");
    CHECK(!cfg.voice_enabled);
    CHECK_EQ_STR(cfg.voice_pack, "");
    CHECK_EQ_STR(cfg.voice_output, "alsa:default");
    CHECK_EQ_INT(cfg.voice_repeat, 2);
    CHECK_EQ_STR(cfg.voice_language, "zh");
    CHECK_EQ_INT(cfg.voice_gap_ms, 60);
    CHECK_EQ_INT(cfg.voice_pause_ms, 700);
    CHECK_EQ_INT(cfg.voice_max_lag_s, 30);
    hq_config_free(&cfg);
    CHECK(cfg.engine.services == NULL && cfg.engine.windows == NULL && cfg.engine.staff == NULL);
    hq_config_free(&cfg); /* twice is harmless */

    /* Relative paths join the config's folder; "." and ".." fold away. */
    static const struct {
        const char *dir, *value, *want;
    } paths[] = {
        {"/etc/hallq", "\"../c.db\"", "/etc/c.db"},
        {"/etc/hallq", "\"./x/./y.db\"", "/etc/hallq/x/y.db"},
        {"/etc/hallq/", "\"/var/lib/h.db\"", "/var/lib/h.db"},
        {"/", "\"../../h.db\"", "/h.db"},
        {"/a/b", "\"data//h.db\"", "/a/b/data/h.db"},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char *text = patched("store.database", paths[i].value);
        rc = hq_config_parse("x.json", paths[i].dir, text, &cfg, err, sizeof err);
        CHECK_EQ_INT(rc, HQ_OK);
        CHECK_EQ_STR(cfg.database, paths[i].want);
        hq_config_free(&cfg);
        free(text);
    }
    /* The voice pack folder and a dir: output are relative to the config's folder too. */
    char *vtext = patched("voice", "{\"pack\": \"../voice/./hall\", \"output\": \"dir:out/\", "
                                   "\"repeat\": 3}");
    rc = hq_config_parse("x.json", "/etc/hallq", vtext, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_OK);
    CHECK_EQ_STR(cfg.voice_pack, "/etc/voice/hall");
    CHECK_EQ_STR(cfg.voice_output, "dir:/etc/hallq/out");
    CHECK_EQ_INT(cfg.voice_repeat, 3);
    hq_config_free(&cfg);
    free(vtext);
    vtext = patched("voice.output", "\"alsa:plughw:1,0\"");
    rc = hq_config_parse("x.json", "/etc/hallq", vtext, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_OK);
    CHECK_EQ_STR(cfg.voice_output, "alsa:plughw:1,0");
    hq_config_free(&cfg);
    free(vtext);
    /* A relative config folder is taken from the working directory. */
    char cwd[PATH_MAX], want[PATH_MAX + 32];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(want, sizeof want, "%s/h.db", strcmp(cwd, "/") ? cwd : "");
    char *text = patched("store.database", "\"sub/../h.db\"");
    rc = hq_config_parse("x.json", "", text, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_OK);
    CHECK_EQ_STR(cfg.database, want);
    hq_config_free(&cfg);
    free(text);
    /* A path that cannot fit, as written or once absolute, is refused, never truncated. */
    char longdir[400], value[700];
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[0] = '/';
    longdir[sizeof longdir - 1] = '\0';
    memset(value, 'v', 600);
    value[0] = '"';
    strcpy(value + 600, "\"");
    text = patched("store.database", value);
    rc = hq_config_parse("x.json", "/tmp", text, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_ERR_CONFIG);
    CHECK_EQ_STR(err, "x.json: $.store.database: is too long: at most 511 bytes of UTF-8, got 599");
    hq_config_free(&cfg);
    free(text);
    value[200] = '"';
    value[201] = '\0';
    text = patched("store.database", value);
    rc = hq_config_parse("x.json", "/tmp", text, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_OK);
    CHECK_EQ_INT(strlen(cfg.database), 5 + 199);
    hq_config_free(&cfg);
    rc = hq_config_parse("x.json", longdir, text, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_ERR_CONFIG);
    CHECK_EQ_STR(err, "x.json: $.store.database: is longer than 511 bytes once made absolute");
    hq_config_free(&cfg);
    free(text);
}

static void test_demo_hall(void)
{
    struct hq_config cfg;
    char err[512] = "", src[PATH_MAX], want[PATH_MAX + 64];
    CHECK(realpath(HQ_SOURCE_DIR, src) != NULL);
    int rc = hq_config_load(HQ_SOURCE_DIR "/config/demo-hall.json", &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_OK);
    CHECK_EQ_STR(err, "");
    if (rc) return;
    snprintf(want, sizeof want, "%s/config/demo-hall.json", src);
    CHECK_EQ_STR(cfg.file, want);
    snprintf(want, sizeof want, "%s/config", src);
    CHECK_EQ_STR(cfg.dir, want);
    snprintf(want, sizeof want, "%s/firmware/web", src);
    CHECK_EQ_STR(cfg.web_root, want);
    snprintf(want, sizeof want, "%s/config/hallq-demo.db", src);
    CHECK_EQ_STR(cfg.database, want);
    CHECK_EQ_STR(cfg.engine.hall_id, "demo-hall-001");
    CHECK_EQ_STR(cfg.hall_name, "示范市政务服务中心");
    CHECK_EQ_INT(cfg.engine.utc_offset_s, 8 * 3600);
    CHECK_EQ_STR(cfg.http_listen, "127.0.0.1:8080");
    CHECK_EQ_INT(cfg.n_tokens, 2);
    CHECK_EQ_STR(cfg.tokens[0].role, "clerk");
    CHECK_EQ_STR(cfg.tokens[1].role, "manager");
    CHECK(strlen(cfg.tokens[1].token) >= 16);
    CHECK(strlen(cfg.id_hash_key) >= 16);

    const struct hq_engine_cfg *e = &cfg.engine;
    CHECK_EQ_INT(e->n_services, 4);
    CHECK_EQ_INT(e->n_windows, 8);
    CHECK_EQ_INT(e->n_staff, 12); /* ten clerks, a manager and a desk (roles, PINs: DESIGN.md) */
    if (e->n_services != 4 || e->n_windows != 8 || e->n_staff != 12) goto out;
    CHECK_EQ_STR(e->staff[0].role, "clerk"); /* the default */
    CHECK_EQ_STR(e->staff[10].role, "manager");
    CHECK_EQ_STR(e->staff[11].role, "desk");
    static const char *const names[4] = {"社保业务", "不动产登记", "企业开办", "综合受理"};
    for (int s = 0; s < 4; s++) {
        CHECK_EQ_STR(e->services[s].name, names[s]);
        CHECK(e->services[s].name_en[0] != '\0');
        /* the demo opens around the clock, every day */
        for (int d = 0; d < 7; d++) {
            CHECK_EQ_INT(e->services[s].week[d].n, 1);
            CHECK_EQ_INT(e->services[s].week[d].iv[0].open_min, 0);
            CHECK_EQ_INT(e->services[s].week[d].iv[0].close_min, 24 * 60);
        }
    }
    CHECK(e->services[1].id_required);
    CHECK_EQ_INT(e->services[0].daily_quota, 300);
    CHECK_EQ_INT(e->services[1].default_handle_s, 900);
    CHECK_EQ_INT(e->services[0].priority_mask, 0x3f);
    CHECK_EQ_INT(e->services[1].priority_mask,
                 (1 << HQ_PRIO_NORMAL) | (1 << HQ_PRIO_ELDERLY) | (1 << HQ_PRIO_DISABLED) |
                     (1 << HQ_PRIO_MILITARY) | (1 << HQ_PRIO_APPOINTMENT));
    CHECK_EQ_INT(e->services[2].priority_mask,
                 (1 << HQ_PRIO_NORMAL) | (1 << HQ_PRIO_APPOINTMENT) | (1 << HQ_PRIO_GREEN));
    CHECK_EQ_INT(e->services[3].priority_mask, 0x3f); /* default: every class */
    /* window 8 serves D, A, B, C: indices in that order (first = preferred) */
    CHECK_EQ_INT(e->windows[7].number, 8);
    CHECK_EQ_INT(e->windows[7].n_services, 4);
    static const uint8_t w8[4] = {3, 0, 1, 2};
    CHECK_EQ_MEM(e->windows[7].services, w8, 4);
    CHECK_EQ_INT(e->windows[3].n_services, 2);
    CHECK_EQ_INT(e->windows[3].services[0], 1);
    CHECK_EQ_INT(e->windows[3].services[1], 0);
    for (size_t i = 0; i < e->n_staff; i++)
        CHECK_EQ_INT(strlen(e->staff[i].id), 4);
    CHECK_EQ_STR(e->staff[0].name, "王芳");
    CHECK_EQ_INT(e->head_start_s[HQ_PRIO_ELDERLY], 600);
    /* the demo speaks, from the pack built with hallq */
    CHECK(cfg.voice_enabled);
    CHECK_EQ_STR(cfg.voice_pack, "");
    CHECK_EQ_STR(cfg.voice_language, "zh+en");
out:
    hq_config_free(&cfg);
}

static void test_test_hall(void)
{
    struct hq_config cfg;
    char err[512] = "", src[PATH_MAX], want[PATH_MAX + 64];
    CHECK(realpath(HQ_SOURCE_DIR, src) != NULL);
    int rc = hq_config_load(HQ_SOURCE_DIR "/config/test-hall.json", &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_OK);
    CHECK_EQ_STR(err, "");
    if (rc) return;
    const struct hq_engine_cfg *e = &cfg.engine;
    CHECK_EQ_INT(e->n_services, 2);
    CHECK_EQ_INT(e->n_windows, 3);
    CHECK_EQ_INT(e->n_staff, 3);
    if (e->n_services != 2 || e->n_windows != 3 || e->n_staff != 3) goto out;
    snprintf(want, sizeof want, "%s/config/test-hall.db", src);
    CHECK_EQ_STR(cfg.database, want);
    CHECK_EQ_STR(cfg.public_url, "http://127.0.0.1:18080");
    const struct hq_service_cfg *a = &e->services[0], *b = &e->services[1];
    CHECK_EQ_STR(a->prefix, "A");
    CHECK_EQ_STR(b->prefix, "BD");
    CHECK_EQ_INT(a->num_max, 99);
    CHECK_EQ_INT(a->digits, 2);
    CHECK_EQ_INT(b->num_max, 999);
    CHECK_EQ_INT(a->priority_mask,
                 (1 << HQ_PRIO_NORMAL) | (1 << HQ_PRIO_ELDERLY) | (1 << HQ_PRIO_GREEN));
    /* weekdays: two intervals; Saturday a morning; Sunday closed */
    CHECK_EQ_INT(a->week[3].n, 2);
    CHECK_EQ_INT(a->week[3].iv[0].open_min, 510);
    CHECK_EQ_INT(a->week[3].iv[0].close_min, 720);
    CHECK_EQ_INT(a->week[3].iv[1].open_min, 810);
    CHECK_EQ_INT(a->week[3].iv[1].close_min, 1050);
    CHECK_EQ_INT(a->week[6].n, 1);
    CHECK_EQ_INT(a->week[6].iv[0].open_min, 540);
    CHECK_EQ_INT(a->week[0].n, 0);
    /* overrides come out sorted by date */
    CHECK_EQ_INT(a->n_overrides, 2);
    if (a->n_overrides == 2) {
        CHECK_EQ_INT(a->overrides[0].day, 20723); /* 2026-09-27, a make-up working Sunday */
        CHECK_EQ_INT(a->overrides[0].hours.n, 1);
        CHECK_EQ_INT(a->overrides[0].hours.iv[0].close_min, 720);
        CHECK_EQ_INT(a->overrides[1].day, 20727); /* 2026-10-01, closed */
        CHECK_EQ_INT(a->overrides[1].hours.n, 0);
    }
    CHECK(b->id_required);
    CHECK_EQ_INT(b->default_handle_s, 600);
    CHECK_EQ_STR(e->windows[0].name, "1号窗口");
    CHECK_EQ_STR(e->windows[0].name_en, "Window 1");
    CHECK_EQ_STR(e->windows[2].name, "10号综合窗口");
    CHECK_EQ_INT(e->windows[1].services[0], 1);
    CHECK_EQ_INT(e->windows[1].services[1], 0);
    CHECK_EQ_STR(e->staff[2].id, "20");
out:
    hq_config_free(&cfg);

    /* A file that is not there: one line naming it. */
    rc = hq_config_load("/nonexistent/hall.json", &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_ERR_CONFIG);
    CHECK_EQ_STR(err, "/nonexistent/hall.json: cannot open: No such file or directory");
}

/* ------------------------------------------------------------- the docs */

struct doc_ctx {
    char *doc;
    int keys;
    int prio_keys;
    char seen[1024][96]; /* every path walked: a key declared twice in a table is a bug */
};

static int doc_check(void *arg, const char *path, const char *type, const char *def,
                     const char *reload)
{
    struct doc_ctx *d = arg;
    char row[512];
    for (int k = 0; k < d->keys && k < 1024; k++)
        if (strcmp(d->seen[k], path) == 0) {
            check_failures++;
            fprintf(stderr, "the schema declares %s twice\n", path);
        }
    if (d->keys < 1024) snprintf(d->seen[d->keys], sizeof d->seen[0], "%s", path);
    check_count++;
    d->keys++;
    snprintf(row, sizeof row, "| `%s` | %s | %s | %s |", path, type, def, reload);
    if (getenv("HQ_DOC_ROWS")) printf("%s\n", row); /* to write docs/CONFIG.md's rows */
    if (!strstr(d->doc, row)) {
        check_failures++;
        fprintf(stderr, "docs/CONFIG.md lacks the row: %s\n", row);
    }
    check_count++;
    if (strncmp(path, "priority.", 9) == 0) {
        int p = hq_priority_from_name(path + 9);
        CHECK(p > HQ_PRIO_NORMAL && p < HQ_PRIO__COUNT);
        d->prio_keys++;
    }
    return 0;
}

static void test_docs(void)
{
    FILE *f = fopen(HQ_SOURCE_DIR "/docs/CONFIG.md", "rb");
    CHECK(f != NULL);
    if (!f) return;
    static char doc[256 * 1024];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    static struct doc_ctx d;
    d.doc = doc;
    CHECK_EQ_INT(hq_config_schema_each(doc_check, &d), 0);
    CHECK(d.keys >= 70); /* the walk reached the nested tables */
    /* the "priority" object has one key per class the engine knows */
    CHECK_EQ_INT(d.prio_keys, HQ_PRIO__COUNT - 1);
}

/* The devices section: defaults, and each window's buses resolved to indices. */
static void test_devices_section(void)
{
    struct hq_config cfg;
    char err[512] = "";
    int rc = hq_config_parse("x.json", "/etc/hallq", base_hall, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_OK);
    CHECK_EQ_INT(cfg.n_readers, 0);
    CHECK_EQ_INT(cfg.n_buses, 0);
    CHECK_EQ_INT(cfg.n_devwins, 0);
    CHECK_EQ_INT(cfg.card_hold_s, 60);
    CHECK_EQ_STR(cfg.led_template, "{ticket}请到{window}号窗口");
    CHECK_EQ_STR(cfg.led_color, "red");
    CHECK_EQ_STR(cfg.led_idle_text, "{name} 欢迎光临");
    CHECK_EQ_STR(cfg.led_idle_color, "green");
    CHECK_EQ_STR(cfg.led_paused_text, "暂停服务");
    CHECK_EQ_STR(cfg.led_blank_at, "auto");
    hq_config_free(&cfg);

    char *text = patched(
        "devices",
        "{\"card_readers\": [{\"kiosk\": \"k1\", \"port\": \"usb:1A86:7523:A1\"}],"
        " \"buses\": [{\"id\": \"bars\", \"type\": \"led\", \"port\": \"tcp://[::1]:4002\"},"
        " {\"id\": \"keys\", \"type\": \"hall\", \"port\": \"/dev/ttyS0\", \"rs485\": true}],"
        " \"windows\": [{\"window\": 2, \"keypad\": 2, \"pad\": 34, \"bar\": 2, \"idle_text\": "
        "\"{{二}}\"}, {\"window\": 1, \"bar\": 1}]}");
    rc = hq_config_parse("x.json", "/etc/hallq", text, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_OK);
    CHECK_EQ_STR(err, "");
    CHECK_EQ_INT(cfg.n_readers, 1);
    CHECK_EQ_INT(cfg.readers[0].baud, 115200);
    /* the reader driver's own key (drivers/idcard_drv.c), read into its struct */
    CHECK(!((const struct idcard_drv_cfg *)cfg.readers[0].drv)->fingerprint);
    CHECK_EQ_INT(cfg.n_buses, 2);
    CHECK_EQ_INT(cfg.buses[1].baud, 9600);
    CHECK(cfg.buses[1].rs485);
    CHECK_EQ_INT(cfg.n_devwins, 2);
    if (cfg.n_devwins == 2) {
        CHECK_EQ_INT(cfg.devwins[0].bus_idx, 1);
        CHECK_EQ_INT(cfg.devwins[0].led_bus_idx, 0);
        CHECK_EQ_STR(cfg.devwins[0].pad_type, "five");
        CHECK_EQ_INT(cfg.devwins[1].bus_idx, -1);
        CHECK_EQ_INT(cfg.devwins[1].led_bus_idx, 0);
        CHECK_EQ_INT(cfg.devwins[1].keypad, 0);
    }
    hq_config_free(&cfg);
    CHECK(cfg.devwins == NULL);
    free(text);
}

/* ------------------------------------------------------------ reload */

static void reload_note(void *arg, const char *path, int how)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s%s:%s", n ? ";" : "",
             how == HQ_CFG_RESTART ? "restart"
             : how == HQ_CFG_HOOK  ? "hook"
                                   : "applied",
             path);
}

/* base_hall running, one key patched in the new file: what the reload says,
 * and the running configuration after it (into *cur, freed by the caller). */
static int reload_one(const char *path, const char *value, struct hq_config *cur, char *said)
{
    struct hq_config next;
    char err[512] = "";
    said[0] = 0;
    CHECK_EQ_INT(hq_config_parse("x.json", "/etc/hallq", base_hall, cur, err, sizeof err), HQ_OK);
    char *text = patched(path, value);
    int rc = hq_config_parse("x.json", "/etc/hallq", text, &next, err, sizeof err);
    free(text);
    CHECK_EQ_INT(rc, HQ_OK);
    if (rc) return -1;
    int restart = hq_config_reload(cur, &next, reload_note, said);
    hq_config_free(&next);
    return restart;
}

static void test_reload(void)
{
    struct hq_config cur;
    char said[512];
    /* a text: copied into the running configuration */
    CHECK_EQ_INT(reload_one("display.notice", "\"午间不休\"", &cur, said), 0);
    CHECK_EQ_STR(said, "applied:$.display.notice");
    CHECK_EQ_STR(cur.notice, "午间不休");
    hq_config_free(&cur);
    /* a quota: named by its JSON path, the running value stays */
    CHECK_EQ_INT(reload_one("services[1].daily_quota", "50", &cur, said), 1);
    CHECK_EQ_STR(said, "restart:$.services[1].daily_quota");
    CHECK_EQ_INT(cur.engine.services[1].daily_quota, 0);
    hq_config_free(&cur);
    /* the keys of "hours" share one week: "hours" is named once */
    CHECK_EQ_INT(reload_one("services[2].hours", "{\"all\": [\"08:00-09:00\"]}", &cur, said), 1);
    CHECK_EQ_STR(said, "restart:$.services[2].hours");
    hq_config_free(&cur);
    /* one staff member more: the array itself */
    CHECK_EQ_INT(reload_one("staff[1]", "{\"id\": \"1002\", \"name\": \"李\"}", &cur, said), 1);
    CHECK_EQ_STR(said, "restart:$.staff");
    CHECK_EQ_INT(cur.engine.n_staff, 1);
    hq_config_free(&cur);
    /* a new token: the whole list applies; the path says where, never the secret */
    CHECK_EQ_INT(reload_one("http.tokens[0].token", "\"fedcba9876543210\"", &cur, said), 0);
    CHECK_EQ_STR(said, "applied:$.http.tokens");
    CHECK_EQ_STR(cur.tokens[0].token, "fedcba9876543210");
    hq_config_free(&cur);
    /* the up-link's keys are its module's hook's to apply */
    CHECK_EQ_INT(reload_one("sync.batch_max", "7", &cur, said), 0);
    CHECK_EQ_STR(said, "hook:$.sync.batch_max");
    CHECK_EQ_INT(cur.sync_batch_max, 500);
    hq_config_free(&cur);
    /* pause reasons: the whole list applies on SIGHUP; "other" is appended when missing */
    CHECK_EQ_INT(reload_one("pause_reasons",
                            "[{\"code\": \"nap\", \"name\": \"小憩\", \"max_min\": 5}]", &cur,
                            said),
                 0);
    CHECK_EQ_STR(said, "applied:$.pause_reasons");
    CHECK_EQ_INT(cur.engine.n_pause_reasons, 2);
    CHECK_EQ_STR(cur.engine.pause_reasons[0].code, "nap");
    CHECK_EQ_STR(cur.engine.pause_reasons[0].name_en, "nap"); /* absent: the code */
    CHECK_EQ_STR(cur.engine.pause_reasons[1].code, "other");
    CHECK_EQ_STR(cur.engine.pause_reasons[1].name, "其他");
    hq_config_free(&cur);
    /* the database: restart */
    CHECK_EQ_INT(reload_one("store.database", "\"/var/lib/hallq/other.db\"", &cur, said), 1);
    CHECK_EQ_STR(said, "restart:$.store.database");
    hq_config_free(&cur);
}

/* A driver's key lands in its struct; the new driver names work like the old ones. */
static void test_driver_keys(void)
{
    struct hq_config cfg;
    char err[512] = "";
    char *text =
        patched("devices", "{\"card_readers\": [{\"kiosk\": \"k1\", \"port\": \"/dev/ttyS0\", "
                           "\"type\": \"sam\", \"fingerprint\": true}],"
                           " \"buses\": [{\"id\": \"bars\", \"type\": \"a090\", \"port\": "
                           "\"/dev/ttyS1\"}, {\"id\": \"keys\", \"type\": \"ff68\", \"port\": "
                           "\"/dev/ttyS2\"}],"
                           " \"windows\": [{\"window\": 1, \"keypad\": 1, \"bar\": 1}]}");
    int rc = hq_config_parse("x.json", "/etc/hallq", text, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, HQ_OK);
    CHECK_EQ_STR(err, "");
    CHECK(((const struct idcard_drv_cfg *)cfg.readers[0].drv)->fingerprint);
    if (cfg.n_devwins == 1) {
        CHECK_EQ_INT(cfg.devwins[0].bus_idx, 1);     /* "ff68" is a keypad bus like "hall" */
        CHECK_EQ_INT(cfg.devwins[0].led_bus_idx, 0); /* "a090" a display bus like "led" */
    }
    hq_config_free(&cfg);
    free(text);
}

/* A temporary window's devices given at run time (issue 16): the file's code, the file's
 * messages, under "request: $.devices"; addresses of the file's and of other temporary
 * windows refused. */
static void test_devwin_runtime(void)
{
    struct hq_config cfg;
    char err[512] = "";
    char *text = patched("devices", "{\"buses\": [{\"id\": \"keys\", \"type\": \"hall\", "
                                    "\"port\": \"/dev/ttyS2\"}, {\"id\": \"bars\", \"type\": "
                                    "\"led\", \"port\": \"/dev/ttyS1\"}],"
                                    " \"windows\": [{\"window\": 1, \"keypad\": 1, \"bar\": 1}]}");
    int rc = hq_config_parse("x.json", "/etc/hallq", text, &cfg, err, sizeof err);
    free(text);
    CHECK_EQ_INT(rc, HQ_OK);
    if (rc) return;
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"keypad\": 7, \"pad\": 37, \"bar\": 7}", ""},
        {"{\"keypad\": 1}",
         "request: $.devices.keypad: address 1 on bus \"keys\" is already $.devices.windows[0]"},
        {"{\"keypad\": 8, \"bar\": 1}",
         "request: $.devices.bar: address 1 on bus \"bars\" is already $.devices.windows[0]"},
        {"{\"keypad\": 6, \"pad\": 9}",
         "request: $.devices.pad: address 9 on bus \"keys\" is already temporary window 9's"},
        {"{\"bus\": \"nope\", \"keypad\": 7}", "request: $.devices.bus: unknown bus \"nope\""},
        {"{\"keypad\": 255}",
         "request: $.devices.keypad: must be an integer between 0 and 254, got 255"},
        {"{\"keypad\": 7, \"colour\": 1}", "request: $.devices.colour: unknown key"},
        {"{\"window\": 3, \"keypad\": 7}",
         "request: $.devices.window: must be 7, the window being opened"},
        {"[]", "request: $.devices: must be an object, got an array"},
    };
    /* window 9, a temporary window opened earlier, has keypad 9 */
    struct hq_devwin_cfg others[2] = {cfg.devwins[0]}, out;
    memset(&others[1], 0, sizeof others[1]);
    others[1].window = 9;
    others[1].keypad = 9;
    others[1].bus_idx = 0;
    others[1].led_bus_idx = -1;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cJSON *j = cJSON_Parse(cases[i].json);
        rc = hq_config_devwin_parse(&cfg, j, 7, others, 2, 1, "request", &out, err, sizeof err);
        cJSON_Delete(j);
        CHECK_EQ_STR(err, cases[i].want);
        CHECK_EQ_INT(rc, cases[i].want[0] ? HQ_ERR_CONFIG : HQ_OK);
        if (!cases[i].want[0]) {
            CHECK_EQ_INT(out.window, 7);
            CHECK_EQ_INT(out.keypad, 7);
            CHECK_EQ_INT(out.pad, 37);
            CHECK_EQ_INT(out.bar, 7);
            CHECK_EQ_INT(out.bus_idx, 0);     /* the only hall bus */
            CHECK_EQ_INT(out.led_bus_idx, 1); /* the only LED bus */
            CHECK_EQ_STR(out.pad_type, "five");
        }
    }
    hq_config_free(&cfg);
}

int main(void)
{
    test_devices_section();
    test_devwin_runtime();
    test_driver_keys();
    test_bad_cases();
    test_base_and_paths();
    test_demo_hall();
    test_test_hall();
    test_docs();
    test_reload();
    return check_report("test_config");
}
