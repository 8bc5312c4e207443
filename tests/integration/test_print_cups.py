"""test_print_cups.py — a ticket through a private cupsd to the printer simulator.

1. hal/print_cups (driven by hq-print-submit) sends a golden ticket to a raw
   queue; the job completes and the simulator received the bytes unchanged.
2. CUPS's printer status and the DLE EOT status link read the printer's state.
3. With the simulator offline the job hangs in CUPS; after its timeout the
   worker cancels it and reports a printer fault.
4. A dead printer holds up only its own queue, and its queued jobs fail at once after
   the first one's timeout.
usage: test_print_cups.py HALLQ_SIM_BINARY SUBMIT_BINARY TESTDATA_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cupsd import PrivateCupsd  # noqa: E402
from printer_sim import PrinterSim  # noqa: E402

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


def submit(binary, *args):
    r = subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=90)
    if r.returncode != 0:
        print(r.stderr, file=sys.stderr)
        return {}
    return json.loads(r.stdout)


def main():
    sim_bin, submit_bin, data = sys.argv[1:4]
    golden = os.path.join(data, "escpos", "ticket58.bin")
    tmp = tempfile.mkdtemp(prefix="hq-print-cups-")
    sim = PrinterSim(sim_bin, os.path.join(tmp, "out"), width=58)
    cups = PrivateCupsd()
    try:
        cups.start()
        cups.add_raw_queue("hq-tickets", "socket://127.0.0.1:%d" % sim.port)
        link = "tcp://127.0.0.1:%d" % sim.port

        # 1. the job completes and the bytes arrive intact
        r = submit(submit_bin, "--server", cups.socket, "--queue", "hq-tickets",
                   "--file", golden, "--timeout", "30000")
        check(r.get("err") == "ok" and r.get("job_id", 0) > 0, "job completed: %r" % r)
        check(sim.wait_ticket(1), "the simulator printed the ticket")
        raw = [f for f in sorted(os.listdir(sim.out_dir)) if f.startswith("conn-")]
        got = b"".join(open(os.path.join(sim.out_dir, f), "rb").read() for f in raw)
        check(got == open(golden, "rb").read(), "bytes intact through CUPS (%d bytes)" % len(got))
        t = json.load(open(sim.ticket_path(1)))
        check(t["lines"][4]["text"] == "A012" and t["cut"] == "partial", "decoded ticket")

        # 2. status from CUPS and from the printer itself
        r = submit(submit_bin, "--server", cups.socket, "--queue", "hq-tickets",
                   "--printer-status")
        check(r.get("err") == "ok" and r.get("state") == 3 and r.get("accepting") is True,
              "CUPS: idle and accepting: %r" % r)
        check(r.get("health") == "ok", "CUPS health ok")
        r = submit(submit_bin, "--server", cups.socket, "--queue", "no-such-queue",
                   "--printer-status")
        check(r.get("err") == "not_found", "unknown queue: %r" % r)
        r = submit(submit_bin, "--link", link, "--timeout", "2000")
        check(r.get("answered") is True and r.get("health") == "ok", "link ok: %r" % r)
        sim.command("paper near-end")
        check(submit(submit_bin, "--link", link).get("health") == "near_end", "link near end")
        sim.command("paper end")
        check(submit(submit_bin, "--link", link).get("health") == "paper_end", "link paper end")
        sim.command("paper ok")
        sim.command("cover open")
        check(submit(submit_bin, "--link", link).get("health") == "cover_open", "link cover")
        sim.command("cover closed")

        # 3. offline printer: the job hangs, times out, is cancelled: a fault
        sim.command("offline")
        r = submit(submit_bin, "--link", link, "--timeout", "800")
        check(r.get("answered") is False and r.get("health") == "offline", "link offline: %r" % r)
        start = time.time()
        r = submit(submit_bin, "--server", cups.socket, "--queue", "hq-tickets",
                   "--file", golden, "--timeout", "3000")
        took = time.time() - start
        check(r.get("err") == "printer", "offline job is a printer fault: %r" % r)
        check("cancelled" in r.get("detail", ""), "the job was cancelled: %r" % r.get("detail"))
        check(2.5 < took < 30, "fault after the timeout (%.1f s)" % took)
        job = r.get("job_id", 0)
        out = subprocess.run(["lpstat", "-h", cups.socket, "-W", "completed", "-o", "hq-tickets"],
                             capture_output=True, text=True).stdout
        active = subprocess.run(["lpstat", "-h", cups.socket, "-o", "hq-tickets"],
                                capture_output=True, text=True).stdout
        check("hq-tickets-%d " % job not in active, "cancelled job no longer active: %r" % active)
        check("hq-tickets-%d " % job in out, "cancelled job is in the finished list: %r" % out)
        # 4. a dead printer holds up only its own queue: with this printer still offline, two
        # jobs for it and one for a live printer; the live one is done first, the dead
        # queue's first job times out and the second is failed at once after it (it was
        # handed over before the first failed), not after a second timeout.
        live = PrinterSim(sim_bin, os.path.join(tmp, "live"))
        try:
            cups.add_raw_queue("hq-live", "socket://127.0.0.1:%d" % live.port)
            r = subprocess.run([submit_bin, "--server", cups.socket, "--queue", "hq-tickets",
                                "--file", golden, "--timeout", "3000", "--also", "hq-tickets",
                                "--also", "hq-live"], capture_output=True, text=True, timeout=90)
            res = [json.loads(line) for line in r.stdout.splitlines()]
            check([x.get("tag") for x in res] == [44, 42, 43],
                  "the live queue's job first, then the dead queue's two: %r" % res)
            by_tag = {x.get("tag"): x for x in res}
            check(by_tag.get(44, {}).get("err") == "ok" and live.wait_ticket(1),
                  "the live printer printed: %r" % by_tag.get(44))
            check("not printed after 3000 ms" in by_tag.get(42, {}).get("detail", ""),
                  "the first dead job timed out: %r" % by_tag.get(42))
            check(by_tag.get(43, {}).get("err") == "printer" and
                  "the job before it on hq-tickets did not print" in
                  by_tag.get(43, {}).get("detail", ""),
                  "the second dead job failed at once: %r" % by_tag.get(43))
        finally:
            live.stop()
        sim.command("online")
        check(not sim.wait_ticket(2, timeout=2), "the cancelled tickets never printed")
    except Exception:
        print(cups.log(), file=sys.stderr)
        raise
    finally:
        cups.stop()
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("test_print_cups: %s" % ("ok" if not failures else "%d failures" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
