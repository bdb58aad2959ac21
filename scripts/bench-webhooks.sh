#!/usr/bin/env bash
# Stripe webhook throughput: signed events (20% duplicates, shuffled) posted
# to a running `bin/entitle serve` on loopback; prints deliveries accepted
# per second, events applied per second (until the inbox is drained) and
# /healthz requests per second as a baseline. Takes well under a minute.
# Run by `make bench`; alone: DATABASE_URL=... scripts/bench-webhooks.sh
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"
cd "$repo_dir"
[[ -x bin/entitle ]] || go build -o bin/entitle ./cmd/entitle
export DATABASE_URL="${DATABASE_URL:-$(scripts/ensure-db.sh entitle)}"
exec go run ./scripts/benchwebhooks -n "${BENCH_WEBHOOK_EVENTS:-3000}" -c "${BENCH_WEBHOOK_SENDERS:-8}"
