/*
 * engine.h — the queue engine: a pure state machine of one hall's day.
 *
 * Commands go in with the current time; the engine changes its state and
 * answers a result: an error code, the effects the daemon must release to
 * devices (print, call, show, prompt a rating pad), the records that must be
 * logged and sent to the central server, and which tickets, windows and
 * services changed (the store writes exactly those rows). No I/O, no clock
 * reads, no globals, no randomness: UUIDs come in with the command.
 *
 * Time: `now` is Unix time in seconds. The hall's local time is
 * now + cfg->utc_offset_s (a fixed offset: China keeps no summer time). The
 * business day is the local date; it changes when a command arrives with a
 * later local date than the engine's day (never by matching a clock time, so
 * a box that was off at midnight rolls over on its first command).
 *
 * Identity: tickets live in e->tickets[] (index = ticket id within the day);
 * windows are addressed by their configured number in commands and by index
 * into cfg->windows inside the engine; services by index into cfg->services.
 */
#ifndef HQ_ENGINE_H
#define HQ_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "hq.h"

#define HQ_MAX_SERVICES 64
#define HQ_MAX_WINDOWS 512
#define HQ_MAX_WINDOW_SERVICES 16
#define HQ_MAX_INTERVALS 4
#define HQ_MAX_PAUSE_REASONS 16
/* The pause reason of a pause that names none (a keypad's pause key, an old client). */
#define HQ_PAUSE_DEFAULT "other"

/* ------------------------------------------------------------------ config */

enum hq_priority {
    HQ_PRIO_NORMAL = 0,
    HQ_PRIO_ELDERLY,     /* 老年人优先: set automatically from the card's birth date */
    HQ_PRIO_DISABLED,    /* 残疾人优先 */
    HQ_PRIO_MILITARY,    /* 军人优先 */
    HQ_PRIO_APPOINTMENT, /* 预约 */
    HQ_PRIO_GREEN,       /* 绿色通道 */
    HQ_PRIO__COUNT
};

enum hq_channel {
    HQ_CHAN_KIOSK = 0, /* touch kiosk page */
    HQ_CHAN_BUTTON,    /* GPIO kiosk button */
    HQ_CHAN_APPOINTMENT,
    HQ_CHAN_API,
    HQ_CHAN_PAD,    /* rating pad on the bus (evaluations) */
    HQ_CHAN_TABLET, /* rating from a tablet through the API (evaluations) */
    HQ_CHAN_QR,     /* rating from the citizen's phone: the ticket's QR page (evaluations) */
    HQ_CHAN__COUNT
};

struct hq_interval {
    uint16_t open_min, close_min; /* minutes after local midnight, [open, close) */
};

struct hq_day_hours {
    uint8_t n; /* 0 = closed all day */
    struct hq_interval iv[HQ_MAX_INTERVALS];
};

struct hq_date_override {
    int32_t day; /* local days since 1970-01-01 */
    struct hq_day_hours hours;
};

struct hq_service_cfg {
    char code[16];                      /* "A" — the id used in the API */
    char name[64];                      /* 社保业务 (UTF-8) */
    char name_en[64];                   /* Social insurance */
    char prefix[8];                     /* printed before the number: "A" */
    char task_code[40];                 /* 事项编码 for 好差评 records */
    uint16_t num_min, num_max;          /* number range; wraps from max to min */
    uint8_t digits;                     /* zero-padded width of the number: 3 → A012 */
    uint32_t daily_quota;               /* tickets per day, 0 = no quota */
    bool id_required;                   /* 实名取号 */
    uint16_t per_person_limit;          /* tickets per ID per day for this service, 0 = none */
    uint32_t priority_mask;             /* bit p set: class p is honoured here (NORMAL always) */
    uint32_t default_handle_s;          /* handling time assumed before any is measured */
    uint32_t time_limit_s;              /* 限时办结: serving longer is an alarm, 0 = none */
    struct hq_day_hours week[7];        /* index 0 = Sunday, as tm_wday */
    struct hq_date_override *overrides; /* holidays, make-up working days */
    size_t n_overrides;
    /* Run time (HQ_CMD_SERVICE_*; not in the file, a reload leaves it): today's hours as the
     * manager set them, before the date overrides and the week; day 0 = none. */
    struct hq_date_override today;
};

