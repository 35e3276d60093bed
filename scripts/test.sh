#!/usr/bin/env bash
# npm test: type-check, lint and format-check everything, then jest (whose globalSetup starts the local stack
# and builds the project). Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
echo "[sluice] typecheck" >&2
npx tsc -p tsconfig.json --noEmit
echo "[sluice] lint" >&2
npx eslint .
echo "[sluice] format (prettier --check; npm run format fixes it)" >&2
npx prettier --check --log-level warn .
exec npx jest "$@"
