#!/usr/bin/env python3
"""test_sim_onbon.py — `hallq-sim onbon` driven over its pty with frames from the independent
Python encoder of test_onbon_vectors.py (written from Onbon's document, no C shared): it must
answer the document's ping, take pages (also split, after line noise), record and write what
each screen shows, ignore other addresses, refuse on command and misbehave in fault modes.

usage: test_sim_onbon.py HALLQ_SIM
"""
import os
import queue
import select
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tty

from test_onbon_vectors import DOC_PING, area_data, crc16, frame, ping

SIM = sys.argv[1]
failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what, flush=True)


def unframe(raw):
    """Every frame in raw (this side's own decoder): list of (dst, src, data) or 'bad'."""
    out = []
    for part in raw.split(b"\x5a")[:-1]:
        body = part.lstrip(b"\x00\x13\xa6\xff").lstrip(b"\xa5")
        dec = bytearray()
        i = 0
        ok = True
        while i < len(body):
            b = body[i]
            if b in (0xA6, 0x5B):
                if i + 1 >= len(body) or body[i + 1] not in (1, 2):
                    ok = False
                    break
                dec.append(b if body[i + 1] == 1 else b - 1)
                i += 2
            else:
                dec.append(b)
                i += 1
        if not ok or len(dec) < 18 or crc16(dec[:-2]) != struct.unpack("<H", dec[-2:])[0]:
            out.append("bad")
            continue
        dst, src = struct.unpack("<HH", dec[:4])
        out.append((dst, src, bytes(dec[16:-2])))
    return out


ACK = bytes([0x00, 0xA0, 0x00, 0, 0, 0, 0, 0, 0])


def nack(err):
    return bytes([0x00, 0xA0, 0x01, 1, 0]) + struct.pack("<H", err) + b"\x00\x00"


class Sim:
    def __init__(self, tmp, *args):
        self.link = os.path.join(tmp, "onbon.tty")
        self.p = subprocess.Popen([SIM, "onbon", "--pty", self.link, *args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  encoding="utf-8")
        self.q = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.expect("ready onbon")
        self.fd = os.open(self.link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)

    def _pump(self):
        for line in self.p.stdout:
            self.q.put(line.rstrip("\n"))

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def expect(self, prefix, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            try:
                line = self.q.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                break
            if line.startswith(prefix):
                return line
        check(False, "record '%s' never came" % prefix)
        return None

    def send(self, data):
        os.write(self.fd, data)

    def recv(self, timeout=3.0, gap=0.3):
        out = b""
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([self.fd], [], [], gap if out else end - time.time())
            if not r:
                if out:
                    break
                continue
            try:
                out += os.read(self.fd, 65536)
            except BlockingIOError:
                pass
        return out

    def close(self):
        self.cmd("quit")
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            check(False, "simulator did not quit")
        os.close(self.fd)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        pbm = os.path.join(tmp, "pbm")
        os.mkdir(pbm)
        s = Sim(tmp, "--screens", "1,2", "--two-color", "2", "--pbm", pbm)
        # The document's ping (wildcard address): each screen answers ACK from its address.
        s.send(DOC_PING)
        s.expect("screen 1 ping")
        s.expect("screen 2 ping")
        got = unframe(s.recv())
        check(got == [(0x8000, 1, ACK), (0x8000, 2, ACK)], "ACKs to the wildcard ping: %r" % got)

        # A 16 × 8 page with a diagonal, after noise, in three bites.
        lit = b"".join(bytes([0x80 >> r, 0x00]) for r in range(8))
        f = frame(1, area_data(0, 0, 0, 16, 8, 1, 1, lit))
        data = b"\x00\x13" + f
        for a, b in ((0, 5), (5, 40), (40, len(data))):
            s.send(data[a:b])
            time.sleep(0.05)
        rec = s.expect("screen 1 area 0 16x8 at 0,0 lit lit=8 ")
        check(rec is not None, "page recorded")
        check(unframe(s.recv()) == [(0x8000, 1, ACK)], "page acknowledged")
        with open(os.path.join(pbm, "screen-1.pbm"), "rb") as fh:
            img = fh.read()
        check(img == b"P4\n16 8\n" + lit, "PBM of screen 1: %r" % img[:40])
        s.cmd("show 1")
        row0 = s.expect("screen 1 row 00 ")
        check(row0 == "screen 1 row 00 #...............", "show row 0: %r" % row0)
        row7 = s.expect("screen 1 row 07 ")
        check(row7 == "screen 1 row 07 .......#........", "show row 7: %r" % row7)

        # Two colours, yellow, at an odd x on screen 2.
        lit2 = bytes([0xF0, 0x0F]) * 4
        s.send(frame(2, area_data(0, 3, 0, 16, 4, 2, 3, lit2)))
        s.expect("screen 2 area 0 16x4 at 3,0 yellow lit=32 ")
        check(unframe(s.recv()) == [(0x8000, 2, ACK)], "two-colour page acknowledged")

        # Another address: recorded, not answered. A bad CRC: recorded as a bad frame.
        s.send(ping(9))
        s.expect("other 9 group=A2")
        check(s.recv(timeout=0.6) == b"", "no answer for screen 9")
        bad = bytearray(ping(1))
        bad[-2] ^= 0x01
        s.send(bytes(bad))
        s.expect("bad-frame crc=1")
        check(s.recv(timeout=0.6) == b"", "no answer to a bad frame")

        # Told to refuse: NACK with the error number, in the document's format.
        s.cmd("nack 1 18")
        s.expect("nack 1 18")
        s.send(ping(1))
        s.expect("screen 1 nack 18")
        check(unframe(s.recv()) == [(0x8000, 1, nack(18))], "NACK 18")
        s.cmd("nack 1 off")
        s.expect("nack 1 off")

        # Fault modes: a broken CRC; noise before the answer; silence.
        s.cmd("fault badsum")
        s.expect("fault badsum")
        s.send(ping(1))
        s.expect("screen 1 ping")
        check(unframe(s.recv()) == ["bad"], "badsum answer is bad")
        s.cmd("fault garbage")
        s.expect("fault garbage")
        s.send(ping(2))
        s.expect("screen 2 ping")
        raw = s.recv()
        check(raw.startswith(b"\x00\x5a\x13\xa6\xff") and raw.endswith(b"\x5a"), "noise first")
        s.cmd("fault silence")
        s.expect("fault silence")
        s.send(ping(2))
        s.expect("screen 2 ping (silent)")
        check(s.recv(timeout=0.6) == b"", "silent")
        s.close()
    print("test_sim_onbon: %d checks, %d failed" % (checks, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
