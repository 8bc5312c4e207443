#!/usr/bin/env python3
"""Onbon BX-5E frames: drivers/onbon.c against a second encoder written here from Onbon's
document (onbonlab/BX-V-VI, bx.dual.Aux.Data/5th动态区域用户手册.md), sharing no code with it.

The document publishes one frame, the ping; this encoder must reproduce it before its other
vectors count. Then every case goes both ways: the C encoder's frames must equal these, and
the C lexer and page parser must read back what this encoder built.

usage: test_onbon_vectors.py ONBON_VECTORS_PROGRAM
"""
import random
import struct
import subprocess
import sys

DOC_PING = bytes.fromhex(
    "a5 a5 a5 a5 a5 a5 a5 a5 fe ff 00 80 f0 00 fe ff 00 00 00 00 05 00 00 00 01 A2 00 00 00"
    " C6 86 5a")


def crc16(data):
    """附录1: X^16 + X^15 + X^2 + 1, bit by bit (the document gives it as a table)."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def escape(data):
    """§2.3 字符转义."""
    out = bytearray()
    table = {0xA5: b"\xa6\x02", 0xA6: b"\xa6\x01", 0x5A: b"\x5b\x02", 0x5B: b"\x5b\x01"}
    for b in data:
        out += table.get(b, bytes([b]))
    return bytes(out)


def frame(dst, data, src=0x8000, devtype=0xFFFE, ver=0xF0):
    """§2 + §4: 8 × A5, escaped (16-byte header, DATA, CRC16 LSB first), 5A."""
    header = struct.pack("<HHBBHIi", dst, src, ver, 0, devtype, 0, len(data))
    phy1 = header + data
    phy1 += struct.pack("<H", crc16(phy1))
    return b"\xa5" * 8 + escape(phy1) + b"\x5a"


def ping(dst):
    """§5.5.1: RtnReq 01, CmdGroup A2, Cmd 00, 2 reserved."""
    return frame(dst, bytes([0x01, 0xA2, 0x00, 0x00, 0x00]))


def bitmap(x, w, h, colors, color, lit):
    """附录2 (5E): rows from the top; bit 7 is the left pixel; 0 = lit; the screen bytes the
    area touches are sent whole, bits outside the area 1; two colours: red byte, green byte."""
    stride = (w + 7) // 8
    first, last = x // 8, (x + w - 1) // 8
    out = bytearray()
    for r in range(h):
        for k in range(first, last + 1):
            for ch in range(colors):
                byte = 0
                for bit in range(8):
                    sx = k * 8 + bit
                    c = sx - x
                    # single colour: one plane, lit in any colour (单色时不对绿像素进行编码)
                    on = (0 <= c < w and lit[r * stride + c // 8] & (0x80 >> (c % 8))
                          and (colors == 1 or color & (1 << ch)))
                    if not on:
                        byte |= 0x80 >> bit
                out.append(byte)
    return bytes(out)


def area_data(area_id, x, y, w, h, colors, color, lit):
    """§5.4.1 更新动态区域信息, one still page, no border, played alone (ImmePlay 1) in a
    loop (RunMode 0). PageDataLen counts the page's bytes after that field."""
    pic = bitmap(x, w, h, colors, color, lit)
    page = struct.pack("<BBBBHBH4x", 0x00, 0x01, 0x00, 0x00, 100, 1, w) + pic
    area = struct.pack("<BBHBH", area_id, 0, 0, 0, 0)          # id, RunMode, Timeout, rel
    area += struct.pack("<B4xB", 1, 0x10)                      # ImmePlay, reserved, AreaType
    area += struct.pack("<HHHH", x, y, w, h)
    area += struct.pack("<B", 0x00)                            # AreaFFlag
    area += struct.pack("<H", 1)                               # PageNum
    area += struct.pack("<I", len(page)) + page
    return struct.pack("<BBBHI", 0x01, 0xA7, 0x00, 0, len(area)) + area


