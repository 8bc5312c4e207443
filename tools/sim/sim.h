/*
 * sim.h — what the hall device simulators of hallq-sim share: the device link (a pty with a
 * symlink to its slave, or a TCP listener), control lines from stdin, a FIFO or a script, the
 * record of what the host sent (stdout, and --log FILE), and the fault modes every device can be
 * put in (`fault MODE`: its answers go through sim_reply). Each device (sim_<device>.c) only
 * speaks its protocol, through the same lexers hallqd uses.
 */
#ifndef HQ_SIM_H
#define HQ_SIM_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The device entry points, one per line of main.c's table. */
int sim_idcard_main(int argc, char **argv);
int sim_bus_main(int argc, char **argv);
int sim_led_main(int argc, char **argv);
int sim_onbon_main(int argc, char **argv);
int sim_printer_main(int argc, char **argv);

struct sim;

/* `fault MODE`: how a device misbehaves, the same words for every device. */
enum sim_fault {
    SIM_FAULT_NONE = 0,
    SIM_FAULT_GARBAGE,  /* the device's garbage bytes before each answer */
    SIM_FAULT_BADSUM,   /* each answer's checksum byte inverted */
    SIM_FAULT_TRUNCATE, /* each answer cut short (the device says how short) */
    SIM_FAULT_SILENCE,  /* no answers, though the device still hears the host */
    SIM_FAULT_OFF       /* the link gone (sim_link_off) until another mode is set */
};
#define SIM_FAULT_USAGE "          fault garbage|badsum|truncate|silence|off|none\n"

struct sim_device {
    const char *name;
    /* Bytes the host sent. */
    void (*on_bytes)(struct sim *s, const uint8_t *b, size_t n);
    /* A control line split into words; return 0 if handled, -1 if unknown, -2 if malformed. */
    int (*on_command)(struct sim *s, int argc, char **argv);
    /* Every loop turn (at least every 20 ms), with monotonic milliseconds. */
    void (*on_tick)(struct sim *s, uint64_t now_ms);
    /* The fault mode changed (s->fault): drop half-heard frames. Optional. */
    void (*on_fault)(struct sim *s);
    /* What SIM_FAULT_GARBAGE puts before an answer: line noise that may look like the start of
     * a frame, but never a whole one. */
    const uint8_t *garbage;
    size_t n_garbage;
};

struct sim {
    const struct sim_device *dev;
    void *priv;
    /* link */
    const char *pty_link;
    int tcp_port;
    int master_fd, slave_fd, listen_fd, conn_fd;
    bool link_off;
    /* control */
    const char *control_path, *script_path, *log_path;
    int ctl_fd;
    bool stdin_open;
    char in_buf[4096], ctl_buf[4096];
    size_t in_len, ctl_len;
    char **script;
    size_t n_script, script_pos;
    uint64_t script_wait_ms;
    FILE *log;
    bool quit;
    int fault; /* enum sim_fault */
};

/* Long options every device takes; their codes are >= SIM_OPT_BASE. */
enum {
    SIM_OPT_BASE = 1000,
    SIM_OPT_PTY,
    SIM_OPT_TCP,
    SIM_OPT_CONTROL,
    SIM_OPT_SCRIPT,
    SIM_OPT_LOG
};
#define SIM_COMMON_OPTIONS                                                                         \
    {"pty", required_argument, 0, SIM_OPT_PTY}, {"tcp", required_argument, 0, SIM_OPT_TCP},        \
        {"control", required_argument, 0, SIM_OPT_CONTROL},                                        \
        {"script", required_argument, 0, SIM_OPT_SCRIPT},                                          \
    {                                                                                              \
        "log", required_argument, 0, SIM_OPT_LOG                                                   \
    }
#define SIM_COMMON_USAGE                                                                           \
    "  --pty LINK       create a pseudo-terminal and a symlink LINK to its slave\n"                \
    "  --tcp PORT       listen on TCP PORT instead (like an Ethernet serial server)\n"             \
    "  --control FIFO   read commands from FIFO too (created if missing)\n"                        \
    "  --script FILE    run the commands of FILE first ('sleep MS' waits)\n"                       \
    "  --log FILE       write every record to FILE as well as stdout\n"

void sim_init(struct sim *s, const struct sim_device *dev, void *priv);
/* Handle a common option; returns 1 if it was one, -1 if its argument is bad. */
int sim_common_option(struct sim *s, int opt, const char *arg);
/* Open the link, control and log; run until quit or a signal; clean up. Returns the exit code. */
int sim_run(struct sim *s);

/* One record line (stdout and the log). */
void sim_record(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Send bytes to the host (dropped while nobody is connected or the link is off). */
void sim_send(struct sim *s, const uint8_t *b, size_t n);
/* Send one answer of len bytes through the fault mode: its checksum byte is frame[sum_at]
 * (inverted in place for badsum), truncate sends its first `keep` bytes. */
void sim_reply(struct sim *s, uint8_t *frame, size_t len, size_t sum_at, size_t keep);
/* " (silent)" while the fault mode swallows answers, else "": for the records of answers. */
const char *sim_fault_note(const struct sim *s);
/* Take the link down (an unplugged device) / bring it back (a new pty, the same symlink). */
void sim_link_off(struct sim *s);
int sim_link_on(struct sim *s);

uint64_t sim_now_ms(void);
/* "3,4,33" → set flags in addrs[256]; returns -1 if malformed. */
int sim_parse_addrs(const char *list, bool addrs[256]);
/* "0C" → 0x0C; returns -1 if not one hex byte. */
int sim_parse_hex_byte(const char *w);
/* Hex bytes as "00 01 0C" into out. */
void sim_hex(const uint8_t *b, size_t n, char *out, size_t cap);

/* A pseudo-terminal whose slave is reached through the symlink link (raw, kept open by
 * us); the master (non-blocking) is the simulated device's end. 0 or -1 (said on stderr). */
int sim_pty_make(const char *link, int *master, int *slave);

#endif
