"""test_rating_sealed_id.py — the evaluator's ID number, sealed to the provincial platform's
public key from the card read to delivery (issue 17; docs/DESIGN.md "The evaluator's ID
number", docs/PROVINCE.md).

The real hallqd with an ID-card reader (hallq-sim on a pty) and evaluation.platform_pubkey
set to a key pair's public half made here (libsodium through ctypes); hallq-central with the
example mapping forwards to the reference province receiver.

- a ticket issued with a card, served, rated 2 on its QR page: its evaluation record carries
  `id_sealed` and `real_name` true; hallq-central passes it through unopened; the receiver's
  `userCert` opens with the private key to exactly the card's number, realName "1";
- a ticket issued without a card: no `id_sealed`, real_name false, realName "0";
- the clear number is nowhere: hallqd's database file, its WAL, its log, the outbox rows,
  hallq-central's database (file and WAL, or its PostgreSQL rows) and log;
- the box keeps no copy once the record carries it (ticket_ids empty);
- a platform_pubkey that is not a key: hallqd --check-config names the file and the path.

usage: test_rating_sealed_id.py HALLQ_SIM HALLQ_CENTRAL  (ctest passes both)
"""
import base64
import copy
import ctypes
import ctypes.util
import glob
import json
import os
import subprocess
import sys

import hallq
import hallq_devices
from hallq_devices import Sim
import test_rating as tr
from province_receiver import ProvinceReceiver

F = tr.F = hallq_devices.failures("test_rating_sealed_id")
tc = tr.tc
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def gb11643(d17):
    return d17 + "10X98765432"[sum(int(c) * w for c, w in zip(d17, W)) % 11]


def card_present(h):
    return any(c.get("present") for c in h.status().get("cards", []))


def files_with(needle, paths):
    hits = []
    for p in paths:
        try:
            with open(p, "rb") as f:
                if needle.encode() in f.read():
                    hits.append(p)
        except OSError:
            pass
    return hits


