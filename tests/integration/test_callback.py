"""差评 call-back, working-day due dates and appeals (issue 17) against the real hallqd.

- The follow-up key: set up by a manager (passphrase), shown by its public half, changed with
  the old passphrase, replaced only with "reset" (which erases the numbers sealed to it);
  hallqctl followup-key; five wrong passphrases in a row lock the tries.
- A citizen's number after a 差评: public, once, only for a bad rating, only within
  evaluation.contact_window_s, only with consent; shown only to a manager's own session with
  the passphrase; absent in clear from every file the box writes (database, WAL, shm, log,
  config) and from the outbox and the event log, which say "contact given" only; erased when
  the follow-up closes (and the sealed bytes leave the database and the WAL), when an appeal is
  upheld, and when the key is replaced.
- Due dates: 回访 and 整改 counted in working days of hall.calendar (a holiday and a make-up
  working day right after today), in the evaluation record and the dashboard; the overdue
  alarm; 回访率 and 整改率 in the overview and the day's statistics.
- Appeals (申诉): only the rated clerk's session or a manager; one per rating; the manager's
  review (复核) upholds one (the record's update goes to the outbox; the rating leaves 满意率
  and the clerk's figures) and rejects another (it stays counted).
"""
import copy
import csv
import io
from contextlib import closing
import datetime
import json
import os
import shutil
import subprocess
import tempfile
import sys
import time
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_central as tc  # noqa: E402
from hallq import (BASE_CONFIG, CLERK, HALLQCTL, MANAGER, Failures, Hall, alarm_keys,  # noqa: E402
                   wait_for)

T = Failures("test_callback")
OFFSET = 8 * 3600
PINS = {"1001": "pin-1001-Kq7", "1002": "pin-1002-Zx9", "9001": "boss-9001-Mm4"}
PASS = "长城 长江 黄河 2026 回访"
PASS2 = "another passphrase 0987"
PHONES = ["13800138000", "13912345678", "15098765432", "057187654321", "18612340000"]
SYNC_TOKEN = "central-token-0123456789"


def local_today():
    return datetime.datetime.fromtimestamp(time.time() + OFFSET, datetime.timezone.utc).date()


def calendar():
    """Tomorrow and the day after are holidays; the first Saturday after them is a make-up
    working day: whatever today is, the due dates cross both."""
    t = local_today()
    hol = [t + datetime.timedelta(days=1), t + datetime.timedelta(days=2)]
    sat = hol[-1] + datetime.timedelta(days=1)
    while sat.weekday() != 5:
        sat += datetime.timedelta(days=1)
    return hol, [sat]


def add_workdays(day, n, hol, work):
    while n > 0:
        day += datetime.timedelta(days=1)
        if day in work or (day.weekday() < 5 and day not in hol):
            n -= 1
    return day


def due_text(day):
    """RFC 3339 of 24:00 local at the end of `day` (= 00:00 of the next day)."""
    return (day + datetime.timedelta(days=1)).isoformat() + "T00:00:00+08:00"


def config(central_port):
    c = copy.deepcopy(BASE_CONFIG)
    c["sync"] = {"url": f"http://127.0.0.1:{central_port}", "token": SYNC_TOKEN,
                 "appointments_interval_s": 0}
    hol, work = calendar()
    c["hall"]["calendar"] = {"holidays": [d.isoformat() for d in hol],
                             "workdays": [d.isoformat() for d in work]}
    c["evaluation"] = {"callback_workdays": 2, "rectify_workdays": 4, "appeal_workdays": 3,
                       "contact_window_s": 600, "contact_keep_days": 7}
    c["staff"] = [{"id": "1001", "name": "王芳"}, {"id": "1002", "name": "李娜"},
                  {"id": "9001", "name": "赵主任", "role": "manager"}]
    return c


def sign_in(h, staff, **extra):
    for _ in range(50):
        st, b = h.post("/api/v1/session", {"staff": staff, "pin": PINS[staff], **extra})
        if not (st == 429 and b.get("error") == "busy"):
            break
        time.sleep(0.2)
    T.eq(st, 200, f"{staff} signs in")
    return b.get("token")


