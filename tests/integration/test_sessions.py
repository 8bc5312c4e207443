"""Staff sessions against the real hallqd (docs/API.md "Roles" and "Sessions"):
PINs set by a manager (API and hallqctl) and changed by the person, sign-in
at a window (the engine logs the clerk in), at the desk and as a manager
(also through /api/v1/admin/login), each route refusing the roles it does not
name, the actor of every command in the event log, sign-out, idle expiry,
sessions that survive a restart and a SIGKILL, someone removed from the
roster refused, the wrong-PIN back-off, and no PIN or token in clear in the
database."""
import copy
import glob
import os
import signal
import subprocess
import sys
import time

from hallq import BASE_CONFIG, CLERK, HALLQCTL, MANAGER, TIME_SCALE, Failures, Hall, wait_for

T = Failures("test_sessions")

PINS = {"1001": "pin-1001-Kq7", "1002": "pin-1002-Zx9", "1003": "desk-1003-Wd2",
        "9001": "boss-9001-Mn4"}
DEVICE = "test-device-token-w3"


def config(idle_s=600):
    c = copy.deepcopy(BASE_CONFIG)
    c["http"]["tokens"] = [{"token": CLERK, "role": "clerk", "name": "window-system"},
                           {"token": MANAGER, "role": "manager"},
                           {"token": DEVICE, "role": "device", "window": 3, "name": "tablet-3"}]
    c["staff"] = [{"id": "1001", "name": "王芳"}, {"id": "1002", "name": "李娜"},
                  {"id": "1003", "name": "张伟", "role": "desk"},
                  {"id": "9001", "name": "赵主任", "role": "manager"}]
    c["sessions"] = {"idle_s": idle_s}
    return c


def sign_in(h, staff, pin=None, **extra):
    """One sign-in; a 429 "busy" (the hall-wide cap of wrong PINs a second, tested in
    test_busy) is waited out, it is not what these tests look at."""
    body = {"staff": staff, "pin": pin if pin is not None else PINS[staff]}
    body.update(extra)
    for _ in range(50):
        st, b = h.post("/api/v1/session", body)
        if not (st == 429 and b.get("error") == "busy"):
            return st, b
        time.sleep(0.2)
    return st, b


def set_pins(h):
    for staff, pin in PINS.items():
        st, body = h.post(f"/api/v1/admin/staff/{staff}/pin", {"pin": pin}, token=MANAGER)
        T.eq(st, 200, f"manager token sets the PIN of {staff}")


def events(h, sql):
    with h.db() as db:
        return db.execute(sql).fetchall()


