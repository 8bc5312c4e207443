#!/usr/bin/env bash
# tools/demo.sh BUILD — start hallqd on the demo hall with a fresh database,
# print the URLs and a few commands to try, stop everything on Ctrl-C.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$1
cfg=$top/config/demo-hall.json
db=$top/config/hallq-demo.db
run=${HALLQ_DEMO_RUN:-/tmp/hallq-demo}

# (a config that does not read is reported by --check-config below)
listen=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1], encoding="utf-8"))["http"]["listen"])' "$cfg" 2>/dev/null || echo 127.0.0.1:8080)
port=${listen##*:}

# One demo at a time, checked BEFORE anything is touched: a second demo used to delete the
# running demo's database and then report "running" because its probe reached the first
# one. The lock is an flock on the demo's configuration file (every demo shares it, whatever
# its HALLQ_DEMO_RUN), held by this script for its whole life; the children do not inherit it.
exec 9<"$cfg"
if ! flock -n 9; then
    # the holder: the demo.sh with the configuration open on its fd 9 (/proc/locks would name
    # the short-lived flock(1) that took the lock for it)
    holder=
    for l in /proc/[0-9]*/fd/9; do
        p=${l#/proc/}
        p=${p%%/*}
        [ "$p" != $$ ] && [ "$(readlink "$l" 2>/dev/null)" = "$(readlink -f "$cfg")" ] && { holder=$p; break; }
    done
    printf '\n\033[1;31m  !!! 示范大厅已在运行 / a hallq demo is already running%s\033[0m\n' "${holder:+ (pid $holder)}" >&2
    printf '\033[1;31m  !!! stop it first: Ctrl-C in its terminal%s; nothing was changed\033[0m\n' "${holder:+, or: kill $holder}" >&2
    exit 1
fi
# A hallqd started by hand on the demo database holds its flock (one daemon per database).
if [ -e "$db" ] && ! flock -n "$db" true 2>/dev/null; then
    printf '\n\033[1;31m  !!! %s is in use by a running hallqd; stop it first (nothing was changed)\033[0m\n' "$db" >&2
    exit 1
fi
if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null; then
    printf '\n\033[1;31m  !!! port %s is in use by another program (ss -ltnp "sport = :%s"); nothing was changed\033[0m\n' "$port" "$port" >&2
    exit 1
fi
"$build/hallqd" --check-config "$cfg"
# a fresh hall: the database and its numbers side file (hallqd keeps the day's numbers there
# so they never repeat after a lost database; a new demo hall starts at 001)
rm -f "$db" "$db-wal" "$db-shm" "$(dirname "$db")/.$(basename "$db").numbers"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# The device simulators listen on the TCP ports the demo config names (9601 keypads and
# pads, 9602 LED bars, 9603 the card reader), so they start first; hallqd would find them
# later anyway (an absent device is only offline and is retried).
[ -x "$top/tools/demo-devices.sh" ] && { "$top/tools/demo-devices.sh" "$build" 9<&- & pids+=($!); sleep 0.3; }

# The ticket printer: the printer simulator behind a private cupsd (tools/demo-printer.sh),
# as the config's printer section says. Without it hallqd would refuse every ticket (no
# printer can print), so if it cannot start the demo says so loudly and runs on a copy of
# the config without the printer: tickets on screen only.
printing=no
if [ -x "$top/tools/demo-printer.sh" ]; then
    # A state file left by an earlier demo must not be read as this printer's answer (it
    # said "TICKET PRINTING IS OFF" while the simulator started fine).
    mkdir -p "$run"
    rm -f "$run/printer.state"
    "$top/tools/demo-printer.sh" "$build" "$cfg" 9<&- & pids+=($!)
    for _ in $(seq 300); do
        [ -s "$run/printer.state" ] && break
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    if grep -qx ready "$run/printer.state" 2>/dev/null; then
        printing=yes
    else
        why=$(cat "$run/printer.state" 2>/dev/null || echo "no answer")
        printf '\n\033[1;31m  !!! 打印机未启动 / TICKET PRINTING IS OFF: %s\033[0m\n' "$why" >&2
        printf '\033[1;31m  !!! (a private cupsd needs root and the Debian packages cups, cups-daemon);\033[0m\n' >&2
        printf '\033[1;31m  !!! the demo runs without a printer: tickets are shown on screen only.\033[0m\n\n' >&2
        noprint=$run/demo-hall-noprint.json
        python3 - "$cfg" "$noprint" "$top" <<'PY'
import json, os, sys
cfg, out, top = sys.argv[1:4]
c = json.load(open(cfg, encoding="utf-8"))
c.pop("printer", None)
here = os.path.dirname(os.path.abspath(cfg))
c["http"]["web_root"] = os.path.normpath(os.path.join(here, c["http"]["web_root"]))
c["store"]["database"] = os.path.join(here, c["store"]["database"])
json.dump(c, open(out, "w", encoding="utf-8"), ensure_ascii=False, indent=1)
PY
        cfg=$noprint
    fi
fi

# The central server (tools/demo-central.sh): hallq-central on the address of the config's
# sync.url, with a few of today's appointments, so that 预约签到 at the kiosk can be tried
# with the booking codes printed below. Without it hallqd only keeps its records in the
# outbox and every code is unknown; the demo says so and runs on.
central=no
if [ -x "$top/tools/demo-central.sh" ]; then
    "$top/tools/demo-central.sh" "$build" "$cfg" 9<&- & pids+=($!)
    for _ in $(seq 100); do
        [ -s "$run/central.state" ] && break
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    if grep -qx ready "$run/central.state" 2>/dev/null; then
        central=yes
    else
        why=$(cat "$run/central.state" 2>/dev/null || echo "no answer")
        printf '\n\033[1;31m  !!! 中心服务器未启动 / NO CENTRAL SERVER: %s\033[0m\n' "$why" >&2
        printf '\033[1;31m  !!! appointments (预约签到) cannot be tried; the rest of the demo runs.\033[0m\n\n' >&2
    fi
fi

"$build/hallqd" --config "$cfg" 9<&- &
hqd=$!
pids+=($hqd)
up=no
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/api/v1/status" >/dev/null 2>&1 && { up=yes; break; }
    kill -0 "$hqd" 2>/dev/null || break
    sleep 0.1
done
if [ "$up" != yes ]; then
    # Its own messages (above) say why: a port in use, a bad config, a database it refuses.
    printf '\n\033[1;31m  !!! hallqd 未能启动 / hallqd did not start: it is not answering on 127.0.0.1:%s\033[0m\n' "$port" >&2
    printf '\033[1;31m  !!! (is another program using port %s?  ss -ltnp "sport = :%s")\033[0m\n' "$port" "$port" >&2
    exit 1
fi

# Demo PINs (a real hall's manager sets them: hallqctl staff pin ID): the dashboard signs in
# the manager 9001 with PIN 2468, and every clerk 1001-1010 can sign in with 1234.
for id in 9001 9101 1001 1002 1003 1004 1005 1006 1007 1008 1009 1010; do
    pin=1234
    [ "$id" = 9001 ] && pin=2468
    printf '%s\n' "$pin" | HALLQ_URL=http://127.0.0.1:8080 HALLQ_TOKEN=manager-demo-token-01 \
        "$build/hallqctl" staff pin "$id" >/dev/null || echo "demo: PIN of $id not set" >&2
done

cat <<TXT

  hallq demo hall is running (示范市政务服务中心)
    wall display   http://127.0.0.1:8080/display
    window page    http://127.0.0.1:8080/display/window/1
    kiosk          http://127.0.0.1:8080/kiosk
    dashboard      http://127.0.0.1:8080/admin   (工号 staff 9001, 密码 PIN 2468)
    status (JSON)  http://127.0.0.1:8080/api/v1/status
    live events    http://127.0.0.1:8080/api/v1/events
    metrics        http://127.0.0.1:8080/metrics
TXT
if [ "$printing" = yes ]; then
    cat <<TXT
    printed tickets $run/printer/ticket-N.png   (the simulated kiosk printer)
TXT
else
    cat <<TXT
    printed tickets none: printing is off (see the message above)
TXT
fi
if [ "$central" = yes ]; then
    cat <<TXT

  appointments (预约) from the central server (hallq-central, $run/central.out):
    today's booking codes, to check in at the kiosk (预约签到 → enter the code):
TXT
    while read -r code svc slot who; do
        printf '      %-8s %s  %s  %s\n' "$code" "$slot" "$svc" "$who"
    done <"$run/central-codes.txt"
    cat <<TXT
    kiosk          http://127.0.0.1:8080/kiosk   (预约签到 / Appointment check-in)
    or: curl -s -H 'Content-Type: application/json' -d '{"booking_code":"DEMO01"}' \\
          http://127.0.0.1:8080/api/v1/appointments/checkin
    appointments as the hall holds them (manager):
          curl -s -H 'Authorization: Bearer manager-demo-token-01' http://127.0.0.1:8080/api/v1/appointments
TXT
fi
cat <<TXT

  try, in another terminal:
    export HALLQ_TOKEN=clerk-demo-token-0001
    $build/hallqctl issue A              # take a ticket (社保业务)
    $build/hallqctl login 1 1001         # 王芳 logs in at window 1
    $build/hallqctl call 1               # window 1 calls the next ticket
    $build/hallqctl finish 1
    $build/hallqctl rate 1 5             # 非常满意
    $build/hallqctl status

  Ctrl-C stops the demo.
TXT
wait "$hqd"
