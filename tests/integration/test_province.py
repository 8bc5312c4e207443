#!/usr/bin/env python3
"""hallq-central forwards evaluation records to the provincial platform (docs/PROVINCE.md).

Halls push records (evaluations with and without case fields, tickets that are not
forwarded) to hallq-central; the reference province receiver (province_receiver.py)
validates each forwarded record against the JSON Schema of the national items. On
PostgreSQL (HQ_CENTRAL_STORE=pg) two hallq-central processes on one database both forward;
one is SIGKILLed mid-run and started again, and the receiver answers 500 for a while (the
alarm goes up in /metrics, and down once it caught up). Afterwards every evaluation is held
by the receiver exactly once, every one was valid, nothing else was sent, and the only
repeated deliveries are the ones in flight when the process was killed (at most one per
worker of it). On SQLite (one process) the same without the second process; plus the
mapping file's errors (file, JSON path, what) and a record the mapping cannot encode
(held back, never dropped, delivered once the mapping is fixed).

Environment: HQ_CENTRAL; for PostgreSQL HQ_CENTRAL_STORE=pg and HQ_PG_DIR (pgfix.py).
"""
import base64
import ctypes
import ctypes.util
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hallq import sanitizer_report, stop_process  # noqa: E402
from province_receiver import ProvinceReceiver  # noqa: E402

CENTRAL = os.environ.get("HQ_CENTRAL")
PG = os.environ.get("HQ_CENTRAL_STORE") == "pg"
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
EXAMPLE = os.path.join(SOURCE, "config", "province", "mapping.example.json")
WORKERS = 2


