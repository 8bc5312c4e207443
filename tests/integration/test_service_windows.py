"""What the kiosk reads of a service (GET /api/v1/status, services[]): a
service no window takes now has windows_open 0 and no estimate, so the kiosk
says 当前无窗口受理 and never 无需等待 (issue 14); a service closed now says
when its hours next begin (next_open, hall-local RFC 3339). Also the handling
time a hall starts from: one instant call/start/finish does not turn the
configured 300 s into 10 s."""
import datetime
import sys

from hallq import Failures, Hall

F = Failures("test_service_windows")

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def svc(h, code):
    for s in h.status()["services"]:
        if s["code"] == code:
            return s
    return {}


def main():
    h = Hall()
    # D: open only tomorrow (hall time, +08:00) 08:00-09:00; no window lists it
    tomorrow = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))) \
        + datetime.timedelta(days=1)
    h.config["services"].append(
        {"code": "D", "name": "公积金", "name_en": "Housing fund", "prefix": "D",
         "range": [1, 999], "digits": 3, "hours": {DAYS[tomorrow.weekday()]: ["08:00-09:00"]}})
    h.write_config()
    h.start()
    try:
        a = svc(h, "A")
        F.eq((a.get("waiting"), a.get("windows_open"), a.get("estimated_wait_s")), (0, 0, None),
             f"nobody logged in: A has no window and no estimate ({a})")
        F.check("next_open" in a and a["next_open"] is None, "A is open: no next opening")
        st, _ = h.issue("A")
        F.eq(st, 201, "A still issues (its hours are open)")
        F.eq(svc(h, "A").get("windows_open"), 0, "one waiting, still no window")

        st, _ = h.window(1, "login", {"staff": "1001"})
        F.eq(st, 200, "window 1 logs in")
        a = svc(h, "A")
        F.eq((a.get("windows_open"), a.get("estimated_wait_s")), (1, 300),
             f"window 1 serves A: an estimate from the configured 300 s ({a})")
        F.eq(svc(h, "B").get("windows_open"), 0, "B: window 1 does not serve it")

        d = svc(h, "D")
        want = tomorrow.strftime("%Y-%m-%d") + "T08:00:00+08:00"
        F.eq((d.get("open"), d.get("next_open")), (False, want),
             f"D is closed today and opens tomorrow 08:00 ({d})")

        # the issue's morning: one instant call/start/finish, then 9 waiting
        for path in ("call-next", "start", "finish"):
            st, body = h.window(1, path)
            F.eq(st, 200, f"window 1 {path} ({body})")
        for _ in range(9):
            h.issue("A")
        a = svc(h, "A")
        F.eq((a.get("handle_s"), a.get("waiting"), a.get("estimated_wait_s")),
             (300, 9, 9 * 300), f"an instant finish teaches nothing: 45 minutes ({a})")
    finally:
        F.eq(h.stop(), 0, "hallqd stops cleanly")
        if F.failed:
            print(h.read_log())
    return F.done()


if __name__ == "__main__":
    sys.exit(main())
