#!/usr/bin/env bash
# Installs the system programs the test suite drives for real, when missing and when we can
# (root with apt-get): redis-server (Redis-store tests start their own servers on spare ports)
# Debian's chromium (dashboard and report pages are checked in a real headless browser),
# prometheus (the Prometheus end-to-end test runs its own server on a spare port), and util-linux's
# `script` (package bsdutils: the CLI's terminal output is checked on a real pseudo-terminal).
# Without root it says what is missing and carries on: the tests that need it fail with a clear
# message rather than skipping silently.
set -u
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools) # redis-cli: the Redis Cluster tests create their cluster with it
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  # Said aloud: `npm test` installs system packages when run as root.
  echo "ensure-system-deps: installing ${missing[*]} with apt-get (needed by the tests; see README)"
  export DEBIAN_FRONTEND=noninteractive
  # Packages' services (prometheus on :9090, redis on :6379) must not start: tests run their own.
  # policy-rc.d exiting 101 tells invoke-rc.d "not allowed"; a temporary one unless one exists.
  policy=/usr/sbin/policy-rc.d temp_policy=
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && temp_policy=1; fi
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || echo "ensure-system-deps: apt-get install ${missing[*]} failed" >&2
  [ -n "$temp_policy" ] && rm -f "$policy"
else
  echo "ensure-system-deps: missing ${missing[*]}; install them (e.g. sudo apt-get install -y ${missing[*]})" >&2
fi
exit 0
