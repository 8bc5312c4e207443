"""test_rating_days.py — the QR rating page stays open across business days (issue 17:
"open for a configured time, hours or days, apart from the pads' queue.rating_timeout_s").

The engine holds one business day; a ticket finished on an earlier day is rated from the
store (docs/DESIGN.md "QR rating across days"). The day is moved as test_clock.py moves it:
hallqd stopped, the rows of the tickets shifted back in the database, hallqd started again.

- ticket 1, two cases bound, finished "yesterday" (26 h ago, evaluation.qr_open_h 72): its
  QR page is open; a rating of 2 gives two records (one per case, channel 二维码, follow-up
  due) and rows of yesterday's business day; a second rating is 已评价, also after a restart;
- ticket 2 finished 4 days ago: the page says closed (open false, open_until in the past)
  and a rating is refused 409 rating_closed with the period in the message (both languages);
- an unknown uuid: 404 no_ticket.
"""
import copy
import json
import sys
import uuid as uuidlib

import hallq

F = hallq.Failures("test_rating_days")
DAY = 86400


def outbox_evals(h):
    with h.db() as db:
        return [json.loads(r[0]) for r in db.execute(
            "SELECT data FROM outbox WHERE type='evaluation' ORDER BY seq")]


def finish_one(h, cases=None):
    st, t = h.issue("A")
    F.eq(st, 201, "issue A")
    tu = t["ticket"]["uuid"] if "ticket" in t else t["uuid"]
    F.eq(h.window(3, "call-next")[0], 200, "call at window 3")
    if cases:
        F.eq(h.window(3, "start")[0], 200, "start at window 3")
        st, b = h.window(3, "cases", {"cases": cases})
        F.eq(st, 200, f"cases bound: {b}")
    F.eq(h.window(3, "finish")[0], 200, "finish at window 3")
    return tu


def move_back(h, tu, seconds):
    """Ticket tu as if finished `seconds` earlier, on the business day that was then."""
    days = (seconds + DAY - 1) // DAY
    with h.db() as db:
        db.execute("UPDATE tickets SET day=day-?1, issued_at=issued_at-?2, queued_at=queued_at-?2,"
                   " called_at=called_at-?2, served_at=served_at-?2, finished_at=finished_at-?2"
                   " WHERE uuid=?3", (days, seconds, tu))
        db.execute("UPDATE windows SET rating_ticket=NULL, rating_deadline=0, current=NULL")
        day = db.execute("SELECT day FROM tickets WHERE uuid=?", (tu,)).fetchone()[0]
    return day


def main():
    cfg = copy.deepcopy(hallq.BASE_CONFIG)
    cfg["evaluation"] = {"qr_open_h": 72}
    for i, s in enumerate(cfg["services"]):
        s["task_code"] = "11330000MB0000000X40001110000%02d" % i
    h = hallq.Hall(cfg)
    h.start()
    try:
        F.eq(h.window(3, "login", {"staff": "1003"})[0], 200, "login at window 3")
        cases = [{"case_no": "330100-2026-000555", "item_code": "330000-001-XK-01",
                  "item_name": "城乡居民养老保险参保登记"},
                 {"case_no": "330100-2026-000556", "item_code": "330000-001-XK-07",
                  "item_name": "社会保障卡申领"}]
        t1 = finish_one(h, cases)
        t2 = finish_one(h)
        st, b = h.get(f"/api/v1/rate/{t1}")
        today = None
        with h.db() as db:
            today = db.execute("SELECT day FROM tickets WHERE uuid=?", (t1,)).fetchone()[0]
        h.stop()
        y = move_back(h, t1, 26 * 3600)
        move_back(h, t2, 4 * DAY)
        F.check(y < today, f"ticket 1 now on an earlier business day ({y} < {today})")
        h.start()

        # ---- yesterday's ticket: open, rated once, one record per case
        st, b = h.get(f"/api/v1/rate/{t1}")
        F.eq((st, b.get("finished"), b.get("rated"), b.get("open")), (200, True, False, True),
             f"yesterday's ticket: the QR page is open: {b}")
        F.eq([c["case_no"] for c in b.get("cases", [])], [c["case_no"] for c in cases],
             "its cases are shown")
        before = len(outbox_evals(h))
        st, b = h.post(f"/api/v1/rate/{t1}", {"level": 2, "reasons": [1, 7],
                                               "indicators": {"attitude": 1}})
        F.eq(st, 200, f"yesterday's ticket rated on its QR page: {b}")
        recs = outbox_evals(h)[before:]
        F.eq(len(recs), 2, "one record per case")
        F.eq(sorted(r["case_no"] for r in recs), [c["case_no"] for c in cases], "both cases")
        F.eq({(r["ticket_uuid"], r["channel"], r["level"], r["window"], r["version"])
              for r in recs}, {(t1, "二维码", 2, 3, 2)}, "the QR records of the ticket")
        F.eq(recs[0]["uuid"], b.get("evaluation"), "the answer names the first evaluation")
        F.eq(recs[0]["reasons"], [1, 7], "reasons kept")
        F.eq(recs[0]["indicators"], {"overall": 2, "attitude": 1}, "indicators kept")
        F.check(all(r.get("follow_up_due") and r.get("callback_due") for r in recs),
                "a bad rating opens its follow-up with due dates")
        with h.db() as db:
            rows = db.execute("SELECT day, channel, level, follow_up_state FROM evaluations "
                              "WHERE ticket=?", (t1,)).fetchall()
        F.eq(sorted(rows), [(y, "qr", 2, "open")] * 2, "rows of yesterday's business day")
        st, b = h.post(f"/api/v1/rate/{t1}", {"level": 5})
        F.eq((st, b.get("reason"), b.get("message")), (409, "rated", "已评价"), "again: 已评价")
        st, b = h.get(f"/api/v1/rate/{t1}")
        F.eq((b.get("rated"), b.get("open")), (True, False), "the page says rated")
        h.stop()
        h.start()
        st, b = h.post(f"/api/v1/rate/{t1}", {"level": 5})
        F.eq((st, b.get("reason")), (409, "rated"), "已评价 after a restart too")
        F.eq(len(outbox_evals(h)), before + 2, "no third record")

        # ---- four days ago: closed, with a clear message
        st, b = h.get(f"/api/v1/rate/{t2}")
        F.eq((st, b.get("finished"), b.get("rated"), b.get("open")), (200, True, False, False),
             f"four days ago: the page says closed: {b}")
        F.check(bool(b.get("open_until")), "and until when it was open")
        st, b = h.post(f"/api/v1/rate/{t2}", {"level": 4})
        F.eq((st, b.get("reason")), (409, "rating_closed"), f"refused after the period: {b}")
        F.check("评价期限已过" in b.get("message", "") and "72" in b.get("message", ""),
                f"the message says the period: {b.get('message')}")
        F.check("72 hours" in b.get("message_en", ""), f"in English too: {b.get('message_en')}")
        F.eq(len(outbox_evals(h)), before + 2, "nothing recorded for it")

        st, b = h.post(f"/api/v1/rate/{uuidlib.uuid4()}", {"level": 4})
        F.eq((st, b.get("reason")), (404, "no_ticket"), "an unknown ticket")
        F.check(h.alive(), "hallqd still runs")
    finally:
        h.stop()
    return F.done()


if __name__ == "__main__":
    sys.exit(main())
