#!/usr/bin/env bash
# The virtdiag .deb under a real systemd: build (and cache) a Debian 12 root
# filesystem with debootstrap, boot it with systemd-nspawn on a private
# network, install the package with dpkg, and prove from outside, in order,
# the service's behaviour (docs/service.md, "What the systemd test proves").
# Prints one line per check, then "systemd: N passed, M failed"; exits 1 on
# any failure. The container, its cgroups and its processes are removed at
# the end, also on failure or interruption.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: tests/systemd/run.sh [--deb FILE] [--rpm FILE|--no-rpm] [--cache DIR]
                           [--rebuild-rootfs] [--real-libvirt DIR]

  --deb FILE         the package to test (default: the newest
                     target/debian/virtdiag_*.deb; build it with
                     packaging/build.sh)
  --rpm FILE         the RPM to check after the .deb is purged (default: the
                     newest target/generate-rpm/virtdiag-*.rpm); its scriptlets
                     run under the container's systemd (checks R1-R3)
  --no-rpm           skip the RPM checks
  --cache DIR        where the root filesystem is cached between runs
                     (default: /var/cache/virtdiag-systemd-test)
  --rebuild-rootfs   build the root filesystem again even if cached
  --real-libvirt DIR also check the service against a running libvirtd whose
                     read-only socket is DIR/libvirt-sock-ro (e.g. the bed of
                     tests/bed/bed.sh: /var/tmp/virtdiag-bed/run): DIR is bound
                     at /run/libvirt in the container and the agent runs with
                     the default qemu:///system read-only URI (check 7c)
Runs as root. Needs systemd-container (systemd-nspawn), debootstrap,
util-linux (nsenter), jq and the apt sources of a Debian machine (the mirror
is read from `apt-get indextargets`).
USAGE
}

deb=""
rpm=""
cache=/var/cache/virtdiag-systemd-test
rebuild=no
real_libvirt=""
while [ $# -gt 0 ]; do
	case "$1" in
		--deb) deb=${2:?--deb needs a file}; shift 2 ;;
		--rpm) rpm=${2:?--rpm needs a file}; shift 2 ;;
		--no-rpm) rpm=none; shift ;;
		--cache) cache=${2:?--cache needs a folder}; shift 2 ;;
		--rebuild-rootfs) rebuild=yes; shift ;;
		--real-libvirt) real_libvirt=${2:?--real-libvirt needs a folder}; shift 2 ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; exit 64 ;;
	esac
done

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

SUITE=bookworm
VARIANT=minbase
# What the container needs without a network: systemd as PID 1, the package's
# dependencies (adduser, libvirt0, with libvirt's built-in test driver), socat
# for queries, logrotate to check the shipped snippet, rpm to run the RPM's
# scriptlets, acl for the Prometheus textfile drop-in's setfacl. No procps on
# purpose: the unit's ExecReload= must work without /bin/kill.
INCLUDE=systemd,systemd-sysv,dbus,libvirt0,socat,adduser,logrotate,rpm,acl
HOSTNAME_IN=virtdiag-test
SOCK=/run/virtdiag/virtdiag.sock
SPOOL=/var/log/virtdiag/diagnostics.ndjson
CONF=/etc/virtdiag/virtdiag.toml
MAX_EXPOSURE=2.0

