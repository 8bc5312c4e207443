#!/usr/bin/env python3
"""Halls and people on hallq-central (issue 19), on SQLite or (HQ_CENTRAL_STORE=pg) PostgreSQL.

Halls provisioned with their region and a per-hall token (`hallq-central hall add`), the
token rotated and revoked; a box with a wrong, old or revoked token refused (403 `revoked`
for a revoked one), an unprovisioned hall refused under --provisioned-only; managers
signing in with personal credentials who see only the halls of their region and below
(a Guangzhou city manager does not see a Shenzhen hall, not even by its id); /metrics.

usage: test_central_halls.py PATH/TO/hallq-central
"""
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_central as tc  # noqa: E402


def admin(c, *args, stdin=None):
    out = subprocess.run([tc.CENTRAL, *args, *c.store], input=stdin, capture_output=True,
                         text=True, timeout=60)
    return out.returncode, out.stdout, out.stderr


def token_of(out):
    m = re.search(r"token (hq_[0-9a-f]{64})$", out.strip())
    assert m, out
    return m.group(1)


class HallsTest(unittest.TestCase):
    setUp, tearDown, start = tc.CentralTest.setUp, tc.CentralTest.tearDown, tc.CentralTest.start

    def provision(self, c):
        toks = {}
        for hall, region in (("GZ-TH", "广东省/广州市/天河区"), ("GZ-YX", "广东省/广州市/越秀区"),
                             ("SZ-NS", "广东省/深圳市/南山区")):
            rc, out, err = admin(c, "hall", "add", hall, "--region", region, "--name", hall + " 大厅")
            self.assertEqual(rc, 0, err)
            toks[hall] = token_of(out)
        for login, region in (("gz", "广东省/广州市"), ("gd", "广东省"), ("th", "广东省/广州市/天河区")):
            rc, out, err = admin(c, "manager", "add", login, "--region", region,
                                 stdin="pass-%s-123\n" % login)
            self.assertEqual(rc, 0, err)
        return toks

    def test_hall_tokens(self):
        c = self.start("--provisioned-only")
        toks = self.provision(c)
        # Each hall with its own token; another hall's, none, or an unknown hall: 401.
        self.assertEqual(tc.post(c.port, "GZ-TH", tc.batch("GZ-TH", [1, 2]), token=toks["GZ-TH"]),
                         (200, {"acked_through": 2}))
        self.assertEqual(tc.post(c.port, "GZ-TH", tc.batch("GZ-TH", [3]), token=toks["SZ-NS"])[0], 401)
        self.assertEqual(tc.post(c.port, "GZ-TH", tc.batch("GZ-TH", [3]), token=None)[0], 401)
        st, body = tc.post(c.port, "XX-1", tc.batch("XX-1", [1]), token=toks["GZ-TH"])
        self.assertEqual((st, body["message"]), (401, "hall not provisioned on this server"))
        # Adding a hall twice is refused, the first token stays good.
        rc, out, err = admin(c, "hall", "add", "GZ-TH", "--region", "广东省/广州市/天河区")
        self.assertNotEqual(rc, 0)
        self.assertIn("provisioned already", err)
        rc, out, err = admin(c, "hall", "add", "GZ-X", "--region", "广东省//天河区")
        self.assertNotEqual(rc, 0)
        # Rotated: the old token is refused at once, the new one works.
        rc, out, err = admin(c, "hall", "rotate", "GZ-TH")
        self.assertEqual(rc, 0, err)
        new = token_of(out)
        self.assertEqual(tc.post(c.port, "GZ-TH", tc.batch("GZ-TH", [3]), token=toks["GZ-TH"])[0], 401)
        self.assertEqual(tc.post(c.port, "GZ-TH", tc.batch("GZ-TH", [3]), token=new),
                         (200, {"acked_through": 3}))
        # Revoked: refused for good with a reason (records and appointments alike).
        self.assertEqual(tc.post(c.port, "SZ-NS", tc.batch("SZ-NS", [1]), token=toks["SZ-NS"]),
                         (200, {"acked_through": 1}))
        rc, out, err = admin(c, "hall", "revoke", "SZ-NS")
        self.assertEqual((rc, out.strip()), (0, "revoked SZ-NS"), err)
        st, body = tc.post(c.port, "SZ-NS", tc.batch("SZ-NS", [2]), token=toks["SZ-NS"])
        self.assertEqual((st, body["error"]), (403, "revoked"))
        st, body = tc.request(c.port, "GET", "/v1/halls/SZ-NS/appointments", token=toks["SZ-NS"])
        self.assertEqual(st, 403)
        self.assertEqual([(r["hall_id"], r["seq"]) for r in c.dump()],
                         [("GZ-TH", 1), ("GZ-TH", 2), ("GZ-TH", 3), ("SZ-NS", 1)])
        rc, out, err = admin(c, "hall", "revoke", "NOPE")
        self.assertNotEqual(rc, 0)
        # The token is kept only as a hash.
        rc, out, err = admin(c, "hall", "list")
        self.assertEqual(rc, 0, err)
        self.assertNotIn(new, out)
        self.assertIn("SZ-NS\t广东省\t深圳市\t南山区", out)
        # /metrics: received, refused, per-hall backlog.
        st, text = self.metrics(c)
        self.assertEqual(st, 200)
        self.assertIn("hallq_central_records_received_total 4\n", text)
        self.assertRegex(text, r"hallq_central_refused_total [5-9]\n")
        self.assertIn('hallq_central_hall_acked_through{hall="GZ-TH"} 3\n', text)
        self.assertIn('hallq_central_hall_backlog{hall="GZ-TH"} 0\n', text)
        if True:  # both stores keep the time of each hall's last batch
            self.assertRegex(text, r'hallq_central_hall_lag_seconds\{hall="GZ-TH"\} \d+\n')

    def test_import_appointments(self):
        """Appointments loaded into the database by a command while the server runs (issue 19:
        an import instead of a file); a bad file is refused whole, naming what is wrong."""
        c = self.start()
        appt = tc.CentralTest.appt
        path = os.path.join(self.tmp, "ap.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"appointments": [appt(self, 1), appt(self, 2, hall_id="H1"),
                                        appt(self, 3, hall_id="H2")]}, f, ensure_ascii=False)
        rc, out, err = admin(c, "import-appointments", path)
        self.assertEqual(rc, 0, err)
        st, body = tc.request(c.port, "GET", "/v1/halls/H1/appointments", token=None)
        self.assertEqual((st, [a["id"] for a in body["appointments"]]), (200, ["ap1", "ap2"]))
        cursor = body["cursor"]
        # Again with one changed: only that one comes after the cursor.
        with open(path, "w", encoding="utf-8") as f:
            json.dump([appt(self, 1, status="cancelled"), appt(self, 2, hall_id="H1")], f)
        self.assertEqual(admin(c, "import-appointments", path)[0], 0)
        st, body = tc.request(c.port, "GET", "/v1/halls/H1/appointments?since=" + cursor, token=None)
        self.assertEqual([(a["id"], a["status"]) for a in body["appointments"]], [("ap1", "cancelled")])
        with open(path, "w", encoding="utf-8") as f:
            json.dump([appt(self, 4, date="soon")], f)
        rc, out, err = admin(c, "import-appointments", path)
        self.assertNotEqual(rc, 0)
        self.assertIn(path, err)
        st, body = tc.request(c.port, "GET", "/v1/halls/H1/appointments", token=None)
        self.assertEqual(len(body["appointments"]), 2)

    def urlopen(self, c, method, path, body=None, session=None, ctype="application/json"):
        """A request as curl would send it (urllib): (status, parsed JSON)."""
        import urllib.error
        import urllib.request
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (c.port, path), data=body,
                                     method=method)
        if body is not None:
            req.add_header("Content-Type", ctype)
        if session:
            req.add_header("Authorization", "Bearer " + session)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def test_import_route(self):
        """POST /v1/manager/appointments (issue 19: an import route): a manager's credential,
        only halls of the manager's region, idempotent, errors naming the row and the field,
        and the boxes fetch what was imported as before."""
        c = self.start("--provisioned-only")
        toks = self.provision(c)
        appt = tc.CentralTest.appt
        st, body = self.login(c, "gz", "pass-gz-123")
        gz = body["session"]
        doc = {"appointments": [appt(self, 1, hall_id="GZ-TH"), appt(self, 2, hall_id="GZ-YX"),
                                appt(self, 3, hall_id="GZ-TH", status="cancelled")]}
        raw = json.dumps(doc, ensure_ascii=False).encode()
        self.assertEqual(self.urlopen(c, "POST", "/v1/manager/appointments", raw)[0], 401)
        self.assertEqual(self.urlopen(c, "POST", "/v1/manager/appointments", raw, "hq_" + "0" * 64)[0],
                         401)
        self.assertEqual(self.urlopen(c, "GET", "/v1/manager/appointments", None, gz)[0], 405)
        self.assertEqual(self.urlopen(c, "POST", "/v1/manager/appointments", raw, gz),
                         (200, {"imported": 3}))

        def fetch(hall, since=None):
            st, b = tc.request(c.port, "GET", "/v1/halls/%s/appointments%s" % (
                hall, "" if since is None else "?since=" + since), token=toks[hall])
            self.assertEqual(st, 200, b)
            return b

        th = fetch("GZ-TH")
        self.assertEqual([(a["id"], a["status"]) for a in th["appointments"]],
                         [("ap1", "booked"), ("ap3", "cancelled")])
        self.assertEqual([a["id"] for a in fetch("GZ-YX")["appointments"]], ["ap2"])
        self.assertEqual(fetch("SZ-NS")["appointments"], [])
        # The same body again: nothing new for any box, nothing doubled.
        self.assertEqual(self.urlopen(c, "POST", "/v1/manager/appointments", raw, gz),
                         (200, {"imported": 3}))
        self.assertEqual(fetch("GZ-TH", th["cursor"])["appointments"], [])
        self.assertEqual(len(fetch("GZ-TH")["appointments"]), 2)
        # A changed one comes again after the cursor, once.
        doc["appointments"][0]["slot_end"] = "09:45"
        self.assertEqual(self.urlopen(c, "POST", "/v1/manager/appointments",
                                      json.dumps(doc).encode(), gz)[0], 200)
        self.assertEqual([(a["id"], a["slot_end"]) for a in fetch("GZ-TH", th["cursor"])["appointments"]],
                         [("ap1", "09:45")])
        # Outside the region: refused whole (403), naming the row; the good row before it is
        # not stored either.
        bad = [appt(self, 7, hall_id="GZ-TH"), appt(self, 8, hall_id="SZ-NS")]
        st, b = self.urlopen(c, "POST", "/v1/manager/appointments", json.dumps(bad).encode(), gz)
        self.assertEqual((st, b["error"], b["row"], b["field"]), (403, "forbidden", 1, "hall_id"), b)
        self.assertIn("SZ-NS", b["message"])
        self.assertNotIn("ap7", [a["id"] for a in fetch("GZ-TH")["appointments"]])
        # Unknown hall ids look the same as another region's (a manager learns nothing).
        st, b = self.urlopen(c, "POST", "/v1/manager/appointments",
                             json.dumps([appt(self, 9, hall_id="XX-NONE")]).encode(), gz)
        self.assertEqual((st, b["row"]), (403, 0))
        # An item for every hall is beyond a region manager: hall_id is required.
        st, b = self.urlopen(c, "POST", "/v1/manager/appointments", json.dumps([appt(self, 9)]).encode(), gz)
        self.assertEqual((st, b["row"], b["field"]), (400, 0, "hall_id"), b)
        # Bad rows: which row, which field.
        for item, field in ((appt(self, 9, hall_id="GZ-TH", date="soon"), "date"),
                            (appt(self, 9, hall_id="GZ-TH", slot_start="10:00", slot_end="09:00"),
                             "slot_start"),
                            (appt(self, 9, hall_id="GZ-TH", status="maybe"), "status"),
                            (appt(self, 9, hall_id="GZ-TH", service=""), "service"),
                            (appt(self, 9, hall_id="GZ-TH", id_hash="xyz"), "id_hash"),
                            (appt(self, 9, hall_id="not a hall!"), "hall_id")):
            body = json.dumps({"appointments": [appt(self, 10, hall_id="GZ-TH"), item]}).encode()
            st, b = self.urlopen(c, "POST", "/v1/manager/appointments", body, gz)
            self.assertEqual((st, b["error"], b["row"], b["field"]), (400, "invalid", 1, field), b)
            self.assertIn("appointments[1] (id ap9)", b["message"])
        st, b = self.urlopen(c, "POST", "/v1/manager/appointments", b"{not json", gz)
        self.assertEqual((st, b["error"]), (400, "invalid"))
        self.assertNotIn("row", b)
        st, b = self.urlopen(c, "POST", "/v1/manager/appointments", b'{"appointments": 3}', gz)
        self.assertEqual(st, 400)
        self.assertEqual(sorted(a["id"] for a in fetch("GZ-TH")["appointments"]), ["ap1", "ap3"])
        # The province manager may import for Shenzhen.
        st, body = self.login(c, "gd", "pass-gd-123")
        self.assertEqual(self.urlopen(c, "POST", "/v1/manager/appointments",
                                      json.dumps([appt(self, 8, hall_id="SZ-NS")]).encode(),
                                      body["session"]), (200, {"imported": 1}))
        self.assertEqual([a["id"] for a in fetch("SZ-NS")["appointments"]], ["ap8"])

    def test_serial_revoked(self):
        """Over the serial link (no token: a box wired to the server) a revoked hall is
        refused too: its frame is dropped, no acknowledgement, nothing stored."""
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        c = self.start("--serial", "tcp-listen:%d" % port)
        c.wait_line("ready serial")
        self.provision(c)
        self.assertEqual(admin(c, "hall", "revoke", "SZ-NS")[0], 0)
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            def read(timeout):
                conn.settimeout(timeout)
                try:
                    return conn.recv(4096)
                except socket.timeout:
                    return b""

            reader = tc.SlipReader(read)
            conn.sendall(tc.slip_frame(b"R", tc.batch("GZ-TH", [1])))
            self.assertEqual(reader.frame(5), (b"A", b'{"acked_through":1}'))
            conn.sendall(tc.slip_frame(b"R", tc.batch("SZ-NS", [1])))
            self.assertIsNone(reader.frame(1.5))
        finally:
            conn.close()
        self.assertEqual([r["hall_id"] for r in c.dump()], ["GZ-TH"])
        with open(c.log_path, encoding="utf-8") as f:
            self.assertIn("revoked", f.read())

    def metrics(self, c):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
        conn.request("GET", "/metrics")
        try:
            r = conn.getresponse()
            return r.status, r.read().decode()
        finally:
            conn.close()

    def login(self, c, login, pw):
        return tc.request(c.port, "POST", "/v1/manager/login",
                          json.dumps({"login": login, "password": pw}).encode())

    def test_managers_see_their_region(self):
        c = self.start()
        toks = self.provision(c)
        self.assertEqual(tc.post(c.port, "SZ-NS", tc.batch("SZ-NS", [1, 2, 4]), token=toks["SZ-NS"]),
                         (200, {"acked_through": 2}))
        self.assertEqual(self.login(c, "gz", "wrong-password")[0], 401)
        self.assertEqual(self.login(c, "nobody", "pass-gz-123")[0], 401)
        st, body = tc.request(c.port, "GET", "/v1/manager/halls")
        self.assertEqual(st, 401)
        seen = {}
        for login in ("gz", "gd", "th"):
            st, body = self.login(c, login, "pass-%s-123" % login)
            self.assertEqual(st, 200, body)
            st, body = tc.request(c.port, "GET", "/v1/manager/halls", token=body["session"])
            self.assertEqual(st, 200, body)
            seen[login] = [h["hall_id"] for h in body["halls"]]
            if login == "gz":
                gz = body
        self.assertEqual(seen, {"gz": ["GZ-TH", "GZ-YX"], "gd": ["GZ-TH", "GZ-YX", "SZ-NS"],
                                "th": ["GZ-TH"]})
        self.assertEqual(gz["manager"]["city"], "广州市")
        # The city manager cannot reach Shenzhen's hall by its id either.
        st, body = self.login(c, "gz", "pass-gz-123")
        sess = body["session"]
        self.assertEqual(tc.request(c.port, "GET", "/v1/manager/halls/SZ-NS", token=sess)[0], 404)
        st, body = tc.request(c.port, "GET", "/v1/manager/halls/GZ-TH", token=sess)
        self.assertEqual((st, [h["hall_id"] for h in body["halls"]]), (200, ["GZ-TH"]))
        # The province manager sees Shenzhen's backlog (4 held above the gap at 3).
        st, body = self.login(c, "gd", "pass-gd-123")
        st, body = tc.request(c.port, "GET", "/v1/manager/halls/SZ-NS", token=body["session"])
        h = body["halls"][0]
        self.assertEqual((h["acked_through"], h["max_seq"]), (2, 4))
        # Today's figures from the records as they arrived (both engines' JSON).
        today = time.strftime("%Y-%m-%d")
        at = today + "T10:00:00+08:00"
        recs = [
            {"seq": 1, "uuid": "t1", "type": "ticket", "at": at, "data": {"number": "A001", "wait_s": 60}},
            {"seq": 2, "uuid": "t2", "type": "ticket", "at": at, "data": {"number": "A002", "wait_s": 180}},
            {"seq": 3, "uuid": "e1", "type": "evaluation", "at": at,
             "data": {"level": 1, "follow_up_due": "2000-01-01T00:00:00+08:00"}},
            {"seq": 4, "uuid": "e2", "type": "evaluation", "at": at,
             "data": {"level": 2, "follow_up_due": "2999-01-01T00:00:00+08:00"}},
            {"seq": 5, "uuid": "e3", "type": "evaluation", "at": at, "data": {"level": 5}},
            {"seq": 6, "uuid": "e4", "type": "evaluation", "at": at,
             "data": {"level": 1, "follow_up_due": "2000-01-01T00:00:00+08:00"}},
            {"seq": 7, "uuid": "f1", "type": "event", "at": at,
             "data": {"kind": "follow_up", "evaluation": "e4", "state": "closed"}},
        ]
        self.assertEqual(tc.post(c.port, "GZ-TH", json.dumps({"hall_id": "GZ-TH", "records": recs}).encode(),
                                 token=toks["GZ-TH"]), (200, {"acked_through": 7}))
        st, body = tc.request(c.port, "GET", "/v1/manager/halls/GZ-TH", token=sess)
        h = body["halls"][0]
        self.assertEqual((h["tickets_today"], h["avg_wait_s"], h["ratings_today"]), (2, 120, 4))
        self.assertAlmostEqual(h["avg_level"], 2.25)
        self.assertEqual((h["followups_open"], h["followups_overdue"]), (2, 1))
        # A made-up session is refused.
        self.assertEqual(tc.request(c.port, "GET", "/v1/manager/halls",
                                    token="hq_" + "0" * 64)[0], 401)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_central_halls.py PATH/TO/hallq-central [unittest args]")
    tc.CENTRAL = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