struct hq_window_cfg {
    uint16_t number;                          /* 3 → "3号窗口" */
    char name[64];                            /* 3号窗口 */
    char name_en[64];                         /* Window 3 */
    uint8_t services[HQ_MAX_WINDOW_SERVICES]; /* service indices, first = preferred */
    uint8_t n_services;
    /* Run time (HQ_CMD_WINDOW_*): opened by the manager, not in the file (a temporary
     * window); closed by the manager (no sign-in, nobody called, kept for its number). */
    bool temporary;
    bool closed;
};

/* Why a window pauses (午休, 会议, ...): the configured list (config pause_reasons). */
struct hq_pause_reason {
    char code[16];    /* "lunch": the id in the API, the event log and window state */
    char name[32];    /* 午休 */
    char name_en[32]; /* Lunch break */
    uint16_t max_min; /* a pause for this reason longer than this is an alarm; 0 = no limit */
};

struct hq_staff_cfg {
    char id[16];   /* staff number typed on the keypad: "1234" */
    char name[32]; /* 王芳 */
    char role[16]; /* "clerk", "desk" or "manager": the sessions this person may open */
};

struct hq_engine_cfg {
    char hall_id[64];
    int32_t utc_offset_s; /* 28800 for China */
    struct hq_service_cfg *services;
    size_t n_services;
    struct hq_window_cfg *windows;
    size_t n_windows;
    /* Room in windows[] for temporary windows (queue.max_windows, at least n_windows): the
     * engine's window table never moves, a window opened at run time takes the next slot. */
    uint16_t max_windows;
    struct hq_staff_cfg *staff; /* the roster: only these staff numbers can log in */
    size_t n_staff;
    /* Priority weight of each class: a ticket of class p ranks as if it had
     * arrived head_start_s[p] seconds earlier than it did. NORMAL is 0. */
    uint32_t head_start_s[HQ_PRIO__COUNT];
    /* Anti-starvation: after this many consecutive calls in a service that
     * passed over the ticket at the head of the arrival order, that ticket is
     * called next whatever its class. */
    uint16_t max_overtakes;
    uint8_t recall_limit;      /* recalls allowed; one more makes the ticket a no-show */
    bool no_show_requeue;      /* 过号重排: a no-show goes back into its queue */
    uint8_t max_requeues;      /* how often one ticket may be re-queued */
    uint32_t rating_timeout_s; /* a pad silent this long leaves the service unrated */
    uint32_t qr_open_s;        /* a finished ticket's QR rating page stays open this long */
    uint8_t elderly_age;       /* age from which a card gets HQ_PRIO_ELDERLY (65) */
    /* The handling-time estimate (engine.c engine__learn_handle): it starts from the service's
     * handle_s; 0 in any of the four below turns that guard off. */
    uint8_t handle_alpha_pct;      /* EWMA weight of a new handling time, percent (10) */
    uint8_t handle_min_samples;    /* the n-th finish of a day weighs n/this until n = this (5) */
    uint16_t handle_min_sample_s;  /* shorter is not a service: not learnt from (20) */
    uint8_t handle_outlier_factor; /* a time is clipped to [estimate/f, estimate*f] (3) */
    uint8_t handle_max_step_pct;   /* one time moves the estimate by at most this share (10) */
    /* Pause reasons (inline: reloadable on SIGHUP as a whole). The engine keeps a pause's
     * code, not its index, so a reload that reorders or drops reasons leaves it readable. */
    struct hq_pause_reason pause_reasons[HQ_MAX_PAUSE_REASONS];
    uint8_t n_pause_reasons;
};

/* ------------------------------------------------------------------- state */

enum hq_ticket_status {
    HQ_TS_WAITING = 0,
    HQ_TS_CALLED,
    HQ_TS_SERVING,
    HQ_TS_PARKED,
    HQ_TS_DONE,
    HQ_TS_NO_SHOW,
    HQ_TS_CANCELLED,
    HQ_TS_EXPIRED, /* still open when its business day ended */
    HQ_TS__COUNT
};

