"""Pause reasons, the clerk's help call and the supervision alarms (issue 16, "Supervision the
rules ask for") against the real hallqd:

- a pause with a reason (and one without: "other"; an unknown code refused with its reason),
  the reason in the status, the event log and across a restart;
- a pause longer than its reason allows (the pause's start moved back in the database while
  hallqd is stopped: no test waits an hour) → the dashboard's alarm `pause:N` in words,
  acknowledged by the manager, raised/acknowledged/cleared records in the outbox;
- 空岗: nobody signed in at a window while its service is open and people wait;
- 限时办结: a ticket at the window longer than its service's time_limit_s;
- the help call from a clerk's session → SSE `help` and `alarm` → the manager acknowledges it
  (percent-encoded key) → the call closes, the event log names who answered.
"""
import copy
import json
import signal
import sys
import threading

from hallq import BASE_CONFIG, MANAGER, Failures, Hall, alarm_keys, sse_reader, wait_for

T = Failures("test_supervision")


def outbox_alarms(h):
    with h.db() as db:
        rows = [json.loads(r[0]) for r in
                db.execute("SELECT data FROM outbox WHERE type='event' ORDER BY seq")]
    return [r for r in rows if r.get("kind") == "alarm"]


def has_record(h, key, state):
    return any(r["key"] == key and r["state"] == state for r in outbox_alarms(h))


def event_rows(h, kind):
    with h.db() as db:
        return [(json.loads(d), a) for d, a in
                db.execute("SELECT data, actor FROM events WHERE kind=? ORDER BY id", (kind,))]


