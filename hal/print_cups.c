/*
 * print_cups.c — the CUPS spooler worker and the printer's status link.
 *
 * One worker thread owns every CUPS call (libcups keeps its server choice
 * and connection per thread, so cupsSetServer happens on the worker). Each
 * turn it answers waiting status queries first, starts the next job when no
 * job is being watched, and polls the watched job's state every 250 ms:
 *
 *   loop ──submit──► requests ──► worker ──► CUPS (create, raw document, poll, cancel)
 *   loop ◄─eventfd── results  ◄──┘
 *
 * Status link (the printer's own 9100 port, PROTOCOLS.md §4): send
 * 10 04 01 10 04 02 10 04 04 and read one byte per query; each byte has the
 * fixed bits 0x12. A printer that answers nothing within the timeout is
 * offline.
 */
#include "print_cups.h"

#include <cups/cups.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "hq.h"
#include "serial.h"

#define PRINT_POLL_MS 250
/* Jobs watched at once: one per queue, so a dead printer holds up only its own tickets. */
#define PRINT_MAX_ACTIVE 12

struct print_req {
    struct print_req *next;
    uint8_t kind;
    uint64_t tag;
    char queue[PRINT_QUEUE_MAX]; /* or the link URI */
    uint8_t *data;
    size_t len;
    uint32_t timeout_ms;
    int64_t queued_ms; /* CLOCK_MONOTONIC when it was handed to the worker */
};

struct print_res_node {
    struct print_res_node *next;
    struct print_result r;
};

struct print_cups {
    char *server;
    int efd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    struct print_req *jobs, **jobs_tail;       /* print jobs, in order */
    struct print_req *queries, **queries_tail; /* status queries */
    struct print_res_node *res, **res_tail;
};

/* ------------------------------------------------------------- parsing */

int print_link_parse(int n, uint8_t b, struct print_link_status *st)
{
    if ((b & 0x93) != 0x12) return HQ_ERR_PROTO;
    st->answered = true;
    switch (n) {
    case 1:
        st->offline = b & 0x08;
        break;
    case 2:
        st->cover_open = b & 0x04;
        if (b & 0x20) st->paper_end = true;
        st->error = b & 0x40;
        break;
    case 4:
        st->near_end = b & 0x0C;
        if (b & 0x60) st->paper_end = true;
        break;
    }
    return HQ_OK;
}

void print_reasons_parse(const char *kw, struct print_printer_status *st)
{
    if (!kw || !*kw || strcmp(kw, "none") == 0) return;
    size_t o = strlen(st->reasons);
    if (o + strlen(kw) + 2 < sizeof st->reasons)
        snprintf(st->reasons + o, sizeof st->reasons - o, "%s%s", o ? "," : "", kw);
    /* keywords may carry -report / -warning / -error suffixes (RFC 8011 5.4.12) */
    if (strncmp(kw, "media-empty", 11) == 0 || strncmp(kw, "media-needed", 12) == 0)
        st->paper_end = true;
    else if (strncmp(kw, "media-low", 9) == 0)
        st->near_end = true;
    else if (strncmp(kw, "door-open", 9) == 0 || strncmp(kw, "cover-open", 10) == 0)
        st->cover_open = true;
    else if (strncmp(kw, "offline", 7) == 0 || strncmp(kw, "shutdown", 8) == 0)
        st->offline = true;
    else if (strstr(kw, "-error"))
        st->other = true;
    /* connecting-to-device shows at the start of every socket job, and
     * cups-waiting-for-job-completed at its end: neither is a fault; a dead
     * printer is caught by the job's timeout instead. */
}

int print_link_health(const struct print_link_status *st)
{
    if (!st->answered) return PRINT_HEALTH_OFFLINE;
    if (st->cover_open) return PRINT_HEALTH_COVER_OPEN;
    if (st->paper_end) return PRINT_HEALTH_PAPER_END;
    if (st->error) return PRINT_HEALTH_ERROR;
    if (st->offline) return PRINT_HEALTH_OFFLINE;
    if (st->near_end) return PRINT_HEALTH_NEAR_END;
    return PRINT_HEALTH_OK;
}

