/*
 * gpiod_fake.c — the scripted GPIO chip of gpiod_fake.h: libgpiod v1's functions as hal/gpio.c
 * uses them, over a chip that exists only in this process.
 *
 * An input requested for events gets a pipe: the read end is its event fd, and a queued edge
 * is one record written to it (atomic, so reads always see whole records), which is exactly
 * what the daemon's epoll loop needs to see. Everything is under one mutex: the FIFO thread
 * applies commands while the daemon's loop calls into the library.
 */
#include "gpiod_fake.h"

#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fake_rec {
    uint64_t ts_ns;
    int32_t type; /* GPIOD_LINE_EVENT_*; 0 = a wake-up written by fail-read */
    int32_t pad;
};

struct gpiod_line {
    struct gpiod_chip *chip;
    unsigned offset;
};

struct gpiod_chip {
    struct gpiod_line lines[GPIOD_FAKE_LINES];
};

struct fake_line {
    int value;
    bool busy;                /* held by "another program" */
    struct gpiod_line *owner; /* our request, NULL if free */
    bool out, events;
    int rd, wr; /* event pipe of an input requested for events */
    int fail_read, fail_set;
};

static struct {
    char name[64];
    unsigned nlines;
    bool present;
    struct fake_line l[GPIOD_FAKE_LINES];
} fake;

static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fake_once = PTHREAD_ONCE_INIT;
static char fake_state_path[512];

/* --------------------------------------------------------------- state */

static void fake__close_pipe(struct fake_line *l)
{
    if (l->rd >= 0) close(l->rd);
    if (l->wr >= 0) close(l->wr);
    l->rd = l->wr = -1;
}

static void fake__write_state(void)
{
    if (!fake_state_path[0]) return;
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", fake_state_path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "{\"chip\": \"%s\", \"present\": %s, \"lines\": {", fake.name,
            fake.present ? "true" : "false");
    bool first = true;
    for (unsigned i = 0; i < GPIOD_FAKE_LINES; i++) {
        const struct fake_line *l = &fake.l[i];
        if (!l->owner && !l->value) continue;
        fprintf(f, "%s\"%u\": {\"out\": %s, \"value\": %d, \"requested\": %s}", first ? "" : ", ",
                i, l->out ? "true" : "false", l->value, l->owner ? "true" : "false");
        first = false;
    }
    fprintf(f, "}}\n");
    fclose(f);
    rename(tmp, fake_state_path);
}

static void fake__reset_locked(void)
{
    for (unsigned i = 0; i < GPIOD_FAKE_LINES; i++)
        if (fake.l[i].rd >= 0 || fake.l[i].wr >= 0) fake__close_pipe(&fake.l[i]);
    memset(&fake, 0, sizeof fake);
    for (unsigned i = 0; i < GPIOD_FAKE_LINES; i++)
        fake.l[i].rd = fake.l[i].wr = -1;
}

