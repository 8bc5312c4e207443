#!/usr/bin/env python3
"""Several hallq-central receivers on one PostgreSQL (issue 19).

Halls (threads speaking the sync protocol, PROTOCOLS.md §5) push their records to two
receivers sharing one database: batches alternate between the receivers, every third
batch goes to both at once (a retry racing the first try), some resend what was already
acknowledged. Mid-run one receiver is SIGKILLed (and started again later) and PostgreSQL
is restarted. Afterwards every record is held exactly once, every hall is acknowledged to
its last seq by any receiver (a new one included: no state that matters lives in a
receiver), and a seq held under another uuid is refused (409) by the other receiver too.

Environment: HQ_CENTRAL (hallq-central), HQ_PG_DIR (the postgres fixture, pgfix.py).
"""
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgfix  # noqa: E402
from hallq import sanitizer_report, stop_process  # noqa: E402

CENTRAL = os.environ.get("HQ_CENTRAL")


def record(hall, seq, uuid=None):
    return {"seq": seq, "uuid": uuid or "%s-%08d" % (hall, seq), "type": "ticket",
            "at": "2026-11-23T09:%02d:00+08:00" % (seq % 60),
            "data": {"number": "A%03d" % (seq % 1000), "hall": hall, "note": "办理 \"快\" \\ ok"}}


def post(port, hall, seqs, gone=None, uuid=None, timeout=30):
    body = {"hall_id": hall, "records": [record(hall, s, uuid) for s in seqs]}
    if gone:
        body["gone_through"] = gone
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/v1/halls/%s/records" % hall, json.dumps(body).encode(),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        return r.status, json.loads(data) if data else None
    finally:
        conn.close()


class Receiver:
    def __init__(self, tmp, conninfo, name, port=0):
        self.name, self.tmp, self.conninfo = name, tmp, conninfo
        self.log_path = os.path.join(tmp, name + ".log")
        self.start(port)

    def start(self, port=0):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [CENTRAL, "--listen", "127.0.0.1:%d" % port, "--pg", self.conninfo],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready http "):
            raise AssertionError("%s did not start: %r" % (self.name, line))
        self.port = int(line.split()[2].split(":")[1])

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()

    def stop(self):
        stop_process(self.proc, 10)
        self.proc.stdout.close()
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            found = sanitizer_report(f.read())
        if found or self.proc.returncode not in (0, -signal.SIGTERM):
            raise AssertionError("%s exited %s:\n%s" % (self.name, self.proc.returncode, found))