int print_printer_health(const struct print_printer_status *st)
{
    if (st->state == 0) return PRINT_HEALTH_OFFLINE;
    if (st->cover_open) return PRINT_HEALTH_COVER_OPEN;
    if (st->paper_end) return PRINT_HEALTH_PAPER_END;
    if (st->offline) return PRINT_HEALTH_OFFLINE;
    if (!st->accepting || st->state == 5 || st->other) return PRINT_HEALTH_ERROR;
    if (st->near_end) return PRINT_HEALTH_NEAR_END;
    return PRINT_HEALTH_OK;
}

bool print_health_can_print(int h)
{
    return h == PRINT_HEALTH_OK || h == PRINT_HEALTH_NEAR_END;
}

const char *print_health_name(int h)
{
    static const char *const n[] = {"ok",         "near_end", "paper_end",
                                    "cover_open", "offline",  "error"};
    return h >= 0 && h < (int)HQ_ARRAY_LEN(n) ? n[h] : "unknown";
}

const char *print_health_text(int h)
{
    static const char *const t[] = {
        "打印机正常 / printer ready",   "打印纸将尽 / paper low",
        "打印机缺纸 / out of paper",    "打印机盖未关 / printer cover open",
        "打印机离线 / printer offline", "打印机故障 / printer fault",
    };
    return h >= 0 && h < (int)HQ_ARRAY_LEN(t) ? t[h] : "打印机状态未知 / printer state unknown";
}

/* ---------------------------------------------------------- status link */

static int print_cups__connect(const char *link, int timeout_ms)
{
    char host[256];
    const char *p = strncmp(link, "tcp://", 6) == 0 ? link + 6 : NULL;
    if (!p) return -HQ_ERR_CONFIG;
    snprintf(host, sizeof host, "%s", p);
    char *colon = strrchr(host, ':');
    if (!colon || colon == host) return -HQ_ERR_CONFIG;
    *colon = 0;
    const char *port = colon + 1;
    if (host[0] == '[' && colon[-1] == ']') { /* [::1]:9100 */
        colon[-1] = 0;
        memmove(host, host + 1, strlen(host));
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) || !ai) return -HQ_ERR_IO;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) goto fail;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) goto fail;
    struct pollfd pf = {fd, POLLOUT, 0};
    int err = 0;
    socklen_t el = sizeof err;
    if (poll(&pf, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err)
        goto fail;
    freeaddrinfo(ai);
    return fd;
fail:
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return -HQ_ERR_IO;
}

static int64_t print_cups__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int print_link_serial_spec(const char *link, char *spec, size_t cap, int *baud)
{
    *baud = 9600;
    if (!link || strncmp(link, "tcp://", 6) == 0 ||
        (strncmp(link, "/dev/", 5) && strncmp(link, "usb:", 4) && strncmp(link, "pty:", 4)))
        return HQ_ERR_INVALID;
    const char *at = strrchr(link, '@');
    size_t n = at ? (size_t)(at - link) : strlen(link);
    if (at) {
        char *end;
        long b = strtol(at + 1, &end, 10);
        if (end == at + 1 || *end || b < 1200 || b > 230400) return HQ_ERR_INVALID;
        *baud = (int)b;
    }
    if (n < 6 || n >= cap) return HQ_ERR_INVALID;
    memcpy(spec, link, n);
    spec[n] = 0;
    return HQ_OK;
}

