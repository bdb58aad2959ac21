#!/usr/bin/env bash
# Change propagation: p50/p99 from a change's commit to the check that shows
# it, on the instance that made the change and on a second instance (which
# hears of it through NOTIFY), over BENCH_CHANGES (default 200) changes.
# Tests only wait for changes to show; how fast is measured here.
# Run by `make bench`; alone: DATABASE_URL=... scripts/bench-propagation.sh
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"
cd "$repo_dir"
go build -o bin/entitle ./cmd/entitle
export DATABASE_URL="${DATABASE_URL:-$(scripts/ensure-db.sh entitle)}"
exec go run ./scripts/benchpropagation -n "${BENCH_CHANGES:-200}"
