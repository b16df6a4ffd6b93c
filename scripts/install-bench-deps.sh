#!/usr/bin/env bash
# Installs what nightshift's benchmarks (bench/) use, and nothing that is already there:
#   - PM2 5 (npm), for bench/crash-loop-vs-pm2.mjs, into its own prefix outside the project
#     (${PM2_PREFIX:-/tmp/nightshift-bench-pm2}; it is not a dependency of nightshift);
#   - pg-boss and graphile-worker (npm), for bench/pg-claims/claim-throughput.mjs, into bench/pg-claims/node_modules
#     from bench/pg-claims/package.json (dependencies of that benchmark only, not of nightshift);
#   - Debian packages (wrk; postgresql's server binaries for bench/pg-claims), which need root.
# The tests do not need them (see scripts/install-system-deps.sh for those); run this once before `npm run bench`.
set -euo pipefail

# PM2 for the side-by-side crash-loop benchmark; the benchmark finds it by the same PM2_PREFIX.
PM2_PREFIX="${PM2_PREFIX:-/tmp/nightshift-bench-pm2}"
if [ -x "$PM2_PREFIX/node_modules/.bin/pm2" ]; then
  echo "pm2: present in $PM2_PREFIX"
else
  echo "installing pm2@5 into $PM2_PREFIX"
  mkdir -p "$PM2_PREFIX"
  npm install --prefix "$PM2_PREFIX" --no-audit --no-fund pm2@5
fi

# pg-boss and graphile-worker for the side-by-side PostgreSQL claim benchmark, beside it (bench/pg-claims/node_modules,
# ignored by git): the versions pinned in bench/pg-claims/package.json are the newest that run on Node 20.
PG_CLAIMS_DIR="$(cd "$(dirname "$0")/.." && pwd)/bench/pg-claims"
if [ -f "$PG_CLAIMS_DIR/node_modules/pg-boss/package.json" ] && [ -f "$PG_CLAIMS_DIR/node_modules/graphile-worker/package.json" ]; then
  echo "pg-boss, graphile-worker: present in $PG_CLAIMS_DIR/node_modules"
else
  echo "installing pg-boss and graphile-worker into $PG_CLAIMS_DIR/node_modules"
  npm install --prefix "$PG_CLAIMS_DIR" --no-audit --no-fund --no-package-lock
fi

# command → Debian package that provides it
declare -A needs=(
  [wrk]=wrk   # bench/ping-throughput.mjs loads the ping endpoint and the reference with `wrk --latency`
)

missing=()
for cmd in "${!needs[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needs[$cmd]}")
done
# bench/pg-claims starts a throwaway cluster with initdb/pg_ctl from /usr/lib/postgresql/*/bin (not on PATH), unless
# NIGHTSHIFT_BENCH_DATABASE_URL names a server to use.
if [ -z "${NIGHTSHIFT_BENCH_DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "benchmark dependencies: all present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