enum hq_ticket_flags {
    HQ_TF_HAS_ID = 1 << 0, /* issued against an ID card: id_hash is set */
    HQ_TF_FRONT = 1 << 1,  /* transferred to the front of its queue */
    HQ_TF_RATED = 1 << 2,  /* an evaluation exists for it */
    HQ_TF_TRANSFERRED = 1 << 3,
    HQ_TF_ASSIST = 1 << 4, /* 帮办/陪同: the guide desk asked for help at the window */
};

struct hq_ticket {
    uint8_t uuid[16];
    uint8_t id_hash[8];   /* first 8 bytes of the keyed ID hash (per-person limit) */
    char name_masked[16]; /* 王** ; empty when no card */
    uint32_t serial;      /* 1, 2, ... per service per day: never repeats in a day */
    uint16_t number;      /* the printed number (wraps within the range) */
    uint8_t service;      /* current service index */
    uint8_t orig_service; /* service it was issued for */
    uint8_t priority;     /* enum hq_priority */
    uint8_t channel;      /* enum hq_channel */
    uint8_t status;       /* enum hq_ticket_status */
    uint8_t recalls;
    uint8_t requeues;
    uint8_t flags;          /* enum hq_ticket_flags */
    uint16_t window;        /* window number serving/holding it, 0 = none */
    uint16_t target_window; /* transferred to this window only, 0 = any */
    uint16_t staff;         /* staff index + 1 of the clerk who called it, 0 = none */
    uint32_t issued_at, queued_at, called_at, served_at, finished_at; /* Unix s, 0 = not yet */
};

enum hq_window_state {
    HQ_WS_CLOSED = 0, /* no clerk logged in */
    HQ_WS_IDLE,
    HQ_WS_CALLING,
    HQ_WS_SERVING,
    HQ_WS_PAUSED,
    HQ_WS__COUNT
};

struct hq_window_st {
    uint8_t state;   /* enum hq_window_state */
    uint16_t staff;  /* staff index + 1, 0 = nobody */
    int32_t current; /* ticket index being called/served, -1 = none */
    uint32_t state_since;
    uint32_t last_call_at;
    int32_t rating_ticket;    /* ticket awaiting a rating, -1 = none */
    uint32_t rating_deadline; /* Unix s */
    char pause_reason[16];    /* PAUSED: the reason's code; paused since state_since */
    uint32_t help_at;         /* the clerk's help call still unanswered since (Unix s), 0 = none */
};

struct hq_service_st {
    uint32_t issued;      /* serial of the last ticket issued today */
    uint16_t last_number; /* last number issued today, 0 = none yet */
    uint16_t overtakes;   /* consecutive calls that passed over the oldest waiting ticket */
    uint32_t handle_s;    /* measured handling time (EWMA), seconds */
    uint32_t handled;     /* tickets finished today */
};

struct hq_engine {
    const struct hq_engine_cfg *cfg;
    int32_t day; /* business day: local days since 1970-01-01; 0 = not started */
    struct hq_ticket *tickets;
    size_t n_tickets, cap_tickets;
    struct hq_service_st *svc; /* cfg->n_services */
    struct hq_window_st *win;  /* cfg->max_windows (at least n_windows) */
    /* The same configuration, writable: the run-time changes (HQ_CMD_WINDOW_*,
     * HQ_CMD_SERVICE_*) write it. NULL (the default) refuses them. */
    struct hq_engine_cfg *rw;
    void *priv; /* engine-internal indexes (waiting lists, per-person counts) */
};

/* ---------------------------------------------------------------- commands */

