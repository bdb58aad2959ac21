#!/usr/bin/env bash
# Fails when the committed *_templ.go files are not what `templ generate`
# makes from the *.templ files: regenerate into a scratch copy and compare.
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r views "$scratch/views"
go tool templ generate -path "$scratch/views" >/dev/null 2>&1
if ! diff -r views "$scratch/views" >/dev/null; then
  echo "generated templ code is stale: run 'go tool templ generate -path views' and commit the result" >&2
  diff -r views "$scratch/views" | head -20 >&2
  exit 1
fi
