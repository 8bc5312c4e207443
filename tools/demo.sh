#!/usr/bin/env bash
# tools/demo.sh BUILD — start hallqd on the demo hall with a fresh database,
# print the URLs and a few commands to try, stop everything on Ctrl-C.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$1
cfg=$top/config/demo-hall.json
db=$top/config/hallq-demo.db

"$build/hallqd" --check-config "$cfg"
rm -f "$db" "$db-wal" "$db-shm"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# The device simulators listen on the TCP ports the demo config names (9601 keypads and
# pads, 9602 LED bars, 9603 the card reader), so they start first; hallqd would find them
# later anyway (an absent device is only offline and is retried).
[ -x "$top/tools/demo-devices.sh" ] && { "$top/tools/demo-devices.sh" "$build" & pids+=($!); sleep 0.3; }

"$build/hallqd" --config "$cfg" &
hqd=$!
pids+=($hqd)
for _ in $(seq 50); do
    curl -sf http://127.0.0.1:8080/api/v1/status >/dev/null 2>&1 && break
    sleep 0.1
done

cat <<TXT

  hallq demo hall is running (示范市政务服务中心)
    wall display   http://127.0.0.1:8080/display
    window page    http://127.0.0.1:8080/display/window/1
    kiosk          http://127.0.0.1:8080/kiosk
    dashboard      http://127.0.0.1:8080/admin
    status (JSON)  http://127.0.0.1:8080/api/v1/status
    live events    http://127.0.0.1:8080/api/v1/events
    metrics        http://127.0.0.1:8080/metrics

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
