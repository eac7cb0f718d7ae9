#!/usr/bin/env bash
# Host-side checks of the packaging: man pages current, unit verified and
# scored, .deb and .rpm holding exactly the expected files with the right
# modes, conffiles, dependencies, lintian. Prints one line per check and
# "packaging: N passed, M failed"; exits 1 on any failure.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: packaging/check.sh [--no-build]

Builds the packages with packaging/build.sh (unless --no-build: then checks
the ones already in target/), then checks them.
Needs: scdoc, lintian, rpm, systemd (systemd-analyze), logrotate, cargo-deb,
cargo-generate-rpm (see docs/service.md).
USAGE
}

build_flag=""
case "${1:-}" in
	"") ;;
	--no-build) build_flag=--no-build ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 64 ;;
esac

cd "$(dirname "$0")/.."
root=$(pwd)
# Most exposure allowed by `systemd-analyze security` (issue: 2.0 or lower).
MAX_EXPOSURE=2.0

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
# check NAME CMD...: run CMD quietly; on failure show its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name"
		printf '%s\n' "$out" | sed 's/^/     | /' | tail -n 30
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$build_flag" = --no-build ]; then
	echo "packaging: checking the packages already built"
else
	echo "packaging: building the packages"
fi
packaging/build.sh $build_flag >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; echo "packaging: 0 passed, 1 failed"; exit 1; }

target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
version=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"name":"virtdiag","version":"\([^"]*\)".*/\1/p')
deb=$(ls "$target_dir"/debian/virtdiag_"$version"-1_*.deb)
rpm=$(ls "$target_dir"/generate-rpm/virtdiag-"$version"-1.*.rpm)

# --- sources ---------------------------------------------------------------
check "man pages match their scdoc sources" packaging/man/generate.sh --check
check "completion scripts match \`virtdiag completions\`" packaging/completions/generate.sh --check

changelog_version() {
	local v
	v=$(sed -n '1s/^virtdiag (\([^)]*\)).*/\1/p' packaging/deb/changelog)
	[ "$v" = "$version-1" ] || { echo "packaging/deb/changelog is at $v, Cargo.toml at $version-1"; return 1; }
}
check "packaging/deb/changelog is at version $version-1" changelog_version

logrotate_off() {
	# Built-in rotation is in charge: the shipped snippet must be all comments.
	if grep -nEv '^[[:space:]]*(#|$)' packaging/logrotate/virtdiag; then return 1; fi
	# and, uncommented, it must parse (the user exists only after install, so
	# drop the su line for this syntax check).
	sed -e 's/^#\([/	}]\)/\1/' -e '/^[[:space:]]*su /d' packaging/logrotate/virtdiag >"$tmp/logrotate.conf"
	logrotate --debug --state "$tmp/logrotate.state" "$tmp/logrotate.conf" 2>&1 | tee "$tmp/logrotate.out" | grep -q 'error' && { cat "$tmp/logrotate.out"; return 1; }
	return 0
}
check "logrotate snippet is off by default and parses when enabled" logrotate_off

config_all_commented() {
	# Every key of the default configuration is present, commented out.
	# The keys are the binary's: its effective configuration at the defaults.
	local key keys missing=0
	keys=$("$target_dir/release/virtdiag" check-config --config /dev/null 2>/dev/null | sed -n 's/^\([a-z_]*\) = .*/\1/p')
	[ -n "$keys" ] || { echo "no keys in virtdiag check-config"; return 1; }
	for key in $keys; do
		grep -qE "^#$key = " packaging/virtdiag.toml || { echo "key $key missing or not commented"; missing=1; }
	done
	if grep -nEv '^[[:space:]]*(#|$|\[[a-z]+\]$)' packaging/virtdiag.toml; then missing=1; fi
	return "$missing"
}
check "default config lists every key commented out" config_all_commented

# --- the documentation against the built binary -------------------------------
bin="$target_dir/release/virtdiag"

cli_in_man() {
	# Every subcommand and every flag of the binary is in virtdiag(8).
	local page=packaging/man/virtdiag.8.scd missing=0 sub flag
	local subs
	subs=$("$bin" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && $1 != "help" && NF {print $1}')
	[ -n "$subs" ] || { echo "no subcommands in virtdiag --help"; return 1; }
	for sub in $subs; do
		grep -qE "^\*$sub\*" "$page" || { echo "subcommand $sub not described in $page"; missing=1; }
		for flag in $("$bin" "$sub" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+'); do
			case "$flag" in --help | --version) continue ;; esac
			grep -qF "*$flag*" "$page" || { echo "flag $sub $flag missing from $page"; missing=1; }
		done
	done
	# and every flag the page names exists.
	local known
	known=$(for sub in $subs; do "$bin" "$sub" --help; done | grep -oE -- '--[a-z-]+' | sort -u)
	for flag in $(grep -oE '\*--[a-z-]+\*' "$page" | tr -d '*' | sort -u); do
		case "$flag" in --help | --version) continue ;; esac
		grep -qxF -- "$flag" <<<"$known" || { echo "$page names $flag, which the binary does not know"; missing=1; }
	done
	return "$missing"
}
check "virtdiag(8) names every subcommand and flag of the binary, and no other" cli_in_man

