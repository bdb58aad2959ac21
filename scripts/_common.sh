# shellcheck shell=bash
# Helpers shared by the scripts in this directory. Source it, don't run it.
# Everything here writes to stderr only: stdout belongs to the calling script.

# Name shown in messages: the calling script's file name.
_script_name=$(basename -- "$0")

log() { printf '%s: %s\n' "$_script_name" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$_script_name" "$*" >&2
  exit 1
}

# Repository root: the parent of this scripts directory (symlinks resolved).
scripts_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
repo_dir=$(dirname -- "$scripts_dir")

# as_root CMD... — run CMD as root (directly when root, else through sudo).
# sudo only prompts for a password when stdin is a terminal; otherwise it
# fails at once instead of hanging (CI has no stdin).
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    if [[ -t 0 ]]; then
      sudo -- "$@"
    else
      sudo -n -- "$@"
    fi
  else
    die "need root to run '$*', but not root and sudo is not installed"
  fi
}

# apt_install PKG... — apt-get update (once per script run) + install from
# Debian's archive, non-interactively. apt's own output goes to stderr.
_apt_updated=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 ||
    die "apt-get not found: install $* with your system's package manager"
  local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
  if [[ $_apt_updated -eq 0 ]]; then
    log "running apt-get update"
    as_root "${apt[@]}" update -q >&2 || die "apt-get update failed"
    _apt_updated=1
  fi
  log "installing Debian package(s): $*"
  as_root "${apt[@]}" install -y -q --no-install-recommends "$@" >&2 ||
    die "apt-get install $* failed"
}

# tcp_open HOST PORT — true when something accepts TCP connections there.
# Uses bash's /dev/tcp (no psql/pg_isready needed), bounded by a short timeout.
tcp_open() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# Short, stable hash of the repository path (for per-repo dirs under /tmp).
repo_hash() {
  printf '%s' "$repo_dir" | sha256sum | cut -c1-12
}

# Locations of the private PostgreSQL cluster. The normal one lives in the
# repo; the fallback (used when the repo is not reachable by the non-root
# user that has to own the cluster) lives under /tmp.
# shellcheck disable=SC2034 # used by the sourcing scripts
pg_base_repo="$repo_dir/.data/pg"
# shellcheck disable=SC2034
pg_base_tmp="/tmp/entitle-pg-$(repo_hash)"

# pid_alive PID — the process exists and is not a zombie (in containers, a
# dead postmaster may linger as a zombie when PID 1 doesn't reap orphans).
pid_alive() {
  local stat
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

# pg_running_pid DATADIR — print the postmaster's PID and succeed when a
# postgres process really runs on DATADIR (guards against a stale
# postmaster.pid whose PID was reused by some other process).
pg_running_pid() {
  local datadir=$1 pid comm cwd
  [[ -r $datadir/postmaster.pid ]] || return 1
  read -r pid 2>/dev/null <"$datadir/postmaster.pid" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  pid_alive "$pid" || return 1
  read -r comm 2>/dev/null <"/proc/$pid/comm" || return 1
  [[ $comm == postgres || $comm == postmaster ]] || return 1
  # A postmaster runs with its data directory as cwd. When we may look (root,
  # or same user), make sure that PID is not some other cluster's postmaster.
  cwd=$(readlink -- "/proc/$pid/cwd" 2>/dev/null) || cwd=
  if [[ -n $cwd && $cwd != "$(cd -- "$datadir" 2>/dev/null && pwd -P)" ]]; then
    return 1
  fi
  printf '%s\n' "$pid"
}

# pg_pid_port DATADIR — the port recorded in postmaster.pid (line 4).
pg_pid_port() {
  local -a lines=()
  mapfile -t -n 4 lines 2>/dev/null <"$1/postmaster.pid" || true
  printf '%s\n' "${lines[3]:-}"
}

# start_bare_healthz — build and start scripts/barehealthz (a plain net/http
# /healthz, the benchmarks' fixed reference) on a free loopback port. Sets
# bare_pid and exports BENCH_BARE_URL; stop it with stop_bare_healthz.
start_bare_healthz() {
  go build -o "$repo_dir/bin/barehealthz" "$repo_dir/scripts/barehealthz"
  local f
  f=$(mktemp -u)
  "$repo_dir/bin/barehealthz" -addr-file "$f" &
  bare_pid=$!
  for _ in $(seq 1 100); do
    [[ -s $f ]] && break
    sleep 0.05
  done
  [[ -s $f ]] || die "the bare /healthz server did not start"
  BENCH_BARE_URL="http://$(cat "$f")/healthz"
  export BENCH_BARE_URL
  rm -f "$f"
}

stop_bare_healthz() {
  if [[ -n ${bare_pid:-} ]]; then
    kill "$bare_pid" 2>/dev/null || true
    wait "$bare_pid" 2>/dev/null || true
    bare_pid=
  fi
}
