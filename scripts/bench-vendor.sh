#!/usr/bin/env bash
# Check speed with a vendor key (`make bench` runs it): seeds the demo data
# into a fresh database (entitle_bench_vendor), creates a vendor key with
# `bin/entitle apikeys create --vendor` and an account key for Globex, gives
# Globex an external id through the accounts API, starts `bin/entitle serve`
# on loopback and drives, in the same interleaved run with scripts/loadgen,
# GET /healthz (the baseline), a check with the vendor key naming Globex by
# ext:ID and by slug, and the same check with Globex's own key. The bar: a
# vendor key's check at 0.8x /healthz or better.
#
# BENCH_SECONDS (default 4) per target, BENCH_CONNECTIONS (default 32),
# BENCH_VENDOR_PORT (default 18117).
set -euo pipefail
# shellcheck source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"
cd "$repo_dir"

seconds=${BENCH_SECONDS:-4}
conns=${BENCH_CONNECTIONS:-32}
port=${BENCH_VENDOR_PORT:-18117}
base_url=${DATABASE_URL:-$(scripts/ensure-db.sh entitle)}
bench_db=$(printf '%s' "$base_url" | sed -E 's#^(postgres(ql)?://[^/]+)/[^?]*#\1/entitle_bench_vendor#')

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
vendor=$(bin/entitle apikeys create --vendor --name bench --scopes check,accounts:write | sed -n 1p)
account=$(bin/entitle apikeys create globex --name bench --scopes check | sed -n 1p)

ADDR=127.0.0.1:$port API_RATE_LIMIT=100000000 API_RATE_BURST=100000000 SESSION_SECRET=bench-secret-bench-secret-bench-secret \
  bin/entitle serve 2>"$workdir/server.log" &
server_pid=$!
bin/loadgen wait "http://127.0.0.1:$port/healthz"
api=http://127.0.0.1:$port/api/v1/accounts
curl -sS -f -X PATCH -H "Authorization: Bearer $vendor" -H 'Content-Type: application/json' \
  -d '{"external_id":"crm-4711"}' "$api/globex" >/dev/null || { cat "$workdir/server.log" >&2; die "could not set Globex's external id"; }

echo "== GET /healthz vs checks with a vendor key ($conns connections, ${seconds}s each, $(nproc) CPUs)"
bin/loadgen -c "$conns" -d "${seconds}s" -H "Authorization: Bearer $vendor" \
  healthz="http://127.0.0.1:$port/healthz" \
  vendor-ext="$api/ext:crm-4711/entitlements/exports" \
  vendor-slug="$api/globex/entitlements/exports"
echo "== the same check with Globex's own key, for comparison"
bin/loadgen -c "$conns" -d "${seconds}s" -H "Authorization: Bearer $account" \
  healthz="http://127.0.0.1:$port/healthz" \
  account-key="$api/globex/entitlements/exports"
