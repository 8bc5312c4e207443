/*
 * hqd_print.c — tickets on paper: PRINT effects → ESC/POS → CUPS, and the
 * printers' health.
 *
 * Order of things for one ticket (ARCHITECTURE.md: a ticket is never printed
 * unless it is durable):
 *
 *   kiosk ─► hqd_apply ─► print__check: can a printer print? no → HQ_ERR_PRINTER, nothing issued
 *                      ─► engine, commit
 *                      ─► print__on_result: PRINT effect → render → print_cups_submit (worker)
 *   worker ─► eventfd ─► print__on_fd: job done, or fault → the other printer, or log for the desk
 *
 * Health comes from two views per printer, asked every status_interval_s:
 * the printer's own DLE EOT link (paper, cover, offline) when configured,
 * and CUPS's printer-state(-reasons). A job that fails or times out marks
 * its printer faulty; the fault clears when the status link answers "ok",
 * or, without a link, after a cool-down (a second chance, as a circuit
 * breaker), so a hall is not left refusing tickets for ever.
 *
 * A ticket that was issued is printed or reported (issue 13): a kiosk's issue is refused before
 * a number is used while PRINT_MAX_JOBS tickets are already waiting for the printers (a burst
 * faster than the paper), and a ticket that still cannot be handed to a printer, or whose job
 * fails, is announced ("print_failed": the kiosk shows it, the desk reprints). A queue whose
 * jobs stop moving — no result from the CUPS worker for longer than a job may take — is a
 * printer fault (health "error", the manager's printer alarm, kiosks refused) even while
 * the printer's own status still says ready.
 */
#include "hqd_print.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "escpos.h"
#include "health.h"
#include "print_cups.h"
#include "store.h"

#define PRINT_MAX_JOBS 64
/* display.ticket_notice's default, from when every hall made a missed call
 * take a new ticket. The ticket's {no_show} line now states the hall's own
 * rule (queue.no_show_requeue), so the stock sentence is not printed: it
 * would contradict a hall that re-queues. A hall's own notice is printed. */
#define PRINT_STOCK_NOTICE "过号请重新取号"
/* p[0] the hall's main printer, p[1] its backup (queue "" when absent), p[2 + k]
 * the printer of printer.kiosks[k] */
#define PRINT_MAX_PRINTERS (2 + HQ_CFG_MAX_KIOSK_PRINTERS)
#define PRINT_TAG_STATUS 32 /* tags below this are status queries: printer*2 + (link ? 1 : 0) */
#define PRINT_LINK_TIMEOUT_MS 1500
#define PRINT_LAT_RING 1024 /* software times kept for the status page's p50/p99 */
/* How much longer than printer.job_timeout_s a printer's jobs may go without a result before
 * its queue counts as stopped (the worker's own timeout fires first when it can). */
#define PRINT_STALL_GRACE_MS 5000

struct print_printer {
    const char *queue, *link; /* queue "" = not configured */
    const char *kiosk;        /* a kiosk's own printer: its id; NULL for the hall's */
    int link_health;          /* enum print_health; OK until asked */
    int cups_health;
    bool fault;           /* the last job failed */
    bool sensor_near_end; /* the GPIO paper sensor (hq_print_set_sensor) */
    uint64_t fault_at_ms;
    uint64_t jobs_ok, jobs_failed;
    uint64_t not_printed; /* tickets reported not printed (print_failed) */
    bool stalled;         /* its jobs stopped moving (print__watchdog) */
    uint64_t moved_ms;    /* its last job result, or the hand-over of a job while it had none
                             in flight: what the stall watchdog measures from */
    char last_error[PRINT_DETAIL_MAX];
    /* The printer on the one device health model (health.h) that the serial devices and GPIO
     * lines use: online while it can print, offline, or faulty (paper, cover, a failed or
     * stalled job), with the time it changed; its log lines share their rate limit. The
     * printer's own, finer health (paper low, cover open) stays in link_/cups_health. */
    struct hq_health_rec h;
};

struct print_job {
    uint64_t tag; /* 0 = free slot */
    int32_t ticket;
    int printer;
    int kiosk; /* 1 + index into printer.kiosks of the kiosk that asked, 0 = none */
    bool tried[PRINT_MAX_PRINTERS];
    uint8_t *data;
    size_t len;
    char label[16];
    uint64_t t0_us; /* CLOCK_MONOTONIC when the request reached this module, 0 = not timed */
    bool reported;  /* print_failed already sent for it (its queue stalled) */
};

struct hq_print {
    struct hq_daemon *d;
    struct print_cups *pc;
    struct escpos_template tpl;
    int width_dots;
    struct print_printer p[PRINT_MAX_PRINTERS];
    int n_printers;
    uint64_t timer;
    uint64_t next_tag;
    struct print_job jobs[PRINT_MAX_JOBS];
    int last_health;   /* overall health last published */
    int reserved;      /* issues that passed print__check, not yet committed (a job each) */
    bool busy_logged;  /* "refused: busy" logged for this burst */
    uint64_t check_us; /* when the issue being applied passed print__check */
    /* Software time per job, request to "CUPS has it" (cupsFinishDocument
     * returned): the last PRINT_LAT_RING, for status "print_latency". */
    uint32_t lat_us[PRINT_LAT_RING];
    uint64_t lat_n;
    /* Kiosk reprints per ticket index of the day kiosk_day (anti-abuse rule). */
    uint8_t *kiosk_reprints;
    size_t n_kiosk_reprints;
    uint32_t kiosk_day;
};

