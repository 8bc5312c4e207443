"""Crash safety: a stream of commands runs against hallqd while it is killed
with SIGKILL at random moments and restarted. Afterwards nothing that was
acknowledged is lost, no number was issued twice, and the database's event
log and outbox agree with its state.

Bounded: HQ_CRASH_KILLS kills (default 12), each after 0.1-0.6 s of load.
The random seed is printed so a failure can be replayed (HQ_CRASH_SEED)."""
import copy
import http.client
import json
import os
import random
import signal
import sys
import threading
import time

from hallq import BASE_CONFIG, Failures, Hall

T = Failures("test_crash")
KILLS = int(os.environ.get("HQ_CRASH_KILLS", "12"))
SEED = int(os.environ.get("HQ_CRASH_SEED", str(int(time.time()))))


class Client(threading.Thread):
    """Sends commands as fast as hallqd answers; remembers what was acknowledged."""

    def __init__(self, hall, rng, windows=(1, 2, 3)):
        super().__init__(daemon=True)
        self.h = hall
        self.rng = rng
        self.windows = list(windows)
        self.stop = threading.Event()
        self.issued = {}        # uuid -> number, acknowledged
        self.numbers = []       # every acknowledged number, in order
        self.called = set()     # uuids acknowledged as called
        self.rated = set()      # ticket uuids whose rating was acknowledged
        self.finished = set()
        self.sent = 0
        self.errors = 0

    def cmd(self, fn, *a, **kw):
        self.sent += 1
        try:
            return fn(*a, **kw)
        except (OSError, ValueError) as e:  # refused, reset, half-written reply
            self.errors += 1
            time.sleep(0.01)
            return None, None

    def run(self):
        h = self.h
        while not self.stop.is_set():
            r = self.rng.random()
            if r < 0.5:
                st, body = self.cmd(h.issue, self.rng.choice("AB"))
                if st == 201:
                    t = body["ticket"]
                    self.issued[t["uuid"]] = t["number"]
                    self.numbers.append((t["service"], t["number"]))
            else:
                w = self.rng.choice(self.windows)
                st, body = self.cmd(h.window, w, "call-next")
                if st == 200 and body.get("ticket"):
                    self.called.add(body["ticket"]["uuid"])
                    uuid = body["ticket"]["uuid"]
                    st, body = self.cmd(h.window, w, "finish")
                    if st == 200:
                        self.finished.add(uuid)
                        if self.rng.random() < 0.7:
                            st, body = self.cmd(h.window, w, "rating",
                                                {"level": self.rng.randint(1, 5)})
                            if st == 200:
                                self.rated.add(uuid)


class Merged:
    """The clients' acknowledgements together."""

    def __init__(self, clients):
        self.issued, self.numbers = {}, []
        self.called, self.rated, self.finished = set(), set(), set()
        self.sent = self.errors = 0
        for c in clients:
            self.issued.update(c.issued)
            self.numbers += c.numbers
            self.called |= c.called
            self.rated |= c.rated
            self.finished |= c.finished
            self.sent += c.sent
            self.errors += c.errors


