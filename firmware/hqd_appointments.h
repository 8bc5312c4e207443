/*
 * hqd_appointments.h — hallqd's appointment check-in (预约签到): a citizen
 * with an appointment from the central server gets an appointment-priority
 * ticket at the kiosk, by booking code or by the ID card on the reader.
 *
 *   POST /api/v1/appointments/checkin   {"booking_code":"..."} | {"card":true[,"service":"A"]}
 *   POST /api/v1/appointments/refresh   (manager) pull appointments now
 *   GET  /api/v1/appointments           (manager) today's appointments, names masked
 */
#ifndef HQD_APPOINTMENTS_H
#define HQD_APPOINTMENTS_H

struct hq_daemon;

/* hallqd module: settle check-ins a crash cut short (appt_recover), then add
 * the routes and the issue pre-check that claims an appointment. */
int hq_appointments_init(struct hq_daemon *d);
void hq_appointments_fini(struct hq_daemon *d);

#endif