static uint64_t print__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int print__cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* "print_latency": p50/p99/max of the software time of the last jobs, from
 * the kiosk's request reaching the print module (the issue's pre-check) to
 * CUPS holding the job (cupsFinishDocument returned): what tests/bench reads. */
static cJSON *print__latency_json(const struct hq_print *s)
{
    static uint32_t v[PRINT_LAT_RING];
    size_t n = s->lat_n < PRINT_LAT_RING ? (size_t)s->lat_n : PRINT_LAT_RING;
    memcpy(v, s->lat_us, n * sizeof *v);
    qsort(v, n, sizeof *v, print__cmp_u32);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "jobs", (double)s->lat_n);
    cJSON_AddNumberToObject(o, "samples", (double)n);
    cJSON_AddNumberToObject(o, "p50_ms", n ? v[(n - 1) * 50 / 100] / 1000.0 : 0);
    cJSON_AddNumberToObject(o, "p99_ms", n ? v[(n - 1) * 99 / 100] / 1000.0 : 0);
    cJSON_AddNumberToObject(o, "max_ms", n ? v[n - 1] / 1000.0 : 0);
    return o;
}

/* ---------------------------------------------------------------- health */

static int print__health(const struct print_printer *p)
{
    if (p->fault || p->stalled) return PRINT_HEALTH_ERROR;
    /* the worse of the two views, and of the paper sensor */
    int h = p->link_health > p->cups_health ? p->link_health : p->cups_health;
    return p->sensor_near_end && h < PRINT_HEALTH_NEAR_END ? PRINT_HEALTH_NEAR_END : h;
}

static bool print__usable(const struct print_printer *p)
{
    return p->queue[0] && print_health_can_print(print__health(p));
}

/* The printer a new ticket goes to: the asking kiosk's own when it can print,
 * else the hall's main printer, else its backup; -1 if none can. */
static int print__pick(const struct hq_print *s, int kiosk, int avoid)
{
    const int order[3] = {kiosk > 0 ? 1 + kiosk : -1, 0, 1};
    for (int k = 0; k < 3; k++) {
        int i = order[k];
        if (i >= 0 && i < s->n_printers && i != avoid && print__usable(&s->p[i])) return i;
    }
    return -1;
}

/* Whether a ticket asked for at kiosk (0 = none) is printed at all: a hall
 * whose only printers are kiosks' issues API and button tickets unprinted. */
static bool print__prints(const struct hq_print *s, int kiosk)
{
    return (kiosk > 0 && 1 + kiosk < s->n_printers) || s->p[0].queue[0];
}

static cJSON *print__printer_json(const struct hq_print *s, const struct print_printer *p, int i)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "role", i == 0 ? "primary" : i == 1 ? "backup" : "kiosk");
    if (p->kiosk) cJSON_AddStringToObject(o, "kiosk", p->kiosk);
    cJSON_AddStringToObject(o, "queue", p->queue);
    int h = print__health(p);
    cJSON_AddStringToObject(o, "health", print_health_name(h));
    cJSON_AddStringToObject(o, "text", print_health_text(h));
    cJSON_AddBoolToObject(o, "can_print", print_health_can_print(h));
    cJSON_AddStringToObject(o, "link", print_health_name(p->link_health));
    cJSON_AddStringToObject(o, "cups", print_health_name(p->cups_health));
    bool end = p->link_health == PRINT_HEALTH_PAPER_END || p->cups_health == PRINT_HEALTH_PAPER_END;
    bool near = p->sensor_near_end || p->link_health == PRINT_HEALTH_NEAR_END ||
                p->cups_health == PRINT_HEALTH_NEAR_END;
    cJSON_AddStringToObject(o, "paper", end ? "end" : near ? "near_end" : "ok");
    cJSON_AddBoolToObject(o, "paper_sensor", p->sensor_near_end);
    cJSON_AddNumberToObject(o, "jobs_ok", (double)p->jobs_ok);
    cJSON_AddNumberToObject(o, "jobs_failed", (double)p->jobs_failed);
    cJSON_AddNumberToObject(o, "not_printed", (double)p->not_printed);
    cJSON_AddBoolToObject(o, "stalled", p->stalled);
    if (p->last_error[0]) cJSON_AddStringToObject(o, "last_error", p->last_error);
    /* the same printer on the shared device model, as /api/v1/devices shows a serial line */
    cJSON *dev = cJSON_AddObjectToObject(o, "device");
    hq_health_json(&p->h, dev);
    if (p->h.since_wall) {
        char ts[32];
        hq_time_rfc3339(p->h.since_wall, s->d->cfg.engine.utc_offset_s, ts);
        cJSON_AddStringToObject(dev, "since", ts);
    }
    return o;
}

