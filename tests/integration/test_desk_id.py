"""An ID number typed at the guide desk (POST /api/v1/desk/issue, issue 16) against the real
hallqd: it gives a real-name ticket whose stored hash is the keyed hash a card with that
number gives (HMAC-SHA256 with privacy.id_hash_key, first 8 bytes), the per-person limit
counts it, a wrong check character is refused with a clear message, and the number itself
(in any of the ways it was typed) is never in the database, its WAL, the log (at the most
verbose level) or the outbox, whether hallqd stops cleanly or is SIGKILLed with the WAL not
yet checkpointed. The scan is shown to work: a cancel reason written in the same commands is
found in the same bytes. With the desk's own card reader (devices.card_readers[].kiosk "desk",
hallq-sim idcard): a card on a kiosk's reader is not the desk's citizen, the card on the desk's
reader gives a real-name ticket, and the same person's typed number then meets the per-person
limit (card and typed number hash alike). argv[1]: the hallq-sim binary."""
import copy
import glob
import hashlib
import hmac
import os
import sys

from hallq import BASE_CONFIG, MANAGER, Hall, wait_for
from hallq_devices import Sim, failures

T = failures("test_desk_id")
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "idcard")

KEY = BASE_CONFIG["privacy"]["id_hash_key"]
GOOD = "110101194803120010"   # born 1948-03-12
OTHER = "44030519900715123" + "3"  # born 1990-07-15
BAD = "110101194803120011"    # GOOD with a wrong check character
MARK = "desk-reason-marker-Q7"  # the cancel reason: must be found where the numbers are not
PIN = "desk-1003-Wd2"


def config():
    c = copy.deepcopy(BASE_CONFIG)
    c["hall"]["log_level"] = "hex"  # everything hallqd can log
    c["staff"] = [{"id": "1001", "name": "王芳"}, {"id": "1003", "name": "张伟", "role": "desk"}]
    for s in c["services"]:
        if s["code"] == "C":
            s["per_person_limit"] = 1
            s["priorities"] = ["elderly"]
    return c


def forms(number):
    """The ways the number could be found: as typed, in groups, its first 17 digits."""
    return [number, number[:6] + " " + number[6:14] + " " + number[14:], number[:17]]


def leaks(h, numbers):
    """(file, form) pairs where a form of a number is found in hallqd's files."""
    found = []
    files = [p for p in glob.glob(os.path.join(h.dir, "*")) if os.path.isfile(p)]
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        for n in numbers:
            for form in forms(n):
                for enc in ("utf-8", "utf-16-le", "utf-16-be"):
                    if form.encode(enc) in data:
                        found.append((os.path.basename(path), form, enc))
    return found


def contains(h, text, names):
    for name in names:
        p = os.path.join(h.dir, name)
        if os.path.exists(p):
            with open(p, "rb") as f:
                if text.encode() in f.read():
                    return True
    return False


