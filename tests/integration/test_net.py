"""The hall LAN cannot starve or drain the hall (issue 13).

hallqd listens where kiosks, displays, clerks' PCs, citizens' phones and any
visitor's laptop share one network. Each case here is one of the holes the
issue found; "other addresses" are 127.0.0.2, 127.0.0.3, ... (all of 127/8
is the loopback interface on Linux), the good client is 127.0.0.1.

Cases (all by default, or name them as arguments):
  two_daemons  a second hallqd on a port in use refuses to start, naming it
  fd_limit     the soft open-files limit is raised; a max_clients it cannot serve is refused
  slow         slow connections from two addresses leave a third served; the request
               deadline closes a connection that trickles its headers
  keepalive    a kept-alive connection may idle before its next request
  slots        connections kept for the configured kiosks and displays
  streams      per-address stream limit (503 + Retry-After), hung-up streams closed at once
  public       a shared (NAT) address and a trusted proxy's X-Forwarded-For
  host         Host checked (421)
  media        the JSON media type required on every body (415)
  issue_rate   anonymous issuing paced per address (429 + Retry-After, logged once)
  kiosks       http.kiosk_addresses: only these issue without a token
  login        manager sign-in backs off per address
"""
import copy
import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from hallq import BASE_CONFIG, CLERK, HALLQD, MANAGER, Failures, Hall, wait_for  # noqa: E402

T = Failures("test_net")


def config(**http):
    c = copy.deepcopy(BASE_CONFIG)
    # the harness turns the budgets off for other tests; here they are the subject
    for k in ("max_per_address", "max_streams_per_address", "issue_per_minute"):
        c["http"].pop(k, None)
    c["http"].update(http)
    return c


def request(h, src, method, path, body=None, headers=None, raw=None, token=None, timeout=10):
    """One request from source address src: (status, headers, body)."""
    c = http.client.HTTPConnection("127.0.0.1", h.port, timeout=timeout, source_address=(src, 0))
    hd = dict(headers or {})
    if token:
        hd["Authorization"] = "Bearer " + token
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        hd.setdefault("Content-Type", "application/json")
    try:
        c.request(method, path, body=data, headers=hd)
        r = c.getresponse()
        payload = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
    finally:
        c.close()
    if hdrs.get("content-type", "").startswith("application/json"):
        payload = json.loads(payload.decode())
    return r.status, hdrs, payload


def metric(h, name):
    """A number from /metrics; None when there is none (or no answer)."""
    try:
        st, _, body = request(h, "127.0.0.1", "GET", "/metrics")
    except OSError:
        return None
    if st != 200:
        return None
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def held(h, src):
    """A kept-alive connection from src that has had one answer (so hallqd
    accepted it), or None when hallqd refused the connection."""
    c = http.client.HTTPConnection("127.0.0.1", h.port, timeout=10, source_address=(src, 0))
    try:
        c.request("GET", "/api/v1/status")
        r = c.getresponse()
        r.read()
        return c if r.status == 200 else None
    except (OSError, http.client.HTTPException):
        c.close()
        return None


def open_stream(h, src, xff=None):
    """Opens /api/v1/events from src: (status, headers, socket)."""
    s = socket.create_connection(("127.0.0.1", h.port), timeout=10, source_address=(src, 0))
    extra = f"X-Forwarded-For: {xff}\r\n" if xff else ""
    s.sendall(f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}"
              "Accept: text/event-stream\r\n\r\n".encode())
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    except OSError:
        pass
    head = buf.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    if not head or not head[0].startswith("HTTP/"):
        s.close()
        return 0, {}, None
    status = int(head[0].split()[1])
    hdrs = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, s


def log_count(h, *words):
    return sum(1 for line in h.read_log_all().splitlines() if all(w in line for w in words))


