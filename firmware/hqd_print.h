/*
 * hqd_print.h — hallqd's ticket printing: the PRINT effect becomes an
 * ESC/POS ticket (drivers/escpos) spooled to CUPS (hal/print_cups), with
 * the printers' health watched so that a kiosk is refused *before* a number
 * is issued when no printer can print it.
 *
 * API it adds: POST /api/v1/reprint/{uuid|label} prints a ticket again
 * marked 补打 / REPRINT (staff: any ticket of the day; no token, i.e. the
 * kiosk: by uuid, while it waits, within printer.kiosk_reprint_s of issue,
 * printer.kiosk_reprints times), recorded as an event of kind "reprint";
 * /api/v1/status gains "printers" and "print_latency"; SSE events "printer"
 * on every health change, "print_failed" (ticket, uuid) when a ticket could
 * not be printed, "reprint".
 */
#ifndef HQ_HQD_PRINT_H
#define HQ_HQD_PRINT_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"

/* Module start / stop (hallqd's hqd_modules[], after "api"). Start fails
 * only for a bad ticket template file (HQ_ERR_CONFIG). */
int hq_print_init(struct hq_daemon *d);
void hq_print_fini(struct hq_daemon *d);

/* Print today's ticket `ticket` again (marked as a reprint) and record it
 * (event "reprint", `by` "kiosk", "clerk", "manager"). HQ_ERR_PRINTER if no
 * printer can print now, HQ_ERR_NOT_FOUND for no such ticket, HQ_ERR_STATE
 * when the hall has no printer configured. */
int hq_print_reprint(struct hq_daemon *d, int32_t ticket, const char *by);

/* The primary printer's paper-near-end sensor (a GPIO line, hqd_gpio.c): near_end marks the
 * printer "paper near end" (it still prints) in its health and status. HQ_ERR_STATE when the
 * hall has no printer configured. */
int hq_print_set_sensor(struct hq_daemon *d, bool near_end);

/* How many configured printers cannot print now (the printer-fault lamp, hqd_gpio.c). */
int hq_print_faults(const struct hq_daemon *d);

#endif