enum hq_cmd_type {
    HQ_CMD_ISSUE = 0,
    HQ_CMD_CALL_NEXT,
    HQ_CMD_CALL_NUMBER,
    HQ_CMD_RECALL,
    HQ_CMD_START,
    HQ_CMD_NO_SHOW,
    HQ_CMD_PARK,
    HQ_CMD_CALL_BACK,
    HQ_CMD_TRANSFER,
    HQ_CMD_PAUSE,
    HQ_CMD_RESUME,
    HQ_CMD_FINISH,
    HQ_CMD_CANCEL,
    HQ_CMD_LOGIN,
    HQ_CMD_LOGOUT,
    HQ_CMD_RATE,
    HQ_CMD_TICK,     /* timers: rating timeouts and day rollover; changes nothing otherwise */
    HQ_CMD_HELP,     /* the window's clerk calls the hall manager (keypad help key, console) */
    HQ_CMD_HELP_ACK, /* the manager answered the window's help call */
    /* The hall changed while it runs (the manager; e->rw must be set); keep these last:
     * hq_engine_apply takes every type from HQ_CMD_WINDOW_OPEN on for one of them. */
    HQ_CMD_WINDOW_OPEN,     /* open window `window` (a new, temporary one, or re-open) */
    HQ_CMD_WINDOW_CLOSE,    /* close it: its waiting people re-routed to u.admin.reroute_to */
    HQ_CMD_WINDOW_SERVICES, /* its services and their order */
    HQ_CMD_SERVICE_HOURS,   /* today's hours of u.admin.service: [open_min, close_min);
                             * 0-0 = back to the file's hours */
    HQ_CMD_SERVICE_QUOTA,   /* its daily quota */
    HQ_CMD_SERVICE_CLOSE,   /* closed for the rest of today, waiting people re-routed */
    HQ_CMD__COUNT
};

/* A sealed ID number: 18 characters + crypto_box_SEALBYTES (48). */
#define HQ_ID_SEALED_MAX 66

struct hq_cmd {
    uint8_t type;    /* enum hq_cmd_type */
    int64_t now;     /* Unix seconds */
    uint16_t window; /* window number, for window commands */
    /* Who gave it, for the event log (the engine does not look at it):
     * "staff:1001/clerk", "token:window-system", "device:...", "keypad:3";
     * empty = timers (the tick). hqd_apply fills it from the HTTP request
     * that runs the command (api.c); device drivers set their own. */
    char actor[40];
    union {
        struct {
            uint8_t service;  /* index */
            uint8_t priority; /* requested class; ELDERLY is also set from birth_ymd */
            uint8_t channel;
            bool has_id;
            uint8_t id_hash[8];
            int32_t birth_ymd; /* 19580312, 0 = unknown */
            char name_masked[16];
            uint8_t uuid[16]; /* the new ticket's uuid */
            /* 1 + index into printer.kiosks of the kiosk that asked, 0 = none: where
             * the ticket prints (hqd_print.c); the engine does not look at it */
            uint8_t kiosk_printer;
            /* non-zero: re-register this number, held on paper by a citizen whose
             * ticket was lost (a database moved aside); not printed, no quota */
            uint16_t held_number;
            bool assist; /* 帮办/陪同 (HQ_TF_ASSIST): the guide desk's flag for the window */
            /* The card's ID number sealed to the provincial platform's public key
             * (evaluation.platform_pubkey) by the reader's driver; the engine does not
             * look at it, the store keeps it beside the ticket for its evaluation record. */
            uint8_t id_sealed_len;
            uint8_t id_sealed[HQ_ID_SEALED_MAX];
        } issue;
        struct {
            char label[16]; /* "A012", or digits "012"/"12" within the window's services */
        } call;
        struct {
            int16_t requeue; /* -1 = as configured, 0 = no, 1 = yes */
        } no_show;
        struct {
            int16_t service;    /* target service index, -1 = keep */
            uint16_t to_window; /* target window number, 0 = any window */
            bool front;         /* to the front of the target queue */
        } transfer;
        struct {
            int32_t ticket; /* ticket index */
            /* why (UTF-8, may be empty): into the event log's row, not looked at here */
            char reason[128];
        } cancel;
        struct {
            char staff_id[16];
        } login;
        struct {
            char reason[16]; /* a configured pause reason's code; "" = HQ_PAUSE_DEFAULT */
        } pause;
        struct {
            uint8_t level;    /* 1..5, 5 = 非常满意 */
            uint8_t channel;  /* HQ_CHAN_PAD or HQ_CHAN_TABLET */
            uint8_t uuid[16]; /* the evaluation's uuid */
            uint32_t reasons; /* reason tag bits */
            /* by_ticket: rate ticket `ticket` (its QR page) rather than the
             * window's open invitation; `window` is then ignored. */
            bool by_ticket;
            int32_t ticket;
            uint8_t ind[3]; /* 服务效率, 服务水平, 服务态度 1..5; 0 = not given */
            char text[304]; /* optional words, UTF-8 (about 100 characters) */
        } rate;
        struct {
            uint8_t service;    /* SERVICE_*: index */
            uint8_t n_services; /* WINDOW_OPEN/SERVICES: the window's services, in order */
            uint8_t services[HQ_MAX_WINDOW_SERVICES];
            uint16_t reroute_to; /* WINDOW_CLOSE/SERVICE_CLOSE: window taking those waiting */
            uint16_t open_min, close_min; /* SERVICE_HOURS: today, minutes after midnight */
            uint32_t quota;               /* SERVICE_QUOTA: 0 = none */
            char name[64], name_en[64];   /* WINDOW_OPEN of a new window, "" = "{n}号窗口" */
        } admin;
    } u;
};

