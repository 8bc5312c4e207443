/*
 * hallqctl — control a running hallqd from a shell, through its HTTP API.
 *
 *   hallqctl [--url URL] [--token TOKEN] [--json] COMMAND [ARGS]
 *
 * Human output (Chinese first) by default; --json prints the daemon's JSON
 * answer as it came, for scripts. Exit codes:
 *   0 done, 1 refused by hallqd (e.g. nobody waiting), 2 usage error,
 *   3 cannot reach hallqd, 4 not authorised, 5 hallqd failed (5xx).
 * URL and token also come from HALLQ_URL and HALLQ_TOKEN.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

enum { EX_OK = 0, EX_REFUSED = 1, EX_USAGE = 2, EX_CONNECT = 3, EX_AUTH = 4, EX_SERVER = 5 };

struct buf {
    char *p;
    size_t n;
};

static size_t ctl__write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct buf *b = arg;
    size_t n = size * nmemb;
    char *q = realloc(b->p, b->n + n + 1);
    if (!q) return 0;
    memcpy(q + b->n, ptr, n);
    b->p = q;
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

static const char *opt_url = "http://127.0.0.1:8080";
static const char *opt_token;
static int opt_json;

/* One request; answers the HTTP status (0 = not reached) and the body. */
static long ctl__request(const char *method, const char *path, const char *body, struct buf *out)
{
    CURL *c = curl_easy_init();
    char url[1024], auth[512];
    struct curl_slist *h = NULL;
    long status = 0;
    if (!c) return 0;
    snprintf(url, sizeof url, "%s%s", opt_url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ctl__write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (opt_token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", opt_token);
        h = curl_slist_append(h, auth);
    }
    if (strcmp(method, "POST") == 0) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "{}");
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "hallqctl: cannot reach hallqd at %s: %s\n", opt_url,
                curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

static const char *ctl__str(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static const char *ctl__state_zh(const char *s)
{
    static const char *const map[][2] = {{"closed", "未登录"},
                                         {"idle", "空闲"},
                                         {"calling", "叫号中"},
                                         {"serving", "办理中"},
                                         {"paused", "暂停"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], s) == 0) return map[i][1];
    return s;
}

/* A ticket's state in Chinese: the output is Chinese first, and a clerk
 * should not read "no_show" (issue 14). Unknown names pass through. */
static const char *ctl__status_zh(const char *s)
{
    static const char *const map[][2] = {
        {"waiting", "等候中"}, {"called", "已叫号"}, {"serving", "办理中"},   {"parked", "已挂起"},
        {"done", "已办结"},    {"no_show", "过号"},  {"cancelled", "已取消"}, {"expired", "已过期"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], s) == 0) return map[i][1];
    return s;
}

static void ctl__print_ticket(cJSON *t)
{
    if (!cJSON_IsObject(t)) return;
    printf("号票 %s  %s (%s)  状态 %s", ctl__str(t, "number"), ctl__str(t, "service_name"),
           ctl__str(t, "service"), ctl__status_zh(ctl__str(t, "status")));
    cJSON *ahead = cJSON_GetObjectItemCaseSensitive(t, "ahead");
    if (cJSON_IsNumber(ahead)) printf("  前面 %d 人", ahead->valueint);
    cJSON *est = cJSON_GetObjectItemCaseSensitive(t, "estimated_wait_s");
    if (cJSON_IsNumber(est)) printf("  预计等候 %d 分钟", (est->valueint + 59) / 60);
    const char *pl = ctl__str(t, "priority_label");
    if (*pl) printf("  %s", pl);
    printf("\n");
}

static void ctl__print_window(cJSON *w)
{
    if (!cJSON_IsObject(w)) return;
    cJSON *staff = cJSON_GetObjectItemCaseSensitive(w, "staff");
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(w, "current");
    printf("%-10s %-6s %-8s", ctl__str(w, "name"), ctl__state_zh(ctl__str(w, "state")),
           cJSON_IsObject(staff) ? ctl__str(staff, "name") : "-");
    if (cJSON_IsObject(cur)) printf(" 当前 %s", ctl__str(cur, "number"));
    printf("\n");
}

