#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers that take outside input (docs/fuzzing.md).
# libFuzzer on the stable toolchain: rustc's sancov pass instruments the code and
# libfuzzer-sys links libFuzzer, built from its C++ sources with the system compiler.
#
#   fuzz/run.sh smoke            every target for $SMOKE_SECONDS (20) seconds; exit 1 on a crash
#   fuzz/run.sh campaign N       every target for N executions, one after another
#   fuzz/run.sh build            build the targets only
#   fuzz/run.sh TARGET ARGS...   one target with libFuzzer arguments (e.g. a crash file to replay)
#
# Targets: protocol, inventory, config, spool, pattern. Seeds are in fuzz/corpus/TARGET (committed);
# what the fuzzer adds goes to fuzz/work/corpus/TARGET, crashes to fuzz/work/artifacts/,
# logs to fuzz/work/logs/ (all git-ignored). Inputs that once crashed a target are kept
# in fuzz/regressions/TARGET and replayed by every run.
set -euo pipefail
cd "$(dirname "$0")"

targets=(protocol inventory config spool pattern)
smoke_seconds=${SMOKE_SECONDS:-20}
triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir=target/$triple/release

# Edge coverage with 8-bit counters and comparison tracing, as cargo-fuzz sets up on
# nightly; every flag here is accepted by stable rustc. Passed with --target so that
# build scripts and proc macros stay uninstrumented.
rustflags=(
  -Cpasses=sancov-module
  -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
  -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares
  -Cforce-frame-pointers=yes
  --cfg fuzzing
)

usage() {
  echo "usage: fuzz/run.sh smoke | campaign N | build | TARGET [libFuzzer args]" >&2
  echo "targets: ${targets[*]}" >&2
  exit 2
}

build() {
  bash ../contrib/ensure-deps.sh g++ libvirt-dev pkg-config
  # Fuzz the dependency versions the agent ships with: start from its lock file.
  cp ../Cargo.lock Cargo.lock
  RUSTFLAGS="${rustflags[*]}" cargo build --quiet --release --target "$triple" \
    --target-dir target --bins
}

# The spool target writes its files under $TMPDIR: a private tmpfs directory when
# there is one.
tmp=$(mktemp -d /dev/shm/virtdiag-fuzz.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp

# run TARGET LOG libFuzzer-options...: fuzzes from the seeds, the work corpus and the
# regressions; returns libFuzzer's status.
run() {
  local target=$1 log=$2
  shift 2
  local corpora=("work/corpus/$target" "corpus/$target")
  [ -d "regressions/$target" ] && corpora+=("regressions/$target")
  mkdir -p "work/corpus/$target" work/artifacts work/logs
  local extra=()
  # Longer than the server's 4096-byte request cap: the parser must not rely on it.
  [ "$target" = protocol ] && extra+=(-max_len=8192)
  # Expanded spool files cost up to 64 KiB of I/O each: prefer the fast inputs.
  [ "$target" = spool ] && extra+=(-entropic_scale_per_exec_time=1)
  nice -n 10 "$bin_dir/$target" \
    -dict="dict/$target.dict" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -print_final_stats=1 \
    -artifact_prefix="work/artifacts/$target-" \
    "${extra[@]}" "$@" "${corpora[@]}" >"$log" 2>&1
}

# summary TARGET LOG: one Markdown table row from libFuzzer's final lines.
summary() {
  local target=$1 log=$2
  local done_line runs rate seconds cov ft corp
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n1 || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  seconds=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$done_line")
  echo "| $target | $runs | $seconds | $rate | $cov | $ft | $corp | 0 |"
}

# fuzz_all MODE libFuzzer-options...: every target in turn; exit 1 if any crashed.
fuzz_all() {
  local mode=$1 failed=()
  shift
  build
  echo "| target | executions | seconds | exec/s | cov | ft | corpus (entries/size) | crashes |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for target in "${targets[@]}"; do
    local log=work/logs/$mode-$target.log
    mkdir -p work/logs
    if run "$target" "$log" "$@"; then
      summary "$target" "$log"
    else
      echo "| $target | crashed: see fuzz/$log | | | | | | 1 |"
      failed+=("$target")
    fi
  done
  [ ${#failed[@]} -eq 0 ] && return 0
  for target in "${failed[@]}"; do
    echo
    echo "== $target crashed (fuzz/work/logs/$mode-$target.log):"
    local log=work/logs/$mode-$target.log artifact
    grep -E -m1 -A12 "panicked|ERROR: libFuzzer" "$log" || tail -n 30 "$log"
    artifact=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n1)
    echo "Replay: bash fuzz/run.sh $target fuzz/${artifact:-work/artifacts/}"
    echo "Keep the input in fuzz/regressions/$target/ once the parser is fixed."
  done
  return 1
}

case "${1:-}" in
  smoke)
    fuzz_all smoke -max_total_time="$smoke_seconds"
    ;;
  campaign)
    [[ "${2:-}" =~ ^[0-9]+$ ]] || usage
    fuzz_all campaign -runs="$2"
    ;;
  build)
    build
    ;;
  protocol | inventory | config | spool | pattern)
    target=$1
    shift
    build
    # Paths given relative to the repository root still work from here.
    args=()
    for arg in "$@"; do
      if [ -e "../$arg" ] && [ ! -e "$arg" ]; then arg=../$arg; fi
      args+=("$arg")
    done
    [ ${#args[@]} -gt 0 ] || args=("work/corpus/$target" "corpus/$target")
    mkdir -p "work/corpus/$target"
    nice -n 10 "$bin_dir/$target" -dict="dict/$target.dict" "${args[@]}"
    ;;
  *)
    usage
    ;;
esac