def rate(h, window, level, tok=CLERK):
    st, body = h.issue("A")
    T.eq(st, 201, "issue")
    num = body["ticket"]["number"]
    T.eq(h.window(window, "call", {"number": num}, token=tok)[0], 200, f"call {num}")
    T.eq(h.window(window, "start", token=tok)[0], 200, "start")
    T.eq(h.window(window, "finish", token=tok)[0], 200, "finish")
    T.eq(h.window(window, "rating", {"level": level})[0], 200, f"rating {level}")
    with closing(h.db()) as db:
        return db.execute("SELECT uuid FROM evaluations ORDER BY rowid DESC LIMIT 1").fetchone()[0]


def contact(h, u, phone, consent=True):
    return h.post(f"/api/v1/evaluations/{u}/contact", {"phone": phone, "consent": consent})


def reveal(h, u, tok, passphrase=PASS):
    for _ in range(50):
        st, b = h.post(f"/api/v1/admin/evaluations/{u}/contact", {"passphrase": passphrase},
                       token=tok)
        if st != 429:
            return st, b
        time.sleep(0.5)
    return st, b


def follow(h, u, state):
    return h.post(f"/api/v1/admin/evaluations/{u}/follow-up", {"state": state, "note": "电话已回访"},
                  token=MANAGER)


def files_of(h):
    out = {}
    for name in os.listdir(h.dir):
        p = os.path.join(h.dir, name)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                out[name] = f.read()
    return out


def no_phone_anywhere(h, phones, when):
    found = []
    for name, data in files_of(h).items():
        for ph in phones:
            for form in {ph, " ".join([ph[:3], ph[3:7], ph[7:]]), ph[1:]}:
                for enc in ("utf-8", "utf-16-le"):
                    if form.encode(enc) in data:
                        found.append((name, form, enc))
    T.eq(found, [], f"no phone number in clear in any file ({when})")
    with closing(h.db()) as db:
        rows = db.execute("SELECT data FROM outbox").fetchall() + \
            db.execute("SELECT data FROM events").fetchall()
    T.check(not any(ph in r[0] for r in rows for ph in phones), f"outbox and events ({when})")


def ev_row(h, u):
    st, body = h.get("/api/v1/admin/evaluations?day=" + local_today().isoformat(), token=MANAGER)
    T.eq(st, 200, "evaluations list")
    return {e["uuid"]: e for e in body["evaluations"]}.get(u)


def test_key(h, mgr):
    st, b = h.get("/api/v1/admin/followup-key", token=MANAGER)
    T.eq((st, b.get("set")), (200, False), "no key at first")
    st, b = h.post("/api/v1/admin/followup-key", {"passphrase": PASS}, token=CLERK)
    T.eq(st, 401, "a clerk token cannot set the key")
    st, b = h.post("/api/v1/admin/followup-key", {"passphrase": "short"}, token=MANAGER)
    T.eq(st, 400, "a passphrase under 10 characters is refused")
    st, b = h.post("/api/v1/admin/followup-key", {"passphrase": PASS}, token=mgr)
    T.eq((st, b.get("change")), (200, "created"), "the manager sets the key up")
    T.check(len(b.get("public_key", "")) == 64, "the public half is shown")
    st, b = h.post("/api/v1/admin/followup-key", {"passphrase": PASS2}, token=MANAGER)
    T.eq(st, 409, "a second set-up without the old passphrase or reset is refused")
    with closing(h.db()) as db:
        row = db.execute("SELECT length(public_key), length(secret_box), opslimit, memlimit "
                         "FROM followup_key").fetchone()
    T.eq(row, (32, 48, 3, 32 * 1024 * 1024), "only the wrapped private key is stored")
    T.check(PASS.encode() not in b"".join(files_of(h).values()), "the passphrase is stored nowhere")