effective() { # effective FILE: the effective configuration, without its header
	"$bin" check-config --config "$1" | grep -v '^#'
}
config_defaults_true() {
	# Uncommented, the shipped config and the man page's example give exactly
	# the binary's defaults; every key the binary prints is in both.
	local missing=0 key
	effective /dev/null >"$tmp/defaults" || return 1
	sed -n 's/^#\([a-z_]* = \)/\1/p; /^\[[a-z]*\]$/p' packaging/virtdiag.toml >"$tmp/shipped.toml"
	effective "$tmp/shipped.toml" | diff -u "$tmp/defaults" - || { echo "packaging/virtdiag.toml: documented defaults differ"; missing=1; }
	sed -n '/^The defaults, written out:/,/^```$/{/^```$/!p}' packaging/man/virtdiag.toml.5.scd \
		| sed '1,/^```$/d' >"$tmp/manpage.toml"
	effective "$tmp/manpage.toml" | diff -u "$tmp/defaults" - || { echo "virtdiag.toml(5) example: documented defaults differ"; missing=1; }
	for key in $(sed -n 's/^\([a-z_]*\) = .*/\1/p' "$tmp/defaults"); do
		grep -q "^#$key = " packaging/virtdiag.toml || { echo "key $key missing from packaging/virtdiag.toml"; missing=1; }
		grep -qF "*$key* = " packaging/man/virtdiag.toml.5.scd || { echo "key $key missing from virtdiag.toml(5)"; missing=1; }
	done
	return "$missing"
}
check "default config and virtdiag.toml(5) hold every key with the binary's default" config_defaults_true

protocol_in_man() {
	# Every command the agent's `help` lists is in virtdiag-protocol(7).
	local dir="$tmp/agent" pid missing=0 word words
	mkdir -p "$dir"
	"$bin" run --config /dev/null --uri test:///default --interval 60 \
		--spool "$dir/spool.ndjson" --socket "$dir/agent.sock" 2>"$dir/agent.log" &
	pid=$!
	local deadline=$((SECONDS + 10))
	until [ -S "$dir/agent.sock" ]; do
		if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$pid" 2>/dev/null; then
			echo "the agent did not open $dir/agent.sock in 10 s:"; cat "$dir/agent.log"
			kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
	words=$("$bin" query --raw --socket "$dir/agent.sock" help | sed -n 's/.*"command":"\([a-z]*\).*/\1/p')
	kill "$pid"; wait "$pid" 2>/dev/null || true
	[ -n "$words" ] || { echo "no commands in the agent's help answer"; return 1; }
	for word in $words; do
		grep -qE "^\*$word\*" packaging/man/virtdiag-protocol.7.scd || { echo "command $word not described in virtdiag-protocol(7)"; missing=1; }
	done
	return "$missing"
}
check "virtdiag-protocol(7) describes every command of the agent's help" protocol_in_man

# --- the unit --------------------------------------------------------------
unit_verify() {
	# A root holding the package, the host's targets and /bin/sh, so that
	# `verify` resolves the executables and the man pages of the package.
	local r="$tmp/verify-root"
	mkdir -p "$r/usr/lib/systemd/system" "$r/bin"
	dpkg-deb -x "$deb" "$r"
	local d
	for d in /lib/systemd/system /usr/lib/systemd/system; do
		[ -d "$d" ] && cp -an "$d/." "$r/usr/lib/systemd/system/" 2>/dev/null
	done
	cp /bin/sh "$r/bin/sh"
	local out
	out=$(MANPATH="$r/usr/share/man" systemd-analyze verify --root="$r" virtdiag.service 2>&1) || { echo "$out"; return 1; }
	[ -z "$out" ] || { echo "$out"; return 1; }
}
check "systemd-analyze verify virtdiag.service (clean)" unit_verify

exposure=$(systemd-analyze security --offline=true --no-pager packaging/systemd/virtdiag.service 2>/dev/null | sed -n 's/.*Overall exposure level for virtdiag.service: \([0-9.]*\).*/\1/p')
if [ -n "$exposure" ] && awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }'; then
	pass "systemd-analyze security --offline: exposure $exposure <= $MAX_EXPOSURE"
