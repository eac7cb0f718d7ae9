#!/bin/bash
# run.sh: the end-to-end suite against a real libvirtd with real QEMU guests.
#
# Usage: tests/e2e/run.sh
#
# Builds virtdiag (debug; or uses $VIRTDIAG_BIN), sets up the bed (tests/bed/bed.sh setup),
# boots guests e1 and e2 (e2 with Nova metadata), runs tests/e2e/e2e.py (the agent as nobody on
# the read-only socket) and always takes the bed down again, also on failure or interrupt. It
# refuses to run when the bed is already up. Ends with "e2e: N passed, N failed".
# Environment: as tests/bed/bed.sh (VIRTDIAG_BED, BED_*_TIMEOUT), VIRTDIAG_BIN.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BEDSH=$ROOT/tests/bed/bed.sh
eval "$("$BEDSH" env)"
: "${VIRTDIAG_BED:?}"

if [[ $("$BEDSH" status) == *$'\n'"libvirtd: running"* ]]; then
  echo "e2e: the bed in $VIRTDIAG_BED is up; the suite will not take it down: run '$BEDSH down' first"
  exit 2
fi

# Agents the suite started (run from the copy in $VIRTDIAG_BED/e2e), by PID.
stop_agents() {
  local p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    [[ $exe == "$VIRTDIAG_BED/e2e/virtdiag" && "$(cat "$p/comm" 2>/dev/null)" == virtdiag ]] || continue
    kill -TERM "${p#/proc/}" 2>/dev/null && echo "e2e: stopped a leftover agent (pid ${p#/proc/})"
  done
  return 0
}

teardown() {
  local rc=$?
  trap - EXIT
  stop_agents
  "$BEDSH" down >/dev/null 2>&1 || { echo "e2e: bed down failed"; "$BEDSH" status || true; rc=1; }
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

command -v python3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-minimal
if [[ -z ${VIRTDIAG_BIN:-} ]]; then
  (cd "$ROOT" && cargo build --quiet --bin virtdiag)
fi

t0=$SECONDS
"$BEDSH" setup
"$BEDSH" vm e1 1 &
p1=$!
"$BEDSH" vm e2 2 --nova &
p2=$!
wait "$p1"
wait "$p2"
echo "e2e: bed with two guests ready in $((SECONDS - t0)) s"
# The JSON Schema check of event lines.
python3 -c "import jsonschema" 2>/dev/null || python3 -m pip install -q jsonschema
python3 "$HERE/e2e.py"