def test_contact(h, mgr, c1):
    u = rate(h, 1, 1, c1)
    good = rate(h, 1, 5, c1)
    st, b = h.get(f"/api/v1/evaluations/{u}/contact")
    T.eq((st, b.get("open")), (200, True), "a number may be given for the 差评")
    st, b = h.get(f"/api/v1/evaluations/{good}/contact")
    T.eq((st, b.get("open")), (200, False), "not for a 非常满意")
    T.eq(contact(h, u, PHONES[0], consent=False)[0], 400, "no consent: refused")
    T.eq(contact(h, u, "12345")[0], 400, "not a phone number")
    T.eq(contact(h, u, "1380013800a")[0], 400, "a letter in it")
    T.eq(contact(h, good, PHONES[0])[0], 409, "a good rating takes no number")
    T.eq(contact(h, str(uuidlib.uuid4()), PHONES[0])[0], 404, "unknown evaluation")
    T.eq(contact(h, "../../x", PHONES[0])[0], 404, "a malformed uuid")
    st, b = contact(h, u, "+86 138 0013 8000")
    T.eq(st, 200, "the number is taken")
    T.check("回访" in b.get("message", ""), "the citizen is told, Chinese first")
    st, b = contact(h, u, PHONES[1])
    T.eq(st, 409, "only once: a second number is refused")
    with closing(h.db()) as db:
        sealed, = db.execute("SELECT sealed FROM eval_contacts WHERE evaluation=?", (u,)).fetchone()
        T.eq(len(sealed), 11 + 48, "11 digits sealed (crypto_box_seal adds 48 bytes)")
        kinds = [r[0] for r in db.execute("SELECT data FROM outbox WHERE data LIKE ?",
                                          (f"%{u}%",))]
    T.check(any('"contact_given":true' in k for k in kinds), "the outbox says: contact given")
    no_phone_anywhere(h, PHONES[:2], "after the number was given")

    # only a manager's own session, with the passphrase
    T.eq(reveal(h, u, c1)[0], 401, "a clerk session sees no number")
    T.eq(reveal(h, u, MANAGER)[0], 401, "a manager machine token sees no number")
    st, b = reveal(h, u, mgr, "wrong passphrase!!")
    T.eq((st, b.get("reason")), (403, "wrong_passphrase"),
         "a wrong passphrase opens nothing (403: the session itself is fine)")
    st, b = reveal(h, u, mgr)
    T.eq((st, b.get("phone")), (200, PHONES[0]), "the manager sees the number")
    T.eq(reveal(h, good, mgr)[0], 404, "no number was given for the good rating")
    no_phone_anywhere(h, PHONES[:2], "after it was shown")
    with closing(h.db()) as db:
        shown = db.execute("SELECT actor FROM events WHERE kind='contact_shown'").fetchall()
    T.eq(shown, [("staff:9001/manager",)], "who saw the number is logged (not the number)")

    row = ev_row(h, u)
    T.eq(row["contact"], {"given": True, "erased": False}, "the list says a number is there")
    T.check("phone" not in str(row), "never the number in the list")

    # the follow-up closes: the number goes, from the row, the database file and the WAL
    for s in ("contacted", "rectified"):
        T.eq(follow(h, u, s)[0], 200, s)
    T.eq(reveal(h, u, mgr)[0], 200, "still there before closing")
    T.eq(follow(h, u, "closed")[0], 200, "closed")
    with closing(h.db()) as db:
        row = db.execute("SELECT sealed, erase_why FROM eval_contacts WHERE evaluation=?",
                         (u,)).fetchone()
    T.eq(row, (None, "follow_up_closed"), "erased when the follow-up closed")
    st, b = reveal(h, u, mgr)
    T.eq(st, 409, "nothing to show after closing")
    gone = wait_for(lambda: not any(sealed in d for d in files_of(h).values()), timeout=10)
    T.check(gone, "the sealed bytes left the database file and its WAL")
    T.eq(ev_row(h, u)["contact"], {"given": True, "erased": True}, "the list says erased")
    return u


