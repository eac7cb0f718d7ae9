#!/usr/bin/env bash
# Install what packaging/check.sh and tests/systemd/run.sh need on a Debian 12
# machine (as root): Debian packages, then cargo-deb and cargo-generate-rpm
# from crates.io (skipped when the pinned version is already installed).
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: packaging/install-deps.sh

Installs with apt-get: debootstrap systemd-container lintian rpm scdoc
logrotate jq socat binutils util-linux; with cargo install --locked:
cargo-deb and cargo-generate-rpm (pinned versions). Runs as root.
USAGE
}
case "${1:-}" in
	"") ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 64 ;;
esac

CARGO_DEB_VERSION=3.8.0
CARGO_GENERATE_RPM_VERSION=0.21.1

[ "$(id -u)" -eq 0 ] || { echo "install-deps.sh: run as root" >&2; exit 1; }

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	debootstrap systemd-container lintian rpm scdoc logrotate jq socat binutils util-linux \
	ca-certificates debian-archive-keyring >/dev/null

installed() { # installed CRATE VERSION: is that version in `cargo install --list`?
	cargo install --list | grep -q "^$1 v$2:"
}
installed cargo-deb "$CARGO_DEB_VERSION" ||
	cargo install --locked --quiet cargo-deb --version "$CARGO_DEB_VERSION"
installed cargo-generate-rpm "$CARGO_GENERATE_RPM_VERSION" ||
	cargo install --locked --quiet cargo-generate-rpm --version "$CARGO_GENERATE_RPM_VERSION"
echo "install-deps.sh: packaging tools ready"
