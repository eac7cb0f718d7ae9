#!/bin/bash
# selftest.sh: prove the real-libvirt bed works on this machine, from whatever state it is in.
#
# Usage: tests/bed/selftest.sh
#
# Installs what is missing, builds the guest, starts the bed's libvirtd, boots two guests (one
# with Nova metadata), checks that every counter moves, that user nobody can read through the
# read-only socket, that no IPv4 address exists on the guests' links, that re-running is safe,
# that a failed `up` leaves nothing behind, and tears everything down. It refuses to run when the
# bed is already up (it would take someone's bed down). Ends with "bed: N passed, N failed".
# Environment: as bed.sh (VIRTDIAG_BED, BED_*_TIMEOUT).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BEDSH=$HERE/bed.sh
eval "$("$BEDSH" env)"
passed=0
failed=0
started=0

ok() { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
# libvirtd/virtlogd processes that still run (a reaped-later zombie does not count).
live_daemons() { ps -eo stat=,pid=,comm= | awk '$1 !~ /^Z/ && ($3 == "libvirtd" || $3 == "virtlogd") { print $3 ":" $2 }' | paste -sd' ' -; }
elapsed() { echo "$(($(date +%s%N) - $1))" | awk '{printf "%.1f", $1 / 1e9}'; }

finish() {
  local rc=$?
  trap - EXIT
  if ((started)); then
    "$BEDSH" down >/dev/null 2>&1 || { echo "bed: down failed during cleanup"; "$BEDSH" status || true; }
  fi
  ((rc == 0 || failed > 0)) || failed=$((failed + 1))
  echo "bed: $passed passed, $failed failed"
  ((failed == 0)) || exit 1
}
trap finish EXIT
trap 'exit 130' INT TERM

if [[ $("$BEDSH" status) == *$'\n'"libvirtd: running"* ]]; then
  echo "bed: the bed in $VIRTDIAG_BED is up; selftest will not take it down: run '$BEDSH down' first"
  exit 2
fi

started=1
t=$(date +%s%N)
if "$BEDSH" setup; then ok "setup (install, guest, up) in $(elapsed "$t") s"; else fail "setup"; exit 1; fi
pid1=$(cat "$VIRTDIAG_BED/pid/libvirtd.pid")

"$BEDSH" up
pid2=$(cat "$VIRTDIAG_BED/pid/libvirtd.pid")
if [[ $pid1 == "$pid2" ]]; then ok "up again is a no-op (libvirtd pid $pid1)"; else fail "up again restarted libvirtd ($pid1 -> $pid2)"; fi

t=$(date +%s%N)
"$BEDSH" vm st1 201 &
v1=$!
"$BEDSH" vm st2 202 --nova &
v2=$!
r=0
wait "$v1" || r=1
wait "$v2" || r=1
if ((r == 0)); then ok "two guests booted in parallel in $(elapsed "$t") s"; else fail "boot two guests"; exit 1; fi

t=$(date +%s%N)
if "$BEDSH" vm st3 203; then ok "one more guest booted in $(elapsed "$t") s"; else fail "boot a third guest"; fi

if [[ $("$BEDSH" vm st1 201 2>&1) == *"already running"* ]]; then ok "vm on a running guest is a no-op"; else fail "vm on a running guest"; fi

x1=$(virsh -q -c "$BED_URI" dumpxml st1)
x2=$(virsh -q -c "$BED_URI" dumpxml st2)
if grep -q "<uuid>b3d0b3d0-0000-4000-8000-0000000000c9</uuid>" <<<"$x1" &&
   grep -q "52:54:00:b3:d0:c9" <<<"$x1" && grep -q "<target dev='st1-t0'/>" <<<"$x1" &&
   grep -q "<target dev='vda' bus='virtio'/>" <<<"$x1" && grep -q "<target dev='vdb' bus='virtio'/>" <<<"$x1" &&
   grep -q "<stats period='5'/>" <<<"$x1" && ! grep -q 'nova:' <<<"$x1"; then
  ok "guest XML: uuid, MAC, tap, vda, vdb, balloon stats period"
else
  fail "guest XML of st1"
fi
if grep -q '<nova:project uuid="b3d0a5e7-0000-4000-8000-00000000b001">bed-project</nova:project>' <<<"$x2" &&
   grep -q '<nova:flavor name="bed.tiny">' <<<"$x2" && grep -q '>bed-user</nova:user>' <<<"$x2"; then
  ok "Nova metadata: project, user, flavor"
else
  fail "Nova metadata of st2"
fi

if "$BEDSH" check 6; then ok "every counter moves (cpu, vcpu, balloon, vda rd, vdb wr, net rx/tx)"; else fail "counters"; fi

if "$BEDSH" unprivileged; then ok "nobody reads through libvirt-sock-ro"; else fail "read-only socket as nobody"; fi

v4=""
for d in st1 st2 st3; do
  v4+=$(ip -4 -o addr show dev "$d-t0" 2>&1)
  grep -q '^BEDGUEST up .* peer=fe80:' "$VIRTDIAG_BED/vm/$d.console" || v4+=" $d: no link-local peer;"
done
if [[ -z $v4 ]]; then ok "taps carry no IPv4 address; each guest reached its tap's fe80:: address"; else fail "network: $v4"; fi

t=$(date +%s%N)
"$BEDSH" down
if [[ -z $("$BEDSH" status | sed -n 's/^qemu pids: *//p') ]] && [[ -z $(live_daemons) ]] &&
   [[ -z $(ip -br link | awk '$1 ~ /^st[0-9]-t0/') ]]; then
  ok "down in $(elapsed "$t") s leaves no qemu, daemon or tap"
else
  fail "down left something behind: $(live_daemons)"; "$BEDSH" status
fi
if "$BEDSH" down; then ok "down again is harmless"; else fail "down twice"; fi

# A failed up (libvirtd rejects its configuration and exits) must say what it saw and tear down
# what it had started (virtlogd).
out=$(BED_LIBVIRTD_CONF_EXTRA='this is not a valid line' BED_UP_TIMEOUT=30 "$BEDSH" up 2>&1) && r=0 || r=$?
if ((r != 0)) && grep -q 'what was seen' <<<"$out" && grep -q 'tearing down' <<<"$out" && [[ -z $(live_daemons) ]]; then
  ok "a failed up reports what it saw and leaves no daemon behind"
else
  fail "failed up: exit $r, live daemons: '$(live_daemons)'"
  printf '%s\n' "$out" | tail -n 20
fi
started=0
