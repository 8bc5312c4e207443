"""The programs as a person runs them: hallqd --check-config and its refusals,
hallqd on a corrupt database, SIGHUP reload, and hallqctl's output and exit
codes (0 done, 1 refused, 2 usage, 3 unreachable, 4 not authorised)."""
import glob
import json
import os
import signal
import subprocess
import sys
import time

from hallq import CLERK, HALLQCTL, MANAGER, HALLQD, SOURCE, Failures, Hall, free_port, wait_for

T = Failures("test_cli")


def run(args, env=None):
    p = subprocess.run(args, capture_output=True, text=True, timeout=30,
                       env={**os.environ, **(env or {})})
    return p.returncode, p.stdout, p.stderr


def test_check_config():
    demo = os.path.join(SOURCE, "config", "demo-hall.json")
    rc, out, err = run([HALLQD, "--check-config", demo])
    T.eq(rc, 0, "demo config is valid")
    T.check("8 windows" in out, "check-config reports the windows")
    h = Hall()  # not started: its temp dir and a valid config to break
    bad = dict(h.config)
    bad["services"] = [dict(s) for s in h.config["services"]]
    bad["services"][1]["daily_quota"] = -5
    with open(h.cfg_path, "w") as f:
        json.dump(bad, f)
    rc, out, err = run([HALLQD, "--check-config", h.cfg_path])
    T.eq(rc, 2, "bad config exit code")
    T.check(h.cfg_path in err or "hall.json" in err, f"message names the file: {err!r}")
    T.check("$.services[1].daily_quota" in err, f"message names the JSON path: {err!r}")
    rc, out, err = run([HALLQD, "--config", h.cfg_path])
    T.eq(rc, 2, "hallqd refuses to start on a bad config")
    T.check("$.services[1].daily_quota" in err, "and says why")
    rc, out, err = run([HALLQD, "--check-config", "/nonexistent/hall.json"])
    T.eq(rc, 2, "missing config file")
    T.check("/nonexistent/hall.json" in err, "names the missing file")
    rc, out, err = run([HALLQD])
    T.eq(rc, 2, "no arguments is a usage error")


def test_corrupt_db():
    # A corrupt file is moved aside untouched and a fresh database starts
    # (issue 7; tests/integration/test_storage.py covers the rest).
    h = Hall()
    with open(h.db_path, "wb") as f:
        f.write(b"\x13\x37" * 4096)
    try:
        h.start()
        moved = glob.glob(h.db_path + ".corrupt-*")
        T.eq(len(moved), 1, "corrupt database moved aside")
        T.check(h.db_path in h.read_log() and "corrupt" in h.read_log(), "clear message")
        if moved:
            with open(moved[0], "rb") as f:
                T.eq(f.read(), b"\x13\x37" * 4096, "the corrupt file is kept untouched")
    finally:
        h.stop()


def test_reload():
    with Hall() as h:
        T.eq(h.status()["hall"]["notice"], "", "no notice at first")
        h.config["display"] = {"notice": "今日系统升级", "notice_en": "Upgrade today"}
        h.write_config()
        h.proc.send_signal(signal.SIGHUP)
        ok = False
        for _ in range(100):
            if h.status()["hall"]["notice"] == "今日系统升级":
                ok = True
                break
            time.sleep(0.02)
        T.check(ok, "SIGHUP reloads the notice")
        with open(h.cfg_path, "w") as f:
            f.write("{ broken")
        h.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        T.check(h.alive(), "a bad file on reload does not stop hallqd")
        T.eq(h.status()["hall"]["notice"], "今日系统升级", "and the running config stays")
        T.check("reload refused" in h.read_log(), "the refusal is logged")



