#!/usr/bin/env python3
"""Integration test of hallq-central, the reference central server (PROTOCOLS.md §5).

Starts the real binary (path in argv[1]) with a temporary database and drives it
as a hall would: HTTP POSTs of record batches (duplicates, gaps, token,
malformed bodies), appointments with a cursor, every fault, the serial side over
a pseudo-terminal and over TCP with SLIP frames built here independently of the
C code (zlib's CRC-32), and HTTPS with a CA made on the spot with openssl.
Only the Python standard library is used.
"""
import http.client
import json
import os
import queue
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hallq import sanitizer_report, stop_process  # noqa: E402

CENTRAL = None  # set from argv


def central_from_env():
    """For the tests that import this module: hallq-central from HQ_CENTRAL (ctest sets it),
    else the build's (HQ_BUILD)."""
    global CENTRAL
    CENTRAL = os.environ.get("HQ_CENTRAL") or os.path.join(os.environ.get("HQ_BUILD", "."),
                                                           "tools", "hallq-central")
# HQ_CENTRAL_STORE=pg: every hallq-central of these tests (and of the tests that import
# this module) runs on the private PostgreSQL of the fixture (pgfix.py, HQ_PG_DIR), one
# database per test and server name, instead of a SQLite file.
PG = os.environ.get("HQ_CENTRAL_STORE") == "pg"
_pg_made = set()


def record(seq, typ="ticket", data=None, uuid=None):
    return {
        "seq": seq,
        "uuid": uuid or "00000000-0000-4000-8000-%012d" % seq,
        "type": typ,
        "at": "2026-11-23T09:%02d:00+08:00" % (seq % 60),
        "data": data if data is not None else {"number": "A%03d" % seq},
    }


def batch(hall, seqs, **kw):
    return json.dumps({"hall_id": hall, "records": [record(s, **kw) for s in seqs]}).encode()