static uint64_t fake__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fake__command_locked(const char *cmd)
{
    char verb[32] = "", arg[64] = "";
    unsigned off = 0;
    long long ts = -1;
    int n = sscanf(cmd, "%31s", verb);
    if (n != 1 || verb[0] == '#') return 0; /* blank line or comment */
    if (!strcmp(verb, "chip")) {
        unsigned nl = GPIOD_FAKE_LINES;
        if (sscanf(cmd, "%*s %63s %u", fake.name, &nl) < 1) return -1;
        fake.nlines = nl > GPIOD_FAKE_LINES ? GPIOD_FAKE_LINES : nl;
        fake.present = true;
        return 0;
    }
    if (!strcmp(verb, "unplug")) {
        fake.present = false;
        for (unsigned i = 0; i < GPIOD_FAKE_LINES; i++)
            if (fake.l[i].wr >= 0) {
                close(fake.l[i].wr);
                fake.l[i].wr = -1;
            }
        return 0;
    }
    if (!strcmp(verb, "level") || !strcmp(verb, "edge")) {
        if (sscanf(cmd, "%*s %u %63s %lld", &off, arg, &ts) < 2 || off >= GPIOD_FAKE_LINES)
            return -1;
    } else if (sscanf(cmd, "%*s %u", &off) != 1 || off >= GPIOD_FAKE_LINES) {
        return -1;
    }
    struct fake_line *l = &fake.l[off];
    if (!strcmp(verb, "level")) {
        l->value = atoi(arg) ? 1 : 0;
    } else if (!strcmp(verb, "edge")) {
        bool rising = !strcmp(arg, "rising");
        if (!rising && strcmp(arg, "falling")) return -1;
        l->value = rising;
        if (l->owner && l->events && l->wr >= 0) {
            struct fake_rec r = {.ts_ns = ts >= 0 ? (uint64_t)ts * 1000000u : fake__now_ns(),
                                 .type = rising ? GPIOD_LINE_EVENT_RISING_EDGE
                                                : GPIOD_LINE_EVENT_FALLING_EDGE};
            if (write(l->wr, &r, sizeof r) != (ssize_t)sizeof r) return -1;
        }
    } else if (!strcmp(verb, "busy")) {
        l->busy = true;
    } else if (!strcmp(verb, "free")) {
        l->busy = false;
    } else if (!strcmp(verb, "fail-read")) {
        l->fail_read++;
        struct fake_rec r = {0};
        if (l->wr >= 0 && write(l->wr, &r, sizeof r) != (ssize_t)sizeof r) return -1;
    } else if (!strcmp(verb, "hangup")) {
        if (l->wr >= 0) close(l->wr);
        l->wr = -1;
    } else if (!strcmp(verb, "fail-set")) {
        l->fail_set = 1;
    } else if (!strcmp(verb, "ok-set")) {
        l->fail_set = 0;
    } else {
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------- the control FIFO */

static int fake_ctl_fd = -1;

/* Apply every whole line in buf[0..*len), keep the rest. */
static void fake__apply_lines(char *buf, size_t *len)
{
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', (size_t)(buf + *len - start)))) {
        *nl = '\0';
        if (fake__command_locked(start)) fprintf(stderr, "gpiod_fake: bad command: %s\n", start);
        start = nl + 1;
    }
    *len = (size_t)(buf + *len - start);
    memmove(buf, start, *len);
}

static void *fake__thread(void *arg)
{
    (void)arg;
    static char buf[4096];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fake_ctl_fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return NULL; /* a plain file ended, or the FIFO is gone */
        }
        len += (size_t)n;
        pthread_mutex_lock(&fake_mu);
        fake__apply_lines(buf, &len);
        fake__write_state();
        pthread_mutex_unlock(&fake_mu);
        if (len == sizeof buf - 1) len = 0; /* a line longer than the buffer: drop it */
    }
}

/* First call: the commands already waiting in $HQ_GPIO_FAKE are applied now, the rest by a
 * thread as they come. */
static void fake__init(void)
{
    pthread_mutex_lock(&fake_mu);
    /* first use: no pipes are open yet, so nothing to close (fd 0 is not ours) */
    for (unsigned i = 0; i < GPIOD_FAKE_LINES; i++)
        fake.l[i].rd = fake.l[i].wr = -1;
    const char *path = getenv("HQ_GPIO_FAKE");
    if (!path || !*path) goto out;
    snprintf(fake_state_path, sizeof fake_state_path, "%s.state", path);
    fake_ctl_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fake_ctl_fd < 0) {
        fprintf(stderr, "gpiod_fake: cannot open %s: %s\n", path, strerror(errno));
        goto out;
    }
    static char buf[65536];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fake_ctl_fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len++] = '\n'; /* a plain file's last line may lack one */
    fake__apply_lines(buf, &len);
    fake__write_state();
    struct stat st;
    if (fstat(fake_ctl_fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
        fcntl(fake_ctl_fd, F_SETFL, fcntl(fake_ctl_fd, F_GETFL) & ~O_NONBLOCK);
        pthread_t t;
        if (pthread_create(&t, NULL, fake__thread, NULL) == 0) pthread_detach(t);
    }
out:
    pthread_mutex_unlock(&fake_mu);
}

