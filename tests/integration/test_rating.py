"""test_rating.py — 好差评 end to end (issue 17): case binding and every window rateable.

The real hallqd, a hall bus of hallq-sim keypads and an FF 68 rating pad on a pty, and
hallq-central as the up-link. Checked from the outside: a business system (machine token) binds
two cases to the ticket being served and starts the rating; the pad rates 2; that gives two
evaluation records (version 2), each with its own uuid and case, in the outbox and at
hallq-central; a second rating of that ticket (QR page, pad API) is refused 409 "rated" (已评价);
a window's rating screen (/api/v1/pad/N) is refused for another window's device token and for
an address not configured, answered for its own; a ticket without a case rated on its QR page
gives one record (case_no = ticket uuid, channel 二维码); coverage (rated / finished) in the
status.

usage: test_rating.py HALLQ_SIM HALLQ_CENTRAL  (ctest passes both)
"""
import copy
import json
import os
import sys
import time

import hallq
import hallq_devices
from hallq_devices import Sim, wait_health

CENTRAL = sys.argv[2] if len(sys.argv) > 2 else os.path.join(hallq.BUILD, "tools", "hallq-central")
sys.argv = sys.argv[:1]  # test_central reads its own argv otherwise
import test_central as tc  # noqa: E402

F = hallq_devices.failures("test_rating")
DEVICE2 = "test-device-token-win2"
SYNC_TOKEN = "central-token-0123456789"


def key(bus, addr, code):
    bus.cmd(f"key {addr} {code:02X}")


def evaluations(h):
    cols = ["uuid", "ticket", "case_no", "item_code", "item_name", "level", "channel", "window",
            "text"]
    with h.db() as db:
        return [dict(zip(cols, r)) for r in db.execute(
            "SELECT " + ", ".join(cols) + " FROM evaluations ORDER BY rowid")]


def outbox_evals(h):
    with h.db() as db:
        return [json.loads(r[0]) for r in db.execute(
            "SELECT data FROM outbox WHERE type='evaluation' ORDER BY seq")]


