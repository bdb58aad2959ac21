#!/usr/bin/env bash
# Outbound webhook throughput (`make bench` runs it): seeds the demo data
# into a fresh database (entitle_bench_outbound), starts `bin/entitle serve`
# on loopback (WEBHOOKS_ALLOW_INSECURE, so it may deliver to loopback over
# http), then scripts/benchoutbound registers an endpoint on a receiver that
# verifies every signature, queues a backlog of events and prints events
# delivered per second (target: 1,000/s or more) next to /healthz requests
# per second measured just before.
#
# BENCH_OUTBOUND_EVENTS (default 5000), BENCH_OUTBOUND_PORT (default 18116).
set -euo pipefail
# shellcheck source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"
cd "$repo_dir"

port=${BENCH_OUTBOUND_PORT:-18116}
base_url=${DATABASE_URL:-$(scripts/ensure-db.sh entitle)}
bench_db=$(printf '%s' "$base_url" | sed -E 's#^(postgres(ql)?://[^/]+)/[^?]*#\1/entitle_bench_outbound#')

log "building bin/entitle, bin/loadgen and bin/benchoutbound"
go build -o bin/entitle ./cmd/entitle
go build -o bin/loadgen ./scripts/loadgen
go build -o bin/benchoutbound ./scripts/benchoutbound

workdir=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  bin/loadgen dropdb "$bench_db" 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT

log "fresh database ${bench_db%%\?*}"
bin/loadgen dropdb "$bench_db"
export DATABASE_URL=$bench_db
bin/entitle demo seed >/dev/null

ADDR=127.0.0.1:$port WEBHOOKS_ALLOW_INSECURE=true SESSION_SECRET=bench-secret-bench-secret-bench-secret \
  bin/entitle serve 2>"$workdir/server.log" &
server_pid=$!
bin/loadgen wait "http://127.0.0.1:$port/healthz"

echo "== outbound webhooks: a backlog delivered by serve's dispatcher to a verifying receiver ($(nproc) CPUs)"
bin/benchoutbound -n "${BENCH_OUTBOUND_EVENTS:-5000}" -healthz "http://127.0.0.1:$port/healthz"