/* The printer's health on the shared model (health.h). */
static void print__health_record(struct hq_print *s, struct print_printer *p)
{
    int now = print__health(p);
    int dev = print_health_can_print(now)   ? HQ_HEALTH_ONLINE
              : now == PRINT_HEALTH_OFFLINE ? HQ_HEALTH_OFFLINE
                                            : HQ_HEALTH_FAULTY;
    const char *why =
        (p->fault || p->stalled) && p->last_error[0] ? p->last_error : print_health_name(now);
    hq_health_set(&p->h, dev, dev == HQ_HEALTH_ONLINE ? HQ_OK : HQ_ERR_PRINTER, why,
                  hq_loop_now_ms(s->d->loop), hq_loop_wall_s());
}

/* Tell the log and the pages when a printer's health changed. The log line goes through the
 * shared rate limit: a printer that flaps (a loose cable, a sensor at the edge) is one line
 * per HQ_HEALTH_LOG_MS with the count of the ones held back, as for the serial devices. */
static void print__health_changed(struct hq_print *s, int i, int before)
{
    struct print_printer *p = &s->p[i];
    int now = print__health(p);
    if (now == before) return;
    print__health_record(s, p);
    int level = print_health_can_print(now) ? HQ_LOG_NOTICE : HQ_LOG_WARN;
    uint32_t quiet = 0;
    if (level <= hq_log_level &&
        hq_health_log_ok(&p->h, level, hq_loop_now_ms(s->d->loop), &quiet)) {
        if (quiet)
            hq_log_write(level, "PRINT", "printer %s: %s (%u similar messages suppressed)",
                         p->queue, print_health_text(now), quiet);
        else
            hq_log_write(level, "PRINT", "printer %s: %s", p->queue, print_health_text(now));
    }
    if (s->d->api) hq_api_publish(s->d->api, "printer", print__printer_json(s, p, i));
}

static void print__status_part(struct hq_daemon *d, cJSON *status, void *arg)
{
    struct hq_print *s = arg;
    (void)d;
    cJSON *a = cJSON_AddArrayToObject(status, "printers");
    for (int i = 0; i < s->n_printers; i++)
        if (s->p[i].queue[0]) cJSON_AddItemToArray(a, print__printer_json(s, &s->p[i], i));
    cJSON_AddItemToObject(status, "print_latency", print__latency_json(s));
}

/* ------------------------------------------------------------- rendering */

static void print__ticket_values(struct hq_daemon *d, int32_t ti, struct escpos_ticket *v,
                                 char *label, char *issued, char *url, size_t urllen)
{
    const struct hq_engine *e = &d->eng;
    const struct hq_ticket *t = &e->tickets[ti];
    const struct hq_service_cfg *svc = &e->cfg->services[t->service];
    hq_ticket_label(e, t, label, 16);
    time_t local = (time_t)t->issued_at + e->cfg->utc_offset_s;
    struct tm tm;
    gmtime_r(&local, &tm);
    strftime(issued, 32, "%Y-%m-%d %H:%M", &tm);
    char uuid[37];
    hq_uuid_format(t->uuid, uuid);
    snprintf(url, urllen, "%s/t/%s", d->cfg.public_url, uuid);
    int64_t wait = t->status == HQ_TS_WAITING ? hq_engine_estimate_ticket(e, ti) : -1;
    *v = (struct escpos_ticket){
        .hall_name = d->cfg.hall_name,
        .hall_name_en = d->cfg.hall_name_en,
        .service_name = svc->name,
        .service_name_en = svc->name_en,
        .label = label,
        .ahead = t->status == HQ_TS_WAITING ? (int)hq_engine_ahead(e, ti) : -1,
        .wait_min = wait < 0 ? -1 : (int)((wait + 59) / 60),
        .issued_at = issued,
        .priority = hq_priority_label_zh(t->priority),
        .name_masked = t->name_masked,
        .qr_url = url,
        .notice = strcmp(d->cfg.ticket_notice, PRINT_STOCK_NOTICE) == 0 ? "" : d->cfg.ticket_notice,
        .no_show_requeue = e->cfg->no_show_requeue,
    };
}

static int print__render(struct hq_print *s, int32_t ti, bool reprint, struct escpos_buf *out,
                         char *label)
{
    struct escpos_ticket v;
    char issued[32], url[512];
    print__ticket_values(s->d, ti, &v, label, issued, url, sizeof url);
    v.reprint = reprint;
    struct escpos_opts o = {.width_dots = s->width_dots,
                            .replacement = s->d->cfg.printer_replacement};
    return escpos_render(&s->tpl, &v, &o, out);
}

/* ------------------------------------------------------------------ jobs */

