#!/usr/bin/env python3
"""Install the hallq Debian package on a clean Debian 12 and start it: issue 7's "installing
and starting it on a clean machine works", done for real.

    tests/package/install_test.py DEB [WORKDIR]        (root; tools/hallq install-test runs it)

A clean machine is a `debootstrap --variant=minbase bookworm` root (cached as a tarball in
WORKDIR, so a second run does not download it again). In it, as root in a chroot:

  1. `apt-get install ./hallq_*.deb` resolves the package's Depends from Debian's archive
     and runs its maintainer scripts for real (adduser, deb-systemd-helper, secrets).
  2. The result is checked: the hallq system user and its groups, /var/lib/hallq owned by
     it, /etc/hallq/hall.json with generated secrets and mode 0640 root:hallq,
     `hallqd --check-config` passing on it, hallqd.service enabled (the wants link) and
     accepted by `systemd-analyze verify`.
  3. hallqd is started the way the unit starts it, without systemd as PID 1 (CI's machines
     are containers): ExecStartPre then ExecStart, as User/Group/SupplementaryGroups, with
     NOTIFY_SOCKET and WATCHDOG_USEC pointing at a socket this test reads. It must send
     READY=1 and WATCHDOG=1, answer /api/v1/status (its devices offline, the ports do not
     exist here), refuse a manager call without the generated token and take it with it,
     survive ExecReload (the unit's own /bin/kill -HUP), and stop on SIGTERM with exit 0
     and STOPPING=1. Its database is /var/lib/hallq/hallq.db, owned by hallq.
  4. `apt-get remove` then `apt-get purge`: the daemon's database stays (records the
     central server may not have), the configuration goes with the purge.

The one edit made to the installed configuration is the one a hall makes before starting
(postinst says so): `http.listen` moved to 127.0.0.1 and a free port, so the test does not
clash with anything on 8080.
"""
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

