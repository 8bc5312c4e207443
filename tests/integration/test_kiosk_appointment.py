"""The kiosk flow of an ID card with an appointment (预约): place the card on
the kiosk's reader → the kiosk learns that this card has an appointment today
(GET /api/v1/appointments/card: service and slot only, nothing personal) →
one tap checks in (POST /api/v1/appointments/checkin {"card": true}) → a ticket
of priority appointment; afterwards the card has no open appointment.

The appointment is put straight into the database (the sync tests cover how
appointments arrive); the card comes from hallq-sim's ID-card reader on a pty.
argv[1]: the hallq-sim binary."""
import hashlib
import hmac
import os
import sys
import time

import hallq
from hallq import Failures, Hall, wait_for
from test_hallqd_devices import DATA, ELDERLY_ID, Sim

F = Failures("test_kiosk_appointment")
OFFSET = 8 * 3600  # the harness hall is on +08:00


def main():
    h = Hall()
    h.config["devices"] = {
        "card_readers": [{"kiosk": "k1", "port": "pty:" + os.path.join(h.dir, "card.tty")}],
    }
    # service A honours appointments (the harness hall's A honours elderly, disabled, green)
    h.config["services"][0]["priorities"] = ["elderly", "appointment"]
    h.write_config()
    key = h.config["privacy"]["id_hash_key"].encode()
    id_hash = hmac.new(key, ELDERLY_ID.encode(), hashlib.sha256).hexdigest()

    # a first start creates the schema; then today's appointment, slot around now
    h.start()
    h.stop()
    local = time.time() + OFFSET
    day = time.strftime("%Y-%m-%d", time.gmtime(local))
    mins = int(local % 86400) // 60
    start, end = max(0, mins - 5), min(23 * 60 + 59, mins + 25)
    with h.db() as db:
        db.execute("INSERT INTO appointments(id, service, date, slot_start, slot_end, id_hash, "
                   "booking_code, name_masked, status, updated_at) "
                   "VALUES('ap-1', 'A', ?, ?, ?, ?, NULL, '王**', 'booked', ?)",
                   (day, "%02d:%02d" % divmod(start, 60), "%02d:%02d" % divmod(end, 60),
                    id_hash, int(time.time())))
    h.start()
    card = None
    try:
        st, body = h.get("/api/v1/appointments/card")
        F.eq((st, body.get("error")), (409, "id_required"), "no card on the reader")

        card = Sim(h.dir, "card", "idcard", ["--pty", os.path.join(h.dir, "card.tty")])
        card.cmd("place " + os.path.join(DATA, "resident_adult.bin"))
        F.check(wait_for(lambda: h.status().get("card", {}).get("present")), "a card is read")
        st, body = h.get("/api/v1/appointments/card")
        F.eq((st, body.get("appointment")), (200, None), "another citizen's card: no appointment")

        card.cmd("remove")
        F.check(wait_for(lambda: not h.status().get("card", {}).get("present")), "card removed")
        card.cmd("place " + os.path.join(DATA, "resident_elderly.bin"))
        F.check(wait_for(lambda: h.status().get("card", {}).get("present")), "her card is read")
        st, body = h.get("/api/v1/appointments/card")
        ap = body.get("appointment") or {}
        F.eq((st, ap.get("service"), ap.get("service_name")), (200, "A", "社保业务"),
             f"her appointment is offered ({body})")
        F.eq((ap.get("slot_start"), ap.get("slot_end")),
             ("%02d:%02d" % divmod(start, 60), "%02d:%02d" % divmod(end, 60)), "its slot")
        F.check("id_hash" not in ap and "name_masked" not in ap and "booking_code" not in ap,
                "nothing personal in the answer")

        st, body = h.post("/api/v1/appointments/checkin", {"card": True})
        t = body.get("ticket") or {}
        F.eq((st // 100, t.get("priority"), t.get("channel"), t.get("service")),
             (2, "appointment", "appointment", "A"),
             f"one tap checks in with a ticket of priority appointment ({st} {body})")
        st, body = h.get("/api/v1/appointments/card")
        F.eq((st, body.get("appointment")), (200, None), "checked in: nothing more to offer")
        st, body = h.post("/api/v1/appointments/checkin", {"card": True})
        F.eq((st, body.get("error")), (409, "state"), "a second check-in is refused")
    finally:
        if card:
            card.p.terminate()
        F.eq(h.stop(), 0, "hallqd stops cleanly")
        if F.failed:
            print(h.read_log())
    return F.done()


if __name__ == "__main__":
    sys.exit(main())
