#!/usr/bin/env python3
"""test_hallqd_tempwin.py — a temporary window's own devices (issue 16): the manager opens a
window while hallqd runs and gives it a keypad and a rating pad on a hall bus and an LED bar,
declared exactly as a devices.windows[] entry of the configuration file.

The real hallqd against hallq-sim simulators speaking the wire protocols (FF 68 hall bus on a
pty, acknowledging A0 90 bars behind a TCP serial server). Checked from the outside only:
bad device entries are refused by the configuration file's own checks, each message naming the
field, and nothing changes; once opened, the window's keypad logs in and calls for it, its bar
shows the call, its pad rates it; closed, its bar is blanked and a key from its keypad gets no
echo and is logged as ignored; opened again, it survives a restart of hallqd with its devices;
hallqctl opens a window with devices too; both survive a SIGKILL.
"""
import copy
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import hallq  # noqa: E402
import hallq_devices  # noqa: E402
from hallq import CLERK, MANAGER  # noqa: E402
from hallq_devices import (bus_and_bars, configured_hall, device, key, ticket,  # noqa: E402
                           wait_health, wait_window)

F = hallq_devices.failures("test_hallqd_tempwin")


def tempwin_config(tmp, led_tcp):
    cfg = copy.deepcopy(hallq.BASE_CONFIG)
    cfg["queue"]["max_windows"] = 6
    cfg["queue"]["rating_timeout_s"] = 30
    cfg["devices"] = {
        "buses": [
            {"id": "keys", "type": "hall", "port": "pty:" + os.path.join(tmp, "bus.tty")},
            {"id": "bars", "type": "led", "port": f"tcp://127.0.0.1:{led_tcp}",
             "acknowledge": True},
        ],
        "windows": [{"window": 1, "bus": "keys", "keypad": 1, "pad": 33, "bar": 1}],
    }
    return cfg


OPEN7 = {"number": 7, "services": ["A"], "name": "7号临时窗口", "name_en": "Window 7",
         "devices": {"bus": "keys", "keypad": 7, "pad": 37, "led_bus": "bars", "bar": 7}}


def refused(h, body, field, words, what):
    st, r = h.post("/api/v1/admin/windows", body, token=MANAGER)
    detail = r.get("detail", "")
    F.eq(st, 400, f"refused ({what}): {r}")
    F.check(detail.startswith(f"request: $.devices.{field}: "),
            f"the message names $.devices.{field} ({what}): {detail!r}")
    F.check(words in detail, f"the message says what is wrong ({what}): {detail!r}")


def has_units(h, *ids):
    st = h.status()
    return all(device(st, i) is not None for i in ids)


