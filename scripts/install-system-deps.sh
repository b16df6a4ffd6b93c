#!/usr/bin/env bash
# Installs the Debian packages nightshift's tests use, and nothing when they are already there.
# CI (.ci/run) calls this on a bare machine; run it yourself once before `npm test` on a new one.
set -euo pipefail

# command → Debian package that provides it
declare -A needs=(
  [setsid]=util-linux     # fixtures start grandchildren in their own session, as Chrome renderers do
  [sqlite3]=sqlite3       # tests and docs inspect the state file with the stock CLI
)

missing=()
for cmd in "${!needs[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needs[$cmd]}")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "system dependencies: all present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
