#!/usr/bin/env bash
# Memory soak (`make soak`): SOAK_DURATION (default 10m) of mixed traffic —
# portal pages as a signed-in owner, entitlement checks, usage reports and
# signed Stripe webhook events — against one `bin/entitle serve` on a fresh
# demo database (entitle_soak on the same server), sampling the server's
# resident memory every SOAK_SAMPLE (default 30s); prints the samples, the
# peak against 64 MiB and whether the last quarter is level with the first.
set -euo pipefail
# shellcheck source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"
cd "$repo_dir"
go build -o bin/entitle ./cmd/entitle
export DATABASE_URL="${DATABASE_URL:-$(scripts/ensure-db.sh entitle)}"
exec go run ./scripts/soak -d "${SOAK_DURATION:-10m}" -sample "${SOAK_SAMPLE:-30s}"
