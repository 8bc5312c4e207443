/*
 * hqd_qr.h — a ticket's QR code as SVG, for the kiosk's screen (hqd_qr.c).
 *
 * GET /t/{uuid}/qr.svg answers the QR code of the ticket's status page
 * (public_url/t/{uuid}, the URL the printed ticket's QR holds), drawn by
 * libqrencode: the kiosk shows it as an image instead of encoding QR codes
 * in JavaScript. The key is the ticket's uuid, never its number: the number
 * is public (it is called out in the hall) and the uuid is the capability
 * for the status page. A number, an unknown uuid or a ticket of another day
 * is a 404.
 */
#ifndef HQD_QR_H
#define HQD_QR_H

#include <stddef.h>

#include "api.h"

/* The QR code (error correction M, 8-bit mode, 4-module quiet zone) of text
 * as an SVG document, malloc'd into *svg (NUL-terminated, *len bytes).
 * HQ_ERR_INVALID for text libqrencode cannot hold, HQ_ERR_NOMEM. */
int hqd_qr_svg(const char *text, char **svg, size_t *len);

/* Answer GET /t/{tail} when tail is "{uuid}/qr.svg"; HQ_ERR_NOT_FOUND for
 * any other tail or a uuid that is not a ticket of the day. */
int hqd_qr_ticket(struct hq_api_req *req, const char *tail);

#endif
