#!/usr/bin/env python3
"""Power-cut soak: a busy simulated hall for a bounded time while hallqd's power is cut at
random moments and it is restarted on what a disk would really hold; then the invariants.

The hall: services A (社保, priorities elderly/disabled/green), B (不动产, disabled) and C (出入境,
ID card required, elderly); four windows serving them in different orders, each with a call
keypad and a five-key rating pad on a simulated hall bus (hallq-sim: windows 1-2 on a pty,
3-4 behind a TCP serial server), an ID-card reader simulator (pty) that gets the sample cards of
tests/data/idcard placed and removed, and hallq-central as the central server over HTTP whose
faults (500/503, answer dropped mid-way, short acknowledgements, refused connections) are
switched on and off at random.

Load, all at once: kiosk arrivals over the HTTP API (channel kiosk, some priority tickets with a
clerk token), card arrivals (card placed, `"card": true`, card removed), one clerk per window
calling / starting / recalling / skipping / finishing by keypad frame or by the API at random,
ratings by pad or by the API. Meanwhile hallqd runs with HQ_POWERCUT=SEED:OPS (the power-cut
VFS of firmware/powercut.c): at its OPS-th write, truncate or sync it drops every file's writes
since that file's last sync, or keeps a random prefix of them with the last torn at a 512-byte
sector, and _exit()s with 86. OPS is chosen so that the cut comes after 0.2-2.5 s of load (the
rate of writes and syncs learned from the cuts so far); about one start in seven gets an OPS of
1-20 instead, so that the cut falls on the first writes after a start (whatever hallqd writes
while starting, then the first commands). Any other exit status is a failure.

Afterwards (faults off, one clean restart, the outbox drained) it checks:
  - no duplicate number or serial in a day (the ranges are far larger than the load);
  - every acknowledged ticket is in the database as acknowledged (number, service, priority,
    masked name); every acknowledged call, start and finish is in the event log / ticket state;
    every acknowledged evaluation (API 200 or the pad's acknowledgement frame) is stored once
    with its level;
  - the outbox has no holes and is all acknowledged; hallq-central holds exactly the outbox
    ((hall_id, seq) once each, same uuids, nothing missing, nothing extra); each acknowledged
    evaluation is on the server exactly once; each finished or skipped ticket has exactly one
    ticket record there;
  - queue order, replayed in Python from the event log and the tickets table (the rule of
    docs/DESIGN.md and firmware/engine.c engine__pick_next): every call-next called the ticket
    with the best head-start rank in the first of the window's services with somebody waiting,
    except that after queue.max_overtakes consecutive calls that passed over the oldest waiting
    ticket of a service, that oldest ticket went next; no ticket was passed over more than
    max_overtakes times while it was the oldest; the services' stored overtake counters agree;
  - the database passes PRAGMA integrity_check; no ID number in the database, log or server.

What an acknowledgement is: an HTTP 2xx answer read to its end; for a keypad key, the window's
state seen changed through the API afterwards (hallqd applies a command and commits it before
it answers anything else); for a pad rating, the pad's "ack" frame (sent after the commit).

Environment: HQ_SOAK_SECONDS (default 60), HQ_SOAK_SEED (printed; replays the same random
choices, though not the same timing), HQ_BUILD, HQ_SOURCE, HQ_CENTRAL. argv[1]: hallq-sim.
"""
import copy
import http.client
import json
import os
import queue
import random
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hallq  # noqa: E402
import test_central as tc  # noqa: E402
from hallq import ALL_DAY, CLERK, Failures, Hall, stop_process  # noqa: E402
from test_sync_records import noon_offset  # noqa: E402

SECONDS = float(os.environ.get("HQ_SOAK_SECONDS", "60"))
SEED = int(os.environ.get("HQ_SOAK_SEED", str(int(time.time() * 1000) % 1000000000)))
SIM = sys.argv[1] if len(sys.argv) > 1 else os.path.join(hallq.BUILD, "tools", "hallq-sim")
CENTRAL = os.environ.get("HQ_CENTRAL") or os.path.join(hallq.BUILD, "tools", "hallq-central")
DATA = os.path.join(hallq.SOURCE, "tests", "data", "idcard")
TIME_SCALE = hallq.TIME_SCALE
TOKEN = "central-token-0123456789"
CUT_GAP = (0.2, 2.5)  # seconds of load between two power cuts
START_OPS = 20  # a cut within this many writes and syncs: the first writes after a start
CUT_EXIT = 86  # HQ_POWERCUT_EXIT, firmware/powercut.h
MAX_OVERTAKES = 3
# head starts of the order of the waits the load makes (seconds), so that priority tickets
# overtake often but not always, and anti-starvation has work to do
HEAD_START = {"normal": 0, "elderly": 12, "disabled": 8, "military": 8, "appointment": 8,
              "green": 20}