def test_due_dates(h, c1):
    hol, work = calendar()
    u = rate(h, 1, 2, c1)
    T.eq(contact(h, u, PHONES[2])[0], 200, "a second real-name 差评")
    today = local_today()
    cb = add_workdays(today, 2, hol, work)
    rect = add_workdays(today, 4, hol, work)
    row = ev_row(h, u)
    T.eq(row["follow_up"]["callback_due"], due_text(cb), "回访 due in 2 working days")
    T.eq(row["follow_up"]["due"], due_text(rect), "整改 due in 4 working days")
    T.check(rect > today + datetime.timedelta(days=4), "the holidays pushed it out")
    with closing(h.db()) as db:
        data = [r[0] for r in db.execute("SELECT data FROM outbox WHERE type='evaluation'")
                if u in r[0]][0]
    T.check(f'"callback_due":"{due_text(cb)}"' in data, "the record carries callback_due")
    T.check(f'"follow_up_due":"{due_text(rect)}"' in data, "and follow_up_due")
    T.check(not any(k.startswith("follow_up:") for k in alarm_keys(h)), "nothing overdue yet")
    return u


def test_appeals(h, mgr, c1, c2):
    bad2 = rate(h, 2, 2, c2)    # 李娜's 不满意: appealed and upheld
    bad1 = rate(h, 2, 1, c2)    # 李娜's 非常不满意: appealed and rejected
    rate(h, 2, 5, c2)
    T.eq(contact(h, bad2, PHONES[3])[0], 200, "a number for the one to be upheld")
    st, stats = h.get("/api/v1/admin/stats", token=MANAGER)
    clerk = {x["staff"]["id"]: x for x in stats["ratings"]["per_clerk"]}["1002"]
    T.eq((clerk["count"], clerk["bad"], clerk["satisfaction"]), (3, 2, 0.33), "before: 3 ratings")

    path = f"/api/v1/evaluations/{bad2}/appeal"
    body = {"kind": "malicious", "reason": "群众因材料不全迁怒窗口"}
    T.eq(h.post(path, body)[0], 401, "nobody signed in cannot appeal")
    T.eq(h.post(path, body, token=c1)[0], 401, "another clerk cannot appeal it")
    T.eq(h.post(path, {"kind": "rude", "reason": "x"}, token=c2)[0], 400, "unknown kind")
    T.eq(h.post(path, {"kind": "mistaken"}, token=c2)[0], 400, "no reason")
    st, b = h.post(path, body, token=c2)
    T.eq((st, b.get("appeal", {}).get("state")), (200, "pending"), "the rated clerk appeals")
    T.eq(h.post(path, body, token=c2)[0], 409, "one appeal per rating")
    good = rate(h, 2, 5, c2)
    T.eq(h.post(f"/api/v1/evaluations/{good}/appeal", body, token=c2)[0], 409,
         "a 非常满意 is not appealed")
    st, b = h.post(f"/api/v1/evaluations/{bad1}/appeal",
                   {"kind": "mistaken", "reason": "群众说按错了键"}, token=mgr)
    T.eq(st, 200, "a manager appeals for the clerk")

    rv = f"/api/v1/admin/evaluations/{bad2}/review"
    T.eq(h.post(rv, {"uphold": True, "reason": "录像核实"}, token=c2)[0], 401, "a clerk cannot review")
    T.eq(h.post(rv, {"uphold": "yes", "reason": "x"}, token=MANAGER)[0], 400, "uphold not a bool")
    T.eq(h.post(rv, {"uphold": True}, token=MANAGER)[0], 400, "a review needs its reason")
    T.eq(h.post(f"/api/v1/admin/evaluations/{good}/review", {"uphold": True, "reason": "x"},
                token=MANAGER)[0], 404, "no appeal to review")
    st, b = h.post(rv, {"uphold": True, "reason": "调取录像核实，系恶意差评"}, token=mgr)
    T.eq((st, b["appeal"]["state"], b["appeal"]["excluded"]), (200, "upheld", True), "upheld")
    T.eq(h.post(rv, {"uphold": False, "reason": "again"}, token=MANAGER)[0], 409,
         "reviewed once")
    st, b = h.post(f"/api/v1/admin/evaluations/{bad1}/review",
                   {"uphold": False, "reason": "无证据表明误评"}, token=MANAGER)
    T.eq((st, b["appeal"]["state"], b["appeal"]["excluded"]), (200, "rejected", False),
         "rejected")

    with closing(h.db()) as db:
        outs = [r[0] for r in db.execute("SELECT data FROM outbox WHERE type='event' AND data "
                                         "LIKE '%appeal_review%'")]
        sealed = db.execute("SELECT sealed, erase_why FROM eval_contacts WHERE evaluation=?",
                            (bad2,)).fetchone()
    up = [o for o in outs if bad2 in o]
    T.eq(len(up), 1, "one update record for the upheld appeal")
    T.check(up and '"upheld":true' in up[0] and '"excluded":true' in up[0],
            "the update marks the record upheld and excluded")
    T.check(any(bad1 in o and '"upheld":false' in o for o in outs), "and the rejected one")
    T.eq(sealed, (None, "appeal_upheld"), "an upheld appeal erases the number")

    st, stats = h.get("/api/v1/admin/stats", token=MANAGER)
    clerk = {x["staff"]["id"]: x for x in stats["ratings"]["per_clerk"]}["1002"]
    T.eq((clerk["count"], clerk["bad"], clerk["levels"]["2"], clerk["levels"]["1"]), (3, 1, 0, 1),
         "after: the upheld 不满意 left the clerk's figures, the rejected one stayed")
    T.eq(clerk["satisfaction"], 0.67, "满意率 without the upheld rating")
    row = ev_row(h, bad2)
    T.eq((row["appeal"]["state"], row["appeal"]["kind"]), ("upheld", "malicious"), "list: upheld")
    T.eq(row["follow_up"]["overdue"], False, "an upheld appeal is never overdue")
    T.eq(ev_row(h, bad1)["appeal"]["state"], "rejected", "list: rejected")
    st, raw = h.get("/api/v1/admin/export/evaluations.csv", token=MANAGER)
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    rows = list(csv.reader(io.StringIO(text, newline="")))
    by = {r[-1]: dict(zip(rows[0], r)) for r in rows[1:]}
    T.eq((by[bad2]["申诉 Appeal"], by[bad2]["计入满意率 Counted"], by[bad2]["实名 Real-name"]),
         ("申诉成立 upheld", "否 no", "是 yes"), "the CSV marks the upheld appeal")
    T.eq((by[bad1]["申诉 Appeal"], by[bad1]["计入满意率 Counted"]), ("申诉驳回 rejected", "是 yes"),
         "and the rejected one")
    T.check(by[bad1]["回访时限 Call-back due"].endswith("00:00:00"), "the CSV has the 回访 due")
    return bad2, bad1


