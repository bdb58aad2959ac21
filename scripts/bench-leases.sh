#!/usr/bin/env bash
# Benchmark: floating licence leases. Seeds the demo into a fresh database
# (entitle_bench_leases on the same server as DATABASE_URL), creates an API
# key, starts `bin/entitle serve` on a free loopback port and runs
# scripts/benchleases: lease heartbeats (each worker renews its own) and
# checkout + check-in cycles against GET /healthz in the same run, with
# rates and their ratio to /healthz. BENCH_DURATION (default 4s) per
# target, BENCH_CONNECTIONS (default 64: heartbeats come from many applications at once, and the group commit batches what arrives together). ~30 s.
set -euo pipefail
# shellcheck source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"
cd "$repo_dir"

base_url=${DATABASE_URL:-$(scripts/ensure-db.sh entitle)}
bench_url=$(printf '%s' "$base_url" | sed -E 's#^(postgres(ql)?://[^/]+/)[^?]*#\1entitle_bench_leases#')
go build -o bin/entitle ./cmd/entitle
go build -o bin/loadgen ./scripts/loadgen
go build -o bin/bench-members ./scripts/benchmembers
go build -o bin/bench-leases ./scripts/benchleases
bin/loadgen dropdb "$bench_url"
DATABASE_URL="$bench_url" bin/entitle demo seed >/dev/null
token=$(DATABASE_URL="$bench_url" bin/entitle apikeys create globex --name bench --scopes check | sed -n 1p)  # sed reads it all: no SIGPIPE under pipefail
port=$(bin/bench-members freeport)
DATABASE_URL="$bench_url" ADDR="127.0.0.1:$port" LOG_LEVEL=warn API_RATE_LIMIT=0 \
  SESSION_SECRET="bench-leases-secret-bench-leases-secret" bin/entitle serve &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; bin/loadgen dropdb "$bench_url" 2>/dev/null || true' EXIT
bin/loadgen wait "http://127.0.0.1:$port/healthz"
echo "== floating licence leases vs GET /healthz ($(nproc) CPUs)"
bin/bench-leases -db "$bench_url" -url "http://127.0.0.1:$port" -token "$token" \
  -c "${BENCH_CONNECTIONS:-64}" -d "${BENCH_DURATION:-4s}"
