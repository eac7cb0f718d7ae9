#!/bin/bash
# measure.sh: what a cycle costs against a real libvirtd, printed as numbers (a benchmark,
# not a test; docs/performance.md records its output).
#
# Usage: tests/e2e/measure.sh [GUESTS] [--dense N] [--cycles N] [--interval S]
#                             [--group-seconds S] [--no-test-driver]
#
# 1. GUESTS QEMU guests (`bed.sh vm`, default 10), then with --dense N the same plus N dense
#    guests (`bed.sh dense N`). On each bed, all as nobody on the read-only socket:
#    - libvirtd's idle CPU (no collector connected), subtracted from what follows;
#    - the agent (default groups) every INTERVAL s (default 1) over CYCLES cycles (default
#      90): its own CPU and libvirtd's per cycle;
#    - the floor: examples/bulk_floor with the same groups over one persistent connection,
#      one bulk call every INTERVAL s, CYCLES calls: libvirtd's CPU per call;
#      the two alternate in three parts, so drift in the machine's load falls on both;
#    - the ratio (agent + libvirtd) / floor, the target being at most 1.1;
#    - per group: bulk_floor with that group alone, back to back for GROUP_SECONDS (default
#      5), then the six default groups together: libvirtd's CPU per call and per domain.
#    Per cycle figures are means over the CYCLES cycles, with the lowest and highest part.
# 2. On the GUESTS guests: one `virsh domstats` call per INTERVAL (a process per call).
# 3. Unless --no-test-driver: 1000 test-driver domains through the daemon: the agent's
#    fallback cycle, and the per-domain path split over 1-4 connections
#    (examples/parallel_fallback.rs).
#
# VIRTDIAG_BIN and BULK_FLOOR_BIN name prebuilt binaries (otherwise both are built, release).
# Sets up the bed, and always takes it down again. Refuses to run when the bed is up.
set -euo pipefail

GUESTS=10 DENSE=0 CYCLES=90 INTERVAL=1 GROUP_SECONDS=5 TEST_DRIVER=1
PARTS=3
[[ ${1:-} =~ ^[0-9]+$ ]] && { GUESTS=$1; shift; }
while (($#)); do
  case $1 in
    --dense) DENSE=$2; shift ;;
    --cycles) CYCLES=$2; shift ;;
    --interval) INTERVAL=$2; shift ;;
    --group-seconds) GROUP_SECONDS=$2; shift ;;
    --no-test-driver) TEST_DRIVER=0 ;;
    *) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2 ;;
  esac
  shift
done
((CYCLES % PARTS == 0)) || { echo "measure: --cycles must be a multiple of $PARTS" >&2; exit 2; }

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BEDSH=$ROOT/tests/bed/bed.sh
eval "$("$BEDSH" env)"
# shellcheck source=tests/e2e/costlib.sh
. "$HERE/costlib.sh"
WORK=$VIRTDIAG_BED/measure
AGENT_PID=
# The groups the agent collects by default, in virsh domstats' names, and every other one.
DEFAULT_GROUPS=state,cpu-total,balloon,vcpu,interface,block
OTHER_GROUPS=(perf iothread memory dirtyrate vm)

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

cycles_in() { grep -c '"kind":"cycle"' "$1" || true; }

