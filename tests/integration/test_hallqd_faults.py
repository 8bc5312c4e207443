#!/usr/bin/env python3
"""test_hallqd_faults.py — hallqd against misbehaving hall devices: a hall bus of keypads (pty)
and a bus of acknowledging LED bars (TCP), each put by hallq-sim through every fault mode
(`fault garbage|badsum|truncate|silence|off`, then `none`).

In every mode hallqd stays up and keeps answering /api/v1/status. Hall bus: a key behind noise
still acts; a key with a bad checksum or cut short never does (no call, no echo, so the keypad
gives up) and is counted; enough bad frames make the line faulty with a reason; a silent keypad
is only silent (a keypad talks only when pressed: silence is no fault hallqd could see); an
unplugged bus is offline; after `fault none` a key works at once and the line is online again
once clean. LED bars: noise before AA is counted and the AA still counts; a corrupt 55 is never
taken for AA; a missing AA (corrupt, truncated, silent) makes the bar faulty with a reason; a
vanished serial server is offline; after `fault none` the bar acknowledges and is online again.

usage: test_hallqd_faults.py [HALLQ_SIM]  (ctest passes the simulator's path)
"""
import copy
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import hallq  # noqa: E402
import hallq_devices  # noqa: E402
from hallq_devices import (Sim, configured_hall, device, finish, key, wait_health,  # noqa: E402
                           wait_window, window)

F = hallq_devices.failures("test_hallqd_faults")

CALL_NEXT = 0x0C
# a key and the keypad's 3 resends 500 ms apart, and some slack
KEYPAD_GIVES_UP_S = 2.5


def config(tmp, led_tcp):
    cfg = copy.deepcopy(hallq.BASE_CONFIG)
    cfg["devices"] = {
        "buses": [
            {"id": "keys", "type": "hall", "port": "pty:" + os.path.join(tmp, "bus.tty")},
            {"id": "bars", "type": "led", "port": f"tcp://127.0.0.1:{led_tcp}",
             "acknowledge": True},
        ],
        "windows": [{"window": 1, "bus": "keys", "keypad": 1, "bar": 1}],
    }
    return cfg


def answering(h, what):
    """hallqd is alive and /api/v1/status answers."""
    F.check(h.alive(), f"hallqd alive ({what})")
    try:
        st, _ = h.get("/api/v1/status", timeout=3)
    except OSError as e:
        st = repr(e)
    F.eq(st, 200, f"/api/v1/status answers ({what})")


def fault(sim, mode):
    sim.cmd("fault " + mode)
    sim.expect("fault " + mode, what="the simulator took the fault mode")


def unplug_and_back(h, sim, link):
    """fault off: the link is offline with a reason; fault none: online again."""
    fault(sim, "off")
    d = wait_health(h, link, "offline")
    F.check(d is not None and d.get("reason"), f"{link} offline with a reason ({d})")
    answering(h, link + " off")
    fault(sim, "none")
    wait_health(h, link, "online", timeout=10)


def hall_bus(h, bus):
    F.eq(h.window(1, "login", {"staff": "1001"})[0], 200, "login at window 1")

    # garbage: the noise is counted, the good frame behind it acts
    fault(bus, "garbage")
    h.issue("A")
    before = device(h.status(), "bus:keys")
    key(bus, 1, CALL_NEXT)
    bus.expect("echo 1 0C", what="the key behind the noise is echoed")
    wait_window(h, 1, lambda w: w.get("state") == "calling", "a key behind noise calls")
    F.check(device(h.status(), "bus:keys")["garbage_bytes"] > before["garbage_bytes"],
            "garbage: noise bytes counted")
    answering(h, "bus garbage")
    F.eq(h.window(1, "no-show")[0], 200, "window 1 back to idle")
    h.issue("A")  # from here on a ticket waits: a key acted on would call it

    # badsum: three keypads press at once, each key and its 3 resends with a wrong CS: never
    # acted on, never echoed, and 12 bad frames in a few seconds make the line faulty
    fault(bus, "badsum")
    before = device(h.status(), "bus:keys")
    for a in (1, 2, 3):
        key(bus, a, CALL_NEXT)
    for a in (1, 2, 3):
        bus.expect(f"no-echo {a} 0C", timeout=4, what=f"keypad {a} never echoed: it gives up")
    d = wait_health(h, "bus:keys", "faulty")
    F.check(d is not None and "bad frames" in d.get("reason", ""), f"faulty with a reason ({d})")
    F.check(d is not None and d["bad_frames"] >= before["bad_frames"] + 12,
            "bad checksums counted (4 frames a key)")
    F.eq(window(h.status(), 1).get("state"), "idle", "no call from a bad-checksum key frame")
    answering(h, "bus badsum")

    # truncate: half frames, never acted on, counted
    fault(bus, "truncate")
    before = device(h.status(), "bus:keys")
    key(bus, 1, CALL_NEXT)
    bus.expect("no-echo 1 0C", timeout=4, what="a cut key frame is not echoed")
    F.eq(window(h.status(), 1).get("state"), "idle", "no call from a truncated key frame")
    F.check(device(h.status(), "bus:keys")["bad_frames"] > before["bad_frames"],
            "truncated frames counted")
    answering(h, "bus truncate")

    # silence: the key never reaches the line
    fault(bus, "silence")
    before = device(h.status(), "bus:keys")
    key(bus, 1, CALL_NEXT)
    bus.expect("no-echo 1 0C", timeout=4, what="a silent keypad hears no echo")
    F.eq(device(h.status(), "bus:keys")["rx_bytes"], before["rx_bytes"], "silence: nothing came")
    F.eq(window(h.status(), 1).get("state"), "idle", "silence: no call")
    answering(h, "bus silence")

    # off: the bus unplugged; none: plugged back, a good key works at once
    unplug_and_back(h, bus, "bus:keys")
    bus.drain()
    key(bus, 1, CALL_NEXT)
    bus.expect("echo 1 0C", what="a good key is echoed after the faults")
    wait_window(h, 1, lambda w: w.get("state") == "calling", "a good key calls after the faults")
    F.eq(h.window(1, "no-show")[0], 200, "window 1 back to idle")
    # a line made faulty by bad frames is online again after 10 s without any
    fault(bus, "badsum")
    for a in (1, 2, 3):
        key(bus, a, CALL_NEXT)
    wait_health(h, "bus:keys", "faulty")
    fault(bus, "none")
    d = wait_health(h, "bus:keys", "online", timeout=16)
    F.check(d is not None and "clean" in d.get("reason", ""), f"online once clean ({d})")


