#!/bin/bash
# peers.sh: virtdiag beside collectd's virt plugin and prometheus-libvirt-exporter on the same
# bed, at the same interval, one after the other in one run (a benchmark, not a test;
# docs/performance.md records its output).
#
# Usage: tests/e2e/peers.sh [--guests N] [--dense N] [--interval S] [--cycles N]
#
# Installs Debian's collectd and prometheus-libvirt-exporter (apt-get, no recommends; a
# service the packages start is stopped), sets up the bed with GUESTS QEMU guests (`bed.sh
# vm`, default 10) and DENSE dense guests (`bed.sh dense`, default 50), then runs, each as
# nobody on the read-only socket, each for CYCLES cycles (default 12) every INTERVAL s
# (default 10):
#   - virtdiag run (default groups), spool in the work folder;
#   - collectd -f with a private configuration: the virt plugin with every ExtraStats
#     selector (job_stats_background of the two exclusive job selectors), the csv plugin;
#   - prometheus-libvirt-exporter on [::1], scraped with curl every INTERVAL s.
# Prints per tool: its own CPU and libvirtd's per cycle (libvirtd net of its idle CPU,
# measured first with no collector connected), peak RSS, and what it collected: the
# libvirt groups its output covers and its series (or fields) per domain. The bed and every
# tool are taken down at the end; the packages stay installed.
#
# VIRTDIAG_BIN names a prebuilt agent (otherwise it is built, release).
set -euo pipefail

GUESTS=10 DENSE=50 INTERVAL=10 CYCLES=12 PORT=19177
while (($#)); do
  case $1 in
    --guests) GUESTS=$2; shift ;;
    --dense) DENSE=$2; shift ;;
    --interval) INTERVAL=$2; shift ;;
    --cycles) CYCLES=$2; shift ;;
    *) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2 ;;
  esac
  shift
done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BEDSH=$ROOT/tests/bed/bed.sh
eval "$("$BEDSH" env)"
# shellcheck source=tests/e2e/costlib.sh
. "$HERE/costlib.sh"
WORK=$VIRTDIAG_BED/peers
TOOL_PID= SCRAPER_PID=
SERVICES=(collectd prometheus-libvirt-exporter)

if [[ $("$BEDSH" status) == *$'\n'"libvirtd: running"* ]]; then
  echo "peers: the bed is up; run '$BEDSH down' first" >&2
  exit 2
fi

stop_tool() {
  [[ -n $SCRAPER_PID ]] && { kill "$SCRAPER_PID" 2>/dev/null || true; wait "$SCRAPER_PID" 2>/dev/null || true; }
  SCRAPER_PID=
  [[ -n $TOOL_PID ]] || return 0
  kill "$TOOL_PID" 2>/dev/null || true
  while kill -0 "$TOOL_PID" 2>/dev/null; do sleep 0.1; done
  TOOL_PID=
}

teardown() {
  local rc=$?
  trap - EXIT
  stop_tool
  "$BEDSH" down >/dev/null 2>&1 || echo "peers: bed down failed" >&2
  exit "$rc"
}
trap teardown EXIT INT TERM

