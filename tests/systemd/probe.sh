#!/bin/bash
# Sandbox probe for tests/systemd/run.sh: run as an ExecStartPost= of
# virtdiag.service, so with the agent's user and sandbox, it tries what the
# agent must not be able to do and writes one "what: allowed|denied: why" line
# each to the file named by $1. Always exits 0 (the result is in the file).
set -uo pipefail

if [ $# -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	echo "Usage: probe.sh OUTPUT-FILE   (run by tests/systemd/run.sh inside the unit)" >&2
	exit 64
fi
out=$1

# attempt WHAT CMD...: run CMD, report whether it was allowed or why not.
attempt() {
	local what=$1 err
	shift
	if err=$("$@" 2>&1); then
		echo "$what: allowed"
	else
		echo "$what: denied: $(printf '%s' "$err" | tr '\n' ' ')"
	fi
}

{
	echo "user: $(id -un)"
	attempt etc-write touch /etc/virtdiag-probe
	attempt usr-write touch /usr/lib/virtdiag-probe
	# bash opens a socket for /dev/tcp and /dev/udp paths; the addresses are
	# this machine's loopback, and the socket() call itself must fail.
	attempt inet-socket bash -c 'exec 3<>/dev/tcp/127.0.0.1/9'
	attempt inet6-socket bash -c 'exec 3<>/dev/tcp/::1/9'
	attempt setuid-root setpriv --reuid=0 --regid=0 --clear-groups id -u
	echo "no-new-privs: $(awk '/^NoNewPrivs:/ {print $2}' /proc/self/status)"
	echo "cap-eff: $(awk '/^CapEff:/ {print $2}' /proc/self/status)"
} >"$out" 2>&1
exit 0
