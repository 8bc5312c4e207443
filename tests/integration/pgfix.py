#!/usr/bin/env python3
"""A private PostgreSQL cluster for the tests (like the private cupsd).

    pgfix.py setup DIR     initdb into DIR/data and start it, socket in DIR
    pgfix.py cleanup DIR   stop it and remove DIR

One cluster per ctest run (a FIXTURES_SETUP/CLEANUP pair in tests/central.cmake).
Debian's PostgreSQL 15 binaries (/usr/lib/postgresql/15/bin; HQ_PG_BIN overrides)
refuse to run as root, so as root the cluster belongs to and runs as the `postgres`
user (runuser); as anyone else it runs as that user. No TCP port: only the unix
socket in DIR. fsync is off: a test cluster needs no durability, and the one
crash the tests make (restart) is a clean one.

As a module: conninfo(dbname), create_db(name), restart(), for the tests.
"""
import os
import shutil
import subprocess
import sys
import time

BIN = os.environ.get("HQ_PG_BIN", "/usr/lib/postgresql/15/bin")
PORT = "5432"


def _as_pg(argv, **kw):
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--"] + argv
    return subprocess.run(argv, check=True, **kw)


def pg_dir():
    d = os.environ.get("HQ_PG_DIR")
    if not d:
        raise RuntimeError("HQ_PG_DIR is not set (the postgres fixture)")
    return os.path.abspath(d)


def conninfo(dbname, d=None):
    return "host=%s port=%s user=postgres dbname=%s" % (d or pg_dir(), PORT, dbname)


def psql(sql, dbname="postgres", d=None):
    out = subprocess.run(
        ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", d or pg_dir(), "-p", PORT,
         "-U", "postgres", "-d", dbname, "-c", sql],
        check=True, capture_output=True, text=True)
    return out.stdout


def create_db(name, d=None):
    psql('DROP DATABASE IF EXISTS "%s"' % name, d=d)
    psql('CREATE DATABASE "%s"' % name, d=d)
    return conninfo(name, d)


def _ctl(d, *args):
    _as_pg([os.path.join(BIN, "pg_ctl"), "-D", os.path.join(d, "data"), "-l",
            os.path.join(d, "log"), "-w", "-t", "60", *args],
           stdout=subprocess.DEVNULL)


def start(d=None, fsync="off"):
    d = d or pg_dir()
    _ctl(d, "-o", "-k %s -p %s -c listen_addresses='' -c fsync=%s -c max_connections=200"
         % (d, PORT, fsync), "start")


def stop(d=None, mode="fast"):
    _ctl(d or pg_dir(), "-m", mode, "stop")


def restart(d=None):
    stop(d)
    start(d)


def setup(d, fsync="off"):
    cleanup(d)
    os.makedirs(d)
    os.chmod(d, 0o700)
    if os.geteuid() == 0:
        shutil.chown(d, "postgres", "postgres")
    _as_pg([os.path.join(BIN, "initdb"), "-D", os.path.join(d, "data"), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-N"],
           stdout=subprocess.DEVNULL)
    start(d, fsync)
    end = time.time() + 30
    while True:
        try:
            psql("SELECT 1", d=d)
            return
        except subprocess.CalledProcessError:
            if time.time() > end:
                raise
            time.sleep(0.2)


def cleanup(d):
    if os.path.exists(os.path.join(d, "data", "postmaster.pid")):
        try:
            stop(d, "immediate")
        except subprocess.CalledProcessError:
            pass
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("setup", "cleanup"):
        sys.exit("usage: pgfix.py setup|cleanup DIR")
    (setup if sys.argv[1] == "setup" else cleanup)(os.path.abspath(sys.argv[2]))