t_start=$SECONDS
log() { echo "-- $*"; }
die() { echo "run.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (systemd-nspawn, nsenter, cgroups)"
for tool in systemd-nspawn debootstrap nsenter jq flock setsid; do
	command -v "$tool" >/dev/null || die "$tool not found (see usage: --help)"
done
if [ -z "$deb" ]; then
	deb=$(ls -t "$repo"/target/debian/virtdiag_*.deb 2>/dev/null | head -n 1 || true)
	[ -n "$deb" ] || die "no target/debian/virtdiag_*.deb: run packaging/build.sh first, or pass --deb"
fi
[ -f "$deb" ] || die "no such package: $deb"
if [ -z "$rpm" ]; then
	rpm=$(ls -t "$repo"/target/generate-rpm/virtdiag-*.rpm 2>/dev/null | head -n 1 || true)
	[ -n "$rpm" ] || die "no target/generate-rpm/virtdiag-*.rpm: run packaging/build.sh first, pass --rpm, or --no-rpm"
fi
[ "$rpm" = none ] || [ -f "$rpm" ] || die "no such package: $rpm"
if [ -n "$real_libvirt" ]; then
	[ -S "$real_libvirt/libvirt-sock-ro" ] || die "no libvirt read-only socket $real_libvirt/libvirt-sock-ro"
fi

# --- checks ----------------------------------------------------------------
passed=0
failed=0
# check ID TEXT FUNCTION [ARGS...]: one line per check; on failure, what it saw.
check() {
	local id=$1 text=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		passed=$((passed + 1))
		echo "ok   $id $text${out:+ ($(printf '%s' "$out" | tail -n 1))}"
	else
		failed=$((failed + 1))
		echo "FAIL $id $text"
		printf '%s\n' "$out" | tail -n 40 | sed 's/^/     | /'
	fi
}
# wait_for SECONDS WHAT CMD...: poll CMD until it succeeds or the deadline.
wait_for() {
	local limit=$1 what=$2 deadline=$((SECONDS + $1))
	shift 2
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "gave up after ${limit}s waiting for $what"
			return 1
		fi
		sleep 0.2
	done
}

# --- teardown, also on failure or interruption ----------------------------------
work=""
cgroups=()
nspawn_pid=""
cpid=""
torn_down=no

# Processes left in our cgroups, one PID a line.
leftover_pids() {
	local cg
	for cg in "${cgroups[@]}"; do
		[ -d "$cg" ] && find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -u
}

teardown() {
	[ "$torn_down" = yes ] && return 0
	torn_down=yes
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		if [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null; then
			timeout 10 nsenter -t "$cpid" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
				systemctl poweroff --no-block >/dev/null 2>&1 || kill -RTMIN+4 "$cpid" 2>/dev/null || true
		fi
		local deadline=$((SECONDS + 20))
		while kill -0 "$nspawn_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
		if kill -0 "$nspawn_pid" 2>/dev/null; then
			echo "-- the container did not power off in 20 s: terminating systemd-nspawn ($nspawn_pid)"
			kill -TERM "$nspawn_pid" 2>/dev/null || true
			sleep 2
			kill -KILL "$nspawn_pid" 2>/dev/null || true
		fi
		wait "$nspawn_pid" 2>/dev/null || true
	fi
	local pid
	for pid in $(leftover_pids); do
		echo "-- killing leftover process $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-60))"
		kill -KILL "$pid" 2>/dev/null || true
	done
	local cg deadline=$((SECONDS + 10))
	for cg in "${cgroups[@]}"; do
		while [ -d "$cg" ] && [ "$SECONDS" -lt "$deadline" ]; do
			find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || sleep 0.1
		done
	done
	[ -z "$work" ] || rm -rf "$work"
}
summary_printed=no
on_exit() {
	local rc=$?
	teardown
	if [ "$summary_printed" = no ]; then
		echo "run.sh: stopped before the end (exit $rc)"
		echo "systemd: $passed passed, $((failed + 1)) failed"
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'echo "run.sh: interrupted"; exit 130' INT TERM

# --- the root filesystem (cached) -------------------------------------------
mkdir -p "$cache"
exec 9>"$cache/lock"
flock -w 600 9 || die "another run holds $cache/lock"

key=$(printf '%s %s %s %s\n' "$SUITE" "$VARIANT" "$INCLUDE" "$HOSTNAME_IN" | sha256sum | cut -c1-12)
rootfs="$cache/rootfs-$key"
stamp="$rootfs/.virtdiag-rootfs-complete"

mirror_url() {
	local url
	url=$(apt-get indextargets --format '$(REPO_URI)' "Codename: $SUITE" 'Target-Of: deb' \
		'Component: main' 'Identifier: Packages' 2>/dev/null | head -n 1)
	if [ -z "$url" ]; then
		url=$(apt-get indextargets --format '$(REPO_URI)' 'Label: Debian' 'Target-Of: deb' \
			'Component: main' 'Identifier: Packages' 2>/dev/null | head -n 1)
	fi
	[ -n "$url" ] || return 1
	echo "$url"
}

if [ "$rebuild" = yes ] || [ ! -f "$stamp" ]; then
	t0=$SECONDS
	mirror=$(mirror_url) || die "no Debian mirror in the apt sources (apt-get indextargets)"
	log "building the $SUITE root filesystem in $rootfs (mirror from apt sources)"
	rm -rf "$rootfs" "$cache"/rootfs-*.tmp
	# Root filesystems of other keys are stale.
	for old in "$cache"/rootfs-*; do
		[ -d "$old" ] && [ "$old" != "$rootfs" ] && rm -rf "$old"
	done
	if ! debootstrap --variant="$VARIANT" --include="$INCLUDE" "$SUITE" "$rootfs.tmp" "$mirror" \
		>"$cache/debootstrap.log" 2>&1; then
		tail -n 30 "$cache/debootstrap.log" >&2
		die "debootstrap failed (log: $cache/debootstrap.log)"
	fi
	echo "$HOSTNAME_IN" >"$rootfs.tmp/etc/hostname"
	rm -f "$rootfs.tmp"/var/cache/apt/archives/*.deb
	touch "$rootfs.tmp/.virtdiag-rootfs-complete"
	mv "$rootfs.tmp" "$rootfs"
	log "root filesystem built in $((SECONDS - t0)) s ($(du -sh "$rootfs" | cut -f1))"
else
	log "using the cached root filesystem $rootfs"
fi

# --- boot --------------------------------------------------------------------
work=$(mktemp -d /var/tmp/virtdiag-systemd-test.XXXXXX)
mkdir -p "$work/pkg"
cp "$deb" "$work/pkg/virtdiag.deb"
[ "$rpm" = none ] || cp "$rpm" "$work/pkg/virtdiag.rpm"
cp "$here/probe.sh" "$work/pkg/probe.sh"
chmod 755 "$work/pkg/probe.sh"

machine="virtdiag-test-$$"
# nspawn runs in a cgroup of its own (in every cgroup hierarchy that exists),
# so that everything it starts can be found, killed and removed afterwards.
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
	cgroups+=("/sys/fs/cgroup/$machine")
else
	for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
		[ -f "$h/cgroup.procs" ] && cgroups+=("$h/$machine")
	done
fi
for cg in "${cgroups[@]}"; do mkdir "$cg"; done

t_boot=$SECONDS
(
	for cg in "${cgroups[@]}"; do echo "$BASHPID" >"$cg/cgroup.procs"; done
	exec 9>&- # the cache lock stays with this script
	exec setsid systemd-nspawn --quiet --directory="$rootfs" --machine="$machine" --boot \
		--register=no --keep-unit --private-network --console=read-only --volatile=overlay \
		--bind-ro="$work/pkg:/mnt/virtdiag-test" \
		${real_libvirt:+--bind-ro="$real_libvirt:/run/libvirt"}
) >"$work/console.log" 2>&1 </dev/null &
nspawn_pid=$!

find_cpid() { cpid=$(pgrep -P "$nspawn_pid" | head -n 1); [ -n "$cpid" ]; }
deadline=$((SECONDS + 15))
until find_cpid; do
	if ! kill -0 "$nspawn_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
		echo "run.sh: the container did not start; its console said:" >&2
		tail -n 30 "$work/console.log" >&2
		exit 1
	fi
	sleep 0.1
done

# inside CMD...: run CMD inside the container, as root, with a clean environment.
inside() { nsenter -t "$cpid" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# as USER CMD...: run CMD inside the container as USER with USER's groups.
as() { local user=$1; shift; inside setpriv --reuid="$user" --regid="$user" --init-groups "$@"; }
root_path() { echo "/proc/$cpid/root$1"; }

# systemctl needs the manager's private socket, which appears a moment after boot starts.
wait_for 30 "the container's /run/systemd/private" test -S "$(root_path /run/systemd/private)" || {
	tail -n 30 "$work/console.log" >&2
	exit 1
}
state=$(timeout 60 nsenter -t "$cpid" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	systemctl is-system-running --wait 2>&1 || true)
case "$state" in
	running | degraded) log "container $machine booted ($state) in $((SECONDS - t_boot)) s" ;;
	*)
		echo "run.sh: the container's systemd did not come up (state: '$state'); console:" >&2
		tail -n 30 "$work/console.log" >&2
		exit 1 ;;
esac

service_diag() {
	echo "--- systemctl status virtdiag"
	inside systemctl status --no-pager --lines=0 virtdiag 2>&1 || true
	echo "--- journalctl -u virtdiag"
	inside journalctl -b --no-pager -u virtdiag -n 25 2>&1 || true
}
prop() { inside systemctl show -P "$1" virtdiag; }
query() { # query USER REQUEST: one request over the socket, as USER
	printf '%s\n' "$2" | as "$1" socat -t 5 - "UNIX-CONNECT:$SOCK"
}

# --- install -----------------------------------------------------------------
log "installing $(basename "$deb") with dpkg"
# No service starts from maintainer scripts during the install (the usual
# container policy), so that the test starts it itself with its own config.
inside sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
if ! inside dpkg -i /mnt/virtdiag-test/virtdiag.deb >"$work/dpkg.log" 2>&1; then
	cat "$work/dpkg.log"
	die "dpkg -i failed"
fi
inside rm -f /usr/sbin/policy-rc.d

write_config() { # write_config INTERVAL
	inside sh -c "cat >$CONF" <<-EOF
	# virtdiag systemd test: libvirt's built-in test driver.
	uri = "test:///default"
	interval_seconds = $1
	EOF
}

# --- 1. user, start through READY=1 -------------------------------------------
c1_user() {
	inside getent passwd virtdiag || return 1
	inside getent group virtdiag || return 1
	local shell
	shell=$(inside getent passwd virtdiag | cut -d: -f7)
	[ "$shell" = /usr/sbin/nologin ] || { echo "shell is $shell"; return 1; }
}
check 1a "the package created the system user and group virtdiag" c1_user

c1_enabled() {
	local e
	e=$(inside systemctl is-enabled virtdiag 2>&1) || true
	echo "is-enabled: $e"
	[ "$e" = enabled ]
}
check 1b "the package enabled virtdiag.service" c1_enabled

c1_start() {
	write_config 2
	# Type=notify: `systemctl start` returns once READY=1 has arrived.
	timeout 60 nsenter -t "$cpid" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		systemctl start virtdiag || { service_diag; return 1; }
	local type active sub status
	type=$(prop Type); active=$(prop ActiveState); sub=$(prop SubState); status=$(prop StatusText)
	echo "Type=$type ActiveState=$active SubState=$sub StatusText=$status"
	[ "$type" = notify ] && [ "$active" = active ] && [ "$sub" = running ] || { service_diag; return 1; }
	[ -n "$status" ] || { echo "no STATUS= from the agent"; return 1; }
	inside systemctl status --no-pager --lines=0 virtdiag | grep -q 'Active: active (running)' || return 1
	echo "active (running), STATUS=$status"
}
check 1c "systemctl start (test:///default) reaches active (running) through READY=1" c1_start

c1_identity() {
	local pid uid want
	pid=$(prop MainPID)
	uid=$(inside awk '/^Uid:/ {print $2}' "/proc/$pid/status")
	want=$(inside id -u virtdiag)
	[ "$uid" = "$want" ] || { echo "main process uid $uid, virtdiag is $want"; return 1; }
	echo "main PID $pid runs as virtdiag ($uid)"
}
check 1d "the agent runs as virtdiag, not root" c1_identity

# --- 2. socket access by group -----------------------------------------------
inside useradd --no-create-home --groups virtdiag shipper
inside useradd --no-create-home outsider

c2_socket_mode() {
	wait_for 10 "$SOCK" inside test -S "$SOCK" || { service_diag; return 1; }
	local m
	m=$(inside stat -c '%A %U %G' "$SOCK")
	[ "$m" = "srw-rw---- virtdiag virtdiag" ] || { echo "socket is $m"; return 1; }
	echo "$m"
}
check 2a "the socket is srw-rw---- virtdiag:virtdiag" c2_socket_mode

c2_member() {
	local out
	out=$(query shipper status) || { echo "$out"; return 1; }
	echo "$out" | jq -e '.interval_seconds == 2' >/dev/null || { echo "answer: $out"; return 1; }
	echo "$out" | cut -c1-100
}
check 2b "a member of group virtdiag (shipper) gets an answer from socat" c2_member

c2_other() {
	local out
	if out=$(query outsider status 2>&1); then
		echo "outsider got: $out"
		return 1
	fi
	grep -q 'Permission denied' <<<"$out" || { echo "$out"; return 1; }
	echo "refused: Permission denied"
}
check 2c "another user (outsider) is refused" c2_other

# --- 3. the spool ---------------------------------------------------------------
spool_has_cycle() { grep -q '"kind":"cycle"' "$(root_path "$SPOOL")"; }
c3_spool() {
	wait_for 20 "a cycle line in $SPOOL" spool_has_cycle || {
		inside ls -la /var/log/virtdiag
		service_diag
		return 1
	}
	local m
	m=$(inside stat -c '%a %U %G' "$SPOOL")
	[ "$m" = "640 virtdiag virtdiag" ] || { echo "spool is $m"; return 1; }
	echo "$(wc -l <"$(root_path "$SPOOL")") lines, mode $m"
}
check 3a "spool lines appear in $SPOOL, mode 0640, owned by virtdiag" c3_spool

c3_lines() {
	local f
	f=$(root_path "$SPOOL")
	jq -ec . "$f" >/dev/null || { echo "a spool line is not JSON"; return 1; }
	grep -q '"kind":"domain"' "$f" || { echo "no domain line (test:///default has one domain)"; return 1; }
	local host
	host=$(grep -m1 '"kind":"domain"' "$f" | jq -r .host)
	[ "$host" = "$HOSTNAME_IN" ] || { echo "host in records is '$host', the machine is '$HOSTNAME_IN'"; return 1; }
	echo "JSON lines, domain records from host $host"
}
check 3b "every spool line is JSON; domain records name this host" c3_lines

c3_logrotate() {
	# Enabled, the shipped (commented) snippet parses against the installed user.
	inside sh -c "sed -e 's/^#\([/	}]\)/\1/' /etc/logrotate.d/virtdiag >/tmp/virtdiag-logrotate.conf"
	local out
	out=$(inside logrotate --debug --state /tmp/virtdiag-logrotate.state /tmp/virtdiag-logrotate.conf 2>&1)
	if grep -i 'error' <<<"$out"; then return 1; fi
	grep -q 'rotating pattern: /var/log/virtdiag/diagnostics.ndjson' <<<"$out" || { echo "$out"; return 1; }
	echo "logrotate accepts it (off by default: built-in rotation in charge)"
}
check 3c "the logrotate snippet, once uncommented, is valid" c3_logrotate

# --- 4. reload ---------------------------------------------------------------------
c4_reload() {
	local pid_before pid_after out
	pid_before=$(prop MainPID)
	inside sed -i 's/^interval_seconds = 2$/interval_seconds = 3/' "$CONF"
	timeout 30 nsenter -t "$cpid" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		systemctl reload virtdiag || { service_diag; return 1; }
	pid_after=$(prop MainPID)
	[ "$pid_before" = "$pid_after" ] || { echo "main PID changed $pid_before -> $pid_after"; return 1; }
	[ "$(prop ActiveState)" = active ] || { service_diag; return 1; }
	out=$(query shipper status) || { echo "$out"; return 1; }
	echo "$out" | jq -e '.interval_seconds == 3' >/dev/null || { echo "status after reload: $out"; return 1; }
	echo "interval_seconds 2 -> 3, same main PID $pid_after"
}
check 4 "systemctl reload re-reads the config (interval 2 -> 3 in status)" c4_reload

c4_textfile() {
	# As docs/service.md says: the shipped drop-in uncommented, an ACL on
	# node_exporter's root-owned directory, prometheus.textfile set.
	local dir=/var/lib/prometheus/node-exporter dropin=/etc/systemd/system/virtdiag.service.d/prometheus-textfile.conf
	local restart=(timeout 60 nsenter -t "$cpid" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin systemctl restart virtdiag)
	inside install -d -m 0755 -o root -g root "$dir"
	inside setfacl -m u:virtdiag:rwx "$dir" || return 1
	inside mkdir -p "$(dirname "$dropin")"
	inside sh -c "sed 's/^#\\([[A-Z]\\)/\\1/' /usr/share/doc/virtdiag/examples/prometheus-textfile.conf >$dropin"
	inside grep -qx 'ReadWritePaths=-/var/lib/prometheus/node-exporter' "$dropin" || { inside cat "$dropin"; return 1; }
	printf '\n[prometheus]\ntextfile = "%s"\n' "$dir/virtdiag.prom" | inside sh -c "cat >>$CONF"
	inside systemctl daemon-reload
	"${restart[@]}" || { service_diag; return 1; }
	wait_for 20 "$dir/virtdiag.prom" test -s "$(root_path "$dir/virtdiag.prom")" || { service_diag; return 1; }
	local mode
	mode=$(inside stat -c '%a %U' "$dir/virtdiag.prom")
	[ "$mode" = "644 virtdiag" ] || { echo "the textfile is $mode"; return 1; }
	grep -qx 'virtdiag_up 1' "$(root_path "$dir/virtdiag.prom")" || { echo "no virtdiag_up 1"; return 1; }
	# Back to the configuration the next checks expect.
	inside rm -f "$dropin"
	inside sed -i '/^\[prometheus\]$/,$d' "$CONF"
	inside systemctl daemon-reload
	"${restart[@]}" || { service_diag; return 1; }
	echo "$dir/virtdiag.prom: mode $mode, virtdiag_up 1"
}
check 4b "with the shipped textfile drop-in, the sandboxed agent writes node_exporter's directory" c4_textfile

# --- 4c-4d. guests first: resource limits, and a restart after a kill ---------------------
c4_limits() {
	# Resource control is not enforced in this container (docs/service.md):
	# what systemd parsed and will apply is checked, with what the kernel shows
	# where it shows it without a cgroup controller.
	local high max weight adj tasks pid threads
	high=$(prop MemoryHigh); max=$(prop MemoryMax); weight=$(prop CPUWeight)
	adj=$(prop OOMScoreAdjust); tasks=$(prop TasksMax); pid=$(prop MainPID)
	echo "MemoryHigh=$high MemoryMax=$max CPUWeight=$weight OOMScoreAdjust=$adj TasksMax=$tasks"
	# The measured peak at 5,000 domains plus the answer budget: 382 MiB.
	local floor=$((382 * 1024 * 1024))
	[[ "$high" =~ ^[0-9]+$ && "$max" =~ ^[0-9]+$ ]] || { echo "memory is not capped"; return 1; }
	[ "$high" -ge "$floor" ] && [ "$max" -gt "$high" ] || { echo "want $floor <= MemoryHigh < MemoryMax"; return 1; }
	[[ "$weight" =~ ^[0-9]+$ ]] && [ "$weight" -lt 100 ] || { echo "CPUWeight not below the default 100"; return 1; }
	[[ "$adj" =~ ^[0-9]+$ ]] && [ "$adj" -gt 0 ] || { echo "OOMScoreAdjust not positive"; return 1; }
	local seen
	seen=$(inside cat "/proc/$pid/oom_score_adj")
	[ "$seen" = "$adj" ] || { echo "the agent's oom_score_adj is $seen"; return 1; }
	threads=$(inside ls "/proc/$pid/task" | wc -l)
	[[ "$tasks" =~ ^[0-9]+$ ]] && [ "$tasks" -ge $((threads * 4)) ] && [ "$tasks" -le 1024 ] \
		|| { echo "TasksMax $tasks for $threads threads"; return 1; }
	echo "capped; oom_score_adj $seen in /proc; $threads threads under TasksMax $tasks"
}
check 4c "guests first: MemoryHigh/MemoryMax above the measured peak, CPUWeight < 100, OOMScoreAdjust > 0, TasksMax" c4_limits

# The highest cycle seq before the agent's last start line, and the first after it.
seqs_around_last_start() {
	jq -nrR '[inputs | fromjson? | select(type == "object")]
		| ([.[] | .kind == "agent" and .event == "started"] | rindex(true)) as $s
		| if $s == null then "no start line" else
			"\([.[:$s][] | select(.kind == "cycle") | .seq] | max) \([.[$s:][] | select(.kind == "cycle") | .seq] | min)"
		  end' "$(root_path "$SPOOL")"
}
c4_killed() {
	# SIGKILL from outside the service, as the kernel's OOM killer sends it.
	local pid restarts pid_after restarts_after around before after
	wait_for 20 "a cycle line" spool_has_cycle || { service_diag; return 1; }
	pid=$(prop MainPID); restarts=$(prop NRestarts)
	inside sh -c "kill -KILL $pid"
	restarted() { [ "$(prop NRestarts)" -gt "$restarts" ] && [ "$(prop ActiveState)" = active ] \
		&& [ "$(prop MainPID)" != "$pid" ] && [ "$(prop MainPID)" != 0 ]; }
	wait_for 30 "the restart after SIGKILL (RestartSec=5s)" restarted || { service_diag; return 1; }
	pid_after=$(prop MainPID); restarts_after=$(prop NRestarts)
	cycle_after_start() { around=$(seqs_around_last_start); [[ "$around" =~ ^[0-9]+\ [0-9]+$ ]]; }
	wait_for 20 "a cycle of the restarted agent" cycle_after_start || { echo "$around"; service_diag; return 1; }
	read -r before after <<<"$around"
	[ "$after" -eq $((before + 1)) ] || { echo "seq $before before the kill, $after after"; return 1; }
	echo "killed $pid; restarted as $pid_after (NRestarts $restarts -> $restarts_after); seq $before -> $after"
}
check 4d "the agent killed with SIGKILL (as by the OOM killer) is restarted and its spool's seq continues" c4_killed

# --- 5. exposure ---------------------------------------------------------------------
c5_security() {
	local out e
	out=$(inside systemd-analyze security --no-pager virtdiag.service 2>&1) || true
	e=$(sed -n 's/.*Overall exposure level for virtdiag.service: \([0-9.]*\).*/\1/p' <<<"$out")
	[ -n "$e" ] || { echo "$out" | tail -n 5; return 1; }
	awk -v e="$e" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }' || { grep '✗' <<<"$out"; echo "exposure $e"; return 1; }
	echo "exposure $e"
}
check 5 "systemd-analyze security virtdiag.service: exposure <= $MAX_EXPOSURE" c5_security

# --- 6. the sandbox --------------------------------------------------------------------
c6_main_process() {
	local pid st
	pid=$(prop MainPID)
	st=$(inside cat "/proc/$pid/status")
	grep -Eq '^NoNewPrivs:[[:space:]]+1$' <<<"$st" || { grep NoNewPrivs <<<"$st"; return 1; }
	grep -Eq '^Seccomp:[[:space:]]+2$' <<<"$st" || { grep Seccomp <<<"$st"; return 1; }
	local cap
	for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -Eq "^$cap:[[:space:]]+0+$" <<<"$st" || { grep "^$cap" <<<"$st"; return 1; }
	done
	echo "NoNewPrivs 1, seccomp filter, no capabilities"
}
check 6a "the agent's process: NoNewPrivs, seccomp, empty capability sets" c6_main_process

c6_probe() {
	# The probe runs as ExecStartPost= of the real unit, so inside the same
	# sandbox as the agent; a drop-in adds it for one restart only.
	inside mkdir -p /run/systemd/system/virtdiag.service.d
	inside sh -c 'printf "[Service]\nExecStartPost=/mnt/virtdiag-test/probe.sh /run/virtdiag/probe.txt\n" \
		>/run/systemd/system/virtdiag.service.d/probe.conf'
	inside systemctl daemon-reload
	timeout 60 nsenter -t "$cpid" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		systemctl restart virtdiag || { service_diag; return 1; }
	inside rm -rf /run/systemd/system/virtdiag.service.d
	inside systemctl daemon-reload
	local out
	out=$(inside cat /run/virtdiag/probe.txt) || { service_diag; return 1; }
	inside rm -f /run/virtdiag/probe.txt
	echo "$out"
	grep -q '^etc-write: denied: .*Read-only file system' <<<"$out" || return 1
	grep -q '^usr-write: denied: .*Read-only file system' <<<"$out" || return 1
	grep -q '^inet-socket: denied: .*Address family not supported' <<<"$out" || return 1
	grep -q '^inet6-socket: denied: .*Address family not supported' <<<"$out" || return 1
	grep -q '^setuid-root: denied' <<<"$out" || return 1
	grep -q '^no-new-privs: 1$' <<<"$out" || return 1
	echo "no write to /etc or /usr, no AF_INET/AF_INET6 socket, no way to root"
}
check 6b "a process in the service cannot write /etc, open AF_INET, gain privileges" c6_probe

# --- 7. stop ---------------------------------------------------------------------------
c7_stop() {
	[ "$(prop ActiveState)" = active ] || { service_diag; return 1; }
	timeout 60 nsenter -t "$cpid" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		systemctl stop virtdiag || { echo "systemctl stop failed"; service_diag; return 1; }
	local active result code status
	active=$(prop ActiveState); result=$(prop Result)
	code=$(prop ExecMainCode); status=$(prop ExecMainStatus)
	echo "ActiveState=$active Result=$result ExecMainCode=$code ExecMainStatus=$status"
	# ExecMainCode 1 is CLD_EXITED: the agent exited by itself, with status 0.
	[ "$active" = inactive ] && [ "$result" = success ] && [ "$code" = 1 ] && [ "$status" = 0 ] \
		|| { service_diag; return 1; }
	if inside test -e "$SOCK"; then echo "$SOCK still exists"; return 1; fi
	echo "exit 0, socket gone"
}
check 7a "systemctl stop: the agent exits 0, the socket is gone" c7_stop

c7_spool_complete() {
	local f
	f=$(root_path "$SPOOL")
	[ -z "$(tail -c 1 "$f")" ] || { echo "the spool does not end with a newline"; return 1; }
	jq -ec . "$f" >/dev/null || { echo "a spool line is not JSON"; return 1; }
	# The last collection cycle is complete: its closing "cycle" line comes
	# after its domain lines (agent lines may follow).
	local last
	last=$(jq -r 'select(.kind != "agent") | .kind' "$f" | tail -n 1)
	[ "$last" = cycle ] || { echo "last non-agent line is '$last'"; tail -n 3 "$f"; return 1; }
	echo "$(wc -l <"$f") whole lines, the last cycle closed"
}
check 7b "the spool ends with a complete cycle" c7_spool_complete

c7_real_libvirt() {
	# The shipped defaults: qemu:///system, read-only, through
	# /run/libvirt/libvirt-sock-ro, from inside the whole sandbox.
	inside sh -c ": >$CONF"
	timeout 60 nsenter -t "$cpid" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		systemctl start virtdiag || { service_diag; return 1; }
	local out=""
	connected() {
		out=$(query shipper status) && echo "$out" | jq -e '.connected == true and .last_cycle.domains >= 1' >/dev/null
	}
	wait_for 30 "a cycle with domains from the real libvirtd" connected || {
		echo "status: $out"
		service_diag
		return 1
	}
	local names
	names=$(query shipper list | jq -r '[.domains[].name] | join(" ")')
	timeout 60 nsenter -t "$cpid" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin systemctl stop virtdiag || return 1
	echo "$(echo "$out" | jq -r .uri) read-only: domains $names"
}
if [ -n "$real_libvirt" ]; then
	check 7c "with the default config, the service reads the real libvirtd (read-only socket)" c7_real_libvirt
fi

# --- 8. upgrade and purge ----------------------------------------------------------------
c8_upgrade_keeps_conffile() {
	local before after
	before=$(inside sha256sum "$CONF")
	inside sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
	inside env DEBIAN_FRONTEND=noninteractive dpkg -i /mnt/virtdiag-test/virtdiag.deb >"$work/dpkg2.log" 2>&1 \
		|| { cat "$work/dpkg2.log"; return 1; }
	inside rm -f /usr/sbin/policy-rc.d
	after=$(inside sha256sum "$CONF")
	[ "$before" = "$after" ] || { echo "the changed $CONF was replaced"; return 1; }
	echo "changed $CONF kept over a reinstall"
}
check 8a "reinstalling the package keeps the changed conffile" c8_upgrade_keeps_conffile

c8_remove() {
	inside dpkg -r virtdiag >"$work/dpkg3.log" 2>&1 || { cat "$work/dpkg3.log"; return 1; }
	if inside test -e /usr/bin/virtdiag; then echo "binary still there"; return 1; fi
	if inside test -e /usr/lib/systemd/system/virtdiag.service; then echo "unit still there"; return 1; fi
	inside test -f "$CONF" || { echo "remove deleted the configuration"; return 1; }
	inside test -f "$SPOOL" || { echo "remove deleted the spool"; return 1; }
	inside getent passwd virtdiag >/dev/null || { echo "remove deleted the user"; return 1; }
	echo "program gone; config, spool, user kept"
}
check 8b "dpkg -r removes the program, keeps config, spool and user" c8_remove

c8_purge() {
	# An operator's copy of the spool elsewhere must survive.
	inside cp "$SPOOL" /root/diagnostics-copy.ndjson
	inside dpkg --purge virtdiag >"$work/dpkg4.log" 2>&1 || { cat "$work/dpkg4.log"; return 1; }
	local gone=0 p
	for p in /etc/virtdiag /var/log/virtdiag /run/virtdiag /etc/systemd/system/multi-user.target.wants/virtdiag.service; do
		if inside test -e "$p"; then echo "$p still exists"; gone=1; fi
	done
	if inside getent passwd virtdiag; then echo "user virtdiag still exists"; gone=1; fi
	if inside getent group virtdiag; then echo "group virtdiag still exists"; gone=1; fi
	if inside dpkg -s virtdiag >/dev/null 2>&1; then echo "dpkg still knows virtdiag"; gone=1; fi
	inside test -f /root/diagnostics-copy.ndjson || { echo "the operator's copy was removed"; gone=1; }
	inside id shipper >/dev/null || { echo "the shipper user was removed"; gone=1; }
	[ "$gone" -eq 0 ] || return 1
	echo "config, spool dir, runtime dir, user, group gone; other files kept"
}
check 8c "dpkg --purge removes config, /var/log/virtdiag, user and group, nothing else" c8_purge

# --- the RPM, on the same systemd -----------------------------------------------------
cR1_install() {
	inside rpm -i --nodeps /mnt/virtdiag-test/virtdiag.rpm >"$work/rpm1.log" 2>&1 || { cat "$work/rpm1.log"; return 1; }
	inside getent passwd virtdiag >/dev/null || { echo "%pre did not create the user"; return 1; }
	local f
	for f in /usr/bin/virtdiag /usr/lib/systemd/system/virtdiag.service "$CONF" /etc/logrotate.d/virtdiag /usr/share/man/man8/virtdiag.8; do
		inside test -f "$f" || { echo "$f missing"; return 1; }
	done
	echo "$(inside rpm -ql virtdiag | wc -l) files; user virtdiag created by %pre; unit $(inside systemctl is-enabled virtdiag 2>&1) by preset"
}
cR2_start() {
	write_config 2
	timeout 60 nsenter -t "$cpid" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		systemctl start virtdiag || { service_diag; return 1; }
	local out
	wait_for 10 "$SOCK" inside test -S "$SOCK" || { service_diag; return 1; }
	out=$(query root status) || { echo "$out"; return 1; }
	echo "$out" | jq -e '.connected == true' >/dev/null || { echo "$out"; return 1; }
	echo "active; status answers"
}
cR3_erase() {
	inside rpm -e --nodeps virtdiag >"$work/rpm2.log" 2>&1 || { cat "$work/rpm2.log"; return 1; }
	local active
	active=$(prop ActiveState)
	[ "$active" = inactive ] || { echo "ActiveState=$active after rpm -e"; return 1; }
	if inside test -e /usr/bin/virtdiag; then echo "binary still there"; return 1; fi
	if inside test -e /etc/systemd/system/multi-user.target.wants/virtdiag.service; then echo "still enabled"; return 1; fi
	inside test -f "$SPOOL" || { echo "rpm -e removed the spool"; return 1; }
	inside getent passwd virtdiag >/dev/null || { echo "rpm -e removed the user"; return 1; }
	echo "stopped and disabled by %preun; spool and user kept"
}
if [ "$rpm" != none ]; then
	check R1 "rpm -i: %pre creates the user, the files are in place" cR1_install
	check R2 "the RPM's unit starts under systemd and answers" cR2_start
	check R3 "rpm -e: %preun stops and disables the unit; spool and user kept" cR3_erase
fi

# --- teardown --------------------------------------------------------------------------
teardown
c9_teardown() {
	local bad=0 cg
	if kill -0 "$nspawn_pid" 2>/dev/null; then echo "systemd-nspawn $nspawn_pid still runs"; bad=1; fi
	for cg in "${cgroups[@]}"; do
		if [ -d "$cg" ]; then echo "cgroup $cg still exists"; bad=1; fi
	done
	if [ -d "$work" ]; then echo "$work still exists"; bad=1; fi
	[ "$bad" -eq 0 ] || return 1
	echo "powered off; cgroups and work folder removed"
}
check 9 "the container, its cgroups and processes are gone" c9_teardown

log "total $((SECONDS - t_start)) s"
summary_printed=yes
echo "systemd: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
