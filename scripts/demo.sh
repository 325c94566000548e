#!/usr/bin/env bash
# The main job (`npm run demo`): sets everything up, then runs the demo pipeline on simulated shop data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx etl demo "$@"
