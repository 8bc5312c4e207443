#!/usr/bin/env python3
"""bench_sync DIR SECONDS — how fast hallqd drains its outbox to the central
server (hallq-central), the real daemon against the real server.

HTTP: a backlog of 100,000 records (copies of a real ticket record, ~700
bytes each) waits in a hall's database while the up-link is off; hallqd
starts with sync.url set, and the clock runs until the last record is marked
acknowledged. Reported: records/s over the whole drain (daemon start
included) and from the first acknowledgement on. Target: >= 20,000/s.

Serial at 115200 baud: a pty has no baud rate, so hallq-central's serial side
imitates the line (--serial-rate 11520: 115200 baud 8N1 = 11,520 bytes/s
each way; after n bytes it waits n/11520 s before reading more, so the
hall's writes block exactly as on a UART once the kernel buffer is full).
Measured: bytes the gateway received per second over max(SECONDS, 20) s,
starting at the first byte, as a fraction of 11,520 B/s (resent frames
count as waste: only bytes of acknowledged records count as useful).
Target: >= 70 %.

Both databases live under DIR (the disk the hall would use; SQLite
synchronous=FULL for the hall's own commits, as configured in halls).
"""
import copy
import json
import os
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import test_central as tc  # noqa: E402
from hallq import BASE_CONFIG, Hall  # noqa: E402

TOKEN = "bench-token-0123456789"
LINE_RATE = 11520


def fill_backlog(h, n):
    """Stop h, then add n copies of its first ticket record to the outbox."""
    h.start()
    for _ in range(2):
        h.issue("A")
    h.window(1, "login", {"staff": "1001"})
    h.window(1, "call-next")
    h.window(1, "finish")
    h.stop()
    db = sqlite3.connect(h.db_path)
    typ, at, data = db.execute(
        "SELECT type, at, data FROM outbox WHERE type='ticket' ORDER BY seq LIMIT 1").fetchone()
    base = json.loads(data)
    rows = ((("%08x-0000-4000-8000-%012d" % (i, i)), typ, at,
             json.dumps(dict(base, uuid="%08x-0000-4000-8000-%012d" % (i, i)),
                        ensure_ascii=False, separators=(",", ":"))) for i in range(n))
    db.executemany("INSERT INTO outbox(uuid, type, at, data) VALUES(?,?,?,?)", rows)
    db.commit()
    last, avg = db.execute("SELECT max(seq), avg(length(data)) FROM outbox").fetchone()
    db.close()
    return last, avg


def acked_through(h):
    db = sqlite3.connect(h.db_path, timeout=5)
    try:
        v = db.execute("SELECT max(seq) FROM outbox WHERE acked=1").fetchone()[0]
        return v or 0
    finally:
        db.close()


def stats(c):
    c.proc.stdin.write("stats\n")
    c.proc.stdin.flush()
    words = c.wait_line("ok stats").split()
    return {words[i]: int(words[i + 1]) for i in range(2, len(words) - 1, 2)}


def make_hall():
    cfg = copy.deepcopy(BASE_CONFIG)
    cfg["hall"]["log_level"] = "warn"
    cfg["sync"] = {}
    return Hall(cfg)


def wire_bytes(h, first, last):
    """Bytes of records first..last as they stand in a batch body."""
    db = sqlite3.connect(h.db_path, timeout=5)
    try:
        n = 0
        for seq, uuid, typ, at, data in db.execute(
                "SELECT seq, uuid, type, at, data FROM outbox WHERE seq BETWEEN ? AND ?",
                (first, last)):
            n += len(json.dumps({"seq": seq, "uuid": uuid, "type": typ, "at": at},
                                separators=(",", ":")).encode()) + len(data.encode()) + 9
        return n
    finally:
        db.close()


