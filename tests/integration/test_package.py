"""The Debian package (tools/package.cmake): cpack builds it from this build, dpkg-deb reads
its control part, `dpkg -x` unpacks it into a scratch root, and the files are checked there:
the programs, pages, voice pack, systemd unit, udev rules, example configuration and the
maintainer scripts. Installing it for real (apt-get in a clean Debian 12 root, the maintainer
scripts run, hallqd started as its unit starts it) is tests/package/install_test.py, which
`tools/hallq install-test` and CI run: it needs root and Debian's archive, so it is not here.

tools/cross.sh runs it on the ARM packages too, with
  HQ_PACKAGE_DEB   the .deb to check (instead of running cpack on HQ_BUILD),
  HQ_PACKAGE_ARCH  the Debian architecture it must be for (its programs' ELF machine too),
  HQ_EMULATOR      what runs the unpacked hallqd (qemu-aarch64, qemu-arm).
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from hallq import BUILD, Failures  # noqa: E402


# e_machine of an ELF file, by Debian architecture
ELF_MACHINE = {"amd64": 62, "arm64": 183, "armhf": 40, "i386": 3}


def elf_machine(path):
    with open(path, "rb") as fh:
        head = fh.read(20)
    if head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


def main():
    f = Failures("test_package")
    tmp = tempfile.mkdtemp(prefix="hallq-pkg-")
    deb = os.environ.get("HQ_PACKAGE_DEB")
    arch = os.environ.get("HQ_PACKAGE_ARCH") or run(["dpkg", "--print-architecture"]).stdout.strip()
    emulator = os.environ.get("HQ_EMULATOR", "").split()
    if not deb:
        r = run(["cpack", "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-G", "DEB", "-B", tmp])
        f.check(r.returncode == 0, "cpack failed: " + r.stdout[-2000:] + r.stderr[-2000:])
        debs = sorted(n for n in os.listdir(tmp) if n.endswith(".deb"))
        # Two packages: the hall box's and hallq-central's (tools/package.cmake).
        f.check(len(debs) == 2 and debs[0].startswith("hallq-central_") and
                debs[1].startswith("hallq_"), "hallq_ and hallq-central_ .deb expected, got %r" % debs)
        if f.failed:
            return f.done()
        deb = os.path.join(tmp, debs[1])
        central = os.path.join(tmp, debs[0])
        cinfo = run(["dpkg-deb", "-f", central]).stdout
        f.check(re.search(r"^Package: hallq-central$", cinfo, re.M) is not None, "Package: " + cinfo)
        croot = os.path.join(tmp, "central-root")
        f.check(run(["dpkg", "-x", central, croot]).returncode == 0, "dpkg -x hallq-central")
        for want in ("usr/bin/hallq-central", "lib/systemd/system/hallq-central.service",
                     "etc/default/hallq-central", "usr/share/doc/hallq-central/CENTRAL.md",
                     "usr/share/hallq-central/sql/pg_001_init.sql"):
            f.check(os.path.isfile(os.path.join(croot, want)), "hallq-central: %s missing" % want)

    # control
    info = run(["dpkg-deb", "-f", deb]).stdout
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", info, re.M))
    f.check(fields.get("Package") == "hallq", "Package: %r" % fields.get("Package"))
    f.check(fields.get("Architecture") == arch, "Architecture: %r, want %s" % (fields.get("Architecture"), arch))
    f.check(os.path.basename(deb).endswith("_%s.deb" % arch), "file name %s" % os.path.basename(deb))
    dep = fields.get("Depends", "")
    for want in ("adduser", "systemd", "libc6", "libmicrohttpd12", "libsqlite3-0", "libcjson1"):
        f.check(want in dep, "Depends lacks %s: %s" % (want, dep))
    # The hall box needs no PostgreSQL client: hallq-central has its own package.
    f.check("libpq" not in dep, "the hall package depends on libpq: %s" % dep)
    ctl = os.path.join(tmp, "control")
    r = run(["dpkg-deb", "-e", deb, ctl])
    f.check(r.returncode == 0, "dpkg-deb -e: " + r.stderr)
    with open(os.path.join(ctl, "conffiles")) as fh:
        f.check(fh.read().split() == ["/etc/hallq/hall.json"], "conffiles is not /etc/hallq/hall.json")
    for script in ("postinst", "prerm", "postrm"):
        p = os.path.join(ctl, script)
        f.check(os.access(p, os.X_OK), script + " missing or not executable")
        f.check(run(["sh", "-n", p]).returncode == 0, script + ": shell syntax error")
    with open(os.path.join(ctl, "postinst")) as fh:
        postinst = fh.read()
    f.check(re.search(r"adduser .*--system .*hallq", postinst.replace("\\\n", " ")) is not None,
            "postinst does not create the hallq system user")
    f.check("install -d -o hallq -g hallq" in postinst and "/var/lib/hallq" in postinst,
            "postinst does not give /var/lib/hallq to hallq")
    f.check("addgroup --quiet --system gpio" in postinst, "postinst does not make group gpio")

    # files
    root = os.path.join(tmp, "root")
    r = run(["dpkg", "-x", deb, root])
    f.check(r.returncode == 0, "dpkg -x: " + r.stderr)
    f.check(not os.path.exists(os.path.join(root, "usr/bin/hallq-central")),
            "hallq-central is in the hall package")
    for prog in ("hallqd", "hallqctl", "hallq-sim"):
        p = os.path.join(root, "usr/bin", prog)
        f.check(os.path.isfile(p) and os.access(p, os.X_OK), "usr/bin/%s missing" % prog)
        if os.path.isfile(p):
            f.check(elf_machine(p) == ELF_MACHINE.get(arch), "usr/bin/%s: ELF machine %r for %s"
                    % (prog, elf_machine(p), arch))
    for page in ("display.html", "window.html", "kiosk.html", "admin.html", "ticket.html",
                 "index.html", "assets/hallq.js", "assets/kiosk-fit.js"):
        f.check(os.path.isfile(os.path.join(root, "usr/share/hallq/web", page)), "web/%s missing" % page)
    for clip in ("zh/qing.wav", "zh/hao.wav", "zh/0.wav", "en/window.wav"):
        p = os.path.join(root, "usr/share/hallq/voice", clip)
        ok = os.path.isfile(p)
        if ok:
            with open(p, "rb") as fh:
                head = fh.read(12)
            ok = head[:4] == b"RIFF" and head[8:12] == b"WAVE"
        f.check(ok, "voice/%s missing or not a WAV file" % clip)
    f.check(os.path.isdir(os.path.join(root, "var/lib/hallq")), "var/lib/hallq missing")

    unit = open(os.path.join(root, "lib/systemd/system/hallqd.service")).read()
    m = re.search(r"^ExecStart=(\S+)", unit, re.M)
    f.check(m is not None and os.path.isfile(os.path.join(root, m.group(1).lstrip("/"))),
            "the unit's ExecStart program is not in the package")
    f.check(re.search(r"^User=hallq$", unit, re.M) is not None, "the unit does not run as hallq")

    rules = open(os.path.join(root, "lib/udev/rules.d/99-hallq.rules")).read()
    names = {}
    for line in rules.splitlines():
        if line.startswith("#") or "SYMLINK+=" not in line:
            continue
        vid = re.search(r'ATTRS\{idVendor\}=="([0-9a-f]{4})"', line)
        pid = re.search(r'ATTRS\{idProduct\}=="([0-9a-f]{4})"', line)
        link = re.search(r'SYMLINK\+="([a-z-]+)"', line)
        f.check(bool(vid and pid and link) and 'GROUP="dialout"' in line, "odd udev rule: " + line)
        if link:
            names[link.group(1)] = line
    f.check(sorted(names) == ["hallq-bus", "hallq-led", "hallq-reader"],
            "udev names: %r" % sorted(names))

    # The example configuration: refused as shipped (placeholder secrets), valid once
    # postinst's own secret step ran on it.
    cfg = os.path.join(root, "etc/hallq/hall.json")
    hallqd = emulator + [os.path.join(root, "usr/bin/hallqd")]
    r = run(hallqd + ["--check-config", cfg])
    f.check(r.returncode != 0, "the example with placeholder tokens passed --check-config")
    for port in ("/dev/hallq-reader", "/dev/hallq-bus", "/dev/hallq-led"):
        f.check(port in open(cfg).read(), "the example does not use " + port)
    m = re.search(r"(    cfg=/etc/hallq/hall.json\n.*?\n    fi\n)", postinst, re.S)
    f.check(m is not None, "postinst has no secrets step")
    if m:
        step = m.group(1).replace("/etc/hallq/hall.json", cfg)
        r = run(["sh", "-ec", step])
        f.check(r.returncode == 0, "postinst's secrets step failed: " + r.stderr)
        text = open(cfg).read()
        f.check("@" not in text, "placeholders left after postinst's step")
        tokens = re.findall(r'"token": "([0-9a-f]+)"', text)
        f.check(len(tokens) == 2 and len(set(tokens)) == 2 and all(len(t) == 32 for t in tokens),
                "tokens not random hex: %r" % tokens)
        r = run(hallqd + ["--check-config", cfg])
        f.check(r.returncode == 0, "example invalid after postinst: " + r.stdout + r.stderr)
    return f.done()


if __name__ == "__main__":
    sys.exit(main())