def toggle(h, led, what):
    """One LED frame for bar 1: pause or resume window 1 (暂停服务 / the idle text)."""
    paused = window(h.status(), 1).get("state") == "paused"
    F.eq(h.window(1, "resume" if paused else "pause")[0], 200, f"pause/resume ({what})")
    led.expect("bar 1 show", what=f"bar 1 gets a frame ({what})")
    time.sleep(0.4)  # past the 300 ms the bar has to acknowledge


def led_bus(h, led):
    wait_health(h, "bar:bars:1", "online")

    # garbage: counted as noise on the line, the AA behind it still acknowledges
    fault(led, "garbage")
    before, bar = device(h.status(), "bus:bars"), device(h.status(), "bar:bars:1")
    for _ in range(3):
        toggle(h, led, "garbage")
    d = device(h.status(), "bar:bars:1")
    F.eq(d["acks"], bar["acks"] + 3, "garbage: every AA behind the noise counts")
    F.eq(d["health"], "online", "garbage: the bar stays online")
    F.check(device(h.status(), "bus:bars")["garbage_bytes"] > before["garbage_bytes"],
            "garbage: noise bytes counted")
    answering(h, "led garbage")

    # badsum: 55 instead of AA is no acknowledgement; 3 missed make the bar faulty
    fault(led, "badsum")
    before, bar = device(h.status(), "bus:bars"), device(h.status(), "bar:bars:1")
    for _ in range(3):
        toggle(h, led, "badsum")
    d = wait_health(h, "bar:bars:1", "faulty")
    F.check(d is not None and "AA" in d.get("reason", ""), f"faulty with a reason ({d})")
    F.eq((d or {}).get("acks"), bar["acks"], "a corrupt acknowledgement is never taken for AA")
    F.check(device(h.status(), "bus:bars")["garbage_bytes"] > before["garbage_bytes"],
            "the corrupt byte counted")
    answering(h, "led badsum")

    # truncate and silence: no acknowledgement at all
    for mode in ("truncate", "silence"):
        fault(led, mode)
        bar = device(h.status(), "bar:bars:1")
        for _ in range(2):
            toggle(h, led, mode)
        d = device(h.status(), "bar:bars:1")
        F.eq(d["ack_timeouts"], bar["ack_timeouts"] + 2, f"{mode}: missing AA counted")
        F.eq(d["acks"], bar["acks"], f"{mode}: no acknowledgement")
        F.eq(d["health"], "faulty", f"{mode}: the bar stays faulty")
        answering(h, "led " + mode)

    # none: the bar acknowledges again and is online
    fault(led, "none")
    toggle(h, led, "none")
    d = wait_health(h, "bar:bars:1", "online")
    F.eq((d or {}).get("reason"), "", "online again, no reason left")

    # off: the serial server vanishes (its listener and the connection close), then comes back
    unplug_and_back(h, led, "bus:bars")
    led.expect("bar 1 idle-text", what="bar 1 reprogrammed after the serial server came back")
    wait_health(h, "bar:bars:1", "online")


def main():
    led_tcp = hallq.free_port()
    h = configured_hall(config, led_tcp)
    tmp = h.dir
    bus = Sim(tmp, "bus", "bus", ["--pty", os.path.join(tmp, "bus.tty")], "--keypads", "1,2,3")
    led = Sim(tmp, "led", "led", ["--tcp", str(led_tcp)], "--bars", "1")
    h.start()
    try:
        wait_health(h, "bus:keys", "online")
        wait_health(h, "bus:bars", "online")
        hall_bus(h, bus)
        led_bus(h, led)
        F.check(h.alive(), "hallqd survived every fault")
    finally:
        finish(h, [bus, led])
    return F.done()


if __name__ == "__main__":
    sys.exit(main())
