#!/usr/bin/env python3
"""Benchmark: period figures across halls on hallq-central (GET /v1/manager/figures,
tools/central/report.c; docs/BENCHMARKS.md "Period figures across halls"). Not part of ctest.

  bench_central_figures.py [--halls 2] [--days 30] [--tickets 500]

Each hall gets --days past days (ending yesterday) of --tickets tickets a day: a ticket
record and its call, start and finish events (4 records a ticket), and its hallq.json
(`hall config`). Then the same requests are made twice; CPU time of the hallq-central
process per request is read from /proc/PID/stat (utime + stime), not wall time.
Environment: HQ_CENTRAL (default build/tools/hallq-central), HQ_CENTRAL_STORE=pg for
PostgreSQL (as the integration tests).
"""
import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import test_central as tc  # noqa: E402
from hallq import BASE_CONFIG  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def admin(c, *args, stdin=None):
    r = subprocess.run([tc.CENTRAL, *args, *c.store], input=stdin, capture_output=True,
                       text=True, timeout=60)
    if r.returncode:
        raise SystemExit(f"{args}: {r.stderr}")
    return r.stdout


def iso(day, sec):
    t = datetime.datetime.combine(day, datetime.time()) + datetime.timedelta(seconds=sec)
    return t.strftime("%Y-%m-%dT%H:%M:%S+08:00")


def hall_records(days, tickets):
    seq = 0
    for day in days:
        for k in range(tickets):
            issued = 9 * 3600 + k * 50
            called, served, done = issued + 300, issued + 320, issued + 620
            num = "A%03d" % (k + 1)
            u = f"{day}-{k}"
            w = 1 + k % 4
            staff = "100%d" % w
            for kind, at in (("call", called), ("start", served), ("finish", done)):
                seq += 1
                yield {"seq": seq, "uuid": f"e{seq}", "type": "event", "at": iso(day, at),
                       "data": {"kind": kind, "window": w, "ticket": u, "number": num,
                                "staff": staff, "service": "A"}}
            seq += 1
            yield {"seq": seq, "uuid": u, "type": "ticket", "at": iso(day, done),
                   "data": {"uuid": u, "day": day.isoformat(), "number": num, "service": "A",
                            "issued_for": "A", "status": "done", "window": w, "staff": staff,
                            "issued_at": iso(day, issued), "called_at": iso(day, called),
                            "served_at": iso(day, served), "finished_at": iso(day, done)}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--halls", type=int, default=2)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--tickets", type=int, default=500)
    a = ap.parse_args()
    tc.CENTRAL = os.environ.get("HQ_CENTRAL") or os.path.join(HERE, "..", "..", "build", "tools",
                                                              "hallq-central")
    tmp = tempfile.mkdtemp(prefix="hallq-bench-fig-")
    c = tc.Central(tmp, "--provisioned-only")
    try:
        today = datetime.datetime.utcfromtimestamp(time.time() + 8 * 3600).date()
        days = [today - datetime.timedelta(days=a.days - i) for i in range(a.days)]
        ingest = 0.0
        toks = {}
        admin(c, "manager", "add", "m", "--region", "广东省/广州市", stdin="pass-m-123\n")
        for h in range(a.halls):
            hall = f"GZ-B{h:03d}"
            out = admin(c, "hall", "add", hall, "--region", "广东省/广州市/天河区")
            tok = re.search(r"token (hq_[0-9a-f]{64})", out).group(1)
            cfg = json.loads(json.dumps(BASE_CONFIG))
            cfg["hall"]["id"] = hall
            cfg["http"]["listen"] = "127.0.0.1:8080"
            path = os.path.join(tmp, hall + ".json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(cfg, f, ensure_ascii=False)
            admin(c, "hall", "config", hall, path)
            toks[hall] = tok
            batch = []
            for r in hall_records(days, a.tickets):
                batch.append(r)
                if len(batch) == 500:
                    t0 = cpu(c.proc.pid)
                    st, _ = tc.post(c.port, hall, json.dumps({"hall_id": hall, "records": batch})
                                    .encode(), token=tok, timeout=120)
                    ingest += cpu(c.proc.pid) - t0
                    assert st == 200, st
                    batch = []
            if batch:
                st, _ = tc.post(c.port, hall, json.dumps({"hall_id": hall, "records": batch})
                                .encode(), token=tok, timeout=120)
                assert st == 200, st
        print(f"storing the records: {ingest:.2f} s CPU")
        st, body = tc.request(c.port, "POST", "/v1/manager/login",
                              json.dumps({"login": "m", "password": "pass-m-123"}).encode())
        sess = body["session"]
        n = a.halls * a.days * a.tickets * 4
        frm, to = days[0].isoformat(), days[-1].isoformat()
        for what, q in ((f"all halls, {a.days} past days ({n} records)", f"from={frm}&to={to}"),
                        ("all halls, one past day", f"from={to}&to={to}"),
                        (f"all halls, {a.days} days up to today", f"from={days[1]}&to={today}"),
                        ("one hall by window, the past days", f"from={frm}&to={to}&hall=GZ-B000&by=window")):
            for attempt in ("first", "second"):
                t0 = cpu(c.proc.pid)
                st, body = tc.request(c.port, "GET", "/v1/manager/figures?" + q, token=sess,
                                      timeout=600)
                t1 = cpu(c.proc.pid)
                assert st == 200, (st, body)
                print(f"{what}, {attempt}: {t1 - t0:.2f} s CPU (served {body['total']['served']})")
        # one more day (today's, seq after the others) with the past days kept: what the
        # trigger that drops kept days costs the receiver
        t0 = cpu(c.proc.pid)
        for hall, tok in toks.items():
            recs = list(hall_records(days + [today], a.tickets))[a.days * a.tickets * 4:]
            for i in range(0, len(recs), 500):
                st, _ = tc.post(c.port, hall, json.dumps({"hall_id": hall, "records":
                                                          recs[i:i + 500]}).encode(),
                                token=tok, timeout=120)
                assert st == 200, st
        print(f"storing one more day's {a.halls * a.tickets * 4} records, days kept:"
              f" {cpu(c.proc.pid) - t0:.2f} s CPU")
    finally:
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
