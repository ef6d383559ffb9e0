#!/usr/bin/env bash
# Installs the system programs the test suite drives for real, when missing and when we can
# (root with apt-get): redis-server (Redis-store tests start their own servers on spare ports)
# and Debian's chromium (dashboard and report pages are checked in a real headless browser).
# Without root it says what is missing and carries on: the tests that need it fail with a clear
# message rather than skipping silently.
set -u
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-system-deps: installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || echo "ensure-system-deps: apt-get install ${missing[*]} failed" >&2
else
  echo "ensure-system-deps: missing ${missing[*]}; install them (e.g. sudo apt-get install -y ${missing[*]})" >&2
fi
exit 0
