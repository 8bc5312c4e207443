/*
 * sync_proto.h — what hallq and the central server say to each other
 * (PROTOCOLS.md §5), without any transport: the records batch body, the
 * acknowledgement, the appointments answer, and the retry policy. Pure
 * functions, so the up-link (HTTP or serial) and the reference central server
 * share one strict reading of the protocol, and the tests need no network.
 *
 *   POST {base}/v1/halls/{hall_id}/records
 *     {"hall_id":"H1"[,"gone_through":N],"records":[{"seq":1,"uuid":"..","type":"ticket","at":"..","data":{..}},..]}
 *   -> 200 {"acked_through": N}
 *   GET  {base}/v1/halls/{hall_id}/appointments?since={cursor}
 *   -> 200 {"cursor":"..","appointments":[{"id","service","date","slot_start","slot_end",
 *           "id_hash","booking_code","name_masked","status"},..]}
 */
#ifndef HQ_SYNC_PROTO_H
#define HQ_SYNC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNC_BATCH_MAX_RECORDS 500
#define SYNC_BATCH_MAX_BYTES (1024 * 1024)

/* Retry policy: 1 s doubling up to 5 min. */
#define SYNC_BACKOFF_MIN_MS 1000u
#define SYNC_BACKOFF_MAX_MS 300000u

/* Longest strings accepted (bytes, without the NUL). */
#define SYNC_HALL_ID_MAX 64
#define SYNC_CURSOR_MAX 128
#define SYNC_APPT_ID_MAX 64
#define SYNC_APPT_SERVICE_MAX 32
#define SYNC_APPT_BOOKING_MAX 32
#define SYNC_APPT_NAME_MAX 64 /* UTF-8 bytes: "张*" and the like */
#define SYNC_ID_HASH_LEN 64   /* HMAC-SHA256 in hex */
/* More appointments than this in one answer is a broken server. */
#define SYNC_APPT_MAX_COUNT 10000

/* One outbox row as stored: data is the record's JSON object as text. */
struct sync_record {
    int64_t seq;
    const char *uuid, *type, *at, *data;
};

/* A records batch body ready to send. */
struct sync_batch {
    char *body; /* malloc'd, NUL-terminated JSON */
    size_t len;
    size_t count;      /* records taken from the front of the input */
    int64_t first_seq; /* seq of the first and last record in the body */
    int64_t last_seq;
};

/* Build the body for the records recs[0..n) in order, taking as many as fit
 * in max_records and max_bytes (0 for either: the protocol's 500 and 1 MiB;
 * larger values are clamped to them). Seqs must be positive and strictly
 * increasing, type one of ticket, evaluation, event, and data a JSON object.
 * HQ_ERR_INVALID if recs[0] (or a later one that would be sent) is bad,
 * HQ_ERR_LIMIT if recs[0] alone is bigger than the byte limit, HQ_ERR_NOMEM.
 * On error *bad (if not NULL) is the index of the offending record.
 *
 * gone_through > 0 adds "gone_through": N (docs/SYNC.md, an extension of §5):
 * the hall no longer holds records up to N and will never send one, so the
 * server counts them as settled when it works out acked_through. It must be
 * below recs[0].seq (HQ_ERR_INVALID otherwise). */
int sync_batch_build(const char *hall_id, int64_t gone_through, const struct sync_record *recs,
                     size_t n, size_t max_records, size_t max_bytes, struct sync_batch *out,
                     size_t *bad);
void sync_batch_free(struct sync_batch *b);

/* Parse {"acked_through": N}: N an integer, 0 <= N <= sent_through (the
 * highest seq ever sent). HQ_OK with *acked set, or HQ_ERR_PROTO. */
int sync_ack_parse(const char *body, size_t len, int64_t sent_through, int64_t *acked);

/* Build {"acked_through": N} into buf (NUL-terminated); returns the length. */
size_t sync_ack_build(int64_t acked_through, char *buf, size_t cap);

enum sync_appt_status {
    SYNC_APPT_BOOKED = 0, /* "booked" */
    SYNC_APPT_CANCELLED,  /* "cancelled" */
    SYNC_APPT_CHECKED_IN, /* "checked_in" (at this or another hall) */
    SYNC_APPT__COUNT
};

struct sync_appointment {
    char id[SYNC_APPT_ID_MAX + 1];
    char service[SYNC_APPT_SERVICE_MAX + 1];
    char date[11];                                /* YYYY-MM-DD */
    char slot_start[6], slot_end[6];              /* HH:MM, start < end */
    char id_hash[SYNC_ID_HASH_LEN + 1];           /* lower-case hex, or "" */
    char booking_code[SYNC_APPT_BOOKING_MAX + 1]; /* or "" */
    char name_masked[SYNC_APPT_NAME_MAX + 1];     /* or "" */
    enum sync_appt_status status;
};

struct sync_appointments {
    char cursor[SYNC_CURSOR_MAX + 1];
    struct sync_appointment *items; /* malloc'd */
    size_t count;
};

/* Parse and validate an appointments answer. Every appointment needs id,
 * service, date, slots, status, and an id_hash or a booking_code (or both).
 * One bad appointment rejects the whole answer (the cursor must not move past
 * it). HQ_OK, HQ_ERR_PROTO, HQ_ERR_NOMEM; on HQ_ERR_PROTO *why (if not NULL)
 * points at a static English reason. */
int sync_appointments_parse(const char *body, size_t len, struct sync_appointments *out,
                            const char **why);
void sync_appointments_free(struct sync_appointments *a);
const char *sync_appt_status_name(enum sync_appt_status s);

/* Small validators shared with the central server. */
bool sync_valid_date(const char *s);    /* YYYY-MM-DD, a real calendar day */
bool sync_valid_hhmm(const char *s);    /* HH:MM, 00:00 .. 23:59 */
bool sync_valid_rfc3339(const char *s); /* 2024-05-06T09:30:00+08:00 (or Z, fraction) */
bool sync_valid_record_type(const char *s);

/* What to do after an attempt. */
enum sync_outcome {
    SYNC_OUTCOME_OK = 0, /* 2xx: read the acknowledgement */
    SYNC_OUTCOME_RETRY,  /* transport error, timeout, 5xx, 408, 429: back off and retry */
    SYNC_OUTCOME_ALARM,  /* other 4xx (and 1xx/3xx): raise an alarm, retry slowly, keep records */
};

/* Classify an HTTP status (0 when no answer came: refused, timeout, reset). */
enum sync_outcome sync_classify_status(long http_status);

/* Delay before retry number attempt (0 = the first retry): base = 1 s * 2^attempt
 * capped at 5 min, the delay drawn from [3/4 base, base] by rnd (any 32-bit
 * random value) so halls that lost the link together do not come back
 * together. ALARM outcomes always wait the capped delay. */
uint32_t sync_backoff_ms(enum sync_outcome outcome, unsigned attempt, uint32_t rnd);

#endif
