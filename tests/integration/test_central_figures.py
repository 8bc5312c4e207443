#!/usr/bin/env python3
"""The period figures of the reports issue across halls on hallq-central (issue 19), on
SQLite or (HQ_CENTRAL_STORE=pg) PostgreSQL.

Three real hallqd boxes (two halls of 广州市, one of 深圳市) serve, rate, pause and no-show
through their own routes and sync their records to hallq-central. For the same period, what
hallq-central computes from those records (firmware/figures.c compiled into it, fed from its
store) must equal what each box's own report route answers, by hall, service, window and
clerk; a city manager sees the figures of the city's halls with the region's total and never
another city's hall; the CSV carries the same numbers. A manager's exclusions on a box (a
test ticket, an approved absence kept, another revoked) reach hallq-central as records and
are applied there exactly as on the box.
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
import urllib.request
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

        # Exclusions on GZ-TH: its first finished ticket was a test (by its number), 李娜's
        # absence for the day stands, 王芳's was recorded by mistake and revoked.
        th = boxes["GZ-TH"]
        with closing(th.db()) as db:
            test_no = db.execute("SELECT label FROM tickets WHERE status = 'done'"
                                 " ORDER BY id LIMIT 1").fetchone()[0]
        day = today_local().isoformat()
        ex = [{"kind": "test", "ticket": test_no, "from": day, "to": day, "reason": "测试号"},
              {"kind": "absence", "staff": "1002", "from": day, "to": day, "reason": "病假",
               "note": "住院 医院证明已交"},
              {"kind": "absence", "staff": "1001", "from": day, "to": day, "reason": "误录"}]
        ids = []
        for e in ex:
            st, b = th.post("/api/v1/admin/reports/exclusions", e, token=MANAGER)
            T.eq(st, 200, f"exclusion {e['kind']}: {b}")
            ids.append(b.get("id"))
        st, b = th.post(f"/api/v1/admin/reports/exclusions/{ids[2]}/revoke", {}, token=MANAGER)
        T.eq(st, 200, f"the mistaken absence revoked: {b}")
        st, b = th.post(f"/api/v1/admin/reports/exclusions/{ids[2]}/revoke", {}, token=MANAGER)
        T.eq(st, 409, "revoked once only")
        st, b = th.post("/api/v1/admin/reports/exclusions/99999/revoke", {}, token=MANAGER)
        T.eq(st, 404, "an unknown exclusion")
        st, b = th.get(f"/api/v1/admin/reports/exclusions?from={day}&to={day}", token=MANAGER)
        T.eq(sorted(x["id"] for x in b["exclusions"]), sorted(ids[:2]), "the revoked one is not listed")
        with closing(th.db()) as db:
            sent = [json.loads(r[0]) for r in db.execute(
                "SELECT data FROM outbox WHERE type = 'event' AND data LIKE '%\"exclusion%'"
                " ORDER BY seq")]
        T.eq([(r["kind"], r["exclusion"]) for r in sent],
             [("exclusion", ids[0]), ("exclusion", ids[1]), ("exclusion", ids[2]),
              ("exclusion_revoked", ids[2])], "each exclusion and the revocation go up as records")
        T.check(all("reason" not in r and "note" not in r for r in sent),
                "the reason and note a manager typed stay on the box")
        T.eq(box_report(th, f"from={day}")["rows"][0]["excluded"]["test_tickets"], 1,
             "the box leaves the test ticket out")

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
        T.eq(served, {"GZ-TH": 3, "GZ-YX": 5, "SZ-NS": 6}, "served per hall (box; GZ-TH's test ticket out)")
        clerks = {r["key"]: r for r in box_report(th, f"from={day}&by=clerk")["rows"]}
        T.check(clerks["1002"]["excluded"]["absence_s"] > 0 and
                clerks["1001"]["excluded"]["absence_s"] == 0,
                "the absence kept counts, the revoked one does not (box)")

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
        # Exclusion records as a box sends them, recorded after the day they are about: the
        # test ticket (by uuid) leaves that day; a revocation that arrives before its exclusion
        # still revokes it; one without its times is stored and changes nothing.
        nxt = (today_local() - datetime.timedelta(days=1)).isoformat()
        made = day + "T09:10:00+08:00"
        span = {"from": past + "T00:00:00+08:00", "to": nxt + "T00:00:00+08:00"}
        recs = [
            {"seq": 4, "uuid": "x8", "type": "event", "at": made,
             "data": {"kind": "exclusion", "exclusion": 8, "created_at": made, "exclusion_kind": "test",
                      "ticket": "t1", "actor": "staff:9001/manager", **span}},
            {"seq": 5, "uuid": "r9", "type": "event", "at": day + "T09:12:00+08:00",
             "data": {"kind": "exclusion_revoked", "exclusion": 9, "created_at": made,
                      "actor": "staff:9001/manager"}},
            {"seq": 6, "uuid": "x9", "type": "event", "at": made,
             "data": {"kind": "exclusion", "exclusion": 9, "created_at": made,
                      "exclusion_kind": "absence", "staff": "1001", "actor": "staff:9001/manager", **span}},
            {"seq": 7, "uuid": "x10", "type": "event", "at": made,
             "data": {"kind": "exclusion", "exclusion": 10, "created_at": made,
                      "exclusion_kind": "fault", "from": "soon"}},
        ]
        T.eq(tc.post(c.port, "GZ-SYN", json.dumps({"hall_id": "GZ-SYN", "records": recs}).encode(),
                     token=syn_tok), (200, {"acked_through": 7}), "exclusion records stored")
        st, syn = central_get(c, f"/v1/manager/figures?from={past}&to={past}&hall=GZ-SYN", gz)
        r = syn["rows"][0]
        T.eq((st, r["served"], r["excluded"]["test_tickets"], r["excluded"]["absence_s"],
              r["excluded"]["fault_s"]), (200, 0, 1, 0, 0),
             "a past day: the test ticket out, the revoked absence and the broken fault not counted")
        # Stored day rows (hall_fig_days): a past period asked again is read from them, not
        # rebuilt from the records, with the same numbers; a late record of a stored day drops
        # it and the next answer counts that record.
        def days_metric():
            with urllib.request.urlopen(f"http://127.0.0.1:{c.port}/metrics", timeout=30) as r:
                text = r.read().decode()
            got = {}
            for name in ("stored", "built"):
                m = re.search(rf"^hallq_central_figure_days_{name}_total (\d+)$", text, re.M)
                T.check(m is not None, f"/metrics has the figure days {name}")
                got[name] = int(m.group(1)) if m else -1
            return got["stored"], got["built"]

        with open(boxes["GZ-TH"].cfg_path, encoding="utf-8") as f:
            syn_cfg = json.load(f)
        syn_cfg["hall"]["id"] = "GZ-SYN"
        with open(os.path.join(tmp, "syn.json"), "w", encoding="utf-8") as f:
            json.dump(syn_cfg, f, ensure_ascii=False)
        T.eq(admin(c, "hall", "config", "GZ-SYN", os.path.join(tmp, "syn.json"))[0], 0,
             "GZ-SYN's file (a hall without one is always built from its records)")
        span_q = f"/v1/manager/figures?from={past}&to={nxt}&hall=GZ-SYN&by=clerk"
        st, first = central_get(c, span_q, gz)
        s0, b0 = days_metric()
        st2, second = central_get(c, span_q, gz)
        s1, b1 = days_metric()
        T.eq((st, st2), (200, 200), "two past days, twice")
        T.eq((s1 - s0, b1 - b0), (2, 0), "the second answer read both days from the stored rows")
        same(first, second, "stored rows answer exactly as the records did")
        # the region: GZ-TH's days were stored by the four-day request above, GZ-YX has no
        # file any more (always built), GZ-SYN's were stored just now
        st, reg1 = central_get(c, f"/v1/manager/figures?from={past}&to={nxt}", gz)
        s2, b2 = days_metric()
        T.eq((s2 - s1, b2 - b1), (4, 2), "the region: GZ-TH's and GZ-SYN's days read, GZ-YX's built")
        st, reg2 = central_get(c, f"/v1/manager/figures?from={past}&to={nxt}", gz)
        s3, b3 = days_metric()
        T.eq((s3 - s2, b3 - b2), (4, 2), "the region again: the same")
        same(reg1, reg2, "the region's answer from stored rows equals the built one")
        T.eq([r["figures"]["served"] for r in reg2["rows"] if r["hall_id"] == "GZ-SYN"], [0],
             "GZ-SYN's test ticket still out")
        # A late ticket of the stored day `past` (a box that synced late): the day is dropped
        # and built again with it; the other stored day stays stored.
        late = {"seq": 8, "uuid": "t2", "type": "ticket", "at": past + "T11:05:00+08:00",
                "data": {"uuid": "t2", "day": past, "number": "A002", "service": "A",
                         "issued_for": "A", "status": "done", "window": 1, "staff": "1001",
                         "issued_at": past + "T10:50:00+08:00", "called_at": past + "T11:00:00+08:00",
                         "served_at": past + "T11:00:00+08:00",
                         "finished_at": past + "T11:05:00+08:00"}}
        T.eq(tc.post(c.port, "GZ-SYN", json.dumps({"hall_id": "GZ-SYN", "records": [late]}).encode(),
                     token=syn_tok), (200, {"acked_through": 8}), "a late ticket of a stored day")
        s4, b4 = days_metric()
        st, after = central_get(c, span_q, gz)
        s5, b5 = days_metric()
        T.eq(st, 200, "after the late ticket")
        T.eq(after["total"]["served"], first["total"]["served"] + 1, "the late ticket is counted")
        T.eq(after["total"]["wait"]["count"], first["total"]["wait"]["count"] + 1,
             "and its wait")
        T.check(b5 - b4 >= 1, f"the day it belongs to was built again ({b5 - b4} built)")
        # A 差评 of the stored day `past` closed today: the follow-up's own date touches only
        # yesterday and today, so it is the rating's day, looked up, that is dropped.
        recs = [{"seq": 9, "uuid": "e2", "type": "evaluation", "at": past + "T11:06:00+08:00",
                 "data": {"uuid": "e2", "ticket_uuid": "t2", "ticket": "A002", "service": "A",
                          "window": 1, "staff": "1001", "level": 2}}]
        T.eq(tc.post(c.port, "GZ-SYN", json.dumps({"hall_id": "GZ-SYN", "records": recs}).encode(),
                     token=syn_tok), (200, {"acked_through": 9}), "a second 差评 of that day")
        one_q = f"/v1/manager/figures?from={past}&to={past}&hall=GZ-SYN"
        st, a1 = central_get(c, one_q, gz)
        s6, b6 = days_metric()
        st, a2 = central_get(c, one_q, gz)
        s7, b7 = days_metric()
        T.eq((s7 - s6, b7 - b6), (1, 0), "the day stored again")
        T.eq((a2["total"]["ratings"]["bad_open"], a2["total"]["ratings"]["bad_closed"]), (1, 0),
             "stored: the new 差评 open (the earlier one's ticket is a test, left out)")
        recs = [{"seq": 10, "uuid": "f2", "type": "event", "at": day + "T11:00:00+08:00",
                 "data": {"kind": "follow_up", "evaluation": "e2", "state": "closed"}}]
        T.eq(tc.post(c.port, "GZ-SYN", json.dumps({"hall_id": "GZ-SYN", "records": recs}).encode(),
                     token=syn_tok), (200, {"acked_through": 10}), "its follow-up closed today")
        st, a3 = central_get(c, one_q, gz)
        s8, b8 = days_metric()
        T.eq((s8 - s7, b8 - b7), (0, 1), "the follow-up dropped the rating's day")
        T.eq((a3["total"]["ratings"]["bad_open"], a3["total"]["ratings"]["bad_closed"]), (0, 1),
             "the new 差评 now closed")
        # An exclusion revoked later (its span covers both days): the test ticket counts again.
        recs = [{"seq": 11, "uuid": "r8", "type": "event", "at": day + "T11:10:00+08:00",
                 "data": {"kind": "exclusion_revoked", "exclusion": 8, "created_at": made,
                          "actor": "staff:9001/manager"}}]
        T.eq(tc.post(c.port, "GZ-SYN", json.dumps({"hall_id": "GZ-SYN", "records": recs}).encode(),
                     token=syn_tok), (200, {"acked_through": 11}), "the test-ticket exclusion revoked")
        st, rv = central_get(c, span_q, gz)
        T.eq((rv["total"]["served"], rv["total"]["excluded"]["test_tickets"]),
             (after["total"]["served"] + 1, 0), "revoked: t1 served again, nothing excluded")
        T.eq(rv["total"]["ratings"]["bad_closed"], 2, "and its 差评 counts again, closed")
        # A ticket of `past` whose record is dated today (its life ended two days on): the
        # record's own date touches only yesterday and today; its day field drops `past`.
        st, rv2 = central_get(c, span_q, gz)
        same(rv, rv2, "kept again after the revocation")
        t3 = json.loads(json.dumps(late))
        t3.update(seq=12, uuid="t3", at=day + "T08:00:00+08:00")
        t3["data"].update(uuid="t3", number="A003", finished_at=day + "T08:00:00+08:00")
        T.eq(tc.post(c.port, "GZ-SYN", json.dumps({"hall_id": "GZ-SYN", "records": [t3]}).encode(),
                     token=syn_tok), (200, {"acked_through": 12}), "a ticket of past, dated today")
        st, rv3 = central_get(c, span_q, gz)
        T.eq(rv3["total"]["served"], rv["total"]["served"] + 1, "the ticket counted on its day")
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
    tc.central_from_env()
    sys.exit(main())
