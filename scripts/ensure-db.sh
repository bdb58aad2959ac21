#!/usr/bin/env bash
# Usage: scripts/ensure-db.sh [DBNAME]
#
# Prints ONE line on stdout: a lib/pq URL for database DBNAME (default
# "entitle"). All messages go to stderr. The database itself is not created
# (the Go program creates it when missing). In order:
#
#   1. $DATABASE_URL, when set, is printed unchanged (DBNAME is ignored).
#   2. If something accepts TCP connections on 127.0.0.1:5432 (override the
#      probed address with ENTITLE_PG_PROBE=host:port), that server is used
#      as user postgres: postgres://postgres@HOST:PORT/DBNAME?sslmode=disable
#   3. Otherwise a private throwaway cluster (trust auth, fsync off) is
#      created / started under <repo>/.data/pg, listening on 127.0.0.1 port
#      $ENTITLE_PG_PORT (default 55432). PostgreSQL's binaries come from PATH
#      or /usr/lib/postgresql/*/bin, and Debian's "postgresql" package is
#      installed when there are none. As root, the cluster is owned and run by
#      the "postgres" system user (else a system user "entitle-pg" is created;
#      ENTITLE_PG_USER overrides). When that user cannot reach the repo (e.g.
#      it lives under /root), the cluster goes to /tmp/entitle-pg-<hash>.
#      Stop it with scripts/stop-db.sh; delete .data/pg to throw it away.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR

# shellcheck source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"

dbname=${1:-entitle}
[[ -n $dbname ]] || die "DBNAME must not be empty"

# Percent-encode a URL path component (byte-wise).
urlencode() {
  local LC_ALL=C s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}

print_url() { # HOST PORT
  printf 'postgres://postgres@%s:%s/%s?sslmode=disable\n' "$1" "$2" "$(urlencode "$dbname")"
}

valid_port() { [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); }

# --- 1. explicit DATABASE_URL ------------------------------------------------
if [[ -n ${DATABASE_URL:-} ]]; then
  printf '%s\n' "$DATABASE_URL"
  exit 0
fi

