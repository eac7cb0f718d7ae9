#!/usr/bin/env bash
# What the `top` feature costs the binary: release builds with and without it, their
# size (as built, with the profile's line tables, and stripped as the packages ship it)
# and their start-up time (`--version` and `check-config`, 200 runs each, the two
# binaries alternating so that load on the machine hits both alike). Prints a table
# (docs/performance.md, "The `top` feature"). Leaves target/release/virtdiag as the
# default build, with `top`, as packaging/build.sh expects.
set -euo pipefail

runs=${RUNS:-200}
cd "$(dirname "$0")/.."
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cargo build --release --quiet --no-default-features
cp "$target_dir/release/virtdiag" "$out/without-top"
cargo build --release --quiet
cp "$target_dir/release/virtdiag" "$out/with-top"
for build in with-top without-top; do
	objcopy --strip-all "$out/$build" "$out/$build.stripped"
done

python3 - "$out" "$runs" <<'PY'
import os, resource, statistics, subprocess, sys, time

out, runs = sys.argv[1], int(sys.argv[2])
builds = ["with-top", "without-top"]
print(f"{'build':12} {'as built':>12} {'stripped':>12}")
for build in builds:
    size = os.path.getsize(f"{out}/{build}")
    stripped = os.path.getsize(f"{out}/{build}.stripped")
    print(f"{build:12} {size:>12,} {stripped:>12,}")
print()
print(f"start-up of the stripped binary, {runs} runs: mean (median) wall ms, mean CPU ms")
for args in (["--version"], ["check-config"]):
    wall = {b: [] for b in builds}
    cpu = {b: [] for b in builds}
    for i in range(runs):
        for build in builds if i % 2 == 0 else builds[::-1]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([f"{out}/{build}.stripped", *args],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wall[build].append((time.perf_counter() - start) * 1e3)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[build].append((after.ru_utime - before.ru_utime
                               + after.ru_stime - before.ru_stime) * 1e3)
    for build in builds:
        print(f"{build:12} {' '.join(args):13} {statistics.mean(wall[build]):6.2f} "
              f"({statistics.median(wall[build]):5.2f})  CPU {statistics.mean(cpu[build]):5.2f}")
PY
