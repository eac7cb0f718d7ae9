#!/usr/bin/env bash
# Build the Debian package (cargo deb) and the RPM (cargo generate-rpm) into
# target/debian/ and target/generate-rpm/.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: packaging/build.sh [--no-build]

Builds target/debian/virtdiag_VERSION-1_ARCH.deb (plus its -dbgsym .ddeb) and
target/generate-rpm/virtdiag-VERSION-1.ARCH.rpm from a release build.
  --no-build   package the existing target/release/virtdiag without building
Needs: cargo-deb, cargo-generate-rpm, objcopy (binutils).
USAGE
}

build=yes
case "${1:-}" in
	"") ;;
	--no-build) build=no ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 64 ;;
esac

cd "$(dirname "$0")/.."
for tool in cargo-deb cargo-generate-rpm objcopy; do
	command -v "$tool" >/dev/null || { echo "build.sh: $tool not found (see docs/service.md)" >&2; exit 69; }
done

# Reproducible timestamps: the date of the last commit.
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH

target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

rm -f "$target_dir"/debian/virtdiag_*.deb "$target_dir"/debian/virtdiag-dbgsym_*.ddeb "$target_dir"/generate-rpm/virtdiag-*.rpm
if [ "$build" = yes ]; then
	cargo deb --dbgsym
else
	cargo deb --dbgsym --no-build
fi

# cargo generate-rpm packages the binary as it is: give it a copy without the
# debug sections (the release profile keeps them), under a target dir of its own.
stage="$target_dir/rpm-stage"
mkdir -p "$stage/release"
objcopy --strip-debug "$target_dir/release/virtdiag" "$stage/release/virtdiag"
mkdir -p "$target_dir/generate-rpm"
cargo generate-rpm --target-dir "$stage" -o "$target_dir/generate-rpm/"

ls -l "$target_dir"/debian/virtdiag_*.deb "$target_dir"/generate-rpm/virtdiag-*.rpm