class Central:
    """One hallq-central process; stdout lines are collected by a thread."""

    def __init__(self, tmp, *args, name="c", listen="127.0.0.1:0"):
        self.db = os.path.join(tmp, name + ".db")
        self.log_path = os.path.join(tmp, name + ".log")
        self.store = ["--db", self.db]
        if PG:
            import pgfix

            dbname = ("t_%s_%s" % (os.path.basename(tmp), name)).lower().replace("-", "_")
            if (tmp, name) not in _pg_made:
                pgfix.create_db(dbname)
                _pg_made.add((tmp, name))
            self.store = ["--pg", pgfix.conninfo(dbname)]
        self.args, self.listen = args, listen
        self._spawn()

    def _spawn(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [CENTRAL, "--listen", self.listen, *self.store, *self.args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self.lines = queue.Queue()
        self.seen = []  # lines read while waiting for another
        threading.Thread(target=self._reader, daemon=True).start()
        line = self.wait_line("ready http ")
        addr = line.split()[2]
        self.port = int(addr.split(":")[1])
        self.refused_at_start = line.endswith("refused")

    def kill(self):
        """SIGKILL, as a power cut or the OOM killer would: no shutdown of any kind."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdin.close()  # stdout: its reader thread ends at the end of the pipe

    def restart(self):
        """Start again on the same store, on the port it had (a hall's sync.url names it)."""
        self.listen = "127.0.0.1:%d" % self.port
        self._spawn()

    def _reader(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, prefix, timeout=10):
        for i, line in enumerate(self.seen):
            if line.startswith(prefix):
                return self.seen.pop(i)
        end = time.time() + timeout
        while time.time() < end:
            try:
                line = self.lines.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                break
            if line.startswith(prefix):
                return line
            self.seen.append(line)
        raise AssertionError("hallq-central never said %r" % prefix)

    def control(self, cmd):
        """Send a control line on stdin and wait until it is applied."""
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        line = self.wait_line(("ok " + cmd, "error " + cmd))
        return line.startswith("ok ")

    def dump(self):
        out = subprocess.run(
            [CENTRAL, "dump", *self.store], check=True, capture_output=True, text=True
        ).stdout
        return [json.loads(l) for l in out.splitlines()]

    def stop(self):
        stop_process(self.proc, 10)
        self.proc.stdin.close()
        self.proc.stdout.close()
        # Under tools/hallq's ASan run a leak or an error shows in the log and the exit code.
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            found = sanitizer_report(f.read())
        if found or self.proc.returncode not in (0, -signal.SIGTERM):
            raise AssertionError("hallq-central exited %s:\n%s" % (self.proc.returncode, found))


def request(port, method, path, body=None, token=None, context=None, timeout=10):
    """Returns (status, parsed JSON body). Raises on transport errors."""
    if context is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data else None
    finally:
        conn.close()


def post(port, hall, body, token="T0k", **kw):
    return request(port, "POST", "/v1/halls/%s/records" % hall, body, token, **kw)


# ---- SLIP and the sync frame, written from PROTOCOLS.md §5 alone ----
END, ESC = b"\xc0", b"\xdb"


def slip_frame(typ, body):
    raw = typ + body
    raw += (zlib.crc32(raw) & 0xFFFFFFFF).to_bytes(4, "little")
    return END + raw.replace(ESC, b"\xdb\xdd").replace(END, b"\xdb\xdc") + END


class SlipReader:
    def __init__(self, read):
        self.read, self.buf = read, b""

    def frame(self, timeout):
        """Next good frame as (type, body) or None after timeout."""
        end = time.time() + timeout
        while True:
            while END in self.buf:
                raw, self.buf = self.buf.split(END, 1)
                raw = raw.replace(b"\xdb\xdc", END).replace(b"\xdb\xdd", ESC)
                if len(raw) < 5:
                    continue
                crc = int.from_bytes(raw[-4:], "little")
                if zlib.crc32(raw[:-4]) & 0xFFFFFFFF == crc:
                    return raw[:1], raw[1:-4]
            left = end - time.time()
            if left <= 0:
                return None
            chunk = self.read(left)
            if chunk:
                self.buf += chunk


class CentralTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hallq-central-")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, *args, name="c"):
        s = Central(self.tmp, *args, name=name)
        self.servers.append(s)
        return s

    # ---- records ----
    def test_evaluation_versions(self):
        """Evaluation records of version 1 (no "version") and 2 (one per case) are both held
        as sent (docs/SYNC.md)."""
        c = self.start("--token", "T0k")
        v1 = {"uuid": "e1", "case_no": "t-uuid", "task_code": "X", "level": 5}
        v2 = {"version": 2, "uuid": "e2", "case_no": "330100-2026-000123", "task_code": "330000-001",
              "task_name": "社会保障卡申领", "case_bound": True, "level": 2,
              "indicators": {"overall": 2, "attitude": 1}, "reasons_version": "hallq-2019.1"}
        body = json.dumps({"hall_id": "H1", "records": [record(1, "evaluation", v1),
                                                        record(2, "evaluation", v2)]}).encode()
        self.assertEqual(post(c.port, "H1", body), (200, {"acked_through": 2}))
        self.assertEqual([r["data"] for r in c.dump()], [v1, v2])

    def test_records_duplicates_and_gaps(self):
        c = self.start("--token", "T0k")
        self.assertEqual(post(c.port, "H1", batch("H1", [1, 2, 3])), (200, {"acked_through": 3}))
        # A resent batch and an overlapping one are absorbed.
        self.assertEqual(post(c.port, "H1", batch("H1", [1, 2, 3])), (200, {"acked_through": 3}))
        self.assertEqual(post(c.port, "H1", batch("H1", [2, 3, 4])), (200, {"acked_through": 4}))
        # A gap caps acked_through until it is filled.
        self.assertEqual(post(c.port, "H1", batch("H1", [6, 7])), (200, {"acked_through": 4}))
        self.assertEqual(post(c.port, "H1", batch("H1", [5])), (200, {"acked_through": 7}))
        # Halls are independent; a hall whose first record is missing acks 0.
        self.assertEqual(post(c.port, "H2", batch("H2", [2, 3])), (200, {"acked_through": 0}))
        self.assertEqual(post(c.port, "H2", batch("H2", [])), (200, {"acked_through": 0}))
        rows = c.dump()
        self.assertEqual([(r["hall_id"], r["seq"]) for r in rows],
                         [("H1", s) for s in range(1, 8)] + [("H2", 2), ("H2", 3)])
        self.assertEqual(rows[0]["data"], {"number": "A001"})
        self.assertEqual(rows[0]["type"], "ticket")
        self.assertEqual(rows[0]["at"], "2026-11-23T09:01:00+08:00")
        # The first copy wins: a resend with other content does not overwrite.
        post(c.port, "H1", batch("H1", [1], data={"number": "Z999"}))
        self.assertEqual(c.dump()[0]["data"], {"number": "A001"})
        # Chinese text survives the round trip.
        body = batch("H1", [8], typ="evaluation", data={"text": "办理很快，非常满意", "level": 5})
        self.assertEqual(post(c.port, "H1", body), (200, {"acked_through": 8}))
        self.assertEqual(c.dump()[7]["data"]["text"], "办理很快，非常满意")

    def test_gone_through_and_seq_conflict(self):
        """docs/SYNC.md: a hall that no longer holds seqs up to N says gone_through N;
        another uuid under a held seq is refused with 409, never ignored."""
        c = self.start("--token", "T0k")

        def with_gone(hall, seqs, gone):
            d = json.loads(batch(hall, seqs))
            d["gone_through"] = gone
            return json.dumps(d).encode()

        # A new server, a hall that deleted 1..4500 after retention.
        self.assertEqual(post(c.port, "H3", batch("H3", [4501, 4502])), (200, {"acked_through": 0}))
        self.assertEqual(post(c.port, "H3", with_gone("H3", [4501, 4502], 4500)),
                         (200, {"acked_through": 4502}))
        # gone_through below what is held already changes nothing; a gap above still caps.
        self.assertEqual(post(c.port, "H3", with_gone("H3", [4504], 10)),
                         (200, {"acked_through": 4502}))
        self.assertEqual(post(c.port, "H3", with_gone("H3", [4503], 4502)),
                         (200, {"acked_through": 4504}))
        # Malformed: not an integer, negative, or not below a record sent with it.
        for bad in ("x", -1, 1.5, 4504):
            st, body = post(c.port, "H3", with_gone("H3", [4504], bad))
            self.assertEqual(st, 400, bad)
            self.assertIn("gone_through", json.dumps(body))
        # A held seq under another uuid (the hall's database started over): 409, the batch
        # is not stored, the first copy stays.
        self.assertEqual(post(c.port, "H4", batch("H4", [1, 2])), (200, {"acked_through": 2}))
        st, body = post(c.port, "H4", json.dumps(
            {"hall_id": "H4", "records": [record(2, uuid="11111111-0000-4000-8000-000000000002"),
                                          record(3, uuid="11111111-0000-4000-8000-000000000003")]
             }).encode())
        self.assertEqual(st, 409, body)
        self.assertIn("seq 2 is already held with another uuid", json.dumps(body))
        rows = [(r["seq"], r["uuid"]) for r in c.dump() if r["hall_id"] == "H4"]
        self.assertEqual(rows, [(1, record(1)["uuid"]), (2, record(2)["uuid"])])

    def test_token(self):
        c = self.start("--token", "T0k")
        for tok in (None, "wrong", "T0k2", "T0", ""):
            st, body = post(c.port, "H1", batch("H1", [1]), token=tok)
            self.assertEqual(st, 401, tok)
            self.assertEqual(body["error"], "auth")
        st, _ = request(c.port, "GET", "/v1/halls/H1/appointments")
        self.assertEqual(st, 401)
        self.assertEqual(c.dump(), [])
        self.assertEqual(post(c.port, "H1", batch("H1", [1])), (200, {"acked_through": 1}))

    def test_malformed(self):
        c = self.start("--token", "T0k")
        good = record(1)
        cases = [
            ("not JSON", b"hello"),
            ("truncated", batch("H1", [1])[:-3]),
            ("array", b"[]"),
            ("no hall_id", json.dumps({"records": [good]}).encode()),
            ("hall mismatch", batch("H2", [1])),
            ("records not array", json.dumps({"hall_id": "H1", "records": {}}).encode()),
            ("seq negative", json.dumps({"hall_id": "H1", "records": [dict(good, seq=-1)]}).encode()),
            ("seq zero", json.dumps({"hall_id": "H1", "records": [dict(good, seq=0)]}).encode()),
            ("seq fraction", json.dumps({"hall_id": "H1", "records": [dict(good, seq=1.5)]}).encode()),
            ("seq string", json.dumps({"hall_id": "H1", "records": [dict(good, seq="1")]}).encode()),
            ("unknown type", json.dumps({"hall_id": "H1", "records": [dict(good, type="x")]}).encode()),
            ("at without offset",
             json.dumps({"hall_id": "H1", "records": [dict(good, at="2026-11-23T09:00:00")]}).encode()),
            ("data not object", json.dumps({"hall_id": "H1", "records": [dict(good, data=[1])]}).encode()),
            ("evaluation version 3", json.dumps({"hall_id": "H1", "records": [
                dict(good, type="evaluation", data={"version": 3, "case_no": "x"})]}).encode()),
            ("no uuid", json.dumps({"hall_id": "H1", "records": [{k: v for k, v in good.items() if k != "uuid"}]}).encode()),
            ("empty body", b""),
            ("501 records", batch("H1", range(1, 502))),
        ]
        for legend, body in cases:
            st, js = post(c.port, "H1", body)
            self.assertEqual(st, 400, legend)
            self.assertEqual(js["error"], "invalid", legend)
            self.assertTrue(js["message"], legend)
        # A bad record anywhere rejects the whole batch: nothing is stored.
        mixed = json.dumps({"hall_id": "H1", "records": [good, dict(record(2), seq=-2)]}).encode()
        self.assertEqual(post(c.port, "H1", mixed)[0], 400)
        self.assertEqual(c.dump(), [])
        # Too big: 413 with a JSON error.
        big = json.dumps({"hall_id": "H1", "records": [record(1, data={"x": "y" * (1200 * 1024)})]})
        st, js = post(c.port, "H1", big.encode())
        self.assertEqual((st, js["error"]), (413, "too_large"))
        # Wrong paths and methods.
        self.assertEqual(request(c.port, "GET", "/v1/halls/H1/records", token="T0k")[0], 405)
        self.assertEqual(request(c.port, "POST", "/v1/halls/H1/other", b"{}", token="T0k")[0], 404)
        self.assertEqual(request(c.port, "POST", "/v1/halls/H%201/records", b"{}", token="T0k")[0], 404)
        # A 500-record batch near 1 MiB is fine.
        recs = [record(s, data={"pad": "p" * 1950}) for s in range(1, 501)]
        body = json.dumps({"hall_id": "H1", "records": recs}).encode()
        self.assertLess(len(body), 1024 * 1024)
        self.assertGreater(len(body), 1000 * 1024)
        self.assertEqual(post(c.port, "H1", body), (200, {"acked_through": 500}))

    # ---- faults ----
    def test_faults(self):
        c = self.start("--token", "T0k")
        self.assertEqual(post(c.port, "H1", batch("H1", [1]))[0], 200)
        for status in (500, 503, 400, 401):
            self.assertTrue(c.control("status %d" % status))
            st, js = post(c.port, "H1", batch("H1", [2]))
            self.assertEqual(st, status)
            self.assertEqual(js["error"], "fault")
        self.assertTrue(c.control("off"))
        self.assertEqual(len(c.dump()), 1)  # nothing stored while failing

        self.assertTrue(c.control("slow 600"))
        t0 = time.monotonic()
        self.assertEqual(post(c.port, "H1", batch("H1", [2])), (200, {"acked_through": 2}))
        self.assertGreaterEqual(time.monotonic() - t0, 0.55)
        self.assertTrue(c.control("slow 0"))
        t0 = time.monotonic()
        post(c.port, "H1", batch("H1", [2]))
        self.assertLess(time.monotonic() - t0, 0.5)

        self.assertTrue(c.control("ack-less 2"))
        self.assertEqual(post(c.port, "H1", batch("H1", [3, 4, 5])), (200, {"acked_through": 3}))
        self.assertTrue(c.control("ack-less 10"))
        self.assertEqual(post(c.port, "H1", batch("H1", [6])), (200, {"acked_through": 0}))
        self.assertTrue(c.control("off"))
        self.assertEqual(post(c.port, "H1", batch("H1", [])), (200, {"acked_through": 6}))

        # drop-mid: the records land, the answer is cut.
        self.assertTrue(c.control("drop-mid"))
        with self.assertRaises((http.client.IncompleteRead, http.client.RemoteDisconnected,
                                ConnectionError)):
            post(c.port, "H1", batch("H1", [7]))
        self.assertEqual(c.dump()[-1]["seq"], 7)
        self.assertTrue(c.control("off"))

        # refuse: nobody listens; off listens again on the same port.
        self.assertTrue(c.control("refuse"))
        with self.assertRaises(ConnectionRefusedError):
            post(c.port, "H1", batch("H1", [8]))
        self.assertTrue(c.control("off"))
        self.assertEqual(post(c.port, "H1", batch("H1", [8])), (200, {"acked_through": 8}))

        self.assertFalse(c.control("status teapot"))
        self.assertFalse(c.control("explode"))
        self.assertEqual(post(c.port, "H1", batch("H1", [])), (200, {"acked_through": 8}))

    def test_fault_at_start_and_fifo(self):
        fifo = os.path.join(self.tmp, "ctl")
        c = self.start("--fault", "refuse", "--fault", "ack-less 1", "--control", fifo)
        self.assertTrue(c.refused_at_start)
        with self.assertRaises(ConnectionRefusedError):
            post(c.port, "H1", batch("H1", [1]), token=None)
        with open(fifo, "w") as f:
            f.write("off\n")
        c.wait_line("ok off")
        self.assertEqual(post(c.port, "H1", batch("H1", [1, 2]), token=None), (200, {"acked_through": 2}))
        with open(fifo, "w") as f:
            f.write("status 503\n")
        c.wait_line("ok status 503")
        self.assertEqual(post(c.port, "H1", batch("H1", [3]), token=None)[0], 503)
        bad = subprocess.run([CENTRAL, "--listen", "127.0.0.1:0", "--db", c.db, "--fault", "melt"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("melt", bad.stderr)

    # ---- appointments ----
    def appt(self, i, **kw):
        a = {"id": "ap%d" % i, "service": "A", "date": "2026-11-23", "slot_start": "09:00",
             "slot_end": "09:30", "id_hash": "%064x" % i, "booking_code": "BK%d" % i,
             "name_masked": "张*", "status": "booked"}
        a.update(kw)
        return a

    def write_json(self, name, obj):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False)
        return path

    def test_appointments(self):
        f1 = self.write_json("a1.json", {"appointments": [
            self.appt(1), self.appt(2, hall_id="H1"), self.appt(3, hall_id="H2")]})
        c = self.start("--appointments", f1)
        st, js = request(c.port, "GET", "/v1/halls/H1/appointments?since=")
        self.assertEqual(st, 200)
        self.assertEqual([a["id"] for a in js["appointments"]], ["ap1", "ap2"])
        self.assertNotIn("hall_id", js["appointments"][1])
        self.assertEqual(js["appointments"][0]["name_masked"], "张*")
        cur = js["cursor"]
        st, js2 = request(c.port, "GET", "/v1/halls/H1/appointments?since=" + cur)
        self.assertEqual((st, js2["appointments"], js2["cursor"]), (200, [], cur))
        st, js = request(c.port, "GET", "/v1/halls/H2/appointments")
        self.assertEqual([a["id"] for a in js["appointments"]], ["ap1", "ap3"])
        # A changed appointment comes again after the cursor; an unchanged one does not.
        f2 = self.write_json("a2.json", [self.appt(1), self.appt(2, hall_id="H1", status="cancelled"),
                                         self.appt(4, hall_id="H1")])
        self.assertTrue(c.control("appointments " + f2))
        st, js = request(c.port, "GET", "/v1/halls/H1/appointments?since=" + cur)
        self.assertEqual([(a["id"], a["status"]) for a in js["appointments"]],
                         [("ap2", "cancelled"), ("ap4", "booked")])
        self.assertGreater(int(js["cursor"]), int(cur))
        # Invalid files are refused whole.
        bad = self.write_json("bad.json", [self.appt(5), self.appt(6, date="2026-02-30")])
        self.assertFalse(c.control("appointments " + bad))
        self.assertFalse(c.control("appointments /nonexistent.json"))
        st, js = request(c.port, "GET", "/v1/halls/H1/appointments?since=" + js["cursor"])
        self.assertEqual(js["appointments"], [])
        for since in ("abc", "-1", "1x"):
            st, js = request(c.port, "GET", "/v1/halls/H1/appointments?since=" + since)
            self.assertEqual((st, js["error"]), (400, "invalid"), since)
        self.assertEqual(request(c.port, "POST", "/v1/halls/H1/appointments", b"{}")[0], 405)

    # ---- serial ----
    def serial_exchange(self, write, reader):
        """The same conversation over any byte pipe."""
        body = batch("S1", [1, 2])
        write(slip_frame(b"R", body))
        self.assertEqual(reader.frame(5), (b"A", b'{"acked_through":2}'))
        # Noise first, then a frame split in three writes with pauses.
        fr = slip_frame(b"R", batch("S1", [3]))
        write(b"\x00\xff garbage")
        for part in (fr[:3], fr[3:20], fr[20:]):
            write(part)
            time.sleep(0.05)
        self.assertEqual(reader.frame(5), (b"A", b'{"acked_through":3}'))
        # Bad CRC: dropped silently, nothing answers, nothing stored.
        fr = bytearray(slip_frame(b"R", batch("S1", [4])))
        fr[-3] ^= 0x01
        write(bytes(fr))
        self.assertIsNone(reader.frame(0.7))
        # A body with C0 and DB bytes inside (escaping both ways).
        write(slip_frame(b"R", batch("S1", [4], data={"t": "\u00c0\u00db\u7a97"})))
        self.assertEqual(reader.frame(5), (b"A", b'{"acked_through":4}'))
        # Appointments query.
        write(slip_frame(b"Q", b'{"since":""}'))
        typ, body = reader.frame(5)
        self.assertEqual(typ, b"P")
        js = json.loads(body)
        self.assertEqual([a["id"] for a in js["appointments"]], ["ap1"])

    def test_serial_pty(self):
        link = os.path.join(self.tmp, "ttyCENTRAL")
        f1 = self.write_json("a.json", [self.appt(1, hall_id="S1"), self.appt(2, hall_id="S2")])
        c = self.start("--serial", "pty:" + link, "--appointments", f1)
        c.wait_line("ready serial")
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        try:
            tty.setraw(fd, termios.TCSANOW)

            def read(timeout):
                import select
                r, _, _ = select.select([fd], [], [], timeout)
                return os.read(fd, 4096) if r else b""

            self.serial_exchange(lambda b: os.write(fd, b), SlipReader(read))
            # ack-less applies to the serial side too.
            self.assertTrue(c.control("ack-less 1"))
            os.write(fd, slip_frame(b"R", batch("S1", [5])))
            self.assertEqual(SlipReader(read).frame(5), (b"A", b'{"acked_through":4}'))
        finally:
            os.close(fd)
        rows = c.dump()
        self.assertEqual([r["seq"] for r in rows], [1, 2, 3, 4, 5])
        self.assertEqual(rows[3]["data"]["t"], "\u00c0\u00db\u7a97")

    def test_serial_tcp(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        f1 = self.write_json("a.json", [self.appt(1)])
        c = self.start("--serial", "tcp-listen:%d" % port, "--appointments", f1)
        c.wait_line("ready serial")
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            def read(timeout):
                conn.settimeout(timeout)
                try:
                    return conn.recv(4096)
                except socket.timeout:
                    return b""

            self.serial_exchange(conn.sendall, SlipReader(read))
        finally:
            conn.close()

    # ---- TLS ----
    def openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, cwd=self.tmp, capture_output=True)

    def test_tls(self):
        self.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
                     "-out", "ca.pem", "-days", "2", "-subj", "/CN=hallq test CA")
        self.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key",
                     "-out", "other.pem", "-days", "2", "-subj", "/CN=another CA")
        self.openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out",
                     "srv.csr", "-subj", "/CN=127.0.0.1")
        with open(os.path.join(self.tmp, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        self.openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                     "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf")
        c = self.start("--token", "T0k", "--tls-cert", os.path.join(self.tmp, "srv.pem"),
                       "--tls-key", os.path.join(self.tmp, "srv.key"))
        good = ssl.create_default_context(cafile=os.path.join(self.tmp, "ca.pem"))
        self.assertEqual(post(c.port, "H1", batch("H1", [1, 2]), context=good),
                         (200, {"acked_through": 2}))
        wrong = ssl.create_default_context(cafile=os.path.join(self.tmp, "other.pem"))
        with self.assertRaises(ssl.SSLCertVerificationError):
            post(c.port, "H1", batch("H1", [3]), context=wrong)
        # Plain HTTP to the TLS port gets no answer it can read.
        with self.assertRaises((http.client.HTTPException, ConnectionError, OSError)):
            post(c.port, "H1", batch("H1", [3]))
        self.assertEqual([r["seq"] for r in c.dump()], [1, 2])


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_central.py PATH/TO/hallq-central [unittest args]")
    CENTRAL = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