def main():
    print(f"test_crash: seed {SEED}, {KILLS} kills")
    rng = random.Random(SEED)
    cfg = copy.deepcopy(BASE_CONFIG)
    # A range that the load cannot exhaust, so that any repeated number is a
    # fault and not the range wrapping (a fast machine issues ~1,400 A tickets)
    cfg["services"][0].update({"range": [1, 9999], "digits": 4})
    with Hall(cfg) as h:
        for w, staff in ((1, "1001"), (2, "1002"), (3, "1003")):
            st, _ = h.window(w, "login", {"staff": staff})
            T.eq(st, 200, f"login window {w}")
        # one client per window (a clerk's call and finish must meet the same
        # ticket), all of them issuing: commands arrive together and are
        # committed in groups
        clients = [Client(h, random.Random(SEED + 1 + w), (w,)) for w in (1, 2, 3)]
        for c in clients:
            c.start()
        for k in range(KILLS):
            time.sleep(rng.uniform(0.1, 0.6))
            h.kill()
            h.start()
        time.sleep(0.3)
        for c in clients:
            c.stop.set()
            c.join(10)
            T.check(not c.is_alive(), "client stopped")
        client = Merged(clients)

        # a burst: requests that arrive together share commits, each answered
        # only after its own commit (checked below with the rest). To make
        # them arrive together for sure, hallqd is stopped (SIGSTOP) while the
        # 12 requests are written on open connections, then let go.
        st0 = h.status()["storage"]
        burst = []
        conns = [http.client.HTTPConnection("127.0.0.1", h.port, timeout=20) for _ in range(12)]
        for c in conns:  # under the per-address limit of BASE_CONFIG (http.max_clients 16)
            c.connect()
        os.kill(h.proc.pid, signal.SIGSTOP)
        try:
            for c in conns:
                c.request("POST", "/api/v1/tickets", json.dumps({"service": "A"}),
                          {"Content-Type": "application/json"})
        finally:
            os.kill(h.proc.pid, signal.SIGCONT)
        for c in conns:
            try:
                r = c.getresponse()
                burst.append((r.status, json.loads(r.read())))
            except (OSError, ValueError) as e:
                burst.append((str(e), None))
            c.close()
        T.eq(sorted(st for st, _ in burst), [201] * 12, "a burst of 12 tickets all issued")
        for st, body in burst:
            if st == 201:
                t = body["ticket"]
                client.issued[t["uuid"]] = t["number"]
                client.numbers.append((t["service"], t["number"]))
        st1 = h.status()["storage"]
        cmds = st1["commands_committed"] - st0["commands_committed"]
        groups = st1["commit_groups"] - st0["commit_groups"]
        print(f"burst: {cmds} commands committed in {groups} groups")
        T.eq(cmds, 12, "the burst's commands committed")
        T.check(0 < groups < cmds, "commands that arrived together shared commits")
        T.eq(h.stop(), 0, "clean stop after the crashes")
        print(f"commands sent {client.sent}, failed in flight {client.errors}, "
              f"tickets acknowledged {len(client.issued)}, calls {len(client.called)}, "
              f"ratings {len(client.rated)}")
        T.check(len(client.issued) > 50, "the load really ran")

        db = h.db()
        rows = {u: (n, s, called) for u, n, s, called in
                db.execute("SELECT uuid, label, status, called_at FROM tickets")}
        lost = [u for u in client.issued if u not in rows]
        T.eq(lost, [], "acknowledged tickets lost")
        wrong = [u for u, n in client.issued.items() if u in rows and rows[u][0] != n]
        T.eq(wrong, [], "acknowledged tickets whose number changed")
        T.eq(len(set(client.numbers)), len(client.numbers), "a number acknowledged twice")
        dup = db.execute("SELECT day, orig_service, serial, count(*) FROM tickets "
                         "GROUP BY 1, 2, 3 HAVING count(*) > 1").fetchall()
        T.eq(dup, [], "duplicate serials")
        dup = db.execute("SELECT day, label, count(*) FROM tickets GROUP BY 1, 2 "
                         "HAVING count(*) > 1").fetchall()
        T.eq(dup, [], "duplicate numbers in a day (range not exhausted)")
        uncalled = [u for u in client.called if u in rows and not rows[u][2]]
        T.eq(uncalled, [], "acknowledged calls lost")
        unfinished = [u for u in client.finished if rows.get(u, (0, ""))[1] != "done"]
        T.eq(unfinished, [], "acknowledged finishes lost")
        rated = {t for (t,) in db.execute("SELECT ticket FROM evaluations")}
        T.eq(sorted(client.rated - rated), [], "acknowledged evaluations lost")
        dup = db.execute("SELECT ticket, count(*) FROM evaluations GROUP BY 1 "
                         "HAVING count(*) > 1").fetchall()
        T.eq(dup, [], "a ticket rated twice")
        # the log and the outbox are written with the state, never apart
        T.eq(db.execute("SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM events e "
                        "WHERE e.ticket = t.uuid AND e.kind = 'issue')").fetchone()[0], 0,
             "tickets without their issue event")
        T.eq(db.execute("SELECT count(*) FROM evaluations v WHERE NOT EXISTS (SELECT 1 FROM "
                        "outbox o WHERE o.type = 'evaluation' AND o.data LIKE '%' || v.uuid || '%')"
                        ).fetchone()[0], 0, "evaluations without their outbox record")
        gaps = db.execute("SELECT max(seq) - min(seq) + 1 - count(*) FROM outbox").fetchone()[0]
        T.eq(gaps, 0, "holes in the outbox sequence")
        T.eq(db.execute("PRAGMA integrity_check").fetchone()[0], "ok", "database integrity")
        waiting_db = dict(db.execute("SELECT service, count(*) FROM tickets WHERE "
                                     "status='waiting' GROUP BY 1").fetchall())
        db.close()

        # the engine rebuilt from the database agrees with it
        h.start()
        st = h.status()
        for s in st["services"]:
            if s["code"] in "AB":
                T.eq(s["waiting"], waiting_db.get(s["code"], 0), f"waiting {s['code']} after restart")
        st, body = h.issue("A")
        T.eq(st, 201, "issuing goes on after the crashes")
        T.check(body["ticket"]["uuid"] not in client.issued, "a new ticket is new")
        T.check(("A", body["ticket"]["number"]) not in client.numbers, "its number is new")
        h.stop()
        if T.failed:
            print(h.read_log())
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
