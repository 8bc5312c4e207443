#!/usr/bin/env python3
"""test_sim_devices.py — hallq-sim's idcard, bus and led devices, driven over their ptys the
way hallqd drives real hardware. The frames are built here independently of the C code (XOR /
sum checksums, GB18030 from Python's codec) and checked byte for byte against PROTOCOLS.md.

usage: test_sim_devices.py HALLQ_SIM TESTDATA_DIR
"""
import os
import queue
import select
import subprocess
import sys
import tempfile
import threading
import time
import tty

SIM, DATA = sys.argv[1], sys.argv[2]
failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what, flush=True)


class Sim:
    """One hallq-sim process: records from stdout, commands to stdin, the pty at self.link."""

    def __init__(self, tmp, device, *args):
        self.link = os.path.join(tmp, device + ".tty")
        self.fifo = os.path.join(tmp, device + ".ctl")
        self.logf = os.path.join(tmp, device + ".log")
        self.p = subprocess.Popen([SIM, device, "--pty", self.link, "--control", self.fifo,
                                   "--log", self.logf, *args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  encoding="utf-8")
        self.q = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.expect("ready " + device)
        self.fd = None
        self.open()

    def _pump(self):
        for line in self.p.stdout:
            self.q.put(line.rstrip("\n"))

    def open(self):
        if self.fd is not None:
            os.close(self.fd)
        self.fd = os.open(self.link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def ctl(self, line):
        with open(self.fifo, "w") as f:
            f.write(line + "\n")

    def expect(self, prefix, timeout=3.0):
        """Wait for a record starting with prefix; returns it (None on timeout)."""
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

    def no_record(self, prefix, wait=0.3):
        end = time.time() + wait
        while time.time() < end:
            try:
                line = self.q.get(timeout=0.05)
            except queue.Empty:
                continue
            if line.startswith(prefix):
                return False
        return True

    def send(self, data):
        os.write(self.fd, data)

    def recv(self, n, timeout=2.0, gap=0.15):
        """Read up to n bytes, stopping early after `gap` s of silence once something came."""
        out = b""
        end = time.time() + timeout
        while len(out) < n and time.time() < end:
            r, _, _ = select.select([self.fd], [], [], min(gap, end - time.time()) if out else end - time.time())
            if not r:
                if out:
                    break
                continue
            try:
                out += os.read(self.fd, n - len(out))
            except BlockingIOError:
                pass
        return out

    def drain(self):
        time.sleep(0.05)
        while True:
            try:
                if not os.read(self.fd, 4096):
                    break
            except (BlockingIOError, OSError):
                break

    def close(self):
        self.cmd("quit")
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            check(False, "simulator did not quit")
        if self.fd is not None:
            os.close(self.fd)


# ---------------------------------------------------------------- ID card (§1)

def id_frame(body):
    ln = len(body) + 1
    b = bytes([ln >> 8, ln & 255]) + bytes(body)
    x = 0
    for c in b:
        x ^= c
    return b"\xAA\xAA\xAA\x96\x69" + b + bytes([x])


def id_ok(frame):
    if len(frame) < 11 or frame[:5] != b"\xAA\xAA\xAA\x96\x69":
        return False
    if (frame[5] << 8 | frame[6]) + 7 != len(frame):
        return False
    x = 0
    for c in frame[5:-1]:
        x ^= c
    return x == frame[-1]


FIND = bytes.fromhex("AAAAAA9669000320 0122".replace(" ", ""))
SELECT = bytes.fromhex("AAAAAA96690003200221")
READ = bytes.fromhex("AAAAAA96690003300132")
READ_FP = bytes.fromhex("AAAAAA96690003301023")
NO_CARD = id_frame([0, 0, 0x80, 0, 0, 0, 0])
PRESENT = id_frame([0, 0, 0x9F, 0, 0, 0, 0])
check(FIND == id_frame([0x20, 0x01]) and READ == id_frame([0x30, 0x01]), "command table")


def gb11643_ok(n):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return len(n) == 18 and "10X98765432"[sum(int(a) * b for a, b in zip(n[:17], w)) % 11] == n[17]


def test_idcard(tmp):
    card = open(os.path.join(DATA, "idcard", "resident_elderly.bin"), "rb").read()
    script = os.path.join(tmp, "id.script")
    with open(script, "w") as f:
        f.write("# a script: runs first\nremove\n")
    s = Sim(tmp, "idcard", "--script", script)
    s.expect("card removed")
    s.send(FIND)
    check(s.recv(64) == NO_CARD, "no card: 80")
    s.expect("find-card 80")

    s.cmd("place " + os.path.join(DATA, "idcard", "resident_elderly.bin"))
    s.expect("card placed")
    s.send(FIND[:4])  # split request
    time.sleep(0.05)
    s.send(FIND[4:])
    check(s.recv(64) == PRESENT, "card present: 9F")
    s.send(SELECT)
    sel = s.recv(64)
    check(id_ok(sel) and sel[9] == 0x90, "select: 90")
    s.send(READ)
    got = s.recv(1295)
    check(got == card, "read answers the card file byte for byte")
    s.send(READ_FP)
    fp = s.recv(2321)
    check(len(fp) == 2321 and id_ok(fp) and fp[9] == 0x90, "read with fingerprint: 2321 bytes")
    check(fp[16:16 + 256] == card[14:14 + 256], "fingerprint variant: text at offset 16")
    check(fp[14:16] == b"\x04\x00", "fingerprint length 1024")

    # a request with a bad checksum: SW3 10
    s.send(FIND[:-1] + bytes([FIND[-1] ^ 1]))
    bad = s.recv(64)
    check(id_ok(bad) and bad[9] == 0x10, "bad request checksum: 10")

    # faults, switched through the control FIFO
    s.ctl("fault badsum")
    s.expect("fault badsum")
    s.send(FIND)
    a = s.recv(64)
    check(len(a) == len(PRESENT) and a[:-1] == PRESENT[:-1] and not id_ok(a), "badsum fault")
    s.ctl("fault garbage")
    s.expect("fault garbage")
    s.send(FIND)
    a = s.recv(64)
    check(len(a) > len(PRESENT) and a.endswith(PRESENT), "garbage fault: garbage then the frame")
    s.ctl("fault truncate")
    s.expect("fault truncate")
    s.send(READ)
    a = s.recv(1295, timeout=1.0)
    check(len(a) == 700 and a == card[:700], "truncate fault: 700 bytes")
    s.ctl("fault silence")
    s.expect("fault silence")
    s.send(FIND)
    check(s.recv(64, timeout=0.5) == b"", "silence fault: no answer")
    s.expect("find-card 9F (silent)")

    # unplugged: the link goes away; plugged back: a new pty behind the same name
    s.ctl("fault off")
    s.expect("fault off")
    check(not os.path.exists(s.link), "fault off removes the link")
    s.ctl("fault none")
    s.expect("fault none")
    check(os.path.islink(s.link), "fault none brings the link back")
    s.open()
    s.send(FIND)
    check(s.recv(64) == PRESENT, "answers again after replug")

    # a generated card decodes to what was asked
    s.cmd("generate 张三丰,19400101")
    s.expect("card placed generated")
    s.send(READ)
    g = s.recv(1295)
    check(len(g) == 1295 and id_ok(g), "generated card frame")
    text = g[14:270]
    name = text[0:30].decode("utf-16-le").strip()
    birth = text[36:52].decode("utf-16-le").strip()
    idn = text[122:158].decode("utf-16-le").strip()
    check(name == "张三丰" and birth == "19400101", "generated name and birth")
    check(gb11643_ok(idn) and idn[6:14] == "19400101", "generated ID number is valid")
    s.cmd("generate 约翰,19750420,,I")
    s.expect("card placed generated")
    s.send(READ)
    g = s.recv(1295)
    check(g[14 + 248:14 + 250] == b"I\x00" and
          g[14 + 158:14 + 188].decode("utf-16-le").strip() == "约翰", "generated I card")

    s.cmd("remove")
    s.expect("card removed")
    s.send(FIND)
    check(s.recv(64) == NO_CARD, "removed: 80")
    s.cmd("bogus")
    s.expect("error unknown command")
    s.close()
    log = open(s.logf, encoding="utf-8").read()
    check("find-card 9F" in log and "read 90 1295 bytes" in log, "log file has the records")


# ---------------------------------------------------------------- hall bus (§2)

def bus_frame(addr, func, data):
    ln = 2 + len(data)
    return bytes([0xFF, 0x68, ln, ln, 0x68, addr, func, *data, (addr + func + sum(data)) & 255,
                  0x16])


V = {k: bytes.fromhex(v) for k, v in {
    "call012": "FF 68 06 06 68 03 01 00 01 02 0C 13 16",
    "ticket012": "FF 68 08 08 68 03 02 0A 0A 0A 00 01 02 26 16",
    "waiting7": "FF 68 08 08 68 03 02 00 00 07 0A 0A 0A 2A 16",
    "beep": "FF 68 02 02 68 03 03 06 16",
    "rate5": "FF 68 03 03 68 21 11 05 37 16",
    "ack5": "FF 68 03 03 68 21 01 05 27 16",
    "invite": "FF 68 03 03 68 21 01 0B 2D 16",
}.items()}
check(bus_frame(3, 1, [0, 1, 2, 0x0C]) == V["call012"], "bus frame builder")


def test_bus(tmp):
    s = Sim(tmp, "bus", "--keypads", "3,4", "--pads", "33")
    s.send(V["waiting7"])
    s.expect("display 3 waiting=7 ticket=---")
    for b in V["ticket012"]:  # byte by byte
        s.send(bytes([b]))
    s.expect("display 3 waiting=--- ticket=012")
    s.send(b"\x00\x55" + V["beep"])  # garbage first
    s.expect("beep 3")

    # a key: sent once, resent after 500 ms without echo, then quiet once echoed
    s.cmd("key 3 00 01 02 0C")
    t0 = time.time()
    check(s.recv(13) == V["call012"], "keypad 3 call 012 bytes")
    check(s.recv(13, timeout=1.0) == V["call012"], "resent without echo")
    dt = time.time() - t0
    check(0.35 < dt < 0.9, "resend after about 500 ms (%.2f s)" % dt)
    s.expect("resend 3 00 01 02 0C")
    s.send(V["call012"])  # the host's echo
    s.expect("echo 3 00 01 02 0C")
    check(s.recv(13, timeout=0.8) == b"", "no resend after the echo")
    # an echo lost on the line (miss): the keypad resends, and is quiet once the resend is echoed
    s.cmd("miss 3")
    s.expect("miss 3 1")
    s.cmd("key 3 0D")
    recall = bus_frame(3, 1, [0x0D])
    check(s.recv(10) == recall, "keypad 3 recall bytes")
    s.send(recall)
    s.expect("missed-echo 3 0D")
    check(s.recv(10, timeout=1.0) == recall, "resent after the lost echo")
    s.send(recall)
    s.expect("echo 3 0D")
    check(s.recv(10, timeout=0.8) == b"", "quiet once the resend is echoed")
    # never echoed: 3 resends, then it gives up
    s.cmd("key 4 0C")
    a = s.recv(40, timeout=2.5, gap=0.8)
    check(a == bus_frame(4, 1, [0x0C]) * 4, "1 send + 3 resends")
    s.expect("no-echo 4 0C")

    # rating pad
    s.cmd("rate 33 5")
    check(s.recv(10) == V["rate5"], "pad 33 rating 5 bytes")
    s.send(V["ack5"])
    s.expect("ack 33 5")
    s.send(V["invite"])
    s.expect("invite 33")
    s.send(bus_frame(33, 2, [4]))
    s.expect("stars 33 4")
    s.cmd("autorate 33 4 100")
    s.drain()
    s.send(V["invite"])
    s.expect("invite 33")
    check(s.recv(10) == bus_frame(33, 0x11, [4]), "autorate answers the invitation")
    s.send(bus_frame(33, 1, [4]))
    s.expect("ack 33 4")
    s.cmd("silent 33")
    s.expect("silent 33")
    s.send(V["invite"])
    s.expect("invite 33")
    check(s.recv(10, timeout=0.6) == b"", "a silent pad does not rate")

    # faults: every key (and resend) goes through them; the host's echo still stops the resends
    call = bus_frame(4, 1, [0x0C])
    s.drain()
    s.ctl("fault badsum")
    s.expect("fault badsum")
    s.cmd("key 4 0C")
    a = s.recv(10)
    check(len(a) == 10 and a[:8] == call[:8] and a[8] == call[8] ^ 0xFF and a[9] == 0x16,
          "badsum fault: CS inverted (%s)" % a.hex())
    check(s.recv(10, timeout=1.0) == a, "badsum fault: the resend is as bad")
    s.expect("resend 4 0C")
    s.send(call)
    s.expect("echo 4 0C")
    s.ctl("fault garbage")
    s.expect("fault garbage")
    s.cmd("key 4 0C")
    a = s.recv(40)
    check(len(a) > len(call) and a.endswith(call) and b"\xFF\x68" not in a[:-len(call)],
          "garbage fault: noise without a frame start, then the frame (%s)" % a.hex())
    s.send(call)
    s.expect("echo 4 0C")
    s.ctl("fault truncate")
    s.expect("fault truncate")
    s.cmd("key 4 0C")
    check(s.recv(10) == call[:5], "truncate fault: the first half")
    s.send(call)
    s.expect("echo 4 0C")
    s.ctl("fault silence")
    s.expect("fault silence")
    s.cmd("key 4 0C")
    check(s.recv(10, timeout=0.8) == b"", "silence fault: the keypad sends nothing")
    s.expect("resend 4 0C (silent)")
    s.send(call)  # it still hears
    s.expect("echo 4 0C")
    s.ctl("fault off")
    s.expect("fault off")
    check(not os.path.exists(s.link), "fault off removes the link")
    s.ctl("fault none")
    s.expect("fault none")
    s.open()
    s.cmd("key 4 0C")
    check(s.recv(10) == call, "fault none: whole frames again")
    s.send(call)
    s.expect("echo 4 0C")

    # broken frames are counted, not acted on
    s.send(bytes.fromhex("FF 68 03 03 68 03 01 0C 11 16"))
    s.expect("bad-frame")
    s.send(bus_frame(9, 2, [1]))
    s.expect("unknown-addr 9")
    s.close()


# ---------------------------------------------------------------- LED bar (§3)

def led_frame(addr, cmd, data):
    b = bytes([addr, cmd, len(data) >> 8, len(data) & 255]) + bytes(data)
    x = 0
    for c in b:
        x ^= c
    return b"\xA0\x90" + b + bytes([x])


def cells(text, color):
    out = b""
    for ch in text:
        out += ch.encode("gb18030") + bytes([color])
    return out


VEC = bytes.fromhex("A0 90 03 A5 00 19 41 00 30 00 31 00 32 00 C7 EB 00 B5 BD 00 33 00 BA C5 00 "
                    "B4 B0 00 BF DA 00 C4")
check(led_frame(3, 0xA5, cells("A012请到3号窗口", 0)) == VEC, "LED frame builder")


def test_led(tmp):
    s = Sim(tmp, "led", "--bars", "3,4", "--no-ack", "4")
    s.send(VEC)
    check(s.recv(1) == b"\xAA", "bar 3 acknowledges")
    s.expect('bar 3 show "A012请到3号窗口" red')
    s.send(bytes.fromhex("A0 90 03 A1 00 00 A2"))
    check(s.recv(1) == b"\xAA", "bar 3 acknowledges show-idle")
    s.expect("bar 3 show-idle")
    s.send(led_frame(3, 0xA2, cells("欢迎光临", 1)))
    check(s.recv(1) == b"\xAA", "idle text acknowledged")
    s.expect('bar 3 idle-text "欢迎光临" green')
    f = led_frame(4, 0xA5, cells("B007请到4号窗口", 2))
    for i in range(0, len(f), 5):  # split writes
        s.send(f[i:i + 5])
        time.sleep(0.01)
    s.expect('bar 4 show "B007请到4号窗口" yellow')
    check(s.recv(1, timeout=0.4) == b"", "bar 4 (--no-ack) stays silent")
    s.send(led_frame(0xFF, 0xA5, cells("暂停服务", 0)))
    s.expect('bar * show "暂停服务" red')
    check(s.recv(1, timeout=0.4) == b"", "broadcast is not acknowledged")
    bad = bytearray(VEC)
    bad[-1] ^= 1
    s.send(bytes(bad))
    s.expect("bad-frame checksum=1")
    check(s.recv(1, timeout=0.4) == b"", "a bad frame is not acknowledged")
    # faults on the acknowledgement, the only thing a bar says
    s.ctl("fault garbage")
    s.expect("fault garbage")
    s.send(VEC)
    a = s.recv(16)
    check(len(a) > 1 and a.endswith(b"\xAA") and b"\xAA" not in a[:-1],
          "garbage fault: noise without AA, then AA (%s)" % a.hex())
    s.ctl("fault badsum")
    s.expect("fault badsum")
    s.send(VEC)
    check(s.recv(4) == b"\x55", "badsum fault: a corrupt 55 instead of AA")
    for mode in ("truncate", "silence"):
        s.ctl("fault " + mode)
        s.expect("fault " + mode)
        s.send(VEC)
        s.expect("bar 3 show")
        check(s.recv(1, timeout=0.4) == b"", "%s fault: no acknowledgement" % mode)
    s.ctl("fault none")
    s.expect("fault none")
    s.send(VEC)
    check(s.recv(1) == b"\xAA", "fault none: AA again")
    s.cmd("ack 3 off")
    s.expect("ack 3 off")
    s.send(VEC)
    s.expect('bar 3 show')
    check(s.recv(1, timeout=0.4) == b"", "ack off at run time")
    s.close()


def main():
    with tempfile.TemporaryDirectory(prefix="hq-sim-") as tmp:
        for t in (test_idcard, test_bus, test_led):
            try:
                t(tmp)
            except Exception as e:  # a crash in one device must not hide the others
                check(False, "%s raised %r" % (t.__name__, e))
    print("test_sim_devices: %d checks, %d failed" % (checks, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
