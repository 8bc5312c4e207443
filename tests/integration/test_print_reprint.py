"""test_print_reprint.py — who may reprint a ticket, and what is kept of it.

The real hallqd, a private cupsd and a simulated printer. POST
/api/v1/reprint/{uuid|label} without a token is the kiosk's: the rule
(docs/CONFIG.md printer.kiosk_reprint_s, printer.kiosk_reprints) is by uuid
only, only while the ticket waits, within kiosk_reprint_s of issue, at most
kiosk_reprints times. Staff tokens reprint any ticket of the day. Every
reprint comes out marked 补打 / REPRINT and is an "event" record of kind
"reprint" in the outbox (and the hall's event log), with who asked. A job
that fails tells the kiosk (SSE print_failed with the ticket's uuid), and
/api/v1/status counts the software time of each job (print_latency).
usage: test_print_reprint.py HALLQ_SIM_BINARY   (env HQ_BUILD, HQ_SOURCE as test_api)
"""
import copy
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cupsd import PrivateCupsd  # noqa: E402
from hallq import BASE_CONFIG, CLERK, MANAGER, Failures, Hall, free_port, sse_reader, wait_for  # noqa: E402
from printer_sim import PrinterSim  # noqa: E402

f = Failures("test_print_reprint")
KIOSK_S = 3  # printer.kiosk_reprint_s of the test hall


def printed_lines(sim, n):
    t = json.load(open(sim.ticket_path(n)))
    return [ln.get("text") for ln in t["lines"] if "text" in ln]


def reprint(hall, key, token=None):
    return hall.post("/api/v1/reprint/" + key, {}, token=token)


def reprint_records(hall):
    with hall.db() as db:
        out = [json.loads(d) for (d,) in db.execute(
            "SELECT data FROM outbox WHERE type='event' ORDER BY seq")]
        log = db.execute("SELECT ticket, label, data FROM events WHERE kind='reprint' "
                         "ORDER BY id").fetchall()
    return [o for o in out if o.get("kind") == "reprint"], log


def rules(sim_bin, tmp, cups):
    sim = PrinterSim(sim_bin, os.path.join(tmp, "p"), width=80)
    try:
        cups.add_raw_queue("kiosk", "socket://127.0.0.1:%d" % sim.port)
        cfg = copy.deepcopy(BASE_CONFIG)
        cfg["printer"] = {"queue": "kiosk", "cups_server": cups.socket,
                          "status_link": "tcp://127.0.0.1:%d" % sim.port,
                          "status_interval_s": 1, "job_timeout_s": 10,
                          "kiosk_reprint_s": KIOSK_S, "kiosk_reprints": 1}
        with Hall(cfg) as hall:
            events, stop = [], threading.Event()
            threading.Thread(target=sse_reader, args=(hall, events, stop), daemon=True).start()
            wait_for(lambda: any(e == "status" for e, _ in events))
            st, body = hall.issue("A")
            f.eq(st, 201, "issue A")
            t = body.get("ticket", {})
            uuid, number = t.get("uuid"), t.get("number")
            f.check(sim.wait_ticket(1), "the ticket is printed")

            # the kiosk: once, by uuid
            st, body = reprint(hall, uuid)
            f.eq(st, 202, "kiosk reprint by uuid: %r" % body)
            f.eq(body.get("reprinted"), number, "answer names the number")
            f.eq(body.get("kiosk_reprints_left"), 0, "none left")
            f.check(sim.wait_ticket(2), "reprint printed")
            lines = printed_lines(sim, 2)
            f.eq(lines[0] if lines else None, "补打 / REPRINT", "marked as a reprint")
            f.check(number in lines, "reprint carries the number")

            st, body = reprint(hall, uuid)
            f.eq((st, body.get("error")), (429, "reprint_limit"), "a second kiosk reprint")
            f.check("服务台" in body.get("message", ""), "sends to the desk: %r" % body)
            st, body = reprint(hall, number)
            f.eq((st, body.get("error")), (401, "auth"), "kiosk reprint by number")
            st, _ = reprint(hall, "00000000-0000-4000-8000-000000000000")
            f.eq(st, 404, "unknown uuid")
            time.sleep(0.5)
            f.check(not os.path.exists(sim.ticket_path(3)), "refusals printed nothing")

            # staff may reprint it again; a manager too
            st, body = reprint(hall, number, token=CLERK)
            f.eq(st, 202, "clerk reprint by number after the kiosk's: %r" % body)
            f.check(sim.wait_ticket(3), "clerk reprint printed")
            f.eq(printed_lines(sim, 3)[0], "补打 / REPRINT", "clerk reprint marked")

            # a called ticket needs no paper from the kiosk
            st, body = hall.issue("A")
            t2 = body.get("ticket", {})
            f.check(sim.wait_ticket(4), "second ticket printed")
            f.eq(hall.window(1, "login", {"staff": "1001"})[0], 200, "login")
            st, body = hall.window(1, "call", {"number": t2.get("number")})
            f.eq(st, 200, "call the second ticket: %r" % body)
            st, body = reprint(hall, t2.get("uuid"))
            f.eq((st, body.get("error")), (409, "state"), "kiosk reprint of a called ticket")

            # too late for the kiosk; a manager can
            st, body = hall.issue("B")
            t3 = body.get("ticket", {})
            f.check(sim.wait_ticket(5), "third ticket printed")
            time.sleep(KIOSK_S + 1.2)
            st, body = reprint(hall, t3.get("uuid"))
            f.eq((st, body.get("error")), (403, "reprint_late"), "kiosk reprint after the limit")
            st, body = reprint(hall, t3.get("uuid"), token=MANAGER)
            f.eq(st, 202, "manager reprint by uuid: %r" % body)
            f.check(sim.wait_ticket(6), "manager reprint printed")
            f.check(not os.path.exists(sim.ticket_path(7)), "nothing else printed")

            # the public event stream names the reprinted number, never its uuid (issue 14)
            wait_for(lambda: any(e == "reprint" for e, _ in events))
            stop.set()
            rp = [d for e, d in events if e == "reprint"]
            f.check(rp and rp[0].get("number") == number, "reprint event names the number: %r" % rp[:1])
            f.check(not any(u in json.dumps(d) for _, d in events for u in (uuid, t3.get("uuid"))),
                    "no reprinted ticket's uuid on the public stream")

            # the records: who asked, for which ticket
            out, log = reprint_records(hall)
            f.eq([(o.get("number"), o.get("by")) for o in out],
                 [(number, "kiosk"), (number, "clerk"), (t3.get("number"), "manager")],
                 "outbox event records of kind reprint")
            f.eq([o.get("ticket") for o in out][0], uuid, "record carries the ticket uuid")
            f.eq([o.get("service") for o in out], ["A", "A", "B"], "record carries the service")
            f.eq([(u, lbl) for u, lbl, _ in log],
                 [(uuid, number), (uuid, number), (t3.get("uuid"), t3.get("number"))],
                 "the hall's event log")

            # software time of each job, request to CUPS
            wait_for(lambda: hall.status().get("print_latency", {}).get("jobs") == 6)
            lat = hall.status().get("print_latency", {})
            f.eq(lat.get("jobs"), 6, "every job timed: %r" % lat)
            f.check(0 < lat.get("p50_ms", 0) <= lat.get("p99_ms", 0) <= lat.get("max_ms", 0),
                    "p50 <= p99 <= max, above zero: %r" % lat)
            f.check(lat.get("max_ms", 1e9) < 5000, "a job reaches CUPS within 5 s: %r" % lat)
    finally:
        sim.stop()


