#!/usr/bin/env python3
"""hallqd's GPIO devices end to end: the daemon built with the fake chip in place of libgpiod
(hallqd-gpiofake, tests/fakes/gpiod_fake.h), driven through its control FIFO.

Run 1 (no printer): a bouncing kiosk-button press issues exactly one ticket (channel
"button"), a glitch none, a long press one; a busy line is offline with its reason and comes
online when freed; the paper sensor and the door raise and clear alarms (status, SSE), the door
writes outbox records; a read error makes a line faulty while the daemon keeps serving, and the
line comes back; the device-fault LED follows the devices' health, and a failed LED write is
reported; an unplugged chip makes the lines offline until it returns.
Run 2 (a printer that cannot be reached): the printer-fault LED is lit, a button press is
refused (no ticket), and the paper sensor shows as the printer's paper "near_end".
"""
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hallq import BASE_CONFIG, BUILD, Failures, Hall, free_port, sse_reader, wait_for  # noqa: E402

FAKE_HALLQD = os.path.join(BUILD, "hallqd-gpiofake")

GPIO = {
    "chip": "gpiochip0",
    "debounce_ms": 30,
    "buttons": [
        {"line": 3, "service": "A", "active_low": True},
        {"line": 4, "service": "B"},
        {"line": 7, "service": "A"},
    ],
    "leds": {"printer_fault": 10, "device_fault": 11},
    "paper_sensor": {"line": 5},
    "door": {"line": 6, "active_low": True},
}