def province_mapping(tmp, rx, **change):
    """The example mapping file (config/province) pointed at the reference receiver `rx`."""
    with open(os.path.join(hallq.SOURCE, "config", "province", "mapping.example.json"),
              encoding="utf-8") as f:
        mapping = json.load(f)
    mapping.update(endpoint=rx.url, retry={"first_s": 0.1, "max_s": 1}, **change)
    path = os.path.join(tmp, "province.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(mapping, f, ensure_ascii=False)
    return path


def rating_hall(h, central_port):
    """Hall h's configuration for these tests: every service with its 事项编码, window 2's
    tablet token, window 3's screen by address, the up-link to hallq-central on central_port,
    a hall bus (keypad 1, rating pad 33 at window 1) on a pty in h.dir. Written, not started."""
    tmp = h.dir
    cfg = copy.deepcopy(hallq.BASE_CONFIG)
    cfg["queue"]["rating_timeout_s"] = 60
    cfg["services"][0]["task_code"] = "11330000MB0000000X4000111000001"
    # every service with its 事项编码: the province refuses a record without one
    for i, s in enumerate(cfg["services"]):
        s["task_code"] = s.get("task_code") or "11330000MB0000000X40001110000%02d" % i
    cfg["http"]["tokens"].append({"token": DEVICE2, "role": "device", "window": 2})
    # window 3's screen is known by an address no test client has
    cfg["evaluation"] = {"qr_open_h": 2, "pads": [{"window": 3, "address": "192.0.2.33"}]}
    cfg["sync"] = {"url": f"http://127.0.0.1:{central_port}", "token": SYNC_TOKEN}
    cfg["devices"] = {
        "buses": [{"id": "keys", "type": "hall", "port": "pty:" + os.path.join(tmp, "bus.tty")}],
        "windows": [{"window": 1, "bus": "keys", "keypad": 1, "pad": 33}],
    }
    cfg["http"]["listen"] = f"127.0.0.1:{h.port}"
    h.config = cfg
    h.write_config()


def hall_bus(h):
    """The hall bus simulator (keypad 1, pad 33) on rating_hall's pty, once hallqd has it."""
    bus = Sim(h.dir, "bus", "bus", ["--pty", os.path.join(h.dir, "bus.tty")],
              "--keypads", "1", "--pads", "33")
    wait_health(h, "bus:keys", "online")
    return bus


CASES = [
    {"case_no": "330100-2026-000123", "item_code": "330000-001-XK-01",
     "item_name": "城乡居民养老保险参保登记"},
    {"case_no": "330100-2026-000124", "item_code": "330000-001-XK-07",
     "item_name": "社会保障卡申领"},
]


def serve_with_cases(h, cases=CASES):
    """A ticket of A called and started at window 1, `cases` bound by the business system
    (machine token). Returns the ticket's uuid."""
    F.eq(h.window(1, "login", {"staff": "1001"})[0], 200, "login at window 1")
    st, t = h.issue("A")
    F.eq(st, 201, "issue A")
    tuuid = t["ticket"]["uuid"] if "ticket" in t else t["uuid"]
    F.eq(h.window(1, "call-next")[0], 200, "call at window 1")
    F.eq(h.window(1, "start")[0], 200, "start at window 1")
    st, b = h.window(1, "cases", {"cases": cases})
    F.eq(st, 200, f"two cases bound: {b}")
    F.eq(b.get("ticket"), tuuid, "bound to the ticket being served")
    return tuuid


def pad_rates(h, bus, level):
    """The business system starts the rating (rate-request), the pad at window 1 is invited
    and rates `level`; returns once hallqd acknowledged it on the bus."""
    bus.drain()
    st, b = h.window(1, "rate-request")
    F.eq(st, 200, f"rate-request finishes and invites: {b}")
    bus.expect("invite 33", what="pad invited after rate-request")
    bus.cmd(f"rate 33 {level}")
    F.eq(bus.expect("ack 33", what="the rating is acknowledged"), f"ack 33 {level}",
         f"pad rated {level}")


def main():
    tc.CENTRAL = CENTRAL
    h = hallq.Hall()
    tmp = h.dir
    # hallq-central forwards to the reference province receiver (docs/PROVINCE.md)
    from province_receiver import ProvinceReceiver
    rx = ProvinceReceiver().start()
    central = tc.Central(tmp, "--token", SYNC_TOKEN, "--province", province_mapping(tmp, rx))
    rating_hall(h, central.port)
    h.start()
    bus = None
    try:
        bus = hall_bus(h)

        # ---- a ticket served at window 1, two cases bound by the business system
        cases = CASES
        tuuid = serve_with_cases(h)
        st, b = h.window(1, "cases", {"cases": [{"case_no": "x"}]})
        F.eq(st, 400, f"a case without item_code/item_name is refused: {b}")
        st, b = h.window(2, "cases", {"cases": cases})
        F.eq((st, b.get("reason")), (409, "no_ticket"), "no ticket at window 2: refused")
        st, b = h.request("POST", "/api/v1/windows/2/cases", {"cases": cases}, token=DEVICE2)
        F.eq(st, 401, "a window's tablet may not bind cases")

        # ---- the business system starts the rating: the pad is invited, rates 2
        pad_rates(h, bus, 2)
        ok = hallq.wait_for(lambda: len(evaluations(h)) == 2, timeout=5)
        ev = evaluations(h)
        F.check(ok, f"two evaluation rows: {ev}")
        F.eq(sorted(e["case_no"] for e in ev), [c["case_no"] for c in cases], "one row per case")
        F.eq({e["ticket"] for e in ev}, {tuuid}, "both rows rate the ticket")
        F.eq(len({e["uuid"] for e in ev}), 2, "each row its own uuid")
        F.eq({(e["level"], e["channel"], e["window"]) for e in ev}, {(2, "pad", 1)},
             "level 2 by the pad at window 1")
        rec = outbox_evals(h)
        F.eq(len(rec), 2, "two evaluation records in the outbox")
        F.eq([r.get("version") for r in rec], [2, 2], "record version 2")
        F.eq(sorted((r["case_no"], r["task_code"], r["task_name"]) for r in rec),
             sorted((c["case_no"], c["item_code"], c["item_name"]) for c in cases),
             "case number, 事项编码 and 事项名称 in the records")
        F.eq(len({r["uuid"] for r in rec}), 2, "each record its own uuid")
        F.check(all(r.get("follow_up_due") and r["gbt39046_code"] == 4 for r in rec),
                f"a bad rating: follow-up due, GB/T 39046 code 4: {rec}")
        F.check(all(r["indicators"].get("overall") == 2 for r in rec), "整体满意度 = the level")
        F.check(all(r.get("real_name") is False and "id_sealed" not in r for r in rec),
                "no evaluation.platform_pubkey, no card: anonymous, no ID number carried")

        # ---- a second rating of the same ticket, however it comes: 已评价
        st, b = h.post(f"/api/v1/rate/{tuuid}", {"level": 5})
        F.eq((st, b.get("reason"), b.get("message")), (409, "rated", "已评价"),
             "the QR page of a rated ticket is refused 已评价")
        st, b = h.window(1, "rating", {"level": 5})
        F.eq((st, b.get("reason")), (409, "rated"), "a second rating at the window is refused")
        st, b = h.get(f"/api/v1/rate/{tuuid}")
        F.eq((st, b.get("rated"), b.get("open")), (200, True, False), "the QR page says rated")
        F.eq(len(evaluations(h)), 2, "still two rows")

        # ---- /pad/N: bound to its window by device token or address
        st, b = h.request("GET", "/api/v1/pad/1", token=DEVICE2)
        F.eq((st, b.get("reason")), (401, "not_this_window"), "window 2's tablet cannot open pad 1")
        st, b = h.request("POST", "/api/v1/pad/1", {"level": 1}, token=DEVICE2)
        F.eq(st, 401, "window 2's tablet cannot rate window 1")
        st, b = h.get("/api/v1/pad/3")
        F.eq(st, 401, "an address not configured for window 3 cannot open its pad")
        st, b = h.request("GET", "/api/v1/pad/2", token=DEVICE2)
        F.eq((st, b.get("window"), b.get("rating")), (200, 2, None), "pad 2 opens, nothing to rate")
        F.eq([l["zh"] for l in b["form"]["levels"]],
             ["非常满意", "满意", "基本满意", "不满意", "非常不满意"], "the national wording")

        # ---- window 2: the tablet rates through /api/v1/pad/2 (no case: one record)
        F.eq(h.window(2, "login", {"staff": "1002"})[0], 200, "login at window 2")
        st, t2 = h.issue("B")
        t2uuid = t2["ticket"]["uuid"] if "ticket" in t2 else t2["uuid"]
        h.window(2, "call-next")
        F.eq(h.window(2, "finish")[0], 200, "finish at window 2")
        st, b = h.request("GET", "/api/v1/pad/2", token=DEVICE2)
        F.eq((b.get("rating") or {}).get("ticket"), t2uuid, "pad 2 shows the finished ticket")
        st, b = h.request("POST", "/api/v1/pad/2",
                          {"level": 1, "reasons": [7, 4], "text": "等了很久 13800138000",
                           "indicators": {"attitude": 1, "efficiency": 2}}, token=DEVICE2)
        F.eq(st, 200, f"pad 2 rates: {b}")
        F.check(len(b.get("evaluation", "")) == 36, "the answer names the evaluation")
        rec = outbox_evals(h)[-1]
        F.eq((rec["case_no"], rec["case_bound"], rec["channel"], rec["reasons"], rec["text"]),
             (t2uuid, False, "政务大厅平板电脑", [4, 7], "等了很久 ***********"),
             "a caseless tablet record, a number in the words starred")
        F.eq(rec["indicators"], {"overall": 1, "efficiency": 2, "attitude": 1}, "indicators")
        st, b = h.request("POST", "/api/v1/pad/2", {"level": 3}, token=DEVICE2)
        F.eq((st, b.get("reason")), (409, "rated"), "pad 2 again: 已评价")

        # ---- window 3 (no pad at all): the QR page rates
        F.eq(h.window(3, "login", {"staff": "1003"})[0], 200, "login at window 3")
        st, t3 = h.issue("A")
        t3uuid = t3["ticket"]["uuid"] if "ticket" in t3 else t3["uuid"]
        st, b = h.post(f"/api/v1/rate/{t3uuid}", {"level": 5})
        F.eq((st, b.get("reason")), (409, "no_rating"), "a ticket not yet served cannot be rated")
        h.window(3, "call-next")
        F.eq(h.window(3, "finish")[0], 200, "finish at window 3")
        st, b = h.get(f"/api/v1/rate/{t3uuid}")
        F.eq((st, b.get("open"), b.get("finished")), (200, True, True), "QR page open")
        st, b = h.post(f"/api/v1/rate/{t3uuid}", {"level": 4, "reasons": [1]})
        F.eq(st, 400, "reasons only with a bad rating")
        st, b = h.post(f"/api/v1/rate/{t3uuid}", {"level": 4, "indicators": {"competence": 5}})
        F.eq(st, 200, f"QR rating: {b}")
        rec = outbox_evals(h)[-1]
        F.eq((rec["channel"], rec["channel_code"], rec["level"], rec["window"]),
             ("二维码", "qr", 4, 3), "the QR record")
        st, b = h.post(f"/api/v1/rate/{t3uuid}", {"level": 1})
        F.eq((st, b.get("message")), (409, "已评价"), "the QR page twice: 已评价")

        # ---- coverage: rated / finished per window and hall
        ev = h.status().get("evaluation", {})
        F.eq((ev.get("finished"), ev.get("rated"), ev.get("coverage_pct")), (3, 3, 100),
             f"hall coverage: {ev}")
        F.eq([(w["window"], w["finished"], w["rated"]) for w in ev.get("windows", [])],
             [(1, 1, 1), (2, 1, 1), (3, 1, 1)], "coverage per window")

        # ---- hallq-central holds the four evaluation records as sent
        want = {r["uuid"]: r for r in outbox_evals(h)}
        got = {}

        def central_has():
            got.clear()
            for r in central.dump():
                if r["type"] == "evaluation":
                    got[r["data"]["uuid"]] = r["data"]
            return len(got) == len(want)

        F.check(hallq.wait_for(central_has, timeout=30), f"hallq-central has {len(got)} of "
                f"{len(want)} evaluation records")
        F.eq(got, want, "hallq-central holds the records as the box sent them")
        # ---- and forwards each, once, valid against the national items' schema
        F.check(hallq.wait_for(lambda: set(rx.held()) >= set(want), timeout=30),
                f"the province receiver has {len(rx.held())} of {len(want)} evaluations")
        F.eq(set(rx.held()), set(want), "exactly the evaluations reach the province")
        F.eq(rx.invalid, [], "every forwarded record valid against the schema")
        F.eq(rx.duplicates, {}, "none delivered twice")
        F.eq({u: r["projectNo"] for u, r in rx.held().items()},
             {u: d["case_no"] for u, d in want.items()}, "办件编号 per evaluation")
        F.check(h.alive(), "hallqd still runs")
    finally:
        if bus:
            bus.stop()
        h.stop()
        central.stop()
        rx.stop()
    return F.done()


if __name__ == "__main__":
    sys.exit(main())
