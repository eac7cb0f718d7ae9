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

SUITE=e2e
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

t0=$SECONDS
"$BEDSH" setup
"$BEDSH" vm e1 1 &
p1=$!
"$BEDSH" vm e2 2 --nova &
p2=$!
wait "$p1"
wait "$p2"
echo "e2e: bed with two guests ready in $((SECONDS - t0)) s"
python3 "$HERE/e2e.py"
