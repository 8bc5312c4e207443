"""test_rating_crash.py — issue 17's end-to-end test: a rating's records reach the provincial
platform exactly once across a SIGKILL of hallqd and one of hallq-central.

The set-up is test_rating.py's (the real hallqd, a hall bus of hallq-sim with an FF 68 pad on
a pty, hallq-central with the example mapping file, the reference province receiver that
validates every record against config/province/record.schema.json):

1. hallq-central is not running yet (its port is reserved: the hall's sync.url names it), so
   nothing can be synced. A business system binds two cases to the ticket being served and
   starts the rating; the pad rates 2 and hallqd acknowledges it on the bus.
2. hallqd is SIGKILLed right after that acknowledgement. Its database holds the two
   evaluation records, unsent, in the outbox (synchronous=FULL: an acknowledged rating is on
   disk).
3. The platform answers slowly (the receiver's gate closed: a request waits with its body
   read). hallq-central starts, hallqd starts again and syncs; hallq-central acknowledges the
   batch and starts forwarding. While a delivery is in flight at the platform, hallq-central
   is SIGKILLed; then the platform answers again (it keeps what the dead sender sent, as a
   real one would).
4. hallq-central starts again on the same database and finishes.

Afterwards: the receiver holds each of the two evaluation ids exactly once (stored once; a
repeat of the one in flight at the kill is answered "already held" by its Idempotency-Key,
which is what the key is for), both valid, both cases (办件编号, 事项编码, 事项名称) present,
level 2; nothing else was sent; hallq-central's forwarding table has both rows sent; the
hall's outbox is acknowledged through; hallq-central holds each record once.

Runs on the store test_central.Central picks: SQLite, or the PostgreSQL fixture (pgfix.py)
with HQ_CENTRAL_STORE=pg (ctest central_pg_rating_crash).

usage: test_rating_crash.py HALLQ_SIM HALLQ_CENTRAL  (ctest passes both)
"""
import collections
import json
import os
import sys

import hallq
import hallq_devices
import test_rating as tr
from province_receiver import ProvinceReceiver

F = tr.F = hallq_devices.failures("test_rating_crash")
tc = tr.tc


def outbox(h):
    with h.db() as db:
        return [(json.loads(d), a) for d, a in db.execute(
            "SELECT data, acked FROM outbox WHERE type='evaluation' ORDER BY seq")]


def forward_rows(central):
    """(uuid, sent) of hallq-central's forwarding table, on whichever store it runs."""
    if tc.PG:
        import pgfix
        out = pgfix.psql("SELECT uuid, sent_at IS NOT NULL FROM province_forward",
                         dbname=central.store[1].split("dbname=")[1])
        return [tuple(line.split("|")) for line in out.strip().splitlines()]
    import sqlite3
    db = sqlite3.connect(central.db)
    try:
        return [(u, "t" if s else "f") for u, s in
                db.execute("SELECT uuid, sent_at IS NOT NULL FROM province_forward")]
    finally:
        db.close()


def main():
    tc.CENTRAL = tr.CENTRAL
    h = hallq.Hall()
    tmp = h.dir
    rx = ProvinceReceiver().start()
    central_port = hallq.free_port()
    tr.rating_hall(h, central_port)
    h.start()
    bus = central = None
    try:
        bus = tr.hall_bus(h)

        # ---- 1. two cases bound, the pad rates 2, acknowledged; nothing can sync yet
        tuuid = tr.serve_with_cases(h)
        tr.pad_rates(h, bus, 2)
        # ---- 2. SIGKILL hallqd right after the acknowledgement
        h.kill()
        recs = outbox(h)
        F.eq(len(recs), 2, f"the two evaluation records survived the SIGKILL: {recs}")
        F.eq([a for _, a in recs], [0, 0], "both unsent at the kill")
        want = {r["uuid"]: r for r, _ in recs}
        F.eq(sorted(r["case_no"] for r in want.values()),
             [c["case_no"] for c in tr.CASES], "one record per case")

        # ---- 3. the platform is slow; hallq-central starts, hallqd syncs again
        rx.gate.clear()
        central = tc.Central(tmp, "--token", tr.SYNC_TOKEN, "--province",
                             tr.province_mapping(tmp, rx), listen=f"127.0.0.1:{central_port}")
        h.start()
        F.check(hallq.wait_for(lambda: all(a for _, a in outbox(h)), timeout=60),
                "hallqd synced its outbox to hallq-central after the restart")
        F.check(hallq.wait_for(lambda: rx.waiting >= 1, timeout=60),
                "hallq-central is delivering to the platform")
        # ---- SIGKILL hallq-central while its delivery waits at the platform
        central.kill()
        rx.gate.set()
        F.check(hallq.wait_for(lambda: rx.waiting == 0, timeout=30), "the platform answered")
        at_kill = set(rx.held())  # what the platform kept of what the dead sender sent

        # ---- 4. hallq-central again, on the same database
        central.restart()
        F.check(hallq.wait_for(lambda: set(rx.held()) >= set(want), timeout=60),
                f"the platform has {len(rx.held())} of {len(want)} evaluations")
        F.check(hallq.wait_for(lambda: sorted(s for _, s in forward_rows(central)) == ["t", "t"],
                               timeout=30), f"both forwarding rows sent: {forward_rows(central)}")

        # Stored per evaluation id: every delivery, less those the platform answered
        # "already held" (the Idempotency-Key's repeats).
        stored = collections.Counter(r["evaluationId"] for r in rx.deliveries)
        stored.subtract(rx.duplicates)
        held = rx.held()
        F.eq(set(held), set(want), "exactly the two evaluations reached the platform")
        F.eq(dict(stored), {e: 1 for e in want}, "each evaluation id stored exactly once")
        repeats = sum(rx.duplicates.values())
        F.check(repeats <= 2, f"repeats only of what was in flight at the kill: {rx.duplicates}")
        F.check(rx.duplicates, "the delivery in flight at the kill was sent again after the "
                "restart: the kill did land mid-delivery, and hallq-central did not lose it")
        F.check(set(rx.duplicates) <= at_kill,
                "a repeated delivery was one the platform already had when the sender died")
        F.eq(len(rx.deliveries), len(want) + repeats, "nothing else delivered")
        F.eq(rx.invalid, [], "both records valid against the national items' schema")
        F.eq(sorted((r["projectNo"], r["taskCode"], r["taskName"]) for r in held.values()),
             sorted((c["case_no"], c["item_code"], c["item_name"]) for c in tr.CASES),
             "both cases at the platform: 办件编号, 事项编码, 事项名称")
        F.eq({(r["alternate"], r["satisfaction"], r["pf"], r["windowNo"]) for r in held.values()},
             {("2", "不满意", "5", "1")}, "level 2 by the window's pad at window 1")
        F.eq({e: held[e]["projectNo"] for e in held}, {e: want[e]["case_no"] for e in want},
             "each evaluation id with its own case")
        got = collections.Counter(r["data"]["uuid"] for r in central.dump()
                                  if r["type"] == "evaluation")
        F.eq(dict(got), {e: 1 for e in want}, "hallq-central holds each record once")
        F.eq({r["ticket"] for r in tr.evaluations(h)}, {tuuid}, "the hall's rows rate the ticket")
        F.check(h.alive(), "hallqd still runs")
    finally:
        rx.gate.set()
        if bus:
            bus.stop()
        h.stop()
        if central:
            central.stop()
        rx.stop()
    return F.done()


if __name__ == "__main__":
    sys.exit(main())