wait_cycles() { # FILE COUNT: poll until FILE has COUNT cycle lines
  local deadline=$((SECONDS + 120))
  until (($(cycles_in "$1") >= $2)); do
    ((SECONDS < deadline)) || { echo "measure: no $2 cycles in $1 after 120 s:" >&2; tail -3 "$1" >&2; exit 1; }
    sleep 0.05
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

floor() { # GROUPS ARGS...: bulk_floor as nobody on the read-only socket, libvirtd's CPU read by it
  "$BEDSH" unprivileged "$WORK/bulk_floor" "$BED_URI_RO" "$1" --libvirtd-pid "$(libvirtd_pid)" "${@:2}"
}

field() { # LINE KEY: the value of KEY=VALUE in a bulk_floor line
  sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1"
}

# PARTS alternations of the agent and the floor, CYCLES / PARTS cycles each, so that drift in
# the machine's load falls on both alike. Each part is one line "own_ticks libvirtd_ticks
# cycles seconds" in $WORK/agent.parts and $WORK/floor.parts.
alternate_parts() {
  local per=$((CYCLES / PARTS)) c a0 l0 t0 a1 l1 t1 line i
  : >"$WORK/agent.parts"
  : >"$WORK/floor.parts"
  for i in $(seq 1 "$PARTS"); do
    start_agent "$BED_URI_RO" "$INTERVAL"
    wait_cycles "$WORK/d.ndjson" 3    # the first cycle connects and has no rates
    c=$(cycles_in "$WORK/d.ndjson")
    a0=$(cpu_ticks "$AGENT_PID") l0=$(cpu_ticks "$(libvirtd_pid)") t0=$(now)
    wait_cycles "$WORK/d.ndjson" $((c + per))
    a1=$(cpu_ticks "$AGENT_PID") l1=$(cpu_ticks "$(libvirtd_pid)") t1=$(now)
    echo "$((a1 - a0)) $((l1 - l0)) $per $(echo "$t1 - $t0" | bc)" >>"$WORK/agent.parts"
    AGENT_PATHS=$(grep '"kind":"cycle"' "$WORK/d.ndjson" | tail -1 | jq -c .paths)
    AGENT_MEDIAN_MS=$(median_cycle_ms "$WORK/d.ndjson" 3)
    AGENT_ERRORS=$(grep '"kind":"cycle"' "$WORK/d.ndjson" | tail -n +4 | jq -r 'select(.error != null) | .error' | sort | uniq -c)
    stop_agent
    [[ -z $AGENT_ERRORS ]] || { echo "measure: the agent's cycles failed:" >&2; echo "$AGENT_ERRORS" >&2; exit 1; }
    line=$(floor "$DEFAULT_GROUPS" --calls "$per" --interval-ms "$(echo "$INTERVAL * 1000 / 1" | bc)")
    echo "$(field "$line" own_ticks) $(field "$line" libvirtd_ticks) $(field "$line" calls) $(echo "$(field "$line" wall_ms) / 1000" | bc -l)" >>"$WORK/floor.parts"
  done
}

# summary IDLE_RATE < parts: "own_ms lib_ms lib_net_ms own_lo own_hi net_lo net_hi" per cycle,
# the means over every part and the lowest and highest part.
summary() {
  awk -v idle="$1" -v t="$TICK" '
    { own = $1 * 1000 / t / $3; lib = $2 * 1000 / t / $3; net = ($2 - idle * $4) * 1000 / t / $3
      O += $1; L += $2; N += $3; S += $4
      if (NR == 1 || own < olo) olo = own; if (NR == 1 || own > ohi) ohi = own
      if (NR == 1 || net < nlo) nlo = net; if (NR == 1 || net > nhi) nhi = net }
    END { printf "%.2f %.2f %.2f %.2f %.2f %.2f %.2f\n", O * 1000 / t / N, L * 1000 / t / N,
          (L - idle * S) * 1000 / t / N, olo, ohi, nlo, nhi }'
}

# cost LABEL DOMAINS: every measurement of part 1 on the bed as it is.
cost() {
  local label=$1 domains=$2 idle agent flo g line lib
  echo
  echo "== $label: $domains running domains"
  idle=$(libvirtd_idle_rate "$(echo "$CYCLES * $INTERVAL / 1" | bc)")
  echo "libvirtd idle: $(echo "$idle" | awk -v t="$TICK" '{ printf "%.2f", $1 * 1000 / t }') ms CPU per second (no collector connected)"
  alternate_parts
  agent=$(summary "$idle" <"$WORK/agent.parts")
  flo=$(summary "$idle" <"$WORK/floor.parts")
  read -r a_own a_lib a_net a_olo a_ohi a_nlo a_nhi <<<"$agent"
  read -r f_own f_lib f_net f_olo f_ohi f_nlo f_nhi <<<"$flo"
  echo "$CYCLES cycles every $INTERVAL s in $PARTS parts; per cycle, mean [lowest part - highest part]:"
  printf '  %-48s %8s %14s %26s\n' "" "own CPU" "libvirtd CPU" "libvirtd net of idle"
  printf '  %-48s %8s %14s %26s\n' "agent (default groups)" "$a_own" "$a_lib" "$a_net [$a_nlo - $a_nhi]"
  printf '  %-48s %8s %14s %26s\n' "floor: one bulk call, one persistent connection" "$f_own" "$f_lib" "$f_net [$f_nlo - $f_nhi]"
  echo "  agent own [$a_olo - $a_ohi] ms; agent cycle (median) $AGENT_MEDIAN_MS ms; paths $AGENT_PATHS"
  echo "  agent (own + libvirtd) / floor (libvirtd): $(echo "$a_own $a_lib $f_lib" | awk '{ printf "%.2f", ($1 + $2) / $3 }')," \
    "net of idle: $(echo "$a_own $a_net $f_net" | awk '{ printf "%.2f", ($1 + $2) / $3 }') (target at most 1.10)"
  echo "  per domain: agent own $(echo "$a_own $domains" | awk '{ printf "%.0f", $1 * 1000 / $2 }') us," \
    "libvirtd net $(echo "$a_net $domains" | awk '{ printf "%.0f", $1 * 1000 / $2 }') us;" \
    "floor libvirtd net $(echo "$f_net $domains" | awk '{ printf "%.0f", $1 * 1000 / $2 }') us"

  echo "per group, bulk calls back to back for $GROUP_SECONDS s each (libvirtd net of idle):"
  printf '  %-42s %7s %8s %13s %16s %12s\n' group calls "fields" "libvirtd ms" "per domain us" "floor own ms"
  for g in ${DEFAULT_GROUPS//,/ } "${OTHER_GROUPS[@]}" "$DEFAULT_GROUPS"; do
    line=$(floor "$g" --seconds "$GROUP_SECONDS")
    if [[ $line == unsupported=1* ]]; then
      printf '  %-42s %s\n' "$g" "unsupported: ${line#*error=}"
      continue
    fi
    lib=$(echo "$(field "$line" libvirtd_ticks) $idle $(field "$line" wall_ms) $(field "$line" calls)" |
      awk -v t="$TICK" '{ printf "%.3f", ($1 - $2 * $3 / 1000) * 1000 / t / $4 }')
    printf '  %-42s %7s %8s %13s %16s %12s\n' "$g" "$(field "$line" calls)" "$(field "$line" fields_per_domain)" "$lib" \
      "$(echo "$lib $domains" | awk '{ printf "%.1f", $1 * 1000 / $2 }')" \
      "$(echo "$(field "$line" own_ticks) $(field "$line" calls)" | awk -v t="$TICK" '{ printf "%.3f", $1 * 1000 / t / $2 }')"
  done
}

cost_binaries "$ROOT"
"$BEDSH" setup >/dev/null
mkdir -p "$WORK"
chmod 0777 "$WORK"
install -m 0755 "$VIRTDIAG_BIN" "$WORK/virtdiag"
install -m 0755 "$BULK_FLOOR_BIN" "$WORK/bulk_floor"
echo "measure: $(nproc) cores, $("$WORK/virtdiag" --version 2>/dev/null | head -1), libvirt $(libvirtd --version | awk '{print $NF}')," \
  "CPU in ticks of $((1000 / TICK)) ms"

for i in $(seq 1 "$GUESTS"); do "$BEDSH" vm "m$i" $((20 + i)) >/dev/null; done
cost "$GUESTS QEMU guests (TCG, each reading, writing and pinging every second)" "$GUESTS"

# The floor as a process per call: one `virsh domstats` (every group, every guest) per
# INTERVAL, as nobody read-only like the agent, with libvirtd's CPU over the same wall time.
echo
echo "== $GUESTS QEMU guests: virsh -r domstats --raw, once every $INTERVAL s, 20 calls"
WINDOW=20
l0=$(cpu_ticks "$(libvirtd_pid)")
times_out=$( (
  for _ in $(seq 1 "$WINDOW"); do
    s=$(now)
    "$BEDSH" unprivileged virsh -r -c "$BED_URI_RO" domstats --raw >/dev/null
    sleep "$(echo "x = $INTERVAL - ($(now) - $s); if (x < 0) x = 0; x" | bc)"
  done
  times
) | tail -1)
l1=$(cpu_ticks "$(libvirtd_pid)")
# `times` prints the children's user and system time as "XmY.ZZZs XmY.ZZZs".
virsh_cpu=$(echo "$times_out" | awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); print (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1000 }')
echo "virsh domstats: per call: virsh CPU $(echo "scale=2; $virsh_cpu / $WINDOW" | bc) ms (incl. process start)," \
  "libvirtd CPU $(ms $((l1 - l0)) "$WINDOW") ms"

if ((DENSE > 0)); then
  "$BEDSH" dense "$DENSE" >/dev/null
  cost "$GUESTS QEMU guests and $DENSE dense guests (KVM, no OS)" $((GUESTS + DENSE))
fi

((TEST_DRIVER)) || exit 0
echo
echo "== 1000 test-driver domains through the daemon (state in bulk, the rest per domain)"
(cd "$ROOT" && cargo build --release --quiet --example parallel_fallback)
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
