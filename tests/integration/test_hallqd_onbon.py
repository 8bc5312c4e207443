#!/usr/bin/env python3
"""test_hallqd_onbon.py — Onbon BX-5E screens end to end: the real hallqd with its `onbon`
driver on a pty, and `hallq-sim onbon` as two screens (one single-colour 128 × 16, one red +
green 96 × 16) behind it.

Checked from the outside (the simulator's records and pixels, HTTP): both screens are greeted
with a ping and come online; each shows its window's idle text; a call shows "{ticket}请到1号窗口"
on window 1's screen, pixel for pixel what the driver's renderer draws for that text (the
onbon_vectors program prints it) and in the configured colour; a paused window shows 暂停服务;
a screen that refuses (NACK 18) is faulty with the manual's error name while its neighbour stays
online; line noise before answers is survived; a screen that goes silent is offline and comes
back when it answers again.

usage: test_hallqd_onbon.py HALLQ_SIM ONBON_VECTORS
"""
import copy
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import hallq  # noqa: E402
import hallq_devices  # noqa: E402
from hallq_devices import Sim  # noqa: E402

VECTORS = sys.argv[2]
F = hallq_devices.failures("test_hallqd_onbon")


def rendered(w, h, text):
    """The rows the driver's renderer draws for text (onbon_vectors `render`)."""
    out = subprocess.run([VECTORS], input=f"render {w} {h} {text}\n", capture_output=True,
                         text=True, check=True, timeout=30).stdout.splitlines()
    F.check(len(out) == h + 1, f"render {text!r}: {out[-1:]}")
    return out[:h]


def shown(sim, addr, h):
    """The rows screen addr shows now, from the simulator's `show`."""
    sim.drain()
    sim.cmd(f"show {addr}")
    rows = []
    for r in range(h):
        rec = sim.expect(f"screen {addr} row {r:02d} ", what=f"row {r}")
        rows.append(rec.split(" ", 4)[4] if rec else "")
    return rows


def screen_dev(h, window):
    """The status entry of window's screen."""
    for d in h.status().get("devices", []):
        if d.get("window") == window and d.get("type") == "led_bar":
            return d
    return None


def wait_screen(h, window, health, timeout=10.0):
    end = time.time() + timeout
    d = None
    while time.time() < end:
        d = screen_dev(h, window)
        if d and d.get("health") == health:
            return d
        time.sleep(0.1)
    F.check(False, f"window {window}'s screen never became {health} (last: {d})")
    return d


