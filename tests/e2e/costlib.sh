# costlib.sh: what the cost benchmarks (measure.sh, peers.sh) share: CPU ticks and peak RSS
# from /proc, libvirtd's idle CPU, the prebuilt or freshly built binaries. Sourced, not run.
#
# CPU is read as clock ticks (utime + stime of /proc/PID/stat, 10 ms each), not wall time:
# other work on the machine slows a collector down but does not add to its ticks.

TICK=$(getconf CLK_TCK)

cpu_ticks() { # PID: utime + stime in clock ticks
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

peak_rss_kib() { # PID: VmHWM, the process's peak resident set
  awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

libvirtd_pid() { cat "$VIRTDIAG_BED/pid/libvirtd.pid"; }

now() { date +%s.%N; }

ms() { # TICKS [DIVISOR]: ticks as milliseconds of CPU, divided by DIVISOR
  echo "$1 ${2:-1}" | awk -v t="$TICK" '{ printf "%.2f", $1 * 1000 / t / $2 }'
}

# libvirtd_idle_rate SECONDS: libvirtd's CPU with no collector connected, in ticks per second
# (its own timers and the guests' monitor traffic), subtracted from what a collector costs.
libvirtd_idle_rate() {
  local l0 l1 t0 t1
  l0=$(cpu_ticks "$(libvirtd_pid)") t0=$(now)
  sleep "$1"
  l1=$(cpu_ticks "$(libvirtd_pid)") t1=$(now)
  echo "$((l1 - l0)) $t0 $t1" | awk '{ printf "%.3f", $1 / ($3 - $2) }'
}

# cost_binaries ROOT: sets VIRTDIAG_BIN and BULK_FLOOR_BIN, building them (release) unless the
# environment names prebuilt ones (a private copy keeps a run safe from edits in the tree).
cost_binaries() {
  local root=$1
  if [[ -z ${VIRTDIAG_BIN:-} || -z ${BULK_FLOOR_BIN:-} ]]; then
    (cd "$root" && cargo build --release --quiet --bin virtdiag --example bulk_floor)
  fi
  VIRTDIAG_BIN=${VIRTDIAG_BIN:-$root/target/release/virtdiag}
  BULK_FLOOR_BIN=${BULK_FLOOR_BIN:-$root/target/release/examples/bulk_floor}
}
