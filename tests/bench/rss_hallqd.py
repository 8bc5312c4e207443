#!/usr/bin/env python3
"""rss_hallqd.py BUILD [EMULATOR...] — the memory of a running hallqd, idle and after traffic.

Starts BUILD/hallqd on the demo hall (config/demo-hall.json without its simulated devices
and printer; voice to a folder so the announcement path runs) on a fresh database, under
EMULATOR if given (a cross build: `tests/bench/rss_hallqd.py build-cross-arm64 qemu-aarch64`),
and prints its memory:
  - idle, a few seconds after start-up;
  - after traffic: 600 tickets issued over the four services, 8 clerks logged in, 400
    call/start/finish/rate cycles, status and metrics read.

Under qemu-user the process is qemu's: its VmRSS/VmHWM hold the translator (its own code,
libraries, the translated-code buffer) besides the program. qemu-user maps the guest at
guest_base 0 on a 64-bit host, below 2^40, while its own mappings are the host's usual ones
(the PIE around 0x55..-0x56.. in 48 bits, libraries and anonymous memory near 0x7f..): the
"guest" figures add up the resident pages of the mappings below 2^40 in /proc/PID/smaps,
which is what the program would have resident on an arm64 box with 4 KiB pages (the same
libraries, the same heap), not counting the kernel's own. No peak for the guest alone exists
(VmHWM is the whole process's); the guest figures are samples. Measures, asserts nothing.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

GUEST_TOP = 1 << 40


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def status_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0])
    return out


def smaps_guest_kb(pid):
    """Resident kB of the mappings below 2^40 (the guest's under qemu-user), anon and file."""
    anon = filed = 0
    start = 0
    name = ""
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split(None, 1)[0]
            if "-" in first and ":" not in first:
                start = int(first.split("-")[0], 16)
                parts = line.split()
                name = parts[5] if len(parts) > 5 else ""
            elif first == "Rss:" and start < GUEST_TOP:
                kb = int(line.split()[1])
                if name.startswith("/"):
                    filed += kb
                else:
                    anon += kb
    return anon, filed


class Api:
    def __init__(self, port, token):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def req(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(self.base + path, data=data, method=method)
        r.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            r.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(r, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()


def report(label, pid, guest):
    st = status_kb(pid)
    line = f"{label}: VmRSS {st['VmRSS'] / 1024:.1f} MiB, VmHWM {st['VmHWM'] / 1024:.1f} MiB"
    if guest:
        anon, filed = smaps_guest_kb(pid)
        line += (f"; guest (mappings below 2^40) {(anon + filed) / 1024:.1f} MiB"
                 f" = {anon / 1024:.1f} anonymous + {filed / 1024:.1f} file-backed")
    else:
        line += (f" = {st['RssAnon'] / 1024:.1f} anonymous + {st['RssFile'] / 1024:.1f}"
                 " file-backed")
    print(line, flush=True)


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[1])
    emulator = sys.argv[2:]
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(src, "config", "demo-hall.json")) as f:
        cfg = json.load(f)
    work = tempfile.mkdtemp(prefix="hallq-rss-")
    port = free_port()
    cfg["http"]["listen"] = f"127.0.0.1:{port}"
    cfg["http"]["web_root"] = os.path.join(src, "firmware", "web")
    cfg["http"]["issue_per_minute"] = 0  # 600 tickets from one address, faster than a kiosk
    cfg["store"]["database"] = os.path.join(work, "hall.db")
    cfg.pop("devices", None)
    cfg.pop("printer", None)
    cfg["voice"]["output"] = "dir:" + os.path.join(work, "voice")
    token = next(t["token"] for t in cfg["http"]["tokens"] if t["role"] == "clerk")
    path = os.path.join(work, "hall.json")
    with open(path, "w") as f:
        json.dump(cfg, f, ensure_ascii=False)
    log = open(os.path.join(work, "hallqd.log"), "w")
    proc = subprocess.Popen(emulator + [os.path.join(build, "hallqd"), "--config", path],
                            stdout=log, stderr=subprocess.STDOUT)
    api = Api(port, token)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if api.req("GET", "/api/v1/status")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                print("hallqd did not start; its log:\n" + open(log.name).read(), file=sys.stderr)
                return 1
            time.sleep(0.2)
        print(f"== hallqd {' '.join(emulator) or '(native)'}: {build}/hallqd")
        time.sleep(3)
        report("idle", proc.pid, bool(emulator))
        services = [s["code"] for s in cfg["services"] if not s.get("id_required")]
        issued = 0
        for i in range(600):
            code, _ = api.req("POST", "/api/v1/tickets", {"service": services[i % len(services)]})
            issued += code in (200, 201)
        windows = [w["number"] for w in cfg["windows"]]
        staff = [s["id"] for s in cfg["staff"]]
        for w, s in zip(windows, staff):
            api.req("POST", f"/api/v1/windows/{w}/login", {"staff": s})
        done = 0
        for i in range(400):
            w = windows[i % len(windows)]
            if api.req("POST", f"/api/v1/windows/{w}/call-next", {})[0] != 200:
                continue
            api.req("POST", f"/api/v1/windows/{w}/start", {})
            if api.req("POST", f"/api/v1/windows/{w}/finish", {})[0] == 200:
                done += 1
                api.req("POST", f"/api/v1/windows/{w}/rating", {"level": 5})
        api.req("GET", "/api/v1/status")
        api.req("GET", "/metrics")
        time.sleep(2)
        report(f"after {issued} tickets and {done} served", proc.pid, bool(emulator))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        subprocess.run(["rm", "-rf", work], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
