#!/usr/bin/env bash
# Usage: scripts/ensure-node.sh
#
# Makes sure Node.js (node) and npm exist, installing Debian's nodejs and npm
# packages when they don't (through sudo when not root). Prints nothing when
# they are already there; install progress and errors go to stderr.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR

# shellcheck source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"

pkgs=()
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
# Some node builds (e.g. NodeSource's nodejs package) bundle npm and conflict
# with Debian's npm package: only ask for npm when it is really missing.
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
if ((${#pkgs[@]} == 0)); then
  exit 0
fi

log "not found: ${pkgs[*]}; installing Debian's ${pkgs[*]} package(s)"
apt_install "${pkgs[@]}"
command -v npm >/dev/null 2>&1 ||
  die "npm is still not in PATH after installing Debian's npm package"
command -v node >/dev/null 2>&1 ||
  die "node is still not in PATH after installing Debian's nodejs package"
