#!/usr/bin/env bash
# tools/demo-devices.sh BUILD — the demo hall's devices, simulated (hallq-sim) on the TCP ports
# config/demo-hall.json names, like Ethernet serial servers:
#   9601  hall bus: call keypads 1-4 (windows 1-4), rating pads 33-36
#   9602  LED bars 1-4 (they acknowledge with AA)
#   9603  the kiosk's ID-card reader
# tools/demo.sh starts it before hallqd. Each simulator takes commands from a FIFO under
# $HALLQ_DEMO_RUN (default /tmp/hallq-demo); what hallqd sends is logged there. Stops its
# simulators when it is stopped.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$1
sim=$build/tools/hallq-sim
[ -x "$sim" ] || sim=$build/hallq-sim
run=${HALLQ_DEMO_RUN:-/tmp/hallq-demo}
mkdir -p "$run"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$sim" bus --tcp 9601 --keypads 1,2,3,4 --pads 33,34,35,36 --control "$run/bus.ctl" \
    --log "$run/bus.log" </dev/null >/dev/null &
pids+=($!)
"$sim" led --tcp 9602 --bars 1,2,3,4 --control "$run/led.ctl" --log "$run/led.log" \
    </dev/null >/dev/null &
pids+=($!)
"$sim" idcard --tcp 9603 --control "$run/card.ctl" --log "$run/card.log" </dev/null >/dev/null &
pids+=($!)

cat <<TXT

  simulated hall devices (hallq-sim), commands through FIFOs in $run:
    echo "key 1 01 00 00 01 0F" > $run/bus.ctl   # keypad of window 1: 王芳 (1001) logs in
    echo "key 1 0C" > $run/bus.ctl               # window 1 calls the next ticket (叫号)
    echo "key 1 0D" > $run/bus.ctl               # recall (重呼); 0A start, 0B finish, 12 pause
    echo "rate 33 5" > $run/bus.ctl              # the pad of window 1: 非常满意
    echo "place $top/tests/data/idcard/resident_elderly.bin" > $run/card.ctl
                                                 # an elderly citizen's card on the kiosk reader;
                                                 # then take a ticket with the card:
    curl -s -XPOST -H 'Content-Type: application/json' localhost:8080/api/v1/tickets -d '{"service":"A","card":true}'
    echo "remove" > $run/card.ctl
    tail -f $run/led.log $run/bus.log            # what the bars and keypads were sent
TXT
wait