def test_pins_and_roles():
    with Hall(config()) as h:
        st, _ = sign_in(h, "1001")
        T.eq(st, 401, "no PIN set yet: refused")
        st, _ = h.post("/api/v1/admin/staff/1001/pin", {"pin": "1234"}, token=CLERK)
        T.eq(st, 401, "a clerk token may not set PINs")
        st, _ = h.post("/api/v1/admin/staff/1001/pin", {"pin": "1234"})
        T.eq(st, 401, "nobody signed in may not set PINs")
        st, _ = h.post("/api/v1/admin/staff/4242/pin", {"pin": "1234"}, token=MANAGER)
        T.eq(st, 404, "no such staff number")
        st, _ = h.post("/api/v1/admin/staff/1001/pin", {"pin": "12"}, token=MANAGER)
        T.eq(st, 400, "a PIN of 2 characters is refused")
        set_pins(h)
        st, roster = h.get("/api/v1/admin/staff", token=MANAGER)
        T.eq(st, 200, "roster list")
        T.eq({s["id"]: (s["role"], s["pin_set"]) for s in roster["staff"]},
             {"1001": ("clerk", True), "1002": ("clerk", True), "1003": ("desk", True),
              "9001": ("manager", True)}, "roster roles and PINs set")

        # hallqctl staff pin ID reads the PIN from stdin
        env = dict(os.environ, HALLQ_URL=f"http://127.0.0.1:{h.port}", HALLQ_TOKEN=MANAGER)
        p = subprocess.run([HALLQCTL, "staff", "pin", "1002"], input="pin-ctl-0000\n",
                           capture_output=True, text=True, env=env, timeout=30)
        T.eq(p.returncode, 0, f"hallqctl staff pin: {p.stderr}")
        T.eq(sign_in(h, "1002", "pin-ctl-0000", window=2)[0], 200, "the PIN hallqctl set works")
        p = subprocess.run([HALLQCTL, "staff", "pin", "1002"], input="pin-1002-Zx9\n",
                           capture_output=True, text=True,
                           env=dict(env, HALLQ_TOKEN=CLERK), timeout=30)
        T.eq(p.returncode, 4, "hallqctl staff pin with a clerk token: not authorised")
        h.post("/api/v1/admin/staff/1002/pin", {"pin": PINS["1002"]}, token=MANAGER)

        # a clerk at window 1: the engine logs 王芳 in there
        st, s = sign_in(h, "1001", window=1)
        T.eq(st, 200, "clerk signs in at window 1")
        tok = s.get("token", "")
        T.check(tok.startswith("hqs_") and len(tok) == 47, "a session token")
        T.eq((s["role"], s["window"], s["staff"]["id"], s["staff"]["name"]),
             ("clerk", 1, "1001", "王芳"), "bound to that person, role and window")
        st, w = h.get("/api/v1/windows/1")
        T.eq(((w.get("staff") or {}).get("id"), w.get("state")), ("1001", "idle"),
             "the engine has the clerk at window 1")
        st, me = h.get("/api/v1/session", token=tok)
        T.eq((st, me.get("role"), me.get("window")), (200, "clerk", 1), "who am I")

        # what a clerk session may and may not do
        T.eq(h.issue("A")[0], 201, "a public ticket")
        T.eq(h.window(1, "call-next", token=tok)[0], 200, "call at its own window")
        T.eq(h.window(2, "pause", token=tok)[0], 401, "nothing at another window")
        T.eq(h.window(1, "login", {"staff": "1002"}, token=tok)[0], 401,
             "no keypad-style login through a session")
        for path in ("/api/v1/admin/overview", "/api/v1/admin/stats", "/api/v1/admin/staff"):
            T.eq(h.get(path, token=tok)[0], 401, f"clerk session refused on {path}")
        st, err = h.post("/api/v1/admin/staff/1002/pin", {"pin": "9999"}, token=tok)
        T.eq(st, 401, "clerk session may not set PINs")
        T.check("manager session" in err.get("detail", ""), "the refusal names the roles")
        T.eq(h.issue("A", priority="disabled")[0], 401, "priority needs a staff member")
        st, t = h.post("/api/v1/tickets", {"service": "A", "priority": "disabled"}, token=tok)
        T.eq(st, 201, "a clerk session may issue a priority ticket")
        T.eq(h.post(f"/api/v1/tickets/{t['ticket']['uuid']}/cancel", {}, token=tok)[0], 401,
             "clerk session may not cancel")

        # every command records who gave it
        rows = events(h, "SELECT kind, actor FROM events ORDER BY id")
        T.check(("login", "staff:1001/clerk") in rows, f"login by the session: {rows}")
        T.check(("call", "staff:1001/clerk") in rows, "call by the session")
        T.check(("issue", "public") in rows or any(a == "public" for _, a in rows),
                "a public issue is the public's")
        T.eq(h.window(3, "login", {"staff": "1002"}, token=CLERK)[0], 200, "machine token login")
        rows = events(h, "SELECT kind, actor FROM events WHERE window=3 ORDER BY id")
        T.check(("login", "token:window-system") in rows, f"machine token named: {rows}")

        # a window's tablet: only that window's rating
        T.eq(h.window(3, "call-next", token=DEVICE)[0], 401, "a device may not call")
        T.eq(h.window(2, "rating", {"level": 5}, token=DEVICE)[0], 401, "nor rate elsewhere")
        T.check(h.window(3, "rating", {"level": 5}, token=DEVICE)[0] != 401,
                "it may rate at its window")

        # desk and manager sessions
        st, d = sign_in(h, "1003", desk=True)
        T.eq((st, d.get("role"), d.get("window")), (200, "desk", None), "desk session")
        T.eq(sign_in(h, "1003", window=2)[0], 401, "a desk person is no clerk")
        T.eq(sign_in(h, "1003")[0], 401, "nor a manager")
        T.eq(sign_in(h, "1001")[0], 401, "a clerk is no manager")
        T.eq(h.get("/api/v1/admin/overview", token=d["token"])[0], 401, "desk: no dashboard")
        T.eq(h.window(1, "pause", token=d["token"])[0], 401, "desk: no window actions")
        st, m = sign_in(h, "9001")
        T.eq((st, m.get("role")), (200, "manager"), "manager session")
        T.eq(h.get("/api/v1/admin/overview", token=m["token"])[0], 200, "manager: dashboard")
        st, m2 = h.post("/api/v1/admin/login", {"staff": "9001", "pin": PINS["9001"]})
        T.eq((st, m2.get("role"), m2.get("hall")), (200, "manager", "测试大厅"),
             "/api/v1/admin/login is a manager session")
        T.eq(h.get("/api/v1/session", token=m2.get("token"))[0], 200, "its token works")
        T.eq(h.post("/api/v1/admin/login", {"staff": "1001", "pin": PINS["1001"]})[0], 401,
             "a clerk cannot sign in to the dashboard")
        T.eq(h.post("/api/v1/admin/login", {"token": MANAGER})[0], 200,
             "a manager machine token still passes the login check")
        T.eq(h.post(f"/api/v1/tickets/{t['ticket']['uuid']}/cancel", {}, token=m["token"])[0],
             200, "a manager session cancels")
        rows = events(h, "SELECT kind, actor FROM events WHERE kind='cancel'")
        T.eq(rows, [("cancel", "staff:9001/manager")], "the cancel is the manager's")

        # the person changes their own PIN: other sessions of theirs end
        st, _ = h.post("/api/v1/session/pin", {"old": "wrong-pin", "new": "boss-new-0001"},
                       token=m["token"])
        T.eq(st, 401, "PIN change with a wrong old PIN")
        st, _ = h.post("/api/v1/session/pin", {"old": PINS["9001"], "new": "x"}, token=m["token"])
        T.eq(st, 400, "a too short new PIN")
        st, _ = h.post("/api/v1/session/pin", {"old": PINS["9001"], "new": "boss-new-0001"},
                       token=m["token"])
        T.eq(st, 200, "PIN changed")
        T.eq(h.get("/api/v1/session", token=m["token"])[0], 200, "this session goes on")
        T.eq(h.get("/api/v1/session", token=m2["token"])[0], 401, "the other one ended")
        T.eq(sign_in(h, "9001")[0], 401, "the old PIN no longer works")
        T.eq(sign_in(h, "9001", "boss-new-0001")[0], 200, "the new one does")
        PINS["9001"] = "boss-new-0001"

        # sign-out revokes; the clerk leaves the window
        T.eq(h.post("/api/v1/session/logout", {}, token=tok)[0], 200, "sign out")
        T.eq(h.get("/api/v1/session", token=tok)[0], 401, "the token is dead")
        T.eq(h.window(1, "pause", token=tok)[0], 401, "and acts no more")
        st, w = h.get("/api/v1/windows/1")
        T.check(w.get("staff") is None or w.get("state") in ("closed", "calling", "serving"),
                f"the clerk left window 1 (unless a citizen is at it): {w}")

        # a second clerk signing in at a window ends the first one's session there
        st, a = sign_in(h, "1002", window=2)
        T.eq(st, 200, "李娜 at window 2")
        h.window(2, "resume", token=a["token"])
        st, b = sign_in(h, "9001", window=2)
        T.eq((st, b.get("role")), (200, "clerk"), "赵主任 (a manager) takes window 2 as a clerk")
        st, w = h.get("/api/v1/windows/2")
        T.eq((w.get("staff") or {}).get("id"), "9001", "the engine has him at window 2")
        st, _ = sign_in(h, "1001", window=2)
        T.eq(st, 409, "王芳 still has a citizen at window 1: not at window 2 now")
        T.eq(h.get("/api/v1/session", token=a["token"])[0], 401, "李娜's console there ended")

        # nothing secret in the database, in the file or its WAL
        raw = b"".join(open(f, "rb").read() for f in glob.glob(h.db_path + "*"))
        for staff, pin in list(PINS.items()) + [("ctl", "pin-ctl-0000")]:
            T.check(pin.encode() not in raw, f"the PIN of {staff} is not in the database")
        for t_ in (b["token"], m["token"]):
            T.check(t_.encode() not in raw, "a session token is not in the database")
        with h.db() as db:
            hashes = [r[0] for r in db.execute("SELECT hash FROM staff_pins")]
        T.check(hashes and all(x.startswith("$argon2id$") for x in hashes),
                "PINs are Argon2id strings")
        T.check(PINS["1001"] not in h.read_log(), "no PIN in the log")


