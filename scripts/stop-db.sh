#!/usr/bin/env bash
# Usage: scripts/stop-db.sh
#
# Stops the private PostgreSQL cluster made by scripts/ensure-db.sh (in
# <repo>/.data/pg, or its /tmp/entitle-pg-<hash> fallback) if it runs; a
# no-op otherwise. It never touches any other PostgreSQL server. The data is
# kept: delete .data/pg afterwards to throw the cluster away.
#
# It signals the postmaster directly (SIGINT = "fast" shutdown, what
# `pg_ctl stop` does), so it needs neither pg_ctl nor to switch users.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR

# shellcheck source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"

stop_cluster() { # DATADIR
  local datadir=$1 pid i
  pid=$(pg_running_pid "$datadir") || return 0
  log "stopping the private cluster in $datadir (pid $pid)"
  kill -INT "$pid" 2>/dev/null ||
    die "could not signal pid $pid (owned by another user? try with sudo)"
  # Fast shutdown normally takes well under a second; allow 60 s.
  for ((i = 0; i < 600; i++)); do
    pid_alive "$pid" || break
    sleep 0.1
  done
  if pid_alive "$pid"; then
    log "still running after 60 s; sending SIGQUIT (immediate shutdown)"
    kill -QUIT "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      pid_alive "$pid" || break
      sleep 0.1
    done
    ! pid_alive "$pid" || die "pid $pid did not stop"
  fi
  log "stopped"
}

for base in "$pg_base_repo" "$pg_base_tmp"; do
  [[ -d $base/data ]] && stop_cluster "$base/data"
done
exit 0