def test_rates_and_overdue(h, mgr, closed_u, due_u, bad1):
    st, ov = h.get("/api/v1/admin/overview", token=MANAGER)
    fu = ov["follow_up"]
    # real-name: closed_u (closed), due_u (open); bad2 was upheld and left the figures
    T.eq((fu["real_name"], fu["called_back"], fu["rectified"]), (2, 1, 1), "overview counts")
    T.eq((fu["callback_rate"], fu["rectify_rate"]), (0.5, 0.5), "回访率 and 整改率 in the overview")
    T.eq(fu["appeals_upheld"], 1, "the upheld appeal counted apart")
    st, stats = h.get("/api/v1/admin/stats", token=MANAGER)
    T.eq(stats["follow_up"]["callback_rate"], 0.5, "and in the day's statistics")

    # a number kept past evaluation.contact_keep_days (7) is erased by the hourly sweep
    old = rate(h, 1, 1)
    T.eq(contact(h, old, PHONES[4])[0], 200, "a number to be kept too long")
    # a number too late: bad1's rating 2 hours back (the window is 600 s)
    T.eq(h.stop(), 0, "stop to age the ratings")
    with closing(h.db()) as db:
        db.execute("UPDATE evaluations SET at=at-7200 WHERE uuid=?", (bad1,))
        # due_u rated 30 days ago, its 整改 due passed too
        db.execute("UPDATE evaluations SET at=at-30*86400, follow_up_due=follow_up_due-30*86400 "
                   "WHERE uuid=?", (due_u,))
        db.execute("UPDATE eval_contacts SET given_at=given_at-8*86400 WHERE evaluation=?", (old,))
        db.commit()
    h.start()

    def erased_why():
        with closing(h.db()) as db:
            return db.execute("SELECT sealed IS NULL, erase_why FROM eval_contacts WHERE "
                              "evaluation=?", (old,)).fetchone()

    T.check(wait_for(lambda: erased_why() == (1, "kept_too_long"), timeout=10),
            f"erased after contact_keep_days: {erased_why()}")
    st, b = contact(h, bad1, PHONES[1])
    T.eq(st, 409, "too late for a number two hours after the rating")
    T.check("too late" in b.get("detail", b.get("message", "")), f"says why: {b}")
    T.check(wait_for(lambda: "follow_up:overdue" in alarm_keys(h), timeout=15),
            "the overdue alarm is raised")
    st, ov = h.get("/api/v1/admin/overview", token=MANAGER)
    al = [a for a in ov["alarms"] if a["key"] == "follow_up:overdue"]
    T.check(al and al[0]["value"] == 1 and "超期" in al[0]["message"], f"one overdue: {al}")
    st, body = h.get("/api/v1/admin/evaluations?pending=1", token=MANAGER)
    row = {e["uuid"]: e for e in body["evaluations"]}[due_u]
    T.eq((row["follow_up"]["overdue"], row["follow_up"]["callback_overdue"]), (True, True),
         "the row says overdue")
    T.eq(follow(h, due_u, "contacted")[0], 200, "called back at last")
    st, body = h.get("/api/v1/admin/evaluations?pending=1", token=MANAGER)
    row = {e["uuid"]: e for e in body["evaluations"]}[due_u]
    T.eq(row["follow_up"]["callback_overdue"], False, "回访 done")
    T.eq(row["follow_up"]["overdue"], True, "整改 still overdue")