# ------------------------------------------------------------------------------------ packages
install_peers() {
  local missing=() p
  for p in collectd prometheus-libvirt-exporter curl; do
    [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" == ii* ]] || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "peers: installing ${missing[*]}" >&2
    apt-cache show "${missing[@]}" >/dev/null 2>&1 || apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --no-remove "${missing[@]}" >/dev/null
  fi
  # The packages ship services; the benchmark runs its own instances only.
  for p in "${SERVICES[@]}"; do
    if [[ -d /run/systemd/system ]]; then
      systemctl disable --now "$p" >/dev/null 2>&1 || true
    elif service "$p" status >/dev/null 2>&1; then
      service "$p" stop >/dev/null 2>&1 || true
    fi
  done
  for p in /usr/sbin/collectd /usr/bin/prometheus-libvirt-exporter; do
    ! pgrep -f "^$p" >/dev/null || { echo "peers: $p is running (a service?); stop it first" >&2; exit 1; }
  done
  echo "peers: collectd $(dpkg-query -W -f='${Version}' collectd-core)," \
    "prometheus-libvirt-exporter $(dpkg-query -W -f='${Version}' prometheus-libvirt-exporter)"
}

# ------------------------------------------------------------------------------------- the tools
# Each start_* leaves TOOL_PID set and returns once the tool has produced a first cycle;
# each cycles_* prints how many cycles the tool has completed so far.
start_virtdiag() {
  mkdir -p "$WORK/virtdiag"
  chown nobody:nogroup "$WORK/virtdiag"
  "$BEDSH" unprivileged "$WORK/virtdiag.bin" --log-level warning run --uri "$BED_URI_RO" \
    --interval "$INTERVAL" --spool "$WORK/virtdiag/d.ndjson" --socket "$WORK/virtdiag/v.sock" \
    2>>"$WORK/virtdiag/agent.log" &
  wait_for 30 test -S "$WORK/virtdiag/v.sock"
  TOOL_PID=$(pgrep -n -f "^$WORK/virtdiag.bin ")
}
cycles_virtdiag() { grep -c '"kind":"cycle"' "$WORK/virtdiag/d.ndjson" 2>/dev/null || true; }

collectd_conf() {
  cat <<EOF
Hostname "bed"
FQDNLookup false
Interval $INTERVAL
BaseDir "$WORK/collectd"
PIDFile "$WORK/collectd/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
AutoLoadPlugin false
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$WORK/collectd/collectd.log"
  Timestamp true
</Plugin>
LoadPlugin virt
<Plugin virt>
  Connection "$BED_URI_RO"
  HostnameFormat name
  ExtraStats "cpu_util disk disk_err domain_state fs_info job_stats_background pcpu perf vcpupin memory vcpu disk_physical disk_allocation disk_capacity"
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "$WORK/collectd/csv"
  StoreRates false
</Plugin>
EOF
}

start_collectd() {
  mkdir -p "$WORK/collectd/csv"
  chown -R nobody:nogroup "$WORK/collectd"
  collectd_conf >"$WORK/collectd/collectd.conf"
  "$BEDSH" unprivileged /usr/sbin/collectd -f -C "$WORK/collectd/collectd.conf" \
    >>"$WORK/collectd/collectd.out" 2>&1 &
  wait_for 30 pgrep -f "^/usr/sbin/collectd -f -C $WORK/collectd/"
  TOOL_PID=$(pgrep -n -f "^/usr/sbin/collectd -f -C $WORK/collectd/")
  wait_for 60 cycles_at_least 1
}
# One row per read in every CSV file: the rows of the first domain's virt_cpu_total file.
cycles_collectd() {
  local f
  f=$(find "$WORK/collectd/csv" -path '*/virt*/virt_cpu_total-*' 2>/dev/null | sort | head -n 1)
  [[ -n $f ]] && echo $(($(wc -l <"$f") - 1)) || echo 0
}

start_exporter() {
  mkdir -p "$WORK/exporter"
  : >"$WORK/exporter/scrapes"
  "$BEDSH" unprivileged /usr/bin/prometheus-libvirt-exporter --web.listen-address="[::1]:$PORT" \
    --libvirt.uri="$BED_URI_RO" >>"$WORK/exporter/exporter.log" 2>&1 &
  wait_for 30 curl -sg -o /dev/null "http://[::1]:$PORT/"
  TOOL_PID=$(pgrep -n -f "^/usr/bin/prometheus-libvirt-exporter --web.listen-address=")
  # The scraper: one GET every INTERVAL s, the answer kept, one line per scrape.
  (
    next=$(now)
    while :; do
      curl -sfg -o "$WORK/exporter/metrics.new" "http://[::1]:$PORT/metrics" &&
        mv "$WORK/exporter/metrics.new" "$WORK/exporter/metrics" && echo ok >>"$WORK/exporter/scrapes"
      next=$(echo "$next + $INTERVAL" | bc)
      sleep "$(echo "x = $next - $(now); if (x < 0) x = 0; x" | bc)"
    done
  ) &
  SCRAPER_PID=$!
  wait_for 60 cycles_at_least 1
}
cycles_exporter() { wc -l <"$WORK/exporter/scrapes"; }

CURRENT=
cycles_at_least() { (($("cycles_$CURRENT") >= $1)); }

wait_for() { # SECONDS CMD...: poll CMD until it succeeds
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "peers: timed out waiting for: $*" >&2; exit 1; }
    sleep 0.1
  done
}

# ------------------------------------------------------------------------------ what each collected
# Map an output name to the virsh domstats group it comes from (or "other" for what is no
# stats group: XML, job, pinning, host-side process time).
group_of() {
  awk '
    { g = "other" }
    /state|_info_state|domain_state/ { g = "state" }
    /cpu_time|virt_cpu_total|cpu_util|_info_cpu/ { g = "cpu-total" }
    /vcpu/ && !/vcpupin|cpu_affinity/ { g = "vcpu" }
    /memory|balloon|_info_maximum_memory|_info_memory/ { g = "balloon" }
    /disk|block/ { g = "block" }
    /if_|interface/ { g = "interface" }
    /perf/ { g = "perf" }
    { print g }'
}

