/*
 * hq.c — error names and messages, and the log writer. Logs go to stderr,
 * which systemd's journal captures; one line per message, tagged.
 */
#include "hq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int hq_log_level = HQ_LOG_INFO;

static const struct {
    const char *name, *zh, *en;
} hq_errors[HQ_ERR__COUNT] = {
    [HQ_OK] = {"ok", "成功", "OK"},
    [HQ_ERR_INVALID] = {"invalid", "请求无效", "invalid request"},
    [HQ_ERR_NOT_FOUND] = {"not_found", "未找到", "not found"},
    [HQ_ERR_STATE] = {"state", "当前状态不允许此操作", "not allowed in the current state"},
    [HQ_ERR_CLOSED] = {"closed", "该业务当前不在办理时间", "this service is closed now"},
    [HQ_ERR_QUOTA] = {"quota", "该业务今日号源已取完", "today's tickets for this service are gone"},
    [HQ_ERR_PERSON_LIMIT] = {"person_limit", "您今日取号次数已达上限",
                             "you have reached today's ticket limit for this service"},
    [HQ_ERR_ID_REQUIRED] = {"id_required", "该业务需刷身份证取号",
                            "this service needs your ID card"},
    [HQ_ERR_EMPTY] = {"empty", "当前无人等候", "nobody is waiting"},
    [HQ_ERR_RANGE_FULL] = {"range_full", "号码已用尽，请到服务台咨询",
                           "no free ticket number, please ask at the service desk"},
    [HQ_ERR_NOMEM] = {"nomem", "系统内存不足", "out of memory"},
    [HQ_ERR_IO] = {"io", "设备读写失败", "device input/output failed"},
    [HQ_ERR_DB] = {"db", "数据保存失败，请到服务台咨询",
                   "could not save, please ask at the service desk"},
    [HQ_ERR_DISK_FULL] = {"disk_full", "系统存储故障，暂停取号，请到服务台咨询",
                          "storage failure: no tickets now, please ask at the service desk"},
    [HQ_ERR_CONFIG] = {"config", "配置错误", "configuration error"},
    [HQ_ERR_AUTH] = {"auth", "未授权", "not authorised"},
    [HQ_ERR_PRINTER] = {"printer", "打印机缺纸或故障，请到服务台取号",
                        "the printer is out of paper or faulty, please go to the service desk"},
    [HQ_ERR_TIMEOUT] = {"timeout", "操作超时", "timed out"},
    [HQ_ERR_PROTO] = {"protocol", "设备通信错误", "device protocol error"},
    [HQ_ERR_LIMIT] = {"limit", "已达上限", "limit reached"},
    [HQ_ERR_PRINTER_BUSY] = {"printer_busy", "取号人数较多，打印机正忙，请稍候再试",
                             "the printer is busy, please try again in a moment"},
    [HQ_ERR_STOPPING] = {"stopping", "系统正在重启，请稍候再试",
                         "the system is restarting, please try again in a moment"},
};

static int hq__valid(int err)
{
    return err >= 0 && err < HQ_ERR__COUNT && hq_errors[err].name;
}

const char *hq_strerror(int err)
{
    return hq__valid(err) ? hq_errors[err].name : "unknown";
}

const char *hq_strerror_zh(int err)
{
    return hq__valid(err) ? hq_errors[err].zh : "未知错误";
}

const char *hq_strerror_en(int err)
{
    return hq__valid(err) ? hq_errors[err].en : "unknown error";
}

static const char *const hq_level_names[] = {"error", "warn", "notice", "info", "debug", "hex"};

int hq_log_level_from_name(const char *name)
{
    for (size_t i = 0; i < HQ_ARRAY_LEN(hq_level_names); i++)
        if (strcmp(name, hq_level_names[i]) == 0) return (int)i;
    return -1;
}

void hq_log_write(int level, const char *tag, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (level < 0) level = 0;
    if (level > HQ_LOG_HEX) level = HQ_LOG_HEX;
    /* "<3>" prefixes let journald keep the priority (sd-daemon(3)). */
    static const int prio[] = {3, 4, 5, 6, 7, 7};
    fprintf(stderr, "<%d>%s %-6s %s\n", prio[level], tag, hq_level_names[level], line);
}

void hq_log_hex(const char *tag, const char *legend, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    char line[3 * 64 + 8];
    size_t n = len > 64 ? 64 : len, o = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(line + o, sizeof line - o, "%02X ", p[i]);
    if (len > n) snprintf(line + o, sizeof line - o, "...");
    hq_log_write(HQ_LOG_HEX, tag, "%s (%zu bytes): %s", legend, len, line);
}

void hq_text_put(struct hq_text *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
