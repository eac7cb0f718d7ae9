#!/bin/bash
# verdicts.sh: the verdicts on the real bed (docs/e2e.md, "Verdicts"): a guest paused by
# ENOSPC, a dump job's progress, flapping, a guest panic, a stopped QEMU, the host's totals and
# QEMU's overhead, and a stopped agent, each in the records and as an alert of
# contrib/prometheus/virtdiag-alerts.yml reaching an Alertmanager webhook through a real
# Prometheus fed by the agent's textfile (all on 127.0.0.1).
#
# Usage: tests/e2e/verdicts.sh
#
# Sets up the bed, boots v1 (--enospc 30), v2 (--panic 75) and v3, runs tests/e2e/verdicts.py
# and always takes the bed down. Refuses to run when the bed is already up. About 4
# minutes. Ends with "verdicts: N passed, N failed".
# Environment: as tests/bed/bed.sh (VIRTDIAG_BED, BED_*_TIMEOUT), VIRTDIAG_BIN.
set -euo pipefail

SUITE=verdicts
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
for tool in prometheus prometheus-node-exporter prometheus-alertmanager; do
  command -v "$tool" >/dev/null ||
    { echo "verdicts: $tool is missing: tests/run.sh installs Debian's package of that name"; exit 2; }
done

t0=$SECONDS
"$BEDSH" setup
pids=()
"$BEDSH" vm v1 11 --enospc 30 & pids+=($!)
"$BEDSH" vm v2 12 --panic 75 & pids+=($!)
"$BEDSH" vm v3 13 & pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done
echo "verdicts: bed with three guests ready in $((SECONDS - t0)) s"
python3 "$HERE/verdicts.py"
