"""The manager dashboard's API (/api/v1/admin/...) against the real hallqd:
manager token required, overview alarms (预警 from a long estimated wait, 空岗
from an idle clerk) and their SSE `alarm` event, the Erlang C staffing hint,
the 差评 follow-up state machine and its outbox record, day statistics
against tickets whose times we know, and the CSV exports' content and
quoting."""
import copy
import csv
import io
import json
import socket
import sys
import threading
import time
import uuid as uuidlib
from fractions import Fraction
from math import factorial

from hallq import BASE_CONFIG, CLERK, MANAGER, Failures, Hall, sse_reader, wait_for

T = Failures("test_admin_api")
OFFSET = 8 * 3600  # the test hall is on +08:00


def erlang_wait_s(c, lam, mu):
    """Expected wait (s) in M/M/c from the closed form, exact fractions."""
    a = Fraction(lam) / Fraction(mu)
    if a >= c:
        return None
    top = a ** c / factorial(c) * Fraction(c) / (c - a)
    pw = top / (sum(a ** k / factorial(k) for k in range(c)) + top)
    return pw / (c * Fraction(mu) - Fraction(lam)) * 3600


def needed_windows(lam, handle_s, target_s):
    mu = Fraction(3600, handle_s)
    for c in range(1, 100):
        w = erlang_wait_s(c, lam, mu)
        if w is not None and w <= target_s:
            return c
    return None


ADMIN_GETS = ["/api/v1/admin/overview", "/api/v1/admin/evaluations", "/api/v1/admin/stats",
              "/api/v1/admin/export/tickets.csv", "/api/v1/admin/export/evaluations.csv"]


def test_auth(h):
    for path in ADMIN_GETS:
        st, _ = h.get(path)
        T.eq(st, 401, f"{path} without a token")
        st, _ = h.get(path, token=CLERK)
        T.eq(st, 401, f"{path} with a clerk token")
        st, _ = h.get(path, token="x" * 21)
        T.eq(st, 401, f"{path} with a wrong token")
        st, _ = h.get(path, token=MANAGER)
        T.eq(st, 200, f"{path} with the manager token")
    fu = f"/api/v1/admin/evaluations/{uuidlib.uuid4()}/follow-up"
    st, _ = h.post(fu, {"state": "contacted", "note": "x"}, token=CLERK)
    T.eq(st, 401, "follow-up with a clerk token")
    st, _ = h.post(fu, {"state": "contacted", "note": "x"})
    T.eq(st, 401, "follow-up without a token")
    st, body = h.post("/api/v1/admin/login", {"token": MANAGER})
    T.eq((st, body.get("ok"), body.get("role")), (200, True, "manager"), "login with the manager token")
    st, body = h.post("/api/v1/admin/login", {"token": CLERK})
    T.eq(st, 401, "login with a clerk token")
    T.eq(body.get("error"), "auth", "login refusal is a JSON auth error")
    st, _ = h.post("/api/v1/admin/login", {"token": MANAGER[:-1]})
    T.eq(st, 401, "login with a token one character short")
    st, _ = h.post("/api/v1/admin/login", {"token": MANAGER + "x"})
    T.eq(st, 401, "login with a token one character long")
    st, _ = h.post("/api/v1/admin/login", {})
    T.eq(st, 400, "login without a token")
    st, _ = h.get("/api/v1/admin/nothing", token=MANAGER)
    T.eq(st, 404, "unknown admin path")
    st, _ = h.get("/api/v1/admin/stats?day=2026-02-30", token=MANAGER)
    T.eq(st, 400, "stats with an impossible day")
    st, _ = h.get("/api/v1/admin/export/tickets.csv?day=yesterday", token=MANAGER)
    T.eq(st, 400, "CSV with a malformed day")


def alarm_keys(ov):
    return {a["key"]: a for a in ov["alarms"]}