/* Jobs in flight, of one printer (-1: all). */
static int print__in_flight(const struct hq_print *s, int printer)
{
    int n = 0;
    for (int i = 0; i < PRINT_MAX_JOBS; i++)
        if (s->jobs[i].tag && (printer < 0 || s->jobs[i].printer == printer)) n++;
    return n;
}

/* Ticket ti was issued but is not (or may not be) printed: the kiosk that shows it offers a
 * reprint and says so, the desk reprints; printer (-1: none) counts it. */
static void print__not_printed(struct hq_print *s, int32_t ti, const char *label, int printer,
                               const char *why)
{
    LOG_ERR("PRINT", "ticket %s was issued but not printed (%s): reprint it at the desk", label,
            why);
    if (printer >= 0) s->p[printer].not_printed++;
    if (!s->d->api) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ticket", label);
    if (ti >= 0 && (size_t)ti < s->d->eng.n_tickets) {
        char uuid[37];
        hq_uuid_format(s->d->eng.tickets[ti].uuid, uuid);
        cJSON_AddStringToObject(o, "uuid", uuid); /* the kiosk showing it offers a reprint */
    }
    cJSON_AddStringToObject(o, "error", why);
    cJSON_AddStringToObject(o, "text",
                            "号票未打印，请到服务台补打 / ticket not printed, "
                            "please ask at the service desk");
    hq_api_publish(s->d->api, "print_failed", o);
}

static int print__send(struct hq_print *s, struct print_job *j, int printer)
{
    j->printer = -1;
    /* a printer with nothing in flight starts the stall watchdog's clock now */
    if (!print__in_flight(s, printer)) s->p[printer].moved_ms = hq_loop_now_ms(s->d->loop);
    j->printer = printer;
    j->tried[printer] = true;
    return print_cups_submit(s->pc, j->tag, s->p[printer].queue, j->data, j->len,
                             s->d->cfg.printer_job_timeout_s * 1000u);
}

static int print__start(struct hq_print *s, int32_t ti, bool reprint, uint64_t t0_us, int kiosk)
{
    int printer = print__pick(s, kiosk, -1);
    if (printer < 0) return HQ_ERR_PRINTER;
    struct print_job *j = NULL;
    for (int i = 0; i < PRINT_MAX_JOBS && !j; i++)
        if (!s->jobs[i].tag) j = &s->jobs[i];
    if (!j) {
        LOG_ERR("PRINT", "%d jobs in flight: CUPS is not finishing them", PRINT_MAX_JOBS);
        return HQ_ERR_LIMIT;
    }
    struct escpos_buf b = {0};
    int rc = print__render(s, ti, reprint, &b, j->label);
    if (rc) {
        escpos_buf_free(&b);
        LOG_ERR("PRINT", "ticket %d: cannot render: %s", ti, hq_strerror(rc));
        return rc;
    }
    *j = (struct print_job){.tag = ++s->next_tag,
                            .ticket = ti,
                            .kiosk = kiosk,
                            .data = b.data,
                            .len = b.len,
                            .t0_us = t0_us};
    hq_ticket_label(&s->d->eng, &s->d->eng.tickets[ti], j->label, sizeof j->label);
    rc = print__send(s, j, printer);
    if (rc) {
        free(j->data);
        j->tag = 0;
        return rc;
    }
    LOG_INFO("PRINT", "ticket %s%s to %s (%zu bytes)", j->label, reprint ? " (reprint)" : "",
             s->p[printer].queue, b.len);
    return HQ_OK;
}

static void print__job_done(struct hq_print *s, const struct print_result *r)
{
    struct print_job *j = NULL;
    for (int i = 0; i < PRINT_MAX_JOBS && !j; i++)
        if (s->jobs[i].tag == r->tag) j = &s->jobs[i];
    if (!j) return;
    struct print_printer *p = &s->p[j->printer];
    p->moved_ms = hq_loop_now_ms(s->d->loop);
    if (p->stalled) {
        int before = print__health(p);
        p->stalled = false; /* its queue moves again */
        LOG_NOTICE("PRINT", "printer %s: its jobs move again", p->queue);
        print__health_changed(s, j->printer, before);
    }
    if (r->handed_us && j->t0_us && r->handed_us >= j->t0_us) {
        uint64_t us = r->handed_us - j->t0_us;
        s->lat_us[s->lat_n++ % PRINT_LAT_RING] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        j->t0_us = 0; /* a failover's second send is not the kiosk's wait */
    }
    if (r->err == HQ_OK) {
        p->jobs_ok++;
        LOG_INFO("PRINT", "ticket %s printed on %s (%s)", j->label, p->queue, r->detail);
        goto done;
    }
    p->jobs_failed++;
    snprintf(p->last_error, sizeof p->last_error, "%s", r->detail);
    int before = print__health(p);
    p->fault = true;
    p->fault_at_ms = hq_loop_now_ms(s->d->loop);
    print__health_changed(s, j->printer, before);
    /* The ticket is issued and durable: try the other printer if it can print. */
    int other = print__pick(s, j->kiosk, j->printer);
    if (other >= 0 && !j->tried[other]) {
        LOG_WARN("PRINT", "ticket %s failed on %s (%s): printing it on %s", j->label, p->queue,
                 r->detail, s->p[other].queue);
        if (print__send(s, j, other) == HQ_OK) return;
    }
    if (!j->reported) print__not_printed(s, j->ticket, j->label, j->printer, r->detail);
done:
    free(j->data);
    j->data = NULL;
    j->tag = 0;
}

