/*
 * loop.c — epoll event loop with one-shot timers (a binary min-heap on the
 * monotonic clock). Small on purpose, in the manner of redis' ae: the daemon
 * has a few dozen fds and timers, never thousands.
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hq.h"

struct hq_loop__fd {
    int fd;
    hq_fd_cb cb;
    void *arg;
    int live;
};

struct hq_loop__timer {
    uint64_t when, id;
    hq_timer_cb cb;
    void *arg;
};

struct hq_loop {
    int epfd;
    int stop;
    uint64_t now_ms;
    struct hq_loop__fd **fds; /* indexed by fd number */
    size_t n_fds;
    struct hq_loop__timer *heap;
    size_t n_heap, cap_heap;
    uint64_t next_id;
    void (*turn_fn)(void *arg);
    void *turn_arg;
};

static uint64_t hq_loop__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct hq_loop *hq_loop_new(void)
{
    struct hq_loop *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return NULL;
    }
    l->now_ms = hq_loop__mono_ms();
    return l;
}

void hq_loop_free(struct hq_loop *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n_fds; i++)
        free(l->fds[i]);
    free(l->fds);
    free(l->heap);
    close(l->epfd);
    free(l);
}

int hq_loop_add_fd(struct hq_loop *l, int fd, uint32_t events, hq_fd_cb cb, void *arg)
{
    if (fd < 0) return HQ_ERR_INVALID;
    if ((size_t)fd >= l->n_fds) {
        size_t n = (size_t)fd + 16;
        struct hq_loop__fd **p = realloc(l->fds, n * sizeof *p);
        if (!p) return HQ_ERR_NOMEM;
        memset(p + l->n_fds, 0, (n - l->n_fds) * sizeof *p);
        l->fds = p;
        l->n_fds = n;
    }
    if (!l->fds[fd]) {
        l->fds[fd] = calloc(1, sizeof **l->fds);
        if (!l->fds[fd]) return HQ_ERR_NOMEM;
    }
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        LOG_ERR("LOOP", "epoll add fd %d: %s", fd, strerror(errno));
        return HQ_ERR_IO;
    }
    *l->fds[fd] = (struct hq_loop__fd){.fd = fd, .cb = cb, .arg = arg, .live = 1};
    return HQ_OK;
}

int hq_loop_mod_fd(struct hq_loop *l, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? HQ_ERR_IO : HQ_OK;
}

void hq_loop_del_fd(struct hq_loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->n_fds || !l->fds[fd] || !l->fds[fd]->live) return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    l->fds[fd]->live = 0;
}

/* ---- timers: min-heap by (when, id) */

static int hq_loop__less(const struct hq_loop__timer *a, const struct hq_loop__timer *b)
{
    return a->when < b->when || (a->when == b->when && a->id < b->id);
}

static void hq_loop__swap(struct hq_loop__timer *a, struct hq_loop__timer *b)
{
    struct hq_loop__timer t = *a;
    *a = *b;
    *b = t;
}

static void hq_loop__up(struct hq_loop *l, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hq_loop__less(&l->heap[i], &l->heap[p])) break;
        hq_loop__swap(&l->heap[i], &l->heap[p]);
        i = p;
    }
}

static void hq_loop__down(struct hq_loop *l, size_t i)
{
    for (;;) {
        size_t a = 2 * i + 1, b = a + 1, m = i;
        if (a < l->n_heap && hq_loop__less(&l->heap[a], &l->heap[m])) m = a;
        if (b < l->n_heap && hq_loop__less(&l->heap[b], &l->heap[m])) m = b;
        if (m == i) break;
        hq_loop__swap(&l->heap[i], &l->heap[m]);
        i = m;
    }
}

static void hq_loop__remove_at(struct hq_loop *l, size_t i)
{
    l->n_heap--;
    if (i == l->n_heap) return;
    l->heap[i] = l->heap[l->n_heap];
    hq_loop__down(l, i);
    hq_loop__up(l, i);
}

uint64_t hq_loop_timer(struct hq_loop *l, uint64_t delay_ms, hq_timer_cb cb, void *arg)
{
    if (l->n_heap == l->cap_heap) {
        size_t n = l->cap_heap ? l->cap_heap * 2 : 32;
        struct hq_loop__timer *p = realloc(l->heap, n * sizeof *p);
        if (!p) return 0;
        l->heap = p;
        l->cap_heap = n;
    }
    uint64_t id = ++l->next_id;
    l->heap[l->n_heap] = (struct hq_loop__timer){
        .when = hq_loop__mono_ms() + delay_ms, .id = id, .cb = cb, .arg = arg};
    hq_loop__up(l, l->n_heap++);
    return id;
}

void hq_loop_timer_cancel(struct hq_loop *l, uint64_t id)
{
    if (!id) return;
    for (size_t i = 0; i < l->n_heap; i++)
        if (l->heap[i].id == id) {
            hq_loop__remove_at(l, i);
            return;
        }
}

uint64_t hq_loop_now_ms(struct hq_loop *l)
{
    return l->now_ms;
}

int64_t hq_loop_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

void hq_loop_stop(struct hq_loop *l)
{
    l->stop = 1;
}

static void hq_loop__run_timers(struct hq_loop *l)
{
    l->now_ms = hq_loop__mono_ms();
    /* Timers added by a callback for "now" run on the next turn, not in this
     * one, so a zero-delay re-arm can never starve the fds. */
    uint64_t limit = l->next_id;
    while (l->n_heap && l->heap[0].when <= l->now_ms && l->heap[0].id <= limit) {
        struct hq_loop__timer t = l->heap[0];
        hq_loop__remove_at(l, 0);
        t.cb(l, t.arg);
        if (l->turn_fn) l->turn_fn(l->turn_arg);
    }
}

void hq_loop_on_turn(struct hq_loop *l, void (*fn)(void *arg), void *arg)
{
    l->turn_fn = fn;
    l->turn_arg = arg;
}

int hq_loop_run(struct hq_loop *l)
{
    struct epoll_event evs[64];
    while (!l->stop) {
        int timeout = -1;
        l->now_ms = hq_loop__mono_ms();
        if (l->n_heap) {
            uint64_t w = l->heap[0].when;
            timeout = w <= l->now_ms ? 0 : (int)(w - l->now_ms > 60000 ? 60000 : w - l->now_ms);
        }
        int n = epoll_wait(l->epfd, evs, HQ_ARRAY_LEN(evs), timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            LOG_ERR("LOOP", "epoll_wait: %s", strerror(errno));
            return HQ_ERR_IO;
        }
        l->now_ms = hq_loop__mono_ms();
        for (int i = 0; i < n && !l->stop; i++) {
            int fd = evs[i].data.fd;
            if ((size_t)fd >= l->n_fds || !l->fds[fd] || !l->fds[fd]->live) continue;
            struct hq_loop__fd *f = l->fds[fd];
            f->cb(l, fd, evs[i].events, f->arg);
            if (l->turn_fn) l->turn_fn(l->turn_arg);
        }
        hq_loop__run_timers(l);
    }
    return HQ_OK;
}