int print_link_query(const char *link, uint32_t timeout_ms, struct print_link_status *st)
{
    memset(st, 0, sizeof *st);
    int64_t deadline = print_cups__now_ms() + timeout_ms;
    static const uint8_t q[] = {0x10, 0x04, 0x01, 0x10, 0x04, 0x02, 0x10, 0x04, 0x04};
    static const int ns[] = {1, 2, 4};
    struct hq_serial *ser = NULL; /* a serial status port; else TCP */
    int fd, rc = HQ_OK;
    if (strncmp(link, "tcp://", 6) == 0) {
        fd = print_cups__connect(link, (int)timeout_ms);
        if (fd == -HQ_ERR_CONFIG) return HQ_ERR_CONFIG;
        if (fd < 0) return HQ_OK; /* nobody there: not answered = offline */
        if (send(fd, q, sizeof q, MSG_NOSIGNAL) != (ssize_t)sizeof q) goto done;
    } else {
        char spec[PRINT_QUEUE_MAX];
        int baud;
        if (print_link_serial_spec(link, spec, sizeof spec, &baud)) return HQ_ERR_CONFIG;
        int orc = hq_serial_open(spec, baud, 0, &ser);
        if (orc == HQ_ERR_INVALID) return HQ_ERR_CONFIG;
        if (orc) return HQ_OK; /* unplugged: not answered = offline */
        fd = hq_serial_fd(ser);
        hq_serial_flush_input(ser); /* a late answer to the last query is no answer to this */
        if (hq_serial_write(ser, q, sizeof q, (int)timeout_ms) != HQ_OK) goto done;
    }
    for (int got = 0; got < 3;) {
        int64_t left = deadline - print_cups__now_ms();
        struct pollfd pf = {fd, POLLIN, 0};
        if (left <= 0 || poll(&pf, 1, (int)left) != 1) break;
        uint8_t b[3];
        ssize_t r;
        if (ser) {
            size_t n = 0;
            if (hq_serial_read(ser, b, (size_t)(3 - got), &n) != HQ_OK) break;
            r = (ssize_t)n;
            if (!r) continue;
        } else {
            r = recv(fd, b, (size_t)(3 - got), 0);
        }
        if (r <= 0) break;
        for (ssize_t i = 0; i < r; i++, got++)
            if (print_link_parse(ns[got], b[i], st)) {
                LOG_WARN("PRINT", "%s: reply %02X to DLE EOT %d is no status byte", link, b[i],
                         ns[got]);
                rc = HQ_ERR_PROTO;
            }
    }
done:
    if (ser)
        hq_serial_close(ser);
    else
        close(fd);
    return rc;
}

/* ---------------------------------------------------------------- CUPS */

static void print_cups__printer_uri(const char *queue, char *uri, size_t len)
{
    httpAssembleURIf(HTTP_URI_CODING_ALL, uri, (int)len, "ipp", NULL, "localhost", 0,
                     "/printers/%s", queue);
}

/* CUPS's last error as ours. */
static int print_cups__cups_err(void)
{
    ipp_status_t s = cupsLastError();
    if (s == IPP_STATUS_ERROR_NOT_FOUND) return HQ_ERR_NOT_FOUND;
    if (s == IPP_STATUS_ERROR_SERVICE_UNAVAILABLE || s == IPP_STATUS_ERROR_INTERNAL)
        return HQ_ERR_IO;
    if (s >= IPP_STATUS_ERROR_BAD_REQUEST) return HQ_ERR_PRINTER;
    return HQ_ERR_IO;
}

/* On the calling thread's CUPS connection (cupsSetServer already done). */
static int print_cups__printer_status(const char *queue, struct print_printer_status *st)
{
    static const char *const want[] = {"printer-state", "printer-state-reasons",
                                       "printer-is-accepting-jobs"};
    memset(st, 0, sizeof *st);
    char uri[HTTP_MAX_URI];
    print_cups__printer_uri(queue, uri, sizeof uri);
    ipp_t *req = ippNewRequest(IPP_OP_GET_PRINTER_ATTRIBUTES);
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, uri);
    ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes",
                  (int)HQ_ARRAY_LEN(want), NULL, want);
    ipp_t *resp = cupsDoRequest(CUPS_HTTP_DEFAULT, req, "/");
    if (!resp || cupsLastError() > IPP_STATUS_OK_CONFLICTING) {
        ippDelete(resp);
        return print_cups__cups_err();
    }
    ipp_attribute_t *a;
    if ((a = ippFindAttribute(resp, "printer-state", IPP_TAG_ENUM)))
        st->state = ippGetInteger(a, 0);
    if ((a = ippFindAttribute(resp, "printer-is-accepting-jobs", IPP_TAG_BOOLEAN)))
        st->accepting = ippGetBoolean(a, 0);
    if ((a = ippFindAttribute(resp, "printer-state-reasons", IPP_TAG_KEYWORD)))
        for (int i = 0; i < ippGetCount(a); i++)
            print_reasons_parse(ippGetString(a, i, NULL), st);
    ippDelete(resp);
    return HQ_OK;
}