/* ----------------------------------------------------------------- results */

enum hq_effect_type {
    HQ_FX_PRINT = 0,   /* print ticket `ticket` */
    HQ_FX_CALL,        /* window `window` calls ticket `ticket` (flag HQ_FXF_RECALL) */
    HQ_FX_WINDOW,      /* window `window` changed state (idle, paused, closed, serving) */
    HQ_FX_QUEUE,       /* waiting count of service `service` changed */
    HQ_FX_RATE_PROMPT, /* invite the window's rating pad to rate ticket `ticket` */
    HQ_FX_RATED,       /* the window's pad gave level `level`: acknowledge it */
    HQ_FX_RATE_CLOSED, /* the rating invitation ended unanswered: pad back to idle */
};
enum { HQ_FXF_RECALL = 1 };

struct hq_effect {
    uint8_t type;
    uint8_t flags;
    uint8_t service;
    uint8_t level;
    uint16_t window; /* window number */
    int32_t ticket;  /* ticket index, -1 = none */
};

enum hq_record_type { HQ_REC_TICKET = 0, HQ_REC_EVALUATION, HQ_REC_EVENT };

enum hq_event_kind {
    HQ_EV_ISSUE = 0,
    HQ_EV_CALL,
    HQ_EV_RECALL,
    HQ_EV_START,
    HQ_EV_NO_SHOW,
    HQ_EV_REQUEUE,
    HQ_EV_PARK,
    HQ_EV_CALL_BACK,
    HQ_EV_TRANSFER,
    HQ_EV_PAUSE,
    HQ_EV_RESUME,
    HQ_EV_FINISH,
    HQ_EV_CANCEL,
    HQ_EV_LOGIN,
    HQ_EV_LOGOUT,
    HQ_EV_RATE,
    HQ_EV_UNRATED,
    HQ_EV_EXPIRE,
    HQ_EV_ROLLOVER,
    HQ_EV_WINDOW_OPEN,
    HQ_EV_WINDOW_CLOSE,
    HQ_EV_WINDOW_SERVICES,
    HQ_EV_SERVICE_HOURS, /* aux = open_min << 16 | close_min */
    HQ_EV_SERVICE_QUOTA, /* aux = the quota */
    HQ_EV_SERVICE_CLOSE,
    HQ_EV_REROUTE, /* a waiting ticket sent to window `window` (its holder is told) */
    HQ_EV_HELP,
    HQ_EV_HELP_ACK,
    HQ_EV__COUNT
};

/* One record for the event log and the outbox. A ticket record is the
 * ticket's whole life, emitted when it ends (done, no-show without re-queue,
 * cancelled, expired). */
struct hq_record {
    uint8_t type;    /* enum hq_record_type */
    uint8_t event;   /* enum hq_event_kind (for HQ_REC_EVENT; the cause for others) */
    uint16_t window; /* window number, 0 = none */
    int32_t ticket;  /* ticket index, -1 = none */
    uint16_t staff;  /* staff index + 1, 0 = none */
    uint8_t level;   /* evaluation level 1..5 */
    uint8_t channel; /* evaluation channel */
    uint8_t service; /* HQ_EV_SERVICE_*: the service index */
    uint32_t reasons;
    int32_t aux;      /* event detail: target service of a transfer, old day of a rollover,
                       * seconds paused of a resume, seconds waited of a help acknowledgement */
    char reason[16];  /* PAUSE, RESUME: the pause reason's code */
    uint8_t uuid[16]; /* evaluation uuid */
    int64_t at;
};