RANGE_MAX = 9999
ISSUE_CAP = 9000  # per service and day: the load never wraps a range

# card file -> (masked name, elderly), from tests/data/idcard/CASES.json
CARDS = {"resident_elderly.bin": ("王**", True), "resident_adult.bin": ("李*", False),
         "permit_J.bin": (None, False)}
ID_NUMBERS = []
with open(os.path.join(DATA, "CASES.json"), encoding="utf-8") as _f:
    for _c in json.load(_f):
        if isinstance(_c.get("describes"), dict) and _c["describes"].get("id_number"):
            ID_NUMBERS.append(_c["describes"]["id_number"])

# window -> (services in order, bus, keypad, pad, staff)
WINDOWS = {1: (["A"], "keys", 1, 33, "1001"), 2: (["B", "A"], "keys", 2, 34, "1002"),
           3: (["A", "B", "C"], "keys2", 3, 35, "1003"), 4: (["C", "A"], "keys2", 4, 36, "1004")}

T = Failures("soak")
HTTP_ERRORS = (OSError, ValueError, http.client.HTTPException)


def hall_config(tmp, bus_tcp, offset):
    cfg = copy.deepcopy(hallq.BASE_CONFIG)
    cfg["hall"]["utc_offset"] = offset  # local noon: the soak never crosses midnight
    cfg["queue"] = {"recall_limit": 2, "no_show_requeue": True, "max_requeues": 1,
                    "max_overtakes": MAX_OVERTAKES, "rating_timeout_s": 30}
    cfg["priority"] = {k: v for k, v in HEAD_START.items() if k != "normal"}
    svc = {"range": [1, RANGE_MAX], "digits": 4, "hours": ALL_DAY}
    cfg["services"] = [
        dict(svc, code="A", name="社保业务", name_en="Social insurance", prefix="A",
             priorities=["elderly", "disabled", "green"]),
        dict(svc, code="B", name="不动产登记", name_en="Real estate", prefix="B",
             priorities=["disabled"]),
        dict(svc, code="C", name="出入境", name_en="Exit and entry", prefix="C",
             id_required=True, priorities=["elderly"]),
    ]
    cfg["windows"] = [{"number": n, "name": f"{n}号窗口", "name_en": f"Window {n}",
                       "services": s} for n, (s, *_r) in WINDOWS.items()]
    cfg["staff"] = [{"id": w[4], "name": nm} for w, nm in
                    zip(WINDOWS.values(), ["王芳", "李娜", "张伟", "刘洋"])]
    cfg["devices"] = {
        "card_readers": [{"kiosk": "k1", "port": "pty:" + os.path.join(tmp, "card.tty")}],
        "card_hold_s": 60,
        "buses": [{"id": "keys", "type": "hall", "port": "pty:" + os.path.join(tmp, "bus.tty")},
                  {"id": "keys2", "type": "hall", "port": f"tcp://127.0.0.1:{bus_tcp}"}],
        "windows": [{"window": n, "bus": b, "keypad": k, "pad": p}
                    for n, (_s, b, k, p, _st) in WINDOWS.items()],
    }
    return cfg


class Sim:
    """One hallq-sim; its records are routed to one queue per device address."""

    def __init__(self, tmp, name, device, link_args, *args):
        self.name = name
        self.argv = [SIM, device, *link_args, "--log", os.path.join(tmp, name + ".log"), *args]
        self.queues = {}
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.p = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, encoding="utf-8")
        threading.Thread(target=self._pump, daemon=True).start()
        if not self.ready.wait(10):
            raise RuntimeError(f"{name}: hallq-sim never said ready")

    def q(self, addr):
        with self.lock:
            return self.queues.setdefault(addr, queue.Queue())

    def _pump(self):
        for line in self.p.stdout:
            parts = line.split()
            if parts and parts[0] == "ready":
                self.ready.set()
            if len(parts) >= 2 and parts[1].isdigit():
                self.q(int(parts[1])).put(" ".join(parts))

    def cmd(self, line):
        with self.lock:
            self.p.stdin.write(line + "\n")
            self.p.stdin.flush()

    def drain(self, addr):
        qq = self.q(addr)
        while True:
            try:
                qq.get_nowait()
            except queue.Empty:
                return

    def expect(self, addr, want, timeout):
        """The first record of addr equal to want within timeout; True if it came."""
        qq = self.q(addr)
        end = time.time() + timeout * TIME_SCALE
        while time.time() < end:
            try:
                if qq.get(timeout=max(0.01, end - time.time())) == want:
                    return True
            except queue.Empty:
                return False
        return False

    def stop(self):
        stop_process(self.p)


