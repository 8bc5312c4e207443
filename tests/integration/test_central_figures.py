#!/usr/bin/env python3
"""The period figures of the reports issue across halls on hallq-central (issue 19), on
SQLite or (HQ_CENTRAL_STORE=pg) PostgreSQL.

Three real hallqd boxes (two halls of 广州市, one of 深圳市) serve, rate, pause and no-show
through their own routes and sync their records to hallq-central. For the same period, what
hallq-central computes from those records (firmware/figures.c compiled into it, fed from its
store) must equal what each box's own report route answers, by hall, service, window and
clerk; a city manager sees the figures of the city's halls with the region's total and never
another city's hall; the CSV carries the same numbers.
"""
import copy
import csv
import datetime
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import closing

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_central as tc  # noqa: E402
from hallq import BASE_CONFIG, MANAGER, Failures, Hall, wait_for  # noqa: E402

T = Failures("test_central_figures")
OFFSET = 8 * 3600
HALLS = [("GZ-TH", "广东省/广州市/天河区"), ("GZ-YX", "广东省/广州市/越秀区"),
         ("SZ-NS", "广东省/深圳市/南山区")]


def admin(c, *args, stdin=None):
    r = subprocess.run([tc.CENTRAL, *args, *c.store], input=stdin, capture_output=True,
                       text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def today_local():
    return datetime.datetime.utcfromtimestamp(time.time() + OFFSET).date()


def serve(h, window, level, service="A"):
    st, body = h.issue(service)
    T.eq(st, 201, "issue")
    num = body["ticket"]["number"]
    T.eq(h.window(window, "call", {"number": num})[0], 200, f"call {num}")
    T.eq(h.window(window, "start")[0], 200, "start")
    T.eq(h.window(window, "finish")[0], 200, "finish")
    if level:
        T.eq(h.window(window, "rating", {"level": level})[0], 200, f"rating {level}")


def no_show(h, window):
    st, body = h.issue("A")
    num = body["ticket"]["number"]
    T.eq(h.window(window, "call", {"number": num})[0], 200, f"call {num}")
    T.eq(h.window(window, "recall")[0], 200, "recall")
    st, b = h.window(window, "no-show")
    T.eq(st, 200, f"no-show {num}: {b}")


def work(h, k):
    """A different day in each hall: k picks how much."""
    T.eq(h.window(1, "login", {"staff": "1001"})[0], 200, "王芳 logs in at window 1")
    T.eq(h.window(2, "login", {"staff": "1002"})[0], 200, "李娜 logs in at window 2")
    for i in range(2 + k):
        serve(h, 1, [5, 4, 1, 5, 2][i % 5])
    serve(h, 2, 3, "B")
    serve(h, 2, 0)  # not rated: coverage below 1
    T.eq(h.window(1, "pause")[0], 200, "pause")
    T.eq(h.window(1, "resume")[0], 200, "resume")
    if k:
        no_show(h, 2)
        # 差评 follow-up: closed in one hall, only contacted in the other (still open)
        st, body = h.get("/api/v1/admin/evaluations?bad=1", token=MANAGER)
        T.eq((st, len(body.get("evaluations", []))), (200, 1), "one 差评")
        u = body["evaluations"][0]["uuid"]
        for state in (["contacted", "rectified", "closed"] if k == 1 else ["contacted"]):
            st, b = h.post(f"/api/v1/admin/evaluations/{u}/follow-up",
                           {"state": state, "note": "电话已回访"}, token=MANAGER)
            T.eq(st, 200, f"follow-up {state}: {b}")
    for w in (1, 2):
        T.eq(h.window(w, "logout")[0], 200, f"logout {w}")


def box_report(h, q):
    st, body = h.get("/api/v1/admin/reports?" + q, token=MANAGER)
    T.eq(st, 200, f"box report {q}")
    return body


def central_get(c, path, session):
    return tc.request(c.port, "GET", path, token=session)


def same(a, b, what):
    """Equal figures, whatever the order of keys; says where they part."""
    if a == b:
        T.check(True, what)
        return
    diffs = []

    def walk(x, y, path):
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                walk(x.get(k), y.get(k), f"{path}.{k}")
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (p, q) in enumerate(zip(x, y)):
                walk(p, q, f"{path}[{i}]")
        elif x != y:
            diffs.append(f"{path}: box {x!r} central {y!r}")

    walk(a, b, "")
    T.check(False, f"{what}: " + "; ".join(diffs[:8]))


def login(c, who):
    st, body = tc.request(c.port, "POST", "/v1/manager/login",
                          json.dumps({"login": who, "password": f"pass-{who}-123"}).encode())
    T.eq(st, 200, f"{who} signs in")
    return body.get("session")


def main():
    tmp = tempfile.mkdtemp(prefix="hallq-central-fig-")
    c = tc.Central(tmp, "--provisioned-only")
    boxes = {}
    try:
        toks = {}
        for hall, region in HALLS:
            rc, out, err = admin(c, "hall", "add", hall, "--region", region, "--name", hall + " 大厅")
            T.eq(rc, 0, f"hall add {hall}: {err}")
            toks[hall] = re.search(r"token (hq_[0-9a-f]{64})", out).group(1)
        for who, region in (("gz", "广东省/广州市"), ("sz", "广东省/深圳市")):
            T.eq(admin(c, "manager", "add", who, "--region", region,
                       stdin=f"pass-{who}-123\n")[0], 0, f"manager {who}")
        for k, (hall, _) in enumerate(HALLS):
            cfg = copy.deepcopy(BASE_CONFIG)
            cfg["hall"]["id"] = hall
            cfg["sync"] = {"url": f"http://127.0.0.1:{c.port}", "token": toks[hall],
                           "appointments_interval_s": 0}
            if k == 2:  # another wait threshold: each hall's own settings count
                cfg["reports"] = {"wait_threshold_s": 60}
            h = Hall(cfg)
            h.start()
            boxes[hall] = h
        for k, (hall, _) in enumerate(HALLS):
            work(boxes[hall], k)

        def all_acked(h):
            with closing(h.db()) as db:
                return all(r[0] for r in db.execute("SELECT acked FROM outbox"))

        for hall, h in boxes.items():
            T.check(wait_for(lambda: all_acked(h), timeout=60), f"{hall}: every record synced")
        # Each hall's own configuration file (its services, windows, roster, settings).
        for hall, h in boxes.items():
            rc, out, err = admin(c, "hall", "config", hall, h.cfg_path)
            T.eq(rc, 0, f"hall config {hall}: {err}")
        bad = os.path.join(tmp, "bad.json")
        with open(bad, "w") as f:
            f.write('{"services": 3}')
        rc, out, err = admin(c, "hall", "config", "GZ-TH", bad)
        T.check(rc != 0 and "bad.json" in err, f"a bad hallq.json is refused, naming it: {err}")

        day = today_local().isoformat()
        gz, sz = login(c, "gz"), login(c, "sz")
        T.eq(central_get(c, f"/v1/manager/figures?from={day}", None)[0], 401, "signed in only")
        for q, what in [("from=2026-13-01", "bad date"), ("from=2026-12-05&to=2026-12-01", "from after to"),
                        ("by=floor", "unknown by"), ("by=clerk", "by clerk without a hall"),
                        ("format=pdf", "unknown format"), ("from=2020-01-01&to=2026-01-01", "over a year")]:
            st, body = central_get(c, "/v1/manager/figures?" + q, gz)
            T.eq(st, 400, what)
            T.check(isinstance(body, dict) and body.get("message"), f"{what}: a message")

        # Per hall and scope: the box's numbers, exactly.
        for hall, h in boxes.items():
            mgr = gz if hall.startswith("GZ") else sz
            for by in ("hall", "service", "window", "clerk"):
                box = box_report(h, f"from={day}&to={day}&by={by}")
                st, cen = central_get(c, f"/v1/manager/figures?from={day}&to={day}&hall={hall}&by={by}", mgr)
                T.eq(st, 200, f"central figures {hall} by {by}")
                T.check(box["rows"] and box["rows"][0].get("served", 0) >= 0, f"{hall} by {by}: rows")
                same(box["rows"], cen.get("rows"), f"{hall} by {by}: rows equal the box's")
                same(box["total"], cen.get("total"), f"{hall} by {by}: total equals the box's")
                T.eq(cen.get("live_days"), 1, f"{hall}: today is live on central too")
                T.eq(cen.get("halls", [{}])[0].get("config"), True, f"{hall}: its file was used")
        # A period of several days (the days before today have nothing on either side): the same.
        week = (today_local() - datetime.timedelta(days=3)).isoformat()
        for hall, h in boxes.items():
            mgr = gz if hall.startswith("GZ") else sz
            box = box_report(h, f"from={week}&to={day}&by=window")
            st, cen = central_get(c, f"/v1/manager/figures?from={week}&to={day}&hall={hall}&by=window", mgr)
            same((box["days"], box["rows"], box["total"]), (cen["days"], cen["rows"], cen["total"]),
                 f"{hall}: four days by window equal the box's")
        bad = {hall: box_report(h, f"from={day}")["rows"][0]["ratings"] for hall, h in boxes.items()}
        T.eq({k: (v["bad_open"], v["bad_closed"]) for k, v in bad.items()},
             {"GZ-TH": (0, 0), "GZ-YX": (0, 1), "SZ-NS": (1, 0)}, "差评 closed and open (box)")
        # the numbers are not trivially equal: the halls differ
        served = {hall: box_report(h, f"from={day}")["rows"][0]["served"] for hall, h in boxes.items()}
        T.eq(served, {"GZ-TH": 4, "GZ-YX": 5, "SZ-NS": 6}, "served per hall (box)")

        # The city's halls and their total; never another city's hall.
        st, reg = central_get(c, f"/v1/manager/figures?from={day}&to={day}", gz)
        T.eq(st, 200, "region figures")
        T.eq([r["hall_id"] for r in reg["rows"]], ["GZ-TH", "GZ-YX"], "the city's halls only")
        for r in reg["rows"]:
            b = box_report(boxes[r["hall_id"]], f"from={day}")["rows"][0]
            f = dict(r["figures"])
            for k in ("key", "name", "name_en"):
                f.pop(k, None), b.pop(k, None)
            same(b, f, f"{r['hall_id']}: its row in the region equals its box's hall row")
        rows = [box_report(boxes[h], f"from={day}")["rows"][0] for h in ("GZ-TH", "GZ-YX")]
        t = reg["total"]
        T.eq(t["name"], "辖区合计", "total named (Chinese first)")
        T.eq(t["arrivals"], sum(r["arrivals"] for r in rows), "total arrivals")
        T.eq(t["served"], sum(r["served"] for r in rows), "total served")
        T.eq(t["no_show"], sum(r["no_show"] for r in rows), "total no-shows")
        T.eq(t["wait"]["count"], sum(r["wait"]["count"] for r in rows), "total waits")
        T.eq(t["wait"]["max_s"], max(r["wait"]["max_s"] for r in rows), "total max wait")
        n = sum(r["ratings"]["count"] for r in rows)
        good = sum(r["ratings"]["levels"]["4"] + r["ratings"]["levels"]["5"] for r in rows)
        T.eq(t["ratings"]["count"], n, "total ratings")
        T.eq(t["ratings"]["satisfaction"], round(good / n, 4), "total 满意率 from the summed levels")
        T.eq(t["ratings"]["bad"], sum(r["ratings"]["bad"] for r in rows), "total 差评")
        T.eq(t["attendance"]["pause_s"], sum(r["attendance"]["pause_s"] for r in rows), "total pause")
        st, body = central_get(c, f"/v1/manager/figures?from={day}&hall=SZ-NS", gz)
        T.eq(st, 404, "a Guangzhou manager cannot see Shenzhen's figures")
        st, body = central_get(c, f"/v1/manager/figures?from={day}&hall=SZ-NS&by=clerk", gz)
        T.eq(st, 404, "not by clerk either")
        st, reg_sz = central_get(c, f"/v1/manager/figures?from={day}", sz)
        T.eq([r["hall_id"] for r in reg_sz["rows"]], ["SZ-NS"], "Shenzhen's manager: Shenzhen only")
        T.eq(reg_sz["total"]["served"], 6, "Shenzhen's total")
        # A period with nothing: the halls are listed, with zeros.
        st, empty = central_get(c, "/v1/manager/figures?from=2026-01-01&to=2026-01-02", gz)
        T.eq((st, empty["total"]["served"], len(empty["rows"])), (200, 0, 2), "an empty period")
        # CSV: the same numbers, Chinese headers first.
        import urllib.request
        req = urllib.request.Request(f"http://127.0.0.1:{c.port}/v1/manager/figures?from={day}&format=csv",
                                     headers={"Authorization": "Bearer " + gz})
        with urllib.request.urlopen(req, timeout=30) as r:
            T.check(r.headers["Content-Type"].startswith("text/csv"), "CSV content type")
            text = r.read().decode("utf-8-sig")
        lines = list(csv.reader(io.StringIO(text)))
        T.check(lines[0][0].startswith("大厅"), f"a Chinese header first: {lines[0][:2]}")
        T.eq([ln[0] for ln in lines[1:]], ["GZ-TH", "GZ-YX", "total"], "CSV rows")
        T.eq([int(ln[3]) for ln in lines[1:]], [rows[0]["served"], rows[1]["served"], t["served"]],
             "CSV served equals the JSON")
        # Without the hall's file the figures still come from the records, flagged.
        if tc.PG:
            import pgfix
            dbname = c.store[1].split("dbname=")[1].split()[0]
            pgfix.psql("DELETE FROM hall_config WHERE hall_id = 'GZ-YX'", dbname=dbname)
            pgfix.psql("UPDATE hall_config SET config = '{\"services\": 3}' WHERE hall_id = 'SZ-NS'",
                       dbname=dbname)
        else:
            with closing(__import__("sqlite3").connect(c.db)) as db:
                db.execute("DELETE FROM hall_config WHERE hall_id = 'GZ-YX'")
                db.execute("UPDATE hall_config SET config = '{\"services\": 3}' WHERE hall_id = 'SZ-NS'")
                db.commit()
        st, reg = central_get(c, f"/v1/manager/figures?from={day}", gz)
        yx = [r for r in reg["rows"] if r["hall_id"] == "GZ-YX"][0]
        T.eq((yx["config"], yx["figures"]["served"]), (False, 5),
             "no file: counted from the records, said so")
        # A stored file this server's loader no longer takes: the same, and the log says why.
        st, reg = central_get(c, f"/v1/manager/figures?from={day}", sz)
        T.eq((st, reg["rows"][0]["config"], reg["rows"][0]["figures"]["served"]), (200, False, 6),
             "a file that no longer loads: from the records")
        with open(c.log_path, encoding="utf-8") as f:
            T.check("SZ-NS: its configuration no longer loads" in f.read(), "and the log says so")
        # A 差评 of an earlier day whose follow-up closed today (a record dated after the
        # period): counted closed for that day, as the box's own row would say by now.
        rc, out, err = admin(c, "hall", "add", "GZ-SYN", "--region", "广东省/广州市/海珠区")
        syn_tok = re.search(r"token (hq_[0-9a-f]{64})", out).group(1)
        past = (today_local() - datetime.timedelta(days=2)).isoformat()
        at = past + "T10:00:00+08:00"
        recs = [
            {"seq": 1, "uuid": "t1", "type": "ticket", "at": past + "T10:05:00+08:00",
             "data": {"uuid": "t1", "day": past, "number": "A001", "service": "A", "issued_for": "A",
                      "status": "done", "window": 1, "staff": "1001", "issued_at": past + "T09:50:00+08:00",
                      "called_at": at, "served_at": at, "finished_at": past + "T10:05:00+08:00"}},
            {"seq": 2, "uuid": "e1", "type": "evaluation", "at": past + "T10:06:00+08:00",
             "data": {"uuid": "e1", "ticket_uuid": "t1", "ticket": "A001", "service": "A", "window": 1,
                      "staff": "1001", "level": 1}},
            {"seq": 3, "uuid": "f1", "type": "event", "at": day + "T09:00:00+08:00",
             "data": {"kind": "follow_up", "evaluation": "e1", "state": "closed"}},
        ]
        T.eq(tc.post(c.port, "GZ-SYN", json.dumps({"hall_id": "GZ-SYN", "records": recs}).encode(),
                     token=syn_tok), (200, {"acked_through": 3}), "records of a past day")
        st, syn = central_get(c, f"/v1/manager/figures?from={past}&to={past}&hall=GZ-SYN", gz)
        r = syn["rows"][0]
        T.eq((st, r["served"], r["wait"]["max_s"], r["ratings"]["bad_open"], r["ratings"]["bad_closed"]),
             (200, 1, 600, 0, 1), "a past day: served, its wait, the 差评 closed later")
        st, syn = central_get(c, f"/v1/manager/figures?from={past}&to={past}", gz)
        T.eq(sorted(x["hall_id"] for x in syn["rows"]), ["GZ-SYN", "GZ-TH", "GZ-YX"], "the new hall listed")
        T.eq(syn["total"]["served"], 1, "the region's total that day")
        for hall, h in boxes.items():
            T.check(h.alive(), f"{hall}: hallqd still running")
    finally:
        for h in boxes.values():
            h.stop()
            shutil.rmtree(h.dir, ignore_errors=True)
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return T.done()


if __name__ == "__main__":
    tc.CENTRAL = os.environ.get("HQ_CENTRAL") or os.path.join(os.environ.get("HQ_BUILD", "."),
                                                              "tools", "hallq-central")
    sys.exit(main())