int print_printer_status(const char *server, const char *queue, struct print_printer_status *st)
{
    if (server) cupsSetServer(server);
    return print_cups__printer_status(queue, st);
}

/* job-state of a job: 3 pending .. 9 completed; 0 if CUPS did not say. */
static int print_cups__job_state(int job_id, char *reasons, size_t len)
{
    static const char *const want[] = {"job-state", "job-state-reasons"};
    char uri[HTTP_MAX_URI];
    httpAssembleURIf(HTTP_URI_CODING_ALL, uri, (int)sizeof uri, "ipp", NULL, "localhost", 0,
                     "/jobs/%d", job_id);
    ipp_t *req = ippNewRequest(IPP_OP_GET_JOB_ATTRIBUTES);
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "job-uri", NULL, uri);
    ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes",
                  (int)HQ_ARRAY_LEN(want), NULL, want);
    ipp_t *resp = cupsDoRequest(CUPS_HTTP_DEFAULT, req, "/");
    int state = 0;
    ipp_attribute_t *a;
    if (resp && (a = ippFindAttribute(resp, "job-state", IPP_TAG_ENUM)))
        state = ippGetInteger(a, 0);
    if (resp && (a = ippFindAttribute(resp, "job-state-reasons", IPP_TAG_KEYWORD)))
        snprintf(reasons, len, "%s", ippGetString(a, 0, NULL));
    ippDelete(resp);
    return state;
}

