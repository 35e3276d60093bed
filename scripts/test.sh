#!/usr/bin/env bash
# npm test: type-check and lint everything, then jest (whose globalSetup starts the local stack
# and builds the project). Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
echo "[sluice] typecheck" >&2
npx tsc -p tsconfig.json --noEmit
echo "[sluice] lint" >&2
npx eslint .
exec npx jest "$@"
