"""bench_net DIR SECONDS — a ticket request from a good client while two other
addresses hold as many slow connections and event streams as they can (issue 13).

hallqd with the default budgets (http.max_clients 256, max_per_address 16,
max_streams_per_address 4, request_timeout_s 10). The good client is 127.0.0.1,
issuing tickets one after the other, each on a new connection as a kiosk's
page does (http.issue_per_minute is 0 here so the client can ask faster than
a kiosk and give enough samples). The attackers are 127.0.0.2 and 127.0.0.3:
each keeps trying to hold 8 event streams (twice the limit) and 200 slow
connections (a header line every 8 s), opening a new one whenever hallqd
closes or refuses one.

Printed: the good client's latency (p50, p99, max) alone and under attack,
their ratio, failed requests, and what the attackers managed to hold.
Measures, asserts nothing.
"""
import copy
import os
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../integration"))
from hallq import BASE_CONFIG, Hall  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402

SLOW = 200
STREAMS = 8  # twice what hallqd allows: more only churns, and the slow ones get no slot


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))] if xs else float("nan")


def ticket(port):
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/api/v1/tickets", body=json.dumps({"service": "A"}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, (time.perf_counter() - t0) * 1000.0


def run_good(port, seconds):
    """One ticket every 20 ms (each on a new connection: the machine's ephemeral ports,
    not hallqd, would run out at full speed)."""
    lat, failed, why = [], 0, {}
    end = time.time() + seconds
    while time.time() < end:
        t0 = time.time()
        try:
            st, ms = ticket(port)
            if st == 201:
                lat.append(ms)
            else:
                failed += 1
                why[st] = why.get(st, 0) + 1
        except OSError as e:
            failed += 1
            why[type(e).__name__] = why.get(type(e).__name__, 0) + 1
        time.sleep(max(0.0, 0.02 - (time.time() - t0)))
    return lat, failed, why


class Attacker(threading.Thread):
    def __init__(self, port, src):
        super().__init__(daemon=True)
        self.port, self.src = port, src
        self.stop = threading.Event()
        self.slow, self.streams = [], []
        self.held_slow = self.held_streams = 0
        self.opened = 0

    def connect(self):
        s = socket.socket()
        s.setblocking(False)
        # IP_BIND_ADDRESS_NO_PORT: the port is chosen at connect, per destination, so the
        # attackers do not use up the machine's ephemeral ports
        s.setsockopt(socket.IPPROTO_IP, 24, 1)
        s.bind((self.src, 0))
        try:
            s.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        return s

    def run(self):
        tick = 0
        while not self.stop.is_set():
            # top up once a second: new slow connections and streams for every one
            # hallqd closed or refused (no waiting for answers)
            if tick % 5 == 0:
                for _ in range(STREAMS - len(self.streams)):
                    self.streams.append([self.connect(), False])
                for _ in range(SLOW - len(self.slow)):
                    self.slow.append([self.connect(), False])
                self.opened += 1
            time.sleep(0.2)
            tick += 1
            trickle = tick % 40 == 0  # every 8 s
            for group, first in ((self.slow, b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"),
                                 (self.streams, b"GET /api/v1/events HTTP/1.1\r\n"
                                  b"Host: 127.0.0.1\r\n\r\n")):
                for item in list(group):
                    s, sent = item
                    try:
                        if not sent:
                            s.send(first)
                            item[1] = True
                        elif trickle and group is self.slow:
                            s.send(b"X-Slow: y\r\n")
                        r, _, _ = select.select([s], [], [], 0)
                        if r:
                            data = s.recv(65536)
                            if not data or data.startswith(b"HTTP/1.1 503"):
                                raise OSError("closed")
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        s.close()
                        group.remove(item)
            self.held_slow = len(self.slow)
            self.held_streams = len(self.streams)
        for s, _ in self.slow + self.streams:
            s.close()


def metric(port, name):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/metrics")
        body = c.getresponse().read().decode()
        c.close()
    except OSError:  # starved (the code before issue 13)
        return float("nan")
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return float("nan")


def main():
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    seconds = max(seconds, 10.0)
    cfg = copy.deepcopy(BASE_CONFIG)
    for k in ("max_per_address", "max_streams_per_address", "max_clients", "issue_per_minute"):
        cfg["http"].pop(k, None)
    # HQ_BENCH_HALLQD: another hallqd (the code before issue 13, for the comparison in
    # docs/BENCHMARKS.md), given the configuration it knows
    other = os.environ.get("HQ_BENCH_HALLQD")
    if not other:
        cfg["http"]["issue_per_minute"] = 0
    cfg["services"][0]["daily_quota"] = 0
    cfg["services"][0]["range"] = [1, 9999]
    cfg["services"][0]["digits"] = 4
    with Hall(cfg, binary=other or None) as h:
        base, base_failed, base_why = run_good(h.port, seconds)
        atk = [Attacker(h.port, "127.0.0.2"), Attacker(h.port, "127.0.0.3")]
        for a in atk:
            a.start()
        time.sleep(12)  # past one request deadline: the attackers are at their steady state
        conns = metric(h.port, "hallq_http_connections")
        sse = metric(h.port, "hallq_sse_clients")
        under, under_failed, under_why = run_good(h.port, seconds)
        conns2 = metric(h.port, "hallq_http_connections")
        refused = metric(h.port, "hallq_http_refused_connections_total")
        cut = metric(h.port, "hallq_http_deadline_closed_total")
        for a in atk:
            a.stop.set()
        for a in atk:
            a.join(30)
    print(f"good client alone:        {len(base)} tickets, p50 {pct(base, 50):.2f} ms, "
          f"p99 {pct(base, 99):.2f} ms, max {max(base):.2f} ms, failed {base_failed} {base_why or ''}")
    print(f"under attack:             {len(under)} tickets, p50 {pct(under, 50):.2f} ms, "
          f"p99 {pct(under, 99):.2f} ms, max {max(under) if under else float('nan'):.2f} ms, "
          f"failed {under_failed} {under_why or ''}")
    if under:
        print(f"p99 ratio attack/alone:   {pct(under, 99) / pct(base, 99):.2f}")
    print(f"hallqd held: {conns:.0f} connections ({sse:.0f} event streams) at the start of the "
          f"attack, {conns2:.0f} at its end; refused {refused:.0f} connections, closed "
          f"{cut:.0f} by the request deadline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