static void print__status_done(struct hq_print *s, const struct print_result *r)
{
    int i = (int)(r->tag / 2);
    if (i >= s->n_printers) return;
    struct print_printer *p = &s->p[i];
    int before = print__health(p);
    if (r->kind == PRINT_REQ_LINK) {
        p->link_health = r->health;
        /* the printer itself says it is fine: give it its jobs again */
        if (p->fault && r->health == PRINT_HEALTH_OK) p->fault = false;
    } else {
        p->cups_health = r->err == HQ_ERR_NOT_FOUND ? PRINT_HEALTH_ERROR : r->health;
        if (r->err) snprintf(p->last_error, sizeof p->last_error, "%s", r->detail);
        uint64_t cool = 2000ull * s->d->cfg.printer_job_timeout_s;
        if (p->fault && !p->link[0] && print_health_can_print(p->cups_health) &&
            hq_loop_now_ms(s->d->loop) - p->fault_at_ms >= cool)
            p->fault = false;
    }
    print__health_changed(s, i, before);
}

static void print__on_fd(struct hq_loop *loop, int fd, uint32_t events, void *arg)
{
    struct hq_print *s = arg;
    struct print_result r;
    (void)loop, (void)fd, (void)events;
    while (print_cups_result(s->pc, &r) == HQ_OK) {
        if (r.kind == PRINT_REQ_JOB)
            print__job_done(s, &r);
        else
            print__status_done(s, &r);
    }
}

/* A printer whose jobs have not moved (no result from the CUPS worker) for longer than a job
 * may take is faulty, whatever its status says: the worker may be stuck in a call to a cupsd
 * that no longer answers, and then the status queries behind it never answer either. Its
 * tickets in flight are reported; a result from it clears the stall. */
static void print__watchdog(struct hq_print *s)
{
    uint64_t now = hq_loop_now_ms(s->d->loop);
    uint64_t limit = 1000ull * s->d->cfg.printer_job_timeout_s + PRINT_STALL_GRACE_MS;
    for (int i = 0; i < s->n_printers; i++) {
        struct print_printer *p = &s->p[i];
        if (p->stalled || !print__in_flight(s, i) || now - p->moved_ms <= limit) continue;
        int before = print__health(p);
        p->stalled = true;
        snprintf(p->last_error, sizeof p->last_error,
                 "%d ticket(s) waiting, none printed or failed for %llu s", print__in_flight(s, i),
                 (unsigned long long)((now - p->moved_ms) / 1000));
        LOG_ERR("PRINT", "printer %s: its queue stopped moving: %s", p->queue, p->last_error);
        print__health_changed(s, i, before);
        for (int k = 0; k < PRINT_MAX_JOBS; k++) {
            struct print_job *j = &s->jobs[k];
            if (!j->tag || j->printer != i || j->reported) continue;
            j->reported = true;
            print__not_printed(s, j->ticket, j->label, i, p->last_error);
        }
    }
}

static void print__poll(struct hq_loop *loop, void *arg)
{
    struct hq_print *s = arg;
    print__watchdog(s);
    for (int i = 0; i < s->n_printers; i++) {
        struct print_printer *p = &s->p[i];
        if (!p->queue[0]) continue;
        print_cups_query_printer(s->pc, (uint64_t)i * 2, p->queue);
        if (p->link[0])
            print_cups_query_link(s->pc, (uint64_t)i * 2 + 1, p->link, PRINT_LINK_TIMEOUT_MS);
    }
    s->timer = hq_loop_timer(loop, s->d->cfg.printer_status_interval_s * 1000ull, print__poll, s);
}

/* ------------------------------------------------------------ the daemon */

static int print__check(struct hq_daemon *d, const struct hq_cmd *cmd, void *arg)
{
    struct hq_print *s = arg;
    /* a re-registered number is not printed: the citizen holds the paper */
    if (cmd->type != HQ_CMD_ISSUE || cmd->u.issue.held_number) return HQ_OK;
    s->check_us = print__now_us();
    int kiosk = cmd->u.issue.kiosk_printer;
    if (!print__prints(s, kiosk)) return HQ_OK;
    if (print__pick(s, kiosk, -1) >= 0) {
        /* Each issue that passes takes a job slot when its group is committed (hqd_flush runs
         * print__on_result): count those of this group, so a burst is refused before a number
         * is used rather than issued unprinted. */
        if (!d->n_staged) s->reserved = 0;
        int busy = print__in_flight(s, -1) + s->reserved;
        if (busy >= PRINT_MAX_JOBS) {
            if (!s->busy_logged)
                LOG_WARN("PRINT", "tickets refused: %d are waiting to be printed", busy);
            s->busy_logged = true;
            return HQ_ERR_PRINTER_BUSY;
        }
        if (busy < PRINT_MAX_JOBS / 2) s->busy_logged = false;
        s->reserved++;
        return HQ_OK;
    }
    const struct print_printer *p = &s->p[kiosk > 0 && 1 + kiosk < s->n_printers ? 1 + kiosk : 0];
    LOG_NOTICE("PRINT", "ticket refused: no printer can print (%s: %s)", p->queue,
               print_health_text(print__health(p)));
    return HQ_ERR_PRINTER;
}

