/*
 * hqd_print.h — hallqd's ticket printing: the PRINT effect becomes an
 * ESC/POS ticket (drivers/escpos) spooled to CUPS (hal/print_cups), with
 * the printers' health watched so that a kiosk is refused *before* a number
 * is issued when no printer can print it.
 *
 * API it adds: POST /api/v1/reprint/{uuid|label} (clerk) prints a ticket
 * again marked 补打 / REPRINT; /api/v1/status gains "printers"; SSE event
 * "printer" on every health change.
 */
#ifndef HQ_HQD_PRINT_H
#define HQ_HQD_PRINT_H

#include <stdint.h>

#include "daemon.h"

/* Module start / stop (hallqd's hqd_modules[], after "api"). Start fails
 * only for a bad ticket template file (HQ_ERR_CONFIG). */
int hq_print_init(struct hq_daemon *d);
void hq_print_fini(struct hq_daemon *d);

/* Print today's ticket `ticket` again (marked as a reprint). HQ_ERR_PRINTER
 * if no printer can print now, HQ_ERR_NOT_FOUND for no such ticket,
 * HQ_ERR_STATE when the hall has no printer configured. */
int hq_print_reprint(struct hq_daemon *d, int32_t ticket);

#endif
