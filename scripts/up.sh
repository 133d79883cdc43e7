#!/usr/bin/env bash
# One command from a fresh clone to a running API on PORT (default 3001): services, database, build, start.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
node dist/cli.js db migrate
exec node dist/main.js
