"""cupsd.py — a private CUPS scheduler for the printing tests.

Starts Debian's cupsd in the foreground on a temporary directory of its own
(configuration, spool, cache, state, logs) listening on a unix socket only,
so tests never touch the machine's CUPS and can run side by side. cupsd
refuses to run filters and backends as root, so it runs them as user lp:
the spool and temp folders are made lp's. Queues are raw (no PPD, no
filters): the ESC/POS bytes reach the printer untouched.

    with PrivateCupsd() as cups:
        cups.add_raw_queue("tickets", "socket://127.0.0.1:9100")
        ... cupsSetServer(cups.socket) in the program under test ...

As a command-line tool it is the demo hall's print server (tools/demo-printer.sh):

    python3 cupsd.py serve DIR [--queue NAME=URI ...]

starts one with its files in DIR (emptied first; the socket is DIR/cups.sock),
adds the raw queues (printer-error-policy=retry-job), prints "ready SOCKET"
and serves until SIGTERM or SIGINT; on failure it prints "failed: WHY" and
exits 1. `python3 cupsd.py` alone starts one, adds a queue and shows lpstat.
"""
import argparse
import grp
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CUPSD = "/usr/sbin/cupsd"
LPADMIN = "/usr/sbin/lpadmin"


class CupsdError(RuntimeError):
    pass