def bench_http(tmp, n=100000):
    for f in ("central-http.db", "central-http.db-wal", "central-http.db-shm"):
        if os.path.exists(os.path.join(tmp, f)):
            os.unlink(os.path.join(tmp, f))
    c = tc.Central(tmp, "--token", TOKEN, name="central-http")
    h = make_hall()
    try:
        last, avg = fill_backlog(h, n)
        h.config["sync"] = {"url": "http://127.0.0.1:%d" % c.port, "token": TOKEN,
                            "appointments_interval_s": 0}
        h.write_config()
        t0 = time.monotonic()
        h.start()
        t_first = None
        while True:
            a = acked_through(h)
            now = time.monotonic()
            if a and t_first is None:
                t_first, a_first = now, a
            if a >= last:
                break
            if now - t0 > 600:
                raise RuntimeError("the drain did not finish in 10 minutes")
            time.sleep(0.02)
        t1 = time.monotonic()
        held = stats(c)["records"]
        if held != last:
            raise RuntimeError("the server holds %d records, the hall sent %d" % (held, last))
        total = last / (t1 - t0)
        steady = (last - a_first) / (t1 - t_first) if t1 > t_first else float("inf")
        print("http: %d records (%.0f bytes each) drained in %.2f s: %.0f records/s "
              "(%.0f records/s after the first acknowledgement); target >= 20000: %s"
              % (last, avg, t1 - t0, total, steady, "met" if total >= 20000 else "MISSED"))
    finally:
        h.__exit__(None, None, None)
        c.stop()


def bench_serial(tmp, seconds):
    link = os.path.join(tmp, "ttyBENCH")
    for f in ("central-serial.db", "central-serial.db-wal", "central-serial.db-shm"):
        if os.path.exists(os.path.join(tmp, f)):
            os.unlink(os.path.join(tmp, f))
    c = tc.Central(tmp, "--serial", "pty:" + link, "--serial-rate", str(LINE_RATE),
                   name="central-serial")
    c.wait_line("ready serial")
    h = make_hall()
    try:
        # More than the line can carry in the time: it never runs dry.
        last, avg = fill_backlog(h, int(seconds * LINE_RATE / 500) + 1000)
        h.config["sync"] = {"serial": "pty:" + link, "serial_baud": 115200,
                            "appointments_interval_s": 0}
        h.write_config()
        h.start()
        # Measure between acknowledgements: from the first one to the last
        # one after SECONDS, so no frame is counted half.
        end_wait = time.monotonic() + 30
        a0 = 0
        while a0 == 0:
            a0 = acked_through(h)
            if time.monotonic() > end_wait:
                raise RuntimeError("nothing acknowledged on the serial line")
            time.sleep(0.01)
        t0, s0 = time.monotonic(), stats(c)
        a1, t1, s1 = a0, t0, s0
        while True:
            a = acked_through(h)
            if a != a1:
                a1, t1, s1 = a, time.monotonic(), stats(c)
                if t1 - t0 >= seconds:
                    break
            if time.monotonic() - t0 > seconds + 30:
                raise RuntimeError("the serial line stalled")
            time.sleep(0.01)
        rate = (s1["serial_rx"] - s0["serial_rx"]) / (t1 - t0)
        useful = wire_bytes(h, a0 + 1, a1)
        resent = h.status()["sync"]["failures"]
        print("serial 115200 baud: %.0f B/s on the line over %.1f s = %.0f %% of %d B/s; "
              "%d records acknowledged (%.1f records/s): %.0f %% of the line carried records "
              "(%d exchanges failed); target >= 70 %%: %s"
              % (rate, t1 - t0, 100 * rate / LINE_RATE, LINE_RATE, a1 - a0, (a1 - a0) / (t1 - t0),
                 100 * useful / (t1 - t0) / LINE_RATE, resent,
                 "met" if useful / (t1 - t0) >= 0.7 * LINE_RATE else "MISSED"))
    finally:
        h.__exit__(None, None, None)
        c.stop()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bench_sync DIR SECONDS")
    tmp, seconds = sys.argv[1], max(20.0, float(sys.argv[2]))
    os.environ.setdefault("TMPDIR", tmp)
    import tempfile
    tempfile.tempdir = tmp
    tc.CENTRAL = os.environ["HQ_CENTRAL"]
    bench_http(tmp)
    bench_serial(tmp, seconds)


if __name__ == "__main__":
    main()