def test_alarms():
    cfg = copy.deepcopy(BASE_CONFIG)
    cfg["alarms"] = {"wait_s": 60, "idle_s": 2}
    cfg["services"][0]["handle_s"] = 3600  # one hour per citizen: estimates explode
    with Hall(cfg) as h:
        events, stop = [], threading.Event()
        th = threading.Thread(target=sse_reader, args=(h, events, stop), daemon=True)
        th.start()
        wait_for(lambda: any(e == "status" for e, _ in events))
        st, ov = h.get("/api/v1/admin/overview", token=MANAGER)
        T.eq(st, 200, "overview")
        T.eq(ov["alarms"], [], "a quiet hall has no alarms")
        T.eq(ov["limits"], {"wait_s": 60, "idle_s": 2}, "limits from the config")

        for _ in range(3):
            T.eq(h.issue("A")[0], 201, "issue A")
        T.eq(h.window(1, "login", {"staff": "1001"})[0], 200, "王芳 logs in at window 1")
        st, ov = h.get("/api/v1/admin/overview", token=MANAGER)
        al = alarm_keys(ov)
        T.check("wait:A" in al, f"预警 for A: 3 × 3600 s over 60 s ({list(al)})")
        if "wait:A" in al:
            T.eq(al["wait:A"]["kind"], "wait", "wait alarm kind")
            T.eq(al["wait:A"]["value"], 3 * 3600, "wait alarm value = the estimate")
            T.eq(al["wait:A"]["threshold"], 60, "wait alarm threshold")
            T.check("等候超时" in al["wait:A"]["message"], "wait alarm message in Chinese")
            T.check("long wait" in al["wait:A"]["message_en"], "wait alarm message in English")
        T.check("idle:1" not in al, "not 空岗 right after the login")
        q = {x["code"]: x for x in ov["queues"]}
        T.eq(q["A"]["waiting"], 3, "queue A waiting")
        T.eq(q["A"]["estimated_wait_s"], 3 * 3600, "queue A estimate")
        T.check(q["A"]["oldest_wait_s"] is not None and 0 <= q["A"]["oldest_wait_s"] < 10,
                "queue A oldest wait")
        T.eq(q["A"]["open_windows"], 1, "queue A open windows")
        T.eq(q["B"]["oldest_wait_s"], None, "queue B has nobody waiting")
        w = {x["number"]: x for x in ov["windows"]}
        T.eq(w[1]["state"], "idle", "window 1 idle")
        T.eq(w[1]["staff"], {"id": "1001", "name": "王芳"}, "window 1 clerk")
        T.check(isinstance(w[1]["time_in_state_s"], (int, float)) and w[1]["time_in_state_s"] >= 0,
                "window 1 time in state")
        T.eq(w[2]["state"], "closed", "window 2 closed")

        # staffing hint: 3 arrivals in the last hour, 3600 s handling, target 60 s
        sf = {x["service"]: x for x in ov["staffing"]}
        T.eq(sf["A"]["arrivals_last_hour"], 3, "staffing: arrivals")
        T.eq(sf["A"]["handle_s"], 3600, "staffing: handling time")
        T.eq(sf["A"]["target_wait_s"], 60, "staffing: target = alarms.wait_s")
        T.eq(sf["A"]["open_windows"], 1, "staffing: open windows")
        T.eq(sf["A"]["eligible_windows"], 3, "staffing: windows that serve A")
        T.eq(sf["A"]["needed_windows"], needed_windows(3, 3600, 60), "staffing: Erlang C windows")
        T.eq(sf["A"]["expected_wait_open_s"], None, "staffing: one window cannot keep up with a = 3")
        want = erlang_wait_s(sf["A"]["needed_windows"], 3, 1)
        T.eq(sf["A"]["expected_wait_needed_s"], round(float(want)), "staffing: expected wait")
        T.eq(sf["B"]["needed_windows"], 0, "staffing: nobody arrives for B")

        # 空岗 after idle_s without a call while people wait
        time.sleep(2.2)
        st, ov = h.get("/api/v1/admin/overview", token=MANAGER)
        al = alarm_keys(ov)
        T.check("idle:1" in al, f"空岗 at window 1 ({list(al)})")
        if "idle:1" in al:
            T.eq(al["idle:1"]["kind"], "idle", "idle alarm kind")
            T.check("王芳" in al["idle:1"]["message"] and "空岗" in al["idle:1"]["message"],
                    "idle alarm names the clerk")
        # the alarm timer publishes the change as an SSE alarm event
        T.check(wait_for(lambda: any(e == "alarm" and "idle:1" in d.get("raised", [])
                                     for e, d in events), 8),
                "SSE alarm event raises idle:1")
        ev = [d for e, d in events if e == "alarm"]
        if ev:
            keys = {a["key"] for a in ev[-1]["alarms"]}
            T.check({"wait:A", "idle:1"} <= keys, f"SSE alarm carries the whole list ({keys})")
        n_alarm = len(ev)
        # a call ends 空岗; the next evaluation publishes the clearing
        T.eq(h.window(1, "call-next")[0], 200, "call next")
        st, ov = h.get("/api/v1/admin/overview", token=MANAGER)
        T.check("idle:1" not in alarm_keys(ov), "no 空岗 while calling")
        T.check(wait_for(lambda: any(e == "alarm" and "idle:1" in d.get("cleared", [])
                                     for e, d in events), 8),
                "SSE alarm event clears idle:1")
        # nothing changes: no new alarm event (published only on change)
        count = len([1 for e, _ in events if e == "alarm"])
        time.sleep(5.5)
        T.eq(len([1 for e, _ in events if e == "alarm"]), count, "no alarm event without a change")
        T.check(count > n_alarm, "the clearing was a new event")
        stop.set()
        th.join(2)


