"""The business day rolls over at the hall's midnight while the hall is busy (a 24-hour hall, or a
self-service area): two issuers and one clerk per window send requests as fast as hallqd answers
them (the group commit of test_storage_concurrent, here meeting a rollover in the middle of a
group). The hall's utc_offset is chosen so that its midnight comes 10-70 s after the start.

Checked afterwards, from the answers and the database: every request answered (201/200, or 409
for a window whose ticket went with the old day, or nobody waiting); exactly one rollover; no
number given twice in a day; every ticket of the old day that was still live is expired, with
its ticket record in the outbox; each service's first ticket of the new day is the bottom of its
range; the database holds exactly the acknowledged tickets; the engine, restarted, agrees.
"""
import copy
import datetime
import json
import sqlite3
import sys
import time

from hallq import BASE_CONFIG, Failures, Hall, Load, stop_loads, wait_for

T = Failures("test_rollover")


def offset_for_midnight(lead_s=10):
    """A "+HH:MM" offset that puts the hall's midnight at a whole UTC minute 10-70 s from now."""
    now = datetime.datetime.now(datetime.timezone.utc)
    sod = now.hour * 3600 + now.minute * 60 + now.second
    m = (sod + lead_s + 59) // 60  # the UTC minute of day at which it is midnight locally
    off = (-m) % 1440
    if off > 840:
        off -= 1440
    sign = "+" if off >= 0 else "-"
    midnight = now.replace(second=0, microsecond=0) + datetime.timedelta(
        minutes=m - (now.hour * 60 + now.minute))
    return f"{sign}{abs(off) // 60:02d}:{abs(off) % 60:02d}", midnight.timestamp()


def main():
    cfg = copy.deepcopy(BASE_CONFIG)
    offset, midnight = offset_for_midnight()
    cfg["hall"]["utc_offset"] = offset
    for svc in cfg["services"][:2]:
        svc.update({"range": [1, 9999], "digits": 4, "daily_quota": 9999})
    h = Hall(cfg)
    clients = []
    try:
        h.start()
        day0 = h.status()["hall"]["day"]
        for w, staff in ((1, "1001"), (2, "1002"), (3, "1003")):
            T.eq(h.window(w, "login", {"staff": staff})[0], 200, f"login window {w}")
        # issuers faster than the windows: people are waiting at midnight (a few thousand, all
        # expired in the rollover's transaction), and under the quota of 9,999 a day
        clients = [Load(h, seed=1, pause=0.02), Load(h, seed=2, pause=0.02)] + \
            [Load(h, window=w, seed=10 + w, pause=0.05) for w in (1, 2, 3)]
        for c in clients:
            c.start()
        print(f"utc_offset {offset}: midnight in {midnight - time.time():.0f} s", flush=True)
        T.check(wait_for(lambda: h.status()["hall"]["day"] != day0, midnight - time.time() + 15),
                "the day did not roll over")
        time.sleep(3)
        T.eq(stop_loads(clients), 0, "clients hanging on a request")
        s = h.status()
        day1 = s["hall"]["day"]
        T.check(day1 > day0, f"new day {day1} after {day0}")
        T.check(s["clock"]["ok"] and s["clock"]["business_day"] == day1, f"clock: {s['clock']}")
        check(h, clients, day0, day1)
        after = [(v["code"], v["issued"], v["waiting"]) for v in s["services"]]
        T.eq(h.stop(), 0, "clean stop")
        h.start()
        T.eq([(v["code"], v["issued"], v["waiting"]) for v in h.status()["services"]], after,
             "a restart shows the same queues")
    finally:
        for c in clients:
            c.stop.set()
        h.__exit__(None, None, None)
    return T.done()


def days_since_epoch(iso):
    return (datetime.date.fromisoformat(iso) - datetime.date(1970, 1, 1)).days


def check(h, clients, day0, day1):
    broken = [b for c in clients for b in c.broken]
    T.eq(broken, [], "requests without an answer")
    log = [e for c in clients for e in c.log]
    by = {}
    for action, st, _ in log:
        by[(action, st)] = by.get((action, st), 0) + 1
    print(f"answers {sorted(by.items())}", flush=True)
    allowed = {"issue": (201,), "call": (200, 409), "finish": (200, 409), "rate": (200, 409)}
    odd = [(a, st, b) for a, st, b in log if st not in allowed[a]]
    T.eq(odd[:5], [], "answers other than done or 409")
    T.check(by.get(("issue", 201), 0) > 50 and by.get(("call", 200), 0) > 20,
            "the hall was busy")

    issued = {b["ticket"]["uuid"]: b["ticket"]["number"] for a, st, b in log
              if a == "issue" and st == 201}
    db = sqlite3.connect(h.db_path)
    rows = {u: (d, svc, num, label, status) for u, d, svc, num, label, status in db.execute(
        "SELECT uuid, day, orig_service, number, label, status FROM tickets")}
    T.eq(sorted(rows), sorted(issued), "the database holds exactly the acknowledged tickets")
    T.eq([u for u, n in issued.items() if u in rows and rows[u][3] != n][:3], [],
         "numbers as acknowledged")
    d0, d1 = days_since_epoch(day0), days_since_epoch(day1)
    T.eq(sorted({r[0] for r in rows.values()}), [d0, d1], "tickets of the two days only")
    seen = {}
    for u, (d, svc, num, label, status) in rows.items():
        seen.setdefault((d, svc, num), []).append(u)
    T.eq([k for k, v in seen.items() if len(v) > 1][:3], [], "a number given twice in a day")
    live = [u for u, r in rows.items() if r[0] == d0 and r[4] in
            ("waiting", "called", "serving", "parked")]
    T.eq(live, [], "tickets of the old day still live")
    expired = [u for u, r in rows.items() if r[0] == d0 and r[4] == "expired"]
    T.check(len(expired) > 0, "some tickets of the old day were waiting at midnight")
    recs = {json.loads(d).get("uuid") for (d,) in db.execute(
        "SELECT data FROM outbox WHERE type='ticket'")}
    T.eq([u for u in expired if u not in recs][:3], [], "an expired ticket has its ticket record")
    for svc in ("A", "B"):
        new = sorted((r[2], r[3]) for r in rows.values() if r[0] == d1 and r[1] == svc)
        T.check(not new or new[0][0] == 1, f"{svc}: the new day starts at 1, not {new[:1]}")
    n_roll = db.execute("SELECT count(*) FROM events WHERE kind='rollover'").fetchone()[0]
    T.eq(n_roll, 1, "one rollover event")
    ok = db.execute("PRAGMA integrity_check").fetchone()[0]
    T.eq(ok, "ok", "integrity_check")
    db.close()


if __name__ == "__main__":
    sys.exit(main())