def test_key_change_and_reset(h, mgr, due_u):
    st, b = h.post("/api/v1/admin/followup-key", {"passphrase": PASS2, "old_passphrase": "nope nope nope"},
                   token=MANAGER)
    T.eq(st, 403, "a change with a wrong old passphrase is refused")
    st, b = h.post("/api/v1/admin/followup-key", {"passphrase": PASS2, "old_passphrase": PASS},
                   token=MANAGER)
    T.eq((st, b.get("change"), b.get("erased")), (200, "changed", 0), "passphrase changed")
    T.eq(reveal(h, due_u, mgr, PASS)[0], 403, "the old passphrase no longer opens")
    st, b = reveal(h, due_u, mgr, PASS2)
    T.eq((st, b.get("phone")), (200, PHONES[2]), "the new one opens the same key")
    st, b = h.post("/api/v1/admin/followup-key", {"passphrase": PASS, "reset": True},
                   token=MANAGER)
    T.eq((st, b.get("change"), b.get("erased")), (200, "replaced", 1),
         "a reset replaces the key and erases the one number still kept")
    T.eq(reveal(h, due_u, mgr, PASS)[0], 409, "erased with the old key")
    # hallqctl: the key's state, and a second set-up refused (exit 1) with the reason
    url = f"http://127.0.0.1:{h.port}"
    r = subprocess.run([HALLQCTL, "--url", url, "--token", MANAGER, "followup-key"],
                       capture_output=True, text=True, timeout=20)
    T.check(r.returncode == 0 and "回访密钥已设置" in r.stdout and b.get("public_key", "?") in r.stdout,
            f"hallqctl followup-key shows the key: {r.stdout!r} {r.stderr!r}")
    r = subprocess.run([HALLQCTL, "--url", url, "--token", MANAGER, "followup-key", "set"],
                       input=PASS2 + "\n", capture_output=True, text=True, timeout=20)
    T.check(r.returncode == 1 and "old_passphrase" in (r.stdout + r.stderr),
            f"hallqctl followup-key set refused while a key is set: {r.returncode} {r.stderr!r}")
    for _ in range(40):  # the passphrase back-off (429) after the reveals above: wait it out
        r = subprocess.run([HALLQCTL, "--url", url, "--token", MANAGER, "followup-key", "change"],
                           input=PASS + "\n" + PASS2 + "\n", capture_output=True, text=True,
                           timeout=20)
        if "HTTP 429" not in r.stderr:
            break
        time.sleep(0.5)
    T.check(r.returncode == 0 and "口令已更改" in r.stdout,
            f"hallqctl changes it: {r.returncode} {r.stdout!r} {r.stderr!r}")
    T.check(PASS2 not in r.stdout + r.stderr, "the passphrase is not echoed")
    # guessing: five wrong passphrases in a row lock every try for a while, the right one too
    for i in range(5):
        st, b = h.post("/api/v1/admin/followup-key",
                       {"passphrase": PASS, "old_passphrase": f"guess number {i}"}, token=MANAGER)
        T.eq(st, 403, f"wrong guess {i + 1}")
    st, b = h.post("/api/v1/admin/followup-key", {"passphrase": PASS, "old_passphrase": PASS2},
                   token=MANAGER)
    T.eq((st, b.get("reason")), (429, "rate_limited"), "then locked, even for the right one")


