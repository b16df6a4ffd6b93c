#!/usr/bin/env bash
# Installs the Debian packages nightshift's tests use, and nothing when they are already there.
# CI (.ci/run) calls this on a bare machine; run it yourself once before `npm test` on a new one.
set -euo pipefail

# command → Debian package that provides it
declare -A needs=(
  [setsid]=util-linux     # fixtures start grandchildren in their own session, as Chrome renderers do
  [sqlite3]=sqlite3       # tests and docs inspect the state file with the stock CLI
  [promtool]=prometheus   # test/http/metrics.test.ts lints /metrics output with `promtool check metrics`
  [logrotate]=logrotate   # test/install: `logrotate -d` on the file `nightshift install logrotate` writes
  [systemd-analyze]=systemd   # test/install: `systemd-analyze verify` on the unit `nightshift install systemd` writes
  [chromium]=chromium     # test/dashboard: playwright-core drives Debian's browser (never a downloaded one)
)

missing=()
for cmd in "${!needs[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needs[$cmd]}")
done

# The PostgreSQL server binaries (initdb, pg_ctl) live under /usr/lib/postgresql/N/bin, not on PATH: the store tests
# start a throwaway cluster with them when NIGHTSHIFT_TEST_DATABASE_URL is not given.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then missing+=(postgresql); fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "system dependencies: all present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
# Debian's prometheus package (our promtool) would also start a Prometheus server on :9090. Tests need only the
# binary, so while installing, policy-rc.d tells maintainer scripts not to start services (unless one is in place).
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1
fi
trap 'if [ -n "$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
