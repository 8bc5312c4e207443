#!/usr/bin/env python3
"""Benchmark: many halls pushing at once to two hallq-central receivers on one PostgreSQL
(issue 19; docs/BENCHMARKS.md). Not part of ctest.

  bench_central_pg.py [--halls 1000] [--records 500] [--batch 100] [--scale 1.0] [--fsync on]

A light sender of the sync protocol (asyncio, one keep-alive connection per hall, no hallqd):
every hall sends its records in batches, alternating between the receivers, and moves on
from each answer's acked_through. Measured: records/s stored and acknowledged (first batch
out to last acknowledgement), against PostgreSQL's own bare rate for the same rows into the
same table definition (COPY into a LIKE … INCLUDING ALL copy of `records`, same cluster,
same run); the CPU each side used (the sender's share stated). Afterwards every record must
be present exactly once.

Environment: HQ_CENTRAL (hallq-central built with PostgreSQL), HQ_PG_BIN (optional).
"""
import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import pgfix  # noqa: E402

CENTRAL = os.environ.get("HQ_CENTRAL") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "tools", "hallq-central")


def data_of(h, s):
    # A ticket record's data as hallqd sends it (firmware/store.c), trimmed to its size.
    return {"uuid": "%08d-0000-4000-8000-%012d" % (h, s), "day": "2026-12-07", "number": "A%03d" % (s % 1000),
            "serial": s, "service": "A", "issued_for": "A", "task_code": "11440100MB2C90233X4440111008000",
            "priority": "normal", "channel": "kiosk", "status": "done", "recalls": 0, "requeues": 0,
            "transferred": False, "real_name": True, "window": 3, "staff": "1002",
            "issued_at": "2026-12-07T09:00:00+08:00", "called_at": "2026-12-07T09:12:00+08:00",
            "served_at": "2026-12-07T09:12:30+08:00", "finished_at": "2026-12-07T09:20:00+08:00",
            "wait_s": 720, "handle_s": 450}