/* Create the job and send its one raw document. */
static int print_cups__start_job(const struct print_req *q, struct print_result *r)
{
    int id = cupsCreateJob(CUPS_HTTP_DEFAULT, q->queue, "hallq ticket", 0, NULL);
    if (!id) {
        snprintf(r->detail, sizeof r->detail, "queue %s refused the job: %s", q->queue,
                 cupsLastErrorString());
        return print_cups__cups_err();
    }
    r->job_id = id;
    if (cupsStartDocument(CUPS_HTTP_DEFAULT, q->queue, id, "ticket", CUPS_FORMAT_RAW, 1) !=
            HTTP_STATUS_CONTINUE ||
        cupsWriteRequestData(CUPS_HTTP_DEFAULT, (const char *)q->data, q->len) !=
            HTTP_STATUS_CONTINUE ||
        cupsFinishDocument(CUPS_HTTP_DEFAULT, q->queue) != IPP_STATUS_OK) {
        snprintf(r->detail, sizeof r->detail, "job %d on %s: sending failed: %s", id, q->queue,
                 cupsLastErrorString());
        cupsCancelJob2(CUPS_HTTP_DEFAULT, q->queue, id, 0);
        return print_cups__cups_err();
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r->handed_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    return HQ_OK;
}

/* ------------------------------------------------------------- worker */

static void print_cups__post(struct print_cups *p, const struct print_result *r)
{
    struct print_res_node *n = malloc(sizeof *n);
    if (!n) {
        LOG_ERR("PRINT", "out of memory: result of request %llu lost", (unsigned long long)r->tag);
        return;
    }
    n->r = *r;
    n->next = NULL;
    pthread_mutex_lock(&p->mu);
    *p->res_tail = n;
    p->res_tail = &n->next;
    pthread_mutex_unlock(&p->mu);
    uint64_t one = 1;
    if (write(p->efd, &one, sizeof one) != sizeof one) LOG_ERR("PRINT", "eventfd write failed");
}

static struct print_req *print_cups__pop(struct print_req **head, struct print_req ***tail)
{
    struct print_req *q = *head;
    if (q) {
        *head = q->next;
        if (!*head) *tail = head;
    }
    return q;
}

static void print_cups__query(struct print_cups *p, struct print_req *q)
{
    struct print_result r = {.kind = q->kind, .tag = q->tag};
    snprintf(r.queue, sizeof r.queue, "%s", q->queue);
    if (q->kind == PRINT_REQ_PRINTER) {
        r.err = print_cups__printer_status(q->queue, &r.printer);
        r.health = r.err ? PRINT_HEALTH_OFFLINE : print_printer_health(&r.printer);
        if (r.err) snprintf(r.detail, sizeof r.detail, "CUPS: %s", cupsLastErrorString());
    } else {
        r.err = print_link_query(q->queue, q->timeout_ms, &r.link);
        r.health = print_link_health(&r.link);
    }
    print_cups__post(p, &r);
}

struct print_active {
    struct print_req *req; /* NULL: a free slot */
    struct print_result res;
    int64_t deadline;
    int64_t next_poll_ms;
    int polls; /* how often the job was asked after: sets the next wait */
};

/* A queue whose job failed, and when: a job handed over for it before then is failed at
 * once (hallqd learns of the fault only from that result and sent it before it knew), so
 * a dead printer costs its tickets one timeout, not one each. */
struct print_failed {
    char queue[PRINT_QUEUE_MAX];
    int64_t at_ms;
};

struct print_worker {
    struct print_active act[PRINT_MAX_ACTIVE];
    struct print_failed failed[PRINT_MAX_ACTIVE];
    int n_failed;
};

static void print_cups__finish_job(struct print_cups *p, struct print_worker *w,
                                   struct print_active *a)
{
    if (a->res.err) {
        struct print_failed *f = NULL;
        for (int i = 0; i < w->n_failed && !f; i++)
            if (!strcmp(w->failed[i].queue, a->req->queue)) f = &w->failed[i];
        if (!f) f = &w->failed[w->n_failed < PRINT_MAX_ACTIVE ? w->n_failed++ : 0];
        snprintf(f->queue, sizeof f->queue, "%s", a->req->queue);
        f->at_ms = print_cups__now_ms();
    }
    print_cups__post(p, &a->res);
    free(a->req->data);
    free(a->req);
    a->req = NULL;
}

/* Poll the watched job once. */
static void print_cups__watch(struct print_cups *p, struct print_worker *w, struct print_active *a)
{
    char reasons[96] = "";
    int id = a->res.job_id, state = print_cups__job_state(id, reasons, sizeof reasons);
    if (state == IPP_JSTATE_COMPLETED) {
        a->res.err = HQ_OK;
        snprintf(a->res.detail, sizeof a->res.detail, "job %d completed", id);
        print_cups__finish_job(p, w, a);
    } else if (state == IPP_JSTATE_CANCELED || state == IPP_JSTATE_ABORTED) {
        a->res.err = HQ_ERR_PRINTER;
        snprintf(a->res.detail, sizeof a->res.detail, "job %d %s (%s)", id,
                 state == IPP_JSTATE_CANCELED ? "cancelled" : "aborted", reasons);
        print_cups__finish_job(p, w, a);
    } else if (print_cups__now_ms() >= a->deadline) {
        /* A queue to a dead printer keeps retrying: cancel, so the ticket is
         * known unprinted and the next one is not stuck behind it. */
        cupsCancelJob2(CUPS_HTTP_DEFAULT, a->req->queue, id, 0);
        a->res.err = HQ_ERR_PRINTER;
        snprintf(a->res.detail, sizeof a->res.detail,
                 "job %d not printed after %u ms (state %d, %s): cancelled", id, a->req->timeout_ms,
                 state, reasons[0] ? reasons : "-");
        print_cups__finish_job(p, w, a);
    } else {
        /* A local printer takes a ticket in tens of ms and the next job of its queue waits
         * for this one: ask soon at first (10, 20, 40, 80, 160 ms), then every PRINT_POLL_MS
         * (bench_print: 4.5 tickets/s with 250 ms only). */
        a->next_poll_ms = print_cups__now_ms() + (a->polls < 5 ? 10L << a->polls : PRINT_POLL_MS);
        a->polls++;
    }
}

static bool print_cups__busy(const struct print_worker *w, const char *queue)
{
    for (int i = 0; i < PRINT_MAX_ACTIVE; i++)
        if (w->act[i].req && !strcmp(w->act[i].req->queue, queue)) return true;
    return false;
}

/* Under p->mu: take the first job whose queue has none in hand, if a slot is free. Jobs of
 * one queue keep their order; other queues do not wait behind them. */
static struct print_req *print_cups__take_job(struct print_cups *p, struct print_worker *w,
                                              struct print_active **slot)
{
    *slot = NULL;
    for (int i = 0; i < PRINT_MAX_ACTIVE && !*slot; i++)
        if (!w->act[i].req) *slot = &w->act[i];
    if (!*slot) return NULL;
    for (struct print_req **pp = &p->jobs; *pp; pp = &(*pp)->next) {
        struct print_req *q = *pp;
        if (print_cups__busy(w, q->queue)) continue;
        *pp = q->next;
        if (p->jobs_tail == &q->next) p->jobs_tail = pp;
        q->next = NULL;
        return q;
    }
    return NULL;
}

static void print_cups__start_active(struct print_cups *p, struct print_worker *w,
                                     struct print_active *a, struct print_req *job)
{
    a->req = job;
    memset(&a->res, 0, sizeof a->res);
    a->res.kind = PRINT_REQ_JOB;
    a->res.tag = job->tag;
    snprintf(a->res.queue, sizeof a->res.queue, "%s", job->queue);
    a->deadline = print_cups__now_ms() + job->timeout_ms;
    a->polls = 0;
    a->next_poll_ms = 0;
    for (int i = 0; i < w->n_failed; i++)
        if (!strcmp(w->failed[i].queue, job->queue) && job->queued_ms <= w->failed[i].at_ms) {
            a->res.err = HQ_ERR_PRINTER;
            snprintf(a->res.detail, sizeof a->res.detail,
                     "not sent: the job before it on %s did not print", job->queue);
            print_cups__finish_job(p, w, a);
            return;
        }
    int rc = print_cups__start_job(job, &a->res);
    if (rc) {
        a->res.err = rc;
        print_cups__finish_job(p, w, a);
    }
}

static void *print_cups__worker(void *arg)
{
    struct print_cups *p = arg;
    if (p->server) cupsSetServer(p->server);
    struct print_worker w; /* about 16 KiB, on this thread's stack */
    memset(&w, 0, sizeof w);
    for (;;) {
        int64_t now = print_cups__now_ms(), next = -1;
        for (int i = 0; i < PRINT_MAX_ACTIVE; i++)
            if (w.act[i].req && (next < 0 || w.act[i].next_poll_ms < next))
                next = w.act[i].next_poll_ms;
        pthread_mutex_lock(&p->mu);
        struct print_active *slot = NULL;
        struct print_req *q = NULL, *job = NULL;
        while (!p->stop && !(q = print_cups__pop(&p->queries, &p->queries_tail)) &&
               !(job = print_cups__take_job(p, &w, &slot)) && !(next >= 0 && next <= now)) {
            if (next < 0) {
                pthread_cond_wait(&p->cv, &p->mu);
            } else {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                long wait_ms = (long)(next - now);
                ts.tv_sec += wait_ms / 1000;
                ts.tv_nsec += (wait_ms % 1000) * 1000000L;
                if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
                pthread_cond_timedwait(&p->cv, &p->mu, &ts);
            }
            now = print_cups__now_ms();
        }
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop) {
            /* what was taken goes back to nobody: free it */
            if (q) free(q);
            if (job) {
                free(job->data);
                free(job);
            }
            break;
        }
        if (q) {
            print_cups__query(p, q);
            free(q);
            continue;
        }
        if (job) {
            print_cups__start_active(p, &w, slot, job);
            continue;
        }
        for (int i = 0; i < PRINT_MAX_ACTIVE; i++)
            if (w.act[i].req && w.act[i].next_poll_ms <= now) print_cups__watch(p, &w, &w.act[i]);
    }
    for (int i = 0; i < PRINT_MAX_ACTIVE; i++)
        if (w.act[i].req) {
            LOG_NOTICE("PRINT", "stopping while job %d is unfinished; CUPS keeps it",
                       w.act[i].res.job_id);
            free(w.act[i].req->data);
            free(w.act[i].req);
        }
    return NULL;
}

