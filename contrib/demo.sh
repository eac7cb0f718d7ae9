#!/usr/bin/env bash
# The agent's main job on libvirt's embedded test driver, with the demo host of
# contrib/demo/node.xml: installs what is missing, builds, runs `virtdiag run` for a few
# cycles in a private folder, shows what it wrote and answers, then stops it.
#
# Usage: contrib/demo.sh            the agent: spool + socket, for about 5 seconds
#        contrib/demo.sh once [FMT] one-shot collection (FMT: json, legacy, table)
set -euo pipefail
cd "$(dirname "$0")/.."
bash contrib/ensure-deps.sh libvirt-dev pkg-config
cargo build --release --quiet
virtdiag=$PWD/target/release/virtdiag
uri="test://$PWD/contrib/demo/node.xml"

if [ "${1:-}" = once ]; then
  exec "$virtdiag" once -c "$uri" --format "${2:-table}"
fi

dir=$(mktemp -d /tmp/virtdiag-demo.XXXXXX)
"$virtdiag" run -c "$uri" --read-write --interval 2 \
  --spool "$dir/diagnostics.ndjson" --socket "$dir/virtdiag.sock" 2>"$dir/agent.log" &
agent=$!
trap 'kill "$agent" 2>/dev/null; wait "$agent" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do   # up to 10 s for the second cycle
  cycles=$(grep -c '"kind":"cycle"' "$dir/diagnostics.ndjson" 2>/dev/null || true)
  [ "${cycles:-0}" -ge 2 ] && break
  kill -0 "$agent" 2>/dev/null || { cat "$dir/agent.log" >&2; exit 1; }
  sleep 0.1
done

echo "== virtdiag run: every 2 s, one line per domain and cycle in $dir/diagnostics.ndjson"
cut -c1-150 "$dir/diagnostics.ndjson" | sed 's/$/ .../'
echo
export VIRTDIAG_SOCKET=$dir/virtdiag.sock   # for query and top, as --socket
echo "== virtdiag query list       (tables on a terminal, JSON lines when piped or with --json)"
"$virtdiag" query list
echo
echo "== virtdiag query all"
"$virtdiag" query all
echo
echo "== virtdiag query get instance-0000002a"
"$virtdiag" query get instance-0000002a
echo
echo "== virtdiag query get 1 format=legacy   (by id; Nova's original get_diagnostics (2012) table)"
"$virtdiag" query get 1 format=legacy
echo
echo "== virtdiag query status"
"$virtdiag" query status
echo
echo "== virtdiag query status --check   (a monitoring plugin's line and exit code)"
"$virtdiag" query status --check || true
echo
echo "(virtdiag top --socket $dir/virtdiag.sock would show the live view; this demo stops the agent now)"
