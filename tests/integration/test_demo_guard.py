#!/usr/bin/env python3
"""tools/demo.sh guards (issue 13), on a copy of the script in a temp tree (its own
config/, a free port, no devices, voice or cupsd), so the real demo is never touched:

1. a second demo while one runs refuses BEFORE touching anything (the first demo's
   database, its tickets and its printer.state stay), names the first demo's pid and how
   to stop it, and the first demo goes on serving;
2. a printer.state left by an earlier demo is deleted before the printer simulator starts
   (a stand-in tools/demo-printer.sh records what it found), so a stale "failed: ..." is
   never read as this printer's answer.
usage: test_demo_guard.py   (env HQ_BUILD, HQ_SOURCE)
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hallq import BUILD, Failures, SOURCE, free_port, read_text, wait_for  # noqa: E402

f = Failures("test_demo_guard")

FAKE_PRINTER = """#!/usr/bin/env bash
# stand-in for tools/demo-printer.sh: says what it found, then is a ready printer
run=${HALLQ_DEMO_RUN:?}
if [ -e "$run/printer.state" ]; then echo "stale: $(cat "$run/printer.state")" >"$run/found"
else echo none >"$run/found"; fi
echo ready >"$run/printer.state"
exec sleep 600
"""


def status(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/status" % port, timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def issue(port):
    req = urllib.request.Request("http://127.0.0.1:%d/api/v1/tickets" % port,
                                 data=json.dumps({"service": "A"}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["ticket"]["number"]


def stop(p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def main():
    tmp = tempfile.mkdtemp(prefix="hq-demo-guard-")
    top = os.path.join(tmp, "top")
    os.makedirs(os.path.join(top, "tools"))
    os.makedirs(os.path.join(top, "config"))
    shutil.copy(os.path.join(SOURCE, "tools", "demo.sh"), os.path.join(top, "tools"))
    fake = os.path.join(top, "tools", "demo-printer.sh")
    with open(fake, "w") as fh:
        fh.write(FAKE_PRINTER)
    os.chmod(fake, 0o755)
    cfg = json.load(open(os.path.join(SOURCE, "config", "demo-hall.json"), encoding="utf-8"))
    for k in ("devices", "voice", "printer", "sync"):
        cfg.pop(k, None)
    port = free_port()
    cfg["http"]["listen"] = "127.0.0.1:%d" % port
    cfg["http"]["public_url"] = "http://127.0.0.1:%d" % port
    cfg["http"]["web_root"] = os.path.join(SOURCE, "firmware", "web")
    with open(os.path.join(top, "config", "demo-hall.json"), "w", encoding="utf-8") as fh:
        json.dump(cfg, fh, ensure_ascii=False)
    db = os.path.join(top, "config", cfg["store"]["database"])
    run1, run2 = os.path.join(tmp, "run1"), os.path.join(tmp, "run2")
    os.makedirs(run1)
    with open(os.path.join(run1, "printer.state"), "w") as fh:
        fh.write("failed: left by an earlier demo\n")
    demo = os.path.join(top, "tools", "demo.sh")
    p1 = subprocess.Popen([demo, BUILD], env=dict(os.environ, HALLQ_DEMO_RUN=run1),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        f.check(wait_for(lambda: status(port), 60), "the first demo answers")
        f.eq(read_text(os.path.join(run1, "found")).strip(), "none",
             "printer.state was deleted before the printer simulator started")
        f.eq(issue(port), "A001", "first demo issues")
        ino = os.stat(db).st_ino
        state1 = read_text(os.path.join(run1, "printer.state"))
        # the second demo, even with another run dir
        r = subprocess.run([demo, BUILD], env=dict(os.environ, HALLQ_DEMO_RUN=run2),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        out = r.stdout + r.stderr
        f.check(r.returncode != 0, "the second demo refuses: %s" % out[-500:])
        f.check("already running" in out, "it says a demo is running: %s" % out[-500:])
        f.check(("kill %d" % p1.pid) in out, "it names the first demo's pid and how to stop it")
        f.check("Ctrl-C" in out, "and Ctrl-C")
        f.eq(os.stat(db).st_ino, ino, "the first demo's database was not deleted")
        c = sqlite3.connect(db)
        f.eq(c.execute("SELECT count(*) FROM tickets").fetchone()[0], 1, "its ticket is there")
        c.close()
        f.eq(read_text(os.path.join(run1, "printer.state")), state1, "its printer.state untouched")
        f.check(not os.path.exists(os.path.join(run2, "found")), "no second printer started")
        f.eq(issue(port), "A002", "the first demo goes on")
        # stopped, a new demo is a fresh hall: its numbers start again at A001 (the numbers
        # side file of the old database goes with it; it used to continue above the old
        # day's last block of 32, at A034)
        stop(p1)
        f.check(wait_for(lambda: not status(port), 20), "the first demo stopped")
        p1 = subprocess.Popen([demo, BUILD], env=dict(os.environ, HALLQ_DEMO_RUN=run2),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
        f.check(wait_for(lambda: status(port), 60), "a new demo answers")
        f.eq(issue(port), "A001", "a new demo starts its numbers afresh")
    finally:
        stop(p1)
        shutil.rmtree(tmp, ignore_errors=True)
    return f.done()


if __name__ == "__main__":
    sys.exit(main())
