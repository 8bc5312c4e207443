#!/usr/bin/env python3
"""Central sync, the rest of the up-link: the real hallqd against the real
hallq-central (what test_uplink.py does not already cover).

- every record type (ticket, evaluation with both level encodings and the
  §5 好差评 fields, event, appointment checkin event) arrives byte-for-byte
  as the outbox holds it, over HTTP and over serial;
- a long backlog (3,000 records) built while the server is down arrives
  exactly once and in seq order when it comes back; the backlog alarm is
  raised (status, SSE "alarm", /metrics) and cleared;
- hallqd SIGKILLed while a batch is in flight: nothing lost, the resent
  batch is absorbed by the server's dedup;
- serial: line noise, bad CRCs and bad escapes before every answer, and a
  short acknowledgement, are survived;
- a 4xx raises the alarm and keeps the records; SIGHUP with the fixed
  settings restarts the transport without a restart of hallqd.

Environment: HQ_BUILD (hallqd), HQ_CENTRAL (hallq-central).
"""
import copy
import datetime
import json
import os
import shutil
import signal
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_central as tc  # noqa: E402
from hallq import BASE_CONFIG, MANAGER, TIME_SCALE, Hall  # noqa: E402

TOKEN = "central-token-0123456789"
EVAL_FIELDS = {"case_no", "task_code", "window", "staff", "level", "gbt39046_code", "channel",
               "reasons", "text", "assess_number"}


def wait_for(what, cond, timeout=20.0, step=0.05):
    end = time.time() + timeout * TIME_SCALE  # stretched under valgrind (HQ_TIME_SCALE)
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


def noon_offset():
    """A hall.utc_offset that puts the hall's local time near noon, so slot
    times a few hours either side stay on today's date whenever this runs."""
    h = datetime.datetime.now(datetime.timezone.utc).hour
    off = 12 - h
    return off, "%s%02d:00" % ("+" if off >= 0 else "-", abs(off))


def local_now(off_h):
    return datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=off_h)))


class SSE:
    """Collects (event, data) from /api/v1/events in a thread."""

    def __init__(self, hall):
        self.events, self.stop = [], threading.Event()
        self.sock = socket.create_connection(("127.0.0.1", hall.port))
        self.sock.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Accept: text/event-stream\r\n\r\n")
        self.sock.settimeout(0.2)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        buf = b""
        while not self.stop.is_set():
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                ev = data = None
                for line in block.decode("utf-8", "replace").splitlines():
                    if line.startswith("event: "):
                        ev = line[7:]
                    elif line.startswith("data: "):
                        data = line[6:]
                if ev and data:
                    self.events.append((ev, json.loads(data)))

    def of(self, name):
        return [d for e, d in self.events if e == name]

    def close(self):
        self.stop.set()
        self.t.join(2)
        self.sock.close()


def outbox(hall):
    db = hall.db()
    try:
        return db.execute("SELECT seq, uuid, type, at, data, acked FROM outbox ORDER BY seq"
                          ).fetchall()
    finally:
        db.close()


def metrics(hall):
    st, body = hall.get("/metrics")
    assert st == 200
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


class SyncRecordsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hallq-syncrec-")
        self.servers, self.halls, self.sse = [], [], []

    def tearDown(self):
        for s in self.sse:
            s.close()
        for h in self.halls:
            h.__exit__(None, None, None)
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def central(self, *args, name="c"):
        c = tc.Central(self.tmp, *args, name=name)
        self.servers.append(c)
        return c

    def hall(self, sync, start=True, offset=None):
        cfg = copy.deepcopy(BASE_CONFIG)
        cfg["sync"] = sync
        cfg["services"][0]["priorities"] = ["elderly", "disabled", "green", "appointment"]
        cfg["services"][0]["task_code"] = "11330000MB0000000X4000111000001"
        if offset:
            cfg["hall"]["utc_offset"] = offset
        h = Hall(cfg)
        self.halls.append(h)
        if start:
            h.__enter__()
        return h

    def delivered(self, hall, central, timeout=30.0):
        """Every outbox row acked and the server holds exactly the same records."""
        wait_for("the outbox to drain", lambda: all(r[5] == 1 for r in outbox(hall)), timeout)
        rows = outbox(hall)
        got = [(r["seq"], r["uuid"], r["type"], r["at"], r["data"]) for r in central.dump()]
        want = [(s, u, t, a, json.loads(d)) for s, u, t, a, d, _ in rows]
        self.assertEqual(len(got), len(want))
        self.assertEqual(got, want)
        return rows

    # ---------------------------------------------------------- round trip
    def every_type(self, hall, central, off_h):
        """Drive the hall through each kind of record, the check-in included."""
        now = local_now(off_h)
        appts = os.path.join(self.tmp, "appts.json")
        with open(appts, "w", encoding="utf-8") as f:
            json.dump({"appointments": [{
                "id": "rt-1", "service": "A", "date": now.strftime("%Y-%m-%d"),
                "slot_start": now.strftime("%H:%M"),
                "slot_end": (now + datetime.timedelta(minutes=30)).strftime("%H:%M"),
                "booking_code": "RT0001", "name_masked": "王*", "status": "booked"}]}, f)
        self.assertTrue(central.control("appointments " + appts))
        st, body = hall.post("/api/v1/appointments/refresh", token=MANAGER)
        self.assertEqual(st, 202, body)
        wait_for("the appointment", lambda: hall.status()["sync"]["appointments"]["received"] >= 1)
        st, body = hall.post("/api/v1/appointments/checkin", {"booking_code": "RT0001"})
        self.assertEqual(st, 201, body)
        self.assertEqual(body["ticket"]["priority"], "appointment")
        for _ in range(2):
            self.assertEqual(hall.issue("A")[0], 201)
        self.assertEqual(hall.window(1, "login", {"staff": "1001"})[0], 200)
        for level in (1, 5):
            for action in ("call-next", "start", "finish"):
                st, body = hall.window(1, action)
                self.assertEqual(st, 200, (action, body))
            if level == 1:  # a malformed reason list is refused and the rating still waits
                for bad in ([0], [33], ["slow"], 3, [1.5]):
                    st, body = hall.window(1, "rating", {"level": 1, "reasons": bad})
                    self.assertEqual(st, 400, (bad, body))
            body_ = {"level": level, "reasons": [2, 5]} if level == 1 else {"level": level}
            st, body = hall.window(1, "rating", body_)
            self.assertEqual(st, 200, body)

    def check_types(self, rows):
        by_type = {}
        for _, _, typ, _, data, _ in rows:
            by_type.setdefault(typ, []).append(json.loads(data))
        self.assertEqual(set(by_type), {"ticket", "evaluation", "event"})
        kinds = {e["kind"] for e in by_type["event"]}
        self.assertTrue({"issue", "login", "call", "finish", "rate", "checkin"} <= kinds, kinds)
        evs = sorted(by_type["evaluation"], key=lambda e: e["level"])
        self.assertEqual([e["level"] for e in evs], [1, 5])
        for e in evs:
            self.assertTrue(EVAL_FIELDS <= set(e), EVAL_FIELDS - set(e))
            self.assertEqual(e["gbt39046_code"], 6 - e["level"])
            self.assertEqual(e["channel"], "政务大厅平板电脑")
            self.assertEqual(e["task_code"], "11330000MB0000000X4000111000001")
            self.assertEqual(e["window"], 1)
            self.assertEqual(e["staff"], "1001")
            self.assertEqual(e["assess_number"], 1)
            self.assertEqual(e["text"], "")
        self.assertEqual([e["reasons"] for e in evs], [[2, 5], []])  # the tablet's reason codes
        self.assertIn("follow_up_due", evs[0])      # 差评: 回访整改 due date
        self.assertNotIn("follow_up_due", evs[1])
        tickets = [t for t in by_type["ticket"] if t["status"] == "done"]
        self.assertEqual(len(tickets), 2)
        checkin = [e for e in by_type["event"] if e["kind"] == "checkin"]
        self.assertEqual(len(checkin), 1)
        self.assertEqual(checkin[0]["appointment"], "rt-1")
        self.assertFalse(checkin[0]["late"])

    def test_round_trip_http(self):
        off_h, off = noon_offset()
        c = self.central("--token", TOKEN)
        h = self.hall({"url": "http://127.0.0.1:%d" % c.port, "token": TOKEN,
                       "appointments_interval_s": 0}, offset=off)
        self.every_type(h, c, off_h)
        self.check_types(self.delivered(h, c))

    def test_round_trip_serial_noise(self):
        off_h, off = noon_offset()
        link = os.path.join(self.tmp, "ttyGW")
        c = self.central("--serial", "pty:" + link, "--fault", "noise")
        c.wait_line("ready serial")
        h = self.hall({"serial": "pty:" + link, "appointments_interval_s": 0}, offset=off)
        wait_for("the serial link", lambda: h.status()["sync"].get("link_up"))
        # Every answer (A and P frames) comes after junk, a bad-CRC A frame
        # claiming seq 999999999 and a badly escaped frame.
        self.every_type(h, c, off_h)
        rows = self.delivered(h, c)
        self.check_types(rows)
        self.assertTrue(h.alive())
        self.assertEqual(h.status()["sync"]["acked_through"], rows[-1][0])
        # A short acknowledgement on the serial line: resent from the right seq.
        self.assertTrue(c.control("ack-less 2"))
        for _ in range(3):
            self.assertEqual(h.issue("A")[0], 201)
        last = outbox(h)[-1][0]
        wait_for("the server to hold everything", lambda: len(c.dump()) == last)
        time.sleep(0.5)
        self.assertEqual([r[0] for r in outbox(h) if r[5] == 0], [last - 1, last])
        self.assertTrue(c.control("off"))
        self.delivered(h, c, timeout=15)

    # -------------------------------------------------------- long backlog
    def test_long_backlog(self):
        c = self.central("--token", TOKEN, "--fault", "refuse")
        h = self.hall({"url": "http://127.0.0.1:%d" % c.port, "token": TOKEN,
                       "alarm_backlog": 2000, "appointments_interval_s": 0}, start=False)
        h.start()
        self.assertEqual(h.issue("A")[0], 201)  # a real record first: the shape to copy
        h.stop()
        db = sqlite3.connect(h.db_path)
        seq1, typ, at, data = db.execute("SELECT seq, type, at, data FROM outbox ORDER BY seq"
                                         " LIMIT 1").fetchone()
        base = json.loads(data)
        rows = []
        for i in range(3000):
            d = dict(base, n=i)
            rows.append(("00000000-0000-4000-8000-%012d" % i, typ, at, json.dumps(
                d, ensure_ascii=False, separators=(",", ":"))))
        db.executemany("INSERT INTO outbox(uuid, type, at, data) VALUES(?,?,?,?)", rows)
        db.commit()
        db.close()
        h.start()
        sse = SSE(h)
        self.sse.append(sse)
        st = wait_for("the backlog alarm", lambda: (s := h.status()["sync"])["alarm"] and s)
        self.assertIn("backlog", st["alarm_reasons"])
        self.assertFalse(st["refused"])
        self.assertEqual(st["backlog"], 3001)
        wait_for("a refused attempt", lambda: h.status()["sync"]["failures"] >= 1)
        m = metrics(h)
        self.assertEqual(m["hallq_sync_alarm"], 1)
        self.assertEqual(m["hallq_sync_backlog"], 3001)
        self.assertGreaterEqual(m["hallq_sync_failures_total"], 1)
        self.assertEqual(c.dump(), [])
        self.assertTrue(c.control("off"))
        out = self.delivered(h, c, timeout=40)
        self.assertEqual(len(out), 3001)
        # In order: the server stored them in seq order (its insertion order).
        cdb = sqlite3.connect(c.db)
        arrival = [r[0] for r in cdb.execute("SELECT seq FROM records ORDER BY rowid")]
        cdb.close()
        self.assertEqual(arrival, sorted(arrival))
        self.assertEqual(arrival, [r[0] for r in out])
        # The alarm clears, on the status, /metrics and the SSE stream.
        wait_for("the alarm to clear", lambda: not h.status()["sync"]["alarm"])
        m = metrics(h)
        self.assertEqual(m["hallq_sync_alarm"], 0)
        self.assertEqual(m["hallq_sync_backlog"], 0)
        self.assertEqual(m["hallq_sync_records_acked_total"], 3001)
        self.assertGreater(m["hallq_sync_last_success_timestamp_seconds"], 0)
        # The alarm was raised before the page connected: its first message
        # (the whole status) shows it; the clearing comes as an event.
        first = wait_for("the SSE status", lambda: sse.of("status"))[0]
        self.assertTrue(first["sync"]["alarm"])
        self.assertIn("backlog", first["sync"]["alarm_reasons"])
        cleared = wait_for("the SSE alarm event", lambda: sse.of("alarm"))[-1]
        self.assertFalse(cleared["alarm"])
        self.assertEqual(cleared["reasons"], [])
        self.assertIn("解除", cleared["message"])

    # ----------------------------------------------------- kill in flight
    def test_kill_during_upload(self):
        c = self.central("--token", TOKEN, "--fault", "slow 1500")
        h = self.hall({"url": "http://127.0.0.1:%d" % c.port, "token": TOKEN,
                       "appointments_interval_s": 0})
        for _ in range(30):
            self.assertEqual(h.issue("A")[0], 201)
        wait_for("a batch in flight", lambda: h.status()["sync"]["in_flight"])
        h.kill()
        # The server finishes storing the batch the dead hall sent.
        wait_for("the server to store the batch", lambda: len(c.dump()) > 0, timeout=10)
        held = {r["seq"] for r in c.dump()}
        unacked = {r[0] for r in outbox(h) if r[5] == 0}
        self.assertTrue(held & unacked, "the killed batch is held but not acknowledged")
        self.assertTrue(c.control("off"))
        h.start()
        for _ in range(3):
            self.assertEqual(h.issue("A")[0], 201)
        rows = self.delivered(h, c)
        self.assertEqual(len({r[1] for r in rows}), len(rows))

    # ----------------------------------------- 4xx alarm, SIGHUP reload
    def test_4xx_alarm_and_reload(self):
        c = self.central("--token", TOKEN)
        h = self.hall({"url": "http://127.0.0.1:%d" % c.port, "token": TOKEN,
                       "appointments_interval_s": 0})
        sse = SSE(h)
        self.sse.append(sse)
        self.assertTrue(c.control("status 400"))
        for _ in range(3):
            self.assertEqual(h.issue("A")[0], 201)
        st = wait_for("the 4xx alarm", lambda: (s := h.status()["sync"])["refused"] and s)
        self.assertTrue(st["alarm"])
        self.assertEqual(st["alarm_reasons"], ["refused"])
        self.assertIn("400", st["last_error"])
        self.assertEqual(st["backlog"], 3)
        m = metrics(h)
        self.assertEqual((m["hallq_sync_alarm"], m["hallq_sync_refused"]), (1, 1))
        self.assertEqual(m["hallq_sync_last_error"], 1)
        ev = wait_for("an SSE alarm", lambda: sse.of("alarm"))
        self.assertEqual(ev[0]["reasons"], ["refused"])
        self.assertEqual(c.dump(), [])
        # The alarm retries every few minutes; a reload restarts at once. The
        # fixed setting here is a new server (the old one stays broken).
        c2 = self.central("--token", TOKEN, name="c2")
        pid = h.proc.pid
        h.config["sync"]["url"] = "http://127.0.0.1:%d" % c2.port
        h.config["sync"]["alarm_backlog"] = 5
        h.write_config()
        h.proc.send_signal(signal.SIGHUP)
        try:
            self.delivered(h, c2, timeout=15)
        except AssertionError:
            print(h.read_log())
            raise
        self.assertEqual(h.proc.pid, pid)
        self.assertTrue(h.alive())
        st = wait_for("the alarm to clear", lambda: not (s := h.status()["sync"])["alarm"] and s)
        self.assertEqual(st["alarm_backlog"], 5)
        self.assertFalse(sse.of("alarm")[-1]["alarm"])
        # A reload to settings that cannot start keeps the running ones.
        h.config["sync"]["ca_file"] = "/nonexistent/ca.pem"
        h.write_config()
        h.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertEqual(h.issue("A")[0], 201)
        self.delivered(h, c2, timeout=15)


if __name__ == "__main__":
    tc.central_from_env()
    unittest.main(verbosity=2)