static void fake__ensure(void)
{
    pthread_once(&fake_once, fake__init);
}

/* ------------------------------------------------------------ test API */

void gpiod_fake_reset(void)
{
    fake__ensure();
    pthread_mutex_lock(&fake_mu);
    fake__reset_locked();
    pthread_mutex_unlock(&fake_mu);
}

int gpiod_fake_command(const char *cmd)
{
    fake__ensure();
    pthread_mutex_lock(&fake_mu);
    int rc = fake__command_locked(cmd);
    fake__write_state();
    pthread_mutex_unlock(&fake_mu);
    return rc;
}

int gpiod_fake_value(unsigned offset)
{
    fake__ensure();
    if (offset >= GPIOD_FAKE_LINES) return -1;
    pthread_mutex_lock(&fake_mu);
    int v = fake.l[offset].value;
    pthread_mutex_unlock(&fake_mu);
    return v;
}

bool gpiod_fake_requested(unsigned offset)
{
    fake__ensure();
    if (offset >= GPIOD_FAKE_LINES) return false;
    pthread_mutex_lock(&fake_mu);
    bool r = fake.l[offset].owner != NULL;
    pthread_mutex_unlock(&fake_mu);
    return r;
}

bool gpiod_fake_is_output(unsigned offset)
{
    fake__ensure();
    if (offset >= GPIOD_FAKE_LINES) return false;
    pthread_mutex_lock(&fake_mu);
    bool r = fake.l[offset].owner && fake.l[offset].out;
    pthread_mutex_unlock(&fake_mu);
    return r;
}

/* -------------------------------------------------- libgpiod v1 symbols */

static bool fake__chip_matches(const char *descr)
{
    char buf[96];
    if (!strcmp(descr, fake.name)) return true;
    snprintf(buf, sizeof buf, "/dev/%s", fake.name);
    if (!strcmp(descr, buf)) return true;
    snprintf(buf, sizeof buf, "fake-%s", fake.name);
    if (!strcmp(descr, buf)) return true;
    /* a number N means gpiochipN */
    snprintf(buf, sizeof buf, "gpiochip%s", descr);
    return descr[0] >= '0' && descr[0] <= '9' && !strcmp(buf, fake.name);
}

struct gpiod_chip *gpiod_chip_open_lookup(const char *descr)
{
    fake__ensure();
    pthread_mutex_lock(&fake_mu);
    struct gpiod_chip *c = NULL;
    if (!descr || !fake.present || !fake__chip_matches(descr)) {
        errno = ENOENT;
        goto out;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        errno = ENOMEM;
        goto out;
    }
    for (unsigned i = 0; i < GPIOD_FAKE_LINES; i++)
        c->lines[i] = (struct gpiod_line){.chip = c, .offset = i};
out:
    pthread_mutex_unlock(&fake_mu);
    return c;
}

static void fake__release_locked(struct gpiod_line *line)
{
    struct fake_line *l = &fake.l[line->offset];
    if (l->owner != line) return;
    l->owner = NULL;
    l->out = l->events = false;
    fake__close_pipe(l);
}

void gpiod_chip_close(struct gpiod_chip *chip)
{
    if (!chip) return;
    pthread_mutex_lock(&fake_mu);
    for (unsigned i = 0; i < GPIOD_FAKE_LINES; i++)
        fake__release_locked(&chip->lines[i]);
    fake__write_state();
    pthread_mutex_unlock(&fake_mu);
    free(chip);
}

struct gpiod_line *gpiod_chip_get_line(struct gpiod_chip *chip, unsigned int offset)
{
    pthread_mutex_lock(&fake_mu);
    bool ok = chip && offset < fake.nlines;
    pthread_mutex_unlock(&fake_mu);
    if (!ok) {
        errno = EINVAL;
        return NULL;
    }
    return &chip->lines[offset];
}

