#!/usr/bin/env python3
"""hallqd's up-link to the central server, end to end: the real hallqd (its
outbox fed by issuing tickets over its API) against the real hallq-central.

Checks that every outbox record reaches the server exactly once and is marked
acknowledged only after the server confirms it, through refusals, 5xx, a
4xx alarm, short acknowledgements, answers cut mid-way, HTTPS with the right
and the wrong CA and a pinned key, a SIGKILL of hallqd, and the serial
transport over a pseudo-terminal.

Environment: HQ_BUILD (the build dir: hallqd), HQ_CENTRAL (hallq-central).
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_central as tc  # noqa: E402  (the Central process wrapper)
from hallq import BASE_CONFIG, Hall  # noqa: E402

TOKEN = "central-token-0123456789"


def outbox(hall):
    db = hall.db()
    try:
        return db.execute("SELECT seq, uuid, acked FROM outbox ORDER BY seq").fetchall()
    finally:
        db.close()


def wait_for(what, cond, timeout=20.0, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


class UplinkTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hallq-uplink-")
        self.servers, self.halls = [], []

    def tearDown(self):
        for h in self.halls:
            h.__exit__(None, None, None)
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def central(self, *args, name="c"):
        c = tc.Central(self.tmp, *args, name=name)
        self.servers.append(c)
        return c

    def hall(self, sync):
        cfg = copy.deepcopy(BASE_CONFIG)
        cfg["sync"] = sync
        h = Hall(cfg)
        self.halls.append(h)
        h.__enter__()
        return h

    def issue(self, hall, n):
        for _ in range(n):
            st, body = hall.issue("A")
            self.assertEqual(st, 201, body)

    def all_delivered(self, hall, central, timeout=20.0):
        """Every outbox row acked, and the server holds exactly those, once each."""
        def done():
            rows = outbox(hall)
            return rows and all(r[2] == 1 for r in rows)
        wait_for("the outbox to drain", done, timeout)
        rows = outbox(hall)
        got = [(r["hall_id"], r["seq"], r["uuid"]) for r in central.dump()]
        self.assertEqual(got, [("test-hall", s, u) for s, u, _ in rows])
        st = hall.status()["sync"]
        self.assertEqual(st["backlog"], 0)
        self.assertIsNotNone(st["last_success"])
        return rows

    # ---- HTTP ----
    def test_http_faults(self):
        c = self.central("--token", TOKEN)
        h = self.hall({"url": "http://127.0.0.1:%d/" % c.port, "token": TOKEN})
        self.assertEqual(h.status()["sync"]["transport"], "http")
        self.issue(h, 5)
        self.all_delivered(h, c)

        # 503: nothing is marked; the error is shown; then it drains.
        self.assertTrue(c.control("status 503"))
        self.issue(h, 3)
        st = wait_for("a failure", lambda: (s := h.status()["sync"])["failures"] and s)
        self.assertIn("503", st["last_error"])
        self.assertEqual(st["backlog"], 3)
        self.assertFalse(st["alarm"])
        self.assertEqual(sum(1 for r in outbox(h) if r[2] == 0), 3)
        self.assertEqual(len(c.dump()), 5)
        self.assertTrue(c.control("off"))
        self.all_delivered(h, c)

        # Refused connections, then back.
        self.assertTrue(c.control("refuse"))
        self.issue(h, 2)
        wait_for("a refused attempt", lambda: "onnect" in (h.status()["sync"]["last_error"] or ""))
        self.assertEqual(h.status()["sync"]["backlog"], 2)
        self.assertTrue(c.control("off"))
        self.all_delivered(h, c)

        # Short acknowledgements: only what the server confirms is marked.
        self.assertTrue(c.control("ack-less 2"))
        self.issue(h, 4)
        last = outbox(h)[-1][0]
        wait_for("the server to hold everything", lambda: len(c.dump()) == last)
        wait_for("a retry", lambda: h.status()["sync"]["failures"] >= 3)
        unacked = [r[0] for r in outbox(h) if r[2] == 0]
        self.assertEqual(unacked, [last - 1, last])
        self.assertTrue(c.control("off"))
        self.all_delivered(h, c)

        # Answer cut mid-way: the server stored the batch, the hall does not
        # know; it sends again and the server absorbs the duplicate.
        self.assertTrue(c.control("drop-mid"))
        self.issue(h, 3)
        last = outbox(h)[-1][0]
        wait_for("the server to hold the batch", lambda: len(c.dump()) == last)
        time.sleep(0.3)
        self.assertEqual(outbox(h)[-1][2], 0)
        self.assertTrue(c.control("off"))
        self.all_delivered(h, c)

    def test_http_alarm_and_restart(self):
        c = self.central("--token", TOKEN)
        h = self.hall({"url": "http://127.0.0.1:%d" % c.port, "token": "a-wrong-token-000000"})
        self.issue(h, 3)
        st = wait_for("the alarm", lambda: (s := h.status()["sync"])["alarm"] and s)
        self.assertIn("401", st["last_error"])
        self.assertEqual(st["backlog"], 3)
        self.assertEqual(c.dump(), [])
        # The alarm retries slowly (minutes): the records are still there for
        # the fixed configuration after a restart.
        h.stop()
        h.config["sync"]["token"] = TOKEN
        h.write_config()
        h.start()
        self.all_delivered(h, c)

    def test_acked_through_after_restart(self):
        """issue 13: status showed acked_through 0 after a restart until the next
        acknowledgement. With the server gone, no acknowledgement can come: the
        figure must come from the database."""
        c = self.central("--token", TOKEN)
        h = self.hall({"url": "http://127.0.0.1:%d" % c.port, "token": TOKEN})
        self.issue(h, 6)
        rows = self.all_delivered(h, c)
        last = rows[-1][0]
        self.assertEqual(h.status()["sync"]["acked_through"], last)
        h.stop()
        c.stop()
        self.servers.remove(c)
        h.start()
        self.assertEqual(h.status()["sync"]["acked_through"], last)

    def test_kill_and_server_restart(self):
        c = self.central("--token", TOKEN)
        h = self.hall({"url": "http://127.0.0.1:%d" % c.port, "token": TOKEN})
        self.issue(h, 20)
        h.kill()
        h.start()
        self.issue(h, 5)
        self.all_delivered(h, c)
        # The server loses its database: the hall sends everything again.
        port = c.port
        c.stop()
        self.servers.remove(c)
        if not tc.PG:  # on PostgreSQL c2 has a database of its own, new and empty
            os.unlink(c.db)
        c2 = self.central("--token", TOKEN, name="c2")
        self.assertNotEqual(c2.port, 0)
        h.stop()
        h.config["sync"]["url"] = "http://127.0.0.1:%d" % c2.port
        h.write_config()
        h.start()
        self.issue(h, 1)
        wait_for("a resend from seq 1", lambda: len(c2.dump()) == len(outbox(h)), timeout=30)
        self.all_delivered(h, c2, timeout=30)
        del port

    def test_revoked_hall(self):
        """A hall provisioned on the server (hallq-central hall add, issue 19) sends with its
        own token; once the token is revoked the box is refused (HTTP 403 revoked): the
        `refused` alarm rises, the new records stay in the outbox, nothing more is stored."""
        c = self.central("--provisioned-only")

        def admin(*args):
            out = subprocess.run([tc.CENTRAL, "hall", *args, *c.store], capture_output=True,
                                 text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            return out.stdout.split()

        token = admin("add", "test-hall", "--region", "广东省/广州市/天河区")[-1]
        h = self.hall({"url": "http://127.0.0.1:%d" % c.port, "token": token})
        self.issue(h, 3)
        self.all_delivered(h, c)
        held = len(c.dump())
        admin("revoke", "test-hall")
        self.issue(h, 2)
        sync = wait_for("the refused alarm",
                        lambda: (st := h.status()["sync"])["alarm"] and
                        "refused" in st["alarm_reasons"] and st, timeout=30)
        self.assertIn("HTTP 403", sync["last_error"])
        self.assertIn("revoked", sync["last_error"])
        self.assertEqual(len(c.dump()), held)
        self.assertEqual(len([r for r in outbox(h) if not r[2]]), 2)

    def test_seq_gaps(self):
        """Seqs the box no longer holds (docs/SYNC.md, gone_through): a new server after
        retention deleted acknowledged records; a server that ignores gone_through (no tight
        loop); a corrupt database moved aside (seqs go on above the old ones); a database
        that started over under the same hall id (the server refuses with 409: an alarm,
        the records kept)."""
        c = self.central("--token", TOKEN)
        h = self.hall({"url": "http://127.0.0.1:%d" % c.port, "token": TOKEN})
        self.issue(h, 6)
        rows = self.all_delivered(h, c)
        h.stop()
        # What hqd_retention does after sync.retention_days (test_retention): acknowledged
        # records at the head of the outbox are deleted.
        cut = rows[len(rows) // 2][0]
        with h.db() as db:
            db.execute("DELETE FROM outbox WHERE seq <= ?", (cut,))
        db.close()

        # A new server: it gets what the box still holds and acknowledges all of it.
        c2 = self.central("--token", TOKEN, name="c2")
        h.config["sync"]["url"] = "http://127.0.0.1:%d" % c2.port
        h.write_config()
        h.start()
        self.issue(h, 2)
        rows2 = self.all_delivered(h, c2, timeout=30)
        self.assertEqual(rows2[0][0], cut + 1)

        # A server that ignores gone_through answers 0 for ever: the box sends what it
        # holds once more, then backs off instead of looping.
        import http.server
        import threading
        posts = []

        class Foreign(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                body = b'{"acked_through": 0}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Foreign)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            h.stop()
            h.config["sync"]["url"] = "http://127.0.0.1:%d" % srv.server_address[1]
            h.write_config()
            h.start()
            self.issue(h, 1)
            st = wait_for("the error", lambda: "gone_through" in
                          ((s := h.status()["sync"])["last_error"] or "") and s)
            self.assertIn("seqs 1..%d are no longer on this box" % cut, st["last_error"])
            self.assertEqual(posts[0]["gone_through"], cut)
            n = len(posts)
            time.sleep(3)
            self.assertLessEqual(len(posts) - n, 3, "backs off, no tight loop")
            self.assertEqual(h.status()["sync"]["backlog"], len(outbox(h)))
        finally:
            srv.shutdown()
            srv.server_close()

        # A corrupt database: moved aside; the fresh outbox starts above every seq the old
        # one could have sent, and the server takes the new records (nothing ignored).
        h.stop()
        with open(h.db_path, "r+b") as f:
            f.write(b"this is not an SQLite database" * 4)
        before = len(c2.dump())
        h.config["sync"]["url"] = "http://127.0.0.1:%d" % c2.port
        h.write_config()
        t0 = int(time.time())
        h.start()
        self.issue(h, 3)
        wait_for("the new outbox to drain",
                 lambda: (r := outbox(h)) and all(x[2] == 1 for x in r), timeout=30)
        new = outbox(h)
        self.assertEqual(len(new), 3)
        self.assertGreaterEqual(new[0][0], t0 - 5)
        held = {(r["seq"], r["uuid"]) for r in c2.dump()}
        self.assertEqual(len(held), before + 3)
        self.assertTrue({(s_, u) for s_, u, _ in new} <= held)

        # A database that started over (a new SD card) under the same hall id. To c2, which
        # never had seqs 1..cut: it acknowledges far beyond what the box sent, an alarm. To c,
        # which holds seq 1 with another uuid: 409, an alarm. The records stay unacknowledged.
        def start_over(server):
            h.stop()
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(h.db_path + suffix):
                    os.unlink(h.db_path + suffix)
            h.config["sync"]["url"] = "http://127.0.0.1:%d" % server.port
            h.write_config()
            h.start()
            self.issue(h, 1)
            st = wait_for("the alarm", lambda: (s := h.status()["sync"])["alarm"] and s)
            self.assertTrue(outbox(h) and all(r[2] == 0 for r in outbox(h)), outbox(h))
            return st["last_error"]

        self.assertIn("beyond the last one sent", start_over(c2))
        held_c = c.dump()
        err = start_over(c)
        self.assertIn("409", err)
        self.assertEqual(c.dump(), held_c, "the first server's records are untouched")

    # ---- TLS ----
    def openssl(self, *args, stdin=None):
        return subprocess.run(["openssl", *args], check=True, cwd=self.tmp, capture_output=True,
                              input=stdin).stdout

    def make_pki(self):
        self.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
                     "ca.pem", "-days", "2", "-subj", "/CN=hallq uplink test CA")
        self.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key",
                     "-out", "other.pem", "-days", "2", "-subj", "/CN=another CA")
        self.openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out",
                     "srv.csr", "-subj", "/CN=127.0.0.1")
        with open(os.path.join(self.tmp, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        self.openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                     "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf")
        der = self.openssl("pkey", "-in", "srv.key", "-pubout", "-outform", "DER")
        import base64
        import hashlib
        return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()

    def test_https(self):
        pin = self.make_pki()
        c = self.central("--token", TOKEN, "--tls-cert", os.path.join(self.tmp, "srv.pem"),
                         "--tls-key", os.path.join(self.tmp, "srv.key"))
        url = "https://127.0.0.1:%d/" % c.port
        h = self.hall({"url": url, "token": TOKEN, "ca_file": os.path.join(self.tmp, "ca.pem"),
                       "pinned_pubkey": pin})
        self.assertEqual(h.status()["sync"]["transport"], "https")
        self.issue(h, 3)
        self.all_delivered(h, c)
        h.stop()
        # The wrong CA: the hall refuses the server, keeps the records.
        h.config["sync"] = {"url": url, "token": TOKEN,
                            "ca_file": os.path.join(self.tmp, "other.pem")}
        h.write_config()
        h.start()
        self.issue(h, 2)
        st = wait_for("a certificate failure", lambda: (s := h.status()["sync"])["failures"] and s)
        self.assertRegex(st["last_error"], "(?i)ssl|certificate|peer")
        self.assertEqual(st["backlog"], 2)
        h.stop()
        # The right CA but a wrong pin: refused too.
        h.config["sync"] = {"url": url, "token": TOKEN, "ca_file": os.path.join(self.tmp, "ca.pem"),
                            "pinned_pubkey": "sha256//" + "A" * 43 + "="}
        h.write_config()
        h.start()
        st = wait_for("a pin failure", lambda: (s := h.status()["sync"])["failures"] and s)
        self.assertRegex(st["last_error"], "(?i)public key|pin")
        self.assertEqual(len(c.dump()), 3)

    # ---- configuration ----
    def test_config_errors(self):
        hallqd = os.path.join(os.environ.get("HQ_BUILD", "."), "hallqd")
        cases = [
            ({"url": "http://a", "serial": "pty:/dev/null"}, "$.sync.serial: give either"),
            ({"url": "ftp://a"}, "$.sync.url: must start with"),
            ({"url": "https://a", "pinned_pubkey": "md5//x"}, "$.sync.pinned_pubkey: must start"),
            ({"batch_max": 501}, "$.sync.batch_max:"),
            ({"timeout_s": 1}, "$.sync.timeout_s:"),
            ({"urll": "https://a"}, "$.sync.urll: unknown key"),
        ]
        for sync, want in cases:
            cfg = copy.deepcopy(BASE_CONFIG)
            cfg["http"]["listen"] = "127.0.0.1:8080"
            cfg["sync"] = sync
            path = os.path.join(self.tmp, "bad.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(cfg, f)
            r = subprocess.run([hallqd, "--check-config", path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, sync)
            self.assertIn(want, r.stderr, sync)
        # A secret never appears in a message.
        cfg = copy.deepcopy(BASE_CONFIG)
        cfg["http"]["listen"] = "127.0.0.1:8080"
        cfg["sync"] = {"token": "secret\u00e9-token-123"}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(cfg, f)
        r = subprocess.run([hallqd, "--check-config", path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertNotIn("secret", r.stderr)

    # ---- serial ----
    def test_serial(self):
        link = os.path.join(self.tmp, "ttyGW")
        c = self.central("--serial", "pty:" + link)
        c.wait_line("ready serial")
        h = self.hall({"serial": "pty:" + link})
        self.assertEqual(h.status()["sync"]["transport"], "serial")
        self.issue(h, 4)
        self.all_delivered(h, c)
        self.assertTrue(h.status()["sync"]["link_up"])
        # The gateway says nothing (a fault): the hall resends every 3 s and
        # keeps the records; then the answers come back.
        self.assertTrue(c.control("status 503"))
        self.issue(h, 2)
        wait_for("a resend", lambda: "3 s" in (h.status()["sync"]["last_error"] or ""), timeout=10)
        self.assertEqual(h.status()["sync"]["backlog"], 2)
        self.assertTrue(c.control("off"))
        self.all_delivered(h, c, timeout=10)


if __name__ == "__main__":
    tc.central_from_env()
    unittest.main(verbosity=2)