def rate(h, window, level):
    """Issue, call, start, finish and rate one A ticket at `window`."""
    st, body = h.issue("A")
    T.eq(st, 201, "issue for rating")
    num = body["ticket"]["number"]
    T.eq(h.window(window, "call", {"number": num})[0], 200, f"call {num}")
    T.eq(h.window(window, "start")[0], 200, "start")
    T.eq(h.window(window, "finish")[0], 200, "finish")
    T.eq(h.window(window, "rating", {"level": level})[0], 200, f"rating {level}")
    return num


def follow(h, u, state, note, token=MANAGER):
    return h.post(f"/api/v1/admin/evaluations/{u}/follow-up", {"state": state, "note": note},
                  token=token)


def test_follow_up(h):
    T.eq(h.window(2, "login", {"staff": "1002"})[0], 200, "李娜 logs in at window 2")
    bad_num = rate(h, 2, 1)
    good_num = rate(h, 2, 5)
    rate(h, 2, 2)
    st, body = h.get("/api/v1/admin/evaluations", token=MANAGER)
    T.eq(len(body["evaluations"]), 3, "three evaluations today")
    st, body = h.get("/api/v1/admin/evaluations?bad=1", token=MANAGER)
    evs = {e["ticket"]: e for e in body["evaluations"]}
    T.eq(sorted(e["level"] for e in evs.values()), [1, 2], "bad=1 lists levels 1 and 2 only")
    T.check(good_num not in evs, "the 5 is not a 差评")
    ev = evs.get(bad_num)
    if not T.check(ev is not None, "the level-1 rating is listed"):
        return
    T.eq(ev["staff"], {"id": "1002", "name": "李娜"}, "evaluation staff id and name")
    T.eq(ev["window"], 2, "evaluation window")
    T.eq(ev["service"], "A", "evaluation service")
    T.eq(ev["follow_up"]["state"], "open", "a new 差评 is open")
    T.eq(ev["follow_up"]["overdue"], False, "not overdue yet")
    T.eq(ev["follow_up"]["next"], "contacted", "next step")
    u = ev["uuid"]
    with h.db() as db:
        due, at = db.execute("SELECT follow_up_due, at FROM evaluations WHERE uuid=?", (u,)).fetchone()
    # 15 working days (evaluation.rectify_workdays; no hall.calendar: Monday to Friday) after
    # the local day of the rating, due at the end of that day
    day = (at + OFFSET) // 86400
    left = 15
    while left:
        day += 1
        if (day + 3) % 7 < 5:  # 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays
            left -= 1
    T.eq(due, (day + 1) * 86400 - OFFSET, "due at the end of the 15th working day")

    # validation
    T.eq(follow(h, u, "done", "x")[0], 400, "unknown state")
    T.eq(follow(h, u, "open", "x")[0], 400, "back to open is no step")
    T.eq(follow(h, u, "rectified", "整改")[0], 409, "skipping contacted")
    T.eq(follow(h, u, "closed", "办结")[0], 409, "skipping to closed")
    T.eq(h.post(f"/api/v1/admin/evaluations/{u}/follow-up", {"state": "contacted"},
                token=MANAGER)[0], 400, "note missing")
    T.eq(follow(h, u, "contacted", " \n ")[0], 400, "blank note")
    T.eq(follow(h, u, "contacted", "回" * 501)[0], 400, "note over 500 characters")
    T.eq(follow(h, u, "contacted", 42)[0], 400, "note not a string")
    T.eq(follow(h, "not-a-uuid", "contacted", "x")[0], 404, "malformed uuid")
    T.eq(follow(h, str(uuidlib.uuid4()), "contacted", "x")[0], 404, "unknown evaluation")
    st, allv = h.get("/api/v1/admin/evaluations", token=MANAGER)
    good_u = [e["uuid"] for e in allv["evaluations"] if e["level"] == 5][0]
    T.eq(follow(h, good_u, "contacted", "x")[0], 409, "a good rating has no follow-up")
    T.eq(h.get(f"/api/v1/admin/evaluations/{u}/follow-up", token=MANAGER)[0], 400,
         "follow-up is a POST")
    with h.db() as db:
        T.eq(db.execute("SELECT follow_up_state FROM evaluations WHERE uuid=?", (u,)).fetchone()[0],
             "open", "refused steps changed nothing")
        seq0 = db.execute("SELECT max(seq) FROM outbox").fetchone()[0]

    note = '已电话回访, 群众说 "窗口态度" 已改进\n第二行'
    events, stop = [], threading.Event()
    th = threading.Thread(target=sse_reader, args=(h, events, stop), daemon=True)
    th.start()
    wait_for(lambda: any(e == "status" for e, _ in events))
    st, body = follow(h, u, "contacted", note)
    wait_for(lambda: any(e == "follow_up" for e, _ in events), timeout=5)
    stop.set()
    th.join(2)
    fu = [d for e, d in events if e == "follow_up"]
    T.eq(len(fu), 1, "one follow_up event on the public stream")
    if fu:
        T.eq((fu[0]["evaluation"], fu[0]["state"]), (u, "contacted"), "follow_up event says what")
        T.check("note" not in fu[0] and "第二行" not in json.dumps(fu[0], ensure_ascii=False),
                "the manager's note stays off the public event stream")
    T.eq(st, 200, "open → contacted")
    T.eq(body["evaluation"]["follow_up"]["state"], "contacted", "answer shows the new state")
    T.eq(body["evaluation"]["follow_up"]["note"], note, "answer shows the note")
    with h.db() as db:
        row = db.execute("SELECT follow_up_state, follow_up_note, follow_up_at FROM evaluations "
                         "WHERE uuid=?", (u,)).fetchone()
        T.eq(row[:2], ("contacted", note), "row updated")
        T.check(row[2] and abs(row[2] - time.time()) < 30, "follow_up_at set")
        out = db.execute("SELECT seq, type, data FROM outbox WHERE seq>?", (seq0,)).fetchall()
        T.eq(len(out), 1, "exactly one outbox record for the step")
        if out:
            T.eq(out[0][1], "event", "outbox record type")
            d = json.loads(out[0][2])
            T.eq((d["kind"], d["evaluation"], d["state"], d["previous"], d["note"]),
                 ("follow_up", u, "contacted", "open", note), "outbox record content")
            T.eq((d["window"], d["staff"], d["number"]), (2, "1002", bad_num), "outbox record ids")
        evr = db.execute("SELECT kind, label FROM events WHERE kind='follow_up'").fetchall()
        T.eq(evr, [("follow_up", bad_num)], "the event log keeps the step")
    T.eq(follow(h, u, "contacted", "again")[0], 409, "contacted twice")
    T.eq(follow(h, u, "rectified", "=HYPERLINK(\"x\")")[0], 200, "contacted → rectified")
    st, body = h.get("/api/v1/admin/evaluations?pending=1", token=MANAGER)
    T.check(u in [e["uuid"] for e in body["evaluations"]], "rectified is still pending")
    T.eq(follow(h, u, "closed", "已办结")[0], 200, "rectified → closed")
    T.eq(follow(h, u, "closed", "已办结")[0], 409, "closed is final")
    with h.db() as db:
        n = db.execute("SELECT count(*) FROM outbox WHERE seq>? AND type='event' AND "
                       "json_extract(data,'$.kind')='follow_up'", (seq0,)).fetchone()[0]
    T.eq(n, 3, "three steps, three outbox records")
    st, body = h.get("/api/v1/admin/evaluations?pending=1", token=MANAGER)
    pend = [e["uuid"] for e in body["evaluations"]]
    T.check(u not in pend, "closed leaves the pending list")
    T.eq(len(pend), 1, "the level-2 rating is still pending")

    # overdue: the other 差评's due date passes
    other = pend[0] if pend else None
    if other:
        with h.db() as db:
            db.execute("UPDATE evaluations SET follow_up_due=? WHERE uuid=?",
                       (int(time.time()) - 60, other))
        st, body = h.get("/api/v1/admin/evaluations?pending=1", token=MANAGER)
        T.eq(body["evaluations"][0]["follow_up"]["overdue"], True, "past due and open: overdue")
    return u, note