static void ctl__print_status(cJSON *o)
{
    cJSON *hall = cJSON_GetObjectItemCaseSensitive(o, "hall");
    printf("%s  %s\n\n业务 Services\n", ctl__str(hall, "name"), ctl__str(hall, "time"));
    cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(o, "services"))
    {
        cJSON *w = cJSON_GetObjectItemCaseSensitive(s, "waiting");
        cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "estimated_wait_s");
        printf("  %-3s %-14s 等候 %3d 人", ctl__str(s, "code"), ctl__str(s, "name"),
               cJSON_IsNumber(w) ? w->valueint : 0);
        if (cJSON_IsNumber(e))
            printf("  预计 %d 分钟", (e->valueint + 59) / 60);
        else
            printf("  无窗口办理");
        printf("\n");
    }
    printf("\n窗口 Windows\n");
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(o, "windows"))
    {
        printf("  ");
        ctl__print_window(s);
    }
    cJSON *sync = cJSON_GetObjectItemCaseSensitive(o, "sync");
    cJSON *b = cJSON_GetObjectItemCaseSensitive(sync, "backlog");
    if (cJSON_IsNumber(b)) printf("\n待上传记录 Sync backlog: %d\n", b->valueint);
}

static int ctl__finish(long status, struct buf *b, void (*human)(cJSON *))
{
    if (!status) return EX_CONNECT;
    cJSON *o = b->p ? cJSON_Parse(b->p) : NULL;
    int ex = status < 300                     ? EX_OK
             : status == 401                  ? EX_AUTH
             : status >= 500 && status != 503 ? EX_SERVER
                                              : EX_REFUSED;
    if (status == 503) ex = EX_SERVER;
    if (opt_json) {
        printf("%s\n", b->p ? b->p : "");
    } else if (ex == EX_OK) {
        if (o && human) human(o);
    } else {
        const char *zh = o ? ctl__str(o, "message") : "";
        const char *en = o ? ctl__str(o, "message_en") : "";
        const char *detail = o ? ctl__str(o, "detail") : "";
        fprintf(stderr, "hallqctl: %s (%s)%s%s [HTTP %ld]\n", *zh ? zh : "请求失败",
                *en ? en : "request failed", *detail ? ": " : "", detail, status);
        if (status == 401 && !opt_token)
            fprintf(stderr,
                    "hallqctl: 未设置令牌：请设置环境变量 HALLQ_TOKEN 或用 --token (no token: "
                    "set HALLQ_TOKEN or pass --token)\n");
    }
    cJSON_Delete(o);
    free(b->p);
    return ex;
}

static void ctl__human_action(cJSON *o)
{
    cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "window");
    if (w) ctl__print_window(w);
    cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "ticket");
    if (cJSON_IsObject(t)) ctl__print_ticket(t);
}

static void ctl__human_issue(cJSON *o)
{
    ctl__print_ticket(cJSON_GetObjectItemCaseSensitive(o, "ticket"));
}

/* hallqctl devices: one line per device, its health first (faults are what an installer
 * looks for), then what it is and where. */
static void ctl__print_devices(cJSON *o)
{
    cJSON *d;
    int n = 0;
    printf("%-8s %-7s %-12s %-24s %s\n", "健康", "Health", "类型 Type", "设备 Device",
           "说明 Detail");
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(o, "devices"))
    {
        char where[64] = "";
        cJSON *w = cJSON_GetObjectItemCaseSensitive(d, "window");
        if (cJSON_IsNumber(w)) snprintf(where, sizeof where, "%d号窗口 ", w->valueint);
        const char *port = ctl__str(d, "port");
        printf("%-8s %-7s %-12s %-24s %s%s%s%s\n", ctl__str(d, "text"), ctl__str(d, "health"),
               ctl__str(d, "type"), ctl__str(d, "id"), where, port, *port ? " " : "",
               ctl__str(d, "reason"));
        n++;
    }
    cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "faults");
    printf("\n%d 台设备，%d 个故障 / %d devices, %d faults\n", n,
           cJSON_IsNumber(f) ? f->valueint : 0, n, cJSON_IsNumber(f) ? f->valueint : 0);
}

/* `window open … --keypad 7 --bar 7`: one key of the window's devices (a devices.windows[]
 * entry, docs/CONFIG.md), numbers as numbers. 0 if opt is none of them or has no value. */