class ReceiversTest(unittest.TestCase):
    HALLS, RECORDS, BATCH = 16, 1500, 50

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hallq-central-pg-")
        self.conninfo = pgfix.create_db("receivers_%d" % os.getpid())
        self.rx = [Receiver(self.tmp, self.conninfo, "r%d" % i) for i in range(2)]

    def tearDown(self):
        for r in self.rx:
            if r.proc.poll() is None:
                r.stop()

    def hall(self, h, progress, errors):
        """One hall's sender: pushes RECORDS records, returns when all are acknowledged."""
        rnd = random.Random(h)
        acked, n, sent_max = 0, 0, 0
        while acked < self.RECORDS:
            n += 1
            first = acked + 1
            if n % 5 == 0 and acked > 5:
                first = acked - rnd.randint(1, 5)  # resend some acknowledged ones
            seqs = list(range(first, min(first + self.BATCH, self.RECORDS + 1)))
            sent_max = max(sent_max, seqs[-1])
            targets = [self.rx[n % 2]]
            if n % 3 == 0:
                targets = list(self.rx)  # the same batch to both at once
            answers = []

            def one(r):
                try:
                    answers.append(post(r.port, "H%02d" % h, seqs))
                except (OSError, http.client.HTTPException):
                    answers.append((None, None))

            threads = [threading.Thread(target=one, args=(r,)) for r in targets]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            got = False
            for st, body in answers:
                if st == 200:
                    a = body["acked_through"]
                    if a > sent_max or a < 0:
                        errors.append("hall %d: acked_through %d beyond %d sent" % (h, a, sent_max))
                        return
                    acked = max(acked, a)
                    got = True
                elif st is not None and st not in (500, 503):  # the database away: again
                    errors.append("hall %d: answer %s %s" % (h, st, body))
                    return
            if not got:
                self.failures += 1
                time.sleep(0.05)  # a receiver killed or PostgreSQL restarting: try again
            progress[h] = acked

    def test_exactly_once_two_receivers(self):
        self.failures = 0
        progress = [0] * self.HALLS
        errors = []
        threads = [threading.Thread(target=self.hall, args=(h, progress, errors))
                   for h in range(self.HALLS)]
        for t in threads:
            t.start()
        total = self.HALLS * self.RECORDS

        def wait_progress(frac, timeout=120):
            end = time.time() + timeout
            while sum(progress) < frac * total and time.time() < end and not errors:
                time.sleep(0.02)
            return sum(progress)

        p1 = wait_progress(0.25)
        self.rx[1].kill()  # mid-run: receiver r1 gone, its transactions cut
        p2 = wait_progress(0.45)
        pgfix.stop()  # mid-run: every receiver's connections cut
        stopped = sum(progress)
        pgfix.start()
        self.rx[1].start()
        for t in threads:
            t.join(timeout=240)
        self.assertEqual(errors, [])
        self.assertEqual(progress, [self.RECORDS] * self.HALLS)
        # The events happened mid-run, not after the end.
        self.assertLess(p1, total)
        self.assertLess(p2, total)
        self.assertLess(stopped, total, "PostgreSQL was stopped after every hall was done")
        self.assertGreater(self.failures, 0)  # the kill and the restart were felt
        print("progress at kill %d, at restart %d/%d; %d failed rounds" % (
            p1, stopped, total, self.failures))

        # Every record exactly once, as sent.
        rows = pgfix.psql("SELECT hall_id, seq, uuid, data->>'hall' FROM records ORDER BY 1, 2",
                          dbname=self.conninfo.split("dbname=")[1]).splitlines()
        want = ["H%02d|%d|H%02d-%08d|H%02d" % (h, s, h, s, h)
                for h in range(self.HALLS) for s in range(1, self.RECORDS + 1)]
        self.assertEqual(len(rows), total)
        self.assertEqual(rows, want)

        # A receiver that never saw these halls answers the same acknowledgement.
        r3 = Receiver(self.tmp, self.conninfo, "r3")
        self.rx.append(r3)
        for h in range(self.HALLS):
            self.assertEqual(post(r3.port, "H%02d" % h, []), (200, {"acked_through": self.RECORDS}))
        # Strict refusal across receivers: a seq r0 stored, sent to r1 under another uuid.
        st, body = post(self.rx[1].port, "H00", [7], uuid="another")
        self.assertEqual(st, 409, body)
        self.assertEqual(body["error"], "seq_conflict")
        # A gap filled through the other receiver: the ack walks over what either stored.
        self.assertEqual(post(self.rx[0].port, "G1", [1, 2, 4, 5]), (200, {"acked_through": 2}))
        self.assertEqual(post(self.rx[1].port, "G1", [3]), (200, {"acked_through": 5}))
        # A value PostgreSQL cannot hold in JSONB (\u0000) is the batch's fault: 400 with
        # the reason, nothing stored, not a 500 the box would retry for ever.
        bad = json.dumps({"hall_id": "G2", "records": [dict(record("G2", 1), data={"t": "a\u0000b"})]})
        conn = http.client.HTTPConnection("127.0.0.1", self.rx[0].port, timeout=30)
        conn.request("POST", "/v1/halls/G2/records", bad.encode())
        r = conn.getresponse()
        body = json.loads(r.read())
        conn.close()
        self.assertEqual(r.status, 400, body)
        self.assertIn("Unicode", body["message"])
        self.assertEqual(post(self.rx[0].port, "G2", []), (200, {"acked_through": 0}))

    def test_live_view_across_receivers(self):
        """A batch stored through r1 reaches a manager's stream on r0 (LISTEN/NOTIFY),
        and only for the halls of the manager's region."""
        def admin(*args, stdin=None):
            out = subprocess.run([CENTRAL, *args, "--pg", self.conninfo], input=stdin,
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            return out.stdout

        admin("hall", "add", "GZ1", "--region", "广东省/广州市/天河区")
        admin("hall", "add", "SZ1", "--region", "广东省/深圳市/南山区")
        admin("manager", "add", "gz", "--region", "广东省/广州市", stdin="pass-gz-123\n")
        conn = http.client.HTTPConnection("127.0.0.1", self.rx[0].port, timeout=30)
        conn.request("POST", "/v1/manager/login",
                     json.dumps({"login": "gz", "password": "pass-gz-123"}).encode())
        sess = json.loads(conn.getresponse().read())["session"]
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", self.rx[0].port, timeout=30)
        conn.request("GET", "/v1/manager/events", headers={"Authorization": "Bearer " + sess})
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.readline(), b"retry: 3000\n")
        # The stream is open (its hello read): batches through the other receiver.
        self.assertEqual(post(self.rx[1].port, "SZ1", [1])[0], 401)  # provisioned: needs its token
        toks = {}
        for h in ("SZ1", "GZ1"):
            toks[h] = admin("hall", "rotate", h).split()[-1]
        for h in ("SZ1", "GZ1"):
            body = json.dumps({"hall_id": h, "records": [record(h, 1)]}).encode()
            c2 = http.client.HTTPConnection("127.0.0.1", self.rx[1].port, timeout=30)
            c2.request("POST", "/v1/halls/%s/records" % h, body,
                       {"Authorization": "Bearer " + toks[h]})
            self.assertEqual(c2.getresponse().status, 200)
            c2.close()
        events = []
        while len(events) < 1:
            line = resp.readline().decode().strip()
            if line.startswith("data: "):
                events.append(json.loads(line[6:])["hall_id"])
        self.assertEqual(events, ["GZ1"])  # SZ1's came first, and was not shown
        conn.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