def run(stop):
    with Hall(config()) as h:
        st, _ = h.post("/api/v1/admin/staff/1003/pin", {"pin": PIN}, token=MANAGER)
        T.eq(st, 200, "manager sets the desk person's PIN")
        st, b = h.post("/api/v1/session", {"staff": "1003", "pin": PIN, "desk": True})
        T.eq(st, 200, "desk sign-in")
        tok = b.get("token")

        st, b = h.post("/api/v1/desk/issue", {"service": "C", "id_number": BAD}, token=tok)
        T.eq(st, 400, "a wrong check character is refused")
        T.eq(b.get("reason"), "id_check_char", "... named as such")
        T.check("校验位" in b.get("message", "") and "check character" in b.get("message_en", ""),
                f"... in both languages: {b}")
        T.check(BAD not in str(b), "the refusal does not echo the number")

        st, b = h.post("/api/v1/desk/issue", {"service": "C", "id_number": GOOD, "assist": True},
                       token=tok)
        T.eq(st, 201, "a good typed number issues")
        t = b.get("ticket", {})
        T.eq(t.get("priority"), "elderly", "elderly from the number's birth date")
        T.eq(t.get("assist"), True, "the assist flag")
        label = t.get("number")
        with h.db() as db:
            row = db.execute("SELECT id_hash, flags FROM tickets WHERE label=?", (label,)).fetchone()
        want = hmac.new(KEY.encode(), GOOD.encode(), hashlib.sha256).hexdigest()[:16]
        T.eq(row[0] if row else None, want, "the stored hash is the card's keyed hash of the number")
        T.eq((row[1] & 1) if row else None, 1, "a real-name ticket")
        T.eq((row[1] & 16) if row else None, 16, "assist is kept in the row")
        with h.db() as db:
            ev = db.execute("SELECT data FROM events WHERE kind='issue' AND label=?", (label,)).fetchone()
            ob = db.execute("SELECT count(*) FROM outbox WHERE type='event' AND data LIKE ?",
                            (f'%"number":"{label}"%"assist":true%',)).fetchone()
        T.check(ev and '"assist":true' in ev[0], f"the issue event says assist: {ev}")
        T.eq(ob[0], 1, "... and so does its outbox row to the central server")

        st, b = h.post("/api/v1/desk/issue", {"service": "C", "id_number": forms(GOOD)[1]},
                       token=tok)
        T.eq(st, 409, "the same person again (typed in groups): the per-person limit")
        T.eq(b.get("error"), "person_limit", "... says so")

        # refusals before the number is checked must not keep it either
        for body in ({"service": "Z", "id_number": OTHER}, {"service": "C", "id_number": OTHER,
                                                            "card": True},
                     {"service": "C", "id_number": OTHER, "priority": "elderly"}):
            st, _ = h.post("/api/v1/desk/issue", body, token=tok)
            T.check(st in (400, 404), f"refused: {body.get('service')} -> {st}")
        st, b = h.post("/api/v1/desk/issue", {"service": "C", "id_number": OTHER}, token=tok)
        T.eq(st, 201, "another person's typed number issues")

        # a reason that holds an ID number is refused, an ordinary one is recorded
        st, b = h.post(f"/api/v1/tickets/{label}/cancel", {"reason": "证件 " + OTHER}, token=tok)
        T.eq(st, 400, "a cancel reason holding an ID number is refused")
        st, b = h.post(f"/api/v1/tickets/{label}/cancel", {"reason": MARK}, token=tok)
        T.eq(st, 200, "cancel with a reason")
        with h.db() as db:
            ev = db.execute("SELECT actor, data FROM events WHERE kind='cancel'").fetchall()
        T.eq(len(ev), 1, "one cancel event")
        T.check(ev and MARK in ev[0][1] and ev[0][0] == "staff:1003/desk", f"reason and actor: {ev}")

        if stop == "kill":
            h.kill()
            names = [os.path.basename(p) for p in glob.glob(os.path.join(h.dir, "hall.db*"))]
            T.check("hall.db-wal" in names, f"SIGKILL leaves the WAL to scan: {names}")
            # the scan sees what the WAL holds: the reason is there, un-checkpointed
            T.check(contains(h, MARK, ["hall.db-wal"]), "the marker is found in the WAL")
        else:
            h.stop()
            T.check(contains(h, MARK, ["hall.db", "hall.db-wal"]), "the marker is found on disk")
        found = leaks(h, [GOOD, BAD, OTHER])
        T.check(not found, f"no typed number in hallqd's files ({stop}): {found}")
        with open(h.log_path, "rb") as f:
            log = f.read()
        T.check(b"ID number typed" in log, "the log says a number was typed (not which)")


def card_of(h, kiosk):
    for c in h.status().get("cards", []):
        if c.get("kiosk") == kiosk:
            return c
    return {}


def desk_reader():
    h = Hall(config())
    h.config["devices"] = {"card_readers": [
        {"kiosk": "desk", "port": "pty:" + os.path.join(h.dir, "desk.tty")},
        {"kiosk": "k1", "port": "pty:" + os.path.join(h.dir, "k1.tty")}]}
    h.write_config()
    sims = []
    with h:
        desk = Sim(h.dir, "desk", "idcard", ["--pty", os.path.join(h.dir, "desk.tty")])
        k1 = Sim(h.dir, "k1", "idcard", ["--pty", os.path.join(h.dir, "k1.tty")])
        sims = [desk, k1]
        try:
            st, _ = h.post("/api/v1/admin/staff/1003/pin", {"pin": PIN}, token=MANAGER)
            st, b = h.post("/api/v1/session", {"staff": "1003", "pin": PIN, "desk": True})
            tok = b.get("token")
            # resident_elderly.bin holds GOOD (tests/data/idcard/CASES.json)
            k1.cmd("place " + os.path.join(DATA, "resident_elderly.bin"))
            T.check(wait_for(lambda: card_of(h, "k1").get("present")), "a card on kiosk k1's reader")
            st, b = h.post("/api/v1/desk/issue", {"service": "C", "card": True}, token=tok)
            T.eq((st, b.get("error")), (409, "id_required"),
                 "the card on a kiosk's reader is not the desk's citizen")
            k1.cmd("remove")
            desk.cmd("place " + os.path.join(DATA, "resident_elderly.bin"))
            T.check(wait_for(lambda: card_of(h, "desk").get("present")), "a card on the desk's reader")
            st, b = h.post("/api/v1/desk/issue", {"service": "C", "card": True, "assist": True},
                           token=tok)
            t = b.get("ticket") or {}
            T.eq((st, t.get("priority"), t.get("name_masked"), t.get("assist"), t.get("channel")),
                 (201, "elderly", "王**", True, "api"),
                 f"the desk's card: a real-name elderly ticket with assist ({b})")
            desk.cmd("remove")
            st, b = h.post("/api/v1/desk/issue", {"service": "C", "id_number": GOOD}, token=tok)
            T.eq((st, b.get("error")), (409, "person_limit"),
                 "the same person's typed number after the card: the per-person limit")
        finally:
            for sim in sims:
                sim.stop()
        T.check(not leaks(h, [GOOD]), "the card's number is nowhere in hallqd's files")


def main():
    run("kill")
    run("term")
    desk_reader()
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
