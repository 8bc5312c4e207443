"""Retention in the running daemon (firmware/hqd_retention.c; the rules themselves are
test_store's test_prune): a database holding a day of work plus rows from long ago — outbox
records the central server acknowledged, unacknowledged ones, event log rows, tickets and
evaluations of an old day, one of them a 差评 whose follow-up is still open — is opened by
hallqd with sync.retention_days 7, store.history_days 100 and store.event_log_days 60. Its first pass (5 s after
start) deletes exactly the old acknowledged records and the old history, keeps the
unacknowledged records and the open 差评, leaves today's queue alone, and says so in
/api/v1/status, /metrics and the log.

And the disk-space alarm (store.disk_alarm_mib): the free space of the database's file
system in /api/v1/status agrees with statvfs; a threshold above it raises the dashboard's
存储空间不足 alarm, and lowering it with SIGHUP clears it.
"""
import json
import os
import signal
import sqlite3
import sys
import time

from hallq import BASE_CONFIG, MANAGER, Failures, Hall, alarm_keys, wait_for

T = Failures("test_retention")
OLD_AT = "2025-06-01T10:00:00+08:00"


def columns(db, table):
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]


def age_database(path):
    """Rows from long ago, next to today's. Returns what the pass must delete."""
    db = sqlite3.connect(path)
    now = int(time.time())
    with db:
        db.execute("UPDATE outbox SET acked=1")  # today's: acknowledged but young
        for i in range(4500):  # three steps of at most 2,000, a second apart
            db.execute("INSERT INTO outbox(uuid, type, at, data, acked) VALUES(?,?,?,?,1)",
                       (f"old-acked-{i}", "event", OLD_AT, "{}"))
        for i in range(5):
            db.execute("INSERT INTO outbox(uuid, type, at, data, acked) VALUES(?,?,?,?,0)",
                       (f"old-unsent-{i}", "event", OLD_AT, "{}"))
        for i in range(30):
            db.execute("INSERT INTO events(at, kind, data) VALUES(?,?,?)",
                       (now - 200 * 86400 - i, "old", "{}"))
        # an old day's copy of today's tickets (200 days back: id = day << 20 | index)
        cols = columns(db, "tickets")
        sel = ["id - (200 << 20)" if c == "id" else "uuid || '-old'" if c == "uuid" else
               "day - 200" if c == "day" else c for c in cols]
        db.execute(f"INSERT INTO tickets({','.join(cols)}) SELECT {','.join(sel)} FROM tickets")
        old_tickets = db.execute("SELECT count(*) FROM tickets").fetchone()[0] // 2
        day = db.execute("SELECT max(day) FROM tickets").fetchone()[0]
        for uuid, level, state in (("old-good", 5, "none"), ("old-bad-open", 1, "open"),
                                   ("old-bad-closed", 2, "closed")):
            db.execute("INSERT INTO evaluations(uuid, ticket, label, day, service, window, staff,"
                       " level, channel, reasons, at, follow_up_state) "
                       "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                       (uuid, "t", "A001", day - 200, "A", 1, "1001", level, "pad", 0,
                        now - 200 * 86400, state))
    db.close()
    return {"outbox": 4500, "events": 30, "tickets": old_tickets, "evaluations": 2}