PAST = "2020-01-15"


def day_number(ymd):
    y, m, d = map(int, ymd.split("-"))
    import datetime
    return (datetime.date(y, m, d) - datetime.date(1970, 1, 1)).days


def local_ts(ymd, hh, mm, ss=0):
    return day_number(ymd) * 86400 - OFFSET + hh * 3600 + mm * 60 + ss


def seed_past_day(h):
    """A finished day with known times, written as hallqd writes rows."""
    day = day_number(PAST)
    rows = [
        # label, status, window, staff, issued (h, m), wait s, handle s, name_masked, id_hash
        ("A001", "done", 1, "1001", (8, 30), 120, 600, None, None),
        ("A002", "done", 1, "1001", (8, 45), 400, 300, "王*", "deadbeefdeadbeef"),
        ("A003", "done", 3, "1003", (9, 5), 1500, 900, None, None),
        ("A004", "no_show", 3, "1003", (9, 10), 2000, None, None, None),
        ("A005", "done", 1, "1001", (14, 0), 4000, 1200, None, None),
        ("A006", "cancelled", 0, None, (14, 20), None, None, None, None),
    ]
    with h.db() as db:
        for i, (label, status, win, staff, (hh, mm), wait, handle, name, idh) in enumerate(rows):
            issued = local_ts(PAST, hh, mm)
            called = issued + wait if wait is not None else None
            served = called + 30 if handle is not None else None
            finished = served + handle if handle is not None else (called + 60 if called else issued + 600)
            db.execute(
                "INSERT INTO tickets(uuid, day, service, orig_service, serial, number, label, priority,"
                " channel, status, recalls, requeues, flags, window, target_window, staff, issued_at,"
                " queued_at, called_at, served_at, finished_at, id_hash, name_masked)"
                " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (str(uuidlib.uuid4()), day, "A", "A", i + 1, i + 1, label, "normal", "kiosk", status,
                 0, 0, 1 if idh else 0, win, 0, staff, issued, issued, called, served, finished, idh,
                 name))
        evals = [("A001", 1, "1001", 5), ("A002", 1, "1001", 4), ("A005", 1, "1001", 2),
                 ("A003", 3, "1003", 3)]
        for label, win, staff, level in evals:
            db.execute(
                "INSERT INTO evaluations(uuid, ticket, label, day, service, window, staff, level,"
                " channel, reasons, at, follow_up_state, follow_up_due) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (str(uuidlib.uuid4()), str(uuidlib.uuid4()), label, day, "A", win, staff, level, "pad",
                 5 if level <= 2 else 0, local_ts(PAST, 16, 0), "open" if level <= 2 else "none",
                 local_ts(PAST, 16, 0) + 15 * 86400 if level <= 2 else None))


