#!/usr/bin/env bash
# The man pages: packaging/man/*.scd are the sources, the pages next to them
# (virtdiag.8, virtdiag.toml.5, virtdiag-protocol.7) are generated with scdoc
# and committed, so that packaging needs no scdoc.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: packaging/man/generate.sh [--check]

  (no option)  regenerate the man pages from their .scd sources
  --check      regenerate into a temporary folder and fail (exit 1), naming the
               pages, when a committed page differs from its source
Needs scdoc (Debian package scdoc).
USAGE
}

# The date the pages carry: change it when the pages change for a release.
MAN_DATE=2026-11-23

check=no
case "${1:-}" in
	"") ;;
	--check) check=yes ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 64 ;;
esac

command -v scdoc >/dev/null || { echo "generate.sh: scdoc not found (apt-get install scdoc)" >&2; exit 69; }

dir=$(cd "$(dirname "$0")" && pwd)
SOURCE_DATE_EPOCH=$(date -u -d "$MAN_DATE" +%s)
export SOURCE_DATE_EPOCH
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

stale=0
for src in "$dir"/*.scd; do
	page=$(basename "$src" .scd)
	scdoc <"$src" >"$tmp/$page"
	if [ "$check" = yes ]; then
		# The first line names the scdoc version; another scdoc may differ there only.
		if ! cmp -s <(sed 1d "$tmp/$page") <(sed 1d "$dir/$page" 2>/dev/null); then
			echo "stale: packaging/man/$page differs from packaging/man/$page.scd (run packaging/man/generate.sh)"
			stale=1
		else
			echo "fresh: packaging/man/$page"
		fi
	else
		cp "$tmp/$page" "$dir/$page"
		echo "wrote packaging/man/$page"
	fi
done
exit "$stale"