class Ledger:
    """Everything hallqd acknowledged, and counts for the summary."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tickets = {}     # uuid -> ticket JSON as acknowledged
        self.calls = set()    # (window, uuid)
        self.starts = set()   # (window, uuid)
        self.finishes = {}    # uuid -> window
        self.evals = {}       # ticket uuid -> (level, how)
        self.card_tickets = {}  # uuid -> the card file it was issued against
        self.sent = 0         # commands sent (HTTP requests and device frames)
        self.failed = 0       # commands lost in flight (refused, reset, cut answers)
        self.keys = 0
        self.pad_ratings = 0
        self.card_reads = 0

    def add(self, what, key, value=True):
        with self.lock:
            d = getattr(self, what)
            if isinstance(d, set):
                d.add(key)
            else:
                d[key] = value

    def count(self, attr, n=1):
        with self.lock:
            setattr(self, attr, getattr(self, attr) + n)


class Soak:
    def __init__(self, h, bus, bus2, card, central, rng_seed):
        self.h = h
        self.buses = {"keys": bus, "keys2": bus2}
        self.card = card
        self.central = central
        self.stop = threading.Event()
        self.led = Ledger()
        self.seed = rng_seed
        self.errors = []

    # ---- HTTP with the failures of a box that loses power counted, not raised
    def call(self, method, path, body=None, token=None):
        self.led.count("sent")
        try:
            return self.h.request(method, path, body=body, token=token, timeout=10)
        except HTTP_ERRORS:
            self.led.count("failed")
            time.sleep(0.02)
            return None, None

    def window(self, n):
        st, body = self.call("GET", f"/api/v1/windows/{n}")
        return body if st == 200 and isinstance(body, dict) else None

    def ticket_status(self, uuid):
        st, body = self.call("GET", f"/api/v1/tickets/{uuid}")
        return body.get("status") if st == 200 and isinstance(body, dict) else None

    def status(self):
        st, body = self.call("GET", "/api/v1/status")
        return body if st == 200 and isinstance(body, dict) else None

    def issued(self, body):
        t = body["ticket"]
        self.led.add("tickets", t["uuid"], t)

    def thread(self, fn, *a):
        def run():
            try:
                fn(*a)
            except Exception as e:  # a crash of the load itself is a failure, not a hang
                import traceback
                self.errors.append(f"{fn.__name__}{a}: {e!r}\n{traceback.format_exc()}")
                self.stop.set()
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    # ---- kiosk arrivals over the API
    def arrivals(self, rng):
        waiting, issued, since = {}, {}, 0.0
        while not self.stop.is_set():
            if time.time() - since > 0.5:
                st = self.status()
                if st:
                    svcs = st.get("services", [])
                    waiting = {s["code"]: s.get("waiting", 0) for s in svcs}
                    issued = {s["code"]: s.get("issued", 0) for s in svcs}
                    since = time.time()
            if sum(waiting.values()) > 30:  # a hall fills up; clerks catch up
                time.sleep(0.1)
                continue
            svc = rng.choice("AAAB")
            if issued.get(svc, 0) >= ISSUE_CAP:
                time.sleep(0.1)
                continue
            body = {"service": svc, "channel": "kiosk"}
            token = None
            if rng.random() < 0.3:
                body["priority"] = rng.choice(["disabled", "green"]) if svc == "A" else "disabled"
                token = CLERK
            st, ans = self.call("POST", "/api/v1/tickets", body, token)
            if st == 201:
                self.issued(ans)
            time.sleep(rng.uniform(0.03, 0.25))

    # ---- card arrivals: the reader simulator gets a card, the kiosk issues against it
    def cards(self, rng):
        def card_present(want, timeout):
            end = time.time() + timeout * TIME_SCALE
            while time.time() < end and not self.stop.is_set():
                st = self.status()
                if st and bool(st.get("card", {}).get("present")) == want:
                    return True
                time.sleep(0.1)
            return False

        while not self.stop.is_set():
            name = rng.choice(["resident_elderly.bin", "resident_elderly.bin",
                               "resident_adult.bin", "permit_J.bin"])
            self.card.cmd("place " + os.path.join(DATA, name))
            if card_present(True, 4):
                self.led.count("card_reads")
                for _ in range(rng.choice([1, 1, 2])):
                    svc = rng.choice("AC")
                    st, ans = self.call("POST", "/api/v1/tickets",
                                        {"service": svc, "card": True, "channel": "kiosk",
                                         "kiosk": "k1"})
                    if st == 201:
                        self.issued(ans)
                        self.led.add("card_tickets", ans["ticket"]["uuid"], name)
            self.card.cmd("remove")
            card_present(False, 4)
            time.sleep(rng.uniform(0.1, 0.8))

    # ---- one clerk per window: keypad or API at random, rating by pad or API
    def clerk(self, n, rng):
        services, busname, kp, pad, staff = WINDOWS[n]
        bus = self.buses[busname]
        last_key = (None, 0.0)
        last_level = 0
        rated = set()

        def key(data):
            """A keypad frame, unless it would repeat the previous one within 2 s (hallqd
            takes that for the keypad's own resend and drops it): then None."""
            nonlocal last_key
            if last_key[0] == data and time.time() - last_key[1] < 2.3:
                return None
            last_key = (data, time.time())
            self.led.count("sent")
            self.led.count("keys")
            bus.cmd(f"key {kp} {data}")
            return True

        def seen(pred, timeout=1.5):
            """The window as the API shows it once pred holds (None after timeout)."""
            end = time.time() + timeout * TIME_SCALE
            while time.time() < end and not self.stop.is_set():
                w = self.window(n)
                if w and pred(w):
                    return w
                time.sleep(0.05)
            return None

        def cur(w):
            return (w.get("current") or {}).get("uuid")

        def act(action, data, pred, body=None):
            """Do action by keypad (data) or API; the window JSON once acknowledged."""
            if data and rng.random() < 0.5 and key(data):
                return seen(pred)
            st, ans = self.call("POST", f"/api/v1/windows/{n}/{action}", body or {}, CLERK)
            return ans.get("window") if st == 200 and isinstance(ans, dict) else None

        def rate(uuid):
            nonlocal last_level
            level = rng.choice([v for v in range(1, 6) if v != last_level])
            if rng.random() < 0.6:
                # the pad was invited by the finish; a level differing from the pad's last one
                # is never taken for a resend
                if not bus.expect(pad, f"invite {pad}", 1.5):
                    return
                last_level = level
                bus.drain(pad)
                self.led.count("sent")
                bus.cmd(f"rate {pad} {level}")
                if bus.expect(pad, f"ack {pad} {level}", 2.0):
                    self.led.add("evals", uuid, (level, "pad"))
                    self.led.count("pad_ratings")
            else:
                st, ans = self.call("POST", f"/api/v1/windows/{n}/rating", {"level": level},
                                    CLERK)
                if st == 200 and (ans.get("ticket") or {}).get("uuid"):
                    self.led.add("evals", ans["ticket"]["uuid"], (level, "api"))

        while not self.stop.is_set():
            time.sleep(rng.uniform(0.01, 0.12))
            w = self.window(n)
            if not w:
                time.sleep(0.05)
                continue
            state, before = w.get("state"), cur(w)
            r = rng.random()
            if state == "closed":
                digits = " ".join("%02X" % int(c) for c in staff)
                act("login", f"{digits} 0F", lambda w: w.get("state") != "closed",
                    {"staff": staff})
            elif state == "paused":
                act("resume", "12", lambda w: w.get("state") != "paused")
            elif state == "idle" and r < 0.02:
                act("pause", "12", lambda w: w.get("state") == "paused")
            elif state == "idle" or (state == "calling" and r < 0.06) or \
                    (state == "serving" and r < 0.08):
                # call-next (from calling/serving it finishes the current ticket first)
                a = act("call-next", "0C", lambda w: cur(w) not in (None, before))
                if a and cur(a) not in (None, before):
                    self.led.add("calls", (n, cur(a)))
                elif a is None and state == "idle":
                    time.sleep(0.15)  # nobody waiting, or hallqd is down
            elif state == "calling" and r < 0.16:
                act("recall", "0D", lambda w: True)
            elif state == "calling" and r < 0.26:
                act("no-show", "06 0F", lambda w: cur(w) != before)
            elif state == "calling":
                a = act("start", "0A",
                        lambda w: w.get("state") == "serving" and cur(w) == before)
                if a and a.get("state") == "serving" and cur(a) == before:
                    self.led.add("starts", (n, before))
            elif state == "serving":
                time.sleep(rng.uniform(0.1, 0.8))  # the citizen is being served
                bus.drain(pad)  # an invitation seen after this is the finish's own
                a = act("finish", "0B", lambda w: w.get("state") == "idle")
                if a and a.get("state") == "idle" and self.ticket_status(before) == "done":
                    self.led.add("finishes", before, n)
                    if before not in rated and rng.random() < 0.75:
                        rated.add(before)
                        rate(before)

    # ---- the central server's faults, on and off at random
    def faults(self, rng):
        choices = ["off", "off", "off", "status 500", "status 503", "drop-mid", "refuse",
                   "ack-less 1", "ack-less 3"]
        self.fault_changes = 0
        while not self.stop.is_set():
            f = rng.choice(choices)
            if not self.central.control(f):
                self.errors.append(f"hallq-central refused the fault {f!r}")
            self.fault_changes += 1
            self.stop.wait(rng.uniform(0.5, 4.0))
        self.central.control("off")


class Cutter:
    """Starts hallqd with HQ_POWERCUT set and waits for it to cut its own power."""

    def __init__(self, h, rng):
        self.h, self.rng = h, rng
        self.ops, self.secs = 0, 0.0  # writes and syncs, seconds: the rate learned
        self.cuts = self.early = 0

    def rate(self):
        return self.ops / self.secs if self.secs > 1 else 100.0

    def launch(self, ops):
        h = self.h
        h.env["HQ_POWERCUT"] = f"{self.rng.randrange(1 << 30)}:{ops}"
        h.log = open(h.log_path, "ab")
        h.proc = subprocess.Popen(hallq.WRAP + [h.binary, "--config", h.cfg_path], stdout=h.log,
                                  stderr=h.log, env=h.env)

    def ready(self, timeout):
        """True once hallqd answers, False if it exited first."""
        end = time.time() + timeout * TIME_SCALE
        while time.time() < end:
            if self.h.proc.poll() is not None:
                return False
            try:
                if self.h.get("/api/v1/status", timeout=2)[0] == 200:
                    return True
            except HTTP_ERRORS:
                pass
            time.sleep(0.05)
        raise RuntimeError("hallqd did not become ready: " + self.h.read_log())

    def cycle(self, stop):
        """One start and one cut; returns an error text or None."""
        early = self.rng.random() < 0.15
        ops = (self.rng.randint(1, START_OPS) if early
               else max(START_OPS, int(self.rng.uniform(*CUT_GAP) * self.rate())))
        t0 = time.time()
        self.launch(ops)
        if self.ready(20):
            end = time.time() + 60 * TIME_SCALE
            while self.h.proc.poll() is None and time.time() < end and not stop.is_set():
                time.sleep(0.02)
            if self.h.proc.poll() is None:
                self.h.kill()
                return None if stop.is_set() else f"no power cut within 60 s ({ops} ops)"
            self.ops += ops
            self.secs += time.time() - t0
        else:
            self.early += 1
        self.cuts += 1
        rc = self.h.stop()
        if rc != CUT_EXIT:
            return f"hallqd exited with {rc}, not by a power cut ({CUT_EXIT})"
        time.sleep(self.rng.uniform(0.0, 0.3))  # the box is dark for a moment
        return None


def cut_stats(log):
    """From hallqd's POWERCUT lines: cuts, cuts that lost unsynced changes, torn writes."""
    import re
    cuts = lost = torn = 0
    for line in log.splitlines():
        if "POWERCUT power cut" not in line:
            continue
        cuts += 1
        files = re.findall(r" (\S+): (\d+)/(\d+) kept(, next torn after \d+)?", line)
        if any(int(k) < int(n) for _f, k, n, _t in files):
            lost += 1
        torn += sum(1 for f in files if f[3])
    return cuts, lost, torn


def replay_queue(db, cfg):
    """The queue rule replayed from the event log: returns (problems, stats)."""
    head = {p: HEAD_START.get(p, 0) for p in HEAD_START}
    win_services = {w["number"]: w["services"] for w in cfg["windows"]}
    tickets = {}
    for uuid, day, svc, serial, prio, rowid in db.execute(
            "SELECT uuid, day, service, serial, priority, id FROM tickets"):
        tickets[uuid] = {"day": day, "service": svc, "serial": serial, "prio": prio,
                         "index": rowid & 0xFFFFF}
    waiting = {}   # uuid -> queued_at
    overtakes = {s["code"]: 0 for s in cfg["services"]}
    passed = {}    # uuid -> calls that passed it over while it was the oldest of its service
    #                (in this wait: a no-show re-queued comes back at the end)
    problems, stats = [], {"calls": 0, "priority_first": 0, "anti_starvation": 0,
                           "max_passed": 0, "events": 0}

    def rank(u):
        t = tickets[u]
        return (waiting[u] - head[t["prio"]], t["serial"], t["index"])

    def arrival(u):
        t = tickets[u]
        return (waiting[u], t["serial"], t["index"])

    for eid, at, kind, win, uuid in db.execute(
            "SELECT id, at, kind, window, ticket FROM events ORDER BY id"):
        stats["events"] += 1
        if kind == "rollover":
            waiting.clear()
            overtakes = {k: 0 for k in overtakes}
        elif kind in ("issue", "requeue"):
            waiting[uuid] = at
        elif kind in ("cancel", "expire"):
            waiting.pop(uuid, None)
        elif kind in ("transfer", "park", "call_back"):
            problems.append(f"event {eid}: {kind} is not replayed (the soak never sends it)")
        elif kind == "call":
            stats["calls"] += 1
            want, svc, count = None, None, 0
            for s in win_services[win]:
                cands = [u for u in waiting if tickets[u]["service"] == s]
                if not cands:
                    continue
                best, oldest = min(cands, key=rank), min(cands, key=arrival)
                svc = s
                if best == oldest:
                    want, count = best, 0
                elif overtakes[s] >= MAX_OVERTAKES:
                    want, count = oldest, 0
                    stats["anti_starvation"] += 1
                else:
                    want, count = best, overtakes[s] + 1
                    stats["priority_first"] += 1
                if want != oldest:
                    passed[oldest] = passed.get(oldest, 0) + 1
                    stats["max_passed"] = max(stats["max_passed"], passed[oldest])
                break
            if uuid != want:
                problems.append(f"event {eid}: window {win} called {uuid} "
                                f"({tickets.get(uuid)}), the rule says {want} "
                                f"({tickets.get(want)}); overtakes {overtakes}")
                if len(problems) > 10:
                    break
            if svc:
                overtakes[svc] = count
            waiting.pop(uuid, None)
            passed.pop(uuid, None)  # a re-queued ticket starts a new wait
    stats["overtakes"] = overtakes
    stats["waiting"] = len(waiting)
    return problems, stats


def main():
    print(f"soak: seed {SEED} (HQ_SOAK_SEED={SEED} replays it), {SECONDS:.0f} s", flush=True)
    rng = random.Random(SEED)
    tc.CENTRAL = CENTRAL
    bus_tcp = hallq.free_port()
    off_h, offset = noon_offset()
    h = Hall(keep=True)
    tmp = h.dir
    c = tc.Central(tmp, "--token", TOKEN)
    h.config = hall_config(tmp, bus_tcp, offset)
    h.config["http"]["listen"] = f"127.0.0.1:{h.port}"
    h.config["http"]["public_url"] = f"http://127.0.0.1:{h.port}"
    h.config["sync"] = {"url": f"http://127.0.0.1:{c.port}", "token": TOKEN,
                        "appointments_interval_s": 0}
    h.write_config()
    sims = []
    ok = False
    try:
        card = Sim(tmp, "card", "idcard", ["--pty", os.path.join(tmp, "card.tty")])
        bus = Sim(tmp, "bus", "bus", ["--pty", os.path.join(tmp, "bus.tty")],
                  "--keypads", "1,2", "--pads", "33,34")
        bus2 = Sim(tmp, "bus2", "bus", ["--tcp", str(bus_tcp)], "--keypads", "3,4",
                   "--pads", "35,36")
        sims += [card, bus, bus2]
        h.start()
        s = Soak(h, bus, bus2, card, c, SEED)
        threads = [s.thread(s.arrivals, random.Random(SEED + 1)),
                   s.thread(s.cards, random.Random(SEED + 2)),
                   s.thread(s.faults, random.Random(SEED + 3))]
        threads += [s.thread(s.clerk, n, random.Random(SEED + 10 + n)) for n in WINDOWS]

        cut = Cutter(h, random.Random(SEED + 4))
        h.stop()  # the first start was for the load's set-up; from now on the power goes
        t0, shown = time.time(), time.time()
        while time.time() - t0 < SECONDS and not s.stop.is_set():
            err = cut.cycle(s.stop)
            if err:
                T.check(False, f"cut {cut.cuts}: {err}")
                s.stop.set()
                break
            if time.time() - shown >= 10:
                shown = time.time()
                L = s.led
                print(f"  {shown - t0:5.0f} s: cuts {cut.cuts}, commands {L.sent}, tickets "
                      f"{len(L.tickets)}, calls {len(L.calls)}, finishes {len(L.finishes)}, "
                      f"evaluations {len(L.evals)}", flush=True)
        s.stop.set()
        for t in threads:
            t.join(30)
            T.check(not t.is_alive(), "a load thread stopped")
        for e in s.errors:
            T.check(False, "load thread failed: " + e)

        # ---- drain: faults off, one clean stop and start, the outbox emptied
        T.check(c.control("off"), "central faults off")
        h.env.pop("HQ_POWERCUT", None)
        h.start(timeout=20)

        def drained():
            st = s.status()
            return st and st.get("sync", {}).get("backlog") == 0
        T.check(hallq.wait_for(drained, timeout=120), "the outbox drains with the faults off")
        st = h.status()
        T.eq(h.stop(), 0, "hallqd stops cleanly on SIGTERM after the cuts")
        cuts_seen, lost_cuts, torn = cut_stats(open(h.log_path, encoding="utf-8",
                                                    errors="replace").read())
        L = s.led
        print(f"soak: {SECONDS:.0f} s, {cut.cuts} power cuts ({cut.early} while starting; "
              f"{lost_cuts} lost unsynced writes, {torn} writes torn; "
              f"{cut.rate():.0f} writes+syncs/s), {L.sent} commands ({L.failed} lost in "
              f"flight, {L.keys} keypad frames), {s.fault_changes} fault switches, "
              f"{L.card_reads} card reads; acknowledged: {len(L.tickets)} tickets "
              f"({len(L.card_tickets)} by card), {len(L.calls)} calls, "
              f"{len(L.starts)} starts, {len(L.finishes)} finishes, {len(L.evals)} evaluations "
              f"({L.pad_ratings} by pad)", flush=True)
        T.eq(cuts_seen, cut.cuts, "every stop was a power cut hallqd reported")
        # issue 13: at least 200 cuts in the 600 s soak; the 60 s ctest run, also under ASan
        # (slower starts), what fits: one per 4 s
        want = int(SECONDS / 3) if SECONDS >= 600 else max(3, int(SECONDS / 4))
        T.check(cut.cuts >= want, f"the power was cut often ({cut.cuts}, at least {want})")
        T.check(lost_cuts > 0 and torn > 0, "cuts lost unsynced writes and tore sectors")
        T.check(len(L.tickets) > 20 and len(L.calls) > 10 and len(L.evals) > 3,
                "the load really ran")
        T.check(L.pad_ratings > 0 and L.keys > 0 and L.card_tickets,
                "keypads, pads and the card reader were used")
        check(h, c, s, st)
        ok = not T.failed
    finally:
        for sm in sims:
            sm.stop()
        if h.alive():
            h.stop()
        c.stop()
        if T.failed:
            print("hallqd log (end):\n" + h.read_log()[-3000:])
            print(f"kept for inspection: {tmp}")
        elif ok:
            shutil.rmtree(tmp, ignore_errors=True)
    return T.done()


def check(h, c, s, status):
    L = s.led
    db = h.db()
    T.eq(db.execute("PRAGMA integrity_check").fetchone()[0], "ok", "database integrity")

    # ---- numbers
    dup = db.execute("SELECT day, orig_service, serial, count(*) FROM tickets "
                     "GROUP BY 1, 2, 3 HAVING count(*) > 1").fetchall()
    T.eq(dup, [], "duplicate serials in a day")
    dup = db.execute("SELECT day, label, count(*) FROM tickets GROUP BY 1, 2 "
                     "HAVING count(*) > 1").fetchall()
    T.eq(dup, [], "duplicate numbers in a day")
    T.check(db.execute("SELECT max(serial) FROM tickets").fetchone()[0] < RANGE_MAX,
            "the ranges were never exhausted (so any duplicate would be a fault)")

    # ---- acknowledged tickets, calls, starts, finishes
    rows = {r[0]: r for r in db.execute(
        "SELECT uuid, label, service, priority, channel, name_masked, status FROM tickets")}
    lost = [u for u in L.tickets if u not in rows]
    T.eq(lost, [], "acknowledged tickets lost")
    wrong = [(u, t["number"], rows[u][1:4]) for u, t in L.tickets.items() if u in rows and
             (rows[u][1], rows[u][2], rows[u][3], rows[u][4]) !=
             (t["number"], t["service"], t["priority"], t["channel"])]
    T.eq(wrong, [], "acknowledged tickets stored otherwise than acknowledged")
    for u, name in L.card_tickets.items():
        masked, elderly = CARDS[name]
        t = L.tickets[u]
        if u not in rows:
            continue
        T.eq(rows[u][5], t.get("name_masked"), f"card ticket {t['number']}: masked name stored")
        if masked:
            T.eq(t.get("name_masked"), masked, f"card ticket {t['number']} ({name}): masked name")
        T.eq(t["priority"], "elderly" if elderly else "normal",
             f"card ticket {t['number']} ({name}): priority from the birth date")
    ev = set(db.execute("SELECT kind, window, ticket FROM events "
                        "WHERE kind IN ('call', 'start', 'finish')").fetchall())
    T.eq(sorted(x for x in L.calls if ("call",) + x not in ev), [], "acknowledged calls lost")
    T.eq(sorted(x for x in L.starts if ("start",) + x not in ev), [], "acknowledged starts lost")
    T.eq(sorted(u for u, w in L.finishes.items() if ("finish", w, u) not in ev or
                rows.get(u, ("",) * 7)[6] != "done"), [], "acknowledged finishes lost")

    # ---- evaluations
    evals = {}
    for uuid, ticket, level, channel in db.execute(
            "SELECT uuid, ticket, level, channel FROM evaluations"):
        evals.setdefault(ticket, []).append((uuid, level, channel))
    T.eq([t for t, v in evals.items() if len(v) > 1], [], "tickets rated twice")
    bad = [(t, lv, evals.get(t)) for t, (lv, how) in L.evals.items()
           if [(e[1], e[2]) for e in evals.get(t, [])] !=
           [(lv, "pad" if how == "pad" else "tablet")]]
    T.eq(bad, [], "acknowledged evaluations lost or changed")

    # ---- outbox and the central server
    out = db.execute("SELECT seq, uuid, type, data, acked FROM outbox ORDER BY seq").fetchall()
    T.check(len(out) > 0, "the outbox has records")
    T.eq(out[0][0] if out else None, 1, "the outbox starts at seq 1")
    T.eq([r[0] for r in out], list(range(1, len(out) + 1)), "holes in the outbox sequence")
    T.eq([r[0] for r in out if r[4] != 1], [], "outbox records not acknowledged after the drain")
    T.eq(status.get("sync", {}).get("backlog"), 0, "status: no sync backlog")
    dump = c.dump()
    got = [(r["hall_id"], r["seq"], r["uuid"]) for r in dump]
    want = [("test-hall", r[0], r[1]) for r in out]
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    T.eq(missing[:5], [], f"records missing on the central server ({len(missing)})")
    T.eq(extra[:5], [], f"records on the central server that the outbox does not hold "
                        f"({len(extra)})")
    T.eq(len(got), len(set((a, b) for a, b, _ in got)), "(hall_id, seq) held once each")
    T.eq(got, want, "the central server holds exactly the outbox, in order")
    by_type = {}
    for r in dump:
        by_type.setdefault(r["type"], []).append(r["data"])
    on_server = {}
    for d in by_type.get("evaluation", []):
        on_server.setdefault(d.get("case_no"), []).append(d)
    bad = [t for t, (lv, _how) in L.evals.items()
           if [d.get("level") for d in on_server.get(t, [])] != [lv]]
    T.eq(bad, [], "acknowledged evaluations on the central server exactly once")
    stored = {t: v[0][0] for t, v in evals.items()}
    T.eq(sorted(t for t, v in on_server.items() if len(v) != 1 or v[0].get("uuid") != stored.get(t)),
         [], "every stored evaluation on the server once, same uuid")
    trecs = {}
    for d in by_type.get("ticket", []):
        trecs.setdefault(d.get("uuid"), []).append(d.get("status"))
    final = {u: r[6] for u, r in rows.items() if r[6] in ("done", "no_show")}
    T.eq(sorted(u for u, stt in final.items() if trecs.get(u) != [stt]), [],
         "each finished or skipped ticket: one ticket record on the server")
    T.eq(sorted(u for u in trecs if u not in final), [],
         "no ticket record for a ticket still open")

    # ---- queue order
    problems, stats = replay_queue(db, h.config)
    for p in problems[:10]:
        T.check(False, "queue order: " + p)
    T.check(stats["calls"] > 10, f"call-next events replayed ({stats['calls']})")
    T.check(stats["max_passed"] <= MAX_OVERTAKES,
            f"no ticket passed over more than {MAX_OVERTAKES} times while oldest "
            f"({stats['max_passed']})")
    T.check(stats["priority_first"] > 0, "priority tickets did overtake")
    T.check(stats["anti_starvation"] > 0, "anti-starvation did act")
    stored_ot = dict(db.execute("SELECT code, overtakes FROM services").fetchall())
    T.eq(stored_ot, stats["overtakes"], "stored overtake counters agree with the replay")
    waiting_db = db.execute("SELECT count(*) FROM tickets WHERE status='waiting'").fetchone()[0]
    T.eq(stats["waiting"], waiting_db, "tickets waiting: replay and table agree")
    print(f"queue replay: {stats['events']} events, {stats['calls']} call-next checked, "
          f"{stats['priority_first']} priority overtakes, {stats['anti_starvation']} "
          f"anti-starvation calls, most passes of an oldest ticket {stats['max_passed']}, "
          f"outbox {len(out)} records ({len(by_type.get('evaluation', []))} evaluations)",
          flush=True)
    db.close()

    # ---- privacy: no ID number in the database, the log or the server
    for path in (h.db_path, h.db_path + "-wal", h.log_path, c.db):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        for idn in ID_NUMBERS:
            T.check(idn.encode() not in data, f"no ID number in {os.path.basename(path)}")


if __name__ == "__main__":
    sys.exit(main())
