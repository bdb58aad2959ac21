#!/usr/bin/env bash
# Benchmark: an identity provider's initial import into one account over
# SCIM, as Okta does it: groups pushed empty (a rule per group), then for
# each of BENCH_SCIM_USERS people (default 10,000) an existence check and a
# create, then the group memberships in PATCHes of 100 members, with
# BENCH_SCIM_CONCURRENCY requests in flight (default 8). Seeds a fresh
# database (entitle_bench_scim on the same server) whose Globex buys 2,500
# seats, starts `bin/entitle serve` on a free loopback port, and prints
# requests per second, p50/p99 per request kind, and when the reconciler had
# settled every seat and waiting list. Run by `make bench`; alone:
# DATABASE_URL=... scripts/bench-scim.sh
set -euo pipefail
# shellcheck source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"
cd "$repo_dir"

base_url=${DATABASE_URL:-$(scripts/ensure-db.sh entitle)}
bench_url=$(printf '%s' "$base_url" | sed -E 's#^(postgres(ql)?://[^/]+/)[^?]*#\1entitle_bench_scim#')
go build -o bin/entitle ./cmd/entitle
go build -o bin/bench-scim ./scripts/benchscim

log "seeding entitle_bench_scim"
token=$(bin/bench-scim prepare -db "$bench_url")

# Metrics stay off unless METRICS_ADDR is given: the default port would
# collide with another bench or server on the machine.
port=$(bin/bench-scim freeport)
DATABASE_URL="$bench_url" ADDR="127.0.0.1:$port" METRICS_ADDR=${METRICS_ADDR:-} PUBLIC_URL="http://127.0.0.1:$port" LOG_LEVEL=warn \
  SESSION_SECRET="bench-scim-secret-bench-scim-secret-0000" bin/entitle serve &
server=$!
start_bare_healthz
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; stop_bare_healthz' EXIT
for _ in $(seq 1 50); do
  tcp_open 127.0.0.1 "$port" && break
  sleep 0.2
done
tcp_open 127.0.0.1 "$port" || die "the portal did not start on 127.0.0.1:$port"

bin/bench-scim import -url "http://127.0.0.1:$port" -db "$bench_url" -token "$token" \
  -users "${BENCH_SCIM_USERS:-10000}" -concurrency "${BENCH_SCIM_CONCURRENCY:-8}"