def test_restart_and_roster():
    with Hall(config()) as h:
        set_pins(h)
        st, c = sign_in(h, "1001", window=1)
        st2, m = sign_in(h, "9001")
        T.eq((st, st2), (200, 200), "signed in")
        h.stop()
        h.start()
        T.eq(h.get("/api/v1/session", token=c["token"])[0], 200, "clerk session after a restart")
        T.eq(h.get("/api/v1/admin/overview", token=m["token"])[0], 200,
             "manager session after a restart")
        h.kill()
        h.start()
        T.eq(h.get("/api/v1/session", token=c["token"])[0], 200, "and after SIGKILL")

        # 王芳 leaves the roster: her session ends, she cannot sign in, her PIN goes
        h.config["staff"] = [s for s in h.config["staff"] if s["id"] != "1001"]
        h.write_config()
        h.proc.send_signal(signal.SIGHUP)
        T.check(wait_for(lambda: h.get("/api/v1/session", token=c["token"])[0] == 401),
                "a removed staff member's session is refused")
        T.eq(sign_in(h, "1001", window=1)[0], 401, "a removed staff member cannot sign in")
        with h.db() as db:
            T.eq(db.execute("SELECT count(*) FROM staff_pins WHERE staff='1001'").fetchone()[0],
                 0, "the removed person's PIN is deleted")
            T.eq(db.execute("SELECT count(*) FROM sessions WHERE staff='1001'").fetchone()[0],
                 0, "and their sessions")
        T.eq(h.get("/api/v1/session", token=m["token"])[0], 200, "others go on")

        # a manager demoted to clerk loses the manager session
        for s in h.config["staff"]:
            if s["id"] == "9001":
                s["role"] = "clerk"
        h.write_config()
        h.proc.send_signal(signal.SIGHUP)
        T.check(wait_for(lambda: h.get("/api/v1/session", token=m["token"])[0] == 401),
                "a demoted manager's session ends")