def print_failed(tmp, cups):
    """A printer that never takes the job (nothing listens): the ticket was
    issued, the job times out, and the kiosk hears which ticket it was."""
    dead = free_port()
    cups.add_raw_queue("dead", "socket://127.0.0.1:%d" % dead)
    cfg = copy.deepcopy(BASE_CONFIG)
    cfg["printer"] = {"queue": "dead", "cups_server": cups.socket, "job_timeout_s": 3,
                      "status_interval_s": 1, "kiosk_reprints": 2}
    with Hall(cfg) as hall:
        events, stop = [], threading.Event()
        th = threading.Thread(target=sse_reader, args=(hall, events, stop), daemon=True)
        th.start()
        try:
            f.check(wait_for(lambda: any(e == "status" for e, _ in events)), "SSE open")
            st, body = hall.issue("A")
            f.eq(st, 201, "issued while the printer looks fine")
            t = body.get("ticket", {})
            f.check(wait_for(lambda: any(e == "print_failed" for e, _ in events), 15),
                    "print_failed published")
            ev = [d for e, d in events if e == "print_failed"]
            if ev:
                f.eq((ev[0].get("ticket"), ev[0].get("uuid")), (t.get("number"), t.get("uuid")),
                     "print_failed names the ticket and its uuid")
                f.check("服务台" in ev[0].get("text", ""), "print_failed says where to go")
            # the printer is now faulty: a kiosk reprint is refused as a printer error
            st, body = reprint(hall, t.get("uuid"))
            f.eq((st, body.get("error")), (503, "printer"), "reprint with no printer")
            out, _ = reprint_records(hall)
            f.eq(out, [], "a refused reprint is not recorded")
        finally:
            stop.set()
            th.join(2)


def main():
    sim_bin = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="hq-reprint-")
    cups = PrivateCupsd()
    try:
        cups.start()
        rules(sim_bin, tmp, cups)
        print_failed(tmp, cups)
    except Exception:
        print(cups.log(), file=sys.stderr)
        raise
    finally:
        cups.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return f.done()


if __name__ == "__main__":
    sys.exit(main())
