"""Reports over a period (issue 18) against the real hallqd: the route's
manager-only access and bad input, today's live figures after real window
commands, a test ticket and an approved absence excluded and shown, a past
day rolled up by the rebuild route, and the CSV and XLSX exports read back
(python3-openpyxl) with the same numbers as the JSON."""
import csv
import os
import datetime
import io
import sys
import time

try:
    import openpyxl
except ImportError:  # python3-openpyxl is Debian's: run under Debian's python3 when another is first
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and \
            os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

import subprocess
import tempfile

from hallq import CLERK, HALLQCTL, MANAGER, Failures, Hall

T = Failures("test_reports")
OFFSET = 8 * 3600


def today_local():
    return datetime.datetime.utcfromtimestamp(time.time() + OFFSET).date()


def serve(h, window, level):
    st, body = h.issue("A")
    T.eq(st, 201, "issue")
    num = body["ticket"]["number"]
    T.eq(h.window(window, "call", {"number": num})[0], 200, f"call {num}")
    T.eq(h.window(window, "start")[0], 200, "start")
    T.eq(h.window(window, "finish")[0], 200, "finish")
    T.eq(h.window(window, "rating", {"level": level})[0], 200, f"rating {level}")
    return body["ticket"]


def report(h, q):
    st, body = h.get("/api/v1/admin/reports?" + q, token=MANAGER)
    T.eq(st, 200, f"report {q}")
    return body


def row(body, key):
    for r in body["rows"]:
        if r["key"] == key:
            return r
    T.check(False, f"row {key} in {[r['key'] for r in body['rows']]}")
    return {}


def test_auth_and_input(h):
    for tok in (None, CLERK):
        st, _ = h.get("/api/v1/admin/reports", token=tok)
        T.eq(st, 401, f"reports with token {tok}")
    for q, what in [("by=floor", "unknown by"), ("from=2026-13-01", "bad date"),
                    ("from=2026-12-05&to=2026-12-01", "from after to"),
                    ("format=pdf", "unknown format"),
                    ("from=2000-01-01&to=2026-01-01", "over ten years")]:
        st, body = h.get("/api/v1/admin/reports?" + q, token=MANAGER)
        T.eq(st, 400, what)
        T.check(isinstance(body, dict) and body.get("message"), f"{what}: a message")
    for body, what in [({"kind": "holiday", "from": 1, "to": 2, "reason": "x"}, "bad kind"),
                       ({"kind": "absence", "from": 10, "to": 5, "reason": "x", "staff": "1"},
                        "to before from"),
                       ({"kind": "absence", "from": 1, "to": 5, "reason": "x"}, "absence without staff"),
                       ({"kind": "test", "from": 1, "to": 5, "reason": "x"}, "test without ticket")]:
        st, _ = h.post("/api/v1/admin/reports/exclusions", body, token=MANAGER)
        T.eq(st, 400, what)


def test_live(h):
    day = today_local().isoformat()
    T.eq(h.window(1, "login", {"staff": "1001"})[0], 200, "王芳 logs in at window 1")
    serve(h, 1, 5)
    serve(h, 1, 1)
    T.eq(h.window(1, "pause")[0], 200, "pause")
    T.eq(h.window(1, "resume")[0], 200, "resume")
    st, tb = h.issue("A")
    T.eq(st, 201, "a test ticket")
    body = report(h, f"from={day}&to={day}&by=clerk")
    T.eq(body["live_days"], 1, "today is live")
    c = row(body, "1001")
    T.eq(c["name"], "王芳", "clerk's name")
    T.eq(c["served"], 2, "served today")
    T.eq(c["ratings"]["count"], 2, "two ratings")
    T.eq(c["ratings"]["satisfaction"], 0.5, "满意率")
    T.eq(c["ratings"]["bad_open"], 1, "a 差评 awaiting follow-up")
    T.eq(c["ratings"]["coverage"], 1, "every finished ticket rated")
    T.check(c["attendance"]["signed_in_s"] >= 0, "signed-in time present")
    T.check(set(c["attendance"]["pause_by_reason"]) <= {"other"} or
            c["attendance"]["pause_by_reason"], "pause time by reason present")
    hall = report(h, f"from={day}")["rows"][0]
    T.eq(hall["arrivals"], 3, "three arrivals")
    T.eq(hall["excluded"]["test_tickets"], 0, "nothing excluded yet")

    st, r = h.post("/api/v1/admin/reports/exclusions",
                   {"kind": "test", "ticket": tb["ticket"]["number"], "from": day, "to": day, "reason": "打印机测试"},
                   token=MANAGER)
    T.eq(st, 200, "a test ticket marked")
    hall = report(h, f"from={day}")["rows"][0]
    T.eq(hall["arrivals"], 2, "the test ticket is not an arrival")
    T.eq(hall["excluded"]["test_tickets"], 1, "and the report says it left it out")

    st, r = h.post("/api/v1/admin/reports/exclusions",
                   {"kind": "absence", "staff": "1003", "from": day, "to": day,
                    "reason": "培训 training"}, token=MANAGER)
    T.eq(st, 200, "an approved absence recorded")
    st, lst = h.get(f"/api/v1/admin/reports/exclusions?from={day}", token=MANAGER)
    T.eq([e["kind"] for e in lst["exclusions"]], ["test", "absence"], "both listed")
    T.eq(lst["exclusions"][1]["created_by"] != "", True, "who recorded it")
    c3 = row(report(h, f"from={day}&by=clerk"), "1003")
    T.eq(c3["excluded"]["absence_s"], 86400, "a whole day's absence shown on the clerk")
    return day


