#!/usr/bin/env bash
# The whole test suite: installs what the tests need, checks formatting and lints,
# runs every test against libvirt's test driver, fuzzes each parser of outside input
# briefly (fuzz/run.sh smoke), then the packaging checks, the
# service under a real systemd, and the end-to-end suite against a real libvirtd with
# QEMU guests. This is what CI runs. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
section() { echo; echo "== $* ($((SECONDS - started)) s)"; }

section "dependencies"
bash contrib/ensure-deps.sh libvirt-dev pkg-config socat rsyslog logrotate util-linux
# promtool, prometheus and node_exporter for tests/prometheus.rs (and promtool for the
# alert rules' tests, tests/alerts.rs; Alertmanager for tests/e2e/verdicts.sh), which run their own on
# loopback ports. A policy-rc.d keeps the packages' services from starting (they would
# listen on every address); only one created here is removed.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ] && [ "$(id -u)" -eq 0 ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
	bash contrib/ensure-deps.sh prometheus prometheus-node-exporter prometheus-alertmanager || { rm -f "$policy"; exit 1; }
	rm -f "$policy"
else
	bash contrib/ensure-deps.sh prometheus prometheus-node-exporter prometheus-alertmanager
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

section "cargo fmt --check"
cargo fmt --check
section "cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
# The service built without the terminal UI (the `top` feature) lints clean too.
cargo clippy --all-targets --no-default-features --quiet -- -D warnings
section "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
section "cargo test"
cargo test 2>&1
section "attacks on the release build"
cargo build --release --quiet
VIRTDIAG_BIN="$PWD/target/release/virtdiag" cargo test --test attacks -- --ignored 2>&1
VIRTDIAG_BIN="$PWD/target/release/virtdiag" cargo test --test attacks_answers -- --ignored --test-threads 1 2>&1
section "the spool read back at start, on the release build"
VIRTDIAG_BIN="$PWD/target/release/virtdiag" cargo test --test spool_start -- --ignored 2>&1
section "fuzz smoke: every parser of outside input, 20 s each"
bash fuzz/run.sh smoke

section "shippers: syslog-ng from its .deb files, the RELP fleet into PostgreSQL, paper configs"
# rsyslog-pgsql would otherwise set up a database of its own on the local server
# (dbconfig-common); the fleet test creates its own PostgreSQL.
echo "rsyslog-pgsql rsyslog-pgsql/dbconfig-install boolean false" | debconf-set-selections
bash contrib/ensure-deps.sh rsyslog-relp rsyslog-pgsql rsyslog-kafka postgresql-15 python3-yaml
VIRTDIAG_SYSLOG_NG_ROOT=$(bash tests/fleet/syslog-ng-root.sh) \
  timeout 300 cargo test --test shippers --test fleet_relp_pgsql -- --ignored 2>&1
bash tests/fleet/paper-configs.sh

section "terminal: virtdiag top in tmux"
bash contrib/ensure-deps.sh tmux
cargo test --test top -- --ignored 2>&1

section "end to end: real libvirtd, QEMU guests"
bash tests/e2e/run.sh
section "verdicts on the real bed: ENOSPC, dump job, panic, stuck QEMU, agent down, alerts"
bash tests/e2e/verdicts.sh

section "packaging"
bash packaging/install-deps.sh
bash packaging/check.sh
section "systemd"
bash tests/systemd/run.sh
section "done"
