#!/usr/bin/env python3
"""test_hallqd_commission.py — commissioning a hall's devices with hallqctl, against the real
hallqd and hallq-sim keypads, rating pads and acknowledging LED bars:

`hallqctl devices` lists every line and every window device with its health (and says which
are at fault once a bus is unplugged); `hallqctl devices identify WINDOW` (manager only) makes
that window's bar show its own address and its keypad beep, and the bar returns to its text;
`hallqctl devices test` walks every bar, keypad and pad once and refuses a second run while
the first is going. Everything is checked from the simulators' records and hallqctl's output.
"""
import copy
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import hallq  # noqa: E402
import hallq_devices  # noqa: E402
from hallq_devices import bus_and_bars, configured_hall, device, wait_health  # noqa: E402

F = hallq_devices.failures("test_hallqd_commission")


def ctl(h, token, *args):
    env = {**os.environ, "HALLQ_URL": f"http://127.0.0.1:{h.port}", "HALLQ_TOKEN": token}
    p = subprocess.run([hallq.HALLQCTL, *args], capture_output=True, text=True, timeout=30,
                       env=env)
    return p.returncode, p.stdout, p.stderr


def commission_config(tmp, led_tcp):
    cfg = copy.deepcopy(hallq.BASE_CONFIG)
    cfg["devices"] = {
        "buses": [
            {"id": "keys", "type": "hall", "port": "pty:" + os.path.join(tmp, "bus.tty")},
            # the new name of the A0 90 driver works like its old one ("led")
            {"id": "bars", "type": "a090", "port": f"tcp://127.0.0.1:{led_tcp}",
             "acknowledge": True},
        ],
        "windows": [
            {"window": 1, "keypad": 1, "pad": 33, "bar": 1},
            {"window": 2, "keypad": 2, "pad": 34, "bar": 2},
        ],
    }
    return cfg


def main():
    led_tcp = hallq.free_port()
    h = configured_hall(commission_config, led_tcp)
    h.start()
    sims = []
    try:
        bus, led = bus_and_bars(h, led_tcp, "1,2", "33,34", "1,2")
        sims += [bus, led]
        wait_health(h, "bar:bars:2", "online")

        # ---- the list: every device with its health, human and JSON
        rc, out, err = ctl(h, hallq.CLERK, "devices")
        F.eq(rc, 0, f"hallqctl devices ({err})")
        for dev in ("bus:keys", "bus:bars", "keypad:keys:1", "rating_pad:keys:34", "bar:bars:2"):
            F.check(any(dev in line and "在线" in line for line in out.splitlines()),
                    f"{dev} listed online: {out!r}")
        rc, out, err = ctl(h, hallq.CLERK, "--json", "devices")
        js = json.loads(out)
        F.eq(js.get("faults"), 0, "no faults while everything answers")
        F.check({"ff68", "a090", "sam"} <= {d["name"] for d in js.get("drivers", [])},
                "the registry's drivers are listed")
        F.eq(device(js, "bus:bars").get("driver"), "a090", "the bars' line names its driver")

        # ---- identify: manager only; the bar shows its address, the keypad beeps
        bus.drain()
        led.drain()
        rc, out, err = ctl(h, hallq.CLERK, "devices", "identify", "2")
        F.check(rc != 0, f"a clerk may not identify devices (rc {rc})")
        rc, out, err = ctl(h, hallq.MANAGER, "devices", "identify", "2")
        F.eq(rc, 0, f"hallqctl devices identify 2 ({err})")
        F.check("2号窗口" in out, f"human answer names the window: {out!r}")
        F.eq(led.expect("bar 2 show", what="bar 2 identifies itself"),
             'bar 2 show "2号窗 地址2" yellow', "bar 2 shows its own address")
        bus.expect("beep 2", what="keypad 2 beeps")
        F.check(bus.none("beep 1"), "keypad 1 does not beep")
        # ... and returns to its idle text (the house timer, after 10 s)
        led.expect("bar 2 show-idle", timeout=30, what="bar 2 back to its text")
        rc, out, err = ctl(h, hallq.MANAGER, "devices", "identify", "9")
        F.eq(rc, 1, "a window without devices is refused")

        # ---- test: every bar, keypad and pad once
        bus.drain()
        led.drain()
        rc, out, err = ctl(h, hallq.MANAGER, "devices", "test")
        F.eq(rc, 0, f"hallqctl devices test ({err})")
        rc2, _, _ = ctl(h, hallq.MANAGER, "devices", "test")
        F.eq(rc2, 1, "a second test while one runs is refused")
        F.eq(led.expect("bar 1 show", what="bar 1 tested"), 'bar 1 show "测试 TEST 1" yellow',
             "bar 1 test text")
        bus.expect("beep 1", what="keypad 1 tested")
        bus.expect("invite 33", what="pad 33 tested")
        F.eq(led.expect("bar 2 show", timeout=10, what="bar 2 tested"),
             'bar 2 show "测试 TEST 2" yellow', "bar 2 test text")
        bus.expect("beep 2", timeout=10, what="keypad 2 tested")
        bus.expect("invite 34", timeout=10, what="pad 34 tested")

        # ---- a bus unplugged: hallqctl says which device is at fault
        bus.stop()
        sims.remove(bus)
        wait_health(h, "bus:keys", "offline")
        rc, out, err = ctl(h, hallq.CLERK, "--json", "devices")
        js = json.loads(out)
        F.check(js.get("faults", 0) >= 1, f"the unplugged bus is a fault ({js.get('faults')})")
        rc, out, err = ctl(h, hallq.CLERK, "devices")
        F.check(any("bus:keys" in line and "离线" in line for line in out.splitlines()),
                f"bus:keys listed offline: {out!r}")
    finally:
        hallq_devices.finish(h, sims)
    return F.done()


if __name__ == "__main__":
    sys.exit(main())