def main():
    cfg = copy.deepcopy(BASE_CONFIG)
    cfg["services"][1]["time_limit_s"] = 2  # B: 限时办结 after 2 s
    cfg["alarms"] = {"unstaffed_s": 1, "idle_s": 0, "wait_s": 0}
    h = Hall(cfg)
    events, stop = [], threading.Event()
    try:
        h.start()
        sse = threading.Thread(target=sse_reader, args=(h, events, stop), daemon=True)
        sse.start()
        st = h.status()
        codes = [r["code"] for r in st["pause_reasons"]]
        T.eq(codes, ["lunch", "meeting", "training", "errand", "break", "other"],
             "the default pause reasons")
        T.eq(st["pause_reasons"][0], {"code": "lunch", "name": "午休", "name_en": "Lunch break",
                                      "max_min": 60}, "lunch in words with its limit")
        T.eq([s["time_limit_s"] for s in st["services"]], [0, 2, 0], "services' time limits")

        # ---- the help call from a clerk's session at window 1
        T.eq(h.post("/api/v1/admin/staff/1001/pin", {"pin": "2468"}, token=MANAGER)[0], 200,
             "PIN set")
        s, b = h.post("/api/v1/session", {"staff": "1001", "pin": "2468", "window": 1})
        T.eq(s, 200, f"clerk session at window 1 ({b})")
        tok = b.get("token")
        T.eq(h.window(2, "help", token=tok)[0], 401, "a clerk's session calls from its window only")
        s, b = h.window(1, "help", token=tok)
        T.eq(s, 200, f"help call ({b})")
        T.check(b["window"]["help_since"] is not None, "the window says its call is open")
        T.check(wait_for(lambda: any(e == "help" and d.get("window") == 1 for e, d in events)),
                "SSE help event")
        T.check(wait_for(lambda: any(e == "alarm" and "help:1" in d.get("raised", [])
                                     for e, d in events), timeout=4),
                "the dashboard's alarm event at once (before the 5 s tick)")
        a = alarm_keys(h).get("help:1")
        T.check(a is not None and "王芳" in a["message"] and "请求协助" in a["message"]
                and "asks for help" in a["message_en"], f"help alarm in words ({a})")
        T.eq(h.window(1, "help", token=tok)[0], 200, "a second call while one is open is fine")
        T.eq(len(event_rows(h, "help")), 1, "... and records nothing more")
        T.eq(h.post("/api/v1/admin/alarms/help:1/ack", token=tok)[0], 401,
             "a clerk may not acknowledge")
        s, b = h.post("/api/v1/admin/alarms/help%3A1/ack", token=MANAGER)
        T.eq((s, b.get("acknowledged")), (200, True), f"manager acknowledges help:1 ({b})")
        T.check("help:1" not in alarm_keys(h), "the answered call leaves the dashboard")
        T.eq(h.status()["windows"][0]["help_since"], None, "the window's call is closed")
        ack = event_rows(h, "help_ack")
        T.check(len(ack) == 1 and ack[0][0].get("window") == 1 and "waited_s" in ack[0][0]
                and ack[0][1], f"help_ack in the event log, with who answered ({ack})")
        T.check(event_rows(h, "help")[0][1].startswith("staff:1001"),
                "the help call's actor is the clerk's session")
        T.check(wait_for(lambda: has_record(h, "help:1", "raised")
                         and has_record(h, "help:1", "acknowledged")
                         and has_record(h, "help:1", "cleared"), timeout=12),
                "help:1 raised, acknowledged, cleared in the outbox")
        T.eq(h.post("/api/v1/admin/alarms/help:1/ack", token=MANAGER)[0], 404,
             "no such alarm now")

        # ---- pause with a reason, without one, with an unknown one
        T.eq(h.window(1, "pause", {"reason": "lunch"}, token=tok)[0], 200, "pause for lunch")
        w1 = h.status()["windows"][0]
        T.eq((w1["state"], w1["pause_reason"], w1["pause_reason_name"],
              w1["pause_reason_name_en"]), ("paused", "lunch", "午休", "Lunch break"),
             "status names the reason")
        T.check(w1["paused_since"] is not None, "paused_since")
        T.eq(h.window(2, "login", {"staff": "1002"})[0], 200, "login at 2")
        s, b = h.window(2, "pause", {"reason": "nap"})
        T.eq((s, b.get("reason")), (400, "no_pause_reason"), f"unknown reason refused ({b})")
        T.check("暂停原因" in b.get("message", ""), "refusal in Chinese")
        T.eq(h.status()["windows"][1]["state"], "idle", "the refused pause changed nothing")
        T.eq(h.window(2, "pause")[0], 200, "pause without a reason")
        T.eq(h.status()["windows"][1]["pause_reason"], "other", "... is 'other'")
        T.eq(h.window(2, "resume")[0], 200, "resume 2")
        T.eq(h.status()["windows"][1]["pause_reason"], None, "no reason once resumed")
        res = [d for d, _ in event_rows(h, "resume")]
        T.check(res and res[-1].get("reason") == "other" and "paused_s" in res[-1],
                f"resume event with reason and paused_s ({res})")
        T.eq(event_rows(h, "pause")[0][0].get("reason"), "lunch", "pause event with reason")

        # ---- over-long pause: an hour's lunch later (moved in the database, hallqd stopped)
        T.check("pause:1" not in alarm_keys(h), "no alarm within the hour")
        T.eq(h.window(2, "help")[0], 200, "window 2 calls for help (machine token)")
        T.eq(h.stop(), 0, "clean stop")
        with h.db() as db:
            db.execute("UPDATE windows SET state_since = state_since - 3700 WHERE number = 1")
        h.start()
        w1 = h.status()["windows"][0]
        T.eq((w1["state"], w1["pause_reason"]), ("paused", "lunch"), "the reason survives")
        T.check("help:2" in alarm_keys(h), "an unanswered help call survives the restart")
        T.eq(h.post("/api/v1/admin/alarms/help:2/ack", token=MANAGER)[0], 200, "answered")
        a = alarm_keys(h).get("pause:1")
        T.check(a is not None and a["kind"] == "pause" and a["threshold"] == 3600
                and a["value"] >= 3700 and a["acknowledged"] is False, f"pause:1 ({a})")
        T.check(a and "暂停超时" in a["message"] and "午休" in a["message"]
                and "Lunch break" in a["message_en"] and "61 min" in a["message_en"],
                f"in words ({a and a['message']} / {a and a['message_en']})")
        T.check(wait_for(lambda: has_record(h, "pause:1", "raised"), timeout=12),
                "pause:1 raised in the outbox")
        s, b = h.post("/api/v1/admin/alarms/pause:1/ack", token=MANAGER)
        T.eq(s, 200, f"ack pause:1 ({b})")
        a = alarm_keys(h).get("pause:1")
        T.check(a is not None and a["acknowledged"] is True, "stays listed, acknowledged")
        rec = [r for r in outbox_alarms(h) if r["key"] == "pause:1" and r["state"] == "acknowledged"]
        T.check(len(rec) == 1 and rec[0].get("actor", "").startswith("token:"),
                f"the acknowledgement names who ({rec})")
        T.eq(h.window(1, "resume", token=MANAGER)[0], 200, "resume 1")
        T.check("pause:1" not in alarm_keys(h), "resumed: no alarm")
        T.check(wait_for(lambda: has_record(h, "pause:1", "cleared"), timeout=12),
                "pause:1 cleared in the outbox")
        r = [x for x in outbox_alarms(h) if x["key"] == "pause:1" and x["state"] == "raised"][0]
        T.eq((r["alarm"], r["window"], r["threshold"]), ("pause", 1, 3600), "the raised record")
        T.check(r["since"] and r["message"] and r["message_en"], f"... in words ({r})")

        # ---- 空岗: window 3 was opened today and left; people wait for A
        T.eq(h.issue("A")[0], 201, "issue A")
        T.check("unstaffed:3" not in alarm_keys(h), "a window nobody opened today is no 空岗")
        T.eq(h.window(3, "login", {"staff": "1003"})[0], 200, "login at 3")
        T.eq(h.window(3, "logout")[0], 200, "... and away")
        T.check(wait_for(lambda: "unstaffed:3" in alarm_keys(h), timeout=5), "空岗 after 1 s")
        a = alarm_keys(h).get("unstaffed:3")
        T.check(a is not None and "空岗" in a["message"] and "unstaffed" in a["message_en"],
                f"unstaffed:3 in words ({a})")
        T.check(not any(k.startswith("unstaffed:1") or k.startswith("unstaffed:2")
                        for k in alarm_keys(h)), "staffed windows are not 空岗")
        T.check(wait_for(lambda: has_record(h, "unstaffed:3", "raised"), timeout=12),
                "unstaffed:3 in the outbox")
        T.eq(h.window(3, "login", {"staff": "1003"})[0], 200, "someone signs in at 3")
        T.check("unstaffed:3" not in alarm_keys(h), "空岗 ends")

        # ---- 限时办结: B has 2 s
        T.eq(h.issue("B")[0], 201, "issue B")
        s, b = h.window(2, "call-next")
        T.eq(s, 200, "window 2 calls")
        label = b["ticket"]["number"]
        T.check(label.startswith("B"), f"calls the B ticket ({label})")
        T.eq(h.window(2, "start")[0], 200, "start")
        T.check(wait_for(lambda: "overtime:2" in alarm_keys(h), timeout=10),
                "overtime:2 after the time limit")
        a = alarm_keys(h).get("overtime:2")
        T.check(a and label in a["message"] and "超时办理" in a["message"]
                and "time limit" in a["message_en"] and a["threshold"] == 2, f"in words ({a})")
        T.check(wait_for(lambda: has_record(h, "overtime:2", "raised"), timeout=12),
                "overtime:2 raised in the outbox")
        T.eq(h.window(2, "finish")[0], 200, "finish")
        T.check("overtime:2" not in alarm_keys(h), "finished: no alarm")
        T.check(wait_for(lambda: has_record(h, "overtime:2", "cleared"), timeout=12),
                "overtime:2 cleared in the outbox")

        # ---- SIGHUP: a new list applies; a running pause keeps its code
        T.eq(h.window(1, "pause", {"reason": "errand"})[0], 200, "window 1 out on an errand")
        h.config["pause_reasons"] = [{"code": "nap", "name": "小憩", "name_en": "Nap",
                                      "max_min": 5}]
        h.write_config()
        h.proc.send_signal(signal.SIGHUP)
        T.check(wait_for(lambda: [r["code"] for r in h.status()["pause_reasons"]]
                         == ["nap", "other"], timeout=5), "SIGHUP: the new list, other appended")
        w1 = h.status()["windows"][0]
        T.eq((w1["pause_reason"], w1["pause_reason_name"]), ("errand", "errand"),
             "a code gone from the list shows as itself")
        T.eq(h.window(3, "pause", {"reason": "nap"})[0], 200, "the new reason is accepted")
        T.eq(h.window(3, "resume")[0], 200, "resume 3")
        T.eq(h.window(3, "pause", {"reason": "lunch"})[1].get("reason"), "no_pause_reason",
             "the old one is not")
        T.check(h.alive(), "hallqd alive")
    finally:
        stop.set()
        h.stop()
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
