#!/usr/bin/env bash
# Benchmarks (bench/, not part of `npm test`): makes sure PostgreSQL and Redis run, compiles the API and the
# bench harness together (bench/tsconfig.json -> bench/.tmp/), then runs every phase unattended and writes
# bench/results/<date>.md. Arguments go to the runner, e.g.:
#   npm run bench -- --only http,scrape --rounds 9     # some phases, more rounds
#   npm run bench -- --quick                           # short smoke run (results in bench/.tmp/results-quick.md)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh
[ -d node_modules ] || npm ci --no-audit --no-fund

rm -rf bench/.tmp/src bench/.tmp/bench bench/.tmp/test
# tsc emits even when it reports type errors; errors in bench/ stop the run, errors elsewhere are only shown.
if ! out=$(npx tsc -p bench/tsconfig.json 2>&1); then
  printf '%s\n' "$out" >&2
  if grep -q '^bench/' <<<"$out"; then
    echo "[bench] type errors in bench/ (above)" >&2
    exit 1
  fi
  echo "[bench] warning: type errors outside bench/ (above); running the emitted JavaScript anyway" >&2
fi
# The compiled migrations runner looks for drizzle/ two levels above itself.
ln -sfn ../../drizzle bench/.tmp/drizzle
exec node bench/.tmp/bench/run.js "$@"
