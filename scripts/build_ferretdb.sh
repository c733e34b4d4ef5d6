#!/usr/bin/env bash
# Builds FerretDB 1.24 (SQLite backend) into .tools/bin/ferretdb from the Go module proxy.
#
# `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` builds a binary that panics at
# start: the module ships without build/version/version.txt, which FerretDB's own build
# generates. So the module source is copied into .tools/, the file is written as FerretDB's
# documentation says, and the binary is built from there. -checklinkname=0 because Go >= 1.23
# refuses one of its dependencies' linkname uses.
set -euo pipefail
version=v1.24.2
root=$(cd "$(dirname "$0")/.." && pwd)
binary="$root/.tools/bin/ferretdb"
# The version is read whole, never piped into `head` or `grep -q`: those close the pipe early,
# the binary dies of SIGPIPE, and under pipefail the script fails with 141.
installed_version() { [ -x "$binary" ] && "$binary" --version 2>/dev/null || true; }
if [[ "$(installed_version)" == *"version: $version"* ]]; then
  exit 0
fi
command -v go >/dev/null || { echo "Go is needed to build FerretDB (https://go.dev/doc/install)" >&2; exit 1; }
module_dir=$(cd "$root" && GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$version" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
source_dir="$root/.tools/ferretdb-src"
rm -rf "$source_dir"
mkdir -p "$root/.tools/bin"
cp -r "$module_dir" "$source_dir"
chmod -R u+w "$source_dir"
echo "$version" > "$source_dir/build/version/version.txt"
(cd "$source_dir" && CGO_ENABLED=0 go build -trimpath -ldflags=-checklinkname=0 -o "$binary" ./cmd/ferretdb)
built=$(installed_version)
[[ "$built" == *"version: $version"* ]] || { echo "built FerretDB does not report $version" >&2; exit 1; }
echo "built FerretDB $version"
