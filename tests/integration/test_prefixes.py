#!/usr/bin/env python3
"""One prefix per file (docs/DESIGN.md, "Code layout and naming"; issue 15).

A file's internal functions are `X__name` (mosquitto's `db__message_insert`), and
X says which file they live in: no internal prefix may be defined by two .c files
(print__, gpio__, voice__, sync__ and admin__ each once meant two files). Checks
every tracked .c file outside tests/ (tests include sources textually).

usage: test_prefixes.py SOURCE_DIR
"""
import re
import subprocess
import sys
from collections import defaultdict

# A static function's definition or declaration: `static <type> X__name(` at the start
# of a line (a call or a comment never starts a line with `static`).
DEF = re.compile(r"^static\b[^=;(]*?\b([a-z][a-z0-9_]*?[a-z0-9])__[a-z0-9_]+\s*\(", re.M)

# Known exception, written down: hallq-central (tools/central) is one program whose files
# share `central__`; it is not part of hallqd and was left out of issue 15's renames.
EXCEPT = {"central": "tools/central/"}


def main():
    top = sys.argv[1]
    files = subprocess.run(["git", "ls-files", "*.c"], cwd=top, check=True,
                           capture_output=True, text=True).stdout.split()
    files = [f for f in files if not f.startswith("tests/")]
    where = defaultdict(set)
    for f in files:
        with open(f"{top}/{f}", encoding="utf-8") as fh:
            for m in DEF.finditer(fh.read()):
                where[m.group(1)].add(f)
    fails = []
    for prefix, fs in sorted(where.items()):
        if prefix in EXCEPT and all(f.startswith(EXCEPT[prefix]) for f in fs):
            continue
        if len(fs) > 1:
            fails.append(f"{prefix}__ is the internal prefix of {len(fs)} files: "
                         f"{', '.join(sorted(fs))}")
    for f in fails:
        print("FAIL:", f)
    if not fails:
        print(f"ok: {len(where)} internal prefixes in {len(files)} files, each in one file")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
