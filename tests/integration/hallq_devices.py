"""hallq_devices.py — what the tests that run hallqd against hallq-sim devices share: a
simulator process driven by its records and commands (Sim), and waiting on /api/v1/status for a
device's health or a window's state. Every check reports to the one hallq.Failures made by
failures(name), the test program's own.
"""
import os
import queue
import shutil
import subprocess
import sys
import threading
import time

import hallq

# the test programs take the simulator's path as their first argument (ctest passes it)
SIM = sys.argv[1] if len(sys.argv) > 1 else os.path.join(hallq.BUILD, "tools", "hallq-sim")

F = None


def failures(name):
    """The hallq.Failures every helper here reports to; call once, first."""
    global F
    F = hallq.Failures(name)
    return F


class Sim:
    """One hallq-sim: records from stdout into a queue (and a list), commands to stdin."""

    def __init__(self, tmp, name, device, link_args, *args):
        self.name = name
        self.argv = [SIM, device, *link_args, "--log", os.path.join(tmp, name + ".log"), *args]
        self.records = []
        self.start()

    def start(self):
        self.q = queue.Queue()
        self.p = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, encoding="utf-8")
        threading.Thread(target=self._pump, args=(self.p, self.q), daemon=True).start()
        self.expect("ready")

    def _pump(self, p, q):
        for line in p.stdout:
            line = line.rstrip("\n")
            self.records.append(line)
            q.put(line)

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def drain(self):
        while True:
            try:
                self.q.get_nowait()
            except queue.Empty:
                return

    def expect(self, prefix, timeout=4.0, what=None):
        end = time.time() + timeout
        while time.time() < end:
            try:
                line = self.q.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                break
            if line.startswith(prefix):
                return line
        F.check(False, f"{self.name}: record '{prefix}' never came ({what or ''})")
        return None

    def none(self, prefix, wait=0.6):
        end = time.time() + wait
        while time.time() < end:
            try:
                line = self.q.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                return True
            if line.startswith(prefix):
                F.check(False, f"{self.name}: unexpected record '{line}'")
                return False
        return True

    def stop(self):
        hallq.stop_process(self.p)


def configured_hall(make_config, *args):
    """A hallq.Hall (not started) on the configuration make_config(its folder, *args) gives,
    listening on its own port."""
    h = hallq.Hall()
    h.config = make_config(h.dir, *args)
    h.config["http"]["listen"] = f"127.0.0.1:{h.port}"
    h.write_config()
    return h


def bus_and_bars(h, led_tcp, keypads, pads, bars):
    """The hall bus simulator on the pty bus.tty of h's folder (these keypads and pads) and the
    LED bus on TCP port led_tcp (these bars), both online in hallqd; returns (bus, led)."""
    bus = Sim(h.dir, "bus", "bus", ["--pty", os.path.join(h.dir, "bus.tty")],
              "--keypads", keypads, "--pads", pads)
    led = Sim(h.dir, "led", "led", ["--tcp", str(led_tcp)], "--bars", bars)
    wait_health(h, "bus:keys", "online")
    wait_health(h, "bus:bars", "online")
    return bus, led


def device(st, dev_id):
    for d in st.get("devices", []):
        if d.get("id") == dev_id:
            return d
    return None


def wait_health(h, dev_id, health, timeout=8.0):
    end = time.time() + timeout
    d = None
    while time.time() < end:
        d = device(h.status(), dev_id)
        if d and d.get("health") == health:
            return d
        time.sleep(0.1)
    F.check(False, f"{dev_id} never became {health} (last: {d})")
    return d


def window(st, n):
    for w in st["windows"]:
        if w.get("number") == n:
            return w
    return None


def wait_window(h, n, pred, what, timeout=4.0):
    end = time.time() + timeout
    w = None
    while time.time() < end:
        w = window(h.status(), n)
        if w and pred(w):
            return w
        time.sleep(0.05)
    F.check(False, f"window {n}: {what} (last: {w})")
    return w


def ticket(h, label):
    st, body = h.get(f"/api/v1/tickets/{label}")
    return body if st == 200 else None


def key(sim, addr, *data):
    sim.cmd("key %d %s" % (addr, " ".join("%02X" % b for b in data)))


def finish(h, sims):
    """Stop the simulators and hallqd (which must exit 0: no sanitizer report), show hallqd's log
    if anything failed, remove the test's directory."""
    for s in sims:
        s.stop()
    F.eq(h.stop(), 0, "hallqd stops cleanly on SIGTERM (no sanitizer report)")
    if F.failed:
        print(h.read_log()[-4000:])
    shutil.rmtree(h.dir, ignore_errors=True)