def test_backoff():
    with Hall(config()) as h:
        set_pins(h)
        for i in range(6):
            T.eq(sign_in(h, "1002", "wrong-pin-%d" % i, window=2)[0], 401, f"wrong PIN {i + 1}")
        st, body = sign_in(h, "1002", window=2)
        T.eq(st, 429, "locked after 6 wrong PINs: even the right one waits")
        wait = body.get("retry_after_s", 0)
        T.check(1 <= wait <= 900, f"retry_after_s given: {wait}")
        T.eq(sign_in(h, "1001", window=1)[0], 200, "another staff id from the same address works")
        time.sleep(wait + 0.5)
        T.eq(sign_in(h, "1002", window=2)[0], 200, "after the wait the right PIN works")
        for i in range(6):
            sign_in(h, "1002", "wrong-again-%d" % i, window=2)
        st, body = sign_in(h, "1002", "wrong-again-x", window=2)
        T.eq(st, 429, "a success cleared the count, six more lock again")
        T.check("locked for a while" in h.read_log() or "backing off" in h.read_log(),
                "the back-off is logged")


def test_busy():
    """Wrong PINs for many staff ids at once: past 5 a second the hall answers 429 busy
    without hashing (the loop is not stalled), and the queue goes on answering."""
    cfg = config()
    cfg["staff"] += [{"id": str(2000 + i), "name": f"员工{i}"} for i in range(30)]
    with Hall(cfg) as h:
        seen = []
        for i in range(30):
            st, b = h.post("/api/v1/session", {"staff": str(2000 + i), "pin": "wrong-pin"})
            seen.append((st, b.get("error")))
        # under valgrind (HQ_TIME_SCALE) one hash may take longer than a second
        if TIME_SCALE == 1:
            T.check((429, "busy") in seen, f"a flood of wrong PINs meets 429 busy: {seen}")
        T.check(all(s in ((401, "auth"), (429, "busy")) for s in seen),
                f"each one 401 or 429 busy: {seen}")
        T.eq(h.issue("A")[0], 201, "the queue goes on")


def test_expiry():
    idle = max(2, int(2 * TIME_SCALE))
    with Hall(config(idle_s=idle)) as h:
        set_pins(h)
        st, s = sign_in(h, "9001")
        T.eq(st, 200, "signed in")
        st, s2 = sign_in(h, "1001", window=1)
        time.sleep(idle + 1.5)
        T.eq(h.get("/api/v1/session", token=s["token"])[0], 401, "idle past sessions.idle_s: over")
        T.eq(h.window(1, "pause", token=s2["token"])[0], 401, "an idle clerk session too")
        with h.db() as db:
            T.eq(db.execute("SELECT count(*) FROM sessions WHERE staff='9001'").fetchone()[0], 0,
                 "the expired session's row is gone")
        h.stop()
        h.start()
        T.eq(h.get("/api/v1/session", token=s2["token"])[0], 401,
             "an expired session stays expired after a restart")


def main():
    test_pins_and_roles()
    test_restart_and_roster()
    test_backoff()
    test_busy()
    test_expiry()
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
