#!/usr/bin/env bash
# The Go SDK against a real server: p50/p99 from a committed change (seat,
# grant, plan) to an SDK client's in-process answer, over BENCH_CHANGES
# (default 150) changes, and the heap the SDK holds for BENCH_ACCOUNTS
# (default 10,000) accounts' verified states. The in-process check itself:
# go test ./sdk/entitle -run '^$' -bench Check -benchmem
# Run by `make bench`; alone: DATABASE_URL=... scripts/bench-sdk.sh
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"
cd "$repo_dir"
go build -o bin/entitle ./cmd/entitle
export DATABASE_URL="${DATABASE_URL:-$(scripts/ensure-db.sh entitle)}"
exec go run ./scripts/benchsdk -n "${BENCH_CHANGES:-150}" -accounts "${BENCH_ACCOUNTS:-10000}"
