#!/usr/bin/env python3
"""test_serial_dead_peer.py — a TCP serial server that vanishes without a word (power cut, pulled
cable) is noticed by hallqd in seconds, not after the kernel's two-hour keepalive: the hall bus
goes offline saying the server stopped answering, hallqd keeps answering meanwhile, and when the
server is back the bus reconnects and keys work.

A silent death needs a peer that stops acknowledging, which loopback never does. So the test
runs in a private network namespace of its own (unshare --net; nothing outside is touched and
nothing needs cleaning up): the serial server (hallq-sim bus) listens on an extra address
10.77.0.1 on the namespace's lo, and "pulling the cable" deletes that address, so whatever
hallqd sends to it (keepalive probes) goes nowhere, and nothing comes back. Where no namespace
can be made (not root, and no user namespaces) the test is skipped (exit 77).

usage: test_serial_dead_peer.py [HALLQ_SIM]  (ctest passes the simulator's path)
"""
import copy
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import hallq  # noqa: E402
import hallq_devices  # noqa: E402
from hallq_devices import Sim, device, finish, key, wait_health  # noqa: E402

SKIP = 77
ADDR = "10.77.0.1"
# serial.h: keepalive after 10 s idle, TCP_USER_TIMEOUT 20 s; the kernel's default is 2 h
NOTICED_WITHIN_S = 40

F = hallq_devices.failures("test_serial_dead_peer")


def ip(*args):
    subprocess.run(["ip", *args], check=True)


def in_private_netns():
    """Re-run this script in a new network namespace; returns its exit code, or None when the
    namespace is ours already."""
    if os.environ.get("HQ_PRIVATE_NETNS") == "1":
        return None
    if not shutil.which("unshare") or not shutil.which("ip"):
        print("SKIP: unshare or ip (iproute2) missing")
        return SKIP
    # as root, or as anybody where user namespaces are allowed
    for unshare in (["unshare", "--net"], ["unshare", "--net", "--map-root-user"]):
        probe = subprocess.run(unshare + ["true"], capture_output=True, text=True)
        if probe.returncode == 0:
            env = dict(os.environ, HQ_PRIVATE_NETNS="1")
            return subprocess.run(unshare + [sys.executable, *sys.argv], env=env).returncode
    print("SKIP: cannot make a network namespace: " + probe.stderr.strip())
    return SKIP


def main():
    ip("link", "set", "lo", "up")
    ip("addr", "add", ADDR + "/32", "dev", "lo")
    port = hallq.free_port()
    h = hallq.Hall()
    tmp = h.dir
    cfg = copy.deepcopy(hallq.BASE_CONFIG)
    cfg["http"]["listen"] = f"127.0.0.1:{h.port}"
    cfg["devices"] = {
        "buses": [{"id": "keys", "type": "hall", "port": f"tcp://{ADDR}:{port}"}],
        "windows": [{"window": 1, "bus": "keys", "keypad": 1}],
    }
    h.config = cfg
    h.write_config()
    server = Sim(tmp, "server", "bus", ["--tcp", str(port)], "--keypads", "1")
    h.start()
    try:
        wait_health(h, "bus:keys", "online")
        F.eq(h.window(1, "login", {"staff": "1001"})[0], 200, "login at window 1")
        h.issue("A")
        key(server, 1, 0x0C)
        server.expect("echo 1 0C", what="the keypad behind the serial server works")

        # the serial server loses power: its address is gone before it could say goodbye
        ip("addr", "del", ADDR + "/32", "dev", "lo")
        server.p.kill()
        server.p.wait()
        t0 = time.time()
        d = wait_health(h, "bus:keys", "offline", timeout=NOTICED_WITHIN_S)
        took = time.time() - t0
        noticed = d is not None and d.get("health") == "offline"
        F.check(noticed, f"the dead link noticed within {NOTICED_WITHIN_S} s")
        if noticed:
            print(f"the dead serial server was noticed after {took:.1f} s", flush=True)
        F.check(d is not None and "stopped answering" in d.get("reason", ""),
                f"offline because the server stopped answering ({d})")
        F.eq(h.get("/api/v1/status")[0], 200, "hallqd answers while the bus is dead")

        # power back: the reconnect-with-backoff path finds it
        ip("addr", "add", ADDR + "/32", "dev", "lo")
        server.start()
        wait_health(h, "bus:keys", "online", timeout=20)
        server.drain()
        key(server, 1, 0x0D)
        server.expect("echo 1 0D", what="keys work after the serial server came back")
        F.check(device(h.status(), "bus:keys")["opens"] >= 2, "the link was opened again")
    finally:
        finish(h, [server])
    return F.done()


if __name__ == "__main__":
    rc = in_private_netns()
    sys.exit(main() if rc is None else rc)
