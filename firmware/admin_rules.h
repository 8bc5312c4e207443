/*
 * admin_rules.h — the arithmetic and the rules behind the manager dashboard
 * (/admin), kept pure so they are unit-tested apart from the daemon:
 * Erlang C staffing hints, the alarm rules (预警 long waits, 空岗 idle
 * windows, devices, printer paper, sync backlog), the 差评 follow-up state
 * machine, note validation and CSV quoting.
 *
 * Nothing here reads a clock, a file or the database: time comes in as an
 * argument, the hall's state as the engine and the /api/v1/status JSON.
 */
#ifndef HQ_ADMIN_RULES_H
#define HQ_ADMIN_RULES_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* ------------------------------------------------------------ Erlang C */

/* Probability that an arrival has to wait in an M/M/c queue with c servers
 * and offered load a = λ/μ (Erlangs). 1.0 when a >= c (the queue grows
 * without bound), 0.0 when a <= 0. */
double admin_erlang_c(unsigned c, double a);
/* Expected wait in the queue (seconds) with c windows, lambda_h arrivals per
 * hour and a mean handling time of handle_s seconds; -1 when c windows
 * cannot keep up (a >= c), 0 when nobody arrives. */
double admin_erlang_wait_s(unsigned c, double lambda_h, double handle_s);
/* The fewest windows (1..max_c) whose expected wait is at most target_s;
 * 0 when nobody arrives, max_c + 1 when even max_c windows are not enough. */
unsigned admin_staffing(double lambda_h, double handle_s, double target_s, unsigned max_c);

/* -------------------------------------------------------------- alarms */

enum admin_alarm_kind {
    ADMIN_AL_WAIT = 0,  /* 预警: a queue's estimated or actual wait over alarms.wait_s */
    ADMIN_AL_IDLE,      /* 空岗: clerk logged in, no call for alarms.idle_s while people wait */
    ADMIN_AL_DEVICE,    /* a device of the status "devices" array is offline */
    ADMIN_AL_PRINTER,   /* a ticket printer is low on / out of paper or not printing */
    ADMIN_AL_SYNC,      /* the up-link raised its alarm: refused, backlog too large or too old */
    ADMIN_AL_STORAGE,   /* the database cannot be written, or a corrupt one was moved aside */
    ADMIN_AL_CLOCK,     /* the wall clock is behind what was recorded (reset, not synchronised) */
    ADMIN_AL_FOLLOW_UP, /* 差评 回访 or 整改 past its working-day due date (hqd_callback.c) */
    /* Supervision (督查) — each also goes to the central server (docs/SYNC.md "Alarms"): */
    ADMIN_AL_PAUSE,     /* 暂停超时: paused longer than its reason's max_min */
    ADMIN_AL_UNSTAFFED, /* 空岗: nobody signed in, a service open, people waiting for it */
    ADMIN_AL_OVERTIME, /* 限时办结: one ticket at the window longer than services[].time_limit_s */
    ADMIN_AL_HELP,     /* 求助: the window's clerk called the hall manager, not answered yet */
    ADMIN_AL__COUNT
};

struct admin_alarm {
    char key[96];      /* identity of the condition: "wait:A", "printer:primary:paper_end" */
    uint8_t kind;      /* enum admin_alarm_kind */
    char subject[96];  /* service code, window number, device or printer name */
    int64_t value;     /* seconds waited/idle, backlog records; -1 = none */
    int64_t threshold; /* the configured limit it is over; -1 = none */
    int64_t since;     /* Unix s the condition began (pause, call, help), 0 = not known */
    char msg_zh[320];
    char msg_en[320];
};

/* Queue alarms from the engine's state at `now`: one ADMIN_AL_WAIT per
 * service and one ADMIN_AL_IDLE per window at most. A limit of 0 turns that
 * rule off. Returns how many alarms were written (at most max). */
size_t admin_alarms_queue(const struct hq_engine *e, uint32_t wait_s, uint32_t idle_s, int64_t now,
                          struct admin_alarm *out, size_t max);