def disk_alarm():
    cfg = dict(BASE_CONFIG)
    cfg["store"] = dict(BASE_CONFIG["store"], disk_alarm_mib=16777216)  # 16 TiB: always low
    h = Hall(cfg)
    try:
        h.start()
        s = h.status()["storage"]
        v = os.statvfs(h.dir)
        free = v.f_bavail * v.f_frsize
        T.check(abs(s["disk_free_bytes"] - free) < max(64 << 20, free // 20),
                f"status disk_free_bytes {s['disk_free_bytes']} vs statvfs {free}")
        T.eq(s["disk_total_bytes"], v.f_blocks * v.f_frsize, "status disk_total_bytes")
        T.eq((s["disk_low"], s["disk_alarm_bytes"]), (True, 16777216 << 20), "disk_low below 16 TiB")
        T.check(wait_for(lambda: "storage:disk_low" in alarm_keys(h), 12),
                "no storage:disk_low alarm on the dashboard")
        a = alarm_keys(h).get("storage:disk_low", {})
        T.check(a.get("message", "").startswith("存储空间不足：剩余 ") and
                a.get("threshold") == 16777216 and a.get("kind") == "storage",
                f"alarm: {json.dumps(a, ensure_ascii=False)}")
        h.config["store"]["disk_alarm_mib"] = 0
        h.write_config()
        h.proc.send_signal(signal.SIGHUP)
        T.check(wait_for(lambda: h.status()["storage"]["disk_low"] is False, 10),
                "disk_low still true after SIGHUP with disk_alarm_mib 0")
        T.check(wait_for(lambda: "storage:disk_low" not in alarm_keys(h), 12),
                "the disk alarm did not clear")
    finally:
        h.__exit__(None, None, None)


def main():
    disk_alarm()
    cfg = dict(BASE_CONFIG)
    cfg["store"] = dict(BASE_CONFIG["store"], history_days=100, event_log_days=60)
    cfg["sync"] = {"retention_days": 7}
    h = Hall(cfg)
    try:
        h.start()
        for _ in range(4):
            st, _ = h.issue("A")
            T.eq(st, 201, "issue")
        T.eq(h.window(1, "login", {"staff": "1001"})[0], 200, "login")
        T.eq(h.window(1, "call-next")[0], 200, "call")
        T.eq(h.window(1, "finish")[0], 200, "finish")
        T.eq(h.window(1, "rating", {"level": 1})[0], 200, "a 差评 today")
        T.eq(h.stop(), 0, "clean stop")
        db = sqlite3.connect(h.db_path)
        today = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("outbox", "events", "tickets", "evaluations")}
        db.close()
        want = age_database(h.db_path)

        h.start()
        r = h.status()["retention"]
        T.eq((r["outbox_days"], r["history_days"], r["event_log_days"]), (7, 100, 60),
             "status: the configured days")
        T.check(wait_for(lambda: h.status()["retention"]["last_pass"] is not None, 20),
                "no retention pass within 20 s of start")
        r = h.status()["retention"]
        T.eq(r["deleted"], want, "status: deleted by the first pass")
        db = sqlite3.connect(h.db_path)
        left = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("outbox", "events", "tickets", "evaluations")}
        T.eq(left, dict(today, outbox=today["outbox"] + 5, evaluations=today["evaluations"] + 1),
             "rows left: today's, the 5 unsent old records, the open old 差评")
        T.eq(db.execute("SELECT count(*) FROM outbox WHERE uuid LIKE 'old-unsent-%' AND acked=0")
             .fetchone()[0], 5, "unacknowledged records are kept, however old")
        T.eq([r[0] for r in db.execute("SELECT uuid FROM evaluations WHERE uuid LIKE 'old-%'")],
             ["old-bad-open"], "the old 差评 with an open follow-up is kept")
        db.close()
        st, body = h.get("/metrics")
        text = body.decode()
        for kind, n in want.items():
            T.check(f'hallq_retention_deleted_total{{kind="{kind}"}} {n}\n' in text,
                    f"/metrics: {kind} {n}")
        log = h.read_log()
        T.check("deleted 4500 acknowledged outbox records older than 7 days" in log,
                "the log says what the pass deleted, once for its three steps")
        T.eq(log.count("acknowledged outbox records older than"), 1, "one log line per pass")
        s = h.status()
        a = next(v for v in s["services"] if v["code"] == "A")
        T.eq((a["issued"], a["waiting"]), (4, 3), "today's queue untouched")
        st, body = h.get("/api/v1/admin/evaluations?bad=1", token=MANAGER)
        T.eq(st, 200, "差评 list")
    finally:
        h.__exit__(None, None, None)
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
