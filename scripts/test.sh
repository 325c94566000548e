#!/usr/bin/env bash
# The test command (`npm test`): sets up everything, then typecheck, lint and every test.
# Extra arguments go to vitest, e.g. `npm test -- --project unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

bash scripts/setup.sh

# The compose file is checked without an engine; Debian's docker-compose validates it.
if ! command -v docker-compose >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "==> installing docker-compose (Debian) to validate docker-compose.yml"
  (apt-get install -y -qq docker-compose >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null)) || echo "could not install docker-compose"
fi

# The dashboard's browser test drives Debian's Chromium (playwright-core cannot download its own here).
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "==> installing chromium (Debian) for the dashboard's browser test"
  (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)) || echo "could not install chromium"
fi

echo "==> typecheck"
npx tsc --noEmit -p .
echo "==> lint"
npx eslint .
echo "==> ML worker tests (pytest)"
"$(npx etl churn setup --print-python)" -m pytest -q -p no:cacheprovider ml/tests
echo "==> tests"
npx vitest run "$@"
echo "==> all done in $(( $(date +%s) - start ))s (services are still running: npx etl services down)"
