"""test_hallqd_print.py — hallqd prints its tickets through CUPS.

The real hallqd with a private cupsd and two simulated printers (primary and
backup, raw queues, DLE EOT status links):
1. an issued ticket comes out of the primary with its number, hall, service
   and a QR of the ticket's status URL; /api/v1/status lists the printers;
2. paper end on the primary: tickets go to the backup;
3. both printers out of paper: the kiosk is refused (printer error) and no
   number is used up; paper back: tickets again;
4. a clerk's reprint comes out marked 补打 / REPRINT;
5. a bad ticket template file stops start-up with the file and the path.
usage: test_hallqd_print.py HALLQ_SIM_BINARY   (env HQ_BUILD, HQ_SOURCE as test_api)
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cupsd import PrivateCupsd  # noqa: E402
from hallq import BASE_CONFIG, CLERK, HALLQD, Failures, Hall, wait_for  # noqa: E402
from printer_sim import PrinterSim  # noqa: E402

f = Failures("test_hallqd_print")


def printer_health(hall, role):
    for p in hall.status().get("printers", []):
        if p["role"] == role:
            return p["health"]
    return None


def texts(sim, n):
    t = json.load(open(sim.ticket_path(n)))
    return [ln.get("text") for ln in t["lines"] if "text" in ln], t


def main():
    sim_bin = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="hq-hallqd-print-")
    a = PrinterSim(sim_bin, os.path.join(tmp, "a"), width=58)
    b = PrinterSim(sim_bin, os.path.join(tmp, "b"), width=58)
    cups = PrivateCupsd()
    try:
        cups.start()
        cups.add_raw_queue("kiosk-a", "socket://127.0.0.1:%d" % a.port)
        cups.add_raw_queue("kiosk-b", "socket://127.0.0.1:%d" % b.port)
        cfg = copy.deepcopy(BASE_CONFIG)
        cfg["printer"] = {
            "queue": "kiosk-a", "backup_queue": "kiosk-b", "cups_server": cups.socket,
            "width_mm": 58, "status_link": "tcp://127.0.0.1:%d" % a.port,
            "backup_status_link": "tcp://127.0.0.1:%d" % b.port,
            "job_timeout_s": 10, "status_interval_s": 1,
        }
        with Hall(cfg) as hall:
            # 1. primary prints
            st, body = hall.issue("A")
            f.eq(st, 201, "issue A")
            t = body.get("ticket", {})
            number = t.get("number")
            f.check(a.wait_ticket(1), "ticket printed on the primary")
            lines, raw = texts(a, 1)
            f.check(number in lines, "printed number %r in %r" % (number, lines))
            f.check("测试大厅" in lines and "社保业务" in lines, "hall and service printed")
            f.eq(raw["qr"], t.get("status_url"), "QR is the ticket's status URL")
            f.eq(raw["cut"], "partial", "cut")
            f.check(not any(ln.get("overflow") for ln in raw["lines"]), "fits 58 mm")
            printers = hall.status().get("printers", [])
            f.eq([p["queue"] for p in printers], ["kiosk-a", "kiosk-b"], "status lists printers")

            # 2. primary out of paper: the backup prints
            a.command("paper end")
            f.check(wait_for(lambda: printer_health(hall, "primary") == "paper_end"),
                    "primary reported paper end")
            st, body = hall.issue("A")
            f.eq(st, 201, "issue with the backup")
            t2 = body.get("ticket", {})
            f.check(b.wait_ticket(1), "ticket printed on the backup")
            lines, _ = texts(b, 1)
            f.check(t2.get("number") in lines, "backup printed it")

            # 3. no printer can print: refused before issuing
            b.command("cover open")
            f.check(wait_for(lambda: printer_health(hall, "backup") == "cover_open"),
                    "backup reported cover open")
            before = hall.status()
            st, body = hall.issue("A")
            f.check(st >= 400, "refused without a printer: %r %r" % (st, body))
            f.check("printer" in json.dumps(body, ensure_ascii=False), "says printer: %r" % body)
            after = hall.status()
            f.eq(json.dumps(after.get("services")), json.dumps(before.get("services")),
                 "no number used up")
            a.command("paper ok")
            b.command("cover closed")
            f.check(wait_for(lambda: printer_health(hall, "primary") == "ok"), "primary ok again")
            st, _ = hall.issue("A")
            f.eq(st, 201, "issue after paper refill")
            f.check(a.wait_ticket(2), "printed after refill")

            # 4. reprint by a clerk
            label = number
            st, body = hall.post("/api/v1/reprint/" + label, {}, token=CLERK)
            f.eq(st, 202, "reprint accepted: %r" % body)
            f.check(a.wait_ticket(3), "reprint printed")
            lines, _ = texts(a, 3)
            f.eq(lines[0] if lines else None, "补打 / REPRINT", "reprint marked first")
            f.check(label in lines, "reprint carries the number")
            st, _ = hall.post("/api/v1/reprint/" + label, {})
            f.eq(st, 401, "reprint needs a clerk token")

        # 5. a bad template stops start-up, naming file and path
        cfg["printer"]["template"] = "ticket.json"
        bad = Hall(cfg)
        with open(os.path.join(bad.dir, "ticket.json"), "w") as fh:
            fh.write('[{"text": "{lable}"}, "cut"]')
        r = subprocess.run([HALLQD, "--config", bad.cfg_path], capture_output=True, text=True,
                           timeout=20)
        f.check(r.returncode != 0, "bad template refused")
        f.check("ticket.json: $[0].text: unknown placeholder {lable}" in r.stderr,
                "message names file and path: %r" % r.stderr[-300:])
        shutil.rmtree(bad.dir, ignore_errors=True)
    except Exception:
        print(cups.log(), file=sys.stderr)
        raise
    finally:
        cups.stop()
        a.stop()
        b.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return f.done()


if __name__ == "__main__":
    sys.exit(main())