static int ctl__window_device(cJSON *o, const char *opt, const char *val)
{
    static const char *const nums[] = {"keypad", "pad", "bar"};
    static const char *const strs[] = {"bus", "led_bus", "pad_type", "pad_map", "idle_text"};
    if (!val || strncmp(opt, "--", 2) != 0) return 0;
    char key[32];
    snprintf(key, sizeof key, "%s", opt + 2);
    for (char *p = key; *p; p++)
        if (*p == '-') *p = '_';
    cJSON *dv = cJSON_GetObjectItemCaseSensitive(o, "devices");
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        if (strcmp(key, nums[i]) != 0) continue;
        char *end;
        long n = strtol(val, &end, 10);
        if (*end || end == val) return 0;
        if (!dv) dv = cJSON_AddObjectToObject(o, "devices");
        cJSON_AddNumberToObject(dv, key, (double)n);
        return 1;
    }
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        if (strcmp(key, strs[i]) != 0) continue;
        if (!dv) dv = cJSON_AddObjectToObject(o, "devices");
        cJSON_AddStringToObject(dv, key, val);
        return 1;
    }
    return 0;
}

static int ctl__window_arg(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    return (*end || n < 1 || n > 65535) ? -1 : (int)n;
}

static void ctl__print_commission(cJSON *o)
{
    cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "windows");
    cJSON *sec = cJSON_GetObjectItemCaseSensitive(o, "seconds");
    double s = cJSON_IsNumber(sec) ? sec->valuedouble : 0;
    if (cJSON_IsArray(w))
        printf("逐个测试 %d 个窗口的设备，约 %.0f 秒 / testing the devices of %d windows, about "
               "%.0f s\n",
               cJSON_GetArraySize(w), s, cJSON_GetArraySize(w), s);
    else
        printf("%d号窗口：屏显示地址、呼叫器鸣响 %.0f 秒 / window %d: its display shows its "
               "address, its keypad beeps (%.0f s)\n",
               cJSON_GetObjectItemCaseSensitive(o, "window")->valueint, s,
               cJSON_GetObjectItemCaseSensitive(o, "window")->valueint, s);
}

/* hallqctl overrides (and the answer of every change): what differs from the file. */
static void ctl__print_overrides(cJSON *o)
{
    cJSON *v, *list = cJSON_GetObjectItemCaseSensitive(o, "overrides");
    int n = 0;
    cJSON_ArrayForEach(v, list)
    {
        cJSON *id = cJSON_GetObjectItemCaseSensitive(v, "id");
        char *val = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(v, "value"));
        printf("  #%-4d %-7s %-5s %s  (%s, %s)\n", cJSON_IsNumber(id) ? id->valueint : 0,
               ctl__str(v, "kind"), ctl__str(v, "target"), val ? val : "", ctl__str(v, "actor"),
               ctl__str(v, "at"));
        free(val);
        n++;
    }
    printf("%d 项运行时变更 / %d run-time change(s) on the configuration\n", n, n);
}

/* "A,B" into a JSON array of codes. */
static cJSON *ctl__codes(const char *list)
{
    cJSON *a = cJSON_CreateArray();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        cJSON_AddItemToArray(a, cJSON_CreateString(t));
    return a;
}

