#!/usr/bin/env python3
"""Storage safety (issue 13): one hallqd per database file (flock), a read-only
file system at start, the database replaced under a running hallqd, numbers
that never repeat within a day however often the database is moved aside.

Some cases mount a tmpfs, so they need root (CI runs as root); they are skipped
with a message elsewhere.
"""
import copy
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hallq import BASE_CONFIG, CLERK, HALLQD, Hall, free_port, wait_for  # noqa: E402


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def run_second(hall, cfg_changes=None, env=None, timeout=20):
    """Start another hallqd on hall's database (another port); return (rc, output)."""
    cfg = copy.deepcopy(hall.config)
    cfg["store"]["database"] = hall.db_path
    port = free_port()
    cfg["http"]["listen"] = f"127.0.0.1:{port}"
    cfg["http"]["public_url"] = f"http://127.0.0.1:{port}"
    cfg.update(cfg_changes or {})
    path = os.path.join(hall.dir, "second.json")
    import json
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False)
    p = subprocess.run([HALLQD, "--config", path], capture_output=True, text=True,
                       timeout=timeout, env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout + p.stderr


class StorageSafety(unittest.TestCase):
    def test_two_daemons_one_database(self):
        with Hall() as h:
            st, _ = h.issue("A")
            self.assertEqual(st, 201)
            rc, out = run_second(h)
            self.assertNotEqual(rc, 0, out)
            self.assertIn(h.db_path, out)
            self.assertIn("another hallqd", out)
            self.assertIn(f"pid {h.proc.pid}", out)  # the holder, from /proc/locks
            # the first one is untouched and still serves
            st, body = h.issue("A")
            self.assertEqual(st, 201, body)
            self.assertEqual(body["ticket"]["number"], "A002")

    def vanish(self, how):
        with Hall() as h:
            for _ in range(3):
                self.assertEqual(h.issue("A")[0], 201)
            self.assertTrue(h.status()["storage"]["ok"])
            if how == "deleted":
                for sfx in ("", "-wal", "-shm"):
                    os.unlink(h.db_path + sfx)
            else:
                other = os.path.join(h.dir, "other.db")
                db = sqlite3.connect(other)
                db.execute("CREATE TABLE x(y)")
                db.commit()
                db.close()
                os.rename(other, h.db_path)
            # the timer notices within a few seconds, without any command
            self.assertTrue(wait_for(lambda: h.status()["storage"]["degraded"], 15),
                            h.status()["storage"])
            s = h.status()["storage"]
            self.assertFalse(s["ok"])
            self.assertIn(how, s.get("reason", ""))
            for _ in range(5):
                st, body = h.issue("A")
                self.assertNotEqual(st, 201, body)
            st, body = h.get("/metrics")
            self.assertIn(b"hallq_storage_degraded 1", body)
            self.assertIn(how, h.read_log())
            if how == "deleted":
                # the restart starts a fresh file: A001-A003 are never issued again
                h.stop()
                h.start()
                st, body = h.issue("A")
                self.assertEqual(st, 201, body)
                self.assertGreater(int(body["ticket"]["number"][1:]), 3, body)

    def test_database_deleted(self):
        self.vanish("deleted")

    def test_database_replaced(self):
        self.vanish("replaced")

    def test_commit_after_idle_checks_first(self):
        """A ticket after a quiet second is checked before its commit: never a 201
        into a file that is gone, even before the timer's look."""
        with Hall() as h:
            self.assertEqual(h.issue("A")[0], 201)
            time.sleep(1.2)  # idle: the next commit looks first
            os.rename(h.db_path, h.db_path + ".moved")
            st, body = h.issue("A")
            self.assertNotEqual(st, 201, body)

def spoil_table(db_path, table):
    """Overwrite the root page of table with junk: PRAGMA quick_check fails, the
    other tables still read."""
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (table,)).fetchone()[0]
    db.close()
    with open(db_path, "r+b") as f:
        f.seek((root - 1) * page)
        f.write(b"\x5a" * page)


def waiting_numbers(h):
    db = h.db()
    try:
        return sorted(r[0] for r in db.execute(
            "SELECT label FROM tickets WHERE status='waiting'"))
    finally:
        db.close()


