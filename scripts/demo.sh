#!/usr/bin/env bash
# npm run demo [-- YYYY-MM-DD]: installs what is needed, starts the local stack, runs the demo
# pipeline for one date (default: yesterday) through a real worker on a real Temporal server, then
# backfills the 7 days before it with a live progress bar, and leaves the stack up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# On the Node the image ships (Node 24 LTS), as npm test runs: scripts/ensure-node.sh installs it from
# the npm registry when the machine's node is older than the README's Node 22+ (on Node 20 the AWS SDK
# warns at every command). Everything below, npm included, runs on it.
NODE_BIN_DIR="$(bash scripts/ensure-node.sh)"
export PATH="$NODE_BIN_DIR:$PATH"
echo "[sluice] node $(node --version) ($NODE_BIN_DIR)" >&2

bash scripts/ensure-deps.sh
npm run --silent build >/dev/null
bash infra/local/stack.sh up
# shellcheck source=../infra/local/env.sh
source infra/local/env.sh
export SLUICE_UI_URL="${SLUICE_UI_URL:-http://localhost:8233}"

node node_modules/tsx/dist/cli.mjs infra/local/demo-fixtures.ts

DS="${1:-$(date -u -d yesterday +%F)}"
mkdir -p .sluice/logs
node bin/sluice.js worker >.sluice/logs/demo-worker.log 2>&1 &
WORKER=$!
stop_worker() { kill -TERM "$WORKER" 2>/dev/null && wait "$WORKER" 2>/dev/null || true; }
trap stop_worker EXIT

FROM="$(date -u -d "$DS - 7 days" +%F)"
TO="$(date -u -d "$DS - 1 day" +%F)"

echo
echo "1. One run of the demo pipeline (examples/demo/pipeline.yaml) for $DS:"
rc=0
node bin/sluice.js run --pipeline examples/demo/pipeline.local.yaml --date "$DS" --wait || rc=$?

echo
echo "2. A 7-day backfill of the same pipeline, $FROM → $TO, four dates at a time:"
node bin/sluice.js backfill --pipeline examples/demo/pipeline.local.yaml --from "$FROM" --to "$TO" --concurrency 4 --only all --wait || rc=$?

cat <<MSG

The local stack is still running, for you to look around:
  Temporal Web UI   http://localhost:8233   (every run, its stages and their AWS job ids)
  Find runs:        SluicePipeline = "sales-daily" AND SluiceDate >= "${FROM}T00:00:00Z"
  From the CLI:     npx sluice runs --pipeline sales-daily --from $FROM
  Worker log        .sluice/logs/demo-worker.log
Run it again for another date:   npm run demo -- 2024-02-29
Stop the stack:                  npm run stack:down
MSG
exit "$rc"
