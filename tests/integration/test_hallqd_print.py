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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cupsd import PrivateCupsd  # noqa: E402
from hallq import BASE_CONFIG, CLERK, HALLQD, MANAGER, Failures, Hall, wait_for  # noqa: E402
from printer_sim import PrinterSim  # noqa: E402

f = Failures("test_hallqd_print")


def printer_health(hall, role):
    for p in hall.status().get("printers", []):
        if p["role"] == role:
            return p["health"]
    return None


def printer_device(hall, role):
    """The printer on the shared device health model (health.h): {"health", "reason", ...}."""
    for p in hall.status().get("printers", []):
        if p["role"] == role:
            return p.get("device") or {}
    return {}


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
            # the footer states this hall's no-show rule (no_show_requeue false here)
            joined = " ".join(x.strip() for x in lines)
            f.check("过号请重新取号" in joined and "重新排到队尾" not in joined,
                    "footer: take a new ticket, in %r" % lines)
            f.eq(joined.count("过号请重新取号"), 1, "the rule printed once (stock notice not repeated)")
            printers = hall.status().get("printers", [])
            f.eq([p["queue"] for p in printers], ["kiosk-a", "kiosk-b"], "status lists printers")
            dev = printer_device(hall, "primary")
            f.eq(dev.get("health"), "online", "primary online on the shared health model: %r" % dev)
            f.check(dev.get("since"), "the time its health last changed: %r" % dev)

            # 2. primary out of paper: the backup prints
            a.command("paper end")
            f.check(wait_for(lambda: printer_health(hall, "primary") == "paper_end"),
                    "primary reported paper end")
            dev = printer_device(hall, "primary")
            f.eq(dev.get("health"), "faulty", "paper end is a fault on the shared model: %r" % dev)
            f.eq(dev.get("reason"), "paper_end", "with its reason: %r" % dev)
            f.eq(printer_device(hall, "backup").get("health"), "online", "the backup still online")
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
            f.eq(printer_device(hall, "primary").get("health"), "online", "primary online again")
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

        # 6. kiosks with printers of their own (printer.kiosks): k1 prints on a, k2 on b,
        # the hall's own printer is c; a ticket naming no kiosk prints on c.
        c = PrinterSim(sim_bin, os.path.join(tmp, "c"), width=58)
        try:
            cups.add_raw_queue("hall-c", "socket://127.0.0.1:%d" % c.port)
            kcfg = copy.deepcopy(BASE_CONFIG)
            kcfg["printer"] = {
                "queue": "hall-c", "status_link": "tcp://127.0.0.1:%d" % c.port,
                "cups_server": cups.socket, "width_mm": 58, "job_timeout_s": 10,
                "status_interval_s": 1,
                "kiosks": [{"kiosk": "k1", "queue": "kiosk-a",
                            "status_link": "tcp://127.0.0.1:%d" % a.port},
                           {"kiosk": "k2", "queue": "kiosk-b",
                            "status_link": "tcp://127.0.0.1:%d" % b.port}],
            }
            na, nb, nc = a.count(), b.count(), c.count()
            with Hall(kcfg) as hall:
                prs = {p["queue"]: p for p in hall.status().get("printers", [])}
                f.eq(sorted((q, p["role"], p.get("kiosk")) for q, p in prs.items()),
                     [("hall-c", "primary", None), ("kiosk-a", "kiosk", "k1"),
                      ("kiosk-b", "kiosk", "k2")], "status: the hall's and the kiosks' printers")
                for kiosk, sim, n in (("k1", a, na + 1), ("k2", b, nb + 1), (None, c, nc + 1)):
                    extra = {"kiosk": kiosk} if kiosk else {}
                    st, body = hall.issue("A", channel="kiosk", **extra)
                    f.eq(st, 201, f"issue at {kiosk}")
                    f.check(sim.wait_ticket(n), f"the ticket of {kiosk} printed on its printer")
                    lines, _ = texts(sim, n)
                    f.check(body.get("ticket", {}).get("number") in lines,
                            f"{kiosk}: its number on its paper")
                # k2's paper ends: its tickets go to the hall's printer; k1 is untouched
                b.command("paper end")
                f.check(wait_for(lambda: any(p.get("kiosk") == "k2" and p["health"] == "paper_end"
                                             for p in hall.status()["printers"])),
                        "k2's printer reported paper end")
                st, body = hall.issue("A", channel="kiosk", kiosk="k2")
                f.eq(st, 201, "k2 issues on the hall's printer")
                f.check(c.wait_ticket(nc + 2), "k2's ticket on the hall's printer")
                # the hall's printer's cover opens too: k2 refuses before issuing, k1 goes on
                c.command("cover open")
                f.check(wait_for(lambda: printer_health(hall, "primary") == "cover_open"),
                        "hall printer reported cover open")
                before = hall.status()["services"]
                st, body = hall.issue("A", channel="kiosk", kiosk="k2")
                f.eq(st, 503, "k2 refused with no printer: %r" % body)
                f.eq(hall.status()["services"], before, "no number used up at k2")
                st, body = hall.issue("A", channel="kiosk", kiosk="k1")
                f.eq(st, 201, "k1 still issues")
                f.check(a.wait_ticket(na + 2), "k1's ticket on its own printer")
                st, ov = hall.get("/api/v1/admin/overview", token=MANAGER)
                keys = {x["key"]: x for x in ov.get("alarms", [])}
                f.check("printer:kiosk:k2:paper_end" in keys and
                        keys["printer:kiosk:k2:paper_end"]["message"].startswith("取号机 k2 打印机"),
                        "dashboard alarm names kiosk k2: %r" % list(keys))
                # a reprint asked for at k1 comes out at k1
                num = body.get("ticket", {}).get("number")
                st, _ = hall.post("/api/v1/reprint/" + num, {"kiosk": "k1"}, token=CLERK)
                f.eq(st, 202, "reprint at k1")
                f.check(a.wait_ticket(na + 3), "reprint printed at k1")
                f.eq(texts(a, na + 3)[0][0], "补打 / REPRINT", "marked as a reprint")
                b.command("paper ok")
                c.command("cover closed")
            # configuration mistakes are named
            for kiosks, want in (
                ([{"kiosk": "k1", "queue": "x"}, {"kiosk": "k1", "queue": "y"}],
                 "$.printer.kiosks[1].kiosk: kiosk \"k1\" already has a printer"),
                ([{"kiosk": "k1", "queue": "hall-c"}],
                 "$.printer.kiosks[0].queue: is the hall's main printer's queue"),
            ):
                bad_cfg = copy.deepcopy(kcfg)
                bad_cfg["printer"]["kiosks"] = kiosks
                bad = Hall(bad_cfg)
                r = subprocess.run([HALLQD, "--check-config", bad.cfg_path], capture_output=True,
                                   text=True, timeout=20)
                f.check(r.returncode != 0 and want in r.stderr, "%s: %r" % (want, r.stderr))
                shutil.rmtree(bad.dir, ignore_errors=True)
        finally:
            c.stop()

        # 7. a status link on a serial port of the printer's own (a pty here): paper end read
        # there refuses the kiosk before issuing; paper back, tickets again.
        pty = os.path.join(tmp, "status.pty")
        d = PrinterSim(sim_bin, os.path.join(tmp, "d"), width=58, status_pty=pty)
        try:
            cups.add_raw_queue("serial-d", "socket://127.0.0.1:%d" % d.port)
            scfg = copy.deepcopy(BASE_CONFIG)
            scfg["printer"] = {"queue": "serial-d", "status_link": "pty:%s@19200" % pty,
                               "cups_server": cups.socket, "width_mm": 58, "job_timeout_s": 10,
                               "status_interval_s": 1}
            scfg["queue"] = dict(scfg["queue"], no_show_requeue=True)
            with Hall(scfg) as hall:
                f.check(wait_for(lambda: (hall.status()["printers"] or [{}])[0].get("link") == "ok"),
                        "serial status link answers ok: %r" % hall.status().get("printers"))
                d.command("paper end")
                f.check(wait_for(lambda: printer_health(hall, "primary") == "paper_end"),
                        "paper end read over the serial link")
                st, body = hall.issue("A", channel="kiosk")
                f.eq(st, 503, "refused before issuing: %r" % body)
                d.command("paper ok")
                f.check(wait_for(lambda: printer_health(hall, "primary") == "ok"), "paper back")
                d.command("offline")
                f.check(wait_for(lambda: printer_health(hall, "primary") == "offline"),
                        "a mute serial link is an offline printer")
                f.eq(printer_device(hall, "primary").get("health"), "offline",
                     "offline on the shared health model too")
                d.command("online")
                f.check(wait_for(lambda: printer_health(hall, "primary") == "ok"), "online again")
                st, body = hall.issue("A", channel="kiosk")
                f.eq(st, 201, "issue once the printer is back")
                f.check(d.wait_ticket(1), "printed")
                # a hall that re-queues no-shows never prints "take a new ticket"
                joined = " ".join(x.strip() for x in texts(d, 1)[0])
                f.check("重新排到队尾" in joined and "过号请重新取号" not in joined,
                        "footer: back in the queue, in %r" % joined)
        finally:
            d.stop()

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