class Salvage(unittest.TestCase):
    def test_queue_salvaged_from_moved_file(self):
        with Hall() as h:
            for _ in range(5):
                self.assertEqual(h.issue("A")[0], 201)
            self.assertEqual(h.window(1, "login", {"staff": "1001"})[0], 200)
            st, body = h.window(1, "call-next")
            self.assertEqual(st, 200, body)  # A001 called
            h.stop()
            spoil_table(h.db_path, "events")
            h.start()
            s = h.status()
            self.assertEqual(sum(v["waiting"] for v in s["services"]), 5, s["services"])
            self.assertEqual(waiting_numbers(h), ["A001", "A002", "A003", "A004", "A005"])
            self.assertIn("salvaged", h.read_log())
            db = h.db()
            notice = db.execute("SELECT value FROM meta WHERE key='corrupt_moved'").fetchone()[0]
            db.close()
            self.assertIn('"salvaged":5', notice)
            # the citizens are called, in their old order
            self.assertEqual(h.window(1, "login", {"staff": "1001"})[0], 200)
            st, body = h.window(1, "call-next")
            self.assertEqual(body["ticket"]["number"], "A001", body)
            # and a new ticket never takes a number already handed out today
            st, body = h.issue("A")
            self.assertEqual(st, 201, body)
            self.assertGreater(int(body["ticket"]["number"][1:]), 5)

    def test_reregister_held_number(self):
        with Hall() as h:
            for _ in range(3):
                self.assertEqual(h.issue("A")[0], 201)
            h.stop()
            spoil_table(h.db_path, "tickets")  # nothing of the queue reads back
            h.start()
            self.assertEqual(waiting_numbers(h), [])
            path = "/api/v1/tickets/reregister"
            st, body = h.post(path, {"number": "A002"})
            self.assertEqual(st, 401, body)  # staff only
            st, body = h.post(path, {"number": "A002"}, token=CLERK)
            self.assertEqual(st, 201, body)
            self.assertEqual(body["ticket"]["number"], "A002")
            self.assertEqual(body["ticket"]["status"], "waiting")
            st, body = h.post(path, {"number": "A002"}, token=CLERK)
            self.assertEqual(st, 409, body)  # never two live tickets of one number
            for bad in ("A0", "Z001", "A1000", "", 12):
                st, body = h.post(path, {"number": bad}, token=CLERK)
                self.assertIn(st, (400, 404), (bad, st, body))
            # hallqctl reregister
            from hallq import HALLQCTL
            r = subprocess.run([HALLQCTL, "--url", f"http://127.0.0.1:{h.port}", "--token",
                                CLERK, "reregister", "A001"], capture_output=True, text=True,
                               timeout=20)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("A001", r.stdout)
            self.assertEqual(waiting_numbers(h), ["A001", "A002"])
            self.assertIn("re-registered", h.read_log())
            # a new ticket skips numbers handed out before the loss
            st, body = h.issue("A")
            self.assertGreater(int(body["ticket"]["number"][1:]), 3)


@unittest.skipUnless(os.geteuid() == 0, "needs root to mount a tmpfs")
class ReadOnlyStart(unittest.TestCase):
    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="hallq-ro-")
        sh("mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", self.mnt)

    def tearDown(self):
        sh("umount", self.mnt, check=False)
        os.rmdir(self.mnt)

    def test_read_only_at_start(self):
        cfg = copy.deepcopy(BASE_CONFIG)
        cfg["store"]["database"] = os.path.join(self.mnt, "hall.db")
        with Hall(cfg) as h:
            for _ in range(3):
                self.assertEqual(h.issue("A")[0], 201)
            h.stop()
            sh("mount", "-o", "remount,ro", self.mnt)
            size = os.path.getsize(cfg["store"]["database"])
            # outside systemd it exits at once, saying what is wrong
            t0 = time.time()
            h.log = None
            p = subprocess.run([HALLQD, "--config", h.cfg_path], capture_output=True, text=True,
                               timeout=30)
            out = p.stdout + p.stderr
            self.assertNotEqual(p.returncode, 0, out)
            self.assertIn("read-only", out)
            self.assertNotIn("move it aside", out)
            self.assertNotIn("corrupt", out)
            self.assertLess(time.time() - t0, 20)
            self.assertEqual(os.path.getsize(cfg["store"]["database"]), size)
            # under systemd (NOTIFY_SOCKET) it shows the reason as its status and holds
            # instead of exiting for Restart=always to start it again 2 s later
            sock_path = os.path.join(h.dir, "notify.sock")
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind(sock_path)
            s.settimeout(20)
            p = subprocess.Popen([HALLQD, "--config", h.cfg_path], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, env=dict(os.environ,
                                                                    NOTIFY_SOCKET=sock_path))
            try:
                msg = s.recv(4096).decode()
                self.assertIn("STATUS=", msg)
                self.assertIn("read-only", msg)
                time.sleep(3)
                self.assertIsNone(p.poll(), "it held the failure")
                p.send_signal(signal.SIGTERM)
                self.assertEqual(p.wait(20), 1)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                s.close()
            sh("mount", "-o", "remount,rw", self.mnt)
            h.start()
            self.assertEqual(len(h.status()["services"]), 3)
            st, body = h.issue("A")
            self.assertEqual((st, body["ticket"]["number"]), (201, "A004"))


if __name__ == "__main__":
    unittest.main()
