"""Two kiosks, two ID-card readers: each kiosk's tickets and appointment
look-ups take the card on its own reader only (the page says which kiosk it
is: /kiosk?kiosk=k1 sends "kiosk": "k1"). A citizen at kiosk k2 can never get
a ticket in the name of the person standing at kiosk k1. Without a kiosk id
the one card present is taken, and two cards at once are refused rather than
guessed between. argv[1]: the hallq-sim binary."""
import os
import sys

from hallq import Failures, Hall, wait_for
from test_hallqd_devices import DATA, Sim

F = Failures("test_kiosk_cards")


def card_of(h, kiosk):
    for c in h.status().get("cards", []):
        if c.get("kiosk") == kiosk:
            return c
    return {}


def main():
    h = Hall()
    h.config["devices"] = {
        "card_readers": [
            {"kiosk": "k1", "port": "pty:" + os.path.join(h.dir, "card1.tty")},
            {"kiosk": "k2", "port": "pty:" + os.path.join(h.dir, "card2.tty")},
        ],
    }
    h.write_config()
    h.start()
    sims = []
    try:
        r1 = Sim(h.dir, "card1", "idcard", ["--pty", os.path.join(h.dir, "card1.tty")])
        r2 = Sim(h.dir, "card2", "idcard", ["--pty", os.path.join(h.dir, "card2.tty")])
        sims = [r1, r2]
        F.eq(sorted(c.get("kiosk") for c in h.status().get("cards", [])), ["k1", "k2"],
             "the status lists both kiosks' readers")

        r1.cmd("place " + os.path.join(DATA, "resident_elderly.bin"))
        F.check(wait_for(lambda: card_of(h, "k1").get("present")), "a card on k1's reader")
        F.check(not card_of(h, "k2").get("present"), "nothing on k2's reader")

        st, body = h.issue("A", channel="kiosk", card=True, kiosk="k2")
        F.eq((st, body.get("error")), (409, "id_required"),
             "kiosk k2 cannot take the card lying on k1")
        st, body = h.get("/api/v1/appointments/card?kiosk=k2")
        F.eq((st, body.get("error")), (409, "id_required"), "nor look up its appointments")
        st, body = h.post("/api/v1/appointments/checkin", {"card": True, "kiosk": "k2"})
        F.eq((st, body.get("error")), (409, "id_required"), "nor check it in")

        st, body = h.issue("A", channel="kiosk", card=True, kiosk="k1")
        t = body.get("ticket") or {}
        F.eq((st, t.get("priority"), bool(t.get("name_masked"))), (201, "elderly", True),
             f"kiosk k1 issues with its own card ({st} {body})")
        st, body = h.issue("A", channel="kiosk", card=True)
        F.eq(st, 201, "no kiosk named, one card present: that card")

        r2.cmd("place " + os.path.join(DATA, "resident_adult.bin"))
        F.check(wait_for(lambda: card_of(h, "k2").get("present")), "a card on k2's reader")
        st, body = h.issue("A", channel="kiosk", card=True)
        F.eq((st, body.get("error")), (409, "state"),
             "two cards and no kiosk named: refused, not guessed")
        st, body = h.issue("A", channel="kiosk", card=True, kiosk="k2")
        t = body.get("ticket") or {}
        F.eq((st, t.get("priority")), (201, "normal"), "kiosk k2 issues with its own card")

        for bad in ("k1'; --", "x" * 40, 7):
            st, body = h.issue("A", channel="kiosk", card=True, kiosk=bad)
            F.eq(st, 400, f"a kiosk id that cannot be one is refused ({bad!r})")
    finally:
        for s in sims:
            s.p.terminate()
        F.eq(h.stop(), 0, "hallqd stops cleanly")
        if F.failed:
            print(h.read_log())
    return F.done()


if __name__ == "__main__":
    sys.exit(main())