def main():
    tc.CENTRAL = tr.CENTRAL
    sodium = ctypes.CDLL(ctypes.util.find_library("sodium"))
    F.check(sodium.sodium_init() >= 0, "libsodium")
    pk, sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(32)
    sodium.crypto_box_keypair(pk, sk)
    idno = gb11643("11010119800101" + "123")

    h = hallq.Hall()
    tmp = h.dir
    rx = ProvinceReceiver().start()
    central = tc.Central(tmp, "--token", tr.SYNC_TOKEN, "--province", tr.province_mapping(tmp, rx))
    cfg = copy.deepcopy(hallq.BASE_CONFIG)
    for i, s in enumerate(cfg["services"]):
        s["task_code"] = "11330000MB0000000X40001110000%02d" % i
    cfg["evaluation"] = {"platform_pubkey": base64.b64encode(pk.raw).decode()}
    cfg["sync"] = {"url": f"http://127.0.0.1:{central.port}", "token": tr.SYNC_TOKEN}
    cfg["devices"] = {"card_readers": [{"kiosk": "k1", "port": "pty:" + os.path.join(tmp, "card.tty")}]}
    cfg["http"]["listen"] = f"127.0.0.1:{h.port}"
    h.config = cfg
    h.write_config()

    # ---- a key that is not one: the file and the JSON path named
    bad = copy.deepcopy(cfg)
    bad["evaluation"]["platform_pubkey"] = "bm90IGEga2V5"
    bad_path = os.path.join(tmp, "bad.json")
    with open(bad_path, "w", encoding="utf-8") as f:
        json.dump(bad, f, ensure_ascii=False)
    p = subprocess.run([hallq.HALLQD, "--check-config", bad_path], capture_output=True, text=True,
                       timeout=30)
    F.check(p.returncode != 0 and bad_path in p.stderr and "platform_pubkey" in p.stderr,
            f"a bad platform_pubkey is refused naming file and path: {p.returncode} {p.stderr}")

    h.start()
    reader = None
    try:
        reader = Sim(tmp, "card", "idcard", ["--pty", os.path.join(tmp, "card.tty")])
        reader.cmd(f"generate 张三,19800101,{idno}")
        F.check(hallq.wait_for(lambda: card_present(h), timeout=15), "the card is read")
        F.eq(h.window(3, "login", {"staff": "1003"})[0], 200, "login at window 3")
        st, b = h.issue("A", channel="kiosk", card=True, kiosk="k1")
        F.eq(st, 201, f"a card ticket: {b}")
        t_card = (b.get("ticket") or b)["uuid"]
        st, b = h.issue("A")
        F.eq(st, 201, "a ticket without a card")
        t_plain = (b.get("ticket") or b)["uuid"]
        reader.cmd("remove")
        with h.db() as db:
            n = db.execute("SELECT count(*) FROM ticket_ids WHERE ticket=?", (t_card,)).fetchone()[0]
        F.eq(n, 1, "the card ticket's number is kept, sealed, beside the ticket")
        for tu in (t_card, t_plain):
            F.eq(h.window(3, "call-next")[0], 200, "call at window 3")
            F.eq(h.window(3, "finish")[0], 200, "finish at window 3")
        for tu in (t_card, t_plain):
            st, b = h.post(f"/api/v1/rate/{tu}", {"level": 2})
            F.eq(st, 200, f"rated on its QR page: {b}")

        with h.db() as db:
            recs = {json.loads(d)["ticket_uuid"]: json.loads(d) for (d,) in db.execute(
                "SELECT data FROM outbox WHERE type='evaluation'")}
            left = db.execute("SELECT count(*) FROM ticket_ids").fetchone()[0]
        F.eq(left, 0, "the box keeps no copy once the record carries it")
        rc, rp = recs.get(t_card, {}), recs.get(t_plain, {})
        F.check(rc.get("real_name") is True and len(rc.get("id_sealed", "")) >= 60,
                f"the card ticket's record: real-name, the number sealed: {rc}")
        F.check(rp.get("real_name") is False and "id_sealed" not in rp,
                f"the plain ticket's record: anonymous, no number: {rp}")

        # ---- hallq-central passes it through; the platform opens it
        want = {r["uuid"] for r in recs.values()}
        F.check(hallq.wait_for(lambda: set(rx.held()) >= want, timeout=30),
                f"the platform has {len(rx.held())} of {len(want)}")
        got = rx.held()
        F.eq(rx.invalid, [], "both valid against the schema")
        gc, gp = got.get(rc.get("uuid"), {}), got.get(rp.get("uuid"), {})
        F.eq((gc.get("realName"), gp.get("realName"), "userCert" in gp), ("1", "0", False),
             "realName 1 with a card, 0 without (and no userCert)")
        box = base64.b64decode(gc.get("userCert", ""))
        opened = ctypes.create_string_buffer(max(len(box) - 48, 1))
        ok = len(box) > 48 and sodium.crypto_box_seal_open(
            opened, box, ctypes.c_ulonglong(len(box)), pk, sk) == 0
        F.check(ok, "userCert opens with the platform's private key")
        F.eq(opened.raw[:len(box) - 48].decode(errors="replace"), idno,
             "and is exactly the card's number")
        F.eq(gc.get("userCert"), rc.get("id_sealed"), "passed through unopened, as sealed")

        # ---- the clear number nowhere on the box or at hallq-central
        central_rows = json.dumps(central.dump(), ensure_ascii=False)
        F.check(idno not in central_rows, "not in hallq-central's records")
        h.stop()
        central.stop()
        box_files = [h.db_path, h.db_path + "-wal", h.db_path + "-shm", h.log_path,
                     h.cfg_path] + glob.glob(os.path.join(tmp, "*.db*"))
        F.eq(files_with(idno, box_files), [], "not in the box's database, WAL, log or config")
        F.eq(files_with(idno, [central.log_path] + glob.glob(central.db + "*")), [],
             "not in hallq-central's database files or log")
        if tc.PG:
            import pgfix
            dump = pgfix.psql("SELECT data::text FROM records",
                              dbname=central.store[1].split("dbname=")[1])
            F.check(idno not in dump, "not in hallq-central's PostgreSQL rows")
        with h.db() as db:
            rows = " ".join(d for (d,) in db.execute("SELECT data FROM outbox"))
        F.check(idno not in rows, "not in the outbox")
    finally:
        if reader:
            reader.stop()
        h.stop()
        try:
            central.stop()
        except Exception:  # noqa: BLE001 — stopped above already
            pass
        rx.stop()
    return F.done()


if __name__ == "__main__":
    sys.exit(main())
