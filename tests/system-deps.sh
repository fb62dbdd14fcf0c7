#!/usr/bin/env bash
# What the tests need from Debian, installed when missing (npm runs this before `npm test`):
# Chromium for the --render and viewer browser tests. Never a browser download.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "tests: Debian's chromium is missing; install it with: sudo apt-get install -y chromium" >&2
    exit 1
  fi
  echo "tests: installing Debian's chromium (apt-get) ..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
