#!/usr/bin/env python3
"""test_hallqd_devices.py — the hall devices end to end: the real hallqd with hallq-sim
simulators of an ID-card reader (pty), two hall buses of keypads and rating pads (one on a pty,
one behind a TCP serial server) and a bus of acknowledging LED bars (TCP).

Checked from the outside only (simulator records, HTTP, SSE, the database): a card read gives a
real-name ticket with a masked name and elderly priority, and never the ID number anywhere; the
per-person limit answers the kiosk clearly; keypad keys drive the queue (login, call, recall,
start, finish, no-show, park / call back, transfer, pause, help) and the keypad display, the
LED bar and /api/v1/status follow; a pad rating becomes an evaluation; a resent key or rating
frame (the device lost the echo / acknowledgement) is answered again but acts once; garbage and
bad checksums are counted and survived; a pty unplugged and a TCP serial server restarted come
back without restarting hallqd; hallqd starts with every device absent.
"""
import copy
import http.client
import json
import os
import queue
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import hallq  # noqa: E402
import hallq_devices  # noqa: E402
from hallq_devices import (Sim, configured_hall, device, key, ticket, wait_health,  # noqa: E402
                           wait_window, window)

# usage: test_hallqd_devices.py [HALLQ_SIM]  (ctest passes the simulator's path)
DATA = os.path.join(hallq.SOURCE, "tests", "data", "idcard")
ELDERLY_ID = "110101194803120010"  # what resident_elderly.bin holds (CASES.json)
ADULT_ID = "440305199007151233"

F = hallq_devices.failures("test_hallqd_devices")


