#!/usr/bin/env python3
"""Appointments (预约), end to end: hallq-central hands them out, the real
hallqd pulls them (HTTP with cursor paging, serial Q/P frames through line
noise) into its database, and citizens check in by booking code at the
kiosk's API. Checks every rule: on time -> appointment priority; late past
the grace -> a normal ticket and the answer says so; too early -> refused,
appointment kept; another day, cancelled, unknown service, unknown code,
twice -> refused. A check-in cut by a crash between its claim and its ticket
is settled at start (released, or finished with its checkin record). Over
HTTPS the pull trusts only the configured CA.
Card check-in is unit-tested (test_appt: hash matching); here a card request
without a card on the reader is refused.

Environment: HQ_BUILD (hallqd), HQ_CENTRAL (hallq-central).
"""
import copy
import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_central as tc  # noqa: E402
from hallq import BASE_CONFIG, CLERK, MANAGER, Hall, free_port, read_text  # noqa: E402
from test_sync_records import local_now, noon_offset, outbox, wait_for  # noqa: E402

TOKEN = "central-token-0123456789"


def hhmm(t):
    return t.strftime("%H:%M")


class AppointmentsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hallq-appt-")
        self.servers, self.halls = [], []
        self.off_h, self.off = noon_offset()

    def tearDown(self):
        for h in self.halls:
            h.__exit__(None, None, None)
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def appointments(self, fillers=0):
        now = local_now(self.off_h)
        today = now.strftime("%Y-%m-%d")
        tomorrow = (now + datetime.timedelta(days=1)).strftime("%Y-%m-%d")

        def ap(id_, start, code, date=today, service="A", status="booked", hall=None):
            a = {"id": id_, "service": service, "date": date, "slot_start": hhmm(start),
                 "slot_end": hhmm(start + datetime.timedelta(minutes=30)),
                 "booking_code": code, "name_masked": "张*", "status": status}
            if hall:
                a["hall_id"] = hall
            return a

        m = datetime.timedelta(minutes=1)
        items = [
            ap("on-time", now + 10 * m, "ONTIME1"),
            ap("late", now - 20 * m, "LATE01"),
            ap("early", now + 45 * m, "EARLY1"),
            ap("tomorrow", now, "TMRW01", date=tomorrow),
            ap("cancelled", now, "CANC01", status="cancelled"),
            ap("no-service", now, "NOSVC1", service="Z"),
            ap("crash-open", now, "CRASH1"),
            ap("crash-done", now, "CRASH2"),
            ap("other-hall", now, "OTHER1", hall="some-other-hall"),
        ]
        items += [ap("f%04d" % i, now, "F%04d" % i, date=tomorrow) for i in range(fillers)]
        path = os.path.join(self.tmp, "appts.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"appointments": items}, f, ensure_ascii=False)
        return path, len(items) - 1  # the other hall's is not for us

    def hall(self, sync):
        cfg = copy.deepcopy(BASE_CONFIG)
        cfg["hall"]["utc_offset"] = self.off
        cfg["services"][0]["priorities"] = ["elderly", "appointment"]
        cfg["sync"] = dict(sync, appointment_early_s=1800, appointment_grace_s=900)
        h = Hall(cfg)
        self.halls.append(h)
        h.__enter__()
        return h

    def checkin(self, h, code, status, error=None):
        st, body = h.post("/api/v1/appointments/checkin", {"booking_code": code})
        self.assertEqual(st, status, (code, body))
        if error:
            self.assertEqual(body["error"], error, body)
            self.assertTrue(body["message"] and body["message_en"], body)
        return body

    def row(self, h, id_):
        db = h.db()
        try:
            return db.execute("SELECT status, checked_in_ticket FROM appointments WHERE id=?",
                              (id_,)).fetchone()
        finally:
            db.close()

    def test_http_pull_and_checkin(self):
        path, n = self.appointments(fillers=520)  # more than one 500-item page
        c = self.central("--token", TOKEN, "--appointments", path)
        h = self.hall({"url": "http://127.0.0.1:%d" % c.port, "token": TOKEN,
                       "appointments_interval_s": 0})
        # On demand only (interval 0): nothing yet; a clerk may not ask.
        self.assertEqual(h.status()["sync"]["appointments"]["received"], 0)
        self.assertEqual(h.post("/api/v1/appointments/refresh", token=CLERK)[0], 401)
        st, body = h.post("/api/v1/appointments/refresh", token=MANAGER)
        self.assertEqual(st, 202, body)
        ap = wait_for("the pull", lambda: (a := h.status()["sync"]["appointments"])
                      ["received"] == n and not a["pulling"] and a)
        self.assertGreaterEqual(ap["pulls"], 3)  # 500, the rest, then an empty page
        self.assertIsNone(ap["last_error"])
        db = h.db()
        self.assertEqual(db.execute("SELECT count(*) FROM appointments").fetchone()[0], n)
        self.assertEqual(db.execute("SELECT value FROM meta WHERE key='appointments_cursor'"
                                    ).fetchone()[0], ap["cursor"])
        db.close()
        # Pulling again from the cursor brings nothing new.
        self.assertEqual(h.post("/api/v1/appointments/refresh", token=MANAGER)[0], 202)
        wait_for("the second pull", lambda: h.status()["sync"]["appointments"]["pulls"]
                 >= ap["pulls"] + 1)
        self.assertEqual(h.status()["sync"]["appointments"]["received"], n)

        body = self.checkin(h, "ontime1", 201)  # codes are not case-sensitive
        t = body["ticket"]
        self.assertEqual((t["priority"], t["channel"]), ("appointment", "appointment"))
        self.assertFalse(body["late"])
        self.assertEqual(body["appointment"]["id"], "on-time")
        self.assertIn("签到成功", body["message"])
        self.assertEqual(self.row(h, "on-time")[0], "checked_in")
        self.assertEqual(self.row(h, "on-time")[1], t["uuid"])
        again = self.checkin(h, "ONTIME1", 409, "state")
        self.assertIn("已签到", again["message"])
        self.assertIn(t["number"], again["detail"])

        body = self.checkin(h, "LATE01", 201)
        self.assertTrue(body["late"])
        self.assertEqual(body["ticket"]["priority"], "normal")
        self.assertEqual(body["ticket"]["channel"], "appointment")
        self.assertIn("普通号", body["message"])
        self.assertEqual(self.row(h, "late")[0], "checked_in")

        early = self.checkin(h, "EARLY1", 409, "state")
        self.assertIn("未到签到时间", early["message"])
        self.assertEqual(self.row(h, "early"), ("booked", None))  # kept for later
        self.assertIn("不是今天", self.checkin(h, "TMRW01", 409, "state")["message"])
        self.assertIn("取消", self.checkin(h, "CANC01", 409, "state")["message"])
        self.checkin(h, "NOSVC1", 404, "not_found")
        self.checkin(h, "NOSUCH", 404, "not_found")
        self.checkin(h, "OTHER1", 404, "not_found")
        st, body = h.post("/api/v1/appointments/checkin", {"card": True})
        self.assertEqual((st, body["error"]), (409, "id_required"))
        st, body = h.post("/api/v1/appointments/checkin", {"booking_code": 5})
        self.assertEqual((st, body["error"]), (400, "invalid"))

        # The manager's list of today's appointments: no codes, no hashes.
        st, body = h.get("/api/v1/appointments", token=MANAGER)
        self.assertEqual(st, 200)
        by_id = {a["id"]: a for a in body["appointments"]}
        self.assertEqual(by_id["on-time"]["ticket"], t["number"])
        self.assertNotIn("tomorrow", by_id)
        self.assertNotIn("booking_code", by_id["early"])

        # The checkin records reach the central server.
        def checkins():
            return [r["data"] for r in c.dump() if r["type"] == "event"
                    and r["data"]["kind"] == "checkin"]
        got = wait_for("the checkin records", lambda: len(checkins()) == 2 and checkins())
        self.assertEqual({(x["appointment"], x["late"]) for x in got},
                         {("on-time", False), ("late", True)})
        self.assertEqual({x["ticket"] for x in got if x["appointment"] == "on-time"}, {t["uuid"]})

        # A crash cut two check-ins: one before its ticket was committed, one
        # after. Start-up settles both.
        st, normal = h.issue("A")
        self.assertEqual(st, 201)
        h.stop()
        db = sqlite3.connect(h.db_path)
        db.execute("UPDATE appointments SET status='checking_in', checked_in_ticket="
                   "'9b0c5d3e-0000-4000-8000-000000000001' WHERE id='crash-open'")
        db.execute("UPDATE appointments SET status='checking_in', checked_in_ticket=? "
                   "WHERE id='crash-done'", (normal["ticket"]["uuid"],))
        db.commit()
        db.close()
        before = len(outbox(h))
        h.start()
        self.assertEqual(self.row(h, "crash-open"), ("booked", None))
        self.assertEqual(self.row(h, "crash-done"), ("checked_in", normal["ticket"]["uuid"]))
        rec = [json.loads(r[4]) for r in outbox(h)[before:]]
        self.assertEqual([(x["kind"], x["appointment"]) for x in rec], [("checkin", "crash-done")])
        self.checkin(h, "CRASH2", 409, "state")
        self.assertEqual(self.checkin(h, "CRASH1", 201)["appointment"]["id"], "crash-open")

    def test_pull_when_the_server_comes_up(self):
        """hallqd started before hallq-central (the demo did): the first pull fails; when the
        up-link reaches the server the pull goes at once, not at its 60 s retry (the demo's
        booking codes were 'not found' for a minute)."""
        path, n = self.appointments()
        port = free_port()
        h = self.hall({"url": "http://127.0.0.1:%d" % port, "token": TOKEN,
                       "appointments_interval_s": 3600})
        wait_for("the failed pull", lambda: h.status()["sync"]["appointments"]["last_error"])
        self.assertEqual(h.post("/api/v1/tickets", {"service": "A"}, token=CLERK)[0], 201)
        c = self.central("--token", TOKEN, "--appointments", path, listen="127.0.0.1:%d" % port)
        self.assertEqual(c.port, port)
        try:
            wait_for("the pull once the server answers",
                     lambda: h.status()["sync"]["appointments"]["received"] == n, timeout=30)
        except AssertionError:
            print(json.dumps(h.status()["sync"], ensure_ascii=False))
            print(read_text(h.log_path)[-3000:])
            raise
        self.assertEqual(self.checkin(h, "ONTIME1", 201)["ticket"]["priority"], "appointment")

    def test_serial_pull_with_noise(self):
        path, n = self.appointments()
        link = os.path.join(self.tmp, "ttyGW")
        c = self.central("--serial", "pty:" + link, "--appointments", path, "--fault", "noise")
        c.wait_line("ready serial")
        # A regular pull: interval 1 s, the first one right after start.
        h = self.hall({"serial": "pty:" + link, "appointments_interval_s": 1})
        ap = wait_for("the serial pull", lambda: (a := h.status()["sync"]["appointments"])
                      ["received"] >= n and a, timeout=20)
        self.assertIsNone(ap["last_error"])
        body = self.checkin(h, "ONTIME1", 201)
        self.assertEqual(body["ticket"]["priority"], "appointment")
        wait_for("the checkin record", lambda: any(
            r["data"].get("kind") == "checkin" for r in c.dump()), timeout=20)
        # The gateway goes silent: the pull fails after 10 s and says why;
        # the queue goes on.
        self.assertTrue(c.control("status 503"))
        self.assertEqual(h.post("/api/v1/appointments/refresh", token=MANAGER)[0], 202)
        wait_for("the pull to fail", lambda: "10 s" in (
            h.status()["sync"]["appointments"]["last_error"] or ""), timeout=25)
        self.assertEqual(h.issue("A")[0], 201)

    def test_https_pull(self):
        """The appointments GET trusts what the records POST trusts: the
        configured CA; a server signed by another CA is refused."""
        def ssl(*args):
            subprocess.run(["openssl", *args], check=True, cwd=self.tmp, capture_output=True)
        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=hallq appointments test CA")
        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out",
            "other.pem", "-days", "2", "-subj", "/CN=another CA")
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
            "-subj", "/CN=127.0.0.1")
        with open(os.path.join(self.tmp, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        ssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf")
        path, n = self.appointments()
        c = self.central("--token", TOKEN, "--appointments", path, "--tls-cert",
                         os.path.join(self.tmp, "srv.pem"), "--tls-key",
                         os.path.join(self.tmp, "srv.key"))
        url = "https://127.0.0.1:%d/" % c.port
        bad = self.hall({"url": url, "token": TOKEN, "appointments_interval_s": 3600,
                         "ca_file": os.path.join(self.tmp, "other.pem")})
        ap = wait_for("the refused pull", lambda: (a := bad.status()["sync"]["appointments"])
                      ["last_error"] and a)
        self.assertRegex(ap["last_error"], "(?i)ssl|certificate|peer")
        self.assertEqual(ap["received"], 0)
        db = bad.db()
        self.assertEqual(db.execute("SELECT count(*) FROM appointments").fetchone()[0], 0)
        db.close()
        good = self.hall({"url": url, "token": TOKEN, "appointments_interval_s": 3600,
                          "ca_file": os.path.join(self.tmp, "ca.pem")})
        wait_for("the pull over TLS", lambda: good.status()["sync"]["appointments"]
                 ["received"] == n)
        self.assertEqual(self.checkin(good, "ONTIME1", 201)["ticket"]["priority"], "appointment")

    def central(self, *args, name="c", listen="127.0.0.1:0"):
        c = tc.Central(self.tmp, *args, name=name, listen=listen)
        self.servers.append(c)
        return c


if __name__ == "__main__":
    tc.central_from_env()
    unittest.main(verbosity=2)