/* Why a window or ticket command was refused, finer than its HQ_ERR_*: the
 * clerk at the keypad, hallqctl and the API all name the same reason
 * (hq_why_code/_zh/_en), so "当前状态不允许此操作" never stands for five things. */
enum hq_why {
    HQ_WHY_NONE = 0,
    HQ_WHY_NOT_LOGGED_IN, /* the window has no clerk logged in */
    HQ_WHY_PAUSED,        /* the window is paused */
    HQ_WHY_NOBODY_WAITING,
    HQ_WHY_NOT_CALLED,  /* recall/start/no-show: no ticket called at this window */
    HQ_WHY_NO_CURRENT,  /* finish/park/transfer: nobody at the window */
    HQ_WHY_WINDOW_BUSY, /* login/logout/pause: a citizen is at the window */
    HQ_WHY_NOT_PAUSED,  /* resume */
    HQ_WHY_STAFF_BUSY,  /* login: the clerk serves a citizen at another window */
    HQ_WHY_NOTHING_PARKED,
    HQ_WHY_TICKET_CLOSED,       /* cancel: already called, done or cancelled */
    HQ_WHY_RATED,               /* a second rating */
    HQ_WHY_NO_RATING,           /* a rating with no invitation open (none, or timed out) */
    HQ_WHY_NO_TICKET,           /* no such ticket today */
    HQ_WHY_NO_STAFF,            /* no such staff number */
    HQ_WHY_NO_WINDOW,           /* no such window */
    HQ_WHY_NO_SERVICE,          /* no such service */
    HQ_WHY_WINDOW_CLOSED,       /* the manager closed the window (sign-in, re-route target) */
    HQ_WHY_WINDOW_OPEN,         /* open: the window is open already */
    HQ_WHY_PEOPLE_WAITING,      /* close: people wait there and no reroute_to was given */
    HQ_WHY_REROUTE_NOT_SERVING, /* the reroute_to window does not serve them */
    HQ_WHY_NO_ROOM,             /* open: queue.max_windows windows exist already */
    HQ_WHY_NOT_TEMPORARY,       /* a window of the file cannot be removed, only closed */
    HQ_WHY_NO_PAUSE_REASON,     /* pause: no such pause reason configured */
    HQ_WHY_NO_HELP_CALL,        /* help acknowledgement: the window has no help call open */
    HQ_WHY_WINDOW_UNSTAFFED,    /* transfer: nobody is signed in at the target window */
    HQ_WHY__COUNT
};
const char *hq_why_code(int why); /* "nobody_waiting"; "" for NONE */
const char *hq_why_zh(int why);   /* 无人等候 */
const char *hq_why_en(int why);   /* nobody is waiting */

struct hq_result {
    int err;        /* HQ_OK or the reason the command was refused (nothing changed then) */
    uint8_t why;    /* enum hq_why: the reason in words, when err alone is vague */
    int32_t ticket; /* the ticket the command issued/called/acted on, -1 = none */
    struct hq_effect *fx;
    size_t n_fx, cap_fx;
    struct hq_record *rec;
    size_t n_rec, cap_rec;
    int32_t *dirty_tickets; /* indices of tickets whose row must be written */
    size_t n_dirty_tickets, cap_dirty_tickets;
    uint8_t dirty_windows[(HQ_MAX_WINDOWS + 7) / 8];   /* bit i: window index i */
    uint8_t dirty_services[(HQ_MAX_SERVICES + 7) / 8]; /* bit i: service index i */
    /* Set when the business day changed during this command: every ticket of
     * the old day left e->tickets; old_day says which day the store closes. */
    bool rollover;
    int32_t old_day;
};

/* ------------------------------------------------------------------- calls */