class Events:
    """The SSE stream of /api/v1/events, collected by a thread."""

    def __init__(self, port):
        self.q = queue.Queue()
        self.raw = []
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/api/v1/events")
        self.resp = self.conn.getresponse()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        event = None
        try:
            for raw in self.resp:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.raw.append(line)
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event:
                    try:
                        self.q.put((event, json.loads(line[6:])))
                    except ValueError:
                        pass
                    event = None
        except Exception:  # the stream ends when the test closes it
            pass

    def expect(self, name, pred=lambda d: True, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            try:
                ev, data = self.q.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                break
            if ev == name and pred(data):
                return data
        F.check(False, f"SSE event '{name}' never came")
        return None

    def close(self):
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


def devices_config(tmp, bus_tcp, led_tcp):
    cfg = copy.deepcopy(hallq.BASE_CONFIG)
    cfg["queue"]["rating_timeout_s"] = 5
    cfg["services"][2]["per_person_limit"] = 1  # C: 实名, one ticket per person a day
    cfg["devices"] = {
        "card_readers": [{"kiosk": "k1", "port": "pty:" + os.path.join(tmp, "card.tty")}],
        "card_hold_s": 60,
        "buses": [
            {"id": "keys", "type": "hall", "port": "pty:" + os.path.join(tmp, "bus.tty")},
            {"id": "keys2", "type": "hall", "port": f"tcp://127.0.0.1:{bus_tcp}"},
            {"id": "bars", "type": "led", "port": f"tcp://127.0.0.1:{led_tcp}",
             "acknowledge": True},
        ],
        "windows": [
            {"window": 1, "bus": "keys", "keypad": 1, "pad": 33, "bar": 1},
            {"window": 2, "bus": "keys", "keypad": 2, "pad": 34, "pad_type": "four", "bar": 2},
            {"window": 3, "bus": "keys2", "keypad": 3, "bar": 3},
        ],
    }
    return cfg


def main():
    bus_tcp, led_tcp = hallq.free_port(), hallq.free_port()
    # hallqd starts first: absent devices are only offline
    h = configured_hall(devices_config, bus_tcp, led_tcp)
    tmp = h.dir
    h.start()
    sims = []
    ev = None
    try:
        st = h.status()
        F.eq(device(st, "bus:keys")["health"], "offline", "bus on an absent pty is offline")
        F.eq(device(st, "bus:bars")["health"], "offline", "LED bus on a closed TCP port")
        F.eq(device(st, "reader:k1")["health"], "offline", "reader absent")
        F.check(h.alive(), "hallqd runs with every device absent")
        # the dashboard: one alarm per bus, naming its windows in words (issue 14)
        al = hallq.alarm_keys(h)
        F.eq(sorted(k for k in al if k.startswith("device:") and "reader" not in k),
             ["device:hall_bus:bus:keys2:offline", "device:hall_bus:bus:keys:offline",
              "device:led_bus:bus:bars:offline"], "one device alarm per bus")
        F.check("1–2号窗口的呼叫器、评价器不能使用" in al.get("device:hall_bus:bus:keys:offline", {}).get("message", ""),
                f"the bus alarm names windows 1-2 and what stopped: {al}")
        F.check("windows 1–3" in al.get("device:led_bus:bus:bars:offline", {}).get("message_en", ""),
                "the LED bus alarm names windows 1-3 in English")
        F.check(not any(":keys:" in a["message"] + a["message_en"] for a in al.values()),
                "no raw device ids in the words")

        card = Sim(tmp, "card", "idcard", ["--pty", os.path.join(tmp, "card.tty")])
        bus = Sim(tmp, "bus", "bus", ["--pty", os.path.join(tmp, "bus.tty")],
                  "--keypads", "1,2", "--pads", "33,34")
        bus2 = Sim(tmp, "bus2", "bus", ["--tcp", str(bus_tcp)], "--keypads", "3")
        led = Sim(tmp, "led", "led", ["--tcp", str(led_tcp)], "--bars", "1,2,3")
        sims += [card, bus, bus2, led]
        ev = Events(h.port)
        ev.expect("status")

        wait_health(h, "bus:keys", "online")
        wait_health(h, "bus:keys2", "online")
        wait_health(h, "bus:bars", "online")
        wait_health(h, "reader:k1", "online")
        # each bar gets its idle text stored, then shows it; every bar acknowledges
        rec = led.expect('bar 1 idle-text', what="idle text stored in bar 1")
        F.eq(rec, 'bar 1 idle-text "1号窗口 欢迎光临" green', "bar 1 idle text")
        led.expect("bar 1 show-idle")
        wait_health(h, "bar:bars:1", "online")

        # ---- login by keypad: staff 1001 at window 1, 1002 at window 2, 1003 at window 3
        key(bus, 1, 1, 0, 0, 1, 0x0F)
        F.eq(bus.expect("echo 1"), "echo 1 01 00 00 01 0F", "keypad 1 login echoed")
        w = wait_window(h, 1, lambda w: w.get("state") == "idle", "idle after login")
        key(bus, 2, 1, 0, 0, 2, 0x0F)
        wait_window(h, 2, lambda w: w.get("state") == "idle", "idle after login")
        key(bus2, 3, 1, 0, 0, 3, 0x0F)
        bus2.expect("echo 3", what="keypad on the TCP bus echoed")
        wait_window(h, 3, lambda w: w.get("state") == "idle", "window 3 idle after login")

        # ---- tickets: one plain, then the elderly card at kiosk k1
        bus.drain()
        st_, t1 = h.issue("A")
        F.eq(st_, 201, "plain ticket issued")
        rec = bus.expect("display 1 ", what="keypad 1 shows the waiting count")
        F.eq(rec, "display 1 waiting=1 ticket=---", "keypad 1 display after one ticket")
        bus.expect("beep 1", what="idle window hears that somebody waits")

        st_, body = h.issue("A", card=True)
        F.check(st_ >= 400 and body.get("error") == "id_required",
                f"no card on the reader: id_required ({st_} {body})")

        card.cmd("place " + os.path.join(DATA, "resident_elderly.bin"))
        c = ev.expect("card", lambda d: d.get("present"))
        if c:
            F.eq(c.get("name_masked"), "王**", "card event: masked name")
            F.eq(c.get("elderly"), True, "card event: elderly")
            F.eq(c.get("kiosk"), "k1", "card event: kiosk")
        sc = h.status().get("card", {})
        F.eq((sc.get("present"), sc.get("name_masked"), sc.get("kiosk")), (True, "王**", "k1"),
             "status carries the card for a kiosk page that reloads")
        st_, body = h.issue("A", card=True)
        F.eq(st_, 201, "real-name ticket issued from the card")
        t_eld = body.get("ticket", {})
        F.eq(t_eld.get("name_masked"), "王**", "ticket carries the masked name")
        F.eq(t_eld.get("priority"), "elderly", "elderly priority from the birth date")
        # per-person limit on C (1 a day): the first passes, the second is refused clearly
        st_, body = h.issue("C", card=True)
        F.eq(st_, 201, "first C ticket with the card")
        st_, body = h.issue("C", card=True)
        F.check(st_ in (403, 409, 429), f"second C ticket refused with a 4xx ({st_})")
        F.eq(body.get("error"), "person_limit", "refusal names the per-person limit")
        F.eq(body.get("message"), "您今日取号次数已达上限", "kiosk message in Chinese")
        card.cmd("remove")
        ev.expect("card", lambda d: d.get("present") is False)
        F.eq(h.status().get("card", {}).get("present"), False, "status: card gone")
        st_, body = h.issue("C", card=True)
        F.eq(body.get("error"), "id_required", "card removed: its identity is gone")

        # ---- call next on keypad 1: the elderly ticket first
        bus.drain()
        led.drain()
        key(bus, 1, 0x0C)
        bus.expect("echo 1 0C")
        label = t_eld.get("number", "?")
        rec = led.expect("bar 1 show", what="bar 1 shows the call")
        F.eq(rec, f'bar 1 show "{label}请到1号窗口" red', "LED bar call text")
        rec = bus.expect("display 1 ", what="keypad display after the call")
        F.eq(rec, f"display 1 waiting=1 ticket={label[-3:]}", "keypad shows the called ticket")
        w = wait_window(h, 1, lambda w: w.get("state") == "calling", "calling")
        F.eq(((w or {}).get("current") or {}).get("number"), label, "status: window 1 calls it")

        # ---- a resent frame (keypad missed the echo) acts once
        key(bus, 1, 0x0D)
        key(bus, 1, 0x0D)
        time.sleep(0.5)
        t = ticket(h, label)
        F.eq((t or {}).get("recalls"), 1, "recall sent twice within 2 s recalls once")
        F.check(device(h.status(), "bus:keys").get("repeats", 0) >= 1, "the repeat is counted")
        # the keypad loses hallqd's echo and resends (§2): echoed again, acted on once
        time.sleep(2.1)  # past the repeat window of the recalls above
        bus.drain()
        bus.cmd("miss 1")
        key(bus, 1, 0x0D)
        bus.expect("missed-echo 1 0D", what="the first echo is lost")
        bus.expect("resend 1 0D", what="the keypad resends")
        F.eq(bus.expect("echo 1", what="the resend is echoed"), "echo 1 0D", "repeat echoed")
        bus.none("resend 1 0D", wait=0.8)
        time.sleep(0.2)
        F.eq((ticket(h, label) or {}).get("recalls"), 2, "a resent recall recalls once")

        # ---- start, finish, rating on the five-key pad 33
        key(bus, 1, 0x0A)
        wait_window(h, 1, lambda w: w.get("state") == "serving", "serving after start")
        bus.drain()
        key(bus, 1, 0x0B)
        bus.expect("invite 33", what="pad invited after finish")
        # the pad loses the acknowledgement and resends its rating: acknowledged again (else it
        # resends until it gives up and shows a failure), evaluated once
        repeats = device(h.status(), "bus:keys").get("repeats", 0)
        bus.cmd("miss 33")
        bus.cmd("rate 33 5")
        bus.expect("missed-ack 33 5", what="the first acknowledgement is lost")
        bus.expect("resend 33 05", what="the pad resends its rating")
        F.eq(bus.expect("ack 33", what="the resent rating is acknowledged"), "ack 33 5",
             "rating acknowledged after the resend")
        bus.none("resend 33", wait=0.8)
        F.eq(device(h.status(), "bus:keys").get("repeats", 0), repeats + 1,
             "the resent rating is counted as a repeat")
        with h.db() as db:
            rows = db.execute("SELECT level, channel, window FROM evaluations").fetchall()
        F.eq([tuple(r) for r in rows], [(5, "pad", 1)], "the pad's rating is stored once")
        with h.db() as db:
            acts = db.execute("SELECT kind, window, actor FROM events WHERE kind IN "
                              "('login', 'evaluation') ORDER BY id").fetchall()
        F.check(("login", 1, "keypad:1") in acts and ("login", 3, "keypad:3") in acts,
                f"the keypad logins name the keypad in the event log: {acts}")

        # ---- no-show: call the plain ticket, skip it; the bar goes back to idle
        led.drain()
        key(bus, 1, 0x0C)
        led.expect("bar 1 show", what="call t1")
        key(bus, 1, 0x06, 0x0F)
        led.expect("bar 1 show-idle", what="bar idle after no-show")
        t = ticket(h, t1["ticket"]["number"])
        F.eq((t or {}).get("status"), "no_show", "no-show by keypad")

        # ---- park and call back, transfer, pause/resume at window 2 (four-key pad)
        st_, t2 = h.issue("A")
        l2 = t2["ticket"]["number"]
        key(bus, 2, 0x0C)
        wait_window(h, 2, lambda w: w.get("state") == "calling", "window 2 calls")
        key(bus, 2, 0x00, 0x0F)
        time.sleep(0.3)
        F.eq((ticket(h, l2) or {}).get("status"), "parked", "park by keypad")
        key(bus, 2, 0x03, 0x0F)
        time.sleep(0.3)
        F.eq((ticket(h, l2) or {}).get("status"), "called", "call back by keypad")
        key(bus, 2, 0x13)
        time.sleep(0.3)
        F.eq((ticket(h, l2) or {}).get("status"), "waiting", "transfer back to the queue")
        led.drain()
        key(bus, 2, 0x12)
        wait_window(h, 2, lambda w: w.get("state") == "paused", "paused by keypad")
        F.eq(led.expect("bar 2 show"), 'bar 2 show "暂停服务" green', "bar shows 暂停服务")
        time.sleep(2.1)  # the same key again within 2 s would be a keypad's resend
        key(bus, 2, 0x12)
        wait_window(h, 2, lambda w: w.get("state") == "idle", "resumed by keypad")
        led.expect("bar 2 show-idle")

        # ---- help key: an event for the manager, a beep for the clerk
        bus.drain()
        key(bus, 2, 0x07, 0x0F)
        hl = ev.expect("help")
        F.eq((hl or {}).get("window"), 2, "help event names the window")
        bus.expect("beep 2")
        # ... and an open call on the dashboard until the manager answers it (issue 16)
        F.check("help:2" in hallq.alarm_keys(h), "the help key raises the dashboard's help:2")
        F.eq(h.post("/api/v1/admin/alarms/help:2/ack", token=hallq.MANAGER)[0], 200, "answered")

        # ---- the TCP bus: window 3 calls; its bar shows it
        led.drain()
        key(bus2, 3, 0x0C)
        rec = led.expect("bar 3 show", what="bar 3 shows the call from the TCP keypad")
        F.eq(rec, f'bar 3 show "{l2}请到3号窗口" red', "window 3 called the transferred ticket")

        # ---- rating timeout: finish at window 3 (no pad) is plain; window 2's pad stays silent
        key(bus2, 3, 0x0A)
        key(bus2, 3, 0x0B)
        wait_window(h, 3, lambda w: w.get("state") == "idle", "window 3 idle after finish")

        # ---- garbage and a bad checksum on the hall bus: counted, survived
        before = device(h.status(), "bus:keys")
        bus.cmd("raw 00 13 FF 55 AA 12")
        bus.cmd("raw FF 68 03 03 68 01 01 0C 99 16")  # keypad 1 call-next, wrong CS
        time.sleep(0.4)
        after = device(h.status(), "bus:keys")
        F.check(after["garbage_bytes"] > before["garbage_bytes"], "garbage bytes counted")
        F.check(after["bad_frames"] > before["bad_frames"], "bad checksum counted")
        F.eq(window(h.status(), 1).get("state"), "idle", "a frame with a bad checksum does nothing")
        st_, t3 = h.issue("A")
        key(bus, 1, 0x0C)
        wait_window(h, 1, lambda w: w.get("state") == "calling", "keys still work after garbage")
        # a reader spewing garbage and bad checksums: counted, and it still reads cards
        card.cmd("fault badsum")
        time.sleep(1.2)
        card.cmd("fault garbage")
        time.sleep(1.0)
        card.cmd("fault none")
        d = wait_health(h, "reader:k1", "online", timeout=10)
        F.check(d and d["bad_frames"] > 0, f"reader bad checksums counted ({d})")
        F.check(d and d["garbage_bytes"] > 0, "reader garbage counted")
        card.cmd("place " + os.path.join(DATA, "resident_adult.bin"))
        c = ev.expect("card", lambda d: d.get("present"))
        F.eq((c or {}).get("name_masked"), "李*", "the reader reads again after the faults")
        F.eq((c or {}).get("elderly"), False, "an adult is not elderly")
        card.cmd("remove")

        # ---- unplug the pty bus and plug it back: no restart of hallqd
        bus.cmd("link off")
        d = wait_health(h, "bus:keys", "offline")
        ev.expect("device", lambda d: d.get("id") == "bus:keys" and d.get("health") == "offline")
        bus.cmd("link on")
        wait_health(h, "bus:keys", "online", timeout=10)
        bus.drain()
        key(bus, 1, 0x0D)
        F.check(bus.expect("echo 1 0D", what="keys work after replug") is not None,
                "replugged bus answers")
        # ---- restart the TCP serial server of the LED bars
        led.stop()
        wait_health(h, "bus:bars", "offline")
        led.start()
        wait_health(h, "bus:bars", "online", timeout=10)
        led.expect("bar 1 idle-text", what="bar 1 reprogrammed after reconnect")
        rec = led.expect("bar 1 show", what="bar 1 shows the current call again")
        F.check(rec is not None and t3["ticket"]["number"] in rec, f"bar 1 current call ({rec})")
        F.check(h.alive(), "hallqd survived every unplug")

        # ---- health changes reached the outbox for the central server
        with h.db() as db:
            rows = [json.loads(r[0]) for r in
                    db.execute("SELECT data FROM outbox WHERE type='event'").fetchall()]
        kinds = [(r.get("device"), r.get("health")) for r in rows if r.get("kind") == "device"]
        F.check(("bus:keys", "offline") in kinds and ("bus:keys", "online") in kinds,
                f"device records in the outbox ({kinds[:6]}...)")
        F.check(any(r.get("kind") == "help" for r in rows), "help call in the outbox")
        # /metrics carries the device counters
        st_, m = h.get("/metrics")
        m = m.decode() if isinstance(m, bytes) else str(m)
        F.check('hallq_device_up{device="bus:keys"} 1' in m, "metrics: bus up")

        # ---- privacy: the ID numbers are nowhere
        with open(h.log_path, "rb") as f:
            log = f.read()
        with open(h.db_path, "rb") as f:
            dbb = f.read()
        sse = "\n".join(ev.raw)
        for idn in (ELDERLY_ID, ADULT_ID):
            F.check(idn.encode() not in log, "no ID number in hallqd's log")
            F.check(idn.encode() not in dbb, "no ID number in the database")
            F.check(idn not in sse, "no ID number in the events")
        F.check("王秀英".encode() not in log and "王秀英" not in sse, "no full name anywhere")

        # ---- rating pad silent past rating_timeout_s: unrated, pad back to idle
        bus.drain()
        key(bus, 1, 0x0A)
        key(bus, 1, 0x0B)
        bus.expect("invite 33")
        rec = bus.expect("stars 33", timeout=9.0, what="pad back to idle after the timeout")
        F.eq(rec, "stars 33 0", "pad idle screen, no stars")
    finally:
        if ev:
            ev.close()
        for s in sims:
            s.stop()
        F.eq(h.stop(), 0, "hallqd stops cleanly on SIGTERM (no sanitizer report)")
        if F.failed:
            print(h.read_log()[-3000:])
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    return F.failed


def blank_and_ack():
    """Bars blanked at closing time (blank_at 00:00 = from the start) while a call still shows;
    a bar that never acknowledges becomes faulty, its neighbour stays online."""
    h = hallq.Hall()
    tmp = h.dir
    cfg = copy.deepcopy(hallq.BASE_CONFIG)
    cfg["http"]["listen"] = f"127.0.0.1:{h.port}"
    cfg["devices"] = {
        "buses": [{"id": "bars", "type": "led", "port": "pty:" + os.path.join(tmp, "led.tty"),
                   "acknowledge": True}],
        "windows": [{"window": 1, "bar": 1}, {"window": 2, "bar": 2}],
        "led": {"blank_at": "00:00", "color": "yellow"},
    }
    h.config = cfg
    h.write_config()
    led = Sim(tmp, "led-b", "led", ["--pty", os.path.join(tmp, "led.tty")], "--bars", "1,2",
              "--no-ack", "2")
    h.start()
    try:
        F.eq(led.expect("bar *", what="blank broadcast"), 'bar * show "" none',
             "closing time: one blank broadcast")
        st = h.status()
        F.eq(st.get("device_keys", {}).get("bars_blanked"), True, "status says the bars are blank")
        F.eq(h.window(1, "login", {"staff": "1001"})[0], 200, "login at window 1")
        h.window(2, "login", {"staff": "1002"})
        st_, t = h.issue("A")
        label = t["ticket"]["number"]
        led.drain()
        F.eq(h.window(1, "call-next")[0], 200, "call at window 1")
        F.eq(led.expect("bar 1 show"), f'bar 1 show "{label}请到1号窗口" yellow',
             "a call shows even on a blanked bar, in the configured colour")
        h.issue("A")
        F.eq(h.window(2, "call-next")[0], 200, "call at window 2, whose bar never answers")
        d = wait_health(h, "bar:bars:2", "faulty")
        F.check(d is not None and d.get("ack_timeouts", 0) >= 3, f"bar 2 timeouts counted ({d})")
        d = device(h.status(), "bar:bars:1")
        F.eq((d or {}).get("health"), "online", "bar 1 acknowledges: online")
    finally:
        hallq_devices.finish(h, [led])


if __name__ == "__main__":
    rc = main()
    blank_and_ack()
    sys.exit(F.done())