struct print_cups *print_cups_new(const char *server)
{
    struct print_cups *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->jobs_tail = &p->jobs;
    p->queries_tail = &p->queries;
    p->res_tail = &p->res;
    p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (server && !(p->server = strdup(server))) goto fail;
    if (p->efd < 0) goto fail;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, print_cups__worker, p)) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        goto fail;
    }
    return p;
fail:
    if (p->efd >= 0) close(p->efd);
    free(p->server);
    free(p);
    return NULL;
}

static void print_cups__free_reqs(struct print_req *q)
{
    while (q) {
        struct print_req *n = q->next;
        free(q->data);
        free(q);
        q = n;
    }
}

void print_cups_free(struct print_cups *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    print_cups__free_reqs(p->jobs);
    print_cups__free_reqs(p->queries);
    while (p->res) {
        struct print_res_node *n = p->res->next;
        free(p->res);
        p->res = n;
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    close(p->efd);
    free(p->server);
    free(p);
}

int print_cups_fd(const struct print_cups *p)
{
    return p->efd;
}

int print_cups_result(struct print_cups *p, struct print_result *out)
{
    uint64_t v;
    pthread_mutex_lock(&p->mu);
    struct print_res_node *n = p->res;
    if (n) {
        p->res = n->next;
        if (!p->res) p->res_tail = &p->res;
    } else {
        /* drained: clear the eventfd so the loop stops waking */
        if (read(p->efd, &v, sizeof v) < 0 && errno != EAGAIN)
            LOG_WARN("PRINT", "eventfd read failed: %s", strerror(errno));
    }
    pthread_mutex_unlock(&p->mu);
    if (!n) return HQ_ERR_EMPTY;
    *out = n->r;
    free(n);
    return HQ_OK;
}

static int print_cups__enqueue(struct print_cups *p, uint8_t kind, uint64_t tag, const char *queue,
                               const void *data, size_t len, uint32_t timeout_ms)
{
    if (!queue || !*queue || strlen(queue) >= PRINT_QUEUE_MAX) return HQ_ERR_INVALID;
    struct print_req *q = calloc(1, sizeof *q);
    if (!q) return HQ_ERR_NOMEM;
    q->kind = kind;
    q->tag = tag;
    q->timeout_ms = timeout_ms;
    q->queued_ms = print_cups__now_ms();
    strcpy(q->queue, queue);
    if (len) {
        if (!(q->data = malloc(len))) {
            free(q);
            return HQ_ERR_NOMEM;
        }
        memcpy(q->data, data, len);
        q->len = len;
    }
    pthread_mutex_lock(&p->mu);
    if (kind == PRINT_REQ_JOB) {
        *p->jobs_tail = q;
        p->jobs_tail = &q->next;
    } else {
        *p->queries_tail = q;
        p->queries_tail = &q->next;
    }
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return HQ_OK;
}

int print_cups_submit(struct print_cups *p, uint64_t tag, const char *queue, const void *data,
                      size_t len, uint32_t timeout_ms)
{
    if (!len) return HQ_ERR_INVALID;
    return print_cups__enqueue(p, PRINT_REQ_JOB, tag, queue, data, len, timeout_ms);
}

int print_cups_query_printer(struct print_cups *p, uint64_t tag, const char *queue)
{
    return print_cups__enqueue(p, PRINT_REQ_PRINTER, tag, queue, NULL, 0, 0);
}

int print_cups_query_link(struct print_cups *p, uint64_t tag, const char *link, uint32_t timeout_ms)
{
    char spec[PRINT_QUEUE_MAX];
    int baud;
    if (strncmp(link, "tcp://", 6) != 0 && print_link_serial_spec(link, spec, sizeof spec, &baud))
        return HQ_ERR_INVALID;
    return print_cups__enqueue(p, PRINT_REQ_LINK, tag, link, NULL, 0, timeout_ms);
}