static void print__on_result(struct hq_daemon *d, const struct hq_cmd *cmd,
                             const struct hq_result *res, void *arg)
{
    struct hq_print *s = arg;
    (void)d, (void)cmd;
    for (size_t i = 0; i < res->n_fx; i++) {
        const struct hq_effect *fx = &res->fx[i];
        if (fx->type != HQ_FX_PRINT || fx->ticket < 0) continue;
        uint64_t t0 = cmd->type == HQ_CMD_ISSUE ? s->check_us : 0;
        int kiosk = cmd->type == HQ_CMD_ISSUE ? cmd->u.issue.kiosk_printer : 0;
        if (!print__prints(s, kiosk)) continue;
        int rc = print__start(s, fx->ticket, false, t0, kiosk);
        if (!rc) continue;
        char label[16], why[96];
        hq_ticket_label(&s->d->eng, &s->d->eng.tickets[fx->ticket], label, sizeof label);
        int printer = print__pick(s, kiosk, -1);
        if (rc == HQ_ERR_LIMIT && printer >= 0) {
            /* every slot taken: the queue does not keep up, which is a fault to see */
            struct print_printer *p = &s->p[printer];
            int before = print__health(p);
            p->fault = true;
            p->fault_at_ms = hq_loop_now_ms(s->d->loop);
            snprintf(p->last_error, sizeof p->last_error, "%d tickets waiting to print",
                     PRINT_MAX_JOBS);
            print__health_changed(s, printer, before);
        }
        snprintf(why, sizeof why, "not sent to a printer: %s",
                 rc == HQ_ERR_LIMIT ? "too many tickets waiting to print" : hq_strerror(rc));
        print__not_printed(s, fx->ticket, label, printer, why);
    }
}

/* The reprint in the hall's event log and the outbox ("event", kind
 * "reprint"), so that a second ticket in someone's hand can be explained. */
static void print__record_reprint(struct hq_print *s, int32_t ti, const char *by)
{
    struct hq_daemon *d = s->d;
    const struct hq_ticket *t = &d->eng.tickets[ti];
    char uuid[37], label[16];
    hq_uuid_format(t->uuid, uuid);
    hq_ticket_label(&d->eng, t, label, sizeof label);
    int64_t now = hq_loop_wall_s();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "reprint");
    cJSON_AddStringToObject(o, "ticket", uuid);
    cJSON_AddStringToObject(o, "number", label);
    cJSON_AddStringToObject(o, "service", d->eng.cfg->services[t->service].code);
    cJSON_AddStringToObject(o, "by", by);
    char *json = cJSON_PrintUnformatted(o);
    sqlite3_stmt *q = NULL;
    int rc = json ? hq_store_begin(d->store) : HQ_ERR_NOMEM;
    if (rc) goto fail;
    rc = HQ_ERR_DB;
    if (sqlite3_prepare_v2(hq_store_db(d->store),
                           "INSERT INTO events(at, kind, ticket, label, data) VALUES(?,?,?,?,?)",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, now);
        sqlite3_bind_text(q, 2, "reprint", -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, uuid, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, label, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, json, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_DONE) rc = HQ_OK;
    }
    sqlite3_finalize(q);
    if (!rc) {
        rc = hq_store_outbox_add(d->store, "event", now, cJSON_Duplicate(o, 1));
    }
    rc = hq_store_end(d->store, rc);
fail:
    if (rc) LOG_WARN("PRINT", "reprint of %s not recorded: %s", label, hq_strerror(rc));
    free(json);
    if (d->api) {
        /* the event stream is public: the number says which ticket, the uuid
         * is the holder's capability (issue 14) */
        cJSON_DeleteItemFromObjectCaseSensitive(o, "ticket");
        hq_api_publish(d->api, "reprint", o);
    } else {
        cJSON_Delete(o);
    }
}

/* A reprint at kiosk's own printer (0: the hall's). */
static int print__reprint(struct hq_print *s, int32_t ticket, const char *by, int kiosk)
{
    if (ticket < 0 || (size_t)ticket >= s->d->eng.n_tickets) return HQ_ERR_NOT_FOUND;
    int rc = print__start(s, ticket, true, print__now_us(), kiosk);
    if (rc == HQ_ERR_LIMIT) rc = HQ_ERR_PRINTER_BUSY; /* every job slot taken: 503, try again */
    if (rc) return rc;
    print__record_reprint(s, ticket, by);
    return HQ_OK;
}

