#!/usr/bin/env bash
# Usage: scripts/ensure-chromium.sh
#
# Prints the path of a Chromium/Chrome binary on stdout (one line): the first
# of chromium, chromium-browser, google-chrome, google-chrome-stable found in
# PATH, or /usr/bin/chromium. When there is none, installs Debian's chromium
# package (plus fonts-liberation, so pages render with real fonts) with
# apt-get, through sudo when not root, and prints /usr/bin/chromium. Exits
# non-zero with a message on stderr when it cannot.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR

# shellcheck source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"

find_chromium() {
  local name path
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if path=$(command -v "$name" 2>/dev/null) && [[ -x $path ]]; then
      printf '%s\n' "$path"
      return 0
    fi
  done
  if [[ -x /usr/bin/chromium ]]; then
    printf '%s\n' /usr/bin/chromium
    return 0
  fi
  return 1
}

if find_chromium; then
  exit 0
fi

log "no Chromium found; installing Debian's chromium package"
apt_install chromium fonts-liberation
[[ -x /usr/bin/chromium ]] ||
  die "the chromium package was installed but /usr/bin/chromium is missing"
printf '%s\n' /usr/bin/chromium
