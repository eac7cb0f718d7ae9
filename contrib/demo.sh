#!/usr/bin/env bash
# The main job on libvirt's embedded test driver, with the demo host of contrib/demo:
# installs what is missing, builds, and collects every domain of the demo host.
# Usage: contrib/demo.sh [FORMAT]   (json, legacy or table; default table)
set -euo pipefail
cd "$(dirname "$0")/.."
bash contrib/ensure-deps.sh libvirt-dev pkg-config
cargo build --release --quiet
exec target/release/virtdiag once --uri "test://$PWD/contrib/demo/node.xml" --format "${1:-table}"