int hq_print_reprint(struct hq_daemon *d, int32_t ticket, const char *by)
{
    return d->mod.print ? print__reprint(d->mod.print, ticket, by, 0) : HQ_ERR_STATE;
}

static int print__refuse(struct hq_api_req *req, unsigned status, const char *error, const char *zh,
                         const char *en)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", error);
    cJSON_AddStringToObject(o, "message", zh);
    cJSON_AddStringToObject(o, "message_en", en);
    return hq_api_reply_json(req, status, o);
}

/* The kiosk's allowance for ticket ti, per business day; NULL if no memory. */
static uint8_t *print__kiosk_count(struct hq_print *s, int32_t ti)
{
    if (s->kiosk_day != (uint32_t)s->d->eng.day) { /* a new day numbers tickets afresh */
        /* guarded: memset(NULL, 0, 0) before the first allocation is undefined behaviour,
         * and UBSan stops hallqd on it (sanitizer run) */
        if (s->kiosk_reprints) memset(s->kiosk_reprints, 0, s->n_kiosk_reprints);
        s->kiosk_day = (uint32_t)s->d->eng.day;
    }
    if ((size_t)ti >= s->n_kiosk_reprints) {
        size_t n = s->n_kiosk_reprints ? s->n_kiosk_reprints : 256;
        while (n <= (size_t)ti)
            n *= 2;
        uint8_t *p = realloc(s->kiosk_reprints, n);
        if (!p) return NULL;
        memset(p + s->n_kiosk_reprints, 0, n - s->n_kiosk_reprints);
        s->kiosk_reprints = p;
        s->n_kiosk_reprints = n;
    }
    return &s->kiosk_reprints[ti];
}

int hq_print_set_sensor(struct hq_daemon *d, bool near_end)
{
    struct hq_print *s = d->mod.print;
    if (!s) return HQ_ERR_STATE;
    int before = print__health(&s->p[0]);
    s->p[0].sensor_near_end = near_end;
    print__health_changed(s, 0, before);
    return HQ_OK;
}

/*
 * POST /api/v1/reprint/{uuid|label}
 *
 * Staff (clerk or manager token): any ticket of the day, by uuid or number.
 * The kiosk has no token, and anyone on the hall network could call this, so
 * without one (the anti-abuse rule, docs/CONFIG.md printer.kiosk_*):
 *  - only by uuid: a number like A012 is guessable, the uuid is known only to
 *    the screen that issued the ticket (and its QR);
 *  - only while the ticket still waits, and within printer.kiosk_reprint_s
 *    (600 s) of issue: a reprint is for the citizen standing at the kiosk;
 *  - at most printer.kiosk_reprints (1) times per ticket; after that, the
 *    service desk.
 */
static int print__api_reprint(struct hq_api_req *req, void *arg)
{
    struct hq_print *s = arg;
    struct hq_daemon *d = req->d;
    uint8_t u[16];
    bool by_uuid = hq_uuid_parse(req->tail, u) == HQ_OK;
    int32_t ti =
        by_uuid ? hq_engine_find_uuid(&d->eng, u) : hq_engine_find_label(&d->eng, req->tail);
    bool kiosk = req->role < HQ_ROLE_CLERK;
    if (kiosk && !by_uuid)
        return print__refuse(req, 401, "auth", "按号码补打需由工作人员操作，请到服务台",
                             "a reprint by number needs staff: please ask at the service desk");
    if (ti < 0) return HQ_ERR_NOT_FOUND;
    const struct hq_ticket *t = &d->eng.tickets[ti];
    uint8_t *count = NULL;
    if (kiosk) {
        if (t->status != HQ_TS_WAITING)
            return print__refuse(req, 409, "state", "该号已叫号或办结，无需补打",
                                 "this ticket has already been called or closed");
        if (hq_loop_wall_s() - (int64_t)t->issued_at > (int64_t)d->cfg.printer_kiosk_reprint_s)
            return print__refuse(req, 403, "reprint_late", "已超过自助补打时限，请到服务台补打",
                                 "too long since the ticket was issued: please ask at the "
                                 "service desk");
        if (!(count = print__kiosk_count(s, ti))) return HQ_ERR_NOMEM;
        if (*count >= d->cfg.printer_kiosk_reprints)
            return print__refuse(req, 429, "reprint_limit",
                                 "本号票已补打过，如需再次补打请到服务台",
                                 "this ticket has been reprinted already: please ask at the "
                                 "service desk");
    }
    const char *at = NULL;
    if (hq_api_kiosk_arg(req, &at))
        return hq_api_reply_error(req, HQ_ERR_INVALID, "kiosk must be a kiosk id string");
    int rc = print__reprint(s, ti,
                            kiosk                           ? "kiosk"
                            : req->role >= HQ_ROLE_MANAGER  ? "manager"
                            : req->who.auth == HQ_AUTH_DESK ? "desk"
                                                            : "clerk",
                            hq_config_kiosk_printer(&d->cfg, at));
    if (rc) return rc;
    if (count) (*count)++;
    cJSON *o = cJSON_CreateObject();
    char label[16];
    cJSON_AddStringToObject(o, "reprinted", hq_ticket_label(&d->eng, t, label, sizeof label));
    if (kiosk)
        cJSON_AddNumberToObject(o, "kiosk_reprints_left",
                                d->cfg.printer_kiosk_reprints - (count ? *count : 0));
    return hq_api_reply_json(req, 202, o);
}