def test_reload_flags():
    """Issue 14: SIGHUP applies the keys the schema flags as changeable at run
    time and names, by JSON path, each changed key that waits for a restart."""
    with Hall() as h:
        quota = h.status()["services"][1]["daily_quota"]
        h.config["display"] = {"notice": "午间不休", "notice_en": "Open at noon"}
        h.config["alarms"] = {"wait_s": 1234, "idle_s": 600}
        h.config["services"][1]["daily_quota"] = quota + 5
        h.config["windows"] = h.config["windows"] + [{"number": 9, "services": ["A"]}]
        h.write_config()
        h.proc.send_signal(signal.SIGHUP)
        T.check(wait_for(lambda: "configuration reloaded" in h.read_log()), "reloaded")
        log = h.read_log()
        st = h.status()
        T.eq(st["hall"]["notice"], "午间不休", "a reloadable key (display.notice) applies at once")
        T.eq(st["services"][1]["daily_quota"], quota, "a restart-only key keeps its running value")
        T.eq(len(st["windows"]), len(h.config["windows"]) - 1, "the windows stay as they were")
        T.check("reload: $.services[1].daily_quota changed in " in log and "next restart" in log,
                f"the restart-only key is named by its JSON path: {log[-1200:]}")
        T.check("reload: $.windows changed in " in log, "a window more: the array is named")
        T.check("reload: $.display.notice changed: applied" in log, "the applied key is named too")
        T.check("reload: $.alarms.wait_s changed: applied" in log, "and the alarm threshold")
        T.check("$.display.notice changed in" not in log, "an applied key is not called restart-only")
        T.check("2 changed keys (above) take effect only at the next restart" in log,
                f"the summary counts them: {log[-600:]}")
        # the same file again: nothing changed, nothing named
        h.proc.send_signal(signal.SIGHUP)
        T.check(wait_for(lambda: h.read_log().count("configuration reloaded") == 2), "reloaded again")
        log = h.read_log()
        T.eq(log.count("reload: $.services[1].daily_quota changed in"), 2,
             "the restart-only key still differs from the running one")
        T.eq(log.count("reload: $.display.notice changed: applied"), 1, "an applied key is applied once")


def test_systemd_notify():
    """Type=notify: READY=1 once serving, WATCHDOG=1 pings from the loop,
    RELOADING=1 on SIGHUP, STOPPING=1 on SIGTERM."""
    import socket as so
    import tempfile
    sock_dir = tempfile.mkdtemp(prefix="hallq-notify-")
    path = os.path.join(sock_dir, "notify")
    srv = so.socket(so.AF_UNIX, so.SOCK_DGRAM)
    srv.bind(path)
    srv.settimeout(0.2)
    h = Hall()
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"}
    log = open(h.log_path, "ab")
    p = subprocess.Popen([HALLQD, "--config", h.cfg_path], stdout=log, stderr=log, env=env)
    msgs = []
    end = time.time() + 5
    while time.time() < end and sum("WATCHDOG=1" in m for m in msgs) < 2:
        try:
            msgs.append(srv.recv(4096).decode())
        except so.timeout:
            pass
    T.check(any("READY=1" in m for m in msgs), f"READY=1 sent: {msgs!r}")
    T.check(sum("WATCHDOG=1" in m for m in msgs) >= 2, "watchdog pinged from the loop")
    p.send_signal(signal.SIGHUP)
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    end = time.time() + 2
    while time.time() < end:
        try:
            msgs.append(srv.recv(4096).decode())
        except so.timeout:
            break
    T.check(any("RELOADING=1" in m for m in msgs), "RELOADING=1 on SIGHUP")
    T.check(any("STOPPING=1" in m for m in msgs), "STOPPING=1 on SIGTERM")
    T.eq(p.returncode, 0, "clean exit under systemd")
    log.close()
    srv.close()