# Prints "SERIES_PER_DOMAIN GROUPS" for the tool's output.
collected_virtdiag() {
  local metrics per_domain groups fields
  metrics=$(echo metrics | socat -t 5 - "UNIX-CONNECT:$WORK/virtdiag/v.sock" | grep -v '^#')
  per_domain=$(grep -c 'domain="dense-001"' <<<"$metrics" || true)
  groups=$(grep 'domain="dense-001"' <<<"$metrics" | sed 's/{.*//' | group_of | sort -u | paste -sd, -)
  # Fields of the record: every leaf, and those with a value.
  fields=$(grep '"kind":"domain"' "$WORK/virtdiag/d.ndjson" | tail -n "$DOMAINS" |
    jq -r 'select(.domain.name == "dense-001") | [paths(type | . != "object" and . != "array")] as $leaves |
      "\($leaves | length) fields, \([$leaves[] as $p | getpath($p) | select(. != null)] | length) non-null"')
  echo "$per_domain Prometheus series (dense-001; its record: $fields) $groups"
}

collected_collectd() {
  local dir=$WORK/collectd/csv/dense-001 n=0 f groups
  for f in "$dir"/*/*; do
    n=$((n + $(head -n 1 "$f" | tr ',' '\n' | tail -n +2 | grep -c .)))
  done
  groups=$(find "$dir" -type f -printf '%f\n' | sed 's/-[0-9-]*$//' | group_of | sort -u | paste -sd, -)
  echo "$n values in $(find "$dir" -type f | wc -l) series (dense-001) $groups"
}

collected_exporter() {
  local per_domain groups
  per_domain=$(grep -v '^#' "$WORK/exporter/metrics" | grep -c 'domain="dense-001"' || true)
  groups=$(grep -v '^#' "$WORK/exporter/metrics" | grep 'domain="dense-001"' | sed 's/{.*//' | group_of | sort -u | paste -sd, -)
  echo "$per_domain series (dense-001) $groups"
}

# ------------------------------------------------------------------------------------------ run
# measure TOOL: start it, skip one cycle, count CPU over CYCLES cycles, print one row.
RESULTS=()
measure() {
  local tool=$1 c0 c1 t0 t1 l0 l1 o0 o1 rss what
  CURRENT=$tool
  "start_$tool"
  c0=$("cycles_$tool")
  wait_for $((INTERVAL * 3 + 30)) cycles_at_least $((c0 + 1))
  c0=$("cycles_$tool") o0=$(cpu_ticks "$TOOL_PID") l0=$(cpu_ticks "$(libvirtd_pid)") t0=$(now)
  wait_for $((INTERVAL * (CYCLES + 3) + 30)) cycles_at_least $((c0 + CYCLES))
  c1=$("cycles_$tool") o1=$(cpu_ticks "$TOOL_PID") l1=$(cpu_ticks "$(libvirtd_pid)") t1=$(now)
  rss=$(peak_rss_kib "$TOOL_PID")
  what=$("collected_$tool")
  stop_tool
  RESULTS+=("$(echo "$tool $((c1 - c0)) $((o1 - o0)) $((l1 - l0)) $t0 $t1 $rss $IDLE" |
    awk -v t="$TICK" '{ n = $2; own = $3 * 1000 / t / n; lib = $4 * 1000 / t / n
      net = ($4 - $8 * ($6 - $5)) * 1000 / t / n
      printf "%s %d %.1f %.1f %.1f %.1f %.1f", $1, n, own, lib, net, own + net, $7 / 1024 }') $what")
  echo "peers: $tool done: ${RESULTS[-1]}" >&2
}

install_peers
cost_binaries "$ROOT" >/dev/null
"$BEDSH" setup >/dev/null
mkdir -p "$WORK"
chmod 0777 "$WORK"
install -m 0755 "$VIRTDIAG_BIN" "$WORK/virtdiag.bin"
for i in $(seq 1 "$GUESTS"); do "$BEDSH" vm "m$i" $((20 + i)) >/dev/null; done
((DENSE == 0)) || "$BEDSH" dense "$DENSE" >/dev/null
DOMAINS=$((GUESTS + DENSE))
sleep "$INTERVAL"
IDLE=$(libvirtd_idle_rate $((INTERVAL * CYCLES / 2)))
for tool in virtdiag collectd exporter; do measure "$tool"; done

echo
echo "$DOMAINS running domains ($GUESTS QEMU guests with I/O, $DENSE dense), one cycle every $INTERVAL s," \
  "$CYCLES cycles each; CPU per cycle in ms (ticks of $((1000 / TICK)) ms);" \
  "libvirtd idle $(echo "$IDLE" | awk -v t="$TICK" '{ printf "%.2f", $1 * 1000 / t }') ms/s subtracted for 'net'"
printf '%-9s %6s %8s %9s %9s %11s %12s %7s  %s\n' tool cycles own libvirtd "lv net" "own+net" "per domain" "RSS MiB" "collected (per domain), groups"
for r in "${RESULTS[@]}"; do
  read -r tool n own lib net total rss what <<<"$r"
  printf '%-9s %6s %8s %9s %9s %11s %10.0f us %7s  %s\n' "$tool" "$n" "$own" "$lib" "$net" "$total" \
    "$(echo "$total $DOMAINS" | awk '{ print $1 * 1000 / $2 }')" "$rss" "$what"
done
base=$(read -r _ _ _ _ _ total _ <<<"${RESULTS[0]}"; echo "$total")
for r in "${RESULTS[@]:1}"; do
  read -r tool _ _ _ _ total _ <<<"$r"
  echo "$tool / virtdiag (own + libvirtd net): $(echo "$total $base" | awk '{ printf "%.1f", $1 / $2 }')x"
done
