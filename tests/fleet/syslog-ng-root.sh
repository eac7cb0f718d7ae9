#!/usr/bin/env bash
# Unpacks syslog-ng from Debian's .deb files into a private root and prints its path.
# Debian's syslog-ng-core conflicts with rsyslog, which the other shipper tests need,
# so it is never installed: `apt-get download` fetches it and the libraries it needs,
# `dpkg -x` unpacks them. Run it from the unpacked root with
#   LD_LIBRARY_PATH=ROOT/lib/x86_64-linux-gnu:ROOT/usr/lib/x86_64-linux-gnu:ROOT/usr/lib/syslog-ng \
#     ROOT/usr/sbin/syslog-ng --module-path=ROOT/usr/lib/syslog-ng/3.38 ...
# Usage: tests/fleet/syslog-ng-root.sh [ROOT]   (default target/syslog-ng-root)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(realpath -m "${1:-target/syslog-ng-root}")
packages=(syslog-ng-core libivykis0 libnet1 libpcre3 libwrap0)
if [ -x "$root/usr/sbin/syslog-ng" ]; then
  echo "$root"
  exit 0
fi
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
if ! (cd "$debs" && apt-get download -q "${packages[@]}" >/dev/null 2>&1); then
  apt-get update -q >/dev/null
  (cd "$debs" && apt-get download -q "${packages[@]}" >/dev/null)
fi
rm -rf "$root.partial"
mkdir -p "$root.partial"
for deb in "$debs"/*.deb; do
  dpkg -x "$deb" "$root.partial"
done
rm -rf "$root"
mv "$root.partial" "$root"
echo "$root"
