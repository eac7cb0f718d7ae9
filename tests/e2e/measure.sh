#!/bin/bash
# measure.sh: what a cycle costs against a real libvirtd, printed as numbers (a benchmark,
# not a test; docs/performance.md records its output).
#
# Usage: tests/e2e/measure.sh [GUESTS]      (default 10)
#
# 1. GUESTS QEMU guests: the agent's CPU, libvirtd's CPU and the cycle duration per cycle,
#    against one `virsh domstats` call for the same guests (the floor).
# 2. 1000 test-driver domains through the daemon: the agent's fallback cycle, and the
#    per-domain path split over 1-4 connections (examples/parallel_fallback.rs).
# Sets up the bed, and always takes it down again. Refuses to run when the bed is up.
set -euo pipefail

GUESTS=${1:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BEDSH=$ROOT/tests/bed/bed.sh
eval "$("$BEDSH" env)"
WORK=$VIRTDIAG_BED/measure
AGENT_PID=

if [[ $("$BEDSH" status) == *$'\n'"libvirtd: running"* ]]; then
  echo "measure: the bed is up; run '$BEDSH down' first" >&2
  exit 2
fi

teardown() {
  local rc=$?
  trap - EXIT
  [[ -n $AGENT_PID ]] && kill "$AGENT_PID" 2>/dev/null
  "$BEDSH" down >/dev/null 2>&1 || echo "measure: bed down failed" >&2
  exit "$rc"
}
trap teardown EXIT INT TERM

cpu_ticks() { # utime + stime of a pid, in clock ticks
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
libvirtd_pid() { cat "$VIRTDIAG_BED/pid/libvirtd.pid"; }
cycles_in() { grep -c '"kind":"cycle"' "$1" || true; }

wait_cycles() { # FILE COUNT: poll until FILE has COUNT cycle lines
  local deadline=$((SECONDS + 120))
  until (($(cycles_in "$1") >= $2)); do
    ((SECONDS < deadline)) || { echo "measure: no $2 cycles in $1 after 120 s:" >&2; tail -3 "$1" >&2; exit 1; }
    sleep 0.2
  done
}

start_agent() { # URI INTERVAL: the agent as nobody, spool and socket in $WORK
  rm -f "$WORK/d.ndjson" "$WORK/v.sock"
  "$BEDSH" unprivileged "$WORK/virtdiag" --log-level warning run --uri "$1" --interval "$2" \
    --spool "$WORK/d.ndjson" --socket "$WORK/v.sock" 2>>"$WORK/agent.log" &
  AGENT_PID=$!
  local deadline=$((SECONDS + 30))
  until [[ -S $WORK/v.sock ]]; do
    ((SECONDS < deadline)) || { echo "measure: the agent did not come up:" >&2; cat "$WORK/agent.log" >&2; exit 1; }
    sleep 0.1
  done
  AGENT_PID=$(pgrep -n -f "^$WORK/virtdiag ")
}

stop_agent() {
  kill "$AGENT_PID"
  while kill -0 "$AGENT_PID" 2>/dev/null; do sleep 0.1; done
  AGENT_PID=
}

# Median of the duration_ms of the cycle lines after the first SKIP.
median_cycle_ms() {
  grep '"kind":"cycle"' "$1" | tail -n +"$(($2 + 1))" | jq -s 'map(.duration_ms) | sort | .[length/2|floor]'
}

(cd "$ROOT" && cargo build --release --quiet --bin virtdiag --example parallel_fallback)
"$BEDSH" setup >/dev/null
mkdir -p "$WORK"
chmod 0777 "$WORK"
install -m 0755 "$ROOT/target/release/virtdiag" "$WORK/virtdiag"
TICK=$(getconf CLK_TCK)

echo "== $GUESTS QEMU guests (TCG, each reading, writing and pinging every second)"
for i in $(seq 1 "$GUESTS"); do "$BEDSH" vm "m$i" $((20 + i)) >/dev/null; done

WINDOW=10 INTERVAL=2
start_agent "$BED_URI_RO" "$INTERVAL"
wait_cycles "$WORK/d.ndjson" 3
a0=$(cpu_ticks "$AGENT_PID") l0=$(cpu_ticks "$(libvirtd_pid)") c0=$(cycles_in "$WORK/d.ndjson")
wait_cycles "$WORK/d.ndjson" $((c0 + WINDOW))
a1=$(cpu_ticks "$AGENT_PID") l1=$(cpu_ticks "$(libvirtd_pid)") c1=$(cycles_in "$WORK/d.ndjson")
n=$((c1 - c0))
paths=$(grep '"kind":"cycle"' "$WORK/d.ndjson" | tail -1 | jq -c .paths)
echo "agent: $n cycles every $INTERVAL s; per cycle: agent CPU $(echo "scale=2; ($a1 - $a0) * 1000 / $TICK / $n" | bc) ms," \
  "libvirtd CPU $(echo "scale=2; ($l1 - $l0) * 1000 / $TICK / $n" | bc) ms," \
  "cycle (median) $(median_cycle_ms "$WORK/d.ndjson" 3) ms; paths $paths"
echo "  (libvirtd CPU also includes the guests' own monitor traffic over the same time)"
stop_agent

# The floor: one `virsh domstats` (every group, every guest) per INTERVAL, as nobody
# read-only like the agent, with libvirtd's CPU over the same wall time.
l0=$(cpu_ticks "$(libvirtd_pid)")
start=$(date +%s.%N)
times_out=$( (
  for _ in $(seq 1 "$WINDOW"); do
    s=$(date +%s.%N)
    "$BEDSH" unprivileged virsh -r -c "$BED_URI_RO" domstats --raw >/dev/null
    sleep "$(echo "$INTERVAL - ($(date +%s.%N) - $s)" | bc)"
  done
  times
) | tail -1)
l1=$(cpu_ticks "$(libvirtd_pid)")
# `times` prints the children's user and system time as "XmY.ZZZs XmY.ZZZs".
virsh_cpu=$(echo "$times_out" | awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); print (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1000 }')
one_call=$( { /usr/bin/env time -f %e "$BEDSH" unprivileged virsh -r -c "$BED_URI_RO" domstats --raw >/dev/null; } 2>&1 | tail -1)
echo "virsh domstats: per call: virsh CPU $(echo "scale=2; $virsh_cpu / $WINDOW" | bc) ms (incl. process start)," \
  "libvirtd CPU $(echo "scale=2; ($l1 - $l0) * 1000 / $TICK / $WINDOW" | bc) ms, wall $(echo "$one_call * 1000" | bc) ms"

echo
echo "== 1000 test-driver domains through the daemon (state in bulk, the rest per domain)"
node=$(cd "$ROOT" && cargo test --quiet --test collector a_thousand >/dev/null 2>&1; echo "$ROOT/target/tmp/node-1000.xml")
[[ -s $node ]] || { echo "measure: no $node" >&2; exit 1; }
install -m 0644 "$node" "$WORK/node-1000.xml"
TURI="test+unix://$WORK/node-1000.xml?socket=$VIRTDIAG_BED/run/libvirt-sock-ro"
start_agent "$TURI" 5
wait_cycles "$WORK/d.ndjson" 4
echo "agent: cycle (median of 3) $(median_cycle_ms "$WORK/d.ndjson" 1) ms;" \
  "last: $(grep '"kind":"cycle"' "$WORK/d.ndjson" | tail -1 | jq -c '{bulk_ms, per_domain_ms, inventory_ms, own_ms}')"
stop_agent
"$BEDSH" unprivileged "$ROOT/target/release/examples/parallel_fallback" "$TURI"
