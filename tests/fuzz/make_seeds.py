#!/usr/bin/env python3
"""Writes the hand-made seed inputs of tests/fuzz/corpus/ (run once; the files are checked in).

Seeds are well-formed examples built from the protocol descriptions in PROTOCOLS.md and the
unit tests' vectors, plus copies of tests/data/ files; libFuzzer mutates from there.
"""
import os
import shutil
import struct
import zlib

top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
corpus = os.path.join(top, "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def hallbus(addr, func, data):
    body = bytes([addr, func]) + bytes(data)
    n = 2 + len(data)
    return bytes([0xFF, 0x68, n, n, 0x68]) + body + bytes([sum(body) & 0xFF, 0x16])


def ledbar(addr, cmd, data):
    body = bytes([addr, cmd, len(data) >> 8, len(data) & 0xFF]) + data
    x = 0
    for b in body:
        x ^= b
    return b"\xA0\x90" + body + bytes([x])


def slip(typ, body):
    raw = typ.encode() + body
    raw += struct.pack("<I", zlib.crc32(raw) & 0xFFFFFFFF)
    esc = raw.replace(b"\xDB", b"\xDB\xDD").replace(b"\xC0", b"\xDB\xDC")
    return b"\xC0" + esc + b"\xC0"


# SAM answers: the sample cards (tests/data/idcard, see its README).
for f in sorted(os.listdir(os.path.join(top, "tests/data/idcard"))):
    if f.endswith(".bin"):
        shutil.copy(os.path.join(top, "tests/data/idcard", f), os.path.join(corpus, "idcard", f))
put("idcard", "find_card_9f", bytes.fromhex("AAAAAA9669000400009F9B"))

# Hall bus: keypad keys of the §2 table and rating frames, split and joined.
put("hallbus", "call_next", hallbus(3, 1, [0x0C]))
put("hallbus", "call_number", hallbus(3, 1, [0, 1, 2, 0x0C]))
put("hallbus", "login", hallbus(4, 1, [1, 0, 0, 1, 0x0F]))
put("hallbus", "no_show", hallbus(4, 1, [6, 0x0F]))
put("hallbus", "transfer_svc", hallbus(5, 1, [2, 0x13]))
put("hallbus", "rating", hallbus(0x21, 0x11, [4]) + hallbus(0x21, 0x11, [4]))
put("hallbus", "noise_then_key", b"\x00\xFF\x68\x02" + hallbus(7, 1, [0x0D]))
put("hallbus", "padmap", "1=1,2=3,3=4,4=5")

# LED bar: frames the host sends (GB18030 text cells), acknowledgements, templates.
cells = b""
for ch in "A012 请到3号窗口":
    g = ch.encode("gb18030")
    cells += g + b"\x01"
put("ledbar", "show", ledbar(3, 0xA5, cells))
put("ledbar", "store_idle", ledbar(0xFF, 0xA2, b"W\x00e\x00"))
put("ledbar", "show_idle_ack", ledbar(3, 0xA1, b"") + b"\xAA")
put("ledbar", "template", "{ticket} 请到{window}号窗口\0A012")
put("ledbar", "template_braces", "{{{name}}} 欢迎光临\0B7")

# ESC/POS: the golden tickets (tests/data/escpos, see its README) and a status query.
for f in sorted(os.listdir(os.path.join(top, "tests/data/escpos"))):
    if f.endswith(".bin"):
        shutil.copy(os.path.join(top, "tests/data/escpos", f), os.path.join(corpus, "escpos", f))
put("escpos", "status_query", b"\x10\x04\x01\x10\x04\x04\x1b\x40")

# WAV: a small 16 kHz mono PCM clip, an extensible one, one with an extra chunk.
pcm = struct.pack("<8h", 0, 1000, 2000, 1000, 0, -1000, -2000, -1000)
fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
def riff(*chunks):
    body = b"WAVE" + b"".join(k + struct.pack("<I", len(v)) + v + (b"\0" if len(v) & 1 else b"")
                              for k, v in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body
put("wav", "pcm16k", riff((b"fmt ", fmt), (b"data", pcm)))
put("wav", "list_chunk", riff((b"fmt ", fmt), (b"LIST", b"INFOISFT\x03\x00\x00\x00ab\x00"),
                              (b"data", pcm)))
ext = struct.pack("<HHIIHHHHIH14s", 0xFFFE, 1, 16000, 32000, 2, 16, 22, 16, 4, 1,
                  bytes.fromhex("000000001000800000aa00389b71"))
put("wav", "extensible", riff((b"fmt ", ext), (b"data", pcm)))

# Configuration: the checked-in halls.
for f in ("test-hall.json", "demo-hall.json"):
    shutil.copy(os.path.join(top, "config", f), os.path.join(corpus, "config", f))

# Sync: acknowledgements (first byte odd) and appointments (first byte even).
put("sync_proto", "ack", b"\x65" + b'{"acked_through": 42}')
put("sync_proto", "ack_extra", b"\x13" + b' {"acked_through":7, "extra": true}\n')
h = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
appt = ('{"cursor":"c9","appointments":[{"id":"ap1","service":"A","date":"2026-11-23",'
        '"slot_start":"09:00","slot_end":"09:30","id_hash":"%s","booking_code":"BK-1",'
        '"name_masked":"张*","status":"booked"},{"id":"ap2","service":"B","date":"2024-02-29",'
        '"slot_start":"13:00","slot_end":"13:30","booking_code":"BK-2","status":"cancelled"}]}' % h)
put("sync_proto", "appointments", b"\x00" + appt.encode())
put("sync_proto", "appointments_empty", b"\x02" + b'{"cursor":"","appointments":[]}')

# SLIP: sync frames of each type, noise, an escape at the end.
put("slip", "ack", slip("A", b'{"acked_through":3}'))
put("slip", "records", b"\x00\x11" + slip("R", b'{"hall_id":"H1","records":[]}') + b"\xC0\xC0")
put("slip", "escapes", slip("P", b"\xC0\xDB" + appt.encode()))
put("slip", "query", slip("Q", b'{"since":"c9"}') + b"\xDB")

# API: requests as fuzz_api.c reads them (method+role URL, then body).
put("api", "issue_call_finish",
    "P0 /api/v1/tickets\n{\"service\":\"A\"}\n"
    "P1 /api/v1/windows/1/login\n{\"staff\":\"1001\"}\n"
    "P1 /api/v1/windows/1/call-next\n\n"
    "P1 /api/v1/windows/1/start\n\n"
    "P1 /api/v1/windows/1/finish\n\n"
    "P1 /api/v1/windows/1/rating\n{\"level\":5}\n"
    "G0 /api/v1/tickets/A01\n")
put("api", "transfer_cancel",
    "P0 /api/v1/tickets\n{\"service\":\"B\",\"card\":false,\"channel\":\"kiosk\"}\n"
    "P0 /api/v1/tickets\n{\"service\":\"A\",\"priority\":\"green\"}\n"
    "P1 /api/v1/tickets\n{\"service\":\"A\",\"priority\":\"green\"}\n"
    "P1 /api/v1/windows/2/login\n{\"staff\":\"20\"}\n"
    "P1 /api/v1/windows/2/call\n{\"number\":\"A01\"}\n"
    "P1 /api/v1/windows/2/transfer\n{\"service\":\"B\",\"window\":10,\"front\":true}\n"
    "P1 /api/v1/windows/2/no-show\n{\"requeue\":true}\n"
    "P2 /api/v1/tickets/A02/cancel\n\n"
    "G0 /api/v1/windows/2\n")
put("api", "pages", "G0 /kiosk\nG0 /assets/app.js\nG0 /assets/../x\nG0 /t/abc\nG0 /kiosks\nD0 /api/v1/tickets\n")
put("api", "pause_park",
    "P0 /api/v1/tickets\n{\"service\":\"A\"}\n"
    "P1 /api/v1/windows/10/login\n{\"staff\":\"1001\"}\n"
    "P1 /api/v1/windows/10/call-next\n{}\n"
    "P1 /api/v1/windows/10/park\n\n"
    "P1 /api/v1/windows/10/call-back\n\n"
    "P1 /api/v1/windows/10/pause\n\nP1 /api/v1/windows/10/resume\n\n"
    "P1 /api/v1/windows/10/recall\n\nP1 /api/v1/windows/10/logout\n\n")