/* hallqctl window|service|notice|overrides: the manager's run-time changes. -1 = usage. */
static int ctl__admin(const char *cmd, char **args, int nargs, struct buf *b)
{
    char path[256];
    cJSON *o = cJSON_CreateObject();
    int ok = 1;
    int reroute = 0;
    path[0] = 0;
    if (!strcmp(cmd, "window") && nargs >= 3 && !strcmp(args[0], "open") &&
        ctl__window_arg(args[1]) > 0) {
        snprintf(path, sizeof path, "/api/v1/admin/windows");
        cJSON_AddNumberToObject(o, "number", ctl__window_arg(args[1]));
        cJSON_AddItemToObject(o, "services", ctl__codes(args[2]));
        for (int i = 3; i < nargs; i++) {
            if (!strcmp(args[i], "--name") && i + 1 < nargs)
                cJSON_AddStringToObject(o, "name", args[++i]);
            else if (!strcmp(args[i], "--name-en") && i + 1 < nargs)
                cJSON_AddStringToObject(o, "name_en", args[++i]);
            else if (!ctl__window_device(o, args[i], i + 1 < nargs ? args[i + 1] : NULL))
                ok = 0;
            else
                i++;
        }
    } else if (!strcmp(cmd, "window") && nargs >= 2 && !strcmp(args[0], "close") &&
               ctl__window_arg(args[1]) > 0) {
        snprintf(path, sizeof path, "/api/v1/admin/windows/%d/close", ctl__window_arg(args[1]));
        reroute = 2;
    } else if (!strcmp(cmd, "window") && nargs == 3 && !strcmp(args[0], "services") &&
               ctl__window_arg(args[1]) > 0) {
        snprintf(path, sizeof path, "/api/v1/admin/windows/%d/services", ctl__window_arg(args[1]));
        cJSON_AddItemToObject(o, "services", ctl__codes(args[2]));
    } else if (!strcmp(cmd, "service") && nargs >= 3) {
        char *code = curl_easy_escape(NULL, args[0], 0);
        snprintf(path, sizeof path, "/api/v1/admin/services/%s", code ? code : "");
        curl_free(code);
        char open[8] = "", close[8] = "";
        if (!strcmp(args[1], "hours") && nargs == 3 &&
            sscanf(args[2], "%5[0-9:]-%5[0-9:]", open, close) == 2) {
            cJSON *h = cJSON_AddObjectToObject(o, "hours");
            cJSON_AddStringToObject(h, "open", open);
            cJSON_AddStringToObject(h, "close", close);
        } else if (!strcmp(args[1], "quota") && nargs == 3) {
            char *end;
            long q = strtol(args[2], &end, 10);
            ok = !*end;
            cJSON_AddNumberToObject(o, "daily_quota", (double)q);
        } else if (!strcmp(args[1], "close")) {
            cJSON_AddBoolToObject(o, "close", 1);
            cJSON_AddStringToObject(o, "message", args[2]);
            for (int i = 3; i < nargs; i++) {
                if (!strcmp(args[i], "--message-en") && i + 1 < nargs)
                    cJSON_AddStringToObject(o, "message_en", args[++i]);
                else if (!strcmp(args[i], "--reroute-to") && i + 1 < nargs)
                    cJSON_AddNumberToObject(o, "reroute_to", atoi(args[++i]));
                else
                    ok = 0;
            }
        } else {
            ok = 0;
        }
    } else if (!strcmp(cmd, "notice") && (nargs == 1 || nargs == 2)) {
        snprintf(path, sizeof path, "/api/v1/admin/notice");
        cJSON_AddStringToObject(o, "notice", args[0]);
        if (nargs == 2) cJSON_AddStringToObject(o, "notice_en", args[1]);
    } else if (!strcmp(cmd, "overrides") && nargs == 0) {
        cJSON_Delete(o);
        return ctl__finish(ctl__request("GET", "/api/v1/admin/overrides", NULL, b), b,
                           ctl__print_overrides);
    } else if (!strcmp(cmd, "overrides") && nargs >= 2 && !strcmp(args[0], "revert")) {
        char *end;
        long id = strtol(args[1], &end, 10);
        ok = !*end && id > 0;
        snprintf(path, sizeof path, "/api/v1/admin/overrides/%ld/revert", id);
        reroute = 2;
    } else {
        ok = 0;
    }
    for (int i = reroute; reroute && i < nargs; i++) {
        if (!strcmp(args[i], "--reroute-to") && i + 1 < nargs)
            cJSON_AddNumberToObject(o, "reroute_to", atoi(args[++i]));
        else
            ok = 0;
    }
    if (!ok || !path[0]) {
        cJSON_Delete(o);
        return -1;
    }
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int ex = ctl__finish(ctl__request("POST", path, body, b), b, ctl__print_overrides);
    free(body);
    return ex;
}

static void ctl__human_pin(cJSON *o)
{
    printf("已设置工号 %s 的密码 (PIN set for staff %s)\n", ctl__str(o, "staff"),
           ctl__str(o, "staff"));
}

/* The new PIN from stdin: typed without echo at a terminal (twice, to catch
 * a typo), or the first line of a pipe, so it never shows in ps or the
 * shell's history the way an argument would. */
static int ctl__read_pin(char *pin, size_t len)
{
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    char again[128];
    for (int round = 0; round < (tty ? 2 : 1); round++) {
        char *dst = round ? again : pin;
        size_t dl = round ? sizeof again : len;
        if (tty) {
            fprintf(stderr, round ? "再输入一次 (again): " : "新密码 (new PIN): ");
            tcgetattr(STDIN_FILENO, &old);
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
        }
        char *got = fgets(dst, (int)dl, stdin);
        if (tty) {
            tcsetattr(STDIN_FILENO, TCSANOW, &old);
            fputc('\n', stderr);
        }
        if (!got) return -1;
        dst[strcspn(dst, "\r\n")] = 0;
    }
    if (tty && strcmp(pin, again) != 0) {
        fprintf(stderr, "hallqctl: 两次输入不一致 (the two PINs differ)\n");
        return -1;
    }
    return 0;
}

