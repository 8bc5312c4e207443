"""Test harness: start the real hallqd on a temporary config and database,
talk to it over HTTP, kill it, restart it. Python standard library only.

Environment (set by ctest): HQ_BUILD = the CMake build dir, HQ_SOURCE = the
source tree.
"""
import copy
import http.client
import json
import os
import shutil
import shlex
import signal
import socket
import random
import sqlite3
import subprocess
import tempfile
import threading
import time

BUILD = os.environ.get("HQ_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
SOURCE = os.environ.get("HQ_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))
HALLQD = os.path.join(BUILD, "hallqd")
# HQ_WRAP: a command put in front of every hallqd the harness starts (tools/hallq valgrind:
# "valgrind --error-exitcode=99 ..."); HQ_TIME_SCALE stretches the harness's own waits for it.
WRAP = shlex.split(os.environ.get("HQ_WRAP", ""))
TIME_SCALE = float(os.environ.get("HQ_TIME_SCALE", "1"))
WRAP_ERROR_EXIT = 99
HALLQCTL = os.path.join(BUILD, "hallqctl")

CLERK = "test-clerk-token-0001"
MANAGER = "test-manager-token-01"

ALL_DAY = {"all": ["00:00-24:00"]}

BASE_CONFIG = {
    "hall": {"id": "test-hall", "name": "测试大厅", "name_en": "Test Hall", "log_level": "info"},
    "http": {
        "listen": "127.0.0.1:0",
        "public_url": "http://127.0.0.1",
        "web_root": os.path.abspath(os.path.join(SOURCE, "firmware/web")),
        "max_body": 4096,
        "max_clients": 16,
        "tokens": [{"token": CLERK, "role": "clerk"}, {"token": MANAGER, "role": "manager"}],
        # Every test client is 127.0.0.1, and many drive hallqd far faster than a kiosk:
        # the per-address budgets are off here; test_net sets and checks them.
        "max_per_address": 16,
        "max_streams_per_address": 16,
        "issue_per_minute": 0,
    },
    # disk_alarm_mib 0: no test may depend on how full the machine's /tmp is (test_retention
    # sets it for the disk alarm)
    "store": {"database": "hall.db", "synchronous": "full", "disk_alarm_mib": 0},
    "privacy": {"id_hash_key": "test-id-hash-key-0123456789"},
    "queue": {"recall_limit": 2, "no_show_requeue": False, "rating_timeout_s": 60},
    "services": [
        {"code": "A", "name": "社保业务", "name_en": "Social insurance", "prefix": "A",
         "range": [1, 999], "digits": 3, "daily_quota": 5000,
         "priorities": ["elderly", "disabled", "green"], "hours": ALL_DAY},
        {"code": "B", "name": "不动产登记", "name_en": "Real estate", "prefix": "B",
         "range": [1, 999], "digits": 3, "daily_quota": 3, "hours": ALL_DAY},
        {"code": "C", "name": "出入境", "name_en": "Exit and entry", "prefix": "C",
         "range": [1, 999], "digits": 3, "id_required": True, "hours": ALL_DAY},
    ],
    "windows": [
        {"number": 1, "name": "1号窗口", "name_en": "Window 1", "services": ["A"]},
        {"number": 2, "name": "2号窗口", "name_en": "Window 2", "services": ["B", "A"]},
        {"number": 3, "name": "3号窗口", "name_en": "Window 3", "services": ["A", "B", "C"]},
    ],
    "staff": [
        {"id": "1001", "name": "王芳"},
        {"id": "1002", "name": "李娜"},
        {"id": "1003", "name": "张伟"},
    ],
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Hall:
    """One hallqd on a private temp dir. Use as a context manager."""

    def __init__(self, config=None, keep=False, binary=None, env=None):
        # binary: another build of the daemon (e.g. hallqd-gpiofake); env: extra variables
        self.binary = binary or HALLQD
        self.env = dict(os.environ, **(env or {}))
        self.dir = tempfile.mkdtemp(prefix="hallq-test-")
        self.config = copy.deepcopy(config or BASE_CONFIG)
        self.port = free_port()
        self.config["http"]["listen"] = f"127.0.0.1:{self.port}"
        self.config["http"]["public_url"] = f"http://127.0.0.1:{self.port}"
        self.cfg_path = os.path.join(self.dir, "hall.json")
        self.db_path = os.path.join(self.dir, self.config["store"]["database"])
        self.log_path = os.path.join(self.dir, "hallqd.log")
        self.proc = None
        self.keep = keep
        self.write_config()

    def write_config(self):
        with open(self.cfg_path, "w", encoding="utf-8") as f:
            json.dump(self.config, f, ensure_ascii=False, indent=1)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, timeout=10.0):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(WRAP + [self.binary, "--config", self.cfg_path],
                                     stdout=self.log, stderr=self.log, env=self.env)
        deadline = time.time() + timeout * TIME_SCALE
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hallqd exited with {self.proc.returncode}: {self.read_log()}")
            try:
                status, _ = self.get("/api/v1/status")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("hallqd did not become ready: " + self.read_log())

    def read_log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout * TIME_SCALE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None
        if WRAP and rc == WRAP_ERROR_EXIT:
            raise RuntimeError("the HQ_WRAP tool found errors in hallqd: " + self.read_log())
        # A sanitizer build (tools/hallq's ASan run) reports into the log; a report is a
        # failure whatever the test then checks, also when it never looks at the exit code.
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                found = sanitizer_report(f.read())
        except OSError:
            found = ""
        if found:
            raise RuntimeError("hallqd: sanitizer report in its log:\n" + found)
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- HTTP

    def request(self, method, path, body=None, token=None, headers=None, raw=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        ctype = resp.getheader("Content-Type", "")
        if ctype.startswith("application/json"):
            return resp.status, json.loads(payload.decode())
        return resp.status, payload

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body if body is not None else {}, **kw)

    def issue(self, service, **extra):
        return self.post("/api/v1/tickets", {"service": service, **extra})

    def window(self, n, action, body=None, token=CLERK):
        return self.post(f"/api/v1/windows/{n}/{action}", body or {}, token=token)

    def status(self):
        st, body = self.get("/api/v1/status")
        assert st == 200, (st, body)
        return body

    def db(self):
        return sqlite3.connect(self.db_path)


class Load(threading.Thread):
    """One client of a concurrent test (test_storage, test_rollover): an
    issuer (tickets, A and B) or a window's clerk (call-next, finish, rating,
    in that order; a refused step is tried again, a 409 on finish or rating
    starts over with a call). Every request and its answer is kept in self.log as
    (action, status, body); a request that got no answer (timeout, reset)
    goes to self.broken."""

    def __init__(self, h, window=None, seed=0, pause=0.0):
        super().__init__(daemon=True)
        self.h, self.window, self.pause = h, window, pause  # pause: s after each answer
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.log, self.broken = [], []

    def send(self, action, fn, *a):
        try:
            st, body = fn(*a)
        except Exception as e:  # no answer: a fault, whatever the reason
            self.broken.append((action, repr(e)))
            return None, None
        self.log.append((action, st, body))
        return st, body

    def run(self):
        h, w = self.h, self.window
        step = "call"
        while not self.stop.is_set():
            if w is None:
                st, body = self.send("issue", h.issue, self.rng.choice("AB"))
            elif step == "call":
                st, body = self.send("call", h.window, w, "call-next")
                if st == 200:
                    step = "finish"
                elif st is None or st == 409:  # nobody waiting
                    time.sleep(0.005)
            elif step == "finish":
                st, body = self.send("finish", h.window, w, "finish")
                if st == 200:
                    step = "rate"
                elif st == 409:  # the window has no ticket any more (a day rollover)
                    step = "call"
            else:
                st, body = self.send("rate", h.window, w, "rating",
                                     {"level": self.rng.randint(1, 5)})
                if st in (200, 409):  # 409: nothing to rate any more (a day rollover)
                    step = "call"
            if st == 503:
                time.sleep(0.005)
            if self.pause:
                time.sleep(self.pause)


def stop_loads(clients, timeout=15):
    """Stops Load clients; returns how many still hang on a request after timeout s each."""
    for c in clients:
        c.stop.set()
    for c in clients:
        c.join(timeout)
    return sum(1 for c in clients if c.is_alive())


def alarm_keys(hall):
    """The dashboard's alarms by key (GET /api/v1/admin/overview as the manager)."""
    st, ov = hall.get("/api/v1/admin/overview", token=MANAGER)
    assert st == 200, (st, ov)
    return {a["key"]: a for a in ov["alarms"]}


def stop_process(p, timeout=5):
    """Ask a helper process (a simulator, hallq-central) to stop; kill it if it will not."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: ",
                   "WARNING: ThreadSanitizer")


def sanitizer_report(text):
    """The first sanitizer report in a process's output (with some lines after it), or ""."""
    for mark in SANITIZER_MARKS:
        i = text.find(mark)
        if i >= 0:
            start = text.rfind("\n", 0, i) + 1
            return "\n".join(text[start:].splitlines()[:40])
    return ""


def sse_reader(hall, events, stop):
    """Read /api/v1/events into events as (event, data) pairs until stop is set
    (run it in a thread)."""
    s = socket.create_connection(("127.0.0.1", hall.port))
    s.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    s.settimeout(0.2)
    buf = b""
    while not stop.is_set():
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            ev, data = None, None
            for line in block.decode("utf-8", "replace").splitlines():
                # chunked framing puts size lines between blocks: ignore them
                if line.startswith("event: "):
                    ev = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
            if ev and data:
                events.append((ev, json.loads(data)))
    s.close()


def read_text(path):
    """A file's text ('' when it cannot be read): logs and state files of helpers."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def wait_for(pred, timeout=10.0, step=0.02):
    """True as soon as pred() is, False after timeout seconds (stretched by
    HQ_TIME_SCALE under valgrind)."""
    end = time.time() + timeout * float(os.environ.get("HQ_TIME_SCALE", "1"))
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return False


class Failures:
    """Collects failed checks so one run reports them all."""

    def __init__(self, name):
        self.name = name
        self.failed = 0
        self.count = 0

    def check(self, cond, what):
        self.count += 1
        if not cond:
            self.failed += 1
            print(f"FAIL: {what}", flush=True)
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, f"{what}: got {got!r}, want {want!r}")

    def done(self):
        print(f"{self.name}: {self.count} checks, {self.failed} failed")
        return 1 if self.failed else 0