static int fake__request(struct gpiod_line *line, bool out, int value)
{
    pthread_mutex_lock(&fake_mu);
    struct fake_line *l = &fake.l[line->offset];
    int rc = -1;
    if (!fake.present) {
        errno = ENODEV;
        goto out;
    }
    if (l->busy || (l->owner && l->owner != line)) {
        errno = EBUSY;
        goto out;
    }
    if (l->owner) {
        errno = EPERM; /* requested twice through the same handle */
        goto out;
    }
    if (!out) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) goto out;
        l->rd = p[0];
        l->wr = p[1];
        l->events = true;
    } else {
        l->value = value ? 1 : 0;
    }
    l->owner = line;
    l->out = out;
    l->fail_read = 0;
    rc = 0;
    fake__write_state();
out:
    pthread_mutex_unlock(&fake_mu);
    return rc;
}

int gpiod_line_request_both_edges_events(struct gpiod_line *line, const char *consumer)
{
    (void)consumer;
    return fake__request(line, false, 0);
}

int gpiod_line_request_output(struct gpiod_line *line, const char *consumer, int default_val)
{
    (void)consumer;
    return fake__request(line, true, default_val);
}

void gpiod_line_release(struct gpiod_line *line)
{
    pthread_mutex_lock(&fake_mu);
    fake__release_locked(line);
    fake__write_state();
    pthread_mutex_unlock(&fake_mu);
}

int gpiod_line_event_get_fd(struct gpiod_line *line)
{
    pthread_mutex_lock(&fake_mu);
    struct fake_line *l = &fake.l[line->offset];
    int fd = l->owner == line && l->events ? l->rd : -1;
    pthread_mutex_unlock(&fake_mu);
    if (fd < 0) errno = EPERM;
    return fd;
}

int gpiod_line_event_read_multiple(struct gpiod_line *line, struct gpiod_line_event *events,
                                   unsigned int num_events)
{
    struct fake_rec r[16];
    pthread_mutex_lock(&fake_mu);
    struct fake_line *l = &fake.l[line->offset];
    int fd = l->owner == line && l->events ? l->rd : -1;
    bool fail = l->fail_read > 0;
    if (fail) l->fail_read--;
    pthread_mutex_unlock(&fake_mu);
    if (fd < 0) {
        errno = EPERM;
        return -1;
    }
    if (num_events > 16) num_events = 16;
    ssize_t rd = read(fd, r, num_events * sizeof r[0]);
    if (rd < 0) return -1;
    if (fail || (size_t)rd < sizeof r[0]) {
        errno = EIO; /* libgpiod says EIO for a short read (and the end of the fd) too */
        return -1;
    }
    int n = 0;
    for (size_t i = 0; i < (size_t)rd / sizeof r[0]; i++) {
        if (!r[i].type) continue; /* a wake-up of fail-read */
        events[n].ts.tv_sec = (time_t)(r[i].ts_ns / 1000000000u);
        events[n].ts.tv_nsec = (long)(r[i].ts_ns % 1000000000u);
        events[n].event_type = r[i].type;
        n++;
    }
    if (!n) {
        errno = EAGAIN;
        return -1;
    }
    return n;
}

int gpiod_line_get_value(struct gpiod_line *line)
{
    pthread_mutex_lock(&fake_mu);
    struct fake_line *l = &fake.l[line->offset];
    int v = l->owner == line ? l->value : -1;
    pthread_mutex_unlock(&fake_mu);
    if (v < 0) errno = EPERM;
    return v;
}

int gpiod_line_set_value(struct gpiod_line *line, int value)
{
    pthread_mutex_lock(&fake_mu);
    struct fake_line *l = &fake.l[line->offset];
    int rc = 0;
    if (l->owner != line || !l->out) {
        errno = EPERM;
        rc = -1;
    } else if (l->fail_set) {
        errno = EIO;
        rc = -1;
    } else {
        l->value = value ? 1 : 0;
        fake__write_state();
    }
    pthread_mutex_unlock(&fake_mu);
    return rc;
}