def test_exports(h, day):
    body = report(h, f"from={day}&by=clerk")
    st, raw = h.get(f"/api/v1/admin/reports?from={day}&by=clerk&format=csv", token=MANAGER)
    T.eq(st, 200, "CSV")
    T.check(raw.startswith(b"\xef\xbb\xbf"), "CSV starts with a BOM")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    T.eq(rows[0][1], "名称 Name", "Chinese header")
    by = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    T.eq(by["1001"]["办结量 Served"], str(body_row(body, "1001")["served"]), "CSV served")

    st, raw = h.get(f"/api/v1/admin/reports?from={day}&by=clerk&format=xlsx", token=MANAGER)
    T.eq(st, 200, "XLSX")
    T.check(raw[:2] == b"PK", "an XLSX is a zip")
    wb = openpyxl.load_workbook(io.BytesIO(raw))
    T.eq(wb.sheetnames, ["汇总", "分时段", "暂停原因"], "one sheet per view")
    ws = wb["汇总"]
    hdr = [c.value for c in ws[1]]
    T.eq(hdr[3], "取号量 Arrivals", "Chinese headers")
    xrows = {r[0]: dict(zip(hdr, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    for key in ("1001", "1003"):
        j = body_row(body, key)
        x = xrows[key]
        T.eq(x["办结量 Served"], j["served"], f"{key} served read back")
        T.eq(x["评价数 Ratings"], j["ratings"]["count"], f"{key} ratings read back")
        T.eq(x["请假等(秒) Approved absence s"], j["excluded"]["absence_s"],
             f"{key} absence read back")
    T.eq(xrows["1001"]["满意率 Satisfaction"], 0.5, "满意率 read back")
    hours = list(wb["分时段"].iter_rows(min_row=2, values_only=True))
    T.eq(sum(v for v in hours[0][2:] if v), body_row(body, "1001")["arrivals"],
         "hourly arrivals read back")


def test_hallqctl(h, day):
    """hallqctl report --by clerk --xlsx FILE fetches the workbook from hallqd."""
    env = dict(os.environ, HALLQ_URL=f"http://127.0.0.1:{h.port}", HALLQ_TOKEN=MANAGER)
    out = os.path.join(tempfile.mkdtemp(prefix="hallq-report-"), "考核.xlsx")
    p = subprocess.run([HALLQCTL, "report", "--from", day, "--to", day, "--by", "clerk",
                        "--xlsx", out], env=env, capture_output=True, text=True, timeout=30)
    T.eq(p.returncode, 0, f"hallqctl report --xlsx ({p.stderr})")
    wb = openpyxl.load_workbook(out)
    names = [r[1] for r in wb["汇总"].iter_rows(min_row=2, values_only=True)]
    T.check("王芳" in names, f"the clerk in the fetched workbook ({names})")
    p = subprocess.run([HALLQCTL, "report", "--from", day, "--by", "clerk"], env=env,
                       capture_output=True, text=True, timeout=30)
    T.eq(p.returncode, 0, "hallqctl report as a table")
    T.check("王芳" in p.stdout, "the table names the clerk")
    p = subprocess.run([HALLQCTL, "report", "--by", "clerk"], env=env, capture_output=True,
                       text=True, timeout=30)
    T.eq(p.returncode, 2, "no --from: a usage error")
    p = subprocess.run([HALLQCTL, "--token", CLERK, "report", "--from", day], env=env,
                       capture_output=True, text=True, timeout=30)
    T.eq(p.returncode, 4, "a clerk's token is refused")


def body_row(body, key):
    return row(body, key)


def test_rollup(h):
    """A past day's raw rows, rolled up by the rebuild route, then read from the rollup."""
    past = today_local() - datetime.timedelta(days=3)
    dn = (past - datetime.date(1970, 1, 1)).days
    t0 = dn * 86400 - OFFSET + 9 * 3600
    with h.db() as db:
        for i, (called, fin) in enumerate([(300, 900), (1200, 1500)]):
            db.execute(
                "INSERT INTO tickets(id, uuid, day, service, orig_service, serial, number, label,"
                " priority, channel, status, recalls, requeues, flags, window, target_window,"
                " staff, issued_at, queued_at, called_at, served_at, finished_at)"
                " VALUES(?, ?, ?, 'A', 'A', ?, ?, ?, 'normal', 'kiosk', 'done', 0, 0, 0, 1, 0,"
                " '1002', ?, ?, ?, ?, ?)",
                ((dn << 20) | (900 + i), f"past-{i}", dn, 900 + i, 900 + i, f"A{900 + i}", t0,
                 t0, t0 + called, t0 + called, t0 + fin))
    st, r = h.post(f"/api/v1/admin/reports/rebuild?from={past}&to={past}", token=MANAGER)
    T.eq(st, 200, "rebuild")
    T.eq(r["rebuilt_days"], 1, "one day rolled up")
    hall = report(h, f"from={past}&to={past}")
    T.eq(hall["live_days"], 0, "a past day is read from its rollup")
    x = hall["rows"][0]
    T.eq(x["served"], 2, "rolled-up served")
    T.eq(x["wait"]["mean_s"], 750, "rolled-up mean wait")
    T.eq(x["wait"]["max_s"], 1200, "rolled-up max wait")
    T.eq(x["handle"]["mean_s"], 450, "rolled-up mean handling")
    with h.db() as db:
        n = db.execute("SELECT count(*) FROM fig_day WHERE day=?", (dn,)).fetchone()[0]
    T.check(n >= 3, f"rollup rows for hall, service, window, clerk ({n})")
    week = report(h, f"from={past}&to={today_local()}")
    T.eq(week["rows"][0]["served"], 4, "rollup + live over four days")


def main():
    with Hall() as h:
        test_auth_and_input(h)
        day = test_live(h)
        test_exports(h, day)
        test_hallqctl(h, day)
        test_rollup(h)
        T.check(h.alive(), "hallqd still running")
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
