#!/usr/bin/env python3
"""The daemon's layering, checked on the built objects (issue 15).

hallqd.c is start-up only (main, the module table, signals, reload, watchdog);
the command path is hqd_command.c. So that the HTTP API never again depends on
the file that starts the daemon (they used to import each other), hallqd.c's
object defines no global symbol but main, no other object of hallqd needs a
symbol from it, and the command path's public functions live in hqd_command.c.

usage: test_layers.py 'OBJ;OBJ;...'   (the objects of the hallqd target)
"""
import os
import subprocess
import sys

COMMAND_PATH = ["hqd_apply", "hqd_flush", "hqd_batch_pending", "hqd_storage_alarm",
                "hqd_on_result", "hqd_on_check", "hqd_on_reload", "hqd_random"]


def symbols(obj, undefined):
    """Global symbols an object defines, or the ones it needs (nm -g)."""
    args = ["nm", "-g", "--undefined-only" if undefined else "--defined-only", obj]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if parts:
            names.add(parts[-1])
    return names


def main():
    objs = [o for arg in sys.argv[1:] for o in arg.split(";") if o]
    by_name = {os.path.basename(o).split(".c.")[0]: o for o in objs}
    fails = []
    for need in ("hallqd", "api", "hqd_command"):
        if need not in by_name:
            print(f"FAIL: no object for {need}.c among {sorted(by_name)}")
            return 1
    start = symbols(by_name["hallqd"], False)
    if start != {"main"}:
        fails.append(f"hallqd.c defines more than main: {sorted(start - {'main'})} "
                     "(start-up only; put shared code in hqd_command.c or its module)")
    for name, obj in sorted(by_name.items()):
        if name == "hallqd":
            continue
        used = symbols(obj, True) & (start - {"main"})
        if used:
            fails.append(f"{name}.c needs {sorted(used)} from hallqd.c")
    api_needs = symbols(by_name["api"], True)
    cmd_defines = symbols(by_name["hqd_command"], False)
    for f in COMMAND_PATH:
        if f not in cmd_defines:
            fails.append(f"{f} is not defined in hqd_command.c")
    if "hqd_apply" not in api_needs:
        fails.append("api.c no longer calls hqd_apply: is this test still looking at the "
                     "right objects?")
    for f in fails:
        print("FAIL:", f)
    if not fails:
        print(f"ok: hallqd.o defines only main; api.o's {len(api_needs)} undefined symbols "
              f"come from elsewhere; the command path is in hqd_command.o")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
