"""test_printer_sim.py — the printer simulator receives golden tickets over TCP.

Checks that the simulator's JSON has the texts, sizes and QR payload of the
golden ticket, that the QR drawn in its PNG scans (zbarimg) to the same URL,
and that DLE EOT answers follow the switched paper / cover / online state.
usage: test_printer_sim.py HALLQ_SIM_BINARY TESTDATA_DIR
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from printer_sim import PrinterSim  # noqa: E402

URL = "https://hall.example/t/3f2a9c1e-5b7d-4e21-9a0c-6d8e2f1b4c7a"
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


def send(sim, data):
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as s:
        s.sendall(data)


def main():
    binary, data = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="hq-printer-sim-")
    sim = PrinterSim(binary, os.path.join(tmp, "out"), width=80)
    try:
        # 1. a golden 80 mm ticket, sent in two pieces split inside a Chinese character
        blob = open(os.path.join(data, "escpos", "ticket80.bin"), "rb").read()
        cut = blob.index(bytes.fromhex("C4B3")) + 1
        with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as s:
            s.sendall(blob[:cut])
            time.sleep(0.1)
            s.sendall(blob[cut:])
        check(sim.wait_ticket(1), "ticket 1 written")
        t = json.load(open(sim.ticket_path(1)))
        texts = [ln.get("text") for ln in t["lines"] if "text" in ln]
        check(texts[0] == "某某市政务服务中心", "hall name line: %r" % texts[:1])
        check("A012" in texts, "number line")
        label = [ln for ln in t["lines"] if ln.get("text") == "A012"][0]
        check(label["w"] == 6 and label["h"] == 6 and label["bold"], "number at 6x6 bold")
        check(label["align"] == "center", "number centred")
        check(t["qr"] == URL and t["qr_ec"] == "M" and t["qr_model"] == 2, "QR payload %r" % t["qr"])
        check(t["cut"] == "partial", "partial cut")
        check(t["chinese"] and not t["non_gb"], "Chinese mode text")
        check(not any(ln.get("overflow") for ln in t["lines"]), "no line wider than 80 mm")
        png = sim.ticket_path(1, "png")
        check(os.path.getsize(png) > 1000, "PNG written")
        z = subprocess.run(["zbarimg", "--raw", "-q", png], capture_output=True, text=True)
        check(z.returncode == 0 and z.stdout.strip() == URL, "zbarimg reads %r" % z.stdout)

        # 2. status replies follow the switched state (fixed bits 0x12)
        check(sim.status(1) == 0x12 and sim.status(2) == 0x12 and sim.status(4) == 0x12,
              "all clear: 12 12 12")
        sim.command("paper near-end")
        check(sim.status(4) == 0x1E, "near end: n=4 bits 2-3")
        check(sim.status(1) == 0x12, "near end still prints")
        sim.command("paper end")
        check(sim.status(4) == 0x7E, "paper end: n=4 bits 5-6 (and near end)")
        check(sim.status(2) == 0x32, "paper end: n=2 bit 5")
        check(sim.status(1) == 0x1A, "paper end: n=1 offline bit 3")

        # 3. a ticket sent without paper is held, and comes out with new paper
        send(sim, open(os.path.join(data, "escpos", "reprint58.bin"), "rb").read())
        time.sleep(0.5)
        check(not os.path.exists(sim.ticket_path(2)), "no ticket without paper")
        sim.command("paper ok")
        check(sim.wait_ticket(2), "held ticket printed after paper ok")
        t2 = json.load(open(sim.ticket_path(2)))
        check(t2["lines"][0]["text"] == "补打 / REPRINT", "reprint mark first")

        sim.command("cover open")
        check(sim.status(2) == 0x16, "cover open: n=2 bit 2")
        check(sim.status(1) == 0x1A, "cover open: offline bit")
        sim.command("cover closed")
        check(sim.status(2) == 0x12, "cover closed")

        # 4. offline: an open connection drops with its unprinted data, new
        # ones are refused; back online the printer answers again
        s = socket.create_connection(("127.0.0.1", sim.port), timeout=3)
        s.sendall(blob[:200])
        time.sleep(0.2)
        sim.command("offline")
        check(s.recv(1) == b"", "offline drops the open connection")
        s.close()
        check(sim.status(1, timeout=0.7) is None, "offline printer does not answer")
        try:
            socket.create_connection(("127.0.0.1", sim.port), timeout=1).close()
            check(False, "offline printer refuses connections")
        except OSError:
            pass
        sim.command("online")
        check(sim.status(1) == 0x12, "answers once back online")
        time.sleep(0.3)
        check(not os.path.exists(sim.ticket_path(3)), "the half-sent ticket was lost, not printed")
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("test_printer_sim: %s" % ("ok" if not failures else "%d failures" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
