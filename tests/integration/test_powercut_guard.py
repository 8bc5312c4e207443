"""test_powercut_guard.py — who may switch the power-cut simulation on (firmware/powercut.c).

1. HQ_POWERCUT=SEED:1 on a plain start: hallqd says the simulation is on and its first write
   (the new database's schema) is a cut (exit 86, a POWERCUT line in the log); started again
   without it, hallqd recovers the database and issues;
2. the same under systemd (NOTIFY_SOCKET set, as the unit sets it): refused with a message,
   hallqd serves and stops cleanly, the tickets are kept;
3. a malformed HQ_POWERCUT: refused with a message naming the expected form, hallqd serves.
usage: test_powercut_guard.py   (env HQ_BUILD, HQ_SOURCE as test_api)
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hallq import Failures, Hall  # noqa: E402

f = Failures("test_powercut_guard")


def main():
    # 1. a test's start: the first write (creating the schema of a fresh database) cuts;
    # the next start recovers the half-created database and serves
    h = Hall(env={"HQ_POWERCUT": "7:1"})
    try:
        try:
            h.start()
            f.check(False, "hallqd answered although its first write was to cut")
        except RuntimeError:
            pass
        f.eq(h.stop(), 86, "exit status of a power cut")
        log = h.read_log()
        f.check("power-cut simulation on" in log, "the log says the simulation is on")
        f.check("POWERCUT power cut at op 1:" in log, "the cut is logged")
        h.env.pop("HQ_POWERCUT")
        h.start()
        st, _ = h.issue("A")
        f.eq(st, 201, "after the cut: a ticket")
        f.eq(h.stop(), 0, "clean stop")
    finally:
        if h.alive():
            h.stop()

    # 2. under systemd the variable is ignored
    sock = "/run/hallq-test-no-such-notify-socket"
    with Hall(env={"HQ_POWERCUT": "7:1", "NOTIFY_SOCKET": sock}) as h:
        log = h.read_log()
        f.check("started by systemd" in log and "ignored" in log, "refused under systemd")
        f.check("power-cut simulation on" not in log, "not switched on")
        for _ in range(3):
            st, _ = h.issue("A")
            f.eq(st, 201, "tickets issued")
        time.sleep(0.3)
        f.check(h.alive(), "no cut")
        f.eq(h.stop(), 0, "clean stop")
        db = h.db()
        f.eq(db.execute("SELECT count(*) FROM tickets").fetchone()[0], 3, "tickets kept")
        db.close()

    # 3. a malformed value
    with Hall(env={"HQ_POWERCUT": "soon"}) as h:
        f.check("expected SEED:OPS" in h.read_log(), "a malformed value is named")
        st, _ = h.issue("A")
        f.eq(st, 201, "hallqd serves")
        f.eq(h.stop(), 0, "clean stop")
    return f.done()


if __name__ == "__main__":
    sys.exit(main())