/* hallqctl report: one line per row of the figures. */
static void ctl__print_report(cJSON *o)
{
    printf("%s .. %s  (%s)\n", ctl__str(o, "from"), ctl__str(o, "to"), ctl__str(o, "by"));
    printf("%-12s %-10s %8s %8s %10s %8s %8s %8s\n", "编号 Key", "名称 Name", "取号", "办结",
           "平均等候s", "满意率", "空岗s", "暂停s");
    cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(o, "rows"))
    {
        cJSON *w =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "wait"), "mean_s");
        cJSON *sat = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(r, "ratings"), "satisfaction");
        cJSON *at = cJSON_GetObjectItemCaseSensitive(r, "attendance");
        printf("%-12s %-10s %8d %8d %10.0f %8.2f %8.0f %8.0f\n", ctl__str(r, "key"),
               ctl__str(r, "name"), cJSON_GetObjectItemCaseSensitive(r, "arrivals")->valueint,
               cJSON_GetObjectItemCaseSensitive(r, "served")->valueint,
               cJSON_IsNumber(w) ? w->valuedouble : 0, cJSON_IsNumber(sat) ? sat->valuedouble : 0,
               cJSON_GetObjectItemCaseSensitive(at, "idle_s")->valuedouble,
               cJSON_GetObjectItemCaseSensitive(at, "pause_s")->valuedouble);
    }
}

/* hallqctl report ... --xlsx FILE: the bytes hallqd made, written as they came. */
static int ctl__report(char **args, int nargs, struct buf *b)
{
    const char *from = NULL, *to = NULL, *by = "hall", *file = NULL, *fmt = NULL;
    for (int i = 0; i < nargs; i++) {
        const char *a = args[i], *v = i + 1 < nargs ? args[i + 1] : NULL;
        if (!v) return EX_USAGE;
        if (!strcmp(a, "--from"))
            from = v;
        else if (!strcmp(a, "--to"))
            to = v;
        else if (!strcmp(a, "--by"))
            by = v;
        else if (!strcmp(a, "--xlsx") || !strcmp(a, "--csv"))
            file = v, fmt = a + 2;
        else
            return EX_USAGE;
        i++;
    }
    if (!from) return EX_USAGE;
    char path[256];
    char *ef = curl_easy_escape(NULL, from, 0), *et = curl_easy_escape(NULL, to ? to : "", 0),
         *eb = curl_easy_escape(NULL, by, 0);
    snprintf(path, sizeof path, "/api/v1/admin/reports?from=%s&to=%s&by=%s%s%s", ef ? ef : "",
             et ? et : "", eb ? eb : "", fmt ? "&format=" : "", fmt ? fmt : "");
    curl_free(ef);
    curl_free(et);
    curl_free(eb);
    long st = ctl__request("GET", path, NULL, b);
    if (!file || st != 200) return ctl__finish(st, b, ctl__print_report);
    FILE *f = fopen(file, "wb");
    int ok = f && fwrite(b->p, 1, b->n, f) == b->n;
    if (f && fclose(f)) ok = 0;
    if (!ok) {
        fprintf(stderr, "hallqctl: 无法写入 %s (cannot write %s): %s\n", file, file,
                strerror(errno));
        free(b->p);
        return EX_SERVER;
    }
    if (!opt_json) printf("已保存 %s (%zu 字节) / saved %s (%zu bytes)\n", file, b->n, file, b->n);
    free(b->p);
    return EX_OK;
}

/* A passphrase from stdin: without echo at a terminal (asked twice when
 * `confirm`), or the next line of a pipe; never an argument (ps, history). */