def test_hallqctl():
    with Hall() as h:
        # the test hall's service C is third at window 3 and nowhere first: said at start
        T.check("service C (出入境) is no window's first service" in h.read_log(),
                "start-up warns of a service no window takes first")
        T.check("service A (" not in h.read_log(), "and of no other")
        env = {"HALLQ_URL": f"http://127.0.0.1:{h.port}", "HALLQ_TOKEN": CLERK}
        rc, out, err = run([HALLQCTL, "issue", "A"], env)
        T.eq(rc, 0, "hallqctl issue")
        T.check("A001" in out and "社保业务" in out, f"human output: {out!r}")
        rc, out, err = run([HALLQCTL, "--json", "issue", "A"], env)
        T.eq(json.loads(out)["ticket"]["number"], "A002", "--json output")
        rc, out, err = run([HALLQCTL, "login", "1", "1001"], env)
        T.eq(rc, 0, "login")
        rc, out, err = run([HALLQCTL, "call", "1"], env)
        T.check(rc == 0 and "A001" in out, f"call: {out!r}")
        for cmd in (["recall", "1"], ["start", "1"], ["park", "1"], ["call-back", "1"],
                    ["transfer", "1", "--service", "B"], ["call", "1", "A002"],
                    ["no-show", "1", "--no-requeue"], ["pause", "1"], ["resume", "1"]):
            rc, out, err = run([HALLQCTL] + cmd, env)
            T.eq(rc, 0, f"hallqctl {' '.join(cmd)} ({err.strip()})")
        rc, out, err = run([HALLQCTL, "call", "1"], env)
        T.eq(rc, 1, "call with nobody waiting is refused")
        T.check("当前无人等候" in err, f"refusal in Chinese: {err!r}")
        # transfer to a named window, and to the front of another service's queue; finish
        rc, out, err = run([HALLQCTL, "issue", "A"], env)
        T.check(rc == 0 and "A003" in out, f"issue A003: {out!r}")
        T.eq(run([HALLQCTL, "login", "2", "1002"], env)[0], 0, "login at window 2")
        rc, out, err = run([HALLQCTL, "call", "1"], env)
        T.check(rc == 0 and "A003" in out, f"window 1 calls A003: {out!r}")
        rc, out, err = run([HALLQCTL, "transfer", "1", "--to-window", "2"], env)
        T.eq(rc, 0, f"transfer --to-window 2 ({err.strip()})")
        for _ in range(2):
            T.eq(run([HALLQCTL, "issue", "B"], env)[0], 0, "issue B")
        rc, out, err = run([HALLQCTL, "call", "2"], env)
        T.check(rc == 0 and "A003" in out, f"window 2 calls the ticket sent to it first: {out!r}")
        rc, out, err = run([HALLQCTL, "transfer", "2", "--service", "B", "--front"], env)
        T.eq(rc, 0, f"transfer --service B --front ({err.strip()})")
        rc, out, err = run([HALLQCTL, "call", "2"], env)
        T.check(rc == 0 and "A003" in out, f"at the front of B, before B001: {out!r}")
        rc, out, err = run([HALLQCTL, "finish", "2"], env)
        T.eq(rc, 0, f"finish ({err.strip()})")
        st, t = h.get("/api/v1/tickets/A003")
        T.eq((st, t.get("ticket", t).get("status"), t.get("ticket", t).get("window")),
             (200, "done", 2), f"A003 done at window 2: {t!r}")
        rc, out, err = run([HALLQCTL, "logout", "2"], env)
        T.eq(rc, 0, "logout 2")
        rc, out, err = run([HALLQCTL, "logout", "1"], env)
        T.eq(rc, 0, "logout")
        rc, out, err = run([HALLQCTL, "status"], env)
        T.check(rc == 0 and "1号窗口" in out and "不动产登记" in out, f"status: {out!r}")
        rc, out, err = run([HALLQCTL, "--token", "bad-token-bad-token", "call", "1"], env)
        T.eq(rc, 4, "bad token")
        rc, out, err = run([HALLQCTL, "frobnicate"], env)
        T.eq(rc, 2, "unknown command")
        rc, out, err = run([HALLQCTL, "call", "x"], env)
        T.eq(rc, 2, "bad window number")
    rc, out, err = run([HALLQCTL, "--url", f"http://127.0.0.1:{free_port()}", "status"])
    T.eq(rc, 3, "unreachable hallqd")


