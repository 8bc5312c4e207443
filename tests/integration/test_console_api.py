"""The window console's own API against the real hallqd (issue 16, docs/API.md "Window
console"): GET /api/v1/windows/N/today for a clerk session of window N and a manager only;
the clerk's own figures (served, mean handling time, no-shows, ratings by level) that follow
the day's work and survive a restart; the window's waiting list per service in call order
(priority first) with transfers to the window; the parked list; a transfer to a window nobody
is signed in at refused with its reason, the ticket left where it was."""
import copy
import sys
import time

from hallq import BASE_CONFIG, CLERK, MANAGER, Failures, Hall

T = Failures("test_console_api")
PIN = "2468-console"


def config():
    c = copy.deepcopy(BASE_CONFIG)
    c["staff"] = [{"id": "1001", "name": "王芳"}, {"id": "1002", "name": "李娜"},
                  {"id": "9001", "name": "赵主任", "role": "manager"}]
    return c


def sign_in(h, staff, **extra):
    st, b = h.post("/api/v1/session", {"staff": staff, "pin": PIN, **extra})
    T.eq(st, 200, f"{staff} signs in")
    return b.get("token")


def main():
    with Hall(config()) as h:
        for s in ("1001", "1002", "9001"):
            T.eq(h.post(f"/api/v1/admin/staff/{s}/pin", {"pin": PIN}, token=MANAGER)[0], 200,
                 f"PIN of {s}")
        c1 = sign_in(h, "1001", window=1)
        c2 = sign_in(h, "1002", window=2)
        mgr = sign_in(h, "9001")

        # who may read it
        T.eq(h.get("/api/v1/windows/1/today")[0], 401, "public: no")
        T.eq(h.get("/api/v1/windows/1/today", token=c2)[0], 401, "a clerk of another window: no")
        T.eq(h.get("/api/v1/windows/1/today", token=CLERK)[0], 401, "a machine clerk token: no")
        T.eq(h.get("/api/v1/windows/9/today", token=mgr)[0], 404, "no such window: 404")
        st, t = h.get("/api/v1/windows/1/today", token=c1)
        T.eq(st, 200, "the clerk of window 1")
        T.eq(t["staff"], {"id": "1001", "name": "王芳"}, "the session's clerk")
        T.eq((t["served"], t["handle_avg_s"], t["no_shows"]), (0, None, 0), "nothing yet")
        T.eq(t["ratings"], {"count": 0, "average": None, "levels": [0, 0, 0, 0, 0]}, "no ratings")
        T.eq([g["service"] for g in t["waiting"]], ["A"], "window 1's services")
        T.eq(h.get("/api/v1/windows/1/today", token=mgr)[0], 200, "a manager session")
        T.eq(h.get("/api/v1/windows/1/today", token=MANAGER)[0], 200, "a manager token")

        # the queue in call order: a priority ticket first
        nums = [h.issue("A")[1]["ticket"]["number"] for _ in range(3)]
        st, b = h.post("/api/v1/tickets", {"service": "A", "priority": "disabled"}, token=CLERK)
        T.eq(st, 201, "a priority ticket")
        prio = b["ticket"]["number"]
        t = h.get("/api/v1/windows/1/today", token=c1)[1]
        T.eq(t["waiting"][0]["count"], 4, "four waiting")
        T.eq([x["number"] for x in t["waiting"][0]["tickets"]], [prio] + nums,
             "in call order, the priority ticket first")

        # a day's work: two served (one with a measured time), a no-show, a rating of 5 and 2
        T.eq(h.window(1, "call-next", token=c1)[0], 200, "call")
        time.sleep(0.1)
        T.eq(h.window(1, "start", token=c1)[0], 200, "start")
        time.sleep(1.2)
        T.eq(h.window(1, "finish", token=c1)[0], 200, "finish")
        T.eq(h.window(1, "rating", {"level": 5}, token=c1)[0], 200, "rated 5")
        T.eq(h.window(1, "call-next", token=c1)[0], 200, "call 2")
        T.eq(h.window(1, "finish", token=c1)[0], 200, "finish 2 straight from the call")
        T.eq(h.window(1, "rating", {"level": 2}, token=c1)[0], 200, "rated 2")
        T.eq(h.window(1, "call-next", token=c1)[0], 200, "call 3")
        T.eq(h.window(1, "no-show", token=c1)[0], 200, "no-show")
        # transfer to a window nobody is signed in at: refused, the ticket stays
        st, b = h.window(1, "call-next", token=c1)
        cur = b["window"]["current"]["number"]
        st, b = h.window(1, "transfer", {"window": 3}, token=c1)
        T.eq(st, 409, "a transfer to a closed window is refused")
        T.eq(b.get("reason"), "window_unstaffed", "named window_unstaffed")
        T.check("未开放" in b.get("message", "") and "not open" in b.get("message_en", ""),
                f"in both languages: {b}")
        st, w = h.get("/api/v1/windows/1", token=c1)
        T.eq(w["current"]["number"], cur, "the ticket stayed at window 1")
        # transfer to window 2 (signed in): it waits there, listed apart at window 2
        T.eq(h.window(1, "transfer", {"window": 2}, token=c1)[0], 200, "to an open window")
        t2 = h.get("/api/v1/windows/2/today", token=c2)[1]
        T.eq([x["number"] for g in t2["waiting"] for x in g["tickets"]].count(cur), 1,
             "window 2 lists the ticket sent to it once")
        t = h.get("/api/v1/windows/1/today", token=c1)[1]
        T.check(all(x["number"] != cur for g in t["waiting"] for x in g["tickets"]),
                "window 1 no longer lists it")
        # park
        h.issue("A")
        st, b = h.window(1, "call-next", token=c1)
        parked = b["window"]["current"]["number"]
        T.eq(h.window(1, "park", token=c1)[0], 200, "park")
        t = h.get("/api/v1/windows/1/today", token=c1)[1]
        T.eq([x["number"] for x in t["parked"]], [parked], "the parked list")
        T.eq(t["served"], 2, "served 2")
        T.check(t["handle_avg_s"] is not None and t["handle_avg_s"] >= 1,
                f"the mean over the started one: {t['handle_avg_s']}")
        T.eq(t["no_shows"], 1, "one no-show")
        T.eq(t["ratings"]["count"], 2, "two ratings")
        T.eq(t["ratings"]["levels"], [0, 1, 0, 0, 1], "by level")
        T.eq(t["ratings"]["average"], 3.5, "average")
        T.eq(h.status()["pages"]["recall_limit"], 2, "the recall limit in status pages")

        # a restart: the same figures and lists, the session still good
        h.stop()
        h.start()
        st, t3 = h.get("/api/v1/windows/1/today", token=c1)
        T.eq(st, 200, "the session survives the restart")
        T.eq((t3["served"], t3["no_shows"], t3["ratings"], [x["number"] for x in t3["parked"]]),
             (t["served"], t["no_shows"], t["ratings"], [x["number"] for x in t["parked"]]),
             "the same figures after a restart")
        # a manager sees the clerk now at the window
        T.eq(h.get("/api/v1/windows/1/today", token=mgr)[1]["served"], 2, "the manager's view")
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