class Chip:
    """The fake chip's control FIFO and its state file."""

    def __init__(self, folder):
        self.path = os.path.join(folder, "gpio.fifo")
        os.mkfifo(self.path)
        # held open read-write: writes never block and the daemon never sees an end
        self.fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)

    def send(self, *cmds):
        os.write(self.fd, ("\n".join(cmds) + "\n").encode())

    def state(self):
        try:
            with open(self.path + ".state", encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def value(self, line):
        return self.state().get("lines", {}).get(str(line), {}).get("value", 0)

    def close(self):
        os.close(self.fd)


def device(h, dev_id):
    for d in h.status().get("devices", []):
        if d.get("id") == dev_id:
            return d
    return {}


def health(h, dev_id):
    return device(h, dev_id).get("health")


def issued(h, code):
    for s in h.status()["services"]:
        if s["code"] == code:
            return s["issued"]
    return -1


def gpio_part(h):
    return h.status().get("gpio", {})


def door_records(h):
    with h.db() as db:
        rows = db.execute("SELECT data FROM outbox WHERE type='event' ORDER BY seq").fetchall()
    out = []
    for (data,) in rows:
        d = json.loads(data)
        d = d.get("data", d) if isinstance(d, dict) else d
        if isinstance(d, dict) and d.get("kind") == "door":
            out.append(d)
    return out


def alarms(events, kind):
    return [d for (e, d) in events if e == "alarm" and d.get("source") == "gpio"
            and d.get("kind") == kind]


def run1(F):
    h = Hall(binary=FAKE_HALLQD)
    chip = Chip(h.dir)
    h.env["HQ_GPIO_FAKE"] = chip.path
    h.config["gpio"] = GPIO
    h.write_config()
    # the chip before the daemon starts: active-low button 3 idles high, the door (active low)
    # is closed = high, line 7 is held by another program
    chip.send("chip gpiochip0 32", "level 3 1", "level 6 1", "busy 7")
    events, stop = [], threading.Event()
    try:
        h.start()
        t = threading.Thread(target=sse_reader, args=(h, events, stop), daemon=True)
        t.start()
        time.sleep(0.3)

        # ---- start-up: lines online, the busy one offline with its reason
        F.eq(health(h, "gpio:button:3"), "online", "button 3 online")
        F.eq(health(h, "gpio:door:6"), "online", "door switch online")
        F.eq(device(h, "gpio:door:6").get("type"), "door_switch", "door switch type")
        b7 = device(h, "gpio:button:7")
        F.eq(b7.get("health"), "offline", "busy line offline")
        F.check("busy" in b7.get("reason", ""), f"busy line's reason: {b7.get('reason')!r}")
        g = gpio_part(h)
        F.eq(g.get("chip"), "gpiochip0", "status gpio part")
        F.eq(g.get("alarms"), {"paper_near_end": False, "door_open": False}, "no alarm at start")
        F.check(wait_for(lambda: chip.value(11) == 1, 3), "device-fault LED lit (line 7 offline)")
        F.eq(chip.value(10), 0, "printer-fault LED dark without a printer")
        F.eq(chip.state()["lines"].get("10", {}).get("out"), True, "LED line is an output")

        # ---- a bouncing press of button 3 (active low): one ticket, channel button
        chip.send("edge 3 falling 1000", "edge 3 rising 1003", "edge 3 falling 1006")
        F.check(wait_for(lambda: issued(h, "A") == 1), "bouncing press issued one ticket")
        time.sleep(0.1)
        chip.send("edge 3 rising 2000", "edge 3 falling 2004", "edge 3 rising 2008")
        time.sleep(0.3)
        F.eq(issued(h, "A"), 1, "release with bounce issues nothing")
        st, tk = h.get("/api/v1/tickets/A001")
        F.eq((st, tk.get("channel") if isinstance(tk, dict) else None), (200, "button"),
             "ticket A001 came from the button")
        F.check(wait_for(lambda: any(e == "issue" for e, _ in events)),
                "SSE issue event for the press")

        # ---- a glitch shorter than the debounce time: nothing
        chip.send("edge 4 rising 5000", "edge 4 falling 5010")
        time.sleep(0.3)
        F.eq(issued(h, "B"), 0, "glitch issued nothing")
        # ---- a long press: one ticket, however long it is held
        chip.send("edge 4 rising")
        F.check(wait_for(lambda: issued(h, "B") == 1), "press of button 4 issued B")
        time.sleep(0.8)
        chip.send("edge 4 falling")
        time.sleep(0.2)
        F.eq(issued(h, "B"), 1, "long press issued one ticket")
        F.eq(device(h, "gpio:button:4").get("presses"), 1, "button 4 counted one press")

        # ---- paper sensor: alarm raised and cleared
        chip.send("edge 5 rising")
        F.check(wait_for(lambda: gpio_part(h)["alarms"]["paper_near_end"]),
                "paper near end in status")
        F.check(wait_for(lambda: any(a.get("raised") for a in alarms(events, "paper_near_end"))),
                "SSE alarm paper_near_end raised")
        chip.send("edge 5 falling")
        F.check(wait_for(lambda: not gpio_part(h)["alarms"]["paper_near_end"]),
                "paper alarm cleared in status")
        F.check(wait_for(lambda: [a.get("raised") for a in alarms(events, "paper_near_end")]
                         == [True, False]), "SSE alarm paper_near_end cleared")

        # ---- door: alarm and outbox records
        chip.send("edge 6 falling")
        F.check(wait_for(lambda: gpio_part(h)["alarms"]["door_open"]), "door open in status")
        F.check(wait_for(lambda: any(a.get("raised") for a in alarms(events, "door"))),
                "SSE alarm door raised")
        F.check(wait_for(lambda: [d.get("open") for d in door_records(h)] == [True]),
                f"outbox door record: {door_records(h)}")
        chip.send("edge 6 rising")
        F.check(wait_for(lambda: [d.get("open") for d in door_records(h)] == [True, False]),
                "outbox door closed record")
        F.check(not gpio_part(h)["alarms"]["door_open"], "door closed in status")

        # ---- the busy line freed: online at the next retry, LED goes dark
        chip.send("free 7")
        F.check(wait_for(lambda: health(h, "gpio:button:7") == "online", 8),
                "freed line comes online")
        F.check(wait_for(lambda: chip.value(11) == 0, 3), "device-fault LED dark again")
        F.check(wait_for(lambda: any(e == "device" and d.get("id") == "gpio:button:7"
                                     for e, d in events)),
                "SSE device event for the line")

        # ---- a read error: faulty, the daemon keeps serving, the line comes back
        chip.send("fail-read 3")
        F.check(wait_for(lambda: health(h, "gpio:button:3") == "faulty", 3), "read error: faulty")
        F.check("reading edges" in device(h, "gpio:button:3").get("reason", ""),
                "read error reason")
        st, _ = h.issue("A")
        F.eq(st, 201, "the daemon still issues tickets")
        F.check(wait_for(lambda: chip.value(11) == 1, 3), "device-fault LED lit by the faulty line")
        F.check(wait_for(lambda: health(h, "gpio:button:3") == "online", 8),
                "faulty line reopened")
        before = issued(h, "A")
        chip.send("edge 3 falling")
        F.check(wait_for(lambda: issued(h, "A") == before + 1), "button works after reopening")
        chip.send("edge 3 rising")
        F.check(wait_for(lambda: chip.value(11) == 0, 3), "device-fault LED dark after recovery")

        # ---- an LED the kernel refuses to set: reported faulty, then recovers
        chip.send("fail-set 11", "hangup 4")
        F.check(wait_for(lambda: health(h, "gpio:led_device:11") == "faulty", 4),
                "failed LED write: faulty")
        F.check("setting line 11" in device(h, "gpio:led_device:11").get("reason", ""),
                "failed LED write reason")
        F.eq(chip.value(11), 0, "the fake LED did not change")
        chip.send("ok-set 11")
        F.check(wait_for(lambda: health(h, "gpio:led_device:11") == "online", 4),
                "LED online again")
        F.check(wait_for(lambda: chip.value(11) == 1 or health(h, "gpio:button:4") == "online", 3),
                "LED set once it can be")

        # ---- the chip unplugged: lines offline until it returns
        chip.send("unplug")
        F.check(wait_for(lambda: health(h, "gpio:button:3") in ("faulty", "offline"), 3),
                "unplugged chip: line down")
        F.check(wait_for(lambda: health(h, "gpio:button:3") == "offline" and
                         "no GPIO chip" in device(h, "gpio:button:3").get("reason", ""), 8),
                "unplugged chip: offline, no chip")
        chip.send("chip gpiochip0 32", "level 3 1", "level 6 1")
        F.check(wait_for(lambda: health(h, "gpio:button:3") == "online" and
                         health(h, "gpio:button:4") == "online", 8), "chip back: lines online")
        F.check(wait_for(lambda: chip.value(11) == 0, 3), "device-fault LED dark at the end")
        F.check(h.alive(), "hallqd still running")
        stop.set()
        F.eq(h.stop(), 0, "hallqd stops cleanly")
    finally:
        stop.set()
        h.stop()
        if F.failed:
            print(h.read_log())
        chip.close()
        h.keep = False
        h.__exit__(None, None, None)


def run2(F):
    cfg = json.loads(json.dumps(BASE_CONFIG))
    cfg["gpio"] = GPIO
    cfg["printer"] = {"queue": "kiosk", "cups_server": f"127.0.0.1:{free_port()}",
                      "status_interval_s": 1}
    h = Hall(cfg, binary=FAKE_HALLQD)
    chip = Chip(h.dir)
    h.env["HQ_GPIO_FAKE"] = chip.path
    chip.send("chip gpiochip0 32", "level 3 1", "level 6 1")
    try:
        h.start()
        F.check(wait_for(lambda: chip.value(10) == 1, 10),
                "printer-fault LED lit when the printer cannot print")
        F.check(wait_for(lambda: gpio_part(h).get("leds", {}).get("printer_fault") is True, 3),
                "status shows the printer LED lit")
        chip.send("edge 4 rising")
        F.check(wait_for(lambda: gpio_part(h).get("refused") == 1), "button press refused")
        F.eq(issued(h, "B"), 0, "no ticket without a printer that can print")
        chip.send("edge 4 falling", "edge 5 rising")
        F.check(wait_for(lambda: (h.status().get("printers") or [{}])[0].get("paper")
                         == "near_end"), "printer carries paper near_end from the sensor")
        F.eq((h.status().get("printers") or [{}])[0].get("paper_sensor"), True,
             "printer paper_sensor")
        F.eq(h.stop(), 0, "hallqd stops cleanly")
    finally:
        h.stop()
        if F.failed:
            print(h.read_log())
        chip.close()
        h.__exit__(None, None, None)


def run3(F):
    """The device-fault LED follows the serial devices too (the device host's faults): lit while
    an LED bus is unreachable, dark once it is up."""
    # The port is bound now and listened on later: connections are refused meanwhile, and no
    # connect of hallqd's can take it as its own source port (a TCP self-connect to a free
    # ephemeral port made the later bind fail with EADDRINUSE once under ASan).
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    cfg = json.loads(json.dumps(BASE_CONFIG))
    cfg["gpio"] = {"chip": "gpiochip0", "leds": {"device_fault": 11}}
    cfg["devices"] = {"buses": [{"id": "bars", "type": "a090", "port": f"tcp://127.0.0.1:{port}"}],
                      "windows": [{"window": 1, "bar": 1}]}
    h = Hall(cfg, binary=FAKE_HALLQD)
    chip = Chip(h.dir)
    h.env["HQ_GPIO_FAKE"] = chip.path
    chip.send("chip gpiochip0 32")
    try:
        h.start()
        F.check(wait_for(lambda: health(h, "bus:bars") == "offline", 5), "LED bus offline")
        F.check(wait_for(lambda: chip.value(11) == 1, 5),
                "device-fault LED lit while the LED bus is unreachable")
        srv.listen(1)
        F.check(wait_for(lambda: health(h, "bus:bars") == "online", 30), "LED bus comes up")
        F.check(wait_for(lambda: chip.value(11) == 0, 5), "device-fault LED dark once it is up")
        F.eq(h.stop(), 0, "hallqd stops cleanly")
    finally:
        h.stop()
        if srv:
            srv.close()
        if F.failed:
            print(h.read_log())
        chip.close()
        h.__exit__(None, None, None)


def main():
    F = Failures("test_hallqd_gpio")
    if not os.access(FAKE_HALLQD, os.X_OK):
        F.check(False, f"{FAKE_HALLQD} is built")
        return F.done()
    run1(F)
    run2(F)
    run3(F)
    return F.done()


if __name__ == "__main__":
    sys.exit(main())