MIRROR = os.environ.get("HQ_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)
    return ok


def run(cmd, timeout=600, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def say(msg):
    print("[install-test] " + msg, file=sys.stderr, flush=True)


def make_root(work, root):
    """A clean minbase bookworm in ROOT, from WORK's cached tarball or from debootstrap."""
    cache = os.path.join(work, "rootfs-%s-minbase.tar" % SUITE)
    os.makedirs(root)
    if not os.path.exists(cache):
        say("debootstrap --variant=minbase %s from %s" % (SUITE, MIRROR))
        fresh = os.path.join(work, "rootfs-fresh")
        shutil.rmtree(fresh, ignore_errors=True)
        r = run(["debootstrap", "--variant=minbase", SUITE, fresh, MIRROR], timeout=1200)
        if r.returncode:
            sys.exit("debootstrap failed:\n" + r.stdout[-3000:] + r.stderr[-3000:])
        r = run(["tar", "-C", fresh, "-cf", cache + ".part", "."])
        if r.returncode:
            sys.exit("tar failed: " + r.stderr)
        os.rename(cache + ".part", cache)
        shutil.rmtree(fresh, ignore_errors=True)
    r = run(["tar", "-C", root, "-xpf", cache])
    if r.returncode:
        sys.exit("untar failed: " + r.stderr)


def chroot(root, script, timeout=600):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"}
    return subprocess.run([CHROOT, root, "sh", "-ec", script], capture_output=True, text=True,
                          timeout=timeout, env=env)


def unit_settings(text):
    s = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            s.setdefault(m.group(1), []).append(m.group(2))
    return s


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(port, path, token=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path))
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return 0, str(e).encode()


def notifications(sock, until, want):
    """Datagrams from hallqd until one holds WANT or UNTIL passes; all of them."""
    got = []
    while time.time() < until:
        sock.settimeout(max(0.05, until - time.time()))
        try:
            got.append(sock.recv(4096).decode(errors="replace"))
        except socket.timeout:
            break
        if any(want in g.split("\n") for g in got):
            break
    return got


def start_and_serve(root, unit):
    u = unit_settings(unit)
    pre = shlex.split(u["ExecStartPre"][0])
    start = shlex.split(u["ExecStart"][0])
    reload_cmd = [w.replace("$MAINPID", "{pid}") for w in shlex.split(u["ExecReload"][0])]
    user, group = u["User"][0], u["Group"][0]
    groups = ",".join(" ".join(u.get("SupplementaryGroups", [])).split())
    cfg = start[start.index("--config") + 1]

    port = free_port()
    path = os.path.join(root, cfg.lstrip("/"))
    text = open(path, encoding="utf-8").read()
    text2 = text.replace('"listen": "0.0.0.0:8080"', '"listen": "127.0.0.1:%d"' % port)
    check(text2 != text, "the installed configuration does not listen on 0.0.0.0:8080")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text2)
    tokens = dict((role, tok) for tok, role in
                  re.findall(r'"token": "([^"]+)", "role": "([a-z]+)"', text2))

    asuser = [CHROOT, "--userspec=%s:%s" % (user, group), "--groups=" + groups, root]
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    r = subprocess.run(asuser + pre, capture_output=True, text=True, timeout=60, env=env)
    check(r.returncode == 0, "ExecStartPre as %s failed: %s%s" % (user, r.stdout, r.stderr))

    nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    npath = os.path.join(root, "run", "hallq-test-notify")
    os.makedirs(os.path.dirname(npath), exist_ok=True)
    nsock.bind(npath)
    os.chmod(npath, 0o777)
    env.update(NOTIFY_SOCKET="/run/hallq-test-notify", WATCHDOG_USEC="1000000")
    log = open(os.path.join(root, "tmp", "hallqd.log"), "w+")
    p = subprocess.Popen(asuser + start, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        got = notifications(nsock, time.time() + 30, "READY=1")
        ready = any("READY=1" in g.split("\n") for g in got)
        if not check(ready, "no READY=1 from hallqd within 30 s (got %r)" % got):
            return
        got = notifications(nsock, time.time() + 5, "WATCHDOG=1")
        check(any("WATCHDOG=1" in g.split("\n") for g in got),
              "no WATCHDOG=1 within 5 s at WATCHDOG_USEC=1 s (got %r)" % got)

        code, body = http(port, "/api/v1/status")
        if check(code == 200, "GET /api/v1/status: %d %r" % (code, body[:300])):
            st = json.loads(body)
            check(st["hall"]["id"] == "hall-01", "hall id %r" % st["hall"].get("id"))
            check(st["storage"]["ok"] is True, "storage not ok: %r" % st["storage"])
            check(st["storage"]["path"] == "/var/lib/hallq/hallq.db",
                  "database at %r" % st["storage"]["path"])
            devs = st["devices"]
            ports = sorted(d.get("port", "") for d in devs if d.get("port"))
            check(ports == ["/dev/hallq-bus", "/dev/hallq-led", "/dev/hallq-reader"],
                  "device ports in status: %r" % ports)
            check(all(d["health"] == "offline" and d.get("reason") for d in devs if d.get("port")),
                  "absent ports not offline with a reason: %r" % devs)
        code, body = http(port, "/kiosk")
        check(code == 200 and "<html" in body.decode(errors="replace").lower(),
              "GET /kiosk from /usr/share/hallq/web: %d" % code)
        code, _ = http(port, "/api/v1/appointments")
        check(code == 401, "manager call without a token: %d, want 401" % code)
        code, body = http(port, "/api/v1/appointments", tokens.get("manager"))
        check(code == 200, "manager call with postinst's token: %d %r" % (code, body[:200]))

        db = os.path.join(root, "var/lib/hallq/hallq.db")
        if check(os.path.exists(db), "no /var/lib/hallq/hallq.db"):
            owner = run([CHROOT, root, "stat", "-c", "%U", "/var/lib/hallq/hallq.db"]).stdout
            check(owner.strip() == user, "hallq.db owned by %r" % owner.strip())

        rl = [w.format(pid=p.pid) for w in reload_cmd]
        r = run([CHROOT, root] + rl, timeout=30)
        check(r.returncode == 0, "ExecReload %r: %s" % (rl, r.stderr))
        got = notifications(nsock, time.time() + 10, "READY=1")
        check(any("RELOADING=1" in g.split("\n") for g in got) and
              any("READY=1" in g.split("\n") for g in got),
              "no RELOADING=1 then READY=1 after ExecReload (got %r)" % got)
        check(p.poll() is None, "hallqd exited after ExecReload")
        code, _ = http(port, "/api/v1/status")
        check(code == 200, "status after reload: %d" % code)

        p.terminate()
        try:
            rc = p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "hallqd on SIGTERM: exit %r, want 0" % rc)
        got = notifications(nsock, time.time() + 1, "STOPPING=1")
        check(any("STOPPING=1" in g.split("\n") for g in got), "no STOPPING=1 (got %r)" % got)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        nsock.close()
        log.seek(0)
        out = log.read()
        log.close()
        if failures:
            print("hallqd's output:\n" + out[-4000:], file=sys.stderr)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    deb = os.path.abspath(sys.argv[1])
    work = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else tempfile.gettempdir())
    if os.geteuid() != 0:
        sys.exit("install test: needs root (chroot, apt-get in the chroot)")
    for tool in ("debootstrap", "chroot"):
        if not shutil.which(tool):
            sys.exit("install test: %s is not installed (tools/hallq installs it)" % tool)
    os.makedirs(work, exist_ok=True)
    root = tempfile.mkdtemp(prefix="hallq-clean-", dir=work)
    os.rmdir(root)
    make_root(work, root)
    proc = os.path.join(root, "proc")
    mounted = run(["mount", "-t", "proc", "proc", proc]).returncode == 0
    try:
        shutil.copy("/etc/resolv.conf", os.path.join(root, "etc/resolv.conf"))
        shutil.copy(deb, os.path.join(root, "tmp", os.path.basename(deb)))
        say("apt-get install ./%s in a clean %s" % (os.path.basename(deb), SUITE))
        r = chroot(root, "apt-get update -qq && apt-get install -y -q --no-install-recommends "
                   "/tmp/" + os.path.basename(deb))
        if not check(r.returncode == 0, "apt-get install failed:\n" + r.stdout[-3000:] + r.stderr[-3000:]):
            return 1
        check("tokens and key generated" in r.stdout, "postinst did not report generated secrets")

        say("checking the installed system")
        r = chroot(root, "id -nG hallq; getent passwd hallq")
        groups = set(r.stdout.split("\n")[0].split())
        check({"hallq", "dialout", "gpio", "audio", "lp"} <= groups, "hallq's groups: %r" % groups)
        pw = r.stdout.split("\n")[1].split(":") if r.returncode == 0 else []
        check(len(pw) == 7 and int(pw[2]) < 1000 and pw[5] == "/var/lib/hallq" and
              pw[6] == "/usr/sbin/nologin", "hallq is not a system user: %r" % pw)
        r = chroot(root, "stat -c '%U:%G %a' /var/lib/hallq /etc/hallq/hall.json")
        check(r.stdout.split("\n")[:2] == ["hallq:hallq 750", "root:hallq 640"],
              "owners and modes: %r" % r.stdout)
        cfg = open(os.path.join(root, "etc/hallq/hall.json"), encoding="utf-8").read()
        check("@" not in cfg, "placeholder secrets left in /etc/hallq/hall.json")
        r = chroot(root, "hallqd --check-config /etc/hallq/hall.json")
        check(r.returncode == 0, "--check-config on the installed config: " + r.stdout + r.stderr)
        wants = os.path.join(root, "etc/systemd/system/multi-user.target.wants/hallqd.service")
        check(os.path.islink(wants) and os.readlink(wants) == "/lib/systemd/system/hallqd.service",
              "hallqd.service is not enabled (no multi-user.target.wants link)")
        r = chroot(root, "systemd-analyze verify /lib/systemd/system/hallqd.service")
        check(r.returncode == 0 and not r.stderr.strip(),
              "systemd-analyze verify: " + r.stdout + r.stderr)
        for f in ("lib/udev/rules.d/99-hallq.rules", "usr/share/hallq/voice/zh/qing.wav",
                  "usr/share/hallq/web/display.html"):
            check(os.path.exists(os.path.join(root, f)), "/%s not installed" % f)

        say("starting hallqd as the unit does")
        unit = open(os.path.join(root, "lib/systemd/system/hallqd.service")).read()
        start_and_serve(root, unit)

        say("apt-get remove, then purge")
        r = chroot(root, "apt-get remove -y -q hallq")
        check(r.returncode == 0, "apt-get remove: " + r.stderr[-2000:])
        check(os.path.exists(os.path.join(root, "var/lib/hallq/hallq.db")),
              "remove deleted the database")
        check(not os.path.exists(os.path.join(root, "usr/bin/hallqd")), "remove left hallqd")
        r = chroot(root, "apt-get purge -y -q hallq")
        check(r.returncode == 0, "apt-get purge: " + r.stderr[-2000:])
        check(os.path.exists(os.path.join(root, "var/lib/hallq/hallq.db")),
              "purge deleted the database")
        check(not os.path.exists(os.path.join(root, "etc/hallq/hall.json")),
              "purge left /etc/hallq/hall.json")
        check(not os.path.lexists(wants), "purge left the multi-user.target.wants link")
    finally:
        if mounted:
            run(["umount", "-l", proc])
        if os.path.ismount(proc):
            print("install test: %s still mounted; %s left in place" % (proc, root), file=sys.stderr)
        else:
            run(["rm", "-rf", "--one-file-system", root])
    if failures:
        print("install test: %d failed check(s)" % len(failures), file=sys.stderr)
        return 1
    say("ok: installed, started, served, reloaded, stopped, removed, purged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
