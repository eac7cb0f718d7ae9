# lib.sh: what run.sh and verdicts.sh share: the bed's environment, the refusal to run
# beside a bed that is up, the agents' and the bed's teardown on exit (also on failure or
# interrupt), python3 with jsonschema, and the build. Source it; it sets HERE, ROOT, BEDSH.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BEDSH=$ROOT/tests/bed/bed.sh
eval "$("$BEDSH" env)"
: "${VIRTDIAG_BED:?}"
: "${SUITE:=$(basename "$0" .sh)}"

if [[ $("$BEDSH" status) == *$'\n'"libvirtd: running"* ]]; then
  echo "$SUITE: the bed in $VIRTDIAG_BED is up; the suite will not take it down: run '$BEDSH down' first"
  exit 2
fi

# Agents the suite started (run from the copy in $VIRTDIAG_BED/e2e), by PID.
stop_agents() {
  local p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    [[ $exe == "$VIRTDIAG_BED/e2e/virtdiag" && "$(cat "$p/comm" 2>/dev/null)" == virtdiag ]] || continue
    kill -TERM "${p#/proc/}" 2>/dev/null && echo "$SUITE: stopped a leftover agent (pid ${p#/proc/})"
  done
  return 0
}

teardown() {
  local rc=$?
  trap - EXIT
  stop_agents
  "$BEDSH" down >/dev/null 2>&1 || { echo "$SUITE: bed down failed"; "$BEDSH" status || true; rc=1; }
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

command -v python3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-minimal
# The JSON Schema check of event lines.
python3 -c "import jsonschema" 2>/dev/null || python3 -m pip install -q jsonschema
if [[ -z ${VIRTDIAG_BIN:-} ]]; then
  (cd "$ROOT" && cargo build --quiet --bin virtdiag)
fi