def central_clean(h, c):
    """hallq-central's database (and its WAL) and log hold no number either, and the records
    that reached it say "contact given" and carry the appeal's review."""
    def all_acked():
        with closing(h.db()) as db:
            return all(r[0] for r in db.execute("SELECT acked FROM outbox"))

    T.check(wait_for(all_acked, timeout=30), "every record reached hallq-central")
    recs = c.dump()
    datas = [json.dumps(r["data"], ensure_ascii=False) for r in recs]
    T.check(any('"contact_given": true' in d for d in datas), "central has the contact-given flag")
    T.check(any('"appeal_review"' in d and '"excluded": true' in d for d in datas),
            "central has the upheld appeal's update")
    found = []
    for p in [c.db, c.db + "-wal", c.log_path]:
        if os.path.exists(p):
            with open(p, "rb") as f:
                data = f.read()
            found += [(p, ph) for ph in PHONES if ph.encode() in data or ph[3:].encode() in data]
    T.eq(found, [], "no phone number in hallq-central's database, WAL or log")
    T.check(not any(ph in d for d in datas for ph in PHONES), "nor in any record it holds")


def main():
    tmp = tempfile.mkdtemp(prefix="hallq-callback-")
    c = tc.Central(tmp, "--token", SYNC_TOKEN)
    h = Hall(config(c.port), keep=bool(os.environ.get("HQ_KEEP")))
    try:
        h.start()
        for staff, pin in PINS.items():
            T.eq(h.post(f"/api/v1/admin/staff/{staff}/pin", {"pin": pin}, token=MANAGER)[0], 200,
                 f"PIN of {staff}")
        c1 = sign_in(h, "1001", window=1)
        c2 = sign_in(h, "1002", window=2)
        st, b = h.post("/api/v1/admin/login", {"staff": "9001", "pin": PINS["9001"]})
        T.eq(st, 200, "the manager signs in on the dashboard")
        mgr = b.get("token")
        u0 = rate(h, 1, 1, c1)
        st, b = h.get(f"/api/v1/evaluations/{u0}/contact")
        T.eq((st, b.get("open")), (200, False), "no key set up: no number is taken")
        T.eq(contact(h, u0, PHONES[0])[0], 409, "refused without a key")
        test_key(h, mgr)
        closed_u = test_contact(h, mgr, c1)
        due_u = test_due_dates(h, c1)
        bad2, bad1 = test_appeals(h, mgr, c1, c2)
        test_rates_and_overdue(h, mgr, closed_u, due_u, bad1)
        mgr = h.post("/api/v1/admin/login", {"staff": "9001", "pin": PINS["9001"]})[1].get("token")
        test_key_change_and_reset(h, mgr, due_u)
        central_clean(h, c)
        T.eq(h.stop(), 0, "clean stop")
        no_phone_anywhere(h, PHONES, "at the end, daemon stopped")
    finally:
        if h.alive():
            h.kill()
        h.stop()
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return T.done()


if __name__ == "__main__":
    tc.central_from_env()
    sys.exit(main())
