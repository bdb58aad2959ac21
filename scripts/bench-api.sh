#!/usr/bin/env bash
# Load test of the entitlement API's hot path (`make bench` runs it).
#
# Seeds the demo data into a fresh database (entitle_bench on the same
# server as DATABASE_URL), creates an API key with `bin/entitle apikeys
# create`, starts `bin/entitle serve` on a loopback port, and drives
# a bare net/http /healthz (scripts/barehealthz, the fixed reference), the
# portal's own GET /healthz and GET /api/v1/accounts/globex/entitlements/
# {feature} in the same interleaved run with scripts/loadgen at 32
# connections, printing requests per second, p50/p95/p99 latency, their
# ratios to both /healthz and the issue's target beside each row; the
# metered check runs a second time with usage reported every 50 ms (each
# report is added to the account's cached state, which must not cost a reload).
# Then a soak of
# checks with reports samples the server's resident memory, to show it
# stays flat.
#
# BENCH_SECONDS (default 4) per target, SOAK_SECONDS (default 15),
# BENCH_CONNECTIONS (default 32), BENCH_PORT (default 18090).
set -euo pipefail
# shellcheck source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"
cd "$repo_dir"

seconds=${BENCH_SECONDS:-4}
soak=${SOAK_SECONDS:-15}
conns=${BENCH_CONNECTIONS:-32}
port=${BENCH_PORT:-18090}
base_url=${DATABASE_URL:-$(scripts/ensure-db.sh entitle)}
# Same server, database entitle_bench (query string kept).
bench_db=$(printf '%s' "$base_url" | sed -E 's#^(postgres(ql)?://[^/]+)/[^?]*#\1/entitle_bench#')

log "building bin/entitle and bin/loadgen"
go build -o bin/entitle ./cmd/entitle
go build -o bin/loadgen ./scripts/loadgen
start_bare_healthz

workdir=$(mktemp -d)
server_pid=
cleanup() {
  stop_bare_healthz
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  bin/loadgen dropdb "$bench_db" 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT

log "fresh database ${bench_db%%\?*}"
bin/loadgen dropdb "$bench_db"
export DATABASE_URL=$bench_db
bin/entitle demo seed >/dev/null
token=$(bin/entitle apikeys create globex --name bench --scopes check,usage | sed -n 1p)  # sed reads it all: no SIGPIPE under pipefail

# The limiter stays in the path, set far above what the machine can do.
# Metrics stay off unless METRICS_ADDR is given: the default port would
# collide with any other server on the machine.
ADDR=127.0.0.1:$port METRICS_ADDR=${METRICS_ADDR:-} API_RATE_LIMIT=100000000 API_RATE_BURST=100000000 SESSION_SECRET=bench-secret-bench-secret-bench-secret \
  bin/entitle serve 2>"$workdir/server.log" &
server_pid=$!
bin/loadgen wait "http://127.0.0.1:$port/healthz"

api=http://127.0.0.1:$port/api/v1/accounts/globex
bin/loadgen -c "$conns" -d "${seconds}s" -rounds 4 -H "Authorization: Bearer $token" \
  -title "entitlement checks over HTTP, $conns connections, ${seconds}s per target" \
  -post-url "$api/usage" -post-body '{"feature":"api_calls","quantity":1}' -post-every 50ms -post-during check-metered+usage \
  -goal check=bare:0.85,p99bare:1ms -goal check-user=bare:0.85,p99bare:1ms -goal check-metered=bare:0.85,p99bare:1ms \
  -goal check-metered+usage=of:check-metered:0.90 \
  healthz="http://127.0.0.1:$port/healthz" \
  check="$api/entitlements/exports" \
  check-user="$api/entitlements/dashboards?user=alice@globex.test" \
  check-metered="$api/entitlements/api_calls" \
  check-metered+usage="$api/entitlements/api_calls"

echo "== soak: ${soak}s of checks while usage is reported every 50 ms"
bin/loadgen -c "$conns" -d "${soak}s" -warmup 0 -rounds 1 -bare none -title "soak: checks with usage reports" -pid "$server_pid" -sample 5s -H "Authorization: Bearer $token" \
  -post-url "$api/usage" -post-body '{"feature":"api_calls","quantity":1}' -post-every 50ms \
  check-metered="$api/entitlements/api_calls"