def test_stats(h):
    seed_past_day(h)
    st, s = h.get(f"/api/v1/admin/stats?day={PAST}", token=MANAGER)
    T.eq(st, 200, "stats of the past day")
    T.eq(s["day"], PAST, "stats day")
    want_hours = [0] * 24
    want_hours[8], want_hours[9], want_hours[14] = 2, 2, 2
    T.eq(s["arrivals_per_hour"], want_hours, "arrivals per local hour")
    # waits 120, 400, 1500, 2000, 4000 s → <5, 5-10, 20-30, 30-60, >60
    T.eq([b["count"] for b in s["wait_distribution"]], [1, 1, 0, 1, 1, 1], "waiting-time buckets")
    T.eq([b["minutes"] for b in s["wait_distribution"]], ["<5", "5-10", "10-20", "20-30", "30-60", ">60"],
         "bucket labels")
    T.eq(s["tickets"]["issued"], 6, "issued")
    T.eq(s["tickets"]["called"], 5, "called")
    T.eq(s["tickets"]["by_status"]["done"], 4, "done")
    T.eq(s["tickets"]["by_status"]["no_show"], 1, "no-show")
    T.eq(s["tickets"]["by_status"]["cancelled"], 1, "cancelled")
    T.eq(s["tickets"]["average_wait_s"], round((120 + 400 + 1500 + 2000 + 4000) / 5), "average wait")
    T.eq(s["tickets"]["max_wait_s"], 4000, "max wait")
    pw = {x["window"]: x for x in s["ratings"]["per_window"]}
    T.eq(pw[1]["levels"], {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}, "window 1 levels")
    T.eq(pw[1]["count"], 3, "window 1 ratings")
    T.eq(pw[1]["average"], round((5 + 4 + 2) / 3, 2), "window 1 average")
    T.eq(pw[1]["satisfaction"], round(2 / 3, 2), "window 1 满意率")
    T.eq(pw[3]["satisfaction"], 0, "window 3 满意率 (a 3 is not 满意)")
    pc = {x["staff"]["id"]: x for x in s["ratings"]["per_clerk"]}
    T.eq(pc["1001"]["staff"]["name"], "王芳", "clerk name from the roster")
    T.eq(pc["1001"]["bad"], 1, "王芳's 差评")
    T.eq(s["ratings"]["total"]["count"], 4, "ratings in all")
    T.eq(s["ratings"]["total"]["average"], round((5 + 4 + 2 + 3) / 4, 2), "average rating")
    cl = {x["staff"]["id"]: x for x in s["clerks"]}
    T.eq(cl["1001"]["served"], 3, "王芳 served")
    T.eq(cl["1001"]["average_handle_s"], round((600 + 300 + 1200) / 3), "王芳 handling time")
    T.eq(cl["1003"]["served"], 1, "张伟 served")
    T.eq(cl["1003"]["no_show"], 1, "张伟 no-shows")
    T.eq(cl["1003"]["average_handle_s"], 900, "张伟 handling time")
    T.check("deadbeef" not in json.dumps(s), "no ID hash in stats")

    # today: what this test issued through the API
    st, today = h.get("/api/v1/admin/stats", token=MANAGER)
    with h.db() as db:
        n, done = db.execute("SELECT count(*), sum(status='done') FROM tickets WHERE day=(SELECT "
                             "max(day) FROM tickets)").fetchone()
    T.eq(today["tickets"]["issued"], n, "today's issued = rows of today")
    T.eq(today["tickets"]["by_status"]["done"], done, "today's done")
    T.eq(sum(today["arrivals_per_hour"]), n, "today's arrivals add up")
    T.eq(sum(b["count"] for b in today["wait_distribution"]), today["tickets"]["called"],
         "every called ticket is in one bucket")