static int print__load_template(struct hq_print *s, const struct hq_config *cfg)
{
    if (!cfg->printer_template[0]) return escpos_template_default(&s->tpl);
    char path[2 * HQ_CFG_PATH_MAX + 2];
    if (cfg->printer_template[0] == '/')
        snprintf(path, sizeof path, "%s", cfg->printer_template);
    else
        snprintf(path, sizeof path, "%s/%s", cfg->dir, cfg->printer_template);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: $.printer.template: cannot open %s\n", cfg->file, path);
        return HQ_ERR_CONFIG;
    }
    static char text[64 * 1024];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    cJSON *j = cJSON_Parse(text);
    char err[256] = "not JSON";
    int rc = j ? escpos_template_parse_json(j, &s->tpl, err, sizeof err) : HQ_ERR_CONFIG;
    cJSON_Delete(j);
    if (rc) fprintf(stderr, "%s: %s\n", path, err);
    return rc ? HQ_ERR_CONFIG : HQ_OK;
}

int hq_print_init(struct hq_daemon *d)
{
    const struct hq_config *c = &d->cfg;
    if (!c->printer_queue[0] && !c->n_kiosk_printers) {
        LOG_NOTICE("PRINT", "no ticket printer configured: tickets are issued without printing");
        return HQ_OK;
    }
    struct hq_print *s = calloc(1, sizeof *s);
    if (!s) return HQ_ERR_NOMEM;
    s->d = d;
    s->width_dots = c->printer_width_mm == 58 ? ESCPOS_DOTS_58 : ESCPOS_DOTS_80;
    s->next_tag = PRINT_TAG_STATUS;
    s->p[0] = (struct print_printer){.queue = c->printer_queue, .link = c->printer_status_link};
    s->p[1] = (struct print_printer){.queue = c->printer_backup_queue,
                                     .link = c->printer_backup_status_link};
    for (int k = 0; k < c->n_kiosk_printers; k++)
        s->p[2 + k] = (struct print_printer){.queue = c->kiosk_printers[k].queue,
                                             .link = c->kiosk_printers[k].status_link,
                                             .kiosk = c->kiosk_printers[k].kiosk};
    s->n_printers = 2 + c->n_kiosk_printers;
    for (int i = 0; i < s->n_printers; i++)
        if (s->p[i].queue[0]) print__health_record(s, &s->p[i]); /* online until asked */
    int rc = print__load_template(s, c);
    if (rc) goto fail;
    rc = HQ_ERR_IO;
    s->pc = print_cups_new(c->printer_cups_server[0] ? c->printer_cups_server : NULL);
    if (!s->pc) goto fail;
    if ((rc = hq_loop_add_fd(d->loop, print_cups_fd(s->pc), EPOLLIN, print__on_fd, s))) goto fail;
    if ((rc = hqd_on_check(d, print__check, s))) goto fail;
    if ((rc = hqd_on_result(d, print__on_result, s))) goto fail;
    if (d->api) {
        if ((rc = hq_api_status_part(d->api, print__status_part, s))) goto fail;
        if ((rc = hq_api_route_for(d->api, "POST", "/api/v1/reprint/", HQ_AUTH_ANY,
                                   print__api_reprint, s)))
            goto fail;
    }
    d->mod.print = s;
    print__poll(d->loop, s); /* ask at once; tickets are allowed until an answer says no */
    LOG_INFO("PRINT", "ticket printer %s%s%s, %d kiosk printers, %u mm",
             c->printer_queue[0] ? c->printer_queue : "(none)",
             c->printer_backup_queue[0] ? ", backup " : "", c->printer_backup_queue,
             c->n_kiosk_printers, c->printer_width_mm);
    return HQ_OK;
fail:
    if (s->pc) print_cups_free(s->pc);
    free(s);
    return rc;
}

void hq_print_fini(struct hq_daemon *d)
{
    struct hq_print *s = d->mod.print;
    if (!s) return;
    if (s->timer) hq_loop_timer_cancel(d->loop, s->timer);
    hq_loop_del_fd(d->loop, print_cups_fd(s->pc));
    print_cups_free(s->pc);
    for (int i = 0; i < PRINT_MAX_JOBS; i++)
        free(s->jobs[i].data);
    free(s->kiosk_reprints);
    free(s);
    d->mod.print = NULL;
}

int hq_print_faults(const struct hq_daemon *d)
{
    const struct hq_print *s = d->mod.print;
    if (!s) return 0;
    int n = 0;
    for (int i = 0; i < s->n_printers; i++)
        if (s->p[i].queue[0] && hq_health_is_fault(s->p[i].h.health)) n++;
    return n;
}
