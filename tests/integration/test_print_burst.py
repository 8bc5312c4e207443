"""test_print_burst.py — a burst of tickets on one printer: every ticket hallqd issued is
printed or visibly reported, and a queue of jobs that stops moving is a printer fault.

The real hallqd, a private cupsd and one simulated printer (raw socket queue, DLE EOT link):
1. about 370 tickets asked for at once by 8 clients (the burst of issue 13, where 105
   tickets answered 201 were never printed, "64 jobs in flight", while the printer said it was
   ready): each ticket answered 201 comes out of the printer or is named in a print_failed
   event (what the kiosk shows); a refused request got 503 with error "printer" and used up no
   number (the numbers answered are contiguous);
2. cupsd stops answering (SIGSTOP) while jobs wait and the printer itself says ready: the
   queue that stopped moving is reported a printer fault (health, so the manager's alarm)
   soon after the job timeout, the tickets in it are reported not printed, and tickets are
   refused before a number is used until it moves again (SIGCONT).
usage: test_print_burst.py HALLQ_SIM_BINARY   (env HQ_BUILD, HQ_SOURCE as test_api)
"""
import copy
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cupsd import PrivateCupsd  # noqa: E402
from hallq import BASE_CONFIG, CLERK, MANAGER, Failures, Hall, sse_reader, wait_for  # noqa: E402
from printer_sim import PrinterSim  # noqa: E402

f = Failures("test_print_burst")
BURST = 370
CLIENTS = 8


def printed_labels(sim):
    """label -> how often it came out of the simulator."""
    out = {}
    for n in range(1, sim.count() + 1):
        try:
            t = json.load(open(sim.ticket_path(n)))
        except (OSError, ValueError):
            continue
        for ln in t["lines"]:
            txt = ln.get("text") or ""
            if len(txt) == 4 and txt[0] == "A" and txt[1:].isdigit():
                out[txt] = out.get(txt, 0) + 1
    return out