def test_hallqctl_words():
    """Issue 14: states in Chinese in the Chinese output, every refusal with
    its own reason in both languages (the API's "reason"), HALLQ_TOKEN in
    --help."""
    rc, out, err = run([HALLQCTL, "--help"])
    T.check(rc == 0 and "HALLQ_TOKEN" in out and "HALLQ_URL" in out, f"--help names HALLQ_TOKEN: {out!r}")
    with Hall() as h:
        env = {"HALLQ_URL": f"http://127.0.0.1:{h.port}", "HALLQ_TOKEN": CLERK}

        def refused(cmd, zh, en, reason, env=env):
            rc, out, err = run([HALLQCTL] + cmd, env)
            T.eq(rc, 1, f"hallqctl {' '.join(cmd)} is refused ({err.strip()})")
            T.check(zh in err and en in err, f"hallqctl {' '.join(cmd)}: {zh} / {en} in {err!r}")
            T.check("当前状态不允许此操作" not in err, f"not the catch-all: {err!r}")
            rc, out, _ = run([HALLQCTL, "--json"] + cmd, env)
            T.eq(json.loads(out or "{}").get("reason"), reason, f"the API's reason for {' '.join(cmd)}")
            return err

        rc, out, err = run([HALLQCTL, "issue", "A"], env)
        T.check(rc == 0 and "状态 等候中" in out and "waiting" not in out, f"state in Chinese: {out!r}")
        msgs = set()
        msgs.add(refused(["call", "1"], "窗口未登录", "no clerk is logged in", "not_logged_in"))
        T.eq(run([HALLQCTL, "login", "1", "1001"], env)[0], 0, "login")
        msgs.add(refused(["login", "2", "9999"], "没有这个工号", "no such staff number", "no_staff"))
        msgs.add(refused(["call", "99"], "没有这个窗口", "no such window", "no_window"))
        # cancelling is a manager's (docs/API.md "Roles"): with the manager token the reason shows
        msgs.add(refused(["cancel", "Z999"], "今天没有这个号", "no such ticket today", "no_ticket",
                         env=dict(env, HALLQ_TOKEN=MANAGER)))
        msgs.add(refused(["issue", "Q"], "没有这项业务", "no such service", "no_service"))
        msgs.add(refused(["recall", "1"], "没有已叫号", "no ticket is called", "not_called"))
        msgs.add(refused(["finish", "1"], "没有正在办理", "no ticket is being served", "no_current"))
        msgs.add(refused(["resume", "1"], "窗口未暂停", "not paused", "not_paused"))
        msgs.add(refused(["call-back", "1"], "没有挂起", "no ticket is parked", "nothing_parked"))
        msgs.add(refused(["rate", "1", "5"], "没有待评价", "no service awaits a rating", "no_rating"))
        T.eq(run([HALLQCTL, "call", "1"], env)[0], 0, "call A001")
        msgs.add(refused(["pause", "1"], "窗口正在办理", "a citizen is at the window", "window_busy"))
        rc, out, err = run([HALLQCTL, "no-show", "1", "--no-requeue"], env)
        T.check(rc == 0 and "过号" in out and "no_show" not in out, f"no-show state in Chinese: {out!r}")
        msgs.add(refused(["call", "1"], "当前无人等候", "nobody is waiting", "nobody_waiting"))
        T.eq(run([HALLQCTL, "issue", "A"], env)[0], 0, "issue A002")
        T.eq(run([HALLQCTL, "call", "1"], env)[0], 0, "call A002")
        rc, out, err = run([HALLQCTL, "finish", "1"], env)
        T.check(rc == 0 and "已办结" in out, f"finish state in Chinese: {out!r}")
        T.eq(run([HALLQCTL, "rate", "1", "5"], env)[0], 0, "the first rating")
        msgs.add(refused(["rate", "1", "4"], "已评价", "already rated", "rated"))
        T.eq(run([HALLQCTL, "pause", "1", "lunch"], env)[0], 0, "pause for lunch")
        msgs.add(refused(["pause", "1"], "窗口已暂停", "the window is paused", "paused"))
        msgs.add(refused(["pause", "1", "nap"], "没有这个暂停原因", "no such pause reason",
                         "no_pause_reason"))
        T.eq(len(msgs), 15, "fifteen refusals, fifteen different messages")
        rc, out, _ = run([HALLQCTL, "--json", "help", "1"], env)
        T.check(rc == 0 and json.loads(out)["window"]["help_since"], f"help: the call is open ({out!r})")
        rc, out, err = run([HALLQCTL, "call", "1"], {"HALLQ_URL": env["HALLQ_URL"], "HALLQ_TOKEN": ""})
        T.check(rc == 4 and "HALLQ_TOKEN" in err, f"no token: says to set HALLQ_TOKEN: {err!r}")


def main():
    test_check_config()
    test_corrupt_db()
    test_reload()
    test_reload_flags()
    test_systemd_notify()
    test_hallqctl()
    test_hallqctl_words()
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