# --- 2. a server already listening -------------------------------------------
probe=${ENTITLE_PG_PROBE:-127.0.0.1:5432}
probe_host=${probe%:*}
probe_port=${probe##*:}
if [[ $probe != *:* || -z $probe_host ]] || ! valid_port "$probe_port"; then
  die "ENTITLE_PG_PROBE must be host:port, got '$probe'"
fi
if tcp_open "$probe_host" "$probe_port"; then
  log "using the PostgreSQL server on $probe_host:$probe_port"
  print_url "$probe_host" "$probe_port"
  exit 0
fi

# --- 3. private throwaway cluster --------------------------------------------
port=${ENTITLE_PG_PORT:-55432}
valid_port "$port" || die "ENTITLE_PG_PORT must be a TCP port number, got '$port'"
port=$((10#$port))
log "nothing listens on $probe_host:$probe_port; using a private cluster on 127.0.0.1:$port"

# existing_base — print the base dir of an initialised private cluster.
existing_base() {
  local b
  for b in "$pg_base_repo" "$pg_base_tmp"; do
    if [[ -f $b/data/PG_VERSION ]]; then
      printf '%s\n' "$b"
      return 0
    fi
  done
  return 1
}

# try_running BASE — if the cluster in BASE runs and accepts connections,
# print its URL and exit. Waits up to $2 seconds (default 0) for the port.
try_running() {
  local base=$1 wait=${2:-0} run_port i
  pg_running_pid "$base/data" >/dev/null || return 0
  run_port=$(pg_pid_port "$base/data")
  valid_port "$run_port" || return 0
  for ((i = 0; i <= wait * 4; i++)); do
    if tcp_open 127.0.0.1 "$run_port"; then
      if [[ $run_port != "$port" ]]; then
        log "warning: the private cluster already runs on port $run_port, not $port;" \
          "using it (run scripts/stop-db.sh to restart it on $port)"
      fi
      log "reusing the running private cluster in $base"
      print_url 127.0.0.1 "$run_port"
      exit 0
    fi
    ((i < wait * 4)) && sleep 0.25
  done
  return 0
}

# Fast path: the cluster already runs.
if base=$(existing_base); then
  try_running "$base"
fi

# Slow path, serialised so that parallel callers don't race on initdb/start.
mkdir -p -- "$repo_dir/.data"
lock_file="$repo_dir/.data/.pg.lock"
if { [[ -e $lock_file ]] || : >"$lock_file"; } 2>/dev/null && exec 9<"$lock_file" && command -v flock >/dev/null 2>&1; then
  flock -w 300 9 || die "timed out waiting for $lock_file (another ensure-db.sh is stuck?)"
fi

base=$(existing_base) || base=''
if [[ -n $base ]]; then
  try_running "$base" 10 # it may have been started by whoever held the lock
fi

# --- PostgreSQL binaries -------------------------------------------------------
pg_major() { # major version printed by a pg_ctl binary
  "$1" --version 2>/dev/null | sed -n 's/^[^0-9]*\([0-9][0-9]*\).*/\1/p' | head -n1
}

# find_pg_bin [MAJOR] — set initdb_bin/pg_ctl_bin (PATH first, then the
# newest /usr/lib/postgresql/*/bin); with MAJOR, only that major version.
find_pg_bin() {
  local want=${1:-} d
  local -a dirs=()
  initdb_bin='' pg_ctl_bin=''
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    if [[ -z $want || $(pg_major "$(command -v pg_ctl)") == "$want" ]]; then
      initdb_bin=$(command -v initdb)
      pg_ctl_bin=$(command -v pg_ctl)
      return 0
    fi
  fi
  if [[ -n $want ]]; then
    dirs=("/usr/lib/postgresql/$want/bin")
  elif compgen -G '/usr/lib/postgresql/*/bin' >/dev/null; then
    mapfile -t dirs < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
  fi
  for d in "${dirs[@]}"; do
    if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
      initdb_bin=$d/initdb
      pg_ctl_bin=$d/pg_ctl
      return 0
    fi
  done
  return 1
}

# Install Debian's server package without letting it create (and start) its
# own "main" cluster: only the binaries are wanted, and a package cluster on
# 5432 (peer/scram auth) would otherwise be picked up by step 2 next time.
install_postgresql() {
  local dir=/etc/postgresql-common/createcluster.d
  local dropin=$dir/zz-entitle-no-main-cluster.conf cleanup
  log "PostgreSQL server binaries (initdb, pg_ctl) not found; installing Debian's postgresql package"
  cleanup="rm -f '$dropin'"
  [[ -d $dir ]] || cleanup+=" && rmdir '$dir'"
  as_root mkdir -p "$dir"
  printf '# temporary, written by %s\ncreate_main_cluster = false\n' "$0" |
    as_root tee "$dropin" >/dev/null
  # shellcheck disable=SC2064 # expand $cleanup now
  trap "as_root sh -c \"$cleanup\" || true" EXIT
  apt_install postgresql
  as_root sh -c "$cleanup" || true
  trap - EXIT
}

want_major=''
if [[ -n $base ]]; then
  want_major=$(cat "$base/data/PG_VERSION")
fi
if ! find_pg_bin "$want_major"; then
  if [[ -n $want_major ]] && find_pg_bin; then
    die "the private cluster in $base/data is PostgreSQL $want_major, but only" \
      "$(pg_major "$pg_ctl_bin") binaries are installed; it is throwaway:" \
      "run scripts/stop-db.sh, delete $base and rerun"
  fi
  install_postgresql
  find_pg_bin "$want_major" || die "PostgreSQL binaries still not found after installing postgresql"
fi

# --- the user that owns and runs the cluster -------------------------------------
pg_user=''
if [[ $EUID -eq 0 ]]; then
  if [[ -n $base ]]; then
    pg_user=$(stat -c %U -- "$base/data")
    [[ $pg_user != root && $pg_user != UNKNOWN ]] ||
      die "$base/data is owned by '$pg_user'; delete $base and rerun"
  elif [[ -n ${ENTITLE_PG_USER:-} ]]; then
    pg_user=$ENTITLE_PG_USER
  elif id -u postgres >/dev/null 2>&1; then
    pg_user=postgres
  else
    pg_user=entitle-pg
  fi
  if ! id -u "$pg_user" >/dev/null 2>&1; then
    log "creating system user '$pg_user' to run the private cluster (initdb refuses root)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$pg_user" ||
      die "could not create user '$pg_user'"
  fi
  [[ $(id -u "$pg_user") -ne 0 ]] || die "ENTITLE_PG_USER must not be root"
fi

# as_pg CMD... — run CMD as the cluster's user, from / (the caller's cwd may
# be unreadable to that user), without the lock fd (a postmaster inheriting
# it would hold the lock for as long as it runs).
as_pg() {
  if [[ -z $pg_user ]]; then
    (cd / && "$@") 9<&-
  elif command -v runuser >/dev/null 2>&1; then
    (cd / && runuser -u "$pg_user" -- "$@") 9<&-
  else
    (cd / && su -s /bin/bash "$pg_user" -c "$(printf '%q ' "$@")") 9<&-
  fi
}

# --- where the cluster lives ----------------------------------------------------
if [[ -z $base ]]; then
  base=$pg_base_repo
  if [[ -n $pg_user ]]; then
    if ! as_pg test -x "$repo_dir" 2>/dev/null; then
      base=$pg_base_tmp
      log "user '$pg_user' cannot reach $repo_dir (a parent directory is not" \
        "traversable, e.g. /root); putting the private cluster in $base instead"
    elif ! as_pg test -x "$repo_dir/.data" 2>/dev/null; then
      log "making $repo_dir/.data traversable for user '$pg_user'"
      chmod a+x -- "$repo_dir/.data"
    fi
  fi
fi
if [[ $base == "$pg_base_tmp" && -e $base ]]; then
  # /tmp is shared: only reuse a directory that is ours.
  [[ ! -L $base ]] || die "$base is a symlink; remove it and rerun"
  owner=$(stat -c %U -- "$base")
  [[ $owner == "${pg_user:-$(id -un)}" || $owner == root ]] ||
    die "$base belongs to '$owner'; remove it and rerun"
fi
mkdir -p -- "$base"
chmod 700 -- "$base"

datadir=$base/data
logfile=$base/postgres.log
sockdir=$base/run
# Unix socket paths are limited to 107 bytes.
if ((${#sockdir} + ${#port} + 10 > 107)); then
  sockdir="/tmp/entitle-pg-$(repo_hash).run"
  log "the path of $base is too long for a Unix socket; socket dir is $sockdir"
fi
mkdir -p -- "$sockdir"
chmod 700 -- "$sockdir"
if [[ -n $pg_user ]]; then
  chown -- "$pg_user:" "$base" "$sockdir"
fi

# --- initdb ------------------------------------------------------------------------
if [[ ! -f $datadir/PG_VERSION ]]; then
  log "creating a private PostgreSQL $(pg_major "$pg_ctl_bin") cluster in $datadir"
  rm -rf -- "$datadir.tmp" "$datadir"
  # initdb into a temporary dir, so an interrupted initdb never leaves a
  # half-made cluster behind.
  if ! as_pg "$initdb_bin" -D "$datadir.tmp" --auth=trust --username=postgres \
    -E UTF8 --locale=C --no-sync >"$base/initdb.log" 2>&1; then
    cat -- "$base/initdb.log" >&2
    die "initdb failed (log above, also in $base/initdb.log)"
  fi
  mv -- "$datadir.tmp" "$datadir"
fi

# --- start ---------------------------------------------------------------------------
try_running "$base" 10
if pg_running_pid "$datadir" >/dev/null; then
  die "the private cluster in $datadir runs but does not accept connections;" \
    "see $logfile, or run scripts/stop-db.sh and retry"
fi
# Not running: anything left behind by a crash or reboot is stale.
if [[ -e $datadir/postmaster.pid ]]; then
  log "removing stale $datadir/postmaster.pid"
  rm -f -- "$datadir/postmaster.pid"
fi
rm -f -- "$sockdir"/.s.PGSQL.*
if tcp_open 127.0.0.1 "$port"; then
  die "port $port on 127.0.0.1 is taken by another program; set ENTITLE_PG_PORT to a free port"
fi

log "starting the private cluster on 127.0.0.1:$port (log: $logfile)"
opts="-p $port -k $(printf '%q' "$sockdir") -c listen_addresses=127.0.0.1"
opts+=" -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
if ! as_pg "$pg_ctl_bin" start -D "$datadir" -w -t 60 -l "$logfile" -o "$opts" >&2; then
  if [[ -r $logfile ]]; then
    log "last lines of $logfile:"
    tail -n 20 -- "$logfile" >&2
  fi
  die "could not start the private cluster"
fi
tcp_open 127.0.0.1 "$port" ||
  die "the private cluster started but 127.0.0.1:$port does not accept connections; see $logfile"
print_url 127.0.0.1 "$port"