/* Set up an empty engine for cfg (which must outlive it). */
int hq_engine_init(struct hq_engine *e, const struct hq_engine_cfg *cfg);
void hq_engine_free(struct hq_engine *e);

/* Run one command. On error nothing changed and res->err says why. res is
 * reset by the call; its buffers are reused between calls (free them with
 * hq_result_free). */
int hq_engine_apply(struct hq_engine *e, const struct hq_cmd *cmd, struct hq_result *res);
void hq_result_free(struct hq_result *res);

/* Rebuilding from the store: set the day, add every ticket of that day in
 * serial order, set windows and services, then hq_engine_load_done(). */
void hq_engine_load_day(struct hq_engine *e, int32_t day);
int hq_engine_load_ticket(struct hq_engine *e, const struct hq_ticket *t);
void hq_engine_load_window(struct hq_engine *e, size_t idx, const struct hq_window_st *w);
void hq_engine_load_service(struct hq_engine *e, size_t idx, const struct hq_service_st *s);
int hq_engine_load_done(struct hq_engine *e);

/* Queries (no change). */
int32_t hq_engine_day_of(const struct hq_engine_cfg *cfg, int64_t now); /* local date */
size_t hq_engine_waiting(const struct hq_engine *e, size_t service);
size_t hq_engine_ahead(const struct hq_engine *e, int32_t ticket); /* people before it */
/* Estimated wait in seconds for a ticket issued now in `service`, from the
 * measured handling time and the windows open for it; -1 = no window open. */
int64_t hq_engine_estimate_wait(const struct hq_engine *e, size_t service);
int64_t hq_engine_estimate_ticket(const struct hq_engine *e, int32_t ticket);
bool hq_engine_service_open(const struct hq_engine *e, size_t service, int64_t now);
/* When the service's hours next begin after now (Unix s), looking HQ_NEXT_OPEN_DAYS ahead; -1
 * when it is open now or does not open in that time. */
#define HQ_NEXT_OPEN_DAYS 14
int64_t hq_engine_service_next_open(const struct hq_engine *e, size_t service, int64_t now);
/* Windows logged in and not paused that serve the service now: 0 = nobody takes it now. */
size_t hq_engine_open_windows(const struct hq_engine *e, size_t service);
int hq_engine_window_index(const struct hq_engine *e, uint16_t number);     /* -1 if none */
int hq_engine_service_index(const struct hq_engine *e, const char *code);   /* -1 if none */
int hq_engine_staff_index(const struct hq_engine *e, const char *staff_id); /* -1 if none */
/* Find today's ticket by its label ("A012") or uuid; -1 if none. */
int32_t hq_engine_find_label(const struct hq_engine *e, const char *label);
/* "A012" -> the service whose prefix and number range take it, and 12;
 * HQ_ERR_INVALID (not a label), HQ_ERR_NOT_FOUND (no such service or range). */
int hq_engine_parse_number(const struct hq_engine *e, const char *label, int *service,
                           uint16_t *number);
int32_t hq_engine_find_uuid(const struct hq_engine *e, const uint8_t uuid[16]);
/* "A012" into buf (at least 16 bytes). */
const char *hq_ticket_label(const struct hq_engine *e, const struct hq_ticket *t, char *buf,
                            size_t len);

/* Names for logs, JSON and the database ("waiting", "call_next", "elderly"). */
const char *hq_ticket_status_name(int status);
const char *hq_window_state_name(int state);
const char *hq_priority_name(int prio);
const char *hq_priority_label_zh(int prio); /* 老年人优先; "" for NORMAL */
const char *hq_priority_label_en(int prio); /* Elderly; "" for NORMAL */
const char *hq_channel_name(int chan);
const char *hq_cmd_name(int type);
const char *hq_event_name(int ev);
int hq_priority_from_name(const char *name); /* -1 if unknown */
/* The configured pause reason of that code, NULL if none. */
const struct hq_pause_reason *hq_pause_reason(const struct hq_engine_cfg *cfg, const char *code);

/* Civil-date helpers used by the engine, config and store. */
int32_t hq_days_from_ymd(int y, int m, int d);
void hq_ymd_from_days(int32_t days, int *y, int *m, int *d);

#endif
