#!/usr/bin/env bash
# The whole test suite: installs what the tests need, checks formatting and lints,
# then runs every test. This is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash contrib/ensure-deps.sh libvirt-dev pkg-config socat rsyslog logrotate util-linux
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test 2>&1