static int ctl__read_secret(const char *prompt, char *out, size_t len, int confirm)
{
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    char again[300];
    for (int round = 0; round < (tty && confirm ? 2 : 1); round++) {
        char *dst = round ? again : out;
        size_t dl = round ? sizeof again : len;
        if (tty) {
            fprintf(stderr, "%s", round ? "再输入一次 (again): " : prompt);
            tcgetattr(STDIN_FILENO, &old);
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
        }
        char *got = fgets(dst, (int)dl, stdin);
        if (tty) {
            tcsetattr(STDIN_FILENO, TCSANOW, &old);
            fputc('\n', stderr);
        }
        if (!got) return -1;
        dst[strcspn(dst, "\r\n")] = 0;
    }
    int differ = tty && confirm && strcmp(out, again) != 0;
    memset(again, 0, sizeof again);
    if (differ) {
        fprintf(stderr, "hallqctl: 两次输入不一致 (the two passphrases differ)\n");
        return -1;
    }
    return 0;
}

static void ctl__human_key(cJSON *o)
{
    cJSON *set = cJSON_GetObjectItemCaseSensitive(o, "set");
    if (!cJSON_IsTrue(set)) {
        printf("未设置回访密钥 (no follow-up key is set up)\n");
        return;
    }
    const char *ch = ctl__str(o, "change");
    printf("回访密钥%s (follow-up key %s), 公钥 public key %s, %s %s\n",
           !*ch                     ? "已设置"
           : !strcmp(ch, "created") ? "已创建"
           : !strcmp(ch, "changed") ? "口令已更改"
                                    : "已更换",
           *ch ? ch : "set", ctl__str(o, "public_key"), ctl__str(o, "set_at"),
           ctl__str(o, "set_by"));
}

