#!/usr/bin/env bash
# tools/demo-printer.sh BUILD [CONFIG] — the demo hall's ticket printer: the printer simulator
# (hallq-sim printer) and a private CUPS scheduler with a raw queue to it, as the printer
# section of CONFIG (default config/demo-hall.json) names them:
#   printer.status_link  tcp://127.0.0.1:PORT  the simulator listens there (raw ESC/POS and
#                                              DLE EOT status, like a printer's port 9100)
#   printer.cups_server  DIR/cups.sock         cupsd's own folder DIR (conf, spool, logs)
#   printer.queue        NAME                  raw queue socket://127.0.0.1:PORT
# Tickets land as $HALLQ_DEMO_RUN/printer/ticket-N.png (and .json); the simulator takes
# "paper end", "paper ok", "cover open", "offline", ... on $HALLQ_DEMO_RUN/printer.ctl.
# cupsd is started by tests/integration/cupsd.py (the same code the printing tests use); it
# needs root (it runs its backends as user lp).
# Writes $HALLQ_DEMO_RUN/printer.state: "ready" once a ticket can be printed, or
# "failed: WHY" (then it exits 1). tools/demo.sh starts it before hallqd. Stops what it
# started when it is stopped.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$1
cfg=${2:-$top/config/demo-hall.json}
sim=$build/tools/hallq-sim
[ -x "$sim" ] || sim=$build/hallq-sim
run=${HALLQ_DEMO_RUN:-/tmp/hallq-demo}
state=$run/printer.state
mkdir -p "$run"
rm -f "$state"

fail() { echo "failed: $*" >"$state"; echo "demo-printer: $*" >&2; exit 1; }

# The printer section, one value a line: queue, socket, link port, width.
mapfile -t p < <(python3 - "$cfg" <<'PY'
import json, sys
pr = json.load(open(sys.argv[1], encoding="utf-8")).get("printer", {})
link = pr.get("status_link", "")
print(pr.get("queue", ""))
print(pr.get("cups_server", ""))
print(link.rsplit(":", 1)[1] if link.startswith("tcp://127.0.0.1:") else "")
print(pr.get("width_mm", 80))
PY
)
queue=${p[0]:-} sock=${p[1]:-} port=${p[2]:-} width=${p[3]:-80}
[ -n "$queue" ] || fail "$cfg has no printer.queue"
[ "$(basename "$sock")" = cups.sock ] || fail "printer.cups_server must be DIR/cups.sock, got '$sock'"
[ -n "$port" ] || fail "printer.status_link must be tcp://127.0.0.1:PORT"
cupsdir=$(dirname "$sock")

pids=()
cleanup() { for x in "${pids[@]}"; do kill "$x" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 0' INT TERM

out=$run/printer
mkdir -p "$out"
rm -f "$out"/ticket-* "$out"/conn-* "$out"/tickets.jsonl
"$sim" printer --port "$port" --out "$out" --width "$width" --control "$run/printer.ctl" \
    </dev/null >"$run/printer.out" 2>"$run/printer.log" &
pids+=($!)
for _ in $(seq 50); do
    grep -q '^listening on' "$run/printer.out" 2>/dev/null && break
    kill -0 "${pids[0]}" 2>/dev/null || fail "printer simulator did not start: $(tail -3 "$run/printer.log")"
    sleep 0.1
done
grep -q '^listening on' "$run/printer.out" || fail "printer simulator not listening on $port"

python3 "$top/tests/integration/cupsd.py" serve "$cupsdir" \
    --queue "$queue=socket://127.0.0.1:$port" </dev/null >"$run/cups.out" 2>&1 &
pids+=($!)
for _ in $(seq 200); do
    grep -q '^\(ready\|failed\)' "$run/cups.out" 2>/dev/null && break
    kill -0 "${pids[1]}" 2>/dev/null || break
    sleep 0.1
done
grep -q '^ready' "$run/cups.out" || fail "private cupsd: $(grep -m1 '^failed' "$run/cups.out" | cut -c9- || true)$(tail -c 300 "$run/cups.out")"

echo ready >"$state"
cat <<TXT

  ticket printer (simulated, 打印机模拟): queue $queue on the private cupsd $sock
    tickets appear as   $out/ticket-N.png   (and ticket-N.json, what was decoded)
    echo "paper end" > $run/printer.ctl     # 缺纸: the kiosk refuses tickets before issuing
    echo "paper ok" > $run/printer.ctl
    lpstat -h $sock -t                      # the CUPS queue
TXT
wait
