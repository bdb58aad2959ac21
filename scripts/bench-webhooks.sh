#!/usr/bin/env bash
# Stripe webhook throughput: signed events (20% duplicates, shuffled) posted
# to a running `bin/entitle serve` on loopback; prints deliveries accepted
# per second and events applied per second (until the inbox is drained),
# beside a bare net/http /healthz and the portal's own /healthz measured in
# the same run, with the issue's target. Takes well under a minute.
# Run by `make bench`; alone: DATABASE_URL=... scripts/bench-webhooks.sh
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"
cd "$repo_dir"
go build -o bin/entitle ./cmd/entitle
go build -o bin/bench-webhooks ./scripts/benchwebhooks
export DATABASE_URL="${DATABASE_URL:-$(scripts/ensure-db.sh entitle)}"
start_bare_healthz
trap stop_bare_healthz EXIT
bin/bench-webhooks -n "${BENCH_WEBHOOK_EVENTS:-3000}" -c "${BENCH_WEBHOOK_SENDERS:-8}"