/* Supervision alarms (督查) from the engine's state at `now`: per window at most one each of
 * ADMIN_AL_HELP, ADMIN_AL_PAUSE, ADMIN_AL_OVERTIME, ADMIN_AL_UNSTAFFED (unstaffed_s 0 = that
 * rule off; the pause limit is the reason's max_min, the time limit the service's
 * time_limit_s). Keys: "help:N", "pause:N", "overtime:N", "unstaffed:N" (N the window). */
size_t admin_alarms_supervision(const struct hq_engine *e, uint32_t unstaffed_s, int64_t now,
                                struct admin_alarm *out, size_t max);
/* Is this kind one the central server hears of (the supervision kinds)? */
bool admin_alarm_reported(int kind);
/* Device, printer and sync alarms from a /api/v1/status object (its
 * "devices", "printers" and "sync" parts; absent parts raise nothing). */
size_t admin_alarms_status(const cJSON *status, struct admin_alarm *out, size_t max);

/* A device's reason (hallqd's English, "no answer for 10 s") in Chinese
 * into buf ("10 秒无应答"); false, and buf empty, for a reason it does not
 * know (the Chinese alarm then goes without it; the English one has it). */
bool admin_reason_zh(const char *en, char *buf, size_t len);
/* "wait", "idle", "device", "printer", "sync", "storage", "clock", "pause", "unstaffed",
 * "overtime", "help" */
const char *admin_alarm_kind_name(int kind);
/* The alarm as JSON: {key, kind, subject, value, threshold, since (Unix s or null), message,
 * message_en}. */
cJSON *admin_alarm_json(const struct admin_alarm *a);

/* The actual wait of the longest-waiting ticket of a service (now minus
 * issue time), -1 when nobody waits. */
int64_t admin_oldest_wait(const struct hq_engine *e, size_t service, int64_t now);
/* Windows able to call for a service now (a clerk logged in, not paused). */
unsigned admin_open_windows(const struct hq_engine *e, size_t service);

/* ------------------------------------------------------ 差评 follow-up */

/* Follow-up states in their one allowed order: open → contacted →
 * rectified → closed ("none" for evaluations that need no follow-up). */
enum admin_fu_state {
    ADMIN_FU_NONE = 0,
    ADMIN_FU_OPEN,
    ADMIN_FU_CONTACTED,
    ADMIN_FU_RECTIFIED,
    ADMIN_FU_CLOSED,
    ADMIN_FU__COUNT
};
int admin_fu_from_name(const char *name); /* -1 if unknown */
const char *admin_fu_name(int state);
const char *admin_fu_label_zh(int state); /* 待回访, 已回访, 已整改, 已办结 */
/* HQ_OK when a follow-up may move from `from` to `to` (exactly one step
 * forward), HQ_ERR_STATE otherwise. */
int admin_fu_step(int from, int to);

#define ADMIN_NOTE_MAX_CHARS 500
/* A follow-up note: valid UTF-8, 1..max_chars characters after trimming
 * blanks, no control characters but line breaks and tabs. HQ_OK or
 * HQ_ERR_INVALID (with *why in English for the error detail). */
int admin_note_check(const char *note, size_t max_chars, const char **why);

/* ----------------------------------------------------------------- CSV */

/* A growing byte buffer; oom is set (and appends stop) when memory ran out. */
struct admin_buf {
    char *p;
    size_t len, cap;
    bool oom;
};
void admin_buf_add(struct admin_buf *b, const char *s, size_t n);
void admin_buf_printf(struct admin_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void admin_buf_free(struct admin_buf *b);
/* One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF,
 * quotes doubled; text that a spreadsheet would run as a formula (= + - @
 * first) gets a leading apostrophe. `sep` is appended after it (',' or 0). */
void admin_csv_field(struct admin_buf *b, const char *s, char sep);

/* ---------------------------------------------------------------- misc */

/* "2026-11-23" → local days since 1970-01-01; HQ_ERR_INVALID if malformed. */
int admin_parse_day(const char *s, int32_t *day);
/* Waiting-time bucket of the stats chart: 0 <5 min, 1 5–10, 2 10–20,
 * 3 20–30, 4 30–60, 5 >60 (a wait of exactly 5 min is in bucket 1). */
#define ADMIN_WAIT_BUCKETS 6
int admin_wait_bucket(int64_t wait_s);

#endif
