#!/usr/bin/env bash
# tools/demo-central.sh BUILD [CONFIG] — the demo hall's central server: hallq-central (the
# reference server of the sync protocol, PROTOCOLS.md §5) on the address of CONFIG's sync.url
# (default config/demo-hall.json), with its token, holding a few of today's appointments so that
# the kiosk's 预约签到 can be tried. The appointments are written for the hall's own date and
# clock (hall.utc_offset), with slots around now, each with a booking code, and loaded the way
# hallq-central loads appointments (--appointments FILE.json); hallqd pulls them as it would
# from the province's server and sends its records there.
# Writes $HALLQ_DEMO_RUN/central.state: "ready" once the server answers, or "failed: WHY" (then
# it exits 1), and $HALLQ_DEMO_RUN/central-codes.txt: one "CODE SERVICE SLOT NAME" line per
# appointment, for tools/demo.sh to print. Stops what it started when it is stopped.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$1
cfg=${2:-$top/config/demo-hall.json}
central=$build/tools/hallq-central
[ -x "$central" ] || central=$build/hallq-central
run=${HALLQ_DEMO_RUN:-/tmp/hallq-demo}
state=$run/central.state
mkdir -p "$run"
rm -f "$state" "$run/central-codes.txt"

fail() { echo "failed: $*" >"$state"; echo "demo-central: $*" >&2; exit 1; }
[ -x "$central" ] || fail "no hallq-central in $build (build it: tools/hallq build)"

# listen address, token, and today's appointments from the config (python3: JSON and dates).
mapfile -t p < <(python3 - "$cfg" "$run/appointments.json" "$run/central-codes.txt" <<'PY'
import datetime, json, sys
cfg_path, out, codes = sys.argv[1:4]
c = json.load(open(cfg_path, encoding="utf-8"))
url = c.get("sync", {}).get("url", "")
pre = "http://127.0.0.1:"
print(url[len(pre):].rstrip("/") if url.startswith(pre) else "")
print(c.get("sync", {}).get("token", ""))
off = c.get("hall", {}).get("utc_offset", "+08:00")
sign = -1 if off[0] == "-" else 1
tz = datetime.timezone(sign * datetime.timedelta(hours=int(off[1:3]), minutes=int(off[4:6])))
now = datetime.datetime.now(tz)
day0 = now.replace(hour=0, minute=0, second=0, microsecond=0)
svcs = [s for s in c.get("services", []) if not s.get("id_required")] or c.get("services", [])
people = ["张*", "李**", "王*", "陈**"]
items, lines = [], []
# Slots around now, inside hallqd's check-in window (sync.appointment_early_s before the
# slot, appointment_grace_s after its start), clamped to today. The latest start is 23:58,
# not a whole slot before midnight: late in the evening a slot clamped to 23:29 was already
# past its grace, and every code checked in as a normal ticket (its end is then 23:59).
for i, minutes in enumerate((-5, 5, 15, 25)):
    start = max(day0, min(now + datetime.timedelta(minutes=minutes),
                          day0 + datetime.timedelta(hours=23, minutes=58)))
    end = start + datetime.timedelta(minutes=30)
    s = svcs[i % len(svcs)]
    code = "DEMO%02d" % (i + 1)
    items.append({"id": "demo-appt-%d" % (i + 1), "service": s["code"],
                  "date": now.strftime("%Y-%m-%d"), "slot_start": start.strftime("%H:%M"),
                  "slot_end": end.strftime("%H:%M") if end.date() == start.date() else "23:59",
                  "booking_code": code, "name_masked": people[i % len(people)],
                  "status": "booked"})
    lines.append("%s %s %s-%s %s" % (code, s.get("name", s["code"]), items[-1]["slot_start"],
                                     items[-1]["slot_end"], people[i % len(people)]))
json.dump({"appointments": items}, open(out, "w", encoding="utf-8"), ensure_ascii=False, indent=1)
open(codes, "w", encoding="utf-8").write("\n".join(lines) + "\n")
PY
)
port=${p[0]:-} token=${p[1]:-}
[ -n "$port" ] || fail "$cfg: sync.url must be http://127.0.0.1:PORT for the demo's central server"

pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 0' INT TERM

rm -f "$run/central.db" "$run/central.db-wal" "$run/central.db-shm"
args=(--listen "127.0.0.1:$port" --db "$run/central.db" --appointments "$run/appointments.json")
[ -n "$token" ] && args+=(--token "$token")
"$central" "${args[@]}" </dev/null >"$run/central.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
    grep -q '^ready http' "$run/central.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
grep -q '^ready http' "$run/central.out" 2>/dev/null ||
    fail "hallq-central did not start on 127.0.0.1:$port: $(tail -n 3 "$run/central.out" 2>/dev/null)"
echo ready >"$state"
wait "$pid"