class NetHall(Hall):
    def read_log_all(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()


# ------------------------------------------------------------------ cases

def case_two_daemons():
    with NetHall(config()) as a:
        second = NetHall(config())
        second.config["http"]["listen"] = a.config["http"]["listen"]
        second.write_config()
        log = open(second.log_path, "ab")
        p = subprocess.Popen([HALLQD, "--config", second.cfg_path], stdout=log, stderr=log)
        try:
            rc = p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
            T.check(False, "a second hallqd on a port in use must not keep running")
        log.close()
        text = second.read_log_all()
        T.check(rc != 0, f"the second hallqd exits with an error (rc {rc})")
        addr = a.config["http"]["listen"]
        T.check(addr in text and "already in use" in text,
                f"its message names the address {addr} and says it is in use: {text[-600:]!r}")
        # the first one serves every request alone
        numbers = set()
        for _ in range(12):
            st, _, body = request(a, "127.0.0.1", "POST", "/api/v1/tickets", {"service": "A"},
                                  token=CLERK)
            T.eq(st, 201, "the first hallqd answers")
            if st == 201:
                numbers.add(body["ticket"]["number"])
        T.eq(len(numbers), 12, "12 distinct numbers from the one database")
        second.stop()
        import shutil
        shutil.rmtree(second.dir, ignore_errors=True)


def case_fd_limit():
    # soft limit below what max_clients needs, hard limit above: raised at start
    c = config(max_clients=1024, max_per_address=16)
    h = NetHall(c)
    orig = h.start

    def limited(soft, hard):
        def pre():
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        return pre

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 2048:
        T.check(False, f"the test needs a hard open-files limit of 2048 or more, got {hard}")
        return
    log = open(h.log_path, "ab")
    p = subprocess.Popen([HALLQD, "--config", h.cfg_path], stdout=log, stderr=log,
                         preexec_fn=limited(256, 2048))
    try:
        h.proc = p
        h.log = log
        ok = wait_for(lambda: p.poll() is None and _status_ok(h), timeout=15)
        T.check(ok, "hallqd starts with soft 256 / hard 2048 and max_clients 1024: "
                + h.read_log_all()[-400:])
        if ok:
            with open(f"/proc/{p.pid}/limits") as f:
                line = next(x for x in f if x.startswith("Max open files"))
            T.eq(line.split()[3], "2048", "its soft open-files limit was raised to the hard one")
    finally:
        h.stop()
    # hard limit too low for max_clients 1024: refused, naming the key
    log = open(h.log_path, "ab")
    p = subprocess.Popen([HALLQD, "--config", h.cfg_path], stdout=log, stderr=log,
                         preexec_fn=limited(512, 512))
    try:
        rc = p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    log.close()
    text = h.read_log_all()
    T.check(rc != 0, f"hard limit 512 and max_clients 1024: hallqd refuses to start (rc {rc})")
    T.check("$.http.max_clients" in text and "LimitNOFILE" in text,
            "the refusal names $.http.max_clients and LimitNOFILE: " + text[-400:])
    del orig
    import shutil
    shutil.rmtree(h.dir, ignore_errors=True)


def _status_ok(h):
    try:
        return request(h, "127.0.0.1", "GET", "/api/v1/status", timeout=2)[0] == 200
    except OSError:
        return False


def slow_client(h, src, n, stop, every, opened):
    """n connections from src that send a request's header lines one every `every` s."""
    socks = []
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", h.port), timeout=5, source_address=(src, 0))
            s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            socks.append(s)
        except OSError:
            pass
    opened.append(len(socks))
    i = 0
    while not stop.is_set():
        for s in list(socks):
            try:
                s.sendall(b"X-Slow-%d: y\r\n" % i)
            except OSError:
                socks.remove(s)  # closed by hallqd: open another, as an attacker would
                try:
                    s2 = socket.create_connection(("127.0.0.1", h.port), timeout=5,
                                                  source_address=(src, 0))
                    s2.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    socks.append(s2)
                except OSError:
                    pass
        i += 1
        stop.wait(every)
    for s in socks:
        s.close()


def case_slow():
    c = config(max_clients=32, max_per_address=8, request_timeout_s=3)
    with NetHall(c) as h:
        stop = threading.Event()
        opened = []
        ts = [threading.Thread(target=slow_client, args=(h, src, n, stop, 1.0, opened),
                               daemon=True) for src, n in (("127.0.0.2", 40), ("127.0.0.3", 16))]
        for t in ts:
            t.start()
        try:
            wait_for(lambda: len(opened) == 2, timeout=30)
            time.sleep(1)
            good = 0
            for _ in range(12):
                try:
                    st, _, _ = request(h, "127.0.0.1", "GET", "/api/v1/status", timeout=10)
                    good += st == 200
                except OSError:
                    pass
            T.eq(good, 12, "a third address is served while two hold slow connections")
            try:
                st = request(h, "127.0.0.1", "POST", "/api/v1/tickets", {"service": "A"})[0]
            except OSError as e:
                st = repr(e)
            T.eq(st, 201, "and can take a ticket")
            T.check(wait_for(lambda: (metric(h, "hallq_http_deadline_closed_total") or 0) > 0,
                             timeout=20),
                    "connections trickling their headers are closed by the request deadline "
                    "(each byte resets only the idle timeout)")
            T.check((metric(h, "hallq_http_refused_connections_total") or 0) > 0,
                    "connections over the per-address limit were refused")
        finally:
            stop.set()
            for t in ts:
                t.join(20)
        T.check(wait_for(lambda: (metric(h, "hallq_http_connections") or 99) <= 1, timeout=20),
                "all their connections are given back")


def case_keepalive():
    """A kept-alive connection idle past the request deadline (but within the
    idle timeout) still takes a POST: clients reuse connections for that long."""
    with NetHall(config(request_timeout_s=2, issue_per_minute=0)) as h:
        c = http.client.HTTPConnection("127.0.0.1", h.port, timeout=10)
        c.request("GET", "/api/v1/status")
        r = c.getresponse()
        r.read()
        T.eq(r.status, 200, "first request on the connection")
        time.sleep(5)
        try:
            c.request("POST", "/api/v1/tickets", body=b'{"service":"A"}',
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            st = r.status
        except (OSError, http.client.HTTPException) as e:
            st = repr(e)
        T.eq(st, 201, "a POST on it after 5 s idle (deadline 2 s)")
        c.close()


def case_slots():
    c = config(max_clients=16, max_per_address=8, device_addresses=["127.0.0.5"],
               device_slots=4, request_timeout_s=60)
    with NetHall(c) as h:
        keep = []
        got = {}
        for src in ("127.0.0.2", "127.0.0.3"):
            got[src] = 0
            for _ in range(10):
                k = held(h, src)
                if k:
                    keep.append(k)
                    got[src] += 1
        T.eq(got["127.0.0.2"], 8, "127.0.0.2 gets max_per_address connections")
        T.eq(got["127.0.0.3"], 4, "127.0.0.3 gets what is left but the 4 device slots")
        dev = 0
        for _ in range(4):
            k = held(h, "127.0.0.5")
            if k:
                keep.append(k)
                dev += 1
        T.eq(dev, 4, "the display at 127.0.0.5 still gets its 4 kept slots")
        T.check(held(h, "127.0.0.6") is None, "a fifth address finds the server full")
        for k in keep:
            k.close()
        T.check(wait_for(lambda: held(h, "127.0.0.6") is not None, timeout=15),
                "once they close, others are served again")


def case_streams():
    c = config(max_clients=32, max_per_address=16, max_streams_per_address=3)
    with NetHall(c) as h:
        socks = []
        for i in range(3):
            st, _, s = open_stream(h, "127.0.0.2")
            T.eq(st, 200, f"stream {i + 1} of 127.0.0.2")
            if s:
                socks.append(s)
        st, hdrs, s = open_stream(h, "127.0.0.2")
        T.eq(st, 503, "a fourth stream from 127.0.0.2 gets 503 (not 413)")
        T.check(hdrs.get("retry-after", "").isdigit(), f"with Retry-After: {hdrs}")
        if s:
            s.close()
        st, _, disp = open_stream(h, "127.0.0.3")
        T.eq(st, 200, "a wall display at 127.0.0.3 gets its stream")
        T.eq(metric(h, "hallq_sse_clients"), 4.0, "4 streams counted")
        for s in socks:
            s.close()
        # the first ping comes 15 s after the start: well before it, hung-up streams are gone
        T.check(wait_for(lambda: metric(h, "hallq_sse_clients") == 1, timeout=5),
                f"the 3 streams 127.0.0.2 dropped are closed at once "
                f"(gauge {metric(h, 'hallq_sse_clients')})")
        st, _, _ = request(h, "127.0.0.2", "POST", "/api/v1/tickets", {"service": "A"})
        T.eq(st, 201, "127.0.0.2 takes a ticket right after")
        st, _, s = open_stream(h, "127.0.0.2")
        T.eq(st, 200, "and opens a stream again")
        # open and drop many: none of them stays behind
        for _ in range(20):
            st, _, s2 = open_stream(h, "127.0.0.4")
            if s2:
                s2.close()
        T.check(wait_for(lambda: metric(h, "hallq_sse_clients") == 2, timeout=8),
                "20 streams opened and dropped leave nothing counted")
        st, _, _ = request(h, "127.0.0.4", "GET", "/api/v1/status")
        T.eq(st, 200, "and their address is served")
        s.close()
        disp.close()


def case_public():
    c = config(max_clients=32, max_per_address=4, max_streams_per_address=2,
               public_addresses=["127.0.0.7"], public_max_clients=8,
               trusted_proxies=["127.0.0.8"], issue_burst=2, issue_per_minute=1)
    with NetHall(c) as h:
        socks = []
        for i in range(6):
            st, _, s = open_stream(h, "127.0.0.7")
            T.eq(st, 200, f"phone {i + 1} behind the Wi-Fi NAT 127.0.0.7 gets its stream")
            if s:
                socks.append(s)
        extra = held(h, "127.0.0.7")
        T.check(extra is not None, "7 connections from the NAT address")
        st, _, s = open_stream(h, "127.0.0.7")
        n = 0
        while s and st == 200 and n < 5:
            socks.append(s)
            n += 1
            st, _, s = open_stream(h, "127.0.0.7")
        T.check(len(socks) <= 8, f"but no more than public_max_clients ({len(socks)} streams)")
        good = held(h, "127.0.0.1")
        T.check(good is not None, "others are served beside them")
        for s in socks + [extra, good]:
            if s:
                s.close()
        T.check(wait_for(lambda: (metric(h, "hallq_http_connections") or 99) <= 1, timeout=10),
                "the phones' connections are given back")
        # through the trusted proxy the client is the one X-Forwarded-For names
        a = [open_stream(h, "127.0.0.8", xff=f"6.6.6.6, 10.0.0.{i % 2 + 1}") for i in range(4)]
        T.eq([x[0] for x in a], [200, 200, 200, 200],
             "two streams each for two clients behind the proxy")
        st, _, s = open_stream(h, "127.0.0.8", xff="10.0.0.1")
        T.eq(st, 503, "a third for 10.0.0.1 is refused")
        for x in a:
            if x[2]:
                x[2].close()
        sts = [request(h, "127.0.0.8", "POST", "/api/v1/tickets", {"service": "A"},
                       headers={"X-Forwarded-For": "10.0.0.9"})[0] for _ in range(3)]
        T.eq(sts, [201, 201, 429], "the issuing budget is 10.0.0.9's")
        st, _, _ = request(h, "127.0.0.8", "POST", "/api/v1/tickets", {"service": "A"},
                           headers={"X-Forwarded-For": "10.0.0.10"})
        T.eq(st, 201, "another client behind the proxy has its own")
        # from an address that is no trusted proxy, the header means nothing
        sts = [request(h, "127.0.0.2", "POST", "/api/v1/tickets", {"service": "A"},
                       headers={"X-Forwarded-For": f"10.1.0.{i}"})[0] for i in range(3)]
        T.eq(sts, [201, 201, 429], "X-Forwarded-For from 127.0.0.2 is ignored")


def case_host():
    c = config(hosts=["hall.example"])
    with NetHall(c) as h:
        for host, want in ((f"127.0.0.1:{h.port}", 200), ("localhost", 200),
                           (f"hall.example:{h.port}", 200), ("HALL.example.", 200),
                           ("evil.example", 421), (f"evil.example:{h.port}", 421),
                           ("127.0.0.1.evil.example", 421)):
            st, _, _ = request(h, "127.0.0.1", "GET", "/api/v1/status", headers={"Host": host})
            T.eq(st, want, f"GET with Host {host}")
        st, _, _ = request(h, "127.0.0.1", "POST", "/api/v1/tickets", {"service": "A"},
                           headers={"Host": "rebound.example"})
        T.eq(st, 421, "a ticket through a rebound name is refused")
        T.eq(h.status()["services"][0]["issued"], 0, "and nothing was issued")


def case_media():
    with NetHall(config()) as h:
        body = json.dumps({"service": "A"}).encode()
        cases = ((None, 415), ("application/jsonp", 415), ("text/plain", 415),
                 ("application/x-www-form-urlencoded", 415), ("application/json-seq", 415),
                 ("application/json", 201), ("application/json; charset=utf-8", 201),
                 ("Application/JSON;charset=UTF-8", 201))
        for ctype, want in cases:
            hd = {"Content-Type": ctype} if ctype else {}
            st, _, _ = request(h, "127.0.0.1", "POST", "/api/v1/tickets", raw=body, headers=hd)
            T.eq(st, want, f"POST /api/v1/tickets with Content-Type {ctype}")
        T.eq(h.status()["services"][0]["issued"], 3, "only the three JSON ones issued")


def case_issue_rate():
    with NetHall(config(issue_per_minute=30, issue_burst=5)) as h:
        sts = []
        for _ in range(8):
            st, hdrs, body = request(h, "127.0.0.2", "POST", "/api/v1/tickets", {"service": "A"})
            sts.append(st)
        T.eq(sts, [201] * 5 + [429] * 3, "a burst of 5, then 429")
        T.check(hdrs.get("retry-after", "").isdigit() and 1 <= int(hdrs["retry-after"]) <= 3,
                f"with Retry-After of a few seconds: {hdrs.get('retry-after')}")
        for _ in range(30):
            request(h, "127.0.0.2", "POST", "/api/v1/tickets", {"service": "A"})
        T.eq(log_count(h, "127.0.0.2", "issue_per_minute"), 1,
             "the flood is logged once for its address")
        st, _, _ = request(h, "127.0.0.3", "POST", "/api/v1/tickets", {"service": "A"})
        T.eq(st, 201, "another address is not affected")
        st, _, _ = request(h, "127.0.0.2", "POST", "/api/v1/tickets", {"service": "A"},
                           token=CLERK)
        T.eq(st, 201, "a clerk's token is not paced")
        T.eq(h.status()["services"][0]["issued"], 7, "5 + 1 + 1 issued")
        # a kiosk's pace (one every 2.5 s here, faster than a person can take one) never meets it
        with NetHall(config(issue_per_minute=30, issue_burst=1)) as k:
            sts = []
            for _ in range(4):
                sts.append(request(k, "127.0.0.4", "POST", "/api/v1/tickets",
                                   {"service": "A"})[0])
                time.sleep(2.5)
            T.eq(sts, [201] * 4, "a kiosk's pace is never refused, even with a burst of 1")


def case_kiosks():
    with NetHall(config(kiosk_addresses=["127.0.0.4"])) as h:
        st, _, body = request(h, "127.0.0.2", "POST", "/api/v1/tickets", {"service": "A"})
        T.eq(st, 403, "an address that is no kiosk may not issue anonymously")
        st, _, _ = request(h, "127.0.0.4", "POST", "/api/v1/tickets", {"service": "A"})
        T.eq(st, 201, "the kiosk may")
        st, _, _ = request(h, "127.0.0.2", "POST", "/api/v1/tickets", {"service": "A"},
                           token=CLERK)
        T.eq(st, 201, "a clerk's token may from anywhere")


def case_login():
    with NetHall(config()) as h:
        sts = [request(h, "127.0.0.2", "POST", "/api/v1/admin/login",
                       {"token": f"guess-{i:012d}"})[0] for i in range(5)]
        T.eq(sts, [401] * 5, "five wrong guesses answered 401")
        st, hdrs, _ = request(h, "127.0.0.2", "POST", "/api/v1/admin/login",
                              {"token": "guess-000000000099"})
        T.eq(st, 429, "the sixth is refused 429")
        T.check(hdrs.get("retry-after", "").isdigit(), "with Retry-After")
        st, _, _ = request(h, "127.0.0.2", "POST", "/api/v1/admin/login", {"token": MANAGER})
        T.eq(st, 429, "even with the right token, until the back-off ends")
        st, _, body = request(h, "127.0.0.3", "POST", "/api/v1/admin/login", {"token": MANAGER})
        T.eq(st, 200, "the manager at another address signs in")


CASES = {
    "two_daemons": case_two_daemons, "fd_limit": case_fd_limit, "slow": case_slow,
    "keepalive": case_keepalive, "slots": case_slots, "streams": case_streams, "public": case_public, "host": case_host,
    "media": case_media, "issue_rate": case_issue_rate, "kiosks": case_kiosks,
    "login": case_login,
}


def main():
    names = sys.argv[1:] or list(CASES)
    for n in names:
        print(f"--- {n}", flush=True)
        CASES[n]()
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