def burst(hall, n, clients):
    """n issues from `clients` threads at once: [(status, body)]."""
    results, lock = [], threading.Lock()
    left = [n]

    def run():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            try:
                # 30 s, not the harness's 10: under a sanitizer build beside another test
                # on two cores, CI saw 41 of 370 answers come after 10 s (counted as lost)
                r = hall.post("/api/v1/tickets", {"service": "A"}, token=CLERK, timeout=30)
            except OSError as e:
                r = (None, repr(e))
            with lock:
                results.append(r)
    ts = [threading.Thread(target=run) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return results


def printer_health(hall):
    for p in hall.status().get("printers", []):
        if p["role"] == "primary":
            return p["health"]
    return None


def main():
    sim_bin = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="hq-print-burst-")
    a = PrinterSim(sim_bin, os.path.join(tmp, "a"), width=58)
    cups = PrivateCupsd()
    events, stop = [], threading.Event()
    try:
        cups.start()
        cups.add_raw_queue("burst", "socket://127.0.0.1:%d" % a.port)
        cfg = copy.deepcopy(BASE_CONFIG)
        cfg["printer"] = {"queue": "burst", "cups_server": cups.socket, "width_mm": 58,
                          "status_link": "tcp://127.0.0.1:%d" % a.port,
                          "job_timeout_s": 5, "status_interval_s": 1}
        with Hall(cfg) as hall:
            threading.Thread(target=sse_reader, args=(hall, events, stop), daemon=True).start()
            time.sleep(0.5)

            # 1. the burst
            res = burst(hall, BURST, CLIENTS)
            issued = {b["ticket"]["uuid"]: b["ticket"]["number"] for st, b in res if st == 201}
            refused = [(st, b) for st, b in res if st != 201]
            print("burst: %d issued, %d refused" % (len(issued), len(refused)))
            f.check(len(issued) > 64, "more tickets than jobs in flight were issued (%d)"
                    % len(issued))
            # a connection reset in the burst is no answer at all (counted, not judged)
            lost_answers = [b for st, b in refused if st is None]
            if lost_answers:
                print("no answer: %s" % sorted(set(lost_answers))[:5])
            f.check(len(lost_answers) < BURST // 10, "few requests lost in transport (%d)"
                    % len(lost_answers))
            # the printer is fine, only busy: the citizen is told to try again in a moment,
            # not sent to the service desk for a printer fault
            f.eq([(st, b.get("error") if isinstance(b, dict) else b) for st, b in refused
                  if st is not None and (st != 503 or not isinstance(b, dict) or
                                         b.get("error") != "printer_busy")], [],
                 "a refusal is 503 printer_busy")
            f.eq(sorted({(b.get("message"), b.get("message_en")) for st, b in refused
                         if st == 503 and isinstance(b, dict)}),
                 [("取号人数较多，打印机正忙，请稍候再试",
                   "the printer is busy, please try again in a moment")] if any(
                     st == 503 for st, _ in refused) else [],
                 "a busy printer's words")

            def failed_uuids():
                return {d.get("uuid") for ev, d in list(events) if ev == "print_failed"}

            def accounted():
                got = printed_labels(a)
                fl = failed_uuids()
                return all(num in got or u in fl for u, num in issued.items())
            f.check(wait_for(accounted, timeout=180, step=0.5),
                    "every issued ticket printed or reported")
            got, fl = printed_labels(a), failed_uuids()
            nums = sorted(set(int(n[1:]) for n in issued.values()) | set(int(n[1:]) for n in got))
            f.eq(nums, list(range(1, len(nums) + 1)), "the numbers issued or printed are "
                 "contiguous (a refused request used none up)")
            lost = sorted(num for u, num in issued.items() if num not in got and u not in fl)
            f.eq(lost[:10], [], "issued tickets neither printed nor reported (%d)" % len(lost))
            f.eq(sorted(k for k, v in got.items() if v > 1), [], "no ticket printed twice")
            print("printed %d, reported not printed %d" % (len(got), len(fl & set(issued))))

            # 2. a queue that stops moving: cupsd stops answering (SIGSTOP) while the printer
            # itself is fine, so nothing but the jobs' progress can tell
            before = a.count()
            os.kill(cups.proc.pid, signal.SIGSTOP)
            try:
                stalled = burst(hall, 6, 1)
                waiting = {b["ticket"]["uuid"]: b["ticket"]["number"] for st, b in stalled
                           if st == 201}
                f.check(len(waiting) > 0, "tickets issued before anything could tell")
                f.check(wait_for(lambda: printer_health(hall) not in ("ok", "near_end"),
                                 timeout=60), "a queue that stopped moving is a printer fault")
                f.check(wait_for(lambda: all(u in failed_uuids() for u in waiting),
                                 timeout=30), "tickets in a stopped queue reported not printed")
                st, body = hall.post("/api/v1/tickets", {"service": "A"}, token=CLERK)
                f.eq((st, body.get("error") if isinstance(body, dict) else body), (503, "printer"),
                     "refused before a number is issued while the printer is faulty")
                st, ov = hall.get("/api/v1/admin/overview", token=MANAGER)
                kinds = [al.get("kind") for al in (ov or {}).get("alarms", [])]
                f.check("printer" in kinds, "the manager sees a printer alarm: %r" % kinds)
            finally:
                os.kill(cups.proc.pid, signal.SIGCONT)
            f.check(wait_for(lambda: printer_health(hall) == "ok", timeout=60),
                    "the printer is back")
            st, _ = hall.post("/api/v1/tickets", {"service": "A"}, token=CLERK)
            f.eq(st, 201, "tickets again")
            f.check(wait_for(lambda: a.count() > before, timeout=30), "printing again")
    finally:
        stop.set()
        cups.stop()
        a.stop()
        if not f.failed:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept", tmp)
    return f.done()


if __name__ == "__main__":
    sys.exit(main())