def main():
    prog = sys.argv[1]
    fails = 0
    checks = 0

    def check(ok, what):
        nonlocal fails, checks
        checks += 1
        if not ok:
            fails += 1
            print("FAIL:", what, file=sys.stderr)

    # This encoder first proves itself on the one published frame.
    check(ping(0xFFFE) == DOC_PING, "python encoder reproduces the document's ping")

    rnd = random.Random(20261207)
    requests, expected = [], []

    def ask(line, want, what):
        requests.append(line)
        expected.append((want, what))

    for dst in (0xFFFE, 1, 0x00A5, 0x5A5B, 0xA65B):
        ask("ping %d" % dst, ping(dst).hex(), "ping %#x" % dst)
    for n in (0, 1, 5, 17, 300):
        data = bytes(rnd.choice((0xA5, 0xA6, 0x5A, 0x5B, rnd.randrange(256))) for _ in range(n))
        dst, src, typ = rnd.randrange(65536), rnd.randrange(65536), rnd.randrange(65536)
        ask("packet %d %d %d %s" % (dst, src, typ, data.hex() or "-"),
            frame(dst, data, src, typ).hex(), "packet of %d bytes" % n)
    areas = [(0, 0, 0, 64, 16, 1, 1), (1, 3, 2, 13, 3, 2, 2), (2, 8, 0, 96, 16, 2, 3),
             (3, 5, 7, 30, 12, 1, 2), (0, 0, 0, 128, 32, 2, 1), (0, 7, 0, 1, 1, 1, 3)]
    area_lits = []
    for (aid, x, y, w, h, colors, color) in areas:
        lit = bytes(rnd.randrange(256) for _ in range((w + 7) // 8 * h))
        # bits right of the area in the last byte of a row are not pixels: keep them clear
        lit = bytes(b & (0xFF << (8 - w % 8) & 0xFF if (i % ((w + 7) // 8) == (w + 7) // 8 - 1
                                                        and w % 8) else 0xFF)
                    for i, b in enumerate(lit))
        area_lits.append(lit)
        dst = rnd.randrange(1, 65535)
        ask("area %d %d %d %d %d %d %d %d %s" % (dst, aid, x, y, w, h, colors, color, lit.hex()),
            frame(dst, area_data(aid, x, y, w, h, colors, color, lit)).hex(),
            "area %dx%d at %d,%d, %d colours" % (w, h, x, y, colors))
    # The lexer on this encoder's frames: garbage, a stream split nowhere in particular.
    a_data = bytes([0x01, 0xA7, 0xA5, 0x5A, 0x00])
    b_data = bytes([0x00, 0xA0, 0x00, 0, 0, 0, 0, 0, 0])
    a = frame(0x0102, a_data)
    b = frame(0x8000, b_data, src=3)
    want_a = "frame 258 32768 65534 %s;" % a_data.hex()
    want_b = "frame 32768 3 65534 %s;" % b_data.hex()
    ask("lex " + (b"\x00\x13\x37" + a + b).hex(), want_a + want_b + "bad 0 0 0 garbage 3",
        "lexer: garbage then two frames")
    bad = bytearray(a)
    bad[-3] ^= 0x01  # a CRC byte (no escape pair in this frame's CRC)
    ask("lex " + (bytes(bad) + b).hex(), want_b + "bad 1 0 0 garbage 0", "lexer: bad CRC")
    # A frame cut by a new head, and a stray escape.
    ask("lex " + (a[:-4] + b).hex(), want_b + "bad 0 0 1 garbage 0", "lexer: lost tail")
    ask("lex " + (b"\xa5" * 8 + b"\x01\xa6\x07\x5a" + b).hex(), want_b + "bad 0 1 0 garbage 0",
        "lexer: bad escape")
    # The page parser on this encoder's pages.
    for (aid, x, y, w, h, colors, color), lit in zip(areas, area_lits):
        ask("parse %d %s" % (colors, area_data(aid, x, y, w, h, colors, color, lit).hex()),
            "area %d %d %d %d %d %d %s" % (aid, x, y, w, h,
                                           (color if colors == 2 else 1) if any(lit) else 0,
                                           lit.hex()),
            "parse %dx%d" % (w, h))

    out = subprocess.run([prog], input="\n".join(r.replace(" -", " ") for r in requests) + "\n",
                         capture_output=True, text=True, check=True, timeout=30).stdout
    got = out.splitlines()
    check(len(got) == len(requests), "one answer per request (%d, %d)" % (len(got), len(requests)))
    for (want, what), g in zip(expected, got):
        check(g == want, "%s:\n  want %s\n  got  %s" % (what, want[:200], g[:200]))
    print("test_onbon_vectors: %d checks, %d failed" % (checks, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
