#!/usr/bin/env bash
# The whole test suite: makes sure PostgreSQL, Redis and Prometheus's tools are there, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh --with-prometheus
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
npx vitest run "$@"