class PrivateCupsd:
    def __init__(self, user="lp", group="lp", directory=None):
        """directory: where its files go (kept after stop); None = a new temp folder."""
        self.user, self.group = user, group
        self.dir = None
        self.fixed_dir = directory
        self.proc = None

    # -- set-up ---------------------------------------------------------
    def start(self, timeout=15):
        if os.geteuid() != 0:
            raise CupsdError("cupsd needs root to switch to user %s" % self.user)
        if not os.path.exists(CUPSD):
            raise CupsdError("%s missing: install Debian packages cups and cups-daemon" % CUPSD)
        uid = pwd.getpwnam(self.user).pw_uid
        gid = grp.getgrnam(self.group).gr_gid
        # /tmp paths stay short: a unix socket path has a 108-byte limit.
        if self.fixed_dir:
            self.dir = os.path.abspath(self.fixed_dir)
            shutil.rmtree(self.dir, ignore_errors=True)
            os.makedirs(self.dir)
        else:
            self.dir = tempfile.mkdtemp(prefix="hq-cups-")
        if len(os.path.join(self.dir, "cups.sock")) >= 108:
            raise CupsdError("%s: too long for a unix socket path" % self.dir)
        os.chmod(self.dir, 0o755)
        d = self.dir
        self.socket = os.path.join(d, "cups.sock")
        self.error_log = os.path.join(d, "log", "error_log")
        for sub, owner, mode in [("etc", 0, 0o755), ("etc/ppd", 0, 0o755), ("etc/ssl", 0, 0o700),
                                 ("spool", uid, 0o710), ("spool/tmp", uid, 0o1770),
                                 ("cache", uid, 0o770), ("state", 0, 0o755),
                                 ("state/certs", uid, 0o711), ("log", 0, 0o755)]:
            p = os.path.join(d, sub)
            os.makedirs(p, exist_ok=True)
            os.chown(p, owner if owner else 0, gid)
            os.chmod(p, mode)
        with open(os.path.join(d, "etc", "cups-files.conf"), "w") as f:
            f.write(
                "User %s\nGroup %s\nSystemGroup root\n"
                "ServerRoot %s/etc\nRequestRoot %s/spool\nTempDir %s/spool/tmp\n"
                "CacheDir %s/cache\nStateDir %s/state\nErrorLog %s\n"
                "AccessLog %s/log/access_log\nPageLog %s/log/page_log\n"
                "Printcap %s/etc/printcap\nServerKeychain %s/etc/ssl\n"
                "FileDevice No\nSandboxing Relaxed\n"
                % (self.user, self.group, d, d, d, d, d, self.error_log, d, d, d, d))
        with open(os.path.join(d, "etc", "cupsd.conf"), "w") as f:
            # Everything is allowed: only this test's processes can reach the
            # socket (its folder is ours), and lpadmin needs no password.
            f.write(
                "Listen %s\nLogLevel warn\nMaxLogSize 0\nWebInterface No\nBrowsing No\n"
                "BrowseLocalProtocols none\nDefaultAuthType None\nDefaultShared No\n"
                "JobRetryInterval 5\nErrorPolicy retry-job\n"
                "<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
                "<Policy default>\n  JobPrivateAccess all\n  JobPrivateValues none\n"
                "  SubscriptionPrivateAccess all\n  SubscriptionPrivateValues none\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
                % self.socket)
        env = dict(os.environ, CUPS_SERVERROOT=os.path.join(d, "etc"))
        self.proc = subprocess.Popen(
            [CUPSD, "-f", "-c", os.path.join(d, "etc", "cupsd.conf"),
             "-s", os.path.join(d, "etc", "cups-files.conf")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise CupsdError("cupsd exited (%d): %s %s" % (
                    self.proc.returncode, self.proc.stderr.read().decode(errors="replace"),
                    self.log()))
            if os.path.exists(self.socket) and self._lpstat_ok():
                return self
            time.sleep(0.1)
        self.stop()
        raise CupsdError("cupsd did not answer on %s within %ds" % (self.socket, timeout))

    def _lpstat_ok(self):
        r = subprocess.run(["lpstat", "-h", self.socket, "-r"], capture_output=True, text=True)
        return r.returncode == 0 and "is running" in r.stdout

    def add_raw_queue(self, name, uri, options=()):
        """A raw queue to uri, enabled and accepting jobs; options: ["k=v", ...] for lpadmin -o."""
        opts = [a for o in options for a in ("-o", o)]
        # Debian's CUPS 2.4 still takes "-m raw" (it warns that raw queues are
        # deprecated); without any -m the queue is raw as well, so fall back.
        for extra in (["-m", "raw"], []):
            r = subprocess.run([LPADMIN, "-h", self.socket, "-p", name, "-E", "-v", uri] + opts +
                               extra, capture_output=True, text=True)
            if r.returncode == 0:
                break
        else:
            raise CupsdError("lpadmin failed: %s %s" % (r.stderr.strip(), self.log()))
        subprocess.run(["cupsenable", "-h", self.socket, name], capture_output=True)
        subprocess.run(["cupsaccept", "-h", self.socket, name], capture_output=True)

    def log(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    # -- tear-down ------------------------------------------------------
    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        if self.dir and not self.fixed_dir and not os.environ.get("HQ_KEEP_CUPSD"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def serve(argv):
    ap = argparse.ArgumentParser(prog="cupsd.py serve", description="a private cupsd in DIR")
    ap.add_argument("dir")
    ap.add_argument("--queue", action="append", default=[], metavar="NAME=URI")
    a = ap.parse_args(argv)
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.append(1))
    c = PrivateCupsd(directory=a.dir)
    try:
        c.start()
        for q in a.queue:
            name, sep, uri = q.partition("=")
            if not sep or not name or not uri:
                raise CupsdError("--queue %r: want NAME=URI" % q)
            c.add_raw_queue(name, uri, ["printer-error-policy=retry-job"])
    except (CupsdError, OSError, KeyError) as e:
        print("failed: %s" % str(e).strip().replace("\n", " ")[:600], flush=True)
        c.stop()
        return 1
    print("ready %s" % c.socket, flush=True)
    try:
        while not stop and c.proc.poll() is None:
            time.sleep(0.2)
        if not stop:
            print("failed: cupsd exited (%d): %s" % (c.proc.returncode, c.log()[-300:]),
                  flush=True)
            return 1
    finally:
        c.stop()
    return 0


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    sys.exit(serve(sys.argv[2:]))
elif __name__ == "__main__":
    with PrivateCupsd() as c:
        c.add_raw_queue("hq-test", "socket://127.0.0.1:9")
        print(subprocess.run(["lpstat", "-h", c.socket, "-t"], capture_output=True,
                             text=True).stdout)
        print("log:", c.log())
