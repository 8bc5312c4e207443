"""test_demo_central.py — the demo's central server, without the whole demo (issue 14).

1. config/demo-hall.json points sync.url at 127.0.0.1 with a token, and tools/demo.sh starts
   tools/demo-central.sh and prints the booking codes;
2. tools/demo-central.sh on a copy of the demo config (a temp run dir, a free port) reports
   "ready" and lists today's booking codes; a hallqd on that config (devices, voice and printer
   left out) pulls the appointments from it, and every listed code checks in at the kiosk's
   endpoint as an appointment ticket of its service; a code not listed is still unknown;
3. stopping the script stops hallq-central; a config without a local sync.url is refused with
   "failed: ..." and exit 1.
usage: test_demo_central.py   (env HQ_BUILD, HQ_SOURCE)
"""
import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hallq import BUILD, Failures, HALLQD, Hall, SOURCE, free_port, read_text, sse_reader, wait_for  # noqa: E402

f = Failures("test_demo_central")
DEMO = os.path.join(SOURCE, "config", "demo-hall.json")
SCRIPT = os.path.join(SOURCE, "tools", "demo-central.sh")


def port_open(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def main():
    r = subprocess.run([HALLQD, "--check-config", DEMO], capture_output=True, text=True, timeout=20)
    f.eq(r.returncode, 0, "demo config valid: %s" % r.stderr[-300:])
    demo = json.load(open(DEMO, encoding="utf-8"))
    sync = demo.get("sync", {})
    f.check(sync.get("url", "").startswith("http://127.0.0.1:"), "demo sync.url is local: %r" % sync)
    f.check(len(sync.get("token", "")) >= 16, "demo sync has a token")
    script = read_text(os.path.join(SOURCE, "tools", "demo.sh"))
    f.check("demo-central.sh" in script and "central-codes.txt" in script,
            "demo.sh starts the central server and prints the codes")

    tmp = tempfile.mkdtemp(prefix="hq-demo-central-", dir="/tmp")
    run = os.path.join(tmp, "run")
    port = free_port()
    cfg = copy.deepcopy(demo)
    for k in ("devices", "voice", "printer"):
        cfg.pop(k, None)
    cfg["http"]["web_root"] = os.path.join(SOURCE, "firmware", "web")
    cfg["sync"]["url"] = "http://127.0.0.1:%d" % port
    env = dict(os.environ, HALLQ_DEMO_RUN=run)
    proc = None
    try:
        hall = Hall(cfg)
        proc = subprocess.Popen([SCRIPT, BUILD, hall.cfg_path], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        state = os.path.join(run, "central.state")
        f.check(wait_for(lambda: read_text(state).strip() != "", 30), "demo-central.sh answered")
        f.eq(read_text(state).strip(), "ready", "demo-central.sh ready (%s)" % read_text(os.path.join(run, "central.out")))
        lines = [ln.split() for ln in read_text(os.path.join(run, "central-codes.txt")).splitlines() if ln]
        codes = [ln[0] for ln in lines]
        f.check(len(codes) >= 3, "a few booking codes listed: %r" % lines)
        services = {s["name"]: s["code"] for s in demo["services"]}
        with hall:
            f.check(wait_for(lambda: hall.status()["sync"]["appointments"].get("received", 0) >= len(codes), 20),
                    "hallqd pulled the appointments: %r" % hall.status()["sync"].get("appointments"))
            events, stop = [], threading.Event()
            reader = threading.Thread(target=sse_reader, args=(hall, events, stop), daemon=True)
            reader.start()
            f.check(wait_for(lambda: any(e == "status" for e, _ in events)), "event stream open")
            uuids = []
            for ln in lines:
                st, body = hall.post("/api/v1/appointments/checkin", {"booking_code": ln[0]})
                t = body.get("ticket", {})
                uuids.append(t.get("uuid", "?"))
                f.eq(st, 201, "booking code %s checks in: %r" % (ln[0], body))
                f.eq(t.get("service"), services.get(ln[1]), "%s: a ticket of its service" % ln[0])
                f.eq(t.get("priority"), "appointment", "%s: an appointment ticket" % ln[0])
            f.check(wait_for(lambda: sum(e == "checkin" for e, _ in events) >= len(lines)),
                    "a checkin event for each")
            stop.set()
            reader.join(2)
            seen = json.dumps([d for _, d in events], ensure_ascii=False)
            f.check(not any(u in seen for u in uuids) and "name_masked" not in seen,
                    "the public stream carries neither the uuids nor the names of the check-ins")
            st, body = hall.post("/api/v1/appointments/checkin", {"booking_code": "NOSUCH1"})
            f.check(st >= 400, "an unknown code is still refused: %r" % body)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=20)
        proc = None
        f.check(wait_for(lambda: not port_open(port), 10), "hallq-central stopped with the script")

        # refusal: no local sync.url
        bad = copy.deepcopy(cfg)
        bad.pop("sync")
        bad_path = os.path.join(tmp, "nosync.json")
        json.dump(bad, open(bad_path, "w"), ensure_ascii=False)
        r = subprocess.run([SCRIPT, BUILD, bad_path], env=env, capture_output=True, text=True,
                           timeout=30)
        f.eq(r.returncode, 1, "no sync.url: exit 1")
        f.check(read_text(state).startswith("failed: ") and "sync.url" in read_text(state),
                "state says why: %r" % read_text(state))
    finally:
        if proc:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    return f.done()


if __name__ == "__main__":
    sys.exit(main())
