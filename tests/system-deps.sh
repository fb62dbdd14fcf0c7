#!/usr/bin/env bash
# What the tests need from Debian, installed when missing (the first step of `npm test`):
# Chromium for the --render and viewer browser tests (never a browser download), and redis-server
# for the queue tests (tests/helpers/redis.ts starts its own on 127.0.0.1 at a free port).
set -euo pipefail
updated=no
install_missing() {
  local binary=$1 package=$2
  [ -x "$binary" ] && return
  if [ "$(id -u)" != 0 ]; then
    echo "tests: Debian's $package is missing; install it with: sudo apt-get install -y $package" >&2
    exit 1
  fi
  echo "tests: installing Debian's $package (apt-get) ..." >&2
  if [ "$updated" = no ]; then apt-get update -qq; updated=yes; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
}
install_missing /usr/bin/chromium chromium
install_missing /usr/bin/redis-server redis-server
