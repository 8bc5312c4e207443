"""A wall clock behind what the box recorded (a box without a battery-backed RTC after a power
cut, before NTP sets it; or a clock that ran ahead and was pulled back): hallqd keeps the queue
going on its business day (the engine never rolls the day back), logs it at start, and says so
in /api/v1/status "clock" and as the dashboard's 时钟 alarm, so the manager hears of it.

The test makes the database look as if it was written 3 hours (then 2 days) in the future of
this machine's clock: the newest event-log row 3 hours ahead; then the business day 2 days
ahead.
"""
import datetime
import sqlite3
import sys

from hallq import BASE_CONFIG, Failures, Hall, alarm_keys, wait_for

T = Failures("test_clock")


def main():
    h = Hall(BASE_CONFIG)
    try:
        h.start()
        T.eq(h.issue("A")[0], 201, "issue")
        T.eq(h.window(1, "login", {"staff": "1001"})[0], 200, "login")
        c = h.status()["clock"]
        T.eq((c["ok"], c["behind_s"], c["behind_day"]), (True, 0, False), "a right clock")
        T.eq(c["business_day"], h.status()["hall"]["day"], "business day = the clock's date")
        T.check("clock:behind" not in alarm_keys(h), "no clock alarm with a right clock")
        T.eq(h.stop(), 0, "clean stop")

        db = sqlite3.connect(h.db_path)
        with db:
            db.execute("UPDATE events SET at = at + 3 * 3600")
        db.close()
        h.start()
        c = h.status()["clock"]
        T.check(c["ok"] is False and 3 * 3600 - 120 <= c["behind_s"] <= 3 * 3600,
                f"status clock 3 h behind: {c}")
        T.eq(c["behind_day"], False, "same business day")
        T.check("is behind the newest record" in h.read_log(), "the start-up log says so")
        T.check(wait_for(lambda: "clock:behind" in alarm_keys(h), 12), "no clock alarm")
        a = alarm_keys(h).get("clock:behind", {})
        T.check(a.get("kind") == "clock" and a.get("message", "").startswith("系统时钟比已记录的时间慢 18"),
                f"alarm: {a}")
        T.eq(h.issue("A")[0], 201, "the queue goes on while the clock is behind")
        T.eq(h.stop(), 0, "clean stop")

        db = sqlite3.connect(h.db_path)
        with db:
            db.execute("UPDATE events SET at = at - 3 * 3600")
            day = int(db.execute("SELECT value FROM meta WHERE key='day'").fetchone()[0])
            db.execute("UPDATE meta SET value=? WHERE key='day'", (str(day + 2),))
        db.close()
        h.start()
        c = h.status()["clock"]
        T.eq((c["ok"], c["behind_day"]), (False, True), "the business day is 2 days ahead")
        st, body = h.issue("A")
        T.eq(st, 201, "issue on the queue's own day")
        s = h.status()
        want = (datetime.date.fromisoformat(s["hall"]["day"]) + datetime.timedelta(days=2)).isoformat()
        T.eq(s["clock"]["business_day"], want, "the queue stays on its day, 2 days after the clock's")
    finally:
        h.__exit__(None, None, None)
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
