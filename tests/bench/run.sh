#!/usr/bin/env bash
# tests/bench/run.sh BUILD — run every benchmark; results go to stdout.
# Record them, with the machine, in docs/BENCHMARKS.md.
set -euo pipefail
build=$1
work=$(mktemp -d "$build/bench-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "== $(uname -srm); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== disk of $work: $(df -h "$work" | awk 'NR==2 {print $1, $2}')"
for b in "$build"/bench/*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b" "$work" "${HQ_BENCH_SECONDS:-3}"
done
# Page benchmarks: Node scripts driving hallqd and the system's Chromium
# (playwright-core from tests/web/node_modules).
for js in "$(dirname "${BASH_SOURCE[0]}")"/bench_*.js; do
    [ -f "$js" ] || continue
    echo "== $(basename "$js" .js)"
    HQ_BUILD=$build node "$js"
done
# Load (issue 7): a fresh hallqd with a 60-window hall at 10x a large hall's peak
# (tools/hallq-load; `tools/hallq load SECONDS` for a longer run).
echo "== hallq-load (${HQ_LOAD_SECONDS:-60} s)"
python3 "$(dirname "${BASH_SOURCE[0]}")/../../tools/hallq-load" --hallqd "$build/hallqd" \
    --seconds "${HQ_LOAD_SECONDS:-60}"
