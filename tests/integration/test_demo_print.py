"""test_demo_print.py — the demo hall's printing path, without the whole demo.

1. config/demo-hall.json passes `hallqd --check-config` and its printer
   section is one tools/demo-printer.sh can serve (cups_server DIR/cups.sock,
   status_link tcp://127.0.0.1:PORT);
2. tools/demo-printer.sh on a copy of that section (a temp run dir, a free
   port) reports "ready", and a hallqd on the demo config (devices and voice
   left out, the copied printer section kept) prints an issued ticket as
   RUN/printer/ticket-1.png with its number; stopping the script stops its
   cupsd and simulator;
3. refusals are loud: demo-printer.sh with no printer section writes
   "failed: ..." and exits 1; `cupsd.py serve` with a bad --queue prints
   "failed: ..." and exits 1.
usage: test_demo_print.py   (env HQ_BUILD, HQ_SOURCE)
"""
import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hallq import BUILD, Failures, HALLQD, Hall, SOURCE, free_port, read_text, wait_for  # noqa: E402

f = Failures("test_demo_print")
DEMO = os.path.join(SOURCE, "config", "demo-hall.json")
SCRIPT = os.path.join(SOURCE, "tools", "demo-printer.sh")
CUPSD_PY = os.path.join(SOURCE, "tests", "integration", "cupsd.py")


def main():
    r = subprocess.run([HALLQD, "--check-config", DEMO], capture_output=True, text=True, timeout=20)
    f.eq(r.returncode, 0, "demo config valid: %s" % r.stderr[-300:])
    demo = json.load(open(DEMO, encoding="utf-8"))
    pr = demo.get("printer", {})
    f.check(pr.get("queue"), "demo has a printer queue")
    f.eq(os.path.basename(pr.get("cups_server", "")), "cups.sock", "cups_server is DIR/cups.sock")
    f.check(pr.get("status_link", "").startswith("tcp://127.0.0.1:"), "status link to the simulator")

    tmp = tempfile.mkdtemp(prefix="hq-demo-print-", dir="/tmp")
    os.chmod(tmp, 0o755)
    run = os.path.join(tmp, "run")
    cfg = copy.deepcopy(demo)
    for k in ("devices", "voice"):
        cfg.pop(k, None)
    cfg["http"]["web_root"] = os.path.join(SOURCE, "firmware", "web")
    cfg["printer"]["cups_server"] = os.path.join(tmp, "cups", "cups.sock")
    cfg["printer"]["status_link"] = "tcp://127.0.0.1:%d" % free_port()
    env = dict(os.environ, HALLQ_DEMO_RUN=run)
    proc = None
    try:
        hall = Hall(cfg)
        proc = subprocess.Popen([SCRIPT, BUILD, hall.cfg_path], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        state = os.path.join(run, "printer.state")
        f.check(wait_for(lambda: read_text(state).strip() != "", 30), "demo-printer.sh answered")
        f.eq(read_text(state).strip(), "ready", "demo-printer.sh ready (%s)" % read_text(os.path.join(run, "cups.out")))
        with hall:
            st, body = hall.issue("A")
            f.eq(st, 201, "demo hall issues with its printer: %r" % body)
            number = body.get("ticket", {}).get("number")
            png = os.path.join(run, "printer", "ticket-1.png")
            js = os.path.join(run, "printer", "ticket-1.json")
            f.check(wait_for(lambda: os.path.exists(js), 15), "ticket printed into the run dir")
            f.check(os.path.getsize(png) > 1000 if os.path.exists(png) else False, "a PNG to look at")
            with open(png, "rb") as fh:
                f.eq(fh.read(8), b"\x89PNG\r\n\x1a\n", "PNG signature")
            lines = [ln.get("text") for ln in json.load(open(js))["lines"] if "text" in ln]
            f.check(number in lines and demo["hall"]["name"] in lines,
                    "number %r and hall name on paper: %r" % (number, lines))
            printers = hall.status().get("printers", [])
            f.eq([p.get("queue") for p in printers], [pr["queue"]], "status lists the demo queue")
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        proc = None
        f.check("tickets appear as" in out, "tells where tickets appear: %r" % out[-400:])
        f.check(not os.path.exists(cfg["printer"]["cups_server"]) or
                subprocess.run(["lpstat", "-h", cfg["printer"]["cups_server"], "-r"],
                               capture_output=True, text=True).returncode != 0,
                "cupsd stopped with the script")

        # refusals
        bad = copy.deepcopy(cfg)
        bad.pop("printer")
        bad_path = os.path.join(tmp, "noprinter.json")
        json.dump(bad, open(bad_path, "w"), ensure_ascii=False)
        r = subprocess.run([SCRIPT, BUILD, bad_path], env=env, capture_output=True, text=True,
                           timeout=30)
        f.eq(r.returncode, 1, "no printer section: exit 1")
        f.check(read_text(state).startswith("failed: ") and "printer.queue" in read_text(state),
                "state says why: %r" % read_text(state))
        r = subprocess.run([sys.executable, CUPSD_PY, "serve", os.path.join(tmp, "c2"),
                            "--queue", "noequals"], capture_output=True, text=True, timeout=30)
        f.eq(r.returncode, 1, "bad --queue: exit 1")
        f.check(r.stdout.startswith("failed: "), "says failed: %r" % r.stdout)
    finally:
        if proc:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    return f.done()


if __name__ == "__main__":
    sys.exit(main())