def parse_csv(raw):
    T.check(raw.startswith(b"\xef\xbb\xbf"), "CSV starts with the UTF-8 BOM")
    text = raw[3:].decode("utf-8")
    T.check("\r\n" in text, "CSV lines end in CRLF")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv(h, fu_uuid, fu_note):
    st, raw = h.get(f"/api/v1/admin/export/tickets.csv?day={PAST}", token=MANAGER)
    T.eq(st, 200, "tickets.csv")
    rows = parse_csv(raw)
    head = rows[0]
    T.eq(head[1], "号码 Number", "tickets.csv header: Chinese first")
    T.eq(len(rows), 7, "tickets.csv: header + 6 tickets")
    by = {r[1]: dict(zip(head, r)) for r in rows[1:]}
    a2 = by["A002"]
    T.eq(a2["持证人 Card holder"], "王*", "masked name kept")
    T.eq(a2["状态 Status"], "已办结", "status in Chinese")
    T.eq(a2["取号时间 Issued"], f"{PAST} 08:45:00", "local issue time")
    T.eq(a2["等候秒数 Wait s"], "400", "wait seconds")
    T.eq(a2["办理秒数 Handling s"], "300", "handling seconds")
    T.eq(a2["姓名 Clerk"], "王芳", "clerk name")
    T.eq(by["A006"]["窗口 Window"], "", "a cancelled ticket has no window")
    T.check(b"deadbeef" not in raw, "no ID hash in tickets.csv")
    T.check(all(len(r) == len(head) for r in rows), "every row has every column")

    st, raw = h.get("/api/v1/admin/export/evaluations.csv", token=MANAGER)
    T.eq(st, 200, "evaluations.csv")
    rows = parse_csv(raw)
    head = rows[0]
    by = {r[-1]: dict(zip(head, r)) for r in rows[1:]}
    T.eq(len(rows), 4, "evaluations.csv: header + 3 of today")
    e = by.get(fu_uuid)
    if T.check(e is not None, "the followed-up evaluation is in the CSV"):
        T.eq(e["回访记录 Note"], "已办结", "the latest note")
        T.eq(e["回访状态 Follow-up"], "已办结", "follow-up state in Chinese")
        T.eq(e["等级 Level"], "1", "level")
        T.eq(e["评价 Rating"], "非常不满意", "level in words")
    # quoting: commas, quotes, a line break and a formula survive a round trip
    with h.db() as db:
        db.execute("UPDATE evaluations SET follow_up_note=? WHERE uuid=?", (fu_note, fu_uuid))
    st, raw = h.get("/api/v1/admin/export/evaluations.csv", token=MANAGER)
    rows = parse_csv(raw)
    by = {r[-1]: dict(zip(rows[0], r)) for r in rows[1:]}
    T.eq(by[fu_uuid]["回访记录 Note"], fu_note, "a note with comma, quotes and newline round-trips")
    T.check('"已电话回访, 群众说 ""窗口态度"" 已改进\n第二行"'.encode() in raw, "RFC 4180 quoting on the wire")
    with h.db() as db:
        db.execute("UPDATE evaluations SET follow_up_note=? WHERE uuid=?", ("=1+2", fu_uuid))
    st, raw = h.get("/api/v1/admin/export/evaluations.csv", token=MANAGER)
    rows = parse_csv(raw)
    by = {r[-1]: dict(zip(rows[0], r)) for r in rows[1:]}
    T.eq(by[fu_uuid]["回访记录 Note"], "'=1+2", "a formula stays text")
    st, raw = h.get(f"/api/v1/admin/export/evaluations.csv?day={PAST}", token=MANAGER)
    T.eq(len(parse_csv(raw)), 5, "evaluations.csv of the past day: header + 4")


def main():
    with Hall() as h:
        test_auth(h)
        fu_uuid, fu_note = test_follow_up(h)
        test_stats(h)
        test_csv(h, fu_uuid, fu_note)
        T.check(h.alive(), "hallqd still running")
    test_alarms()
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