def main():
    led_tcp = hallq.free_port()
    h = configured_hall(tempwin_config, led_tcp)
    h.start()
    sims = []
    try:
        bus, led = bus_and_bars(h, led_tcp, "1,7,8", "33,37", "1,7,8")
        sims += [bus, led]
        led.expect("bar 1 idle-text", what="the file's bar gets its idle text")

        # ---- refused by the configuration file's own checks, naming the field
        def with_dev(**dev):
            b = copy.deepcopy(OPEN7)
            b["devices"] = dev
            return b
        refused(h, with_dev(bus="keys", keypad=1, led_bus="bars", bar=7), "keypad",
                'address 1 on bus "keys" is already $.devices.windows[0]', "window 1's keypad")
        refused(h, with_dev(bus="keys", keypad=7, pad=33), "pad",
                'address 33 on bus "keys" is already $.devices.windows[0]', "window 1's pad")
        refused(h, with_dev(keypad=7, led_bus="bars", bar=1), "bar",
                'address 1 on bus "bars" is already $.devices.windows[0]', "window 1's bar")
        refused(h, with_dev(bus="nope", keypad=7), "bus", 'unknown bus "nope"', "no such bus")
        refused(h, with_dev(bus="bars", keypad=7), "bus", 'bus "bars" is a led bus',
                "a keypad on the LED bus")
        refused(h, with_dev(keypad=300), "keypad", "300", "address out of range")
        refused(h, with_dev(keypad=7, pad=7), "pad", "is the window's keypad too", "pad = keypad")
        refused(h, with_dev(keypad=7, colour="red"), "colour", "unknown key", "a misspelt key")
        refused(h, with_dev(window=8, keypad=7), "window", "must be 7", "another window number")
        st = h.status()
        F.check(all(w["number"] != 7 for w in st["windows"]), "nothing opened by the refusals")
        F.eq(st["overrides"], [], "no override rows after the refusals")
        st, r = h.post("/api/v1/admin/windows", {"number": 1, "services": ["A"],
                                                 "devices": {"keypad": 9}}, token=MANAGER)
        F.check(st == 400 and "configuration file" in r.get("detail", ""),
                f"a window of the file takes no devices here: {st} {r}")

        # ---- opened with its devices: at once on the bus and in the status
        bus.drain()
        led.drain()
        st, r = h.post("/api/v1/admin/windows", OPEN7, token=MANAGER)
        F.eq(st, 200, f"window 7 opened with its devices: {r}")
        F.eq(led.expect("bar 7 idle-text", what="bar 7 gets its idle text"),
             'bar 7 idle-text "7号临时窗口 欢迎光临" green', "bar 7's idle text names the window")
        F.check(hallq.wait_for(lambda: has_units(h, "keypad:keys:7", "rating_pad:keys:37",
                                                 "bar:bars:7"), 10),
                "window 7's keypad, pad and bar are in the status")
        ov = [o for o in h.status()["overrides"] if o["kind"] == "window"]
        F.eq([o["value"].get("devices") for o in ov], [OPEN7["devices"]],
             "the override row keeps the devices as given")

        # a keypad address another temporary window has is refused too, naming it
        body8 = {"number": 8, "services": ["A"], "devices": {"keypad": 7, "bar": 8}}
        st, r = h.post("/api/v1/admin/windows", body8, token=MANAGER)
        F.eq(st, 400, f"window 8 on window 7's keypad address refused: {r}")
        F.eq(r.get("detail"), 'request: $.devices.keypad: address 7 on bus "keys" is already '
             "temporary window 7's", "the message names the field and the window")

        # ---- its keypad logs in and calls for it; its bar shows the call
        key(bus, 7, 1, 0, 0, 3, 0x0F)
        F.eq(bus.expect("echo 7", what="keypad 7 login echoed"), "echo 7 01 00 00 03 0F",
             "keypad 7's login echoed")
        wait_window(h, 7, lambda w: w.get("state") == "idle", "idle after the keypad login")
        st, t = h.issue("A")
        F.eq(st, 201, "ticket issued")
        label = t.get("ticket", {}).get("number", "?")
        led.drain()
        key(bus, 7, 0x0C)
        bus.expect("echo 7 0C", what="call-next echoed")
        F.eq(led.expect("bar 7 show", what="bar 7 shows the call"),
             f'bar 7 show "{label}请到7号窗口" red', "bar 7 shows the call for window 7")
        w = wait_window(h, 7, lambda w: w.get("state") == "calling", "window 7 calls")
        F.eq(((w or {}).get("current") or {}).get("number"), label, "window 7 calls the ticket")
        F.eq((ticket(h, label) or {}).get("window"), 7, "the ticket is called to window 7")
        with h.db() as db:
            acts = db.execute("SELECT actor FROM events WHERE kind='call' AND window=7").fetchall()
        F.eq([a[0] for a in acts], ["keypad:7"], "the event log names window 7's keypad")

        # ---- its pad rates it
        key(bus, 7, 0x0A)
        wait_window(h, 7, lambda w: w.get("state") == "serving", "serving after start")
        key(bus, 7, 0x0B)
        bus.expect("invite 37", what="pad 37 invited after finish")
        bus.cmd("rate 37 4")
        F.eq(bus.expect("ack 37", what="the rating acknowledged"), "ack 37 4", "pad 37 acked")
        with h.db() as db:
            rows = db.execute("SELECT level, channel, window FROM evaluations").fetchall()
        F.eq([tuple(r) for r in rows], [(4, "pad", 7)], "the pad's rating is window 7's")

        # ---- closed: the bar is blanked, the keypad's keys are ignored with a log line
        led.drain()
        st, r = h.post("/api/v1/admin/windows/7/close", {}, token=MANAGER)
        F.eq(st, 200, f"window 7 closed: {r}")
        rec = led.expect('bar 7 show ""', what="bar 7 blanked")
        F.check(rec is not None, "bar 7 cleared when its window closed")
        F.check(hallq.wait_for(lambda: not has_units(h, "keypad:keys:7") and
                               not has_units(h, "bar:bars:7"), 10),
                "window 7's devices left the status")
        st, t2 = h.issue("A")
        label2 = t2.get("ticket", {}).get("number", "?")
        bus.drain()
        led.drain()
        key(bus, 7, 0x0C)
        bus.expect("no-echo 7 0C", timeout=6.0, what="the closed window's keypad hears nothing")
        F.eq((ticket(h, label2) or {}).get("status"), "waiting", "nobody called the ticket")
        led.none("bar 7 show", wait=0.5)
        F.check(hallq.wait_for(lambda: "frame from address 7 ignored" in h.read_log(), 5),
                "the ignored key is logged")
        F.check(device(h.status(), "bus:keys").get("unknown_address", 0) >= 1,
                "the ignored frames are counted")
        # the file's window 1 keeps its keypad through all this
        key(bus, 1, 1, 0, 0, 1, 0x0F)
        F.eq(bus.expect("echo 1", what="keypad 1 still answered"), "echo 1 01 00 00 01 0F",
             "window 1's keypad works after window 7's devices left")

        # ---- opened again with its devices; they come back after a restart
        st, r = h.post("/api/v1/admin/windows", OPEN7, token=MANAGER)
        F.eq(st, 200, f"window 7 opened again: {r}")
        F.eq(h.stop(), 0, "hallqd stops cleanly")
        led.drain()
        bus.drain()
        h.start()
        wait_health(h, "bus:keys", "online")
        wait_health(h, "bus:bars", "online")
        F.check(hallq.wait_for(lambda: has_units(h, "keypad:keys:7", "rating_pad:keys:37",
                                                 "bar:bars:7"), 10),
                "after a restart window 7's devices are back in the status")
        led.expect("bar 7 idle-text", what="bar 7 gets its idle text after the restart")
        key(bus, 7, 1, 0, 0, 2, 0x0F)
        bus.expect("echo 7", what="keypad 7 login after the restart")
        wait_window(h, 7, lambda w: w.get("state") == "idle", "idle after the restart login")
        led.drain()
        key(bus, 7, 0x0C)
        F.eq(led.expect("bar 7 show", what="bar 7 shows the call after the restart"),
             f'bar 7 show "{label2}请到7号窗口" red', "bar 7 shows the call after the restart")
        w = wait_window(h, 7, lambda w: w.get("state") == "calling", "calls after the restart")
        F.eq(((w or {}).get("current") or {}).get("number"), label2,
             "window 7's keypad calls for it after the restart")

        # ---- hallqctl opens a window with its devices
        env = dict(os.environ, HALLQ_URL=f"http://127.0.0.1:{h.port}", HALLQ_TOKEN=MANAGER)
        p = subprocess.run([hallq.HALLQCTL, "window", "open", "8", "A", "--keypad", "8",
                            "--bar", "8"], capture_output=True, text=True, env=env, timeout=30)
        F.eq(p.returncode, 0, f"hallqctl window open 8 with devices: {p.stdout} {p.stderr}")
        F.check(hallq.wait_for(lambda: has_units(h, "keypad:keys:8", "bar:bars:8"), 10),
                "window 8's devices from hallqctl in the status")
        p = subprocess.run([hallq.HALLQCTL, "window", "open", "9", "A", "--keypad", "8"],
                           capture_output=True, text=True, env=env, timeout=30)
        F.check(p.returncode != 0 and "$.devices.keypad" in p.stderr,
                f"hallqctl shows the refusal naming the field: {p.stderr}")
        F.check(CLERK not in p.stderr + p.stdout and MANAGER not in p.stderr + p.stdout,
                "no token in hallqctl's output")

        # ---- a power cut (SIGKILL) right after: both windows' devices come back
        h.kill()
        led.drain()
        h.start()
        wait_health(h, "bus:keys", "online")
        F.check(hallq.wait_for(lambda: has_units(h, "keypad:keys:7", "rating_pad:keys:37",
                                                 "bar:bars:7", "keypad:keys:8", "bar:bars:8"),
                               10),
                "after SIGKILL windows 7 and 8 have their devices again")
        led.expect("bar 8 idle-text", what="bar 8 gets its idle text after SIGKILL")
    finally:
        hallq_devices.finish(h, sims)
    return F.done()


if __name__ == "__main__":
    sys.exit(main())