def at_of(s):
    return "2026-12-07T%02d:%02d:%02d+08:00" % (8 + (s // 3600) % 10, (s // 60) % 60, s % 60)


def body_of(h, seqs):
    return json.dumps({"hall_id": "H%04d" % h, "records": [
        {"seq": s, "uuid": "r-%d-%d" % (h, s), "type": "ticket", "at": at_of(s), "data": data_of(h, s)}
        for s in seqs]}, separators=(",", ":")).encode()


async def hall(h, ports, n, batch, stats):
    conns = {}
    acked, i = 0, 0
    while acked < n:
        seqs = list(range(acked + 1, min(acked + batch, n) + 1))
        body = body_of(h, seqs)
        port = ports[i % len(ports)]
        i += 1
        try:
            if port not in conns:
                conns[port] = await asyncio.open_connection("127.0.0.1", port)
            r, w = conns[port]
            w.write(b"POST /v1/halls/H%04d/records HTTP/1.1\r\nHost: c\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % (h, len(body)) + body)
            await w.drain()
            status = int((await r.readline()).split()[1])
            length = 0
            while True:
                line = await r.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            answer = json.loads(await r.readexactly(length))
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            conns.pop(port, None)
            stats["errors"] += 1
            await asyncio.sleep(0.1)
            continue
        if status != 200:
            stats["errors"] += 1
            await asyncio.sleep(0.1)
            continue
        acked = max(acked, answer["acked_through"])
    for r, w in conns.values():
        w.close()


def cpu_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu(d):
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read()
            if b"postgres" in cmd:
                total += cpu_of(int(pid))
                # children that exited are counted in the postmaster's cutime/cstime
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--halls", type=int, default=1000)
    ap.add_argument("--records", type=int, default=500)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies halls (e.g. 0.1 for a quick run)")
    ap.add_argument("--fsync", default="on")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # two sockets per hall
    halls = max(1, int(a.halls * a.scale))
    total = halls * a.records
    d = tempfile.mkdtemp(prefix="hallq-bench-pg-")
    os.chmod(d, 0o755)
    pgdir = os.path.join(d, "pg")
    pgfix.setup(pgdir, fsync=a.fsync)
    rx = []
    try:
        conninfo = pgfix.create_db("bench", d=pgdir)
        for i in range(2):
            p = subprocess.Popen([CENTRAL, "--listen", "127.0.0.1:0", "--pg", conninfo, "--log-level", "warn"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
            line = p.stdout.readline()
            rx.append((p, int(line.split()[2].split(":")[1])))
        ports = [port for _, port in rx]
        stats = {"errors": 0}
        cpu0 = [cpu_of(p.pid) for p, _ in rx]
        pg0 = postgres_cpu(pgdir)
        self0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.monotonic()

        async def run():
            await asyncio.gather(*(hall(h, ports[h % 2:] + ports[:h % 2], a.records, a.batch, stats)
                                   for h in range(halls)))

        asyncio.run(run())
        wall = time.monotonic() - t0
        self1 = resource.getrusage(resource.RUSAGE_SELF)
        sender = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
        receivers = sum(cpu_of(p.pid) for p, _ in rx) - sum(cpu0)
        pg = postgres_cpu(pgdir) - pg0
        rate = total / wall

        # Exactly once: every (hall, seq) present, none twice.
        check = pgfix.psql("SELECT count(*), count(DISTINCT (hall_id, seq)), count(DISTINCT uuid),"
                           " (SELECT count(*) FROM hall_sync WHERE acked_through = %d) FROM records"
                           % a.records, dbname="bench", d=pgdir).strip()
        want = "%d|%d|%d|%d" % (total, total, total, halls)

        # PostgreSQL's bare rate for the same rows: COPY into a copy of the table.
        pgfix.psql("CREATE TABLE records_copy (LIKE records INCLUDING ALL)", dbname="bench", d=pgdir)
        copyfile = os.path.join(d, "rows.tsv")
        with open(copyfile, "w") as f:
            for h in range(halls):
                for s in range(1, a.records + 1):
                    data = json.dumps(data_of(h, s), separators=(",", ":")).replace("\\", "\\\\")
                    f.write("H%04d\t%d\tr-%d-%d\tticket\t%s\t%s\t%s\n" % (h, s, h, s, at_of(s), at_of(s), data))
        t1 = time.monotonic()
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pgdir, "-U", "postgres", "-d", "bench",
                        "-c", "\\copy records_copy(hall_id, seq, uuid, type, at, at_ts, data) FROM '%s'" % copyfile],
                       check=True)
        copy_wall = time.monotonic() - t1
        copy_rate = total / copy_wall
        ncpu = os.cpu_count()
        busy = sender + receivers + pg
        print("halls %d x %d records (batch %d), fsync=%s, %d CPUs, load average at the end %.2f" % (
            halls, a.records, a.batch, a.fsync, ncpu, os.getloadavg()[0]))
        print("stored+acked: %d records in %.2f s = %.0f records/s (%d failed requests retried)" % (
            total, wall, rate, stats["errors"]))
        print("bare COPY:    %d records in %.2f s = %.0f records/s" % (total, copy_wall, copy_rate))
        print("ratio: %.0f %% of COPY (target >= 50 %%)" % (100 * rate / copy_rate))
        print("CPU during the run: sender %.1f s, receivers %.1f s, postgres %.1f s; sender's share %.0f %%"
              " of the CPU used (%.0f %% of the machine's %d CPUs x %.1f s)" % (
                  sender, receivers, pg, 100 * sender / busy if busy else 0, 100 * sender / (ncpu * wall), ncpu, wall))
        print("exactly once: %s (want %s) %s" % (check, want, "OK" if check == want else "FAILED"))
        return 0 if check == want else 1
    finally:
        for p, _ in rx:
            p.terminate()
            p.wait()
        pgfix.cleanup(pgdir)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
