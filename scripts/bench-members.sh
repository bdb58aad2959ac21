#!/usr/bin/env bash
# Benchmark: the members page of an account with 10,000 members, against
# /healthz in the same run. Seeds a fresh database (entitle_bench_members on
# the same server), starts `bin/entitle serve` on a free loopback port, signs
# in as the Globex owner and loads each target for BENCH_DURATION (default
# 3s) with BENCH_CONCURRENCY requests in flight (default 8). Prints req/s,
# p50/p95/p99 per target beside a bare net/http /healthz and the portal's own, with
# the issue's target per row. ~30 s.
set -euo pipefail
# shellcheck source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"
cd "$repo_dir"

base_url=${DATABASE_URL:-$(scripts/ensure-db.sh entitle)}
bench_url=$(printf '%s' "$base_url" | sed -E 's#^(postgres(ql)?://[^/]+/)[^?]*#\1entitle_bench_members#')
go build -o bin/entitle ./cmd/entitle
go build -o bin/bench-members ./scripts/benchmembers

log "seeding 10,000 members into entitle_bench_members"
bin/bench-members prepare -db "$bench_url" -members "${BENCH_MEMBERS:-10000}"

port=$(bin/bench-members freeport)
DATABASE_URL="$bench_url" ADDR="127.0.0.1:$port" PUBLIC_URL="http://127.0.0.1:$port" LOG_LEVEL=warn \
  SESSION_SECRET="bench-members-secret-bench-members-secret" bin/entitle serve &
server=$!
start_bare_healthz
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; stop_bare_healthz' EXIT
for _ in $(seq 1 50); do
  tcp_open 127.0.0.1 "$port" && break
  sleep 0.2
done
tcp_open 127.0.0.1 "$port" || die "the portal did not start on 127.0.0.1:$port"

bin/bench-members load -url "http://127.0.0.1:$port" -duration "${BENCH_DURATION:-3s}" -concurrency "${BENCH_CONCURRENCY:-8}"
