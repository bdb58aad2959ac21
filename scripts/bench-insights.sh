#!/usr/bin/env bash
# Benchmark: the insights page of an account with 10,000 members and 90 days
# of history, against /healthz in the same run, then /metrics scraped on its
# own address while entitlement checks run. Seeds a fresh database
# (entitle_bench_insights on the same server) with benchmembers' 10,000
# members and the demo's 90 days of snapshots, spreads seats' last use over
# 120 days, starts `bin/entitle serve` on free loopback ports and loads
# each target for BENCH_DURATION (default 3s), beside a bare net/http
# /healthz and the portal's own, with the issue's target per row.
set -euo pipefail
# shellcheck source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"
cd "$repo_dir"

base_url=${DATABASE_URL:-$(scripts/ensure-db.sh entitle)}
bench_url=$(printf '%s' "$base_url" | sed -E 's#^(postgres(ql)?://[^/]+/)[^?]*#\1entitle_bench_insights#')
go build -o bin/entitle ./cmd/entitle
go build -o bin/bench-members ./scripts/benchmembers
go build -o bin/bench-insights ./scripts/benchinsights
log "seeding 10,000 members and 90 days of history into entitle_bench_insights"
bin/bench-members prepare -db "$bench_url" -members 10000 >/dev/null
bin/bench-insights seed -db "$bench_url"
token=$(DATABASE_URL="$bench_url" bin/entitle apikeys create globex --name bench --scopes check | sed -n 1p)  # sed reads it all: no SIGPIPE under pipefail
port=$(bin/bench-members freeport)
mport=$(bin/bench-members freeport)
DATABASE_URL="$bench_url" ADDR="127.0.0.1:$port" METRICS_ADDR="127.0.0.1:$mport" PUBLIC_URL="http://127.0.0.1:$port" LOG_LEVEL=warn \
  API_RATE_LIMIT=0 SESSION_SECRET="bench-insights-secret-bench-insights-secret" bin/entitle serve &
server=$!
start_bare_healthz
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; stop_bare_healthz' EXIT
for _ in $(seq 1 50); do
  tcp_open 127.0.0.1 "$port" && break
  sleep 0.2
done
tcp_open 127.0.0.1 "$port" || die "the portal did not start on 127.0.0.1:$port"
bin/bench-insights load -url "http://127.0.0.1:$port" -metrics "http://127.0.0.1:$mport/metrics" \
  -check "http://127.0.0.1:$port/api/v1/accounts/globex/entitlements/dashboards?user=user2@globex.test" -token "$token" \
  -duration "${BENCH_DURATION:-3s}" -concurrency "${BENCH_CONCURRENCY:-4}"
