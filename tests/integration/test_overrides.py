"""The hall changed while it runs (issue 16): the manager opens a temporary window, changes a
service's quota and today's hours and the wall notice; the changes reach the event log and the
outbox, survive a SIGKILL, a restart and a reload; a service closed early with people waiting is
refused without a re-route, accepted with one, and the holders are told (an SSE "reroute"); an
override whose window left the configuration is dropped with a log line; a change is reverted.
"""
import copy
import json
import signal
import sys
import threading
import time

import subprocess

from hallq import BASE_CONFIG, CLERK, HALLQCTL, MANAGER, Failures, Hall, sse_reader, wait_for

T = Failures("test_overrides")


def win(status, n):
    return next((w for w in status["windows"] if w["number"] == n), None)


def svc(status, code):
    return next(s for s in status["services"] if s["code"] == code)


def kinds(status):
    return sorted((o["kind"], o["target"]) for o in status["overrides"])


def main():
    cfg = copy.deepcopy(BASE_CONFIG)
    cfg["queue"]["max_windows"] = 5
    cfg["display"] = {"notice": "欢迎光临", "notice_en": "Welcome"}
    h = Hall(cfg)
    events, stop = [], threading.Event()
    try:
        h.start()
        # --- who may: a clerk token is refused, the manager's token accepted
        body = {"number": 7, "services": ["B", "A"], "name": "7号临时窗口", "name_en": "Window 7"}
        st, _ = h.post("/api/v1/admin/windows", body, token=CLERK)
        T.eq(st, 401, "a clerk token opens no window")
        st, _ = h.post("/api/v1/admin/windows", body)
        T.eq(st, 401, "nobody signed in opens no window")
        # --- validated as strictly as the file
        for bad, what in (({"number": 7, "services": ["Z"]}, "unknown service"),
                          ({"number": 7, "services": []}, "no services"),
                          ({"number": 7, "services": ["A", "A"]}, "a service twice"),
                          ({"number": 0, "services": ["A"]}, "window 0"),
                          ({"number": 1000, "services": ["A"]}, "window 1000"),
                          ({"services": ["A"]}, "no number")):
            st, r = h.post("/api/v1/admin/windows", bad, token=MANAGER)
            T.eq(st, 400, f"open refused: {what}")
        st, r = h.post("/api/v1/admin/windows", {"number": 1, "services": ["A"]}, token=MANAGER)
        T.eq((st, r.get("reason")), (409, "window_open"), "window 1 is open already")
        T.eq(h.status()["overrides"], [], "no overrides after refusals")

        # --- open window 7; a clerk calls there
        st, r = h.post("/api/v1/admin/windows", body, token=MANAGER)
        T.eq(st, 200, f"open window 7: {r}")
        s = h.status()
        w7 = win(s, 7)
        T.check(w7 is not None and w7["temporary"] and w7["services"] == ["B", "A"],
                f"window 7 in the status: {w7}")
        T.eq(kinds(s), [("window", "7")], "the override list")
        T.eq(h.window(7, "login", {"staff": "1002"})[0], 200, "clerk signs in at window 7")
        T.eq(h.issue("B")[0], 201, "issue B001")
        st, r = h.window(7, "call-next")
        T.eq((st, r.get("ticket", {}).get("number")), (200, "B001"), "window 7 calls B first")

        # --- quota, today's hours, notice
        st, r = h.post("/api/v1/admin/services/A", {"daily_quota": 2}, token=MANAGER)
        T.eq(st, 200, f"quota of A: {r}")
        st, _ = h.post("/api/v1/admin/services/A", {"daily_quota": -1}, token=MANAGER)
        T.eq(st, 400, "a negative quota refused")
        st, _ = h.post("/api/v1/admin/services/A", {"daily_quota": 2, "close": True},
                       token=MANAGER)
        T.eq(st, 400, "two changes in one request refused")
        st, _ = h.post("/api/v1/admin/services/Q", {"daily_quota": 2}, token=MANAGER)
        T.eq(st, 404, "unknown service")
        hhmm = h.status()["hall"]["time"][11:16]
        hours = {"open": "23:00", "close": "23:59"} if hhmm < "23:00" else \
            {"open": "00:00", "close": "01:00"}
        st, r = h.post("/api/v1/admin/services/C", {"hours": hours}, token=MANAGER)
        T.eq(st, 200, f"today's hours of C: {r}")
        st, _ = h.post("/api/v1/admin/services/C", {"hours": {"open": "25:00", "close": "26:00"}},
                       token=MANAGER)
        T.eq(st, 400, "hours 25:00 refused")
        st, _ = h.post("/api/v1/admin/notice",
                       {"notice": "7号临时窗口已开放", "notice_en": "Window 7 is open"},
                       token=MANAGER)
        T.eq(st, 200, "notice")
        T.eq(h.issue("A")[0], 201, "A001 under the new quota")
        T.eq(h.issue("A")[0], 201, "A002 under the new quota")
        T.eq(h.issue("A")[0], 409, "A003 over the quota of 2")

        def check_changes(when):
            s = h.status()
            w7 = win(s, 7)
            T.check(w7 is not None and w7["temporary"] and w7["services"] == ["B", "A"],
                    f"{when}: window 7 {w7}")
            T.eq(svc(s, "A")["daily_quota"], 2, f"{when}: quota of A")
            T.eq(svc(s, "C")["open"], False, f"{when}: C closed by today's hours")
            T.eq(s["hall"]["notice"], "7号临时窗口已开放", f"{when}: notice")
            T.eq(kinds(s), [("hours", "C"), ("notice", ""), ("quota", "A"), ("window", "7")],
                 f"{when}: overrides")

        check_changes("running")
        with h.db() as db:
            ev = [r[0] for r in db.execute("SELECT kind FROM events")]
            for k in ("window_open", "service_quota", "service_hours", "notice"):
                T.check(k in ev, f"event log has {k}")
            ob = [json.loads(r[0]).get("kind") for r in db.execute("SELECT data FROM outbox")]
            for k in ("window_open", "service_quota", "service_hours", "notice"):
                T.check(k in ob, f"outbox has {k} for the central server")
            actor = db.execute("SELECT actor FROM events WHERE kind='window_open'").fetchone()
            T.check(actor and actor[0], f"the event names who did it: {actor}")

        # --- SIGKILL, restart: everything is back
        h.kill()
        h.start()
        check_changes("after SIGKILL")
        st, r = h.window(7, "call-next")
        T.eq(st, 200, "window 7 works after the restart")

        # --- a service closed early with people waiting
        stop.clear()
        t = threading.Thread(target=sse_reader, args=(h, events, stop), daemon=True)
        t.start()
        time.sleep(0.3)
        T.eq(h.issue("B")[0], 201, "B002")
        T.eq(h.issue("B")[0], 201, "B003")
        close = {"close": True, "message": "不动产登记今日已停止取号", "message_en": "Closed today"}
        st, r = h.post("/api/v1/admin/services/B", close, token=MANAGER)
        T.eq((st, r.get("reason")), (409, "people_waiting"), "close B refused without reroute")
        T.check(r.get("message") and r.get("message_en"), "the refusal in both languages")
        st, r = h.post("/api/v1/admin/services/B", dict(close, reroute_to=1), token=MANAGER)
        T.eq((st, r.get("reason")), (409, "reroute_not_serving"), "window 1 serves no B")
        st, r = h.post("/api/v1/admin/services/B", dict(close, reroute_to=3), token=MANAGER)
        T.eq(st, 200, f"close B with reroute to 3: {r}")
        s = h.status()
        T.eq(svc(s, "B")["open"], False, "B closed")
        T.eq(svc(s, "B").get("closed_message"), "不动产登记今日已停止取号", "the display's message")
        T.eq(h.issue("B")[0], 409, "no more B tickets today")
        T.check(wait_for(lambda: len([e for e in events if e[0] == "reroute"]) >= 2, 5),
                "the holders are told (SSE reroute)")
        told = sorted(e[1]["ticket"]["number"] for e in events if e[0] == "reroute")
        T.eq(told, ["B002", "B003"], "who was told")
        T.check(all(e[1]["window"]["number"] == 3 for e in events if e[0] == "reroute"),
                "told to go to window 3")
        with h.db() as db:
            rows = db.execute("SELECT label, target_window FROM tickets WHERE label IN "
                              "('B002','B003') ORDER BY label").fetchall()
            T.eq(rows, [("B002", 3), ("B003", 3)], "tickets re-routed in the database")
        T.eq(h.window(3, "login", {"staff": "1003"})[0], 200, "clerk at window 3")
        st, r = h.window(3, "call-next")
        T.eq((st, r.get("ticket", {}).get("number")), (200, "B002"), "window 3 calls B002")

        # --- closing a window: busy refused; then closed, its row gone
        st, r = h.post("/api/v1/admin/windows/7/close", {}, token=MANAGER)
        T.eq((st, r.get("reason")), (409, "window_busy"), "window 7 has a citizen")
        T.eq(h.window(7, "finish")[0], 200, "finish at 7")
        st, r = h.post("/api/v1/admin/windows/7/close", {}, token=MANAGER)
        T.eq(st, 200, f"window 7 closed: {r}")
        s = h.status()
        T.eq(win(s, 7)["closed"], True, "window 7 closed in the status")
        T.check(("window", "7") not in kinds(s), "a closed temporary window is no override")
        T.eq(h.window(7, "login", {"staff": "1002"})[1].get("reason"), "window_closed",
             "no sign-in at a closed window")

        # --- window 2's services changed, then a reload keeps every override
        st, r = h.post("/api/v1/admin/windows/2/services", {"services": ["A"]}, token=MANAGER)
        T.eq(st, 200, f"window 2 services: {r}")
        h.config["display"]["notice"] = "文件里的新公告"
        h.write_config()
        h.proc.send_signal(signal.SIGHUP)
        T.check(wait_for(lambda: "configuration reloaded" in h.read_log(), 10), "reloaded")
        s = h.status()
        T.eq(s["hall"]["notice"], "7号临时窗口已开放", "reload keeps the notice override")
        T.eq(svc(s, "A")["daily_quota"], 2, "reload keeps the quota override")
        T.eq(win(s, 2)["services"], ["A"], "reload keeps window 2's services")
        T.eq(svc(s, "B")["open"], False, "reload keeps B closed")
        T.check("daily_quota changed" not in h.read_log(),
                "the reload does not take an override for a change of the file")

        # --- revert the quota
        qid = next(o["id"] for o in s["overrides"] if o["kind"] == "quota")
        st, r = h.post(f"/api/v1/admin/overrides/{qid}/revert", {}, token=MANAGER)
        T.eq(st, 200, f"revert the quota: {r}")
        s = h.status()
        T.eq(svc(s, "A")["daily_quota"], 5000, "quota back to the file's")
        T.check(("quota", "A") not in kinds(s), "the quota override is gone")
        st, _ = h.post("/api/v1/admin/overrides/99999/revert", {}, token=MANAGER)
        T.eq(st, 404, "revert of no such override")
        nid = next(o["id"] for o in s["overrides"] if o["kind"] == "notice")
        st, r = h.post(f"/api/v1/admin/overrides/{nid}/revert", {}, token=MANAGER)
        T.eq(st, 200, "revert the notice")
        T.eq(h.status()["hall"]["notice"], "文件里的新公告", "the file's (reloaded) notice again")

        # --- hallqctl: the same changes from the shell
        def ctl(*args):
            p = subprocess.run([HALLQCTL, "--url", f"http://127.0.0.1:{h.port}", "--token",
                                MANAGER, *args], capture_output=True, text=True, timeout=30)
            return p.returncode, p.stdout + p.stderr
        rc, out = ctl("window", "open", "8", "A,B", "--name", "8号临时窗口")
        T.eq(rc, 0, f"hallqctl window open: {out}")
        T.eq(win(h.status(), 8)["services"], ["A", "B"], "window 8 opened by hallqctl")
        rc, out = ctl("overrides")
        T.check(rc == 0 and "window" in out and "8号临时窗口" in out, f"hallqctl overrides: {out}")
        rc, out = ctl("service", "A", "quota", "lots")
        T.eq(rc, 2, "hallqctl: a quota that is no number is a usage error")
        rc, out = ctl("window", "close", "8", "--reroute-to", "1")
        T.eq(rc, 0, f"hallqctl window close: {out}")
        rc, out = ctl("service", "C", "close", "今日停办")
        T.eq(rc, 0, f"hallqctl service close (nobody waits for C): {out}")

        # --- window 2 leaves the file: its override is dropped with a log line
        stop.set()
        h.stop()
        h.config["windows"] = [w for w in h.config["windows"] if w["number"] != 2]
        h.write_config()
        h.start()
        s = h.status()
        T.check(("window", "2") not in kinds(s), f"window 2's override dropped: {kinds(s)}")
        T.check("window 2 is no longer in the configuration" in h.read_log(),
                "the drop is logged")
        T.eq(svc(s, "B")["open"], False, "B still closed after a restart")
    finally:
        stop.set()
        h.stop()
        if T.failed:
            print(h.read_log())
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