def main():
    h = hallq.Hall()
    tmp = h.dir
    pbm = os.path.join(tmp, "pbm")
    os.mkdir(pbm)
    tty = os.path.join(tmp, "onbon.tty")
    cfg = copy.deepcopy(hallq.BASE_CONFIG)
    cfg["http"]["listen"] = f"127.0.0.1:{h.port}"
    cfg["devices"] = {
        "buses": [{"id": "screens", "type": "onbon", "port": "pty:" + tty, "baud": 57600,
                   "ping_s": 2, "answer_ms": 400}],
        "windows": [
            # the bar address is the screen's; "screen" for one above 254
            {"window": 1, "led_bus": "screens", "bar": 1, "width": 128, "height": 16},
            {"window": 2, "led_bus": "screens", "bar": 2, "screen": 258, "width": 96,
             "height": 16, "colors": 2},
        ],
        "led": {"color": "red", "idle_color": "green"},
    }
    h.config = cfg
    h.write_config()
    sim = Sim(tmp, "onbon", "onbon", ["--pty", tty], "--screens", "1,258", "--two-color", "258",
              "--pbm", pbm)
    try:
        h.start()
        # greeted, online; each shows its idle text ("{name} 欢迎光临") in the idle colour
        # (a screen that answered gets its page before the next screen's ping)
        sim.expect("screen 1 ping", what="screen 1 greeted")
        rec = sim.expect("screen 1 area 0 128x16 at 0,0 lit", timeout=6, what="idle text")
        F.check(rec is not None, "window 1's screen shows its idle text")
        sim.expect("screen 258 area 0 96x16 at 0,0 green", what="idle text on the 2-colour screen")
        wait_screen(h, 1, "online")
        wait_screen(h, 2, "online")
        F.eq(shown(sim, 1, 16), rendered(128, 16, "1号窗口 欢迎光临"), "idle text pixels")
        F.check(os.path.exists(os.path.join(pbm, "screen-258.pbm")), "PBM of screen 258 written")

        # a call on window 1
        F.eq(h.window(1, "login", {"staff": "1001"})[0], 200, "login at window 1")
        st, t = h.issue("A")
        label = t["ticket"]["number"]
        sim.drain()
        F.eq(h.window(1, "call-next")[0], 200, "call at window 1")
        rec = sim.expect("screen 1 area 0 128x16 at 0,0 lit", what="call shown")
        F.check(rec is not None, f"screen 1 shows the call ({rec})")
        F.eq(shown(sim, 1, 16), rendered(128, 16, f"{label}请到1号窗口"), "call text pixels")

        # window 2 paused: 暂停服务 in green, both planes off for red → "green" record
        F.eq(h.window(2, "login", {"staff": "1002"})[0], 200, "login at window 2")
        sim.drain()
        F.eq(h.window(2, "pause")[0], 200, "pause window 2")
        rec = sim.expect("screen 258 area 0 96x16 at 0,0 green", what="paused text")
        F.eq(shown(sim, 258, 16), rendered(96, 16, "暂停服务"), "暂停服务 pixels")

        # screen 258 refuses its pages: faulty with the error name; screen 1 stays online
        sim.cmd("nack 258 18")
        sim.expect("nack 258 18")
        sim.drain()
        h.window(2, "resume")
        sim.expect("screen 258 nack 18", what="page refused")
        d = wait_screen(h, 2, "faulty")
        F.check(d is not None and "ERR_SCREEN_PARA" in str(d), f"reason names the error ({d})")
        # the driver's own status fields
        F.eq({k: (d or {}).get(k) for k in ("screen", "width", "height", "last_error")},
             {"screen": 258, "width": 96, "height": 16, "last_error": "ERR_SCREEN_PARA"},
             "screen 258's status")
        F.check((d or {}).get("nacks", 0) >= 1, f"NACKs counted ({d})")
        F.eq((screen_dev(h, 1) or {}).get("health"), "online", "neighbour online")
        sim.cmd("nack 258 off")

        # noise before every answer: survived, screen 1 still takes a call
        sim.cmd("fault garbage")
        sim.expect("fault garbage")
        h.issue("A")
        sim.drain()
        F.eq(h.window(1, "call-next")[0], 200, "second call at window 1")
        sim.expect("screen 1 area 0 128x16 at 0,0 lit", what="call shown through the noise")
        wait_screen(h, 1, "online")

        # commissioning through the host: identify shows the window and its screen address
        sim.cmd("fault none")
        sim.expect("fault none")
        sim.drain()
        st, _ = h.post("/api/v1/devices/identify/2", token=hallq.MANAGER)
        F.eq(st, 200, "identify window 2")
        sim.expect("screen 258 area 0 96x16 at 0,0 yellow", what="identify page")
        F.eq(shown(sim, 258, 16), rendered(96, 16, "2号窗 屏号258"), "identify pixels")

        # the commissioning walk lights every pixel of each screen once, then restores it
        sim.drain()
        st, _ = h.post("/api/v1/devices/test", token=hallq.MANAGER)
        F.eq(st, 200, "commissioning test")
        F.check(sim.expect("screen 1 area 0 128x16 at 0,0 lit lit=2048 ", timeout=8,
                           what="screen 1 all lit") is not None, "screen 1: every pixel lit")
        F.check(sim.expect("screen 258 area 0 96x16 at 0,0 yellow lit=1536 ", timeout=8,
                           what="screen 258 all lit") is not None, "screen 258: every pixel lit")
        time.sleep(2)

        # silence: offline within answer_ms after the next ping; back when it answers again
        sim.cmd("fault silence")
        sim.expect("fault silence")
        wait_screen(h, 1, "offline", timeout=12)
        sim.cmd("fault none")
        wait_screen(h, 1, "online", timeout=12)
        F.check(h.alive(), "hallqd runs on")
    finally:
        if F.failed:
            print("simulator records:\n" + "\n".join(r for r in sim.records if " row " not in r))
        hallq_devices.finish(h, [sim])


def bad_configs():
    """A screen's keys are checked when hallqd starts: the message names the file, the JSON
    path and what is wrong, and hallqd does not start."""
    cases = [
        ({"window": 1, "led_bus": "screens", "bar": 1, "height": 16},
         "$.devices.windows[0].width", "a missing width"),
        ({"window": 1, "led_bus": "screens", "bar": 1, "width": 512, "height": 128, "colors": 2},
         "$.devices.windows[0]", "a screen too big for one frame"),
        ({"window": 1, "led_bus": "screens", "bar": 1, "width": 64, "height": 16,
          "screen": 65534}, "$.devices.windows[0].screen", "the wildcard address"),
    ]
    for win, path, what in cases:
        h = hallq.Hall()
        cfg = copy.deepcopy(hallq.BASE_CONFIG)
        cfg["http"]["listen"] = f"127.0.0.1:{h.port}"
        cfg["devices"] = {"buses": [{"id": "screens", "type": "onbon",
                                     "port": "pty:" + os.path.join(h.dir, "x.tty")}],
                          "windows": [win]}
        h.config = cfg
        h.write_config()
        try:
            h.start()
            F.check(False, f"hallqd started with {what}")
            h.stop()
        except RuntimeError as e:
            msg = str(e)
            F.check("hall.json: " + path in msg, f"{what}: the message names {path}: {msg[:300]}")
        shutil.rmtree(h.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
    bad_configs()
    sys.exit(F.done())