def evaluation(hall, seq, level, case=None, channel="政务大厅其他终端"):
    """A version 2 evaluation record (SYNC.md): data.uuid is the evaluation (one per case),
    the record's own uuid another; case fields when bound. `sent` is keyed by data.uuid."""
    u = str(uuidlib.uuid4())
    data = {"version": 2, "uuid": u, "case_no": "%s-T%d" % (hall, seq), "ticket": "A%03d" % seq,
            "service": "s1", "task_code": "TASK-%d" % (seq % 3), "window": 1 + seq % 4,
            "staff": "clerk%d" % (seq % 2) if seq % 5 else None, "level": level,
            "gbt39046_code": 6 - level, "channel": channel,
            "reasons": [1, 3] if level <= 2 else [], "text": "办理快" if level > 3 else "",
            "assess_number": 1, "case_bound": False, "task_name": "办理业务",
            "indicators": {"overall": level}}
    if case:
        data.update(case)
    return {"seq": seq, "uuid": str(uuidlib.uuid4()), "type": "evaluation",
            "at": "2026-12-07T09:%02d:%02d+08:00" % (seq // 60 % 60, seq % 60), "data": data}


def ticket(hall, seq):
    return {"seq": seq, "uuid": str(uuidlib.uuid4()), "type": "ticket",
            "at": "2026-12-07T09:00:00+08:00", "data": {"number": "A%03d" % seq}}


def request(port, method, path, body=None, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        conn.request(method, path, body, headers)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def post(port, hall, records, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        conn.request("POST", "/v1/halls/%s/records" % hall,
                     json.dumps({"hall_id": hall, "records": records}).encode(), headers)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def metrics(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        text = r.read().decode()
    finally:
        conn.close()
    out = {}
    for m in re.finditer(r"^(hallq_central_province_\w+) (\S+)$", text, re.M):
        out[m.group(1)] = float(m.group(2))
    return out


def wait_for(what, cond, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


class Central:
    def __init__(self, tmp, name, store_args, mapping):
        self.name, self.store_args, self.mapping = name, store_args, mapping
        self.log_path = os.path.join(tmp, name + ".log")
        self.start()

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [CENTRAL, "--listen", "127.0.0.1:0", *self.store_args, "--province",
                 self.mapping, "--log-level", "info"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready http "):
            raise AssertionError("%s did not start: %r\n%s" % (self.name, line, self.log()))
        self.port = int(line.split()[2].split(":")[1])

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()

    def stop(self):
        if self.proc.poll() is not None:
            return
        stop_process(self.proc, 20)
        self.proc.stdout.close()
        found = sanitizer_report(self.log())
        if found or self.proc.returncode not in (0, -signal.SIGTERM):
            raise AssertionError("%s exited %s:\n%s" % (self.name, self.proc.returncode, found))


class ProvinceTest(unittest.TestCase):
    HALLS, PER_HALL = 4, 60

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hallq-province-")
        self.rx = ProvinceReceiver().start()
        self.centrals = []
        if PG:
            import pgfix
            self.pgfix = pgfix
            self.store = ["--pg", pgfix.create_db("province_%d" % os.getpid())]
        else:
            self.store = ["--db", os.path.join(self.tmp, "central.db")]

    def tearDown(self):
        for c in self.centrals:
            c.stop()
        self.rx.stop()

    def mapping(self, name="mapping.json", **change):
        with open(EXAMPLE, encoding="utf-8") as f:
            m = json.load(f)
        m["endpoint"] = self.rx.url
        m["retry"] = {"first_s": 0.05, "max_s": 0.5}
        m["alarm_after_s"] = 1
        m["workers"] = WORKERS
        m.update(change)
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(m, f, ensure_ascii=False)
        return path

    def central(self, name, mapping):
        c = Central(self.tmp, name, self.store, mapping)
        self.centrals.append(c)
        return c

    def rows(self):
        if PG:
            out = self.pgfix.psql("SELECT uuid, sent_at IS NOT NULL, coalesce(worker, '') FROM "
                                  "province_forward", dbname=self.store[1].split("dbname=")[1])
            return [tuple(line.split("|")) for line in out.strip().splitlines()]
        import sqlite3
        db = sqlite3.connect(self.store[1])
        try:
            return [(u, "t" if s else "f", w or "") for u, s, w in db.execute(
                "SELECT uuid, sent_at IS NOT NULL, worker FROM province_forward")]
        finally:
            db.close()

    def push(self, centrals, hall, first, n, sent):
        """Records first..first+n-1 of hall: evaluations (some with cases), every 7th a ticket."""
        batch = []
        for seq in range(first, first + n):
            if seq % 7 == 0:
                batch.append(ticket(hall, seq))
                continue
            case = None
            if seq % 3 == 0:
                case = {"case_no": "BJ%s%05d" % (hall, seq), "task_code": "1100000000%04d" % seq,
                        "task_name": "企业设立登记", "case_bound": True}
            r = evaluation(hall, seq, 1 + seq % 5, case,
                           ("政务大厅平板电脑", "政务大厅其他终端", "二维码")[seq % 3])
            batch.append(r)
            sent[r["data"]["uuid"]] = r
        c = centrals[(first // n) % len(centrals)]
        status, ans = post(c.port, hall, batch)
        self.assertEqual(status, 200, ans)
        self.assertEqual(ans["acked_through"], first + n - 1)

    def test_exactly_once_across_kill_and_outage(self):
        mapping = self.mapping()
        a = self.central("a", mapping)
        both = [a, self.central("b", mapping)] if PG else [a]
        sent = {}
        step = 10
        halls = ["H%d" % h for h in range(self.HALLS)]
        half = self.PER_HALL // 2
        for first in range(1, half + 1, step):
            for h in halls:
                self.push(both, h, first, step, sent)
        # Some delivered, then SIGKILL mid-stream (a worker may be posting this moment).
        wait_for("first deliveries", lambda: len(self.rx.held()) >= 20)
        a.kill()
        survivors = both[1:] if PG else []
        if not survivors:
            a.start()
            survivors = [a]
        # The platform goes down: 500 to everything, nothing stored.
        self.rx.fail = 500
        for first in range(half + 1, self.PER_HALL + 1, step):
            for h in halls:
                self.push(survivors, h, first, step, sent)
        wait_for("tries refused by the outage", lambda: self.rx.failed >= 10)
        held_in_outage = len(self.rx.held())
        m = wait_for("the falling-behind alarm",
                     lambda: (lambda m: m if m.get("hallq_central_province_behind") == 1 else None)(
                         metrics(survivors[0].port)))
        self.assertGreater(m["hallq_central_province_pending"], 0)
        self.assertGreater(m["hallq_central_province_failing"], 0)
        self.assertEqual(len(self.rx.held()), held_in_outage)
        if PG:
            a.start()  # the killed one back, forwarding again beside b
        self.rx.fail = 0
        wait_for("every evaluation at the platform", lambda: len(self.rx.held()) >= len(sent))
        m = wait_for("the alarm cleared",
                     lambda: (lambda m: m if m.get("hallq_central_province_pending") == 0 and
                              m.get("hallq_central_province_behind") == 0 else None)(
                         metrics(a.port)))
        self.assertEqual(m["hallq_central_province_delivered"], len(sent))

        held = self.rx.held()
        self.assertEqual(set(held), set(sent), "exactly the evaluations, tickets not forwarded")
        self.assertEqual(self.rx.invalid, [], "every record valid against the schema")
        repeated = sum(self.rx.duplicates.values())
        self.assertLessEqual(repeated, WORKERS,
                             "only what was in flight at the SIGKILL may come twice: %r"
                             % dict(list(self.rx.duplicates.items())[:5]))
        for eid, rec in held.items():
            d = sent[eid]["data"]
            self.assertEqual(rec["projectNo"], d["case_no"])
            self.assertEqual(rec["taskCode"], d["task_code"])
            self.assertEqual(rec["taskName"], d["task_name"])
            self.assertEqual(rec["indicators"], d["indicators"])
            self.assertEqual(rec["alternate"], str(d["level"]))
            self.assertEqual(rec["pf"], {"政务大厅平板电脑": "4", "政务大厅其他终端": "5",
                                         "二维码": "3"}[d["channel"]])
            self.assertEqual(rec["evalDetail"], ",".join(str(x) for x in d["reasons"]))
            self.assertEqual(rec["windowNo"], str(d["window"]))
            self.assertEqual(rec.get("staffId"), d["staff"])
            self.assertEqual(rec["realName"], "0")
            self.assertEqual(rec["assessTime"], sent[eid]["at"][:19].replace("T", " "))
        rows = self.rows()
        self.assertEqual(len(rows), len(sent))
        self.assertTrue(all(s == "t" for _, s, _ in rows), rows)
        if PG:
            pids = {w.split(":")[1] for _, _, w in rows}
            self.assertGreaterEqual(len(pids), 2, "both processes forwarded: %r" % pids)

    @unittest.skipIf(PG, "the mapping checks do not depend on the store")
    def test_mapping_errors_and_a_record_it_cannot_encode(self):
        bad = self.mapping("bad.json", fields={"pf": {"from": "channel", "map": []}})
        p = subprocess.run([CENTRAL, "--listen", "127.0.0.1:0", *self.store, "--province", bad],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(bad, p.stderr)
        self.assertIn("$.fields.pf", p.stderr)
        self.assertIn("map", p.stderr)
        p = subprocess.run([CENTRAL, "--listen", "127.0.0.1:0", *self.store, "--province",
                            self.mapping("bad2.json", endpoint="ftp://x")],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("$.endpoint", p.stderr)

        # H9 provisioned, and a manager of its province who sees the hall view's data.
        def admin(*args, stdin=None):
            p = subprocess.run([CENTRAL, *args, *self.store], input=stdin, capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout
        tok = re.search(r"token (hq_[0-9a-f]{64})", admin("hall", "add", "H9", "--region", "江苏省"))
        admin("manager", "add", "js", "--region", "江苏省", stdin="pass-js-123\n")

        def view(port):
            st, body = request(port, "POST", "/v1/manager/login",
                               json.dumps({"login": "js", "password": "pass-js-123"}).encode())
            self.assertEqual(st, 200, body)
            st, body = request(port, "GET", "/v1/manager/halls", token=body["session"])
            self.assertEqual(st, 200, body)
            return {h["hall_id"]: h for h in body["halls"]}["H9"]

        c = self.central("c", self.mapping())
        good = evaluation("H9", 1, 5)
        odd = evaluation("H9", 2, 1, channel="自助终端")  # no code for it in the mapping
        self.assertEqual(post(c.port, "H9", [good, odd], tok.group(1))[0], 200)
        wait_for("the good one", lambda: good["data"]["uuid"] in self.rx.held())
        wait_for("the alarm for the one held back",
                 lambda: metrics(c.port).get("hallq_central_province_behind") == 1)
        self.assertEqual(view(c.port)["province_overdue"], 1)
        self.assertNotIn(odd["data"]["uuid"], self.rx.held())
        self.assertIn("no code in the map", c.log())
        c.stop()
        self.centrals.remove(c)
        # A new mapping file with the code: delivered, nothing lost.
        with open(EXAMPLE, encoding="utf-8") as f:
            m = json.load(f)
        pf = m["fields"]["pf"]
        pf["map"]["自助终端"] = "5"
        fixed = self.mapping("fixed.json", fields=m["fields"], retry={"first_s": 0.05, "max_s": 0.2})
        c = self.central("c2", fixed)
        wait_for("the held-back one, after the fix", lambda: odd["data"]["uuid"] in self.rx.held())
        self.assertEqual(self.rx.held()[odd["data"]["uuid"]]["pf"], "5")
        wait_for("the hall view's alarm cleared", lambda: view(c.port)["province_overdue"] == 0)
        self.assertEqual(self.rx.duplicates, {})


    @unittest.skipIf(PG, "the accept rule does not depend on the store")
    def test_accept_rule_http_200_with_an_error_code(self):
        """A platform that answers HTTP 200 {"code": 500}: with the accept rule that is a
        failure (retried), and the record goes once the platform says code 200."""
        c = self.central("c", self.mapping(accept={"field": "code", "values": [200]}))
        self.rx.fail, self.rx.fail_in_body = 500, True
        e = evaluation("H1", 1, 4)
        self.assertEqual(post(c.port, "H1", [e])[0], 200)
        wait_for("tries answered 200 with code 500", lambda: self.rx.failed >= 3)
        m = metrics(c.port)
        self.assertEqual(m["hallq_central_province_pending"], 1)
        self.assertEqual(m["hallq_central_province_failing"], 1)
        self.assertIn("code = \"500\"", c.log())
        self.rx.fail = 0
        wait_for("delivered after the outage", lambda: e["data"]["uuid"] in self.rx.held())
        wait_for("nothing pending",
                 lambda: metrics(c.port).get("hallq_central_province_pending") == 0)
        self.assertEqual(self.rx.duplicates, {})
        bad = subprocess.run([CENTRAL, "--listen", "127.0.0.1:0", *self.store, "--province",
                              self.mapping("bad.json", accept={"field": "code"})],
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("$.accept", bad.stderr)


    @unittest.skipIf(PG, "sealing does not depend on the store")
    def test_sealed_id_number_passed_through_unopened(self):
        """An ID number sealed to the platform's public key reaches the platform, which alone
        opens it; hallq-central's database, WAL and log never hold it in clear. One that
        arrives in clear is held back and its value is not logged."""
        sodium = ctypes.CDLL(ctypes.util.find_library("sodium"))
        self.assertEqual(sodium.sodium_init() >= 0, True)
        pk, sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(32)
        sodium.crypto_box_keypair(pk, sk)
        idno = b"11010519491231002X"
        sealed = ctypes.create_string_buffer(len(idno) + 48)
        sodium.crypto_box_seal(sealed, idno, ctypes.c_ulonglong(len(idno)), pk)
        c = self.central("c", self.mapping())
        e = evaluation("H2", 1, 5, {"id_sealed": base64.b64encode(sealed.raw).decode(),
                                    "real_name": True})
        clear = evaluation("H2", 2, 5, {"id_sealed": idno.decode(), "real_name": True})
        self.assertEqual(post(c.port, "H2", [e, clear])[0], 200)
        wait_for("the sealed one", lambda: e["data"]["uuid"] in self.rx.held())
        got = self.rx.held()[e["data"]["uuid"]]
        self.assertEqual(got["realName"], "1")
        box = base64.b64decode(got["userCert"])
        opened = ctypes.create_string_buffer(len(box) - 48)
        self.assertEqual(sodium.crypto_box_seal_open(opened, box, ctypes.c_ulonglong(len(box)),
                                                     pk, sk), 0)
        self.assertEqual(opened.raw, idno)
        wait_for("the clear one held back",
                 lambda: "is not a sealed ID number" in c.log())
        self.assertNotIn(clear["data"]["uuid"], self.rx.held())
        c.stop()
        self.centrals.remove(c)
        self.assertNotIn(idno.decode(), c.log())
        # The database holds the sealed one only sealed (the clear one is in the record the
        # box sent, which is the box's fault, so look at the sealed record's row alone).
        import sqlite3
        db = sqlite3.connect(self.store[1])
        row = db.execute("SELECT data FROM records WHERE uuid = ?", (e["uuid"],)).fetchone()[0]
        db.close()
        self.assertNotIn(idno.decode(), row)


if __name__ == "__main__":
    if not CENTRAL:
        sys.exit("HQ_CENTRAL is not set")
    unittest.main(verbosity=2)
