/*
 * live.c — live views across receivers: every stored batch is announced,
 * and each manager's page (an SSE stream, /v1/manager/events) hears of the
 * halls it may see. On PostgreSQL the announcement is a NOTIFY in the
 * batch's own transaction (pg.c), so every receiver's LISTEN hears every
 * batch whichever receiver stored it, and only once it is committed; on
 * SQLite (one process) the store announces it here directly.
 */
#include "central.h"

#include "hq.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HQ_HAVE_PG
#include <libpq-fe.h>
#endif

#define CENTRAL_LIVE_RING 256

struct central_live {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t seq; /* events so far; event i is ring[i % RING] */
    char ring[CENTRAL_LIVE_RING][65];
    bool stop;
    pthread_t listener;
    bool has_listener;
    char *conninfo;
};

static struct central_live central__live = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
};

void central_live_announce(const char *hall)
{
    struct central_live *l = &central__live;
    pthread_mutex_lock(&l->mu);
    snprintf(l->ring[l->seq % CENTRAL_LIVE_RING], 65, "%s", hall);
    l->seq++;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

uint64_t central_live_now(void)
{
    pthread_mutex_lock(&central__live.mu);
    uint64_t s = central__live.seq;
    pthread_mutex_unlock(&central__live.mu);
    return s;
}

int central_live_wait(uint64_t *from, char hall[65], int timeout_ms)
{
    struct central_live *l = &central__live;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc = HQ_ERR_TIMEOUT;
    pthread_mutex_lock(&l->mu);
    while (!l->stop && l->seq == *from)
        if (pthread_cond_timedwait(&l->cv, &l->mu, &until)) break;
    if (l->stop) {
        rc = HQ_ERR_STATE;
    } else if (l->seq != *from) {
        if (l->seq - *from > CENTRAL_LIVE_RING) *from = l->seq - CENTRAL_LIVE_RING; /* too slow */
        snprintf(hall, 65, "%s", l->ring[*from % CENTRAL_LIVE_RING]);
        (*from)++;
        rc = HQ_OK;
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

#ifdef HQ_HAVE_PG
/* One connection that LISTENs, made again a second later when it breaks
 * (PostgreSQL restarted). A batch committed while it was away is not
 * announced: the page also refreshes on its own every 30 s. */
static void *central__listener(void *arg)
{
    struct central_live *l = arg;
    while (!__atomic_load_n(&l->stop, __ATOMIC_RELAXED)) {
        PGconn *c = PQconnectdb(l->conninfo);
        PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, "LISTEN hallq_records") : NULL;
        bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        while (ok && !__atomic_load_n(&l->stop, __ATOMIC_RELAXED)) {
            struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
            if (poll(&p, 1, 500) < 0) continue;
            if (!PQconsumeInput(c)) break;
            PGnotify *n;
            while ((n = PQnotifies(c))) {
                central_live_announce(n->extra);
                PQfreemem(n);
            }
        }
        PQfinish(c);
        for (int i = 0; i < 10 && !__atomic_load_n(&l->stop, __ATOMIC_RELAXED); i++)
            usleep(100000);
    }
    return NULL;
}
#endif

int central_live_start(const char *pg_conninfo)
{
#ifdef HQ_HAVE_PG
    struct central_live *l = &central__live;
    if (!pg_conninfo) return HQ_OK;
    l->conninfo = strdup(pg_conninfo);
    if (!l->conninfo) return HQ_ERR_NOMEM;
    if (pthread_create(&l->listener, NULL, central__listener, l)) return HQ_ERR_NOMEM;
    l->has_listener = true;
#else
    (void)pg_conninfo;
#endif
    return HQ_OK;
}

void central_live_stop(void)
{
    struct central_live *l = &central__live;
    pthread_mutex_lock(&l->mu);
    __atomic_store_n(&l->stop, true, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    if (l->has_listener) pthread_join(l->listener, NULL);
    l->has_listener = false;
    free(l->conninfo);
    l->conninfo = NULL;
}