static void ctl__usage(FILE *f)
{
    fprintf(f,
            "usage: hallqctl [--url URL] [--token TOKEN] [--json] COMMAND [ARGS]\n"
            "  status\n"
            "  issue SERVICE [--priority disabled|military|green]\n"
            "  call WINDOW [NUMBER]          call next, or that number (A012)\n"
            "  recall WINDOW | start WINDOW | finish WINDOW | park WINDOW | call-back WINDOW\n"
            "  no-show WINDOW [--requeue|--no-requeue]\n"
            "  transfer WINDOW [--service CODE] [--to-window N] [--front]\n"
            "  pause WINDOW [REASON]         a pause reason's code (lunch, meeting...; status\n"
            "                                pause_reasons); none = other\n"
            "  resume WINDOW | login WINDOW STAFF | logout WINDOW\n"
            "  help WINDOW                   call the hall manager (求助)\n"
            "  rate WINDOW LEVEL             a rating 1..5 (5 = 非常满意)\n"
            "  cancel TICKET                 (manager token)\n"
            "  devices                       every device and its health\n"
            "  devices identify WINDOW       its display shows its address, its keypad beeps\n"
            "  devices test                  walk every display and pad once (manager token)\n"
            "  reregister NUMBER             put a held paper number (A012) back in the queue\n"
            "                                (after a database was moved aside; clerk token)\n"
            "  staff pin ID                  set a PIN (read from stdin; manager token)\n"
            "  report --from DAY [--to DAY] [--by hall|service|window|clerk]\n"
            "         [--xlsx FILE | --csv FILE]   figures of a period (manager token)\n"
            "  followup-key [set|change|reset]  the 差评 call-back key: show it, set it up,\n"
            "                                change its passphrase (old, then new from stdin),\n"
            "                                or replace it (stored numbers are erased)\n"
            "run-time changes (manager token; 运行时变更，重启后保留):\n"
            "  window open N A,B [--name NAME] [--name-en NAME]   open a (temporary) window\n"
            "      [--bus ID] [--keypad ADDR] [--pad ADDR] [--pad-type five|four] [--led-bus ID]\n"
            "      [--bar ADDR] [--idle-text TEXT]   its own devices (devices.windows[] keys)\n"
            "  window close N [--reroute-to M]   close it; who waits there goes to window M\n"
            "  window services N A,B             its services, in order\n"
            "  service CODE hours HH:MM-HH:MM    today's hours\n"
            "  service CODE quota N              daily quota (0 = none)\n"
            "  service CODE close MESSAGE [--message-en TEXT] [--reroute-to M]\n"
            "                                    closed for the rest of today\n"
            "  notice TEXT [TEXT_EN]             the wall display's notice\n"
            "  overrides                         what differs from the configuration file\n"
            "  overrides revert ID [--reroute-to M]   back to the file's value\n"
            "environment / 环境变量:\n"
            "  HALLQ_TOKEN   the clerk's or manager's API token, instead of --token\n"
            "                (窗口人员或管理员的接口令牌；叫号等窗口操作需要)\n"
            "  HALLQ_URL     hallqd's address, instead of --url (default http://127.0.0.1:8080)\n"
            "a refusal prints its reason in Chinese and English, as the API gives it\n"
            "(拒绝时以中英文给出原因，如 无人等候 / nobody is waiting)\n"
            "exit: 0 done, 1 refused, 2 usage, 3 unreachable, 4 not authorised, 5 hallqd failed\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"token", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (getenv("HALLQ_URL")) opt_url = getenv("HALLQ_URL");
    opt_token = getenv("HALLQ_TOKEN");
    if (opt_token && !*opt_token) opt_token = NULL; /* HALLQ_TOKEN= means none */
    int c;
    /* "+" stops at the command so its own options stay its own */
    while ((c = getopt_long(argc, argv, "+u:t:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            opt_url = optarg;
            break;
        case 't':
            opt_token = optarg;
            break;
        case 'j':
            opt_json = 1;
            break;
        case 'h':
            ctl__usage(stdout);
            return EX_OK;
        default:
            ctl__usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind >= argc) {
        ctl__usage(stderr);
        return EX_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *cmd = argv[optind];
    char **args = argv + optind + 1;
    int nargs = argc - optind - 1;
    struct buf b = {0};
    char path[256];
    int ex = EX_USAGE;

    if (strcmp(cmd, "status") == 0 && nargs == 0) {
        ex = ctl__finish(ctl__request("GET", "/api/v1/status", NULL, &b), &b, ctl__print_status);
    } else if (strcmp(cmd, "issue") == 0 &&
               (nargs == 1 || (nargs == 3 && !strcmp(args[1], "--priority")))) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "service", args[0]);
        if (nargs == 3) cJSON_AddStringToObject(o, "priority", args[2]);
        char *body = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        ex = ctl__finish(ctl__request("POST", "/api/v1/tickets", body, &b), &b, ctl__human_issue);
        free(body);
    } else if (strcmp(cmd, "reregister") == 0 && nargs == 1) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "number", args[0]);
        char *body = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        ex = ctl__finish(ctl__request("POST", "/api/v1/tickets/reregister", body, &b), &b,
                         ctl__human_issue);
        free(body);
    } else if (strcmp(cmd, "devices") == 0 && nargs == 0) {
        ex = ctl__finish(ctl__request("GET", "/api/v1/devices", NULL, &b), &b, ctl__print_devices);
    } else if (strcmp(cmd, "devices") == 0 && nargs == 2 && !strcmp(args[0], "identify") &&
               ctl__window_arg(args[1]) > 0) {
        snprintf(path, sizeof path, "/api/v1/devices/identify/%d", ctl__window_arg(args[1]));
        ex = ctl__finish(ctl__request("POST", path, "{}", &b), &b, ctl__print_commission);
    } else if (strcmp(cmd, "devices") == 0 && nargs == 1 && !strcmp(args[0], "test")) {
        ex = ctl__finish(ctl__request("POST", "/api/v1/devices/test", "{}", &b), &b,
                         ctl__print_commission);
    } else if (strcmp(cmd, "staff") == 0 && nargs == 2 && strcmp(args[0], "pin") == 0) {
        char pin[128];
        if (ctl__read_pin(pin, sizeof pin)) {
            ex = EX_USAGE;
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "pin", pin);
            char *body = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            char *id = curl_easy_escape(NULL, args[1], 0);
            snprintf(path, sizeof path, "/api/v1/admin/staff/%s/pin", id ? id : "");
            curl_free(id);
            ex = ctl__finish(ctl__request("POST", path, body, &b), &b, ctl__human_pin);
            free(body);
        }
        memset(pin, 0, sizeof pin);
    } else if (strcmp(cmd, "report") == 0) {
        ex = ctl__report(args, nargs, &b);
        if (ex == EX_USAGE) ctl__usage(stderr);
    } else if (strcmp(cmd, "followup-key") == 0 && nargs == 0) {
        ex = ctl__finish(ctl__request("GET", "/api/v1/admin/followup-key", NULL, &b), &b,
                         ctl__human_key);
    } else if (strcmp(cmd, "followup-key") == 0 && nargs == 1 &&
               (!strcmp(args[0], "set") || !strcmp(args[0], "change") ||
                !strcmp(args[0], "reset"))) {
        char oldp[300] = "", newp[300] = "";
        int change = !strcmp(args[0], "change");
        if ((change && ctl__read_secret("原口令 (old passphrase): ", oldp, sizeof oldp, 0)) ||
            ctl__read_secret("新口令 (new passphrase): ", newp, sizeof newp, 1)) {
            ex = EX_USAGE;
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "passphrase", newp);
            if (change) cJSON_AddStringToObject(o, "old_passphrase", oldp);
            if (!strcmp(args[0], "reset")) cJSON_AddBoolToObject(o, "reset", 1);
            char *body = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            ex = ctl__finish(ctl__request("POST", "/api/v1/admin/followup-key", body, &b), &b,
                             ctl__human_key);
            if (body) memset(body, 0, strlen(body));
            free(body);
        }
        memset(oldp, 0, sizeof oldp);
        memset(newp, 0, sizeof newp);
    } else if (!strcmp(cmd, "window") || !strcmp(cmd, "service") || !strcmp(cmd, "notice") ||
               !strcmp(cmd, "overrides")) {
        ex = ctl__admin(cmd, args, nargs, &b);
        if (ex < 0) {
            ctl__usage(stderr);
            ex = EX_USAGE;
        }
    } else if (strcmp(cmd, "cancel") == 0 && nargs == 1) {
        snprintf(path, sizeof path, "/api/v1/tickets/%s/cancel", args[0]);
        ex = ctl__finish(ctl__request("POST", path, "{}", &b), &b, ctl__human_action);
    } else if (nargs >= 1 && ctl__window_arg(args[0]) > 0) {
        int w = ctl__window_arg(args[0]);
        const char *action = NULL;
        cJSON *o = cJSON_CreateObject();
        int ok = 1;
        if (strcmp(cmd, "call") == 0) {
            action = nargs == 2 ? "call" : "call-next";
            if (nargs == 2) cJSON_AddStringToObject(o, "number", args[1]);
            ok = nargs <= 2;
        } else if (strcmp(cmd, "no-show") == 0) {
            action = "no-show";
            for (int i = 1; i < nargs; i++) {
                if (!strcmp(args[i], "--requeue"))
                    cJSON_AddBoolToObject(o, "requeue", 1);
                else if (!strcmp(args[i], "--no-requeue"))
                    cJSON_AddBoolToObject(o, "requeue", 0);
                else
                    ok = 0;
            }
        } else if (strcmp(cmd, "transfer") == 0) {
            action = "transfer";
            for (int i = 1; i < nargs; i++) {
                if (!strcmp(args[i], "--service") && i + 1 < nargs)
                    cJSON_AddStringToObject(o, "service", args[++i]);
                else if (!strcmp(args[i], "--to-window") && i + 1 < nargs)
                    cJSON_AddNumberToObject(o, "window", atoi(args[++i]));
                else if (!strcmp(args[i], "--front"))
                    cJSON_AddBoolToObject(o, "front", 1);
                else
                    ok = 0;
            }
        } else if (strcmp(cmd, "login") == 0) {
            action = "login";
            ok = nargs == 2;
            if (ok) cJSON_AddStringToObject(o, "staff", args[1]);
        } else if (strcmp(cmd, "pause") == 0) {
            action = "pause";
            ok = nargs == 1 || nargs == 2;
            if (ok && nargs == 2) cJSON_AddStringToObject(o, "reason", args[1]);
        } else if (strcmp(cmd, "rate") == 0) {
            action = "rating";
            ok = nargs == 2;
            if (ok) cJSON_AddNumberToObject(o, "level", atoi(args[1]));
        } else {
            static const char *const plain[] = {"recall",    "start",  "finish", "park",
                                                "call-back", "resume", "logout", "help"};
            for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
                if (strcmp(cmd, plain[i]) == 0) action = plain[i];
            ok = nargs == 1;
        }
        if (action && ok) {
            char *body = cJSON_PrintUnformatted(o);
            snprintf(path, sizeof path, "/api/v1/windows/%d/%s", w, action);
            ex = ctl__finish(ctl__request("POST", path, body, &b), &b, ctl__human_action);
            free(body);
        } else {
            ctl__usage(stderr);
        }
        cJSON_Delete(o);
    } else {
        ctl__usage(stderr);
    }
    curl_global_cleanup();
    return ex;
}
