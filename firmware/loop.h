/*
 * loop.h — the daemon's one event loop (epoll): file descriptors, one-shot
 * timers on the monotonic clock, and signal flags. One thread owns it and all
 * state; workers talk back to it through an fd (an eventfd or a pipe) only.
 */
#ifndef HQ_LOOP_H
#define HQ_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct hq_loop;

typedef void (*hq_fd_cb)(struct hq_loop *loop, int fd, uint32_t events, void *arg);
typedef void (*hq_timer_cb)(struct hq_loop *loop, void *arg);

/* Create / destroy. */
struct hq_loop *hq_loop_new(void);
void hq_loop_free(struct hq_loop *loop);

/* Watch fd for EPOLLIN/EPOLLOUT/...; cb runs on the loop thread. One
 * registration per fd. Returns HQ_OK or HQ_ERR_IO. */
int hq_loop_add_fd(struct hq_loop *loop, int fd, uint32_t events, hq_fd_cb cb, void *arg);
int hq_loop_mod_fd(struct hq_loop *loop, int fd, uint32_t events);
void hq_loop_del_fd(struct hq_loop *loop, int fd);

/* One-shot timer after delay_ms; returns an id > 0 (0 on failure). A timer
 * may be cancelled from any callback, its own included. */
uint64_t hq_loop_timer(struct hq_loop *loop, uint64_t delay_ms, hq_timer_cb cb, void *arg);
void hq_loop_timer_cancel(struct hq_loop *loop, uint64_t id);

/* Monotonic milliseconds (cached per loop iteration) and wall-clock seconds. */
uint64_t hq_loop_now_ms(struct hq_loop *loop);
int64_t hq_loop_wall_s(void);

/* Run until hq_loop_stop(); returns HQ_OK. */
int hq_loop_run(struct hq_loop *loop);
/* Called after every fd callback and every timer: the daemon commits the
 * commands that callback ran as one group (hqd_flush). */
void hq_loop_on_turn(struct hq_loop *loop, void (*fn)(void *arg), void *arg);
void hq_loop_stop(struct hq_loop *loop);

#endif
