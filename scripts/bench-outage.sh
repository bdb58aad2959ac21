#!/usr/bin/env bash
# Checks through a database outage (`make bench` runs it): a private
# PostgreSQL cluster with the demo data, one instance that has loaded every
# account, checks of a loaded account over loopback HTTP (32 in flight) for
# BENCH_SECONDS (default 4) before and during `pg_ctl -m immediate stop`.
# Prints both rates, their ratio (target: the same rate, 1.0×) and every
# answer that was not a 200 (target: none). Alone: scripts/bench-outage.sh
set -euo pipefail
# shellcheck source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"
cd "$repo_dir"
out=$(go test ./web -run '^$' -bench 'ChecksDuringADatabaseOutage' -benchtime "${BENCH_SECONDS:-4}s" -count 1 2>&1) || {
  printf '%s\n' "$out"
  die "the outage benchmark failed"
}
printf '%s\n' "$out" | grep -E '^Benchmark'
printf '%s\n' "$out" | awk '
  /ChecksDuringADatabaseOutage\/before/ { for (i = 1; i < NF; i++) if ($(i+1) == "checks/s") before = $i }
  /ChecksDuringADatabaseOutage\/during/ { for (i = 1; i < NF; i++) { if ($(i+1) == "checks/s") during = $i; if ($(i+1) == "not-200") bad = $i } }
  END {
    if (before == "" || during == "") { print "no figures"; exit 1 }
    printf "checks of a loaded account: %.0f/s before the outage, %.0f/s during it (%.2f×; target 1.0×), %d answers not 200 during it (target 0)\n", before, during, during / before, bad
  }'
