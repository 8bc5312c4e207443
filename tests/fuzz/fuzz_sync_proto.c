/*
 * fuzz_sync_proto.c — what the central server answers (PROTOCOLS.md §5): the records
 * acknowledgement and the appointments list. A broken or hostile server must never crash the
 * hall or move its cursor past a bad appointment. The first input byte picks the parser.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hq.h"
#include "sync_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size) return 0;
    uint8_t which = data[0];
    data++, size--;
    /* The transports hand the parsers a NUL-terminated body (curl buffer, SLIP frame). */
    char *body = malloc(size + 1);
    if (!body) return 0;
    memcpy(body, data, size);
    body[size] = 0;
    if (which & 1) {
        int64_t acked = -1, sent = (int64_t)(which >> 1) * 1000;
        if (sync_ack_parse(body, size, sent, &acked) == HQ_OK && (acked < 0 || acked > sent))
            __builtin_trap();
    } else {
        struct sync_appointments a;
        const char *why = NULL;
        memset(&a, 0, sizeof a);
        int rc = sync_appointments_parse(body, size, &a, &why);
        if (rc == HQ_OK) {
            for (size_t i = 0; i < a.count; i++) {
                const struct sync_appointment *p = &a.items[i];
                if (!sync_valid_date(p->date) || !sync_valid_hhmm(p->slot_start) ||
                    !sync_valid_hhmm(p->slot_end) || strcmp(p->slot_start, p->slot_end) >= 0 ||
                    (!p->id_hash[0] && !p->booking_code[0]))
                    __builtin_trap();
                (void)sync_appt_status_name(p->status);
            }
            sync_appointments_free(&a);
        } else if (rc == HQ_ERR_PROTO && !why) {
            __builtin_trap();
        }
    }
    (void)sync_valid_rfc3339(body);
    free(body);
    return 0;
}
