#!/bin/sh
# Regenerates the Ent client from ./schema. The generator needs modules the
# library itself never imports (golang.org/x/tools, cobra, ...), so it runs
# in a scratch copy of the module instead of adding them to go.mod.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
rel=${here#"$root"/}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/$rel"
cp -r "$here/schema" "$tmp/$rel/"
cp "$here/../template/hydracache.tmpl" "$tmp/hydracache.tmpl"
cat > "$tmp/go.mod" <<MOD
module github.com/hydracache/hydracache

go 1.26

require (
	entgo.io/ent v0.14.5
	github.com/google/uuid v1.3.0
)
MOD
cd "$tmp"
GOFLAGS=-mod=mod go run entgo.io/ent/cmd/ent@v0.14.5 generate \
	--feature sql/upsert,sql/lock,sql/execquery \
	--template "$tmp/hydracache.tmpl" ./"$rel"/schema
find "$tmp/$rel" -name '*.go' ! -path '*/schema/*' | while read -r f; do
	dst="$here/${f#"$tmp/$rel"/}"
	mkdir -p "$(dirname "$dst")"
	cp "$f" "$dst"
done