else
	fail "systemd-analyze security --offline: exposure '${exposure:-?}' > $MAX_EXPOSURE"
fi

# --- the .deb --------------------------------------------------------------
deb_contents() {
	dpkg-deb -c "$deb" | awk '{print $1, $2, $6}' | sort -k3 >"$tmp/deb.list"
	diff -u "$root/packaging/expected/deb-contents.txt" "$tmp/deb.list"
}
check "dpkg-deb -c: exactly the expected files and modes" deb_contents

deb_conffiles() {
	dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | sort >"$tmp/conffiles"
	printf '%s\n' /etc/logrotate.d/virtdiag /etc/virtdiag/virtdiag.toml | diff -u - "$tmp/conffiles"
}
check "conffiles: /etc/virtdiag/virtdiag.toml and /etc/logrotate.d/virtdiag" deb_conffiles

deb_depends() {
	local dep
	dep=$(dpkg-deb -f "$deb" Depends)
	echo "Depends: $dep"
	grep -q 'libvirt0' <<<"$dep" && grep -q 'adduser' <<<"$dep" && grep -q 'libc6' <<<"$dep"
}
check "Depends: derived from the binary (libvirt0, libc6) plus adduser" deb_depends

deb_scripts() {
	local s
	dpkg-deb -e "$deb" "$tmp/control"
	for s in postinst prerm postrm; do
		[ -x "$tmp/control/$s" ] || { echo "$s missing"; return 1; }
		sh -n "$tmp/control/$s" || return 1
	done
	grep -q 'adduser --system' "$tmp/control/postinst" || { echo "postinst does not create the user"; return 1; }
	grep -q 'deb-systemd-helper enable virtdiag.service' "$tmp/control/postinst" || { echo "postinst does not enable the unit"; return 1; }
	grep -q 'deb-systemd-invoke stop virtdiag.service' "$tmp/control/prerm" || { echo "prerm does not stop the unit"; return 1; }
	grep -q 'deb-systemd-helper purge virtdiag.service' "$tmp/control/postrm" || { echo "postrm does not purge the unit state"; return 1; }
	if grep -n '#DEBHELPER#' "$tmp/control/postinst" "$tmp/control/postrm"; then return 1; fi
}
check "maintainer scripts: user, enable, stop, purge; valid sh" deb_scripts

deb_binary_stripped() {
	dpkg-deb -x "$deb" "$tmp/deb-root"
	if readelf -S "$tmp/deb-root/usr/bin/virtdiag" | grep -q '\.debug_info'; then
		echo "usr/bin/virtdiag carries debug info (it belongs in the -dbgsym .ddeb)"
		return 1
	fi
}
check "the .deb binary is stripped (symbols in the -dbgsym .ddeb)" deb_binary_stripped

lintian_clean() {
	lintian --fail-on error,warning "$deb" 2>&1 | grep -v 'running with root privileges' || true
	lintian --fail-on error,warning "$deb" >/dev/null 2>&1
}
check "lintian: no errors, no warnings" lintian_clean

# --- the .rpm --------------------------------------------------------------
rpm_contents() {
	rpm -qlpv "$rpm" 2>/dev/null | awk '{print $1, $3 ":" $4, $9}' | sort -k3 >"$tmp/rpm.list"
	diff -u "$root/packaging/expected/rpm-contents.txt" "$tmp/rpm.list"
}
check "rpm -qlpv: exactly the expected files and modes" rpm_contents

rpm_config() {
	rpm -qpc "$rpm" 2>/dev/null | sort | diff -u <(printf '%s\n' /etc/logrotate.d/virtdiag /etc/virtdiag/virtdiag.toml) -
	rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm" 2>/dev/null | grep -q '^cn /etc/virtdiag/virtdiag.toml$' \
		|| { echo "virtdiag.toml is not %config(noreplace)"; return 1; }
}
check "rpm: config files are %config(noreplace)" rpm_config

rpm_scripts() {
	local out
	out=$(rpm -qp --scripts "$rpm" 2>/dev/null)
	grep -q 'useradd -r' <<<"$out" || { echo "no user creation"; return 1; }
	grep -q 'preset virtdiag.service' <<<"$out" || { echo "no preset"; return 1; }
	grep -q 'disable --now virtdiag.service' <<<"$out" || { echo "no stop on erase"; return 1; }
	grep -q 'try-restart virtdiag.service' <<<"$out" || { echo "no restart on upgrade"; return 1; }
	rpm -qpR "$rpm" 2>/dev/null | grep -q '^libvirt.so.0' || { echo "no libvirt requirement"; return 1; }
}
check "rpm: scriptlets (user, preset, stop, restart) and libvirt requirement" rpm_scripts

echo "packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
